#!/usr/bin/env bash
# record -a / --cgroup / --every / agent: bad input gets one line naming
# the flag and a non-zero status, and leaves no output behind.
. "$(dirname "$0")/lib.sh"

# expect STATUS REGEX ARGS...: ignis record ARGS exits STATUS, stderr one line matching REGEX
expect() {
  local want=$1 re=$2
  shift 2
  "$IGNIS" record "$@" >"$T/out" 2>"$T/err"
  local st=$?
  [ "$st" = "$want" ] || { cat "$T/err"; fail "record $*: exit $st, wanted $want"; }
  [ "$(wc -l <"$T/err")" = 1 ] || { cat "$T/err"; fail "record $*: not one line"; }
  grep -Eq "$re" "$T/err" || { cat "$T/err"; fail "record $*: no '$re'"; }
}
expect 2 '^ignis record: true: -a takes -p or --cgroup, not a command' -a -- true
expect 2 '^ignis record: --tid: -a takes -p or --cgroup, not --tid' -a --tid 1
expect 2 '^ignis record: --every 5x: expected an interval' -a --every 5x -o "$T/d/"
expect 2 '^ignis record: --every 0: expected an interval' -a --every 0 -o "$T/d/"
expect 2 '^ignis record: --every: give the folder' -a --every 1s
expect 2 '^ignis record: --every: give the folder' -a --every 1s -o -
: >"$T/file"
expect 1 "^ignis record: -o $T/file: not a directory" -a --every 1s -o "$T/file"
expect 1 "^ignis record: -o $T/no/such/: No such file" -a --every 1s -o "$T/no/such/"
expect 1 '^ignis record: --cgroup /nonexistent-ignis: No such file or directory' --cgroup /nonexistent-ignis -d 1 -o "$T/x.pb.gz"
expect 1 "^ignis record: --cgroup $T: not a cgroup directory" --cgroup "$T" -d 1 -o "$T/x.pb.gz"
[ ! -e "$T/x.pb.gz" ] || fail "a failed record left $T/x.pb.gz"
expect 1 '^ignis record: --cgroup /nonexistent-ignis: No such file or directory' --cgroup /nonexistent-ignis --every 1s -o "$T/newdir/"
[ ! -e "$T/newdir" ] || fail "a failed record --every left the folder it made"
"$IGNIS" agent --help | grep -q 'record -a -F 19 --every 60s' || fail "agent --help"
"$IGNIS" help agent >/dev/null || fail "ignis help agent"

# Not permitted: an unprivileged user (setpriv) with perf_event_paranoid > 0.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
  chmod 711 "$T"
  mkdir "$T/nb" && chmod 777 "$T/nb"
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$IGNIS" record -a -d 1 -o "$T/nb/x.pb.gz" 2>"$T/err"
  st=$?
  cat "$T/err"
  [ "$st" = 1 ] || fail "unprivileged record -a: exit $st"
  grep -q '^ignis record: -a: perf_event_open: permission denied (kernel.perf_event_paranoid=[0-9-]*); sampling every process needs root, CAP_PERFMON' "$T/err" ||
    fail "unprivileged record -a: wrong message"
  [ ! -e "$T/nb/x.pb.gz" ] || fail "unprivileged record -a left its output"
else
  echo "(unprivileged case not run: needs root, setpriv and perf_event_paranoid > 0)"
fi
echo ok
