#!/usr/bin/env bash
# Continuous mode: `ignis agent -F 99 --every 0.5s -o DIR/` (record -a
# --every) writes one pprof file per interval into DIR, named by start
# time and sequence, each written whole (no temporary names left), and the
# last, partial interval at SIGTERM.  Each interval is a fresh profile:
# the samples of all files add up to the summary's count exactly (none
# counted twice, none lost between intervals), and a long-running sample
# appears under its process label (cache rebuilds between intervals:
# t_syswide_cgroup.sh).  Files are counted by polling the
# folder, never by sleeping.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ] ||
  skip "system-wide sampling needs root or perf_event_paranoid <= 0"
tag=$(basename "$T" | tr -dc 'A-Za-z0-9' | tail -c 6)
cp "$S/cpu_shares" "$T/agent$tag"
"$T/agent$tag" 600 >/dev/null 2>&1 & PIDS+=("$!")
"$IGNIS" agent -F 99 --every 0.5s -o "$T/prof/" -d 600 2>"$T/rec.err" &
REC_PID=$!
PIDS+=("$REC_PID")
for _ in $(seq 2400); do # bounded: at most 2 minutes
  [ "$(ls "$T/prof" 2>/dev/null | wc -l)" -ge 4 ] && break
  kill -0 "$REC_PID" 2>/dev/null || break
  sleep 0.05
done
kill -TERM "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" = 0 ] || fail "agent exited $REC_STATUS"
n=$(ls "$T/prof" | wc -l)
[ "$n" -ge 5 ] || fail "only $n interval files"
ls "$T/prof" | grep -Ev '^ignis-[0-9]{8}T[0-9]{6}Z-[0-9]{4}\.pb\.gz$' && fail "unexpected files in the folder"
last=$(printf '%04d' $((n - 1)))
ls "$T/prof" | grep -q -- "-$last\.pb\.gz$" || fail "sequence numbers not 0000..$last"
total=0 mine=0
for f in "$T"/prof/*.pb.gz; do
  "$IGNIS" convert --value samples -o "$T/i.folded" "$f" 2>/dev/null || fail "$f: not a profile"
  total=$((total + $(folded_sum "$T/i.folded" '.')))
  if "$IGNIS" convert --value samples --tagfocus "process=^agent$tag\$" -o "$T/m.folded" "$f" 2>/dev/null; then
    mine=$((mine + $(folded_sum "$T/m.folded" ';hot_[abcd]$')))
  fi
done
want=$(summary samples)
echo "intervals: $n, samples in files: $total, summary: $want, agent$tag: $mine"
[ "$total" = "$want" ] || fail "interval files hold $total samples, the recorder took $want"
[ "$mine" -gt 0 ] || fail "the long-running sample is in no interval"

# The caches are rebuilt when the heap grew past a budget, not only past
# 1024 files (a few programs with big debug information grow it as much):
# IGNIS_CACHE_BUDGET_MB=1 rebuilds them at nearly every interval, and the
# sample is still symbolized in the intervals after a rebuild.  (Not under
# ASan: its malloc does not report the heap in use, so no budget applies.)
if readelf -d "$IGNIS" 2>/dev/null | grep -q libasan; then
  echo "ASan build: the cache heap budget is not checked"
  echo ok
  exit 0
fi
rm -rf "$T/prof2"
IGNIS_CACHE_BUDGET_MB=1 "$IGNIS" agent -F 99 --every 0.5s -o "$T/prof2/" -d 600 2>"$T/rec.err" &
REC_PID=$!
PIDS+=("$REC_PID")
for _ in $(seq 2400); do # bounded: at most 2 minutes
  [ "$(ls "$T/prof2" 2>/dev/null | wc -l)" -ge 6 ] && break
  kill -0 "$REC_PID" 2>/dev/null || break
  sleep 0.05
done
kill -TERM "$REC_PID"
wait_record
[ "$REC_STATUS" = 0 ] || { cat "$T/rec.err"; fail "agent (cache budget) exited $REC_STATUS"; }
trims=$(sed -n 's/.*caches rebuilt \([0-9]*\) times.*/\1/p' "$T/rec.err")
echo "cache budget 1 MB: caches rebuilt ${trims:-?} times"
[ "${trims:-0}" -ge 1 ] || { cat "$T/rec.err"; fail "no cache rebuild past the heap budget"; }
last=$(ls "$T"/prof2/*.pb.gz | tail -2 | head -1)
"$IGNIS" convert --value samples --tagfocus "process=^agent$tag\$" -o "$T/m2.folded" "$last" 2>/dev/null ||
  fail "$last: no samples of agent$tag"
[ "$(folded_sum "$T/m2.folded" ';hot_[abcd]$')" -gt 0 ] || fail "$last: agent$tag not symbolized after rebuilds"
echo ok
