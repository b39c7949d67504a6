/*
** sim_server.h — the simulation's in-process model of the sync server: one
** partition, the push/pull semantics of the reference server (prompts' "server
** semantics", SPEC §4/§11), an op-id ledger and an append-only history of every
** applied op so the invariants can be checked afterwards. It knows nothing of the
** network or of devices; sim.c moves bodies to and from it.
*/
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "cJSON.h"

typedef struct sim_server sim_server;

/* A new empty server. server_ids: NULL-terminated list of collections whose ids
** the server assigns (client sends tmp_…). Derivation (may be NULL):
** derive_coll.derive_field = src_coll.src_field of the record named by ref_field. */
sim_server *sim_server_new(const char *const *server_ids, const char *derive_coll,
                           const char *derive_field, const char *src_coll,
                           const char *src_field, const char *ref_field);
void sim_server_free(sim_server *srv);

/* POST /sync/push at server time now_ms. Returns the HTTP status (200 or 400) and
** sets *pzBody to the response body (malloc'd, caller frees with cJSON_free). */
int sim_server_push(sim_server *srv, const char *body, int64_t now_ms, char **pzBody);

/* GET /sync/pull. cursor may be NULL/"" (from the beginning). Returns 200, 400 or
** 410 and the body like sim_server_push. */
int sim_server_pull(sim_server *srv, const char *cursor, int limit, int64_t now_ms, char **pzBody);

/* Drop tombstones whose deleted_at is older than horizon_ms (server time): pulls
** from a cursor older than the newest purged change then answer 410. */
void sim_server_purge(sim_server *srv, int64_t horizon_ms);

/* Check the history against the state: per record, the applied ops form the
** version chain 1, 2, … and the last one equals the stored record; every op_id
** was applied at most once. Returns 0 when consistent, else writes why. */
int sim_server_check(const sim_server *srv, char *why, size_t n);

/* The live records of collection as a JSON object {id: data} (caller deletes). */
cJSON *sim_server_live(const sim_server *srv, const char *collection);

/* How many times op_id was applied (0 or 1 unless the model is broken), and the
** total number of applications with more than one (the "duplicated" count). */
int sim_server_applied_count(const sim_server *srv, const char *op_id);
int sim_server_duplicate_applications(const sim_server *srv);

/* Number of records whose id came from a tmp_ id, per tmp id more than once. */
int sim_server_duplicate_creates(const sim_server *srv);

/* Does any applied op on (collection, id) carry field == value (a string)? Used
** to find where a device's write token went. */
int sim_server_history_has(const sim_server *srv, const char *collection, const char *field,
                           const char *value);

/* Was (collection, id) ever deleted by an applied op from a device other than
** not_device (NULL: any device)? */
int sim_server_history_deleted(const sim_server *srv, const char *collection, const char *id,
                               const char *not_device);

/* The real id assigned to tmp_id, or NULL. */
const char *sim_server_real_id(const sim_server *srv, const char *tmp_id);

/* Counters for the report. */
int64_t sim_server_seq(const sim_server *srv);

#endif /* SIM_SERVER_H */
