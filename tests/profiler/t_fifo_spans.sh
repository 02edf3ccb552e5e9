#!/usr/bin/env bash
# A libignis service that bind-mounts a FIFO over its own libignis.so, in
# a mount namespace of its own (unshare -Urm: no privilege needed), must
# not hang the recorder's span finder: it reads the modules a target maps
# through /proc/PID/root/<path> to find the TLS offset of
# otel_thread_ctx_v1, and a plain open() of the FIFO waited for a writer
# forever (regression: `record -p` never ended, its finder thread stuck in
# module_tls).  The recording must end on its own after -d 1 and write its
# profile; the service's spans cannot be labelled then, and the recorder
# says why.  `timeout -s KILL 30` is only a safety net so a hang fails.
. "$(dirname "$0")/lib.sh"
W=$B/samples/spans/spanstart
[ -x "$W" ] || fail "$W not built"
lib=$(readlink -f "$B/libignis.so.0")
[ -f "$lib" ] || fail "$lib not built"
fifo_over_mapped "$lib" "$W" -l "$T/log" -r 3000 -t 2
pid=$FIFO_PID

timeout -s KILL 30 "$IGNIS" record -p "$pid" -d 1 --no-cache -o "$T/out.pb.gz" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 137 ] && fail "record -p hung (killed by the safety net)"
[ "$rc" -eq 0 ] || fail "record -p exited $rc"
[ -s "$T/out.pb.gz" ] || fail "record -p wrote no profile"
"$IGNIS" report "$T/out.pb.gz" >"$T/report" || fail "report"
grep -q work_in "$T/report" || fail "the service's work_in is not in the profile"
echo ok
