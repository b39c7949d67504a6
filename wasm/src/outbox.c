/*
** outbox.c — the queue of local operations, one row per op with an idempotency key
** (op_id), sent oldest first. It decides what to send and when to retry; what a
** server answer means for the record is sync.c's, and how a conflict is settled is
** merge.c's.
**
** Invariants
**   1. A record has a local unpushed change exactly when it has outbox rows; an
**      acknowledged op leaves the table (outbox_ack).
**   2. A local write and its op commit in the same transaction (api.c runs both).
**   3. Per record at most one op is unsent (sent = 0); writes fold into it: create+update
**      → create, create+delete → no op (the never-pushed row stays as a local tombstone), update+delete
**      → delete, delete+update → update. A sent op's payload is frozen: it is resent
**      byte for byte with its op_id (the server may have applied it), never coalesced.
**   4. A write to a record supersedes its failed/rejected ops (they are removed, the new
**      op carries the record's whole state).
**   5. Per record only the oldest op among pending/inflight/held may be sent, and never
**      while another is inflight; failed/rejected ops block nothing.
**   6. An op whose refs (or own id) point at a tmp_ id is not sent until remap rewrites it.
**   7. The first push of a record is kind create with base_version 0.
**   8. An op sent and not answered (sent = 1, back to pending: its answer was lost, cut
**      or of the wrong shape) is in doubt: the server may have applied it. A round
**      resends in-doubt ops first (pushRequest inDoubt, whatever their backoff) and pulls
**      only once they are answered, so pulled changes to their records are judged
**      against the server's answer, not guessed at (SPEC §11).
**
** States and transitions (function performing each)
**   (none)   → pending    outbox_note_write (a local write), outbox_rebase (merge kept local)
**   pending  → inflight   outbox_push_request
**   inflight → (gone)     outbox_ack (sync.c: applied/duplicate)
**   inflight → pending    outbox_push_failure (retryable, schedule left), outbox_requeue_inflight,
**                         outbox_rebase (push conflict, local side kept)
**   inflight → held       outbox_rebase (push conflict under ask)
**   inflight → failed     outbox_push_failure (schedule exhausted)
**   inflight → rejected   outbox_push_failure (4xx), sync.c (per-op rejected)
**   pending/held → held/pending  outbox_rebase, outbox_set_record_status (merge/resolve)
**   failed/rejected → pending    outbox_retry_failed
**   any      → (gone)     outbox_drop_record (remote side won), outbox_discard (failed/rejected)
*/
#include "outbox.h"

#include <stdio.h>
#include <string.h>

void outbox_op_free(sc_op *op) {
  sc_free(op->op_id);
  sc_free(op->coll);
  sc_free(op->record_id);
  sc_free(op->kind);
  sc_free(op->status);
  cJSON_Delete(op->payload);
  memset(op, 0, sizeof *op);
}

#define OP_COLS "seq, op_id, coll, record_id, kind, status, attempts, sent, payload"

static void op_from_row(sqlite3_stmt *stmt, sc_op *op) {
  op->seq = sqlite3_column_int64(stmt, 0);
  op->op_id = store_col_text(stmt, 1);
  op->coll = store_col_text(stmt, 2);
  op->record_id = store_col_text(stmt, 3);
  op->kind = store_col_text(stmt, 4);
  op->status = store_col_text(stmt, 5);
  op->attempts = sqlite3_column_int64(stmt, 6);
  op->sent = sqlite3_column_int(stmt, 7);
  op->payload = store_col_json(stmt, 8);
}

static int op_ok(const sc_op *op) { return op->op_id && op->coll && op->record_id && op->kind && op->status; }

int outbox_find(sc_store *st, const char *op_id, sc_op *op) {
  sqlite3_stmt *stmt = NULL;
  outbox_op_free(op);
  int rc = store_prep(st, "SELECT " OP_COLS " FROM outbox WHERE op_id=?", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, op_id);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) {
    op_from_row(stmt, op);
    if (!op_ok(op)) rc = SC_ENOMEM;
  } else if (step == SQLITE_DONE) rc = SC_ENOTFOUND;
  else rc = store_sqlfail(st, "reading the outbox");
  store_done(st, stmt);
  return rc;
}

/* Run a statement of (text, text[, text]) parameters to completion. */
static int run3(sc_store *st, const char *sql, const char *a, const char *b, const char *c) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, sql, &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, a);
  if (sqlite3_bind_parameter_count(stmt) >= 2) store_bind_text(stmt, 2, b);
  if (sqlite3_bind_parameter_count(stmt) >= 3) store_bind_text(stmt, 3, c);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "updating the outbox");
  store_done(st, stmt);
  return rc;
}

int outbox_ack(sc_store *st, const char *op_id) {
  return run3(st, "DELETE FROM outbox WHERE op_id=?", op_id, NULL, NULL);
}

int outbox_drop_record(sc_store *st, const char *coll, const char *id) {
  return run3(st, "DELETE FROM outbox WHERE coll=? AND record_id=?", coll, id, NULL);
}

int outbox_set_record_status(sc_store *st, const char *coll, const char *id, const char *status) {
  return run3(st, "UPDATE outbox SET status=?3 WHERE coll=?1 AND record_id=?2 AND status<>'inflight'", coll, id, status);
}

static int insert_op(sc_store *st, const char *coll, const char *id, const char *kind, const char *status) {
  sqlite3_stmt *stmt = NULL;
  char op_id[37];
  util_uuid(&st->hooks, op_id);
  int rc = store_prep(st, "INSERT INTO outbox(op_id, coll, record_id, kind, status, attempts, created_at, sent)"
                          " VALUES(?,?,?,?,?,0,?,0)", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, op_id);
  store_bind_text(stmt, 2, coll);
  store_bind_text(stmt, 3, id);
  store_bind_text(stmt, 4, kind);
  store_bind_text(stmt, 5, status);
  sqlite3_bind_int64(stmt, 6, store_now(st));
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "queueing an operation");
  store_done(st, stmt);
  return rc;
}

/* The record's unsent op (invariant 3) and whether it has sent, unacknowledged ones. */
static int record_ops(sc_store *st, const char *coll, const char *id, sc_op *unsent, int *pHasSent) {
  sqlite3_stmt *stmt = NULL;
  *pHasSent = 0;
  int rc = store_prep(st, "SELECT " OP_COLS " FROM outbox WHERE coll=? AND record_id=? ORDER BY seq", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  int step;
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    int sent = sqlite3_column_int(stmt, 7);
    if (sent) { *pHasSent = 1; continue; }
    outbox_op_free(unsent);
    op_from_row(stmt, unsent);
    if (!op_ok(unsent)) { rc = SC_ENOMEM; break; }
  }
  if (rc == SC_OK && step != SQLITE_DONE) rc = store_sqlfail(st, "reading the outbox");
  store_done(st, stmt);
  return rc;
}

int outbox_note_write(sc_store *st, const sc_coll *c, const sc_rec *rec) {
  sc_op unsent;
  int has_sent = 0, rc;
  memset(&unsent, 0, sizeof unsent);
  /* Invariant 4: the new op carries the whole record; rejected ones, and failed ones never
  ** sent, are superseded. A failed op that was sent is in doubt (a lost answer, then errors
  ** until it gave up): the server may have applied it, so it goes again under its own op_id
  ** and the new op queues behind it — a new op_id in its place could apply it twice. */
  rc = run3(st, "DELETE FROM outbox WHERE coll=? AND record_id=? AND (status='rejected' OR (status='failed' AND sent=0))",
            c->name, rec->id, NULL);
  if (rc == SC_OK)
    rc = run3(st, "UPDATE outbox SET status='pending', attempts=0, next_attempt_at=NULL"
                  " WHERE coll=? AND record_id=? AND status='failed' AND sent=1", c->name, rec->id, NULL);
  if (rc == SC_OK) rc = record_ops(st, c->name, rec->id, &unsent, &has_sent);
  if (rc != SC_OK) goto fail;
  if (unsent.op_id) {
    const char *kind = unsent.kind;
    if (rec->deleted) {
      /* A create deleted before push sends nothing; the row stays as the tombstone
      ** (SPEC §2: delete is a soft delete, also for a record never pushed). */
      if (strcmp(unsent.kind, "create") == 0) {
        rc = outbox_ack(st, unsent.op_id);
        goto fail;
      }
      kind = "delete";
    } else if (strcmp(unsent.kind, "delete") == 0) {
      kind = "update";
    }
    rc = run3(st, "UPDATE outbox SET kind=?2 WHERE op_id=?1", unsent.op_id, kind, NULL);
  } else if (rec->deleted) {
    /* Never on the server: nothing to tell it; the tombstone row is all there is. */
    if (has_sent || rec->version > 0) rc = insert_op(st, c->name, rec->id, "delete", "pending");
  } else {
    rc = insert_op(st, c->name, rec->id, (has_sent || rec->version > 0) ? "update" : "create", "pending");
  }
fail:
  outbox_op_free(&unsent);
  return rc;
}

int outbox_rebase(sc_store *st, const char *coll, const char *id, const char *kind, const char *status, int reuse_id) {
  sqlite3_stmt *stmt = NULL;
  char *keep = NULL;
  int rc = store_prep(st, "SELECT op_id, sent FROM outbox WHERE coll=? AND record_id=? ORDER BY seq LIMIT 1", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, coll);
  store_bind_text(stmt, 2, id);
  int step = sqlite3_step(stmt);
  if (step == SQLITE_ROW) {
    keep = store_col_text(stmt, 0);
    if (!sqlite3_column_int(stmt, 1)) reuse_id = 1;  /* never sent: the server cannot know its op_id */
  }
  else if (step != SQLITE_DONE) rc = store_sqlfail(st, "reading the outbox");
  store_done(st, stmt);
  if (rc != SC_OK) goto fail;
  if (!keep) { rc = insert_op(st, coll, id, kind, status); goto fail; }
  rc = run3(st, "DELETE FROM outbox WHERE coll=? AND record_id=? AND op_id<>?", coll, id, keep);
  if (rc != SC_OK) goto fail;
  char fresh[37];
  if (reuse_id) snprintf(fresh, sizeof fresh, "%s", keep);
  else util_uuid(&st->hooks, fresh);
  rc = store_prep(st, "UPDATE outbox SET op_id=?2, kind=?3, status=?4, attempts=0, next_attempt_at=NULL,"
                      " last_error=NULL, sent=0, payload=NULL WHERE op_id=?1", &stmt);
  if (rc != SC_OK) goto fail;
  store_bind_text(stmt, 1, keep);
  store_bind_text(stmt, 2, fresh);
  store_bind_text(stmt, 3, kind);
  store_bind_text(stmt, 4, status);
  if (sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "rebasing an operation");
  store_done(st, stmt);
fail:
  sc_free(keep);
  return rc;
}

/* Invariant 6: does data (or the id of a non-create op) still point at a temp id that
** will be mapped? A ref to a temp record that no longer exists here, or is only a local
** tombstone (created and deleted before it was ever pushed), can never be mapped: it is dangling, and waiting for it
** would hold the op forever, so it goes as it is. */
static int waits_for_mapping(sc_store *st, const sc_coll *c, const char *kind, const char *id, const cJSON *data) {
  if (c && c->server_ids && strcmp(kind, "create") != 0 && strncmp(id, "tmp_", 4) == 0) return 1;
  if (!c || !c->refs || !data) return 0;
  const cJSON *ref;
  cJSON_ArrayForEach(ref, c->refs) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, ref->string);
    if (!cJSON_IsString(v) || strncmp(v->valuestring, "tmp_", 4) != 0) continue;
    sqlite3_stmt *stmt = NULL;
    int pending = 1;
    /* A local tombstone with no op is a temp record that will never be pushed. */
    if (store_prep(st, "SELECT 1 FROM records r WHERE coll=? AND id=? AND (deleted=0 OR EXISTS("
                       "SELECT 1 FROM outbox o WHERE o.coll=r.coll AND o.record_id=r.id))", &stmt) == SC_OK) {
      store_bind_text(stmt, 1, ref->valuestring);
      store_bind_text(stmt, 2, v->valuestring);
      int failed = SC_OK;
      pending = store_row(st, stmt, "reading the outbox", &failed) || failed != SC_OK;   /* unsure: wait */
    }
    store_done(st, stmt);
    if (pending) return 1;
  }
  return 0;
}

/* A stamp further ahead of the corrected clock than the server tolerates (the tolerance
** its last answer named, or rules.h's default, less a fifth as margin): made before the
** clock offset was known. The server rejects such an op, so it was never applied and may
** be rebuilt. */
static int stamp_too_new(sc_store *st, const cJSON *hlc) {
  int64_t ms, tolerance = SC_FUTURE_TOLERANCE_MS;
  if (!cJSON_IsString(hlc) || sc_hlc_parse(hlc->valuestring, &ms, NULL, NULL, NULL, 0) != SC_OK) return 0;
  if (store_meta_get_int(st, "future_tolerance_ms", &tolerance) != SC_OK) tolerance = SC_FUTURE_TOLERANCE_MS;
  return ms > sc_hlc_physical(&st->clock, store_now(st)) + tolerance / 5 * 4;
}

/* Build (invariant 7) the wire form of an unsent op from its record. *pOp NULL = nothing to send. */
static int build_payload(sc_store *st, const sc_op *op, cJSON **pOp) {
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  *pOp = NULL;
  int rc = store_rec_load(st, op->coll, op->record_id, &rec);
  if (rc != SC_OK || !rec.exists) goto fail;
  if (rec.hlc) {
    cJSON *h = cJSON_CreateString(rec.hlc);
    int future = h && stamp_too_new(st, h);
    cJSON_Delete(h);
    if (future && ((rc = store_stamp(st, &rec)) != SC_OK || (rc = store_rec_save(st, op->coll, &rec)) != SC_OK)) goto fail;
  }
  cJSON *o = cJSON_CreateObject();
  if (!o) { rc = SC_ENOMEM; goto fail; }
  int is_create = strcmp(op->kind, "create") == 0;
  cJSON_AddStringToObject(o, "op_id", op->op_id);
  cJSON_AddStringToObject(o, "collection", op->coll);
  cJSON_AddStringToObject(o, "id", op->record_id);
  cJSON_AddStringToObject(o, "kind", op->kind);
  cJSON_AddNumberToObject(o, "base_version", is_create ? 0 : (double)rec.base_version);
  if (strcmp(op->kind, "delete") == 0 || rec.deleted) cJSON_AddNullToObject(o, "data");
  else cJSON_AddItemToObject(o, "data", cJSON_Duplicate(rec.data, 1));
  if (rec.updated_at) cJSON_AddStringToObject(o, "updated_at", rec.updated_at);
  if (rec.hlc) cJSON_AddStringToObject(o, "hlc", rec.hlc);
  *pOp = o;
fail:
  store_rec_free(&rec);
  return rc;
}

static int mark_inflight(sc_store *st, const char *op_id, const cJSON *payload) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "UPDATE outbox SET status='inflight', sent=1, payload=?2 WHERE op_id=?1", &stmt);
  if (rc != SC_OK) return rc;
  store_bind_text(stmt, 1, op_id);
  rc = store_bind_json(stmt, 2, payload);
  if (rc == SC_OK && sqlite3_step(stmt) != SQLITE_DONE) rc = store_sqlfail(st, "marking an op inflight");
  store_done(st, stmt);
  return rc;
}

int outbox_counts(sc_store *st, int64_t *pPending, int64_t *pFailed) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT coalesce(sum(status IN ('pending','inflight','held')),0),"
                          " coalesce(sum(status IN ('failed','rejected')),0) FROM outbox", &stmt);
  if (rc != SC_OK) return rc;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    if (pPending) *pPending = sqlite3_column_int64(stmt, 0);
    if (pFailed) *pFailed = sqlite3_column_int64(stmt, 1);
  } else rc = store_sqlfail(st, "counting the outbox");
  store_done(st, stmt);
  return rc;
}

/* The ops eligible now (invariant 5), oldest first, collected before any is marked
** inflight so the scan never sees its own updates. */
static int eligible_ops(sc_store *st, int force, int in_doubt, int64_t after_seq, int64_t max, sc_op **pOps, int *pN) {
  sqlite3_stmt *stmt = NULL;
  sc_op *ops = NULL;
  int n = 0, cap = 0, step;
  int rc = store_prep(st,
      "SELECT " OP_COLS " FROM outbox o WHERE status='pending' AND (?1 OR next_attempt_at IS NULL OR next_attempt_at<=?2)"
      " AND (?5=0 OR sent=1)"
      " AND NOT EXISTS(SELECT 1 FROM outbox p WHERE p.coll=o.coll AND p.record_id=o.record_id AND p.seq<>o.seq"
      "   AND (p.status='inflight' OR (p.seq<o.seq AND p.status IN ('pending','held'))))"
      " AND seq>?3 ORDER BY seq LIMIT ?4", &stmt);
  if (rc != SC_OK) return rc;
  sqlite3_bind_int(stmt, 1, force ? 1 : 0);
  sqlite3_bind_int64(stmt, 2, store_now(st));
  sqlite3_bind_int64(stmt, 3, after_seq);
  sqlite3_bind_int64(stmt, 4, max);
  sqlite3_bind_int(stmt, 5, in_doubt ? 1 : 0);
  while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (n == cap) {
      int ncap = cap ? cap * 2 : 64;
      sc_op *grown = sc_malloc(sizeof(sc_op) * (size_t)ncap);
      if (!grown) { rc = SC_ENOMEM; break; }
      if (n) memcpy(grown, ops, sizeof(sc_op) * (size_t)n);
      sc_free(ops);
      ops = grown;
      cap = ncap;
    }
    memset(&ops[n], 0, sizeof(sc_op));
    op_from_row(stmt, &ops[n]);
    if (!op_ok(&ops[n++])) { rc = SC_ENOMEM; break; }
  }
  if (rc == SC_OK && step != SQLITE_DONE) rc = store_sqlfail(st, "reading the outbox");
  store_done(st, stmt);
  *pOps = ops;
  *pN = n;
  return rc;
}

int outbox_push_request(sc_store *st, int force, int in_doubt, int64_t limit, cJSON **pOut) {
  cJSON *out = cJSON_CreateObject(), *ops = cJSON_CreateArray(), *ids = cJSON_CreateArray();
  sc_op *cand = NULL;
  int ncand = 0;
  int64_t total = 0, n = 0;
  *pOut = NULL;
  int rc = (out && ops && ids) ? SC_OK : SC_ENOMEM;
  if (limit <= 0 || limit > st->batch_size) limit = st->batch_size;
  /* Pages of candidates, so a long queue costs one batch's worth of reading per call. */
  int64_t after = 0, page = limit * 2 + 16;
  while (rc == SC_OK && n < limit) {
    /* In-doubt ops go whatever their backoff: the round's pull waits for their answer. */
    if ((rc = eligible_ops(st, force || in_doubt, in_doubt, after, page, &cand, &ncand)) != SC_OK) break;
    for (int i = 0; rc == SC_OK && i < ncand && n < limit; i++) {
      sc_op *op = &cand[i];
      cJSON *wire = NULL;
      after = op->seq;
      if (op->sent && op->payload && !stamp_too_new(st, cJSON_GetObjectItemCaseSensitive(op->payload, "hlc"))) {
        if (!(wire = cJSON_Duplicate(op->payload, 1))) rc = SC_ENOMEM;
      } else {
        rc = build_payload(st, op, &wire);
      }
      if (rc != SC_OK || !wire) continue;
      if (waits_for_mapping(st, store_coll(st, op->coll), op->kind, op->record_id,
                            cJSON_GetObjectItemCaseSensitive(wire, "data"))) {
        cJSON_Delete(wire);
        continue;
      }
      if ((rc = mark_inflight(st, op->op_id, wire)) != SC_OK) { cJSON_Delete(wire); break; }
      cJSON_AddItemToArray(ops, wire);
      cJSON_AddItemToArray(ids, cJSON_CreateString(op->op_id));
      n++;
    }
    for (int i = 0; i < ncand; i++) outbox_op_free(&cand[i]);
    sc_free(cand);
    cand = NULL;
    if (ncand < page) break;
  }
  if (rc != SC_OK) goto fail;
  if ((rc = outbox_counts(st, &total, NULL)) != SC_OK) goto fail;
  if (n > 0) {
    cJSON *body = cJSON_AddObjectToObject(out, "body");
    cJSON_AddStringToObject(body, "device_id", st->clock.device_id);
    cJSON_AddItemToObject(body, "ops", ops);
    ops = NULL;
  } else {
    cJSON_AddNullToObject(out, "body");
  }
  cJSON_AddItemToObject(out, "opIds", ids);
  ids = NULL;
  cJSON_AddNumberToObject(out, "total", (double)total);
  *pOut = out;
  out = NULL;
fail:
  cJSON_Delete(out);
  cJSON_Delete(ops);
  cJSON_Delete(ids);
  return rc;
}

int outbox_push_failure(sc_store *st, int64_t status, double retry_after_s, const char *error, int64_t *pFailed) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  char fallback[64];
  int retryable = status == 0 || status >= 500 || status == 429 || status == 401 || status == 408;
  int64_t now = store_now(st), failed = 0;
  if (!error || !*error) {
    if (status == 0) snprintf(fallback, sizeof fallback, "network error");
    else snprintf(fallback, sizeof fallback, "HTTP %lld", (long long)status);
    error = fallback;
  }
  /* Collect first: updating the status column while scanning on it could revisit rows. */
  char **ids = NULL;
  int64_t *tries = NULL;
  int n = 0, cap = 0;
  int rc = store_prep(st, "SELECT op_id, attempts FROM outbox WHERE status='inflight' ORDER BY seq", &sel);
  while (rc == SC_OK && store_row(st, sel, "reading the outbox", &rc)) {
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nids = sc_malloc(sizeof(char *) * (size_t)cap);
      int64_t *ntries = sc_malloc(sizeof(int64_t) * (size_t)cap);
      if (!nids || !ntries) { sc_free(nids); sc_free(ntries); rc = SC_ENOMEM; break; }
      if (n) { memcpy(nids, ids, sizeof(char *) * (size_t)n); memcpy(ntries, tries, sizeof(int64_t) * (size_t)n); }
      sc_free(ids); sc_free(tries);
      ids = nids; tries = ntries;
    }
    tries[n] = sqlite3_column_int64(sel, 1) + 1;
    if (!(ids[n++] = store_col_text(sel, 0))) rc = SC_ENOMEM;
  }
  store_done(st, sel);
  if (rc == SC_OK) rc = store_prep(st, "UPDATE outbox SET status=?2, attempts=?3, next_attempt_at=?4, last_error=?5,"
                                       " sent=CASE WHEN ?2='rejected' THEN 0 ELSE sent END, "
                                       " payload=CASE WHEN ?2='rejected' THEN NULL ELSE payload END WHERE op_id=?1", &upd);
  for (int i = 0; rc == SC_OK && i < n; i++) {
    int64_t attempts = tries[i];
    const char *next_status = "rejected";
    int64_t next_at = 0;
    if (retryable) {
      if (attempts > st->nretry) next_status = "failed";
      else {
        int64_t wait = st->retry[attempts - 1];
        int64_t ra = retry_after_s > 0 && retry_after_s < 1e9 ? (int64_t)(retry_after_s * 1000.0) : 0;
        next_status = "pending";
        next_at = now + (ra > wait ? ra : wait);
      }
    }
    if (strcmp(next_status, "pending") != 0) failed++;
    sqlite3_reset(upd);
    store_bind_text(upd, 1, ids[i]);
    store_bind_text(upd, 2, next_status);
    sqlite3_bind_int64(upd, 3, attempts);
    if (next_at) sqlite3_bind_int64(upd, 4, next_at); else sqlite3_bind_null(upd, 4);
    store_bind_text(upd, 5, error);
    if (sqlite3_step(upd) != SQLITE_DONE) rc = store_sqlfail(st, "recording a push failure");
  }
  store_done(st, upd);
  for (int i = 0; i < n; i++) sc_free(ids[i]);
  sc_free(ids);
  sc_free(tries);
  if (pFailed) *pFailed = failed;
  return rc;
}

int outbox_requeue_inflight(sc_store *st) {
  return store_exec(st, "UPDATE outbox SET status='pending' WHERE status='inflight'");
}

int outbox_count_in_doubt(sc_store *st, int64_t *pN) {
  sqlite3_stmt *stmt = NULL;
  int rc = store_prep(st, "SELECT count(*) FROM outbox WHERE sent=1 AND status='pending'", &stmt);
  if (rc != SC_OK) return rc;
  if (sqlite3_step(stmt) == SQLITE_ROW) *pN = sqlite3_column_int64(stmt, 0);
  else rc = store_sqlfail(st, "counting the outbox");
  store_done(st, stmt);
  return rc;
}

int outbox_list(sc_store *st, cJSON **pOut) {
  sqlite3_stmt *stmt = NULL;
  cJSON *out = cJSON_CreateObject();
  cJSON *ops = out ? cJSON_AddArrayToObject(out, "ops") : NULL;
  int rc = ops ? store_prep(st, "SELECT op_id, coll, record_id, kind, status, attempts, next_attempt_at, last_error,"
                                " created_at FROM outbox ORDER BY seq", &stmt) : SC_ENOMEM;
  while (rc == SC_OK && store_row(st, stmt, "reading the outbox", &rc)) {
    cJSON *o = cJSON_CreateObject();
    if (!o) { rc = SC_ENOMEM; break; }
    cJSON_AddStringToObject(o, "opId", (const char *)sqlite3_column_text(stmt, 0));
    cJSON_AddStringToObject(o, "collection", (const char *)sqlite3_column_text(stmt, 1));
    cJSON_AddStringToObject(o, "recordId", (const char *)sqlite3_column_text(stmt, 2));
    cJSON_AddStringToObject(o, "kind", (const char *)sqlite3_column_text(stmt, 3));
    cJSON_AddStringToObject(o, "status", (const char *)sqlite3_column_text(stmt, 4));
    cJSON_AddNumberToObject(o, "attempts", (double)sqlite3_column_int64(stmt, 5));
    cJSON_AddItemToObject(o, "nextAttemptAt", util_iso_node(sqlite3_column_int64(stmt, 6),
                                                            sqlite3_column_type(stmt, 6) != SQLITE_NULL));
    if (sqlite3_column_type(stmt, 7) == SQLITE_NULL) cJSON_AddNullToObject(o, "lastError");
    else cJSON_AddStringToObject(o, "lastError", (const char *)sqlite3_column_text(stmt, 7));
    cJSON_AddItemToObject(o, "createdAt", util_iso_node(sqlite3_column_int64(stmt, 8), 1));
    cJSON_AddItemToArray(ops, o);
  }
  store_done(st, stmt);
  if (rc == SC_OK) *pOut = out;
  else cJSON_Delete(out);
  return rc;
}

int outbox_retry_failed(sc_store *st, int64_t *pN) {
  int rc = store_exec(st, "UPDATE outbox SET status='pending', attempts=0, next_attempt_at=NULL, last_error=NULL"
                          " WHERE status IN ('failed','rejected')");
  *pN = rc == SC_OK ? sqlite3_changes(st->db) : 0;
  return rc;
}

int outbox_discard(sc_store *st, const char *op_id, cJSON *changed) {
  sc_op op;
  sc_rec rec;
  int has_inflight = 0;
  memset(&op, 0, sizeof op);
  memset(&rec, 0, sizeof rec);
  int rc = outbox_find(st, op_id, &op);
  if (rc == SC_ENOTFOUND) { rc = store_fail(st, SC_ENOTFOUND, "no op '%s' in the outbox", op_id); goto fail; }
  if (rc != SC_OK) goto fail;
  if (strcmp(op.status, "failed") != 0 && strcmp(op.status, "rejected") != 0) {
    rc = store_fail(st, SC_EBADINPUT, "op '%s' is %s; only failed or rejected ops can be discarded", op_id, op.status);
    goto fail;
  }
  /* The record returns to its last server version: every local change of it that is
  ** not on the wire goes. */
  rc = run3(st, "DELETE FROM outbox WHERE coll=? AND record_id=? AND status<>'inflight'", op.coll, op.record_id, NULL);
  if (rc == SC_OK) rc = store_has_ops(st, op.coll, op.record_id, &has_inflight);
  if (rc == SC_OK && !has_inflight) rc = store_rec_load(st, op.coll, op.record_id, &rec);
  if (rc != SC_OK || has_inflight || !rec.exists) goto fail;
  if (rec.base_version == 0) {
    rc = store_rec_remove(st, op.coll, op.record_id);
  } else {
    rc = store_rec_set_view_from_base(&rec);
    if (rc == SC_OK) rc = store_rec_save(st, op.coll, &rec);
  }
  if (rc == SC_OK) rc = run3(st, "DELETE FROM conflicts WHERE coll=? AND record_id=?", op.coll, op.record_id, NULL);
  if (rc == SC_OK) rc = store_changed_add(changed, op.coll, op.record_id);
fail:
  outbox_op_free(&op);
  store_rec_free(&rec);
  return rc;
}

int outbox_next_wake(sc_store *st, int64_t *pAt, int *pHas) {
  sqlite3_stmt *stmt = NULL;
  *pHas = 0;
  int rc = store_prep(st, "SELECT min(next_attempt_at) FROM outbox WHERE status='pending' AND next_attempt_at IS NOT NULL", &stmt);
  if (rc != SC_OK) return rc;
  if (store_row(st, stmt, "reading the outbox", &rc) && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
    *pAt = sqlite3_column_int64(stmt, 0);
    *pHas = 1;
  }
  store_done(st, stmt);
  return rc;
}
