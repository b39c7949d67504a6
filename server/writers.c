/*
** writers.c — the writer threads of writers.h. Invariants:
**   1. A partition with pushes queued or being applied has one `part` in the table
**      (under mu); it leaves the table, freed, when a writer finds its queue empty
**      after a batch.
**   2. A part is in the ready list iff it has queued pushes and no writer is
**      applying a batch of it (`busy`): so one writer at a time per partition, and
**      a partition's pushes are applied in their order of arrival.
**   3. A writer takes a batch off a part (at most BATCH_MAX pushes, below --max-ops
**      ops unless one push alone), applies it without holding mu, calls each push's
**      done — after reading its `next`: done may free the entry — and puts the part
**      back at the end of the ready list if more came meanwhile (partitions take
**      turns when writers are fewer than busy partitions).
**   4. `queued_bytes` is the sum of e->bytes over the entries queued or being
**      applied; an entry that would take it past `budget` is not queued (unless
**      nothing is: any one push fits), it runs in its caller's thread — possibly
**      before pushes of its partition queued earlier, which is one of the serial
**      orders concurrent pushes may take (a client sends its next push only once
**      it has the answer to the last).
**   5. Once `stopping` is set (under mu) nothing is queued any more (a push then
**      runs in its caller's thread, on a connection of the pool); writers exit when
**      the ready list is empty, which then stays so.
** What a batch does to the database, and how a failing one is split, is
** sync_push_apply's.
*/
#include "writers.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 256
/* At most this many pushes in one transaction (and at most --max-ops ops, unless
** one push alone). */
#define BATCH_MAX 64

typedef struct part {
  struct part *next;           /* bucket chain */
  struct part *next_ready;
  writers_entry *head, *tail;  /* queued, in arrival order */
  int busy, ready;
  char partition[];
} part;

struct writers {
  const srv_config *cfg;
  db_pool *pool;
  const db_backend *be;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  part *buckets[BUCKETS];
  part *ready_head, *ready_tail;
  size_t queued_bytes, budget;
  int stopping;
  unsigned n, started;
  pthread_t *threads;
  db_conn **conns;
};

typedef struct writer_arg {
  writers *w;
  db_conn *conn;
} writer_arg;

static unsigned hash_partition(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % BUCKETS;
}

static void ready_push(writers *w, part *p) {
  p->ready = 1;
  p->next_ready = NULL;
  if (w->ready_tail) w->ready_tail->next_ready = p; else w->ready_head = p;
  w->ready_tail = p;
  pthread_cond_signal(&w->cv);
}

static part *ready_pop(writers *w) {
  part *p = w->ready_head;
  w->ready_head = p->next_ready;
  if (!w->ready_head) w->ready_tail = NULL;
  p->ready = 0;
  return p;
}

static void part_drop(writers *w, part *p) {
  part **at = &w->buckets[hash_partition(p->partition)];
  while (*at != p) at = &(*at)->next;
  *at = p->next;
  free(p);
}

/* Off p's queue: the pushes of its next transaction, into out[0..n). */
static size_t take_batch(writers *w, part *p, writers_entry **out) {
  size_t n = 0, weight = 0, max_weight = (size_t)w->cfg->max_ops;
  while (p->head && n < BATCH_MAX) {
    size_t ops = sync_push_job_ops(p->head->job);
    if (n > 0 && weight + ops > max_weight) break;
    weight += ops;
    out[n++] = p->head;
    p->head = p->head->next;
  }
  if (!p->head) p->tail = NULL;
  return n;
}

static void *writer_main(void *arg) {
  writers *w = ((writer_arg *)arg)->w;
  db_conn *conn = ((writer_arg *)arg)->conn;
  writers_entry *batch[BATCH_MAX];
  sync_push_job *jobs[BATCH_MAX];
  free(arg);
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->ready_head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->ready_head) break;
    part *p = ready_pop(w);
    p->busy = 1;
    size_t n = take_batch(w, p, batch);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) jobs[i] = batch[i]->job;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += batch[i]->bytes;
    sync_push_apply(w->cfg, w->be, conn, p->partition, jobs, n);
    for (size_t i = 0; i < n; i++) batch[i]->done(batch[i]);
    pthread_mutex_lock(&w->mu);
    w->queued_bytes -= bytes;
    p->busy = 0;
    if (p->head) ready_push(w, p);
    else part_drop(w, p);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

void writers_submit(writers *w, const char *partition, writers_entry *e) {
  e->next = NULL;
  pthread_mutex_lock(&w->mu);
  if (w->stopping || (w->queued_bytes > 0 && w->queued_bytes + e->bytes > w->budget)) {
    pthread_mutex_unlock(&w->mu);
    db_conn *conn = db_acquire(w->pool);
    sync_push_apply(w->cfg, w->be, conn, partition, &e->job, 1);
    db_release(w->pool, conn);
    e->done(e);
    return;
  }
  part **at = &w->buckets[hash_partition(partition)];
  while (*at && strcmp((*at)->partition, partition) != 0) at = &(*at)->next;
  part *p = *at;
  if (!p) {
    size_t len = strlen(partition);
    p = calloc(1, sizeof *p + len + 1);
    if (!p) abort();
    memcpy(p->partition, partition, len + 1);
    *at = p;
  }
  if (p->tail) p->tail->next = e; else p->head = e;
  p->tail = e;
  w->queued_bytes += e->bytes;
  if (!p->busy && !p->ready) ready_push(w, p);
  pthread_mutex_unlock(&w->mu);
}

writers *writers_start(const srv_config *cfg, db_pool *pool, unsigned n, char *zErr, size_t nErr) {
  writers *w = calloc(1, sizeof *w);
  if (!w) abort();
  w->cfg = cfg;
  w->pool = pool;
  w->be = db_pool_backend(pool);
  w->n = n ? n : 1;
  w->budget = cfg->max_body * w->n;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->threads = calloc(w->n, sizeof *w->threads);
  w->conns = calloc(w->n, sizeof *w->conns);
  if (!w->threads || !w->conns) abort();
  for (unsigned i = 0; i < w->n; i++) {
    if (db_pool_connect_extra(pool, &w->conns[i], zErr, nErr) != DB_OK) goto fail;
    writer_arg *arg = malloc(sizeof *arg);
    if (!arg) abort();
    arg->w = w;
    arg->conn = w->conns[i];
    if (pthread_create(&w->threads[i], NULL, writer_main, arg) != 0) {
      free(arg);
      snprintf(zErr, nErr, "cannot start a writer thread");
      goto fail;
    }
    w->started++;
  }
  return w;
fail:
  writers_stop(w);
  writers_free(w);
  return NULL;
}

void writers_stop(writers *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (unsigned i = 0; i < w->started; i++) pthread_join(w->threads[i], NULL);
  w->started = 0;
  for (unsigned i = 0; i < w->n; i++) {
    if (w->conns[i]) w->be->disconnect(w->conns[i]);
    w->conns[i] = NULL;
  }
}

void writers_free(writers *w) {
  if (!w) return;
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->threads);
  free(w->conns);
  free(w);
}
