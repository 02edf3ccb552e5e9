/*
 * profiler/bpf/offcpu.bpf.c — off-CPU waits of followed threads, decided
 * when they end and written by the thread itself on its way back to user
 * space (`ignis record --off-cpu`, `--wall`; loaded by profiler/offbpf.c).
 *
 * A thread's user registers and user stack do not change while it is off
 * the CPU, so there is no need to copy them at every switch-out (16 KiB of
 * stack: 8-14 us, the cost that made perf's tracepoint path cut a
 * ping-pong's switch rate by 72%).  The programs:
 *
 *   tp_btf/sched_switch.  For prev (the current task), a followed thread:
 *   only when it left and its state are noted in its wait entry; nothing
 *   is read or copied.  For next, a wait just ended: its length d decides
 *   (below) whether it is recorded.  A chosen wait keeps next's user IP
 *   and SP (next has not run since it left: they are those it blocked
 *   with) and its kernel stack (still the one it blocked on; not for a
 *   thread preempted outside a system call, ax no longer -ENOSYS, which
 *   waits for no channel), and gives the thread a task work
 *   (bpf_task_work, Linux 6.18), which the kernel runs in that thread
 *   before it returns to user space: write_wait.
 *
 *   write_wait, in the thread's own context: if the thread still has the
 *   user SP and IP it blocked with (or the IP 2 bytes back: the system call
 *   a signal interrupted is restarted), one WAIT event is written: user
 *   registers, user stack (page by page from SP, up to stack_bytes,
 *   stopping at the first page not resident), the kernel stack, state,
 *   times, value, and the span the thread is in (the OTEP 4947 record,
 *   read as spanctx.bpf.c reads it).  Registers that changed (exec, a
 *   signal handler) drop the wait and count it: a wait is never given
 *   another stack.  Other waits of the same system call that end before
 *   the work ran and are chosen add their values to it.
 *
 * So the work at a switch is a few map lookups, and the copy is paid only
 * for the chosen waits, by the threads that waited.  No system call
 * tracepoint is used (one makes every system call of every process take
 * the kernel's slow path).
 *
 * The decision is time-weighted sampling: a wait of d >= period_ns is
 * recorded with value d; a shorter one with probability d / period_ns and
 * value period_ns.  The expected value recorded per stack is its true
 * off-CPU time, as with CPU sampling; long waits are exact.  period_ns 0
 * records every wait.  Waits under min_ns are left out.  A kernel thread
 * (no user stack, never back in user space) has its wait written at the
 * switch-in.
 *
 * Followed: the tgids of map `follow` (defined in spanctx.bpf.c, whose
 * ig_span_label shares it to drop CPU-wide samples of other processes; a
 * process forking follows its child from the fork; a launched command
 * from its exec), or every task (everyone, -a).  A thread exiting before its chosen wait was written is
 * counted (deleting its entry cancels the work).  Threads found waiting at
 * attach (entries user space made, W_PRESUMED) get an IN event at their
 * first switch-in, closing what user space opened for them.  Counters per
 * thread for what every switch counts, per CPU for the rest
 * (offcpu_abi.h); a full ring buffer is counted, never silent.
 *
 * A switch touches, beside the scheduler's own lines, only its threads'
 * entries (struct ig_offbpf_thread, a line each, and their hash buckets):
 * no clocksource, no per-CPU counter, no global.  On this VM a switch-in
 * on a CPU that was idle finds every other line cold.
 *
 * The object includes spanctx.bpf.c for its followed-process map `procs`
 * and its OTEP 4947 reading (find_record, copy_record); the loader loads
 * only the programs below.
 */
#include "profiler/bpf/spanctx.bpf.c"
#include "profiler/bpf/offcpu_abi.h"

#include <asm/ptrace.h>
#include <stdbool.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* CO-RE: libbpf loads the kernel's BTF for tp_btf programs anyway. */
struct rq {
    __u64 clock;
} __attribute__((preserve_access_index));

struct cfs_rq {
    struct rq *rq; /* CONFIG_FAIR_GROUP_SCHED */
} __attribute__((preserve_access_index));

struct sched_entity {
    struct cfs_rq *cfs_rq; /* CONFIG_FAIR_GROUP_SCHED */
    __u64 sum_exec_runtime;
} __attribute__((preserve_access_index));

struct task_struct {
    int pid;
    int tgid;
    struct sched_entity se;
} __attribute__((preserve_access_index));

const volatile __u64 period_ns = 1000000;
const volatile __u64 min_ns = 0;
const volatile __u32 stack_bytes = IG_OFFBPF_MAX_STACK;
const volatile __u8 everyone = 0;
const volatile __u8 kernel_stacks = 1;

/* The clock of the switches: the scheduler's clock of the runqueue a
 * task is on (rq->clock, which __schedule updates just before the
 * switch; reached through the task's cfs_rq, set for tasks of every
 * class), in ns.  It is a load, where bpf_ktime_get_ns() reads the
 * clocksource: 150-200 ns a call on a guest whose TSC is unstable
 * (kvm-clock then makes every read globally monotonic with an atomic on
 * one shared line), which was most of the program's cost at each switch.
 * Its base is not CLOCK_MONOTONIC's: a chosen wait keeps the difference,
 * read once when it is chosen, and its event is written in
 * CLOCK_MONOTONIC.  Two CPUs' clocks may differ slightly: a wait that
 * seems to end before it began lasts 0.  A kernel without group
 * scheduling uses bpf_ktime_get_ns(). */
static __always_inline bool clock_is_rq(void)
{
    return bpf_core_field_exists(struct sched_entity, cfs_rq) && bpf_core_field_exists(struct cfs_rq, rq);
}

static __always_inline __u64 switch_clock(struct task_struct *on_this_cpu)
{
    if (clock_is_rq())
        return on_this_cpu->se.cfs_rq->rq->clock;
    return bpf_ktime_get_ns();
}

/* What to add to a switch_clock() time, read about now, to make it a
 * CLOCK_MONOTONIC time. */
static __always_inline __u64 to_monotonic(__u64 clock_now)
{
    return clock_is_rq() ? bpf_ktime_get_ns() - clock_now : 0;
}

/* In a system call's body: x86-64 entry saves orig_ax = the call's number
 * (-1 for interrupts; an exception's error code, >= 0, for a page fault)
 * and ax = -ENOSYS until the call returns its value.  So ax tells a
 * page fault, and a thread preempted on its way back to user space, from
 * a wait inside the call (whose kernel stack names what it waited for). */
#define ENOSYS_ 38
#define TASK_STOPPED_BITS (0x4 | 0x8 | 0x8000) /* __TASK_STOPPED, __TASK_TRACED, TASK_FROZEN */

/* prev_state as the sched_switch trace event reports it (TASK_REPORT
 * bits, what ig_sched_state_name reads): 0 (runnable) when preempted,
 * whatever state it was setting up; TASK_IDLE as 0x80. */
static __always_inline __s64 report_state(bool preempt, unsigned int raw)
{
    if (preempt)
        return 0;
    if ((raw & 0x402) == 0x402) /* TASK_UNINTERRUPTIBLE | TASK_NOLOAD */
        return 0x80;
    return raw & 0x7f;
}

/* The kernel's handle for a task work in a map value (include/uapi/linux/
 * bpf.h, 6.18); the verifier finds it by name.  bpf_map is defined (not
 * declared) so that libbpf's check of the kfunc's prototype sees a struct
 * on both sides. */
struct bpf_task_work {
    __u64 __opaque;
} __attribute__((aligned(8)));
struct bpf_map {
    __u32 id;
} __attribute__((preserve_access_index));

/* Runs callback(map, key, value) in task's own context when it next
 * returns to user space (TWA_RESUME); callable with the runqueue locked
 * (the kernel queues it through an irq_work).  The callback runs sleepable
 * and its time is charged to the task. */
extern int bpf_task_work_schedule_resume_impl(struct task_struct *task, struct bpf_task_work *tw, void *map__map,
                                              int (*callback)(struct bpf_map *map, void *key, void *value),
                                              void *aux__prog) __ksym;

enum {
    W_CHOSEN = IG_OFFBPF_T_CHOSEN,
    W_WRITING = IG_OFFBPF_T_WRITING,
    W_PRESUMED = IG_OFFBPF_T_PRESUMED,
    W_SPILLED = IG_OFFBPF_T_SPILLED,
    W_PRESUMED_RUNNABLE = IG_OFFBPF_T_PRESUMED_RUNNABLE
};

/* tid % IG_OFFBPF_SLOTS -> the state of the thread holding the slot. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE); /* user space reads the counters in place */
    __uint(max_entries, IG_OFFBPF_SLOTS);
    __type(key, __u32);
    __type(value, struct ig_offbpf_thread);
} slots SEC(".maps");

/* The slot of tid is tid & slot_mask (the loader sizes `slots`; a test
 * makes it tiny so that threads spill). */
const volatile __u32 slot_mask = IG_OFFBPF_SLOTS - 1;

/* Some thread's state is in `waits` (W_SPILLED): a slot that does not
 * hold the thread is worth a look there. */
__u32 spilled = 0;

/* A thread's entry in `waits`: its chosen wait, and its state when it has
 * no slot (W_SPILLED). */
struct wait {
    struct ig_offbpf_thread t; /* flags W_CHOSEN, W_WRITING always here; the rest when W_SPILLED */
    /* The chosen wait, until the thread writes it on its way back to user
     * space (write_wait): */
    __u32 nk;
    __u32 pad;
    __u64 first_out, last_in;
    __u64 value; /* the values of its chosen segments */
    __u64 mono_off; /* + first_out or last_in: CLOCK_MONOTONIC (to_monotonic) */
    __u64 cip, csp;
    __s64 chosen_state;
    __u64 kstack[IG_OFFBPF_KFRAMES];
    struct bpf_task_work tw;
};

/* tid -> its wait.  A hash map, not task storage: a task work needs its
 * handle in an array or hash map value. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, IG_OFFBPF_MAX_THREADS);
    __type(key, __u32);
    __type(value, struct wait);
} waits SEC(".maps");

/* A new entry's value, all zero: bytes, since a value holding a task work
 * handle cannot be the source of an update. */
struct wait_bytes {
    __u8 b[sizeof(struct wait)];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct wait_bytes);
} zero_wait SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 24); /* the loader may size it */
} offcpu_events SEC(".maps");

/* The ring's size (set by the loader): a writer that takes its fill past
 * a quarter wakes the recorder (wake_flags). */
const volatile __u64 ring_bytes = 1 << 24;

/* Per CPU, for sched_switch (interrupts off): a kernel thread's wait,
 * written at its switch-in. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ig_offbpf_head);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, IG_OFFBPF_ST_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} offcpu_stats SEC(".maps");

static __always_inline void add(__u32 which, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&offcpu_stats, &which);
    if (v)
        *v += n;
}

static __always_inline bool followed(__u32 tgid)
{
    if (!tgid)
        return false; /* the idle task */
    if (everyone)
        return true;
    __u32 *f = bpf_map_lookup_elem(&follow, &tgid);
    return f && *f == IG_FOLLOW;
}

/* tid's entry in `waits`, made if it has none (NULL: the map is full). */
static __always_inline struct wait *entry_of(__u32 tid, __u16 flags)
{
    struct wait *w = bpf_map_lookup_elem(&waits, &tid);
    if (!w) {
        __u32 zero = 0;
        struct wait_bytes *z = bpf_map_lookup_elem(&zero_wait, &zero);
        if (!z || bpf_map_update_elem(&waits, &tid, z, BPF_NOEXIST))
            return 0;
        w = bpf_map_lookup_elem(&waits, &tid);
    }
    if (w)
        w->t.flags |= flags;
    return w;
}

/* tid's state (NULL: not followed yet). */
static __always_inline struct ig_offbpf_thread *thread_of(__u32 tid)
{
    __u32 i = tid & slot_mask;
    struct ig_offbpf_thread *t = bpf_map_lookup_elem(&slots, &i);
    if (t && t->tid == tid)
        return t;
    if (!spilled)
        return 0;
    struct wait *w = bpf_map_lookup_elem(&waits, &tid);
    return w && (w->t.flags & W_SPILLED) ? &w->t : 0;
}

/* A state for tid, followed from now: its slot if free, else an entry in
 * `waits` (NULL: the map is full, counted). */
static __noinline struct ig_offbpf_thread *new_thread(__u32 tid)
{
    __u32 i = tid & slot_mask;
    struct ig_offbpf_thread *t = bpf_map_lookup_elem(&slots, &i);
    if (t && __sync_val_compare_and_swap(&t->tid, 0, tid) == 0)
        return t; /* freed zeroed (ig_offcpu_exit) */
    spilled = 1;
    struct wait *w = entry_of(tid, W_SPILLED);
    if (w && (w->t.flags & W_SPILLED))
        return &w->t;
    add(IG_OFFBPF_ST_DROPPED, 1);
    return 0;
}

/* prev's state: made at its first switch-out once followed (NULL: not
 * followed). */
static __always_inline struct ig_offbpf_thread *thread_of_prev(__u64 ids)
{
    struct ig_offbpf_thread *t = thread_of((__u32)ids);
    if (t || !followed(ids >> 32))
        return t;
    return new_thread((__u32)ids);
}

/* The user registers of a task in perf's order; false when it has none
 * (a kernel thread). */
static __always_inline bool user_regs(struct task_struct *task, struct pt_regs *r)
{
    struct pt_regs *p = (struct pt_regs *)bpf_task_pt_regs(task);
    if (!p || bpf_probe_read_kernel(r, sizeof *r, p))
        return false;
    return (r->cs & 3) == 3;
}

static __always_inline void perf_regs(const struct pt_regs *r, __u64 *out)
{
    out[0] = r->rax, out[1] = r->rbx, out[2] = r->rcx, out[3] = r->rdx;
    out[4] = r->rsi, out[5] = r->rdi, out[6] = r->rbp, out[7] = r->rsp, out[8] = r->rip;
    out[9] = r->r8, out[10] = r->r9, out[11] = r->r10, out[12] = r->r11;
    out[13] = r->r12, out[14] = r->r13, out[15] = r->r14, out[16] = r->r15;
}

/* The end of the current thread's mapping that holds sp (its stack). */
struct vm_area_struct {
    unsigned long vm_end;
} __attribute__((preserve_access_index));

static long note_vma_end(struct task_struct *task, struct vm_area_struct *vma, void *end)
{
    (void)task;
    *(__u64 *)end = vma->vm_end;
    return 0;
}

/* The bytes of user stack worth copying from sp: stack_bytes, or less
 * when the stack's mapping ends sooner (a shallow thread: no copying of
 * the mapping that happens to follow it). */
static __always_inline __u32 stack_to_copy(__u64 sp)
{
    __u32 want = stack_bytes < IG_OFFBPF_MAX_STACK ? stack_bytes : IG_OFFBPF_MAX_STACK;
    __u64 end = 0;
    if (bpf_find_vma(bpf_get_current_task_btf(), sp, note_vma_end, &end, 0) == 0 && end > sp && end - sp < want)
        want = (__u32)(end - sp);
    return want;
}

/* Reads user memory into a dynptr (Linux 6.16), never faulting it in. */
extern int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u32 off, __u32 size,
                                      const void *unsafe_ptr__ign) __ksym;

/* The current thread's user stack from sp into the record at `off`,
 * page by page, up to `want` bytes, never faulting a page in; the bytes
 * copied. */
static __always_inline __u32 copy_user_stack(struct bpf_dynptr *rec, __u32 off, __u64 sp, __u32 want)
{
    __u32 got = 0;
    for (int i = 0; i < IG_OFFBPF_MAX_STACK / 4096 + 1; i++) {
        if (got >= want)
            break;
        __u32 chunk = 4096 - (__u32)((sp + got) & 4095);
        if (chunk > want - got)
            chunk = want - got;
        if (bpf_probe_read_user_dynptr(rec, off + got, chunk, (void *)(sp + got)))
            break; /* past the top of the stack, or not resident */
        got += chunk;
    }
    return got;
}

/* The span the current thread is in, into h (when its process is one
 * followed for span labels). */
static __always_inline void add_span(struct ig_offbpf_head *h, __u32 tgid)
{
    struct ig_spanbpf_proc *p = bpf_map_lookup_elem(&procs, &tgid);
    __u64 rec = 0;
    h->b.has_span = 0;
    if (!p || find_record(p, &rec) != IG_SPANBPF_ST_LABELLED)
        return;
    h->span.h.name_key = (__s16)p->name_key;
    h->span.h.tgid = tgid;
    if (copy_record(&h->span, rec) == IG_SPANBPF_ST_LABELLED) {
        h->span.h.kind = IG_SPANBPF_SPAN;
        h->b.has_span = 1;
    }
}

/* Nobody is woken per record (a wake-up is an interrupt and a switch
 * into the recorder): the recorder drains on its timer, and is woken
 * when a record takes the ring past a quarter full. */
static __always_inline __u64 wake_flags(__u64 size)
{
    __u64 avail = bpf_ringbuf_query(&offcpu_events, BPF_RB_AVAIL_DATA);
    return avail < ring_bytes / 4 && avail + size >= ring_bytes / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Writes a WAIT of `value` ns; its value is counted as recorded only when
 * the ring buffer took it. */
static __always_inline void submit(void *e, __u64 size, __u64 value)
{
    if (bpf_ringbuf_output(&offcpu_events, e, size, wake_flags(size))) {
        add(IG_OFFBPF_ST_DROPPED, 1);
        return;
    }
    add(IG_OFFBPF_ST_RECORDED, 1);
    add(IG_OFFBPF_ST_VALUE_NS, value);
}

/* The thread's next pseudo-random 64 bits (xorshift64, Marsaglia): its
 * state is in the line the switch touches anyway, where the kernel's
 * generator is a per-CPU line more. */
static __always_inline __u64 next_random(struct ig_offbpf_thread *t)
{
    __u64 x = t->rng;
    if (!x)
        x = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32() | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return x;
}

/* Draws whether a wait of d ns is recorded; its value. */
static __always_inline __u64 draw(struct ig_offbpf_thread *t, __u64 d)
{
    if (d < min_ns) {
        add(IG_OFFBPF_ST_BELOW_MIN, 1);
        return 0;
    }
    if (!period_ns || d >= period_ns)
        return d;
    /* Chosen with probability d / period_ns: r / 2^32 < d / period_ns,
     * without a division (d < period_ns < 2^32: no overflow). */
    __u64 r = next_random(t);
    if (period_ns >> 32) { /* over 4.3 s */
        if (r % period_ns < d)
            return period_ns;
    } else if ((r >> 32) * period_ns < d << 32) {
        return period_ns;
    }
    t->sampled_out++;
    return 0;
}

/* The chosen wait of the current thread, written by the thread itself on
 * its way back to user space (a task work: see chosen_in), with the user
 * registers and stack it blocked with.  Registers that changed since
 * (exec, a signal handler, a restarted system call) drop it, counted: a
 * wait is never given another stack. */
static int write_wait(struct bpf_map *map, void *key, void *value)
{
    (void)map;
    __u64 t0 = bpf_ktime_get_ns();
    struct wait *w = value;
    __u64 ids = bpf_get_current_pid_tgid();
    if ((w->t.flags & (W_CHOSEN | W_WRITING)) != W_CHOSEN)
        return 0;
    w->t.flags = (w->t.flags & ~W_CHOSEN) | W_WRITING;
    struct pt_regs r;
    if (*(__u32 *)key != (__u32)ids) /* never: the work runs in the thread it was given */
        goto out;
    /* A system call a signal interrupted and that is restarted (SA_RESTART,
     * or after a stop) returns with its IP moved back over the 2-byte
     * syscall instruction: the same frame, the same stack. */
    if (!user_regs(bpf_get_current_task_btf(), &r) || r.rsp != w->csp ||
        (r.rip != w->cip && r.rip + 2 != w->cip)) {
        add(IG_OFFBPF_ST_MISMATCH, 1);
        goto out;
    }
    r.rip = w->cip;
    /* The record is reserved in the ring and the stack read into it:
     * copied once, into ring pages written on every lap (a page written
     * for the first time costs a VM thousands of cycles). */
    __u32 want = stack_to_copy(r.rsp);
    __u64 size = sizeof(struct ig_offbpf_head) + want;
    struct bpf_dynptr rec;
    if (bpf_ringbuf_reserve_dynptr(&offcpu_events, size, 0, &rec)) {
        bpf_ringbuf_discard_dynptr(&rec, BPF_RB_NO_WAKEUP);
        add(IG_OFFBPF_ST_DROPPED, 1);
        goto out;
    }
    struct ig_offbpf_head *h = bpf_dynptr_data(&rec, 0, sizeof *h);
    if (!h) { /* never: the record is larger */
        bpf_ringbuf_discard_dynptr(&rec, BPF_RB_NO_WAKEUP);
        goto out;
    }
    h->b.kind = IG_OFFBPF_WAIT;
    h->b.has_regs = 1;
    h->b.pid = ids >> 32;
    h->b.tid = (__u32)ids;
    h->b.out_time = w->first_out + w->mono_off;
    h->b.in_time = w->last_in + w->mono_off;
    h->b.value = w->value;
    h->b.state = w->chosen_state;
    perf_regs(&r, h->regs);
    __u32 nk = w->nk;
    if (nk > IG_OFFBPF_KFRAMES)
        nk = IG_OFFBPF_KFRAMES;
    h->b.nkernel = nk;
    __builtin_memcpy(h->kstack, w->kstack, sizeof h->kstack);
    add_span(h, ids >> 32);
    /* The bytes not copied (a page not resident) stay in the record,
     * unread: the decoder takes stack_len. */
    h->b.stack_len = copy_user_stack(&rec, sizeof *h, r.rsp, want);
    __u64 recorded = w->value;
    bpf_ringbuf_submit_dynptr(&rec, wake_flags(size));
    add(IG_OFFBPF_ST_RECORDED, 1);
    add(IG_OFFBPF_ST_VALUE_NS, recorded);
out:
    w->t.flags &= ~(W_CHOSEN | W_WRITING);
    add(IG_OFFBPF_ST_WORK_NS, bpf_ktime_get_ns() - t0);
    return 0;
}

/* The part of struct pt_regs read at a chosen switch-in: ax .. sp. */
struct regs_tail {
    __u64 rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp;
};
_Static_assert(__builtin_offsetof(struct pt_regs, rsp) - __builtin_offsetof(struct pt_regs, rax) ==
                   __builtin_offsetof(struct regs_tail, rsp),
               "pt_regs layout");

/* A kernel thread's chosen wait (no user stack, no return to user space):
 * written now, at its switch-in. */
static __always_inline void write_kernel_wait(struct task_struct *next, struct ig_offbpf_thread *t, __u64 value,
                                              __u64 in)
{
    __u32 zero = 0;
    struct ig_offbpf_head *h = bpf_map_lookup_elem(&scratch, &zero);
    if (!h)
        return;
    h->b.kind = IG_OFFBPF_WAIT;
    h->b.has_regs = h->b.has_span = 0;
    h->b.pid = next->tgid;
    h->b.tid = next->pid;
    __u64 mono_off = to_monotonic(in);
    h->b.out_time = t->out + mono_off;
    h->b.in_time = in + mono_off;
    h->b.value = value;
    h->b.state = t->state;
    h->b.stack_len = 0;
    h->b.nkernel = 0;
    if (kernel_stacks) {
        long n = bpf_get_task_stack(next, h->kstack, sizeof h->kstack, 0);
        h->b.nkernel = n > 0 ? (__u32)n / 8 : 0;
    }
    submit(h, sizeof *h, value);
}

/* next's wait ended now and was drawn (value): its kernel stack is taken
 * now (still the one it blocked on) and the thread is given the task work
 * that writes it (write_wait).  Another wait of the same system call ended
 * before that work ran adds its value to the chosen one.  Not inlined, as
 * the other rare paths: the code a switch runs stays a few lines (a CPU
 * that was idle has a cold instruction cache too). */
static __noinline int chosen_in(struct task_struct *next, struct ig_offbpf_thread *t, __u64 value, __u64 in)
{
    struct wait *w = entry_of(next->pid, 0);
    if (!w) {
        add(IG_OFFBPF_ST_DROPPED, 1);
        return 0;
    }
    if (w->t.flags & W_WRITING) { /* a wait inside write_wait: its stack is being written */
        add(IG_OFFBPF_ST_DROPPED, 1);
        return 0;
    }
    if (w->t.flags & W_CHOSEN) {
        w->value += value;
        w->last_in = in;
        return 0;
    }
    /* next has not run since it left: its user registers are those it
     * blocked with. */
    struct regs_tail r;
    struct pt_regs *p = (struct pt_regs *)bpf_task_pt_regs(next);
    if (!p || bpf_probe_read_kernel(&r, sizeof r, &p->rax) || (r.cs & 3) != 3) {
        write_kernel_wait(next, t, value, in);
        return 0;
    }
    bool syscall = (long)r.orig_rax >= 0 && (long)r.rax == -ENOSYS_ && !t->stopped;
    w->first_out = t->out;
    w->last_in = in;
    w->mono_off = to_monotonic(in);
    w->value = value;
    w->cip = r.rip;
    w->csp = r.rsp;
    w->chosen_state = t->state;
    w->nk = 0;
    /* A thread preempted outside a system call waits for no channel: its
     * kernel frames (the scheduler's, on its way back to user space) are
     * not worth their walk. */
    if (kernel_stacks && (t->state != 0 || syscall)) {
        long n = bpf_get_task_stack(next, w->kstack, sizeof w->kstack, 0);
        w->nk = n > 0 ? (__u32)n / 8 : 0;
    }
    w->t.flags |= W_CHOSEN;
    if (bpf_task_work_schedule_resume_impl(next, &w->tw, &waits, write_wait, 0)) {
        w->t.flags &= ~W_CHOSEN;
        add(IG_OFFBPF_ST_DROPPED, 1);
    }
    return 0;
}

/* A wait ended at `in`; next: the thread switched in (NULL: a switch-in
 * the program missed, found late: the thread has run since, so the stacks
 * it waited with are not known any more; a drawn one is counted with its
 * value, never given the stacks of now). */
static __always_inline void wait_ended(struct task_struct *next, struct ig_offbpf_thread *t, __u64 in)
{
    __u64 d = in > t->out ? in - t->out : 0;
    t->off_ns += d;
    __u64 value = draw(t, d);
    if (value && next)
        chosen_in(next, t, value, in);
    else if (value)
        add(IG_OFFBPF_ST_LATE_NS, value);
    t->out = 0;
}

/* A thread user space found waiting at attach (W_PRESUMED: it made its
 * entry) is on the CPU, by now at the latest: an IN, in CLOCK_MONOTONIC as
 * user space's times, closes the wait it opened for it. */
static __noinline int presumed_in(struct ig_offbpf_thread *t, __u32 pid, __u32 tid, bool switching_out)
{
    /* A thread found runnable (state R) was on a CPU or waiting for one:
     * a switch-out first means it was on one, and user space's wait is
     * dropped (IN_DROP). */
    bool drop = switching_out && (t->flags & W_PRESUMED_RUNNABLE);
    t->flags &= ~(W_PRESUMED | W_PRESUMED_RUNNABLE);
    struct ig_offbpf_base h = {.kind = IG_OFFBPF_IN, .pid = pid, .tid = tid, .in_time = bpf_ktime_get_ns(),
                               .pad0 = drop ? IG_OFFBPF_IN_DROP : 0};
    if (bpf_ringbuf_output(&offcpu_events, &h, sizeof h, BPF_RB_NO_WAKEUP))
        add(IG_OFFBPF_ST_DROPPED, 1);
    return 0;
}

/* prev leaves the CPU: when, and its state.  Its registers are read only
 * if the wait is chosen, at its end (they do not change meanwhile: the
 * thread does not run). */
static __always_inline void switch_out(struct task_struct *prev, struct ig_offbpf_thread *t, bool preempt,
                                       unsigned int prev_state, __u64 now)
{
    t->seen++;
    t->ran_at_out = prev->se.sum_exec_runtime;
    t->out = now;
    t->state = report_state(preempt, prev_state);
    t->stopped = (prev_state & TASK_STOPPED_BITS) != 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ig_offcpu_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state)
{
    __u64 now = switch_clock(prev);
    __u64 ids = bpf_get_current_pid_tgid(); /* prev's */
    struct ig_offbpf_thread *t = ids >> 32 ? thread_of_prev(ids) : 0;
    if (t) {
        if (t->out) {
            /* Its switch-in was not seen (this kernel runs some switches
             * past the program, rarely): it ran, since then, for its
             * run-time delta, so it came in that long before now. */
            __u64 ran = prev->se.sum_exec_runtime - t->ran_at_out;
            add(IG_OFFBPF_ST_LATE_IN, 1);
            wait_ended(0, t, ran < now - t->out ? now - ran : now);
        }
        if (t->flags & W_PRESUMED) /* it ran: its switch-in was missed */
            presumed_in(t, ids >> 32, (__u32)ids, true);
        switch_out(prev, t, preempt, prev_state, now);
    }
    __u32 next_tid = next->pid;
    if (!next_tid)
        return 0;
    struct ig_offbpf_thread *n = thread_of(next_tid);
    if (!n)
        return 0;
    if (n->out)
        wait_ended(next, n, now);
    else if (n->flags & W_PRESUMED)
        presumed_in(n, next->tgid, next_tid, false);
    return 0;
}

/* A thread exits: a chosen wait it never wrote is counted (its user
 * memory is gone by now; deleting its entry cancels the work). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ig_offcpu_exit, struct task_struct *task)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid(); /* task is the current task */
    struct ig_offbpf_thread *t = thread_of(tid);
    if (t) {
        if (t->out)
            wait_ended(0, t, switch_clock(task)); /* its runqueue's clock at its last switch: late anyway */
        add(IG_OFFBPF_ST_SEEN, t->seen); /* its counters, now with the per-CPU ones */
        add(IG_OFFBPF_ST_OFF_NS, t->off_ns);
        add(IG_OFFBPF_ST_SAMPLED_OUT, t->sampled_out);
        if (!(t->flags & W_SPILLED)) { /* its slot, freed zeroed */
            t->flags = 0, t->stopped = 0, t->out = 0, t->ran_at_out = 0, t->state = 0, t->rng = 0;
            t->seen = 0, t->off_ns = 0, t->sampled_out = 0;
            t->tid = 0;
        }
    }
    struct wait *w = bpf_map_lookup_elem(&waits, &tid);
    if (!w)
        return 0;
    if (w->t.flags & W_CHOSEN)
        add(IG_OFFBPF_ST_EXITS, 1);
    bpf_map_delete_elem(&waits, &tid);
    return 0;
}

/* Touches every page of the ring once, run by the loader (BPF_PROG_TEST_RUN)
 * before anything is attached, the ring consumed between runs: the first
 * write of a ring page costs this VM about 17 us (the kernel's mapping of
 * it is made then), which the waiting threads would pay on the ring's
 * first lap.  Each run writes up to WARM_RECORDS records of IG_OFFBPF_WARM_BYTES,
 * discarded. */
#define WARM_RECORDS 64
SEC("syscall")
int ig_offcpu_warm(void *ctx)
{
    (void)ctx;
    for (int i = 0; i < WARM_RECORDS; i++) {
        __u8 *p = bpf_ringbuf_reserve(&offcpu_events, IG_OFFBPF_WARM_BYTES, 0);
        if (!p)
            return i;
        for (int j = 0; j < IG_OFFBPF_WARM_BYTES / 4096; j++)
            p[j * 4096] = 0;
        bpf_ringbuf_discard(p, BPF_RB_NO_WAKEUP);
    }
    return WARM_RECORDS;
}

/* A followed process's child is followed from its first instruction. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(ig_offcpu_fork, struct task_struct *parent, struct task_struct *child)
{
    (void)parent;
    if (everyone)
        return 0;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 *f = bpf_map_lookup_elem(&follow, &tgid);
    if (!f)
        return 0;
    __u32 child_tgid = BPF_CORE_READ(child, tgid);
    if (child_tgid == tgid)
        return 0; /* a thread */
    __u32 v = *f;
    bpf_map_update_elem(&follow, &child_tgid, &v, BPF_ANY);
    return 0;
}

/* The CPU samples of CPU-wide events (--wall with no span labels; with
 * them, spanctx.bpf.c's ig_span_label filters the same way): a sample of
 * a thread not followed returns 0, and the kernel drops it before it
 * copies any stack.  A launched command is followed from its exec, so
 * ignis's own copy of itself before the exec is not sampled either. */
SEC("perf_event")
int ig_offcpu_cpu_filter(void *ctx)
{
    (void)ctx;
    return followed(bpf_get_current_pid_tgid() >> 32);
}

/* A launched command is followed from its exec (as perf's enable_on_exec). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ig_offcpu_exec, struct task_struct *task)
{
    (void)task;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 *f = bpf_map_lookup_elem(&follow, &tgid);
    if (f && *f == IG_FOLLOW_AT_EXEC)
        *f = IG_FOLLOW;
    return 0;
}
