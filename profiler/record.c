/*
 * profiler/record.c — the sampling engine: events, threads, processes and
 * the path from a perf sample to a profile sample.
 *
 * Design.  Every thread of a target gets one cpu-clock event with
 * `inherit` set, so threads (and processes) it creates later are sampled
 * from their first instruction, into the creating event's ring, without
 * new file descriptors.  Threads that existed before attach are found in
 * /proc/PID/task, rescanned after 100 ms in case one was created between
 * the scan and the attach of its creator (then at doubling intervals up to
 * 1.6 s while nothing new turns up: after attach every new thread is
 * inherited, and each scan costs syscalls); a thread that then turns out to
 * be inherited (its FORK record arrives) has its direct event closed, so
 * nothing is counted twice.  The kernel reports POLLHUP on an event only
 * when its thread and all inheriting children have exited: then the ring
 * is drained and the fd closed, which is why thousands of short-lived
 * threads leak nothing.  The recorder sleeps on a pidfd per target rather
 * than on those event fds (see rebuild_pollfds), and checks them for
 * hang-ups after each drain.
 *
 * A sample flows: parse (pointers into the ring) -> unwind the copied user
 * stack (unwind.c) -> map each address to a profile location through a
 * per-process cache (address -> location id), symbolizing on a miss
 * (symbols.h) -> intern the stack -> add (1 sample, period ns) under the
 * thread's cached label set.  In steady state a sample costs the unwind
 * plus a few hash lookups; nothing is allocated.
 *
 * Records are handled in time order across the rings (see drain_all): a
 * process's FORK, its EXEC (COMM) and MMAP2 records and its samples land in
 * the rings of whichever CPUs it ran on, and a sample handled before them
 * would be named with its parent's program.
 *
 * A -p process with many more threads than CPUs is sampled with one event
 * per CPU instead, where permitted (see try_per_cpu): the kernel samples
 * threads that take turns on a CPU poorly, and attaching hundreds of them
 * took longer than the record and could exhaust the file descriptors.
 * Those events sample every thread on the CPU; records of processes that
 * are not followed are dropped (on the BPF off-CPU engine, which opens its
 * events per CPU whatever the thread count, a program on each sampling
 * event drops other processes' samples in the kernel: wants_per_cpu).
 * What cannot be sampled (threads not
 * attached, throttling, lost records) is counted, and the targets' CPU
 * time is measured beside what the samples account for, for the summary.
 *
 * Span labels (opts.span_labels): a BPF program on the cpu-clock events
 * reads, at each sample, the OTEP 4947 record of the sampled thread of a
 * followed process (profiler/spanbpf.h has the contract this file keeps:
 * attach before enabling, drain the program's events after ig_ring_begin
 * of every ring, join them per CPU in time order).  A process is followed
 * once it publishes its context (OTEP 4719): in a program's first moments
 * (launch, -p attach, exec) by the span finder thread every 2 ms (a
 * service opens spans right after it publishes, and the recorder's thread
 * can be busy with the program's first samples), then at growing intervals
 * (2 ms to 256 ms for a target; to 1 s for a process the targets started,
 * given up after about 2 s: thousands of children must not cost a /proc
 * read each per second).  A target whose image links a publishing SDK
 * (defines otel_thread_ctx_v1) stays in its first moments for up to 10 s,
 * looked at every 2 ms once its address space changed (a service's own
 * start before its tracer provider: 300 ms of it left 2-12% of its first
 * spans' samples unlabelled).  The finder puts a process it finds in the
 * off-CPU program's map too, so waits are labelled from then on, not from
 * the recorder's next drain.  Samples taken before their process was followed
 * count as not told, never as outside a span.  If BPF cannot load, nothing is labelled
 * and a process that publishes gets a one-line note saying why; a sample
 * whose span cannot be told stays unlabelled, never wrongly labelled.
 * Off-CPU intervals (--off-cpu, --wall) carry the span their thread was in
 * when it switched out: the program's sched:sched_switch half writes, for a
 * thread of a followed process, the record it reads at the switch-out just
 * before the kernel writes the switch-out sample of the same tracepoint hit,
 * and ig_spanjoin_take_switch() gives each switch-out sample that event (the
 * CPU's last before the sample, same thread, nothing lost in between) or
 * none.  Only samples of a process followed since before the sample are
 * asked (the program writes nothing for others).  With the context-switches
 * event instead of the tracepoint, intervals stay unlabelled (a note says so).
 *
 * Off-CPU and wall profiles have two engines: the BPF one (profiler/offbpf.h,
 * each wait drawn at its end, its events merged in time order with the
 * perf rings, which then carry side-band records only; see "the BPF
 * engine" below), and the perf sched_switch events as its fallback.
 *
 * System-wide (-a) is the per-CPU mode with every process followed: the
 * processes running at start are read from /proc (or the --cgroup's
 * cgroup.procs), later ones come with their FORK, COMM and MMAP2 records,
 * so a process that lived 50 ms is named and symbolized from what the
 * records told after it is gone; its EXIT record prunes it (records are
 * handled in time order, so its samples were resolved before).  See the
 * "system-wide" section below.
 *
 * Profile ids are only valid in the profile they were made in; each
 * ig_recorder_take_profile() bumps a generation number and every cached
 * id carries the generation it belongs to.
 */
#include "profiler/record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exporters/pbarena.h"
#include "profiler/offbpf.h"
#include "profiler/offcpu.h"
#include "profiler/perf.h"
#include "profiler/procmap.h"
#include "profiler/sched_switch.h"
#include "profiler/spanbpf.h"
#include "profiler/spanctx.h"
#include "profiler/symbols.h"
#include "profiler/syswide.h"
#include "profiler/u64map.h"
#include "profiler/unwind.h"
#include "profile/truncated.h"
#include "utils/strbuf.h"

#define MAX_FRAMES 512
#define MAX_KERNEL_FRAMES 128
#define RESCAN_NS 100000000LL     /* first thread rescan period ... */
#define RESCAN_MAX_NS 1600000000LL /* ... doubling up to this while nothing new turns up */
#define MAPS_RESCAN_NS 20000000LL /* at most one /proc/PID/maps reload per 20 ms */
#define RETURN_BIT (1ULL << 63)
#define REORDER_MAX_NS 20000000ULL /* records this recent wait for the next drain (see drain_all) */
#define FUTURE_NS 1000000000ULL   /* a stamp further ahead than this is not our clock's */
#define PER_CPU_THREADS_PER_CPU 4  /* more threads than this per CPU: one event per CPU */
#define SPAN_RETRY_MIN_NS 2000000LL    /* a process not publishing yet: looked at again */
#define SPAN_RETRY_MAX_NS 1000000000LL /* ... at doubling intervals up to this */
/* A look reads /proc/PID/maps (0.2-0.4 ms for a small process, holding
 * its mmap lock; far more for a large one): every 2 ms for 1 s, and for
 * 10 s when no sample came (--off-cpu), cost a recording 190 ms of CPU in
 * its first 3 s, and a wake-up of each recorder thread every 2 ms, beside
 * a ping-pong's threads on 2 CPUs. */
#define SPAN_EAGER_NS 200000000LL      /* ... but every SPAN_RETRY_MIN_NS this long after its start or exec */
#define SPAN_EAGER_SAMPLES 50          /* ... or until it has had this many samples (a loaded machine) */
#define SPAN_EAGER_MAX_NS 1000000000LL /* ... within this long */
#define SPAN_RETRY_TARGET_NS 256000000LL /* ... and up to this for a target process, never giving up */
/* A target whose image defines otel_thread_ctx_v1 (it links libignis)
 * but publishes nothing yet is still in its start, which may take
 * seconds before its tracer provider exists: looked at every
 * SPAN_RETRY_MIN_NS for this long after it started, each look only once
 * its address space changed (vsize of /proc/PID/stat, ~15 us: publishing
 * maps OTEL_CTX), so a service that never publishes costs little. */
#define SPAN_LINKED_NS 10000000000LL
#define FD_RESERVE_MIN 64         /* descriptors kept from events (a quarter of the limit, at least
                                   * this) for the files the symbolizer holds, pidfds, the output */

typedef struct event {
    int fd;
    pid_t tid;            /* -1: a CPU-wide event */
    bool doomed;          /* its thread turned out to be inherited: close */
    bool command_cpu;     /* a cpu-clock event of the launched command: its count is the tree's CPU */
} event;

typedef struct thread {
    pid_t tid, pid;
    char comm[17];
    bool sampled;
    bool dead;
    bool direct;          /* has events of its own (not only inherited) */
    uint32_t labels, labels_gen;
    uint32_t root, root_gen;
    /* the last label set with a state (off-CPU, wall), and what it holds */
    uint32_t slabels, slabels_gen;
    const char *slabels_state;
    uint64_t slabels_wchan;
} thread;

typedef struct proc {
    pid_t pid;
    ig_maps maps;
    ig_unwinder *unw;
    ig_u64map locs;       /* address (| RETURN_BIT) -> location id */
    uint32_t locs_gen;
    int64_t maps_loaded_ns;
    bool maps_stale;
    bool exited;          /* gone (pidfd, kill), or it may be gone */
    bool target;          /* a -p process or the launched command: its CPU is measured */
    bool sampled;         /* a sample of it came (-a: only then is its span context looked for) */
    bool gone;            /* -a: not in /proc at the last sweep (sweep_gone) */
    bool cpu_unknown;     /* it vanished before its CPU time could be read */
    uint64_t cpu_base_ns, cpu_seen_ns; /* its CPU time when attached, when last read */
    enum { SPAN_LOOK, SPAN_FOLLOWED, SPAN_DONE } span; /* span labels: looking for its context, ... */
    int64_t span_next_ns, span_backoff_ns;             /* ... the next look, and the interval */
    uint64_t span_found_ns;                            /* ... when it was found publishing */
    uint64_t span_since_ns; /* ... when the program began following it (samples before: unlabelled) */
    uint64_t span_image_ns; /* ... when its program started (launch, exec; 0: before the recording) */
    uint64_t span_early;    /* ... its samples while looking: not told, once it is followed */
    uint64_t span_early_sw; /* ... its switch-outs (waits) while looking: likewise */
    uint64_t span_ob_since_ns; /* ... when the off-CPU program began labelling its waits */
    bool span_finding;      /* ... handed to the finder thread (span_finder) */
    int8_t span_links;      /* ... its image defines otel_thread_ctx_v1: 1, -1 not, 0 not known yet */
    /* the image before its last exec, kept for the samples taken inside
     * execve after the switch (see exec_image), and that exec's time */
    struct proc *old_image;
    uint64_t exec_ns;
} proc;

/* A ring's oldest record not handled yet, in the merge of the rings. */
typedef struct ring_front {
    uint64_t time;
    size_t ring;
    const struct perf_event_header *h;
} ring_front;

struct ig_recorder {
    ig_record_opts o;
    ig_perf_opts popts;   /* the cpu-clock events */
    size_t ring_pages;    /* ... and their rings' size */
    ig_perf_opts swopts;  /* the switch events (off-CPU, wall) */
    size_t sw_ring_pages;
    bool cpu_events, switch_events;
    ig_sched_switch_fmt ssfmt; /* swopts.kind IG_PERF_SCHED_SWITCH: its raw data */
    ig_offcpu *oc;        /* open off-CPU intervals */
    ig_offbpf *ob;        /* the BPF engine (NULL: the perf switch events) */
    uint64_t ob_stats_at; /* when its threads' counters were last read (offbpf_stats) */
    struct pending_wait **pend; /* its events not handled yet, [pend_first, npend) by time */
    size_t pend_first, npend, cap_pend;
    int vi_cpu, vi_off, vi_wall; /* value indices (-1 absent); samples is 0 */
    size_t nvalues;
    uint64_t last_time;   /* the latest record time handled */
    uint32_t waiting_loc, waiting_gen; /* WAITING_FRAME's location (gen + 1) */
    bool all;             /* -a: labels pid and process; processes pruned at exit */
    bool everyone;        /* -a without -p: every process is followed */
    pid_t self;           /* never followed */
    size_t max_modules;   /* -a: module files kept before the caches are rebuilt (trim_caches) */
    size_t cache_budget;  /* -a: heap bytes the caches may grow by before they are rebuilt ... */
    size_t heap_base;     /* ... over the heap in use after the last rebuild (or the attach) */
    bool follow;
    struct span_finder *finder; /* looks for new programs' span contexts on its own thread */

    ig_ring *rings;       /* one per CPU and kind, owned by a dummy sink event */
    int *ring_cpu;
    ig_perf_kind *ring_kind;
    size_t nrings;
    ring_front *fronts;   /* min-heap by time, one entry per ring (drain_all) */
    uint64_t reorder_ns;  /* how recent a record must be to wait for the next drain */
    bool per_cpu;         /* CPU-wide events: only followed processes' records count */
    event *events;        /* per (thread, CPU), redirected into the rings */
    size_t nevents, cap_events;
    struct pollfd *pfds;  /* what the recorder sleeps on (see rebuild_pollfds) */
    size_t npfds;
    bool pfds_dirty;
    int perfmap_watch;    /* inotify on the perf map folder, or -1 (see watch_perfmaps) */
    struct pollfd *hup_pfds; /* every event, polled for hang-ups after a drain */
    pid_t cmd_pgid;       /* the launched command's own process group, or 0 (see launch) */
    uint64_t cmd_cpu_closed_ns; /* counts of the command's cpu-clock events already closed */
    uint64_t cmd_rusage_ns;     /* the reaped command's rusage: user + system time, ns */
    int *pidfds;          /* one per target process (or --tid thread); -1 once it fired */
    size_t npidfds;
    bool wait_pidfds;     /* sleep on the pidfds rather than the event fds */

    thread *threads;
    size_t nthreads, cap_threads;
    ig_u64map tid_index;  /* tid -> index + 1 */
    ig_u64map dead_tids;  /* tids that could not be attached (gone) */
    ig_u64map failed_tids;/* tids that could not be attached (still there) */

    proc **procs;
    size_t nprocs, cap_procs;
    ig_u64map pid_index;  /* pid -> index + 1 */

    ig_modcache mods;
    ig_symtab *sym;

    ignis_profile *prof;
    uint32_t gen;
    ig_u64map kern_locs;
    uint32_t kern_gen;
    int64_t prof_start_real, prof_start_mono;
    int64_t last_scan;
    int64_t last_sweep;   /* -a: the last sweep_gone (monotonic ns) */
    int64_t rescan_ns;    /* current rescan period (backs off, see poll) */
    struct rlimit nofile_saved; /* restored for a launched command */
    bool nofile_raised;
    size_t max_events;    /* file descriptors events may take (see event_budget) */

    ig_spanbpf *sb;       /* span labels: the program, NULL when off or not loadable */
    ig_spanjoin *join;    /* ... its events waiting for their samples */
    ig_spanjoin *swjoin;  /* ... the sched_switch half's, waiting for switch-out samples (NULL: not labelled) */
    char span_err[512];   /* ... why it is not loaded */
    char sw_span_err[600]; /* ... why off-CPU intervals are not labelled */

    uint64_t ips[MAX_KERNEL_FRAMES + MAX_FRAMES];       /* kernel frames, then user frames */
    uint32_t stack[MAX_FRAMES + MAX_KERNEL_FRAMES + 2]; /* + [truncated] + thread */
    ig_record_stats st;
};

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- profiles ------------------------------------------------------------ */

/* The values of a profile: samples/count, then cpu/ns (CPU profiles),
 * off_cpu/ns (off-CPU) or cpu, off_cpu and wall (wall-clock), the last
 * one the default.  The same layout in every profile of a recorder. */
static ignis_profile *new_profile(ig_recorder *r)
{
    ignis_profile *p = ignis_profile_new();
    if (!p) {
        fprintf(stderr, "ignis: out of memory\n");
        abort();
    }
    r->vi_cpu = r->vi_off = r->vi_wall = -1;
    ignis_profile_add_value_type(p, "samples", "count");
    if (r->cpu_events)
        r->vi_cpu = ignis_profile_add_value_type(p, "cpu", "nanoseconds");
    if (r->switch_events)
        r->vi_off = ignis_profile_add_value_type(p, "off_cpu", "nanoseconds");
    if (r->o.wall)
        r->vi_wall = ignis_profile_add_value_type(p, "wall", "nanoseconds");
    r->nvalues = ignis_profile_num_values(p);
    if (r->cpu_events)
        ignis_profile_set_period(p, "cpu", "nanoseconds", 1000000000LL / r->popts.freq);
    ignis_profile_set_default_sample_type(p, r->o.wall ? "wall" : r->switch_events ? "off_cpu" : "cpu");
    r->prof_start_real = now_ns(CLOCK_REALTIME);
    r->prof_start_mono = now_ns(CLOCK_MONOTONIC);
    return p;
}

static void drain_all(ig_recorder *r, bool flush);
static void add_interval(const ig_offcpu_interval *iv, void *ctx);

/* The time up to which the records are in: now, on the records' clock
 * (CLOCK_MONOTONIC), or the latest record's time on a kernel without it. */
static uint64_t records_now(const ig_recorder *r)
{
    uint64_t now = (uint64_t)now_ns(CLOCK_MONOTONIC);
    return r->popts.mono_clock ? (now > r->last_time ? now : r->last_time) : r->last_time;
}
static void trim_caches(ig_recorder *r);
static void sweep_gone(ig_recorder *r, bool flushed);

ignis_profile *ig_recorder_take_profile(ig_recorder *r)
{
    drain_all(r, true); /* everything written so far belongs to this profile */
    if (r->oc) /* threads off the CPU now: their time so far is this profile's */
        ig_offcpu_split_all(r->oc, records_now(r), add_interval, r);
    ignis_profile *p = r->prof;
    ignis_profile_set_time(p, r->prof_start_real, now_ns(CLOCK_MONOTONIC) - r->prof_start_mono);
    r->prof = new_profile(r);
    r->gen++;
    sweep_gone(r, true);
    trim_caches(r);
    return p;
}

const ig_record_stats *ig_recorder_stats(const ig_recorder *r)
{
    return &r->st;
}

/* ---- threads and processes ----------------------------------------------- */

static void read_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, len - 1);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
    }
    if (!buf[0])
        snprintf(buf, len, "%d", (int)tid);
}

static thread *find_thread(ig_recorder *r, pid_t tid)
{
    uint64_t i;
    return ig_u64map_get(&r->tid_index, (uint64_t)tid, &i) ? &r->threads[i - 1] : NULL;
}

/* The thread, created if new with `comm` as its name (NULL: read it from
 * /proc, or the tid when it is gone). */
static thread *get_thread_named(ig_recorder *r, pid_t pid, pid_t tid, const char *comm)
{
    thread *t = find_thread(r, tid);
    if (t)
        return t;
    if (r->nthreads == r->cap_threads) {
        r->cap_threads = r->cap_threads ? r->cap_threads * 2 : 64;
        r->threads = ig_xrealloc(r->threads, r->cap_threads * sizeof *r->threads);
    }
    t = &r->threads[r->nthreads++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->pid = pid;
    t->labels_gen = t->root_gen = UINT32_MAX;
    if (comm)
        snprintf(t->comm, sizeof t->comm, "%s", comm);
    else
        read_comm(pid, tid, t->comm, sizeof t->comm);
    ig_u64map_put(&r->tid_index, (uint64_t)tid, r->nthreads);
    return t;
}

static thread *get_thread(ig_recorder *r, pid_t pid, pid_t tid)
{
    return get_thread_named(r, pid, tid, NULL);
}

static proc *find_proc(ig_recorder *r, pid_t pid)
{
    uint64_t i;
    return ig_u64map_get(&r->pid_index, (uint64_t)pid, &i) ? r->procs[i - 1] : NULL;
}

static void hold_module_files(ig_recorder *r, const ig_maps *maps);

static proc *get_proc(ig_recorder *r, pid_t pid, const proc *parent)
{
    proc *p = find_proc(r, pid);
    if (p)
        return p;
    p = ig_xcalloc(1, sizeof *p);
    p->pid = pid;
    if (parent)
        ig_maps_copy(&p->maps, &parent->maps);
    else if (ig_maps_load(&p->maps, &r->mods, pid) == 0)
        hold_module_files(r, &p->maps);
    p->maps_loaded_ns = now_ns(CLOCK_MONOTONIC);
    ig_symtab_perfmap_hold(r->sym, pid); /* a JIT's map, if it has one yet */
    if (r->nprocs == r->cap_procs) {
        r->cap_procs = r->cap_procs ? r->cap_procs * 2 : 8;
        r->procs = ig_xrealloc(r->procs, r->cap_procs * sizeof *r->procs);
    }
    r->procs[r->nprocs++] = p;
    ig_u64map_put(&r->pid_index, (uint64_t)pid, r->nprocs);
    r->st.procs = r->nprocs;
    r->st.procs_seen++;
    return p;
}

/* Maps changed under cached addresses: forget unwind state and locations. */
static void proc_invalidate(proc *p)
{
    if (p->unw)
        ig_unwinder_flush(p->unw);
    ig_u64map_clear(&p->locs);
}

static void proc_reload_maps(ig_recorder *r, proc *p)
{
    if (ig_maps_load(&p->maps, &r->mods, p->pid) == 0)
        hold_module_files(r, &p->maps);
    p->maps_loaded_ns = now_ns(CLOCK_MONOTONIC);
    p->maps_stale = false;
    proc_invalidate(p);
    r->st.maps_reloads++;
}

/* ---- system-wide (-a) ----------------------------------------------------------
 *
 * Every process is followed: a record of an unknown one (it ran before
 * the recorder and was not in the start list, or its FORK was lost) makes
 * it known from /proc.  Processes and threads are pruned at their EXIT
 * record: the drain handles records in time order, so every sample taken
 * before it has been symbolized into the profile by then, and the table
 * holds only what is alive.  Modules (mmapped ELF files) and the
 * symbolizer's caches outlive processes, so between profiles they are
 * dropped once they exceed SYSWIDE_MAX_MODULES files ($IGNIS_MAX_MODULES
 * overrides it, for tests) or the heap grew SYSWIDE_CACHE_BUDGET_MB since
 * the last rebuild ($IGNIS_CACHE_BUDGET_MB); a live process reads its /proc maps again at
 * its next sample (trim_caches), so a trim costs what is sampled next: a
 * machine that runs ever new binaries for days keeps a bounded footprint. */
#define SYSWIDE_MAX_MODULES 1024
#define SYSWIDE_CACHE_BUDGET_MB 48 /* heap growth past the last rebuild */

/* The process of a record in everyone mode: found or made known now; NULL
 * for the idle task and the recorder itself. */
static proc *everyone_proc(ig_recorder *r, pid_t pid)
{
    if (pid <= 0 || pid == r->self)
        return NULL;
    proc *p = find_proc(r, pid);
    if (!p) {
        p = get_proc(r, pid, NULL);
        get_thread(r, pid, pid); /* its name, for the process label */
    }
    return p;
}

static void free_proc(proc *p)
{
    if (p->old_image)
        free_proc(p->old_image);
    ig_unwinder_free(p->unw);
    ig_maps_clear(&p->maps);
    ig_u64map_clear(&p->locs);
    free(p);
}

static void forget_thread(ig_recorder *r, pid_t tid)
{
    uint64_t i;
    if (!ig_u64map_get(&r->tid_index, (uint64_t)tid, &i))
        return;
    ig_u64map_del(&r->tid_index, (uint64_t)tid);
    if (--r->nthreads != i - 1) { /* the last one takes its slot */
        r->threads[i - 1] = r->threads[r->nthreads];
        ig_u64map_put(&r->tid_index, (uint64_t)r->threads[i - 1].tid, i);
    }
}

static void forget_proc(ig_recorder *r, pid_t pid)
{
    uint64_t i;
    if (!ig_u64map_get(&r->pid_index, (uint64_t)pid, &i))
        return;
    ig_u64map_del(&r->pid_index, (uint64_t)pid);
    free_proc(r->procs[i - 1]);
    if (--r->nprocs != i - 1) {
        r->procs[i - 1] = r->procs[r->nprocs];
        ig_u64map_put(&r->pid_index, (uint64_t)r->procs[i - 1]->pid, i);
    }
    r->st.procs = r->nprocs;
}

/* A thread exited; with it its process when it is the main thread (a
 * process whose main thread ends first comes back from /proc if more of
 * its threads are sampled). */
static void prune_exited(ig_recorder *r, pid_t pid, pid_t tid)
{
    forget_thread(r, tid);
    if (pid == tid)
        forget_proc(r, pid);
}

/* With -a, a process whose EXIT record was lost (a full ring) would stay
 * in the table for good: the table is swept for processes gone from /proc.
 * After a flush (a profile handed over) every record they wrote has been
 * handled, so they go at once; between flushes, records may still wait in
 * the rings, so a process goes when it was already gone at the previous
 * sweep (SWEEP_NS earlier, more than a drain period). */
#define SWEEP_NS 10000000000LL

static void span_exit(ig_recorder *r, pid_t pid);
static void finder_start(ig_recorder *r);
static void finder_stop(ig_recorder *r);
static proc *exec_image(proc *p, const ig_perf_sample *s);

static void sweep_gone(ig_recorder *r, bool flushed)
{
    if (!r->all)
        return;
    r->last_sweep = now_ns(CLOCK_MONOTONIC);
    for (size_t i = r->nprocs; i-- > 0;) {
        proc *p = r->procs[i];
        if (kill(p->pid, 0) == 0 || errno != ESRCH) {
            p->gone = false;
            continue;
        }
        if (!flushed && !p->gone) {
            p->gone = true;
            continue;
        }
        pid_t pid = p->pid;
        span_exit(r, pid);
        for (size_t k = r->nthreads; k-- > 0;)
            if (r->threads[k].pid == pid)
                forget_thread(r, r->threads[k].tid);
        forget_proc(r, pid); /* the last proc takes slot i: already looked at */
        r->st.procs_swept++;
    }
}

/* Heap bytes in use (0 where malloc does not say, as under ASan). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Drops every module and symbol cache when they grew past the limits (the
 * files, or the heap: a few programs with big debug information, the
 * compilers of a busy build machine, grew a 19 Hz agent from 170 to 390 MB
 * in 10 minutes under 1024 files); each process reads its /proc maps again
 * when it is next sampled. */
static void trim_caches(ig_recorder *r)
{
    if (!r->all)
        return;
    bool heap_over = r->cache_budget && heap_in_use() > r->heap_base + r->cache_budget;
    if (r->mods.n <= r->max_modules && !heap_over)
        return;
    for (size_t i = 0; i < r->nprocs; i++) {
        ig_maps_clear(&r->procs[i]->maps); /* before the modules they point to go */
        if (r->procs[i]->old_image) { /* its maps too */
            free_proc(r->procs[i]->old_image);
            r->procs[i]->old_image = NULL;
        }
        proc_invalidate(r->procs[i]);
        r->procs[i]->maps_stale = true; /* read again at its next sample, and only then */
    }
    ig_modcache_free(&r->mods);
    ig_symtab_free(r->sym);
    r->sym = ig_symtab_new();
    ig_symtab_set_cache_dir(r->sym, r->o.cache_dir);
    for (size_t i = 0; i < r->nprocs; i++)
        ig_symtab_perfmap_hold(r->sym, r->procs[i]->pid);
    r->st.cache_trims++;
    malloc_trim(0); /* give the freed pages back: RSS is what is measured */
    r->heap_base = heap_in_use();
}

/* ---- how much of the targets' CPU time was sampled ----------------------------
 *
 * The kernel can sample less than a thread runs without saying so (per-thread
 * cpu-clock events of hundreds of threads sharing few CPUs), so the summary
 * compares what the samples account for with the CPU time the targets used
 * while recorded: utime + stime of /proc/PID/stat before their events
 * opened and as each drain begins, so a drain that takes long (a cold
 * symbol cache on a busy machine) does not count CPU time it could not
 * sample.  A -p target's samples count (its threads, not processes it
 * started).  A launched command's whole tree counts: the counts of its
 * cpu-clock events, which every process and thread it starts inherits, so
 * they sum the CPU time of the tree since the exec (the kernel folds an
 * exited child's count into its parent event's), including processes the
 * command never waited for, which its rusage would leave out.  Sampled
 * with CPU-wide events (the BPF engine's --wall), it has no event of its
 * own (one would cost its every context switch): its rusage, and
 * /proc/PID/stat's with the children it reaped while it runs
 * (command_tree_ns). */

/* The fields of /proc/PID/stat after the name (the state first), read
 * into buf; NULL (errno set) if it cannot be read. */
static const char *proc_stat_fields(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, size - 1);
    int saved = n < 0 ? errno : EIO;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *end = strrchr(buf, ')'); /* the name may hold anything */
    errno = saved;
    return end ? end + 1 : NULL;
}

/* pid's CPU time (utime + stime), with children: that of the children it
 * reaped too (cutime + cstime). */
static bool read_cpu_time(pid_t pid, bool children, uint64_t *ns)
{
    char buf[1024];
    const char *p = proc_stat_fields(pid, buf, sizeof buf);
    unsigned long long utime, stime, cutime = 0, cstime = 0;
    if (!p || sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &utime, &stime,
                     &cutime, &cstime) < 2)
        return false;
    unsigned long long ticks = utime + stime + (children ? cutime + cstime : 0);
    long hz = sysconf(_SC_CLK_TCK);
    *ns = (uint64_t)ticks * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
    return true;
}

static bool read_cpu_ns(pid_t pid, uint64_t *ns) { return read_cpu_time(pid, false, ns); }

/* p's CPU time counts from base_ns, read before its first event opened. */
static void mark_target(proc *p, uint64_t base_ns)
{
    p->target = true;
    p->span_image_ns = (uint64_t)now_ns(CLOCK_MONOTONIC); /* its context is looked for eagerly (span_look) */
    p->cpu_base_ns = p->cpu_seen_ns = base_ns;
}

static uint64_t cpu_now_ns(pid_t pid)
{
    uint64_t ns;
    return read_cpu_ns(pid, &ns) ? ns : 0;
}

/* The count of a cpu-clock event (ns), children included; 0 if unread. */
static uint64_t event_count(int fd)
{
    uint64_t v;
    return read(fd, &v, sizeof v) == (ssize_t)sizeof v ? v : 0;
}

/* The launched command's tree: the counts of its cpu-clock events. */
static uint64_t command_cpu_ns(const ig_recorder *r)
{
    uint64_t ns = r->cmd_cpu_closed_ns;
    for (size_t i = 0; i < r->nevents; i++)
        if (r->events[i].command_cpu)
            ns += event_count(r->events[i].fd);
    return ns;
}

/* A launched command recorded with CPU-wide events (no cpu-clock event
 * of its own to count): its CPU time and that of the children it reaped,
 * from /proc while it runs, from its rusage once the recorder reaped it;
 * and that of the other processes of its tree still there (with the
 * children they reaped): a child's time moves into its parent's once
 * reaped, and the child leaves the count, so nothing counts twice.  A
 * process that exited and was reaped by a process outside the tree (an
 * orphan, by init) is left out from then on; the total never decreases. */
static uint64_t command_tree_ns(const ig_recorder *r, const proc *p)
{
    uint64_t ns = 0, other;
    if (r->st.child_status >= 0)
        ns = r->cmd_rusage_ns;
    else if (!read_cpu_time(p->pid, true, &ns))
        ns = 0;
    for (size_t i = 0; i < r->nprocs; i++) {
        const proc *q = r->procs[i];
        if (q != p && !q->exited && read_cpu_time(q->pid, true, &other))
            ns += other;
    }
    return ns > p->cpu_seen_ns ? ns : p->cpu_seen_ns;
}

static void update_target_cpu(ig_recorder *r)
{
    uint64_t used = 0;
    bool known = true;
    for (size_t i = 0; i < r->nprocs; i++) {
        proc *p = r->procs[i];
        if (!p->target)
            continue;
        uint64_t ns;
        if (p->pid == r->st.child && r->per_cpu)
            p->cpu_seen_ns = command_tree_ns(r, p);
        else if (p->pid == r->st.child)
            p->cpu_seen_ns = p->cpu_base_ns + command_cpu_ns(r);
        else if (read_cpu_ns(p->pid, &ns))
            p->cpu_seen_ns = ns > p->cpu_seen_ns ? ns : p->cpu_seen_ns;
        else
            p->cpu_unknown = true;
        known &= !p->cpu_unknown;
        used += p->cpu_seen_ns - p->cpu_base_ns;
    }
    r->st.target_cpu_ns = known ? used : 0;
}

/* ---- span labels (see the file comment) ---------------------------------------- */

static void span_note(ig_recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void span_note(ig_recorder *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->st.span_note, sizeof r->st.span_note, fmt, ap);
    va_end(ap);
    r->st.span_notes++;
}

static bool spans_wanted(const ig_recorder *r)
{
    return r->o.span_labels && (r->cpu_events || r->switch_events);
}

/* Loads the program before the profile starts (loading takes 0.1 s or
 * more: not recording time) and before any sampling event opens.
 * Failing is not an error: why is kept for the note of a process that
 * publishes its context. */
static bool ob_per_cpu(const ig_recorder *r);

#define SWITCH_EVENTS 65536 /* switch-out events held between drains (a switch ring holds ~2000 stacks) */

static void spans_on(ig_recorder *r)
{
    if (!spans_wanted(r))
        return;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    /* the events of all CPUs for 3 s: a drain period (2 s at most) and the hold-back */
    uint64_t events = (uint64_t)(ncpu > 0 ? ncpu : 1) * r->popts.freq * 3;
    if (events < 4096) /* the ring buffer's pages are cleared at every load: no more than needed */
        events = 4096;
    if (events > (1u << 20))
        events = 1u << 20;
    /* switch-outs: as many as the targets make; room for SWITCH_EVENTS
     * between two drains (SWITCH_DRAIN_MS), beyond that they are counted
     * and their intervals left unlabelled */
    uint64_t sw_events = r->switch_events ? SWITCH_EVENTS : 0;
    ig_spanbpf_opts so = {.ring_bytes = (size_t)(events + sw_events) * 160, .cache_dir = r->o.cache_dir,
                          .switches = r->switch_events && r->swopts.kind == IG_PERF_SCHED_SWITCH,
                          .follow_fd = r->ob ? ig_offbpf_follow_fd(r->ob) : -1};
    ig_err e;
    r->sb = ig_spanbpf_new_opts(&so, &e);
    if (!r->sb) {
        snprintf(r->span_err, sizeof r->span_err, "%s", e.msg);
        return;
    }
    r->join = ig_spanjoin_new((size_t)events);
    finder_start(r);
    if (!r->switch_events || r->ob) /* the BPF engine reads the span itself */
        return;
    if (r->swopts.kind != IG_PERF_SCHED_SWITCH) {
        snprintf(r->sw_span_err, sizeof r->sw_span_err,
                 "off-CPU intervals get no span labels: they need the sched:sched_switch tracepoint");
        return;
    }
    if (ig_spanbpf_attach_switches(r->sb, r->ssfmt.id, &e) != 0) {
        snprintf(r->sw_span_err, sizeof r->sw_span_err, "off-CPU intervals get no span labels: %s", e.msg);
        return;
    }
    r->swjoin = ig_spanjoin_new((size_t)sw_events);
}

/* Drains the program's events into the joins (sample events and switch-out
 * events each to their own), then notes each CPU's switch drop count. */
static void span_label_event(void *ctx, const ig_spanbpf_label *l)
{
    ig_recorder *r = ctx;
    if (!l->from_switch)
        ig_spanjoin_push(r->join, l);
    else if (r->swjoin)
        ig_spanjoin_push(r->swjoin, l);
}

static void spans_drain(ig_recorder *r)
{
    ig_spanbpf_drain(r->sb, span_label_event, r);
    if (!r->swjoin)
        return;
    ig_spanbpf_note_switch_drops(r->sb, r->swjoin);
}

/* Span labels are off from now on (the program could not be attached,
 * or the events are not on its clock). */
static void spans_off(ig_recorder *r, const char *why)
{
    snprintf(r->span_err, sizeof r->span_err, "%s", why);
    finder_stop(r);
    ig_spanjoin_free(r->join);
    ig_spanjoin_free(r->swjoin);
    ig_spanbpf_free(r->sb);
    r->join = r->swjoin = NULL;
    r->sb = NULL;
    if (r->st.span_procs)
        span_note(r, "span labels off from here on: %s", why);
}

/* Whether p is in its program's first moments: a program publishes its
 * context as it starts and may open spans right after, without waiting
 * for any profiler, and samples taken before the look that finds it
 * cannot be labelled.  So a launched command, a -p target or an exec'd
 * image is looked at every SPAN_RETRY_MIN_NS for SPAN_EAGER_NS after it starts, and on
 * a loaded machine (where that time may hold little of its start) until
 * it has had SPAN_EAGER_SAMPLES samples, within SPAN_EAGER_MAX_NS. */
static bool span_first_moments(const proc *p, int64_t now)
{
    if (!p->span_image_ns)
        return false;
    uint64_t age = (uint64_t)now - p->span_image_ns;
    return age < (uint64_t)SPAN_EAGER_NS ||
           (age < (uint64_t)SPAN_EAGER_MAX_NS && p->span_early + p->span_early_sw < SPAN_EAGER_SAMPLES);
}

/* ... or a target that links a publishing SDK and is still starting
 * (SPAN_LINKED_NS; span_look finds out, once its first moments are over). */
static bool span_eager(const proc *p, int64_t now)
{
    if (span_first_moments(p, now))
        return true;
    return p->span_image_ns && p->target && p->span_links > 0 &&
           (uint64_t)now - p->span_image_ns < (uint64_t)SPAN_LINKED_NS;
}

/* The interval before the next look at p, which does not publish its
 * span context yet (when the finder thread does not look): doubling, up
 * to SPAN_RETRY_TARGET_NS for a target, else up to SPAN_RETRY_MAX_NS. */
static int64_t span_retry_ns(const proc *p, int64_t now)
{
    if (span_eager(p, now))
        return SPAN_RETRY_MIN_NS;
    int64_t cap = p->target ? SPAN_RETRY_TARGET_NS : SPAN_RETRY_MAX_NS;
    int64_t next = p->span_backoff_ns ? p->span_backoff_ns * 2 : SPAN_RETRY_MIN_NS;
    return next > cap ? cap : next;
}

/* ---- the span finder thread ------------------------------------------------------
 *
 * Samples taken before a process's context is in the program's map cannot
 * be labelled, and a service opens spans right after it publishes its
 * context.  The recorder's thread can be held for hundreds of ms by the
 * first samples of a new program (its modules' symbols, its unwinder), so
 * the processes in their first moments (span_eager) are looked for on a
 * thread of their own: every SPAN_RETRY_MIN_NS, and a context found is put
 * in the program's map at once (a map update: no state shared with the
 * recorder's thread but this list).  The recorder's thread takes the result
 * at its next look (span_take_found) and does the rest (counts, notes). */
/* A process's TP offset of otel_thread_ctx_v1, found while it does not
 * publish yet (libignis is loaded at its start, its provider made later;
 * resolving parses its modules' ELF, several ms): the look that finds its
 * context then only reads the context.  Tried at one look in
 * SPAN_TLS_EVERY (the loader may not have mapped or relocated it yet). */
#define SPAN_TLS_EVERY 8
/* A gated process is looked at for this many rounds (2 ms each) after its
 * vsize changed: publishing maps OTEL_CTX, then writes its signature, and
 * a look in between (the process preempted there) finds nothing. */
#define SPAN_UNGATED_ROUNDS 64
typedef struct span_tls {
    bool known;
    int64_t offset;
    uint64_t start_stack; /* ... of the image it was resolved in (an exec makes another) */
    uint32_t tries;
} span_tls;

typedef struct span_find {
    pid_t pid;
    uint64_t gen;        /* which handing over (a pid handed again after an exec is another) */
    uint64_t until_ns;   /* looked for until then */
    uint64_t found_ns;   /* in the map since (0: not found) */
    uint64_t ob_ns;      /* in the off-CPU program's map since (0: not) */
    bool gated;          /* looked at only when its vsize changed (SPAN_LINKED_NS) */
    uint64_t vsize;      /* ... its vsize at the last look */
    uint32_t ungated;    /* ... and for this many rounds after a change */
    span_tls tls;        /* its TLS offset, resolved ahead of its context */
    bool done;           /* found, failed to be added, or past until_ns */
    char why[sizeof(ig_err){0}.msg]; /* ... when it could not be added */
} span_find;

typedef struct span_finder {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* CLOCK_MONOTONIC: a new pid, stop, or the next round */
    bool stop;
    ig_spanbpf *sb;
    ig_offbpf *ob;       /* labels waits too, from the moment it is found (NULL: none) */
    span_find *v;
    size_t n, cap;
    uint64_t gen;
} span_finder;

/* One look at pid for the finder: 1 found and added (*found_ns set; and
 * *ob_ns once in the off-CPU program's map too), 0 not publishing yet, -1
 * publishing but not added (why). */
static void resolve_tls_ahead(pid_t pid, span_tls *tls);

static int finder_look(const span_finder *f, pid_t pid, span_tls *tls, uint64_t *found_ns, uint64_t *ob_ns,
                       char *why, size_t whylen)
{
    ig_spanctx *c;
    ig_err e;
    if (ig_spanctx_open(pid, &c, &e) < 0) {
        if (!tls->known && tls->tries++ % SPAN_TLS_EVERY == 0)
            resolve_tls_ahead(pid, tls);
        return 0;
    }
    struct ig_spanbpf_proc entry;
    int rc = ig_spanbpf_proc_entry_from(pid, c, tls->known ? &tls->offset : NULL, &entry, &e);
    if (rc == 0 && tls->known && entry.start_stack != tls->start_stack) /* it exec'd since: resolve it anew */
        rc = ig_spanbpf_proc_entry_from(pid, c, NULL, &entry, &e);
    ig_spanctx_free(c);
    if (rc != 0 || ig_spanbpf_add_entry(f->sb, pid, &entry, &e) != 0) {
        snprintf(why, whylen, "%s", e.msg);
        return -1;
    }
    *found_ns = (uint64_t)now_ns(CLOCK_MONOTONIC);
    if (f->ob && ig_offbpf_add_span_entry(f->ob, pid, &entry, &e) == 0) /* else span_followed says why */
        *ob_ns = (uint64_t)now_ns(CLOCK_MONOTONIC);
    return 1;
}

/* pid's stack top (startstack of /proc/PID/stat: each exec's image has
 * its own), 0 if not read. */
static uint64_t proc_start_stack(pid_t pid)
{
    char buf[1024];
    const char *p = proc_stat_fields(pid, buf, sizeof buf);
    unsigned long long v = 0;
    if (!p || sscanf(p, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                        "%*s %*s %*s %*s %llu", &v) != 1)
        return 0;
    return v;
}

/* pid's TLS offset resolved ahead, in tls, if pid's image stayed the same
 * meanwhile. */
static void resolve_tls_ahead(pid_t pid, span_tls *tls)
{
    ig_err e;
    uint64_t before = proc_start_stack(pid);
    tls->known = before && ig_spanctx_tls_offset_of(pid, &tls->offset, &e) == 0 && proc_start_stack(pid) == before;
    tls->start_stack = before;
}

/* pid's virtual memory size (/proc/PID/stat), 0 if not read. */
static uint64_t proc_vsize(pid_t pid)
{
    char buf[1024];
    const char *p = proc_stat_fields(pid, buf, sizeof buf);
    unsigned long long vsize = 0;
    if (!p || sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %*u %llu",
                     &vsize) != 1)
        return 0;
    return vsize;
}

static void *finder_main(void *arg)
{
    span_finder *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        uint64_t now = (uint64_t)now_ns(CLOCK_MONOTONIC);
        size_t pending = 0;
        for (size_t i = 0; i < f->n && !f->stop; i++) {
            if (f->v[i].done)
                continue;
            if (now >= f->v[i].until_ns) {
                f->v[i].done = true; /* the recorder's own backoff takes over */
                continue;
            }
            pid_t pid = f->v[i].pid;
            uint64_t gen = f->v[i].gen, vsize = f->v[i].vsize;
            bool gated = f->v[i].gated, look_anyway = f->v[i].ungated > 0;
            span_tls tls = f->v[i].tls;
            char why[sizeof f->v[i].why] = "";
            uint64_t found = 0, ob_found = 0;
            pthread_mutex_unlock(&f->mu);
            uint64_t vsize_now = gated ? proc_vsize(pid) : 0;
            bool changed = gated && vsize_now != vsize;
            int rc = gated && !changed && !look_anyway ? 0
                                                         : finder_look(f, pid, &tls, &found, &ob_found, why, sizeof why);
            pthread_mutex_lock(&f->mu);
            /* the list may have changed meanwhile: find the entry again */
            size_t j = i < f->n && f->v[i].gen == gen ? i : f->n;
            for (size_t k = 0; j == f->n && k < f->n; k++)
                if (f->v[k].gen == gen)
                    j = k;
            if (j == f->n) { /* forgotten (exec, exit) while looked at: what it found is stale */
                if (rc > 0)
                    ig_spanbpf_remove_process(f->sb, pid);
                if (ob_found)
                    ig_offbpf_remove_span_process(f->ob, pid);
                continue;
            }
            f->v[j].vsize = vsize_now;
            f->v[j].ungated = changed ? SPAN_UNGATED_ROUNDS : f->v[j].ungated ? f->v[j].ungated - 1 : 0;
            f->v[j].tls = tls;
            if (rc != 0) {
                f->v[j].done = true;
                f->v[j].found_ns = found;
                f->v[j].ob_ns = ob_found;
                snprintf(f->v[j].why, sizeof f->v[j].why, "%s", why);
            }
        }
        /* the list may have changed while a look ran (an exec hands a new
         * entry over): every entry not done is looked at next round */
        for (size_t k = 0; k < f->n; k++)
            pending += !f->v[k].done;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SPAN_RETRY_MIN_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!f->stop)
            pending ? pthread_cond_timedwait(&f->cv, &f->mu, &ts) : pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void finder_start(ig_recorder *r)
{
    span_finder *f = ig_xcalloc(1, sizeof *f);
    f->sb = r->sb;
    f->ob = r->ob;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->mu, NULL);
    if (pthread_create(&f->th, NULL, finder_main, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return; /* the recorder's thread looks by itself */
    }
    r->finder = f;
}

static void finder_stop(ig_recorder *r)
{
    span_finder *f = r->finder;
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->v);
    free(f);
    r->finder = NULL;
}

/* Hands p to the finder until `until` (gated: see span_find). */
static void finder_want(ig_recorder *r, proc *p, uint64_t until, bool gated)
{
    span_finder *f = r->finder;
    pthread_mutex_lock(&f->mu);
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->v = ig_xrealloc(f->v, f->cap * sizeof *f->v);
    }
    f->v[f->n++] = (span_find){.pid = p->pid, .gen = ++f->gen, .until_ns = until, .gated = gated};
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    p->span_finding = true;
}

/* Takes p off the finder's list; whether its look is over, with the result. */
static bool finder_take(ig_recorder *r, proc *p, bool force, span_find *out)
{
    span_finder *f = r->finder;
    bool taken = false;
    if (!f) { /* stopped (span labels off) */
        p->span_finding = false;
        return false;
    }
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i].pid != p->pid || (!f->v[i].done && !force))
            continue;
        *out = f->v[i];
        f->v[i] = f->v[--f->n];
        taken = true;
        break;
    }
    pthread_mutex_unlock(&f->mu);
    if (taken)
        p->span_finding = false;
    return taken;
}

/* p is in the program's map since `since`, found publishing at `found`
 * (and in the off-CPU program's since ob_since; 0: not yet). */
static void span_followed(ig_recorder *r, proc *p, uint64_t found, uint64_t since, uint64_t ob_since)
{
    ig_err e;
    p->span = SPAN_FOLLOWED;
    p->span_found_ns = found;
    p->span_since_ns = since;                /* the program labels its samples from here on */
    r->st.span_unlabelled += p->span_early; /* its samples before: it may have been in a span, not known */
    r->st.span_sw_unlabelled += p->span_early_sw;
    p->span_early = p->span_early_sw = 0;
    r->st.span_procs++;
    bool ob_labels = r->ob && (ob_since || ig_offbpf_add_span_process(r->ob, p->pid, &e) == 0);
    /* the off-CPU program labels its waits from then (not at all: not told) */
    p->span_ob_since_ns = !ob_labels ? UINT64_MAX : ob_since ? ob_since : (uint64_t)now_ns(CLOCK_MONOTONIC);
    if (r->ob && !ob_labels)
        span_note(r, "%s", e.msg);
    else if (r->ob)
        span_note(r, "span labels for process %d: samples and waits in a span carry trace_id, span_id, span_name",
                  (int)p->pid);
    else if (r->switch_events && !r->swjoin)
        span_note(r, "span labels for process %d: %s; %s", (int)p->pid, r->cpu_events ? "CPU samples only" : "none",
                  r->sw_span_err);
    else
        span_note(r, "span labels for process %d: samples in a span carry trace_id, span_id, span_name",
                  (int)p->pid);
}

/* The finder's result for p, if its look is over: true if that settled p. */
static bool span_take_found(ig_recorder *r, proc *p)
{
    span_find got;
    if (!p->span_finding || !finder_take(r, p, false, &got))
        return false;
    if (got.found_ns) {
        span_followed(r, p, got.found_ns, got.found_ns, got.ob_ns);
        return true;
    }
    if (got.why[0]) {
        p->span = SPAN_DONE;
        p->span_found_ns = (uint64_t)now_ns(CLOCK_MONOTONIC);
        span_note(r, "process %d: no span labels: %s", (int)p->pid, got.why);
        return true;
    }
    return false; /* its first moments are over: looked for at the recorder's backoff */
}

/* p leaves the finder's list (exec, exit); if the finder had added it to
 * the program's map, it leaves that too. */
static void span_unfind(ig_recorder *r, proc *p)
{
    span_find got;
    if (!p->span_finding || !finder_take(r, p, true, &got))
        return;
    if (got.found_ns && r->sb)
        ig_spanbpf_remove_process(r->sb, p->pid);
    if (got.ob_ns && r->ob)
        ig_offbpf_remove_span_process(r->ob, p->pid);
}

/* Does p publish its span context yet?  If so, follow it (or say why its
 * samples get no span labels); if not, look again later.  In its first
 * moments the finder thread looks (see above). */
static void span_look(ig_recorder *r, proc *p, int64_t now)
{
    ig_spanctx *c;
    ig_err e;
    if (span_take_found(r, p))
        return;
    bool first = span_first_moments(p, now);
    if (!first && p->target && p->span_image_ns && !p->span_links) /* once per image */
        p->span_links = ig_spanctx_defines_tls(p->pid) ? 1 : -1;
    if (span_eager(p, now) && r->finder && r->sb) {
        if (!p->span_finding)
            finder_want(r, p, p->span_image_ns + (uint64_t)(first ? SPAN_EAGER_MAX_NS : SPAN_LINKED_NS), !first);
        p->span_next_ns = now + SPAN_RETRY_MIN_NS; /* for its result */
        return;
    }
    span_unfind(r, p); /* its first moments are over: looked for at backoff */
    if (ig_spanctx_open(p->pid, &c, &e) < 0) {
        if (kill(p->pid, 0) != 0 && errno == ESRCH) {
            p->span = SPAN_DONE;
            return;
        }
        if (!p->target && p->span_backoff_ns >= SPAN_RETRY_MAX_NS) {
            p->span = SPAN_DONE; /* a child that publishes nothing: its exec, if any, looks again */
            return;
        }
        p->span_backoff_ns = span_retry_ns(p, now);
        p->span_next_ns = now + p->span_backoff_ns;
        return;
    }
    ig_spanctx_free(c);
    p->span = SPAN_DONE;
    p->span_found_ns = (uint64_t)now;
    if (!r->sb) {
        span_note(r, "process %d publishes its span context, but its samples get no span labels: %s", (int)p->pid,
                  r->span_err);
        return;
    }
    if (ig_spanbpf_add_process(r->sb, p->pid, &e) != 0) {
        span_note(r, "process %d: no span labels: %s", (int)p->pid, e.msg);
        return;
    }
    span_followed(r, p, (uint64_t)now, (uint64_t)now_ns(CLOCK_MONOTONIC), 0);
}

/* Whether p's span context is to be looked for now or later.  With -a,
 * only once it was sampled: thousands of idle processes, each read again
 * at backoff for seconds, cost more than the sampling. */
static bool span_lookable(const ig_recorder *r, const proc *p)
{
    return p->span == SPAN_LOOK && !p->exited && (p->sampled || !r->everyone);
}

static void span_look_all(ig_recorder *r)
{
    if (!spans_wanted(r))
        return;
    int64_t now = now_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < r->nprocs; i++) {
        proc *p = r->procs[i];
        if (span_lookable(r, p) && now >= p->span_next_ns)
            span_look(r, p, now);
    }
}

/* wait_ms shortened to the next look at a process (-1: no limit). */
static int span_wait_ms(const ig_recorder *r, int wait_ms)
{
    if (!spans_wanted(r) || wait_ms == 0)
        return wait_ms;
    int64_t now = now_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < r->nprocs; i++) {
        const proc *p = r->procs[i];
        if (!span_lookable(r, p) || p->span_finding)
            continue; /* the finder thread looks at it: its result is taken at the next drain */
        int64_t left = p->span_next_ns > now ? (p->span_next_ns - now + 999999) / 1000000 : 0;
        if (wait_ms < 0 || left < wait_ms)
            wait_ms = (int)left;
    }
    return wait_ms;
}

/* p exec'd at `time`: its new image publishes its own context, or none.
 * An exec drained after the look that found the new image is not news. */
static void span_exec(ig_recorder *r, proc *p, uint64_t time)
{
    if (p->span == SPAN_LOOK)
        span_take_found(r, p); /* found after this exec: the new image's */
    if (p->span != SPAN_LOOK && time && time < p->span_found_ns)
        return;
    span_unfind(r, p);
    if (p->span == SPAN_FOLLOWED && r->sb)
        ig_spanbpf_remove_process(r->sb, p->pid);
    if (p->span == SPAN_FOLLOWED && r->ob)
        ig_offbpf_remove_span_process(r->ob, p->pid);
    p->span = SPAN_LOOK;
    p->span_next_ns = p->span_backoff_ns = 0;
    p->span_image_ns = time ? time : (uint64_t)now_ns(CLOCK_MONOTONIC);
    p->span_early = p->span_early_sw = 0; /* the old image's samples were not a span process's */
    p->span_links = 0;
}

static void span_exit(ig_recorder *r, pid_t pid)
{
    proc *p = find_proc(r, pid);
    if (!p)
        return;
    span_unfind(r, p);
    if (p->span == SPAN_FOLLOWED && r->sb)
        ig_spanbpf_remove_process(r->sb, pid);
    if (p->span == SPAN_FOLLOWED && r->ob)
        ig_offbpf_remove_span_process(r->ob, pid);
    p->span = SPAN_DONE;
}

/* The span sample s (of ring CPU cpu) ran in, NULL if none or not known.
 * Every sample is asked for, in time order per CPU.  A sample taken before
 * its process was followed is not told (the program wrote "no span" for
 * it, not knowing the process): counted so once the process is followed,
 * never as outside a span. */
static const ig_spanbpf_label *sample_span(ig_recorder *r, proc *p, const ig_perf_sample *s, int cpu)
{
    if (!r->join)
        return NULL;
    ig_spanjoin_stats before, after;
    ig_spanjoin_stats_get(r->join, &before);
    ig_spanjoin_sample js = {(uint32_t)cpu, s->tid, s->time, s->ip, s->period};
    const ig_spanbpf_label *l = ig_spanjoin_take(r->join, &js);
    if (p->span == SPAN_LOOK) { /* it runs: look now if due (a drain can take long) */
        p->span_early++;
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= p->span_next_ns && span_lookable(r, p)) {
            span_look(r, p, now);
        } else if (now >= p->span_next_ns && p->span_finding) {
            span_take_found(r, p); /* gone by now (a recorder behind), but found while it ran? */
            p->span_next_ns = now + SPAN_RETRY_MIN_NS;
        }
        return NULL; /* counted in span_early, found now or not */
    }
    if (p->span != SPAN_FOLLOWED)
        return NULL;
    if (s->time <= p->span_since_ns) {
        r->st.span_unlabelled++;
        return NULL;
    }
    ig_spanjoin_stats_get(r->join, &after);
    r->st.span_labelled += after.labelled - before.labelled;
    r->st.span_outside += after.outside - before.outside;
    r->st.span_unlabelled += after.unlabelled - before.unlabelled;
    return l;
}

/* The span a switch-out sample s (of ring CPU cpu) left the CPU in, NULL
 * if none or not known.  Every switch-out sample of a process is asked
 * for, in time order per CPU. */
static const ig_spanbpf_label *switch_span(ig_recorder *r, proc *p, const ig_perf_sample *s, int cpu)
{
    if (!r->swjoin)
        return NULL;
    ig_spanjoin_stats before, after;
    ig_spanjoin_stats_get(r->swjoin, &before);
    ig_spanjoin_sample js = {(uint32_t)cpu, s->tid, s->time, 0, 0};
    const ig_spanbpf_label *l = ig_spanjoin_take_switch(r->swjoin, &js);
    if (p->span == SPAN_LOOK)
        p->span_early_sw++;
    if (p->span != SPAN_FOLLOWED || s->time <= p->span_since_ns)
        return NULL; /* not followed then: its event, if any, is not this switch-out's */
    ig_spanjoin_stats_get(r->swjoin, &after);
    r->st.span_sw_labelled += after.labelled - before.labelled;
    r->st.span_sw_outside += after.outside - before.outside;
    r->st.span_sw_unlabelled += after.unlabelled - before.unlabelled;
    return l;
}

static uint32_t hex_string(ig_recorder *r, const uint8_t *b, size_t n)
{
    char hex[2 * 16 + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    return ignis_profile_intern(r->prof, hex);
}

/* ---- events ----------------------------------------------------------------- */

/* Ring size and wake-up points.  A CPU's ring receives at most `freq`
 * samples a second whatever the number of threads, so it is sized for about
 * two seconds of them, and the caller drains all rings at once on a timer
 * (ig_recorder_drain_period_ms: 80% of the time a ring takes to fill, at
 * most 2 s).
 *
 * The kernel's wake-up watermark is not a fill level: it wakes pollers
 * each time another `wakeup_watermark` bytes have been written, whether or
 * not they were read.  With a timed drain, those wake-ups only come on top
 * of it (one per ring per watermark: three drains per period on two CPUs,
 * two of them of a few samples).  So a ring that holds a second or more
 * (RING_TIMED_SECONDS: the timer's 20% slack is then 0.2 s or more, far
 * beyond a wake-up's latency) is drained by the timer alone: its fd is
 * polled for hang-ups only, and its watermark is the whole ring so the
 * kernel's own wake-ups, which then end in the kernel, are rare.  A ring
 * that fills faster (above about 500 Hz with the default 16 KiB stack
 * copy, where even the largest ring holds less than a second) keeps
 * POLLIN and a watermark of a quarter of a second short of full, never
 * past 90% of the ring nor below a quarter of it (at 10 kHz a ring holds
 * 50 ms, and waking at half of it lost up to 2% of the samples).
 *
 * Wake-ups, not samples, dominate the cost at 99 Hz: each one is a context
 * switch into a profiler whose caches went cold, about 0.2 ms here (30 s
 * records at 99 Hz here, medians: one wake-up per ring 6.1 us per sample,
 * the timer and the watermarks 4.9; the timer alone, sleeping on pidfds,
 * saved 3-4 ms more per record in four of five paired runs).  Larger rings
 * cost more again: the kernel zeroes them at attach, and the first read of
 * each ring page costs 4k-13k cycles on a VM (measured here; later laps
 * cost about 70), so 512-page rings came out even with 1024 and 256 worse.
 * All rings together stay within RING_BUDGET so a machine with many CPUs
 * does not lock hundreds of MiB.
 *
 * Switch events (off-CPU, wall) write at the targets' pace, one sample per
 * switch-out, which nothing bounds: their rings get SWITCH_RING_PAGES, are
 * always polled for POLLIN with the watermark at half the ring, and the
 * timer drains them at least every SWITCH_DRAIN_MS.  Their watermark is a
 * quarter of the ring, and a ring that full is drained whole (see
 * drain_all): a switch-heavy target (a ping-pong over a pipe) fills 32 MiB
 * in 70 ms here, and holding back its last 20 ms while the recorder waits
 * for a CPU lost records. */
#define RING_MIN_PAGES 16
#define RING_MAX_PAGES 2048
#define RING_BUDGET ((uint64_t)128 << 20)
#define RING_SECONDS 2
#define RING_HEADROOM_SECONDS 0.25
#define RING_TIMED_SECONDS 1.0
#define DRAIN_MAX_MS 2000
#define SWITCH_RING_PAGES 8192
#define SWITCH_DRAIN_MS 250

static uint64_t sample_bytes(const ig_perf_opts *po)
{
    return po->stack_size + 512; /* the stack copy plus header, regs, chain */
}

/* Pages for each ring of po's kind when there are nrings in all. */
static size_t pick_ring_pages(const ig_perf_opts *po, long nrings)
{
    uint64_t bytes = ig_perf_kind_switches(po->kind) ? (uint64_t)SWITCH_RING_PAGES * 4096
                                                     : (uint64_t)po->freq * sample_bytes(po) * RING_SECONDS;
    uint64_t budget = RING_BUDGET / (uint64_t)(nrings > 0 ? nrings : 1);
    if (bytes > budget)
        bytes = budget;
    size_t pages = RING_MIN_PAGES, max = ig_perf_kind_switches(po->kind) ? SWITCH_RING_PAGES : RING_MAX_PAGES;
    while (pages < max && (uint64_t)pages * 4096 < bytes)
        pages *= 2;
    return pages;
}

/* -a: every CPU's ring holds the whole machine's records, and a drain
 * symbolizes every new program it meets (seconds of CPU on a busy machine
 * that starts compilers all the time), so rings are four times larger,
 * within the same budget. */
static size_t syswide_ring_pages(const ig_perf_opts *po, size_t pages)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    uint64_t budget = RING_BUDGET / (uint64_t)(ncpu > 0 ? ncpu : 1);
    (void)po;
    for (int i = 0; i < 2 && pages < RING_MAX_PAGES && (uint64_t)pages * 2 * 4096 <= budget; i++)
        pages *= 2;
    return pages;
}

/* Seconds of samples a ring of `pages` holds at the sampling rate. */
static double ring_seconds(const ig_perf_opts *po, size_t pages)
{
    return (double)pages * 4096 / ((double)po->freq * (double)sample_bytes(po));
}

/* True when rings of `pages` are drained by the timer alone. */
static bool rings_timed(const ig_perf_opts *po, size_t pages)
{
    return !ig_perf_kind_switches(po->kind) && ring_seconds(po, pages) >= RING_TIMED_SECONDS;
}

static unsigned wakeup_bytes_for(const ig_perf_opts *po, size_t pages)
{
    if (ig_perf_kind_switches(po->kind))
        return (unsigned)(pages * 4096 / 4);
    if (rings_timed(po, pages))
        return (unsigned)(pages * 4096);
    double fill = 1.0 - RING_HEADROOM_SECONDS / ring_seconds(po, pages);
    if (fill > 0.9)
        fill = 0.9;
    if (fill < 0.25)
        fill = 0.25;
    return (unsigned)((double)pages * 4096 * fill);
}

int ig_recorder_drain_period_ms(const ig_recorder *r)
{
    int period = DRAIN_MAX_MS;
    if (r->cpu_events) {
        double ms = ring_seconds(&r->popts, r->ring_pages) * 800;
        period = ms > DRAIN_MAX_MS ? DRAIN_MAX_MS : ms < 10 ? 10 : (int)ms;
    }
    return r->switch_events && period > SWITCH_DRAIN_MS ? SWITCH_DRAIN_MS : period;
}

/* The options and ring size of events of ring k's kind. */
static bool switch_ring(ig_perf_kind k) { return ig_perf_kind_switches(k) || k == IG_PERF_SIDEBAND; }

static ig_perf_opts *kind_opts(ig_recorder *r, size_t k)
{
    return switch_ring(r->ring_kind[k]) ? &r->swopts : &r->popts;
}

/* Opens a ring per CPU for the events of po (pages each). */
static void open_rings_of(ig_recorder *r, ig_perf_opts *po, size_t *pages, long ncpu, int *first_errno)
{
    for (int cpu = 0; cpu < ncpu; cpu++) {
        int fd = ig_perf_open_sink(cpu, po);
        if (fd < 0 && errno == EINVAL && po->mono_clock && !r->nrings) {
            po->mono_clock = false; /* before Linux 4.1: perf's own clock */
            fd = ig_perf_open_sink(cpu, po);
            if (fd < 0)
                po->mono_clock = true; /* no: an offline CPU */
        }
        if (fd < 0) { /* offline CPU */
            if (!*first_errno)
                *first_errno = errno;
            continue;
        }
        ig_ring *ring = &r->rings[r->nrings];
        if (ig_ring_map(ring, fd, *pages) != 0) {
            if (!*first_errno)
                *first_errno = errno;
            close(fd);
            continue;
        }
        if (ring->size < *pages * 4096) {
            /* The locked-memory limit (perf_event_mlock_kb, unprivileged)
             * gave a smaller ring: its wake-up watermark must shrink too,
             * or the ring overflows between timed wake-ups.  The
             * watermark is fixed at open, so open this CPU's sink again;
             * the next CPUs start at the smaller size. */
            int fd_used = ring->fd;
            size_t got = ring->size / 4096;
            ig_ring_unmap(ring);
            close(fd_used);
            *pages = got ? got : 1;
            po->wakeup_bytes = wakeup_bytes_for(po, *pages);
            cpu--;
            continue;
        }
        r->ring_kind[r->nrings] = po->kind;
        r->ring_cpu[r->nrings++] = cpu;
    }
}

static int open_rings(ig_recorder *r, ig_err *err)
{
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    if (ncpu < 1)
        ncpu = 1;
    r->rings = ig_xcalloc((size_t)ncpu * 2, sizeof *r->rings);
    r->ring_cpu = ig_xcalloc((size_t)ncpu * 2, sizeof *r->ring_cpu);
    r->ring_kind = ig_xcalloc((size_t)ncpu * 2, sizeof *r->ring_kind);
    int first_errno = 0;
    if (r->cpu_events)
        open_rings_of(r, &r->popts, &r->ring_pages, ncpu, &first_errno);
    if (r->switch_events) {
        r->swopts.mono_clock = r->popts.mono_clock; /* one clock for all records */
        open_rings_of(r, &r->swopts, &r->sw_ring_pages, ncpu, &first_errno);
        r->popts.mono_clock = r->swopts.mono_clock;
    }
    if (!r->nrings)
        return ig_err_set(err, "perf_event_open: cannot create ring buffers: %s", strerror(first_errno));
    return 0;
}

static void close_rings(ig_recorder *r)
{
    for (size_t i = 0; i < r->nrings; i++) {
        int fd = r->rings[i].fd;
        ig_ring_unmap(&r->rings[i]);
        close(fd);
    }
    free(r->rings);
    free(r->ring_cpu);
    free(r->ring_kind);
    r->rings = NULL;
    r->nrings = 0;
}

static void add_event(ig_recorder *r, int fd, pid_t tid)
{
    if (r->nevents == r->cap_events) {
        r->cap_events = r->cap_events ? r->cap_events * 2 : 16;
        r->events = ig_xrealloc(r->events, r->cap_events * sizeof *r->events);
    }
    r->events[r->nevents++] = (event){fd, tid, false};
    r->pfds_dirty = true;
    r->st.events_open++;
    r->st.events_opened++;
}

/* The program of a sampling event, before it is enabled (as spanbpf.h
 * asks): the span-label program; for a CPU-wide event of the BPF engine
 * without one, the filter that drops other processes' samples
 * (wants_per_cpu).  -1 (errno set) when that filter cannot be attached:
 * the event would sample the whole machine. */
static int attach_sample_program(ig_recorder *r, int fd, pid_t tid)
{
    ig_err e;
    if (r->sb && ig_spanbpf_attach(r->sb, fd, &e) != 0)
        spans_off(r, e.msg);
    int filter = r->sb || tid >= 0 || !r->ob ? -1 : ig_offbpf_cpu_filter_fd(r->ob);
    return filter < 0 ? 0 : ig_perf_set_bpf(fd, filter);
}

/* Opens the event of ring k's kind for thread tid (-1: every thread) on
 * its CPU, redirected into that ring.  Kernel callchains that are not
 * permitted are turned off for good.  Returns the fd, or -1 with errno. */
static int open_event(ig_recorder *r, pid_t tid, size_t k)
{
    ig_perf_opts *po = kind_opts(r, k);
    ig_perf_opts o = *po;
    o.inherit = tid >= 0 && po->inherit;
    int fd = ig_perf_open(&o, tid, r->ring_cpu[k]);
    if (fd < 0 && (errno == EACCES || errno == EPERM) && o.kernel) {
        o.kernel = false; /* kernel callchains not permitted: user only */
        fd = ig_perf_open(&o, tid, r->ring_cpu[k]);
        if (fd >= 0)
            r->popts.kernel = r->swopts.kernel = r->st.kernel = false;
    }
    if (fd >= 0 && ig_perf_redirect(fd, r->rings[k].fd) != 0) {
        int saved = errno;
        close(fd);
        fd = -1;
        errno = saved;
    }
    if (fd >= 0 && !switch_ring(po->kind) && attach_sample_program(r, fd, tid) != 0) {
        int saved = errno;
        close(fd);
        fd = -1;
        errno = saved;
    }
    return fd;
}

/* How many events may be open at once: the descriptors left under
 * RLIMIT_NOFILE, less a reserve, so that running out of them costs
 * threads (counted) rather than symbol files or the output. */
static size_t event_budget(void)
{
    struct rlimit nofile;
    uint64_t limit = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? (uint64_t)nofile.rlim_cur : 1024;
    if (limit > 1u << 30)
        limit = 1u << 30;
    size_t in_use = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    while (d && (de = readdir(d)))
        in_use += de->d_name[0] != '.';
    if (d)
        closedir(d);
    uint64_t reserve = limit / 4 > FD_RESERVE_MIN ? limit / 4 : FD_RESERVE_MIN;
    return limit > reserve + in_use ? (size_t)(limit - reserve - in_use) : 0;
}

/* Opens one event per CPU on thread tid, each writing to that CPU's ring.
 * All or nothing: returns 0, or -1 with errno of the failure. */
static int open_thread(ig_recorder *r, pid_t pid, pid_t tid)
{
    if (r->nevents + r->nrings > r->max_events) {
        errno = EMFILE;
        return -1;
    }
    size_t first = r->nevents;
    for (size_t k = 0; k < r->nrings; k++) {
        int fd = open_event(r, tid, k);
        if (fd < 0) {
            int saved = errno;
            while (r->nevents > first) {
                close(r->events[--r->nevents].fd);
                r->st.events_open--;
            }
            errno = saved;
            return -1;
        }
        add_event(r, fd, tid);
        r->events[r->nevents - 1].command_cpu = tid == r->st.child && r->ring_kind[k] == IG_PERF_CPU_CLOCK;
    }
    get_thread(r, pid, tid)->direct = true;
    r->st.attached++;
    return 0;
}

/* ---- one event per CPU -------------------------------------------------------
 *
 * Per-thread events fail a process whose threads outnumber the CPUs.  The
 * kernel samples such threads poorly: cpu-clock events of threads that
 * take turns on a CPU lost most samples here (2 busy threads on 2 CPUs:
 * 94% of their CPU time sampled; 30: 63-72%; 200: 0-12%; perf record -p
 * alike), silently.  Attaching costs a syscall per (thread, CPU), and the
 * recorder, one runnable thread among hundreds, got so little CPU that
 * attaching 200 threads took longer than a 3 s record (500: 26 s); the
 * descriptors run out at RLIMIT_NOFILE / CPUs threads.  So for more than
 * PER_CPU_THREADS_PER_CPU threads per CPU, or when the descriptors would
 * not do, the recorder opens one event per CPU for every thread instead,
 * where that is permitted (CAP_PERFMON, or perf_event_paranoid <= 0): a
 * CPU's clock ticks whichever thread runs, attach is a few syscalls, and
 * every thread of the target, old or new, is sampled.  These events see
 * other processes too: their samples (at most `freq` per CPU and second in
 * all) and side-band records are dropped, except the FORKs of followed
 * processes, whose children are followed as inherit would.  That is why a
 * few threads keep their own events: on a machine busy with other work,
 * the rings then fill at the target's pace, not the machine's (3 threads
 * at 999 Hz on 2 busy CPUs: per CPU, a cold first drain lost most of
 * the samples).  Where per-CPU events are not permitted, threads are
 * attached one by one, those that cannot be are counted
 * (stats.unattached), and the summary's share of the targets' CPU time
 * shows what the kernel did not sample. */

static size_t count_tasks(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += atoi(de->d_name) > 0;
    if (d)
        closedir(d);
    return n;
}

/* Per CPU also on the BPF engine (--off-cpu, --wall), where the events
 * carry side-band records (maps, names, forks) and --wall's CPU samples:
 * an event per thread gives every target thread a perf context that the
 * kernel switches out and in at each of its context switches, a cost on
 * the very switches recorded (a ping-pong lost 15-20% of its round trips
 * to it).  Per CPU, the target's switches pay the BPF program alone; a
 * program on each sampling event drops the samples of threads not
 * followed before any stack is copied (the span-label program sharing the
 * off-CPU program's map of followed processes, or ig_offbpf_cpu_filter_fd),
 * so other processes cost a program run, not a ring's room, and a
 * launched command is sampled from its exec, as enable_on_exec would; the
 * recorder drops other processes' side-band records. */
static bool ob_per_cpu(const ig_recorder *r)
{
    return r->ob && !r->o.ntids && !getenv("IGNIS_SIDEBAND_PER_THREAD");
}

static bool wants_per_cpu(const ig_recorder *r)
{
    if (ob_per_cpu(r))
        return true;
    if (!r->o.npids || r->o.ntids || r->switch_events)
        return false; /* switch events stay per thread: per CPU they would copy every task's stacks */
    size_t threads = 0;
    for (size_t i = 0; i < r->o.npids; i++)
        threads += count_tasks(r->o.pids[i]);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return threads > PER_CPU_THREADS_PER_CPU * (size_t)(cpus > 0 ? cpus : 1) ||
           (uint64_t)threads * r->nrings > r->max_events;
}

static void close_event(ig_recorder *r, size_t i);

/* Opens an event per CPU for every thread; false (nothing open) when the
 * kernel does not permit it. */
static bool try_per_cpu(ig_recorder *r)
{
    size_t first = r->nevents;
    bool kernel = r->popts.kernel;
    for (size_t k = 0; k < r->nrings; k++) {
        int fd = open_event(r, -1, k);
        if (fd < 0) {
            while (r->nevents > first)
                close_event(r, r->nevents - 1);
            r->popts.kernel = r->st.kernel = kernel;
            return false;
        }
        add_event(r, fd, -1);
    }
    r->per_cpu = r->st.per_cpu = true;
    return true;
}

/* -a: one event per CPU for every thread (of the --cgroup), and with no
 * -p every process already running is known from the start. */
static int attach_all(ig_recorder *r, ig_err *err)
{
    r->all = true;
    r->everyone = !r->o.npids;
    r->self = getpid();
    const char *limit = getenv("IGNIS_MAX_MODULES"); /* tests: trim at every interval */
    r->max_modules = limit && atol(limit) > 0 ? (size_t)atol(limit) : SYSWIDE_MAX_MODULES;
    const char *budget = getenv("IGNIS_CACHE_BUDGET_MB"); /* tests: a rebuild at every interval */
    r->cache_budget = (budget && atol(budget) > 0 ? (size_t)atol(budget) : SYSWIDE_CACHE_BUDGET_MB) << 20;
    if (r->o.cgroup && (r->popts.cgroup_fd = ig_cgroup_open(r->o.cgroup, err)) < 0) {
        r->popts.cgroup_fd = 0;
        return -1;
    }
    r->swopts.cgroup_fd = r->popts.cgroup_fd; /* --off-cpu, --wall: the same tasks */
    for (size_t k = 0; k < r->nrings; k++) {
        int fd = open_event(r, -1, k);
        if (fd < 0)
            return ig_syswide_open_error(err, errno, r->o.cgroup);
        add_event(r, fd, -1);
    }
    r->per_cpu = r->st.per_cpu = true;
    if (!r->everyone)
        return 0; /* the -p targets are followed by attach_process */
    pid_t *pids;
    size_t n = ig_syswide_pids(r->o.cgroup ? r->popts.cgroup_fd : -1, &pids);
    for (size_t i = 0; i < n; i++)
        if (everyone_proc(r, pids[i]))
            r->st.attached++;
    free(pids);
    r->heap_base = heap_in_use(); /* the table of processes is not cache */
    return 0;
}

/* Whether pid's threads have all exited: not there, or a zombie whose
 * parent has not reaped it (a subreaper that never does would keep it so
 * forever) with no thread left but its leader (a leader that exited
 * before its threads is a zombie too, with more).  /proc is read only once
 * the leader's EXIT record came: a poll of a live process is one kill(). */
static bool process_gone(ig_recorder *r, pid_t pid)
{
    if (kill(pid, 0) != 0 && errno != EPERM)
        return true;
    const thread *leader = find_thread(r, pid);
    if (!leader || !leader->dead)
        return false;
    char buf[1024];
    const char *fields = proc_stat_fields(pid, buf, sizeof buf);
    if (!fields)
        return errno == ENOENT || errno == ESRCH;
    char state = 0;
    long threads = 0;
    /* state (field 3) ... num_threads (field 20) */
    if (sscanf(fields, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %ld", &state, &threads) !=
        2)
        return false;
    return (state == 'Z' || state == 'X') && threads <= 1;
}

/* Per-CPU events never hang up: the recording ends when the targets and
 * every process they started are gone. */
static bool followed_alive(ig_recorder *r)
{
    for (size_t i = 0; i < r->npidfds; i++)
        if (r->pidfds[i] >= 0 && r->wait_pidfds)
            return true;
    bool alive = false;
    for (size_t i = 0; i < r->nprocs; i++) {
        proc *p = r->procs[i];
        if (p->exited)
            continue;
        if (!process_gone(r, p->pid))
            alive = true;
        else
            p->exited = true;
    }
    return alive;
}

static uint64_t event_count(int fd);

/* Closes event i (moving the last event into its slot). */
static void close_event(ig_recorder *r, size_t i)
{
    if (r->events[i].command_cpu)
        r->cmd_cpu_closed_ns += event_count(r->events[i].fd);
    close(r->events[i].fd);
    r->events[i] = r->events[--r->nevents];
    r->pfds_dirty = true;
    r->st.events_open--;
}

/* Marks the direct events of tid for closing (it is inherited as well). */
static void doom_thread_events(ig_recorder *r, pid_t tid)
{
    for (size_t i = 0; i < r->nevents; i++)
        if (r->events[i].tid == tid)
            r->events[i].doomed = true;
}

/* ---- locations ------------------------------------------------------------- */

/* Asks the symbolizer for the module's build-id, which opens the file
 * there (once; it stays open). */
static void learn_build_id(ig_recorder *r, ig_module *mod)
{
    if (mod->build_id_known)
        return;
    mod->build_id_known = true;
    if (!mod->open_path[0] || ig_symtab_build_id(r->sym, mod->open_path, mod->build_id, sizeof mod->build_id) != 0)
        mod->build_id[0] = '\0';
}

/* A file reached through /proc/PID/ (another mount namespace, a deleted
 * or replaced file) cannot be opened again once the process is gone, and
 * a short-lived process is gone before its samples are drained.  So the
 * symbolizer opens such files as soon as their mapping is known, while the
 * path still leads to them, and keeps them open.  Files we can open by
 * their own path wait for their first sample. */
static void hold_module_file(ig_recorder *r, const ig_map *m)
{
    if (m && m->mod && !m->mod->build_id_known && !strncmp(m->mod->open_path, "/proc/", 6))
        learn_build_id(r, m->mod);
}

static void hold_module_files(ig_recorder *r, const ig_maps *maps)
{
    for (size_t i = 0; i < maps->n; i++)
        hold_module_file(r, &maps->v[i]);
}

static uint32_t profile_mapping(ig_recorder *r, ig_map *m)
{
    if (m->prof_gen == r->gen + 1 && m->prof_mapping)
        return m->prof_mapping;
    const char *bid = NULL;
    if (m->mod)
        learn_build_id(r, m->mod);
    if (m->mod && m->mod->build_id[0])
        bid = m->mod->build_id;
    ignis_mapping pm = {0};
    pm.start = m->start;
    pm.limit = m->end;
    pm.offset = m->pgoff;
    pm.filename = ignis_profile_intern(r->prof, m->name[0] ? m->name : "[anon]");
    pm.build_id = ignis_profile_intern(r->prof, bid);
    pm.has_functions = pm.has_filenames = pm.has_line_numbers = pm.has_inline_frames = m->mod != NULL;
    m->prof_mapping = ignis_profile_add_mapping(r->prof, &pm);
    m->prof_gen = r->gen + 1;
    return m->prof_mapping;
}

static uint32_t add_function(ig_recorder *r, const char *name, const char *sysname, const char *file)
{
    ignis_function f = {0};
    f.name = ignis_profile_intern(r->prof, name ? name : sysname);
    f.system_name = ignis_profile_intern(r->prof, sysname ? sysname : name);
    f.filename = ignis_profile_intern(r->prof, file);
    return ignis_profile_add_function(r->prof, &f);
}

/* pprof takes the first mapping as the main binary (`File:` in pprof -top),
 * so before a profile's first mapping goes in, the executable's does. */
static void add_main_mapping_first(ig_recorder *r, proc *p)
{
    if (ignis_profile_num_mappings(r->prof))
        return;
    char link[64], exe[4096];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)p->pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (size_t i = 0; i < p->maps.n; i++)
        if (!strcmp(p->maps.v[i].name, exe)) {
            profile_mapping(r, &p->maps.v[i]);
            return;
        }
}

static uint32_t symbolize_user(ig_recorder *r, proc *p, ig_map *m, uint64_t addr, bool is_return)
{
    ignis_location loc = {0};
    loc.address = addr;
    loc.kind = IGNIS_FRAME_USER;
    ignis_line lines[16];
    if (m) {
        add_main_mapping_first(r, p);
        loc.mapping = profile_mapping(r, m);
        if (m->mod) {
            ig_symframe fr[16];
            uint64_t off = addr - m->start + m->pgoff - (is_return ? 1 : 0);
            const char *bid = m->mod->build_id[0] ? m->mod->build_id : NULL;
            int n = m->mod->open_path[0] /* a file, else the vDSO's image */
                        ? ig_symtab_lookup(r->sym, m->mod->open_path, bid, off, fr, 16)
                        : ig_symtab_lookup_image(r->sym, m->mod->name, bid, m->mod->bytes, m->mod->size, off, fr, 16);
            for (int i = 0; i < n; i++) {
                lines[i].function = add_function(r, fr[i].func, fr[i].sysname, fr[i].file);
                lines[i].line = fr[i].line;
                lines[i].column = fr[i].column;
            }
            loc.lines = lines;
            loc.nlines = n > 0 ? (uint32_t)n : 0;
        } else if (!m->mod && (!m->name[0] || !strncmp(m->name, "//anon", 6) || !strncmp(m->name, "[anon", 5))) {
            const char *name = ig_symtab_perfmap(r->sym, p->pid, addr);
            if (name) {
                lines[0] = (ignis_line){add_function(r, name, name, NULL), 0, 0};
                loc.lines = lines;
                loc.nlines = 1;
            }
            loc.kind = IGNIS_FRAME_JIT;
        }
    } else {
        const char *name = ig_symtab_perfmap(r->sym, p->pid, addr);
        if (name) {
            lines[0] = (ignis_line){add_function(r, name, name, NULL), 0, 0};
            loc.lines = lines;
            loc.nlines = 1;
            loc.kind = IGNIS_FRAME_JIT;
        }
    }
    return ignis_profile_add_location(r->prof, &loc);
}

static uint32_t user_location(ig_recorder *r, proc *p, uint64_t addr, bool is_return)
{
    if (p->locs_gen != r->gen + 1) {
        ig_u64map_clear(&p->locs);
        p->locs_gen = r->gen + 1;
    }
    uint64_t key = addr | (is_return ? RETURN_BIT : 0), id;
    if (ig_u64map_get(&p->locs, key, &id))
        return (uint32_t)id;
    ig_map *m = ig_maps_find(&p->maps, addr);
    int64_t now;
    if (!m && (p->maps_stale || (now = now_ns(CLOCK_MONOTONIC)) - p->maps_loaded_ns > MAPS_RESCAN_NS)) {
        proc_reload_maps(r, p);
        p->locs_gen = r->gen + 1;
        m = ig_maps_find(&p->maps, addr);
    }
    id = symbolize_user(r, p, m, addr, is_return);
    ig_u64map_put(&p->locs, key, id); /* unknown ones too: a reload clears the cache */
    return (uint32_t)id;
}

static uint32_t kernel_location(ig_recorder *r, uint64_t addr)
{
    if (r->kern_gen != r->gen + 1) {
        ig_u64map_clear(&r->kern_locs);
        r->kern_gen = r->gen + 1;
    }
    uint64_t id;
    if (ig_u64map_get(&r->kern_locs, addr, &id))
        return (uint32_t)id;
    ignis_location loc = {0};
    loc.address = addr;
    loc.kind = IGNIS_FRAME_KERNEL;
    ignis_line line = {0};
    const char *name = ig_symtab_kernel(r->sym, addr);
    if (name) {
        line.function = add_function(r, name, name, NULL);
        loc.lines = &line;
        loc.nlines = 1;
    }
    id = ignis_profile_add_location(r->prof, &loc);
    ig_u64map_put(&r->kern_locs, addr, id);
    return (uint32_t)id;
}

/* -a: which process a thread's sample is of (labels pid and process). */
static size_t process_labels(ig_recorder *r, thread *t, ignis_label *l)
{
    if (!r->all)
        return 0;
    thread *leader = find_thread(r, t->pid);
    l[0] = (ignis_label){ignis_profile_intern(r->prof, "pid"), 0, t->pid, 0};
    l[1] = (ignis_label){ignis_profile_intern(r->prof, "process"),
                         ignis_profile_intern(r->prof, leader ? leader->comm : t->comm), 0, 0};
    return 2;
}

static uint32_t thread_labels(ig_recorder *r, thread *t)
{
    if (t->labels_gen == r->gen)
        return t->labels;
    ignis_label l[4] = {{0}, {0}, {0}, {0}};
    l[0].key = ignis_profile_intern(r->prof, "thread");
    l[0].str = ignis_profile_intern(r->prof, t->comm);
    l[1].key = ignis_profile_intern(r->prof, "tid");
    l[1].num = t->tid;
    t->labels = ignis_profile_add_labels(r->prof, l, 2 + process_labels(r, t, l + 2));
    t->labels_gen = r->gen;
    return t->labels;
}

static uint32_t thread_root(ig_recorder *r, thread *t)
{
    if (t->root_gen == r->gen)
        return t->root;
    char name[64];
    snprintf(name, sizeof name, "%s [%d]", t->comm, (int)t->tid);
    uint32_t f = ignis_profile_function_named(r->prof, name, NULL, 0);
    t->root = ignis_profile_location_for_function(r->prof, f, IGNIS_FRAME_USER);
    t->root_gen = r->gen;
    return t->root;
}

/* The labels of a sample with a state (off-CPU and wall profiles): the
 * thread's, its state and, for a wait, the kernel wait channel.  The
 * thread keeps the last set it used.  Later per-sample labels (a span's
 * trace_id, span_id) extend this set. */
static uint32_t state_labels(ig_recorder *r, thread *t, const char *state, uint64_t wchan)
{
    if (t->slabels_gen == r->gen && t->slabels_state == state && t->slabels_wchan == wchan)
        return t->slabels;
    ignis_label l[6] = {{0}, {0}, {0}, {0}, {0}, {0}};
    size_t n = 0;
    l[n].key = ignis_profile_intern(r->prof, "thread");
    l[n++].str = ignis_profile_intern(r->prof, t->comm);
    l[n].key = ignis_profile_intern(r->prof, "tid");
    l[n++].num = t->tid;
    n += process_labels(r, t, l + n);
    l[n].key = ignis_profile_intern(r->prof, "state");
    l[n++].str = ignis_profile_intern(r->prof, state);
    const char *wname = wchan ? ig_symtab_kernel(r->sym, wchan) : NULL;
    if (wname) {
        l[n].key = ignis_profile_intern(r->prof, "wchan");
        l[n++].str = ignis_profile_intern(r->prof, wname);
    }
    t->slabels = ignis_profile_add_labels(r->prof, l, n);
    t->slabels_gen = r->gen;
    t->slabels_state = state;
    t->slabels_wchan = wchan;
    return t->slabels;
}

/* The labels of a sample taken in a span: the thread's (and its state in a
 * wall-clock profile), then trace_id, span_id (lowercase hex, as W3C
 * traceparent writes them) and span_name (pprof string labels, the names
 * Pyroscope's span profiles use).  Interned by the profile. */
static uint32_t span_labels(ig_recorder *r, thread *t, const char *state, uint64_t wchan, const ig_spanbpf_label *sl)
{
    ignis_label l[10] = {{0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}};
    size_t n = 0;
    l[n].key = ignis_profile_intern(r->prof, "thread");
    l[n++].str = ignis_profile_intern(r->prof, t->comm);
    l[n].key = ignis_profile_intern(r->prof, "tid");
    l[n++].num = t->tid;
    n += process_labels(r, t, l + n);
    if (state) {
        l[n].key = ignis_profile_intern(r->prof, "state");
        l[n++].str = ignis_profile_intern(r->prof, state);
    }
    const char *wname = wchan ? ig_symtab_kernel(r->sym, wchan) : NULL;
    if (wname) {
        l[n].key = ignis_profile_intern(r->prof, "wchan");
        l[n++].str = ignis_profile_intern(r->prof, wname);
    }
    l[n].key = ignis_profile_intern(r->prof, "trace_id");
    l[n++].str = hex_string(r, sl->trace_id, sizeof sl->trace_id);
    l[n].key = ignis_profile_intern(r->prof, "span_id");
    l[n++].str = hex_string(r, sl->span_id, sizeof sl->span_id);
    if (sl->name_len) {
        l[n].key = ignis_profile_intern(r->prof, "span_name");
        l[n++].str = ig_pb_intern_string(r->prof, sl->name, sl->name_len); /* whole: a NUL as \u0000 */
    }
    return ignis_profile_add_labels(r->prof, l, n);
}

/* With sample_times: labels plus time_ns, a CLOCK_MONOTONIC stamp moved
 * to CLOCK_REALTIME by the offset read at the profile's start. */
static uint32_t with_time(ig_recorder *r, uint32_t labels, uint64_t mono_ns)
{
    if (!r->o.sample_times || !mono_ns || !r->popts.mono_clock) /* perf's own clock: no realtime */
        return labels;
    size_t n;
    const ignis_label *l = ignis_profile_labels(r->prof, labels, &n);
    ignis_label out[16];
    if (n >= sizeof out / sizeof out[0])
        return labels;
    memcpy(out, l, n * sizeof *l);
    out[n++] = (ignis_label){ignis_profile_intern(r->prof, "time_ns"), 0,
                             (int64_t)mono_ns - r->prof_start_mono + r->prof_start_real,
                             ignis_profile_intern(r->prof, "nanoseconds")};
    return ignis_profile_add_labels(r->prof, out, n);
}

/* ---- records ----------------------------------------------------------------- */

static bool tid_wanted(const ig_recorder *r, pid_t tid)
{
    if (!r->o.ntids) /* --tid: inherited children of picked threads are not wanted */
        return true;
    for (size_t i = 0; i < r->o.ntids; i++)
        if (r->o.tids[i] == tid)
            return true;
    return false;
}

/* The process of a sample, with its maps current for the sampled IP; NULL
 * for a CPU-wide event's sample of a process we do not follow. */
static proc *sample_proc(ig_recorder *r, const ig_perf_sample *s)
{
    proc *p = r->everyone  ? everyone_proc(r, (pid_t)s->pid)
              : r->per_cpu ? find_proc(r, (pid_t)s->pid) : get_proc(r, (pid_t)s->pid, NULL);
    if (!p)
        return NULL;
    p->sampled = true;
    if (p->maps_stale) /* launched or exec'd: read the new program's maps */
        proc_reload_maps(r, p);
    else if (s->regs_abi && !ig_maps_find(&p->maps, s->regs[IG_PREG_IP]) &&
             now_ns(CLOCK_MONOTONIC) - p->maps_loaded_ns > MAPS_RESCAN_NS)
        proc_reload_maps(r, p); /* code mapped after our last look (dlopen) */
    return p;
}

/* A sample's frames as addresses in r->ips: the kernel callchain (*nk
 * frames, context markers left out), then the unwound user stack (*nu).
 * *whole: the user stack reached its thread's first frame.  A switch-out
 * (`repeats`) is unwound through the stack memo: a thread blocked where
 * it blocked before has the same registers and stack bytes, and takes
 * the unwind then made (unwind.h, ig_unwind_repeated). */
static void sample_frames(ig_recorder *r, proc *p, const ig_perf_sample *s, bool repeats, uint32_t *nk, uint32_t *nu,
                          bool *whole)
{
    uint32_t k = 0;
    for (uint64_t i = 0; i < s->nr_chain && k < MAX_KERNEL_FRAMES; i++)
        if (s->chain[i] < (uint64_t)PERF_CONTEXT_MAX)
            r->ips[k++] = s->chain[i];
    ig_unwind_end end = IG_UNWIND_ROOT;
    if (!p->unw) /* made at the first sample: most processes of a machine never have one */
        p->unw = ig_unwinder_new(&p->maps);
    ig_unwind_from from = IG_UNWIND_FRESH;
    int u = !p->unw   ? (end = IG_UNWIND_NO_INFO, 0)
            : repeats ? ig_unwind_repeated(p->unw, s, r->ips + k, MAX_FRAMES, &end, &from)
                      : ig_unwind(p->unw, s, r->ips + k, MAX_FRAMES, &end);
    r->st.switch_unwinds_cached += from == IG_UNWIND_FROM_MEMO;
    r->st.switch_memo_differs += from == IG_UNWIND_MEMO_DIFFERS;
    *nk = k;
    *nu = u > 0 ? (uint32_t)u : 0;
    /* -a: a kernel thread has no user stack to reach, so it is whole */
    *whole = end == IG_UNWIND_ROOT || (r->all && end == IG_UNWIND_NO_REGS);
}

/* The frame of waits that began before the recording: their stacks were
 * never sampled. */
#define WAITING_FRAME "[waiting when recording began]"

static uint32_t waiting_location(ig_recorder *r)
{
    if (r->waiting_gen != r->gen + 1) {
        uint32_t f = ignis_profile_function_named(r->prof, WAITING_FRAME, NULL, 0);
        r->waiting_loc = ignis_profile_location_for_function(r->prof, f, IGNIS_FRAME_USER);
        r->waiting_gen = r->gen + 1;
    }
    return r->waiting_loc;
}

/* The profile stack of frames ips (nk kernel, then nu user; ip when there
 * are none), rooted at [truncated] when not whole, and at the thread with
 * --per-thread. */
static uint32_t frames_stack(ig_recorder *r, proc *p, thread *t, const uint64_t *ips, uint32_t nk, uint32_t nu,
                             bool whole, uint64_t ip)
{
    size_t n = 0;
    for (uint32_t i = 0; i < nk; i++)
        r->stack[n++] = kernel_location(r, ips[i]);
    for (uint32_t i = 0; i < nu; i++)
        r->stack[n++] = user_location(r, p, ips[nk + i], i > 0);
    if (n == 0) /* nothing at all: keep the sample under its raw IP */
        r->stack[n++] = user_location(r, p, ip, false);
    if (!whole) { /* the thread's first frame not reached: say so */
        r->st.partial++;
        r->stack[n++] = ig_truncated_location(r->prof);
    }
    if (r->o.per_thread)
        r->stack[n++] = thread_root(r, t);
    return ignis_profile_add_stack(r->prof, r->stack, n);
}

static void note_sampled(ig_recorder *r, thread *t)
{
    if (!t->sampled) {
        t->sampled = true;
        r->st.threads++;
    }
}

/* An on-CPU sample (of ring CPU cpu): cpu time, and wall time in a
 * wall-clock profile. */
static void handle_sample(ig_recorder *r, const struct perf_event_header *h, int cpu)
{
    ig_perf_sample s;
    if (ig_perf_parse_sample(h, &s) != 0) {
        r->st.bad++;
        return;
    }
    if (!tid_wanted(r, (pid_t)s.tid))
        return;
    proc *p = sample_proc(r, &s);
    if (!p) { /* a CPU-wide event's sample of a process we do not follow */
        r->st.foreign_samples += !r->everyone;
        return;
    }
    const ig_spanbpf_label *span = sample_span(r, p, &s, cpu);
    thread *t = get_thread(r, (pid_t)s.pid, (pid_t)s.tid);
    uint32_t nk, nu;
    bool whole;
    proc *image = exec_image(p, &s);
    sample_frames(r, image, &s, false, &nk, &nu, &whole);
    uint32_t stack = frames_stack(r, image, t, r->ips, nk, nu, whole, s.ip);
    int64_t values[4] = {1, 0, 0, 0};
    values[r->vi_cpu] = (int64_t)s.period;
    if (r->vi_wall >= 0)
        values[r->vi_wall] = (int64_t)s.period;
    uint32_t labels = span         ? span_labels(r, t, r->o.wall ? IG_STATE_RUNNING : NULL, 0, span)
                      : r->o.wall ? state_labels(r, t, IG_STATE_RUNNING, 0)
                                  : thread_labels(r, t);
    ignis_profile_add_sample(r->prof, stack, with_time(r, labels, s.time), values);
    r->st.samples++;
    if (p->target || r->st.child > 0)
        r->st.target_sampled_ns += s.period;
    note_sampled(r, t);
}

/* A closed off-CPU interval (ig_offcpu_in, ig_offcpu_split_all): one
 * sample of its duration, unless the whole wait is under the threshold. */
static void add_interval(const ig_offcpu_interval *iv, void *ctx)
{
    ig_recorder *r = ctx;
    if (iv->end - iv->out_time < r->o.off_cpu_min_ns) {
        r->st.offcpu_short++;
        return;
    }
    proc *p = find_proc(r, iv->pid);
    if (!p)
        return;
    thread *t = get_thread(r, iv->pid, iv->tid);
    uint64_t ns = iv->end - iv->start;
    uint32_t stack;
    if (iv->before_start) {
        r->stack[0] = waiting_location(r);
        if (r->o.per_thread)
            r->stack[1] = thread_root(r, t);
        stack = ignis_profile_add_stack(r->prof, r->stack, r->o.per_thread ? 2 : 1);
    } else {
        stack = frames_stack(r, p, t, iv->ips, iv->nkernel, iv->nuser, !iv->truncated, 0);
    }
    bool waiting = strcmp(iv->state, IG_STATE_RUNNABLE) != 0; /* a preempted thread waits for no channel */
    uint64_t wchan = waiting ? iv->wchan : 0;
    uint32_t labels = iv->has_span ? span_labels(r, t, iv->state, wchan, &iv->span)
                                   : state_labels(r, t, iv->state, wchan);
    labels = with_time(r, labels, iv->start);
    int64_t values[4] = {1, 0, 0, 0};
    values[r->vi_off] = (int64_t)ns;
    if (r->vi_wall >= 0)
        values[r->vi_wall] = (int64_t)ns;
    ignis_profile_add_sample(r->prof, stack, labels, values);
    r->st.intervals++;
    r->st.offcpu_ns += ns;
    note_sampled(r, t);
}

static const char *kernel_name(uint64_t addr, void *ctx)
{
    return ig_symtab_kernel(((ig_recorder *)ctx)->sym, addr);
}

/* A switch-out sample: opens the thread's off-CPU interval with its stacks
 * and the state it left the CPU in (the tracepoint's prev_state; the
 * context-switches event's comes with the switch-out record next). */
static void handle_switch_sample(ig_recorder *r, const struct perf_event_header *h, ig_perf_kind kind, int cpu)
{
    ig_perf_sample s;
    if (ig_perf_parse_sample_of(h, kind, &s) != 0) {
        r->st.bad++;
        return;
    }
    const char *state = IG_STATE_BLOCKED;
    if (kind == IG_PERF_SCHED_SWITCH) { /* prev is the sampled thread (its pid in the
                                         * kernel's namespace, not always ours) */
        ig_sched_switch_rec rec;
        if (ig_sched_switch_decode(&r->ssfmt, s.raw, s.raw_size, &rec) != 0) {
            r->st.bad++;
            return;
        }
        state = ig_sched_state_name(rec.prev_state);
    }
    if (!tid_wanted(r, (pid_t)s.tid))
        return;
    proc *p = sample_proc(r, &s);
    if (!p)
        return;
    r->st.switches++;
    const ig_spanbpf_label *span = switch_span(r, p, &s, cpu);
    ig_offcpu_interval iv = {0};
    if (span) {
        iv.has_span = true;
        iv.span = *span;
    }
    iv.pid = (pid_t)s.pid;
    iv.tid = (pid_t)s.tid;
    iv.out_time = s.time;
    iv.state = state;
    iv.wchan = ig_offcpu_wchan(r->oc, s.chain, s.nr_chain, kernel_name, r);
    bool whole;
    sample_frames(r, p, &s, true, &iv.nkernel, &iv.nuser, &whole);
    iv.truncated = !whole;
    iv.ips = r->ips;
    ig_offcpu_out(r->oc, &iv);
}

/* A switch record: a switch-in closes its thread's interval; a switch-out
 * gives the state (preempted or not) when the sample had none. */
static void handle_switch(ig_recorder *r, const struct perf_event_header *h)
{
    ig_perf_switch sw;
    if (!r->oc || ig_perf_parse_switch(h, &sw) != 0)
        return;
    if (sw.out) {
        if (r->swopts.kind == IG_PERF_CONTEXT_SWITCHES)
            ig_offcpu_set_state(r->oc, (pid_t)sw.tid, sw.preempt ? IG_STATE_RUNNABLE : IG_STATE_BLOCKED);
        return;
    }
    const ig_offcpu_interval *iv = ig_offcpu_in(r->oc, (pid_t)sw.tid, sw.time);
    if (iv)
        add_interval(iv, r);
}

/* ---- the BPF engine (profiler/offbpf.h) ------------------------------------
 *
 * Its events come through a BPF ring buffer, beside the perf rings that
 * still give the side-band records (MMAP2, COMM, FORK, EXIT) of dummy
 * events.  So that a wait's stack is read with the maps of its time, each
 * drain copies the events into a queue sorted by time (a WAIT's switch-in,
 * an OUT's switch-out, an IN's switch-in) and the merge hands each one
 * over before the first perf record stamped after it; those newer than
 * the merge's horizon wait for the next drain, as perf records do.  Each
 * becomes what a switch-out sample would: an ig_perf_sample (registers,
 * stack bytes, the kernel chain with its PERF_CONTEXT_KERNEL marker), so
 * the unwinding, stack memo and symbolization are the perf path's.  A
 * WAIT is a whole interval with its value; OUT and IN go through
 * ig_offcpu_out / ig_offcpu_in. */

typedef struct pending_wait {
    uint64_t time;
    ig_offbpf_event e;
    uint8_t *stack; /* e.stack's bytes, owned */
} pending_wait;

static void offbpf_queue(void *ctx, const ig_offbpf_event *e)
{
    ig_recorder *r = ctx;
    if (r->npend == r->cap_pend) {
        r->cap_pend = r->cap_pend ? r->cap_pend * 2 : 256;
        r->pend = ig_xrealloc(r->pend, r->cap_pend * sizeof *r->pend);
    }
    pending_wait *w = r->pend[r->npend++] = ig_xmalloc(sizeof *w);
    w->e = *e;
    w->time = e->kind == IG_OFFBPF_OUT ? e->out_time : e->in_time;
    w->stack = NULL;
    if (e->stack_len) {
        w->stack = ig_xmalloc(e->stack_len);
        memcpy(w->stack, e->stack, e->stack_len);
    }
    w->e.stack = w->stack;
}

static int by_time(const void *a, const void *b)
{
    uint64_t x = (*(pending_wait *const *)a)->time, y = (*(pending_wait *const *)b)->time;
    return x < y ? -1 : x > y;
}

/* Counts the span of a wait the program wrote (it labels the waits of
 * the processes in its map, from span_followed on); whether it has one.
 * The waits of a process still looked at are not told, once it is
 * followed, and count towards the end of its first moments (span_eager). */
static bool offbpf_span_count(ig_recorder *r, proc *p, const ig_offbpf_event *e)
{
    if (p->span == SPAN_LOOK) {
        p->span_early_sw++;
        return false;
    }
    if (p->span != SPAN_FOLLOWED)
        return false;
    if (e->has_span)
        r->st.span_sw_labelled++;
    else if (e->in_time >= p->span_ob_since_ns)
        r->st.span_sw_outside++;
    else
        r->st.span_sw_unlabelled++; /* it ended before the program knew its process */
    return e->has_span;
}

/* A WAIT or OUT event as the interval its switch-out sample would open. */
static bool offbpf_interval(ig_recorder *r, const ig_offbpf_event *e, ig_offcpu_interval *iv)
{
    uint64_t chain[IG_OFFBPF_EV_KFRAMES + 1];
    ig_perf_sample s = {.pid = (uint32_t)e->pid, .tid = (uint32_t)e->tid, .time = e->out_time, .chain = chain};
    if (e->nkernel) {
        chain[0] = (uint64_t)PERF_CONTEXT_KERNEL;
        memcpy(chain + 1, e->kstack, e->nkernel * sizeof *chain);
        s.nr_chain = e->nkernel + 1;
    }
    if (e->has_regs) {
        s.regs_abi = PERF_SAMPLE_REGS_ABI_64;
        memcpy(s.regs, e->regs, sizeof s.regs);
        s.ip = e->regs[IG_PREG_IP];
        s.stack = e->stack;
        s.stack_size = e->stack_len;
    }
    if (!tid_wanted(r, e->tid))
        return false;
    proc *p = sample_proc(r, &s);
    if (!p)
        return false;
    *iv = (ig_offcpu_interval){.pid = e->pid, .tid = e->tid, .out_time = e->out_time,
                               .state = ig_sched_state_name(e->state)};
    if (offbpf_span_count(r, p, e)) {
        iv->has_span = true;
        iv->span = e->span;
    }
    iv->wchan = ig_offcpu_wchan(r->oc, s.chain, s.nr_chain, kernel_name, r);
    /* a blocked task's stack (a WAIT's, taken at its switch-in) begins
     * below the scheduler's frames: its first other frame is the channel */
    for (uint32_t i = 0; !iv->wchan && e->kind == IG_OFFBPF_WAIT && i < e->nkernel; i++) {
        const char *name = kernel_name(e->kstack[i], r);
        if (!name || !ig_offcpu_is_sched_function(name))
            iv->wchan = e->kstack[i];
    }
    bool whole;
    sample_frames(r, p, &s, true, &iv->nkernel, &iv->nuser, &whole);
    iv->truncated = !whole;
    iv->ips = r->ips;
    return true;
}

static void offbpf_handle(ig_recorder *r, const ig_offbpf_event *e)
{
    ig_offcpu_interval iv;
    if (e->kind == IG_OFFBPF_IN) {
        const ig_offcpu_interval *closed = ig_offcpu_in(r->oc, e->tid, e->in_time);
        if (!closed || e->drop) /* drop: a thread presumed runnable was on a CPU */
            return;
        iv = *closed;
        uint64_t d = e->in_time > iv.out_time ? e->in_time - iv.out_time : 0;
        if (e->value && d && e->value != d && !iv.before_start) /* drawn with probability d / value */
            iv.end = iv.start + (uint64_t)((double)(iv.end - iv.start) * ((double)e->value / (double)d));
        add_interval(&iv, r);
    } else if (offbpf_interval(r, e, &iv)) {
        /* a wait opened for the thread at attach whose IN was missed ended,
         * at the latest, when this one began */
        const ig_offcpu_interval *before = e->kind == IG_OFFBPF_WAIT ? ig_offcpu_in(r->oc, e->tid, e->out_time) : NULL;
        if (before)
            add_interval(before, r);
        if (e->kind == IG_OFFBPF_OUT) {
            ig_offcpu_out(r->oc, &iv);
        } else {
            iv.start = e->out_time; /* the value it stands for, from its start */
            iv.end = e->out_time + e->value;
            add_interval(&iv, r);
        }
    }
}

/* Hands over the queued events stamped up to `time`. */
static void offbpf_until(ig_recorder *r, uint64_t time)
{
    while (r->pend_first < r->npend && r->pend[r->pend_first]->time <= time) {
        pending_wait *w = r->pend[r->pend_first++];
        offbpf_handle(r, &w->e);
        free(w->stack);
        free(w);
    }
}

/* Drops the handled events from the queue's front (once per drain). */
static void offbpf_compact(ig_recorder *r)
{
    if (!r->pend_first)
        return;
    memmove(r->pend, r->pend + r->pend_first, (r->npend - r->pend_first) * sizeof *r->pend);
    r->npend -= r->pend_first;
    r->pend_first = 0;
}

/* The BPF engine's counters; its threads' own are read at most once a
 * second (each read copies every thread's entry), and at the last drain. */
static void offbpf_stats(ig_recorder *r, bool flush)
{
    uint64_t now = (uint64_t)now_ns(CLOCK_MONOTONIC);
    if (flush || now - r->ob_stats_at >= 1000000000u) {
        ig_offbpf_stats_refresh(r->ob);
        r->ob_stats_at = now;
    }
    ig_offbpf_stats b;
    ig_offbpf_stats_get(r->ob, &b);
    r->st.bpf_seen = r->st.switches = b.seen;
    r->st.bpf_off_ns = b.off_ns;
    r->st.bpf_recorded = b.recorded;
    r->st.bpf_sampled_out = b.sampled_out;
    r->st.bpf_below_min = b.below_min;
    r->st.bpf_dropped = b.dropped;
    r->st.bpf_mismatch = b.mismatch;
    r->st.bpf_exits = b.exits;
    r->st.bpf_late_in = b.late_in;
    r->st.bpf_late_ns = b.late_ns;
    r->st.bpf_value_ns = b.value_ns;
    r->st.bpf_prog_ns = b.prog_ns;
    r->st.lost = r->st.lost > r->st.bpf_dropped ? r->st.lost : r->st.bpf_dropped;
}

typedef struct task_rec {
    uint32_t pid, ppid, tid, ptid;
    uint64_t time;
} task_rec;

static void handle_fork(ig_recorder *r, const struct perf_event_header *h)
{
    if (h->size < sizeof *h + sizeof(task_rec))
        return;
    task_rec tr;
    memcpy(&tr, h + 1, sizeof tr);
    proc *parent = r->everyone ? everyone_proc(r, (pid_t)tr.ppid) : find_proc(r, (pid_t)tr.ppid);
    if (r->per_cpu && !parent)
        return; /* not a process we follow */
    if (r->all && tr.pid != tr.ppid)
        forget_proc(r, (pid_t)tr.pid); /* an EXIT we did not see: the pid is new again */
    if (tr.pid != tr.ppid && parent)
        get_proc(r, (pid_t)tr.pid, parent);
    thread *t = find_thread(r, (pid_t)tr.tid);
    if (t && t->direct && !r->o.ntids) { /* attached directly but inherited too */
        doom_thread_events(r, t->tid);
        t->direct = false;
    }
    /* A new thread is named as the thread that made it (until its COMM):
     * /proc may show a later name, or none once it exited. */
    char comm[sizeof t->comm];
    thread *creator = find_thread(r, (pid_t)tr.ptid);
    snprintf(comm, sizeof comm, "%s", creator ? creator->comm : "");
    if (t && t->dead && comm[0]) { /* a tid used again */
        memcpy(t->comm, comm, sizeof comm);
        t->labels_gen = t->root_gen = UINT32_MAX;
    }
    t = get_thread_named(r, (pid_t)tr.pid, (pid_t)tr.tid, comm[0] ? comm : NULL);
    t->dead = false;
}

/* A process leaves the span and off-CPU programs' maps (its pid may be
 * another's next) once no thread of it is left: its leader's EXIT does not
 * say so (the leader may exit before its threads; a thread's exec takes
 * the leader's place), so this is asked at each EXIT of its threads once
 * the leader's came.  Leaving early stopped every CPU sample of the rest
 * of the process (the off-CPU map is the CPU-wide events' filter). */
static void process_left(ig_recorder *r, pid_t pid, pid_t tid)
{
    const thread *leader = find_thread(r, pid);
    if (leader ? !leader->dead || !process_gone(r, pid) : tid != pid)
        return; /* (a leader never seen: gone at its EXIT, as before) */
    span_exit(r, pid);
    if (r->ob && !r->everyone)
        ig_offbpf_unfollow(r->ob, pid);
}

static void handle_exit(ig_recorder *r, const struct perf_event_header *h)
{
    if (h->size < sizeof *h + sizeof(task_rec))
        return;
    task_rec tr;
    memcpy(&tr, h + 1, sizeof tr);
    thread *t = find_thread(r, (pid_t)tr.tid);
    if (t)
        t->dead = true;
    process_left(r, (pid_t)tr.pid, (pid_t)tr.tid);
    const ig_offcpu_interval *iv = r->oc ? ig_offcpu_in(r->oc, (pid_t)tr.tid, tr.time) : NULL;
    if (iv) /* its switch-in was lost: the wait ended by the exit at the latest */
        add_interval(iv, r);
    if (r->all)
        prune_exited(r, (pid_t)tr.pid, (pid_t)tr.tid);
}

/* ---- exec: the old image's last samples -------------------------------------------
 *
 * The kernel writes the COMM exec record from begin_new_exec, while the
 * thread is still inside execve (load_elf_binary, the new image's first
 * page faults): samples taken until execve returns are in the kernel with
 * the old program's user registers and stack.  As perf does (it keeps the
 * old maps until the new image's replace them), the old image (maps and
 * symbol cache) is kept beside the new one: a kernel-mode sample after the
 * exec whose user IP is in no mapping of the new image but in one of the
 * old is unwound with the old; the first user-mode sample after the exec
 * (the new program runs) or the next exec lets it go. */
static void keep_old_image(proc *p, uint64_t time)
{
    if (p->old_image)
        free_proc(p->old_image);
    proc *old = ig_xcalloc(1, sizeof *old);
    old->pid = p->pid;
    old->maps = p->maps; /* moved: the unwinder holds &p->maps, so it is remade for each */
    old->locs = p->locs;
    old->locs_gen = p->locs_gen;
    old->maps_loaded_ns = INT64_MAX; /* never read again from /proc: that is the new image now */
    memset(&p->maps, 0, sizeof p->maps);
    memset(&p->locs, 0, sizeof p->locs);
    ig_unwinder_free(p->unw);
    p->unw = NULL;
    p->old_image = old;
    p->exec_ns = time;
}

/* The image sample s of p ran with (p, or the one before its exec). */
static proc *exec_image(proc *p, const ig_perf_sample *s)
{
    proc *old = p->old_image;
    if (!old || s->time < p->exec_ns)
        return p;
    if (s->user_mode) { /* execve returned: the new program runs */
        free_proc(old);
        p->old_image = NULL;
        return p;
    }
    if (!s->regs_abi || ig_maps_find(&p->maps, s->regs[IG_PREG_IP]) ||
        !ig_maps_find(&old->maps, s->regs[IG_PREG_IP]))
        return p;
    return old;
}

static void handle_comm(ig_recorder *r, const struct perf_event_header *h)
{
    const uint8_t *b = (const uint8_t *)(h + 1), *end = (const uint8_t *)h + h->size;
    if (end - b < 9)
        return;
    uint32_t pid, tid;
    memcpy(&pid, b, 4);
    memcpy(&tid, b + 4, 4);
    if (r->everyone ? !everyone_proc(r, (pid_t)pid) : r->per_cpu && !find_proc(r, (pid_t)pid))
        return;
    const char *name = (const char *)(b + 8);
    size_t len = strnlen(name, (size_t)(end - b - 8));
    thread *t = get_thread(r, (pid_t)pid, (pid_t)tid);
    if (len >= sizeof t->comm)
        len = sizeof t->comm - 1;
    if (len != strlen(t->comm) || memcmp(t->comm, name, len)) {
        memcpy(t->comm, name, len);
        t->comm[len] = '\0';
        t->labels_gen = t->root_gen = UINT32_MAX;
    }
    if (h->misc & PERF_RECORD_MISC_COMM_EXEC) {
        proc *p = find_proc(r, (pid_t)pid);
        if (p) { /* a new program: its mappings arrive next */
            keep_old_image(p, ig_perf_record_time(h));
            p->maps_stale = true;
            span_exec(r, p, ig_perf_record_time(h));
        }
    }
}

static void handle_mmap2(ig_recorder *r, const struct perf_event_header *h)
{
    struct {
        uint32_t pid, tid;
        uint64_t addr, len, pgoff;
        uint32_t maj, min;
        uint64_t ino, ino_gen;
        uint32_t prot, flags;
    } m;
    if (h->size < sizeof *h + sizeof m + 1)
        return;
    memcpy(&m, h + 1, sizeof m);
    const char *name = (const char *)(h + 1) + sizeof m;
    size_t maxlen = h->size - sizeof *h - sizeof m;
    if (strnlen(name, maxlen) == maxlen || !(m.prot & 4 /* PROT_EXEC */))
        return;
    proc *p = r->everyone ? everyone_proc(r, (pid_t)m.pid) : find_proc(r, (pid_t)m.pid);
    if (!p)
        return; /* its maps are read from /proc when its first sample arrives */
    bool overlaps = false;
    for (size_t i = 0; i < p->maps.n && !overlaps; i++)
        overlaps = p->maps.v[i].start < m.addr + m.len && p->maps.v[i].end > m.addr;
    if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
        m.ino = 0;
    ig_maps_add(&p->maps, &r->mods, p->pid, m.addr, m.len, m.pgoff, name, 0, m.ino);
    hold_module_file(r, ig_maps_find(&p->maps, m.addr));
    if (overlaps)
        proc_invalidate(p);
}

/* Handles record h of a ring (of CPU cpu) whose events are of `kind`. */
static void handle_record(ig_recorder *r, const struct perf_event_header *h, ig_perf_kind kind, int cpu)
{
    switch (h->type) {
    case PERF_RECORD_SAMPLE:
        if (ig_perf_kind_switches(kind))
            handle_switch_sample(r, h, kind, cpu);
        else
            handle_sample(r, h, cpu);
        break;
    case PERF_RECORD_SWITCH:
    case PERF_RECORD_SWITCH_CPU_WIDE: handle_switch(r, h); break;
    case PERF_RECORD_MMAP2: handle_mmap2(r, h); break;
    case PERF_RECORD_COMM: handle_comm(r, h); break;
    case PERF_RECORD_FORK: handle_fork(r, h); break;
    case PERF_RECORD_EXIT: handle_exit(r, h); break;
    case PERF_RECORD_LOST:
        if (h->size >= sizeof *h + 16) {
            uint64_t lost;
            memcpy(&lost, (const uint8_t *)(h + 1) + 8, 8);
            r->st.lost += lost;
        }
        break;
    case PERF_RECORD_LOST_SAMPLES:
        if (h->size >= sizeof *h + 8) {
            uint64_t lost;
            memcpy(&lost, h + 1, 8);
            r->st.lost += lost;
        }
        break;
    case PERF_RECORD_THROTTLE: r->st.throttled++; break;
    default: break; /* unthrottle, mmap (v1), ... */
    }
}

/* ---- time order across rings -------------------------------------------------
 *
 * Each CPU's ring is in time order, but one process's records are spread
 * over the rings of the CPUs it ran on: its FORK in one, the COMM and MMAP2
 * records of the program it execs in another, its samples in a third.
 * Draining ring after ring handled samples before the records that give
 * them their program and name (a fork+exec'd child's samples named with the
 * parent's functions, labelled with a tid).  So, as perf's ordered events
 * do, a drain merges the rings by time: a binary heap holds each ring's
 * oldest record not handled yet (a few compares per record; the records
 * are read in place), and the oldest of all is handled next.
 *
 * A record is stamped before the kernel makes it visible, so one stamped
 * just before the drain began may still be coming into some ring.  Records
 * stamped within reorder_ns of the drain's start (20 ms, less when the
 * rings hold under 160 ms) therefore stay in their ring, in place, until
 * the next drain.  A flush (the end, a profile handed over) takes all that
 * is visible, still in time order.  Stamps are on CLOCK_MONOTONIC to
 * compare with the drain's clock; a kernel without use_clockid gets the
 * merge without the hold-back.  A switch events' ring a quarter full or
 * more (a thread that switches very often) is drained whole, since holding
 * records back would then overflow it; a switch-in never needs the
 * hold-back, its switch-out was written before it happened. */

static void swap_fronts(ring_front *a, ring_front *b)
{
    ring_front t = *a;
    *a = *b;
    *b = t;
}

static void heap_sift_down(ring_front *hp, size_t n, size_t i)
{
    for (;;) {
        size_t least = i, l = 2 * i + 1;
        if (l < n && hp[l].time < hp[least].time)
            least = l;
        if (l + 1 < n && hp[l + 1].time < hp[least].time)
            least = l + 1;
        if (least == i)
            return;
        swap_fronts(&hp[i], &hp[least]);
        i = least;
    }
}

static void heap_push(ring_front *hp, size_t *n, ring_front f)
{
    size_t i = (*n)++;
    hp[i] = f;
    while (i > 0 && hp[(i - 1) / 2].time > hp[i].time) {
        swap_fronts(&hp[i], &hp[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

/* A record's place in the merge; a stamp that cannot be ours (far in the
 * future) is taken at once rather than held forever. */
static uint64_t merge_time(const ig_recorder *r, const struct perf_event_header *h, uint64_t now)
{
    uint64_t t = ig_perf_record_time(h);
    return r->popts.mono_clock && t > now + FUTURE_NS ? 0 : t;
}

static void drain_all(ig_recorder *r, bool flush)
{
    update_target_cpu(r); /* the CPU time the records up to now account for */
    uint64_t now = (uint64_t)now_ns(CLOCK_MONOTONIC);
    uint64_t horizon = flush || !r->popts.mono_clock ? UINT64_MAX : now - r->reorder_ns;
    ring_front *hp = r->fronts;
    size_t n = 0;
    for (size_t i = 0; i < r->nrings; i++) {
        ig_ring_begin(&r->rings[i]);
        if (ig_perf_kind_switches(r->ring_kind[i]) && r->rings[i].head - r->rings[i].tail >= r->rings[i].size / 4)
            horizon = UINT64_MAX;
        const struct perf_event_header *h = ig_ring_peek(&r->rings[i]);
        if (h)
            heap_push(hp, &n, (ring_front){merge_time(r, h, now), i, h});
    }
    if (r->sb) /* after every ring's begin: each sample visible has its event in by now */
        spans_drain(r);
    if (r->ob && ig_offbpf_drain(r->ob, offbpf_queue, r))
        qsort(r->pend, r->npend, sizeof *r->pend, by_time);
    while (n && hp[0].time <= horizon) {
        ig_ring *ring = &r->rings[hp[0].ring];
        if (r->pend_first < r->npend && r->pend[r->pend_first]->time < hp[0].time)
            offbpf_until(r, hp[0].time - 1);
        if (hp[0].time > r->last_time) /* a stamp from the future was made 0 */
            r->last_time = hp[0].time;
        handle_record(r, hp[0].h, r->ring_kind[hp[0].ring], r->ring_cpu[hp[0].ring]);
        ig_ring_advance(ring, hp[0].h);
        ig_ring_end(ring); /* the space is the kernel's again at once: a long drain loses less */
        const struct perf_event_header *h = ig_ring_peek(ring);
        if (h)
            hp[0].h = h, hp[0].time = merge_time(r, h, now);
        else
            hp[0] = hp[--n];
        heap_sift_down(hp, n, 0);
    }
    for (size_t i = 0; i < r->nrings; i++)
        ig_ring_end(&r->rings[i]); /* records skipped as corrupt */
    if (r->ob) {
        offbpf_until(r, horizon);
        offbpf_compact(r);
        offbpf_stats(r, flush);
    }
    if (r->oc)
        r->st.offcpu_unmatched = ig_offcpu_get_stats(r->oc)->unmatched;
}

/* ---- attaching ------------------------------------------------------------- */

static int permission_error(ig_err *err, pid_t pid)
{
    return ig_err_set(err,
                      "-p %d: perf_event_open: permission denied (kernel.perf_event_paranoid=%d); run as root or "
                      "with CAP_PERFMON and CAP_SYS_PTRACE (setcap cap_perfmon,cap_sys_ptrace+ep ignis), or "
                      "allow it with 'sysctl kernel.perf_event_paranoid=1'",
                      (int)pid, ig_perf_paranoid());
}

/* A thread attached while off the CPU (-p, --tid) will show only its
 * switch-in: its wait so far is counted from now, under WAITING_FRAME,
 * with the state /proc gives.  Read after its events opened, so a wake-up
 * in between still closes it (at once). */
static void presume_waiting(ig_recorder *r, pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    const char *paren = n > 0 ? (buf[n] = '\0', strrchr(buf, ')')) : NULL;
    if (!paren || paren[1] != ' ')
        return;
    /* R: on a CPU, or waiting for one (a loaded machine's runqueue can
     * hold a thread for hundreds of ms): presumed waiting for the BPF
     * engine, which drops the wait if the thread's first switch is a
     * switch-out (it was on a CPU). */
    bool runnable = paren[2] == 'R';
    if (runnable && !r->ob)
        return;
    static const struct { char c; int64_t bits; } states[] = {
        {'S', 1}, {'D', 2}, {'T', 4}, {'t', 8}, {'P', 64}, {'I', 128}, {'R', 0},
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (paren[2] == states[i].c) {
            ig_offcpu_interval iv = {0};
            iv.pid = pid;
            iv.tid = tid;
            iv.out_time = records_now(r);
            iv.state = ig_sched_state_name(states[i].bits);
            iv.before_start = true;
            ig_offcpu_out(r->oc, &iv);
            if (r->ob && !ig_offbpf_presume_waiting(r->ob, tid, runnable))
                ig_offcpu_in(r->oc, tid, iv.out_time); /* the program's wait, not ours: dropped */
            return;
        }
}

/* Notes whether thread tid could be attached: a thread that cannot (out
 * of file descriptors, say) is counted once as not sampled, and no longer
 * once a later scan attaches it. */
static void note_attach(ig_recorder *r, pid_t tid, bool ok, int why)
{
    uint64_t state = 0;
    ig_u64map_get(&r->failed_tids, (uint64_t)tid, &state);
    if (ok && state == 1) {
        ig_u64map_put(&r->failed_tids, (uint64_t)tid, 2);
        r->st.unattached--;
    } else if (!ok && state == 0) {
        ig_u64map_put(&r->failed_tids, (uint64_t)tid, 1);
        if (!r->st.unattached_errno)
            r->st.unattached_errno = why;
        r->st.unattached++;
    }
}

/* Attaches every thread of pid we do not know yet.  Returns how many were
 * attached, or -1 with errno from the first failure other than a thread
 * that vanished. */
static int scan_tasks(ig_recorder *r, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int attached = 0, failure = 0;
    struct dirent *de;
    bool drained = false;
    while ((de = readdir(d))) {
        pid_t tid = (pid_t)atoi(de->d_name);
        uint64_t dummy;
        if (tid <= 0 || find_thread(r, tid) || ig_u64map_get(&r->dead_tids, (uint64_t)tid, &dummy))
            continue;
        if (!drained) { /* its FORK record may be waiting */
            drain_all(r, false);
            drained = true;
            if (find_thread(r, tid))
                continue;
        }
        if (open_thread(r, pid, tid) == 0) {
            attached++;
            note_attach(r, tid, true, 0);
            if (r->oc)
                presume_waiting(r, pid, tid);
        } else if (errno == ESRCH) {
            ig_u64map_put(&r->dead_tids, (uint64_t)tid, 1);
        } else {
            if (!failure)
                failure = errno;
            note_attach(r, tid, false, errno);
        }
    }
    closedir(d);
    if (failure && !attached) {
        errno = failure;
        return -1;
    }
    return attached;
}

/* With per-CPU events a process is followed, not attached; its main
 * thread must still be one we may sample on its own (the same permission
 * check as per-thread events).  cpu_ns: its CPU time before the events
 * opened. */
/* presume_waiting for every thread of pid (per CPU, no thread is
 * attached one by one). */
static void presume_all_waiting(ig_recorder *r, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (atoi(de->d_name) > 0) {
            get_thread(r, pid, (pid_t)atoi(de->d_name)); /* its name now: it may never write a record */
            presume_waiting(r, pid, (pid_t)atoi(de->d_name));
        }
    if (d)
        closedir(d);
}

static int follow_process(ig_recorder *r, pid_t pid, uint64_t cpu_ns, ig_err *err)
{
    int fd = open_event(r, pid, 0);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            return permission_error(err, pid);
        if (errno == ESRCH)
            return ig_err_set(err, "-p %d: the process exited before it could be attached", (int)pid);
        return ig_err_set(err, "-p %d: perf_event_open: %s", (int)pid, strerror(errno));
    }
    close(fd);
    mark_target(get_proc(r, pid, NULL), cpu_ns);
    r->st.attached += count_tasks(pid);
    if (r->ob) /* the BPF engine follows it from now: its threads waiting now are presumed so */
        presume_all_waiting(r, pid);
    return 0;
}

static int attach_process(ig_recorder *r, pid_t pid, uint64_t cpu_ns, ig_err *err)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return ig_err_set(err, "-p %d: no such process", (int)pid);
    if (r->ob && ig_offbpf_follow(r->ob, pid, false, err) != 0)
        return -1;
    if (r->per_cpu)
        return follow_process(r, pid, cpu_ns, err);
    mark_target(get_proc(r, pid, NULL), cpu_now_ns(pid));
    size_t before = r->nevents;
    for (int round = 0; round < 8; round++) {
        int n = scan_tasks(r, pid);
        if (n < 0) {
            if (errno == EACCES || errno == EPERM)
                return permission_error(err, pid);
            if (errno == ENOENT || errno == ESRCH || r->nevents > before)
                break; /* gone, or some threads attached: the others are counted */
            return ig_err_set(err, "-p %d: perf_event_open: %s", (int)pid, strerror(errno));
        }
        if (n == 0)
            break;
    }
    if (r->nevents == before)
        return ig_err_set(err, "-p %d: the process exited before it could be attached", (int)pid);
    return 0;
}

static int attach_tid(ig_recorder *r, pid_t tid, ig_err *err)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    FILE *f = fopen(path, "re");
    pid_t pid = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Tgid: %d", &pid) == 1)
            break;
    if (f)
        fclose(f);
    if (pid <= 0)
        return ig_err_set(err, "--tid %d: no such thread", (int)tid);
    get_proc(r, pid, NULL);
    if (open_thread(r, pid, tid) != 0) {
        if (errno == EACCES || errno == EPERM)
            return permission_error(err, pid);
        return ig_err_set(err, "--tid %d: perf_event_open: %s", (int)tid, strerror(errno));
    }
    if (r->oc)
        presume_waiting(r, pid, tid);
    return 0;
}

bool ig_has_controlling_tty(void)
{
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Why exec of file failed: "is a directory" rather than EACCES's text. */
static const char *exec_error(const char *file, int e)
{
    struct stat st;
    if (e == EACCES && strchr(file, '/') && stat(file, &st) == 0 && S_ISDIR(st.st_mode))
        return "is a directory";
    return strerror(e);
}

/* Forks the command stopped on a pipe, attaches, then lets it exec.  A
 * second (close-on-exec) pipe reports an exec failure back.  Without a
 * controlling terminal the command gets a process group of its own, so
 * ending it ends everything it started (ig_recorder_signal_command); with
 * one it stays in ignis's group, which the terminal's job control owns
 * (Ctrl-C, Ctrl-Z and tty reads must reach it as they reach ignis, as
 * `timeout --foreground`). */
static int launch(ig_recorder *r, ig_err *err)
{
    bool own_group = !ig_has_controlling_tty();
    int go[2], fail[2];
    if (pipe2(go, O_CLOEXEC) != 0)
        return ig_err_set(err, "pipe: %s", strerror(errno));
    if (pipe2(fail, O_CLOEXEC) != 0) {
        close(go[0]), close(go[1]);
        return ig_err_set(err, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(go[0]), close(go[1]), close(fail[0]), close(fail[1]);
        return ig_err_set(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        char c;
        close(go[1]);
        close(fail[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(127);
        if (own_group)
            setpgid(0, 0);
        if (r->nofile_raised)
            setrlimit(RLIMIT_NOFILE, &r->nofile_saved);
        execvp(r->o.argv[0], r->o.argv);
        int e = errno;
        if (write(fail[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(go[0]);
    close(fail[1]);
    if (own_group && (setpgid(pid, pid) == 0 || errno == EACCES)) /* EACCES: it set it itself */
        r->cmd_pgid = pid;
    r->st.child = pid;
    proc *p = get_proc(r, pid, NULL);
    p->maps_stale = true;
    ig_err ferr;
    if (r->ob && ig_offbpf_follow(r->ob, pid, true, &ferr) != 0)
        snprintf(r->st.offcpu_engine, sizeof r->st.offcpu_engine, "%.300s", ferr.msg);
    mark_target(p, cpu_now_ns(pid));
    /* Per CPU, the CPU-wide events see it already: an event of its own
     * would give its threads (inheriting it) a perf context that the
     * kernel switches out and in at each of their context switches. */
    int rc = r->per_cpu ? 0 : open_thread(r, pid, pid);
    int open_errno = errno;
    if (r->per_cpu)
        r->st.attached++;
    if (rc == 0 && write(go[1], "g", 1) != 1)
        rc = -1, open_errno = errno;
    close(go[1]);
    int e = 0;
    ssize_t got = read(fail[0], &e, sizeof e);
    close(fail[0]);
    if (rc != 0 || got == (ssize_t)sizeof e) {
        int status;
        if (rc != 0)
            kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        r->st.child = 0;
        r->cmd_pgid = 0;
        if (rc != 0) {
            if (open_errno == EACCES || open_errno == EPERM)
                return permission_error(err, pid);
            return ig_err_set(err, "perf_event_open: %s", strerror(open_errno));
        }
        return ig_err_set(err, "%s: %s", r->o.argv[0], exec_error(r->o.argv[0], e));
    }
    return 0;
}

/* ---- public ----------------------------------------------------------------- */

static int check_opts(const ig_record_opts *o, ig_err *err)
{
    if (!o->all && !o->npids && !o->ntids && !(o->argv && o->argv[0]))
        return ig_err_set(err, "nothing to record: give -a, -p PID, --tid TID or -- CMD");
    if (o->all && (o->ntids || (o->argv && o->argv[0])))
        return ig_err_set(err, "-a: --tid and a command cannot be narrowed to (use -p or --cgroup)");
    if (o->cgroup && !o->all)
        return ig_err_set(err, "--cgroup %s: only with -a", o->cgroup);
    if (o->argv && o->argv[0] && (o->npids || o->ntids))
        return ig_err_set(err, "-p/--tid and a command are mutually exclusive");
    if (o->freq < 1 || o->freq > IG_RECORD_MAX_FREQ)
        return ig_err_set(err, "-F %u: frequency must be 1..%u Hz", o->freq, IG_RECORD_MAX_FREQ);
    if (o->switch_stack_size && (o->switch_stack_size < 64 || o->switch_stack_size > IG_PERF_MAX_STACK ||
                                 o->switch_stack_size % 8))
        return ig_err_set(err, "--stack-size %u: must be a multiple of 8 in 64..%u", o->switch_stack_size,
                          IG_PERF_MAX_STACK);
    if (o->stack_size < 64 || o->stack_size > IG_PERF_MAX_STACK || o->stack_size % 8)
        return ig_err_set(err, "--stack-size %u: must be a multiple of 8 in 64..%u", o->stack_size,
                          IG_PERF_MAX_STACK);
    if (o->off_cpu && o->wall)
        return ig_err_set(err, "--off-cpu and --wall: choose one (--wall includes the off-CPU time)");
    return 0;
}

/* ---- waiting ---------------------------------------------------------------
 *
 * What the recorder sleeps on.  Samples arrive through the rings: at low
 * rates the timer alone drains them (rings_timed), at high rates each
 * ring's watermark wakes the recorder too.  The end of a target is learnt
 * from a pidfd per target process (or --tid thread), readable once all its
 * threads exited.  An event fd is not slept on: the kernel wakes every
 * poller of every event sharing a ring at each of its watermarks, and those
 * wake-ups, though they end in the kernel, were a tenth of the recorder's
 * CPU at 99 Hz.  Instead the events are polled for hang-ups, without
 * waiting, after each drain.  Without pidfds (before Linux 5.3, or 6.9 for
 * --tid) the event fds are slept on for their hang-ups, as before. */

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static int pidfd_open_for(pid_t pid, unsigned flags)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, flags);
#else
    (void)pid, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* The process (or --tid thread) of pidfds[i]. */
static pid_t target_pid(const ig_recorder *r, size_t i)
{
    return r->st.child > 0 ? r->st.child : r->o.ntids ? r->o.tids[i] : r->o.pids[i];
}

/* Opens a pidfd per target; any failure but a target already gone falls
 * back to sleeping on the event fds. */
static void open_pidfds(ig_recorder *r)
{
    size_t n = r->st.child > 0 ? 1 : r->o.ntids ? r->o.ntids : r->o.npids;
    r->pidfds = ig_xcalloc(n ? n : 1, sizeof *r->pidfds);
    r->wait_pidfds = n > 0 || r->all; /* -a: CPU-wide events never hang up; the timer drains */
    for (size_t i = 0; i < n; i++) {
        pid_t pid = target_pid(r, i);
        int fd = pidfd_open_for(pid, r->o.ntids ? PIDFD_THREAD : 0);
        if (fd < 0 && errno != ESRCH)
            r->wait_pidfds = false;
        r->pidfds[r->npidfds++] = fd;
    }
    r->pfds_dirty = true;
}

static void close_pidfds(ig_recorder *r)
{
    for (size_t i = 0; i < r->npidfds; i++)
        if (r->pidfds[i] >= 0)
            close(r->pidfds[i]);
    free(r->pidfds);
    r->pidfds = NULL;
    r->npidfds = 0;
}

static void rebuild_pollfds(ig_recorder *r)
{
    size_t cap = r->nrings + r->npidfds + r->nevents + 3;
    r->pfds = ig_xrealloc(r->pfds, cap * sizeof *r->pfds);
    r->hup_pfds = ig_xrealloc(r->hup_pfds, (r->nevents + 1) * sizeof *r->hup_pfds);
    size_t n = 0;
    for (size_t i = 0; i < r->nrings; i++) {
        bool switches = switch_ring(r->ring_kind[i]);
        if (!rings_timed(kind_opts(r, i), switches ? r->sw_ring_pages : r->ring_pages))
            r->pfds[n++] = (struct pollfd){r->rings[i].fd, POLLIN, 0};
    }
    for (size_t i = 0; r->wait_pidfds && i < r->npidfds; i++)
        if (r->pidfds[i] >= 0)
            r->pfds[n++] = (struct pollfd){r->pidfds[i], POLLIN, 0};
    for (size_t i = 0; !r->wait_pidfds && i < r->nevents; i++)
        r->pfds[n++] = (struct pollfd){r->events[i].fd, 0, 0};
    if (r->perfmap_watch >= 0)
        r->pfds[n++] = (struct pollfd){r->perfmap_watch, POLLIN, 0};
    if (r->ob && ig_offbpf_wake_fd(r->ob) >= 0)
        r->pfds[n++] = (struct pollfd){ig_offbpf_wake_fd(r->ob), POLLIN, 0};
    r->npfds = n;
    for (size_t i = 0; i < r->nevents; i++)
        r->hup_pfds[i] = (struct pollfd){r->events[i].fd, 0, 0};
    r->pfds_dirty = false;
}

/* Closes the pidfds of targets that exited: they stay readable. */
static void retire_pidfds(ig_recorder *r)
{
    for (size_t i = 0; r->wait_pidfds && i < r->npfds; i++) {
        if (!(r->pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (size_t j = 0; j < r->npidfds; j++)
            if (r->pidfds[j] == r->pfds[i].fd) {
                close(r->pidfds[j]);
                r->pidfds[j] = -1;
                r->pfds_dirty = true;
                proc *p = r->o.ntids ? NULL : find_proc(r, target_pid(r, j));
                if (p) /* gone, though maybe a zombie yet */
                    p->exited = true;
            }
    }
}

/* Closes the events whose threads (and all that inherited from them)
 * exited, and those doomed as duplicates. */
static void close_hung_up_events(ig_recorder *r)
{
    if (r->pfds_dirty)
        rebuild_pollfds(r);
    size_t n = r->nevents;
    if (n && poll(r->hup_pfds, n, 0) > 0)
        for (size_t i = n; i-- > 0;)
            if (i < r->nevents && (r->hup_pfds[i].revents & (POLLHUP | POLLERR)) &&
                r->hup_pfds[i].fd == r->events[i].fd)
                close_event(r, i);
    for (size_t i = r->nevents; i-- > 0;)
        if (r->events[i].doomed)
            close_event(r, i);
}

/* ---- switch events ----------------------------------------------------------
 *
 * Off-CPU and wall profiles sample every switch-out.  sched:sched_switch
 * says in what state the thread left (S, D, preempted...), but needs
 * tracefs for its id and CAP_PERFMON (or perf_event_paranoid -1) for its
 * raw data; the context-switches software event needs neither and tells
 * only preempted from blocked (its switch-out record's flag).  So the
 * tracepoint is used where it can be, the software event elsewhere, with
 * a note saying what is missing.  Both count in kernel mode, so both need
 * kernel events (perf_event_paranoid <= 1 or CAP_PERFMON): without them
 * there is no off-CPU profile, and the error says so. */

/* Opens an event of o on this thread and closes it: 0, or -1 with errno. */
static int probe_event(ig_perf_opts o)
{
    o.inherit = o.sideband = o.enable_on_exec = false;
    int fd = ig_perf_open(&o, 0, -1);
    if (fd < 0 && (errno == EACCES || errno == EPERM) && o.kernel) {
        o.kernel = false; /* kernel callchains may be what is refused */
        fd = ig_perf_open(&o, 0, -1);
    }
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int choose_switch_kind(ig_recorder *r, ig_err *err)
{
    ig_err why;
    if (ig_sched_switch_find(&r->ssfmt, &why) == 0) {
        r->swopts.kind = IG_PERF_SCHED_SWITCH;
        r->swopts.tp_id = r->ssfmt.id;
        if (probe_event(r->swopts) == 0) {
            r->st.switch_states = true;
            return 0;
        }
        if (errno == EACCES || errno == EPERM)
            ig_err_set(&why, "sched:sched_switch: permission denied (kernel.perf_event_paranoid=%d, need "
                             "CAP_PERFMON or root)", ig_perf_paranoid());
        else
            ig_err_set(&why, "sched:sched_switch: perf_event_open: %s", strerror(errno));
    }
    r->swopts.kind = IG_PERF_CONTEXT_SWITCHES;
    if (probe_event(r->swopts) != 0) {
        const char *flag = r->o.wall ? "--wall" : "--off-cpu";
        if (errno == EACCES || errno == EPERM)
            return ig_err_set(err, "%s: %.200s; context-switches: permission denied (kernel.perf_event_paranoid=%d): "
                                   "switch-outs are kernel events: run as root or with CAP_PERFMON, or allow them "
                                   "with 'sysctl kernel.perf_event_paranoid=1'", flag, why.msg, ig_perf_paranoid());
        return ig_err_set(err, "%s: %.200s; context-switches: perf_event_open: %s", flag, why.msg, strerror(errno));
    }
    snprintf(r->st.switch_note, sizeof r->st.switch_note,
             "%s; off-CPU states are only runnable or blocked (context-switch events)", why.msg);
    return 0;
}

/* The BPF engine, where it can load: not with --tid or --cgroup (it
 * follows whole processes, or every task), nor with IGNIS_OFFCPU_BPF=0.
 * On success the switch events are side-band-only dummies. */
static bool offbpf_on(ig_recorder *r)
{
    const char *env = getenv("IGNIS_OFFCPU_BPF");
    const char *why = env && !strcmp(env, "0") ? "IGNIS_OFFCPU_BPF=0"
                      : r->o.ntids               ? "--tid follows threads, the BPF engine processes"
                      : r->o.cgroup              ? "--cgroup"
                                                 : NULL;
    ig_err err;
    if (!why) {
        ig_offbpf_opts bo = {.period_ns = r->o.off_cpu_period_ns, .min_ns = r->o.off_cpu_min_ns,
                             .stack_size = r->swopts.stack_size, .kernel = r->swopts.kernel,
                             .everyone = r->o.all && !r->o.npids, .cache_dir = r->o.cache_dir};
        r->ob = ig_offbpf_new(&bo, &err);
        if (r->ob) {
            r->swopts.kind = IG_PERF_SIDEBAND;
            r->st.switch_states = r->st.offcpu_bpf = true;
            snprintf(r->st.offcpu_engine, sizeof r->st.offcpu_engine,
                     "off-CPU engine: BPF (waits decided at their end, --off-cpu-period %.3g ms)",
                     (double)r->o.off_cpu_period_ns / 1e6);
            return true;
        }
        why = err.msg;
    }
    snprintf(r->st.offcpu_engine, sizeof r->st.offcpu_engine,
             "off-CPU engine: perf sched_switch events, every switch-out (not BPF: %.300s)", why);
    return false;
}

/* JIT runtimes announce their code in /tmp/perf-PID.map, and many delete
 * it when they exit; the recorder reads a process's samples up to two
 * seconds later, when the map may be gone.  So the recorder watches the
 * folder (inotify) and opens a map as soon as one of its processes (or a
 * child of one, not drained yet) creates it; the symbolizer reads the
 * held file, unlinked or not.  Maps that exist when a process is first
 * seen are opened then (get_proc). */
static void watch_perfmaps(ig_recorder *r)
{
    r->perfmap_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (r->perfmap_watch < 0)
        return;
    if (inotify_add_watch(r->perfmap_watch, ig_symtab_perfmap_dir(r->sym), IN_CREATE | IN_MOVED_TO) < 0) {
        close(r->perfmap_watch);
        r->perfmap_watch = -1;
    }
}

/* The parent of pid (from /proc/PID/stat), or 0. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    int ppid = 0;
    char state;
    if (!close_paren || sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
        return 0;
    return ppid;
}

/* Is pid recorded here: a process seen, a target, the launched command, or
 * a child of one of them whose records are not drained yet. */
static bool ours(ig_recorder *r, pid_t pid)
{
    for (int hops = 0; pid > 1 && hops < 2; hops++, pid = parent_of(pid)) {
        if (find_proc(r, pid) || pid == r->st.child)
            return true;
        for (size_t i = 0; i < r->o.npids; i++)
            if (r->o.pids[i] == pid)
                return true;
    }
    return false;
}

static void hold_new_perfmaps(ig_recorder *r)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(r->perfmap_watch, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            int pid = 0, end = 0;
            if (ev->len && sscanf(ev->name, "perf-%d.map%n", &pid, &end) == 1 && !ev->name[end] && pid > 0 &&
                ours(r, pid))
                ig_symtab_perfmap_hold(r->sym, pid);
            off += (ssize_t)sizeof *ev + ev->len;
        }
    }
}

ig_recorder *ig_recorder_new(const ig_record_opts *o, ig_err *err)
{
    if (check_opts(o, err) != 0)
        return NULL;
    ig_recorder *r = ig_xcalloc(1, sizeof *r);
    r->perfmap_watch = -1;
    r->o = *o;
    r->st.child_status = -1;
    r->cpu_events = r->st.cpu_events = !o->off_cpu;
    r->switch_events = o->off_cpu || o->wall;
    r->popts.freq = o->freq;
    r->popts.stack_size = o->stack_size;
    r->popts.kernel = !o->no_kernel;
    r->popts.inherit = o->ntids == 0;
    r->popts.sideband = !r->switch_events; /* one event per thread and CPU asks for them */
    r->popts.mono_clock = true;
    r->swopts = r->popts;
    r->swopts.sideband = true;
    r->swopts.stack_size = o->switch_stack_size                       ? o->switch_stack_size
                           : o->stack_size < IG_RECORD_SWITCH_STACK ? o->stack_size
                                                                      : IG_RECORD_SWITCH_STACK;
    if (r->switch_events && !offbpf_on(r) && choose_switch_kind(r, err) != 0) {
        free(r);
        return NULL;
    }
    if (r->switch_events)
        r->oc = ig_offcpu_new();
    long nrings = sysconf(_SC_NPROCESSORS_CONF) * (r->cpu_events + r->switch_events);
    r->ring_pages = pick_ring_pages(&r->popts, nrings);
    if (o->all) /* a drain that meets many new binaries takes long: rings of 4x the time */
        r->ring_pages = syswide_ring_pages(&r->popts, r->ring_pages);
    r->popts.wakeup_bytes = wakeup_bytes_for(&r->popts, r->ring_pages);
    r->sw_ring_pages = pick_ring_pages(&r->swopts, nrings);
    r->swopts.wakeup_bytes = wakeup_bytes_for(&r->swopts, r->sw_ring_pages);
    r->st.kernel = r->popts.kernel;
    r->follow = o->npids && !o->ntids;
    r->sym = ig_symtab_new();
    ig_symtab_set_cache_dir(r->sym, o->cache_dir);
    watch_perfmaps(r);
    spans_on(r); /* before the profile's clock starts, and before any sampling event opens */
    r->prof = new_profile(r);
    r->st.start_ns = r->prof_start_real;
    /* one fd per (thread, CPU): lift the soft limit to the hard one */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        r->nofile_saved = nofile;
        r->nofile_raised = true;
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    uint64_t *cpu_ns = ig_xcalloc(o->npids ? o->npids : 1, sizeof *cpu_ns);
    for (size_t i = 0; i < o->npids; i++) /* before any event opens */
        cpu_ns[i] = cpu_now_ns(o->pids[i]);
    int rc = open_rings(r, err);
    if (rc == 0) {
        r->fronts = ig_xcalloc(r->nrings, sizeof *r->fronts);
        r->max_events = event_budget();
        double hold_ns = r->cpu_events ? ring_seconds(&r->popts, r->ring_pages) * 1e9 / 8 : 1e18;
        r->reorder_ns = hold_ns < (double)REORDER_MAX_NS ? (uint64_t)hold_ns : REORDER_MAX_NS;
        if (r->sb && !r->popts.mono_clock)
            spans_off(r, "span labels need perf events stamped on CLOCK_MONOTONIC (Linux 4.1)");
        /* the first profile covers the time from the first event on, not
         * the rings' setup (mapping and zeroing them took 0.3 s on a busy
         * machine, which a wall-clock profile's threads did not live) */
        r->prof_start_real = r->st.start_ns = now_ns(CLOCK_REALTIME);
        r->prof_start_mono = now_ns(CLOCK_MONOTONIC);
        if (o->all)
            rc = attach_all(r, err);
        else if (wants_per_cpu(r))
            try_per_cpu(r);
    }
    if (rc == 0 && o->argv && o->argv[0]) {
        r->popts.enable_on_exec = r->swopts.enable_on_exec = true;
        rc = launch(r, err);
        r->popts.enable_on_exec = r->swopts.enable_on_exec = false;
    }
    for (size_t i = 0; rc == 0 && i < o->ntids; i++)
        rc = attach_tid(r, o->tids[i], err);
    for (size_t i = 0; rc == 0 && !o->ntids && i < o->npids; i++)
        rc = attach_process(r, o->pids[i], cpu_ns[i], err);
    free(cpu_ns);
    if (rc != 0) {
        ig_recorder_free(r);
        return NULL;
    }
    open_pidfds(r);
    r->last_scan = now_ns(CLOCK_MONOTONIC);
    r->rescan_ns = RESCAN_NS;
    return r;
}

static void reap_child(ig_recorder *r, int flags)
{
    int status;
    struct rusage ru;
    if (r->st.child > 0 && r->st.child_status < 0 && wait4(r->st.child, &status, flags, &ru) == r->st.child) {
        r->st.child_status = status;
        r->cmd_rusage_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_utime.tv_usec * 1000 +
                           (uint64_t)ru.ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_stime.tv_usec * 1000;
    }
}

int ig_recorder_poll(ig_recorder *r, int timeout_ms)
{
    if (r->pfds_dirty)
        rebuild_pollfds(r);
    int wait_ms = span_wait_ms(r, r->nevents ? timeout_ms : 0);
    struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
    if (ppoll(r->pfds, r->npfds, wait_ms < 0 ? NULL : &ts, r->o.poll_sigmask) < 0 && errno != EINTR)
        return -1;
    retire_pidfds(r);
    if (r->perfmap_watch >= 0)
        hold_new_perfmaps(r);
    /* drain everything, then close events whose threads all exited */
    span_look_all(r); /* before the drain too: symbolizing a new program's first samples takes a while */
    drain_all(r, false);
    span_look_all(r);
    if (r->all && now_ns(CLOCK_MONOTONIC) - r->last_sweep >= SWEEP_NS)
        sweep_gone(r, false);
    close_hung_up_events(r);
    reap_child(r, WNOHANG);
    if (r->per_cpu && !r->everyone && !followed_alive(r)) {
        /* the records held back for ordering may name a child forked at
         * the last moment, still running: looked at again after them */
        drain_all(r, true);
        if (!followed_alive(r))
            while (r->nevents)
                close_event(r, r->nevents - 1);
    }
    int64_t now = now_ns(CLOCK_MONOTONIC);
    if (r->follow && !r->per_cpu && now - r->last_scan >= r->rescan_ns) {
        /* Only a thread created by one not attached yet can be missed, a
         * race of the first moments: back off while scans find nothing. */
        r->last_scan = now;
        int found = 0;
        for (size_t i = 0; i < r->o.npids; i++)
            found += scan_tasks(r, r->o.pids[i]) > 0;
        r->rescan_ns = found ? RESCAN_NS : r->rescan_ns * 2 > RESCAN_MAX_NS ? RESCAN_MAX_NS : r->rescan_ns * 2;
    }
    if (r->nevents)
        return 1;
    drain_all(r, true);
    if (r->follow && !r->per_cpu) { /* a last look: threads may remain without events */
        for (size_t i = 0; i < r->o.npids; i++)
            scan_tasks(r, r->o.pids[i]);
        if (r->nevents)
            return 1;
    }
    /* its events hung up in do_exit: it is about to be a zombie */
    reap_child(r, 0);
    update_target_cpu(r);
    return 0;
}

/* ---- ending a launched command ------------------------------------------------
 *
 * Ending the command ends everything it started, as `timeout` does: a
 * signal goes to the command's process group (when it has one: see launch),
 * which takes in processes forked a moment ago, and to every process the
 * recorder follows (all the command forked, through FORK records) not
 * known to have exited, which takes in those that left the group
 * (setsid, daemons) or that share ignis's group on a terminal.  The rings
 * are drained first, so EXIT records up to the last few milliseconds are
 * known and a pid used again by another process is not signalled. */

bool ig_recorder_command_alive(const ig_recorder *r)
{
    return r->st.child > 0 && (r->st.child_status < 0 || r->nevents > 0);
}

int ig_recorder_signal_command(ig_recorder *r, int sig)
{
    if (r->st.child <= 0)
        return 0;
    drain_all(r, false);
    int sent = 0;
    if (r->cmd_pgid > 0 && kill(-r->cmd_pgid, sig) == 0)
        sent++;
    for (size_t i = 0; i < r->nprocs; i++) {
        pid_t pid = r->procs[i]->pid;
        const thread *t = find_thread(r, pid);
        if (pid == r->self || (pid == r->st.child && r->st.child_status >= 0) || (t && t->dead))
            continue;
        sent += kill(pid, sig) == 0;
    }
    return sent;
}

/* SIGTERM to the command's tree, SIGKILL to what still runs 2 s later
 * (again as new processes turn up), until it is gone (at most 5 s more). */
static void end_command(ig_recorder *r)
{
    ig_recorder_signal_command(r, SIGTERM);
    for (int i = 0; i < 40 && ig_recorder_command_alive(r); i++)
        if (ig_recorder_poll(r, 50) < 0)
            break;
    for (int i = 0; i < 100 && ig_recorder_command_alive(r); i++) {
        ig_recorder_signal_command(r, SIGKILL);
        if (ig_recorder_poll(r, 50) < 0)
            break;
    }
}

void ig_recorder_free(ig_recorder *r)
{
    if (!r)
        return;
    if (ig_recorder_command_alive(r))
        end_command(r);
    while (r->nevents)
        close(r->events[--r->nevents].fd);
    close_pidfds(r);
    if (r->perfmap_watch >= 0)
        close(r->perfmap_watch);
    close_rings(r);
    if (r->st.child > 0 && r->st.child_status < 0) {
        kill(r->st.child, SIGTERM);
        int status;
        for (int i = 0; i < 200 && waitpid(r->st.child, &status, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
        if (waitpid(r->st.child, &status, WNOHANG) == 0) {
            kill(r->st.child, SIGKILL);
            waitpid(r->st.child, &status, 0);
        }
    }
    for (size_t i = 0; i < r->nprocs; i++)
        free_proc(r->procs[i]);
    if (r->popts.cgroup_fd > 0)
        close(r->popts.cgroup_fd);
    free(r->procs);
    free(r->fronts);
    free(r->events);
    free(r->pfds);
    free(r->hup_pfds);
    free(r->threads);
    ig_u64map_clear(&r->tid_index);
    ig_u64map_clear(&r->dead_tids);
    ig_u64map_clear(&r->failed_tids);
    ig_u64map_clear(&r->pid_index);
    ig_u64map_clear(&r->kern_locs);
    ig_offcpu_free(r->oc);
    finder_stop(r); /* before the off-CPU program it adds processes to */
    ig_offbpf_free(r->ob);
    for (size_t i = r->pend_first; i < r->npend; i++) {
        free(r->pend[i]->stack);
        free(r->pend[i]);
    }
    free(r->pend);
    ig_spanjoin_free(r->join);
    ig_spanjoin_free(r->swjoin);
    ig_spanbpf_free(r->sb);
    ig_modcache_free(&r->mods);
    if (r->sym)
        ig_symtab_free(r->sym);
    ignis_profile_free(r->prof);
    free(r);
}

int ig_parse_pid_list(const char *s, pid_t **out)
{
    *out = NULL;
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > 0x3fffffff || (*end && *end != ',')) {
            free(*out);
            *out = NULL;
            return -1;
        }
        bool seen = false; /* a pid listed twice is followed once */
        for (int i = 0; i < n && !seen; i++)
            seen = (*out)[i] == (pid_t)v;
        if (!seen) {
            if (n == IG_MAX_PID_LIST) {
                free(*out);
                *out = NULL;
                return -1;
            }
            *out = ig_xrealloc(*out, (size_t)(n + 1) * sizeof **out);
            (*out)[n++] = (pid_t)v;
        }
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            free(*out);
            *out = NULL;
            return -1;
        }
    }
    return n ? n : -1;
}
