/*
 * viewer/prompt.c — the shell-like line editor of the prompts.
 *
 * The text is bytes; the cursor moves over whole UTF-8 sequences (a byte
 * 10xxxxxx continues the previous code point), so a multi-byte character
 * is never split by an edit.  Keys arrive byte by byte from curses, which
 * is fine: inserting the bytes of one character one after the other keeps
 * the cursor after them.  History browsing copies an entry into the text;
 * the line being typed is kept aside and comes back below the newest one.
 */
#include "viewer/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "utils/strbuf.h"

static int is_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

static void set_text(ig_line_edit *e, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= IG_PROMPT_MAX)
        n = IG_PROMPT_MAX - 1;
    while (n > 0 && n < strlen(s) && is_cont(s[n])) /* do not cut a character */
        n--;
    memcpy(e->text, s ? s : "", n);
    e->text[n] = 0;
    e->len = e->cursor = n;
}

void ig_line_edit_begin(ig_line_edit *e, const char *initial, const ig_history *h)
{
    memset(e, 0, sizeof *e);
    set_text(e, initial);
    e->selected = e->len > 0;
    e->hist_pos = h ? h->n : 0;
}

static size_t prev_char(const ig_line_edit *e, size_t at)
{
    if (at == 0)
        return 0;
    at--;
    while (at > 0 && is_cont(e->text[at]))
        at--;
    return at;
}

static size_t next_char(const ig_line_edit *e, size_t at)
{
    if (at >= e->len)
        return e->len;
    at++;
    while (at < e->len && is_cont(e->text[at]))
        at++;
    return at;
}

/* Deletes text[from, to) and leaves the cursor at from. */
static void cut(ig_line_edit *e, size_t from, size_t to)
{
    if (to <= from)
        return;
    memmove(e->text + from, e->text + to, e->len - to + 1);
    e->len -= to - from;
    e->cursor = from;
}

static void insert(ig_line_edit *e, char c)
{
    if (e->len + 1 >= IG_PROMPT_MAX)
        return;
    memmove(e->text + e->cursor + 1, e->text + e->cursor, e->len - e->cursor + 1);
    e->text[e->cursor++] = c;
    e->len++;
}

static int is_word(char c)
{
    return c != ' ' && c != '/' && c != ';' && c != '\t';
}

static size_t word_start(const ig_line_edit *e)
{
    size_t at = e->cursor;
    while (at > 0 && !is_word(e->text[at - 1]))
        at--;
    while (at > 0 && is_word(e->text[at - 1]))
        at--;
    return at;
}

static void browse(ig_line_edit *e, const ig_history *h, int dir)
{
    if (!h || !h->n)
        return;
    int to = e->hist_pos + dir;
    if (to < 0 || to > h->n)
        return;
    if (e->hist_pos == h->n)
        memcpy(e->typed, e->text, sizeof e->typed);
    e->hist_pos = to;
    set_text(e, to == h->n ? e->typed : h->items[to]);
}

int ig_line_edit_key(ig_line_edit *e, const ig_history *h, int key)
{
    if (key == IG_KEY_ENTER || key == '\r')
        return IG_EDIT_SUBMIT;
    if (key == IG_KEY_ESC)
        return IG_EDIT_CANCEL;
    char before[IG_PROMPT_MAX];
    memcpy(before, e->text, e->len + 1);
    int was_selected = e->selected;
    e->selected = 0;
    switch (key) {
    case IG_KEY_LEFT: case IG_KEY_CTRL_B: e->cursor = prev_char(e, e->cursor); break;
    case IG_KEY_RIGHT: case IG_KEY_CTRL_F: e->cursor = next_char(e, e->cursor); break;
    case IG_KEY_HOME: case IG_KEY_CTRL_A: e->cursor = 0; break;
    case IG_KEY_END: case IG_KEY_CTRL_E: e->cursor = e->len; break;
    case IG_KEY_BACKSPACE: case IG_KEY_CTRL_H:
        if (was_selected)
            cut(e, 0, e->len);
        else
            cut(e, prev_char(e, e->cursor), e->cursor);
        break;
    case IG_KEY_DELETE: case IG_KEY_CTRL_D:
        if (was_selected)
            cut(e, 0, e->len);
        else
            cut(e, e->cursor, next_char(e, e->cursor));
        break;
    case IG_KEY_CTRL_U: cut(e, 0, e->cursor); break;
    case IG_KEY_CTRL_K: cut(e, e->cursor, e->len); break;
    case IG_KEY_CTRL_W: cut(e, word_start(e), e->cursor); break;
    case IG_KEY_UP: browse(e, h, -1); break;
    case IG_KEY_DOWN: browse(e, h, +1); break;
    default:
        if (key >= 0x20 && key < 0x100 && key != 0x7f) {
            if (was_selected)
                cut(e, 0, e->len);
            insert(e, (char)key);
        } else {
            e->selected = was_selected; /* a key the editor does not know changes nothing */
        }
        break;
    }
    return strcmp(before, e->text) ? IG_EDIT_CHANGED : IG_EDIT_NONE;
}

void ig_history_add(ig_history *h, const char *text)
{
    if (!text || !*text || (h->n && !strcmp(h->items[h->n - 1], text)))
        return;
    if (h->n == IG_HISTORY_MAX) {
        free(h->items[0]);
        memmove(h->items, h->items + 1, (IG_HISTORY_MAX - 1) * sizeof *h->items);
        h->n--;
    }
    h->items[h->n++] = ig_xstrdup(text);
}

void ig_history_free(ig_history *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->items[i]);
    h->n = 0;
}

size_t ig_line_edit_columns(const char *text, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes && text[i]; i++)
        n += !is_cont(text[i]);
    return n;
}
