#!/usr/bin/env bash
# bench/collect.sh — `ignis collect`: ingest from libignis services over
# OTLP/HTTP protobuf into the SQLite store, and the store's read side.
#
# Two traced services (tests/collect/emit: the public API, the batch
# processor and the OTLP/HTTP exporter, flow-controlled so nothing is
# dropped) send SPANS spans each, in traces of 20, to one collector on
# loopback.  The rate is the spans committed to the store (counted on
# /metrics) divided by the wall time from the services' start to the last
# commit; the receiver's peak RSS comes from /proc.  A trace of 10,000
# spans is added, then bench/collect_read times what `ignis view` reads:
# the trace list, that trace, the operations.  On 2 cores the services,
# the HTTP threads and the writer share the CPUs; wall-clock figures
# depend on what else runs.  So bench/collect_ingest then prints the
# collector's own CPU per span by stage (decode, store) without the load
# generator, in CPU time: the figure that holds on a busy machine.
set -euo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
EMIT=$B/tests/collect/emit
READ=$B/bench/collect_read
STAGES=$B/bench/collect_ingest
for f in "$IGNIS" "$EMIT" "$READ" "$STAGES" "$B/libignis-collect.so"; do
  [ -e "$f" ] || { echo "collect.sh: $f not built (make bench)"; exit 1; }
done
SPANS=${COLLECT_BENCH_SPANS:-500000} # per service
dir=$(mktemp -d)
cpid=""
cleanup() { [ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

"$IGNIS" collect --listen 127.0.0.1:0 --db "$dir/bench.db" --retain 0 --max-db-mb 0 -q ${COLLECT_BENCH_ARGS:-} >"$dir/out" 2>"$dir/err" &
cpid=$!
for _ in $(seq 600); do grep -q '^listening on' "$dir/out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/out")
[ -n "$port" ] || { echo "collect.sh: ignis collect did not start"; cat "$dir/err"; exit 1; }
stored() { curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^ignis_collect_spans_stored_total //p'; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$cpid/stat"; }
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$port/v1/traces IGNIS_TRACE_QUIET=1

echo "== ignis collect: OTLP/HTTP protobuf from 2 libignis services into the store (target >= 200,000 spans/s, RSS <= 128 MB)"
total=$((2 * SPANS))
t0=$(date +%s.%N)
OTEL_SERVICE_NAME=bench-a /usr/bin/time -f 'cpu %U %S' -o "$dir/a.time" "$EMIT" "$SPANS" 20 >"$dir/a.out" &
a=$!
OTEL_SERVICE_NAME=bench-b /usr/bin/time -f 'cpu %U %S' -o "$dir/b.time" "$EMIT" "$SPANS" 20 >"$dir/b.out" &
b=$!
wait $a $b
t_sent=$(date +%s.%N)
until [ "$(stored)" -ge "$total" ]; do sleep 0.02; done
t1=$(date +%s.%N)
cat "$dir/a.out" "$dir/b.out" | grep -q 'dropped [1-9]\|failed [1-9]' && { echo "collect.sh: the services lost spans:"; cat "$dir/a.out" "$dir/b.out"; exit 1; }
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$cpid/status")
threads=$(for t in /proc/$cpid/task/*; do awk -v n="$(cat "$t/comm")" '{printf "%s %.2f s, ", n, ($14 + $15) / 100}' "$t/stat"; done)
refused=$(curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^ignis_collect_requests_total{code="429"} //p')
svc_cpu=$(cat "$dir/a.time" "$dir/b.time" | awk '/^cpu/ {s += $2 + $3} END {printf "%.2f", s}')
awk -v n="$total" -v t0="$t0" -v ts="$t_sent" -v t1="$t1" -v hwm="$hwm" -v cpu="$(cpu_s)" -v scpu="$svc_cpu" \
    -v refused="${refused:-0}" -v threads="${threads%, }" 'BEGIN {
  printf "  %d spans stored in %.2f s = %.0f spans/s (services done after %.2f s; %d requests answered 429)\n",
         n, t1 - t0, n / (t1 - t0), ts - t0, refused
  printf "  receiver: peak RSS %.1f MB, CPU %.2f s = %.2f us per span (HTTP threads + writer + checkpoints)\n",
         hwm / 1024, cpu, cpu * 1e6 / n
  printf "  receiver threads: %s\n", threads
  printf "  services: CPU %.2f s = %.2f us per span (spans, batch processor, OTLP encoding, HTTP)\n", scpu, scpu * 1e6 / n }'

OTEL_SERVICE_NAME=bench-wide "$EMIT" 10000 10000 >/dev/null
until [ "$(stored)" -ge $((total + 10000)) ]; do sleep 0.02; done
kill -TERM "$cpid"
wait "$cpid" || true
cpid=""
echo "== the store ignis view reads (median of 5, read-only connection)"
"$READ" "$dir/bench.db"
echo "  for scale: otel-tui keeps the last 1000 root spans in memory; Jaeger all-in-one needs a storage service"
"$STAGES" "${COLLECT_STAGE_SPANS:-300000}" 5
"$STAGES" "${COLLECT_STAGE_SPANS:-300000}" 3 50000 | tail -1
