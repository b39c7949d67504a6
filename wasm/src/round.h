/*
** round.h — the sync round as a step machine the host drives (round.c).
*/
#ifndef SC_ROUND_H
#define SC_ROUND_H

#include "store.h"

/* syncStep: input exactly one of {start: {force?, batchSize?, pullLimit?}},
** {answer: {status: 200, body} | {status, retryAfter?, error?}}, {end: {error?}}.
** Output {request, result, progress, changed, newConflicts}: request is the next one
** to make ({kind: 'pull', method, path, query: {cursor, limit}} or {kind: 'push',
** method, path, body}) or null with result {pulled, pushed, conflicts, failed, error?}
** when the round is over. Runs in the caller's write transaction. */
int round_step(sc_store *st, const cJSON *in, cJSON **pOut);

#endif /* SC_ROUND_H */
