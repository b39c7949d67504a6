/*
** outbox.h — the queue of local operations waiting for the server (see outbox.c for
** its invariants and state machine).
*/
#ifndef SC_OUTBOX_H
#define SC_OUTBOX_H

#include "store.h"

typedef struct sc_op {
  int64_t seq;
  char *op_id, *coll, *record_id, *kind, *status;
  int64_t attempts;
  int sent;
  cJSON *payload;          /* the op as sent (sent == 1), else NULL */
} sc_op;

void outbox_op_free(sc_op *op);

/* A local write to rec (already saved, rec->deleted for a delete) in collection c:
** fold it into the record's unsent op or queue a new one (outbox.c invariants 2–4).
** A delete of a record never pushed queues nothing; its row stays as the tombstone.
** SC_OK or SC_ESTORAGE/SC_ENOMEM. */
int outbox_note_write(sc_store *st, const sc_coll *c, const sc_rec *rec);

/* Load the op with op_id into *op; SC_ENOTFOUND when absent (no message set). */
int outbox_find(sc_store *st, const char *op_id, sc_op *op);

/* Acknowledge (remove) the op. */
int outbox_ack(sc_store *st, const char *op_id);

/* Remove every op of (coll, id) (the local change lost or was dropped). */
int outbox_drop_record(sc_store *st, const char *coll, const char *id);

/* After a merge kept (part of) the local change of (coll, id): keep one op, the oldest
** (its op_id is kept when reuse_id, i.e. the server surely did not apply it; else a fresh
** one), make it unsent with kind and status ("pending" or "held"), attempts 0, and
** remove the record's other ops. Creates the op when the record had none. */
int outbox_rebase(sc_store *st, const char *coll, const char *id, const char *kind, const char *status, int reuse_id);

/* Set the status of every op of (coll, id) that is not inflight (used by resolve). */
int outbox_set_record_status(sc_store *st, const char *coll, const char *id, const char *status);

/* pushRequest: *pOut = {body, opIds, total}. force takes ops waiting out a backoff;
** in_doubt takes only ops sent before and not answered (invariant 8), backoff or not. */
int outbox_push_request(sc_store *st, int force, int in_doubt, int64_t limit, cJSON **pOut);

/* pushFailure of the whole inflight batch; *pFailed = ops that became failed/rejected. */
int outbox_push_failure(sc_store *st, int64_t status, double retry_after_s, const char *error, int64_t *pFailed);

/* Ops still inflight after a push answer that did not mention them go back to pending. */
int outbox_requeue_inflight(sc_store *st);

/* *pN = ops in doubt (invariant 8: sent, unanswered, pending again). */
int outbox_count_in_doubt(sc_store *st, int64_t *pN);

/* outbox(): {ops:[…]} oldest first. */
int outbox_list(sc_store *st, cJSON **pOut);
/* retryFailed(): failed and rejected ops become pending again; *pN how many. */
int outbox_retry_failed(sc_store *st, int64_t *pN);
/* discard(op_id): only failed/rejected ops; the record returns to its last server
** version (or disappears if never on the server). changed gets the record. */
int outbox_discard(sc_store *st, const char *op_id, cJSON *changed);
/* Counts for status(): pending = pending+inflight+held, failed = failed+rejected. */
int outbox_counts(sc_store *st, int64_t *pPending, int64_t *pFailed);
/* nextWakeAt: earliest next_attempt_at of a pending op (ms), *pHas 0 when none. */
int outbox_next_wake(sc_store *st, int64_t *pAt, int *pHas);

#endif /* SC_OUTBOX_H */
