#!/usr/bin/env bash
# The attach route on a target whose allocator is jemalloc or tcmalloc
# (preloaded, as services deploy them): the uprobes go on that library's
# malloc family instead of glibc's, and with --every 1 the counts and bytes
# per site must be exact, with in-use only at the leak site.  Each
# allocator is skipped when its Debian package is missing.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -r /sys/bus/event_source/devices/uprobe/type ] || skip "no uprobe PMU"

LIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
ran=0
for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
  [ -e "$LIBDIR/$lib" ] || { echo "$lib: not installed, skipped"; continue; }
  R=100 T=2 n=$((100 * 2))
  TARGET_PRELOAD=$LIBDIR/$lib attach_run $R $T 1 "$TMP/$lib.pb.gz"
  grep -q "allocator.*${lib%%.so*}\|${lib%%.so*}" "$TMP/rec.err" || fail "$lib: the summary does not name the allocator"
  grep -q " 0 records lost" "$TMP/rec.err" || { echo "$lib: records lost (machine too loaded), skipped"; continue; }
  "$CHECK" "$TMP/$lib.pb.gz" > "$TMP/$lib.txt" || fail "$lib: heapcheck"
  cat "$TMP/$lib.txt"
  [ "$(value "$TMP/$lib.txt" site_a 2)" -eq $((3 * n)) ] || fail "$lib: site_a alloc_objects != $((3 * n))"
  [ "$(value "$TMP/$lib.txt" site_a 3)" -eq $((6000 * n)) ] || fail "$lib: site_a alloc_space"
  [ "$(value "$TMP/$lib.txt" site_b 2)" -eq $((30 * n)) ] || fail "$lib: site_b (calloc) alloc_objects"
  [ "$(value "$TMP/$lib.txt" site_c 3)" -eq $((1000 * n)) ] || fail "$lib: site_c (realloc) alloc_space"
  [ "$(value "$TMP/$lib.txt" leak_site 4)" -eq $n ] || fail "$lib: leak_site inuse_objects != $n"
  [ "$(value "$TMP/$lib.txt" leak_site 5)" -eq $((48 * n)) ] || fail "$lib: leak_site inuse_space"
  for f in site_a site_b site_c site_c_grow; do
    [ "$(value "$TMP/$lib.txt" $f 5)" -eq 0 ] || fail "$lib: $f shows in-use bytes"
  done
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || skip "neither jemalloc nor tcmalloc is installed"
echo "attach route on other allocators ok ($ran)"
