#!/usr/bin/env bash
# tests/profiler/t_spanbpf_pidns.sh — span labels at sample time when the
# profiler runs in a pid namespace of its own (a container): the BPF
# program must name threads as the profiler sees them
# (bpf_get_ns_current_pid_tgid), or every sample of the target would go
# unlabelled.  Runs test_spanbpf's accuracy test on inherited events under
# `unshare --pid --fork --mount-proc`.  Skips (77) without root, unshare or BPF.
set -u
B=${IGNIS_BUILD:-build}
T=$B/tests/profiler/test_spanbpf
[ -x "$T" ] || { echo "build $T first"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (unshare --pid, BPF)"; exit 77; }
unshare --pid --fork --mount-proc true 2>/dev/null || { echo "unshare --pid not permitted here"; exit 77; }
out=$(SPANBPF_TEST_FILTER=test_accuracy_inherited_events IGNIS_BUILD=$B \
      unshare --pid --fork --mount-proc "$T" 2>&1)
rc=$?
echo "$out"
if echo "$out" | grep -q '^\[  SKIPPED \] test_accuracy'; then
  echo "BPF not available: $(echo "$out" | grep '^skipped:' | head -1)"; exit 77
fi
[ $rc -eq 0 ] && echo "$out" | grep -q '^\[  PASSED  \] 1 test' || { echo "FAIL: accuracy in a pid namespace"; exit 1; }
