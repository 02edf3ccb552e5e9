# profiler/alloc/ — allocation (heap) profiles: the LD_PRELOAD sampler
# (libignis-alloc.so), the uprobe attach route and `ignis record --alloc`.
CLI_SRCS += profiler/alloc/heaptab.c profiler/alloc/heapprof.c profiler/alloc/heapfile.c profiler/alloc/collect.c \
            profiler/alloc/alloc_record.c profiler/alloc/attach.c
LIB_SRCS += profiler/alloc/api.c
CLI_PKGS += libelf
# span labels on the attach route: a BPF program on the entry uprobes
# (profiler/bpf/allocspan.bpf.c, spanctx.bpf.c plus one program, x86-64),
# embedded as a bpftool skeleton and loaded by allocbpf.c (profiler/build.mk
# sets BPFTOOL and BPF_CLANG)
CLI_SRCS += profiler/alloc/allocbpf.c
ifeq ($(shell uname -m),x86_64)
ALLOCSPAN_GEN := $(B)/gen/profiler/bpf
$(ALLOCSPAN_GEN)/allocspan.bpf.o: profiler/bpf/allocspan.bpf.c profiler/bpf/allocspan_abi.h \
                                  profiler/bpf/spanctx.bpf.c profiler/bpf/spanctx_abi.h
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -O2 -g -target bpf -I/usr/include/$(shell gcc -print-multiarch) -I. -Wall -Werror -c $< -o $@
$(ALLOCSPAN_GEN)/allocspan.skel.h: $(ALLOCSPAN_GEN)/allocspan.bpf.o
	$(BPFTOOL) gen skeleton $< name ig_allocspan_bpf > $@.tmp && mv $@.tmp $@
$(B)/obj/profiler/alloc/allocbpf.o: $(ALLOCSPAN_GEN)/allocspan.skel.h
$(B)/obj/profiler/alloc/allocbpf.o: CFLAGS += -DIG_HAVE_ALLOCSPAN
endif
TEST_BINS += tests/alloc/test_sampler tests/alloc/test_heaptab tests/alloc/test_heapprof tests/alloc/test_heapfile \
             tests/alloc/test_allocjoin
# the heap table file reader's fuzz target and its corpus replay
FUZZERS += fuzz/fuzz_heapfile.c
TEST_BINS += tests/fuzz/replay_fuzz_heapfile
# the span-label events' decoder and count join (allocbpf.c)
FUZZERS += fuzz/fuzz_allocspan.c
TEST_BINS += tests/fuzz/replay_fuzz_allocspan
TEST_SCRIPTS += tests/alloc/t_preload.sh tests/alloc/t_faults.sh tests/alloc/t_record.sh tests/alloc/t_attach.sh \
                tests/alloc/t_attach_allocators.sh tests/alloc/t_fork.sh tests/alloc/t_signals.sh \
                tests/alloc/t_attach_spans.sh
BENCH_SCRIPTS += bench/alloc.sh bench/alloc_spans.sh

# The preload library: shim objects plus the profile model and pprof writer
# from libignis.a.  Not built in sanitizer variants: a preloaded malloc
# cannot run under ASan/TSan (they own malloc themselves).
ALLOC_SHIM_OBJS := $(B)/obj/profiler/alloc/shim.o $(B)/obj/profiler/alloc/heaptab.o \
                   $(B)/obj/profiler/alloc/heapprof.o $(B)/obj/profiler/alloc/heapfile.o
ifeq ($(SANITIZE)$(TSAN)$(FUZZ),)
EXTRA_TARGETS += $(B)/libignis-alloc.so
INSTALL_EXTRA += install -d $(DESTDIR)$(PREFIX)/lib/ignis && \
                 install -m 755 $(B)/libignis-alloc.so $(DESTDIR)$(PREFIX)/lib/ignis/libignis-alloc.so;
endif
$(B)/libignis-alloc.so: $(ALLOC_SHIM_OBJS) $(B)/libignis.a profiler/alloc/shim.map
	$(CC) -shared -Wl,--version-script=profiler/alloc/shim.map -Wl,-z,nodelete -o $@ \
	    $(ALLOC_SHIM_OBJS) $(B)/libignis.a $(call pkg_libs,zlib libprotobuf-c) -ldl -lpthread -lm

EXTRA_TARGETS += $(B)/tests/alloc/heapcheck
$(B)/tests/alloc/heapcheck: tests/alloc/heapcheck.c $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libignis-internal.a $(LDSAN) $(CLI_LDLIBS)

# a target publishing its own span context with a key map entry that holds
# U+0000 (t_ctx_keys.sh): exported TLS, so the shim's dlsym finds it
EXTRA_TARGETS += $(B)/tests/alloc/ctxkeys
$(B)/tests/alloc/ctxkeys: tests/alloc/ctxkeys.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -rdynamic -o $@ $<
TEST_SCRIPTS += tests/alloc/t_ctx_keys.sh
