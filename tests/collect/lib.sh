# tests/collect/lib.sh — shared by the shell tests of `ignis collect`.
# Source it after setting nothing; it sets B, IGNIS, EMIT, a temp dir $dir
# (removed on exit with every process started through it) and these:
#
#   start_collect [OPTIONS...]   `ignis collect --listen 127.0.0.1:0 --db $DB
#                                OPTIONS` in the background; waits (bounded)
#                                for its "listening on" line; sets CPID, PORT,
#                                URL (the /v1/traces URL)
#   stop_collect [SIGNAL]        signals it (TERM) and waits; sets CRC
#   metric NAME                  the value of NAME on /metrics ("" if absent)
#   wait_metric NAME MIN [SECS]  polls /metrics until NAME >= MIN (default 60 s)
#   post CTYPE FILE [CURL...]    POSTs FILE to $URL; prints the status code,
#                                the body goes to $dir/resp
#   sql QUERY                    sqlite3 on $DB (read-only)
#   sql_is QUERY VALUE           true when QUERY prints VALUE (for poll)
#   poll SECS CMD...             runs CMD until it succeeds, at most SECS
#   fail MSG                     prints FAIL and exits 1
set -uo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
EMIT=$B/tests/collect/emit
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
[ -x "$EMIT" ] || { echo "no $EMIT (make tests-build)"; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI not installed (scripts/deps.sh)"; exit 77; }
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
dir=$(mktemp -d)
DB=$dir/traces.db
CPID=""
PORT=""
URL=""
_pids=()
_cleanup() {
  for p in "${_pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for m in "${_mounts[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null; done
  rm -rf "$dir"
}
_mounts=()
trap _cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/collect.err" ] && sed 's/^/  collect: /' "$dir/collect.err" | tail -20; exit 1; }

# Polls `cmd` until it succeeds; false after `secs` seconds.
poll() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

_listening() {
  PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$dir/collect.out" 2>/dev/null | head -1)
  [ -n "$PORT" ] && return 0
  kill -0 "$CPID" 2>/dev/null || return 0 # it died: stop polling
  return 1
}

start_collect() {
  : >"$dir/collect.out"
  "$IGNIS" collect --listen 127.0.0.1:0 --db "$DB" "$@" >"$dir/collect.out" 2>"$dir/collect.err" &
  CPID=$!
  _pids+=("$CPID")
  poll 30 _listening
  [ -n "$PORT" ] || fail "ignis collect did not start"
  URL=http://127.0.0.1:$PORT/v1/traces
}

stop_collect() {
  kill -"${1:-TERM}" "$CPID" 2>/dev/null
  wait "$CPID"
  CRC=$?
}

metric() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | sed -n "s/^$1 //p" | head -1
}

_metric_at_least() {
  local v
  v=$(metric "$1")
  [ -n "$v" ] && [ "$v" -ge "$2" ]
}

wait_metric() {
  poll "${3:-60}" _metric_at_least "$1" "$2"
}

post() {
  local ctype=$1 file=$2; shift 2
  curl -s -o "$dir/resp" -w '%{http_code}' -H "Content-Type: $ctype" --data-binary "@$file" "$@" "$URL"
}

sql() {
  sqlite3 -readonly "$DB" "$1"
}

# True when QUERY prints VALUE (for poll: evaluated on every try).
sql_is() {
  [ "$(sql "$1")" = "$2" ]
}

# Runs the emitter against $URL with OTEL settings; its last line is
# "exported N dropped M failed F".
emit() {
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$URL OTEL_BSP_SCHEDULE_DELAY=${DELAY:-100} IGNIS_TRACE_QUIET=1 "$EMIT" "$@"
}

# raw_post FILE METHOD PATH CTYPE [HEADER...]: sends FILE as one request's
# body, without Expect, from a client that writes the whole body and only
# then reads, as most SDKs' HTTP clients do; prints the status code of the
# answer, or "reset" (the connection was reset) or "none".
raw_post() {
  python3 - "$PORT" "$@" <<'PY'
import socket, sys
port, path, method, target, ctype = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
extra = "".join(h + "\r\n" for h in sys.argv[6:])
body = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=60)
s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n"
           % (method, target, ctype, extra, len(body))).encode())
try:
    s.sendall(body)
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except (ConnectionResetError, BrokenPipeError):
    print("reset")
    sys.exit(0)
print(data.split(b" ")[1].decode() if data.startswith(b"HTTP/1.1 ") else "none")
PY
}
