#!/usr/bin/env bash
# Span labels on the attach route (record --alloc -p: uprobes, plus the BPF
# program of profiler/bpf/allocspan.bpf.c), against ground truth
# (samples/spans/spanwork.c -m -s): per round, span "alloc-a" is current
# while alloc_a() allocates 4 MiB in 64 blocks, no span while alloc_none()
# allocates the same; its threads exist before the attach (-s) and start
# on a byte from the fifo; spanwork logs every span it made.  So:
#   - every recorded allocation in alloc_a carries span_name alloc-a and a
#     span_id and trace_id spanwork logged as alloc-a: all of them (the
#     join is by the probe event's count, exact);
#   - none in alloc_none carries a span;
#   - the same with --every 3 (events of hits that wrote no sample);
#   - the same when the program's runs stall while writing their event
#     (IGNIS_TEST_SPAN_HOLD=16: every 16th hit in a span holds its reserved
#     record for about a tenth of a millisecond, as a run preempted or stalled by a
#     loaded machine does): the other thread's events committed meanwhile
#     sit behind the unfinished record, and a drain must wait for it, not
#     take their samples as unlabelled (the flake "60 of 61 labelled");
#   - --no-span-labels records none;
#   - a program without libignis (allocsites) is profiled as before, with
#     no span labels and a one-line note.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
W=$B/samples/spans/spanwork
DUMP=$B/tests/profiler/profdump
[ -r /sys/bus/event_source/devices/uprobe/type ] || skip "no uprobe PMU"
[ -x "$W" ] || fail "$W not built"
[ -x "$DUMP" ] || fail "$DUMP not built"
# a sanitizer build's spanwork allocates with the sanitizer's malloc, which
# uprobes on libc never see
if ldd "$W" 2>/dev/null | grep -q 'lib[at]san'; then skip "spanwork is built with a sanitizer (its malloc is not libc's)"; fi

# spanwork_run TAG RECORD-OPTIONS...: spanwork -m -s attached by record
# --alloc -p; the profile in $TMP/TAG.pb.gz, the span log in $TMP/TAG.log,
# record's messages in $TMP/TAG.err.
spanwork_run() {
  local tag=$1; shift
  rm -f "$TMP/in" "$TMP/out"
  mkfifo "$TMP/in"
  "$W" -m -s -l "$TMP/$tag.log" -r 30 -t 2 < "$TMP/in" > "$TMP/out" &
  local sp=$!
  exec 3>"$TMP/in"
  for _ in $(seq 3000); do grep -q READY "$TMP/out" && break; sleep 0.01; done
  grep -q READY "$TMP/out" || { kill $sp; fail "spanwork did not start"; }
  "${RECORD[@]}" --alloc -p $sp "$@" -o "$TMP/$tag.pb.gz" 2> "$TMP/$tag.err" &
  local rp=$!
  for _ in $(seq 3000); do grep -q "attached\|ignis record:" "$TMP/$tag.err" && break; sleep 0.01; done
  grep -q attached "$TMP/$tag.err" || { cat "$TMP/$tag.err"; kill $sp; fail "attach failed"; }
  printf g >&3; exec 3>&-
  wait $sp || fail "spanwork failed"
  wait $rp || { cat "$TMP/$tag.err"; fail "record --alloc -p failed"; }
  cat "$TMP/$tag.err"
  # VALUE THREAD STATE WCHAN STACK span_name span_id trace_id
  "$DUMP" "$TMP/$tag.pb.gz" alloc_objects span_name span_id trace_id > "$TMP/$tag.dump" || fail "profdump"
}

# check TAG FUNC SPAN: rows and allocations in FUNC: all, labelled SPAN with
# a span spanwork logged as SPAN, labelled otherwise, labelled with a span
# not logged as SPAN
check() {
  awk -F'\t' -v f="$2" -v s="$3" '
    NR == FNR { if ($1 == "SPAN") { ok[$3 "/" $5 "/" $4] = 1 } next }
    $5 ~ ("(^|;)" f "(;|$)") {
      n++; v += $1
      if ($6 == s && s != "-") { right++; if (!((s "/" $7 "/" $8) in ok)) unknown++ }
      else if ($6 != "-" || $7 != "-") wrong++
    }
    END { printf "%d %.0f %d %d %d\n", n, v, right, wrong, unknown }' FS=' ' "$TMP/$1.log" FS='\t' "$TMP/$1.dump"
}

labelled_run() { # TAG RECORD-OPTIONS...
  local tag=$1
  spanwork_run "$@"
  if grep -q "no span labels: span labels need BPF" "$TMP/$tag.err"; then
    skip "BPF not available here: $(grep "no span labels" "$TMP/$tag.err")"
  fi
  read -r n v right wrong unknown <<<"$(check "$tag" alloc_a alloc-a)"
  echo "$tag: alloc_a: $n samples ($v allocations), $right labelled alloc-a, $wrong otherwise, $unknown unlogged"
  [ "$v" -ge 64 ] || fail "$tag: alloc_a: too few allocations ($v) to judge"
  [ "$wrong" -eq 0 ] || fail "$tag: alloc_a: $wrong samples labelled with another span"
  [ "$unknown" -eq 0 ] || fail "$tag: alloc_a: $unknown samples labelled with a span id spanwork did not log as alloc-a"
  [ "$right" -eq "$n" ] || fail "$tag: alloc_a: only $right of $n samples labelled alloc-a"
  read -r n v right wrong unknown <<<"$(check "$tag" alloc_none -)"
  echo "$tag: alloc_none: $n samples ($v allocations), $wrong labelled with a span"
  [ "$v" -gt 0 ] || fail "$tag: alloc_none: no samples"
  [ "$wrong" -eq 0 ] || fail "$tag: alloc_none: $wrong samples outside any span carry one"
  grep -q "span labels: [0-9]* allocation samples in a span" "$TMP/$tag.err" || fail "$tag: no span label summary"
}

labelled_run every1
labelled_run every3 --every 3
export IGNIS_TEST_SPAN_HOLD=16
labelled_run held
unset IGNIS_TEST_SPAN_HOLD

# --no-span-labels: no labels, no program
spanwork_run nolabels --no-span-labels
[ -s "$TMP/nolabels.dump" ] || fail "--no-span-labels: no samples"
awk -F'\t' '$6 != "-" || $7 != "-" || $8 != "-" { bad = 1 } END { exit bad }' "$TMP/nolabels.dump" ||
  fail "--no-span-labels: span labels recorded"
! grep -q "span labels" "$TMP/nolabels.err" || fail "--no-span-labels: the program was loaded"

# without libignis: no span labels, the profile as before
attach_run 20 2 1 "$TMP/plain.pb.gz"
"$DUMP" "$TMP/plain.pb.gz" alloc_objects span_name span_id > "$TMP/plain.dump" || fail "profdump"
grep -q site_a "$TMP/plain.dump" || fail "allocsites: no site_a samples"
awk -F'\t' '$6 != "-" || $7 != "-" { bad = 1 } END { exit bad }' "$TMP/plain.dump" || fail "allocsites: span labels recorded"
grep -q "no span labels: " "$TMP/rec.err" || fail "allocsites: no note that there are no span labels"
echo "attach span labels ok"
