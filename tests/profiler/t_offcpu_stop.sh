#!/usr/bin/env bash
# A thread stopped (SIGSTOP, SIGCONT) in the middle of a wait, on either
# off-CPU engine (run once per engine): `cat` blocked reading a FIFO is
# stopped, continued, and then given its input.  Its read is interrupted by
# the stop and restarted at SIGCONT (the restart moves its IP back over the
# syscall instruction): the wait before the stop is recorded sleeping in
# the pipe read, the stop itself as `stopped`, the restarted read sleeping
# again; nothing is unmatched, nothing attributed to another stack (the
# BPF engine counts what it had to drop), and the recorder exits cleanly.
. "$(dirname "$0")/lib.sh"
mkfifo "$T/in"
state_of() { awk '{ sub(/^.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null; }
wait_state() { # PID STATE: bounded wait until the process is in STATE
  for _ in $(seq 400); do
    [ "$(state_of "$1")" = "$2" ] && return 0
    sleep 0.02
  done
  fail "process $1 never reached state $2 (now $(state_of "$1"))"
}
for engine in bpf perf; do
  if [ "$engine" = perf ]; then export IGNIS_OFFCPU_BPF=0; else unset IGNIS_OFFCPU_BPF; fi
  start_record --off-cpu --off-cpu-period 0 -o "$T/stop.pb.gz" -- cat "$T/in"
  wait_recording
  exec 3<>"$T/in" # a writer, so cat's open returns and it blocks in read
  cat_pid=
  for _ in $(seq 400); do # the recorder's child execs cat after the status line
    cat_pid=$(pgrep -P "$REC_PID" -x cat) && break
    sleep 0.02
  done
  [ -n "$cat_pid" ] || fail "no cat under the recorder"
  wait_state "$cat_pid" S
  kill -STOP "$cat_pid"
  wait_state "$cat_pid" T
  kill -CONT "$cat_pid"
  wait_state "$cat_pid" S
  exec 3>&- # its input ends: cat reads EOF and exits
  wait_record
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq 0 ] || fail "$engine: record exited $REC_STATUS"
  grep -q '^  unmatched' "$T/rec.err" && fail "$engine: switch-outs without their switch-in"
  "$PROFDUMP" "$T/stop.pb.gz" off_cpu >"$T/dump" || fail "profdump"
  awk -F'\t' '$2 == "cat" && $3 == "stopped"' "$T/dump" | grep -q . || fail "$engine: no stopped wait"
  awk -F'\t' '$2 == "cat" && $3 == "sleeping" && $4 ~ /pipe_read/' "$T/dump" | grep -q . ||
    fail "$engine: no sleeping wait in the pipe read"
  echo "ok: $engine"
done
echo ok
