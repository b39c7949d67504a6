/*
** buf.h — a growable byte buffer for building JSON answers by hand, and UTF-8
** validation. Answers are built as text rather than cJSON trees because pull
** streams stored JSON text through untouched; parsing it back would cost most of
** a pull. An allocation failure marks the buffer failed (appends are dropped,
** buf_take returns NULL): that request fails, never the server.
*/
#ifndef SRV_BUF_H
#define SRV_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_buf {
  char *data;     /* NUL-terminated while len < cap */
  size_t len;
  size_t cap;
  int failed;     /* an allocation failed: the content is incomplete */
} srv_buf;

/* Append n bytes of p. */
void buf_append(srv_buf *b, const char *p, size_t n);
/* Append a NUL-terminated string as is. */
void buf_puts(srv_buf *b, const char *s);
/* Append s as a JSON string literal (quotes, escapes); NULL appends null. */
void buf_json_str(srv_buf *b, const char *s);
/* Append a decimal integer. */
void buf_int(srv_buf *b, int64_t v);
/* printf-style append. */
void buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the text to the caller (free() it) and reset b; NULL when the buffer failed. */
char *buf_take(srv_buf *b);
/* Free the buffer's memory and reset it. */
void buf_free(srv_buf *b);

/* True when s[len] is valid UTF-8. */
int buf_utf8_valid(const char *s, size_t len);
/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid (overlong forms,
** surrogates and code points past U+10FFFF are invalid). */
size_t buf_utf8_seq(const unsigned char *s, size_t n);

#endif /* SRV_BUF_H */
