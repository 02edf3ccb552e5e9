#!/usr/bin/env bash
# bench/alloc.sh — what allocation profiling costs the profiled program.
#
# Two workloads (samples/alloc/allocbench.c): "malloc" (malloc/free pairs
# and nothing else, the worst case) and "mixed" (requests that allocate
# 32 B - 8 KiB and hash/sort what they allocate, with a live cache).
# Each runs under: no profiler; the preload shim (libignis-alloc.so,
# default 512 KiB byte sampling); the attach route (`record --alloc -p`,
# uprobes, --every 1 and --every 64); heaptrack when installed.  The
# figure is the target's own CPU time per operation (min of 5 runs;
# uprobe traps are charged to the target), so a busy machine does not
# blur it; slowdown = profiled / baseline.
set -u
cd "$(dirname "$0")/.."
B=${IGNIS_BUILD:-build}
BENCH=$B/samples/alloc/allocbench
SHIM=$B/libignis-alloc.so
case $SHIM in /*) ;; *) SHIM=$PWD/$SHIM ;; esac
[ -x "$BENCH" ] && [ -f "$SHIM" ] || { echo "bench/alloc.sh: build first (make B=$B)"; exit 0; }
RECORD=("$B/ignis" record)
export IGNIS_ALLOC_LIB=$SHIM
TMP=$(mktemp -d -t ignis-alloc-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# cpu_ns_per_op CMD...: min over 5 runs of the program's CPU ns per op
cpu_ns() {
  local best=
  for _ in 1 2 3 4 5; do
    local line; line=$("$@" 2>/dev/null | grep '^ops') || return 1
    local v; v=$(echo "$line" | awk '{ printf "%.1f", $4 * 1e9 / $2 }')
    if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$v; fi
  done
  echo "$best"
}

# attach_ns MODE N EVERY: CPU ns per op of allocbench while attached
attach_ns() {
  rm -f "$TMP/in" "$TMP/out" "$TMP/err"; mkfifo "$TMP/in"
  "$BENCH" "$1" "$2" --wait < "$TMP/in" > "$TMP/out" &
  local bp=$!
  exec 3>"$TMP/in"
  for _ in $(seq 1000); do grep -q ready "$TMP/out" && break; sleep 0.01; done
  "${RECORD[@]}" --alloc -p $bp --every "$3" -o "$TMP/a.pb.gz" 2> "$TMP/err" &
  local rp=$!
  for _ in $(seq 3000); do grep -q "attached\|ignis record:" "$TMP/err" && break; sleep 0.01; done
  echo go >&3; exec 3>&-
  wait $bp; wait $rp
  grep '^ops' "$TMP/out" | awk '{ printf "%.1f", $4 * 1e9 / $2 }'
  grep -o 'probe cost[^;]*' "$TMP/err" | head -1 > "$TMP/cost"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2fx", a / b; else print "-" }'; }

declare -A N=([malloc]=20000000 [mixed]=50000)
declare -A NA=([malloc]=20000 [mixed]=2000)
printf '%-8s %-34s %14s %10s\n' workload route "CPU ns/op" slowdown
for m in malloc mixed; do
  base=$(cpu_ns "$BENCH" $m ${N[$m]})
  printf '%-8s %-34s %14s %10s\n' $m "baseline" "$base" "1.00x"
  pre=$(cpu_ns env LD_PRELOAD="$SHIM" IGNIS_ALLOC_OUTPUT="$TMP/p.pb.gz" "$BENCH" $m ${N[$m]})
  printf '%-8s %-34s %14s %10s\n' $m "preload, 512 KiB sampling" "$pre" "$(ratio "$pre" "$base")"
  pre1=$(cpu_ns env LD_PRELOAD="$SHIM" IGNIS_ALLOC_SAMPLE_BYTES=4096 IGNIS_ALLOC_OUTPUT="$TMP/p.pb.gz" "$BENCH" $m ${N[$m]})
  printf '%-8s %-34s %14s %10s\n' $m "preload, 4 KiB sampling" "$pre1" "$(ratio "$pre1" "$base")"
  if [ -r /sys/bus/event_source/devices/uprobe/type ]; then
    for e in 1 64; do
      a=$(attach_ns $m ${NA[$m]} $e)
      printf '%-8s %-34s %14s %10s\n' $m "attach (uprobes), --every $e" "$a" "$(ratio "$a" "$base")"
    done
    echo "         ($(cat "$TMP/cost"))"
  fi
  if command -v heaptrack >/dev/null; then
    h=$(cd "$TMP" && cpu_ns heaptrack -o "$TMP/ht" "$(cd "$OLDPWD" && realpath "$BENCH")" $m ${NA[$m]})
    printf '%-8s %-34s %14s %10s\n' $m "heaptrack ($((NA[$m])) ops, incl. start-up)" "${h:--}" "$(ratio "${h:-0}" "$base")"
  fi
done
