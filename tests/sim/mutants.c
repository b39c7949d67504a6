/*
** mutants.c — deliberately broken cores, to prove the simulation's judge can fail
** (docs/SIMULATION.md "Mutants"). Linked only into build/native/sim-mutants, with
** ld's --wrap on two of the core's internal entry points (mk/sim.mk): calls from
** the core's other objects to merge_incoming / outbox_note_write reach the
** __wrap_ functions below, which break them as `--mutant NAME` says, or pass
** through. Nothing here is in wasm/src or in any shipped build.
**   remote-wins  every incoming server version beats the local change, which the
**                core archives as a silent lww loser (issue 11's "a core that always
**                took the remote side and archived the local one")
**   no-archive   decisions as usual, but a silent lww loser is not kept in the archive
**   lost-ask     ask (strategy, fieldStrategy, onDelete) settled silently by lww:
**                no conflict ever reaches the user
**   drop-op      every 5th local write changes the record but queues no op
**   coalesce-inflight  a write to a record whose op was sent and not yet answered
**                joins that op instead of queueing a new one (the op already went
**                with the old data, so its acknowledgement drops the new edit)
*/
#include "store.h"
#include "merge.h"
#include "outbox.h"

#include <stdio.h>
#include <string.h>

const char *sim_mutant = "";

int __real_merge_incoming(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, int from_push,
                          cJSON *changed, int64_t *pNewConflict);
int __wrap_merge_incoming(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, int from_push,
                          cJSON *changed, int64_t *pNewConflict);
int __real_outbox_note_write(sc_store *st, const sc_coll *c, const sc_rec *rec);
int __wrap_outbox_note_write(sc_store *st, const sc_coll *c, const sc_rec *rec);

static int64_t archive_top(sc_store *st) {
  sqlite3_stmt *q = NULL;
  int64_t top = 0;
  if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(rowid), 0) FROM archive", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    top = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return top;
}

int __wrap_merge_incoming(sc_store *st, const sc_coll *c, sc_rec *rec, const sc_remote *rm, int from_push,
                          cJSON *changed, int64_t *pNewConflict) {
  if (!strcmp(sim_mutant, "remote-wins")) {
    /* Every collection lww, and the server's side always the newer: the core's own
    ** code then archives the local version and takes the remote one. */
    sc_coll lww = *c;
    sc_remote newer = *rm;
    lww.strategy = SC_STRAT_LWW;
    lww.field_ask = 0;
    lww.on_delete = SC_ONDEL_LATEST;
    newer.hlc = "999999999999999-99999-zzzz";
    return __real_merge_incoming(st, &lww, rec, &newer, from_push, changed, pNewConflict);
  }
  if (!strcmp(sim_mutant, "lost-ask")) {
    sc_coll silent = *c;
    if (silent.strategy == SC_STRAT_ASK) silent.strategy = SC_STRAT_LWW;
    silent.field_ask = 0;
    if (silent.on_delete == SC_ONDEL_ASK) silent.on_delete = SC_ONDEL_LATEST;
    return __real_merge_incoming(st, &silent, rec, rm, from_push, changed, pNewConflict);
  }
  if (!strcmp(sim_mutant, "no-archive")) {
    int64_t top = archive_top(st);
    int rc = __real_merge_incoming(st, c, rec, rm, from_push, changed, pNewConflict);
    if (rc == SC_OK && c->strategy == SC_STRAT_LWW) {
      char sql[96];
      snprintf(sql, sizeof sql, "DELETE FROM archive WHERE rowid > %lld", (long long)top);
      sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    }
    return rc;
  }
  return __real_merge_incoming(st, c, rec, rm, from_push, changed, pNewConflict);
}

static int has_sent_op(sc_store *st, const char *coll, const char *id) {
  sqlite3_stmt *q = NULL;
  int sent = 0;
  if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM outbox WHERE coll=?1 AND record_id=?2 AND sent=1", -1, &q,
                         NULL) == SQLITE_OK) {
    sqlite3_bind_text(q, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) sent = sqlite3_column_int(q, 0) > 0;
  }
  sqlite3_finalize(q);
  return sent;
}

int __wrap_outbox_note_write(sc_store *st, const sc_coll *c, const sc_rec *rec) {
  static unsigned writes;
  if (!strcmp(sim_mutant, "drop-op") && ++writes % 5 == 0) return SC_OK;
  if (!strcmp(sim_mutant, "coalesce-inflight") && has_sent_op(st, c->name, rec->id)) return SC_OK;
  return __real_outbox_note_write(st, c, rec);
}
