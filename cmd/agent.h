/*
 * cmd/agent.h — continuous recording (`ignis record --every D -o DIR/`,
 * `ignis agent`): the interval spelling, the output folder and the writer
 * of one profile per interval, shared by cmd/record.c and cmd/agent.c.
 */
#ifndef IG_CMD_AGENT_H
#define IG_CMD_AGENT_H

#include <stdbool.h>

#include "profiler/record.h"

/* The longest --every: a day. */
#define AGENT_MAX_EVERY_S 86400.0

/* Parses an interval: a positive number with an optional unit ms, s, m or
 * h (seconds without one), e.g. "60s", "5m", "0.5".  0 or -1. */
int agent_parse_every(const char *s, double *secs);

/* Makes sure dir is a writable folder (created, mode 0755 less the umask,
 * when missing; its parent must exist).  0, or -1 with err set. */
int agent_prepare_dir(const char *dir, bool *created, ig_err *err);

/* Takes the profile the recorder collected since the previous interval
 * and writes it to DIR/ignis-YYYYmmddTHHMMSSZ-SEQ.pb.gz (its start time,
 * UTC; SEQ counts this run's intervals), through a temporary file renamed
 * into place, so a reader of the folder never sees half a file.  The
 * profile is freed: memory does not grow with intervals.  0, or -1 with
 * the error printed (recording goes on: the next interval may succeed). */
struct ig_net_stream;
/* With stream (--export), the profile is also queued for the collector
 * (ig_net_stream_send: a collector that is down costs neither time nor
 * memory here; what it drops is counted). */
int agent_write_interval(ig_recorder *r, const char *dir, unsigned *seq, bool quiet, struct ig_net_stream *stream);

/* `ignis record` under the name cmd ("record", or "agent": its option
 * errors then read "ignis agent: --xyz: unknown option (ignis agent
 * --help)"); argv[0] is skipped, as in cmd_record. */
int record_main(const char *cmd, int argc, char **argv);

#endif
