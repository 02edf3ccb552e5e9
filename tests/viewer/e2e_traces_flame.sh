#!/usr/bin/env bash
# tests/viewer/e2e_traces_flame.sh — from the trace views of `ignis view` to
# the profile of a span, driven in tmux: F on a trace, a span (waterfall
# and details) and an operation opens the flame graph of the samples of
# `--profile FILE` taken in it (a span with its descendants, the store's
# spans giving the parents), or the operation's slow-vs-fast diff; q comes
# back.  tests/cli/mkspanprof.c writes the profile and the spans, every
# number known (see its comment): span 0000000000001000 "GET /orders" has
# lock_wait 80 ms + compute 20 ms, its child db.query 5 ms; slow vs fast
# from the spans' durations is 210 ms against a base normalized to 210 ms.
# The store is the spans imported by `ignis collect --import`, plus one
# span (cache.get) that has no samples.  Bad input: no --profile, a span
# without samples, an operation that cannot be split, a missing profile,
# --profile with a profile.  Nothing waits a fixed time: every check polls
# capture-pane (bounded, 10 s).
. "$(dirname "$0")/lib.sh"
MK=$B/tests/cli/mkspanprof
[ -x "$MK" ] || { echo "no $MK (make builds it)"; exit 1; }
"$MK" "$tmp" || { echo "mkspanprof failed"; exit 1; }
P=$tmp/spans.pb.gz
# a span of trace a000 in which no sample was taken
printf '%s\n' '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{"traceId":"0000000000000000000000000000a000","spanId":"0000000000004000","parentSpanId":"0000000000001000","name":"cache.get","kind":3,"startTimeUnixNano":"1700000000002000000","endTimeUnixNano":"1700000000003000000"}]}]}]}' \
  >> "$tmp/spans.jsonl"
db=$tmp/traces.db
"$IGNIS" collect --import "$tmp/spans.jsonl" --db "$db" -q || { echo "cannot import the spans"; exit 1; }

VIEW_ENV="$VIEW_ENV TZ=UTC"

# ---- a span and its descendants; a span without samples; back ------------------------------
start fl 200 40 "$db" --profile "$P"
expect fl "ignis view $db | 25 traces, 46 spans"
keys fl f; type_text fl '^cache'; keys fl Enter
expect fl " trace 1 of 1 |"
keys fl Enter; expect fl "| trace 0000000000000000000000000000a000 | 110ms, 3 spans"
keys fl End; expect fl " cache.get (svc) | 1ms"
keys fl F; expect fl "span 0000000000004000: no sample of $P was taken in it"
expect fl " cache.get (svc) | 1ms"          # still the waterfall
keys fl Home; expect fl " GET /orders (svc) | 110ms at +0"
keys fl F
expect fl "span 0000000000001000 'GET /orders' and 2 descendants"
expect fl "total 105ms (100.00% of all)"
expect fl "lock_wait"
expect fl "db_query"
expect fl "$P: q goes back to the traces"
absent fl "health_check"
absent fl "idle"
keys fl q; expect fl " GET /orders (svc) | 110ms at +0"
# from the span's details, the same span
keys fl Enter; expect fl "Span GET /orders"
keys fl F; expect fl "span 0000000000001000 'GET /orders' and 2 descendants"
keys fl q; expect fl "Span GET /orders"
# the child alone: db.query has only db_query
keys fl Escape; keys fl Down; expect fl " db.query (svc) | 5ms"
keys fl F; expect fl "span 0000000000002000 'db.query' and 0 descendants"
expect fl "total 5ms (100.00% of all)"
absent fl "lock_wait"
keys fl q; expect fl " db.query (svc) | 5ms"

# ---- a trace from the list ------------------------------------------------------------------
keys fl t; expect fl " trace 1 of 1 |"
keys fl c; expect fl " trace 1 of 25 |"
keys fl F; expect fl "trace 0000000000000000000000000000b004 'GET /health'"
expect fl "health_check"
expect fl "total 1ms (100.00% of all)"
keys fl q; expect fl " trace 1 of 25 |"

# ---- slow vs fast from the operations ---------------------------------------------------------
keys fl p; expect fl "4 operations, 46 spans"
keys fl Down; expect fl " operation 2 of 4 |"
keys fl F
expect fl "slow vs fast 'GET /orders': 2 of 20 spans above 25ms"
expect fl "total 210ms | base total 210ms"
expect fl "slow spans (p50 110ms) against the others (p50 25ms), normalized"
expect fl "lock_wait"
keys fl q; expect fl " operation 2 of 4 |"
# an operation whose spans all take the same time cannot be split
keys fl Up; expect fl " operation 1 of 4 |"
keys fl F; expect fl "all 5 spans named 'GET /health' are fast at their p90"
# the histogram of GET /orders: the same diff
keys fl Down Enter; expect fl "GET /orders"
keys fl F; expect fl "slow vs fast 'GET /orders': 2 of 20 spans above 25ms"
keys fl q; keys fl q; expect fl "exited rc=0"

# ---- no profile ---------------------------------------------------------------------------------
start np 120 30 "$tmp/spans.jsonl"
expect np " trace 1 of 25 |"
keys np F; expect np "no profile loaded: start with \`ignis view $tmp/spans.jsonl --profile FILE\`"
keys np Enter; expect np "| trace 0000000000000000000000000000b004"
keys np F; expect np "no profile loaded"
keys np q; expect np "exited rc=0"

# a profile without span labels
printf 'main;a 1\n' > $tmp/plain.folded
start nl 120 30 "$db" --profile $tmp/plain.folded
expect nl " trace 1 of 25 |"
keys nl F; expect nl "$tmp/plain.folded: no sample carries span labels"
keys nl q; expect nl "exited rc=0"

# ---- a profile with tid and time_ns labels (record --spans) is joined with the traces first ----------
JOIN=$B/tests/cli/mkjoinprof
if [ -x "$JOIN" ]; then
  mkdir -p $tmp/join && "$JOIN" $tmp/join || { echo "mkjoinprof failed"; exit 1; }
  "$IGNIS" collect --import $tmp/join/join.jsonl --db $tmp/join/traces.db -q || { echo "cannot import"; exit 1; }
  start jn 140 30 $tmp/join/traces.db --profile $tmp/join/join.pb.gz
  expect jn "6 traces, 7 spans"
  keys jn End; expect jn "trace 6 of 6"
  expect jn "0000000000000000000000000000c001"
  # GET /a (a_work 2ms) and its child db (db_work 1ms): samples of other SDKs' spans, joined by thread and time
  keys jn F; expect jn "ignis view trace 0000000000000000000000000000c001 'GET /a' | wall | total 3ms"
  expect jn "db_work"
  keys jn q; expect jn "6 traces, 7 spans"
  keys jn q; expect jn "exited rc=0"
  # traces with no thread.id: the join finds nothing, the viewer opens
  # anyway (it refused to, naming --spans, an option not given)
  printf '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0000000000000000000000000000c001","spanId":"000000000000a001","name":"a","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000"}]}]}]}\n' >$tmp/join/nothread.jsonl
  start nj 140 30 "$tmp/join/nothread.jsonl --profile $tmp/join/join.pb.gz 2>$tmp/nj.err"
  expect nj "1 trace, 1 span"
  keys nj q; expect nj "exited rc=0"
  check "a join that finds nothing is a note: $(cat $tmp/nj.err)" grep -q "^ignis view: --profile .*: shown with the span labels it has" $tmp/nj.err
  check "the note names --profile, not --spans: $(cat $tmp/nj.err)" test -z "$(grep -e '--spans' $tmp/nj.err)"
fi

# ---- bad input -------------------------------------------------------------------------------------
out=$("$IGNIS" view "$db" --profile $tmp/missing.pb.gz 2>$tmp/err </dev/null); rc=$?
check "a missing --profile: rc=$rc out=[$out] err=[$(cat $tmp/err)]" \
  test $rc -eq 1 -a -z "$out" -a "$(wc -l < $tmp/err)" -eq 1
check "the error names the file: $(cat $tmp/err)" grep -qF "$tmp/missing.pb.gz" $tmp/err
out=$("$IGNIS" view "$P" --profile "$P" 2>$tmp/err </dev/null); rc=$?
check "--profile with a profile: rc=$rc err=[$(cat $tmp/err)]" test $rc -eq 2
check "--profile with a profile: says why" grep -qF -- "--profile: only with a trace store" $tmp/err
"$IGNIS" view --help > $tmp/help 2>&1
check "--help documents --profile" grep -qF -- "--profile FILE" $tmp/help

finish
