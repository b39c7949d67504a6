/*
** fuzz_store.h — shared set-up for the API fuzz targets (fuzz_pull.c, fuzz_push.c):
** a fresh ":memory:" store with deterministic hooks, a few synced records, local
** edits queued in the outbox and a batch in flight; a dump of everything the app
** can see (list with tombstones, outbox, conflicts) to prove that a call which
** failed changed nothing. The store is built once per process and restored from a
** snapshot before every input (fuzz_fixture_get). Header-only: each target is one
** translation unit.
*/
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncore.h"
#include "store.h"

static int64_t fuzz_now(void *ctx) { (void)ctx; return 1735732800000LL; }

static void fuzz_random(void *ctx, unsigned char *buf, size_t n) {
  uint64_t *state = ctx;
  for (size_t i = 0; i < n; i++) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    buf[i] = (unsigned char)(*state >> 56);
  }
}

static const char *const fuzz_colls[] = { "notes", "forms", "pets" };

static void fuzz_must(sc_store *st, const char *method, const char *input) {
  char *out = NULL;
  if (sc_call(st, method, input, &out) != SC_OK) {
    fprintf(stderr, "fuzz set-up: %s failed: %s\n", method, sc_errmsg(st));
    abort();
  }
  sc_free(out);
}

/* A store with synced records n1/f1 (version 1), local edits and a new pet
** queued; when inflight, pushRequest has taken them (so pushResponse applies). */
static sc_store *fuzz_store_open(uint64_t *entropy, int inflight) {
  sc_hooks hooks = { fuzz_now, fuzz_random, entropy };
  sc_store *st = NULL;
  char *err = NULL;
  const char *config =
    "{\"name\":\"fuzz\",\"path\":\":memory:\",\"deviceId\":\"dev1\",\"collections\":{"
    "\"notes\":{\"strategy\":\"lww\"},\"forms\":{\"strategy\":\"ask\"},"
    "\"pets\":{\"strategy\":\"lww\",\"idFrom\":\"server\"}}}";
  if (sc_open(config, &hooks, &st, &err) != SC_OK) {
    fprintf(stderr, "fuzz set-up: sc_open failed: %s\n", err ? err : "?");
    abort();
  }
  fuzz_must(st, "pullResponse",
    "{\"response\":{\"server_time\":\"2025-01-01T12:00:00.000Z\",\"changes\":["
    "{\"seq\":1,\"collection\":\"notes\",\"id\":\"n1\",\"version\":1,\"data\":{\"t\":\"a\"},"
    "\"updated_at\":\"2025-01-01T11:00:00.000Z\",\"deleted_at\":null,\"hlc\":\"001735729200000-00000-dev2\",\"device_id\":\"dev2\"},"
    "{\"seq\":2,\"collection\":\"forms\",\"id\":\"f1\",\"version\":1,\"data\":{\"q\":1},"
    "\"updated_at\":\"2025-01-01T11:00:00.000Z\",\"deleted_at\":null,\"hlc\":\"001735729200000-00001-dev2\",\"device_id\":\"dev2\"}],"
    "\"cursor\":\"2\",\"has_more\":false,\"remaining\":0}}");
  fuzz_must(st, "patch", "{\"collection\":\"notes\",\"id\":\"n1\",\"fields\":{\"t\":\"b\"}}");
  fuzz_must(st, "patch", "{\"collection\":\"forms\",\"id\":\"f1\",\"fields\":{\"q\":2}}");
  fuzz_must(st, "put", "{\"collection\":\"notes\",\"record\":{\"id\":\"n2\",\"t\":\"new\"}}");
  fuzz_must(st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"rex\"}}");
  if (inflight) fuzz_must(st, "pushRequest", "{\"force\":true}");
  return st;
}

/* Everything the app can observe, as one string (caller frees with sc_free). */
static char *fuzz_store_dump(sc_store *st) {
  size_t cap = 1 << 16, len = 0;
  char *dump = sc_malloc(cap);
  dump[0] = 0;
  for (size_t i = 0; i < sizeof fuzz_colls / sizeof fuzz_colls[0] + 2; i++) {
    char input[128], *out = NULL;
    const char *method = "list";
    if (i < sizeof fuzz_colls / sizeof fuzz_colls[0]) {
      snprintf(input, sizeof input, "{\"collection\":\"%s\",\"includeDeleted\":true}", fuzz_colls[i]);
    } else {
      method = i == sizeof fuzz_colls / sizeof fuzz_colls[0] ? "outbox" : "conflicts";
      snprintf(input, sizeof input, "{}");
    }
    if (sc_call(st, method, input, &out) != SC_OK) {
      fprintf(stderr, "fuzz dump: %s failed: %s\n", method, sc_errmsg(st));
      abort();
    }
    size_t n = strlen(out);
    if (len + n + 2 > cap) {
      while (len + n + 2 > cap) cap *= 2;
      char *bigger = sc_malloc(cap);
      memcpy(bigger, dump, len + 1);
      sc_free(dump);
      dump = bigger;
    }
    memcpy(dump + len, out, n);
    len += n;
    dump[len++] = '\n';
    dump[len] = 0;
    sc_free(out);
  }
  return dump;
}

/* One store per process, set up once and snapshotted (sqlite3_serialize); each input
** starts from the snapshot (sqlite3_deserialize) with the clock and entropy the set-up
** left. A fresh sc_open + set-up per input ran ~100-250 inputs/s; this is the same
** starting state at a fraction of the cost. store.h gives the db handle and the clock. */
typedef struct fuzz_fixture {
  sc_store *st;
  unsigned char *snap;
  sqlite3_int64 snap_n;
  sc_hlc clock;
  uint64_t entropy, entropy_after_setup;
  char *dump;                  /* the snapshot's fuzz_store_dump */
} fuzz_fixture;

static fuzz_fixture *fuzz_fixture_get(int inflight) {
  static fuzz_fixture fx[2];
  fuzz_fixture *f = &fx[inflight ? 1 : 0];
  if (!f->st) {
    f->entropy = 42;
    f->st = fuzz_store_open(&f->entropy, inflight);
    f->snap = sqlite3_serialize(f->st->db, "main", &f->snap_n, 0);
    if (!f->snap) { fprintf(stderr, "fuzz set-up: serialize failed\n"); abort(); }
    f->clock = f->st->clock;
    f->entropy_after_setup = f->entropy;
    f->dump = fuzz_store_dump(f->st);
  } else {
    unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)f->snap_n);
    if (!copy) abort();
    memcpy(copy, f->snap, (size_t)f->snap_n);
    if (sqlite3_deserialize(f->st->db, "main", copy, f->snap_n, f->snap_n,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK) {
      fprintf(stderr, "fuzz: deserialize failed: %s\n", sqlite3_errmsg(f->st->db));
      abort();
    }
    f->st->clock = f->clock;
    f->entropy = f->entropy_after_setup;
  }
  return f;
}

/* Runs method with {"response": <data bytes>} on the set-up store; aborts when a
** failing call changed what the app sees, or when a success left the store
** unreadable. */
static void fuzz_response(const char *method, int inflight, const uint8_t *data, size_t size) {
  fuzz_fixture *f = fuzz_fixture_get(inflight);
  sc_store *st = f->st;
  char *input = sc_malloc(size + 32), *out = NULL, *after;
  memcpy(input, "{\"response\":", 12);
  memcpy(input + 12, data, size);
  memcpy(input + 12 + size, "}", 2);
  int rc = sc_call(st, method, input, &out);
  after = fuzz_store_dump(st);
  if (rc != SC_OK) {
    if (out != NULL) abort();                   /* *pzOut must stay NULL on failure */
    if (strcmp(f->dump, after) != 0) {
      fprintf(stderr, "%s failed (%s: %s) but the store changed:\nbefore %s\nafter  %s\n", method,
              sc_code_name(rc), sc_errmsg(st), f->dump, after);
      abort();
    }
  }
  sc_free(out);
  sc_free(after);
  sc_free(input);
}

#endif /* FUZZ_STORE_H */
