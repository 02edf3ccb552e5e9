#!/usr/bin/env bash
# bench/otlp.sh — OTLP/HTTP export throughput to a loopback receiver
# (spans/s and the exporting process's peak RSS), for the exporter alone
# and through the SDK's batch processor, next to the figure issue 3
# quotes for opentelemetry-cpp on this machine.  Wall-clock figures
# depend on what else the 2 cores run; the CPU lines show the cost.
set -euo pipefail
B=${IGNIS_BUILD:-build}
bin=$B/bench/otlp_bench
[ -x "$bin" ] || { echo "otlp.sh: $bin not built (make bench)"; exit 1; }
echo "== OTLP/HTTP export (target >= 1,000,000 spans/s with <= 64 MB RSS)"
"$bin" 4000000 protobuf
"$bin" 2000000 sdk
"$bin" 1000000 protobuf gzip
"$bin" 200000 json
echo "  opentelemetry-cpp on this machine (as quoted in issue 3): about 200,000 spans/s"
