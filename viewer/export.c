/*
 * viewer/export.c — writes what is on screen (zoom and filters applied).
 *
 * The view is turned back into a small profile: one sample per node of the
 * zoomed subtree that has a self value, whose stack is the node's path from
 * the root (the zoom's ancestors included, so the export keeps its
 * context).  The filters are already applied by the tree, so the writers
 * of exporters/formats.h (SVG, folded, pprof) get exactly the view; a diff
 * exports the base side the same way and hands it over as diff_base.
 *
 * ig_viewer_send (key E) sends the same profile of the view to the OTLP
 * collector the environment configures, through libignis-net.so (loaded
 * then, not at start); the send is synchronous and bounded by the OTLP
 * timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/formats.h"
#include "exporters/net.h"
#include "viewer/export.h"
#include "viewer/model.h"
#include "viewer/treeprof.h"

int ig_viewer_export(ig_viewer *v, const char *path)
{
    const char *fmt = ig_format_for_path(path);
    if (!fmt || !strcmp(fmt, "perf-script")) {
        ig_viewer_message(v, 1, "export: %s: use a .svg, .folded or .pb.gz file name", path);
        return -1;
    }
    uint32_t zoom = ig_viewer_zoom_node(v);
    ignis_profile *p = ig_profile_of_subtree(v->tree, zoom, 0);
    ignis_profile *base = v->base ? ig_profile_of_subtree(v->tree, zoom, 1) : NULL;
    ig_write_opts o = {.tree = {.value = 0}, .title = v->title, .inverted = v->icicle,
                       .minwidth = -1, .diff_base = base};
    ig_err err;
    int rc = ig_profile_save(p, path, fmt, &o, &err);
    if (rc == 0)
        ig_viewer_message(v, 0, "exported the view to %s (%s)", path, fmt);
    else
        ig_viewer_message(v, 1, "export: %s", err.msg);
    ignis_profile_free(p);
    ignis_profile_free(base);
    return rc;
}

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
    ignis_profile *p = ig_profile_of_subtree(v->tree, ig_viewer_zoom_node(v), 0);
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
