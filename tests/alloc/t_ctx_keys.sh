#!/usr/bin/env bash
# The preload shim's span labels from a process context whose key map
# holds a string with U+0000 (tests/alloc/ctxkeys.c): the entry
# "span_name\0x" at index 0 is not span_name, "span_name" at index 1 is,
# so every allocation sampled in the span carries span_name=rig\u0000ht
# (the record's attribute 1, "rig\0ht": whole, its NUL shown as the text
# \u0000 as everywhere in the profile model, not cut to "rig"), none
# span_name=wrong (attribute 0, what a reader cutting strings at the NUL
# would take).  The same for CPU samples (`ignis record -- ctxkeys -c`:
# profiler/spanctx.c's reader, the BPF program, record.c's labels); that
# part says SKIP (and passes) where BPF cannot be loaded, the --alloc part
# where the build has no libignis-alloc.so (sanitizers).
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
K=$B/tests/alloc/ctxkeys
DUMP=$B/tests/profiler/profdump
[ -x "$K" ] || fail "$K not built"
[ -x "$DUMP" ] || fail "$DUMP not built"

if [ -f "$SHIM" ]; then
  "${RECORD[@]}" --alloc -q -o "$TMP/k.pb.gz" -- "$K" >"$TMP/out" 2>"$TMP/err" || {
    cat "$TMP/err"; fail "record --alloc -- ctxkeys"; }
  # VALUE THREAD STATE WCHAN STACK span_name span_id
  "$DUMP" "$TMP/k.pb.gz" alloc_objects span_name span_id >"$TMP/dump" || fail "profdump"
  read -r right wrong other <<<"$(awk -F'\t' -v want='rig\\u0000ht' '$6 == want { r++ } $6 == "wrong" { w++ }
    $6 != want && $6 != "wrong" { o++ } END { print r + 0, w + 0, o + 0 }' "$TMP/dump")"
  echo "span_name=rig\\u0000ht: $right rows, span_name=wrong: $wrong, other: $other"
  [ "$right" -gt 0 ] || fail "no allocation labelled span_name=rig\\u0000ht (rows: $(cut -f6 "$TMP/dump" | sort -u | tr '\n' ' '))"
  [ "$wrong" -eq 0 ] || fail "$wrong rows labelled span_name=wrong: the key map entry \"span_name\\0x\" was taken for span_name"
  awk -F'\t' '$6 != "wrong" && $7 != "2222222222222222" { exit 1 }' "$TMP/dump" || fail "span_id is not the record's"
  echo "ok   --alloc (preload shim): span_name=rig\\u0000ht, read through the key map's whole strings"
else
  echo "skip --alloc: libignis-alloc.so not built (sanitizer build)"
fi

# The same on CPU samples (ignis record -- ctxkeys -c: the recorder's
# reader, profiler/spanctx.c, and its BPF program): burn() runs in the span.
# ctxkeys starts computing when the recorder has said it follows it.
rm -f "$TMP/in" "$TMP/err"
mkfifo "$TMP/in" "$TMP/err"
exec 3<>"$TMP/in"
"$IGNIS" record -F 499 -o "$TMP/c.pb.gz" -- "$K" -c <"$TMP/in" >"$TMP/c.out" 2>"$TMP/err" &
rec=$!
exec 4<"$TMP/err"
: >"$TMP/rec.err"
while IFS= read -r -t 120 line <&4; do
  echo "$line" >>"$TMP/rec.err"
  case $line in *"span labels for process"* | *"no span labels"*) break ;; esac
done
cat <&4 >>"$TMP/rec.err" &
cat_pid=$!
printf g >&3
exec 3>&-
wait "$rec"
rc=$?
wait "$cat_pid"
exec 4<&-
cat "$TMP/rec.err"
[ "$rc" -eq 0 ] || fail "record -- ctxkeys -c exited $rc"
if ! grep -q "span labels for process" "$TMP/rec.err"; then
  grep -q "need BPF\|no span labels" "$TMP/rec.err" && { echo "SKIP: CPU span labels: BPF not available here"; exit 0; }
  fail "the recorder did not follow ctxkeys's span context"
fi
"$DUMP" "$TMP/c.pb.gz" samples span_name span_id >"$TMP/cdump" || fail "profdump"
read -r right wrong n <<<"$(awk -F'\t' -v want='rig\\u0000ht' '$5 ~ /(^|;)burn(;|$)/ { n += $1
  if ($6 == want) r += $1; else if ($6 != "-") w += $1 } END { print r + 0, w + 0, n + 0 }' "$TMP/cdump")"
echo "burn: $n samples, $right labelled span_name=rig\\u0000ht, $wrong otherwise"
[ "$n" -ge 20 ] || fail "burn: too few samples ($n) to judge"
[ "$wrong" -eq 0 ] || fail "burn: $wrong samples labelled otherwise ($(cut -f6 "$TMP/cdump" | sort -u | tr '\n' ' '))"
[ "$right" -ge $((n * 9 / 10)) ] || fail "burn: only $right of $n samples labelled span_name=rig\\u0000ht"
echo "ok   CPU samples: span_name=rig\\u0000ht"
