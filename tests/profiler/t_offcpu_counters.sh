#!/usr/bin/env bash
# The BPF engine's in-kernel counters: offcpu_pingpong (two threads passing
# a byte, ~10 us waits) recorded at the default --off-cpu-period writes far
# fewer events than switch-outs (each short wait is drawn with probability
# d/1ms), loses none, and the drawn waits' values add up to the exact
# in-kernel off-CPU total within 10%; with --off-cpu-period 0 no wait is
# left undrawn.
. "$(dirname "$0")/lib.sh"
PINGPONG=$B/samples/offcpu/offcpu_pingpong
[ -x "$PINGPONG" ] || fail "$PINGPONG not built"
"$IGNIS" record --off-cpu -o "$T/pp.pb.gz" -- "$PINGPONG" 1 >/dev/null 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record"; }
cat "$T/rec.err"
grep -q '^ignis record: off-CPU engine: BPF' "$T/rec.err" || { echo "not the BPF engine here: skipped"; exit 77; }
read -r seen events <<<"$(sed -n 's/^  BPF engine *\([0-9]*\) switch-outs seen,.*; \([0-9]*\) events$/\1 \2/p' "$T/rec.err")"
echo "switch-outs seen $seen, events $events"
[ "${seen:-0}" -gt 1000 ] || fail "too few switch-outs seen ($seen)"
[ "$((events * 10))" -lt "$seen" ] || fail "$events events for $seen switch-outs: not sampled"
[ "$(summary 'lost samples')" = 0 ] || fail "events lost"
grep -q ' 0 lost (ring full)' "$T/rec.err" || fail "events lost (ring full)"
read -r valued exact <<<"$(sed -n 's/^  drawn waits *valued \([0-9.]*\) s in all (the exact \([0-9.]*\) s.*/\1 \2/p' "$T/rec.err")"
awk -v v="$valued" -v e="$exact" 'BEGIN { exit !(e > 0 && v / e > 0.9 && v / e < 1.1) }' ||
  fail "drawn waits valued $valued s against the exact $exact s"

"$IGNIS" record --off-cpu --off-cpu-period 0 -o "$T/all.pb.gz" -- "$PINGPONG" 0.3 >/dev/null 2>"$T/rec.err" ||
  { cat "$T/rec.err"; fail "record --off-cpu-period 0"; }
grep -q '; 0 waits not drawn$' "$T/rec.err" || { cat "$T/rec.err"; fail "--off-cpu-period 0 left waits undrawn"; }
echo ok
