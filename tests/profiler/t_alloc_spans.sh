#!/usr/bin/env bash
# Span labels on allocation samples (ignis record --alloc, the preload
# shim), against ground truth (samples/spans/spanwork.c -m): per round,
# span "alloc-a" is current while alloc_a() allocates 4 MiB, no span while
# alloc_none() allocates the same; spanwork logs every span it made.  So:
#   - every sampled allocation in alloc_a carries span_name alloc-a and a
#     span_id (and trace_id) spanwork logged as alloc-a: all of them, since
#     the shim reads its own thread's record (nothing to lose);
#   - none in alloc_none carries a span;
#   - a program without libignis (samples/alloc/allocsites) gets no span
#     labels, and is profiled as before.
. "$(dirname "$0")/lib.sh"
W=$B/samples/spans/spanwork
DUMP=$B/tests/profiler/profdump
[ -x "$W" ] || fail "$W not built"
[ -x "$DUMP" ] || fail "$DUMP not built"
[ -e "$B/libignis-alloc.so" ] || skip "no libignis-alloc.so in this build (sanitizers)"

printf g | "$IGNIS" record --alloc -o "$T/a.pb.gz" -- "$W" -m -l "$T/log" -r 30 -t 2 >"$T/out" 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -eq 0 ] || fail "record --alloc exited $rc"
[ -s "$T/log" ] || fail "spanwork wrote no span log"
# VALUE THREAD STATE WCHAN STACK span_name span_id trace_id
"$DUMP" "$T/a.pb.gz" alloc_objects span_name span_id trace_id >"$T/dump" || fail "profdump"

# rows and allocations in function f: all, labelled s with a span spanwork
# logged as s, labelled otherwise, labelled with a span not logged as s
check() {
  awk -F'\t' -v f="$1" -v s="$2" '
    NR == FNR { if ($1 == "SPAN") { ok[$3 "/" $5 "/" $4] = 1 } next }
    $5 ~ ("(^|;)" f "(;|$)") {
      n++; v += $1
      if ($6 == s && s != "-") { right++; if (!((s "/" $7 "/" $8) in ok)) unknown++ }
      else if ($6 != "-" || $7 != "-") wrong++
    }
    END { printf "%d %.0f %d %d %d\n", n, v, right, wrong, unknown }' FS=' ' "$T/log" FS='\t' "$T/dump"
}
read -r n v right wrong unknown <<<"$(check alloc_a alloc-a)"
echo "alloc_a: $n samples ($v allocations), $right labelled alloc-a, $wrong otherwise, $unknown unlogged"
# 60 spans made 64 allocations each (3840; the estimate from ~480 samples at a 512 KiB mean interval)
[ "$v" -ge 1000 ] || fail "alloc_a: too few allocations ($v) to judge"
[ "$wrong" -eq 0 ] || fail "alloc_a: $wrong samples labelled with another span"
[ "$unknown" -eq 0 ] || fail "alloc_a: $unknown samples labelled with a span id spanwork did not log as alloc-a"
[ "$right" -eq "$n" ] || fail "alloc_a: only $right of $n samples labelled alloc-a"
read -r n v right wrong unknown <<<"$(check alloc_none -)"
echo "alloc_none: $n samples ($v allocations), $wrong labelled with a span"
[ "$v" -gt 0 ] || fail "alloc_none: no samples"
[ "$wrong" -eq 0 ] || fail "alloc_none: $wrong samples outside any span carry one"
# the span filters see them: --tagfocus span_name=alloc-a keeps alloc_a's samples
"$IGNIS" convert "$T/a.pb.gz" --tagfocus span_name=alloc-a --value alloc_objects --to folded -o "$T/a.folded" -q ||
  fail "convert --tagfocus span_name=alloc-a"
got=$(awk '{ s += $NF } END { printf "%.0f\n", s }' "$T/a.folded")
want=$(awk -F'\t' '$6 == "alloc-a" { s += $1 } END { printf "%.0f\n", s }' "$T/dump")
[ "$got" -gt 0 ] && [ "$got" = "$want" ] || fail "--tagfocus span_name=alloc-a kept $got, $want are labelled so"

# --no-span-labels: the same run, no labels
printf g | "$IGNIS" record --alloc --no-span-labels -o "$T/nl.pb.gz" -- "$W" -m -l "$T/log2" -r 30 -t 2 \
  >"$T/nl.out" 2>"$T/nl.err" || { cat "$T/nl.err"; fail "record --alloc --no-span-labels"; }
"$DUMP" "$T/nl.pb.gz" alloc_objects span_name span_id trace_id >"$T/dump3" || fail "profdump"
[ -s "$T/dump3" ] || fail "--no-span-labels: no samples"
awk -F'\t' '$6 != "-" || $7 != "-" || $8 != "-" { bad = 1 } END { exit bad }' "$T/dump3" ||
  fail "--no-span-labels: span labels recorded"

# without libignis: no span labels, the profile as before
A=$B/samples/alloc/allocsites
if [ -x "$A" ]; then
  "$IGNIS" record --alloc -o "$T/plain.pb.gz" -- "$A" >"$T/plain.out" 2>"$T/plain.err" || {
    cat "$T/plain.err"; fail "record --alloc of allocsites"; }
  "$DUMP" "$T/plain.pb.gz" alloc_objects span_name span_id >"$T/dump2" || fail "profdump"
  [ -s "$T/dump2" ] || fail "allocsites: no samples"
  awk -F'\t' '$6 != "-" || $7 != "-" { bad = 1 } END { exit bad }' "$T/dump2" || fail "allocsites: span labels recorded"
fi
echo ok
