/*
** db.c — picks the backend from the --db URL, keeps the connection pool the
** worker threads borrow from, and the queues of pushes waiting for a partition
** that one of them applies together (db.h, db_batch_*). What the storage does is
** in db_sqlite.c / db_pg.c; how a batch is applied is sync.c's.
*/
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A partition whose batch a thread leads, and the pushes waiting for it. */
typedef struct batch_slot {
  struct batch_slot *next;
  char *partition;
  db_batch_entry *head, *tail;
} batch_slot;

enum { BATCH_WAIT, BATCH_LEAD, BATCH_DONE };

struct db_pool {
  const db_backend *backend;
  char *url;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  db_conn **free_conns;
  unsigned free_count;
  unsigned size;
  pthread_mutex_t batch_mu;
  pthread_cond_t batch_cv;
  batch_slot *slots;     /* one per partition being applied; few (at most one per thread) */
};

char *db_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (!p) abort();
  memcpy(p, s, n + 1);
  return p;
}

int db_strndup_try(const char *s, size_t n, char **pOut) {
  *pOut = NULL;
  if (!s) return 0;
  char *p = malloc(n + 1);
  if (!p) return -1;
  memcpy(p, s, n);
  p[n] = 0;
  *pOut = p;
  return 0;
}

void db_record_clear(db_record *rec) {
  free(rec->collection);
  free(rec->id);
  free(rec->data);
  free(rec->updated_at);
  free(rec->deleted_at);
  free(rec->hlc);
  free(rec->device_id);
  memset(rec, 0, sizeof *rec);
}

void db_pull_page_clear(db_pull_page *page) {
  for (size_t i = 0; i < page->count; i++) db_record_clear(&page->rows[i]);
  free(page->rows);
  memset(page, 0, sizeof *page);
}

static const db_backend *backend_for(const char *url, const char **pTarget) {
  if (strncmp(url, "sqlite:", 7) == 0) { *pTarget = url + 7; return &db_sqlite_backend; }
  if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
    *pTarget = url;
    return &db_pg_backend;
  }
  if (strncmp(url, "postgres:", 9) == 0) { *pTarget = url + 9; return &db_pg_backend; }
  return NULL;
}

int db_pool_open(const char *url, unsigned size, const char *legacy_spaces, db_pool **ppPool,
                 char *zErr, size_t nErr) {
  const char *target = NULL;
  const db_backend *backend = backend_for(url, &target);
  *ppPool = NULL;
  if (!backend) {
    snprintf(zErr, nErr, "--db must be sqlite:PATH or postgres://…, not %s", url);
    return DB_ERROR;
  }
  return db_pool_open_backend(backend, target, size, legacy_spaces, ppPool, zErr, nErr);
}

int db_pool_open_backend(const db_backend *backend, const char *target, unsigned size,
                         const char *legacy_spaces, db_pool **ppPool, char *zErr, size_t nErr) {
  db_pool *pool = NULL;
  *ppPool = NULL;
  pool = calloc(1, sizeof *pool);
  if (!pool) abort();
  pool->backend = backend;
  pool->url = db_strdup(target);
  pool->size = size ? size : 1;
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->cv, NULL);
  pthread_mutex_init(&pool->batch_mu, NULL);
  pthread_cond_init(&pool->batch_cv, NULL);
  pool->free_conns = calloc(pool->size, sizeof *pool->free_conns);
  if (!pool->free_conns) abort();
  for (unsigned i = 0; i < pool->size; i++) {
    db_conn *conn = NULL;
    if (backend->connect(pool->url, &conn, zErr, nErr) != DB_OK) goto fail;
    pool->free_conns[pool->free_count++] = conn;
    int64_t renamed = 0;
    if (i == 0 && backend->migrate(conn, legacy_spaces, &renamed) != DB_OK) {
      snprintf(zErr, nErr, "creating the schema failed: %s", backend->errmsg(conn));
      goto fail;
    }
    if (renamed > 0)
      fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"partitions renamed to u:/s: names\",\"partitions\":%lld}\n",
              (long long)renamed);
  }
  *ppPool = pool;
  return DB_OK;
fail:
  db_pool_close(pool);
  return DB_ERROR;
}

void db_pool_close(db_pool *pool) {
  if (!pool) return;
  for (unsigned i = 0; i < pool->free_count; i++) pool->backend->disconnect(pool->free_conns[i]);
  free(pool->free_conns);
  free(pool->url);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
  pthread_mutex_destroy(&pool->batch_mu);
  pthread_cond_destroy(&pool->batch_cv);
  free(pool);
}

const db_backend *db_pool_backend(const db_pool *pool) { return pool->backend; }

const char *db_pool_file(const db_pool *pool) {
  return pool->backend == &db_sqlite_backend ? pool->url : NULL;
}

int db_pool_shared(const db_pool *pool) { return pool->backend->listen != NULL; }

int db_pool_connect_extra(db_pool *pool, db_conn **ppConn, char *zErr, size_t nErr) {
  return pool->backend->connect(pool->url, ppConn, zErr, nErr);
}

db_conn *db_acquire(db_pool *pool) {
  pthread_mutex_lock(&pool->mu);
  while (pool->free_count == 0) pthread_cond_wait(&pool->cv, &pool->mu);
  db_conn *conn = pool->free_conns[--pool->free_count];
  pthread_mutex_unlock(&pool->mu);
  return conn;
}

void db_release(db_pool *pool, db_conn *conn) {
  pthread_mutex_lock(&pool->mu);
  pool->free_conns[pool->free_count++] = conn;
  pthread_cond_signal(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
}

/* ---------------------------------------------------------------- batches */

int db_pool_batches(const db_pool *pool) { return pool->backend == &db_pg_backend; }

static batch_slot **slot_find(db_pool *pool, const char *partition) {
  batch_slot **at = &pool->slots;
  while (*at && strcmp((*at)->partition, partition) != 0) at = &(*at)->next;
  return at;
}

int db_batch_join(db_pool *pool, const char *partition, db_batch_entry *e) {
  pthread_mutex_lock(&pool->batch_mu);
  batch_slot **at = slot_find(pool, partition);
  e->next = NULL;
  if (!*at) {
    batch_slot *slot = calloc(1, sizeof *slot);
    if (!slot) abort();
    slot->partition = db_strdup(partition);
    *at = slot;
    e->state = BATCH_LEAD;
  } else {
    batch_slot *slot = *at;
    e->state = BATCH_WAIT;
    if (slot->tail) slot->tail->next = e; else slot->head = e;
    slot->tail = e;
    while (e->state == BATCH_WAIT) pthread_cond_wait(&pool->batch_cv, &pool->batch_mu);
  }
  int lead = e->state == BATCH_LEAD;
  pthread_mutex_unlock(&pool->batch_mu);
  return lead;
}

size_t db_batch_take(db_pool *pool, const char *partition, db_batch_entry *lead, db_batch_entry **out,
                     size_t max, size_t max_weight) {
  size_t n = 0, weight = lead->weight;
  out[n++] = lead;
  pthread_mutex_lock(&pool->batch_mu);
  batch_slot *slot = *slot_find(pool, partition);
  while (slot && slot->head && n < max && weight + slot->head->weight <= max_weight) {
    db_batch_entry *e = slot->head;
    slot->head = e->next;
    if (!slot->head) slot->tail = NULL;
    weight += e->weight;
    out[n++] = e;
  }
  pthread_mutex_unlock(&pool->batch_mu);
  return n;
}

void db_batch_finish(db_pool *pool, const char *partition, db_batch_entry **entries, size_t n) {
  pthread_mutex_lock(&pool->batch_mu);
  for (size_t i = 1; i < n; i++) entries[i]->state = BATCH_DONE;
  batch_slot **at = slot_find(pool, partition), *slot = *at;
  if (slot && slot->head) {
    db_batch_entry *next = slot->head;
    slot->head = next->next;
    if (!slot->head) slot->tail = NULL;
    next->state = BATCH_LEAD;
  } else if (slot) {
    *at = slot->next;
    free(slot->partition);
    free(slot);
  }
  pthread_cond_broadcast(&pool->batch_cv);
  pthread_mutex_unlock(&pool->batch_mu);
}
