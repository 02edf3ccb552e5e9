# tests/profiler/ — the sampling engine: unit tests of the ring reader and
# sample parser, the recorder API, and shell tests of `ignis record` on the
# samples/cpu programs (shares, recursion, inlining, dlopen and late
# threads, thread churn, killed targets, bad input, options, deleted and
# stripped binaries, JIT perf maps, agreement with perf); off-CPU and
# wall-clock profiles on samples/offcpu (test_offcpu: formats, records,
# pairing, wait channels; t_offcpu, t_wall: shares against the threads' own
# measurements; t_offcpu_edges: no tracefs, permission, attach, kill;
# t_offcpu_memo: the stack memo of switch-outs gives the same profile;
# t_offcpu_stack: the 8K default stack copy of switch-outs, --stack-size).
TEST_BINS += tests/profiler/test_record tests/profiler/test_truncated tests/profiler/test_offcpu
TEST_PKGS += libelf
TEST_SCRIPTS += tests/profiler/t_shares.sh tests/profiler/t_recurse.sh tests/profiler/t_late.sh tests/profiler/t_shrink.sh \
                tests/profiler/t_churn.sh tests/profiler/t_killed.sh tests/profiler/t_errors.sh tests/profiler/t_tree_end.sh \
                tests/profiler/t_small_stack.sh tests/profiler/t_options.sh tests/profiler/t_deleted.sh \
                tests/profiler/t_stripped.sh tests/profiler/t_jit.sh tests/profiler/t_perf_compare.sh \
                tests/profiler/t_short.sh tests/profiler/t_nocfi.sh \
                tests/profiler/t_truncated.sh tests/profiler/t_vdso.sh tests/profiler/t_forkexec.sh \
                tests/profiler/t_mntns.sh tests/profiler/t_threads.sh tests/profiler/t_offcpu.sh \
                tests/profiler/t_wall.sh tests/profiler/t_offcpu_edges.sh tests/profiler/t_offcpu_memo.sh \
                tests/profiler/t_offcpu_stack.sh tests/profiler/t_offcpu_sampling.sh \
                tests/profiler/t_offcpu_counters.sh tests/profiler/t_offcpu_stop.sh
# a target that bind-mounts a FIFO over its mapped executable (unshare -Urm)
# must not hang record -p / -a: mapped files are opened O_NONBLOCK, regular only
TEST_SCRIPTS += tests/profiler/t_fifo_maps.sh
TEST_SCRIPTS += tests/profiler/t_fifo_spans.sh
# ... nor record --alloc -p over a FIFO bind-mounted on its libc
TEST_SCRIPTS += tests/profiler/t_fifo_alloc.sh
# -p on a process whose main thread exited (pthread_exit; cpu_leader_exit):
# its zombie leader's maps are empty, a live thread's are read
TEST_SCRIPTS += tests/profiler/t_leader_exit.sh
# span labels on CPU samples through `ignis record -- CMD` (samples/spans ground truth)
TEST_SCRIPTS += tests/profiler/t_spans.sh
TEST_SCRIPTS += tests/profiler/t_spans_early.sh
# ... from a service's very first instruction (launch, -p before it publishes,
# spans from its first moments and after a start of its own; CPU, off-CPU,
# wall, allocations: samples/spans/spanstart ground truth, issue #13)
TEST_SCRIPTS += tests/profiler/t_spans_start.sh
TEST_SCRIPTS += tests/profiler/t_exec_old_image.sh
# ... and on off-CPU intervals (--off-cpu, --wall; spanwork -w ground truth)
TEST_SCRIPTS += tests/profiler/t_offcpu_spans.sh tests/profiler/t_offcpu_ringfull.sh tests/profiler/t_offcpu_spill.sh \
                tests/profiler/t_offcpu_percpu.sh tests/profiler/t_offcpu_leftover.sh
# ... and on allocation samples (--alloc, the preload shim; spanwork -m ground truth)
TEST_SCRIPTS += tests/profiler/t_alloc_spans.sh
# system-wide: ignis record -a (long and short-lived processes under their
# labels), --cgroup, its errors; continuous mode (--every, ignis agent)
TEST_SCRIPTS += tests/profiler/t_syswide.sh tests/profiler/t_syswide_cgroup.sh tests/profiler/t_syswide_errors.sh \
                tests/profiler/t_agent.sh
# ignis top -a / --cgroup: the live view of every process (tmux)
TEST_SCRIPTS += tests/profiler/t_top_all.sh
# stop signals in every mode (and `ignis top -o`), and record's exit status
TEST_SCRIPTS += tests/profiler/t_signals.sh tests/profiler/t_status.sh tests/profiler/t_top_signals.sh
# the ring reader / sample parser fuzz target and its corpus replay (also
# switch-out samples, sched_switch raw data and switch records), and the
# sched_switch format file parser's
FUZZERS += fuzz/fuzz_perf_records.c fuzz/fuzz_sched_format.c
TEST_BINS += tests/fuzz/replay_fuzz_perf_records tests/fuzz/replay_fuzz_sched_format
# the unwinder (registers + stack bytes against this process's real
# modules) and the symbolizer's offsets: fuzz target and corpus replay
FUZZERS += fuzz/fuzz_unwind.c
TEST_BINS += tests/fuzz/replay_fuzz_unwind
# the persistent symbol cache (profiler/sym/cache.c): warm = cold answers,
# corrupt entries rebuilt, --no-cache, unwritable directories; the fuzz
# targets of its four entry readers and their corpus replays
TEST_BINS += tests/profiler/test_symcache tests/fuzz/replay_fuzz_ksym_cache tests/fuzz/replay_fuzz_cuindex_cache \
             tests/fuzz/replay_fuzz_debug_cache tests/fuzz/replay_fuzz_frames_cache
TEST_SCRIPTS += tests/profiler/t_cache.sh
FUZZERS += fuzz/fuzz_ksym_cache.c fuzz/fuzz_cuindex_cache.c fuzz/fuzz_debug_cache.c fuzz/fuzz_frames_cache.c
# ignis record -a and --every with 10k processes (sleeping, and short-lived
# ones exec'd meanwhile): bounded memory and descriptors, pruned process
# table, every sample in the interval files (manyprocs spawns and reaps them)
TEST_SCRIPTS += tests/profiler/t_manyprocs.sh
EXTRA_TARGETS += $(B)/tests/profiler/manyprocs
$(B)/tests/profiler/manyprocs: tests/profiler/manyprocs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDSAN)
