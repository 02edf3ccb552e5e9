/*
 * viewer/export.c — sends what is on screen (zoom and filters applied) to
 * an OTLP collector: key E.  (Writing it to a file is ig_viewer_export in
 * viewer/model.c, run as a task.)
 *
 * The view is turned back into a small profile by ig_profile_of_subtree
 * (viewer/treeprof.h) and sent to the collector the environment
 * configures, through libignis-net.so (loaded then, not at start); the
 * send is synchronous and bounded by the OTLP timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "exporters/net.h"
#include "viewer/export.h"
#include "viewer/model.h"
#include "viewer/treeprof.h"

/* Keeps the first warning about the OTLP settings for the message line
 * (the terminal is the UI's: nothing may be printed on it). */
static void keep_warning(void *ctx, const char *msg)
{
    char *buf = ctx;
    if (!buf[0])
        snprintf(buf, 200, "%s", msg);
}

int ig_viewer_send(ig_viewer *v)
{
    ignis_profile *p = ig_profile_of_subtree(v->tree, ig_viewer_zoom_node(v), 0, NULL);
    char url[512] = "", warning[200] = "";
    ig_net_send_opts so = {0, NULL, false, false, keep_warning, warning};
    ig_err err;
    int rc = ig_net_send_profile(p, &so, url, sizeof url, NULL, &err);
    if (rc == 0)
        ig_viewer_message(v, 0, "sent the view to %s%s%s", url, warning[0] ? " (" : "", warning[0] ? warning : "");
    else
        ig_viewer_message(v, 1, "send: %s", err.msg);
    if (rc == 0 && warning[0])
        strncat(v->message, ")", sizeof v->message - strlen(v->message) - 1);
    ignis_profile_free(p);
    return rc;
}
