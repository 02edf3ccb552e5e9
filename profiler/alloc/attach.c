/*
 * profiler/alloc/attach.c — `ignis record --alloc -p PID`: uprobes.
 *
 * Design.
 *   Allocator.  /proc/PID/maps names the allocator: libjemalloc or
 *   libtcmalloc when mapped, else glibc's libc.so.6.  libelf finds the
 *   symbols and PT_LOAD headers turn them into the file offsets the uprobe
 *   PMU wants (config1 = path, config2 = offset; the return-probe bit is
 *   read from /sys/bus/event_source/devices/uprobe/format/retprobe).
 *   Aliases (two names, one address) are probed once.
 *   Events.  For each thread present at attach: an entry probe per
 *   allocation function (period --every, user regs + --stack-size bytes
 *   of user stack, 8 KiB by default), a return probe per allocation function (period --every, regs
 *   only: the returned pointer in rax), and an entry probe on free (period
 *   1, regs only).  All of a thread's events write into one ring
 *   (PERF_EVENT_IOC_SET_OUTPUT); per-thread events keep per-thread
 *   counters.  Threads created later are found by rescanning
 *   /proc/PID/task after every drain (the kernel refuses to mmap
 *   inherited per-thread events, and inherited uprobe events on per-CPU
 *   rings delivered no samples here), so a new thread's first
 *   allocations, before the rescan (20 ms), are missed; exited threads'
 *   rings and fds are released at the same rescan.  Rings are 64 MiB
 *   shared by the threads at attach (256 KiB - 16 MiB each), and we run
 *   at nice -10 so the reader keeps up; losses are counted and reported.
 *   PERF_SAMPLE_IDENTIFIER tells which probe fired; the record is copied
 *   without it (and with the period slot PERF_SAMPLE_PERIOD would have
 *   filled, a flag that makes the kernel ignore sample_period for these
 *   events) into the CPU profiler's layout for ig_perf_parse_sample().
 *   Matching.  Records from all rings are drained, entry stacks unwound
 *   at once (profiler/unwind.h) while the stack copy is in the ring, then
 *   sorted by time and replayed: an entry waits in its thread's slot for
 *   that function; the matching return adds (pointer, size, stack) to the
 *   heap table (heaptab.h, the shim's tables); free removes the pointer.
 *   A call made inside another pending allocator call of the same thread
 *   (glibc's realloc(NULL, n) calls malloc) is dropped: the outer one
 *   counts.  With --every N the Nth entry and the Nth return of a
 *   function in a thread are the same call, so pairs still match; each
 *   recorded allocation then stands for N (counts are scaled by N).
 *   Frees are always recorded (period 1, no stack), so in-use stays right
 *   for the recorded allocations.  posix_memalign's pointer is read from
 *   *memptr with process_vm_readv when its return is replayed (best
 *   effort: the variable may have changed by then).
 *   Span labels.  When the target publishes its span context (libignis,
 *   OTEP 4719/4947), a BPF program on each thread's entry probes reads the
 *   span the thread is in at the call and the probe event's count, which
 *   the call's sample carries too (PERF_SAMPLE_READ): the entry sample is
 *   joined with the program's event by that count (allocbpf.h), and the
 *   allocation's record is keyed by its span as the preload shim's are.
 *   Samples whose event cannot be told safely keep no span, and are
 *   counted in the summary.
 *   Cost.  Every probed call traps whether recorded or not; before
 *   attaching we time a uprobe on a function of our own (thread CPU time,
 *   median of 5) and report that cost times the calls seen, next to the
 *   target's own CPU time while attached.
 */
#include "profiler/alloc/attach.h"
#include "profiler/alloc/allocbpf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/stop.h"
#include "exporters/formats.h"
#include "utils/fileio.h"
#include "profiler/alloc/collect.h"
#include "profiler/alloc/heapprof.h"
#include "profiler/alloc/heaptab.h"
#include "profiler/perf.h"
#include "profiler/procmap.h"
#include "profiler/symbols.h"
#include "profiler/u64map.h"
#include "profiler/unwind.h"
#include "utils/strbuf.h"

/* "ignis record: msg" on stderr, as cmd_error() prints (this file is
 * also linked into tests that have no command table). */
__attribute__((format(printf, 1, 2))) static void record_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ignis record: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *const ig_alloc_fn_names[IG_FN_COUNT] = {"malloc", "calloc", "realloc", "posix_memalign",
                                                    "aligned_alloc", "memalign", "valloc", "pvalloc", "free"};

#define DEFAULT_STACK 8192u
/* No PERF_SAMPLE_PERIOD: with it the kernel samples every hit of a
 * tracepoint-like event whatever sample_period says.  PERF_SAMPLE_READ:
 * the event's count, which numbers the hit (the span-label join). */
#define SAMPLE_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
                     PERF_SAMPLE_READ | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)

/* ---- symbol offsets (libelf) ----------------------------------------------- */

static int vaddr_to_offset(Elf *e, uint64_t vaddr, uint64_t *off)
{
    size_t n;
    if (elf_getphdrnum(e, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
            vaddr < ph.p_vaddr + ph.p_filesz) {
            *off = vaddr - ph.p_vaddr + ph.p_offset;
            return 0;
        }
    }
    return -1;
}

static void scan_symbols(Elf *e, Elf_Scn *scn, uint64_t vaddrs[IG_FN_COUNT])
{
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
        return;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d)
        return;
    size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
        GElf_Sym s;
        if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value ||
            s.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(e, sh.sh_link, s.st_name);
        if (!name)
            continue;
        for (int f = 0; f < IG_FN_COUNT; f++)
            if (!vaddrs[f] && !strcmp(name, ig_alloc_fn_names[f]))
                vaddrs[f] = s.st_value;
    }
}

int ig_alloc_find_offsets(const char *path, uint64_t offsets[IG_FN_COUNT])
{
    memset(offsets, 0, IG_FN_COUNT * sizeof offsets[0]);
    elf_version(EV_CURRENT);
    /* path is /proc/PID/root/<lib>: the target can make it a FIFO in its
     * own mount namespace; O_NONBLOCK so that cannot hang us, then only a
     * regular file is read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        if (e)
            elf_end(e);
        close(fd);
        return -1;
    }
    uint64_t vaddrs[IG_FN_COUNT] = {0};
    for (int pass = 0; pass < 2; pass++) { /* .dynsym first, then .symtab */
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) && sh.sh_type == (pass ? SHT_SYMTAB : SHT_DYNSYM))
                scan_symbols(e, scn, vaddrs);
        }
    }
    int found = 0;
    for (int f = 0; f < IG_FN_COUNT; f++) {
        uint64_t off;
        if (!vaddrs[f] || vaddr_to_offset(e, vaddrs[f], &off) < 0)
            continue;
        bool alias = false;
        for (int g = 0; g < f; g++)
            alias |= offsets[g] == off;
        if (!alias) {
            offsets[f] = off;
            found++;
        }
    }
    elf_end(e);
    close(fd);
    return found;
}

/* ---- the uprobe PMU ----------------------------------------------------------- */

static int read_sysfs_int(const char *path, int *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%d", out) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

static int uprobe_pmu(int *type, int *retbit)
{
    if (read_sysfs_int("/sys/bus/event_source/devices/uprobe/type", type) < 0)
        return -1;
    FILE *f = fopen("/sys/bus/event_source/devices/uprobe/format/retprobe", "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "config:%d", retbit) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

typedef struct probe_spec {
    const char *path;
    uint64_t offset;
    bool ret;
    uint64_t period;
    unsigned stack;
} probe_spec;

static int open_uprobe(int type, int retbit, const probe_spec *ps, pid_t tid, int cpu, bool sideband)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = (uint32_t)type;
    a.config = ps->ret ? (1ULL << retbit) : 0;
    a.config1 = (uint64_t)(uintptr_t)ps->path;
    a.config2 = ps->offset;
    a.sample_period = ps->period;
    a.sample_type = SAMPLE_TYPE;
    a.sample_regs_user = IG_PERF_REGS_MASK;
    a.sample_stack_user = ps->stack;
    a.exclude_callchain_user = 1;
    a.exclude_callchain_kernel = 1;
        a.mmap = a.mmap2 = sideband;
    a.watermark = 1;
    a.wakeup_watermark = 32 * 1024;
    return (int)syscall(SYS_perf_event_open, &a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* ---- calibration: what one probe hit costs ------------------------------------ */

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint64_t calib_sink;
__attribute__((noinline)) static uint64_t calib_target(uint64_t x)
{
    __asm__ volatile("" : "+r"(x));
    calib_sink += x;
    return x + 1;
}

/* CPU nanoseconds per call (trap time is charged to the caller),
 * median of five runs of n calls. */
static double time_calls(int n)
{
    double t[5];
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_ns();
        for (int i = 0; i < n; i++)
            calib_target((uint64_t)i);
        t[r] = (cpu_ns() - t0) / n;
    }
    for (int i = 1; i < 5; i++) /* insertion sort */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[2];
}

/* Offset of our own function in our executable, via /proc/self/maps. */
static int self_offset(uint64_t addr, char *path, size_t len, uint64_t *off)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[PATH_MAX + 128];
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, pg;
        char perm[8], file[PATH_MAX];
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &lo, &hi, perm, &pg, file) == 5 && addr >= lo &&
            addr < hi) {
            snprintf(path, len, "%s", file);
            *off = addr - lo + pg;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* Nanoseconds one entry (and one entry+return) uprobe hit adds; -1 when
 * it cannot be measured. */
static void calibrate(int type, int retbit, double *entry_ns, double *pair_ns)
{
    *entry_ns = *pair_ns = -1;
    char path[PATH_MAX];
    uint64_t off;
    if (self_offset((uint64_t)(uintptr_t)calib_target, path, sizeof path, &off) < 0)
        return;
    enum { N = 20000, M = 200 }; /* a hit costs 1-100 us depending on the machine: few calls */
    double base = time_calls(N);
    probe_spec ps = {path, off, false, 1ULL << 62, 0};
    int fe = open_uprobe(type, retbit, &ps, 0, -1, false);
    if (fe < 0)
        return;
    time_calls(10); /* first hits map the probe's out-of-line slot */
    *entry_ns = time_calls(M) - base;
    ps.ret = true;
    int fr = open_uprobe(type, retbit, &ps, 0, -1, false);
    if (fr >= 0) {
        time_calls(10);
        *pair_ns = time_calls(M) - base;
        close(fr);
    }
    close(fe);
}

/* ---- the attach session ------------------------------------------------------- */

typedef struct probe {
    ig_alloc_fn fn;
    bool ret;
} probe;

typedef struct pending {
    bool valid;
    uint64_t time;
    uint64_t a0, a1;          /* rdi, rsi (or rdx for posix_memalign's size) */
    int depth;
    uint64_t ips[IG_HEAP_MAX_DEPTH];
    ig_heapspan span;         /* in_span 0: none */
} pending;

typedef struct thread_state {
    pending slot[IG_FN_COUNT];
} thread_state;

typedef struct event {
    uint64_t time;
    uint32_t tid;
    uint16_t fn;
    uint8_t ret;
    uint64_t a0, a1, rax;
    int depth;
    uint64_t *ips;     /* entry stacks, owned by the batch */
    ig_heapspan span;  /* the span of an entry (in_span 0: none) */
} event;

typedef struct thread_ring {
    ig_ring ring;
    pid_t tid;
    size_t fd_lo, fd_hi;        /* its events: fds[fd_lo .. fd_hi) */
    bool closed;                /* the thread exited: ring and fds released */
} thread_ring;

typedef struct session {
    pid_t pid;
    long every;
    unsigned stack_size;
    int type, retbit;
    char lib_path[PATH_MAX];
    uint64_t offsets[IG_FN_COUNT];
    thread_ring *rings;         /* one per attached thread */
    size_t nrings, caprings, ring_pages;
    size_t threads_attached;
    int *fds;
    uint64_t *cookies;          /* per fd: its span-label attach (allocbpf), 0: none */
    size_t nfds, capfds;
    ig_allocbpf *spans;         /* NULL: no span labels */
    ig_u64map span_cookies;     /* event id -> cookie of an entry probe with the program */
    uint64_t span_unattached;   /* entry probe events the program could not be attached to */
    char no_spans_why[sizeof(ig_err)];     /* why there are no span labels ("": there are, or not asked for) */
    ig_u64map ids;              /* event id -> probe index + 1 */
    probe probes[2 * IG_FN_COUNT];
    int nprobes;
    ig_u64map threads;          /* tid -> thread_state* */
    ig_u64map attached;         /* tids with probes */
    ig_modcache mc;
    ig_maps maps;
    ig_unwinder *uw;
    ig_heaptab *tab;
    ig_symtab *st;
    event *batch;
    size_t nbatch, capbatch;
    _Alignas(8) uint8_t scratch[65536]; /* one sample record without its identifier */
    uint64_t hits, records, bad, nested, unmatched, partial, lost;
    uint64_t span_unknown;              /* entry samples of probes without the program */
    uint64_t alloc_calls, free_calls;   /* probed calls (records x period) */
    double entry_ns, pair_ns;           /* calibrated probe cost */
    double t0, cpu0, cpu1;              /* start; target CPU seconds */
} session;

static void add_fd(session *s, int fd)
{
    if (s->nfds == s->capfds) {
        s->capfds = s->capfds ? s->capfds * 2 : 64;
        s->fds = ig_xrealloc(s->fds, s->capfds * sizeof *s->fds);
        s->cookies = ig_xrealloc(s->cookies, s->capfds * sizeof *s->cookies);
    }
    s->cookies[s->nfds] = 0;
    s->fds[s->nfds++] = fd;
}

/* Attaches the span-label program to an entry probe event; one that
 * cannot have it is counted, its samples unlabelled. */
static void label_probe(session *s, int fd, uint64_t id)
{
    uint64_t cookie;
    ig_err err;
    if (ig_allocbpf_attach(s->spans, fd, &cookie, &err) < 0) {
        s->span_unattached++;
        return;
    }
    s->cookies[s->nfds - 1] = cookie;
    ig_u64map_put(&s->span_cookies, id, cookie);
}

/* Opens every probe on thread tid; all of them write into one ring of
 * that thread (PERF_EVENT_IOC_SET_OUTPUT).  Per-thread events (cpu -1)
 * keep per-thread counters, so with --every N the Nth entry and the Nth
 * return of a function in a thread are the same call. */
static int attach_thread(session *s, pid_t tid, ig_err *err)
{
    int leader = -1;
    for (int i = 0; i < s->nprobes; i++) {
        const probe *pr = &s->probes[i];
        bool alloc = pr->fn != IG_FN_FREE;
        probe_spec ps = {s->lib_path, s->offsets[pr->fn], pr->ret, alloc ? (uint64_t)s->every : 1,
                         (alloc && !pr->ret) ? s->stack_size : 0u};
        int fd = open_uprobe(s->type, s->retbit, &ps, tid, -1, leader < 0);
        if (fd < 0) {
            if (errno == ESRCH)
                return 0; /* the thread ended meanwhile */
            return ig_err_set(err, "perf_event_open(uprobe %s%s in %s): %s%s", ig_alloc_fn_names[pr->fn],
                              pr->ret ? " return" : "", s->lib_path, strerror(errno),
                              (errno == EACCES || errno == EPERM)
                                  ? " (uprobes need root or CAP_PERFMON + CAP_SYS_ADMIN; see "
                                    "/proc/sys/kernel/perf_event_paranoid)"
                                  : "");
        }
        add_fd(s, fd);
        uint64_t id = 0;
        if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
            return ig_err_set(err, "PERF_EVENT_IOC_ID: %s", strerror(errno));
        ig_u64map_put(&s->ids, id, (uint64_t)i + 1);
        if (s->spans && alloc && !pr->ret)
            label_probe(s, fd, id);
        if (leader < 0) {
            if (s->nrings == s->caprings) {
                s->caprings = s->caprings ? s->caprings * 2 : 16;
                s->rings = ig_xrealloc(s->rings, s->caprings * sizeof *s->rings);
            }
            thread_ring *tr = &s->rings[s->nrings];
            memset(tr, 0, sizeof *tr);
            if (ig_ring_map(&tr->ring, fd, s->ring_pages) < 0)
                return ig_err_set(err, "mmap of the perf ring: %s", strerror(errno));
            tr->tid = tid;
            tr->fd_lo = s->nfds - 1;
            s->nrings++;
            leader = fd;
        } else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, leader) < 0) {
            return ig_err_set(err, "PERF_EVENT_IOC_SET_OUTPUT: %s", strerror(errno));
        }
    }
    if (leader >= 0)
        s->rings[s->nrings - 1].fd_hi = s->nfds;
    s->threads_attached++;
    return 0;
}

static void drain_ring(session *s, thread_ring *tr);

/* Releases the ring and events of a thread that exited, so short-lived
 * threads leak no file descriptors or ring memory.  The ring is drained
 * first: the thread may have written its last calls between the loop's
 * drain and the rescan that found it gone (a dead thread writes nothing
 * more, so this drain is its last). */
static void release_thread(session *s, thread_ring *tr)
{
    drain_ring(s, tr);
    ig_ring_unmap(&tr->ring);
    for (size_t k = tr->fd_lo; k < tr->fd_hi; k++) {
        if (s->cookies[k])
            ig_allocbpf_detach(s->spans, s->cookies[k]); /* its events are void now */
        s->cookies[k] = 0;
        if (s->fds[k] >= 0) {
            close(s->fds[k]);
            s->fds[k] = -1;
        }
    }
    tr->closed = true;
}

/* Ring pages per thread: 64 MiB shared by the threads present at attach,
 * between 256 KiB and 16 MiB each (a power of two). */
static size_t ring_pages_for(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            n += e->d_name[0] >= '0' && e->d_name[0] <= '9';
        closedir(d);
    }
    size_t pages = 16384 / (n ? n : 1), p2 = 64;
    while (p2 * 2 <= pages && p2 < 4096)
        p2 *= 2;
    return p2;
}

/* Attaches to every thread of the target not attached yet.  Run at
 * attach and after every drain: the kernel does not deliver uprobe
 * samples through inherited per-thread events here, so threads created
 * later are found in /proc/PID/task (within one poll period). */
static int attach_all(session *s, ig_err *err)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)s->pid);
    DIR *d = opendir(dir);
    if (!d)
        return s->threads_attached ? 0 : ig_err_set(err, "-p %d: no such process", (int)s->pid);
    ig_u64map present = {0};
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        uint64_t tid = (uint64_t)atoll(e->d_name), v;
        ig_u64map_put(&present, tid, 1);
        if (ig_u64map_get(&s->attached, tid, &v))
            continue;
        ig_u64map_put(&s->attached, tid, 1);
        rc = attach_thread(s, (pid_t)tid, err);
    }
    closedir(d);
    for (size_t i = 0; i < s->nrings; i++) {
        uint64_t v;
        if (!s->rings[i].closed && !ig_u64map_get(&present, (uint64_t)s->rings[i].tid, &v))
            release_thread(s, &s->rings[i]);
    }
    ig_u64map_clear(&present);
    return rc;
}

/* Picks the allocator library mapped by the target. */
static int find_allocator(session *s, ig_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return ig_err_set(err, "-p %d: no such process (or no permission to read its maps)", (int)s->pid);
    char line[PATH_MAX + 128], libc[PATH_MAX] = "", other[PATH_MAX] = "";
    while (fgets(line, sizeof line, f)) {
        char file[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %*s %4095s", file) != 1 || file[0] != '/')
            continue;
        const char *base = strrchr(file, '/') + 1;
        if (!strncmp(base, "libjemalloc.so", 14) || !strncmp(base, "libtcmalloc", 11))
            snprintf(other, sizeof other, "%s", file);
        else if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5))
            snprintf(libc, sizeof libc, "%s", file);
    }
    fclose(f);
    const char *lib = other[0] ? other : libc;
    if (!lib[0])
        return ig_err_set(err, "-p %d: no shared allocator is mapped (glibc libc.so, jemalloc, tcmalloc): "
                               "the program is statically linked or uses an unknown allocator, which "
                               "uprobes on a shared library cannot see",
                          (int)s->pid);
    snprintf(s->lib_path, sizeof s->lib_path, "/proc/%d/root%s", (int)s->pid, lib);
    if (ig_alloc_find_offsets(s->lib_path, s->offsets) <= 0 || !s->offsets[IG_FN_MALLOC] || !s->offsets[IG_FN_FREE])
        return ig_err_set(err, "%s: no malloc/free symbols found (stripped or not an allocator)", lib);
    for (int f2 = 0; f2 < IG_FN_COUNT; f2++) {
        if (!s->offsets[f2])
            continue;
        s->probes[s->nprobes++] = (probe){(ig_alloc_fn)f2, false};
        if (f2 != IG_FN_FREE)
            s->probes[s->nprobes++] = (probe){(ig_alloc_fn)f2, true};
    }
    return 0;
}

/* ---- draining ------------------------------------------------------------------ */

static event *push_event(session *s)
{
    if (s->nbatch == s->capbatch) {
        s->capbatch = s->capbatch ? s->capbatch * 2 : 1024;
        s->batch = ig_xrealloc(s->batch, s->capbatch * sizeof *s->batch);
    }
    event *e = &s->batch[s->nbatch++];
    memset(e, 0, sizeof *e);
    return e;
}

static uint64_t read_target_word(pid_t pid, uint64_t addr)
{
    uint64_t v = 0;
    struct iovec local = {&v, sizeof v}, remote = {(void *)(uintptr_t)addr, sizeof v};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof v)
        return 0;
    return v;
}

static void take_sample(session *s, const struct perf_event_header *h)
{
    /* Layout: header, identifier, ip, tid, time, count (read_format 0),
     * then the CPU profiler's layout from the callchain on.  The ring is
     * read-only to us, so the record is copied without the identifier and
     * with the period ig_perf_parse_sample() expects after the time in
     * place of the count. */
    if (h->size < sizeof *h + 40) {
        s->bad++;
        return;
    }
    const uint8_t *body = (const uint8_t *)(h + 1);
    uint64_t id;
    memcpy(&id, body, 8);
    uint64_t pi;
    if (!ig_u64map_get(&s->ids, id, &pi)) {
        s->bad++;
        return;
    }
    const probe *pr = &s->probes[pi - 1];
    struct perf_event_header *fake = (struct perf_event_header *)s->scratch;
    *fake = *h;
    fake->size = (uint16_t)(h->size - 8); /* identifier and count out, period in */
    uint8_t *out = (uint8_t *)(fake + 1);
    uint64_t period = pr->fn == IG_FN_FREE ? 1 : (uint64_t)s->every, hit;
    memcpy(&hit, body + 32, 8);
    memcpy(out, body + 8, 24);
    memcpy(out + 24, &period, 8);
    memcpy(out + 32, body + 40, h->size - sizeof *h - 40);
    ig_perf_sample smp;
    if (ig_perf_parse_sample(fake, &smp) < 0 || smp.regs_abi == PERF_SAMPLE_REGS_ABI_NONE) {
        s->bad++;
        return;
    }
    s->records++;
    s->hits += pr->fn == IG_FN_FREE ? 1 : (uint64_t)s->every;
    if (pr->fn == IG_FN_FREE)
        s->free_calls++;
    else if (!pr->ret)
        s->alloc_calls += (uint64_t)s->every;
    event *e = push_event(s);
    e->time = smp.time;
    e->tid = smp.tid;
    e->fn = (uint16_t)pr->fn;
    e->ret = pr->ret;
    e->a0 = smp.regs[IG_PREG_DI];
    e->a1 = pr->fn == IG_FN_POSIX_MEMALIGN ? smp.regs[IG_PREG_DX] : smp.regs[IG_PREG_SI];
    e->rax = smp.regs[IG_PREG_AX];
    if (pr->fn != IG_FN_FREE && !pr->ret) {
        uint64_t cookie;
        if (s->spans && ig_u64map_get(&s->span_cookies, id, &cookie))
            ig_allocjoin_take(ig_allocbpf_join(s->spans), cookie, hit, smp.tid, &e->span);
        else if (s->spans)
            s->span_unknown++;
        uint64_t ips[IG_HEAP_MAX_DEPTH + 1];
        ig_unwind_end end;
        int n = ig_unwind(s->uw, &smp, ips, IG_HEAP_MAX_DEPTH + 1, &end);
        if (end != IG_UNWIND_ROOT)
            s->partial++;
        /* ips[0] is the allocator's own entry; keep the callers. */
        e->depth = n > 1 ? n - 1 : 0;
        if (e->depth) {
            e->ips = ig_xmalloc((size_t)e->depth * sizeof *e->ips);
            memcpy(e->ips, ips + 1, (size_t)e->depth * sizeof *e->ips);
        }
    }
}

static void take_sideband(session *s, const struct perf_event_header *h)
{
    if (h->type == PERF_RECORD_LOST && h->size >= sizeof *h + 16) {
        uint64_t n;
        memcpy(&n, (const uint8_t *)(h + 1) + 8, 8);
        s->lost += n;
        return;
    }
    if (h->type != PERF_RECORD_MMAP2)
        return;
    const uint8_t *p = (const uint8_t *)(h + 1);
    uint32_t pid;
    uint64_t addr, len, pgoff, ino = 0;
    uint32_t maj, min;
    memcpy(&pid, p, 4);
    memcpy(&addr, p + 8, 8);
    memcpy(&len, p + 16, 8);
    memcpy(&pgoff, p + 24, 8);
    memcpy(&maj, p + 32, 4);
    memcpy(&min, p + 36, 4);
    memcpy(&ino, p + 40, 8);
    uint32_t prot;
    memcpy(&prot, p + 56, 4);
    const char *name = (const char *)(p + 64);
    if ((pid_t)pid != s->pid || !(prot & 4 /* PROT_EXEC */))
        return;
    ig_maps_add(&s->maps, &s->mc, s->pid, addr, len, pgoff, name, ((uint64_t)maj << 8) | min, ino);
}

/* Reads a ring from the head ig_ring_begin saw. */
static void walk_ring(session *s, thread_ring *tr)
{
    ig_ring *r = &tr->ring;
    const struct perf_event_header *h;
    while ((h = ig_ring_next(r))) {
        if (h->type == PERF_RECORD_SAMPLE && h->size >= sizeof *h + 16)
            take_sample(s, h);
        else
            take_sideband(s, h);
    }
    ig_ring_end(r);
}

/* The span-label program writes its event before the kernel writes the
 * sample: drained after the rings' heads are seen, it has the events of
 * every sample read. */
static void drain_ring(session *s, thread_ring *tr)
{
    if (tr->closed)
        return;
    ig_ring_begin(&tr->ring);
    if (s->spans)
        ig_allocbpf_drain(s->spans);
    walk_ring(s, tr);
}

static void drain(session *s)
{
    for (size_t i = 0; i < s->nrings; i++)
        if (!s->rings[i].closed)
            ig_ring_begin(&s->rings[i].ring);
    if (s->spans)
        ig_allocbpf_drain(s->spans);
    for (size_t i = 0; i < s->nrings; i++)
        if (!s->rings[i].closed)
            walk_ring(s, &s->rings[i]);
}

/* ---- replaying events in time order ---------------------------------------------- */

static int by_time(const void *a, const void *b)
{
    const event *x = a, *y = b;
    return x->time < y->time ? -1 : x->time > y->time;
}

static thread_state *thread_of(session *s, uint32_t tid)
{
    uint64_t v;
    if (ig_u64map_get(&s->threads, tid, &v))
        return (thread_state *)(uintptr_t)v;
    thread_state *t = ig_xcalloc(1, sizeof *t);
    ig_u64map_put(&s->threads, tid, (uint64_t)(uintptr_t)t);
    return t;
}

static uint64_t alloc_size(ig_alloc_fn fn, const pending *pd)
{
    switch (fn) {
    case IG_FN_MALLOC: case IG_FN_VALLOC: case IG_FN_PVALLOC: return pd->a0;
    case IG_FN_CALLOC: return pd->a0 * pd->a1; /* an overflow returns NULL: never recorded */
    default: return pd->a1; /* realloc, aligned_alloc, memalign: size in rsi; posix_memalign: rdx */
    }
}

static void on_return(session *s, thread_state *t, const event *e)
{
    pending *pd = &t->slot[e->fn];
    if (!pd->valid) {
        s->unmatched++;
        return;
    }
    pd->valid = false;
    for (int f = 0; f < IG_FN_COUNT; f++)
        if (f != e->fn && t->slot[f].valid && t->slot[f].time < pd->time) {
            s->nested++; /* called from inside another allocator call: the outer one counts */
            return;
        }
    uint64_t size = alloc_size((ig_alloc_fn)e->fn, pd);
    uint64_t ptr = e->rax;
    if (e->fn == IG_FN_REALLOC) {
        if (pd->a0 && (ptr || size == 0))
            ig_heaptab_remove(s->tab, pd->a0);
        if (!size)
            return;
    }
    if (e->fn == IG_FN_POSIX_MEMALIGN) {
        if ((uint32_t)e->rax != 0)
            return;
        ptr = read_target_word(s->pid, pd->a0); /* *memptr, read now (best effort) */
    }
    if (ptr)
        ig_heaptab_add_span(s->tab, ptr, size, pd->ips, pd->depth, &pd->span);
}

static void replay(session *s)
{
    if (!s->nbatch)
        return;
    qsort(s->batch, s->nbatch, sizeof *s->batch, by_time);
    for (size_t i = 0; i < s->nbatch; i++) {
        event *e = &s->batch[i];
        if (e->fn == IG_FN_FREE) {
            if (e->a0)
                ig_heaptab_remove(s->tab, e->a0);
        } else {
            thread_state *t = thread_of(s, e->tid);
            if (e->ret) {
                on_return(s, t, e);
            } else {
                pending *pd = &t->slot[e->fn];
                pd->valid = true;
                pd->time = e->time;
                pd->a0 = e->a0;
                pd->a1 = e->a1;
                pd->depth = e->depth;
                pd->span = e->span;
                if (e->depth)
                    memcpy(pd->ips, e->ips, (size_t)e->depth * sizeof *e->ips);
            }
        }
        free(e->ips);
    }
    s->nbatch = 0;
}

/* ---- output ------------------------------------------------------------------------ */

typedef struct locate_ctx {
    session *s;
    ig_u64map cache;
} locate_ctx;

static uint32_t locate_remote(void *ctx, ignis_profile *p, uint64_t ip, int frame)
{
    (void)frame;
    locate_ctx *c = ctx;
    uint64_t at = ip - 1, v;
    if (ig_u64map_get(&c->cache, ip, &v))
        return (uint32_t)v;
    ig_map *m = ig_maps_find(&c->s->maps, at);
    uint32_t mid = 0;
    const char *path = NULL, *bid = NULL;
    uint64_t off = 0;
    if (m) {
        path = m->mod ? m->mod->name : m->name;
        bid = (m->mod && m->mod->build_id[0]) ? m->mod->build_id : NULL;
        ignis_mapping pm = {.start = m->start, .limit = m->end, .offset = m->pgoff,
                            .filename = ignis_profile_intern(p, m->name),
                            .build_id = bid ? ignis_profile_intern(p, bid) : 0,
                            .has_functions = true, .has_filenames = true, .has_line_numbers = true,
                            .has_inline_frames = true};
        mid = ignis_profile_add_mapping(p, &pm);
        off = at - m->start + m->pgoff;
        if (m->mod && access(path, R_OK) != 0 && m->mod->open_path && m->mod->open_path[0])
            path = m->mod->open_path;
    }
    uint32_t lid = ig_heap_symbolize(p, c->s->st, mid, path, bid, at, off);
    ig_u64map_put(&c->cache, ip, lid);
    return lid;
}

static ignis_profile *build_profile(session *s)
{
    ig_heaptab_stats st;
    ig_heaptab_get_stats(s->tab, &st);
    size_t n = st.records;
    ig_heaprec *recs = ig_xmalloc((n + 1) * sizeof *recs);
    n = ig_heaptab_snapshot(s->tab, recs, n);
    if (s->every > 1) /* count sampling: each recorded allocation stands for `every` */
        for (size_t i = 0; i < n; i++) {
            recs[i].count *= (uint64_t)s->every;
            recs[i].inuse *= (uint64_t)s->every;
        }
    ignis_profile *p = ig_heapprof_new(1);
    locate_ctx lc = {s, {0}};
    ig_heapprof_add_records(p, recs, n, 1, locate_remote, &lc);
    ig_u64map_clear(&lc.cache);
    free(recs);
    char note[PATH_MAX + 256];
    snprintf(note, sizeof note, "ignis record --alloc -p %d: uprobes on %s, every %ld", (int)s->pid, s->lib_path,
             s->every);
    ignis_profile_add_comment(p, note);
    return p;
}

static void session_free(session *s)
{
    for (size_t i = 0; i < s->nrings; i++)
        if (!s->rings[i].closed)
            ig_ring_unmap(&s->rings[i].ring);
    for (size_t i = 0; i < s->nfds; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    ig_allocbpf_free(s->spans); /* closes its links, which held the events until now */
    free(s->rings);
    free(s->fds);
    free(s->cookies);
    ig_u64map_clear(&s->span_cookies);
    for (size_t i = 0; i < s->threads.cap; i++)
        if (s->threads.keys[i])
            free((void *)(uintptr_t)s->threads.vals[i]);
    ig_u64map_clear(&s->threads);
    ig_u64map_clear(&s->ids);
    ig_u64map_clear(&s->attached);
    for (size_t i = 0; i < s->nbatch; i++)
        free(s->batch[i].ips);
    free(s->batch);
    if (s->uw)
        ig_unwinder_free(s->uw);
    ig_maps_clear(&s->maps);
    ig_modcache_free(&s->mc);
    if (s->tab)
        ig_heaptab_destroy(s->tab);
    if (s->st)
        ig_symtab_free(s->st);
}

static bool target_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

static double cpu_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, stt = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return -1;
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Every stop signal (cmd/stop.h) ends the session after its next drain,
 * and the profile is written; set before attaching, so one that comes
 * while probes are being placed is not fatal either. */
static void catch_stop_signals(void)
{
    sigset_t stops;
    cmd_stop_signals(&stops);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&stops, sig) == 1)
            sigaction(sig, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* nor does a closed stderr */
    g_stop = 0;
}

/* Everything up to the first drain: the PMU, the allocator's symbols, the
 * probe cost, the target's maps and the probes on its threads. */
static int session_start(session *s, const ig_attach_opts *o, ig_err *err)
{
    memset(s, 0, sizeof *s);
    s->pid = o->pid;
    s->every = o->every > 0 ? o->every : 1;
    s->stack_size = o->stack_size ? o->stack_size : DEFAULT_STACK;
    if (uprobe_pmu(&s->type, &s->retbit) < 0)
        return ig_err_set(err, "/sys/bus/event_source/devices/uprobe: no uprobe PMU in this kernel "
                               "(CONFIG_UPROBE_EVENTS); use --alloc -- CMD (preload) instead");
    if (find_allocator(s, err) < 0)
        return -1;
    calibrate(s->type, s->retbit, &s->entry_ns, &s->pair_ns);
    s->tab = ig_heaptab_new(1u << 18, 1u << 16);
    s->st = ig_symtab_new();
    if (!s->tab || ig_maps_load(&s->maps, &s->mc, s->pid) < 0)
        return ig_err_set(err, "-p %d: cannot read the process's mappings", (int)s->pid);
    s->uw = ig_unwinder_new(&s->maps);
    s->ring_pages = ring_pages_for(s->pid);
    if (!o->no_span_labels) {
        ig_err why;
        /* the program's events run ahead of the samples read by up to a
         * ring of samples (each at least ~256 bytes: regs, a short stack) */
        size_t ring_samples = s->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 256;
        s->spans = ig_allocbpf_new(s->pid, (uint64_t)s->every, ring_samples, o->cache_dir, &why);
        if (!s->spans)
            snprintf(s->no_spans_why, sizeof s->no_spans_why, "%s", why.msg);
    }
    return attach_all(s, err);
}

/* Drains until the target exits, -d passes, or a stop signal. */
static void session_run(session *s, const ig_attach_opts *o)
{
    s->t0 = mono_ns();
    s->cpu0 = s->cpu1 = cpu_seconds(s->pid);
    /* The target produces records as fast as its threads trap; give the
     * reader a head start over them (best effort, needs privilege). */
    if (setpriority(PRIO_PROCESS, 0, -10) < 0 && !o->quiet)
        fprintf(stderr, "ignis record: cannot raise our priority (%s); records may be lost under load\n",
                strerror(errno));
    struct pollfd *pfd = NULL;
    ig_err err;
    for (;;) {
        pfd = ig_xrealloc(pfd, (s->nrings + 1) * sizeof *pfd);
        nfds_t np = 0;
        for (size_t i = 0; i < s->nrings; i++)
            if (!s->rings[i].closed)
                pfd[np++] = (struct pollfd){.fd = s->rings[i].ring.fd, .events = POLLIN};
        poll(pfd, np, 20);
        drain(s);
        replay(s);
        if (attach_all(s, &err) < 0 && !o->quiet)
            fprintf(stderr, "ignis record: %s\n", err.msg);
        double c = cpu_seconds(s->pid);
        if (c >= 0)
            s->cpu1 = c;
        if (g_stop || !target_alive(s->pid) || (o->duration > 0 && mono_ns() - s->t0 >= o->duration * 1e9))
            break;
    }
    drain(s);
    replay(s);
    free(pfd);
}

/* How the recorded allocations were labelled with their spans. */
static void print_span_summary(const session *s)
{
    if (!s->spans)
        return;
    ig_allocjoin_stats j;
    ig_allocjoin_stats_get(ig_allocbpf_join(s->spans), &j);
    ig_spanbpf_stats b;
    ig_allocbpf_stats_get(s->spans, &b);
    fprintf(stderr,
            "ignis record: span labels: %llu allocation samples in a span, %llu outside any, %llu unlabelled "
            "(their span could not be told: %llu events lost, %llu probe events without the program)\n",
            (unsigned long long)j.labelled, (unsigned long long)j.outside,
            (unsigned long long)(j.unknown + s->span_unknown), (unsigned long long)b.dropped,
            (unsigned long long)s->span_unattached);
    uint64_t runs, ns;
    ig_allocbpf_run_time(s->spans, &runs, &ns);
    if (runs) /* kernel.bpf_stats_enabled=1 */
        fprintf(stderr, "ignis record: span-label program: %llu runs, %.0f ns per run\n", (unsigned long long)runs,
                (double)ns / (double)runs);
}

static void print_summary(const session *s, const ignis_profile *p, const char *output)
{
    fprintf(stderr,
            "ignis record: pid %d: est. %.0f allocations, %.1f MiB allocated; %.0f objects, %.3f MiB in use "
            "at the end; %zu call sites; wrote %s\n",
            (int)s->pid, (double)ignis_profile_total(p, IG_HEAP_ALLOC_OBJECTS),
            (double)ignis_profile_total(p, IG_HEAP_ALLOC_SPACE) / 1048576.0,
            (double)ignis_profile_total(p, IG_HEAP_INUSE_OBJECTS),
            (double)ignis_profile_total(p, IG_HEAP_INUSE_SPACE) / 1048576.0, ignis_profile_num_samples(p), output);
    fprintf(stderr,
            "ignis record: %llu probe hits (%llu records, every %ld), %llu records lost (ring full), %llu stacks "
            "not fully unwound, %llu nested calls folded, %llu returns without entry, %zu threads seen\n",
            (unsigned long long)s->hits, (unsigned long long)s->records, s->every, (unsigned long long)s->lost,
            (unsigned long long)s->partial, (unsigned long long)s->nested, (unsigned long long)s->unmatched,
            s->threads.count);
    print_span_summary(s);
    if (s->entry_ns < 0)
        return;
    double added_ms = ((double)s->alloc_calls * s->pair_ns + (double)s->free_calls * s->entry_ns) / 1e6;
    double cpu = s->cpu1 >= 0 && s->cpu0 >= 0 ? s->cpu1 - s->cpu0 : -1.0;
    fprintf(stderr,
            "ignis record: probe cost (calibrated here): %.2f us per entry probe hit, %.2f us per entry+return "
            "pair => about %.0f ms added to the target for %llu allocation and %llu free calls; target CPU time "
            "while attached %.2f s\n",
            s->entry_ns / 1e3, s->pair_ns / 1e3, added_ms, (unsigned long long)s->alloc_calls,
            (unsigned long long)s->free_calls, cpu);
}

int ig_alloc_attach(const ig_attach_opts *o)
{
    session s;
    ig_err err;
    catch_stop_signals();
    if (session_start(&s, o, &err) < 0) {
        record_error("%s", err.msg);
        session_free(&s);
        ig_ofile_abort(o->out);
        return 1;
    }
    if (!o->quiet)
        fprintf(stderr, "ignis record: attached to %d: %d probes on %s in %zu threads\n", (int)s.pid, s.nprobes,
                s.lib_path, s.threads_attached);
    if (!o->quiet && s.no_spans_why[0]) /* after "attached", which scripts wait for */
        fprintf(stderr, "ignis record: no span labels: %s\n", s.no_spans_why);
    session_run(&s, o);
    ignis_profile *p = build_profile(&s);
    ignis_profile_set_time(p, (int64_t)time(NULL) * 1000000000, (int64_t)(mono_ns() - s.t0));
    int rc = 0;
    if (ig_profile_save_to(p, o->out, o->output, NULL, NULL, &err) < 0) {
        record_error("%s", err.msg);
        rc = 1;
    } else if (!o->quiet) {
        print_summary(&s, p, o->output);
    }
    ignis_profile_free(p);
    session_free(&s);
    return rc;
}
