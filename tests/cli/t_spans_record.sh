#!/usr/bin/env bash
# tests/cli/t_spans_record.sh — `ignis record --spans FILE` joins samples to
# spans by thread and time, against ground truth: samples/spans/spanwork
# runs spans whose work is known (work_a only in "span-a", work_b only in
# its child "span-b", work_short only in "short", work_none outside any
# span) and exports them with libignis' OTLP-JSON file exporter, which sets
# thread.id on every span.  Span labels from the thread context are off
# (--no-span-labels), so every label comes from the join: >= 99% of each
# work function's samples must carry its span, <= 1% of work_none any.
# Skipped where perf events are not permitted.
. "$(dirname "$0")/lib.sh"
W=${IGNIS_BUILD:-build}/samples/spans/spanwork
[ -x "$W" ] || { echo "$W not built"; exit 1; }
export IGNIS_CACHE_DIR=$T/cache
echo go | OTEL_TRACES_EXPORTER=otlp_file IGNIS_TRACES_FILE="$T/spans.jsonl" \
  "$IGNIS" record -F 999 --no-span-labels --spans "$T/spans.jsonl" -o "$T/p.pb.gz" -- \
  "$W" -l "$T/log" -r 10 -t 2 >"$T/rec.out" 2>"$T/rec.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "perf_event_paranoid\|CAP_PERFMON\|Permission denied\|not permitted" "$T/rec.err"; then
  echo "perf events not permitted here: $(head -1 "$T/rec.err")"; exit 77
fi
[ $rc -eq 0 ] || fail "record --spans: exit $rc: $(cat "$T/rec.err")"
grep -q "ignis record: --spans: [0-9]* of [0-9]* samples joined to their thread's span by time; 0 labelled already" \
  "$T/rec.err" || fail "no join summary: $(cat "$T/rec.err")"

# samples NAME FILTERS...: how many samples the filters keep (0 when none)
samples() {
  "$IGNIS" report "$T/p.pb.gz" --value samples "$@" 2>/dev/null |
    sed -n 's/^Showing nodes accounting for \([0-9]*\),.*/\1/p' | head -1 | grep . || echo 0
}
for pair in work_a:span-a work_b:span-b work_short:short; do
  fn=${pair%%:*} span=${pair#*:}
  all=$(samples --focus "^$fn\$") in=$(samples --focus "^$fn\$" --span-name "$span")
  [ "$all" -ge 20 ] || fail "$fn: only $all samples"
  [ $((in * 100)) -ge $((all * 99)) ] || fail "$fn: $in of $all samples joined to $span"
done
none=$(samples --focus '^work_none$') labelled=$(samples --focus '^work_none$' --tagfocus 'span_id=.')
[ "$none" -ge 20 ] || fail "work_none: only $none samples"
[ $((labelled * 100)) -le "$none" ] || fail "work_none: $labelled of $none samples got a span"
[ "$(samples --tagfocus 'time_ns=1:')" -eq 0 ] || fail "time_ns labels left in the profile"

# spans of another clock (or run): nothing joined, one warning and a hint;
# the profile keeps tid and time_ns, so a later convert --join-spans with
# the right spans joins it
MKJ=${IGNIS_BUILD:-build}/tests/cli/mkjoinprof
[ -x "$MKJ" ] || fail "$MKJ not built"
mkdir "$T/j" && "$MKJ" "$T/j" || fail "mkjoinprof"
echo go | OTEL_TRACES_EXPORTER=otlp_file IGNIS_TRACES_FILE="$T/spans2.jsonl" \
  "$IGNIS" record -F 999 --no-span-labels --spans "$T/j/far.jsonl" -o "$T/far.pb.gz" -- \
  "$W" -l "$T/log2" -r 3 -t 1 >"$T/far.out" 2>"$T/far.err"
[ $? -eq 0 ] || fail "record --spans (another clock): $(cat "$T/far.err")"
grep -q "ignis record: --spans: $T/j/far.jsonl: 6 spans carry thread.id, but none is in the samples' time" \
  "$T/far.err" || fail "no clock warning: $(cat "$T/far.err")"
grep -q "join it later with .ignis convert $T/far.pb.gz --spans SRC --join-spans" "$T/far.err" ||
  fail "no hint: $(cat "$T/far.err")"
run far2 report "$T/far.pb.gz" --tagfocus span_id=.
[ "$RC" -eq 1 ] || fail "a refused join labelled samples"
run later convert "$T/far.pb.gz" --spans "$T/spans2.jsonl" --join-spans -o "$T/later.pb.gz"
[ "$RC" -eq 0 ] || fail "the later join: $(cat "$T/later.err")"
grep -q "samples joined to their thread's span by time" "$T/later.err" || fail "later: $(cat "$T/later.err")"
run la report "$T/later.pb.gz" --span-name span-b --focus '^work_b$'
[ "$RC" -eq 0 ] || fail "the later join labelled no work_b sample span-b: $(cat "$T/la.err")"
"$IGNIS" record --spans x.jsonl --every 1s -o "$T/dir/" -- true >"$T/ev.out" 2>"$T/ev.err"
[ $? -eq 2 ] || fail "--spans with --every: $(cat "$T/ev.err")"
# what can never be read is refused before recording; a file that does
# not exist yet (the traced program writes it) gets a note; no samples, no join
"$IGNIS" record --spans "$T" -o "$T/d.pb.gz" -- true >/dev/null 2>"$T/dir.err"
[ $? -eq 2 ] && grep -q "^ignis record: --spans $T: not a regular file" "$T/dir.err" && [ ! -e "$T/d.pb.gz" ] ||
  fail "--spans DIR: $(cat "$T/dir.err")"
"$IGNIS" record --spans "$T/later.jsonl" -o "$T/n.pb.gz" -- true >/dev/null 2>"$T/new.err"
[ $? -eq 0 ] && grep -q "^ignis record: --spans $T/later.jsonl: does not exist yet" "$T/new.err" &&
  grep -q "^ignis record: --spans: no samples to join" "$T/new.err" && ! grep -q join-spans "$T/new.err" ||
  fail "--spans NEW: $(cat "$T/new.err")"
finish
