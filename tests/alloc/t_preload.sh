#!/usr/bin/env bash
# The preload route (libignis-alloc.so) on allocsites: exact values when
# every allocation is sampled (--sample-bytes 1), shares within +-5 pp and
# the total within 5% under byte sampling (64 KiB mean interval, about
# 6500 samples over 422 MB: one standard deviation is about 0.6 pp), in-use
# only at the leak site, and no lost or corrupted records with 4 threads.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -f "$SHIM" ] || skip "libignis-alloc.so not built (sanitizer build?)"

# 1. every allocation, 4 threads: counts exact
R=500 T=4
"${RECORD[@]}" --alloc --sample-bytes 1 -q -o "$TMP/all.pb.gz" -- "$SITES" -r $R -t $T >/dev/null \
  || fail "record --alloc -- allocsites failed"
"$CHECK" "$TMP/all.pb.gz" > "$TMP/all.txt" || fail "heapcheck"
cat "$TMP/all.txt"
n=$((R * T))
exact_sites "$TMP/all.txt" $n "preload"
grep -q '^PERIOD space bytes 1$' "$TMP/all.txt" || fail "period type is not space/bytes 1"

# 2. byte sampling, 2 threads: shares and unbiased total
R=20000 T=2
"${RECORD[@]}" --alloc --sample-bytes 65536 -q -o "$TMP/s.pb.gz" -- "$SITES" -r $R -t $T >/dev/null \
  || fail "sampled record failed"
"$CHECK" "$TMP/s.pb.gz" > "$TMP/s.txt" || fail "heapcheck"
cat "$TMP/s.txt"
grep -q '^PERIOD space bytes 65536$' "$TMP/s.txt" || fail "period is not the sampling interval"
share_ok "$TMP/s.txt" site_a 57.14 5 || fail "site_a share"
share_ok "$TMP/s.txt" site_b 28.57 5 || fail "site_b share"
share_ok "$TMP/s.txt" site_c 9.52 5 || fail "site_c share"
share_ok "$TMP/s.txt" site_c_grow 4.76 5 || fail "site_c_grow share"
sites=$(awk '$1 ~ /^(site_a|site_b|site_c|site_c_grow)$/ { t += $3 } END { print t }' "$TMP/s.txt")
true_bytes=$((SITE_BYTES * R * T))
echo "estimated $sites bytes at the sites, true $true_bytes"
within "$sites" "$true_bytes" 5 || fail "unbiased total off by more than 5%"
for f in site_a site_b site_c site_c_grow; do
  [ "$(value "$TMP/s.txt" $f 5)" -eq 0 ] || fail "$f has in-use bytes under sampling"
done
echo "preload route ok"
