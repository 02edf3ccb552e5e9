#!/usr/bin/env bash
# tests/formats/t_bad_input.sh — bad input through the real `ignis convert`:
# each case must exit 1 with ONE line on stderr naming the file (and line,
# for text) and the reason, and leave no output (or temporary) file behind.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out"
fail=0

# expect NAME INPUT_FILE EXPECTED_STDERR_SUBSTRING [convert options...]
expect() {
  local name=$1 in=$2 want=$3; shift 3
  "$IGNIS" convert "$in" -o "$tmp/out/result.pb.gz" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$? lines bad=0; lines=$(wc -l <"$tmp/stderr")
  if [ $rc -ne 1 ]; then echo "FAIL $name: exit $rc, want 1"; bad=1; fi
  if [ "$lines" -ne 1 ]; then echo "FAIL $name: $lines stderr lines, want 1:"; cat "$tmp/stderr"; bad=1; fi
  if ! grep -qF -- "$want" "$tmp/stderr"; then echo "FAIL $name: stderr '$(cat "$tmp/stderr")' lacks '$want'"; bad=1; fi
  if [ -n "$(ls -A "$tmp/out")" ]; then echo "FAIL $name: left files: $(ls -A "$tmp/out")"; bad=1; fi
  if [ $bad -eq 0 ]; then echo "ok   $name: $(cat "$tmp/stderr")"; else fail=1; fi
}

head -c 700 tests/data/go_heap.pb.gz >"$tmp/truncated.pb.gz"
expect "truncated gzip" "$tmp/truncated.pb.gz" "$tmp/truncated.pb.gz: truncated gzip stream"

expect "not a profile (ELF)" /bin/true "/bin/true: not a profile in a format ignis reads (pprof: not protobuf data"

# an empty file of no known format (an empty .folded is a profile without
# samples: tests/cli/t_inputs_edge.sh)
: >"$tmp/empty.data"
expect "empty file" "$tmp/empty.data" "$tmp/empty.data: empty file"

printf 'main;a 1\n# fine\n\nmain;b\n' >"$tmp/nocount.folded"
expect "folded line without a count" "$tmp/nocount.folded" "$tmp/nocount.folded: line 4: missing sample count"

printf 'main;a 1\nmain;b x\n' >"$tmp/badcount.folded"
expect "folded bad count" "$tmp/badcount.folded" "$tmp/badcount.folded: line 2: invalid sample count 'x'"

# raw profile.proto: sample_type {1,2}, strings "", "samples", "count",
# function {id 1, name 99} -> string index out of range
printf '\x0a\x04\x08\x01\x10\x02\x32\x00\x32\x07samples\x32\x05count\x2a\x04\x08\x01\x10\x63' >"$tmp/badindex.pb"
expect "pprof string index out of range" "$tmp/badindex.pb" \
  "$tmp/badindex.pb: function 1: string index 99 out of range (3 strings)"

# location 1 -> mapping 5 that does not exist
printf '\x0a\x04\x08\x01\x10\x02\x32\x00\x32\x07samples\x32\x05count\x22\x04\x08\x01\x10\x05' >"$tmp/badmap.pb"
expect "pprof mapping id missing" "$tmp/badmap.pb" "$tmp/badmap.pb: location 1: mapping id 5 does not exist"

# sample referring to location 7 that does not exist
printf '\x0a\x04\x08\x01\x10\x02\x32\x00\x32\x07samples\x32\x05count\x12\x05\x0a\x01\x07\x10\x01' >"$tmp/badloc.pb"
expect "pprof location id missing" "$tmp/badloc.pb" "$tmp/badloc.pb: sample 0: location id 7 does not exist"

printf '\t 1000 main (/bin/p)\n' >"$tmp/orphan.perf"
expect "perf script frame without header" "$tmp/orphan.perf" "line 1: stack frame outside a sample" --from perf-script

expect "unknown input format" tests/data/go_cpu.pb.gz "unknown format 'xml'" --from xml

# a write that fails (value index out of range for folded) leaves nothing
"$IGNIS" convert tests/data/go_cpu.pb.gz -o "$tmp/out/x.folded" --value 7 2>"$tmp/stderr"
rc=$?
if [ $rc -ne 1 ] || [ -n "$(ls -A "$tmp/out")" ]; then echo "FAIL --value out of range: rc $rc, files: $(ls -A "$tmp/out")"; fail=1; fi

# and the good path works: folded output holds sample counts, nanoseconds on request
"$IGNIS" convert tests/data/go_cpu.pb.gz -o "$tmp/out/ok.folded" || fail=1
grep -q '^runtime.main;main.main;main.hotLoop 180$' "$tmp/out/ok.folded" || { echo "FAIL good conversion"; fail=1; }
"$IGNIS" convert tests/data/go_cpu.pb.gz -o "$tmp/out/ns.folded" --value cpu || fail=1
grep -q '^runtime.main;main.main;main.hotLoop 1800000000$' "$tmp/out/ns.folded" || { echo "FAIL --value cpu"; fail=1; }
exit $fail
