#!/usr/bin/env bash
# A target killed (SIGKILL) while recording: the recorder notices that
# every target exited, stops on its own well before -d, and still writes
# the samples it took.
. "$(dirname "$0")/lib.sh"
start_sample cpu_shares 120
start_record -p "$SAMPLE_PID" -F 999 -d 100 -o "$T/out.folded"
wait_recording
# wait (bounded) until the target burnt >= 0.5 s of CPU after attach
ticks() { awk '{ print $14 + $15 }' /proc/"$SAMPLE_PID"/stat; }
t0=$(ticks); hz=$(getconf CLK_TCK)
for _ in $(seq 600); do
  [ $(( $(ticks) - t0 )) -ge $((hz / 2)) ] && break
  sleep 0.05
done
kill -9 "$SAMPLE_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS"
n=$(summary samples)
[ "$n" -gt 0 ] || fail "no samples written"
[ "$(folded_sum "$T/out.folded" ';worker_[ab];hot_[abcd]$')" -gt 0 ] || fail "no hot_* samples in the profile"
dur=$(summary duration)
in_range "$dur" 0 60 "duration after the target was killed"
echo ok
