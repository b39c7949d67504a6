/*
** remap.c — replacing temporary ids (tmp_<uuid>, made for local creates in idFrom
** 'server' collections) with the ids the server assigned. sync.c calls remap_apply when
** an applied push result names a different id; outbox.c holds back ops whose refs still
** name a temp id, so after a remap they go out with the real one. api.c resolves temp ids
** the app still holds (get/patch/delete of a mapped temp id reach the real record).
*/
#include "remap.h"
#include "outbox.h"

#include <string.h>

static int run(sc_store *st, const char *sql, const char *a, const char *b, const char *c, const char *doing) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, sql, &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, a);
  store_bind_text(stmt, 2, b);
  store_bind_text(stmt, 3, c);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, doing);
  store_done(st, stmt);
  return rc;
}

/* Rewrite refs field `field` of collection `coll` from temp_id to real_id. */
static int rewrite_field(sc_store *st, const char *coll, const char *field, const char *temp_id, const char *real_id,
                         cJSON *changed) {
  sqlite3_stmt *stmt = NULL;
  char *path = util_printf("$.\"%s\"", field);
  if (!path) return SC_ENOMEM;
  int rc = store_prep(st, "SELECT id FROM records WHERE coll=?1 AND deleted=0 AND json_extract(data, ?2)=?3", &stmt);
  if (rc == SC_OK) {
    store_bind_text(stmt, 1, coll);
    store_bind_text(stmt, 2, path);
    store_bind_text(stmt, 3, temp_id);
    while (rc == SC_OK && store_row(st, stmt, "reading records", &rc))
      rc = store_changed_add(changed, coll, (const char *)sqlite3_column_text(stmt, 0));
    store_done(st, stmt);
  }
  if (rc == SC_OK) rc = store_prep(st,
      "UPDATE records SET data=json_set(data, ?2, ?4),"
      " base_data=CASE WHEN json_extract(base_data, ?2)=?3 THEN json_set(base_data, ?2, ?4) ELSE base_data END"
      " WHERE coll=?1 AND deleted=0 AND json_extract(data, ?2)=?3", &stmt);
  if (rc == SC_OK) {
    store_bind_text(stmt, 1, coll);
    store_bind_text(stmt, 2, path);
    store_bind_text(stmt, 3, temp_id);
    store_bind_text(stmt, 4, real_id);
    if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "rewriting refs");
    store_done(st, stmt);
  }
  sc_free(path);
  return rc;
}

int remap_apply(sc_store *st, const char *coll, const char *temp_id, const char *real_id, cJSON *changed) {
  if (strcmp(temp_id, real_id) == 0) return SC_OK;
  int rc = run(st, "INSERT OR REPLACE INTO idmap(coll, temp_id, real_id) VALUES(?,?,?)", coll, temp_id, real_id, "remembering an id");
  if (rc == SC_OK) rc = remap_rename(st, coll, temp_id, real_id, changed);
  return rc;
}

int remap_rename(sc_store *st, const char *coll, const char *temp_id, const char *real_id, cJSON *changed) {
  int rc = SC_OK;
  /* A pull may already have brought the real record: the local row (temp id) supersedes it. */
  if (rc == SC_OK) rc = run(st, "DELETE FROM records WHERE coll=?1 AND id=?3 AND EXISTS"
                                " (SELECT 1 FROM records WHERE coll=?1 AND id=?2)", coll, temp_id, real_id, "remapping");
  if (rc == SC_OK) rc = run(st, "UPDATE records SET id=?3 WHERE coll=?1 AND id=?2", coll, temp_id, real_id, "remapping a record");
  if (rc == SC_OK) rc = run(st, "UPDATE outbox SET record_id=?3 WHERE coll=?1 AND record_id=?2", coll, temp_id, real_id, "remapping ops");
  if (rc == SC_OK) rc = run(st, "UPDATE conflicts SET record_id=?3 WHERE coll=?1 AND record_id=?2", coll, temp_id, real_id, "remapping conflicts");
  if (rc == SC_OK) rc = run(st, "UPDATE archive SET record_id=?3 WHERE coll=?1 AND record_id=?2", coll, temp_id, real_id, "remapping the archive");
  if (rc == SC_OK) rc = store_changed_add(changed, coll, temp_id);
  if (rc == SC_OK) rc = store_changed_add(changed, coll, real_id);
  for (int i = 0; rc == SC_OK && i < st->ncoll; i++) {
    const cJSON *ref;
    if (!st->colls[i].refs) continue;
    cJSON_ArrayForEach(ref, st->colls[i].refs) {
      if (strcmp(ref->valuestring, coll) != 0) continue;
      if ((rc = rewrite_field(st, st->colls[i].name, ref->string, temp_id, real_id, changed)) != SC_OK) break;
    }
  }
  return rc;
}

int remap_resolve(sc_store *st, const char *coll, const char *id, char **pReal) {
  sqlite3_stmt *stmt = NULL;
  *pReal = NULL;
  if (strncmp(id, "tmp_", 4) != 0) return SC_OK;
  int rc = store_prep(st, "SELECT real_id FROM idmap WHERE coll=? AND temp_id=?", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  if (store_row(st, stmt, "reading id mappings", &rc)) {
    *pReal = store_col_text(stmt, 0);
    if (!*pReal) rc = SC_ENOMEM;
  }
  store_done(st, stmt);
  return rc;
}

int remap_rewrite_refs(sc_store *st, const sc_coll *c, cJSON *data) {
  const cJSON *ref;
  if (!c->refs) return SC_OK;
  cJSON_ArrayForEach(ref, c->refs) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(data, ref->string);
    char *real = NULL;
    if (!cJSON_IsString(v)) continue;
    int rc = remap_resolve(st, ref->valuestring, v->valuestring, &real);
    if (rc != SC_OK) return rc;
    if (real) {
      cJSON *s = cJSON_CreateString(real);
      sc_free(real);
      if (!s) return SC_ENOMEM;
      cJSON_ReplaceItemInObjectCaseSensitive(data, ref->string, s);
    }
  }
  return SC_OK;
}

int remap_recreate(sc_store *st, const char *coll, const char *old_id, const char *fresh_id, cJSON *changed) {
  cJSON *refs = cJSON_CreateArray();   /* [[coll, id], …] of records naming old_id */
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  int rc = refs ? SC_OK : SC_ENOMEM;
  for (int i = 0; rc == SC_OK && i < st->ncoll; i++) {
    const cJSON *ref;
    if (!st->colls[i].refs) continue;
    cJSON_ArrayForEach(ref, st->colls[i].refs) {
      sqlite3_stmt *stmt = NULL;
      char *path = strcmp(ref->valuestring, coll) == 0 ? util_printf("$.\"%s\"", ref->string) : NULL;
      if (!path) continue;
      rc = store_prep(st, "SELECT id FROM records WHERE coll=?1 AND deleted=0 AND json_extract(data, ?2)=?3", &stmt);
      if (rc == SC_OK) {
        store_bind_text(stmt, 1, st->colls[i].name);
        store_bind_text(stmt, 2, path);
        store_bind_text(stmt, 3, old_id);
        while (store_row(st, stmt, "reading records", &rc)) {
          cJSON *pair = cJSON_CreateArray();
          if (!pair) { rc = SC_ENOMEM; break; }
          cJSON_AddItemToArray(pair, cJSON_CreateString(st->colls[i].name));
          cJSON_AddItemToArray(pair, cJSON_CreateString((const char *)sqlite3_column_text(stmt, 0)));
          cJSON_AddItemToArray(refs, pair);
        }
        store_done(st, stmt);
      }
      sc_free(path);
      if (rc != SC_OK) break;
    }
  }
  if (rc == SC_OK) rc = remap_rename(st, coll, old_id, fresh_id, changed);
  const cJSON *pair;
  if (rc == SC_OK) cJSON_ArrayForEach(pair, refs) {
    const char *rcoll = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));
    const char *rid = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 1));
    if (!rcoll || !rid) { rc = SC_ENOMEM; break; }
    const sc_coll *c = store_coll(st, rcoll);
    if (!strcmp(rcoll, coll) && !strcmp(rid, old_id)) rid = fresh_id;
    if ((rc = store_rec_load(st, rcoll, rid, &rec)) != SC_OK) break;
    /* The rewritten ref is a local write of the referring record: stamped and queued
    ** (it waits for the fresh temp id's mapping, then goes with the real id). */
    if (rec.exists && !rec.deleted) {
      if ((rc = store_stamp(st, &rec)) == SC_OK && (rc = store_rec_save(st, rcoll, &rec)) == SC_OK)
        rc = outbox_note_write(st, c, &rec);
    }
    store_rec_free(&rec);
    if (rc != SC_OK) break;
  }
  cJSON_Delete(refs);
  return rc;
}
