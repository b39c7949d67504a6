/*
** util.c — the allocator pair (also cJSON's), owned strings, JSON accessors with
** messages naming the bad key, UUIDs, ISO time text, the default host hooks and the
** store-less entry points of syncore.h (sc_constants_json, sc_code_name,
** sc_normalize_time). Parsing of time text itself is time.c's; this file only wraps it.
*/
#include "util.h"
#include "time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

void *sc_malloc(size_t n) { return malloc(n ? n : 1); }
void sc_free(void *p) { free(p); }

void util_init(void) {
  static int done = 0;
  if (!done) {
    cJSON_Hooks hooks = {sc_malloc, sc_free};
    cJSON_InitHooks(&hooks);
    done = 1;
  }
}

char *util_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *out = sc_malloc(n);
  if (out) memcpy(out, s, n);
  return out;
}

char *util_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *out = sc_malloc((size_t)n + 1);
  if (!out) return NULL;
  va_start(ap, fmt);
  vsnprintf(out, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return out;
}

char *util_json_text(const cJSON *item) {
  if (!item) return util_strdup("null");
  return cJSON_PrintUnformatted(item);
}

cJSON *util_json_parse(const char *text) {
  if (!text || !*text) return NULL;
  return cJSON_ParseWithOpts(text, NULL, 1);
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *util_first_repeat(const char **names, size_t n) {
  if (n < 2) return NULL;
  qsort(names, n, sizeof *names, by_text);
  for (size_t i = 1; i < n; i++)
    if (strcmp(names[i - 1], names[i]) == 0) return names[i];
  return NULL;
}

/* Pairwise for the common small object, sorted beyond. */
int util_json_repeated_key_here(const cJSON *obj, const char **pKey) {
  size_t n = 0;
  const cJSON *a, *b;
  *pKey = NULL;
  if (!cJSON_IsObject(obj)) return SC_OK;
  cJSON_ArrayForEach(a, obj) n++;
  if (n <= 16) {
    for (a = obj->child; a; a = a->next)
      for (b = a->next; b; b = b->next)
        if (strcmp(a->string, b->string) == 0) { *pKey = a->string; return SC_OK; }
    return SC_OK;
  }
  const char **names = sc_malloc(sizeof(char *) * n);
  if (!names) return SC_ENOMEM;
  n = 0;
  cJSON_ArrayForEach(a, obj) names[n++] = a->string;
  *pKey = util_first_repeat(names, n);
  sc_free(names);
  return SC_OK;
}

/* The first repeated key under node; with path, where it is (each node's path is printed
** on the way, so the common case — no repeat — walks without one first). */
static int repeated_key_walk(const cJSON *node, const char **pKey, char *path, size_t n) {
  size_t len = path ? strlen(path) : 0;
  int rc = SC_OK, i = 0;
  *pKey = NULL;
  if (cJSON_IsObject(node) && (rc = util_json_repeated_key_here(node, pKey)) != SC_OK) return rc;
  if (*pKey || !(cJSON_IsObject(node) || cJSON_IsArray(node))) return SC_OK;
  for (const cJSON *c = node->child; c && rc == SC_OK && !*pKey; c = c->next, i++) {
    if (path && cJSON_IsObject(node)) snprintf(path + len, n - len, "%s%.64s", len ? "." : "", c->string);
    else if (path) snprintf(path + len, n - len, "[%d]", i);
    rc = repeated_key_walk(c, pKey, path, n);
    if (path && !*pKey) path[len] = 0;   /* keep the path only to the repeat */
  }
  return rc;
}

/* A pass without paths first; only a document with a repeat is walked again to name where
** (printing every node's path was a tenth of a pulled page's time). */
int util_json_repeated_key(const cJSON *node, const char **pKey, char *path, size_t n) {
  int rc = repeated_key_walk(node, pKey, NULL, 0);
  if (rc != SC_OK || !*pKey) return rc;
  return repeated_key_walk(node, pKey, path, n);
}

int util_json_equal(const cJSON *a, const cJSON *b) {
  int a_null = !a || cJSON_IsNull(a), b_null = !b || cJSON_IsNull(b);
  if (a_null || b_null) return a_null && b_null;
  return cJSON_Compare(a, b, 1) ? 1 : 0;
}

int util_get_string(const cJSON *obj, const char *key, const char **pOut, char *zErr, size_t nErr) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it || cJSON_IsNull(it)) return SC_OK;
  if (!cJSON_IsString(it)) {
    snprintf(zErr, nErr, "'%s' must be a string", key);
    return SC_EBADINPUT;
  }
  *pOut = it->valuestring;
  return SC_OK;
}

int util_is_integral(double d) {
  return isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
}

int util_get_int(const cJSON *obj, const char *key, int64_t *pOut, char *zErr, size_t nErr) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it || cJSON_IsNull(it)) return SC_OK;
  if (!cJSON_IsNumber(it) || !util_is_integral(it->valuedouble)) {
    snprintf(zErr, nErr, "'%s' must be an integer", key);
    return SC_EBADINPUT;
  }
  *pOut = (int64_t)it->valuedouble;
  return SC_OK;
}

int util_get_bool(const cJSON *obj, const char *key, int *pOut, char *zErr, size_t nErr) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!it || cJSON_IsNull(it)) return SC_OK;
  if (!cJSON_IsBool(it)) {
    snprintf(zErr, nErr, "'%s' must be true or false", key);
    return SC_EBADINPUT;
  }
  *pOut = cJSON_IsTrue(it) ? 1 : 0;
  return SC_OK;
}

int util_get_node(const cJSON *obj, const char *key, int type_mask, const cJSON **pOut, char *zErr, size_t nErr) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
  *pOut = NULL;
  if (!it || cJSON_IsNull(it)) return SC_OK;
  if (!(it->type & type_mask)) {
    snprintf(zErr, nErr, "'%s' must be %s", key,
             type_mask == cJSON_Object ? "an object" : type_mask == cJSON_Array ? "an array" : "an object or array");
    return SC_EBADINPUT;
  }
  *pOut = it;
  return SC_OK;
}

void util_uuid(const sc_hooks *hooks, char out[37]) {
  unsigned char b[16];
  static const char hex[] = "0123456789abcdef";
  hooks->random_bytes(hooks->ctx, b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = 0;
}

void util_iso(int64_t ms, char out[25]) {
  const int64_t lo = -62135596800000LL, hi = 253402300799999LL; /* 0001-01-01 .. 9999-12-31 */
  if (ms < lo) ms = lo;
  if (ms > hi) ms = hi;
  if (sc_time_format(ms, out) != SC_OK) strcpy(out, "1970-01-01T00:00:00.000Z");
}

cJSON *util_iso_node(int64_t ms, int has_value) {
  char buf[32];
  if (!has_value) return cJSON_CreateNull();
  util_iso(ms, buf);
  return cJSON_CreateString(buf);
}

int64_t util_default_now(void *ctx) {
  (void)ctx;
  /* gettimeofday: <time.h> is shadowed by wasm/src/time.h on the include path. */
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void util_default_random(void *ctx, unsigned char *buf, size_t n) {
  (void)ctx;
  while (n > 0) {
    size_t chunk = n > 256 ? 256 : n;
    if (getentropy(buf, chunk) != 0) {
      /* No entropy source: fall back to a clock-seeded generator rather than fail. */
      static uint64_t x = 0;
      if (!x) x = (uint64_t)util_default_now(NULL) | 1;
      for (size_t i = 0; i < chunk; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        buf[i] = (unsigned char)x;
      }
    }
    buf += chunk;
    n -= chunk;
  }
}

static const double pow10_exact[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

size_t util_parse_double(const char *s, double *out) {
  const char *p = s;
  uint64_t m = 0;
  int neg = 0, digits = 0, frac = 0, any = 0, e10 = 0;
  if (*p == '-') { neg = 1; p++; }
  for (; *p >= '0' && *p <= '9'; p++) {
    any = 1;
    if (m == 0 && *p == '0') continue;          /* leading zeros carry nothing */
    if (++digits > 15) return 0;
    m = m * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, frac++) {
      any = 1;
      if (m == 0 && *p == '0') continue;
      if (++digits > 15) return 0;
      m = m * 10 + (uint64_t)(*p - '0');
    }
  }
  if (!any) return 0;
  if (*p == 'e' || *p == 'E') {
    int eneg = 0, n = 0;
    p++;
    if (*p == '+' || *p == '-') eneg = *p++ == '-';
    if (*p < '0' || *p > '9') return 0;
    for (; *p >= '0' && *p <= '9'; p++) if (++n > 4) return 0; else e10 = e10 * 10 + (*p - '0');
    if (eneg) e10 = -e10;
  }
  e10 -= frac;
  double v = (double)m;                           /* exact: m < 10^15 < 2^53 */
  if (m != 0) {
    if (e10 < -22 || e10 > 22) return 0;
    v = e10 >= 0 ? v * pow10_exact[e10] : v / pow10_exact[-e10];   /* one correctly rounded step */
  }
  *out = neg ? -v : v;
  return (size_t)(p - s);
}

size_t util_fmt_double(double d, char *out) {
  double a = d < 0 ? -d : d;
  if (!(a >= 1e-4 && a < 1e15)) return 0;         /* also NaN; printf's exponent forms */
  int intdigits = 1;
  while (intdigits < 15 && a >= pow10_exact[intdigits]) intdigits++;
  for (int k = 0; intdigits + k <= 15 + (a < 1 ? 4 : 0); k++) {
    double scaled = a * pow10_exact[k];
    if (scaled >= 9007199254740992.0) return 0;
    uint64_t m = (uint64_t)(scaled + 0.5);
    if ((double)m / pow10_exact[k] != a) continue;   /* m·10^-k does not read back as a */
    char digits[24];
    int n = 0;
    for (uint64_t t = m; t; t /= 10) digits[n++] = (char)('0' + t % 10);
    if (n > 15) return 0;                           /* more than %1.15g would write */
    size_t o = 0;
    if (d < 0) out[o++] = '-';
    if (n <= k) {                                   /* 0.000ddd */
      out[o++] = '0';
      out[o++] = '.';
      for (int z = 0; z < k - n; z++) out[o++] = '0';
      while (n) out[o++] = digits[--n];
    } else {
      for (int i = n; i > 0; i--) {
        if (i == k) out[o++] = '.';
        out[o++] = digits[i - 1];
      }
    }
    out[o] = 0;
    return o;
  }
  return 0;
}

#define CODE_NAME(name, value, js) [value] = js,
static const char *const code_names[] = {SC_CODES(CODE_NAME)};
#undef CODE_NAME

const char *sc_constants_json(void) {
#define CODE_JSON(name, value, js) ",\"" js "\":" #value
  static const char json[] = "{\"SC_OK\":0" SC_ERROR_CODES(CODE_JSON) "}";
#undef CODE_JSON
  return json;
}

const char *sc_code_name(int code) {
  if (code < 0 || code > SC_EINTERNAL) return "SC_INTERNAL";
  return code_names[code];
}

int sc_normalize_time(const char *value_json, int assume_offset_minutes, char **pzOut, char **pzErr) {
  char err[160] = "";
  char text[32];
  int64_t ms = 0;
  int rc = SC_EBADINPUT;
  util_init();
  *pzOut = NULL;
  if (pzErr) *pzErr = NULL;
  cJSON *value = util_json_parse(value_json);
  if (!value) {
    snprintf(err, sizeof err, "value is not valid JSON");
  } else if (cJSON_IsString(value)) {
    rc = sc_time_parse(value->valuestring, assume_offset_minutes, &ms, err, sizeof err);
  } else if (cJSON_IsNumber(value)) {
    rc = sc_time_from_number(value->valuedouble, &ms, err, sizeof err);
  } else {
    snprintf(err, sizeof err, "a time must be a string or a number of epoch milliseconds");
  }
  if (rc == SC_OK) rc = sc_time_format(ms, text);
  if (rc == SC_OK) {
    *pzOut = util_printf("\"%s\"", text);
    if (!*pzOut) rc = SC_ENOMEM;
  } else if (pzErr) {
    *pzErr = util_strdup(err[0] ? err : "invalid time");
  }
  cJSON_Delete(value);
  return rc;
}
