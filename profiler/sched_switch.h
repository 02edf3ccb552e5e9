/*
 * profiler/sched_switch.h — the sched:sched_switch tracepoint: finding it
 * in tracefs, the layout of its raw data, and what a record's prev_state
 * says about why its thread left the CPU.
 *
 * perf_event_open names a tracepoint by the id tracefs gives it
 * (events/sched/sched_switch/id, also the "ID:" line of its format file),
 * and the raw data of each sample is laid out as that format file says
 * ("field:long prev_state; offset:32; size:8; signed:1;").  Both are read
 * from the format file once; decoding a sample's raw data is then two
 * bounds-checked loads.
 */
#ifndef IG_PROFILER_SCHED_SWITCH_H
#define IG_PROFILER_SCHED_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/err.h"

typedef struct ig_tp_field {
    uint32_t offset, size; /* in the raw data; size 0: absent */
} ig_tp_field;

typedef struct ig_sched_switch_fmt {
    unsigned id;             /* the tracepoint's id (perf_event_attr.config) */
    ig_tp_field prev_pid;    /* pid_t: the thread leaving the CPU */
    ig_tp_field prev_state;  /* long: its TASK_REPORT state bits */
} ig_sched_switch_fmt;

/* Finds sched:sched_switch in tracefs: $IGNIS_TRACEFS when set, else
 * /sys/kernel/tracing, else /sys/kernel/debug/tracing.  When no tracefs is
 * mounted and the caller may mount one (CAP_SYS_ADMIN), a short-lived child
 * mounts it in a mount namespace of its own and sends the format file back,
 * so nothing changes on the host.  Returns 0, or -1 with a one-line reason
 * naming what is missing ("sched:sched_switch: tracefs not mounted at
 * /sys/kernel/tracing", "...: permission denied (tracefs is readable by
 * root only)"). */
int ig_sched_switch_find(ig_sched_switch_fmt *f, ig_err *err);

/* Parses the text of a format file into f.  Returns 0, or -1 when the id
 * or a field is missing or has a size we cannot read (prev_pid: 4 bytes;
 * prev_state: 4 or 8). */
int ig_sched_switch_parse_format(const char *text, size_t len, ig_sched_switch_fmt *f);

/* One sample's raw data, decoded. */
typedef struct ig_sched_switch_rec {
    int32_t prev_pid;
    int64_t prev_state;
} ig_sched_switch_rec;

/* Decodes raw data laid out as f says.  Returns 0, or -1 when a field lies
 * beyond `len` bytes. */
int ig_sched_switch_decode(const ig_sched_switch_fmt *f, const uint8_t *raw, size_t len, ig_sched_switch_rec *out);

/* The `state` label of a switch-out, from prev_state (TASK_REPORT bits,
 * Linux >= 4.14): "runnable" (preempted, or yielded while runnable),
 * "sleeping" (S), "uninterruptible" (D: disk I/O, kernel locks), "stopped"
 * (T), "traced" (t), "dead" (X, Z), "parked" (P), "idle" (I).  A static
 * string. */
const char *ig_sched_state_name(int64_t prev_state);

/* The labels of switch-outs whose state is not known (the context-switches
 * event, which carries no prev_state): preempted, or left voluntarily. */
#define IG_STATE_RUNNABLE "runnable"
#define IG_STATE_BLOCKED "blocked"
/* The label of on-CPU samples in wall-clock profiles. */
#define IG_STATE_RUNNING "running"

#endif
