#!/usr/bin/env bash
# tests/cli/t_diff.sh — diffs answer "what changed?": the table is ordered
# by the size of the change, functions only in the base are rows (and
# dashed frames of the flame graph, as wide as their base value), the
# header names the base and both totals, a change of zero reads 0,
# profiles with other sample types are refused in one line unless --value
# picks a shared one, and --normalize scales the base to the same total.
. "$(dirname "$0")/lib.sh"

# ---- the table ------------------------------------------------------------------
run diff report "$T/new.folded" --diff "$T/base.folded"
[ "$RC" -eq 0 ] || fail "report --diff: exit $RC: $(cat "$T/diff.err")"
has diff "Base: $T/base.folded"
has diff "Total: 100, base 200, change -100"
has diff "flat flat% Δflat cum cum% Δcum name"
# by |change|: c -98, b +20 and gone -20 (b first: more flat), a -2, main 0
[ "$(awk 'NF == 7 && $1 ~ /^[0-9]/ {print $NF}' "$T/diff.out" | tr '\n' ' ')" = "c b gone a main " ] ||
  fail "rows not ordered by |change|: $(cat "$T/diff.out")"
has diff "2 2.00% -98 2 2.00% -98 c"
has diff "48 48.00% +20 48 48.00% +20 b"
has diff "0 0.00% -20 0 0.00% -20 gone"
has diff "0 0.00% 0 100 100% -100 main"

# -s cum orders by |Δcum|; pprof's spelling of --diff
run cum report "$T/new.folded" -diff_base="$T/base.folded" -s cum
[ "$(awk 'NF == 7 && $1 ~ /^[0-9]/ {print $NF}' "$T/cum.out" | tr '\n' ' ')" = "main c b gone a " ] ||
  fail "-s cum: not ordered by |Δcum|: $(cat "$T/cum.out")"

# ---- --normalize: the base (200) counts as 100 ---------------------------------------
run norm report "$T/new.folded" --diff "$T/base.folded" --normalize
[ "$RC" -eq 0 ] || fail "--normalize: exit $RC: $(cat "$T/norm.err")"
has norm "Total: 100, base 100, change 0 (base of 200 scaled by 0.5: --normalize)"
has norm "2 2.00% -48 2 2.00% -48 c"
has norm "48 48.00% +34 48 48.00% +34 b"
has norm "50 50.00% +24 50 50.00% +24 a"
has norm "0 0.00% -10 0 0.00% -10 gone"

# ---- the flame graph: removed frames are drawn ---------------------------------------
run svg flame "$T/new.folded" --diff "$T/base.folded" -o "$T/diff.svg"
[ "$RC" -eq 0 ] || fail "flame --diff: exit $RC: $(cat "$T/svg.err")"
grep -q '^<g v="20" class="rm"><title>gone$' "$T/diff.svg" || fail "gone (only in the base) is not drawn: $(grep -c '<g' "$T/diff.svg") frames"
grep -A1 '^<g v="20" class="rm"><title>gone$' "$T/diff.svg" | grep -q 'base: 20 samples.*$' || fail "gone's tooltip"
grep -A2 '<title>gone$' "$T/diff.svg" | grep -q 'width="196.7"' || fail "gone is 20 of 120 wide (1180 px)"
grep -q '^<g v="120"><title>main$' "$T/diff.svg" || fail "main is as wide as its value and the removed frame"
grep -A2 '<title>main$' "$T/diff.svg" | grep -q '^delta: -100 samples' || fail "main's delta"
run svgn flame "$T/new.folded" --diff "$T/base.folded" --normalize -o "$T/norm.svg"
grep -q '^<g v="10" class="rm"><title>gone$' "$T/norm.svg" || fail "--normalize: gone is 10 (20 scaled by 0.5)"
grep -A2 '<title>a$' "$T/norm.svg" | grep -q '^delta: +24 samples' || fail "--normalize: a's delta"

# ---- incompatible sample types -----------------------------------------------------------
# perf script has samples/count and cpu/nanoseconds, folded only samples/count
for cmd in report flame; do
  run inc $cmd "$T/threads.perf" --diff "$T/new.folded" -o "$T/inc.svg"
  [ $cmd = report ] && run inc $cmd "$T/threads.perf" --diff "$T/new.folded"
  one_line_error inc 1 "ignis $cmd: $T/new.folded: incompatible sample types [samples/count cpu/nanoseconds] and [samples/count]"
  [ ! -e "$T/inc.svg" ] || fail "flame wrote a graph of incompatible profiles"
  run inc2 $cmd "$T/threads.perf" --diff "$T/new.folded" --value cpu -o "$T/inc.svg"
  [ $cmd = report ] && run inc2 $cmd "$T/threads.perf" --diff "$T/new.folded" --value cpu
  one_line_error inc2 1 "incompatible sample types"
done
run shared report "$T/threads.perf" --diff "$T/new.folded" --value samples
[ "$RC" -eq 0 ] || fail "--value samples (in both): exit $RC: $(cat "$T/shared.err")"
has shared "Total: 10, base 100, change -90"
finish
