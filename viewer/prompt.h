/*
 * viewer/prompt.h — the one-line editor of every prompt in both viewers
 * (search, focus, ignore, export; the trace views' filters), edited like a
 * shell line.
 *
 *   Left/Right, Ctrl-B/Ctrl-F   move by a character (UTF-8 code point)
 *   Home/End, Ctrl-A/Ctrl-E     to the start / end
 *   Backspace, Ctrl-H           delete before the cursor
 *   Delete, Ctrl-D              delete under the cursor
 *   Ctrl-U / Ctrl-K             delete to the start / to the end
 *   Ctrl-W                      delete the word before the cursor
 *   Up/Down                     older / newer entries of the prompt's history
 *   Enter / Esc                 submit / cancel
 *
 * A prompt opened with a value (the current filter, a file name) shows it
 * selected: the first character typed replaces it whole, Backspace or
 * Delete clears it, a motion key keeps it for editing.
 */
#ifndef IG_VIEWER_PROMPT_H
#define IG_VIEWER_PROMPT_H

#include <stddef.h>

#define IG_PROMPT_MAX 256
#define IG_HISTORY_MAX 50

/* Key codes besides printable ASCII (shared by both viewers). */
enum {
    IG_KEY_ENTER = '\n', IG_KEY_ESC = 27, IG_KEY_BACKSPACE = 127,
    IG_KEY_CTRL_A = 1, IG_KEY_CTRL_B = 2, IG_KEY_CTRL_D = 4, IG_KEY_CTRL_E = 5, IG_KEY_CTRL_F = 6,
    IG_KEY_CTRL_H = 8, IG_KEY_CTRL_K = 11, IG_KEY_CTRL_L = 12, IG_KEY_CTRL_U = 21, IG_KEY_CTRL_W = 23,
    IG_KEY_UP = 0x1000, IG_KEY_DOWN, IG_KEY_LEFT, IG_KEY_RIGHT,
    IG_KEY_PGUP, IG_KEY_PGDN, IG_KEY_HOME, IG_KEY_END, IG_KEY_DELETE,
};

/* Past entries of one prompt, oldest first. */
typedef struct ig_history {
    char *items[IG_HISTORY_MAX];
    int n;
} ig_history;

typedef struct ig_line_edit {
    char text[IG_PROMPT_MAX]; /* NUL-terminated */
    size_t len, cursor;       /* bytes; the cursor sits on a code point boundary */
    int selected;             /* the pre-filled value is selected (replaced by typing) */
    int hist_pos;             /* entry shown from the history; n = the line being typed */
    char typed[IG_PROMPT_MAX];/* the line being typed while the history is browsed */
} ig_line_edit;

/* What a key did. */
enum { IG_EDIT_NONE = 0, IG_EDIT_CHANGED, IG_EDIT_SUBMIT, IG_EDIT_CANCEL };

/* Opens the editor with an initial value (NULL or "": empty), selected. */
void ig_line_edit_begin(ig_line_edit *e, const char *initial, const ig_history *h);

/* Applies one key; h (may be NULL) is the history Up/Down browse. */
int ig_line_edit_key(ig_line_edit *e, const ig_history *h, int key);

/* Adds an entry (not empty, not equal to the newest) to a history. */
void ig_history_add(ig_history *h, const char *text);
void ig_history_free(ig_history *h);

/* Number of code points in text[0, bytes). */
size_t ig_line_edit_columns(const char *text, size_t bytes);

#endif
