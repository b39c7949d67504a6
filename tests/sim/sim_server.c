/*
** sim_server.c — the simulation's model of the sync server (see sim_server.h).
** It implements the push/pull semantics the real server and the client core agree
** on: per-op results in order (rejected, duplicate, applied, conflict), versions
** starting at 1, tombstones with data null, a partition-wide seq per change, pull
** ordered by seq with each record once at its latest state, 410 for cursors older
** than purged tombstones, server-assigned ids for tmp_ creates and one derived
** field. Alongside it keeps what a real server does not: the history of every
** applied op and an application count per op_id, for the invariants. Linear
** searches throughout: a simulation holds tens of records and hundreds of ops.
*/
#include "sim_server.h"
#include "hlc.h"
#include "syncore.h"
#include "time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUTURE_TOLERANCE_MS (5 * 60 * 1000)

typedef struct srv_record {
  char *collection, *id, *tmp_id;  /* tmp_id: the client's tmp_ id it was created from */
  int64_t version, seq;
  cJSON *data;                     /* NULL for a tombstone */
  char *updated_at, *deleted_at, *hlc, *device_id;
  int64_t deleted_ms;
} srv_record;

typedef struct srv_applied {       /* one applied op, in order: the history */
  char *op_id, *collection, *id, *kind;
  char *tmp_id;                    /* the client's tmp_ id of a server-ids create, else NULL */
  int64_t version, seq;
  int applications;
  int purged;                      /* its record was purged: outside the version chain */
  cJSON *result;                   /* the result object returned when applied */
} srv_applied;

struct sim_server {
  srv_record *records;
  size_t n_records, cap_records;
  srv_applied *log;
  size_t n_log, cap_log;
  int64_t seq, purged_seq, next_id;
  char **server_ids;
  char *derive_coll, *derive_field, *src_coll, *src_field, *ref_field;
};

static char *dup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  memcpy(p, s, n);
  return p;
}

sim_server *sim_server_new(const char *const *server_ids, const char *derive_coll,
                           const char *derive_field, const char *src_coll,
                           const char *src_field, const char *ref_field) {
  sim_server *srv = calloc(1, sizeof *srv);
  size_t n = 0;
  while (server_ids && server_ids[n]) n++;
  srv->server_ids = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) srv->server_ids[i] = dup(server_ids[i]);
  srv->derive_coll = dup(derive_coll);
  srv->derive_field = dup(derive_field);
  srv->src_coll = dup(src_coll);
  srv->src_field = dup(src_field);
  srv->ref_field = dup(ref_field);
  return srv;
}

static void free_record(srv_record *r) {
  free(r->collection); free(r->id); free(r->tmp_id);
  cJSON_Delete(r->data);
  free(r->updated_at); free(r->deleted_at); free(r->hlc); free(r->device_id);
}

void sim_server_free(sim_server *srv) {
  if (!srv) return;
  for (size_t i = 0; i < srv->n_records; i++) free_record(&srv->records[i]);
  for (size_t i = 0; i < srv->n_log; i++) {
    srv_applied *a = &srv->log[i];
    free(a->op_id); free(a->collection); free(a->id); free(a->kind); free(a->tmp_id);
    cJSON_Delete(a->result);
  }
  for (size_t i = 0; srv->server_ids[i]; i++) free(srv->server_ids[i]);
  free(srv->server_ids);
  free(srv->derive_coll); free(srv->derive_field); free(srv->src_coll);
  free(srv->src_field); free(srv->ref_field);
  free(srv->records);
  free(srv->log);
  free(srv);
}

static srv_record *find_record(const sim_server *srv, const char *coll, const char *id) {
  for (size_t i = 0; i < srv->n_records; i++) {
    srv_record *r = &srv->records[i];
    if (strcmp(r->collection, coll) == 0 && strcmp(r->id, id) == 0) return r;
  }
  return NULL;
}

static srv_applied *find_applied(const sim_server *srv, const char *op_id) {
  for (size_t i = 0; i < srv->n_log; i++) {
    if (strcmp(srv->log[i].op_id, op_id) == 0) return &srv->log[i];
  }
  return NULL;
}

static int is_server_ids(const sim_server *srv, const char *coll) {
  for (size_t i = 0; srv->server_ids[i]; i++) {
    if (strcmp(srv->server_ids[i], coll) == 0) return 1;
  }
  return 0;
}

static cJSON *record_json(const srv_record *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "collection", r->collection);
  cJSON_AddStringToObject(o, "id", r->id);
  cJSON_AddNumberToObject(o, "version", (double)r->version);
  cJSON_AddItemToObject(o, "data", r->data ? cJSON_Duplicate(r->data, 1) : cJSON_CreateNull());
  cJSON_AddStringToObject(o, "updated_at", r->updated_at);
  if (r->deleted_at) cJSON_AddStringToObject(o, "deleted_at", r->deleted_at);
  else cJSON_AddNullToObject(o, "deleted_at");
  cJSON_AddStringToObject(o, "hlc", r->hlc);
  cJSON_AddStringToObject(o, "device_id", r->device_id);
  return o;
}

static cJSON *result_json(const char *op_id, const char *status, const char *id,
                          int64_t version, cJSON *record, const char *error) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "op_id", op_id ? op_id : "");
  cJSON_AddStringToObject(o, "status", status);
  if (id) cJSON_AddStringToObject(o, "id", id);
  else cJSON_AddNullToObject(o, "id");
  cJSON_AddNumberToObject(o, "version", (double)version);
  cJSON_AddItemToObject(o, "record", record ? record : cJSON_CreateNull());
  if (error) cJSON_AddStringToObject(o, "error", error);
  return o;
}

static int valid_name(const char *s, size_t max, int allow_dash) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
          || (allow_dash && c == '-');
    if (!ok || n >= max) return 0;
  }
  return n > 0;
}

/* Step 1 of the semantics: shape and fields. Returns NULL or the error text. */
static const char *validate_op(const cJSON *op, int64_t now_ms, char *buf, size_t n) {
  const cJSON *op_id = cJSON_GetObjectItemCaseSensitive(op, "op_id");
  const cJSON *coll = cJSON_GetObjectItemCaseSensitive(op, "collection");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(op, "id");
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "kind");
  const cJSON *base = cJSON_GetObjectItemCaseSensitive(op, "base_version");
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(op, "data");
  const cJSON *upd = cJSON_GetObjectItemCaseSensitive(op, "updated_at");
  const cJSON *hlc = cJSON_GetObjectItemCaseSensitive(op, "hlc");
  char err[160];
  int64_t ms = 0;
  if (!cJSON_IsObject(op)) return "op must be an object";
  if (!cJSON_IsString(op_id) || !op_id->valuestring[0] || strlen(op_id->valuestring) > 128) return "op_id must be a non-empty string";
  if (!cJSON_IsString(coll) || !valid_name(coll->valuestring, 64, 0)) return "collection must match [A-Za-z0-9_]{1,64}";
  if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > 128) return "id must be a string of 1-128 characters";
  if (!cJSON_IsString(kind) || (strcmp(kind->valuestring, "create") && strcmp(kind->valuestring, "update")
                                && strcmp(kind->valuestring, "delete"))) return "kind must be create, update or delete";
  if (!cJSON_IsNumber(base) || base->valuedouble < 0 || base->valuedouble != (double)(int64_t)base->valuedouble)
    return "base_version must be an integer >= 0";
  if (strcmp(kind->valuestring, "delete") != 0) {
    if (!cJSON_IsObject(data)) return "data must be an object";
    if (cJSON_GetObjectItemCaseSensitive(data, "id")) return "data must not carry an id";
  }
  if (!cJSON_IsString(upd) || sc_time_parse(upd->valuestring, 0, &ms, err, sizeof err) != SC_OK) {
    snprintf(buf, n, "updated_at: %s", cJSON_IsString(upd) ? err : "missing");
    return buf;
  }
  if (ms > now_ms + FUTURE_TOLERANCE_MS) {
    snprintf(buf, n, "updated_at %s is more than 5 minutes in the future", upd->valuestring);
    return buf;
  }
  if (!cJSON_IsString(hlc) || sc_hlc_parse(hlc->valuestring, &ms, NULL, NULL, err, sizeof err) != SC_OK) {
    snprintf(buf, n, "hlc: %s", cJSON_IsString(hlc) ? err : "missing");
    return buf;
  }
  if (ms > now_ms + FUTURE_TOLERANCE_MS) return "hlc is more than 5 minutes in the future";
  return NULL;
}

static void apply_derivation(sim_server *srv, const char *coll, cJSON *data) {
  const cJSON *ref;
  srv_record *src;
  if (!srv->derive_coll || strcmp(coll, srv->derive_coll) != 0 || !data) return;
  cJSON_DeleteItemFromObjectCaseSensitive(data, srv->derive_field);
  ref = cJSON_GetObjectItemCaseSensitive(data, srv->ref_field);
  src = cJSON_IsString(ref) ? find_record(srv, srv->src_coll, ref->valuestring) : NULL;
  if (src && src->data) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src->data, srv->src_field);
    cJSON_AddItemToObject(data, srv->derive_field, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
  } else {
    cJSON_AddNullToObject(data, srv->derive_field);
  }
}

static srv_record *new_record(sim_server *srv, const char *coll, const char *id) {
  if (srv->n_records == srv->cap_records) {
    srv->cap_records = srv->cap_records ? srv->cap_records * 2 : 16;
    srv->records = realloc(srv->records, srv->cap_records * sizeof *srv->records);
  }
  srv_record *r = &srv->records[srv->n_records++];
  memset(r, 0, sizeof *r);
  r->collection = dup(coll);
  r->id = dup(id);
  return r;
}

static void log_applied(sim_server *srv, const char *op_id, const srv_record *r, const char *kind,
                        const cJSON *result) {
  if (srv->n_log == srv->cap_log) {
    srv->cap_log = srv->cap_log ? srv->cap_log * 2 : 64;
    srv->log = realloc(srv->log, srv->cap_log * sizeof *srv->log);
  }
  srv_applied *a = &srv->log[srv->n_log++];
  a->op_id = dup(op_id);
  a->collection = dup(r->collection);
  a->id = dup(r->id);
  a->kind = dup(kind);
  a->tmp_id = strcmp(kind, "create") == 0 ? dup(r->tmp_id) : NULL;
  a->version = r->version;
  a->seq = r->seq;
  a->applications = 1;
  a->purged = 0;
  a->result = cJSON_Duplicate(result, 1);
}

/* Steps 2-5 for one validated op. Returns the result object. */
static cJSON *apply_op(sim_server *srv, const cJSON *op, const char *device_id, int64_t now_ms) {
  const char *op_id = cJSON_GetObjectItemCaseSensitive(op, "op_id")->valuestring;
  const char *coll = cJSON_GetObjectItemCaseSensitive(op, "collection")->valuestring;
  const char *id = cJSON_GetObjectItemCaseSensitive(op, "id")->valuestring;
  const char *kind = cJSON_GetObjectItemCaseSensitive(op, "kind")->valuestring;
  int64_t base = (int64_t)cJSON_GetObjectItemCaseSensitive(op, "base_version")->valuedouble;
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(op, "data");
  const char *updated_at = cJSON_GetObjectItemCaseSensitive(op, "updated_at")->valuestring;
  const char *hlc = cJSON_GetObjectItemCaseSensitive(op, "hlc")->valuestring;
  srv_applied *prior = find_applied(srv, op_id);
  srv_record *r;
  cJSON *result;
  char real_id[32];
  if (prior) {
    result = cJSON_Duplicate(prior->result, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(result, "status", cJSON_CreateString("duplicate"));
    return result;
  }
  if (strcmp(kind, "create") == 0) {
    if (is_server_ids(srv, coll)) {
      if (strncmp(id, "tmp_", 4) != 0) {
        return result_json(op_id, "rejected", id, 0, NULL, "a server-ids collection takes tmp_ ids on create");
      }
      snprintf(real_id, sizeof real_id, "srv%lld", (long long)++srv->next_id);
      r = new_record(srv, coll, real_id);
      r->tmp_id = dup(id);
    } else {
      r = find_record(srv, coll, id);
      if (r) return result_json(op_id, "conflict", r->id, r->version, record_json(r), NULL);
      r = new_record(srv, coll, id);
    }
    r->version = 1;
  } else {
    r = find_record(srv, coll, id);
    if (!r) return result_json(op_id, "conflict", id, 0, NULL, NULL);
    if (base != r->version) return result_json(op_id, "conflict", r->id, r->version, record_json(r), NULL);
    r->version++;
  }
  cJSON_Delete(r->data);
  free(r->updated_at); free(r->deleted_at); free(r->hlc); free(r->device_id);
  r->updated_at = dup(updated_at);
  r->hlc = dup(hlc);
  r->device_id = dup(device_id);
  if (strcmp(kind, "delete") == 0) {
    r->data = NULL;
    r->deleted_at = dup(updated_at);
    r->deleted_ms = now_ms; /* retention counts from when the server learnt of it */
  } else {
    r->data = cJSON_Duplicate(data, 1);
    r->deleted_at = NULL;
    apply_derivation(srv, coll, r->data);
  }
  r->seq = ++srv->seq;
  result = result_json(op_id, "applied", r->id, r->version, record_json(r), NULL);
  log_applied(srv, op_id, r, kind, result);
  return result;
}

int sim_server_push(sim_server *srv, const char *body, int64_t now_ms, char **pzBody) {
  cJSON *req = cJSON_Parse(body), *resp = NULL, *results;
  const cJSON *device, *ops, *op;
  char when[SC_TIME_TEXT_LEN + 1], buf[200];
  int status = 200;
  device = cJSON_GetObjectItemCaseSensitive(req, "device_id");
  ops = cJSON_GetObjectItemCaseSensitive(req, "ops");
  if (!cJSON_IsObject(req) || !cJSON_IsString(device) || !valid_name(device->valuestring, 64, 1) || !cJSON_IsArray(ops)) {
    resp = cJSON_CreateObject();
    cJSON_AddStringToObject(resp, "error", "body must be {device_id, ops: [...]}");
    status = 400;
    goto done;
  }
  resp = cJSON_CreateObject();
  sc_time_format(now_ms, when);
  cJSON_AddStringToObject(resp, "server_time", when);
  results = cJSON_AddArrayToObject(resp, "results");
  cJSON_ArrayForEach(op, ops) {
    const char *error = validate_op(op, now_ms, buf, sizeof buf);
    if (error) {
      const cJSON *op_id = cJSON_GetObjectItemCaseSensitive(op, "op_id");
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(op, "id");
      cJSON_AddItemToArray(results, result_json(cJSON_IsString(op_id) ? op_id->valuestring : NULL, "rejected",
                                                cJSON_IsString(id) ? id->valuestring : NULL, 0, NULL, error));
      continue;
    }
    cJSON_AddItemToArray(results, apply_op(srv, op, device->valuestring, now_ms));
  }
done:
  *pzBody = cJSON_PrintUnformatted(resp);
  cJSON_Delete(resp);
  cJSON_Delete(req);
  return status;
}

static int by_seq(const void *a, const void *b) {
  const srv_record *x = *(const srv_record *const *)a, *y = *(const srv_record *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A cursor is "<seq>.<watermark>" like the reference server's (server/sync.c): seq is
** the last change sent, watermark the purge point this pull chain already accounts for
** (a chain that began from the empty cursor after a purge saw every live record, so that
** purge cannot have hidden a delete from it). A bare "<seq>" has watermark 0. */
static int parse_cursor(const char *cursor, int64_t *pAfter, int64_t *pWatermark) {
  char *end = NULL;
  *pAfter = strtoll(cursor, &end, 10);
  *pWatermark = 0;
  if (end == cursor || *pAfter < 0) return 1;
  if (*end == '.') {
    const char *w = end + 1;
    *pWatermark = strtoll(w, &end, 10);
    if (end == w || *pWatermark < 0) return 1;
  }
  return *end != 0;
}

int sim_server_pull(sim_server *srv, const char *cursor, int limit, int64_t now_ms, char **pzBody) {
  cJSON *resp = cJSON_CreateObject(), *changes;
  srv_record **sorted = NULL;
  size_t n = 0, taken = 0;
  int64_t after = 0, watermark = 0, last;
  char when[SC_TIME_TEXT_LEN + 1], cur[64];
  int status = 200, from_start = !cursor || !cursor[0];
  if (!from_start && parse_cursor(cursor, &after, &watermark)) {
    cJSON_AddStringToObject(resp, "error", "garbage cursor");
    status = 400;
    goto done;
  }
  if (limit <= 0) limit = 500;
  if (limit > 5000) {
    cJSON_AddStringToObject(resp, "error", "limit must be 1-5000");
    status = 400;
    goto done;
  }
  if (!from_start && (after > srv->seq || (after < srv->purged_seq && watermark < srv->purged_seq))) {
    cJSON_AddStringToObject(resp, "error", "cursor is older than the kept tombstones");
    status = 410;
    goto done;
  }
  if (from_start) watermark = srv->purged_seq;
  sorted = malloc((srv->n_records + 1) * sizeof *sorted);
  for (size_t i = 0; i < srv->n_records; i++) {
    if (srv->records[i].seq > after) sorted[n++] = &srv->records[i];
  }
  qsort(sorted, n, sizeof *sorted, by_seq);
  sc_time_format(now_ms, when);
  cJSON_AddStringToObject(resp, "server_time", when);
  changes = cJSON_AddArrayToObject(resp, "changes");
  last = after;
  for (; taken < n && taken < (size_t)limit; taken++) {
    cJSON *c = record_json(sorted[taken]);
    cJSON_AddNumberToObject(c, "seq", (double)sorted[taken]->seq);
    cJSON_AddItemToArray(changes, c);
    last = sorted[taken]->seq;
  }
  if (srv->purged_seq > watermark && last >= srv->purged_seq) watermark = srv->purged_seq;
  snprintf(cur, sizeof cur, "%lld.%lld", (long long)last, (long long)watermark);
  cJSON_AddStringToObject(resp, "cursor", cur);
  cJSON_AddBoolToObject(resp, "has_more", taken < n);
  cJSON_AddNumberToObject(resp, "remaining", (double)(n - taken));
done:
  *pzBody = cJSON_PrintUnformatted(resp);
  cJSON_Delete(resp);
  free(sorted);
  return status;
}

void sim_server_purge(sim_server *srv, int64_t horizon_ms) {
  size_t kept = 0;
  for (size_t i = 0; i < srv->n_records; i++) {
    srv_record *r = &srv->records[i];
    if (!r->data && r->deleted_ms < horizon_ms) {
      if (r->seq > srv->purged_seq) srv->purged_seq = r->seq;
      for (size_t j = 0; j < srv->n_log; j++) {
        if (!strcmp(srv->log[j].collection, r->collection) && !strcmp(srv->log[j].id, r->id)) srv->log[j].purged = 1;
      }
      free_record(r);
      continue;
    }
    srv->records[kept++] = *r;
  }
  srv->n_records = kept;
}

int sim_server_check(const sim_server *srv, char *why, size_t n) {
  for (size_t i = 0; i < srv->n_log; i++) {
    const srv_applied *a = &srv->log[i];
    if (a->applications != 1) {
      snprintf(why, n, "op %s applied %d times", a->op_id, a->applications);
      return 1;
    }
  }
  for (size_t i = 0; i < srv->n_records; i++) {
    const srv_record *r = &srv->records[i];
    int64_t expect = 1;
    const srv_applied *last = NULL;
    for (size_t j = 0; j < srv->n_log; j++) {
      const srv_applied *a = &srv->log[j];
      if (a->purged || strcmp(a->collection, r->collection) || strcmp(a->id, r->id)) continue;
      if (a->version != expect) {
        snprintf(why, n, "history of %s/%s jumps to version %lld, expected %lld", r->collection, r->id,
                 (long long)a->version, (long long)expect);
        return 1;
      }
      expect++;
      last = a;
    }
    if (!last || last->version != r->version || last->seq != r->seq) {
      snprintf(why, n, "%s/%s at version %lld is not the last applied op of its history", r->collection,
               r->id, (long long)r->version);
      return 1;
    }
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(last->result, "record");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(rec, "data");
    cJSON *null_node = cJSON_CreateNull();
    int same = cJSON_Compare(data, r->data ? r->data : null_node, 1);
    cJSON_Delete(null_node);
    if (!same) {
      snprintf(why, n, "%s/%s data differs from its last applied op", r->collection, r->id);
      return 1;
    }
  }
  return 0;
}

cJSON *sim_server_live(const sim_server *srv, const char *collection) {
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; i < srv->n_records; i++) {
    const srv_record *r = &srv->records[i];
    if (r->data && strcmp(r->collection, collection) == 0) {
      cJSON_AddItemToObject(o, r->id, cJSON_Duplicate(r->data, 1));
    }
  }
  return o;
}

int sim_server_applied_count(const sim_server *srv, const char *op_id) {
  const srv_applied *a = find_applied(srv, op_id);
  return a ? a->applications : 0;
}

int sim_server_duplicate_applications(const sim_server *srv) {
  int dups = 0;
  for (size_t i = 0; i < srv->n_log; i++) {
    if (srv->log[i].applications > 1) dups += srv->log[i].applications - 1;
    for (size_t j = 0; j < i; j++) {
      if (strcmp(srv->log[i].op_id, srv->log[j].op_id) == 0) dups++;
    }
  }
  return dups;
}

int sim_server_duplicate_creates(const sim_server *srv) {
  int dups = 0;
  for (size_t i = 0; i < srv->n_records; i++) {
    if (!srv->records[i].tmp_id) continue;
    for (size_t j = 0; j < i; j++) {
      if (srv->records[j].tmp_id && strcmp(srv->records[i].tmp_id, srv->records[j].tmp_id) == 0) dups++;
    }
  }
  return dups;
}

int sim_server_history_has(const sim_server *srv, const char *collection, const char *field,
                           const char *value) {
  for (size_t i = 0; i < srv->n_log; i++) {
    const srv_applied *a = &srv->log[i];
    if (strcmp(a->collection, collection) != 0) continue;
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(a->result, "record");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "data"), field);
    if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0) return 1;
  }
  return 0;
}

const char *sim_server_real_id(const sim_server *srv, const char *tmp_id) {
  for (size_t i = 0; i < srv->n_records; i++) {
    if (srv->records[i].tmp_id && strcmp(srv->records[i].tmp_id, tmp_id) == 0) return srv->records[i].id;
  }
  /* The record may have been deleted and purged since: the history still knows it. */
  for (size_t i = 0; i < srv->n_log; i++) {
    if (srv->log[i].tmp_id && strcmp(srv->log[i].tmp_id, tmp_id) == 0) return srv->log[i].id;
  }
  return NULL;
}

int64_t sim_server_seq(const sim_server *srv) { return srv->seq; }

int sim_server_history_deleted(const sim_server *srv, const char *collection, const char *id,
                               const char *not_device) {
  for (size_t i = 0; i < srv->n_log; i++) {
    const srv_applied *a = &srv->log[i];
    if (strcmp(a->kind, "delete") || strcmp(a->collection, collection) || strcmp(a->id, id)) continue;
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(a->result, "record");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(rec, "device_id");
    if (!not_device || !cJSON_IsString(dev) || strcmp(dev->valuestring, not_device) != 0) return 1;
  }
  return 0;
}
