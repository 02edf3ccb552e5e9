/*
 * utils/fileio.c — whole-file input, safe output, gzip (see fileio.h).
 *
 * Output: ig_ofile_open() first finds what the path names.  A symlink is
 * followed (readlink, hop by hop, relative links against their own
 * directory, dangling ones to the file they would create), so the link
 * survives and its target gets the bytes.  A regular or missing target is
 * written to "<target>.tmp.XXXXXX" in the target's directory, opened with
 * O_EXCL and mode 0666 so the umask (and a default ACL) applies to a new
 * file; an existing file's mode, and its owner and group where we may set
 * them, are copied onto the temporary file before it is renamed over the
 * target.  Devices and FIFOs are opened for writing in place, never
 * created, truncated or renamed over; sockets and directories are refused.
 * A path (or a hop of its symlink chain) that names one of our own
 * descriptors (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N,
 * /proc/OURPID/fd/N) is written through a duplicate of that descriptor:
 * reopening would lose the shell's O_APPEND and offset, renaming over the
 * file behind it would drop what others wrote, and a pipe has no name.
 * Every failure names the path and the reason from errno ("out.svg: No
 * space left on device").
 *
 * Input: ig_input_open opens a path once ("-" and our own descriptors'
 * names through a duplicate of the descriptor, as output does), and
 * ig_read_fd_max reads that descriptor to its end under a cap, showing
 * its first 64 KiB to the caller's check: a FIFO's bytes are there only
 * for the first open, a socket has no name to open, and an endless device
 * that can be no input is refused at once.
 *
 * ig_gunzip sizes its output from the gzip trailer (ISIZE, the size mod
 * 2^32) when that is plausible, so a big profile is inflated into one
 * prefaulted buffer instead of one that doubles and faults page by page.
 * The output never grows past the caller's cap: inflate is handed at most
 * the room left under it, so a gzip bomb costs the cap, not its size.
 * Concatenated gzip members (as `cat a.gz b.gz` or pigz make) are read
 * whole; bytes after the last member are an error.  ig_gunzip_checked
 * hands the first IG_GUNZIP_HEAD inflated bytes to the caller's check
 * before the trailer's size is reserved or the rest inflated, so a bomb
 * that cannot be what the caller reads costs about 128 KiB, not the cap.
 */
#include "utils/fileio.h"
#include "utils/hash.h"
#include "utils/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_SYMLINK_HOPS 40

/* ---- output ------------------------------------------------------------ */

/* The directory part of path with its trailing '/', or "" (a malloc'd copy). */
static char *dir_prefix(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *d = ig_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* The link's target as a path usable from here: relative targets are
 * relative to the directory holding the link. */
static char *link_target(const char *link, ig_err *err, const char *shown)
{
    char buf[4096];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n < 0) {
        ig_err_set(err, "%s: cannot read symlink: %s", shown, strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    if (buf[0] == '/')
        return ig_xstrdup(buf);
    char *dir = dir_prefix(link);
    size_t len = strlen(dir) + (size_t)n + 1;
    char *t = ig_xmalloc(len);
    snprintf(t, len, "%s%s", dir, buf);
    free(dir);
    return t;
}

/* The descriptor number in "N" (the whole string), or -1. */
static int fd_number(const char *s)
{
    if (*s < '0' || *s > '9')
        return -1;
    long n = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if ((n = n * 10 + (*s - '0')) > INT_MAX)
            return -1;
    return *s ? -1 : (int)n;
}

/* The descriptor of ours a path names: /dev/stdin, /dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N and
 * /proc/PID/fd/N with our own pid.  -1 for any other path. */
static int own_descriptor(const char *path)
{
    static const char *const std[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(path, std[i]))
            return i;
    if (!strncmp(path, "/dev/fd/", 8))
        return fd_number(path + 8);
    if (strncmp(path, "/proc/", 6))
        return -1;
    const char *rest = path + 6, *slash = strchr(rest, '/');
    if (!slash || strncmp(slash, "/fd/", 4))
        return -1;
    size_t n = (size_t)(slash - rest);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    int ours = (n == 4 && !strncmp(rest, "self", 4)) || (n == 11 && !strncmp(rest, "thread-self", 11)) ||
               (n == strlen(pid) && !strncmp(rest, pid, n));
    return ours ? fd_number(slash + 4) : -1;
}

/* Follows symlinks from path to the file that gets written.  Returns the
 * malloc'd path and sets *exists and *st (lstat of it when it exists).
 * A hop that names one of our descriptors (/dev/stdout, /proc/self/fd/1)
 * ends the walk there with *fd set: its magic link names the file the
 * shell opened (or "pipe:[N]"), which must be written through that
 * descriptor, never reopened or replaced.  *fd is -1 otherwise. */
static char *resolve_output(const char *path, struct stat *st, int *exists, int *fd, ig_err *err)
{
    char *cur = ig_xstrdup(path);
    for (int hops = 0;; hops++) {
        if ((*fd = own_descriptor(cur)) >= 0) {
            *exists = 1;
            return cur;
        }
        if (lstat(cur, st) != 0) {
            if (errno == ENOENT) {
                *exists = 0;
                return cur;
            }
            ig_err_set(err, "%s: %s", path, strerror(errno));
            free(cur);
            return NULL;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = 1;
            return cur;
        }
        if (hops == MAX_SYMLINK_HOPS) {
            ig_err_set(err, "%s: %s", path, strerror(ELOOP));
            free(cur);
            return NULL;
        }
        char *next = link_target(cur, err, path);
        free(cur);
        if (!next)
            return NULL;
        cur = next;
    }
}

/* Fills o->tmp with "<target>.tmp.XXXXXX", a fresh random suffix. */
static void temp_name(ig_ofile *o, const char *target, int attempt)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = strlen(target) + 16;
    if (!o->tmp)
        o->tmp = ig_xmalloc(n);
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = ig_hash_u64((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32, (uint64_t)attempt);
    }
    char suffix[7];
    for (int i = 0; i < 6; i++, r /= 62)
        suffix[i] = chars[r % 62];
    suffix[6] = '\0';
    snprintf(o->tmp, n, "%s.tmp.%s", target, suffix);
}

/* An unnamed file in the target's directory (O_TMPFILE), linked under a
 * temporary name only at commit: nothing is left behind if the process
 * dies first.  -1 when the file system (or /proc, needed to link it) has
 * no support, and the caller falls back to a named temporary file. */
static int create_unnamed(ig_ofile *o, const char *target, mode_t mode)
{
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    char *dir = dir_prefix(target);
    int fd = open(*dir ? dir : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    int saved = errno;
    free(dir);
    if (fd >= 0) {
        temp_name(o, target, 0);
        o->anon = 1;
    }
    errno = saved;
    return fd;
#else
    (void)o, (void)target, (void)mode;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

/* Creates the temporary file with `mode` (the umask applies); sets o->tmp
 * (and o->anon when it is unnamed).  Returns the fd or -1 with errno set. */
static int create_temp(ig_ofile *o, const char *target, mode_t mode)
{
    int fd = create_unnamed(o, target, mode);
    if (fd >= 0)
        return fd;
    for (int attempt = 0; attempt < 100; attempt++) { /* a named create reports the real error */
        temp_name(o, target, attempt);
        fd = open(o->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode); /* readable, as mkstemp's */
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Gives an unnamed temporary file its temporary name (a fresh one if
 * another process took it).  0, or the errno. */
static int link_unnamed(ig_ofile *o, int fd)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (int attempt = 1; attempt < 100; attempt++) {
        if (linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) == 0) {
            o->anon = 0;
            return 0;
        }
        if (errno != EEXIST)
            return errno;
        temp_name(o, o->target, attempt);
    }
    return EEXIST;
}

/* Gives the temporary file the existing target's owner, group and mode;
 * an owner we may not set is left as ours (only root may give files away). */
static void copy_attributes(int fd, const struct stat *st)
{
    struct stat now;
    if (fstat(fd, &now) == 0 && (now.st_uid != st->st_uid || now.st_gid != st->st_gid) &&
        fchown(fd, st->st_uid, st->st_gid) != 0)
        (void)!fchown(fd, (uid_t)-1, st->st_gid); /* at least the group, if we belong to it */
    (void)!fchmod(fd, st->st_mode & 07777);
}

static FILE *stream_for(ig_ofile *o, int fd, const char *path, ig_err *err)
{
    o->fp = fdopen(fd, "w");
    if (!o->fp) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    o->path = ig_xstrdup(path);
    return o->fp;
}

/* A device or FIFO: opened for writing as it is (a FIFO waits for its
 * reader, as a shell redirection does). */
static FILE *open_in_place(ig_ofile *o, const char *path, const char *target, ig_err *err)
{
    int fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    return stream_for(o, fd, path, err);
}

/* One of our descriptors (-o /dev/stdout, /dev/fd/3): written through a
 * duplicate, as "-" writes stdout, so its offset and O_APPEND are the
 * shell's and whatever else was written to it stays. */
static FILE *open_descriptor(ig_ofile *o, const char *path, int n, ig_err *err)
{
    int flags = fcntl(n, F_GETFL);
    if (flags < 0) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if ((flags & O_ACCMODE) == O_RDONLY) {
        ig_err_set(err, "%s: descriptor %d is not open for writing", path, n);
        return NULL;
    }
    if (n == STDOUT_FILENO || n == STDERR_FILENO)
        fflush(n == STDOUT_FILENO ? stdout : stderr); /* what we printed there comes first */
    int fd = fcntl(n, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        ig_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    return stream_for(o, fd, path, err);
}

static FILE *open_temp(ig_ofile *o, const char *path, const char *target, const struct stat *st, ig_err *err)
{
    int fd = create_temp(o, target, st ? 0600 : 0666);
    if (fd < 0) {
        ig_err_set(err, "%s: cannot create: %s", path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return NULL;
    }
    if (st)
        copy_attributes(fd, st);
    o->target = ig_xstrdup(target);
    if (!stream_for(o, fd, path, err)) {
        if (!o->anon)
            unlink(o->tmp);
        free(o->tmp);
        free(o->target);
        o->tmp = o->target = NULL;
        return NULL;
    }
    return o->fp;
}

FILE *ig_ofile_open(ig_ofile *o, const char *path, ig_err *err)
{
    memset(o, 0, sizeof *o);
    if (!strcmp(path, "-")) {
        o->fp = stdout;
        return o->fp;
    }
    struct stat st;
    int exists, fd;
    char *target = resolve_output(path, &st, &exists, &fd, err);
    if (!target)
        return NULL;
    FILE *fp = NULL;
    if (fd >= 0)
        fp = open_descriptor(o, path, fd, err);
    else if (!exists || S_ISREG(st.st_mode))
        fp = open_temp(o, path, target, exists ? &st : NULL, err);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
        fp = open_in_place(o, path, target, err);
    else if (S_ISDIR(st.st_mode))
        ig_err_set(err, "%s: %s", path, strerror(EISDIR));
    else if (S_ISSOCK(st.st_mode))
        ig_err_set(err, "%s: is a socket (cannot write a file to it)", path);
    else
        ig_err_set(err, "%s: not a regular file, device or FIFO", path);
    free(target);
    return fp;
}

/* Flushes the stream; 0, or the errno of the failed write. */
static int flush_error(FILE *fp)
{
    errno = 0;
    if (fflush(fp) == 0 && !ferror(fp))
        return 0;
    return errno ? errno : EIO;
}

int ig_ofile_commit(ig_ofile *o, ig_err *err)
{
    if (!o->fp)
        return ig_err_set(err, "output file not open");
    if (!o->path) { /* stdout */
        int e = flush_error(o->fp);
        o->fp = NULL;
        return e ? ig_err_set(err, "stdout: %s", strerror(e)) : 0;
    }
    int e = flush_error(o->fp);
    if (!e && o->tmp && !o->no_sync && fsync(fileno(o->fp)) != 0 && errno != EINVAL)
        e = errno;
    if (!e && o->anon)
        e = link_unnamed(o, fileno(o->fp));
    if (fclose(o->fp) != 0 && !e)
        e = errno ? errno : EIO;
    o->fp = NULL;
    if (!e && o->tmp && rename(o->tmp, o->target) != 0)
        e = errno;
    if (e) {
        ig_err_set(err, "%s: %s", o->path, strerror(e));
        if (o->tmp && !o->anon)
            unlink(o->tmp);
    }
    free(o->tmp);
    free(o->target);
    free(o->path);
    o->tmp = o->target = o->path = NULL;
    return e ? -1 : 0;
}

void ig_ofile_abort(ig_ofile *o)
{
    if (o->fp && o->path)
        fclose(o->fp);
    o->fp = NULL;
    if (o->tmp && !o->anon)
        unlink(o->tmp);
    free(o->tmp);
    free(o->target);
    free(o->path);
    o->tmp = o->target = o->path = NULL;
}

static int write_file(const char *path, const void *data, size_t len, int no_sync, ig_err *err)
{
    ig_ofile o;
    FILE *fp = ig_ofile_open(&o, path, err);
    if (!fp)
        return -1;
    o.no_sync = no_sync;
    if (len && fwrite(data, 1, len, fp) != len) {
        ig_err_set(err, "%s: %s", o.path ? path : "stdout", strerror(errno));
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
    return ig_read_file_max(path, data, len, SIZE_MAX, err);
}

int ig_input_open(const char *path, int *own, ig_err *err)
{
    int n = strcmp(path, "-") ? own_descriptor(path) : STDIN_FILENO;
    *own = n >= 0;
    int fd = n >= 0 ? fcntl(n, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ig_err_set(err, "%s: %s", path, strerror(errno));
    return fd;
}

int ig_read_fd_max(int fd, uint8_t **data, size_t *len, size_t max, ig_gunzip_check_fn check, void *ctx,
                   ig_err *err)
{
    ig_strbuf sb = IG_STRBUF_INIT;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            ig_sb_free(&sb);
            return ig_err_set(err, "read error: %s", strerror(saved));
        }
        if (n == 0)
            break;
        if ((size_t)n > max - sb.len) { /* a device, FIFO or /proc file that does not end */
            ig_sb_free(&sb);
            return ig_err_set(err, "more than %zu bytes: too large to read", max);
        }
        size_t before = sb.len;
        ig_sb_append(&sb, buf, (size_t)n);
        if (check && before < IG_GUNZIP_HEAD && sb.len >= IG_GUNZIP_HEAD &&
            check((const uint8_t *)sb.data, sb.len, ctx, err)) {
            ig_sb_free(&sb);
            return -1;
        }
    }
    *data = (uint8_t *)ig_sb_detach(&sb, len);
    return 0;
}

int ig_read_file_max(const char *path, uint8_t **data, size_t *len, size_t max, ig_err *err)
{
    int own, fd = ig_input_open(path, &own, err);
    if (fd < 0)
        return -1;
    int rc = ig_read_fd_max(fd, data, len, max, NULL, NULL, err);
    close(fd);
    return rc ? ig_err_prefix(err, path) : 0;
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
    size_t cap = isize + (1 << 16) < max_out + 2 ? isize + (1 << 16) : max_out + 2;
    sb->data = ig_xmalloc(cap);
    sb->cap = cap;
    ig_prefault(sb->data, isize);
}

/* Room for more output, never past max_out + 1 bytes (one byte over the
 * cap tells that the cap was exceeded) plus the terminating NUL. */
static size_t grow_output(ig_strbuf *sb, size_t max_out)
{
    size_t limit = max_out + 2;
    if (sb->cap - sb->len <= 1 && sb->cap < limit) {
        size_t cap = sb->cap ? sb->cap * 2 : (size_t)1 << 16;
        if (cap > limit || cap < sb->cap)
            cap = limit;
        sb->data = ig_xrealloc(sb->data, cap);
        sb->cap = cap;
    }
    size_t room = sb->cap - sb->len - 1, below_cap = max_out + 1 - sb->len;
    return room < below_cap ? room : below_cap;
}

static int gunzip_fail(z_stream *zs, ig_strbuf *sb, int rc)
{
    inflateEnd(zs);
    ig_sb_free(sb);
    return rc;
}

/* The head check once IG_GUNZIP_HEAD bytes are out, then the room the
 * trailer promises: a refused input never reserves it.  0, or -1 with err
 * set by the check. */
static int check_head(ig_strbuf *sb, const uint8_t *in, size_t inlen, size_t max_out, ig_gunzip_check_fn check,
                      void *ctx, ig_err *err)
{
    sb->data[sb->len] = '\0'; /* grow_output keeps room for it */
    if (check && check((const uint8_t *)sb->data, sb->len, ctx, err))
        return -1;
    ig_strbuf hinted = IG_STRBUF_INIT;
    reserve_from_trailer(&hinted, in, inlen, max_out);
    if (hinted.cap > sb->cap) {
        memcpy(hinted.data, sb->data, sb->len);
        hinted.len = sb->len;
        ig_sb_free(sb);
        *sb = hinted;
    }
    else
        ig_sb_free(&hinted);
    return 0;
}

int ig_gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, size_t max_out, ig_err *err)
{
    return ig_gunzip_checked(in, inlen, out, outlen, max_out, NULL, NULL, err);
}

int ig_gunzip_checked(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, size_t max_out,
                      ig_gunzip_check_fn check, void *ctx, ig_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
        return ig_err_set(err, "cannot initialise zlib");
    if (max_out > SIZE_MAX / 2)
        max_out = SIZE_MAX / 2; /* room for the +2 below */
    ig_strbuf sb = IG_STRBUF_INIT;
    int head_checked = !check;
    if (!check)
        reserve_from_trailer(&sb, in, inlen, max_out);
    int gzip = ig_is_gzip(in, inlen);
    zs.next_in = (Bytef *)in;
    zs.avail_in = inlen > UINT_MAX ? UINT_MAX : (uInt)inlen;
    size_t fed = zs.avail_in; /* bytes of `in` handed to zlib so far */
    for (;;) {
        size_t room = grow_output(&sb, max_out);
        zs.next_out = (Bytef *)sb.data + sb.len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        size_t before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        sb.len += before - zs.avail_out;
        if (sb.len > max_out)
            return gunzip_fail(&zs, &sb, ig_err_set(err, "decompressed data larger than %zu bytes", max_out));
        if (!head_checked && sb.len >= IG_GUNZIP_HEAD) {
            head_checked = 1;
            if (check_head(&sb, in, inlen, max_out, check, ctx, err))
                return gunzip_fail(&zs, &sb, -1);
        }
        if (zs.avail_in == 0 && fed < inlen) { /* inputs over 4 GiB go in slices */
            size_t more = inlen - fed > UINT_MAX ? UINT_MAX : inlen - fed;
            zs.avail_in = (uInt)more;
            fed += more;
        }
        if (rc == Z_STREAM_END) {
            size_t left = zs.avail_in + (inlen - fed), at = inlen - left;
            if (!left)
                break;
            if (!gzip || !ig_is_gzip(in + at, left))
                return gunzip_fail(&zs, &sb, ig_err_set(err, "%zu bytes of trailing garbage after the gzip data "
                                                             "(at byte %zu)", left, at));
            inflateReset(&zs); /* the next member of a multi-member file */
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0)
            return gunzip_fail(&zs, &sb, ig_err_set(err, "truncated gzip stream"));
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return gunzip_fail(&zs, &sb, ig_err_set(err, "corrupt gzip data (%s)", zs.msg ? zs.msg : "inflate failed"));
    }
    inflateEnd(&zs);
    if (!sb.data)
        grow_output(&sb, max_out);
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
