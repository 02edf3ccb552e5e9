/*
 * tests/viewer/trace_store.c — writes the known traces of
 * tests/viewer/trace_fixture.h into a new trace store file, for the tmux
 * test of the trace views (e2e_traces.sh).
 *   usage: trace_store FILE [--add-span]
 * --add-span adds one more span to trace 1 (the live refresh check).
 */
#include "tests/viewer/trace_fixture.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trace_store FILE [--add-span]\n");
        return 2;
    }
    ig_err err;
    ig_store *s = ig_store_open(argv[1], IG_STORE_CREATE, &err);
    if (!s) {
        fprintf(stderr, "trace_store: %s\n", err.msg);
        return 1;
    }
    int rc;
    if (argc > 2 && !strcmp(argv[2], "--add-span")) {
        static const tf_span late = {1, 0x16, 0x11, "backend", "late arrival", 96 * TF_MS, 99 * TF_MS, 0, NULL,
                                     NULL, NULL, 0, 0, 0};
        rc = tf_insert(s, &late, 1);
    } else {
        rc = tf_fill_known(s);
    }
    ig_store_close(s);
    return rc ? 1 : 0;
}
