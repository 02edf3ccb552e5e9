#!/usr/bin/env bash
# The stack memo of switch-outs (profiler/unwind.c, ig_unwind_repeated)
# gives the profile that unwinding every switch-out gives.
#   1. offcpu_pingpong two-sites: its peer thread waits for each byte
#      through peer_wait_even and peer_wait_odd in turn, whose blocked
#      reads have the same PC, stack pointer and registers; only the
#      return address on the stack differs.  Ground truth: half the
#      peer's waits at each.  With IGNIS_UNWIND_CACHE=verify every memo
#      hit is unwound as well and compared: there must be hits and no
#      difference.  With the memo (default) and without it
#      (IGNIS_UNWIND_CACHE=0), each site has half of the two sites' waits
#      (a memo keyed on registers alone files them all under one).
#   2. offcpu_phases without the memo: the phases' shares of the workers'
#      off-CPU time within 2 points of the measured ones, as t_offcpu.sh
#      checks them with it.
. "$(dirname "$0")/lib.sh"
PINGPONG=$B/samples/offcpu/offcpu_pingpong
[ -x "$PINGPONG" ] || fail "$PINGPONG not built"

record_pingpong() { # MEMO_MODE OUT
  # period 100us: enough waits at both sites however slowly a loaded machine
  # runs the ping-pong (at 1ms, 2800 round trips drew 62)
  IGNIS_UNWIND_CACHE=$1 "$IGNIS" record --off-cpu --off-cpu-period 100us -o "$2" -- "$PINGPONG" 1 two-sites >"$T/pp.out" 2>"$T/rec.err"
  local rc=$?
  cat "$T/rec.err" "$T/pp.out"
  [ "$rc" -eq 0 ] || fail "record (IGNIS_UNWIND_CACHE=$1) exited $rc"
}

# waits at each site: interval counts (the samples value) under each function
site_counts() { # PROFILE -> "EVEN ODD"
  "$PROFDUMP" "$1" samples | awk -F'\t' '$5 ~ /;peer_wait_even(;|$)/ { e += $1 } $5 ~ /;peer_wait_odd(;|$)/ { o += $1 }
                                         END { printf "%d %d\n", e, o }'
}

check_halves() { # PROFILE LABEL
  local even odd
  read -r even odd <<<"$(site_counts "$1")"
  echo "$2: peer_wait_even $even waits, peer_wait_odd $odd"
  [ $((even + odd)) -ge 100 ] || fail "$2: only $((even + odd)) waits at the two sites"
  in_range "$(pct "$even" $((even + odd)))" 40 60 "$2: peer_wait_even's share of the two sites' waits (%)"
}

record_pingpong verify "$T/verify.pb.gz"
line=$(grep '^  repeated stacks' "$T/rec.err") || fail "no switch-out was unwound from the memo"
hits=$(sed -n 's/^  repeated stacks *\([0-9]*\).*/\1/p' <<<"$line")
differed=$(sed -n 's/.*(\([0-9]*\) differed).*/\1/p' <<<"$line")
echo "memo: $hits hits, $differed differed from a fresh unwind"
[ "$hits" -ge 100 ] || fail "only $hits switch-outs from the memo"
[ "$differed" = 0 ] || fail "$differed memo hits differed from unwinding"
check_halves "$T/verify.pb.gz" "verify"

record_pingpong 1 "$T/memo.pb.gz"
check_halves "$T/memo.pb.gz" "memo"
record_pingpong 0 "$T/nomemo.pb.gz"
grep -q '^  repeated stacks' "$T/rec.err" && fail "IGNIS_UNWIND_CACHE=0 still used the memo"
check_halves "$T/nomemo.pb.gz" "no memo"

# the ground truth of t_offcpu.sh, without the memo (a loaded machine
# that loses records makes the shares incomparable: skipped, as there)
for attempt in 1 2 3; do
  IGNIS_UNWIND_CACHE=0 "$IGNIS" record --off-cpu -o "$T/off.pb.gz" -- "$PHASES" 20 >"$T/truth" 2>"$T/rec.err"
  rc=$?
  cat "$T/rec.err"
  [ "$rc" -eq 0 ] || fail "record exited $rc"
  [ "$(summary 'lost samples')" = 0 ] && break
  echo "run $attempt: records were lost (machine too loaded); again"
  [ "$attempt" = 3 ] && { echo "records lost in 3 runs: the shares cannot be compared, skipped"; exit 77; }
done
"$PROFDUMP" "$T/off.pb.gz" off_cpu >"$T/dump" || fail "profdump"
read -r life_w life_c <<<"$(truth "$T/truth" life)"
life_off=$((life_w - life_c))
prof_all=$(dump_sum "$T/dump" .)
[ "$prof_all" -gt 0 ] || fail "no off-CPU time in the worker threads"
for phase in sleep mutex pipe compute; do
  read -r w c <<<"$(truth "$T/truth" "$phase")"
  got=$(dump_sum "$T/dump" ";phase_$phase(;|$)")
  d=$(points "$got" "$prof_all" $((w - c)) "$life_off")
  echo "no memo, $phase: measured $(pct $((w - c)) "$life_off")%, profile $(pct "$got" "$prof_all")%, $d points"
  abs_le "$d" 2 || fail "$phase: share off by $d points without the memo"
done
echo ok
