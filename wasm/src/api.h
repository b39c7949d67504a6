/*
** api.h — internals api.c shares with legacy.c: the local write path.
*/
#ifndef SC_API_H
#define SC_API_H

#include "store.h"

/* Write data (owned, taken; NULL = delete) as the new local state of rec (loaded with
** store_rec_load; rec->id set) in collection c: stamp, save, queue the op, note the
** change. The caller validated data. SC_OK or a storage code. */
int api_write_record(sc_store *st, const sc_coll *c, sc_rec *rec, cJSON *data, cJSON *changed);

/* A fresh record id for collection c ("tmp_<uuid>" for idFrom 'server') into out[64]. */
void api_new_id(sc_store *st, const sc_coll *c, char out[64]);

#endif /* SC_API_H */
