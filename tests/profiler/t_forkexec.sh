#!/usr/bin/env bash
# A parent that forks and execs CPU-bound children, one after the other, on
# other CPUs (samples/cpu/cpu_forkexec.c): each FORK and the child's samples
# are in one CPU's ring, its exec (COMM) and new mappings in another's.
# Records must be handled in time order across the rings, so the children's
# hot loop gets nearly every sample, under the child's name (regression:
# the samples went to the parent's functions, [cpu_forkexec],
# labelled with a tid, because CPU 0's ring was drained before CPU 1's).
# Six children of 0.2 s of CPU each: most of a child's samples fall in the
# drain that also holds its exec, where the order matters.
. "$(dirname "$0")/lib.sh"
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || skip "needs two CPUs"
"$IGNIS" record -F 499 --per-thread -o "$T/out.folded" -- "$S/cpu_forkexec" 1.2 6 >/dev/null 2>"$T/rec.err" ||
  { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
f=$T/out.folded
total=$(folded_sum "$f" '.')
n=$(summary samples)
hot=$(folded_sum "$f" '^cpu_exec_child \[[0-9]+\];_start;.*;main;child_hot(;|$)')
parent=$(folded_sum "$f" 'parent_spawn|parent_wait|\[cpu_forkexec\]')
tid_only=$(folded_sum "$f" '^[0-9]+ \[[0-9]+\];')
echo "total $total, child_hot under cpu_exec_child $hot, parent's functions $parent, labelled by tid $tid_only"
[ "$n" -gt 20 ] || fail "only $n samples"
in_range "$(pct "$hot" "$total")" 90 100 "child_hot share (%)"
in_range "$(pct "$parent" "$total")" 0 5 "share in the parent's functions (%)"
[ "$tid_only" -eq 0 ] || fail "$tid_only samples labelled with a bare tid"
echo ok
