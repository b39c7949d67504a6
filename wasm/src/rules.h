/*
** rules.h — the limits, names and formats both hosts check, in one place: the core
** (wasm/src) and the server (server/) link the same object, so a rule the client
** enforces is the rule the server enforces (docs/PROTOCOL.md §3).
**
** The HLC text and the device id rule are hlc.h's; the time text is time.h's.
*/
#ifndef SC_RULES_H
#define SC_RULES_H

#include <stddef.h>

#define SC_COLL_NAME_MAX  64    /* collection names: [A-Za-z0-9_]{1,64}          */
#define SC_FIELD_NAME_MAX 128   /* field names: [A-Za-z0-9_$-]{1,128}            */
#define SC_ID_MAX         128   /* record ids: 1..128 characters (the server's default --max-id) */
#define SC_OP_ID_MAX      128   /* op ids: 1..128 characters                      */

/* How far ahead of the server's clock an op's updated_at / hlc may be: the server's
** default (--future-tolerance); every push and pull answer carries the server's own
** value as future_tolerance_ms, which the client keeps. */
#define SC_FUTURE_TOLERANCE_MS 300000

/* True when s is a collection name: [A-Za-z0-9_]{1,64}. */
int sc_coll_name_valid(const char *s);

/* True when s is a field name: [A-Za-z0-9_$-]{1,128}. */
int sc_field_name_valid(const char *s);

/* True when s is a record id of 1..max characters (max ≤ 0: SC_ID_MAX). */
int sc_record_id_valid(const char *s, int max);

#endif /* SC_RULES_H */
