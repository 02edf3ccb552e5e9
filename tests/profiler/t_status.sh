#!/usr/bin/env bash
# `ignis record -- CMD` exits with the command's status, as `time` and
# `perf record` do: its exit code, 128+N when signal N killed it, 0 when
# -d ended the recording (and ignis ended the command), 127 when the
# command does not exist; 125 when the profile could not be written.
# -p exits 0.  The profile is written in every case but the last.
. "$(dirname "$0")/lib.sh"
ulimit -c 0

"$IGNIS" record -q -o "$T/a.folded" -- sh -c 'exit 3'
rc=$?; [ $rc -eq 3 ] || fail "exit 3: record exited $rc"
[ -f "$T/a.folded" ] || fail "exit 3: no profile written"

"$IGNIS" record -q -o "$T/b.pb.gz" -- sh -c 'kill -SEGV $$'
rc=$?; [ $rc -eq 139 ] || fail "SIGSEGV: record exited $rc, expected 139"
[ -f "$T/b.pb.gz" ] || fail "SIGSEGV: no profile written"

"$IGNIS" record -q -o "$T/c.folded" -- true
rc=$?; [ $rc -eq 0 ] || fail "true: record exited $rc"

"$IGNIS" record -q -d 0.3 -o "$T/d.folded" -- sh -c 'while :; do :; done'
rc=$?; [ $rc -eq 0 ] || fail "-d ended the command: record exited $rc, expected 0"
[ -s "$T/d.folded" ] || fail "-d: empty profile"

out=$("$IGNIS" record -q -o "$T/no/such/dir/e.pb.gz" -- sh -c 'exit 3' 2>&1)
rc=$?; echo "$out"
[ $rc -eq 125 ] || fail "unwritable -o: record exited $rc, expected 125"
echo "$out" | grep -q "no/such/dir/e.pb.gz" || fail "unwritable -o: the message does not name the file"

"$IGNIS" record -q -o "$T/f.folded" -- /nonexistent/prog 2> "$T/err"
rc=$?; cat "$T/err"
[ $rc -eq 127 ] || fail "missing command: record exited $rc, expected 127"
grep -q "/nonexistent/prog" "$T/err" || fail "missing command: unclear message"

"$IGNIS" record --help | grep -qi "exit status" || fail "--help does not document the exit status"
echo ok
