# profiler/ — the sampling engine (perf events, unwinding, recording) behind
# `ignis record` and `ignis top`; the symbolizer lives in profiler/sym/.
CLI_SRCS += profiler/perf.c profiler/procmap.c profiler/unwind.c profiler/record.c cmd/record.c
CLI_PKGS += libunwind-generic libdw libelf
BENCH_BINS += bench/profiler_engine
BENCH_SCRIPTS += bench/profiler.sh
