#!/usr/bin/env bash
# The preload shim's span labels from a process context whose key map
# holds a string with U+0000 (tests/alloc/ctxkeys.c): the entry
# "span_name\0x" at index 0 is not span_name, "span_name" at index 1 is,
# so every allocation sampled in the span carries span_name=right (the
# record's attribute 1), none span_name=wrong (attribute 0, what a reader
# cutting strings at the NUL would take).
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -f "$SHIM" ] || skip "libignis-alloc.so not built (sanitizer build?)"
K=$B/tests/alloc/ctxkeys
DUMP=$B/tests/profiler/profdump
[ -x "$K" ] || fail "$K not built"
[ -x "$DUMP" ] || fail "$DUMP not built"

"${RECORD[@]}" --alloc -q -o "$TMP/k.pb.gz" -- "$K" >"$TMP/out" 2>"$TMP/err" || {
  cat "$TMP/err"; fail "record --alloc -- ctxkeys"; }
# VALUE THREAD STATE WCHAN STACK span_name span_id
"$DUMP" "$TMP/k.pb.gz" alloc_objects span_name span_id >"$TMP/dump" || fail "profdump"
read -r right wrong other <<<"$(awk -F'\t' '$6 == "right" { r++ } $6 == "wrong" { w++ }
  $6 != "right" && $6 != "wrong" { o++ } END { print r + 0, w + 0, o + 0 }' "$TMP/dump")"
echo "span_name=right: $right rows, span_name=wrong: $wrong, other: $other"
[ "$right" -gt 0 ] || fail "no allocation labelled span_name=right"
[ "$wrong" -eq 0 ] || fail "$wrong rows labelled span_name=wrong: the key map entry \"span_name\\0x\" was taken for span_name"
awk -F'\t' '$6 == "right" && $7 != "2222222222222222" { exit 1 }' "$TMP/dump" || fail "span_id is not the record's"
echo ok
