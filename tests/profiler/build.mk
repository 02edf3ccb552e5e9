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
                tests/profiler/t_stripped.sh tests/profiler/t_jit.sh tests/profiler/t_perf_compare.sh \
                tests/profiler/t_short.sh tests/profiler/t_forkexec.sh \
                tests/profiler/t_mntns.sh tests/profiler/t_threads.sh
# the ring reader / sample parser fuzz target and its corpus replay
FUZZERS += fuzz/fuzz_perf_records.c
TEST_BINS += tests/fuzz/replay_fuzz_perf_records
# the persistent symbol cache (profiler/sym/cache.c): warm = cold answers,
# corrupt entries rebuilt, --no-cache, unwritable directories; the fuzz
# targets of its four entry readers and their corpus replays
TEST_BINS += tests/profiler/test_symcache tests/fuzz/replay_fuzz_ksym_cache tests/fuzz/replay_fuzz_cuindex_cache \
             tests/fuzz/replay_fuzz_debug_cache tests/fuzz/replay_fuzz_frames_cache
TEST_SCRIPTS += tests/profiler/t_cache.sh
FUZZERS += fuzz/fuzz_ksym_cache.c fuzz/fuzz_cuindex_cache.c fuzz/fuzz_debug_cache.c fuzz/fuzz_frames_cache.c
