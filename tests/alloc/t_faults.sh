#!/usr/bin/env bash
# The preload shim under the corner cases: calloc overflow, realloc to 0
# and from NULL, aligned allocators, cross-thread frees and fork
# (allocfaults checks libc's answers), a double free (the target must die
# exactly as it does without us: glibc's own abort), a dump on a signal
# while the program runs, and the periodic dump.  Every allocation is
# sampled so each path goes through the tables.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -f "$SHIM" ] || skip "libignis-alloc.so not built (sanitizer build?)"
[ -x "$FAULTS" ] || skip "allocfaults not built"

export IGNIS_ALLOC_SAMPLE_BYTES=1
out=$(cd "$TMP" && LD_PRELOAD="$IGNIS_ALLOC_LIB" "$FAULTS" 2>&1); rc=$?
echo "$out"
[ $rc -eq 0 ] && [ "$out" = ok ] || fail "allocfaults under the shim: exit $rc"
ls "$TMP"/ignis-heap.*.pb.gz >/dev/null 2>&1 || fail "no exit dump in the working directory"
rm -f "$TMP"/ignis-heap.*

# C++: exceptions still work with the shim's unwinder loaded, and every
# exception object (one malloc per throw) is recorded, although the C++
# runtime allocated before the shim's constructor ran
if [ -x "$B/samples/alloc/allocexc" ]; then
  (cd "$TMP" && LD_PRELOAD="$IGNIS_ALLOC_LIB" IGNIS_ALLOC_OUTPUT="$TMP/exc.pb.gz" "$B/samples/alloc/allocexc") \
    || fail "C++ exceptions broke under the shim"
  "$CHECK" -s "$TMP/exc.pb.gz" > "$TMP/exc.txt" || fail heapcheck
  cat "$TMP/exc.txt"
  [ "$(value "$TMP/exc.txt" __cxa_allocate_exception 2)" -eq 10000 ] || fail "exception allocations != 10000"
fi

# double free: same death with and without the shim
"$FAULTS" --double-free >/dev/null 2>"$TMP/plain.err"; plain=$?
LD_PRELOAD="$IGNIS_ALLOC_LIB" IGNIS_ALLOC_OUTPUT="$TMP/df.pb.gz" "$FAULTS" --double-free >/dev/null 2>"$TMP/shim.err"; shim=$?
echo "double free: exit $plain without the shim, $shim with it"
cat "$TMP/shim.err"
[ $plain -eq $shim ] || fail "double free ends differently under the shim ($shim vs $plain)"
grep -q "double free" "$TMP/shim.err" || fail "glibc's double-free report missing"

# dump on a signal while the program holds its leak, then at exit
mkfifo "$TMP/in"
trap 'kill $pid 2>/dev/null; rm -rf "$TMP"' EXIT
LD_PRELOAD="$IGNIS_ALLOC_LIB" IGNIS_ALLOC_SIGNAL=USR2 IGNIS_ALLOC_OUTPUT="$TMP/sig.%p.pb.gz" \
  "$SITES" -r 300 --wait --hold < "$TMP/in" > "$TMP/out" &
pid=$!
exec 3>"$TMP/in"
for _ in $(seq 500); do grep -q ready "$TMP/out" && break; sleep 0.01; done
echo go >&3
for _ in $(seq 500); do grep -q done "$TMP/out" && break; sleep 0.01; done
grep -q done "$TMP/out" || fail "allocsites did not finish"
kill -USR2 $pid
for _ in $(seq 1000); do [ -f "$TMP/sig.$pid.pb.gz" ] && break; sleep 0.01; done
[ -f "$TMP/sig.$pid.pb.gz" ] || fail "no dump after SIGUSR2"
"$CHECK" -s "$TMP/sig.$pid.pb.gz" > "$TMP/sig.txt"
cat "$TMP/sig.txt"
[ "$(value "$TMP/sig.txt" leak_site 5)" -eq $((300 * 48)) ] || fail "signal dump: leak_site in-use != 14400"
echo bye >&3; exec 3>&-
wait $pid || fail "allocsites exited non-zero under the shim"

# periodic dumps: IGNIS_ALLOC_INTERVAL=1 writes while the program waits
LD_PRELOAD="$IGNIS_ALLOC_LIB" IGNIS_ALLOC_INTERVAL=1 IGNIS_ALLOC_OUTPUT="$TMP/per.pb.gz" \
  "$SITES" -r 10 --wait < "$TMP/in" > /dev/null &
pid=$!
exec 3>"$TMP/in"
for _ in $(seq 1000); do [ -f "$TMP/per.pb.gz" ] && break; sleep 0.01; done
[ -f "$TMP/per.pb.gz" ] || fail "no periodic dump within 10 s"
echo go >&3; exec 3>&-
wait $pid || fail "allocsites failed"
echo "faults ok"
