#!/usr/bin/env bash
# tests/cli/t_spans_join.sh — joining samples to the spans of other SDKs by
# thread and time (--spans SRC --join-spans): a sample of thread T at time
# t gets the innermost span with thread.id == T and start <= t < end.
# tests/cli/mkjoinprof.c writes the profile (labels tid, time_ns, as
# `ignis record --spans` keeps them) and the spans; every join below
# follows from its comment.  Samples labelled already keep their span,
# spans without thread.id are skipped and counted, spans on another clock
# (an hour off: nothing in the samples' time; 8 ms off: samples libignis
# labelled fall outside their span) are refused with one line, never
# joined wrongly.
. "$(dirname "$0")/lib.sh"
MK=${IGNIS_BUILD:-build}/tests/cli/mkjoinprof
[ -x "$MK" ] || { echo "$MK not built"; exit 1; }
"$MK" "$T" || fail "mkjoinprof"
P=$T/join.pb.gz

run j convert "$P" --spans "$T/join.jsonl" --join-spans -o "$T/joined.pb.gz"
[ "$RC" -eq 0 ] || fail "convert --join-spans: exit $RC: $(cat "$T/j.err")"
grep -Fq "4 of 8 samples joined to their thread's span by time; 1 labelled already (kept), 2 in no span, 1 without tid or time; spans skipped: 1 without thread.id, 1 whose thread.id is no thread id, 1 of no duration or with bad ids" \
  "$T/j.err" || fail "join summary: $(cat "$T/j.err")"
J=$T/joined.pb.gz
run a report "$J" --span-name "GET /a"
has a "2ms 25.00% 25.00% 2ms 25.00% a_work"
grep -q "db_work\|idle_work\|c_work" "$T/a.out" && fail "GET /a got another span's samples: $(cat "$T/a.out")"
run b report "$J" --span 000000000000a002      # the innermost span wins
has b "1ms 12.50% 12.50% 1ms 12.50% db_work"
grep -q a_work "$T/b.out" && fail "db got GET /a's samples"
run c report "$J" --span-name "GET /c"         # thread.id sent as a string
has c "1ms 12.50% 12.50% 1ms 12.50% c_work"
run d report "$J" --span-name "lib op"         # labelled by libignis: kept
has d "1ms 12.50% 12.50% 1ms 12.50% lib_work"
run t report "$J" --trace 0000000000000000000000000000c001
has t "2ms 25.00% 25.00% 2ms 25.00% a_work"
has t "1ms 12.50% 37.50% 1ms 12.50% db_work"
# unjoined samples stay unlabelled; time_ns is gone (samples merge again)
for fn in idle_work other_work old_work; do
  run u report "$J" --focus "^$fn\$" --tagfocus span_id=.
  [ "$RC" -ne 0 ] || fail "$fn got a span label: $(cat "$T/u.out")"
done
run tm report "$J" --tagfocus time_ns=1:
one_line_error tm 1 "matched no samples"
run n convert "$J" -o "$T/joined.folded"
[ "$(grep -c . "$T/joined.folded")" -eq 7 ] || fail "joined profile: $(cat "$T/joined.folded")"

# join and select in one command, from a store (collect --import)
"$IGNIS" collect --import "$T/join.jsonl" --db "$T/traces.db" -q || fail "import"
run s report "$P" --spans "$T/traces.db" --join-spans --span 000000000000a001
[ "$RC" -eq 0 ] || fail "report --join-spans --span: exit $RC: $(cat "$T/s.err")"
has s "2ms 25.00% 25.00% 2ms 25.00% a_work"
has s "1ms 12.50% 37.50% 1ms 12.50% db_work"      # B is A's child

# ---- clocks that disagree, spans without thread.id, profiles without times ----------------
run far convert "$P" --spans "$T/far.jsonl" --join-spans -o "$T/far.pb.gz"
one_line_error far 1 "6 spans carry thread.id, but none is in the samples' time (2023-11-14 22:13:20 UTC to 2023-11-14 22:13:20 UTC): the spans' clock disagrees"
[ -e "$T/far.pb.gz" ] && fail "a refused join wrote its output"
run skew convert "$P" --spans "$T/skew.jsonl" --join-spans -o "$T/skew.pb.gz"
one_line_error skew 1 "the spans' clock disagrees with the profile's: 1 of 1 samples labelled with a span fall outside its times there; no sample joined"
run nt convert "$P" --spans "$T/nothread.jsonl" --join-spans -o "$T/nt.pb.gz"
one_line_error nt 1 "no span carries the attribute thread.id (5 spans in the samples' time"
# thread.id as a double: the ids are at fault, not the clocks (regression: "the spans' clock disagrees")
run db convert "$P" --spans "$T/double.jsonl" --join-spans -o "$T/db.pb.gz"
one_line_error db 1 "4 spans in the samples' time (2023-11-14 22:13:20 UTC to 2023-11-14 22:13:20 UTC) carry thread.id, but none as a thread id"
printf 'main;a 1\n' >"$T/plain.folded"
run pl convert "$T/plain.folded" --spans "$T/join.jsonl" --join-spans -o "$T/pl.pb.gz"
one_line_error pl 1 "--join-spans: no sample carries the labels tid and time_ns"
run us convert "$P" --join-spans -o "$T/us.pb.gz"
one_line_error us 2 "--join-spans"
run ms convert "$P" --spans "$T/missing.jsonl" --join-spans -o "$T/ms.pb.gz"
[ "$RC" -eq 1 ] || fail "a missing spans file: exit $RC"
grep -Fq "$T/missing.jsonl" "$T/ms.err" || fail "the error names the file: $(cat "$T/ms.err")"
finish
