#!/usr/bin/env bash
# tests/collect/t_slow_clients.sh — slow clients cannot shut real senders
# out of `ignis collect`.
#   1. 300 connections from one client (127.0.0.1), each stopped in the
#      middle of its headers, against --max-connections 100 (and a header
#      deadline far away): the oldest waiting ones are closed to make room
#      (counted as evicted), and a real sender is answered 200.  Before,
#      the acceptor stopped accepting at the limit and the sender waited
#      in the backlog for as long as the slow clients stayed.
#   2. one client that sends a header line every 0.2 s (never idle, so an
#      idle timeout never fires) is cut at --header-timeout 1s, and one that
#      trickles its body a byte every 0.2 s at --body-timeout 1s; both are
#      counted as slow, and a real sender is still answered.
# Waits are bounded polls of what can be observed (the connection's end,
# /metrics); the 0.2 s steps are the trickle's pace.
. "$(dirname "$0")/lib.sh"

span='{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"real","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000000001000"}'
printf '{"resourceSpans":[{"scopeSpans":[{"spans":[%s]}]}]}' "$span" >"$dir/one.json"
cut_metric() { metric "ignis_collect_connections_cut_total{reason=\"$1\"}"; }

# ---- 1. the pool full of slow clients -----------------------------------------------------
ulimit -n 4096 2>/dev/null || { echo "cannot raise the descriptor limit: skipped"; exit 77; }
start_collect --max-connections 100 --header-timeout 600s
N=300
printf -v head 'POST /v1/traces HTTP/1.1\r\nHost: x\r\n'
fds=()
for i in $(seq $N); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || fail "connection $i refused"
  printf '%s' "$head" >&"$fd"
  fds+=("$fd")
done
# every slow connection beyond the 100 has made room by closing an older one
evicted_all() { local v; v=$(curl -s -m 2 "http://127.0.0.1:$PORT/metrics" |
  sed -n 's/^ignis_collect_connections_cut_total{reason="evicted"} //p'); [ -n "$v" ] && [ "$v" -ge $((N - 100)) ]; }
poll 30 evicted_all || fail "slow connections evicted: '$(cut_metric evicted)', want >= $((N - 100))"
code=$(post application/json "$dir/one.json" -m 10)
[ "$code" = 200 ] || fail "a real sender got '$code' with $N slow connections open, not 200"
for fd in "${fds[@]}"; do exec {fd}>&-; done
echo "ok   $N slow connections against --max-connections 100: the oldest evicted, a real sender answered 200"
stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"

# ---- 2. one trickling client, cut at the deadline -------------------------------------------
start_collect --header-timeout 1s --body-timeout 1s
# trickle MODE: sends a request's start, then one more piece every 0.2 s
# (a header line, or a byte of body) until the collector closes the
# connection; prints "cut" or, after 20 s, "never cut".
trickle() {
  python3 - "$PORT" "$1" <<'PY'
import select, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
start = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
if mode == "body":
    start += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
piece = b"X-a: b\r\n" if mode == "headers" else b" "
s.sendall(start)
end = time.monotonic() + 20
try:
    while time.monotonic() < end:
        if select.select([s], [], [], 0.2)[0]:
            if not s.recv(4096):
                print("cut"); sys.exit(0)
            continue
        s.sendall(piece)
except (ConnectionResetError, BrokenPipeError):
    print("cut"); sys.exit(0)
print("never cut")
PY
}
got=$(trickle headers)
[ "$got" = cut ] || fail "a client trickling its headers: $got"
wait_metric "ignis_collect_connections_cut_total{reason=\"slow\"}" 1 10 || fail "slow: '$(cut_metric slow)', not 1"
echo "ok   headers trickled a line every 0.2 s: cut at --header-timeout, counted"
got=$(trickle body)
[ "$got" = cut ] || fail "a client trickling its body: $got"
wait_metric "ignis_collect_connections_cut_total{reason=\"slow\"}" 2 10 || fail "slow: '$(cut_metric slow)', not 2"
echo "ok   body trickled a byte every 0.2 s: cut at --body-timeout, counted"
code=$(post application/json "$dir/one.json" -m 10)
[ "$code" = 200 ] || fail "a real sender got '$code' after the slow ones, not 200"
stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
echo "ok   a real sender answered 200; stops on SIGTERM"
