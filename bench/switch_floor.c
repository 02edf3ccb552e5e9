/*
 * bench/switch_floor.c — runs a command with an empty BPF program attached
 * to the scheduler's switch (bench/bpf/switch_floor.bpf.c), for
 * bench/offcpu.sh: the floor under any off-CPU recorder that hooks every
 * context switch.  The command's output is its own; exit status 0 when it
 * ran and exited 0.
 *
 *   usage: switch_floor COMMAND [ARG...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef IG_HAVE_FLOORBPF
#include <bpf/libbpf.h>

#include "bench/bpf/switch_floor.skel.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level, (void)fmt, (void)ap;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: switch_floor COMMAND [ARG...]\n");
        return 2;
    }
    libbpf_set_print(quiet);
    struct ig_floor_bpf *skel = ig_floor_bpf__open_and_load();
    if (!skel || ig_floor_bpf__attach(skel)) {
        fprintf(stderr, "switch_floor: cannot load or attach the program (root and kernel BTF needed)\n");
        ig_floor_bpf__destroy(skel);
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        status = 1 << 8;
    ig_floor_bpf__destroy(skel);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
#else
int main(void)
{
    fprintf(stderr, "switch_floor: no BPF in this build (x86-64 only)\n");
    return 1;
}
#endif
