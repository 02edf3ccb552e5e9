#!/usr/bin/env bash
# A full ring buffer loses waits, counted, and never counts them as
# recorded: with --off-cpu-period 0 (every wait written) a ping-pong of
# 300k switches a second outruns any recorder, so the BPF ring fills; the
# summary's "valued" total (the waits the ring took) must then equal the
# profile's total off-CPU time, and the lost ones be reported.  (Before,
# a wait the full ring refused was counted in "valued" all the same.)
. "$(dirname "$0")/lib.sh"
PINGPONG=$IGNIS_BUILD/samples/offcpu/offcpu_pingpong
"$IGNIS" record --off-cpu --off-cpu-period 0 -o "$T/off.pb.gz" -- "$PINGPONG" 2 >"$T/out" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 0 ] || fail "record exited $rc"
grep -q '^ignis record: off-CPU engine: BPF' "$T/rec.err" || { echo "not the BPF engine here: skipped"; exit 77; }
"$PROFDUMP" "$T/off.pb.gz" off_cpu >"$T/dump" || fail "profdump"
lost=$(sed -n 's/.*, \([0-9]*\) lost (ring full).*/\1/p' "$T/rec.err")
valued=$(sed -n 's/^  drawn waits *valued \([0-9.]*\) s in all.*/\1/p' "$T/rec.err")
[ -n "$lost" ] && [ -n "$valued" ] || fail "no 'lost (ring full)' or 'valued' in the summary"
total=$(awk -F"\t" "{ s += \$1 } END { printf \"%.0f\\n\", s }" "$T/dump")
echo "lost $lost, valued $valued s, profile total $total ns"
# the summary rounds to ms
awk -v v="$valued" -v t="$total" 'BEGIN { d = v - t / 1e9; exit !(d < 0.0015 && d > -0.0015) }' ||
  fail "valued $valued s is not the profile's total $total ns"
[ "$lost" -gt 0 ] || echo "note: the recorder kept up (no ring-full loss) on this run"
echo ok
