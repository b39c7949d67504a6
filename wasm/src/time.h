/*
** time.h — parsing every time form syncore accepts into UTC milliseconds, and the
** canonical text form. Pure functions: no clock, no allocation. Shared by the
** client core and the server (one core, two hosts).
*/
#ifndef SC_TIME_H
#define SC_TIME_H

#include <stddef.h>
#include <stdint.h>

#define SC_TIME_TEXT_LEN 24   /* strlen("YYYY-MM-DDTHH:MM:SS.mmmZ") */

/* Parse text (NUL-terminated) in any form of SPEC §2 normalizeTime / §11:
** ISO 8601 with 'Z'/'z', ±hh:mm, ±hhmm, ±hh, or no zone (then assume_offset_minutes
** east of UTC applies), 'T'/'t' or a space between date and time, hh:mm with or
** without :ss, any count of fractional digits (truncated to ms), a date alone
** (midnight at the assumed offset), or a string of digits with an optional '-'
** (epoch milliseconds). Years 0001–9999 only.
** On success returns SC_OK and sets *pMs. On failure returns SC_EBADINPUT and writes
** a message saying what is wrong (e.g. "day 30 does not exist in February 2025")
** into zErr[nErr] (zErr may be NULL). */
int sc_time_parse(const char *text, int assume_offset_minutes, int64_t *pMs, char *zErr, size_t nErr);

/* Epoch milliseconds (a JSON number): must be integral-valued and within years
** 0001–9999. Same return contract as sc_time_parse. */
int sc_time_from_number(double value, int64_t *pMs, char *zErr, size_t nErr);

/* Write ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least SC_TIME_TEXT_LEN+1 bytes).
** ms must be within years 0001–9999; returns SC_OK or SC_EBADINPUT. */
int sc_time_format(int64_t ms, char *out);

/* Internal to the core (time.c, hlc.c): write the printf-style message into zErr[nErr]
** (zErr may be NULL) and return SC_EBADINPUT. */
int time_fail(char *zErr, size_t nErr, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

#endif /* SC_TIME_H */
