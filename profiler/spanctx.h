/*
 * profiler/spanctx.h — reads the span each thread of another process is in,
 * as published by libignis (or any OpenTelemetry SDK) per OTEP 4719
 * (process context, the OTEL_CTX mapping) and OTEP 4947 (thread context,
 * the TLS pointer otel_thread_ctx_v1 to a Thread-Local Context Record).
 *
 * Everything is read with process_vm_readv and treated as hostile: every
 * size is bounded, every address checked before use, nothing the target
 * writes can make the reader loop or allocate without bound.
 *
 * Two ways to a thread's record:
 *   - ig_spanctx_read(tid): libignis's thread directory (the process context
 *     names its address) maps thread ids to their records, resolved once per
 *     thread; then one process_vm_readv per call.  Works from any process,
 *     for any thread, without stopping it (perf samples carry no thread
 *     pointer, so this is the recorder's way).
 *   - ig_spanctx_read_tp(tp): the spec's way, for any SDK: the thread
 *     pointer (fs_base: from a BPF program, ptrace, or the thread itself)
 *     plus the variable's TP offset (ig_spanctx_tls_offset, from the ELF
 *     relocations of the module defining otel_thread_ctx_v1), then the
 *     pointer, then the record.
 *
 * The spec expects readers to read a stopped (or interrupted) thread; a
 * reader that does not may see a record mid-update.  libignis clears
 * `valid` first and counts updates (`seq`), so two reads that agree on
 * seq and ids prove the thread stayed in that span between them; see
 * docs/ARCHITECTURE.md ("span context publishing") for how the recorder
 * uses this.
 */
#ifndef IG_PROFILER_SPANCTX_H
#define IG_PROFILER_SPANCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "utils/err.h"

/* OTEP 4947 Thread-Local Context Record, by byte offset (host endianness). */
enum {
    IG_OTEL_REC_TRACE_ID = 0,   /* uint8[16] */
    IG_OTEL_REC_SPAN_ID = 16,   /* uint8[8] */
    IG_OTEL_REC_VALID = 24,     /* uint8: 1 = valid */
    IG_OTEL_REC_FLAGS = 25,     /* uint8: W3C trace flags */
    IG_OTEL_REC_ATTRS_SIZE = 26,/* uint16 */
    IG_OTEL_REC_ATTRS = 28,     /* {uint8 key, uint8 len, len bytes}... */
    IG_OTEL_REC_MAX = 640,      /* the eBPF profiler's (and the spec's) record size bound */
};

/* What a thread is in. */
typedef struct ig_spanlabel {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;
    uint32_t seq;        /* libignis's update count (ig_spanctx_read only) */
    size_t name_len;     /* 0: no span_name attribute */
    char name[256];      /* NUL-terminated, as published (UTF-8 bytes) */
} ig_spanlabel;

typedef struct ig_spanctx ig_spanctx;

/* Finds and decodes the process context of `pid` (OTEP 4719 reading
 * protocol: maps, signature, version, timestamp, payload, header re-read).
 * -1 with a one-line reason when the process publishes none (no libignis,
 * publishing off) or it cannot be read (permissions, a bad header). */
int ig_spanctx_open(pid_t pid, ig_spanctx **out, ig_err *err);
/* Whether a module mapped in `pid` defines the OTEP 4947 TLS symbol
 * (otel_thread_ctx_v1): it links libignis, or another SDK that publishes,
 * whether or not it publishes yet.  Reads /proc/PID/maps and the
 * modules' dynamic symbols. */
bool ig_spanctx_defines_tls(pid_t pid);
void ig_spanctx_free(ig_spanctx *c);

/* The process context's resource attributes, values rendered as text
 * (strings as they are, numbers in decimal, arrays as [a,b]).  Keys and
 * values are kept whole: a string may hold U+0000, so each comes with its
 * length (and a NUL after it, for text that holds none).  A key matches
 * only on all its bytes. */
typedef struct ig_spanctx_attr {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} ig_spanctx_attr;
/* The value of `key` (its length in *len if len is not NULL); NULL if absent. */
const char *ig_spanctx_resource(const ig_spanctx *c, const char *key, size_t *len);
size_t ig_spanctx_resource_count(const ig_spanctx *c);
bool ig_spanctx_resource_at(const ig_spanctx *c, size_t i, ig_spanctx_attr *out);
/* The index of "span_name" in threadlocal.attribute_key_map, -1 if absent
 * (the name_key of ig_spanctx_decode_record). */
int ig_spanctx_name_key(const ig_spanctx *c);
/* threadlocal.schema_version, or NULL. */
const char *ig_spanctx_schema(const ig_spanctx *c);

/* The span thread `tid` is in: 1 (out filled), 0 (no span current), -1
 * (cannot tell: not a thread that published, exited, or unreadable). */
int ig_spanctx_read(ig_spanctx *c, pid_t tid, ig_spanlabel *out);

/* The thread-pointer offset of otel_thread_ctx_v1 (static TLS: the
 * executable's or a library loaded at start; TLSDESC, initial-exec or
 * local-exec).  -1 with a reason otherwise (e.g. a dlopen'ed library). */
int ig_spanctx_tls_offset(ig_spanctx *c, int64_t *offset, ig_err *err);
/* The same for process pid, whether or not it publishes its context yet
 * (libignis is loaded at its start, its provider made later): a recorder
 * resolves it ahead, so the look that finds the context is quick. */
int ig_spanctx_tls_offset_of(pid_t pid, int64_t *offset, ig_err *err);
/* The span of the thread whose thread pointer is `tp` (read as the spec
 * says: pointer, then record); same results as ig_spanctx_read. */
int ig_spanctx_read_tp(ig_spanctx *c, uint64_t tp, ig_spanlabel *out);

/* Decodes n bytes of a record (at least the 28-byte header; attrs-data
 * beyond n is ignored): 1 valid, 0 not valid.  name_key is the key index
 * of span_name in threadlocal.attribute_key_map (-1: none).  Pure: for a
 * BPF program's copy of the record, and for the fuzzer. */
int ig_spanctx_decode_record(const uint8_t *buf, size_t n, int name_key, ig_spanlabel *out);

/* Decodes an OTEP 4719 payload (a protobuf Resource) into c's attribute
 * list; -1 with a reason if it is not one.  For the fuzzer and tests. */
int ig_spanctx_decode_payload(ig_spanctx *c, const uint8_t *buf, size_t n, ig_err *err);
/* A context not bound to a process (for ig_spanctx_decode_payload). */
ig_spanctx *ig_spanctx_new_detached(void);

#endif
