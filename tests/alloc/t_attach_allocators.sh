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
  exact_sites "$TMP/$lib.txt" $n "$lib"
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || skip "neither jemalloc nor tcmalloc is installed"
echo "attach route on other allocators ok ($ran)"
