#!/usr/bin/env bash
# bench/viewer.sh — speed and memory of `ignis view` on two generated
# profiles (bench/gen_folded, generated once into $IGNIS_BUILD/bench/):
#   big:  200,000 distinct folded stacks, 30 frames deep, 20,000 names,
#         ~100 MB (issue 5's benchmark, shared with bench/formats.sh);
#   huge: 1,000,000 distinct stacks, ~514 MB (issue 15's); HUGE=0 skips it.
#
# IGNIS_VIEW_BENCH=N makes `ignis view` load the file (on its worker
# thread, as on a terminal), time the first frame (a preview on a big
# profile: of the part read so far when reading takes over 0.4 s, marked
# partial, then of the whole file) and the full tree, then render N keystrokes (moves, zoom in/out,
# icicle flip, search as you type, next match) through curses into an
# offscreen xterm-256color screen at 80x24 and at 300x80, then time
# callers/callees of the root's heaviest child and of a frame four levels
# down, a search and the top table to the end of their work, and print the
# peak RSS.  A keystroke's time is what the key costs the screen: work it
# starts runs on the worker thread.  Targets: issue 5 (big): open <= 1 s,
# keystroke <= 30 ms, memory <= 300 MB; issue 15 (huge): first frame
# <= 2 s, every key <= 100 ms, callers/callees and search <= 1 s, peak
# RSS <= 1.5x what `ignis report` needs for the same file.
# Wall times need an idle machine (the load average is printed); the CPU
# times (CLOCK_PROCESS_CPUTIME_ID) are what the code costs regardless.
# The whole run's minor page faults and system time are printed too: on a
# VM, fresh memory (page faults, the kernel zeroing pages) can cost as
# much as the parsing, and varies with what the host does.
set -eu
. "$(dirname "$0")/lib.sh"
get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
verdict() { awk -v v="$2" -v lim="$3" -v what="$1" -v u="$4" \
  'BEGIN { printf "  %-38s %10.1f %s  (target <= %s %s) %s\n", what, v, u, lim, u, (v <= lim ? "ok" : "OVER") }'; }

# view_run FILE KEYS: the bench line in $line, the run's faults and times in $res
res_file=$(mktemp)
trap 'rm -f "$res_file"' EXIT
view_run() {
  line=$(IGNIS_VIEW_BENCH=$2 $TIME -o "$res_file" -f '%R minor page faults, %S s sys, %U s user (whole run)' "$IGNIS" view "$1")
  res=$(tail -1 "$res_file")
}

bench_input_line
view_run "$big" "${KEYS:-200}"
echo "ignis view: $line"
echo "  ($res)"
verdict "open (read + full tree), wall" "$(get open_ms)" 1000 ms
verdict "open (read + full tree), cpu" "$(get open_cpu_ms)" 1000 ms
for size in 80x24 300x80; do
  verdict "keystroke+redraw $size, wall mean" "$(get key_ms_$size)" 30 ms
  verdict "keystroke+redraw $size, wall worst" "$(get key_max_ms_$size)" 30 ms
  verdict "keystroke+redraw $size, cpu worst" "$(get key_cpu_max_ms_$size)" 30 ms
done
verdict "peak RSS" "$(get peak_rss_mb)" 300 MB
echo "  (first frame $(get first_frame_ms) ms; callers $(get callers_root_ms) ms; search $(get search_ms) ms;"
echo "   first top table: $(get top_table_ms) ms; tree nodes: $(get tree_nodes))"

[ "${HUGE:-1}" = 0 ] && exit 0
huge=$B/bench/huge.folded
if [ ! -s "$huge" ]; then
  echo "generating $huge ..."
  "$B/bench/gen_folded" -n 1000000 >"$huge.tmp" && mv "$huge.tmp" "$huge"
fi
echo
echo "input: $(du -m "$huge" | cut -f1) MB, $(wc -l <"$huge") stacks; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
report_kb=$( { $TIME -f '%M' "$IGNIS" report "$huge" >/dev/null; } 2>&1 | tail -1)
view_run "$huge" "${KEYS:-100}"
echo "ignis view: $line"
echo "  ($res)"
verdict "first frame (preview), wall" "$(get first_frame_ms)" 2000 ms
verdict "first frame (preview), cpu" "$(get first_frame_cpu_ms)" 2000 ms
echo "  (first frame of the part read so far: $(get first_frame_partial); of the whole file: $(get whole_frame_ms) ms;"
echo "   read and merged: $(get load_ms) ms wall, $(get load_cpu_ms) ms cpu)"
for size in 80x24 300x80; do
  verdict "every key $size, wall worst" "$(get key_max_ms_$size)" 100 ms
  verdict "every key $size, cpu worst" "$(get key_cpu_max_ms_$size)" 100 ms
done
verdict "callers/callees of the root's child" "$(get callers_root_ms)" 1000 ms
verdict "callers/callees four levels down" "$(get callers_mid_ms)" 1000 ms
verdict "search (to its statistics)" "$(get search_ms)" 1000 ms
verdict "peak RSS" "$(get peak_rss_mb)" "$(awk -v k="$report_kb" 'BEGIN { printf "%.0f", 1.5 * k / 1024 }')" MB
echo "  (ignis report's peak RSS: $((report_kb / 1024)) MB; the full tree ($(get tree_nodes) nodes) is built"
echo "   behind the preview: $(get open_ms) ms wall, $(get open_cpu_ms) ms cpu from the start; top table $(get top_table_ms) ms)"
