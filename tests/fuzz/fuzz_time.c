/*
** fuzz_time.c — libFuzzer target for time.c and hlc.c. Arbitrary bytes go to
** sc_time_parse (first byte picks the assumed offset) and sc_hlc_parse; whatever
** parses must round-trip: format(parse(x)) parses back to the same instant and
** re-formats identically, and a parsed hlc re-assembles into exactly its input.
** A received hlc must make the next tick sort after it. Crashes, sanitizer
** reports and failed round-trips abort.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "syncore.h"
#include "time.h"

#define FUZZ_MAX_TEXT 256

static void check_time(const char *text, int offset) {
  int64_t ms = 0, back = 0;
  char err[200], canonical[SC_TIME_TEXT_LEN + 1], again[SC_TIME_TEXT_LEN + 1];
  if (sc_time_parse(text, offset, &ms, err, sizeof err) != SC_OK) {
    if (err[0] == 0) abort(); /* a rejection must say why */
    return;
  }
  if (sc_time_format(ms, canonical) != SC_OK) abort();
  if (sc_time_parse(canonical, 0, &back, err, sizeof err) != SC_OK || back != ms) abort();
  if (sc_time_format(back, again) != SC_OK || strcmp(canonical, again) != 0) abort();
}

static void check_hlc(const char *text) {
  int64_t ms = 0;
  int32_t counter = 0;
  char device[SC_DEVICE_ID_MAX + 1], err[200], rebuilt[SC_HLC_TEXT_MAX + 32];
  char next[SC_HLC_TEXT_MAX + 1];
  sc_hlc clock;
  if (sc_hlc_parse(text, &ms, &counter, device, err, sizeof err) != SC_OK) {
    if (err[0] == 0) abort();
    return;
  }
  snprintf(rebuilt, sizeof rebuilt, "%015lld-%05d-%s", (long long)ms, (int)counter, device);
  if (strcmp(rebuilt, text) != 0) abort();
  sc_hlc_init(&clock, "fuzz");
  if (sc_hlc_receive(&clock, text, 0) != SC_OK) abort();
  sc_hlc_tick(&clock, 0, next, NULL);
  /* the (ms, counter) part must move past the remote one, whatever the device
  ** ids; only a clock saturated at 15 digits of 9s cannot */
  if (strncmp(next, text, 21) <= 0 && !(ms == 999999999999999LL && counter == 99999)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[FUZZ_MAX_TEXT + 1];
  int offset;
  if (size == 0) return 0;
  offset = ((int)data[0] - 128) * 12; /* -1536 … 1524 minutes: also out-of-range offsets */
  data++, size--;
  if (size > FUZZ_MAX_TEXT) size = FUZZ_MAX_TEXT;
  memcpy(text, data, size);
  text[size] = 0;
  check_time(text, offset);
  check_hlc(text);
  return 0;
}
