#!/usr/bin/env bash
# `ignis top -a`: the live view of every process (system-wide, as record
# -a), driven in tmux.  A sample started before top (cpu_shares, under a
# name made for this test) and one started after it (cpu_recurse, a new
# process the per-CPU events follow) must both show their hot functions
# in the table; the title says it is every process; -o on q writes a
# profile in which the sample's samples carry its process label (-a's).  `--cgroup` narrows
# it: a sample outside the cgroup stays out.  Screens are polled (bounded),
# never waited for by fixed sleeps.  Skips (77) without tmux or
# system-wide permission.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ] ||
  skip "system-wide sampling needs root or perf_event_paranoid <= 0"
case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS;; esac
case $S in /*) ;; *) S=$PWD/$S;; esac
sock=$T/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT
tag=$(basename "$T" | tr -dc 'A-Za-z0-9' | tail -c 6)
cp "$S/cpu_shares" "$T/busy$tag"
"$T/busy$tag" 600 >/dev/null 2>&1 & PIDS+=("$!"); busy=$!

session=all
screen() { tm capture-pane -t "$session" -p; }
# expect TEXT: polls (bounded, 30 s) until TEXT is on screen.
expect() {
  for _ in $(seq 300); do
    screen | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  screen | sed 's/^/    |/'
  cat "$T/top.err" 2>/dev/null
  fail "expected on screen: $1"
}
# absent TEXT: TEXT is not on screen.
absent() {
  ! screen | grep -qF -- "$1" || { screen | sed 's/^/    |/'; fail "on screen: $1"; }
}

tm new-session -d -s all -x 140 -y 40 \
  "env LANG=C.UTF-8 TERM=xterm-256color IGNIS_CACHE_DIR=$T/cache $IGNIS top -a -w 5 -o $T/all.pb.gz 2>$T/top.err; echo exited rc=\$?; read x"
expect "ignis top every process, last 5s"
expect "      flat   flat%    sum%        cum    cum%  name"
# cpu_shares' four hot functions (hot_a..hot_d), all of them busy
for fn in hot_a hot_b hot_c hot_d; do expect " $fn"; done
# a process that starts after top: its own hot function appears
"$S/cpu_recurse" 600 >/dev/null 2>&1 & PIDS+=("$!"); late=$!
expect " recurse_leaf"
tm send-keys -t all q
expect "exited rc=0"
grep -q "ignis top: wrote $T/all.pb.gz" "$T/top.err" || fail "no 'wrote' line: $(cat "$T/top.err")"
"$IGNIS" convert -q --value samples --tagfocus "process=^busy$tag\$" -o "$T/busy.folded" "$T/all.pb.gz" ||
  fail "convert --tagfocus process=busy$tag"
[ "$(folded_sum "$T/busy.folded" ';hot_[abcd]$')" -gt 0 ] || fail "-o: no hot_* samples under process busy$tag"
echo "ok: top -a"

# --cgroup: only the cgroup's tasks (a cgroup v2 directory made here)
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$CG" ] && cg=$(mktemp -d "$CG/ignis-top.XXXXXX" 2>/dev/null); then
  trap 'tm kill-server 2>/dev/null; cleanup; for _ in $(seq 100); do rmdir "$cg" 2>/dev/null && break; sleep 0.05; done' EXIT
  kill "$late"; wait "$late" 2>/dev/null
  "$S/cpu_recurse" 600 >/dev/null 2>&1 & PIDS+=("$!"); inside=$!
  echo "$inside" >"$cg/cgroup.procs" || fail "cannot move $inside into $cg"
  session=cg
  tm new-session -d -s cg -x 140 -y 40 \
    "env LANG=C.UTF-8 TERM=xterm-256color IGNIS_CACHE_DIR=$T/cache $IGNIS top --cgroup $cg -w 5 2>$T/top.err; echo exited rc=\$?; read x"
  expect "ignis top cgroup $cg, last 5s"
  expect " recurse_leaf"
  # busy$tag runs outside the cgroup: it stays out over three refreshes
  for _ in 1 2 3; do
    before=$(screen | grep -o '[0-9]* samples' | head -1)
    for _ in $(seq 100); do
      [ "$(screen | grep -o '[0-9]* samples' | head -1)" != "$before" ] && break
      sleep 0.1
    done
    absent " hot_a"
  done
  tm send-keys -t cg q
  expect "exited rc=0"
  echo "ok: top --cgroup"
else
  echo "no writable cgroup2: --cgroup not checked"
fi
echo ok
