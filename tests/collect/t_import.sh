#!/usr/bin/env bash
# tests/collect/t_import.sh — `ignis collect --import FILE`: OTLP-JSON
# lines as libignis's otlp_file exporter writes them (the same format as
# the Collector's file exporter), plain, gzip-compressed and on stdin; a
# bad line is reported as FILE:LINE and skipped, the rest is stored; a
# truncated gzip file keeps what was read and fails.
. "$(dirname "$0")/lib.sh"

out=$(OTEL_TRACES_EXPORTER=otlp_file IGNIS_TRACES_FILE=$dir/spans.jsonl OTEL_SERVICE_NAME=filed \
      OTEL_BSP_SCHEDULE_DELAY=50 IGNIS_TRACE_QUIET=1 "$EMIT" 5000 10) || fail "service: $out"
[ "$(echo "$out" | tail -1)" = "exported 5000 dropped 0 failed 0" ] || fail "service says $out"
lines=$(wc -l <"$dir/spans.jsonl")

"$IGNIS" collect --import "$dir/spans.jsonl" --db "$DB" 2>"$dir/err" || fail "import: $(cat "$dir/err")"
grep -q "stored 5000 spans from $lines lines" "$dir/err" || fail "import summary: $(cat "$dir/err")"
[ "$(sql "SELECT count(*) FROM span_view WHERE service = 'filed'")" = 5000 ] || fail "spans"
[ "$(sql 'SELECT count(*) FROM traces WHERE span_count = 10 AND has_root')" = 500 ] || fail "traces"
echo "ok   $lines lines of OTLP-JSON from libignis's file exporter: 5000 spans, 500 traces"

rm -f "$DB"*
gzip -c "$dir/spans.jsonl" >"$dir/spans.jsonl.gz"
"$IGNIS" collect --import "$dir/spans.jsonl.gz" --db "$DB" 2>"$dir/err" || fail "gzip import: $(cat "$dir/err")"
[ "$(sql 'SELECT count(*) FROM spans')" = 5000 ] || fail "gzip import: spans"
rm -f "$DB"*
"$IGNIS" collect --import - --db "$DB" <"$dir/spans.jsonl" 2>"$dir/err" || fail "stdin import: $(cat "$dir/err")"
[ "$(sql 'SELECT count(*) FROM spans')" = 5000 ] || fail "stdin import: spans"
echo "ok   the same from a gzip file and from stdin"

rm -f "$DB"*
{ head -2 "$dir/spans.jsonl"; echo '{"resourceSpans": [not json'; echo; sed -n 3p "$dir/spans.jsonl"; } >"$dir/bad.jsonl"
want=$(head -3 "$dir/spans.jsonl" | grep -o '"spanId"' | wc -l)
"$IGNIS" collect --import "$dir/bad.jsonl" --db "$DB" 2>"$dir/err"
[ $? = 1 ] || fail "bad line: exit status"
grep -q "$dir/bad.jsonl:3: malformed OTLP/JSON" "$dir/err" || fail "bad line not reported: $(cat "$dir/err")"
[ "$(sql 'SELECT count(*) FROM spans')" = "$want" ] || fail "bad line: $(sql 'SELECT count(*) FROM spans') spans, want $want"
echo "ok   a bad line: reported as FILE:3, skipped, the other $want spans stored, exit 1"

rm -f "$DB"*
size=$(stat -c %s "$dir/spans.jsonl.gz")
head -c $((size * 2 / 3)) "$dir/spans.jsonl.gz" >"$dir/cut.jsonl.gz"
"$IGNIS" collect --import "$dir/cut.jsonl.gz" --db "$DB" 2>"$dir/err"
[ $? = 1 ] || fail "truncated gzip: exit status"
grep -q "cut.jsonl.gz: read error after line" "$dir/err" || fail "truncated gzip: $(cat "$dir/err")"
kept=$(sql 'SELECT count(*) FROM spans')
[ "$kept" -gt 0 ] && [ "$kept" -lt 5000 ] || fail "truncated gzip: kept $kept"
echo "ok   a truncated gzip file: the whole lines before the cut are stored ($kept spans), exit 1"

"$IGNIS" collect --import "$dir/missing.jsonl" --db "$DB" 2>"$dir/err"
[ $? = 1 ] && grep -q "missing.jsonl: No such file" "$dir/err" || fail "missing file: $(cat "$dir/err")"
echo "ok   a missing file: $(tail -1 "$dir/err")"
