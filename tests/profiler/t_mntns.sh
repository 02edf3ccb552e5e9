#!/usr/bin/env bash
# -p on a short-lived process in another mount namespace (a container):
# its program lives on a tmpfs mounted only inside the namespace, and it
# exits before the recorder drains its samples (0.3 s of CPU from the
# moment the recorder is attached; at 99 Hz the first drain is 1.6 s on).  Its hot function must
# still be named: the symbolizer opens such files when the mapping is seen
# at attach, through /proc/PID/root while that still leads to them
# (regression: reopened by path after the process was gone, every frame of
# the program came out as [cpu_exec_child]).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root for unshare -m"
command -v unshare >/dev/null || skip "no unshare"
mkdir "$T/private"
unshare -m --propagation private sh -c \
  'mount -t tmpfs ignis-test "$1" && cp "$2" "$1/" && exec "$1/cpu_exec_child" 0.3 --after-usr1' \
  sh "$T/private" "$S/cpu_exec_child" >"$T/child.out" 2>&1 &
pid=$!
PIDS+=("$pid")
for _ in $(seq 400); do
  [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = cpu_exec_child ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$T/child.out"; skip "cannot make a mount namespace here"; }
  sleep 0.05
done
[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = cpu_exec_child ] || fail "the namespaced process did not start"
[ -e "$T/private/cpu_exec_child" ] && fail "the tmpfs is visible outside the namespace"
start_record -p "$pid" -o "$T/out.folded"
wait_recording
kill -USR1 "$pid"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS"
f=$T/out.folded
named=$(folded_sum "$f" ';main;child_hot(;|$)')
unnamed=$(folded_sum "$f" '\[cpu_exec_child\]')
echo "child_hot $named, unnamed frames of the program $unnamed"
[ "$(summary samples)" -gt 0 ] || fail "no samples"
[ "$named" -gt 0 ] || fail "child_hot not named"
[ "$unnamed" -eq 0 ] || fail "frames of the namespaced program left unnamed"
echo ok
