#!/usr/bin/env bash
# tests/symbols/t_unsymbolized.sh — frames without a symbol are named by
# their module in every view a person reads, so a stripped library's time
# adds up in one row and one flame box, while the pprof export keeps the
# addresses.  Ground truth: unsym_main spins in a library stripped of
# .symtab (its loop is hidden, so .dynsym does not name it either) and in
# its own main_spin, and writes the CPU time of each; the library's share
# of the recorded profile must be within a few points of it.  A perf
# script text with one frame per kind of code checks each name
# ("[libc.so.6]", "[vdso]", "[jit]", "[kernel]", "[unknown]").
. "$(dirname "$0")/../cli/lib.sh"
SRC=$(cd "$(dirname "$0")" && pwd)
export IGNIS_CACHE_DIR=$T/cache
CC=${CC:-cc}

# ---- names by kind of code, from perf script text (no recording) ------------------
perf_frame() { printf '\t%16s %s (%s)\n' "$1" "$2" "$3"; }
{
  for leaf in "7f0000001000 [unknown] /usr/lib/libc.so.6" "7f0000002000 [unknown] /usr/lib/libc.so.6" \
              "7ffd00000800 [unknown] [vdso]" "7f5500000100 [unknown] [jit]" \
              "ffffffff81000100 [unknown] [kernel.kallsyms]" "7f7700000000 [unknown] [unknown]"; do
    printf 'app  100/100  [000]   1.000000:    1000000 cpu-clock: \n'
    set -- $leaf
    perf_frame "$1" "$2" "$3"
    perf_frame 401000 main /bin/app
    printf '\n'
  done
} >"$T/kinds.perf"
run kinds report -n 0 "$T/kinds.perf"
[ "$RC" -eq 0 ] || fail "report kinds.perf: exit $RC: $(cat "$T/kinds.err")"
# flat, flat%, sum%, cum, cum%, name: the two libc addresses are one row
has kinds "2ms 33.33% 33.33% 2ms 33.33% [libc.so.6]"
for name in "[vdso]" "[jit]" "[kernel]" "[unknown]"; do
  grep -Eq "^ *1ms +16\.67% .* \\$name\$" "$T/kinds.out" || fail "kinds: no 1ms row named $name in:
$(cat "$T/kinds.out")"
done
run kinds_addr report -n 0 --addresses "$T/kinds.perf"
grep -q 'libc\.so\.6+0x7f0000001000$' "$T/kinds_addr.out" && grep -q 'libc\.so\.6+0x7f0000002000$' "$T/kinds_addr.out" ||
  fail "report --addresses: not one row per libc address:
$(cat "$T/kinds_addr.out")"

# ---- a recorded program with a stripped library -------------------------------------
$CC -O2 -fPIC -shared -fvisibility=hidden -o "$T/libunsym.so" "$SRC/unsym_lib.c" &&
  strip --strip-all "$T/libunsym.so" &&
  $CC -O2 -o "$T/unsym_main" "$SRC/unsym_main.c" -L"$T" -lunsym -Wl,-rpath,"$T" ||
  { echo "cannot build the sample program"; exit 1; }
nm "$T/libunsym.so" 2>/dev/null | grep -q . && fail "libunsym.so still has a .symtab"
run rec record -q -F 999 -o "$T/prof.pb.gz" -- "$T/unsym_main" "$T/truth" 300
[ "$RC" -eq 0 ] || fail "record: exit $RC: $(cat "$T/rec.err")"
read -r lib_ns main_ns <"$T/truth"
truth=$(awk -v l="$lib_ns" -v m="$main_ns" 'BEGIN { printf "%.1f", 100 * l / (l + m) }')
echo "truth: the library took $truth% of the CPU time"

# near NAME SHARE: SHARE (a percentage) is within 6 points of the truth
near() {
  awk -v s="$2" -v t="$truth" 'BEGIN { d = s - t; exit !(d < 6 && d > -6) }' ||
    fail "$1: [libunsym.so] has $2%, the truth is $truth%"
}

# report: one row for the library, its flat share the truth
run top report -n 0 "$T/prof.pb.gz"
[ "$RC" -eq 0 ] || fail "report: exit $RC: $(cat "$T/top.err")"
share=$(awk '$NF == "[libunsym.so]" { sub("%", "", $2); print $2 }' "$T/top.out")
[ -n "$share" ] || fail "report: no [libunsym.so] row in:
$(head -20 "$T/top.out")"
near report "$share"
grep -q 'libunsym\.so+0x' "$T/top.out" && fail "report: per-address rows left:
$(head -20 "$T/top.out")"

# folded stacks: leaves in the library hold the share; a run of library
# frames stays a run (the format's users count frames)
run fold convert "$T/prof.pb.gz" -o "$T/prof.folded"
[ "$RC" -eq 0 ] || fail "convert to folded: exit $RC: $(cat "$T/fold.err")"
share=$(awk '{ n = $NF; t += n } /;\[libunsym\.so\] [0-9]+$/ { l += n }
             END { if (t) printf "%.1f", 100 * l / t }' "$T/prof.folded")
near folded "${share:-0}"
grep -q 'unsym_lib_run;\[libunsym\.so\];\[libunsym\.so\] [0-9]*$' "$T/prof.folded" ||
  fail "folded: no stack unsym_lib_run;[libunsym.so];[libunsym.so]: $(head -5 "$T/prof.folded")"
grep -q 'libunsym\.so+0x' "$T/prof.folded" && fail "folded: per-address frames left"

# the flame graph: the library is one box (its run of frames merged under
# unsym_lib_run), no address is one
run svg flame -q "$T/prof.pb.gz" -o "$T/prof.svg"
[ "$RC" -eq 0 ] || fail "flame: exit $RC: $(cat "$T/svg.err")"
n=$(grep -c '<title>\[libunsym\.so\]$' "$T/prof.svg")
[ "$n" -eq 1 ] || fail "flame: $n [libunsym.so] frames, want 1"
grep -q 'libunsym\.so+0x' "$T/prof.svg" && fail "flame: per-address frames left"

# a diff of the profile with itself: the library is one row of no change
run diff report -n 0 "$T/prof.pb.gz" --diff "$T/prof.pb.gz"
[ "$RC" -eq 0 ] || fail "report --diff: exit $RC: $(cat "$T/diff.err")"
[ "$(grep -c '\[libunsym\.so\]$' "$T/diff.out")" -eq 1 ] || fail "diff: not one [libunsym.so] row:
$(cat "$T/diff.out")"

# --addresses: one row per address again
run addr report -n 0 --addresses "$T/prof.pb.gz"
[ "$(grep -c 'libunsym\.so+0x[0-9a-f]*$' "$T/addr.out")" -ge 2 ] || fail "report --addresses: fewer than 2 library addresses:
$(head -20 "$T/addr.out")"
# --granularity address is the same (the option view and convert share)
run gran report -n 0 --granularity address "$T/prof.pb.gz"
[ "$RC" -eq 0 ] || fail "report --granularity address: exit $RC: $(cat "$T/gran.err")"
cmp -s "$T/addr.out" "$T/gran.out" || fail "--granularity address differs from --addresses"

# the pprof export keeps one location per address, with its mapping
if command -v go >/dev/null; then
  HOME=$T GOCACHE=$T/gocache go tool pprof -symbolize=none -top -addresses "$T/prof.pb.gz" >"$T/pprof.out" 2>"$T/pprof.err" ||
    fail "go tool pprof: $(cat "$T/pprof.err")"
  n=$(grep -c '^ .* [0-9a-f]\{6,\} \[libunsym\.so\]$' "$T/pprof.out")
  [ "$n" -ge 2 ] || fail "pprof -addresses: $n library addresses, want 2 or more:
$(head -20 "$T/pprof.out")"
else
  echo "go is not installed: the pprof export's addresses are not checked"
fi
finish
