/*
 * profiler/spanbpf.c — loads and feeds the span-label BPF program, drains
 * its events, and joins them with samples (see spanbpf.h for the contract
 * and profiler/bpf/spanctx.bpf.c for the program).
 *
 * Design.  The program's object is compiled with clang -target bpf at
 * build time and embedded in the binary as a bpftool skeleton, so nothing
 * is read from disk at run time but five field offsets from the kernel's
 * BTF, once per boot (see "kernel field offsets" below).  libbpf
 * is linked (a small library; its own dependencies, libelf and zlib, the
 * command loads anyway).  libbpf's messages are kept, not printed: the
 * first warning completes our one-line error when loading fails.
 *
 * A followed process is one entry in the program's hash map: the TLS
 * offset (profiler/spanctx.c resolves it from the ELF relocations, as the
 * OpenTelemetry eBPF profiler does), the span_name key index, and the
 * identity of the process image read from /proc/PID/stat (start time,
 * stack top), which the program compares with the sampled task's so that
 * an exec'd image or a reused pid is never read with a stale offset.
 *
 * The join keeps events in one circular array (a fixed capacity: the
 * oldest is pushed out when full) threaded into one FIFO per CPU by slot
 * indices.  Push and take are O(1) (take also drops the events of samples
 * never asked about, ahead of the match).
 */
#include "profiler/spanbpf.h"
#include "profiler/spanctx.h"
#include "profiler/bpf/spanctx_abi.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the join (no BPF) ------------------------------------------------------------ */

#define JOIN_MAX_CPUS 65536

typedef struct jslot {
    ig_spanbpf_label l;
    uint32_t next; /* slot + 1 of this CPU's next event, 0: none */
    bool live;
    bool gap;      /* events of this CPU were lost just before this one */
} jslot;

typedef struct jcpu {
    uint32_t first, last;   /* slot + 1 of this CPU's queue, 0: empty */
    uint32_t drops;         /* the program's drop count at this CPU's last event */
    uint32_t drops_now;     /* ... as read after the latest drain (ig_spanjoin_note_drops) */
    uint64_t evicted_until; /* samples up to this time may have lost their event (0: none) */
} jcpu;

struct ig_spanjoin {
    jslot *slots;
    size_t cap;          /* power of two */
    uint64_t head, tail; /* slots [tail, head) are held (mod cap) */
    jcpu *cpus;
    size_t ncpus;
    ig_spanbpf_label out; /* what take returns */
    ig_spanjoin_stats st;
};

ig_spanjoin *ig_spanjoin_new(size_t capacity)
{
    ig_spanjoin *j = ig_xcalloc(1, sizeof *j);
    size_t want = capacity ? capacity : 16384;
    if (want > (1u << 30))
        want = 1u << 30; /* slot indices are 32-bit */
    j->cap = 16;
    while (j->cap < want)
        j->cap *= 2;
    j->slots = ig_xcalloc(j->cap, sizeof *j->slots);
    return j;
}

void ig_spanjoin_free(ig_spanjoin *j)
{
    if (!j)
        return;
    free(j->cpus);
    free(j->slots);
    free(j);
}

static jcpu *cpu_queue(ig_spanjoin *j, uint32_t cpu, bool grow)
{
    if (cpu < j->ncpus)
        return &j->cpus[cpu];
    if (!grow || cpu >= JOIN_MAX_CPUS)
        return NULL;
    size_t n = j->ncpus ? j->ncpus : 64;
    while (n <= cpu)
        n *= 2;
    j->cpus = ig_xrealloc(j->cpus, n * sizeof *j->cpus);
    memset(j->cpus + j->ncpus, 0, (n - j->ncpus) * sizeof *j->cpus);
    j->ncpus = n;
    return &j->cpus[cpu];
}

/* Removes the CPU's oldest event. */
static void pop_front(ig_spanjoin *j, jcpu *c)
{
    jslot *s = &j->slots[c->first - 1];
    s->live = false;
    c->first = s->next;
    if (!c->first)
        c->last = 0;
    /* reclaim the slots freed at the old end */
    while (j->tail != j->head && !j->slots[j->tail & (j->cap - 1)].live)
        j->tail++;
}

void ig_spanjoin_push(void *join, const ig_spanbpf_label *l)
{
    ig_spanjoin *j = join;
    jcpu *c = cpu_queue(j, l->cpu, true);
    if (!c)
        return; /* not a CPU number */
    if (j->head - j->tail == j->cap) { /* full: the oldest event goes (its CPU's first) */
        jslot *old = &j->slots[j->tail & (j->cap - 1)];
        jcpu *oc = &j->cpus[old->l.cpu];
        if (old->l.time > oc->evicted_until)
            oc->evicted_until = old->l.time;
        pop_front(j, oc);
        j->st.evicted++;
    }
    uint32_t i = (uint32_t)(j->head++ & (j->cap - 1));
    j->slots[i] = (jslot){.l = *l, .live = true, .gap = l->cpu_drops != c->drops};
    c->drops = l->cpu_drops;
    if (c->last)
        j->slots[c->last - 1].next = i + 1u;
    else
        c->first = i + 1u;
    c->last = i + 1u;
}

/* Takes the CPU's first event as the sample's: its label when it was in
 * a span, else NULL (counted). */
static const ig_spanbpf_label *take_front(ig_spanjoin *j, jcpu *c)
{
    j->out = j->slots[c->first - 1].l;
    pop_front(j, c);
    if (!j->out.in_span) {
        j->st.outside++;
        return NULL;
    }
    j->st.labelled++;
    return &j->out;
}

const ig_spanbpf_label *ig_spanjoin_take(ig_spanjoin *j, const ig_spanjoin_sample *s)
{
    jcpu *c = cpu_queue(j, s->cpu, false);
    if (!c || (c->evicted_until && s->time <= c->evicted_until)) {
        j->st.unlabelled++;
        return NULL;
    }
    while (c->first && j->slots[c->first - 1].l.time < s->time) {
        pop_front(j, c); /* an earlier sample's */
        j->st.skipped++;
    }
    const jslot *e = c->first ? &j->slots[c->first - 1] : NULL;
    if (!e || e->gap || e->l.tid != s->tid || (s->ip && e->l.ip != s->ip) ||
        (s->period && e->l.period != s->period)) {
        j->st.unlabelled++; /* not drained yet, or maybe a later sample's: left for it */
        return NULL;
    }
    return take_front(j, c);
}

void ig_spanjoin_note_drops(ig_spanjoin *j, uint32_t cpu, uint32_t drops)
{
    jcpu *c = cpu_queue(j, cpu, true);
    if (c)
        c->drops_now = drops;
}

const ig_spanbpf_label *ig_spanjoin_take_switch(ig_spanjoin *j, const ig_spanjoin_sample *s)
{
    jcpu *c = cpu_queue(j, s->cpu, false);
    if (!c) {
        j->st.unlabelled++;
        return NULL;
    }
    /* the CPU's last event stamped before the sample; earlier ones are of
     * switch-outs never asked about */
    while (c->first) {
        const jslot *e = &j->slots[c->first - 1];
        const jslot *next = e->next ? &j->slots[e->next - 1] : NULL;
        if (!next || next->l.time >= s->time)
            break;
        pop_front(j, c);
        j->st.skipped++;
    }
    const jslot *e = c->first ? &j->slots[c->first - 1] : NULL;
    if (!e || e->l.time >= s->time || (c->evicted_until && e->l.time <= c->evicted_until)) {
        j->st.unlabelled++; /* none before it: lost, or pushed out */
        return NULL;
    }
    const jslot *next = e->next ? &j->slots[e->next - 1] : NULL;
    bool lost_after = next ? next->gap : c->drops_now != e->l.cpu_drops;
    if (e->l.tid != s->tid || lost_after) {
        j->st.unlabelled++; /* another thread's (the sample's own event was not written), or maybe lost */
        return NULL;
    }
    return take_front(j, c);
}

size_t ig_spanjoin_pending(const ig_spanjoin *j)
{
    size_t n = 0;
    for (uint64_t p = j->tail; p != j->head; p++)
        n += j->slots[p & (j->cap - 1)].live;
    return n;
}

void ig_spanjoin_stats_get(const ig_spanjoin *j, ig_spanjoin_stats *out) { *out = j->st; }

/* ---- events ------------------------------------------------------------------------ */

int ig_spanbpf_decode_event(const void *data, size_t size, ig_spanbpf_label *out)
{
    memset(out, 0, sizeof *out);
    struct ig_spanbpf_event e; /* copied: the ring buffer's records are only 8-byte aligned */
    if (size < sizeof e.h)
        return -1;
    memcpy(&e, data, size < sizeof e ? size : sizeof e);
    *out = (ig_spanbpf_label){.tgid = e.h.tgid, .tid = e.h.tid, .cpu = e.h.cpu, .cpu_drops = e.h.drops,
                              .time = e.h.time, .ip = e.h.ip, .period = e.h.period,
                              .from_switch = e.h.src == IG_SPANBPF_SRC_SWITCH};
    ig_spanlabel sl;
    if (e.h.kind != IG_SPANBPF_SPAN || size < sizeof e)
        return 0;
    if (ig_spanctx_decode_record(e.rec, e.h.rec_len < sizeof e.rec ? e.h.rec_len : sizeof e.rec, e.h.name_key,
                                 &sl) != 1)
        return 0;
    out->in_span = true;
    memcpy(out->trace_id, sl.trace_id, sizeof out->trace_id);
    memcpy(out->span_id, sl.span_id, sizeof out->span_id);
    out->trace_flags = sl.trace_flags;
    out->name_len = (uint8_t)(sl.name_len < IG_SPANBPF_NAME_MAX ? sl.name_len : IG_SPANBPF_NAME_MAX);
    memcpy(out->name, sl.name, out->name_len);
    out->name[out->name_len] = '\0';
    return 0;
}

/* ---- the program ---------------------------------------------------------------------- */

#ifdef IG_HAVE_SPANBPF

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "profiler/bpf/spanctx.skel.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#define DEFAULT_BTF "/sys/kernel/btf/vmlinux"
#define PROC_PID_INIT_INO 0xEFFFFFFCu /* the initial pid namespace's inode */

struct ig_spanbpf {
    struct ig_spanctx_bpf *skel;
    struct ring_buffer *rb;
    ig_bpf_ringpos *rpos;   /* rb's positions (NULL: unmappable, plain consume) */
    int switch_fd;          /* the perf event the sched_switch program hangs on, -1: none */
    ig_spanbpf_label_fn cb; /* during a drain */
    void *cb_ctx;
    size_t delivered;
    long ns_per_tick;       /* for /proc/PID/stat starttime */
    int64_t boot_offset_ns; /* our time namespace's boottime offset */
    int ncpus;
};

/* libbpf's first warning since the load began (the cause; later ones say
 * what failed because of it), for our error line.  Loading is
 * single-threaded in practice; the buffer is per thread anyway. */
static __thread char g_libbpf_msg[256];

static int keep_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG || g_libbpf_msg[0])
        return 0;
    char line[sizeof g_libbpf_msg];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    const char *text = strncmp(line, "libbpf: ", 8) ? line : line + 8;
    snprintf(g_libbpf_msg, sizeof g_libbpf_msg, "%s", text);
    return 0;
}

static int read_int_file(const char *path)
{
    FILE *f = fopen(path, "re");
    int v = -1;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int load_error(int e, ig_err *err)
{
    char why[128];
    libbpf_strerror(e, why, sizeof why); /* knows libbpf's own codes (4000+) too */
    if (e == EPERM || e == EACCES)
        return ig_err_set(err,
                          "span labels need BPF: loading the BPF program is not permitted (%s); run as "
                          "root or with CAP_BPF and CAP_PERFMON (kernel.unprivileged_bpf_disabled=%d)",
                          why, read_int_file("/proc/sys/kernel/unprivileged_bpf_disabled"));
    if (g_libbpf_msg[0])
        return ig_err_set(err, "span labels need BPF: loading the BPF program failed: %s (libbpf: %s)", why,
                          g_libbpf_msg);
    return ig_err_set(err, "span labels need BPF: loading the BPF program failed: %s", why);
}

/* The boottime offset of our time namespace (0 outside one). */
static int64_t boottime_offset_ns(void)
{
    FILE *f = fopen("/proc/self/timens_offsets", "re");
    int64_t off = 0;
    char name[32];
    long long s, ns;
    while (f && fscanf(f, "%31s %lld %lld", name, &s, &ns) == 3)
        if (!strcmp(name, "boottime"))
            off = (int64_t)s * 1000000000 + ns;
    if (f)
        fclose(f);
    return off;
}

/* The ring buffer: a power of two of at least a page (the kernel's rule). */
static size_t ring_size(const ig_spanbpf_opts *o, int ncpus)
{
    size_t want = o && o->ring_bytes ? o->ring_bytes : (size_t)ncpus * 65536;
    size_t sz = o && o->ring_bytes ? (size_t)sysconf(_SC_PAGESIZE) : 256 * 1024;
    while (sz < want && sz < 256u * 1024 * 1024)
        sz *= 2;
    return sz;
}

/* ---- kernel field offsets -------------------------------------------------------
 *
 * The program reads five kernel fields at offsets set before the load, not
 * through CO-RE relocations: with those, libbpf parses the kernel's whole
 * BTF (5 MB read from sysfs, then indexed) at every load, about 80 ms of CPU
 * per recording.  The offsets are found in that BTF once per boot and kept
 * in the cache directory (spanbpf/<boot id>.offsets, one line, checked when
 * read); a wrong one could only make the program see a changed process
 * image (the identity checks) or an unreadable record, never another span. */

typedef struct kernel_offsets {
    uint32_t fsbase, group_leader, mm, start_boottime, start_stack;
} kernel_offsets;

#define OFFSETS_FORMAT "ignis-spanbpf-offsets 1 %u %u %u %u %u\n"
#define OFFSET_MAX 65536 /* task_struct is a few KiB */

/* Byte offset of member `name` in struct/union type_id, looking into
 * anonymous members; 0 with *out, -1 when absent or a bitfield. */
static int member_offset(const struct btf *btf, uint32_t type_id, const char *name, uint32_t *out, uint32_t *member_type,
                         int depth)
{
    const struct btf_type *t = btf__type_by_id(btf, type_id);
    if (!t || !(btf_is_struct(t) || btf_is_union(t)) || depth > 8)
        return -1;
    const struct btf_member *m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
        uint32_t bits = btf_member_bit_offset(t, i);
        if (bits % 8 || btf_member_bitfield_size(t, i))
            continue;
        const char *mn = btf__name_by_offset(btf, m->name_off);
        if (mn && !strcmp(mn, name)) {
            *out = bits / 8;
            if (member_type)
                *member_type = (uint32_t)btf__resolve_type(btf, m->type);
            return 0;
        }
        uint32_t inner;
        if ((!mn || !*mn) && member_offset(btf, (uint32_t)btf__resolve_type(btf, m->type), name, &inner, member_type,
                                           depth + 1) == 0) {
            *out = bits / 8 + inner;
            return 0;
        }
    }
    return -1;
}

static int offsets_from_btf(const char *btf_path, kernel_offsets *k, ig_err *err)
{
    struct btf *btf = btf__parse(btf_path, NULL);
    if (!btf)
        return ig_err_set(err, "span labels need BPF: kernel BTF %s: %s", btf_path, strerror(errno));
    int task = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
    int mm = btf__find_by_name_kind(btf, "mm_struct", BTF_KIND_STRUCT);
    uint32_t thread = 0, thread_type = 0, fsbase = 0;
    int rc = -1;
    if (task > 0 && mm > 0 && member_offset(btf, (uint32_t)task, "thread", &thread, &thread_type, 0) == 0 &&
        member_offset(btf, thread_type, "fsbase", &fsbase, NULL, 0) == 0 &&
        member_offset(btf, (uint32_t)task, "group_leader", &k->group_leader, NULL, 0) == 0 &&
        member_offset(btf, (uint32_t)task, "mm", &k->mm, NULL, 0) == 0 &&
        member_offset(btf, (uint32_t)task, "start_boottime", &k->start_boottime, NULL, 0) == 0 &&
        member_offset(btf, (uint32_t)mm, "start_stack", &k->start_stack, NULL, 0) == 0) {
        k->fsbase = thread + fsbase;
        rc = 0;
    } else {
        ig_err_set(err, "span labels need BPF: kernel BTF %s: no task_struct.thread.fsbase, group_leader, mm, "
                        "start_boottime or mm_struct.start_stack (not an x86-64 kernel?)",
                   btf_path);
    }
    btf__free(btf);
    return rc;
}

static bool offsets_valid(const kernel_offsets *k)
{
    const uint32_t v[] = {k->fsbase, k->group_leader, k->mm, k->start_boottime, k->start_stack};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] >= OFFSET_MAX || v[i] % 8)
            return false;
    return true;
}

/* <cache_dir>/spanbpf/<boot id>.offsets into path; false without a boot id. */
static bool offsets_cache_path(const char *cache_dir, char *path, size_t size)
{
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f) {
        if (!fgets(boot, sizeof boot, f))
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n")] = '\0';
    if (strlen(boot) < 8 || strspn(boot, "0123456789abcdef-") != strlen(boot))
        return false;
    return (size_t)snprintf(path, size, "%s/spanbpf/%s.offsets", cache_dir, boot) < size;
}

/* The offsets: from the cache when it holds them for this boot, else from
 * btf_path (the cache then keeps them). */
static int find_kernel_offsets(const char *btf_path, const char *cache_dir, kernel_offsets *k, ig_err *err)
{
    char path[4096];
    bool cached = cache_dir && *cache_dir && offsets_cache_path(cache_dir, path, sizeof path);
    if (cached) {
        FILE *f = fopen(path, "re");
        if (f) {
            int got = fscanf(f, "ignis-spanbpf-offsets 1 %u %u %u %u %u", &k->fsbase, &k->group_leader, &k->mm,
                             &k->start_boottime, &k->start_stack);
            fclose(f);
            if (got == 5 && offsets_valid(k))
                return 0; /* else found again and rewritten */
        }
    }
    if (access(btf_path, R_OK) != 0)
        return ig_err_set(err, "span labels need BPF: kernel BTF %s: %s (a kernel built with CONFIG_DEBUG_INFO_BTF)",
                          btf_path, strerror(errno));
    if (offsets_from_btf(btf_path, k, err) != 0)
        return -1;
    if (!offsets_valid(k))
        return ig_err_set(err, "span labels need BPF: kernel BTF %s: unexpected task_struct layout", btf_path);
    if (cached) {
        char line[160], dir[4096];
        int n = snprintf(line, sizeof line, OFFSETS_FORMAT, k->fsbase, k->group_leader, k->mm, k->start_boottime,
                         k->start_stack);
        snprintf(dir, sizeof dir, "%s", cache_dir);
        mkdir(dir, 0700);
        snprintf(dir, sizeof dir, "%s/spanbpf", cache_dir);
        ig_err ignored;
        if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && n > 0)
            ig_write_cache_file(path, line, (size_t)n, &ignored); /* a cache: failing costs the next load the BTF */
    }
    return 0;
}

static int on_event(void *ctx, void *data, size_t size);

ig_spanbpf *ig_spanbpf_new(ig_err *err) { return ig_spanbpf_new_opts(NULL, err); }

ig_spanbpf *ig_spanbpf_new_opts(const ig_spanbpf_opts *o, ig_err *err)
{
    const char *btf = o && o->btf_path ? o->btf_path : DEFAULT_BTF;
    kernel_offsets k;
    if (find_kernel_offsets(btf, o && !o->btf_path ? o->cache_dir : NULL, &k, err) != 0)
        return NULL;
    libbpf_set_print(keep_libbpf_message);
    g_libbpf_msg[0] = '\0';
    ig_spanbpf *sb = ig_xcalloc(1, sizeof *sb);
    sb->switch_fd = -1;
    sb->ncpus = libbpf_num_possible_cpus();
    if (sb->ncpus < 1)
        sb->ncpus = 1;
    long hz = sysconf(_SC_CLK_TCK);
    sb->ns_per_tick = 1000000000L / (hz > 0 ? hz : 100);
    sb->boot_offset_ns = boottime_offset_ns();
    sb->skel = ig_spanctx_bpf__open();
    if (!sb->skel) {
        load_error(errno, err);
        ig_spanbpf_free(sb);
        return NULL;
    }
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PROC_PID_INIT_INO) {
        sb->skel->rodata->pidns_dev = (uint64_t)st.st_dev;
        sb->skel->rodata->pidns_ino = (uint64_t)st.st_ino;
    }
    sb->skel->rodata->off_task_fsbase = k.fsbase;
    sb->skel->rodata->off_task_group_leader = k.group_leader;
    sb->skel->rodata->off_task_mm = k.mm;
    sb->skel->rodata->off_task_start_boottime = k.start_boottime;
    sb->skel->rodata->off_mm_start_stack = k.start_stack;
    bpf_program__set_autoload(sb->skel->progs.ig_span_switch, o && o->switches);
    if (o && o->follow_fd > 0) {
        if (bpf_map__reuse_fd(sb->skel->maps.follow, o->follow_fd) != 0) {
            load_error(errno, err);
            ig_spanbpf_free(sb);
            return NULL;
        }
        sb->skel->rodata->follow_only = 1;
    }
    bpf_map__set_max_entries(sb->skel->maps.labels, (uint32_t)ring_size(o, sb->ncpus));
    int rc = ig_spanctx_bpf__load(sb->skel);
    if (rc) {
        load_error(-rc, err);
        ig_spanbpf_free(sb);
        return NULL;
    }
    sb->rb = ring_buffer__new(bpf_map__fd(sb->skel->maps.labels), on_event, sb, NULL);
    if (!sb->rb) {
        load_error(errno, err);
        ig_spanbpf_free(sb);
        return NULL;
    }
    sb->rpos = ig_bpf_ringpos_new(bpf_map__fd(sb->skel->maps.labels));
    return sb;
}

void ig_spanbpf_free(ig_spanbpf *sb)
{
    if (!sb)
        return;
    if (sb->switch_fd >= 0)
        close(sb->switch_fd); /* detaches the sched_switch program */
    ring_buffer__free(sb->rb);
    ig_bpf_ringpos_free(sb->rpos);
    ig_spanctx_bpf__destroy(sb->skel);
    free(sb);
}

/* starttime (field 22) and startstack (field 28) of /proc/PID/stat. */
static int read_identity(pid_t pid, uint64_t *start_ticks, uint64_t *start_stack, ig_err *err)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return ig_err_set(err, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p)
        return ig_err_set(err, "%s: not in the expected format", path);
    p++;
    unsigned long long v[26] = {0};
    int got = 0; /* v[i] is field i + 3 */
    for (char *tok = strtok(p, " "); tok && got < 26; tok = strtok(NULL, " "))
        v[got++] = strtoull(tok, NULL, 10);
    if (got < 26)
        return ig_err_set(err, "%s: too few fields", path);
    *start_ticks = v[22 - 3];
    *start_stack = v[28 - 3];
    if (!*start_stack)
        return ig_err_set(err, "%s: the stack address is hidden (not permitted to read process %d)", path, (int)pid);
    return 0;
}

/* The map entry of process pid, its start time bounds from ticks of
 * ns_per_tick in a time namespace whose boottime is boot_offset_ns ahead. */
static int entry_from(pid_t pid, ig_spanctx *c, const int64_t *tls, long ns_per_tick, int64_t boot_offset_ns,
                      struct ig_spanbpf_proc *out, ig_err *err)
{
    int64_t offset;
    struct ig_spanbpf_proc p = {.name_key = ig_spanctx_name_key(c)};
    if (tls)
        offset = *tls;
    else if (ig_spanctx_tls_offset(c, &offset, err) < 0)
        return -1;
    uint64_t ticks, stack;
    if (read_identity(pid, &ticks, &stack, err) < 0)
        return -1;
    p.tls_offset = offset;
    p.start_stack = stack;
    int64_t lo = (int64_t)ticks * ns_per_tick - boot_offset_ns;
    p.start_lo = lo > 0 ? (uint64_t)lo : 0;
    p.start_hi = (uint64_t)(lo + ns_per_tick);
    *out = p;
    return 0;
}

static int proc_entry(pid_t pid, long ns_per_tick, int64_t boot_offset_ns, struct ig_spanbpf_proc *out, ig_err *err)
{
    ig_spanctx *c;
    if (ig_spanctx_open(pid, &c, err) < 0)
        return -1;
    int rc = entry_from(pid, c, NULL, ns_per_tick, boot_offset_ns, out, err);
    ig_spanctx_free(c);
    return rc;
}

int ig_spanbpf_proc_entry(pid_t pid, struct ig_spanbpf_proc *out, ig_err *err)
{
    long hz = sysconf(_SC_CLK_TCK);
    return proc_entry(pid, 1000000000L / (hz > 0 ? hz : 100), boottime_offset_ns(), out, err);
}

int ig_spanbpf_proc_entry_from(pid_t pid, struct ig_spanctx *c, const int64_t *tls, struct ig_spanbpf_proc *out,
                               ig_err *err)
{
    long hz = sysconf(_SC_CLK_TCK);
    return entry_from(pid, c, tls, 1000000000L / (hz > 0 ? hz : 100), boottime_offset_ns(), out, err);
}

int ig_spanbpf_kernel_get(const ig_spanbpf_opts *o, ig_spanbpf_kernel *k, ig_err *err)
{
    const char *btf = o && o->btf_path ? o->btf_path : DEFAULT_BTF;
    kernel_offsets ko;
    if (find_kernel_offsets(btf, o && !o->btf_path ? o->cache_dir : NULL, &ko, err) != 0)
        return -1;
    *k = (ig_spanbpf_kernel){.fsbase = ko.fsbase, .group_leader = ko.group_leader, .mm = ko.mm,
                             .start_boottime = ko.start_boottime, .start_stack = ko.start_stack};
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PROC_PID_INIT_INO) {
        k->pidns_dev = (uint64_t)st.st_dev;
        k->pidns_ino = (uint64_t)st.st_ino;
    }
    libbpf_set_print(keep_libbpf_message);
    g_libbpf_msg[0] = '\0';
    return 0;
}

int ig_spanbpf_load_error(int e, ig_err *err) { return load_error(e, err); }

void ig_bpf_percpu_sums(const struct bpf_map *map, int ncpus, uint64_t *sums, uint32_t nkeys)
{
    uint64_t *per_cpu = ig_xcalloc((size_t)ncpus, sizeof *per_cpu);
    for (uint32_t k = 0; k < nkeys; k++) {
        sums[k] = 0;
        if (bpf_map__lookup_elem(map, &k, sizeof k, per_cpu, (size_t)ncpus * sizeof *per_cpu, 0) == 0)
            for (int c = 0; c < ncpus; c++)
                sums[k] += per_cpu[c];
    }
    free(per_cpu);
}

struct ig_bpf_ringpos {
    const uint8_t *pages; /* consumer position page, then producer position page */
    size_t page;
};

ig_bpf_ringpos *ig_bpf_ringpos_new(int ringbuf_map_fd)
{
    long page = sysconf(_SC_PAGESIZE);
    if (ringbuf_map_fd < 0 || page <= 0)
        return NULL;
    void *m = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, ringbuf_map_fd, 0);
    if (m == MAP_FAILED)
        return NULL;
    ig_bpf_ringpos *p = ig_xcalloc(1, sizeof *p);
    p->pages = m;
    p->page = (size_t)page;
    return p;
}

void ig_bpf_ringpos_free(ig_bpf_ringpos *p)
{
    if (!p)
        return;
    munmap((void *)p->pages, 2 * p->page);
    free(p);
}

static uint64_t ring_position(const ig_bpf_ringpos *p, size_t which)
{
    return __atomic_load_n((const unsigned long *)(const void *)(p->pages + which * p->page), __ATOMIC_ACQUIRE);
}

#define RING_WAIT_STEP_NS 20000L      /* a sleep while a program run finishes its record */
#define RING_WAIT_MAX_NS 50000000L    /* then the record is left for the next drain */

int ig_bpf_ring_consume_all(struct ring_buffer *rb, const ig_bpf_ringpos *p)
{
    if (!p)
        return ring_buffer__consume(rb);
    uint64_t mark = ring_position(p, 1); /* everything reserved before this call */
    int rc = ring_buffer__consume(rb);
    struct timespec t0, now, step = {0, RING_WAIT_STEP_NS};
    bool waiting = false;
    while (rc >= 0 && (int64_t)(ring_position(p, 0) - mark) < 0) { /* stopped at an unfinished record */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!waiting)
            t0 = now, waiting = true;
        else if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > RING_WAIT_MAX_NS)
            break; /* left for the next drain */
        nanosleep(&step, NULL); /* the unfinished run may be waiting for this CPU */
        rc = ring_buffer__consume(rb);
    }
    return rc;
}

int ig_spanbpf_add_process(ig_spanbpf *sb, pid_t pid, ig_err *err)
{
    struct ig_spanbpf_proc p;
    if (proc_entry(pid, sb->ns_per_tick, sb->boot_offset_ns, &p, err) < 0)
        return -1;
    return ig_spanbpf_add_entry(sb, pid, &p, err);
}

int ig_spanbpf_add_entry(ig_spanbpf *sb, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err)
{
    struct ig_spanbpf_proc p = *e;
    uint32_t key = (uint32_t)pid;
    if (bpf_map__update_elem(sb->skel->maps.procs, &key, sizeof key, &p, sizeof p, BPF_ANY) != 0)
        return ig_err_set(err, "process %d: cannot follow it for span labels: %s (%d processes at most)", (int)pid,
                          strerror(errno), IG_SPANBPF_MAX_PROCS);
    return 0;
}

void ig_spanbpf_remove_process(ig_spanbpf *sb, pid_t pid)
{
    uint32_t key = (uint32_t)pid;
    bpf_map__delete_elem(sb->skel->maps.procs, &key, sizeof key, 0);
}

int ig_spanbpf_attach(ig_spanbpf *sb, int perf_event_fd, ig_err *err)
{
    int prog = bpf_program__fd(sb->skel->progs.ig_span_label);
    if (ioctl(perf_event_fd, PERF_EVENT_IOC_SET_BPF, prog) != 0)
        return ig_err_set(err, "attaching the span-label BPF program to perf event fd %d: %s%s", perf_event_fd,
                          strerror(errno), errno == EEXIST ? " (the event has a BPF program already)" : "");
    return 0;
}

int ig_spanbpf_attach_switches(ig_spanbpf *sb, unsigned tp_id, ig_err *err)
{
    if (sb->switch_fd >= 0)
        return 0;
    int prog = bpf_program__fd(sb->skel->progs.ig_span_switch);
    if (prog < 0)
        return ig_err_set(err, "the span-label program was loaded without its sched_switch half");
    /* Disabled, it never samples; the kernel registers its tracepoint probe
     * when the event is created, and a program attached to a tracepoint
     * event runs at every hit of the tracepoint, on every CPU. */
    struct perf_event_attr a = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof a, .config = tp_id, .disabled = 1};
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return ig_err_set(err, "sched:sched_switch (id %u): perf_event_open: %s", tp_id, strerror(errno));
    if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) != 0) {
        int e = errno;
        close(fd);
        return ig_err_set(err, "attaching the span-label program to sched:sched_switch: %s", strerror(e));
    }
    sb->switch_fd = fd;
    return 0;
}

int ig_spanbpf_note_switch_drops(ig_spanbpf *sb, ig_spanjoin *j)
{
    uint64_t *per_cpu = ig_xcalloc((size_t)sb->ncpus, sizeof *per_cpu);
    uint32_t k = IG_SPANBPF_ST_SW_DROPPED;
    int rc = bpf_map__lookup_elem(sb->skel->maps.stats, &k, sizeof k, per_cpu, (size_t)sb->ncpus * sizeof *per_cpu,
                                  0) == 0 ? 0 : -1;
    for (int c = 0; c < sb->ncpus; c++)
        ig_spanjoin_note_drops(j, (uint32_t)c, rc == 0 ? (uint32_t)per_cpu[c] : UINT32_MAX);
    free(per_cpu);
    return rc;
}

static int on_event(void *ctx, void *data, size_t size)
{
    ig_spanbpf *sb = ctx;
    ig_spanbpf_label l;
    if (ig_spanbpf_decode_event(data, size, &l) < 0)
        return 0;
    sb->delivered++;
    if (sb->cb)
        sb->cb(sb->cb_ctx, &l);
    return 0;
}

size_t ig_spanbpf_drain(ig_spanbpf *sb, ig_spanbpf_label_fn cb, void *ctx)
{
    sb->cb = cb;
    sb->cb_ctx = ctx;
    sb->delivered = 0;
    ig_bpf_ring_consume_all(sb->rb, sb->rpos);
    sb->cb = NULL;
    return sb->delivered;
}

void ig_spanbpf_stats_get(const ig_spanbpf *sb, ig_spanbpf_stats *out)
{
    uint64_t sum[IG_SPANBPF_ST_COUNT];
    ig_bpf_percpu_sums(sb->skel->maps.stats, sb->ncpus, sum, IG_SPANBPF_ST_COUNT);
    *out = (ig_spanbpf_stats){.samples = sum[IG_SPANBPF_ST_SAMPLES],
                              .labelled = sum[IG_SPANBPF_ST_LABELLED],
                              .no_span = sum[IG_SPANBPF_ST_NO_SPAN],
                              .stale = sum[IG_SPANBPF_ST_STALE],
                              .unreadable = sum[IG_SPANBPF_ST_UNREADABLE],
                              .dropped = sum[IG_SPANBPF_ST_DROPPED],
                              .sw_seen = sum[IG_SPANBPF_ST_SW_SEEN],
                              .sw_labelled = sum[IG_SPANBPF_ST_SW_LABELLED],
                              .sw_dropped = sum[IG_SPANBPF_ST_SW_DROPPED]};
}

int ig_spanbpf_prog_fd(const ig_spanbpf *sb) { return bpf_program__fd(sb->skel->progs.ig_span_label); }

#else /* no BPF program for this build */

struct ig_spanbpf {
    int unused;
};

ig_spanbpf *ig_spanbpf_new(ig_err *err) { return ig_spanbpf_new_opts(NULL, err); }

ig_spanbpf *ig_spanbpf_new_opts(const ig_spanbpf_opts *o, ig_err *err)
{
    (void)o;
    ig_err_set(err, "span labels need BPF: this build has no span-label program (x86-64 only)");
    return NULL;
}

void ig_spanbpf_free(ig_spanbpf *sb) { free(sb); }
int ig_spanbpf_add_process(ig_spanbpf *sb, pid_t pid, ig_err *err)
{
    (void)sb;
    return ig_err_set(err, "process %d: no span-label program in this build", (int)pid);
}
void ig_spanbpf_remove_process(ig_spanbpf *sb, pid_t pid) { (void)sb, (void)pid; }
int ig_spanbpf_attach(ig_spanbpf *sb, int fd, ig_err *err)
{
    (void)sb, (void)fd;
    return ig_err_set(err, "no span-label program in this build");
}
int ig_spanbpf_attach_switches(ig_spanbpf *sb, unsigned tp_id, ig_err *err)
{
    (void)sb, (void)tp_id;
    return ig_err_set(err, "no span-label program in this build");
}
int ig_spanbpf_kernel_get(const ig_spanbpf_opts *o, ig_spanbpf_kernel *k, ig_err *err)
{
    (void)o;
    memset(k, 0, sizeof *k);
    return ig_err_set(err, "span labels need BPF: this build has no span-label program (x86-64 only)");
}
int ig_spanbpf_proc_entry(pid_t pid, struct ig_spanbpf_proc *out, ig_err *err)
{
    (void)out;
    return ig_err_set(err, "process %d: no span-label program in this build", (int)pid);
}
int ig_spanbpf_proc_entry_from(pid_t pid, struct ig_spanctx *c, const int64_t *tls, struct ig_spanbpf_proc *out,
                               ig_err *err)
{
    (void)c, (void)tls, (void)out;
    return ig_err_set(err, "process %d: no span-label program in this build", (int)pid);
}
int ig_spanbpf_add_entry(ig_spanbpf *sb, pid_t pid, const struct ig_spanbpf_proc *e, ig_err *err)
{
    (void)sb, (void)e;
    return ig_err_set(err, "process %d: no span-label program in this build", (int)pid);
}
int ig_spanbpf_load_error(int e, ig_err *err)
{
    return ig_err_set(err, "span labels need BPF: %s", strerror(e));
}
int ig_spanbpf_note_switch_drops(ig_spanbpf *sb, ig_spanjoin *j)
{
    (void)sb, (void)j;
    return -1;
}
size_t ig_spanbpf_drain(ig_spanbpf *sb, ig_spanbpf_label_fn cb, void *ctx)
{
    (void)sb, (void)cb, (void)ctx;
    return 0;
}
void ig_spanbpf_stats_get(const ig_spanbpf *sb, ig_spanbpf_stats *out)
{
    (void)sb;
    memset(out, 0, sizeof *out);
}
int ig_spanbpf_prog_fd(const ig_spanbpf *sb)
{
    (void)sb;
    return -1;
}

#endif
