#!/usr/bin/env bash
# Off-CPU profiles at their edges: no tracefs (the context-switches event
# instead, with a one-line note naming what is missing), bad options, no
# permission (one line naming what is missing), a process attached while
# its threads wait (their waits so far under "[waiting when recording
# began]", closed at the end of the recording, so each thread accounts for
# the whole recording), threads killed in the middle of a wait, and the
# --off-cpu-min threshold.
. "$(dirname "$0")/lib.sh"

# ---- no tracefs where IGNIS_TRACEFS points: context-switch events ----------
# (the perf engine's fallback: the BPF engine needs no tracefs)
IGNIS_OFFCPU_BPF=0 IGNIS_TRACEFS=$T/nowhere "$IGNIS" record --off-cpu -o "$T/cs.pb.gz" -- "$PHASES" 3 >"$T/truth" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 0 ] || fail "record without tracefs exited $rc"
grep -q "^ignis record: sched:sched_switch: tracefs not mounted at $T/nowhere; off-CPU states are only runnable or blocked" \
  "$T/rec.err" || fail "no note naming the missing tracefs"
grep -q '^  switch-outs .*(context-switches' "$T/rec.err" || fail "not recorded with context-switches"
"$PROFDUMP" "$T/cs.pb.gz" off_cpu >"$T/dump" || fail "profdump"
all=$(dump_sum "$T/dump" ';phase_sleep(;|$)')
ok=$(dump_sum "$T/dump" ';phase_sleep(;|$)' '^blocked$' '^hrtimer_nanosleep$')
[ "$all" -gt 0 ] || fail "no off-CPU time at phase_sleep"
in_range "$(pct "$ok" "$all")" 99 100 "phase_sleep blocked at hrtimer_nanosleep (%)"
all=$(dump_sum "$T/dump" ';phase_compute(;|$)')
ok=$(dump_sum "$T/dump" ';phase_compute(;|$)' '^runnable$')
[ "$all" -eq "$ok" ] || fail "phase_compute: preemptions not runnable ($ok of $all)"
awk -F'\t' '$3 !~ /^(blocked|runnable)$/ { exit 1 }' "$T/dump" || fail "a state other than blocked/runnable"
echo "ok: no tracefs"

# ---- bad options: one line, exit 2 -------------------------------------------
bad() {
  "$IGNIS" record "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "record $*: exit $rc"; }
  echo "ok: $* -> $(cat "$T/err")"
}
bad --off-cpu --wall -p 1
bad --off-cpu-min 10 -p 1
bad --off-cpu-min -5ms -p 1
bad --off-cpu-min 3h -p 1
bad --off-cpu-period -1ms -p 1
bad --off-cpu-period soon -p 1
bad --off-cpu-min '' -p 1
bad --off-cpu-min 1e300s -p 1

# ---- no permission: one line naming what is missing --------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 2 ]; then
  chmod o+x "$IGNIS" 2>/dev/null
  mkdir -p "$T/nobody" && chmod 777 "$T" "$T/nobody"
  timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$IGNIS" record --off-cpu \
    -o "$T/nobody/o.pb.gz" -- "$PHASES" 1 >/dev/null 2>"$T/err"
  rc=$?
  cat "$T/err"
  [ "$rc" -ne 0 ] || fail "unprivileged --off-cpu succeeded at perf_event_paranoid >= 2"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "unprivileged: not one line"
  grep -q '^ignis record: --off-cpu: sched:sched_switch: .*; context-switches: permission denied (kernel.perf_event_paranoid=' \
    "$T/err" || fail "unprivileged: the message does not name what is missing"
  grep -q 'CAP_PERFMON' "$T/err" || fail "unprivileged: no fix named"
  [ -e "$T/nobody/o.pb.gz" ] && fail "unprivileged: an output was written"
  echo "ok: permission"
fi

# ---- attached while waiting; intervals open at the end are closed there ------
start_sample_phases() { "$PHASES" "$@" >"$T/phases.out" 2>&1 & SAMPLE_PID=$!; PIDS+=("$SAMPLE_PID"); }
start_sample_phases 1000
# its main thread waits in pthread_join from the start: wait until it does
for _ in $(seq 200); do
  [ "$(ls /proc/$SAMPLE_PID/task 2>/dev/null | wc -l)" -ge 5 ] && grep -q '^State:.*S' "/proc/$SAMPLE_PID/status" && break
  sleep 0.05
done
"$IGNIS" record --wall -p "$SAMPLE_PID" -d 2 -o "$T/attach.pb.gz" 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record -p"; }
cat "$T/rec.err"
"$PROFDUMP" "$T/attach.pb.gz" wall >"$T/dump" || fail "profdump"
dur=$("$IGNIS" report "$T/attach.pb.gz" -n 1 | sed -n 's/^Duration: \([0-9.]*\)\(m\?s\),.*/\1 \2/p' |
      awk '{ print ($2 == "ms") ? $1 * 1e6 : $1 * 1e9 }')
main=$(awk -F'\t' '$2 == "offcpu_phases" { s += $1 } END { printf "%.0f\n", s }' "$T/dump")
waiting=$(awk -F'\t' '$2 == "offcpu_phases" && $5 ~ /^\[waiting when recording began\]$/ && $3 == "sleeping" { s += $1 }
                      END { printf "%.0f\n", s }' "$T/dump")
echo "duration $dur ns; main thread $main ns, waiting since the start $waiting ns"
[ "$waiting" -gt 0 ] || fail "the main thread's wait at attach is missing"
in_range "$(pct "$main" "$dur")" 90 101 "main thread's wall time over the recording (%)"
# every thread accounts for the recording (within the attach time)
awk -F'\t' '{ t[$2] += $1 } END { for (k in t) print k, t[k] }' "$T/dump" | while read -r name ns; do
  echo "thread $name: $ns ns"
  in_range "$(pct "$ns" "$dur")" 90 103 "thread $name wall time over the recording (%)"
done || exit 1

# ---- killed in the middle of a wait -------------------------------------------
start_record --off-cpu -p "$SAMPLE_PID" -o "$T/killed.pb.gz"
wait_recording
for _ in $(seq 100); do grep -q '^State:.*S' "/proc/$SAMPLE_PID/task/$SAMPLE_PID/status" && break; sleep 0.05; done
kill -9 "$SAMPLE_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record of a killed process exited $REC_STATUS"
grep -q '^  unmatched' "$T/rec.err" && fail "waits of killed threads lost their end"
"$PROFDUMP" "$T/killed.pb.gz" off_cpu >"$T/dump" || fail "profdump"
[ "$(awk -F'\t' '$2 == "offcpu_phases" { s += $1 } END { print s + 0 }' "$T/dump")" -gt 0 ] ||
  fail "the main thread's wait, ended by the kill, is missing"
echo "ok: killed"

# ---- --off-cpu-min: waits shorter than it are left out -------------------------
"$IGNIS" record --off-cpu --off-cpu-min 30ms -o "$T/min.pb.gz" -- "$PHASES" 3 >/dev/null 2>"$T/rec.err" ||
  { cat "$T/rec.err"; fail "record --off-cpu-min"; }
cat "$T/rec.err"
short=$(sed -n 's/^  shorter waits *\([0-9]*\) left out.*/\1/p' "$T/rec.err")
[ "${short:-0}" -gt 0 ] || fail "no wait left out under 30ms (the workers' compute preemptions are shorter)"
"$PROFDUMP" "$T/min.pb.gz" off_cpu >"$T/dump" || fail "profdump"
[ "$(dump_sum "$T/dump" ';phase_sleep(;|$)')" -gt 0 ] || fail "the 40 ms sleeps were left out"
echo ok
