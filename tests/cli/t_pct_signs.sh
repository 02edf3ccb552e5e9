#!/usr/bin/env bash
# tests/cli/t_pct_signs.sh — percentages of profiles whose values are
# negative or of mixed sign (a diff saved as pprof, folded deltas): every
# view prints pprof's numbers, shares of the sum of absolute values (of a
# pprof -diff_base profile's base samples alone), never a negative share,
# inf or nan, and 0 when the values cancel out.  Ground truth: `go tool
# pprof -top` on the same files, row by row (skipped without Go; the
# checks that need no Go run anyway).
. "$(dirname "$0")/lib.sh"

printf 'main;a;hot 300\nmain;b;cold -200\nmain;c 100\nmain;d -250\n' >"$T/mix.folded" # sums to -50, |sum| 850
printf 'main;a 100\nmain;b -100\n' >"$T/zero.folded"                                     # sums to 0, |sum| 200
printf 'main;a;hot 300\nmain;b -100\n' >"$T/pos.folded"                                  # sums to 200, |sum| 400
printf 'main;a 60\nmain;b 40\n' >"$T/base.folded"
printf 'main;a 30\nmain;b 50\nmain;c 20\n' >"$T/new.folded"

# no_bad_pct NAME: no percentage in NAME's output is negative, inf or nan
no_bad_pct() {
  if grep -Eq -- '-[0-9.]+%|inf|nan' "$T/$1.out"; then
    fail "$1: a negative, inf or nan percentage in:
$(cat "$T/$1.out")"
  fi
}

# ---- what needs no Go: the numbers pprof prints for these files ----------
run mix report "$T/mix.folded"
has mix "Showing nodes accounting for -50, 5.88% of 850 total"
has mix "300 35.29% 35.29% 300 35.29% hot"
has mix "-250 29.41% 5.88% -250 29.41% d"
no_bad_pct mix
run zero report "$T/zero.folded"
has zero "Showing nodes accounting for 0, 0.00% of 200 total"
has zero "-100 50.00% 0.00% -100 50.00% b"
no_bad_pct zero
# filters: the share kept is of absolute values (a focus that keeps
# everything keeps 100%, not -50/850)
run kept report --focus=main "$T/mix.folded"
has kept "Kept by filters: 850, 100% of 850 total"
run kept2 report --focus=hot --relative-percentages "$T/mix.folded"
has kept2 "Kept by filters: 300, 35.29% of 850 total"
has kept2 "300 100% 100% 300 100% hot"
run threads report --threads "$T/mix.folded"
has threads "-50 5.88% (no thread label)"
run list report --list=. "$T/pos.folded"
has list "Total: 400"
has list "-100 -100 (flat, cum) 25.00% of Total"
no_bad_pct list
# the SVG's tooltips: shares of 400, not of 200 (b was -50.00%, a 150.00%)
run flame flame "$T/pos.folded" -o "$T/pos.svg"
[ "$RC" = 0 ] || fail "flame: exit $RC: $(cat "$T/flame.err")"
grep -q '^300 samples (75.00%)</title>' "$T/pos.svg" || fail "flame: no 'hot' tooltip of 75.00% in $T/pos.svg"
grep -q '^200 samples (50.00%)</title>' "$T/pos.svg" || fail "flame: no 'main' tooltip of 50.00%"
sed 's/<[^>]*>/\n/g' "$T/pos.svg" >"$T/flame.out"
no_bad_pct flame

command -v go >/dev/null || { echo "go is not installed: the comparison with go tool pprof is skipped"; finish; }

# ---- row by row against go tool pprof -top -------------------------------
export GOCACHE=$T/gocache GOFLAGS=-mod=mod GOPROXY=off HOME=${HOME:-$T}
# rows FILE: "name flat flat% sum% cum cum%" per row, and the summary's
# "total pct" (percent signs dropped)
rows() {
  awk '/^Showing nodes accounting for/ { v = $5; sub(/,$/, "", v); p = $6; sub(/%$/, "", p); print "showing", v, p, $8; next }
       /flat%/ { t = 1; next }
       t && NF >= 6 { n = $6; for (i = 7; i <= NF; i++) n = n " " $i;
                      print n, $1, $2, $3, $4, $5 }' "$1" | tr -d '%' | sort
}
# same FILE1 FILE2 NAME: the same rows, percentages within rounding
# (pprof prints "0%" and 2 significant digits under 1%)
same() {
  if ! paste -d'|' <(rows "$1") <(rows "$2") | awk -F'|' '
      { n = split($1, a, " "); m = split($2, b, " ");
        if (n != m) exit 1;
        for (i = 1; i <= n; i++)
          if (a[i] != b[i] && !(a[i] ~ /^-?[0-9.]+$/ && b[i] ~ /^-?[0-9.]+$/ && (a[i] - b[i] < 0.006 && b[i] - a[i] < 0.006)))
            exit 1 }
      END { if (NR == 0) exit 1 }'; then
    fail "$3: ignis and go tool pprof -top differ:
--- go tool pprof
$(cat "$1")
--- ignis
$(cat "$2")"
  fi
}
compare() { # NAME FILE [ignis options] -- [pprof options]
  local name=$1 file=$2; shift 2
  local ig=() go=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do ig+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  go=("$@")
  go tool pprof -top -symbolize=none "${go[@]}" "$file" >"$T/$name.go" 2>"$T/$name.goerr" ||
    { fail "$name: go tool pprof: $(cat "$T/$name.goerr")"; return; }
  run "$name" report -n 0 "${ig[@]}" "$file"
  [ "$RC" = 0 ] || { fail "$name: ignis report exit $RC: $(cat "$T/$name.err")"; return; }
  same "$T/$name.go" "$T/$name.out" "$name"
}
for f in mix zero pos base new; do
  "$IGNIS" convert -q "$T/$f.folded" -o "$T/$f.pb.gz" || fail "convert $f"
done
compare mix_go "$T/mix.pb.gz"
compare zero_go "$T/zero.pb.gz"
compare pos_go "$T/pos.pb.gz"
compare focus_go "$T/mix.pb.gz" --focus=hot -- -focus=hot
compare relative_go "$T/mix.pb.gz" --focus=hot --relative-percentages -- -focus=hot -relative_percentages
# a diff saved by pprof: the base's samples negated and labelled
# pprof::base=true; percentages are of the base alone (100, not 200)
go tool pprof -proto -diff_base="$T/base.pb.gz" "$T/new.pb.gz" >"$T/diff.pb.gz" 2>"$T/diff.goerr" ||
  fail "go tool pprof -proto -diff_base: $(cat "$T/diff.goerr")"
compare diffbase_go "$T/diff.pb.gz"
has diffbase_go "Showing nodes accounting for 0, 0.00% of 100 total"
finish
