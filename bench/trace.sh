#!/usr/bin/env bash
# bench/trace.sh — runs the tracing SDK benchmark (bench/trace_bench.c):
# ns per span (sampled with 3 attributes through the batch processor into a
# discarding exporter, 1 and 2 threads; unsampled), inject+extract, and
# drops at the default queue for a paced 500k spans/s producer; then the
# sampled figures again with the opt-in TSC clock (IGNIS_TRACE_CLOCK=tsc).
# The opentelemetry-cpp figures printed beside ours are the ones quoted in
# issue 3 (opentelemetry-cpp is not installed here).
set -eu
B=${IGNIS_BUILD:-build}
n=${TRACE_BENCH_SPANS:-2000000}
echo "== tracing SDK (libtrace) =="
IGNIS_TRACE_CLOCK=realtime "$B/bench/trace_bench" "$n" 2>&1 | grep -v '^ignis: trace:'
echo
IGNIS_TRACE_CLOCK=tsc "$B/bench/trace_bench" "$n" --sampled-only 2>&1 | grep -v '^ignis: trace:'
