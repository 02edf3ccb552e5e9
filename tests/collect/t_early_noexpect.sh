#!/usr/bin/env bash
# tests/collect/t_early_noexpect.sh — every answer `ignis collect` decides
# from a request's headers alone, not only 413 and 429
# (t_refusals_noexpect.sh), reaches a sender that does not wait for
# "100 Continue" (no `Expect: 100-continue`): 404 (unknown path), 405
# (not POST), 415 (Content-Type, Content-Encoding).  Such a sender is
# already writing its body; answered at the headers, the connection
# closed with that body unread and the kernel's reset reached the sender
# while it was still writing: a client that writes its whole body before
# it reads (python3 below, most SDKs' HTTP clients) got "Connection reset
# by peer" and never the answer.  The collector now reads the body on,
# discards it and answers at its end.  Bodies of 4 MB, far beyond what
# the socket buffers of a loopback connection hold; also with curl, which
# reads while it uploads; /metrics counts every answer sent.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

start_collect --max-body 4M
BASE=http://127.0.0.1:$PORT
head -c 4000000 /dev/zero | tr '\0' ' ' >"$dir/big"

# METHOD PATH CTYPE [CURL...]: the status code curl gets for the 4 MB
# body sent without Expect (000 when the connection was reset).
curl_post() {
  local method=$1 path=$2 ctype=$3; shift 3
  curl -s -o "$dir/resp" -w '%{http_code}' -X "$method" -H "Content-Type: $ctype" -H 'Expect:' "$@" \
    --data-binary "@$dir/big" "$BASE$path"
}

# WANT WHAT METHOD PATH CTYPE [HEADER]: three times each, raw and curl.
# Before the fix the raw client lost every answer to the reset; curl,
# which reads while it uploads and stops at an early answer, mostly won
# the race on an idle machine.
expect_code() {
  local want=$1 what=$2 method=$3 path=$4 ctype=$5 code; shift 5
  for i in 1 2 3; do
    code=$(raw_post "$dir/big" "$method" "$path" "$ctype" "$@")
    [ "$code" = "$want" ] || fail "raw client, 4 MB, $what (try $i): '$code', not $want"
  done
  for i in 1 2 3; do
    code=$(curl_post "$method" "$path" "$ctype" ${1:+-H "$1"})
    [ "$code" = "$want" ] || fail "curl without Expect, 4 MB, $what (try $i): '$code', not $want"
  done
  echo "ok   $what, no Expect: $want received (a raw client and curl, 3 times each)"
}

expect_code 404 "POST /v1/logs (unknown path)" POST /v1/logs application/json
grep -q 'not found' "$dir/resp" || fail "404: $(cat "$dir/resp")"
expect_code 405 "PUT /v1/traces (not POST)" PUT /v1/traces application/json
grep -q 'use POST' "$dir/resp" || fail "405: $(cat "$dir/resp")"
expect_code 415 "Content-Type text/plain" POST /v1/traces text/plain
grep -q "Content-Type 'text/plain' is not supported" "$dir/resp" || fail "415: $(cat "$dir/resp")"
expect_code 415 "Content-Encoding br" POST /v1/traces application/json 'Content-Encoding: br'
grep -q "Content-Encoding 'br' is not supported" "$dir/resp" || fail "415 (encoding): $(cat "$dir/resp")"

# a sender that waits for "100 Continue" still has its answer at once,
# before it sends the body (curl gives up waiting after 1 s without it)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Expect: 100-continue' \
  --expect100-timeout 60 --data-binary "@$dir/big" "$BASE/v1/logs")
[ "$code" = 404 ] || fail "curl with Expect: 100-continue: '$code', not 404"
echo "ok   with Expect: 100-continue, 404 received"

# the collector still takes bodies afterwards
printf '{"resourceSpans":[]}' >"$dir/empty.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Expect:' \
  --data-binary "@$dir/empty.json" "$BASE/v1/traces")
[ "$code" = 200 ] || fail "a request after the refusals: $code, not 200"

# 404 and 405 are counted as "other"
[ "$(metric 'ignis_collect_requests_total{code="other"}')" = 13 ] ||
  fail "404 and 405 counted $(metric 'ignis_collect_requests_total{code="other"}'), not 13"
[ "$(metric 'ignis_collect_requests_total{code="415"}')" = 12 ] ||
  fail "415 counted $(metric 'ignis_collect_requests_total{code="415"}'), not 12"
[ "$(metric 'ignis_collect_requests_total{code="200"}')" = 1 ] ||
  fail "200 counted $(metric 'ignis_collect_requests_total{code="200"}'), not 1"
[ "$(metric ignis_collect_requests_closed_total)" = 0 ] ||
  fail "closed counted $(metric ignis_collect_requests_closed_total), not 0"
echo "ok   /metrics counts the answers sent (13 x 404 or 405, 12 x 415, 1 x 200)"

stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
echo ok
