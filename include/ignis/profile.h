/*
 * ignis/profile.h — the one profile model of ignis.
 *
 * The profiler fills it, every reader and writer (pprof, folded stacks,
 * perf script, SVG) and the viewer share it.  It follows pprof's
 * profile.proto closely, with one difference: identical samples are merged
 * on insertion, so memory grows with the number of distinct
 * (stack, label set) pairs, never with the number of samples taken.
 *
 *   strings    interned; id 0 is always ""
 *   mappings   address ranges of loaded files (id 1..n; 0 = none)
 *   functions  name, system name, file, start line (id 1..n), deduplicated
 *   locations  an address in a mapping with one or more lines, inlined
 *              callees first and the physical caller last (id 1..n),
 *              deduplicated by content
 *   stacks     sequences of location ids, leaf first (id 1..n), interned
 *   label sets sets of labels (id 0 = the empty set), interned
 *   samples    (stack, label set) -> one int64 per value type, summed
 *
 * Element pointers returned by the accessors stay valid until the next call
 * that adds to the same table.  A profile is not thread-safe: one writer or
 * many readers at a time.
 */
#ifndef IGNIS_PROFILE_H
#define IGNIS_PROFILE_H

#include "ignis/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque profile handle. */
typedef struct ignis_profile ignis_profile;

/** What kind of code a location is in; kept by every format that can. */
typedef enum ignis_frame_kind {
    IGNIS_FRAME_USER = 0,   /**< ordinary user-space code */
    IGNIS_FRAME_KERNEL = 1, /**< kernel code (folded `_[k]`) */
    IGNIS_FRAME_JIT = 2,    /**< JIT-compiled code (folded `_[j]`) */
} ignis_frame_kind;

/** A (type, unit) pair such as ("cpu", "nanoseconds"); string ids. */
typedef struct ignis_value_type {
    uint32_t type;
    uint32_t unit;
} ignis_value_type;

/** A mapped file. */
typedef struct ignis_mapping {
    uint64_t start;     /**< first address */
    uint64_t limit;     /**< one past the last address */
    uint64_t offset;    /**< file offset of `start` */
    uint32_t filename;  /**< string id */
    uint32_t build_id;  /**< string id (hex build-id), 0 if unknown */
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} ignis_mapping;

/** A function; all names are string ids. */
typedef struct ignis_function {
    uint32_t name;        /**< human-readable (demangled) name */
    uint32_t system_name; /**< mangled / linker name */
    uint32_t filename;    /**< source file */
    int64_t start_line;
} ignis_function;

/** One line of a location: a function id and a source line. */
typedef struct ignis_line {
    uint32_t function; /**< function id, >= 1 */
    int64_t line;
    int64_t column;
} ignis_line;

/** A location: an address with its lines, inlined-first. */
typedef struct ignis_location {
    uint32_t mapping;       /**< mapping id or 0 */
    uint64_t address;
    const ignis_line *lines;
    uint32_t nlines;
    uint8_t kind;           /**< ignis_frame_kind */
    bool is_folded;
} ignis_location;

/** A label: key = string or key = number [unit]. */
typedef struct ignis_label {
    uint32_t key;      /**< string id */
    uint32_t str;      /**< string id, 0 for a numeric label */
    int64_t num;
    uint32_t num_unit; /**< string id or 0 */
} ignis_label;

/** A merged sample as returned by ignis_profile_sample(). */
typedef struct ignis_sample {
    uint32_t stack;         /**< stack id */
    uint32_t labels;        /**< label set id, 0 = none */
    const int64_t *values;  /**< ignis_profile_num_values() entries */
} ignis_sample;

/* ---- lifetime ---------------------------------------------------------- */

/** Creates an empty profile; NULL only when out of memory. */
IGNIS_API ignis_profile *ignis_profile_new(void);

/** Frees a profile and everything it owns; NULL is allowed. */
IGNIS_API void ignis_profile_free(ignis_profile *p);

/* ---- strings ----------------------------------------------------------- */

/** Interns `len` bytes of `s` (need not be NUL-terminated); returns its id. */
IGNIS_API uint32_t ignis_profile_intern_n(ignis_profile *p, const char *s, size_t len);

/** Interns a NUL-terminated string (NULL interns ""); returns its id. */
IGNIS_API uint32_t ignis_profile_intern(ignis_profile *p, const char *s);

/** Returns the string for an id, or "" for an unknown id. */
IGNIS_API const char *ignis_profile_string(const ignis_profile *p, uint32_t id);

/** Number of interned strings, including "" at id 0. */
IGNIS_API size_t ignis_profile_num_strings(const ignis_profile *p);

/* ---- value types and metadata ------------------------------------------ */

/**
 * Adds a sample value type ("samples"/"count", "cpu"/"nanoseconds", ...).
 * Must be called before the first sample; returns its index or -1.
 */
IGNIS_API int ignis_profile_add_value_type(ignis_profile *p, const char *type, const char *unit);

/** Number of value types (values per sample). */
IGNIS_API size_t ignis_profile_num_values(const ignis_profile *p);

/** The i-th value type. */
IGNIS_API ignis_value_type ignis_profile_value_type(const ignis_profile *p, size_t i);

/** Index of the value type named `type` (e.g. "cpu"), or -1. */
IGNIS_API int ignis_profile_find_value(const ignis_profile *p, const char *type);

/**
 * Index of the value a viewer should show by default: the
 * default_sample_type if set, else the last value type (pprof's rule).
 * -1 when there are no value types.
 */
IGNIS_API int ignis_profile_default_value(const ignis_profile *p);

/** Sets the period type and period (e.g. "cpu"/"nanoseconds", 10101010). */
IGNIS_API void ignis_profile_set_period(ignis_profile *p, const char *type, const char *unit, int64_t period);

/** The period type (string ids; 0/0 when unset) and the period. */
IGNIS_API ignis_value_type ignis_profile_period_type(const ignis_profile *p);
IGNIS_API int64_t ignis_profile_period(const ignis_profile *p);

/** Collection start time (ns since the epoch) and duration (ns). */
IGNIS_API void ignis_profile_set_time(ignis_profile *p, int64_t time_nanos, int64_t duration_nanos);
IGNIS_API int64_t ignis_profile_time_nanos(const ignis_profile *p);
IGNIS_API int64_t ignis_profile_duration_nanos(const ignis_profile *p);

/** Default sample type (string id of a value type's type, 0 = unset). */
IGNIS_API void ignis_profile_set_default_sample_type(ignis_profile *p, const char *type);
IGNIS_API uint32_t ignis_profile_default_sample_type(const ignis_profile *p);

/** Free-form comments carried with the profile. */
IGNIS_API void ignis_profile_add_comment(ignis_profile *p, const char *comment);
IGNIS_API size_t ignis_profile_num_comments(const ignis_profile *p);
IGNIS_API uint32_t ignis_profile_comment(const ignis_profile *p, size_t i);

/** pprof's drop_frames / keep_frames regular expressions (string ids). */
IGNIS_API void ignis_profile_set_drop_keep(ignis_profile *p, const char *drop, const char *keep);
IGNIS_API uint32_t ignis_profile_drop_frames(const ignis_profile *p);
IGNIS_API uint32_t ignis_profile_keep_frames(const ignis_profile *p);

/* ---- mappings, functions, locations ------------------------------------ */

/** Adds (or finds an identical) mapping; returns its id (>= 1). */
IGNIS_API uint32_t ignis_profile_add_mapping(ignis_profile *p, const ignis_mapping *m);

/** Number of mappings; valid ids are 1..n. */
IGNIS_API size_t ignis_profile_num_mappings(const ignis_profile *p);

/** The mapping with id `id`, or NULL. */
IGNIS_API const ignis_mapping *ignis_profile_mapping(const ignis_profile *p, uint32_t id);

/** Finds the mapping containing `addr` (the latest added wins), or 0. */
IGNIS_API uint32_t ignis_profile_mapping_for(const ignis_profile *p, uint64_t addr);

/** Adds (or finds an identical) function; returns its id (>= 1). */
IGNIS_API uint32_t ignis_profile_add_function(ignis_profile *p, const ignis_function *f);

/** Shorthand: function with this name (also its system name), file and line. */
IGNIS_API uint32_t ignis_profile_function_named(ignis_profile *p, const char *name,
                                                const char *file, int64_t start_line);

/** Number of functions; valid ids are 1..n. */
IGNIS_API size_t ignis_profile_num_functions(const ignis_profile *p);

/** The function with id `id`, or NULL. */
IGNIS_API const ignis_function *ignis_profile_function(const ignis_profile *p, uint32_t id);

/**
 * Adds (or finds an identical) location.  `loc->lines` is copied.  Lines
 * are inlined-first: lines[0] is the innermost inlined function, the last
 * line is the function the address physically belongs to.  Returns its id
 * (>= 1), or 0 if a function or mapping id is out of range.
 */
IGNIS_API uint32_t ignis_profile_add_location(ignis_profile *p, const ignis_location *loc);

/**
 * Shorthand for a location with a single line in function `function_id`,
 * of the given kind, without an address.
 */
IGNIS_API uint32_t ignis_profile_location_for_function(ignis_profile *p, uint32_t function_id,
                                                       ignis_frame_kind kind);

/** Number of locations; valid ids are 1..n. */
IGNIS_API size_t ignis_profile_num_locations(const ignis_profile *p);

/** The location with id `id`, or NULL. */
IGNIS_API const ignis_location *ignis_profile_location(const ignis_profile *p, uint32_t id);

/* ---- stacks, labels, samples ------------------------------------------- */

/** Interns a stack of `n` location ids, leaf first; returns its id (>= 1), 0 on a bad id. */
IGNIS_API uint32_t ignis_profile_add_stack(ignis_profile *p, const uint32_t *locations, size_t n);

/** Number of distinct stacks; valid ids are 1..n. */
IGNIS_API size_t ignis_profile_num_stacks(const ignis_profile *p);

/** The locations of a stack, leaf first; `*n` receives the depth. */
IGNIS_API const uint32_t *ignis_profile_stack(const ignis_profile *p, uint32_t id, size_t *n);

/** Interns a label set (order-insensitive); returns its id, 0 for an empty set. */
IGNIS_API uint32_t ignis_profile_add_labels(ignis_profile *p, const ignis_label *labels, size_t n);

/** The labels of a label set; `*n` receives the count. */
IGNIS_API const ignis_label *ignis_profile_labels(const ignis_profile *p, uint32_t id, size_t *n);

/** Finds the string value of label `key` in a label set, or NULL. */
IGNIS_API const char *ignis_profile_label_str(const ignis_profile *p, uint32_t labels, const char *key);

/** Finds the numeric value of label `key`; returns false when absent. */
IGNIS_API bool ignis_profile_label_num(const ignis_profile *p, uint32_t labels, const char *key, int64_t *out);

/**
 * Adds `values` (ignis_profile_num_values() of them) to the sample with
 * this stack and label set, creating it if new; sums saturate at
 * INT64_MIN/INT64_MAX rather than wrap.  Returns 0, or -1 for a bad stack
 * id or when there are no value types.
 */
IGNIS_API int ignis_profile_add_sample(ignis_profile *p, uint32_t stack, uint32_t labels, const int64_t *values);

/** Number of distinct (stack, label set) samples. */
IGNIS_API size_t ignis_profile_num_samples(const ignis_profile *p);

/** The i-th merged sample (0-based, in insertion order). */
IGNIS_API ignis_sample ignis_profile_sample(const ignis_profile *p, size_t i);

/** Sum of value `vi` over all samples (saturating, like the samples). */
IGNIS_API int64_t ignis_profile_total(const ignis_profile *p, size_t vi);

/* ---- naming ------------------------------------------------------------ */

/**
 * Writes a display name for line `li` of location `loc_id` into buf: the
 * function name, else "module+0xoffset" from the mapping, else "0xaddr".
 * Returns buf.
 */
IGNIS_API const char *ignis_profile_frame_name(const ignis_profile *p, uint32_t loc_id, uint32_t li,
                                               char *buf, size_t size);

/* ---- files ------------------------------------------------------------- */

/**
 * Reads a profile from `path` ("-" = standard input).  `format` is "pprof",
 * "folded", "perf-script" or NULL to detect it from the contents.  On
 * failure returns -1 and writes a one-line message naming the file (and the
 * line, for text formats) into err.
 */
IGNIS_API int ignis_profile_read_file(const char *path, const char *format, ignis_profile **out,
                                      char *err, size_t errlen);

/**
 * Writes a profile to `path` ("-" = standard output) in `format` ("pprof",
 * "folded", "svg", or NULL to choose by the file extension: .pb.gz/.pprof
 * -> pprof, .folded/.txt -> folded, .svg -> svg).  The file is written under
 * a temporary name and renamed, so a failure leaves nothing behind.
 * Returns 0, or -1 with a one-line message in err.
 */
IGNIS_API int ignis_profile_write_file(const ignis_profile *p, const char *path, const char *format,
                                       char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
