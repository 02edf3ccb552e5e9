#!/usr/bin/env bash
# tests/viewer/e2e_diffpct.sh — drives the real `ignis view` in tmux:
# frames only in the base of a diff are drawn in the flame graph as removed
# frames (their own colour and a '-' fill, as wide as their base value) and
# can be selected; --relative-percentages gives percentages of what the
# filters kept, as in `ignis report`.
# Keys are sent with `tmux send-keys` and `capture-pane` is polled (bounded,
# 10 s) until the expected text shows; nothing waits for a fixed time.
. "$(dirname "$0")/lib.sh"

# ---- --relative-percentages ----------------------------------------------------
cat > $tmp/p.folded <<'EOF'
main;parse;lex 30
main;parse;alloc 10
main;render;draw 60
EOF
# of the whole profile by default (pprof's rule) ...
start ab 120 30 --focus=parse $tmp/p.folded
expect ab "| focus=parse | kept 40.00%"
keys ab k k; expect ab " total 40 (40.00% of all) | self 0 (0.00%) | parse"
keys ab q; expect ab "exited rc=0"
# ... of what the focus kept with --relative-percentages (and pprof's spelling)
start rel 120 30 --focus=parse --relative-percentages $tmp/p.folded
expect rel "| focus=parse | kept 40.00%"
keys rel k k; expect rel " total 40 (100.00% of kept) | self 0 (0.00%) | parse"
keys rel k; expect rel " total 30 (75.00% of kept) | self 30 (75.00%) | lex"
keys rel t; expect rel "        30  75.00%  75.00%         30  75.00%  lex"
keys rel q; expect rel "exited rc=0"
start rel2 120 30 -focus=parse -relative_percentages $tmp/p.folded
expect rel2 "| focus=parse | kept 40.00%"
keys rel2 k k; expect rel2 " total 40 (100.00% of kept) | self 0 (0.00%) | parse"
keys rel2 q; expect rel2 "exited rc=0"
# the same numbers as `ignis report`
"$IGNIS" report --focus=parse --relative-percentages $tmp/p.folded > $tmp/report.txt
if grep -q "30 75.00% 75.00% *30 75.00% *lex" <(tr -s ' ' < $tmp/report.txt); then pass=$((pass + 1))
else echo "FAIL: report --relative-percentages:"; cat $tmp/report.txt; fails=$((fails + 1)); fi

# ---- diff flame graph: frames only in the base --------------------------------
cat > $tmp/base.folded <<'EOF'
main;parse;lex 40
main;gone;slowpath 40
main;render;draw 20
EOF
cat > $tmp/new.folded <<'EOF'
main;parse;lex 60
main;render;draw 40
EOF
start df 120 30 --diff $tmp/base.folded $tmp/new.folded
expect df "ignis diff $tmp/new.folded"
# drawn, with their names, although their new value is 0
expect df "gone"
expect df "slowpath"
# a removed frame's free cells are filled with '-', a marker besides its colour
screen df | grep -q -- "gone-----" && pass=$((pass + 1)) || { echo "FAIL: no '-' fill on the removed frame"; screen df; fails=$((fails + 1)); }
# selectable: the status line says what it is
keys df k k Left; expect df "| gone"
expect df "removed: only in the base"
expect df "diff -40.00% (base 40.00%)"
keys df q; expect df "exited rc=0"
# the ASCII fallback draws them too
T new-session -d -s dfa -x 120 -y 30 \
  "env LANG=C LC_ALL=C TERM=xterm-256color $IGNIS view --diff $tmp/base.folded $tmp/new.folded; echo exited rc=\$?; read x"
expect dfa "slowpath"
keys dfa q; expect dfa "exited rc=0"

finish
