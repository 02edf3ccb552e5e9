/*
 * viewer/job.h — one piece of long work on a worker thread.
 *
 * The viewer never computes anything big on the thread that reads keys:
 * loading a file, building a call tree, a top table, callers/callees, a
 * source listing or search statistics run as a job.  A job is a function
 * and its context; it reports progress and polls for cancellation through
 * an ig_progress (utils/progress.h).  The thread that started it waits for
 * it with a timeout (so quick work shows no progress line at all), reads
 * the progress to draw, cancels it with Esc, and finally joins it.  The
 * context belongs to the starter: the worker writes its results there, and
 * the starter reads them only after ig_job_wait() says the job is done
 * (the mutex orders the two).  A job started with threaded = 0 runs to the
 * end inside ig_job_start, which is how the unit tests and benchmarks
 * drive the same code without threads.
 */
#ifndef IG_VIEWER_JOB_H
#define IG_VIEWER_JOB_H

#include "utils/progress.h"

typedef struct ig_job ig_job;
typedef void (*ig_job_fn)(void *ctx, ig_progress *progress);

/* Starts fn(ctx) on a new thread (or runs it now when !threaded, or when
 * no thread can be created); step names the work until fn names its
 * first step (static text).  Never NULL. */
ig_job *ig_job_start(ig_job_fn fn, void *ctx, int threaded, const char *step);

/* Waits up to ms milliseconds (0: just looks, < 0: until done); returns 1
 * once the job is done. */
int ig_job_wait(ig_job *j, int ms);

/* Asks the job to stop; it still has to be waited for. */
void ig_job_cancel(ig_job *j);
int ig_job_cancelled(const ig_job *j);

/* The job's progress (read from any thread) and how long it has run. */
const ig_progress *ig_job_progress(const ig_job *j);
double ig_job_elapsed_ms(const ig_job *j);

/* Waits for the job to end and frees it (NULL is allowed). */
void ig_job_free(ig_job *j);

/* Leaves a running job that cannot stop (a read blocked on a FIFO) to run
 * on alone: its thread is detached and frees the job, and its context
 * with free_ctx, when fn returns (never, if the process ends first).  A
 * finished job is freed at once, with its context. */
void ig_job_abandon(ig_job *j, void (*free_ctx)(void *ctx));

/* Tests only (NULL otherwise): runs on the worker before the job's
 * function, so a test can hold a job while it looks at the screen; it
 * must return once the job is cancelled. */
extern void (*ig_job_test_hold)(ig_progress *progress);

#endif
