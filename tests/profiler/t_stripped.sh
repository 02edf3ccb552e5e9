#!/usr/bin/env bash
# A stripped binary (no .symtab, no DWARF; .eh_frame kept): unwinding must
# still reach the thread root through the binary's frames, and its
# functions show as [module] frames instead of being dropped.
. "$(dirname "$0")/lib.sh"
strip --strip-all -o "$T/stripped_recurse" "$S/cpu_recurse"
"$IGNIS" record -F 999 -o "$T/out.folded" -- "$T/stripped_recurse" 2 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
# _start (unnamed now) ... libc's __libc_start_call_main ... 22 frames of the binary
deep=$(awk '{ l = $0; sub(/ [0-9]+$/, "", l); n = split(l, f, ";"); c = 0
              for (i = 1; i <= n; i++) if (f[i] ~ /^\[stripped_recurse\]$/) c++
              if (c >= 23 && f[2] ~ /__libc_start/) s += $NF } END { printf "%.0f\n", s }' "$T/out.folded")
total=$(awk '{ s += $NF } END { printf "%.0f\n", s }' "$T/out.folded")
echo "stacks through >= 23 unnamed frames of the stripped binary: $deep of $total"
[ "$deep" -gt 0 ] || fail "no deep stacks through the stripped binary"
in_range "$(partial_pct)" 0 1 "not fully unwound (%)"
echo ok
