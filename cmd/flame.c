/*
 * cmd/flame.c — `ignis flame IN [-o OUT.svg] [options]`: an interactive SVG
 * flame graph of a profile in any readable format.
 *
 * The command only parses and checks options, loads the profile (and the
 * base profile of a differential graph) through exporters/formats.h, and
 * hands both to ig_svg_write(), which builds the call tree and draws it.
 * The SVG is assembled in memory and written by utils/fileio.c: a regular
 * file through a temporary file renamed at the end (so any error leaves no
 * output file behind), a device or FIFO in place, a symlink's target.  The
 * default output is IN with its extension replaced by ".svg"; "-o -" (or
 * IN "-") writes to standard output.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "utils/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "flame"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis flame IN [-o OUT.svg] [options]\n\n"
            "Writes an interactive SVG flame graph of a profile (pprof, folded stacks or\n"
            "perf script text, gzipped or not).  Click a frame to zoom, Ctrl-F to search.\n\n"
            "  -o, --output FILE     output file (default: IN with the extension .svg; - = stdout)\n"
            "      --title TEXT      title (default: Flame Graph)\n"
            "      --width PX        image width in pixels (default 1200)\n"
            "      --minwidth PX     hide frames narrower than this (default 0.1)\n"
            "      --inverted        icicle graph: root at the top (also --icicle)\n"
            "      --reverse         merge stacks from the leaf (callers graph)\n"
            "      --diff BASE       differential graph against profile BASE: red grew, blue\n"
            "                        shrank, frames only in BASE drawn dashed at their base\n"
            "                        width (pprof -diff_base=BASE)\n"
            "      --normalize       scale BASE to the same total first\n"
            "      --format F        input format: pprof, folded, perf-script (default: detect)\n"
            "      --value V         sample value to draw (index, type or type/unit)\n"
            CMD_HELP_GRANULARITY
            "      --addresses       a frame without a symbol is its address (libfoo.so+0x1a2b),\n"
            "                        not its module ([libfoo.so]) (pprof -addresses)\n"
            CMD_HELP_FILTERS
            CMD_HELP_SPANS
            CMD_HELP_PERCENT
            "  -q, --quiet           do not say what was written\n"
            "  -h, --help            this help\n");
}

/* Parses a whole decimal number within [lo, hi]. */
static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cmd_error(CMD, "%s: expected a whole number from %ld to %ld, got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_pixels(const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= 0 && v <= 100000)) {
        cmd_error(CMD, "%s: expected a number of pixels from 0 to 100000, got '%s'", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* IN with its extension replaced by ".svg"; a compressed one (".pb.gz",
 * ".folded.gz") counts as one extension. */
static char *default_output(const char *in)
{
    if (!strcmp(in, "-"))
        return strdup("-");
    size_t n = strlen(in);
    const char *slash = strrchr(in, '/');
    const char *base = slash ? slash + 1 : in;
    const char *dot = strrchr(base, '.');
    if (dot && dot > base) {
        n = (size_t)(dot - in);
        if (!strcmp(dot, ".gz")) {
            const char *prev = dot;
            while (prev > base && prev[-1] != '.')
                prev--;
            if (prev > base + 1)
                n = (size_t)(prev - 1 - in);
        }
    }
    char *out = malloc(n + 5);
    if (out) {
        memcpy(out, in, n);
        memcpy(out + n, ".svg", 5);
    }
    return out;
}

typedef struct flame_args {
    cmd_common c;
    const char *in, *out;
    int quiet;
    ig_write_opts w;
} flame_args;

enum { OPT_OUTPUT = 1, OPT_TITLE, OPT_WIDTH, OPT_MINWIDTH, OPT_QUIET, OPT_ADDRESSES };

/* Returns -1 to continue, else the exit status. */
static int parse_args(int argc, char **argv, flame_args *a)
{
    static const cmd_opt own[] = {
        {"output", 'o', CMD_ARG_REQUIRED, 0, OPT_OUTPUT},
        {"title", 0, CMD_ARG_REQUIRED, 0, OPT_TITLE},
        {"width", 0, CMD_ARG_REQUIRED, 0, OPT_WIDTH},
        {"minwidth", 0, CMD_ARG_REQUIRED, 0, OPT_MINWIDTH},
        {"quiet", 'q', CMD_ARG_NONE, 0, OPT_QUIET},
        {"addresses", 0, CMD_ARG_NONE, 0, OPT_ADDRESSES},
        {"addresses", 0, CMD_ARG_NONE, CMD_OPT_PPROF, OPT_ADDRESSES},
        {NULL, 0, 0, 0, 0},
    };
    static const cmd_opt *const tables[] = {own, cmd_input_opts, cmd_filter_opts, cmd_percent_opts, cmd_diff_opts,
                                            cmd_reverse_opts, cmd_inverted_opts, cmd_granularity_opts, cmd_span_opts,
                                            NULL};
    cmd_opts o;
    cmd_opts_init(&o, CMD, tables, argc, argv, 0);
    long width = 0;
    int id, rc = -1;
    while (rc < 0 && (id = cmd_opts_next(&o)) != CMD_OPTS_END) {
        switch (id) {
        case CMD_OPTS_ERROR: rc = 2; break;
        case OPT_OUTPUT: a->out = o.arg; break;
        case OPT_TITLE: a->w.title = o.arg; break;
        case OPT_WIDTH:
            if (parse_long("--width", o.arg, 100, 100000, &width))
                rc = 2; /* a usage error, as every other command's */
            a->w.width = (int)width;
            break;
        case OPT_MINWIDTH:
            if (parse_pixels("--minwidth", o.arg, &a->w.minwidth))
                rc = 2;
            break;
        case OPT_QUIET: a->quiet = 1; break;
        case OPT_ADDRESSES: a->c.granularity = IG_GRAN_ADDRESS; break;
        default:
            if (cmd_common_option(CMD, &a->c, id, o.arg))
                rc = 2;
        }
    }
    rc = cmd_one_input(CMD, &a->c, &o, usage, rc);
    if (rc < 0) {
        a->in = o.operands[0];
        cmd_common_tree_opts(&a->c, &a->w.tree);
        a->w.inverted = a->c.inverted;
    }
    cmd_opts_free(&o);
    return rc;
}

/* Frames drawn: one <g v="..."> element each (see exporters/svg.c). */
static size_t count_frames(const ig_strbuf *sb)
{
    size_t n = 0;
    for (const char *s = sb->data; s && (s = strstr(s, "<g v=\"")); s++)
        n++;
    return n;
}

static int render(flame_args *a, const ignis_profile *p, const char *out_path)
{
    ig_err err;
    ig_strbuf sb = IG_STRBUF_INIT;
    if (ig_svg_write(p, &a->w, &sb, &err) < 0) {
        cmd_error(CMD, "%s", err.msg);
        ig_sb_free(&sb);
        return 1;
    }
    int rc = 0;
    if (ig_write_file_atomic(out_path, sb.data, sb.len, &err) < 0) {
        cmd_error(CMD, "%s", err.msg);
        rc = 1;
    } else if (!a->quiet && strcmp(out_path, "-")) {
        size_t n = count_frames(&sb);
        fprintf(stderr, "ignis flame: wrote %s (%zu frame%s)\n", out_path, n, n == 1 ? "" : "s");
    }
    ig_sb_free(&sb);
    return rc;
}

int cmd_flame(int argc, char **argv)
{
    flame_args a = {.c = CMD_COMMON_INIT, .w = {.tree = {.value = -1}, .minwidth = -1}};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        cmd_common_free(&a.c);
        return rc;
    }
    char *out_path = a.out ? strdup(a.out) : default_output(a.in);
    ignis_profile *p = NULL, *base = NULL;
    rc = 1;
    if (!out_path || !(p = cmd_load_profile(CMD, a.in, a.c.format)))
        goto done;
    if ((rc = cmd_apply_spans(CMD, &a.c, &p, &base)) != 0)
        goto done;
    rc = 1;
    cmd_common_tree_opts(&a.c, &a.w.tree);
    if ((a.w.tree.value = cmd_tree_value(CMD, p, a.c.value)) == -2)
        goto done;
    if (base) {
        if (cmd_check_diff(CMD, p, a.w.tree.value, a.c.value != NULL, base, a.c.diff))
            goto done;
        a.w.diff_base = base;
    } else if (a.c.diff) {
        if (!(base = cmd_load_profile(CMD, a.c.diff, a.c.format)) ||
            cmd_check_diff(CMD, p, a.w.tree.value, a.c.value != NULL, base, a.c.diff))
            goto done;
        a.w.diff_base = base;
    }
    rc = render(&a, p, out_path);
done:
    ignis_profile_free(p);
    ignis_profile_free(base);
    free(out_path);
    cmd_common_free(&a.c);
    return rc;
}
