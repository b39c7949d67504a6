/*
** db_pg.c — the PostgreSQL backend (libpq), for several stateless servers on
** one database. The sequence-gap rule of db.h: a push first upserts its
** partition's row with `... ON CONFLICT DO UPDATE ... RETURNING seq`, which takes
** that row's lock; the lock is held until COMMIT, so two pushes to one partition
** allocate and commit their seqs one after the other, and a reader (REPEATABLE
** READ snapshot) that sees seq n+1 also sees every seq <= n. Pushes to different
** partitions never wait for each other. Commits that applied something NOTIFY
** channel `syncore` with the partition as payload (delivered at COMMIT), which
** every server's LISTEN connection turns into SSE pokes.
** Tables are prefixed `syncore_` so the database can be shared with other uses.
*/
#include "db.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7382901"
#define PURGE_LOCK_KEY "7382902"

static const char schema_sql[] =
  "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ");"
  "CREATE TABLE IF NOT EXISTS syncore_partitions(name text PRIMARY KEY,"
  " seq bigint NOT NULL DEFAULT 0, purged_seq bigint NOT NULL DEFAULT 0);"
  "CREATE TABLE IF NOT EXISTS syncore_records(partition text NOT NULL, collection text NOT NULL,"
  " id text NOT NULL, version bigint NOT NULL, data text, updated_at text NOT NULL,"
  " deleted_at text, hlc text NOT NULL, device_id text NOT NULL, seq bigint NOT NULL,"
  " changed_ms bigint NOT NULL, PRIMARY KEY(partition, collection, id));"
  "CREATE UNIQUE INDEX IF NOT EXISTS syncore_records_by_seq ON syncore_records(partition, seq);"
  "CREATE INDEX IF NOT EXISTS syncore_records_tombstones ON syncore_records(changed_ms)"
  " WHERE deleted_at IS NOT NULL;"
  "CREATE TABLE IF NOT EXISTS syncore_op_results(partition text NOT NULL, op_id text NOT NULL,"
  " result text NOT NULL, created_ms bigint NOT NULL, PRIMARY KEY(partition, op_id));"
  "CREATE INDEX IF NOT EXISTS syncore_op_results_by_age ON syncore_op_results(created_ms);"
  "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ");";

enum { ST_PART_LOCK, ST_PART_SET, ST_NOTIFY, ST_PART_GET, ST_OP_GET, ST_OP_PUT, ST_REC_GET,
       ST_REC_PUT, ST_PULL, ST_COUNT, ST__N };

static const struct { const char *name, *sql; int nparams; } stmts[ST__N] = {
  {"part_lock", "INSERT INTO syncore_partitions(name) VALUES($1) ON CONFLICT (name)"
                " DO UPDATE SET seq = syncore_partitions.seq RETURNING seq", 1},
  {"part_set", "UPDATE syncore_partitions SET seq=$2 WHERE name=$1", 2},
  {"notify", "SELECT pg_notify('syncore', $1)", 1},
  {"part_get", "SELECT seq, purged_seq FROM syncore_partitions WHERE name=$1", 1},
  {"op_get", "SELECT result FROM syncore_op_results WHERE partition=$1 AND op_id=$2", 2},
  {"op_put", "INSERT INTO syncore_op_results(partition, op_id, result, created_ms)"
             " VALUES($1,$2,$3,$4) ON CONFLICT (partition, op_id) DO UPDATE SET result=excluded.result", 4},
  {"rec_get", "SELECT version, data, updated_at, deleted_at, hlc, device_id, seq FROM syncore_records"
              " WHERE partition=$1 AND collection=$2 AND id=$3", 3},
  {"rec_put", "INSERT INTO syncore_records(partition, collection, id, version, data, updated_at,"
              " deleted_at, hlc, device_id, seq, changed_ms) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
              " ON CONFLICT (partition, collection, id) DO UPDATE SET version=excluded.version,"
              " data=excluded.data, updated_at=excluded.updated_at, deleted_at=excluded.deleted_at,"
              " hlc=excluded.hlc, device_id=excluded.device_id, seq=excluded.seq,"
              " changed_ms=excluded.changed_ms", 11},
  /* Rows up to and including the one whose data brings the page to $4 bytes;
  ** octet_length reads a TOASTed value's size without fetching it. */
  {"pull", "SELECT seq, collection, id, version, data, updated_at, deleted_at, hlc, device_id FROM"
           " (SELECT seq, collection, id, version, data, updated_at, deleted_at, hlc, device_id,"
           " coalesce(octet_length(data), 0) + 256 AS size,"
           " sum(coalesce(octet_length(data), 0) + 256) OVER (ORDER BY seq) AS upto"
           " FROM syncore_records WHERE partition=$1 AND seq>$2 ORDER BY seq LIMIT $3) page"
           " WHERE upto - size < $4 ORDER BY seq", 4},
  {"count", "SELECT count(*) FROM syncore_records WHERE partition=$1 AND seq>$2", 2},
};

struct db_conn {
  PGconn *pg;
  int listening;
  char err[512];
};

static int fail_with(db_conn *c, const char *what, const PGresult *res) {
  const char *msg = res ? PQresultErrorMessage(res) : "";
  if (!msg || !*msg) msg = PQerrorMessage(c->pg);
  snprintf(c->err, sizeof c->err, "postgres %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
  return DB_ERROR;
}

static int exec_simple(db_conn *c, const char *sql) {
  PGresult *res = PQexec(c->pg, sql);
  ExecStatusType st = PQresultStatus(res);
  int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? DB_OK : fail_with(c, sql, res);
  PQclear(res);
  return rc;
}

static int prepare_all(db_conn *c) {
  for (int i = 0; i < ST__N; i++) {
    PGresult *res = PQprepare(c->pg, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) fail_with(c, stmts[i].name, res);
    PQclear(res);
    if (!ok) return DB_ERROR;
  }
  return DB_OK;
}

/* Reconnect a connection the server dropped (restart, network) before using it. */
static int ensure_alive(db_conn *c) {
  if (PQstatus(c->pg) == CONNECTION_OK) return DB_OK;
  PQreset(c->pg);
  if (PQstatus(c->pg) != CONNECTION_OK) return fail_with(c, "reconnecting", NULL);
  c->listening = 0;
  return prepare_all(c);
}

static PGresult *run(db_conn *c, int which, const char *const *params) {
  return PQexecPrepared(c->pg, stmts[which].name, stmts[which].nparams, params, NULL, NULL, 0);
}

static char *val_dup(const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col)) return NULL;
  return db_strdup(PQgetvalue(res, row, col));
}

static int val_dup_try(const PGresult *res, int row, int col, char **pOut) {
  if (PQgetisnull(res, row, col)) { *pOut = NULL; return 0; }
  return db_strndup_try(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col), pOut);
}

static void pg_disconnect(db_conn *c) {
  if (!c) return;
  PQfinish(c->pg);
  free(c);
}

static int pg_connect(const char *url, db_conn **ppConn, char *zErr, size_t nErr) {
  db_conn *c = calloc(1, sizeof *c);
  if (!c) abort();
  *ppConn = NULL;
  c->pg = PQconnectdb(url);
  if (PQstatus(c->pg) != CONNECTION_OK) {
    snprintf(zErr, nErr, "postgres: cannot connect: %.*s", (int)strcspn(PQerrorMessage(c->pg), "\n"),
             PQerrorMessage(c->pg));
    goto fail;
  }
  exec_simple(c, "SET client_min_messages = warning");
  if (exec_simple(c, schema_sql) != DB_OK || prepare_all(c) != DB_OK) {
    snprintf(zErr, nErr, "%s", c->err);
    goto fail;
  }
  *ppConn = c;
  return DB_OK;
fail:
  pg_disconnect(c);
  return DB_ERROR;
}

/* Schema step "partition_prefixes" (syncore_meta): partition names carry their
** kind, "u:" + sub or "s:" + space; earlier data named a partition by the bare
** claim. Run once, under the migration lock, by whichever server gets there first. */
static int pg_migrate(db_conn *c, const char *legacy_spaces, int64_t *pRenamed) {
  static const char *const rename_sql[] = {
    "UPDATE syncore_partitions SET name = CASE WHEN name = ANY(string_to_array($1, ','))"
    " THEN 's:' || name ELSE 'u:' || name END",
    "UPDATE syncore_records SET partition = CASE WHEN partition = ANY(string_to_array($1, ','))"
    " THEN 's:' || partition ELSE 'u:' || partition END",
    "UPDATE syncore_op_results SET partition = CASE WHEN partition = ANY(string_to_array($1, ','))"
    " THEN 's:' || partition ELSE 'u:' || partition END",
  };
  const char *params[1] = {legacy_spaces ? legacy_spaces : ""};
  PGresult *res = NULL;
  *pRenamed = 0;
  if (exec_simple(c, "BEGIN") != DB_OK) return DB_ERROR;
  if (exec_simple(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")") != DB_OK ||
      exec_simple(c, "CREATE TABLE IF NOT EXISTS syncore_meta(key text PRIMARY KEY, value text NOT NULL)") != DB_OK)
    goto fail;
  res = PQexec(c->pg, "SELECT 1 FROM syncore_meta WHERE key = 'partition_prefixes'");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "reading the schema version", res); goto fail; }
  int done = PQntuples(res) == 1;
  PQclear(res);
  res = NULL;
  for (int i = 0; !done && i < 3; i++) {
    res = PQexecParams(c->pg, rename_sql[i], 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) { fail_with(c, "renaming partitions", res); goto fail; }
    if (i == 0) *pRenamed = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    res = NULL;
  }
  if (!done && exec_simple(c, "INSERT INTO syncore_meta(key, value) VALUES('partition_prefixes', '1')") != DB_OK)
    goto fail;
  return exec_simple(c, "COMMIT");
fail:
  PQclear(res);
  exec_simple(c, "ROLLBACK");
  return DB_ERROR;
}

static int pg_push_begin(db_conn *c, const char *partition, int64_t *pSeq) {
  if (ensure_alive(c) != DB_OK || exec_simple(c, "BEGIN") != DB_OK) return DB_ERROR;
  const char *params[1] = {partition};
  PGresult *res = run(c, ST_PART_LOCK, params);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    fail_with(c, "locking the partition", res);
    PQclear(res);
    exec_simple(c, "ROLLBACK");
    return DB_ERROR;
  }
  *pSeq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return DB_OK;
}

static int pg_push_end(db_conn *c, const char *partition, int64_t seq, int changed, int commit) {
  int rc = DB_OK;
  if (commit && changed) {
    char seq_text[24];
    snprintf(seq_text, sizeof seq_text, "%lld", (long long)seq);
    const char *params[2] = {partition, seq_text};
    PGresult *res = run(c, ST_PART_SET, params);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) rc = fail_with(c, "storing the seq", res);
    PQclear(res);
    if (rc == DB_OK) {
      res = run(c, ST_NOTIFY, params);
      if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = fail_with(c, "notify", res);
      PQclear(res);
    }
  }
  if (commit && rc == DB_OK) return exec_simple(c, "COMMIT");
  char keep[512];
  memcpy(keep, c->err, sizeof keep);
  exec_simple(c, "ROLLBACK");
  memcpy(c->err, keep, sizeof keep);
  return commit ? rc : DB_OK;
}

static int pg_op_get(db_conn *c, const char *partition, const char *op_id, char **pzResult) {
  const char *params[2] = {partition, op_id};
  PGresult *res = run(c, ST_OP_GET, params);
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = fail_with(c, "reading op results", res);
  else if (PQntuples(res) == 0) rc = DB_NOTFOUND;
  else { *pzResult = val_dup(res, 0, 0); rc = DB_OK; }
  PQclear(res);
  return rc;
}

static int pg_op_put(db_conn *c, const char *partition, const char *op_id, const char *result,
                     int64_t now_ms) {
  char ms[24];
  snprintf(ms, sizeof ms, "%lld", (long long)now_ms);
  const char *params[4] = {partition, op_id, result, ms};
  PGresult *res = run(c, ST_OP_PUT, params);
  int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : fail_with(c, "storing an op result", res);
  PQclear(res);
  return rc;
}

static int pg_record_get(db_conn *c, const char *partition, const char *collection, const char *id,
                         db_record *out) {
  const char *params[3] = {partition, collection, id};
  PGresult *res = run(c, ST_REC_GET, params);
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = fail_with(c, "reading a record", res);
  else if (PQntuples(res) == 0) rc = DB_NOTFOUND;
  else {
    out->collection = db_strdup(collection);
    out->id = db_strdup(id);
    out->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->data = val_dup(res, 0, 1);
    out->updated_at = val_dup(res, 0, 2);
    out->deleted_at = val_dup(res, 0, 3);
    out->hlc = val_dup(res, 0, 4);
    out->device_id = val_dup(res, 0, 5);
    out->seq = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    rc = DB_OK;
  }
  PQclear(res);
  return rc;
}

static int pg_record_put(db_conn *c, const char *partition, const db_record *r, int64_t now_ms) {
  char version[24], seq[24], ms[24];
  snprintf(version, sizeof version, "%lld", (long long)r->version);
  snprintf(seq, sizeof seq, "%lld", (long long)r->seq);
  snprintf(ms, sizeof ms, "%lld", (long long)now_ms);
  const char *params[11] = {partition, r->collection, r->id, version, r->data, r->updated_at,
                            r->deleted_at, r->hlc, r->device_id, seq, ms};
  PGresult *res = run(c, ST_REC_PUT, params);
  int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : fail_with(c, "writing a record", res);
  PQclear(res);
  return rc;
}

static int pg_pull(db_conn *c, const char *partition, int64_t cursor, int limit, size_t max_bytes,
                   db_pull_page *page) {
  char cursor_text[24], limit_text[24], last_text[24], bytes_text[24];
  PGresult *res = NULL;
  memset(page, 0, sizeof *page);
  if (ensure_alive(c) != DB_OK) return DB_ERROR;
  if (exec_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != DB_OK) return DB_ERROR;
  const char *p1[1] = {partition};
  res = run(c, ST_PART_GET, p1);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "reading the partition", res); goto fail; }
  if (PQntuples(res) == 1) {
    page->partition_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    page->purged_seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
  }
  PQclear(res);
  snprintf(cursor_text, sizeof cursor_text, "%lld", (long long)cursor);
  snprintf(limit_text, sizeof limit_text, "%d", limit);
  snprintf(bytes_text, sizeof bytes_text, "%zu", max_bytes);
  const char *p4[4] = {partition, cursor_text, limit_text, bytes_text};
  res = run(c, ST_PULL, p4);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "pulling", res); goto fail; }
  int n = PQntuples(res);
  page->rows = calloc((size_t)(n ? n : 1), sizeof *page->rows);
  if (!page->rows) { snprintf(c->err, sizeof c->err, "out of memory for a page"); goto fail; }
  int64_t last = cursor;
  for (int i = 0; i < n; i++) {
    db_record *r = &page->rows[page->count++];
    r->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    r->version = strtoll(PQgetvalue(res, i, 3), NULL, 10);
    if (val_dup_try(res, i, 1, &r->collection) || val_dup_try(res, i, 2, &r->id) ||
        val_dup_try(res, i, 4, &r->data) || val_dup_try(res, i, 5, &r->updated_at) ||
        val_dup_try(res, i, 6, &r->deleted_at) || val_dup_try(res, i, 7, &r->hlc) ||
        val_dup_try(res, i, 8, &r->device_id)) {
      snprintf(c->err, sizeof c->err, "out of memory while reading a page");
      goto fail;
    }
    last = r->seq;
  }
  PQclear(res);
  snprintf(last_text, sizeof last_text, "%lld", (long long)last);
  const char *p2[2] = {partition, last_text};
  res = run(c, ST_COUNT, p2);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "counting", res); goto fail; }
  page->remaining = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  if (exec_simple(c, "COMMIT") != DB_OK) goto fail_done;
  return DB_OK;
fail:
  PQclear(res);
  exec_simple(c, "ROLLBACK");
fail_done:
  db_pull_page_clear(page);
  return DB_ERROR;
}

static int pg_purge(db_conn *c, int64_t horizon_ms, int64_t *pPurged) {
  char h[24];
  PGresult *res = NULL;
  *pPurged = 0;
  snprintf(h, sizeof h, "%lld", (long long)horizon_ms);
  const char *params[1] = {h};
  if (ensure_alive(c) != DB_OK || exec_simple(c, "BEGIN") != DB_OK) return DB_ERROR;
  /* One sweeper at a time across servers; partitions locked before records, in
  ** name order, as pushes lock them (partition first), so no deadlock. */
  res = PQexec(c->pg, "SELECT pg_try_advisory_xact_lock(" PURGE_LOCK_KEY ")");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "purge lock", res); goto fail; }
  int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  res = NULL;
  if (!got) return exec_simple(c, "COMMIT");
  res = PQexecParams(c->pg,
      "SELECT name FROM syncore_partitions WHERE name IN (SELECT DISTINCT partition FROM"
      " syncore_records WHERE deleted_at IS NOT NULL AND changed_ms < $1) ORDER BY name FOR UPDATE",
      1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "purge", res); goto fail; }
  PQclear(res);
  res = PQexecParams(c->pg,
      "WITH d AS (DELETE FROM syncore_records WHERE deleted_at IS NOT NULL AND changed_ms < $1"
      " RETURNING partition, seq), m AS (SELECT partition, max(seq) mx, count(*) n FROM d GROUP BY partition),"
      " u AS (UPDATE syncore_partitions p SET purged_seq = GREATEST(p.purged_seq, m.mx) FROM m"
      " WHERE p.name = m.partition RETURNING 1) SELECT coalesce(sum(n), 0) FROM m",
      1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "purge", res); goto fail; }
  *pPurged = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  res = PQexecParams(c->pg, "DELETE FROM syncore_op_results WHERE created_ms < $1", 1, NULL, params,
                     NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) { fail_with(c, "purge", res); goto fail; }
  PQclear(res);
  return exec_simple(c, "COMMIT");
fail:
  PQclear(res);
  exec_simple(c, "ROLLBACK");
  return DB_ERROR;
}

static int pg_listen(db_conn *c, int timeout_ms, void (*on_change)(const char *, void *), void *ctx) {
  if (PQstatus(c->pg) != CONNECTION_OK) return fail_with(c, "listen", NULL);
  if (!c->listening) {
    if (exec_simple(c, "LISTEN syncore") != DB_OK) return DB_ERROR;
    c->listening = 1;
  }
  struct pollfd pfd = {PQsocket(c->pg), POLLIN, 0};
  if (pfd.fd < 0) return fail_with(c, "listen socket", NULL);
  if (poll(&pfd, 1, timeout_ms) < 0) return DB_OK;
  if (PQconsumeInput(c->pg) == 0) return fail_with(c, "listen", NULL);
  PGnotify *n;
  while ((n = PQnotifies(c->pg)) != NULL) {
    on_change(n->extra, ctx);
    PQfreemem(n);
  }
  return DB_OK;
}

static const char *pg_errmsg(db_conn *c) { return c->err; }

const db_backend db_pg_backend = {
  .name = "postgres",
  .connect = pg_connect,
  .disconnect = pg_disconnect,
  .migrate = pg_migrate,
  .push_begin = pg_push_begin,
  .push_end = pg_push_end,
  .op_get = pg_op_get,
  .op_put = pg_op_put,
  .record_get = pg_record_get,
  .record_put = pg_record_put,
  .pull = pg_pull,
  .purge = pg_purge,
  .listen = pg_listen,
  .errmsg = pg_errmsg,
};
