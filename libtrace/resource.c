/*
 * libtrace/resource.c — the provider's resource and owned attribute sets.
 *
 * The resource is built once per provider, lowest precedence first:
 * telemetry.sdk.*, process.pid, process.executable.name and host.name;
 * then OTEL_RESOURCE_ATTRIBUTES (comma-separated key=value with
 * percent-encoded values — one malformed escape or member discards the
 * whole variable with a warning, as the spec says); then attributes given
 * in the options; service.name comes last from OTEL_SERVICE_NAME /
 * options, defaulting to unknown_service:<executable>.
 */
#include "libtrace/internal.h"
#include "utils/percent.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ig_kv_free(ig_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

int ig_resource_attrs_parse(const char *s, ig_kv **out, size_t *nout, char *why, size_t whylen)
{
    *out = NULL;
    *nout = 0;
    ig_kv *kv = NULL;
    size_t n = 0;
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t mlen = comma ? (size_t)(comma - p) : strlen(p);
        const char *m;
        size_t ml = ig_trim(p, mlen, &m);
        if (ml > 0) {
            const char *eq = memchr(m, '=', ml);
            const char *k, *v;
            size_t kl = eq ? ig_trim(m, (size_t)(eq - m), &k) : 0;
            size_t vl = eq ? ig_trim(eq + 1, ml - (size_t)(eq - m) - 1, &v) : 0;
            if (!eq || kl == 0) {
                snprintf(why, whylen, "member \"%.*s\" is not key=value", (int)(ml > 40 ? 40 : ml), m);
                ig_kv_free(kv, n);
                return -1;
            }
            char *key = ig_percent_decode_dup(k, kl, NULL, NULL);
            char *val = key ? ig_percent_decode_dup(v, vl, NULL, NULL) : NULL;
            if (!key || !val) {
                snprintf(why, whylen, "bad percent-encoding in \"%.*s\"", (int)(ml > 40 ? 40 : ml), m);
                free(key);
                ig_kv_free(kv, n);
                return -1;
            }
            kv = ig_xrealloc(kv, (n + 1) * sizeof *kv);
            kv[n].key = key;
            kv[n].value = val;
            n++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = kv;
    *nout = n;
    return 0;
}

/* ---- owned attribute sets ---------------------------------------------- */

static void *xmalloc_cb(void *ctx, size_t n)
{
    (void)ctx;
    return ig_xmalloc(n);
}

static void attr_copy_value(ig_attr *d, const ignis_attribute *a)
{
    ig_attr_copy_value(d, a, -1, xmalloc_cb, NULL); /* each piece malloc'd: see attr_free_value */
}

static void attr_free_value(ig_attr *a)
{
    if (a->type == IG_ATTR_STRING_ARRAY)
        for (uint32_t i = 0; i < a->len; i++)
            free((void *)a->v.sa[i]);
    if (a->type == IG_ATTR_STRING || a->type >= IG_ATTR_STRING_ARRAY)
        free((void *)a->v.s);
}

const ig_attr *ig_attr_set_find(const ig_attr_set *set, const char *key)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->attrs[i].key, key) == 0)
            return &set->attrs[i];
    return NULL;
}

void ig_attr_set_put(ig_attr_set *set, const ignis_attribute *a)
{
    if (!a->key || !*a->key || (unsigned)a->type > IGNIS_ATTR_DOUBLE_ARRAY)
        return;
    ig_attr *d = (ig_attr *)ig_attr_set_find(set, a->key);
    if (d) {
        attr_free_value(d);
    } else {
        set->attrs = ig_xrealloc(set->attrs, (set->n + 1) * sizeof *set->attrs);
        d = &set->attrs[set->n++];
        memset(d, 0, sizeof *d);
        d->key = ig_xstrdup(a->key);
        size_t kl = strlen(a->key);
        d->key_len = kl < 0xffff ? (uint16_t)kl : 0xffff;
    }
    attr_copy_value(d, a);
}

void ig_attr_set_free(ig_attr_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        attr_free_value(&set->attrs[i]);
        free((void *)set->attrs[i].key);
    }
    free(set->attrs);
    set->attrs = NULL;
    set->n = 0;
}

/* ---- resource -------------------------------------------------------------- */

static void put_str(ig_attr_set *r, const char *k, const char *v)
{
    ig_attr_set_put(r, &IGNIS_ATTR_STR(k, v));
}

static void executable_name(char *buf, size_t len)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strnlen(base, len - 1);
        memcpy(buf, base, n);
        buf[n] = '\0';
        return;
    }
    snprintf(buf, len, "%s", program_invocation_short_name);
}

void ig_resource_build(ig_attr_set *r, const ignis_provider_options *o)
{
    char exe[256], host[256];
    executable_name(exe, sizeof exe);
    put_str(r, "telemetry.sdk.name", "ignis");
    put_str(r, "telemetry.sdk.language", "c");
    put_str(r, "telemetry.sdk.version", IGNIS_VERSION);
    ig_attr_set_put(r, &IGNIS_ATTR_I64("process.pid", (int64_t)getpid()));
    put_str(r, "process.executable.name", exe);
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        put_str(r, "host.name", host);
    }
    if (o->resource_attributes && *o->resource_attributes) {
        ig_kv *kv;
        size_t n;
        char why[128];
        if (ig_resource_attrs_parse(o->resource_attributes, &kv, &n, why, sizeof why) < 0) {
            ig_tlog(IGNIS_LOG_WARN, "OTEL_RESOURCE_ATTRIBUTES: %s; ignoring the whole value", why);
        } else {
            for (size_t i = 0; i < n; i++)
                put_str(r, kv[i].key, kv[i].value);
            ig_kv_free(kv, n);
        }
    }
    for (size_t i = 0; i < o->nresource; i++)
        ig_attr_set_put(r, &o->resource[i]);
    if (o->service_name && *o->service_name) {
        put_str(r, "service.name", o->service_name);
    } else if (!ig_attr_set_find(r, "service.name")) {
        char svc[300];
        snprintf(svc, sizeof svc, "unknown_service:%s", exe);
        put_str(r, "service.name", svc);
    }
}
