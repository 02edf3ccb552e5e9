#!/usr/bin/env bash
# ignis record --cgroup DIR: a cgroup v2 directory made by the test holds
# cpu_shares; cpu_recurse runs outside it.  Only the cgroup's tasks are
# sampled (hot_a..hot_d, no recurse_leaf / inlined_hot), through per-CPU
# cgroup events.  Skipped (77) where no writable cgroup2 is mounted.  The
# recording stops once cpu_shares used a second of CPU (polled in /proc).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "cgroup events need root here"
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG" ] || skip "cgroup2 is not mounted"
D=$(mktemp -d "$CG/ignis-test.XXXXXX" 2>/dev/null) || skip "$CG is not writable"
cleanup_cgroup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for _ in $(seq 100); do rmdir "$D" 2>/dev/null && break; sleep 0.05; done
  cleanup
}
trap cleanup_cgroup EXIT

cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
start_sample cpu_shares 600; shares=$SAMPLE_PID
echo "$shares" >"$D/cgroup.procs" || skip "cannot move a process into $D"
start_sample cpu_recurse 600; recurse=$SAMPLE_PID
start_record --cgroup "$D" -d 600 -o "$T/cg.folded"
wait_recording
s0=$(cpu_ticks "$shares")
for _ in $(seq 2400); do
  [ $(( $(cpu_ticks "$shares") - s0 )) -ge "$(getconf CLK_TCK)" ] && break
  sleep 0.05
done
kill -INT "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" = 0 ] || fail "record --cgroup exited $REC_STATUS"
grep -q 'recording cgroup' "$T/rec.err" || fail "no cgroup in the start line"
for fn in hot_a hot_b hot_c hot_d; do
  [ "$(folded_sum "$T/cg.folded" ";$fn\$")" -gt 0 ] || fail "$fn (in the cgroup) not sampled"
done
[ "$(folded_sum "$T/cg.folded" 'recurse_leaf|inlined_hot')" = 0 ] || fail "cpu_recurse (outside the cgroup) sampled"
echo ok
