#!/usr/bin/env bash
# tests/viewer/e2e_top.sh — drives the real `ignis top -p PID` in tmux.
#
# A small C program spins in two functions (spin_hot about 3x spin_cold);
# `ignis top` must show both in its live table, switch to the live flame
# graph with `f`, reset with `r`, and on `q` write the profile given with
# -o, which must name the functions.  Screens are polled (bounded), never
# waited for by fixed sleeps.  Skips (77) without tmux, a C compiler or
# perf_event_open permission.
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
volatile unsigned long sink;
__attribute__((noinline)) void spin_hot(void) { for (unsigned long i = 0; i < 3000000; i++) sink += i; }
__attribute__((noinline)) void spin_cold(void) { for (unsigned long i = 0; i < 1000000; i++) sink ^= i; }
int main(void) { for (;;) { spin_hot(); spin_cold(); } }
EOF
"$CC" -O1 -g -fno-omit-frame-pointer -o $tmp/spin $tmp/spin.c || { echo "cannot compile the target"; exit 77; }
$tmp/spin & spin_pid=$!

# Permission check without a screen: a bad pid list is a usage error, a
# good one must be able to open perf events.
"$IGNIS" top -p notapid >/dev/null 2>$tmp/err; rc=$?
[ $rc -eq 2 ] && grep -q "not a list of process ids" $tmp/err || { echo "FAIL: bad -p: rc=$rc $(cat $tmp/err)"; fails=$((fails + 1)); }

T new-session -d -s top -x 120 -y 30 \
  "env LANG=C.UTF-8 TERM=xterm-256color $IGNIS top -p $spin_pid -o $tmp/top.pb.gz 2>$tmp/top.err; echo exited rc=\$?; read x"
screen() { T capture-pane -t top -p; }
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

expect "ignis top PID $spin_pid, last 10s"
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
T send-keys -t top f
expect " root | total"
expect "arrows move  Enter zoom"
T send-keys -t top r
expect "reset: the window and the session start again"
T send-keys -t top f
expect "sorted by flat"
expect "spin_hot"
# the target exits: the view stays, says so, and q still writes the profile
kill "$spin_pid"; wait "$spin_pid" 2>/dev/null; spin_pid=
expect "the target exited; q quits"
expect "| exited"
T send-keys -t top q
expect "exited rc=0"
grep -q "ignis top: wrote $tmp/top.pb.gz" $tmp/top.err || { echo "FAIL: no 'wrote' line: $(cat $tmp/top.err)"; fails=$((fails + 1)); }
if ! gzip -dc $tmp/top.pb.gz 2>/dev/null | grep -qa spin_hot; then
  echo "FAIL: $tmp/top.pb.gz does not name spin_hot"; fails=$((fails + 1))
fi
[ $fails -eq 0 ] && echo "ignis top: all checks passed"
[ $fails -eq 0 ]
