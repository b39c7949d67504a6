/*
** srv_inproc.h — the reference server's own push/pull rules (server/sync.c over
** server/db_sqlite.c), run in-process on an in-heap SQLite database (vfs_mem), for
** the simulation (tests/sim/sim.c) and the unit tests (tests/c/sc_testkit.h). No
** copy of the rules: every answer is sync_push's / sync_pull's. Around them it only
** keeps a ledger for judges — every op the server committed (read from the storage
** calls, through a recording wrapper of the SQLite backend), the tmp_ → real id
** mapping and the creates per tmp_ id — which a real server does not keep.
** One partition ("u:sim"); single-threaded.
*/
#ifndef SRV_INPROC_H
#define SRV_INPROC_H

#include <stddef.h>
#include <stdint.h>
#include "cJSON.h"

/* One write the server committed, as stored. */
typedef struct srv_hist {
  char *collection, *id;
  char *data;            /* JSON text; NULL for a tombstone */
  char *hlc, *device_id, *updated_at;
  char *op_id;
  int64_t version, seq;
} srv_hist;

typedef struct srv_inproc srv_inproc;

/* A new empty server. name: the in-heap database's name (unique per live server).
** server_ids: comma list of --server-ids collections (may be NULL); derive: one
** --derive rule "coll.field=src.field@ref" (may be NULL); rnd: the bytes of
** server-assigned ids (NULL = OpenSSL's). Aborts with a message on failure. */
srv_inproc *srv_inproc_new(const char *name, const char *server_ids, const char *derive,
                           void (*rnd)(void *ctx, unsigned char *buf, size_t n), void *rnd_ctx);
void srv_inproc_free(srv_inproc *s);

/* POST /sync/push and GET /sync/pull at server time now_ms: the HTTP status and
** the body (malloc'd; free()). cursor NULL = absent; limit <= 0 = absent. */
int srv_inproc_push(srv_inproc *s, const char *body, int64_t now_ms, char **pzBody);
int srv_inproc_pull(srv_inproc *s, const char *cursor, int limit, int64_t now_ms, char **pzBody);

/* The retention purge (server/main.c's): tombstones changed before horizon_ms go, op
** results created before op_horizon_ms (the server keeps them 3× as long by default). */
void srv_inproc_purge(srv_inproc *s, int64_t horizon_ms, int64_t op_horizon_ms);

/* Everything committed, in commit order. */
size_t srv_inproc_history(const srv_inproc *s, const srv_hist **pRows);
/* The partition's seq (the last committed change). */
int64_t srv_inproc_seq(const srv_inproc *s);

/* The stored state as the server's full pull answers it: {collection: {id: change}}
** with each change object as pulled (tombstones included). Caller deletes. */
cJSON *srv_inproc_state(srv_inproc *s, int64_t now_ms);
/* The live records of one collection, {id: data}. Caller deletes. */
cJSON *srv_inproc_live(srv_inproc *s, const char *collection, int64_t now_ms);

/* The real id the server gave tmp_id (from the push answers), or NULL. */
const char *srv_inproc_real_id(const srv_inproc *s, const char *tmp_id);
/* op_ids committed more than once, and tmp_ ids that produced more than one record. */
int srv_inproc_duplicate_applications(const srv_inproc *s);
int srv_inproc_duplicate_creates(const srv_inproc *s);

#endif /* SRV_INPROC_H */
