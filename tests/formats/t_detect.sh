#!/usr/bin/env bash
# tests/formats/t_detect.sh — format detection in ig_profile_load()
# (exporters/formats.c) through the real `ignis report`/`convert`:
#   - text that fits no format names every format tried and why;
#   - folded text with control bytes is read as folded, and a NUL byte is
#     a folded error on its line, not "not a pprof profile";
#   - raw protobuf whose first 4 KiB are printable is read as pprof;
#   - a multi-member gzip file is read whole; bytes after the last member
#     are an error naming the file; gzip-compressed folded text is read.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DATA=$(dirname "$0")/../data
fail=0
bad() { echo "FAIL $*"; fail=1; }
ok() { echo "ok   $*"; }

# expect_error NAME FILE WANT...: `convert` exits 1 with one stderr line
# that starts with "ignis convert: FILE: " and contains every WANT.
expect_error() {
  local name=$1 in=$2; shift 2
  "$IGNIS" convert "$in" -o "$T/out.pb.gz" >/dev/null 2>"$T/err"
  local rc=$? e; e=$(cat "$T/err")
  if [ $rc -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ] || [[ "$e" != "ignis convert: $in: "* ]]; then
    bad "$name: exit $rc, stderr: $e"; return
  fi
  for want in "$@"; do
    [[ "$e" == *"$want"* ]] || { bad "$name: '$e' lacks '$want'"; return; }
  done
  [ ! -e "$T/out.pb.gz" ] || { bad "$name: wrote an output"; rm -f "$T/out.pb.gz"; return; }
  ok "$name: $e"
}

# expect_same NAME FILE REFERENCE: both read to the same report.
expect_same() {
  local name=$1 in=$2 ref=$3
  if ! "$IGNIS" report "$in" --top 0 >"$T/got" 2>"$T/err"; then bad "$name: $(cat "$T/err")"; return; fi
  "$IGNIS" report "$ref" --top 0 >"$T/want" 2>&1
  if diff <(tail -n +2 "$T/got") <(tail -n +2 "$T/want") >/dev/null; then ok "$name"; else bad "$name: reports differ"; fi
}

# ---- text that is no profile -------------------------------------------------------
printf 'This is not a profile.\nJust some notes.\n' >"$T/notes.txt"
expect_error "plain text" "$T/notes.txt" "not a profile in a format ignis reads" "pprof: " "perf script: " \
  "folded stacks: its first line does not end in a sample count"
expect_error "an ELF file" /bin/true "not a profile in a format ignis reads" "pprof: not protobuf data"

# ---- control bytes in folded text ----------------------------------------------------
printf 'main;we\x1bird\x01name 5\nmain;b 7\n' >"$T/ctrl.folded"
if "$IGNIS" convert "$T/ctrl.folded" -o "$T/ctrl.out.folded" 2>"$T/err" &&
   grep -q '^main;we.ird.name 5$' "$T/ctrl.out.folded"; then
  ok "folded text with control bytes is read as folded"
else
  bad "folded text with control bytes: $(cat "$T/err")"
fi
printf 'main;a 1\nmain;b\0c 2\n' >"$T/nul.folded"
expect_error "a NUL byte in folded text" "$T/nul.folded" "line 2: NUL byte" "(read as folded stacks)"
printf 'main;a 1\nmain;b\n' >"$T/bad.folded"
expect_error "a bad folded line names the format" "$T/bad.folded" "line 2: missing sample count (read as folded stacks)"

# ---- raw protobuf that starts printable ---------------------------------------------------
# 2048 "period" fields (tag '`', value 'A': 65), then a real profile:
# protobuf concatenation merges, the last period wins.
python3 - "$DATA/go_cpu.pb.gz" "$T/printable.pb" <<'EOF'
import gzip, sys
raw = gzip.open(sys.argv[1]).read()
open(sys.argv[2], "wb").write(b"`A" * 2048 + raw)
EOF
expect_same "raw protobuf with a printable first 4 KiB is pprof" "$T/printable.pb" "$DATA/go_cpu.pb.gz"

# ---- gzip members and trailing bytes --------------------------------------------------------
python3 - "$DATA/go_cpu.pb.gz" "$T" <<'EOF'
import gzip, sys
raw = gzip.open(sys.argv[1]).read()
d = sys.argv[2]
cut = len(raw) // 3
open(d + "/multi.pb.gz", "wb").write(gzip.compress(raw[:cut]) + gzip.compress(raw[cut:2 * cut]) +
                                     gzip.compress(raw[2 * cut:]))
open(d + "/trailing.pb.gz", "wb").write(gzip.compress(raw) + b"garbage\n")
open(d + "/zeros.pb.gz", "wb").write(gzip.compress(raw) + bytes(16))
open(d + "/folded.gz", "wb").write(gzip.compress(b"main;a 3\nmain;b 4\n"))
EOF
expect_same "a multi-member gzip file is read whole" "$T/multi.pb.gz" "$DATA/go_cpu.pb.gz"
expect_error "trailing garbage after gzip" "$T/trailing.pb.gz" "8 bytes of trailing garbage after the gzip data"
expect_error "zero padding after gzip" "$T/zeros.pb.gz" "16 bytes of trailing garbage after the gzip data"
if "$IGNIS" convert "$T/folded.gz" -o "$T/unzipped.folded" 2>"$T/err" &&
   [ "$(cat "$T/unzipped.folded")" = $'main;a 3\nmain;b 4' ]; then
  ok "gzip-compressed folded text"
else
  bad "gzip-compressed folded text: $(cat "$T/err")"
fi
exit $fail
