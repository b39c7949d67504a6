/*
** legacy.h — importLegacy: one-time migration of a localStorage JSON blob.
*/
#ifndef SC_LEGACY_H
#define SC_LEGACY_H

#include "store.h"

/* importLegacy {blob, mapping, pending} → {imported: {coll: n}, unmapped: [paths], changed}.
** A malformed blob or mapping is SC_EBADINPUT and nothing is imported. */
int legacy_import(sc_store *st, const cJSON *in, cJSON **pOut);

#endif /* SC_LEGACY_H */
