/*
 * exporters/formats.h — every profile file format behind one registry.
 *
 * Readers turn bytes into an ignis_profile; writers turn a profile into
 * bytes in an ig_strbuf.  Errors are one line; text readers say the line
 * ("line 12: missing sample count"), and ig_profile_load() prefixes the
 * file name.  Commands only call ig_profile_load()/ig_profile_save(), so a
 * new format is one file plus one row in the table of formats.c.
 */
#ifndef IG_EXPORTERS_FORMATS_H
#define IG_EXPORTERS_FORMATS_H

#include "ignis/profile.h"
#include "profile/tree.h"
#include "utils/err.h"
#include "utils/fileio.h"
#include "utils/strbuf.h"

/* The most a compressed profile may inflate to (bytes); reading stops there. */
#define IG_PROFILE_MAX_SIZE ((size_t)1 << 30)

/* Options for writers that draw or filter (SVG, folded). */
typedef struct ig_write_opts {
    ig_tree_opts tree;               /* value index, reverse, focus/ignore/thread */
    const char *title;               /* SVG title; NULL = default */
    int width;                       /* SVG width in pixels; 0 = 1200 */
    double minwidth;                 /* hide frames narrower than this many pixels; <0 = default 0.1 */
    int inverted;                    /* icicle: root at the top */
    const ignis_profile *diff_base;  /* differential flame graph against this */
} ig_write_opts;

/* pprof: gzipped (or plain) profile.proto. */
int ig_pprof_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);
int ig_pprof_write(const ignis_profile *p, ig_strbuf *out, ig_err *err);

/* Folded stacks (FlameGraph): "root;...;leaf COUNT" lines. */
int ig_folded_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);
int ig_folded_write(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err);

/* `perf script` text output (read only). */
int ig_perfscript_read(const uint8_t *data, size_t len, ignis_profile **out, ig_err *err);

/* Interactive SVG flame graph (write only). */
int ig_svg_write(const ignis_profile *p, const ig_write_opts *o, ig_strbuf *out, ig_err *err);

/* Format name for a path by extension: "otlp" (.otlp.pb .otlp),
 * "otlp-json" (.otlp.json), "pprof" (.pb.gz .pb .pprof .prof), "folded"
 * (.folded .txt .collapsed), "svg" (.svg), "perf-script" (.perf .script
 * .perf-script); NULL when unknown. */
const char *ig_format_for_path(const char *path);

/* Fetches an http(s) URL's body (malloc'd) for ig_profile_load; 0 or -1
 * with a one-line error naming the URL. */
typedef int ig_profile_fetch_fn(const char *url, uint8_t **data, size_t *len, ig_err *err);

/* Registers the fetcher of URLs (the ignis command does, at start:
 * exporters/net_load.c); without one a URL is an error. */
void ig_profile_set_fetcher(ig_profile_fetch_fn *fn);

/* Whether path is an http:// or https:// URL. */
bool ig_is_url(const char *path);

/* Reads path ("-" = stdin; an http(s) URL through the fetcher), inflating
 * gzip first, as `format` (NULL: detect from the contents: every format
 * whose shape the bytes have is tried, pprof, OTLP profiles, OTLP/JSON,
 * perf-script, folded; the error names the formats tried and why each
 * failed). */
int ig_profile_load(const char *path, const char *format, ignis_profile **out, ig_err *err);

/* ig_profile_load reporting how far the reading is (bytes of the input,
 * where a reader counts them: the folded reader, chunk by chunk) on pr,
 * which may be NULL.  A reader finds it with ig_reading_progress(). */
int ig_profile_load_progress(const char *path, const char *format, ignis_profile **out, ig_progress *pr,
                             ig_err *err);
/* The progress of the load running on this thread, or NULL. */
ig_progress *ig_reading_progress(void);

/* What a reader that builds a big profile in steps (the folded reader,
 * chunk by chunk) shows between two steps: the profile of the first `done`
 * of `total` input bytes, complete for them and not changed while the call
 * runs (it runs on the reading thread).  The final profile is what
 * ig_profile_load returns, whatever was offered before. */
typedef void (*ig_partial_fn)(void *ctx, const ignis_profile *so_far, uint64_t done, uint64_t total);
/* ig_profile_load_progress offering partial profiles to fn (may be NULL). */
int ig_profile_load_partial(const char *path, const char *format, ignis_profile **out, ig_progress *pr,
                            ig_partial_fn fn, void *ctx, ig_err *err);
/* For readers: offers the profile read so far to the load's ig_partial_fn. */
void ig_reading_partial(const ignis_profile *so_far, uint64_t done, uint64_t total);

/* Drops the stack and sample lookup tables of a profile that is done
 * growing and fits its pools to their contents (about 50 MB on 1M stacks:
 * the viewer keeps a loaded profile read-only beside its call tree).
 * Adding to it afterwards rebuilds the tables.  (profile/profile.c) */
void ig_profile_compact(ignis_profile *p);

/* Encodes p into out in `format` (NULL: by path's extension, default
 * pprof); errors are prefixed with path.  o may be NULL. */
int ig_profile_encode(const ignis_profile *p, const char *path, const char *format, const ig_write_opts *o,
                      ig_strbuf *out, ig_err *err);

/* Writes p to path in `format` (NULL: by extension, default pprof) through
 * utils/fileio.c: a temporary file renamed on success (devices and FIFOs
 * in place, symlinks followed).  o may be NULL. */
int ig_profile_save(const ignis_profile *p, const char *path, const char *format,
                    const ig_write_opts *o, ig_err *err);

/* The same into an output already opened with ig_ofile_open(path) (so a
 * command can check its output before long work): encodes, writes and
 * commits, or aborts the output on failure. */
int ig_profile_save_to(const ignis_profile *p, ig_ofile *out, const char *path, const char *format,
                       const ig_write_opts *o, ig_err *err);

#endif
