#!/usr/bin/env bash
# tests/formats/t_nul_strings.sh — a NUL inside a profile's strings (valid
# UTF-8: pprof's string table and OTLP/JSON's "\u0000" may hold it).  The
# model's strings are C strings, so the readers keep such a string whole
# with the NUL shown as \u0000: "hot\u0000evil" stays a function of its
# own, never cut into "hot" and merged with it.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
printf 'main;hot 300\nmain;hotXevil 100\n' >"$tmp/in.folded"

check() { # NAME FILE
  "$IGNIS" report "$2" >"$tmp/$1.out" 2>&1 || { echo "FAIL $1: report: $(cat "$tmp/$1.out")"; fail=1; return; }
  if grep -Eq '^ +300 75\.00% 75\.00% +300 75\.00%  hot$' "$tmp/$1.out" &&
     grep -Fq '100 25.00%   100%        100 25.00%  hot\u0000evil' "$tmp/$1.out"; then
    echo "ok   $1: hot\\u0000evil kept apart from hot"
  else
    echo "FAIL $1:"; cat "$tmp/$1.out"; fail=1
  fi
}

# pprof: the string "hotXevil" patched in place to "hot<NUL>evil" (same length)
"$IGNIS" convert -q "$tmp/in.folded" -o "$tmp/p.pb.gz" || exit 1
gzip -dc "$tmp/p.pb.gz" | perl -pe 's/hotXevil/hot\0evil/g' >"$tmp/p.pb"
grep -c "hotXevil" "$tmp/p.pb" >/dev/null && { echo "FAIL: patch"; exit 1; }
check pprof "$tmp/p.pb"
# OTLP profiles as JSON: "hot\u0000evil"
"$IGNIS" convert -q "$tmp/in.folded" -o "$tmp/p.otlp.json" || exit 1
sed 's/hotXevil/hot\\u0000evil/' "$tmp/p.otlp.json" >"$tmp/nul.otlp.json"
grep -q 'hot\\u0000evil' "$tmp/nul.otlp.json" || { echo "FAIL: sed"; exit 1; }
check otlp_json "$tmp/nul.otlp.json"
exit $fail
