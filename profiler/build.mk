# profiler/ — the sampling engine (perf events, unwinding, recording) behind
# `ignis record` and `ignis top`; the symbolizer lives in profiler/sym/.
CLI_SRCS += profiler/perf.c profiler/procmap.c profiler/unwind.c profiler/record.c cmd/record.c \
            profiler/offcpu.c profiler/sched_switch.c
# system-wide recording (-a, --cgroup): /proc and cgroupfs
CLI_SRCS += profiler/syswide.c cmd/agent.c
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
# exact span labels at sample time: a BPF program on the sampling events
# (profiler/bpf/spanctx.bpf.c, x86-64), compiled with clang -target bpf and
# embedded as a bpftool skeleton; loaded with libbpf by profiler/spanbpf.c
CLI_SRCS += profiler/spanbpf.c profiler/offbpf.c
ifeq ($(shell uname -m),x86_64)
CLI_PKGS += libbpf
BPFTOOL ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BPF_CLANG ?= clang
SPANBPF_GEN := $(B)/gen/profiler/bpf
$(SPANBPF_GEN)/spanctx.bpf.o: profiler/bpf/spanctx.bpf.c profiler/bpf/spanctx_abi.h
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -I/usr/include/$(shell gcc -print-multiarch) -I. -Wall -Werror -c $< -o $@
$(SPANBPF_GEN)/spanctx.skel.h: $(SPANBPF_GEN)/spanctx.bpf.o
	$(BPFTOOL) gen skeleton $< name ig_spanctx_bpf > $@.tmp && mv $@.tmp $@
$(B)/obj/profiler/spanbpf.o: $(SPANBPF_GEN)/spanctx.skel.h
$(B)/obj/profiler/spanbpf.o: CFLAGS += -DIG_HAVE_SPANBPF
# off-CPU waits decided at their end (profiler/bpf/offcpu.bpf.c: spanctx.bpf.c
# plus tp_btf programs), loaded by profiler/offbpf.c
$(SPANBPF_GEN)/offcpu.bpf.o: profiler/bpf/offcpu.bpf.c profiler/bpf/offcpu_abi.h profiler/bpf/spanctx.bpf.c \
                             profiler/bpf/spanctx_abi.h
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/$(shell gcc -print-multiarch) -I. -Wall \
	    -Werror -c $< -o $@
$(SPANBPF_GEN)/offcpu.skel.h: $(SPANBPF_GEN)/offcpu.bpf.o
	$(BPFTOOL) gen skeleton $< name ig_offcpu_bpf > $@.tmp && mv $@.tmp $@
$(B)/obj/profiler/offbpf.o: $(SPANBPF_GEN)/offcpu.skel.h
$(B)/obj/profiler/offbpf.o: CFLAGS += -DIG_HAVE_OFFBPF
# the floor under any off-CPU hook: an empty program on sched_switch (bench/offcpu.sh)
$(B)/gen/bench/bpf/switch_floor.bpf.o: bench/bpf/switch_floor.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(shell gcc -print-multiarch) -Wall -Werror \
	    -c $< -o $@
$(B)/gen/bench/bpf/switch_floor.skel.h: $(B)/gen/bench/bpf/switch_floor.bpf.o
	$(BPFTOOL) gen skeleton $< name ig_floor_bpf > $@.tmp && mv $@.tmp $@
$(B)/bench/switch_floor: $(B)/gen/bench/bpf/switch_floor.skel.h
$(B)/bench/switch_floor: CFLAGS += -DIG_HAVE_FLOORBPF
endif
BENCH_BINS += bench/switch_floor
# its test (against samples/spans/ ground truth), fuzz target (event decoder
# and join) and benchmark
TEST_BINS += tests/profiler/test_spanbpf tests/fuzz/replay_fuzz_spanbpf
TEST_SCRIPTS += tests/profiler/t_spanbpf_pidns.sh
FUZZERS += fuzz/fuzz_spanbpf.c
BENCH_BINS += bench/spanbpf_bench
BENCH_SCRIPTS += bench/spanbpf.sh
# continuous system-wide profiling: ignis agent CPU% and RSS at 19 and 99 Hz
BENCH_SCRIPTS += bench/agent.sh
# the off-CPU BPF events' decoder
FUZZERS += fuzz/fuzz_offbpf.c
TEST_BINS += tests/fuzz/replay_fuzz_offbpf
