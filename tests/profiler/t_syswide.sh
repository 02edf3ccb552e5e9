#!/usr/bin/env bash
# ignis record -a: every process on every CPU.  Two long-running samples
# (cpu_shares: hot_a..hot_d in threads worker-a/b; cpu_recurse:
# recurse_leaf, inlined_hot) and a burst of 20 short-lived cpu_blip
# processes (50 ms of CPU in blip_hot each, started by a shell after the
# recording began, gone long before the recorder drains them) must all
# appear under their own process labels (report --tagfocus), symbolized
# and unwound to main; ignis's own process is not in the profile; the
# table of processes is pruned as they exit.  No timing: the recording is
# stopped (SIGINT) once the burst is over and the long samples have used
# a second of CPU each since it began (polled in /proc).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ] ||
  skip "system-wide sampling needs root or perf_event_paranoid <= 0"
[ -x "$S/cpu_blip" ] || fail "$S/cpu_blip not built"

cpu_ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# Copies under names no other test uses (the machine may run the suite in
# parallel): the process labels are then theirs alone.
tag=$(basename "$T" | tr -dc 'A-Za-z0-9' | tail -c 6)
for s in cpu_shares cpu_recurse cpu_blip; do cp "$S/$s" "$T/${s#cpu_}$tag"; done
SH=shares$tag RC=recurse$tag BL=blip$tag
"$T/$SH" 600 >/dev/null 2>&1 & shares=$!; PIDS+=("$shares")
"$T/$RC" 600 >/dev/null 2>&1 & recurse=$!; PIDS+=("$recurse")
start_record -a -d 600 -o "$T/all.pb.gz"
wait_recording
s0=$(cpu_ticks "$shares"); r0=$(cpu_ticks "$recurse")
for _ in $(seq 20); do
  CPU_SAMPLE_CLOCK=cpu "$T/$BL" 0.05 || fail "$BL failed"
done
for _ in $(seq 2400); do # bounded: at most 2 minutes of polling
  [ $(( $(cpu_ticks "$shares") - s0 )) -ge "$hz" ] &&
    [ $(( $(cpu_ticks "$recurse") - r0 )) -ge "$hz" ] && break
  sleep 0.05
done
kill -INT "$REC_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" = 0 ] || fail "record -a exited $REC_STATUS"

# Folded stacks of the samples whose label KEY matches V.
folded_of() { "$IGNIS" convert --tagfocus "$1" -o "$T/$2.folded" "$T/all.pb.gz" || fail "convert --tagfocus $1"; }
folded_of "process=^$SH\$" shares
folded_of "process=^$RC\$" recurse
folded_of "process=^$BL\$" blip
folded_of "pid=$shares" shares_pid
"$IGNIS" convert --tagfocus "pid=$shares" -o "$T/shares_pid.pb.gz" "$T/all.pb.gz" || fail "convert pid=$shares"
for fn in hot_a hot_b hot_c hot_d; do
  [ "$(folded_sum "$T/shares.folded" ";$fn\$")" -gt 0 ] || fail "$fn not under process $SH"
done
[ "$(folded_sum "$T/shares.folded" ';(hot_a|hot_b|hot_c|hot_d)$')" = "$(folded_sum "$T/shares_pid.folded" ';(hot_a|hot_b|hot_c|hot_d)$')" ] ||
  fail "pid=$shares and process=cpu_shares disagree"
[ "$(folded_sum "$T/shares.folded" 'recurse_leaf|blip_hot')" = 0 ] || fail "other processes' frames under $SH"
[ "$(folded_sum "$T/recurse.folded" ';main;run(;recurse)+;recurse_leaf$|;main;run;inline_caller;inlined_hot(_\[i\])?$')" -gt 0 ] ||
  fail "recurse_leaf / inlined_hot not unwound under process $RC"
blip=$(folded_sum "$T/blip.folded" '^_start;.*;main;blip_run;blip_hot$')
blip_all=$(folded_sum "$T/blip.folded" '.')
echo "cpu_blip: $blip of $blip_all samples in main;blip_run;blip_hot"
[ "$blip" -gt 0 ] || fail "short-lived cpu_blip processes not symbolized"
[ "$(folded_sum "$T/blip.folded" '\['"$BL"'\]')" = 0 ] || fail "cpu_blip frames left unnamed"
# threads are labelled too (worker-a / worker-b are cpu_shares's threads)
"$IGNIS" convert --tagfocus thread=worker-a -o "$T/wa.folded" "$T/shares_pid.pb.gz" || fail "convert thread=worker-a"
[ "$(folded_sum "$T/wa.folded" ';hot_a$')" -gt 0 ] || fail "thread label worker-a missing"
[ "$(folded_sum "$T/wa.folded" ';(hot_c|hot_d)$')" = 0 ] || fail "worker-b's functions under thread worker-a"
# the recorder itself is not recorded
"$IGNIS" convert --tagfocus "pid=$REC_PID" -o "$T/self.folded" "$T/all.pb.gz" 2>/dev/null
[ ! -s "$T/self.folded" ] || fail "ignis's own samples are in the profile"
# the 20 cpu_blip processes (at least) were pruned from the table at exit
table=$(sed -n 's/^  processes *\([0-9]*\) in the table at the end, \([0-9]*\) seen.*/\1/p' "$T/rec.err")
seen=$(sed -n 's/^  processes *\([0-9]*\) in the table at the end, \([0-9]*\) seen.*/\2/p' "$T/rec.err")
[ -n "$table" ] && [ $((seen - table)) -ge 20 ] || fail "process table not pruned: $table of $seen"

# -a -p narrows to the listed processes (and their children)
start_record -a -p "$shares" -d 600 -o "$T/p.folded"
wait_recording
s0=$(cpu_ticks "$shares")
for _ in $(seq 2400); do
  [ $(( $(cpu_ticks "$shares") - s0 )) -ge $((hz / 2)) ] && break
  sleep 0.05
done
kill -INT "$REC_PID"
wait_record
[ "$REC_STATUS" = 0 ] || { cat "$T/rec.err"; fail "record -a -p exited $REC_STATUS"; }
[ "$(folded_sum "$T/p.folded" ';hot_[abcd]$')" -gt 0 ] || fail "record -a -p: $SH not sampled"
[ "$(folded_sum "$T/p.folded" 'recurse_leaf|inlined_hot')" = 0 ] || fail "record -a -p: $RC sampled too"
echo ok
