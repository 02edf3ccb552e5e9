#!/usr/bin/env bash
# bench/collect.sh — `ignis collect`: ingest from OTLP/HTTP protobuf into
# the SQLite store, and the store's read side.
#
# Ingest is measured twice, each time into a new store of its own:
#   1. bench/collect_send replays pre-encoded requests (512 spans in traces
#      of 20, new trace ids in every request) over CONNS libcurl keep-alive
#      connections, as telemetrygen-like load tools do: the sender costs
#      a small part of the collector's CPU, so the figure is the
#      collector's;
#   2. two traced services (tests/collect/emit: the public API, the batch
#      processor and the OTLP/HTTP exporter, flow-controlled so nothing is
#      dropped) send SPANS spans each, in traces of 20: libignis as the
#      load, the services' own CPU beside.
# The rate is the spans committed to the store (counted on /metrics)
# divided by the wall time from the load's start to the last commit; the
# receiver's peak RSS comes from /proc.  On 2 cores the load, the HTTP
# threads and the writer share the CPUs; wall-clock figures depend on what
# else runs (the load average is printed).  So the CPU per span is printed
# too, with the rate it allows on 2 idle cores (the smaller of: 2 cores
# over the receiver's and the load's CPU per span; the writer thread, the
# one stage that cannot be split, over its own), and bench/collect_ingest
# then prints the collector's own CPU per span by stage (decode, store)
# without load generator or network.
# After the services' run a trace of 10,000 spans is added, then
# bench/collect_read times what `ignis view` reads: the trace list, that
# trace, the operations.
set -euo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
EMIT=$B/tests/collect/emit
SEND=$B/bench/collect_send
READ=$B/bench/collect_read
STAGES=$B/bench/collect_ingest
for f in "$IGNIS" "$EMIT" "$SEND" "$READ" "$STAGES" "$B/libignis-collect.so"; do
  [ -e "$f" ] || { echo "collect.sh: $f not built (make bench)"; exit 1; }
done
SPANS=${COLLECT_BENCH_SPANS:-500000} # per service; the sender sends twice as many
CONNS=${COLLECT_BENCH_CONNS:-4}
dir=$(mktemp -d)
cpid=""
cleanup() { [ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

start_collector() { # DB
  rm -f "$dir/out"
  "$IGNIS" collect --listen 127.0.0.1:0 --db "$1" --retain 0 --max-db-mb 0 -q ${COLLECT_BENCH_ARGS:-} >"$dir/out" 2>"$dir/err" &
  cpid=$!
  for _ in $(seq 600); do grep -q '^listening on' "$dir/out" && break; sleep 0.05; done
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/out")
  [ -n "$port" ] || { echo "collect.sh: ignis collect did not start"; cat "$dir/err"; exit 1; }
  export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$port/v1/traces IGNIS_TRACE_QUIET=1
}
stop_collector() {
  kill -TERM "$cpid"
  wait "$cpid" || true
  cpid=""
}
stored() { curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^ignis_collect_spans_stored_total //p'; }
# Prints the rate, the receiver's figures and the load's CPU (LOAD_CPU seconds).
report() { # SPANS T0 T_SENT T1 LOAD_CPU LOAD_WHAT
  local hwm threads refused cpu writer
  hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$cpid/status")
  threads=$(for t in /proc/$cpid/task/*; do awk -v n="$(cat "$t/comm")" '{printf "%s %.2f s, ", n, ($14 + $15) / 100}' "$t/stat"; done; true)
  refused=$(curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^ignis_collect_requests_total{code="429"} //p')
  cpu=$(awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$cpid/stat")
  writer=$(for t in /proc/$cpid/task/*; do [ "$(cat "$t/comm")" = ig-writer ] && awk '{printf "%.2f", ($14 + $15) / 100}' "$t/stat"; done; true)
  awk -v n="$1" -v t0="$2" -v ts="$3" -v t1="$4" -v hwm="$hwm" -v cpu="$cpu" -v lcpu="$5" -v what="$6" \
      -v refused="${refused:-0}" -v threads="${threads%, }" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v writer="${writer:-0}" 'BEGIN {
  printf "  %d spans stored in %.2f s = %.0f spans/s (load done after %.2f s; %d requests answered 429; load average %s)\n",
         n, t1 - t0, n / (t1 - t0), ts - t0, refused, load
  printf "  receiver: peak RSS %.1f MB, CPU %.2f s = %.2f us per span (HTTP threads + writer + checkpoints)\n",
         hwm / 1024, cpu, cpu * 1e6 / n
  printf "  receiver threads: %s\n", threads
  printf "  load: CPU %.2f s = %.2f us per span (%s)\n", lcpu, lcpu * 1e6 / n, what
  both = 2 * n / (cpu + lcpu); alone = writer > 0 ? n / writer : both
  printf "  CPU bound on 2 idle cores: %.0f spans/s (2 cores over receiver + load CPU per span; the writer thread alone %.0f spans/s)\n",
         both < alone ? both : alone, alone }'
}
wait_stored() { until [ "$(stored)" -ge "$1" ]; do sleep 0.02; done; }

echo "== ignis collect: pre-encoded OTLP/HTTP protobuf over $CONNS keep-alive connections into the store (target >= 200,000 spans/s, RSS <= 128 MB)"
start_collector "$dir/send.db"
total=$(( (2 * SPANS + 511) / 512 * 512 )) # whole requests
t0=$(date +%s.%N)
/usr/bin/time -f 'cpu %U %S' -o "$dir/send.time" "$SEND" "http://127.0.0.1:$port/v1/traces" "$total" "$CONNS" >"$dir/send.out"
t_sent=$(date +%s.%N)
wait_stored "$total"
t1=$(date +%s.%N)
report "$total" "$t0" "$t_sent" "$t1" "$(awk '/^cpu/ {printf "%.2f", $2 + $3}' "$dir/send.time")" \
       "bench/collect_send: copies of encoded requests, new trace ids patched in"
stop_collector
# every copy carried new trace ids: 26 traces per request of 512 spans in traces of 20
traces=$(sqlite3 "$dir/send.db" 'SELECT count(*) FROM traces')
[ "$traces" -eq $((total / 512 * 26)) ] || { echo "collect.sh: $traces traces stored, not $((total / 512 * 26)): the sender repeated trace ids"; exit 1; }

echo "== ignis collect: OTLP/HTTP protobuf from 2 libignis services into the store"
start_collector "$dir/bench.db"
total=$((2 * SPANS))
t0=$(date +%s.%N)
OTEL_SERVICE_NAME=bench-a /usr/bin/time -f 'cpu %U %S' -o "$dir/a.time" "$EMIT" "$SPANS" 20 >"$dir/a.out" &
a=$!
OTEL_SERVICE_NAME=bench-b /usr/bin/time -f 'cpu %U %S' -o "$dir/b.time" "$EMIT" "$SPANS" 20 >"$dir/b.out" &
b=$!
wait $a $b
t_sent=$(date +%s.%N)
wait_stored "$total"
t1=$(date +%s.%N)
cat "$dir/a.out" "$dir/b.out" | grep -q 'dropped [1-9]\|failed [1-9]' && { echo "collect.sh: the services lost spans:"; cat "$dir/a.out" "$dir/b.out"; exit 1; }
report "$total" "$t0" "$t_sent" "$t1" "$(cat "$dir/a.time" "$dir/b.time" | awk '/^cpu/ {s += $2 + $3} END {printf "%.2f", s}')" \
       "the services: spans, batch processor, OTLP encoding, HTTP"

OTEL_SERVICE_NAME=bench-wide "$EMIT" 10000 10000 >/dev/null
wait_stored $((total + 10000))
stop_collector
echo "== the store ignis view reads (median of 5, read-only connection)"
"$READ" "$dir/bench.db"
echo "  for scale: otel-tui keeps the last 1000 root spans in memory; Jaeger all-in-one needs a storage service"
"$STAGES" "${COLLECT_STAGE_SPANS:-300000}" 5
"$STAGES" "${COLLECT_STAGE_SPANS:-300000}" 3 50000 | tail -1
