#!/usr/bin/env bash
# A hot loop in assembly without CFI whose rbp holds -8
# (samples/cpu/cpu_nocfi.c): the unwinder's frame-pointer guess asks for
# the words at 2^64 - 8 and 0, which must be rejected, not read (the
# bounds check once wrapped and `ignis record` died with SIGSEGV, losing
# the whole profile).  The profile is written, the loop is named from its
# ELF symbol, and its stacks, which cannot reach _start, are rooted at
# [truncated] and counted as not fully unwound.
. "$(dirname "$0")/lib.sh"
[ -x "$S/cpu_nocfi" ] || fail "$S/cpu_nocfi not built"
"$IGNIS" record -F 999 -o "$T/out.folded" -- "$S/cpu_nocfi" 1.5 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 0 ] || fail "record exited $rc"
[ -s "$T/out.folded" ] || fail "no profile written"
total=$(awk '{ s += $NF } END { printf "%.0f\n", s }' "$T/out.folded")
spin=$(folded_sum "$T/out.folded" '(^|;)spin_nocfi(;|$)')  # kernel frames (interrupts) may sit above it
cut=$(folded_sum "$T/out.folded" '^\[truncated\];spin_nocfi(;|$)')
echo "spin_nocfi: $spin of $total, $cut of them rooted at [truncated]"
[ "$total" -gt 100 ] || fail "only $total samples"
in_range "$(pct "$spin" "$total")" 90 100 "spin_nocfi share (%)"
in_range "$(pct "$cut" "$spin")" 99 100 "spin_nocfi stacks rooted at [truncated] (%)"
in_range "$(partial_pct)" 90 100 "not fully unwound (%)"
echo ok
