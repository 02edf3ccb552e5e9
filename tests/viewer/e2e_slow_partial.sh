#!/usr/bin/env bash
# tests/viewer/e2e_slow_partial.sh — a slow-vs-fast diff whose span source
# lacks some of the profile's spans of the operation says so in the
# viewer's title, in the very words the command line prints
# (ig_span_split_partial: "(PARTIAL: N of the profile's M spans of 'NAME'
# are not in SRC: left out, their samples on neither side)"), on both
# roads to that diff: `ignis view PROFILE --slow-vs-fast NAME --spans SRC`
# and F on the operation in the trace views of `ignis view SRC --profile
# PROFILE`.  The title used to read as if the source's spans were the
# whole operation ("1 of 19 spans"; the profile has 20).  With every span
# in the source, no PARTIAL.  tests/cli/mkspanprof.c writes the profile
# and the spans: 20 spans of "GET /orders" (2 slow, 110 ms; 18 at 25 ms);
# one.jsonl lacks one slow span (i = 1), so the p90 split still has a
# slow side: 1 of 19 spans above 25 ms.  Driven in tmux; every check
# polls the pane (bounded).
. "$(dirname "$0")/lib.sh"
MK=$B/tests/cli/mkspanprof
[ -x "$MK" ] || { echo "no $MK (make builds it)"; exit 1; }
"$MK" "$tmp" || { echo "mkspanprof failed"; exit 1; }
P=$tmp/spans.pb.gz
one=$tmp/one.jsonl
grep -v -E '"traceId":"0000000000000000000000000000a001","spanId":"00000000000010' "$tmp/spans.jsonl" >"$one"
check "one.jsonl holds 19 spans of GET /orders" test "$(grep -c 'GET /orders' "$one")" -eq 19
db=$tmp/one.db
"$IGNIS" collect --import "$one" --db "$db" -q || { echo "cannot import the spans"; exit 1; }

# What the command line prints after "1 of 19 spans", for SRC.
cli_partial() {
  "$IGNIS" report "$P" --slow-vs-fast "GET /orders" --spans "$1" 2>&1 >/dev/null |
    sed -n "s/.*1 of 19 spans \(([^)]*)\) above 25ms.*/\1/p"
}
from_file=$(cli_partial "$one")
from_store=$(cli_partial "$db")
check "the command line says PARTIAL for one.jsonl: [$from_file]" \
  test "$from_file" = "(PARTIAL: 1 of the profile's 20 spans of 'GET /orders' are not in $one: left out, their samples on neither side)"
check "the command line says PARTIAL for the store: [$from_store]" \
  test "$from_store" = "(PARTIAL: 1 of the profile's 20 spans of 'GET /orders' are not in $db: left out, their samples on neither side)"

# ---- ignis view PROFILE --slow-vs-fast NAME --spans SRC --------------------------------------
# (stderr, the command line's summary, goes to a file: only the screen counts)
start cmd 400 30 "$P" --slow-vs-fast "\"GET /orders\"" --spans "$one" "2>$tmp/cmd.err"
expect_row cmd 1 " ignis diff $P $from_file | wall | total 105ms"
keys cmd q; expect cmd "exited rc=0"

# ---- F on the operation in the trace views ---------------------------------------------------
start ops 400 30 "$db" --profile "$P"
expect ops " trace 1 of "
keys ops p; expect ops "3 operations"
keys ops Down; expect ops " operation 2 of 3 |"
keys ops F
expect_row ops 1 " ignis diff slow vs fast 'GET /orders': 1 of 19 spans $from_store above 25ms | wall"
expect ops "slow spans (p50 110ms) against the others (p50 25ms), normalized"
keys ops q; expect ops " operation 2 of 3 |"
keys ops q; keys ops q; expect ops "exited rc=0"

# ---- every span in the source: no PARTIAL ----------------------------------------------------
start all 400 30 "$P" --slow-vs-fast "\"GET /orders\"" --spans "$tmp/spans.jsonl" "2>$tmp/all.err"
expect_row all 1 " ignis diff $P | wall | total 210ms"
absent all "PARTIAL"
keys all q; expect all "exited rc=0"

finish
