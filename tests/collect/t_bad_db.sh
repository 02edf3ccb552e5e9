#!/usr/bin/env bash
# tests/collect/t_bad_db.sh — `ignis collect` refuses a database it must
# not write, and bad options: one line on stderr naming the file or flag
# and the reason, a non-zero exit, and the file byte for byte unchanged.
. "$(dirname "$0")/lib.sh"

# expect NAME WANT_EXIT WANT_TEXT FILE_TO_KEEP collect-args...
expect() {
  local name=$1 want_rc=$2 want=$3 keep=$4; shift 4
  [ -n "$keep" ] && cp "$keep" "$dir/before"
  timeout 30 "$IGNIS" collect --listen 127.0.0.1:0 "$@" >"$dir/out" 2>"$dir/err" </dev/null
  local rc=$?
  [ "$rc" = "$want_rc" ] || fail "$name: exit $rc, want $want_rc ($(cat "$dir/err"))"
  [ "$(wc -l <"$dir/err")" = 1 ] || fail "$name: stderr is not one line: $(cat "$dir/err")"
  grep -qF -- "$want" "$dir/err" || fail "$name: '$(cat "$dir/err")' lacks '$want'"
  if [ -n "$keep" ]; then cmp -s "$keep" "$dir/before" || fail "$name: $keep was changed"; fi
  echo "ok   $name: $(cat "$dir/err")"
}

printf 'not a database, just text\n' >"$dir/text.db"
expect "a text file" 1 "$dir/text.db: not an SQLite database" "$dir/text.db" --db "$dir/text.db"

sqlite3 "$dir/app.db" 'CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance); INSERT INTO accounts VALUES (1, 10);'
expect "another application's database" 1 "$dir/app.db: not an ignis trace store" "$dir/app.db" --db "$dir/app.db"

start_collect
out=$(OTEL_SERVICE_NAME=victim emit 500 10) || fail "service: $out"
wait_metric ignis_collect_spans_stored_total 500 || fail "not stored"
expect "a store in use" 1 "in use by another ignis collect" "" --db "$DB"
stop_collect
root=$(sql "SELECT rootpage FROM sqlite_schema WHERE name = 'traces'")
psize=$(sql 'PRAGMA page_size')
dd if=/dev/urandom of="$DB" bs="$psize" seek=$((root - 1)) count=1 conv=notrunc status=none
expect "a damaged store" 1 "damaged" "$DB" --db "$DB"
cp "$DB" "$dir/hdr.db"
printf 'garbage!garbage!' | dd of="$dir/hdr.db" conv=notrunc status=none
expect "a damaged header" 1 "not an SQLite database" "$dir/hdr.db" --db "$dir/hdr.db"
sqlite3 "$dir/newer.db" 'PRAGMA application_id = 1229409875; PRAGMA user_version = 7; CREATE TABLE meta(k, v);'
expect "a newer schema" 1 "schema 7 is newer" "$dir/newer.db" --db "$dir/newer.db"
mkdir "$dir/adir"
expect "a directory" 1 "$dir/adir: not a regular file" "" --db "$dir/adir"

expect "bad --retain" 2 "--retain: invalid value 'soon'" "" --db "$dir/x.db" --retain soon
expect "bad --max-body" 2 "--max-body: invalid value '12'" "" --db "$dir/x.db" --max-body 12
expect "too big --max-body" 2 "--max-body: invalid value '1G'" "" --db "$dir/x.db" --max-body 1G
expect "bad --forward" 1 "--forward: 'ftp://x' is not an http:// or https:// URL" "" --db "$dir/x.db" --forward ftp://x
expect "bad --forward URL" 1 "--forward: 'http://[::1' is not a valid URL (Bad IPv6 address)" "" --db "$dir/x.db" --forward 'http://[::1'
expect "unknown option" 2 "--frobnicate: unknown option" "" --db "$dir/x.db" --frobnicate
timeout 30 "$IGNIS" collect --listen 999.1.1.1:80 --db "$dir/y.db" >"$dir/out" 2>"$dir/err"
[ $? = 1 ] && grep -q -- '--listen 999.1.1.1:80' "$dir/err" || fail "bad --listen: $(cat "$dir/err")"
echo "ok   bad --listen: $(cat "$dir/err")"
DB=$dir/listen.db
start_collect # the receiver binds its socket itself: a port in use is one line naming --listen
timeout 30 "$IGNIS" collect --listen "127.0.0.1:$PORT" --db "$dir/z.db" >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -q -- "--listen 127.0.0.1:$PORT: cannot listen there (Address already in use)" "$dir/err" ||
  fail "--listen on a port in use: exit $rc: $(cat "$dir/err")"
stop_collect
echo "ok   --listen on a port in use: $(cat "$dir/err")"

# a fresh store in a directory that does not exist yet
DB=$dir/new/dir/traces.db
timeout 30 "$IGNIS" collect --import /dev/null --db "$DB" 2>"$dir/err" || fail "new directories: $(cat "$dir/err")"
[ "$(sql 'PRAGMA application_id')" = 1229409875 ] || fail "new store not created"
echo "ok   the store's directory is created"
