#!/usr/bin/env bash
# tests/cli/t_fifo_input.sh — inputs that can be read only once: a FIFO, a
# pipe or socket behind /dev/stdin or /dev/fd/N, and endless devices.
# report, flame, convert and view open a FIFO once and read its bytes from that
# descriptor (they used to open it, look at it, close it and open it again:
# the writer's bytes went with the first open and the second open waited
# for a writer that never came).  A socket as stdin, which no open(2) of
# /dev/stdin can reach, is read through the descriptor itself.  An endless
# stream that cannot be a profile (/dev/zero) is refused from its first
# bytes with one line, not after the 1 GiB cap.  Every writer runs under a
# timeout, which only guards against a hang; nothing waits on time.
. "$(dirname "$0")/lib.sh"
GUARD=${GUARD:-60}

# feed FIFO FILE: a writer that has FILE's bytes in memory, opens FIFO
# (blocking until a reader opens it), writes them and closes it at once,
# as `ignis convert -o FIFO` does.
feed() {
  timeout "$GUARD" bash -c 'd=$(cat "$2"; echo .); printf %s "${d%.}" >"$1"' _ "$1" "$2" 2>/dev/null &
  WRITER=$!
}

# ---- a FIFO read by each command ------------------------------------------------------
printf 'main;a 3\nmain;b 1\n' >"$T/p.folded"
for cmd in report flame convert view; do
  for round in 1 2 3; do
    rm -f "$T/ff"; mkfifo "$T/ff"
    feed "$T/ff" "$T/p.folded"
    case $cmd in
      report) timeout "$GUARD" "$IGNIS" report "$T/ff" -n 2 >"$T/$cmd.out" 2>"$T/$cmd.err" ;;
      flame) timeout "$GUARD" "$IGNIS" flame "$T/ff" -o "$T/$cmd.out" 2>"$T/$cmd.err" ;;
      convert) timeout "$GUARD" "$IGNIS" convert "$T/ff" --to folded -o "$T/$cmd.out" 2>"$T/$cmd.err" ;;
      view) IGNIS_VIEW_BENCH=1 timeout "$GUARD" "$IGNIS" view "$T/ff" >"$T/$cmd.out" 2>"$T/$cmd.err" </dev/null ;;
    esac
    RC=$?
    kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null
    [ "$RC" -eq 0 ] || fail "$cmd FIFO (round $round): exit $RC$([ "$RC" -eq 124 ] && echo ' (hung)'): $(cat "$T/$cmd.err")"
    case $cmd in
      report) grep -q ' a$' "$T/$cmd.out" && grep -q ' b$' "$T/$cmd.out" || fail "report FIFO: $(cat "$T/$cmd.out")" ;;
      flame) grep -q '<title>a$' "$T/$cmd.out" || fail "flame FIFO: no frame a in the SVG" ;;
      convert) [ "$(cat "$T/$cmd.out")" = "$(cat "$T/p.folded")" ] || fail "convert FIFO: $(cat "$T/$cmd.out")" ;;
      view) grep -q "tree_nodes=4 " "$T/$cmd.out" || fail "view FIFO: $(cat "$T/$cmd.out")" ;; # all, main, a, b
    esac
  done
done

# a FIFO with more than a pipe's buffer (64 KiB): read whole, once
for i in $(seq 1 20000); do echo "main;f$((i % 500)) 1"; done >"$T/big.folded"
rm -f "$T/ff"; mkfifo "$T/ff"
feed "$T/ff" "$T/big.folded"
timeout "$GUARD" "$IGNIS" convert "$T/ff" --to folded -o "$T/big.out" 2>"$T/big.err"
RC=$?
kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null
[ "$RC" -eq 0 ] || fail "convert of a 300 KB FIFO: exit $RC: $(cat "$T/big.err")"
[ "$(awk '{s += $NF} END {print s}' "$T/big.out")" = 20000 ] || fail "convert of a 300 KB FIFO lost samples"

# ---- /dev/stdin and /dev/fd/N: the descriptor itself ----------------------------------
# a socket cannot be opened by name (ENXIO): only its descriptor reads it
if command -v python3 >/dev/null; then
  python3 - "$IGNIS" "$T/p.folded" "$T/sock.out" <<'EOF' >"$T/sock.err" 2>&1
import socket, subprocess, sys
ignis, src, out = sys.argv[1:4]
a, b = socket.socketpair()
with open(src, "rb") as f:
    a.sendall(f.read())
a.close()
for path in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-"):
    r = subprocess.run([ignis, "convert", path, "--to", "folded", "-o", out], stdin=b, timeout=60,
                       capture_output=True, text=True)
    if r.returncode != 0 or open(out).read() != open(src).read():
        sys.exit("convert %s from a socket: exit %d: %s" % (path, r.returncode, r.stderr.strip()))
    b.close()
    a, b = socket.socketpair()
    with open(src, "rb") as f:
        a.sendall(f.read())
    a.close()
EOF
  [ $? -eq 0 ] || fail "$(cat "$T/sock.err")"
fi
# a pipe on fd 3 through /dev/fd/3, and stdin as "-"
timeout "$GUARD" "$IGNIS" convert /dev/fd/3 --to folded -o "$T/fd3.out" 3< <(cat "$T/p.folded") 2>"$T/fd3.err" ||
  fail "convert /dev/fd/3: $(cat "$T/fd3.err")"
cmp -s "$T/fd3.out" "$T/p.folded" || fail "convert /dev/fd/3: $(cat "$T/fd3.out")"
cat "$T/p.folded" | timeout "$GUARD" "$IGNIS" convert - --to folded -o "$T/dash.out" 2>"$T/dash.err" ||
  fail "convert -: $(cat "$T/dash.err")"
cmp -s "$T/dash.out" "$T/p.folded" || fail "convert -: $(cat "$T/dash.out")"
# a descriptor that is not open is an error naming the path
run badfd convert /dev/fd/987 --to folded -o "$T/x.folded"
one_line_error badfd 1 "/dev/fd/987: Bad file descriptor"

# ---- endless streams ------------------------------------------------------------------
# /dev/zero is refused from its first bytes (NUL bytes: not text; byte 0 is
# no Profile field), not after reading 1 GiB ("more than 1073741824 bytes:
# too large to read"; no ulimit -v here: ASan's shadow memory needs more)
for cmd in report flame; do
  out=(); [ "$cmd" = flame ] && out=(-o "$T/z.svg")
  timeout "$GUARD" "$IGNIS" $cmd /dev/zero "${out[@]}" >"$T/z.out" 2>"$T/z.err"
  RC=$?
  [ "$RC" -eq 1 ] || fail "$cmd /dev/zero: exit $RC: $(cat "$T/z.err")"
  [ "$(wc -l <"$T/z.err")" -eq 1 ] || fail "$cmd /dev/zero: not one line: $(cat "$T/z.err")"
  grep -q "/dev/zero: not a profile in a format ignis reads" "$T/z.err" || fail "$cmd /dev/zero: $(cat "$T/z.err")"
done
# an endless gzip stream of zeros is refused from its first inflated bytes too
head -c 1000000 /dev/zero | gzip -c >"$T/z.gz"
timeout "$GUARD" "$IGNIS" report /dev/stdin <"$T/z.gz" >"$T/zg.out" 2>"$T/zg.err"
RC=$?
[ "$RC" -eq 1 ] && grep -q "not a profile in a format ignis reads" "$T/zg.err" ||
  fail "report of gzip zeros on stdin: exit $RC: $(cat "$T/zg.err")"
# text that never ends is bounded by the cap as before (not tried here: 1 GiB);
# a short text stream with a NUL past its first 64 KiB is read whole and refused
# by the format's reader, one line
{ head -c 70000 "$T/big.folded"; printf '\0'; } | timeout "$GUARD" "$IGNIS" report - >"$T/nul.out" 2>"$T/nul.err"
RC=$?
[ "$RC" -eq 1 ] && [ "$(wc -l <"$T/nul.err")" -eq 1 ] || fail "report of text with a late NUL: exit $RC: $(cat "$T/nul.err")"
finish
