/*
** sync.c — what the server's answers mean for the store. A pull page is validated
** whole, then applied with its cursor (one transaction, api.c): clean records take the
** server's version, records with a local change go to merge.c when the server moved past
** their base. A push answer acknowledges ops (taking server-derived fields and remapping
** temp ids through remap.c), hands conflicts to merge.c and marks rejections. A 410 starts
** a full resync that ends by removing clean records the server no longer has.
** Retry timing of failed pushes is outbox.c's.
*/
#include "sync.h"
#include "merge.h"
#include "outbox.h"
#include "remap.h"
#include "time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shape checks ---------------------------------------------------------------- */

static int is_opt_string(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return !v || cJSON_IsNull(v) || cJSON_IsString(v);
}

static int is_int(const cJSON *v, double min) {
  return cJSON_IsNumber(v) && util_is_integral(v->valuedouble) && v->valuedouble >= min;
}

/* A server record/change: {collection?, id, version, data, updated_at, deleted_at, hlc, device_id}. */
static int check_server_record(sc_store *st, const cJSON *r, const char *where, int need_collection) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
  const cJSON *coll = cJSON_GetObjectItemCaseSensitive(r, "collection");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
  if (!cJSON_IsObject(r)) return store_fail(st, SC_EPROTOCOL, "%s must be an object", where);
  if (!cJSON_IsString(id) || !*id->valuestring || strlen(id->valuestring) > SC_ID_MAX)
    return store_fail(st, SC_EPROTOCOL, "%s.id must be a string of 1..128 characters", where);
  if (need_collection ? !cJSON_IsString(coll) : (coll && !cJSON_IsString(coll)))
    return store_fail(st, SC_EPROTOCOL, "%s.collection must be a string", where);
  if (!is_int(cJSON_GetObjectItemCaseSensitive(r, "version"), 1))
    return store_fail(st, SC_EPROTOCOL, "%s.version must be an integer ≥ 1", where);
  if (data && !cJSON_IsNull(data) && !cJSON_IsObject(data))
    return store_fail(st, SC_EPROTOCOL, "%s.data must be an object or null", where);
  static const char *const keys[] = {"updated_at", "deleted_at", "hlc", "device_id"};
  for (int i = 0; i < 4; i++)
    if (!is_opt_string(r, keys[i])) return store_fail(st, SC_EPROTOCOL, "%s.%s must be a string or null", where, keys[i]);
  for (int i = 0; i < 2; i++) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, keys[i]);
    char err[120] = "";
    int64_t ms;
    if (cJSON_IsString(t) && sc_time_parse(t->valuestring, 0, &ms, err, sizeof err) != SC_OK)
      return store_fail(st, SC_EPROTOCOL, "%s (record '%.128s'): %s '%.40s' is not a time: %s", where, id->valuestring,
                        keys[i], t->valuestring, err);
  }
  return SC_OK;
}

/* SPEC §9: a server value in a timeField must be a time as put would take it (a string
** that parses, epoch milliseconds, or null); an impossible one fails the whole answer. */
static int check_time_fields(sc_store *st, const sc_coll *c, const cJSON *r, const char *where) {
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data"), *f;
  if (!c || !c->time_fields || !cJSON_IsObject(data)) return SC_OK;
  cJSON_ArrayForEach(f, c->time_fields) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, f->valuestring);
    char err[120] = "", shown[48];
    int64_t ms;
    int rc;
    if (!v || cJSON_IsNull(v)) continue;
    if (cJSON_IsString(v)) rc = sc_time_parse(v->valuestring, 0, &ms, err, sizeof err);
    else if (cJSON_IsNumber(v)) rc = sc_time_from_number(v->valuedouble, &ms, err, sizeof err);
    else { rc = SC_EBADINPUT; snprintf(err, sizeof err, "must be a time string or epoch milliseconds"); }
    if (rc == SC_OK) continue;
    if (cJSON_IsString(v)) snprintf(shown, sizeof shown, " '%.40s'", v->valuestring);
    else shown[0] = 0;
    return store_fail(st, SC_EPROTOCOL, "%s (record '%.128s' in '%s'): field %s%s is not a valid time: %s", where,
                      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")), c->name, f->valuestring, shown, err);
  }
  return SC_OK;
}

/* Local stamps not yet sent were made with the old clock offset: move them by the
** correction (delta ms) so a device clock that ran hours off neither wins with a stale
** edit nor trips the server's future check. Only this device's stamps move. */
static int shift_unsent_stamps(sc_store *st, int64_t delta) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int rc = store_prep(st, "SELECT r.coll, r.id, r.hlc FROM records AS r WHERE EXISTS(SELECT 1 FROM outbox o"
                          " WHERE o.coll=r.coll AND o.record_id=r.id AND o.sent=0)", &sel);
  if (rc == SC_OK) rc = store_prep(st, "UPDATE records SET hlc=?3, updated_at=?4 WHERE coll=?1 AND id=?2", &upd);
  while (rc == SC_OK && store_row(st, sel, "reading records", &rc)) {
    const char *hlc = (const char *)sqlite3_column_text(sel, 2);
    char device[SC_DEVICE_ID_MAX + 1], text[SC_HLC_TEXT_MAX + 32], iso[32];
    int64_t ms;
    int32_t counter;
    if (!hlc || sc_hlc_parse(hlc, &ms, &counter, device, NULL, 0) != SC_OK) continue;
    if (strcmp(device, st->clock.device_id) != 0) continue;
    ms += delta;
    if (ms < 0) ms = 0;
    if (ms > 999999999999999LL) ms = 999999999999999LL;
    sc_hlc_format(ms, counter, device, text);
    util_iso(ms, iso);
    sqlite3_reset(upd);
    sqlite3_bind_value(upd, 1, sqlite3_column_value(sel, 0));
    sqlite3_bind_value(upd, 2, sqlite3_column_value(sel, 1));
    store_bind_text(upd, 3, text);
    store_bind_text(upd, 4, iso);
    if (sqlite3_step(upd) != SQLITE_DONE) rc = store_sqlfail(st, "correcting local stamps");
  }
  store_done(st, sel);
  store_done(st, upd);
  return rc;
}

/* The server's future tolerance (rules.h), kept for the ops built before its next answer. */
static int observe_future_tolerance(sc_store *st, const cJSON *resp) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(resp, "future_tolerance_ms");
  int64_t kept = SC_FUTURE_TOLERANCE_MS;
  if (!t) return SC_OK;
  if (!is_int(t, 0) || t->valuedouble > 7 * 86400000.0)
    return store_fail(st, SC_EPROTOCOL, "future_tolerance_ms must be an integer of 0..604800000 ms");
  int rc = store_meta_get_int(st, "future_tolerance_ms", &kept);
  if (rc != SC_OK || kept == (int64_t)t->valuedouble) return rc;
  return store_meta_set_int(st, "future_tolerance_ms", (int64_t)t->valuedouble);
}

static int observe_server_time(sc_store *st, const cJSON *resp) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(resp, "server_time");
  int64_t ms;
  int rc = observe_future_tolerance(st, resp);
  if (rc != SC_OK) return rc;
  if (!cJSON_IsString(t) || sc_time_parse(t->valuestring, 0, &ms, NULL, 0) != SC_OK) return SC_OK;
  int64_t before = st->clock.offset_ms;
  sc_hlc_observe_server(&st->clock, ms, store_now(st));
  int64_t delta = st->clock.offset_ms - before;
  if (delta > -1000 && delta < 1000) return SC_OK;   /* network jitter: stamps stay */
  if (delta < 0) st->clock.last_ms = st->clock.last_ms + delta > 0 ? st->clock.last_ms + delta : 0;
  return shift_unsent_stamps(st, delta);
}

static const char *opt_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* resync_absent (store.h): a record the last full resync did not send, kept only for an
** op already sent. *pWas (may be NULL) says whether (coll, id) was marked; the mark goes:
** the server has answered about the record since (or it left the outbox). */
static int take_absent_mark(sc_store *st, const char *coll, const char *id, int *pWas) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "DELETE FROM resync_absent WHERE coll=? AND id=?", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "updating resync marks");
  else if (pWas) *pWas = sqlite3_changes(st->db) > 0;
  store_done(st, stmt);
  return rc;
}

/* Whether any resync_absent mark exists. The marks are made only when a full resync ends
** (finish_resync) and are usually none: a pulled page then skips looking for one per change. */
static int any_absent_marks(sc_store *st, int *pAny) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT 1 FROM resync_absent LIMIT 1", &stmt);
  *pAny = 0;
  if (rc != SC_OK) return rc;
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) *pAny = 1;
  else if (step != SQLITE_DONE) rc = store_sqlfail(st, "reading resync marks");
  store_done(st, stmt);
  return rc;
}

/* The server's data for a record: without `id`, timeFields normalized (the answer was
** checked: they parse, check_time_fields). NULL for a tombstone. The page's own object
** when it needs neither change (*pOwned NULL), else a copy the caller frees (*pOwned). */
static int server_data(const sc_coll *c, const cJSON *r, const cJSON **pData, cJSON **pOwned) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "data"), *f;
  *pData = NULL;
  *pOwned = NULL;
  if (!cJSON_IsObject(d)) return SC_OK;
  int as_is = !cJSON_GetObjectItemCaseSensitive(d, "id");
  if (as_is && c && c->time_fields) cJSON_ArrayForEach(f, c->time_fields) if (cJSON_GetObjectItemCaseSensitive(d, f->valuestring)) as_is = 0;
  if (as_is) { *pData = d; return SC_OK; }
  cJSON *copy = cJSON_Duplicate(d, 1);
  if (!copy) return SC_ENOMEM;
  cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
  if (c && c->time_fields) cJSON_ArrayForEach(f, c->time_fields) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(copy, f->valuestring);
    int64_t ms;
    char text[32];
    int ok = 0;
    if (cJSON_IsString(v)) ok = sc_time_parse(v->valuestring, 0, &ms, NULL, 0) == SC_OK;
    else if (cJSON_IsNumber(v)) ok = sc_time_from_number(v->valuedouble, &ms, NULL, 0) == SC_OK;
    if (ok && sc_time_format(ms, text) == SC_OK) cJSON_ReplaceItemInObjectCaseSensitive(copy, f->valuestring, cJSON_CreateString(text));
  }
  *pData = *pOwned = copy;
  return SC_OK;
}

/* The server's answer from a method's input: `response` is the parsed body, or its JSON
** text exactly as received (the JS host passes the text, so what JSON.parse would
** collapse reaches the core). A key repeated in any object is SC_EPROTOCOL: first-wins
** (cJSON) and last-wins (JSON.parse) readers would disagree about what the server said.
** *pOwned is the tree parsed here (the caller frees it), else NULL. */
static int take_response(sc_store *st, const cJSON *in, const char *what, const cJSON **pResp, cJSON **pOwned) {
  const cJSON *resp = cJSON_GetObjectItemCaseSensitive(in, "response");
  const char *key = NULL;
  char path[160] = "";
  *pOwned = NULL;
  if (cJSON_IsString(resp)) {
    if (!(*pOwned = cJSON_ParseWithOpts(resp->valuestring, NULL, 1)))
      return store_fail(st, SC_EPROTOCOL, "%s is not JSON (cut short, or nested deeper than 64)", what);
    resp = *pOwned;
  }
  int rc = util_json_repeated_key(resp, &key, path, sizeof path);
  if (rc == SC_OK && key)
    rc = store_fail(st, SC_EPROTOCOL, "%s: key '%.64s' appears twice in %s (a key may appear once per object)", what,
                    key, path[0] ? path : "the top-level object");
  if (rc != SC_OK) { cJSON_Delete(*pOwned); *pOwned = NULL; return rc; }
  *pResp = resp;
  return SC_OK;
}

/* ---- acknowledging an op (push applied/duplicate, or our own change seen in a pull) -- */

/* Take the server's derived fields into the local view: a field the server returned
** differently from what was sent, and that the app has not changed since, follows the server. */
static int take_derived(cJSON *view, const cJSON *sent, const cJSON *server) {
  const cJSON *it;
  if (!view || !server) return SC_OK;
  cJSON_ArrayForEach(it, server) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(sent, it->string);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(view, it->string);
    if (util_json_equal(s, it) || !util_json_equal(l, s)) continue;
    cJSON *copy = cJSON_Duplicate(it, 1);
    if (!copy) return SC_ENOMEM;
    if (l) cJSON_ReplaceItemInObjectCaseSensitive(view, it->string, copy);
    else cJSON_AddItemToObject(view, it->string, copy);
  }
  return SC_OK;
}

/* duplicate: the answer repeats an earlier application (its record may be stale). */
static int ack_op(sc_store *st, const sc_op *op, const char *real_id, int64_t version, const cJSON *record,
                  int duplicate, cJSON *changed, cJSON *remapped) {
  const sc_coll *c = store_coll(st, op->coll);
  const cJSON *sent = op->payload;
  const cJSON *sent_data = cJSON_GetObjectItemCaseSensitive(sent, "data"), *data = NULL;
  cJSON *owned = NULL;
  sc_rec rec, prior;
  int has_more = 0, absent = 0, rc = SC_OK;
  memset(&rec, 0, sizeof rec);
  memset(&prior, 0, sizeof prior);
  if (!c) return outbox_ack(st, op->op_id);
  if ((rc = take_absent_mark(st, op->coll, op->record_id, &absent)) != SC_OK) return rc;
  if (real_id && strcmp(real_id, op->record_id) != 0) {
    /* A pull may have brought the real record already (this answer was lost before),
    ** possibly newer than this answer: remember its server state before the remap. */
    if ((rc = store_rec_load(st, op->coll, real_id, &prior)) != SC_OK) goto fail;
    if (prior.exists) absent = 0;   /* a pull (the resync, say) brought it under its real id */
    if ((rc = remap_apply(st, op->coll, op->record_id, real_id, changed)) != SC_OK) goto fail;
    if (remapped) cJSON_AddStringToObject(remapped, op->record_id, real_id);
  } else {
    real_id = op->record_id;
  }
  if ((rc = outbox_ack(st, op->op_id)) != SC_OK) goto fail;
  if ((rc = store_rec_load(st, op->coll, real_id, &rec)) != SC_OK || !rec.exists) goto fail;
  if (version < rec.base_version) goto fail;   /* a stale repeat: never move a record back */
  if (record) rc = server_data(c, record, &data, &owned);
  else if (cJSON_IsObject(sent_data)) data = sent_data;
  if (rc != SC_OK) goto fail;
  const cJSON *meta = record ? record : sent;
  sc_remote rm = {version, data, 0, opt_str(meta, "hlc"), opt_str(meta, "updated_at"), opt_str(meta, "device_id")};
  if (!rm.device_id) rm.device_id = st->clock.device_id;
  if (prior.exists && prior.base_version > version) {
    sc_remote newer = {prior.base_version, prior.base_deleted ? NULL : prior.base_data, 0, prior.base_hlc,
                       prior.base_updated_at, prior.base_device_id};
    rm = newer;
  }
  if ((rc = store_has_ops(st, op->coll, real_id, &has_more)) != SC_OK) goto fail;
  if (!has_more && duplicate && absent) {
    /* Applied before a full resync that no longer found the record: it was deleted
    ** and purged since, and this repeat of the old answer must not bring it back. (If
    ** it was applied after that resync instead, the next pull brings it.) */
    rc = store_rec_remove(st, op->coll, real_id);
    if (rc == SC_OK) rc = store_changed_add(changed, op->coll, real_id);
  } else if (!has_more) {
    int same = !rec.deleted && rm.data && util_json_equal(rec.data, rm.data);
    cJSON *empty = cJSON_CreateArray();
    if (!empty) { rc = SC_ENOMEM; goto fail; }
    rc = merge_take_remote(st, c, &rec, &rm, same ? empty : changed);
    cJSON_Delete(empty);
  } else {
    /* Ops queued behind this one keep the local view; they now build on this version. */
    rc = merge_set_base(&rec, &rm);
    if (rc == SC_OK && !rec.deleted) rc = take_derived(rec.data, sent_data, rm.data);
    if (rc == SC_OK) rc = store_rec_save(st, op->coll, &rec);
  }
fail:
  cJSON_Delete(owned);
  store_rec_free(&rec);
  store_rec_free(&prior);
  return rc;
}

/* ---- pull ------------------------------------------------------------------------- */

int sync_pull_request(sc_store *st, const cJSON *in, cJSON **pOut) {
  char err[160];
  int64_t limit = 500;
  char *cursor = NULL;
  int rc = util_get_int(in, "limit", &limit, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "pullRequest: %s", err);
  if (limit < 1 || limit > 5000) return store_fail(st, SC_EBADINPUT, "pullRequest: limit must be within 1..5000");
  if ((rc = store_meta_get(st, "cursor", &cursor)) != SC_OK) return rc;
  cJSON *out = cJSON_CreateObject();
  if (!out) { sc_free(cursor); return SC_ENOMEM; }
  cJSON_AddStringToObject(out, "cursor", cursor ? cursor : "");
  cJSON_AddNumberToObject(out, "limit", (double)limit);
  sc_free(cursor);
  *pOut = out;
  return SC_OK;
}

static int check_pull_body(sc_store *st, const cJSON *resp) {
  char where[64];
  const cJSON *changes = cJSON_GetObjectItemCaseSensitive(resp, "changes");
  const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(resp, "cursor");
  const cJSON *more = cJSON_GetObjectItemCaseSensitive(resp, "has_more");
  const cJSON *remaining = cJSON_GetObjectItemCaseSensitive(resp, "remaining");
  if (!cJSON_IsObject(resp)) return store_fail(st, SC_EPROTOCOL, "pull response must be a JSON object");
  if (!cJSON_IsArray(changes)) return store_fail(st, SC_EPROTOCOL, "pull response: changes must be an array");
  if (!cJSON_IsString(cursor) && !cJSON_IsNumber(cursor))
    return store_fail(st, SC_EPROTOCOL, "pull response: cursor must be a string");
  if (!cJSON_IsBool(more)) return store_fail(st, SC_EPROTOCOL, "pull response: has_more must be true or false");
  if (remaining && !cJSON_IsNull(remaining) && !is_int(remaining, 0))
    return store_fail(st, SC_EPROTOCOL, "pull response: remaining must be an integer ≥ 0");
  if (!is_opt_string(resp, "server_time")) return store_fail(st, SC_EPROTOCOL, "pull response: server_time must be a string");
  int i = 0;
  const cJSON *ch;
  cJSON_ArrayForEach(ch, changes) {
    snprintf(where, sizeof where, "pull response: changes[%d]", i++);
    int rc = check_server_record(st, ch, where, 1);
    if (rc == SC_OK) rc = check_time_fields(st, store_coll(st, cJSON_GetObjectItemCaseSensitive(ch, "collection")->valuestring), ch, where);
    if (rc != SC_OK) return rc;
  }
  return SC_OK;
}

/* Steps stmt (which selects op_ids), finalizes it, and loads the first op into *op
** (left untouched when there is none). */
static int load_first_op(sc_store *st, sqlite3_stmt *stmt, sc_op *op) {
  int rc = SC_OK;
  char *op_id = NULL;
  if (store_row(st, stmt, "reading the outbox", &rc)) op_id = store_col_text(stmt, 0);
  store_done(st, stmt);
  if (rc != SC_OK) { sc_free(op_id); return rc; }
  if (op_id) rc = outbox_find(st, op_id, op);
  sc_free(op_id);
  return rc;
}

/* Our own change coming back in a pull (its answer was lost): the op it matches, if any. */
static int find_echo(sc_store *st, const char *coll, const char *id, const cJSON *ch, sc_op *op) {
  sqlite3_stmt *stmt = NULL;
  const char *hlc = opt_str(ch, "hlc"), *dev = opt_str(ch, "device_id");
  if (!hlc || !dev || strcmp(dev, st->clock.device_id) != 0) return SC_OK;
  int rc = store_prep(st, "SELECT op_id FROM outbox WHERE coll=? AND record_id=? AND sent=1"
                          " AND json_extract(payload, '$.hlc')=? ORDER BY seq LIMIT 1", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  store_bind_text(stmt, 3, hlc);
  return load_first_op(st, stmt, op);
}

/* Our own temp-id create coming back under its real id (the push answer was lost): the
** sent create whose stamp it carries (an hlc names its device and is never reused). */
static int find_tmp_echo(sc_store *st, const char *coll, const cJSON *ch, sc_op *op) {
  sqlite3_stmt *stmt = NULL;
  const char *hlc = opt_str(ch, "hlc"), *dev = opt_str(ch, "device_id");
  if (!hlc || !dev || strcmp(dev, st->clock.device_id) != 0) return SC_OK;
  int rc = store_prep(st, "SELECT op_id FROM outbox WHERE coll=? AND sent=1 AND kind='create'"
                          " AND substr(record_id, 1, 4)='tmp_' AND json_extract(payload, '$.hlc')=?"
                          " ORDER BY seq LIMIT 1", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, hlc);
  return load_first_op(st, stmt, op);
}

/* marks: resync_absent may hold a mark (any_absent_marks). */
static int apply_change(sc_store *st, const cJSON *ch, int resync, int marks, cJSON *changed, int64_t *pPulled,
                        int64_t *pConflicts) {
  const char *coll = cJSON_GetObjectItemCaseSensitive(ch, "collection")->valuestring;
  const char *id = cJSON_GetObjectItemCaseSensitive(ch, "id")->valuestring;
  int64_t version = (int64_t)cJSON_GetObjectItemCaseSensitive(ch, "version")->valuedouble;
  const sc_coll *c = store_coll(st, coll);
  const cJSON *data = NULL;
  cJSON *owned = NULL;
  sc_rec rec;
  sc_op echo;
  int has_ops = 0, rc;
  memset(&rec, 0, sizeof rec);
  memset(&echo, 0, sizeof echo);
  if (!c) return SC_OK;   /* a collection this app does not configure: not ours to keep */
  const char *hlc = opt_str(ch, "hlc");
  if (hlc) (void)sc_hlc_receive(&st->clock, hlc, store_now(st));
  if (resync) {
    sqlite3_stmt *stmt = NULL;
    if ((rc = store_prep(st, "INSERT OR IGNORE INTO resync_seen(coll, id) VALUES(?,?)", &stmt)) != SC_OK) return rc;
    store_bind_text(stmt, 1, coll);
    store_bind_text(stmt, 2, id);
    if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "recording a resync");
    store_done(st, stmt);
    if (rc != SC_OK) return rc;
  }
  if (marks && (rc = take_absent_mark(st, coll, id, NULL)) != SC_OK) return rc;
  if ((rc = server_data(c, ch, &data, &owned)) != SC_OK) return rc;
  sc_remote rm = {version, data, 0, hlc, opt_str(ch, "updated_at"), opt_str(ch, "device_id")};
  /* Without local ops the server's state replaces ours whole: the stored JSON is not needed. */
  if ((rc = store_has_ops(st, coll, id, &has_ops)) != SC_OK) goto fail;
  if ((rc = (has_ops ? store_rec_load : store_rec_load_head)(st, coll, id, &rec)) != SC_OK) goto fail;
  if (!rec.exists && c->server_ids && (rc = find_tmp_echo(st, coll, ch, &echo)) != SC_OK) goto fail;
  if (echo.op_id) {
    /* Remap now: else the app would see the record twice (temp and real id) until the
    ** resent create's `duplicate` arrives. */
    rc = ack_op(st, &echo, id, version, ch, 0, changed, NULL);
  } else if (!rec.exists) {
    if ((rc = store_set_str(&rec.id, id)) != SC_OK) goto fail;
    rc = (has_ops ? merge_take_remote : merge_take_remote_no_ops)(st, c, &rec, &rm, data ? changed : NULL);
  } else if (!has_ops) {
    /* Changes arrive in seq order, each the record's latest state, so it replaces ours;
    ** versions alone cannot tell (they restart when a purged tombstone is recreated).
    ** Skip only the echo of what we already hold. */
    if (version == rec.version && !rec.deleted == !!data && (!hlc || (rec.hlc && !strcmp(hlc, rec.hlc)))) goto fail;
    rc = merge_take_remote_no_ops(st, c, &rec, &rm, changed);
  } else {
    /* Skip only our base itself (the server did not move past it). Each change is the
    ** record's latest state and our acks precede this pull, so a lower version, or the
    ** same version stamped differently, is a new incarnation: the tombstone we based on
    ** was purged and the id created again (versions restart at 1). */
    int same_stamp = !hlc || !rec.base_hlc || strcmp(hlc, rec.base_hlc) == 0;
    if (version == rec.base_version && same_stamp) goto fail;
    if ((rc = find_echo(st, coll, id, ch, &echo)) != SC_OK) goto fail;
    if (echo.op_id) rc = ack_op(st, &echo, id, version, ch, 0, changed, NULL);
    else rc = merge_incoming(st, c, &rec, &rm, 0, changed, pConflicts);
  }
  if (rc == SC_OK) (*pPulled)++;
fail:
  outbox_op_free(&echo);
  cJSON_Delete(owned);
  store_rec_free(&rec);
  return rc;
}

/* A record the resync did not send has no server side any more (deleted, tombstone
** purged): an open conflict on it must now show the server side as deleted, as a pull
** of the tombstone would have made it (merge_incoming with the record absent). */
static int refresh_gone_conflicts(sc_store *st, cJSON *changed) {
  sqlite3_stmt *stmt = NULL;
  cJSON *gone = cJSON_CreateArray();
  int rc = gone ? store_prep(st, "SELECT k.coll, k.record_id FROM conflicts AS k WHERE NOT EXISTS"
                                 "(SELECT 1 FROM resync_seen s WHERE s.coll=k.coll AND s.id=k.record_id)", &stmt) : SC_ENOMEM;
  while (rc == SC_OK && store_row(st, stmt, "reading conflicts", &rc)) {
    cJSON *pair = cJSON_CreateArray();
    if (!pair) { rc = SC_ENOMEM; break; }
    cJSON_AddItemToArray(pair, cJSON_CreateString((const char *)sqlite3_column_text(stmt, 0)));
    cJSON_AddItemToArray(pair, cJSON_CreateString((const char *)sqlite3_column_text(stmt, 1)));
    cJSON_AddItemToArray(gone, pair);
  }
  store_done(st, stmt);
  const cJSON *pair;
  if (rc == SC_OK) cJSON_ArrayForEach(pair, gone) {
    const char *coll = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));
    const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 1));
    const sc_coll *c = coll ? store_coll(st, coll) : NULL;
    sc_rec rec;
    memset(&rec, 0, sizeof rec);
    if (!coll || !id) { rc = SC_ENOMEM; break; }
    if (!c) continue;
    rc = store_rec_load(st, coll, id, &rec);
    if (rc == SC_OK && rec.exists) {
      sc_remote rm = {0, NULL, 1, NULL, NULL, NULL};
      rc = merge_incoming(st, c, &rec, &rm, 0, changed, NULL);
    }
    store_rec_free(&rec);
    if (rc != SC_OK) break;
  }
  cJSON_Delete(gone);
  return rc;
}

/* After the last page of a full resync: clean records the server did not send go. */
static int finish_resync(sc_store *st, cJSON *changed) {
  sqlite3_stmt *stmt = NULL;
  int rc0 = refresh_gone_conflicts(st, changed);
  if (rc0 != SC_OK) return rc0;
  const char *victims = "FROM records AS r WHERE NOT EXISTS(SELECT 1 FROM resync_seen s WHERE s.coll=r.coll AND s.id=r.id)"
                        " AND NOT EXISTS(SELECT 1 FROM outbox o WHERE o.coll=r.coll AND o.record_id=r.id)";
  char *sql = util_printf("SELECT coll, id, deleted %s", victims);
  int rc = sql ? store_prep_text(st, sql, &stmt) : SC_ENOMEM;
  sc_free(sql);
  while (rc == SC_OK && store_row(st, stmt, "reading records", &rc))
    if (!sqlite3_column_int(stmt, 2))
      rc = store_changed_add(changed, (const char *)sqlite3_column_text(stmt, 0), (const char *)sqlite3_column_text(stmt, 1));
  store_done(st, stmt);
  if (rc == SC_OK) rc = store_exec(st, "DELETE FROM resync_absent;"
      " INSERT INTO resync_absent(coll, id) SELECT r.coll, r.id FROM records AS r"
      " WHERE NOT EXISTS(SELECT 1 FROM resync_seen s WHERE s.coll=r.coll AND s.id=r.id)"
      " AND EXISTS(SELECT 1 FROM outbox o WHERE o.coll=r.coll AND o.record_id=r.id AND o.sent=1)");
  if (rc != SC_OK) return rc;
  sql = util_printf("DELETE %s", victims);
  rc = sql ? store_exec_text(st, sql) : SC_ENOMEM;
  sc_free(sql);
  if (rc == SC_OK) rc = store_exec(st, "DELETE FROM resync_seen; DELETE FROM meta WHERE key='resync'");
  return rc;
}

int sync_pull_response(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *resp = NULL;
  int64_t pulled = 0, conflicts = 0, resync = 0;
  char cursor_buf[64];
  cJSON *changed = cJSON_CreateArray(), *out = NULL, *owned = NULL;
  int rc = changed ? take_response(st, in, "pull response", &resp, &owned) : SC_ENOMEM;
  if (rc == SC_OK) rc = check_pull_body(st, resp);
  if (rc != SC_OK) goto fail;
  if ((rc = observe_server_time(st, resp)) != SC_OK) goto fail;
  if ((rc = store_meta_get_int(st, "resync", &resync)) != SC_OK) goto fail;
  int marks = 0;
  if ((rc = any_absent_marks(st, &marks)) != SC_OK) goto fail;
  /* Each change lists what it changed apart; the page's list takes them through a hash
  ** index (store_changed_add alone would rescan the page's list for every id). */
  const cJSON *ch;
  sc_changed_set set;
  if ((rc = store_changed_set_init(&set, changed)) != SC_OK) { store_changed_set_free(&set); goto fail; }
  cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(resp, "changes")) {
    cJSON *one = cJSON_CreateArray();
    rc = one ? apply_change(st, ch, resync != 0, marks, one, &pulled, &conflicts) : SC_ENOMEM;
    if (rc == SC_OK) rc = store_changed_set_merge(&set, one);
    cJSON_Delete(one);
    if (rc != SC_OK) break;
  }
  store_changed_set_free(&set);
  if (rc != SC_OK) goto fail;
  const cJSON *cur = cJSON_GetObjectItemCaseSensitive(resp, "cursor");
  const char *cursor = cur->valuestring;
  if (cJSON_IsNumber(cur)) { snprintf(cursor_buf, sizeof cursor_buf, "%.17g", cur->valuedouble); cursor = cursor_buf; }
  if ((rc = store_meta_set(st, "cursor", cursor)) != SC_OK) goto fail;
  int has_more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "has_more"));
  if (!has_more && resync && (rc = finish_resync(st, changed)) != SC_OK) goto fail;
  const cJSON *remaining = cJSON_GetObjectItemCaseSensitive(resp, "remaining");
  out = cJSON_CreateObject();
  if (!out) { rc = SC_ENOMEM; goto fail; }
  cJSON_AddNumberToObject(out, "pulled", (double)pulled);
  cJSON_AddBoolToObject(out, "hasMore", has_more);
  cJSON_AddNumberToObject(out, "remaining", cJSON_IsNumber(remaining) ? remaining->valuedouble : 0);
  cJSON_AddNumberToObject(out, "conflicts", (double)conflicts);
  if ((rc = merge_add_new_conflicts(st, out)) != SC_OK) { cJSON_Delete(out); goto fail; }
  cJSON_AddItemToObject(out, "changed", changed);
  changed = NULL;
  cJSON_AddStringToObject(out, "cursor", cursor);
  *pOut = out;
fail:
  cJSON_Delete(changed);
  cJSON_Delete(owned);
  return rc;
}

int sync_pull_gone(sc_store *st, const cJSON *in, cJSON **pOut) {
  (void)in;
  int rc = store_meta_set(st, "cursor", "");
  if (rc == SC_OK) rc = store_meta_set_int(st, "resync", 1);
  if (rc == SC_OK) rc = store_exec(st, "DELETE FROM resync_seen");
  if (rc == SC_OK && !(*pOut = cJSON_CreateObject())) rc = SC_ENOMEM;
  return rc;
}

/* ---- push -------------------------------------------------------------------------- */

static int check_push_body(sc_store *st, const cJSON *resp) {
  char where[64];
  const cJSON *results = cJSON_GetObjectItemCaseSensitive(resp, "results");
  if (!cJSON_IsObject(resp)) return store_fail(st, SC_EPROTOCOL, "push response must be a JSON object");
  if (!cJSON_IsArray(results)) return store_fail(st, SC_EPROTOCOL, "push response: results must be an array");
  if (!is_opt_string(resp, "server_time")) return store_fail(st, SC_EPROTOCOL, "push response: server_time must be a string");
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    snprintf(where, sizeof where, "push response: results[%d]", i++);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(r, "record");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(r, "version");
    if (!cJSON_IsObject(r)) return store_fail(st, SC_EPROTOCOL, "%s must be an object", where);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "op_id")))
      return store_fail(st, SC_EPROTOCOL, "%s.op_id must be a string", where);
    if (!cJSON_IsString(status) || (strcmp(status->valuestring, "applied") && strcmp(status->valuestring, "duplicate") &&
                                    strcmp(status->valuestring, "conflict") && strcmp(status->valuestring, "rejected")))
      return store_fail(st, SC_EPROTOCOL, "%s.status must be applied, duplicate, conflict or rejected", where);
    if (!is_opt_string(r, "error") || !is_opt_string(r, "id"))
      return store_fail(st, SC_EPROTOCOL, "%s: id and error must be strings", where);
    int ok_status = strcmp(status->valuestring, "applied") == 0 || strcmp(status->valuestring, "duplicate") == 0;
    if (ok_status && !is_int(version, 1)) return store_fail(st, SC_EPROTOCOL, "%s.version must be an integer ≥ 1", where);
    if (ok_status && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "id")))
      return store_fail(st, SC_EPROTOCOL, "%s.id must be a string", where);
    if (!strcmp(status->valuestring, "conflict") && version && !cJSON_IsNull(version) && !is_int(version, 0))
      return store_fail(st, SC_EPROTOCOL, "%s.version must be an integer ≥ 0", where);
    if (record && !cJSON_IsNull(record)) {
      char rwhere[80];
      snprintf(rwhere, sizeof rwhere, "%s.record", where);
      int rc = check_server_record(st, record, rwhere, 0);
      if (rc != SC_OK) return rc;
    }
  }
  return SC_OK;
}

/* SPEC §4: one result per op sent. The answer must name each inflight op exactly once
** and nothing else; anything else is an answer of the wrong shape (the attempt failed,
** every op stays queued with its op_id). Also checks the timeFields of returned records
** against the op's collection. */
static int check_push_results(sc_store *st, const cJSON *results) {
  sqlite3_stmt *find = NULL, *count = NULL;
  int n = cJSON_GetArraySize(results), i = 0, rc;
  int64_t inflight = 0;
  const char **ids = n > 0 ? sc_malloc(sizeof(char *) * (size_t)n) : NULL;
  if (n > 0 && !ids) return SC_ENOMEM;
  rc = store_prep(st, "SELECT count(*) FROM outbox WHERE status='inflight'", &count);
  if (rc == SC_OK) {
    if (sqlite3_step(count) == SQLITE_ROW) inflight = sqlite3_column_int64(count, 0);
    else rc = store_sqlfail(st, "reading the outbox");
  }
  if (rc == SC_OK) rc = store_prep(st, "SELECT coll FROM outbox WHERE op_id=? AND status='inflight'", &find);
  const cJSON *r;
  if (rc == SC_OK) cJSON_ArrayForEach(r, results) {
    char where[64];
    const char *op_id = cJSON_GetObjectItemCaseSensitive(r, "op_id")->valuestring;
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(r, "record");
    snprintf(where, sizeof where, "push response: results[%d].record", i);
    ids[i++] = op_id;
    sqlite3_reset(find);
    store_bind_text(find, 1, op_id);
    int step = sqlite3_step(find);
    if (step == SQLITE_DONE) {
      rc = store_fail(st, SC_EPROTOCOL, "push response: results[%d] answers op_id '%.64s', which this push did not send",
                      i - 1, op_id);
    } else if (step != SQLITE_ROW) {
      rc = store_sqlfail(st, "reading the outbox");
    } else if (cJSON_IsObject(record)) {
      rc = check_time_fields(st, store_coll(st, (const char *)sqlite3_column_text(find, 0)), record, where);
    }
    if (rc != SC_OK) break;
  }
  const char *twice = rc == SC_OK ? util_first_repeat(ids, (size_t)n) : NULL;
  if (twice) rc = store_fail(st, SC_EPROTOCOL, "push response: op_id '%.64s' is answered twice", twice);
  if (rc == SC_OK && n != inflight)
    rc = store_fail(st, SC_EPROTOCOL, "push response: %d result%s for %lld op%s sent (one result per op)", n,
                    n == 1 ? "" : "s", (long long)inflight, inflight == 1 ? "" : "s");
  store_done(st, find);
  store_done(st, count);
  sc_free(ids);
  return rc;
}

static int apply_conflict(sc_store *st, const sc_op *op, const cJSON *r, cJSON *changed, int64_t *pConflicts) {
  const sc_coll *c = store_coll(st, op->coll);
  const cJSON *record = cJSON_GetObjectItemCaseSensitive(r, "record"), *data = NULL;
  cJSON *owned = NULL;
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  if (!c) return outbox_ack(st, op->op_id);
  int rc = take_absent_mark(st, op->coll, op->record_id, NULL);
  if (rc == SC_OK) rc = store_rec_load(st, op->coll, op->record_id, &rec);
  if (rc != SC_OK) return rc;
  if (!rec.exists) { rc = outbox_ack(st, op->op_id); goto fail; }
  int absent = !cJSON_IsObject(record);
  if (!absent && (rc = server_data(c, record, &data, &owned)) != SC_OK) goto fail;
  int64_t version = absent ? 0 : (int64_t)cJSON_GetObjectItemCaseSensitive(record, "version")->valuedouble;
  sc_remote rm = {version, data, absent, absent ? NULL : opt_str(record, "hlc"),
                  absent ? NULL : opt_str(record, "updated_at"), absent ? NULL : opt_str(record, "device_id")};
  if (rm.hlc) (void)sc_hlc_receive(&st->clock, rm.hlc, store_now(st));
  rc = merge_incoming(st, c, &rec, &rm, 1, changed, pConflicts);
fail:
  cJSON_Delete(owned);
  store_rec_free(&rec);
  return rc;
}

static int mark_rejected(sc_store *st, const char *op_id, const char *error) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "UPDATE outbox SET status='rejected', last_error=?2, sent=0, payload=NULL,"
                          " next_attempt_at=NULL WHERE op_id=?1", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, op_id);
  store_bind_text(stmt, 2, error ? error : "rejected by the server");
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "marking an op rejected");
  store_done(st, stmt);
  return rc;
}

int sync_push_response(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *resp = NULL;
  int64_t pushed = 0, conflicts = 0, failed = 0;
  cJSON *changed = cJSON_CreateArray(), *remapped = cJSON_CreateObject(), *out = NULL, *owned = NULL;
  sc_op op;
  memset(&op, 0, sizeof op);
  int rc = changed && remapped ? take_response(st, in, "push response", &resp, &owned) : SC_ENOMEM;
  if (rc == SC_OK) rc = check_push_body(st, resp);
  if (rc == SC_OK) rc = check_push_results(st, cJSON_GetObjectItemCaseSensitive(resp, "results"));
  if (rc != SC_OK) goto fail;
  if ((rc = observe_server_time(st, resp)) != SC_OK) goto fail;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(resp, "results")) {
    const char *op_id = cJSON_GetObjectItemCaseSensitive(r, "op_id")->valuestring;
    const char *status = cJSON_GetObjectItemCaseSensitive(r, "status")->valuestring;
    rc = outbox_find(st, op_id, &op);   /* each was inflight (check_push_results) */
    if (rc == SC_ENOTFOUND) { rc = SC_OK; continue; }   /* settled by an earlier result of this answer */
    if (rc != SC_OK) goto fail;
    if (!strcmp(status, "applied") || !strcmp(status, "duplicate")) {
      const cJSON *record = cJSON_GetObjectItemCaseSensitive(r, "record");
      int64_t version = (int64_t)cJSON_GetObjectItemCaseSensitive(r, "version")->valuedouble;
      const cJSON *h = cJSON_IsObject(record) ? cJSON_GetObjectItemCaseSensitive(record, "hlc") : NULL;
      if (cJSON_IsString(h)) (void)sc_hlc_receive(&st->clock, h->valuestring, store_now(st));
      rc = ack_op(st, &op, opt_str(r, "id"), version, cJSON_IsObject(record) ? record : NULL,
                  !strcmp(status, "duplicate"), changed, remapped);
      pushed++;
    } else if (!strcmp(status, "conflict")) {
      rc = apply_conflict(st, &op, r, changed, &conflicts);
    } else {
      rc = mark_rejected(st, op_id, opt_str(r, "error"));
      failed++;
    }
    outbox_op_free(&op);
    if (rc != SC_OK) goto fail;
  }
  if ((rc = outbox_requeue_inflight(st)) != SC_OK) goto fail;
  out = cJSON_CreateObject();
  if (!out) { rc = SC_ENOMEM; goto fail; }
  cJSON_AddNumberToObject(out, "pushed", (double)pushed);
  cJSON_AddNumberToObject(out, "conflicts", (double)conflicts);
  cJSON_AddNumberToObject(out, "failed", (double)failed);
  if ((rc = merge_add_new_conflicts(st, out)) != SC_OK) { cJSON_Delete(out); goto fail; }
  cJSON_AddItemToObject(out, "changed", changed);
  cJSON_AddItemToObject(out, "remapped", remapped);
  changed = remapped = NULL;
  *pOut = out;
fail:
  outbox_op_free(&op);
  cJSON_Delete(changed);
  cJSON_Delete(remapped);
  cJSON_Delete(owned);
  return rc;
}

int sync_push_failure(sc_store *st, const cJSON *in, cJSON **pOut) {
  char err[160];
  int64_t status = 0, failed = 0;
  const char *error = NULL;
  double retry_after = 0;
  int rc = util_get_int(in, "status", &status, err, sizeof err);
  if (rc == SC_OK) rc = util_get_string(in, "error", &error, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "pushFailure: %s", err);
  const cJSON *ra = cJSON_GetObjectItemCaseSensitive(in, "retryAfter");
  if (cJSON_IsNumber(ra)) retry_after = ra->valuedouble;
  else if (cJSON_IsString(ra)) retry_after = atof(ra->valuestring);
  else if (ra && !cJSON_IsNull(ra)) return store_fail(st, SC_EBADINPUT, "pushFailure: retryAfter must be a number of seconds");
  if ((rc = outbox_push_failure(st, status, retry_after, error, &failed)) != SC_OK) return rc;
  cJSON *out = cJSON_CreateObject();
  if (!out) return SC_ENOMEM;
  cJSON_AddNumberToObject(out, "failed", (double)failed);
  *pOut = out;
  return SC_OK;
}

int sync_begin(sc_store *st, const cJSON *in, cJSON **pOut) {
  (void)in;
  /* The host holds the store's sync lock: an op still inflight belongs to a round that
  ** died (a closed tab, a killed worker). It goes back to pending with its op_id and
  ** frozen payload, so the resend is answered `duplicate` if the server applied it. */
  int64_t in_doubt = 0;
  int rc = outbox_requeue_inflight(st);
  if (rc == SC_OK) rc = outbox_count_in_doubt(st, &in_doubt);
  if (rc == SC_OK && !(*pOut = cJSON_CreateObject())) rc = SC_ENOMEM;
  if (rc == SC_OK) cJSON_AddNumberToObject(*pOut, "inDoubt", (double)in_doubt);
  return rc;
}

int sync_done(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(in, "error");
  char iso[32];
  util_iso(store_now(st), iso);
  int rc = store_meta_set(st, "lastSyncAt", iso);
  if (rc == SC_OK) {
    if (cJSON_IsString(error)) rc = store_meta_set(st, "lastError", error->valuestring);
    else if (error && !cJSON_IsNull(error)) {
      char *text = util_json_text(error);
      rc = text ? store_meta_set(st, "lastError", text) : SC_ENOMEM;
      sc_free(text);
    } else rc = store_exec(st, "DELETE FROM meta WHERE key='lastError'");
  }
  if (rc == SC_OK && !(*pOut = cJSON_CreateObject())) rc = SC_ENOMEM;
  return rc;
}
