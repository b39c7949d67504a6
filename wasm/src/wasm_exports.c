/*
** wasm_exports.c — the wasm module's boundary, and the only file that includes
** emscripten.h. It installs the in-heap VFS as SQLite's OS layer (SQLITE_OS_OTHER=1),
** exports the VFS hooks js-glue/storage-*.js use to load and persist images, and a
** raw SQL entry (open a connection on an image, run SQL, rows as JSON) that the
** browser tests and diagnostics use beside the core. The core's own calls
** (sc_open, sc_call, …) are exported as they are from api.c: they already take and
** return only JSON text and one opaque handle. Every name here is listed in
** wasm/exports.json and called from js-glue/core.js (must match both).
** Built only by mk/wasm.mk; never part of the native library.
*/
#include <emscripten.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"
#include "syncore.h"
#include "time.h"
#include "util.h"
#include "vfs_mem.h"

/* ---------------------------------------------------------------- libc numbers, for cJSON */

/* cJSON reads every number with strtod and writes one with sprintf("%d" | "%1.15g"), then
** checks a decimal with sscanf("%lg"). Emscripten's musl does both through 128-bit long
** double arithmetic emulated in software: in a pull of make bench's records (six decimals
** each) that was a tenth of the time. The exact common cases go through util.c
** (util_parse_double, util_fmt_double, tested natively against libc); the rest to musl. */
static const char *skip_space(const char *p) {
  while (*p == ' ' || (*p >= '\t' && *p <= '\r')) p++;
  return p;
}

double strtod(const char *restrict s, char **restrict end) {
  const char *p = skip_space(s);
  double v = 0;
  int used = 0;
  size_t n = util_parse_double(p, &v);
  if (n) {
    if (end) *end = (char *)(p + n);
    return v;
  }
  if (sscanf(s, "%lf%n", &v, &used) < 1) used = 0, v = 0;
  if (end) *end = (char *)(s + used);
  return v;
}

int sscanf(const char *restrict s, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (!strcmp(fmt, "%lg")) {
    double *out = va_arg(ap, double *);
    if (util_parse_double(skip_space(s), out)) { va_end(ap); return 1; }
    va_end(ap);
    va_start(ap, fmt);
  }
  int r = vsscanf(s, fmt, ap);
  va_end(ap);
  return r;
}

static int format(char *s, const char *fmt, va_list ap) {
  va_list again;
  size_t n = 0;
  va_copy(again, ap);
  if (!strcmp(fmt, "%d")) {
    int v = va_arg(again, int);
    char digits[12];
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    int k = 0;
    do digits[k++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) s[n++] = '-';
    while (k) s[n++] = digits[--k];
    s[n] = 0;
  } else if (!strcmp(fmt, "%1.15g")) {
    n = util_fmt_double(va_arg(again, double), s);
  }
  va_end(again);
  return n ? (int)n : vsprintf(s, fmt, ap);
}

/* sprintf's object also defines the names LLVM rewrites some calls to (siprintf for
** formats without floats, __small_sprintf): all three are defined here, or it is linked in
** (an alias does not survive the link-time optimization). */
#define SPRINTF_AS_FORMAT(name)                                  \
  int name(char *restrict s, const char *restrict fmt, ...) {    \
    va_list ap;                                                  \
    va_start(ap, fmt);                                           \
    int r = format(s, fmt, ap);                                  \
    va_end(ap);                                                  \
    return r;                                                    \
  }
SPRINTF_AS_FORMAT(sprintf)
SPRINTF_AS_FORMAT(siprintf)
SPRINTF_AS_FORMAT(__small_sprintf)

/* ---------------------------------------------------------------- libc time, for SQLite */

/* With SQLITE_OMIT_DATETIME_FUNCS, SQLite still defines CURRENT_TIME, CURRENT_DATE and
** CURRENT_TIMESTAMP through libc's gmtime_r and strftime, which emscripten implements in
** JavaScript (with tzset): about 2 KB of the gzipped loader. UTC only, and only the three
** formats SQLite passes, here in C instead. */
struct tm *gmtime_r(const time_t *t, struct tm *out) {
  long long secs = (long long)*t, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) { rem += 86400; days--; }
  /* civil_from_days (H. Hinnant): days since 1970-01-01 → year, month, day */
  long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  memset(out, 0, sizeof *out);
  out->tm_year = (int)(y - 1900);
  out->tm_mon = (int)(m - 1);
  out->tm_mday = (int)d;
  out->tm_hour = (int)(rem / 3600);
  out->tm_min = (int)(rem / 60 % 60);
  out->tm_sec = (int)(rem % 60);
  return out;
}

struct tm *gmtime(const time_t *t) {
  static struct tm tm;   /* SQLite holds its main mutex around the call (single-threaded here) */
  return gmtime_r(t, &tm);
}

size_t strftime(char *s, size_t max, const char *format, const struct tm *tm) {
  int n;
  if (strcmp(format, "%H:%M:%S") == 0) n = snprintf(s, max, "%02d:%02d:%02d", tm->tm_hour, tm->tm_min, tm->tm_sec);
  else if (strcmp(format, "%Y-%m-%d") == 0) n = snprintf(s, max, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
  else n = snprintf(s, max, "%04d-%02d-%02d %02d:%02d:%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
                    tm->tm_hour, tm->tm_min, tm->tm_sec);
  return n < 0 || (size_t)n >= max ? 0 : (size_t)n;
}

/* ---------------------------------------------------------------- lazy images (JSPI) */

/* Imported from the host (wasm/library.js; js-glue/core.js replaces it): write group's
** bytes into the image and return 0, or non-zero when it cannot. Where the browser has
** JSPI the host wraps it in WebAssembly.Suspending, so it waits for IndexedDB: the module
** is suspended until the group is there, and only calls the host entered through
** WebAssembly.promising may reach it — those set sc_vfs_may_suspend(1) for their span. */
extern int sc_host_fetch(vfs_mem_image *image, int group);
static int g_may_suspend;

static int host_fetch(vfs_mem_image *image, size_t group) {
  if (!g_may_suspend) return SQLITE_IOERR;   /* a synchronous call cannot wait: its statement fails */
  return sc_host_fetch(image, (int)group) == 0 ? SQLITE_OK : SQLITE_IOERR;
}

/* ---------------------------------------------------------------- SQLite OS layer */

/* Called by sqlite3_initialize(): with SQLITE_OS_OTHER there is no built-in VFS. */
int sqlite3_os_init(void) {
  vfs_mem_set_fetch(host_fetch);
  return vfs_mem_register(1);
}
int sqlite3_os_end(void) { return SQLITE_OK; }

/* ---------------------------------------------------------------- VFS hooks */

/* The image called name (created empty when create != 0), or NULL. */
EMSCRIPTEN_KEEPALIVE vfs_mem_image *sc_vfs_image(const char *name, int create) {
  vfs_mem_image *image = NULL;
  if (sqlite3_initialize() != SQLITE_OK) return NULL;
  vfs_mem_image_find(name, create, &image);
  return image;
}

EMSCRIPTEN_KEEPALIVE unsigned char *sc_vfs_data(vfs_mem_image *image) { return vfs_mem_image_data(image); }
EMSCRIPTEN_KEEPALIVE size_t sc_vfs_size(vfs_mem_image *image) { return vfs_mem_image_size(image); }

/* SQLITE_OK or SQLITE_NOMEM; the loader then writes the bytes at sc_vfs_data(). */
EMSCRIPTEN_KEEPALIVE int sc_vfs_resize(vfs_mem_image *image, size_t size) {
  return vfs_mem_image_resize(image, size);
}

/* First dirty chunk index >= from, or -1. (An int: JS numbers, no BigInt.) */
EMSCRIPTEN_KEEPALIVE int sc_vfs_next_dirty(vfs_mem_image *image, int from) {
  return (int)vfs_mem_image_next_dirty(image, from);
}

EMSCRIPTEN_KEEPALIVE int sc_vfs_dirty_count(vfs_mem_image *image) {
  return (int)vfs_mem_image_dirty_count(image);
}
EMSCRIPTEN_KEEPALIVE void sc_vfs_clear_dirty(vfs_mem_image *image) { vfs_mem_image_clear_dirty(image); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_lock_level(vfs_mem_image *image) { return vfs_mem_image_lock_level(image); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_delete(const char *name) { return vfs_mem_image_delete(name); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_chunk_size(void) { return (int)VFS_MEM_CHUNK; }
EMSCRIPTEN_KEEPALIVE int sc_vfs_keep_originals(vfs_mem_image *image) { return vfs_mem_image_keep_originals(image); }
EMSCRIPTEN_KEEPALIVE void sc_vfs_may_suspend(int on) { g_may_suspend = on; }
EMSCRIPTEN_KEEPALIVE int sc_vfs_set_lazy(vfs_mem_image *image, size_t size) { return vfs_mem_image_set_lazy(image, size); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_group_present(vfs_mem_image *image, int group) { return vfs_mem_image_group_present(image, (size_t)group); }
EMSCRIPTEN_KEEPALIVE void sc_vfs_set_present(vfs_mem_image *image, int group) { vfs_mem_image_set_present(image, (size_t)group); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_absent_count(vfs_mem_image *image) { return (int)vfs_mem_image_absent_count(image); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_group_chunks(void) { return (int)VFS_MEM_GROUP_CHUNKS; }
EMSCRIPTEN_KEEPALIVE unsigned char *sc_vfs_group_ptr(vfs_mem_image *image, int group) { return vfs_mem_image_group(image, (size_t)group); }
EMSCRIPTEN_KEEPALIVE double sc_vfs_resident_bytes(vfs_mem_image *image) { return (double)vfs_mem_image_resident_bytes(image); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_trim(vfs_mem_image *image, double max_bytes) { return (int)vfs_mem_image_trim(image, (size_t)max_bytes); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_set_whole(vfs_mem_image *image) { return vfs_mem_image_set_whole(image); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_track(vfs_mem_image *image, int on) { return vfs_mem_image_track(image, on); }
EMSCRIPTEN_KEEPALIVE int sc_vfs_tracked(vfs_mem_image *image, int group) { return vfs_mem_image_tracked(image, (size_t)group); }

/* The record of the dirty chunks (vfs_mem.h): its length, the malloc'd bytes at *pOut
** (free with free()), or -1 when out of memory. */
EMSCRIPTEN_KEEPALIVE int sc_vfs_encode(vfs_mem_image *image, unsigned char **pOut) {
  size_t length = 0;
  if (vfs_mem_image_encode(image, pOut, &length) != SQLITE_OK) return -1;
  return (int)length;
}

/* ---------------------------------------------------------------- normalizeTime */

/* normalizeTime for the glue without JSON on either side (sc_normalize_time parses its
** value as JSON and prints its answer as JSON, which was most of a call's time): the
** string text of length bytes (UTF-8, NUL-terminated, no NUL inside), or the number value
** when text is NULL; on SC_OK the 24 characters of the answer at out (25 bytes), else the
** message at err (160 bytes). */
EMSCRIPTEN_KEEPALIVE int sc_normalize_time_raw(const char *text, int length, double value, int assume_offset_minutes,
                                               char *out, char *err) {
  int64_t ms = 0;
  err[0] = 0;
  int rc = !text ? sc_time_from_number(value, &ms, err, 160)
    : length < 0 || strlen(text) != (size_t)length ? time_fail(err, 160, "a time must not contain the character U+0000")
    : sc_time_parse(text, assume_offset_minutes, &ms, err, 160);
  if (rc == SC_OK) rc = sc_time_format(ms, out);
  else if (!err[0]) snprintf(err, 160, "invalid time");
  return rc;
}

/* ---------------------------------------------------------------- raw SQL */

/* Open a connection on the image called name. *ppDb is set also on failure (close it).
** Returns an SQLite result code. */
EMSCRIPTEN_KEEPALIVE int sc_sql_open(const char *name, sqlite3 **ppDb) {
  int rc = sqlite3_open_v2(name, ppDb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, VFS_MEM_NAME);
  if (rc == SQLITE_OK) sqlite3_busy_timeout(*ppDb, 0);
  return rc;
}

static cJSON *row_to_json(sqlite3_stmt *stmt) {
  cJSON *row = cJSON_CreateArray();
  int i, n = sqlite3_column_count(stmt);
  for (i = 0; row && i < n; i++) {
    cJSON *cell;
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER: case SQLITE_FLOAT: cell = cJSON_CreateNumber(sqlite3_column_double(stmt, i)); break;
      case SQLITE_NULL: cell = cJSON_CreateNull(); break;
      default: cell = cJSON_CreateString((const char *)sqlite3_column_text(stmt, i)); break;
    }
    if (!cell) { cJSON_Delete(row); return NULL; }
    cJSON_AddItemToArray(row, cell);
  }
  return row;
}

/* Run every statement of sql; *pzOut (free with free()) is the JSON array of the rows
** of the last statement that returned rows, or the error message when rc != SQLITE_OK. */
EMSCRIPTEN_KEEPALIVE int sc_sql_exec(sqlite3 *db, const char *sql, char **pzOut) {
  sqlite3_stmt *stmt = NULL;
  cJSON *rows = cJSON_CreateArray(), *stmt_rows = NULL;
  int rc = rows ? SQLITE_OK : SQLITE_NOMEM;
  *pzOut = NULL;
  while (rc == SQLITE_OK && sql && *sql) {
    rc = sqlite3_prepare_v2(db, sql, -1, &stmt, &sql);
    if (rc != SQLITE_OK || !stmt) break;
    if ((stmt_rows = cJSON_CreateArray()) == NULL) { rc = SQLITE_NOMEM; goto fail; }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      cJSON *row = row_to_json(stmt);
      if (!row) { rc = SQLITE_NOMEM; goto fail; }
      cJSON_AddItemToArray(stmt_rows, row);
    }
    if (rc != SQLITE_DONE) goto fail;
    rc = sqlite3_finalize(stmt);
    stmt = NULL;
    if (cJSON_GetArraySize(stmt_rows) > 0) { cJSON_Delete(rows); rows = stmt_rows; }
    else cJSON_Delete(stmt_rows);
    stmt_rows = NULL;
  }
  if (rc != SQLITE_OK) goto fail;
  {
    char *text = cJSON_PrintUnformatted(rows);   /* cJSON's allocator; the caller frees with free() */
    size_t n = text ? strlen(text) + 1 : 0;
    if (text && (*pzOut = malloc(n)) != NULL) memcpy(*pzOut, text, n);
    cJSON_free(text);
  }
  cJSON_Delete(rows);
  return *pzOut ? SQLITE_OK : SQLITE_NOMEM;
fail:
  {
    const char *msg = sqlite3_errmsg(db);
    size_t n = strlen(msg) + 1;
    sqlite3_finalize(stmt);
    cJSON_Delete(stmt_rows);
    cJSON_Delete(rows);
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_ERROR;
    if ((*pzOut = malloc(n)) != NULL) memcpy(*pzOut, msg, n);
    return rc;
  }
}

EMSCRIPTEN_KEEPALIVE int sc_sql_close(sqlite3 *db) { return sqlite3_close(db); }
