/*
** fuzz_push.c — libFuzzer target: arbitrary bytes as the `response` of the core's
** pushResponse method (docs/CORE_API.md) while a batch of ops is in flight. No
** crash, no sanitizer report, and a non-OK answer leaves the store as it was
** (fuzz_store.h compares list/outbox/conflicts before and after).
*/
#include "fuzz_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  fuzz_response("pushResponse", 1, data, size);
  return 0;
}
