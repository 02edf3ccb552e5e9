# tests/profiler/ — the sampling engine: unit tests of the ring reader and
# sample parser, the recorder API, and shell tests of `ignis record` on the
# samples/cpu programs (shares, recursion, inlining, dlopen and late
# threads, thread churn, killed targets, bad input, options, deleted and
# stripped binaries, JIT perf maps, agreement with perf).
TEST_BINS += tests/profiler/test_record
TEST_PKGS += libelf
TEST_SCRIPTS += tests/profiler/t_shares.sh tests/profiler/t_recurse.sh tests/profiler/t_late.sh \
                tests/profiler/t_churn.sh tests/profiler/t_killed.sh tests/profiler/t_errors.sh \
                tests/profiler/t_small_stack.sh tests/profiler/t_options.sh tests/profiler/t_deleted.sh \
                tests/profiler/t_stripped.sh tests/profiler/t_jit.sh tests/profiler/t_perf_compare.sh
# the ring reader / sample parser fuzz target and its corpus replay
FUZZERS += fuzz/fuzz_perf_records.c
TEST_BINS += tests/fuzz/replay_fuzz_perf_records
