#!/usr/bin/env bash
# tests/collect/t_refusals_noexpect.sh — a 429 or 413 that `ignis collect`
# decides from a request's headers reaches a sender that does not wait
# for "100 Continue" (no `Expect: 100-continue`: curl -H 'Expect:', curl
# below 1 MB, most SDKs): the collector reads the body on, discards it
# (up to twice --max-body, as a chunked one) and answers at its end.
# Answered at the headers instead, the answer went out while the sender
# was still writing, and the connection closed with the body unread: the
# kernel's reset then threw the answer away before the sender read it.
# Checked with curl and with a raw client that writes its whole body
# before it reads (python3); /metrics counts every answer sent.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

# bodies of a few MB: more than the socket buffers of a loopback connection
# take, so a sender is still writing when an early answer goes out
start_collect --max-body 4M

# A valid OTLP/JSON request of exactly N bytes (blanks inside).
json_of_size() {
  { printf '{"resourceSpans":['; head -c $(($1 - 20)) /dev/zero | tr '\0' ' '; printf ']}'; } >"$2"
}
json_of_size 3900000 "$dir/big.json"
json_of_size 6500000 "$dir/over.json"

# Opens a connection on fd $1 and sends the headers of a 3.9 MB upload;
# true once the collector answers "100 Continue" (it has reserved the body).
hold() {
  local fd=$1 line
  eval "exec $fd<>/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3900000\r\nExpect: 100-continue\r\n\r\n' >&"$fd"
  IFS= read -r -t 60 line <&"$fd" || return 1
  [ "${line%$'\r'}" = "HTTP/1.1 100 Continue" ] || { echo "hold: '$line'"; return 1; }
  IFS= read -r -t 60 line <&"$fd"
}
finish() {
  local fd=$1 line
  cat "$dir/big.json" >&"$fd"
  IFS= read -r -t 60 line <&"$fd" || return 1
  line=${line#HTTP/1.1 }
  echo "${line%% *}"
}

hold 3 || fail "first upload: no 100 Continue"
hold 4 || fail "second upload: no 100 Continue"

# the budget is taken: a 3.9 MB body is refused from its headers
for i in 1 2 3; do
  code=$(curl -s -o "$dir/resp" -D "$dir/hdr" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Expect:' \
    --data-binary "@$dir/big.json" "$URL")
  [ "$code" = 429 ] || fail "curl without Expect, 3.9 MB over the budget (try $i): '$code', not 429"
  grep -qi '^Retry-After: [0-9]' "$dir/hdr" || fail "429 without Retry-After: $(cat "$dir/hdr")"
  grep -q '"code":8' "$dir/resp" || fail "429 without a RESOURCE_EXHAUSTED Status: $(cat "$dir/resp")"
done
for i in 1 2 3; do
  code=$(raw_post "$dir/big.json" POST /v1/traces application/json)
  [ "$code" = 429 ] || fail "raw client, 3.9 MB over the budget (try $i): '$code', not 429"
done
echo "ok   over the in-flight budget, no Expect: 429 received (curl and a raw client, 3 times each)"

[ "$(finish 3)" = 200 ] || fail "the first held upload was not answered 200"
[ "$(finish 4)" = 200 ] || fail "the second held upload was not answered 200"
exec 3>&- 4>&-

# over --max-body by its Content-Length
for i in 1 2 3; do
  code=$(curl -s -o "$dir/resp" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Expect:' \
    --data-binary "@$dir/over.json" "$URL")
  [ "$code" = 413 ] || fail "curl without Expect, 6.5 MB over --max-body 4M (try $i): '$code', not 413"
  grep -q 'larger than' "$dir/resp" || fail "413: $(cat "$dir/resp")"
  code=$(raw_post "$dir/over.json" POST /v1/traces application/json)
  [ "$code" = 413 ] || fail "raw client, 6.5 MB over --max-body 4M (try $i): '$code', not 413"
done
echo "ok   over --max-body, no Expect: 413 received (curl and a raw client, 3 times each)"

# the collector still takes bodies afterwards (the budget was given back)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Expect:' \
  --data-binary "@$dir/big.json" "$URL")
[ "$code" = 200 ] || fail "a 3.9 MB body after the refusals: $code, not 200"

[ "$(metric 'ignis_collect_requests_total{code="429"}')" = 6 ] ||
  fail "429 counted $(metric 'ignis_collect_requests_total{code="429"}'), not 6"
[ "$(metric 'ignis_collect_requests_total{code="413"}')" = 6 ] ||
  fail "413 counted $(metric 'ignis_collect_requests_total{code="413"}'), not 6"
[ "$(metric 'ignis_collect_requests_total{code="200"}')" = 3 ] ||
  fail "200 counted $(metric 'ignis_collect_requests_total{code="200"}'), not 3"
echo "ok   /metrics counts the answers sent (6 x 429, 6 x 413, 3 x 200)"

stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
echo ok
