# ignis — top-level build.
#
# Set-up on a fresh Debian machine is two commands: `make demo` and
# `make test`.  Both run scripts/deps.sh first (it installs what is missing)
# and then re-enter make, so pkg-config sees the packages it needs.
#
# Every folder contributes a `build.mk` fragment that appends to:
#   LIB_SRCS       sources of libignis (.so and .a): the public API
#   LIB_PKGS       pkg-config packages libignis links against
#   CLI_SRCS       sources of the `ignis` command besides the library
#   CLI_PKGS       pkg-config packages the command links against
#   CLI_LIBS       raw linker flags for the command (e.g. -lstdc++)
#   PROTOS         .proto files below proto/, compiled with protoc-c into the library
#   TEST_BINS      test programs; tests/AREA/NAME.c builds $(B)/tests/AREA/NAME
#   TEST_PKGS      extra pkg-config packages for tests (cmocka is always there)
#   TEST_SCRIPTS   shell tests (exit 0 pass, 77 skip, else fail)
#   SAMPLE_BINS    sample programs (rules in the fragment)
#   BENCH_BINS     benchmark programs (rules in the fragment or the pattern below)
#   BENCH_SCRIPTS  benchmark drivers run by `make bench`
#   FUZZERS        libFuzzer entry files fuzz/NAME.c
#   EXTRA_TARGETS  anything else `make` should build (e.g. preload libraries)
# Fragments may add their own rules; they must only use $(B) for outputs.
#
# Variants: SANITIZE=1 (ASan+UBSan, build-asan/), TSAN=1 (build-tsan/),
# `make fuzz` (clang + libFuzzer, build-fuzz/).

CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
B        ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(TSAN),1)
B        ?= build-tsan
SANFLAGS := -fsanitize=thread
else ifeq ($(FUZZ),1)
B        ?= build-fuzz
CC       := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B        ?= build
SANFLAGS :=
endif

OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wno-missing-field-initializers
BASEFLAGS := -std=gnu11 $(OPT) -g -fPIC -fvisibility=hidden -D_GNU_SOURCE -DIGNIS_BUILDING \
             -Iinclude -I. -I$(B)/gen $(SANFLAGS)
LDSAN    := $(SANFLAGS)

LIB_SRCS :=
LIB_PKGS := zlib libprotobuf-c
CLI_SRCS :=
CLI_PKGS :=
CLI_LIBS :=
PROTOS   :=
TEST_BINS :=
TEST_PKGS :=
TEST_SCRIPTS :=
SAMPLE_BINS :=
BENCH_BINS :=
BENCH_SCRIPTS :=
FUZZERS  :=
EXTRA_TARGETS :=
# The internal archive (library + command objects) tests and tools link;
# defined before the fragments so their rules can name it as a prerequisite.
INTERNAL_A := $(B)/libignis-internal.a

include $(sort $(wildcard */build.mk) $(wildcard */*/build.mk))

pkg_cflags = $(if $(strip $(1)),$(shell $(PKG_CONFIG) --cflags $(1)))
pkg_libs   = $(if $(strip $(1)),$(shell $(PKG_CONFIG) --libs $(1)))

ALL_PKGS   := $(sort $(LIB_PKGS) $(CLI_PKGS))
CFLAGS     := $(BASEFLAGS) $(WARN) $(call pkg_cflags,$(ALL_PKGS))
LIB_LDLIBS := $(call pkg_libs,$(LIB_PKGS)) -lpthread -lm
CLI_LDLIBS := $(call pkg_libs,$(sort $(LIB_PKGS) $(CLI_PKGS))) $(CLI_LIBS) -lpthread -lm -ldl
TEST_LDLIBS := $(call pkg_libs,$(sort $(TEST_PKGS) cmocka)) $(CLI_LDLIBS)

PROTO_C    := $(PROTOS:%.proto=$(B)/gen/%.pb-c.c)
PROTO_H    := $(PROTOS:%.proto=$(B)/gen/%.pb-c.h)
PROTO_OBJS := $(PROTOS:%.proto=$(B)/obj/gen/%.pb-c.o)
LIB_OBJS   := $(LIB_SRCS:%.c=$(B)/obj/%.o) $(PROTO_OBJS)
CLI_OBJS   := $(CLI_SRCS:%.c=$(B)/obj/%.o)
MAIN_OBJ   := $(B)/obj/cmd/main.o

IGNIS      := $(B)/ignis
TEST_OUT   := $(TEST_BINS:%=$(B)/%)
BENCH_OUT  := $(BENCH_BINS:%=$(B)/%)

.PHONY: all lib deps demo test check check-tsan bench bench-run fuzz fuzz-run install clean tests-build
.DEFAULT_GOAL := all

all: lib $(IGNIS) $(SAMPLE_BINS) $(EXTRA_TARGETS)

lib: $(B)/libignis.so $(B)/libignis.so.0 $(B)/libignis.a $(B)/ignis.pc

deps:
	@bash scripts/deps.sh

# ---- protobuf ---------------------------------------------------------------
$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	protoc-c --proto_path=proto --c_out=$(B)/gen $<

$(B)/obj/gen/%.o: $(B)/gen/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) -w -MMD -MP -c $< -o $@

# ---- objects ----------------------------------------------------------------
$(B)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# ---- libraries and the command ----------------------------------------------
# The real file is libignis.so.0.1.0; libignis.so.0 (the soname, what the
# loader looks for) and libignis.so (what -lignis finds) link to it, in the
# build tree as once installed.
$(B)/libignis.so.0.1.0: $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libignis.so.0 $(LDSAN) -o $@ $^ $(LIB_LDLIBS)

$(B)/libignis.so.0 $(B)/libignis.so: $(B)/libignis.so.0.1.0
	ln -sf libignis.so.0.1.0 $@

$(B)/libignis.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(INTERNAL_A): $(LIB_OBJS) $(filter-out $(MAIN_OBJ),$(CLI_OBJS))
	@rm -f $@
	ar rcs $@ $^

# The command links its own objects directly (so the weak subcommand
# references in cmd/main.c resolve to whatever is built) and the library
# through the archive with --as-needed: only the library objects it uses
# come in, and only the shared libraries those need are loaded at start
# (not libcurl and its TLS stack, which only the OTLP exporter uses).
$(IGNIS): $(CLI_OBJS) $(B)/libignis.a
	$(CC) $(LDSAN) -rdynamic -Wl,--as-needed -o $@ $(CLI_OBJS) $(B)/libignis.a $(CLI_LDLIBS)

$(B)/ignis.pc: Makefile
	@mkdir -p $(B)
	@printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' 'libdir=$${prefix}/lib' '' \
	  'Name: ignis' 'Description: ignis tracing SDK and profile model' 'Version: 0.1.0' \
	  'Requires.private: $(LIB_PKGS)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lignis' \
	  'Libs.private: -lpthread -lm -Wl,--export-dynamic-symbol=otel_thread_ctx_v1' > $@

# ---- tests ------------------------------------------------------------------
$(B)/tests/%: tests/%.c $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(sort $(TEST_PKGS) cmocka)) -MMD -MP -o $@ $< $(INTERNAL_A) $(LDSAN) $(TEST_LDLIBS)

tests-build: all $(TEST_OUT)

test:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory check

check: tests-build
	@IGNIS_BUILD=$(B) bash tests/run.sh $(B) $(TEST_OUT) -- $(TEST_SCRIPTS)

# The threaded tests (SDK, exporter, heap table, live view, viewer tasks, collector) under ThreadSanitizer.
TSAN_TESTS := $(filter tests/trace/% tests/otlp/% tests/alloc/test_heaptab tests/viewer/test_live tests/viewer/test_tasks tests/collect/test_metrics tests/collect/test_receiver,$(TEST_BINS))
check-tsan:
	@$(MAKE) --no-print-directory TSAN=1 tests-build
	@IGNIS_BUILD=build-tsan bash tests/run.sh build-tsan $(TSAN_TESTS:%=build-tsan/%) --

# ---- benchmarks -------------------------------------------------------------
$(B)/bench/%: bench/%.c $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(INTERNAL_A) $(LDSAN) $(TEST_LDLIBS)

bench:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory bench-run

bench-run: all $(BENCH_OUT)
	@set -e; for s in $(BENCH_SCRIPTS); do IGNIS_BUILD=$(B) bash $$s; done

# ---- fuzzing ----------------------------------------------------------------
FUZZ_SECONDS ?= 20
$(B)/fuzz/%: fuzz/%.c $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(INTERNAL_A) $(TEST_LDLIBS)

fuzz:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-run

fuzz-run: $(FUZZERS:fuzz/%.c=$(B)/fuzz/%)
	@bash fuzz/run.sh $(B) $(FUZZ_SECONDS) $(FUZZERS:fuzz/%.c=%)

# ---- demo, install, clean ---------------------------------------------------
demo:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@IGNIS_BUILD=$(B) bash scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include/ignis $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/ignis/*.h $(DESTDIR)$(PREFIX)/include/ignis/
	install -m 755 $(B)/libignis.so.0.1.0 $(DESTDIR)$(PREFIX)/lib/libignis.so.0.1.0
	ln -sf libignis.so.0.1.0 $(DESTDIR)$(PREFIX)/lib/libignis.so.0
	ln -sf libignis.so.0 $(DESTDIR)$(PREFIX)/lib/libignis.so
	install -m 644 $(B)/libignis.a $(DESTDIR)$(PREFIX)/lib/
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(B)/ignis.pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ignis.pc
	install -m 755 $(IGNIS) $(DESTDIR)$(PREFIX)/bin/ignis
	$(INSTALL_EXTRA)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
