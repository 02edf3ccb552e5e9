/*
 * collect/store_impl.h — what the store's files share (store.c opens,
 * store_write.c inserts, store_read.c queries, retention.c deletes).
 * Not for use outside collect/store*.c and collect/retention.c.
 */
#ifndef IG_COLLECT_STORE_IMPL_H
#define IG_COLLECT_STORE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>

#include "collect/arena.h"
#include "collect/store.h"

struct store_writer; /* prepared insert statements and caches (store_write.c) */

/* The background checkpointer (store.c). */
typedef struct store_checkpointer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wal_pages;            /* last size the WAL hook reported */
    bool stop;
} store_checkpointer;

struct ig_store {
    sqlite3 *db;
    char *path;
    int flags;
    int lock_fd;              /* flock'd while a writer has the file, else -1 */
    bool in_txn;
    struct store_writer *w;   /* created on the first write */
    store_checkpointer *ckpt; /* or NULL */
    void *scan;               /* the accumulator of a span scan in progress (store_read.c) */
};

/* Sets err to "PATH: what: sqlite's message" and returns IG_STORE_RETRY
 * when rc says the failure may pass (full, I/O, busy), IG_STORE_CORRUPT
 * for a damaged or vanished database, else -1. */
int ig_store_fail(ig_store *s, int rc, const char *what, ig_err *err);

/* True for result codes after which a write may succeed later. */
bool ig_store_rc_retryable(int rc);

/* Prepares sql (persistent) or fails with err. */
int ig_store_prepare(ig_store *s, const char *sql, sqlite3_stmt **st, ig_err *err);

/* Runs sql that returns no rows. */
int ig_store_exec(ig_store *s, const char *sql, ig_err *err);

/* Frees the writer's statements (store_write.c). */
void ig_store_writer_free(ig_store *s);

/* Forgets the writer's cached trace ids (after retention deleted traces). */
void ig_store_writer_forget_traces(ig_store *s);

/* Registers the REGEXP function for this connection (store_read.c). */
int ig_store_register_functions(ig_store *s);

/* Registers ig_collect_span(), the row callback of the operations scans
 * (store_read.c). */
int ig_store_register_scan_function(ig_store *s);

#endif
