#!/usr/bin/env bash
# Bad input "10k processes": `ignis record -a --every 1s -o DIR/` on a
# machine with 10k sleeping processes (made before it starts, so all of
# them are in its start list) while 1000 short-lived ones exec and exit
# during the recording, beside a busy sample (cpu_shares under a name of
# this test).  The recorder must stay bounded: peak RSS under 200 MB
# (before: 370 MB, a libunwind address space made for every process at
# attach), at most 128 descriptors; the process table pruned as they exit
# (at the end it holds the sleepers, not the churn: pruned at their EXIT
# record, or when that was lost, swept once gone from /proc); the summary says what
# was lost (its "lost samples" line) and every sample is in the interval
# files; the busy sample's hot functions are in them under its process
# label.  Bounded polls, no timing assertions; $IGNIS_MANYPROCS sets the
# number of sleepers (default 10000).  Processes are cleaned up by closing
# manyprocs' standard input (its children die with it: PR_SET_PDEATHSIG).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ] ||
  skip "system-wide sampling needs root or perf_event_paranoid <= 0"
M=$B/tests/profiler/manyprocs
[ -x "$M" ] || fail "$M not built"
N=${IGNIS_MANYPROCS:-10000}
CHURN=1000
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -gt $((N + CHURN + 500)) ] || skip "ulimit -u is below $N processes"
[ "$(cat /proc/sys/kernel/pid_max)" -gt $((N * 2)) ] || skip "pid_max is below twice $N"
asan=
readelf -d "$IGNIS" 2>/dev/null | grep -q libasan && asan=1 # ASan's quarantine holds freed memory

tag=$(basename "$T" | tr -dc 'A-Za-z0-9' | tail -c 6)
cp "$S/cpu_shares" "$T/busy$tag"
"$T/busy$tag" 600 >/dev/null 2>&1 & PIDS+=("$!"); busy=$!

# the sleepers: manyprocs reads the FIFO until we close fd 9
mkfifo "$T/hold"
"$M" sleep "$N" <"$T/hold" >"$T/sleepers.out" 2>&1 & PIDS+=("$!"); sleepers=$!
exec 9>"$T/hold"
for _ in $(seq 6000); do # bounded: 10 minutes on a slow machine
  grep -q '^ready' "$T/sleepers.out" && break
  kill -0 "$sleepers" 2>/dev/null || break
  sleep 0.1
done
[ "$(cat "$T/sleepers.out")" = "ready $N" ] || fail "manyprocs sleep $N: $(cat "$T/sleepers.out")"
echo "$N sleeping processes"

start_record -a -F 99 --every 1s -o "$T/prof/" -d 1200
for _ in $(seq 2400); do # attaching reads 10k processes' maps: bounded at 4 minutes
  grep -q 'ignis record: recording' "$T/rec.err" 2>/dev/null && break
  kill -0 "$REC_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q 'ignis record: recording' "$T/rec.err" || { cat "$T/rec.err"; fail "the recorder did not start"; }

# its footprint, polled while the churn runs: peak RSS (VmHWM) and descriptors
maxfd=0
watch_recorder() {
  local n
  n=$(ls "/proc/$REC_PID/fd" 2>/dev/null | wc -l)
  [ "$n" -gt "$maxfd" ] && maxfd=$n
}
"$M" churn "$CHURN" 32 >"$T/churn.out" 2>&1 & PIDS+=("$!"); churn=$!
for _ in $(seq 12000); do # bounded: 20 minutes
  watch_recorder
  kill -0 "$churn" 2>/dev/null || break
  sleep 0.1
done
wait "$churn"
[ "$(cat "$T/churn.out")" = "done $CHURN" ] || fail "manyprocs churn: $(cat "$T/churn.out")"
# two more profiles handed over after the churn ended (polled): a
# hand-over sweeps the table of processes gone whose EXIT record was lost
files=$(ls "$T/prof" | wc -l)
for _ in $(seq 2400); do
  [ "$(ls "$T/prof" | wc -l)" -ge $((files + 2)) ] && break
  kill -0 "$REC_PID" 2>/dev/null || break
  sleep 0.1
done
# a second of the busy sample's CPU after the churn (polled)
cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
b0=$(cpu_ticks "$busy")
for _ in $(seq 1200); do
  [ $(( $(cpu_ticks "$busy") - b0 )) -ge "$(getconf CLK_TCK)" ] && break
  sleep 0.05
done
watch_recorder
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$REC_PID/status")
alive=$(ls -d /proc/[0-9]* | wc -l)
kill -INT "$REC_PID"
wait_record
exec 9>&-
cat "$T/rec.err" | grep -v 'ignis record: wrote'
[ "$REC_STATUS" = 0 ] || fail "record -a exited $REC_STATUS"
echo "recorder: peak RSS $((hwm_kb / 1024)) MB, at most $maxfd descriptors"

# bounded
if [ -n "$asan" ]; then
  echo "ASan build: the RSS bound is not checked (its quarantine keeps freed memory)"
else
  [ "$hwm_kb" -le $((200 * 1024)) ] || fail "peak RSS $((hwm_kb / 1024)) MB with $N processes (bound: 200 MB)"
fi
[ "$maxfd" -le 128 ] || fail "$maxfd descriptors open with $N processes (bound: 128)"
# the table: every sleeper seen, the short-lived ones pruned at their exit
line=$(grep '^  processes ' "$T/rec.err")
in_table=$(sed -n 's/^  processes *\([0-9]*\) in the table.*/\1/p' <<<"$line")
seen=$(sed -n 's/.*, \([0-9]*\) seen.*/\1/p' <<<"$line")
[ -n "$in_table" ] && [ -n "$seen" ] || fail "no processes line in the summary"
# (a short-lived process whose records were all lost in a full ring, and
# never sampled, is not seen: only the sleepers, in the start list, must be)
[ "$seen" -ge "$N" ] || fail "$seen processes seen, want at least the $N sleepers"
[ "$in_table" -ge "$N" ] && [ "$in_table" -le $((alive + 200)) ] ||
  fail "$in_table processes in the table at the end, $alive alive: the $CHURN short-lived ones are not pruned"
# says what it dropped
grep -q '^  lost samples  *[0-9]' "$T/rec.err" || fail "no 'lost samples' line"
# every sample in the interval files; the busy sample under its label
total=0 mine=0
for f in "$T"/prof/*.pb.gz; do
  "$IGNIS" convert --value samples -o "$T/i.folded" "$f" 2>/dev/null || fail "$f: not a profile"
  total=$((total + $(folded_sum "$T/i.folded" '.')))
  if "$IGNIS" convert --value samples --tagfocus "process=^busy$tag\$" -o "$T/m.folded" "$f" 2>/dev/null; then
    mine=$((mine + $(folded_sum "$T/m.folded" ';hot_[abcd]$')))
  fi
done
want=$(summary samples)
echo "interval files: $(ls "$T/prof" | wc -l), samples in them: $total, summary: $want, busy$tag: $mine"
[ "$total" = "$want" ] || fail "interval files hold $total samples, the recorder took $want"
[ "$mine" -gt 0 ] || fail "the busy sample's hot functions are in no interval"
echo ok
