#!/usr/bin/env bash
# bench/profiler.sh — cost of `ignis record` beside `perf record
# --call-graph dwarf` + `perf script` on the same CPU-bound sample
# (samples/cpu/cpu_shares: two busy threads), at 99 Hz and 999 Hz:
#   - profiler CPU time per sample: user+sys of the profiler from attach to
#     a written, symbolized profile, divided by the samples in it (perf:
#     perf record + perf script, the least perf needs to name frames);
#   - peak RSS of the profiler;
#   - target slowdown: work per second of the sample with vs without the
#     profiler (its own counter, printed at exit);
#   - samples not fully unwound (ignis summary);
#   - the engine split (profiler_engine): attach, first-second warm-up
#     (symbol tables), steady-state us/sample, with the cached-CFI unwinder
#     and with libunwind alone (IGNIS_UNWINDER=libunwind).
# Targets (issue 4): <= 5 us/sample, <= 1% slowdown at 99 Hz, >= 99% unwound.
# BENCH_SECONDS (default 10) sets the recording length.
set -u
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
S=$B/samples/cpu
D=${BENCH_SECONDS:-10}
T=$(mktemp -d /tmp/ignis-bench-prof.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -x "$IGNIS" ] && [ -x "$S/cpu_shares" ] || { echo "bench/profiler.sh: build first ($IGNIS, $S/cpu_shares)"; exit 1; }

# timed CMD... : runs CMD under /usr/bin/time, leaves "user sys maxrss_kb" in $T/time
timed() { /usr/bin/time -f '%U %S %M' -o "$T/time" "$@"; }
cpu_of() { awk '{ print $1 + $2 }' "$T/time"; }
rss_of() { awk '{ print $3 }' "$T/time"; }
summary() { sed -n "s/^  $1 *\([0-9.]*\).*/\1/p" "$T/rec.err" | head -1; }
per_sample() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / n; else print "n/a" }'; }

echo "== profiler: ignis record vs perf record --call-graph dwarf + perf script ($D s, cpu_shares)"
printf '%-6s %-8s %10s %10s %12s %10s %10s\n' Hz tool samples cpu_s us/sample maxRSS_MB unwound%
for hz in 99 999; do
  "$S/cpu_shares" $((D + 5)) >/dev/null & pid=$!
  timed "$IGNIS" record -p "$pid" -F "$hz" -d "$D" -o "$T/p.pb.gz" 2>"$T/rec.err"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  n=$(summary samples); cpu=$(cpu_of); part=$(sed -n 's/^  not fully unwound [0-9]* (\([0-9.]*\)%).*/\1/p' "$T/rec.err")
  printf '%-6s %-8s %10s %10s %12s %10s %10s\n' "$hz" ignis "$n" "$cpu" "$(per_sample "$cpu" "$n")" \
    "$(( $(rss_of) / 1024 ))" "$(awk -v p="$part" 'BEGIN { printf "%.2f", 100 - p }')"
  if command -v perf >/dev/null; then
    "$S/cpu_shares" $((D + 5)) >/dev/null & pid=$!
    timed perf record -q -F "$hz" --call-graph dwarf -p "$pid" -o "$T/perf.data" -- sleep "$D" 2>/dev/null
    rec_cpu=$(cpu_of); rec_rss=$(rss_of)
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    timed perf script -i "$T/perf.data" -F comm,tid,ip,sym,dso >"$T/perf.txt" 2>/dev/null
    scr_cpu=$(cpu_of); scr_rss=$(rss_of)
    pn=$(grep -c '^[^ 	]' "$T/perf.txt")
    cpu=$(awk -v a="$rec_cpu" -v b="$scr_cpu" 'BEGIN { print a + b }')
    rss=$(( (rec_rss > scr_rss ? rec_rss : scr_rss) / 1024 ))
    printf '%-6s %-8s %10s %10s %12s %10s %10s\n' "$hz" perf "$pn" "$cpu" "$(per_sample "$cpu" "$pn")" "$rss" "-"
  fi
done

echo
echo "== target slowdown (cpu_shares work rate, units/s; $D s runs)"
rate() { sed -n 's/^units_per_sec //p' "$1"; }
"$S/cpu_shares" "$D" >"$T/base1"
for hz in 99 999; do
  "$IGNIS" record -q -F "$hz" -o "$T/s.pb.gz" -- "$S/cpu_shares" "$D" >"$T/prof$hz" 2>/dev/null
done
"$S/cpu_shares" "$D" >"$T/base2"
base=$(awk -v a="$(rate "$T/base1")" -v b="$(rate "$T/base2")" 'BEGIN { print (a + b) / 2 }')
echo "baseline: $(rate "$T/base1") and $(rate "$T/base2") units/s (mean $base)"
for hz in 99 999; do
  r=$(rate "$T/prof$hz")
  echo "ignis record -F $hz: $r units/s, slowdown $(awk -v b="$base" -v r="$r" 'BEGIN { printf "%.1f%%", (b - r) * 100 / b }')"
done

if [ -x "$B/bench/profiler_engine" ]; then
  echo
  echo "== engine split at 999 Hz ($D s): cached CFI (default) vs libunwind only"
  for u in cfi libunwind; do
    for prog in cpu_shares cpu_recurse; do
      printf '%-10s %-12s ' "$u" "$prog"
      IGNIS_UNWINDER=$u "$B/bench/profiler_engine" 999 "$D" "$S/$prog" $((D + 2)) 2>/dev/null |
        tr '\n' ' ' | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(samples|attach_ms|warmup_ms|steady_us_per_sample|total_us_per_sample)=/) printf "%s ", $i; print "" }'
    done
  done
fi
echo "(the machine is shared: figures vary with the load of other processes)"
