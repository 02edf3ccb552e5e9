#!/usr/bin/env bash
# tests/collect/t_refusals.sh — a body `ignis collect` refuses gets an
# HTTP answer, and /metrics counts what was sent: 429 with Retry-After
# when the in-flight budget (2 x --max-body) is taken (a Content-Length
# body refused before it is read, a chunked one at its end), 413 for a
# chunked body over --max-body (read to its end and dropped), a chunked
# body beyond twice the limit cut off unanswered (counted apart), and 400
# for two conflicting Content-Length headers (identical repeats pass).
# Two uploads hold the budget: their headers are sent with
# "Expect: 100-continue" and the "100 Continue" line says the collector
# has taken them (and reserved their announced bodies).
. "$(dirname "$0")/lib.sh"

start_collect --max-body 1M

# A valid OTLP/JSON request of exactly N bytes (blanks inside).
json_of_size() {
  { printf '{"resourceSpans":['; head -c $(($1 - 20)) /dev/zero | tr '\0' ' '; printf ']}'; } >"$2"
}
json_of_size 900000 "$dir/900k.json"
json_of_size 300000 "$dir/300k.json"
json_of_size 1600000 "$dir/1600k.json"
json_of_size 3000000 "$dir/3m.json"

# Opens a connection on fd $1 and sends the headers of a 900 KB upload;
# true once the collector answers "100 Continue".
hold() {
  local fd=$1 line
  eval "exec $fd<>/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900000\r\nExpect: 100-continue\r\n\r\n' >&"$fd"
  IFS= read -r -t 60 line <&"$fd" || return 1
  [ "${line%$'\r'}" = "HTTP/1.1 100 Continue" ] || { echo "hold: '$line'"; return 1; }
  IFS= read -r -t 60 line <&"$fd" # the blank line after it
}

# Sends the rest of the upload on fd $1 and prints the status code.
finish() {
  local fd=$1 line
  cat "$dir/900k.json" >&"$fd"
  IFS= read -r -t 60 line <&"$fd" || return 1
  line=${line#HTTP/1.1 }
  echo "${line%% *}"
}

# POSTs FILE (more curl options after it); prints the last status code,
# 000 when no answer came; headers go to $dir/hdr.
send() {
  local file=$1; shift
  curl -s -o "$dir/resp" -D "$dir/hdr" -w '%{http_code}' -H 'Content-Type: application/json' "$@" \
    --data-binary "@$file" "$URL"
}
chunked=(-H 'Transfer-Encoding: chunked')

hold 3 || fail "first upload: no 100 Continue"
hold 4 || fail "second upload: no 100 Continue"

# Expect: 100-continue (curl adds it only above 1 MB): the answer comes
# before the body is sent, which a sender still writing could otherwise
# lose to the reset of a connection closed with its body unread
code=$(send "$dir/900k.json" -H 'Expect: 100-continue')
[ "$code" = 429 ] || fail "a 900 KB body over the budget: $code, not 429"
grep -qi '^Retry-After: [0-9]' "$dir/hdr" || fail "429 without Retry-After: $(cat "$dir/hdr")"
grep -q '"code":8' "$dir/resp" || fail "429 without a RESOURCE_EXHAUSTED Status: $(cat "$dir/resp")"
code=$(send "$dir/300k.json" "${chunked[@]}")
[ "$code" = 429 ] || fail "a chunked 300 KB body over the budget: $code, not 429"
grep -qi '^Retry-After: [0-9]' "$dir/hdr" || fail "chunked 429 without Retry-After"
echo "ok   over the in-flight budget: 429 with Retry-After (Content-Length and chunked)"

[ "$(finish 3)" = 200 ] || fail "the first held upload was not answered 200"
[ "$(finish 4)" = 200 ] || fail "the second held upload was not answered 200"
exec 3>&- 4>&-

code=$(send "$dir/1600k.json" "${chunked[@]}")
[ "$code" = 413 ] || fail "a chunked 1.6 MB body over --max-body 1M: $code, not 413"
grep -q 'larger than' "$dir/resp" || fail "413: $(cat "$dir/resp")"
echo "ok   a chunked body over --max-body: 413"

code=$(send "$dir/3m.json" "${chunked[@]}")
# no final status: 000, or the 100 Continue curl got before it was cut off
[ "$code" -lt 200 ] || fail "a chunked 3 MB body beyond twice --max-body: $code, not cut off"
echo "ok   a chunked body beyond twice --max-body: cut off"

[ "$(metric 'ignis_collect_requests_total{code="429"}')" = 2 ] || fail "429 counted $(metric 'ignis_collect_requests_total{code="429"}')"
[ "$(metric 'ignis_collect_requests_total{code="413"}')" = 1 ] || fail "413 counted $(metric 'ignis_collect_requests_total{code="413"}')"
[ "$(metric 'ignis_collect_requests_total{code="200"}')" = 2 ] || fail "200 counted $(metric 'ignis_collect_requests_total{code="200"}')"
[ "$(metric ignis_collect_requests_closed_total)" = 1 ] || fail "closed counted $(metric ignis_collect_requests_closed_total)"
echo "ok   /metrics counts the answers sent (2 x 200, 2 x 429, 1 x 413) and the one cut off"

# Sends a raw request with these Content-Length values; prints the status code.
raw_lengths() {
  local body='{"resourceSpans":[]}' line hdrs=""
  for v in "$@"; do hdrs+="Content-Length: $v"$'\r\n'; done
  exec 5<>/dev/tcp/127.0.0.1/$PORT || return 1
  printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n%s\r\n%s' \
    "$hdrs" "$body" >&5
  IFS= read -r -t 60 line <&5
  exec 5>&-
  line=${line#HTTP/1.1 }
  echo "${line%% *}"
}
[ "$(raw_lengths 20 5)" = 400 ] || fail "Content-Length 20 and 5: not 400"
[ "$(raw_lengths 5 20)" = 400 ] || fail "Content-Length 5 and 20: not 400"
[ "$(raw_lengths 20 20)" = 200 ] || fail "Content-Length 20 twice: not 200"
[ "$(metric 'ignis_collect_requests_total{code="400"}')" = 2 ] || fail "400 counted"
echo "ok   conflicting Content-Length headers: 400; an identical repeat: 200"

stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
