#!/usr/bin/env bash
# tests/collect/t_many_conns.sh — more clients at once than the receiver
# keeps connections for.  1100 clients connect together and each sends
# the headers of an OTLP/JSON request (Connection: close); only when all
# are connected does each send its body, and only then are answers read:
# every one must be answered 200, the later ones as the earlier ones
# close, and the collector must still stop on SIGTERM.  Before the
# acceptor counted connections itself, libmicrohttpd's HTTP threads took
# more than their share and deadlocked for good (no answer ever, SIGTERM
# ignored).  The clients pause after their headers, in the middle of a
# request: a connection still waiting for its headers would be closed to
# make room for a newer one (t_slow_clients.sh), as the second part shows.
. "$(dirname "$0")/lib.sh"

ulimit -n 4096 2>/dev/null || { echo "cannot raise the descriptor limit: skipped"; exit 77; }
start_collect
body='{"resourceSpans":[]}'
printf -v head 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
printf -v head_all '%sContent-Length: %d\r\nConnection: close\r\n\r\n' "$head" "${#body}"
N=1100
# N clients connect, each sending $1 (the start of its request); fds: theirs
connect_all() {
  fds=()
  local i fd
  for i in $(seq $N); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || fail "connection $i refused"
    printf '%s' "$1" >&"$fd"
    fds+=("$fd")
  done
}
connect_all "$head_all"
for fd in "${fds[@]}"; do printf '%s' "$body" >&"$fd"; done
ok=0
for fd in "${fds[@]}"; do
  IFS= read -r -t 60 line <&"$fd" && [[ $line == "HTTP/1.1 200"* ]] && ok=$((ok + 1))
  exec {fd}>&-
done
[ "$ok" = $N ] || fail "$ok of $N clients connected at once were answered 200"
echo "ok   $N clients connected at once: all answered 200"

# the same clients, but they never finish their headers: they are held
# until the collector has taken 1000 of them (the newest: older ones are
# closed to make room), then all hang up
connect_all "$head"
held() { [ "$(ls /proc/"$CPID"/fd | wc -l)" -ge 1000 ]; }
poll 60 held || fail "the collector took only $(ls /proc/"$CPID"/fd | wc -l) connections"
for fd in "${fds[@]}"; do exec {fd}>&-; done
answers() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 200 ]; }
poll 60 answers || fail "no answer on /metrics after $N held clients hung up"
echo "ok   $N clients held, then gone: the collector answers again"
stop_collect TERM
[ "$CRC" = 0 ] || fail "exit status $CRC after SIGTERM"
echo "ok   stops on SIGTERM afterwards"
