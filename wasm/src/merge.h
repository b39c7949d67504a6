/*
** merge.h — settling a server change against a record with a local unpushed change,
** the conflicts the app resolves, and the archive of silent losers (see merge.c).
*/
#ifndef SC_MERGE_H
#define SC_MERGE_H

#include "store.h"

/* The server's side of a record, as a pull change, a push result's record, or a stored
** conflict's remote. Borrowed pointers. absent: the server holds no such record
** (push conflict with record: null, version 0). data NULL = tombstone (or absent). */
typedef struct sc_remote {
  int64_t version;
  const cJSON *data;
  int absent;
  const char *hlc, *updated_at, *device_id;
} sc_remote;

/* A server change (from pull, or a push conflict when from_push) meets rec (loaded,
** existing, with outbox rows). Decides by the collection's strategy/onDelete and
** applies: take remote, keep local (op rebased), merge, or one ask conflict.
** changed gets the record when its local view changed; *pNewConflict += 1 when a new
** conflict row was made. SC_OK or a storage code. */
int merge_incoming(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, int from_push,
                   cJSON *changed, int64_t *pNewConflict);

/* Make rec the server's version rm (view and base), drop its ops and conflict, save it
** (or remove the row when rm is absent). changed gets the record. */
int merge_take_remote(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *changed);
/* The same for a record the caller just found without ops in the outbox (store_has_ops in
** this transaction): nothing to drop there. The row is written straight from rm; rec
** (rec->id and rec->exists read) is not updated: the caller only frees it. */
int merge_take_remote_no_ops(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, cJSON *changed);

/* Make rm the record's base (the server state a local edit is based on) and its
** newest known version. The view is left alone. SC_OK or SC_ENOMEM. */
int merge_set_base(sc_rec *rec, const sc_remote *rm);

/* After a local write to rec (saved, op queued): when the record has an open conflict
** and the app made it equal to the server's side (same data, or both deleted), the
** conflict is settled as 'theirs' silently. */
int merge_note_local_write(sc_store *st, const sc_coll *c, sc_rec *rec, cJSON *changed);

/* conflicts(): *pOut = {conflicts:[…]} oldest first. */
int merge_list_conflicts(sc_store *st, cJSON **pOut);
/* Add "newConflicts" to out: the conflicts this call opened (st->new_conflicts), as
** merge_list_conflicts shows them, oldest first. SC_OK or SC_ENOMEM. */
int merge_add_new_conflicts(sc_store *st, cJSON *out);
/* Number of unresolved conflicts. */
int merge_count_conflicts(sc_store *st, int64_t *pN);
/* resolve(): choice "mine"/"theirs" (merged NULL) or merged (choice NULL). *pOut =
** {record, changed}. SC_ENOTFOUND for an unknown/resolved conflict, SC_EBADINPUT for a
** bad merged record. */
int merge_resolve(sc_store *st, const char *conflict_id, const char *choice, const cJSON *merged, cJSON **pOut);
/* archive(): *pOut = {versions:[…]} newest first. */
int merge_archive_list(sc_store *st, const char *coll, const char *id, cJSON **pOut);

#endif /* SC_MERGE_H */
