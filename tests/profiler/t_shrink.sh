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
. "$(dirname "$0")/lib.sh"
[ -x "$S/cpu_shrink" ] && [ -f "$S/libcpu_shrink.so" ] || fail "cpu_shrink not built"
command -v readelf >/dev/null || skip "readelf not installed"
lib=$T/libshrink.so
cp "$S/libcpu_shrink.so" "$lib"
hdr=$(readelf -lW "$lib" | awk '$1 == "GNU_EH_FRAME" { print $2 }')
[ -n "$hdr" ] || fail "no GNU_EH_FRAME in $lib"
cut=$(( hdr / 4096 * 4096 ))
[ "$cut" -gt 0 ] || fail "the unwind tables share the first page"

"$S/cpu_shrink" "$lib" >"$T/shrink.out" 2>&1 &
SAMPLE_PID=$!
PIDS+=("$SAMPLE_PID")
for _ in $(seq 400); do grep -q ready "$T/shrink.out" && break; sleep 0.05; done
grep -q ready "$T/shrink.out" || fail "cpu_shrink did not start: $(cat "$T/shrink.out")"

start_record -p "$SAMPLE_PID" -F 499 -d 4 -o "$T/out.folded"
wait_recording
# the recorder maps the library when it first unwinds through it
for _ in $(seq 400); do grep -q "$lib" "/proc/$REC_PID/maps" 2>/dev/null && break; sleep 0.05; done
grep -q "$lib" "/proc/$REC_PID/maps" || fail "the recorder never mapped $lib"
truncate -s "$cut" "$lib"
kill -USR1 "$SAMPLE_PID"
wait_record
cat "$T/rec.err"
[ "$REC_STATUS" -eq 0 ] || fail "record exited $REC_STATUS after $lib shrank"
kill -0 "$SAMPLE_PID" 2>/dev/null || fail "cpu_shrink died: the test cut too much"
after=$(folded_sum "$T/out.folded" 'shrink_after|after_leaf|libshrink\.so\+0x11')
echo "samples in the library after the cut: $after"
[ "$after" -gt 0 ] || fail "no samples in the library after the cut"
grep -q 'shrank while recording' "$T/rec.err" || fail "the summary does not say a file shrank"
cat "$T/out.folded" | head -5
echo ok
