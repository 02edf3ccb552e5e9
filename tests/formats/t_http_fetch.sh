#!/usr/bin/env bash
# tests/formats/t_http_fetch.sh — profiles read from http:// URLs, as `go
# tool pprof` reads them, against a real Go service with net/http/pprof
# built here offline (skipped, 77, without a Go toolchain):
#   - the CPU profile (?seconds=1) shows the service's hot function, with a
#     progress line while the server samples; the heap profile its
#     allocation site; a URL converts to OTLP like a file
#   - bad answers: a server that never answers (timeout), an HTML page,
#     404, a body over the size cap (with and without Content-Length)
#   - the ignis binary does not load libcurl at start (libignis-net.so
#     does, when a URL is read)
set -uo pipefail
B=${IGNIS_BUILD:-build}
IGNIS=${IGNIS:-$B/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
command -v go >/dev/null || { echo "go is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# the first row of a report (highest flat), pprof's "(inline)" aside
top_of() { awk '/flat%/ {getline; $1=$2=$3=$4=$5=""; sub(/^ +/, ""); sub(/ \(inline\)$/, ""); print; exit}'; }
# wait_file FILE PID: bounded wait for a server to write its port
wait_file() {
  for _ in $(seq 600); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# ---- the binary starts without libcurl ----------------------------------------------
if command -v readelf >/dev/null; then
  readelf -d "$IGNIS" | grep -q 'NEEDED.*libcurl' && fail "$IGNIS links libcurl at start"
  echo "ok   $IGNIS does not load libcurl at start"
fi

# ---- a Go service with net/http/pprof ---------------------------------------------------
mkdir -p "$dir/srv"
cat >"$dir/srv/main.go" <<'EOF'
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

var keep [][]byte

//go:noinline
func hotSpin() {
	x := uint64(1)
	for {
		for i := 0; i < 1000000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 42 {
			fmt.Println(x)
		}
	}
}

//go:noinline
func retainHeap() {
	for i := 0; i < 256; i++ {
		keep = append(keep, make([]byte, 64<<10))
	}
}

func main() {
	runtime.MemProfileRate = 4096
	retainHeap()
	runtime.GC() // publishes the heap profile
	go hotSpin()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	f, _ := os.Create(os.Args[1] + ".tmp")
	fmt.Fprintf(f, "%d\n", l.Addr().(*net.TCPAddr).Port)
	f.Close()
	os.Rename(os.Args[1]+".tmp", os.Args[1])
	http.Serve(l, nil)
}
EOF
(cd "$dir/srv" && GOCACHE=$dir/gocache GOPATH=$dir/gopath GOPROXY=off GOFLAGS= HOME=$dir \
   go build -o "$dir/srv/pprofsrv" main.go) >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; fail "go build"; }
"$dir/srv/pprofsrv" "$dir/go.port" >"$dir/go.log" 2>&1 &
pids+=($!)
wait_file "$dir/go.port" "${pids[-1]}" || { cat "$dir/go.log"; fail "the Go service did not start"; }
GO=http://127.0.0.1:$(cat "$dir/go.port")

# CPU: the server samples for a second, then answers.  The table is read
# by cumulative value, runtime frames skipped: on a loaded machine Go's
# async preemption signal lands many of hotSpin's samples in
# runtime.asyncPreempt, its callee (so hotSpin's flat time can lose to it,
# its cum cannot), and a quiet one has no runtime frame at all.
IGNIS_FETCH_PROGRESS=1 "$IGNIS" report -s cum "$GO/debug/pprof/profile?seconds=1" >"$dir/cpu.txt" 2>"$dir/cpu.err" \
  || { cat "$dir/cpu.err"; fail "report of the CPU profile URL"; }
top=$(awk '/flat%/ {on = 1; next} on && NF >= 6 {$1=$2=$3=$4=$5=""; sub(/^ +/, ""); sub(/ \(inline\)$/, "");
      if ($0 !~ /^runtime\./) {print; exit}}' "$dir/cpu.txt")
[ "$top" = main.hotSpin ] || { cat "$dir/cpu.txt"; fail "CPU profile: top function '$top', want main.hotSpin"; }
grep -q "fetching $GO/debug/pprof/profile?seconds=1: [0-9]* s, [0-9]* bytes" "$dir/cpu.err" \
  || { cat -v "$dir/cpu.err"; fail "no progress line while the server samples"; }
echo "ok   report $GO/debug/pprof/profile?seconds=1: top is $top, progress shown"

# heap: the allocation site that keeps 16 MiB
"$IGNIS" report --value inuse_space "$GO/debug/pprof/heap" >"$dir/heap.txt" 2>"$dir/heap.err" \
  || { cat "$dir/heap.err"; fail "report of the heap profile URL"; }
top=$(top_of <"$dir/heap.txt")
[ "$top" = main.retainHeap ] || { cat "$dir/heap.txt"; fail "heap profile: top function '$top', want main.retainHeap"; }
echo "ok   report $GO/debug/pprof/heap: top is $top"

# a URL is an input like any other: to OTLP and back
"$IGNIS" convert "$GO/debug/pprof/heap" -o "$dir/heap.otlp.pb" || fail "convert a URL to OTLP"
[ "$("$IGNIS" report --value inuse_space "$dir/heap.otlp.pb" | top_of)" = main.retainHeap ] \
  || fail "the heap profile converted from the URL lost its top function"
echo "ok   convert URL -o heap.otlp.pb"

# ---- bad answers ---------------------------------------------------------------------------
expect_error() { # NAME PATTERN CMD...: CMD fails with one line matching PATTERN
  local name=$1 pat=$2; shift 2
  "$@" >"$dir/$name.out" 2>"$dir/$name.err" && fail "$name: succeeded"
  [ "$(wc -l <"$dir/$name.err")" -eq 1 ] || { cat "$dir/$name.err"; fail "$name: not one line"; }
  grep -q "$pat" "$dir/$name.err" || { cat "$dir/$name.err"; fail "$name: error does not say '$pat'"; }
  echo "ok   $name: $(cat "$dir/$name.err")"
}
expect_error html "answered with an HTML page, not a profile" "$IGNIS" report "$GO/debug/pprof/"
expect_error notfound "HTTP 404 Not Found: 404 page not found" "$IGNIS" report "$GO/nothere"
expect_error unknown "HTTP 404 Not Found: Unknown profile" "$IGNIS" report "$GO/debug/pprof/nothere"

# a listener that accepts and never answers; a server with a large body
cat >"$dir/bad.py" <<'EOF'
import http.server, os, socket, sys, threading
mode, port_file = sys.argv[1], sys.argv[2]
if mode == "silent":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    port = s.getsockname()[1]
else:
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if self.path == "/sized":
                self.send_header("Content-Length", str(3 << 20))
            self.end_headers()
            try:
                for _ in range(48):
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    port = s.server_address[1]
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(port_file + ".tmp", port_file)
if mode == "silent":
    conns = []
    while True:
        conns.append(s.accept())
else:
    s.serve_forever()
EOF
python3 "$dir/bad.py" silent "$dir/silent.port" & pids+=($!)
wait_file "$dir/silent.port" "${pids[-1]}" || fail "the silent server did not start"
python3 "$dir/bad.py" big "$dir/big.port" & pids+=($!)
wait_file "$dir/big.port" "${pids[-1]}" || fail "the big server did not start"
SILENT=http://127.0.0.1:$(cat "$dir/silent.port")
BIG=http://127.0.0.1:$(cat "$dir/big.port")
expect_error timeout "no complete answer within 2 s (set IGNIS_FETCH_TIMEOUT" \
  env IGNIS_FETCH_TIMEOUT=2 "$IGNIS" report "$SILENT/debug/pprof/profile?seconds=1"
# without a terminal the view waits for its load: the fetch's error, not
# "no terminal", however long the fetch takes
expect_error view_no_tty "no complete answer within 1 s" \
  env IGNIS_FETCH_TIMEOUT=1 setsid "$IGNIS" view "$SILENT/debug/pprof/profile?seconds=1" </dev/null
expect_error cap_stream "the answer is larger than 1000000 bytes" \
  env IGNIS_FETCH_MAX_BYTES=1000000 "$IGNIS" report "$BIG/stream"
expect_error cap_sized "the answer is larger than 1000000 bytes" \
  env IGNIS_FETCH_MAX_BYTES=1000000 "$IGNIS" view "$BIG/sized"
# a URL is a profile even when it ends like a trace file (.jsonl, .db)
expect_error view_url_jsonl "the answer is larger than 1000000 bytes" \
  env IGNIS_FETCH_MAX_BYTES=1000000 "$IGNIS" view "$BIG/traces.jsonl"
expect_error bad_timeout "IGNIS_FETCH_TIMEOUT: 'soon' is not a positive whole number" \
  env IGNIS_FETCH_TIMEOUT=soon "$IGNIS" report "$BIG/stream"
exit 0
