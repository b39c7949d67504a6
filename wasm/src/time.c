/*
** time.c — turns every time form syncore accepts (SPEC §2 normalizeTime, §11) into
** UTC milliseconds since the epoch, and milliseconds back into the one canonical
** text form "YYYY-MM-DDTHH:MM:SS.mmmZ". Calendar arithmetic is done here with the
** days-from-civil / civil-from-days algorithms on the proleptic Gregorian calendar,
** never with libc's timegm/mktime/locale, so the wasm build, the native client and
** the server agree to the millisecond. This file reads no clock and allocates
** nothing; turning a JSON value into text or a number is left to the callers
** (api.c, the server), and clocks to hlc.c and the host's sc_hooks.
*/
#include "time.h"
#include "syncore.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
/* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
#define SC_TIME_MIN_MS (-62135596800000LL)
#define SC_TIME_MAX_MS (253402300799999LL)

/* A parsed time before its zone is applied; fields straight from the text. */
typedef struct time_fields {
  int64_t year;
  int month, day, hour, minute, second, millis;
  int has_zone;          /* 1 when the text named a zone ('Z' or an offset) */
  int offset_minutes;    /* east of UTC, valid when has_zone                */
} time_fields;

static const char *const month_names[12] = {
  "January", "February", "March", "April", "May", "June", "July",
  "August", "September", "October", "November", "December"
};

int time_fail(char *zErr, size_t nErr, const char *fmt, ...) {
  if (zErr && nErr > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(zErr, nErr, fmt, ap);
    va_end(ap);
  }
  return SC_EBADINPUT;
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
  static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
** Valid for every year this module accepts; no overflow for |y| < 2^40. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                     /* [0, 399]   */
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;    /* [0, 365]   */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;             /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *py, int *pm, int *pd) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                  /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365]   */
  int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11]    */
  int d = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *py = y + (m <= 2);
  *pm = m;
  *pd = d;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads exactly n digits at *pp into *pv; advances *pp. Returns 1 on success. */
static int read_digits(const char **pp, int n, int *pv) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*pp)[i];
    if (!is_digit(c)) return 0;
    v = v * 10 + (c - '0');
  }
  *pp += n;
  *pv = v;
  return 1;
}

/* Room for describe_char's longest text, "the end of the text" (once 16: cut short). */
#define CHAR_TEXT_MAX 24

/* Describes the character at p for messages ("end of text", "'x'", "byte 0xC3"). */
static const char *describe_char(const char *p, char *buf, size_t n) {
  unsigned char c = (unsigned char)*p;
  if (c == 0) snprintf(buf, n, "the end of the text");
  else if (c >= 0x20 && c < 0x7f) snprintf(buf, n, "'%c'", c);
  else snprintf(buf, n, "byte 0x%02X", c);
  return buf;
}

/* Epoch milliseconds written as an optional '-' and digits. */
static int parse_epoch_digits(const char *s, int64_t *pMs, char *zErr, size_t nErr) {
  int negative = *s == '-';
  const char *p = s + negative;
  int64_t v = 0;
  for (; *p; p++) {
    if (v > (SC_TIME_MAX_MS + 1) / 10 + 1000) {
      return time_fail(zErr, nErr, "epoch milliseconds %s are outside years 0001-9999", s);
    }
    v = v * 10 + (*p - '0');
  }
  if (negative) v = -v;
  if (v < SC_TIME_MIN_MS || v > SC_TIME_MAX_MS) {
    return time_fail(zErr, nErr, "epoch milliseconds %s are outside years 0001-9999", s);
  }
  *pMs = v;
  return SC_OK;
}

/* "YYYY-MM-DD" or an expanded "±YYYYYY-MM-DD" year (accepted only to say it is out
** of range). Checks the month and the day against the calendar. */
static int parse_date(const char **pp, time_fields *f, char *zErr, size_t nErr) {
  const char *p = *pp;
  char cbuf[CHAR_TEXT_MAX];
  int year4 = 0, rc;
  if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, y6 = 0;
    p++;
    if (!read_digits(&p, 6, &y6)) {
      return time_fail(zErr, nErr, "an expanded year needs a sign and 6 digits");
    }
    f->year = sign * (int64_t)y6;
  } else {
    if (!read_digits(&p, 4, &year4)) {
      return time_fail(zErr, nErr, "expected a date YYYY-MM-DD, epoch milliseconds or an ISO 8601 time");
    }
    f->year = year4;
    if (is_digit(*p)) {
      return time_fail(zErr, nErr, "a year has 4 digits (0001-9999)");
    }
  }
  if (*p != '-') {
    return time_fail(zErr, nErr, "expected '-' after the year, found %s", describe_char(p, cbuf, sizeof cbuf));
  }
  p++;
  if (!read_digits(&p, 2, &f->month) || is_digit(*p)) {
    return time_fail(zErr, nErr, "the month needs 2 digits (MM)");
  }
  if (*p != '-') {
    return time_fail(zErr, nErr, "expected '-' after the month, found %s", describe_char(p, cbuf, sizeof cbuf));
  }
  p++;
  if (!read_digits(&p, 2, &f->day) || is_digit(*p)) {
    return time_fail(zErr, nErr, "the day needs 2 digits (DD)");
  }
  if (f->year < 1 || f->year > 9999) {
    return time_fail(zErr, nErr, "year %lld is outside 0001-9999", (long long)f->year);
  }
  if (f->month < 1 || f->month > 12) {
    return time_fail(zErr, nErr, "month %02d does not exist (01-12)", f->month);
  }
  if (f->day < 1 || f->day > days_in_month(f->year, f->month)) {
    rc = time_fail(zErr, nErr, "day %d does not exist in %s %04lld", f->day,
                   month_names[f->month - 1], (long long)f->year);
    return rc;
  }
  *pp = p;
  return SC_OK;
}

/* "HH:MM", "HH:MM:SS", "HH:MM:SS.fff…" (',' also separates the fraction). */
static int parse_clock(const char **pp, time_fields *f, char *zErr, size_t nErr) {
  const char *p = *pp;
  char cbuf[CHAR_TEXT_MAX];
  if (!read_digits(&p, 2, &f->hour) || is_digit(*p)) {
    return time_fail(zErr, nErr, "the hour needs 2 digits (HH)");
  }
  if (*p != ':') {
    return time_fail(zErr, nErr, "expected ':' after the hour, found %s", describe_char(p, cbuf, sizeof cbuf));
  }
  p++;
  if (!read_digits(&p, 2, &f->minute) || is_digit(*p)) {
    return time_fail(zErr, nErr, "the minute needs 2 digits (MM)");
  }
  if (*p == ':') {
    p++;
    if (!read_digits(&p, 2, &f->second) || is_digit(*p)) {
      return time_fail(zErr, nErr, "the second needs 2 digits (SS)");
    }
    if (*p == '.' || *p == ',') {
      int digits = 0;
      p++;
      for (; is_digit(*p); p++, digits++) {
        if (digits < 3) f->millis = f->millis * 10 + (*p - '0');
      }
      if (digits == 0) {
        return time_fail(zErr, nErr, "a fraction of a second needs at least one digit");
      }
      for (; digits < 3; digits++) f->millis *= 10;
    }
  }
  if (f->hour > 23) {
    return time_fail(zErr, nErr, "hour %02d does not exist (00-23; 24:00 is not accepted)", f->hour);
  }
  if (f->minute > 59) {
    return time_fail(zErr, nErr, "minute %02d does not exist (00-59)", f->minute);
  }
  if (f->second > 59) {
    return time_fail(zErr, nErr, "second %02d does not exist (00-59; leap seconds are not accepted)", f->second);
  }
  *pp = p;
  return SC_OK;
}

/* "Z", "z", "±hh:mm", "±hhmm", "±hh", or nothing. */
static int parse_zone(const char **pp, time_fields *f, char *zErr, size_t nErr) {
  const char *p = *pp;
  int sign, hh = 0, mm = 0;
  if (*p == 'Z' || *p == 'z') {
    f->has_zone = 1;
    f->offset_minutes = 0;
    *pp = p + 1;
    return SC_OK;
  }
  if (*p != '+' && *p != '-') return SC_OK;
  sign = *p == '-' ? -1 : 1;
  p++;
  if (!read_digits(&p, 2, &hh)) {
    return time_fail(zErr, nErr, "a zone offset is ±hh:mm, ±hhmm or ±hh");
  }
  if (*p == ':') {
    p++;
    if (!read_digits(&p, 2, &mm)) {
      return time_fail(zErr, nErr, "a zone offset is ±hh:mm, ±hhmm or ±hh");
    }
  } else if (is_digit(*p)) {
    if (!read_digits(&p, 2, &mm)) {
      return time_fail(zErr, nErr, "a zone offset is ±hh:mm, ±hhmm or ±hh");
    }
  }
  if (is_digit(*p)) {
    return time_fail(zErr, nErr, "a zone offset is ±hh:mm, ±hhmm or ±hh");
  }
  if (hh > 23 || mm > 59) {
    return time_fail(zErr, nErr, "zone offset %c%02d:%02d is beyond ±23:59", sign < 0 ? '-' : '+', hh, mm);
  }
  f->has_zone = 1;
  f->offset_minutes = sign * (hh * 60 + mm);
  *pp = p;
  return SC_OK;
}

/* Is s an optional '-' followed by one or more digits and nothing else? */
static int is_epoch_text(const char *s) {
  const char *p = s + (*s == '-');
  if (!*p) return 0;
  for (; *p; p++) {
    if (!is_digit(*p)) return 0;
  }
  return 1;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Parses the trimmed text s (NUL-terminated). */
static int parse_trimmed(const char *s, int assume_offset_minutes, int64_t *pMs,
                         char *zErr, size_t nErr) {
  time_fields f;
  const char *p = s;
  char cbuf[CHAR_TEXT_MAX];
  int64_t ms;
  int rc;
  memset(&f, 0, sizeof f);
  if (is_epoch_text(s)) return parse_epoch_digits(s, pMs, zErr, nErr);
  rc = parse_date(&p, &f, zErr, nErr);
  if (rc != SC_OK) goto fail;
  if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] != 0)) {
    p++;
    rc = parse_clock(&p, &f, zErr, nErr);
    if (rc != SC_OK) goto fail;
    rc = parse_zone(&p, &f, zErr, nErr);
    if (rc != SC_OK) goto fail;
  }
  if (*p != 0) {
    rc = time_fail(zErr, nErr, "unexpected %s after the time", describe_char(p, cbuf, sizeof cbuf));
    goto fail;
  }
  if (!f.has_zone) f.offset_minutes = assume_offset_minutes;
  ms = days_from_civil(f.year, f.month, f.day) * MS_PER_DAY
     + (int64_t)f.hour * 3600000 + (int64_t)f.minute * 60000
     + (int64_t)f.second * 1000 + f.millis - (int64_t)f.offset_minutes * 60000;
  if (ms < SC_TIME_MIN_MS || ms > SC_TIME_MAX_MS) {
    rc = time_fail(zErr, nErr, "the time in UTC falls outside years 0001-9999");
    goto fail;
  }
  *pMs = ms;
  return SC_OK;
fail:
  return rc;
}

/* See time.h. The offset must itself be a sane zone (±23:59) so a caller's bad
** assume_offset_minutes is reported rather than silently shifting times. */
int sc_time_parse(const char *text, int assume_offset_minutes, int64_t *pMs, char *zErr, size_t nErr) {
  char trimmed[128];
  const char *start, *end;
  size_t n;
  if (zErr && nErr > 0) zErr[0] = 0;
  if (!text) return time_fail(zErr, nErr, "no time given");
  if (assume_offset_minutes < -(23 * 60 + 59) || assume_offset_minutes > 23 * 60 + 59) {
    return time_fail(zErr, nErr, "assumeOffsetMinutes %d is beyond ±1439 (±23:59)", assume_offset_minutes);
  }
  start = text;
  while (is_space(*start)) start++;
  end = start + strlen(start);
  while (end > start && is_space(end[-1])) end--;
  n = (size_t)(end - start);
  if (n == 0) return time_fail(zErr, nErr, "the time is empty");
  if (n >= sizeof trimmed) {
    return time_fail(zErr, nErr, "the time text is too long (%zu characters) to be a time", n);
  }
  memcpy(trimmed, start, n);
  trimmed[n] = 0;
  return parse_trimmed(trimmed, assume_offset_minutes, pMs, zErr, nErr);
}

/* See time.h. */
int sc_time_from_number(double value, int64_t *pMs, char *zErr, size_t nErr) {
  if (zErr && nErr > 0) zErr[0] = 0;
  if (isnan(value) || isinf(value)) {
    return time_fail(zErr, nErr, "epoch milliseconds must be a finite number");
  }
  if (value != floor(value)) {
    return time_fail(zErr, nErr, "epoch milliseconds must be a whole number, got %.17g", value);
  }
  if (value < (double)SC_TIME_MIN_MS || value > (double)SC_TIME_MAX_MS) {
    return time_fail(zErr, nErr, "epoch milliseconds %.17g are outside years 0001-9999", value);
  }
  *pMs = (int64_t)value;
  return SC_OK;
}

/* Writes v (0 <= v < 10^n) as exactly n digits. */
static void put_digits(char *out, int v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* See time.h. */
int sc_time_format(int64_t ms, char *out) {
  int64_t days, rem, year;
  int month, day, hour, minute, second, millis;
  if (ms < SC_TIME_MIN_MS || ms > SC_TIME_MAX_MS) {
    if (out) out[0] = 0;
    return SC_EBADINPUT;
  }
  days = ms / MS_PER_DAY;
  rem = ms % MS_PER_DAY;
  if (rem < 0) {
    rem += MS_PER_DAY;
    days--;
  }
  civil_from_days(days, &year, &month, &day);
  hour = (int)(rem / 3600000);
  minute = (int)(rem / 60000 % 60);
  second = (int)(rem / 1000 % 60);
  millis = (int)(rem % 1000);
  put_digits(out, (int)year, 4);
  out[4] = '-';
  put_digits(out + 5, month, 2);
  out[7] = '-';
  put_digits(out + 8, day, 2);
  out[10] = 'T';
  put_digits(out + 11, hour, 2);
  out[13] = ':';
  put_digits(out + 14, minute, 2);
  out[16] = ':';
  put_digits(out + 17, second, 2);
  out[19] = '.';
  put_digits(out + 20, millis, 3);
  out[23] = 'Z';
  out[24] = 0;
  return SC_OK;
}
