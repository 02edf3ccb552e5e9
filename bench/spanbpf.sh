#!/usr/bin/env bash
# bench/spanbpf.sh — what labelling each sample with its span at sample
# time costs: the BPF program on the perf events (profiler/bpf/spanctx.bpf.c)
# and the user-space drain and join (profiler/spanbpf.c), on
# samples/spans/spanwork -i (2 threads of spans doing fixed work) sampled at
# 999 Hz with the recorder's 16 KiB stack copies.  See bench/spanbpf_bench.c
# for what each line measures (and the load line: the CPU a load costs with
# and without the cached kernel field offsets).  Needs BPF (root, or CAP_BPF + CAP_PERFMON):
# otherwise it says why and skips.
# BENCH_PAIRS (default 5): runs without/with the program, alternating;
# BENCH_SPAN_ROUNDS (default 10): spanwork rounds per run (~75 ms of work each).
set -u
B=${IGNIS_BUILD:-build}
PAIRS=${BENCH_PAIRS:-5}
ROUNDS=${BENCH_SPAN_ROUNDS:-10}
[ -x "$B/bench/spanbpf_bench" ] && [ -x "$B/samples/spans/spanwork" ] ||
  { echo "bench/spanbpf.sh: build first ($B/bench/spanbpf_bench, $B/samples/spans/spanwork)"; exit 1; }
echo "== span labels at sample time: BPF program on the sampling events (999 Hz, 16 KiB stacks, spanwork -i, 2 threads)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$B/bench/spanbpf_bench" "$B/samples/spans/spanwork" "$PAIRS" "$ROUNDS"
