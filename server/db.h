/*
** db.h — the one storage interface of the server, with two backends: SQLite
** (db_sqlite.c, the embedded default, one server process per file) and
** PostgreSQL (db_pg.c, several stateless servers on one database).
**
** The protocol's decisions (validation, versions, idempotency, derived fields)
** are sync.c's; a backend only stores and fetches, inside the transactions this
** interface shapes:
**   push:  db_push_begin (locks the partition, returns its seq) → op_get /
**          record_get / record_put / op_put … → db_push_end (stores the new seq,
**          commits; or rolls back).
**   pull:  db_pull — one read snapshot.
** Invariant (the sequence-gap rule): a partition's seq is allocated only while
** holding that partition's lock, and the lock is held until commit, so within a
** partition seq order is commit order and a reader never sees seq n+1 committed
** while seq n is not yet visible.
**
** Connections: a pool of `size` connections; each worker thread takes one for a
** request (db_acquire) and gives it back (db_release).
*/
#ifndef SRV_DB_H
#define SRV_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_OK 0
#define DB_NOTFOUND 1
#define DB_ERROR 2

/* One record as stored. Strings are owned by the record (db_record_clear frees). */
typedef struct db_record {
  char *collection;
  char *id;
  int64_t version;
  char *data;        /* JSON object text; NULL for a tombstone */
  char *updated_at;
  char *deleted_at;  /* NULL unless a tombstone */
  char *hlc;
  char *device_id;
  int64_t seq;
} db_record;

typedef struct db_pull_page {
  db_record *rows;      /* in seq order */
  size_t count;
  int64_t remaining;    /* changes after the last row */
  int64_t partition_seq;
  int64_t purged_seq;   /* highest seq of a tombstone purged by retention */
} db_pull_page;

/* What a push is about to read, so that a backend with round trips can fetch it
** all at once in push_begin: n op_ids and n (collection, id) keys; an entry may be
** NULL (an op too malformed to name it). */
typedef struct db_push_keys {
  size_t n;
  const char **op_ids;
  const char **collections;
  const char **ids;
} db_push_keys;

typedef struct db_conn db_conn;
typedef struct db_pool db_pool;

/* Backend operations. Each returns DB_OK, DB_NOTFOUND (where said) or DB_ERROR
** with a message in the connection (db_errmsg). */
typedef struct db_backend {
  const char *name;
  int (*connect)(const char *url, db_conn **ppConn, char *zErr, size_t nErr);
  void (*disconnect)(db_conn *conn);
  /* Bring the schema up to date: on data from before the u:/s: partition prefixes,
  ** every partition is renamed "s:NAME" when NAME is in legacy_spaces (a comma list,
  ** may be NULL) and "u:NAME" otherwise — once, marked done in the database. */
  int (*migrate)(db_conn *conn, const char *legacy_spaces, int64_t *pRenamed);
  /* keys (may be NULL) is a hint: what op_get/record_get are about to ask. A backend
  ** may also hold record_put/op_put writes back until push_end, as long as its own
  ** reads inside the push see them. */
  int (*push_begin)(db_conn *conn, const char *partition, const db_push_keys *keys, int64_t *pSeq);
  int (*push_end)(db_conn *conn, const char *partition, int64_t seq, int changed, int commit);
  int (*op_get)(db_conn *conn, const char *partition, const char *op_id, char **pzResult);
  int (*op_put)(db_conn *conn, const char *partition, const char *op_id, const char *result,
                int64_t now_ms);
  int (*record_get)(db_conn *conn, const char *partition, const char *collection, const char *id,
                    db_record *out);
  int (*record_put)(db_conn *conn, const char *partition, const db_record *rec, int64_t now_ms);
  /* At most limit rows; stops after the row that brings the page's data to
  ** max_bytes or more (so at least one row whatever its size). DB_ERROR when memory
  ** runs out (the request fails, the server goes on).
  ** known: the changes after cursor as the previous page counted them (its cursor carries
  ** it), or -1: then they are counted (a scan of everything after the cursor); with it, only
  ** whether any is left is looked up, and remaining is known minus this page (at least 1
  ** while any is left). Counting every page made pulling a partition quadratic in its size. */
  int (*pull)(db_conn *conn, const char *partition, int64_t cursor, int limit, size_t max_bytes,
              int64_t known, db_pull_page *page);
  /* Tombstones changed before horizon_ms go (raising the purge watermark), and op
  ** results created before op_horizon_ms (≤ horizon_ms: they outlive the tombstones,
  ** so an op in doubt across a purge is still answered `duplicate`). */
  int (*purge)(db_conn *conn, int64_t horizon_ms, int64_t op_horizon_ms, int64_t *pPurged);
  /* Optional: block up to timeout_ms for partitions changed by any server on the
  ** database; calls on_change(partition, ctx) for each. NULL for single-process backends. */
  int (*listen)(db_conn *conn, int timeout_ms, void (*on_change)(const char *, void *), void *ctx);
  const char *(*errmsg)(db_conn *conn);
} db_backend;

extern const db_backend db_sqlite_backend;
extern const db_backend db_pg_backend;

/* Open a pool of `size` connections for url (sqlite:PATH, postgres://…,
** postgresql://…, or a libpq "key=value" string starting with "postgres:"), and
** create or migrate the schema (legacy_spaces: see migrate). Returns DB_OK with
** *ppPool, or DB_ERROR with a message in zErr. */
int db_pool_open(const char *url, unsigned size, const char *legacy_spaces, db_pool **ppPool,
                 char *zErr, size_t nErr);
/* The same over a backend given directly and its target (the URL without its scheme):
** what the simulation and the unit tests use to run sync.c over a wrapped backend. */
int db_pool_open_backend(const db_backend *backend, const char *target, unsigned size,
                         const char *legacy_spaces, db_pool **ppPool, char *zErr, size_t nErr);
/* The SQLite file the pool stores into (NULL for PostgreSQL): never served as a file. */
const char *db_pool_file(const db_pool *pool);
void db_pool_close(db_pool *pool);
const db_backend *db_pool_backend(const db_pool *pool);
/* True when changes must be announced through the backend (listen) rather than
** in-process: several servers may share the database. */
int db_pool_shared(const db_pool *pool);
/* Open one more connection outside the pool (the LISTEN thread). */
int db_pool_connect_extra(db_pool *pool, db_conn **ppConn, char *zErr, size_t nErr);

/* Take a connection (blocks until one is free); give it back. A
** backend reconnects a broken connection itself at the start of its next call. */
db_conn *db_acquire(db_pool *pool);
void db_release(db_pool *pool, db_conn *conn);

/* Whether pushes to one partition should be combined into one transaction (group
** commit, writers.h): PostgreSQL, where a transaction costs round trips and a lock
** hand-over between server processes; SQLite's in-process transaction is left alone. */
int db_pool_batches(const db_pool *pool);

void db_record_clear(db_record *rec);
void db_pull_page_clear(db_pull_page *page);
/* A page's remaining (the pull backends): with known < 0, found is the count; else found
** says whether any change is left, and remaining is known less this page's count, at least
** 1 while any is left and 0 when none is. */
int64_t db_remaining(int64_t known, size_t count, int64_t found);
/* Duplicate a string (NULL stays NULL); aborts on out of memory. */
char *db_strdup(const char *s);
/* Duplicate n bytes of s as a string into *pOut (NULL stays NULL); -1 when out of
** memory (for what a request reads in bulk: failing that request, not the server). */
int db_strndup_try(const char *s, size_t n, char **pOut);

#endif /* SRV_DB_H */
