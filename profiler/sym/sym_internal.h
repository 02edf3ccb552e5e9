/*
 * profiler/sym/sym_internal.h — the pieces of the symbolizer shared by its
 * files (not part of the engine contract; see profiler/symbols.h).
 *
 *   symbols.c  ig_symtab, the path / module / (module, offset) caches,
 *              string interning, demangling, the lookup entry point.
 *   module.c   opening one ELF file: program headers, build-id, the ELF
 *              symbol table, locating separate debug info.
 *   dwarf.c    per-module DWARF index (CU ranges, then functions per CU,
 *              built lazily) and the inline chain of an address.
 *   kernel.c   /proc/kallsyms and /tmp/perf-PID.map.
 *   cache.c    the persistent cache: decompressed debug files per
 *              build-id, kallsyms per boot.
 */
#ifndef IG_PROFILER_SYM_INTERNAL_H
#define IG_PROFILER_SYM_INTERNAL_H

#include "profiler/symbols.h"
#include "utils/hash.h"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* One PT_LOAD: file offsets [off, off+filesz) hold vaddrs [vaddr, ...). */
typedef struct ig_load {
    uint64_t off, filesz, vaddr;
} ig_load;

/* One function symbol from .symtab/.dynsym, or a label (an STT_NOTYPE
 * symbol in code, like ld.so's _start); name points into libelf data
 * owned by the module's Elf.  A symbol without a size (labels, assembly
 * without .size) gets one when the table is sorted: up to the next symbol,
 * at most to the end of its section (`limit`), as perf does. */
typedef struct ig_elfsym {
    uint64_t addr, size;
    uint64_t limit; /* end of its section (vaddr) */
    const char *name;
    uint8_t rank;   /* 0 global, 1 weak, 2 local: picks among aliases */
    uint8_t label;  /* STT_NOTYPE: loses to a typed alias */
} ig_elfsym;

/* An address interval [lo, hi) belonging to a CU or a function DIE. */
typedef struct ig_range {
    uint64_t lo, hi;
    uint64_t ref; /* CU index (CU table) or DIE offset (function table) */
} ig_range;

typedef struct ig_cuinfo {
    Dwarf_Off die_off;  /* offset of the CU DIE */
    ig_range *funcs;    /* sorted function ranges, built on first use */
    size_t nfuncs;
    int indexed;
} ig_cuinfo;

typedef struct ig_symcache ig_symcache;

/* A frames cache entry (framecache.c) read in place. */
typedef struct ig_fc_view {
    const uint8_t *ents;   /* nents x 16 bytes */
    uint32_t nents;
    const uint8_t *frames; /* nframes x 32 bytes */
    uint32_t nframes;
    const char *strs;
    uint64_t strings_len;
    uint32_t debug_kind;
} ig_fc_view;

typedef struct ig_debug_dirs ig_debug_dirs;

typedef struct ig_module {
    char *path;
    char build_id[41];  /* lowercase hex, "" when none */
    int fd, dbg_fd, cache_fd;
    dev_t dev;          /* of the file itself */
    ino_t ino;
    Elf *elf;           /* the file itself (NULL for debug-only modules) */
    Elf *dbg_elf;       /* separate debug file, NULL when none */
    Elf *cache_elf;     /* decompressed copy from the cache, NULL when none */
    Dwarf *dwarf;       /* from whichever file carries .debug_info */
    Elf *dwarf_elf;     /* carries DWARF not opened yet (ig_module_dwarf) */
    const ig_debug_dirs *dd; /* where ig_module_load looked, for a deferred failure */
    ig_load *loads;
    size_t nloads;
    ig_elfsym *syms;
    size_t nsyms;
    ig_range *cu_ranges; /* sorted; built on first DWARF lookup */
    size_t ncu_ranges;
    ig_cuinfo *cus;
    size_t ncus;
    ig_cuinfo *acus;    /* CUs found through .debug_aranges (before cus exists) */
    size_t nacus;
    int dwarf_indexed;
    ig_symcache *cache; /* the symtab's persistent cache, NULL when off */
    int loaded;         /* debug info and symbols looked for (ig_module_load) */
    int fc_state;       /* frames cache: 0 not looked at, 1 usable, 2 none */
    const uint8_t *fc_map; /* the mapped .frames entry */
    size_t fc_len;
    ig_fc_view fc;
    uint32_t *fc_new;   /* results (symbols.c ids) to add to it */
    size_t nfc_new, cap_fc_new;
    void *image;        /* an ELF image from memory (the vDSO): our copy, which elf reads */
    int syms_pending;   /* the ELF symbol table is read on its first use */
    int usable;         /* 0: nothing can be named (missing/corrupt file) */
} ig_module;

/* Where separate debug files are searched (see ig_symtab_set_debug_dirs). */
struct ig_debug_dirs {
    char **dirs;
    size_t n;
};

/* ---- module.c ------------------------------------------------------------ */

/* Opens path as a regular ELF file read on demand (no mmap); 0 or -1. */
int ig_elf_open(const char *path, int *fd, Elf **elf, struct stat *st);

/* Identity of an opened file for the module cache: "b:<build-id>", or
 * "f:dev:ino:mtime:size" when it has none. */
void ig_elf_identity(Elf *elf, const struct stat *st, char *buf, size_t len);

/* Builds module m from an opened file (fd, elf, st), taking them over:
 * build-id and program headers only, nothing else is read.  elf NULL (file
 * missing, or replaced: its build-id is not `bid`) gives a module that
 * names nothing.  ig_module_load then finds the debug info (through the
 * cache when not NULL) and the symbol table, once, when the first address
 * needs a name; after it m->usable tells whether anything can be named. */
void ig_module_init(ig_module *m, const char *path, int fd, Elf *elf, const struct stat *st, const char *bid);
void ig_module_load(ig_module *m, const ig_debug_dirs *dd, ig_symcache *cache);
void ig_module_close(ig_module *m);

/* The module's DWARF, or NULL.  DWARF that needs no inflating (from the
 * persistent cache, or uncompressed in the file or its debug file) is
 * opened on the first address that needs it: a record whose addresses the
 * frames cache all answers never reads it (libc's took 0.5-1.3 ms to open
 * here, and libdw reads a file's whole debug sections when it opens it).
 * Should libdw then refuse that file, the module looks further, as the
 * eager search would have. */
Dwarf *ig_module_dwarf(ig_module *m);

/* What the frames of a module are made from, as kept with the frames
 * cache: bit 0 DWARF, bit 1 a separate or cached debug file, bits 8-15
 * the revision of the symbol-table naming rules (module.c). */
unsigned ig_module_debug_kind(const ig_module *m);

/* Reads the GNU build-id note of elf as lowercase hex; 0 or -1. */
int ig_elf_build_id_hex(Elf *elf, char *buf, size_t len);

/* file offset <-> ELF virtual address through PT_LOAD; 0 or -1. */
int ig_module_off_to_vaddr(const ig_module *m, uint64_t off, uint64_t *vaddr);
int ig_module_vaddr_to_off(const ig_module *m, uint64_t vaddr, uint64_t *off);

/* The ELF symbol covering vaddr, or NULL. */
const ig_elfsym *ig_module_elfsym(ig_module *m, uint64_t vaddr);

/* libdw's Dwarf of elf when it has at least one unit and its string
 * sections are terminated (libdw would read past them), else NULL. */
Dwarf *ig_dwarf_open(Elf *elf);

/* True when some .debug_* section of elf is SHF_COMPRESSED. */
int ig_elf_has_compressed_debug(Elf *elf);

/* ---- cache.c ------------------------------------------------------------- */

/* Every cache entry starts with an 8-byte magic and a 32-bit version.
 * Copies the entry's header (hdr_size bytes) out of data and checks both:
 * NULL, or why the entry is refused. */
const char *ig_symcache_header(const uint8_t *data, size_t len, void *hdr, size_t hdr_size, const char *magic,
                               uint32_t version);

/* The cache at dir (created on first write); NULL when dir is NULL. */
ig_symcache *ig_symcache_new(const char *dir);
void ig_symcache_free(ig_symcache *c);

/* Opens the cached decompressed debug file of build-id bid (mapped,
 * validated); 0, or -1 when there is none or it is corrupt (then it is
 * removed with a one-line warning). */
int ig_symcache_debug_open(ig_symcache *c, const char *bid, int *fd, Elf **elf);
/* Ends an Elf that ig_symcache_debug_open/_store returned (its mapping is
 * guarded against the file shrinking, utils/mapguard.h). */
void ig_symcache_elf_end(Elf *e);

/* Writes a copy of the ELF file open at src_fd with its compressed
 * sections decompressed as the entry of bid, atomically, then opens it
 * like ig_symcache_debug_open.  0 or -1 (cache off or unwritable). */
int ig_symcache_debug_store(ig_symcache *c, const char *bid, int src_fd, int *fd, Elf **elf);

/* Small whole-file entries c->dir/sub/name: read (0 or -1 when absent),
 * written atomically (0, or -1 and writing turned off with a warning),
 * removed (with a one-line warning naming why, unless why is NULL). */
int ig_symcache_read(ig_symcache *c, const char *sub, const char *name, uint8_t **data, size_t *len);
int ig_symcache_write(ig_symcache *c, const char *sub, const char *name, const void *data, size_t len);
void ig_symcache_remove(ig_symcache *c, const char *sub, const char *name, const char *why);
void ig_symcache_warn(const char *path, const char *why);

/* Maps c->dir/sub/name read-only (entries are replaced by rename, never
 * truncated in place); NULL when absent or empty. */
const uint8_t *ig_symcache_map(ig_symcache *c, const char *sub, const char *name, size_t *len);
/* Unmaps what ig_symcache_map returned (NULL is ignored). */
void ig_symcache_unmap(const uint8_t *p, size_t len);

/* Checks an opened cache entry: an ELF carrying build-id bid, no
 * compressed section, every section inside the file.  NULL when valid,
 * else the reason. */
const char *ig_symcache_debug_check(Elf *elf, size_t file_size, const char *bid);

/* ---- framecache.c -------------------------------------------------------- */

#define IG_FC_MAX_INLINE 32

/* Checks header and sizes of a .frames entry and sets v up over data
 * (which must outlive it).  NULL, or the reason it was refused. */
const char *ig_framecache_view(ig_fc_view *v, const uint8_t *data, size_t len);

/* The frames of offset: first frame index and count; 0, or -1 when the
 * entry has no such offset.  *corrupt is set when the entry found is
 * inconsistent (drop the whole cache entry). */
int ig_framecache_find(const ig_fc_view *v, uint64_t offset, uint32_t *first, uint32_t *n, int *corrupt);

/* Frame i with its strings pointing into the view; 0, or -1 when corrupt. */
int ig_framecache_frame(const ig_fc_view *v, uint32_t i, ig_symframe *out);

typedef struct ig_fc_entry {
    uint64_t offset;
    const ig_symframe *frames; /* n frames; strings interned (one pointer per string) */
    uint32_t n;
} ig_fc_entry;

/* Serializes entries (sorted here; the first of equal offsets wins);
 * malloc'd, NULL when too big. */
uint8_t *ig_framecache_encode(ig_fc_entry *ents, size_t n, uint32_t debug_kind, size_t *len);
size_t ig_framecache_max_entries(void);

/* ---- dwarf.c ------------------------------------------------------------- */

/* One frame as found in DWARF, before interning. */
typedef struct ig_rawframe {
    const char *name;     /* DW_AT_name (integrated) */
    const char *linkage;  /* DW_AT_linkage_name (integrated) */
    const char *file;
    int line, column;
    uint64_t start_vaddr; /* physical function only, else 0 */
} ig_rawframe;

/* Fills frames inlined-first for vaddr; returns the count (0 when DWARF
 * does not cover the address). */
int ig_dwarf_frames(ig_module *m, uint64_t vaddr, ig_rawframe *out, int max);

void ig_dwarf_index_free(ig_module *m);

/* The CU table cache entry (format in dwarf.c): parsed into malloc'd
 * tables when it is valid for a .debug_info of info_size bytes, else the
 * reason it was refused (nothing allocated). */
const char *ig_cuindex_parse(const uint8_t *data, size_t len, uint64_t info_size, ig_cuinfo **cus, size_t *ncus,
                             ig_range **ranges, size_t *nranges);
uint8_t *ig_cuindex_encode(const ig_module *m, uint64_t info_size, size_t *len);

/* ---- kernel.c ------------------------------------------------------------ */

typedef struct ig_ksym {
    uint64_t addr, size; /* size 0: up to the next symbol */
    const char *name;
} ig_ksym;

typedef struct ig_ksymtab {
    ig_ksym *syms;
    size_t n;
    char *text;          /* the file content, names point into it */
    uint64_t core_lo, core_hi; /* kallsyms: first and last core-kernel symbol */
} ig_ksymtab;

/* What a cached kallsyms table is valid for. */
typedef struct ig_ksymkey {
    char boot_id[40];      /* /proc/sys/kernel/random/boot_id */
    uint64_t modules_hash; /* name, size and address of every module */
} ig_ksymkey;

/* A kallsyms cache entry (format in kernel.c) read in place. */
typedef struct ig_ksymview {
    const uint8_t *ents;   /* count entries of 16 bytes */
    uint32_t count;
    const char *strs;
    uint64_t strings_len;
    uint64_t core_lo, core_hi;
    ig_ksymkey key;
} ig_ksymview;

/* Checks the header and sizes of a cache entry and sets v up over data
 * (which must outlive it).  NULL, or the reason it was refused. */
const char *ig_ksymcache_view(ig_ksymview *v, const uint8_t *data, size_t len);

/* Name of addr in the view, or NULL; *corrupt is set when the entries
 * used turn out inconsistent (the entry must then be dropped). */
const char *ig_ksymview_find(const ig_ksymview *v, uint64_t addr, int *corrupt);

/* Serializes tab (core_lo/hi included) with key; malloc'd, NULL when too big. */
uint8_t *ig_ksymcache_encode(const ig_ksymtab *tab, const ig_ksymkey *key, size_t *len);

/* Kernel symbols as the symbolizer uses them: loaded on the first kernel
 * address, from the cache when it is valid for this boot and these
 * modules, else from kallsyms (then written to the cache). */
typedef struct ig_kernsyms {
    ig_ksymtab tab;        /* source 1 */
    int source;            /* 0 not loaded, 1 kallsyms file, 2 cache */
    const uint8_t *map;    /* source 2: the mapped cache entry */
    size_t map_len;
    ig_ksymview view;
    uint64_t *cover;       /* cache: [lo, hi) pairs the view may answer */
    size_t ncover;
    ig_ksymkey key;        /* this boot's, when the cache is used */
    char entry[64];        /* its file name, "" when the cache is not used */
} ig_kernsyms;

/* Name of a kernel address.  path NULL means /proc/kallsyms (and allows
 * the cache); a given path is read as is, never cached. */
const char *ig_kernsyms_find(ig_kernsyms *k, const char *path, ig_symcache *cache, uint64_t addr);
void ig_kernsyms_free(ig_kernsyms *k);

typedef struct ig_perfmap {
    int pid;
    int fd;              /* the file held open (read even once unlinked), or -1 */
    int loaded;
    off_t size;
    struct timespec mtime;
    ino_t ino;
    uint64_t checked_ns; /* last stat, CLOCK_MONOTONIC */
    ig_ksymtab tab;
} ig_perfmap;

/* Parses /proc/kallsyms text (taken over by tab); text symbols only.
 * All-zero addresses (kptr_restrict) give an empty table. */
void ig_kallsyms_parse(ig_ksymtab *tab, char *text, size_t len);

/* Parses perf-PID.map text ("START SIZE name", hex); later lines win. */
void ig_perfmap_parse(ig_ksymtab *tab, char *text, size_t len);

/* Reads and parses a kallsyms file; leaves tab empty when unreadable. */
void ig_kallsyms_load(ig_ksymtab *tab, const char *path);

/* Name of addr in the perf map at path, re-reading it when it changed.
 * The file is held open (pm->fd): once the path is gone, the held file is
 * still read; a new file at the path replaces it. */
const char *ig_perfmap_find(ig_perfmap *pm, const char *path, uint64_t addr);

/* Opens path into pm->fd when nothing is held yet; 0 when held. */
int ig_perfmap_hold(ig_perfmap *pm, const char *path);

/* Closes the held file and frees the table. */
void ig_perfmap_free(ig_perfmap *pm);

/* Symbol containing addr, or NULL. */
const char *ig_ksymtab_find(const ig_ksymtab *tab, uint64_t addr);

void ig_ksymtab_free(ig_ksymtab *tab);

#endif
