# tests/profiler/lib.sh — shared helpers of the profiler shell tests.
# Sourced; expects $IGNIS and $IGNIS_BUILD (tests/run.sh exports both).
set -u
IGNIS=${IGNIS:-build/ignis}
B=${IGNIS_BUILD:-build}
S=$B/samples/cpu
T=$(mktemp -d /tmp/ignis-prof-test.XXXXXX)
# ignis record's symbol cache: per test, never the user's ~/.cache/ignis
export IGNIS_CACHE_DIR=$T/cache
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

[ -x "$IGNIS" ] || fail "$IGNIS not built"
for s in cpu_shares cpu_recurse cpu_late cpu_churn cpu_jit; do
  [ -x "$S/$s" ] || fail "$S/$s not built"
done

# Starts a sample in the background; its pid is left in $SAMPLE_PID.
start_sample() {
  "$S/$1" "${@:2}" >"$T/$1.out" 2>&1 &
  SAMPLE_PID=$!
  PIDS+=("$SAMPLE_PID")
}

# Runs ignis record in the background (stderr to $T/rec.err); pid in $REC_PID.
start_record() {
  "$IGNIS" record "$@" 2>"$T/rec.err" &
  REC_PID=$!
  PIDS+=("$REC_PID")
}

# Waits (bounded) until the recorder says it is recording.
wait_recording() {
  for _ in $(seq 400); do
    grep -q 'ignis record: recording' "$T/rec.err" 2>/dev/null && return 0
    kill -0 "$REC_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$T/rec.err" >&2
  fail "recorder did not start"
}

# Waits for the recorder to exit (bounded); its status in $REC_STATUS.
wait_record() {
  for _ in $(seq 1200); do
    kill -0 "$REC_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$REC_PID" 2>/dev/null && { kill -9 "$REC_PID"; fail "recorder hung"; }
  wait "$REC_PID"
  REC_STATUS=$?
}

# Value of a summary line ("samples", "lost samples", "threads seen", ...).
summary() {
  sed -n "s/^  $1 *\([0-9.]*\).*/\1/p" "$T/rec.err" | head -1
}

# Percentage of samples not fully unwound, from the summary.
partial_pct() {
  sed -n 's/^  not fully unwound [0-9]* (\([0-9.]*\)%).*/\1/p' "$T/rec.err"
}

# Sum of folded counts over lines matching an extended regex.
folded_sum() {
  awk -v re="$2" '{ n = $NF; l = $0; sub(/ [0-9]+$/, "", l); if (l ~ re) s += n } END { printf "%.0f\n", s }' "$1"
}

# Integer percentage a/b*100.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print -1; else printf "%d\n", a * 100 / b + 0.5 }'; }

# Asserts lo <= v <= hi.
in_range() {
  awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }' || fail "$4: $1 not in [$2, $3]"
}

# ---- off-CPU and wall-clock profiles (samples/offcpu/offcpu_phases) ----
PHASES=$B/samples/offcpu/offcpu_phases
PROFDUMP=$B/tests/profiler/profdump

# Ground truth, from the phases' own lines (ns): "TOTAL_WALL TOTAL_CPU" and
# per phase "WALL CPU", summed over the worker threads.
#   truth FILE life|sleep|mutex|pipe|compute
truth() {
  awk -v what="$2" '$1 == "worker" { for (i = 3; i < NF; i += 3) if ($i == what) { w += $(i + 1); c += $(i + 2) } }
                    END { printf "%.0f %.0f\n", w, c }' "$1"
}

# Sum of a profdump's values over the worker threads' samples whose stack
# matches the extended regex RE and whose STATE and WCHAN labels match
# (regexes, default any).   dump_sum DUMP RE [STATE_RE] [WCHAN_RE]
dump_sum() {
  awk -F'\t' -v re="$2" -v st="${3:-.}" -v wc="${4:-.}" \
    '$2 ~ /^worker-/ && $5 ~ re && $3 ~ st && $4 ~ wc { s += $1 } END { printf "%.0f\n", s }' "$1"
}

# Percentage points a/b*100 - c/d*100 (3 decimals); abs_le X LIM: |X| <= LIM.
points() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { printf "%.3f\n", 100 * a / b - 100 * c / d }'; }
abs_le() { awk -v x="$1" -v l="$2" 'BEGIN { exit !(x <= l && -x <= l) }'; }

# A target that plants a FIFO over one of its own mapped files, in a mount
# namespace of its own (unshare -Urm: no privilege needed), so that a
# recorder reopening that file through /proc/PID/root would wait for a
# writer forever.   fifo_over_mapped REGEX CMD [ARGS...]
# runs CMD there and, once it maps a file whose path matches REGEX (grep -o
# on its maps), bind-mounts a FIFO over that path (after which no program
# can start in the namespace if it was libc: builtins only); sets FIFO_PID
# and FIFO_PATH.  Skips where unshare -Urm + mount --bind is not permitted.
fifo_over_mapped() {
  local re=$1 ns
  shift
  command -v unshare >/dev/null || skip "no unshare"
  rm -f "$T/ready" "$T/planted"
  mkfifo "$T/planted"
  unshare -Urm --propagation private bash -c '
    re=$1 fifo=$2 ready=$3
    shift 3
    "$@" & p=$!
    f=
    for _ in $(seq 400); do f=$(grep -m1 -o "$re" /proc/$p/maps 2>/dev/null) && break; sleep 0.05; done
    [ -n "$f" ] || exit 3
    mount --bind "$fifo" "$f" || exit 3
    echo "$p $f" >"$ready"
    wait "$p"' sh "$re" "$T/planted" "$T/ready" "$@" >"$T/ns.out" 2>&1 &
  ns=$!
  PIDS+=("$ns")
  for _ in $(seq 400); do
    [ -s "$T/ready" ] && break
    kill -0 "$ns" 2>/dev/null || { cat "$T/ns.out"; skip "unshare -Urm + mount --bind not permitted here"; }
    sleep 0.05
  done
  [ -s "$T/ready" ] || fail "the namespaced target did not start"
  read -r FIFO_PID FIFO_PATH <"$T/ready"
  PIDS+=("$FIFO_PID")
  [ -p "/proc/$FIFO_PID/root$FIFO_PATH" ] || fail "the target's $FIFO_PATH is not a FIFO in its namespace"
  [ -p "$FIFO_PATH" ] && fail "the bind mount is visible outside the namespace"
  return 0
}
