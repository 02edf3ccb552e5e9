/*
 * viewer/tflame.c — from the trace views to the profile of a span: `F`
 * opens the flame graph of the selected span (with its descendants), of
 * the selected trace, or, from the operations, the slow-vs-fast diff of
 * the selected operation; `q` in that flame graph comes back.
 *
 * The profile is the one `ignis view STORE --profile FILE` loaded once
 * (samples labelled trace_id/span_id/span_name by `ignis record`).  Each
 * key builds the selection the command line builds for `--span ID
 * --spans STORE` (profile/spans.h): span times and parents from the
 * store, so a span brings its descendants and slow means the spans' real
 * durations; the selected samples are copied into a new profile
 * (ig_span_select_profile) that an ordinary profile viewer
 * (viewer/model.h) adopts and builds on its worker thread.  While it is
 * open the trace viewer hands it every key, click and redraw, and takes
 * the screen back when it quits.  Nothing loaded, a span without
 * samples, an operation that cannot be split: one line in the message
 * row, and the trace view stays.
 *
 * ig_tspan_times_trace / ig_tspan_times_load turn stored traces into
 * span times; cmd/spanopts.c uses them for `--spans`, so both roads join
 * samples and spans by ids the same way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/spans.h"
#include "viewer/model.h"
#include "viewer/screen.h"
#include "viewer/tpages.h"

/* ---- span times from the store ------------------------------------------------------ */

static uint64_t id_of(const uint8_t b[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

void ig_tspan_times_trace(ig_span_times *t, const ig_store_trace *tr)
{
    for (size_t k = 0; k < tr->nspans; k++) {
        const ig_store_span *sp = &tr->spans[k];
        uint64_t parent = sp->parent >= 0                      ? id_of(tr->spans[sp->parent].span_id)
                          : sp->parent_state == IG_PARENT_CYCLE ? 0
                                                                : id_of(sp->parent_span_id);
        uint64_t dur = sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
        ig_span_times_add(t, id_of(sp->span_id), parent, dur, sp->name);
    }
}

int ig_tspan_times_load(ig_store *s, const ignis_profile *p, ig_span_times *t, size_t *ntraces, ig_err *err)
{
    size_t n;
    char(*ids)[33] = ig_span_trace_ids(p, &n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t tid[16];
        for (int k = 0; k < 16; k++)
            tid[k] = (uint8_t)(hexval(ids[i][2 * k]) << 4 | hexval(ids[i][2 * k + 1]));
        int64_t id;
        int found = ig_store_find_trace(s, tid, &id, err);
        if (found < 0)
            rc = -1;
        if (found <= 0)
            continue;
        ig_store_trace tr;
        if (ig_store_load_trace(s, id, &tr, err) < 0) {
            rc = -1;
            break;
        }
        ig_tspan_times_trace(t, &tr);
        ig_store_trace_free(&tr);
    }
    free(ids);
    if (ntraces)
        *ntraces = n;
    return rc;
}

/* ---- the flame graph page ------------------------------------------------------------ */

void ig_tview_set_profile(ig_tview *v, ignis_profile *p, const char *path)
{
    ignis_profile_free(v->profile);
    free(v->profile_path);
    v->profile = p;
    v->profile_path = p ? ig_xstrdup(path) : NULL;
}

void ig_tview_close_flame(ig_tview *v)
{
    ig_viewer_free(v->flame);
    v->flame = NULL;
}

/* Opens a viewer of p (and base: a normalized diff), which it adopts. */
static void open_viewer(ig_tview *v, ignis_profile *p, ignis_profile *base, const char *title, const char *note)
{
    v->flame_fixed = (ig_tree_opts){.value = -1, .normalize = base != NULL};
    ig_viewer_load load = {.path = title, .fixed = &v->flame_fixed, .preloaded = p, .preloaded_base = base};
    v->flame = ig_viewer_new_loading(&load, v->flame_threaded);
    ig_viewer_resize(v->flame, v->width, v->height);
    ig_viewer_message(v->flame, 0, "%s%s%s: q goes back to the traces", v->profile_path, *note ? ", " : "", note);
}

static int need_profile(ig_tview *v)
{
    if (!v->profile) {
        ig_tview_message(v, 1, "no profile loaded: start with `ignis view %s --profile FILE` (a profile "
                               "recorded by `ignis record` while the traced service ran)", v->title);
        return -1;
    }
    if (!ig_span_labelled_samples(v->profile)) {
        ig_tview_message(v, 1, "%s: no sample carries span labels (record the service with `ignis record`, "
                               "which labels samples taken in libignis spans)", v->profile_path);
        return -1;
    }
    return 0;
}

/* The samples sel keeps, in a viewer titled title; a message when none. */
static int open_selection(ig_tview *v, ig_span_select *sel, const char *what, const char *where,
                          const char *title)
{
    ig_err err;
    ignis_profile *p = ig_span_select_profile(v->profile, sel, &err);
    if (!p) {
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    if (!ignis_profile_num_samples(p)) {
        ignis_profile_free(p);
        ig_tview_message(v, 1, "%s: no sample of %s was taken in %s", what, v->profile_path, where);
        return -1;
    }
    open_viewer(v, p, NULL, title, "");
    return 0;
}

/* The trace page a span comes from: the shown one, or the one under the
 * span's details. */
static ig_ttrace *span_source(ig_tview *v, int32_t *span)
{
    ig_tpage *p = ig_tview_page(v);
    if (p->kind == IG_TP_SPAN && v->npages > 1 && v->pages[v->npages - 2]->kind == IG_TP_TRACE)
        p = v->pages[v->npages - 2];
    if (p->kind != IG_TP_TRACE || !p->trace.wf.nrows)
        return NULL;
    *span = (int32_t)p->trace.wf.rows[p->trace.sel];
    return &p->trace;
}

static int flame_of_span(ig_tview *v, const ig_ttrace *t, int32_t s)
{
    const ig_store_span *sp = &t->trace.spans[s];
    ig_span_times times = {0};
    ig_tspan_times_trace(&times, &t->trace);
    ig_span_select sel = {0};
    uint64_t id = id_of(sp->span_id);
    ig_span_select_add(&sel, id, &times);
    char hex[17], what[96], title[512];
    ig_hex(sp->span_id, 8, hex);
    snprintf(what, sizeof what, "span %s", hex);
    size_t desc = sel.spans.count - 1;
    snprintf(title, sizeof title, "span %s '%s' and %zu descendant%s", hex, sp->name, desc, desc == 1 ? "" : "s");
    int rc = open_selection(v, &sel, what, sel.spans.count > 1 ? "it or its descendants" : "it", title);
    ig_span_select_free(&sel);
    ig_span_times_free(&times);
    return rc;
}

static int flame_of_trace(ig_tview *v, const ig_trace_row *r)
{
    ig_span_select sel = {0};
    ig_hex(r->trace_id, 16, sel.trace_id);
    char what[64], title[512];
    snprintf(what, sizeof what, "trace %s", sel.trace_id);
    snprintf(title, sizeof title, "trace %s '%s'", sel.trace_id, r->root_name ? r->root_name : "");
    int rc = open_selection(v, &sel, what, "it", title);
    ig_span_select_free(&sel);
    return rc;
}

/* --slow-vs-fast NAME --spans STORE: the operation's spans above their
 * p90 against the others, durations from the store. */
static int slow_vs_fast(ig_tview *v, const char *name)
{
    ig_span_times times = {0};
    ig_err err;
    size_t ntraces;
    if (ig_tspan_times_load(v->store, v->profile, &times, &ntraces, &err) < 0) {
        ig_span_times_free(&times);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    if (!times.n) {
        ig_tview_message(v, 1, "none of the %zu traces the samples of %s carry is in this store", ntraces,
                         v->profile_path);
        return -1;
    }
    int vi = ignis_profile_default_value(v->profile);
    ig_span_select slow, fast;
    ig_span_split_stats st;
    int rc = ig_span_split(v->profile, vi, name, &times, 0, &slow, &fast, &st, &err);
    ig_span_times_free(&times);
    if (rc < 0) {
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    ignis_profile *sp = ig_span_select_profile(v->profile, &slow, &err);
    ignis_profile *fp = sp ? ig_span_select_profile(v->profile, &fast, &err) : NULL;
    ig_span_select_free(&slow);
    ig_span_select_free(&fast);
    if (!fp) {
        ignis_profile_free(sp);
        ig_tview_message(v, 1, "%s", err.msg);
        return -1;
    }
    if (!ignis_profile_num_samples(sp)) {
        ignis_profile_free(sp);
        ignis_profile_free(fp);
        ig_tview_message(v, 1, "'%s': no sample of %s was taken in its %zu slow spans", name, v->profile_path,
                         st.slow);
        return -1;
    }
    char cut[32], sp50[32], fp50[32], partial[512], title[1024], note[160];
    ig_format_duration(st.cut_ns, cut, sizeof cut);
    ig_format_duration(st.slow_p50_ns, sp50, sizeof sp50);
    ig_format_duration(st.fast_p50_ns, fp50, sizeof fp50);
    ig_span_split_partial(&st, name, v->title, partial, sizeof partial); /* as the command line says it */
    snprintf(title, sizeof title, "slow vs fast '%s': %zu of %zu spans%s above %s", name, st.slow, st.spans, partial,
             cut);
    snprintf(note, sizeof note, "slow spans (p50 %s) against the others (p50 %s), normalized", sp50, fp50);
    open_viewer(v, sp, fp, title, note);
    return 0;
}

int ig_tview_open_flame(ig_tview *v)
{
    if (need_profile(v) < 0)
        return -1;
    ig_tpage *p = ig_tview_page(v);
    int32_t s;
    ig_ttrace *t;
    switch (p->kind) {
    case IG_TP_LIST: {
        const ig_trace_row *r = ig_tview_selected_trace(v);
        if (!r) {
            ig_tview_message(v, 1, "no trace selected");
            return -1;
        }
        return flame_of_trace(v, r);
    }
    case IG_TP_TRACE:
    case IG_TP_SPAN:
        if (!(t = span_source(v, &s))) {
            ig_tview_message(v, 1, "no span selected");
            return -1;
        }
        return flame_of_span(v, t, s);
    case IG_TP_OPS:
        if (p->ops.sel >= p->ops.ops.n) {
            ig_tview_message(v, 1, "no operation selected");
            return -1;
        }
        return slow_vs_fast(v, p->ops.ops.ops[p->ops.order[p->ops.sel]].name);
    case IG_TP_HIST: return slow_vs_fast(v, p->hist.op.name);
    }
    return -1;
}

/* ---- while the flame graph is open ----------------------------------------------------- */

/* The flame viewer quit (q, or a failure): back to the traces. */
static void settle_flame(ig_tview *v)
{
    if (!v->flame || !v->flame->quit)
        return;
    if (v->flame->fatal)
        ig_tview_message(v, 1, "%s", v->flame->fatal);
    ig_tview_close_flame(v);
}

int ig_tview_pump(ig_tview *v, int wait_ms)
{
    if (!v->flame)
        return 0;
    int busy = ig_viewer_pump(v->flame, wait_ms);
    settle_flame(v);
    return v->flame ? busy : 0;
}

void ig_tflame_key(ig_tview *v, int key)
{
    ig_viewer_key(v->flame, key);
    settle_flame(v);
}

void ig_tflame_click(ig_tview *v, int row, int col, int dbl)
{
    ig_viewer_click(v->flame, row, col, dbl);
    settle_flame(v);
}

void ig_tflame_render(ig_tview *v, ig_screen *s)
{
    ig_viewer_render(v->flame, s);
}
