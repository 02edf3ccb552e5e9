#!/usr/bin/env bash
# tests/viewer/e2e_badload.sh — a big profile that turns out bad only at
# its end: the viewer must exit with the reader's one-line error as soon
# as the load fails, without a key.  The load outlives the first look at
# the screen, so the viewer has already drawn "waiting"; it used to go on
# waiting for a key forever (the failed load ended the app, but the loop
# blocked for input before it checked).
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { for (i = 0; i < 300000; i++) printf "main;work_%d;leaf_%d %d\n", i % 977, i, 1 + i % 7
             print "main;broken notanumber" }' >"$tmp/late.folded"
start bad 80 24 "$tmp/late.folded"
expect bad "exited rc=1"
expect bad "invalid sample count"
finish
