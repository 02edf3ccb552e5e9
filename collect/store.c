/*
 * collect/store.c — opening, creating and checking a trace store.
 *
 * A store is refused before anything is written to it unless it is
 * clearly ours or clearly empty: the first statement on a new connection
 * reads the header (application_id, user_version) and the schema, so a
 * text file, another program's database or a damaged header fail there
 * with SQLite's reason, and a foreign database is recognised by its
 * application_id.  Only a file that does not exist or has no tables at all
 * gets our schema (collect/schema.sql, in one transaction that also stamps
 * the header).
 *
 * A writable store is locked with flock(2) on a descriptor of the file
 * that stays open until after sqlite3_close (closing any descriptor of the
 * file earlier would drop SQLite's own POSIX locks), so two collectors
 * never write one database; readers take no lock.  Connections use WAL
 * with synchronous=NORMAL: commits do not wait for the disk, a crash
 * loses at most the last transactions and never the file's integrity.
 * The collector moves checkpoints (the only step that fsyncs) to a thread
 * of their own with its own connection; the writer's WAL hook wakes it.
 *
 * A new store gets 16 KiB pages instead of SQLite's 4 KiB: appending
 * spans costs per page (b-tree splits, pointer-map entries of
 * auto_vacuum, WAL frames, checkpoint copies), and four times fewer pages
 * cut the writer's and the checkpointer's CPU per span by about a third
 * (bench/collect_ingest) while reads stay as fast (bench/collect_read).
 * Stores created before keep their page size.
 */
#include "collect/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ignis/common.h"
#include "utils/strbuf.h"

#include "collect/schema_sql.h" /* ig_schema_sql, generated from collect/schema.sql */

/* ---- errors ------------------------------------------------------------------ */

bool ig_store_rc_retryable(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
        return true;
    default:
        return false;
    }
}

static const char *reason(int rc, sqlite3 *db)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB: return "not an SQLite database";
    case SQLITE_CORRUPT: return "the database is damaged (corrupt); check it with: sqlite3 FILE 'PRAGMA integrity_check'";
    case SQLITE_FULL: return "disk full";
    default: return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    }
}

int ig_store_fail(ig_store *s, int rc, const char *what, ig_err *err)
{
    ig_err_set(err, "%s: %s%s%s", s->path, what ? what : "", what ? ": " : "", reason(rc, s->db));
    if (ig_store_rc_retryable(rc))
        return IG_STORE_RETRY;
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
        return IG_STORE_CORRUPT;
    default:
        return -1;
    }
}

int ig_store_prepare(ig_store *s, const char *sql, sqlite3_stmt **st, ig_err *err)
{
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, "prepare", err);
    return 0;
}

int ig_store_exec(ig_store *s, const char *sql, ig_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, NULL, err);
    return 0;
}

/* ---- the default path ----------------------------------------------------------- */

const char *ig_store_default_path(char *buf, size_t len)
{
    const char *env = getenv("IGNIS_TRACE_DB");
    int n;
    if (env && *env)
        n = snprintf(buf, len, "%s", env);
    else if ((env = getenv("XDG_DATA_HOME")) && *env == '/')
        n = snprintf(buf, len, "%s/ignis/traces.db", env);
    else if ((env = getenv("HOME")) && *env)
        n = snprintf(buf, len, "%s/.local/share/ignis/traces.db", env);
    else
        return NULL;
    return n > 0 && (size_t)n < len ? buf : NULL;
}

/* mkdir -p of the directory part of path (0700). */
static int make_parent_dirs(const char *path, ig_err *err)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return ig_err_set(err, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return ig_err_set(err, "%s: cannot create directory %s: %s", path, dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ig_err_set(err, "%s: cannot create directory %s: %s", path, dir, strerror(errno));
    return 0;
}

/* ---- checking and creating --------------------------------------------------------- */

static int pragma_int(ig_store *s, const char *sql, int64_t *out, ig_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return ig_err_set(err, "%s: %s", s->path, reason(rc, s->db));
    return 0;
}

enum { STORE_EMPTY, STORE_OURS };

/* Reads the header and schema; decides whether this is our store, an
 * empty database, or something to refuse. */
static int identify(ig_store *s, int *kind, ig_err *err)
{
    int64_t app, version, tables;
    if (pragma_int(s, "PRAGMA application_id", &app, err) < 0 ||
        pragma_int(s, "PRAGMA user_version", &version, err) < 0 ||
        pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables, err) < 0)
        return -1;
    if (app == 0 && version == 0 && tables == 0) {
        *kind = STORE_EMPTY;
        return 0;
    }
    if (app != IG_STORE_APPLICATION_ID)
        return ig_err_set(err, "%s: not an ignis trace store (an SQLite database of another application, "
                               "application_id 0x%08llx); nothing was changed",
                          s->path, (unsigned long long)(uint32_t)app);
    if (version > IG_STORE_SCHEMA_VERSION)
        return ig_err_set(err, "%s: trace store schema %lld is newer than this ignis reads (%d)", s->path,
                          (long long)version, IG_STORE_SCHEMA_VERSION);
    if (version < 1)
        return ig_err_set(err, "%s: trace store has no schema version; refusing to use it", s->path);
    /* Touch the tables the store relies on, so a damaged schema or root
     * page is found now rather than by the first insert. */
    int64_t n;
    if (pragma_int(s, "SELECT (SELECT max(id) FROM traces) + (SELECT max(id) FROM spans) + "
                      "(SELECT count(*) FROM operations)", &n, err) < 0)
        return -1;
    *kind = STORE_OURS;
    return 0;
}

static int create_schema(ig_store *s, ig_err *err)
{
    if (ig_store_exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    char stamp[256];
    snprintf(stamp, sizeof stamp,
             "PRAGMA application_id = %d; PRAGMA user_version = %d;"
             "INSERT INTO meta VALUES ('schema', %d), ('created_ns', %lld), ('created_by', 'ignis %s');",
             IG_STORE_APPLICATION_ID, IG_STORE_SCHEMA_VERSION, IG_STORE_SCHEMA_VERSION,
             (long long)time(NULL) * 1000000000LL, ignis_version());
    if (ig_store_exec(s, ig_schema_sql, err) < 0 || ig_store_exec(s, stamp, err) < 0 ||
        ig_store_exec(s, "COMMIT", err) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int configure(ig_store *s, ig_err *err)
{
    sqlite3_busy_timeout(s->db, 5000);
    if (s->flags & IG_STORE_READONLY)
        return ig_store_exec(s, "PRAGMA cache_size = -16384", err);
    if (!(s->flags & IG_STORE_MEMORY)) {
        sqlite3_stmt *st;
        const char *mode = "";
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            mode = (const char *)sqlite3_column_text(st, 0);
        bool wal = mode && !strcmp(mode, "wal");
        sqlite3_finalize(st);
        if (!wal)
            return ig_err_set(err, "%s: cannot switch the database to WAL mode: %s", s->path, sqlite3_errmsg(s->db));
    }
    return ig_store_exec(s, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;"
                            "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864",
                         err);
}

/* Takes the writer's lock on the database file (see the top comment). */
static int lock_for_writing(ig_store *s, ig_err *err)
{
    s->lock_fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (s->lock_fd < 0)
        return ig_err_set(err, "%s: %s", s->path, strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return ig_err_set(err, "%s: in use by another ignis collect (or import) writing to it", s->path);
        return ig_err_set(err, "%s: cannot lock: %s", s->path, strerror(errno));
    }
    return 0;
}

static int open_connection(ig_store *s, ig_err *err)
{
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const char *name = s->path;
    if (s->flags & IG_STORE_MEMORY) {
        oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY;
    } else if (s->flags & IG_STORE_READONLY) {
        oflags |= SQLITE_OPEN_READONLY;
        struct stat sb;
        if (stat(s->path, &sb) != 0)
            return ig_err_set(err, "%s: %s", s->path, strerror(errno));
        if (!S_ISREG(sb.st_mode))
            return ig_err_set(err, "%s: not a regular file", s->path);
    } else {
        oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        struct stat sb;
        if (stat(s->path, &sb) == 0 && !S_ISREG(sb.st_mode))
            return ig_err_set(err, "%s: not a regular file", s->path);
        if (make_parent_dirs(s->path, err) < 0)
            return -1;
    }
    int rc = sqlite3_open_v2(name, &s->db, oflags, NULL);
    if (rc != SQLITE_OK)
        return ig_err_set(err, "%s: %s", s->path, reason(rc, s->db));
    sqlite3_extended_result_codes(s->db, 1);
    /* more and larger lookaside slots: statement steps allocate cursors */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 1024, 512);
    return 0;
}

ig_store *ig_store_open(const char *path, int flags, ig_err *err)
{
    ig_store *s = ig_xcalloc(1, sizeof *s);
    s->flags = flags;
    s->lock_fd = -1;
    s->path = ig_xstrdup(flags & IG_STORE_MEMORY ? ":memory:" : path ? path : "");
    if (!(flags & IG_STORE_MEMORY) && !*s->path) {
        ig_err_set(err, "trace store: no path");
        goto fail;
    }
    if (open_connection(s, err) < 0)
        goto fail;
    int kind = STORE_EMPTY;
    if (identify(s, &kind, err) < 0)
        goto fail;
    if (kind == STORE_EMPTY && (flags & IG_STORE_READONLY)) {
        ig_err_set(err, "%s: an empty database, not a trace store (yet)", s->path);
        goto fail;
    }
    if (!(flags & (IG_STORE_READONLY | IG_STORE_MEMORY)) && lock_for_writing(s, err) < 0)
        goto fail;
    /* before WAL mode, which writes the first page: set while no table exists */
    if (kind == STORE_EMPTY && !(flags & IG_STORE_MEMORY) &&
        ig_store_exec(s, "PRAGMA page_size = 16384; PRAGMA auto_vacuum = INCREMENTAL", err) < 0)
        goto fail;
    if (configure(s, err) < 0)
        goto fail;
    if (kind == STORE_EMPTY && create_schema(s, err) < 0)
        goto fail;
    if (ig_store_register_functions(s) != SQLITE_OK || ig_store_register_scan_function(s) != SQLITE_OK) {
        ig_err_set(err, "%s: cannot register SQL functions", s->path);
        goto fail;
    }
    return s;
fail:
    ig_store_close(s);
    return NULL;
}

/* ---- background checkpoints ------------------------------------------------------- */

enum { CHECKPOINT_PAGES = 1000 };

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    store_checkpointer *c = arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->mu);
        c->wal_pages = pages;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

typedef struct checkpoint_args {
    store_checkpointer *c;
    sqlite3 *db;
} checkpoint_args;

static void *checkpoint_main(void *arg)
{
    checkpoint_args *a = arg;
    pthread_setname_np(pthread_self(), "ig-checkpoint"); /* in top -H and /proc */
    store_checkpointer *c = a->c;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (c->wal_pages < CHECKPOINT_PAGES) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        c->wal_pages = 0;
        pthread_mutex_unlock(&c->mu);
        sqlite3_wal_checkpoint_v2(a->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    sqlite3_close_v2(a->db);
    free(a);
    return NULL;
}

int ig_store_checkpoint_in_background(ig_store *s, ig_err *err)
{
    if (s->ckpt || (s->flags & (IG_STORE_READONLY | IG_STORE_MEMORY)))
        return 0;
    checkpoint_args *a = ig_xcalloc(1, sizeof *a);
    int rc = sqlite3_open_v2(s->path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ig_err_set(err, "%s: checkpoint connection: %s", s->path, reason(rc, a->db));
        sqlite3_close_v2(a->db);
        free(a);
        return -1;
    }
    sqlite3_busy_timeout(a->db, 1000);
    /* a connection learns the database is in WAL mode when it first reads
     * it; until then a checkpoint is a no-op */
    rc = sqlite3_exec(a->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ig_err_set(err, "%s: checkpoint connection: %s", s->path, reason(rc, a->db));
        sqlite3_close_v2(a->db);
        free(a);
        return -1;
    }
    store_checkpointer *c = a->c = ig_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, checkpoint_main, a) != 0) {
        sqlite3_close_v2(a->db);
        free(a);
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return ig_err_set(err, "%s: cannot start the checkpoint thread", s->path);
    }
    s->ckpt = c;
    sqlite3_wal_hook(s->db, on_wal_commit, c); /* replaces the automatic checkpoint */
    return 0;
}

static void stop_checkpointer(ig_store *s)
{
    store_checkpointer *c = s->ckpt;
    if (!c)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    s->ckpt = NULL;
}

void ig_store_close(ig_store *s)
{
    if (!s)
        return;
    stop_checkpointer(s);
    if (s->in_txn)
        ig_store_rollback(s);
    ig_store_writer_free(s);
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* after sqlite3_close: see the top comment */
    free(s->path);
    free(s);
}

const char *ig_store_path(const ig_store *s)
{
    return s->path;
}

uint64_t ig_store_data_version(ig_store *s)
{
    int64_t v = 0;
    ig_err err;
    if (pragma_int(s, "PRAGMA data_version", &v, &err) < 0)
        return 0;
    return (uint64_t)v;
}

int ig_store_summary_get(ig_store *s, ig_store_summary *out, ig_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*), total(max(span_count, 0)), min(start_ns), max(start_ns), "
                                "(SELECT page_count FROM pragma_page_count()) - "
                                "(SELECT freelist_count FROM pragma_freelist_count()), "
                                "(SELECT page_size FROM pragma_page_size()) FROM traces",
                                -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->traces = (uint64_t)sqlite3_column_int64(st, 0);
        out->spans = (uint64_t)sqlite3_column_double(st, 1);
        out->first_start_ns = (uint64_t)sqlite3_column_int64(st, 2);
        out->last_start_ns = (uint64_t)sqlite3_column_int64(st, 3);
        out->file_bytes = (uint64_t)sqlite3_column_int64(st, 4) * (uint64_t)sqlite3_column_int64(st, 5);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return ig_store_fail(s, rc, "summary", err);
    return 0;
}
