#!/usr/bin/env bash
# bench/flame.sh — `ignis flame` on the issue's benchmark file: 200,000
# distinct folded stacks, 30 frames deep, 20,000 function names (~100 MB,
# made by bench/gen_folded into $IGNIS_BUILD/bench/, shared with
# bench/formats.sh).  Prints wall time, CPU time and peak RSS of whole
# commands (/usr/bin/time), the in-process phases (bench/flame_phases), and
# flamegraph.pl on the same file when it is installed (else the figure the
# issue quotes for it).  Targets (issue 2): <= 0.5 s and <= 300 MB.
# Wall times only mean something on an idle machine: the load average is
# printed with them.
set -eu
. "$(dirname "$0")/lib.sh"
half=$B/bench/big-half.folded
[ -s "$half" ] || awk 'NR % 2' "$big" >"$half"
out=$B/bench/flame
mkdir -p "$out"
echo "== ignis flame (targets: <= 0.5 s, <= 300 MB peak RSS)"
bench_input_line


measure "ignis flame folded -> svg" "$IGNIS" flame "$big" -o "$out/big.svg"
measure "ignis flame --inverted" "$IGNIS" flame "$big" -o "$out/big-inverted.svg" --inverted
measure "ignis flame --reverse" "$IGNIS" flame "$big" -o "$out/big-reverse.svg" --reverse
measure "ignis flame --diff (half of it as base)" "$IGNIS" flame "$big" -o "$out/big-diff.svg" --diff "$half"
if [ ! -s "$out/big.pb.gz" ]; then "$IGNIS" convert "$big" -o "$out/big.pb.gz" >/dev/null 2>&1 || true; fi
if [ -s "$out/big.pb.gz" ]; then
  measure "ignis flame pprof -> svg" "$IGNIS" flame "$out/big.pb.gz" -o "$out/big-pprof.svg"
fi
echo "svg: $(du -k "$out/big.svg" | cut -f1) KB, $(grep -c '<g v=' "$out/big.svg") frames"
echo "phases (in-process): $("$B/bench/flame_phases" "$big")"
FG=$(command -v flamegraph.pl || command -v flamegraph || true)
if [ -n "$FG" ]; then
  measure "flamegraph.pl (same file)" "$FG" "$big"
else
  echo "flamegraph.pl: not installed (not packaged in Debian 12); issue 2 quotes about 28 s and 1.6 GB on this machine"
fi
