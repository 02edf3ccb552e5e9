#!/usr/bin/env bash
# bench/report.sh — `ignis report` on the issue's huge profile: 1,000,000
# distinct folded stacks, 30 frames deep, 20,000 function names (~514 MB,
# made once by bench/gen_folded -n 1000000 into $IGNIS_BUILD/bench/).
# Prints wall time, CPU time and peak RSS of the whole command (the top
# table, a filtered one, a diff against half of it), and of reading the
# file alone (bench/read_profile), so the table's share shows: the peak is
# the reader's (the mapped file plus the model), the table adds time only.
# Wall times only mean something on an idle machine: the load average is
# printed with them.
set -eu
. "$(dirname "$0")/lib.sh"
huge=$B/bench/huge.folded
if [ ! -s "$huge" ]; then
  echo "generating $huge ..."
  "$B/bench/gen_folded" -n 1000000 >"$huge.tmp" && mv "$huge.tmp" "$huge"
fi
half=$B/bench/huge-half.folded
[ -s "$half" ] || awk 'NR % 2' "$huge" >"$half"
echo "== ignis report on 1M distinct stacks"
echo "input: $(du -mL "$huge" | cut -f1) MB, $(wc -l <"$huge") stacks; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
MEASURE_WIDTH=44
measure "read only (bench/read_profile)" "$B/bench/read_profile" "$huge" --no-encode
measure "ignis report" "$IGNIS" report "$huge"
measure "ignis report -s cum --focus '_func0000.$'" "$IGNIS" report "$huge" -s cum --focus '_func0000.$'
measure "ignis report --diff (half of it as base)" "$IGNIS" report "$huge" --diff "$half"
