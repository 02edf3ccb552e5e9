#!/usr/bin/env bash
# A binary deleted (and its path reused by another file) after the target
# started: the mapping shows "(deleted)", /proc/PID/root/PATH is the wrong
# file, so ignis must take the mapped inode from /proc/PID/map_files and
# still unwind and name every frame.
. "$(dirname "$0")/lib.sh"
cp "$S/cpu_recurse" "$T/victim"
"$T/victim" 60 >/dev/null & pid=$!; PIDS+=("$pid")
for _ in $(seq 200); do grep -q victim /proc/$pid/maps 2>/dev/null && break; sleep 0.05; done
rm "$T/victim"
cp "$S/cpu_shares" "$T/victim"   # same path, different program
grep -q 'victim (deleted)' /proc/$pid/maps || fail "mapping not shown as deleted"
"$IGNIS" record -p "$pid" -F 499 -d 2 -o "$T/out.folded" 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record failed"; }
cat "$T/rec.err"
n=$(folded_sum "$T/out.folded" "^_start;.*;main;run$(printf ';recurse%.0s' $(seq 20));recurse_leaf(;|\$)")
echo "full recurse_leaf stacks: $n"
[ "$n" -gt 0 ] || fail "deleted binary not unwound/symbolized"
grep -q 'hot_a\|\[victim' "$T/out.folded" && fail "frames from the wrong file or unnamed"
in_range "$(partial_pct)" 0 1 "not fully unwound (%)"
echo ok
