/*
** db.c — picks the backend from the --db URL and keeps the connection pool the
** worker threads borrow from. What the storage does is in db_sqlite.c / db_pg.c.
*/
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_pool {
  const db_backend *backend;
  char *url;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  db_conn **free_conns;
  unsigned free_count;
  unsigned size;
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

int64_t db_remaining(int64_t known, size_t count, int64_t found) {
  if (known < 0) return found;
  if (!found) return 0;
  int64_t left = known - (int64_t)count;
  return left > 0 ? left : 1;
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

int db_pool_batches(const db_pool *pool) { return pool->backend == &db_pg_backend; }
