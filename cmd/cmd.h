/*
 * cmd/cmd.h — the subcommands of `ignis`, one file each, and what they
 * share (cmd/common.c).
 *
 * Commands are thin: they parse options, call into the shared model
 * (profile/), formats (exporters/), profiler/ and viewer/, print, and exit.
 * Each returns the process exit status (0 ok, 1 error, 2 usage error).
 * Errors are printed as one line: "ignis CMD: <file or flag>: <reason>".
 *
 * One option parser serves every command, so an option is spelled, and
 * its errors read, the same everywhere; options several commands take
 * (input format and value, filters, diffs, sort, reverse, inverted) come
 * from shared tables and mean the same thing in each.
 */
#ifndef IG_CMD_H
#define IG_CMD_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

struct ignis_profile;
struct ig_tree_opts;

int cmd_convert(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_agent(int argc, char **argv);

/* Prints "ignis CMD: msg" to stderr. */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- option parsing ------------------------------------------------------
 *
 * Accepted spellings, for an option named "top" with short name 'n':
 *   --top 5, --top=5, -n 5, -n5, and flags clustered (-qv);
 *   -top=5, -top 5: a long name after one dash, as pprof and Go spell
 *     options (-focus=RE, -nodecount=10, -sample_index=cpu, -diff_base=F);
 *     the name must be whole (after "--" a unique prefix is enough);
 *   options and operands in any order; "--" ends the options, and with
 *     in_order so does the first operand (record/top: -- CMD ARGS).
 * Errors print one line and make cmd_opts_next() return CMD_OPTS_ERROR
 * (exit status 2):
 *   ignis report: --xyz: unknown option (ignis report --help)
 *   ignis report: --top: missing value (ignis report --help)
 *
 * A command lists its own options, then the shared tables it takes:
 *
 *   static const cmd_opt own[] = {{"collect", 0, CMD_ARG_NONE, 0, OPT_COLLECT}, {NULL, 0, 0, 0, 0}};
 *   static const cmd_opt *const tables[] = {own, cmd_input_opts, cmd_filter_opts, cmd_diff_opts,
 *                                           cmd_sort_opts, cmd_inverted_opts, NULL};
 *   cmd_common c = CMD_COMMON_INIT;
 *   cmd_opts o;
 *   cmd_opts_init(&o, "view", tables, argc, argv, 0);
 *   for (int id; (id = cmd_opts_next(&o)) != CMD_OPTS_END;)
 *       if (id == CMD_OPTS_ERROR || (id >= CMD_O_FIRST && cmd_common_option("view", &c, id, o.arg)))
 *           return 2;                                  (after freeing)
 *       else if (id == OPT_COLLECT) ...
 *   ... c.help, c.format, c.value (cmd_tree_value), cmd_common_tree_opts(&c, &tree_opts),
 *   o.operands[0 .. o.noperands) ...; cmd_opts_free(&o); cmd_common_free(&c);
 *
 * Short names are few and mean one thing everywhere: -h help, -s sort
 * (flat|cum, as perf's report -s), -o output, -q quiet, -n rows; --value
 * has none (pprof's -sample_index=V is accepted).
 */

enum { CMD_ARG_NONE = 0, CMD_ARG_REQUIRED = 1 };
enum { CMD_OPT_PPROF = 1 }; /* cmd_opt.flags: only as "-name" (pprof's -top), never "--name" */
enum { CMD_OPTS_END = -1, CMD_OPTS_ERROR = -2 };

typedef struct cmd_opt {
    const char *name;  /* long name without dashes, "" for none; NULL ends a table */
    char short_name;   /* 'n' for -n, 0 for none */
    uint8_t arg;       /* CMD_ARG_* */
    uint8_t flags;     /* CMD_OPT_* */
    int id;            /* what cmd_opts_next() returns for it (aliases share one) */
} cmd_opt;

typedef struct cmd_opts {
    const char *cmd;               /* "report", for messages */
    const cmd_opt *const *tables;  /* NULL-terminated: the command's own table, then shared ones */
    int argc;
    char **argv;
    int in_order;                  /* the first operand ends the options */
    const char *arg;               /* the value of the option just returned */
    const char *spelled;           /* that option as typed, without "=value" ("-n", "--top") */
    char **operands;               /* after CMD_OPTS_END: the operands, in order */
    int noperands;
    /* private */
    int next;
    const char *cluster;
    char spelled_buf[128];
} cmd_opts;

void cmd_opts_init(cmd_opts *o, const char *cmd, const cmd_opt *const *tables, int argc, char **argv,
                   int in_order);
/* The next option's id (its value in o->arg), CMD_OPTS_END, or
 * CMD_OPTS_ERROR after printing the error. */
int cmd_opts_next(cmd_opts *o);
void cmd_opts_free(cmd_opts *o);

/* Prints "ignis CMD: FLAG: msg (ignis CMD --help)" and returns 2.  A CMD
 * of two words ("record --alloc") names the first and asks for the help
 * of both. */
int cmd_usage_error(const char *cmd, const char *flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- shared options ------------------------------------------------------
 *
 * Ids from CMD_O_FIRST up belong to the shared tables below; a command's
 * own ids must stay under it.  cmd_common_option() stores any of them.
 */
enum {
    CMD_O_FIRST = 1000,
    CMD_O_HELP = CMD_O_FIRST,                                    /* cmd_input_opts */
    CMD_O_FORMAT, CMD_O_VALUE,
    CMD_O_FOCUS, CMD_O_IGNORE, CMD_O_THREAD, CMD_O_HIDE, CMD_O_SHOW,  /* cmd_filter_opts */
    CMD_O_SHOW_FROM, CMD_O_PRUNE_FROM, CMD_O_TAGFOCUS, CMD_O_TAGIGNORE,
    CMD_O_RELATIVE,                                              /* cmd_percent_opts */
    CMD_O_DIFF, CMD_O_NORMALIZE,                                 /* cmd_diff_opts */
    CMD_O_SORT,                                                  /* cmd_sort_opts */
    CMD_O_REVERSE,                                               /* cmd_reverse_opts */
    CMD_O_INVERTED,                                              /* cmd_inverted_opts */
    CMD_O_GRANULARITY, CMD_O_FUNCTIONS, CMD_O_LINES, CMD_O_FILES, /* cmd_granularity_opts */
    CMD_O_SPAN, CMD_O_TRACE, CMD_O_SPAN_NAME, CMD_O_SPANS,       /* cmd_span_opts */
    CMD_O_SLOW_VS_FAST, CMD_O_THRESHOLD, CMD_O_JOIN_SPANS,
};

/* -h/--help; --format F (the INPUT format, in every command); --value V
 * (pprof: -sample_index=V). */
extern const cmd_opt cmd_input_opts[];
/* --focus, --ignore, --thread (comma lists and repeats: any of them),
 * --hide, --show, --show-from, --prune-from, --tagfocus, --tagignore;
 * pprof's spellings (-show_from, -prune_from) too. */
extern const cmd_opt cmd_filter_opts[];
/* --relative-percentages (pprof: -relative_percentages): percentages of
 * what the filters kept, not of the whole profile. */
extern const cmd_opt cmd_percent_opts[];
/* --diff BASE (pprof: -diff_base=BASE), --normalize. */
extern const cmd_opt cmd_diff_opts[];
/* -s, --sort flat|cum. */
extern const cmd_opt cmd_sort_opts[];
/* --reverse: merge stacks from the leaf (callers). */
extern const cmd_opt cmd_reverse_opts[];
/* --inverted (also --icicle): the root at the top. */
extern const cmd_opt cmd_inverted_opts[];
/* --granularity function|line|file|module (plural too): what a frame is;
 * pprof's -functions, -lines and -files. */
extern const cmd_opt cmd_granularity_opts[];
/* Span-linked profiles (profile/spans.h): --span ID (repeatable),
 * --trace ID, --span-name NAME select samples by their span labels;
 * --spans STORE|FILE.jsonl gives span times (a span then brings its
 * descendants); --slow-vs-fast NAME [--threshold DUR] compares the slow
 * spans of an operation with the others. */
extern const cmd_opt cmd_span_opts[];

/* What the shared options set. */
typedef struct cmd_common {
    const char *format, *value, *diff;
    int help, normalize, relative, sort, reverse, inverted; /* sort: ig_top_sort, -1 = not given */
    int granularity;               /* ig_granularity */
    /* filters; repeated regexes (and --thread lists) are alternatives */
    char *focus, *ignore, *thread, *hide, *show, *show_from, *prune_from;
    char **tagfocus, **tagignore;  /* NULL-terminated, or NULL */
    char **active;                 /* "focus=RE" per filter given, in order; NULL-terminated */
    size_t nactive, ntagfocus, ntagignore;
    /* span options (cmd_span_opts) and what cmd_apply_spans made of them */
    char **span_ids;               /* NULL-terminated, or NULL */
    size_t nspan_ids;
    const char *trace_id, *span_name, *spans_src, *slow_vs_fast, *threshold;
    int join_spans;                /* --join-spans: by thread and time with --spans first */
    struct ig_span_select *span_sel; /* the sample filter cmd_common_tree_opts passes on */
    char *span_base;               /* --slow-vs-fast: what the base is, for headers */
    char *span_partial;            /* --slow-vs-fast --spans: the spans left out (ig_span_split_partial), or NULL */
} cmd_common;

#define CMD_COMMON_INIT {.sort = -1}

/* Stores a shared option (id >= CMD_O_FIRST): returns 0, or 2 after
 * printing a usage error (a bad --sort value). */
int cmd_common_option(const char *cmd, cmd_common *c, int id, const char *arg);
/* The end of a command's parsing (rc < 0 while nothing decided yet):
 * --help prints usage and gives 0; otherwise exactly one operand, the
 * input, must be there (a usage error, 2, when not).  Returns rc, or
 * the decision. */
int cmd_one_input(const char *cmd, const cmd_common *c, const cmd_opts *o, void (*usage)(FILE *), int rc);
/* Copies the filters, normalize, relative, reverse and granularity into o
 * (which keeps pointers into c). */
void cmd_common_tree_opts(const cmd_common *c, struct ig_tree_opts *o);
/* Applies the span options to a loaded profile *p, before views are built:
 * --span/--trace/--span-name become c->span_sel (call
 * cmd_common_tree_opts again afterwards); --slow-vs-fast replaces *p by the
 * samples of the operation's slow spans and sets *base to the others',
 * with normalize on and c->diff naming the base, and c->span_partial
 * when --spans lacks some of them.  Prints what it compared.
 * Returns 0, 1 after printing an error, 2 after a usage error. */
int cmd_apply_spans(const char *cmd, cmd_common *c, struct ignis_profile **p, struct ignis_profile **base);
/* Joins the samples of *p that no span labels with the spans of src (a
 * store or OTLP-JSON file) that carry thread.id, by thread and time
 * (profile/spans.h); replaces *p and prints one line of what it did.
 * `what` names the option the lines are about ("--spans").
 * Returns 0, or 1 after printing why not (*p then unchanged). */
int cmd_join_spans(const char *cmd, const char *what, const char *src, struct ignis_profile **p);
void cmd_common_free(cmd_common *c);

/* Help text of the shared options, to embed in a command's usage. */
#define CMD_HELP_FILTERS \
    "      --focus RE        only samples with a frame matching RE (pprof -focus=RE)\n" \
    "      --ignore RE       drop samples with a frame matching RE\n" \
    "      --thread RE[,RE]  only samples of threads matching any RE (repeatable)\n" \
    "      --hide RE         drop frames matching RE, keep their samples\n" \
    "      --show RE         keep only frames matching RE\n" \
    "      --show-from RE    drop the callers of the first frame matching RE\n" \
    "      --prune-from RE   drop the callees of the frame matching RE\n" \
    "      --tagfocus [KEY=]V[,V]  only samples with a label matching: a regex, or a\n" \
    "                        numeric range N, N:, :N, N:M with units (bytes=1kb:)\n" \
    "      --tagignore [KEY=]V[,V] drop samples with such a label\n"
#define CMD_HELP_PERCENT \
    "      --relative-percentages  percentages of what the filters kept (default:\n" \
    "                        of the whole profile, as pprof)\n"
#define CMD_HELP_INPUT \
    "      --format F        input format: pprof, folded, perf-script (default: detect)\n" \
    "      --value V         sample value: index, type or type/unit (pprof -sample_index=V)\n"
#define CMD_HELP_GRANULARITY \
    "      --granularity G   what a frame is: function (default), line, file, module,\n" \
    "                        address (pprof -functions, -lines, -files, -addresses)\n"
#define CMD_HELP_SPANS \
    "      --span ID         only samples taken in span ID (and its children, with --spans)\n" \
    "      --trace ID        only samples of trace ID\n" \
    "      --span-name NAME  only samples of the spans named NAME (one operation;\n" \
    "                        and their children, with --spans)\n" \
    "      --slow-vs-fast NAME  diff of NAME's slowest spans (above its p90) against\n" \
    "                        the others: what slow requests do that fast ones don't\n" \
    "                        (with --spans: a span of NAME inside another is part of it)\n" \
    "      --threshold DUR   --slow-vs-fast: slow means at least DUR (e.g. 200ms)\n" \
    "      --spans SRC       span times and parents from a trace store or OTLP-JSON\n" \
    "                        file (default: durations estimated from the profile)\n" \
    "      --join-spans      first label samples no span labels with the spans of\n" \
    "                        --spans that carry thread.id, by thread and time\n" \
    "                        (a profile of `ignis record --spans`: labels tid, time_ns)\n"
#define CMD_HELP_DIFF \
    "      --diff BASE       compare with profile BASE (pprof -diff_base=BASE)\n" \
    "      --normalize       scale BASE to the same total first\n"

/* ---- loading and values -------------------------------------------------- */

/* Loads a profile in any readable format (cmd/common.c); on failure prints
 * "ignis CMD: FILE: reason" and returns NULL. */
struct ignis_profile *cmd_load_profile(const char *cmd, const char *path, const char *format);

/* Resolves a --value argument: NULL = the profile's default, a 0-based
 * index, a value type name ("cpu", "alloc_space") or "type/unit".  Returns
 * the index, or -1 after printing "ignis CMD: --value: ..." . */
int cmd_resolve_value(const char *cmd, const struct ignis_profile *p, const char *spec);

/* The value index to pass in ig_tree_opts.value: -1 when --value was not
 * given (the profile's default; a diff then wants equal value types), else
 * the resolved index; -2 after printing an error. */
int cmd_tree_value(const char *cmd, const struct ignis_profile *p, const char *spec);

/* Checks that BASE can be compared with p on value vi (explicit: --value
 * was given): else prints "ignis CMD: BASE: incompatible sample types
 * [..] and [..]" and returns -1. */
int cmd_check_diff(const char *cmd, const struct ignis_profile *p, int vi, int explicit_value,
                   const struct ignis_profile *base, const char *base_path);

/* Flushes standard output; on a write error (a full disk, a closed pipe)
 * prints "ignis CMD: stdout: reason" and returns 1, else 0. */
int cmd_finish_stdout(const char *cmd);

#endif
