#!/usr/bin/env bash
# tests/viewer/e2e_traces.sh — drives the real `ignis view traces.db` in tmux.
#
# The store holds the known traces of tests/viewer/trace_fixture.h, written
# by tests/viewer/trace_store through the store's write API.  Every check
# sends keys with `tmux send-keys` and polls `capture-pane` (bounded, 10 s)
# until the expected text is on the screen; nothing waits for a fixed time.
# Covers list -> waterfall -> details -> back, sorting (keys and a click on
# a column title), filters, operations -> histogram -> bucket -> traces, a
# link to another trace, help, search, the live refresh while a writer
# adds spans, --collect, OTLP-JSON files, and bad input.
. "$(dirname "$0")/lib.sh"
STORE_TOOL=$B/tests/viewer/trace_store
[ -x "$STORE_TOOL" ] || { echo "no $STORE_TOOL (make builds it)"; exit 1; }
db=$tmp/traces.db
"$STORE_TOOL" "$db" || { echo "cannot write $db"; exit 1; }

VIEW_ENV="$VIEW_ENV TZ=UTC"

# ---- list -> waterfall -> details -> back; sorting; filters --------------------
start tr 120 40 "$db"
expect tr "ignis view $db | 26 traces, 56 spans | live"
expect_row tr 3 "(root missing) late child"
expect tr " trace 1 of 26 | by start, newest first"
keys tr 2; expect tr "by duration, largest first"
expect_row tr 3 "200ms      2      2 payments         POST /pay"
keys tr Enter; expect tr "| trace 00000000000000000000000000000005 | 200ms, 2 spans, 2 errors"
expect tr "payments POST /pay"
expect tr " POST /pay (payments) | 200ms at +0 | ERROR: card declined | critical path"
keys tr Down; expect tr " charge card (payments) | 180ms at +10ms | ERROR"
keys tr Enter; expect tr "Span charge card"
expect tr "status        ERROR"
expect tr "Resource (payments)"
keys tr Escape; expect tr " charge card (payments) | 180ms"
keys tr Escape; expect tr "by duration, largest first"
keys tr O; expect tr "by duration, smallest first"
expect_row tr 3 "1ms      2      0 frontend         GET /item"
keys tr e; expect tr "| errors only"
expect tr " trace 1 of 2 |"
keys tr c; expect tr " trace 1 of 26 |"
keys tr f; expect tr "span name (regex, empty clears):"
type_text tr '^SELECT'; keys tr Enter
expect tr "| name~^SELECT"
expect tr " trace 1 of 21 |"
keys tr a; type_text tr 'http.response.status_code=500'; keys tr Enter
expect tr " trace 0 of 0 |"
expect tr "no trace matches the filters (c clears them)"
keys tr c; expect tr " trace 1 of 26 |"
keys tr d; type_text tr '>=100ms'; keys tr Enter
expect tr " trace 1 of 2 |"
keys tr c; expect tr " trace 1 of 26 |"
# the service picker
keys tr s; expect tr "Show the traces of which service?"
keys tr Down Down Down Down; keys tr Enter
expect tr "| service=payments"
expect tr " trace 1 of 1 |"
keys tr c; expect tr " trace 1 of 26 |"

# a click on the "spans" title sorts by span count (SGR mouse reports)
press() { printf '\e[<0;%d;%dM\e[<0;%d;%dm' "$1" "$2" "$1" "$2"; }
col=$(screen tr | sed -n 2p | awk '{ print index($0, "spans") }')
keys tr -l "$(press $((col + 1)) 2)"
expect tr "by span count, largest first"
expect_row tr 3 "100ms      5      1 frontend         GET /checkout"

# search, the waterfall of trace 1, marks, fold, zoom
keys tr /; type_text tr 'checkout'; keys tr Enter
expect tr "/checkout (n/N: next/previous match)"
keys tr Enter; expect tr "| trace 00000000000000000000000000000001 | 100ms, 5 spans, 1 error"
expect tr "-   frontend GET /checkout"
expect tr "     !  db SELECT orders"
keys tr Down; expect tr " POST /charge (backend) | 50ms at +10ms"
keys tr Space; expect tr "  +   backend POST /charge"
expect tr "| 2 children folded"
keys tr Space; expect tr "     !  db SELECT orders"
keys tr z; expect tr "zoom 1: 50ms"
keys tr 0; expect tr " POST /charge (backend) | 50ms at +10ms | critical path"
keys tr '?'; expect tr "ignis view: trace keys"
keys tr x; expect tr "-   frontend GET /checkout"
keys tr '?'; expect tr "ignis view: trace keys"
keys tr q; expect_not tr "ignis view: trace keys" # q closes the help, not the viewer
expect tr "-   frontend GET /checkout"
keys tr Escape; expect tr "by span count, largest first"

# ---- operations -> histogram -> bucket -> traces ---------------------------------
keys tr p; expect tr "| 18 operations, 56 spans"
expect tr "frontend      GET /item                  20       0     10ms     18ms     20ms"
keys tr /; type_text tr 'GET /item'; keys tr Enter
expect tr " operation 13 of 18 | by service"
keys tr Enter; expect tr "latency of frontend GET /item: 20 spans from 1ms to 20ms, 0 errors"
# (no End key: tmux sends it as the screen terminal does, which xterm's terminfo lacks)
for i in $(seq 60); do keys tr l; done
expect tr "< duration <= 20ms: 2 spans (10.0%) | Enter: their traces"
keys tr Enter; expect tr "2 traces with frontend GET /item"
expect tr " trace 1 of 2 | by duration, largest first"
expect_row tr 3 "20ms      2      0 frontend         GET /item"
keys tr Escape; expect tr "latency of frontend GET /item"
keys tr t; expect tr "| 26 traces, 56 spans"

# ---- a link to another trace ------------------------------------------------------
keys tr /; type_text tr '^consume$'; keys tr Enter
keys tr Enter; expect tr "| trace 00000000000000000000000000000004 |"
keys tr Enter; expect tr "Links (1)"
expect tr "-> trace 00000000000000000000000000000001 span 0000000000000012  (Enter opens it)"
keys tr /; type_text tr '^  -> trace'; keys tr Enter
keys tr Enter; expect tr "| trace 00000000000000000000000000000001 |"
expect tr " POST /charge (backend) | 50ms at +10ms"
keys tr t; expect tr "| 26 traces, 56 spans"

# ---- live: a writer adds a span to trace 1 ------------------------------------------
check "add a span" "$STORE_TOOL" "$db" --add-span
expect tr "| 26 traces, 57 spans | live"
keys tr q; expect tr "exited rc=0"

# ---- --collect opens the default store (IGNIS_TRACE_DB) ----------------------------
T new-session -d -s co -x 100 -y 30 \
  "env IGNIS_TRACE_DB=$db LANG=C.UTF-8 TZ=UTC TERM=xterm-256color $IGNIS view --collect; echo exited rc=\$?; read x"
expect co "ignis view $db | 26 traces, 57 spans | live"
keys co q; expect co "exited rc=0"
out=$(IGNIS_TRACE_DB=$tmp/none.db "$IGNIS" view --collect 2>&1 >/dev/null); rc=$?
check "--collect without a store: rc=$rc [$out]" \
  test $rc -eq 1 -a "$out" = "ignis view: $tmp/none.db: no trace store yet (start \`ignis collect\`, which creates it)"

# ---- OTLP-JSON lines ----------------------------------------------------------------
cat > $tmp/spans.jsonl <<'EOF'
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"jsonsvc"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"from a file","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000"}]}]}]}
EOF
start js 100 30 $tmp/spans.jsonl
expect js "| 1 trace, 1 span"
expect js "250ms      1      0 jsonsvc          from a file"
keys js q; expect js "exited rc=0"
# A line that is not a request is named on stderr and skipped; the rest opens.
{ echo 'not json'; cat $tmp/spans.jsonl; } > $tmp/mixed.jsonl
start jm 100 30 $tmp/mixed.jsonl
expect jm "| 1 trace, 1 span"
keys jm q; expect jm "exited rc=0"
"$IGNIS" view $tmp/mixed.jsonl 2>$tmp/err </dev/null >/dev/null
check "jsonl bad line named: [$(head -1 $tmp/err)]" grep -q "mixed.jsonl:1:" $tmp/err

# ---- bad input ------------------------------------------------------------------------
one_line_error() { # FILE TEXT: exit 1, nothing on stdout, one line naming the file
  local out rc
  out=$("$IGNIS" view "$1" 2>$tmp/err </dev/null); rc=$?
  if [ $rc -eq 1 ] && [ -z "$out" ] && [ "$(wc -l < $tmp/err)" -eq 1 ] && grep -qF -- "$2" $tmp/err; then
    pass=$((pass + 1))
  else
    echo "FAIL: $1: rc=$rc out=[$out] err=[$(cat $tmp/err)]"; fails=$((fails + 1))
  fi
}
if command -v sqlite3 >/dev/null; then
  sqlite3 $tmp/other.db 'CREATE TABLE t (a); INSERT INTO t VALUES (1);'
  cp $tmp/other.db $tmp/other.copy
  one_line_error $tmp/other.db "$tmp/other.db: not an ignis trace store"
  check "another application's database is left untouched" cmp -s $tmp/other.db $tmp/other.copy
fi
{ printf 'SQLite format 3\0'; head -c 8000 /dev/urandom; } > $tmp/corrupt.db
one_line_error $tmp/corrupt.db "$tmp/corrupt.db: "
: > $tmp/empty.db
one_line_error $tmp/empty.db "$tmp/empty.db: an empty database, not a trace store (yet)"
out=$("$IGNIS" view --focus x "$db" 2>&1); rc=$?
check "profile options with a store: rc=$rc [$out]" test $rc -eq 2
# the profile views are still there: a folded file is not taken for traces
printf 'main;a 1\n' > $tmp/p.folded
start pf 80 24 $tmp/p.folded
expect pf "ignis view $tmp/p.folded | samples | total 1"
keys pf q; expect pf "exited rc=0"

finish
