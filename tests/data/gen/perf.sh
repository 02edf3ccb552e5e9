#!/usr/bin/env bash
# perf.sh — regenerates tests/data/perf_dwarf.txt and tests/data/perf_fp.txt,
# real `perf script` captures of perfprog.c (run from the repository root).
#   perf_dwarf.txt: perf record -e cpu-clock --call-graph dwarf, default fields
#                   (header "comm tid time: period event:", (inlined) frames)
#   perf_fp.txt:    perf record -e cpu-clock -g (frame pointers), fields
#                   comm,pid,tid,cpu,time,period,event,ip,sym,dso
#                   (header "comm pid/tid [cpu] time: period event:")
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/perfprog" tests/data/gen/perfprog.c
perf record -q -e cpu-clock -F 499 --call-graph dwarf -o "$tmp/dwarf.data" "$tmp/perfprog" >/dev/null
perf script -i "$tmp/dwarf.data" > tests/data/perf_dwarf.txt
perf record -q -e cpu-clock -F 499 -g --sample-cpu -o "$tmp/fp.data" "$tmp/perfprog" >/dev/null
perf script -i "$tmp/fp.data" -F comm,pid,tid,cpu,time,period,event,ip,sym,dso > tests/data/perf_fp.txt
