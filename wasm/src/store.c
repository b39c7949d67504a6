/*
** store.c — the store's configuration, its SQLite schema and the row-level access the
** other modules build on: records (load/save with their base snapshot), meta, the
** device identity and the persisted clock. It decides nothing about sync: the outbox
** rules are outbox.c's, merging is merge.c's, applying server answers is sync.c's.
** Nothing here begins a transaction; api.c wraps each method in one.
*/
#include "store.h"
#include "vfs_mem.h"
#include "time.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_fail(sc_store *st, int code, const char *fmt, ...) {
  va_list ap;
  char buf[512];
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  sc_free(st->errmsg);
  st->errmsg = util_strdup(buf);
  return code;
}

int store_sqlfail(sc_store *st, const char *doing) {
  int code = SC_ESTORAGE;
  if (st->db && sqlite3_errcode(st->db) == SQLITE_NOMEM) code = SC_ENOMEM;
  return store_fail(st, code, "storage error while %s: %s", doing,
                    st->db ? sqlite3_errmsg(st->db) : "no database");
}

int store_row(sc_store *st, sqlite3_stmt *stmt, const char *doing, int *pRc) {
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) return 1;
  if (step != SQLITE_DONE && *pRc == SC_OK) *pRc = store_sqlfail(st, doing);
  return 0;
}

int64_t store_now(const sc_store *st) { return st->hooks.now_ms(st->hooks.ctx); }


const sc_coll *store_coll(const sc_store *st, const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < st->ncoll; i++)
    if (strcmp(st->colls[i].name, name) == 0) return &st->colls[i];
  return NULL;
}

/* ---- configuration ---------------------------------------------------------- */

static int pick(const char *value, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(value, names[i]) == 0) return i;
  return -1;
}

static int string_array(sc_store *st, const cJSON *cfg, const char *coll, const char *key, int fields, cJSON **pOut) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cfg, key);
  *pOut = NULL;
  if (!arr || cJSON_IsNull(arr)) return SC_OK;
  if (!cJSON_IsArray(arr))
    return store_fail(st, SC_EBADINPUT, "collections.%s.%s must be an array of field names", coll, key);
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (!cJSON_IsString(it) || !(fields == 2 ? sc_coll_name_valid(it->valuestring) : sc_field_name_valid(it->valuestring)))
      return store_fail(st, SC_EBADINPUT, "collections.%s.%s holds an invalid field name (use %s)", coll, key,
                        fields == 2 ? "[A-Za-z0-9_]{1,64}" : "[A-Za-z0-9_$-]{1,128}");
  }
  *pOut = cJSON_Duplicate(arr, 1);
  return *pOut ? SC_OK : SC_ENOMEM;
}

static int config_coll(sc_store *st, sc_coll *c, const char *name, const cJSON *cfg) {
  static const char *const strategies[] = {"lww", "merge-fields", "ask", "server-wins", "client-wins", "max", "append-only"};
  static const char *const on_deletes[] = {"ask", "delete-wins", "edit-wins", "latest"};
  const char *s = NULL;
  char err[200];
  int rc;
  c->name = util_strdup(name);
  if (!c->name) return SC_ENOMEM;
  if (!cfg || cJSON_IsNull(cfg)) cfg = NULL;
  else if (!cJSON_IsObject(cfg)) return store_fail(st, SC_EBADINPUT, "collections.%s must be an object", name);
  if ((rc = util_get_string(cfg, "strategy", &s, err, sizeof err)) != SC_OK) goto bad;
  c->strategy = s ? pick(s, strategies, 7) : SC_STRAT_LWW;
  if (c->strategy < 0)
    return store_fail(st, SC_EBADINPUT, "collections.%s.strategy '%s' is not one of lww, merge-fields, ask, server-wins, client-wins, max, append-only", name, s);
  s = NULL;
  if ((rc = util_get_string(cfg, "fieldStrategy", &s, err, sizeof err)) != SC_OK) goto bad;
  if (s && strcmp(s, "lww") != 0 && strcmp(s, "ask") != 0)
    return store_fail(st, SC_EBADINPUT, "collections.%s.fieldStrategy must be 'lww' or 'ask'", name);
  c->field_ask = s && strcmp(s, "ask") == 0;
  s = NULL;
  if ((rc = util_get_string(cfg, "onDelete", &s, err, sizeof err)) != SC_OK) goto bad;
  if (s) {
    c->on_delete = pick(s, on_deletes, 4);
    if (c->on_delete < 0)
      return store_fail(st, SC_EBADINPUT, "collections.%s.onDelete must be 'ask', 'delete-wins', 'edit-wins' or 'latest'", name);
  } else {
    c->on_delete = c->strategy == SC_STRAT_SERVER_WINS || c->strategy == SC_STRAT_APPEND_ONLY ? SC_ONDEL_REMOTE
                 : c->strategy == SC_STRAT_CLIENT_WINS ? SC_ONDEL_LOCAL : SC_ONDEL_ASK;
  }
  s = NULL;
  if ((rc = util_get_string(cfg, "idFrom", &s, err, sizeof err)) != SC_OK) goto bad;
  if (s && strcmp(s, "client") != 0 && strcmp(s, "server") != 0)
    return store_fail(st, SC_EBADINPUT, "collections.%s.idFrom must be 'client' or 'server'", name);
  c->server_ids = s && strcmp(s, "server") == 0;
  if ((rc = util_get_bool(cfg, "readOnly", &c->read_only, err, sizeof err)) != SC_OK) goto bad;
  if ((rc = string_array(st, cfg, name, "maxFields", 1, &c->max_fields)) != SC_OK) return rc;
  if ((rc = string_array(st, cfg, name, "timeFields", 1, &c->time_fields)) != SC_OK) return rc;
  if ((rc = string_array(st, cfg, name, "indexes", 2, &c->indexes)) != SC_OK) return rc;
  const cJSON *refs = cJSON_GetObjectItemCaseSensitive(cfg, "refs");
  if (refs && !cJSON_IsNull(refs)) {
    const cJSON *it;
    if (!cJSON_IsObject(refs)) return store_fail(st, SC_EBADINPUT, "collections.%s.refs must be an object field → collection", name);
    cJSON_ArrayForEach(it, refs) {
      if (!cJSON_IsString(it) || !sc_field_name_valid(it->string))
        return store_fail(st, SC_EBADINPUT, "collections.%s.refs.%s must name a collection", name, it->string);
    }
    c->refs = cJSON_Duplicate(refs, 1);
    if (!c->refs) return SC_ENOMEM;
  }
  return SC_OK;
bad:
  return store_fail(st, rc, "collections.%s: %s", name, err);
}

static int config_sync(sc_store *st, const cJSON *sync) {
  char err[200];
  int64_t batch = 100;
  int rc;
  st->batch_size = 100;
  static const int64_t defaults[] = {30, 60, 300, 900, 3600};
  const cJSON *sched = NULL;
  if (sync && !cJSON_IsNull(sync) && !cJSON_IsObject(sync))
    return store_fail(st, SC_EBADINPUT, "sync must be an object");
  if ((rc = util_get_int(sync, "batchSize", &batch, err, sizeof err)) != SC_OK) return store_fail(st, rc, "sync: %s", err);
  if (batch < 1 || batch > 1000) return store_fail(st, SC_EBADINPUT, "sync.batchSize must be within 1..1000");
  st->batch_size = (int)batch;
  if ((rc = util_get_node(sync, "retrySchedule", cJSON_Array, &sched, err, sizeof err)) != SC_OK)
    return store_fail(st, rc, "sync: %s", err);
  int n = sched ? cJSON_GetArraySize(sched) : 5;
  st->retry = sc_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  if (!st->retry) return SC_ENOMEM;
  st->nretry = n;
  for (int i = 0; i < n; i++) {
    if (!sched) { st->retry[i] = defaults[i]; continue; }
    const cJSON *it = cJSON_GetArrayItem(sched, i);
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e9)
      return store_fail(st, SC_EBADINPUT, "sync.retrySchedule[%d] must be a number of seconds ≥ 0", i);
    st->retry[i] = (int64_t)(it->valuedouble * 1000.0); /* kept in ms: fractions allowed */
  }
  if (!sched) for (int i = 0; i < n; i++) st->retry[i] *= 1000;
  return SC_OK;
}

int store_config(sc_store *st, const cJSON *config) {
  char err[200];
  const char *name = NULL;
  const cJSON *colls = NULL, *sync = NULL;
  int64_t max_bytes = 1048576;
  int rc;
  if (!cJSON_IsObject(config)) return store_fail(st, SC_EBADINPUT, "config must be a JSON object");
  if ((rc = util_get_string(config, "name", &name, err, sizeof err)) != SC_OK) return store_fail(st, rc, "%s", err);
  if (!name || !sc_device_id_valid(name))
    return store_fail(st, SC_EBADINPUT, "name is required and must match [A-Za-z0-9_-]{1,64}");
  st->name = util_strdup(name);
  if ((rc = util_get_int(config, "maxRecordBytes", &max_bytes, err, sizeof err)) != SC_OK) return store_fail(st, rc, "%s", err);
  if (max_bytes < 16) return store_fail(st, SC_EBADINPUT, "maxRecordBytes must be at least 16");
  st->max_record_bytes = max_bytes;
  if ((rc = util_get_node(config, "collections", cJSON_Object, &colls, err, sizeof err)) != SC_OK) return store_fail(st, rc, "%s", err);
  if ((rc = util_get_node(config, "sync", cJSON_Object, &sync, err, sizeof err)) != SC_OK) return store_fail(st, rc, "%s", err);
  if ((rc = config_sync(st, sync)) != SC_OK) return rc;
  int n = colls ? cJSON_GetArraySize(colls) : 0;
  st->colls = sc_malloc(sizeof(sc_coll) * (size_t)(n ? n : 1));
  if (!st->colls) return SC_ENOMEM;
  memset(st->colls, 0, sizeof(sc_coll) * (size_t)(n ? n : 1));
  const cJSON *it;
  if (colls) cJSON_ArrayForEach(it, colls) {
    if (!sc_coll_name_valid(it->string))
      return store_fail(st, SC_EBADINPUT, "collection name '%s' must match [A-Za-z0-9_]{1,64}", it->string);
    if (store_coll(st, it->string)) return store_fail(st, SC_EBADINPUT, "collection '%s' is configured twice", it->string);
    rc = config_coll(st, &st->colls[st->ncoll], it->string, it);
    st->ncoll++;
    if (rc != SC_OK) return rc;
  }
  for (int i = 0; i < st->ncoll; i++) {
    if (!st->colls[i].refs) continue;
    cJSON_ArrayForEach(it, st->colls[i].refs) {
      if (!store_coll(st, it->valuestring))
        return store_fail(st, SC_EBADINPUT, "collections.%s.refs.%s names '%s', which is not a configured collection",
                          st->colls[i].name, it->string, it->valuestring);
    }
  }
  return SC_OK;
}

/* ---- database ------------------------------------------------------------------ */

static const char *const schema_sql =
  "CREATE TABLE IF NOT EXISTS records(coll TEXT NOT NULL, id TEXT NOT NULL, data TEXT, deleted INTEGER NOT NULL DEFAULT 0,"
  " hlc TEXT, updated_at TEXT, device_id TEXT, version INTEGER NOT NULL DEFAULT 0,"
  " base_version INTEGER NOT NULL DEFAULT 0, base_data TEXT, base_deleted INTEGER NOT NULL DEFAULT 0,"
  " base_hlc TEXT, base_updated_at TEXT, base_device_id TEXT, PRIMARY KEY(coll, id));"
  "CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL UNIQUE,"
  " coll TEXT NOT NULL, record_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,"
  " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_error TEXT, created_at INTEGER NOT NULL,"
  " sent INTEGER NOT NULL DEFAULT 0, payload TEXT);"
  "CREATE INDEX IF NOT EXISTS outbox_record ON outbox(coll, record_id);"
  "CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status, seq);"
  "CREATE TABLE IF NOT EXISTS conflicts(id TEXT PRIMARY KEY, coll TEXT NOT NULL, record_id TEXT NOT NULL,"
  " kind TEXT NOT NULL, local TEXT, remote TEXT, base TEXT, fields TEXT, remote_version INTEGER NOT NULL DEFAULT 0,"
  " remote_hlc TEXT, remote_updated_at TEXT, remote_device_id TEXT, created_at INTEGER NOT NULL,"
  " UNIQUE(coll, record_id));"
  "CREATE TABLE IF NOT EXISTS archive(n INTEGER PRIMARY KEY AUTOINCREMENT, coll TEXT NOT NULL, record_id TEXT NOT NULL,"
  " data TEXT, version INTEGER, hlc TEXT, updated_at TEXT, device_id TEXT, archived_at INTEGER NOT NULL);"
  "CREATE INDEX IF NOT EXISTS archive_record ON archive(coll, record_id);"
  "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS idmap(coll TEXT NOT NULL, temp_id TEXT NOT NULL, real_id TEXT NOT NULL, PRIMARY KEY(coll, temp_id)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS resync_seen(coll TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(coll, id)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS resync_absent(coll TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(coll, id)) WITHOUT ROWID;";

/* The schema's version in the database header (PRAGMA user_version): bump it whenever
** schema_sql changes, so stores made before run the new statements once. */
#define SCHEMA_VERSION 1
#define SC_STR_(x) #x
#define SC_STR(x) SC_STR_(x)

/* The first column of the first row of a literal query as an integer (0 without a row). */
static int store_query_int(sc_store *st, const char *sql, int64_t *out) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, sql, &stmt);
  if (rc != SC_OK) return rc;
  int step = sqlite3_step(stmt);
  *out = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = store_sqlfail(st, "reading the store");
  store_done(st, stmt);
  return rc;
}

static int create_indexes(sc_store *st) {
  for (int i = 0; i < st->ncoll; i++) {
    const cJSON *f;
    if (!st->colls[i].indexes) continue;
    cJSON_ArrayForEach(f, st->colls[i].indexes) {
      /* Names are [A-Za-z0-9_] (store_config), so inlining them is safe; the literal
      ** coll in WHERE lets the planner use the partial index (must match api.c's
      ** list/count expression text). */
      char *sql = util_printf("CREATE INDEX IF NOT EXISTS \"ix_%s_%s\" ON records(json_extract(data,'$.\"%s\"'))"
                              " WHERE coll='%s'", st->colls[i].name, f->valuestring, f->valuestring, st->colls[i].name);
      if (!sql) return SC_ENOMEM;
      int rc = store_exec_text(st, sql);
      sc_free(sql);
      if (rc != SC_OK) return rc;
    }
  }
  return SC_OK;
}

int store_save_clock(sc_store *st) {
  int rc = store_meta_set_int(st, "hlc_last_ms", st->clock.last_ms);
  if (rc == SC_OK) rc = store_meta_set_int(st, "hlc_counter", st->clock.counter);
  if (rc == SC_OK) rc = store_meta_set_int(st, "hlc_offset_ms", st->clock.offset_ms);
  return rc;
}

int store_sync_clock(sc_store *st) {
  int64_t last = 0, counter = 0, offset = st->clock.offset_ms;
  int rc = store_meta_get_int(st, "hlc_last_ms", &last);
  if (rc == SC_OK) rc = store_meta_get_int(st, "hlc_counter", &counter);
  if (rc == SC_OK) rc = store_meta_get_int(st, "hlc_offset_ms", &offset);
  if (rc != SC_OK) return rc;
  if (last > st->clock.last_ms || (last == st->clock.last_ms && counter > st->clock.counter)) {
    st->clock.last_ms = last;
    st->clock.counter = (int32_t)counter;
  }
  st->clock.offset_ms = offset;
  return SC_OK;
}

static int load_identity(sc_store *st, const char *device_id) {
  char *stored = NULL;
  char uuid[37];
  int64_t v;
  int rc = store_meta_get(st, "device_id", &stored);
  if (rc != SC_OK) return rc;
  if (device_id && !sc_device_id_valid(device_id)) {
    sc_free(stored);
    return store_fail(st, SC_EBADINPUT, "deviceId must match [A-Za-z0-9_-]{1,64}");
  }
  if (!device_id) {
    if (stored && sc_device_id_valid(stored)) device_id = stored;
    else { util_uuid(&st->hooks, uuid); device_id = uuid; }
  }
  sc_hlc_init(&st->clock, device_id);
  if (!stored || strcmp(stored, device_id) != 0) rc = store_meta_set(st, "device_id", device_id);
  sc_free(stored);
  if (rc != SC_OK) return rc;
  v = 0; if ((rc = store_meta_get_int(st, "hlc_last_ms", &v)) != SC_OK) return rc;
  st->clock.last_ms = v;
  v = 0; if ((rc = store_meta_get_int(st, "hlc_counter", &v)) != SC_OK) return rc;
  st->clock.counter = (int32_t)v;
  v = 0; if ((rc = store_meta_get_int(st, "hlc_offset_ms", &v)) != SC_OK) return rc;
  st->clock.offset_ms = v;
  return SC_OK;
}

int store_open_db(sc_store *st, const char *path, const char *vfs, const char *device_id) {
  int rc;
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, vfs) != SQLITE_OK) {
    rc = store_sqlfail(st, "opening the database");
    sqlite3_close(st->db);
    st->db = NULL;
    return rc;
  }
  sqlite3_busy_timeout(st->db, 2000);
  /* DELETE journaling: crash-safe on every VFS (WAL needs shared memory, OFF is unsafe).
  ** On the in-heap VFS the journal is never persisted (the host saves only committed
  ** images, docs/STORAGE.md), so it stays in SQLite's memory: no journal image to
  ** create, grow, zero and delete per transaction. Rollback works the same. */
  int in_heap = vfs && strcmp(vfs, VFS_MEM_NAME) == 0;
  if ((rc = store_exec(st, in_heap ? "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;"
                                   : "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")) != SC_OK) return rc;
  if ((rc = store_exec(st, "BEGIN IMMEDIATE")) != SC_OK) return rc;
  /* The schema is created once: a store that has it (user_version) skips its statements.
  ** In the browser a cold open is mostly V8 compiling each wasm function at its first call,
  ** and every DDL function those statements reach is compiled even when the tables exist. */
  int64_t version = 0;
  rc = store_query_int(st, "PRAGMA user_version", &version);
  if (rc == SC_OK && version != SCHEMA_VERSION) {
    rc = store_exec(st, schema_sql);
    if (rc == SC_OK) rc = store_exec(st, "PRAGMA user_version=" SC_STR(SCHEMA_VERSION));
  }
  if (rc == SC_OK) rc = create_indexes(st);
  if (rc == SC_OK) rc = load_identity(st, device_id);
  /* Ops a crash left inflight are resent with the same op_id (the server answers duplicate);
  ** looked for first, so an open with none compiles and runs no UPDATE. */
  int64_t inflight = 0;
  if (rc == SC_OK) rc = store_query_int(st, "SELECT EXISTS(SELECT 1 FROM outbox WHERE status='inflight')", &inflight);
  if (rc == SC_OK && inflight) rc = store_exec(st, "UPDATE outbox SET status='pending' WHERE status='inflight'");
  if (rc == SC_OK) rc = store_exec(st, "COMMIT");
  if (rc != SC_OK) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

void store_release(sc_store *st) {
  store_stmts_free(st);
  cJSON_Delete(st->new_conflicts);
  st->new_conflicts = NULL;
  if (st->db) sqlite3_close_v2(st->db);
  st->db = NULL;
  for (int i = 0; i < st->ncoll; i++) {
    sc_coll *c = &st->colls[i];
    sc_free(c->name);
    cJSON_Delete(c->max_fields);
    cJSON_Delete(c->refs);
    cJSON_Delete(c->time_fields);
    cJSON_Delete(c->indexes);
  }
  sc_free(st->colls);
  st->colls = NULL;
  st->ncoll = 0;
  sc_free(st->retry);
  st->retry = NULL;
  sc_free(st->name);
  st->name = NULL;
  sc_free(st->errmsg);
  st->errmsg = NULL;
}

/* ---- statements ------------------------------------------------------------- */

/* The statement cache: every store_prep of the same SQL text (the core's statements are
** a fixed set, a few with a collection's name in them) reuses one prepared statement
** (SQLITE_PREPARE_PERSISTENT) instead of parsing it again; store_done resets it. A text
** already in use (a nested prepare of the same SQL) or past the cache's capacity gets a
** statement of its own, finalized by store_done. Parsing was a fifth of a pull's time.
** A literal is found by its address (a pointer compare per entry: hashing and comparing a
** 300-character text for each of a pulled record's half-dozen statements cost 8 % of the
** pull); a text built at run time by a hash of its content. */
static uint32_t sql_hash(const char *sql) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++) h = (h ^ *p) * 16777619u;
  return h;
}

static int prep(sc_store *st, const char *key, const char *sql, sqlite3_stmt **pStmt) {
  uint32_t hash = sql_hash(sql);
  sc_cached_stmt *free_slot = NULL;
  *pStmt = NULL;
  for (int i = 0; i < st->nstmts; i++) {
    sc_cached_stmt *c = &st->stmts[i];
    if (c->hash != hash || strcmp(c->sql, sql) != 0) continue;
    if (c->busy) break;
    c->busy = 1;
    *pStmt = c->stmt;
    return SC_OK;
  }
  if (st->nstmts < SC_STMT_CACHE) free_slot = &st->stmts[st->nstmts];
  for (int i = 0; free_slot && i < st->nstmts; i++)
    if (st->stmts[i].hash == hash && !strcmp(st->stmts[i].sql, sql)) free_slot = NULL;   /* in use: a private one */
  char *copy = free_slot ? util_strdup(sql) : NULL;
  if (copy) {
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, pStmt, NULL) != SQLITE_OK) {
      sc_free(copy);
      return store_sqlfail(st, "preparing a statement");
    }
    *free_slot = (sc_cached_stmt){key, copy, hash, *pStmt, 1};
    st->nstmts++;
    return SC_OK;
  }
  if (sqlite3_prepare_v2(st->db, sql, -1, pStmt, NULL) != SQLITE_OK) return store_sqlfail(st, "preparing a statement");
  return SC_OK;
}

int store_prep(sc_store *st, const char *sql, sqlite3_stmt **pStmt) {
  for (int i = 0; i < st->nstmts; i++) {
    sc_cached_stmt *c = &st->stmts[i];
    if (c->key != sql) continue;
#if !defined(NDEBUG) && !defined(__EMSCRIPTEN__)
    assert(strcmp(c->sql, sql) == 0);   /* native test builds: a text built at run time must use store_prep_text */
#endif
    if (c->busy) break;                  /* a nested prepare of the same SQL: a private one */
    c->busy = 1;
    *pStmt = c->stmt;
    return SC_OK;
  }
  return prep(st, sql, sql, pStmt);
}

int store_prep_text(sc_store *st, const char *sql, sqlite3_stmt **pStmt) {
  return prep(st, NULL, sql, pStmt);
}

void store_done(sc_store *st, sqlite3_stmt *stmt) {
  if (!stmt) return;
  for (int i = 0; i < st->nstmts; i++) {
    if (st->stmts[i].stmt != stmt) continue;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    st->stmts[i].busy = 0;
    return;
  }
  sqlite3_finalize(stmt);
}

void store_stmts_idle(sc_store *st) {
  for (int i = 0; i < st->nstmts; i++) {
    if (!st->stmts[i].busy) continue;
    sqlite3_reset(st->stmts[i].stmt);
    sqlite3_clear_bindings(st->stmts[i].stmt);
    st->stmts[i].busy = 0;
  }
}

void store_stmts_free(sc_store *st) {
  for (int i = 0; i < st->nstmts; i++) {
    sqlite3_finalize(st->stmts[i].stmt);
    sc_free(st->stmts[i].sql);
  }
  st->nstmts = 0;
}

static int exec(sc_store *st, const char *sql, int literal) {
  if (strchr(sql, ';')) {   /* several statements: parsed each time */
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) return store_sqlfail(st, "updating the store");
    return SC_OK;
  }
  sqlite3_stmt *stmt = NULL;
  int rc = literal ? store_prep(st, sql, &stmt) : store_prep_text(st, sql, &stmt);
  if (rc != SC_OK) return rc;
  int step;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {}
  if (step != SQLITE_DONE) rc = store_sqlfail(st, "updating the store");
  store_done(st, stmt);
  return rc;
}

int store_exec(sc_store *st, const char *sql) { return exec(st, sql, 1); }
int store_exec_text(sc_store *st, const char *sql) { return exec(st, sql, 0); }

void store_bind_text(sqlite3_stmt *stmt, int i, const char *s) {
  if (s) sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(stmt, i);
}

int store_bind_json(sqlite3_stmt *stmt, int i, const cJSON *v) {
  if (!v || cJSON_IsNull(v)) { sqlite3_bind_null(stmt, i); return SC_OK; }
  char *text = cJSON_PrintUnformatted(v);
  if (!text) return SC_ENOMEM;
  sqlite3_bind_text(stmt, i, text, -1, sc_free);
  return SC_OK;
}

char *store_col_text(sqlite3_stmt *stmt, int i) {
  const unsigned char *t = sqlite3_column_text(stmt, i);
  return t ? util_strdup((const char *)t) : NULL;
}

cJSON *store_col_json(sqlite3_stmt *stmt, int i) {
  const unsigned char *t = sqlite3_column_text(stmt, i);
  return t ? util_json_parse((const char *)t) : NULL;
}

/* ---- meta ------------------------------------------------------------------- */

int store_meta_get(sc_store *st, const char *key, char **pOut) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT value FROM meta WHERE key=?", &stmt);
  *pOut = NULL;
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, key);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) *pOut = store_col_text(stmt, 0);
  else if (step != SQLITE_DONE) rc = store_sqlfail(st, "reading meta");
  store_done(st, stmt);
  return rc;
}

int store_meta_set(sc_store *st, const char *key, const char *value) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, key);
  store_bind_text(stmt, 2, value);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "writing meta");
  store_done(st, stmt);
  return rc;
}

int store_meta_get_int(sc_store *st, const char *key, int64_t *pOut) {
  char *v = NULL;
  int rc = store_meta_get(st, key, &v);
  if (rc == SC_OK && v) *pOut = (int64_t)strtoll(v, NULL, 10);
  sc_free(v);
  return rc;
}

int store_meta_set_int(sc_store *st, const char *key, int64_t value) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)value);
  return store_meta_set(st, key, buf);
}

/* ---- records ------------------------------------------------------------------ */

void store_rec_free(sc_rec *rec) {
  sc_free(rec->id);
  cJSON_Delete(rec->data);
  sc_free(rec->hlc);
  sc_free(rec->updated_at);
  sc_free(rec->device_id);
  cJSON_Delete(rec->base_data);
  sc_free(rec->base_hlc);
  sc_free(rec->base_updated_at);
  sc_free(rec->base_device_id);
  memset(rec, 0, sizeof *rec);
}

int store_set_str(char **field, const char *value) {
  char *copy = NULL;
  if (value && !(copy = util_strdup(value))) return SC_ENOMEM;
  sc_free(*field);
  *field = copy;
  return SC_OK;
}

static int rec_load(sc_store *st, const char *coll, const char *id, sc_rec *rec, int with_data);

/* A clean record (no local change: its base is its view, stamps and version included) is
** stored once: base_deleted = BASE_IS_VIEW and the other base_* columns empty, which halves
** the row of most records (docs/STORAGE.md "Session 6"). Loading fills the base in
** again from the view, so nothing above this file sees the difference; rows written
** before (base_deleted 0 or 1, the base in full) read as they always did. */
enum { BASE_IS_VIEW = 2 };

static int same_text(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

int store_rec_load(sc_store *st, const char *coll, const char *id, sc_rec *rec) {
  return rec_load(st, coll, id, rec, 1);
}

int store_rec_load_head(sc_store *st, const char *coll, const char *id, sc_rec *rec) {
  return rec_load(st, coll, id, rec, 0);
}

static int rec_load(sc_store *st, const char *coll, const char *id, sc_rec *rec, int with_data) {
  sqlite3_stmt *stmt = NULL;
  store_rec_free(rec);
  int rc = store_prep(st, "SELECT data, deleted, hlc, updated_at, device_id, version, base_version, base_data,"
                          " base_deleted, base_hlc, base_updated_at, base_device_id FROM records WHERE coll=? AND id=?", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) {
    rec->exists = 1;
    rec->id = util_strdup(id);
    rec->deleted = sqlite3_column_int(stmt, 1);
    rec->data = rec->deleted ? NULL : with_data ? store_col_json(stmt, 0) : NULL;
    if (!rec->deleted && !rec->data) rec->data = cJSON_CreateObject();
    rec->hlc = store_col_text(stmt, 2);
    rec->updated_at = store_col_text(stmt, 3);
    rec->device_id = store_col_text(stmt, 4);
    rec->version = sqlite3_column_int64(stmt, 5);
    if (sqlite3_column_int(stmt, 8) == BASE_IS_VIEW) {
      rc = store_rec_set_base_from_view(rec);
      if (!with_data) { cJSON_Delete(rec->base_data); rec->base_data = NULL; }   /* as a head load reads any row */
    } else {
      rec->base_version = sqlite3_column_int64(stmt, 6);
      rec->base_deleted = sqlite3_column_int(stmt, 8);
      rec->base_data = with_data ? store_col_json(stmt, 7) : NULL;
      rec->base_hlc = store_col_text(stmt, 9);
      rec->base_updated_at = store_col_text(stmt, 10);
      rec->base_device_id = store_col_text(stmt, 11);
    }
    if (!rec->id || (!rec->deleted && !rec->data)) rc = SC_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = store_sqlfail(st, "reading a record");
  }
  store_done(st, stmt);
  return rc;
}

static int rec_write(sc_store *st, const char *coll, const sc_rec *rec, int update, int *pDone);

/* A record that was loaded (rec->exists) is updated where it is: its row stays on its page
** and the (coll, id) index is not touched, where a replace would delete both and append
** the row anew. If the row is gone meanwhile the update changes nothing and it is inserted. */
int store_rec_save(sc_store *st, const char *coll, const sc_rec *rec) {
  int rc = SC_OK, done = 0;
  if (rec->exists) rc = rec_write(st, coll, rec, 1, &done);
  if (rc == SC_OK && !done) rc = rec_write(st, coll, rec, 0, &done);
  return rc;
}

static int rec_write(sc_store *st, const char *coll, const sc_rec *rec, int update, int *pDone) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, update ? "UPDATE records SET data=?3, deleted=?4, hlc=?5, updated_at=?6, device_id=?7, version=?8,"
                                   " base_version=?9, base_data=?10, base_deleted=?11, base_hlc=?12, base_updated_at=?13,"
                                   " base_device_id=?14 WHERE coll=?1 AND id=?2"
                                 : "INSERT OR REPLACE INTO records(coll, id, data, deleted, hlc, updated_at, device_id, version,"
                                   " base_version, base_data, base_deleted, base_hlc, base_updated_at, base_device_id)"
                                   " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &stmt);
  *pDone = 0;
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, rec->id);
  const cJSON *data = rec->deleted ? NULL : rec->data, *base = rec->base_deleted ? NULL : rec->base_data;
  /* A clean record's view is its base: print it once, bind the text to both. */
  char *text = data ? cJSON_PrintUnformatted(data) : NULL;
  int same = text && base && (data == base || cJSON_Compare(data, base, 1));
  int clean = rec->version == rec->base_version && !rec->deleted == !rec->base_deleted && (rec->deleted || same)
              && same_text(rec->hlc, rec->base_hlc) && same_text(rec->updated_at, rec->base_updated_at)
              && same_text(rec->device_id, rec->base_device_id);
  if (data && !text) rc = SC_ENOMEM;
  if (text) sqlite3_bind_text(stmt, 3, text, -1, SQLITE_STATIC);
  else sqlite3_bind_null(stmt, 3);
  sqlite3_bind_int(stmt, 4, rec->deleted ? 1 : 0);
  store_bind_text(stmt, 5, rec->hlc);
  store_bind_text(stmt, 6, rec->updated_at);
  store_bind_text(stmt, 7, rec->device_id);
  sqlite3_bind_int64(stmt, 8, rec->version);
  sqlite3_bind_int64(stmt, 9, clean ? 0 : rec->base_version);
  if (clean) sqlite3_bind_null(stmt, 10);
  else if (same) sqlite3_bind_text(stmt, 10, text, -1, SQLITE_STATIC);
  else if (rc == SC_OK) rc = store_bind_json(stmt, 10, base);
  sqlite3_bind_int(stmt, 11, clean ? BASE_IS_VIEW : rec->base_deleted ? 1 : 0);
  store_bind_text(stmt, 12, clean ? NULL : rec->base_hlc);
  store_bind_text(stmt, 13, clean ? NULL : rec->base_updated_at);
  store_bind_text(stmt, 14, clean ? NULL : rec->base_device_id);
  if (rc == SC_OK && sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "writing a record");
  else if (rc == SC_OK) *pDone = sqlite3_changes(st->db) > 0;
  store_done(st, stmt);   /* clears the bindings before text goes */
  sc_free(text);
  return rc;
}

int store_rec_remove(sc_store *st, const char *coll, const char *id) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "DELETE FROM records WHERE coll=? AND id=?", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "removing a record");
  store_done(st, stmt);
  return rc;
}

static int dup_json(cJSON **dst, const cJSON *src) {
  cJSON *copy = NULL;
  if (src && !(copy = cJSON_Duplicate(src, 1))) return SC_ENOMEM;
  cJSON_Delete(*dst);
  *dst = copy;
  return SC_OK;
}

int store_rec_set_base_from_view(sc_rec *rec) {
  rec->base_version = rec->version;
  rec->base_deleted = rec->deleted;
  int rc = dup_json(&rec->base_data, rec->deleted ? NULL : rec->data);
  if (rc == SC_OK) rc = store_set_str(&rec->base_hlc, rec->hlc);
  if (rc == SC_OK) rc = store_set_str(&rec->base_updated_at, rec->updated_at);
  if (rc == SC_OK) rc = store_set_str(&rec->base_device_id, rec->device_id);
  return rc;
}

int store_rec_set_view_from_base(sc_rec *rec) {
  rec->version = rec->base_version;
  rec->deleted = rec->base_deleted || !rec->base_data;
  int rc = dup_json(&rec->data, rec->deleted ? NULL : rec->base_data);
  if (rc == SC_OK) rc = store_set_str(&rec->hlc, rec->base_hlc);
  if (rc == SC_OK) rc = store_set_str(&rec->updated_at, rec->base_updated_at);
  if (rc == SC_OK) rc = store_set_str(&rec->device_id, rec->base_device_id);
  return rc;
}

int store_stamp(sc_store *st, sc_rec *rec) {
  char hlc[SC_HLC_TEXT_MAX + 1];
  char iso[32];
  int64_t ms = 0;
  sc_hlc_tick(&st->clock, store_now(st), hlc, &ms);
  util_iso(ms, iso);
  int rc = store_set_str(&rec->hlc, hlc);
  if (rc == SC_OK) rc = store_set_str(&rec->updated_at, iso);
  if (rc == SC_OK) rc = store_set_str(&rec->device_id, st->clock.device_id);
  return rc;
}

cJSON *store_record_json(const char *id, const cJSON *data) {
  if (!data || !cJSON_IsObject(data)) return NULL;
  cJSON *out = cJSON_CreateObject();
  if (!out || !cJSON_AddStringToObject(out, "id", id)) { cJSON_Delete(out); return NULL; }
  const cJSON *it;
  cJSON_ArrayForEach(it, data) {
    if (strcmp(it->string, "id") == 0) continue;
    cJSON *copy = cJSON_Duplicate(it, 1);
    if (!copy) { cJSON_Delete(out); return NULL; }
    cJSON_AddItemToObject(out, it->string, copy);
  }
  return out;
}

int store_has_ops(sc_store *st, const char *coll, const char *id, int *pHas) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT 1 FROM outbox WHERE coll=? AND record_id=? LIMIT 1", &stmt);
  *pHas = 0;
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) *pHas = 1;
  else if (step != SQLITE_DONE) rc = store_sqlfail(st, "reading the outbox");
  store_done(st, stmt);
  return rc;
}

/* ---- validation --------------------------------------------------------------- */

int store_check_data(sc_store *st, const sc_coll *c, cJSON *data, const char *what) {
  char err[200];
  char text[32];
  if (!cJSON_IsObject(data)) return store_fail(st, SC_EBADINPUT, "%s must be a JSON object", what);
  if (c->time_fields) {
    const cJSON *f;
    cJSON_ArrayForEach(f, c->time_fields) {
      cJSON *v = cJSON_GetObjectItemCaseSensitive(data, f->valuestring);
      int64_t ms = 0;
      int rc;
      if (!v || cJSON_IsNull(v)) continue;
      err[0] = 0;
      if (cJSON_IsString(v)) rc = sc_time_parse(v->valuestring, 0, &ms, err, sizeof err);
      else if (cJSON_IsNumber(v)) rc = sc_time_from_number(v->valuedouble, &ms, err, sizeof err);
      else { rc = SC_EBADINPUT; snprintf(err, sizeof err, "must be a time string or epoch milliseconds"); }
      if (rc == SC_OK) rc = sc_time_format(ms, text);
      if (rc != SC_OK) return store_fail(st, SC_EBADINPUT, "%s.%s (a timeField of '%s'): %s", what, f->valuestring, c->name, err);
      cJSON *norm = cJSON_CreateString(text);
      if (!norm) return SC_ENOMEM;
      cJSON_ReplaceItemInObjectCaseSensitive(data, f->valuestring, norm);
    }
  }
  char *textual = cJSON_PrintUnformatted(data);
  if (!textual) return SC_ENOMEM;
  size_t n = strlen(textual);
  sc_free(textual);
  if ((int64_t)n > st->max_record_bytes)
    return store_fail(st, SC_EBADINPUT, "%s of '%s' is %zu bytes, over maxRecordBytes (%lld)", what, c->name, n,
                      (long long)st->max_record_bytes);
  return SC_OK;
}

int store_changed_add(cJSON *changed, const char *coll, const char *id) {
  cJSON *entry;
  if (!changed) return SC_OK;
  cJSON_ArrayForEach(entry, changed) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(entry, "collection");
    if (cJSON_IsString(c) && strcmp(c->valuestring, coll) == 0) {
      cJSON *ids = cJSON_GetObjectItemCaseSensitive(entry, "ids");
      const cJSON *x;
      cJSON_ArrayForEach(x, ids) if (strcmp(x->valuestring, id) == 0) return SC_OK;
      cJSON *s = cJSON_CreateString(id);
      if (!s) return SC_ENOMEM;
      cJSON_AddItemToArray(ids, s);
      return SC_OK;
    }
  }
  entry = cJSON_CreateObject();
  cJSON *ids = cJSON_CreateArray();
  cJSON *s = cJSON_CreateString(id);
  if (!entry || !ids || !s) { cJSON_Delete(entry); cJSON_Delete(ids); cJSON_Delete(s); return SC_ENOMEM; }
  cJSON_AddStringToObject(entry, "collection", coll);
  cJSON_AddItemToArray(ids, s);
  cJSON_AddItemToObject(entry, "ids", ids);
  cJSON_AddItemToArray(changed, entry);
  return SC_OK;
}

static uint32_t pair_hash(const char *coll, const char *id) {
  uint32_t h = sql_hash(coll);
  for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 16777619u;
  return h ^ (h >> 15);
}

/* The slot of (coll, id): the one holding it, or the empty one where it goes. */
static sc_changed_slot *set_slot(sc_changed_set *set, uint32_t hash, const char *coll, const char *id) {
  for (size_t k = hash & (set->cap - 1);; k = (k + 1) & (set->cap - 1)) {
    sc_changed_slot *s = &set->slots[k];
    if (!s->id || (s->hash == hash && !strcmp(s->id, id) && !strcmp(s->coll, coll))) return s;
  }
}

static int set_grow(sc_changed_set *set) {
  size_t cap = set->cap ? set->cap * 2 : 256;
  sc_changed_slot *old = set->slots, *slots = calloc(cap, sizeof *slots);
  if (!slots) return SC_ENOMEM;
  size_t old_cap = set->cap;
  set->slots = slots;
  set->cap = cap;
  for (size_t k = 0; k < old_cap; k++)
    if (old[k].id) *set_slot(set, old[k].hash, old[k].coll, old[k].id) = old[k];
  free(old);
  return SC_OK;
}

static int set_note(sc_changed_set *set, const char *coll, const char *id) {
  if ((set->n + 1) * 2 > set->cap && set_grow(set) != SC_OK) return SC_ENOMEM;
  uint32_t hash = pair_hash(coll, id);
  sc_changed_slot *s = set_slot(set, hash, coll, id);
  if (!s->id) { *s = (sc_changed_slot){hash, coll, id}; set->n++; }
  return SC_OK;
}

/* The last item of an array in O(1) (cJSON keeps it as the first child's prev). */
static cJSON *last_item(const cJSON *arr) { return arr && arr->child ? arr->child->prev : NULL; }

static const char *entry_coll(const cJSON *entry) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "collection"));
}

int store_changed_set_init(sc_changed_set *set, cJSON *changed) {
  const cJSON *entry, *x;
  memset(set, 0, sizeof *set);
  set->changed = changed;
  cJSON_ArrayForEach(entry, changed) {
    const char *coll = entry_coll(entry);
    if (coll) cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(entry, "ids"))
      if (cJSON_IsString(x) && set_note(set, coll, x->valuestring) != SC_OK) return SC_ENOMEM;
  }
  return SC_OK;
}

int store_changed_set_merge(sc_changed_set *set, const cJSON *more) {
  const cJSON *entry, *x;
  cJSON_ArrayForEach(entry, more) {
    const char *coll = entry_coll(entry);
    if (!coll) continue;
    cJSON *into = NULL, *e;
    cJSON_ArrayForEach(e, set->changed) {   /* one entry per collection: few */
      const char *c = entry_coll(e);
      if (c && !strcmp(c, coll)) { into = e; break; }
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(entry, "ids")) {
      if (!cJSON_IsString(x)) continue;
      if (into && set->cap && set_slot(set, pair_hash(coll, x->valuestring), coll, x->valuestring)->id) continue;
      if (!into) {   /* the collection's first id: store_changed_add makes its entry */
        if (store_changed_add(set->changed, coll, x->valuestring) != SC_OK) return SC_ENOMEM;
        into = last_item(set->changed);
      } else {
        cJSON *str = cJSON_CreateString(x->valuestring);
        if (!str) return SC_ENOMEM;
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(into, "ids"), str);
      }
      const cJSON *added = last_item(cJSON_GetObjectItemCaseSensitive(into, "ids"));
      if (set_note(set, entry_coll(into), added->valuestring) != SC_OK) return SC_ENOMEM;
    }
  }
  return SC_OK;
}

void store_changed_set_free(sc_changed_set *set) {
  free(set->slots);
  memset(set, 0, sizeof *set);
}
