/*
 * exporters/net_load.c — the ignis command's side of libignis-net.so (see
 * exporters/net.h): finds and loads the library the first time the
 * network is needed, and registers the URL fetcher with the format
 * registry at start, so every command that reads a profile (report,
 * flame, convert, view, diffs) takes an http(s) URL without linking
 * libcurl.  The library is looked up like libignis-collect.so:
 * $IGNIS_NET_LIB, next to the ignis binary, then ../lib/ignis/.
 */
#include "exporters/formats.h"
#include "exporters/net.h"
#include "utils/plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char LIB[] = "libignis-net.so";

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ig_net_api *loaded;
static char why[400];

static void load(void)
{
    void *h = ig_plugin_open(LIB, "IGNIS_NET_LIB");
    if (!h) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "%s: cannot load (%s); it is looked for in $IGNIS_NET_LIB, next to the ignis "
                                  "binary and in ../lib/ignis", LIB, e ? e : "not found");
        return;
    }
    const ig_net_api *(*get)(void);
    *(void **)&get = dlsym(h, "ignis_net_api");
    const ig_net_api *api = get ? get() : NULL;
    if (!api || api->abi != IG_NET_ABI || api->size != sizeof *api) {
        snprintf(why, sizeof why, "%s: not the library of this ignis (another version?)", LIB);
        return;
    }
    loaded = api; /* the library stays loaded until exit */
}

const ig_net_api *ig_net_load(ig_err *err)
{
    pthread_once(&once, load);
    if (!loaded)
        ig_err_set(err, "%s", why);
    return loaded;
}

int ig_net_send_profile(const ignis_profile *p, const ig_net_send_opts *so, char *url, size_t urllen,
                        ig_otlp_profiles_stats *st, ig_err *err)
{
    const ig_net_api *net = ig_net_load(err);
    if (!net)
        return -1;
    ig_otlp_profiles_opts o = {1, so->htlhash ? net->htlhash : NULL, NULL, so->warn, so->warn_ctx};
    ig_otlp_profiles_exporter *x = net->exporter_from_env(&o, err);
    if (!x)
        return -1;
    if (url)
        snprintf(url, urllen, "%s", net->exporter_url(x));
    ig_profile_resource res;
    net->resource_detect(&res, so->pid, so->exe, so->launched);
    int rc = net->export_now(x, p, &res, 0, err);
    net->resource_free(&res);
    if (st)
        net->stats(x, st);
    net->exporter_free(x, 0);
    return rc;
}

struct ig_net_stream {
    const ig_net_api *net;
    ig_otlp_profiles_exporter *x;
    ig_profile_resource res;
    uint64_t queued; /* profiles handed to the queue */
};

ig_net_stream *ig_net_stream_open(const ig_net_send_opts *so, size_t max_queue, char *url, size_t urllen,
                                  ig_err *err)
{
    const ig_net_api *net = ig_net_load(err);
    if (!net)
        return NULL;
    ig_otlp_profiles_opts o = {max_queue, so->htlhash ? net->htlhash : NULL, NULL, so->warn, so->warn_ctx};
    ig_otlp_profiles_exporter *x = net->exporter_from_env(&o, err);
    if (!x)
        return NULL;
    ig_net_stream *s = ig_xcalloc(1, sizeof *s);
    s->net = net;
    s->x = x;
    net->resource_detect(&s->res, so->pid, so->exe, so->launched);
    if (url)
        snprintf(url, urllen, "%s", net->exporter_url(x));
    return s;
}

int ig_net_stream_send(ig_net_stream *s, ignis_profile *p)
{
    s->queued++;
    return s->net->enqueue(s->x, p, &s->res);
}

void ig_net_stream_close(ig_net_stream *s, int timeout_ms, ig_otlp_profiles_stats *st)
{
    if (!s)
        return;
    s->net->flush(s->x, timeout_ms);
    if (st) { /* what the flush left (still queued or in flight) is dropped by the free below */
        s->net->stats(s->x, st);
        uint64_t done = st->exported + st->failed + st->dropped;
        st->dropped += s->queued > done ? s->queued - done : 0;
        st->queued = 0;
    }
    s->net->exporter_free(s->x, 0);
    s->net->resource_free(&s->res);
    free(s);
}

static int fetch_profile(const char *url, uint8_t **data, size_t *len, ig_err *err)
{
    const ig_net_api *net = ig_net_load(err);
    if (!net)
        return -1;
    ig_fetch_opts o = {0, 0, -1};
    return net->fetch(url, &o, data, len, err);
}

__attribute__((constructor)) static void register_fetcher(void)
{
    ig_profile_set_fetcher(fetch_profile);
}
