# profile/ — the one profile model (samples, stacks, locations, functions,
# mappings, labels) and the call tree built from it.
LIB_SRCS += profile/version.c profile/profile.c profile/tree.c profile/truncated.c profile/source.c profile/spans.c
LIB_SRCS += profile/framename.c
TEST_BINS += tests/profile/test_model tests/profile/test_tree
# span selections and the thread-time join against brute force, with their work bounded
TEST_BINS += tests/profile/test_spans
# source listings (pprof list) and frame granularity
TEST_BINS += tests/profile/test_source tests/profile/test_granularity
# the filters (regexes, label filter specs): fuzz target and corpus replay
FUZZERS += fuzz/fuzz_filters.c
TEST_BINS += tests/fuzz/replay_fuzz_filters
# opening the 200k-stack profile: report, flame, view's first frame, beside go tool pprof -top
BENCH_SCRIPTS += bench/load.sh
