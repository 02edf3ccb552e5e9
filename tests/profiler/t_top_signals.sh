#!/usr/bin/env bash
# A stop signal (TERM, HUP, INT) to `ignis top -p PID -o FILE` quits as
# `q` does: the terminal is restored and FILE is written with what was
# sampled.  ignis top runs in tmux (it needs a terminal); the signal comes
# once its table shows the target's hot functions.  Skips (77) without
# tmux.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS ;; esac
sock=$T/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT

start_sample cpu_shares 100
for sig in TERM HUP INT; do
  out=$T/top.$sig.folded
  tm new-session -d -s top -x 120 -y 30 \
    "exec env LANG=C.UTF-8 TERM=xterm-256color $IGNIS top -p $SAMPLE_PID -o $out 2>$T/top.err"
  pid=$(tm display-message -p -t top '#{pane_pid}')
  shown=0
  for _ in $(seq 200); do
    tm capture-pane -t top -p 2>/dev/null | grep -q 'hot_a' && { shown=1; break; }
    grep -qi "perf_event\|permission" "$T/top.err" 2>/dev/null && skip "perf events not permitted: $(cat "$T/top.err")"
    sleep 0.1
  done
  [ $shown -eq 1 ] || { tm capture-pane -t top -p; cat "$T/top.err"; fail "SIG$sig: top never showed hot_a"; }
  kill -$sig "$pid"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && fail "SIG$sig: ignis top did not quit"
  cat "$T/top.err"
  grep -q "ignis top: wrote $out" "$T/top.err" || fail "SIG$sig: no 'wrote' line"
  [ "$(folded_sum "$out" ';hot_[abcd]$')" -gt 0 ] || fail "SIG$sig: $out has no hot_* samples"
  tm kill-server 2>/dev/null
done
echo ok
