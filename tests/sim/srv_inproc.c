/*
** srv_inproc.c — see srv_inproc.h. The server's sync.c decides every answer; this
** file builds its srv_config (server/main.c's defaults), opens a one-connection pool
** over a recording wrapper of the SQLite backend, and reads the ledger.
*/
#include "srv_inproc.h"

#include "../../server/config.h"
#include "../../server/db.h"
#include "../../server/sync.h"   /* not the core's sync.h */
#include "vfs_mem.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTITION "u:sim"

typedef struct tmp_map { char *tmp, *real; int creates; } tmp_map;

struct srv_inproc {
  srv_config cfg;
  db_pool *pool;
  char path[128];
  srv_hist *hist;            /* committed */
  size_t n_hist, cap_hist;
  size_t n_pending;          /* hist[n_hist .. n_hist+n_pending): this push, not yet committed */
  tmp_map *tmps;
  size_t n_tmps, cap_tmps;
};

/* ------------------------------------------------------------------ recording backend */

struct db_conn { db_conn *inner; srv_inproc *owner; };
static srv_inproc *g_opening;     /* the server whose pool connect is opening */

static char *dup_or_null(const char *s) { return s ? db_strdup(s) : NULL; }

static void hist_clear(srv_hist *h) {
  free(h->collection); free(h->id); free(h->data); free(h->hlc); free(h->device_id);
  free(h->updated_at); free(h->op_id);
  memset(h, 0, sizeof *h);
}

static int rw_connect(const char *url, db_conn **ppConn, char *zErr, size_t nErr) {
  db_conn *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->owner = g_opening;
  if (db_sqlite_backend.connect(url, &c->inner, zErr, nErr) != DB_OK) { free(c); return DB_ERROR; }
  *ppConn = c;
  return DB_OK;
}
static void rw_disconnect(db_conn *c) { if (c) { db_sqlite_backend.disconnect(c->inner); free(c); } }
static int rw_migrate(db_conn *c, const char *l, int64_t *p) { return db_sqlite_backend.migrate(c->inner, l, p); }
static int rw_push_begin(db_conn *c, const char *part, const db_push_keys *k, int64_t *pSeq) {
  srv_inproc *s = c->owner;
  for (size_t i = 0; i < s->n_pending; i++) hist_clear(&s->hist[s->n_hist + i]);
  s->n_pending = 0;
  return db_sqlite_backend.push_begin(c->inner, part, k, pSeq);
}
static int rw_push_end(db_conn *c, const char *part, int64_t seq, int changed, int commit) {
  srv_inproc *s = c->owner;
  int rc = db_sqlite_backend.push_end(c->inner, part, seq, changed, commit);
  if (commit && rc == DB_OK) s->n_hist += s->n_pending;
  else for (size_t i = 0; i < s->n_pending; i++) hist_clear(&s->hist[s->n_hist + i]);
  s->n_pending = 0;
  return rc;
}
static int rw_op_get(db_conn *c, const char *part, const char *op_id, char **pz) {
  return db_sqlite_backend.op_get(c->inner, part, op_id, pz);
}
static int rw_op_put(db_conn *c, const char *part, const char *op_id, const char *result, int64_t now) {
  srv_inproc *s = c->owner;
  int rc = db_sqlite_backend.op_put(c->inner, part, op_id, result, now);
  /* sync.c stores the op's result right after the record it wrote (apply_write). */
  if (rc == DB_OK && s->n_pending > 0) {
    srv_hist *h = &s->hist[s->n_hist + s->n_pending - 1];
    if (!h->op_id) h->op_id = db_strdup(op_id);
  }
  return rc;
}
static int rw_record_get(db_conn *c, const char *part, const char *coll, const char *id, db_record *out) {
  return db_sqlite_backend.record_get(c->inner, part, coll, id, out);
}
static int rw_record_put(db_conn *c, const char *part, const db_record *r, int64_t now) {
  srv_inproc *s = c->owner;
  int rc = db_sqlite_backend.record_put(c->inner, part, r, now);
  if (rc != DB_OK) return rc;
  if (s->n_hist + s->n_pending == s->cap_hist) {
    s->cap_hist = s->cap_hist ? 2 * s->cap_hist : 256;
    s->hist = realloc(s->hist, s->cap_hist * sizeof *s->hist);
    if (!s->hist) abort();
  }
  srv_hist *h = &s->hist[s->n_hist + s->n_pending++];
  memset(h, 0, sizeof *h);
  h->collection = dup_or_null(r->collection);
  h->id = dup_or_null(r->id);
  h->data = dup_or_null(r->data);
  h->hlc = dup_or_null(r->hlc);
  h->device_id = dup_or_null(r->device_id);
  h->updated_at = dup_or_null(r->updated_at);
  h->version = r->version;
  h->seq = r->seq;
  return DB_OK;
}
static int rw_pull(db_conn *c, const char *part, int64_t cur, int lim, size_t max, int64_t known, db_pull_page *pg) {
  return db_sqlite_backend.pull(c->inner, part, cur, lim, max, known, pg);
}
static int rw_purge(db_conn *c, int64_t horizon, int64_t op_horizon, int64_t *p) {
  return db_sqlite_backend.purge(c->inner, horizon, op_horizon, p);
}
static const char *rw_errmsg(db_conn *c) { return db_sqlite_backend.errmsg(c->inner); }

static const db_backend recording_backend = {
  .name = "sqlite-recorded", .connect = rw_connect, .disconnect = rw_disconnect, .migrate = rw_migrate,
  .push_begin = rw_push_begin, .push_end = rw_push_end, .op_get = rw_op_get, .op_put = rw_op_put,
  .record_get = rw_record_get, .record_put = rw_record_put, .pull = rw_pull, .purge = rw_purge,
  .listen = NULL, .errmsg = rw_errmsg,
};

/* ------------------------------------------------------------------ set-up */

static void die(const char *what, const char *why) {
  fprintf(stderr, "srv_inproc: %s: %s\n", what, why);
  abort();
}

srv_inproc *srv_inproc_new(const char *name, const char *server_ids, const char *derive,
                           void (*rnd)(void *ctx, unsigned char *buf, size_t n), void *rnd_ctx) {
  srv_inproc *s = calloc(1, sizeof *s);
  char why[512];
  if (!s) abort();
  sync_config_defaults(&s->cfg);   /* server/main.c's defaults for the flags a test does not give */
  s->cfg.random_bytes = rnd;
  s->cfg.random_ctx = rnd_ctx;
  for (const char *p = server_ids; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == 0 || n > 64 || s->cfg.server_id_count == SRV_MAX_SERVER_IDS) die("server ids", p);
    memcpy(s->cfg.server_ids[s->cfg.server_id_count], p, n);
    s->cfg.server_ids[s->cfg.server_id_count++][n] = 0;
    p = comma ? comma + 1 : p + n;
  }
  if (derive) {   /* coll.field=src.field@ref, as --derive takes it */
    srv_derive *d = &s->cfg.derive[s->cfg.derive_count++];
    if (sscanf(derive, "%64[^.].%128[^=]=%64[^.].%128[^@]@%128s", d->target, d->field, d->source,
               d->source_field, d->ref_field) != 5)
      die("derive rule", derive);
  }
  /* The server's SQLite file lives in the heap: vfs_mem as the default VFS (the
  ** stores under test name their VFS, or are ":memory:"). */
  if (sqlite3_initialize() != SQLITE_OK || vfs_mem_register(1) != SQLITE_OK) die("vfs", "cannot register vfs_mem");
  snprintf(s->path, sizeof s->path, "srv-%s.db", name);
  g_opening = s;
  if (db_pool_open_backend(&recording_backend, s->path, 1, NULL, &s->pool, why, sizeof why) != DB_OK)
    die("opening the database", why);
  g_opening = NULL;
  return s;
}

void srv_inproc_free(srv_inproc *s) {
  char journal[160];
  if (!s) return;
  db_pool_close(s->pool);
  for (size_t i = 0; i < s->n_hist + s->n_pending; i++) hist_clear(&s->hist[i]);
  free(s->hist);
  for (size_t i = 0; i < s->n_tmps; i++) { free(s->tmps[i].tmp); free(s->tmps[i].real); }
  free(s->tmps);
  vfs_mem_image_delete(s->path);
  snprintf(journal, sizeof journal, "%s-journal", s->path);
  vfs_mem_image_delete(journal);
  free(s);
}

/* ------------------------------------------------------------------ requests */

static tmp_map *tmp_find(const srv_inproc *s, const char *tmp) {
  for (size_t i = 0; i < s->n_tmps; i++)
    if (!strcmp(s->tmps[i].tmp, tmp)) return &s->tmps[i];
  return NULL;
}

/* Reads the answer beside the request: which tmp_ id became which record, and how
** many records each tmp_ id created (results come one per op, in order). */
static void note_tmp_ids(srv_inproc *s, const char *body, const char *answer) {
  cJSON *req = cJSON_Parse(body), *resp = cJSON_Parse(answer);
  cJSON *ops = cJSON_GetObjectItemCaseSensitive(req, "ops");
  cJSON *results = cJSON_GetObjectItemCaseSensitive(resp, "results");
  int n = cJSON_GetArraySize(ops);
  for (int i = 0; i < n && i < cJSON_GetArraySize(results); i++) {
    cJSON *op = cJSON_GetArrayItem(ops, i), *res = cJSON_GetArrayItem(results, i);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "id"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "kind"));
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "status"));
    const char *real = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "id"));
    if (!id || strncmp(id, "tmp_", 4) || !kind || strcmp(kind, "create") || !status || !real) continue;
    if (strcmp(status, "applied") && strcmp(status, "duplicate")) continue;
    if (!strncmp(real, "tmp_", 4)) continue;    /* not a --server-ids collection */
    tmp_map *m = tmp_find(s, id);
    if (!m) {
      if (s->n_tmps == s->cap_tmps) {
        s->cap_tmps = s->cap_tmps ? 2 * s->cap_tmps : 64;
        s->tmps = realloc(s->tmps, s->cap_tmps * sizeof *s->tmps);
        if (!s->tmps) abort();
      }
      m = &s->tmps[s->n_tmps++];
      m->tmp = db_strdup(id);
      m->real = db_strdup(real);
      m->creates = 0;
    }
    if (!strcmp(status, "applied")) {
      m->creates++;
      if (strcmp(m->real, real)) { free(m->real); m->real = db_strdup(real); }
    }
  }
  cJSON_Delete(req);
  cJSON_Delete(resp);
}

int srv_inproc_push(srv_inproc *s, const char *body, int64_t now_ms, char **pzBody) {
  sync_reply r;
  sync_push(&s->cfg, s->pool, PARTITION, body, strlen(body), now_ms, &r);
  if (r.status == 200) note_tmp_ids(s, body, r.body);
  *pzBody = r.body;
  return r.status;
}

int srv_inproc_pull(srv_inproc *s, const char *cursor, int limit, int64_t now_ms, char **pzBody) {
  sync_reply r;
  char lim[24];
  if (limit > 0) snprintf(lim, sizeof lim, "%d", limit);
  sync_pull(&s->cfg, s->pool, PARTITION, cursor, cursor ? strlen(cursor) : 0, limit > 0 ? lim : NULL,
            limit > 0 ? strlen(lim) : 0, now_ms, &r);
  *pzBody = r.body;
  return r.status;
}

void srv_inproc_purge(srv_inproc *s, int64_t horizon_ms, int64_t op_horizon_ms) {
  int64_t purged = 0;
  db_conn *c = db_acquire(s->pool);
  if (recording_backend.purge(c, horizon_ms, op_horizon_ms, &purged) != DB_OK) die("purge", recording_backend.errmsg(c));
  db_release(s->pool, c);
}

size_t srv_inproc_history(const srv_inproc *s, const srv_hist **pRows) {
  *pRows = s->hist;
  return s->n_hist;
}

int64_t srv_inproc_seq(const srv_inproc *s) {
  return s->n_hist ? s->hist[s->n_hist - 1].seq : 0;
}

cJSON *srv_inproc_state(srv_inproc *s, int64_t now_ms) {
  cJSON *out = cJSON_CreateObject();
  char *cursor = NULL;
  for (;;) {
    char *body = NULL;
    int status = srv_inproc_pull(s, cursor, 5000, now_ms, &body);
    cJSON *page = status == 200 ? cJSON_Parse(body) : NULL, *ch;
    free(body);
    if (!page) die("full pull", "not 200 JSON");
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(page, "changes")) {
      const char *coll = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ch, "collection"));
      const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ch, "id"));
      cJSON *by_coll = cJSON_GetObjectItemCaseSensitive(out, coll);
      if (!by_coll) by_coll = cJSON_AddObjectToObject(out, coll);
      cJSON_DeleteItemFromObjectCaseSensitive(by_coll, id);
      cJSON_AddItemToObject(by_coll, id, cJSON_Duplicate(ch, 1));
    }
    free(cursor);
    cursor = db_strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(page, "cursor")));
    int more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(page, "has_more"));
    cJSON_Delete(page);
    if (!more) break;
  }
  free(cursor);
  return out;
}

cJSON *srv_inproc_live(srv_inproc *s, const char *collection, int64_t now_ms) {
  cJSON *state = srv_inproc_state(s, now_ms), *ch;
  cJSON *out = cJSON_CreateObject();
  cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(state, collection)) {
    cJSON *data = cJSON_GetObjectItemCaseSensitive(ch, "data");
    if (cJSON_IsObject(data)) cJSON_AddItemToObject(out, ch->string, cJSON_Duplicate(data, 1));
  }
  cJSON_Delete(state);
  return out;
}

const char *srv_inproc_real_id(const srv_inproc *s, const char *tmp_id) {
  const tmp_map *m = tmp_find(s, tmp_id);
  return m ? m->real : NULL;
}

int srv_inproc_duplicate_applications(const srv_inproc *s) {
  int dup = 0;
  for (size_t i = 0; i < s->n_hist; i++) {
    if (!s->hist[i].op_id) continue;
    for (size_t j = 0; j < i; j++) {
      if (s->hist[j].op_id && !strcmp(s->hist[i].op_id, s->hist[j].op_id)) { dup++; break; }
    }
  }
  return dup;
}

int srv_inproc_duplicate_creates(const srv_inproc *s) {
  int dup = 0;
  for (size_t i = 0; i < s->n_tmps; i++) dup += s->tmps[i].creates > 1 ? s->tmps[i].creates - 1 : 0;
  return dup;
}
