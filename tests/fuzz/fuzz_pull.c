/*
** fuzz_pull.c — libFuzzer target: arbitrary bytes as the `response` of the core's
** pullResponse method (docs/CORE_API.md) on a store with synced records and queued
** edits. No crash, no sanitizer report, and a non-OK answer leaves the store as it
** was (fuzz_store.h compares list/outbox/conflicts before and after).
*/
#include "fuzz_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  fuzz_response("pullResponse", 0, data, size);
  return 0;
}
