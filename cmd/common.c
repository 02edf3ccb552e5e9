/*
 * cmd/common.c — what several subcommands share: one option parser, the
 * options several commands take (input format and value, filters, diffs,
 * sort, reverse, inverted), loading a profile with a one-line error,
 * resolving --value the same way everywhere, and reporting a failed write
 * to standard output.
 *
 * The parser walks argv once.  An argument that starts with "--" is a long
 * option (exact name, else a unique prefix); one that starts with a single
 * dash is a long option only when its whole name is one (pprof's
 * "-focus=RE"), else a cluster of short options ("-qv", "-n5").  Aliases
 * are table rows that share an id, so "--top", "-n" and "-nodecount" are
 * one option to the command.  Operands are collected in order, so options
 * may follow the input file, as users type them.
 */
#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "profile/spans.h"
#include "profile/tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ignis %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cmd_usage_error(const char *cmd, const char *flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* "record --alloc": the command is "record", the help "record --alloc --help" */
    fprintf(stderr, "ignis %.*s: %s: ", (int)strcspn(cmd, " "), cmd, flag);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (ignis %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

/* ---- option parsing -------------------------------------------------------- */

void cmd_opts_init(cmd_opts *o, const char *cmd, const cmd_opt *const *tables, int argc, char **argv,
                   int in_order)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->tables = tables;
    o->argc = argc;
    o->argv = argv;
    o->in_order = in_order;
    o->next = 1;
    o->operands = ig_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *o->operands); /* NULL-terminated */
}

void cmd_opts_free(cmd_opts *o)
{
    free(o->operands);
    o->operands = NULL;
}

static void add_operand(cmd_opts *o, char *a)
{
    o->operands[o->noperands++] = a;
}

static void set_spelled(cmd_opts *o, const char *dashes, const char *name, size_t len)
{
    snprintf(o->spelled_buf, sizeof o->spelled_buf, "%s%.*s", dashes, (int)len, name);
    o->spelled = o->spelled_buf;
}

/* The row named name[0, len): exact; for "--" also a unique prefix (rows
 * sharing an id count once).  *ambiguous is set when prefixes clash. */
static const cmd_opt *find_long(const cmd_opts *o, const char *name, size_t len, int single_dash, int *ambiguous)
{
    const cmd_opt *prefix = NULL;
    *ambiguous = 0;
    for (int pass = 0; pass < 2; pass++) /* single dash: pprof-only rows first */
        for (const cmd_opt *const *t = o->tables; *t; t++)
            for (const cmd_opt *r = *t; r->name; r++) {
                int pprof_only = (r->flags & CMD_OPT_PPROF) != 0;
                if (!*r->name) /* a short option only (record's -g) */
                    continue;
                if (single_dash ? pprof_only != (pass == 0) : pprof_only || pass)
                    continue;
                if (strlen(r->name) == len && !strncmp(r->name, name, len))
                    return r;
                if (!single_dash && !strncmp(r->name, name, len)) {
                    if (prefix && prefix->id != r->id)
                        *ambiguous = 1;
                    prefix = prefix ? prefix : r;
                }
            }
    return single_dash || *ambiguous ? NULL : prefix;
}

static const cmd_opt *find_short(const cmd_opts *o, char c)
{
    for (const cmd_opt *const *t = o->tables; *t; t++)
        for (const cmd_opt *r = *t; r->name; r++)
            if (r->short_name == c)
                return r;
    return NULL;
}

/* The value of a row that takes one: inline, else the next argument. */
static int take_value(cmd_opts *o, const cmd_opt *r, const char *inline_value)
{
    if (r->arg == CMD_ARG_NONE) {
        if (inline_value)
            return cmd_usage_error(o->cmd, o->spelled, "takes no value"), CMD_OPTS_ERROR;
        o->arg = NULL;
        return r->id;
    }
    if (inline_value)
        o->arg = inline_value;
    else if (o->next < o->argc)
        o->arg = o->argv[o->next++];
    else
        return cmd_usage_error(o->cmd, o->spelled, "missing value"), CMD_OPTS_ERROR;
    return r->id;
}

static int long_option(cmd_opts *o, const char *body, int single_dash)
{
    const char *eq = strchr(body, '=');
    size_t len = eq ? (size_t)(eq - body) : strlen(body);
    set_spelled(o, single_dash ? "-" : "--", body, len);
    int ambiguous;
    const cmd_opt *r = find_long(o, body, len, single_dash, &ambiguous);
    if (!r)
        return cmd_usage_error(o->cmd, o->spelled, ambiguous ? "ambiguous option" : "unknown option"),
               CMD_OPTS_ERROR;
    return take_value(o, r, eq ? eq + 1 : NULL);
}

static int short_option(cmd_opts *o)
{
    char c = *o->cluster++;
    char name[2] = {c, '\0'};
    set_spelled(o, "-", name, 1);
    const cmd_opt *r = find_short(o, c);
    if (!r)
        return cmd_usage_error(o->cmd, o->spelled, "unknown option"), CMD_OPTS_ERROR;
    if (r->arg == CMD_ARG_NONE)
        return take_value(o, r, NULL);
    const char *rest = *o->cluster ? o->cluster : NULL;
    o->cluster = NULL;
    return take_value(o, r, rest);
}

int cmd_opts_next(cmd_opts *o)
{
    if (o->cluster && *o->cluster)
        return short_option(o);
    o->cluster = NULL;
    while (o->next < o->argc) {
        char *a = o->argv[o->next];
        if (!strcmp(a, "--") || ((a[0] != '-' || !a[1]) && o->in_order)) {
            o->next += !strcmp(a, "--");
            while (o->next < o->argc)
                add_operand(o, o->argv[o->next++]);
            break;
        }
        o->next++;
        if (a[0] != '-' || !a[1]) {
            add_operand(o, a);
            continue;
        }
        if (a[1] == '-')
            return long_option(o, a + 2, 0);
        const char *eq = strchr(a + 1, '=');
        size_t len = eq ? (size_t)(eq - a - 1) : strlen(a + 1);
        int ambiguous;
        if (len > 1 && find_long(o, a + 1, len, 1, &ambiguous))
            return long_option(o, a + 1, 1);
        o->cluster = a + 1;
        return short_option(o);
    }
    return CMD_OPTS_END;
}

/* ---- shared options -------------------------------------------------------- */

const cmd_opt cmd_input_opts[] = {
    {"help", 'h', CMD_ARG_NONE, 0, CMD_O_HELP},
    {"format", 0, CMD_ARG_REQUIRED, 0, CMD_O_FORMAT},
    {"value", 0, CMD_ARG_REQUIRED, 0, CMD_O_VALUE},
    {"sample_index", 0, CMD_ARG_REQUIRED, 0, CMD_O_VALUE},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_filter_opts[] = {
    {"focus", 0, CMD_ARG_REQUIRED, 0, CMD_O_FOCUS},
    {"ignore", 0, CMD_ARG_REQUIRED, 0, CMD_O_IGNORE},
    {"thread", 0, CMD_ARG_REQUIRED, 0, CMD_O_THREAD},
    {"hide", 0, CMD_ARG_REQUIRED, 0, CMD_O_HIDE},
    {"show", 0, CMD_ARG_REQUIRED, 0, CMD_O_SHOW},
    {"show-from", 0, CMD_ARG_REQUIRED, 0, CMD_O_SHOW_FROM},
    {"show_from", 0, CMD_ARG_REQUIRED, 0, CMD_O_SHOW_FROM},
    {"prune-from", 0, CMD_ARG_REQUIRED, 0, CMD_O_PRUNE_FROM},
    {"prune_from", 0, CMD_ARG_REQUIRED, 0, CMD_O_PRUNE_FROM},
    {"tagfocus", 0, CMD_ARG_REQUIRED, 0, CMD_O_TAGFOCUS},
    {"tagignore", 0, CMD_ARG_REQUIRED, 0, CMD_O_TAGIGNORE},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_percent_opts[] = {
    {"relative-percentages", 0, CMD_ARG_NONE, 0, CMD_O_RELATIVE},
    {"relative_percentages", 0, CMD_ARG_NONE, 0, CMD_O_RELATIVE},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_diff_opts[] = {
    {"diff", 0, CMD_ARG_REQUIRED, 0, CMD_O_DIFF},
    {"diff_base", 0, CMD_ARG_REQUIRED, 0, CMD_O_DIFF},
    {"normalize", 0, CMD_ARG_NONE, 0, CMD_O_NORMALIZE},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_sort_opts[] = {
    {"sort", 's', CMD_ARG_REQUIRED, 0, CMD_O_SORT},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_reverse_opts[] = {
    {"reverse", 0, CMD_ARG_NONE, 0, CMD_O_REVERSE},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_inverted_opts[] = {
    {"inverted", 0, CMD_ARG_NONE, 0, CMD_O_INVERTED},
    {"icicle", 0, CMD_ARG_NONE, 0, CMD_O_INVERTED},
    {NULL, 0, 0, 0, 0},
};

const cmd_opt cmd_granularity_opts[] = {
    {"granularity", 0, CMD_ARG_REQUIRED, 0, CMD_O_GRANULARITY},
    {"functions", 0, CMD_ARG_NONE, CMD_OPT_PPROF, CMD_O_FUNCTIONS},
    {"lines", 0, CMD_ARG_NONE, CMD_OPT_PPROF, CMD_O_LINES},
    {"files", 0, CMD_ARG_NONE, CMD_OPT_PPROF, CMD_O_FILES},
    {NULL, 0, 0, 0, 0},
};

/* "function", "line", "file", "module", "address", or their plurals
 * (in ig_granularity's order). */
static int parse_granularity(const char *s)
{
    static const char *const names[] = {"function", "line", "file", "module", "address"};
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(names[i]);
        if (!strncmp(s, names[i], n) && (!s[n] || !strcmp(s + n, "s")))
            return i;
    }
    return -1;
}

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = ig_xmalloc(la + lb + lc + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* *re becomes "re" or, when one is there already, "(old)|(re)". */
static void add_alternative(char **re, const char *add, size_t len)
{
    char *piece = ig_xmalloc(len + 1);
    memcpy(piece, add, len);
    piece[len] = '\0';
    if (!*re) {
        *re = piece;
        return;
    }
    char *left = concat3("(", *re, ")|(");
    char *both = concat3(left, piece, ")");
    free(left);
    free(piece);
    free(*re);
    *re = both;
}

/* Splits a --thread list at the commas outside (), [] and {}. */
static void add_thread_list(char **re, const char *list)
{
    int depth = 0;
    const char *start = list;
    for (const char *c = list;; c++) {
        if (*c == '\\' && c[1]) {
            c++;
            continue;
        }
        if (*c == '(' || *c == '[' || *c == '{')
            depth++;
        else if ((*c == ')' || *c == ']' || *c == '}') && depth > 0)
            depth--;
        if (!*c || (*c == ',' && !depth)) {
            if (c > start)
                add_alternative(re, start, (size_t)(c - start));
            if (!*c)
                break;
            start = c + 1;
        }
    }
}

static char **list_add(char **list, size_t *n, char *s)
{
    char **l = ig_xrealloc(list, (*n + 2) * sizeof *l);
    l[(*n)++] = s;
    l[*n] = NULL;
    return l;
}

int cmd_one_input(const char *cmd, const cmd_common *c, const cmd_opts *o, void (*usage)(FILE *), int rc)
{
    if (rc >= 0)
        return rc;
    if (c->help) {
        usage(stdout);
        return 0;
    }
    if (o->noperands != 1)
        return cmd_usage_error(cmd, o->noperands ? o->operands[1] : "IN",
                               o->noperands ? "one input file expected" : "missing input file");
    return rc;
}

int cmd_common_option(const char *cmd, cmd_common *c, int id, const char *arg)
{
    static const struct { int id; const char *name; } filter_names[] = {
        {CMD_O_FOCUS, "focus"}, {CMD_O_IGNORE, "ignore"}, {CMD_O_THREAD, "thread"}, {CMD_O_HIDE, "hide"},
        {CMD_O_SHOW, "show"}, {CMD_O_SHOW_FROM, "show_from"}, {CMD_O_PRUNE_FROM, "prune_from"},
        {CMD_O_TAGFOCUS, "tagfocus"}, {CMD_O_TAGIGNORE, "tagignore"}, {CMD_O_SPAN, "span"},
        {CMD_O_TRACE, "trace"}, {CMD_O_SPAN_NAME, "span_name"}};
    for (size_t i = 0; i < sizeof filter_names / sizeof filter_names[0]; i++)
        if (filter_names[i].id == id)
            c->active = list_add(c->active, &c->nactive, concat3(filter_names[i].name, "=", arg));
    switch (id) {
    case CMD_O_HELP: c->help = 1; break;
    case CMD_O_FORMAT: c->format = arg; break;
    case CMD_O_VALUE: c->value = arg; break;
    case CMD_O_FOCUS: add_alternative(&c->focus, arg, strlen(arg)); break;
    case CMD_O_IGNORE: add_alternative(&c->ignore, arg, strlen(arg)); break;
    case CMD_O_THREAD: add_thread_list(&c->thread, arg); break;
    case CMD_O_HIDE: add_alternative(&c->hide, arg, strlen(arg)); break;
    case CMD_O_SHOW: add_alternative(&c->show, arg, strlen(arg)); break;
    case CMD_O_SHOW_FROM: add_alternative(&c->show_from, arg, strlen(arg)); break;
    case CMD_O_PRUNE_FROM: add_alternative(&c->prune_from, arg, strlen(arg)); break;
    case CMD_O_TAGFOCUS: c->tagfocus = list_add(c->tagfocus, &c->ntagfocus, concat3(arg, "", "")); break;
    case CMD_O_TAGIGNORE: c->tagignore = list_add(c->tagignore, &c->ntagignore, concat3(arg, "", "")); break;
    case CMD_O_SPAN: c->span_ids = list_add(c->span_ids, &c->nspan_ids, concat3(arg, "", "")); break;
    case CMD_O_TRACE: c->trace_id = arg; break;
    case CMD_O_SPAN_NAME: c->span_name = arg; break;
    case CMD_O_SPANS: c->spans_src = arg; break;
    case CMD_O_SLOW_VS_FAST: c->slow_vs_fast = arg; break;
    case CMD_O_THRESHOLD: c->threshold = arg; break;
    case CMD_O_JOIN_SPANS: c->join_spans = 1; break;
    case CMD_O_RELATIVE: c->relative = 1; break;
    case CMD_O_DIFF: c->diff = arg; break;
    case CMD_O_NORMALIZE: c->normalize = 1; break;
    case CMD_O_REVERSE: c->reverse = 1; break;
    case CMD_O_INVERTED: c->inverted = 1; break;
    case CMD_O_FUNCTIONS: c->granularity = IG_GRAN_FUNCTION; break;
    case CMD_O_LINES: c->granularity = IG_GRAN_LINE; break;
    case CMD_O_FILES: c->granularity = IG_GRAN_FILE; break;
    case CMD_O_GRANULARITY:
        if ((c->granularity = parse_granularity(arg)) < 0)
            return cmd_usage_error(cmd, "--granularity", "'%s' is not function, line, file, module or address", arg);
        break;
    case CMD_O_SORT:
        if (!strcmp(arg, "flat"))
            c->sort = IG_SORT_FLAT;
        else if (!strcmp(arg, "cum"))
            c->sort = IG_SORT_CUM;
        else
            return cmd_usage_error(cmd, "--sort", "'%s' is not flat or cum", arg);
        break;
    default: break;
    }
    return 0;
}

void cmd_common_tree_opts(const cmd_common *c, ig_tree_opts *o)
{
    o->focus = c->focus;
    o->ignore = c->ignore;
    o->thread = c->thread;
    o->hide = c->hide;
    o->show = c->show;
    o->root = c->show_from;
    o->prune_from = c->prune_from;
    o->tagfocus = (const char *const *)c->tagfocus;
    o->tagignore = (const char *const *)c->tagignore;
    o->normalize = c->normalize;
    o->relative = c->relative;
    o->reverse = c->reverse;
    o->granularity = (ig_granularity)c->granularity;
    o->keep_labels = c->span_sel ? ig_span_keep_labels : NULL;
    o->keep_labels_ctx = c->span_sel;
}

static void strs_free(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

void cmd_common_free(cmd_common *c)
{
    free(c->focus);
    free(c->ignore);
    free(c->thread);
    free(c->hide);
    free(c->show);
    free(c->show_from);
    free(c->prune_from);
    strs_free(c->tagfocus);
    strs_free(c->tagignore);
    strs_free(c->active);
    strs_free(c->span_ids);
    if (c->span_sel)
        ig_span_select_free(c->span_sel);
    free(c->span_sel);
    free(c->span_base);
    free(c->span_partial);
    memset(c, 0, sizeof *c);
    c->sort = -1;
}

/* ---- loading and values ---------------------------------------------------- */

struct ignis_profile *cmd_load_profile(const char *cmd, const char *path, const char *format)
{
    ignis_profile *p = NULL;
    ig_err err;
    if (ig_profile_load(path, format, &p, &err)) {
        cmd_error(cmd, "%s", err.msg);
        return NULL;
    }
    return p;
}

int cmd_resolve_value(const char *cmd, const struct ignis_profile *p, const char *spec)
{
    size_t n = ignis_profile_num_values(p);
    if (!n) {
        cmd_error(cmd, "profile has no sample values");
        return -1;
    }
    if (!spec)
        return ignis_profile_default_value(p);
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        if (idx < 0 || (size_t)idx >= n) {
            cmd_error(cmd, "--value: index %ld out of range (profile has %zu values)", idx, n);
            return -1;
        }
        return (int)idx;
    }
    for (size_t i = 0; i < n; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        const char *type = ignis_profile_string(p, vt.type), *unit = ignis_profile_string(p, vt.unit);
        char both[256];
        snprintf(both, sizeof both, "%s/%s", type, unit);
        if (!strcmp(spec, type) || !strcmp(spec, both))
            return (int)i;
    }
    char avail[512] = "";
    for (size_t i = 0; i < n; i++) {
        ignis_value_type vt = ignis_profile_value_type(p, i);
        size_t l = strlen(avail);
        snprintf(avail + l, sizeof avail - l, "%s%s", i ? ", " : "", ignis_profile_string(p, vt.type));
    }
    cmd_error(cmd, "--value: no value named '%s' (available: %s)", spec, avail);
    return -1;
}

int cmd_tree_value(const char *cmd, const struct ignis_profile *p, const char *spec)
{
    int vi = cmd_resolve_value(cmd, p, spec);
    if (vi < 0)
        return -2;
    return spec ? vi : -1;
}

int cmd_check_diff(const char *cmd, const struct ignis_profile *p, int vi, int explicit_value,
                   const struct ignis_profile *base, const char *base_path)
{
    ig_err err;
    if (ig_diff_base_value(p, vi < 0 ? ignis_profile_default_value(p) : vi, explicit_value, base, &err) < 0) {
        cmd_error(cmd, "%s: %s", base_path, err.msg);
        return -1;
    }
    return 0;
}

int cmd_finish_stdout(const char *cmd)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    cmd_error(cmd, "stdout: %s", strerror(errno ? errno : EIO));
    return 1;
}
