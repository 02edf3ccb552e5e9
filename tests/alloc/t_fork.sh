#!/usr/bin/env bash
# Exact allocation counts across fork, exec and signal handlers, with every
# allocation recorded (--sample-bytes 1).  allocfork: 1000 allocations of
# 64 bytes at parent_site before forking 4 children, each making 100 of 32
# bytes at child_site; a child starts with empty counts (the parent's 1000
# are counted once, not once per process) whether it ends with exit(),
# _exit(), SIGKILL or an exec (whose new image allocates 100 more at
# leaf_site).  allocsig: a handler that allocates, run exactly M times
# while the main thread is inside the sampler: every one of its
# allocations is counted.  The standalone shim (LD_PRELOAD, a dump per
# process at exit) also gives each child only its own allocations.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -f "$SHIM" ] || skip "libignis-alloc.so not built (sanitizer build?)"
FORK=$B/samples/alloc/allocfork
SIG=$B/samples/alloc/allocsig
[ -x "$FORK" ] && [ -x "$SIG" ] || skip "allocfork/allocsig not built"

for end in exit _exit kill exec; do
  timeout 120 "${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/f.pb.gz" -- "$FORK" -n 1000 -c 4 -k 100 --end $end \
    > "$TMP/out" 2> "$TMP/err" || { cat "$TMP/err"; fail "--end $end: record failed"; }
  cat "$TMP/err"
  grep -q done "$TMP/out" || fail "--end $end: allocfork did not finish"
  "$CHECK" "$TMP/f.pb.gz" > "$TMP/f.txt" || fail heapcheck
  grep site "$TMP/f.txt"
  w="--end $end"
  [ "$(value "$TMP/f.txt" parent_site 2)" -eq 1000 ] || fail "$w: parent_site alloc_objects != 1000"
  [ "$(value "$TMP/f.txt" parent_site 3)" -eq 64000 ] || fail "$w: parent_site alloc_space != 64000"
  [ "$(value "$TMP/f.txt" parent_site 4)" -eq 1000 ] || fail "$w: parent_site inuse_objects != 1000"
  [ "$(value "$TMP/f.txt" child_site 2)" -eq 400 ] || fail "$w: child_site alloc_objects != 400"
  [ "$(value "$TMP/f.txt" child_site 3)" -eq 12800 ] || fail "$w: child_site alloc_space != 12800"
  [ "$(value "$TMP/f.txt" child_site 4)" -eq 4 ] || fail "$w: child_site inuse_objects != 4"
  if [ $end = exec ]; then
    [ "$(value "$TMP/f.txt" leaf_site 2)" -eq 400 ] || fail "$w: leaf_site alloc_objects != 400"
    [ "$(value "$TMP/f.txt" leaf_site 5)" -eq 128 ] || fail "$w: leaf_site inuse_space != 128"
  fi
done

timeout 300 "${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/s.pb.gz" -- "$SIG" -m 1000 -h 4 \
  > "$TMP/out" 2> "$TMP/err" || { cat "$TMP/err"; fail "allocsig: record failed or hung"; }
cat "$TMP/out"
"$CHECK" "$TMP/s.pb.gz" > "$TMP/s.txt" || fail heapcheck
grep site "$TMP/s.txt"
want=$(awk '$1 == "main_site" { print $2 }' "$TMP/out")
[ "$(value "$TMP/s.txt" main_site 2)" -eq "$want" ] || fail "allocsig: main_site alloc_objects != $want"
# the handler's allocations: at handler_site, or (made while the thread
# was inside the unwinder, where no stack can be taken) under the
# synthetic frame; every one counted, none left in use
hs() { value "$TMP/s.txt" handler_site "$1"; }
ss() { awk -v c="$1" '/^\[in a signal handler/ { v = $(NF - 4 + c - 1) } END { print v + 0 }' "$TMP/s.txt"; }
[ $(( $(hs 2) + $(ss 2) )) -eq 4000 ] || fail "allocsig: handler allocations $(hs 2) + $(ss 2) != 4000"
[ $(( $(hs 3) + $(ss 3) )) -eq $((4000 * 200)) ] || fail "allocsig: handler bytes != 800000"
[ $(( $(hs 4) + $(ss 4) )) -eq 0 ] || fail "allocsig: freed handler allocations shown in use"

# the standalone shim: one dump per process, each with its own allocations
mkdir "$TMP/dumps"
timeout 120 env LD_PRELOAD="$SHIM" IGNIS_ALLOC_SAMPLE_BYTES=1 IGNIS_ALLOC_OUTPUT="$TMP/dumps/heap.%p.pb.gz" \
  "$FORK" -n 1000 -c 4 -k 100 --end exit > /dev/null || fail "standalone allocfork failed"
n=0 parents=0
for f in "$TMP/dumps"/heap.*.pb.gz; do
  "$CHECK" -s "$f" > "$TMP/d.txt" || fail "heapcheck $f"
  p=$(value "$TMP/d.txt" parent_site 2) c=$(value "$TMP/d.txt" child_site 2)
  echo "$(basename "$f"): parent_site $p child_site $c"
  if [ "$p" -gt 0 ]; then
    [ "$p" -eq 1000 ] && [ "$c" -eq 0 ] || fail "standalone: the parent's dump has $p parent_site, $c child_site"
    parents=$((parents + 1))
  else
    [ "$c" -eq 100 ] || fail "standalone: a child's dump has $c child_site allocations, not 100"
  fi
  n=$((n + 1))
done
[ $n -eq 5 ] && [ $parents -eq 1 ] || fail "standalone: $n dumps ($parents of the parent), expected 5 (1)"
echo "fork ok"
