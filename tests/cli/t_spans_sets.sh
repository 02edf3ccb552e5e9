#!/usr/bin/env bash
# tests/cli/t_spans_sets.sh — which spans an operation is made of, given
# --spans SRC (tests/cli/mkspanprof.c's profile and spans, every number
# known):
#   - --span-name NAME --spans SRC keeps the operation's spans with their
#     children, as --span ID --spans SRC keeps one span with its children;
#   - --slow-vs-fast NAME --spans SRC whose SRC lacks some of the profile's
#     spans of NAME says how many are left out, in its summary and in the
#     base's name, and never reads as the whole operation (it used to show
#     "2 of 10 spans" as if the operation had 10);
#   - spans of NAME nested in another span of NAME are part of the outer
#     one: each sample is on one side only (the inner spans' samples were
#     on both: the fast side took the inner spans, the slow side the outer
#     ones with all their descendants).
. "$(dirname "$0")/lib.sh"
MK=${IGNIS_BUILD:-build}/tests/cli/mkspanprof
[ -x "$MK" ] || { echo "$MK not built"; exit 1; }
"$MK" "$T" || fail "mkspanprof"
P=$T/spans.pb.gz
# profile: GET /orders i = 0..19 (slow i = 0, 1: lock_wait 80 + compute 20 ms;
# fast: compute 20 ms), each with a db.query child (db_query 5 ms); 715 ms in all

# ---- --span-name with its children ----------------------------------------------------
run name report "$P" --span-name "GET /orders" --spans "$T/spans.jsonl"
[ "$RC" -eq 0 ] || fail "--span-name --spans: exit $RC: $(cat "$T/name.err")"
has name "Kept by filters: 660ms, 92.31% of 715ms total"
has name "100ms 13.99% 92.31% 100ms 13.99% db_query"
# without span times, only the spans' own samples (children unknown)
run own report "$P" --span-name "GET /orders"
has own "Kept by filters: 560ms, 78.32% of 715ms total"
grep -q db_query "$T/own.out" && fail "--span-name without --spans kept the children's samples"
# the same selection in convert
run conv convert "$P" --span-name "GET /orders" --spans "$T/spans.jsonl" -o "$T/name.folded"
[ "$RC" -eq 0 ] || fail "convert --span-name --spans: exit $RC: $(cat "$T/conv.err")"
grep -q "^main;handle;db_query 100000000$" "$T/name.folded" || fail "convert --span-name --spans: $(cat "$T/name.folded")"

# ---- --slow-vs-fast with a span source that lacks some spans ---------------------------
# half.jsonl: the GET /orders spans i = 10..19 removed (their db.query kept)
grep -v -E '"traceId":"0000000000000000000000000000a0(0[a-f]|1[0-3])","spanId":"00000000000010' \
  "$T/spans.jsonl" >"$T/half.jsonl"
[ "$(grep -c 'GET /orders' "$T/half.jsonl")" -eq 10 ] || fail "half.jsonl: $(grep -c 'GET /orders' "$T/half.jsonl") orders"
run half report "$P" --slow-vs-fast "GET /orders" --spans "$T/half.jsonl" --threshold 50ms
[ "$RC" -eq 0 ] || fail "--slow-vs-fast --spans half: exit $RC: $(cat "$T/half.err")"
grep -q "2 of 10 spans (PARTIAL: 10 of the profile's 20 spans of 'GET /orders' are not in $T/half.jsonl: left out, their samples on neither side) at least 50ms" \
  "$T/half.err" || fail "--slow-vs-fast with missing spans: $(cat "$T/half.err")"
has half "Base: spans of 'GET /orders' up to 50ms (the fast ones; PARTIAL: some spans of the profile are not in --spans)"
# slow: 2 spans (210 ms with their children); fast: the 8 of half.jsonl (200 ms)
has half "Total: 210ms, base 210ms, change 0 (base of 200ms scaled by 1.05: --normalize)"
# the whole source says nothing of the kind
run whole report "$P" --slow-vs-fast "GET /orders" --spans "$T/spans.jsonl" --threshold 50ms
grep -q PARTIAL "$T/whole.err" "$T/whole.out" && fail "--slow-vs-fast with every span: $(cat "$T/whole.err")"
# an error names the spans left out too
run e report "$P" --slow-vs-fast "GET /orders" --spans "$T/half.jsonl"
one_line_error e 1 "all 10 spans named 'GET /orders' of the span source (10 more of the profile are not there) are fast"
# none of them there
grep -v '"name":"GET /orders"' "$T/spans.jsonl" >"$T/none.jsonl"
run e report "$P" --slow-vs-fast "GET /orders" --spans "$T/none.jsonl"
one_line_error e 1 "no span named 'GET /orders' in the span source (the profile's 20 spans of that name are not there)"

# ---- nested spans of the same name -----------------------------------------------------
# same.jsonl: every db.query renamed GET /orders, so each GET /orders span
# has a 5 ms GET /orders child; the operation's instances are the 20 outer
# spans, and the diff is the one of spans.jsonl: slow 210 ms (lock_wait
# 160, compute 40, db_query 10), fast 450 ms (compute 360, db_query 90)
sed 's/"name":"db.query"/"name":"GET \/orders"/' "$T/spans.jsonl" >"$T/same.jsonl"
run same report "$P" --slow-vs-fast "GET /orders" --spans "$T/same.jsonl"
[ "$RC" -eq 0 ] || fail "--slow-vs-fast nested: exit $RC: $(cat "$T/same.err")"
grep -q "2 of 20 spans above 25ms (their p90; durations from the spans): slow p50 110ms, others p50 25ms" \
  "$T/same.err" || fail "--slow-vs-fast nested summary: $(cat "$T/same.err")"
grep -q "20 spans of that name inside another one are counted as part of it: a sample goes with the outermost" \
  "$T/same.err" || fail "--slow-vs-fast nested: the nested spans are not counted: $(cat "$T/same.err")"
has same "Total: 210ms, base 210ms, change 0 (base of 450ms scaled by 0.4667: --normalize)"
has same "10ms 4.76% -32ms 10ms 4.76% -32ms db_query"
# --threshold below the inner spans' 5 ms would make every outer span slow:
# nothing to compare, said so (the inner spans are not instances of their own)
run e report "$P" --slow-vs-fast "GET /orders" --spans "$T/same.jsonl" --threshold 20ms
one_line_error e 1 "all 20 spans named 'GET /orders' are slow at that --threshold"
finish
