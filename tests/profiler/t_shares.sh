#!/usr/bin/env bash
# Two threads with known CPU splits (samples/cpu/cpu_shares.c): inside
# worker-a, hot_a takes 75% and hot_b 25%; inside worker-b hot_c and hot_d
# take 50% each.  Attach with -p, thread as root frame, and check the
# shares within +-10 percentage points, the frame order from the thread
# root to the leaf, the thread labels' root frames and >= 99% unwound.
. "$(dirname "$0")/lib.sh"
start_sample cpu_shares 60
start_record -p "$SAMPLE_PID" -F 999 -d 4 --per-thread -o "$T/out.folded"
wait_recording
wait_record
[ "$REC_STATUS" -eq 0 ] || { cat "$T/rec.err"; fail "record exited $REC_STATUS"; }
cat "$T/rec.err"
f=$T/out.folded
a=$(folded_sum "$f" '^worker-a \[[0-9]+\];clone3;start_thread;worker_a;hot_a$')
b=$(folded_sum "$f" '^worker-a \[[0-9]+\];clone3;start_thread;worker_a;hot_b$')
c=$(folded_sum "$f" '^worker-b \[[0-9]+\];clone3;start_thread;worker_b;hot_c$')
d=$(folded_sum "$f" '^worker-b \[[0-9]+\];clone3;start_thread;worker_b;hot_d$')
echo "hot_a=$a hot_b=$b hot_c=$c hot_d=$d"
[ $((a + b)) -gt 0 ] && [ $((c + d)) -gt 0 ] || fail "no samples in the worker threads"
in_range "$(pct "$a" $((a + b)))" 65 85 "hot_a share of worker-a"
in_range "$(pct "$c" $((c + d)))" 40 60 "hot_c share of worker-b"
# every sample of the workers is under its own thread's root, in order
wa=$(folded_sum "$f" '^worker-a \[[0-9]+\];')
wa_ordered=$(folded_sum "$f" '^worker-a \[[0-9]+\];clone3;start_thread;worker_a(;|$)')
in_range "$(pct "$wa_ordered" "$wa")" 99 100 "worker-a samples rooted clone3;start_thread;worker_a"
grep -q ';worker_b;hot_a\|;worker_a;hot_c' "$f" && fail "a leaf under the wrong thread"
in_range "$(partial_pct)" 0 1 "not fully unwound (%)"
echo ok
