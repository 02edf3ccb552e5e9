#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: the main jobs of ignis on the bundled samples.
#
#   1. the two sample HTTP services, traced with libignis, under load,
#      sending their spans over OTLP/HTTP to `ignis collect` (a local
#      SQLite trace store), while `ignis record --wall -p` profiles both
#      processes (on and off the CPU, samples labelled with their span);
#      every 10th request takes the backend's slow path, which blocks on a
#      lock (record_in_ledger) inside its 'GET /work' span;
#   2. a CPU profile of the two-thread sample (`ignis record -- CMD`), shown
#      as the pprof -top table, folded stacks and an SVG flame graph;
#   3. an allocation profile of the allocation sample (`--alloc`);
# and ends with the `ignis view` commands to explore what was written,
# the traces first.
# Everything lands in demo-out/.  Traffic goes to 127.0.0.1 only.
set -euo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
OUT=demo-out
rm -rf "$OUT"; mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Starts a sample service in the background and echoes "PID PORT".
start_service() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "demo: $* failed:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$port" ] || { echo "demo: $* did not start" >&2; exit 1; }
  echo "$pid $port"
}

step "1. Two traced services under load, sending spans to ignis collect, profiled live with ignis record --wall -p"
"$IGNIS" collect --listen 127.0.0.1:0 --db "$OUT/traces.db" >"$OUT/collect.out" 2>"$OUT/collect.log" &
collect_pid=$!
pids+=("$collect_pid")
for _ in $(seq 1 200); do grep -q '^listening on' "$OUT/collect.out" && break; sleep 0.05; done
collect_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$OUT/collect.out")
[ -n "$collect_port" ] || { echo "demo: ignis collect did not start:" >&2; cat "$OUT/collect.log" >&2; exit 1; }
echo "ignis collect pid $collect_pid: OTLP/HTTP on 127.0.0.1:$collect_port, store $OUT/traces.db"
export OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$collect_port OTEL_BSP_SCHEDULE_DELAY=200
read -r be_pid be_port < <(OTEL_SERVICE_NAME=demo-backend \
  start_service "$OUT/backend.log" "$B/samples/sample-backend" --port 0)
pids+=("$be_pid")
read -r fe_pid fe_port < <(OTEL_SERVICE_NAME=demo-frontend \
  start_service "$OUT/frontend.log" "$B/samples/sample-frontend" --backend "http://127.0.0.1:$be_port" --port 0)
pids+=("$fe_pid")
echo "backend pid $be_pid on 127.0.0.1:$be_port, frontend pid $fe_pid on 127.0.0.1:$fe_port"
"$IGNIS" record --wall -p "$fe_pid,$be_pid" -F 999 -d 4 -o "$OUT/services.pb.gz" &
rec=$!
"$B/samples/sample-load" --url "http://127.0.0.1:$fe_port/hello?items=20000" --count 3000 --fail-every 100 \
  --slow-every 10
wait "$rec"
kill -TERM "$fe_pid" "$be_pid"; wait "$fe_pid" "$be_pid" 2>/dev/null || true
grep -h '^counters' "$OUT/frontend.log" "$OUT/backend.log" || true
curl -s "http://127.0.0.1:$collect_port/metrics" | grep -E '^ignis_span_duration_seconds_count' | head -4 || true
kill -TERM "$collect_pid"; wait "$collect_pid" || true
tail -1 "$OUT/collect.log"
if command -v sqlite3 >/dev/null; then
  sqlite3 -readonly "$OUT/traces.db" "SELECT count(*) || ' traces, ' || sum(span_count) || ' spans, ' ||
    sum(error_count > 0) || ' with errors, in ' || '$OUT/traces.db' FROM traces"
fi
"$IGNIS" report "$OUT/services.pb.gz" --top 10
echo
echo "Samples taken inside a span carry trace_id, span_id and span_name: the 'GET /work' spans alone"
"$IGNIS" report "$OUT/services.pb.gz" --span-name 'GET /work' --top 5 || true
echo
echo "Why the slow 'GET /work' requests were slow: their wall time off the CPU, blocked on the ledger lock"
BLOCKED_CMD=("$IGNIS" report "$OUT/services.pb.gz" --span-name 'GET /work' --tagignore state=running
  --focus record_in_ledger --top 8)
echo "  $(printf '%q ' "${BLOCKED_CMD[@]}")"
"${BLOCKED_CMD[@]}" || true

step "2. CPU profile of a two-thread sample: ignis record -- CMD"
"$IGNIS" record -F 999 -o "$OUT/cpu.pb.gz" -- "$B/samples/cpu/cpu_shares" 3
"$IGNIS" report "$OUT/cpu.pb.gz" --top 10
"$IGNIS" convert "$OUT/cpu.pb.gz" -o "$OUT/cpu.folded"
"$IGNIS" flame "$OUT/cpu.pb.gz" -o "$OUT/cpu.svg" --title "ignis demo: cpu_shares"
"$IGNIS" flame "$OUT/services.pb.gz" -o "$OUT/services.svg" --title "ignis demo: sample services"
echo "wrote $OUT/cpu.pb.gz, $OUT/cpu.folded, $OUT/cpu.svg, $OUT/services.svg"

step "3. Allocation profile: ignis record --alloc -- CMD"
"$IGNIS" record --alloc -o "$OUT/heap.pb.gz" -- "$B/samples/alloc/allocsites" -r 20000 -t 2
"$IGNIS" report "$OUT/heap.pb.gz" --value alloc_space --top 6
"$IGNIS" report "$OUT/heap.pb.gz" --value inuse_space --top 3

step "Explore"
cat <<EOF
  $IGNIS view $OUT/traces.db         # the services' traces: list, waterfall, operations
  $IGNIS view $OUT/traces.db --profile $OUT/services.pb.gz   # F: a span's (or trace's) flame graph; in operations (p), slow vs fast
  $IGNIS view $OUT/cpu.pb.gz          # flame graph, top table (t), callers (c), search (/)
  $IGNIS view $OUT/services.pb.gz --span-name 'GET /work'   # one operation's wall time (span labels)
  $IGNIS report $OUT/services.pb.gz --span-name 'GET /work' --tagignore state=running --focus record_in_ledger
                                      # the slow path's blocked stack under its span (futex wait on the ledger lock)
  $IGNIS flame $OUT/services.pb.gz --slow-vs-fast 'GET /work' -o $OUT/slow-vs-fast.svg  # slowest spans vs the rest
  $IGNIS view $OUT/heap.pb.gz         # s switches alloc_space / inuse_space
  open $OUT/cpu.svg in a browser; go tool pprof -top $OUT/cpu.pb.gz agrees with ignis report
EOF
