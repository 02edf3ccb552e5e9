# profiler/ — the sampling engine (perf events, unwinding, recording) behind
# `ignis record` and `ignis top`; the symbolizer lives in profiler/sym/.
CLI_SRCS += profiler/perf.c profiler/procmap.c profiler/unwind.c profiler/record.c cmd/record.c \
            profiler/offcpu.c profiler/sched_switch.c
# the OTEP 4719/4947 span context reader (profiler/spanctx.c), its test and fuzz target
CLI_SRCS += profiler/spanctx.c
TEST_BINS += tests/profiler/test_spanctx tests/fuzz/replay_fuzz_spanctx
FUZZERS += fuzz/fuzz_spanctx.c
CLI_PKGS += libunwind-generic libdw libelf
BENCH_BINS += bench/profiler_engine
BENCH_SCRIPTS += bench/profiler.sh bench/offcpu.sh
# off-CPU and wall-clock profiles: a profile's samples with their labels,
# for the shell tests (tests/profiler/t_offcpu*.sh)
EXTRA_TARGETS += $(B)/tests/profiler/profdump
$(B)/tests/profiler/profdump: tests/profiler/profdump.c $(B)/libignis.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libignis.a $(LDSAN) $(LIB_LDLIBS)
