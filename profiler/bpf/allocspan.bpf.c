/*
 * profiler/bpf/allocspan.bpf.c — the span an allocation was made in, for
 * `ignis record --alloc -p` (uprobes on the target's allocator).
 *
 * A kprobe-type program attached, through a BPF link whose cookie names
 * the probe slot, to the per-thread entry uprobe events of the allocation
 * functions (profiler/alloc/attach.c).  The kernel runs it in the uprobe
 * handler, in the allocating thread, before it counts the hit and writes
 * the sample; it returns 1, so the sample is written as before.
 *
 * The join is by count, not by time: the program reads the probe event's
 * own count (bpf_perf_event_read_value on the perf event array slot the
 * cookie names) and writes it, plus one, in its event; the sample of that
 * hit carries the event's count after the hit (PERF_SAMPLE_READ), the same
 * number (only hits the kernel samples get one, see sample_every).  The read succeeds only in the event's own thread (a per-thread
 * event is readable only by its task), so the program's runs for the
 * hits of the probe by other threads of the process (each thread's
 * events share the uprobe) write nothing.  Each event also carries the
 * slot's run count and the program's drop count, so user space can tell
 * when an event it would need may have been lost (see allocbpf.h).
 *
 * Nobody waits on the ring buffer (the recorder drains it with its perf
 * rings, on its own timer), so the program never wakes a reader: a
 * wake-up is an irq_work per event, which cost more than the rest.
 *
 * The object is spanctx.bpf.c plus this program: the same maps (followed
 * processes, ring buffer, counters) and the same reading of a thread's
 * OTEP 4947 record; its loader loads only this program.
 */
#include "profiler/bpf/spanctx.bpf.c"
#include "profiler/bpf/allocspan_abi.h"

#include <asm/ptrace.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(max_entries, IG_ALLOCSPAN_MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u32);
} probes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, IG_ALLOCSPAN_MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} runs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} lost SEC(".maps");

/* The entry probes' sample period (record --alloc --every): the kernel
 * samples a hit of a tracepoint-like event when its count is 1 or a
 * multiple of the period (perf_swevent_set_period), so only those hits get
 * an event.  Were that ever not so, samples would find no event and stay
 * unlabelled, never take another's. */
const volatile __u64 sample_every = 1;

/* For tests only (tests/alloc/t_attach_spans.sh, through allocbpf.c's
 * IGNIS_TEST_SPAN_HOLD): every Nth hit holds its reserved record for a
 * tenth of a millisecond or so before committing it, as a run stalled or
 * preempted in the middle of its write does; 0 (always, outside that
 * test): never, and the verifier drops the branch. */
const volatile __u32 test_hold_every = 0;

static long hold_step(__u64 i, void *ctx)
{
    (void)i, (void)ctx;
    return 0;
}

struct ig_allocspan_short {
    struct ig_allocspan_head a;
    struct ig_spanbpf_head h;
};

SEC("kprobe")
int ig_alloc_span(struct pt_regs *ctx)
{
    __u64 cookie = bpf_get_attach_cookie(ctx);
    __u32 slot = (__u32)cookie;
    struct bpf_perf_event_value v = {};
    if (bpf_perf_event_read_value(&probes, slot, &v, sizeof v))
        return 1; /* another thread's hit: no sample of this event follows */
    __u64 hit = v.counter + 1;
    if (sample_every > 1 && hit != 1 && hit % sample_every)
        return 1; /* a hit the kernel writes no sample of */
    __u32 zero = 0;
    __u64 *run = bpf_map_lookup_elem(&runs, &slot);
    __u64 *drops = bpf_map_lookup_elem(&lost, &zero);
    if (!run || !drops)
        return 1;
    *run += 1; /* only this slot's thread gets here */
    __u64 ids = current_ids();
    struct ig_allocspan_short s = {
        .a = {.cookie = cookie, .hit = hit, .seq = *run, .drops = *drops},
        .h = {.time = bpf_ktime_get_ns(), .ip = ctx->rip, .tgid = ids >> 32, .tid = (__u32)ids,
              .cpu = bpf_get_smp_processor_id(), .kind = IG_SPANBPF_NONE, .src = IG_ALLOCSPAN_SRC},
    };
    count(IG_SPANBPF_ST_SAMPLES);

    __u32 tgid = s.h.tgid;
    struct ig_spanbpf_proc *p = tgid ? bpf_map_lookup_elem(&procs, &tgid) : 0;
    __u64 rec = 0;
    __u32 found = p ? find_record(p, &rec) : IG_SPANBPF_ST_COUNT;
    if (found == IG_SPANBPF_ST_LABELLED) {
        struct ig_allocspan_event *e = bpf_ringbuf_reserve(&labels, sizeof *e, 0);
        if (!e) {
            __sync_fetch_and_add(drops, 1);
            count(IG_SPANBPF_ST_DROPPED);
            return 1;
        }
        if (test_hold_every && hit % test_hold_every == 0)
            bpf_loop(1 << 16, hold_step, 0, 0);
        e->a = s.a;
        e->e.h = s.h;
        e->e.h.name_key = (__s16)p->name_key;
        found = copy_record(&e->e, rec);
        if (found == IG_SPANBPF_ST_LABELLED) {
            e->e.h.kind = IG_SPANBPF_SPAN;
            bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
            count(found);
            return 1;
        }
        bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
    }
    if (found < IG_SPANBPF_ST_COUNT)
        count(found);
    if (bpf_ringbuf_output(&labels, &s, sizeof s, BPF_RB_NO_WAKEUP)) {
        __sync_fetch_and_add(drops, 1);
        count(IG_SPANBPF_ST_DROPPED);
    }
    return 1;
}
