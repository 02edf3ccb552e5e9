# tests/otlp — OTLP encoding, configuration, HTTP exporter and end-to-end
# (the e2e test runs the samples/http services as child processes).
TEST_BINS += tests/otlp/test_encode tests/otlp/test_config tests/otlp/test_http tests/otlp/test_e2e \
             tests/otlp/test_shutdown
TEST_PKGS += libmicrohttpd json-c libcurl
$(B)/tests/otlp/test_e2e: | $(B)/samples/sample-frontend $(B)/samples/sample-backend $(B)/samples/sample-load
# Fuzz targets for what the exporter parses, and their corpus replays.
FUZZERS   += fuzz/fuzz_otlp_headers.c fuzz/fuzz_otlp_retry_after.c fuzz/fuzz_otlp_response.c
TEST_BINS += tests/fuzz/replay_fuzz_otlp_headers tests/fuzz/replay_fuzz_otlp_retry_after \
             tests/fuzz/replay_fuzz_otlp_response
