/*
** remap.h — temporary ids (idFrom 'server') replaced by the server's real ids.
*/
#ifndef SC_REMAP_H
#define SC_REMAP_H

#include "store.h"

/* The server mapped (coll, temp_id) → real_id: rewrite the record row, its outbox ops,
** conflicts and archive entries, and every refs field of every collection that points at
** temp_id; remember the mapping. changed gets the ids whose view changed (temp and real
** id of the record, and each referencing record). SC_OK or a storage code. */
int remap_apply(sc_store *st, const char *coll, const char *temp_id, const char *real_id, cJSON *changed);

/* remap_apply without remembering the mapping: rename (coll, temp_id) to real_id
** everywhere (also used to give a record a fresh temp id when it must be re-created
** in a server-ids collection). */
int remap_rename(sc_store *st, const char *coll, const char *temp_id, const char *real_id, cJSON *changed);

/* A record of coll the server forgot comes back under a fresh temp id (merge.c): rename
** old_id to fresh_id everywhere (remap_rename) and, since the records whose refs named
** old_id now name the fresh one, stamp each of them and queue its op (a local write the
** server must see). SC_OK or a storage code. */
int remap_recreate(sc_store *st, const char *coll, const char *old_id, const char *fresh_id, cJSON *changed);

/* The real id a temporary one was mapped to: *pReal owned by the caller, NULL when
** id is not a mapped temp id. */
int remap_resolve(sc_store *st, const char *coll, const char *id, char **pReal);

/* Rewrite, in data (an app record about to be stored in coll), refs fields still
** holding a temp id that has been mapped. */
int remap_rewrite_refs(sc_store *st, const sc_coll *c, cJSON *data);

#endif /* SC_REMAP_H */
