/*
** json_guard.h — what a request's JSON must pass before and after cJSON sees it.
** Before: one scan over the raw text checks UTF-8, NUL bytes and \u0000 escapes,
** nesting depth, an upper bound on the number of values (a cJSON node costs ~64
** bytes, so a body of `0,0,0,…` would grow ~40× as a tree), and, when asked, that
** the top level is an object holding only the expected keys — a body of the wrong
** shape is refused without building anything. After: duplicate keys anywhere in
** an object tree (cJSON keeps the first, JSON.parse the last: the two must never
** be allowed to disagree about what was sent) — the core's rule
** (util_json_repeated_key in wasm/src/util.c), which the server links.
*/
#ifndef SRV_JSON_GUARD_H
#define SRV_JSON_GUARD_H

#include <cJSON.h>
#include <stddef.h>

typedef struct json_limits {
  int max_depth;             /* arrays/objects nested at most this deep */
  size_t max_nodes;          /* values (cJSON nodes) at most this many */
  const char *const *keys;   /* NULL, or a NULL-ended list: the top level must be an
                             ** object whose keys are all in it */
} json_limits;

enum { JSON_OK = 0, JSON_BAD = 400, JSON_TOO_BIG = 413 };

/* Scan text[len]. Returns JSON_OK, or JSON_BAD / JSON_TOO_BIG (the HTTP status it
** deserves) with a message in zErr[nErr]. */
int json_scan(const char *text, size_t len, const json_limits *lim, char *zErr, size_t nErr);

/* The first key that appears twice in one object of node's tree, else NULL. */
const char *json_duplicate_key(const cJSON *node);
/* The same for node's own keys only (node an object). */
const char *json_duplicate_key_here(const cJSON *node);

#endif /* SRV_JSON_GUARD_H */
