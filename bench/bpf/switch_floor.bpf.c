/*
 * bench/bpf/switch_floor.bpf.c — the least any BPF program on the
 * scheduler's switch costs: a tp_btf/sched_switch program that does
 * nothing.  bench/switch_floor.c attaches it around a command, so that
 * bench/offcpu.sh can show, beside the off-CPU engine's cost on a
 * switch-bound target, the part of it any such hook pays on this machine
 * (the trampoline and the program call at every context switch).
 */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct;

SEC("tp_btf/sched_switch")
int BPF_PROG(ig_floor_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state)
{
    (void)preempt, (void)prev, (void)next, (void)prev_state;
    return 0;
}
