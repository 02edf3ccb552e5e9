#!/usr/bin/env bash
# bench/offcpu.sh — off-CPU profiles (`ignis record --off-cpu`): accuracy
# beside perf, and cost.
#   - accuracy: samples/offcpu/offcpu_phases (workers that sleep, wait on a
#     mutex, read a pipe and compute; each phase measures its own wall and
#     CPU time) recorded by ignis, and by perf record -e sched:sched_switch
#     --call-graph dwarf --switch-events whose switch-outs are paired with
#     the switch-ins in perf script's output here (perf has no off-CPU
#     report without its BPF build): each phase's share of the workers'
#     off-CPU time, measured / ignis / perf;
#   - cost, on a switch-heavy target (samples/offcpu/offcpu_pingpong: two
#     threads passing a byte over pipes, two switch-outs per round trip):
#     its round trips per second and its own CPU time per round trip
#     (where the kernel's work at each recorded switch-out is charged)
#     alone and recorded, in PAIRED runs whose order alternates so load
#     drifting on a shared machine hits both sides alike; medians.  Recorded
#     by ignis with its default stack copy (16 KiB), with 8 KiB and
#     4 KiB, and by perf (same events, 16 KiB).  Beside each: the switch-outs the
#     recorder wrote per round trip (the kernel's copy of the stack is paid
#     at each; a slower target blocks more often, so this grows under
#     recording) and the share lost to full rings (records the kernel never
#     copied: cheaper for the target, missing from the profile).  And
#     ignis's own CPU per switch-out: total (the summary's
#     attach-to-profile figure over the switch-outs) and marginal (two
#     record lengths: the cost of one more switch-out), with the stack memo
#     (profiler/unwind.c: repeated switch-outs are not unwound again) and
#     without it (IGNIS_UNWIND_CACHE=0).
# Two ignis engines: BPF (profiler/offbpf.h: a switch only notes times;
# each wait is drawn at its end, time-weighted by --off-cpu-period, default
# 1ms, or every wait with 0; a chosen wait is written by its own thread on
# its way back to user space, a bpf_task_work; its programs' kernel time is
# counted with IGNIS_BPF_STATS=1) and the perf sched_switch events
# (IGNIS_OFFCPU_BPF=0: a stack copy at every switch-out).  Beside them, the
# floor: bench/switch_floor, an empty program on sched_switch (what any
# hook there costs on this machine).
# Targets (issue 13): <= 2 us of profiler CPU per switch-out recorded; the
# target's switch rate down by <= 5%.  Figures of the last run are in the
# stop notes (issues note); they are noisy on 2 shared CPUs.
# OFFCPU_PAIRS (default 7: single pairs vary by +-15% on a shared VM) and
# OFFCPU_SECONDS (default 3) set the cost runs.  ignis records a launched
# command as a user would; on the BPF engine its perf events are per CPU
# (a per-thread event's perf context is switched at every context switch
# of the target: that alone cost the ping-pong 15-20%).  --wall rows: the
# same with CPU samples at 99 Hz, per CPU too: a BPF program on each
# sampling event drops other processes' samples before any stack copy.
set -u
B=${IGNIS_BUILD:-build}
IGNIS=$B/ignis
S=$B/samples/offcpu
PAIRS=${OFFCPU_PAIRS:-7}
SECS=${OFFCPU_SECONDS:-3}
T=$(mktemp -d -t ignis-bench-offcpu.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -x "$IGNIS" ] && [ -x "$S/offcpu_phases" ] && [ -x "$S/offcpu_pingpong" ] ||
  { echo "bench/offcpu.sh: build first ($IGNIS, $S/offcpu_*)"; exit 1; }
export IGNIS_CACHE_DIR=$T/cache # never the user's cache
DUMP=$B/tests/profiler/profdump

# perf with sched:sched_switch: tracefs is needed for the tracepoint's id;
# when it is not mounted, perf runs in a mount namespace of its own with a
# tracefs there (root only), so the host is left as it was.
perf_ok=0
perf_tp() {
  if [ -r /sys/kernel/tracing/events/sched/sched_switch/id ]; then
    perf record -q -e sched:sched_switch -c 1 --call-graph dwarf,16384 --switch-events "$@"
  else
    unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$@"' sh \
      perf record -q -e sched:sched_switch -c 1 --call-graph dwarf,16384 --switch-events "$@"
  fi
}
if command -v perf >/dev/null && perf_tp -o "$T/probe.data" -- true >/dev/null 2>&1; then perf_ok=1; fi
rm -f "$T/probe.data"

echo "== accuracy: share of the workers' off-CPU time per phase (offcpu_phases, 20 cycles)"
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
IGNIS_BPF_STATS=1 "$IGNIS" record --off-cpu -o "$T/off.pb.gz" -- "$S/offcpu_phases" 20 >"$T/truth.ignis" 2>"$T/phases.err" ||
  { echo "ignis record failed"; exit 1; }
"$DUMP" "$T/off.pb.gz" off_cpu >"$T/dump.ignis"
IGNIS_OFFCPU_BPF=0 "$IGNIS" record --off-cpu -q -o "$T/offp.pb.gz" -- "$S/offcpu_phases" 20 >"$T/truth.pengine" ||
  { echo "ignis record (perf engine) failed"; exit 1; }
"$DUMP" "$T/offp.pb.gz" off_cpu >"$T/dump.pengine"
# measured: per phase wall - cpu, summed over the workers; total: their lives
measured() { awk -v what="$2" '$1 == "worker" { for (i = 3; i < NF; i += 3) if ($i == what) s += $(i + 1) - $(i + 2) }
                              END { printf "%.0f\n", s }' "$1"; }
ignis_site() { awk -F'\t' -v re="$1" '$2 ~ /^worker-/ && $5 ~ re { s += $1 } END { printf "%.0f\n", s }' "${2:-$T/dump.ignis}"; }
if [ "$perf_ok" -eq 1 ]; then
  perf_tp -o "$T/phases.data" -- "$S/offcpu_phases" 20 >"$T/truth.perf" 2>/dev/null
  # pair each worker's switch-out sample (its callchain names the phase)
  # with its next switch-in; off-CPU ns per phase
  perf script -i "$T/phases.data" -F comm,tid,time,event,ip,sym --show-switch-events --ns 2>/dev/null | awk '
    function ns(t) { sub(/:$/, "", t); split(t, p, "."); return p[1] * 1e9 + substr(p[2] "000000000", 1, 9) }
    /sched:sched_switch:/ { if ($1 ~ /^worker-/) { tid = $2; t = ns($3); site = "other"; insample = 1 } else insample = 0; next }
    insample && /phase_(sleep|mutex|pipe|compute)/ { if (site == "other") { match($0, /phase_[a-z]+/); site = substr($0, RSTART + 6, RLENGTH - 6) } next }
    insample && /^$/ { out[tid] = t; where[tid] = site; insample = 0; next }
    /PERF_RECORD_SWITCH IN/ { tid = $2; if (tid in out) { s[where[tid]] += ns($3) - out[tid]; total += ns($3) - out[tid]; delete out[tid] } }
    END { for (k in s) printf "%s %.0f\n", k, s[k]; printf "total %.0f\n", total }' >"$T/perf.sites"
  rm -f "$T/phases.data"
fi
printf '%-8s %22s   %22s   %22s\n' "" "ignis BPF engine" "ignis perf engine" "perf run"
printf '%-8s %10s %10s   %10s %10s   %10s %10s\n' phase measured ignis measured ignis measured perf
tot_i=$(ignis_site .)
tot_e=$(ignis_site . "$T/dump.pengine")
for ph in sleep mutex pipe compute; do
  share() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'; }
  mi=$(share "$(measured "$T/truth.ignis" "$ph")" "$(measured "$T/truth.ignis" life)")
  i=$(share "$(ignis_site ";phase_$ph(;|$)")" "$tot_i")
  mp=n/a p=n/a
  if [ "$perf_ok" -eq 1 ]; then
    mp=$(share "$(measured "$T/truth.perf" "$ph")" "$(measured "$T/truth.perf" life)")
    p=$(share "$(awk -v ph="$ph" '$1 == ph { print $2 }' "$T/perf.sites")" "$(awk '$1 == "total" { print $2 }' "$T/perf.sites")")
  fi
  me=$(share "$(measured "$T/truth.pengine" "$ph")" "$(measured "$T/truth.pengine" life)")
  e=$(share "$(ignis_site ";phase_$ph(;|$)" "$T/dump.pengine")" "$tot_e")
  printf '%-8s %10s %10s   %10s %10s   %10s %10s\n' "$ph" "$mi" "$i" "$me" "$e" "$mp" "$p"
done
# the BPF engine's exact in-kernel total of the followed threads' waits
# (every thread of the process: the workers, partners and main) against
# what the profile holds
echo "   BPF engine: $(sed -n 's/^  BPF engine *\([0-9]*\) switch-outs seen, \([0-9.]*\) s off the CPU.*; \([0-9]*\) events$/\1 switch-outs, \2 s off the CPU in-kernel (exact), \3 events/p' "$T/phases.err");" \
     "profile $(sed -n 's/^  off-CPU intervals *[0-9]*, \([0-9.]*\) s$/\1 s/p' "$T/phases.err")"
echo "   workers measured off the CPU: $(awk '{ s += 0 } END {}' /dev/null)$(measured "$T/truth.ignis" life | awk '{ printf "%.3f s", $1 / 1e9 }'); in the profile: $(ignis_site . | awk '{ printf "%.3f s", $1 / 1e9 }')"
[ "$perf_ok" -eq 1 ] || echo "   (perf columns: perf or sched:sched_switch not available)"

echo
echo "== cost on a switch-heavy target (offcpu_pingpong, ${SECS}s runs, $PAIRS alternating pairs, medians)"
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
pp() { "$@" 2>"$T/rec.err" | awk '/^round_trips_per_sec/ { r = $2 } /^round_trips / { n = $2 } /^cpu_us_per_round_trip/ { c = $2 }
                                   END { print r, c, n }'; }
# what the last recorded run wrote: "SWITCH_OUTS LOST" (ignis's summary; perf's --stats)
written_ignis() { # the BPF engine writes events (waits drawn), the perf engine every switch-out
  local n l
  n=$(sed -n 's/^  BPF engine .*; \([0-9]*\) events$/\1/p' "$T/rec.err")
  [ -n "$n" ] || n=$(sed -n 's/^  switch-outs *\([0-9]*\).*/\1/p' "$T/rec.err")
  l=$(sed -n 's/^  lost samples *\([0-9]*\).*/\1/p' "$T/rec.err")
  echo "${n:-0} ${l:-0}"
}
written_perf() {
  perf report -i "$T/pp.data" --stats 2>/dev/null |
    awk '/SAMPLE events:/ && !n { n = $3 } /LOST_SAMPLES events:/ { l = $3 } END { print n + 0, l + 0 }'
  rm -f "$T/pp.data"
}
written_none() { echo "0 0"; }
FLOOR=$B/bench/switch_floor # an empty program on sched_switch: what any such hook costs here
floor_ok=0
if [ -x "$FLOOR" ] && "$FLOOR" true 2>/dev/null; then floor_ok=1; fi
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cost_row() { # LABEL WRITTEN RECORDER...: paired runs against the bare target
  local label=$1 written=$2; shift 2
  : >"$T/pairs"
  for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then
      read -r r0 c0 _ <<<"$(pp "$S/offcpu_pingpong" "$SECS" ${PP_MODE:+"$PP_MODE"})"; read -r r1 c1 n1 <<<"$(pp "$@" "$S/offcpu_pingpong" "$SECS" ${PP_MODE:+"$PP_MODE"})"
      read -r w1 l1 <<<"$($written)"
    else
      read -r r1 c1 n1 <<<"$(pp "$@" "$S/offcpu_pingpong" "$SECS" ${PP_MODE:+"$PP_MODE"})"; read -r w1 l1 <<<"$($written)"
      read -r r0 c0 _ <<<"$(pp "$S/offcpu_pingpong" "$SECS" ${PP_MODE:+"$PP_MODE"})"
    fi
    echo "$r0 $c0 $r1 $c1 $(awk -v w="$w1" -v l="$l1" -v n="$n1" 'BEGIN { print (n ? w / n : 0), (w + l ? 100 * l / (w + l) : 0) }')" >>"$T/pairs"
  done
  local base rate cb c drop wrt lost
  base=$(awk '{ print $1 }' "$T/pairs" | median); rate=$(awk '{ print $3 }' "$T/pairs" | median)
  cb=$(awk '{ print $2 }' "$T/pairs" | median); c=$(awk '{ print $4 }' "$T/pairs" | median)
  drop=$(awk '{ print 100 * (1 - $3 / $1) }' "$T/pairs" | median)
  wrt=$(awk '{ print $5 }' "$T/pairs" | median); lost=$(awk '{ print $6 }' "$T/pairs" | median)
  printf '%-28s %9.0f %9.0f %8.1f%% %9.2f %9.2f %8.2f %6.1f%%\n' "$label" "$base" "$rate" "$drop" "$cb" "$c" "$wrt" "$lost"
}
printf '%-28s %9s %9s %9s %9s %9s %8s %7s\n' recorder "alone/s" "recorded/s" "drop" "cpu_us/rt" "(recorded)" "written/rt" "lost"
[ "$floor_ok" -eq 1 ] && cost_row "(floor: empty BPF program)" written_none "$FLOOR"
cost_row "ignis BPF, period 1ms" written_ignis "$IGNIS" record --off-cpu -o "$T/pp.pb.gz" --
cost_row "ignis BPF, period 0 (all)" written_ignis "$IGNIS" record --off-cpu --off-cpu-period 0 -o "$T/pp.pb.gz" --
cost_row "ignis BPF --wall (99 Hz)" written_ignis "$IGNIS" record --wall -o "$T/pp.pb.gz" --
cost_row "ignis perf engine, 16K" written_ignis env IGNIS_OFFCPU_BPF=0 "$IGNIS" record --off-cpu -o "$T/pp.pb.gz" --
cost_row "ignis perf engine, 4K" written_ignis env IGNIS_OFFCPU_BPF=0 "$IGNIS" record --off-cpu --stack-size 4K -o "$T/pp.pb.gz" --
if [ "$perf_ok" -eq 1 ]; then
  perf_pp() { perf_tp -o "$T/pp.data" -- "$@"; }
  cost_row "perf sched_switch dwarf" written_perf perf_pp
fi
echo "   (written/rt: switch-outs the recorder wrote per round trip; lost: records lost to full rings,"
echo "    ignis: every lost record (switch records too) over switch-outs + lost; perf: lost samples;"
echo "    floor: bench/switch_floor, a program on sched_switch that does nothing: the trampoline and"
echo "    call every off-CPU hook pays at each of the 4 context switches of a round trip)"

echo
echo "== cost at a busy service's switch rate (offcpu_pingpong work=20: each thread computes 20 us"
echo "   after each byte, as a service handles a request between two waits)"
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %9s %9s %9s %9s %9s %8s %7s\n' recorder "alone/s" "recorded/s" "drop" "cpu_us/rt" "(recorded)" "written/rt" "lost"
[ "$floor_ok" -eq 1 ] && PP_MODE=work=20 cost_row "(floor: empty BPF program)" written_none "$FLOOR"
PP_MODE=work=20 cost_row "ignis BPF, period 1ms" written_ignis "$IGNIS" record --off-cpu -o "$T/pp.pb.gz" --
PP_MODE=work=20 cost_row "ignis BPF --wall (99 Hz)" written_ignis "$IGNIS" record --wall -o "$T/pp.pb.gz" --
PP_MODE=work=20 cost_row "ignis perf engine, 16K" written_ignis env IGNIS_OFFCPU_BPF=0 "$IGNIS" record --off-cpu -o "$T/pp.pb.gz" --
if [ "$perf_ok" -eq 1 ]; then
  PP_MODE=work=20 cost_row "perf sched_switch dwarf" written_perf perf_pp
fi

echo
echo "== the sched_switch program's own time per call (offcpu_pingpong, kernel.bpf_stats_enabled, read"
echo "   with bpftool 2 s into a 3 s run; $PAIRS alternating runs each, medians): ignis's against the floor's"
BPFTOOL_BIN=$(command -v bpftool || ls /usr/sbin/bpftool 2>/dev/null)
prog_ns_per_call() { # PROG_NAME RECORDER...: ns per call of that program
  local name=$1 was; shift
  was=$(cat /proc/sys/kernel/bpf_stats_enabled)
  sysctl -q kernel.bpf_stats_enabled=1
  "$@" "$S/offcpu_pingpong" 3 >/dev/null 2>&1 &
  local pid=$!
  sleep 2
  "$BPFTOOL_BIN" prog show 2>/dev/null | awk -v n="$name" '$0 ~ "name " n " " { for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) } }
      END { if (c) printf "%.0f\n", t / c; else print "n/a" }'
  wait "$pid"
  sysctl -q kernel.bpf_stats_enabled="$was"
}
if [ -n "$BPFTOOL_BIN" ] && [ "$floor_ok" -eq 1 ] && [ "$(id -u)" = 0 ]; then
  : >"$T/percall"
  for i in $(seq "$PAIRS"); do
    echo "ignis $(prog_ns_per_call ig_offcpu_switch "$IGNIS" record -q --off-cpu -o "$T/pp.pb.gz" --)" >>"$T/percall"
    echo "floor $(prog_ns_per_call ig_floor_switch "$FLOOR")" >>"$T/percall"
  done
  printf '   ignis ig_offcpu_switch %s ns per call; floor (empty program) %s ns per call\n' \
    "$(awk '$1 == "ignis" && $2 != "n/a" { print $2 }' "$T/percall" | median)" \
    "$(awk '$1 == "floor" && $2 != "n/a" { print $2 }' "$T/percall" | median)"
else
  echo "   (needs root, bpftool and bench/switch_floor)"
fi

echo
echo "== ignis profiler CPU per switch-out (offcpu_pingpong; total: attach to written profile)"
echo "   BPF engine (IGNIS_BPF_STATS=1: its programs' kernel time counted in; per event written and per switch-out seen)"
bpf_cost() { # ARGS...: one 3 s record
  IGNIS_BPF_STATS=1 "$IGNIS" record --off-cpu "$@" -o "$T/pp.pb.gz" -- "$S/offcpu_pingpong" "$SECS" >/dev/null 2>"$T/rec.err"
  printf '   %-22s %s\n' "${*:-period 1ms}:" "$(tr -s ' ' <"$T/rec.err" | awk '/^ BPF engine/ { seen = $3; ev = $(NF - 1) } /^ \(/ && !per { per = $1 " " $8 } /^ BPF programs/ { prog = $3 }
      /^ profiler cpu/ { cpu = $3 } END { sub(/^\(/, "", per); split(per, p, " ");
      printf "%d switch-outs seen, %d events; %s ms recorder + %s ms BPF programs: %.2f us per event, %.3f us per switch-out", seen, ev, cpu, prog, p[1], p[2] }')"
}
bpf_cost
bpf_cost --off-cpu-period 0
echo "   perf engine (IGNIS_OFFCPU_BPF=0)"
per_switch() { # SECS: one record; prints "switch-outs cpu_ms lost"
  IGNIS_OFFCPU_BPF=0 "$IGNIS" record --off-cpu -o "$T/pp.pb.gz" -- "$S/offcpu_pingpong" "$1" >/dev/null 2>"$T/rec.err"
  local n ms lost
  n=$(sed -n 's/^  switch-outs *\([0-9]*\).*/\1/p' "$T/rec.err")
  ms=$(sed -n 's/^  profiler cpu *\([0-9.]*\) ms.*/\1/p' "$T/rec.err")
  lost=$(sed -n 's/^  lost samples *\([0-9]*\).*/\1/p' "$T/rec.err")
  echo "${n:-0} ${ms:-0} ${lost:-0}"
}
per_switch_rows() { # LABEL: both record lengths, and the marginal cost
  local n1 ms1 l1 n2 ms2 l2
  read -r n1 ms1 l1 <<<"$(per_switch 1)"
  read -r n2 ms2 l2 <<<"$(per_switch $((SECS * 2)))"
  echo "  $1"
  printf '    1 s record:  %8d switch-outs, %7.1f ms, %.2f us each (%d lost)\n' "$n1" "$ms1" \
    "$(awk -v c="$ms1" -v n="$n1" 'BEGIN { print n ? c * 1e3 / n : 0 }')" "$l1"
  printf '    %d s record:  %8d switch-outs, %7.1f ms, %.2f us each (%d lost)\n' $((SECS * 2)) "$n2" "$ms2" \
    "$(awk -v c="$ms2" -v n="$n2" 'BEGIN { print n ? c * 1e3 / n : 0 }')" "$l2"
  printf '    marginal:    %.2f us per switch-out\n' \
    "$(awk -v a="$ms1" -v b="$ms2" -v m="$n1" -v n="$n2" 'BEGIN { print (n > m) ? (b - a) * 1e3 / (n - m) : 0 }')"
}
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
per_switch_rows "with the stack memo (default)"
IGNIS_UNWIND_CACHE=0 per_switch_rows "without it (IGNIS_UNWIND_CACHE=0)"
