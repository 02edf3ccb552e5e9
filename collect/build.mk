# collect/ — `ignis collect` (OTLP/HTTP receiver, SQLite trace store,
# forwarder, Prometheus /metrics) and the store `ignis view` reads.
#
# The store and the request decoders are part of the ignis binary (the
# viewer opens stores and OTLP-JSON files).
CLI_SRCS += collect/arena.c collect/batch.c collect/store.c collect/store_write.c collect/store_read.c collect/store_threads.c \
            collect/retention.c collect/decode.c collect/decode_json.c collect/base64.c collect/import.c
CLI_PKGS += sqlite3 json-c
PROTOS   += opentelemetry/ignis/collect_request.proto google/rpc/status.proto
.SECONDARY: $(B)/gen/opentelemetry/ignis/collect_request.pb-c.c $(B)/gen/opentelemetry/ignis/collect_request.pb-c.h \
            $(B)/gen/google/rpc/status.pb-c.c $(B)/gen/google/rpc/status.pb-c.h

# collect/schema.sql becomes a C string: comment lines dropped.
$(B)/gen/collect/schema_sql.h: collect/schema.sql collect/build.mk
	@mkdir -p $(dir $@)
	@{ echo '/* generated from collect/schema.sql -- do not edit */'; \
	   echo 'static const char ig_schema_sql[] ='; \
	   sed -e '/^[[:space:]]*--/d' -e '/^$$/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	       -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } > $@.tmp && mv $@.tmp $@
$(B)/obj/collect/store.o: $(B)/gen/collect/schema_sql.h

# The collector itself (receiver, writer, forwarder, metrics, options)
# links libmicrohttpd and libcurl, so it is a library the command loads
# with dlopen (cmd/collect.c), like libignis-alloc.so: plain `ignis` starts
# without their TLS stacks.  Its tests link the same objects as an archive.
COLLECT_SRCS := collect/main.c collect/receiver.c collect/conns.c collect/writer.c collect/forward.c collect/metrics.c
COLLECT_OBJS := $(COLLECT_SRCS:%.c=$(B)/obj/%.o)
COLLECT_PKGS := libmicrohttpd libcurl
COLLECT_A    := $(B)/libignis-collect.a
COLLECT_SO   := $(B)/libignis-collect.so
CLI_SRCS     += cmd/collect.c
EXTRA_TARGETS += $(COLLECT_SO)
INSTALL_EXTRA += install -d $(DESTDIR)$(PREFIX)/lib/ignis && \
                 install -m 755 $(COLLECT_SO) $(DESTDIR)$(PREFIX)/lib/ignis/libignis-collect.so;
$(COLLECT_OBJS): CFLAGS += $(call pkg_cflags,$(COLLECT_PKGS))
$(COLLECT_A): $(COLLECT_OBJS)
	@rm -f $@
	ar rcs $@ $^
# Everything but ignis_collect_main stays local (collect/plugin.map), so the
# library's copies of ignis code never interpose on the binary's.
$(COLLECT_SO): $(COLLECT_OBJS) $(B)/libignis-internal.a collect/plugin.map
	$(CC) -shared -Wl,--version-script=collect/plugin.map -Wl,--no-undefined -Wl,--as-needed -o $@ $(COLLECT_OBJS) $(INTERNAL_A) \
	    $(LDSAN) $(call pkg_libs,$(COLLECT_PKGS) $(LIB_PKGS) sqlite3) -lpthread -lm

# Tests of the collector link its archive before the internal one.
TEST_PKGS += libmicrohttpd libcurl sqlite3
$(B)/tests/collect/%: tests/collect/%.c $(COLLECT_A) $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(sort $(TEST_PKGS) cmocka)) -MMD -MP -o $@ $< $(COLLECT_A) $(INTERNAL_A) \
	    $(LDSAN) $(TEST_LDLIBS)

# Benchmark: ingest rate and receiver RSS with libignis services as load
# (tests/collect/emit, built with the tests).
BENCH_BINS    += bench/collect_read
BENCH_SCRIPTS += bench/collect.sh

# The collector's CPU per span by stage, without the network (links the
# collector's archive for its writer thread).
BENCH_BINS += bench/collect_ingest
# Both build their requests with bench/collect_request.c.
$(B)/bench/collect_ingest: bench/collect_ingest.c bench/collect_request.c $(COLLECT_A) $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(COLLECT_PKGS)) -MMD -MP -o $@ $< bench/collect_request.c $(COLLECT_A) $(INTERNAL_A) \
	    $(LDSAN) $(TEST_LDLIBS)

# The load generator of the ingest figure: pre-encoded requests over
# libcurl keep-alive connections (bench/collect_send.c).
BENCH_BINS += bench/collect_send
$(B)/bench/collect_send: bench/collect_send.c bench/collect_request.c $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,libcurl) -MMD -MP -o $@ $< bench/collect_request.c $(INTERNAL_A) $(LDSAN) $(TEST_LDLIBS)
