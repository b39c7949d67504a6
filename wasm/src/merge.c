/*
** merge.c — what happens when the server's version of a record meets a local,
** unpushed change of it: on pull (sync.c, when the server version moved past the
** record's base_version) and on a push `conflict` result. Detection is by versions
** only (the callers'); this file decides the outcome by the collection's strategy and
** onDelete, applies it, keeps the conflicts the app resolves, and the archive of
** silent losers. It never does I/O beyond the store.
**
** Invariants
**   1. One unresolved conflict per record (UNIQUE(coll, record_id)); a newer server
**      change for a record in conflict updates that conflict's remote side.
**   2. While a conflict is open the local edit stays in the record and its op is `held`
**      (never sent); the record's base_* stay the state the edit started from and
**      `version` is the newest server version known.
**   3. When the local side wins (fully or merged) the op is rebased: base = the server's
**      version, status pending, unsent; its op_id is kept only when the server surely
**      did not apply it (outbox_rebase).
**   4. When the remote side wins, the record becomes the server's version and every op
**      of it goes; a loser under a silent strategy is copied to the archive first.
**   5. Last-write-wins compares hlc strings, then device ids (sc_hlc_compare), never
**      clocks directly; `latest` uses the same order.
**
** Outcomes and the function performing each
**   take remote  → merge_take_remote   (lww remote newer, server-wins, append-only,
**                                       delete-wins/edit-wins/latest for the remote side,
**                                       resolve 'theirs')
**   keep local   → keep_local          (lww local newer, client-wins, onDelete for the
**                                       local side, resolve 'mine')
**   merged data  → keep_local          (merge-fields, max; resolve with a merged record)
**   ask          → open_conflict       (ask, merge-fields+fieldStrategy ask, onDelete ask)
**   conflict     → (gone)              merge_resolve, or merge_take_remote/keep_local
*/
#include "merge.h"
#include "outbox.h"
#include "remap.h"

#include <stdio.h>
#include <string.h>

enum { OUT_REMOTE, OUT_LOCAL, OUT_MERGED, OUT_ASK };

static int run_sql2(sc_store *st, const char *sql, const char *a, const char *b) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, sql, &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, a);
  store_bind_text(stmt, 2, b);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "updating conflicts");
  store_done(st, stmt);
  return rc;
}

static int archive_add(sc_store *st, const char *coll, const char *id, const cJSON *data, int64_t version,
                       const char *hlc, const char *updated_at, const char *device_id) {
  sqlite3_stmt *stmt = NULL;
  if (!data) return SC_OK;   /* a delete that lost leaves nothing to keep */
  int rc = store_prep(st, "INSERT INTO archive(coll, record_id, data, version, hlc, updated_at, device_id, archived_at)"
                          " VALUES(?,?,?,?,?,?,?,?)", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  rc = store_bind_json(stmt, 3, data);
  sqlite3_bind_int64(stmt, 4, version);
  store_bind_text(stmt, 5, hlc);
  store_bind_text(stmt, 6, updated_at);
  store_bind_text(stmt, 7, device_id);
  sqlite3_bind_int64(stmt, 8, store_now(st));
  if (rc == SC_OK && sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "archiving a version");
  store_done(st, stmt);
  return rc;
}

int merge_set_base(sc_rec *rec, const sc_remote *rm) {
  cJSON *copy = NULL;
  if (rm->data && !(copy = cJSON_Duplicate(rm->data, 1))) return SC_ENOMEM;
  cJSON_Delete(rec->base_data);
  rec->base_data = copy;
  rec->base_deleted = copy == NULL;
  rec->base_version = rm->absent ? 0 : rm->version;
  rec->version = rec->base_version;
  int rc = store_set_str(&rec->base_hlc, rm->hlc);
  if (rc == SC_OK) rc = store_set_str(&rec->base_updated_at, rm->updated_at);
  if (rc == SC_OK) rc = store_set_str(&rec->base_device_id, rm->device_id);
  return rc;
}

static int take_remote(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *changed, int has_ops) {
  int rc = has_ops ? outbox_drop_record(st, c->name, rec->id) : SC_OK;
  if (rc == SC_OK) rc = run_sql2(st, "DELETE FROM conflicts WHERE coll=? AND record_id=?", c->name, rec->id);
  if (rc == SC_OK && !has_ops && !rm->absent) {
    /* Nothing local: the row becomes the server's version as it is (clean: view = base),
    ** written straight from rm, its data borrowed, not copied twice into rec. rec is left
    ** as it was (merge_take_remote_no_ops: the caller only frees it). */
    sc_rec row = {rec->exists, rec->id, (cJSON *)rm->data, !rm->data, (char *)rm->hlc, (char *)rm->updated_at,
                  (char *)rm->device_id, rm->version, rm->version, (cJSON *)rm->data, !rm->data, (char *)rm->hlc,
                  (char *)rm->updated_at, (char *)rm->device_id};
    rc = store_rec_save(st, c->name, &row);
    return rc == SC_OK ? store_changed_add(changed, c->name, rec->id) : rc;
  }
  if (rc == SC_OK) rc = merge_set_base(rec, rm);
  if (rc == SC_OK) rc = store_rec_set_view_from_base(rec);
  if (rc != SC_OK) return rc;
  if (rm->absent) rc = store_rec_remove(st, c->name, rec->id);
  else rc = store_rec_save(st, c->name, rec);
  if (rc == SC_OK) rc = store_changed_add(changed, c->name, rec->id);
  return rc;
}

int merge_take_remote(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *changed) {
  return take_remote(st, c, rec, rm, changed, 1);
}

int merge_take_remote_no_ops(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *changed) {
  return take_remote(st, c, rec, rm, changed, 0);   /* rec is not updated: see take_remote */
}

/* The local side wins (data = NULL) or merged data replaces it: rebase the op onto rm. */
static int keep_local(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *merged,
                      int from_push, int restamp, cJSON *changed) {
  int rc = run_sql2(st, "DELETE FROM conflicts WHERE coll=? AND record_id=?", c->name, rec->id);
  if (rc == SC_OK) rc = merge_set_base(rec, rm);
  if (rc != SC_OK) return rc;
  if (merged) {
    cJSON_Delete(rec->data);
    rec->data = merged;
    rec->deleted = 0;
    restamp = 1;
    if ((rc = store_changed_add(changed, c->name, rec->id)) != SC_OK) return rc;
  }
  if (restamp && (rc = store_stamp(st, rec)) != SC_OK) return rc;
  if (rec->deleted && rm->absent) {
    /* Deleted here, and the server no longer has it at all: nothing left to send. (A
    ** delete kept over the server's tombstone is sent: merge_incoming.) */
    rc = outbox_drop_record(st, c->name, rec->id);
    return rc == SC_OK ? store_rec_remove(st, c->name, rec->id) : rc;
  }
  const char *kind = rec->deleted ? "delete" : rm->absent ? "create" : "update";
  if (!strcmp(kind, "create") && c->server_ids && strncmp(rec->id, "tmp_", 4) != 0) {
    /* The server forgot this record and only creates server-ids records from temp ids:
    ** it comes back under a fresh temp id, refs follow (remap). */
    char uuid[37], fresh[64];
    util_uuid(&st->hooks, uuid);
    snprintf(fresh, sizeof fresh, "tmp_%s", uuid);
    if ((rc = remap_recreate(st, c->name, rec->id, fresh, changed)) != SC_OK) return rc;
    if ((rc = store_set_str(&rec->id, fresh)) != SC_OK) return rc;
  }
  rc = outbox_rebase(st, c->name, rec->id, kind, "pending", from_push);
  if (rc == SC_OK) rc = store_rec_save(st, c->name, rec);
  return rc;
}

/* Names whose values differ between a and b (either may be NULL = deleted). */
static cJSON *diff_fields(const cJSON *a, const cJSON *b) {
  cJSON *out = cJSON_CreateArray();
  const cJSON *it;
  if (!out) return NULL;
  cJSON_ArrayForEach(it, a) {
    if (!util_json_equal(it, cJSON_GetObjectItemCaseSensitive(b, it->string)))
      cJSON_AddItemToArray(out, cJSON_CreateString(it->string));
  }
  cJSON_ArrayForEach(it, b) {
    if (!cJSON_GetObjectItemCaseSensitive(a, it->string) && !cJSON_IsNull(it))
      cJSON_AddItemToArray(out, cJSON_CreateString(it->string));
  }
  return out;
}

static cJSON *record_or_null(const char *id, const cJSON *data) {
  cJSON *r = data ? store_record_json(id, data) : NULL;
  return r ? r : cJSON_CreateNull();
}

/* Invariant 1: create the record's conflict, or refresh the open one. */
static int open_conflict(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, const char *kind,
                         int from_push, int64_t *pNew) {
  sqlite3_stmt *stmt = NULL;
  char id[37];
  cJSON *fields = diff_fields(rec->deleted ? NULL : rec->data, rm->data);
  int exists = 0;
  int rc = fields ? store_prep(st, "SELECT 1 FROM conflicts WHERE coll=? AND record_id=?", &stmt) : SC_ENOMEM;
  if (rc != SC_OK) goto fail;
  store_bind_text(stmt, 1, c->name);
  store_bind_text(stmt, 2, rec->id);
  exists = store_row(st, stmt, "reading conflicts", &rc);
  store_done(st, stmt);
  if (rc != SC_OK) goto fail;
  util_uuid(&st->hooks, id);
  rc = store_prep(st, exists
      ? "UPDATE conflicts SET kind=?4, local=?5, remote=?6, base=?7, fields=?8, remote_version=?9, remote_hlc=?10,"
        " remote_updated_at=?11, remote_device_id=?12 WHERE coll=?2 AND record_id=?3 AND ?1 IS NOT NULL AND ?13 IS NOT NULL"
      : "INSERT INTO conflicts(id, coll, record_id, kind, local, remote, base, fields, remote_version, remote_hlc,"
        " remote_updated_at, remote_device_id, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)", &stmt);
  if (rc != SC_OK) goto fail;
  cJSON *local = record_or_null(rec->id, rec->deleted ? NULL : rec->data);
  cJSON *remote = record_or_null(rec->id, rm->data);
  cJSON *base = record_or_null(rec->id, rec->base_deleted ? NULL : rec->base_data);
  store_bind_text(stmt, 1, id);
  store_bind_text(stmt, 2, c->name);
  store_bind_text(stmt, 3, rec->id);
  store_bind_text(stmt, 4, kind);
  if (!local || !remote || !base) rc = SC_ENOMEM;
  if (rc == SC_OK) rc = store_bind_json(stmt, 5, local);
  if (rc == SC_OK) rc = store_bind_json(stmt, 6, remote);
  if (rc == SC_OK) rc = store_bind_json(stmt, 7, base);
  if (rc == SC_OK) rc = store_bind_json(stmt, 8, fields);
  sqlite3_bind_int64(stmt, 9, rm->absent ? 0 : rm->version);
  store_bind_text(stmt, 10, rm->hlc);
  store_bind_text(stmt, 11, rm->updated_at);
  store_bind_text(stmt, 12, rm->device_id);
  sqlite3_bind_int64(stmt, 13, store_now(st));
  cJSON_Delete(local);
  cJSON_Delete(remote);
  cJSON_Delete(base);
  if (rc == SC_OK && sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "recording a conflict");
  store_done(st, stmt);
  if (rc != SC_OK) goto fail;
  if (!exists && pNew) (*pNew)++;
  if (!exists) {   /* the call's new conflicts, for merge_add_new_conflicts */
    if (!st->new_conflicts && !(st->new_conflicts = cJSON_CreateArray())) rc = SC_ENOMEM;
    cJSON *s = rc == SC_OK ? cJSON_CreateString(id) : NULL;
    if (!s) rc = SC_ENOMEM;
    else cJSON_AddItemToArray(st->new_conflicts, s);
    if (rc != SC_OK) goto fail;
  }
  /* Invariant 2: base stays; the newest server version is remembered for 'mine'. */
  rec->version = rm->absent ? 0 : rm->version;
  rc = outbox_rebase(st, c->name, rec->id, rec->deleted ? "delete" : rm->absent ? "create" : "update", "held", from_push);
  if (rc == SC_OK) rc = store_rec_save(st, c->name, rec);
fail:
  cJSON_Delete(fields);
  return rc;
}

/* Three-way merge against base; *pAsk set when a field changed on both sides and
** fieldStrategy is ask. local_wins settles both-sided fields under lww. */
/* The data of every op of (coll, id) already sent and not acknowledged: the server may
** have applied them, so values equal to theirs in a remote version are our own writes.
** *pOut is an array (possibly empty). */
static int sent_datas(sc_store *st, const char *coll, const char *id, cJSON **pOut) {
  sqlite3_stmt *stmt = NULL;
  cJSON *out = cJSON_CreateArray();
  int rc = out ? store_prep(st, "SELECT json_extract(payload, '$.data') FROM outbox WHERE coll=? AND record_id=?"
                                " AND sent=1 AND payload IS NOT NULL ORDER BY seq", &stmt) : SC_ENOMEM;
  if (rc == SC_OK) {
    store_bind_text(stmt, 1, coll);
    store_bind_text(stmt, 2, id);
    while (store_row(st, stmt, "reading the outbox", &rc)) {
      cJSON *d = store_col_json(stmt, 0);
      if (cJSON_IsObject(d)) cJSON_AddItemToArray(out, d);
      else cJSON_Delete(d);
    }
    store_done(st, stmt);
  }
  if (rc != SC_OK) { cJSON_Delete(out); out = NULL; }
  *pOut = out;
  return rc;
}

/* Is r (the remote value of field k) the value one of our sent ops wrote? */
static int ours(const cJSON *sent, const char *k, const cJSON *r) {
  const cJSON *d;
  cJSON_ArrayForEach(d, sent) if (util_json_equal(cJSON_GetObjectItemCaseSensitive(d, k), r)) return 1;
  return 0;
}

/* sent: datas of our unacknowledged sent ops (sent_datas); a remote value equal to one
** of them is our own write coming back, not a change of the other side. */
static cJSON *merge_fields(const cJSON *local, const cJSON *remote, const cJSON *base, const cJSON *sent,
                           int local_wins, int field_ask, int *pAsk) {
  cJSON *out = cJSON_CreateObject();
  const cJSON *const sides[3] = {local, remote, base};
  if (!out) return NULL;
  for (int s = 0; s < 3; s++) {
    const cJSON *it;
    cJSON_ArrayForEach(it, sides[s]) {
      const char *k = it->string;
      if (cJSON_GetObjectItemCaseSensitive(out, k)) continue;
      int seen = 0;
      for (int p = 0; p < s; p++) if (cJSON_GetObjectItemCaseSensitive(sides[p], k)) seen = 1;
      if (seen) continue;
      const cJSON *l = cJSON_GetObjectItemCaseSensitive(local, k);
      const cJSON *r = cJSON_GetObjectItemCaseSensitive(remote, k);
      const cJSON *b = cJSON_GetObjectItemCaseSensitive(base, k);
      int lc = !util_json_equal(l, b), rch = !util_json_equal(r, b) && !ours(sent, k, r);
      const cJSON *take = r;
      if (lc && rch && !util_json_equal(l, r)) {
        if (field_ask) *pAsk = 1;
        take = local_wins ? l : r;
      } else if (lc) {
        take = l;
      }
      if (take) cJSON_AddItemToObject(out, k, cJSON_Duplicate(take, 1));
    }
  }
  return out;
}

/* max: the lww winner, with every maxField at the larger numeric value of both sides. */
static cJSON *merge_max(const sc_coll *c, const cJSON *local, const cJSON *remote, int local_wins) {
  cJSON *out = cJSON_Duplicate(local_wins ? local : remote, 1);
  const cJSON *f;
  if (!out || !c->max_fields) return out;
  cJSON_ArrayForEach(f, c->max_fields) {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(local, f->valuestring);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(remote, f->valuestring);
    const cJSON *best = NULL;
    if (cJSON_IsNumber(l) && cJSON_IsNumber(r)) best = l->valuedouble >= r->valuedouble ? l : r;
    else if (cJSON_IsNumber(l)) best = l;
    else if (cJSON_IsNumber(r)) best = r;
    if (!best) continue;
    cJSON *copy = cJSON_Duplicate(best, 0);
    if (!copy) { cJSON_Delete(out); return NULL; }
    if (cJSON_GetObjectItemCaseSensitive(out, f->valuestring)) cJSON_ReplaceItemInObjectCaseSensitive(out, f->valuestring, copy);
    else cJSON_AddItemToObject(out, f->valuestring, copy);
  }
  return out;
}

/* Decide the outcome of a delete-vs-edit. */
static int decide_delete(const sc_coll *c, int local_deleted, int cmp_local) {
  switch (c->on_delete) {
    case SC_ONDEL_DELETE_WINS: return local_deleted ? OUT_LOCAL : OUT_REMOTE;
    case SC_ONDEL_EDIT_WINS: return local_deleted ? OUT_REMOTE : OUT_LOCAL;
    case SC_ONDEL_LATEST: return cmp_local > 0 ? OUT_LOCAL : OUT_REMOTE;
    case SC_ONDEL_REMOTE: return OUT_REMOTE;
    case SC_ONDEL_LOCAL: return OUT_LOCAL;
    default: return OUT_ASK;
  }
}

int merge_incoming(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, int from_push,
                   cJSON *changed, int64_t *pNewConflict) {
  int local_deleted = rec->deleted || !rec->data;
  int remote_deleted = rm->absent || !rm->data;
  int cmp = sc_hlc_compare(rec->hlc, rec->device_id, rm->hlc, rm->device_id);
  int archive_local = 0, archive_remote = 0, ask = 0, rc;
  int outcome;
  cJSON *merged = NULL;
  const char *kind = "edit-edit";

  if (local_deleted && remote_deleted) {
    /* Both deleted. Where the latest write decides a delete-edit, the server's
    ** tombstone must carry the newer delete: else an edit stamped between the two,
    ** sent later on the tombstone's version, would win over our newer delete. */
    outcome = c->on_delete == SC_ONDEL_LATEST && !rm->absent && cmp > 0 ? OUT_LOCAL : OUT_REMOTE;
  } else if (rm->absent && !local_deleted && rec->base_deleted && rec->base_version > 0) {
    /* The edit was already kept over this deletion (resolve 'mine', edit-wins, latest)
    ** and the server has since purged the tombstone: re-create, do not ask again. */
    outcome = OUT_LOCAL;
  } else if (local_deleted || remote_deleted) {
    kind = local_deleted ? "edit-delete" : "delete-edit";
    outcome = decide_delete(c, local_deleted, cmp);
  } else if (util_json_equal(rec->data, rm->data)) {
    /* Both sides reached the same data: nothing to settle, except that under
    ** last-writer-wins the server must hold the newer stamp (as for two deletes). */
    outcome = c->strategy == SC_STRAT_LWW && cmp > 0 ? OUT_LOCAL : OUT_REMOTE;
  } else {
    switch (c->strategy) {
      case SC_STRAT_SERVER_WINS: outcome = OUT_REMOTE; archive_local = 1; break;
      case SC_STRAT_CLIENT_WINS: outcome = OUT_LOCAL; break;
      case SC_STRAT_APPEND_ONLY: outcome = OUT_REMOTE; archive_local = 1; break;
      case SC_STRAT_ASK: outcome = OUT_ASK; break;
      case SC_STRAT_MAX:
        merged = merge_max(c, rec->data, rm->data, cmp > 0);
        if (!merged) return SC_ENOMEM;
        outcome = OUT_MERGED;
        break;
      case SC_STRAT_MERGE_FIELDS: {
        cJSON *sent = NULL;
        if ((rc = sent_datas(st, c->name, rec->id, &sent)) != SC_OK) return rc;
        merged = merge_fields(rec->data, rm->data, rec->base_deleted ? NULL : rec->base_data, sent, cmp > 0,
                              c->field_ask, &ask);
        cJSON_Delete(sent);
        if (!merged) return SC_ENOMEM;
        outcome = ask ? OUT_ASK : OUT_MERGED;
        break;
      }
      default:
        outcome = cmp > 0 ? OUT_LOCAL : OUT_REMOTE;
        if (cmp > 0) archive_remote = 1; else archive_local = 1;
        break;
    }
  }
  if (outcome == OUT_MERGED) {
    if (util_json_equal(merged, rm->data)) outcome = OUT_REMOTE;
    else if (util_json_equal(merged, rec->data)) outcome = OUT_LOCAL;
    if (outcome != OUT_MERGED) { cJSON_Delete(merged); merged = NULL; }
  }
  if (outcome == OUT_ASK) {
    cJSON_Delete(merged);
    return open_conflict(st, c, rec, rm, kind, from_push, pNewConflict);
  }
  if (archive_local && !local_deleted &&
      (rc = archive_add(st, c->name, rec->id, rec->data, rec->base_version, rec->hlc, rec->updated_at, rec->device_id)) != SC_OK)
    goto fail;
  if (archive_remote && !remote_deleted &&
      (rc = archive_add(st, c->name, rec->id, rm->data, rm->version, rm->hlc, rm->updated_at, rm->device_id)) != SC_OK)
    goto fail;
  if (outcome == OUT_REMOTE) rc = merge_take_remote(st, c, rec, rm, changed);
  else {
    rc = keep_local(st, c, rec, rm, merged, from_push, 0, changed);
    merged = NULL;   /* owned by rec now */
  }
fail:
  cJSON_Delete(merged);
  return rc;
}

/* ---- conflicts the app sees and resolves -------------------------------------- */

int merge_count_conflicts(sc_store *st, int64_t *pN) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT count(*) FROM conflicts", &stmt);
  if (rc != SC_OK) return rc;
  *pN = store_row(st, stmt, "counting conflicts", &rc) ? sqlite3_column_int64(stmt, 0) : 0;
  store_done(st, stmt);
  return rc;
}

static void add_json_col(cJSON *o, const char *key, sqlite3_stmt *stmt, int i) {
  cJSON *v = store_col_json(stmt, i);
  cJSON_AddItemToObject(o, key, v ? v : cJSON_CreateNull());
}

/* The conflicts as the app sees them into arr: every open one (ids NULL), or those whose
** id is in ids (a JSON array of strings). */
static int list_conflicts(sc_store *st, const cJSON *ids, cJSON *arr) {
  sqlite3_stmt *stmt = NULL;
  int rc = ids ? store_prep(st, "SELECT id, coll, record_id, kind, local, remote, base, fields, created_at"
                                " FROM conflicts WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY created_at, rowid", &stmt)
               : store_prep(st, "SELECT id, coll, record_id, kind, local, remote, base, fields, created_at"
                                " FROM conflicts ORDER BY created_at, rowid", &stmt);
  if (rc == SC_OK && ids) rc = store_bind_json(stmt, 1, ids);
  while (rc == SC_OK && store_row(st, stmt, "reading conflicts", &rc)) {
    cJSON *o = cJSON_CreateObject();
    if (!o) { rc = SC_ENOMEM; break; }
    /* The local side is the record as it is now: the app may have edited it since. */
    const char *coll = (const char *)sqlite3_column_text(stmt, 1);
    const char *rid = (const char *)sqlite3_column_text(stmt, 2);
    sc_rec rec;
    memset(&rec, 0, sizeof rec);
    if ((rc = store_rec_load(st, coll, rid, &rec)) != SC_OK) { cJSON_Delete(o); break; }
    const cJSON *local = rec.exists && !rec.deleted ? rec.data : NULL;
    cJSON *remote = store_col_json(stmt, 5);
    cJSON *remote_data = cJSON_IsObject(remote) ? cJSON_Duplicate(remote, 1) : NULL;
    if (remote_data) cJSON_DeleteItemFromObjectCaseSensitive(remote_data, "id");
    cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(stmt, 0));
    cJSON_AddStringToObject(o, "collection", coll);
    cJSON_AddStringToObject(o, "recordId", rid);
    cJSON_AddStringToObject(o, "kind", !local && remote_data ? "edit-delete" : local && !remote_data ? "delete-edit"
                                       : local ? "edit-edit" : (const char *)sqlite3_column_text(stmt, 3));
    cJSON_AddItemToObject(o, "local", record_or_null(rid, local));
    cJSON_AddItemToObject(o, "remote", cJSON_IsObject(remote) ? remote : cJSON_CreateNull());
    if (!cJSON_IsObject(remote)) cJSON_Delete(remote);
    add_json_col(o, "base", stmt, 6);
    cJSON *fields = diff_fields(local, remote_data);
    cJSON_AddItemToObject(o, "fields", fields ? fields : cJSON_CreateArray());
    cJSON_Delete(remote_data);
    store_rec_free(&rec);
    cJSON_AddItemToObject(o, "createdAt", util_iso_node(sqlite3_column_int64(stmt, 8), 1));
    cJSON_AddItemToArray(arr, o);
  }
  store_done(st, stmt);
  return rc;
}

int merge_list_conflicts(sc_store *st, cJSON **pOut) {
  cJSON *out = cJSON_CreateObject();
  cJSON *arr = out ? cJSON_AddArrayToObject(out, "conflicts") : NULL;
  int rc = arr ? list_conflicts(st, NULL, arr) : SC_ENOMEM;
  if (rc == SC_OK) *pOut = out;
  else cJSON_Delete(out);
  return rc;
}

int merge_add_new_conflicts(sc_store *st, cJSON *out) {
  cJSON *arr = cJSON_AddArrayToObject(out, "newConflicts");
  if (!arr) return SC_ENOMEM;
  return st->new_conflicts ? list_conflicts(st, st->new_conflicts, arr) : SC_OK;
}

typedef struct stored_conflict {
  char *coll, *record_id, *hlc, *updated_at, *device_id;
  cJSON *remote;           /* record JSON with id, or NULL */
  int64_t version;
} stored_conflict;

static void stored_conflict_free(stored_conflict *k) {
  sc_free(k->coll); sc_free(k->record_id); sc_free(k->hlc); sc_free(k->updated_at); sc_free(k->device_id);
  cJSON_Delete(k->remote);
  memset(k, 0, sizeof *k);
}

/* Load the conflict with id (or, when id is NULL, the one of coll/record_id). */
static int load_conflict_where(sc_store *st, const char *id, const char *coll, const char *record_id, stored_conflict *k) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, id ? "SELECT coll, record_id, remote, remote_version, remote_hlc, remote_updated_at, remote_device_id"
                               " FROM conflicts WHERE id=?"
                             : "SELECT coll, record_id, remote, remote_version, remote_hlc, remote_updated_at, remote_device_id"
                               " FROM conflicts WHERE coll=? AND record_id=?", &stmt);
  if (rc != SC_OK) return rc;
  if (id) store_bind_text(stmt, 1, id);
  else { store_bind_text(stmt, 1, coll); store_bind_text(stmt, 2, record_id); }
  if (store_row(st, stmt, "reading conflicts", &rc)) {
    k->coll = store_col_text(stmt, 0);
    k->record_id = store_col_text(stmt, 1);
    k->remote = store_col_json(stmt, 2);
    if (k->remote && !cJSON_IsObject(k->remote)) { cJSON_Delete(k->remote); k->remote = NULL; }
    if (k->remote) cJSON_DeleteItemFromObjectCaseSensitive(k->remote, "id");
    k->version = sqlite3_column_int64(stmt, 3);
    k->hlc = store_col_text(stmt, 4);
    k->updated_at = store_col_text(stmt, 5);
    k->device_id = store_col_text(stmt, 6);
    if (!k->coll || !k->record_id) rc = SC_ENOMEM;
  } else if (rc == SC_OK) {
    rc = id ? store_fail(st, SC_ENOTFOUND, "no unresolved conflict '%s' (unknown or already resolved)", id) : SC_ENOTFOUND;
  }
  store_done(st, stmt);
  return rc;
}

static int load_conflict(sc_store *st, const char *id, stored_conflict *k) {
  return load_conflict_where(st, id, NULL, NULL, k);
}

int merge_note_local_write(sc_store *st, const sc_coll *c, sc_rec *rec, cJSON *changed) {
  stored_conflict k;
  memset(&k, 0, sizeof k);
  int rc = load_conflict_where(st, NULL, c->name, rec->id, &k);
  if (rc == SC_ENOTFOUND) return SC_OK;
  if (rc != SC_OK) goto fail;
  int agree = rec->deleted ? !k.remote : (k.remote && util_json_equal(rec->data, k.remote));
  if (agree) {
    /* The app made the record what the server holds: nothing left to resolve or send. */
    sc_remote rm = {k.version, k.remote, k.version == 0 && !k.remote, k.hlc, k.updated_at, k.device_id};
    rc = merge_take_remote(st, c, rec, &rm, changed);
  }
fail:
  stored_conflict_free(&k);
  return rc;
}

int merge_resolve(sc_store *st, const char *conflict_id, const char *choice, const cJSON *merged, cJSON **pOut) {
  stored_conflict k;
  sc_rec rec;
  cJSON *data = NULL, *out = NULL, *changed = cJSON_CreateArray();
  memset(&k, 0, sizeof k);
  memset(&rec, 0, sizeof rec);
  *pOut = NULL;
  int rc = changed ? load_conflict(st, conflict_id, &k) : SC_ENOMEM;
  if (rc != SC_OK) goto fail;
  const sc_coll *c = store_coll(st, k.coll);
  if (!c) { rc = store_fail(st, SC_EUNKNOWNCOLL, "conflict '%s' is on collection '%s', no longer configured", conflict_id, k.coll); goto fail; }
  if ((rc = store_rec_load(st, k.coll, k.record_id, &rec)) != SC_OK) goto fail;
  if (!rec.exists) { rc = store_fail(st, SC_EINTERNAL, "conflict '%s' names a missing record", conflict_id); goto fail; }
  sc_remote rm = {k.version, k.remote, k.version == 0 && !k.remote, k.hlc, k.updated_at, k.device_id};
  if (merged) {
    const cJSON *mid = cJSON_GetObjectItemCaseSensitive(merged, "id");
    if (!cJSON_IsObject(merged)) { rc = store_fail(st, SC_EBADINPUT, "merged must be a record object"); goto fail; }
    if (mid && !(cJSON_IsString(mid) && strcmp(mid->valuestring, rec.id) == 0)) {
      rc = store_fail(st, SC_EBADINPUT, "merged.id must be '%s' (the conflict's record) or absent", rec.id);
      goto fail;
    }
    if (!(data = cJSON_Duplicate(merged, 1))) { rc = SC_ENOMEM; goto fail; }
    cJSON_DeleteItemFromObjectCaseSensitive(data, "id");
    if ((rc = store_check_data(st, c, data, "merged")) != SC_OK) goto fail;
    rc = keep_local(st, c, &rec, &rm, data, 1, 1, changed);
    data = NULL;
  } else if (choice && strcmp(choice, "theirs") == 0) {
    rc = merge_take_remote(st, c, &rec, &rm, changed);
  } else if (choice && strcmp(choice, "mine") == 0) {
    rc = keep_local(st, c, &rec, &rm, NULL, 1, 1, changed);
  } else {
    rc = store_fail(st, SC_EBADINPUT, "choice must be 'mine' or 'theirs' (or pass merged)");
  }
  if (rc != SC_OK) goto fail;
  if ((rc = run_sql2(st, "DELETE FROM conflicts WHERE id=? AND ?2 IS NULL", conflict_id, NULL)) != SC_OK) goto fail;
  if ((rc = store_rec_load(st, k.coll, k.record_id, &rec)) != SC_OK) goto fail;
  out = cJSON_CreateObject();
  if (!out) { rc = SC_ENOMEM; goto fail; }
  cJSON_AddItemToObject(out, "record", record_or_null(k.record_id, rec.exists && !rec.deleted ? rec.data : NULL));
  cJSON_AddItemToObject(out, "changed", changed);
  changed = NULL;
  *pOut = out;
fail:
  cJSON_Delete(data);
  cJSON_Delete(changed);
  stored_conflict_free(&k);
  store_rec_free(&rec);
  return rc;
}

int merge_archive_list(sc_store *st, const char *coll, const char *id, cJSON **pOut) {
  sqlite3_stmt *stmt = NULL;
  cJSON *out = cJSON_CreateObject();
  cJSON *arr = out ? cJSON_AddArrayToObject(out, "versions") : NULL;
  int rc = arr ? store_prep(st, "SELECT data, version, hlc, updated_at, device_id, archived_at FROM archive"
                                " WHERE coll=? AND record_id=? ORDER BY n DESC", &stmt) : SC_ENOMEM;
  if (rc == SC_OK) { store_bind_text(stmt, 1, coll); store_bind_text(stmt, 2, id); }
  while (rc == SC_OK && store_row(st, stmt, "reading the archive", &rc)) {
    cJSON *o = cJSON_CreateObject();
    if (!o) { rc = SC_ENOMEM; break; }
    cJSON *d = store_col_json(stmt, 0);
    cJSON *r = d ? store_record_json(id, d) : NULL;
    cJSON_Delete(d);
    cJSON_AddItemToObject(o, "data", r ? r : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "version", (double)sqlite3_column_int64(stmt, 1));
    const char *keys[] = {"hlc", "updatedAt", "deviceId"};
    for (int i = 0; i < 3; i++) {
      if (sqlite3_column_type(stmt, 2 + i) == SQLITE_NULL) cJSON_AddNullToObject(o, keys[i]);
      else cJSON_AddStringToObject(o, keys[i], (const char *)sqlite3_column_text(stmt, 2 + i));
    }
    cJSON_AddItemToObject(o, "archivedAt", util_iso_node(sqlite3_column_int64(stmt, 5), 1));
    cJSON_AddItemToArray(arr, o);
  }
  store_done(st, stmt);
  if (rc == SC_OK) *pOut = out;
  else cJSON_Delete(out);
  return rc;
}
