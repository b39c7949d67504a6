/* test_legacy.c — importLegacy of an egglogu_data-like blob. */
#include "sc_testkit.h"

static const char *CFG = "{\"name\":\"egg\",\"deviceId\":\"d1\",\"collections\":{"
  "\"flocks\":{},\"feedPurchases\":{},\"farm\":{},\"auditLog\":{\"strategy\":\"append-only\"}}}";

static const char *BLOB = "{\"flocks\":[{\"id\":\"f1\",\"name\":\"A\",\"_updatedAt\":\"2024-06-15T14:32:00.000Z\"},{\"name\":\"B\"},{\"id\":42}],"
  "\"feed\":{\"purchases\":[{\"id\":\"p1\",\"kg\":20}],\"consumption\":[]},"
  "\"farm\":{\"name\":\"Granja\",\"updated_at\":\"not a time\"},"
  "\"auditLog\":[{\"id\":\"e1\",\"msg\":\"x\"}],\"settings\":{\"lang\":\"es\"}}";

static int setup(void **state) {
  tk_env *env = calloc(1, sizeof *env);
  env->now = 1735732800000LL;
  env->rng = 9;
  *state = env;
  return 0;
}
static int teardown(void **state) { free(*state); return 0; }

static const char *MAPPING = "{\"flocks\":\"flocks\",\"feed.purchases\":\"feedPurchases\","
                             "\"farm\":{\"collection\":\"farm\",\"singleton\":true},\"auditLog\":\"auditLog\"}";

static void import_legacy_should_map_paths_singletons_and_report_unmapped(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON *blob = cJSON_CreateString(BLOB);
  char *blob_json = cJSON_PrintUnformatted(blob);
  cJSON_Delete(blob);
  cJSON *r = tk_call(st, "importLegacy", "{\"blob\":%s,\"mapping\":%s}", blob_json, MAPPING);
  free(blob_json);
  assert_int_equal((int)tk_num(r, "imported.flocks"), 3);
  assert_int_equal((int)tk_num(r, "imported.feedPurchases"), 1);
  assert_int_equal((int)tk_num(r, "imported.farm"), 1);
  assert_int_equal((int)tk_num(r, "imported.auditLog"), 1);
  const cJSON *un = tk_get(r, "unmapped");
  assert_int_equal(cJSON_GetArraySize(un), 2);
  assert_string_equal(tk_str(r, "unmapped.0"), "feed.consumption");
  assert_string_equal(tk_str(r, "unmapped.1"), "settings");
  cJSON_Delete(r);
  cJSON *g = tk_call(st, "get", "{\"collection\":\"farm\",\"id\":\"farm\"}");
  assert_string_equal(tk_str(g, "record.name"), "Granja");
  cJSON_Delete(g);
  g = tk_call(st, "get", "{\"collection\":\"flocks\",\"id\":\"42\"}");
  assert_non_null(tk_get(g, "record.id"));
  cJSON_Delete(g);
  /* queued as creates; the kept _updatedAt is the op's updated_at */
  cJSON *p = tk_call(st, "pushRequest", "{\"limit\":100}");
  assert_int_equal(cJSON_GetArraySize(tk_get(p, "body.ops")), 6);
  assert_string_equal(tk_str(p, "body.ops.0.kind"), "create");
  assert_string_equal(tk_str(p, "body.ops.0.updated_at"), "2024-06-15T14:32:00.000Z");
  cJSON_Delete(p);
  sc_close(st);
}

static void import_legacy_with_pending_false_should_queue_nothing(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "importLegacy", "{\"blob\":%s,\"mapping\":%s,\"pending\":false}", BLOB, MAPPING));
  cJSON *s = tk_call(st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
  cJSON *c = tk_call(st, "count", "{\"collection\":\"flocks\"}");
  assert_int_equal((int)tk_num(c, "count"), 3);
  cJSON_Delete(c);
  sc_close(st);
}

static void import_legacy_should_change_nothing_when_the_blob_is_malformed(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  tk_call_fails(st, SC_EBADINPUT, "importLegacy", "{\"blob\":\"{not json\",\"mapping\":%s}", MAPPING);
  tk_call_fails(st, SC_EBADINPUT, "importLegacy", "{\"blob\":{\"flocks\":[{\"id\":\"ok\"},7]},\"mapping\":%s}", MAPPING);
  tk_call_fails(st, SC_EBADINPUT, "importLegacy", "{\"blob\":{\"farm\":[1]},\"mapping\":%s}", MAPPING);
  tk_call_fails(st, SC_EUNKNOWNCOLL, "importLegacy", "{\"blob\":{},\"mapping\":{\"x\":\"nope\"}}");
  cJSON *c = tk_call(st, "count", "{\"collection\":\"flocks\"}");
  assert_int_equal((int)tk_num(c, "count"), 0);
  cJSON_Delete(c);
  sc_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(import_legacy_should_map_paths_singletons_and_report_unmapped, setup, teardown),
    cmocka_unit_test_setup_teardown(import_legacy_with_pending_false_should_queue_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(import_legacy_should_change_nothing_when_the_blob_is_malformed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
