/*
** api.c — the JSON-in/JSON-out surface of the core (docs/CORE_API.md): sc_open,
** sc_call and its method table, sc_errmsg, sc_close, and the local methods (put,
** patch, get, delete, list, count, status …). Every method runs in one SQLite
** transaction, rolled back (clock included) when it fails, so a failing call changes
** nothing stored. Sync decisions live in outbox.c, merge.c, sync.c and remap.c;
** importLegacy in legacy.c.
*/
#include "api.h"
#include "legacy.h"
#include "merge.h"
#include "outbox.h"
#include "remap.h"
#include "round.h"
#include "sync.h"

#include <stdio.h>
#include <string.h>

typedef int (*method_fn)(sc_store *st, const cJSON *in, cJSON **pOut);

/* ---- helpers -------------------------------------------------------------------- */

void api_new_id(sc_store *st, const sc_coll *c, char out[64]) {
  char uuid[37];
  util_uuid(&st->hooks, uuid);
  snprintf(out, 64, "%s%s", c->server_ids ? "tmp_" : "", uuid);
}

static int get_coll(sc_store *st, const cJSON *in, const char *key, const sc_coll **pColl) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
  if (!cJSON_IsString(v)) return store_fail(st, SC_EBADINPUT, "'%s' must be a collection name (string)", key);
  *pColl = store_coll(st, v->valuestring);
  if (!*pColl) return store_fail(st, SC_EUNKNOWNCOLL, "unknown collection '%.64s' (not in the store's collections)", v->valuestring);
  return SC_OK;
}

static int check_id(sc_store *st, const cJSON *v, const char *what, const char **pId) {
  if (!cJSON_IsString(v)) return store_fail(st, SC_EBADINPUT, "%s must be a string", what);
  size_t n = strlen(v->valuestring);
  if (n == 0 || n > SC_ID_MAX) return store_fail(st, SC_EBADINPUT, "%s must be 1..128 characters (got %zu)", what, n);
  *pId = v->valuestring;
  return SC_OK;
}

static int writable(sc_store *st, const sc_coll *c, const char *method) {
  if (c->read_only) return store_fail(st, SC_EREADONLY, "'%s' is readOnly: %s is not allowed (the server is authoritative)", c->name, method);
  return SC_OK;
}

/* Load (coll, id), following a mapped temp id to its real record. */
static int load_resolved(sc_store *st, const sc_coll *c, const char *id, sc_rec *rec) {
  char *real = NULL;
  int rc = remap_resolve(st, c->name, id, &real);
  if (rc == SC_OK) rc = store_rec_load(st, c->name, real ? real : id, rec);
  if (rc == SC_OK && !rec->exists) rc = store_set_str(&rec->id, real ? real : id);
  sc_free(real);
  return rc;
}

static cJSON *record_out(const sc_rec *rec) {
  if (!rec->exists || rec->deleted || !rec->data) return cJSON_CreateNull();
  return store_record_json(rec->id, rec->data);
}

static int finish_write(cJSON *record, cJSON *changed, cJSON **pOut) {
  cJSON *out = cJSON_CreateObject();
  if (!out || !record || !changed) { cJSON_Delete(out); cJSON_Delete(record); cJSON_Delete(changed); return SC_ENOMEM; }
  cJSON_AddItemToObject(out, "record", record);
  cJSON_AddItemToObject(out, "changed", changed);
  *pOut = out;
  return SC_OK;
}

int api_write_record(sc_store *st, const sc_coll *c, sc_rec *rec, cJSON *data, cJSON *changed) {
  int rc;
  if (!rec->exists) {
    rec->version = rec->base_version = 0;
    rec->base_deleted = 1;
  }
  cJSON_Delete(rec->data);
  rec->data = data;
  rec->deleted = data == NULL;
  if ((rc = store_stamp(st, rec)) != SC_OK) return rc;
  if ((rc = store_rec_save(st, c->name, rec)) != SC_OK) return rc;
  rec->exists = 1;
  if ((rc = outbox_note_write(st, c, rec)) != SC_OK) return rc;
  /* Also for a delete of a record the server does not hold:
  ** an open conflict whose server side is gone is settled by it (both deleted). */
  if ((rc = merge_note_local_write(st, c, rec, changed)) != SC_OK) return rc;
  return store_changed_add(changed, c->name, rec->id);
}

/* ---- local methods ------------------------------------------------------------ */

/* The common end of put and patch: write data over rec unless that changes nothing
** (then nothing is queued), and answer {record, changed}. Takes data and changed. */
static int commit_record(sc_store *st, const sc_coll *c, sc_rec *rec, cJSON *data, cJSON *changed,
                         cJSON **pOut) {
  int rc = SC_OK;
  if (!(rec->exists && !rec->deleted && util_json_equal(rec->data, data))) {
    rc = api_write_record(st, c, rec, data, changed);   /* takes data */
    data = NULL;
  }
  cJSON_Delete(data);
  if (rc != SC_OK) {
    cJSON_Delete(changed);
    return rc;
  }
  return finish_write(record_out(rec), changed, pOut);
}

static int m_put(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *id = NULL;
  char fresh[64];
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  cJSON *data = NULL, *changed = NULL;
  int rc = get_coll(st, in, "collection", &c);
  if (rc != SC_OK) return rc;
  if ((rc = writable(st, c, "put")) != SC_OK) return rc;
  const cJSON *record = cJSON_GetObjectItemCaseSensitive(in, "record");
  if (!cJSON_IsObject(record)) return store_fail(st, SC_EBADINPUT, "record must be a JSON object");
  const cJSON *idv = cJSON_GetObjectItemCaseSensitive(record, "id");
  if (idv && !cJSON_IsNull(idv)) {
    if ((rc = check_id(st, idv, "record.id", &id)) != SC_OK) return rc;
  } else {
    api_new_id(st, c, fresh);
    id = fresh;
  }
  if (!(data = cJSON_Duplicate(record, 1)) || !(changed = cJSON_CreateArray())) { rc = SC_ENOMEM; goto fail; }
  cJSON_DeleteItemFromObjectCaseSensitive(data, "id");
  if ((rc = store_check_data(st, c, data, "record")) != SC_OK) goto fail;
  if ((rc = remap_rewrite_refs(st, c, data)) != SC_OK) goto fail;
  if ((rc = load_resolved(st, c, id, &rec)) != SC_OK) goto fail;
  if (c->strategy == SC_STRAT_APPEND_ONLY && rec.exists && !rec.deleted) {
    rc = store_fail(st, SC_EBADINPUT, "'%s' is append-only: record '%s' exists and cannot be replaced", c->name, rec.id);
    goto fail;
  }
  rc = commit_record(st, c, &rec, data, changed, pOut);
  data = changed = NULL;
fail:
  cJSON_Delete(data);
  cJSON_Delete(changed);
  store_rec_free(&rec);
  return rc;
}

static int m_patch(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *id = NULL;
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  cJSON *data = NULL, *changed = NULL;
  int rc = get_coll(st, in, "collection", &c);
  if (rc != SC_OK) return rc;
  if ((rc = writable(st, c, "patch")) != SC_OK) return rc;
  if (c->strategy == SC_STRAT_APPEND_ONLY)
    return store_fail(st, SC_EBADINPUT, "'%s' is append-only: records cannot be patched", c->name);
  if ((rc = check_id(st, cJSON_GetObjectItemCaseSensitive(in, "id"), "id", &id)) != SC_OK) return rc;
  const cJSON *fields = cJSON_GetObjectItemCaseSensitive(in, "fields");
  if (!cJSON_IsObject(fields)) return store_fail(st, SC_EBADINPUT, "fields must be a JSON object");
  const cJSON *fid = cJSON_GetObjectItemCaseSensitive(fields, "id");
  if ((rc = load_resolved(st, c, id, &rec)) != SC_OK) goto fail;
  if (fid && !(cJSON_IsString(fid) && (strcmp(fid->valuestring, id) == 0 || strcmp(fid->valuestring, rec.id) == 0))) {
    rc = store_fail(st, SC_EBADINPUT, "patch cannot change a record's id");
    goto fail;
  }
  if (!rec.exists || rec.deleted) { rc = store_fail(st, SC_ENOTFOUND, "no record '%s' in '%s' to patch", id, c->name); goto fail; }
  if (!(data = cJSON_Duplicate(rec.data, 1)) || !(changed = cJSON_CreateArray())) { rc = SC_ENOMEM; goto fail; }
  const cJSON *f;
  cJSON_ArrayForEach(f, fields) {
    if (strcmp(f->string, "id") == 0) continue;
    cJSON *copy = cJSON_Duplicate(f, 1);
    if (!copy) { rc = SC_ENOMEM; goto fail; }
    if (cJSON_GetObjectItemCaseSensitive(data, f->string)) cJSON_ReplaceItemInObjectCaseSensitive(data, f->string, copy);
    else cJSON_AddItemToObject(data, f->string, copy);
  }
  if ((rc = store_check_data(st, c, data, "fields")) != SC_OK) goto fail;
  if ((rc = remap_rewrite_refs(st, c, data)) != SC_OK) goto fail;
  rc = commit_record(st, c, &rec, data, changed, pOut);
  data = changed = NULL;
fail:
  cJSON_Delete(data);
  cJSON_Delete(changed);
  store_rec_free(&rec);
  return rc;
}

static int m_get(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *id = NULL;
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  int rc = get_coll(st, in, "collection", &c);
  if (rc == SC_OK) rc = check_id(st, cJSON_GetObjectItemCaseSensitive(in, "id"), "id", &id);
  if (rc == SC_OK) rc = load_resolved(st, c, id, &rec);
  if (rc == SC_OK) {
    cJSON *out = cJSON_CreateObject();
    cJSON *r = record_out(&rec);
    if (!out || !r) { cJSON_Delete(out); cJSON_Delete(r); rc = SC_ENOMEM; }
    else { cJSON_AddItemToObject(out, "record", r); *pOut = out; }
  }
  store_rec_free(&rec);
  return rc;
}

static int m_delete(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *id = NULL;
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  cJSON *changed = cJSON_CreateArray(), *out = NULL;
  int deleted = 0;
  int rc = changed ? get_coll(st, in, "collection", &c) : SC_ENOMEM;
  if (rc != SC_OK) goto fail;
  if ((rc = writable(st, c, "delete")) != SC_OK) goto fail;
  if (c->strategy == SC_STRAT_APPEND_ONLY) { rc = store_fail(st, SC_EBADINPUT, "'%s' is append-only: records cannot be deleted", c->name); goto fail; }
  if ((rc = check_id(st, cJSON_GetObjectItemCaseSensitive(in, "id"), "id", &id)) != SC_OK) goto fail;
  if ((rc = load_resolved(st, c, id, &rec)) != SC_OK) goto fail;
  if (rec.exists && !rec.deleted) {
    if ((rc = api_write_record(st, c, &rec, NULL, changed)) != SC_OK) goto fail;
    deleted = 1;
  }
  if (!(out = cJSON_CreateObject())) { rc = SC_ENOMEM; goto fail; }
  cJSON_AddBoolToObject(out, "deleted", deleted);
  cJSON_AddItemToObject(out, "changed", changed);
  changed = NULL;
  *pOut = out;
fail:
  cJSON_Delete(changed);
  store_rec_free(&rec);
  return rc;
}

/* WHERE text for list/count (bound values appended to binds, in order). The json_extract
** text must match the expression indexes store.c creates. */
static int build_where(sc_store *st, const sc_coll *c, const cJSON *in, int include_deleted, char **pSql, cJSON *binds) {
  const cJSON *where = NULL;
  char err[160];
  int rc = util_get_node(in, "where", cJSON_Object, &where, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "%s", err);
  char *sql = util_printf("coll='%s'%s", c->name, include_deleted ? "" : " AND deleted=0");
  const cJSON *w;
  if (where) cJSON_ArrayForEach(w, where) {
    char *next;
    if (!sc_field_name_valid(w->string)) { sc_free(sql); return store_fail(st, SC_EBADINPUT, "where: field name '%.64s' must match [A-Za-z0-9_$-]{1,128}", w->string); }
    if (cJSON_IsArray(w) || cJSON_IsObject(w)) { sc_free(sql); return store_fail(st, SC_EBADINPUT, "where.%s must be a string, number, boolean or null", w->string); }
    if (strcmp(w->string, "id") == 0) next = util_printf("%s AND id IS ?", sql);
    else if (cJSON_IsNull(w)) next = util_printf("%s AND json_extract(data,'$.\"%s\"') IS NULL", sql, w->string);
    else next = util_printf("%s AND json_extract(data,'$.\"%s\"') = ?", sql, w->string);
    sc_free(sql);
    sql = next;
    if (!sql) return SC_ENOMEM;
    if (!cJSON_IsNull(w) || strcmp(w->string, "id") == 0) cJSON_AddItemToArray(binds, cJSON_Duplicate(w, 0));
  }
  if (!sql) return SC_ENOMEM;
  *pSql = sql;
  return SC_OK;
}

static void bind_values(sqlite3_stmt *stmt, const cJSON *binds) {
  int i = 1;
  const cJSON *b;
  cJSON_ArrayForEach(b, binds) {
    if (cJSON_IsString(b)) sqlite3_bind_text(stmt, i, b->valuestring, -1, SQLITE_TRANSIENT);
    else if (cJSON_IsBool(b)) sqlite3_bind_int(stmt, i, cJSON_IsTrue(b) ? 1 : 0);
    else if (cJSON_IsNumber(b) && util_is_integral(b->valuedouble)) sqlite3_bind_int64(stmt, i, (sqlite3_int64)b->valuedouble);
    else if (cJSON_IsNumber(b)) sqlite3_bind_double(stmt, i, b->valuedouble);
    else sqlite3_bind_null(stmt, i);
    i++;
  }
}

static int m_list(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *order = NULL;
  int desc = 0, include_deleted = 0;
  int64_t limit = -1, offset = 0;
  char err[160];
  char *where = NULL, *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  cJSON *binds = cJSON_CreateArray(), *out = NULL;
  int rc = binds ? get_coll(st, in, "collection", &c) : SC_ENOMEM;
  if (rc != SC_OK) goto fail;
  if ((rc = util_get_string(in, "orderBy", &order, err, sizeof err)) != SC_OK ||
      (rc = util_get_bool(in, "desc", &desc, err, sizeof err)) != SC_OK ||
      (rc = util_get_bool(in, "includeDeleted", &include_deleted, err, sizeof err)) != SC_OK ||
      (rc = util_get_int(in, "limit", &limit, err, sizeof err)) != SC_OK ||
      (rc = util_get_int(in, "offset", &offset, err, sizeof err)) != SC_OK) { rc = store_fail(st, rc, "list: %s", err); goto fail; }
  if (cJSON_GetObjectItemCaseSensitive(in, "limit") && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(in, "limit")) && limit < 0) {
    rc = store_fail(st, SC_EBADINPUT, "list: limit must be ≥ 0");
    goto fail;
  }
  if (offset < 0) { rc = store_fail(st, SC_EBADINPUT, "list: offset must be ≥ 0"); goto fail; }
  if (order && !sc_field_name_valid(order)) { rc = store_fail(st, SC_EBADINPUT, "list: orderBy must be a field name"); goto fail; }
  if ((rc = build_where(st, c, in, include_deleted, &where, binds)) != SC_OK) goto fail;
  if (order && strcmp(order, "id") != 0)
    sql = util_printf("SELECT id, data, deleted FROM records WHERE %s ORDER BY json_extract(data,'$.\"%s\"') %s, id %s LIMIT ? OFFSET ?",
                      where, order, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
  else
    sql = util_printf("SELECT id, data, deleted FROM records WHERE %s ORDER BY id %s LIMIT ? OFFSET ?", where, desc ? "DESC" : "ASC");
  if (!sql) { rc = SC_ENOMEM; goto fail; }
  if ((rc = store_prep_text(st, sql, &stmt)) != SC_OK) goto fail;
  bind_values(stmt, binds);
  int nb = cJSON_GetArraySize(binds);
  sqlite3_bind_int64(stmt, nb + 1, limit);
  sqlite3_bind_int64(stmt, nb + 2, offset);
  out = cJSON_CreateObject();
  cJSON *arr = out ? cJSON_AddArrayToObject(out, "records") : NULL;
  if (!arr) { rc = SC_ENOMEM; goto fail; }
  int step;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(stmt, 0);
    cJSON *r;
    if (sqlite3_column_int(stmt, 2)) {
      r = cJSON_CreateObject();
      if (r) { cJSON_AddStringToObject(r, "id", id); cJSON_AddTrueToObject(r, "_deleted"); }
    } else {
      cJSON *d = store_col_json(stmt, 1);
      if (d) r = store_record_json(id, d);
      else if ((r = cJSON_CreateObject()) != NULL) cJSON_AddStringToObject(r, "id", id);
      cJSON_Delete(d);
    }
    if (!r) { rc = SC_ENOMEM; goto fail; }
    cJSON_AddItemToArray(arr, r);
  }
  if (step != SQLITE_DONE) { rc = store_sqlfail(st, "listing records"); goto fail; }
  *pOut = out;
  out = NULL;
fail:
  store_done(st, stmt);
  sc_free(where);
  sc_free(sql);
  cJSON_Delete(binds);
  cJSON_Delete(out);
  return rc;
}

static int m_count(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  char *where = NULL, *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  cJSON *binds = cJSON_CreateArray();
  int rc = binds ? get_coll(st, in, "collection", &c) : SC_ENOMEM;
  if (rc == SC_OK) rc = build_where(st, c, in, 0, &where, binds);
  if (rc == SC_OK && !(sql = util_printf("SELECT count(*) FROM records WHERE %s", where))) rc = SC_ENOMEM;
  if (rc == SC_OK) rc = store_prep_text(st, sql, &stmt);
  if (rc == SC_OK) {
    bind_values(stmt, binds);
    if (sqlite3_step(stmt) != SQLITE_ROW) rc = store_sqlfail(st, "counting records");
    else {
      cJSON *out = cJSON_CreateObject();
      if (!out) rc = SC_ENOMEM;
      else { cJSON_AddNumberToObject(out, "count", (double)sqlite3_column_int64(stmt, 0)); *pOut = out; }
    }
  }
  store_done(st, stmt);
  sc_free(where);
  sc_free(sql);
  cJSON_Delete(binds);
  return rc;
}

static int add_meta_string(sc_store *st, cJSON *out, const char *key, const char *meta_key) {
  char *v = NULL;
  int rc = store_meta_get(st, meta_key, &v);
  if (rc != SC_OK) return rc;
  if (v) cJSON_AddStringToObject(out, key, v);
  else cJSON_AddNullToObject(out, key);
  sc_free(v);
  return SC_OK;
}

static int m_status(sc_store *st, const cJSON *in, cJSON **pOut) {
  int64_t pending = 0, failed = 0, conflicts = 0;
  (void)in;
  int rc = outbox_counts(st, &pending, &failed);
  if (rc == SC_OK) rc = merge_count_conflicts(st, &conflicts);
  cJSON *out = rc == SC_OK ? cJSON_CreateObject() : NULL;
  if (rc == SC_OK && !out) rc = SC_ENOMEM;
  if (rc != SC_OK) return rc;
  cJSON_AddNumberToObject(out, "pending", (double)pending);
  cJSON_AddNumberToObject(out, "failed", (double)failed);
  cJSON_AddNumberToObject(out, "conflicts", (double)conflicts);
  if ((rc = add_meta_string(st, out, "lastSyncAt", "lastSyncAt")) == SC_OK)
    rc = add_meta_string(st, out, "lastError", "lastError");
  cJSON_AddStringToObject(out, "deviceId", st->clock.device_id);
  if (rc == SC_OK) *pOut = out;
  else cJSON_Delete(out);
  return rc;
}

static int m_conflicts(sc_store *st, const cJSON *in, cJSON **pOut) { (void)in; return merge_list_conflicts(st, pOut); }
static int m_outbox(sc_store *st, const cJSON *in, cJSON **pOut) { (void)in; return outbox_list(st, pOut); }

static int m_resolve(sc_store *st, const cJSON *in, cJSON **pOut) {
  const char *id = NULL, *choice = NULL;
  char err[160];
  const cJSON *merged = cJSON_GetObjectItemCaseSensitive(in, "merged");
  int rc = util_get_string(in, "conflictId", &id, err, sizeof err);
  if (rc == SC_OK) rc = util_get_string(in, "choice", &choice, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "resolve: %s", err);
  if (!id) return store_fail(st, SC_EBADINPUT, "resolve: conflictId is required");
  if (merged && cJSON_IsNull(merged)) merged = NULL;
  if (merged && !cJSON_IsObject(merged)) return store_fail(st, SC_EBADINPUT, "resolve: merged must be a record object");
  if (!merged && !choice) return store_fail(st, SC_EBADINPUT, "resolve: pass choice ('mine' or 'theirs') or merged");
  return merge_resolve(st, id, merged ? NULL : choice, merged, pOut);
}

static int m_archive(sc_store *st, const cJSON *in, cJSON **pOut) {
  const sc_coll *c;
  const char *id = NULL;
  int rc = get_coll(st, in, "collection", &c);
  if (rc == SC_OK) rc = check_id(st, cJSON_GetObjectItemCaseSensitive(in, "recordId"), "recordId", &id);
  if (rc == SC_OK) rc = merge_archive_list(st, c->name, id, pOut);
  return rc;
}

static int m_retry_failed(sc_store *st, const cJSON *in, cJSON **pOut) {
  int64_t n = 0;
  (void)in;
  int rc = outbox_retry_failed(st, &n);
  if (rc == SC_OK && !(*pOut = cJSON_CreateObject())) rc = SC_ENOMEM;
  if (rc == SC_OK) cJSON_AddNumberToObject(*pOut, "retried", (double)n);
  return rc;
}

static int m_discard(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(in, "opId");
  cJSON *changed = cJSON_CreateArray();
  if (!changed) return SC_ENOMEM;
  int rc = cJSON_IsString(op) ? outbox_discard(st, op->valuestring, changed) : store_fail(st, SC_EBADINPUT, "discard: opId must be a string");
  cJSON *out = rc == SC_OK ? cJSON_CreateObject() : NULL;
  if (rc == SC_OK && !out) rc = SC_ENOMEM;
  if (rc != SC_OK) { cJSON_Delete(changed); return rc; }
  cJSON_AddTrueToObject(out, "discarded");
  cJSON_AddItemToObject(out, "changed", changed);
  *pOut = out;
  return SC_OK;
}

static int m_normalize_time(sc_store *st, const cJSON *in, cJSON **pOut) {
  char err[160];
  int64_t offset = 0;
  char *value = NULL, *text = NULL, *msg = NULL;
  int rc = util_get_int(in, "assumeOffsetMinutes", &offset, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "normalizeTime: %s", err);
  if (offset < -1440 || offset > 1440) return store_fail(st, SC_EBADINPUT, "normalizeTime: assumeOffsetMinutes must be within ±1440");
  value = util_json_text(cJSON_GetObjectItemCaseSensitive(in, "value"));
  if (!value) return SC_ENOMEM;
  rc = sc_normalize_time(value, (int)offset, &text, &msg);
  sc_free(value);
  if (rc != SC_OK) {
    rc = store_fail(st, rc, "%s", msg ? msg : "invalid time");
    sc_free(msg);
    return rc;
  }
  cJSON *t = util_json_parse(text);
  sc_free(text);
  cJSON *out = cJSON_CreateObject();
  if (!t || !out) { cJSON_Delete(t); cJSON_Delete(out); return SC_ENOMEM; }
  cJSON_AddItemToObject(out, "time", t);
  *pOut = out;
  return SC_OK;
}

static int m_next_wake(sc_store *st, const cJSON *in, cJSON **pOut) {
  int64_t at = 0;
  int has = 0;
  (void)in;
  int rc = outbox_next_wake(st, &at, &has);
  if (rc == SC_OK && !(*pOut = cJSON_CreateObject())) rc = SC_ENOMEM;
  if (rc == SC_OK) cJSON_AddItemToObject(*pOut, "at", util_iso_node(at, has));
  return rc;
}

static int m_push_request(sc_store *st, const cJSON *in, cJSON **pOut) {
  char err[160];
  int force = 0, in_doubt = 0;
  int64_t limit = 0;
  int rc = util_get_bool(in, "force", &force, err, sizeof err);
  if (rc == SC_OK) rc = util_get_bool(in, "inDoubt", &in_doubt, err, sizeof err);
  if (rc == SC_OK) rc = util_get_int(in, "limit", &limit, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "pushRequest: %s", err);
  return outbox_push_request(st, force, in_doubt, limit, pOut);
}

/* ---- dispatch ------------------------------------------------------------------- */

static const struct {
  const char *name;
  method_fn fn;
  int writes;
} methods[] = {
  {"put", m_put, 1}, {"patch", m_patch, 1}, {"get", m_get, 0}, {"delete", m_delete, 1},
  {"list", m_list, 0}, {"count", m_count, 0}, {"status", m_status, 0}, {"conflicts", m_conflicts, 0},
  {"resolve", m_resolve, 1}, {"archive", m_archive, 0}, {"outbox", m_outbox, 0},
  {"retryFailed", m_retry_failed, 1}, {"discard", m_discard, 1}, {"importLegacy", legacy_import, 1},
  {"normalizeTime", m_normalize_time, 0}, {"nextWakeAt", m_next_wake, 0},
  {"pullRequest", sync_pull_request, 0}, {"pullResponse", sync_pull_response, 1}, {"pullGone", sync_pull_gone, 1},
  {"pushRequest", m_push_request, 1}, {"pushResponse", sync_push_response, 1}, {"pushFailure", sync_push_failure, 1},
  {"syncBegin", sync_begin, 1}, {"syncDone", sync_done, 1}, {"syncStep", round_step, 1},
};

const char *sc_methods_json(void) {
  static char json[1024];
  if (!json[0]) {
    size_t n = 0;
    json[n++] = '{';
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
      n += (size_t)snprintf(json + n, sizeof json - n, "%s\"%s\":%s", i ? "," : "", methods[i].name,
                            methods[i].writes ? "true" : "false");
    snprintf(json + n, sizeof json - n, "}");
  }
  return json;
}

int sc_call(sc_store *st, const char *method, const char *input_json, char **pzOut) {
  return sc_call_with_body(st, method, input_json, NULL, pzOut);
}

/* input.answer.body := body_text, parsed (or as the string when it is not JSON). */
static int attach_body(cJSON *in, const char *body_text) {
  cJSON *answer = cJSON_GetObjectItemCaseSensitive(in, "answer");
  if (!body_text || !cJSON_IsObject(answer)) return SC_OK;
  cJSON *body = cJSON_ParseWithOpts(body_text, NULL, 1);
  if (!body && !(body = cJSON_CreateString(body_text))) return SC_ENOMEM;
  cJSON_DeleteItemFromObjectCaseSensitive(answer, "body");
  cJSON_AddItemToObject(answer, "body", body);
  return SC_OK;
}

int sc_call_with_body(sc_store *st, const char *method, const char *input_json, const char *body_text, char **pzOut) {
  cJSON *in = NULL, *out = NULL;
  method_fn fn = NULL;
  int writes = 0, rc;
  if (pzOut) *pzOut = NULL;
  if (!st) return SC_ECLOSED;
  sc_free(st->errmsg);
  st->errmsg = NULL;
  cJSON_Delete(st->new_conflicts);
  st->new_conflicts = NULL;
  if (!st->db) return store_fail(st, SC_ECLOSED, "the store is closed");
  if (!pzOut) return store_fail(st, SC_EBADINPUT, "pzOut must not be NULL");
  for (size_t i = 0; method && i < sizeof methods / sizeof methods[0]; i++)
    if (strcmp(methods[i].name, method) == 0) { fn = methods[i].fn; writes = methods[i].writes; }
  if (!fn) return store_fail(st, SC_EBADINPUT, "unknown method '%.64s'", method ? method : "(null)");
  if (input_json && *input_json) {
    in = util_json_parse(input_json);
    if (!in) return store_fail(st, SC_EBADINPUT, "%s: input is not valid JSON", method);
  } else if (!(in = cJSON_CreateObject())) {
    return store_fail(st, SC_ENOMEM, "out of memory");
  }
  if (!cJSON_IsObject(in)) { cJSON_Delete(in); return store_fail(st, SC_EBADINPUT, "%s: input must be a JSON object", method); }
  if (attach_body(in, body_text) != SC_OK) { cJSON_Delete(in); return store_fail(st, SC_ENOMEM, "out of memory"); }
  sc_hlc clock_before = st->clock;
  if ((rc = store_exec(st, writes ? "BEGIN IMMEDIATE" : "BEGIN")) != SC_OK) { cJSON_Delete(in); return rc; }
  /* Other contexts on this database tick the same device's clock: start from theirs. */
  rc = writes ? store_sync_clock(st) : SC_OK;
  if (rc == SC_OK) rc = fn(st, in, &out);
  store_stmts_idle(st);   /* a statement a failing path did not give back holds no cursor */
  if (rc == SC_OK && memcmp(&clock_before, &st->clock, sizeof clock_before) != 0) rc = store_save_clock(st);
  if (rc == SC_OK) rc = store_exec(st, "COMMIT");
  if (rc == SC_OK) {
    *pzOut = cJSON_PrintUnformatted(out);
    if (!*pzOut) rc = SC_ENOMEM;
  } else {
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->clock = clock_before;
  }
  if (rc != SC_OK && !st->errmsg)
    store_fail(st, rc, rc == SC_ENOMEM ? "out of memory" : "%s failed (%s)", method, sc_code_name(rc));
  cJSON_Delete(in);
  cJSON_Delete(out);
  return rc;
}

const char *sc_errmsg(const sc_store *st) {
  if (!st) return "the store is closed";
  return st->errmsg ? st->errmsg : "";
}

int sc_open(const char *config_json, const sc_hooks *hooks, sc_store **ppStore, char **pzErr) {
  const char *path = ":memory:", *vfs = NULL, *device = NULL;
  char err[160];
  util_init();
  *ppStore = NULL;
  if (pzErr) *pzErr = NULL;
  sc_store *st = sc_malloc(sizeof *st);
  if (!st) return SC_ENOMEM;
  memset(st, 0, sizeof *st);
  st->hooks.now_ms = hooks && hooks->now_ms ? hooks->now_ms : util_default_now;
  st->hooks.random_bytes = hooks && hooks->random_bytes ? hooks->random_bytes : util_default_random;
  st->hooks.ctx = hooks ? hooks->ctx : NULL;
  cJSON *config = util_json_parse(config_json);
  int rc;
  if (!config) rc = store_fail(st, SC_EBADINPUT, "config is not valid JSON");
  else rc = store_config(st, config);
  if (rc == SC_OK && ((rc = util_get_string(config, "path", &path, err, sizeof err)) != SC_OK ||
                      (rc = util_get_string(config, "vfs", &vfs, err, sizeof err)) != SC_OK ||
                      (rc = util_get_string(config, "deviceId", &device, err, sizeof err)) != SC_OK))
    store_fail(st, rc, "%s", err);
  if (rc == SC_OK) rc = store_open_db(st, path, vfs, device);
  cJSON_Delete(config);
  if (rc != SC_OK) {
    if (pzErr) *pzErr = util_strdup(st->errmsg ? st->errmsg : sc_code_name(rc));
    store_release(st);
    sc_free(st);
    return rc;
  }
  *ppStore = st;
  return SC_OK;
}

int sc_close(sc_store *st) {
  if (!st) return SC_OK;
  int rc = SC_OK;
  store_stmts_free(st);
  if (st->db && sqlite3_close(st->db) != SQLITE_OK) {
    rc = SC_ESTORAGE;
    sqlite3_close_v2(st->db);
  }
  st->db = NULL;
  store_release(st);
  sc_free(st);
  return rc;
}
