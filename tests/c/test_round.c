/* test_round.c — the sync round as the core's step machine (syncStep, round.c): the order
** in-doubt → pull → push → pull, the one resync after a 410, failures that end the round,
** answers the core refuses, the batch cap, progress, and inputs it refuses. The host here
** is a loop that only moves bodies between syncStep and the testkit's server. */
#include "sc_testkit.h"

static const char *CFG = "{\"name\":\"t\",\"deviceId\":\"%s\",\"sync\":{\"batchSize\":2},\"collections\":{\"a\":{\"strategy\":\"ask\"}}}";

typedef tk_pair fx;

static int setup(void **state) {
  *state = tk_pair_open(CFG, 3, 4);
  return 0;
}
static int teardown(void **state) {
  tk_pair_close(*state);
  return 0;
}

/* What the host sees of a round: the kinds of the requests, in order ('p' pull, 'P' push),
** the progress events and the result. fault(i, kind) may replace the i-th answer. */
typedef struct host_log {
  char kinds[64];
  int n, progress, conflicts_emitted;
  cJSON *result;
} host_log;

typedef cJSON *(*fault_fn)(int i, char kind, void *ctx);

/* As a browser host hands a pulled page: the body as the text received, beside the input
** (sc_call_with_body), not inside it; cut_pull > 0 cuts that text of pull answer
** number cut_pull - 1 short. */
static int body_apart, cut_pull;

static cJSON *step_with(sc_store *st, cJSON *answer, int i) {
  if (!body_apart || !cJSON_IsObject(tk_get(answer, "body"))) return tk_call_json(st, "syncStep", tk_wrap("answer", answer));
  cJSON *body = cJSON_DetachItemFromObjectCaseSensitive(answer, "body");
  char *text = cJSON_PrintUnformatted(body), *in = NULL, *out = NULL;
  cJSON_Delete(body);
  if (cut_pull == i + 1) text[strlen(text) / 2] = 0;
  cJSON *wrapped = tk_wrap("answer", answer);
  in = cJSON_PrintUnformatted(wrapped);
  cJSON_Delete(wrapped);
  int rc = sc_call_with_body(st, "syncStep", in, text, &out);
  if (rc != SC_OK) fail_msg("syncStep with the body apart: %s", sc_errmsg(st));
  cJSON *step = cJSON_Parse(out);
  sc_free(out);
  free(in);
  free(text);
  return step;
}

static cJSON *answer_ok(cJSON *body) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddNumberToObject(a, "status", 200);
  cJSON_AddItemToObject(a, "body", body);
  return a;
}

static cJSON *answer_fail(int status, const char *error) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddNumberToObject(a, "status", status);
  cJSON_AddNumberToObject(a, "retryAfter", 0);
  cJSON_AddStringToObject(a, "error", error);
  return a;
}

static host_log run_round(sc_store *st, tk_server *srv, int pull_limit, fault_fn fault, void *ctx) {
  host_log log;
  memset(&log, 0, sizeof log);
  cJSON *step = tk_call(st, "syncStep", "{\"start\":{\"force\":true,\"pullLimit\":%d}}", pull_limit);
  for (int guard = 0; guard < 60; guard++) {
    const cJSON *req = tk_get(step, "request");
    if (cJSON_IsObject(tk_get(step, "progress"))) log.progress++;
    log.conflicts_emitted += cJSON_GetArraySize(tk_get(step, "newConflicts"));
    if (!cJSON_IsObject(req)) break;
    char kind = strcmp(tk_str(req, "kind"), "push") == 0 ? 'P' : 'p';
    assert_true(log.n < (int)sizeof log.kinds - 1);
    log.kinds[log.n] = kind;
    cJSON *answer = fault ? fault(log.n, kind, ctx) : NULL;
    log.n++;
    if (!answer) {
      if (kind == 'P') {
        assert_string_equal(tk_str(req, "method"), "POST");
        assert_string_equal(tk_str(req, "path"), "/push");
        answer = answer_ok(tk_server_push(srv, tk_get(req, "body")));
      } else {
        assert_string_equal(tk_str(req, "method"), "GET");
        assert_string_equal(tk_str(req, "path"), "/pull");
        answer = answer_ok(tk_server_pull(srv, tk_str(req, "query.cursor"), (int)tk_num(req, "query.limit")));
      }
    }
    cJSON_Delete(step);
    step = step_with(st, answer, log.n - 1);
  }
  assert_true(cJSON_IsNull(tk_get(step, "request")));
  log.result = cJSON_Duplicate(tk_get(step, "result"), 1);
  assert_true(cJSON_IsObject(log.result));
  cJSON_Delete(step);
  return log;
}

static void put(sc_store *st, const char *id, int v) {
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"%s\",\"v\":%d}}", id, v));
}

static int pending(sc_store *st) {
  cJSON *s = tk_call(st, "status", "{}");
  int n = (int)tk_num(s, "pending");
  cJSON_Delete(s);
  return n;
}

static int value(sc_store *st, const char *id) {
  cJSON *r = tk_call(st, "get", "{\"collection\":\"a\",\"id\":\"%s\"}", id);
  int v = cJSON_IsObject(tk_get(r, "record")) ? (int)tk_num(r, "record.v") : -1;
  cJSON_Delete(r);
  return v;
}

/* status().lastError, or NULL (owned). */
static char *last_error(sc_store *st) {
  cJSON *s = tk_call(st, "status", "{}");
  const cJSON *v = tk_get(s, "lastError");
  char *out = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
  cJSON_Delete(s);
  return out;
}

/* The cursor the next pull would send (owned). */
static char *cursor_of(sc_store *st) {
  cJSON *req = tk_call(st, "pullRequest", "{}");
  char *out = strdup(tk_str(req, "cursor"));
  cJSON_Delete(req);
  return out;
}

static void round_should_pull_then_push_then_pull_again(void **state) {
  fx *f = *state;
  for (int i = 0; i < 5; i++) { char id[8]; snprintf(id, sizeof id, "a%d", i); put(f->a, id, i); }
  host_log la = run_round(f->a, &f->srv, 2, NULL, NULL);
  /* nothing to pull; 5 ops in batches of 2; then a pull of what the push applied */
  assert_string_equal(la.kinds, "pPPPppp");
  assert_int_equal(tk_num(la.result, "pushed"), 5);
  assert_int_equal(pending(f->a), 0);
  put(f->b, "b0", 9);
  host_log lb = run_round(f->b, &f->srv, 2, NULL, NULL);
  assert_int_equal(tk_num(lb.result, "pulled"), 5);
  assert_int_equal(tk_num(lb.result, "pushed"), 1);
  assert_int_equal(lb.kinds[0], 'p');
  assert_int_equal(value(f->b, "a3"), 3);
  assert_true(lb.progress >= 5);
  assert_null(tk_get(lb.result, "error"));
  cJSON_Delete(la.result);
  cJSON_Delete(lb.result);
  /* a round with nothing pushed makes no second pull */
  host_log again = run_round(f->b, &f->srv, 100, NULL, NULL);
  assert_string_equal(again.kinds, "p");
  cJSON_Delete(again.result);
}

/* The same round with every body handed apart as text; a page cut short is refused whole. */
static void an_answer_body_given_apart_should_apply_as_the_same_body_inside(void **state) {
  fx *f = *state;
  body_apart = 1;
  for (int i = 0; i < 5; i++) { char id[8]; snprintf(id, sizeof id, "a%d", i); put(f->a, id, i); }
  host_log la = run_round(f->a, &f->srv, 2, NULL, NULL);
  assert_string_equal(la.kinds, "pPPPppp");
  assert_int_equal(tk_num(la.result, "pushed"), 5);
  cut_pull = 1;   /* b's first page, cut in half: not JSON */
  host_log cut = run_round(f->b, &f->srv, 2, NULL, NULL);
  assert_non_null(strstr(tk_str(cut.result, "error"), "not JSON"));
  assert_int_equal(value(f->b, "a0"), -1);
  char *cursor = cursor_of(f->b);
  assert_true(!cursor || !*cursor);
  free(cursor);
  cut_pull = 0;
  host_log lb = run_round(f->b, &f->srv, 2, NULL, NULL);
  body_apart = 0;
  assert_int_equal(tk_num(lb.result, "pulled"), 5);
  assert_int_equal(value(f->b, "a3"), 3);
  assert_null(tk_get(lb.result, "error"));
  cJSON_Delete(la.result);
  cJSON_Delete(cut.result);
  cJSON_Delete(lb.result);
}

static cJSON *gone_always(int i, char kind, void *ctx) {
  (void)i;
  int *n = ctx;
  if (kind != 'p') return NULL;
  (*n)++;
  return answer_fail(410, "HTTP 410 on /pull: cursor expired");
}

static cJSON *gone_once(int i, char kind, void *ctx) {
  int *n = ctx;
  if (kind != 'p' || i != 0) return NULL;
  (*n)++;
  return answer_fail(410, "HTTP 410 on /pull: cursor expired");
}

static void a_410_should_resync_once_and_a_second_should_end_the_round(void **state) {
  fx *f = *state;
  put(f->a, "x", 1);
  host_log la = run_round(f->a, &f->srv, 10, NULL, NULL);
  cJSON_Delete(la.result);
  int n = 0;
  host_log lb = run_round(f->b, &f->srv, 10, gone_once, &n);
  assert_int_equal(n, 1);
  assert_null(tk_get(lb.result, "error"));
  assert_int_equal(value(f->b, "x"), 1);
  cJSON_Delete(lb.result);
  n = 0;
  host_log lc = run_round(f->b, &f->srv, 10, gone_always, &n);
  assert_int_equal(n, 2);
  assert_string_equal(lc.kinds, "pp");
  assert_string_equal(tk_str(lc.result, "error"), "HTTP 410 on /pull: cursor expired");
  cJSON_Delete(lc.result);
}

static cJSON *push_503(int i, char kind, void *ctx) {
  (void)i; (void)ctx;
  return kind == 'P' ? answer_fail(503, "HTTP 503 on /push") : NULL;
}

static void a_push_failure_should_end_the_round_and_keep_every_op(void **state) {
  fx *f = *state;
  put(f->a, "x", 1);
  put(f->a, "y", 2);
  put(f->a, "z", 3);
  host_log la = run_round(f->a, &f->srv, 10, push_503, NULL);
  assert_string_equal(la.kinds, "pP");
  assert_string_equal(tk_str(la.result, "error"), "HTTP 503 on /push");
  assert_int_equal(tk_num(la.result, "pushed"), 0);
  assert_int_equal(pending(f->a), 3);
  char *err = last_error(f->a);
  assert_non_null(err);
  assert_string_equal(err, "HTTP 503 on /push");
  free(err);
  cJSON_Delete(la.result);
  host_log ok = run_round(f->a, &f->srv, 10, NULL, NULL);
  assert_int_equal(tk_num(ok.result, "pushed"), 3);
  assert_int_equal(pending(f->a), 0);
  assert_null(last_error(f->a));
  cJSON_Delete(ok.result);
}

static cJSON *bad_page(int i, char kind, void *ctx) {
  (void)ctx;
  if (kind != 'p' || i != 0) return NULL;
  return answer_ok(cJSON_Parse("{\"changes\":[{\"seq\":1,\"collection\":\"a\",\"id\":\"q\",\"version\":1,\"data\":{\"v\":5}},"
                               "{\"seq\":2,\"collection\":\"a\",\"id\":\"y\",\"version\":1,\"data\":7}],\"cursor\":\"2\",\"has_more\":false}"));
}

static cJSON *bad_push_answer(int i, char kind, void *ctx) {
  (void)i; (void)ctx;
  return kind == 'P' ? answer_ok(cJSON_Parse("{\"results\":7}")) : NULL;
}

static void a_refused_answer_should_end_the_round_and_change_nothing(void **state) {
  fx *f = *state;
  host_log lb = run_round(f->b, &f->srv, 10, bad_page, NULL);
  assert_string_equal(lb.kinds, "p");
  assert_non_null(strstr(tk_str(lb.result, "error"), "data"));
  assert_int_equal(value(f->b, "q"), -1);     /* the good change of the page is not applied either */
  char *cursor = cursor_of(f->b);
  assert_true(!cursor || !*cursor);
  free(cursor);
  cJSON_Delete(lb.result);
  put(f->b, "r", 1);
  host_log lp = run_round(f->b, &f->srv, 10, bad_push_answer, NULL);
  assert_string_equal(lp.kinds, "pP");
  assert_non_null(tk_get(lp.result, "error"));
  assert_int_equal(pending(f->b), 1);
  cJSON_Delete(lp.result);
  /* the op kept its op_id: the next round sends it and the server applies it once */
  host_log ok = run_round(f->b, &f->srv, 10, NULL, NULL);
  assert_int_equal(tk_num(ok.result, "pushed"), 1);
  assert_int_equal(pending(f->b), 0);
  cJSON_Delete(ok.result);
}

static void ops_in_doubt_should_go_first_with_their_op_ids(void **state) {
  fx *f = *state;
  put(f->a, "x", 1);
  /* a round that hands out a push and dies before the answer (the context closed) */
  cJSON *step = tk_call(f->a, "syncStep", "{\"start\":{}}");
  assert_string_equal(tk_str(step, "request.kind"), "pull");
  cJSON *pull = answer_ok(tk_server_pull(&f->srv, "", 10));
  cJSON_Delete(step);
  step = tk_call_json(f->a, "syncStep", tk_wrap("answer", pull));
  assert_string_equal(tk_str(step, "request.kind"), "push");
  cJSON *sent = tk_server_push(&f->srv, tk_get(step, "request.body"));   /* applied; answer lost */
  cJSON_Delete(sent);
  cJSON_Delete(step);
  /* the next round starts over: the op in doubt is resent first, and is a duplicate */
  host_log la = run_round(f->a, &f->srv, 10, NULL, NULL);
  assert_int_equal(la.kinds[0], 'P');
  assert_int_equal(la.kinds[1], 'p');
  assert_int_equal(tk_num(la.result, "pushed"), 1);
  assert_int_equal(tk_num(la.result, "conflicts"), 0);
  assert_int_equal(pending(f->a), 0);
  cJSON_Delete(la.result);
}

static void conflicts_should_come_out_of_the_step_that_opened_them(void **state) {
  fx *f = *state;
  put(f->a, "x", 1);
  cJSON_Delete(run_round(f->a, &f->srv, 10, NULL, NULL).result);
  cJSON_Delete(run_round(f->b, &f->srv, 10, NULL, NULL).result);
  put(f->a, "x", 2);
  put(f->b, "x", 3);
  cJSON_Delete(run_round(f->a, &f->srv, 10, NULL, NULL).result);
  host_log lb = run_round(f->b, &f->srv, 10, NULL, NULL);
  assert_int_equal(tk_num(lb.result, "conflicts"), 1);
  assert_int_equal(lb.conflicts_emitted, 1);
  cJSON_Delete(lb.result);
}

static void bad_step_inputs_should_be_refused(void **state) {
  fx *f = *state;
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{}");
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"answer\":{\"status\":200,\"body\":{}}}");   /* no round */
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"start\":{},\"answer\":{}}");
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"start\":7}");
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"start\":{\"pullLimit\":0}}");
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"start\":{\"force\":\"yes\"}}");
  /* a round ended by the host records its error */
  cJSON_Delete(tk_call(f->a, "syncStep", "{\"start\":{}}"));
  cJSON *end = tk_call(f->a, "syncStep", "{\"end\":{\"error\":\"storage failed\"}}");
  assert_string_equal(tk_str(end, "result.error"), "storage failed");
  cJSON_Delete(end);
  tk_call_fails(f->a, SC_EBADINPUT, "syncStep", "{\"answer\":{\"status\":200,\"body\":{}}}");   /* over */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(round_should_pull_then_push_then_pull_again, setup, teardown),
    cmocka_unit_test_setup_teardown(an_answer_body_given_apart_should_apply_as_the_same_body_inside, setup, teardown),
    cmocka_unit_test_setup_teardown(a_410_should_resync_once_and_a_second_should_end_the_round, setup, teardown),
    cmocka_unit_test_setup_teardown(a_push_failure_should_end_the_round_and_keep_every_op, setup, teardown),
    cmocka_unit_test_setup_teardown(a_refused_answer_should_end_the_round_and_change_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(ops_in_doubt_should_go_first_with_their_op_ids, setup, teardown),
    cmocka_unit_test_setup_teardown(conflicts_should_come_out_of_the_step_that_opened_them, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_step_inputs_should_be_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
