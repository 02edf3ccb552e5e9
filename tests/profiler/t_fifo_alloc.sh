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
[ -x "$S/cpu_blip" ] || fail "$S/cpu_blip not built"
fifo_over_mapped '/[^ ]*/libc\.so[.0-9]*' "$S/cpu_blip" 60
pid=$FIFO_PID lib=$FIFO_PATH
timeout -s KILL 30 "$IGNIS" record --alloc -p "$pid" -d 1 -o "$T/a.pb.gz" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 137 ] && fail "record --alloc -p hung (killed by the safety net)"
[ "$rc" -ne 0 ] || fail "record --alloc -p took a FIFO for the allocator"
[ "$(wc -l <"$T/rec.err")" -eq 1 ] && grep -q "libc" "$T/rec.err" || fail "no one-line error naming the library"
echo ok
