#!/usr/bin/env bash
# tests/cli/t_record_cli.sh — `ignis record` and `ignis agent` on the
# shared option parser: their errors read as every other command's (the
# option as typed, one line, "(ignis CMD --help)", exit 2; agent names
# itself), values can be attached (--freq=99, -F99, -qgF99), the first
# operand or "--" ends the options (what follows belongs to the command),
# and perf's spellings (-g, --call-graph dwarf[,SIZE], -F, -o, -p, -a)
# record what they say: the hot function of a sample program.
. "$(dirname "$0")/lib.sh"
SAMPLES=${IGNIS_BUILD:-build}/samples/cpu
[ -x "$SAMPLES/cpu_recurse" ] || { echo "$SAMPLES/cpu_recurse not built"; exit 1; }
export IGNIS_CACHE_DIR=$T/cache

# err NAME STATUS LINE ARGS...: ignis ARGS fails with STATUS and prints
# exactly LINE.
err() {
  local name=$1 want=$2 line=$3; shift 3
  run "$name" "$@"
  one_line_error "$name" "$want" "$line"
  [ "$(cat "$T/$name.err")" = "$line" ] || fail "$*: '$(cat "$T/$name.err")', want '$line'"
}

# ---- errors: the shared parser's, the option as typed ---------------------------------
err u1 2 "ignis record: --xyz: unknown option (ignis record --help)" record --xyz -- true
err u2 2 "ignis record: -Z: unknown option (ignis record --help)" record -qZ -- true
err u3 2 "ignis record: --c: ambiguous option (ignis record --help)" record --c x -- true
err m1 2 "ignis record: --freq: missing value (ignis record --help)" record --freq
err m2 2 "ignis record: -o: missing value (ignis record --help)" record -p 1 -o
err m3 2 "ignis record: --call-graph: missing value (ignis record --help)" record --call-graph
err m4 2 "ignis record: --every: missing value (ignis record --help)" record -a --every
err n1 2 "ignis record: --no-kernel: takes no value (ignis record --help)" record --no-kernel=1 -p 1
err n2 2 "ignis record: --all-cpus: takes no value (ignis record --help)" record --all-cpus=yes
err v1 2 "ignis record: --freq abc: frequency must be an integer in 1..100000 Hz (ignis record --help)" \
  record --freq=abc -p 1
err v2 2 "ignis record: -F 0: frequency must be an integer in 1..100000 Hz (ignis record --help)" record -F0 -p 1
err v3 2 "ignis record: -d -1: expected a positive number of seconds (ignis record --help)" record -d -1 -p 1
err v4 2 "ignis record: --call-graph fp: ignis unwinds with DWARF: use dwarf[,SIZE] (ignis record --help)" \
  record --call-graph=fp -- true
err v5 2 "ignis record: -p 12x: expected PID[,PID...] (ignis record --help)" record -p12x
# ignis agent is record with defaults: its errors name it
err a1 2 "ignis agent: --xyz: unknown option (ignis agent --help)" agent --xyz
err a2 2 "ignis agent: --every: missing value (ignis agent --help)" agent --every
err a3 2 "ignis agent: --every 5x: expected an interval of 0.1 s to 24 h (60s, 5m, 1h) (ignis agent --help)" \
  agent --every 5x
run ah agent --help
[ "$RC" -eq 0 ] && grep -q '^usage: ignis agent' "$T/ah.out" || fail "agent --help: exit $RC"

# ---- the first operand, or --, ends the options ----------------------------------------
run o1 record -q -o "$T/o1.folded" -- sh -c 'exit 3' --xyz
[ "$RC" -eq 3 ] || fail "-- CMD: exit $RC, want the command's 3 ($(cat "$T/o1.err"))"
run o2 record -q -o "$T/o2.folded" sh -c 'exit 4' -q --xyz
[ "$RC" -eq 4 ] || fail "CMD without --: exit $RC, want the command's 4 ($(cat "$T/o2.err"))"
[ -f "$T/o1.folded" ] && [ -f "$T/o2.folded" ] || fail "-o not written"

# ---- perf's spellings record what they say ----------------------------------------------
# leaf: the samples of cpu_recurse's recurse_leaf in a folded profile
leaf() { awk '/;recurse_leaf [0-9]+$/ { s += $NF } END { print s + 0 }' "$1"; }
run g1 record -g --call-graph dwarf,8K --freq=499 -o "$T/g1.folded" -q -- "$SAMPLES/cpu_recurse" 1
[ "$RC" -eq 0 ] && [ "$(leaf "$T/g1.folded")" -gt 0 ] || fail "-g --call-graph dwarf,8K: exit $RC, no recurse_leaf"
run g2 record -qgF499 -o"$T/g2.folded" "$SAMPLES/cpu_recurse" 1
[ "$RC" -eq 0 ] && [ "$(leaf "$T/g2.folded")" -gt 0 ] || fail "-qgF499 -oFILE CMD: exit $RC, no recurse_leaf"
[ ! -s "$T/g2.err" ] || fail "-q in a cluster is not quiet: $(cat "$T/g2.err")"
# -p PID -d; -a with -p (system-wide; needs root or perf_event_paranoid <= 0)
"$SAMPLES/cpu_recurse" 30 >/dev/null 2>&1 &
rec=$!
trap 'kill -9 $rec 2>/dev/null; rm -rf "$T"' EXIT
run p1 record --pid="$rec" -d 1 -F 499 -q -o "$T/p1.folded"
[ "$RC" -eq 0 ] && [ "$(leaf "$T/p1.folded")" -gt 0 ] || fail "--pid=PID -d 1: exit $RC, no recurse_leaf ($(cat "$T/p1.err"))"
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ]; then
  run a1 record -a -p "$rec" -d 1 -F 499 -q -o "$T/a1.folded"
  [ "$RC" -eq 0 ] && [ "$(leaf "$T/a1.folded")" -gt 0 ] || fail "-a -p PID: exit $RC, no recurse_leaf ($(cat "$T/a1.err"))"
fi
kill -9 "$rec" 2>/dev/null
wait "$rec" 2>/dev/null
finish
