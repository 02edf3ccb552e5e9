/*
 * profiler/bpf/spanctx.bpf.c — labels each perf sample with the span its
 * thread is in, read at the moment of the sample (BPF_PROG_TYPE_PERF_EVENT,
 * attached to the sampling events with PERF_EVENT_IOC_SET_BPF).
 *
 * The kernel runs this program in the event's overflow handler, on the
 * sampled CPU, with the sampled thread interrupted, just before it writes
 * the sample: so the OTEP 4947 record is read as the spec wants it read (of
 * a stopped thread), and per CPU the program's runs and the samples are
 * one sequence, in the same order, strictly interleaved in time (a
 * sample's stamp, then this run, then the next sample's stamp).
 *
 * Every run writes one event to the ring buffer `labels`, so user space can
 * walk the two sequences in step: a short one (time, ip, period, ids, cpu)
 * when there is no span to report, a long one with the record's bytes
 * when there is.  For a thread of a process user space follows (map
 * `procs`: tgid -> TLS offset of otel_thread_ctx_v1 and the process
 * image's identity) it reads the thread pointer (task->thread.fsbase,
 * with bpf_probe_read_kernel at the offset the loader found in the
 * kernel's BTF), the TLS slot and the record, accepted only if `valid` is 1
 * before and after the copy.  A run that finds the ring buffer full counts
 * a drop on its CPU, and every event carries its CPU's drop count, so user
 * space sees the gap instead of pairing the next event with the wrong
 * sample.  Decoding (span name through the process context's key map) is
 * left to user space.
 *
 * Everything is bounded (fixed-size copies, no loops), every user read may
 * fault (then the run reports no span and counts why), and the program
 * returns 1: the sample is kept whatever happens here.  The one exception
 * is a CPU-wide event of a recording that follows processes (follow_only,
 * set by the loader with the off-CPU engine's map `follow` in place of its
 * own): a sample of a thread not followed returns 0 at once, so the kernel
 * drops it before copying any stack, and no event is written for it.
 */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

#include "profiler/bpf/spanctx_abi.h"

/* Offsets of the few kernel fields we read, set by the loader before the
 * load (from the kernel's BTF, cached per boot: profiler/spanbpf.c).  No
 * CO-RE relocation, so libbpf never has to parse the kernel's 5 MB BTF. */
const volatile __u32 off_task_fsbase = 0;       /* task_struct.thread.fsbase */
const volatile __u32 off_task_group_leader = 0; /* task_struct.group_leader */
const volatile __u32 off_task_mm = 0;           /* task_struct.mm */
const volatile __u32 off_task_start_boottime = 0; /* task_struct.start_boottime */
const volatile __u32 off_mm_start_stack = 0;    /* mm_struct.start_stack */

static __always_inline __u64 kernel_u64(__u64 base, __u32 off)
{
    __u64 v = 0;
    if (bpf_probe_read_kernel(&v, sizeof v, (void *)(base + off)))
        return 0;
    return v;
}

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IG_SPANBPF_MAX_PROCS);
    __uint(map_flags, BPF_F_NO_PREALLOC); /* entries as processes come: no 4096 allocated at every load */
    __type(key, __u32);
    __type(value, struct ig_spanbpf_proc);
} procs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024); /* the loader sizes it by CPU count */
} labels SEC(".maps");

/* Followed tgids (the kernel's ids) -> IG_FOLLOW_*: kept by the off-CPU
 * program (offcpu.bpf.c: from a fork, from an exec) and the recorder; a
 * loader that shares it sets follow_only. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC); /* a few entries: nothing to allocate at load */
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u32);
} follow SEC(".maps");

const volatile __u8 follow_only = 0;

/* Whether a CPU-wide event's sample of the current thread is kept: the
 * thread is of a followed process (a launched command from its exec). */
static __always_inline int keep_sample(void)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 *f = tgid ? bpf_map_lookup_elem(&follow, &tgid) : 0;
    return f && *f == IG_FOLLOW;
}

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, IG_SPANBPF_ST_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

/* The loader's pid namespace (0, 0: the initial one, the cheap helper). */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;

static __always_inline __u64 *counter(__u32 which) { return bpf_map_lookup_elem(&stats, &which); }

static __always_inline void count(__u32 which)
{
    __u64 *v = counter(which);
    if (v)
        *v += 1;
}

/* pid (tgid) and tid as the loader sees them; 0 if not in its namespace. */
static __always_inline __u64 current_ids(void)
{
    if (!pidns_ino)
        return bpf_get_current_pid_tgid();
    struct bpf_pidns_info ns = {};
    if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof ns))
        return 0;
    return (__u64)ns.tgid << 32 | ns.pid;
}

/* What the span lookup found (a counter index), the record's address in
 * *rec when it is IG_SPANBPF_ST_LABELLED. */
static __always_inline __u32 find_record(const struct ig_spanbpf_proc *p, __u64 *rec)
{
    __u64 task = bpf_get_current_task();
    __u64 mm = kernel_u64(task, off_task_mm);
    __u64 leader = kernel_u64(task, off_task_group_leader);
    __u64 started = leader ? kernel_u64(leader, off_task_start_boottime) : 0;
    if (!mm || started < p->start_lo || started >= p->start_hi || kernel_u64(mm, off_mm_start_stack) != p->start_stack)
        return IG_SPANBPF_ST_STALE;
    __u64 tp = kernel_u64(task, off_task_fsbase);
    if (!tp || bpf_probe_read_user(rec, sizeof *rec, (void *)(tp + p->tls_offset)))
        return IG_SPANBPF_ST_UNREADABLE;
    if (!*rec)
        return IG_SPANBPF_ST_NO_SPAN;
    if (*rec & 1)
        return IG_SPANBPF_ST_UNREADABLE; /* the spec: records are 2-byte aligned */
    return IG_SPANBPF_ST_LABELLED;
}

/* Copies the record into e; the outcome as a counter index. */
static __always_inline __u32 copy_record(struct ig_spanbpf_event *e, __u64 rec)
{
    if (bpf_probe_read_user(e->rec, IG_SPANBPF_REC_HDR, (void *)rec))
        return IG_SPANBPF_ST_UNREADABLE;
    if (e->rec[IG_SPANBPF_REC_VALID] != 1)
        return IG_SPANBPF_ST_NO_SPAN;
    __u32 n = e->rec[IG_SPANBPF_REC_ATTRS_SIZE] | (__u32)e->rec[IG_SPANBPF_REC_ATTRS_SIZE + 1] << 8;
    if (n > IG_SPANBPF_REC_ATTRS)
        n = IG_SPANBPF_REC_ATTRS;
    if (n && bpf_probe_read_user(e->rec + IG_SPANBPF_REC_HDR, n, (void *)(rec + IG_SPANBPF_REC_HDR)))
        n = 0; /* the attributes are unreadable: ids only */
    __u8 valid = 0; /* still valid after the copy (the spec's rule; the thread is stopped anyway) */
    if (bpf_probe_read_user(&valid, 1, (void *)(rec + IG_SPANBPF_REC_VALID)) || valid != 1)
        return IG_SPANBPF_ST_NO_SPAN;
    e->h.rec_len = (__u16)(IG_SPANBPF_REC_HDR + n);
    return IG_SPANBPF_ST_LABELLED;
}

SEC("perf_event")
int ig_span_label(struct bpf_perf_event_data *ctx)
{
    if (follow_only && !keep_sample())
        return 0;
    __u64 ids = current_ids();
    __u64 *drops = counter(IG_SPANBPF_ST_DROPPED);
    struct ig_spanbpf_head h = {
        .time = bpf_ktime_get_ns(),
        .ip = ctx->regs.rip,
        .period = ctx->sample_period,
        .tgid = ids >> 32,
        .tid = (__u32)ids,
        .cpu = bpf_get_smp_processor_id(),
        .drops = drops ? (__u32)*drops : 0,
        .kind = IG_SPANBPF_NONE,
    };
    count(IG_SPANBPF_ST_SAMPLES);

    __u32 tgid = h.tgid;
    struct ig_spanbpf_proc *p = tgid ? bpf_map_lookup_elem(&procs, &tgid) : 0;
    __u64 rec = 0;
    __u32 found = p ? find_record(p, &rec) : IG_SPANBPF_ST_COUNT;
    struct ig_spanbpf_event *e = 0;
    if (found == IG_SPANBPF_ST_LABELLED && (e = bpf_ringbuf_reserve(&labels, sizeof *e, 0))) {
        e->h = h;
        e->h.name_key = (__s16)p->name_key;
        found = copy_record(e, rec);
        if (found == IG_SPANBPF_ST_LABELLED) {
            e->h.kind = IG_SPANBPF_SPAN;
            bpf_ringbuf_submit(e, 0);
            count(found);
            return 1;
        }
        bpf_ringbuf_discard(e, 0);
    } else if (found == IG_SPANBPF_ST_LABELLED) {
        count(IG_SPANBPF_ST_DROPPED); /* no room for the record: no room for anything */
        return 1;
    }
    if (found < IG_SPANBPF_ST_COUNT)
        count(found);
    /* no span: a short event, so that the sample still has its place */
    if (bpf_ringbuf_output(&labels, &h, sizeof h, 0))
        count(IG_SPANBPF_ST_DROPPED);
    return 1;
}

/* sched:sched_switch (BPF_PROG_TYPE_TRACEPOINT, attached to the tracepoint
 * through a perf event of its own): runs once per switch-out on the
 * machine, in the context of the thread leaving the CPU (prev is still
 * current), just before the kernel writes the switch-out samples of the
 * same tracepoint hit (perf_trace_run_bpf_submit: the program first, then
 * perf_tp_event, with interrupts off).  So on one CPU, the event written
 * here is the last one before that hit's sample.  Only threads of
 * followed processes get an event (a short one when there is no span);
 * a lost one counts a drop of this source, so user space never takes an
 * older event of the same thread for it. */
SEC("tracepoint/sched/sched_switch")
int ig_span_switch(void *ctx)
{
    (void)ctx;
    __u64 ids = current_ids();
    __u32 tgid = ids >> 32;
    struct ig_spanbpf_proc *p = tgid ? bpf_map_lookup_elem(&procs, &tgid) : 0;
    if (!p)
        return 1;
    __u64 *drops = counter(IG_SPANBPF_ST_SW_DROPPED);
    struct ig_spanbpf_head h = {
        .time = bpf_ktime_get_ns(),
        .tgid = tgid,
        .tid = (__u32)ids,
        .cpu = bpf_get_smp_processor_id(),
        .drops = drops ? (__u32)*drops : 0,
        .kind = IG_SPANBPF_NONE,
        .src = IG_SPANBPF_SRC_SWITCH,
    };
    count(IG_SPANBPF_ST_SW_SEEN);
    __u64 rec = 0;
    if (find_record(p, &rec) == IG_SPANBPF_ST_LABELLED) {
        struct ig_spanbpf_event *e = bpf_ringbuf_reserve(&labels, sizeof *e, 0);
        if (!e) {
            count(IG_SPANBPF_ST_SW_DROPPED);
            return 1;
        }
        e->h = h;
        e->h.name_key = (__s16)p->name_key;
        if (copy_record(e, rec) == IG_SPANBPF_ST_LABELLED) {
            e->h.kind = IG_SPANBPF_SPAN;
            bpf_ringbuf_submit(e, 0);
            count(IG_SPANBPF_ST_SW_LABELLED);
            return 1;
        }
        bpf_ringbuf_discard(e, 0);
    }
    if (bpf_ringbuf_output(&labels, &h, sizeof h, 0))
        count(IG_SPANBPF_ST_SW_DROPPED);
    return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
