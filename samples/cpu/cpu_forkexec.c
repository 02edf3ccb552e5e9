/*
 * samples/cpu/cpu_forkexec.c — a parent that forks and execs CPU-bound
 * children on another CPU, one after the other, and only waits.
 *
 * The parent pins itself to the first allowed CPU and forks; each child
 * pins itself to the second and execs cpu_exec_child (next to this
 * executable), which moves back to the first CPU and spins in child_hot
 * for its share of SECONDS of CPU time.  The parent's own functions
 * (parent_spawn, parent_wait) use no CPU to speak of, so in a correct
 * profile the children's hot loop takes nearly every sample, under the
 * child's name.  The kernel writes each FORK and the child's samples to
 * the first CPU's ring and its exec (COMM) and the new program's mappings
 * to the second's: a recorder that does not put the rings in time order
 * handles the samples with the parent's mappings (every child of a drain,
 * however long the children take).  Both programs are built without PIE,
 * so those mappings cover the child's addresses and name the parent's
 * functions, as a fork+exec of another non-PIE program did.
 *   usage: cpu_forkexec [SECONDS] [CHILDREN]
 */
#include <limits.h>
#include <sched.h>
#include <sys/wait.h>

#include "cpu_common.h"

/* The n-th CPU this process may run on (wrapping), or -1. */
static int allowed_cpu(int n)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0)
        return -1;
    n %= CPU_COUNT(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set) && n-- == 0)
            return cpu;
    return -1;
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (cpu >= 0)
        sched_setaffinity(0, sizeof set, &set);
}

__attribute__((noipa)) static pid_t parent_spawn(const char *secs, int exec_cpu, int run_cpu)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    strcpy(strrchr(exe, '/') + 1, "cpu_exec_child");
    char cpu[16];
    snprintf(cpu, sizeof cpu, "%d", run_cpu);
    pid_t pid = fork();
    if (pid == 0) {
        pin_to(exec_cpu);
        execl(exe, "cpu_exec_child", secs, "--cpu", cpu, (char *)NULL);
        perror("cpu_forkexec: exec cpu_exec_child");
        _exit(127);
    }
    return pid;
}

__attribute__((noipa)) static int parent_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) /* EINTR: pass a stop on */
        if (cpu_stop)
            kill(pid, SIGTERM);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
    cpu_setup(argc, argv);
    double secs = argc > 1 ? atof(argv[1]) : 60.0;
    int children = argc > 2 ? atoi(argv[2]) : 1;
    if (secs <= 0 || children < 1 || children > 1000) {
        fprintf(stderr, "usage: cpu_forkexec [SECONDS] [CHILDREN (1..1000)]\n");
        return 2;
    }
    char each[32];
    snprintf(each, sizeof each, "%.6f", secs / children);
    int parent_cpu = allowed_cpu(0), exec_cpu = allowed_cpu(1);
    pin_to(parent_cpu);
    int rc = 0;
    for (int i = 0; i < children && !cpu_stop && rc == 0; i++) {
        pid_t pid = parent_spawn(each, exec_cpu, parent_cpu);
        if (pid < 0) {
            perror("cpu_forkexec: fork");
            return 1;
        }
        rc = parent_wait(pid);
    }
    return rc;
}
