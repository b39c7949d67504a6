/*
** sync.c — push and pull as SPEC §4/§11 and docs/PROTOCOL.md define them.
**
** Push runs every op of one request inside one partition-locked transaction
** (db.h), one result per op, in order:
**   1. validate the op's shape and fields            → rejected (nothing written)
**   2. op_id already applied in this partition        → duplicate (stored result)
**   3. create:  absent → applied v1 (server id for a tmp_ id in a --server-ids
**               collection); present (live or tombstone) → conflict
**   4. update/delete: absent → conflict, record null, version 0;
**               base_version ≠ version → conflict; else applied, version + 1
**   5. an applied op takes the partition's next seq, derived fields are computed,
**      and what a replay needs is stored under op_id: the record's collection, id
**      and version, not a copy of its data (a replay answers the record itself
**      while it is still at that version, else record null: docs/PROTOCOL.md §3.2).
** Only a storage failure aborts the whole request (500, rolled back): the client
** resends the same op_ids and gets the same answers.
** Several pushes to one partition may share a transaction (sync_push_apply, which
** writers.c calls on PostgreSQL): applied one after the other in the order given,
** each with its own answer, as if each had its own transaction in that order. When
** such a transaction fails, it is rolled back and its pushes run again one
** transaction each, so a push the database refuses fails alone. Bodies pass json_guard's scan
** (shape {device_id, ops}, size of the tree) before a tree is built; an op that
** repeats a key anywhere is rejected.
*/
#include "sync.h"
#include "buf.h"
#include "json_guard.h"

#include <cJSON.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hlc.h"
#include "rules.h"
#include "time.h"

#define TIME_TEXT_MAX 64
#define DEFAULT_LIMIT 500
#define MAX_LIMIT 5000

void sync_config_defaults(srv_config *c) {
  memset(c, 0, sizeof *c);
  c->max_body = 16u << 20;
  c->max_ops = 1000;
  c->max_depth = 64;
  c->max_nodes = 262144;
  c->max_page_bytes = 8u << 20;
  c->max_id = SC_ID_MAX;
  c->max_record = 1u << 20;
  c->tombstone_retention_ms = 30LL * 24 * 3600 * 1000;
  c->op_retention_ms = 90LL * 24 * 3600 * 1000;
  c->future_tolerance_ms = SC_FUTURE_TOLERANCE_MS;
}

int64_t sync_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sync_error_reply(sync_reply *out, int status, const char *message) {
  srv_buf b = {0};
  buf_puts(&b, "{\"error\":");
  buf_json_str(&b, message);
  buf_puts(&b, "}");
  out->status = status;
  out->body = buf_take(&b);
}

/* The answer's opening: the server's clock and how far ahead of it an op may be. */
static void put_server_time(srv_buf *b, const srv_config *cfg, int64_t now_ms) {
  char text[SC_TIME_TEXT_LEN + 1];
  if (sc_time_format(now_ms, text) != 0) snprintf(text, sizeof text, "1970-01-01T00:00:00.000Z");
  buf_puts(b, "{\"server_time\":\"");
  buf_puts(b, text);
  buf_puts(b, "\",\"future_tolerance_ms\":");
  buf_int(b, cfg->future_tolerance_ms);
}

/* The record object of results and (with seq) of pull changes. */
static void put_record(srv_buf *b, const db_record *r, int with_seq) {
  buf_puts(b, "{");
  if (with_seq) { buf_puts(b, "\"seq\":"); buf_int(b, r->seq); buf_puts(b, ","); }
  buf_puts(b, "\"collection\":"); buf_json_str(b, r->collection);
  buf_puts(b, ",\"id\":"); buf_json_str(b, r->id);
  buf_puts(b, ",\"version\":"); buf_int(b, r->version);
  buf_puts(b, ",\"data\":"); buf_puts(b, r->data ? r->data : "null");
  buf_puts(b, ",\"updated_at\":"); buf_json_str(b, r->updated_at);
  buf_puts(b, ",\"deleted_at\":"); buf_json_str(b, r->deleted_at);
  buf_puts(b, ",\"hlc\":"); buf_json_str(b, r->hlc);
  buf_puts(b, ",\"device_id\":"); buf_json_str(b, r->device_id);
  buf_puts(b, "}");
}

static void put_result_head(srv_buf *b, const char *op_id, const char *status) {
  buf_puts(b, "{\"op_id\":");
  buf_json_str(b, op_id);
  buf_puts(b, ",\"status\":\"");
  buf_puts(b, status);
  buf_puts(b, "\",");
}

/* ------------------------------------------------------------------ validation */

typedef struct push_op {
  const char *op_id;      /* borrowed from the cJSON tree */
  const char *collection;
  const char *id;
  const char *kind;       /* "create" | "update" | "delete" */
  int64_t base_version;
  cJSON *data;            /* create/update: the object; else NULL */
  const char *updated_at;
  const char *hlc;
} push_op;

static const char *get_string(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills op from item; returns 0, or -1 with the reason in zErr. */
static int validate_op(const srv_config *cfg, cJSON *item, int64_t now_ms, push_op *op, char *zErr,
                       size_t nErr) {
  memset(op, 0, sizeof *op);
  if (!cJSON_IsObject(item)) { snprintf(zErr, nErr, "op must be an object"); return -1; }
  const char *dup = json_duplicate_key(item);
  if (dup) {
    const char *id = get_string(item, "op_id");
    op->op_id = id && id[0] && strlen(id) <= SC_OP_ID_MAX ? id : NULL;
    snprintf(zErr, nErr, "the op repeats the key \"%.64s\" (each key once: JSON readers disagree on which wins)", dup);
    return -1;
  }
  op->op_id = get_string(item, "op_id");
  op->collection = get_string(item, "collection");
  op->id = get_string(item, "id");
  op->kind = get_string(item, "kind");
  op->updated_at = get_string(item, "updated_at");
  op->hlc = get_string(item, "hlc");
  if (!op->op_id || !op->op_id[0] || strlen(op->op_id) > SC_OP_ID_MAX) {
    op->op_id = NULL;
    snprintf(zErr, nErr, "op_id must be a string of 1-%d characters", SC_OP_ID_MAX);
    return -1;
  }
  if (!op->collection || !sc_coll_name_valid(op->collection)) {
    snprintf(zErr, nErr, "collection must match [A-Za-z0-9_]{1,64}");
    return -1;
  }
  if (!op->id || !op->id[0] || strlen(op->id) > (size_t)cfg->max_id) {
    snprintf(zErr, nErr, "id must be a string of 1-%d characters", cfg->max_id);
    return -1;
  }
  if (!op->kind || (strcmp(op->kind, "create") && strcmp(op->kind, "update") && strcmp(op->kind, "delete"))) {
    snprintf(zErr, nErr, "kind must be create, update or delete");
    return -1;
  }
  const cJSON *bv = cJSON_GetObjectItemCaseSensitive(item, "base_version");
  if (!cJSON_IsNumber(bv) || bv->valuedouble < 0 || bv->valuedouble > 9007199254740991.0 ||
      floor(bv->valuedouble) != bv->valuedouble) {
    snprintf(zErr, nErr, "base_version must be an integer >= 0");
    return -1;
  }
  op->base_version = (int64_t)bv->valuedouble;
  cJSON *data = cJSON_GetObjectItemCaseSensitive(item, "data");
  if (strcmp(op->kind, "delete") != 0) {
    if (!cJSON_IsObject(data)) { snprintf(zErr, nErr, "data must be an object for %s", op->kind); return -1; }
    if (cJSON_GetObjectItemCaseSensitive(data, "id")) {
      snprintf(zErr, nErr, "data must not carry an id key (the id is the op's)");
      return -1;
    }
    op->data = data;
  } else if (data && !cJSON_IsNull(data) && !cJSON_IsObject(data)) {
    snprintf(zErr, nErr, "data of a delete must be null, an object or absent");
    return -1;
  }
  int64_t ms = 0;
  char why[160];
  if (!op->updated_at || strlen(op->updated_at) > TIME_TEXT_MAX) {
    snprintf(zErr, nErr, "updated_at must be an ISO 8601 time string");
    return -1;
  }
  if (sc_time_parse(op->updated_at, 0, &ms, why, sizeof why) != 0) {
    snprintf(zErr, nErr, "updated_at %s: %s", op->updated_at, why);
    return -1;
  }
  if (ms > now_ms + cfg->future_tolerance_ms) {
    snprintf(zErr, nErr, "updated_at is %lld s in the future (tolerance %lld s): fix the device clock",
             (long long)((ms - now_ms) / 1000), (long long)(cfg->future_tolerance_ms / 1000));
    return -1;
  }
  if (!op->hlc || strlen(op->hlc) > SC_HLC_TEXT_MAX) {
    snprintf(zErr, nErr, "hlc must be a string 000000000000000-00000-device");
    return -1;
  }
  if (sc_hlc_parse(op->hlc, &ms, NULL, NULL, why, sizeof why) != 0) {
    snprintf(zErr, nErr, "hlc: %s", why);
    return -1;
  }
  if (ms > now_ms + cfg->future_tolerance_ms) {
    snprintf(zErr, nErr, "hlc time is %lld s in the future (tolerance %lld s)",
             (long long)((ms - now_ms) / 1000), (long long)(cfg->future_tolerance_ms / 1000));
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ apply */

static int is_server_ids(const srv_config *cfg, const char *collection) {
  for (int i = 0; i < cfg->server_id_count; i++)
    if (strcmp(cfg->server_ids[i], collection) == 0) return 1;
  return 0;
}

static char *new_uuid(const srv_config *cfg) {
  unsigned char r[16];
  static const char hex[] = "0123456789abcdef";
  char out[37];
  if (cfg->random_bytes) cfg->random_bytes(cfg->random_ctx, r, sizeof r);
  else if (RAND_bytes(r, sizeof r) != 1) abort();
  r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
  r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[r[i] >> 4];
    out[o++] = hex[r[i] & 15];
  }
  out[o] = 0;
  return db_strdup(out);
}

/* Set each --derive field of op->data from the record it references. */
static int apply_derive(const srv_config *cfg, const db_backend *be, db_conn *conn,
                        const char *partition, const push_op *op) {
  for (int i = 0; i < cfg->derive_count; i++) {
    const srv_derive *d = &cfg->derive[i];
    if (strcmp(d->target, op->collection) != 0) continue;
    cJSON *value = NULL;
    const char *ref = get_string(op->data, d->ref_field);
    if (ref) {
      db_record src = {0};
      int rc = be->record_get(conn, partition, d->source, ref, &src);
      if (rc == DB_ERROR) return DB_ERROR;
      if (rc == DB_OK && src.data) {
        cJSON *obj = cJSON_Parse(src.data);
        cJSON *field = obj ? cJSON_GetObjectItemCaseSensitive(obj, d->source_field) : NULL;
        if (field) value = cJSON_Duplicate(field, 1);
        cJSON_Delete(obj);
      }
      db_record_clear(&src);
    }
    if (!value) value = cJSON_CreateNull();
    cJSON_DeleteItemFromObjectCaseSensitive(op->data, d->field);
    cJSON_AddItemToObject(op->data, d->field, value);
  }
  return DB_OK;
}

typedef struct push_state {
  const srv_config *cfg;
  const db_backend *be;
  db_conn *conn;
  const char *partition;
  const char *device_id;
  int64_t now_ms;
  int64_t seq;
  int applied;
  int oom;          /* memory ran out: the request fails with 503 */
} push_state;

static void put_conflict(srv_buf *out, const push_op *op, const db_record *cur) {
  put_result_head(out, op->op_id, "conflict");
  buf_puts(out, "\"id\":");
  buf_json_str(out, op->id);
  buf_puts(out, ",\"version\":");
  buf_int(out, cur ? cur->version : 0);
  buf_puts(out, ",\"record\":");
  if (cur) put_record(out, cur, 0);
  else buf_puts(out, "null");
  buf_puts(out, "}");
}

/* "id":…,"version":…,"record":…} — the rest of an applied or duplicate result. */
static void put_result_tail(srv_buf *out, const char *id, int64_t version, const db_record *rec) {
  buf_puts(out, "\"id\":");
  buf_json_str(out, id);
  buf_puts(out, ",\"version\":");
  buf_int(out, version);
  buf_puts(out, ",\"record\":");
  if (rec) put_record(out, rec, 0);
  else buf_puts(out, "null");
  buf_puts(out, "}");
}

/* A replay of an applied op. stored is {"collection","id","version"}: the record is
** answered as it is when still at that version (it then is the original result's),
** else null — the client keeps what it sent and pulls the newer state. (Results
** stored before this form are a JSON fragment "id":…,"record":{…}, sent as stored.) */
static int put_duplicate(push_state *st, const char *op_id, const char *stored, srv_buf *out) {
  put_result_head(out, op_id, "duplicate");
  if (stored[0] != '{') { buf_puts(out, stored); buf_puts(out, "}"); return DB_OK; }
  cJSON *key = cJSON_Parse(stored);
  const char *coll = get_string(key, "collection"), *id = get_string(key, "id");
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(key, "version");
  if (!coll || !id || !cJSON_IsNumber(version)) {
    cJSON_Delete(key);
    if (!key) { st->oom = 1; return DB_ERROR; }
    buf_puts(out, "\"id\":null,\"version\":0,\"record\":null}");
    return DB_OK;
  }
  db_record cur = {0};
  int rc = st->be->record_get(st->conn, st->partition, coll, id, &cur);
  if (rc != DB_ERROR) {
    int64_t v = (int64_t)version->valuedouble;
    put_result_tail(out, id, v, rc == DB_OK && cur.version == v ? &cur : NULL);
    rc = DB_OK;
  }
  db_record_clear(&cur);
  cJSON_Delete(key);
  return rc;
}

/* Writes the new state of the record and the op's result. */
static int apply_write(push_state *st, const push_op *op, const char *id, int64_t version,
                       srv_buf *out) {
  db_record rec = {0};
  srv_buf tail = {0};
  int rc = DB_OK;
  int is_delete = strcmp(op->kind, "delete") == 0;
  if (!is_delete && (rc = apply_derive(st->cfg, st->be, st->conn, st->partition, op)) != DB_OK)
    return rc;
  rec.collection = (char *)op->collection;
  rec.id = (char *)id;
  rec.version = version;
  rec.data = is_delete ? NULL : cJSON_PrintUnformatted(op->data);
  rec.updated_at = (char *)op->updated_at;
  rec.deleted_at = is_delete ? (char *)op->updated_at : NULL;
  rec.hlc = (char *)op->hlc;
  rec.device_id = (char *)st->device_id;
  rec.seq = st->seq + 1;
  if (!is_delete && !rec.data) { st->oom = 1; return DB_ERROR; }
  rc = st->be->record_put(st->conn, st->partition, &rec, st->now_ms);
  if (rc == DB_OK) {
    /* What a replay needs (see apply_op): the record's key and this version. */
    buf_puts(&tail, "{\"collection\":");
    buf_json_str(&tail, op->collection);
    buf_puts(&tail, ",\"id\":");
    buf_json_str(&tail, id);
    buf_puts(&tail, ",\"version\":");
    buf_int(&tail, version);
    buf_puts(&tail, "}");
    if (tail.failed) { st->oom = 1; rc = DB_ERROR; }
    else rc = st->be->op_put(st->conn, st->partition, op->op_id, tail.data, st->now_ms);
  }
  if (rc == DB_OK) {
    st->seq++;
    st->applied++;
    put_result_head(out, op->op_id, "applied");
    put_result_tail(out, id, version, &rec);
  }
  cJSON_free(rec.data);
  buf_free(&tail);
  return rc;
}

/* One op, steps 2–5 (validation done). */
static int apply_op(push_state *st, const push_op *op, srv_buf *out) {
  char *stored = NULL;
  db_record cur = {0};
  char *new_id = NULL;
  int rc = st->be->op_get(st->conn, st->partition, op->op_id, &stored);
  if (rc == DB_ERROR) return rc;
  if (rc == DB_OK) {
    rc = put_duplicate(st, op->op_id, stored, out);
    free(stored);
    return rc;
  }
  const char *id = op->id;
  int is_create = strcmp(op->kind, "create") == 0;
  if (is_create && is_server_ids(st->cfg, op->collection) && strncmp(op->id, "tmp_", 4) == 0) {
    new_id = new_uuid(st->cfg);
    id = new_id;
  }
  rc = st->be->record_get(st->conn, st->partition, op->collection, id, &cur);
  if (rc == DB_ERROR) goto done;
  if (is_create) {
    if (rc == DB_OK) { put_conflict(out, op, &cur); rc = DB_OK; goto done; }
    rc = apply_write(st, op, id, 1, out);
    goto done;
  }
  if (rc == DB_NOTFOUND) { put_conflict(out, op, NULL); rc = DB_OK; goto done; }
  if (op->base_version != cur.version) { put_conflict(out, op, &cur); goto done; }
  rc = apply_write(st, op, id, cur.version + 1, out);
done:
  db_record_clear(&cur);
  free(new_id);
  return rc;
}

static void put_rejected(srv_buf *out, const cJSON *item, const char *op_id, const char *why) {
  const char *id = cJSON_IsObject(item) ? get_string(item, "id") : NULL;
  put_result_head(out, op_id, "rejected");
  buf_puts(out, "\"id\":");
  buf_json_str(out, id);
  buf_puts(out, ",\"version\":0,\"record\":null,\"error\":");
  buf_json_str(out, why);
  buf_puts(out, "}");
}

/* Parses and checks the body's envelope; NULL (with *out filled) when it is bad. */
static cJSON *parse_push_body(const srv_config *cfg, const char *body, size_t len, sync_reply *out) {
  static const char *const envelope[] = {"device_id", "ops", NULL};
  const json_limits lim = {cfg->max_depth, cfg->max_nodes, envelope};
  char why[200];
  int status = json_scan(body, len, &lim, why, sizeof why);
  if (status != JSON_OK) {
    sync_error_reply(out, status, why);
    return NULL;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(body, &end, 1);
  if (!root) {
    snprintf(why, sizeof why, "body is not JSON (error near byte %ld)",
             end ? (long)(end - body) : 0L);
    sync_error_reply(out, 400, why);
    return NULL;
  }
  const char *device_id = get_string(root, "device_id");
  const cJSON *ops = cJSON_GetObjectItemCaseSensitive(root, "ops");
  if (!cJSON_IsObject(root) || !device_id || !cJSON_IsArray(ops)) {
    sync_error_reply(out, 400, "body must be {\"device_id\": string, \"ops\": [...]}");
  } else if (json_duplicate_key_here(root)) {
    sync_error_reply(out, 400, "body repeats a top-level key");
  } else if (!sc_device_id_valid(device_id)) {
    sync_error_reply(out, 400, "device_id must match [A-Za-z0-9_-]{1,64}");
  } else if (cJSON_GetArraySize(ops) > cfg->max_ops) {
    snprintf(why, sizeof why, "a push carries at most %d ops", cfg->max_ops);
    sync_error_reply(out, 413, why);
  } else {
    return root;
  }
  cJSON_Delete(root);
  return NULL;
}

/* One push request on its way through a (possibly shared) transaction: its parsed
** body in, its outcome out. */
struct sync_push_job {
  cJSON *root;          /* the body's tree (owned) */
  const cJSON *ops;
  const char *device_id;
  int64_t now_ms;
  int nops;             /* ops in the body */
  srv_buf res;          /* the answer, when rc is DB_OK */
  int applied;
  int oom;              /* memory ran out: 503 */
  int rc;               /* DB_OK or DB_ERROR (then err, unless oom) */
  int batch;            /* pushes in the first transaction tried for it */
  int retried;          /* that transaction failed: answered by one of its own */
  char err[512];
};
typedef sync_push_job push_job;

/* The op_ids and record keys the jobs' ops name (a hint for push_begin; one
** allocation, left empty when memory is short: the backend then reads them one by
** one). */
static void collect_keys(const srv_config *cfg, push_job *const *jobs, size_t njobs, db_push_keys *keys) {
  size_t n = 0, i = 0;
  for (size_t j = 0; j < njobs; j++) n += (size_t)jobs[j]->nops;
  if (n == 0 || !(keys->op_ids = calloc(3 * n, sizeof *keys->op_ids))) return;
  keys->collections = keys->op_ids + n;
  keys->ids = keys->op_ids + 2 * n;
  for (size_t j = 0; j < njobs; j++) {
    const cJSON *item;
    cJSON_ArrayForEach(item, jobs[j]->ops) {
      const char *op_id = get_string(item, "op_id"), *coll = get_string(item, "collection"),
                 *id = get_string(item, "id");
      keys->op_ids[i] = op_id && strlen(op_id) <= SC_OP_ID_MAX ? op_id : NULL;
      if (coll && id && sc_coll_name_valid(coll) && strlen(id) <= (size_t)cfg->max_id) {
        keys->collections[i] = coll;
        keys->ids[i] = id;
      }
      i++;
    }
  }
  keys->n = n;
}

/* Every op of job, in order, inside the open transaction of st (whose seq goes on
** from the previous job's); the answer into job->res. DB_ERROR only for a storage
** failure or memory (st->oom). */
static int apply_job(push_state *st, push_job *job) {
  const srv_config *cfg = st->cfg;
  srv_buf *res = &job->res;
  int rc = DB_OK, i = 0;
  st->device_id = job->device_id;
  st->now_ms = job->now_ms;
  st->applied = 0;
  put_server_time(res, cfg, job->now_ms);
  buf_puts(res, ",\"results\":[");
  cJSON *item;
  cJSON_ArrayForEach(item, job->ops) {
    push_op op;
    char why[300];
    if (i++) buf_puts(res, ",");
    if (validate_op(cfg, item, job->now_ms, &op, why, sizeof why) != 0) {
      put_rejected(res, item, op.op_id, why);
      continue;
    }
    if (op.data) {
      char *text = cJSON_PrintUnformatted(op.data);
      size_t n = text ? strlen(text) : 0;
      cJSON_free(text);
      if (!text) { st->oom = 1; rc = DB_ERROR; break; }
      if (n > cfg->max_record) {
        snprintf(why, sizeof why, "data is %zu bytes, more than the %zu allowed", n, cfg->max_record);
        put_rejected(res, item, op.op_id, why);
        continue;
      }
    }
    if ((rc = apply_op(st, &op, res)) != DB_OK) break;
  }
  buf_puts(res, "]}");
  if (res->failed) { st->oom = 1; rc = DB_ERROR; }
  job->applied = st->applied;
  return rc;
}

/* Any failure rolls the whole transaction back; a batch of several is then run again
** one push per transaction, so that the failing push fails alone and the others are
** answered as if it never came (nothing of the failed transaction stayed). */
void sync_push_apply(const srv_config *cfg, const db_backend *be, db_conn *conn, const char *partition,
                     sync_push_job **jobs, size_t n) {
  push_state st = {cfg, be, conn, partition, NULL, 0, 0, 0, 0};
  db_push_keys keys = {0};
  int rc, changed = 0;
  size_t done = 0;
  collect_keys(cfg, jobs, n, &keys);
  rc = be->push_begin(conn, partition, keys.op_ids ? &keys : NULL, &st.seq);
  free(keys.op_ids);
  for (; rc == DB_OK && done < n; done++) {
    rc = apply_job(&st, jobs[done]);
    changed |= jobs[done]->applied > 0;
  }
  if (done > 0) {
    int end = be->push_end(conn, partition, st.seq, changed, rc == DB_OK);
    if (rc == DB_OK) rc = end;
  }
  for (size_t j = 0; j < n; j++) {
    push_job *job = jobs[j];
    job->rc = rc;
    job->batch = (int)n;
    job->oom = rc != DB_OK && st.oom && j + 1 == done;
    if (rc != DB_OK && !job->oom) snprintf(job->err, sizeof job->err, "%s", be->errmsg(conn));
  }
  if (rc == DB_OK || n == 1) return;
  for (size_t j = 0; j < n; j++) {
    buf_free(&jobs[j]->res);
    jobs[j]->applied = jobs[j]->oom = 0;
    sync_push_apply(cfg, be, conn, partition, &jobs[j], 1);
    jobs[j]->batch = (int)n;
    jobs[j]->retried = 1;
  }
}

sync_push_job *sync_push_parse(const srv_config *cfg, const char *body, size_t len, int64_t now_ms,
                               sync_reply *out) {
  memset(out, 0, sizeof *out);
  cJSON *root = parse_push_body(cfg, body, len, out);
  if (!root) return NULL;
  push_job *job = calloc(1, sizeof *job);
  if (!job) {
    cJSON_Delete(root);
    sync_error_reply(out, 503, "the server ran out of memory for this request, nothing was applied: retry later");
    return NULL;
  }
  job->root = root;
  job->ops = cJSON_GetObjectItemCaseSensitive(root, "ops");
  job->device_id = get_string(root, "device_id");
  job->now_ms = now_ms;
  job->nops = cJSON_GetArraySize(job->ops);
  return job;
}

size_t sync_push_job_ops(const sync_push_job *job) { return (size_t)job->nops; }

void sync_push_answer(sync_push_job *job, sync_reply *out) {
  memset(out, 0, sizeof *out);
  out->ops = job->nops;
  out->batch = job->batch;
  out->retried = job->retried;
  if (job->rc != DB_OK && job->oom) {
    buf_free(&job->res);
    sync_error_reply(out, 503, "the server ran out of memory for this request, nothing was applied: retry later");
  } else if (job->rc != DB_OK) {
    char why[600];
    snprintf(why, sizeof why, "storage failed, nothing was applied: %s", job->err);
    buf_free(&job->res);
    sync_error_reply(out, 500, why);
  } else {
    out->status = 200;
    out->body = buf_take(&job->res);
    out->changed = job->applied > 0;
    out->applied = job->applied;
  }
  cJSON_Delete(job->root);
  free(job);
}

void sync_push(const srv_config *cfg, db_pool *pool, const char *partition, const char *body,
               size_t len, int64_t now_ms, sync_reply *out) {
  push_job *job = sync_push_parse(cfg, body, len, now_ms, out);
  if (!job) return;
  db_conn *conn = db_acquire(pool);
  sync_push_apply(cfg, db_pool_backend(pool), conn, partition, &job, 1);
  db_release(pool, conn);
  sync_push_answer(job, out);
}

/* ------------------------------------------------------------------ pull */

/* Decimal digits only, at most 18 (fits int64). */
static int parse_count(const char *s, int64_t *pOut) {
  size_t n = strlen(s);
  int64_t v = 0;
  if (n == 0 || n > 18) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *pOut = v;
  return 0;
}

/* A cursor is "<seq>.<purged>.<left>": the last seq the client holds, the partition's
** purge watermark when the cursor was issued, and the changes that page said were left
** (so the next page need not count them again). "<seq>.<purged>" (issued before the count
** was carried) and a bare "<seq>" (watermark 0) leave *pLeft at -1: counted. */
static int parse_cursor(const char *text, int64_t *pSeq, int64_t *pPurged, int64_t *pLeft) {
  int64_t *parts[3] = {pSeq, pPurged, pLeft};
  *pPurged = 0;
  *pLeft = -1;
  for (int i = 0; i < 3; i++) {
    char part[24];
    const char *dot = strchr(text, '.');
    size_t n = dot ? (size_t)(dot - text) : strlen(text);
    if (n >= sizeof part || (dot && i == 2)) return -1;
    memcpy(part, text, n);
    part[n] = 0;
    if (parse_count(part, parts[i]) != 0) return -1;
    if (!dot) return 0;
    text = dot + 1;
  }
  return -1;
}

void sync_pull(const srv_config *cfg, db_pool *pool, const char *partition, const char *cursor,
               size_t cursor_len, const char *limit, size_t limit_len, int64_t now_ms,
               sync_reply *out) {
  int64_t after = 0, watermark = 0, left = -1, lim = DEFAULT_LIMIT;
  int from_start = !cursor || cursor_len == 0;
  memset(out, 0, sizeof *out);
  /* A value holding a NUL (%00 in the query) is not what it seems as a C string. */
  if (!from_start && (strlen(cursor) != cursor_len || parse_cursor(cursor, &after, &watermark, &left) != 0)) {
    sync_error_reply(out, 400, "cursor is not one this server issued");
    return;
  }
  if (limit && (strlen(limit) != limit_len || parse_count(limit, &lim) != 0 || lim < 1 || lim > MAX_LIMIT)) {
    sync_error_reply(out, 400, "limit must be an integer from 1 to 5000");
    return;
  }
  db_pull_page page;
  const db_backend *be = db_pool_backend(pool);
  db_conn *conn = db_acquire(pool);
  if (be->pull(conn, partition, after, (int)lim, cfg->max_page_bytes, left, &page) != DB_OK) {
    char why[600];
    snprintf(why, sizeof why, "storage failed: %s", be->errmsg(conn));
    db_release(pool, conn);
    sync_error_reply(out, 500, why);
    return;
  }
  db_release(pool, conn);
  /* 410 when a tombstone past the cursor may have been purged since the cursor
  ** was issued (the client could hold a record whose delete it never saw), or
  ** when the cursor is ahead of the data (a restored or different database). */
  if (!from_start && (after > page.partition_seq ||
                      (after < page.purged_seq && watermark < page.purged_seq))) {
    sync_error_reply(out, 410, after > page.partition_seq
                                   ? "cursor is ahead of this server's data (restored database?): resync from an empty cursor"
                                   : "cursor is older than the kept tombstones: resync from an empty cursor");
    db_pull_page_clear(&page);
    return;
  }
  if (from_start) watermark = page.purged_seq;
  srv_buf b = {0};
  put_server_time(&b, cfg, now_ms);
  buf_puts(&b, ",\"changes\":[");
  for (size_t i = 0; i < page.count; i++) {
    if (i) buf_puts(&b, ",");
    put_record(&b, &page.rows[i], 1);
  }
  int64_t last = page.count ? page.rows[page.count - 1].seq : after;
  if (page.purged_seq > watermark && last >= page.purged_seq) watermark = page.purged_seq;
  buf_printf(&b, "],\"cursor\":\"%lld.%lld.%lld\",\"has_more\":%s,\"remaining\":%lld}", (long long)last,
             (long long)watermark, (long long)page.remaining, page.remaining > 0 ? "true" : "false",
             (long long)page.remaining);
  out->ops = (int)page.count;
  db_pull_page_clear(&page);
  out->body = buf_take(&b);
  if (!out->body) {
    sync_error_reply(out, 503, "the server ran out of memory for this page: retry later or with a smaller limit");
    return;
  }
  out->status = 200;
}
