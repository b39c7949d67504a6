/*
** rules.c — see rules.h.
*/
#include "rules.h"

#include <string.h>

static int name_chars_ok(const char *s, size_t max, int allow_dash) {
  size_t n = 0;
  if (!s || !*s) return 0;
  for (; s[n]; n++) {
    char ch = s[n];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
             (allow_dash && (ch == '-' || ch == '$'));
    if (!ok || n >= max) return 0;
  }
  return 1;
}

int sc_coll_name_valid(const char *s) { return name_chars_ok(s, SC_COLL_NAME_MAX, 0); }

int sc_field_name_valid(const char *s) { return name_chars_ok(s, SC_FIELD_NAME_MAX, 1); }

int sc_record_id_valid(const char *s, int max) {
  size_t n = s ? strlen(s) : 0;
  return n > 0 && n <= (size_t)(max > 0 ? max : SC_ID_MAX);
}
