#!/usr/bin/env bash
# record --alloc -p on a target that bind-mounts a FIFO over its own libc in
# a mount namespace of its own (unshare -Urm, no privilege needed): the
# allocator's symbols are read through /proc/PID/root/<libc>, which now
# leads to the FIFO, and a plain open() waited for a writer forever
# (regression: ig_alloc_find_offsets hung, -d ignored).  The recorder must
# end by itself with a one-line error naming the library.
# `timeout -s KILL 30` is only a safety net so a hang fails, not waits.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root for uprobes"
[ -r /sys/bus/event_source/devices/uprobe/type ] || skip "no uprobe PMU"
command -v unshare >/dev/null || skip "no unshare"
[ -x "$S/cpu_blip" ] || fail "$S/cpu_blip not built"
mkfifo "$T/uff"
# after the bind mount no program can start in the namespace: builtins only
unshare -Urm --propagation private bash -c '
  "$1" 60 & p=$!
  for _ in $(seq 400); do [ "$(cat /proc/$p/comm 2>/dev/null)" = cpu_blip ] && break; sleep 0.05; done
  lib=$(grep -m1 -o "/[^ ]*/libc\.so[.0-9]*" /proc/$p/maps) || exit 3
  mount --bind "$2" "$lib" || exit 3
  echo "$p $lib" >"$3"
  wait "$p"' sh "$S/cpu_blip" "$T/uff" "$T/ready" >"$T/ns.out" 2>&1 &
PIDS+=("$!")
ns=$!
for _ in $(seq 400); do
  [ -s "$T/ready" ] && break
  kill -0 "$ns" 2>/dev/null || { cat "$T/ns.out"; skip "unshare -Urm + mount --bind not permitted here"; }
  sleep 0.05
done
[ -s "$T/ready" ] || fail "the namespaced target did not start"
read -r pid lib <"$T/ready"
PIDS+=("$pid")
[ -p "/proc/$pid/root$lib" ] || fail "the target's $lib is not a FIFO in its namespace"
timeout -s KILL 30 "$IGNIS" record --alloc -p "$pid" -d 1 -o "$T/a.pb.gz" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 137 ] && fail "record --alloc -p hung (killed by the safety net)"
[ "$rc" -ne 0 ] || fail "record --alloc -p took a FIFO for the allocator"
[ "$(wc -l <"$T/rec.err")" -eq 1 ] && grep -q "libc" "$T/rec.err" || fail "no one-line error naming the library"
echo ok
