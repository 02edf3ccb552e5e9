#!/usr/bin/env bash
# tests/viewer/e2e_view.sh — drives the real `ignis view` in tmux.
#
# Every check sends keys with `tmux send-keys` and polls `capture-pane`
# (bounded, 10 s) until the expected text is on the screen; nothing waits
# for a fixed time.  Covers a Go runtime pprof file, a folded file and a
# perf-script file: flame graph, navigation, zoom, search, top table,
# callers, diff, export, help, quit, mouse clicks, bad input, a too-small terminal, the
# ASCII fallback and resizing.
. "$(dirname "$0")/lib.sh"

# start NAME LANG W H ARGS...: runs ignis view in a detached session; when
# it exits the pane shows "exited rc=N" (and stays open).
start() {
  local name=$1 lang=$2 w=$3 h=$4; shift 4
  T new-session -d -s "$name" -x "$w" -y "$h" \
    "env LANG=$lang LC_ALL=$lang TERM=xterm-256color $IGNIS view $*; echo exited rc=\$?; read x"
}

# ---- Go runtime pprof -------------------------------------------------------
go=tests/data/go_cpu.pb.gz
if [ -f $go ]; then
  start go C.UTF-8 120 40 $go
  expect go "ignis view $go | cpu | total"
  expect go "main.hotLoop"
  # the status line: numbers first, then the name, then module and file
  expect go " total 2.40s (100.00% of all) | self 0 (0.00%) | root"
  keys go k; expect go "| self 0 (0.00%) | runtime.main"
  keys go k k; expect go " total 1.80s (75.00% of all) | self 1.80s (75.00%) | main.hotLoop | gopprof "
  keys go Enter; expect go " total 1.80s (100.00% of zoom, 75.00% of all) | self 1.80s (100.00% of zoom) | main.hotLoop"
  expect go "| zoom 1"
  expect_not go "main.warmLoop"
  keys go Escape; expect go "main.warmLoop"
  keys go / w a r m Enter; expect go "/warm: matched 25.00% of total / 25.00% of view"
  expect go " total 600ms (25.00% of all) | self 600ms (25.00%) | main.warmLoop"
  keys go t; expect go "      flat   flat%    sum%        cum    cum%  name"
  expect go "     1.80s  75.00%  75.00%      1.80s  75.00%  main.hotLoop"
  keys go o; expect go "sorted by cum"
  keys go '?'; expect go "ignis view: keys"
  keys go Escape; expect go "      flat   flat%"
  keys go q; expect go "exited rc=0"
  # mouse (SGR 1006 reports, as xterm sends them): a click selects the frame
  # under the pointer, a double click zooms into it
  start mouse C.UTF-8 120 30 $go
  expect mouse "| self 0 (0.00%) | root"
  row=$(screen mouse | grep -n "main.warmLoop" | cut -d: -f1)
  col=$(screen mouse | grep "main.warmLoop" | awk '{ print index($0, "main.warmLoop") }')
  press() { printf '\e[<0;%d;%dM\e[<0;%d;%dm' "$1" "$2" "$1" "$2"; }
  keys mouse -l "$(press $((col + 2)) "$row")"
  expect mouse " total 600ms (25.00% of all) | self 600ms (25.00%) | main.warmLoop"
  keys mouse -l "$(press 3 "$row")$(press 3 "$row")" # one write: well inside the double-click interval
  expect mouse " total 1.80s (100.00% of zoom, 75.00% of all) | self 1.80s (100.00% of zoom) | main.hotLoop"
  keys mouse q; expect mouse "exited rc=0"
else
  echo "FAIL: $go missing"; fails=$((fails + 1))
fi

# ---- folded: flame graph, callers, diff, export --------------------------------
cat > $tmp/base.folded <<'EOF'
main;parse;lex 40
main;parse;alloc 10
main;render;draw 40
main;render;alloc 10
EOF
cat > $tmp/new.folded <<'EOF'
main;parse;lex 70
main;parse;alloc 10
main;render;draw 10
main;render;alloc 10
EOF
start fo C.UTF-8 100 30 $tmp/new.folded
expect fo "main"
keys fo k k; expect fo " total 80 (80.00% of all) | self 0 (0.00%) | parse"
keys fo k; expect fo " total 70 (70.00% of all) | self 70 (70.00%) | lex"
keys fo l; expect fo " total 10 (10.00% of all) | self 10 (10.00%) | alloc"
keys fo c; expect fo "callers of alloc"
expect fo "callees of alloc"
expect fo "render"
keys fo Escape; expect fo "arrows move  Enter zoom"
keys fo e; expect fo "export view to (.svg/.folded/.pb.gz): ignis-view.svg"
for i in $(seq 14); do keys fo BSpace; done
keys fo -l "$tmp/out.folded"; keys fo Enter
expect fo "exported the view to $tmp/out.folded (folded)"
if grep -qx "main;parse;lex 70" $tmp/out.folded && [ "$(wc -l < $tmp/out.folded)" -eq 4 ]; then
  pass=$((pass + 1))
else
  echo "FAIL: export content"; cat $tmp/out.folded; fails=$((fails + 1))
fi
keys fo x r e n d e r Enter; expect fo "total 80 | ignore=render"
keys fo q; expect fo "exited rc=0"

start df C.UTF-8 120 30 --diff $tmp/base.folded $tmp/new.folded
expect df "ignis diff $tmp/new.folded"
keys df k k k; expect df " total 70 (70.00% of all) | self 70 (70.00%) | diff +30.00% (base 40.00%) | lex"
keys df t; expect df "cum%       dflat       dcum  name"
expect df "        70  70.00%  70.00%         70  70.00%         +30        +30  lex"
expect df "-30        -30  draw"
keys df q; expect df "exited rc=0"

# ---- perf script --------------------------------------------------------------
ps=tests/data/perf_fp.txt
if [ -f $ps ]; then
  start ps C.UTF-8 160 40 $ps
  expect ps "ignis view $ps"
  expect ps "burn_hot"
  keys ps / b u r n _ Enter; expect ps "/burn_: matched"
  keys ps t; expect ps "burn_hot"
  keys ps T; expect ps "Show which thread?"
  expect ps "(all threads)"
  expect ps "  perfprog"
  keys ps Down Enter; expect ps "| thread=^perfprog\$"
  keys ps s; expect ps "Show which value?"
  keys ps Up Enter; expect ps "| samples | total"
  keys ps q; expect ps "exited rc=0"
fi

# ---- bad input, small terminal, ASCII, resize ------------------------------------
out=$("$IGNIS" view $tmp/missing.pb.gz 2>$tmp/err); rc=$?
if [ $rc -eq 1 ] && [ -z "$out" ] && [ "$(wc -l < $tmp/err)" -eq 1 ] && grep -q "missing.pb.gz" $tmp/err; then
  pass=$((pass + 1))
else
  echo "FAIL: bad input: rc=$rc out=[$out] err=[$(cat $tmp/err)]"; fails=$((fails + 1))
fi
printf 'garbage\x01\x02 not a profile\n' > $tmp/bad.pb.gz
out=$("$IGNIS" view --format pprof $tmp/bad.pb.gz 2>$tmp/err); rc=$?
if [ $rc -eq 1 ] && [ -z "$out" ] && [ "$(wc -l < $tmp/err)" -eq 1 ]; then
  pass=$((pass + 1))
else
  echo "FAIL: corrupt input: rc=$rc err=[$(cat $tmp/err)]"; fails=$((fails + 1))
fi

out=$("$IGNIS" view --value nope $tmp/new.folded 2>$tmp/err); rc=$?
if [ $rc -eq 1 ] && [ -z "$out" ] && grep -qx "ignis view: --value: the profile has no value 'nope'" $tmp/err; then
  pass=$((pass + 1))
else
  echo "FAIL: bad --value: rc=$rc err=[$(cat $tmp/err)]"; fails=$((fails + 1))
fi
"$IGNIS" view >/dev/null 2>$tmp/err; rc=$?
[ $rc -eq 2 ] && pass=$((pass + 1)) || { echo "FAIL: no file: rc=$rc"; fails=$((fails + 1)); }

# command-line filters and icicle: the root is on the first row under the header
start op C.UTF-8 120 24 --focus lex --icicle $tmp/new.folded
expect op "ignis view $tmp/new.folded | samples | total 70 | focus=lex"
if [ "$(screen op | sed -n 2p | cut -c1-4)" = root ]; then pass=$((pass + 1)); else
  echo "FAIL: icicle root not on row 2"; screen op; fails=$((fails + 1)); fi
keys op q; expect op "exited rc=0"

start sm C.UTF-8 30 8 $tmp/new.folded
expect sm "terminal too small (30x8)"
T resize-window -t sm -x 80 -y 24
expect sm "arrows move  Enter zoom"
keys sm q; expect sm "exited rc=0"

# a profile on standard input: keys still come from the terminal
start si C.UTF-8 80 24 "- < $tmp/new.folded"
expect si "ignis view - | samples | total 100"
keys si k; expect si " total 100 (100.00% of all) | self 0 (0.00%) | main"
keys si q; expect si "exited rc=0"

printf 'main;a_function_with_a_very_long_name_that_is_cut 1\nmain;b 1\n' > $tmp/long.folded
start as C 80 24 $tmp/long.folded
expect as "a_function_with_a_very_long_name_that_i~b"
keys as q; expect as "exited rc=0"
start ut C.UTF-8 80 24 $tmp/long.folded
expect ut "a_function_with_a_very_long_name_that_i…b"
keys ut q; expect ut "exited rc=0"

# deeper than the screen: the header says which depths are shown, and the
# view scrolls to keep the selection visible
for i in $(seq 0 49); do printf 'f%02d;' $i; done | sed 's/;$/ 10\n/' > $tmp/deep.folded
start dp C.UTF-8 120 24 $tmp/deep.folded
expect dp "| depth 0-20+"
for i in $(seq 30); do keys dp k; done
expect dp "| self 0 (0.00%) | f29"
expect dp "| depth 10-30+"
keys dp q; expect dp "exited rc=0"

finish
