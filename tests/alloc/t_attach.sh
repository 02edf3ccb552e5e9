#!/usr/bin/env bash
# The attach route (uprobes on the target's libc) on allocsites with three
# threads started before the attach: with --every 1 every call is seen, so
# counts and bytes per site must be EXACT (tolerance 0), in-use only at
# the leak site (exactly its bytes), and no records lost.  Then --every 4
# (counts scaled back, tolerance 0 for totals that are multiples of 4 per
# thread), and the clear messages for a missing pid and a static binary.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -r /sys/bus/event_source/devices/uprobe/type ] || skip "no uprobe PMU"

if ! out=$("${RECORD[@]}" --alloc -p 999999 -o "$TMP/x.pb.gz" 2>&1); then
  echo "$out"
  echo "$out" | grep -q "no such process" || fail "missing pid: unclear message"
else
  fail "missing pid accepted"
fi

R=200 T=3 n=$((200 * 3))
attach_run $R $T 1 "$TMP/a.pb.gz"
grep -q " 0 records lost" "$TMP/rec.err" || skip "records were lost (machine too loaded for an exact count)"
"$CHECK" "$TMP/a.pb.gz" > "$TMP/a.txt" || fail heapcheck
cat "$TMP/a.txt"
exact_sites "$TMP/a.txt" $n "attach"
grep -q "probe cost" "$TMP/rec.err" || fail "no probe cost in the summary"

attach_run 400 1 4 "$TMP/e.pb.gz"
grep -q " 0 records lost" "$TMP/rec.err" || skip "records were lost (machine too loaded)"
"$CHECK" "$TMP/e.pb.gz" > "$TMP/e.txt" || fail heapcheck
cat "$TMP/e.txt"
# 1200 site_a calls: the 300 recorded ones stand for 4 each
[ "$(value "$TMP/e.txt" site_a 2)" -eq 1200 ] || fail "--every 4: site_a alloc_objects != 1200"
[ "$(value "$TMP/e.txt" site_b 2)" -eq 12000 ] || fail "--every 4: site_b alloc_objects != 12000"

# -d ends the recording while the target lives on (and still writes)
rm -f "$TMP/in"; mkfifo "$TMP/in"
"$SITES" -r 10 --hold < "$TMP/in" > "$TMP/out" &
sp=$!
exec 3>"$TMP/in"
for _ in $(seq 1000); do grep -q done "$TMP/out" && break; sleep 0.01; done
"${RECORD[@]}" --alloc -p $sp -d 0.5 -o "$TMP/d.pb.gz" 2> "$TMP/rec.err" || { cat "$TMP/rec.err"; fail "-d attach failed"; }
kill -0 $sp || fail "the target did not survive the attach"
echo bye >&3; exec 3>&-; wait $sp
"$CHECK" "$TMP/d.pb.gz" > /dev/null || fail "-d attach: no readable profile"

if [ -x "$B/samples/alloc/allocsites-static" ]; then
  rm -f "$TMP/in"; mkfifo "$TMP/in"
  "$B/samples/alloc/allocsites-static" -r 1 --wait < "$TMP/in" > "$TMP/out" &
  sp=$!
  exec 3>"$TMP/in"
  for _ in $(seq 1000); do grep -q ready "$TMP/out" && break; sleep 0.01; done
  out=$("${RECORD[@]}" --alloc -p $sp -o "$TMP/s.pb.gz" 2>&1); rc=$?
  echo go >&3; exec 3>&-; wait $sp
  echo "$out"
  [ $rc -ne 0 ] && echo "$out" | grep -q "statically linked" || fail "static target: unclear message"
fi
echo "attach route ok"
