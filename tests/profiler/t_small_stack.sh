#!/usr/bin/env bash
# A stack copy far too small for the stack (--stack-size 64): the unwinder
# runs off the copy, which must end the unwind cleanly: no crash, every
# sample kept with the frames that were reachable (the hot leaf still
# named), and the summary counting them as not fully unwound.
. "$(dirname "$0")/lib.sh"
"$IGNIS" record -F 999 --stack-size 64 -o "$T/out.folded" -- "$S/cpu_recurse" 1.5 2>"$T/rec.err" ||
  { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
n=$(summary samples)
[ "$n" -gt 0 ] || fail "no samples"
leaf=$(folded_sum "$T/out.folded" '(^|;)recurse_leaf$')
[ "$leaf" -gt 0 ] || fail "recurse_leaf not named"
deep=$(folded_sum "$T/out.folded" "^_start;.*$(printf ';recurse%.0s' $(seq 20));recurse_leaf\$")
[ "$deep" -eq 0 ] || fail "a 20-deep stack cannot fit in 64 bytes"
in_range "$(partial_pct)" 50 100 "not fully unwound (%)"
echo ok
