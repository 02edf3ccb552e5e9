/*
 * utils/fileio.c — whole-file input, atomic output, gzip (see fileio.h).
 *
 * ig_gunzip sizes its output from the gzip trailer (ISIZE, the size mod
 * 2^32) when that is plausible, so a big profile is inflated into one
 * prefaulted buffer instead of one that doubles and faults page by page.
 */
#include "utils/fileio.h"
#include "utils/hash.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

FILE *ig_ofile_open(ig_ofile *o, const char *path, ig_err *err)
{
    memset(o, 0, sizeof *o);
    if (!strcmp(path, "-")) {
        o->fp = stdout;
        return o->fp;
    }
    size_t n = strlen(path) + 16;
    o->tmp = ig_xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        ig_err_set(err, "%s: cannot create: %s", path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return NULL;
    }
    fchmod(fd, 0644);
    o->fp = fdopen(fd, "w");
    if (!o->fp) {
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    o->path = ig_xstrdup(path);
    return o->fp;
}

int ig_ofile_commit(ig_ofile *o, ig_err *err)
{
    if (!o->fp)
        return ig_err_set(err, "output file not open");
    if (!o->path) { /* stdout */
        int bad = fflush(o->fp) != 0 || ferror(o->fp);
        o->fp = NULL;
        return bad ? ig_err_set(err, "standard output: write error") : 0;
    }
    int bad = fflush(o->fp) != 0 || ferror(o->fp);
    int saved = errno;
    if (!bad && !o->no_sync && fsync(fileno(o->fp)) != 0 && errno != EINVAL)
        bad = 1, saved = errno;
    if (fclose(o->fp) != 0 && !bad)
        bad = 1, saved = errno;
    o->fp = NULL;
    if (!bad && rename(o->tmp, o->path) != 0)
        bad = 1, saved = errno;
    if (bad) {
        ig_err_set(err, "%s: write failed: %s", o->path, strerror(saved));
        unlink(o->tmp);
    }
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return bad ? -1 : 0;
}

void ig_ofile_abort(ig_ofile *o)
{
    if (o->fp && o->path)
        fclose(o->fp);
    o->fp = NULL;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}

static int write_file(const char *path, const void *data, size_t len, int no_sync, ig_err *err)
{
    ig_ofile o;
    FILE *fp = ig_ofile_open(&o, path, err);
    if (!fp)
        return -1;
    o.no_sync = no_sync;
    if (len && fwrite(data, 1, len, fp) != len) {
        ig_err_set(err, "%s: write failed: %s", path, strerror(errno));
        ig_ofile_abort(&o);
        return -1;
    }
    return ig_ofile_commit(&o, err);
}

int ig_write_file_atomic(const char *path, const void *data, size_t len, ig_err *err)
{
    return write_file(path, data, len, 0, err);
}

int ig_write_cache_file(const char *path, const void *data, size_t len, ig_err *err)
{
    return write_file(path, data, len, 1, err);
}

int ig_read_file(const char *path, uint8_t **data, size_t *len, ig_err *err)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!fp)
        return ig_err_set(err, "%s: %s", path, strerror(errno));
    ig_strbuf sb = IG_STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        ig_sb_append(&sb, buf, n);
    int bad = ferror(fp);
    int saved = errno;
    if (fp != stdin)
        fclose(fp);
    if (bad) {
        ig_sb_free(&sb);
        return ig_err_set(err, "%s: read error: %s", path, strerror(saved));
    }
    *data = (uint8_t *)ig_sb_detach(&sb, len);
    return 0;
}

int ig_is_gzip(const uint8_t *data, size_t len)
{
    return len >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/* Only a hint: bounded by max_out and by deflate's best ratio (1032:1), so
 * a forged trailer cannot make a small input reserve a huge buffer. */
static void reserve_from_trailer(ig_strbuf *sb, const uint8_t *in, size_t inlen, size_t max_out)
{
    if (inlen < 18 || !ig_is_gzip(in, inlen))
        return;
    const uint8_t *t = in + inlen - 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    if (!isize || isize > max_out || isize / 1032 > inlen)
        return;
    ig_sb_reserve(sb, isize + (1 << 16));
    ig_prefault(sb->data, isize);
}

int ig_gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, size_t max_out, ig_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
        return ig_err_set(err, "cannot initialise zlib");
    ig_strbuf sb = IG_STRBUF_INIT;
    reserve_from_trailer(&sb, in, inlen, max_out);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    int rc;
    do {
        ig_sb_reserve(&sb, 1 << 16);
        zs.next_out = (Bytef *)sb.data + sb.len;
        zs.avail_out = (uInt)(sb.cap - sb.len - 1);
        size_t before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        sb.len += before - zs.avail_out;
        if (sb.len > max_out) {
            inflateEnd(&zs);
            ig_sb_free(&sb);
            return ig_err_set(err, "decompressed data larger than %zu bytes", max_out);
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            ig_sb_free(&sb);
            return ig_err_set(err, "truncated gzip stream");
        }
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            inflateEnd(&zs);
            ig_sb_free(&sb);
            return ig_err_set(err, "corrupt gzip data (%s)", zs.msg ? zs.msg : "inflate failed");
        }
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    sb.data[sb.len] = '\0';
    *out = (uint8_t *)ig_sb_detach(&sb, outlen);
    return 0;
}

int ig_gzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, int level, ig_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return ig_err_set(err, "cannot initialise zlib");
    size_t cap = deflateBound(&zs, (uLong)inlen) + 32;
    uint8_t *buf = ig_xmalloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return ig_err_set(err, "gzip compression failed");
    }
    *out = buf;
    *outlen = cap - zs.avail_out;
    return 0;
}
