#!/usr/bin/env bash
# The BPF engine keeps a thread's state in its slot of an array (tid masked)
# or, when another thread holds that slot, in the hash map ("spilled"):
# with one slot (IGNIS_OFFBPF_SLOTS=1) every thread but one spills, and the
# ground-truth shares of t_offcpu.sh must hold all the same.
export IGNIS_OFFBPF_SLOTS=1
exec bash "$(dirname "$0")/t_offcpu.sh"
