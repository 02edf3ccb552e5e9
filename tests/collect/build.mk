# tests/collect — `ignis collect` and the trace store: decoders, store,
# metrics, writer (cmocka, linked with the collector's archive by the rule
# in collect/build.mk) and shell tests that run the real command with
# libignis services, curl, sqlite3 and Prometheus.
TEST_BINS += tests/collect/test_decode tests/collect/test_store
