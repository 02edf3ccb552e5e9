/*
 * exporters/perfscript.c — import of `perf script` text output.
 *
 * perf script prints one block per sample: a header line starting in
 * column 0, then (with a call graph) one indented line per frame, leaf
 * first, and a blank line:
 *
 *   comm  pid/tid [cpu] time: period event:
 *           addr sym+off (dso)
 *           addr sym+off (inlined)
 *
 * The header's fields vary with -F; the reader finds them by shape: comm
 * is everything before the first numeric "pid" or "pid/tid" token, then an
 * optional "[cpu]", an optional "time:", an optional period and the event
 * name ending in ':' (modifiers such as ":u" are dropped).  Without a call
 * graph the single "addr sym (dso)" follows on the header line itself.
 *
 * Frames: "+0x..." offsets are stripped from symbols; "[unknown]" symbols
 * get no function, so they are named "dso+0xaddr" by the model; a frame
 * whose dso is "(inlined)" is an inlined callee and becomes an extra line
 * of the next frame's location when that frame has the same address
 * (otherwise it stands alone); a "[kernel.kallsyms]" ("[kernel...]") dso
 * makes a kernel frame, "/tmp/perf-PID.map" a JIT frame.  Each dso becomes
 * a mapping named by its path.
 *
 * Values: ("samples","count") = 1 per block, plus, when headers carry a
 * period, one value per event: cpu-clock -> ("cpu","nanoseconds"),
 * task-clock -> ("task-clock","nanoseconds"), any other event -> (event,
 * "count").  A first pass over the header lines finds the events, so the
 * value types are fixed before the first sample.  comm, pid and tid become
 * the labels "thread_name", "pid" and "tid".
 *
 * Numbers that do not fit in an int64 (pid, tid, period) are errors, and
 * so is a file whose total of some value type does not: the model's sums
 * must never wrap.
 *
 * Memory: samples are added to the model as each block ends and merged
 * there; the reader keeps only the current block.
 */
#include "exporters/formats.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 16

typedef struct span {
    const char *s;
    size_t len;
} span;

typedef struct header {
    span comm, event;
    int64_t pid, tid; /* -1 = absent */
    int64_t period;   /* -1 = absent */
    span frame;       /* frame on the header line (no call graph), len 0 = none */
} header;

typedef struct pframe {
    uint64_t addr;
    span sym, dso;
    int inlined;
} pframe;

typedef struct perf_reader {
    ignis_profile *p;
    span events[MAX_EVENTS];
    size_t nevents;
    int has_period;
    int64_t first_period;
    int period_constant;
    /* the current block */
    header h;
    size_t h_line;
    pframe *frames;
    size_t nframes, fcap;
    uint32_t *stack;
    ignis_line *lines;
    size_t scap;
    int64_t *values;
    int64_t *totals;  /* per value type, to refuse a sum that overflows */
    /* last mapping used, to skip the model's hash for runs of one dso */
    span last_dso;
    uint32_t last_map;
    ig_err *err;
} perf_reader;

/* ---- small text helpers ------------------------------------------------ */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static span next_token(const char **s, const char *end)
{
    while (*s < end && is_space(**s))
        (*s)++;
    const char *b = *s;
    while (*s < end && !is_space(**s))
        (*s)++;
    return (span){b, (size_t)(*s - b)};
}

static int all_digits(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The value of n decimal digits, or -1 when it does not fit in an int64
 * (never truncated: a number that is too big is an error). */
static int64_t to_int(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return -1;
    return v;
}

static int span_eq(span a, span b)
{
    return a.len == b.len && !memcmp(a.s, b.s, a.len);
}

static int span_is(span a, const char *lit)
{
    return a.len == strlen(lit) && !memcmp(a.s, lit, a.len);
}

/* ---- headers ----------------------------------------------------------- */

/* "pid", "pid/tid": sets pid/tid, returns 1; else 0 (-1 for a number
 * too big to be one). */
static int parse_pid(span t, int64_t *pid, int64_t *tid)
{
    const char *slash = memchr(t.s, '/', t.len);
    if (!slash) {
        if (!all_digits(t.s, t.len))
            return 0;
        *pid = -1;
        *tid = to_int(t.s, t.len);
        return *tid < 0 ? -1 : 1;
    }
    size_t a = (size_t)(slash - t.s), b = t.len - a - 1;
    if (!all_digits(t.s, a) || !all_digits(slash + 1, b))
        return 0;
    *pid = to_int(t.s, a);
    *tid = to_int(slash + 1, b);
    return *pid < 0 || *tid < 0 ? -1 : 1;
}

/* "123.456789:" */
static int is_time(span t)
{
    if (t.len < 2 || t.s[t.len - 1] != ':')
        return 0;
    size_t dots = 0;
    for (size_t i = 0; i + 1 < t.len; i++)
        if (t.s[i] == '.')
            dots++;
        else if (t.s[i] < '0' || t.s[i] > '9')
            return 0;
    return dots <= 1;
}

/* Drops the trailing ':' and modifiers (":u", ":ppp") of an event name. */
static span event_name(span t)
{
    t.len--; /* the ':' */
    const char *colon = NULL;
    for (size_t i = 0; i < t.len; i++)
        if (t.s[i] == ':')
            colon = t.s + i;
    if (colon) {
        size_t i = (size_t)(colon - t.s) + 1;
        int mods = i < t.len;
        for (; i < t.len; i++)
            if (!strchr("ukhHGpPSIDWe", t.s[i]))
                mods = 0;
        if (mods)
            t.len = (size_t)(colon - t.s);
    }
    return t;
}

static int parse_header(perf_reader *r, const char *s, const char *end, header *h, size_t lineno)
{
    memset(h, 0, sizeof *h);
    h->pid = h->tid = h->period = -1;
    const char *c = s;
    span first = next_token(&c, end);
    span t;
    for (;;) { /* comm may contain spaces: it ends before the pid token */
        t = next_token(&c, end);
        if (!t.len)
            return ig_err_set(r->err, "line %zu: malformed sample header (no pid/tid)", lineno);
        int pid = parse_pid(t, &h->pid, &h->tid);
        if (pid < 0)
            return ig_err_set(r->err, "line %zu: pid/tid '%.*s' out of range", lineno, (int)t.len, t.s);
        if (pid)
            break;
    }
    h->comm = (span){first.s, 0};
    const char *ce = t.s;
    while (ce > first.s && is_space(ce[-1]))
        ce--;
    h->comm.len = (size_t)(ce - first.s);
    t = next_token(&c, end);
    if (t.len >= 2 && t.s[0] == '[' && t.s[t.len - 1] == ']')
        t = next_token(&c, end);
    if (is_time(t))
        t = next_token(&c, end);
    if (all_digits(t.s, t.len)) {
        h->period = to_int(t.s, t.len);
        if (h->period < 0)
            return ig_err_set(r->err, "line %zu: period '%.*s' out of range", lineno, (int)t.len, t.s);
        t = next_token(&c, end);
    }
    if (t.len < 2 || t.s[t.len - 1] != ':')
        return ig_err_set(r->err, "line %zu: malformed sample header (no event name)", lineno);
    h->event = event_name(t);
    while (c < end && is_space(*c))
        c++;
    h->frame = (span){c, (size_t)(end - c)};
    return 0;
}

/* ---- frames ------------------------------------------------------------ */

static int parse_frame_line(perf_reader *r, const char *s, const char *end, pframe *f, size_t lineno)
{
    const char *c = s;
    span a = next_token(&c, end);
    if (!a.len || a.len > 16)
        return ig_err_set(r->err, "line %zu: malformed frame (expected 'address symbol (dso)')", lineno);
    f->addr = 0;
    for (size_t i = 0; i < a.len; i++) {
        int d = isdigit((unsigned char)a.s[i]) ? a.s[i] - '0'
                : isxdigit((unsigned char)a.s[i]) ? (tolower((unsigned char)a.s[i]) - 'a' + 10) : -1;
        if (d < 0)
            return ig_err_set(r->err, "line %zu: malformed frame address '%.*s'", lineno, (int)a.len, a.s);
        f->addr = f->addr << 4 | (uint64_t)d;
    }
    while (c < end && is_space(*c))
        c++;
    while (end > c && is_space(end[-1]))
        end--;
    f->dso = (span){NULL, 0};
    if (end > c && end[-1] == ')') { /* the last " (...)" is the dso */
        const char *open = end - 1;
        while (open > c && *open != '(')
            open--;
        if (*open == '(') {
            f->dso = (span){open + 1, (size_t)(end - 1 - open - 1)};
            end = open;
            while (end > c && is_space(end[-1]))
                end--;
        }
    }
    f->sym = (span){c, (size_t)(end - c)};
    /* strip "+0xOFF" */
    for (size_t i = f->sym.len; i >= 3; i--) {
        if (f->sym.s[i - 3] == '+' && f->sym.s[i - 2] == '0' && f->sym.s[i - 1] == 'x') {
            size_t j = i;
            while (j < f->sym.len && isxdigit((unsigned char)f->sym.s[j]))
                j++;
            if (j == f->sym.len && j > i)
                f->sym.len = i - 3;
            break;
        }
    }
    f->inlined = span_is(f->dso, "inlined");
    if (span_is(f->sym, "[unknown]"))
        f->sym.len = 0;
    return 0;
}

static ignis_frame_kind kind_of_dso(span d, uint64_t addr)
{
    if ((d.len >= 7 && !memcmp(d.s, "[kernel", 7)) || span_is(d, "[vmlinux]"))
        return IGNIS_FRAME_KERNEL;
    if ((d.len == 0 || span_is(d, "unknown") || span_is(d, "[unknown]")) && addr >= 0xffff800000000000ULL)
        return IGNIS_FRAME_KERNEL;
    size_t start = 0; /* of the base name (offsets: d.s may be NULL when empty) */
    for (size_t i = 0; i < d.len; i++)
        if (d.s[i] == '/')
            start = i + 1;
    size_t bl = d.len - start;
    const char *base = bl ? d.s + start : "";
    if ((bl > 9 && !memcmp(base, "perf-", 5) && !memcmp(base + bl - 4, ".map", 4)) || span_is(d, "[jit]"))
        return IGNIS_FRAME_JIT;
    return IGNIS_FRAME_USER;
}

static uint32_t mapping_for(perf_reader *r, span dso)
{
    if (!dso.len || span_is(dso, "unknown") || span_is(dso, "[unknown]"))
        return 0;
    if (r->last_map && span_eq(dso, r->last_dso))
        return r->last_map;
    ignis_mapping m = {0};
    m.filename = ignis_profile_intern_n(r->p, dso.s, dso.len);
    m.has_functions = true;
    r->last_map = ignis_profile_add_mapping(r->p, &m);
    r->last_dso = dso;
    return r->last_map;
}

static uint32_t function_for(perf_reader *r, span sym)
{
    ignis_function f = {0, 0, 0, 0};
    f.name = f.system_name = ignis_profile_intern_n(r->p, sym.s, sym.len);
    return ignis_profile_add_function(r->p, &f);
}

/* Location of frames[i..j]: inlined frames i..j-1 and the physical frame j. */
static uint32_t location_for(perf_reader *r, size_t i, size_t j)
{
    const pframe *phys = &r->frames[j];
    size_t n = 0;
    for (size_t k = i; k <= j; k++)
        if (r->frames[k].sym.len)
            r->lines[n++] = (ignis_line){function_for(r, r->frames[k].sym), 0, 0};
    ignis_location loc = {0, phys->addr, n ? r->lines : NULL, (uint32_t)n, IGNIS_FRAME_USER, false};
    if (!phys->inlined) {
        loc.mapping = mapping_for(r, phys->dso);
        loc.kind = (uint8_t)kind_of_dso(phys->dso, phys->addr);
    }
    return ignis_profile_add_location(r->p, &loc);
}

/* ---- blocks ------------------------------------------------------------ */

static uint32_t block_labels(perf_reader *r)
{
    ignis_label l[3];
    size_t n = 0;
    memset(l, 0, sizeof l);
    if (r->h.comm.len) {
        l[n].key = ignis_profile_intern(r->p, "thread_name");
        l[n++].str = ignis_profile_intern_n(r->p, r->h.comm.s, r->h.comm.len);
    }
    if (r->h.pid >= 0) {
        l[n].key = ignis_profile_intern(r->p, "pid");
        l[n++].num = r->h.pid;
    }
    if (r->h.tid >= 0) {
        l[n].key = ignis_profile_intern(r->p, "tid");
        l[n++].num = r->h.tid;
    }
    return ignis_profile_add_labels(r->p, l, n);
}

static size_t event_index(perf_reader *r, span e)
{
    for (size_t i = 0; i < r->nevents; i++)
        if (span_eq(r->events[i], e))
            return i;
    return r->nevents;
}

/* Adds the current block as a sample. */
static int end_block(perf_reader *r)
{
    if (!r->h_line)
        return 0;
    if (r->nframes > r->scap) {
        r->scap = r->nframes * 2;
        r->stack = ig_xrealloc(r->stack, r->scap * sizeof *r->stack);
        r->lines = ig_xrealloc(r->lines, r->scap * sizeof *r->lines);
    }
    size_t depth = 0;
    for (size_t i = 0; i < r->nframes; i++) {
        size_t j = i; /* extend over inlined frames sharing the next frame's address */
        while (j + 1 < r->nframes && r->frames[j].inlined && r->frames[j + 1].addr == r->frames[i].addr)
            j++;
        uint32_t loc = location_for(r, i, j);
        if (!loc)
            return ig_err_set(r->err, "line %zu: invalid frame", r->h_line);
        r->stack[depth++] = loc;
        i = j;
    }
    uint32_t stack = ignis_profile_add_stack(r->p, r->stack, depth);
    size_t nv = ignis_profile_num_values(r->p);
    memset(r->values, 0, nv * sizeof *r->values);
    r->values[0] = 1;
    size_t ev = event_index(r, r->h.event);
    if (r->has_period && r->h.period >= 0 && ev < r->nevents)
        r->values[1 + ev] = r->h.period;
    for (size_t k = 0; k < nv; k++)
        if (__builtin_add_overflow(r->totals[k], r->values[k], &r->totals[k]))
            return ig_err_set(r->err, "line %zu: the total of '%s' overflows 64 bits", r->h_line,
                              ignis_profile_string(r->p, ignis_profile_value_type(r->p, k).type));
    if (!stack || ignis_profile_add_sample(r->p, stack, block_labels(r), r->values))
        return ig_err_set(r->err, "line %zu: invalid sample", r->h_line);
    r->h_line = 0;
    r->nframes = 0;
    return 0;
}

static int add_frame(perf_reader *r, const char *s, const char *end, size_t lineno)
{
    if (r->nframes == r->fcap) {
        r->fcap = r->fcap ? r->fcap * 2 : 64;
        r->frames = ig_xrealloc(r->frames, r->fcap * sizeof *r->frames);
    }
    if (parse_frame_line(r, s, end, &r->frames[r->nframes], lineno))
        return -1;
    r->nframes++;
    return 0;
}

/* ---- the two passes ---------------------------------------------------- */

typedef int (*line_fn)(perf_reader *r, const char *s, const char *end, size_t lineno);

static int for_each_line(perf_reader *r, const uint8_t *data, size_t len, line_fn fn)
{
    const char *s = (const char *)data, *end = s + len;
    size_t lineno = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        lineno++;
        if (memchr(s, '\0', (size_t)(le - s)))
            return ig_err_set(r->err, "line %zu: NUL byte (not perf script output)", lineno);
        if (fn(r, s, le, lineno))
            return -1;
        s = le + 1;
    }
    return 0;
}

static int is_header_line(const char *s, const char *end)
{
    return s < end && !is_space(*s) && *s != '#';
}

/* Pass 1: which events, whether periods are printed. */
static int scan_line(perf_reader *r, const char *s, const char *end, size_t lineno)
{
    if (!is_header_line(s, end)) {
        const char *c = s;
        while (c < end && is_space(*c))
            c++;
        if (c < end && *s != '#' && !r->nevents)
            return ig_err_set(r->err, "line %zu: stack frame outside a sample (no header line before it)", lineno);
        return 0;
    }
    header h;
    if (parse_header(r, s, end, &h, lineno))
        return -1;
    if (h.period >= 0) {
        if (!r->has_period)
            r->first_period = h.period;
        else if (h.period != r->first_period)
            r->period_constant = 0;
        r->has_period = 1;
    }
    if (event_index(r, h.event) == r->nevents) {
        if (r->nevents == MAX_EVENTS)
            return ig_err_set(r->err, "line %zu: more than %d different events", lineno, MAX_EVENTS);
        r->events[r->nevents++] = h.event;
    }
    return 0;
}

/* Pass 2: blocks into samples. */
static int build_line(perf_reader *r, const char *s, const char *end, size_t lineno)
{
    const char *c = s;
    while (c < end && is_space(*c))
        c++;
    if (c == end)
        return end_block(r);
    if (*s == '#')
        return 0;
    if (is_header_line(s, end)) {
        if (end_block(r) || parse_header(r, s, end, &r->h, lineno))
            return -1;
        r->h_line = lineno;
        if (r->h.frame.len) { /* no call graph: "addr sym (dso)" after the event, if it parses */
            ig_err ignored;
            perf_reader probe = *r;
            probe.err = &ignored;
            pframe f;
            if (!parse_frame_line(&probe, r->h.frame.s, r->h.frame.s + r->h.frame.len, &f, lineno))
                return add_frame(r, r->h.frame.s, r->h.frame.s + r->h.frame.len, lineno);
        }
        return 0;
    }
    if (!r->h_line)
        return ig_err_set(r->err, "line %zu: stack frame outside a sample (no header line before it)", lineno);
    return add_frame(r, s, end, lineno);
}

static void set_value_types(perf_reader *r)
{
    ignis_profile_add_value_type(r->p, "samples", "count");
    for (size_t i = 0; r->has_period && i < r->nevents; i++) {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)r->events[i].len, r->events[i].s);
        if (!strcmp(name, "cpu-clock"))
            ignis_profile_add_value_type(r->p, "cpu", "nanoseconds");
        else if (!strcmp(name, "task-clock"))
            ignis_profile_add_value_type(r->p, "task-clock", "nanoseconds");
        else
            ignis_profile_add_value_type(r->p, name, "count");
    }
    if (r->has_period && r->nevents == 1) {
        ignis_value_type vt = ignis_profile_value_type(r->p, 1);
        ignis_profile_set_period(r->p, ignis_profile_string(r->p, vt.type), ignis_profile_string(r->p, vt.unit),
                                 r->period_constant ? r->first_period : 0);
    }
    r->values = ig_xcalloc(ignis_profile_num_values(r->p), sizeof *r->values);
    r->totals = ig_xcalloc(ignis_profile_num_values(r->p), sizeof *r->totals);
}

int ig_perfscript_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err)
{
    perf_reader r = {.err = err, .period_constant = 1};
    *out = NULL;
    r.p = ignis_profile_new();
    int rc = for_each_line(&r, data, len, scan_line);
    if (!rc && r.nevents == 0)
        rc = ig_err_set(err, "no perf script samples found");
    if (!rc) {
        set_value_types(&r);
        rc = for_each_line(&r, data, len, build_line);
    }
    if (!rc)
        rc = end_block(&r);
    free(r.frames);
    free(r.stack);
    free(r.lines);
    free(r.values);
    free(r.totals);
    if (rc) {
        ignis_profile_free(r.p);
        return -1;
    }
    *out = r.p;
    return 0;
}
