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
  int batch;         /* push: pushes in the first transaction tried for it (writers.c), itself included */
  int retried;       /* push: that transaction failed, it was answered by a transaction of its own */
} sync_reply;

/* POST /sync/push for partition with body[len] (len bytes, body[len] == 0), applied
** in this thread on a connection of pool. Always fills *out; never fails otherwise.
** It is the three steps below in a row. */
void sync_push(const srv_config *cfg, db_pool *pool, const char *partition, const char *body,
               size_t len, int64_t now_ms, sync_reply *out);

/* A push in three steps, for a host that applies pushes apart from the thread that
** received them, several to one partition in one transaction (writers.c): parse in
** the receiving thread, apply in a writer, answer in the receiving thread again. */
typedef struct sync_push_job sync_push_job;

/* Checks body[len]'s envelope and builds its tree. Returns the job (for
** sync_push_apply, then sync_push_answer, which frees it), or NULL with *out filled
** when the body is refused whole (400, 413; 503 when memory runs out). */
sync_push_job *sync_push_parse(const srv_config *cfg, const char *body, size_t len, int64_t now_ms,
                               sync_reply *out);

/* The ops in job's body: its weight in a batch. */
size_t sync_push_job_ops(const sync_push_job *job);

/* jobs[0..n), all for partition, in one transaction on conn, in order, each with its
** own outcome, as if each had a transaction of its own in that order. When that
** transaction fails it is rolled back and each job runs again in one of its own, so
** a push the database refuses fails alone. Never fails otherwise. */
void sync_push_apply(const srv_config *cfg, const db_backend *be, db_conn *conn, const char *partition,
                     sync_push_job **jobs, size_t n);

/* job's answer (after sync_push_apply) into *out, as sync_push fills it; frees job. */
void sync_push_answer(sync_push_job *job, sync_reply *out);

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
