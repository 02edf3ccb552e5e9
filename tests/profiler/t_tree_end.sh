#!/usr/bin/env bash
# Ending a launched command ends every process it started, as `timeout`
# does: `record -d`, a stop signal to ignis (its grace period over, or a
# second signal), `record --alloc -d` and `top -- CMD` then `q` leave no
# process of the command's tree running, also one that called setsid() or
# that the command left behind when it exited.  The workload writes its
# pid to a file and must be gone (or a zombie) soon after ignis exits.
# Also: the summary's "target cpu" counts the CPU of processes the command
# never waited for, so it never says more than 100% of it was sampled.
# Synchronisation: the workload's pid file and its /proc stat ticks.
. "$(dirname "$0")/lib.sh"
ulimit -c 0

ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat 2>/dev/null || echo 0; }
# alive PID: it exists and is not a zombie
alive() { local s; s=$(awk '{ print $3 }' /proc/"$1"/stat 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }
# workload_pid FILE: waits (bounded) until FILE holds a pid that used CPU
workload_pid() {
  local p=
  for _ in $(seq 400); do
    p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && [ "$(ticks "$p")" -gt 0 ] && break
    p=; sleep 0.05
  done
  [ -n "$p" ] || { cat "$T/rec.err" >&2; fail "$2: the workload never started"; }
  PIDS+=("$p")
  echo "$p"
}
# gone PID WHAT: the workload must end (bounded wait: 10 s)
gone() {
  for _ in $(seq 200); do alive "$1" || return 0; sleep 0.05; done
  ps -o pid,ppid,pgid,sid,stat,cmd -p "$1" >&2
  fail "$2: pid $1 still runs after ignis exited"
}
W="$S/cpu_shares 100"

# -d 1: a command waiting for its child; one that leaves it behind
# (exits at once); one whose child left the process group (setsid)
n=0
for shape in "$W & echo \$! >PIDF; wait" "$W & echo \$! >PIDF" "setsid $W & echo \$! >PIDF; wait"; do
  n=$((n + 1)); pf=$T/w$n.pid
  cmd=${shape//PIDF/$pf}
  "$IGNIS" record -q -d 1 -o "$T/d$n.pb.gz" -- sh -c "$cmd" 2>"$T/rec.err"
  rc=$?
  cat "$T/rec.err"
  [ $rc -eq 0 ] || fail "-d 1, '$shape': exit status $rc"
  gone "$(workload_pid "$pf" "-d 1, '$shape'")" "-d 1, '$shape'"
done

# a stop signal to ignis alone (kill, timeout, a service manager): the
# command traps it, so the grace period ends it, tree included
pf=$T/s.pid
start_record -F 99 -o "$T/s.pb.gz" -- sh -c "trap '' INT TERM; $W & echo \$! >$pf; wait"
wait_recording
wp=$(workload_pid "$pf" "SIGTERM")
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
gone "$wp" "SIGTERM to ignis"

# and two stop signals: SIGKILL at once, to all of it
pf=$T/s2.pid
start_record -F 99 -o "$T/s2.pb.gz" -- sh -c "trap '' INT TERM; setsid $W & echo \$! >$pf; wait"
wait_recording
wp=$(workload_pid "$pf" "two SIGTERMs")
kill -TERM "$REC_PID"
for _ in $(seq 100); do grep -q 'waiting up to' "$T/rec.err" && break; sleep 0.05; done
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
gone "$wp" "two SIGTERMs to ignis"

# --alloc -d 1 (it needs its preload library, which sanitizer builds do not make)
if [ -e "$B/libignis-alloc.so" ]; then
  pf=$T/a.pid
  "$IGNIS" record --alloc -q -d 1 -o "$T/a.pb.gz" -- sh -c "$W & echo \$! >$pf; wait" 2>"$T/rec.err"
  cat "$T/rec.err"
  gone "$(workload_pid "$pf" "--alloc -d 1")" "--alloc -d 1"
else
  echo "skipped: --alloc (no $B/libignis-alloc.so in this build)"
fi

# target cpu: the command leaves its child running and exits; ignis
# records until the child ends (2 s of CPU), so all of it is in the figure
pf=$T/c.pid
"$IGNIS" record -F 199 -o "$T/c.pb.gz" -- sh -c "$S/cpu_shares 2 >/dev/null & echo \$! >$pf" 2>"$T/rec.err"
cat "$T/rec.err"
line=$(grep 'target cpu' "$T/rec.err")
[ -n "$line" ] || fail "target cpu: no summary line"
share=$(echo "$line" | sed -n 's/.* \([0-9]*\)% of it sampled.*/\1/p')
[ -n "$share" ] || fail "target cpu: no percentage in '$line'"
in_range "$share" 50 105 "target cpu, a child left behind: share sampled"
secs=$(echo "$line" | sed -n 's/.*target cpu *\([0-9.]*\) s.*/\1/p')
in_range "$secs" 1 100 "target cpu, a child left behind: seconds"

# top -- CMD, then q (it needs a terminal: tmux; skipped without it)
if command -v tmux >/dev/null 2>&1; then
  case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS ;; esac
  case $S in /*) ;; *) S=$PWD/$S ;; esac
  sock=$T/tmux.sock
  tm() { tmux -S "$sock" "$@"; }
  trap 'tm kill-server 2>/dev/null; cleanup' EXIT
  pf=$T/top.pid
  tm new-session -d -s top -x 120 -y 30 \
    "env LANG=C.UTF-8 TERM=xterm-256color $IGNIS top -- sh -c '$S/cpu_shares 100 & echo \$! >$pf; wait' 2>$T/top.err; echo \$? >$T/top.rc; sleep 100"
  wp=$(workload_pid "$pf" "top")
  shown=0
  for _ in $(seq 200); do
    tm capture-pane -t top -p 2>/dev/null | grep -q 'hot_a' && { shown=1; break; }
    sleep 0.1
  done
  [ $shown -eq 1 ] || { tm capture-pane -t top -p; cat "$T/top.err"; fail "top never showed hot_a"; }
  tm send-keys -t top q
  for _ in $(seq 200); do [ -s "$T/top.rc" ] && break; sleep 0.05; done
  [ -s "$T/top.rc" ] || fail "top did not quit on q"
  cat "$T/top.err"
  gone "$wp" "top, q"
  tm kill-server 2>/dev/null
fi
echo ok
