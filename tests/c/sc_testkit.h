/*
** sc_testkit.h — shared by the core's cmocka tests: deterministic hooks (a clock the
** test moves, a counter for randomness), call helpers that parse the JSON answer,
** and a small in-memory model of the sync server (docs: /work/shared semantics) so a
** test can run whole sync rounds between several stores without I/O.
** Header-only; every function is static.
*/
#ifndef SC_TESTKIT_H
#define SC_TESTKIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define TK_UNUSED __attribute__((unused))

#include "syncore.h"
#include "cJSON.h"

typedef struct tk_env { int64_t now; uint64_t rng; } tk_env;

TK_UNUSED static int64_t tk_now(void *ctx) { return ((tk_env *)ctx)->now; }
TK_UNUSED static void tk_random(void *ctx, unsigned char *buf, size_t n) {
  tk_env *e = ctx;
  for (size_t i = 0; i < n; i++) {
    e->rng = e->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    buf[i] = (unsigned char)(e->rng >> 56);
  }
}

TK_UNUSED static sc_store *tk_open_at(tk_env *env, const char *config) {
  sc_hooks hooks = {tk_now, tk_random, env};
  sc_store *st = NULL;
  char *err = NULL;
  int rc = sc_open(config, &hooks, &st, &err);
  if (rc != SC_OK) fprintf(stderr, "sc_open failed: %s\n", err ? err : "?");
  assert_int_equal(rc, SC_OK);
  sc_free(err);
  return st;
}

/* Call method with printf-formatted input; assert SC_OK; return the parsed answer. */
TK_UNUSED static cJSON *tk_call(sc_store *st, const char *method, const char *fmt, ...) {
  char buf[65536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *out = NULL;
  int rc = sc_call(st, method, buf, &out);
  if (rc != SC_OK) fprintf(stderr, "%s(%s) failed %d: %s\n", method, buf, rc, sc_errmsg(st));
  assert_int_equal(rc, SC_OK);
  cJSON *j = cJSON_Parse(out);
  sc_free(out);
  assert_non_null(j);
  return j;
}

/* Call expecting a failure code; returns nothing, checks *pzOut stays NULL. */
TK_UNUSED static void tk_call_fails(sc_store *st, int code, const char *method, const char *fmt, ...) {
  char buf[65536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *out = NULL;
  int rc = sc_call(st, method, buf, &out);
  if (rc != code) fprintf(stderr, "%s(%s): expected %d got %d (%s)\n", method, buf, code, rc, sc_errmsg(st));
  assert_int_equal(rc, code);
  assert_null(out);
  assert_true(strlen(sc_errmsg(st)) > 0);
}

TK_UNUSED static const char *tk_str(const cJSON *o, const char *path) {
  const cJSON *v = o;
  char key[128];
  while (*path && v) {
    size_t n = strcspn(path, ".");
    snprintf(key, sizeof key, "%.*s", (int)n, path);
    v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(key)) : cJSON_GetObjectItemCaseSensitive(v, key);
    path += n;
    if (*path == '.') path++;
  }
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

TK_UNUSED static const cJSON *tk_get(const cJSON *o, const char *path) {
  const cJSON *v = o;
  char key[128];
  while (*path && v) {
    size_t n = strcspn(path, ".");
    snprintf(key, sizeof key, "%.*s", (int)n, path);
    v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(key)) : cJSON_GetObjectItemCaseSensitive(v, key);
    path += n;
    if (*path == '.') path++;
  }
  return v;
}

TK_UNUSED static double tk_num(const cJSON *o, const char *path) {
  const cJSON *v = tk_get(o, path);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

/* Does `get` answer no record (never written, deleted, or discarded) for coll/id? */
TK_UNUSED static int tk_record_gone(sc_store *st, const char *coll, const char *id) {
  cJSON *g = tk_call(st, "get", "{\"collection\":\"%s\",\"id\":\"%s\"}", coll, id);
  int gone = cJSON_IsNull(tk_get(g, "record"));
  cJSON_Delete(g);
  return gone;
}

/* The record ids of the ops the next pushRequest sends, comma-joined ("r4,r3"), in
** out[n]; the request stays inflight. Fails the test when there is nothing to send. */
TK_UNUSED static const char *tk_push_ids(sc_store *st, char *out, size_t n) {
  cJSON *p = tk_call(st, "pushRequest", "{}");
  const cJSON *op;
  size_t used = 0;
  assert_true(cJSON_IsArray(tk_get(p, "body.ops")));
  out[0] = 0;
  cJSON_ArrayForEach(op, tk_get(p, "body.ops")) {
    used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "," : "", tk_str(op, "id"));
    assert_true(used < n);
  }
  cJSON_Delete(p);
  return out;
}

/* ---- a model of the sync server -------------------------------------------------- */

typedef struct tk_server {
  cJSON *records;          /* array of {collection,id,version,data,updated_at,deleted_at,hlc,device_id,seq} */
  cJSON *applied;          /* object op_id → result */
  int64_t seq;
  int next_id;
  const char *server_ids;  /* comma list of collections with server ids */
  int64_t now;
} tk_server;

TK_UNUSED static void tk_server_init(tk_server *s) {
  memset(s, 0, sizeof *s);
  s->records = cJSON_CreateArray();
  s->applied = cJSON_CreateObject();
  s->now = 1735732800000LL;
}
TK_UNUSED static void tk_server_free(tk_server *s) { cJSON_Delete(s->records); cJSON_Delete(s->applied); }

TK_UNUSED static cJSON *tk_server_find(tk_server *s, const char *coll, const char *id) {
  cJSON *r;
  cJSON_ArrayForEach(r, s->records) {
    if (!strcmp(tk_str(r, "collection"), coll) && !strcmp(tk_str(r, "id"), id)) return r;
  }
  return NULL;
}

TK_UNUSED static cJSON *tk_record_copy(const cJSON *r) {
  cJSON *c = cJSON_Duplicate(r, 1);
  cJSON_DeleteItemFromObject(c, "seq");
  return c;
}

/* ms → ISO text (days-from-civil inverse; <time.h> is shadowed by wasm/src/time.h). */
TK_UNUSED static void tk_iso(int64_t ms, char *out) {
  int64_t days = ms / 86400000, rem = ms % 86400000;
  if (rem < 0) { rem += 86400000; days--; }
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d, (int)(rem / 3600000),
           (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
}

TK_UNUSED static cJSON *tk_server_push(tk_server *s, const cJSON *body) {
  char iso[32];
  cJSON *resp = cJSON_CreateObject();
  tk_iso(s->now, iso);
  cJSON_AddStringToObject(resp, "server_time", iso);
  cJSON *results = cJSON_AddArrayToObject(resp, "results");
  const cJSON *op;
  cJSON_ArrayForEach(op, cJSON_GetObjectItem(body, "ops")) {
    const char *op_id = tk_str(op, "op_id"), *coll = tk_str(op, "collection"), *id = tk_str(op, "id");
    const char *kind = tk_str(op, "kind");
    int64_t base = (int64_t)tk_num(op, "base_version");
    const cJSON *data = tk_get(op, "data");
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "op_id", op_id);
    cJSON *dup = cJSON_GetObjectItem(s->applied, op_id);
    if (dup) {
      cJSON_Delete(res);
      res = cJSON_Duplicate(dup, 1);
      cJSON_ReplaceItemInObject(res, "status", cJSON_CreateString("duplicate"));
      cJSON_AddItemToArray(results, res);
      continue;
    }
    if (!tk_str(op, "hlc") || (cJSON_IsObject(data) && cJSON_GetObjectItem(data, "id"))) {
      cJSON_AddStringToObject(res, "status", "rejected");
      cJSON_AddStringToObject(res, "error", "bad op");
      cJSON_AddItemToArray(results, res);
      continue;
    }
    cJSON *cur = tk_server_find(s, coll, id);
    int is_create = !strcmp(kind, "create");
    char real[64];
    snprintf(real, sizeof real, "%s", id);
    if (is_create && s->server_ids && strstr(s->server_ids, coll) && !strncmp(id, "tmp_", 4)) {
      snprintf(real, sizeof real, "srv%d", ++s->next_id);
      cur = NULL;
    }
    int conflict = is_create ? cur != NULL : (!cur || base != (int64_t)tk_num(cur, "version"));
    if (conflict) {
      cJSON_AddStringToObject(res, "status", "conflict");
      cJSON_AddStringToObject(res, "id", id);
      cJSON_AddNumberToObject(res, "version", cur ? tk_num(cur, "version") : 0);
      cJSON_AddItemToObject(res, "record", cur ? tk_record_copy(cur) : cJSON_CreateNull());
      cJSON_AddItemToArray(results, res);
      continue;
    }
    if (!cur) {
      cur = cJSON_CreateObject();
      cJSON_AddStringToObject(cur, "collection", coll);
      cJSON_AddStringToObject(cur, "id", real);
      cJSON_AddNumberToObject(cur, "version", 0);
      cJSON_AddItemToArray(s->records, cur);
    }
    int is_delete = !strcmp(kind, "delete");
    cJSON_ReplaceItemInObject(cur, "version", cJSON_CreateNumber(tk_num(cur, "version") + 1));
    cJSON_DeleteItemFromObject(cur, "data");
    cJSON_AddItemToObject(cur, "data", is_delete ? cJSON_CreateNull() : cJSON_Duplicate(data, 1));
    /* derived: appointments.clientId = pets.ownerId of petId */
    if (!strcmp(coll, "appointments") && !is_delete && tk_str(data, "petId")) {
      cJSON *pet = tk_server_find(s, "pets", tk_str(data, "petId"));
      if (pet && tk_str(pet, "data.ownerId")) {
        cJSON *d = cJSON_GetObjectItem(cur, "data");
        cJSON_DeleteItemFromObject(d, "clientId");
        cJSON_AddStringToObject(d, "clientId", tk_str(pet, "data.ownerId"));
      }
    }
    const char *keys[] = {"updated_at", "hlc"};
    for (int i = 0; i < 2; i++) {
      cJSON_DeleteItemFromObject(cur, keys[i]);
      cJSON_AddItemToObject(cur, keys[i], cJSON_Duplicate(cJSON_GetObjectItem(op, keys[i]), 1));
    }
    cJSON_DeleteItemFromObject(cur, "deleted_at");
    cJSON_AddItemToObject(cur, "deleted_at", is_delete ? cJSON_CreateString(tk_str(op, "updated_at")) : cJSON_CreateNull());
    cJSON_DeleteItemFromObject(cur, "device_id");
    cJSON_AddStringToObject(cur, "device_id", tk_str(body, "device_id"));
    cJSON_DeleteItemFromObject(cur, "seq");
    cJSON_AddNumberToObject(cur, "seq", (double)++s->seq);
    cJSON_AddStringToObject(res, "status", "applied");
    cJSON_AddStringToObject(res, "id", real);
    cJSON_AddNumberToObject(res, "version", tk_num(cur, "version"));
    cJSON_AddItemToObject(res, "record", tk_record_copy(cur));
    cJSON_AddItemToObject(s->applied, op_id, cJSON_Duplicate(res, 1));
    cJSON_AddItemToArray(results, res);
  }
  return resp;
}

TK_UNUSED static cJSON *tk_server_pull(tk_server *s, const char *cursor, int limit) {
  char iso[32], cur[32];
  int64_t from = cursor && *cursor ? atoll(cursor) : 0, last = from;
  cJSON *resp = cJSON_CreateObject();
  tk_iso(s->now, iso);
  cJSON_AddStringToObject(resp, "server_time", iso);
  cJSON *changes = cJSON_AddArrayToObject(resp, "changes");
  int n = 0, remaining = 0;
  for (int64_t q = from + 1; q <= s->seq; q++) {
    cJSON *r;
    cJSON_ArrayForEach(r, s->records) {
      if ((int64_t)tk_num(r, "seq") != q) continue;
      if (n < limit) { cJSON_AddItemToArray(changes, cJSON_Duplicate(r, 1)); n++; last = q; }
      else remaining++;
    }
  }
  snprintf(cur, sizeof cur, "%lld", (long long)last);
  cJSON_AddStringToObject(resp, "cursor", cur);
  cJSON_AddBoolToObject(resp, "has_more", remaining > 0);
  cJSON_AddNumberToObject(resp, "remaining", remaining);
  return resp;
}

TK_UNUSED static cJSON *tk_wrap(const char *key, cJSON *value) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, key, value);
  return o;
}

TK_UNUSED static cJSON *tk_call_json(sc_store *st, const char *method, cJSON *in) {
  char *text = cJSON_PrintUnformatted(in);
  cJSON *out = tk_call(st, method, "%s", text);
  free(text);
  cJSON_Delete(in);
  return out;
}

/* One sync round of st against the model as the JS host runs it: syncBegin, the
** in-doubt resend, pull pages, push batches, syncDone. Returns totals {pulled, pushed,
** conflicts}. */
typedef struct tk_round { int pulled, pushed, conflicts, failed; } tk_round;

TK_UNUSED static void tk_push_all(sc_store *st, tk_server *s, const char *request, tk_round *r) {
  for (int guard = 0; guard < 1000; guard++) {
    cJSON *req = tk_call(st, "pushRequest", "%s", request);
    const cJSON *body = tk_get(req, "body");
    if (!cJSON_IsObject(body)) { cJSON_Delete(req); break; }
    cJSON *resp = tk_server_push(s, body);
    cJSON_Delete(req);
    cJSON *ans = tk_call_json(st, "pushResponse", tk_wrap("response", resp));
    r->pushed += (int)tk_num(ans, "pushed");
    r->conflicts += (int)tk_num(ans, "conflicts");
    r->failed += (int)tk_num(ans, "failed");
    cJSON_Delete(ans);
  }
}

TK_UNUSED static tk_round tk_sync(sc_store *st, tk_server *s, int page) {
  tk_round r = {0, 0, 0, 0};
  cJSON *begin = tk_call(st, "syncBegin", "{}");
  if (tk_num(begin, "inDoubt") > 0) tk_push_all(st, s, "{\"inDoubt\":true}", &r);
  cJSON_Delete(begin);
  for (;;) {
    cJSON *req = tk_call(st, "pullRequest", "{\"limit\":%d}", page);
    cJSON *resp = tk_server_pull(s, tk_str(req, "cursor"), page);
    cJSON_Delete(req);
    cJSON *ans = tk_call_json(st, "pullResponse", tk_wrap("response", resp));
    r.pulled += (int)tk_num(ans, "pulled");
    r.conflicts += (int)tk_num(ans, "conflicts");
    int more = cJSON_IsTrue(tk_get(ans, "hasMore"));
    cJSON_Delete(ans);
    if (!more) break;
  }
  tk_push_all(st, s, "{}", &r);
  cJSON_Delete(tk_call(st, "syncDone", "{}"));
  return r;
}

/* Two devices (ids dA, dB) and one in-process server, all at the same start time: the
** fixture of the two-device tests. cfg_fmt is a store config with one %s for the device
** id; rng_a/rng_b seed the devices' entropy. tk_pair_close frees everything. */
typedef struct tk_pair { tk_env ea, eb; tk_server srv; sc_store *a, *b; } tk_pair;

TK_UNUSED static tk_pair *tk_pair_open(const char *cfg_fmt, uint64_t rng_a, uint64_t rng_b) {
  tk_pair *f = calloc(1, sizeof *f);
  char cfg[2048];
  tk_server_init(&f->srv);
  f->ea.now = f->eb.now = f->srv.now;
  f->ea.rng = rng_a;
  f->eb.rng = rng_b;
  snprintf(cfg, sizeof cfg, cfg_fmt, "dA");
  f->a = tk_open_at(&f->ea, cfg);
  snprintf(cfg, sizeof cfg, cfg_fmt, "dB");
  f->b = tk_open_at(&f->eb, cfg);
  return f;
}

TK_UNUSED static void tk_pair_close(tk_pair *f) {
  assert_int_equal(sc_close(f->a), SC_OK);   /* every statement finalized: the database closes */
  assert_int_equal(sc_close(f->b), SC_OK);
  tk_server_free(&f->srv);
  free(f);
}

#endif /* SC_TESTKIT_H */
