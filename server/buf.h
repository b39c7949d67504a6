/*
** buf.h — a growable byte buffer for building JSON answers by hand, and the
** input checks the server runs before handing a body to cJSON (UTF-8, nesting
** depth, NUL escapes). Answers are built as text rather than cJSON trees because
** pull streams stored JSON text through untouched; parsing it back would cost
** most of a pull. Allocation failure aborts the process (a server that cannot
** allocate a few KB cannot answer anything useful).
*/
#ifndef SRV_BUF_H
#define SRV_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_buf {
  char *data;     /* NUL-terminated while len < cap */
  size_t len;
  size_t cap;
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
/* Hand the text to the caller (free() it) and reset b. Never NULL. */
char *buf_take(srv_buf *b);
/* Free the buffer's memory and reset it. */
void buf_free(srv_buf *b);

/* Checks a request body before parsing: valid UTF-8, no NUL byte, no \u0000
** escape, nesting of arrays/objects at most max_depth. Returns 0 when fine, else
** -1 with a message in zErr[nErr]. */
int buf_check_json_text(const char *text, size_t len, int max_depth, char *zErr, size_t nErr);

/* True when s (NUL-terminated) is valid UTF-8. */
int buf_utf8_valid(const char *s, size_t len);

#endif /* SRV_BUF_H */
