/*
 * profiler/unwind.c — unwinding sampled user stacks: a cached-CFI fast
 * path (libdw parses .eh_frame) with libunwind as the general engine.
 *
 * Design.  Measured on this machine, libunwind's remote unwinder costs
 * about 1.5 us per frame even with its register-state cache warm, almost
 * all of it two rt_sigprocmask system calls per step (its global cache is
 * guarded by a signal-masking lock; Debian's build has no per-thread
 * cache).  So the common case is handled first: the CFI row for an
 * address is computed once with libdw (dwarf_cfi_addrframe over the
 * module's .eh_frame), reduced to "CFA = reg + offset; each register same
 * / undefined / saved at CFA + n" and cached per process by address; a
 * step is then a hash lookup and a few loads from the stack copy.  Rows
 * that do not fit that shape (DWARF expressions, signal frames, code
 * without CFI) hand the current register state to libunwind, which
 * continues from there.  IGNIS_UNWINDER=libunwind turns the fast path off
 * (the benchmark compares both).
 *
 * libunwind drives the unwind and asks us for memory, registers
 * and unwind tables through unw_accessors_t:
 *   access_reg       the sampled user registers (read-only)
 *   access_mem       the stack copy when the address is inside it, else the
 *                    module bytes (procmap.c), else an error, which ends the
 *                    unwind cleanly ("stack pointer outside the copy");
 *                    addresses are the target's (a frame pointer of -8 asks
 *                    for 2^64 - 8), so bounds are checked on offsets
 *
 * An unwind is whole only when it reaches the thread's first frame (see
 * ig_unwind_end in unwind.h); the CFI rows cached here tell that too.
 *   find_proc_info   the module's .eh_frame_hdr search table, described as a
 *                    UNW_INFO_FORMAT_REMOTE_TABLE and searched by libunwind's
 *                    dwarf_search_unwind_table (as perf does)
 *   get_dyn_info_list_addr  no dynamic registration: -UNW_ENOINFO
 * Per-process address spaces keep libunwind's IP-keyed caches from mixing
 * up two processes with different layouts.  The cache is global and large
 * (UNW_CACHE_GLOBAL, 8192 entries) so a steady-state step is a cache hit.
 *
 * The stack memo (ig_unwind_repeated).  A thread that blocks again and
 * again at the same place (a read loop, a lock, a worker waiting for
 * work) gives switch-out samples that repeat: same registers, same words
 * in the stack copy where the unwind looks.  An unwind is a function of
 * what it depends on (and of the process's maps and modules, which
 * ig_unwinder_flush forgets with the memo), so its result is kept with
 * those inputs: the sampled registers it used (IP and SP always, those a
 * CFA was computed from while they still held their sampled value, all
 * those handed to libunwind), the copy's size (where reads fail), and
 * the words of the copy it depended on: each return address read, each
 * saved register that a CFA was later computed from or that libunwind
 * was handed, and every word libunwind read.  A later sample is looked
 * up by IP and SP and taken from the memo only if all of those compare
 * equal: a hit gives what unwinding would have, never an approximation.
 * Values the unwind never depends on (a loop counter in a register or a
 * stack slot, saved registers never used as a CFA base) do not spoil the
 * match.  A set of MEMO_WAYS slots per IP and SP keeps a call blocked on
 * from several callers (same PC, same SP, other return addresses) for
 * each of them; an unwind that depends on more than MEMO_MAX_WORDS words
 * is not kept.  IGNIS_UNWIND_CACHE=0 turns the memo off, =verify unwinds
 * every hit as well and counts a difference (tests).
 */
#include "profiler/unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/u64map.h"

#include "utils/mapguard.h"
#include "utils/strbuf.h"

extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                              unw_proc_info_t *pi, int need_unwind_info, void *arg);

/* A cached CFI row, reduced to what stepping needs: the CFA as register +
 * offset and, per DWARF register (16 = return address), how the caller's
 * value is found.  Its kind: RULE_STEP the fast path steps it; RULE_ROOT
 * the return address is undefined, the CFI's mark of the outermost frame
 * of a thread (glibc's _start, clone and clone3 carry it); RULE_SLOW CFI
 * of another shape, for libunwind; RULE_NONE no CFI covers the address,
 * libunwind can only guess (the frame-pointer chain). */
enum { RULE_STEP, RULE_ROOT, RULE_SLOW, RULE_NONE };
enum { REG_SAME, REG_UNDEF, REG_AT_CFA, REG_VAL_CFA };
#define NDWREG 17
typedef struct cfi_rule {
    uint8_t kind;
    uint8_t cfa_reg;
    uint8_t nsaved;          /* registers restored from (or computed off) the CFA */
    uint8_t saved_reg[16];
    uint8_t saved_how[16];   /* REG_AT_CFA or REG_VAL_CFA */
    int32_t saved_off[16];
    int32_t ra_off;          /* return address at CFA + ra_off */
    uint16_t undef_mask;     /* registers the caller's value is lost for */
    int64_t cfa_off;
} cfi_rule;

/* One remembered unwind (the stack memo, see the top of the file). */
#define MEMO_SETS 8          /* per process, found by IP and SP ... */
#define MEMO_WAYS 4          /* ... each of a few unwinds (one call blocked on from several callers) */
#define MEMO_SLOTS (MEMO_SETS * MEMO_WAYS)
#define MEMO_MAX_WORDS 64    /* unwinds that depend on more words of the copy are not kept */
typedef struct stack_memo {
    bool full;
    uint64_t regs[IG_PREG_COUNT];
    uint32_t regs_used;      /* the registers it depended on (always IP and SP) */
    uint64_t stack_size;     /* the copy's size (dyn_size): where reads fail */
    size_t nmaps;            /* the process's mappings then (a new one can extend an unwind) */
    int max;                 /* the frame limit asked for */
    ig_unwind_end end;
    int n;                   /* frames in ips */
    uint32_t nwords;         /* words of the copy it depended on: */
    uint32_t word_off[MEMO_MAX_WORDS]; /* ... their offsets in the copy */
    uint64_t word[MEMO_MAX_WORDS];     /* ... and values */
    uint64_t *ips;
    int cap_ips;
} stack_memo;

struct ig_unwinder {
    unw_addr_space_t as;
    ig_maps *maps;
    bool libunwind_only;  /* IGNIS_UNWINDER=libunwind (benchmarks) */
    bool no_memo;         /* IGNIS_UNWIND_CACHE=0 */
    bool memo_verify;     /* IGNIS_UNWIND_CACHE=verify: a hit is unwound too, and compared */
    stack_memo *memo;     /* MEMO_SLOTS, made at the first ig_unwind_repeated */
    unsigned memo_next;   /* the way to fill next (round robin) */
    ig_u64map rule_index; /* lookup pc -> index + 1 into rules */
    cfi_rule *rules;
    size_t nrules, cap_rules;
};

/* What the accessors see while one sample is unwound.  The stack copy
 * holds the `stack_size` bytes from the sampled SP (`stack_lo`) up; both
 * come from the target, so no bound is ever computed as stack_lo + size
 * (it wraps when the SP is near 2^64). */
typedef struct sample_ctx {
    ig_unwinder *u;
    const ig_perf_sample *s;
    const uint64_t *regs;      /* registers of the frame libunwind starts at */
    uint64_t stack_lo, stack_size;
    uint32_t regs_used;        /* sampled registers the unwind depended on (bit per IG_PREG_) */
    uint32_t nwords;           /* words of the copy it depended on (offsets) */
    uint32_t word_off[MEMO_MAX_WORDS];
    bool too_many_words;       /* more than MEMO_MAX_WORDS: not kept in the memo */
    bool bad_stack;
} sample_ctx;

/* The unwind depends on the word at offset off of the copy. */
static void depends_on_word(sample_ctx *c, uint64_t off)
{
    for (uint32_t i = 0; i < c->nwords; i++)
        if (c->word_off[i] == off)
            return;
    if (c->nwords == MEMO_MAX_WORDS)
        c->too_many_words = true;
    else
        c->word_off[c->nwords++] = (uint32_t)off;
}

/* The word at addr in the stack copy; false when any of its 8 bytes lies
 * outside.  addr is whatever a register or a stack slot said (a frame
 * pointer of -8 asks for 2^64 - 8, where `addr + 8` wraps to 0), so the
 * check is done on the offset, which cannot wrap.  *off: where it is. */
static bool stack_word_at(const sample_ctx *c, uint64_t addr, uint64_t *val, uint64_t *off)
{
    *off = addr - c->stack_lo;
    if (addr < c->stack_lo || c->stack_size < 8 || *off > c->stack_size - 8)
        return false;
    memcpy(val, c->s->stack + *off, 8);
    return true;
}

/* stack_word_at for a word the unwind depends on (the memo's key). */
static bool stack_word(sample_ctx *c, uint64_t addr, uint64_t *val)
{
    uint64_t off;
    if (!stack_word_at(c, addr, val, &off))
        return false;
    depends_on_word(c, off);
    return true;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg)
{
    sample_ctx *c = arg;
    ig_map *m = ig_maps_find(c->u->maps, ip);
    if (!m || !m->mod || !m->mod->has_table)
        return -UNW_ENOINFO;
    /* libunwind calls this (and reads the FDE and CFI through access_mem
     * after it) holding its cache lock, with every signal blocked: a page
     * of a file that shrank would be a SIGBUS the guard never sees.  The
     * lock's release restores the mask libunwind saved. */
    ig_mapguard_unblock();
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = m->start;
    di.end_ip = m->end;
    di.u.rti.segbase = m->bias + m->mod->eh_hdr_vaddr;
    di.u.rti.table_data = m->bias + m->mod->table_vaddr;
    di.u.rti.table_len = m->mod->fde_count * 8 / sizeof(unw_word_t);
    return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
    (void)as, (void)pi, (void)arg; /* libunwind frees table-format info itself */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
    (void)as, (void)addr, (void)arg;
    return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    sample_ctx *c = arg;
    if (write)
        return -UNW_EINVAL;
    uint64_t v;
    if (stack_word(c, addr, &v) || ig_maps_read_word(c->u->maps, addr, &v) == 0) {
        *val = v;
        return 0;
    }
    c->bad_stack = true;
    return -UNW_EINVAL;
}

/* libunwind register number -> index in the sample's register array */
static int reg_index(unw_regnum_t r)
{
    switch (r) {
    case UNW_X86_64_RAX: return IG_PREG_AX;
    case UNW_X86_64_RDX: return IG_PREG_DX;
    case UNW_X86_64_RCX: return IG_PREG_CX;
    case UNW_X86_64_RBX: return IG_PREG_BX;
    case UNW_X86_64_RSI: return IG_PREG_SI;
    case UNW_X86_64_RDI: return IG_PREG_DI;
    case UNW_X86_64_RBP: return IG_PREG_BP;
    case UNW_X86_64_RSP: return IG_PREG_SP;
    case UNW_X86_64_R8: return IG_PREG_R8;
    case UNW_X86_64_R9: return IG_PREG_R9;
    case UNW_X86_64_R10: return IG_PREG_R10;
    case UNW_X86_64_R11: return IG_PREG_R11;
    case UNW_X86_64_R12: return IG_PREG_R12;
    case UNW_X86_64_R13: return IG_PREG_R13;
    case UNW_X86_64_R14: return IG_PREG_R14;
    case UNW_X86_64_R15: return IG_PREG_R15;
    case UNW_X86_64_RIP: return IG_PREG_IP;
    default: return -1;
    }
}

static int access_reg(unw_addr_space_t as, unw_regnum_t r, unw_word_t *val, int write, void *arg)
{
    (void)as;
    sample_ctx *c = arg;
    int i = reg_index(r);
    if (write || i < 0)
        return -UNW_EBADREG;
    *val = c->regs[i];
    return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t r, unw_fpreg_t *val, int write, void *arg)
{
    (void)as, (void)r, (void)val, (void)write, (void)arg;
    return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg)
{
    (void)as, (void)cu, (void)arg;
    return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off, void *arg)
{
    (void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
    return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
    .find_proc_info = find_proc_info,
    .put_unwind_info = put_unwind_info,
    .get_dyn_info_list_addr = get_dyn_info_list_addr,
    .access_mem = access_mem,
    .access_reg = access_reg,
    .access_fpreg = access_fpreg,
    .resume = resume,
    .get_proc_name = get_proc_name,
};


/* ---- cached CFI fast path ------------------------------------------------ */

/* DWARF register number -> index in the sample's register array. */
static const int8_t dw_to_preg[16] = {
    IG_PREG_AX, IG_PREG_DX, IG_PREG_CX, IG_PREG_BX, IG_PREG_SI, IG_PREG_DI, IG_PREG_BP, IG_PREG_SP,
    IG_PREG_R8, IG_PREG_R9, IG_PREG_R10, IG_PREG_R11, IG_PREG_R12, IG_PREG_R13, IG_PREG_R14, IG_PREG_R15,
};

static Dwarf_CFI *module_cfi(ig_module *m)
{
    if (!m->cfi_tried) {
        m->cfi_tried = true;
        elf_version(EV_CURRENT);
        m->elf = elf_memory((char *)m->bytes, m->size);
        if (m->elf)
            m->cfi = dwarf_getcfi_elf(m->elf);
    }
    return m->cfi;
}

/* Decodes a register rule "CFA + n" (location or value); false otherwise. */
static bool decode_cfa_offset(const Dwarf_Op *ops, size_t nops, uint8_t *how, int32_t *off)
{
    if (nops == 0 || ops[0].atom != DW_OP_call_frame_cfa)
        return false;
    int64_t n = 0;
    size_t i = 1;
    if (i < nops && ops[i].atom == DW_OP_plus_uconst) {
        n = (int64_t)ops[i].number;
        i++;
    } else if (i + 1 < nops && ops[i].atom == DW_OP_consts && ops[i + 1].atom == DW_OP_plus) {
        n = (int64_t)ops[i].number;
        i += 2;
    }
    *how = REG_AT_CFA;
    if (i < nops && ops[i].atom == DW_OP_stack_value) {
        *how = REG_VAL_CFA;
        i++;
    }
    if (i != nops || n < INT32_MIN || n > INT32_MAX)
        return false;
    *off = (int32_t)n;
    return true;
}

static bool decode_frame(Dwarf_Frame *fr, cfi_rule *rule)
{
    bool signal = false;
    if (dwarf_frame_info(fr, NULL, NULL, &signal) != 16 || signal)
        return false;
    Dwarf_Op *ops, mem[3];
    size_t nops;
    if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops != 1)
        return false;
    if (ops[0].atom == DW_OP_bregx) {
        if (ops[0].number >= 16)
            return false;
        rule->cfa_reg = (uint8_t)ops[0].number;
        rule->cfa_off = (int64_t)ops[0].number2;
    } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg15) {
        rule->cfa_reg = (uint8_t)(ops[0].atom - DW_OP_breg0);
        rule->cfa_off = (int64_t)ops[0].number;
    } else {
        return false;
    }
    for (int r = 0; r < NDWREG; r++) {
        if (r == 7)
            continue; /* the caller's stack pointer is the CFA */
        uint8_t how;
        int32_t off = 0;
        if (dwarf_frame_register(fr, r, mem, &ops, &nops) != 0)
            return false;
        if (nops == 0)
            how = ops ? REG_UNDEF : REG_SAME;
        else if (!decode_cfa_offset(ops, nops, &how, &off))
            return false;
        if (r == 16) {
            if (how == REG_UNDEF)
                rule->kind = RULE_ROOT; /* the outermost frame (_start, clone) */
            else if (how != REG_AT_CFA)
                return false;
            rule->ra_off = off;
        } else if (how == REG_UNDEF) {
            rule->undef_mask |= (uint16_t)(1u << r);
        } else if (how != REG_SAME) {
            rule->saved_reg[rule->nsaved] = (uint8_t)r;
            rule->saved_how[rule->nsaved] = how;
            rule->saved_off[rule->nsaved++] = off;
        }
    }
    return true;
}

/* True when the row marks the return address undefined. */
static bool ra_undefined(Dwarf_Frame *fr)
{
    Dwarf_Op mem[3], *ops;
    size_t nops;
    return dwarf_frame_register(fr, 16, mem, &ops, &nops) == 0 && nops == 0 && ops != NULL;
}

/* The cached rule for code at `pc` (already pc - 1 for return addresses). */
static const cfi_rule *rule_for(ig_unwinder *u, uint64_t pc)
{
    uint64_t idx;
    if (ig_u64map_get(&u->rule_index, pc, &idx))
        return &u->rules[idx - 1];
    cfi_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.kind = RULE_NONE;
    ig_map *m = ig_maps_find(u->maps, pc);
    Dwarf_CFI *cfi = m && m->mod ? module_cfi(m->mod) : NULL;
    Dwarf_Frame *fr = NULL;
    if (cfi && dwarf_cfi_addrframe(cfi, pc - m->bias, &fr) == 0) {
        rule.kind = RULE_STEP;
        if (!decode_frame(fr, &rule))
            rule.kind = ra_undefined(fr) ? RULE_ROOT : RULE_SLOW;
    }
    free(fr);
    if (u->nrules == u->cap_rules) {
        u->cap_rules = u->cap_rules ? u->cap_rules * 2 : 256;
        u->rules = ig_xrealloc(u->rules, u->cap_rules * sizeof *u->rules);
    }
    u->rules[u->nrules++] = rule;
    ig_u64map_put(&u->rule_index, pc, u->nrules);
    return &u->rules[u->nrules - 1];
}

typedef struct fast_state {
    uint64_t reg[16];
    uint16_t valid;      /* bit per DWARF register */
    uint16_t sampled;    /* ... still holding the sampled value */
    uint16_t loaded;     /* ... restored from the copy, at offset from[r] */
    uint32_t from[16];
    uint64_t pc;
} fast_state;

/* The unwind depends on DWARF register r's value now (a CFA is computed
 * from it, or libunwind is handed it): on the sampled register or on the
 * stack word it was restored from. */
static void depends_on_reg(sample_ctx *c, const fast_state *st, int r)
{
    if (st->sampled & (1u << r))
        c->regs_used |= 1u << dw_to_preg[r];
    else if (st->loaded & (1u << r))
        depends_on_word(c, st->from[r]);
}

/* One step with a cached rule; returns an ig_unwind_end-like verdict:
 * 1 stepped, 0 root, -1 bad stack, -2 needs libunwind. */
static int fast_step(sample_ctx *c, const cfi_rule *rule, fast_state *st)
{
    if (rule->kind == RULE_ROOT)
        return 0;
    if (rule->kind != RULE_STEP || !(st->valid & (1u << rule->cfa_reg)))
        return -2;
    depends_on_reg(c, st, rule->cfa_reg);
    uint64_t cfa = st->reg[rule->cfa_reg] + (uint64_t)rule->cfa_off, ra;
    if (!stack_word(c, cfa + (uint64_t)(int64_t)rule->ra_off, &ra))
        return -1;
    uint16_t valid = st->valid & (uint16_t)~rule->undef_mask;
    st->sampled &= (uint16_t)~(rule->undef_mask | 1u << 7);
    st->loaded &= (uint16_t)~(rule->undef_mask | 1u << 7);
    for (int i = 0; i < rule->nsaved; i++) {
        int r = rule->saved_reg[i];
        st->sampled &= (uint16_t)~(1u << r);
        st->loaded &= (uint16_t)~(1u << r);
        uint64_t at = cfa + (uint64_t)(int64_t)rule->saved_off[i], off;
        if (rule->saved_how[i] == REG_VAL_CFA) { /* from the CFA: depends on what it does */
            st->reg[r] = at;
            valid |= (uint16_t)(1u << r);
        } else if (stack_word_at(c, at, &st->reg[r], &off)) { /* a dependency once used */
            valid |= (uint16_t)(1u << r);
            st->loaded |= (uint16_t)(1u << r);
            st->from[r] = (uint32_t)off;
        } else {
            valid &= (uint16_t)~(1u << r);
        }
    }
    st->reg[7] = cfa;
    st->valid = valid | (1u << 7);
    st->pc = ra;
    return 1;
}

static void state_to_regs(const fast_state *st, uint64_t *regs)
{
    memset(regs, 0, IG_PREG_COUNT * sizeof *regs);
    for (int r = 0; r < 16; r++)
        regs[dw_to_preg[r]] = (st->valid & (1u << r)) ? st->reg[r] : 0;
    regs[IG_PREG_IP] = st->pc;
}

static void memo_forget(ig_unwinder *u, bool release)
{
    for (int i = 0; u->memo && i < MEMO_SLOTS; i++) {
        u->memo[i].full = false;
        if (release) {
            free(u->memo[i].ips);
        }
    }
    if (release) {
        free(u->memo);
        u->memo = NULL;
    }
}

ig_unwinder *ig_unwinder_new(ig_maps *maps)
{
    ig_unwinder *u = ig_xcalloc(1, sizeof *u);
    u->maps = maps;
    u->as = unw_create_addr_space(&accessors, 0);
    if (!u->as) {
        free(u);
        return NULL;
    }
    unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
    unw_set_cache_size(u->as, 8192, 0);
    const char *mode = getenv("IGNIS_UNWINDER");
    u->libunwind_only = mode && !strcmp(mode, "libunwind");
    const char *memo = getenv("IGNIS_UNWIND_CACHE");
    u->no_memo = memo && !strcmp(memo, "0");
    u->memo_verify = memo && !strcmp(memo, "verify");
    return u;
}

void ig_unwinder_free(ig_unwinder *u)
{
    if (!u)
        return;
    unw_destroy_addr_space(u->as);
    memo_forget(u, true);
    ig_u64map_clear(&u->rule_index);
    free(u->rules);
    free(u);
}

void ig_unwinder_flush(ig_unwinder *u)
{
    memo_forget(u, false);
    unw_flush_cache(u->as, 0, 0);
    ig_u64map_clear(&u->rule_index);
    u->nrules = 0;
}

/* Whether libunwind's "no caller" for the frame at pc is the end of the
 * thread's stack rather than a guess that failed.  It is when the frame's
 * CFI says so (the return address undefined, or computed as 0), or when a
 * frame without CFI, reached by unwinding (not the sampled frame, whose
 * registers may hold anything), has a zero frame pointer: the frame-chain
 * convention of thread entries in code without CFI (musl's _start, Go).
 * A stop because memory outside the stack copy was needed never is. */
static bool libunwind_reached_root(sample_ctx *c, uint64_t pc, bool sampled, uint64_t fp)
{
    if (c->bad_stack)
        return false;
    if (rule_for(c->u, sampled ? pc : pc - 1)->kind != RULE_NONE)
        return true;
    return !sampled && fp == 0;
}

/* Continues with libunwind from the registers in `regs` (whose IP is
 * already ips[n-1]). */
static int unwind_libunwind(sample_ctx *c, const uint64_t *regs, uint64_t *ips, int n, int max,
                            ig_unwind_end *end)
{
    unw_cursor_t cur;
    c->regs = regs;
    if (unw_init_remote(&cur, c->u->as, c) < 0) {
        *end = IG_UNWIND_NO_INFO;
        return n;
    }
    uint64_t last_sp = regs[IG_PREG_SP];
    for (;;) {
        unw_word_t fp = 1;
        bool sampled = n == 1;
        unw_get_reg(&cur, UNW_X86_64_RBP, &fp);
        c->bad_stack = false;
        int r = unw_step(&cur);
        if (r == 0) {
            *end = libunwind_reached_root(c, ips[n - 1], sampled, fp) ? IG_UNWIND_ROOT
                   : c->bad_stack                                       ? IG_UNWIND_BAD_STACK
                                                                        : IG_UNWIND_NO_INFO;
            return n;
        }
        if (r < 0) {
            *end = c->bad_stack ? IG_UNWIND_BAD_STACK : IG_UNWIND_NO_INFO;
            return n;
        }
        if (n == max) {
            *end = IG_UNWIND_TOO_DEEP;
            return n;
        }
        unw_word_t ip = 0, sp = 0;
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        unw_get_reg(&cur, UNW_REG_SP, &sp);
        if (ip == 0) { /* some roots end with a zero return address */
            *end = libunwind_reached_root(c, ips[n - 1], sampled, 0) ? IG_UNWIND_ROOT : IG_UNWIND_NO_INFO;
            return n;
        }
        if (!ig_maps_find(c->u->maps, ip)) { /* not code: a guess gone wrong */
            *end = IG_UNWIND_NO_INFO;
            return n;
        }
        if (sp < last_sp) { /* the stack grows down: a loop or garbage */
            *end = IG_UNWIND_BAD_STACK;
            return n;
        }
        last_sp = sp;
        ips[n++] = ip;
    }
}

/* Unwinds the sample of c (registers present, max > 0). */
static int unwind_sample(sample_ctx *c, uint64_t *ips, int max, ig_unwind_end *end)
{
    ig_unwinder *u = c->u;
    const ig_perf_sample *s = c->s;
    int n = 0;
    ips[n++] = s->regs[IG_PREG_IP];
    c->regs_used = 1u << IG_PREG_IP | 1u << IG_PREG_SP; /* where it starts; SP places the copy */
    if (u->libunwind_only) {
        c->regs_used = (1u << IG_PREG_COUNT) - 1; /* libunwind may read any */
        return unwind_libunwind(c, s->regs, ips, n, max, end);
    }
    fast_state st = {.valid = 0xffff, .sampled = 0xffff, .pc = s->regs[IG_PREG_IP]};
    for (int r = 0; r < 16; r++)
        st.reg[r] = s->regs[dw_to_preg[r]];
    for (;;) {
        uint64_t last_sp = st.reg[7];
        int rc = fast_step(c, rule_for(u, n == 1 ? st.pc : st.pc - 1), &st);
        if (rc == 0 || (rc == 1 && st.pc == 0)) {
            *end = IG_UNWIND_ROOT;
            return n;
        }
        if (rc == -1) {
            *end = IG_UNWIND_BAD_STACK;
            return n;
        }
        if (rc == -2) {
            uint64_t regs[IG_PREG_COUNT];
            for (int r = 0; r < 16; r++) /* libunwind may read any register it is handed */
                if (st.valid & (1u << r))
                    depends_on_reg(c, &st, r);
            state_to_regs(&st, regs);
            return unwind_libunwind(c, regs, ips, n, max, end);
        }
        if (n == max) {
            *end = IG_UNWIND_TOO_DEEP;
            return n;
        }
        if (!ig_maps_find(u->maps, st.pc) || st.reg[7] < last_sp) {
            *end = IG_UNWIND_NO_INFO;
            return n;
        }
        ips[n++] = st.pc;
    }
}

static sample_ctx sample_context(ig_unwinder *u, const ig_perf_sample *s)
{
    return (sample_ctx){.u = u, .s = s, .regs = s->regs, .stack_lo = s->regs[IG_PREG_SP],
                        .stack_size = s->stack ? s->stack_size : 0};
}

int ig_unwind(ig_unwinder *u, const ig_perf_sample *s, uint64_t *ips, int max, ig_unwind_end *end)
{
    if (s->regs_abi == PERF_SAMPLE_REGS_ABI_NONE || max <= 0) {
        *end = IG_UNWIND_NO_REGS;
        return 0;
    }
    sample_ctx c = sample_context(u, s);
    return unwind_sample(&c, ips, max, end);
}

/* ---- the stack memo ------------------------------------------------------- */

/* The first slot of a sample's set: by where it stands (IP, SP), the
 * registers every unwind depends on. */
static stack_memo *memo_set(ig_unwinder *u, const uint64_t *regs)
{
    uint64_t h = (regs[IG_PREG_IP] ^ (regs[IG_PREG_SP] * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return &u->memo[(size_t)(h >> 32) % MEMO_SETS * MEMO_WAYS];
}

/* The memo's words against the copy (whose size is the memo's: each is in it). */
static bool same_words(const stack_memo *m, const uint8_t *stack)
{
    for (uint32_t i = 0; i < m->nwords; i++) {
        uint64_t v;
        memcpy(&v, stack + m->word_off[i], 8);
        if (v != m->word[i])
            return false;
    }
    return true;
}

static bool same_regs(const uint64_t *a, const uint64_t *b, uint32_t mask)
{
    for (int i = 0; i < IG_PREG_COUNT; i++)
        if ((mask & (1u << i)) && a[i] != b[i])
            return false;
    return true;
}

/* True when m's unwind is the one sample c would give: same registers,
 * copy size, mappings and frame limit, and the same bytes where it read. */
static bool memo_matches(const stack_memo *m, const sample_ctx *c, int max)
{
    return m->full && m->max == max && m->stack_size == c->stack_size && m->nmaps == c->u->maps->n &&
           same_regs(m->regs, c->s->regs, m->regs_used) && same_words(m, c->s->stack);
}

static void memo_keep(stack_memo *m, const sample_ctx *c, int max, const uint64_t *ips, int n, ig_unwind_end end)
{
    if (n > m->cap_ips) {
        free(m->ips);
        m->cap_ips = n < 16 ? 16 : n;
        m->ips = ig_xmalloc((size_t)m->cap_ips * sizeof *m->ips);
    }
    memcpy(m->regs, c->s->regs, sizeof m->regs);
    m->regs_used = c->regs_used;
    m->stack_size = c->stack_size;
    m->nmaps = c->u->maps->n;
    m->max = max;
    m->end = end;
    m->n = n;
    m->nwords = c->nwords;
    for (uint32_t i = 0; i < c->nwords; i++) {
        m->word_off[i] = c->word_off[i];
        memcpy(&m->word[i], c->s->stack + c->word_off[i], 8);
    }
    if (n)
        memcpy(m->ips, ips, (size_t)n * sizeof *ips);
    m->full = true;
}

int ig_unwind_repeated(ig_unwinder *u, const ig_perf_sample *s, uint64_t *ips, int max, ig_unwind_end *end,
                       ig_unwind_from *from)
{
    *from = IG_UNWIND_FRESH;
    if (u->no_memo || s->regs_abi == PERF_SAMPLE_REGS_ABI_NONE || max <= 0)
        return ig_unwind(u, s, ips, max, end);
    if (!u->memo)
        u->memo = ig_xcalloc(MEMO_SLOTS, sizeof *u->memo);
    sample_ctx c = sample_context(u, s);
    stack_memo *set = memo_set(u, s->regs), *m = NULL;
    for (int w = 0; w < MEMO_WAYS && !m; w++)
        if (memo_matches(&set[w], &c, max))
            m = &set[w];
    if (m) {
        if (u->memo_verify) { /* the memo's answer against a fresh unwind, which is returned */
            int n = unwind_sample(&c, ips, max, end);
            bool same = n == m->n && *end == m->end && !memcmp(ips, m->ips, (size_t)n * sizeof *ips);
            *from = same ? IG_UNWIND_FROM_MEMO : IG_UNWIND_MEMO_DIFFERS;
            return n;
        }
        memcpy(ips, m->ips, (size_t)m->n * sizeof *ips);
        *end = m->end;
        *from = IG_UNWIND_FROM_MEMO;
        return m->n;
    }
    int n = unwind_sample(&c, ips, max, end);
    if (!c.too_many_words)
        memo_keep(&set[u->memo_next++ % MEMO_WAYS], &c, max, ips, n, *end);
    return n;
}
