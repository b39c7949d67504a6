/* test_api.c — sc_call plumbing: unknown methods, input shapes, status, normalizeTime,
** atomicity of a failing call, no crash on hostile inputs. */
#include "sc_testkit.h"

static const char *CFG = "{\"name\":\"t\",\"deviceId\":\"d1\",\"collections\":{\"a\":{}}}";

static int setup(void **state) {
  tk_env *env = calloc(1, sizeof *env);
  env->now = 1735732800000LL;
  env->rng = 13;
  *state = env;
  return 0;
}
static int teardown(void **state) { free(*state); return 0; }

static void call_should_reject_unknown_methods_and_non_object_input(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_call_fails(st, SC_EBADINPUT, "frobnicate", "{}");
  tk_call_fails(st, SC_EBADINPUT, "get", "[1,2]");
  tk_call_fails(st, SC_EBADINPUT, "get", "{\"collection\":\"a\"}");
  tk_call_fails(st, SC_EBADINPUT, "get", "{\"collection\":5,\"id\":\"x\"}");
  char *out = NULL;
  assert_int_equal(sc_call(st, NULL, "{}", &out), SC_EBADINPUT);
  assert_int_equal(sc_call(NULL, "get", "{}", &out), SC_ECLOSED);
  assert_int_equal(sc_call(st, "status", NULL, &out), SC_OK);
  sc_free(out);
  sc_close(st);
}

static void status_should_count_pending_failed_and_conflicts(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"x\"}}"));
  cJSON *s = tk_call(st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 1);
  assert_int_equal((int)tk_num(s, "failed"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  assert_true(cJSON_IsNull(tk_get(s, "lastSyncAt")));
  assert_string_equal(tk_str(s, "deviceId"), "d1");
  cJSON_Delete(s);
  sc_close(st);
}

static void normalize_time_method_should_answer_canonical_utc_or_say_why(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON *t = tk_call(st, "normalizeTime", "{\"value\":\"2025-01-01 13:00:00+01:00\"}");
  assert_string_equal(tk_str(t, "time"), "2025-01-01T12:00:00.000Z");
  cJSON_Delete(t);
  t = tk_call(st, "normalizeTime", "{\"value\":\"2025-01-01\",\"assumeOffsetMinutes\":60}");
  assert_string_equal(tk_str(t, "time"), "2024-12-31T23:00:00.000Z");
  cJSON_Delete(t);
  tk_call_fails(st, SC_EBADINPUT, "normalizeTime", "{\"value\":\"2025-02-30\"}");
  tk_call_fails(st, SC_EBADINPUT, "normalizeTime", "{\"value\":true}");
  sc_close(st);
}

static void a_failing_call_should_leave_the_clock_and_store_unchanged(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"x\",\"v\":1}}"));
  cJSON *p1 = tk_call(st, "pushRequest", "{}");
  char hlc1[128];
  snprintf(hlc1, sizeof hlc1, "%s", tk_str(p1, "body.ops.0.hlc"));
  cJSON_Delete(p1);
  tk_call_fails(st, SC_EPROTOCOL, "pushResponse", "{\"response\":{\"results\":[{\"op_id\":1}]}}");
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "inflight");
  cJSON_Delete(o);
  sc_close(st);
}

static void hostile_inputs_should_never_crash(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON *all = cJSON_Parse(sc_methods_json());   /* every method the core dispatches */
  assert_non_null(all);
  assert_true(cJSON_GetArraySize(all) >= 25);
  const cJSON *method;
  const char *inputs[] = {"{}", "{\"collection\":\"a\",\"record\":null,\"id\":[],\"fields\":\"x\"}",
                          "{\"response\":{\"results\":[{}],\"changes\":[null]}}", "{\"response\":null}",
                          "{\"collection\":\"a\",\"where\":{\"a\":{}},\"limit\":1e300}", "{\"blob\":[],\"mapping\":7}",
                          "{\"response\":{\"changes\":[{\"collection\":\"a\",\"id\":\"\",\"version\":1}],\"cursor\":1,\"has_more\":false}}",
                          "{\"status\":\"x\",\"retryAfter\":{}}", "{\"conflictId\":\"x\",\"merged\":[1]}",
                          "{\"response\":{\"results\":[{\"op_id\":\"x\",\"status\":\"applied\",\"version\":1,\"id\":\"a\",\"record\":{\"id\":\"a\",\"version\":\"1\"}}]}}",
                          "{\"value\":\"9999-12-31T23:59:59.999+99:99\"}", "\"str\"", "null", "{\"a\":"};
  cJSON_ArrayForEach(method, all)
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
      char *out = NULL;
      int rc = sc_call(st, method->string, inputs[i], &out);
      assert_true(rc >= SC_OK && rc <= SC_EINTERNAL);
      assert_true((rc == SC_OK) == (out != NULL));
      if (rc != SC_OK) assert_true(strlen(sc_errmsg(st)) > 0);
      sc_free(out);
    }
  cJSON_Delete(all);
  sc_close(st);
}

/* The host takes the write lock by the core's own list (js-glue/storage.js has none): the
** reads of docs/CORE_API.md are false, every method that stores something true. */
static void methods_should_say_which_write(void **state) {
  (void)state;
  cJSON *all = cJSON_Parse(sc_methods_json());
  const char *reads[] = {"get", "list", "count", "conflicts", "archive", "outbox", "status", "normalizeTime",
                         "nextWakeAt", "pullRequest"};
  const char *writes[] = {"put", "patch", "delete", "resolve", "retryFailed", "discard", "importLegacy",
                          "pullResponse", "pullGone", "pushRequest", "pushResponse", "pushFailure", "syncStep"};
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(all, reads[i])));
  for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(all, writes[i])));
  assert_null(cJSON_GetObjectItemCaseSensitive(all, "nope"));
  cJSON_Delete(all);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(call_should_reject_unknown_methods_and_non_object_input, setup, teardown),
    cmocka_unit_test_setup_teardown(status_should_count_pending_failed_and_conflicts, setup, teardown),
    cmocka_unit_test_setup_teardown(normalize_time_method_should_answer_canonical_utc_or_say_why, setup, teardown),
    cmocka_unit_test_setup_teardown(a_failing_call_should_leave_the_clock_and_store_unchanged, setup, teardown),
    cmocka_unit_test(methods_should_say_which_write),
    cmocka_unit_test_setup_teardown(hostile_inputs_should_never_crash, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
