#!/usr/bin/env bash
# bench/load.sh — how long opening the issue's big profile takes: 200,000
# distinct folded stacks, 30 frames deep, 20,000 function names (~100 MB,
# bench/gen_folded, shared with bench/formats.sh), and the same profile as
# pprof (~8 MB, `ignis convert`).  One line per command and format (wall
# time, CPU time, peak RSS of the whole command, output discarded): `ignis
# report` (read + top table), `ignis flame` (read + tree + SVG) and the
# first frame of `ignis view` (IGNIS_VIEW_BENCH), side by side with a peer
# reading the same pprof file: `go tool pprof -top` when Go is installed.
# Wall times only mean something on an idle machine: the load average is
# printed with them; CPU times are what the code costs regardless.
set -eu
. "$(dirname "$0")/lib.sh"
pb=$B/bench/big.pb.gz
[ -s "$pb" ] || "$IGNIS" convert "$big" -o "$pb" >/dev/null
out=$B/bench/load
mkdir -p "$out"
echo "== opening a big profile (200k stacks): ignis report / flame / view, and go tool pprof -top"
bench_input_line
echo "pprof form: $(du -k "$pb" | cut -f1) KB"
MEASURE_WIDTH=34
for f in "$big" "$pb"; do
  case $f in *.folded) fmt=folded ;; *) fmt=pprof ;; esac
  measure "ignis report ($fmt)" "$IGNIS" report "$f"
  measure "ignis flame ($fmt)" "$IGNIS" flame "$f" -o "$out/big-$fmt.svg"
  line=$(IGNIS_VIEW_BENCH=1 "$IGNIS" view "$f" | tr ' ' '\n')
  get() { echo "$line" | sed -n "s/^$1=//p"; }
  printf '%-*s %s ms wall, %s ms cpu (full tree: %s ms wall)\n' "$MEASURE_WIDTH" "ignis view first frame ($fmt)" \
    "$(get first_frame_ms)" "$(get first_frame_cpu_ms)" "$(get open_ms)"
done
if command -v go >/dev/null 2>&1; then
  measure "go tool pprof -top (pprof, peer)" go tool pprof -top "$pb"
else
  echo "go tool pprof: not installed (Debian package golang-go)"
fi
