/*
 * viewer/tasks.c — the viewer's long work as jobs, one at a time.
 *
 * Work is queued as bits of ig_viewer.needs and started in a fixed order
 * (load, tree, background tree, top table, callers/callees, source,
 * export, search statistics).  Starting a task copies what it reads from
 * the model (options, the profile and tree pointers, names) into an
 * ig_task; the worker writes only into the task; applying the result back
 * into the model happens on the model's thread in ig_viewer_pump().  The
 * tree a task reads is never freed while it runs: a request for a new
 * tree first cancels and joins the running task.
 *
 * Foreground work (load, tree, table, callers, source, export) blocks the
 * keys except Esc, which cancels it and puts the model back as it was:
 * a filter that was being applied is forgotten; a tree that had to be
 * freed first (a huge one: two would not fit the memory budget) is built
 * again from the options it had, and that rebuild cannot be cancelled.
 * Background work (the full tree after a quick preview, a live refresh,
 * search statistics) leaves the keys alone.
 *
 * A load that reads in steps (a big folded file) and takes long hands
 * the model a preview tree of the part read so far (offer_partial, under
 * partial_mu); the model shows it, marked partial, while the load goes on,
 * and the whole profile's trees replace it as they would have come.
 */
#include "viewer/tasks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporters/formats.h"
#include "utils/percent.h"
#include "utils/satmath.h"
#include "utils/strbuf.h"
#include "viewer/job.h"
#include "viewer/treeprof.h"

/* A tree bigger than this is freed before another is built in its place. */
#define IG_TREE_DROP_NODES (4u << 20)
/* A profile with this many distinct samples gets a quick preview first. */
#define IG_PREVIEW_SAMPLES 100000
#define IG_PREVIEW_DETAIL 8192
/* A load still reading after this long, with at least IG_PARTIAL_LEFT_MS
 * to go at its pace so far, shows what it has read meanwhile. */
#define IG_PARTIAL_AFTER_MS 400
#define IG_PARTIAL_LEFT_MS 500

void (*ig_viewer_test_partial)(ig_progress *progress);

typedef struct ig_task {
    unsigned kind; /* one IG_NEED_* */
    int background; /* refreshes what stays on screen meanwhile: keys go on */
    ig_job *job;
    int failed;
    ig_err err;
    int restore; /* rebuilding what a cancel took away: Esc does not stop it */
    /* inputs */
    ig_view_opts opts;
    const ignis_profile *base;
    int64_t min_total;
    const ig_tree *tree;
    uint32_t zoom;
    char *arg, *arg2, *title;
    int icicle, total_too;
    ig_top_sort sort;
    int8_t *match;
    size_t match_len;
    ig_viewer_load load;
    /* a load's partial view: what the tree of the part read so far is
     * built from (copies: an abandoned load outlives the viewer) */
    int partial_ok, relative;
    char *value_name, *focus, *ignore, *thread, *root, *hide, *show, *prune_from;
    ig_progress *load_progress; /* worker only */
    double load_started_ms;     /* worker only */
    int partial_offered;        /* worker only */
    pthread_mutex_t partial_mu; /* guards partial: the worker puts, the model takes */
    ig_tree *partial;
    /* outputs */
    ignis_profile *out_profile, *out_base;
    ig_tree *out_tree, *out_callers, *out_callees;
    ig_top *out_top;
    ig_source *out_source;
    double out_total, out_view;
    char message[300];
} ig_task;

static int always_background(unsigned kind)
{
    return kind == IG_NEED_TREE_BG || kind == IG_NEED_MATCH;
}

static int foreground(const ig_task *t)
{
    return !t->background;
}

static ig_tree_opts tree_opts(const ig_view_opts *o, ig_progress *pr)
{
    ig_tree_opts t = {0};
    if (o->fixed) { /* hide, show, tagfocus, ...: what the keys do not change */
        t.root = o->fixed->root;
        t.hide = o->fixed->hide;
        t.show = o->fixed->show;
        t.prune_from = o->fixed->prune_from;
        t.tagfocus = o->fixed->tagfocus;
        t.tagignore = o->fixed->tagignore;
        t.normalize = o->fixed->normalize;
        t.relative = o->fixed->relative; /* --relative-percentages */
        t.keep_labels = o->fixed->keep_labels; /* --span, --trace, --span-name */
        t.keep_labels_ctx = o->fixed->keep_labels_ctx;
    }
    t.value = o->value;
    t.focus = o->focus;
    t.ignore = o->ignore;
    t.thread = o->thread;
    t.granularity = o->gran;
    t.progress = pr;
    return t;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the work (worker thread: reads the task's inputs, writes its outputs) ---- */

/* Whether a load that has read done of total bytes so far is worth a
 * partial view: it has taken a while and will take a while longer. */
static int worth_partial(const ig_task *t, uint64_t done, uint64_t total)
{
    double spent = now_ms() - t->load_started_ms;
    if (ig_viewer_test_partial)
        return 1;
    return spent >= IG_PARTIAL_AFTER_MS && done > 0 && done < total &&
           spent * (double)(total - done) / (double)done >= IG_PARTIAL_LEFT_MS;
}

/* The reader's offer of the profile read so far (ig_partial_fn): once per
 * load, when the reading takes long and will take longer, a preview tree
 * of it is left for the model to show (ig_viewer_pump).  Building it holds
 * the merge up for about a fifth of what the whole file's preview costs. */
static void offer_partial(void *ctx, const ignis_profile *so_far, uint64_t done, uint64_t total)
{
    ig_task *t = ctx;
    if (t->partial_offered || ig_progress_cancelled(t->load_progress) || !worth_partial(t, done, total))
        return;
    int vi = t->value_name ? ignis_profile_find_value(so_far, t->value_name) : ignis_profile_default_value(so_far);
    if (vi < 0)
        return;
    t->partial_offered = 1;
    ig_tree_opts o = {.value = vi, .focus = t->focus, .ignore = t->ignore, .thread = t->thread,
                      .granularity = t->load.gran, .root = t->root, .hide = t->hide, .show = t->show,
                      .prune_from = t->prune_from};
    o.relative = t->relative;
    o.min_total = ignis_profile_total(so_far, (size_t)vi) / IG_PREVIEW_DETAIL;
    ig_err err;
    ig_tree *tree = ig_tree_build(so_far, &o, &err); /* a bad filter is the full load's to report */
    if (!tree)
        return;
    pthread_mutex_lock(&t->partial_mu);
    t->partial = tree;
    pthread_mutex_unlock(&t->partial_mu);
    if (ig_viewer_test_partial)
        ig_viewer_test_partial(t->load_progress);
}

static void run_load(ig_task *t, ig_progress *pr)
{
    if (t->out_profile) /* preloaded by the command */
        return;
    ig_progress_step(pr, "reading", 0);
    t->load_progress = pr;
    t->load_started_ms = now_ms();
    if (ig_profile_load_partial(t->load.path, t->load.format, &t->out_profile, pr,
                                t->partial_ok ? offer_partial : NULL, t, &t->err) < 0) {
        t->failed = 1;
        return;
    }
    ig_profile_compact(t->out_profile); /* read-only from here: the tree needs the room */
    if (ig_progress_cancelled(pr))
        return;
    if (t->load.base_path) {
        ig_progress_step(pr, "reading the base", 0);
        if (ig_profile_load(t->load.base_path, t->load.format, &t->out_base, &t->err) < 0)
            t->failed = 1;
        else
            ig_profile_compact(t->out_base);
    }
}

static void run_tree(ig_task *t, ig_progress *pr)
{
    ig_tree_opts o = tree_opts(&t->opts, pr);
    o.min_total = t->min_total;
    t->out_tree = ig_tree_build(t->opts.profile, &o, &t->err);
    if (t->out_tree && t->base && ig_tree_add_base(t->out_tree, t->base, &t->err) < 0) {
        ig_tree_free(t->out_tree);
        t->out_tree = NULL;
    }
    t->failed = !t->out_tree;
}

static void run_top(ig_task *t, ig_progress *pr)
{
    ig_tree_opts o = tree_opts(&t->opts, pr);
    t->out_top = ig_top_build(t->opts.profile, &o, t->sort, &t->err);
    if (t->out_top && t->base && ig_top_add_base(t->out_top, t->base, t->sort, &t->err) < 0) {
        ig_top_free(t->out_top);
        t->out_top = NULL;
    }
    t->failed = !t->out_top;
}

static void run_sandwich(ig_task *t, ig_progress *pr)
{
    t->failed = ig_sandwich_trees(t->tree, t->arg, pr, &t->out_callers, &t->out_callees, &t->err) < 0;
}

static void run_source(ig_task *t, ig_progress *pr)
{
    ig_tree_opts o = tree_opts(&t->opts, pr);
    ig_source_opts so = {&o, -1, t->arg2};
    char *re = ig_regex_exact(t->arg);
    t->out_source = ig_source_list(t->opts.profile, re, &so, &t->err);
    free(re);
    t->failed = !t->out_source;
}

static void run_export(ig_task *t, ig_progress *pr)
{
    ignis_profile *p = ig_profile_of_subtree(t->tree, t->zoom, 0, pr);
    ignis_profile *base = p && ig_tree_is_diff(t->tree) ? ig_profile_of_subtree(t->tree, t->zoom, 1, pr) : NULL;
    if (!p || (ig_tree_is_diff(t->tree) && !base)) {
        ignis_profile_free(p);
        t->failed = 1;
        ig_err_set(&t->err, "cancelled");
        return;
    }
    ig_progress_step(pr, "writing", 0);
    ig_write_opts o = {.tree = {.value = 0}, .title = t->title, .inverted = t->icicle, .minwidth = -1,
                       .diff_base = base};
    t->failed = ig_profile_save(p, t->arg, t->arg2, &o, &t->err) < 0;
    ignis_profile_free(p);
    ignis_profile_free(base);
}

/* Does name id `name` match?  Cached in t->match. */
static int match_name(ig_task *t, const regex_t *re, uint32_t name)
{
    if (name >= t->match_len) {
        size_t n = t->match_len ? t->match_len : 1024;
        while (n <= name)
            n *= 2;
        t->match = ig_xrealloc(t->match, n);
        memset(t->match + t->match_len, -1, n - t->match_len);
        t->match_len = n;
    }
    if (t->match[name] < 0)
        t->match[name] = regexec(re, ig_tree_name(t->tree, name), 0, NULL, 0) == 0;
    return t->match[name];
}

/* Sum of totals of matched nodes of the subtree of `from` that are not
 * below another match, into *out; a match's subtree is skipped unread.
 * -1 when cancelled (a sum may be negative: a mixed-sign profile). */
static int matched_sum(ig_task *t, const regex_t *re, uint32_t from, ig_progress *pr, int64_t *out)
{
    const ig_tree_node *nodes = ig_tree_node_at(t->tree, 0);
    size_t n = ig_tree_size(t->tree);
    uint32_t depth = nodes[from].depth;
    int64_t sum = 0;
    uint32_t i = from, seen = 0;
    while (i < n && (i == from || nodes[i].depth > depth)) {
        if (++seen == 65536) {
            seen = 0;
            if (ig_progress_add(pr, 65536))
                return -1;
        }
        if (!match_name(t, re, nodes[i].name)) {
            i++;
            continue;
        }
        sum = ig_sat_add(sum, nodes[i].total);
        uint32_t j = i; /* the next sibling of i or of its nearest ancestor below `from` */
        while (j != from && !nodes[j].next_sibling)
            j = nodes[j].parent;
        if (j == from)
            break;
        i = nodes[j].next_sibling;
    }
    *out = sum;
    return 0;
}

static void run_match(ig_task *t, ig_progress *pr)
{
    regex_t re;
    int icase;
    if (ig_search_compile(&re, t->arg, &icase)) {
        t->failed = 1;
        return;
    }
    ig_progress_step(pr, "searching", ig_tree_size(t->tree));
    int64_t zt = ig_tree_node_at(t->tree, t->zoom)->total;
    int64_t all = 0, view = 0;
    int rc = t->total_too ? matched_sum(t, &re, 0, pr, &all) : 0;
    if (!rc && t->zoom == 0 && t->total_too)
        view = all;
    else if (!rc)
        rc = matched_sum(t, &re, t->zoom, pr, &view);
    regfree(&re);
    if (rc) {
        t->failed = 1;
        return;
    }
    /* shares by pprof's rule (utils/percent.h); the tree's are of absolute values */
    t->out_total = ig_percent(all, ig_tree_pct_total_kept(t->tree)) / 100;
    t->out_view = ig_percent(view, zt) / 100;
}

static void run(void *ctx, ig_progress *pr)
{
    ig_task *t = ctx;
    switch (t->kind) {
    case IG_NEED_LOAD: run_load(t, pr); break;
    case IG_NEED_TREE: case IG_NEED_TREE_BG: run_tree(t, pr); break;
    case IG_NEED_TOP: run_top(t, pr); break;
    case IG_NEED_SANDWICH: run_sandwich(t, pr); break;
    case IG_NEED_SOURCE: run_source(t, pr); break;
    case IG_NEED_EXPORT: run_export(t, pr); break;
    case IG_NEED_MATCH: run_match(t, pr); break;
    default: break;
    }
}

/* ---- starting ------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? ig_xstrdup(s) : NULL;
}

/* What a load's partial view is built from, copied; none for a diff or
 * with label filters (the partial view shows what the full one will). */
static void prepare_partial(ig_task *t, const ig_viewer_load *l)
{
    const ig_tree_opts *f = l->fixed;
    if (l->base_path || l->preloaded || (f && (f->tagfocus || f->tagignore || f->keep_labels)))
        return;
    t->partial_ok = 1;
    t->load.gran = l->gran;
    t->value_name = dup_or_null(l->value);
    t->focus = l->focus && *l->focus ? ig_xstrdup(l->focus) : NULL;
    t->ignore = l->ignore && *l->ignore ? ig_xstrdup(l->ignore) : NULL;
    t->thread = l->thread && *l->thread ? ig_xstrdup(l->thread) : NULL;
    if (f) {
        t->root = dup_or_null(f->root);
        t->hide = dup_or_null(f->hide);
        t->show = dup_or_null(f->show);
        t->prune_from = dup_or_null(f->prune_from);
        t->relative = f->relative;
    }
}

static void fill_opts(ig_task *t, const ig_viewer *v)
{
    ig_viewer_copy_view_opts(&t->opts, v);
    t->base = v->base;
}

/* Prepares a task of kind k, or returns NULL when the need is moot. */
static ig_task *prepare(ig_viewer *v, unsigned k)
{
    ig_task *t = ig_xcalloc(1, sizeof *t);
    t->kind = k;
    pthread_mutex_init(&t->partial_mu, NULL);
    switch (k) {
    case IG_NEED_LOAD: /* copied: a load left behind on Esc outlives the viewer */
        t->load.path = t->arg = ig_xstrdup(v->load->path);
        t->load.base_path = t->arg2 = v->load->base_path ? ig_xstrdup(v->load->base_path) : NULL;
        t->load.format = t->title = v->load->format ? ig_xstrdup(v->load->format) : NULL;
        t->out_profile = v->load->preloaded; /* the task owns them now */
        t->out_base = v->load->preloaded_base;
        v->load->preloaded = v->load->preloaded_base = NULL;
        prepare_partial(t, v->load);
        break;
    case IG_NEED_TREE:
    case IG_NEED_TREE_BG:
        if (!v->profile)
            goto moot;
        if (!v->tree || v->tree_partial)
            t->kind = k = IG_NEED_TREE; /* nothing (whole) to show meanwhile: the screen waits */
        fill_opts(t, v);
        t->restore = v->restoring;
        v->restoring = 0;
        if ((!v->tree || v->tree_partial) && ignis_profile_num_samples(v->profile) >= IG_PREVIEW_SAMPLES &&
            k == IG_NEED_TREE &&
            !t->restore) {
            /* first a preview without the small frames, then the rest */
            t->min_total = ignis_profile_total(v->profile, (size_t)v->value) / IG_PREVIEW_DETAIL;
            v->needs |= IG_NEED_TREE_BG;
        }
        if (k == IG_NEED_TREE && v->tree && ig_tree_size(v->tree) > (v->drop_nodes ? v->drop_nodes : IG_TREE_DROP_NODES)) {
            /* two such trees would not fit the memory budget */
            ig_name_path_free(&v->keep_zoom);
            ig_name_path_free(&v->keep_sel);
            v->keep_zoom = ig_name_path_of(v->tree, ig_viewer_zoom_node(v));
            v->keep_sel = ig_name_path_of(v->tree, v->sel_pane == IG_PANE_MAIN ? v->sel : ig_viewer_zoom_node(v));
            v->keep_paths = 1;
            ig_viewer_install_tree(v, NULL, NULL, NULL, 0, 0);
        }
        break;
    case IG_NEED_TOP:
        if (!v->profile)
            goto moot;
        fill_opts(t, v);
        t->sort = v->sort;
        break;
    case IG_NEED_SANDWICH:
        if (!v->tree || !v->sandwich_want)
            goto moot;
        t->tree = v->tree;
        t->arg = ig_xstrdup(v->sandwich_want);
        break;
    case IG_NEED_SOURCE:
        if (!v->profile || !v->source_want)
            goto moot;
        fill_opts(t, v);
        t->arg = ig_xstrdup(v->source_want);
        t->arg2 = dup_or_null(v->source_path);
        break;
    case IG_NEED_EXPORT:
        if (!v->tree || !v->export_want)
            goto moot;
        t->tree = v->tree;
        t->zoom = ig_viewer_zoom_node(v);
        t->arg = ig_xstrdup(v->export_want);
        t->arg2 = ig_xstrdup(ig_format_for_path(v->export_want));
        t->title = ig_xstrdup(v->title);
        t->icicle = v->icicle;
        break;
    case IG_NEED_MATCH:
        if (!v->tree || !v->has_search)
            goto moot;
        t->tree = v->tree;
        t->zoom = ig_viewer_zoom_node(v);
        t->arg = ig_xstrdup(v->search);
        t->total_too = !v->match_ready || v->tree_pruned;
        if (v->name_match_len) { /* start from what drawing already classified */
            t->match = ig_xmalloc(v->name_match_len);
            memcpy(t->match, v->name_match, v->name_match_len);
            t->match_len = v->name_match_len;
        }
        break;
    default:
        goto moot;
    }
    return t;
moot:
    pthread_mutex_destroy(&t->partial_mu);
    free(t);
    return NULL;
}

static void free_task(ig_task *t)
{
    if (!t)
        return;
    ig_job_free(t->job);
    ig_viewer_free_view_opts(&t->opts);
    free(t->arg);
    free(t->arg2);
    free(t->title);
    free(t->match);
    free(t->value_name);
    free(t->focus);
    free(t->ignore);
    free(t->thread);
    free(t->root);
    free(t->hide);
    free(t->show);
    free(t->prune_from);
    ig_tree_free(t->partial);
    pthread_mutex_destroy(&t->partial_mu);
    ignis_profile_free(t->out_profile);
    ignis_profile_free(t->out_base);
    ig_tree_free(t->out_tree);
    ig_tree_free(t->out_callers);
    ig_tree_free(t->out_callees);
    ig_top_free(t->out_top);
    ig_source_free(t->out_source);
    free(t);
}

static void free_task_ctx(void *ctx)
{
    free_task(ctx);
}

static const char *first_step(unsigned kind)
{
    switch (kind) {
    case IG_NEED_LOAD: return "reading";
    case IG_NEED_TREE: case IG_NEED_TREE_BG: return "building the call tree";
    case IG_NEED_TOP: return "counting per function";
    case IG_NEED_SANDWICH: return "finding the function";
    case IG_NEED_SOURCE: return "listing the source";
    case IG_NEED_EXPORT: return "exporting the view";
    default: return "searching";
    }
}

static const unsigned order[] = {IG_NEED_LOAD, IG_NEED_TREE, IG_NEED_TREE_BG, IG_NEED_TOP, IG_NEED_SANDWICH,
                                 IG_NEED_SOURCE, IG_NEED_EXPORT, IG_NEED_MATCH};

/* Starts the most urgent queued work; returns 0 when nothing was queued. */
static int start_next(ig_viewer *v)
{
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        unsigned k = order[i];
        if (!(v->needs & k))
            continue;
        v->needs &= ~k;
        ig_task *t = prepare(v, k);
        if (!t)
            continue;
        t->background = v->tree && (always_background(t->kind) || (v->bg_needs & k));
        v->bg_needs &= ~k;
        v->task = t;
        t->job = ig_job_start(run, t, v->threaded, first_step(t->kind));
        return 1;
    }
    return 0;
}

/* ---- applying ------------------------------------------------------------------ */

static void apply_load(ig_viewer *v, ig_task *t)
{
    v->owned = t->out_profile;
    v->owned_base = t->out_base;
    t->out_profile = t->out_base = NULL;
    v->profile = v->owned;
    v->base = v->owned_base;
    const ig_viewer_load *l = v->load;
    v->value = ignis_profile_default_value(v->profile);
    if (v->value < 0) {
        ig_strbuf sb = IG_STRBUF_INIT;
        ig_sb_printf(&sb, "%s: profile has no sample values", l->path);
        v->fatal = ig_sb_detach(&sb, NULL);
        v->quit = 1;
        return;
    }
    if (l->value) {
        int vi = ignis_profile_find_value(v->profile, l->value);
        if (vi < 0) {
            ig_strbuf sb = IG_STRBUF_INIT;
            ig_sb_printf(&sb, "--value: the profile has no value '%s'", l->value);
            v->fatal = ig_sb_detach(&sb, NULL);
            v->quit = 1;
            return;
        }
        v->value = vi;
    }
    ig_err err;
    if (v->base && ig_diff_base_value(v->profile, v->value, l->value != NULL, v->base, &err) < 0) {
        /* as pprof and report: other sample types only with --value */
        ig_strbuf sb = IG_STRBUF_INIT;
        ig_sb_printf(&sb, "%s: %s", l->base_path, err.msg);
        v->fatal = ig_sb_detach(&sb, NULL);
        v->quit = 1;
        return;
    }
    static const char *const flag[] = {"--focus", "--ignore", "--thread"};
    const char *re[] = {l->focus, l->ignore, l->thread};
    for (int i = 0; i < 3; i++) {
        regex_t r;
        int rc = re[i] && *re[i] ? regcomp(&r, re[i], REG_EXTENDED | REG_NOSUB) : -1;
        if (rc > 0) {
            char msg[128];
            regerror(rc, &r, msg, sizeof msg);
            ig_strbuf sb = IG_STRBUF_INIT;
            ig_sb_printf(&sb, "%s: invalid regular expression '%s': %s", flag[i], re[i], msg);
            v->fatal = ig_sb_detach(&sb, NULL);
            v->quit = 1;
            return;
        }
        if (rc == 0)
            regfree(&r);
    }
    v->focus = l->focus && *l->focus ? ig_xstrdup(l->focus) : NULL;
    v->ignore = l->ignore && *l->ignore ? ig_xstrdup(l->ignore) : NULL;
    v->thread = l->thread && *l->thread ? ig_xstrdup(l->thread) : NULL;
    v->needs |= IG_NEED_TREE;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Were the tree on screen and the new one built from the same options? */
static int same_opts(const ig_view_opts *a, const ig_view_opts *b)
{
    return a->profile == b->profile && a->generation == b->generation && a->value == b->value && a->gran == b->gran && same_str(a->focus, b->focus) &&
           same_str(a->ignore, b->ignore) && same_str(a->thread, b->thread);
}

static void apply_tree(ig_viewer *v, ig_task *t)
{
    ig_tree *tree = t->out_tree;
    t->out_tree = NULL;
    v->tree_partial = 0; /* the whole profile's from now on */
    int keep_opts = v->tree && same_opts(&v->built, &t->opts);
    if (v->keep_paths || !v->tree) {
        ig_viewer_install_tree(v, tree, &v->keep_zoom, &v->keep_sel, t->background, keep_opts);
        ig_name_path_free(&v->keep_zoom);
        ig_name_path_free(&v->keep_sel);
        v->keep_paths = 0;
    } else {
        ig_name_path zp = ig_name_path_of(v->tree, ig_viewer_zoom_node(v));
        ig_name_path sp = ig_name_path_of(v->tree, v->sel_pane == IG_PANE_MAIN ? v->sel : ig_viewer_zoom_node(v));
        ig_viewer_install_tree(v, tree, &zp, &sp, t->background, keep_opts);
        ig_name_path_free(&zp);
        ig_name_path_free(&sp);
    }
    ig_viewer_free_view_opts(&v->built);
    v->built = t->opts;
    memset(&t->opts, 0, sizeof t->opts);
    v->tree_pruned = t->min_total > 0;
}

static void apply(ig_viewer *v, ig_task *t)
{
    switch (t->kind) {
    case IG_NEED_LOAD: apply_load(v, t); break;
    case IG_NEED_TREE: case IG_NEED_TREE_BG: apply_tree(v, t); break;
    case IG_NEED_TOP:
        ig_top_free(v->top);
        v->top = t->out_top;
        t->out_top = NULL;
        if (v->top_sel >= ig_top_rows(v->top))
            v->top_sel = 0;
        break;
    case IG_NEED_SANDWICH: {
        /* a refresh of the same function keeps the selection by its path */
        int same = v->mode == IG_MODE_SANDWICH && v->sandwich_fn && !strcmp(v->sandwich_fn, v->sandwich_want) &&
                   v->sel_pane != IG_PANE_MAIN;
        ig_name_path sp = same ? ig_name_path_of(ig_viewer_pane_tree(v, v->sel_pane), v->sel) : (ig_name_path){0, 0};
        ig_tree_free(v->callers);
        ig_tree_free(v->callees);
        ig_child_cache_free(&v->children[IG_PANE_CALLERS]);
        ig_child_cache_free(&v->children[IG_PANE_CALLEES]);
        v->callers = t->out_callers;
        v->callees = t->out_callees;
        t->out_callers = t->out_callees = NULL;
        free(v->sandwich_fn);
        v->sandwich_fn = v->sandwich_want;
        v->sandwich_want = NULL;
        v->layout_valid = 0;
        if (same) {
            v->sel = ig_name_path_find(ig_viewer_pane_tree(v, v->sel_pane), &sp);
            ig_name_path_free(&sp);
            break;
        }
        if (t->background) /* refreshed while elsewhere: not shown unasked */
            break;
        if (v->mode != IG_MODE_SANDWICH)
            v->back_mode = v->mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
        v->mode = IG_MODE_SANDWICH;
        v->sel_pane = IG_PANE_CALLEES;
        const ig_tree_node *r = ig_tree_node_at(v->callees, 0);
        v->sel = r->first_child && !ig_tree_node_at(v->callees, r->first_child)->next_sibling ? r->first_child : 0;
        break;
    }
    case IG_NEED_SOURCE: {
        ig_source_free(v->source);
        v->source = t->out_source;
        t->out_source = NULL;
        free(v->source_fn);
        v->source_fn = v->source_want;
        v->source_want = NULL;
        if (v->mode != IG_MODE_SOURCE)
            v->back_mode = v->mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
        v->mode = IG_MODE_SOURCE;
        /* select the hottest line */
        v->source_sel = v->source_scroll = 0;
        const ig_source_fn *f = ig_source_count(v->source) ? ig_source_at(v->source, 0) : NULL;
        int64_t best = -1;
        for (size_t i = 0; f && i < f->nlines; i++)
            if (f->lines[i].flat > best || (f->lines[i].flat == best && f->lines[i].cum > f->lines[v->source_sel].cum)) {
                best = f->lines[i].flat;
                v->source_sel = i;
            }
        if (!f)
            ig_viewer_message(v, 1, "source: no samples in %s", v->source_fn);
        break;
    }
    case IG_NEED_EXPORT:
        ig_viewer_message(v, 0, "exported the view to %s (%s)", t->arg, t->arg2);
        free(v->export_want);
        v->export_want = NULL;
        break;
    case IG_NEED_MATCH:
        /* keep what drawing classified meanwhile where the task did not look */
        for (size_t i = 0; i < v->name_match_len && i < t->match_len; i++)
            if (t->match[i] < 0)
                t->match[i] = v->name_match[i];
        if (t->match_len >= v->name_match_len) {
            free(v->name_match);
            v->name_match = t->match;
            v->name_match_len = t->match_len;
            t->match = NULL;
        }
        if (t->total_too)
            v->match_total = t->out_total;
        v->match_view = t->out_view;
        v->match_ready = 1;
        break;
    default: break;
    }
}

/* Undoes what a task the user cancelled, or that failed, stood for. */
static void discard(ig_viewer *v, ig_task *t)
{
    int cancelled = !strcmp(t->err.msg, "cancelled");
    switch (t->kind) {
    case IG_NEED_LOAD:
        if (!v->fatal && !cancelled)
            v->fatal = ig_xstrdup(t->err.msg);
        v->quit = 1;
        return;
    case IG_NEED_TREE:
    case IG_NEED_TREE_BG:
        if ((!v->tree || v->tree_partial) && !v->built.profile) { /* the first tree: nothing to go back to */
            if (!cancelled)
                v->fatal = ig_xstrdup(t->err.msg);
            v->quit = 1;
            return;
        }
        ig_viewer_restore_opts(v);
        if (!v->tree) { /* freed for the rebuild: build it again from its options */
            v->restoring = 1;
            v->needs |= IG_NEED_TREE;
        }
        break;
    case IG_NEED_TOP:
        if (v->mode == IG_MODE_TOP && !v->top)
            v->mode = IG_MODE_FLAME;
        break;
    case IG_NEED_SANDWICH:
        free(v->sandwich_want);
        v->sandwich_want = NULL;
        break;
    case IG_NEED_SOURCE:
        free(v->source_want);
        v->source_want = NULL;
        break;
    case IG_NEED_EXPORT:
        free(v->export_want);
        v->export_want = NULL;
        break;
    case IG_NEED_MATCH:
        v->match_ready = 0;
        return;
    default: break;
    }
    if (cancelled)
        ig_viewer_message(v, 0, "cancelled");
    else if (t->kind == IG_NEED_EXPORT)
        ig_viewer_message(v, 1, "export: %s", t->err.msg);
    else
        ig_viewer_message(v, 1, "%s", t->err.msg);
}

static void finish(ig_viewer *v)
{
    ig_task *t = v->task;
    v->task = NULL;
    ig_job_free(t->job); /* joins the thread */
    t->job = NULL;
    if (t->failed)
        discard(v, t);
    else
        apply(v, t);
    free_task(t);
}

/* Stops the running task.  by_user: Esc, the model goes back to where it
 * was; else a newer request supersedes it, and work other than a tree is
 * queued again to run after that request. */
/* A load blocked in a read (a FIFO, a slow disk) cannot be stopped: when
 * the user gives up, it is left to run on alone while the process ends. */
static int abandon_load(ig_viewer *v)
{
    ig_task *t = v->task;
    if (!t || t->kind != IG_NEED_LOAD || ig_job_wait(t->job, 0))
        return 0;
    ig_job_cancel(t->job);
    ig_job *j = t->job;
    t->job = NULL;
    ig_job_abandon(j, free_task_ctx); /* t goes with it */
    v->task = NULL;
    v->quit = 1;
    return 1;
}

static void cancel_running(ig_viewer *v, int by_user)
{
    ig_task *t = v->task;
    if (!t || (by_user && abandon_load(v)))
        return;
    ig_job_cancel(t->job);
    v->task = NULL;
    ig_job_free(t->job);
    t->job = NULL;
    if (by_user) {
        t->failed = 1;
        ig_err_set(&t->err, "cancelled");
        discard(v, t);
    } else if (t->kind != IG_NEED_TREE && t->kind != IG_NEED_TREE_BG) {
        if (t->background && !(v->needs & t->kind))
            v->bg_needs |= t->kind;
        v->needs |= t->kind;
    }
    free_task(t);
}

/* Shows the partial view a load left (offer_partial) until the whole
 * profile's tree replaces it. */
static void take_partial(ig_viewer *v)
{
    ig_task *t = v->task;
    if (!t || t->kind != IG_NEED_LOAD)
        return;
    pthread_mutex_lock(&t->partial_mu);
    ig_tree *tree = t->partial;
    t->partial = NULL;
    pthread_mutex_unlock(&t->partial_mu);
    if (!tree)
        return;
    ig_viewer_install_tree(v, tree, NULL, NULL, 0, 0);
    v->tree_partial = 1;
}

int ig_viewer_pump(ig_viewer *v, int wait_ms)
{
    double deadline = now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        if (v->task) {
            int left = wait_ms < 0 ? -1 : (int)(deadline - now_ms());
            take_partial(v);
            if (!ig_job_wait(v->task->job, left < 0 && wait_ms >= 0 ? 0 : left)) {
                take_partial(v);
                return 1;
            }
            finish(v);
        }
        if (!start_next(v))
            return 0;
    }
}

static int invalidates(unsigned need, unsigned running)
{
    if (need & (IG_NEED_TREE | IG_NEED_TREE_BG))
        return running != IG_NEED_LOAD;
    return (need & running) != 0;
}

void ig_viewer_request(ig_viewer *v, unsigned needs)
{
    v->needs |= needs;
    v->bg_needs &= ~needs;
    if (v->task && !v->task->restore && invalidates(needs, v->task->kind))
        cancel_running(v, 0);
    /* a foreground tree makes a background one moot */
    if (v->needs & IG_NEED_TREE)
        v->needs &= ~IG_NEED_TREE_BG;
    ig_viewer_pump(v, 0);
}

void ig_viewer_request_bg(ig_viewer *v, unsigned needs)
{
    unsigned fg_queued = v->needs & ~v->bg_needs;
    v->bg_needs |= needs & ~fg_queued;
    v->needs |= needs;
    if (v->task && !v->task->restore && invalidates(needs, v->task->kind))
        cancel_running(v, 0);
    ig_viewer_pump(v, 0);
}

void ig_viewer_drop(ig_viewer *v, unsigned needs)
{
    v->needs &= ~needs;
    if (v->task && (v->task->kind & needs) && !v->task->restore)
        cancel_running(v, 1);
}

void ig_viewer_request_match(ig_viewer *v)
{
    if (v->has_search && v->tree)
        ig_viewer_request(v, IG_NEED_MATCH);
}

int ig_viewer_busy(const ig_viewer *v)
{
    unsigned fg = v->needs & ~v->bg_needs & ~(unsigned)(IG_NEED_TREE_BG | IG_NEED_MATCH);
    return fg || (v->task && foreground(v->task));
}

unsigned ig_viewer_running(const ig_viewer *v)
{
    return v->task ? v->task->kind : 0;
}

void ig_viewer_cancel(ig_viewer *v)
{
    if (v->task && v->task->restore) {
        ig_viewer_message(v, 0, "putting the previous view back; it cannot be cancelled");
        return;
    }
    if (v->task && foreground(v->task))
        cancel_running(v, 1);
    /* queued foreground work goes too, except a restore the cancel queued */
    unsigned keep = IG_NEED_MATCH | IG_NEED_TREE_BG | v->bg_needs | (v->restoring ? IG_NEED_TREE : 0u);
    unsigned gone = v->needs & ~keep;
    v->needs &= keep;
    static const unsigned each[] = {IG_NEED_TOP, IG_NEED_SANDWICH, IG_NEED_SOURCE, IG_NEED_EXPORT};
    for (size_t i = 0; i < sizeof each / sizeof each[0]; i++)
        if (gone & each[i]) {
            ig_task t = {.kind = each[i]};
            ig_err_set(&t.err, "cancelled");
            discard(v, &t);
        }
    ig_viewer_pump(v, 0);
}

void ig_viewer_progress_text(const ig_viewer *v, char *buf, size_t len)
{
    buf[0] = 0;
    if (!v->task)
        return;
    const ig_progress *p = ig_job_progress(v->task->job);
    const char *step = atomic_load_explicit(&((ig_progress *)p)->step, memory_order_relaxed);
    uint64_t done = atomic_load_explicit(&((ig_progress *)p)->done, memory_order_relaxed);
    uint64_t total = atomic_load_explicit(&((ig_progress *)p)->total, memory_order_relaxed);
    double secs = ig_job_elapsed_ms(v->task->job) / 1000.0;
    char pct[32] = "";
    if (total)
        snprintf(pct, sizeof pct, " %3.0f%%", 100.0 * (double)(done < total ? done : total) / (double)total);
    const char *what = v->task->kind == IG_NEED_LOAD ? v->task->load.path : "";
    snprintf(buf, len, "%s%s%s%s%s %.1fs%s", v->tree_partial ? "partial view, " : "", step ? step : "working",
             *what ? " " : "", what, pct, secs,
             v->task->restore ? "" : foreground(v->task) ? " (Esc cancels)" : " (in the background)");
}

void ig_viewer_tasks_free(ig_viewer *v)
{
    if (v->task && !abandon_load(v)) {
        ig_job_cancel(v->task->job);
        free_task(v->task);
        v->task = NULL;
    }
    v->needs = 0;
}
