/*
** syncore.h — the one public C header of the syncore core.
**
** The core keeps an offline-first store in SQLite: records (kept clean of sync
** metadata), the outbox, conflicts, the archive, cursors and the device identity.
** It decides everything about merging and retrying, but performs no I/O besides
** SQLite: the host (js-glue in the browser, the simulation in tests) moves the
** JSON bodies it produces to the server and hands the answers back.
**
** Every call is JSON text in, JSON text out (docs/CORE_API.md lists the methods and
** their shapes); only the opaque sc_store handle crosses the boundary as a pointer.
** Error codes reach JS through sc_constants_json(); JS hard-codes none.
*/
#ifndef SYNCORE_H
#define SYNCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes: the C name, the value and the JS `code` string, listed once here
** (SC_CODES); util.c builds sc_code_name() and sc_constants_json() from this list, and
** JS reads the names through sc_constants_json() (JS hard-codes none). */
#define SC_CODES(X) X(SC_OK, 0, "SC_OK") SC_ERROR_CODES(X)
#define SC_ERROR_CODES(X)                                                               \
  X(SC_EBADINPUT,    1, "SC_BAD_INPUT")          /* malformed or invalid input from the app    */ \
  X(SC_EUNKNOWNCOLL, 2, "SC_UNKNOWN_COLLECTION") /* collection not in the store's configuration */ \
  X(SC_EREADONLY,    3, "SC_READ_ONLY")          /* write to a readOnly collection              */ \
  X(SC_ENOTFOUND,    4, "SC_NOT_FOUND")          /* record, conflict or op does not exist       */ \
  X(SC_ESTORAGE,     5, "SC_STORAGE")            /* SQLite / persistence failure                */ \
  X(SC_ECLOSED,      6, "SC_CLOSED")             /* store already closed                        */ \
  X(SC_ENOMEM,       7, "SC_NO_MEMORY")          /* allocation failed                           */ \
  X(SC_EPROTOCOL,    8, "SC_PROTOCOL")           /* server answer of the wrong shape            */ \
  X(SC_EINTERNAL,    9, "SC_INTERNAL")           /* a bug: an invariant did not hold            */

#define SC_CODE_ENUM(name, value, js) name = value,
enum sc_code { SC_CODES(SC_CODE_ENUM) };
#undef SC_CODE_ENUM

typedef struct sc_store sc_store;

/* Host hooks. Both are optional; the defaults read the real clock and the OS
** entropy source. The simulation installs deterministic ones. */
typedef struct sc_hooks {
  int64_t (*now_ms)(void *ctx);                       /* wall clock, ms since epoch */
  void (*random_bytes)(void *ctx, unsigned char *buf, size_t n);
  void *ctx;
} sc_hooks;

/* One allocator pair for everything the core hands out (also cJSON's hooks). */
void *sc_malloc(size_t n);
void sc_free(void *p);

/* Open (creating if needed) the store described by config_json (docs/CORE_API.md
** "open"). hooks may be NULL. On success *ppStore is the handle; on failure it is
** NULL and *pzErr (if pzErr is not NULL) holds a message the caller frees with
** sc_free. Returns an SC_ code. */
int sc_open(const char *config_json, const sc_hooks *hooks, sc_store **ppStore, char **pzErr);

/* Run one API method (docs/CORE_API.md). input_json may be NULL for "{}".
** On SC_OK *pzOut is the JSON result, owned by the caller (sc_free). On failure
** *pzOut is NULL and sc_errmsg(store) says what was wrong. A failing call changes
** nothing stored. */
int sc_call(sc_store *store, const char *method, const char *input_json, char **pzOut);

/* sc_call with the server's answer body apart: body_text (the bytes the transport
** received, not escaped into input_json) becomes input.answer.body, parsed — or kept as a
** string when it is not JSON, for the method to refuse as it refuses any unparsable answer.
** Without input.answer (an object) body_text is ignored. Saves escaping and unescaping a
** pulled page of hundreds of KB. */
int sc_call_with_body(sc_store *store, const char *method, const char *input_json, const char *body_text,
                      char **pzOut);

/* The message of the last failing call on this store; valid until the next call. */
const char *sc_errmsg(const sc_store *store);

/* Close the store and free the handle. NULL is a no-op. Returns an SC_ code. */
int sc_close(sc_store *store);

/* normalizeTime without a store: value_json is a JSON string or number.
** On SC_OK *pzOut is a JSON string "YYYY-MM-DDTHH:MM:SS.mmmZ"; else *pzErr. */
int sc_normalize_time(const char *value_json, int assume_offset_minutes, char **pzOut, char **pzErr);

/* {"SC_OK":0,"SC_BAD_INPUT":1,…} — static, not to be freed. */
const char *sc_constants_json(void);

/* {"put":true,"get":false,…}: every method sc_call knows, true when it may write (the
** host takes the store's write lock for those; the others read). Static. */
const char *sc_methods_json(void);

/* The JS name of a code ("SC_BAD_INPUT"). Static. */
const char *sc_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* SYNCORE_H */
