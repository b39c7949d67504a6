/*
** fuzz_api.c — libFuzzer target for what the app hands the core: the first byte picks
** a method of the local API (docs/CORE_API.md), the rest is its input JSON text, run on
** the set-up store of fuzz_store.h. No crash, no sanitizer report, *pzOut NULL on
** failure, and a failing call leaves everything the app can observe as it was.
*/
#include "fuzz_store.h"

static const char *const methods[] = {
  "put", "patch", "delete", "get", "list", "count", "resolve", "discard", "importLegacy",
  "archive", "retryFailed", "normalizeTime", "conflicts", "outbox", "status", "pushRequest",
  "pullRequest", "syncBegin", "syncDone", "pushFailure", "pullGone", "nextWakeAt",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1 << 20) return 0;
  const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
  fuzz_fixture *f = fuzz_fixture_get(0);
  char *input = sc_malloc(size), *out = NULL, *after;
  memcpy(input, data + 1, size - 1);
  input[size - 1] = 0;
  int rc = sc_call(f->st, method, input, &out);
  after = fuzz_store_dump(f->st);
  if (rc != SC_OK) {
    if (out != NULL) abort();
    if (strcmp(f->dump, after) != 0) {
      fprintf(stderr, "%s failed (%s: %s) but the store changed:\nbefore %s\nafter  %s\n", method,
              sc_code_name(rc), sc_errmsg(f->st), f->dump, after);
      abort();
    }
  } else if (out == NULL) {
    abort();                                    /* success always answers JSON */
  }
  sc_free(out);
  sc_free(after);
  sc_free(input);
  return 0;
}
