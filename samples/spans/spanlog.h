/*
 * samples/spans/spanlog.h — the span log the span samples (spanwork,
 * spanstart) write for their tests: every span a thread made, one line
 * "SPAN tid name trace-id span-id [start end]" (ids in hex, times in
 * CLOCK_MONOTONIC ns), the ground truth the labels of a recording are
 * checked against.  Header-only: each sample is one file.
 */
#ifndef IG_SAMPLES_SPANLOG_H
#define IG_SAMPLES_SPANLOG_H

#include "ignis/trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct span_log {
    int tid;
    const char *name;
    uint8_t trace[16], span[8];
    uint64_t start, end;
} span_log;

/* One thread's spans, in the order made. */
typedef struct span_logbook {
    span_log *v;
    size_t n, cap;
} span_logbook;

/* Logs span s (named name) of the calling thread; its index in b. */
static size_t span_log_add(span_logbook *b, ignis_span *s, const char *name)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->v = realloc(b->v, b->cap * sizeof *b->v);
        if (!b->v)
            abort();
    }
    span_log *l = &b->v[b->n];
    memset(l, 0, sizeof *l);
    ignis_span_context sc;
    ignis_span_get_context(s, &sc);
    l->tid = (int)gettid();
    l->name = name;
    memcpy(l->trace, sc.trace_id, 16);
    memcpy(l->span, sc.span_id, 8);
    return b->n++;
}

static void span_log_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* Writes n logbooks to path, the first at book and each `stride` bytes
 * after the one before (a logbook in each element of an array of
 * workers), with the spans' times if `times`.  0, or -1. */
static int span_log_write(const char *path, const span_logbook *book, size_t stride, int n, bool times)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int t = 0; t < n; t++, book = (const span_logbook *)((const char *)book + stride))
        for (size_t i = 0; i < book->n; i++) {
            const span_log *l = &book->v[i];
            fprintf(f, "SPAN %d %s ", l->tid, l->name);
            span_log_hex(f, l->trace, 16);
            fputc(' ', f);
            span_log_hex(f, l->span, 8);
            if (times)
                fprintf(f, " %llu %llu", (unsigned long long)l->start, (unsigned long long)l->end);
            fputc('\n', f);
        }
    return fclose(f);
}

#endif
