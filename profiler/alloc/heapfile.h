/*
 * profiler/alloc/heapfile.h — a process's sampled heap, kept in a file
 * while it runs.
 *
 * Under `ignis record --alloc -- CMD` every process of the command (every
 * image: a fork child and an exec'd program get files of their own) keeps
 * the records of its heap table (heaptab.h) in a file DIR/heap.PID.N.tab
 * mapped MAP_SHARED, next to a log of the code modules it has mapped.
 * ignis reads the files after the command ended, however each process
 * ended — exit, _exit, a signal, SIGKILL, exec — or while it still runs
 * (-d): nothing has to be dumped at exit.
 *
 * Layout (host byte order; both sides come from one build):
 *   [0, 4096)        header: magic, version, record size and depth, pid,
 *                    interval, sampled allocations, the table's shared
 *                    counters (ig_heaptab_shared), region offsets, and how
 *                    much of the module log is committed
 *   module log       [mods_off, mods_off + mods_cap): entries appended
 *                    under a lock and committed by mods_len (release)
 *   records          [recs_off, recs_off + rec_cap * sizeof(ig_heaprec))
 * Space is reserved (posix_fallocate) before it is written — the header
 * and first pages at creation, then the log and the records as they grow
 * — so a full file system drops and counts records instead of faulting
 * the process with SIGBUS; the rest of the file is a hole.
 *
 * The writer side runs inside the preload shim: creation and copying the
 * module log use only system calls (safe in a forked child of a threaded
 * process); noting modules calls dl_iterate_phdr.  The reader side treats
 * the file as hostile: every offset, count and length is checked against
 * the file's size, and memory is bounded by the records actually read.
 */
#ifndef IG_ALLOC_HEAPFILE_H
#define IG_ALLOC_HEAPFILE_H

#include <stdint.h>

#include "ignis/profile.h"
#include "profiler/alloc/heaptab.h"
#include "utils/err.h"

/* ---- the format ----------------------------------------------------------- */

#define IG_HEAPFILE_MAGIC "IGHEAPF1"
#define IG_HEAPFILE_VERSION 1u
#define IG_HEAPFILE_HDR 4096u              /* header bytes */
#define IG_HEAPFILE_MODS_CAP (1u << 20)    /* module log bytes */
#define IG_HEAPFILE_MAX_BID 64u            /* build-id bytes */
#define IG_HEAPFILE_MAX_RECS (1u << 24)    /* readers refuse more */

typedef struct ig_heapfile_header {
    char magic[8];               /* IG_HEAPFILE_MAGIC, written last */
    uint32_t version, hdr_size;  /* IG_HEAPFILE_VERSION, IG_HEAPFILE_HDR */
    uint32_t rec_size, max_depth; /* sizeof(ig_heaprec), IG_HEAP_MAX_DEPTH */
    int32_t pid;
    uint32_t flags;
    int64_t interval;            /* mean bytes between samples */
    uint64_t samples;            /* sampled allocations */
    ig_heaptab_shared tab;       /* records in use, drops */
    uint64_t mods_off, mods_cap, mods_len; /* mods_len: committed bytes */
    uint64_t recs_off, rec_cap;
    /* the writer's own state, ignored by readers */
    int mods_lock;
    uint32_t dl_gen_valid;
    uint64_t dl_gen;             /* the loader's adds/subs when last logged */
    uint64_t mods_reserved;      /* log bytes reserved */
    uint32_t recs_reserved;      /* records reserved */
    uint32_t path_len;
    char path[2048];             /* the file, reopened to reserve space */
} ig_heapfile_header;

/* One module log entry, followed by bid_len bytes of GNU build-id and
 * name_len bytes of path (no NUL), padded to `size`, a multiple of 8. */
typedef struct ig_heapfile_module {
    uint32_t size;
    uint16_t name_len;
    uint8_t bid_len;
    uint8_t pad;
    uint64_t start, limit, offset; /* an executable segment: address range, file offset */
} ig_heapfile_module;

typedef struct ig_heapfile ig_heapfile;

/* ---- writer (the preload shim) ------------------------------------------ */

/* Creates DIR/heap.PID.N.tab (the first free N) for max_records records
 * (ig_heaptab_capacity of it) and maps it.  NULL with errno set on failure.
 * Async-signal-safe: system calls only, no allocation. */
ig_heapfile *ig_heapfile_create(const char *dir, int64_t interval, uint32_t max_records);

/* The store to pass to ig_heaptab_new_with for this file's records. */
void ig_heapfile_store(ig_heapfile *f, ig_heaptab_store *store);

/* Appends the executable mappings of the loaded objects not logged yet;
 * cheap (one dl_iterate_phdr step) when the loader's object list did not
 * change since the last call.  Not in a forked child before exec. */
void ig_heapfile_note_modules(ig_heapfile *f);

/* Copies src's module log into dst (a fork child's new file): the child
 * has the parent's mappings.  Async-signal-safe. */
void ig_heapfile_copy_modules(ig_heapfile *dst, const ig_heapfile *src);

/* Counts one sampled allocation; sets the sampling interval. */
void ig_heapfile_count_sample(ig_heapfile *f);
void ig_heapfile_set_interval(ig_heapfile *f, int64_t interval);

/* Unmaps the file (a fork child drops its parent's this way; the file and
 * its contents stay).  Async-signal-safe. */
void ig_heapfile_close(ig_heapfile *f);

/* ---- reader (ignis record) ------------------------------------------------ */

typedef struct ig_heapfile_info {
    int pid;          /* the process (from the header) */
    uint64_t samples; /* sampled allocations it made */
    uint64_t dropped; /* samples or live entries its tables had no room for */
    uint64_t skipped; /* records left out: their values would overflow totals */
} ig_heapfile_info;

/* Reads a table file into a heap profile (heapprof.h value types) with
 * the process's mappings and one location per return address, as the
 * shim's own dumps have them (collect.c symbolizes both), and fills info.
 * NULL with a one-line reason naming `name` when the file is not a valid
 * table (or a process was still creating it). */
ignis_profile *ig_heapfile_read(int fd, const char *name, ig_heapfile_info *info, ig_err *err);

#endif
