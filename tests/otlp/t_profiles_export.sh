#!/usr/bin/env bash
# tests/otlp/t_profiles_export.sh — OTLP profiles export against a fake
# collector that decodes requests with its own schema
# (tests/otlp/profiles_collector.py); every check compares what the
# collector decoded with the pprof file the same run wrote.
#   - `ignis record --export` (protobuf + gzip, then OTLP/JSON): stacks,
#     values, thread attributes, resource, build ids and htlhash
#   - span links (trace_id/span_id labels) and several value types
#   - 413: the request is halved until the pieces fit, nothing is lost
#   - 429 with Retry-After and 503 are retried; 400 is not, and shows the
#     collector's message; 404 says the collector has no profiles support
#   - OTEL_EXPORTER_OTLP_HEADERS reach the collector
#   - a collector that is down: one clear error, the file is still written
set -uo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
SEND=$B/tests/otlp/send_profile
COLLECTOR=tests/otlp/profiles_collector.py
[ -x "$IGNIS" ] && [ -x "$SEND" ] || { echo "build first (make tests-build)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }
dir=$(mktemp -d)
export IGNIS_CACHE_DIR=$dir/cache
pids=()
trap 'for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT OTEL_EXPORTER_OTLP_PROTOCOL \
      OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL OTEL_EXPORTER_OTLP_COMPRESSION OTEL_EXPORTER_OTLP_HEADERS \
      OTEL_SERVICE_NAME OTEL_RESOURCE_ATTRIBUTES
export IGNIS_OTLP_RETRY_BASE_MS=10

# start NAME [OPTIONS...]: a collector writing $dir/NAME.jsonl; sets URL
start() {
  local name=$1; shift
  python3 "$COLLECTOR" serve --port-file "$dir/$name.port" --out "$dir/$name.jsonl" "$@" 2>"$dir/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    [ -s "$dir/$name.port" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$dir/$name.port" ] || { cat "$dir/$name.err"; fail "the fake collector did not start"; }
  URL=http://127.0.0.1:$(cat "$dir/$name.port")
  : >>"$dir/$name.jsonl"
}
posts() { wc -l <"$dir/$1.jsonl"; }
statuses() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["status"]) for l in open(sys.argv[1])))' "$dir/$1.jsonl"; }
compare() { python3 "$COLLECTOR" compare --requests "$dir/$1.jsonl" "${@:2}" || fail "$1: the collector's samples differ from the pprof"; }

# ---- ignis record --export ---------------------------------------------------
if "$IGNIS" record -q -o "$dir/probe.pb.gz" -- true 2>"$dir/probe.err"; then
  start rec
  OTEL_EXPORTER_OTLP_ENDPOINT=$URL OTEL_EXPORTER_OTLP_COMPRESSION=gzip OTEL_SERVICE_NAME=shares-test \
    "$IGNIS" record --export -o "$dir/rec.pb.gz" -- "$B/samples/cpu/cpu_shares" 1 >/dev/null 2>"$dir/rec.err" \
    || { cat "$dir/rec.err"; fail "record --export"; }
  grep -q "sent the profile to $URL/v1development/profiles" "$dir/rec.err" || { cat "$dir/rec.err"; fail "no 'sent' line"; }
  pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$dir/rec.err")
  compare rec --pprof "$dir/rec.pb.gz" --resource process.executable.name=cpu_shares --resource "process.pid=$pid" \
    --resource service.name=shares-test --resource "host.name=$(python3 -c 'import socket; print(socket.gethostname())')" \
    --mapping-attr process.executable.build_id.htlhash --check-htlhash
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); sys.exit(not r["gzip"])' "$dir/rec.jsonl" \
    || fail "record --export: OTEL_EXPORTER_OTLP_COMPRESSION=gzip was not applied"
  echo "ok   record --export (protobuf, gzip): same samples as the pprof, resource, build ids, htlhash"

  # the fresh profile through OTLP and back keeps everything pprof holds
  "$IGNIS" convert "$dir/rec.pb.gz" -o "$dir/rec.otlp.pb" && "$IGNIS" convert "$dir/rec.otlp.pb" -o "$dir/rec2.pb.gz" \
    || fail "record profile: convert through OTLP"
  diff <("$IGNIS" report "$dir/rec.pb.gz" | tail -n +2) <("$IGNIS" report "$dir/rec2.pb.gz" | tail -n +2) \
    || fail "record profile: ignis report differs after the OTLP round trip"
  if command -v go >/dev/null; then
    export GOCACHE=$dir/gocache GOPROXY=off HOME=${HOME:-$dir}
    diff <(go tool pprof -raw "$dir/rec.pb.gz" 2>&1) <(go tool pprof -raw "$dir/rec2.pb.gz" 2>&1) | head -20 >"$dir/raw.diff"
    [ -s "$dir/raw.diff" ] && { cat "$dir/raw.diff"; fail "record profile: go tool pprof -raw differs after the OTLP round trip"; }
  fi
  echo "ok   the recorded profile: pprof -> OTLP -> pprof unchanged"

  start recjson
  OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT=$URL/v1development/profiles OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL=http/json \
    "$IGNIS" record -q --export -o "$dir/recjson.pb.gz" -- "$B/samples/cpu/cpu_shares" 1 >/dev/null 2>"$dir/recjson.err" \
    || { cat "$dir/recjson.err"; fail "record --export (JSON)"; }
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); sys.exit(not r["json"])' "$dir/recjson.jsonl" \
    || fail "OTEL_EXPORTER_OTLP_PROFILES_PROTOCOL=http/json was not applied"
  compare recjson --pprof "$dir/recjson.pb.gz"
  echo "ok   record --export (OTLP/JSON)"

  # a collector that is down: one error, exit 125 (ignis failed, -- CMD), the profile is still written
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 IGNIS_OTLP_RETRY_MAX_ATTEMPTS=2 \
    "$IGNIS" record -q --export -o "$dir/down.pb.gz" -- "$B/samples/cpu/cpu_shares" 0.2 >/dev/null 2>"$dir/down.err"
  [ $? -eq 125 ] || fail "record --export to a collector that is down did not exit 125"
  grep -q 'ignis record: --export: http://127.0.0.1:1/v1development/profiles: ' "$dir/down.err" \
    || { cat "$dir/down.err"; fail "no one-line error for a collector that is down"; }
  [ -s "$dir/down.pb.gz" ] || fail "the profile was not written when the export failed"
  echo "ok   record --export to a collector that is down"

  # continuous: one profile per interval, each sent as written (in order,
  # through the bounded queue); the first request is the first file
  start cont
  OTEL_EXPORTER_OTLP_ENDPOINT=$URL "$IGNIS" record --every 0.5s --export -o "$dir/cont/" \
    -- "$B/samples/cpu/cpu_shares" 2 >/dev/null 2>"$dir/cont.err" || { cat "$dir/cont.err"; fail "record --every --export"; }
  files=$(ls "$dir/cont/" | wc -l)
  n=$(posts cont)
  [ "$files" -ge 2 ] && [ "$n" -ge $((files - 1)) ] && [ "$n" -le "$files" ] ||
    { cat "$dir/cont.err"; fail "record --every --export: $n requests for $files interval files"; }
  grep -q "ignis record: --export: $n profiles sent to $URL/v1development/profiles, 0 failed, 0 dropped" "$dir/cont.err" ||
    { cat "$dir/cont.err"; fail "record --every --export: no summary of what was sent"; }
  head -1 "$dir/cont.jsonl" >"$dir/cont1.jsonl"
  python3 "$COLLECTOR" compare --requests "$dir/cont1.jsonl" --pprof "$(ls "$dir"/cont/*.pb.gz | head -1)" ||
    fail "record --every --export: the first request differs from the first interval's file"
  echo "ok   record --every --export: $n intervals sent for $files files"

  # continuous to a collector that is down: the recording and its files go
  # on, what could not be sent is counted, the command's status is kept
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 IGNIS_OTLP_RETRY_MAX_ATTEMPTS=2 \
    "$IGNIS" record --every 0.5s --export -o "$dir/contdown/" -- "$B/samples/cpu/cpu_shares" 2 >/dev/null 2>"$dir/contdown.err"
  [ $? -eq 0 ] || { cat "$dir/contdown.err"; fail "record --every --export to a collector that is down failed"; }
  [ "$(ls "$dir/contdown/" | wc -l)" -ge 2 ] || { ls -l "$dir/contdown/"; cat "$dir/contdown.err"; fail "record --every --export (down): interval files missing"; }
  lost=$(sed -n 's|^ignis record: --export: 0 profiles sent to http://127.0.0.1:1/v1development/profiles, \([0-9]*\) failed, \([0-9]*\) dropped.*|\1 \2|p' "$dir/contdown.err")
  files=$(ls "$dir/contdown/" | wc -l) # (an empty last interval is not sent)
  [ -n "$lost" ] && [ $(( ${lost% *} + ${lost#* } )) -ge $((files - 1)) ] && [ $(( ${lost% *} + ${lost#* } )) -le "$files" ] ||
    { cat "$dir/contdown.err"; fail "record --every --export (down): the losses ($lost) are not every interval"; }
  echo "ok   record --every --export to a collector that is down: files written, losses counted"
else
  echo "skip record --export: ignis record cannot sample here ($(tail -1 "$dir/probe.err"))"
fi

# ---- links, several value types, a zero sample ----------------------------------
start links
OTEL_EXPORTER_OTLP_ENDPOINT=$URL "$SEND" --fixture "$dir/fixture.pb.gz" >/dev/null || fail "send the fixture"
compare links --pprof "$dir/fixture.pb.gz" --links 8
echo "ok   links and two value types"

# ---- 413: halved until it fits --------------------------------------------------------
"$IGNIS" convert tests/data/go_heap.pb.gz -o "$dir/heap.otlp.pb" || fail "convert to OTLP"
size=$(stat -c %s "$dir/heap.otlp.pb")
start split --max-body $((size * 2 / 3))
OTEL_EXPORTER_OTLP_ENDPOINT=$URL "$SEND" tests/data/go_heap.pb.gz >"$dir/split.out" 2>"$dir/split.err" \
  || { cat "$dir/split.err"; fail "413: the split requests were not all accepted"; }
grep -q ' splits [1-9]' "$dir/split.out" || fail "413: no split counted ($(cat "$dir/split.out"))"
[[ " $(statuses split) " == *" 413 "* ]] || fail "413: the collector never answered 413"
compare split --pprof tests/data/go_heap.pb.gz
echo "ok   413 split into $(grep -c '"status": 200' "$dir/split.jsonl") requests, nothing lost"

# ---- 429 with Retry-After, 503: retried ---------------------------------------------------
start retry --script 429:1,503
OTEL_EXPORTER_OTLP_ENDPOINT=$URL "$SEND" tests/data/go_cpu.pb.gz >"$dir/retry.out" 2>"$dir/retry.err" \
  || { cat "$dir/retry.err"; fail "429/503 were not retried to success"; }
[ "$(statuses retry)" = "429 503 200" ] || fail "429/503: answers $(statuses retry), want 429 503 200"
compare retry --pprof tests/data/go_cpu.pb.gz
echo "ok   429 (Retry-After) and 503 retried"

# ---- 400: not retried, the collector's message ----------------------------------------------
start bad --script "400:profile has no samples"
OTEL_EXPORTER_OTLP_ENDPOINT=$URL "$SEND" tests/data/go_cpu.pb.gz >/dev/null 2>"$dir/bad.err" && fail "400 succeeded"
[ "$(posts bad)" -eq 1 ] || fail "400 was retried ($(posts bad) posts)"
grep -q "HTTP 400 Bad Request (not retried): profile has no samples" "$dir/bad.err" \
  || { cat "$dir/bad.err"; fail "400: no clear error"; }
echo "ok   400 not retried: $(cat "$dir/bad.err")"

# ---- 404: a collector without profiles support ------------------------------------------------
start nf
OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT=$URL/v1/traces "$SEND" tests/data/go_cpu.pb.gz >/dev/null 2>"$dir/nf.err" \
  && fail "404 succeeded"
grep -q "HTTP 404: the collector has no OTLP profiles endpoint.*service.profilesSupport" "$dir/nf.err" \
  || { cat "$dir/nf.err"; fail "404: no clear error"; }
[ "$(posts nf)" -eq 1 ] || fail "404 was retried"
echo "ok   404 explained: $(cat "$dir/nf.err")"

# ---- headers ----------------------------------------------------------------------------------
start hdr
OTEL_EXPORTER_OTLP_ENDPOINT=$URL OTEL_EXPORTER_OTLP_HEADERS="x-tenant=team%20a" OTEL_EXPORTER_OTLP_PROFILES_HEADERS="x-only=profiles" \
  "$SEND" tests/data/go_cpu.pb.gz >/dev/null || fail "send with headers"
python3 -c 'import json,sys; h=json.loads(open(sys.argv[1]).readline())["headers"]; sys.exit(h.get("x-only") != "profiles")' \
  "$dir/hdr.jsonl" || fail "OTEL_EXPORTER_OTLP_PROFILES_HEADERS did not reach the collector"
echo "ok   OTEL_EXPORTER_OTLP_PROFILES_HEADERS win over the general ones"
exit 0
