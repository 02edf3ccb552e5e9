/*
 * viewer/keys.c — what each key and mouse click does, per mode: one key
 * map for `ignis view` and `ignis top`.
 *
 * Keys arrive as curses-free codes (ASCII plus IG_KEY_*), so the same
 * dispatcher serves the terminal, the tests and the benchmark.  The table
 * `key_help` is the key map as the help screen shows it; the README lists
 * the same lines (tests/viewer/test_keys.c checks that they agree).  A
 * prompt (search, focus, ignore, export) captures keys until Enter or Esc
 * and is edited like a shell line (viewer/prompt.h); the search prompt
 * searches as you type and Esc puts the previous search back.  A picker
 * (thread, value type) is a list moved with up/down.  While foreground
 * work runs (viewer/tasks.c) only Esc (cancel), q, ? and Ctrl-L act.
 * Vertical arrows are visual: "up" is a child in a flame graph (root at
 * the bottom) and the parent in an icicle graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "viewer/export.h"
#include "viewer/model.h"
#include "viewer/tasks.h"

static const ig_key_help key_help[] = {
    {"arrows, h j k l", "move: parent, child, neighbours", NULL},
    {"Enter", "zoom into the frame (table: focus on the function)", NULL},
    {"Esc, Backspace", "zoom out, go back; cancel long work", NULL},
    {"t  o", "top table / flame graph; sort the table by flat or cum", NULL},
    {"c", "callers and callees of the function (sandwich)", NULL},
    {"L", "the function's source with the cost of each line", NULL},
    {"g", "frames are functions, lines, files or modules", NULL},
    {"/  n  N", "search as you type (smart case); next / previous", NULL},
    {"f  x", "focus on / ignore frames matching a regex", NULL},
    {"T  s", "pick a thread / the value shown (cpu, alloc...)", NULL},
    {"i", "root at the bottom (flame) or at the top (icicle)", NULL},
    {"F", "full C++ names (templates and arguments unfolded)", NULL},
    {"e", "export the view as .svg, .folded or .pb.gz", NULL},
    {"E", "send the view to the OTLP collector (OTEL_EXPORTER_OTLP_*)", NULL},
    {"r", "reset the sliding window (the -o file keeps all)", "top"},
    {"O", "show / hide the output of the command", "top"},
    {"Ctrl-L", "redraw the screen", NULL},
    {"mouse", "click selects, double click zooms", NULL},
    {"?  q", "this help (q or Esc closes it); quit", NULL},
    {"prompts", "Left Right Home End, Ctrl-A E U K W, Up/Down history", NULL},
    {NULL, NULL, NULL},
};

const ig_key_help *ig_viewer_key_help(void)
{
    return key_help;
}

/* ---- prompt ---------------------------------------------------------------- */

static void prompt_begin(ig_viewer *v, ig_prompt_kind kind, const char *initial)
{
    v->prompt = kind;
    ig_line_edit_begin(&v->edit, initial, &v->history[kind]);
    if (kind == IG_PROMPT_SEARCH) {
        free(v->search_before);
        v->search_before = v->search ? ig_xstrdup(v->search) : NULL;
    }
}

/* Search as you type: a pattern that does not compile yet (an open
 * bracket) leaves the last one on screen. */
static void search_live(ig_viewer *v)
{
    const char *text = v->edit.text;
    if (v->search && !strcmp(v->search, text))
        return;
    regex_t re;
    int icase;
    if (*text && ig_search_compile(&re, text, &icase))
        return;
    if (*text)
        regfree(&re);
    ig_viewer_set_search(v, text);
}

static void prompt_submit(ig_viewer *v)
{
    ig_prompt_kind kind = v->prompt;
    v->prompt = IG_PROMPT_NONE;
    const char *text = v->edit.text;
    ig_history_add(&v->history[kind], text);
    switch (kind) {
    case IG_PROMPT_SEARCH:
        if (!v->search || strcmp(v->search, text))
            ig_viewer_set_search(v, text);
        if (v->has_search && v->mode != IG_MODE_TOP)
            ig_viewer_next_match(v, 1);
        if (v->has_search && !v->message_is_error)
            v->message[0] = 0;
        break;
    case IG_PROMPT_FOCUS: ig_viewer_set_filter(v, 'f', text); break;
    case IG_PROMPT_IGNORE: ig_viewer_set_filter(v, 'x', text); break;
    case IG_PROMPT_EXPORT:
        if (*text)
            ig_viewer_export(v, text);
        break;
    default: break;
    }
}

static void prompt_key(ig_viewer *v, int key)
{
    switch (ig_line_edit_key(&v->edit, &v->history[v->prompt], key)) {
    case IG_EDIT_SUBMIT: prompt_submit(v); break;
    case IG_EDIT_CANCEL:
        if (v->prompt == IG_PROMPT_SEARCH)
            ig_viewer_set_search(v, v->search_before);
        v->prompt = IG_PROMPT_NONE;
        break;
    case IG_EDIT_CHANGED:
        if (v->prompt == IG_PROMPT_SEARCH)
            search_live(v);
        break;
    default: break;
    }
}

/* ---- picker ---------------------------------------------------------------- */

static void pick_clear(ig_viewer *v)
{
    for (size_t i = 0; i < v->npick; i++)
        free(v->pick_items[i]);
    free(v->pick_items);
    v->pick_items = NULL;
    v->npick = v->pick_sel = 0;
}

static void pick_add(ig_viewer *v, const char *item)
{
    for (size_t i = 0; i < v->npick; i++)
        if (!strcmp(v->pick_items[i], item))
            return;
    v->pick_items = ig_xrealloc(v->pick_items, (v->npick + 1) * sizeof *v->pick_items);
    v->pick_items[v->npick++] = ig_xstrdup(item);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Thread names from the "thread", "thread_name" or "tid" labels. */
static void collect_threads(ig_viewer *v)
{
    static const char *keys[] = {"thread", "thread_name", "tid", "thread_id"};
    size_t n = ignis_profile_num_samples(v->profile);
    uint32_t last = 0;
    for (size_t i = 0; i < n && v->npick < 10000; i++) {
        uint32_t ls = ignis_profile_sample(v->profile, i).labels;
        if (ls == 0 || ls == last)
            continue;
        last = ls;
        for (size_t k = 0; k < 4; k++) {
            const char *s = ignis_profile_label_str(v->profile, ls, keys[k]);
            char num[32];
            int64_t tid;
            if (!s && ignis_profile_label_num(v->profile, ls, keys[k], &tid)) {
                snprintf(num, sizeof num, "%lld", (long long)tid);
                s = num;
            }
            if (s) {
                pick_add(v, s);
                break;
            }
        }
    }
    if (v->npick > 1)
        qsort(v->pick_items + 1, v->npick - 1, sizeof *v->pick_items, cmp_str);
}

static void pick_begin(ig_viewer *v, int kind)
{
    pick_clear(v);
    v->pick_kind = kind;
    if (kind == 's') {
        for (size_t i = 0; i < ignis_profile_num_values(v->profile); i++) {
            ignis_value_type vt = ignis_profile_value_type(v->profile, i);
            char buf[256];
            snprintf(buf, sizeof buf, "%s (%s)", ignis_profile_string(v->profile, vt.type),
                     ignis_profile_string(v->profile, vt.unit));
            v->pick_items = ig_xrealloc(v->pick_items, (v->npick + 1) * sizeof *v->pick_items);
            v->pick_items[v->npick++] = ig_xstrdup(buf);
        }
        v->pick_sel = (size_t)v->value;
    } else {
        pick_add(v, "(all threads)");
        collect_threads(v);
        if (v->npick == 1) {
            pick_clear(v);
            ig_viewer_message(v, 1, "this profile has no thread labels");
            return;
        }
    }
    v->back_mode = v->mode == IG_MODE_PICK ? v->back_mode : v->mode;
    v->mode = IG_MODE_PICK;
}

static void pick_choose(ig_viewer *v)
{
    v->mode = v->back_mode == IG_MODE_TOP ? IG_MODE_TOP : IG_MODE_FLAME;
    v->layout_valid = 0;
    if (v->pick_sel >= v->npick)
        return;
    if (v->pick_kind == 's') {
        ig_viewer_set_value(v, (int)v->pick_sel);
    } else if (v->pick_sel == 0) {
        ig_viewer_set_filter(v, 'T', NULL);
    } else {
        char *re = ig_regex_exact(v->pick_items[v->pick_sel]);
        ig_viewer_set_filter(v, 'T', re);
        free(re);
    }
    if (v->mode == IG_MODE_TOP)
        ig_viewer_show_top(v);
}

static void pick_key(ig_viewer *v, int key)
{
    if ((key == IG_KEY_UP || key == 'k') && v->pick_sel > 0)
        v->pick_sel--;
    else if ((key == IG_KEY_DOWN || key == 'j') && v->pick_sel + 1 < v->npick)
        v->pick_sel++;
    else if (key == IG_KEY_ENTER || key == '\r')
        pick_choose(v);
    else if (key == IG_KEY_ESC || key == IG_KEY_BACKSPACE || key == 'q')
        ig_viewer_zoom_out(v);
}

/* ---- modes ------------------------------------------------------------------ */

/* Moves a list selection (table, source listing) by one key. */
static int list_move(size_t *sel, size_t n, size_t page, int key)
{
    switch (key) {
    case IG_KEY_UP: case 'k': if (*sel > 0) (*sel)--; return 1;
    case IG_KEY_DOWN: case 'j': if (*sel + 1 < n) (*sel)++; return 1;
    case IG_KEY_PGUP: *sel = *sel > page ? *sel - page : 0; return 1;
    case IG_KEY_PGDN: *sel = n && *sel + page < n ? *sel + page : (n ? n - 1 : 0); return 1;
    case IG_KEY_HOME: *sel = 0; return 1;
    case IG_KEY_END: *sel = n ? n - 1 : 0; return 1;
    default: return 0;
    }
}

static size_t page_rows(const ig_viewer *v)
{
    return v->height > 6 ? (size_t)v->height - 6 : 1;
}

static void table_key(ig_viewer *v, int key)
{
    size_t n = v->top ? ig_top_rows(v->top) : 0;
    if (list_move(&v->top_sel, n, page_rows(v), key))
        return;
    switch (key) {
    case IG_KEY_ENTER: case '\r': ig_viewer_focus_row(v); break;
    case 'o': ig_viewer_set_sort(v, v->sort == IG_SORT_FLAT ? IG_SORT_CUM : IG_SORT_FLAT); break;
    case 't': v->mode = IG_MODE_FLAME; v->layout_valid = 0; break;
    case 'c':
        if (n)
            ig_viewer_show_sandwich(v, ig_top_name(v->top, ig_top_row_at(v->top, v->top_sel)->name));
        break;
    default: break;
    }
}

static void flame_key(ig_viewer *v, int key)
{
    int up_is_child = !v->icicle;
    if (v->mode == IG_MODE_SANDWICH)
        up_is_child = v->sel_pane == IG_PANE_CALLERS;
    switch (key) {
    case IG_KEY_UP: case 'k': ig_viewer_navigate(v, up_is_child ? IG_NAV_CHILD : IG_NAV_PARENT); break;
    case IG_KEY_DOWN: case 'j': ig_viewer_navigate(v, up_is_child ? IG_NAV_PARENT : IG_NAV_CHILD); break;
    case IG_KEY_LEFT: case 'h': ig_viewer_navigate(v, IG_NAV_LEFT); break;
    case IG_KEY_RIGHT: case 'l': ig_viewer_navigate(v, IG_NAV_RIGHT); break;
    case IG_KEY_ENTER: case '\r': ig_viewer_zoom_in(v); break;
    case 'i': v->icicle = !v->icicle; v->layout_valid = 0; break;
    case 't': ig_viewer_show_top(v); break;
    case 'c': {
        char *fn = ig_xstrdup(ig_viewer_selected_name(v));
        ig_viewer_show_sandwich(v, fn);
        free(fn);
        break;
    }
    default: break;
    }
}

static void source_key(ig_viewer *v, int key)
{
    const ig_source_fn *f = v->source && ig_source_count(v->source) ? ig_source_at(v->source, 0) : NULL;
    list_move(&v->source_sel, f ? f->nlines : 0, page_rows(v), key);
}

static ig_granularity next_granularity(ig_granularity g)
{
    return g == IG_GRAN_MODULE ? IG_GRAN_FUNCTION : (ig_granularity)(g + 1);
}

/* Keys that mean the same in every view; returns 1 when handled. */
static int common_key(ig_viewer *v, int key)
{
    switch (key) {
    case 'q': v->quit = 1; return 1;
    case '?': v->back_mode = v->mode; v->mode = IG_MODE_HELP; return 1;
    case IG_KEY_ESC: case IG_KEY_BACKSPACE: case IG_KEY_CTRL_H: ig_viewer_zoom_out(v); return 1;
    case '/': prompt_begin(v, IG_PROMPT_SEARCH, NULL); return 1;
    case 'n': ig_viewer_next_match(v, 1); return 1;
    case 'N': ig_viewer_next_match(v, -1); return 1;
    case 'f': prompt_begin(v, IG_PROMPT_FOCUS, v->focus); return 1;
    case 'x': prompt_begin(v, IG_PROMPT_IGNORE, v->ignore); return 1;
    case 'T': pick_begin(v, 'T'); return 1;
    case 's': pick_begin(v, 's'); return 1;
    case 'g': ig_viewer_set_granularity(v, next_granularity(v->gran)); return 1;
    case 'F':
        v->full_names = !v->full_names;
        ig_viewer_message(v, 0, v->full_names ? "full names" : "C++ names folded (F: full names)");
        return 1;
    case 'L': ig_viewer_show_source(v, ig_viewer_selected_function(v)); return 1;
    case 'e': prompt_begin(v, IG_PROMPT_EXPORT, "ignis-view.svg"); return 1;
    case 'E': ig_viewer_send(v); return 1; /* the view to the OTLP collector */
    case 'O':
        if (!v->output_path)
            ig_viewer_message(v, 1, "no command output: O is for `ignis top -- CMD`");
        else if (v->mode == IG_MODE_OUTPUT)
            ig_viewer_zoom_out(v);
        else {
            v->back_mode = v->mode;
            v->mode = IG_MODE_OUTPUT;
        }
        return 1;
    default: return 0;
    }
}

/* While foreground work runs: cancel, quit, help, nothing else. */
static void busy_key(ig_viewer *v, int key)
{
    char what[160];
    switch (key) {
    case IG_KEY_ESC: ig_viewer_cancel(v); break;
    case 'q': v->quit = 1; break;
    case '?': v->back_mode = v->mode; v->mode = IG_MODE_HELP; break;
    default:
        ig_viewer_progress_text(v, what, sizeof what);
        ig_viewer_message(v, 0, "busy: %s", *what ? what : "waiting (Esc cancels)");
        break;
    }
}

static void dispatch(ig_viewer *v, int key);

void ig_viewer_key(ig_viewer *v, int key)
{
    dispatch(v, key);
    ig_viewer_settle(v);
}

static void dispatch(ig_viewer *v, int key)
{
    if (key == IG_KEY_CTRL_L)
        return; /* the terminal redraws everything */
    if (v->prompt != IG_PROMPT_NONE) {
        prompt_key(v, key);
        return;
    }
    v->message[0] = 0;
    if (v->mode == IG_MODE_HELP) { /* any key closes the help; q does not quit */
        v->mode = v->back_mode;
        v->layout_valid = 0;
        return;
    }
    if (ig_viewer_busy(v) || !v->tree) {
        busy_key(v, key);
        return;
    }
    if (v->mode == IG_MODE_PICK) {
        pick_key(v, key);
        return;
    }
    if (v->mode == IG_MODE_SOURCE || v->mode == IG_MODE_OUTPUT) {
        if (v->mode == IG_MODE_SOURCE)
            source_key(v, key);
        if (key == 'q' || key == '?' || key == IG_KEY_ESC || key == IG_KEY_BACKSPACE || key == 'O' || key == 'L' ||
            key == 't')
            common_key(v, key == 'L' || key == 't' ? IG_KEY_ESC : key);
        return;
    }
    if (common_key(v, key))
        return;
    if (v->mode == IG_MODE_TOP)
        table_key(v, key);
    else
        flame_key(v, key);
}

void ig_viewer_click(ig_viewer *v, int row, int col, int dbl)
{
    if (v->prompt != IG_PROMPT_NONE || ig_viewer_busy(v) || !v->tree)
        return;
    if (v->mode == IG_MODE_TOP) {
        if (!v->top || row < 2)
            return;
        size_t i = v->top_scroll + (size_t)(row - 2);
        if (i < ig_top_rows(v->top)) {
            v->top_sel = i;
            if (dbl)
                ig_viewer_focus_row(v);
        }
        return;
    }
    if (v->mode != IG_MODE_FLAME && v->mode != IG_MODE_SANDWICH)
        return;
    const ig_frames *f = ig_viewer_layout(v);
    long i = ig_frames_at(f, row, col);
    if (i < 0)
        return;
    v->sel_pane = f->v[i].pane;
    v->sel = f->v[i].node;
    v->layout_valid = 0;
    if (dbl)
        ig_viewer_zoom_in(v);
}
