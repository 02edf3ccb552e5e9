#!/usr/bin/env bash
# `ignis record --alloc -- CMD` end to end: the preload route writes a
# symbolized profile that `ignis report` reads; -d reads the tables of a
# long-running command, then ends it (its leak must be in the profile);
# bad options and a missing command give one-line errors; the tables of
# every process a command starts are merged.
set -u
cd "$(dirname "$0")/../.."
. tests/alloc/lib.sh
[ -f "$SHIM" ] || skip "libignis-alloc.so not built (sanitizer build?)"

# -d: the command holds its leak and waits for input that never comes
mkfifo "$TMP/in"
exec 3<>"$TMP/in"
"${RECORD[@]}" --alloc --sample-bytes 1 -d 2 -o "$TMP/d.pb.gz" -- "$SITES" -r 100 --hold < "$TMP/in" \
  > "$TMP/out" 2> "$TMP/err" || { cat "$TMP/err"; fail "record -d failed"; }
exec 3>&-
cat "$TMP/err"
grep -q done "$TMP/out" || fail "command did not run"
"$CHECK" "$TMP/d.pb.gz" > "$TMP/d.txt" || fail heapcheck
cat "$TMP/d.txt"
[ "$(value "$TMP/d.txt" leak_site 5)" -eq 4800 ] || fail "-d: leak_site in-use != 4800"

# a command that runs the program twice: every process dumps, ignis merges
"${RECORD[@]}" --alloc --sample-bytes 1 -o "$TMP/m.pb.gz" -- sh -c "'$SITES' -r 100 && '$SITES' -r 100" \
  > /dev/null 2> "$TMP/err" || { cat "$TMP/err"; fail "record of sh -c failed"; }
cat "$TMP/err"
grep -q "processes merged" "$TMP/err" || fail "several processes: not merged"
"$CHECK" "$TMP/m.pb.gz" > "$TMP/m.txt" || fail heapcheck
[ "$(value "$TMP/m.txt" leak_site 5)" -eq 9600 ] || fail "merged dumps: leak_site in-use != 2 x 4800"

# reports read it like any profile
if [ -x "$IGNIS" ]; then
  "$IGNIS" report --value alloc_space "$TMP/d.pb.gz" > "$TMP/rep.txt" || fail "ignis report failed"
  grep -q site_a "$TMP/rep.txt" || fail "ignis report does not show site_a"
fi

# errors
out=$("${RECORD[@]}" --alloc -o "$TMP/x.pb.gz" -- /nonexistent/prog 2>&1) && fail "missing command accepted"
echo "$out"
echo "$out" | grep -q "/nonexistent/prog" || fail "missing command: unclear message"
out=$("${RECORD[@]}" --alloc --sample-bytes abc -- true 2>&1); [ $? -eq 2 ] || fail "bad --sample-bytes not a usage error"
echo "$out" | grep -q -- "--sample-bytes abc" || fail "bad --sample-bytes: unclear message"
out=$("${RECORD[@]}" --alloc 2>&1); [ $? -eq 2 ] || fail "no target not a usage error"
echo "record ok"
