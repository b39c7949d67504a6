/*
** buf.c — growable text buffer with JSON string escaping, and UTF-8 validation.
** A buffer whose growth fails is marked failed: later appends are dropped and
** buf_take hands back NULL, so the request that needed the memory fails (503)
** while the server goes on. (json_guard.c checks request bodies before parsing.)
*/
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 when there is room for extra more bytes (+ NUL); -1 (and b->failed) if not. */
static int buf_reserve(srv_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) { b->failed = 1; return -1; }
  b->data = p;
  b->cap = cap;
  return 0;
}

void buf_append(srv_buf *b, const char *p, size_t n) {
  if (buf_reserve(b, n) != 0) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

void buf_puts(srv_buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_json_str(srv_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  if (!s) { buf_append(b, "null", 4); return; }
  size_t n = strlen(s);
  if (buf_reserve(b, n + 2) != 0) return;
  b->data[b->len++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      if (buf_reserve(b, 1) != 0) return;
      b->data[b->len++] = (char)c;
      continue;
    }
    char esc[7];
    size_t k = 2;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
        k = 6;
    }
    buf_append(b, esc, k);
  }
  if (buf_reserve(b, 1) != 0) return;
  b->data[b->len++] = '"';
  b->data[b->len] = 0;
}

void buf_int(srv_buf *b, int64_t v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  buf_append(b, tmp, (size_t)n);
}

void buf_printf(srv_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n > 0 && buf_reserve(b, (size_t)n) == 0) {
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

char *buf_take(srv_buf *b) {
  if (!b->data && buf_reserve(b, 0) == 0) b->data[0] = 0;
  if (b->failed) { buf_free(b); return NULL; }
  char *p = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void buf_free(srv_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

/* Length of the UTF-8 sequence starting at s (at most n bytes), 0 if invalid.
** Rejects overlong forms, surrogates and code points past U+10FFFF. */
size_t buf_utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

int buf_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    size_t k = buf_utf8_seq(p + i, len - i);
    if (k == 0) return 0;
    i += k;
  }
  return 1;
}
