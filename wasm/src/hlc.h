/*
** hlc.h — the hybrid logical clock that orders edits for last-write-wins.
**
** Text form (SPEC §11), sorting in causal order by plain string comparison:
**   15 digits of physical ms since the epoch, '-', 5-digit counter, '-', device id
**   "001735732800000-00000-d1"
** The physical part is the device clock corrected by the offset to the server's
** clock seen on the last response, so a device hours fast neither wins with a stale
** edit nor trips the server's future check. The state is plain data: the store
** persists it (meta table) so the clock never runs backwards across restarts.
*/
#ifndef SC_HLC_H
#define SC_HLC_H

#include <stddef.h>
#include <stdint.h>

#define SC_DEVICE_ID_MAX 64
#define SC_HLC_TEXT_MAX  (15 + 1 + 5 + 1 + SC_DEVICE_ID_MAX)  /* without the NUL */

typedef struct sc_hlc {
  int64_t last_ms;        /* physical part of the last timestamp issued or seen  */
  int32_t counter;        /* logical counter within last_ms                      */
  int64_t offset_ms;      /* server clock minus device clock, from the last answer */
  char device_id[SC_DEVICE_ID_MAX + 1];
} sc_hlc;

/* True when id matches [A-Za-z0-9_-]{1,64}. */
int sc_device_id_valid(const char *id);

/* Set up a clock for device_id (must be valid) with no history and no offset. */
void sc_hlc_init(sc_hlc *clock, const char *device_id);

/* Corrected physical time: device_now_ms + offset_ms. */
int64_t sc_hlc_physical(const sc_hlc *clock, int64_t device_now_ms);

/* Record the server's clock from a response: offset = server_ms - device_now_ms. */
void sc_hlc_observe_server(sc_hlc *clock, int64_t server_ms, int64_t device_now_ms);

/* The HLC text of (ms, counter, device_id) into out (SC_HLC_TEXT_MAX + 1 bytes): ms in 15
** digits, counter in 5, the device id — the one formatter of the text. ms and counter
** must be within their widths. */
void sc_hlc_format(int64_t ms, int32_t counter, const char *device_id, char *out);
/* Issue a new timestamp for a local event: strictly greater than every one issued
** or received before. Writes the text (NUL-terminated) into out[SC_HLC_TEXT_MAX+1];
** *pMs (may be NULL) gets its physical part. */
void sc_hlc_tick(sc_hlc *clock, int64_t device_now_ms, char *out, int64_t *pMs);

/* Merge a remote timestamp so later local ones sort after it. Returns SC_OK, or
** SC_EBADINPUT (clock unchanged) when text is not a valid hlc. */
int sc_hlc_receive(sc_hlc *clock, const char *text, int64_t device_now_ms);

/* Parse and validate the text form. Any out-pointer may be NULL.
** Returns SC_OK or SC_EBADINPUT with a message in zErr[nErr]. */
int sc_hlc_parse(const char *text, int64_t *pMs, int32_t *pCounter, char *device_id,
                 char *zErr, size_t nErr);

/* Last-write-wins order: compares hlc strings, then device ids, as plain strings
** (NULL sorts first). <0, 0, >0 like strcmp. Must match the server's order. */
int sc_hlc_compare(const char *hlc_a, const char *device_a, const char *hlc_b, const char *device_b);

#endif /* SC_HLC_H */
