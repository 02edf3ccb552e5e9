#!/usr/bin/env bash
# tests/formats/t_go_pprof.sh — files written by `ignis convert` are read by
# `go tool pprof -top` with the same total and the same top function as
# `ignis report` prints for them.  Skipped (77) without a Go toolchain.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
command -v go >/dev/null || { echo "go is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export GOCACHE=$tmp/gocache GOFLAGS=-mod=mod GOPROXY=off HOME=${HOME:-$tmp}
fail=0

# total of a `pprof -top` style header: "... of TOTAL total"
total_of() { sed -n 's/.* of \([^ ]*\) total.*/\1/p' | head -1; }
# name of the first row (highest flat) after the column header
# (pprof marks inlined functions "NAME (inline)"; ignis does not)
top_of() { awk '/flat%/ {getline; $1=$2=$3=$4=$5=""; sub(/^ +/, ""); sub(/ \(inline\)$/, ""); print; exit}'; }
# the pprof value spelling of a total: "2.40s" vs "2400ms": compare numbers in base units
to_base() {
  awk -v v="$1" 'BEGIN {
    n = v; u = v; sub(/[a-zA-Z]+$/, "", n); sub(/^[-0-9.]+/, "", u);
    m["ns"]=1e-9; m["us"]=1e-6; m["ms"]=1e-3; m["s"]=1; m["mins"]=60; m["hrs"]=3600;
    m["B"]=1; m["kB"]=1024; m["MB"]=1048576; m["GB"]=1073741824; m[""]=1;
    printf "%.6g\n", n * m[u] }'
}

check() { # NAME INPUT [report/pprof value option pair...]
  local name=$1 in=$2 iv=${3:-} gv=${4:-}
  "$IGNIS" convert "$in" -o "$tmp/$name.pb.gz" || { echo "FAIL $name: convert"; fail=1; return; }
  go tool pprof -top -symbolize=none ${gv:+-sample_index=$gv} "$tmp/$name.pb.gz" >"$tmp/$name.go" 2>"$tmp/$name.goerr" \
    || { echo "FAIL $name: go tool pprof:"; cat "$tmp/$name.goerr"; fail=1; return; }
  "$IGNIS" report ${iv:+--value $iv} "$tmp/$name.pb.gz" >"$tmp/$name.ig" || { echo "FAIL $name: ignis report"; fail=1; return; }
  local gt it gtop itop
  gt=$(to_base "$(total_of <"$tmp/$name.go")"); it=$(to_base "$(total_of <"$tmp/$name.ig")")
  gtop=$(top_of <"$tmp/$name.go"); itop=$(top_of <"$tmp/$name.ig")
  # pprof prints 3 significant digits; compare at that precision
  if [ "$(printf '%.3g' "$gt")" != "$(printf '%.3g' "$it")" ] || [ -z "$gt" ]; then
    echo "FAIL $name: totals differ: go '$gt' ignis '$it'"; cat "$tmp/$name.go" "$tmp/$name.ig"; fail=1
  elif [ "$gtop" != "$itop" ] || [ -z "$gtop" ]; then
    echo "FAIL $name: top function differs: go '$gtop' ignis '$itop'"; cat "$tmp/$name.go" "$tmp/$name.ig"; fail=1
  else
    echo "ok   $name: total $gt, top $gtop"
  fi
}

check go_cpu tests/data/go_cpu.pb.gz
check go_heap tests/data/go_heap.pb.gz
check go_heap_alloc tests/data/go_heap.pb.gz alloc_space alloc_space
check perf_dwarf tests/data/perf_dwarf.txt
check perf_fp tests/data/perf_fp.txt
printf 'main;parse;lex 70\nmain;parse 30\nmain;run;sys_write_[k] 25\nmain;run;inl_[i] 5\n' >"$tmp/in.folded"
check folded "$tmp/in.folded"
# exact totals, not just 3 digits: pprof -raw sums against the folded input
go tool pprof -raw "$tmp/folded.pb.gz" 2>/dev/null | awk '/^Samples:/ {s=1; getline; next} /^Locations/ {s=0} s && /:/ {t += $1} END {print t}' >"$tmp/raw"
[ "$(cat "$tmp/raw")" = 130 ] || { echo "FAIL folded: pprof -raw total $(cat "$tmp/raw"), want 130"; fail=1; }
exit $fail
