/*
 * utils/fileio.h — whole-file input and crash-safe output.
 *
 * Regular output files are never written in place: ig_ofile_open() creates
 * an unnamed file (O_TMPFILE) in the target's directory, or where the file
 * system has none "<target>.tmp.XXXXXX", and ig_ofile_commit() flushes,
 * fsyncs, names it "<target>.tmp.XXXXXX" and renames it over the target.
 * So a process killed while writing (SIGKILL, a crash) leaves nothing.  On any failure (or an explicit
 * ig_ofile_abort()) the temporary file is removed, so a failed command
 * leaves no half-written file.  A symlink is followed (its target is
 * replaced, the link stays); a device or FIFO is written in place, never
 * replaced; /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N (also
 * at the end of a symlink chain) are written through a duplicate of that
 * open descriptor, as "-" writes stdout (appending when the shell's
 * redirection appends); a socket or directory is refused.  A replaced file keeps its
 * mode (and owner, where permitted); a new one gets 0666 minus the umask.
 * The path "-" means standard input/output.  Errors read "PATH: reason",
 * e.g. "out.svg: No space left on device".
 */
#ifndef IG_FILEIO_H
#define IG_FILEIO_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/err.h"

typedef struct ig_ofile {
    FILE *fp;
    char *path;   /* the name given (for messages), NULL for stdout */
    char *target; /* what the temporary file is renamed to (symlinks resolved) */
    char *tmp;    /* temporary name; NULL when written in place (device, FIFO) */
    int anon;     /* tmp is not linked yet: an O_TMPFILE, linked at commit */
    int no_sync;  /* set after open: commit renames without fsync */
} ig_ofile;

/* Opens path for writing (through a temporary file when it is or will be a
 * regular file).  Returns the stream or NULL with err set ("path: reason"). */
FILE *ig_ofile_open(ig_ofile *o, const char *path, ig_err *err);

/* Flushes and renames the temporary file over the target (or closes a
 * device/FIFO, or flushes stdout); 0, or -1 with err set ("path: reason",
 * "stdout: reason"). */
int ig_ofile_commit(ig_ofile *o, ig_err *err);

/* Closes and removes the temporary file. Safe to call twice. */
void ig_ofile_abort(ig_ofile *o);

/* Writes len bytes to path (open + write + commit): atomically for a
 * regular file, in place for a device or FIFO. */
int ig_write_file_atomic(const char *path, const void *data, size_t len, ig_err *err);

/* The same without the fsync, for cache entries that are checked when read
 * (a crash may leave an empty or short entry, which is then rebuilt): an
 * fsync costs about 0.7 ms here, as much as a warm record's drains. */
int ig_write_cache_file(const char *path, const void *data, size_t len, ig_err *err);

/* Reads a whole file ("-" = stdin) into a malloc'd, NUL-terminated buffer.
 * Returns 0 or -1 with err set naming the file. */
int ig_read_file(const char *path, uint8_t **data, size_t *len, ig_err *err);
/* The same, failing (err set, nothing kept) once more than max bytes
 * have been read: for inputs that need not be regular files. */
int ig_read_file_max(const char *path, uint8_t **data, size_t *len, size_t max, ig_err *err);

/* Opens an input once, for reading: "-" and a path that names one of our
 * own descriptors (/dev/stdin, /dev/fd/N, /proc/self/fd/N) give a
 * duplicate of that descriptor, *own set (a pipe or socket is never
 * reopened by name: a socket cannot be, and a FIFO's bytes would be lost);
 * any other path is opened.  The descriptor is O_CLOEXEC; -1 with err
 * "path: reason". */
int ig_input_open(const char *path, int *own, ig_err *err);

/* True when data starts with the gzip magic bytes. */
int ig_is_gzip(const uint8_t *data, size_t len);

/* Inflates a gzip (or zlib) buffer; every member of a multi-member gzip
 * file.  Returns 0, or -1 with err set to the reason ("truncated gzip
 * stream", "corrupt gzip data", trailing garbage after the last member).
 * The output is capped at max_out bytes while inflating, so memory stays
 * under max_out whatever the input claims; it is NUL-terminated. */
int ig_gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, size_t max_out, ig_err *err);

/* How many inflated bytes ig_gunzip_checked's check sees first. */
#define IG_GUNZIP_HEAD ((size_t)64 << 10)

/* Looks at the first inflated bytes (at least IG_GUNZIP_HEAD of them,
 * NUL-terminated): 0 to go on, or -1 with err set.  Data that inflates to
 * less is never checked: the caller reads all of it anyway. */
typedef int (*ig_gunzip_check_fn)(const uint8_t *head, size_t len, void *ctx, ig_err *err);

/* ig_gunzip, stopping early when check refuses the first inflated bytes
 * (before the rest is inflated or the trailer's size reserved): a small
 * input claiming a huge output that cannot be what the caller reads costs
 * IG_GUNZIP_HEAD bytes, not max_out.  check's error is returned as is. */
int ig_gunzip_checked(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, size_t max_out,
                      ig_gunzip_check_fn check, void *ctx, ig_err *err);

/* Reads fd to its end into a malloc'd, NUL-terminated buffer, failing
 * (nothing kept) once more than max bytes arrive.  With check, the first
 * bytes (IG_GUNZIP_HEAD or a little more) are shown to it as soon as that
 * many are read, and its refusal ends the read with its error: an endless
 * stream that cannot be what the caller reads costs 64 KiB, not max.
 * Errors name no file ("read error: ...", "more than N bytes: too large to
 * read"): the caller prefixes its name. */
int ig_read_fd_max(int fd, uint8_t **data, size_t *len, size_t max, ig_gunzip_check_fn check, void *ctx,
                   ig_err *err);

/* Compresses into a gzip stream at the given level (1..9). */
int ig_gzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, int level, ig_err *err);

#endif
