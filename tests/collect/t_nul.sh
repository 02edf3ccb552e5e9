#!/usr/bin/env bash
# tests/collect/t_nul.sh — U+0000 inside OTLP/JSON ("\u0000") and
# OTLP/protobuf strings.  U+0000
# is valid UTF-8, so a proto3 string may hold it and the OpenTelemetry
# Collector keeps it: span, event and scope names, attribute keys and
# values and service.name are stored whole, NUL included (SQLite text
# bound with its length), through `collect --import` and the receiver
# alike, and the same request in protobuf (tests/collect/nul_request.c;
# protobuf-c's strings are C strings, which cut "a<NUL>b" into "a");
# "a\u0000b" is an operation of its own, never cut into "a", a key
# "service.name\u0000x" never names the service, and /metrics labels the
# series with the text the viewer shows (a\u0000b).
. "$(dirname "$0")/lib.sh"

span() { # NAME SPANID: one request, every string carrying a NUL
  printf '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}},'
  printf '{"key":"service.name\\u0000x","value":{"stringValue":"evil"}},{"key":"r\\u0000k","value":{"stringValue":"r\\u0000v"}}]},'
  printf '"scopeSpans":[{"scope":{"name":"sc\\u0000ope"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",'
  printf '"spanId":"%s","name":"%s","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000000500",' "$2" "$1"
  printf '"status":{"code":2,"message":"m\\u0000x"},"attributes":[{"key":"k\\u0000ey","value":{"stringValue":"a\\u0000b"}}],'
  printf '"events":[{"timeUnixNano":"1700000000000000001","name":"e\\u0000v"}]}]}]}]}\n'
}
{ span 'a\u0000b' 1112131415161718; span a 2122232425262728; } >"$dir/nul.jsonl"

check_store() { # WHAT
  [ "$(sql 'SELECT group_concat(hex(name), " ") FROM (SELECT name FROM operations ORDER BY name)')" = "61 610062" ] ||
    fail "$1: operations $(sql 'SELECT hex(name) FROM operations'), want 61 and 610062 (a, a NUL b)"
  [ "$(sql 'SELECT DISTINCT service FROM operations')" = svc ] || fail "$1: service $(sql 'SELECT service FROM operations')"
  [ "$(sql "SELECT count(*) FROM spans WHERE hex(status_message) = '6D0078'")" = 2 ] || fail "$1: status message cut"
  [ "$(sql "SELECT count(*) FROM events WHERE hex(name) = '650076'")" = 2 ] || fail "$1: event name cut"
  [ "$(sql "SELECT count(*) FROM scopes WHERE hex(name) = '7363006F7065'")" = 1 ] || fail "$1: scope name cut: $(sql 'SELECT hex(name) FROM scopes')"
  [ "$(sql "SELECT count(*) FROM spans WHERE attributes = '{\"k\\u0000ey\":\"a\\u0000b\"}'")" = 2 ] ||
    fail "$1: span attributes $(sql 'SELECT attributes FROM spans')"
  sql 'SELECT attributes FROM resources' | grep -qF '"r\u0000k":"r\u0000v"' || fail "$1: resource attributes $(sql 'SELECT attributes FROM resources')"
}

"$IGNIS" collect --import "$dir/nul.jsonl" --db "$DB" 2>"$dir/err" || fail "import: $(cat "$dir/err")"
check_store import
echo "ok   collect --import: names, keys and values keep their NUL; a\\u0000b and a are two operations"

rm -f "$DB"*
start_collect
for i in 1 2; do
  sed -n "${i}p" "$dir/nul.jsonl" >"$dir/body$i.json"
  [ "$(post application/json "$dir/body$i.json")" = 200 ] || fail "POST $i: $(cat "$dir/resp")"
done
poll 30 sql_is 'SELECT count(*) FROM spans' 2 || fail "the receiver stored $(sql 'SELECT count(*) FROM spans') spans"
check_store receiver
curl -sf "http://127.0.0.1:$PORT/metrics" >"$dir/metrics" || fail "/metrics"
grep -qF 'span_name="a\\u0000b"' "$dir/metrics" || fail "/metrics: no series a\\u0000b: $(grep span_name "$dir/metrics" | head -3)"
[ "$(grep -c '^ignis_span_duration_seconds_count{.*span_name="a",' "$dir/metrics")" = 1 ] || fail "/metrics: series a: $(grep _count "$dir/metrics")"
stop_collect
echo "ok   the receiver stores the same; /metrics has a series a\\u0000b beside a"

# the same two spans as OTLP/protobuf
rm -f "$DB"*
start_collect
"$B/tests/collect/nul_request" 'a~b' 1 >"$dir/body1.pb" && "$B/tests/collect/nul_request" a 2 >"$dir/body2.pb" ||
  fail "nul_request"
for i in 1 2; do
  [ "$(post application/x-protobuf "$dir/body$i.pb")" = 200 ] || fail "POST protobuf $i: $(cat "$dir/resp")"
done
poll 30 sql_is 'SELECT count(*) FROM spans' 2 || fail "the receiver stored $(sql 'SELECT count(*) FROM spans') protobuf spans"
check_store protobuf
stop_collect
echo "ok   protobuf: the receiver stores the same names, keys and values, NUL included"
