/*
** fuzz_server.c — libFuzzer target for the server's request handling, below HTTP:
** the first byte picks what the rest is —
**   0  a push body, to sync_push on a real SQLite pool (server/db_sqlite.c);
**   1  pull query values: cursor and limit as MHD hands them over (decoded, NULs
**      and all), split at the first 0xFF byte, to sync_pull;
**   2  a bearer token, to auth_verify (a fixed 32-byte key; with `aud`/`iss`
**      required on odd lengths);
**   3  a push body of ops around one record, pushed twice (replays, duplicates).
** Checked on every input: no crash or sanitizer report; the answer's status is
** one the protocol has and its body is JSON (an object); a push answered other
** than 200 stored nothing (the partition's seq is unchanged); a 200 push has one
** result per op; a verified token names a partition "u:…" or "s:…" free of
** control characters. The database is recreated every few thousand inputs so its
** growth does not slow the run down.
*/
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "sync.h"

#define NOW_MS 1735732800000LL
#define PARTITION "u:fuzz"

static srv_config cfg;
static db_pool *pool;
static char db_path[256];
static unsigned runs;

static void open_pool(void) {
  char why[256], url[300];
  unlink(db_path);
  snprintf(url, sizeof url, "sqlite:%s", db_path);
  if (db_pool_open(url, 1, NULL, &pool, why, sizeof why) != DB_OK) { fprintf(stderr, "%s\n", why); abort(); }
}

/* The database and its WAL files go when the run ends. */
static void remove_db(void) {
  char side[300];
  unlink(db_path);
  snprintf(side, sizeof side, "%s-wal", db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", db_path);
  unlink(side);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  memset(&cfg, 0, sizeof cfg);
  cfg.max_body = 1 << 20;
  cfg.max_ops = 50;
  cfg.max_depth = 16;
  cfg.max_nodes = 4096;
  cfg.max_id = 128;
  cfg.max_record = 4096;
  cfg.max_page_bytes = 8192;
  cfg.future_tolerance_ms = 300000;
  cfg.server_id_count = 1;
  strcpy(cfg.server_ids[0], "pets");
  cfg.derive_count = 1;
  strcpy(cfg.derive[0].target, "appointments");
  strcpy(cfg.derive[0].field, "clientId");
  strcpy(cfg.derive[0].source, "pets");
  strcpy(cfg.derive[0].source_field, "ownerId");
  strcpy(cfg.derive[0].ref_field, "petId");
  const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(db_path, sizeof db_path, "%s/fuzz_server_%d.db", dir, (int)getpid());
  open_pool();
  atexit(remove_db);
  return 0;
}

static int64_t partition_seq(void) {
  db_pull_page page;
  db_conn *conn = db_acquire(pool);
  if (db_pool_backend(pool)->pull(conn, PARTITION, 0, 1, 1024, -1, &page) != DB_OK) abort();
  db_release(pool, conn);
  int64_t seq = page.partition_seq;
  db_pull_page_clear(&page);
  return seq;
}

/* The body is JSON, an object; returns it parsed (caller deletes). */
static cJSON *check_body(const sync_reply *r) {
  if (!r->body) abort();
  cJSON *root = cJSON_Parse(r->body);
  if (!cJSON_IsObject(root)) { fprintf(stderr, "answer is not a JSON object: %s\n", r->body); abort(); }
  return root;
}

static void push_once(const char *body, size_t len) {
  sync_reply r;
  int64_t before = partition_seq();
  sync_push(&cfg, pool, PARTITION, body, len, NOW_MS, &r);
  if (r.status != 200 && r.status != 400 && r.status != 413) { fprintf(stderr, "push status %d\n", r.status); abort(); }
  cJSON *root = check_body(&r);
  if (r.status != 200 && partition_seq() != before) { fprintf(stderr, "a %d push stored something\n", r.status); abort(); }
  if (r.status == 200) {
    cJSON *in = cJSON_Parse(body);
    int ops = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(in, "ops"));
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "results")) != ops) {
      fprintf(stderr, "results do not match ops\n");
      abort();
    }
    cJSON_Delete(in);
  }
  cJSON_Delete(root);
  free(r.body);
}

static void pull_values(const uint8_t *p, size_t n) {
  const uint8_t *split = memchr(p, 0xFF, n);
  size_t clen = split ? (size_t)(split - p) : n;
  char *cursor = malloc(clen + 1);
  size_t llen = split ? n - clen - 1 : 0;
  char *limit = split ? malloc(llen + 1) : NULL;
  memcpy(cursor, p, clen);
  cursor[clen] = 0;
  if (limit) { memcpy(limit, split + 1, llen); limit[llen] = 0; }
  sync_reply r;
  sync_pull(&cfg, pool, PARTITION, cursor, clen, limit, llen, NOW_MS, &r);
  if (r.status != 200 && r.status != 400 && r.status != 410) { fprintf(stderr, "pull status %d\n", r.status); abort(); }
  cJSON_Delete(check_body(&r));
  free(r.body);
  free(cursor);
  free(limit);
}

static void verify_token(const uint8_t *p, size_t n) {
  static const unsigned char key[32] = "fuzz-key-fuzz-key-fuzz-key-0123";
  auth_policy policy = {key, sizeof key, n % 2 ? "syncore" : NULL, n % 2 ? "issuer" : NULL};
  char *token = malloc(n + 1), why[160];
  memcpy(token, p, n);
  token[n] = 0;
  auth_claims claims;
  if (auth_verify(&policy, token, NOW_MS, &claims, why, sizeof why) == 0) {
    if (strncmp(claims.partition, "u:", 2) && strncmp(claims.partition, "s:", 2)) abort();
    for (const char *c = claims.partition; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f) abort();
  } else if (!why[0]) {
    abort();
  }
  free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1 << 16)) return 0;
  if (++runs % 4096 == 0) { db_pool_close(pool); open_pool(); }
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  char *text = malloc(n + 1);
  memcpy(text, p, n);
  text[n] = 0;
  switch (data[0] & 3) {
    case 0: push_once(text, n); break;
    case 1: pull_values(p, n); break;
    case 2: verify_token(p, n); break;
    default: push_once(text, n); push_once(text, n); break;
  }
  free(text);
  return 0;
}
