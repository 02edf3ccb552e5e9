#!/usr/bin/env bash
# Span labels of a service recorded from its very first instruction (issue
# #13: ">= 99% of the samples taken inside a span carry that span's id, and
# none outside"), through `ignis record -- CMD` and `ignis record -p PID`
# attached before the service publishes anything.  The service,
# samples/spans/spanstart.c, does not wait for the profiler: it opens span
# "boot" right after its tracer provider exists (so its context appears
# only then, while it runs), then its threads (some created before the
# provider) run spans "in" at once.  With -s it first works 300 ms of CPU
# outside any span (a service's own start), as services do before their
# tracing is set up.  Ground truth: work_in (block_in, alloc_in) runs only
# in a span ("boot" when called from main, "in" from the threads),
# work_out (block_out, alloc_out) only outside; spanstart logs every span
# it made (thread, name, trace id, span id).  Per mode (CPU samples at
# 4999 Hz, --off-cpu and --wall switch-outs of spans that sleep, --alloc
# samples of spans that allocate), checked:
#   - >= 99% of the samples in work_in (block_in, alloc_in) carry the
#     span_name of their span (counted by value: CPU samples, off-CPU ns,
#     allocated objects), and every labelled one a span_id and trace_id
#     spanstart logged under that name (none labelled wrongly);
#   - no sample in work_out (block_out, alloc_out) carries a span.
# Synchronisation, not timing: -p attaches while spanstart waits for a
# byte on stdin, written once the recorder says it is recording.  Every
# duration is of the threads' CPU time (a loaded machine stretches the run,
# not the number of samples each part gets).  Skips (77) where BPF (or
# sched:sched_switch, for the off-CPU modes) is not available.
. "$(dirname "$0")/lib.sh"
W=$B/samples/spans/spanstart
DUMP=$B/tests/profiler/profdump
[ -x "$W" ] || fail "$W not built"
[ -x "$DUMP" ] || fail "$DUMP not built"

# Skips when the recorder says span labels are not available here (--alloc:
# the preload shim reads the records itself, nothing to say).
need_labels() {
  grep -q -e "span labels for process" -e "preload sampling" "$T/rec.err" && return 0
  grep -q "need BPF" "$T/rec.err" && skip "BPF not available here"
  fail "the recorder did not follow spanstart's spans"
}

# launch OUT [record options] -- [spanstart options]: records spanstart
# from its launch
launch() {
  local out=$1; shift
  local rec=()
  while [ "$1" != -- ]; do rec+=("$1"); shift; done
  shift
  "$IGNIS" record -o "$out" "${rec[@]}" -- "$W" -l "$T/log" "$@" </dev/null >"$T/out" 2>"$T/rec.err"
  local rc=$?
  cat "$T/rec.err"
  [ "$rc" -eq 0 ] || fail "record exited $rc"
  need_labels
  [ -s "$T/log" ] || fail "spanstart wrote no span log"
}

# attach OUT [spanstart options]: starts spanstart -g, records it with -p
# from before its provider exists, then lets it go
attach() {
  local out=$1; shift
  rm -f "$T/in" "$T/log"
  mkfifo "$T/in"
  exec 3<>"$T/in"
  "$W" -g -l "$T/log" "$@" <"$T/in" >"$T/out" 2>&1 &
  local svc=$!
  PIDS+=("$svc")
  start_record -F 4999 -o "$out" -p "$svc"
  wait_recording
  printf g >&3
  exec 3>&-
  wait "$svc" || fail "spanstart exited $?"
  wait_record
  cat "$T/rec.err"
  [ "$REC_STATUS" -eq 0 ] || fail "record -p exited $REC_STATUS"
  need_labels
  [ -s "$T/log" ] || fail "spanstart wrote no span log"
}

# Over the rows of DUMP whose stack passes function f: rows and value in
# all; rows labelled with the span name of their span ("boot" when main
# called f, "in" otherwise; "-": no span expected) and a span id logged
# under it; rows labelled otherwise; rows labelled with a name right but a
# span id not logged so.    tally DUMP f in|-
tally() {
  awk -F'\t' -v f="$2" -v want="$3" '
    NR == FNR { if ($1 == "SPAN") { ok[$3 "/" $5 "/" $4] = 1 } next }
    $5 ~ ("(^|;)" f "(;|$)") {
      s = want == "-" ? "-" : $5 ~ /(^|;)main;/ ? "boot" : "in"
      n++; v += $1
      if (s != "-" && $6 == s) { right++; rv += $1; if (!((s "/" $7 "/" $8) in ok)) unknown++ }
      else if ($6 != "-" || $7 != "-") wrong++
    }
    END { printf "%d %.0f %d %.0f %d %d\n", n, v, right, rv, wrong, unknown }' FS=' ' "$T/log" FS='\t' "$1"
}

# The share that must be labelled: 99%.  The recorder finds a service's
# context by looking at it every 2 ms, and the first samples of a span
# opened at once are labelled only from that look on: an ASan build's
# recorder, several times slower on 2 loaded CPUs, took 6-9 ms of a 20 ms
# first span (98.7-99.3%); there 97%.
NEED=99
ASAN=
if readelf -d "$IGNIS" 2>/dev/null | grep -q libasan; then
  NEED=97 ASAN=1
  echo "ASan build: >= $NEED% of in-span samples must be labelled"
fi

# judge NAME DUMP IN_FN OUT_FN MIN: the checks above, on the samples'
# values (CPU samples, off-CPU ns, allocated objects: a profile merges
# the samples of one stack and labels); MIN: the least value of each
# function to judge by
judge() {
  local name=$1 dump=$2 infn=$3 outfn=$4 min=$5 n v right rv wrong unknown
  read -r n v right rv wrong unknown <<<"$(tally "$dump" "$infn" in)"
  echo "$name: $infn: $v in $n rows, $rv labelled with their span ($(pct "$rv" "$v")%), $wrong rows labelled otherwise, $unknown with an unlogged span id"
  echo "RATE $name $rv $v"
  [ "$v" -ge "$min" ] || fail "$name: $infn: too little ($v) to judge"
  [ "$wrong" -eq 0 ] || fail "$name: $infn: $wrong samples labelled with another span"
  [ "$unknown" -eq 0 ] || fail "$name: $infn: $unknown samples labelled with a span id spanstart did not log so"
  awk -v a="$rv" -v b="$v" -v p="$NEED" 'BEGIN { exit !(a * 100 >= b * p) }' ||
    fail "$name: $infn: only $rv of $v in a span carry its labels (want $NEED%)"
  read -r n v right rv wrong unknown <<<"$(tally "$dump" "$outfn" -)"
  echo "$name: $outfn: $v in $n rows, $wrong rows labelled with a span"
  [ "$v" -ge "$min" ] || fail "$name: $outfn: too little ($v) to judge"
  [ "$wrong" -eq 0 ] || fail "$name: $outfn: $wrong samples outside any span carry one"
}

# CPU samples: spans from main's first moments; then after 300 ms of start
launch "$T/cpu0.pb.gz" -F 4999 -- -r 100 -t 2
"$DUMP" "$T/cpu0.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"
judge "launch, at once" "$T/dump" work_in work_out 1000
launch "$T/cpu.pb.gz" -F 4999 -- -r 100 -t 2 -s 300
"$DUMP" "$T/cpu.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"
judge "launch, after its start" "$T/dump" work_in work_out 1000
attach "$T/pid.pb.gz" -r 100 -t 2 -s 300
"$DUMP" "$T/pid.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"
judge "-p, after its start" "$T/dump" work_in work_out 1000

# A wrapper that links libignis but never publishes, with a TLS block of
# its own (so its libignis's TLS offset is another), works 100 ms and execs
# spanstart: the offset the recorder resolved ahead in the wrapper must not
# be the one spanstart's samples are read with (regression: every sample
# came out "outside", 0 of ~4100 labelled).
cat >"$T/wrap.c" <<'C'
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
__thread volatile char pad[65536];
int main(int argc, char **argv)
{
    (void)argc;
    volatile unsigned long x = 0;
    pad[0] = 1;
    for (struct timespec t = {0, 0}; t.tv_nsec < 100000000 && !t.tv_sec;
         clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t))
        for (int i = 0; i < 100000; i++)
            x++;
    execv(argv[1], argv + 1);
    return 127;
}
C
libdir=$(cd "$B" && pwd)
# (an ASan build's libignis needs the ASan runtime first in the program:
# the plain programs built here cannot load it)
if [ -n "$ASAN" ]; then
  echo "(ASan build: the wrapper and the preload are not checked)"
elif cc -O1 -o "$T/wrap" "$T/wrap.c" -L"$libdir" -Wl,--no-as-needed -lignis -Wl,-rpath,"$libdir" 2>"$T/cc.err"; then
  "$IGNIS" record -o "$T/wrap.pb.gz" -F 4999 -- "$T/wrap" "$W" -l "$T/log" -r 100 -t 2 </dev/null >"$T/out" 2>"$T/rec.err"
  rc=$?
  cat "$T/rec.err"
  [ "$rc" -eq 0 ] || fail "record of the wrapper exited $rc"
  need_labels
  "$DUMP" "$T/wrap.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"
  judge "exec'd by a wrapper linking libignis" "$T/dump" work_in work_out 1000
else
  cat "$T/cc.err"
  echo "(no C compiler to build the wrapper: not checked)"
fi

# A service preempted between mapping OTEL_CTX and writing its signature
# (a preload makes libignis's madvise(MADV_DONTFORK) there take 50 ms),
# after 1.2 s of its own start (past its first moments), that then makes no thread and maps
# nothing: a look in that gap sees its address space grown but no context
# yet, and the looks that follow must not wait for its next change
# (regression: never labelled).  One span "boot" around work_in.
cat >"$T/slowpub.c" <<'C'
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int madvise(void *a, size_t l, int adv)
{
    long r = syscall(SYS_madvise, a, l, adv);
    if (adv == MADV_DONTFORK) {
        struct timespec t = {0, 50000000};
        nanosleep(&t, 0);
    }
    return (int)r;
}
C
cat >"$T/steady.c" <<'C'
#include "ignis/trace.h"
#include <stdint.h>
#include <stdio.h>
#include <time.h>
static volatile uint64_t sink;
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static void spin_ms(unsigned ms)
{
    uint64_t end = cpu_ns() + ms * 1000000ull, x = sink;
    do {
        for (int i = 0; i < 5000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        sink = x;
    } while (cpu_ns() < end);
}
__attribute__((noinline)) void work_out(void) { spin_ms(1200); }
__attribute__((noinline)) void work_in(void) { spin_ms(1000); }
int main(void)
{
    work_out();
    ignis_provider_options o;
    ignis_provider_options_from_env(&o);
    o.service_name = "steady";
    o.exporter = IGNIS_EXPORTER_NONE;
    o.sampler = IGNIS_SAMPLER_ALWAYS_ON;
    char err[256];
    ignis_tracer_provider *tp = ignis_tracer_provider_new(&o, err, sizeof err);
    if (!tp)
        return fprintf(stderr, "%s\n", err), 2;
    ignis_span *s = ignis_span_start(ignis_tracer_get(tp, "steady", "1", NULL, 0), "boot", NULL);
    ignis_scope sc = ignis_span_make_current(s);
    work_in();
    ignis_scope_end(sc);
    ignis_span_end(s, 0);
    ignis_tracer_provider_free(tp);
    return 0;
}
C
if [ -n "$ASAN" ]; then
  :
elif cc -O1 -shared -fPIC -o "$T/slowpub.so" "$T/slowpub.c" 2>"$T/cc.err" &&
  cc -O1 -I"$(dirname "$0")/../../include" -o "$T/steady" "$T/steady.c" -L"$libdir" -lignis -Wl,-rpath,"$libdir" \
    2>>"$T/cc.err"; then
  "$IGNIS" record -o "$T/slow.pb.gz" -F 4999 -- env LD_PRELOAD="$T/slowpub.so" "$T/steady" \
    </dev/null >"$T/out" 2>"$T/rec.err"
  rc=$?
  cat "$T/rec.err"
  [ "$rc" -eq 0 ] || fail "record of the slow publisher exited $rc"
  need_labels
  "$DUMP" "$T/slow.pb.gz" samples span_name span_id trace_id >"$T/dump" || fail "profdump"
  read -r rv v wrong <<<"$(awk -F'\t' '$5 ~ /(^|;)work_in(;|$)/ { v += $1; if ($6 == "boot") rv += $1 }
    $5 ~ /(^|;)work_out(;|$)/ && $6 != "-" { wrong++ } END { print rv + 0, v + 0, wrong + 0 }' "$T/dump")"
  echo "preempted while publishing: work_in: $rv of $v labelled boot; $wrong work_out rows labelled"
  [ "$v" -ge 1000 ] || fail "preempted while publishing: too little ($v) to judge"
  awk -v a="$rv" -v b="$v" -v p="$NEED" 'BEGIN { exit !(a * 100 >= b * p) }' ||
    fail "preempted while publishing: only $rv of $v in span boot carry its labels (want $NEED%)"
  [ "$wrong" -eq 0 ] || fail "preempted while publishing: work_out samples carry a span"
else
  cat "$T/cc.err"
  echo "(no C compiler to build the preload: not checked)"
fi

# switch-outs of spans that sleep (--off-cpu, --wall)
for mode in off-cpu wall; do
  launch "$T/$mode.pb.gz" -F 4999 "--$mode" -- -w -r 100 -t 2 -s 300
  if grep -q "off-CPU intervals get no span labels" "$T/rec.err"; then
    echo "(--$mode: off-CPU intervals get no span labels here: not checked)"
    continue
  fi
  "$DUMP" "$T/$mode.pb.gz" "${mode/-/_}" span_name span_id trace_id >"$T/dump" || fail "profdump"
  judge "--$mode" "$T/dump" block_in block_out 100000000 # 201 (200) sleeps of 1 ms
done

# allocation samples (the preload shim reads the thread's record itself)
if [ -e "$B/libignis-alloc.so" ]; then
  launch "$T/alloc.pb.gz" --alloc -- -m -r 100 -t 2 -s 300
  "$DUMP" "$T/alloc.pb.gz" alloc_objects span_name span_id trace_id >"$T/dump" || fail "profdump"
  judge "--alloc" "$T/dump" alloc_in alloc_out 1000
else
  echo "(no libignis-alloc.so in this build: --alloc not checked)"
fi
echo ok
