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

/* One function symbol from .symtab/.dynsym; name points into libelf data
 * owned by the module's Elf. */
typedef struct ig_elfsym {
    uint64_t addr, size;
    const char *name;
    int rank; /* 0 global, 1 weak, 2 local: picks among aliases */
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

typedef struct ig_module {
    char *path;
    char build_id[41];  /* lowercase hex, "" when none */
    int fd, dbg_fd;
    Elf *elf;           /* the file itself (NULL for debug-only modules) */
    Elf *dbg_elf;       /* separate debug file, NULL when none */
    Dwarf *dwarf;       /* from whichever file carries .debug_info */
    ig_load *loads;
    size_t nloads;
    ig_elfsym *syms;
    size_t nsyms;
    ig_range *cu_ranges; /* sorted; built on first DWARF lookup */
    size_t ncu_ranges;
    ig_cuinfo *cus;
    size_t ncus;
    int dwarf_indexed;
    int usable;         /* 0: nothing can be named (missing/corrupt file) */
} ig_module;

/* Where separate debug files are searched (see ig_symtab_set_debug_dirs). */
typedef struct ig_debug_dirs {
    char **dirs;
    size_t n;
} ig_debug_dirs;

/* ---- module.c ------------------------------------------------------------ */

/* Opens path as a regular ELF file read on demand (no mmap); 0 or -1. */
int ig_elf_open(const char *path, int *fd, Elf **elf, struct stat *st);

/* Identity of an opened file for the module cache: "b:<build-id>", or
 * "f:dev:ino:mtime:size" when it has none. */
void ig_elf_identity(Elf *elf, const struct stat *st, char *buf, size_t len);

/* Builds module m from an opened file (fd, elf, st), taking them over, and
 * finds its debug info.  elf NULL (file missing, or replaced: its build-id
 * is not `bid`) gives a module that names nothing.  m->usable tells
 * whether anything can be named. */
void ig_module_init(ig_module *m, const char *path, int fd, Elf *elf, const struct stat *st, const char *bid,
                    const ig_debug_dirs *dd);
void ig_module_close(ig_module *m);

/* Reads the GNU build-id note of elf as lowercase hex; 0 or -1. */
int ig_elf_build_id_hex(Elf *elf, char *buf, size_t len);

/* file offset <-> ELF virtual address through PT_LOAD; 0 or -1. */
int ig_module_off_to_vaddr(const ig_module *m, uint64_t off, uint64_t *vaddr);
int ig_module_vaddr_to_off(const ig_module *m, uint64_t vaddr, uint64_t *off);

/* The ELF symbol covering vaddr, or NULL. */
const ig_elfsym *ig_module_elfsym(const ig_module *m, uint64_t vaddr);

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

/* ---- kernel.c ------------------------------------------------------------ */

typedef struct ig_ksym {
    uint64_t addr, size; /* size 0: up to the next symbol */
    const char *name;
} ig_ksym;

typedef struct ig_ksymtab {
    ig_ksym *syms;
    size_t n;
    char *text;          /* the file content, names point into it */
} ig_ksymtab;

typedef struct ig_perfmap {
    int pid;
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

/* Name of addr in the perf map at path, re-reading it when it changed. */
const char *ig_perfmap_find(ig_perfmap *pm, const char *path, uint64_t addr);

/* Symbol containing addr, or NULL. */
const char *ig_ksymtab_find(const ig_ksymtab *tab, uint64_t addr);

void ig_ksymtab_free(ig_ksymtab *tab);

#endif
