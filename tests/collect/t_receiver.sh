#!/usr/bin/env bash
# tests/collect/t_receiver.sh — `ignis collect` driven by a service linked
# with libignis (protobuf, JSON, gzip; the SDK's own counters are the
# ground truth) and by curl for everything a service would not send: the
# OTLP answers (200 with partial_success, 400 with a Status, 413 for a big
# body and for a gzip bomb, 415, 405, 404), and data that is odd but
# storable (a 1 MB attribute value, 100,000 spans in one trace, parents
# that form a cycle).
. "$(dirname "$0")/lib.sh"

start_collect --max-body 2M

# ---- a traced service, three ways --------------------------------------------------------
stored=0
for mode in protobuf json-gzip protobuf-gzip; do
  out=$(
    case $mode in
      protobuf) export OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf ;;
      json-gzip) export OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip ;;
      protobuf-gzip) export OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip ;;
    esac
    OTEL_SERVICE_NAME=svc-$mode emit 2000 10
  ) || fail "$mode: the service failed: $out"
  [ "$(echo "$out" | tail -1)" = "exported 2000 dropped 0 failed 0" ] || fail "$mode: service says: $out"
  stored=$((stored + 2000))
  wait_metric ignis_collect_spans_stored_total $stored || fail "$mode: stored $(metric ignis_collect_spans_stored_total) of $stored"
  [ "$(sql "SELECT count(*) FROM span_view WHERE service = 'svc-$mode'")" = 2000 ] || fail "$mode: spans in the store"
  [ "$(sql "SELECT count(*) FROM traces WHERE root_service = 'svc-$mode' AND has_root AND span_count = 10")" = 200 ] ||
    fail "$mode: 200 whole traces of 10"
  [ "$(sql "SELECT count(*) FROM traces WHERE root_service = 'svc-$mode' AND error_count = 1")" = 4 ] ||
    fail "$mode: every 50th trace has an error"
  [ "$(sql "SELECT json_extract(s.attributes, '\$.\"db.system\"') FROM span_view s
            WHERE service = 'svc-$mode' AND name = 'SELECT users' LIMIT 1")" = sqlite ] || fail "$mode: attributes"
done
echo "ok   a libignis service over protobuf, JSON+gzip, protobuf+gzip: 6000 spans stored"

# ---- OTLP answers ----------------------------------------------------------------------------
printf '\x0a\xff\xff\xff' >"$dir/bad.pb"
[ "$(post application/x-protobuf "$dir/bad.pb")" = 400 ] || fail "malformed protobuf: not 400"
grep -aq 'malformed ExportTraceServiceRequest' "$dir/resp" || fail "malformed protobuf: no Status message"
printf '{"resourceSpans":' >"$dir/bad.json"
[ "$(post application/json "$dir/bad.json")" = 400 ] || fail "malformed JSON: not 400"
grep -q '^{"code":3,"message":"malformed OTLP/JSON' "$dir/resp" || fail "malformed JSON: Status is $(cat "$dir/resp")"
[ "$(post text/plain "$dir/bad.json")" = 415 ] || fail "text/plain: not 415"
[ "$(post application/json "$dir/bad.json" -H 'Content-Encoding: br')" = 415 ] || fail "brotli: not 415"
head -c 3000000 /dev/zero >"$dir/big.json"
[ "$(post application/json "$dir/big.json")" = 413 ] || fail "3 MB body over --max-body 2M: not 413"
head -c $((64 << 20)) /dev/zero | gzip -1 >"$dir/bomb.gz"
[ "$(post application/json "$dir/bomb.gz" -H 'Content-Encoding: gzip')" = 413 ] || fail "gzip bomb: not 413"
grep -q 'inflated body larger than' "$dir/resp" || fail "gzip bomb: $(cat "$dir/resp")"
printf '{"resourceSpans":[]}' | gzip | head -c 20 >"$dir/truncated.gz"
[ "$(post application/json "$dir/truncated.gz" -H 'Content-Encoding: gzip')" = 400 ] || fail "truncated gzip: not 400"
grep -q 'gzip' "$dir/resp" || fail "truncated gzip: $(cat "$dir/resp")"
# 1.5 MB of empty spans (a 2 KB gzip): json-c would spend 320 MB on them
{ printf '{"resourceSpans":[{"scopeSpans":[{"spans":['; head -c 1500000 /dev/zero | tr '\0' 'x' | sed 's/xxx/{},/g'; printf '{}]}]}]}'; } |
  gzip >"$dir/empties.gz"
[ "$(post application/json "$dir/empties.gz" -H 'Content-Encoding: gzip')" = 400 ] || fail "500k empty spans: not 400"
grep -q 'MiB to parse' "$dir/resp" || fail "500k empty spans: $(cat "$dir/resp")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = 405 ] || fail "GET /v1/traces: not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")" = 404 ] || fail "404"
echo "ok   400 with Status (protobuf, JSON), 413 (body, gzip bomb), 415 (type, encoding), 405, 404"

# ---- invalid spans next to valid ones: 200 with partial_success -------------------------------
ok_span='{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"kept","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"}'
cat >"$dir/partial.json" <<EOF
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"partial"}}]},
 "scopeSpans":[{"spans":[
  $ok_span,
  {"traceId":"0af7651916cd43dd","spanId":"b7ad6b7169203332","name":"short id","startTimeUnixNano":"1","endTimeUnixNano":"2"},
  {"traceId":"00000000000000000000000000000000","spanId":"b7ad6b7169203333","name":"zero id","startTimeUnixNano":"1","endTimeUnixNano":"2"},
  {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203334","name":"backwards","startTimeUnixNano":"5","endTimeUnixNano":"2"},
  {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000000","name":"zero span","startTimeUnixNano":"1","endTimeUnixNano":"2"}
 ]}]}]}
EOF
[ "$(post application/json "$dir/partial.json")" = 200 ] || fail "partial: not 200"
grep -q '"partialSuccess":{"rejectedSpans":"4","errorMessage":"4 of 5 spans rejected; first: trace_id must be 16 bytes, not 8"}' \
  "$dir/resp" || fail "partial: $(cat "$dir/resp")"
wait_metric ignis_collect_spans_rejected_total 4 || fail "rejected counter"
poll 30 sql_is "SELECT count(*) FROM span_view WHERE service = 'partial'" 1 || fail "the valid span was not stored"
echo "ok   ids of the wrong length or all zero, end before start: 200, partial_success rejected 4, the valid span stored"

# ---- odd but storable -------------------------------------------------------------------------
big=$(head -c 1048576 /dev/zero | tr '\0' 'v')
printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"odd"}}]},"scopeSpans":[{"spans":[
 {"traceId":"11111111111111111111111111111111","spanId":"2222222222222222","name":"big value","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000001",
  "attributes":[{"key":"big","value":{"stringValue":"%s"}}]},
 {"traceId":"33333333333333333333333333333333","spanId":"aaaaaaaaaaaaaaaa","parentSpanId":"bbbbbbbbbbbbbbbb","name":"cycle a","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000009"},
 {"traceId":"33333333333333333333333333333333","spanId":"bbbbbbbbbbbbbbbb","parentSpanId":"aaaaaaaaaaaaaaaa","name":"cycle b","startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000000000000008"}
]}]}]}' "$big" >"$dir/odd.json"
[ "$(post application/json "$dir/odd.json")" = 200 ] || fail "odd: not 200: $(cat "$dir/resp")"
grep -q partialSuccess "$dir/resp" && fail "odd: something was rejected: $(cat "$dir/resp")"
poll 30 sql_is "SELECT count(*) FROM span_view WHERE service = 'odd'" 3 || fail "odd: not stored"
[ "$(sql "SELECT length(json_extract(attributes, '\$.big')) FROM span_view WHERE name = 'big value'")" = 1048576 ] ||
  fail "the 1 MB value was not kept whole"
[ "$(sql "SELECT span_count || ' ' || has_root FROM trace_view WHERE trace_id = '33333333333333333333333333333333'")" = "2 0" ] ||
  fail "a trace whose spans are each other's parents"
echo "ok   a 1 MB attribute value and a parent cycle are stored as sent"

out=$(OTEL_SERVICE_NAME=wide DELAY=50 emit 100000 100000) || fail "100k-span trace: $out"
[ "$(echo "$out" | tail -1)" = "exported 100000 dropped 0 failed 0" ] || fail "100k-span trace: service says $out"
poll 120 sql_is "SELECT span_count FROM traces WHERE root_service = 'wide'" 100000 ||
  fail "100k-span trace: $(sql "SELECT span_count FROM traces WHERE root_service = 'wide'")"
[ "$(sql "SELECT count(*) FROM spans s JOIN traces t ON t.id = s.trace WHERE t.root_service = 'wide'")" = 100000 ] ||
  fail "100k-span trace: spans"
echo "ok   one trace of 100,000 spans"

# ---- counters agree with the store --------------------------------------------------------------
received=$(metric ignis_collect_spans_received_total)
rejected=$(metric ignis_collect_spans_rejected_total)
stored=$(metric ignis_collect_spans_stored_total)
[ "$((received - rejected))" = "$stored" ] || fail "received $received - rejected $rejected != stored $stored"
[ "$(sql 'SELECT count(*) FROM spans')" = "$stored" ] || fail "store has $(sql 'SELECT count(*) FROM spans'), counter $stored"
[ "$(metric 'ignis_collect_requests_total{code="413"}')" = 2 ] || fail "413 counted"
stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
grep -q "stored $stored spans" "$dir/collect.err" || fail "no summary line"
echo "ok   counters: received - rejected = stored = spans in the store ($stored)"
