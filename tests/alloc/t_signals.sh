#!/usr/bin/env bash
# A stop signal (INT, TERM, HUP, QUIT) to `ignis record --alloc` never
# costs the profile.  Preload route (-- CMD): the signal is passed on to
# the command, which dies of it without dumping anything, and the profile
# still holds every allocation allocsites made (exact counts at
# --sample-bytes 1); ignis exits 128+signal, as the command did.  The same
# when the whole process group gets SIGTERM (a terminal, systemd).  Attach
# route (-p): ignis stops and writes the exact profile; the target lives
# on.  Then exit statuses: the command's own, 128+N when signal N killed
# it, 125 when the profile cannot be written, 127 for a missing command.
# A stderr whose reader went away does not kill ignis (SIGPIPE) either.
# Synchronisation: allocsites prints "done" once it made every allocation
# and then holds (waits on a fifo), so the signal comes at a known point.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
ulimit -c 0 # SIGQUIT would dump cores
ran=0

signum() { kill -l "$1"; }

# wait_for FILE PATTERN PID: until PATTERN is in FILE (bounded; PID alive)
wait_for() {
  for _ in $(seq 3000); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.01
  done
  cat "$TMP/err" >&2
  fail "never saw '$2' in $1"
}

# preload_stop SIG TARGET: record allocsites, signal TARGET ("recorder" or
# "group") once it is done, and check the profile and the exit status.
preload_stop() {
  local sig=$1 who=$2 rp rc
  rm -f "$TMP/in" "$TMP/out" "$TMP/p.pb.gz"
  mkfifo "$TMP/in"
  exec 3<>"$TMP/in"
  set -m # own process group; SIGINT and SIGQUIT not ignored as in a background job
  "${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/p.pb.gz" -- "$SITES" -r 100 --hold < "$TMP/in" \
    > "$TMP/out" 2> "$TMP/err" &
  rp=$!
  set +m
  wait_for "$TMP/out" done $rp
  if [ "$who" = group ]; then kill -"$sig" -- -$rp; else kill -"$sig" $rp; fi
  wait $rp
  rc=$?
  exec 3>&-
  cat "$TMP/err"
  local w="preload, SIG$sig to the $who"
  [ -f "$TMP/p.pb.gz" ] || fail "$w: no profile written"
  [ $rc -eq $((128 + $(signum "$sig"))) ] || fail "$w: exit status $rc, expected $((128 + $(signum "$sig")))"
  "$CHECK" "$TMP/p.pb.gz" > "$TMP/p.txt" || fail "$w: heapcheck"
  exact_sites "$TMP/p.txt" 100 "$w"
}

# (no preload library in sanitizer builds: the attach route still runs)
if [ -f "$SHIM" ]; then
  for sig in INT TERM HUP QUIT; do
    preload_stop $sig recorder
  done
  preload_stop TERM group
  preload_stop INT group
  # started in the background without job control, as scripts do: SIGINT
  # is ignored by ignis and the command from the start; ignis still stops
  # on it, the command keeps ignoring it (ignis leaves it its dispositions)
  # and is ended with SIGTERM once the grace period is over
  rm -f "$TMP/in" "$TMP/out" "$TMP/p.pb.gz"
  mkfifo "$TMP/in"
  exec 3<>"$TMP/in"
  "${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/p.pb.gz" -- "$SITES" -r 100 --hold < "$TMP/in" \
    > "$TMP/out" 2> "$TMP/err" &
  rp=$!
  wait_for "$TMP/out" done $rp
  kill -INT $rp
  wait $rp
  rc=$?
  exec 3>&-
  cat "$TMP/err"
  [ $rc -eq 143 ] || fail "SIGINT ignored at start: exit status $rc, expected 143 (ended by SIGTERM)"
  "$CHECK" "$TMP/p.pb.gz" > "$TMP/p.txt" || fail "SIGINT ignored at start: heapcheck"
  exact_sites "$TMP/p.txt" 100 "SIGINT ignored at start"
  # stderr's reader went away: the notice must not kill ignis (SIGPIPE)
  rm -f "$TMP/in" "$TMP/out" "$TMP/p.pb.gz" "$TMP/err.fifo"
  mkfifo "$TMP/in" "$TMP/err.fifo"
  exec 3<>"$TMP/in"
  set -m
  "${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/p.pb.gz" -- "$SITES" -r 100 --hold < "$TMP/in" \
    > "$TMP/out" 2> "$TMP/err.fifo" &
  rp=$!
  set +m
  exec 4< "$TMP/err.fifo"
  exec 4<&-
  wait_for "$TMP/out" done $rp
  kill -TERM $rp
  wait $rp
  rc=$?
  exec 3>&-
  [ $rc -eq 143 ] || fail "preload, closed stderr: exit status $rc, expected 143 (141: killed by SIGPIPE)"
  "$CHECK" "$TMP/p.pb.gz" > "$TMP/p.txt" || fail "preload, closed stderr: heapcheck"
  exact_sites "$TMP/p.txt" 100 "preload, closed stderr"
  ran=1
fi

# attach route: the recorder is stopped, the target holds its leak
if [ -r /sys/bus/event_source/devices/uprobe/type ]; then
  for sig in INT TERM HUP QUIT; do
    rm -f "$TMP/in" "$TMP/out" "$TMP/a.pb.gz"
    mkfifo "$TMP/in"
    "$SITES" -r 100 --wait --hold < "$TMP/in" > "$TMP/out" &
    sp=$!
    exec 3>"$TMP/in"
    wait_for "$TMP/out" ready $sp
    set -m
    "${RECORD[@]}" --alloc -p $sp --stack-size 2048 -o "$TMP/a.pb.gz" 2> "$TMP/err" &
    rp=$!
    set +m
    wait_for "$TMP/err" attached $rp
    echo go >&3
    wait_for "$TMP/out" done $sp
    kill -$sig $rp
    wait $rp
    rc=$?
    echo end >&3; exec 3>&-
    wait $sp
    cat "$TMP/err"
    [ $rc -eq 0 ] || fail "attach, SIG$sig: exit status $rc"
    [ -f "$TMP/a.pb.gz" ] || fail "attach, SIG$sig: no profile written"
    grep -q " 0 records lost" "$TMP/err" || skip "records were lost (machine too loaded for an exact count)"
    "$CHECK" "$TMP/a.pb.gz" > "$TMP/a.txt" || fail heapcheck
    exact_sites "$TMP/a.txt" 100 "attach, SIG$sig"
  done
  ran=1
fi
[ $ran -eq 1 ] || skip "no preload library (sanitizer build?) and no uprobe PMU"
[ -f "$SHIM" ] || { echo "signals ok (attach route; no preload library here)"; exit 0; }

# exit statuses of record --alloc -- CMD
"${RECORD[@]}" --alloc -q -o "$TMP/x.pb.gz" -- sh -c 'exit 3'
rc=$?; [ $rc -eq 3 ] || fail "exit 3: record exited $rc"
[ -f "$TMP/x.pb.gz" ] || fail "exit 3: no profile"
rm -f "$TMP/x.pb.gz"
"${RECORD[@]}" --alloc -q -o "$TMP/x.pb.gz" -- sh -c 'kill -SEGV $$'
rc=$?; [ $rc -eq 139 ] || fail "SIGSEGV: record exited $rc, expected 139"
[ -f "$TMP/x.pb.gz" ] || fail "SIGSEGV: no profile"
out=$("${RECORD[@]}" --alloc -q -o "$TMP/no/such/dir/x.pb.gz" -- sh -c 'exit 3' 2>&1)
rc=$?; echo "$out"
[ $rc -eq 125 ] || fail "unwritable -o: record exited $rc, expected 125"
echo "$out" | grep -q "no/such/dir" || fail "unwritable -o: the message does not name the file"
"${RECORD[@]}" --alloc -q -o "$TMP/x.pb.gz" -- /nonexistent/prog 2> /dev/null
rc=$?; [ $rc -eq 127 ] || fail "missing command: record exited $rc, expected 127"
echo "signals ok"
