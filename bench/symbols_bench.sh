#!/usr/bin/env bash
# bench/symbols_bench.sh — symbolizer cost per lookup, cold and warm, on
# the bench binary itself (DWARF) and on libc / libdw (symbol tables).
set -euo pipefail
B=${IGNIS_BUILD:-build}
bin=$B/bench/symbols_bench
[ -x "$bin" ] || { echo "symbols_bench.sh: $bin not built (make bench)"; exit 1; }
echo "== symbolizer: ns per lookup (profiler budget: 5000 ns per sample, all included)"
"$bin" 20000 50
