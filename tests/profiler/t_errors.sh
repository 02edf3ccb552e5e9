#!/usr/bin/env bash
# Bad input: every case ends with a one-line "ignis record: ..." message
# naming the flag or PID, exit status 1 (error), 2 (usage) or, for a
# command that does not exist, 127 (126: one that cannot be run, as a
# directory), as shells and `time` say it, never a
# crash, a hang or an output file.
. "$(dirname "$0")/lib.sh"

# expect STATUS REGEX ARGS... : runs ignis record ARGS, checks the status,
# that stderr is one line matching REGEX, and that no output was written.
expect() {
  local want=$1 re=$2; shift 2
  rm -f "$T/o.folded"
  timeout 20 "$IGNIS" record "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  [ "$rc" -eq "$want" ] || { cat "$T/err"; fail "ignis record $*: exit $rc, want $want"; }
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "ignis record $*: not one line"; }
  grep -Eq "^ignis record: .*$re" "$T/err" || { cat "$T/err"; fail "ignis record $*: message does not match '$re'"; }
  [ -e "$T/o.folded" ] && fail "ignis record $*: wrote an output file"
  echo "ok: $* -> $(cat "$T/err")"
}

# a PID that certainly does not exist: a reaped child's
true & gone=$!; wait $gone
expect 1 "-p $gone: no such process" -p "$gone" -o "$T/o.folded"
expect 2 "-p 12x: expected PID" -p 12x
expect 2 "-p: expected PID|-p ,: expected" -p ,
expect 2 "-F 0: frequency" -p 1 -F 0
expect 2 "-F abc: frequency" -p 1 -F abc
expect 2 "-F 200000: frequency" -p 1 -F 200000
expect 2 "-d -1: expected a positive" -p 1 -d -1
expect 2 "-d x: expected a positive" -p 1 -d x
expect 2 "--stack-size 100000: expected" -p 1 --stack-size 100000
expect 2 "--stack-size 12: expected" -p 1 --stack-size 12
expect 2 "--stack-size 16Q: expected" -p 1 --stack-size 16Q
expect 2 "nothing to record" -F 99
expect 2 "mutually exclusive" -p 1 -- true
expect 2 "-o x.weird: unknown extension" -p 1 -o x.weird
# a device has no extension: written in place as pprof (it was refused as one)
"$IGNIS" record -q -o /dev/null -d 1 -- true || fail "record -o /dev/null failed"
expect 2 "--bogus: unknown option" --bogus
expect 1 "--tid $gone: no such thread" --tid "$gone"
expect 127 "/nonexistent/cmd: No such file" -o "$T/o.folded" -- /nonexistent/cmd
# a directory cannot be run: 126, as a file without the x bit (access(X_OK)
# succeeds on a directory; it was 125, "ignis failed")
mkdir -p "$T/adir"
expect 126 "$T/adir: is a directory" -o "$T/o.folded" -- "$T/adir"
# (--alloc needs its preload library, which sanitizer builds do not make)
if [ -e "$B/libignis-alloc.so" ]; then
  expect 126 "$T/adir: is a directory" --alloc -o "$T/o.folded" -- "$T/adir"
fi

# a process that exits at once: either not found or exited before attach,
# or (if it lives long enough) an empty profile written; never a crash
"$S/cpu_shares" 0.001 >/dev/null & quick=$!
timeout 20 "$IGNIS" record -p "$quick" -o "$T/q.folded" 2>"$T/err"; rc=$?
wait $quick 2>/dev/null
[ "$rc" -le 1 ] || { cat "$T/err"; fail "short-lived pid: exit $rc"; }
echo "ok: short-lived pid -> exit $rc"

# missing permission: an unprivileged user attaching to root's process
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  start_sample cpu_shares 30
  chmod o+x "$IGNIS" 2>/dev/null
  timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups "$IGNIS" record -p "$SAMPLE_PID" -o /tmp/never.folded 2>"$T/err"
  rc=$?
  cat "$T/err"
  [ "$rc" -eq 1 ] || fail "permission: exit $rc"
  grep -q 'perf_event_paranoid' "$T/err" && grep -q 'CAP_PERFMON' "$T/err" || fail "permission: no explanation"
  echo "ok: permission"
  # ... while its own process is profiled with user frames only (the
  # kernel callchain is not permitted at perf_event_paranoid >= 2)
  if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
    mkdir -p "$T/nobody" && chmod 777 "$T" "$T/nobody"
    timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups "$IGNIS" record -F 499 \
      -o "$T/nobody/own.folded" -- "$S/cpu_recurse" 1 2>"$T/err"
    rc=$?
    cat "$T/err"
    [ "$rc" -eq 0 ] || fail "unprivileged own process: exit $rc"
    [ "$(folded_sum "$T/nobody/own.folded" ';recurse_leaf$')" -gt 0 ] || fail "unprivileged: no recurse_leaf"
    if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 2 ]; then
      grep -q 'user frames only' "$T/err" || fail "unprivileged: kernel frames not reported off"
      grep -q '_\[k\]' "$T/nobody/own.folded" && fail "unprivileged: kernel frames present"
    fi
    echo "ok: unprivileged own process"
  fi
fi
echo ok
