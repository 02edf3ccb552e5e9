/*
 * profile/source.h — per-line costs of functions beside their source
 * (pprof's `list`): what `ignis report --list REGEX` prints and the
 * viewer's source view shows.
 *
 * One pass over the samples a tree's filters keep (ig_tree_opts, through
 * ig_tree_keep_samples) charges every frame whose function name matches a
 * regex to its (function, file, line): flat when the frame is the sample's
 * leaf, cum once per sample per line (a recursive function is counted
 * once).  Functions are grouped by name and source file.  Each one's
 * listing holds its lines with costs plus `context` lines around them (and
 * the function's first line when known), with longer stretches without
 * cost left out as gaps; the text comes from the source file when it can
 * be found, read with bounds (regular files up to 64 MiB, lines cut at
 * 4 KiB).  Nothing here draws or prints.
 */
#ifndef IG_PROFILE_SOURCE_H
#define IG_PROFILE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "ignis/profile.h"
#include "profile/tree.h"
#include "utils/err.h"

typedef struct ig_source_opts {
    const ig_tree_opts *tree; /* value, filters and progress (NULL: default value, no
                                 filter); reverse, min_total and granularity are ignored */
    int context;              /* lines shown around lines with a cost; < 0: 3 */
    const char *search_path;  /* ':'-separated directories where relative or moved
                                 files are looked for (pprof -source_path): DIR/FILE,
                                 then DIR/ + FILE without its leading directories
                                 one by one; NULL: FILE as recorded only */
} ig_source_opts;

/* One listed line.  line 0 marks a gap: lines without cost left out. */
typedef struct ig_source_line {
    int64_t line;
    int64_t flat, cum;
    const char *text; /* the line without its newline, as the file has it (not
                         escaped); NULL when the file was not read or is shorter */
} ig_source_line;

typedef struct ig_source_fn {
    const char *name;        /* function name */
    const char *file;        /* source file as the profile records it ("" unknown) */
    const char *path;        /* the file that was read; NULL when none */
    const char *why;         /* when path is NULL: why ("no source file recorded", "cannot open ...") */
    int64_t flat, cum;       /* the function's totals (cum once per sample) */
    int64_t nolines_flat, nolines_cum; /* of frames without a line number */
    const ig_source_line *lines;
    size_t nlines;
} ig_source_fn;

typedef struct ig_source ig_source;

/* Lists the functions of p whose name matches regex (POSIX extended; a
 * leading "(?i)" ignores case), sorted by cum, then flat, then name.  No
 * match gives an empty listing, not an error.  Returns NULL with err set
 * for a bad regex ("--list: invalid regular expression ..."), bad options
 * or cancellation. */
ig_source *ig_source_list(const ignis_profile *p, const char *regex, const ig_source_opts *o, ig_err *err);
void ig_source_free(ig_source *s);

size_t ig_source_count(const ig_source *s);
const ig_source_fn *ig_source_at(const ig_source *s, size_t i);
/* Total of the samples the filters kept, and of all samples (percent bases). */
int64_t ig_source_total(const ig_source *s);
int64_t ig_source_profile_total(const ig_source *s);
/* What percentages are of (utils/percent.h): the whole profile, or with
 * relative what the filters kept. */
int64_t ig_source_pct_total(const ig_source *s, int relative);
const char *ig_source_value_type(const ig_source *s);
const char *ig_source_value_unit(const ig_source *s);

#endif
