/*
 * libtrace/clock.c — span timestamps.
 *
 * A timestamp is clock_gettime(CLOCK_REALTIME), served by the vDSO, or
 * the TSC clock below.  On virtual machines whose clock source is
 * kvm-clock/hyperv the vDSO read costs 30-70 ns, which is most of a span's
 * budget.  IGNIS_TRACE_CLOCK selects: `auto` (the default) uses the TSC
 * only when it is validated — the CPU reports an invariant TSC
 * (constant_tsc and nonstop_tsc) AND the kernel itself uses tsc as its
 * current clocksource, i.e. it has not marked the TSC unstable; `tsc`
 * forces it on any invariant-TSC CPU (with a warning when the kernel
 * distrusts it); `realtime` never uses it.  Each thread keeps an anchor
 * (tsc, realtime ns) and converts
 * later rdtsc readings with a global ns-per-tick factor.  The anchor is
 * refreshed every ~1 ms from CLOCK_REALTIME, so NTP adjustments are
 * followed and any error is bounded by 1 ms of frequency error (the factor
 * is re-estimated against CLOCK_MONOTONIC_RAW over an ever longer base).
 * A reading that goes backwards (thread moved to a CPU whose TSC is
 * behind) simply re-anchors.
 */
#include "libtrace/internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

bool ig_clock_tsc;
_Atomic uint64_t ig_clock_mult;     /* ns per tick << 32 */
uint64_t ig_clock_window = 1;       /* ticks between re-anchors */
static uint64_t origin_tsc, origin_raw;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

static uint64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static bool cpu_has_invariant_tsc(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}

/* True when the kernel's current clocksource is the TSC (it has not been
 * marked unstable, e.g. by tsc=unstable or a failed watchdog check). */
static bool kernel_uses_tsc(void)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f)
        return false;
    char name[64] = "";
    bool tsc = fgets(name, sizeof name, f) && strcmp(name, "tsc\n") == 0;
    fclose(f);
    return tsc;
}

static void clock_init(void)
{
    const char *v = getenv("IGNIS_TRACE_CLOCK");
    bool force = v && strcmp(v, "tsc") == 0;
    if (v && *v && !force && strcmp(v, "auto") != 0) {
        if (strcmp(v, "realtime") != 0)
            ig_tlog(IGNIS_LOG_WARN, "IGNIS_TRACE_CLOCK: unknown clock \"%.32s\"; using realtime", v);
        return;
    }
    if (!cpu_has_invariant_tsc()) {
        if (force)
            ig_tlog(IGNIS_LOG_WARN, "IGNIS_TRACE_CLOCK=tsc: no invariant TSC on this CPU; using realtime");
        return;
    }
    if (!kernel_uses_tsc()) {
        if (!force)
            return; /* auto: the kernel distrusts the TSC, so do we */
        ig_tlog(IGNIS_LOG_WARN, "IGNIS_TRACE_CLOCK=tsc: the kernel's clocksource is not tsc; "
                                "timestamps re-anchor to realtime every ~1 ms");
    }
    origin_raw = read_clock(CLOCK_MONOTONIC_RAW);
    origin_tsc = __rdtsc();
    uint64_t raw;
    do /* calibrate over 2 ms, refined later */
        raw = read_clock(CLOCK_MONOTONIC_RAW);
    while (raw - origin_raw < 2000000);
    uint64_t ticks = __rdtsc() - origin_tsc;
    if (ticks == 0)
        return;
    uint64_t mult = (uint64_t)(((unsigned __int128)(raw - origin_raw) << 32) / ticks);
    atomic_store(&ig_clock_mult, mult);
    ig_clock_window = ticks / 2; /* ~1 ms */
    ig_clock_tsc = true;
}

uint64_t ig_clock_reanchor(ig_tcache *tc)
{
    uint64_t ns = read_clock(CLOCK_REALTIME);
    uint64_t t = __rdtsc();
    tc->clk_tsc = t;
    tc->clk_ns = ns;
    uint64_t raw = read_clock(CLOCK_MONOTONIC_RAW);
    if (raw - origin_raw > 100000000ull && t > origin_tsc) /* refine the factor */
        atomic_store_explicit(&ig_clock_mult,
                              (uint64_t)(((unsigned __int128)(raw - origin_raw) << 32) / (t - origin_tsc)),
                              memory_order_relaxed);
    return ns;
}
#else
static void clock_init(void) {}
uint64_t ig_clock_reanchor(ig_tcache *tc)
{
    (void)tc;
    return read_clock(CLOCK_REALTIME);
}
#endif

void ig_clock_setup(void) { pthread_once(&clock_once, clock_init); }
