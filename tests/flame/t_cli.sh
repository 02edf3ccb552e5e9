#!/usr/bin/env bash
# tests/flame/t_cli.sh — `ignis flame` as a command: default output name,
# stdout, options reaching the SVG, determinism, and bad input (missing
# file, bad --width/--minwidth/--value, bad regex, unknown option): one
# line on stderr naming the culprit, exit 1 (2 for usage), no output file.
set -uo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
[ -x "$IGNIS" ] || { echo "$IGNIS not built"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$dir/prof.folded" <<'EOF'
main;a;b 30
main;c 70
EOF
cat > "$dir/base.folded" <<'EOF'
main;a;b 70
main;c 30
EOF

# ---- good runs -----------------------------------------------------------------
"$IGNIS" flame --help | grep -q '^usage: ignis flame' || fail "--help"
"$IGNIS" flame "$dir/prof.folded" || fail "default run"
[ -s "$dir/prof.svg" ] || fail "default output prof.svg not written"
grep -q '<title>c$' "$dir/prof.svg" || fail "frame c missing"
[ -z "$(ls "$dir" | grep -v -e '^prof.folded$' -e '^prof.svg$' -e '^base.folded$')" ] || fail "stray files: $(ls "$dir")"

"$IGNIS" flame "$dir/prof.folded" -o - > "$dir/stdout.svg" || fail "-o -"
head -1 "$dir/stdout.svg" | grep -q '^<?xml' || fail "-o - did not write the SVG to stdout"
cmp -s "$dir/stdout.svg" "$dir/prof.svg" || fail "output not deterministic"

"$IGNIS" flame "$dir/prof.folded" -o "$dir/opts.svg" --title 'T & T' --width 600 --inverted --minwidth 0 ||
  fail "options run"
grep -q 'width="600"' "$dir/opts.svg" || fail "--width"
grep -q '>T &amp; T</text>' "$dir/opts.svg" || fail "--title"
grep -A1 '<title>c$' "$dir/opts.svg" | grep -q 'width="406"' || fail "c is 70% of 580 px = 406 px"

"$IGNIS" flame "$dir/prof.folded" -o "$dir/diff.svg" --diff "$dir/base.folded" || fail "--diff"
grep -q '>Differential Flame Graph</text>' "$dir/diff.svg" || fail "--diff title"
grep -A2 '<title>c$' "$dir/diff.svg" | grep -q 'fill="#ff[0-9a-f]\{4\}"' || fail "c grew: red"
grep -A2 '<title>a$' "$dir/diff.svg" | grep -q 'fill="#[0-9a-f]\{4\}ff"' || fail "a shrank: blue"

"$IGNIS" flame "$dir/prof.folded" -o "$dir/rev.svg" --reverse || fail "--reverse"
[ "$(grep -c '<title>main$' "$dir/rev.svg")" -eq 2 ] || fail "--reverse: main should appear under b and under c"

"$IGNIS" flame "$dir/prof.folded" -o "$dir/focus.svg" --focus '^b$' --value samples || fail "--focus"
# percentages are of the whole profile, as pprof shows them, unless --relative-percentages
grep -A1 '<title>all$' "$dir/focus.svg" | grep -q '30 samples (30.00%)' || fail "--focus keeps 30 of 100"
grep -q 'focus=^b\$ kept 30 (30.00%) of 100' "$dir/focus.svg" || fail "--focus: the subtitle names the filter and what it kept"
"$IGNIS" flame "$dir/prof.folded" -o "$dir/focus.svg" --focus '^b$' --relative-percentages || fail "--relative-percentages"
grep -A1 '<title>all$' "$dir/focus.svg" | grep -q '30 samples (100.00%)' || fail "--relative-percentages: 30 of 30 kept"

# pprof input: ".pb.gz" is replaced as a whole
"$IGNIS" convert "$dir/prof.folded" -o "$dir/p2.pb.gz" || fail "convert to pprof"
"$IGNIS" flame "$dir/p2.pb.gz" || fail "flame of a pprof file"
grep -A1 '<title>c$' "$dir/p2.svg" | grep -q '70 samples (70.00%)' || fail "p2.svg from p2.pb.gz"

# ---- bad input -----------------------------------------------------------------
# expect_error STATUS PATTERN OUTPUT -- ARGS...: exit STATUS, one stderr line
# matching PATTERN, OUTPUT (and any temporary file) not created
expect_error() {
  local want=$1 pat=$2 out=$3; shift 4
  "$IGNIS" flame "$@" > "$dir/stdout" 2> "$dir/stderr"
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "flame $*: exit $rc, want $want"
  [ "$(wc -l < "$dir/stderr")" -eq 1 ] || fail "flame $*: stderr is not one line: $(cat "$dir/stderr")"
  grep -q -- "$pat" "$dir/stderr" || fail "flame $*: stderr '$(cat "$dir/stderr")' lacks '$pat'"
  [ ! -e "$out" ] || fail "flame $*: $out left behind"
  ! ls "$dir" | grep -q '\.tmp\.' || fail "flame $*: temporary file left behind"
}
expect_error 1 "$dir/missing.folded" "$dir/missing.svg" -- "$dir/missing.folded"
expect_error 2 "--width" "$dir/w.svg" -- "$dir/prof.folded" -o "$dir/w.svg" --width abc
expect_error 2 "--width" "$dir/w.svg" -- "$dir/prof.folded" -o "$dir/w.svg" --width 0
expect_error 2 "--minwidth" "$dir/w.svg" -- "$dir/prof.folded" -o "$dir/w.svg" --minwidth -3
expect_error 1 "--focus" "$dir/re.svg" -- "$dir/prof.folded" -o "$dir/re.svg" --focus '(unclosed'
expect_error 1 "--ignore" "$dir/re.svg" -- "$dir/prof.folded" -o "$dir/re.svg" --ignore '[z-a]'
expect_error 1 "--value" "$dir/v.svg" -- "$dir/prof.folded" -o "$dir/v.svg" --value nosuch
expect_error 1 "$dir/nobase.folded" "$dir/d.svg" -- "$dir/prof.folded" -o "$dir/d.svg" --diff "$dir/nobase.folded"
printf 'main;a\n' > "$dir/bad.folded"
expect_error 1 "bad.folded" "$dir/bad.svg" -- "$dir/bad.folded"
expect_error 2 "--bogus" "$dir/prof2.svg" -- "$dir/prof.folded" --bogus
expect_error 2 "input file" "$dir/none.svg" --
# an existing output is not clobbered by a failed run
cp "$dir/prof.svg" "$dir/keep.svg"
expect_error 1 "--focus" "$dir/none.svg" -- "$dir/prof.folded" -o "$dir/prof.svg" --focus '('
cmp -s "$dir/prof.svg" "$dir/keep.svg" || fail "failed run changed the existing output"
echo "ok"
