#!/usr/bin/env bash
# tests/cli/t_files.sh — gzipped text inputs (folded stacks, perf script)
# read like the plain ones in every command, and folded output holds
# sample counts for sampled profiles (flamegraph.pl and speedscope expect
# counts), the nanoseconds of the cpu value only with --value.
. "$(dirname "$0")/lib.sh"

# ---- gzipped text inputs -------------------------------------------------------------
gzip -c "$T/threads.perf" >"$T/threads.perf.gz"
gzip -c "$T/threads.perf" >"$T/threads.gz"
gzip -c "$T/new.folded" >"$T/new.folded.gz"
for pair in "threads.perf:threads.perf.gz" "threads.perf:threads.gz" "new.folded:new.folded.gz"; do
  plain=${pair%%:*} gz=${pair#*:}
  run p report "$T/$plain"
  run z report "$T/$gz"
  [ "$RC" -eq 0 ] || fail "report $gz: $(cat "$T/z.err")"
  diff <(tail -n +2 "$T/p.out") <(tail -n +2 "$T/z.out") >/dev/null || fail "report $gz differs from $plain"
  run zf flame "$T/$gz" -o "$T/z.svg"
  [ "$RC" -eq 0 ] || fail "flame $gz: $(cat "$T/zf.err")"
  run zc convert "$T/$gz" -o "$T/z.folded"
  run pc convert "$T/$plain" -o "$T/p.folded"
  cmp -s "$T/z.folded" "$T/p.folded" || fail "convert $gz differs from $plain"
done

# ---- folded output: counts, nanoseconds on request ------------------------------------------
run f convert "$T/threads.perf" -o "$T/f.folded"
[ "$(cat "$T/f.folded")" = $'main;run;hot_a 6\nmain;run;hot_b 3\nmain;run;idle 1' ] || fail "folded counts: $(cat "$T/f.folded")"
run ns convert "$T/threads.perf" -o "$T/ns.folded" --value cpu
[ "$(cat "$T/ns.folded")" = $'main;run;hot_a 6000000\nmain;run;hot_b 3000000\nmain;run;idle 1000000' ] ||
  fail "folded --value cpu: $(cat "$T/ns.folded")"
# a pprof CPU profile (Go's: samples/count and cpu/nanoseconds, cpu the default)
run go convert "$DATA/go_cpu.pb.gz" -o "$T/go.folded"
grep -qx 'runtime.main;main.main;main.hotLoop 180' "$T/go.folded" || fail "pprof -> folded: $(cat "$T/go.folded")"
# a profile without sample counts (heap) keeps its default value
run heap convert "$DATA/go_heap.pb.gz" -o "$T/heap.folded"
grep -q 'main.allocKeep 15918424$' "$T/heap.folded" || fail "heap -> folded: $(head -3 "$T/heap.folded")"
finish
