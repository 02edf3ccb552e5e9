#!/usr/bin/env bash
# Span labels on off-CPU intervals (--off-cpu) and wall-clock profiles
# (--wall), end to end through `ignis record -- CMD`, against ground truth
# (samples/spans/spanwork.c -w): per round, span "wait-a" is current while
# block_a() waits (a mutex the threads share, a 1 ms sleep holding it),
# span "calc-b" while work_b() computes, and no span while idle_none()
# sleeps; spanwork logs every span it made (thread, name, trace id, span
# id).  So:
#   - every switch-out in block_a carries span_name wait-a and a span_id
#     (and trace_id) spanwork logged as wait-a: none labelled otherwise,
#     >= 95% of the intervals and of their time labelled;
#   - no switch-out in idle_none carries a span;
#   - calc-b's only off-CPU time is preemption (state runnable);
#   - sleeping or blocked time labelled wait-a is all in block_a;
#   - --wall: the same for its off-CPU part, and running samples of
#     work_b carry calc-b.
# Synchronisation, not timing: spanwork starts its threads when it reads a
# byte on stdin, which the test writes once the recorder said it labels
# spanwork's samples.  Skips (77) where BPF or sched:sched_switch is not
# available (the recorder says why).
. "$(dirname "$0")/lib.sh"
W=$B/samples/spans/spanwork
DUMP=$B/tests/profiler/profdump
[ -x "$W" ] || fail "$W not built"
[ -x "$DUMP" ] || fail "$DUMP not built"

# record_waits OUT [record options]: records spanwork -w (30 rounds, 2
# threads); the recorder's stderr is left in $T/rec.err
record_waits() {
  local out=$1; shift
  rm -f "$T/in" "$T/err" "$T/log"
  mkfifo "$T/in" "$T/err"
  exec 3<>"$T/in"
  "$IGNIS" record -F 499 -o "$out" "$@" -- "$W" -w -l "$T/log" -r 30 -t 2 <"$T/in" >"$T/out" 2>"$T/err" &
  REC_PID=$!
  PIDS+=("$REC_PID")
  exec 4<"$T/err"
  : >"$T/rec.err"
  local line
  while IFS= read -r -t 120 line <&4; do
    echo "$line" >>"$T/rec.err"
    case $line in *"span labels for process"* | *"no span labels"*) break ;; esac
  done
  cat <&4 >>"$T/rec.err" &
  local cat_pid=$!
  printf g >&3
  exec 3>&-
  wait "$REC_PID"
  local rc=$?
  wait "$cat_pid"
  exec 4<&-
  cat "$T/rec.err"
  [ "$rc" -eq 0 ] || fail "record exited $rc"
  grep -q "span labels for process" "$T/rec.err" || {
    grep -q "need BPF" "$T/rec.err" && skip "BPF not available here"
    fail "the recorder did not follow spanwork's spans"
  }
  grep -q "span labels for process.*off-CPU intervals get no span labels" "$T/rec.err" &&
    skip "off-CPU span labels not available here: $(grep -o 'off-CPU intervals get no.*' "$T/rec.err")"
  [ -s "$T/log" ] || fail "spanwork wrote no span log"
}

# over the worker threads' intervals (samples) in function f, of states
# matching st: count and value in all, labelled with span name s (and a
# span spanwork logged so), labelled otherwise, labelled with an unlogged span
#   check DUMP f s [st]
check() {
  awk -F'\t' -v f="$2" -v s="$3" -v st="${4:-.}" '
    NR == FNR { if ($1 == "SPAN") { ok[$3 "/" $5 "/" $4] = 1 } next }
    $5 ~ ("(^|;)" f "(;|$)") && $3 ~ st {
      n++; v += $1
      if ($6 == s && s != "-") { rn++; rv += $1; if (!((s "/" $7 "/" $8) in ok)) unknown++ }
      else if ($6 != "-" || $7 != "-") wrong++
    }
    END { printf "%d %.0f %d %.0f %d %d\n", n, v, rn, rv, wrong, unknown }' FS=' ' "$T/log" FS='\t' "$1"
}

judge() { # DUMP KIND
  local n v rn rv wrong unknown
  read -r n v rn rv wrong unknown <<<"$(check "$1" block_a wait-a)"
  echo "$2: block_a: $n intervals ($v ns), $rn labelled wait-a ($rv ns), $wrong otherwise, $unknown unlogged"
  [ "$n" -ge 30 ] || fail "$2: block_a: too few intervals ($n) to judge"
  [ "$wrong" -eq 0 ] || fail "$2: block_a: $wrong intervals labelled with another span"
  [ "$unknown" -eq 0 ] || fail "$2: block_a: $unknown intervals labelled with a span id spanwork did not log as wait-a"
  [ $((rn * 100)) -ge $((n * 95)) ] || fail "$2: block_a: only $rn of $n intervals labelled wait-a"
  awk -v a="$rv" -v b="$v" 'BEGIN { exit !(a * 100 >= b * 95) }' || fail "$2: block_a: only $rv of $v ns labelled wait-a"
  read -r n v rn rv wrong unknown <<<"$(check "$1" idle_none -)"
  echo "$2: idle_none: $v ns in $n samples, $wrong labelled with a span"
  # 60 sleeps of at least 1 ms (equal intervals merge into one sample)
  [ "$v" -ge 30000000 ] || fail "$2: idle_none: too little time ($v ns) to judge"
  [ "$wrong" -eq 0 ] || fail "$2: idle_none: $wrong intervals outside any span carry one"
  # waits (not preemption) labelled wait-a are in block_a; calc-b never waits
  local off
  off=$(awk -F'\t' '$6 == "wait-a" && $3 ~ /^(sleeping|blocked|uninterruptible)$/ && $5 !~ /(^|;)block_a(;|$)/ { n++ }
                    END { print n + 0 }' "$1")
  [ "$off" -eq 0 ] || fail "$2: $off waits labelled wait-a outside block_a"
  off=$(awk -F'\t' '$6 == "calc-b" && $3 ~ /^(sleeping|blocked|uninterruptible)$/ { n++ } END { print n + 0 }' "$1")
  [ "$off" -eq 0 ] || fail "$2: $off waits labelled calc-b, which only computes"
}

record_waits "$T/off.pb.gz" --off-cpu
grep -q "switch-outs in spans" "$T/rec.err" || fail "--off-cpu: the summary does not count labelled switch-outs"
# ... and those outside any span (idle_none's sleeps), on either engine
read -r in_spans outside <<<"$(sed -n 's/^  span labels *\([0-9]*\) switch-outs in spans, \([0-9]*\) outside.*/\1 \2/p' "$T/rec.err")"
echo "summary: $in_spans switch-outs in spans, $outside outside"
[ "${in_spans:-0}" -gt 0 ] && [ "${outside:-0}" -gt 0 ] || fail "--off-cpu: the summary counts ${outside:-no} switch-outs outside spans"
# VALUE THREAD STATE WCHAN STACK span_name span_id trace_id
"$DUMP" "$T/off.pb.gz" off_cpu span_name span_id trace_id >"$T/dump" || fail "profdump"
judge "$T/dump" off-cpu

record_waits "$T/wall.pb.gz" --wall
"$DUMP" "$T/wall.pb.gz" wall span_name span_id trace_id >"$T/dump" || fail "profdump"
judge "$T/dump" wall
read -r n v rn rv wrong unknown <<<"$(check "$T/dump" work_b calc-b '^running$')"
echo "wall: work_b running: $n samples, $rn labelled calc-b, $wrong otherwise"
[ "$wrong" -eq 0 ] || fail "wall: work_b: $wrong samples labelled with another span"
# the span filter sees the waits: --tagfocus span_name=wait-a keeps block_a's time
"$IGNIS" convert "$T/wall.pb.gz" --tagfocus span_name=wait-a --value wall --to folded -o "$T/a.folded" -q ||
  fail "convert --tagfocus span_name=wait-a"
got=$(awk '{ s += $NF } END { printf "%.0f\n", s }' "$T/a.folded")
want=$(awk -F'\t' '$6 == "wait-a" { s += $1 } END { printf "%.0f\n", s }' "$T/dump")
[ "$got" -gt 0 ] && [ "$got" = "$want" ] || fail "--tagfocus span_name=wait-a kept $got ns, $want are labelled so"
echo ok
