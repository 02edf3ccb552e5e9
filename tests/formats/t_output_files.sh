#!/usr/bin/env bash
# tests/formats/t_output_files.sh — what every profile writer does to the
# path it is given (utils/fileio.c), through the real `ignis flame`,
# `convert`, `report` and `record`:
#   - a device stays a device (a private copy of /dev/null made with mknod,
#     then /dev/null itself), a FIFO gets the bytes, a socket or directory
#     is refused with one line;
#   - a symlink stays a symlink and its target gets the content (relative,
#     absolute, chained, dangling, into another directory);
#   - an existing file keeps its mode (and owner, as root); a new one gets
#     0666 minus the umask;
#   - ENOSPC is reported by name: /dev/full for files and stdout, and a
#     full tmpfs for a regular file (skipped when it cannot be mounted),
#     with no temporary file left behind;
#   - `record -o` checks its output before the command runs.
set -u
IGNIS=${IGNIS:-${IGNIS_BUILD:-build}/ignis}
[ -x "$IGNIS" ] || { echo "no ignis binary at $IGNIS"; exit 1; }
IGNIS=$(realpath "$IGNIS")
T=$(mktemp -d)
mnt=
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }
ok() { echo "ok   $*"; }

printf 'main;a 30\nmain;b 70\n' >"$T/p.folded"
"$IGNIS" flame "$T/p.folded" -o "$T/want.svg" || { echo "flame does not work at all"; exit 1; }
"$IGNIS" convert "$T/p.folded" -o "$T/want.folded" || exit 1

# write_all KIND TARGET: every writer in turn (flame, convert to folded
# and to pprof) writes to TARGET; KIND labels the messages.
writers() {
  local target=$1
  "$IGNIS" flame "$T/p.folded" -o "$target" 2>"$T/err" || return 1
  "$IGNIS" convert "$T/p.folded" -o "$target" --to folded 2>"$T/err" || return 1
  "$IGNIS" convert "$T/p.folded" -o "$target" --to pprof 2>"$T/err" || return 1
}

no_temp_files() { # DIR...: no "*.tmp.*" left
  local left; left=$(find "$@" -maxdepth 1 -name '*.tmp.*' 2>/dev/null)
  [ -z "$left" ] || { bad "temporary files left: $left"; return 1; }
}

# ---- devices ------------------------------------------------------------------
# A private null device first: if a writer replaced it, the real /dev/null
# below is never put at risk.
if mknod "$T/null" c 1 3 2>/dev/null && echo probe >"$T/null"; then
  writers "$T/null" || bad "writing to a null device: $(cat "$T/err")"
  [ -c "$T/null" ] && ok "a null device stays a character device" || bad "the null device was replaced: $(ls -l "$T/null")"
  mknod "$T/null.pb.gz" c 1 3
  if "$IGNIS" record -q -o "$T/null.pb.gz" -- true 2>"$T/err"; then
    [ -c "$T/null.pb.gz" ] && ok "record -o DEVICE keeps the device" || bad "record replaced the device"
  else
    echo "skip record -o DEVICE: $(tail -1 "$T/err")"
  fi
  private_ok=$(test -c "$T/null" && test -c "$T/null.pb.gz" && echo 1)
else
  private_ok=1 # no mknod here: /dev/null cannot be replaced without root either
fi
if [ -n "$private_ok" ]; then
  writers /dev/null || bad "writing to /dev/null: $(cat "$T/err")"
  [ -c /dev/null ] && ok "/dev/null stays a character device" || bad "/dev/null was replaced"
fi

# ---- FIFO -----------------------------------------------------------------------
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
"$IGNIS" convert "$T/p.folded" -o "$T/fifo" --to folded 2>"$T/err" || bad "writing to a FIFO: $(cat "$T/err")"
wait "$reader"
[ -p "$T/fifo" ] || bad "the FIFO was replaced"
cmp -s "$T/from-fifo" "$T/want.folded" && ok "a FIFO gets the bytes" || bad "the FIFO reader got: $(head -c 200 "$T/from-fifo")"
cat "$T/fifo" >"$T/from-fifo" &
reader=$!
"$IGNIS" flame "$T/p.folded" -o "$T/fifo" 2>"$T/err" || bad "flame to a FIFO: $(cat "$T/err")"
wait "$reader"
[ -p "$T/fifo" ] && cmp -s "$T/from-fifo" "$T/want.svg" && ok "flame -o FIFO" || bad "flame -o FIFO: $(ls -l "$T/fifo")"
no_temp_files "$T"

# ---- refused: socket, directory ---------------------------------------------------
if python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sock" 2>/dev/null; then
  "$IGNIS" flame "$T/p.folded" -o "$T/sock" 2>"$T/err"
  rc=$?
  if [ $rc -eq 1 ] && [ -S "$T/sock" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$T/sock: is a socket" "$T/err"; then
    ok "a socket is refused: $(cat "$T/err")"
  else
    bad "socket: exit $rc, $(ls -l "$T/sock"), stderr: $(cat "$T/err")"
  fi
fi
mkdir "$T/dir.svg"
"$IGNIS" flame "$T/p.folded" -o "$T/dir.svg" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && [ -d "$T/dir.svg" ] && grep -q "$T/dir.svg: Is a directory" "$T/err" && ok "a directory is refused" ||
  bad "directory: exit $rc, stderr: $(cat "$T/err")"

# ---- symlinks ------------------------------------------------------------------------
mkdir "$T/a" "$T/b"
check_link() { # NAME LINK TARGET
  local name=$1 link=$2 target=$3
  if ! "$IGNIS" flame "$T/p.folded" -o "$link" 2>"$T/err"; then bad "$name: $(cat "$T/err")"; return; fi
  if [ ! -L "$link" ]; then bad "$name: the link was replaced by $(ls -l "$link")"; return; fi
  if ! cmp -s "$target" "$T/want.svg"; then bad "$name: the target did not get the SVG"; return; fi
  no_temp_files "$T" "$T/a" "$T/b" && ok "$name"
}
echo old >"$T/b/target.svg"
ln -s ../b/target.svg "$T/a/rel.svg"
check_link "a relative symlink into another directory" "$T/a/rel.svg" "$T/b/target.svg"
ln -s "$T/b/abs-target.svg" "$T/a/abs.svg"
check_link "a dangling absolute symlink creates its target" "$T/a/abs.svg" "$T/b/abs-target.svg"
ln -s rel.svg "$T/a/chain.svg"
check_link "a chain of symlinks" "$T/a/chain.svg" "$T/b/target.svg"
ln -s ../b/dangling.svg "$T/a/dangling.svg"
check_link "a dangling relative symlink creates its target" "$T/a/dangling.svg" "$T/b/dangling.svg"
(cd "$T/a" && "$IGNIS" convert "$T/p.folded" -o rel.svg --to folded 2>"$T/err") || bad "relative path to a link: $(cat "$T/err")"
[ -L "$T/a/rel.svg" ] && cmp -s "$T/b/target.svg" "$T/want.folded" && ok "a link named by a relative path" ||
  bad "link named by a relative path"
ln -s loop1 "$T/loop2"; ln -s loop2 "$T/loop1"
"$IGNIS" flame "$T/p.folded" -o "$T/loop1" 2>"$T/err"
[ $? -eq 1 ] && grep -q "$T/loop1: Too many levels of symbolic links" "$T/err" && ok "a symlink loop is an error" ||
  bad "symlink loop: $(cat "$T/err")"

# ---- modes and owners ---------------------------------------------------------------
mode() { stat -c %a "$1"; }
echo old >"$T/m600.svg"; chmod 600 "$T/m600.svg"
echo old >"$T/m640.folded"; chmod 640 "$T/m640.folded"
"$IGNIS" flame "$T/p.folded" -o "$T/m600.svg" && "$IGNIS" convert "$T/p.folded" -o "$T/m640.folded" || bad "mode runs"
[ "$(mode "$T/m600.svg")" = 600 ] && [ "$(mode "$T/m640.folded")" = 640 ] && ok "existing modes 600 and 640 kept" ||
  bad "modes after rewrite: $(mode "$T/m600.svg") $(mode "$T/m640.folded"), want 600 640"
for u in 077 022 002; do
  rm -f "$T/new-$u.svg"
  (umask $u && "$IGNIS" flame "$T/p.folded" -o "$T/new-$u.svg") || bad "umask $u run"
  want=$(printf '%o' $((0666 & ~0$u)))
  [ "$(mode "$T/new-$u.svg")" = "$want" ] && ok "umask $u gives $want" || bad "umask $u gave $(mode "$T/new-$u.svg"), want $want"
done
if [ "$(id -u)" = 0 ] && chown 65534:65534 "$T/m600.svg" 2>/dev/null; then
  "$IGNIS" flame "$T/p.folded" -o "$T/m600.svg" || bad "owner run"
  [ "$(stat -c %u:%g:%a "$T/m600.svg")" = 65534:65534:600 ] && ok "owner and group kept (root)" ||
    bad "owner after rewrite: $(stat -c %u:%g:%a "$T/m600.svg"), want 65534:65534:600"
fi

# ---- ENOSPC ------------------------------------------------------------------------------
# expect_enospc NAME WHO: the last command exited 1 with one line "ignis WHO: ...: No space left on device"
expect_enospc() {
  local rc=$1 name=$2 want=$3
  if [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "$want: No space left on device" "$T/err"; then
    ok "$name: $(cat "$T/err")"
  else
    bad "$name: exit $rc, stderr: $(cat "$T/err")"
  fi
}
if mknod "$T/full" c 1 7 2>/dev/null; then full=$T/full; else full=/dev/full; fi
"$IGNIS" flame "$T/p.folded" -o "$full" 2>"$T/err"; expect_enospc $? "flame -o FULL" "ignis flame: $full"
"$IGNIS" convert "$T/p.folded" -o "$full" 2>"$T/err"; expect_enospc $? "convert -o FULL" "ignis convert: $full"
"$IGNIS" report "$T/p.folded" >"$full" 2>"$T/err"; expect_enospc $? "report > FULL" "ignis report: stdout"
"$IGNIS" flame "$T/p.folded" -o - >"$full" 2>"$T/err"; expect_enospc $? "flame -o - > FULL" "ignis flame: stdout"
"$IGNIS" convert "$T/p.folded" -o - >"$full" 2>"$T/err"; expect_enospc $? "convert -o - > FULL" "ignis convert: stdout"
[ -c "$full" ] || bad "$full was replaced"

mnt=$T/small
mkdir "$mnt"
if mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
  echo old >"$mnt/out.svg"
  head -c 1M /dev/zero >"$mnt/filler" 2>/dev/null # fill it up
  "$IGNIS" flame "$T/p.folded" -o "$mnt/out.svg" 2>"$T/err"
  expect_enospc $? "flame -o FILE on a full file system" "ignis flame: $mnt/out.svg"
  [ "$(cat "$mnt/out.svg")" = old ] || bad "the old file was damaged"
  no_temp_files "$mnt"
else
  echo "skip ENOSPC on a regular file: cannot mount a tmpfs here"
fi

# ---- record -o is checked before the command runs ---------------------------------------
if "$IGNIS" record -q -o "$T/rec.pb.gz" -- true 2>"$T/err"; then
  "$IGNIS" record -q -o "$T/nodir/x.pb.gz" -- touch "$T/ran" 2>"$T/err"
  rc=$?
  if [ $rc -eq 125 ] && [ ! -e "$T/ran" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$T/nodir/x.pb.gz: cannot create" "$T/err"; then
    ok "record -o UNWRITABLE fails before the command runs: $(cat "$T/err")"
  else
    bad "record -o UNWRITABLE: exit $rc, command ran: $([ -e "$T/ran" ] && echo yes || echo no), stderr: $(cat "$T/err")"
  fi
  no_temp_files "$T"
  # The same for allocation profiles, launched (preload) and attached (-p).
  "$IGNIS" record --alloc -q -o "$T/nodir/h.pb.gz" -- touch "$T/ran" 2>"$T/err"
  rc=$?
  if [ $rc -eq 125 ] && [ ! -e "$T/ran" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$T/nodir/h.pb.gz: cannot create" "$T/err"; then
    ok "record --alloc -o UNWRITABLE fails before the command runs"
  else
    bad "record --alloc -o UNWRITABLE: exit $rc, command ran: $([ -e "$T/ran" ] && echo yes || echo no), stderr: $(cat "$T/err")"
  fi
  "$IGNIS" record --alloc -q -p $$ -o "$T/nodir/h.pb.gz" 2>"$T/err"
  rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$T/nodir/h.pb.gz: cannot create" "$T/err"; then
    ok "record --alloc -p PID -o UNWRITABLE fails before attaching"
  else
    bad "record --alloc -p -o UNWRITABLE: exit $rc, stderr: $(cat "$T/err")"
  fi
  # A recorder killed while its output is open leaves no temporary file:
  # the output is an unnamed file (O_TMPFILE) until it is committed.
  mkdir "$T/k"
  "$IGNIS" record -q -o "$T/k/out.pb.gz" -- sh -c 'echo $$ >"$0"; exec sleep 60' "$T/child" 2>/dev/null &
  rec=$!
  for _ in $(seq 1000); do [ -s "$T/child" ] && break; sleep 0.02; done # poll for the start
  kill -9 $rec 2>/dev/null; wait $rec 2>/dev/null
  [ -s "$T/child" ] && kill "$(cat "$T/child")" 2>/dev/null
  if [ -s "$T/child" ] && [ -z "$(ls -A "$T/k")" ]; then
    ok "record killed with SIGKILL leaves nothing in the output directory"
  else
    bad "record killed with SIGKILL left: $(ls -A "$T/k" | tr '\n' ' ') (child started: $([ -s "$T/child" ] && echo yes || echo no))"
  fi
else
  echo "skip record -o checks: record does not work here: $(tail -1 "$T/err")"
fi
exit $fail
