# tests/collect — `ignis collect` and the trace store: decoders, store,
# metrics, writer (cmocka, linked with the collector's archive by the rule
# in collect/build.mk) and shell tests that run the real command with
# libignis services, curl, sqlite3 and Prometheus.
TEST_BINS += tests/collect/test_decode tests/collect/test_store tests/collect/test_metrics tests/collect/test_receiver
# the receiver's connection table: eviction, a share per host, deadlines (collect/conns.h)
TEST_BINS += tests/collect/test_conns

# A service traced with libignis (public API and the static library, like
# a real one): the load and the ground truth of the shell tests and bench.
EXTRA_TARGETS += $(B)/tests/collect/emit
$(B)/tests/collect/emit: tests/collect/emit.c $(B)/libignis.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude $(SANFLAGS) -o $@ $< $(B)/libignis.a \
	    $(LDSAN) $(LIB_LDLIBS)
TEST_SCRIPTS += tests/collect/t_receiver.sh tests/collect/t_many_conns.sh
TEST_SCRIPTS += tests/collect/t_prometheus.sh
TEST_SCRIPTS += tests/collect/t_signals.sh
TEST_SCRIPTS += tests/collect/t_disk_full.sh
TEST_SCRIPTS += tests/collect/t_bad_db.sh
TEST_SCRIPTS += tests/collect/t_import.sh
TEST_SCRIPTS += tests/collect/t_forward.sh
# U+0000 in OTLP/JSON and protobuf strings: kept whole through the receiver, --import, the store and /metrics
TEST_SCRIPTS += tests/collect/t_nul.sh
# t_nul.sh's protobuf request: strings holding a NUL, built with protobuf-c
EXTRA_TARGETS += $(B)/tests/collect/nul_request
$(B)/tests/collect/nul_request: tests/collect/nul_request.c $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(INTERNAL_A) $(LDSAN) $(CLI_LDLIBS)
# refused bodies get their 413/429 (chunked, budget), conflicting Content-Length headers 400
TEST_SCRIPTS += tests/collect/t_refusals.sh
# ... also to senders without "Expect: 100-continue" (the body read on and discarded, then the answer)
TEST_SCRIPTS += tests/collect/t_refusals_noexpect.sh
# ... and every other answer decided from the headers: 404, 405, 415 (type, encoding)
TEST_SCRIPTS += tests/collect/t_early_noexpect.sh

# Fuzz targets for the request decoders, and their corpus replays.
FUZZERS   += fuzz/fuzz_collect_proto.c fuzz/fuzz_collect_json.c
TEST_BINS += tests/fuzz/replay_fuzz_collect_proto tests/fuzz/replay_fuzz_collect_json
# slow clients: a full pool evicts the oldest waiting connection, trickled headers and bodies are cut at their deadlines
TEST_SCRIPTS += tests/collect/t_slow_clients.sh
