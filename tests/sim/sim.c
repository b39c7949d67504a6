/*
** sim.c — the deterministic simulation: several devices (each a real sc_store on
** ":memory:"), the reference server's own rules (server/sync.c over SQLite in the
** heap, srv_inproc.c) and a faulty network
** between them, all driven by one seeded PRNG and a virtual clock installed
** through sc_hooks. Devices make random puts, patches and deletes in collections
** with different strategies, go offline, run with clocks skewed by hours and
** resolve some `ask` conflicts; the network loses requests and responses,
** duplicates and delays deliveries and answers 5xx and 429; a device may crash
** after sending a push and reopen its store (the browser's in-heap image VFS,
** vfs_mem.c, keeps the last committed state as IndexedDB would). The core is driven
** exactly as the JS host drives it (docs/CORE_API.md "Sync methods"). After the
** network heals, syncs loop until quiescent and the invariants of
** docs/SIMULATION.md are checked. What the core decides is the core's; this file
** only plays the host, the network and the user, and judges.
**   sim [--seeds N] [--seed S] [--verbose]
*/
#include "srv_inproc.h"
#include "syncore.h"
#include "vfs_mem.h"
#include "store.h"       /* the judge peeks at the hlc a write was stamped with */
#include "time.h"
#include "cJSON.h"
#include <sqlite3.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVICES   4
#define T_BASE        1735732800000LL        /* 2025-01-01T12:00:00Z */
#define HOUR_MS       3600000LL
#define MAX_WRITES    4096
#define MAX_DELAYED   64
#define HEAL_ROUNDS   40

/* ------------------------------------------------------------------ PRNG */

typedef struct rng { uint64_t s; } rng;

static uint64_t rng_next(rng *r) {                 /* splitmix64 */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static int rng_int(rng *r, int n) { return n <= 0 ? 0 : (int)(rng_next(r) % (uint64_t)n); }
static int rng_chance(rng *r, int percent) { return rng_int(r, 1000) < percent * 10; }

/* ------------------------------------------------------------------ the world */

typedef struct write_rec {        /* one local write, to find where it went */
  char collection[16], record_id[64], token[32], field[8];
  int final;                      /* last write of this device to this record */
  int exempt;                     /* a conflict/delete path legitimately dropped it */
} write_rec;

typedef struct version_rec {     /* one local write of an lww record, for the oracle */
  int dev;
  char collection[16], record_id[64];
  char token[32];                 /* the w token; "" = a delete */
  char hlc[96];                   /* as stamped, then as last sent (a restamp moves it) */
  int local_only;                 /* a delete of a create never sent: it sends nothing (SPEC §3) */
} version_rec;

typedef struct device {
  int index;
  char name[16];
  sc_store *store;
  int64_t skew_ms;
  int online;
  rng entropy;
  struct world *world;
  int n_tokens;
  int batch;                      /* sync.batchSize */
  int knows_offset;               /* has handed the core an answer with server_time */
  char path[64];                  /* the store's image in vfs_mem */
  char config[2048];              /* to reopen after a crash */
} device;

typedef struct delayed {          /* a push that reaches the server late */
  char *body;
  int64_t deliver_at;
} delayed;

typedef struct world {
  uint64_t seed;
  rng r;
  int64_t now;                    /* server (true) time */
  srv_inproc *server;            /* server/sync.c itself, over SQLite in the heap */
  rng server_entropy;             /* the bytes of server-assigned ids */
  device dev[MAX_DEVICES];
  int n_dev;
  int faults;                     /* network faults on */
  delayed late[MAX_DELAYED];
  int n_late;
  write_rec *writes;
  int n_writes;
  version_rec *versions;
  int n_versions;
  char purged[256][96];           /* coll/id whose tombstone a purge removed */
  int n_purged;
  int verbose;
  /* verdict */
  int failed;                     /* a harness/core call failed: not converged */
  char why[1024];
  int lost, duplicated, misreported;
  int misjudged;                  /* the oracle's verdicts: the wrong side won */
  int judged;                     /* records the oracle decided */
  char oracle_why[512];           /* the oracle's first verdict against the seed */
  char seen_resolved[64][512];    /* signatures (base|local|remote) of resolved conflicts */
  int n_seen_resolved;
  char incidents[64][128];
  int n_incidents;
  int crashes;
} world;

/* --forget-op-ids: purge op results at 3× the tombstone horizon, the server's default ratio
** (docs/SIMULATION.md, "op-id retention": an op in doubt longer than that is applied again
** when resent). Without it the simulation keeps them: it compresses 30 days into one. */
static int g_forget_op_ids;
/* --old-judge: the judge as it was before the oracle (no judge_lww, the archive
** excuses a dropped ask write) — to show what the oracle adds (docs/SIMULATION.md).
** --oracle-only: a seed fails only on the oracle's verdicts. */
static int g_old_judge, g_oracle_only;

typedef struct verdict { int converged, lost, duplicated, misreported, judged, misjudged; } verdict;

static void fail_why(world *w, const char *fmt, ...) {
  va_list ap;
  if (w->why[0]) return;          /* keep the first reason */
  va_start(ap, fmt);
  vsnprintf(w->why, sizeof w->why, fmt, ap);
  va_end(ap);
}

/* A verdict of the oracle: counted, and the first one kept apart too. */
static void oracle_fail(world *w, const char *fmt, ...) {
  va_list ap;
  char why[512];
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  w->misjudged++;
  if (!w->oracle_why[0]) snprintf(w->oracle_why, sizeof w->oracle_why, "%s", why);
  fail_why(w, "%s", why);
}

/* Counts a conflict-reporting incident once per (device, record, kind of fault):
** the same stuck conflict seen by every later check is one incident. */
static void misreport(world *w, const char *key, const char *fmt, ...) {
  va_list ap;
  char why[512];
  for (int i = 0; i < w->n_incidents; i++) {
    if (!strcmp(w->incidents[i], key)) return;
  }
  if (w->n_incidents < 64) snprintf(w->incidents[w->n_incidents++], 128, "%s", key);
  w->misreported++;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  fail_why(w, "%s", why);
}

static void trace(world *w, const char *fmt, ...) {
  va_list ap;
  if (!w->verbose) return;
  va_start(ap, fmt);
  fprintf(stderr, "[t=%lld] ", (long long)(w->now - T_BASE));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int64_t hook_now(void *ctx) {
  device *d = ctx;
  return d->world->now + d->skew_ms;
}

static void hook_random(void *ctx, unsigned char *buf, size_t n) {
  device *d = ctx;
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rng_next(&d->entropy);
}

/* ------------------------------------------------------------------ core calls */

/* Runs method on d's store; returns the parsed output or NULL. A failure on an
** input the sim knows to be valid marks the seed failed (must_ok). */
static cJSON *call(device *d, const char *method, const char *input, int must_ok) {
  char *out = NULL;
  int rc = sc_call(d->store, method, input, &out);
  cJSON *result;
  if (rc != SC_OK) {
    if (must_ok) {
      d->world->failed = 1;
      fail_why(d->world, "%s: %s failed (%s): %s; input %.300s", d->name, method, sc_code_name(rc),
               sc_errmsg(d->store), input ? input : "{}");
    }
    trace(d->world, "%s %s -> %s %s", d->name, method, sc_code_name(rc), sc_errmsg(d->store));
    return NULL;
  }
  result = cJSON_Parse(out);
  sc_free(out);
  if (!result) {
    d->world->failed = 1;
    fail_why(d->world, "%s: %s returned text that is not JSON", d->name, method);
  }
  return result;
}

static cJSON *callf(device *d, const char *method, int must_ok, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return call(d, method, buf, must_ok);
}

/* ------------------------------------------------------------------ configuration */

static const char *k_collections =
  "{\"notes\":{\"strategy\":\"lww\",\"onDelete\":\"latest\"},"
  "\"tasks\":{\"strategy\":\"merge-fields\",\"fieldStrategy\":\"lww\",\"onDelete\":\"delete-wins\"},"
  "\"forms\":{\"strategy\":\"ask\",\"onDelete\":\"ask\"},"
  "\"docs\":{\"strategy\":\"merge-fields\",\"fieldStrategy\":\"ask\",\"onDelete\":\"ask\"},"
  "\"stats\":{\"strategy\":\"max\",\"maxFields\":[\"n\"],\"onDelete\":\"edit-wins\"},"
  "\"pets\":{\"strategy\":\"lww\",\"idFrom\":\"server\"},"
  "\"visits\":{\"strategy\":\"lww\",\"idFrom\":\"server\",\"refs\":{\"petId\":\"pets\"}}}";

static const char *const k_coll_names[] = { "notes", "tasks", "forms", "docs", "stats", "pets", "visits" };
#define N_COLLS 7

/* May this collection surface a conflict of this kind? (strategy / onDelete) */
static int may_ask(const char *coll, const char *kind) {
  if (!strcmp(coll, "forms") || !strcmp(coll, "docs")) return 1;          /* ask / field ask */
  if (strcmp(kind, "edit-edit") == 0) return 0;
  return !strcmp(coll, "pets") || !strcmp(coll, "visits");                 /* onDelete default 'ask' */
}


static int connect_device(world *w, device *d) {
  char *err = NULL;
  sc_hooks hooks = { hook_now, hook_random, d };
  int rc = sc_open(d->config, &hooks, &d->store, &err);
  if (rc != SC_OK) {
    w->failed = 1;
    fail_why(w, "%s: sc_open failed (%s): %s", d->name, sc_code_name(rc), err ? err : "?");
    sc_free(err);
    return 1;
  }
  return 0;
}

static int open_device(world *w, int i) {
  device *d = &w->dev[i];
  memset(d, 0, sizeof *d);
  d->index = i;
  d->world = w;
  snprintf(d->name, sizeof d->name, "dev%d", i);
  snprintf(d->path, sizeof d->path, "sim-%" PRIu64 "-%d.db", w->seed, i);
  d->entropy.s = w->seed * 1000003ULL + (uint64_t)i * 7919ULL + 1;
  d->online = 1;
  switch (rng_int(&w->r, 4)) {     /* clock skew: none, minutes, hours fast, hours slow */
    case 0: d->skew_ms = 0; break;
    case 1: d->skew_ms = (int64_t)rng_int(&w->r, 600000) - 300000; break;
    case 2: d->skew_ms = (1 + rng_int(&w->r, 3)) * HOUR_MS; break;
    default: d->skew_ms = -(1 + rng_int(&w->r, 3)) * HOUR_MS; break;
  }
  d->batch = 2 + rng_int(&w->r, 6);
  snprintf(d->config, sizeof d->config,
           "{\"name\":\"sim%d\",\"path\":\"%s\",\"vfs\":\"" VFS_MEM_NAME "\",\"deviceId\":\"%s\","
           "\"collections\":%s,\"sync\":{\"batchSize\":%d,\"retrySchedule\":[1,2,4]}}",
           i, d->path, d->name, k_collections, d->batch);
  return connect_device(w, d);
}

/* The tab dies between two core calls: whatever the store committed stays, nothing
** else survives. Reopening resets the ops left inflight (sent, answer never handled). */
static int crash_device(world *w, device *d) {
  w->crashes++;
  trace(w, "%s crashes and reopens its store", d->name);
  sc_close(d->store);
  d->store = NULL;
  return connect_device(w, d);
}

/* ------------------------------------------------------------------ the network */

typedef struct net_answer { int status; int retry_after; char *body; } net_answer;

static void deliver_late(world *w, int all) {
  int kept = 0;
  for (int i = 0; i < w->n_late; i++) {
    if (all || w->late[i].deliver_at <= w->now) {
      char *resp = NULL;
      srv_inproc_push(w->server, w->late[i].body, w->now, &resp);
      trace(w, "late push delivered");
      cJSON_free(resp);
      free(w->late[i].body);
    } else {
      w->late[kept++] = w->late[i];
    }
  }
  w->n_late = kept;
}

/* One HTTP exchange through the faulty network. push: body is the POST body;
** else a pull with cursor/limit. */
static net_answer net_exchange(device *d, int push, const char *body, const char *cursor, int limit) {
  world *w = d->world;
  net_answer a = { 0, 0, NULL };
  int roll = w->faults ? rng_int(&w->r, 100) : 99;
  char *resp = NULL;
  if (!d->online) return a;                        /* fetch fails at once */
  if (roll < 4) { trace(w, "%s: request lost", d->name); return a; }
  if (roll < 7) { a.status = 503; return a; }
  if (roll < 10) { a.status = 429; a.retry_after = 1 + rng_int(&w->r, 5); return a; }
  if (push && roll < 13 && w->n_late < MAX_DELAYED) {  /* delayed: client times out */
    w->late[w->n_late].body = strdup(body);
    w->late[w->n_late].deliver_at = w->now + rng_int(&w->r, 60000);
    w->n_late++;
    trace(w, "%s: push delayed", d->name);
    return a;
  }
  if (push) {
    int status = srv_inproc_push(w->server, body, w->now, &resp);
    if (roll < 16) {                               /* duplicated delivery */
      char *again = NULL;
      trace(w, "%s: push duplicated", d->name);
      srv_inproc_push(w->server, body, w->now, &again);
      if (rng_chance(&w->r, 50)) { cJSON_free(resp); resp = again; } else cJSON_free(again);
    }
    a.status = status;
  } else {
    a.status = srv_inproc_pull(w->server, cursor[0] ? cursor : NULL, limit, w->now, &resp);
  }
  if (roll >= 16 && roll < 21) {                   /* response lost after the server acted */
    trace(w, "%s: response lost", d->name);
    cJSON_free(resp);
    a.status = 0;
    return a;
  }
  if (roll >= 21 && roll < 23 && push) {           /* 502 after the server committed */
    cJSON_free(resp);
    a.status = 502;
    return a;
  }
  if (roll >= 23 && roll < 25 && resp && a.status == 200) {  /* the answer cut short */
    size_t n = strlen(resp);
    resp[n ? (size_t)rng_int(&w->r, (int)n) : 0] = 0;
    trace(w, "%s: answer truncated to %zu bytes", d->name, strlen(resp));
  } else if (a.status == 200) {
    d->knows_offset = 1;                           /* a whole answer: the server's clock seen */
  }
  a.body = resp;
  return a;
}

/* ------------------------------------------------------------------ the server's ledger */

static void server_random(void *ctx, unsigned char *buf, size_t n) {
  rng *r = ctx;
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rng_next(r);
}

/* Does a committed write to collection carry field == value (a string)? Where a
** device's write token went. */
static int server_history_has(world *w, const char *collection, const char *field, const char *value) {
  const srv_hist *h;
  size_t n = srv_inproc_history(w->server, &h);
  for (size_t i = 0; i < n; i++) {
    if (!h[i].data || strcmp(h[i].collection, collection)) continue;
    cJSON *data = cJSON_Parse(h[i].data);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, field));
    int hit = v && !strcmp(v, value);
    cJSON_Delete(data);
    if (hit) return 1;
  }
  return 0;
}

/* Was (collection, id) deleted by a committed op of a device other than not_device? */
static int server_history_deleted(world *w, const char *collection, const char *id, const char *not_device) {
  const srv_hist *h;
  size_t n = srv_inproc_history(w->server, &h);
  for (size_t i = 0; i < n; i++) {
    if (h[i].data || strcmp(h[i].collection, collection) || strcmp(h[i].id, id)) continue;
    if (!not_device || strcmp(h[i].device_id, not_device)) return 1;
  }
  return 0;
}

/* The ledger against the stored state: per record the committed writes form the
** version chain 1, 2, … (back to 1 only after its tombstone was purged), each op_id
** committed once, and the last write is what a full pull answers. */
static int server_history_check(world *w, char *why, size_t nwhy) {
  const srv_hist *h;
  size_t n = srv_inproc_history(w->server, &h);
  cJSON *state = srv_inproc_state(w->server, w->now);
  int bad = 0;
  for (size_t i = 0; i < n && !bad; i++) {
    const srv_hist *prev = NULL, *next = NULL;
    for (size_t j = 0; j < n; j++) {
      if (strcmp(h[j].collection, h[i].collection) || strcmp(h[j].id, h[i].id)) continue;
      if (j < i) prev = &h[j];
      if (j > i && !next) next = &h[j];
      if (j < i && h[i].op_id && h[j].op_id && !strcmp(h[i].op_id, h[j].op_id)) {
        snprintf(why, nwhy, "op %s committed twice", h[i].op_id);
        bad = 1;
      }
    }
    if (!bad && !(prev ? h[i].version == prev->version + 1 || (h[i].version == 1 && !prev->data) : h[i].version == 1)) {
      snprintf(why, nwhy, "history of %s/%s jumps to version %lld after %lld", h[i].collection, h[i].id,
               (long long)h[i].version, (long long)(prev ? prev->version : 0));
      bad = 1;
    }
    if (!bad && !next) {      /* the record's last write: stored as such, or a purged tombstone */
      cJSON *ch = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(state, h[i].collection), h[i].id);
      cJSON *data = h[i].data ? cJSON_Parse(h[i].data) : NULL;
      cJSON *null_node = cJSON_CreateNull();
      if (ch ? (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "version")) != (double)h[i].version ||
                !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(ch, "data"), data ? data : null_node, 1))
             : h[i].data != NULL) {
        snprintf(why, nwhy, "%s/%s: the last committed write (v%lld) is not the stored record", h[i].collection,
                 h[i].id, (long long)h[i].version);
        bad = 1;
      }
      cJSON_Delete(data);
      cJSON_Delete(null_node);
    }
  }
  cJSON_Delete(state);
  return bad;
}

/* Is the record a write was logged under (possibly a tmp_ id the server has since
** mapped) the record rid (a real id, or a tmp_ id)? */
static int same_record(const world *w, const char *logged, const char *rid) {
  if (!strcmp(logged, rid)) return 1;
  const char *a = !strncmp(logged, "tmp_", 4) ? srv_inproc_real_id(w->server, logged) : NULL;
  const char *b = !strncmp(rid, "tmp_", 4) ? srv_inproc_real_id(w->server, rid) : NULL;
  return (a && !strcmp(a, b ? b : rid)) || (b && !strcmp(b, logged));
}

/* Does token (as "devN-k") come from device d? */
static int token_of(const device *d, const char *token) {
  size_t n = strlen(d->name);
  return !strncmp(token, d->name, n) && token[n] == '-';
}

/* A divergence is its three states: base (where the local edit started), local and
** remote. Two deletions of the server side look alike (remote null) but start from
** different bases, so the base belongs in the signature: a second delete after a
** 'mine' resolution is a new divergence, rightly asked again. */
static void conflict_sig(const device *d, const cJSON *c, const char *coll, const char *rid, char *out, size_t n) {
  char *base = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "base"));
  char *local = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "local"));
  char *remote = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "remote"));
  snprintf(out, n, "%s|%s/%s|%.150s|%.150s|%.150s", d->name, coll, rid, base ? base : "", local ? local : "",
           remote ? remote : "");
  cJSON_free(base);
  cJSON_free(local);
  cJSON_free(remote);
}

/* ------------------------------------------------------------------ invariants during the run */

static void observe_push(device *d, const char *body);

static void check_conflicts(device *d, const char *when) {
  world *w = d->world;
  cJSON *out = call(d, "conflicts", "{}", 1), *c;
  if (!out) return;
  cJSON *list = cJSON_GetObjectItemCaseSensitive(out, "conflicts");
  int n = cJSON_GetArraySize(list);
  for (int i = 0; i < n; i++) {
    c = cJSON_GetArrayItem(list, i);
    const char *coll = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "collection"));
    const char *rid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "recordId"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "kind"));
    if (!coll || !rid || !kind) {
      misreport(w, "shape", "%s %s: conflict without collection/recordId/kind", d->name, when);
      continue;
    }
    char key[128];
    for (int j = 0; j < i; j++) {
      cJSON *o = cJSON_GetArrayItem(list, j);
      if (!strcmp(coll, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "collection")) ?: "")
          && !strcmp(rid, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "recordId")) ?: "")) {
        snprintf(key, sizeof key, "two|%s|%s/%s", d->name, coll, rid);
        misreport(w, key, "%s %s: two unresolved conflicts for %s/%s", d->name, when, coll, rid);
      }
    }
    if (!may_ask(coll, kind)) {
      snprintf(key, sizeof key, "never|%s|%s/%s|%s", d->name, coll, rid, kind);
      misreport(w, key, "%s %s: %s conflict surfaced for %s/%s whose strategy never asks", d->name, when, kind, coll, rid);
    }
    /* mark this device's writes to the record: a conflict path may drop them */
    for (int k = 0; k < w->n_writes; k++) {
      write_rec *wr = &w->writes[k];
      if (token_of(d, wr->token) && !strcmp(wr->collection, coll) && same_record(w, wr->record_id, rid)) wr->exempt = 1;
    }
    /* the same divergence must not come back once resolved */
    char sig[512];
    conflict_sig(d, c, coll, rid, sig, sizeof sig);
    for (int k = 0; k < w->n_seen_resolved; k++) {
      if (!strcmp(w->seen_resolved[k], sig)) {
        snprintf(key, sizeof key, "again|%s|%s/%s", d->name, coll, rid);
        misreport(w, key, "%s %s: conflict on %s/%s surfaced again after it was resolved", d->name, when, coll, rid);
      }
    }
  }
  cJSON_Delete(out);
}

/* ------------------------------------------------------------------ the host's sync round */

/* One store.sync() as js-glue's _runSync drives it: the core's step machine (syncStep,
** wasm/src/round.c) names each request, this loop makes it over the faulty network and
** hands back the answer ({status: 200, body: text}) or the failure ({status, retryAfter,
** error}; status 0 = no answer). Nothing of the round's policy is here. Returns 1 when
** the round ended without an error. */
static int sync_round(device *d, int force) {
  world *w = d->world;
  cJSON *step = callf(d, "syncStep", 1, "{\"start\":{\"force\":%s,\"batchSize\":%d,\"pullLimit\":%d}}",
                      force ? "true" : "false", d->batch, 2 + rng_int(&w->r, 10));
  for (int steps = 0; step && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(step, "request")); steps++) {
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(step, "request");
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "kind"));
    int push = kind && !strcmp(kind, "push");
    if (steps >= 5000 || !kind || (!push && strcmp(kind, "pull"))) {
      fail_why(w, "%s: syncStep asked for request %d of kind %s", d->name, steps, kind ? kind : "(none)");
      w->failed = 1;
      cJSON_Delete(step);
      return 0;
    }
    net_answer a;
    if (push) {
      char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(req, "body"));
      observe_push(d, text);
      a = net_exchange(d, 1, text, NULL, 0);
      trace(w, "%s push %.600s -> %d %.600s", d->name, text, a.status, a.body ? a.body : "");
      cJSON_free(text);
      if (w->faults && rng_chance(&w->r, 3)) {     /* the answer arrives at a dead tab */
        cJSON_free(a.body);
        cJSON_Delete(step);
        crash_device(w, d);
        return 0;
      }
    } else {
      const cJSON *q = cJSON_GetObjectItemCaseSensitive(req, "query");
      const char *cursor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "cursor"));
      const cJSON *limit = cJSON_GetObjectItemCaseSensitive(q, "limit");
      a = net_exchange(d, 0, NULL, cursor ? cursor : "", cJSON_IsNumber(limit) ? limit->valueint : 0);
      trace(w, "%s pull cursor=%s -> %d %.300s", d->name, cursor ? cursor : "", a.status, a.body ? a.body : "");
    }
    cJSON *in = cJSON_CreateObject(), *answer = cJSON_AddObjectToObject(in, "answer");
    cJSON_AddNumberToObject(answer, "status", a.status);
    if (a.status == 200) {
      cJSON_AddStringToObject(answer, "body", a.body ? a.body : "");
    } else {
      cJSON_AddNumberToObject(answer, "retryAfter", a.retry_after);
      cJSON_AddStringToObject(answer, "error", a.status ? "request failed: HTTP error" : "request failed: no answer");
    }
    cJSON_free(a.body);
    char *input = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    cJSON_Delete(step);
    step = call(d, "syncStep", input, 1);
    cJSON_free(input);
    if (step && w->verbose) {
      char *t = cJSON_PrintUnformatted(step);
      trace(w, "%s syncStep -> %.300s", d->name, t);
      cJSON_free(t);
    }
  }
  if (!step) return 0;                              /* a core call failed: the seed is already failed */
  const cJSON *result = cJSON_GetObjectItemCaseSensitive(step, "result");
  int clean = cJSON_IsObject(result) && !cJSON_GetObjectItemCaseSensitive(result, "error");
  cJSON_Delete(step);
  check_conflicts(d, "after sync");
  return clean;
}

/* ------------------------------------------------------------------ the user */

static void note_delete(world *w, device *d, const char *coll, const char *rid);

/* The hlc the core stamped on its record coll/id (the judge reads the fact, never
** the core's verdict). */
static void peek_hlc(device *d, const char *coll, const char *id, char *out, size_t n) {
  sqlite3_stmt *q = NULL;
  out[0] = 0;
  if (sqlite3_prepare_v2(d->store->db, "SELECT hlc FROM records WHERE coll=?1 AND id=?2", -1, &q, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
}

/* Has the device's copy of coll/id been on the server (a server version, or an op
** already sent)? A delete of anything else cancels a create that never left. */
static int peek_server_known(device *d, const char *coll, const char *id) {
  sqlite3_stmt *q = NULL;
  int known = 0;
  if (sqlite3_prepare_v2(d->store->db,
                         "SELECT (SELECT coalesce(max(version), 0) FROM records WHERE coll=?1 AND id=?2) +"
                         " (SELECT count(*) FROM outbox WHERE coll=?1 AND record_id=?2 AND sent=1)",
                         -1, &q, NULL) != SQLITE_OK)
    return 1;
  sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
  if (sqlite3_step(q) == SQLITE_ROW) known = sqlite3_column_int64(q, 0) > 0;
  sqlite3_finalize(q);
  return known;
}

static int is_lww_coll(const char *coll) {
  return !strcmp(coll, "notes") || !strcmp(coll, "pets") || !strcmp(coll, "visits");
}

/* Logs a write (token) or a delete (token NULL) of an lww record for the oracle. */
static void note_version(world *w, device *d, const char *coll, const char *rid, const char *token) {
  if (!is_lww_coll(coll) || w->n_versions >= MAX_WRITES) return;
  version_rec *v = &w->versions[w->n_versions++];
  memset(v, 0, sizeof *v);
  v->dev = d->index;
  snprintf(v->collection, sizeof v->collection, "%s", coll);
  snprintf(v->record_id, sizeof v->record_id, "%s", rid);
  snprintf(v->token, sizeof v->token, "%s", token ? token : "");
  peek_hlc(d, coll, rid, v->hlc, sizeof v->hlc);
  /* SPEC §3: the order is the device clock corrected by the server-time offset. A
  ** write made before the device ever heard the server's time is stamped with its raw
  ** clock; its true place is that minus the skew (what the offset, once known, says;
  ** offsets under a second are jitter and stay). */
  long long ms = 0;
  int counter = 0, used = 0;
  if (!d->knows_offset && (d->skew_ms >= 1000 || d->skew_ms <= -1000) &&
      sscanf(v->hlc, "%15lld-%5d-%n", &ms, &counter, &used) == 2 && used > 0) {
    char dev_part[64];
    snprintf(dev_part, sizeof dev_part, "%s", v->hlc + used);
    snprintf(v->hlc, sizeof v->hlc, "%015lld-%05d-%s", ms - (long long)d->skew_ms, counter, dev_part);
  }
  trace(w, "%s version %s/%s %s hlc %s", d->name, coll, rid, v->token[0] ? v->token : "delete", v->hlc);
}

/* A push body as sent: an op carries the hlc the server will store for that write
** (the core restamps a write stamped before it knew the server's clock). */
static void observe_push(device *d, const char *body) {
  world *w = d->world;
  cJSON *root = cJSON_Parse(body), *op;
  cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(root, "ops")) {
    const char *coll = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "collection"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "id"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "kind"));
    const char *hlc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "hlc"));
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(op, "data"), "w"));
    if (!coll || !id || !kind || !hlc || !is_lww_coll(coll)) continue;
    if (!strcmp(kind, "delete")) tok = "";
    if (!tok) continue;
    int k;
    for (k = w->n_versions - 1; k >= 0; k--) {
      version_rec *v = &w->versions[k];
      if (v->dev == d->index && !strcmp(v->collection, coll) && !strcmp(v->token, tok) &&
          same_record(w, v->record_id, id)) {
        if (strcmp(v->hlc, hlc)) trace(w, "%s sends %s/%s %s restamped %s", d->name, coll, id, tok, hlc);
        snprintf(v->hlc, sizeof v->hlc, "%s", hlc);
        break;
      }
    }
    /* A write the user did not make: the core's own on the device's behalf (refs
    ** rewritten after a re-created record, SPEC §3 temporary ids). It is a write of
    ** that device at that stamp like any other. */
    if (k < 0 && w->n_versions < MAX_WRITES) {
      version_rec *v = &w->versions[w->n_versions++];
      memset(v, 0, sizeof *v);
      v->dev = d->index;
      snprintf(v->collection, sizeof v->collection, "%s", coll);
      snprintf(v->record_id, sizeof v->record_id, "%s", id);
      snprintf(v->token, sizeof v->token, "%s", tok);
      snprintf(v->hlc, sizeof v->hlc, "%s", hlc);
      trace(w, "%s sends a write of its own core: %s/%s %s hlc %s", d->name, coll, id, tok[0] ? tok : "delete", hlc);
    }
  }
  cJSON_Delete(root);
}

static void note_write(world *w, device *d, const char *coll, const char *rid, const char *token,
                       const char *field) {
  if (w->n_writes >= MAX_WRITES) return;
  for (int k = 0; k < w->n_writes; k++) {
    write_rec *o = &w->writes[k];
    if (token_of(d, o->token) && !strcmp(o->collection, coll) && same_record(w, o->record_id, rid)
        && !strcmp(o->field, field)) o->final = 0;
  }
  write_rec *wr = &w->writes[w->n_writes++];
  memset(wr, 0, sizeof *wr);
  snprintf(wr->collection, sizeof wr->collection, "%s", coll);
  snprintf(wr->record_id, sizeof wr->record_id, "%s", rid);
  snprintf(wr->token, sizeof wr->token, "%s", token);
  snprintf(wr->field, sizeof wr->field, "%s", field);
  wr->final = 1;
}

/* A random id this device may touch: from a small shared pool, or one of its
** own/known records for server-id collections. */
static int pick_local_id(device *d, const char *coll, char *out, size_t n) {
  cJSON *res = callf(d, "list", 1, "{\"collection\":\"%s\"}", coll);
  cJSON *recs = cJSON_GetObjectItemCaseSensitive(res, "records");
  int count = cJSON_GetArraySize(recs), found = 0;
  if (count > 0) {
    cJSON *rec = cJSON_GetArrayItem(recs, rng_int(&d->world->r, count));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "id"));
    if (id) { snprintf(out, n, "%s", id); found = 1; }
  }
  cJSON_Delete(res);
  return found;
}

static void user_write(device *d) {
  world *w = d->world;
  const char *coll = k_coll_names[rng_int(&w->r, N_COLLS)];
  int server_ids = !strcmp(coll, "pets") || !strcmp(coll, "visits");
  char id[64], token[32], input[1024];
  int roll = rng_int(&w->r, 100);
  snprintf(token, sizeof token, "%s-%d", d->name, ++d->n_tokens);
  if (server_ids) {
    if (roll < 50 || !pick_local_id(d, coll, id, sizeof id)) {      /* create */
      char pet[64] = "none";
      if (!strcmp(coll, "visits") && !pick_local_id(d, "pets", pet, sizeof pet)) return;
      if (!strcmp(coll, "pets")) {
        snprintf(input, sizeof input, "{\"collection\":\"pets\",\"record\":{\"ownerId\":\"o%d\",\"w\":\"%s\"}}",
                 rng_int(&w->r, 3), token);
      } else {
        snprintf(input, sizeof input, "{\"collection\":\"visits\",\"record\":{\"petId\":\"%s\",\"w\":\"%s\"}}",
                 pet, token);
      }
      cJSON *res = call(d, "put", input, 1);
      const char *nid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                          cJSON_GetObjectItemCaseSensitive(res, "record"), "id"));
      if (nid) note_write(w, d, coll, nid, token, "w");
      if (nid) note_version(w, d, coll, nid, token);
      trace(w, "%s create %s/%s %s", d->name, coll, nid ? nid : "?", token);
      cJSON_Delete(res);
      return;
    }
    if (roll < 85) {
      cJSON_Delete(callf(d, "patch", 1, "{\"collection\":\"%s\",\"id\":\"%s\",\"fields\":{\"w\":\"%s\"%s}}",
                         coll, id, token, !strcmp(coll, "pets") ? ",\"ownerId\":\"o1\"" : ""));
      note_write(w, d, coll, id, token, "w");
      note_version(w, d, coll, id, token);
      trace(w, "%s patch %s/%s %s", d->name, coll, id, token);
    } else {
      cJSON_Delete(callf(d, "delete", 1, "{\"collection\":\"%s\",\"id\":\"%s\"}", coll, id));
      note_delete(w, d, coll, id);
      note_version(w, d, coll, id, NULL);
      trace(w, "%s delete %s/%s", d->name, coll, id);
    }
    return;
  }
  snprintf(id, sizeof id, "%c%d", coll[0], 1 + rng_int(&w->r, 3));
  cJSON *cur = callf(d, "get", 1, "{\"collection\":\"%s\",\"id\":\"%s\"}", coll, id);
  int exists = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cur, "record"));
  cJSON_Delete(cur);
  if (exists && roll < 15) {
    int known = peek_server_known(d, coll, id);
    cJSON_Delete(callf(d, "delete", 1, "{\"collection\":\"%s\",\"id\":\"%s\"}", coll, id));
    note_delete(w, d, coll, id);
    note_version(w, d, coll, id, NULL);
    if (!known && is_lww_coll(coll) && w->n_versions > 0) w->versions[w->n_versions - 1].local_only = 1;
    trace(w, "%s delete %s/%s", d->name, coll, id);
  } else if (exists && roll < 65) {
    const char *field = (const char *[]){ "a", "b", "c" }[rng_int(&w->r, 3)];
    int merge = !strcmp(coll, "tasks") || !strcmp(coll, "docs");
    if (merge) {           /* per-field tokens: merge-fields keeps disjoint edits */
      cJSON_Delete(callf(d, "patch", 1, "{\"collection\":\"%s\",\"id\":\"%s\",\"fields\":{\"%s\":\"%s\"}}",
                         coll, id, field, token));
      note_write(w, d, coll, id, token, field);
    } else {
      cJSON_Delete(callf(d, "patch", 1, "{\"collection\":\"%s\",\"id\":\"%s\",\"fields\":{\"w\":\"%s\",\"n\":%d}}",
                         coll, id, token, rng_int(&w->r, 100)));
      note_write(w, d, coll, id, token, "w");
      note_version(w, d, coll, id, token);
    }
    trace(w, "%s patch %s/%s %s", d->name, coll, id, token);
  } else {
    cJSON_Delete(callf(d, "put", 1,
                       "{\"collection\":\"%s\",\"record\":{\"id\":\"%s\",\"w\":\"%s\",\"a\":\"%s\",\"n\":%d}}",
                       coll, id, token, token, rng_int(&w->r, 100)));
    note_delete(w, d, coll, id);      /* a put replaces the whole record */
    note_write(w, d, coll, id, token, "w");
    note_version(w, d, coll, id, token);
    if (!strcmp(coll, "tasks") || !strcmp(coll, "docs")) {
      note_write(w, d, coll, id, token, "a");
      /* The put also removes every field it does not carry: for merge-fields it
      ** writes all of them (field "*", never judged itself, only as a rival). */
      note_write(w, d, coll, id, token, "*");
      if (w->n_writes > 0 && !strcmp(w->writes[w->n_writes - 1].field, "*")) w->writes[w->n_writes - 1].final = 0;
    }
    trace(w, "%s put %s/%s %s", d->name, coll, id, token);
  }
}

/* Resolve one open conflict of d: mine, theirs or a merged record (choice random
** unless forced_theirs). */
static void user_resolve(device *d, int forced_theirs) {
  world *w = d->world;
  cJSON *out = call(d, "conflicts", "{}", 1);
  cJSON *list = cJSON_GetObjectItemCaseSensitive(out, "conflicts");
  int n = cJSON_GetArraySize(list);
  if (n > 0) {
    cJSON *c = cJSON_GetArrayItem(list, forced_theirs ? 0 : rng_int(&w->r, n));
    const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "id"));
    const char *coll = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "collection"));
    const char *rid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "recordId"));
    int choice = forced_theirs ? 1 : rng_int(&w->r, 3);
    if (w->n_seen_resolved < 64) conflict_sig(d, c, coll ? coll : "", rid ? rid : "", w->seen_resolved[w->n_seen_resolved++], 512);
    /* The user decides with the conflict's current local side in front of them (the
    ** record as it is now, edits made since the conflict opened included): what this
    ** resolution drops was shown, not lost. */
    for (int k = 0; coll && rid && k < w->n_writes; k++) {
      write_rec *wr = &w->writes[k];
      if (token_of(d, wr->token) && !strcmp(wr->collection, coll) && same_record(w, wr->record_id, rid)) wr->exempt = 1;
    }
    if (cid && choice == 0) {
      cJSON_Delete(callf(d, "resolve", 1, "{\"conflictId\":\"%s\",\"choice\":\"mine\"}", cid));
    } else if (cid && choice == 1) {
      cJSON_Delete(callf(d, "resolve", 1, "{\"conflictId\":\"%s\",\"choice\":\"theirs\"}", cid));
    } else if (cid) {
      char token[32];
      snprintf(token, sizeof token, "%s-%d", d->name, ++d->n_tokens);
      cJSON *base = cJSON_GetObjectItemCaseSensitive(c, "local");
      if (!cJSON_IsObject(base)) base = cJSON_GetObjectItemCaseSensitive(c, "remote");
      cJSON *merged = cJSON_IsObject(base) ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();
      cJSON_DeleteItemFromObjectCaseSensitive(merged, "id");
      cJSON_AddStringToObject(merged, "id", rid ? rid : "");
      cJSON_DeleteItemFromObjectCaseSensitive(merged, "w");
      cJSON_AddStringToObject(merged, "w", token);
      char *text = cJSON_PrintUnformatted(merged);
      cJSON_Delete(callf(d, "resolve", 1, "{\"conflictId\":\"%s\",\"merged\":%s}", cid, text));
      cJSON_free(text);
      cJSON_Delete(merged);
      if (coll && rid) note_write(w, d, coll, rid, token, "w");
    }
    trace(w, "%s resolve %s/%s %s", d->name, coll ? coll : "?", rid ? rid : "?",
          choice == 0 ? "mine" : choice == 1 ? "theirs" : "merged");
    check_conflicts(d, "after resolve");
  }
  cJSON_Delete(out);
}

static void note_delete(world *w, device *d, const char *coll, const char *rid) {
  for (int k = 0; k < w->n_writes; k++) {
    write_rec *o = &w->writes[k];
    if (token_of(d, o->token) && !strcmp(o->collection, coll) && same_record(w, o->record_id, rid)) o->final = 0;
  }
}

/* ------------------------------------------------------------------ heal and judge */

/* Discards rejected ops (the app would) after reporting them: a valid op that the
** server rejects is a bug in the core's stamping or shaping. */
static int drain_outbox(device *d, int *pending) {
  world *w = d->world;
  cJSON *out = call(d, "outbox", "{}", 1), *op;
  int busy = 0;
  *pending = 0;
  cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(out, "ops")) {
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "status"));
    const char *op_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "opId"));
    (*pending)++;
    if (status && !strcmp(status, "rejected") && op_id) {
      const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "lastError"));
      w->failed = 1;
      fail_why(w, "%s: op %s rejected by the server: %s", d->name, op_id, err ? err : "?");
      cJSON_Delete(callf(d, "discard", 1, "{\"opId\":\"%s\"}", op_id));
      busy = 1;
    }
  }
  cJSON_Delete(out);
  return busy;
}

static int heal(world *w) {
  w->faults = 0;
  deliver_late(w, 1);
  for (int i = 0; i < w->n_dev; i++) w->dev[i].online = 1;
  for (int round = 0; round < HEAL_ROUNDS && !w->failed; round++) {
    int64_t seq_before = srv_inproc_seq(w->server);
    int quiet = 1;
    w->now += 10000;
    for (int i = 0; i < w->n_dev; i++) {
      device *d = &w->dev[i];
      int pending = 0;
      cJSON_Delete(call(d, "retryFailed", "{}", 1));
      sync_round(d, 1);
      for (int k = 0; k < 50; k++) {
        cJSON *out = call(d, "conflicts", "{}", 1);
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "conflicts"));
        cJSON_Delete(out);
        if (n == 0) break;
        quiet = 0;
        user_resolve(d, 1);
      }
      if (drain_outbox(d, &pending) || pending > 0) quiet = 0;
    }
    if (quiet && srv_inproc_seq(w->server) == seq_before) return 0;
  }
  for (int i = 0; i < w->n_dev && !w->failed; i++) {
    cJSON *out = call(&w->dev[i], "outbox", "{}", 1);
    cJSON *ops = cJSON_GetObjectItemCaseSensitive(out, "ops");
    if (cJSON_GetArraySize(ops) > 0) {
      char *t = cJSON_PrintUnformatted(cJSON_GetArrayItem(ops, 0));
      fail_why(w, "no quiescence after %d heal rounds: %s keeps %d ops, first %s", HEAL_ROUNDS,
               w->dev[i].name, cJSON_GetArraySize(ops), t);
      cJSON_free(t);
    }
    cJSON_Delete(out);
  }
  if (!w->failed) fail_why(w, "no quiescence after %d heal rounds", HEAL_ROUNDS);
  w->failed = 1;
  return 1;
}

static int check_convergence(world *w) {
  for (int c = 0; c < N_COLLS; c++) {
    cJSON *expect = srv_inproc_live(w->server, k_coll_names[c], w->now);
    for (int i = 0; i < w->n_dev; i++) {
      device *d = &w->dev[i];
      cJSON *res = callf(d, "list", 1, "{\"collection\":\"%s\"}", k_coll_names[c]), *rec;
      cJSON *got = cJSON_CreateObject();
      cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(res, "records")) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "id"));
        cJSON *copy = cJSON_Duplicate(rec, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
        cJSON_AddItemToObject(got, id ? id : "?", copy);
      }
      cJSON_Delete(res);
      if (!cJSON_Compare(expect, got, 1)) {
        char *a = cJSON_PrintUnformatted(expect), *b = cJSON_PrintUnformatted(got);
        fail_why(w, "not converged: %s %s has %.400s, server has %.400s", d->name, k_coll_names[c], b, a);
        cJSON_free(a);
        cJSON_free(b);
        cJSON_Delete(got);
        cJSON_Delete(expect);
        return 1;
      }
      cJSON_Delete(got);
    }
    cJSON_Delete(expect);
  }
  return 0;
}

static int in_archive(device *d, const char *coll, const char *rid, const char *field, const char *token) {
  cJSON *res = callf(d, "archive", 0, "{\"collection\":\"%s\",\"recordId\":\"%s\"}", coll, rid), *v;
  int found = 0;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(res, "versions")) {
    const char *val = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(v, "data"), field));
    if (val && !strcmp(val, token)) found = 1;
  }
  cJSON_Delete(res);
  return found;
}

/* Each device's last write to each record (field) must have reached the server's
** history, or the device's archive, or been dropped by a path the user saw (a
** conflict) or the strategy allows (a remote delete; a concurrent write to the
** same field of a merge-fields record). */
static void check_lost(world *w) {
  char why[512];
  if (server_history_check(w, why, sizeof why)) {
    w->lost++;
    fail_why(w, "server history: %s", why);
  }
  if (w->failed) return;          /* an aborted run never healed: writes may be in flight */
  for (int k = 0; k < w->n_writes; k++) {
    write_rec *wr = &w->writes[k];
    device *d = NULL;
    const char *rid = wr->record_id;
    if (!wr->final || wr->exempt) continue;
    for (int i = 0; i < w->n_dev; i++) {
      size_t n = strlen(w->dev[i].name);
      if (!strncmp(wr->token, w->dev[i].name, n) && wr->token[n] == '-') d = &w->dev[i];
    }
    if (!d) continue;
    if (server_history_has(w, wr->collection, wr->field, wr->token)) continue;
    /* The excuses of the judge before the oracle: the archive, a remote delete, a
    ** rival write to the same field. */
    int excused = in_archive(d, wr->collection, rid, wr->field, wr->token);
    /* A write logged under a temp id lives on under the real id once mapped. */
    if (!strncmp(rid, "tmp_", 4) && srv_inproc_real_id(w->server, rid)) rid = srv_inproc_real_id(w->server, rid);
    if (!excused && rid != wr->record_id) excused = in_archive(d, wr->collection, rid, wr->field, wr->token);
    if (!excused) excused = server_history_deleted(w, wr->collection, rid, d->name);
    if (!excused && (!strcmp(wr->collection, "tasks") || !strcmp(wr->collection, "docs") || !strcmp(wr->collection, "stats"))) {
      for (int j = 0; j < w->n_writes; j++) {
        if (j != k && !strcmp(w->writes[j].collection, wr->collection)
            && same_record(w, w->writes[j].record_id, wr->record_id)
            && (!strcmp(w->writes[j].field, wr->field) || !strcmp(w->writes[j].field, "*"))
            && strncmp(w->writes[j].token, d->name, strlen(d->name))) excused = 1;
      }
    }
    /* ask (forms; docs' fields): a write the server never got is excused only by a
    ** conflict the user was shown (wr->exempt) — never by the archive, a remote
    ** delete or a rival write, each of which must have asked. The oracle's verdict. */
    int asks = !strcmp(wr->collection, "forms") || !strcmp(wr->collection, "docs");
    if (excused && asks && !g_old_judge) {
      oracle_fail(w, "oracle: %s's write %s to %s/%s.%s was dropped without a conflict (strategy asks): "
               "the user must have been asked", d->name, wr->token, wr->collection, wr->record_id, wr->field);
      continue;
    }
    if (excused) continue;
    w->lost++;
    fail_why(w, "lost write: %s set %s/%s.%s = %s; not on the server, not archived, no conflict shown",
             d->name, wr->collection, wr->record_id, wr->field, wr->token);
  }
}

/* ------------------------------------------------------------------ the oracle */

/* Does d's archive for coll/id hold the version with this w token and hlc? */
static int in_archive_at(device *d, const char *coll, const char *rid, const char *token, const char *hlc) {
  cJSON *res = callf(d, "archive", 0, "{\"collection\":\"%s\",\"recordId\":\"%s\"}", coll, rid), *v;
  int found = 0;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(res, "versions")) {
    const char *val = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(v, "data"), "w"));
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "hlc"));
    if (val && at && !strcmp(val, token) && !strcmp(at, hlc)) found = 1;
  }
  cJSON_Delete(res);
  return found;
}

/* Before a purge: every record now a tombstone loses its delete from the server (a
** device that never saw it cannot apply onDelete against it: SPEC §4's 410). */
static void note_purged(world *w) {
  cJSON *state = srv_inproc_state(w->server, w->now), *coll, *ch;
  cJSON_ArrayForEach(coll, state) {
    cJSON_ArrayForEach(ch, coll) {
      if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ch, "deleted_at")) || w->n_purged >= 256) continue;
      snprintf(w->purged[w->n_purged++], sizeof w->purged[0], "%s/%s", coll->string, ch->string);
    }
  }
  cJSON_Delete(state);
}

static int was_purged(const world *w, const char *coll, const char *id) {
  char key[96];
  snprintf(key, sizeof key, "%s/%s", coll, id);
  for (int i = 0; i < w->n_purged; i++)
    if (!strcmp(w->purged[i], key)) return 1;
  return 0;
}

static const char *real_id_of(const world *w, const char *id) {
  if (strncmp(id, "tmp_", 4)) return id;
  return srv_inproc_real_id(w->server, id);
}

/* Who must win, from SPEC §3 alone: in an lww collection the write with the greatest
** hlc (ties: device id, part of the hlc text) — a delete included under `latest` —
** decides the record; the archive of every device that held a losing write keeps it,
** and never holds the winner. Judged per record from the writes the user made (their
** stamps, as stamped and as sent) and the server's final state, never from what the
** core reports it decided. Records left out, and why (docs/SIMULATION.md): pets/visits
** records that saw a delete (onDelete 'ask': the user decides), records whose
** tombstone a purge removed (the delete no longer exists to be compared with). */
static void judge_lww(world *w) {
  char *grouped = calloc((size_t)w->n_versions + 1, 1);
  for (int i = 0; i < w->n_versions; i++) {
    const version_rec *first = &w->versions[i];
    const char *rid = real_id_of(w, first->record_id);
    if (grouped[i] || !rid) continue;
    int winner = -1, any_delete = 0;
    for (int j = i; j < w->n_versions; j++) {
      const version_rec *v = &w->versions[j];
      const char *r = real_id_of(w, v->record_id);
      if (strcmp(v->collection, first->collection) || !r || strcmp(r, rid)) continue;
      grouped[j] = 1;
      if (!v->hlc[0]) {
        fail_why(w, "judge: no hlc for %s's write to %s/%s", w->dev[v->dev].name, v->collection, v->record_id);
        w->failed = 1;
      }
      if (!v->token[0]) any_delete = 1;
    }
    /* The candidates: each device's last write (a device's later write happened after
    ** its earlier ones, whatever their stamps: a stamp made before the device knew the
    ** server's clock is corrected when sent, an overwritten one never is). */
    for (int j = i; j < w->n_versions; j++) {
      const version_rec *v = &w->versions[j];
      const char *r = real_id_of(w, v->record_id);
      if (strcmp(v->collection, first->collection) || !r || strcmp(r, rid)) continue;
      int later = 0;
      for (int k = j + 1; k < w->n_versions && !later; k++) {
        const version_rec *u = &w->versions[k];
        const char *q = real_id_of(w, u->record_id);
        later = u->dev == v->dev && !strcmp(u->collection, v->collection) && q && !strcmp(q, rid);
      }
      if (!later && !v->local_only && (winner < 0 || strcmp(v->hlc, w->versions[winner].hlc) > 0)) winner = j;
    }
    if (winner < 0 || (any_delete && strcmp(first->collection, "notes")) || was_purged(w, first->collection, rid))
      continue;
    const version_rec *win = &w->versions[winner];
    w->judged++;
    cJSON *live = srv_inproc_live(w->server, first->collection, w->now);
    const char *w_node = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                           cJSON_GetObjectItemCaseSensitive(live, rid), "w"));
    char held_text[32];
    const char *held = w_node ? (snprintf(held_text, sizeof held_text, "%s", w_node), held_text) : NULL;
    int present = cJSON_GetObjectItemCaseSensitive(live, rid) != NULL;
    cJSON_Delete(live);
    if (win->token[0] ? !held || strcmp(held, win->token) : present) {
      oracle_fail(w, "oracle: %s/%s must end as %s's %s (hlc %s, the newest write); every device has %s",
               first->collection, rid, w->dev[win->dev].name, win->token[0] ? win->token : "delete", win->hlc,
               present ? (held ? held : "a record without w") : "no record");
      continue;
    }
    for (int k = 0; k < w->n_dev; k++) {
      device *d = &w->dev[k];
      if (win->token[0] && (in_archive_at(d, first->collection, rid, win->token, win->hlc) ||
                            in_archive_at(d, first->collection, first->record_id, win->token, win->hlc))) {
        oracle_fail(w, "oracle: %s archived %s/%s's winning write %s as a loser", d->name, first->collection, rid,
                 win->token);
        break;
      }
      /* d's last write to the record, when it lost and never reached the server: in d's
      ** archive (an edit that lost to a newer delete leaves nothing to keep). */
      const version_rec *last = NULL;
      for (int j = 0; j < w->n_versions; j++) {
        const version_rec *v = &w->versions[j];
        const char *r = real_id_of(w, v->record_id);
        if (v->dev == k && !strcmp(v->collection, first->collection) && r && !strcmp(r, rid)) last = v;
      }
      if (!last || last == win || !last->token[0] || server_history_has(w, last->collection, "w", last->token)) continue;
      int lost_to_delete = 0;
      for (int j = 0; j < w->n_versions; j++) {
        const version_rec *v = &w->versions[j];
        const char *r = real_id_of(w, v->record_id);
        if (!v->token[0] && !strcmp(v->collection, first->collection) && r && !strcmp(r, rid) &&
            strcmp(v->hlc, last->hlc) > 0) lost_to_delete = 1;
      }
      if (lost_to_delete || in_archive(d, first->collection, rid, "w", last->token) ||
          in_archive(d, first->collection, last->record_id, "w", last->token)) continue;
      oracle_fail(w, "oracle: %s's write %s to %s/%s (hlc %s) lost to %s (hlc %s) and is not in %s's archive", d->name,
               last->token, first->collection, rid, last->hlc, win->token[0] ? win->token : "a delete", win->hlc,
               d->name);
      break;
    }
  }
  free(grouped);
}

/* ------------------------------------------------------------------ one seed */

static verdict run_seed(uint64_t seed, int verbose) {
  world *w = calloc(1, sizeof *w);
  verdict v = { 0, 0, 0, 0, 0, 0 };
  w->seed = seed;
  w->r.s = seed * 0x2545F4914F6CDD1DULL + 12345;
  w->verbose = verbose;
  w->now = T_BASE + rng_int(&w->r, 1000000);
  char name[32];
  snprintf(name, sizeof name, "%" PRIu64, seed);
  w->server_entropy.s = seed * 0x9E3779B97F4A7C15ULL + 77;
  w->server = srv_inproc_new(name, "pets,visits", "visits.ownerId=pets.ownerId@petId", server_random, &w->server_entropy);
  w->writes = calloc(MAX_WRITES, sizeof *w->writes);
  w->versions = calloc(MAX_WRITES, sizeof *w->versions);
  w->n_dev = 2 + rng_int(&w->r, MAX_DEVICES - 1);
  w->faults = 1;
  for (int i = 0; i < w->n_dev; i++) {
    if (open_device(w, i)) goto judge;
  }
  int steps = 80 + rng_int(&w->r, 160);
  for (int step = 0; step < steps && !w->failed; step++) {
    device *d = &w->dev[rng_int(&w->r, w->n_dev)];
    int roll = rng_int(&w->r, 100);
    deliver_late(w, 0);
    if (roll < 40) user_write(d);
    else if (roll < 62) { if (d->online) sync_round(d, rng_chance(&w->r, 20)); }
    else if (roll < 68) { d->online = !d->online; trace(w, "%s %s", d->name, d->online ? "online" : "offline"); }
    else if (roll < 75) user_resolve(d, 0);
    else if (roll < 77) {             /* a long gap; old tombstones are purged */
      w->now += 2 * 24 * HOUR_MS;
      note_purged(w);
      srv_inproc_purge(w->server, w->now - 24 * HOUR_MS, g_forget_op_ids ? w->now - 3 * 24 * HOUR_MS : INT64_MIN);
      trace(w, "two days pass; tombstones purged");
    }
    else w->now += rng_int(&w->r, 20000);
  }
  if (!w->failed) heal(w);
  if (!w->failed) {
    int bad = check_convergence(w);
    v.converged = !bad;
  }
  check_lost(w);
  if (!w->failed && !g_old_judge) judge_lww(w);   /* also after another failure: its verdicts count */
  v.duplicated = srv_inproc_duplicate_applications(w->server) + srv_inproc_duplicate_creates(w->server);
  if (v.duplicated) fail_why(w, "%d duplicated applications/creates on the server", v.duplicated);
judge:
  v.judged = w->judged;
  v.misjudged = w->misjudged;
  v.lost = w->lost + w->misjudged;    /* the oracle's failures are writes lost (winner or archived loser) */
  v.misreported = w->misreported;
  if (g_oracle_only ? v.misjudged > 0 : (!v.converged || v.lost || v.duplicated || v.misreported)) {
    printf("sim: seed %" PRIu64 " FAILED: %s\n", seed,
           g_oracle_only && w->oracle_why[0] ? w->oracle_why : w->why[0] ? w->why : "not converged");
  }
  if (verbose) printf("sim: seed %" PRIu64 ": %d crashes\n", seed, w->crashes);
  for (int i = 0; i < w->n_dev; i++) {
    sc_close(w->dev[i].store);
    vfs_mem_image_delete(w->dev[i].path);
    char journal[80];
    snprintf(journal, sizeof journal, "%s-journal", w->dev[i].path);
    vfs_mem_image_delete(journal);
  }
  for (int i = 0; i < w->n_late; i++) free(w->late[i].body);
  srv_inproc_free(w->server);
  free(w->writes);
  free(w->versions);
  free(w);
  return v;
}

#ifdef SIM_MUTANTS
extern const char *sim_mutant;      /* mutants.c */
#endif

int main(int argc, char **argv) {
  uint64_t first = 1, n = 100, ran = 0;
  int verbose = 0, first_failure = 0, converged = 0, lost = 0, duplicated = 0, misreported = 0;
  int judged = 0, misjudged = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seeds") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) first = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--verbose")) verbose = 1;
    else if (!strcmp(argv[i], "--forget-op-ids")) g_forget_op_ids = 1;
    else if (!strcmp(argv[i], "--first-failure")) first_failure = 1;
    else if (!strcmp(argv[i], "--old-judge")) g_old_judge = 1;
    else if (!strcmp(argv[i], "--oracle-only")) g_oracle_only = 1;
#ifdef SIM_MUTANTS
    else if (!strcmp(argv[i], "--mutant") && i + 1 < argc) sim_mutant = argv[++i];
#endif
    else {
      fprintf(stderr, "usage: sim [--seeds N] [--seed FIRST] [--verbose] [--forget-op-ids] [--first-failure] [--old-judge] [--oracle-only]%s\n",
#ifdef SIM_MUTANTS
              " [--mutant remote-wins|no-archive|lost-ask|drop-op]"
#else
              ""
#endif
      );
      return 2;
    }
  }
  if (sqlite3_initialize() != SQLITE_OK || vfs_mem_register(1) != SQLITE_OK) {
    fprintf(stderr, "sim: cannot register the in-heap VFS\n");
    return 2;
  }
  for (uint64_t s = first; s < first + n; s++) {
    verdict v = run_seed(s, verbose);
    ran++;
    converged += v.converged;
    lost += v.lost;
    duplicated += v.duplicated;
    misreported += v.misreported;
    judged += v.judged;
    misjudged += v.misjudged;
    fflush(stdout);
    int bad = g_oracle_only ? v.misjudged > 0 : (!v.converged || v.lost || v.duplicated || v.misreported);
    if (first_failure && bad) {
      printf("sim: first failure at seed %" PRIu64 ", the %" PRIu64 "th seed run\n", s, ran);
      break;
    }
  }
  printf("sim: oracle: %d records judged, %d with the wrong winner or archive\n", judged, misjudged);
  printf("sim: %" PRIu64 " seeds, %d converged, %d lost, %d duplicated, %d conflicts-misreported\n",
         ran, converged, lost, duplicated, misreported);
  if (g_oracle_only) return misjudged ? 1 : 0;
  return (uint64_t)converged == ran && !lost && !duplicated && !misreported ? 0 : 1;
}
