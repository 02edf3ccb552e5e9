# tests/cli/lib.sh — shared helpers of the command-line tests (sourced).
# Expects $IGNIS (tests/run.sh exports it); makes a private directory $T
# and profiles whose every number is known: new.folded and base.folded
# (a diff), and threads.perf (perf script text with three threads).
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "$IGNIS not built"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)
# fail MSG: the test fails (IGNIS_KEEP_GOING=1: goes on, to list every
# failure; `finish` then exits 1).
FAILS=0
fail() {
  echo "FAIL: $*"
  [ "${IGNIS_KEEP_GOING:-0}" = 1 ] || exit 1
  FAILS=$((FAILS + 1))
}
finish() {
  [ "$FAILS" -eq 0 ] || exit 1
  echo ok
}

# run NAME ARGS...: runs ignis with ARGS, stdout in $T/NAME.out, stderr in
# $T/NAME.err, the exit status in $RC.
run() {
  local name=$1; shift
  "$IGNIS" "$@" >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
}

# has NAME TEXT: the output of run NAME holds the line TEXT (exactly,
# after squeezing runs of blanks).
has() {
  tr -s ' ' <"$T/$1.out" | sed 's/^ //' | grep -Fxq -- "$2" ||
    fail "$1: no line '$2' in:
$(head -20 "$T/$1.out")"
}

# one_line_error NAME STATUS TEXT: run NAME failed with STATUS and printed
# exactly one stderr line, which contains TEXT.
one_line_error() {
  [ "$RC" -eq "$2" ] || fail "$1: exit $RC, want $2 (stderr: $(cat "$T/$1.err"))"
  [ "$(wc -l <"$T/$1.err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$T/$1.err")"
  grep -Fq -- "$3" "$T/$1.err" || fail "$1: stderr '$(cat "$T/$1.err")' lacks '$3'"
}

# new: main;a 50, main;b 48, main;c 2 (100 samples)
# base: main;a 52, main;b 28, main;gone 20, main;c 100 (200 samples)
printf 'main;a 50\nmain;b 48\nmain;c 2\n' >"$T/new.folded"
printf 'main;a 52\nmain;b 28\nmain;gone 20\nmain;c 100\n' >"$T/base.folded"

# perf script text: worker-a (tid 101) 6 samples of hot_a, worker-b (tid
# 102) 3 of hot_b, main (tid 100) 1 of idle; each sample 1 ms of cpu-clock.
perf_sample() { # COMM TID LEAF
  printf '%s  100/%s  [000]   1.000000:    1000000 cpu-clock: \n' "$1" "$2"
  printf '\t            1234 %s (/bin/svc)\n\t            1000 run (/bin/svc)\n\t             900 main (/bin/svc)\n\n' "$3"
}
{
  for i in 1 2 3 4 5 6; do perf_sample worker-a 101 hot_a; done
  for i in 1 2 3; do perf_sample worker-b 102 hot_b; done
  perf_sample main 100 idle
} >"$T/threads.perf"
