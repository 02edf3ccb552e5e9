#!/usr/bin/env bash
# tests/viewer/e2e_keys.sh — the keys and the long-work behaviour of the
# real `ignis view`, driven in tmux (send-keys, capture-pane).
#
# Prompts edited like a shell line (cursor keys, Ctrl-A/E/U/W/K, history,
# a pre-filled value replaced in one key); search as you type with smart
# case; q closes the help; Ctrl-L repaints a screen something else wrote
# over; the status line (numbers first, then the name, module and
# file:line); shares of a zoom never above 100%; granularity (g) and the
# source view (L); folded C++ names (F); the selected diff frame keeping
# its colour and the header naming the base and its total; a load that does not finish (a FIFO) showing its progress
# and stopped by Esc; view's and top's options and errors read like
# report's (-s sorts, --hide, one error style, shares of the whole profile
# under filters).  Every check polls the pane (bounded, 10 s); nothing
# waits for a fixed time.
. "$(dirname "$0")/lib.sh"


go=tests/data/go_cpu.pb.gz
cat > $tmp/new.folded <<'EOF'
main;parse;lex 70
main;parse;alloc 10
main;render;draw 10
main;render;alloc 10
EOF
cat > $tmp/base.folded <<'EOF'
main;parse;lex 40
main;parse;alloc 10
main;render;draw 40
main;render;alloc 10
EOF

# ---- prompts: edited like a shell line, with history ------------------------------
start pr 100 24 $tmp/new.folded
expect pr "arrows move  Enter zoom"
keys pr f; keys pr -l 'lexx'; keys pr Left BSpace; keys pr Home; keys pr -l '^'; keys pr End; keys pr -l '$'
expect pr 'focus (regex, empty clears): ^lex$'
keys pr Enter; expect pr "total 70 | focus=^lex\$"
# the current filter comes back selected: one key replaces it
keys pr f; expect pr 'focus (regex, empty clears): ^lex$'
keys pr -l 'dra'; expect pr 'focus (regex, empty clears): dra'
keys pr C-a; keys pr -l '^'; keys pr C-e; keys pr -l 'w'; keys pr Enter
expect pr "total 10 | focus=^draw"
# Ctrl-U empties the line (clears the filter), Up recalls the history
keys pr f; keys pr C-u; keys pr Enter; expect pr "focus filter cleared"
keys pr f; keys pr Up; expect pr 'focus (regex, empty clears): ^draw'
keys pr Up; expect pr 'focus (regex, empty clears): ^lex$'
keys pr C-w; expect_not pr 'focus (regex, empty clears): ^lex$'
keys pr Escape; expect pr "arrows move  Enter zoom"
# search as you type: the status line counts matches before Enter
keys pr /; keys pr -l 'alloc'
expect pr " matched 20.00% of total / 20.00% of view (any case)"
keys pr Escape; expect_not pr "matched 20.00%"
keys pr /; keys pr -l 'ALLOC'; expect pr " matched 0.00% of total"  # a capital letter: case counts
keys pr BSpace BSpace BSpace BSpace BSpace; keys pr -l '(?i)ALLOC'; expect pr " matched 20.00% of total"
keys pr Enter; expect pr "/(?i)ALLOC: matched 20.00% of total / 20.00% of view"
# q in the help closes it; the viewer stays
keys pr '?'; expect pr "ignis view: keys (the same in ignis top)"
keys pr q; expect pr "/(?i)ALLOC: matched 20.00% of total"
expect_not pr "ignis view: keys"
expect_not pr "exited rc="
# Ctrl-L repaints what another program wrote over the screen
tty=$(T display -p -t pr '#{pane_tty}')
printf '\033[5;1HSCRIBBLED-OVER-THE-VIEW' > "$tty"
expect pr "SCRIBBLED-OVER-THE-VIEW"
keys pr C-l
for i in $(seq 100); do screen pr | grep -q "SCRIBBLED" || break; sleep 0.1; done
expect_not pr "SCRIBBLED-OVER-THE-VIEW"
keys pr q; expect pr "exited rc=0"

# ---- what a frame is -----------------------------------------------------------------
if [ -f $go ]; then
  start go 140 30 --source-path tests/data/gen $go
  expect go " total 2.40s (100.00% of all) | self 0 (0.00%) | root"
  keys go k k k; expect go " total 1.80s (75.00% of all) | self 1.80s (75.00%) | main.hotLoop | gopprof "
  # zoomed: shares of the zoom, and its caller contains it (not 133%)
  keys go Enter; keys go j
  expect go " total 2.40s (contains the zoom, 100.00% of all) | self 0 (0.00% of all) | main.main"
  expect_not go "133.33%"
  keys go Escape
  # by line, then the source of the function with the cost of each line
  keys go g; expect go "| by line"
  expect go "main.hotLoop gopprof.go:28"
  keys go k k k; expect go "gopprof.go:28 | gopprof "
  keys go L; expect go "main.hotLoop ("
  expect go "   1.39s    1.39s     28"
  expect go "for i := 0; i < 10000; i++ {"
  keys go Escape; keys go g g g; expect_not go "| by "
  keys go q; expect go "exited rc=0"
fi

# folded C++ names, F unfolds them
printf 'main;std::vector<int, std::allocator<int> >::push_back(int const&) 10\n' > $tmp/cxx.folded
start cx 120 24 $tmp/cxx.folded
expect cx "std::vector<…>::push_back(…)"
keys cx F; expect cx "std::vector<int, std::allocator<int> >::push_back(int const&)"
keys cx q; expect cx "exited rc=0"

# a diff frame keeps its colour when selected: brackets and reverse video
start df 120 30 --diff $tmp/base.folded $tmp/new.folded
expect df "| total 100 | base $tmp/base.folded total 100"
keys df k k k; expect df "| lex"
expect df "[lex"
keys df q; expect df "exited rc=0"

# ---- one command line: view and top parse options like report and flame ----------------
# -s sorts the table (as in report), the filters report has (--hide here)
# apply to every tree and are named in the header
start cl 100 20 -s cum --hide "'^render\$'" $tmp/new.folded
expect cl 'hide=^render$'
expect cl 'alloc     draw      parse'
keys cl t; expect cl 'sorted by cum'
expect cl '         0   0.00%   0.00%        100 100.00%  main'
keys cl q; expect cl "exited rc=0"
# with filters, shares are of the whole profile (as pprof and report) and the
# header says what the filters kept
start fk 100 20 --focus "'^lex\$'" $tmp/new.folded
expect fk "| total 70 | focus=^lex\$ | kept 70.00%"
keys fk t; expect fk '        70  70.00%  70.00%         70  70.00%  lex'
keys fk q; expect fk "exited rc=0"
cli() { # cli WANT_STATUS WANT_STDERR ARGS...: one line, the shared error style
  local want=$1 msg=$2; shift 2
  local err rc
  err=$("$IGNIS" "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -eq "$want" ] && [ "$err" = "$msg" ]; then pass=$((pass + 1)); else
    echo "FAIL: ignis $*: rc=$rc, want $want; stderr [$err], want [$msg]"; fails=$((fails + 1)); fi
}
for cmd in view top; do
  cli 2 "ignis $cmd: --xyz: unknown option (ignis $cmd --help)" $cmd --xyz $tmp/new.folded
  cli 2 "ignis $cmd: -Z: unknown option (ignis $cmd --help)" $cmd -Z $tmp/new.folded
done
cli 2 "ignis view: --value: missing value (ignis view --help)" view $tmp/new.folded --value
cli 2 "ignis view: --sort: 'bogus' is not flat or cum (ignis view --help)" view -s bogus $tmp/new.folded
cli 2 "ignis view: IN: missing input file (ignis view --help)" view
cli 2 "ignis top: -p: missing value (ignis top --help)" top -p
cli 2 "ignis top: -F: '0' is not a rate between 1 and 100000 (ignis top --help)" top -p 1 -F 0
cli 2 "ignis top: -p: give -p PID or -- COMMAND, not both (ignis top --help)" top -p 1 -- true
# a diff of profiles with other sample types is refused, as in report, unless --value picks one
cli 1 "ignis view: $go: incompatible sample types [samples/count] and [samples/count cpu/nanoseconds] (--value picks one both have)" view --diff $go $tmp/new.folded
start dv 100 20 --value samples --diff $go $tmp/new.folded
expect dv "ignis diff $tmp/new.folded | samples | total 100"
keys dv q; expect dv "exited rc=0"

# ---- long work: a load that does not end shows why, and Esc stops it ---------------------
mkfifo $tmp/slow.folded
start ld 100 24 $tmp/slow.folded
expect ld "reading $tmp/slow.folded"
expect ld "(Esc cancels)"
keys ld Escape; expect ld "exited rc=0"

finish
