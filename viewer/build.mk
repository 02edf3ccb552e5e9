# viewer/ — `ignis view` and `ignis top`: a curses-free model (layout,
# search, filters, keys, rendering into a cell grid) and a thin curses layer.
CLI_SRCS += viewer/layout.c viewer/model.c viewer/keys.c viewer/screen.c viewer/export.c viewer/treeprof.c \
            viewer/tui.c viewer/live.c cmd/view.c cmd/top.c
CLI_PKGS += ncursesw
TEST_BINS += tests/viewer/test_layout tests/viewer/test_model tests/viewer/test_live
TEST_SCRIPTS += tests/viewer/e2e_view.sh tests/viewer/e2e_top.sh
BENCH_SCRIPTS += bench/viewer.sh
