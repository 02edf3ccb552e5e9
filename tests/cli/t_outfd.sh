#!/usr/bin/env bash
# tests/cli/t_outfd.sh — -o naming one of our own descriptors (/dev/stdout,
# /dev/fd/N, /proc/self/fd/N, a symlink to one) writes through it as -o -
# does: an appending redirection keeps what the shell wrote before and
# after, a pipe works, nothing is renamed over the shell's file.
. "$(dirname "$0")/lib.sh"

want=$(printf 'before\nmain;a 50\nmain;b 48\nmain;c 2\nafter')
for out in /dev/stdout /dev/fd/1 /proc/self/fd/1; do
  F="$T/append"
  echo HEADER >"$F"
  ( echo before; "$IGNIS" convert "$T/new.folded" --to folded -q -o "$out"; echo after ) >>"$F" 2>"$T/a.err" ||
    fail "$out >>: exit $?: $(cat "$T/a.err")"
  [ "$(cat "$F")" = "HEADER
$want" ] || fail "$out >> file: $(cat "$F")"
  # a plain > redirection: the shell's offset, not a fresh file
  ( echo before; "$IGNIS" convert "$T/new.folded" --to folded -q -o "$out"; echo after ) >"$F" 2>"$T/a.err"
  [ "$(cat "$F")" = "$want" ] || fail "$out > file: $(cat "$F")"
  # a pipe has no name to open
  got=$("$IGNIS" convert "$T/new.folded" --to folded -q -o "$out" 2>"$T/p.err" | cat)
  [ "$got" = "$(printf 'main;a 50\nmain;b 48\nmain;c 2')" ] || fail "$out | cat: '$got' $(cat "$T/p.err")"
done
# another descriptor, appending; and an SVG through a symlink to /dev/stdout
F="$T/fd3"
echo HEADER >"$F"
( echo before >&3; "$IGNIS" convert "$T/new.folded" --to folded -q -o /dev/fd/3; echo after >&3 ) 3>>"$F" ||
  fail "/dev/fd/3: exit $?"
[ "$(cat "$F")" = "HEADER
$want" ] || fail "/dev/fd/3 3>>: $(cat "$F")"
ln -s /dev/stdout "$T/link.svg"
echo HEADER >"$F"
"$IGNIS" flame "$T/new.folded" -q -o "$T/link.svg" >>"$F" || fail "flame -o link to /dev/stdout: exit $?"
[ -L "$T/link.svg" ] || fail "the symlink was replaced"
[ "$(head -1 "$F")" = HEADER ] && grep -q '</svg>' "$F" || fail "flame through a link to /dev/stdout: $(head -c 200 "$F")"
# a descriptor that is not open, or open only for reading: one line, no file made
run bad convert "$T/new.folded" --to folded -o /dev/fd/9
[ "$RC" -ne 0 ] && grep -q '/dev/fd/9' "$T/bad.err" || fail "closed fd 9: rc $RC $(cat "$T/bad.err")"
"$IGNIS" convert "$T/new.folded" --to folded -o /dev/fd/4 4<"$T/new.folded" 2>"$T/ro.err"
[ $? -ne 0 ] && grep -q 'not open for writing' "$T/ro.err" || fail "read-only fd 4: $(cat "$T/ro.err")"
[ "$(cat "$T/new.folded")" = "$(printf 'main;a 50\nmain;b 48\nmain;c 2')" ] || fail "read-only fd's file changed"
finish
