#!/usr/bin/env bash
# tests/cli/t_spans.sh — span-linked profiles: the samples of one span
# (--span, with its children given --spans), one trace (--trace), one
# operation (--span-name), and --slow-vs-fast NAME, the diff of an
# operation's slow spans (above its p90, or --threshold) against the
# others, with durations estimated from the profile or read from a spans
# file.  tests/cli/mkspanprof.c writes the profile and spans; every number
# below follows from its comment.  Bad input: ids that are not ids, names
# no sample carries, a profile without span labels, options that do not
# go together, a missing spans file.
. "$(dirname "$0")/lib.sh"
MK=${IGNIS_BUILD:-build}/tests/cli/mkspanprof
[ -x "$MK" ] || { echo "$MK not built"; exit 1; }
"$MK" "$T" || fail "mkspanprof"
P=$T/spans.pb.gz

# ---- one operation, one span, one trace ---------------------------------------------
run health report "$P" --span-name "GET /health"
[ "$RC" -eq 0 ] || fail "--span-name: exit $RC: $(cat "$T/health.err")"
has health "span_name=GET /health"
has health "Kept by filters: 5ms, 0.70% of 715ms total"
has health "5ms 0.70% 0.70% 5ms 0.70% health_check"
grep -q "compute\|idle" "$T/health.out" && fail "--span-name kept other spans' samples"

run span report "$P" --span 0000000000001000
has span "80ms 11.19% 11.19% 80ms 11.19% lock_wait"
has span "0 0.00% 13.99% 100ms 13.99% handle"
grep -q db_query "$T/span.out" && fail "--span without --spans: the child span's samples are not known as its own"
# uppercase ids are the same span
run upper report "$P" --span 000000000000100A
has upper "20ms 2.80% 2.80% 20ms 2.80% compute"

run child report "$P" --span 0000000000001000 --spans "$T/spans.jsonl"
[ "$RC" -eq 0 ] || fail "--spans: exit $RC: $(cat "$T/child.err")"
has child "5ms 0.70% 14.69% 5ms 0.70% db_query"
has child "0 0.00% 14.69% 105ms 14.69% handle"

run trace report "$P" --trace 0000000000000000000000000000a005
has trace "20ms 2.80% 2.80% 20ms 2.80% compute"
has trace "5ms 0.70% 3.50% 5ms 0.70% db_query"

# convert keeps the span's samples only
run conv convert "$P" --span-name "GET /health" -o "$T/health.folded"
[ "$RC" -eq 0 ] || fail "convert --span-name: exit $RC: $(cat "$T/conv.err")"
[ "$(cat "$T/health.folded")" = "main;health_check 5000000" ] || fail "convert: $(cat "$T/health.folded")"

# ---- slow vs fast ---------------------------------------------------------------------
# estimated: slow spans 100 ms (2), fast 20 ms (18): slow = 160 lock_wait + 40
# compute; fast 360 compute scaled to 200
run svf report "$P" --slow-vs-fast "GET /orders"
[ "$RC" -eq 0 ] || fail "--slow-vs-fast: exit $RC: $(cat "$T/svf.err")"
grep -q "2 of 20 spans above 20ms (their p90; durations estimated from the profile): slow p50 100ms, others p50 20ms" \
  "$T/svf.err" || fail "--slow-vs-fast summary: $(cat "$T/svf.err")"
has svf "Total: 200ms, base 200ms, change 0 (base of 360ms scaled by 0.5556: --normalize)"
[ "$(awk 'NF == 7 && $1 ~ /^[0-9]/ {print $NF}' "$T/svf.out" | head -2 | tr '\n' ' ')" = "lock_wait compute " ] ||
  fail "--slow-vs-fast: lock_wait is not the first change: $(cat "$T/svf.out")"
has svf "160ms 80.00% +160ms 160ms 80.00% +160ms lock_wait"
has svf "40ms 20.00% -160ms 40ms 20.00% -160ms compute"

# from the spans file: slow 110 ms, fast 25 ms; children's samples included
run svfs report "$P" --slow-vs-fast "GET /orders" --spans "$T/spans.jsonl"
grep -q "2 of 20 spans above 25ms (their p90; durations from the spans): slow p50 110ms, others p50 25ms" \
  "$T/svfs.err" || fail "--slow-vs-fast --spans summary: $(cat "$T/svfs.err")"
has svfs "Total: 210ms, base 210ms, change 0 (base of 450ms scaled by 0.4667: --normalize)"
has svfs "10ms 4.76% -32ms 10ms 4.76% -32ms db_query"

run thr report "$P" --slow-vs-fast "GET /orders" --threshold 50ms
grep -q "2 of 20 spans at least 50ms (--threshold" "$T/thr.err" || fail "--threshold: $(cat "$T/thr.err")"

run svg flame "$P" --slow-vs-fast "GET /orders" -o "$T/svf.svg"
[ "$RC" -eq 0 ] || fail "flame --slow-vs-fast: exit $RC: $(cat "$T/svg.err")"
grep -q "lock_wait" "$T/svf.svg" || fail "the diff flame graph lacks lock_wait"

# the viewer selects the same samples (its bench mode counts the tree's nodes)
IGNIS_VIEW_BENCH=1 "$IGNIS" view "$P" --span-name "GET /health" >"$T/vh.out" 2>"$T/vh.err" </dev/null
grep -q "tree_nodes=3 " "$T/vh.out" || fail "view --span-name: $(cat "$T/vh.out" "$T/vh.err")"
IGNIS_VIEW_BENCH=1 "$IGNIS" view "$P" --slow-vs-fast "GET /orders" >"$T/vs.out" 2>"$T/vs.err" </dev/null
grep -q "tree_nodes=5 " "$T/vs.out" || fail "view --slow-vs-fast: $(cat "$T/vs.out" "$T/vs.err")"
grep -q "2 of 20 spans above 20ms" "$T/vs.err" || fail "view --slow-vs-fast summary: $(cat "$T/vs.err")"
run e view "$P" --span-name nosuch; one_line_error e 1 "ignis view: --span-name: no sample was taken"

# ---- bad input ------------------------------------------------------------------------
run e report "$P" --span xyz;            one_line_error e 2 "--span: 'xyz' is not a span id"
run e report "$P" --trace 00;            one_line_error e 2 "--trace: '00' is not a trace id"
run e report "$P" --span 0000000000000000; one_line_error e 2 "not all zero"
run e report "$P" --span 0000000000009999; one_line_error e 1 "--span: no sample was taken in that span"
run e report "$P" --span-name nosuch;    one_line_error e 1 "--span-name: no sample was taken in spans of that name"
run e report "$P" --slow-vs-fast nosuch; one_line_error e 1 "--slow-vs-fast: no span named 'nosuch'"
run e report "$P" --slow-vs-fast "GET /orders" --threshold 1s
one_line_error e 1 "all 20 spans named 'GET /orders' are fast"
run e report "$P" --slow-vs-fast "GET /health"
one_line_error e 1 "all 5 spans named 'GET /health' are fast at their p90"
run e report "$P" --slow-vs-fast "GET /orders" --threshold abc; one_line_error e 2 "--threshold: 'abc' is not a duration"
run e report "$P" --slow-vs-fast "GET /orders" --threshold 0;   one_line_error e 2 "--threshold: must be more than 0"
run e report "$P" --threshold 1s;        one_line_error e 2 "--threshold: only with --slow-vs-fast"
run e report "$P" --spans "$T/spans.jsonl"; one_line_error e 2 "--spans: needs --span"
run e report "$P" --slow-vs-fast x --diff "$P"; one_line_error e 2 "not with --diff"
run e report "$P" --slow-vs-fast x --span-name y; one_line_error e 2 "not with --span"
run e report "$P" --span 0000000000001000 --spans "$T/nosuch.db"; one_line_error e 1 "--spans: $T/nosuch.db"
run e convert "$P" --slow-vs-fast x -o "$T/x.pb.gz"; one_line_error e 2 "--slow-vs-fast: makes a diff"
[ -e "$T/x.pb.gz" ] && fail "convert wrote a file after a usage error"
# a spans file of other traces
printf '{"resourceSpans":[]}\n' >"$T/other.jsonl"
run e report "$P" --span 0000000000001000 --spans "$T/other.jsonl"; one_line_error e 1 "none of the profile's 25 traces is there"
# a profile without span labels
printf 'main;a 5\n' >"$T/plain.folded"
run e report "$T/plain.folded" --span-name x;  one_line_error e 1 "no sample of this profile carries span labels"
run e flame "$T/plain.folded" --slow-vs-fast x -o "$T/p.svg"; one_line_error e 1 "no sample carries span labels"
[ -e "$T/p.svg" ] && fail "flame wrote a file after an error"
finish
