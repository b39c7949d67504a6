/*
** legacy.c — importLegacy (SPEC §11): a one-time migration of a localStorage JSON
** blob (EGGlogU's egglogu_data) into collections. The mapping names dotted paths of
** the blob: an array of records becomes records of a collection, a singleton object one
** record whose id is its path. Everything is validated before the first write, so a
** malformed blob imports nothing (api.c's transaction also rolls back on any failure).
** Queuing the imported records for push is the outbox's usual path (outbox_note_write).
*/
#include "legacy.h"
#include "api.h"
#include "outbox.h"
#include "time.h"

#include <stdio.h>
#include <string.h>

typedef struct mapping_entry {
  const char *path;
  const sc_coll *coll;
  int singleton;
  const cJSON *value;   /* the blob's node at path, or NULL when absent */
} mapping_entry;

static const cJSON *walk(const cJSON *blob, const char *path) {
  char key[256];
  const cJSON *node = blob;
  while (*path && node) {
    size_t n = strcspn(path, ".");
    if (n >= sizeof key || !cJSON_IsObject(node)) return NULL;
    memcpy(key, path, n);
    key[n] = 0;
    node = cJSON_GetObjectItemCaseSensitive(node, key);
    path += n;
    if (*path == '.') path++;
  }
  return node;
}

static int parse_mapping(sc_store *st, const cJSON *blob, const cJSON *mapping, mapping_entry *entries, int *pN) {
  const cJSON *m;
  int n = 0;
  cJSON_ArrayForEach(m, mapping) {
    mapping_entry *e = &entries[n++];
    const char *coll = NULL;
    e->path = m->string;
    if (!*e->path) return store_fail(st, SC_EBADINPUT, "mapping: an empty path");
    if (cJSON_IsString(m)) coll = m->valuestring;
    else if (cJSON_IsObject(m)) {
      const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "collection");
      const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "singleton");
      if (!cJSON_IsString(c)) return store_fail(st, SC_EBADINPUT, "mapping['%s'].collection must be a string", e->path);
      if (s && !cJSON_IsBool(s) && !cJSON_IsNull(s)) return store_fail(st, SC_EBADINPUT, "mapping['%s'].singleton must be true or false", e->path);
      coll = c->valuestring;
      e->singleton = cJSON_IsTrue(s);
    } else {
      return store_fail(st, SC_EBADINPUT, "mapping['%s'] must be a collection name or {collection, singleton}", e->path);
    }
    if (!(e->coll = store_coll(st, coll))) return store_fail(st, SC_EUNKNOWNCOLL, "mapping['%s']: unknown collection '%.64s'", e->path, coll);
    if (e->coll->read_only) return store_fail(st, SC_EREADONLY, "mapping['%s']: '%s' is readOnly", e->path, coll);
    e->value = walk(blob, e->path);
    if (e->value && cJSON_IsNull(e->value)) e->value = NULL;
    if (e->value && e->singleton && !cJSON_IsObject(e->value))
      return store_fail(st, SC_EBADINPUT, "blob.%s must be an object (a singleton)", e->path);
    if (e->value && !e->singleton) {
      if (!cJSON_IsArray(e->value)) return store_fail(st, SC_EBADINPUT, "blob.%s must be an array of records", e->path);
      int i = 0;
      const cJSON *r;
      cJSON_ArrayForEach(r, e->value) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (!cJSON_IsObject(r)) return store_fail(st, SC_EBADINPUT, "blob.%s[%d] must be an object", e->path, i);
        if (id && !cJSON_IsNull(id) && !(cJSON_IsString(id) && *id->valuestring && strlen(id->valuestring) <= SC_ID_MAX) &&
            !(cJSON_IsNumber(id) && util_is_integral(id->valuedouble)))
          return store_fail(st, SC_EBADINPUT, "blob.%s[%d].id must be a string of 1..128 characters or an integer", e->path, i);
        i++;
      }
    }
  }
  *pN = n;
  return SC_OK;
}

/* The record's own time: a valid _updatedAt / updated_at, else *pMs stays. */
static void legacy_time(const cJSON *r, int64_t *pMs) {
  static const char *const keys[] = {"_updatedAt", "updated_at"};
  for (int i = 0; i < 2; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[i]);
    int64_t ms;
    if (cJSON_IsString(v) && sc_time_parse(v->valuestring, 0, &ms, NULL, 0) == SC_OK) { *pMs = ms; return; }
    if (cJSON_IsNumber(v) && sc_time_from_number(v->valuedouble, &ms, NULL, 0) == SC_OK) { *pMs = ms; return; }
  }
}

static int import_record(sc_store *st, const sc_coll *c, const char *id, const cJSON *src, int pending, cJSON *changed, int *pDone) {
  char iso[32], hlc[SC_HLC_TEXT_MAX + 32];
  int64_t now_ms = sc_hlc_physical(&st->clock, store_now(st)), ms = now_ms;
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  *pDone = 0;
  cJSON *data = cJSON_Duplicate(src, 1);
  if (!data) return SC_ENOMEM;
  cJSON_DeleteItemFromObjectCaseSensitive(data, "id");
  int rc = store_check_data(st, c, data, "imported record");
  if (rc == SC_OK) rc = store_rec_load(st, c->name, id, &rec);
  if (rc != SC_OK) goto fail;
  if (c->strategy == SC_STRAT_APPEND_ONLY && rec.exists && !rec.deleted) goto fail;   /* immutable: keep it */
  if (!rec.exists) {
    if ((rc = store_set_str(&rec.id, id)) != SC_OK) goto fail;
    rec.base_deleted = 1;
  }
  legacy_time(src, &ms);
  if (ms < now_ms) {
    /* An old edit keeps its age, so newer edits elsewhere win under last-write-wins. */
    util_iso(ms, iso);
    sc_hlc_format(ms < 0 ? 0 : ms % 1000000000000000LL, 0, st->clock.device_id, hlc);
    if ((rc = store_set_str(&rec.hlc, hlc)) == SC_OK && (rc = store_set_str(&rec.updated_at, iso)) == SC_OK)
      rc = store_set_str(&rec.device_id, st->clock.device_id);
  } else {
    rc = store_stamp(st, &rec);
  }
  if (rc != SC_OK) goto fail;
  cJSON_Delete(rec.data);
  rec.data = data;
  data = NULL;
  rec.deleted = 0;
  if ((rc = store_rec_save(st, c->name, &rec)) != SC_OK) goto fail;
  if (pending && (rc = outbox_note_write(st, c, &rec)) != SC_OK) goto fail;
  rc = store_changed_add(changed, c->name, id);
  *pDone = 1;
fail:
  cJSON_Delete(data);
  store_rec_free(&rec);
  return rc;
}

static int mapped(const mapping_entry *entries, int n, const char *path, int *pPrefix) {
  size_t len = strlen(path);
  *pPrefix = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(entries[i].path, path) == 0) return 1;
    if (strncmp(entries[i].path, path, len) == 0 && entries[i].path[len] == '.') *pPrefix = 1;
  }
  return 0;
}

static int collect_unmapped(const cJSON *node, const char *prefix, const mapping_entry *entries, int n, cJSON *out, int depth) {
  const cJSON *it;
  cJSON_ArrayForEach(it, node) {
    int is_prefix = 0;
    char *path = *prefix ? util_printf("%s.%s", prefix, it->string) : util_strdup(it->string);
    if (!path) return SC_ENOMEM;
    int rc = SC_OK;
    if (!mapped(entries, n, path, &is_prefix)) {
      if (is_prefix && cJSON_IsObject(it) && depth < 32) rc = collect_unmapped(it, path, entries, n, out, depth + 1);
      else cJSON_AddItemToArray(out, cJSON_CreateString(path));
    }
    sc_free(path);
    if (rc != SC_OK) return rc;
  }
  return SC_OK;
}

int legacy_import(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *blob = cJSON_GetObjectItemCaseSensitive(in, "blob");
  const cJSON *mapping = cJSON_GetObjectItemCaseSensitive(in, "mapping");
  const cJSON *pend = cJSON_GetObjectItemCaseSensitive(in, "pending");
  cJSON *parsed = NULL, *out = NULL, *changed = NULL;
  mapping_entry *entries = NULL;
  int n = 0, rc = SC_OK;
  if (cJSON_IsString(blob)) {
    if (!(parsed = util_json_parse(blob->valuestring))) return store_fail(st, SC_EBADINPUT, "importLegacy: blob is not valid JSON");
    blob = parsed;
  }
  if (!cJSON_IsObject(blob)) { rc = store_fail(st, SC_EBADINPUT, "importLegacy: blob must be a JSON object (or its text)"); goto fail; }
  if (!cJSON_IsObject(mapping)) { rc = store_fail(st, SC_EBADINPUT, "importLegacy: mapping must be an object of path → collection"); goto fail; }
  if (pend && !cJSON_IsBool(pend) && !cJSON_IsNull(pend)) { rc = store_fail(st, SC_EBADINPUT, "importLegacy: pending must be true or false"); goto fail; }
  int pending = !cJSON_IsFalse(pend);
  int nmap = cJSON_GetArraySize(mapping);
  entries = sc_malloc(sizeof(mapping_entry) * (size_t)(nmap ? nmap : 1));
  out = cJSON_CreateObject();
  changed = cJSON_CreateArray();
  if (!entries || !out || !changed) { rc = SC_ENOMEM; goto fail; }
  memset(entries, 0, sizeof(mapping_entry) * (size_t)(nmap ? nmap : 1));
  if ((rc = parse_mapping(st, blob, mapping, entries, &n)) != SC_OK) goto fail;
  cJSON *imported = cJSON_AddObjectToObject(out, "imported");
  for (int i = 0; i < n; i++) {
    mapping_entry *e = &entries[i];
    int count = 0, done = 0;
    cJSON *slot = cJSON_GetObjectItemCaseSensitive(imported, e->coll->name);
    if (!slot) slot = cJSON_AddNumberToObject(imported, e->coll->name, 0);
    if (!e->value) continue;
    if (e->singleton) {
      if ((rc = import_record(st, e->coll, e->path, e->value, pending, changed, &done)) != SC_OK) goto fail;
      count += done;
    } else {
      const cJSON *r;
      cJSON_ArrayForEach(r, e->value) {
        char idbuf[64];
        const char *id;
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(idv)) id = idv->valuestring;
        else if (cJSON_IsNumber(idv)) { snprintf(idbuf, sizeof idbuf, "%lld", (long long)idv->valuedouble); id = idbuf; }
        else { api_new_id(st, e->coll, idbuf); id = idbuf; }
        if ((rc = import_record(st, e->coll, id, r, pending, changed, &done)) != SC_OK) goto fail;
        count += done;
      }
    }
    cJSON_SetNumberValue(slot, slot->valuedouble + count);
  }
  cJSON *unmapped = cJSON_AddArrayToObject(out, "unmapped");
  if ((rc = collect_unmapped(blob, "", entries, n, unmapped, 0)) != SC_OK) goto fail;
  cJSON_AddItemToObject(out, "changed", changed);
  changed = NULL;
  *pOut = out;
  out = NULL;
fail:
  sc_free(entries);
  cJSON_Delete(parsed);
  cJSON_Delete(out);
  cJSON_Delete(changed);
  return rc;
}
