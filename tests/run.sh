#!/usr/bin/env bash
# tests/run.sh — runs every test program and shell test, then prints one
# closing line "N passed, N failed, N skipped" and exits non-zero on any
# failure.  Test programs use cmocka; their "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines are counted.  A program that dies without
# a summary counts as one failure.  Shell tests count as one test each:
# exit 0 passes, 77 skips, anything else fails.
#   usage: tests/run.sh BUILD_DIR BIN... -- SCRIPT...
set -u
B=$1; shift
bins=(); scripts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
scripts=("$@")
export IGNIS_BUILD=$B IGNIS=$B/ignis
logdir=$B/test-logs; mkdir -p "$logdir"
passed=0; failed=0; skipped=0; failures=()
TIMEOUT=${IGNIS_TEST_TIMEOUT:-900}

for t in "${bins[@]}"; do
  name=${t#$B/}; log=$logdir/$(echo "$name" | tr / _).log
  CMOCKA_MESSAGE_OUTPUT=stdout timeout -k 10 "$TIMEOUT" "$t" >"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" -gt 0 ]; then
    failures+=("$name"); echo "FAIL $name ($p passed, $f failed, exit $rc) — log: $log"
    grep -E '^\[  (FAILED|ERROR)|^\[  FAILED|error|Assert|ERROR' "$log" | head -20 | sed 's/^/    /'
  else
    echo "ok   $name ($p passed${s:+, $s skipped})"
  fi
done

for sh in "${scripts[@]}"; do
  log=$logdir/$(echo "$sh" | tr / _).log
  timeout -k 10 "$TIMEOUT" bash "$sh" >"$log" 2>&1
  rc=$?
  case $rc in
    0) passed=$((passed + 1)); echo "ok   $sh";;
    77) skipped=$((skipped + 1)); echo "skip $sh: $(tail -1 "$log")";;
    *) failed=$((failed + 1)); failures+=("$sh"); echo "FAIL $sh (exit $rc) — log: $log"; tail -15 "$log" | sed 's/^/    /';;
  esac
done

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
