#!/usr/bin/env bash
# tests/formats/t_overflow.sh — extreme numbers never wrap (issue 11,
# item 12), through the real `ignis report`, `convert` and `flame`:
#   - perf script totals that overflow int64 are refused naming file:line;
#   - a pid/tid or period too big for int64 is refused, not truncated;
#   - --diff deltas of extreme values saturate (report and SVG) instead of
#     wrapping to a small number of the wrong sign.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }
ok() { echo "ok   $*"; }

# expect_error NAME FILE WANT: report exits 1, one stderr line "ignis report: FILE: ...WANT..."
expect_error() {
  local name=$1 in=$2 want=$3
  "$IGNIS" report "$in" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "ignis report: $in: $want" "$T/err"; then
    ok "$name: $(cat "$T/err")"
  else
    bad "$name: exit $rc, stdout: $(head -5 "$T/out"), stderr: $(cat "$T/err")"
  fi
}

sample() { # COMM PIDTID PERIOD
  printf '%s %s [000] 1.000000: %s cpu-clock:\n\t    401000 main (/bin/prog)\n\n' "$1" "$2" "$3"
}

{ sample prog 100/100 9000000000000000000; sample prog 100/100 9000000000000000000; } >"$T/total.perf"
expect_error "perf script total over int64" "$T/total.perf" "line 4: the total of 'cpu' overflows 64 bits"

sample prog 100/123456789012345678901234 1000 >"$T/tid.perf"
expect_error "perf script tid over int64" "$T/tid.perf" "line 1: pid/tid '100/123456789012345678901234' out of range"

sample prog 100/100 92233720368547758070 >"$T/period.perf"
expect_error "perf script period over int64" "$T/period.perf" "line 1: period '92233720368547758070' out of range"

# the largest values that fit are read exactly
sample prog 100/100 9223372036854775807 >"$T/max.perf"
if "$IGNIS" convert "$T/max.perf" -o "$T/max.folded" --value cpu 2>"$T/err" &&
   [ "$(cat "$T/max.folded")" = "main 9223372036854775807" ]; then
  ok "a period of INT64_MAX is kept exactly"
else
  bad "INT64_MAX period: $(cat "$T/err") $(cat "$T/max.folded" 2>/dev/null)"
fi

# ---- --diff of extreme values -----------------------------------------------------
printf 'main;a 9223372036854775807\n' >"$T/new.folded"
printf 'main;a -9223372036854775807\n' >"$T/base.folded"
"$IGNIS" report "$T/new.folded" --diff "$T/base.folded" >"$T/report" 2>"$T/err" || bad "report --diff: $(cat "$T/err")"
row=$(grep ' a$' "$T/report")
if [[ "$row" == *" +9223372036854775807 "* ]] && [[ "$row" != *"-2"* ]]; then
  ok "report --diff saturates the delta"
else
  bad "report --diff delta wrapped: $row"
fi
"$IGNIS" flame "$T/new.folded" --diff "$T/base.folded" -o "$T/diff.svg" 2>"$T/err" || bad "flame --diff: $(cat "$T/err")"
if grep -A2 '<title>all$' "$T/diff.svg" | grep -q '^delta: +9223372036854775807 samples'; then
  ok "flame --diff saturates the delta"
else
  bad "flame --diff delta: $(grep -A2 '<title>all$' "$T/diff.svg" | tail -1)"
fi
exit $fail
