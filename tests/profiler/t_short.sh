#!/usr/bin/env bash
# A command that exits before the recorder's first timed drain (0.4 s of CPU at
# 99 Hz, drained every 2 s): its samples are read after its /proc entries
# are gone, yet every frame must be named and unwound as for a long run
# (regression: they came out as [cpu_recurse] with nothing unwound).
. "$(dirname "$0")/lib.sh"
CPU_SAMPLE_CLOCK=cpu "$IGNIS" record -o "$T/out.folded" -- "$S/cpu_recurse" 0.4 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
f=$T/out.folded
total=$(summary samples)
[ "$total" -gt 10 ] || fail "only $total samples"
unnamed=$(folded_sum "$f" '\[cpu_recurse\]')
[ "$unnamed" -eq 0 ] || fail "$unnamed samples with unnamed cpu_recurse frames"
leaf=$(folded_sum "$f" ';main;run(;recurse)+;recurse_leaf$')
inl=$(folded_sum "$f" ';main;run;inline_caller;inlined_hot(_\[i\])?$')
echo "recurse_leaf: $leaf, inlined_hot: $inl"
[ $((leaf + inl)) -gt 0 ] || fail "neither hot function named under main;run"
in_range "$(partial_pct)" 0 5 "not fully unwound (%)"
echo ok
