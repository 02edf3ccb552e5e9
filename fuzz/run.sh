#!/usr/bin/env bash
# fuzz/run.sh — runs each libFuzzer target for a bounded time.
# Seeds come from fuzz/corpus/NAME (committed); new inputs go to a scratch
# copy.  A crash stops the run with its reproducer under $B/fuzz/crash-NAME;
# commit that file to fuzz/corpus/NAME/ so `make test` replays it forever.
#   usage: fuzz/run.sh BUILD_DIR SECONDS NAME...
set -u
B=$1; secs=$2; shift 2
fail=0
for n in "$@"; do
  work=$B/fuzz/corpus-$n; mkdir -p "$work" "$B/fuzz/crash-$n"
  [ -d fuzz/corpus/$n ] && cp -r fuzz/corpus/$n/. "$work/" 2>/dev/null
  echo "fuzz: $n for ${secs}s"
  if ! "$B/fuzz/$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$B/fuzz/crash-$n/" "$work" >"$B/fuzz/$n.log" 2>&1; then
    echo "fuzz: $n FAILED — see $B/fuzz/$n.log and $B/fuzz/crash-$n/"; tail -30 "$B/fuzz/$n.log"; fail=1
  else
    echo "fuzz: $n ok ($(grep -o 'Done [0-9]* runs' "$B/fuzz/$n.log" | tail -1))"
  fi
done
exit $fail
