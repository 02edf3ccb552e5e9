/*
 * profiler/alloc/alloc_record.c — `ignis record --alloc`: options, the
 * preload route, and the summary.
 *
 * Design (preload route).  ignis makes a private directory and starts the
 * command with LD_PRELOAD=libignis-alloc.so (found through
 * IGNIS_ALLOC_LIB, next to the ignis binary, or in ../lib/ignis/) and
 * IGNIS_ALLOC_TABLE_DIR=DIR: every process of the command (each fork
 * child, each exec'd image) keeps its records in a file of its own there
 * (heapfile.h) as it runs, so nothing depends on how it ends — exit,
 * _exit, a signal, SIGKILL.  (A process that cannot create its file falls
 * back to a dump at exit, DIR/heap.%p.pb.gz.)  ignis waits with
 * sigtimedwait on SIGCHLD and the stop signals (cmd/stop.h: a stop
 * signal is passed on to the command, which gets CMD_STOP_GRACE_S
 * seconds to end).  Then it reads every file — at once when -d expires
 * while the command runs, which is ended afterwards — merges and
 * symbolizes them (collect.c) and writes the profile in the format of
 * -o's extension.  It exits with the command's status (cmd/stop.h).  The
 * attach route (-p) lives in attach.c.
 */
#include "profiler/alloc/alloc_record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "cmd/stop.h"
#include "exporters/formats.h"
#include "utils/fileio.h"
#include "profiler/alloc/attach.h"
#include "profiler/alloc/collect.h"
#include "profiler/alloc/heapfile.h"
#include "profiler/record.h"
#include "profiler/alloc/heapprof.h"
#include "profiler/alloc/sampler.h"
#include "profiler/symbols.h"
#include "utils/strbuf.h"

typedef struct alloc_args {
    pid_t pid;
    double duration; /* seconds, 0 = until the target exits */
    const char *output;
    long long sample_bytes;
    long every;
    unsigned stack_size;
    char **argv;       /* -- CMD ARGS (points into opts' operands) */
    bool quiet;
    bool no_span_labels;
    cmd_opts opts;
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
            "  -d, --duration SECS  stop after SECS (the profile is taken, then the command ended)\n"
            "  -o, --output FILE    output file (default heap.pb.gz; .folded, .svg also work)\n"
            "      --sample-bytes N preload: mean bytes between samples (default 524288;\n"
            "                       1 records every allocation)\n"
            "      --every N        attach: record one allocation in N per probe (default 1);\n"
            "                       frees are always recorded so in-use stays right\n"
            "      --stack-size N   attach: user stack bytes copied per allocation (default\n"
            "                       8192; less data, but deep stacks are cut short)\n"
            "      --no-span-labels no trace_id/span_id/span_name labels (they come from the\n"
            "                       thread's OpenTelemetry context, OTEP 4947; -p reads it\n"
            "                       with a BPF program at each probed call)\n"
            "  -q, --quiet          no summary\n"
            "  -h, --help           this help\n\n" CMD_STOP_HELP);
}

enum { OPT_ALLOC = 1, OPT_PID, OPT_DURATION, OPT_OUTPUT, OPT_SAMPLE_BYTES, OPT_EVERY, OPT_STACK, OPT_QUIET,
       OPT_NO_SPAN_LABELS, OPT_HELP };

/* record --alloc's options, in the shared parser's table (cmd/cmd.h): the
 * spellings and errors of every other command. */
static const cmd_opt alloc_opts[] = {
    {"alloc", 0, CMD_ARG_NONE, 0, OPT_ALLOC},
    {"pid", 'p', CMD_ARG_REQUIRED, 0, OPT_PID},
    {"duration", 'd', CMD_ARG_REQUIRED, 0, OPT_DURATION},
    {"output", 'o', CMD_ARG_REQUIRED, 0, OPT_OUTPUT},
    {"sample-bytes", 0, CMD_ARG_REQUIRED, 0, OPT_SAMPLE_BYTES},
    {"every", 0, CMD_ARG_REQUIRED, 0, OPT_EVERY},
    {"stack-size", 0, CMD_ARG_REQUIRED, 0, OPT_STACK},
    {"quiet", 'q', CMD_ARG_NONE, 0, OPT_QUIET},
    {"no-span-labels", 0, CMD_ARG_NONE, 0, OPT_NO_SPAN_LABELS},
    {"help", 'h', CMD_ARG_NONE, 0, OPT_HELP},
    {NULL, 0, 0, 0, 0},
};

/* A bad value: "ignis record: -d abc: reason (ignis record --alloc --help)", the
 * option as typed.  Returns 2. */
/* --sample-bytes beyond this would sample nothing a process allocates. */
#define MAX_SAMPLE_BYTES (1LL << 40)

static int bad_value(const cmd_opts *o, const char *why)
{
    char flag[192];
    snprintf(flag, sizeof flag, "%s %s", o->spelled, o->arg);
    return cmd_usage_error("record --alloc", flag, "%s", why);
}

/* Stores one option's value: 0, or the exit status after an error. */
static int take_option(alloc_args *a, const cmd_opts *o, int id)
{
    const char *arg = o->arg;
    char *end;
    long v;
    switch (id) {
    case OPT_PID:
        v = strtol(arg, &end, 10);
        if (end == arg || *end || v <= 0 || v > INT_MAX)
            return bad_value(o, "not a process id");
        a->pid = (pid_t)v;
        break;
    case OPT_DURATION:
        a->duration = strtod(arg, &end);
        if (end == arg || *end || !(a->duration > 0) || a->duration > 1e7)
            return bad_value(o, "not a positive number of seconds");
        break;
    case OPT_OUTPUT: a->output = arg; break;
    case OPT_SAMPLE_BYTES:
        errno = 0;
        a->sample_bytes = strtoll(arg, &end, 10);
        if (end == arg || *end || errno || a->sample_bytes < 1 || a->sample_bytes > MAX_SAMPLE_BYTES)
            return bad_value(o, "need a whole number of bytes from 1 to 1099511627776 (1 TiB)");
        break;
    case OPT_EVERY:
        a->every = strtol(arg, &end, 10);
        if (end == arg || *end || a->every < 1 || a->every > 1000000000)
            return bad_value(o, "not a positive integer");
        break;
    case OPT_STACK:
        v = strtol(arg, &end, 10);
        if (end == arg || *end || v < 512 || v > 65528 || v % 8)
            return bad_value(o, "need a multiple of 8 from 512 to 65528");
        a->stack_size = (unsigned)v;
        break;
    case OPT_QUIET: a->quiet = true; break;
    case OPT_NO_SPAN_LABELS: a->no_span_labels = true; break;
    default: break; /* --alloc */
    }
    return 0;
}

/* -1 to go on, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, alloc_args *a)
{
    static const cmd_opt *const tables[] = {alloc_opts, NULL};
    memset(a, 0, sizeof *a);
    a->output = "heap.pb.gz";
    a->sample_bytes = IG_ALLOC_DEFAULT_INTERVAL;
    a->every = 1;
    cmd_opts_init(&a->opts, "record --alloc", tables, argc, argv, 1);
    for (int id, rc; (id = cmd_opts_next(&a->opts)) != CMD_OPTS_END;) {
        if (id == CMD_OPTS_ERROR)
            return 2;
        if (id == OPT_HELP) {
            usage(stdout);
            return 0;
        }
        if ((rc = take_option(a, &a->opts, id)))
            return rc;
    }
    if (a->opts.noperands)
        a->argv = a->opts.operands;
    if (!a->pid == !a->argv) {
        cmd_error("record", a->pid ? "--alloc: give -p PID or -- CMD, not both" : "--alloc: need -p PID or -- CMD");
        return 2;
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

/* Never runs (the signal is blocked and taken by sigtimedwait); it only
 * makes a signal ignored at start deliverable. */
static void on_stop_signal(int sig)
{
    (void)sig;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Why the command's profile was taken. */
typedef enum { CMD_ENDED, CMD_DURATION, CMD_STOPPED, CMD_STOPPED_NOW } cmd_end;

/* Waits for the command to exit (CMD_ENDED, *status filled), -d to pass
 * (CMD_DURATION), or, after a stop signal was passed on, the grace period
 * (CMD_STOPPED) or a second stop signal (CMD_STOPPED_NOW); all but the
 * first leave it running.  A stop signal passed on goes to all of it. */
static void signal_tree(pid_t child, pid_t pgid, const char *dir, int sig);

static cmd_end wait_command(pid_t child, pid_t pgid, const char *dir, const alloc_args *a, double t0, int *status,
                            const sigset_t *set)
{
    double deadline = a->duration > 0 ? t0 + a->duration : 0;
    bool stopping = false;
    for (;;) {
        pid_t w = waitpid(child, status, WNOHANG);
        if (w == child || (w < 0 && errno == ECHILD))
            return CMD_ENDED;
        double left = deadline > 0 ? deadline - now_s() : 1.0;
        if (deadline > 0 && left <= 0)
            return stopping ? CMD_STOPPED : CMD_DURATION;
        if (left > 1.0)
            left = 1.0;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        siginfo_t si;
        int sig = sigtimedwait(set, &si, &ts);
        if (sig <= 0 || sig == SIGCHLD)
            continue;
        if (stopping)
            return CMD_STOPPED_NOW;
        bool forward = cmd_stop_forward(si.si_code, si.si_pid, child);
        if (forward)
            signal_tree(child, pgid, dir, sig);
        if (!a->quiet)
            cmd_stop_notice(sig, forward, a->argv[0], child);
        stopping = true;
        double grace = now_s() + CMD_STOP_GRACE_S;
        if (deadline <= 0 || grace < deadline)
            deadline = grace;
    }
}

/* ---- the command's tree ------------------------------------------------------
 *
 * Ending the command ends everything it started, as `timeout` does.
 * Without a controlling terminal the command runs in a process group of
 * its own, and the signal goes to the group.  Processes that left it
 * (setsid), or all of them when the command shares ignis's group on a
 * terminal (whose job control owns the groups), are found by their heap
 * table files (DIR/heap.PID.N.tab: every process the shim runs in has
 * one), each checked to still carry this recording's IGNIS_ALLOC_TABLE_DIR
 * in its environment, so a pid used again by another process is left
 * alone. */

/* Whether process pid's environment holds IGNIS_ALLOC_TABLE_DIR=dir. */
static bool runs_for_dir(pid_t pid, const char *dir)
{
    char path[64], want[PATH_MAX + 32];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int n = snprintf(want, sizeof want, "IGNIS_ALLOC_TABLE_DIR=%s", dir);
    FILE *f = fopen(path, "re");
    if (!f || n < 0 || (size_t)n >= sizeof want) {
        if (f)
            fclose(f);
        return false;
    }
    char *var = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getdelim(&var, &cap, 0, f) > 0)
        found = !strcmp(var, want);
    free(var);
    fclose(f);
    return found;
}

/* Sends sig to the command's group (pgid, 0: none) and to every process
 * with a heap table in dir that still runs for it. */
static void signal_tree(pid_t child, pid_t pgid, const char *dir, int sig)
{
    kill(pgid > 0 ? -pgid : child, sig);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, "heap.", 5))
            continue;
        long pid = strtol(e->d_name + 5, &end, 10);
        if (pid > 0 && pid <= INT_MAX && *end == '.' && pid != getpid() && runs_for_dir((pid_t)pid, dir))
            kill((pid_t)pid, sig);
    }
    closedir(d);
}

/* Ends a command still running once its profile is taken, and every
 * process it started: SIGTERM, and SIGKILL if it still runs 5 s later
 * (after -d) or 2 s later (after the grace period of a stop signal), or
 * at a stop signal; at once after a second stop signal.  Fills the wait
 * status. */
static void end_command(pid_t child, pid_t pgid, const char *dir, cmd_end why, int *status, const sigset_t *set)
{
    if (why != CMD_STOPPED_NOW) {
        signal_tree(child, pgid, dir, SIGTERM);
        double give_up = now_s() + (why == CMD_DURATION ? 5 : 2);
        while (now_s() < give_up) {
            if (waitpid(child, status, WNOHANG) == child)
                return;
            struct timespec ts = {0, 100 * 1000 * 1000};
            int sig = sigtimedwait(set, NULL, &ts);
            if (sig > 0 && sig != SIGCHLD)
                break;
        }
    }
    signal_tree(child, pgid, dir, SIGKILL);
    while (waitpid(child, status, 0) < 0 && errno == EINTR)
        continue;
}


/* ---- reading the processes' tables and dumps ------------------------------- */

typedef struct collected {
    int processes;      /* table files and dumps merged */
    uint64_t dropped;   /* samples the processes' tables had no room for */
    uint64_t skipped;   /* records whose values would overflow the totals */
} collected;

static void collect_file(const char *path, const char *name, ig_heapcollect *hc, collected *c)
{
    size_t n = strlen(name);
    bool table = n > 4 && !strcmp(name + n - 4, ".tab");
    if (strncmp(name, "heap.", 5) || (!table && (n < 11 || strcmp(name + n - 6, ".pb.gz"))))
        return;
    ig_err err;
    int rc = -1;
    if (!table) {
        rc = ig_heapcollect_add_file(hc, path, &err);
    } else {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ig_heapfile_info info;
        ignis_profile *p = fd < 0 ? NULL : ig_heapfile_read(fd, path, &info, &err);
        if (fd < 0)
            ig_err_set(&err, "%s: %s", path, strerror(errno));
        else
            close(fd);
        if (p) {
            rc = ig_heapcollect_add(hc, p, path, &err);
            c->dropped += info.dropped;
            c->skipped += info.skipped;
        }
        ignis_profile_free(p);
    }
    if (rc < 0)
        fprintf(stderr, "ignis record: skipping %s\n", err.msg);
    else
        c->processes++;
}

static void collect_dir(const char *dir, ig_heapcollect *hc, collected *c)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ignis record: %s: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        collect_file(path, e->d_name, hc, c);
    }
    closedir(d);
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

static void print_summary(const ignis_profile *p, const char *what, const char *output, const collected *c)
{
    double alloc_b = (double)ignis_profile_total(p, IG_HEAP_ALLOC_SPACE);
    double inuse_b = (double)ignis_profile_total(p, IG_HEAP_INUSE_SPACE);
    fprintf(stderr,
            "ignis record: %s: est. %.0f allocations, %.1f MiB allocated; %.0f objects, %.3f MiB in use at the end; "
            "%zu call sites; %d process%s merged; wrote %s\n",
            what, (double)ignis_profile_total(p, IG_HEAP_ALLOC_OBJECTS), alloc_b / 1048576.0,
            (double)ignis_profile_total(p, IG_HEAP_INUSE_OBJECTS), inuse_b / 1048576.0, ignis_profile_num_samples(p),
            c->processes, c->processes == 1 ? "" : "es", output);
    if (c->dropped)
        fprintf(stderr, "ignis record: %llu sampled allocations dropped: a process's heap table was full\n",
                (unsigned long long)c->dropped);
    if (c->skipped)
        fprintf(stderr, "ignis record: %llu records left out: their counts would overflow the profile's totals\n",
                (unsigned long long)c->skipped);
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
    setenv("IGNIS_ALLOC_TABLE_DIR", dir, 1);
    snprintf(buf, sizeof buf, "%s/heap.%%p.pb.gz", dir);
    setenv("IGNIS_ALLOC_OUTPUT", buf, 1);
    snprintf(buf, sizeof buf, "%lld", a->sample_bytes);
    setenv("IGNIS_ALLOC_SAMPLE_BYTES", buf, 1);
    if (a->no_span_labels)
        setenv("IGNIS_ALLOC_SPAN_LABELS", "0", 1);
    else
        unsetenv("IGNIS_ALLOC_SPAN_LABELS");
    unsetenv("IGNIS_ALLOC_SIGNAL");
    unsetenv("IGNIS_ALLOC_INTERVAL");
    unsetenv("IGNIS_ALLOC_START");
    execvp(a->argv[0], a->argv);
    int e = errno;
    struct stat st;
    bool is_dir = e == EACCES && strchr(a->argv[0], '/') && stat(a->argv[0], &st) == 0 && S_ISDIR(st.st_mode);
    fprintf(stderr, "ignis record: %s: %s\n", a->argv[0], is_dir ? "is a directory" : strerror(e));
    _exit(e == ENOENT ? CMD_EXIT_NOT_FOUND : CMD_EXIT_CANNOT_RUN);
}

/* A private directory for the tables: in $TMPDIR, else /tmp. */
static int make_table_dir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    if (!base || base[0] != '/')
        base = "/tmp";
    snprintf(dir, len, "%s/ignis-alloc.XXXXXX", base);
    if (mkdtemp(dir))
        return 0;
    cmd_error("record", "%s: cannot create a directory for the heap tables: %s", base, strerror(errno));
    return -1;
}

/* Reads the tables, writes the profile and the summary; the exit status. */
static int write_preload_profile(const alloc_args *a, ig_ofile *out, const char *dir, pid_t child, cmd_end why,
                                 int status, double t0)
{
    ig_heapcollect *hc = ig_heapcollect_new();
    collected c = {0};
    collect_dir(dir, hc, &c);
    c.skipped += ig_heapcollect_skipped(hc);
    ignis_profile *p = ig_heapcollect_profile(hc);
    int cmd_status = why == CMD_DURATION ? 0 : cmd_exit_status(status);
    if (!p && why == CMD_ENDED && (cmd_status == CMD_EXIT_NOT_FOUND || cmd_status == CMD_EXIT_CANNOT_RUN)) {
        ig_heapcollect_free(hc); /* exec failed, and the child said why */
        ig_ofile_abort(out);
        return cmd_status;
    }
    if (!p) {
        cmd_error("record", "%s: no process of the command loaded libignis-alloc.so (statically linked, setuid, "
                            "or LD_PRELOAD cleared?): no heap profile",
                  a->argv[0]);
        ig_heapcollect_free(hc);
        ig_ofile_abort(out);
        return CMD_EXIT_FAILED;
    }
    ignis_profile_set_time(p, ignis_profile_time_nanos(p), (int64_t)((now_s() - t0) * 1e9));
    ig_err err;
    int rc = cmd_status;
    if (ig_profile_save_to(p, out, a->output, NULL, NULL, &err) < 0) {
        cmd_error("record", "%s", err.msg);
        rc = CMD_EXIT_FAILED;
    } else if (!a->quiet) {
        char what[256];
        if (why == CMD_DURATION)
            snprintf(what, sizeof what, "%s (pid %d) ran for -d %g s", a->argv[0], (int)child, a->duration);
        else if (why != CMD_ENDED)
            snprintf(what, sizeof what, "%s (pid %d) still ran after the stop signal (now ended)", a->argv[0],
                     (int)child);
        else if (WIFEXITED(status))
            snprintf(what, sizeof what, "%s (pid %d) exited %d", a->argv[0], (int)child, WEXITSTATUS(status));
        else
            snprintf(what, sizeof what, "%s (pid %d) ended by signal %d", a->argv[0], (int)child,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        print_summary(p, what, a->output, &c);
        fprintf(stderr, "ignis record: preload sampling, mean interval %lld bytes (--sample-bytes)\n",
                a->sample_bytes);
    }
    ig_heapcollect_free(hc);
    return rc;
}

static int run_preload(const alloc_args *a, ig_ofile *out)
{
    char lib[PATH_MAX];
    if (find_preload_lib(lib, sizeof lib) < 0) {
        cmd_error("record", "libignis-alloc.so: not found next to the ignis binary or in ../lib/ignis "
                            "(set IGNIS_ALLOC_LIB to its path)");
        return CMD_EXIT_FAILED;
    }
    char dir[PATH_MAX];
    if (make_table_dir(dir, sizeof dir) < 0)
        return CMD_EXIT_FAILED;
    sigset_t set, old;
    cmd_stop_signals(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    double t0 = now_s();
    bool own_group = !ig_has_controlling_tty();
    pid_t child = fork();
    if (child < 0) {
        cmd_error("record", "fork: %s", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        remove_dir(dir);
        return CMD_EXIT_FAILED;
    }
    if (child == 0) {
        if (own_group)
            setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        exec_with_shim(a, lib, dir);
    }
    pid_t pgid = own_group && (setpgid(child, child) == 0 || errno == EACCES) ? child : 0;
    /* After the fork, so the command keeps our dispositions: a closed stderr
     * must not cost the profile, and a stop signal ignored at start (a
     * script's background job) must still reach sigtimedwait, which an
     * ignored signal never does. */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&set, sig) == 1 && sig != SIGCHLD)
            sigaction(sig, &sa, NULL);
    int status = 0;
    cmd_end why = wait_command(child, pgid, dir, a, t0, &status, &set);
    int rc = write_preload_profile(a, out, dir, child, why, status, t0);
    if (why != CMD_ENDED) {
        end_command(child, pgid, dir, why, &status, &set);
        if (why != CMD_DURATION && rc != CMD_EXIT_FAILED)
            rc = cmd_exit_status(status);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    remove_dir(dir);
    return rc;
}

/* Records with parsed options: the exit status. */
static int record(alloc_args *a)
{
    int rc;
    /* The output is created before anything runs: a bad -o must not cost
     * the run (nor start the command). */
    ig_ofile out;
    ig_err err;
    if (!ig_ofile_open(&out, a->output, &err)) {
        cmd_error("record", "%s", err.msg);
        return a->argv ? CMD_EXIT_FAILED : 1;
    }
    if (a->argv) {
        rc = run_preload(a, &out);
        ig_ofile_abort(&out); /* a no-op once committed */
        return rc;
    }
    char cache_dir[4096];
    ig_attach_opts o = {.pid = a->pid, .duration = a->duration, .every = a->every, .output = a->output, .out = &out,
                        .quiet = a->quiet, .stack_size = a->stack_size, .no_span_labels = a->no_span_labels};
    if (ig_symtab_default_cache_dir(cache_dir, sizeof cache_dir) == 0)
        o.cache_dir = cache_dir;
    rc = ig_alloc_attach(&o);
    ig_ofile_abort(&out);
    return rc;
}

int ig_alloc_record_main(int argc, char **argv)
{
    alloc_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc < 0)
        rc = record(&a);
    cmd_opts_free(&a.opts);
    return rc;
}
