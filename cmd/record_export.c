/*
 * cmd/record_export.c — `ignis record --export`: once the profile is
 * written, it also goes to the OTLP endpoint the OTEL_EXPORTER_OTLP_*
 * variables configure, as OTLP profiles (exporters/otlp_profiles*.c,
 * through libignis-net.so), with the resource of the process recorded:
 * process.pid and process.executable.name when one process was recorded
 * (the launched command, or a single -p PID), its container.id, host.name
 * and service.name.  A failure is one line and exit status 1; the file is
 * written either way.
 */
#include "cmd/record_export.h"
#include "cmd/cmd.h"
#include "exporters/net.h"

#include <inttypes.h>
#include <stdio.h>

int cmd_record_export(const ignis_profile *p, const ig_record_opts *o, const ig_record_stats *st, bool quiet)
{
    ig_net_send_opts so = {st->child ? st->child : o->npids == 1 ? o->pids[0] : 0, o->argv ? o->argv[0] : NULL,
                           st->child != 0, true, NULL, NULL};
    char url[1024];
    ig_otlp_profiles_stats ps;
    ig_err err;
    if (ig_net_send_profile(p, &so, url, sizeof url, &ps, &err)) {
        cmd_error("record", "--export: %s", err.msg);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "ignis record: sent the profile to %s (%" PRIu64 " request%s)\n", url, ps.requests,
                ps.requests == 1 ? "" : "s");
    return 0;
}
