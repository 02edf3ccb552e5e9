#!/usr/bin/env bash
# Span labels on CPU samples, end to end through `ignis record -- CMD`,
# against ground truth (samples/spans/spanwork.c): each work function runs
# only while a known span is current (work_a in "span-a", work_b in its
# child "span-b", work_short in "short", work_none in none), and spanwork
# logs every span it made (thread, name, trace id, span id).  So:
#   - >= 95% of the samples in work_a, work_b, work_short carry that span's
#     span_name, and every labelled one carries a span_id (and trace_id) that
#     spanwork logged under that name: no sample is labelled wrongly;
#   - no sample in work_none carries a span;
#   - --tagfocus span_name=span-b keeps exactly the samples labelled so;
#   - --no-span-labels records no span labels;
#   - without BPF (root without CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) the
#     recording still succeeds, unlabelled, with one line saying why.
# Synchronisation, not timing: spanwork starts its threads when it reads a
# byte on stdin, which the test writes once the recorder has said it labels
# spanwork's samples (so every span's samples can be labelled).
# Skips (77) where BPF cannot be loaded (the recorder says why).
. "$(dirname "$0")/lib.sh"
W=$B/samples/spans/spanwork
DUMP=$B/tests/profiler/profdump
[ -x "$W" ] || fail "$W not built"
[ -x "$DUMP" ] || fail "$DUMP not built"

# record_spans OUT [record options]: records spanwork (10 rounds, 2 threads)
# and leaves the recorder's stderr in $T/rec.err, its status in $REC_STATUS;
# the recorder runs under ${RUN[@]} (a command prefix) if set.
RUN=()
record_spans() {
  local out=$1; shift
  rm -f "$T/in" "$T/err" "$T/log"
  mkfifo "$T/in" "$T/err"
  exec 3<>"$T/in"
  ${RUN[@]+"${RUN[@]}"} "$IGNIS" record -F 499 -o "$out" "$@" -- "$W" -l "$T/log" -r 10 -t 2 <"$T/in" >"$T/out" 2>"$T/err" &
  REC_PID=$!
  PIDS+=("$REC_PID")
  exec 4<"$T/err"
  : >"$T/rec.err"
  local line
  while IFS= read -r -t 120 line <&4; do
    echo "$line" >>"$T/rec.err"
    case $line in
    *"span labels for process"* | *"no span labels"*) break ;;
    *"ignis record: recording"*) [ "$*" = --no-span-labels ] && break ;;
    esac
  done
  cat <&4 >>"$T/rec.err" &
  local cat_pid=$!
  printf g >&3
  exec 3>&-
  wait "$REC_PID"
  REC_STATUS=$?
  wait "$cat_pid"
  exec 4<&-
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS"
}

record_spans "$T/spans.pb.gz"
grep -q "span labels for process" "$T/rec.err" || {
  grep -q "need BPF" "$T/rec.err" && skip "BPF not available here"
  fail "the recorder did not follow spanwork's spans"
}
[ -s "$T/log" ] || fail "spanwork wrote no span log"
# VALUE THREAD STATE WCHAN STACK span_name span_id trace_id
"$DUMP" "$T/spans.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"

# samples in function f: total, labelled with span name s, labelled with
# another name, and labelled with a span spanwork never logged under s
check_function() {
  local f=$1 s=$2
  awk -F'\t' -v f="$f" -v s="$s" '
    NR == FNR { if ($1 == "SPAN") { ok[$3 "/" $5 "/" $4] = 1 } next }
    $5 ~ ("(^|;)" f "(;|$)") {
      n += $1
      if ($6 == s) { right += $1; if (!((s "/" $7 "/" $8) in ok)) unknown += $1 }
      else if ($6 != "-" || $7 != "-") wrong += $1
    }
    END { printf "%d %d %d %d\n", n, right, wrong, unknown }' FS=' ' "$T/log" FS='\t' "$T/dump"
}
for pair in work_a:span-a work_b:span-b work_short:short; do
  f=${pair%%:*} s=${pair#*:}
  read -r n right wrong unknown <<<"$(check_function "$f" "$s")"
  echo "$f: $n samples, $right labelled $s, $wrong labelled otherwise, $unknown with a span id not logged as $s"
  [ "$n" -ge 20 ] || fail "$f: too few samples ($n) to judge"
  [ "$wrong" -eq 0 ] || fail "$f: $wrong samples labelled with another span"
  [ "$unknown" -eq 0 ] || fail "$f: $unknown samples labelled with a span id spanwork did not log as $s"
  [ $((right * 100)) -ge $((n * 95)) ] || fail "$f: only $right of $n samples labelled $s"
done
read -r n right wrong unknown <<<"$(check_function work_none none)"
echo "work_none: $n samples, $wrong labelled with a span"
[ "$n" -ge 20 ] || fail "work_none: too few samples ($n) to judge"
[ "$wrong" -eq 0 ] || fail "work_none: $wrong samples outside any span carry a span"

# the label filters like any other: --tagfocus span_name=span-b keeps exactly those samples
"$IGNIS" convert "$T/spans.pb.gz" --tagfocus span_name=span-b --value samples --to folded -o "$T/b.folded" -q ||
  fail "convert --tagfocus span_name=span-b"
want=$(awk -F'\t' '$6 == "span-b" { s += $1 } END { print s + 0 }' "$T/dump")
got=$(awk '{ s += $NF } END { print s + 0 }' "$T/b.folded")
echo "--tagfocus span_name=span-b: $got samples (labelled: $want)"
[ "$got" -gt 0 ] && [ "$got" = "$want" ] || fail "--tagfocus span_name=span-b kept $got samples, $want are labelled so"
# ... and what it keeps is span-b's work: stacks through work_b (the rest is span bookkeeping)
inb=$(awk '$0 ~ /(^|;)work_b(;| )/ { s += $NF } END { print s + 0 }' "$T/b.folded")
[ $((inb * 100)) -ge $((got * 95)) ] || fail "--tagfocus span_name=span-b: only $inb of $got samples in work_b"
"$IGNIS" report "$T/spans.pb.gz" --tagfocus span_name=span-b -n 10 >"$T/rep" || fail "report --tagfocus"
grep -q 'tagfocus=span_name=span-b' "$T/rep" || { cat "$T/rep"; fail "report --tagfocus span_name=span-b: filter not applied"; }

# --no-span-labels: the same recording without them
record_spans "$T/plain.pb.gz" --no-span-labels
"$DUMP" "$T/plain.pb.gz" samples span_name span_id >"$T/dump2" || fail "profdump"
[ -s "$T/dump2" ] || fail "--no-span-labels: no samples"
awk -F'\t' '$6 != "-" || $7 != "-" { bad = 1 } END { exit bad }' "$T/dump2" || fail "--no-span-labels: span labels recorded"
grep -q "span labels" "$T/rec.err" && fail "--no-span-labels: the recorder still notes span labels"

# without BPF: recorded all the same, unlabelled, and the one line says what is missing
if [ "$(id -u)" = 0 ] && setpriv --bounding-set=-bpf,-perfmon,-sys_admin true 2>/dev/null; then
  RUN=(setpriv --bounding-set=-bpf,-perfmon,-sys_admin --inh-caps=-all --)
  record_spans "$T/nobpf.pb.gz"
  RUN=()
  [ "$(grep -c 'no span labels' "$T/rec.err")" = 1 ] || fail "without BPF: expected one line saying why there are no span labels"
  grep 'no span labels' "$T/rec.err" | grep -q 'need BPF.*not permitted.*CAP_BPF' || fail "without BPF: the line does not say what is missing"
  "$DUMP" "$T/nobpf.pb.gz" samples span_name span_id >"$T/dump3" || fail "profdump"
  [ -s "$T/dump3" ] || fail "without BPF: no samples"
  awk -F'\t' '$6 != "-" || $7 != "-" { bad = 1 } END { exit bad }' "$T/dump3" || fail "without BPF: span labels recorded"
else
  echo "(not root, or setpriv cannot drop capabilities: the no-BPF case is not checked)"
fi
echo ok
