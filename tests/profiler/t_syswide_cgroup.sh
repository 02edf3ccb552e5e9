#!/usr/bin/env bash
# ignis record --cgroup DIR: a cgroup v2 directory made by the test holds
# cpu_shares; cpu_recurse runs outside it.  Only the cgroup's tasks are
# sampled (hot_a..hot_d, no recurse_leaf / inlined_hot), through per-CPU
# cgroup events; then `ignis agent --cgroup` with the caches rebuilt at
# every interval.  Skipped (77) where no writable cgroup2 is mounted.  The
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

# Continuous, narrowed to the cgroup, with the module and symbol caches
# dropped at every interval (IGNIS_MAX_MODULES=1): intervals after a
# rebuild are still symbolized.
IGNIS_MAX_MODULES=1 "$IGNIS" agent --cgroup "$D" -F 99 --every 0.5s -o "$T/prof/" -d 600 2>"$T/rec.err" &
REC_PID=$!
PIDS+=("$REC_PID")
for _ in $(seq 2400); do
  [ "$(ls "$T/prof" 2>/dev/null | wc -l)" -ge 3 ] && break
  kill -0 "$REC_PID" 2>/dev/null || break
  sleep 0.05
done
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" = 0 ] || fail "agent --cgroup exited $REC_STATUS"
trims=$(sed -n 's/.*caches rebuilt \([0-9]*\) times.*/\1/p' "$T/rec.err")
[ "${trims:-0}" -ge 1 ] || fail "the caches were never rebuilt (IGNIS_MAX_MODULES=1)"
later=0
for f in "$T"/prof/*.pb.gz; do
  case $f in *-0000.pb.gz) continue ;; esac
  "$IGNIS" convert --value samples -o "$T/i.folded" "$f" 2>/dev/null || continue
  later=$((later + $(folded_sum "$T/i.folded" ';hot_[abcd]$')))
done
[ "$later" -gt 0 ] || fail "no hot function named after the caches were rebuilt"
[ "$(cat "$T"/prof/*.pb.gz | wc -c)" -gt 0 ] || fail "no interval files"
echo ok
