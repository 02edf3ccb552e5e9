#!/usr/bin/env bash
# tests/collect/t_disk_full.sh — the store's disk fills up.
#
# The database lives on a 64 MiB tmpfs (needs root) that a filler file
# makes nearly full; 64 MiB holds everything the 8 MiB queue can have
# acknowledged however slow the writer is (a slow machine acknowledged
# 18k spans, more than 4 MiB could ever store).  A libignis service (one attempt per export, so a
# refused batch counts as failed at once) sends until `ignis collect`
# answers 503: from then on nothing more is acknowledged, the spans it
# had acknowledged wait in its queue, and what was committed stays
# readable.  Then the filler goes: the writer's retry commits the queue,
# and in the end the store holds exactly the spans the service saw
# acknowledged.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root to mount a tmpfs"; exit 77; }
mkdir "$dir/small"
mount -t tmpfs -o size=64m tmpfs "$dir/small" 2>/dev/null || { echo "cannot mount a tmpfs here"; exit 77; }
_mounts+=("$dir/small")
DB=$dir/small/traces.db

start_collect --max-queue-mb 8
free_kb=$(df -k --output=avail "$dir/small" | tail -1)
dd if=/dev/zero of="$dir/small/filler" bs=1k count=$((free_kb - 700)) status=none 2>/dev/null
out=$(IGNIS_OTLP_RETRY_MAX_ATTEMPTS=1 OTEL_SERVICE_NAME=full emit 60000 10) # failures are expected
exported=$(echo "$out" | tail -1 | sed -n 's/^exported \([0-9]*\) .*/\1/p')
failed=$(echo "$out" | tail -1 | sed -n 's/.* failed \([0-9]*\)$/\1/p')
[ -n "$exported" ] || fail "service: $out"
[ "$failed" -gt 0 ] || fail "the disk never filled up (exported $exported)"
# the service may have been turned away by a full queue (429) before the
# writer met the full disk: once it has, new spans get 503
_disk_full() { grep -q 'cannot write the trace store' "$dir/collect.err"; }
poll 120 _disk_full || fail "the writer never met the full disk (exported $exported)"
out=$(IGNIS_OTLP_RETRY_MAX_ATTEMPTS=1 OTEL_SERVICE_NAME=full emit 200 10)
more=$(echo "$out" | tail -1 | sed -n 's/^exported \([0-9]*\) .*/\1/p')
[ -n "$more" ] || fail "service: $out"
exported=$((exported + more))
[ "$(metric 'ignis_collect_requests_total{code="503"}')" -gt 0 ] || fail "no 503"
[ "$(metric ignis_collect_store_retries_total)" -gt 0 ] || fail "no failed transaction"
kill -0 "$CPID" || fail "collect died"
committed=$(metric ignis_collect_spans_stored_total)
[ "$committed" -lt "$exported" ] || fail "everything acknowledged was already stored; the test did not fill the disk in time"
[ "$(sql 'SELECT count(*) FROM spans')" -ge "$committed" ] || fail "committed spans are not readable"
echo "ok   disk full: 503 for new requests, $committed spans committed, $((exported - committed)) acknowledged spans waiting"

rm -f "$dir/small/filler"
wait_metric ignis_collect_spans_stored_total "$exported" 120 || fail "after freeing space: stored $(metric ignis_collect_spans_stored_total) of $exported"
stop_collect
[ "$CRC" = 0 ] || fail "exit status $CRC"
[ "$(sql 'SELECT count(*) FROM spans')" = "$exported" ] || fail "store has $(sql 'SELECT count(*) FROM spans'), $exported were acknowledged"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
grep -q 'cannot write the trace store' "$dir/collect.err" || fail "the failure was not reported"
grep -q 'writable again' "$dir/collect.err" || fail "the recovery was not reported"
echo "ok   space freed: all $exported acknowledged spans stored, none lost, integrity ok"
