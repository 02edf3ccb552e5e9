/*
 * collect/writer.h — the writer thread between the HTTP threads and the
 * store.
 *
 * The receiver hands each accepted batch to ig_writer_submit(), which
 * only links it into a queue: HTTP threads never wait for the disk.  One
 * thread inserts queued batches into the store, many per transaction
 * (committing at least every commit_ms), and runs retention between
 * transactions.  The queue is bounded in bytes; a submit that would
 * exceed it is refused (the receiver answers 429 with Retry-After), and
 * while the store cannot write (disk full, I/O error) every submit is
 * refused (503) and the batches already accepted stay queued and are
 * retried, so nothing acknowledged is lost while the process lives.
 */
#ifndef IG_COLLECT_WRITER_H
#define IG_COLLECT_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/batch.h"
#include "collect/metrics.h"
#include "collect/store.h"

typedef struct ig_writer ig_writer;

typedef struct ig_writer_config {
    ig_store *store;            /* used by the writer thread only from start to stop */
    ig_collect_counters *counters;
    uint64_t max_queue_bytes;   /* bound of queued batches (ig_batch_bytes) */
    int commit_ms;              /* longest time a transaction stays open */
    int retry_ms;               /* wait before retrying a failed transaction */
    uint64_t retain_ns;         /* --retain (0: keep forever) */
    uint64_t max_db_bytes;      /* --max-db-mb (0: no limit) */
    void (*log)(const char *msg); /* one line per state change (failing, recovered, fatal) */
} ig_writer_config;

typedef enum {
    IG_SUBMIT_OK = 0,           /* queued; the writer owns the batch */
    IG_SUBMIT_FULL,             /* queue full: try later (429) */
    IG_SUBMIT_FAILING,          /* the store cannot write now (503) */
} ig_submit_result;

ig_writer *ig_writer_start(const ig_writer_config *cfg, ig_err *err);

/* Queues a batch (thread-safe, never blocks on the store). */
ig_submit_result ig_writer_submit(ig_writer *w, ig_batch *b);

/* The same in two steps, for a caller that still reads the batch after
 * the decision: reserve its bytes (IG_SUBMIT_OK or a refusal), then push
 * it, which cannot fail after a successful reserve. */
ig_submit_result ig_writer_reserve(ig_writer *w, uint64_t bytes);
void ig_writer_push(ig_writer *w, ig_batch *b, uint64_t bytes);

/* Seconds a refused client should wait (Retry-After). */
int ig_writer_retry_after(ig_writer *w);

/* Stops the thread after it committed everything queued (retrying a
 * failing store until deadline_ms from now).  Returns the number of
 * accepted spans that could not be stored (also counted as dropped). */
uint64_t ig_writer_stop(ig_writer *w, int deadline_ms);

/* True after a fatal store error (the database is damaged): the
 * collector should exit; the message is in err. */
bool ig_writer_fatal(ig_writer *w, ig_err *err);

#endif
