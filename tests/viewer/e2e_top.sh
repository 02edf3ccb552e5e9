#!/usr/bin/env bash
# tests/viewer/e2e_top.sh — drives the real `ignis top` in tmux.
#
# A small C program spins in two functions (spin_hot about 3x spin_cold),
# then, on SIGUSR1, in spin_after instead.  `ignis top -p PID` must show
# the functions in its live table with the keys of `ignis view` (t: flame
# graph / table, f: focus prompt, ? then q: only closes the help), reset
# the window with `r` while -o still gets everything sampled (spin_hot
# from before the reset), keep the last window on screen after the target
# exits, and on `q` write the profile.  `ignis top -- CMD` must keep the
# command's output off the screen: it goes to a file, named on screen and
# on exit, that O shows.  Screens are polled (bounded), never waited for by
# fixed sleeps.  Skips (77) without tmux, a C compiler or perf_event_open
# permission.
set -u
command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed"; exit 77; }
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || { echo "no C compiler"; exit 77; }
cd "$(dirname "$0")/../.."
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS;; esac

tmp=$(mktemp -d)
sock=$tmp/tmux.sock
spin_pid=
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null
  [ -n "$spin_pid" ] && kill "$spin_pid" 2>/dev/null && wait "$spin_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
T() { tmux -S "$sock" "$@"; }
fails=0

cat > $tmp/spin.c <<'EOF'
#include <signal.h>
#include <stdio.h>
#include <string.h>
volatile unsigned long sink;
static volatile sig_atomic_t after;
static void on_usr1(int sig) { (void)sig; after = 1; }
__attribute__((noinline)) void spin_hot(void) { for (unsigned long i = 0; i < 3000000; i++) sink += i; }
__attribute__((noinline)) void spin_cold(void) { for (unsigned long i = 0; i < 1000000; i++) sink ^= i; }
__attribute__((noinline)) void spin_after(void) { for (unsigned long i = 0; i < 1000000; i++) sink -= i; }
int main(int argc, char **argv)
{
    int noisy = argc > 1 && !strcmp(argv[1], "noisy");
    signal(SIGUSR1, on_usr1);
    for (unsigned long n = 0;; n++) {
        if (after) {
            spin_after();
        } else {
            spin_hot();
            spin_cold();
        }
        if (noisy && n % 8 == 0) {
            printf("NOISE-OUT %lu\n", n);
            fprintf(stderr, "NOISE-ERR \033[31m%lu\033[0m\n", n);
            fflush(stdout);
        }
    }
}
EOF
"$CC" -O1 -g -fno-omit-frame-pointer -o $tmp/spin $tmp/spin.c || { echo "cannot compile the target"; exit 77; }
$tmp/spin & spin_pid=$!

# Permission check without a screen: a bad pid list is a usage error, a
# good one must be able to open perf events.
"$IGNIS" top -p notapid >/dev/null 2>$tmp/err; rc=$?
[ $rc -eq 2 ] && grep -q "not a list of process ids" $tmp/err || { echo "FAIL: bad -p: rc=$rc $(cat $tmp/err)"; fails=$((fails + 1)); }

session=top
T new-session -d -s top -x 120 -y 30 \
  "env LANG=C.UTF-8 TERM=xterm-256color $IGNIS top -w 2 -p $spin_pid -o $tmp/top.pb.gz 2>$tmp/top.err; echo exited rc=\$?; read x"
screen() { T capture-pane -t $session -p; }
expect() {
  local i
  for i in $(seq 150); do
    screen | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  if grep -qi "perf_event\|permission" $tmp/top.err 2>/dev/null; then
    echo "perf events not permitted here: $(cat $tmp/top.err)"; exit 77
  fi
  echo "FAIL: expected on screen: $1"; screen | sed 's/^/    |/'; cat $tmp/top.err 2>/dev/null
  fails=$((fails + 1)); return 1
}
# expect_gone TEXT: polls (bounded) until TEXT is no longer on screen.
expect_gone() {
  local i
  for i in $(seq 150); do
    screen | grep -qF -- "$1" || return 0
    sleep 0.1
  done
  echo "FAIL: still on screen: $1"; screen | sed 's/^/    |/'; fails=$((fails + 1)); return 1
}
# stays TEXT: TEXT is on screen at every look for 3 s (a bounded watch).
stays() {
  local i
  for i in $(seq 30); do
    screen | grep -qF -- "$1" || { echo "FAIL: went away: $1"; screen | sed 's/^/    |/'; fails=$((fails + 1)); return 1; }
    sleep 0.1
  done
}

expect "ignis top PID $spin_pid, last 2s"
expect "      flat   flat%    sum%        cum    cum%  name"
expect "spin_hot"
expect "spin_cold"
# spin_hot (3x the work) is listed above spin_cold once enough samples are
# in the window; poll for it (bounded) rather than trust the first second.
order_ok=0
for i in $(seq 150); do
  hot=$(screen | grep -n 'spin_hot$' | head -1 | cut -d: -f1)
  cold=$(screen | grep -n 'spin_cold$' | head -1 | cut -d: -f1)
  if [ -n "$hot" ] && [ -n "$cold" ] && [ "$hot" -lt "$cold" ]; then order_ok=1; break; fi
  sleep 0.1
done
[ $order_ok -eq 1 ] || { echo "FAIL: spin_hot should be listed above spin_cold"; screen; fails=$((fails + 1)); }
# the keys of ignis view: t flips table / flame graph, f is the focus prompt
T send-keys -t top t
expect "| root"
expect "arrows move  Enter zoom"
T send-keys -t top f
expect "focus (regex, empty clears):"
T send-keys -t top Escape
T send-keys -t top t
expect "sorted by flat"
# q in the help closes the help, it does not quit
T send-keys -t top '?'
expect "ignis top: keys (the same as ignis view)"
expect "reset the sliding window"
T send-keys -t top q
expect "sorted by flat"
T send-keys -t top C-l
expect "spin_hot"
# the target moves on to spin_after; a reset empties the window (spin_hot
# leaves the table) but not what -o writes
kill -USR1 "$spin_pid"
expect "spin_after"
T send-keys -t top r
expect "reset: the window starts again"
expect_gone "spin_hot"
# the target exits: the view stays, says so, and keeps its last window
kill "$spin_pid"; wait "$spin_pid" 2>/dev/null; spin_pid=
expect "the target exited"
expect "| exited"
stays "spin_after"
T send-keys -t top q
expect "exited rc=0"
grep -q "ignis top: wrote $tmp/top.pb.gz" $tmp/top.err || { echo "FAIL: no 'wrote' line: $(cat $tmp/top.err)"; fails=$((fails + 1)); }
for fn in spin_hot spin_after; do
  if ! gzip -dc $tmp/top.pb.gz 2>/dev/null | grep -qa $fn; then
    echo "FAIL: $tmp/top.pb.gz does not name $fn"; fails=$((fails + 1))
  fi
done

# ---- ignis top -- CMD: the command's output stays off the screen --------------
session=cmd
T new-session -d -s cmd -x 120 -y 30 \
  "env LANG=C.UTF-8 TERM=xterm-256color TMPDIR=$tmp $IGNIS top -- $tmp/spin noisy 2>$tmp/cmd.err; echo exited rc=\$?; read x"
expect "the command's output goes to $tmp/ignis-top-"
expect "spin_hot"
for i in $(seq 20); do
  if screen | grep -q "NOISE"; then echo "FAIL: the command's output is on the screen"; screen; fails=$((fails + 1)); break; fi
  sleep 0.1
done
log=$(ls $tmp/ignis-top-*.log 2>/dev/null | head -1)
[ -n "$log" ] && grep -q "NOISE-OUT" "$log" && grep -q "NOISE-ERR" "$log" ||
  { echo "FAIL: no output file with the command's output ($log)"; fails=$((fails + 1)); }
# O shows it (escape sequences dropped), O again goes back
T send-keys -t cmd O
expect "output of the command (the end of $log)"
expect "NOISE-ERR"
T send-keys -t cmd O
expect "sorted by flat"
T send-keys -t cmd q
expect "exited rc=0"
grep -q "ignis top: the command's output is in $log" $tmp/cmd.err ||
  { echo "FAIL: the output file is not named on exit: $(cat $tmp/cmd.err)"; fails=$((fails + 1)); }

[ $fails -eq 0 ] && echo "ignis top: all checks passed"
[ $fails -eq 0 ]
