/*
 * profiler/alloc/alloc_record.c — `ignis record --alloc`: options, the
 * preload route, and the summary.
 *
 * Design (preload route).  ignis makes a private directory, starts the
 * command with LD_PRELOAD=libignis-alloc.so (found through
 * IGNIS_ALLOC_LIB, next to the ignis binary, or in ../lib/ignis/) and
 * IGNIS_ALLOC_OUTPUT=DIR/heap.%p.pb.gz, so every process of the command
 * writes its own dump at exit.  ignis waits with sigtimedwait on SIGCHLD,
 * SIGINT and SIGTERM (forwarding the latter two); on -d expiry it sends
 * the dump signal (SIGUSR2), waits for the dump file to appear (dumps are
 * renamed into place, so existence means complete), then stops the
 * command.  Finally the dumps are merged and symbolized (collect.c) and
 * written in the format of -o's extension.  The attach route (-p) lives
 * in attach.c.
 */
#include "profiler/alloc/alloc_record.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "exporters/formats.h"
#include "profiler/alloc/attach.h"
#include "profiler/alloc/collect.h"
#include "profiler/alloc/heapprof.h"
#include "profiler/alloc/sampler.h"
#include "utils/strbuf.h"

typedef struct alloc_args {
    pid_t pid;
    double duration; /* seconds, 0 = until the target exits */
    const char *output;
    long long sample_bytes;
    long every;
    unsigned stack_size;
    char **argv;
    bool quiet;
} alloc_args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ignis record --alloc [-p PID | -- CMD ARGS...] [options]\n\n"
            "Records a heap profile: who allocates (alloc_space, alloc_objects) and what\n"
            "is still live (inuse_space, inuse_objects).\n\n"
            "  -- CMD ARGS...       run CMD with libignis-alloc.so preloaded: byte-sampled,\n"
            "                       cheap (a counter decrement per malloc); stacks unwound\n"
            "                       only for sampled allocations\n"
            "  -p, --pid PID        attach to a running process with uprobes on its allocator\n"
            "                       (glibc, jemalloc or tcmalloc): no restart, but every\n"
            "                       malloc/free traps into the kernel (about 1-3 us each)\n"
            "  -d, --duration SECS  stop after SECS (the command is asked to dump, then ended)\n"
            "  -o, --output FILE    output file (default heap.pb.gz; .folded, .svg also work)\n"
            "      --sample-bytes N preload: mean bytes between samples (default 524288;\n"
            "                       1 records every allocation)\n"
            "      --every N        attach: record one allocation in N per probe (default 1);\n"
            "                       frees are always recorded so in-use stays right\n"
            "      --stack-size N   attach: user stack bytes copied per allocation (default\n"
            "                       8192; less data, but deep stacks are cut short)\n"
            "  -q, --quiet          no summary\n"
            "  -h, --help           this help\n");
}

static int parse_args(int argc, char **argv, alloc_args *a)
{
    static const struct option longopts[] = {
        {"alloc", no_argument, NULL, 'A'},        {"pid", required_argument, NULL, 'p'},
        {"duration", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
        {"sample-bytes", required_argument, NULL, 'S'}, {"every", required_argument, NULL, 'E'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"stack-size", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->output = "heap.pb.gz";
    a->sample_bytes = IG_ALLOC_DEFAULT_INTERVAL;
    a->every = 1;
    optind = 1;
    opterr = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "+p:d:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'A': break;
        case 'p': {
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > INT_MAX) {
                cmd_error("record", "-p %s: not a process id", optarg);
                return 2;
            }
            a->pid = (pid_t)v;
            break;
        }
        case 'd':
            a->duration = strtod(optarg, &end);
            if (*end || !(a->duration > 0) || a->duration > 1e7) {
                cmd_error("record", "-d %s: not a positive number of seconds", optarg);
                return 2;
            }
            break;
        case 'o': a->output = optarg; break;
        case 'S':
            a->sample_bytes = strtoll(optarg, &end, 10);
            if (*end || a->sample_bytes < 1) {
                cmd_error("record", "--sample-bytes %s: not a positive integer", optarg);
                return 2;
            }
            break;
        case 'E':
            a->every = strtol(optarg, &end, 10);
            if (*end || a->every < 1 || a->every > 1000000000) {
                cmd_error("record", "--every %s: not a positive integer", optarg);
                return 2;
            }
            break;
        case 'K': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 512 || v > 65528 || v % 8) {
                cmd_error("record", "--stack-size %s: need a multiple of 8 from 512 to 65528", optarg);
                return 2;
            }
            a->stack_size = (unsigned)v;
            break;
        }
        case 'q': a->quiet = true; break;
        case 'h': usage(stdout); return 0;
        default:
            cmd_error("record", "%s: unknown option (ignis record --alloc --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        a->argv = argv + optind;
    if (!a->pid == !a->argv) {
        cmd_error("record", a->pid ? "--alloc: give -p PID or -- CMD, not both" : "--alloc: need -p PID or -- CMD");
        return 2;
    }
    if (!ig_format_for_path(a->output) && strcmp(a->output, "-")) {
        /* unknown extensions are written as pprof, like `ignis record` does */
    }
    return -1;
}

/* ---- the preload library -------------------------------------------------- */

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_preload_lib(char *out, size_t len)
{
    const char *env = getenv("IGNIS_ALLOC_LIB");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return file_exists(out) ? 0 : -1;
    }
    char exe[PATH_MAX - 64]; /* room for the library name after it */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(out, len, "%s/libignis-alloc.so", exe);
    if (file_exists(out))
        return 0;
    snprintf(out, len, "%s/../lib/ignis/libignis-alloc.so", exe);
    return file_exists(out) ? 0 : -1;
}

/* ---- waiting for the command ---------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until the child exits or `deadline` (0 = none) passes, forwarding
 * SIGINT/SIGTERM.  Returns 1 when it exited (status filled), 0 on timeout. */
static int wait_child(pid_t child, double deadline, int *status, const sigset_t *set)
{
    for (;;) {
        pid_t w = waitpid(child, status, WNOHANG);
        if (w == child)
            return 1;
        if (w < 0 && errno == ECHILD)
            return 1;
        double left = deadline > 0 ? deadline - now_s() : 1.0;
        if (deadline > 0 && left <= 0)
            return 0;
        if (left > 1.0)
            left = 1.0;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            kill(child, sig);
    }
}

static int collect_dir(const char *dir, ig_heapcollect *hc, int *nfiles, ig_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ig_err_set(err, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "heap.", 5) || n < 11 || strcmp(e->d_name + n - 6, ".pb.gz"))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ig_err e2;
        if (ig_heapcollect_add_file(hc, path, &e2) < 0) {
            fprintf(stderr, "ignis record: skipping %s\n", e2.msg);
            rc = -1;
        } else {
            (*nfiles)++;
        }
    }
    closedir(d);
    (void)rc;
    return 0;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void print_summary(const ignis_profile *p, const char *what, const char *output, int files)
{
    double alloc_b = (double)ignis_profile_total(p, IG_HEAP_ALLOC_SPACE);
    double inuse_b = (double)ignis_profile_total(p, IG_HEAP_INUSE_SPACE);
    fprintf(stderr,
            "ignis record: %s: est. %.0f allocations, %.1f MiB allocated; %.0f objects, %.3f MiB in use at the end; "
            "%zu call sites; %d dump%s merged; wrote %s\n",
            what, (double)ignis_profile_total(p, IG_HEAP_ALLOC_OBJECTS), alloc_b / 1048576.0,
            (double)ignis_profile_total(p, IG_HEAP_INUSE_OBJECTS), inuse_b / 1048576.0, ignis_profile_num_samples(p),
            files, files == 1 ? "" : "s", output);
}

/* The child side: environment for the shim, then exec. */
static void exec_with_shim(const alloc_args *a, const char *lib, const char *dir)
{
    char buf[PATH_MAX + 64];
    const char *pre = getenv("LD_PRELOAD");
    ig_strbuf sb = IG_STRBUF_INIT;
    ig_sb_puts(&sb, lib);
    if (pre && *pre)
        ig_sb_printf(&sb, ":%s", pre);
    setenv("LD_PRELOAD", sb.data, 1);
    snprintf(buf, sizeof buf, "%s/heap.%%p.pb.gz", dir);
    setenv("IGNIS_ALLOC_OUTPUT", buf, 1);
    snprintf(buf, sizeof buf, "%lld", a->sample_bytes);
    setenv("IGNIS_ALLOC_SAMPLE_BYTES", buf, 1);
    if (a->duration > 0)
        setenv("IGNIS_ALLOC_SIGNAL", "USR2", 1);
    unsetenv("IGNIS_ALLOC_START");
    execvp(a->argv[0], a->argv);
    fprintf(stderr, "ignis record: %s: %s\n", a->argv[0], strerror(errno));
    _exit(127);
}

/* -d expired: ask the command for a dump (SIGUSR2), wait until the file
 * is renamed into place (or 30 s), then end it: SIGTERM, SIGKILL after
 * 5 s.  Fills the wait status. */
static void end_after_duration(pid_t child, const char *dir, int *status, const sigset_t *set)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/heap.%d.pb.gz", dir, (int)child);
    unlink(path);
    kill(child, SIGUSR2);
    double give_up = now_s() + 30;
    while (!file_exists(path) && now_s() < give_up) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (sigtimedwait(set, NULL, &ts) == SIGCHLD && waitpid(child, status, WNOHANG) == child)
            return; /* it exited by itself (and dumped at exit) */
    }
    kill(child, SIGTERM);
    if (!wait_child(child, now_s() + 5, status, set)) {
        kill(child, SIGKILL);
        waitpid(child, status, 0);
    }
}

static int run_preload(const alloc_args *a)
{
    char lib[PATH_MAX];
    if (find_preload_lib(lib, sizeof lib) < 0) {
        cmd_error("record", "libignis-alloc.so: not found next to the ignis binary or in ../lib/ignis "
                            "(set IGNIS_ALLOC_LIB to its path)");
        return 1;
    }
    char dir[] = "/tmp/ignis-alloc.XXXXXX";
    if (!mkdtemp(dir)) {
        cmd_error("record", "/tmp: cannot create a directory for the dumps: %s", strerror(errno));
        return 1;
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    double t0 = now_s();
    pid_t child = fork();
    if (child < 0) {
        cmd_error("record", "fork: %s", strerror(errno));
        remove_dir(dir);
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        exec_with_shim(a, lib, dir);
    }
    int status = 0;
    bool stopped_by_us = false;
    if (!wait_child(child, a->duration > 0 ? t0 + a->duration : 0, &status, &set)) {
        end_after_duration(child, dir, &status, &set);
        stopped_by_us = true;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    ig_heapcollect *hc = ig_heapcollect_new();
    int files = 0;
    ig_err err;
    collect_dir(dir, hc, &files, &err);
    remove_dir(dir);
    ignis_profile *p = ig_heapcollect_profile(hc);
    if (!p && !stopped_by_us && WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        ig_heapcollect_free(hc); /* the child already said why exec failed */
        return 1;
    }
    if (!p) {
        cmd_error("record", "%s: no heap profile was written (the command exited through _exit, exec "
                            "failed, was killed, or is statically linked so LD_PRELOAD had no effect)",
                  a->argv[0]);
        ig_heapcollect_free(hc);
        return 1;
    }
    ignis_profile_set_time(p, ignis_profile_time_nanos(p), (int64_t)((now_s() - t0) * 1e9));
    int rc = 0;
    if (ig_profile_save(p, a->output, NULL, NULL, &err) < 0) {
        cmd_error("record", "%s", err.msg);
        rc = 1;
    } else if (!a->quiet) {
        char what[256];
        if (WIFEXITED(status))
            snprintf(what, sizeof what, "%s (pid %d) exited %d", a->argv[0], (int)child, WEXITSTATUS(status));
        else
            snprintf(what, sizeof what, "%s (pid %d) ended by signal %d", a->argv[0], (int)child,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        print_summary(p, what, a->output, files);
        fprintf(stderr, "ignis record: preload sampling, mean interval %lld bytes (--sample-bytes)\n",
                a->sample_bytes);
    }
    ig_heapcollect_free(hc);
    return rc;
}

int ig_alloc_record_main(int argc, char **argv)
{
    alloc_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.argv)
        return run_preload(&a);
    ig_attach_opts o = {.pid = a.pid, .duration = a.duration, .every = a.every, .output = a.output,
                        .quiet = a.quiet, .stack_size = a.stack_size};
    return ig_alloc_attach(&o);
}
