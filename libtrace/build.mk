# libtrace/ — the OpenTelemetry-compatible tracing SDK (include/ignis/trace.h).
LIB_SRCS += libtrace/env.c libtrace/tcache.c libtrace/sampler.c libtrace/resource.c \
            libtrace/span.c libtrace/context.c libtrace/provider.c libtrace/batch.c \
            libtrace/console.c libtrace/w3c.c libtrace/b3.c libtrace/baggage.c \
            libtrace/propagate.c libtrace/clock.c \
            libtrace/plugin.c libtrace/spandata.c libtrace/threadctx.c libtrace/procctx.c
# otel_thread_ctx_v1 in the TLSDESC dialect, as OTEP 4947 recommends (where
# the compiler has it; the reader supports the other dialects too).
TLSDESC_FLAG := $(shell $(CC) -mtls-dialect=gnu2 -x c -c -o /dev/null /dev/null 2>/dev/null && echo -mtls-dialect=gnu2)
$(B)/obj/libtrace/threadctx.o: CFLAGS += $(TLSDESC_FLAG)
# UTF-8 checks for baggage and the OTLP encoders (listed here, not in
# utils/build.mk, so that branches adding other utils do not collide).
TEST_BINS += tests/trace/test_w3c tests/trace/test_b3 tests/trace/test_baggage \
             tests/trace/test_sampler tests/trace/test_span tests/trace/test_env \
             tests/trace/test_batch tests/trace/test_fork tests/trace/test_stress \
             tests/trace/test_clock tests/trace/test_percent tests/trace/test_rings tests/trace/test_utf8 tests/trace/test_plugin tests/trace/test_scopes \
             tests/fuzz/replay_fuzz_traceparent tests/fuzz/replay_fuzz_tracestate \
             tests/fuzz/replay_fuzz_baggage tests/fuzz/replay_fuzz_b3
TEST_SCRIPTS += tests/trace/t_link.sh
FUZZERS += fuzz/fuzz_traceparent.c fuzz/fuzz_tracestate.c fuzz/fuzz_baggage.c fuzz/fuzz_b3.c
BENCH_BINS += bench/trace_bench
BENCH_SCRIPTS += bench/trace.sh
# A service linked with libignis.so whose spans tests/profiler/test_spanctx.c
# reads from outside (a separate program: the dynamic library, TLSDESC).
EXTRA_TARGETS += $(B)/tests/trace/spanctx_child
$(B)/tests/trace/spanctx_child: tests/trace/spanctx_child.c $(B)/libignis.so $(B)/libignis.so.0
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -Iinclude $(SANFLAGS) -o $@ $< -L$(B) \
	  -Wl,-rpath,$(abspath $(B)) -lignis -lpthread -ldl
