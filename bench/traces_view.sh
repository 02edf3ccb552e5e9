#!/usr/bin/env bash
# bench/traces_view.sh — speed of the trace views of `ignis view` on the
# issue's benchmark store: 1,000,000 spans in about 50,000 traces, one of
# them 10,000 spans (bench/gen_traces, written once into
# $IGNIS_BUILD/bench/traces.db through the store's write API).
#
# IGNIS_VIEW_BENCH=N makes `ignis view traces.db` open the trace list, then
# sort it by span count and open the biggest trace's waterfall, render N
# keystrokes in it and N in the trace list through curses into an
# offscreen xterm-256color screen (80x24 and 300x80), open the operations
# view, one operation's histogram and one bucket's traces, and print the
# times.  Targets (issue 12): trace list open <= 0.5 s, a 10k-span trace's
# waterfall <= 100 ms, redraw <= 30 ms, operations view <= 1 s.  Wall times
# need an idle machine (the load average is printed); the CPU times
# (CLOCK_PROCESS_CPUTIME_ID) are what the code costs regardless.
set -eu
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
db=$B/bench/traces.db
mkdir -p "$B/bench"
if [ ! -s "$db" ]; then
  echo "generating $db ..."
  rm -f "$db.tmp" "$db.tmp-wal" "$db.tmp-shm"
  "$B/bench/gen_traces" "$db.tmp" && mv "$db.tmp" "$db"
fi
echo "input: $(du -m "$db" | cut -f1) MB trace store; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
line=$(IGNIS_VIEW_BENCH=${KEYS:-100} "$IGNIS" view "$db")
echo "ignis view (traces): $line"
get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
verdict() { awk -v v="$2" -v lim="$3" -v what="$1" -v u="$4" \
  'BEGIN { printf "  %-40s %10.1f %s  (target <= %s %s) %s\n", what, v, u, lim, u, (v <= lim ? "ok" : "OVER") }'; }
echo "  store: $(get traces) traces, $(get spans) spans"
verdict "trace list open (store + first page)" "$(get list_open_ms)" 500 ms
verdict "trace list open, cpu" "$(get list_open_cpu_ms)" 500 ms
verdict "waterfall of $(get waterfall_spans) spans (load + draw)" "$(get waterfall_ms)" 100 ms
verdict "waterfall of $(get waterfall_spans) spans, cpu" "$(get waterfall_cpu_ms)" 100 ms
for size in 80x24 300x80; do
  verdict "waterfall keystroke+redraw $size, mean" "$(get waterfall_key_ms_$size)" 30 ms
  verdict "waterfall keystroke+redraw $size, worst" "$(get waterfall_key_max_ms_$size)" 30 ms
  verdict "trace list keystroke+redraw $size, mean" "$(get list_key_ms_$size)" 30 ms
  verdict "trace list keystroke+redraw $size, worst" "$(get list_key_max_ms_$size)" 30 ms
done
verdict "operations view ($(get operations) operations)" "$(get operations_ms)" 1000 ms
verdict "operations view, cpu" "$(get operations_cpu_ms)" 1000 ms
echo "  (sorting the list by span count: $(get sort_by_spans_ms) ms; one operation's histogram:"
echo "   $(get histogram_ms) ms; the traces of one bucket: $(get bucket_list_ms) ms; peak RSS $(get peak_rss_mb) MB)"
echo "  (for scale: otel-tui keeps the last 1000 root spans in memory; Jaeger all-in-one"
echo "   needs its own storage service)"
