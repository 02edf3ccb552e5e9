#!/usr/bin/env bash
# A library truncated in place while `ignis record` reads it (a library
# rebuilt under a running service): the recorder maps the files it unwinds
# through, and reading a page past a file's new end raises SIGBUS.  The
# recorder must neither die nor hang: the vanished pages read as zeros
# (utils/mapguard.h), the library's frames lose their callers, the rest of
# the profile is whole, and the summary says that a file shrank.
# samples/cpu/cpu_shrink runs code in its library's first pages only, so
# it lives on after the cut (at the page of .eh_frame_hdr); on SIGUSR1,
# sent after the cut, it moves to code the recorder has never unwound.
# Twice: with the default unwinder, and with libunwind alone
# (IGNIS_UNWINDER=libunwind), which reads the unwind tables through our
# callbacks while it holds its cache lock with every signal blocked; a
# SIGBUS there never reached the guard and the kernel ended the recorder
# ("Bus error", exit 135: the flake the default run showed now and then,
# when libunwind was the first to touch a vanished page).
. "$(dirname "$0")/lib.sh"
[ -x "$S/cpu_shrink" ] && [ -f "$S/libcpu_shrink.so" ] || fail "cpu_shrink not built"
command -v readelf >/dev/null || skip "readelf not installed"
# shrink_run NAME: the scenario once (the unwinder as the environment says).
shrink_run() {
  mkdir -p "$T/$1"
  lib=$T/$1/libshrink.so
  cp "$S/libcpu_shrink.so" "$lib"
  hdr=$(readelf -lW "$lib" | awk '$1 == "GNU_EH_FRAME" { print $2 }')
  [ -n "$hdr" ] || fail "no GNU_EH_FRAME in $lib"
  cut=$(( hdr / 4096 * 4096 ))
  [ "$cut" -gt 0 ] || fail "the unwind tables share the first page"

  "$S/cpu_shrink" "$lib" >"$T/shrink-$1.out" 2>&1 &
  SAMPLE_PID=$!
  PIDS+=("$SAMPLE_PID")
  for _ in $(seq 400); do grep -q ready "$T/shrink-$1.out" && break; sleep 0.05; done
  grep -q ready "$T/shrink-$1.out" || fail "cpu_shrink did not start: $(cat "$T/shrink-$1.out")"

  start_record -p "$SAMPLE_PID" -F 499 -d 4 -o "$T/out-$1.folded"
  wait_recording
  # the recorder maps the library when it first unwinds through it
  for _ in $(seq 400); do grep -q "$lib" "/proc/$REC_PID/maps" 2>/dev/null && break; sleep 0.05; done
  grep -q "$lib" "/proc/$REC_PID/maps" || fail "the recorder never mapped $lib"
  truncate -s "$cut" "$lib"
  kill -USR1 "$SAMPLE_PID"
  wait_record
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq 0 ] || fail "$1: record exited $REC_STATUS after $lib shrank"
  kill -0 "$SAMPLE_PID" 2>/dev/null || fail "cpu_shrink died: the test cut too much"
  after=$(folded_sum "$T/out-$1.folded" 'shrink_after|after_leaf|\[libshrink\.so\]')
  echo "$1: samples in the library after the cut: $after"
  [ "$after" -gt 0 ] || fail "$1: no samples in the library after the cut"
  grep -q 'shrank while recording' "$T/rec.err" || fail "$1: the summary does not say a file shrank"
  head -5 "$T/out-$1.folded"
  kill "$SAMPLE_PID" 2>/dev/null
}

shrink_run default
IGNIS_UNWINDER=libunwind
export IGNIS_UNWINDER
shrink_run libunwind
echo ok
