#!/usr/bin/env bash
# bench/viewer.sh — speed and memory of `ignis view` on the issue's
# benchmark profile: 200,000 distinct folded stacks (1M samples), 30 frames
# deep, 20,000 function names, ~100 MB (bench/gen_folded, shared with
# bench/formats.sh and generated once into $IGNIS_BUILD/bench/).
#
# IGNIS_VIEW_BENCH=N makes `ignis view` open the file, then render N
# keystrokes (moves, zoom in/out, icicle flip, search, next match) through
# curses into an offscreen xterm-256color screen at 80x24 and at 300x80,
# and print the times.  Targets (issue 5): open <= 1 s, redraw after a
# keystroke <= 30 ms, memory <= 300 MB.  For comparison, the issue quotes
# speedscope at 20-35 s and about 3 GB for the same data on this machine.
# Wall times need an idle machine (the load average is printed); the CPU
# times (CLOCK_PROCESS_CPUTIME_ID) are what the code costs regardless.
set -eu
. "$(dirname "$0")/lib.sh"
bench_input_line
line=$(IGNIS_VIEW_BENCH=${KEYS:-200} "$IGNIS" view "$big")
echo "ignis view: $line"
get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
verdict() { awk -v v="$2" -v lim="$3" -v what="$1" -v u="$4" \
  'BEGIN { printf "  %-34s %10.1f %s  (target <= %s %s) %s\n", what, v, u, lim, u, (v <= lim ? "ok" : "OVER") }'; }
verdict "open (read + tree), wall" "$(get open_ms)" 1000 ms
verdict "open (read + tree), cpu" "$(get open_cpu_ms)" 1000 ms
for size in 80x24 300x80; do
  verdict "keystroke+redraw $size, wall mean" "$(get key_ms_$size)" 30 ms
  verdict "keystroke+redraw $size, wall worst" "$(get key_max_ms_$size)" 30 ms
  verdict "keystroke+redraw $size, cpu mean" "$(get key_cpu_ms_$size)" 30 ms
  verdict "keystroke+redraw $size, cpu worst" "$(get key_cpu_max_ms_$size)" 30 ms
done
verdict "peak RSS" "$(get peak_rss_mb)" 300 MB
echo "  (of the open: reading the file $(get load_ms) ms wall, the rest is the call tree)"
echo "  (first top table: $(get top_table_ms) ms; tree nodes: $(get tree_nodes);"
echo "   speedscope: 20-35 s and ~3 GB for this data, as quoted in issue 5)"
