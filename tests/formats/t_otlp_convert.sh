#!/usr/bin/env bash
# tests/formats/t_otlp_convert.sh — `ignis convert` to and from OTLP
# profiles (.otlp.pb, .otlp.json): pprof -> OTLP -> pprof loses nothing
# pprof holds (same `ignis report`, and the same `go tool pprof -raw`
# when Go is installed: every sample, location, mapping and function);
# OTLP input is detected without --from; damaged OTLP input gets one line
# naming the file and what is wrong.
set -uo pipefail
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
have_go=0
if command -v go >/dev/null; then
  have_go=1
  export GOCACHE=$dir/gocache GOFLAGS=-mod=mod GOPROXY=off HOME=${HOME:-$dir}
fi
for f in tests/data/go_cpu.pb.gz tests/data/go_heap.pb.gz tests/data/pprof_merged.pb.gz; do
  b=$(basename "$f" .pb.gz)
  for ext in otlp.pb otlp.json; do
    "$IGNIS" convert "$f" -o "$dir/$b.$ext" || fail "$b: convert to .$ext"
    "$IGNIS" convert "$dir/$b.$ext" -o "$dir/$b.$ext.pb.gz" || fail "$b: convert .$ext back to pprof"
    diff <("$IGNIS" report "$f" | tail -n +2) <("$IGNIS" report "$dir/$b.$ext.pb.gz" | tail -n +2) >"$dir/diff" \
      || { cat "$dir/diff"; fail "$b via .$ext: ignis report differs"; }
    if [ $have_go = 1 ]; then
      diff <(go tool pprof -raw "$f" 2>&1) <(go tool pprof -raw "$dir/$b.$ext.pb.gz" 2>&1) >"$dir/diff" \
        || { head -40 "$dir/diff"; fail "$b via .$ext: go tool pprof -raw differs"; }
    fi
  done
  echo "ok   $b: pprof -> .otlp.pb / .otlp.json -> pprof unchanged"
done

# damaged inputs: one line, the file named, non-zero exit
head -c 500 "$dir/go_cpu.otlp.pb" >"$dir/cut.otlp.pb"
"$IGNIS" report "$dir/cut.otlp.pb" >/dev/null 2>"$dir/err" && fail "a truncated OTLP file was read"
[ "$(wc -l <"$dir/err")" -eq 1 ] && grep -q "cut.otlp.pb: " "$dir/err" || { cat "$dir/err"; fail "truncated: no one-line error"; }
echo "ok   truncated: $(cat "$dir/err")"
sed 's/"stackIndex":1,/"stackIndex":99999,/' "$dir/go_cpu.otlp.json" >"$dir/bad.otlp.json"
"$IGNIS" convert "$dir/bad.otlp.json" -o "$dir/bad.pb.gz" 2>"$dir/err" && fail "an out-of-range index was read"
grep -q "bad.otlp.json: profile 0 sample [0-9]*: stack index 99999 out of range" "$dir/err" \
  || { cat "$dir/err"; fail "bad index: unclear error"; }
[ -e "$dir/bad.pb.gz" ] && fail "a failed convert left an output file"
echo "ok   bad index: $(cat "$dir/err")"
"$IGNIS" convert --from otlp tests/data/go_cpu.pb.gz -o "$dir/x.pb.gz" 2>"$dir/err" && fail "pprof read as OTLP"
grep -q "go_cpu.pb.gz: " "$dir/err" || { cat "$dir/err"; fail "--from otlp on pprof: unclear error"; }
echo "ok   --from otlp on a pprof file: $(cat "$dir/err")"
exit 0
