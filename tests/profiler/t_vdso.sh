#!/usr/bin/env bash
# vDSO frames are named (samples/cpu/cpu_vdso.c spins in clock_gettime):
# the [vdso] mapping has no file, so the symbolizer reads the image the
# target maps (perf names these frames __vdso_clock_gettime; they were
# [vdso]+0x... before).  The time is in the vDSO whatever the clocksource
# (with one the vDSO cannot read, it makes the system call from there), so
# nearly every sample has a named __vdso_ frame.
. "$(dirname "$0")/lib.sh"
[ -x "$S/cpu_vdso" ] || fail "$S/cpu_vdso not built"
"$IGNIS" record -F 999 -o "$T/out.pb.gz" -- "$S/cpu_vdso" 1.5 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
"$IGNIS" convert "$T/out.pb.gz" -o "$T/out.folded" || fail "convert failed"
total=$(folded_sum "$T/out.folded" '.')
vdso=$(folded_sum "$T/out.folded" ';spin_clock;([^;]*;)*__vdso_(clock_gettime|gettimeofday|time)(;|$)')
echo "samples under a named __vdso_ frame: $vdso of $total"
grep ';spin_clock;' "$T/out.folded" | sed 's/ [0-9]*$//' | sort | uniq -c | sort -rn | head -5
[ "$total" -gt 100 ] || fail "only $total samples"
in_range "$(pct "$vdso" "$total")" 80 100 "samples with a named vDSO frame (%)"
echo ok
