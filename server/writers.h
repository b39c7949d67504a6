/*
** writers.h — pushes applied apart from the threads that received them, pushes to
** one partition together (group commit; PostgreSQL, where a transaction costs round
** trips). The receiving thread parses a push (sync_push_parse) and queues it for its
** partition (writers_submit), then goes on with other connections (http.c suspends
** this one); one of n writer threads, each with a database connection of its own,
** takes the partition's queued pushes — at most one writer per partition at a time —
** applies them in one transaction in their order of arrival (sync_push_apply) and
** calls each push's done callback, which resumes its connection. While a batch runs,
** the next pushes of that partition queue for the next one, so batches grow with
** the load instead of with the number of HTTP threads.
** Memory: queued pushes hold their parsed bodies, so the bodies queued or being
** applied are kept within a budget (--max-body × n bytes of body text); a push
** beyond it is applied in its caller's thread, which waits meanwhile — as every push
** did before the writers, and what bounds a flood of large pushes.
*/
#ifndef SRV_WRITERS_H
#define SRV_WRITERS_H

#include "config.h"
#include "db.h"
#include "sync.h"

typedef struct writers writers;

/* One queued push, in memory the caller keeps until done is called. */
typedef struct writers_entry {
  sync_push_job *job;                     /* the caller's; holds its outcome when done runs */
  size_t bytes;                           /* the caller's: the body's size, for the budget */
  void (*done)(struct writers_entry *e);  /* called once; the writers touch e no more after */
  void *ctx;                              /* the caller's */
  struct writers_entry *next;             /* the writers' */
} writers_entry;

/* Start n writer threads over n connections of their own to pool's database (cfg:
** the push rules' limits). Returns the writers, or NULL with a message in zErr. */
writers *writers_start(const srv_config *cfg, db_pool *pool, unsigned n, char *zErr, size_t nErr);

/* Queue e (e->job, e->bytes, e->done set) for partition. Returns at once; e->done(e)
** is called later from a writer thread — or from this thread before writers_submit
** returns (the push then applied here, alone, on a connection of the pool) once
** writers_stop has begun, or when e would take the queued bodies past the budget. */
void writers_submit(writers *w, const char *partition, writers_entry *e);

/* Queue no more pushes (later ones run in their caller's thread), apply and answer
** every queued one, join the threads and close their connections. w stays valid
** for writers_submit until writers_free. */
void writers_stop(writers *w);

/* Free w (stopped), once nothing can call writers_submit any more. */
void writers_free(writers *w);

#endif /* SRV_WRITERS_H */
