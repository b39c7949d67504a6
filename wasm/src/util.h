/*
** util.h — small helpers every core module shares: the allocator pair installed
** into cJSON, owned strings, JSON accessors that say what is wrong with an input,
** UUIDs from the host's randomness hook, and ISO time text. Nothing here touches
** SQLite or a store's tables; store.h builds on it.
*/
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "syncore.h"
#include "cJSON.h"

/* Install sc_malloc/sc_free into cJSON. Idempotent; every entry point calls it. */
void util_init(void);

/* Copy of s (NULL → NULL), owned by the caller (sc_free). */
char *util_strdup(const char *s);

/* printf into a fresh string owned by the caller (sc_free); NULL on no memory. */
char *util_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The compact JSON text of item (NULL → "null"), owned by the caller (sc_free). */
char *util_json_text(const cJSON *item);

/* Parse text as JSON (NULL or "" → NULL). Returns NULL on a syntax error. */
cJSON *util_json_parse(const char *text);

/* The first text of names[n] that occurs twice (names is sorted in place), or NULL. */
const char *util_first_repeat(const char **names, size_t n);

/* The first object key in node's tree that its object holds twice (cJSON keeps both,
** the first wins on lookup; JSON.parse keeps the last: the two would disagree). Sets
** *pKey to it (NULL when every object's keys are distinct) and writes where it is,
** as a path from node ("changes[2].data"), into path[n]. SC_OK or SC_ENOMEM.
** This is the one repeated-key rule of both hosts: the server links util.o for it. */
int util_json_repeated_key(const cJSON *node, const char **pKey, char *path, size_t n);
/* The same for obj's own keys only (not its children's); *pKey NULL unless obj is an
** object holding a key twice. SC_OK or SC_ENOMEM. */
int util_json_repeated_key_here(const cJSON *obj, const char **pKey);

/* Structural equality (key order ignored); NULL equals NULL and JSON null. */
int util_json_equal(const cJSON *a, const cJSON *b);

/* Typed, optional object members. Each returns SC_OK (absent or null → the default
** left in *pOut), or SC_EBADINPUT with a message "<what>.<key> must be …" in
** zErr[nErr]. */
int util_get_string(const cJSON *obj, const char *key, const char **pOut, char *zErr, size_t nErr);
int util_get_int(const cJSON *obj, const char *key, int64_t *pOut, char *zErr, size_t nErr);
int util_get_bool(const cJSON *obj, const char *key, int *pOut, char *zErr, size_t nErr);
/* An object or array member (type_mask cJSON_Object|cJSON_Array); absent/null → NULL. */
int util_get_node(const cJSON *obj, const char *key, int type_mask, const cJSON **pOut, char *zErr, size_t nErr);

/* True when d holds an integral value representable exactly in int64. */
int util_is_integral(double d);

/* A fresh v4 UUID from the hooks' randomness into out[37]. */
void util_uuid(const sc_hooks *hooks, char out[37]);

/* ms → "YYYY-MM-DDTHH:MM:SS.mmmZ" into out[SC_TIME_TEXT_LEN+1]; out-of-range
** values are clamped to the representable years. */
void util_iso(int64_t ms, char out[25]);

/* A JSON node for an optional time: the ISO string of ms when has_value, else null. */
cJSON *util_iso_node(int64_t ms, int has_value);

/* Numbers without libc's long-double paths (the wasm build's printf and scanf emulate
** 128-bit floats in software: a tenth of a pull of decimal-rich records). Each handles the
** common case exactly and returns 0 for the rest, which the caller hands to libc.
** util_parse_double: a JSON number of at most 15 significant digits and a decimal exponent
** within ±22 (Clinger's exact case); returns the characters read.
** util_fmt_double: d as printf's "%1.15g" writes it, for 1e-4 <= |d| < 1e15 when at most
** 15 significant digits read back as d; returns the length written (out: 24 bytes). */
size_t util_parse_double(const char *s, double *out);
size_t util_fmt_double(double d, char *out);

/* The default hooks (real clock, OS entropy). */
int64_t util_default_now(void *ctx);
void util_default_random(void *ctx, unsigned char *buf, size_t n);

#endif /* SC_UTIL_H */
