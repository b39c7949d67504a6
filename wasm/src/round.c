/*
** round.c — the sync round as a step machine the host drives (docs/CORE_API.md "syncStep").
**
** The host calls syncStep {start: {force, batchSize, pullLimit}} and then, after making
** each request it was given, syncStep {answer: {status: 200, body}} or
** syncStep {answer: {status, retryAfter, error}} for a failure (status 0 = network). Each
** step answers {request | null, result | null, progress | null, changed, newConflicts}:
** the next request to make, or the end of the round with its result, plus what the host
** emits. The host decides nothing; the order and the limits live here:
**
**   begin     ops left inflight by a dead round go back to pending (as syncBegin)
**   doubt     ops sent and never answered are resent first, before the pull judges
**             changes to their records (outbox.c invariant 8)
**   pull      pages until has_more is false; a 410 once per round → full resync (pull_gone)
**             then pull again; a second 410, or any other failure, ends the round
**   push      batches of batchSize until nothing is eligible; a failure ends the round
**             (push_failure schedules the retry); at most ceil(total/batch)*2+4 batches,
**             since rebased ops may go round again
**   pull      again, only if the push applied something
**   done      lastSyncAt / lastError (sync_done)
**
** The round's state is a row of meta ('round'), written in the step's own transaction:
** a step the host re-runs after a failed persist (storage.js reloads the image and calls
** again) starts from the same state, and a round whose context died is simply replaced
** by the next start.
**
** A server answer the core refuses (SC_EPROTOCOL, SC_EBADINPUT, SC_ETOOBIG) ends the
** round with that error and changes nothing else (a savepoint around the answer); a
** failure of the store itself (SC_ENOMEM, SC_ESTORAGE, …) fails the step, and the host
** ends the round with syncStep {end: {error}}.
*/
#include "round.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "merge.h"
#include "outbox.h"
#include "sync.h"
#include "util.h"

enum { PH_DOUBT = 1, PH_PULL1, PH_PUSH, PH_PULL2 };

typedef struct round_state {
  int phase, force, gone;
  int64_t batch, pull_limit;
  int64_t pulled, pushed, conflicts, failed;   /* the round's result so far          */
  int64_t pull_done;                          /* records pulled in this pull phase  */
  int64_t push_done, push_total;              /* ops answered / queued at first push */
  int64_t push_left, phase_pushed;            /* batches left / applied this phase  */
  int push_counted;                           /* push_total taken                   */
  int64_t sent;                               /* ops in the request last handed out */
} round_state;

/* ---- the state row ------------------------------------------------------------------ */

static const struct { const char *key; size_t off; } int_fields[] = {
#define F(k, m) {k, offsetof(round_state, m)}
  F("batch", batch), F("pullLimit", pull_limit), F("pulled", pulled), F("pushed", pushed),
  F("conflicts", conflicts), F("failed", failed), F("pullDone", pull_done), F("pushDone", push_done),
  F("pushTotal", push_total), F("pushLeft", push_left), F("phasePushed", phase_pushed), F("sent", sent),
#undef F
};

static int save_state(sc_store *st, const round_state *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return SC_ENOMEM;
  cJSON_AddNumberToObject(o, "phase", s->phase);
  cJSON_AddNumberToObject(o, "force", s->force);
  cJSON_AddNumberToObject(o, "gone", s->gone);
  cJSON_AddNumberToObject(o, "pushCounted", s->push_counted);
  for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++)
    cJSON_AddNumberToObject(o, int_fields[i].key, (double)*(const int64_t *)((const char *)s + int_fields[i].off));
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!text) return SC_ENOMEM;
  int rc = store_meta_set(st, "round", text);
  sc_free(text);
  return rc;
}

static int num(const cJSON *o, const char *key, double *v) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(n)) return 0;
  *v = n->valuedouble;
  return 1;
}

/* SC_ENOTFOUND when no round is under way. */
static int load_state(sc_store *st, round_state *s) {
  char *text = NULL;
  int rc = store_meta_get(st, "round", &text);
  if (rc != SC_OK) return rc;
  cJSON *o = text ? util_json_parse(text) : NULL;
  sc_free(text);
  memset(s, 0, sizeof *s);
  double v;
  if (!o || !num(o, "phase", &v) || v < PH_DOUBT || v > PH_PULL2) { cJSON_Delete(o); return SC_ENOTFOUND; }
  s->phase = (int)v;
  s->force = num(o, "force", &v) && v != 0;
  s->gone = num(o, "gone", &v) && v != 0;
  s->push_counted = num(o, "pushCounted", &v) && v != 0;
  for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++)
    if (num(o, int_fields[i].key, &v)) *(int64_t *)((char *)s + int_fields[i].off) = (int64_t)v;
  cJSON_Delete(o);
  return SC_OK;
}

/* ---- building the step's answer -------------------------------------------------------- */

typedef struct step_out {
  cJSON *out;
  cJSON *changed;         /* the `changed` list of the step's one answer, or NULL      */
  cJSON *progress;        /* {phase, done, total} or NULL                              */
} step_out;

/* Hand the server's answer to a sync method ({response: body}); *pRes its output, whose
** `changed` list moves into o. */
static int respond(sc_store *st, int (*fn)(sc_store *, const cJSON *, cJSON **), const cJSON *answer,
                   step_out *o, cJSON **pRes) {
  cJSON *in = cJSON_CreateObject();
  if (!in) return SC_ENOMEM;
  cJSON_AddItemReferenceToObject(in, "response", cJSON_GetObjectItemCaseSensitive(answer, "body"));
  int rc = fn(st, in, pRes);
  cJSON_Delete(in);
  if (rc == SC_OK) o->changed = cJSON_DetachItemFromObjectCaseSensitive(*pRes, "changed");
  return rc;
}

static void set_progress(step_out *o, const char *phase, int64_t done, int64_t total) {
  cJSON_Delete(o->progress);
  if (!(o->progress = cJSON_CreateObject())) return;
  cJSON_AddStringToObject(o->progress, "phase", phase);
  cJSON_AddNumberToObject(o->progress, "done", (double)done);
  cJSON_AddNumberToObject(o->progress, "total", (double)total);
}

static double get_num(const cJSON *o, const char *key) {
  double v = 0;
  num(o, key, &v);
  return v;
}

/* ---- requests ----------------------------------------------------------------------------- */

static int pull_request(sc_store *st, round_state *s, cJSON *out) {
  char *cursor = NULL;
  int rc = store_meta_get(st, "cursor", &cursor);
  if (rc != SC_OK) return rc;
  cJSON *r = cJSON_AddObjectToObject(out, "request"), *q = r ? cJSON_AddObjectToObject(r, "query") : NULL;
  if (q) {
    cJSON_AddStringToObject(r, "kind", "pull");
    cJSON_AddStringToObject(r, "method", "GET");
    cJSON_AddStringToObject(r, "path", "/pull");
    cJSON_AddStringToObject(q, "cursor", cursor ? cursor : "");   /* "" = from the beginning */
    cJSON_AddNumberToObject(q, "limit", (double)s->pull_limit);
  }
  sc_free(cursor);
  s->sent = 0;
  return q ? SC_OK : SC_ENOMEM;
}

/* The next push batch, or *pNone when nothing is eligible (or the batch cap is spent). */
static int push_request(sc_store *st, round_state *s, cJSON *out, int *pNone) {
  cJSON *req = NULL;
  *pNone = 1;
  int rc = outbox_push_request(st, s->force, s->phase == PH_DOUBT, s->batch, &req);
  if (rc != SC_OK) return rc;
  int64_t total = (int64_t)get_num(req, "total");
  if (!s->push_counted) { s->push_total = total; s->push_counted = 1; }
  if (s->push_left < 0) s->push_left = (int64_t)ceil((double)total / (double)s->batch) * 2 + 4;
  cJSON *body = cJSON_DetachItemFromObjectCaseSensitive(req, "body");
  if (cJSON_IsObject(body) && s->push_left > 0) {
    cJSON *r = cJSON_AddObjectToObject(out, "request");
    if (!r) { cJSON_Delete(body); cJSON_Delete(req); return SC_ENOMEM; }
    cJSON_AddStringToObject(r, "kind", "push");
    cJSON_AddStringToObject(r, "method", "POST");
    cJSON_AddStringToObject(r, "path", "/push");
    s->sent = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "ops"));
    cJSON_AddItemToObject(r, "body", body);
    s->push_left--;
    *pNone = 0;
  } else {
    /* Ops a capped round marked inflight but did not send go back to pending. */
    if (cJSON_IsObject(body)) rc = outbox_requeue_inflight(st);
    cJSON_Delete(body);
  }
  cJSON_Delete(req);
  return rc;
}

/* From the current phase, the next request; s->phase 0 when the round is over. */
static int next_request(sc_store *st, round_state *s, cJSON *out) {
  for (;;) {
    if (s->phase == PH_PULL1 || s->phase == PH_PULL2) return pull_request(st, s, out);
    if (s->phase != PH_DOUBT && s->phase != PH_PUSH) { s->phase = 0; return SC_OK; }
    int none = 1;
    int rc = push_request(st, s, out, &none);
    if (rc != SC_OK || !none) return rc;
    /* Nothing more to push in this phase. */
    if (s->phase == PH_DOUBT) s->phase = PH_PULL1;
    else s->phase = s->phase_pushed > 0 ? PH_PULL2 : 0;
    s->pull_done = 0;
    s->push_left = -1;
    s->phase_pushed = 0;
  }
}

/* ---- answers ------------------------------------------------------------------------------ */

/* A refusal of the server's answer (the round ends with it) rather than of the store. */
static int is_answer_error(int rc) {
  return rc == SC_EPROTOCOL || rc == SC_EBADINPUT;
}

static int is_push_phase(const round_state *s) { return s->phase == PH_DOUBT || s->phase == PH_PUSH; }

static int take_pull(sc_store *st, round_state *s, const cJSON *answer, step_out *o) {
  cJSON *res = NULL;
  int rc = respond(st, sync_pull_response, answer, o, &res);
  if (rc != SC_OK) return rc;
  int64_t pulled = (int64_t)get_num(res, "pulled");
  s->pulled += pulled;
  s->conflicts += (int64_t)get_num(res, "conflicts");
  s->pull_done += pulled;
  set_progress(o, "pull", s->pull_done, s->pull_done + (int64_t)get_num(res, "remaining"));
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "hasMore"))) {
    if (s->phase == PH_PULL1) { s->phase = PH_PUSH; s->push_left = -1; s->phase_pushed = 0; }
    else s->phase = 0;
  }
  cJSON_Delete(res);
  return rc;
}

static int take_push(sc_store *st, round_state *s, const cJSON *answer, step_out *o) {
  cJSON *res = NULL;
  int rc = respond(st, sync_push_response, answer, o, &res);
  if (rc != SC_OK) return rc;
  int64_t pushed = (int64_t)get_num(res, "pushed");
  s->pushed += pushed;
  s->phase_pushed += pushed;
  s->conflicts += (int64_t)get_num(res, "conflicts");
  s->failed += (int64_t)get_num(res, "failed");
  s->push_done += s->sent;
  set_progress(o, "push", s->push_done < s->push_total ? s->push_done : s->push_total, s->push_total);
  cJSON_Delete(res);
  return SC_OK;
}

/* The inflight batch failed (status 0: no answer, or one the core refused): the ops go
** back with their op_ids and the retry schedule (outbox_push_failure). */
static int push_failed(sc_store *st, round_state *s, double status, double retry_after, const char *message) {
  int64_t failed = 0;
  int rc = outbox_push_failure(st, (int64_t)status, retry_after, message, &failed);
  s->failed += failed;
  return rc;
}

/* A failed request: *pError gets the round's error (owned) when the round ends. */
static int take_failure(sc_store *st, round_state *s, const cJSON *answer, char **pError) {
  double status = get_num(answer, "status");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(answer, "error");
  const char *message = cJSON_IsString(e) ? e->valuestring : "request failed";
  int rc = SC_OK;
  if (!is_push_phase(s)) {
    if (status == 410 && !s->gone) {   /* full resync, keeping unpushed edits */
      cJSON *res = NULL;
      s->gone = 1;
      rc = sync_pull_gone(st, NULL, &res);
      cJSON_Delete(res);
      return rc;
    }
  } else if ((rc = push_failed(st, s, status, get_num(answer, "retryAfter"), message)) != SC_OK) {
    return rc;
  }
  if (!(*pError = util_strdup(message))) return SC_ENOMEM;
  s->phase = 0;
  return SC_OK;
}

/* ---- the step ---------------------------------------------------------------------------- */

static int finish(sc_store *st, const round_state *s, const char *error, cJSON *out) {
  cJSON *in = cJSON_CreateObject(), *res = NULL;
  if (!in) return SC_ENOMEM;
  if (error) cJSON_AddStringToObject(in, "error", error);
  int rc = sync_done(st, in, &res);
  cJSON_Delete(in);
  cJSON_Delete(res);
  if (rc == SC_OK) rc = store_exec(st, "DELETE FROM meta WHERE key='round'");
  if (rc != SC_OK) return rc;
  cJSON *r = cJSON_AddObjectToObject(out, "result");
  if (!r) return SC_ENOMEM;
  cJSON_AddNumberToObject(r, "pulled", (double)s->pulled);
  cJSON_AddNumberToObject(r, "pushed", (double)s->pushed);
  cJSON_AddNumberToObject(r, "conflicts", (double)s->conflicts);
  cJSON_AddNumberToObject(r, "failed", (double)s->failed);
  if (error) cJSON_AddStringToObject(r, "error", error);
  return SC_OK;
}

static int start(sc_store *st, const cJSON *opts, round_state *s) {
  char err[160];
  int force = 0;
  int64_t batch = st->batch_size, pull_limit = 500, in_doubt = 0;
  int rc = util_get_bool(opts, "force", &force, err, sizeof err);
  if (rc == SC_OK) rc = util_get_int(opts, "batchSize", &batch, err, sizeof err);
  if (rc == SC_OK) rc = util_get_int(opts, "pullLimit", &pull_limit, err, sizeof err);
  if (rc != SC_OK) return store_fail(st, rc, "syncStep: start.%s", err);
  if (batch < 1 || batch > st->batch_size) batch = st->batch_size;
  if (pull_limit < 1 || pull_limit > 5000) return store_fail(st, SC_EBADINPUT, "syncStep: start.pullLimit must be within 1..5000");
  memset(s, 0, sizeof *s);
  s->force = force;
  s->batch = batch;
  s->pull_limit = pull_limit;
  s->push_left = -1;
  /* The host holds the store's sync lock: ops still inflight belong to a round that died. */
  if ((rc = outbox_requeue_inflight(st)) != SC_OK || (rc = outbox_count_in_doubt(st, &in_doubt)) != SC_OK) return rc;
  s->phase = in_doubt > 0 ? PH_DOUBT : PH_PULL1;
  return SC_OK;
}

int round_step(sc_store *st, const cJSON *in, cJSON **pOut) {
  const cJSON *opts = cJSON_GetObjectItemCaseSensitive(in, "start");
  const cJSON *answer = cJSON_GetObjectItemCaseSensitive(in, "answer");
  const cJSON *end = cJSON_GetObjectItemCaseSensitive(in, "end");
  if ((opts != NULL) + (answer != NULL) + (end != NULL) != 1)
    return store_fail(st, SC_EBADINPUT, "syncStep: give exactly one of start, answer, end");
  if ((opts && !cJSON_IsObject(opts)) || (answer && !cJSON_IsObject(answer)) || (end && !cJSON_IsObject(end)))
    return store_fail(st, SC_EBADINPUT, "syncStep: start, answer and end are objects");
  round_state s;
  char *error = NULL;
  step_out o = {cJSON_CreateObject(), NULL, NULL};
  int rc = o.out ? SC_OK : SC_ENOMEM;
  if (rc != SC_OK) goto fail;
  if (opts) {
    rc = start(st, opts, &s);
  } else {
    rc = load_state(st, &s);
    if (rc == SC_ENOTFOUND) rc = store_fail(st, SC_EBADINPUT, "syncStep: no round under way (start one first)");
  }
  if (rc != SC_OK) goto fail;
  if (end) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(end, "error");
    if (!(error = util_strdup(cJSON_IsString(e) ? e->valuestring : "sync round ended by the host"))) rc = SC_ENOMEM;
    s.phase = 0;
  } else if (answer) {
    double status = get_num(answer, "status");
    if ((rc = store_exec(st, "SAVEPOINT sync_answer")) != SC_OK) goto fail;
    round_state before = s;
    if (status != 200) rc = take_failure(st, &s, answer, &error);
    else if (is_push_phase(&s)) rc = take_push(st, &s, answer, &o);
    else rc = take_pull(st, &s, answer, &o);
    if (rc != SC_OK && is_answer_error(rc)) {
      /* The answer changes nothing: back to the state before it, and the round ends. */
      error = util_strdup(st->errmsg ? st->errmsg : sc_code_name(rc));
      store_stmts_idle(st);
      rc = store_exec(st, "ROLLBACK TO sync_answer");
      cJSON_Delete(st->new_conflicts);
      st->new_conflicts = NULL;
      cJSON_Delete(o.progress);
      o.progress = NULL;
      cJSON_Delete(o.changed);
      o.changed = NULL;
      if (rc == SC_OK && !error) rc = SC_ENOMEM;
      s = before;
      sc_free(st->errmsg);
      st->errmsg = NULL;
      if (rc == SC_OK && is_push_phase(&s)) rc = push_failed(st, &s, 0, 0, error);
      s.phase = 0;
    }
    if (rc == SC_OK) rc = store_exec(st, "RELEASE sync_answer");
  }
  if (rc == SC_OK && s.phase) rc = next_request(st, &s, o.out);
  if (rc == SC_OK) rc = s.phase ? save_state(st, &s) : finish(st, &s, error, o.out);
  if (rc != SC_OK) goto fail;
  if (!cJSON_GetObjectItemCaseSensitive(o.out, "request")) cJSON_AddNullToObject(o.out, "request");
  if (!cJSON_GetObjectItemCaseSensitive(o.out, "result")) cJSON_AddNullToObject(o.out, "result");
  if (o.progress) { cJSON_AddItemToObject(o.out, "progress", o.progress); o.progress = NULL; }
  else cJSON_AddNullToObject(o.out, "progress");
  if (!o.changed && !(o.changed = cJSON_CreateArray())) { rc = SC_ENOMEM; goto fail; }
  cJSON_AddItemToObject(o.out, "changed", o.changed);
  o.changed = NULL;
  if ((rc = merge_add_new_conflicts(st, o.out)) != SC_OK) goto fail;
  *pOut = o.out;
  sc_free(error);
  return SC_OK;
fail:
  cJSON_Delete(o.out);
  cJSON_Delete(o.changed);
  cJSON_Delete(o.progress);
  sc_free(error);
  return rc;
}
