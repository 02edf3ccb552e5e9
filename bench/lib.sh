# bench/lib.sh — sourced by the benchmarks that use the issue's big profile:
# 200,000 distinct folded stacks, 30 frames deep, 20,000 function names
# (~100 MB), generated once by bench/gen_folded into $B/bench/big.folded.
# Sets B, IGNIS, TIME and big, defines measure(), and prints the input line with the load
# average (wall times only mean something on an idle machine).
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "$0: /usr/bin/time is missing (Debian package 'time', see scripts/deps.sh)"; exit 1; }
mkdir -p "$B/bench"
big=$B/bench/big.folded
if [ ! -s "$big" ]; then
  echo "generating $big ..."
  "$B/bench/gen_folded" >"$big.tmp" && mv "$big.tmp" "$big"
fi
bench_input_line() {
  echo "input: $(du -m "$big" | cut -f1) MB, $(wc -l <"$big") stacks; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# measure LABEL CMD...: one line with the command's wall and CPU time and
# peak RSS (output discarded); MEASURE_WIDTH pads the label.
measure() {
  local label=$1; shift
  local res
  res=$( { $TIME -f '%e s wall, %U+%S s cpu, %M KB peak RSS' "$@" >/dev/null; } 2>&1 | tail -1)
  printf '%-*s %s\n' "${MEASURE_WIDTH:-40}" "$label" "$res"
}
