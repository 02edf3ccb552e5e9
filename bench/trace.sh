#!/usr/bin/env bash
# bench/trace.sh — runs the tracing SDK benchmark (bench/trace_bench.c):
# ns per span (sampled with 3 attributes through the batch processor into a
# discarding exporter, 1 and 2 threads; unsampled; the same spans made
# current, whose scope push and pop publish the thread's span for
# profilers, against the plain ones), inject+extract, and
# drops at the default queue (tight loop, and a paced 500k spans/s
# producer), each in a summary table beside its target and the
# opentelemetry-cpp figures measured side by side in issues 3 and 11
# (opentelemetry-cpp is not installed here: Debian bookworm has no package
# for it).  First with the default clock choice (auto: the TSC only when
# the kernel's own clocksource is tsc), then the sampled figures with the
# TSC clock forced (IGNIS_TRACE_CLOCK=tsc).
set -eu
B=${IGNIS_BUILD:-build}
n=${TRACE_BENCH_SPANS:-2000000}
cs=/sys/devices/system/clocksource/clocksource0
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "== tracing SDK (libtrace) =="
echo "kernel clocksource: $(cat $cs/current_clocksource 2>/dev/null || echo '?')" \
     "(available: $(cat $cs/available_clocksource 2>/dev/null || echo '?'));" \
     "CPU constant_tsc: $(has constant_tsc), nonstop_tsc: $(has nonstop_tsc)"
if pkg-config --exists opentelemetry_api 2>/dev/null || [ -d /usr/include/opentelemetry ]; then
  echo "opentelemetry-cpp is installed, but no side-by-side program is built for it: its column quotes issue 11"
else
  echo "opentelemetry-cpp: not installed here; its column quotes the side-by-side figures of issues 3 and 11"
fi
env -u IGNIS_TRACE_CLOCK "$B/bench/trace_bench" "$n" 2>&1 | grep -v '^ignis: trace: shutdown'
echo
echo "== the same sampled figures with the TSC clock forced =="
IGNIS_TRACE_CLOCK=tsc "$B/bench/trace_bench" "$n" --sampled-only 2>&1 | grep -v '^ignis: trace: shutdown'
