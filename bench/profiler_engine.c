/*
 * bench/profiler_engine.c — where the recorder's CPU time goes: attach
 * (ig_recorder_new), steady-state draining (unwind + locate + intern per
 * sample, measured with the thread CPU clock around ig_recorder_poll) and
 * taking the profile.  Runs against a sample program it launches.
 *   usage: profiler_engine HZ SECONDS PROGRAM [ARGS...]
 * Prints one line of key=value pairs for bench/profiler.sh.  The symbol
 * cache is used only when IGNIS_CACHE_DIR is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>

static void usage_now(double *u, double *sy)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sy = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

#include "profiler/record.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: profiler_engine HZ SECONDS PROGRAM [ARGS...]\n");
        return 2;
    }
    ig_record_opts o = IG_RECORD_OPTS_INIT;
    o.freq = (unsigned)atoi(argv[1]);
    double secs = atof(argv[2]);
    o.argv = argv + 3;
    /* the persistent symbol cache only when the caller names one */
    const char *cache = getenv("IGNIS_CACHE_DIR");
    o.cache_dir = cache && *cache ? cache : NULL;
    ig_err err;
    double c0 = cpu_now();
    ig_recorder *r = ig_recorder_new(&o, &err);
    if (!r) {
        fprintf(stderr, "profiler_engine: %s\n", err.msg);
        return 1;
    }
    double c1 = cpu_now(), w0 = wall_now();
    /* warm-up second: first symbolization of every module, kallsyms */
    while (wall_now() - w0 < 1.0 && ig_recorder_poll(r, 100) > 0)
        ;
    double c2 = cpu_now(), u2, y2, u3, y3;
    usage_now(&u2, &y2);
    uint64_t s0 = ig_recorder_stats(r)->samples;
    while (wall_now() - w0 < secs && ig_recorder_poll(r, 100) > 0)
        ;
    double c3 = cpu_now();
    usage_now(&u3, &y3);
    uint64_t s1 = ig_recorder_stats(r)->samples;
    ignis_profile *p = ig_recorder_take_profile(r);
    double c4 = cpu_now();
    const ig_record_stats *st = ig_recorder_stats(r);
    printf("hz=%u samples=%llu lost=%llu partial=%llu attach_ms=%.2f warmup_ms=%.2f steady_samples=%llu "
           "steady_us_per_sample=%.2f take_ms=%.2f total_us_per_sample=%.2f maps_reloads=%llu\n",
           o.freq, (unsigned long long)st->samples, (unsigned long long)st->lost, (unsigned long long)st->partial,
           (c1 - c0) * 1e3, (c2 - c1) * 1e3, (unsigned long long)(s1 - s0),
           s1 > s0 ? (c3 - c2) * 1e6 / (double)(s1 - s0) : 0.0, (c4 - c3) * 1e3,
           st->samples ? (c4 - c0) * 1e6 / (double)st->samples : 0.0, (unsigned long long)st->maps_reloads);
    printf("steady_user_s=%.3f steady_sys_s=%.3f\n", u3 - u2, y3 - y2);
    ignis_profile_free(p);
    ig_recorder_free(r);
    return 0;
}
