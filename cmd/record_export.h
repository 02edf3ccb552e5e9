/*
 * cmd/record_export.h — `ignis record --export`: the recorded profile to
 * the OTLP endpoint (cmd/record_export.c).
 */
#ifndef IG_CMD_RECORD_EXPORT_H
#define IG_CMD_RECORD_EXPORT_H

#include <stdbool.h>

#include "ignis/profile.h"
#include "profiler/record.h"

/* Sends p, recorded with options o (stats st), to the OTLP endpoint of
 * the environment, with the resource of the recorded process (when there
 * is one) and the htlhash of its mapped files.  Prints what was sent
 * unless quiet, or the error.  Returns the exit status: 0 or 1. */
int cmd_record_export(const ignis_profile *p, const ig_record_opts *o, const ig_record_stats *st, bool quiet);

#endif
