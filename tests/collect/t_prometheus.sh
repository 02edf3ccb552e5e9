#!/usr/bin/env bash
# tests/collect/t_prometheus.sh — /metrics through a real Prometheus.
#
# A libignis service sends spans with spread-out durations; Prometheus
# (Debian's package, on loopback, its own temp storage) scrapes `ignis
# collect` every second.  Once a scrape has seen every span (polled through
# Prometheus's HTTP API, bounded), histogram_quantile(0.99, ...) is read
# (and 0.5) for each operation and compared with the exact percentile of
# the stored spans (nearest rank, computed by sqlite3 from the store): the
# estimate Prometheus interpolates must fall in the same spanmetrics
# bucket as the true value.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || { echo "prometheus not installed (scripts/deps.sh)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

start_collect
out=$(OTEL_SERVICE_NAME=prom-test emit 6000 3 spread) || fail "service: $out"
[ "$(echo "$out" | tail -1)" = "exported 6000 dropped 0 failed 0" ] || fail "service says $out"
wait_metric ignis_collect_spans_stored_total 6000 || fail "not all spans stored"

# A free port for Prometheus (it cannot report one it picked itself).
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ignis
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$dir/prometheus.log" 2>&1 &
_pids+=($!)
API=http://127.0.0.1:$pport/api/v1

# The value of an instant query's first result ("" when none yet).
query() {
  curl -sf --get "$API/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null
}

scraped_all() {
  [ "$(query 'sum(ignis_span_duration_seconds_count{service_name="prom-test"})')" = 6000 ]
}
poll 120 scraped_all || { tail -5 "$dir/prometheus.log"; fail "no scrape of all 6000 spans within 120 s"; }
echo "ok   Prometheus scraped ignis collect: 6000 spans in ignis_span_duration_seconds_count"

bounds=(0.002 0.004 0.006 0.008 0.010 0.050 0.100 0.200 0.400 0.800 1.0 1.4 2.0 5.0 10.0 15.0)
# Index of the spanmetrics bucket holding a duration in seconds.
bucket() {
  python3 -c 'import sys; b = [float(x) for x in sys.argv[2:]]; v = float(sys.argv[1]); print(next((i for i, x in enumerate(b) if v <= x), len(b)))' "$1" "${bounds[@]}"
}

checked=0
while IFS='|' read -r name n; do
  for q in 50 99; do
    rank=$(( (n * q + 99) / 100 )) # nearest rank: ceil(q% of n)
    exact=$(sql "SELECT (s.end_ns - s.start_ns) / 1e9 FROM spans s JOIN operations o ON o.id = s.operation
                 WHERE o.service = 'prom-test' AND o.name = '$name' ORDER BY s.end_ns - s.start_ns LIMIT 1 OFFSET $((rank - 1))")
    est=$(query "histogram_quantile(0.$q, sum by (le) (ignis_span_duration_seconds_bucket{service_name=\"prom-test\",span_name=\"$name\"}))")
    [ -n "$est" ] || fail "$name: no estimate from Prometheus"
    be=$(bucket "$exact")
    bp=$(bucket "$est")
    [ "$be" = "$bp" ] || fail "$name: p$q from the store ${exact}s is in bucket $be, Prometheus says ${est}s (bucket $bp)"
    echo "ok   $name ($n spans): p$q from the store ${exact}s, histogram_quantile(0.$q) ${est}s, same bucket"
  done
  checked=$((checked + 1))
done < <(sql "SELECT o.name, count(*) FROM spans s JOIN operations o ON o.id = s.operation
              WHERE o.service = 'prom-test' GROUP BY o.name")
[ "$checked" -ge 3 ] || fail "only $checked operations checked"

# Counts per span kind and status agree with the store too.
[ "$(query 'sum(ignis_span_duration_seconds_count{service_name="prom-test",status_code="STATUS_CODE_ERROR"})')" = \
  "$(sql "SELECT count(*) FROM spans s JOIN operations o ON o.id = s.operation WHERE o.service = 'prom-test' AND s.status_code = 2")" ] ||
  fail "error counts differ"
[ "$(query 'sum(ignis_span_duration_seconds_count{service_name="prom-test",span_kind="SPAN_KIND_SERVER"})')" = 2000 ] ||
  fail "SERVER spans: want 2000 (one root per trace of 3)"
echo "ok   counts by status code and span kind agree with the store"
