/*
** sync.h — applying server answers: pull pages, push results, push failures, 410.
** The host moves the bodies (docs/CORE_API.md "Sync methods"); these decide.
*/
#ifndef SC_SYNC_H
#define SC_SYNC_H

#include "store.h"

/* Each takes the method's input object and sets *pOut to its output object (owned by
** the caller) on SC_OK. A server body of the wrong shape is SC_EPROTOCOL with a message
** naming the bad field, and nothing is applied. The caller runs each in a transaction. */
int sync_pull_request(sc_store *st, const cJSON *in, cJSON **pOut);
int sync_pull_response(sc_store *st, const cJSON *in, cJSON **pOut);
int sync_pull_gone(sc_store *st, const cJSON *in, cJSON **pOut);
int sync_push_response(sc_store *st, const cJSON *in, cJSON **pOut);
int sync_push_failure(sc_store *st, const cJSON *in, cJSON **pOut);
/* syncBegin: ops left inflight by a round that never finished go back to pending
** (same op_id, same frozen payload). Output {inDoubt}: ops sent and never answered,
** which the round resends (pushRequest inDoubt) before it pulls (outbox.c invariant 8). */
int sync_begin(sc_store *st, const cJSON *in, cJSON **pOut);
int sync_done(sc_store *st, const cJSON *in, cJSON **pOut);

#endif /* SC_SYNC_H */
