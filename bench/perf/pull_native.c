/*
** pull_native.c — the native driver for profiling the core's pull apply (no browser, no
** I/O: the store is an image in the heap on the browser's VFS, sc-mem): a first sync of N changes in pages of P into an empty
** store, then a store of N records with E unpushed edits taking a pull of N changes of
** which C clash with an edit (a field conflict each). Prints records/s for both.
** Build and run: make perf-native (build/native/perf/pull_native [N P E C]); profile it
** with `valgrind --tool=callgrind` or `perf record`.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "syncore.h"
#include "vfs_mem.h"

static int64_t now_ms(void *ctx) { (void)ctx; return 1767225600000LL; }
static void rnd(void *ctx, unsigned char *buf, size_t n) {
  uint64_t *x = ctx;
  for (size_t i = 0; i < n; i++) { *x = *x * 6364136223846793005ULL + 1442695040888963407ULL; buf[i] = (unsigned char)(*x >> 56); }
}
static double seconds(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

static void call(sc_store *st, const char *method, const char *in) {
  char *out = NULL;
  if (sc_call(st, method, in, &out) != SC_OK) { fprintf(stderr, "%s failed: %s\n", method, sc_errmsg(st)); exit(1); }
  sc_free(out);
}

/* One pull page: changes [from, from+n) of version v; records below clash get eggs 5000+i. */
static char *page(int from, int n, int total, int v, int clash) {
  size_t cap = (size_t)n * 420 + 256, at = 0;
  char *s = malloc(cap);
  at += (size_t)snprintf(s + at, cap - at, "{\"response\":{\"changes\":[");
  for (int i = from; i < from + n; i++) {
    int eggs = i < clash ? 5000 + i : i % 50;
    at += (size_t)snprintf(s + at, cap - at, "%s{\"id\":\"f%d:d%d\",\"collection\":\"days\",\"version\":%d,"
      "\"updated_at\":\"2026-01-01T00:00:00.000Z\",\"deleted_at\":null,\"hlc\":\"000001767225600%03d-00000-server\","
      "\"device_id\":\"server\",\"data\":{\"flockId\":\"f%d\",\"date\":\"2026-01-%02d\",\"eggs\":%d,\"notes\":\"%0180d%d\"}}",
      i > from ? "," : "", i % 40, i, v, v, i % 40, 1 + i % 28, eggs, 0, v);
  }
  snprintf(s + at, cap - at, "],\"cursor\":\"%d\",\"has_more\":%s,\"server_time\":\"2026-01-01T00:00:00.000Z\"}}",
           from + n, from + n < total ? "true" : "false");
  return s;
}

static double pull_all(sc_store *st, int total, int per, int v, int clash) {
  double t = 0;
  for (int from = 0; from < total; from += per) {
    char *p = page(from, per, total, v, clash);
    double t0 = seconds();
    call(st, "pullResponse", p);
    t += seconds() - t0;
    free(p);
  }
  return total / t;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000, per = argc > 2 ? atoi(argv[2]) : 500;
  int edits = argc > 3 ? atoi(argv[3]) : 2000, clash = argc > 4 ? atoi(argv[4]) : 1500;
  uint64_t seed = 1;
  sc_hooks hooks = {now_ms, rnd, &seed};
  /* The browser's VFS (in-heap image), so the figures are the core + SQLite alone. */
  if (vfs_mem_register(0) != 0) return 1;
  const char *config = "{\"name\":\"perf\",\"path\":\"perf.db\",\"vfs\":\"sc-mem\",\"collections\":{\"days\":"
                       "{\"strategy\":\"merge-fields\",\"fieldStrategy\":\"ask\"}}}";
  sc_store *st = NULL;
  char *err = NULL;
  if (sc_open(config, &hooks, &st, &err) != SC_OK) { fprintf(stderr, "open: %s\n", err); return 1; }
  printf("first sync, %d in pages of %d: %.0f records/s\n", n, per, pull_all(st, n, per, 1, 0));
  char in[160];
  for (int i = 0; i < edits; i++) {
    snprintf(in, sizeof in, "{\"collection\":\"days\",\"id\":\"f%d:d%d\",\"fields\":{\"eggs\":%d}}", i % 40, i, 1000 + i);
    call(st, "patch", in);
  }
  printf("pull apply, %d into %d with %d edits (%d clash): %.0f records/s\n", n, n, edits, clash, pull_all(st, n, per, 2, clash));
  sc_close(st);
  return 0;
}
