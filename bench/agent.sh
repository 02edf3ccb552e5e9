#!/usr/bin/env bash
# bench/agent.sh — the cost of continuous system-wide profiling: `ignis
# agent` (record -a --every) at 19 Hz and 99 Hz on every CPU while
# samples/cpu/cpu_shares keeps two threads busy, for BENCH_AGENT_SECONDS
# (default 60) each, one profile every BENCH_AGENT_EVERY (default 10s);
# BENCH_AGENT_RATES picks the rates (default "19 99").  The issue's full
# run is `BENCH_AGENT_FULL=1` (or BENCH_AGENT_SECONDS=600): 10 minutes per
# rate, a profile every 60 s, as the agent runs in production.
# Prints, per rate: the agent's CPU (user+sys over the wall time) as a
# percentage of one core, its peak RSS and its RSS at the end, the
# intervals written, and the samples and lost records of its summary; then
# whether RSS is steady: VmRSS polled once a second, its first value after
# the first interval, the last, the largest, the largest of each tenth of
# the run, and "steady" when the second half never exceeds the first
# half's largest by more than 5% (+1 MB), else "growing".  Figures only,
# no assertions (issue 14's targets: <= 1% of a core and <= 100 MB steady
# at 19 Hz, <= 3% at 99 Hz, over 10 minutes).  Needs root (or
# perf_event_paranoid <= 0).
set -u
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
S=$B/samples/cpu
if [ "${BENCH_AGENT_FULL:-0}" = 1 ]; then
  D=${BENCH_AGENT_SECONDS:-600}
  EVERY=${BENCH_AGENT_EVERY:-60s}
else
  D=${BENCH_AGENT_SECONDS:-60}
  EVERY=${BENCH_AGENT_EVERY:-10s}
fi
RATES=${BENCH_AGENT_RATES:-19 99}
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
nrates=$(wc -w <<<"$RATES")
"$S/cpu_shares" $((nrates * D + 60)) >/dev/null 2>&1 &
WORK=$!
# rss_report FILE: "SECONDS KB" lines -> first (after the first interval),
# last, max, the max of each tenth, and steady or growing.
rss_report() {
  awk -v every="$1" '{ t[NR] = $1; r[NR] = $2 } END {
    if (NR == 0) { print "        RSS: no samples"; exit }
    first = 1; while (first < NR && t[first] < every) first++
    max = 0; h1 = 0; h2 = 0; mid = t[first] + (t[NR] - t[first]) / 2
    for (i = first; i <= NR; i++) {
      if (r[i] > max) max = r[i]
      if (t[i] < mid) { if (r[i] > h1) h1 = r[i] } else if (r[i] > h2) h2 = r[i]
      b = int(10 * (t[i] - t[first]) / (t[NR] - t[first] + 1)); if (r[i] > tenth[b]) tenth[b] = r[i]
    }
    line = ""; for (b = 0; b < 10; b++) if (b in tenth) line = line sprintf(" %.1f", tenth[b] / 1024)
    printf "        RSS (MB, once a second from %d s): first %.1f, last %.1f, max %.1f; max per tenth:%s; %s (second half max %.1f vs first half %.1f)\n",
      t[first], r[first] / 1024, r[NR] / 1024, max / 1024, line,
      h2 <= h1 * 1.05 + 1024 ? "steady" : "growing", h2 / 1024, h1 / 1024 }' "$2"
}
every_s=$(awk -v e="$EVERY" 'BEGIN { v = e + 0; if (e ~ /ms$/) v /= 1000; else if (e ~ /m$/) v *= 60; else if (e ~ /h$/) v *= 3600; print v }')
for hz in $RATES; do
  out=$T/p$hz
  /usr/bin/time -f '%e %U %S %M' -o "$T/time" "$IGNIS" agent -F "$hz" --every "$EVERY" -o "$out/" -d "$D" \
    2>"$T/err$hz" &
  tpid=$!
  rss_end=0 t0=$SECONDS
  : >"$T/rss$hz"
  while kill -0 "$tpid" 2>/dev/null; do # the agent is time's child: its VmRSS, once a second
    apid=$(pgrep -P "$tpid" -x ignis | head -1)
    if [ -n "$apid" ]; then
      r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$apid/status" 2>/dev/null)
      [ -n "$r" ] && rss_end=$r && echo "$((SECONDS - t0)) $r" >>"$T/rss$hz"
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
  rss_report "$every_s" "$T/rss$hz"
done
