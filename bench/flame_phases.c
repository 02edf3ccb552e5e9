/*
 * bench/flame_phases.c — times the phases of `ignis flame` separately, in
 * one process: reading the profile (ig_profile_load), building the call
 * tree as the SVG writer does (with the minwidth pruning threshold), and
 * the whole SVG write (tree included), so the SVG drawing itself is the
 * difference of the last two.  Prints one line:
 *   read 0.123 s | tree 0.045 s (12345 nodes) | svg 0.050 s (1.6 MB, 12345 frames)
 * usage: flame_phases FILE [--reverse] [--full]
 * --full builds the unpruned tree (min_total 0), as `ignis view` does.
 */
#include "exporters/formats.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: flame_phases FILE [--reverse] [--full]\n");
        return 2;
    }
    ignis_profile *p;
    ig_err err;
    double t0 = now();
    if (ig_profile_load(argv[1], NULL, &p, &err)) {
        fprintf(stderr, "flame_phases: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    ig_write_opts o = {.tree = {.value = -1}, .minwidth = -1};
    int full = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--reverse"))
            o.tree.reverse = 1;
        else if (!strcmp(argv[i], "--full"))
            full = 1;
    }
    /* the threshold ig_svg_write uses: 0.1 px of 1180 px */
    int vi = ignis_profile_default_value(p);
    ig_tree_opts to = o.tree;
    to.min_total = full ? 0 : (int64_t)(0.1 * (double)ignis_profile_total(p, (size_t)vi) / 1180);
    ig_tree *t = ig_tree_build(p, &to, &err);
    if (!t) {
        fprintf(stderr, "flame_phases: %s\n", err.msg);
        return 1;
    }
    double t2 = now();
    size_t nodes = ig_tree_size(t);
    ig_tree_free(t);
    ig_strbuf sb = IG_STRBUF_INIT;
    double t3 = now();
    if (ig_svg_write(p, &o, &sb, &err)) {
        fprintf(stderr, "flame_phases: %s\n", err.msg);
        return 1;
    }
    double t4 = now();
    printf("read %.3f s | tree %.3f s (%zu nodes) | svg write incl. tree %.3f s (%.1f MB, %zu frames)\n",
           t1 - t0, t2 - t1, nodes, t4 - t3, sb.len / 1e6, count(sb.data, "<g v="));
    ig_sb_free(&sb);
    ignis_profile_free(p);
    return 0;
}
