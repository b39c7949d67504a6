/*
** sync.h — the protocol's decisions for POST /sync/push and GET /sync/pull:
** body and field validation, optimistic version checks, idempotency by op_id,
** server-assigned ids, derived fields, cursors and the 410 horizon. Storage is
** db.h's; HTTP (auth, limits on the raw body, status lines, logging) is http.c's.
** Must match docs/PROTOCOL.md and the client core's pushResponse/pullResponse.
*/
#ifndef SRV_SYNC_H
#define SRV_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

/* Outcome of a protocol call: the HTTP status and the JSON body (caller frees). */
typedef struct sync_reply {
  int status;        /* 200, 400, 410, 413, 500, 503 */
  char *body;        /* JSON text, always set */
  int changed;       /* push: at least one op applied (poke the partition's streams) */
  int ops;           /* push: ops in the body (for the log) */
  int applied;       /* push: ops applied */
  int batch;         /* push: pushes in the first transaction tried for it (db_batch_*), itself included */
  int retried;       /* push: that transaction failed, it was answered by a transaction of its own */
} sync_reply;

/* POST /sync/push for partition with body[len] (len bytes, body[len] == 0).
** Always fills *out; never fails otherwise. */
void sync_push(const srv_config *cfg, db_pool *pool, const char *partition, const char *body,
               size_t len, int64_t now_ms, sync_reply *out);

/* GET /sync/pull: cursor and limit are the query values as decoded (NULL when
** absent) and their lengths (a decoded %00 makes strlen shorter: refused). A page
** stops at --max-page-bytes; has_more carries on. */
void sync_pull(const srv_config *cfg, db_pool *pool, const char *partition, const char *cursor,
               size_t cursor_len, const char *limit, size_t limit_len, int64_t now_ms,
               sync_reply *out);

/* {"error": message} as a reply with status. */
void sync_error_reply(sync_reply *out, int status, const char *message);

/* Zero c and set the limits the push/pull rules read to the server's defaults (the
** flags main.c parses override them); the in-process server of the tests uses the same. */
void sync_config_defaults(srv_config *c);

/* Milliseconds since the epoch from the real clock. */
int64_t sync_now_ms(void);

#endif /* SRV_SYNC_H */
