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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "flame"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis flame IN [-o OUT.svg] [options]\n\n"
            "Writes an interactive SVG flame graph of a profile (pprof, folded stacks or\n"
            "perf script text).  Click a frame to zoom, Ctrl-F to search.\n\n"
            "  -o, --output FILE    output file (default: IN with the extension .svg; - = stdout)\n"
            "      --format FMT     input format: pprof, folded, perf-script (default: detect)\n"
            "      --title TEXT     title (default: Flame Graph)\n"
            "      --width PX       image width in pixels (default 1200)\n"
            "      --minwidth PX    hide frames narrower than this (default 0.1)\n"
            "      --inverted       icicle graph: root at the top\n"
            "      --reverse        merge stacks from the leaf (callers graph)\n"
            "      --diff BASE      differential graph against profile BASE (red grew, blue shrank)\n"
            "      --value NAME|N   sample value to draw (type name or index; default: the profile's)\n"
            "      --focus RE       keep samples with a frame matching RE\n"
            "      --ignore RE      drop samples with a frame matching RE\n"
            "      --thread RE      keep samples whose thread label matches RE\n"
            "  -h, --help           this help\n");
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
    const char *in, *out, *format, *diff, *value;
    ig_write_opts w;
} flame_args;

enum { OPT_FORMAT = 256, OPT_TITLE, OPT_WIDTH, OPT_MINWIDTH, OPT_INVERTED, OPT_REVERSE,
       OPT_DIFF, OPT_VALUE, OPT_FOCUS, OPT_IGNORE, OPT_THREAD };

/* Returns -1 to continue, else the exit status. */
static int parse_args(int argc, char **argv, flame_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},   {"format", required_argument, 0, OPT_FORMAT},
        {"title", required_argument, 0, OPT_TITLE}, {"width", required_argument, 0, OPT_WIDTH},
        {"minwidth", required_argument, 0, OPT_MINWIDTH}, {"inverted", no_argument, 0, OPT_INVERTED},
        {"reverse", no_argument, 0, OPT_REVERSE}, {"diff", required_argument, 0, OPT_DIFF},
        {"value", required_argument, 0, OPT_VALUE}, {"focus", required_argument, 0, OPT_FOCUS},
        {"ignore", required_argument, 0, OPT_IGNORE}, {"thread", required_argument, 0, OPT_THREAD},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    long width;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': a->out = optarg; break;
        case OPT_FORMAT: a->format = optarg; break;
        case OPT_TITLE: a->w.title = optarg; break;
        case OPT_WIDTH:
            if (parse_long("--width", optarg, 100, 100000, &width))
                return 1;
            a->w.width = (int)width;
            break;
        case OPT_MINWIDTH:
            if (parse_pixels("--minwidth", optarg, &a->w.minwidth))
                return 1;
            break;
        case OPT_INVERTED: a->w.inverted = 1; break;
        case OPT_REVERSE: a->w.tree.reverse = 1; break;
        case OPT_DIFF: a->diff = optarg; break;
        case OPT_VALUE: a->value = optarg; break;
        case OPT_FOCUS: a->w.tree.focus = optarg; break;
        case OPT_IGNORE: a->w.tree.ignore = optarg; break;
        case OPT_THREAD: a->w.tree.thread = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            cmd_error(CMD, "%s: missing argument", argv[optind - 1]);
            return 2;
        default:
            cmd_error(CMD, "%s: unknown option (see 'ignis flame --help')", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        cmd_error(CMD, optind >= argc ? "missing input file (see 'ignis flame --help')"
                                      : "expected one input file, got %d arguments", argc - optind);
        return 2;
    }
    a->in = argv[optind];
    return -1;
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
    }
    ig_sb_free(&sb);
    return rc;
}

int cmd_flame(int argc, char **argv)
{
    flame_args a = {.w = {.tree = {.value = -1}, .minwidth = -1}};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    char *out_path = a.out ? strdup(a.out) : default_output(a.in);
    ignis_profile *p = NULL, *base = NULL;
    rc = 1;
    if (!out_path || !(p = cmd_load_profile(CMD, a.in, a.format)))
        goto done;
    if ((a.w.tree.value = cmd_resolve_value(CMD, p, a.value)) < 0)
        goto done;
    if (a.diff) {
        if (!(base = cmd_load_profile(CMD, a.diff, NULL)))
            goto done;
        a.w.diff_base = base;
    }
    rc = render(&a, p, out_path);
done:
    ignis_profile_free(p);
    ignis_profile_free(base);
    free(out_path);
    return rc;
}
