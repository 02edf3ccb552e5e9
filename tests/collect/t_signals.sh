#!/usr/bin/env bash
# tests/collect/t_signals.sh — stopping `ignis collect`.
#
# SIGTERM and SIGINT right after a service's last export was acknowledged:
# every span answered 200 is in the store after exit (the writer drains
# its queue before it stops).  kill -9 in the middle of a stream: the
# database passes PRAGMA integrity_check, holds at least every span that
# /metrics reported committed before the kill, and a new collector opens
# it and goes on storing.
. "$(dirname "$0")/lib.sh"

for sig in TERM INT; do
  rm -f "$DB" "$DB-wal" "$DB-shm"
  start_collect
  out=$(OTEL_SERVICE_NAME=sig-$sig emit 30000 10) || fail "$sig: service: $out"
  [ "$(echo "$out" | tail -1)" = "exported 30000 dropped 0 failed 0" ] || fail "$sig: service says $out"
  accepted=$(metric ignis_collect_spans_accepted_total)
  [ "$accepted" = 30000 ] || fail "$sig: accepted $accepted"
  stop_collect "$sig"
  [ "$CRC" = 0 ] || fail "$sig: exit status $CRC"
  [ "$(sql 'SELECT count(*) FROM spans')" = 30000 ] || fail "$sig: $(sql 'SELECT count(*) FROM spans') of 30000 accepted spans stored"
  grep -q 'stored 30000 spans' "$dir/collect.err" || fail "$sig: summary: $(tail -1 "$dir/collect.err")"
  echo "ok   SIG$sig after the last acknowledged export: all 30000 accepted spans are in the store"
done

rm -f "$DB" "$DB-wal" "$DB-shm"
start_collect
OTEL_SERVICE_NAME=killed OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$URL OTEL_BSP_SCHEDULE_DELAY=100 IGNIS_TRACE_QUIET=1 \
  "$EMIT" 2000000 10 >"$dir/emit.out" 2>&1 &
emitter=$! # the emitter itself, so that killing it stops it
_pids+=("$emitter")
wait_metric ignis_collect_spans_stored_total 20000 120 || fail "kill -9: nothing stored"
committed=$(metric ignis_collect_spans_stored_total)
kill -9 "$CPID"
wait "$CPID" 2>/dev/null
kill "$emitter" 2>/dev/null
wait "$emitter" 2>/dev/null
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "kill -9: integrity_check: $(sqlite3 "$DB" 'PRAGMA integrity_check' | head -3)"
have=$(sql 'SELECT count(*) FROM spans')
[ "$have" -ge "$committed" ] || fail "kill -9: $have spans in the store, $committed were committed before the kill"
[ "$(sql 'SELECT sum(span_count) FROM traces')" = "$have" ] || fail "kill -9: traces summary disagrees with spans"
echo "ok   kill -9 mid-stream: integrity ok, $have spans kept (>= $committed committed before the kill)"

start_collect
out=$(OTEL_SERVICE_NAME=after emit 1000 10) || fail "after kill -9: $out"
wait_metric ignis_collect_spans_stored_total 1000 || fail "after kill -9: not stored"
stop_collect
[ "$(sql "SELECT count(*) FROM span_view WHERE service = 'after'")" = 1000 ] || fail "after kill -9: spans"
echo "ok   the store opens again after kill -9 and takes new spans"
