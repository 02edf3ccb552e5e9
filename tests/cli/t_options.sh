#!/usr/bin/env bash
# tests/cli/t_options.sh — one command line: unknown options and missing
# values read the same in every command, `ignis help CMD` is `ignis CMD
# --help`, pprof's spellings (-top, -nodecount=N, -focus=RE, -ignore=RE,
# -sample_index=V, -diff_base=F) and perf's (-g, --call-graph dwarf,N)
# are accepted, --format is the input format everywhere (convert's output
# is --to), --inverted and --icicle are one option, -s sorts in report,
# --reverse lists callers, and flame and convert say what they wrote.
. "$(dirname "$0")/lib.sh"

# ---- errors read the same everywhere ----------------------------------------------
for cmd in report flame convert record; do
  run bad $cmd --xyz "$T/new.folded"
  one_line_error bad 2 "ignis $cmd: --xyz: unknown option (ignis $cmd --help)"
  [ "$(cat "$T/bad.err")" = "ignis $cmd: --xyz: unknown option (ignis $cmd --help)" ] ||
    fail "$cmd: '$(cat "$T/bad.err")'"
  run bad $cmd -Z "$T/new.folded"
  one_line_error bad 2 "ignis $cmd: -Z: unknown option (ignis $cmd --help)"
done
for cmd in report flame convert; do
  run miss $cmd "$T/new.folded" --value
  one_line_error miss 2 "ignis $cmd: --value: missing value (ignis $cmd --help)"
done
run miss record -p
one_line_error miss 2 "ignis record: -p: missing value (ignis record --help)"
run bad record --alloc --xyz -- true
[ "$(cat "$T/bad.err")" = "ignis record: --xyz: unknown option (ignis record --alloc --help)" ] ||
  fail "record --alloc: '$(cat "$T/bad.err")'"
run bad record --alloc -d x -- true
[ "$(cat "$T/bad.err")" = "ignis record: -d x: not a positive number of seconds (ignis record --alloc --help)" ] ||
  fail "record --alloc -d x: '$(cat "$T/bad.err")'"
run miss report "$T/new.folded" --reverse=yes
one_line_error miss 2 "ignis report: --reverse: takes no value (ignis report --help)"
run cmd bogus
one_line_error cmd 2 "ignis: bogus: unknown command (ignis --help)"

# ---- ignis help CMD = ignis CMD --help ------------------------------------------------------
for cmd in record report flame convert view top; do
  run h1 help $cmd
  run h2 $cmd --help
  [ "$RC" -eq 0 ] && [ -s "$T/h1.out" ] && cmp -s "$T/h1.out" "$T/h2.out" || fail "ignis help $cmd differs from ignis $cmd --help"
  grep -q "^usage: ignis $cmd" "$T/h1.out" || fail "ignis help $cmd: $(head -1 "$T/h1.out")"
done
run h help nosuch
one_line_error h 2 "ignis: nosuch: unknown command (ignis --help)"

# ---- pprof's spellings ----------------------------------------------------------------------
run pp report -top -nodecount=1 "$T/threads.perf" -sample_index=samples -focus=hot -ignore=hot_b
[ "$RC" -eq 0 ] || fail "pprof spellings: $(cat "$T/pp.err")"
has pp "Type: samples"
has pp "Showing top 1 nodes out of 3"
has pp "6 60.00% 60.00% 6 60.00% hot_a"
run pp2 report "$T/new.folded" -diff_base "$T/base.folded" -nodecount 1
has pp2 "Base: $T/base.folded"

# ---- what a frame is: --granularity, pprof's -lines --------------------------------------------
run gl report "$DATA/go_cpu.pb.gz" --granularity line -n 1
has gl "1.39s 57.92% 57.92% 1.39s 57.92% main.hotLoop gopprof.go:28"
run gl2 report "$DATA/go_cpu.pb.gz" -lines -n 1
cmp -s "$T/gl.out" "$T/gl2.out" || fail "-lines is not --granularity line"
run gl3 report "$DATA/go_cpu.pb.gz" --granularity=bogus
one_line_error gl3 2 "ignis report: --granularity: 'bogus' is not function, line, file, module or address (ignis report --help)"

# ---- -s and --reverse in report --------------------------------------------------------------
run sort report "$T/threads.perf" -s cum -n 1
has sort "0 0.00% 0.00% 10ms 100% main"
run sort2 report "$T/threads.perf" --sort=flat -n 1
has sort2 "6ms 60.00% 60.00% 6ms 60.00% hot_a"
run rev report "$T/threads.perf" --reverse -n 1
[ "$(tr -s ' ' <"$T/rev.out" | tail -3 | sed 's/^ //')" = "6ms 60.00% 60.00% 6ms 60.00% hot_a
6ms 60.00% <- run
6ms 60.00% <- main" ] || fail "--reverse: callers of hot_a: $(cat "$T/rev.out")"
# fractional folded counts are shown as read (they were 1000 times larger)
printf 'a;b 1.5\nc 2\n' >"$T/frac.folded"
run frac report "$T/frac.folded"
grep -q 'Showing nodes accounting for 3.5, *100% of 3.5 total' "$T/frac.out" && grep -qE '^ +1\.5 42\.86% +100% +1\.5 42\.86%  b$' "$T/frac.out" ||
  fail "fractional counts: $(cat "$T/frac.out")"
# a 10k-deep recursion: the callers' indent stops at 32 levels (it grew
# with depth: 100 MB of spaces for a 10 KB profile)
awk 'BEGIN { s = "main"; for (i = 0; i < 10000; i++) s = s ";rec"; print s ";leaf 1" }' >"$T/deep.folded"
run deep report "$T/deep.folded" --reverse -n 2
[ "$RC" -eq 0 ] || fail "--reverse on a deep stack: $(cat "$T/deep.err")"
[ "$(wc -c <"$T/deep.out")" -lt 3000000 ] || fail "--reverse on a deep stack: $(wc -c <"$T/deep.out") bytes of output"
grep -qE '^ *[0-9.]+ +100(\.00)?% +<- \[level 9999\] rec$' "$T/deep.out" || fail "--reverse: deep callers not numbered: $(tail -2 "$T/deep.out")"

# ---- --inverted = --icicle -------------------------------------------------------------------
run inv flame "$T/new.folded" --inverted -q -o "$T/inv.svg"
run ici flame "$T/new.folded" --icicle -q -o "$T/ici.svg"
cmp -s "$T/inv.svg" "$T/ici.svg" && grep -q '>Icicle Graph</text>' "$T/ici.svg" || fail "--icicle is not --inverted"

# ---- --format is the input format, --to the output format -----------------------------------------
run cf convert "$T/new.folded" --format folded --to folded -o "$T/c1.out"
[ "$RC" -eq 0 ] && [ "$(cat "$T/c1.out")" = $'main;a 50\nmain;b 48\nmain;c 2' ] || fail "convert --format/--to: $(cat "$T/cf.err")"
run cf2 convert "$T/new.folded" --format pprof -o "$T/c2.folded"
one_line_error cf2 1 "ignis convert: $T/new.folded:"
run cf3 convert "$T/new.folded" --output-format=svg -o "$T/c3.out" -q
head -c 5 "$T/c3.out" | grep -q '<?xml' || fail "--output-format svg"
run cf4 convert "$T/new.folded" -t folded -o - --from folded
[ "$(cat "$T/cf4.out")" = $'main;a 50\nmain;b 48\nmain;c 2' ] && [ ! -s "$T/cf4.err" ] || fail "-t folded -o -"
run cf5 convert "$T/new.folded" -f folded -o "$T/c5.folded"
one_line_error cf5 2 "ignis convert: -f: the output format is --to folded (--format names the input's)"

# ---- flame and convert say what they wrote ----------------------------------------------------------
run w1 flame "$T/new.folded" -o "$T/w.svg"
[ "$(cat "$T/w1.err")" = "ignis flame: wrote $T/w.svg (5 frames)" ] || fail "flame: '$(cat "$T/w1.err")'"
run w2 convert "$T/new.folded" -o "$T/w.pb.gz"
[ "$(cat "$T/w2.err")" = "ignis convert: wrote $T/w.pb.gz (pprof, 3 samples)" ] || fail "convert: '$(cat "$T/w2.err")'"
run w3 flame -q "$T/new.folded" -o "$T/w.svg"
run w4 convert --quiet "$T/new.folded" -o "$T/w.pb.gz"
[ ! -s "$T/w3.err" ] && [ ! -s "$T/w4.err" ] || fail "-q is not quiet"

# ---- perf's spellings in record -----------------------------------------------------------------------
run g record -g --help
[ "$RC" -eq 0 ] && grep -q -- '--call-graph dwarf' "$T/g.out" || fail "record -g: exit $RC $(cat "$T/g.err")"
run cg record --call-graph dwarf,8192 --help
[ "$RC" -eq 0 ] || fail "record --call-graph dwarf,8192: $(cat "$T/cg.err")"
run cg record --call-graph=dwarf --help
[ "$RC" -eq 0 ] || fail "record --call-graph=dwarf: $(cat "$T/cg.err")"
run cg record --call-graph fp -- true
one_line_error cg 2 "ignis record: --call-graph fp: ignis unwinds with DWARF: use dwarf[,SIZE]"
run cg record --call-graph dwarf,8 -- true
one_line_error cg 2 "ignis record: --call-graph dwarf,8: expected dwarf,64.."
finish
