#!/usr/bin/env bash
# A stop signal (INT, TERM, HUP, QUIT) to `ignis record` always ends with
# the profile written.  -- CMD: the signal is passed on to the command and
# ignis exits with the command's status (cpu_shares ends cleanly on INT and
# TERM: 0; HUP and QUIT kill it: 128+N).  -p: ignis stops, the target lives
# on, exit 0.  A command that traps the signal and exits 7 gives 7; one
# that ignores it is killed at a second signal (137); SIGTERM to the whole
# process group (a terminal, systemd) is one stop, not two; a stderr whose
# reader went away does not kill ignis (SIGPIPE) on its way out.
# Synchronisation: the target has used CPU (its /proc stat ticks) before
# the signal, so the profile must hold its hot functions.
. "$(dirname "$0")/lib.sh"
ulimit -c 0

ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0; }
# burn PID: wait (bounded) until PID used 0.2 s of CPU
burn() {
  local t0 hz; t0=$(ticks "$1"); hz=$(getconf CLK_TCK)
  for _ in $(seq 600); do
    [ $(( $(ticks "$1") - t0 )) -ge $((hz / 5)) ] && return 0
    sleep 0.05
  done
  fail "pid $1 used no CPU"
}
# burn_child: burn for the launched command (whose pid is also killed at
# cleanup, should ignis die before it)
burn_child() {
  local p; p=$(sed -n 's/.*recording .* (pid \([0-9]*\)).*/\1/p' "$T/rec.err" | head -1)
  [ -n "$p" ] || fail "no command pid in the recorder's output"
  PIDS+=("$p")
  burn "$p"
}
# record_bg ARGS...: start_record in its own process group (set -m), so
# SIGINT and SIGQUIT are not ignored as in a script's background jobs
record_bg() { set -m; start_record "$@"; set +m; }
hot_samples() { folded_sum "$1" ';hot_[abcd]$'; }

for sig in INT TERM HUP QUIT; do
  n=$(kill -l $sig)
  case $sig in INT|TERM) want=0 ;; *) want=$((128 + n)) ;; esac
  rm -f "$T/c.folded"
  record_bg -F 499 -o "$T/c.folded" -- "$S/cpu_shares" 100
  wait_recording
  burn_child
  kill -$sig "$REC_PID"
  wait_record
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq $want ] || fail "-- CMD, SIG$sig: exit status $REC_STATUS, expected $want"
  [ -f "$T/c.folded" ] || fail "-- CMD, SIG$sig: no profile written"
  [ "$(hot_samples "$T/c.folded")" -gt 0 ] || fail "-- CMD, SIG$sig: no hot_* samples"

  start_sample cpu_shares 100
  rm -f "$T/p.folded"
  record_bg -F 499 -p "$SAMPLE_PID" -o "$T/p.folded"
  wait_recording
  burn "$SAMPLE_PID"
  kill -$sig "$REC_PID"
  wait_record
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq 0 ] || fail "-p, SIG$sig: exit status $REC_STATUS"
  [ -f "$T/p.folded" ] || fail "-p, SIG$sig: no profile written"
  [ "$(hot_samples "$T/p.folded")" -gt 0 ] || fail "-p, SIG$sig: no hot_* samples"
  kill -0 "$SAMPLE_PID" || fail "-p, SIG$sig: the target did not live on"
  kill "$SAMPLE_PID"; wait "$SAMPLE_PID"
done

# SIGTERM to the process group: ignis and the command both get it
record_bg -F 499 -o "$T/g.folded" -- "$S/cpu_shares" 100
wait_recording
burn_child
kill -TERM -- -"$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "group SIGTERM: exit status $REC_STATUS"
[ "$(hot_samples "$T/g.folded")" -gt 0 ] || fail "group SIGTERM: no hot_* samples"

# the command decides: it traps TERM and exits 7
record_bg -F 499 -o "$T/t.folded" -- sh -c 'trap "exit 7" TERM; while :; do :; done'
wait_recording
burn_child
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 7 ] || fail "trapped SIGTERM: exit status $REC_STATUS, expected 7"
[ -s "$T/t.folded" ] || fail "trapped SIGTERM: empty profile"

# the command ignores TERM: a second signal stops at once and kills it
record_bg -F 499 -o "$T/i.folded" -- sh -c 'trap "" TERM; while :; do :; done'
wait_recording
burn_child
kill -TERM "$REC_PID"
for _ in $(seq 400); do grep -q "again to stop" "$T/rec.err" && break; sleep 0.05; done
grep -q "again to stop" "$T/rec.err" || fail "no notice after the first SIGTERM"
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 137 ] || fail "ignored SIGTERM: exit status $REC_STATUS, expected 137 (killed)"
[ -s "$T/i.folded" ] || fail "ignored SIGTERM: empty profile"
# stderr is a pipe whose reader went away (`record ... 2>&1 | head -1`,
# then Ctrl-C): the notice ignis writes must not kill it (SIGPIPE)
mkfifo "$T/err.fifo"
set -m
"$IGNIS" record -F 499 -o "$T/p2.folded" -- sh -c 'trap "exit 7" TERM; while :; do :; done' 2> "$T/err.fifo" &
REC_PID=$!; PIDS+=("$REC_PID")
set +m
exec 4< "$T/err.fifo"
read -r line <&4
exec 4<&-
echo "$line"
cpid=$(echo "$line" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p')
[ -n "$cpid" ] || fail "closed stderr: no pid in '$line'"
PIDS+=("$cpid")
burn "$cpid"
kill -TERM "$REC_PID"
wait_record
[ "$REC_STATUS" -eq 7 ] || fail "closed stderr: exit status $REC_STATUS, expected 7 (141 = killed by SIGPIPE)"
[ -s "$T/p2.folded" ] || fail "closed stderr: no profile"
echo ok
