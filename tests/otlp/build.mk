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
# OTLP profiles: the exporter against an independent fake collector
# (profiles_collector.py) and the tool that sends a profile file.
TEST_SCRIPTS += tests/otlp/t_profiles_export.sh
EXTRA_TARGETS += $(B)/tests/otlp/send_profile
$(B)/tests/otlp/send_profile: tests/otlp/send_profile.c $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(INTERNAL_A) $(LDSAN) $(CLI_LDLIBS)
# The encoder, decoder, OTLP/JSON, resource and the exporter's queue; links
# the network library's archive (container ids, htlhash) before the internal one.
TEST_BINS += tests/otlp/test_profiles tests/otlp/test_profiles_view
$(B)/tests/otlp/test_profiles: tests/otlp/test_profiles.c $(NET_A) $(INTERNAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(sort $(TEST_PKGS) cmocka)) -MMD -MP -o $@ $< $(NET_A) $(INTERNAL_A) \
	    $(LDSAN) $(TEST_LDLIBS)
