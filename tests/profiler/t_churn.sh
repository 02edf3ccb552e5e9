#!/usr/bin/env bash
# Many short-lived threads (samples/cpu/cpu_churn.c): the recorder follows
# them all (threads seen grows) while its file descriptor count stays
# bounded — no descriptor per exited thread is left behind.
. "$(dirname "$0")/lib.sh"
start_sample cpu_churn 60
start_record -p "$SAMPLE_PID" -F 999 -d 3 -o "$T/out.folded"
wait_recording
maxfd=0
while kill -0 "$REC_PID" 2>/dev/null; do
  n=$(ls /proc/"$REC_PID"/fd 2>/dev/null | wc -l)
  [ "$n" -gt "$maxfd" ] && maxfd=$n
  sleep 0.02
done
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS"
threads=$(summary 'threads seen')
echo "max fds $maxfd, threads seen $threads"
[ "$threads" -ge 20 ] || fail "only $threads threads seen"
# 32 for the events, rings, pidfds and caches, plus 7 of the span-label
# BPF program (its maps, BTF and program): hundreds of threads came and went
[ "$maxfd" -le 40 ] || fail "$maxfd file descriptors open"
[ "$(folded_sum "$T/out.folded" ';start_thread;(short_thread;)?churn_work$')" -gt 0 ] || fail "no churn_work samples"
echo ok
