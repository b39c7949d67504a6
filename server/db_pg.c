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
** Round trips: a push costs two, whatever its number of ops. push_begin sends
** BEGIN, the partition lock and one query for the op_ids and one for the record
** keys the push names (db_push_keys, as array parameters) in one libpq pipeline;
** the answers fill a per-push cache that op_get/record_get answer from (a key not
** named is read on demand and cached). record_put/op_put only update the cache;
** push_end sends one multi-row INSERT of the records read absent (unnest over
** arrays) and one upsert of the others, the same for the op results, the seq
** update with its NOTIFY and COMMIT in a second pipeline.
** The lock is held across those two trips only.
** Plans: every statement is prepared once per connection; the two lookups by key
** again as the tables grow (replan_due), since a generic plan made on a near-empty
** table read the whole partition per key.
** Tables are prefixed `syncore_` so the database can be shared with other uses.
*/
#include "db.h"
#include "buf.h"

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

enum { ST_PART_LOCK, ST_PART_SET, ST_PART_GET, ST_OP_GET, ST_REC_GET, ST_OPS_GET, ST_RECS_GET,
       ST_OPS_PUT, ST_RECS_PUT, ST_OPS_NEW, ST_RECS_NEW, ST_PULL, ST_COUNT, ST_MORE, ST__N };

/* replan: prepared again as the tables grow (replan_due); else prepared once per
** connection. */
static const struct { const char *name, *sql; int nparams, replan; } stmts[ST__N] = {
  {"part_lock", "INSERT INTO syncore_partitions(name) VALUES($1) ON CONFLICT (name)"
                " DO UPDATE SET seq = syncore_partitions.seq RETURNING seq", 1, 0},
  {"part_set", "WITH u AS (UPDATE syncore_partitions SET seq=$2 WHERE name=$1)"
               " SELECT pg_notify('syncore', $1)", 2, 0},
  {"part_get", "SELECT seq, purged_seq FROM syncore_partitions WHERE name=$1", 1, 0},
  {"op_get", "SELECT result FROM syncore_op_results WHERE partition=$1 AND op_id=$2", 2, 1},
  {"rec_get", "SELECT version, data, updated_at, deleted_at, hlc, device_id, seq FROM syncore_records"
              " WHERE partition=$1 AND collection=$2 AND id=$3", 3, 1},
  /* A push's keys as arrays: one statement text whatever their number (prepared
  ** once). Each key is looked up in the primary key by a LATERAL ... LIMIT 1 the
  ** planner cannot flatten: an IN list of (collection, id) pairs, or a plain join on
  ** unnest, were planned (on a young table's statistics) as a scan of the partition's
  ** whole collection — 2-3 ms at 10,000 records, under the partition lock; and
  ** `op_id = ANY(array)` as a bitmap scan, twice the time of the probes (0.22 ms
  ** against 0.09 per 90 op_ids). */
  {"ops_get", "SELECT k.op_id, r.result FROM unnest($2::text[]) AS k(op_id) CROSS JOIN LATERAL"
              " (SELECT result FROM syncore_op_results WHERE partition=$1 AND op_id=k.op_id LIMIT 1) r", 2, 1},
  {"recs_get", "SELECT k.collection, k.id, r.version, r.data, r.updated_at, r.deleted_at, r.hlc, r.device_id,"
               " r.seq FROM unnest($2::text[], $3::text[]) AS k(collection, id) CROSS JOIN LATERAL"
               " (SELECT version, data, updated_at, deleted_at, hlc, device_id, seq FROM syncore_records"
               " WHERE partition=$1 AND collection=k.collection AND id=k.id LIMIT 1) r", 3, 1},
  {"ops_put", "INSERT INTO syncore_op_results(partition, op_id, result, created_ms)"
              " SELECT $1::text, u.op_id, u.result, $4::bigint FROM unnest($2::text[], $3::text[]) AS u(op_id, result)"
              " ON CONFLICT (partition, op_id) DO UPDATE SET result=excluded.result", 4, 0},
  {"recs_put", "INSERT INTO syncore_records(partition, collection, id, version, data, updated_at, deleted_at,"
               " hlc, device_id, seq, changed_ms) SELECT $1::text, u.*, $11::bigint FROM unnest($2::text[],"
               " $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[]) AS u"
               " ON CONFLICT (partition, collection, id) DO UPDATE SET version=excluded.version,"
               " data=excluded.data, updated_at=excluded.updated_at, deleted_at=excluded.deleted_at,"
               " hlc=excluded.hlc, device_id=excluded.device_id, seq=excluded.seq,"
               " changed_ms=excluded.changed_ms", 11, 0},
  /* The same rows known new: read absent after the partition lock was taken, and
  ** only a holder of that lock writes them, so no conflict can arise. A plain INSERT
  ** skips the upsert's speculative insertion (its arbiter probe and confirm record):
  ** 90 records and 90 op results in 0.68 ms instead of 0.84-1.2. */
  {"ops_new", "INSERT INTO syncore_op_results(partition, op_id, result, created_ms)"
              " SELECT $1::text, u.op_id, u.result, $4::bigint FROM unnest($2::text[], $3::text[]) AS u(op_id, result)", 4, 0},
  {"recs_new", "INSERT INTO syncore_records(partition, collection, id, version, data, updated_at, deleted_at,"
               " hlc, device_id, seq, changed_ms) SELECT $1::text, u.*, $11::bigint FROM unnest($2::text[],"
               " $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[]) AS u",
               11, 0},
  /* Rows up to and including the one whose data brings the page to $4 bytes;
  ** octet_length reads a TOASTed value's size without fetching it. */
  {"pull", "SELECT seq, collection, id, version, data, updated_at, deleted_at, hlc, device_id FROM"
           " (SELECT seq, collection, id, version, data, updated_at, deleted_at, hlc, device_id,"
           " coalesce(octet_length(data), 0) + 256 AS size,"
           " sum(coalesce(octet_length(data), 0) + 256) OVER (ORDER BY seq) AS upto"
           " FROM syncore_records WHERE partition=$1 AND seq>$2 ORDER BY seq LIMIT $3) page"
           " WHERE upto - size < $4 ORDER BY seq", 4, 0},
  {"count", "SELECT count(*) FROM syncore_records WHERE partition=$1 AND seq>$2", 2, 0},
  {"more", "SELECT EXISTS(SELECT 1 FROM syncore_records WHERE partition=$1 AND seq>$2)::int", 2, 0},
};

/* One record key or op_id of the push in progress, as the database has it or as
** the push has written it (dirty: to be written at push_end). `stored`: the
** database held it when read; `unread`: written by the push without being read
** first, so whether the database holds it is not known (written by an upsert). */
typedef struct cached_rec {
  int found, dirty, stored, unread;
  db_record rec;       /* collection and id always set */
} cached_rec;
typedef struct cached_op {
  int found, dirty, stored, unread;
  char *op_id;
  char *result;
} cached_op;

struct db_conn {
  PGconn *pg;
  int listening;
  uint64_t pushes;     /* pushes begun on this connection (replan_due) */
  char err[512];
  /* the push in progress */
  cached_rec *recs;
  size_t nrecs, cap_recs;
  cached_op *ops;
  size_t nops, cap_ops;
  int64_t now_ms;
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

static int prepare_stmt(db_conn *c, int i) {
  PGresult *res = PQprepare(c->pg, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
  int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  if (!ok) fail_with(c, stmts[i].name, res);
  PQclear(res);
  return ok ? DB_OK : DB_ERROR;
}

static int prepare_all(db_conn *c) {
  for (int i = 0; i < ST__N; i++)
    if (prepare_stmt(c, i) != DB_OK) return DB_ERROR;
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

/* The lookups by key prepared anew (their cached plans dropped): see REPLAN_EVERY. */
static int prepare_lookups_again(db_conn *c) {
  for (int i = 0; i < ST__N; i++) {
    if (!stmts[i].replan) continue;
    char sql[64];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", stmts[i].name);
    if (exec_simple(c, sql) != DB_OK || prepare_stmt(c, i) != DB_OK) return DB_ERROR;
  }
  return DB_OK;
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

/* ---------------------------------------------------------------- push cache */

static void cache_clear(db_conn *c) {
  for (size_t i = 0; i < c->nrecs; i++) db_record_clear(&c->recs[i].rec);
  for (size_t i = 0; i < c->nops; i++) { free(c->ops[i].op_id); free(c->ops[i].result); }
  c->nrecs = c->nops = 0;
}

static cached_rec *cache_rec(db_conn *c, const char *collection, const char *id) {
  for (size_t i = c->nrecs; i-- > 0;)
    if (strcmp(c->recs[i].rec.id, id) == 0 && strcmp(c->recs[i].rec.collection, collection) == 0)
      return &c->recs[i];
  return NULL;
}

static cached_op *cache_op(db_conn *c, const char *op_id) {
  for (size_t i = c->nops; i-- > 0;)
    if (strcmp(c->ops[i].op_id, op_id) == 0) return &c->ops[i];
  return NULL;
}

static cached_rec *cache_rec_add(db_conn *c, const char *collection, const char *id) {
  if (c->nrecs == c->cap_recs) {
    size_t cap = c->cap_recs ? c->cap_recs * 2 : 32;
    cached_rec *grown = realloc(c->recs, cap * sizeof *grown);
    if (!grown) abort();
    c->recs = grown;
    c->cap_recs = cap;
  }
  cached_rec *e = &c->recs[c->nrecs++];
  memset(e, 0, sizeof *e);
  e->rec.collection = db_strdup(collection);
  e->rec.id = db_strdup(id);
  return e;
}

static cached_op *cache_op_add(db_conn *c, const char *op_id) {
  if (c->nops == c->cap_ops) {
    size_t cap = c->cap_ops ? c->cap_ops * 2 : 32;
    cached_op *grown = realloc(c->ops, cap * sizeof *grown);
    if (!grown) abort();
    c->ops = grown;
    c->cap_ops = cap;
  }
  cached_op *e = &c->ops[c->nops++];
  memset(e, 0, sizeof *e);
  e->op_id = db_strdup(op_id);
  return e;
}

/* Row `row` of a (version, data, updated_at, deleted_at, hlc, device_id, seq) result
** starting at column `col` into rec (collection/id kept). */
static void rec_from_row(const PGresult *res, int row, int col, db_record *rec) {
  rec->version = strtoll(PQgetvalue(res, row, col), NULL, 10);
  rec->data = PQgetisnull(res, row, col + 1) ? NULL : db_strdup(PQgetvalue(res, row, col + 1));
  rec->updated_at = PQgetisnull(res, row, col + 2) ? NULL : db_strdup(PQgetvalue(res, row, col + 2));
  rec->deleted_at = PQgetisnull(res, row, col + 3) ? NULL : db_strdup(PQgetvalue(res, row, col + 3));
  rec->hlc = PQgetisnull(res, row, col + 4) ? NULL : db_strdup(PQgetvalue(res, row, col + 4));
  rec->device_id = PQgetisnull(res, row, col + 5) ? NULL : db_strdup(PQgetvalue(res, row, col + 5));
  rec->seq = strtoll(PQgetvalue(res, row, col + 6), NULL, 10);
}

static void rec_copy(db_record *out, const db_record *in) {
  out->collection = db_strdup(in->collection);
  out->id = db_strdup(in->id);
  out->version = in->version;
  out->data = db_strdup(in->data);
  out->updated_at = db_strdup(in->updated_at);
  out->deleted_at = db_strdup(in->deleted_at);
  out->hlc = db_strdup(in->hlc);
  out->device_id = db_strdup(in->device_id);
  out->seq = in->seq;
}

/* ---------------------------------------------------------------- pipelines */

/* One statement of a pipeline: SQL text (or a prepared statement's name) and its
** parameters; res is filled by pipeline_run (the caller PQclears it). */
typedef struct pl_query {
  const char *sql;
  const char *prepared;
  int nparams;
  const char *const *params;
  PGresult *res;
} pl_query;

/* Statement `which` with its parameters as one entry of a pipeline. */
static pl_query pl_stmt(int which, const char *const *params) {
  pl_query q = {NULL, stmts[which].name, stmts[which].nparams, params, NULL};
  return q;
}

/* Send q[0..n) in one pipeline (one round trip) and collect the results. DB_OK
** when every statement succeeded, else DB_ERROR with the first error. */
static int pipeline_run(db_conn *c, pl_query *q, int n) {
  int rc = DB_OK, sent = 0;
  for (int i = 0; i < n; i++) q[i].res = NULL;
  if (PQenterPipelineMode(c->pg) != 1) return fail_with(c, "entering pipeline mode", NULL);
  for (; sent < n; sent++) {
    int ok = q[sent].prepared
        ? PQsendQueryPrepared(c->pg, q[sent].prepared, q[sent].nparams, q[sent].params, NULL, NULL, 0)
        : PQsendQueryParams(c->pg, q[sent].sql, q[sent].nparams, NULL, q[sent].params, NULL, NULL, 0);
    if (ok != 1) { rc = fail_with(c, "sending a pipeline", NULL); break; }
  }
  if (PQpipelineSync(c->pg) != 1 && rc == DB_OK) rc = fail_with(c, "syncing a pipeline", NULL);
  for (int i = 0; i < sent; i++) {
    PGresult *r;
    while ((r = PQgetResult(c->pg)) != NULL) {
      if (!q[i].res) q[i].res = r;
      else PQclear(r);
    }
    ExecStatusType st = q[i].res ? PQresultStatus(q[i].res) : PGRES_FATAL_ERROR;
    if (rc == DB_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      rc = fail_with(c, q[i].prepared ? q[i].prepared : "a batched statement", q[i].res);
  }
  PGresult *r;
  while ((r = PQgetResult(c->pg)) != NULL) {   /* the sync point */
    int is_sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (is_sync) break;
  }
  if (PQexitPipelineMode(c->pg) != 1 && rc == DB_OK) rc = fail_with(c, "leaving pipeline mode", NULL);
  return rc;
}

/* A PostgreSQL array literal ({"a","b",NULL}) built element by element: a push's
** keys and rows travel as one parameter per column, so every statement of a push
** has one text, prepared once, whatever the number of ops. */
typedef struct pg_array {
  srv_buf text;
  size_t count;
} pg_array;

static void arr_add(pg_array *a, const char *value) {
  buf_puts(&a->text, a->count++ ? "," : "{");
  if (!value) { buf_puts(&a->text, "NULL"); return; }
  buf_puts(&a->text, "\"");
  for (const char *p = value; *p;) {
    size_t run = strcspn(p, "\"\\");
    buf_append(&a->text, p, run);
    p += run;
    if (*p) {
      char escaped[2] = {'\\', *p++};
      buf_append(&a->text, escaped, 2);
    }
  }
  buf_puts(&a->text, "\"");
}

static void arr_add_int(pg_array *a, int64_t value) {
  buf_puts(&a->text, a->count++ ? "," : "{");
  buf_int(&a->text, value);
}

/* The literal (owned by a), or NULL when memory ran out while building it. */
static const char *arr_end(pg_array *a) {
  buf_puts(&a->text, a->count ? "}" : "{}");
  return a->text.failed ? NULL : a->text.data;
}

static void pg_disconnect(db_conn *c) {
  if (!c) return;
  cache_clear(c);
  free(c->recs);
  free(c->ops);
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

/* A prepared statement's plan is built for its parameters five times, then PostgreSQL
** may settle on a generic plan, kept until an ANALYZE or VACUUM of the table. On a
** fresh database that plan was made for a near-empty table: the lookups by key read
** the whole partition through the (partition, seq) index instead of the primary key,
** 3 ms and more per push under the partition lock, for the minute or more until
** autovacuum came. So a connection prepares them again after 16, 32, 64 … pushes
** (the tables have grown since, their size is what the planner estimates from), then
** every REPLAN_EVERY pushes: a few statements per thousands of pushes. */
#define REPLAN_FIRST 16
#define REPLAN_EVERY 4096

static int replan_due(db_conn *c) {
  c->pushes++;
  if (c->pushes < REPLAN_EVERY) return c->pushes >= REPLAN_FIRST && (c->pushes & (c->pushes - 1)) == 0;
  return c->pushes % REPLAN_EVERY == 0;
}

static int pg_push_begin(db_conn *c, const char *partition, const db_push_keys *keys, int64_t *pSeq) {
  pg_array op_ids = {0}, collections = {0}, ids = {0};
  size_t n = keys ? keys->n : 0;
  int rc = DB_OK;
  cache_clear(c);
  if (ensure_alive(c) != DB_OK) return DB_ERROR;
  if (replan_due(c) && prepare_lookups_again(c) != DB_OK) return DB_ERROR;
  for (size_t i = 0; i < n; i++) {
    if (keys->op_ids[i]) arr_add(&op_ids, keys->op_ids[i]);
    if (keys->collections[i] && keys->ids[i]) {
      arr_add(&collections, keys->collections[i]);
      arr_add(&ids, keys->ids[i]);
    }
  }
  const char *p1[1] = {partition};
  const char *pops[2] = {partition, arr_end(&op_ids)};
  const char *precs[3] = {partition, arr_end(&collections), arr_end(&ids)};
  pl_query q[4] = {
    {"BEGIN", NULL, 0, NULL, NULL},
    pl_stmt(ST_PART_LOCK, p1),
    pl_stmt(ST_OPS_GET, pops),
    pl_stmt(ST_RECS_GET, precs),
  };
  if (!pops[1] || !precs[1] || !precs[2]) {
    snprintf(c->err, sizeof c->err, "out of memory for the push's keys");
    rc = DB_ERROR;
    goto done;
  }
  rc = pipeline_run(c, q, 4);
  if (rc == DB_OK && PQntuples(q[1].res) != 1) rc = fail_with(c, "locking the partition", q[1].res);
  if (rc == DB_OK) {
    *pSeq = strtoll(PQgetvalue(q[1].res, 0, 0), NULL, 10);
    /* Every key asked for is cached: found (as stored) or known absent. */
    for (size_t i = 0; i < n; i++) {
      if (keys->op_ids[i] && !cache_op(c, keys->op_ids[i])) cache_op_add(c, keys->op_ids[i]);
      if (keys->collections[i] && keys->ids[i] && !cache_rec(c, keys->collections[i], keys->ids[i]))
        cache_rec_add(c, keys->collections[i], keys->ids[i]);
    }
    for (int i = 0; i < PQntuples(q[2].res); i++) {
      cached_op *e = cache_op(c, PQgetvalue(q[2].res, i, 0));
      if (e && !e->found) { e->found = e->stored = 1; e->result = db_strdup(PQgetvalue(q[2].res, i, 1)); }
    }
    for (int i = 0; i < PQntuples(q[3].res); i++) {
      cached_rec *e = cache_rec(c, PQgetvalue(q[3].res, i, 0), PQgetvalue(q[3].res, i, 1));
      if (e && !e->found) { e->found = e->stored = 1; rec_from_row(q[3].res, i, 2, &e->rec); }
    }
  }
  for (int i = 0; i < 4; i++) PQclear(q[i].res);
done:
  buf_free(&op_ids.text);
  buf_free(&collections.text);
  buf_free(&ids.text);
  if (rc != DB_OK) {
    char keep[512];
    memcpy(keep, c->err, sizeof keep);
    exec_simple(c, "ROLLBACK");
    memcpy(c->err, keep, sizeof keep);
    cache_clear(c);
  }
  return rc;
}

/* The dirty records, new ones (`fresh`: read absent) or the others, as the
** parameters of recs_new / recs_put; 0 when there are none. */
enum { REC_COLS = 9 };   /* collection, id, version, data, updated_at, deleted_at, hlc, device_id, seq */
static size_t rec_columns(db_conn *c, int fresh, pg_array *cols) {
  for (size_t i = 0; i < c->nrecs; i++) {
    const cached_rec *e = &c->recs[i];
    const db_record *r = &e->rec;
    if (!e->dirty || fresh != (!e->stored && !e->unread)) continue;
    arr_add(&cols[0], r->collection);
    arr_add(&cols[1], r->id);
    arr_add_int(&cols[2], r->version);
    arr_add(&cols[3], r->data);
    arr_add(&cols[4], r->updated_at);
    arr_add(&cols[5], r->deleted_at);
    arr_add(&cols[6], r->hlc);
    arr_add(&cols[7], r->device_id);
    arr_add_int(&cols[8], r->seq);
  }
  return cols[0].count;
}

/* The dirty op results, new or the others, as the parameters of ops_new / ops_put. */
static size_t op_columns(db_conn *c, int fresh, pg_array *op_ids, pg_array *results) {
  for (size_t i = 0; i < c->nops; i++) {
    const cached_op *e = &c->ops[i];
    if (!e->dirty || fresh != (!e->stored && !e->unread)) continue;
    arr_add(op_ids, e->op_id);
    arr_add(results, e->result);
  }
  return op_ids->count;
}

/* The push's writes — one multi-row INSERT of the records new to the partition, one
** upsert of the others, the same for the op results —, the seq and its NOTIFY, and
** COMMIT: one round trip. */
static int flush_and_commit(db_conn *c, const char *partition, int64_t seq, int changed) {
  pg_array cols[2][REC_COLS], op_ids[2], results[2];
  const char *prec[2][REC_COLS + 2], *pops[2][4];
  char now[24], seq_text[24];
  int rc = DB_OK, nq = 0, oom = 0;
  pl_query q[6];
  memset(cols, 0, sizeof cols);
  memset(op_ids, 0, sizeof op_ids);
  memset(results, 0, sizeof results);
  snprintf(now, sizeof now, "%lld", (long long)c->now_ms);
  snprintf(seq_text, sizeof seq_text, "%lld", (long long)seq);
  for (int fresh = 0; fresh < 2; fresh++) {
    if (rec_columns(c, fresh, cols[fresh])) {
      prec[fresh][0] = partition;
      for (int k = 0; k < REC_COLS; k++) oom |= !(prec[fresh][1 + k] = arr_end(&cols[fresh][k]));
      prec[fresh][REC_COLS + 1] = now;
      q[nq++] = pl_stmt(fresh ? ST_RECS_NEW : ST_RECS_PUT, prec[fresh]);
    }
  }
  for (int fresh = 0; fresh < 2; fresh++) {
    if (op_columns(c, fresh, &op_ids[fresh], &results[fresh])) {
      pops[fresh][0] = partition;
      oom |= !(pops[fresh][1] = arr_end(&op_ids[fresh]));
      oom |= !(pops[fresh][2] = arr_end(&results[fresh]));
      pops[fresh][3] = now;
      q[nq++] = pl_stmt(fresh ? ST_OPS_NEW : ST_OPS_PUT, pops[fresh]);
    }
  }
  const char *pset[2] = {partition, seq_text};
  if (changed) q[nq++] = pl_stmt(ST_PART_SET, pset);
  q[nq++] = (pl_query){"COMMIT", NULL, 0, NULL, NULL};
  if (oom) {
    snprintf(c->err, sizeof c->err, "out of memory for the push's rows");
    rc = DB_ERROR;
  } else {
    rc = pipeline_run(c, q, nq);
    for (int i = 0; i < nq; i++) PQclear(q[i].res);
  }
  for (int fresh = 0; fresh < 2; fresh++) {
    for (int k = 0; k < REC_COLS; k++) buf_free(&cols[fresh][k].text);
    buf_free(&op_ids[fresh].text);
    buf_free(&results[fresh].text);
  }
  return rc;
}

static int pg_push_end(db_conn *c, const char *partition, int64_t seq, int changed, int commit) {
  int rc = commit ? flush_and_commit(c, partition, seq, changed) : DB_OK;
  cache_clear(c);
  if (commit && rc == DB_OK) return DB_OK;
  char keep[512];
  memcpy(keep, c->err, sizeof keep);
  exec_simple(c, "ROLLBACK");   /* after a failed pipeline the transaction is aborted */
  memcpy(c->err, keep, sizeof keep);
  return commit ? rc : DB_OK;
}

static int pg_op_get(db_conn *c, const char *partition, const char *op_id, char **pzResult) {
  cached_op *e = cache_op(c, op_id);
  if (e) {
    if (!e->found) return DB_NOTFOUND;
    *pzResult = db_strdup(e->result);
    return DB_OK;
  }
  const char *params[2] = {partition, op_id};
  PGresult *res = run(c, ST_OP_GET, params);
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = fail_with(c, "reading op results", res);
  else if (PQntuples(res) == 0) rc = DB_NOTFOUND;
  else { *pzResult = val_dup(res, 0, 0); rc = DB_OK; }
  PQclear(res);
  if (rc != DB_ERROR) {
    e = cache_op_add(c, op_id);
    e->found = e->stored = rc == DB_OK;
    e->result = rc == DB_OK ? db_strdup(*pzResult) : NULL;
  }
  return rc;
}

static int pg_op_put(db_conn *c, const char *partition, const char *op_id, const char *result,
                     int64_t now_ms) {
  (void)partition;
  cached_op *e = cache_op(c, op_id);
  if (!e) { e = cache_op_add(c, op_id); e->unread = 1; }
  free(e->result);
  e->result = db_strdup(result);
  e->found = e->dirty = 1;
  c->now_ms = now_ms;
  return DB_OK;
}

static int pg_record_get(db_conn *c, const char *partition, const char *collection, const char *id,
                         db_record *out) {
  cached_rec *e = cache_rec(c, collection, id);
  if (e) {
    if (!e->found) return DB_NOTFOUND;
    rec_copy(out, &e->rec);
    return DB_OK;
  }
  const char *params[3] = {partition, collection, id};
  PGresult *res = run(c, ST_REC_GET, params);
  int rc;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = fail_with(c, "reading a record", res);
  else if (PQntuples(res) == 0) rc = DB_NOTFOUND;
  else {
    out->collection = db_strdup(collection);
    out->id = db_strdup(id);
    rec_from_row(res, 0, 0, out);
    rc = DB_OK;
  }
  PQclear(res);
  if (rc != DB_ERROR) {
    e = cache_rec_add(c, collection, id);
    if (rc == DB_OK) { db_record_clear(&e->rec); rec_copy(&e->rec, out); e->found = e->stored = 1; }
  }
  return rc;
}

static int pg_record_put(db_conn *c, const char *partition, const db_record *r, int64_t now_ms) {
  (void)partition;
  cached_rec *e = cache_rec(c, r->collection, r->id);
  if (!e) { e = cache_rec_add(c, r->collection, r->id); e->unread = 1; }
  db_record_clear(&e->rec);
  rec_copy(&e->rec, r);
  e->found = e->dirty = 1;
  c->now_ms = now_ms;
  return DB_OK;
}

static int pg_pull(db_conn *c, const char *partition, int64_t cursor, int limit, size_t max_bytes,
                   int64_t known, db_pull_page *page) {
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
  res = run(c, known < 0 ? ST_COUNT : ST_MORE, p2);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) { fail_with(c, "counting", res); goto fail; }
  page->remaining = db_remaining(known, page->count, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
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

static int pg_purge(db_conn *c, int64_t horizon_ms, int64_t op_horizon_ms, int64_t *pPurged) {
  char h[24], oh[24];
  PGresult *res = NULL;
  *pPurged = 0;
  snprintf(h, sizeof h, "%lld", (long long)horizon_ms);
  snprintf(oh, sizeof oh, "%lld", (long long)op_horizon_ms);
  const char *params[1] = {h}, *op_params[1] = {oh};
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
  res = PQexecParams(c->pg, "DELETE FROM syncore_op_results WHERE created_ms < $1", 1, NULL, op_params,
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
