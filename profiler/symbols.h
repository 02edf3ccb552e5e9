/*
 * profiler/symbols.h — turning code addresses into function names and
 * source lines (elfutils libdw), cached per file / build-id.
 *
 * Contract between the sampling engine (profiler/record*.c, unwind*.c),
 * which knows processes and their mappings, and the symbolizer, which only
 * knows ELF files.  The engine hands over a file (as the target sees it,
 * already prefixed with /proc/PID/root when needed), its build-id if known,
 * and the FILE OFFSET of the address (runtime address - mapping start +
 * mapping page offset); the symbolizer maps offsets to ELF addresses through
 * the program headers itself.  Results are cached per (module, offset); a
 * module is opened once per build-id (or path+inode when it has none).
 */
#ifndef IG_PROFILER_SYMBOLS_H
#define IG_PROFILER_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ig_symtab ig_symtab;

/* One frame of a symbolized address, inlined-first order.  Strings are
 * owned by the ig_symtab and live as long as it does. */
typedef struct ig_symframe {
    const char *func;    /* demangled name; NULL when unknown */
    const char *sysname; /* linker (mangled) name; NULL when unknown */
    const char *file;    /* source file; NULL when unknown */
    int line;            /* 0 when unknown */
    int column;
    uint64_t func_start; /* file offset of the function start, 0 unknown */
} ig_symframe;

ig_symtab *ig_symtab_new(void);
void ig_symtab_free(ig_symtab *st);

/* Symbolizes the code at `offset` in the file `path`.  build_id_hex may
 * be NULL.  Fills up to `max` frames inlined-first (the innermost inlined
 * function first, the physical function last) and returns how many, 0 when
 * the address cannot be named (the caller then shows module+0xoffset).
 * Never fails hard: a missing, stripped, replaced or corrupt file gives 0. */
int ig_symtab_lookup(ig_symtab *st, const char *path, const char *build_id_hex,
                     uint64_t offset, ig_symframe *out, int max);

/* The same for an ELF image that exists only in memory: the vDSO, read
 * from the target.  `name` labels it ("[vdso]"); the image is copied on
 * first use (it need not outlive the call) and known from then on by its
 * build-id (build_id_hex, when given, finds it without a copy), else by a
 * hash of its bytes.  Offsets are file offsets of the image, as above. */
int ig_symtab_lookup_image(ig_symtab *st, const char *name, const char *build_id_hex, const void *image,
                           size_t size, uint64_t offset, ig_symframe *out, int max);

/* Reads the GNU build-id of a file as lowercase hex into buf (>= 41 bytes).
 * Returns 0 or -1. */
int ig_symtab_build_id(ig_symtab *st, const char *path, char *buf, size_t len);

/* ---- behaviour in detail, and extensions (compatible with the above) ----
 *
 * Threading: an ig_symtab belongs to one thread (the engine's sampling
 * thread); it holds no locks.
 *
 * Cost: a (module, offset) seen before is two hash probes and a copy
 * (~60-100 ns); a new one costs the DWARF walk (microseconds), a new file
 * its opening and indexing (milliseconds; more for big compressed debug
 * files).  ig_symtab_build_id goes through the same module cache, so
 * asking for the build-id and then symbolizing opens the file once.
 *
 * Build-ids: pass build_id_hex (lowercase) whenever known.  Once a module
 * with that build-id is known, any path with that build-id is answered
 * from it, even if the file is gone.  If the file at `path` carries
 * another build-id (replaced under a running mapping) and the right one
 * was never seen, lookups give 0 rather than wrong names; the mapped
 * inode itself stays readable as /proc/PID/map_files/START-END, which the
 * engine may pass as `path`.  Without a build-id the file at `path` is
 * trusted as first opened (never re-stat'ed per sample).
 *
 * Frames: at most 32 per address (inline depth).  func is the demangled
 * DWARF linkage name when there is one (templates include their return
 * type: "long ns::scale<long>(long, int)"), else DW_AT_name, else the ELF
 * symbol; func_start is set for the physical function only (0 for
 * inlined frames).  Offsets of non-leaf frames should be return address
 * - 1 so the call, not the line after it, is named. */

/* Colon-separated global debug directories searched for
 * .build-id/xx/yyyy.debug and debuglink files (default "/usr/lib/debug";
 * "" disables).  Affects modules opened afterwards. */
void ig_symtab_set_debug_dirs(ig_symtab *st, const char *dirs);

/* Overrides /proc/kallsyms (before the first ig_symtab_kernel call) and
 * the directory of perf-PID.map files (default "/tmp"). */
void ig_symtab_set_kallsyms_path(ig_symtab *st, const char *path);
void ig_symtab_set_perfmap_dir(ig_symtab *st, const char *dir);

/* Persistent cache (profiler/sym/cache.c): per build-id the decompressed
 * separate debug file, the DWARF CU table and the frames of every address
 * named (written back by ig_symtab_free), and the kallsyms table per boot,
 * kept in `dir` between runs so repeated records skip their fixed cost.
 * NULL (the default) turns it off.  Affects modules opened afterwards. */
void ig_symtab_set_cache_dir(ig_symtab *st, const char *dir);

/* The default cache directory: $IGNIS_CACHE_DIR, else
 * $XDG_CACHE_HOME/ignis, else $HOME/.cache/ignis.  0, or -1 when none can
 * be named. */
int ig_symtab_default_cache_dir(char *buf, size_t len);

/* Counters for tests and the bench. */
typedef struct ig_symtab_stats {
    uint64_t lookups;        /* ig_symtab_lookup calls */
    uint64_t cache_hits;     /* answered from the (module, offset) cache */
    uint64_t modules;        /* distinct modules (files) opened */
    uint64_t debug_files;    /* separate debug files found */
    uint64_t cached_debug_files; /* ... of them opened from the cache */
    uint64_t persisted_hits; /* addresses answered from an earlier run's frames */
    uint64_t dwarf_opened;   /* modules whose DWARF was opened (cached DWARF: on first need) */
    int kallsyms_source;     /* 0 not loaded, 1 /proc/kallsyms, 2 the cache */
} ig_symtab_stats;
void ig_symtab_get_stats(const ig_symtab *st, ig_symtab_stats *out);

/* Kernel addresses via /proc/kallsyms (loaded once).  Returns the symbol
 * name or NULL. */
const char *ig_symtab_kernel(ig_symtab *st, uint64_t addr);

/* JIT code via /tmp/perf-PID.map (reloaded when it changes).  Returns the
 * symbol name or NULL. */
const char *ig_symtab_perfmap(ig_symtab *st, int pid, uint64_t addr);

/* Opens pid's perf map now, if it exists, and keeps it open, so that it
 * can still be read after the process deleted it (JIT runtimes often
 * unlink it at exit, before the recorder drains that process's samples).
 * At most IG_PERFMAP_HELD files are held.  0 when held, -1 otherwise. */
#define IG_PERFMAP_HELD 256
int ig_symtab_perfmap_hold(ig_symtab *st, int pid);

/* The folder perf maps are read from ("/tmp" unless set). */
const char *ig_symtab_perfmap_dir(const ig_symtab *st);

#endif
