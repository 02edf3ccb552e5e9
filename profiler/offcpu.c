/*
 * profiler/offcpu.c — pairing switch-outs with switch-ins (see offcpu.h).
 *
 * Design.  A thread is off the CPU from the switch-out the kernel samples
 * (sched:sched_switch or the context-switches event, in the thread's own
 * context, so its stacks are those of the moment it blocked) to the next
 * PERF_RECORD_SWITCH that brings it back.  The recorder handles records in
 * time order across the CPUs' rings, so a thread's switch-out always comes
 * before its switch-in, wherever each was written.  Each open interval
 * lives in a slot found by tid (u64map); a closed slot keeps its frame
 * buffer for the next switch-out, so in steady state nothing is allocated.
 * A switch-out that finds its thread's interval still open means the
 * switch-in was lost (ring overflow): the old interval is dropped and
 * counted, never stretched over time the thread spent running.
 *
 * The wait channel follows the kernel's own definition (get_wchan): the
 * first frame outside the scheduling functions, those the kernel builds
 * into its __sched text.  Their names are listed here (Linux 6.x; an older
 * or newer kernel's extra one shows up as its own wait channel, which
 * still says where the thread waited); each kernel address is classified
 * once.
 */
#include "profiler/offcpu.h"

#include <stdlib.h>
#include <string.h>

#include "profiler/u64map.h"
#include "utils/strbuf.h"

#include <linux/perf_event.h>

typedef struct slot {
    ig_offcpu_interval iv;
    uint64_t *buf;
    uint32_t cap;
    bool open;
} slot;

struct ig_offcpu {
    slot *slots;
    size_t nslots, cap;
    size_t *free_slots;   /* closed slots, reused first */
    size_t nfree;
    ig_u64map by_tid;     /* tid -> slot index + 1, open slots only */
    ig_u64map sched_addr; /* kernel address -> 1 scheduler, 2 not */
    ig_offcpu_interval out;
    ig_offcpu_stats st;
};

ig_offcpu *ig_offcpu_new(void)
{
    return ig_xcalloc(1, sizeof(ig_offcpu));
}

void ig_offcpu_free(ig_offcpu *oc)
{
    if (!oc)
        return;
    for (size_t i = 0; i < oc->nslots; i++)
        free(oc->slots[i].buf);
    free(oc->slots);
    free(oc->free_slots);
    ig_u64map_clear(&oc->by_tid);
    ig_u64map_clear(&oc->sched_addr);
    free(oc);
}

const ig_offcpu_stats *ig_offcpu_get_stats(const ig_offcpu *oc)
{
    return &oc->st;
}

static slot *open_slot(ig_offcpu *oc, pid_t tid)
{
    uint64_t i;
    if (ig_u64map_get(&oc->by_tid, (uint64_t)(uint32_t)tid, &i) && i)
        return &oc->slots[i - 1];
    return NULL;
}

/* Takes the slot off the open set (it keeps its buffer). */
static void close_slot(ig_offcpu *oc, slot *s)
{
    size_t i = (size_t)(s - oc->slots);
    s->open = false;
    ig_u64map_put(&oc->by_tid, (uint64_t)(uint32_t)s->iv.tid, 0);
    oc->free_slots[oc->nfree++] = i;
    oc->st.open--;
}

static slot *new_slot(ig_offcpu *oc)
{
    if (oc->nfree)
        return &oc->slots[oc->free_slots[--oc->nfree]];
    if (oc->nslots == oc->cap) {
        oc->cap = oc->cap ? oc->cap * 2 : 16;
        oc->slots = ig_xrealloc(oc->slots, oc->cap * sizeof *oc->slots);
        oc->free_slots = ig_xrealloc(oc->free_slots, oc->cap * sizeof *oc->free_slots);
    }
    slot *s = &oc->slots[oc->nslots++];
    memset(s, 0, sizeof *s);
    return s;
}

void ig_offcpu_out(ig_offcpu *oc, const ig_offcpu_interval *iv)
{
    oc->st.switches++;
    slot *s = open_slot(oc, iv->tid);
    if (s) { /* its switch-in never came */
        oc->st.unmatched += !s->iv.before_start;
        close_slot(oc, s);
    }
    s = new_slot(oc);
    uint32_t n = iv->nkernel + iv->nuser;
    if (n > s->cap) {
        s->cap = n < 64 ? 64 : n;
        free(s->buf);
        s->buf = ig_xmalloc(s->cap * sizeof *s->buf);
    }
    if (n)
        memcpy(s->buf, iv->ips, n * sizeof *s->buf);
    s->iv = *iv;
    s->iv.ips = s->buf;
    s->iv.start = s->iv.end = iv->out_time;
    s->open = true;
    ig_u64map_put(&oc->by_tid, (uint64_t)(uint32_t)iv->tid, (uint64_t)(s - oc->slots) + 1);
    oc->st.open++;
}

void ig_offcpu_set_state(ig_offcpu *oc, pid_t tid, const char *state)
{
    slot *s = open_slot(oc, tid);
    if (s)
        s->iv.state = state;
}

const ig_offcpu_interval *ig_offcpu_in(ig_offcpu *oc, pid_t tid, uint64_t time)
{
    slot *s = open_slot(oc, tid);
    if (!s)
        return NULL;
    close_slot(oc, s);
    oc->out = s->iv;
    oc->out.end = time > s->iv.start ? time : s->iv.start;
    return &oc->out;
}

void ig_offcpu_split_all(ig_offcpu *oc, uint64_t time, void (*cb)(const ig_offcpu_interval *iv, void *ctx),
                         void *ctx)
{
    for (size_t i = 0; i < oc->nslots; i++) {
        slot *s = &oc->slots[i];
        if (!s->open)
            continue;
        ig_offcpu_interval part = s->iv;
        part.end = time > part.start ? time : part.start;
        cb(&part, ctx);
        s->iv.start = part.end;
    }
}

/* ---- wait channels ------------------------------------------------------- */

/* The kernel's __sched functions (kernel/sched, locking, timers, waits),
 * sorted for bsearch, and the tracing frames a tracepoint sample starts
 * with. */
static const char *const sched_functions[] = {
    "__cond_resched", "__down", "__down_common", "__down_interruptible", "__down_killable", "__down_timeout",
    "__mutex_lock", "__mutex_lock_interruptible_slowpath", "__mutex_lock_killable_slowpath",
    "__mutex_lock_slowpath", "__mutex_unlock_slowpath", "__percpu_down_read", "__rt_mutex_futex_trylock",
    "__rt_mutex_futex_unlock", "__rt_mutex_init", "__rt_mutex_start_proxy_lock", "__schedule",
    "__traceiter_sched_switch", "__up", "__wait_for_common", "__wait_on_bit", "__wait_on_bit_lock",
    "__ww_mutex_lock", "__ww_mutex_lock_interruptible_slowpath", "__ww_mutex_lock_slowpath", "_cond_resched",
    "bit_wait", "bit_wait_io", "bit_wait_timeout", "console_conditional_schedule", "do_nanosleep", "down",
    "down_interruptible", "down_killable", "down_read", "down_read_interruptible", "down_read_killable",
    "down_timeout", "down_trylock", "down_write", "down_write_killable", "hrtimer_nanosleep_restart",
    "io_schedule", "io_schedule_timeout", "ldsem_down_read", "ldsem_down_write", "mark_wakeup_next_waiter",
    "mutex_lock", "mutex_lock_interruptible", "mutex_lock_io", "mutex_lock_killable", "mutex_trylock",
    "mutex_unlock", "out_of_line_wait_on_bit", "out_of_line_wait_on_bit_lock",
    "out_of_line_wait_on_bit_timeout", "percpu_down_write", "perf_trace_sched_switch", "preempt_schedule",
    "preempt_schedule_common", "preempt_schedule_irq", "preempt_schedule_notrace", "remove_waiter",
    "rt_mutex_adjust_pi", "rt_mutex_adjust_prio_chain", "rt_mutex_cleanup_proxy_lock",
    "rt_mutex_futex_trylock", "rt_mutex_futex_unlock", "rt_mutex_init_proxy_locked", "rt_mutex_lock",
    "rt_mutex_lock_interruptible", "rt_mutex_lock_killable", "rt_mutex_postunlock", "rt_mutex_proxy_unlock",
    "rt_mutex_slowlock", "rt_mutex_slowlock_block", "rt_mutex_start_proxy_lock", "rt_mutex_trylock",
    "rt_mutex_unlock", "rt_mutex_wait_proxy_lock", "rwsem_down_read_slowpath", "rwsem_down_write_slowpath",
    "schedule", "schedule_hrtimeout", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
    "schedule_idle", "schedule_preempt_disabled", "schedule_timeout", "schedule_timeout_idle",
    "schedule_timeout_interruptible", "schedule_timeout_killable", "schedule_timeout_uninterruptible",
    "task_blocks_on_rt_mutex", "try_to_take_rt_mutex", "usleep_range_state", "wait_for_completion",
    "wait_for_completion_interruptible", "wait_for_completion_interruptible_timeout", "wait_for_completion_io",
    "wait_for_completion_io_timeout", "wait_for_completion_killable", "wait_for_completion_killable_timeout",
    "wait_for_completion_state", "wait_for_completion_timeout", "ww_mutex_lock", "ww_mutex_lock_interruptible",
    "ww_mutex_unlock", "yield", "yield_to",
};

static int cmp_name(const void *key, const void *elem)
{
    const char *k = key, *e = *(const char *const *)elem;
    size_t klen = strcspn(k, ".");
    int c = strncmp(k, e, klen);
    return c ? c : e[klen] ? -1 : 0;
}

bool ig_offcpu_is_sched_function(const char *name)
{
    if (!name || !*name)
        return false;
    if (!strncmp(name, "_raw_", 5)) /* the kernel's __lock_text: spin locks */
        return true;
    return bsearch(name, sched_functions, sizeof sched_functions / sizeof sched_functions[0],
                   sizeof sched_functions[0], cmp_name) != NULL;
}

static bool sched_address(ig_offcpu *oc, uint64_t addr, const char *(*name_of)(uint64_t, void *), void *ctx)
{
    uint64_t v;
    if (ig_u64map_get(&oc->sched_addr, addr, &v))
        return v == 1;
    bool sched = ig_offcpu_is_sched_function(name_of(addr, ctx));
    ig_u64map_put(&oc->sched_addr, addr, sched ? 1 : 2);
    return sched;
}

uint64_t ig_offcpu_wchan(ig_offcpu *oc, const uint64_t *chain, uint64_t n,
                         const char *(*name_of)(uint64_t addr, void *ctx), void *ctx)
{
    bool in_sched = false;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = chain[i];
        if (a >= (uint64_t)PERF_CONTEXT_MAX) {
            if (a == (uint64_t)PERF_CONTEXT_USER)
                break;
            continue;
        }
        if (sched_address(oc, a, name_of, ctx))
            in_sched = true;
        else if (in_sched)
            return a;
    }
    return 0;
}
