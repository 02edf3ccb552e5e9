/*
 * profiler/perf.c — opening sampling events and draining their rings.
 *
 * Design.  The kernel writes records into a power-of-two data area after
 * one metadata page and advances data_head; we read from data_tail and
 * publish the new tail when done.  The ordering rules are the ones in
 * perf_event_open(2): load data_head with acquire semantics before reading
 * any record, and store data_tail with release semantics after the last
 * read, so the kernel never overwrites a record we are still parsing.
 * Records are parsed where they lie; the rare record that straddles the
 * end of the data area is copied whole into a 64 KiB scratch buffer (a
 * record's size is a 16-bit field, so it always fits).  Nothing else is
 * copied: the user stack of a sample is unwound straight out of the ring.
 * A reader may peek at a record and leave it there (the tail stays before
 * it), which is how the recorder holds back records too recent to be put
 * in time order with the other rings.
 */
#include "profiler/perf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "utils/strbuf.h"

#define SAMPLE_TYPE (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | \
                     PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)

bool ig_perf_kind_switches(ig_perf_kind k)
{
    return k == IG_PERF_SCHED_SWITCH || k == IG_PERF_CONTEXT_SWITCHES;
}

/* What the event counts: cpu-clock in frequency mode, or every switch-out
 * (period 1) with the switch records that give the switch-ins.  A switch
 * is counted in kernel mode, so an event that excluded the kernel would
 * never fire: only the kernel callchain follows `kernel`. */
static void fill_kind(const ig_perf_opts *o, struct perf_event_attr *a)
{
    switch (o->kind) {
    case IG_PERF_SCHED_SWITCH:
        a->type = PERF_TYPE_TRACEPOINT;
        a->config = o->tp_id;
        a->sample_type |= PERF_SAMPLE_RAW;
        break;
    case IG_PERF_CONTEXT_SWITCHES:
        a->type = PERF_TYPE_SOFTWARE;
        a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
        break;
    case IG_PERF_SIDEBAND:
        a->type = PERF_TYPE_SOFTWARE;
        a->config = PERF_COUNT_SW_DUMMY;
        return;
    default:
        a->type = PERF_TYPE_SOFTWARE;
        a->config = PERF_COUNT_SW_CPU_CLOCK;
        a->freq = 1;
        a->sample_freq = o->freq;
        return;
    }
    a->sample_period = 1;
    a->exclude_kernel = 0;
    a->context_switch = 1;
}

static void fill_attr(const ig_perf_opts *o, struct perf_event_attr *a)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->sample_type = SAMPLE_TYPE;
    a->sample_regs_user = IG_PERF_REGS_MASK;
    a->sample_stack_user = o->stack_size;
    a->exclude_callchain_user = 1;
    a->exclude_callchain_kernel = o->kernel ? 0 : 1;
    a->exclude_kernel = o->kernel ? 0 : 1;
    a->exclude_hv = 1;
    fill_kind(o, a);
    a->inherit = o->inherit;
    a->enable_on_exec = o->enable_on_exec;
    a->disabled = o->enable_on_exec;
    a->mmap = o->sideband;
    a->mmap2 = o->sideband;
    a->comm = o->sideband;
    a->comm_exec = o->sideband;
    a->task = o->sideband;
    a->sample_id_all = o->sideband; /* every record carries pid/tid and time */
    if (o->mono_clock) {
        a->use_clockid = 1;
        a->clockid = CLOCK_MONOTONIC;
    }
    /* The recorder also polls on a timer, so the watermark only bounds
     * latency and the risk of overflow. */
    a->watermark = 1;
    a->wakeup_watermark = o->wakeup_bytes ? o->wakeup_bytes : 64 * 1024;
}

int ig_perf_open(const ig_perf_opts *o, pid_t tid, int cpu)
{
    struct perf_event_attr a;
    fill_attr(o, &a);
    if (tid == -1 && o->cgroup_fd > 0)
        return (int)syscall(SYS_perf_event_open, &a, o->cgroup_fd, cpu, -1,
                            PERF_FLAG_FD_CLOEXEC | PERF_FLAG_PID_CGROUP);
    return (int)syscall(SYS_perf_event_open, &a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int ig_perf_open_sink(int cpu, const ig_perf_opts *o)
{
    unsigned wakeup_bytes = o->wakeup_bytes;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_DUMMY;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.watermark = 1;
    a.wakeup_watermark = wakeup_bytes ? wakeup_bytes : 64 * 1024;
    if (o->mono_clock) {
        a.use_clockid = 1;
        a.clockid = CLOCK_MONOTONIC;
    }
    /* CPU-wide where permitted: an event of a task (the recorder's own)
     * turns on the kernel's perf hooks at every context switch of every
     * task (perf_sched_events), a cost on the very switches an off-CPU
     * profile records; a CPU-wide one does not. */
    int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0 || (errno != EACCES && errno != EPERM))
        return fd;
    return (int)syscall(SYS_perf_event_open, &a, 0, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int ig_perf_redirect(int fd, int sink_fd)
{
    return ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, sink_fd);
}

int ig_perf_set_bpf(int fd, int prog_fd) { return ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd); }

int ig_ring_map(ig_ring *r, int fd, size_t pages)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    size_t psz = (size_t)sysconf(_SC_PAGESIZE);
    for (;;) {
        size_t len = (pages + 1) * psz;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            r->meta = m;
            r->map_len = len;
            size_t off = r->meta->data_offset ? r->meta->data_offset : psz;
            r->size = r->meta->data_size ? r->meta->data_size : pages * psz;
            r->data = (uint8_t *)m + off;
            r->scratch = ig_xmalloc(65536);
            r->tail = __atomic_load_n(&r->meta->data_tail, __ATOMIC_RELAXED);
            r->head = r->tail;
            return 0;
        }
        if ((errno != EPERM && errno != ENOMEM) || pages <= 1)
            return -1;
        pages /= 2;
    }
}

void ig_ring_unmap(ig_ring *r)
{
    if (r->meta)
        munmap(r->meta, r->map_len);
    free(r->scratch);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

void ig_ring_begin(ig_ring *r)
{
    r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
}

const struct perf_event_header *ig_ring_peek(ig_ring *r)
{
    if (r->head - r->tail < sizeof(struct perf_event_header))
        return NULL;
    size_t mask = r->size - 1;
    size_t off = (size_t)(r->tail & mask);
    struct perf_event_header h;
    if (off + sizeof h <= r->size) {
        memcpy(&h, r->data + off, sizeof h);
    } else {
        size_t first = r->size - off;
        memcpy(&h, r->data + off, first);
        memcpy((uint8_t *)&h + first, r->data, sizeof h - first);
    }
    if (h.size < sizeof h || r->head - r->tail < h.size) {
        /* A corrupt or partial record: skip to what the kernel wrote. */
        r->tail = r->head;
        return NULL;
    }
    const struct perf_event_header *rec;
    if (off + h.size <= r->size && !(off & 7)) { /* the kernel's records: 8-aligned */
        rec = (const struct perf_event_header *)(r->data + off);
    } else { /* straddles the end (or misaligned): an aligned copy */
        size_t first = r->size - off;
        if (first > h.size)
            first = h.size;
        memcpy(r->scratch, r->data + off, first);
        memcpy(r->scratch + first, r->data, h.size - first);
        rec = (const struct perf_event_header *)r->scratch;
    }
    return rec;
}

void ig_ring_advance(ig_ring *r, const struct perf_event_header *h)
{
    r->tail += h->size;
}

const struct perf_event_header *ig_ring_next(ig_ring *r)
{
    const struct perf_event_header *h = ig_ring_peek(r);
    if (h)
        ig_ring_advance(r, h);
    return h;
}

void ig_ring_end(ig_ring *r)
{
    __atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
}

uint64_t ig_perf_record_time(const struct perf_event_header *h)
{
    uint64_t t = 0;
    if (h->type == PERF_RECORD_SAMPLE) { /* ip, pid/tid, time */
        if (h->size >= sizeof *h + 24)
            memcpy(&t, (const uint8_t *)(h + 1) + 16, 8);
    } else if (h->size >= sizeof *h + 16) { /* ..., sample_id {pid/tid, time} */
        memcpy(&t, (const uint8_t *)h + h->size - 8, 8);
    }
    return t;
}

/* Bounds-checked cursor over a record's payload. */
typedef struct cursor {
    const uint8_t *p, *end;
    bool bad;
} cursor;

static uint64_t take_u64(cursor *c)
{
    uint64_t v = 0;
    if ((size_t)(c->end - c->p) < 8) {
        c->bad = true;
        return 0;
    }
    memcpy(&v, c->p, 8);
    c->p += 8;
    return v;
}

static const uint8_t *take_bytes(cursor *c, uint64_t n)
{
    if ((uint64_t)(c->end - c->p) < n) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    return at;
}

int ig_perf_parse_sample(const struct perf_event_header *h, ig_perf_sample *s)
{
    return ig_perf_parse_sample_of(h, IG_PERF_CPU_CLOCK, s);
}

int ig_perf_parse_sample_of(const struct perf_event_header *h, ig_perf_kind kind, ig_perf_sample *s)
{
    cursor c = {(const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false};
    memset(s, 0, sizeof *s);
    s->user_mode = (h->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER;
    s->ip = take_u64(&c);
    uint64_t pidtid = take_u64(&c);
    s->pid = (uint32_t)pidtid;
    s->tid = (uint32_t)(pidtid >> 32);
    s->time = take_u64(&c);
    s->period = take_u64(&c);
    s->nr_chain = take_u64(&c);
    if (s->nr_chain > 4096)
        return -1;
    s->chain = (const uint64_t *)take_bytes(&c, s->nr_chain * 8);
    if (kind == IG_PERF_SCHED_SWITCH) { /* u32 size, then size bytes (padded to 8 with the size) */
        uint32_t raw_size = 0;
        const uint8_t *at = take_bytes(&c, 4);
        if (at)
            memcpy(&raw_size, at, 4);
        s->raw = take_bytes(&c, raw_size);
        s->raw_size = s->raw ? raw_size : 0;
    }
    s->regs_abi = take_u64(&c);
    if (s->regs_abi != PERF_SAMPLE_REGS_ABI_NONE)
        for (int i = 0; i < IG_PREG_COUNT; i++)
            s->regs[i] = take_u64(&c);
    uint64_t size = take_u64(&c);
    if (size) {
        s->stack = take_bytes(&c, size);
        s->stack_size = take_u64(&c);
        if (s->stack_size > size)
            s->stack_size = size;
    }
    if (c.bad)
        return -1;
    if (s->regs_abi == PERF_SAMPLE_REGS_ABI_NONE)
        s->stack_size = 0;
    return 0;
}

int ig_perf_parse_switch(const struct perf_event_header *h, ig_perf_switch *sw)
{
    /* SWITCH: sample_id only; SWITCH_CPU_WIDE: next/prev pid and tid first.
     * Either way the sample_id {pid, tid, time} ends the record. */
    size_t body = h->type == PERF_RECORD_SWITCH ? 0 : h->type == PERF_RECORD_SWITCH_CPU_WIDE ? 8 : SIZE_MAX;
    if (body == SIZE_MAX || h->size < sizeof *h + body + 16)
        return -1;
    const uint8_t *id = (const uint8_t *)h + h->size - 16;
    memcpy(&sw->pid, id, 4);
    memcpy(&sw->tid, id + 4, 4);
    memcpy(&sw->time, id + 8, 8);
    sw->out = (h->misc & PERF_RECORD_MISC_SWITCH_OUT) != 0;
    sw->preempt = sw->out && (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
    return 0;
}

int ig_perf_paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = -99;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -99;
        fclose(f);
    }
    return v;
}
