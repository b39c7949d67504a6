/* test_store.c — the local API over the store: put/get/patch/delete/list/count,
** validation of inputs, and atomicity of failing calls. */
#include "sc_testkit.h"
#include "sqlite3.h"
#include "store.h"

static const char *CFG =
  "{\"name\":\"t\",\"deviceId\":\"d1\",\"collections\":{"
  "\"feedings\":{\"timeFields\":[\"feeding_time\"],\"indexes\":[\"baby\",\"amount\"]},"
  "\"audit\":{\"strategy\":\"append-only\"},"
  "\"library\":{\"readOnly\":true}},\"maxRecordBytes\":200}";

static int setup(void **state) {
  tk_env *env = calloc(1, sizeof *env);
  env->now = 1735732800000LL;
  env->rng = 7;
  *state = env;
  return 0;
}
static int teardown(void **state) { free(*state); return 0; }

static void put_should_store_a_clean_record_and_generate_an_id(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON *r = tk_call(st, "put", "{\"collection\":\"feedings\",\"record\":{\"baby\":\"a\",\"amount\":3}}");
  const char *id = tk_str(r, "record.id");
  assert_non_null(id);
  assert_int_equal(strlen(id), 36);
  cJSON *g = tk_call(st, "get", "{\"collection\":\"feedings\",\"id\":\"%s\"}", id);
  const cJSON *rec = tk_get(g, "record");
  assert_int_equal(cJSON_GetArraySize(rec), 3);   /* id, baby, amount: no metadata */
  assert_string_equal(tk_str(g, "record.baby"), "a");
  assert_string_equal(tk_str(r, "changed.0.collection"), "feedings");
  cJSON_Delete(r); cJSON_Delete(g);
  sc_close(st);
}

static void put_should_normalize_time_fields_to_utc(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON *r = tk_call(st, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":\"f1\",\"feeding_time\":\"2025-01-01 13:00:00+01:00\"}}");
  assert_string_equal(tk_str(r, "record.feeding_time"), "2025-01-01T12:00:00.000Z");
  cJSON_Delete(r);
  /* editing the time keeps the id: still one record */
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"feedings\",\"id\":\"f1\",\"fields\":{\"feeding_time\":\"2025-01-01T14:00:00Z\"}}"));
  cJSON *c = tk_call(st, "count", "{\"collection\":\"feedings\"}");
  assert_int_equal((int)tk_num(c, "count"), 1);
  cJSON_Delete(c);
  sc_close(st);
}

static void put_should_reject_bad_inputs_and_change_nothing(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  char longid[200];
  memset(longid, 'x', 129); longid[129] = 0;
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":\"%s\"}}", longid);
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":\"x\",\"feeding_time\":\"2025-02-30\"}}");
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":7}}");
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",\"record\":[1]}");
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",\"record\":{\"big\":\"%0200d\"}}", 1);
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"feedings\",");
  tk_call_fails(st, SC_EUNKNOWNCOLL, "put", "{\"collection\":\"nope\",\"record\":{}}");
  tk_call_fails(st, SC_EREADONLY, "put", "{\"collection\":\"library\",\"record\":{\"id\":\"a\"}}");
  tk_call_fails(st, SC_EBADINPUT, "nosuchmethod", "{}");
  cJSON *o = tk_call(st, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 0);
  cJSON_Delete(o);
  cJSON *c = tk_call(st, "count", "{\"collection\":\"feedings\"}");
  assert_int_equal((int)tk_num(c, "count"), 0);
  cJSON_Delete(c);
  sc_close(st);
}

static void patch_should_merge_shallowly_and_refuse_missing_or_id_change(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":\"f1\",\"baby\":\"a\",\"amount\":1}}"));
  cJSON *p = tk_call(st, "patch", "{\"collection\":\"feedings\",\"id\":\"f1\",\"fields\":{\"amount\":2}}");
  assert_string_equal(tk_str(p, "record.baby"), "a");
  assert_int_equal((int)tk_num(p, "record.amount"), 2);
  cJSON_Delete(p);
  tk_call_fails(st, SC_ENOTFOUND, "patch", "{\"collection\":\"feedings\",\"id\":\"zz\",\"fields\":{}}");
  tk_call_fails(st, SC_EBADINPUT, "patch", "{\"collection\":\"feedings\",\"id\":\"f1\",\"fields\":{\"id\":\"f2\"}}");
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"feedings\",\"id\":\"f1\"}"));
  tk_call_fails(st, SC_ENOTFOUND, "patch", "{\"collection\":\"feedings\",\"id\":\"f1\",\"fields\":{}}");
  sc_close(st);
}

static void delete_should_tombstone_and_report_false_the_second_time(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"feedings\",\"record\":{\"id\":\"f1\"}}"));
  cJSON *d = tk_call(st, "delete", "{\"collection\":\"feedings\",\"id\":\"f1\"}");
  assert_true(cJSON_IsTrue(tk_get(d, "deleted")));
  cJSON_Delete(d);
  d = tk_call(st, "delete", "{\"collection\":\"feedings\",\"id\":\"f1\"}");
  assert_true(cJSON_IsFalse(tk_get(d, "deleted")));
  cJSON_Delete(d);
  assert_true(tk_record_gone(st, "feedings", "f1"));
  sc_close(st);
}

static void list_should_filter_order_page_and_show_tombstones_on_request(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  const char *rows[] = {"{\"id\":\"c\",\"baby\":\"a\",\"amount\":3}", "{\"id\":\"a\",\"baby\":\"a\",\"amount\":1}",
                        "{\"id\":\"b\",\"baby\":\"b\",\"amount\":2}", "{\"id\":\"d\",\"baby\":\"a\",\"amount\":5}"};
  for (int i = 0; i < 4; i++) cJSON_Delete(tk_call(st, "put", "{\"collection\":\"feedings\",\"record\":%s}", rows[i]));
  cJSON *l = tk_call(st, "list", "{\"collection\":\"feedings\"}");
  assert_string_equal(tk_str(l, "records.0.id"), "a");
  assert_string_equal(tk_str(l, "records.3.id"), "d");
  cJSON_Delete(l);
  l = tk_call(st, "list", "{\"collection\":\"feedings\",\"where\":{\"baby\":\"a\"},\"orderBy\":\"amount\",\"desc\":true,\"limit\":2}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 2);
  assert_string_equal(tk_str(l, "records.0.id"), "d");
  assert_string_equal(tk_str(l, "records.1.id"), "c");
  cJSON_Delete(l);
  l = tk_call(st, "list", "{\"collection\":\"feedings\",\"offset\":3}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  cJSON_Delete(l);
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"feedings\",\"id\":\"b\"}"));
  /* b never reached the server: nothing is sent, but its tombstone is kept (SPEC §11) */
  l = tk_call(st, "list", "{\"collection\":\"feedings\",\"includeDeleted\":true}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 4);
  assert_string_equal(tk_str(l, "records.1.id"), "b");
  assert_true(cJSON_IsTrue(tk_get(l, "records.1._deleted")));
  cJSON_Delete(l);
  l = tk_call(st, "list", "{\"collection\":\"feedings\"}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 3);
  cJSON_Delete(l);
  cJSON *c = tk_call(st, "count", "{\"collection\":\"feedings\",\"where\":{\"amount\":5}}");
  assert_int_equal((int)tk_num(c, "count"), 1);
  cJSON_Delete(c);
  tk_call_fails(st, SC_EBADINPUT, "list", "{\"collection\":\"feedings\",\"limit\":-1}");
  sc_close(st);
}

static void append_only_should_refuse_replace_patch_and_delete(void **state) {
  sc_store *st = tk_open_at(*state, CFG);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"audit\",\"record\":{\"id\":\"e1\",\"msg\":\"x\"}}"));
  tk_call_fails(st, SC_EBADINPUT, "put", "{\"collection\":\"audit\",\"record\":{\"id\":\"e1\",\"msg\":\"y\"}}");
  tk_call_fails(st, SC_EBADINPUT, "patch", "{\"collection\":\"audit\",\"id\":\"e1\",\"fields\":{\"msg\":\"y\"}}");
  tk_call_fails(st, SC_EBADINPUT, "delete", "{\"collection\":\"audit\",\"id\":\"e1\"}");
  sc_close(st);
}

static void open_should_reject_bad_config_with_a_message(void **state) {
  sc_hooks hooks = {tk_now, tk_random, *state};
  const char *bad[] = {"{}", "{\"name\":\"bad name\"}", "{\"name\":\"x\",\"collections\":{\"a\":{\"strategy\":\"nope\"}}}",
                       "{\"name\":\"x\",\"collections\":{\"a\":{\"refs\":{\"b\":\"missing\"}}}}", "not json",
                       "{\"name\":\"x\",\"sync\":{\"retrySchedule\":[\"a\"]}}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sc_store *st = NULL;
    char *err = NULL;
    assert_int_equal(sc_open(bad[i], &hooks, &st, &err), SC_EBADINPUT);
    assert_null(st);
    assert_non_null(err);
    sc_free(err);
  }
}

/* Create the empty file path names (a mkstemp template). */
static void temp_file(char *path) {
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

/* A store in a new file at path (a mkstemp template) with collection "a", its device id
** device (NULL: its own): the config written into cfg (512 bytes). */
static sc_store *open_in_file(void **state, char *path, const char *device, char *cfg) {
  temp_file(path);
  if (device) snprintf(cfg, 512, "{\"name\":\"t\",\"deviceId\":\"%s\",\"path\":\"%s\",\"collections\":{\"a\":{}}}", device, path);
  else snprintf(cfg, 512, "{\"name\":\"t\",\"path\":\"%s\",\"collections\":{\"a\":{}}}", path);
  return tk_open_at(*state, cfg);
}

static void store_should_persist_device_id_and_records_in_a_file(void **state) {
  char path[] = "/tmp/sc_test_storeXXXXXX";
  char cfg[512];
  sc_store *st = open_in_file(state, path, NULL, cfg);
  cJSON *s1 = tk_call(st, "status", "{}");
  char dev[80];
  snprintf(dev, sizeof dev, "%s", tk_str(s1, "deviceId"));
  cJSON_Delete(s1);
  cJSON_Delete(tk_call(st, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\"}}"));
  sc_close(st);
  st = tk_open_at(*state, cfg);
  s1 = tk_call(st, "status", "{}");
  assert_string_equal(tk_str(s1, "deviceId"), dev);
  assert_int_equal((int)tk_num(s1, "pending"), 1);
  cJSON_Delete(s1);
  sc_close(st);
  unlink(path);
}

static void two_contexts_on_one_file_should_see_each_other_and_never_reuse_a_stamp(void **state) {
  char path[] = "/tmp/sc_test_ctxXXXXXX";
  char cfg[512];
  sc_store *one = open_in_file(state, path, NULL, cfg), *two = tk_open_at(*state, cfg);
  cJSON_Delete(tk_call(one, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"x\"}}"));
  cJSON_Delete(tk_call(two, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"y\"}}"));
  cJSON *c = tk_call(one, "count", "{\"collection\":\"a\"}");
  assert_int_equal((int)tk_num(c, "count"), 2);
  cJSON_Delete(c);
  cJSON *p = tk_call(one, "pushRequest", "{}");
  assert_string_not_equal(tk_str(p, "body.ops.0.hlc"), tk_str(p, "body.ops.1.hlc"));
  cJSON_Delete(p);
  sc_close(one);
  sc_close(two);
  unlink(path);
}

/* One row of the store's file, read with SQLite directly: the columns of sql for id. */
/* The n integer columns of sql's row for id (bound as ?1), on db. */
static void row_on(sqlite3 *db, const char *sql, const char *id, long long *out, int n) {
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) fail_msg("%s", sqlite3_errmsg(db));
  sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  for (int i = 0; i < n; i++) out[i] = sqlite3_column_int64(stmt, i);
  sqlite3_finalize(stmt);
}

/* The same on the file at path, opened apart from the store. */
static void row_of(const char *path, const char *sql, const char *id, long long *out, int n) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);   /* the test server made vfs_mem the default */
  row_on(db, sql, id, out, n);
  sqlite3_close(db);
}

static void sql_on(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static const char *BASE_COLS = "SELECT base_deleted, base_data IS NULL, base_hlc IS NULL, base_version, version"
                               " FROM records WHERE id=?";

static void a_clean_record_should_be_stored_once_and_an_old_full_row_still_read(void **state) {
  char path[] = "/tmp/sc_test_cleanXXXXXX";
  char cfg[512];
  tk_server srv;
  tk_server_init(&srv);
  tk_env eb = *(tk_env *)*state;
  eb.rng = 99;
  sc_store *a = open_in_file(state, path, "dA", cfg);
  sc_store *b = tk_open_at(&eb, "{\"name\":\"t\",\"deviceId\":\"dB\",\"collections\":{\"a\":{}}}");
  cJSON_Delete(tk_call(b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON_Delete(tk_call(b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"s\",\"v\":1}}"));
  tk_sync(b, &srv, 100);
  assert_int_equal(tk_sync(a, &srv, 100).pulled, 2);
  long long c[5];
  row_of(path, BASE_COLS, "r", c, 5);
  assert_int_equal(c[0], 2);                    /* base is the view */
  assert_true(c[1] && c[2]);                    /* nothing stored twice */
  cJSON *g = tk_call(a, "get", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 1);
  cJSON_Delete(g);

  /* A local edit keeps its base in full: the push names the version it was based on. */
  cJSON_Delete(tk_call(a, "patch", "{\"collection\":\"a\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  row_of(path, BASE_COLS, "r", c, 5);
  assert_int_equal(c[0], 0);
  assert_false(c[1] || c[2]);
  assert_int_equal(c[3], 1);

  /* s as the earlier format wrote a clean row (its base in full): it reads, merges and is rewritten once. */
  sql_on(path, "UPDATE records SET base_deleted=0, base_data=data, base_hlc=hlc, base_updated_at=updated_at,"
               " base_device_id=device_id, base_version=version WHERE id='s'");
  g = tk_call(a, "get", "{\"collection\":\"a\",\"id\":\"s\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 1);
  cJSON_Delete(g);
  cJSON_Delete(tk_call(b, "patch", "{\"collection\":\"a\",\"id\":\"s\",\"fields\":{\"v\":5}}"));
  tk_sync(b, &srv, 100);
  tk_round r = tk_sync(a, &srv, 100);
  assert_int_equal(r.conflicts, 0);
  g = tk_call(a, "get", "{\"collection\":\"a\",\"id\":\"s\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 5);
  cJSON_Delete(g);
  row_of(path, BASE_COLS, "s", c, 5);
  assert_int_equal(c[0], 2);
  assert_int_equal(c[4], 2);
  g = tk_call(a, "get", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 2);   /* pushed by that round, now clean again */
  cJSON_Delete(g);
  row_of(path, BASE_COLS, "r", c, 5);
  assert_int_equal(c[0], 2);
  assert_int_equal(c[4], 2);
  assert_int_equal(sc_close(a), SC_OK);
  assert_int_equal(sc_close(b), SC_OK);
  tk_server_free(&srv);
  unlink(path);
}

/* store_rec_save updates a loaded record where its row is (same rowid: the (coll, id)
** index untouched) and, if the row went meanwhile, writes it anew. */
static void a_loaded_record_should_be_updated_in_place_and_written_anew_if_its_row_went(void **state) {
  char path[] = "/tmp/sc_test_inplaceXXXXXX";
  char cfg[512];
  sc_store *a = open_in_file(state, path, "dA", cfg);
  cJSON_Delete(tk_call(a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON_Delete(tk_call(a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"q\",\"v\":0}}"));   /* after r: a re-insert of r moves it */
  static const char *ROW = "SELECT rowid, json_extract(data, '$.v') FROM records WHERE id=?";
  long long before[2], after[2];
  row_on(a->db, ROW, "r", before, 2);
  sc_rec rec;
  memset(&rec, 0, sizeof rec);
  assert_int_equal(store_rec_load(a, "a", "r", &rec), SC_OK);
  assert_true(rec.exists);
  cJSON_ReplaceItemInObject(rec.data, "v", cJSON_CreateNumber(2));
  assert_int_equal(store_rec_save(a, "a", &rec), SC_OK);
  row_on(a->db, ROW, "r", after, 2);
  assert_int_equal(after[0], before[0]);   /* the same row */
  assert_int_equal(after[1], 2);
  assert_int_equal(store_rec_remove(a, "a", "r"), SC_OK);
  cJSON_ReplaceItemInObject(rec.data, "v", cJSON_CreateNumber(3));
  assert_int_equal(store_rec_save(a, "a", &rec), SC_OK);   /* rec.exists is stale now */
  row_on(a->db, ROW, "r", after, 2);
  assert_int_equal(after[1], 3);
  store_rec_free(&rec);
  cJSON *g = tk_call(a, "get", "{\"collection\":\"a\",\"id\":\"r\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 3);
  cJSON_Delete(g);
  assert_int_equal(sc_close(a), SC_OK);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(put_should_store_a_clean_record_and_generate_an_id, setup, teardown),
    cmocka_unit_test_setup_teardown(put_should_normalize_time_fields_to_utc, setup, teardown),
    cmocka_unit_test_setup_teardown(put_should_reject_bad_inputs_and_change_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(patch_should_merge_shallowly_and_refuse_missing_or_id_change, setup, teardown),
    cmocka_unit_test_setup_teardown(delete_should_tombstone_and_report_false_the_second_time, setup, teardown),
    cmocka_unit_test_setup_teardown(list_should_filter_order_page_and_show_tombstones_on_request, setup, teardown),
    cmocka_unit_test_setup_teardown(append_only_should_refuse_replace_patch_and_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(open_should_reject_bad_config_with_a_message, setup, teardown),
    cmocka_unit_test_setup_teardown(store_should_persist_device_id_and_records_in_a_file, setup, teardown),
    cmocka_unit_test_setup_teardown(two_contexts_on_one_file_should_see_each_other_and_never_reuse_a_stamp, setup, teardown),
    cmocka_unit_test_setup_teardown(a_clean_record_should_be_stored_once_and_an_old_full_row_still_read, setup, teardown),
    cmocka_unit_test_setup_teardown(a_loaded_record_should_be_updated_in_place_and_written_anew_if_its_row_went, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
