#!/usr/bin/env bash
# --off-cpu on the BPF engine opens perf events only per CPU (side-band:
# maps, names, forks; with --wall the CPU samples too), for a launched
# command as for -p: an event of the
# target's own would be inherited by all its threads and give each a perf
# context that the kernel switches out and in at every context switch,
# the very switches recorded (it cut offcpu_pingpong's round trips by
# 15-20% on a 2-CPU VM, where the BPF program alone costs a few %).  The
# summary's "perf events" line counts what was opened: one per online CPU.
# Also checks the profile has both threads' waits in read(), named.
. "$(dirname "$0")/lib.sh"
PINGPONG=$B/samples/offcpu/offcpu_pingpong
[ -x "$PINGPONG" ] || fail "$PINGPONG not built"
cpus=$(getconf _NPROCESSORS_ONLN)
check() { # WHAT PROFILE [KINDS]: the summary in $T/rec.err (KINDS events per CPU: 1, side-band)
  cat "$T/rec.err"
  grep -q '^ignis record: off-CPU engine: BPF' "$T/rec.err" || skip "not the BPF engine here"
  line=$(grep '^  perf events ' "$T/rec.err") || fail "$1: no perf events line in the summary"
  read -r n how <<<"$(sed -n 's/^  perf events *\([0-9]*\) opened, \(.*\)$/\1 \2/p' <<<"$line")"
  echo "$1: $n perf events, $how ($cpus CPUs)"
  [ "$how" = "per CPU (for every thread)" ] || fail "$1: events $how, not per CPU"
  [ "$n" -eq $((cpus * ${3:-1})) ] || fail "$1: $n perf events opened for $cpus CPUs (the target's own: per-thread contexts)"
  "$PROFDUMP" "$2" "${4:-off_cpu}" >"$T/dump" || fail "$1: profdump"
  for fn in peer ping; do # both threads' waits for their byte
    grep -qP "\tsleeping\tanon_pipe_read\t.*;$fn;.*read" "$T/dump" || fail "$1: no wait of $fn in read() in the profile"
  done
}
"$IGNIS" record --off-cpu -o "$T/launch.pb.gz" -- "$PINGPONG" 0.5 >/dev/null 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record -- CMD"; }
check "-- CMD" "$T/launch.pb.gz"

"$PINGPONG" 3 >/dev/null &
pid=$!
"$IGNIS" record --off-cpu -p "$pid" -d 0.5 -o "$T/pid.pb.gz" 2>"$T/rec.err" || { kill "$pid"; cat "$T/rec.err"; fail "record -p"; }
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "-p" "$T/pid.pb.gz"

# --wall: the CPU samples per CPU too (cpu-clock and side-band: 2 per CPU),
# with the span-label program and without it.  Two busy loops keep every
# CPU full of other processes' samples: a program on the sampling events
# drops them in the kernel, so none reaches the recorder (the summary's
# "other processes" line counts those that do), and the launched
# command's CPU time is still measured ("target cpu", from its rusage).
hogs=()
for _ in 1 2; do timeout 20 sh -c 'while :; do :; done' & hogs+=($!); done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
for labels in "" --no-span-labels; do
  "$IGNIS" record --wall -F 999 $labels -o "$T/wall.pb.gz" -- "$PINGPONG" 0.5 >/dev/null 2>"$T/rec.err" ||
    { cat "$T/rec.err"; fail "record --wall $labels"; }
  check "--wall $labels" "$T/wall.pb.gz" 2 wall
  ! grep '^  other processes ' "$T/rec.err" || fail "--wall $labels: other processes' samples reached the recorder"
  grep -q '^  target cpu .* s, [0-9]*% of it sampled$' "$T/rec.err" ||
    fail "--wall $labels: the command's CPU time is not measured (no target cpu line)"
  "$PROFDUMP" "$T/wall.pb.gz" wall state >"$T/dump" || fail "profdump"
  grep -qP '\trunning\t.*;(ping|peer);' "$T/dump" || fail "--wall $labels: no running samples of ping or peer"
done
kill "${hogs[@]}" 2>/dev/null

# A process whose main thread exits first (pthread_exit) runs on: it stays
# followed, so its CPU samples pass the filter (regression: the leader's
# EXIT unfollowed it, and 7% of its CPU time was sampled).
"$IGNIS" record --wall -F 999 -o "$T/leader.pb.gz" -- "$S/cpu_leader_exit" 1 >/dev/null 2>"$T/rec.err" ||
  { cat "$T/rec.err"; fail "record --wall cpu_leader_exit"; }
cat "$T/rec.err"
share=$(sed -n 's/^  target cpu .* s, \([0-9]*\)% of it sampled$/\1/p' "$T/rec.err")
[ -n "$share" ] || fail "leader exit: no target cpu line"
[ "$share" -ge 50 ] || fail "leader exit: $share% of the process's CPU time sampled"

# A child the command never waits for counts in its CPU time too
# (regression: only the command and the children it reaped were counted,
# and the summary said 300% of it sampled).
"$IGNIS" record --wall -F 999 -o "$T/tree.pb.gz" -- sh -c "\"$S/cpu_leader_exit\" 1 & \"$S/cpu_leader_exit\" 1" \
  >/dev/null 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record --wall sh -c 'A & B'"; }
cat "$T/rec.err"
share=$(sed -n 's/^  target cpu .* s, \([0-9]*\)% of it sampled$/\1/p' "$T/rec.err")
[ -n "$share" ] || fail "tree: no target cpu line"
[ "$share" -ge 50 ] && [ "$share" -le 150 ] || fail "tree: $share% of the tree's CPU time sampled"
echo ok
