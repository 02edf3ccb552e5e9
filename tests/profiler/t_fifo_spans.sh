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
command -v unshare >/dev/null || skip "no unshare"
W=$B/samples/spans/spanstart
[ -x "$W" ] || fail "$W not built"
lib=$(readlink -f "$B/libignis.so.0")
[ -f "$lib" ] || fail "$lib not built"
mkfifo "$T/fifo"
unshare -Urm --propagation private bash -c '
  "$1" -l "$4/log" -r 3000 -t 2 & p=$!
  for _ in $(seq 400); do grep -q "$3" /proc/$p/maps 2>/dev/null && break; sleep 0.05; done
  mount --bind "$2" "$3" || exit 3
  echo "$p" >"$4/ready.tmp" && mv "$4/ready.tmp" "$4/ready"
  wait "$p"' sh "$W" "$T/fifo" "$lib" "$T" >"$T/ns.out" 2>&1 &
ns=$!
PIDS+=("$ns")
for _ in $(seq 400); do
  [ -s "$T/ready" ] && break
  kill -0 "$ns" 2>/dev/null || { cat "$T/ns.out"; skip "unshare -Urm + mount --bind not permitted here"; }
  sleep 0.05
done
[ -s "$T/ready" ] || fail "the namespaced service did not start"
pid=$(cat "$T/ready")
PIDS+=("$pid")
[ -p "/proc/$pid/root$lib" ] || fail "the service's libignis.so is not a FIFO in its namespace"
grep -q libignis "/proc/$pid/maps" || fail "the service does not map libignis"

timeout -s KILL 30 "$IGNIS" record -p "$pid" -d 1 --no-cache -o "$T/out.pb.gz" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 137 ] && fail "record -p hung (killed by the safety net)"
[ "$rc" -eq 0 ] || fail "record -p exited $rc"
[ -s "$T/out.pb.gz" ] || fail "record -p wrote no profile"
"$IGNIS" report "$T/out.pb.gz" >"$T/report" || fail "report"
grep -q work_in "$T/report" || fail "the service's work_in is not in the profile"
echo ok
