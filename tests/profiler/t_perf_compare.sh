#!/usr/bin/env bash
# Same program, two profilers: `perf record --call-graph dwarf` + `perf
# script` and `ignis record` must agree on the hottest leaf function of
# samples/cpu/cpu_shares (hot_a: 3/8 of all CPU; the others 1/8 and 2/8).
# Skips when perf is missing or cannot record.
. "$(dirname "$0")/lib.sh"
command -v perf >/dev/null || skip "perf not installed"
perf record -q -F 499 --call-graph dwarf -o "$T/perf.data" -- "$S/cpu_shares" 3 >/dev/null 2>"$T/perf.err" ||
  skip "perf record failed: $(tail -1 "$T/perf.err")"
perf script -i "$T/perf.data" -F comm,tid,ip,sym 2>/dev/null >"$T/perf.txt" || skip "perf script failed"
# the first frame line after each sample header is the leaf
perf_top=$(awk '/^[^ \t]/ { want = 1; next }
               want && NF >= 2 { want = 0; n[$2]++ }
               END { for (f in n) printf "%.0f %s\n", n[f], f }' "$T/perf.txt" | sort -rn | head -1 | awk '{ print $2 }')
"$IGNIS" record -F 499 -o "$T/ig.folded" -- "$S/cpu_shares" 3 2>"$T/rec.err" >/dev/null || { cat "$T/rec.err"; fail "ignis record failed"; }
ig_top=$(awk '{ n = $NF; l = $0; sub(/ [0-9]+$/, "", l); k = split(l, f, ";"); s[f[k]] += n }
              END { for (x in s) printf "%.0f %s\n", s[x], x }' "$T/ig.folded" | sort -rn | head -1 | awk '{ print $2 }')
echo "hottest leaf: perf=$perf_top ignis=$ig_top"
[ -n "$ig_top" ] || fail "no ignis samples"
[ "$perf_top" = "$ig_top" ] || fail "perf says $perf_top, ignis says $ig_top"
[ "$ig_top" = hot_a ] || fail "hottest leaf is $ig_top, not hot_a"
echo ok
