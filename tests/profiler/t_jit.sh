#!/usr/bin/env bash
# JIT code (samples/cpu/cpu_jit.c): a spin loop in an anonymous executable
# mapping named only in /tmp/perf-PID.map.  The profile names it from the
# map as a JIT frame (folded "_[j]") under its caller, not as an address.
# cpu_jit deletes its map when it exits, as many JIT runtimes do: a 0.3 s
# run ends before the recorder's first drain, so the map must have been
# opened (and held) while the process ran.
. "$(dirname "$0")/lib.sh"
CPU_SAMPLE_CLOCK=cpu "$IGNIS" record -F 499 -o "$T/short.folded" -- "$S/cpu_jit" 0.3 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
jit=$(folded_sum "$T/short.folded" ';main;call_jit;jit_spin_loop_\[j\](;|$)')
all=$(folded_sum "$T/short.folded" ';call_jit(;|$)')
echo "short run, map deleted at exit: jit_spin_loop under call_jit: $jit of $all"
[ "$all" -gt 0 ] || fail "no call_jit samples in a 0.3 s run"
in_range "$(pct "$jit" "$all")" 90 100 "short run: call_jit samples in the named JIT frame (%)"
"$IGNIS" record -F 499 -o "$T/out.folded" -- "$S/cpu_jit" 2 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
jit=$(folded_sum "$T/out.folded" ';main;call_jit;jit_spin_loop_\[j\](;|$)')
all=$(folded_sum "$T/out.folded" ';call_jit(;|$)')
echo "jit_spin_loop under call_jit: $jit of $all"
[ "$jit" -gt 0 ] || fail "JIT frame not named from the perf map"
in_range "$(pct "$jit" "$all")" 90 100 "call_jit samples in the named JIT frame (%)"
echo ok
