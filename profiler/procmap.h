/*
 * profiler/procmap.h — the code mappings of target processes and the ELF
 * files behind them, as the unwinder and the symbolizer need them.
 *
 * An ig_module is one ELF file (keyed by device + inode), mapped read-only
 * into our address space once and shared by every process that maps it;
 * its program headers and .eh_frame_hdr table are parsed once.  An ig_map
 * is one executable mapping of one process; it knows its module and the
 * load bias (runtime address = bias + ELF virtual address).  A process's
 * maps come from /proc/PID/maps at attach time and from PERF_RECORD_MMAP2
 * records later (dlopen, exec).
 */
#ifndef IG_PROFILER_PROCMAP_H
#define IG_PROFILER_PROCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ig_load {
    uint64_t vaddr, memsz, offset, filesz;
} ig_load;

typedef struct ig_module {
    char *name;           /* path as the target sees it, or "[vdso]" */
    char *open_path;      /* path we opened (/proc/PID/root/..., map_files) */
    uint64_t dev, ino;
    const uint8_t *bytes; /* the whole file, read-only; NULL if unusable */
    size_t size;
    bool own_bytes;       /* bytes is our mmap (not the vdso) */
    ig_load *loads;
    int nloads;
    uint64_t lo, hi;      /* extent of the PT_LOAD segments (vaddr) */
    bool has_table;       /* usable .eh_frame_hdr binary search table */
    uint64_t eh_hdr_vaddr, table_vaddr, fde_count;
    char build_id[41];    /* hex or "" */
    bool build_id_known;
    void *elf;            /* Elf * over bytes, for libdw's CFI (lazy) */
    void *cfi;            /* Dwarf_CFI * of .eh_frame, NULL if none */
    bool cfi_tried;
} ig_module;

typedef struct ig_modcache {
    ig_module **mods;
    size_t n, cap;
} ig_modcache;

typedef struct ig_map {
    uint64_t start, end, pgoff;
    ig_module *mod;       /* NULL: anonymous / unreadable */
    uint64_t bias;
    char *name;           /* as in /proc/PID/maps ("" for anonymous) */
    uint32_t prof_mapping;/* mapping id in the current profile ... */
    uint32_t prof_gen;    /* ... valid when equal to the recorder's generation */
} ig_map;

typedef struct ig_maps {
    ig_map *v;            /* executable mappings sorted by start */
    size_t n, cap;
    size_t hint;          /* last hit */
} ig_maps;

void ig_modcache_free(ig_modcache *mc);

/* Finds or opens the module of a mapping of process `pid`.  `name` is the
 * path as the target sees it; dev/ino as in /proc/PID/maps (0 when
 * unknown).  Returns NULL for files that cannot be opened or parsed (the
 * frames then show module+0xoffset). */
ig_module *ig_module_get(ig_modcache *mc, pid_t pid, const char *name, uint64_t start, uint64_t end,
                         uint64_t dev, uint64_t ino);

/* Reads /proc/PID/maps into `maps` (replacing it).  Returns 0, or -1 with
 * `maps` untouched when the file cannot be read or has no executable
 * mapping (the process exited). */
int ig_maps_load(ig_maps *maps, ig_modcache *mc, pid_t pid);

/* Adds one executable mapping, replacing any overlapped ones. */
void ig_maps_add(ig_maps *maps, ig_modcache *mc, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
                 const char *name, uint64_t dev, uint64_t ino);

void ig_maps_clear(ig_maps *maps);
void ig_maps_copy(ig_maps *dst, const ig_maps *src);

/* The mapping containing addr, or NULL. */
ig_map *ig_maps_find(ig_maps *maps, uint64_t addr);

/* Reads 8 bytes of module data at runtime address addr (any PT_LOAD
 * segment's file bytes of a module mapped near addr).  Returns 0 or -1. */
int ig_maps_read_word(ig_maps *maps, uint64_t addr, uint64_t *val);

/* The ELF virtual-address-space extent (runtime) of a mapping's module. */
static inline bool ig_map_module_contains(const ig_map *m, uint64_t addr)
{
    return m->mod && addr - m->bias >= m->mod->lo && addr - m->bias < m->mod->hi; /* no wrapping sums */
}

#endif
