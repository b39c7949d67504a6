/*
** db_sqlite.c — the embedded storage backend (SQLite, WAL). One server process
** owns the file: writers are serialized by a process-wide mutex plus BEGIN
** IMMEDIATE, so one push transaction runs at a time and every seq is allocated
** and committed before the next push starts (the sequence-gap rule of db.h holds
** trivially). Readers (pull) run concurrently on their own WAL snapshots.
** Several server processes on one SQLite file are not supported: use PostgreSQL.
*/
#include "db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  ST_PART_ENSURE, ST_PART_GET, ST_PART_SET, ST_OP_GET, ST_OP_PUT, ST_REC_GET, ST_REC_PUT,
  ST_PULL, ST_COUNT, ST_MORE, ST_BEGIN_W, ST_BEGIN_R, ST_COMMIT, ST_ROLLBACK, ST__N
};

static const char *const stmt_sql[ST__N] = {
  "INSERT OR IGNORE INTO partitions(name) VALUES(?1)",
  "SELECT seq, purged_seq FROM partitions WHERE name=?1",
  "UPDATE partitions SET seq=?2 WHERE name=?1",
  "SELECT result FROM op_results WHERE partition=?1 AND op_id=?2",
  "INSERT OR REPLACE INTO op_results(partition, op_id, result, created_ms) VALUES(?1,?2,?3,?4)",
  "SELECT version, data, updated_at, deleted_at, hlc, device_id, seq FROM records"
  " WHERE partition=?1 AND collection=?2 AND id=?3",
  "INSERT INTO records(partition, collection, id, version, data, updated_at, deleted_at, hlc,"
  " device_id, seq, changed_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
  " ON CONFLICT(partition, collection, id) DO UPDATE SET version=excluded.version,"
  " data=excluded.data, updated_at=excluded.updated_at, deleted_at=excluded.deleted_at,"
  " hlc=excluded.hlc, device_id=excluded.device_id, seq=excluded.seq,"
  " changed_ms=excluded.changed_ms",
  "SELECT seq, collection, id, version, data, updated_at, deleted_at, hlc, device_id"
  " FROM records WHERE partition=?1 AND seq>?2 ORDER BY seq LIMIT ?3",
  "SELECT count(*) FROM records WHERE partition=?1 AND seq>?2",
  "SELECT EXISTS(SELECT 1 FROM records WHERE partition=?1 AND seq>?2)",
  "BEGIN IMMEDIATE",
  "BEGIN",
  "COMMIT",
  "ROLLBACK",
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS partitions(name TEXT PRIMARY KEY, seq INTEGER NOT NULL DEFAULT 0,"
  " purged_seq INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE IF NOT EXISTS records(partition TEXT NOT NULL, collection TEXT NOT NULL,"
  " id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT, updated_at TEXT NOT NULL,"
  " deleted_at TEXT, hlc TEXT NOT NULL, device_id TEXT NOT NULL, seq INTEGER NOT NULL,"
  " changed_ms INTEGER NOT NULL, PRIMARY KEY(partition, collection, id)) WITHOUT ROWID;"
  "CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records(partition, seq);"
  "CREATE INDEX IF NOT EXISTS records_tombstones ON records(changed_ms)"
  " WHERE deleted_at IS NOT NULL;"
  "CREATE TABLE IF NOT EXISTS op_results(partition TEXT NOT NULL, op_id TEXT NOT NULL,"
  " result TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(partition, op_id)) WITHOUT ROWID;"
  "CREATE INDEX IF NOT EXISTS op_results_by_age ON op_results(created_ms);";

/* Process-wide: one writer at a time, without spinning in SQLite's busy handler. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

struct db_conn {
  sqlite3 *db;
  sqlite3_stmt *st[ST__N];
  char err[512];
};

static int fail_with(db_conn *c, const char *what) {
  snprintf(c->err, sizeof c->err, "sqlite %s: %s", what, sqlite3_errmsg(c->db));
  return DB_ERROR;
}

/* Run a statement with no result rows (reset afterwards). */
static int step_done(db_conn *c, int which) {
  sqlite3_stmt *st = c->st[which];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return fail_with(c, stmt_sql[which]);
  return DB_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return NULL;
  return db_strdup((const char *)sqlite3_column_text(st, i));
}

static void sq_disconnect(db_conn *c) {
  if (!c) return;
  for (int i = 0; i < ST__N; i++) sqlite3_finalize(c->st[i]);
  sqlite3_close(c->db);
  free(c);
}

static int sq_connect(const char *path, db_conn **ppConn, char *zErr, size_t nErr) {
  db_conn *c = calloc(1, sizeof *c);
  if (!c) abort();
  *ppConn = NULL;
  if (strcmp(path, ":memory:") == 0 || path[0] == 0) {
    snprintf(zErr, nErr, "sqlite: give a file path (every worker opens its own connection)");
    goto fail;
  }
  if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    snprintf(zErr, nErr, "sqlite: cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
    goto fail;
  }
  sqlite3_busy_timeout(c->db, 10000);
  if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL)
          != SQLITE_OK ||
      sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
    snprintf(zErr, nErr, "sqlite: setting up %s: %s", path, sqlite3_errmsg(c->db));
    goto fail;
  }
  for (int i = 0; i < ST__N; i++) {
    if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) != SQLITE_OK) {
      snprintf(zErr, nErr, "sqlite: preparing %s: %s", stmt_sql[i], sqlite3_errmsg(c->db));
      goto fail;
    }
  }
  *ppConn = c;
  return DB_OK;
fail:
  sq_disconnect(c);
  return DB_ERROR;
}

/* Schema version 1 (PRAGMA user_version): partition names carry their kind,
** "u:" + sub or "s:" + space. Earlier data named a partition by the bare claim. */
static int sq_migrate(db_conn *c, const char *legacy_spaces, int64_t *pRenamed) {
  static const char *const rename_sql[] = {
    "UPDATE partitions SET name = CASE WHEN instr(','||?1||',', ','||name||',') > 0"
    " THEN 's:'||name ELSE 'u:'||name END",
    "UPDATE records SET partition = CASE WHEN instr(','||?1||',', ','||partition||',') > 0"
    " THEN 's:'||partition ELSE 'u:'||partition END",
    "UPDATE op_results SET partition = CASE WHEN instr(','||?1||',', ','||partition||',') > 0"
    " THEN 's:'||partition ELSE 'u:'||partition END",
  };
  sqlite3_stmt *st = NULL;
  int version = 0;
  *pRenamed = 0;
  pthread_mutex_lock(&write_mu);
  if (step_done(c, ST_BEGIN_W) != DB_OK) { pthread_mutex_unlock(&write_mu); return DB_ERROR; }
  if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) goto fail;
  if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  st = NULL;
  if (version < 1) {
    for (int i = 0; i < 3; i++) {
      if (sqlite3_prepare_v2(c->db, rename_sql[i], -1, &st, NULL) != SQLITE_OK) goto fail;
      sqlite3_bind_text(st, 1, legacy_spaces ? legacy_spaces : "", -1, SQLITE_STATIC);
      int rc = sqlite3_step(st);
      sqlite3_finalize(st);
      st = NULL;
      if (rc != SQLITE_DONE) goto fail;
      if (i == 0) *pRenamed = sqlite3_changes(c->db);
    }
    if (sqlite3_exec(c->db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK) goto fail;
  }
  if (step_done(c, ST_COMMIT) != DB_OK) goto fail;
  pthread_mutex_unlock(&write_mu);
  return DB_OK;
fail:
  fail_with(c, "migrating the partition names");
  sqlite3_finalize(st);
  step_done(c, ST_ROLLBACK);
  pthread_mutex_unlock(&write_mu);
  return DB_ERROR;
}

static int sq_push_begin(db_conn *c, const char *partition, const db_push_keys *keys, int64_t *pSeq) {
  (void)keys;   /* in-process: a read costs no round trip */
  pthread_mutex_lock(&write_mu);
  if (step_done(c, ST_BEGIN_W) != DB_OK) goto fail;
  sqlite3_bind_text(c->st[ST_PART_ENSURE], 1, partition, -1, SQLITE_STATIC);
  if (step_done(c, ST_PART_ENSURE) != DB_OK) goto fail_tx;
  sqlite3_stmt *st = c->st[ST_PART_GET];
  sqlite3_bind_text(st, 1, partition, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) { fail_with(c, "reading the partition"); sqlite3_reset(st); goto fail_tx; }
  *pSeq = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return DB_OK;
fail_tx:
  step_done(c, ST_ROLLBACK);
fail:
  pthread_mutex_unlock(&write_mu);
  return DB_ERROR;
}

static int sq_push_end(db_conn *c, const char *partition, int64_t seq, int changed, int commit) {
  int rc = DB_OK;
  if (commit && changed) {
    sqlite3_bind_text(c->st[ST_PART_SET], 1, partition, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->st[ST_PART_SET], 2, seq);
    rc = step_done(c, ST_PART_SET);
  }
  if (commit && rc == DB_OK) rc = step_done(c, ST_COMMIT);
  if (!commit || rc != DB_OK) {
    char keep[512];
    memcpy(keep, c->err, sizeof keep);
    step_done(c, ST_ROLLBACK);
    memcpy(c->err, keep, sizeof keep);
  }
  pthread_mutex_unlock(&write_mu);
  return commit ? rc : DB_OK;
}

static int sq_op_get(db_conn *c, const char *partition, const char *op_id, char **pzResult) {
  sqlite3_stmt *st = c->st[ST_OP_GET];
  sqlite3_bind_text(st, 1, partition, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, op_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  int out = DB_NOTFOUND;
  if (rc == SQLITE_ROW) { *pzResult = col_dup(st, 0); out = DB_OK; }
  else if (rc != SQLITE_DONE) out = fail_with(c, "reading op results");
  sqlite3_reset(st);
  return out;
}

static int sq_op_put(db_conn *c, const char *partition, const char *op_id, const char *result,
                     int64_t now_ms) {
  sqlite3_stmt *st = c->st[ST_OP_PUT];
  bind_text(st, 1, partition);
  bind_text(st, 2, op_id);
  bind_text(st, 3, result);
  sqlite3_bind_int64(st, 4, now_ms);
  return step_done(c, ST_OP_PUT);
}

static int sq_record_get(db_conn *c, const char *partition, const char *collection, const char *id,
                         db_record *out) {
  sqlite3_stmt *st = c->st[ST_REC_GET];
  bind_text(st, 1, partition);
  bind_text(st, 2, collection);
  bind_text(st, 3, id);
  int rc = sqlite3_step(st);
  int result = DB_NOTFOUND;
  if (rc == SQLITE_ROW) {
    out->collection = db_strdup(collection);
    out->id = db_strdup(id);
    out->version = sqlite3_column_int64(st, 0);
    out->data = col_dup(st, 1);
    out->updated_at = col_dup(st, 2);
    out->deleted_at = col_dup(st, 3);
    out->hlc = col_dup(st, 4);
    out->device_id = col_dup(st, 5);
    out->seq = sqlite3_column_int64(st, 6);
    result = DB_OK;
  } else if (rc != SQLITE_DONE) {
    result = fail_with(c, "reading a record");
  }
  sqlite3_reset(st);
  return result;
}

static int sq_record_put(db_conn *c, const char *partition, const db_record *r, int64_t now_ms) {
  sqlite3_stmt *st = c->st[ST_REC_PUT];
  bind_text(st, 1, partition);
  bind_text(st, 2, r->collection);
  bind_text(st, 3, r->id);
  sqlite3_bind_int64(st, 4, r->version);
  bind_text(st, 5, r->data);
  bind_text(st, 6, r->updated_at);
  bind_text(st, 7, r->deleted_at);
  bind_text(st, 8, r->hlc);
  bind_text(st, 9, r->device_id);
  sqlite3_bind_int64(st, 10, r->seq);
  sqlite3_bind_int64(st, 11, now_ms);
  return step_done(c, ST_REC_PUT);
}

/* Column i as a string owned by the caller; -1 when out of memory. */
static int col_dup_try(sqlite3_stmt *st, int i, char **pOut) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) { *pOut = NULL; return 0; }
  const char *text = (const char *)sqlite3_column_text(st, i);
  if (!text) { *pOut = NULL; return -1; }
  return db_strndup_try(text, (size_t)sqlite3_column_bytes(st, i), pOut);
}

/* Overhead counted per row besides its data (keys, ids, times, hlc). */
#define ROW_OVERHEAD 256

static int sq_pull(db_conn *c, const char *partition, int64_t cursor, int limit, size_t max_bytes,
                   int64_t known, db_pull_page *page) {
  memset(page, 0, sizeof *page);
  if (step_done(c, ST_BEGIN_R) != DB_OK) return DB_ERROR;
  sqlite3_stmt *st = c->st[ST_PART_GET];
  sqlite3_bind_text(st, 1, partition, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    page->partition_seq = sqlite3_column_int64(st, 0);
    page->purged_seq = sqlite3_column_int64(st, 1);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) { fail_with(c, "reading the partition"); goto fail; }
  st = c->st[ST_PULL];
  sqlite3_bind_text(st, 1, partition, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, cursor);
  sqlite3_bind_int(st, 3, limit);
  page->rows = calloc((size_t)limit, sizeof *page->rows);
  if (!page->rows) { sqlite3_reset(st); snprintf(c->err, sizeof c->err, "out of memory for a page"); goto fail; }
  int64_t last = cursor;
  size_t bytes = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    db_record *r = &page->rows[page->count++];
    r->seq = sqlite3_column_int64(st, 0);
    r->version = sqlite3_column_int64(st, 3);
    if (col_dup_try(st, 1, &r->collection) || col_dup_try(st, 2, &r->id) ||
        col_dup_try(st, 4, &r->data) || col_dup_try(st, 5, &r->updated_at) ||
        col_dup_try(st, 6, &r->deleted_at) || col_dup_try(st, 7, &r->hlc) ||
        col_dup_try(st, 8, &r->device_id)) {
      sqlite3_reset(st);
      snprintf(c->err, sizeof c->err, "out of memory while reading a page");
      goto fail;
    }
    last = r->seq;
    bytes += (size_t)sqlite3_column_bytes(st, 4) + ROW_OVERHEAD;
    if (bytes >= max_bytes) { rc = SQLITE_DONE; break; }
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) { fail_with(c, "pulling"); goto fail; }
  st = c->st[known < 0 ? ST_COUNT : ST_MORE];
  sqlite3_bind_text(st, 1, partition, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, last);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) page->remaining = db_remaining(known, page->count, sqlite3_column_int64(st, 0));
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) { fail_with(c, "counting"); goto fail; }
  step_done(c, ST_COMMIT);
  return DB_OK;
fail:
  step_done(c, ST_ROLLBACK);
  db_pull_page_clear(page);
  return DB_ERROR;
}

static int sq_purge(db_conn *c, int64_t horizon_ms, int64_t op_horizon_ms, int64_t *pPurged) {
  static const char *const sql[] = {
    "UPDATE partitions SET purged_seq = max(purged_seq, (SELECT max(seq) FROM records r"
    " WHERE r.partition=partitions.name AND r.deleted_at IS NOT NULL AND r.changed_ms < ?1))"
    " WHERE name IN (SELECT partition FROM records WHERE deleted_at IS NOT NULL AND changed_ms < ?1)",
    "DELETE FROM records WHERE deleted_at IS NOT NULL AND changed_ms < ?1",
    "DELETE FROM op_results WHERE created_ms < ?1",
  };
  int64_t purged = 0;
  pthread_mutex_lock(&write_mu);
  if (step_done(c, ST_BEGIN_W) != DB_OK) { pthread_mutex_unlock(&write_mu); return DB_ERROR; }
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql[i], -1, &st, NULL) != SQLITE_OK) goto fail;
    sqlite3_bind_int64(st, 1, i == 2 ? op_horizon_ms : horizon_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) goto fail;
    if (i == 1) purged = sqlite3_changes(c->db);
  }
  if (step_done(c, ST_COMMIT) != DB_OK) goto fail;
  pthread_mutex_unlock(&write_mu);
  *pPurged = purged;
  return DB_OK;
fail:
  fail_with(c, "purging tombstones");
  step_done(c, ST_ROLLBACK);
  pthread_mutex_unlock(&write_mu);
  return DB_ERROR;
}

static const char *sq_errmsg(db_conn *c) { return c->err; }

const db_backend db_sqlite_backend = {
  .name = "sqlite",
  .connect = sq_connect,
  .disconnect = sq_disconnect,
  .migrate = sq_migrate,
  .push_begin = sq_push_begin,
  .push_end = sq_push_end,
  .op_get = sq_op_get,
  .op_put = sq_op_put,
  .record_get = sq_record_get,
  .record_put = sq_record_put,
  .pull = sq_pull,
  .purge = sq_purge,
  .listen = NULL,
  .errmsg = sq_errmsg,
};
