/*
** sc_testkit.h — shared by the core's cmocka tests: deterministic hooks (a clock the
** test moves, a counter for randomness), call helpers that parse the JSON answer,
** and the reference server's own push/pull rules in-process (server/sync.c over an
** in-heap SQLite database, tests/sim/srv_inproc.c) so a test can run whole sync
** rounds between several stores without I/O.
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
#include "../sim/srv_inproc.h"

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

/* ---- the sync server: the reference server's own rules ---------------------------- */

/* server/sync.c over server/db_sqlite.c on an in-heap database (tests/sim/srv_inproc.c),
** created on first use so a test may set server_ids first. Answers are sync_push's
** and sync_pull's; the test only moves the clock (now) and, to play "deleted
** elsewhere" or a retention purge, calls tk_server_lose / tk_server_purge. */
typedef struct tk_server {
  srv_inproc *srv;
  const char *server_ids;  /* comma list of --server-ids collections */
  int64_t now;             /* server time */
  int64_t seq;             /* the partition's seq after the last call */
  unsigned next_id;        /* server-assigned ids: TK_SRV(1), TK_SRV(2), … */
  int lost;
  cJSON *state;            /* tk_server_find's last full pull */
} tk_server;

/* The n-th id the server assigns (1-9): the testkit's random bytes make them
** 00000000-0000-4000-8000-00000000000n. */
#define TK_SRV(n) "00000000-0000-4000-8000-00000000000" #n

TK_UNUSED static void tk_server_random(void *ctx, unsigned char *buf, size_t n) {
  tk_server *s = ctx;
  memset(buf, 0, n);
  s->next_id++;
  if (n >= 2) { buf[n - 1] = (unsigned char)s->next_id; buf[n - 2] = (unsigned char)(s->next_id >> 8); }
}

TK_UNUSED static void tk_server_init(tk_server *s) {
  memset(s, 0, sizeof *s);
  s->now = 1735732800000LL;
}

TK_UNUSED static srv_inproc *tk_srv(tk_server *s) {
  static unsigned serial;
  if (!s->srv) {
    char name[48];
    snprintf(name, sizeof name, "tk-%d-%u", (int)getpid(), ++serial);
    s->srv = srv_inproc_new(name, s->server_ids, "appointments.clientId=pets.ownerId@petId", tk_server_random, s);
  }
  return s->srv;
}

TK_UNUSED static void tk_server_free(tk_server *s) {
  srv_inproc_free(s->srv);
  cJSON_Delete(s->state);
  memset(s, 0, sizeof *s);
}

/* The stored record (tombstones included) as a full pull answers it, or NULL. Valid
** until the next tk_server_* call. */
TK_UNUSED static cJSON *tk_server_find(tk_server *s, const char *coll, const char *id) {
  cJSON_Delete(s->state);
  s->state = srv_inproc_state(tk_srv(s), s->now);
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s->state, coll), id);
}

TK_UNUSED static cJSON *tk_server_answer(tk_server *s, int status, char *body) {
  cJSON *j = cJSON_Parse(body);
  free(body);
  s->seq = srv_inproc_seq(s->srv);
  if (status != 200) fprintf(stderr, "server answered %d: %s\n", status, j ? cJSON_PrintUnformatted(j) : "?");
  assert_int_equal(status, 200);
  assert_non_null(j);
  return j;
}

/* POST /sync/push with body (a pushRequest's body); asserts 200; the answer parsed. */
TK_UNUSED static cJSON *tk_server_push(tk_server *s, const cJSON *body) {
  char *text = cJSON_PrintUnformatted(body), *out = NULL;
  int status = srv_inproc_push(tk_srv(s), text, s->now, &out);
  free(text);
  return tk_server_answer(s, status, out);
}

/* GET /sync/pull; *pStatus gets the status (410 when the cursor predates a purge:
** the answer is then the error body). pStatus NULL: asserts 200. */
TK_UNUSED static cJSON *tk_server_pull_status(tk_server *s, const char *cursor, int limit, int *pStatus) {
  char *out = NULL;
  int status = srv_inproc_pull(tk_srv(s), cursor && *cursor ? cursor : NULL, limit, s->now, &out);
  if (pStatus) {
    *pStatus = status;
    cJSON *j = cJSON_Parse(out);
    free(out);
    s->seq = srv_inproc_seq(s->srv);
    return j;
  }
  return tk_server_answer(s, status, out);
}
TK_UNUSED static cJSON *tk_server_pull(tk_server *s, const char *cursor, int limit) {
  return tk_server_pull_status(s, cursor, limit, NULL);
}

/* The retention purge at the server's now: every tombstone goes (op results, kept longer,
** stay, so a resent op still gets its `duplicate`). Cursors from before answer 410. */
TK_UNUSED static void tk_server_purge(tk_server *s) {
  srv_inproc_purge(tk_srv(s), s->now + 1, INT64_MIN);
}

/* "Deleted elsewhere and purged": another device deletes coll/id (through a push, at
** the record's version) and the tombstone is purged. */
TK_UNUSED static void tk_server_lose(tk_server *s, const char *coll, const char *id) {
  cJSON *rec = tk_server_find(s, coll, id);
  char body[1024], iso[40], *out = NULL;
  assert_non_null(rec);
  int64_t version = (int64_t)tk_num(rec, "version");
  int64_t ms = s->now, days = ms / 86400000, rem = ms % 86400000;   /* ms → ISO (civil from days) */
  int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d, (int)(rem / 3600000),
           (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
  snprintf(body, sizeof body,
           "{\"device_id\":\"elsewhere\",\"ops\":[{\"op_id\":\"lose-%d\",\"collection\":\"%s\",\"id\":\"%s\","
           "\"kind\":\"delete\",\"base_version\":%lld,\"data\":null,\"updated_at\":\"%s\","
           "\"hlc\":\"%015lld-00000-elsewhere\"}]}",
           ++s->lost, coll, id, (long long)version, iso, (long long)s->now);
  assert_int_equal(srv_inproc_push(s->srv, body, s->now, &out), 200);
  cJSON *ans = cJSON_Parse(out);
  free(out);
  assert_string_equal(tk_str(ans, "results.0.status"), "applied");
  cJSON_Delete(ans);
  tk_server_purge(s);
  s->seq = srv_inproc_seq(s->srv);
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

/* One sync round of st against the server, driven as the JS host drives it: the core's
** step machine (syncStep) names each request, the in-process server answers it. The
** page size is the round's pullLimit. Returns the round's result {pulled, pushed,
** conflicts, failed}; asserts it ended without an error. */
typedef struct tk_round { int pulled, pushed, conflicts, failed; } tk_round;

TK_UNUSED static tk_round tk_sync(sc_store *st, tk_server *s, int page) {
  cJSON *step = tk_call(st, "syncStep", "{\"start\":{\"pullLimit\":%d}}", page);
  for (int guard = 0; cJSON_IsObject(tk_get(step, "request")); guard++) {
    assert_true(guard < 10000);
    const cJSON *req = tk_get(step, "request");
    cJSON *answer = cJSON_CreateObject(), *body;
    int status = 200;
    if (!strcmp(tk_str(req, "kind"), "push")) body = tk_server_push(s, tk_get(req, "body"));
    else body = tk_server_pull_status(s, tk_str(req, "query.cursor"), (int)tk_num(req, "query.limit"), &status);
    cJSON_AddNumberToObject(answer, "status", status);
    if (status == 200) {
      cJSON_AddItemToObject(answer, "body", body);
    } else {
      cJSON_Delete(body);
      cJSON_AddStringToObject(answer, "error", "HTTP error");
    }
    cJSON_Delete(step);
    step = tk_call_json(st, "syncStep", tk_wrap("answer", answer));
  }
  const cJSON *res = tk_get(step, "result");
  assert_true(cJSON_IsObject(res));
  assert_null(tk_get(res, "error"));
  tk_round r = {(int)tk_num(res, "pulled"), (int)tk_num(res, "pushed"), (int)tk_num(res, "conflicts"),
                (int)tk_num(res, "failed")};
  cJSON_Delete(step);
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
