# tests/alloc/lib.sh — shared helpers of the heap profiler's shell tests.
# Sourced; expects IGNIS_BUILD (set by tests/run.sh) or defaults to build.
B=${IGNIS_BUILD:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac  # absolute: tests change directory
IGNIS=${IGNIS:-$B/ignis}
case $IGNIS in /*) ;; *) IGNIS=$PWD/$IGNIS ;; esac
SHIM=$B/libignis-alloc.so
SITES=$B/samples/alloc/allocsites
FAULTS=$B/samples/alloc/allocfaults
CHECK=$B/tests/alloc/heapcheck
export IGNIS_ALLOC_LIB=$SHIM
TMP=$(mktemp -d /tmp/ignis-alloc-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }

[ -x "$SITES" ] && [ -x "$CHECK" ] || skip "alloc samples not built in $B"

RECORD=("$IGNIS" record)

# value FILE FUNC COLUMN: one value of heapcheck's table (0 when absent).
# Columns: 2 alloc_objects, 3 alloc_space, 4 inuse_objects, 5 inuse_space.
value() { awk -v f="$2" -v c="$3" '$1 == f { v = $c } END { print v + 0 }' "$1"; }

# within A B PCT: |A - B| <= PCT% of B
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b * p / 100) }'; }

# share_ok TABLE FUNC EXPECTED_PERCENT TOLERANCE_PP (of the four sites' alloc_space)
share_ok() {
  awk -v f="$2" -v e="$3" -v t="$4" '
    $1 ~ /^(site_a|site_b|site_c|site_c_grow)$/ { s[$1] = $3; tot += $3 }
    END { sh = 100 * s[f] / tot; d = sh - e; if (d < 0) d = -d;
          printf "%s: %.2f%% of the sites (expected %.2f%% +- %s pp)\n", f, sh, e, t; exit !(d <= t) }' "$1"
}

# Per round and thread, allocsites allocates: site_a 3 x 2000 B, site_b
# 30 x 100 B (calloc), site_c_grow 1 x 500 B, site_c 1 x 1000 B (realloc),
# leak_site 1 x 48 B (never freed).
SITE_BYTES=10500

# attach_run ROUNDS THREADS EVERY OUT: starts allocsites (its threads
# created, waiting on a fifo; under LD_PRELOAD=$TARGET_PRELOAD when set),
# attaches `record --alloc -p` with --every EVERY, lets it run, and leaves
# the summary in $TMP/rec.err.
attach_run() { # ROUNDS THREADS EVERY OUT
  rm -f "$TMP/in" "$TMP/out" "$TMP/rec.err"
  mkfifo "$TMP/in"
  env ${TARGET_PRELOAD:+LD_PRELOAD=$TARGET_PRELOAD} "$SITES" -r "$1" -t "$2" --wait < "$TMP/in" > "$TMP/out" &
  local sp=$!
  exec 3>"$TMP/in"
  for _ in $(seq 1000); do grep -q ready "$TMP/out" && break; sleep 0.01; done
  "${RECORD[@]}" --alloc -p $sp --every "$3" --stack-size 2048 -o "$4" 2> "$TMP/rec.err" &
  local rp=$!
  for _ in $(seq 3000); do grep -q "attached\|ignis record:" "$TMP/rec.err" && break; sleep 0.01; done
  grep -q attached "$TMP/rec.err" || { cat "$TMP/rec.err"; kill $sp; fail "attach failed"; }
  echo go >&3; exec 3>&-
  wait $sp || fail "allocsites failed"
  wait $rp || { cat "$TMP/rec.err"; fail "record --alloc -p failed"; }
  cat "$TMP/rec.err"
}


# exact_sites TABLE N WHAT: the heapcheck table of an allocsites run in which
# every allocation was recorded (N = rounds x threads) must show each site's
# exact counts and bytes, and in-use bytes only at the leak site.
exact_sites() {
  local t=$1 n=$2 w=$3
  [ "$(value "$t" site_a 2)" -eq $((3 * n)) ] || fail "$w: site_a alloc_objects != $((3 * n))"
  [ "$(value "$t" site_a 3)" -eq $((6000 * n)) ] || fail "$w: site_a alloc_space != $((6000 * n))"
  [ "$(value "$t" site_b 2)" -eq $((30 * n)) ] || fail "$w: site_b (calloc) alloc_objects != $((30 * n))"
  [ "$(value "$t" site_b 3)" -eq $((3000 * n)) ] || fail "$w: site_b alloc_space != $((3000 * n))"
  [ "$(value "$t" site_c 3)" -eq $((1000 * n)) ] || fail "$w: site_c (realloc) alloc_space != $((1000 * n))"
  [ "$(value "$t" site_c_grow 3)" -eq $((500 * n)) ] || fail "$w: site_c_grow alloc_space != $((500 * n))"
  [ "$(value "$t" leak_site 4)" -eq "$n" ] || fail "$w: leak_site inuse_objects != $n"
  [ "$(value "$t" leak_site 5)" -eq $((48 * n)) ] || fail "$w: leak_site inuse_space != $((48 * n))"
  local f
  for f in site_a site_b site_c site_c_grow; do
    [ "$(value "$t" $f 5)" -eq 0 ] || fail "$w: $f shows in-use bytes but frees everything"
  done
}
