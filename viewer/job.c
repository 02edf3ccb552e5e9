/*
 * viewer/job.c — a worker thread per job, joined by the thread that
 * started it.
 *
 * One mutex and one condition variable carry the "done" flag: the worker
 * sets it under the mutex after fn returns, so every write fn made to its
 * context happens before the starter sees done (and TSan sees the same
 * order).  Progress counters are atomics read without the lock.
 */
#include "viewer/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "utils/strbuf.h"

struct ig_job {
    ig_job_fn fn;
    void *ctx;
    ig_progress progress;
    pthread_t thread;
    int threaded;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    void (*abandoned)(void *ctx); /* set: nobody waits, the worker frees everything */
    struct timespec start;
};

void (*ig_job_test_hold)(ig_progress *progress);

static void *run(void *arg)
{
    ig_job *j = arg;
    if (ig_job_test_hold)
        ig_job_test_hold(&j->progress);
    j->fn(j->ctx, &j->progress);
    pthread_mutex_lock(&j->lock);
    j->done = 1;
    pthread_cond_broadcast(&j->cond);
    void (*free_ctx)(void *) = j->abandoned;
    pthread_mutex_unlock(&j->lock);
    if (free_ctx) {
        free_ctx(j->ctx);
        pthread_mutex_destroy(&j->lock);
        pthread_cond_destroy(&j->cond);
        free(j);
    }
    return NULL;
}

ig_job *ig_job_start(ig_job_fn fn, void *ctx, int threaded, const char *step)
{
    ig_job *j = ig_xcalloc(1, sizeof *j);
    j->fn = fn;
    j->ctx = ctx;
    atomic_init(&j->progress.step, step);
    atomic_init(&j->progress.done, 0);
    atomic_init(&j->progress.total, 0);
    atomic_init(&j->progress.cancel, 0);
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &j->start);
    if (threaded && pthread_create(&j->thread, NULL, run, j) == 0)
        j->threaded = 1;
    else
        run(j);
    return j;
}

int ig_job_wait(ig_job *j, int ms)
{
    pthread_mutex_lock(&j->lock);
    if (ms < 0) {
        while (!j->done)
            pthread_cond_wait(&j->cond, &j->lock);
    } else if (!j->done && ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!j->done && pthread_cond_timedwait(&j->cond, &j->lock, &until) != ETIMEDOUT)
            ;
    }
    int done = j->done;
    pthread_mutex_unlock(&j->lock);
    return done;
}

void ig_job_cancel(ig_job *j)
{
    ig_progress_cancel(&j->progress);
}

int ig_job_cancelled(const ig_job *j)
{
    return ig_progress_cancelled(&j->progress);
}

const ig_progress *ig_job_progress(const ig_job *j)
{
    return &j->progress;
}

double ig_job_elapsed_ms(const ig_job *j)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - j->start.tv_sec) * 1e3 + (double)(now.tv_nsec - j->start.tv_nsec) / 1e6;
}

void ig_job_free(ig_job *j)
{
    if (!j)
        return;
    ig_job_wait(j, -1);
    if (j->threaded)
        pthread_join(j->thread, NULL);
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    free(j);
}

void ig_job_abandon(ig_job *j, void (*free_ctx)(void *ctx))
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    int done = j->done || !j->threaded;
    if (!done) {
        /* detached under the lock: once it is released the worker may
         * free j at any time */
        pthread_detach(j->thread);
        j->abandoned = free_ctx;
    }
    pthread_mutex_unlock(&j->lock);
    if (done) {
        void *ctx = j->ctx;
        ig_job_free(j);
        free_ctx(ctx);
    }
}
