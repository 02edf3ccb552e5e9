#!/usr/bin/env bash
# The persistent symbol cache end to end (profiler/sym/cache.c), always in
# a temporary IGNIS_CACHE_DIR:
#   - a cold record fills the cache (kallsyms per boot when kernel symbols
#     are readable; decompressed debug files when a compressed separate
#     debug file was used, e.g. libc6-dbg) and a warm record of the same
#     program gives the same frames: the 20-deep recursion under libc's
#     __libc_start_call_main, the inline frame, the set of user stacks;
#   - per build-id entries: CU tables and frames of the sample and libc;
#   - truncated entries are ignored with one warning each and rewritten;
#   - --no-cache writes nothing;
#   - an unwritable cache directory still records (one warning at most).
. "$(dirname "$0")/lib.sh"
export IGNIS_CACHE_DIR=$T/cache

record_recurse() { # OUT [options...]
  local out=$1; shift
  "$IGNIS" record -F 999 "$@" -o "$out" -- "$S/cpu_recurse" 2 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record $* failed"; }
}

check_frames() { # FOLDED LABEL
  local r20 deep inl
  r20="^_start;__libc_start_main[a-z_]*;__libc_start_call_main;main;run$(printf ';recurse%.0s' $(seq 20));recurse_leaf(;|$)"
  deep=$(folded_sum "$1" "$r20")
  inl=$(folded_sum "$1" ';main;run;inline_caller;inlined_hot(_\[i\])?(;|$)')
  echo "$2: $deep samples under the 20-deep chain, $inl in the inline frame"
  [ "$deep" -gt 0 ] || fail "$2: no samples under _start..__libc_start_call_main;main;run;recurse x20;recurse_leaf"
  [ "$inl" -gt 0 ] || fail "$2: no inline frame inlined_hot under inline_caller"
}

# ---- cold, then warm -------------------------------------------------------
record_recurse "$T/cold.folded"
cat "$T/rec.err"
grep -q 'ignis: cache:' "$T/rec.err" && fail "warnings on a cold record"
[ -d "$IGNIS_CACHE_DIR" ] || fail "cold record did not create the cache directory"
find "$IGNIS_CACHE_DIR" -type f | sed "s|$IGNIS_CACHE_DIR/||" | sort
[ "$(stat -c %a "$IGNIS_CACHE_DIR")" = 700 ] || fail "cache directory is not private (0700)"
entries=$(find "$IGNIS_CACHE_DIR" -type f | wc -l)
[ "$entries" -gt 0 ] || fail "cold record cached nothing"
ls "$IGNIS_CACHE_DIR"/debug/*/*.cuidx >/dev/null 2>&1 || fail "no CU table cached for the sample's build-id"
# entries that never change for a key (.frames grow with new addresses)
fixed_entries() { find "$IGNIS_CACHE_DIR" -type f ! -name '*.frames' -printf '%i %p\n' | sort; }
fixed_entries >"$T/inodes.cold"

record_recurse "$T/warm.folded"
cat "$T/rec.err"
grep -q 'ignis: cache:' "$T/rec.err" && fail "warnings on a warm record"
fixed_entries >"$T/inodes.warm"
ls "$IGNIS_CACHE_DIR"/debug/*/*.frames >/dev/null 2>&1 || fail "no frames entries cached"
# every entry of the cold record is still the same file (an entry the cold
# record had no use for, e.g. kallsyms when none of its samples was in the
# kernel, may be added)
rewritten=$(awk 'NR == FNR { warm[$2] = $1; next } !($2 in warm) || warm[$2] != $1' "$T/inodes.warm" "$T/inodes.cold")
[ -z "$rewritten" ] || fail "a warm record rewrote cache entries: $rewritten"
check_frames "$T/cold.folded" cold
check_frames "$T/warm.folded" warm
# the same functions name the same code: every user stack sampled >= 20
# times in one run was seen in the other (kernel frames dropped: they vary).
# Folded values are sample counts.
stacks() { # FOLDED MIN_NS
  awk -v min="$2" '{ n = $NF; l = $0; sub(/ [0-9]+$/, "", l); gsub(/;[^;]*_\[k\]/, "", l); c[l] += n }
                   END { for (l in c) if (c[l] >= min) print l }' "$1" | sort
}
for run in cold warm; do
  stacks "$T/$run.folded" 20 >"$T/$run.hot"
  stacks "$T/$run.folded" 1 >"$T/$run.all"
done
echo "hot user stacks: cold $(wc -l <"$T/cold.hot"), warm $(wc -l <"$T/warm.hot")"
[ -s "$T/cold.hot" ] || fail "no hot stacks"
comm -23 "$T/cold.hot" "$T/warm.all" | grep . && fail "hot stacks of the cold run missing from the warm run"
comm -23 "$T/warm.hot" "$T/cold.all" | grep . && fail "hot stacks of the warm run missing from the cold run"

# ---- corrupt entries ---------------------------------------------------------
# Only entries every record of cpu_recurse reads: those of its own build-id
# and of the libc it runs on (__libc_start_call_main is in every stack);
# ld.so or kernel frames depend on timing (tests/profiler/test_symcache
# covers the kallsyms entry).
build_id() { readelf -n "$1" 2>/dev/null | awk '/Build ID/ { print $3 }'; }
libc=$(ldd "$S/cpu_recurse" | awk '/libc.so/ { print $3 }')
n=0
for bid in $(build_id "$S/cpu_recurse") $(build_id "$libc"); do
  for f in "$IGNIS_CACHE_DIR/debug/${bid:0:2}/${bid:2}".*; do
    [ -f "$f" ] || continue
    size=$(stat -c %s "$f")
    case $f in *.frames) ;; *) echo "$size $f" >>"$T/sizes" ;; esac # .frames: this run's addresses
    truncate -s $((size / 2)) "$f"; n=$((n + 1))
  done
done
[ "$n" -gt 0 ] || fail "no cache entries for cpu_recurse's build-id"
record_recurse "$T/fixed.folded"
cat "$T/rec.err"
warned=$(grep -c 'ignis: cache: .*ignored and rebuilt' "$T/rec.err")
echo "$n entries truncated, $warned warnings"
[ "$warned" -eq "$n" ] || fail "expected one warning per truncated entry ($n), got $warned"
check_frames "$T/fixed.folded" "after corruption"
while read -r size f; do
  [ "$(stat -c %s "$f")" -eq "$size" ] || fail "$f not rebuilt to its full size ($size)"
done <"$T/sizes"
record_recurse "$T/again.folded"
grep -q 'ignis: cache:' "$T/rec.err" && { cat "$T/rec.err"; fail "warnings after the entries were rebuilt"; }

# ---- --no-cache ----------------------------------------------------------------
export IGNIS_CACHE_DIR=$T/nocache
record_recurse "$T/nocache.folded" --no-cache
[ -e "$IGNIS_CACHE_DIR" ] && fail "--no-cache created $IGNIS_CACHE_DIR"
check_frames "$T/nocache.folded" "--no-cache"
"$IGNIS" record --help | grep -q -- '--no-cache' || fail "--help does not list --no-cache"

# ---- unwritable cache directory ------------------------------------------------
echo x >"$T/plainfile"
export IGNIS_CACHE_DIR=$T/plainfile/cache
record_recurse "$T/unwritable.folded"
cat "$T/rec.err"
[ "$(grep -c 'ignis: cache:' "$T/rec.err")" -le 1 ] || fail "more than one warning for an unwritable cache"
check_frames "$T/unwritable.folded" "unwritable cache"
echo ok
