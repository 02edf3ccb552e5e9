#!/usr/bin/env bash
# -p on a process whose main thread has exited (pthread_exit) while another
# thread burns the CPU in burn(): /proc/PID/maps of the zombie leader is
# empty, so the maps must come from a live thread's /proc/PID/task/TID/maps
# (regression: no mapping was known and no frame was named).  burn must be
# named in most of the samples.
. "$(dirname "$0")/lib.sh"
[ -x "$S/cpu_leader_exit" ] || fail "$S/cpu_leader_exit not built"
start_sample cpu_leader_exit 60
pid=$SAMPLE_PID
state() { sed -n 's/.*) \([A-Z]\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null; }
for _ in $(seq 400); do
  [ "$(state)" = Z ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
[ "$(state)" = Z ] || fail "the leader of $pid did not exit (state $(state))"
[ -s "/proc/$pid/maps" ] && fail "the zombie leader's maps are not empty: nothing to test"
start_record -p "$pid" -d 1 -o "$T/out.folded"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS"
f=$T/out.folded
total=$(folded_sum "$f" '.')
burn=$(folded_sum "$f" '(^|;)burn(;|$)')
echo "samples $total, in burn $burn"
[ "$total" -gt 0 ] || fail "no samples"
[ "$(pct "$burn" "$total")" -ge 50 ] || fail "burn named in $burn of $total samples"
echo ok
