# profiler/ — the sampling engine (perf events, unwinding, recording) behind
# `ignis record` and `ignis top`; the symbolizer lives in profiler/sym/.
CLI_SRCS += profiler/perf.c profiler/procmap.c profiler/unwind.c profiler/record.c cmd/record.c
# system-wide recording (-a, --cgroup): /proc and cgroupfs
CLI_SRCS += profiler/syswide.c cmd/agent.c
# the OTEP 4719/4947 span context reader (profiler/spanctx.c), its test and fuzz target
CLI_SRCS += profiler/spanctx.c
TEST_BINS += tests/profiler/test_spanctx tests/fuzz/replay_fuzz_spanctx
FUZZERS += fuzz/fuzz_spanctx.c
CLI_PKGS += libunwind-generic libdw libelf
BENCH_BINS += bench/profiler_engine
BENCH_SCRIPTS += bench/profiler.sh
# continuous system-wide profiling: ignis agent CPU% and RSS at 19 and 99 Hz
BENCH_SCRIPTS += bench/agent.sh
