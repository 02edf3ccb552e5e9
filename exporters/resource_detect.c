/*
 * exporters/resource_detect.c — the resource a profile is sent with:
 * process.pid, process.executable.name, host.name, service.name and
 * container.id, plus OTEL_RESOURCE_ATTRIBUTES (see otlp_profiles.h).
 * Part of libignis-net.so (it shares the tracing SDK's parser of
 * OTEL_RESOURCE_ATTRIBUTES, which would bring the SDK, and with it
 * libcurl, into the ignis binary).
 *
 * Precedence follows the OpenTelemetry SDKs: what is detected (the
 * process, the host, the cgroup) is overridden by OTEL_RESOURCE_ATTRIBUTES,
 * and OTEL_SERVICE_NAME overrides both for service.name.  A malformed
 * OTEL_RESOURCE_ATTRIBUTES is ignored as a whole (libtrace's parser, the
 * one the tracing SDK uses).  service.name is only set when known.
 *
 * The container id comes from /proc/PID/cgroup: container runtimes name
 * the cgroup of a container after its 64-hex-digit id (docker-ID.scope,
 * cri-containerd-ID.scope, crio-ID.scope, libpod-ID.scope, .../docker/ID,
 * kubepods/.../ID); the deepest path component that ends in such an id
 * gives it.
 */
#include "exporters/otlp_profiles.h"
#include "libtrace/internal.h" /* ig_resource_attrs_parse */
#include "utils/fileio.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The id a path component [b, e) ends in (".scope" aside), if any. */
static bool component_id(const char *b, const char *e, char out[65])
{
    if (e - b > 6 && !memcmp(e - 6, ".scope", 6))
        e -= 6;
    const char *h = e;
    while (h > b && is_hex(h[-1]))
        h--;
    if (e - h != 64 || (h > b && h[-1] != '-' && h[-1] != ':'))
        return false;
    memcpy(out, h, 64);
    out[64] = '\0';
    return true;
}

/* The deepest id in one line's path ("hierarchy:controllers:path"). */
static bool line_id(const char *b, const char *e, char out[65])
{
    const char *c1 = memchr(b, ':', (size_t)(e - b));
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
    if (!c2)
        return false;
    const char *path = c2 + 1, *end = e;
    while (end > path) {
        const char *slash = end;
        while (slash > path && slash[-1] != '/')
            slash--;
        if (component_id(slash, end, out))
            return true;
        end = slash > path ? slash - 1 : path;
    }
    return false;
}

bool ig_container_id_from_cgroup(const char *text, size_t len, char out[65])
{
    bool found = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char id[65];
        if (line_id(p, le, id)) {
            memcpy(out, id, sizeof id);
            found = true;
        }
        p = le + 1;
    }
    return found;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? ig_xstrdup(s) : NULL;
}

static void set(char **field, const char *value)
{
    free(*field);
    *field = dup_or_null(value);
}

static bool container_of(pid_t pid, char out[65])
{
    char path[64];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    else
        snprintf(path, sizeof path, "/proc/self/cgroup");
    uint8_t *data;
    size_t len;
    ig_err err;
    if (ig_read_file(path, &data, &len, &err))
        return false;
    bool ok = ig_container_id_from_cgroup((const char *)data, len, out);
    free(data);
    return ok;
}

/* The process's executable's base name, or NULL. */
static char *executable_of(pid_t pid)
{
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    static const char deleted[] = " (deleted)";
    size_t len = (size_t)n;
    if (len > sizeof deleted - 1 && !strcmp(target + len - (sizeof deleted - 1), deleted))
        target[len - (sizeof deleted - 1)] = '\0';
    const char *base = strrchr(target, '/');
    return dup_or_null(base ? base + 1 : target);
}


/* OTEL_RESOURCE_ATTRIBUTES over what was detected. */
static void apply_env_attributes(ig_profile_resource *r)
{
    const char *s = getenv("OTEL_RESOURCE_ATTRIBUTES");
    ig_kv *kv;
    size_t n;
    char why[256];
    if (!s || !*s || ig_resource_attrs_parse(s, &kv, &n, why, sizeof why))
        return;
    for (size_t i = 0; i < n; i++) {
        const char *k = kv[i].key, *v = kv[i].value;
        if (!strcmp(k, "process.pid")) {
            char *end;
            long long pid = strtoll(v, &end, 10);
            if (*v && !*end && pid > 0)
                r->pid = pid;
        } else if (!strcmp(k, "process.executable.name")) {
            set(&r->executable_name, v);
        } else if (!strcmp(k, "host.name")) {
            set(&r->host_name, v);
        } else if (!strcmp(k, "service.name")) {
            set(&r->service_name, v);
        } else if (!strcmp(k, "container.id")) {
            set(&r->container_id, v);
        } else {
            ig_profile_resource_add(r, k, v);
        }
    }
    ig_kv_free(kv, n);
}

void ig_profile_resource_detect(ig_profile_resource *r, pid_t pid, const char *exe_fallback, bool launched)
{
    memset(r, 0, sizeof *r);
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        r->host_name = dup_or_null(host);
    }
    if (pid > 0) {
        r->pid = pid;
        r->executable_name = executable_of(pid);
        if (!r->executable_name && exe_fallback) {
            const char *base = strrchr(exe_fallback, '/');
            r->executable_name = dup_or_null(base ? base + 1 : exe_fallback);
        }
        char id[65];
        /* a command we launched is in our cgroup unless it moved, and
         * may have exited already */
        if (container_of(pid, id) || (launched && container_of(0, id)))
            r->container_id = ig_xstrdup(id);
    }
    apply_env_attributes(r);
    const char *svc = getenv("OTEL_SERVICE_NAME");
    if (svc && *svc)
        set(&r->service_name, svc);
}
