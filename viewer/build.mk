# viewer/ — `ignis view` and `ignis top`: a curses-free model (layout,
# search, filters, keys, rendering into a cell grid) and a thin curses layer.
CLI_SRCS += viewer/layout.c viewer/model.c viewer/keys.c viewer/screen.c viewer/export.c viewer/treeprof.c viewer/tui.c \
            viewer/live.c viewer/job.c viewer/tasks.c viewer/prompt.c viewer/cxxname.c cmd/view.c cmd/top.c
# the trace views (a store of collect/): waterfall geometry, model, keys, rendering
CLI_SRCS += viewer/waterfall.c viewer/tmodel.c viewer/tdetails.c viewer/tops.c viewer/tkeys.c viewer/tscreen.c viewer/tflame.c
CLI_PKGS += ncursesw
TEST_BINS += tests/viewer/test_layout tests/viewer/test_model tests/viewer/test_live tests/viewer/test_prompt \
             tests/viewer/test_tasks tests/viewer/test_keys
TEST_SCRIPTS += tests/viewer/e2e_view.sh tests/viewer/e2e_top.sh tests/viewer/e2e_keys.sh tests/viewer/e2e_diffpct.sh tests/viewer/e2e_badload.sh
BENCH_SCRIPTS += bench/viewer.sh
BENCH_BINS += bench/gen_traces
BENCH_SCRIPTS += bench/traces_view.sh
TEST_BINS += tests/viewer/test_traces
TEST_SCRIPTS += tests/viewer/e2e_traces.sh tests/viewer/e2e_traces_flame.sh
# a slow-vs-fast diff with spans missing from its source says PARTIAL in the title, as the command line does
TEST_SCRIPTS += tests/viewer/e2e_slow_partial.sh
# writes the known traces into a store file for e2e_traces.sh (the archive is
# named in full: INTERNAL_A is defined after the fragments are included)
EXTRA_TARGETS += $(B)/tests/viewer/trace_store
$(B)/tests/viewer/trace_store: tests/viewer/trace_store.c tests/viewer/trace_fixture.h $(B)/libignis-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(INTERNAL_A) $(LDSAN) $(CLI_LDLIBS)
