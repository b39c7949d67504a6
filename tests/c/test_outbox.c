/* test_outbox.c — coalescing, batching, retry schedule, rejection, retryFailed, discard. */
#include "sc_testkit.h"

static const char *CFG = "{\"name\":\"t\",\"deviceId\":\"d1\",\"collections\":{\"a\":{}},"
                         "\"sync\":{\"batchSize\":2,\"retrySchedule\":[30,60]}}";

static int setup(void **state) {
  tk_env *env = calloc(1, sizeof *env);
  env->now = 1735732800000LL;
  env->rng = 11;
  *state = env;
  return 0;
}
static int teardown(void **state) { free(*state); return 0; }

static int n_ops(sc_store *st) {
  cJSON *o = tk_call(st, "outbox", "{}");
  int n = cJSON_GetArraySize(tk_get(o, "ops"));
  cJSON_Delete(o);
  return n;
}

static void outbox_should_coalesce_create_and_updates_into_one_create(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":3}}"));
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 1);
  assert_string_equal(tk_str(o, "ops.0.kind"), "create");
  assert_string_equal(tk_str(o, "ops.0.status"), "pending");
  assert_string_equal(tk_str(o, "ops.0.recordId"), "r");
  assert_true(cJSON_IsNull(tk_get(o, "ops.0.nextAttemptAt")));
  cJSON_Delete(o);
  cJSON *p = tk_call(st, "pushRequest", "{}");
  assert_int_equal((int)tk_num(p, "total"), 1);
  assert_int_equal((int)tk_num(p, "body.ops.0.data.v"), 3);
  assert_int_equal((int)tk_num(p, "body.ops.0.base_version"), 0);
  assert_non_null(tk_str(p, "body.ops.0.hlc"));
  assert_string_equal(tk_str(p, "body.device_id"), "d1");
  cJSON_Delete(p);
  sc_close(st);
}

static void outbox_should_send_nothing_for_a_create_deleted_before_push(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\"}}"));
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"a\",\"id\":\"r\"}"));
  assert_int_equal(n_ops(st), 0);
  cJSON *p = tk_call(st, "pushRequest", "{}");
  assert_true(cJSON_IsNull(tk_get(p, "body")));
  cJSON_Delete(p);
  sc_close(st);
}

/* SPEC §2/§11: delete is a soft delete even when nothing was ever pushed. */
static void create_deleted_before_push_should_keep_its_tombstone(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"s\",\"v\":2}}"));
  cJSON *d = tk_call(st, "delete", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_true(cJSON_IsTrue(tk_get(d, "deleted")));
  assert_string_equal(tk_str(d, "changed.0.ids.0"), "r");
  cJSON_Delete(d);
  cJSON *l = tk_call(st, "list", "{\"collection\":\"a\",\"includeDeleted\":true}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 2);
  assert_string_equal(tk_str(l, "records.0.id"), "r");
  assert_true(cJSON_IsTrue(tk_get(l, "records.0._deleted")));
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records.0")), 2);   /* {id, _deleted} only */
  assert_string_equal(tk_str(l, "records.1.id"), "s");
  cJSON_Delete(l);
  l = tk_call(st, "list", "{\"collection\":\"a\"}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  cJSON_Delete(l);
  cJSON *c = tk_call(st, "count", "{\"collection\":\"a\"}");
  assert_int_equal((int)tk_num(c, "count"), 1);
  cJSON_Delete(c);
  assert_true(tk_record_gone(st, "a", "r"));
  /* a second delete finds the tombstone: nothing to delete */
  d = tk_call(st, "delete", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_false(cJSON_IsTrue(tk_get(d, "deleted")));
  cJSON_Delete(d);
  /* the outbox holds only s's create: nothing is sent for r */
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 1);
  assert_string_equal(tk_str(o, "ops.0.recordId"), "s");
  cJSON_Delete(o);
  char ids[64];
  assert_string_equal(tk_push_ids(st, ids, sizeof ids), "s");
  cJSON *s = tk_call(st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 1);
  cJSON_Delete(s);
  /* written again, the record comes back as a create */
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":3}}"));
  o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 2);
  assert_string_equal(tk_str(o, "ops.1.recordId"), "r");
  assert_string_equal(tk_str(o, "ops.1.kind"), "create");
  cJSON_Delete(o);
  sc_close(st);
}

/* A temp-id record created and deleted before push: its tombstone stays, and a ref to
** it can never be mapped, so the op holding the ref is not held back forever. */
static void ref_to_a_tmp_record_deleted_before_push_should_not_hold_the_op(void **state) {
  sc_store *st = tk_open_at(*state, "{\"name\":\"t\",\"deviceId\":\"d1\",\"collections\":{\"pets\":{\"idFrom\":\"server\"},"
                                    "\"appts\":{\"refs\":{\"petId\":\"pets\"}}}}");
  cJSON *pet = tk_call(st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}");
  char pid[64];
  snprintf(pid, sizeof pid, "%s", tk_str(pet, "record.id"));
  cJSON_Delete(pet);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"appts\",\"record\":{\"id\":\"ap\",\"petId\":\"%s\"}}", pid));
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"pets\",\"id\":\"%s\"}", pid));
  cJSON *l = tk_call(st, "list", "{\"collection\":\"pets\",\"includeDeleted\":true}");
  assert_string_equal(tk_str(l, "records.0.id"), pid);
  cJSON_Delete(l);
  char ids[64];
  assert_string_equal(tk_push_ids(st, ids, sizeof ids), "ap");
  sc_close(st);
}

static void outbox_should_never_coalesce_into_an_inflight_op(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_server srv;
  tk_server_init(&srv);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON *p = tk_call(st, "pushRequest", "{}");
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  assert_int_equal(n_ops(st), 2);
  /* the second op waits behind the inflight one */
  cJSON *p2 = tk_call(st, "pushRequest", "{}");
  assert_true(cJSON_IsNull(tk_get(p2, "body")));
  cJSON_Delete(p2);
  cJSON *resp = tk_server_push(&srv, tk_get(p, "body"));
  cJSON_Delete(p);
  cJSON_Delete(tk_call_json(st, "pushResponse", tk_wrap("response", resp)));
  p = tk_call(st, "pushRequest", "{}");
  assert_string_equal(tk_str(p, "body.ops.0.kind"), "update");
  assert_int_equal((int)tk_num(p, "body.ops.0.base_version"), 1);
  assert_int_equal((int)tk_num(p, "body.ops.0.data.v"), 2);
  cJSON_Delete(p);
  tk_server_free(&srv);
  sc_close(st);
}

static void outbox_should_fold_update_then_delete_into_delete(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_server srv;
  tk_server_init(&srv);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  tk_sync(st, &srv, 100);
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"a\",\"id\":\"r\"}"));
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 1);
  assert_string_equal(tk_str(o, "ops.0.kind"), "delete");
  cJSON_Delete(o);
  tk_round r = tk_sync(st, &srv, 100);
  assert_int_equal(r.pushed, 1);
  assert_true(cJSON_IsNull(tk_get(tk_server_find(&srv, "a", "r"), "data")));
  cJSON *l = tk_call(st, "list", "{\"collection\":\"a\",\"includeDeleted\":true}");
  assert_true(cJSON_IsTrue(tk_get(l, "records.0._deleted")));
  cJSON_Delete(l);
  tk_server_free(&srv);
  sc_close(st);
}

static void push_should_go_oldest_first_in_batches(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  for (int i = 0; i < 5; i++) cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r%d\"}}", 4 - i));
  cJSON *p = tk_call(st, "pushRequest", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(p, "body.ops")), 2);
  assert_string_equal(tk_str(p, "body.ops.0.id"), "r4");
  assert_string_equal(tk_str(p, "body.ops.1.id"), "r3");
  assert_int_equal((int)tk_num(p, "total"), 5);
  cJSON_Delete(p);
  sc_close(st);
}

static void push_failure_should_back_off_on_the_schedule_then_fail(void **state) {
  tk_env *env = *state;
  sc_store *st = tk_open_at(env, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\"}}"));
  cJSON_Delete(tk_call(st, "pushRequest", "{}"));
  cJSON *f = tk_call(st, "pushFailure", "{\"status\":503,\"error\":\"down\"}");
  assert_int_equal((int)tk_num(f, "failed"), 0);
  cJSON_Delete(f);
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "pending");
  assert_int_equal((int)tk_num(o, "ops.0.attempts"), 1);
  assert_string_equal(tk_str(o, "ops.0.nextAttemptAt"), "2025-01-01T12:00:30.000Z");
  assert_string_equal(tk_str(o, "ops.0.lastError"), "down");
  cJSON_Delete(o);
  /* waiting out the backoff: not due, unless forced */
  cJSON *p = tk_call(st, "pushRequest", "{}");
  assert_true(cJSON_IsNull(tk_get(p, "body")));
  cJSON_Delete(p);
  cJSON *w = tk_call(st, "nextWakeAt", "{}");
  assert_string_equal(tk_str(w, "at"), "2025-01-01T12:00:30.000Z");
  cJSON_Delete(w);
  /* 429 with a longer Retry-After wins over the schedule */
  p = tk_call(st, "pushRequest", "{\"force\":true}");
  assert_false(cJSON_IsNull(tk_get(p, "body")));
  cJSON_Delete(p);
  cJSON_Delete(tk_call(st, "pushFailure", "{\"status\":429,\"retryAfter\":600}"));
  o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.nextAttemptAt"), "2025-01-01T12:10:00.000Z");
  cJSON_Delete(o);
  env->now += 600000;
  cJSON_Delete(tk_call(st, "pushRequest", "{}"));
  f = tk_call(st, "pushFailure", "{\"status\":0}");
  assert_int_equal((int)tk_num(f, "failed"), 1);
  cJSON_Delete(f);
  o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "failed");
  cJSON_Delete(o);
  cJSON *s = tk_call(st, "status", "{}");
  assert_int_equal((int)tk_num(s, "failed"), 1);
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
  cJSON *r = tk_call(st, "retryFailed", "{}");
  assert_int_equal((int)tk_num(r, "retried"), 1);
  cJSON_Delete(r);
  o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "pending");
  cJSON_Delete(o);
  sc_close(st);
}

static void failed_op_should_not_block_the_ops_behind_it(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r1\"}}"));
  cJSON_Delete(tk_call(st, "pushRequest", "{\"limit\":1}"));
  cJSON_Delete(tk_call(st, "pushFailure", "{\"status\":422,\"error\":\"field x is bad\"}"));
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r2\"}}"));
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "rejected");
  assert_string_equal(tk_str(o, "ops.0.lastError"), "field x is bad");
  cJSON_Delete(o);
  char ids[64];
  assert_string_equal(tk_push_ids(st, ids, sizeof ids), "r2");
  sc_close(st);
}

static void discard_should_return_the_record_to_its_server_version(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_server srv;
  tk_server_init(&srv);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"n\",\"v\":1}}"));
  tk_sync(st, &srv, 100);
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"new\"}}"));
  cJSON_Delete(tk_call(st, "pushRequest", "{}"));
  cJSON_Delete(tk_call(st, "pushFailure", "{\"status\":400,\"error\":\"no\"}"));
  cJSON *o = tk_call(st, "outbox", "{}");
  char op1[64], op2[64];
  snprintf(op1, sizeof op1, "%s", tk_str(o, "ops.0.opId"));
  snprintf(op2, sizeof op2, "%s", tk_str(o, "ops.1.opId"));
  cJSON_Delete(o);
  tk_call_fails(st, SC_ENOTFOUND, "discard", "{\"opId\":\"nope\"}");
  cJSON *d = tk_call(st, "discard", "{\"opId\":\"%s\"}", op1);
  assert_string_equal(tk_str(d, "changed.0.ids.0"), "r");
  cJSON_Delete(d);
  cJSON *g = tk_call(st, "get", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 1);
  cJSON_Delete(g);
  cJSON_Delete(tk_call(st, "discard", "{\"opId\":\"%s\"}", op2));
  assert_true(tk_record_gone(st, "a", "new"));
  assert_int_equal(n_ops(st), 0);
  tk_server_free(&srv);
  sc_close(st);
}

static void lost_push_answer_should_resend_same_op_id_and_get_duplicate(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_server srv;
  tk_server_init(&srv);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON *p = tk_call(st, "pushRequest", "{}");
  char op[64];
  snprintf(op, sizeof op, "%s", tk_str(p, "body.ops.0.op_id"));
  cJSON_Delete(tk_server_push(&srv, tk_get(p, "body")));   /* applied, answer lost */
  cJSON_Delete(p);
  cJSON_Delete(tk_call(st, "pushFailure", "{\"status\":0}"));
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  p = tk_call(st, "pushRequest", "{\"force\":true}");
  assert_string_equal(tk_str(p, "body.ops.0.op_id"), op);
  assert_int_equal((int)tk_num(p, "body.ops.0.data.v"), 1);  /* frozen: resent byte for byte */
  cJSON *resp = tk_server_push(&srv, tk_get(p, "body"));
  assert_string_equal(tk_str(resp, "results.0.status"), "duplicate");
  cJSON_Delete(p);
  cJSON_Delete(tk_call_json(st, "pushResponse", tk_wrap("response", resp)));
  tk_round r = tk_sync(st, &srv, 100);
  assert_int_equal(r.pushed, 1);
  assert_int_equal((int)tk_num(tk_server_find(&srv, "a", "r"), "data.v"), 2);
  assert_int_equal(n_ops(st), 0);
  tk_server_free(&srv);
  sc_close(st);
}

/* Sim seed 883 of 10,000: an op sent, its answer lost, then errors until it failed, may be on
** the server. A write on its record must not replace it with a new op_id (a second create):
** the failed op goes again as it was, under its own op_id, and the write queues behind it. */
static void write_on_a_failed_sent_op_should_revive_it_not_replace_it(void **state) {
  tk_env *env = *state;
  sc_store *st = tk_open_at(env, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON *o = NULL;
  for (int i = 0; i < 20; i++) {   /* fail every attempt until the op gives up */
    cJSON_Delete(tk_call(st, "pushRequest", "{\"force\":true}"));
    cJSON_Delete(tk_call(st, "pushFailure", "{\"status\":0}"));
    o = tk_call(st, "outbox", "{}");
    int failed = strcmp(tk_str(o, "ops.0.status"), "failed") == 0;
    if (failed) break;
    cJSON_Delete(o);
    o = NULL;
  }
  assert_non_null(o);
  char first[64];
  snprintf(first, sizeof first, "%s", tk_str(o, "ops.0.opId"));
  cJSON_Delete(o);
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 2);
  assert_string_equal(tk_str(o, "ops.0.opId"), first);          /* the sent op, revived */
  assert_string_equal(tk_str(o, "ops.0.status"), "pending");
  assert_string_equal(tk_str(o, "ops.0.kind"), "create");
  assert_string_equal(tk_str(o, "ops.1.kind"), "update");       /* the new write, behind it */
  cJSON_Delete(o);
  cJSON *p = tk_call(st, "pushRequest", "{}");
  assert_string_equal(tk_str(p, "body.ops.0.op_id"), first);
  cJSON_Delete(p);
  sc_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(outbox_should_coalesce_create_and_updates_into_one_create, setup, teardown),
    cmocka_unit_test_setup_teardown(outbox_should_send_nothing_for_a_create_deleted_before_push, setup, teardown),
    cmocka_unit_test_setup_teardown(create_deleted_before_push_should_keep_its_tombstone, setup, teardown),
    cmocka_unit_test_setup_teardown(ref_to_a_tmp_record_deleted_before_push_should_not_hold_the_op, setup, teardown),
    cmocka_unit_test_setup_teardown(outbox_should_never_coalesce_into_an_inflight_op, setup, teardown),
    cmocka_unit_test_setup_teardown(outbox_should_fold_update_then_delete_into_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(push_should_go_oldest_first_in_batches, setup, teardown),
    cmocka_unit_test_setup_teardown(push_failure_should_back_off_on_the_schedule_then_fail, setup, teardown),
    cmocka_unit_test_setup_teardown(write_on_a_failed_sent_op_should_revive_it_not_replace_it, setup, teardown),
    cmocka_unit_test_setup_teardown(failed_op_should_not_block_the_ops_behind_it, setup, teardown),
    cmocka_unit_test_setup_teardown(discard_should_return_the_record_to_its_server_version, setup, teardown),
    cmocka_unit_test_setup_teardown(lost_push_answer_should_resend_same_op_id_and_get_duplicate, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
