#!/usr/bin/env bash
# Launch mode (-- CMD) on samples/cpu/cpu_recurse.c: the hot leaf sits
# under exactly 20 frames of recurse below _start..main;run, the always-
# inlined function shows as its own (inline) frame under its caller, and
# >= 99% of the samples are unwound to the thread root.
. "$(dirname "$0")/lib.sh"
"$IGNIS" record -F 999 -o "$T/out.folded" -- "$S/cpu_recurse" 3 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
f=$T/out.folded
r20="^_start;__libc_start_main[a-z_]*;__libc_start_call_main;main;run$(printf ';recurse%.0s' $(seq 20));recurse_leaf\$"
deep=$(folded_sum "$f" "$r20")
leaf=$(folded_sum "$f" ';recurse_leaf$')
echo "recurse_leaf: $leaf total, $deep under 20 recurse frames"
[ "$leaf" -gt 0 ] || fail "no samples in recurse_leaf"
in_range "$(pct "$deep" "$leaf")" 99 100 "recurse_leaf samples with the full 20-deep chain"
inl=$(folded_sum "$f" ';main;run;inline_caller;inlined_hot(_\[i\])?$')
echo "inlined_hot under inline_caller: $inl"
[ "$inl" -gt 0 ] || fail "no inline frame inlined_hot under inline_caller"
total=$(summary samples)
[ "$total" -gt 100 ] || fail "only $total samples"
in_range "$(partial_pct)" 0 1 "not fully unwound (%)"
echo ok
