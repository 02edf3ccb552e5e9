#!/usr/bin/env bash
# bench/agent.sh — the cost of continuous system-wide profiling: `ignis
# agent` (record -a --every) at 19 Hz and 99 Hz on every CPU while
# samples/cpu/cpu_shares keeps two threads busy, for BENCH_AGENT_SECONDS
# (default 60) each, one profile every BENCH_AGENT_EVERY (default 10s).
# Prints, per rate: the agent's CPU (user+sys over the wall time) as a
# percentage of one core, its peak RSS and its RSS at the end (VmRSS,
# polled once a second: the steady state), the intervals written, and the
# samples and lost records of its summary.  Figures only, no assertions
# (issue 14's targets: <= 1% of a core and <= 100 MB at 19 Hz, <= 3% at
# 99 Hz, over 10 minutes: BENCH_AGENT_SECONDS=600).  Needs root (or
# perf_event_paranoid <= 0).
set -u
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
S=$B/samples/cpu
D=${BENCH_AGENT_SECONDS:-60}
EVERY=${BENCH_AGENT_EVERY:-10s}
T=$(mktemp -d -t ignis-bench-agent.XXXXXX)
WORK=
cleanup() { [ -n "$WORK" ] && kill "$WORK" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
[ -x "$IGNIS" ] && [ -x "$S/cpu_shares" ] || { echo "bench/agent.sh: build first ($IGNIS, $S/cpu_shares)"; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/agent.sh: /usr/bin/time is missing (Debian package 'time')"; exit 1; }
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
  echo "bench/agent.sh: skipped (system-wide sampling needs root or perf_event_paranoid <= 0)"
  exit 0
fi
export IGNIS_CACHE_DIR=$T/cache # never the user's cache

echo "agent: ${D} s per rate, a profile every $EVERY, cpu_shares (2 busy threads) running;" \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$S/cpu_shares" $((2 * D + 60)) >/dev/null 2>&1 &
WORK=$!
for hz in 19 99; do
  out=$T/p$hz
  /usr/bin/time -f '%e %U %S %M' -o "$T/time" "$IGNIS" agent -F "$hz" --every "$EVERY" -o "$out/" -d "$D" \
    2>"$T/err$hz" &
  tpid=$!
  rss_end=0
  while kill -0 "$tpid" 2>/dev/null; do # the agent is time's child: its VmRSS, once a second
    apid=$(pgrep -P "$tpid" -x ignis | head -1)
    if [ -n "$apid" ]; then
      r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$apid/status" 2>/dev/null)
      [ -n "$r" ] && rss_end=$r
    fi
    sleep 1
  done
  wait "$tpid"
  read -r wall user sys maxrss <"$T/time"
  samples=$(sed -n 's/^  samples *\([0-9]*\).*/\1/p' "$T/err$hz" | head -1)
  lost=$(sed -n 's/^  lost samples *\([0-9]*\).*/\1/p' "$T/err$hz" | head -1)
  files=$(ls "$out" 2>/dev/null | wc -l)
  awk -v hz="$hz" -v wall="$wall" -v u="$user" -v s="$sys" -v m="$maxrss" -v e="$rss_end" -v f="$files" \
    -v n="${samples:-0}" -v l="${lost:-0}" 'BEGIN {
      printf "%3d Hz: cpu %.2f%% of one core (%.2f s user+sys in %.1f s), peak RSS %.1f MB, RSS at the end %.1f MB, %d intervals, %d samples, %d lost\n",
        hz, 100 * (u + s) / wall, u + s, wall, m / 1024, e / 1024, f, n, l }'
done
