#!/usr/bin/env bash
# tests/cli/t_list.sh — `ignis report --list REGEX`, pprof's list: the
# source lines of the matching functions with their flat and cum values,
# read from the file the profile records or found along --source-path,
# after the filters; no match and bad regexes are one-line errors.
# tests/data/go_cpu.pb.gz was made by tests/data/gen/gopprof.go.
. "$(dirname "$0")/lib.sh"

run hot report "$DATA/go_cpu.pb.gz" --list hotLoop --source-path "$DATA/gen"
[ "$RC" -eq 0 ] || fail "--list: exit $RC: $(cat "$T/hot.err")"
has hot "Total: 2.40s"
grep -q '^ROUTINE ======================== main.hotLoop in .*/gopprof.go$' "$T/hot.out" || fail "no ROUTINE line: $(cat "$T/hot.out")"
has hot "1.80s 1.80s (flat, cum) 75.00% of Total"
has hot ". . 24:func hotLoop(d time.Duration) {"
has hot "410ms 410ms 27: for time.Now().Before(end) {"
has hot "1.39s 1.39s 28: for i := 0; i < 10000; i++ {"
[ "$(grep -c '^ROUTINE' "$T/hot.out")" -eq 1 ] || fail "--list hotLoop lists other functions"

# the filters apply; pprof's spelling
run main report "$DATA/go_cpu.pb.gz" -list='main\.main' --focus warmLoop --source-path "$DATA/gen"
has main "focus=warmLoop"
has main "0 600ms (flat, cum) 25.00% of Total"
has main ". 600ms 74: hotLoop(450 * time.Millisecond)"

# without source: the costs, and why there is no text
run nosrc report "$T/new.folded" --list '^b$'
has nosrc "48 48 (flat, cum) 48.00% of Total"
has nosrc "(source not shown: no source file recorded)"
has nosrc "48 48 ? (frames without a line number)"

run none report "$DATA/go_cpu.pb.gz" --list nosuch
one_line_error none 1 "ignis report: --list=nosuch: no function matches"
run bad report "$DATA/go_cpu.pb.gz" --list '('
one_line_error bad 1 "--list: invalid regular expression"
finish
