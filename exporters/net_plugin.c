/*
 * exporters/net_plugin.c — the table libignis-net.so exports (see
 * exporters/net.h): fetching URLs and the OTLP profiles exporter, the
 * parts of ignis that need libcurl.
 */
#include "exporters/net.h"

static const ig_net_api api = {
    .abi = IG_NET_ABI,
    .size = sizeof(ig_net_api),
    .fetch = ig_fetch_url,
    .exporter_from_env = ig_otlp_profiles_exporter_from_env,
    .exporter_url = ig_otlp_profiles_exporter_url,
    .export_now = ig_otlp_profiles_export,
    .enqueue = ig_otlp_profiles_enqueue,
    .flush = ig_otlp_profiles_flush,
    .stats = ig_otlp_profiles_exporter_stats,
    .exporter_free = ig_otlp_profiles_exporter_free,
    .htlhash = ig_htlhash_file,
    .resource_detect = ig_profile_resource_detect,
    .resource_free = ig_profile_resource_free,
};

const ig_net_api *ignis_net_api(void)
{
    return &api;
}
