#!/usr/bin/env bash
# tests/cli/t_filters.sh — filters as pprof has them, in report, flame and
# convert: percentages of the whole profile with the filters listed in the
# header and the share they kept (--relative-percentages: of what they
# kept); a filter that matches nothing is a one-line error in report;
# --hide/--show/--show-from/--prune-from edit frames, --tagfocus and
# --tagignore test any label (numeric ranges with units), --thread takes
# several threads, --threads lists each thread's share.
. "$(dirname "$0")/lib.sh"

# ---- percentages of the whole profile, filters in the header ---------------------
run focus report "$T/threads.perf" --focus hot_b
[ "$RC" -eq 0 ] || fail "--focus: exit $RC: $(cat "$T/focus.err")"
has focus "Active filters:"
has focus "focus=hot_b"
has focus "Kept by filters: 3ms, 30.00% of 10ms total"
has focus "Showing nodes accounting for 3ms, 30.00% of 10ms total"
has focus "3ms 30.00% 30.00% 3ms 30.00% hot_b"
run rel report "$T/threads.perf" -focus=hot_b --relative-percentages
has rel "3ms 100% 100% 3ms 100% hot_b"
has rel "Showing nodes accounting for 3ms, 100% of 3ms total (kept by filters)"

# ---- a filter that matches nothing ----------------------------------------------------
for f in "--focus=nosuch" "--ignore=nosuch" "--thread=nosuch" "--hide=nosuch" "--show=nosuch" \
         "--show-from=nosuch" "--prune-from=nosuch" "--tagfocus=tid=7" "--tagignore=thread_name=nosuch"; do
  run none report "$T/threads.perf" "$f"
  one_line_error none 1 "ignis report: $f: expression matched no samples"
done
run none report "$T/threads.perf" -focus=nosuch
one_line_error none 1 "ignis report: --focus=nosuch: expression matched no samples"
run none report "$T/threads.perf" --focus hot_a --ignore hot_a
one_line_error none 1 "ignis report: the filters together kept no samples"

# ---- frame filters: samples stay, frames go ---------------------------------------------
run hide report "$T/threads.perf" --hide '^run$'
has hide "Kept by filters: 10ms, 100% of 10ms total"
has hide "0 0.00% 100% 10ms 100% main"
! grep -q ' run$' "$T/hide.out" || fail "--hide: run is still a row"
run show report "$T/threads.perf" --show '^(main|hot_a)$'
has show "6ms 60.00% 60.00% 6ms 60.00% hot_a"
has show "4ms 40.00% 100% 10ms 100% main"
run from report "$T/threads.perf" --show-from '^run$'
! grep -q ' main$' "$T/from.out" || fail "--show-from: main (a caller of run) is still a row"
has from "0 0.00% 100% 10ms 100% run"
run prune report "$T/threads.perf" -prune_from='^run$'
has prune "10ms 100% 100% 10ms 100% run"
! grep -q ' hot_a$' "$T/prune.out" || fail "--prune-from: hot_a (a callee of run) is still a row"

# ---- label filters -------------------------------------------------------------------------
run tid report "$T/threads.perf" --tagfocus tid=101:102
has tid "Kept by filters: 9ms, 90.00% of 10ms total"
run tidneg report "$T/threads.perf" --tagfocus tid=-1:101 # a negative bound is a number, as in pprof
run tidopen report "$T/threads.perf" --tagfocus tid=:101
[ "$RC" -eq 0 ] && [ "$(grep -v tagfocus= "$T/tidneg.out")" = "$(grep -v tagfocus= "$T/tidopen.out")" ] || fail "--tagfocus tid=-1:101 is not tid=:101: $(cat "$T/tidneg.err")"
run tidx report "$T/threads.perf" --tagignore tid=101
has tidx "Kept by filters: 4ms, 40.00% of 10ms total"
run tname report "$T/threads.perf" --tagfocus 'thread_name=^worker' --tagfocus tid=:101
has tname "Kept by filters: 6ms, 60.00% of 10ms total"
run big report "$DATA/go_heap.pb.gz" --tagfocus bytes=1kb:
has big "Kept by filters: 15.19MB, 99.95% of 15.20MB total"
run small report "$DATA/go_heap.pb.gz" --tagfocus bytes=:1kb -n 1
has small "Kept by filters: 8.25kB, 0.05% of 15.20MB total"
has small "4.21kB 0.03% 0.03% 4.21kB 0.03% runtime.malg"

# ---- several threads, and each thread's share ------------------------------------------------
run two report "$T/threads.perf" --thread worker-a,worker-b
has two "Kept by filters: 9ms, 90.00% of 10ms total"
run rep report "$T/threads.perf" --thread worker-a --thread '^main$'
has rep "Kept by filters: 7ms, 70.00% of 10ms total"
has rep "thread=worker-a"
has rep "thread=^main$"
run threads report "$T/threads.perf" --threads
has threads "6ms 60.00% worker-a"
has threads "3ms 30.00% worker-b"
has threads "1ms 10.00% main"
run threads2 report "$T/threads.perf" --threads --focus 'hot_[ab]' --relative-percentages
has threads2 "6ms 66.67% worker-a"
! grep -q ' main$' "$T/threads2.out" || fail "--threads --focus: main has no sample left"

# ---- the same filters in flame and convert --------------------------------------------------------
run fl flame "$T/threads.perf" --hide '^run$' --thread worker-a -o "$T/h.svg"
[ "$RC" -eq 0 ] || fail "flame filters: $(cat "$T/fl.err")"
! grep -q '<title>run$' "$T/h.svg" || fail "flame --hide: run is drawn"
grep -A1 '<title>hot_a$' "$T/h.svg" | grep -q '^6ms cpu (60.00%)' || fail "flame: hot_a is 60% of the whole profile"
run cv convert "$T/threads.perf" -o "$T/f.folded" --focus hot_b --hide run
[ "$RC" -eq 0 ] || fail "convert filters: $(cat "$T/cv.err")"
[ "$(cat "$T/f.folded")" = "main;hot_b 3" ] || fail "convert --focus --hide: $(cat "$T/f.folded")"
run cv2 convert "$T/threads.perf" -o "$T/a.pb.gz" --thread worker-a
run cv2r report "$T/a.pb.gz" --threads
has cv2r "6ms 100% worker-a"
[ "$(wc -l <"$T/cv2r.out")" -eq 4 ] || fail "convert --thread kept other threads: $(cat "$T/cv2r.out")"
finish
