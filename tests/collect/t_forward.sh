#!/usr/bin/env bash
# tests/collect/t_forward.sh — `ignis collect --forward URL`.
#
# Upstream 1 is a tiny HTTP server that keeps every request it gets: the
# bodies forwarded must be the very bytes sent to `ignis collect`, with
# the same Content-Type and Content-Encoding (protobuf, gzip JSON).
# Upstream 2 is another `ignis collect`: a libignis service sends through
# the first one, and both stores end up with the same spans.  With the
# upstream down, the local store still takes everything and the spans
# that could not be forwarded are counted.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

mkdir "$dir/got"
cat >"$dir/upstream.py" <<'EOF'
import http.server, os, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        H.n += 1
        with open(os.path.join(out, "%03d.body" % H.n), "wb") as f: f.write(body)
        with open(os.path.join(out, "%03d.head" % H.n), "w") as f:
            f.write("%s %s %s\n" % (self.path, self.headers.get("Content-Type"), self.headers.get("Content-Encoding")))
        json = "json" in self.headers.get("Content-Type", "")
        reply = b"{}" if json else b""
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if json else "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$dir/upstream.py" "$dir/got" >"$dir/upstream.port" &
_pids+=($!)
poll 30 test -s "$dir/upstream.port" || fail "upstream did not start"
up=$(cat "$dir/upstream.port")

start_collect --forward "http://127.0.0.1:$up"
# two requests as a service would send them: protobuf, and gzip'd JSON
OTEL_TRACES_EXPORTER=otlp_file IGNIS_TRACES_FILE=$dir/one.jsonl OTEL_SERVICE_NAME=fwd IGNIS_TRACE_QUIET=1 "$EMIT" 30 10 >/dev/null
head -1 "$dir/one.jsonl" | tr -d '\n' | gzip >"$dir/req.json.gz"
[ "$(post application/json "$dir/req.json.gz" -H 'Content-Encoding: gzip')" = 200 ] || fail "json post"
poll 30 test -s "$dir/got/001.body" || fail "nothing forwarded"
cmp -s "$dir/got/001.body" "$dir/req.json.gz" || fail "the forwarded body differs from the one sent"
[ "$(cat "$dir/got/001.head")" = "/v1/traces application/json gzip" ] || fail "forwarded headers: $(cat "$dir/got/001.head")"
echo "ok   forwarded unchanged: same bytes, Content-Type application/json, Content-Encoding gzip, to /v1/traces"

sent=$(($(head -1 "$dir/one.jsonl" | grep -o '"spanId"' | wc -l)))
wait_metric ignis_collect_spans_forwarded_total "$sent" || fail "forwarded counter"
stop_collect

# ---- a chain of two collectors, driven by a libignis service ---------------------------------------
DB2=$dir/upstream.db
"$IGNIS" collect --listen 127.0.0.1:0 --db "$DB2" >"$dir/up2.out" 2>"$dir/up2.err" &
up2pid=$!
_pids+=("$up2pid")
poll 30 grep -q '^listening on' "$dir/up2.out" || fail "upstream collect did not start"
up2=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/up2.out")
rm -f "$DB"*
start_collect --forward "http://127.0.0.1:$up2/v1/traces"
out=$(OTEL_SERVICE_NAME=chain OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip emit 20000 10) || fail "service: $out"
[ "$(echo "$out" | tail -1)" = "exported 20000 dropped 0 failed 0" ] || fail "service says $out"
wait_metric ignis_collect_spans_forwarded_total 20000 || fail "forwarded $(metric ignis_collect_spans_forwarded_total)"
stop_collect
kill -TERM "$up2pid"
wait "$up2pid"
a=$(sqlite3 "$DB" "SELECT hex(span_id) FROM spans ORDER BY 1" | md5sum)
b=$(sqlite3 "$DB2" "SELECT hex(span_id) FROM spans ORDER BY 1" | md5sum)
[ "$(sqlite3 "$DB2" 'SELECT count(*) FROM spans')" = 20000 ] || fail "upstream store: $(sqlite3 "$DB2" 'SELECT count(*) FROM spans')"
[ "$a" = "$b" ] || fail "the two stores hold different spans"
echo "ok   service -> collect -> collect: both stores hold the same 20000 spans"

# ---- upstream down ------------------------------------------------------------------------------------
rm -f "$DB"*
export IGNIS_OTLP_RETRY_BASE_MS=50 IGNIS_OTLP_RETRY_MAX_ATTEMPTS=2 # the exporter's retry settings, shortened
start_collect --forward "http://127.0.0.1:$up2" # nobody listens there any more
out=$(OTEL_SERVICE_NAME=alone emit 3000 10) || fail "service: $out"
wait_metric ignis_collect_spans_stored_total 3000 || fail "local store held up by a dead upstream"
wait_metric ignis_collect_spans_forward_failed_total 1 60 || fail "forward failures not counted"
stop_collect
[ "$(sql 'SELECT count(*) FROM spans')" = 3000 ] || fail "local store"
grep -q 'cannot forward to' "$dir/collect.err" || fail "the failure was not reported"
grep -q 'not forwarded' "$dir/collect.err" || fail "the summary does not say what was not forwarded"
echo "ok   upstream down: all 3000 spans stored locally, the failure reported and counted"
