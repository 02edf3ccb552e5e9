/*
 * exporters/formats.c — the table of profile formats and the two entry
 * points every command uses, ig_profile_load() and ig_profile_save()
 * (plus the public ignis_profile_read_file/write_file built on them).
 *
 * Loading maps the whole file (profiles are parsed from one buffer, which
 * lets the text readers avoid copying lines; stdin, pipes, FIFOs and
 * devices are read into memory instead, from the one descriptor the input
 * was opened with, up to IG_PROFILE_MAX_SIZE, and refused from their first
 * 64 KiB when those can start no profile), inflates it if it is gzip (any format; capped at
 * IG_PROFILE_MAX_SIZE while inflating; a mapped file whose own mapping
 * read zeros where it shrank, utils/mapguard.h, fails the load, whatever
 * other mappings do meanwhile), then picks a reader: the one named
 * by `format`, else by content.  Each format has a sniffer: pprof when the
 * whole buffer walks as Profile fields with their wire types, perf script
 * when the first record is a sample header (with a time, or a stack under
 * it), folded when the first line ends in a count.  Every format that fits
 * is tried in that order until one reads the file; when none fits, or all
 * that fit fail, the one-line error names each format and why.
 * Extensions are not trusted for reading; content is.
 *
 * OTLP profiles requests (protobuf or OTLP/JSON, exporters/otlp_profiles*.c)
 * are formats like the others.  An OTLP request also walks as pprof fields
 * (its fields 1 and 2 are pprof's sample types and samples), so it is
 * tried as pprof first, which refuses it at once (no string table), then
 * as OTLP; a pprof file never has only fields 1 and 2, so it is never
 * taken for OTLP.
 *
 * A path that is an http:// or https:// URL is fetched (as `go tool pprof`
 * does) by the fetcher the ignis command registers (exporters/net_load.c
 * loads libcurl only then); the bytes then go the way a file's go.
 *
 * Saving encodes the whole output in memory first, then writes it through
 * utils/fileio.c (temporary name + rename for a regular file, in place for
 * a device or FIFO, through symlinks), so a failed encode or write never
 * leaves a partial file.  Every error is prefixed with the file name.
 */
#include "exporters/formats.h"
#include "exporters/otlp_profiles.h"
#include "utils/fileio.h"
#include "utils/mapguard.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*reader_fn)(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);
typedef int (*writer_fn)(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err);

static int write_pprof(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err)
{
    (void)o;
    return ig_pprof_write(p, out, err);
}

typedef struct format {
    const char *name;
    reader_fn read;   /* NULL: cannot be read */
    writer_fn write;  /* NULL: cannot be written */
    const char *exts[5];
} format;

static int write_otlp(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err)
{
    (void)o;
    (void)err;
    ig_otlp_profiles_encode(p, NULL, out);
    return 0;
}

static int write_otlp_json(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err)
{
    (void)o;
    (void)err;
    ig_otlp_profiles_encode_json(p, NULL, out);
    ig_sb_putc(out, '\n');
    return 0;
}

static const format formats[] = {
    /* before pprof: ".otlp.pb" also ends in ".pb" */
    {"otlp", ig_otlp_profiles_read, write_otlp, {".otlp.pb", ".otlp", NULL}},
    {"otlp-json", ig_otlp_profiles_read_json, write_otlp_json, {".otlp.json", NULL}},
    {"pprof", ig_pprof_read, write_pprof, {".pb.gz", ".pb", ".pprof", ".prof", NULL}},
    {"folded", ig_folded_read, ig_folded_write, {".folded", ".txt", ".collapsed", NULL}},
    {"perf-script", ig_perfscript_read, NULL, {".perf", ".script", ".perf-script", NULL}},
    {"svg", NULL, ig_svg_write, {".svg", NULL}},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static const format *format_named(const char *name)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcasecmp(s + n - m, suffix);
}

const char *ig_format_for_path(const char *path)
{
    for (size_t i = 0; i < NFORMATS; i++)
        for (const char *const *e = formats[i].exts; *e; e++)
            if (has_suffix(path, *e))
                return formats[i].name;
    return NULL;
}

/* ---- content detection ------------------------------------------------- */

/* Each sniffer says whether the bytes have its format's shape; when they do
 * not, it sets *why to a short reason for the "no format fits" message. */
typedef int (*sniff_fn)(const uint8_t *d, size_t len, char *why, size_t whylen);

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* The wire type profile.proto gives each top-level field of a Profile
 * (1..14), -1 for numbers it does not define; comment (13) may be packed. */
static int profile_wire_type(uint64_t field)
{
    static const int8_t wire[15] = {-1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 0, 0, 0};
    return field < 15 ? wire[field] : -1;
}

/* pprof: the whole buffer is a sequence of Profile fields, each with a
 * number profile.proto defines and that field's wire type.  Text almost
 * never walks that way to its last byte; protobuf always does. */
static int sniff_pprof(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    const uint8_t *p = d, *end = d + len;
    while (p < end) {
        size_t at = (size_t)(p - d);
        uint64_t tag, v;
        if (get_varint(&p, end, &tag))
            return snprintf(why, whylen, "not protobuf data (bad field tag at byte %zu)", at), 0;
        int wire = (int)(tag & 7), want = profile_wire_type(tag >> 3);
        if (want < 0 || (wire != want && !(tag >> 3 == 13 && wire == 2)))
            return snprintf(why, whylen, "not protobuf data (byte %zu is not a Profile field tag)", at), 0;
        if (get_varint(&p, end, &v) || (wire == 2 && v > (uint64_t)(end - p)))
            return snprintf(why, whylen, "not protobuf data (field at byte %zu runs past the end)", at), 0;
        if (wire == 2)
            p += v;
    }
    return 1;
}

/* The next line that is neither blank nor a '#' comment. */
static const char *next_record(const char *s, const char *end, const char **le)
{
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        *le = nl ? nl : end;
        const char *c = s;
        while (c < *le && (*c == ' ' || *c == '\t' || *c == '\r'))
            c++;
        if (c < *le && *c != '#')
            return s;
        s = *le + 1;
    }
    return NULL;
}

/* A token "123.456:" (perf script's time field) on the line. */
static int has_time_token(const char *s, const char *e)
{
    for (const char *c = s; c < e; c++) {
        if (*c != ':' || c == s || c[-1] < '0' || c[-1] > '9')
            continue;
        const char *b = c;
        int dot = 0;
        while (b > s && ((b[-1] >= '0' && b[-1] <= '9') || (b[-1] == '.' && !dot++)))
            b--;
        if (dot && (b == s || b[-1] == ' ' || b[-1] == '\t') && (c + 1 == e || c[1] == ' ' || c[1] == '\t'))
            return 1;
    }
    return 0;
}

/* perf script: a header line then an indented "hexaddr sym" frame, or a
 * header with perf's "secs.usecs:" time field. */
static int sniff_perf_script(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    const char *s = (const char *)d, *end = s + (len < 65536 ? len : 65536), *le;
    const char *l1 = next_record(s, end, &le);
    if (l1 && *l1 != ' ' && *l1 != '\t') {
        if (has_time_token(l1, le))
            return 1;
        const char *l2 = next_record(le + 1, end, &le);
        if (l2 && (*l2 == ' ' || *l2 == '\t')) {
            while (l2 < le && (*l2 == ' ' || *l2 == '\t'))
                l2++;
            const char *h = l2;
            while (h < le && ((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
                h++;
            if (h > l2 && h < le && *h == ' ')
                return 1;
        }
    }
    snprintf(why, whylen, "no sample header with a time or a stack under it");
    return 0;
}

/* Folded stacks: the first record is "frames COUNT". */
static int sniff_folded(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    const char *s = (const char *)d, *end = s + len, *le;
    const char *l = next_record(s, end, &le);
    if (!l)
        return snprintf(why, whylen, "no stacks"), 0;
    while (le > l && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
        le--;
    const char *c = le;
    while (c > l && ((c[-1] >= '0' && c[-1] <= '9') || c[-1] == '.'))
        c--;
    if (c > l && (c[-1] == '-' || c[-1] == '+'))
        c--;
    int digits = 0;
    for (const char *q = c; q < le; q++)
        digits |= *q >= '0' && *q <= '9';
    if (!digits || c == l || (c[-1] != ' ' && c[-1] != '\t'))
        return snprintf(why, whylen, "its first line does not end in a sample count"), 0;
    return 1;
}

/* ---- load and save ----------------------------------------------------- */

static const char *display_name(const char *path)
{
    return strcmp(path, "-") ? path : "<stdin>";
}

/* The file's bytes: mapped when it is a regular file, else read. */
typedef struct input {
    uint8_t *data;
    size_t len;
    int mapped;
} input;

static int stream_can_start_profile(const uint8_t *d, size_t len, void *ctx, ig_err *err);

/* Maps a regular file that we opened (or a descriptor of ours still at its
 * start); 1 when mapped, 0 to read it instead. */
static int map_input(int fd, int own, input *in)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (own && lseek(fd, 0, SEEK_CUR) != 0))
        return 0;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED)
        return 0;
    ig_mapguard_add(m, (size_t)st.st_size); /* the file may shrink under us */
    in->data = m;
    in->len = (size_t)st.st_size;
    in->mapped = 1;
    return 1;
}

/* Opens the input once and takes its bytes from that descriptor: a FIFO,
 * pipe, socket or device can be read only once (reopening a FIFO by name
 * loses what its writer wrote and waits for a writer that never comes). */
static int open_input(const char *path, input *in, ig_err *err)
{
    memset(in, 0, sizeof *in);
    int own, fd = ig_input_open(path, &own, err);
    if (fd < 0)
        return -1;
    int rc = 0;
    if (!map_input(fd, own, in) &&
        (rc = ig_read_fd_max(fd, &in->data, &in->len, IG_PROFILE_MAX_SIZE, stream_can_start_profile, NULL, err)))
        ig_err_prefix(err, display_name(path)); /* a device or FIFO may not end: bounded */
    close(fd);
    return rc;
}

static void close_input(input *in)
{
    if (in->mapped) {
        ig_mapguard_remove(in->data);
        munmap(in->data, in->len);
    }
    else
        free(in->data);
}

/* Whether the first inflated bytes can start a profile: protobuf (pprof,
 * OTLP) when they walk as Profile fields up to where they are cut, text
 * (folded, perf script, OTLP/JSON) when they hold no NUL byte.  The full
 * detection decides once everything is inflated; this only stops a bomb
 * (1 MB of gzip, 1 GB of zeros) before it costs the cap. */
static int head_can_start_profile(const uint8_t *d, size_t len, void *ctx, ig_err *err)
{
    const char *what = ctx ? ctx : "inflated";
    const uint8_t *p = d, *end = d + len, *at = d;
    while ((at = p) < end) {
        uint64_t tag, v;
        if (get_varint(&p, end, &tag) || get_varint(&p, end, &v))
            return 0; /* cut inside a tag or value */
        int wire = (int)(tag & 7), want = profile_wire_type(tag >> 3);
        if (want < 0 || (wire != want && !(tag >> 3 == 13 && wire == 2)))
            break;
        if (wire == 2 && v >= (uint64_t)(end - p))
            return 0; /* a field that runs on past the head */
        if (wire == 2)
            p += v;
    }
    if (at == end)
        return 0;
    const uint8_t *nul = memchr(d, '\0', len);
    if (!nul)
        return 0;
    return ig_err_set(err, "not a profile in a format ignis reads (the first %zu bytes %s are not protobuf: "
                           "byte %zu is not a Profile field tag; not text: a NUL byte at byte %zu)",
                      len, what, (size_t)(at - d), (size_t)(nul - d));
}

/* The same check on the first bytes of a stream (FIFO, device, stdin),
 * so one that never ends (/dev/zero) is refused there and not at the
 * cap; gzip is checked once inflated. */
static int stream_can_start_profile(const uint8_t *d, size_t len, void *ctx, ig_err *err)
{
    (void)ctx;
    return ig_is_gzip(d, len) ? 0 : head_can_start_profile(d, len, "read", err);
}

/* Replaces gzip-compressed input by its inflated bytes (any format may be
 * compressed; the cap bounds memory while inflating, and the first bytes
 * are checked before the rest is inflated). */
static int inflate_input(input *in, ig_err *err)
{
    if (!ig_is_gzip(in->data, in->len))
        return 0;
    uint8_t *raw;
    size_t rawlen;
    int rc = ig_gunzip_checked(in->data, in->len, &raw, &rawlen, IG_PROFILE_MAX_SIZE, head_can_start_profile, NULL,
                               err);
    if (in->mapped && ig_mapguard_faults(in->data)) { /* what was inflated had zeros in it */
        if (!rc)
            free(raw);
        return ig_err_set(err, "the file shrank while it was read");
    }
    if (rc)
        return -1;
    close_input(in);
    *in = (input){raw, rawlen, 0};
    return 0;
}

static int sniff_otlp(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    return ig_otlp_profiles_sniff(d, len, why, whylen);
}

static int sniff_otlp_json(const uint8_t *d, size_t len, char *why, size_t whylen)
{
    return ig_otlp_profiles_sniff_json(d, len, why, whylen);
}

static const struct {
    const char *format, *label;
    sniff_fn sniff;
} sniffers[] = {
    {"pprof", "pprof", sniff_pprof},
    {"otlp", "OTLP profiles", sniff_otlp},
    {"otlp-json", "OTLP/JSON profiles", sniff_otlp_json},
    {"perf-script", "perf script", sniff_perf_script},
    {"folded", "folded stacks", sniff_folded},
};
#define NSNIFFERS (sizeof sniffers / sizeof sniffers[0])

/* Reads the bytes with every reader whose format they look like, in the
 * order of the table, until one succeeds.  When one reader was tried its
 * error stands, marked with the format it assumed; otherwise the message
 * says what every format found wrong. */
static int read_detected(const uint8_t *d, size_t len, ignis_profile **out, ig_err *err)
{
    char why[NSNIFFERS][sizeof err->msg];
    int fits[NSNIFFERS], tried = 0;
    for (size_t i = 0; i < NSNIFFERS; i++) {
        fits[i] = sniffers[i].sniff(d, len, why[i], sizeof why[i]);
        if (!fits[i])
            continue;
        ig_err e;
        if (!format_named(sniffers[i].format)->read(d, len, out, &e))
            return 0;
        memcpy(why[i], e.msg, sizeof e.msg);
        tried++;
    }
    char msg[sizeof err->msg];
    size_t n = 0;
    for (size_t i = 0; i < NSNIFFERS; i++) {
        if (tried == 1 && fits[i])
            return ig_err_set(err, "%s (read as %s)", why[i], sniffers[i].label);
        if (tried && !fits[i])
            continue;
        n += (size_t)snprintf(msg + n, n < sizeof msg ? sizeof msg - n : 0, "%s%s: %s", n ? "; " : "",
                              sniffers[i].label, why[i]);
        if (n >= sizeof msg)
            break;
    }
    return ig_err_set(err, "%s (%s)", tried ? "no format reads it" : "not a profile in a format ignis reads", msg);
}

static int load_input(input *in, const char *path, const format *f, ignis_profile **out, ig_err *err);

static ig_profile_fetch_fn *fetcher;

void ig_profile_set_fetcher(ig_profile_fetch_fn *fn)
{
    fetcher = fn;
}

bool ig_is_url(const char *path)
{
    return !strncasecmp(path, "http://", 7) || !strncasecmp(path, "https://", 8);
}

/* A URL's bytes through the registered fetcher. */
static int fetch_input(const char *url, input *in, ig_err *err)
{
    memset(in, 0, sizeof *in);
    if (!fetcher)
        return ig_err_set(err, "%s: URLs are fetched by the ignis command only", url);
    return fetcher(url, &in->data, &in->len, err);
}

static _Thread_local ig_progress *reading; /* ig_profile_load_progress's, for the readers */
static _Thread_local ig_partial_fn partial_fn; /* ig_profile_load_partial's */
static _Thread_local void *partial_ctx;

ig_progress *ig_reading_progress(void)
{
    return reading;
}

void ig_reading_partial(const ignis_profile *so_far, uint64_t done, uint64_t total)
{
    if (partial_fn)
        partial_fn(partial_ctx, so_far, done, total);
}

int ig_profile_load_partial(const char *path, const char *format, ignis_profile **out, ig_progress *pr,
                            ig_partial_fn fn, void *ctx, ig_err *err)
{
    reading = pr;
    partial_fn = fn;
    partial_ctx = ctx;
    int rc = ig_profile_load(path, format, out, err);
    reading = NULL;
    partial_fn = NULL;
    partial_ctx = NULL;
    return rc;
}

int ig_profile_load_progress(const char *path, const char *format, ignis_profile **out, ig_progress *pr,
                             ig_err *err)
{
    return ig_profile_load_partial(path, format, out, pr, NULL, NULL, err);
}

int ig_profile_load(const char *path, const char *format_name, ignis_profile **out, ig_err *err)
{
    *out = NULL;
    const format *f = NULL;
    if (format_name && !(f = format_named(format_name)))
        return ig_err_set(err, "unknown format '%s' (pprof, folded, perf-script, otlp, otlp-json)", format_name);
    if (f && !f->read)
        return ig_err_set(err, "%s: the %s format cannot be read", display_name(path), f->name);
    input in;
    if (ig_is_url(path))
        return fetch_input(path, &in, err) ? -1 : load_input(&in, path, f, out, err);
    if (open_input(path, &in, err))
        return -1;
    return load_input(&in, path, f, out, err);
}

/* An empty input that says it is folded stacks (the format asked for, or
 * the name, ".gz" aside): a profile without samples, as ignis writes one. */
static int empty_folded(const char *path, const format *f)
{
    if (f)
        return f->read == ig_folded_read;
    char name[4096];
    size_t n = strlen(path);
    if (n < sizeof name && has_suffix(path, ".gz"))
        n -= 3;
    snprintf(name, sizeof name, "%.*s", (int)n, path);
    const char *by_name = ig_format_for_path(name);
    return by_name && !strcmp(by_name, "folded");
}

/* Reads a profile from the bytes of in (which it releases). */
static int load_input(input *in, const char *path, const format *f, ignis_profile **out, ig_err *err)
{
    int was_empty = in->len == 0;
    int rc = was_empty ? 0 : inflate_input(in, err);
    if (!rc && in->len == 0 && empty_folded(path, f))
        rc = ig_folded_read((const uint8_t *)"", 0, out, err);
    else if (!rc && in->len == 0)
        rc = ig_err_set(err, was_empty ? "empty file" : "empty file (after decompression)");
    else if (!rc)
        rc = f ? f->read(in->data, in->len, out, err) : read_detected(in->data, in->len, out, err);
    if (in->mapped && ig_mapguard_faults(in->data)) { /* zeros were read where this file shrank */
        if (!rc)
            ignis_profile_free(*out), *out = NULL;
        rc = ig_err_set(err, "the file shrank while it was read");
    }
    close_input(in);
    if (rc)
        ig_err_prefix(err, display_name(path));
    return rc;
}

int ig_profile_encode(const ignis_profile *p, const char *path, const char *format_name, const ig_write_opts *o,
                      ig_strbuf *out, ig_err *err)
{
    if (!format_name)
        format_name = ig_format_for_path(path);
    if (!format_name)
        format_name = "pprof";
    const format *f = format_named(format_name);
    if (!f)
        return ig_err_set(err, "unknown format '%s' (pprof, folded, svg, otlp, otlp-json)", format_name);
    if (!f->write)
        return ig_err_set(err, "%s: the %s format cannot be written", path, f->name);
    ig_write_opts defaults = {.tree = {.value = -1}, .minwidth = -1};
    if (f->write(p, o ? o : &defaults, out, err))
        return ig_err_prefix(err, path);
    return 0;
}

int ig_profile_save(const ignis_profile *p, const char *path, const char *format_name, const ig_write_opts *o,
                    ig_err *err)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    int rc = ig_profile_encode(p, path, format_name, o, &sb, err);
    if (!rc)
        rc = ig_write_file_atomic(path, sb.data ? sb.data : "", sb.len, err);
    ig_sb_free(&sb);
    return rc;
}

int ig_profile_save_to(const ignis_profile *p, ig_ofile *out, const char *path, const char *format_name,
                       const ig_write_opts *o, ig_err *err)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    int rc = ig_profile_encode(p, path, format_name, o, &sb, err);
    if (!rc && sb.len && fwrite(sb.data, 1, sb.len, out->fp) != sb.len)
        rc = ig_err_set(err, "%s: %s", path, strerror(errno));
    ig_sb_free(&sb);
    if (rc) {
        ig_ofile_abort(out);
        return -1;
    }
    return ig_ofile_commit(out, err);
}

/* ---- public API (include/ignis/profile.h) ------------------------------ */

IGNIS_API int ignis_profile_read_file(const char *path, const char *format, ignis_profile **out, char *errbuf,
                                      size_t errlen)
{
    ig_err err;
    if (!path || !out) {
        ig_err_set(&err, "ignis_profile_read_file: NULL argument");
        ig_err_copy(&err, errbuf, errlen);
        return -1;
    }
    if (ig_profile_load(path, format, out, &err)) {
        ig_err_copy(&err, errbuf, errlen);
        return -1;
    }
    return 0;
}

IGNIS_API int ignis_profile_write_file(const ignis_profile *p, const char *path, const char *format, char *errbuf,
                                       size_t errlen)
{
    ig_err err;
    if (!p || !path) {
        ig_err_set(&err, "ignis_profile_write_file: NULL argument");
        ig_err_copy(&err, errbuf, errlen);
        return -1;
    }
    if (ig_profile_save(p, path, format, NULL, &err)) {
        ig_err_copy(&err, errbuf, errlen);
        return -1;
    }
    return 0;
}
