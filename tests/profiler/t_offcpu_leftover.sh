#!/usr/bin/env bash
# --off-cpu (per-CPU side-band events on the BPF engine) on a command that
# exits at once, leaving a child behind (`sleep 1 &`): the recording goes
# on until the child is gone, and the profile holds its 1 s sleep.  Two
# ways it ended early: the FORK record of a child forked the moment before
# the command exited was still held back for ordering when the recorder
# found no followed process alive (it ended at once); and a child exited
# but never reaped (a subreaper that waits only for ignis, as a container's
# init or a CI runner may be) stayed "alive" to kill(pid, 0), and the
# recording never ended.  Ground truth: the sleep process's wait in
# hrtimer_nanosleep, about 1 s.
. "$(dirname "$0")/lib.sh"
slept() { # PROFILE: ns the sleep process spent in hrtimer_nanosleep
  "$PROFDUMP" "$1" off_cpu | awk -F'\t' '$2 == "sleep" && $4 == "hrtimer_nanosleep" { s += $1 } END { printf "%.0f\n", s }'
}
"$IGNIS" record --off-cpu -o "$T/a.pb.gz" -- sh -c 'sleep 1 & exit 0' 2>"$T/rec.err" || { cat "$T/rec.err"; fail "record"; }
cat "$T/rec.err"
grep -q '^ignis record: off-CPU engine: BPF' "$T/rec.err" || skip "not the BPF engine here"
ns=$(slept "$T/a.pb.gz")
echo "left behind: the child slept $ns ns in the profile"
[ "$ns" -ge 900000000 ] || fail "the child left behind was not followed to its end ($ns ns of sleep)"

# under a subreaper that reaps only ignis: its orphans stay zombies
cat >"$T/subreaper.py" <<'PY'
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(pid, 0)  # ignis only: orphans stay zombies
sys.exit(os.waitstatus_to_exitcode(status))
PY
timeout 30 python3 "$T/subreaper.py" "$IGNIS" record --off-cpu -o "$T/b.pb.gz" -- \
  sh -c 'sleep 1 & sleep 0.1; exit 0' 2>"$T/rec.err"
rc=$?
cat "$T/rec.err"
[ "$rc" -ne 124 ] || fail "under a subreaper: the recording never ended (a zombie counted as alive)"
[ "$rc" -eq 0 ] || fail "under a subreaper: exit status $rc"
ns=$(slept "$T/b.pb.gz")
echo "under a subreaper: the child slept $ns ns in the profile"
[ "$ns" -ge 900000000 ] || fail "under a subreaper: the child's sleep is not in the profile ($ns ns)"
echo ok
