/*
 * cmd/report.c — `ignis report`: the table `pprof -top` prints.
 *
 *   ignis report IN [--top N] [--sort flat|cum] [--value NAME] [--focus RE]
 *                   [--ignore RE] [--thread RE] [--diff BASE] [--format F]
 *
 * The numbers come from profile/tree.c's top table (the viewer's `t` table
 * uses the same code), so report, view and flame agree to the unit.  The
 * layout follows pprof: a header with the value type and totals, then
 * flat, flat%, sum%, cum, cum% and the name.  With --diff the table gains
 * the base values and the deltas.  Names and types come from the file,
 * so control characters and ill-formed UTF-8 in them are printed as
 * "\xHH": a function name must not retitle or clear the terminal, nor
 * break the table into extra lines.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "profile/tree.h"
#include "profile/truncated.h"
#include "utils/satmath.h"
#include "utils/utf8.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis report IN [options]\n\n"
            "Prints the functions of a profile by flat (self) or cumulative value,\n"
            "the table `pprof -top` prints.  IN is pprof, folded stacks or perf script text.\n\n"
            "  -n, --top N          rows to show (default 20; 0 = all)\n"
            "  -s, --sort flat|cum  order by self value (default) or cumulative value\n"
            "      --value NAME     sample value to use (index, type or type/unit)\n"
            "      --focus RE       only samples with a frame matching RE\n"
            "      --ignore RE      drop samples with a frame matching RE\n"
            "      --thread RE      only samples whose thread label matches RE\n"
            "      --diff BASE      compare against BASE (delta columns)\n"
            "      --format F       input format (pprof, folded, perf-script); default: detect\n"
            "  -h, --help           this help\n");
}

/* s as the terminal may show it (see the comment on top); valid until the
 * next call. */
static const char *printable(const char *s)
{
    static ig_strbuf sb;
    ig_sb_reset(&sb);
    ig_utf8_append_escaped(&sb, s, strlen(s));
    return sb.data ? sb.data : "";
}

static void pct(char *buf, size_t len, int64_t v, int64_t total)
{
    double p = total ? 100.0 * (double)v / (double)total : 0.0;
    if (p >= 99.995 && p < 100.005)
        snprintf(buf, len, "  100%%");
    else
        snprintf(buf, len, "%5.2f%%", p);
}

static void print_header(const ignis_profile *p, const char *path, const ig_top *t, size_t shown)
{
    char tot[32], dur[32];
    int64_t total = ig_top_total(t);
    ig_format_value(total, ig_top_value_unit(t), tot, sizeof tot);
    printf("File: %s\n", printable(path));
    printf("Type: %s\n", printable(ig_top_value_type(t)));
    if (ignis_profile_time_nanos(p)) {
        time_t secs = (time_t)(ignis_profile_time_nanos(p) / 1000000000);
        struct tm tm;
        char when[64];
        localtime_r(&secs, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
        printf("Time: %s\n", when);
    }
    int64_t d = ignis_profile_duration_nanos(p);
    if (d > 0) {
        ig_format_value(d, "nanoseconds", dur, sizeof dur);
        if (!strcmp(ig_top_value_unit(t), "nanoseconds"))
            printf("Duration: %s, Total samples = %s (%.2f%%)\n", dur, tot, 100.0 * (double)total / (double)d);
        else
            printf("Duration: %s\n", dur);
    }
    int vi = ignis_profile_find_value(p, ig_top_value_type(t));
    double truncated = vi >= 0 ? ig_truncated_percent(p, (size_t)vi) : 0.0;
    if (truncated > 0)
        printf("Truncated: %.2f%% of the total in stacks not unwound to a thread's first frame "
               "(rooted at " IG_TRUNCATED_FRAME ")\n", truncated);
    int64_t shown_flat = 0;
    for (size_t i = 0; i < shown; i++)
        shown_flat = ig_sat_add(shown_flat, ig_top_row_at(t, i)->flat);
    char sf[32], pc[16];
    ig_format_value(shown_flat, ig_top_value_unit(t), sf, sizeof sf);
    pct(pc, sizeof pc, shown_flat, total);
    printf("Showing nodes accounting for %s, %s of %s total\n", sf, pc, tot);
    if (shown < ig_top_rows(t))
        printf("Showing top %zu nodes out of %zu\n", shown, ig_top_rows(t));
}

static void print_rows(const ig_top *t, size_t shown, int diff)
{
    const char *unit = ig_top_value_unit(t);
    int64_t total = ig_top_total(t), sum = 0;
    if (diff)
        printf("%10s %6s %10s %10s %6s %10s  %s\n", "flat", "flat%", "Δflat", "cum", "cum%", "Δcum", "name");
    else
        printf("%10s %6s %6s %10s %6s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "");
    for (size_t i = 0; i < shown; i++) {
        const ig_top_row *r = ig_top_row_at(t, i);
        char flat[32], cum[32], fp[16], sp[16], cp[16];
        sum = ig_sat_add(sum, r->flat);
        ig_format_value(r->flat, unit, flat, sizeof flat);
        ig_format_value(r->cum, unit, cum, sizeof cum);
        pct(fp, sizeof fp, r->flat, total);
        pct(sp, sizeof sp, sum, total);
        pct(cp, sizeof cp, r->cum, total);
        if (diff) {
            char df[32], dc[32];
            int64_t dflat = ig_sat_sub(r->flat, r->base_flat), dcum = ig_sat_sub(r->cum, r->base_cum);
            ig_format_value(dflat, unit, df, sizeof df);
            ig_format_value(dcum, unit, dc, sizeof dc);
            printf("%10s %s %s%9s %10s %s %s%9s  %s\n", flat, fp, dflat >= 0 ? "+" : "", df, cum, cp,
                   dcum >= 0 ? "+" : "", dc, printable(ig_top_name(t, r->name)));
        } else {
            printf("%10s %s %s %10s %s  %s\n", flat, fp, sp, cum, cp, printable(ig_top_name(t, r->name)));
        }
    }
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"top", required_argument, 0, 'n'},   {"sort", required_argument, 0, 's'},
        {"value", required_argument, 0, 'v'}, {"focus", required_argument, 0, 'f'},
        {"ignore", required_argument, 0, 'i'}, {"thread", required_argument, 0, 't'},
        {"diff", required_argument, 0, 'd'},  {"format", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    long top = 20;
    ig_top_sort sort = IG_SORT_FLAT;
    const char *value = NULL, *diff = NULL, *format = NULL;
    ig_tree_opts to = {-1, 0, NULL, NULL, NULL, NULL, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end;
            top = strtol(optarg, &end, 10);
            if (!*optarg || *end || top < 0) {
                cmd_error("report", "--top: '%s' is not a non-negative number", optarg);
                return 2;
            }
            break;
        }
        case 's':
            if (!strcmp(optarg, "flat"))
                sort = IG_SORT_FLAT;
            else if (!strcmp(optarg, "cum"))
                sort = IG_SORT_CUM;
            else {
                cmd_error("report", "--sort: '%s' is not flat or cum", optarg);
                return 2;
            }
            break;
        case 'v': value = optarg; break;
        case 'f': to.focus = optarg; break;
        case 'i': to.ignore = optarg; break;
        case 't': to.thread = optarg; break;
        case 'd': diff = optarg; break;
        case 'F': format = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        cmd_error("report", optind >= argc ? "missing input file" : "too many arguments");
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    ignis_profile *p = cmd_load_profile("report", path, format), *base = NULL;
    if (!p)
        return 1;
    int rc = 1;
    ig_top *t = NULL;
    ig_err err;
    if ((to.value = cmd_resolve_value("report", p, value)) < 0)
        goto out;
    if (diff && !(base = cmd_load_profile("report", diff, format)))
        goto out;
    if (!(t = ig_top_build(p, &to, sort, &err))) {
        cmd_error("report", "%s", err.msg);
        goto out;
    }
    if (base && ig_top_add_base(t, base, sort, &err)) {
        cmd_error("report", "%s", err.msg);
        goto out;
    }
    size_t shown = top && (size_t)top < ig_top_rows(t) ? (size_t)top : ig_top_rows(t);
    print_header(p, path, t, shown);
    print_rows(t, shown, base != NULL);
    rc = cmd_finish_stdout("report");
out:
    ig_top_free(t);
    ignis_profile_free(base);
    ignis_profile_free(p);
    return rc;
}
