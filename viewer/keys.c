/*
 * viewer/keys.c — what each key and mouse click does, per mode.
 *
 * Keys arrive as curses-free codes (ASCII plus IG_KEY_*), so the same
 * dispatcher serves the terminal, the tests and the benchmark.  A prompt
 * (search, focus, ignore, export) captures keys until Enter or Esc; a
 * picker (thread, value type) is a list moved with up/down.  Vertical
 * arrows are visual: "up" is a child in a flame graph (root at the bottom)
 * and the parent in an icicle graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"
#include "viewer/export.h"
#include "viewer/model.h"

/* ---- prompt ---------------------------------------------------------------- */

static void prompt_begin(ig_viewer *v, ig_prompt_kind kind, const char *initial)
{
    v->prompt = kind;
    v->input_len = 0;
    if (initial) {
        size_t n = strlen(initial);
        if (n >= IG_PROMPT_MAX)
            n = IG_PROMPT_MAX - 1;
        memcpy(v->input, initial, n);
        v->input_len = n;
    }
    v->input[v->input_len] = 0;
}

static void prompt_submit(ig_viewer *v)
{
    ig_prompt_kind kind = v->prompt;
    v->prompt = IG_PROMPT_NONE;
    v->input[v->input_len] = 0;
    switch (kind) {
    case IG_PROMPT_SEARCH:
        if (ig_viewer_set_search(v, v->input) == 0 && v->has_search && v->mode != IG_MODE_TOP)
            ig_viewer_next_match(v, 1);
        if (v->has_search && !v->message_is_error)
            v->message[0] = 0;
        break;
    case IG_PROMPT_FOCUS: ig_viewer_set_filter(v, 'f', v->input); break;
    case IG_PROMPT_IGNORE: ig_viewer_set_filter(v, 'x', v->input); break;
    case IG_PROMPT_EXPORT:
        if (v->input_len)
            ig_viewer_export(v, v->input);
        break;
    default: break;
    }
}

int ig_prompt_edit(char *input, size_t *len, int key)
{
    if (key == IG_KEY_ENTER || key == '\r')
        return 1;
    if (key == IG_KEY_ESC)
        return -1;
    if (key == IG_KEY_BACKSPACE || key == 8) {
        if (*len > 0)
            (*len)--;
        /* Drop a whole UTF-8 sequence. */
        while (*len > 0 && ((unsigned char)input[*len] & 0xc0) == 0x80)
            (*len)--;
    } else if (key >= 0x20 && key < 0x100 && key != 0x7f && *len + 1 < IG_PROMPT_MAX) {
        input[(*len)++] = (char)key;
    }
    input[*len] = 0;
    return 0;
}

static void prompt_key(ig_viewer *v, int key)
{
    int done = ig_prompt_edit(v->input, &v->input_len, key);
    if (done > 0)
        prompt_submit(v);
    else if (done < 0)
        v->prompt = IG_PROMPT_NONE;
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

static void table_key(ig_viewer *v, int key)
{
    size_t n = v->top ? ig_top_rows(v->top) : 0;
    size_t page = v->height > 6 ? (size_t)v->height - 6 : 1;
    switch (key) {
    case IG_KEY_UP: case 'k': if (v->top_sel > 0) v->top_sel--; break;
    case IG_KEY_DOWN: case 'j': if (v->top_sel + 1 < n) v->top_sel++; break;
    case IG_KEY_PGUP: v->top_sel = v->top_sel > page ? v->top_sel - page : 0; break;
    case IG_KEY_PGDN: v->top_sel = n && v->top_sel + page < n ? v->top_sel + page : (n ? n - 1 : 0); break;
    case IG_KEY_HOME: v->top_sel = 0; break;
    case IG_KEY_END: v->top_sel = n ? n - 1 : 0; break;
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
    case 'e': prompt_begin(v, IG_PROMPT_EXPORT, "ignis-view.svg"); break;
    default: break;
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
    if (v->prompt != IG_PROMPT_NONE) {
        prompt_key(v, key);
        return;
    }
    v->message[0] = 0;
    if (v->mode == IG_MODE_HELP) {
        v->mode = v->back_mode;
        v->layout_valid = 0;
        if (key != 'q')
            return;
    }
    if (v->mode == IG_MODE_PICK) {
        pick_key(v, key);
        return;
    }
    switch (key) {
    case 'q': v->quit = 1; return;
    case '?': v->back_mode = v->mode; v->mode = IG_MODE_HELP; return;
    case IG_KEY_ESC: case IG_KEY_BACKSPACE: case 8: ig_viewer_zoom_out(v); return;
    case '/': prompt_begin(v, IG_PROMPT_SEARCH, NULL); return;
    case 'n': ig_viewer_next_match(v, 1); return;
    case 'N': ig_viewer_next_match(v, -1); return;
    case 'f': prompt_begin(v, IG_PROMPT_FOCUS, v->focus); return;
    case 'x': prompt_begin(v, IG_PROMPT_IGNORE, v->ignore); return;
    case 'T': pick_begin(v, 'T'); return;
    case 's': pick_begin(v, 's'); return;
    case 'E': ig_viewer_send(v); return; /* the view to the OTLP collector */
    default: break;
    }
    if (v->mode == IG_MODE_TOP)
        table_key(v, key);
    else
        flame_key(v, key);
}

void ig_viewer_click(ig_viewer *v, int row, int col, int dbl)
{
    if (v->prompt != IG_PROMPT_NONE)
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
