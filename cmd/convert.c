/*
 * cmd/convert.c — `ignis convert IN -o OUT [--to F] [--format F] [filters]`.
 *
 * Reads any readable format (pprof, OTLP profiles in protobuf or JSON,
 * folded, perf script, gzipped or not; detected from the contents unless
 * --format says: --format is the input format in every command; IN may be
 * an http(s) URL, fetched as `go tool pprof` does) and writes any writable
 * one (pprof, OTLP profiles, folded, svg; chosen by OUT's extension unless
 * --to says, pprof by default).
 * The filters every command takes (--focus, --ignore, --thread, --hide,
 * ...) make a filtered copy of the profile first, so any output format
 * holds only what they keep.  --value picks the sample value for
 * single-value outputs; without it folded output holds sample counts when
 * the profile has them (what flamegraph.pl and speedscope expect).  The
 * output goes through a temporary file, so a failure leaves nothing; one
 * line on stderr says what was written (-q: nothing).
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "profile/tree.h"

#include <stdio.h>
#include <string.h>

#define CMD "convert"

static void usage(FILE *out)
{
    fprintf(out, "usage: ignis convert IN -o OUT [options]\n\n"
                 "Converts a profile between formats, optionally keeping only what filters select.\n"
                 "IN may be a file, '-' or an http(s):// URL (e.g.\n"
                 "http://host:6060/debug/pprof/profile?seconds=30).\n\n"
                 "  -o, --output OUT      output file ('-' = standard output)\n"
                 "  -t, --to F            output format: pprof, otlp, otlp-json, folded, svg\n"
                 "                        (default: by OUT's extension: .pb.gz .pprof -> pprof,\n"
                 "                        .otlp.pb -> otlp (OTLP profiles request), .otlp.json ->\n"
                 "                        otlp-json, .folded .txt -> folded, .svg -> svg; otherwise\n"
                 "                        pprof); also --output-format F\n"
                 "      --format F        input format: pprof, otlp, otlp-json, folded, perf-script\n"
                 "                        (default: detected; --from F is the same)\n"
                 "      --value V         sample value for folded/svg output (index, type or\n"
                 "                        type/unit; default for folded: sample counts when the\n"
                 "                        profile has them, else its default value)\n"
                 CMD_HELP_FILTERS
                 "      --span ID, --trace ID, --span-name NAME  only samples of that span (with\n"
                 "                        its children given --spans SRC), trace or operation\n"
                 "                        (with its spans' children given --spans SRC)\n"
                 "  -q, --quiet           do not say what was written\n"
                 "  -h, --help            this help\n");
}

enum { OPT_OUTPUT = 1, OPT_TO, OPT_OLD_F, OPT_QUIET };

typedef struct convert_args {
    cmd_common c;
    const char *in, *out, *to;
    int quiet;
} convert_args;

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, convert_args *a)
{
    static const cmd_opt own[] = {
        {"output", 'o', CMD_ARG_REQUIRED, 0, OPT_OUTPUT},
        {"to", 't', CMD_ARG_REQUIRED, 0, OPT_TO},
        {"output-format", 0, CMD_ARG_REQUIRED, 0, OPT_TO},
        {"from", 0, CMD_ARG_REQUIRED, 0, CMD_O_FORMAT},
        {"f", 'f', CMD_ARG_REQUIRED, CMD_OPT_PPROF, OPT_OLD_F}, /* the old -f (output format) */
        {"quiet", 'q', CMD_ARG_NONE, 0, OPT_QUIET},
        {NULL, 0, 0, 0, 0},
    };
    static const cmd_opt *const tables[] = {own, cmd_input_opts, cmd_filter_opts, cmd_span_opts, NULL};
    cmd_opts o;
    cmd_opts_init(&o, CMD, tables, argc, argv, 0);
    int id, rc = -1;
    while (rc < 0 && (id = cmd_opts_next(&o)) != CMD_OPTS_END) {
        switch (id) {
        case CMD_OPTS_ERROR: rc = 2; break;
        case OPT_OUTPUT: a->out = o.arg; break;
        case OPT_TO: a->to = o.arg; break;
        case OPT_QUIET: a->quiet = 1; break;
        case OPT_OLD_F:
            rc = cmd_usage_error(CMD, o.spelled, "the output format is --to %s (--format names the input's)", o.arg);
            break;
        default:
            if (cmd_common_option(CMD, &a->c, id, o.arg))
                rc = 2;
        }
    }
    rc = cmd_one_input(CMD, &a->c, &o, usage, rc);
    if (rc < 0 && !a->out)
        rc = cmd_usage_error(CMD, "-o", "missing output file");
    if (rc < 0)
        a->in = o.operands[0];
    cmd_opts_free(&o);
    return rc;
}

/* The profile to write: p itself, or what the filters keep of it. */
static ignis_profile *filtered(const convert_args *a, const ignis_profile *p)
{
    ig_tree_opts to = {.value = -1};
    cmd_common_tree_opts(&a->c, &to);
    ig_err err;
    char why[320];
    ignis_profile *q = ig_profile_filter(p, &to, why, sizeof why, &err);
    if (!q)
        cmd_error(CMD, "%s", err.msg);
    else if (why[0])
        cmd_error(CMD, "warning: %s", why);
    return q;
}

int cmd_convert(int argc, char **argv)
{
    convert_args a = {.c = CMD_COMMON_INIT};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        cmd_common_free(&a.c);
        return rc;
    }
    ignis_profile *p = NULL, *q = NULL, *unused = NULL;
    rc = 1;
    if (a.c.slow_vs_fast) {
        rc = cmd_usage_error(CMD, "--slow-vs-fast", "makes a diff: use ignis flame, report or view");
        goto out;
    }
    if (!(p = cmd_load_profile(CMD, a.in, a.c.format)) || (rc = cmd_apply_spans(CMD, &a.c, &p, &unused)) != 0)
        goto out;
    rc = 1;
    if (a.c.nactive)
        q = filtered(&a, p);
    const ignis_profile *w = a.c.nactive ? q : p;
    ig_write_opts wo = {.tree = {.value = -1}, .minwidth = -1};
    if (w && (!ignis_profile_num_values(w) || (wo.tree.value = cmd_tree_value(CMD, w, a.c.value)) != -2)) {
        ig_err err;
        if (ig_profile_save(w, a.out, a.to, &wo, &err)) {
            cmd_error(CMD, "%s", err.msg);
        } else {
            rc = 0;
            if (!a.quiet && strcmp(a.out, "-")) {
                const char *fmt = a.to ? a.to : ig_format_for_path(a.out);
                size_t n = ignis_profile_num_samples(w);
                fprintf(stderr, "ignis convert: wrote %s (%s, %zu sample%s)\n", a.out, fmt ? fmt : "pprof", n,
                        n == 1 ? "" : "s");
            }
        }
    }
out:
    ignis_profile_free(q);
    ignis_profile_free(p);
    cmd_common_free(&a.c);
    return rc;
}
