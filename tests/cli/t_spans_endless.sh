#!/usr/bin/env bash
# tests/cli/t_spans_endless.sh — span inputs that never end: /dev/zero
# behind a name ending in .jsonl (report --spans, view), on standard input
# (--spans -), and as `collect --import`.  Each is an endless first line:
# refused with one line naming the file, the line and the limit, never a
# hang nor memory without bound.  Finite span input through a pipe or a
# FIFO is still read whole.  Every command runs under a timeout, which
# only guards against a hang (124 then fails the test); nothing waits on
# time.
. "$(dirname "$0")/lib.sh"
GUARD=${GUARD:-120}
MK=${IGNIS_BUILD:-build}/tests/cli/mkspanprof
[ -x "$MK" ] || { echo "$MK not built"; exit 1; }
"$MK" "$T" || fail "mkspanprof"
P=$T/spans.pb.gz
ln -s /dev/zero "$T/zero.jsonl"

# guarded NAME ARGS...: run under the hang guard
guarded() {
  local name=$1; shift
  timeout "$GUARD" "$IGNIS" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
  RC=$?
  [ "$RC" -ne 124 ] || fail "$name: hung (killed after ${GUARD}s)"
}

guarded rep report "$P" --span 0000000000001000 --spans "$T/zero.jsonl"
one_line_error rep 1 "zero.jsonl:1: line longer than"

timeout "$GUARD" "$IGNIS" report "$P" --span 0000000000001000 --spans - </dev/zero >"$T/stdin.out" 2>"$T/stdin.err"
RC=$?
[ "$RC" -ne 124 ] || fail "--spans - </dev/zero: hung"
one_line_error stdin 1 "-:1: line longer than"

IGNIS_VIEW_BENCH=1 guarded view view "$T/zero.jsonl"
[ "$RC" -ne 0 ] || fail "view zero.jsonl: exit 0"
grep -q "zero.jsonl:1: line longer than" "$T/view.err" || fail "view zero.jsonl: $(cat "$T/view.err")"

guarded imp collect --import /dev/zero --db "$T/x.db"
[ "$RC" -ne 0 ] || fail "collect --import /dev/zero: exit 0"
grep -q "/dev/zero:1: line longer than" "$T/imp.err" || fail "collect --import /dev/zero: $(cat "$T/imp.err")"

# ---- finite spans through a pipe and a FIFO: read whole ---------------------------------
run file report "$P" --span 0000000000001000 --spans "$T/spans.jsonl"
[ "$RC" -eq 0 ] || fail "--spans FILE: exit $RC: $(cat "$T/file.err")"
timeout "$GUARD" "$IGNIS" report "$P" --span 0000000000001000 --spans - <"$T/spans.jsonl" >"$T/pipe.out" 2>"$T/pipe.err"
[ $? -eq 0 ] || fail "--spans - (pipe): $(cat "$T/pipe.err")"
cmp -s "$T/file.out" "$T/pipe.out" || fail "--spans - differs from --spans FILE"
mkfifo "$T/ff.jsonl"
timeout "$GUARD" cp "$T/spans.jsonl" "$T/ff.jsonl" &
W=$!
guarded fifo report "$P" --span 0000000000001000 --spans "$T/ff.jsonl"
wait "$W"
[ "$RC" -eq 0 ] || fail "--spans FIFO: exit $RC: $(cat "$T/fifo.err")"
cmp -s "$T/file.out" "$T/fifo.out" || fail "--spans FIFO differs from --spans FILE"
finish
