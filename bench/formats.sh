#!/usr/bin/env bash
# bench/formats.sh — speed and memory of the profile formats on the issue's
# benchmark file: 200,000 distinct folded stacks, 30 frames deep, 20,000
# function names (~100 MB), generated once into $IGNIS_BUILD/bench/.
# Prints wall time and peak RSS (/usr/bin/time) of whole commands, CPU
# time (user+sys), and the in-process phase times of bench/read_profile.
# Targets (issue 2): read the folded file <= 0.5 s (it is part of
# `ignis flame` <= 0.5 s), read the same data as pprof <= 0.5 s.
# Wall times are only meaningful on an otherwise idle machine; the load
# average is printed with the figures.
set -eu
. "$(dirname "$0")/lib.sh"
shuffled=$B/bench/big-shuffled.folded
[ -s "$shuffled" ] || shuf --random-source=<(yes) "$big" >"$shuffled"
bench_input_line

MEASURE_WIDTH=44

measure "convert folded -> pprof" "$IGNIS" convert "$big" -o "$B/bench/big.pb.gz"
measure "convert pprof -> /dev/null (read+encode)" "$IGNIS" convert "$B/bench/big.pb.gz" -o /dev/null --format pprof
measure "report (read pprof + top table)" "$IGNIS" report "$B/bench/big.pb.gz" --top 5
measure "report (read folded + top table)" "$IGNIS" report "$big" --top 5
if "$IGNIS" flame --help >/dev/null 2>&1; then
  measure "flame folded -> svg" "$IGNIS" flame "$big" -o "$B/bench/big.svg"
fi
echo "phases (bench/read_profile, in-process):"
printf '  %-40s %s\n' "folded (sorted, as generated):" "$("$B/bench/read_profile" "$big" --no-encode)"
printf '  %-40s %s\n' "folded (shuffled lines):" "$("$B/bench/read_profile" "$shuffled" --no-encode)"
printf '  %-40s %s\n' "pprof:" "$("$B/bench/read_profile" "$B/bench/big.pb.gz")"
