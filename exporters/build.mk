# exporters/ — span exporters behind libtrace/export.h.

# ---- OTLP exporters (protobuf/JSON over HTTP, JSON-lines file) ----
LIB_SRCS += exporters/otlp_encode.c exporters/otlp_config.c exporters/otlp_http.c exporters/otlp_file.c
PROTOS   += opentelemetry/proto/common/v1/common.proto \
            opentelemetry/proto/resource/v1/resource.proto \
            opentelemetry/proto/trace/v1/trace.proto \
            opentelemetry/proto/collector/trace/v1/trace_service.proto \
            opentelemetry/ignis/trace_shallow.proto opentelemetry/ignis/text.proto \
            opentelemetry/proto/profiles/v1development/profiles.proto \
            opentelemetry/proto/collector/profiles/v1development/profiles_service.proto
LIB_PKGS += libcurl json-c
BENCH_BINS    += bench/otlp_bench
BENCH_SCRIPTS += bench/otlp.sh
# protoc-c output must survive make's intermediate-file clean-up.
OTLP_GEN := $(patsubst %.proto,$(B)/gen/%.pb-c.c,$(filter opentelemetry/%,$(PROTOS)))
.SECONDARY: $(OTLP_GEN) $(OTLP_GEN:.c=.h)
# ---- end OTLP exporters ----

# ---- SVG flame graphs (exporters/svg.c, svg.js; cmd/flame.c) ----
LIB_SRCS += exporters/svg.c
CLI_SRCS += cmd/flame.c
TEST_BINS += tests/flame/test_svg
TEST_SCRIPTS += tests/flame/t_cli.sh tests/flame/t_chromium.sh tests/flame/t_hostile_names.sh
# negative and mixed-sign values: SVG geometry (parsed), folded and report output
TEST_SCRIPTS += tests/flame/t_signs.sh
BENCH_BINS += bench/flame_phases
BENCH_SCRIPTS += bench/flame.sh
# svg.js becomes a C string: whole-line comments dropped, lines trimmed.
$(B)/gen/exporters/svg_js.h: exporters/svg.js exporters/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* generated from exporters/svg.js -- do not edit */'; \
	   echo 'static const char ig_svg_js[] ='; \
	   sed -e 's/^[[:space:]]*//' -e '/^\/\//d' -e '/^$$/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	       -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@.tmp && mv $@.tmp $@
$(B)/obj/exporters/svg.o: $(B)/gen/exporters/svg_js.h
# ---- end SVG flame graphs ----

# ---- profile formats (pprof, folded, perf script; cmd/convert.c) ----
LIB_SRCS += exporters/pprof.c exporters/pbarena.c exporters/folded.c exporters/perfscript.c exporters/formats.c
PROTOS   += profile.proto
CLI_SRCS += cmd/convert.c
TEST_BINS += tests/formats/test_pprof tests/formats/test_folded tests/formats/test_perfscript \
             tests/formats/test_formats tests/formats/test_memory tests/fuzz/replay_fuzz_pprof tests/fuzz/replay_fuzz_folded \
             tests/fuzz/replay_fuzz_perfscript
TEST_SCRIPTS += tests/formats/t_bad_input.sh tests/formats/t_go_pprof.sh tests/formats/t_output_files.sh tests/formats/t_detect.sh tests/formats/t_overflow.sh \
                tests/formats/t_http_fetch.sh tests/formats/t_otlp_convert.sh
# a NUL inside pprof and OTLP/JSON strings: kept whole (shown as \u0000), never cut into a shorter name
TEST_SCRIPTS += tests/formats/t_nul_strings.sh
FUZZERS  += fuzz/fuzz_pprof.c fuzz/fuzz_folded.c fuzz/fuzz_perfscript.c
BENCH_BINS += bench/gen_folded bench/read_profile
BENCH_SCRIPTS += bench/formats.sh
.SECONDARY: $(B)/gen/profile.pb-c.c $(B)/gen/profile.pb-c.h
# ---- end profile formats ----

# ---- OTLP profiles (encode, decode, OTLP/JSON, export) ----
LIB_SRCS += exporters/otlp_profiles_encode.c exporters/otlp_profiles_decode.c exporters/pbjson.c \
            exporters/otlp_profiles_send.c
FUZZERS   += fuzz/fuzz_otlp_profiles.c
TEST_BINS += tests/fuzz/replay_fuzz_otlp_profiles
# ---- end OTLP profiles ----

# ---- the network library: fetching profiles from URLs, sending OTLP profiles ----
# fetch.c and htlhash.c need libcurl and libcrypto, and with the exporter
# they live in libignis-net.so, which the command loads with dlopen the
# first time it needs the network (exporters/net_load.c), like
# libignis-collect.so: plain `ignis` starts without libcurl's TLS stack.
# Tests link the same objects as an archive.
NET_SRCS := exporters/fetch.c exporters/htlhash.c exporters/resource_detect.c exporters/net_plugin.c
NET_OBJS := $(NET_SRCS:%.c=$(B)/obj/%.o)
NET_PKGS := libcurl libcrypto libdw libelf
NET_A    := $(B)/libignis-net.a
NET_SO   := $(B)/libignis-net.so
CLI_SRCS += exporters/net_load.c cmd/record_export.c
EXTRA_TARGETS += $(NET_SO)
INSTALL_EXTRA += install -d $(DESTDIR)$(PREFIX)/lib/ignis && \
                 install -m 755 $(NET_SO) $(DESTDIR)$(PREFIX)/lib/ignis/libignis-net.so;
$(NET_OBJS): CFLAGS += $(call pkg_cflags,$(NET_PKGS))
$(NET_A): $(NET_OBJS)
	@rm -f $@
	ar rcs $@ $^
# Everything but ignis_net_api stays local (exporters/net_plugin.map).
$(NET_SO): $(NET_OBJS) $(B)/libignis-internal.a exporters/net_plugin.map
	$(CC) -shared -Wl,--version-script=exporters/net_plugin.map -Wl,--no-undefined -Wl,--as-needed -o $@ \
	    $(NET_OBJS) $(INTERNAL_A) $(LDSAN) $(call pkg_libs,$(sort $(NET_PKGS) $(LIB_PKGS) $(CLI_PKGS))) $(CLI_LIBS) \
	    -lpthread -lm -ldl
TEST_PKGS += libcrypto
# ---- end network library ----
