/*
** hlc.c — the hybrid logical clock that stamps local edits for last-write-wins
** (hlc.h has the text form). A timestamp is (physical ms, counter, device id); the
** physical part is the device clock corrected by the last server-time offset, the
** counter breaks ties within one millisecond, and the device id orders equal
** pairs from different devices. Invariant: every timestamp tick() issues sorts, as
** a plain string, after every timestamp this clock issued or received before
** (last_ms/counter only grow). Persisting the state across restarts and deciding
** which side of a conflict wins are left to the store and merge.c; this file only
** computes.
*/
#include "hlc.h"
#include "syncore.h"
#include "time.h"

#include <stdio.h>
#include <string.h>

#define HLC_MS_DIGITS      15
#define HLC_COUNTER_DIGITS 5
#define HLC_MS_MAX         999999999999999LL
#define HLC_COUNTER_MAX    99999

static int is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
      || c == '_' || c == '-';
}

/* See hlc.h. */
int sc_device_id_valid(const char *id) {
  size_t n = 0;
  if (!id) return 0;
  for (; id[n]; n++) {
    if (n >= SC_DEVICE_ID_MAX || !is_id_char(id[n])) return 0;
  }
  return n > 0;
}

/* See hlc.h. An invalid device_id is stored as "" so later text never carries an
** id the server would reject silently; callers validate first. */
void sc_hlc_init(sc_hlc *clock, const char *device_id) {
  memset(clock, 0, sizeof *clock);
  if (sc_device_id_valid(device_id)) {
    memcpy(clock->device_id, device_id, strlen(device_id) + 1);
  }
}

/* See hlc.h. */
int64_t sc_hlc_physical(const sc_hlc *clock, int64_t device_now_ms) {
  return device_now_ms + clock->offset_ms;
}

/* See hlc.h. */
void sc_hlc_observe_server(sc_hlc *clock, int64_t server_ms, int64_t device_now_ms) {
  clock->offset_ms = server_ms - device_now_ms;
}

/* Writes n digits of v (0 <= v < 10^n) into out. */
static void put_digits(char *out, int64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void sc_hlc_format(int64_t ms, int32_t counter, const char *device_id, char *out) {
  size_t id_len = strlen(device_id);
  put_digits(out, ms, HLC_MS_DIGITS);
  out[HLC_MS_DIGITS] = '-';
  put_digits(out + HLC_MS_DIGITS + 1, counter, HLC_COUNTER_DIGITS);
  out[HLC_MS_DIGITS + 1 + HLC_COUNTER_DIGITS] = '-';
  memcpy(out + HLC_MS_DIGITS + HLC_COUNTER_DIGITS + 2, device_id, id_len + 1);
}

/* See hlc.h. The physical part is clamped to what 15 digits hold (a device clock
** before 1970 writes 0); a counter past 99999 carries into the next millisecond,
** so the text keeps its fixed widths and its order. */
void sc_hlc_tick(sc_hlc *clock, int64_t device_now_ms, char *out, int64_t *pMs) {
  int64_t physical = sc_hlc_physical(clock, device_now_ms);
  if (physical < 0) physical = 0;
  if (physical > HLC_MS_MAX) physical = HLC_MS_MAX;
  if (physical > clock->last_ms) {
    clock->last_ms = physical;
    clock->counter = 0;
  } else if (clock->counter < HLC_COUNTER_MAX) {
    clock->counter++;
  } else if (clock->last_ms < HLC_MS_MAX) {
    clock->last_ms++;
    clock->counter = 0;
  }
  /* else: the clock is saturated at the end of 15 digits; nothing later exists. */
  sc_hlc_format(clock->last_ms, clock->counter, clock->device_id, out);
  if (pMs) *pMs = clock->last_ms;
}

/* See hlc.h. Only the (ms, counter) pair is merged: the next tick() then lands
** strictly after the remote stamp whatever the two device ids are. */
int sc_hlc_receive(sc_hlc *clock, const char *text, int64_t device_now_ms) {
  int64_t ms;
  int32_t counter;
  int rc = sc_hlc_parse(text, &ms, &counter, NULL, NULL, 0);
  (void)device_now_ms;
  if (rc != SC_OK) return rc;
  if (ms > clock->last_ms || (ms == clock->last_ms && counter > clock->counter)) {
    clock->last_ms = ms;
    clock->counter = counter;
  }
  return SC_OK;
}

/* Reads exactly n digits; returns 1 when all were digits. */
static int read_digits(const char *p, int n, int64_t *pv) {
  int64_t v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    v = v * 10 + (p[i] - '0');
  }
  *pv = v;
  return 1;
}

/* See hlc.h. Must match the server's check of the hlc field (SPEC §11). */
int sc_hlc_parse(const char *text, int64_t *pMs, int32_t *pCounter, char *device_id,
                 char *zErr, size_t nErr) {
  int64_t ms, counter;
  const char *id;
  if (zErr && nErr > 0) zErr[0] = 0;
  if (!text) return time_fail(zErr, nErr, "hlc is missing");
  if (!read_digits(text, HLC_MS_DIGITS, &ms)) {
    return time_fail(zErr, nErr, "hlc must start with 15 digits of milliseconds (e.g. 001735732800000-00000-d1)");
  }
  if (text[HLC_MS_DIGITS] != '-') {
    return time_fail(zErr, nErr, "hlc needs '-' after its 15 digits of milliseconds");
  }
  if (!read_digits(text + HLC_MS_DIGITS + 1, HLC_COUNTER_DIGITS, &counter)) {
    return time_fail(zErr, nErr, "hlc needs a 5-digit counter after its milliseconds");
  }
  if (text[HLC_MS_DIGITS + 1 + HLC_COUNTER_DIGITS] != '-') {
    return time_fail(zErr, nErr, "hlc needs '-' and a device id after its counter");
  }
  id = text + HLC_MS_DIGITS + HLC_COUNTER_DIGITS + 2;
  if (!sc_device_id_valid(id)) {
    return time_fail(zErr, nErr, "hlc device id must match [A-Za-z0-9_-]{1,64}");
  }
  if (pMs) *pMs = ms;
  if (pCounter) *pCounter = (int32_t)counter;
  if (device_id) memcpy(device_id, id, strlen(id) + 1);
  return SC_OK;
}

/* NULL sorts before any string. */
static int compare_nullable(const char *a, const char *b) {
  if (!a || !b) return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* See hlc.h. Must match the server's and the JS glue's order. */
int sc_hlc_compare(const char *hlc_a, const char *device_a, const char *hlc_b, const char *device_b) {
  int c = compare_nullable(hlc_a, hlc_b);
  if (c != 0) return c < 0 ? -1 : 1;
  c = compare_nullable(device_a, device_b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}
