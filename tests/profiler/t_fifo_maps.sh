#!/usr/bin/env bash
# A target that bind-mounts a FIFO over its own mapped executable, in a
# mount namespace of its own (unshare -Urm: no privilege needed), must not
# hang the recorder.  The recorder reopens each mapped file through
# /proc/PID/root/<path>, which now leads to the FIFO: a plain open() waits
# for a writer forever, -d and signals notwithstanding (regression: both
# `record -p` and `record -a` hung in open_mapped_file).  Each recording
# must end on its own after -d 1 and write its profile, with the program's
# hot function named (the file is found through /proc/PID/map_files).
# `timeout -s KILL 30` is only a safety net so a hang fails, not waits.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root for record -a"
[ -x "$S/cpu_blip" ] || fail "$S/cpu_blip not built"
cp "$S/cpu_blip" "$T/spin_u"
fifo_over_mapped "$T/spin_u" "$T/spin_u" 60
pid=$FIFO_PID

# record MODE... : runs ignis record -d 1 with the safety net; checks it
# ended by itself with status 0 and that the target's hot function is named.
record() {
  local out=$T/$1.folded; shift
  timeout -s KILL 30 "$IGNIS" record "$@" -d 1 --no-cache -o "$out" 2>"$T/rec.err"
  local rc=$?
  cat "$T/rec.err"
  [ "$rc" -eq 137 ] && fail "record $* hung (killed by the safety net)"
  [ "$rc" -eq 0 ] || fail "record $* exited $rc"
  [ -s "$out" ] || fail "record $* wrote no profile"
  local named
  named=$(folded_sum "$out" 'blip_run;blip_hot')
  echo "record $*: blip_hot $named"
  [ "$named" -gt 0 ] || fail "record $*: blip_hot not named"
}
record p -p "$pid"
record all -a
echo ok
