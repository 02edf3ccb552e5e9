#!/usr/bin/env bash
# bench/alloc_spans.sh — what span labels add to `record --alloc -p`.
#
# samples/spans/spanwork -m (two threads allocating 64 KiB blocks inside
# and outside spans, linked with libignis) attached with uprobes, with the
# span-label program (profiler/bpf/allocspan.bpf.c) and with
# --no-span-labels.  Figures: the target's CPU time per allocation call
# while attached (uprobe traps and the program are charged to it; min of
# 3 runs each, alternating), and, when kernel.bpf_stats_enabled can be
# set (root), the kernel's count of program runs per allocation call (one
# per attached thread: every thread's entry probe shares the uprobe) and
# its ns per run.
set -u
cd "$(dirname "$0")/.."
B=${IGNIS_BUILD:-build}
W=$B/samples/spans/spanwork
[ -x "$W" ] && [ -x "$B/ignis" ] || { echo "bench/alloc_spans.sh: build first (make B=$B samples)"; exit 0; }
[ -r /sys/bus/event_source/devices/uprobe/type ] || { echo "bench/alloc_spans.sh: no uprobe PMU"; exit 0; }
TMP=$(mktemp -d -t ignis-alloc-spans.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo)
cleanup() {
  [ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# run OPTIONS...: "CPU_NS_PER_ALLOC RUNS NS_PER_RUN" of one attached run
run() {
  rm -f "$TMP/in" "$TMP/out" "$TMP/err"; mkfifo "$TMP/in"
  "$W" -m -s -l "$TMP/log" -r 100 -t 2 < "$TMP/in" > "$TMP/out" 2>/dev/null &
  local sp=$!
  exec 3>"$TMP/in"
  for _ in $(seq 1000); do grep -q READY "$TMP/out" && break; sleep 0.01; done
  "$B/ignis" record --alloc -p $sp "$@" -o "$TMP/a.pb.gz" 2> "$TMP/err" &
  local rp=$!
  for _ in $(seq 3000); do grep -q "attached\|ignis record:" "$TMP/err" && break; sleep 0.01; done
  printf g >&3; exec 3>&-
  wait $sp; wait $rp
  awk '
    /target CPU time while attached/ {
      for (i = 1; i <= NF; i++) { if ($i == "allocation" && $(i+1) == "and") calls = $(i-1); if ($i == "attached") cpu = $(i+1) }
    }
    /span-label program:/ { runs = $4; ns = $6 }
    END { if (calls > 0) printf "%.0f %d %s\n", cpu * 1e9 / calls, runs, (ns == "" ? "-" : ns) }' "$TMP/err"
}

sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null
best_on= best_off= runs= ns=
for _ in 1 2 3; do
  read -r c r n <<<"$(run)"
  if [ -n "$c" ] && { [ -z "$best_on" ] || [ "$c" -lt "$best_on" ]; }; then best_on=$c; runs=$r; ns=$n; fi
  read -r c _ _ <<<"$(run --no-span-labels)"
  if [ -n "$c" ] && { [ -z "$best_off" ] || [ "$c" -lt "$best_off" ]; }; then best_off=$c; fi
done
printf '%-36s %14s\n' "record --alloc -p spanwork -m" "CPU ns/alloc"
printf '%-36s %14s\n' "--no-span-labels" "${best_off:--}"
printf '%-36s %14s\n' "span labels" "${best_on:--}"
if [ -n "$best_on" ] && [ -n "$best_off" ]; then
  printf '%-36s %14s\n' "added per allocation call" "$((best_on - best_off))"
fi
[ "${runs:-0}" -gt 0 ] && printf 'span-label program: %s runs in the last labelled run, %s ns per run (kernel.bpf_stats_enabled)\n' "$runs" "$ns"
exit 0
