/*
 * utils/strbuf.h — a growable byte buffer.
 *
 * Used wherever output is assembled in memory before it is written in one
 * go (SVG, folded text, encoded protobuf, JSON).  Growth doubles, so
 * appending is amortised O(1).  Allocation failure aborts: ignis treats
 * out-of-memory as fatal rather than threading it through every writer.
 */
#ifndef IG_STRBUF_H
#define IG_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ig_strbuf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} ig_strbuf;

#define IG_STRBUF_INIT {0, 0, 0}

void ig_sb_reserve(ig_strbuf *sb, size_t extra);
void ig_sb_append(ig_strbuf *sb, const void *data, size_t len);
void ig_sb_puts(ig_strbuf *sb, const char *s);
void ig_sb_putc(ig_strbuf *sb, char c);
void ig_sb_printf(ig_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, ", ' escaped for XML/HTML. */
void ig_sb_put_xml(ig_strbuf *sb, const char *s);
void ig_sb_reset(ig_strbuf *sb);
void ig_sb_free(ig_strbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets sb. */
char *ig_sb_detach(ig_strbuf *sb, size_t *len);

/* malloc/calloc/realloc that abort on failure. */
void *ig_xmalloc(size_t n);
void *ig_xcalloc(size_t n, size_t size);
void *ig_xrealloc(void *p, size_t n);
char *ig_xstrdup(const char *s);

#endif
