/*
 * profiler/offbpf.c — loads the off-CPU BPF program, follows processes,
 * drains and decodes its events (see offbpf.h for the contract and
 * profiler/bpf/offcpu.bpf.c for the program).
 *
 * Design.  The object is compiled with clang -target bpf at build time and
 * embedded as a bpftool skeleton, as spanctx.bpf.c is; it includes
 * spanctx.bpf.c for the reading of a thread's span, so the same kernel
 * field offsets and per-process entries (profiler/spanbpf.c's helpers) are
 * given to it.  Its programs are tp_btf ones, so libbpf reads the kernel's
 * BTF at load (about 0.1 s of CPU, before the profile's clock starts).
 * The ring buffer is drained by the recorder with its perf rings, on its
 * timer; nobody is woken per event (BPF_RB_NO_WAKEUP).  A record that
 * takes the ring past a quarter full wakes the recorder
 * (BPF_RB_FORCE_WAKEUP), through an edge-triggered epoll on the ring
 * (ig_offbpf_wake_fd): the ring's own fd polls readable whenever it holds
 * a record, which would wake the recorder for every one.
 */
#include "profiler/offbpf.h"
#include "profiler/bpf/offcpu_abi.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/strbuf.h"

_Static_assert(IG_OFFBPF_EV_REGS == IG_OFFBPF_NREGS, "register count");
_Static_assert(IG_OFFBPF_EV_KFRAMES == IG_OFFBPF_KFRAMES, "kernel frames");

int ig_offbpf_decode(const void *data, size_t size, ig_offbpf_event *out)
{
    memset(out, 0, sizeof *out);
    struct ig_offbpf_base b;
    if (!data || size < sizeof b)
        return -1;
    memcpy(&b, data, sizeof b); /* ring buffer records are only 8-byte aligned */
    if (b.kind != IG_OFFBPF_WAIT && b.kind != IG_OFFBPF_OUT && b.kind != IG_OFFBPF_IN)
        return -1;
    out->kind = b.kind;
    out->pid = (pid_t)b.pid;
    out->tid = (pid_t)b.tid;
    out->out_time = b.out_time;
    out->in_time = b.in_time;
    if (b.kind == IG_OFFBPF_IN) {
        out->value = b.value;
        out->drop = (b.pad0 & IG_OFFBPF_IN_DROP) != 0;
        return 0;
    }
    struct ig_offbpf_head h;
    if (size < sizeof h || b.stack_len > IG_OFFBPF_MAX_STACK || b.stack_len > size - sizeof h ||
        b.nkernel > IG_OFFBPF_KFRAMES || b.out_time == 0)
        return -1;
    memcpy(&h, data, sizeof h);
    out->value = b.value;
    out->state = b.state;
    out->has_regs = b.has_regs != 0;
    memcpy(out->regs, h.regs, sizeof out->regs);
    out->nkernel = b.nkernel;
    memcpy(out->kstack, h.kstack, b.nkernel * sizeof *out->kstack);
    out->stack = out->has_regs ? (const uint8_t *)data + sizeof h : NULL;
    out->stack_len = out->has_regs ? b.stack_len : 0;
    if (b.kind == IG_OFFBPF_WAIT && (b.in_time < b.out_time || b.value == 0))
        return -1;
    if (b.has_span && ig_spanbpf_decode_event(&h.span, sizeof h.span, &out->span) == 0 && out->span.in_span)
        out->has_span = true;
    else
        memset(&out->span, 0, sizeof out->span);
    return 0;
}

#ifdef IG_HAVE_OFFBPF

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "profiler/bpf/offcpu.skel.h"

#define PROC_PID_INIT_INO 0xEFFFFFFCu /* the initial pid namespace's inode */
/* 16 MiB: 1000-4000 waits (a 16 KiB stack at most, 4-8 KiB usually:
 * the stack's mapping bounds the copy), 4 MiB of them between the
 * recorder's wake-ups.  Warmed at load (warm_ring). */
#define RING_BYTES (16u << 20)

struct ig_offbpf {
    struct ig_offcpu_bpf *skel;
    struct ring_buffer *rb;
    void (*cb)(void *ctx, const ig_offbpf_event *e);
    void *cb_ctx;
    size_t delivered;
    int ncpus;
    int stats_fd;         /* holds the kernel's run-time counting on (IGNIS_BPF_STATS=1) */
    ig_bpf_ringpos *rpos; /* rb's positions (NULL: unmappable, plain consume) */
    int wake_fd;          /* epoll, edge-triggered, on the ring: its wake-ups only */
    uint64_t thread_sums[IG_OFFBPF_ST_COUNT]; /* the live threads' counters (ig_offbpf_stats_refresh) */
    const struct ig_offbpf_thread *slots;     /* map `slots`, mapped (NULL: not mappable) */
    uint32_t nslots;
    ig_offbpf_event ev;   /* the event being handed */
};

/* The first write of each ring page costs a VM about 17 us (3 s of a
 * ping-pong, 2300 waits written: 45-50 us a write with a 16 MiB ring
 * written for the first time, 7-12 with a 2 MiB one that went round
 * several times), paid by the waiting threads on the ring's first lap.
 * So the loader writes the ring round once, before anything is attached:
 * the program ig_offcpu_warm fills what is free with records it discards,
 * consumed here between runs (about 70 ms for 16 MiB).  A failure only
 * leaves the cost to the threads. */
static void warm_ring(ig_offbpf *ob)
{
    int fd = bpf_program__fd(ob->skel->progs.ig_offcpu_warm);
    for (size_t written = 0; written < RING_BYTES;) {
        LIBBPF_OPTS(bpf_test_run_opts, run);
        if (bpf_prog_test_run_opts(fd, &run) != 0 || run.retval == 0)
            return;
        written += (size_t)run.retval * IG_OFFBPF_WARM_BYTES;
        ring_buffer__consume(ob->rb);
    }
}

static int on_event(void *ctx, void *data, size_t size)
{
    ig_offbpf *ob = ctx;
    if (ig_offbpf_decode(data, size, &ob->ev) != 0)
        return 0;
    ob->delivered++;
    if (ob->cb)
        ob->cb(ob->cb_ctx, &ob->ev);
    return 0;
}

static ig_offbpf *fail(ig_offbpf *ob, ig_err *err, const char *what, int e)
{
    char why[128];
    libbpf_strerror(e, why, sizeof why);
    if (e == EPERM || e == EACCES)
        ig_err_set(err, "off-CPU BPF: %s: not permitted (%s): needs root, or CAP_BPF and CAP_PERFMON", what, why);
    else
        ig_err_set(err, "off-CPU BPF: %s: %s", what, why);
    ig_offbpf_free(ob);
    return NULL;
}

/* Whether the kernel has the task work kfunc the program calls (asked only
 * when the load failed, to say why). */
static bool kernel_has_task_work(void)
{
    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux)
        return true; /* unknown: the load's own error stands */
    bool has = btf__find_by_name_kind(vmlinux, "bpf_task_work_schedule_resume_impl", BTF_KIND_FUNC) > 0;
    btf__free(vmlinux);
    return has;
}

ig_offbpf *ig_offbpf_new(const ig_offbpf_opts *o, ig_err *err)
{
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PROC_PID_INIT_INO) {
        ig_err_set(err, "off-CPU BPF: the recorder runs in a pid namespace (the program names threads by the "
                        "initial namespace's ids)");
        return NULL;
    }
    if (o->stack_size > IG_OFFBPF_MAX_STACK) {
        ig_err_set(err, "off-CPU BPF: --stack-size %u is over its %u bytes", o->stack_size, IG_OFFBPF_MAX_STACK);
        return NULL;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        ig_err_set(err, "off-CPU BPF: no kernel BTF (/sys/kernel/btf/vmlinux: %s)", strerror(errno));
        return NULL;
    }
    ig_spanbpf_kernel k;
    ig_spanbpf_opts so = {.cache_dir = o->cache_dir};
    ig_err kerr;
    if (ig_spanbpf_kernel_get(&so, &k, &kerr) != 0)
        memset(&k, 0, sizeof k); /* no span labels on waits; the rest works */
    ig_offbpf *ob = ig_xcalloc(1, sizeof *ob);
    ob->stats_fd = -1;
    ob->wake_fd = -1;
    ob->ncpus = libbpf_num_possible_cpus();
    if (ob->ncpus < 1)
        ob->ncpus = 1;
    ob->skel = ig_offcpu_bpf__open();
    if (!ob->skel)
        return fail(ob, err, "opening the program", errno);
    ob->skel->rodata->off_task_fsbase = k.fsbase;
    ob->skel->rodata->off_task_group_leader = k.group_leader;
    ob->skel->rodata->off_task_mm = k.mm;
    ob->skel->rodata->off_task_start_boottime = k.start_boottime;
    ob->skel->rodata->off_mm_start_stack = k.start_stack;
    ob->skel->rodata->period_ns = o->period_ns;
    ob->skel->rodata->min_ns = o->min_ns;
    ob->skel->rodata->stack_bytes = o->stack_size & ~7u;
    ob->skel->rodata->everyone = o->everyone;
    ob->skel->rodata->kernel_stacks = o->kernel;
    bpf_program__set_autoload(ob->skel->progs.ig_span_label, false);
    bpf_program__set_autoload(ob->skel->progs.ig_span_switch, false);
    bpf_map__set_max_entries(ob->skel->maps.labels, 4096); /* spanctx's, unused here */
    bpf_map__set_max_entries(ob->skel->maps.offcpu_events, RING_BYTES);
    ob->skel->rodata->ring_bytes = RING_BYTES;
    /* IGNIS_OFFBPF_SLOTS (a power of two up to IG_OFFBPF_SLOTS): tests make
     * threads share slots, to take the hash map's way. */
    const char *slots_env = getenv("IGNIS_OFFBPF_SLOTS");
    unsigned long nslots = slots_env ? strtoul(slots_env, NULL, 10) : IG_OFFBPF_SLOTS;
    ob->nslots = nslots && nslots <= IG_OFFBPF_SLOTS && !(nslots & (nslots - 1)) ? (uint32_t)nslots : IG_OFFBPF_SLOTS;
    bpf_map__set_max_entries(ob->skel->maps.slots, ob->nslots);
    ob->skel->rodata->slot_mask = ob->nslots - 1;
    int rc = ig_offcpu_bpf__load(ob->skel);
    if (rc && !kernel_has_task_work()) {
        ig_err_set(err, "off-CPU BPF: this kernel has no bpf_task_work (Linux 6.18 or later), which writes "
                        "each chosen wait in its own thread");
        ig_offbpf_free(ob);
        return NULL;
    }
    if (rc)
        return fail(ob, err, "loading the program", -rc);
    ob->rb = ring_buffer__new(bpf_map__fd(ob->skel->maps.offcpu_events), on_event, ob, NULL);
    if (!ob->rb)
        return fail(ob, err, "its ring buffer", errno);
    warm_ring(ob);
    rc = ig_offcpu_bpf__attach(ob->skel);
    if (rc)
        return fail(ob, err, "attaching to sched_switch, sched_process_exit/fork/exec", -rc);

    ob->rpos = ig_bpf_ringpos_new(bpf_map__fd(ob->skel->maps.offcpu_events));
    void *slots = mmap(NULL, (size_t)ob->nslots * sizeof(struct ig_offbpf_thread), PROT_READ, MAP_SHARED,
                       bpf_map__fd(ob->skel->maps.slots), 0);
    ob->slots = slots == MAP_FAILED ? NULL : slots; /* without: the live threads' counters are not summed */
    ob->wake_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    if (ob->wake_fd < 0 || epoll_ctl(ob->wake_fd, EPOLL_CTL_ADD, bpf_map__fd(ob->skel->maps.offcpu_events), &ev))
        return fail(ob, err, "polling its ring buffer", errno);
    const char *stats = getenv("IGNIS_BPF_STATS");
    if (stats && !strcmp(stats, "1"))
        ob->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    return ob;
}

void ig_offbpf_free(ig_offbpf *ob)
{
    if (!ob)
        return;
    ring_buffer__free(ob->rb);
    ig_bpf_ringpos_free(ob->rpos);
    if (ob->wake_fd >= 0)
        close(ob->wake_fd);
    if (ob->slots)
        munmap((void *)ob->slots, (size_t)ob->nslots * sizeof(struct ig_offbpf_thread));
    ig_offcpu_bpf__destroy(ob->skel);
    if (ob->stats_fd >= 0)
        close(ob->stats_fd);
    free(ob);
}

int ig_offbpf_follow(ig_offbpf *ob, pid_t pid, bool at_exec, ig_err *err)
{
    uint32_t key = (uint32_t)pid, v = at_exec ? IG_FOLLOW_AT_EXEC : IG_FOLLOW;
    if (bpf_map__update_elem(ob->skel->maps.follow, &key, sizeof key, &v, sizeof v, BPF_ANY) != 0)
        return ig_err_set(err, "off-CPU BPF: process %d: cannot follow it: %s", (int)pid, strerror(errno));
    return 0;
}

void ig_offbpf_unfollow(ig_offbpf *ob, pid_t pid)
{
    uint32_t key = (uint32_t)pid;
    bpf_map__delete_elem(ob->skel->maps.follow, &key, sizeof key, 0);
}

bool ig_offbpf_presume_waiting(ig_offbpf *ob, pid_t tid, bool runnable)
{
    /* Its entry, made now unless the program followed it first (the
     * thread switched out since it was followed: its wait is the
     * program's), spilled: only the program takes slots (atomically). */
    uint32_t key = (uint32_t)tid;
    if (ob->slots && __atomic_load_n(&ob->slots[key & (ob->nslots - 1)].tid, __ATOMIC_ACQUIRE) == key)
        return false;
    size_t size = bpf_map__value_size(ob->skel->maps.waits);
    struct ig_offbpf_thread *t = ig_xcalloc(1, size);
    t->flags = IG_OFFBPF_T_PRESUMED | IG_OFFBPF_T_SPILLED | (runnable ? IG_OFFBPF_T_PRESUMED_RUNNABLE : 0);
    __atomic_store_n(&ob->skel->bss->spilled, 1, __ATOMIC_RELEASE);
    bool made = bpf_map__update_elem(ob->skel->maps.waits, &key, sizeof key, t, size, BPF_NOEXIST) == 0;
    free(t);
    return made;
}

/* Sums the counters of the threads alive (their entries in `waits`; the
 * program adds a thread's own to the per-CPU ones at its exit). */
void ig_offbpf_stats_refresh(ig_offbpf *ob)
{
    uint64_t *sum = ob->thread_sums;
    memset(ob->thread_sums, 0, sizeof ob->thread_sums);
    enum { BATCH = 256 };
    size_t size = bpf_map__value_size(ob->skel->maps.waits);
    int fd = bpf_map__fd(ob->skel->maps.waits);
    uint32_t keys[BATCH], in = 0, out = 0;
    char *values = ig_xmalloc(size * BATCH);
    bool first = true, more = true;
    while (more) {
        uint32_t n = BATCH;
        int rc = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, values, &n, NULL);
        more = rc == 0;
        if (rc != 0 && errno != ENOENT)
            break;
        for (uint32_t i = 0; i < n; i++) {
            const struct ig_offbpf_thread *t = (const void *)(values + (size_t)i * size);
            if (!(t->flags & IG_OFFBPF_T_SPILLED))
                continue; /* its state is in its slot */
            sum[IG_OFFBPF_ST_SEEN] += t->seen;
            sum[IG_OFFBPF_ST_OFF_NS] += t->off_ns;
            sum[IG_OFFBPF_ST_SAMPLED_OUT] += t->sampled_out;
        }
        in = out;
        first = false;
    }
    free(values);
    for (uint32_t i = 0; ob->slots && i < ob->nslots; i++) {
        const struct ig_offbpf_thread *t = &ob->slots[i];
        if (!__atomic_load_n(&t->tid, __ATOMIC_RELAXED))
            continue;
        sum[IG_OFFBPF_ST_SEEN] += __atomic_load_n(&t->seen, __ATOMIC_RELAXED);
        sum[IG_OFFBPF_ST_OFF_NS] += __atomic_load_n(&t->off_ns, __ATOMIC_RELAXED);
        sum[IG_OFFBPF_ST_SAMPLED_OUT] += __atomic_load_n(&t->sampled_out, __ATOMIC_RELAXED);
    }
}

int ig_offbpf_add_span_process(ig_offbpf *ob, pid_t pid, ig_err *err)
{
    struct ig_spanbpf_proc p;
    if (ig_spanbpf_proc_entry(pid, &p, err) != 0)
        return -1;
    return ig_offbpf_add_span_entry(ob, pid, &p, err);
}

int ig_offbpf_add_span_entry(ig_offbpf *ob, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err)
{
    struct ig_spanbpf_proc p = *e;
    uint32_t key = (uint32_t)pid;
    if (bpf_map__update_elem(ob->skel->maps.procs, &key, sizeof key, &p, sizeof p, BPF_ANY) != 0)
        return ig_err_set(err, "process %d: off-CPU waits get no span labels: %s", (int)pid, strerror(errno));
    return 0;
}

void ig_offbpf_remove_span_process(ig_offbpf *ob, pid_t pid)
{
    uint32_t key = (uint32_t)pid;
    bpf_map__delete_elem(ob->skel->maps.procs, &key, sizeof key, 0);
}

size_t ig_offbpf_drain(ig_offbpf *ob, void (*cb)(void *ctx, const ig_offbpf_event *e), void *ctx)
{
    ob->cb = cb;
    ob->cb_ctx = ctx;
    ob->delivered = 0;
    struct epoll_event ev;
    while (epoll_wait(ob->wake_fd, &ev, 1, 0) > 0) /* the wake-up, taken before what woke it */
        ;
    /* Everything written before the drain, also behind a record another
     * thread's write_wait (preemptible) has not committed yet. */
    ig_bpf_ring_consume_all(ob->rb, ob->rpos);
    ob->cb = NULL;
    return ob->delivered;
}

int ig_offbpf_wake_fd(const ig_offbpf *ob) { return ob->wake_fd; }
int ig_offbpf_follow_fd(const ig_offbpf *ob)
{
    return ob->skel->rodata->everyone ? -1 : bpf_map__fd(ob->skel->maps.follow);
}
int ig_offbpf_cpu_filter_fd(const ig_offbpf *ob)
{
    return ob->skel->rodata->everyone ? -1 : bpf_program__fd(ob->skel->progs.ig_offcpu_cpu_filter);
}

static uint64_t prog_ns(const struct bpf_program *p)
{
    struct bpf_prog_info info;
    uint32_t len = sizeof info;
    memset(&info, 0, sizeof info);
    return bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0 ? info.run_time_ns : 0;
}

void ig_offbpf_stats_get(const ig_offbpf *ob, ig_offbpf_stats *out)
{
    uint64_t sum[IG_OFFBPF_ST_COUNT];
    ig_bpf_percpu_sums(ob->skel->maps.offcpu_stats, ob->ncpus, sum, IG_OFFBPF_ST_COUNT);
    for (int i = 0; i < IG_OFFBPF_ST_COUNT; i++)
        sum[i] += ob->thread_sums[i];
    *out = (ig_offbpf_stats){.seen = sum[IG_OFFBPF_ST_SEEN],
                             .off_ns = sum[IG_OFFBPF_ST_OFF_NS],
                             .recorded = sum[IG_OFFBPF_ST_RECORDED],
                             .sampled_out = sum[IG_OFFBPF_ST_SAMPLED_OUT],
                             .below_min = sum[IG_OFFBPF_ST_BELOW_MIN],
                             .dropped = sum[IG_OFFBPF_ST_DROPPED],
                             .mismatch = sum[IG_OFFBPF_ST_MISMATCH],
                             .exits = sum[IG_OFFBPF_ST_EXITS],
                             .late_in = sum[IG_OFFBPF_ST_LATE_IN],
                             .late_ns = sum[IG_OFFBPF_ST_LATE_NS],
                             .value_ns = sum[IG_OFFBPF_ST_VALUE_NS]};
    out->prog_ns = prog_ns(ob->skel->progs.ig_offcpu_switch) +
                   prog_ns(ob->skel->progs.ig_offcpu_exit) + prog_ns(ob->skel->progs.ig_offcpu_fork) +
                   prog_ns(ob->skel->progs.ig_offcpu_exec);
    /* The task works that write the chosen waits run outside the programs'
     * counting (a callback the kernel calls): their own clock. */
    if (ob->stats_fd >= 0)
        out->prog_ns += sum[IG_OFFBPF_ST_WORK_NS];
}

#else /* no BPF program in this build */

struct ig_offbpf {
    int unused;
};

ig_offbpf *ig_offbpf_new(const ig_offbpf_opts *o, ig_err *err)
{
    (void)o;
    ig_err_set(err, "off-CPU BPF: this build has no off-CPU program (x86-64 only)");
    return NULL;
}
void ig_offbpf_free(ig_offbpf *ob) { free(ob); }
int ig_offbpf_follow(ig_offbpf *ob, pid_t pid, bool at_exec, ig_err *err)
{
    (void)ob, (void)at_exec;
    return ig_err_set(err, "process %d: no off-CPU program in this build", (int)pid);
}
void ig_offbpf_unfollow(ig_offbpf *ob, pid_t pid) { (void)ob, (void)pid; }
int ig_offbpf_add_span_process(ig_offbpf *ob, pid_t pid, ig_err *err)
{
    (void)ob;
    return ig_err_set(err, "process %d: no off-CPU program in this build", (int)pid);
}
void ig_offbpf_remove_span_process(ig_offbpf *ob, pid_t pid) { (void)ob, (void)pid; }
int ig_offbpf_add_span_entry(ig_offbpf *ob, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err)
{
    (void)ob, (void)e;
    return ig_err_set(err, "process %d: no off-CPU program in this build", (int)pid);
}
bool ig_offbpf_presume_waiting(ig_offbpf *ob, pid_t tid, bool runnable)
{
    (void)ob, (void)tid, (void)runnable;
    return false;
}
size_t ig_offbpf_drain(ig_offbpf *ob, void (*cb)(void *ctx, const ig_offbpf_event *e), void *ctx)
{
    (void)ob, (void)cb, (void)ctx;
    return 0;
}
int ig_offbpf_wake_fd(const ig_offbpf *ob)
{
    (void)ob;
    return -1;
}
void ig_offbpf_stats_get(const ig_offbpf *ob, ig_offbpf_stats *out)
{
    (void)ob;
    memset(out, 0, sizeof *out);
}
void ig_offbpf_stats_refresh(ig_offbpf *ob) { (void)ob; }
int ig_offbpf_follow_fd(const ig_offbpf *ob)
{
    (void)ob;
    return -1;
}
int ig_offbpf_cpu_filter_fd(const ig_offbpf *ob)
{
    (void)ob;
    return -1;
}

#endif
