# tests/otlp — OTLP encoding, configuration, HTTP exporter and end-to-end.
TEST_BINS += tests/otlp/test_encode tests/otlp/test_config
TEST_PKGS += libmicrohttpd json-c libcurl
