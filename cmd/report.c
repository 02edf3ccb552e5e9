/*
 * cmd/report.c — `ignis report`: the table `pprof -top` prints.
 *
 *   ignis report IN [--top N] [-s flat|cum] [--value V] [filters]
 *                   [--diff BASE [--normalize]] [--reverse] [--threads]
 *                   [--list REGEX [--source-path DIRS]]
 *
 * The numbers come from profile/tree.c's top table (the viewer's `t` table
 * uses the same code), so report, view and flame agree to the unit.  The
 * layout follows pprof: a header with the value type and totals, then
 * flat, flat%, sum%, cum, cum% and the name.  With filters the header
 * lists them ("Active filters:") and the share of the profile they kept,
 * percentages stay of the whole profile (pprof's default; the option
 * --relative-percentages makes them of what was kept), and a filter that
 * matched nothing is an error, as in pprof ("focus expression matched no
 * samples").  With --diff the header names the base and both totals, the
 * table gains the deltas and is ordered by the size of the change;
 * functions only in the base are rows of 0.  --reverse lists under each
 * function the call paths that lead to it (the reversed tree, as perf
 * report -G); --threads prints the value of each thread instead, and
 * --list the source lines of the matching functions with their costs
 * (pprof's list, from profile/source.h).  Names
 * and types come from the file, so control characters and ill-formed
 * UTF-8 in them are printed as "\xHH": a function name must not retitle or
 * clear the terminal, nor break the table into extra lines.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "profile/source.h"
#include "profile/tree.h"
#include "profile/truncated.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "report"

/* A caller path under a --reverse row is shown when it holds this share
 * of the total or more (pprof's default node fraction). */
#define CALLER_FRACTION 0.005
#define CALLER_MAX_INDENT 32u /* levels of callers indented; deeper ones are numbered */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis report IN [options]\n\n"
            "Prints the functions of a profile by flat (self) or cumulative value,\n"
            "the table `pprof -top` prints.  IN is pprof, folded stacks or perf script\n"
            "text, gzipped or not.  Percentages are of the whole profile, as in pprof.\n\n"
            "  -n, --top N           rows to show (default 20; 0 = all; pprof -nodecount=N)\n"
            "  -s, --sort flat|cum   order by self value (default) or cumulative value;\n"
            "                        in a diff by the size of the change\n"
            "      --reverse         under each function, the call paths leading to it\n"
            "      --threads         the value of each thread instead of functions\n"
            "      --list RE         the source lines of the functions matching RE with\n"
            "                        their flat and cum values (pprof -list=RE)\n"
            "      --source-path DIRS  where --list looks for source files moved or recorded\n"
            "                        with relative paths (':'-separated; pprof -source_path)\n"
            CMD_HELP_INPUT
            CMD_HELP_DIFF
            CMD_HELP_GRANULARITY
            "      --addresses       a frame without a symbol is its address (libfoo.so+0x1a2b),\n"
            "                        not its module ([libfoo.so]) (pprof -addresses)\n"
            CMD_HELP_FILTERS
            CMD_HELP_SPANS
            CMD_HELP_PERCENT
            "  -h, --help            this help\n\n"
            "A filter that matches no sample is an error (exit 1).  pprof's spellings\n"
            "work too: -top, -nodecount=N, -focus=RE, -sample_index=V, -diff_base=F.\n");
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

/* v's share of total, pprof's rule (utils/percent.h). */
static void pct(char *buf, size_t len, int64_t v, int64_t total) { ig_percent_format(buf, len, v, total); }

/* A change: "+40", "-1.50s", and 0 as "0". */
static void delta(char *buf, size_t len, int64_t d, const char *unit)
{
    char v[32];
    ig_format_value(d, unit, v, sizeof v);
    snprintf(buf, len, "%s%s", d > 0 && strcmp(v, "0") ? "+" : "", v);
}

typedef struct report_args {
    cmd_common c;
    const char *in, *list, *source_path;
    long top;
    int threads;
} report_args;

static void print_time(const ignis_profile *p, const char *unit, int64_t total)
{
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
        char dur[32], tot[32];
        ig_format_value(d, "nanoseconds", dur, sizeof dur);
        ig_format_value(total, unit, tot, sizeof tot);
        if (!strcmp(unit, "nanoseconds"))
            printf("Duration: %s, Total samples = %s (%.2f%%)\n", dur, tot, ig_percent(total, d));
        else
            printf("Duration: %s\n", dur);
    }
}

/* The share of stacks rooted at [truncated] (not unwound to a thread's
 * first frame), from the profile itself, so files read back show it too. */
static void print_truncated(const ignis_profile *p, const ig_top *t)
{
    int vi = ignis_profile_find_value(p, ig_top_value_type(t));
    double truncated = vi >= 0 ? ig_truncated_percent(p, (size_t)vi) : 0.0;
    if (truncated > 0)
        printf("Truncated: %.2f%% of the total in stacks not unwound to a thread's first frame "
               "(rooted at " IG_TRUNCATED_FRAME ")\n", truncated);
}

/* "Active filters:" and the share they kept: kept and all are percentage
 * bases (ig_tree_pct_total: sums of absolute values), so a mixed-sign
 * profile whose filters kept everything says 100%. */
static void print_filters(const report_args *a, const char *unit, int64_t kept, int64_t all)
{
    if (!a->c.nactive)
        return;
    printf("Active filters:\n");
    for (size_t i = 0; i < a->c.nactive; i++)
        printf("   %s\n", printable(a->c.active[i]));
    char k[32], t[32], pc[16];
    ig_format_value(kept, unit, k, sizeof k);
    ig_format_value(all, unit, t, sizeof t);
    pct(pc, sizeof pc, kept, all);
    printf("Kept by filters: %s, %s of %s total\n", k, pc, t);
}

static void print_header(const report_args *a, const ignis_profile *p, const ig_top *t, size_t shown)
{
    const char *unit = ig_top_value_unit(t);
    printf("File: %s\n", printable(a->in));
    if (a->c.diff)
        printf("Base: %s\n", printable(a->c.diff));
    printf("Type: %s\n", printable(ig_top_value_type(t)));
    print_time(p, unit, ig_top_pct_total_all(t));
    print_truncated(p, t);
    print_filters(a, unit, ig_top_pct_total_kept(t), ig_top_pct_total_all(t));
    char tot[32], sf[32], pc[16];
    if (ig_top_is_diff(t)) {
        char bt[32], d[40], raw[32];
        ig_format_value(ig_top_total(t), unit, tot, sizeof tot);
        ig_format_value(ig_top_base_total(t), unit, bt, sizeof bt);
        delta(d, sizeof d, ig_sat_sub(ig_top_total(t), ig_top_base_total(t)), unit);
        printf("Total: %s, base %s, change %s", tot, bt, d);
        if (ig_top_base_scale(t) != 1) {
            ig_format_value(ig_top_base_total_all(t), unit, raw, sizeof raw);
            printf(" (base of %s scaled by %.4g: --normalize)", raw, ig_top_base_scale(t));
        }
        printf("\n");
    }
    int64_t pct_total = ig_top_pct_total(t), shown_flat = 0;
    for (size_t i = 0; i < shown; i++)
        shown_flat = ig_sat_add(shown_flat, ig_top_row_at(t, i)->flat);
    ig_format_value(shown_flat, unit, sf, sizeof sf);
    ig_format_value(pct_total, unit, tot, sizeof tot);
    pct(pc, sizeof pc, shown_flat, pct_total);
    printf("Showing nodes accounting for %s, %s of %s total%s\n", sf, pc, tot,
           a->c.relative && a->c.nactive ? " (kept by filters)" : "");
    if (shown < ig_top_rows(t))
        printf("Showing top %zu nodes out of %zu\n", shown, ig_top_rows(t));
}

/* The callers of one function: its leaf-rooted subtrees in the reversed
 * tree, depth-first, indented by depth. */
static void print_callers(const ig_tree *rev, const char *name, int64_t total, const char *unit)
{
    const ig_tree_node *root = ig_tree_node_at(rev, 0);
    int64_t min = (int64_t)((double)total * CALLER_FRACTION);
    for (uint32_t c = root->first_child; c; c = ig_tree_node_at(rev, c)->next_sibling) {
        const ig_tree_node *top = ig_tree_node_at(rev, c);
        if (strcmp(ig_tree_name(rev, top->name), name))
            continue;
        /* pre-order: node i's subtree is i .. the next node not deeper */
        size_t end = ig_tree_size(rev);
        for (uint32_t i = c + 1; i < end; i++) {
            const ig_tree_node *n = ig_tree_node_at(rev, i);
            if (n->depth <= top->depth)
                break;
            if (ig_sat_abs(n->total) < min || !n->total)
                continue;
            char v[32], p[16];
            ig_format_value(n->total, unit, v, sizeof v);
            pct(p, sizeof p, n->total, total);
            /* the indent stops growing at CALLER_MAX_INDENT levels (a
             * 100k-deep recursion would otherwise print gigabytes of
             * spaces); deeper lines say their level instead */
            uint32_t level = n->depth - 2;
            char deep[32] = "";
            if (level > CALLER_MAX_INDENT)
                snprintf(deep, sizeof deep, "[level %u] ", (unsigned)level);
            printf("%10s %6s %6s %10s %s  %*s<- %s%s\n", "", "", "", v, p,
                   (int)(2 * (level > CALLER_MAX_INDENT ? CALLER_MAX_INDENT : level)), "", deep,
                   printable(ig_tree_name(rev, n->name)));
        }
    }
}

static void print_rows(const ig_top *t, size_t shown, const ig_tree *rev)
{
    const char *unit = ig_top_value_unit(t);
    int diff = ig_top_is_diff(t);
    int64_t total = ig_top_pct_total(t), sum = 0;
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
        const char *name = ig_top_name(t, r->name);
        if (diff) {
            char df[40], dc[40];
            delta(df, sizeof df, ig_sat_sub(r->flat, r->base_flat), unit);
            delta(dc, sizeof dc, ig_sat_sub(r->cum, r->base_cum), unit);
            printf("%10s %s %10s %10s %s %10s  %s\n", flat, fp, df, cum, cp, dc, printable(name));
        } else {
            printf("%10s %s %s %10s %s  %s\n", flat, fp, sp, cum, cp, printable(name));
        }
        if (rev)
            print_callers(rev, name, total, unit);
    }
}

static int print_threads(const report_args *a, const ignis_profile *p, const ig_tree_opts *to)
{
    ig_err err;
    ig_threads *th = ig_threads_build(p, to, &err);
    if (!th) {
        cmd_error(CMD, "%s", err.msg);
        return 1;
    }
    ignis_value_type vt = ignis_profile_value_type(p, (size_t)(to->value < 0 ? ignis_profile_default_value(p)
                                                                                : to->value));
    const char *unit = ignis_profile_string(p, vt.unit);
    int64_t total = ig_threads_pct_total(th, a->c.relative);
    printf("File: %s\n", printable(a->in));
    printf("Type: %s\n", printable(ignis_profile_string(p, vt.type)));
    print_filters(a, unit, ig_threads_pct_total(th, 1), ig_threads_pct_total(th, 0));
    printf("%10s %6s  %s\n", "value", "%", "thread");
    for (size_t i = 0; i < ig_threads_count(th); i++) {
        const ig_thread_row *r = ig_threads_row(th, i);
        char v[32], pc[16];
        ig_format_value(r->value, unit, v, sizeof v);
        pct(pc, sizeof pc, r->value, total);
        printf("%10s %s  %s\n", v, pc, *r->name ? printable(r->name) : "(no thread label)");
    }
    ig_threads_free(th);
    return 0;
}

/* One listed source line: "flat cum line: text" as pprof's list prints
 * it, "." for no cost; a gap (line 0) is "...". */
static void print_source_line(const ig_source_line *l, const char *unit)
{
    if (!l->line) {
        printf("%10s %10s %8s\n", "", "", "...");
        return;
    }
    char flat[32], cum[32];
    if (l->flat)
        ig_format_value(l->flat, unit, flat, sizeof flat);
    if (l->cum)
        ig_format_value(l->cum, unit, cum, sizeof cum);
    printf("%10s %10s %8" PRId64 ":", l->flat ? flat : ".", l->cum ? cum : ".", l->line);
    if (l->text) {
        /* tabs to spaces (8 columns), then what a terminal may show */
        ig_strbuf sb = IG_STRBUF_INIT;
        for (const char *c = l->text; *c; c++)
            if (*c == '\t')
                do
                    ig_sb_putc(&sb, ' ');
                while (sb.len % 8);
            else
                ig_sb_putc(&sb, *c);
        printf("%s", sb.data ? printable(sb.data) : "");
        ig_sb_free(&sb);
    }
    printf("\n");
}

/* pprof's list: a ROUTINE block per function matching a->list. */
static int print_list(const report_args *a, const ignis_profile *p, const ig_tree_opts *to)
{
    ig_source_opts so = {.tree = to, .context = -1, .search_path = a->source_path};
    ig_err err;
    ig_source *src = ig_source_list(p, a->list, &so, &err);
    if (!src) {
        cmd_error(CMD, "%s", err.msg);
        return 1;
    }
    if (!ig_source_count(src)) {
        cmd_error(CMD, "--list=%s: no function matches", a->list);
        ig_source_free(src);
        return 1;
    }
    const char *unit = ig_source_value_unit(src);
    int64_t total = ig_source_pct_total(src, a->c.relative);
    char tot[32], pc[16];
    printf("File: %s\n", printable(a->in));
    printf("Type: %s\n", printable(ig_source_value_type(src)));
    print_filters(a, unit, ig_source_pct_total(src, 1), ig_source_pct_total(src, 0));
    ig_format_value(total, unit, tot, sizeof tot);
    printf("Total: %s\n", tot);
    for (size_t i = 0; i < ig_source_count(src); i++) {
        const ig_source_fn *f = ig_source_at(src, i);
        char flat[32], cum[32];
        printf("ROUTINE ======================== %s", printable(f->name));
        printf(" in %s\n", printable(f->path ? f->path : *f->file ? f->file : "(no file)"));
        ig_format_value(f->flat, unit, flat, sizeof flat);
        ig_format_value(f->cum, unit, cum, sizeof cum);
        pct(pc, sizeof pc, f->cum, total);
        printf("%10s %10s (flat, cum) %s of Total\n", flat, cum, pc);
        if (!f->path)
            printf("%10s %10s %8s (source not shown: %s)\n", "", "", "", printable(f->why ? f->why : "unknown"));
        for (size_t j = 0; j < f->nlines; j++)
            print_source_line(&f->lines[j], unit);
        if (f->nolines_flat || f->nolines_cum) {
            ig_format_value(f->nolines_flat, unit, flat, sizeof flat);
            ig_format_value(f->nolines_cum, unit, cum, sizeof cum);
            printf("%10s %10s %8s (frames without a line number)\n", flat, cum, "?");
        }
    }
    ig_source_free(src);
    return 0;
}

enum { OPT_TOP = 1, OPT_PPROF_TOP, OPT_THREADS, OPT_LIST, OPT_SOURCE_PATH, OPT_ADDRESSES };

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, report_args *a)
{
    static const cmd_opt own[] = {
        {"top", 'n', CMD_ARG_REQUIRED, 0, OPT_TOP},
        {"nodecount", 0, CMD_ARG_REQUIRED, 0, OPT_TOP},
        {"top", 0, CMD_ARG_NONE, CMD_OPT_PPROF, OPT_PPROF_TOP}, /* pprof -top: this table */
        {"threads", 0, CMD_ARG_NONE, 0, OPT_THREADS},
        {"list", 0, CMD_ARG_REQUIRED, 0, OPT_LIST},
        {"source-path", 0, CMD_ARG_REQUIRED, 0, OPT_SOURCE_PATH},
        {"source_path", 0, CMD_ARG_REQUIRED, 0, OPT_SOURCE_PATH},
        {"addresses", 0, CMD_ARG_NONE, 0, OPT_ADDRESSES},
        {"addresses", 0, CMD_ARG_NONE, CMD_OPT_PPROF, OPT_ADDRESSES},
        {NULL, 0, 0, 0, 0},
    };
    static const cmd_opt *const tables[] = {own, cmd_input_opts, cmd_filter_opts, cmd_percent_opts, cmd_diff_opts,
                                            cmd_sort_opts, cmd_reverse_opts, cmd_granularity_opts, cmd_span_opts,
                                            NULL};
    cmd_opts o;
    cmd_opts_init(&o, CMD, tables, argc, argv, 0);
    int id, rc = -1;
    while (rc < 0 && (id = cmd_opts_next(&o)) != CMD_OPTS_END) {
        if (id == CMD_OPTS_ERROR) {
            rc = 2;
        } else if (id == OPT_TOP) {
            char *end;
            errno = 0;
            a->top = strtol(o.arg, &end, 10);
            if (!*o.arg || *end || errno || a->top < 0)
                rc = cmd_usage_error(CMD, o.spelled, "'%s' is not a non-negative number", o.arg);
        } else if (id == OPT_THREADS) {
            a->threads = 1;
        } else if (id == OPT_LIST) {
            a->list = o.arg;
        } else if (id == OPT_SOURCE_PATH) {
            a->source_path = o.arg;
        } else if (id == OPT_ADDRESSES) {
            a->c.granularity = IG_GRAN_ADDRESS;
        } else if (id >= CMD_O_FIRST && cmd_common_option(CMD, &a->c, id, o.arg)) {
            rc = 2;
        }
    }
    rc = cmd_one_input(CMD, &a->c, &o, usage, rc);
    if (rc < 0)
        a->in = o.operands[0];
    cmd_opts_free(&o);
    return rc;
}

/* The report proper, once the profiles are loaded. */
static int report(report_args *a, const ignis_profile *p, const ignis_profile *base)
{
    ig_tree_opts to = {.value = -1};
    cmd_common_tree_opts(&a->c, &to);
    to.reverse = 0;
    if ((to.value = cmd_tree_value(CMD, p, a->c.value)) == -2)
        return 1;
    if (base && cmd_check_diff(CMD, p, to.value, a->c.value != NULL, base, a->c.diff))
        return 1;
    ig_err err;
    ig_top *t = ig_top_build(p, &to, a->c.sort == IG_SORT_CUM ? IG_SORT_CUM : IG_SORT_FLAT, &err);
    ig_tree *rev = NULL;
    int rc = 1;
    char why[320];
    if (!t) {
        cmd_error(CMD, "%s", err.msg);
        goto out;
    }
    if (ig_top_unmatched(t, why, sizeof why)) {
        cmd_error(CMD, "%s", why);
        goto out;
    }
    if (a->c.nactive && !ig_top_pct_total_kept(t) && ig_top_pct_total_all(t)) {
        cmd_error(CMD, "the filters together kept no samples");
        goto out;
    }
    if (a->threads || a->list) {
        rc = a->threads ? print_threads(a, p, &to) : print_list(a, p, &to);
        goto out;
    }
    if (base && ig_top_add_base(t, base, a->c.sort == IG_SORT_CUM ? IG_SORT_CUM : IG_SORT_FLAT, &err)) {
        cmd_error(CMD, "%s", err.msg);
        goto out;
    }
    if (a->c.reverse) {
        to.reverse = 1;
        if (!(rev = ig_tree_build(p, &to, &err))) {
            cmd_error(CMD, "%s", err.msg);
            goto out;
        }
    }
    size_t shown = a->top && (size_t)a->top < ig_top_rows(t) ? (size_t)a->top : ig_top_rows(t);
    print_header(a, p, t, shown);
    print_rows(t, shown, rev);
    rc = 0;
out:
    ig_tree_free(rev);
    ig_top_free(t);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    report_args a = {.c = CMD_COMMON_INIT, .top = 20};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        cmd_common_free(&a.c);
        return rc;
    }
    ignis_profile *p = cmd_load_profile(CMD, a.in, a.c.format), *base = NULL;
    rc = 1;
    if (p && (rc = cmd_apply_spans(CMD, &a.c, &p, &base)) == 0) {
        rc = 1;
        if (base || !a.c.diff || (base = cmd_load_profile(CMD, a.c.diff, a.c.format)))
            rc = report(&a, p, base);
    }
    if (rc == 0)
        rc = cmd_finish_stdout(CMD);
    ignis_profile_free(base);
    ignis_profile_free(p);
    cmd_common_free(&a.c);
    return rc;
}
