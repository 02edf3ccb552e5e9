/*
 * viewer/screen.h — a grid of styled cells the viewer model renders into.
 *
 * The curses layer copies the grid to the terminal; tests and benches read
 * it back as text.  A cell holds one Unicode code point (one column) and a
 * style class (enum ig_style in viewer/layout.h).
 */
#ifndef IG_VIEWER_SCREEN_H
#define IG_VIEWER_SCREEN_H

#include <stdint.h>

#include "viewer/model.h"

/* Attributes drawn over a cell's style class. */
enum { IG_ATTR_REVERSE = 1, IG_ATTR_BOLD = 2 };

typedef struct ig_cell {
    uint32_t ch;
    uint8_t style;
    uint8_t attr; /* IG_ATTR_* */
} ig_cell;

typedef struct ig_screen {
    int w, h;
    ig_cell *cells;
    int utf8; /* 0: non-ASCII code points are drawn as '?' */
} ig_screen;

void ig_screen_init(ig_screen *s, int w, int h, int utf8);
void ig_screen_free(ig_screen *s);
void ig_screen_clear(ig_screen *s);
ig_cell *ig_screen_cell(ig_screen *s, int row, int col);

/* Writes UTF-8 text from (row, col), at most maxcols columns (<0: to the
 * edge); returns the columns written. */
int ig_screen_text(ig_screen *s, int row, int col, int maxcols, uint8_t style, const char *text);
void ig_screen_fill(ig_screen *s, int row, int col, int n, uint32_t ch, uint8_t style);

/* Adds attributes to n cells from (row, col). */
void ig_screen_attr(ig_screen *s, int row, int col, int n, uint8_t attr);

/* One row as UTF-8 text (malloc'd, trailing spaces kept). */
char *ig_screen_row(const ig_screen *s, int row);

/* Draws a prompt on a row: the label, then the line being edited with its
 * cursor (reverse video) or its selected pre-filled value, scrolled so the
 * cursor stays on screen.  Shared by both viewers. */
void ig_screen_prompt(ig_screen *s, int row, const char *label, const ig_line_edit *e);

/* Renders the whole viewer into s (s->w x s->h; the viewer is resized to
 * match).  A screen smaller than IG_MIN_W x IG_MIN_H shows a message. */
#define IG_MIN_W 40
#define IG_MIN_H 10
void ig_viewer_render(ig_viewer *v, ig_screen *s);

#endif
