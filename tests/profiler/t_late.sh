#!/usr/bin/env bash
# Code that appears after attach (samples/cpu/cpu_late.c): once recording,
# the test sends SIGUSR1; the sample then dlopen()s libcpu_late.so and
# starts thread "late" spinning in it.  The profile must name the late
# library's functions under the late thread's full stack, and have samples
# from before (before_trigger) and after (after_trigger) the trigger.
. "$(dirname "$0")/lib.sh"
start_sample cpu_late 60
start_record -p "$SAMPLE_PID" -F 499 -d 3 --per-thread -o "$T/out.folded"
wait_recording
kill -USR1 "$SAMPLE_PID"
wait_record
[ "$REC_STATUS" -eq 0 ] || { cat "$T/rec.err"; fail "record exited $REC_STATUS"; }
cat "$T/rec.err"
f=$T/out.folded
late=$(folded_sum "$f" '^late \[[0-9]+\];clone3;start_thread;late_thread;late_lib_hot(;late_lib_leaf)?(;|$)')
leaf=$(folded_sum "$f" ';late_thread;late_lib_hot;late_lib_leaf(;|$)')
late_all=$(folded_sum "$f" '^late \[[0-9]+\];')
after=$(folded_sum "$f" ';main;after_trigger$')
before=$(folded_sum "$f" ';main;before_trigger$')
echo "late thread: $late_all ($late in the library, $leaf in late_lib_leaf); after_trigger $after; before_trigger $before"
[ "$leaf" -gt 0 ] || fail "no samples of the late library's leaf in the late thread"
in_range "$(pct "$late" "$late_all")" 90 100 "late thread samples under late_thread;late_lib_hot"
[ "$after" -gt 0 ] || fail "no samples after the trigger"
grep -q '\[libcpu_late\.so\]' "$f" && fail "unsymbolized frames in the late library"
echo ok
