/*
 * utils/strbuf.c — growable byte buffer and aborting allocators.
 */
#include "utils/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    fputs("ignis: out of memory\n", stderr);
    abort();
}

void *ig_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *ig_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *ig_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *ig_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(ig_xmalloc(n), s, n);
}

void ig_sb_reserve(ig_strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap *= 2;
    sb->data = ig_xrealloc(sb->data, cap);
    sb->cap = cap;
}

void ig_sb_append(ig_strbuf *sb, const void *data, size_t len)
{
    ig_sb_reserve(sb, len);
    if (len)
        memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void ig_sb_puts(ig_strbuf *sb, const char *s)
{
    ig_sb_append(sb, s, strlen(s));
}

void ig_sb_putc(ig_strbuf *sb, char c)
{
    ig_sb_reserve(sb, 1);
    sb->data[sb->len++] = c;
    sb->data[sb->len] = '\0';
}

void ig_sb_printf(ig_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        ig_sb_append(sb, tmp, (size_t)n);
        return;
    }
    ig_sb_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void ig_sb_put_xml(ig_strbuf *sb, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t')
                rep = " ";
        }
        if (rep) {
            ig_sb_append(sb, run, (size_t)(s - run));
            ig_sb_puts(sb, rep);
            run = s + 1;
        }
    }
    ig_sb_append(sb, run, (size_t)(s - run));
}

void ig_sb_reset(ig_strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void ig_sb_free(ig_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

char *ig_sb_detach(ig_strbuf *sb, size_t *len)
{
    if (!sb->data)
        ig_sb_reserve(sb, 0);
    char *d = sb->data;
    if (len)
        *len = sb->len;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return d;
}
