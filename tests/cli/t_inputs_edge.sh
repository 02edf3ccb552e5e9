#!/usr/bin/env bash
# tests/cli/t_inputs_edge.sh — what ignis writes, ignis reads: a profile
# without samples written as folded stacks is an empty file, read back as
# an empty profile (as the same profile in pprof is); an empty file of no
# known format is still "empty file".  A small gzip input that inflates to
# hundreds of MB of zeros is refused from its first bytes, without the
# memory.  Usage errors of flame and record --alloc exit 2 with one line.
. "$(dirname "$0")/lib.sh"

# ---- empty folded output reads back ---------------------------------------------------------
# a pprof Profile with one sample type (samples/count) and no samples
printf '\x0a\x04\x08\x01\x10\x02\x32\x00\x32\x07samples\x32\x05count' | gzip >"$T/e.pb.gz"
run back convert "$T/e.pb.gz" -o "$T/back.folded"
[ "$RC" -eq 0 ] && [ -f "$T/back.folded" ] && [ ! -s "$T/back.folded" ] ||
  fail "convert empty pprof to .folded: rc $RC $(cat "$T/back.err")"
gzip -c "$T/back.folded" >"$T/back.folded.gz"
cp "$T/back.folded" "$T/back.txt"
for f in back.folded back.folded.gz back.txt; do
  run r_pb report "$T/e.pb.gz"
  run r report "$T/$f"
  [ "$RC" -eq 0 ] || fail "report $f: rc $RC $(cat "$T/r.err")"
  diff <(tail -n +2 "$T/r_pb.out") <(tail -n +2 "$T/r.out") >/dev/null ||
    fail "report $f differs from the empty pprof's: $(cat "$T/r.out")"
  run f_pb flame "$T/e.pb.gz" -o "$T/pb.svg"
  rc_pb=$RC
  run f flame "$T/$f" -o "$T/f.svg"
  [ "$RC" -eq "$rc_pb" ] || fail "flame $f: rc $RC, the empty pprof's $rc_pb ($(cat "$T/f.err"))"
done
run fmt report --format folded "$T/back.folded" # the format asked for
[ "$RC" -eq 0 ] || fail "report --format folded of an empty file: $(cat "$T/fmt.err")"
# nothing says what format an empty .pb.gz, .data or stdin is
: >"$T/e.data"
for f in e.data; do
  run u report "$T/$f"
  one_line_error u 1 "empty file"
done
cp "$T/e.data" "$T/x.pb.gz"
run u report "$T/x.pb.gz"
one_line_error u 1 "empty file"

# ---- a gzip bomb is refused from its first bytes ----------------------------------------------
head -c 200000000 /dev/zero | gzip -1 >"$T/bomb.gz"
[ "$(stat -c %s "$T/bomb.gz")" -lt 2000000 ] || fail "bomb.gz is not small"
if ldd "$IGNIS" 2>/dev/null | grep -q 'libasan\|libtsan'; then
  run z report "$T/bomb.gz" # sanitizers reserve terabytes: no address-space limit there
else
  # 150 MB of address space: inflating the 200 MB would not fit (ignis needs under 60 MB to refuse it)
  (ulimit -v 150000; "$IGNIS" report "$T/bomb.gz" >"$T/z.out" 2>"$T/z.err")
  RC=$?
fi
one_line_error z 1 "not a profile in a format ignis reads"
grep -q "bomb.gz" "$T/z.err" || fail "the error does not name the file: $(cat "$T/z.err")"
# a real gzipped profile bigger than the first bytes checked still reads
for i in $(seq 1 20000); do echo "main;fn_$i;leaf 1"; done | gzip >"$T/real.folded.gz"
run real report "$T/real.folded.gz"
[ "$RC" -eq 0 ] || fail "a gzipped folded file of 600 KB: $(cat "$T/real.err")"

# ---- usage errors exit 2 ----------------------------------------------------------------------
run w flame "$T/new.folded" --width -1 -o "$T/w.svg"
one_line_error w 2 "--width"
run mw flame "$T/new.folded" --minwidth -1 -o "$T/w.svg"
one_line_error mw 2 "--minwidth"
run sb record --alloc --sample-bytes 99999999999999999999999 -o "$T/h.pb.gz" -- true
one_line_error sb 2 "--sample-bytes"
run sb2 record --alloc --sample-bytes 2000000000000 -o "$T/h.pb.gz" -- true
one_line_error sb2 2 "--sample-bytes"
[ ! -e "$T/h.pb.gz" ] || fail "--sample-bytes out of range still recorded"
finish
