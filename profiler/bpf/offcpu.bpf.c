/*
 * profiler/bpf/offcpu.bpf.c — off-CPU waits of followed threads, decided
 * when they end (`ignis record --off-cpu`, `--wall`; loaded by
 * profiler/offbpf.c).
 *
 * A thread's user registers and user stack do not change while it is off
 * the CPU, so there is no need to copy them at every switch-out (16 KiB of
 * stack: 8-14 us, the cost that made perf's tracepoint path cut a
 * ping-pong's switch rate by 72%).  The programs:
 *
 *   tp_btf/sched_switch, in prev's context: a followed prev inside a system
 *   call (ax still -ENOSYS) only notes in its wait entry when it left, its
 *   state and its user IP and SP (no copy).  A prev outside a system call
 *   (preempted in user code or on its way back from a call, a page fault,
 *   a stop) has its stacks copied now into its wait entry.  For next, a
 *   wait just ended: its length d decides (below) whether it is recorded;
 *   a chosen wait in a system call keeps next's kernel stack (still the
 *   one it blocked on); a chosen wait outside one is written now.
 *
 *   tp_btf/sys_exit, in the thread's context: a chosen wait whose thread
 *   still has the IP and SP it blocked with is written as one WAIT event:
 *   user registers, user stack (page by page from SP, up to stack_bytes,
 *   stopping at the first unreadable page), the kernel stack taken at the
 *   switch-in, state, times, value, and the span the thread is in (the
 *   OTEP 4947 record, read as spanctx.bpf.c reads it).  Registers that
 *   changed (exec, sigreturn) drop the wait and count it: a wait is never
 *   given another stack.
 *
 * The decision is time-weighted sampling: a wait of d >= period_ns is
 * recorded with value d; a shorter one with probability d / period_ns and
 * value period_ns.  The expected value recorded per stack is its true
 * off-CPU time, as with CPU sampling; long waits are exact.  period_ns 0
 * records every wait.  A system call that blocks several times draws for
 * each; the values of those drawn add up.  Waits under min_ns are left out.
 *
 * Followed: the tgids of map `follow` (a process forking follows its child
 * from the fork; a launched command from its exec), or every task
 * (everyone, -a).  A thread exiting in a chosen wait is counted (its user
 * memory is gone); one exiting outside a system call has its wait written.
 * Threads found waiting at attach (map `presumed`) get an IN event at their
 * first switch-in, closing what user space opened for them.  Counters per
 * CPU (offcpu_abi.h); a full ring buffer is counted, never silent.
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
struct sched_entity {
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

/* In a system call's body: x86-64 entry saves orig_ax = the call's number
 * (-1 for interrupts; an exception's error code, >= 0, for a page fault)
 * and ax = -ENOSYS until the call returns its value.  So ax tells a
 * page fault, and a thread preempted on its way back to user space after
 * its sys_exit, from a wait inside the call. */
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

/* A thread's wait (map `waits`). */
struct event {
    struct ig_offbpf_head h;
    __u8 stack[IG_OFFBPF_MAX_STACK + 8192]; /* + the copy loop's bound on a chunk */
};

enum { W_PENDING = 1, W_CHOSEN = 2, W_COPIED = 4, W_NONSYS = 8 };
struct wait {
    __u64 out;       /* switch-out of the segment open now, 0: on the CPU */
    __u64 first_out; /* the system call's first switch-out */
    __u64 last_in;
    __u64 ran_at_out; /* its se.sum_exec_runtime at the switch-out */
    __u64 value;     /* chosen segments' values */
    __u64 ip, sp;
    __s64 state;     /* the state of the segment open now */
    __s64 chosen_state;
    __u32 flags;
    __u32 nk;
    __u64 kstack[IG_OFFBPF_KFRAMES];
    struct event ev; /* a wait outside a system call: copied at its switch-out */
};

/* tid -> its wait.  Not task storage: on this kernel the syscall
 * tracepoints run preemptible, and a sys_exit program preempted inside a
 * task storage access made every task storage access on its CPU fail
 * until it ran again (the storage's per-CPU busy guard), losing switches.
 * A hash map's bucket locks are taken with preemption off. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, IG_OFFBPF_MAX_THREADS);
    __type(key, __u32);
    __type(value, struct wait);
} waits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct wait);
} zero_wait SEC(".maps"); /* all zero: a new entry's value */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC); /* a few entries: nothing to allocate at load */
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u32);
} follow SEC(".maps");

/* Threads user space found off the CPU when it began following them
 * (tid -> 1): their first switch-in writes an IN, closing the wait user
 * space opened for them.  presumed_left: entries not met yet (the lookup
 * is skipped when none are left). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u32);
} presumed SEC(".maps");
__u32 presumed_left = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 24); /* the loader may size it */
} offcpu_events SEC(".maps");

/* Per CPU: [0] for sched_switch (interrupts off), [1] for sys_exit, which
 * runs preemptible here: a second sys_exit on the CPU while one is
 * preempted finds it busy (scratch_busy) and drops its wait, counted. */
enum { SCRATCH_SWITCH, SCRATCH_SYS_EXIT };
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct event);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} scratch_busy SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, IG_OFFBPF_ST_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} offcpu_stats SEC(".maps");

/* tid's wait, made when create is set (NULL: none, or the map is full). */
static __always_inline struct wait *wait_of(__u32 tid, bool create)
{
    struct wait *w = bpf_map_lookup_elem(&waits, &tid);
    if (w || !create)
        return w;
    __u32 zero = 0;
    struct wait *z = bpf_map_lookup_elem(&zero_wait, &zero);
    if (!z || bpf_map_update_elem(&waits, &tid, z, BPF_NOEXIST))
        return 0;
    return bpf_map_lookup_elem(&waits, &tid);
}

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
    return f && *f == IG_OFFBPF_FOLLOW;
}

/* The user registers of the current thread in perf's order; false when
 * it has none (a kernel thread). */
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

/* The current thread's user stack from sp into e->stack, page by page,
 * up to stack_bytes; the bytes copied. */
static __always_inline __u32 copy_user_stack(struct event *e, __u64 sp)
{
    __u32 want = stack_bytes, got = 0;
    if (want > IG_OFFBPF_MAX_STACK)
        want = IG_OFFBPF_MAX_STACK;
    for (int i = 0; i < IG_OFFBPF_MAX_STACK / 4096 + 1; i++) {
        if (got >= want || got >= IG_OFFBPF_MAX_STACK)
            break;
        __u32 chunk = 4096 - (__u32)((sp + got) & 4095);
        if (chunk > want - got)
            chunk = want - got;
        barrier_var(chunk); /* a bound the verifier sees on the register used (chunk <= 4096 anyway) */
        chunk &= 0x1fff;
        if (bpf_probe_read_user(e->stack + got, chunk, (void *)(sp + got)))
            break; /* past the top of the stack, or not resident */
        got += chunk;
    }
    return got;
}

/* The span the current thread is in, into e (when its process is one
 * followed for span labels). */
static __always_inline void add_span(struct event *e, __u32 tgid)
{
    struct ig_spanbpf_proc *p = bpf_map_lookup_elem(&procs, &tgid);
    __u64 rec = 0;
    e->h.b.has_span = 0;
    if (!p || find_record(p, &rec) != IG_SPANBPF_ST_LABELLED)
        return;
    e->h.span.h.name_key = (__s16)p->name_key;
    e->h.span.h.tgid = tgid;
    if (copy_record(&e->h.span, rec) == IG_SPANBPF_ST_LABELLED) {
        e->h.span.h.kind = IG_SPANBPF_SPAN;
        e->h.b.has_span = 1;
    }
}

static __always_inline void submit(struct event *e, __u32 len)
{
    if (len > IG_OFFBPF_MAX_STACK)
        len = IG_OFFBPF_MAX_STACK;
    e->h.b.stack_len = len;
    if (bpf_ringbuf_output(&offcpu_events, e, sizeof e->h + len, BPF_RB_NO_WAKEUP))
        add(IG_OFFBPF_ST_DROPPED, 1);
    else
        add(IG_OFFBPF_ST_RECORDED, 1);
}

static __always_inline struct event *new_event(__u8 kind, __u64 ids, __u32 slot)
{
    struct event *e = bpf_map_lookup_elem(&scratch, &slot);
    if (!e)
        return 0;
    e->h.b.kind = kind;
    e->h.b.has_regs = e->h.b.has_span = 0;
    e->h.b.nkernel = 0;
    e->h.b.pid = ids >> 32;
    e->h.b.tid = (__u32)ids;
    e->h.b.value = 0;
    return e;
}

/* The switch-out of a thread outside a system call: its stacks are
 * copied now, into its wait entry (the draw is at its end, nonsys_in). */
static __always_inline void copy_out(void *ctx, const struct pt_regs *r, bool user, struct wait *w,
                                     __s64 state, __u64 ids)
{
    struct event *e = &w->ev;
    __u32 len = 0;
    e->h.b.kind = IG_OFFBPF_WAIT;
    e->h.b.has_regs = e->h.b.has_span = 0;
    e->h.b.nkernel = 0;
    e->h.b.pid = ids >> 32;
    e->h.b.tid = (__u32)ids;
    e->h.b.state = state;
    if (user) {
        perf_regs(r, e->h.regs);
        e->h.b.has_regs = 1;
        len = copy_user_stack(e, r->rsp);
    }
    /* A preempted thread waits for no channel: its kernel frames (the
     * scheduler's, on its way back to user space) are not worth their
     * walk at the commonest switch-out there is (a wake-up preempting the
     * waker) */
    if (kernel_stacks && (state != 0 || !user)) {
        long n = bpf_get_stack(ctx, e->h.kstack, sizeof e->h.kstack, 0);
        e->h.b.nkernel = n > 0 ? (__u32)n / 8 : 0;
    }
    add_span(e, ids >> 32);
    e->h.b.stack_len = len;
    /* The wait is timed from the end of the copy: the copy is ours. */
    e->h.b.out_time = w->out = bpf_ktime_get_ns();
    w->flags |= W_COPIED;
}


/* Draws whether a wait of d ns in a system call is recorded; its value. */
static __always_inline __u64 draw(__u64 d)
{
    if (d < min_ns) {
        add(IG_OFFBPF_ST_BELOW_MIN, 1);
        return 0;
    }
    if (!period_ns || d >= period_ns)
        return d;
    __u64 r = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
    if (r % period_ns < d)
        return period_ns;
    add(IG_OFFBPF_ST_SAMPLED_OUT, 1);
    return 0;
}

/* A wait outside a system call ended at `in`: drawn as a system call's
 * wait is (draw), written with the stacks its switch-out copied.  Drawing
 * before the copy (the length unknown yet) with a predicted probability
 * and weighting by its inverse was tried: on offcpu_pingpong the copied
 * waits came out 5 times as long as the others (42 us against 8.7 us on
 * average), even timed from the end of the copy, and the estimate 2.5 to 3
 * times the exact total: a copy perturbs the very wait it is for.  So each
 * is copied, and only the ring buffer and the recorder are spared. */
static __always_inline void nonsys_in(struct wait *w, __u64 in)
{
    __u64 d = in - w->out;
    add(IG_OFFBPF_ST_OFF_NS, d);
    w->out = 0;
    w->last_in = in;
    w->flags &= ~W_NONSYS;
    if (!(w->flags & W_COPIED))
        return;
    w->flags &= ~W_COPIED;
    __u64 value = draw(d);
    if (!value)
        return;
    w->ev.h.b.in_time = in;
    w->ev.h.b.value = value;
    add(IG_OFFBPF_ST_VALUE_NS, value);
    __u32 len = w->ev.h.b.stack_len;
    if (len > IG_OFFBPF_MAX_STACK)
        len = IG_OFFBPF_MAX_STACK;
    if (bpf_ringbuf_output(&offcpu_events, &w->ev, sizeof w->ev.h + len, BPF_RB_NO_WAKEUP))
        add(IG_OFFBPF_ST_DROPPED, 1);
    else
        add(IG_OFFBPF_ST_RECORDED, 1);
}

/* next's wait in a system call ended now (its OUT events: see below);
 * next NULL: a switch-in found late (no kernel stack to take). */
static __always_inline void switch_in(struct task_struct *next, struct wait *w, __u64 now)
{
    __u64 d = now - w->out;
    w->out = 0;
    w->last_in = now;
    add(IG_OFFBPF_ST_OFF_NS, d);
    if (!(w->flags & W_PENDING))
        return;
    __u64 v = draw(d);
    if (!v)
        return;
    w->value += v;
    if (w->flags & W_CHOSEN)
        return;
    w->flags |= W_CHOSEN;
    w->chosen_state = w->state;
    w->nk = 0;
    if (kernel_stacks && next) {
        long n = bpf_get_task_stack(next, w->kstack, sizeof w->kstack, 0);
        w->nk = n > 0 ? (__u32)n / 8 : 0;
    }
}

/* A thread user space found waiting at attach is on the CPU (by `in` at
 * the latest): an IN closes the wait it opened for it. */
static __always_inline void presumed_in(__u64 ids, __u64 in)
{
    __u32 tid = (__u32)ids;
    if (bpf_map_delete_elem(&presumed, &tid))
        return;
    __sync_fetch_and_add(&presumed_left, -1);
    struct ig_offbpf_base h = {.kind = IG_OFFBPF_IN, .pid = ids >> 32, .tid = tid, .in_time = in};
    if (bpf_ringbuf_output(&offcpu_events, &h, sizeof h, BPF_RB_NO_WAKEUP))
        add(IG_OFFBPF_ST_DROPPED, 1);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ig_offcpu_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state)
{
    __u64 now = bpf_ktime_get_ns();
    __u64 ids = bpf_get_current_pid_tgid(); /* prev's */
    if (followed(ids >> 32)) {
        struct wait *w = wait_of((__u32)ids, true);
        if (w && w->out) {
            /* Its switch-in was not seen (this kernel runs some switches
             * past the program, rarely): it ran, since then, for its
             * run-time delta, so it came in that long before now. */
            __u64 ran = prev->se.sum_exec_runtime - w->ran_at_out;
            __u64 in = ran < now - w->out ? now - ran : now;
            add(IG_OFFBPF_ST_LATE_IN, 1);
            if (w->flags & W_NONSYS)
                nonsys_in(w, in);
            else
                switch_in(0, w, in);
        }
        if (w && presumed_left) /* it ran: a switch-in we missed (it was followed, not yet presumed) */
            presumed_in(ids, now);
        if (w) {
            add(IG_OFFBPF_ST_SEEN, 1);
            w->ran_at_out = prev->se.sum_exec_runtime;
            struct pt_regs r;
            __s64 state = report_state(preempt, prev_state);
            bool user = user_regs(prev, &r);
            bool in_syscall = user && (long)r.orig_rax >= 0 && (long)r.rax == -ENOSYS_ &&
                              !(prev_state & TASK_STOPPED_BITS);
            w->out = now;
            w->state = state;
            if (in_syscall) {
                if (!(w->flags & W_PENDING)) {
                    w->flags = W_PENDING;
                    w->first_out = now;
                    w->value = 0;
                    w->ip = r.rip;
                    w->sp = r.rsp;
                }
            } else {
                w->flags = W_NONSYS;
                copy_out(ctx, &r, user, w, state, ids);
            }
        }
    }
    __u32 next_tid = next->pid;
    struct wait *n = next_tid ? wait_of(next_tid, false) : 0;
    if (presumed_left && next_tid)
        presumed_in((__u64)next->tgid << 32 | next_tid, now);
    if (n && n->out) {
        if (n->flags & W_NONSYS)
            nonsys_in(n, now);
        else
            switch_in(next, n, now);
    }
    return 0;
}

/* The system call's exit: a chosen wait is written now, with the stacks it
 * blocked with. */
SEC("tp_btf/sys_exit")
int BPF_PROG(ig_offcpu_sys_exit, struct pt_regs *regs, long ret)
{
    (void)regs, (void)ret;
    struct task_struct *task = bpf_get_current_task_btf();
    __u64 ids = bpf_get_current_pid_tgid();
    struct wait *w = wait_of((__u32)ids, false);
    if (!w || !(w->flags & W_PENDING))
        return 0;
    __u32 flags = w->flags;
    w->flags &= ~(W_PENDING | W_CHOSEN);
    if (!(flags & W_CHOSEN))
        return 0;
    struct pt_regs r;
    if (!user_regs(task, &r) || r.rip != w->ip || r.rsp != w->sp) {
        add(IG_OFFBPF_ST_MISMATCH, 1);
        return 0;
    }
    __u32 zero = 0;
    __u32 *busy = bpf_map_lookup_elem(&scratch_busy, &zero);
    if (!busy || __sync_lock_test_and_set(busy, 1)) {
        add(IG_OFFBPF_ST_DROPPED, 1);
        return 0;
    }
    struct event *e = new_event(IG_OFFBPF_WAIT, ids, SCRATCH_SYS_EXIT);
    if (!e) {
        __sync_lock_test_and_set(busy, 0);
        return 0;
    }
    e->h.b.out_time = w->first_out;
    e->h.b.in_time = w->last_in;
    e->h.b.value = w->value;
    add(IG_OFFBPF_ST_VALUE_NS, w->value);
    e->h.b.state = w->chosen_state;
    perf_regs(&r, e->h.regs);
    e->h.b.has_regs = 1;
    __u32 nk = w->nk;
    if (nk > IG_OFFBPF_KFRAMES)
        nk = IG_OFFBPF_KFRAMES;
    e->h.b.nkernel = nk;
    __builtin_memcpy(e->h.kstack, w->kstack, sizeof e->h.kstack);
    __u32 len = copy_user_stack(e, r.rsp);
    add_span(e, ids >> 32);
    submit(e, len);
    __sync_lock_test_and_set(busy, 0);
    return 0;
}

/* A thread exits: a chosen wait it never returned from is counted (its
 * user memory is gone by now); an open OUT event gets its IN. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ig_offcpu_exit, struct task_struct *task)
{
    (void)task; /* the current task */
    __u64 ids = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)ids;
    struct wait *w = wait_of(tid, false);
    if (!w)
        return 0;
    if ((w->flags & (W_PENDING | W_CHOSEN)) == (W_PENDING | W_CHOSEN))
        add(IG_OFFBPF_ST_EXITS, 1);
    if (w->out && (w->flags & W_NONSYS))
        nonsys_in(w, bpf_ktime_get_ns()); /* its wait ended by the exit */
    bpf_map_delete_elem(&waits, &tid);
    return 0;
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

/* A launched command is followed from its exec (as perf's enable_on_exec). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ig_offcpu_exec, struct task_struct *task)
{
    (void)task;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 *f = bpf_map_lookup_elem(&follow, &tgid);
    if (f && *f == IG_OFFBPF_FOLLOW_AT_EXEC)
        *f = IG_OFFBPF_FOLLOW;
    return 0;
}
