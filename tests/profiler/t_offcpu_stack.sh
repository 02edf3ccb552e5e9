#!/usr/bin/env bash
# The user stack copied at each switch-out: 16K by default, --stack-size
# sets it (the copy is made in the target's context at every switch-out,
# the main cost of recording a thread that blocks often: bench/offcpu.sh).
# Ground truth: offcpu_pingpong deep waits for each byte under 12 frames
# of 1 KiB (peer_deep), so its waits are whole (unwound to the thread's
# first frame) only with a copy over 12 KiB: whole by default, truncated
# with --stack-size 8K (8K, perf's default, cut such waits: a thread
# blocked in read() into an 8K buffer on its stack is the common case).
. "$(dirname "$0")/lib.sh"
PINGPONG=$B/samples/offcpu/offcpu_pingpong
[ -x "$PINGPONG" ] || fail "$PINGPONG not built"

deep_waits() { # RECORD_OPTION... -> "WHOLE TRUNCATED": peer_deep's waits (every one: period 0)
  "$IGNIS" record --off-cpu --off-cpu-period 0 "$@" -o "$T/deep.pb.gz" -- "$PINGPONG" 0.5 deep >"$T/pp.out" 2>"$T/rec.err" ||
    { cat "$T/rec.err"; fail "record $* exited non-zero"; }
  cat "$T/rec.err" >&2
  "$PROFDUMP" "$T/deep.pb.gz" samples |
    awk -F'\t' '$5 ~ /;peer_deep(;|$)/ && $3 == "sleeping" { if ($5 ~ /^\[truncated\]/) t += $1; else w += $1 } END { printf "%d %d\n", w, t }'
}
# (sleeping: the waits in read() at the bottom, 12 KiB down; with every
# wait recorded, a preemption on the way down, shallower, is whole)

read -r whole truncated <<<"$(deep_waits --stack-size 8K)"
echo "--stack-size 8K: peer_deep waits whole $whole, truncated $truncated"
[ "$truncated" -ge 100 ] || fail "only $truncated truncated waits under peer_deep with --stack-size 8K"
[ "$whole" = 0 ] || fail "$whole waits 12 KiB deep unwound whole from an 8K copy"

read -r whole truncated <<<"$(deep_waits)"
echo "default copy: peer_deep waits whole $whole, truncated $truncated"
[ "$whole" -ge 100 ] || fail "only $whole whole waits under peer_deep with the default copy"
in_range "$(pct "$whole" $((whole + truncated)))" 99 100 "whole waits with the default copy (%)"
echo ok
