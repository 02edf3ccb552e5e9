#!/usr/bin/env bash
# Stacks the unwinder could not follow to their thread's first frame are
# rooted at a synthetic [truncated] frame, counted in the record summary
# and shown as a share in the `ignis report` header; whole stacks are not.
# Ground truth:
#   - cpu_recurse with 4000 levels: its hot leaf sits ~64 KiB deep, beyond
#     the 16 KiB stack copy, so every recurse_leaf stack is truncated, while
#     inline_caller's stacks (main;run;inline_caller) are whole;
#   - cpu_shares: every stack reaches _start or clone3 (at most 1% may not:
#     a sample taken while a thread exits has no user registers left);
#   - cpu_static (static, with CFI): whole; cpu_static_nocfi (static, no
#     CFI in its own code): its hot frames cannot be unwound with certainty.
. "$(dirname "$0")/lib.sh"
for s in cpu_static cpu_static_nocfi; do [ -x "$S/$s" ] || fail "$S/$s not built"; done

# Share of the folded total in stacks rooted at [truncated], in percent (2 decimals).
truncated_share() {
  awk '{ n = $NF; t += n; if ($0 ~ /^\[truncated\];/) s += n } END { if (t) printf "%.2f\n", 100 * s / t; else print -1 }' "$1"
}
# The report header's "Truncated: X%" (0 when the line is absent).
report_share() {
  "$IGNIS" report "$1" >"$T/report.txt" || fail "report $1 failed"
  v=$(sed -n 's/^Truncated: \([0-9.]*\)% .*/\1/p' "$T/report.txt")
  echo "${v:-0}"
}

# ---- deep recursion -----------------------------------------------------------
"$IGNIS" record -F 999 -o "$T/deep.pb.gz" -- "$S/cpu_recurse" 2 4000 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
"$IGNIS" convert "$T/deep.pb.gz" -o "$T/deep.folded" || fail "convert failed"
leaf=$(folded_sum "$T/deep.folded" ';recurse_leaf$')
leaf_cut=$(folded_sum "$T/deep.folded" '^\[truncated\];.*;recurse_leaf$')
inl=$(folded_sum "$T/deep.folded" ';inline_caller;inlined_hot(_\[i\])?$')
inl_whole=$(folded_sum "$T/deep.folded" '^_start;__libc_start_main[a-z_]*;__libc_start_call_main;main;run;inline_caller;inlined_hot(_\[i\])?$')
echo "recurse_leaf: $leaf_cut of $leaf rooted at [truncated]; inlined_hot: $inl_whole of $inl whole"
[ "$leaf" -gt 0 ] && [ "$inl" -gt 0 ] || fail "no samples in recurse_leaf or inlined_hot"
in_range "$(pct "$leaf_cut" "$leaf")" 99 100 "recurse_leaf stacks rooted at [truncated] (%)"
in_range "$(pct "$inl_whole" "$inl")" 99 100 "inlined_hot stacks whole (%)"
grep -q '^_start;.*\[truncated\]' "$T/deep.folded" && fail "[truncated] below a thread root"
share=$(truncated_share "$T/deep.folded")
rshare=$(report_share "$T/deep.pb.gz")
echo "truncated share: folded $share%, report header $rshare%, summary $(partial_pct)%"
in_range "$share" 20 80 "truncated share (%)"
in_range "$(awk -v a="$share" -v b="$rshare" 'BEGIN { d = a - b; print d < 0 ? -d : d }')" 0 0.01 "report share vs folded share"
in_range "$(partial_pct)" 20 80 "not fully unwound (%)"
# the folded file read back gives the same header
in_range "$(report_share "$T/deep.folded")" "$(awk -v v="$rshare" 'BEGIN { print v - 0.01 }')" \
  "$(awk -v v="$rshare" 'BEGIN { print v + 0.01 }')" "report share of the folded file"

# ---- whole stacks ---------------------------------------------------------------
"$IGNIS" record -F 999 -o "$T/shares.pb.gz" -- "$S/cpu_shares" 1.5 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
"$IGNIS" convert "$T/shares.pb.gz" -o "$T/shares.folded" || fail "convert failed"
echo "cpu_shares: truncated $(truncated_share "$T/shares.folded")%, report $(report_share "$T/shares.pb.gz")%"
in_range "$(truncated_share "$T/shares.folded")" 0 1 "cpu_shares truncated share (%)"
in_range "$(report_share "$T/shares.pb.gz")" 0 1 "cpu_shares report share (%)"

# ---- static binaries -------------------------------------------------------------
"$IGNIS" record -F 999 -o "$T/static.folded" -- "$S/cpu_static" 1.5 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
whole=$(folded_sum "$T/static.folded" '^_start;__libc_start_main[a-z_]*;__libc_start_call_main;main;run;')
total=$(folded_sum "$T/static.folded" '.')
echo "cpu_static: $whole of $total under _start..main;run, truncated $(truncated_share "$T/static.folded")%"
in_range "$(pct "$whole" "$total")" 95 100 "cpu_static stacks under _start..run (%)"
in_range "$(truncated_share "$T/static.folded")" 0 1 "cpu_static truncated share (%)"

"$IGNIS" record -F 999 -o "$T/nocfi.folded" -- "$S/cpu_static_nocfi" 1.5 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
hot=$(folded_sum "$T/nocfi.folded" ';(recurse_leaf|inlined_hot(_\[i\])?)$')
hot_cut=$(folded_sum "$T/nocfi.folded" '^\[truncated\];.*(recurse_leaf|inlined_hot(_\[i\])?)$')
echo "cpu_static_nocfi: $hot_cut of $hot hot stacks rooted at [truncated]"
[ "$hot" -gt 0 ] || fail "no samples in the hot functions"
in_range "$(pct "$hot_cut" "$hot")" 99 100 "cpu_static_nocfi hot stacks rooted at [truncated] (%)"
in_range "$(partial_pct)" 90 100 "cpu_static_nocfi not fully unwound (%)"
echo ok
