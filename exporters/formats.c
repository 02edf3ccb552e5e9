/*
 * exporters/formats.c — the table of profile formats and the two entry
 * points every command uses, ig_profile_load() and ig_profile_save()
 * (plus the public ignis_profile_read_file/write_file built on them).
 *
 * Loading maps the whole file (profiles are parsed from one buffer, which
 * lets the text readers avoid copying lines; stdin and pipes are read into
 * memory instead), then picks a reader: the one
 * named by `format`, else by content: gzip or binary bytes -> pprof; text
 * whose first record looks like a perf script sample -> perf-script; any
 * other text -> folded.  Extensions are not trusted for reading; content is.
 *
 * Saving encodes the whole output in memory first, then writes it through
 * ig_write_file_atomic() (temporary name + rename), so a failed encode or
 * write never leaves a partial file.  Devices and pipes such as /dev/null
 * are written directly (renaming over them would replace the device).
 * Every error is prefixed with the file name.
 */
#include "exporters/formats.h"
#include "utils/fileio.h"

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

static const format formats[] = {
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

/* Text: no control bytes other than tab/CR/LF in the first 4 KiB. */
static int looks_like_text(const uint8_t *d, size_t len)
{
    size_t n = len < 4096 ? len : 4096;
    for (size_t i = 0; i < n; i++)
        if ((d[i] < 0x20 && d[i] != '\t' && d[i] != '\n' && d[i] != '\r') || d[i] == 0x7f)
            return 0;
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
static int looks_like_perf_script(const uint8_t *d, size_t len)
{
    const char *s = (const char *)d, *end = s + (len < 65536 ? len : 65536), *le;
    const char *l1 = next_record(s, end, &le);
    if (!l1 || *l1 == ' ' || *l1 == '\t')
        return 0;
    if (has_time_token(l1, le))
        return 1;
    const char *l1e = le;
    const char *l2 = next_record(l1e + 1, end, &le);
    if (!l2 || (*l2 != ' ' && *l2 != '\t'))
        return 0;
    while (l2 < le && (*l2 == ' ' || *l2 == '\t'))
        l2++;
    const char *h = l2;
    while (h < le && ((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
        h++;
    return h > l2 && h < le && *h == ' ';
}

static const char *detect_format(const uint8_t *d, size_t len)
{
    if (ig_is_gzip(d, len) || !looks_like_text(d, len))
        return "pprof";
    return looks_like_perf_script(d, len) ? "perf-script" : "folded";
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

static int open_input(const char *path, input *in, ig_err *err)
{
    memset(in, 0, sizeof *in);
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED) {
            close(fd);
            in->data = m;
            in->len = (size_t)st.st_size;
            in->mapped = 1;
            return 0;
        }
    }
    if (fd >= 0)
        close(fd);
    return ig_read_file(path, &in->data, &in->len, err);
}

static void close_input(input *in)
{
    if (in->mapped)
        munmap(in->data, in->len);
    else
        free(in->data);
}

int ig_profile_load(const char *path, const char *format_name, ignis_profile **out, ig_err *err)
{
    *out = NULL;
    const format *f = NULL;
    if (format_name && !(f = format_named(format_name)))
        return ig_err_set(err, "unknown format '%s' (pprof, folded, perf-script)", format_name);
    if (f && !f->read)
        return ig_err_set(err, "%s: the %s format cannot be read", display_name(path), f->name);
    input in;
    if (open_input(path, &in, err))
        return -1;
    int rc;
    if (in.len == 0) {
        rc = ig_err_set(err, "empty file");
    } else {
        if (!f)
            f = format_named(detect_format(in.data, in.len));
        rc = f->read(in.data, in.len, out, err);
    }
    close_input(&in);
    if (rc)
        ig_err_prefix(err, display_name(path));
    return rc;
}

/* Writes to a device or pipe in place; everything else atomically. */
static int write_output(const char *path, const void *data, size_t len, ig_err *err)
{
    struct stat st;
    if (strcmp(path, "-") && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        FILE *fp = fopen(path, "wb");
        if (!fp)
            return ig_err_set(err, "%s: %s", path, strerror(errno));
        int bad = (len && fwrite(data, 1, len, fp) != len);
        bad |= fclose(fp) != 0;
        return bad ? ig_err_set(err, "%s: write failed", path) : 0;
    }
    return ig_write_file_atomic(path, data, len, err);
}

int ig_profile_save(const ignis_profile *p, const char *path, const char *format_name, const ig_write_opts *o,
                    ig_err *err)
{
    if (!format_name)
        format_name = ig_format_for_path(path);
    if (!format_name)
        format_name = "pprof";
    const format *f = format_named(format_name);
    if (!f)
        return ig_err_set(err, "unknown format '%s' (pprof, folded, svg)", format_name);
    if (!f->write)
        return ig_err_set(err, "%s: the %s format cannot be written", path, f->name);
    ig_write_opts defaults = {.tree = {.value = -1}, .minwidth = -1};
    ig_strbuf sb = IG_STRBUF_INIT;
    int rc = f->write(p, o ? o : &defaults, &sb, err);
    if (rc)
        ig_err_prefix(err, path);
    else
        rc = write_output(path, sb.data ? sb.data : "", sb.len, err);
    ig_sb_free(&sb);
    return rc;
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
