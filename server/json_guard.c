/*
** json_guard.c — the pre-parse scan of json_guard.h, and its duplicate-key check
** as a thin adapter over the core's util_json_repeated_key.
** The scan is not a JSON parser (cJSON is); it tracks only what it must: whether
** it is inside a string, the nesting depth, and at depth 1 of a top-level object
** whether the next string is a key. Values are bounded from above by counting
** containers and separating commas (each value but the first of a container
** follows a comma), which never undercounts whatever the text holds.
*/
#include "json_guard.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Is the raw key text[start, end) one of keys? A key written with escapes never is. */
static int key_allowed(const char *const *keys, const char *k, size_t n) {
  if (memchr(k, '\\', n)) return 0;
  for (; *keys; keys++)
    if (strlen(*keys) == n && memcmp(*keys, k, n) == 0) return 1;
  return 0;
}

static void put_keys(char *zErr, size_t nErr, const char *const *keys, const char *prefix) {
  size_t used = (size_t)snprintf(zErr, nErr, "%s{", prefix);
  for (int i = 0; keys[i] && used < nErr; i++)
    used += (size_t)snprintf(zErr + used, nErr - used, "%s\"%s\"", i ? ", " : "", keys[i]);
  if (used < nErr) snprintf(zErr + used, nErr - used, "}");
}

int json_scan(const char *text, size_t len, const json_limits *lim, char *zErr, size_t nErr) {
  const unsigned char *p = (const unsigned char *)text;
  int depth = 0, in_string = 0, expect_key = 0, top_seen = 0;
  size_t nodes = 1, key_start = 0, i = 0;
  while (i < len) {
    unsigned char c = p[i];
    if (c == 0) { snprintf(zErr, nErr, "body contains a NUL byte at offset %zu", i); return JSON_BAD; }
    if (c >= 0x80) {
      size_t k = buf_utf8_seq(p + i, len - i);
      if (k == 0) { snprintf(zErr, nErr, "body is not valid UTF-8 (offset %zu)", i); return JSON_BAD; }
      i += k;
      continue;
    }
    if (!top_seen && !is_space(c)) {
      top_seen = 1;
      if (lim->keys && c != '{') { put_keys(zErr, nErr, lim->keys, "body must be an object "); return JSON_BAD; }
    }
    if (in_string) {
      if (c == '\\') {
        if (i + 5 < len && p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0) {
          snprintf(zErr, nErr, "strings may not contain \\u0000 (offset %zu)", i);
          return JSON_BAD;
        }
        i += 2;
        continue;
      }
      if (c == '"') {
        in_string = 0;
        if (expect_key) {
          expect_key = 0;
          if (!key_allowed(lim->keys, text + key_start, i - key_start)) {
            put_keys(zErr, nErr, lim->keys, "unexpected key at the top level: the body must be ");
            return JSON_BAD;
          }
        }
      }
    } else if (c == '"') {
      in_string = 1;
      key_start = i + 1;
    } else if (c == '[' || c == '{') {
      if (++depth > lim->max_depth) {
        snprintf(zErr, nErr, "JSON nested deeper than %d levels", lim->max_depth);
        return JSON_BAD;
      }
      nodes++;
      if (lim->keys && depth == 1 && c == '{') expect_key = 1;
    } else if (c == ']' || c == '}') {
      depth--;
      expect_key = 0;
    } else if (c == ',') {
      nodes++;
      if (lim->keys && depth == 1) expect_key = 1;
    }
    if (nodes > lim->max_nodes) {
      snprintf(zErr, nErr, "body holds more than %zu JSON values (--max-nodes)", lim->max_nodes);
      return JSON_TOO_BIG;
    }
    i++;
  }
  return JSON_OK;
}

/* The repeated-key rule is the core's (util.c, which the server links): one rule,
** one source. A scan that runs out of memory counts as a repeat, so the body is refused. */
const char *json_duplicate_key(const cJSON *node) {
  const char *key = NULL;
  char path[1] = "";   /* the server names only the key, not where it sits */
  if (util_json_repeated_key(node, &key, path, sizeof path) != SC_OK) return "(out of memory)";
  return key;
}

const char *json_duplicate_key_here(const cJSON *obj) {
  const char *key = NULL;
  if (util_json_repeated_key_here(obj, &key) != SC_OK) return "(out of memory)";
  return key;
}
