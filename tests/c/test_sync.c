/* test_sync.c — pull pages and cursors, server answers of the wrong shape (impossible
** times, push answers not one result per op), tombstones, 410 full resync, our own change
** echoed by a pull. */
#include "sc_testkit.h"
#include "sqlite3.h"
#include "store.h"

static const char *CFG = "{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{\"a\":{\"timeFields\":[\"t\"]}}}";

typedef tk_pair fx;

static int setup(void **state) {
  *state = tk_pair_open(CFG, 3, 4);
  return 0;
}
static int teardown(void **state) {
  tk_pair_close(*state);
  return 0;
}

static int count(sc_store *st) {
  cJSON *c = tk_call(st, "count", "{\"collection\":\"a\"}");
  int n = (int)tk_num(c, "count");
  cJSON_Delete(c);
  return n;
}

static void pull_should_page_until_has_more_is_false_and_keep_the_cursor(void **state) {
  fx *f = *state;
  for (int i = 0; i < 7; i++) cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r%d\",\"t\":%d}}", i, i * 1000));
  tk_sync(f->a, &f->srv, 100);
  cJSON *req = tk_call(f->b, "pullRequest", "{\"limit\":3}");
  assert_string_equal(tk_str(req, "cursor"), "");
  cJSON *resp = tk_server_pull(&f->srv, tk_str(req, "cursor"), 3);
  cJSON_Delete(req);
  cJSON *ans = tk_call_json(f->b, "pullResponse", tk_wrap("response", resp));
  assert_true(cJSON_IsTrue(tk_get(ans, "hasMore")));
  assert_int_equal((int)tk_num(ans, "remaining"), 4);
  assert_int_equal((int)tk_num(ans, "pulled"), 3);
  assert_int_equal(cJSON_GetArraySize(tk_get(ans, "changed.0.ids")), 3);
  cJSON_Delete(ans);
  req = tk_call(f->b, "pullRequest", "{}");
  assert_string_equal(tk_str(req, "cursor"), "3.0.4");   /* the server's "<seq>.<purge watermark>.<left>" */
  cJSON_Delete(req);
  tk_round r = tk_sync(f->b, &f->srv, 3);
  assert_int_equal(r.pulled, 4);
  assert_int_equal(count(f->b), 7);
  cJSON *g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"r2\"}");
  assert_string_equal(tk_str(g, "record.t"), "1970-01-01T00:00:02.000Z");
  cJSON_Delete(g);
  /* nothing new: a second round pulls nothing */
  r = tk_sync(f->b, &f->srv, 3);
  assert_int_equal(r.pulled, 0);
}

static void pull_response_of_the_wrong_shape_should_change_nothing(void **state) {
  fx *f = *state;
  const char *bad[] = {
    "[]", "{\"changes\":{},\"cursor\":\"1\",\"has_more\":false}",
    "{\"changes\":[],\"has_more\":false}",
    "{\"changes\":[{\"seq\":1,\"collection\":\"a\",\"id\":\"x\",\"version\":0,\"data\":{}}],\"cursor\":\"1\",\"has_more\":false}",
    "{\"changes\":[{\"seq\":1,\"collection\":\"a\",\"id\":\"x\",\"version\":1,\"data\":{}},"
    "{\"seq\":2,\"collection\":\"a\",\"id\":\"y\",\"version\":1,\"data\":7}],\"cursor\":\"2\",\"has_more\":false}",
    "{\"changes\":[{\"seq\":1,\"collection\":\"a\",\"id\":\"x\",\"version\":1,\"data\":{}}],\"cursor\":\"1\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    tk_call_fails(f->b, SC_EPROTOCOL, "pullResponse", "{\"response\":%s}", bad[i]);
  tk_call_fails(f->b, SC_EPROTOCOL, "pushResponse", "{\"response\":{\"results\":[{\"op_id\":\"x\",\"status\":\"weird\"}]}}");
  tk_call_fails(f->b, SC_EPROTOCOL, "pushResponse", "{\"response\":{\"results\":7}}");
  tk_call_fails(f->b, SC_EBADINPUT, "pullResponse", "{\"response\":{\"changes\":[");
  assert_int_equal(count(f->b), 0);
  cJSON *req = tk_call(f->b, "pullRequest", "{}");
  assert_string_equal(tk_str(req, "cursor"), "");
  cJSON_Delete(req);
}

static void pull_should_apply_tombstones_and_ignore_unknown_collections(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  cJSON_Delete(tk_call(f->a, "delete", "{\"collection\":\"a\",\"id\":\"r\"}"));
  tk_sync(f->a, &f->srv, 100);
  tk_round r = tk_sync(f->b, &f->srv, 100);
  assert_int_equal(r.pulled, 1);
  assert_int_equal(count(f->b), 0);
  cJSON *l = tk_call(f->b, "list", "{\"collection\":\"a\",\"includeDeleted\":true}");
  assert_true(cJSON_IsTrue(tk_get(l, "records.0._deleted")));
  cJSON_Delete(l);
  cJSON *resp = cJSON_Parse("{\"changes\":[{\"seq\":9,\"collection\":\"zzz\",\"id\":\"q\",\"version\":1,\"data\":{}}],"
                            "\"cursor\":\"9\",\"has_more\":false}");
  cJSON *ans = tk_call_json(f->b, "pullResponse", tk_wrap("response", resp));
  assert_int_equal((int)tk_num(ans, "pulled"), 0);
  cJSON_Delete(ans);
}

static void pull_gone_should_resync_and_drop_clean_records_the_server_lost(void **state) {
  fx *f = *state;
  for (int i = 0; i < 3; i++) cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r%d\"}}", i));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  /* B has an unpushed edit of r1 and a new local record; the server loses r0 and r1 */
  cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"a\",\"id\":\"r1\",\"fields\":{\"v\":1}}"));
  cJSON_Delete(tk_call(f->b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"local\"}}"));
  tk_server_lose(&f->srv, "a", "r0");
  tk_server_lose(&f->srv, "a", "r1");
  cJSON_Delete(tk_call(f->b, "pullGone", "{}"));
  cJSON *req = tk_call(f->b, "pullRequest", "{}");
  assert_string_equal(tk_str(req, "cursor"), "");
  cJSON_Delete(req);
  cJSON *resp = tk_server_pull(&f->srv, "", 100);
  cJSON *ans = tk_call_json(f->b, "pullResponse", tk_wrap("response", resp));
  assert_string_equal(tk_str(ans, "changed.0.ids.0"), "r0");
  cJSON_Delete(ans);
  cJSON *g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"r0\"}");
  assert_true(cJSON_IsNull(tk_get(g, "record")));
  cJSON_Delete(g);
  g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"r1\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 1);
  cJSON_Delete(g);
  assert_int_equal(count(f->b), 3);  /* r1 (unpushed), r2, local */
  cJSON *s = tk_call(f->b, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 2);
  cJSON_Delete(s);
}

static void our_change_echoed_by_a_pull_should_count_as_acknowledged(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* answer lost */
  cJSON_Delete(req);
  cJSON_Delete(tk_call(f->a, "pushFailure", "{\"status\":0}"));
  tk_round r = tk_sync(f->a, &f->srv, 100);
  assert_int_equal(r.conflicts, 0);
  cJSON *s = tk_call(f->a, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  assert_true(cJSON_IsNull(tk_get(s, "lastError")));
  assert_non_null(tk_str(s, "lastSyncAt"));
  cJSON_Delete(s);
}

static void sync_done_should_record_the_last_error(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "syncDone", "{\"error\":\"offline\"}"));
  cJSON *s = tk_call(f->a, "status", "{}");
  assert_string_equal(tk_str(s, "lastError"), "offline");
  cJSON_Delete(s);
  cJSON_Delete(tk_call(f->a, "syncDone", "{}"));
  s = tk_call(f->a, "status", "{}");
  assert_true(cJSON_IsNull(tk_get(s, "lastError")));
  cJSON_Delete(s);
}

static void per_op_rejection_should_mark_only_that_op(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r1\"}}"));
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r2\"}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "results"), 0);
  cJSON_ReplaceItemInObject(first, "status", cJSON_CreateString("rejected"));
  cJSON_AddStringToObject(first, "error", "name too long");
  cJSON_Delete(req);
  cJSON *ans = tk_call_json(f->a, "pushResponse", tk_wrap("response", resp));
  assert_int_equal((int)tk_num(ans, "pushed"), 1);
  assert_int_equal((int)tk_num(ans, "failed"), 1);
  cJSON_Delete(ans);
  cJSON *o = tk_call(f->a, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 1);
  assert_string_equal(tk_str(o, "ops.0.status"), "rejected");
  assert_string_equal(tk_str(o, "ops.0.lastError"), "name too long");
  cJSON_Delete(o);
}

static void sync_begin_should_resend_an_inflight_op_with_its_op_id_and_get_duplicate(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r1\",\"v\":1}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  char op_id[64];
  snprintf(op_id, sizeof op_id, "%s", tk_str(req, "opIds.0"));
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* applied; the answer is lost */
  cJSON_Delete(req);
  /* the context died: the op stays inflight and blocks its record */
  req = tk_call(f->a, "pushRequest", "{\"force\":true}");
  assert_true(cJSON_IsNull(tk_get(req, "body")));
  cJSON_Delete(req);
  cJSON_Delete(tk_call(f->a, "syncBegin", "{}"));
  cJSON *o = tk_call(f->a, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 1);
  assert_string_equal(tk_str(o, "ops.0.status"), "pending");
  assert_string_equal(tk_str(o, "ops.0.opId"), op_id);
  cJSON_Delete(o);
  req = tk_call(f->a, "pushRequest", "{}");
  assert_string_equal(tk_str(req, "body.ops.0.op_id"), op_id);
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  assert_string_equal(tk_str(resp, "results.0.status"), "duplicate");
  cJSON *ans = tk_call_json(f->a, "pushResponse", tk_wrap("response", resp));
  assert_int_equal((int)tk_num(ans, "pushed"), 1);
  cJSON_Delete(ans);
  o = tk_call(f->a, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 0);
  cJSON_Delete(o);
  assert_int_equal((int)f->srv.seq, 1);   /* applied once */
}

/* A delete applied (answer lost), its tombstone purged, the id created again elsewhere:
** the re-created record restarts at version 1, equal to the delete's base. The pull
** must see that the server moved past the base (a new incarnation), not skip it, or the
** resent delete's `duplicate` (a stale tombstone) leaves this device without the record. */
static void pull_should_see_a_recreated_record_whose_version_restarted_at_the_base(void **state) {
  (void)state;
  const char *cfg = "{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{\"n\":{\"onDelete\":\"latest\"}}}";
  char c[256];
  tk_env ea = {1735732800000LL, 5}, eb = {1735732800000LL, 6};
  tk_server srv;
  tk_server_init(&srv);
  snprintf(c, sizeof c, cfg, "dA"); sc_store *a = tk_open_at(&ea, c);
  snprintf(c, sizeof c, cfg, "dB"); sc_store *b = tk_open_at(&eb, c);
  cJSON_Delete(tk_call(a, "put", "{\"collection\":\"n\",\"record\":{\"id\":\"r1\",\"v\":1}}"));
  tk_sync(a, &srv, 100);
  ea.now += 1000;
  cJSON_Delete(tk_call(a, "delete", "{\"collection\":\"n\",\"id\":\"r1\"}"));
  cJSON *req = tk_call(a, "pushRequest", "{}");
  cJSON *resp = tk_server_push(&srv, tk_get(req, "body"));      /* applied: v2 tombstone; answer lost */
  assert_string_equal(tk_str(resp, "results.0.status"), "applied");
  cJSON_Delete(resp);
  cJSON_Delete(req);
  tk_server_purge(&srv);                                          /* the tombstone is purged */
  eb.now = srv.now = ea.now + 5000;                               /* B re-creates it later */
  cJSON_Delete(tk_call(b, "put", "{\"collection\":\"n\",\"record\":{\"id\":\"r1\",\"v\":\"b\"}}"));
  tk_sync(b, &srv, 100);                                          /* r1 again, version 1 */
  assert_int_equal((int)tk_num(tk_server_find(&srv, "n", "r1"), "version"), 1);
  cJSON_Delete(tk_call(a, "pullGone", "{}"));                      /* A's cursor predates the purge */
  tk_sync(a, &srv, 100);
  tk_sync(a, &srv, 100);
  cJSON *g = tk_call(a, "get", "{\"collection\":\"n\",\"id\":\"r1\"}");
  assert_non_null(tk_str(g, "record.v"));
  assert_string_equal(tk_str(g, "record.v"), "b");
  cJSON_Delete(g);
  cJSON *s = tk_call(a, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
  sc_close(a); sc_close(b);
  tk_server_free(&srv);
}

/* An edit applied (answer lost), the record then deleted elsewhere and its tombstone
** purged; this device's cursor predates the purge. The full resync does not send the
** record and keeps it for its unacknowledged op; the resent op's `duplicate` repeats
** the old live state, which must not bring the record back here. */
static void duplicate_for_a_record_the_resync_did_not_send_should_not_resurrect_it(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r1\",\"v\":1}}"));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  cJSON_Delete(tk_call(f->a, "patch", "{\"collection\":\"a\",\"id\":\"r1\",\"fields\":{\"v\":2}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* applied as v2; answer lost */
  cJSON_Delete(req);
  tk_sync(f->b, &f->srv, 100);
  cJSON_Delete(tk_call(f->b, "delete", "{\"collection\":\"a\",\"id\":\"r1\"}"));
  tk_sync(f->b, &f->srv, 100);                                    /* v3 tombstone */
  tk_server_purge(&f->srv);                                       /* purged */
  cJSON_Delete(tk_call(f->a, "pullGone", "{}"));
  tk_round r = tk_sync(f->a, &f->srv, 100);
  assert_int_equal(r.pushed, 1);                                  /* the duplicate */
  tk_sync(f->a, &f->srv, 100);
  assert_int_equal(count(f->a), 0);
  cJSON *s = tk_call(f->a, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  cJSON_Delete(s);
}

static void pull_page_should_list_each_changed_record_once(void **state) {
  fx *f = *state;
  cJSON *resp = cJSON_Parse("{\"server_time\":\"2025-01-01T12:00:00.000Z\",\"changes\":["
    "{\"collection\":\"a\",\"id\":\"r1\",\"version\":1,\"data\":{\"t\":1},\"hlc\":\"001735732800000-00000-srv\",\"device_id\":\"srv\"},"
    "{\"collection\":\"a\",\"id\":\"r2\",\"version\":1,\"data\":{\"t\":2},\"hlc\":\"001735732800000-00001-srv\",\"device_id\":\"srv\"},"
    "{\"collection\":\"a\",\"id\":\"r1\",\"version\":2,\"data\":{\"t\":3},\"hlc\":\"001735732800000-00002-srv\",\"device_id\":\"srv\"}],"
    "\"cursor\":\"3\",\"has_more\":false}");
  cJSON *ans = tk_call_json(f->b, "pullResponse", tk_wrap("response", resp));
  assert_int_equal((int)tk_num(ans, "pulled"), 3);
  assert_int_equal(cJSON_GetArraySize(tk_get(ans, "changed")), 1);
  assert_int_equal(cJSON_GetArraySize(tk_get(ans, "changed.0.ids")), 2);
  assert_string_equal(tk_str(ans, "changed.0.ids.0"), "r1");
  assert_string_equal(tk_str(ans, "changed.0.ids.1"), "r2");
  cJSON_Delete(ans);
}

/* One pull page of the server's changes since b's cursor, applied on b; the answer. */
static cJSON *pull_page(fx *f) {
  cJSON *req = tk_call(f->b, "pullRequest", "{}");
  cJSON *resp = tk_server_pull(&f->srv, tk_str(req, "cursor"), 100);
  cJSON_Delete(req);
  return tk_call_json(f->b, "pullResponse", tk_wrap("response", resp));
}

static void pull_should_list_exactly_the_conflicts_it_opened(void **state) {
  fx *f = tk_pair_open("{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{\"a\":{\"strategy\":\"ask\"}}}", 3, 4);
  (void)state;
  for (int i = 0; i < 4; i++) cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r%d\",\"x\":0}}", i));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  /* r0 conflicts in a first page; then r1 and r2 in a second one, with r0 moved again */
  cJSON_Delete(tk_call(f->a, "patch", "{\"collection\":\"a\",\"id\":\"r0\",\"fields\":{\"x\":1}}"));
  cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"a\",\"id\":\"r0\",\"fields\":{\"x\":2}}"));
  tk_sync(f->a, &f->srv, 100);
  cJSON *ans = pull_page(f);
  assert_int_equal((int)tk_num(ans, "conflicts"), 1);
  assert_int_equal(cJSON_GetArraySize(tk_get(ans, "newConflicts")), 1);
  assert_string_equal(tk_str(ans, "newConflicts.0.recordId"), "r0");
  assert_string_equal(tk_str(ans, "newConflicts.0.kind"), "edit-edit");
  cJSON_Delete(ans);
  for (int i = 0; i < 3; i++) {
    cJSON_Delete(tk_call(f->a, "patch", "{\"collection\":\"a\",\"id\":\"r%d\",\"fields\":{\"x\":%d}}", i, 10 + i));
    if (i) cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"a\",\"id\":\"r%d\",\"fields\":{\"x\":%d}}", i, 20 + i));
  }
  tk_sync(f->a, &f->srv, 100);
  ans = pull_page(f);
  cJSON *all = tk_call(f->b, "conflicts", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(all, "conflicts")), 3);
  assert_int_equal((int)tk_num(ans, "conflicts"), 2);
  const cJSON *opened = tk_get(ans, "newConflicts");
  assert_int_equal(cJSON_GetArraySize(opened), 2);
  for (int i = 0; i < 2; i++) {
    const cJSON *c = cJSON_GetArrayItem(opened, i);
    assert_string_equal(cJSON_GetObjectItem(c, "recordId")->valuestring, i ? "r2" : "r1");
    /* each as `conflicts` shows it */
    const cJSON *k;
    int found = 0;
    cJSON_ArrayForEach(k, tk_get(all, "conflicts")) found += cJSON_Compare(k, c, 1);
    assert_int_equal(found, 1);
  }
  cJSON_Delete(all);
  cJSON_Delete(ans);
  /* a page that opens none says so */
  ans = pull_page(f);
  assert_int_equal(cJSON_GetArraySize(tk_get(ans, "newConflicts")), 0);
  cJSON_Delete(ans);
  tk_pair_close(f);
}

/* Everything a failed answer must leave as it was: records (tombstones too), the
** outbox (op ids, statuses, attempts), the cursor, conflicts. Caller frees. */
static char *snapshot(sc_store *st) {
  cJSON *all = cJSON_CreateArray();
  cJSON_AddItemToArray(all, tk_call(st, "list", "{\"collection\":\"a\",\"includeDeleted\":true}"));
  cJSON_AddItemToArray(all, tk_call(st, "outbox", "{}"));
  cJSON_AddItemToArray(all, tk_call(st, "pullRequest", "{}"));
  cJSON_AddItemToArray(all, tk_call(st, "conflicts", "{}"));
  char *text = cJSON_PrintUnformatted(all);
  cJSON_Delete(all);
  return text;
}

/* A server change as text, with the given t (timeField) and updated_at values (JSON). */
static void change_text(char *out, size_t n, int seq, const char *id, const char *t, const char *updated_at) {
  snprintf(out, n, "{\"seq\":%d,\"collection\":\"a\",\"id\":\"%s\",\"version\":1,\"data\":{\"t\":%s},\"updated_at\":%s,"
           "\"deleted_at\":null,\"hlc\":\"001735732800000-00000-dZ\",\"device_id\":\"dZ\"}", seq, id, t, updated_at);
}

/* Issue 7 finding 2, SPEC §9: an impossible time in a pulled page fails the page whole. */
/* A pulled change's data naming an id of its own: the record keeps the change's id and its
** data never holds an `id` (the server's data is taken as it is only when it has none). */
static void pulled_data_with_an_id_of_its_own_should_keep_the_changes_id(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->b, "pullResponse", "{\"response\":{\"server_time\":\"2025-01-01T12:00:00.000Z\",\"changes\":["
                       "{\"collection\":\"a\",\"id\":\"real\",\"version\":1,\"data\":{\"id\":\"forged\",\"v\":7},"
                       "\"updated_at\":\"2025-01-01T12:00:00.000Z\",\"deleted_at\":null,\"hlc\":null,\"device_id\":\"x\"},"
                       "{\"collection\":\"a\",\"id\":\"plain\",\"version\":1,\"data\":{\"v\":8},"
                       "\"updated_at\":\"2025-01-01T12:00:00.000Z\",\"deleted_at\":null,\"hlc\":null,\"device_id\":\"x\"}],"
                       "\"cursor\":\"2\",\"has_more\":false,\"remaining\":0}}"));
  cJSON *g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"real\"}");
  assert_string_equal(tk_str(g, "record.id"), "real");
  assert_int_equal((int)tk_num(g, "record.v"), 7);
  cJSON_Delete(g);
  g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"plain\"}");
  assert_int_equal((int)tk_num(g, "record.v"), 8);
  cJSON_Delete(g);
  sqlite3_stmt *stmt = NULL;   /* as stored: the forged id is not kept */
  assert_int_equal(sqlite3_prepare_v2(f->b->db, "SELECT data FROM records WHERE id='real'", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_null(strstr((const char *)sqlite3_column_text(stmt, 0), "forged"));
  sqlite3_finalize(stmt);
}

static void pull_page_with_an_impossible_time_should_fail_whole_and_keep_the_cursor(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"mine\",\"t\":0}}"));
  tk_sync(f->b, &f->srv, 100);
  cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"a\",\"id\":\"mine\",\"fields\":{\"v\":1}}"));
  cJSON *req = tk_call(f->b, "pullRequest", "{}");
  char cursor[64];
  snprintf(cursor, sizeof cursor, "%s", tk_str(req, "cursor"));
  cJSON_Delete(req);
  char *before = snapshot(f->b);
  struct { const char *t, *updated_at, *field; } bad[] = {
    {"\"2025-02-30T10:00:00Z\"", "\"2025-01-01T12:00:00.000Z\"", "t"},       /* Feb 30 in a timeField */
    {"\"2025-01-01T25:00:00Z\"", "null", "t"},
    {"true", "null", "t"},
    {"1e300", "null", "t"},
    {"\"2025-01-01T10:00:00Z\"", "\"yesterday-ish\"", "updated_at"},     /* updated_at that does not parse */
    {"\"2025-01-01T10:00:00Z\"", "\"2025-02-30T10:00:00Z\"", "updated_at"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char good[512], evil[512], page[1400];
    change_text(good, sizeof good, 5, "fine", "\"2025-01-01T10:00:00Z\"", "\"2025-01-01T12:00:00.000Z\"");
    change_text(evil, sizeof evil, 6, "evil", bad[i].t, bad[i].updated_at);
    snprintf(page, sizeof page, "{\"server_time\":\"2025-01-01T12:00:00.000Z\",\"changes\":[%s,%s],\"cursor\":\"6\","
             "\"has_more\":false,\"remaining\":0}", good, evil);
    tk_call_fails(f->b, SC_EPROTOCOL, "pullResponse", "{\"response\":%s}", page);
    const char *msg = sc_errmsg(f->b);
    if (!strstr(msg, "'evil'") || !strstr(msg, bad[i].field)) fail_msg("case %zu: the message must name the record and the field: %s", i, msg);
    char *after = snapshot(f->b);
    assert_string_equal(after, before);
    free(after);
  }
  free(before);
  /* the cursor stayed (it is in the snapshot): the next sync retries the page, and a
  ** corrected page then applies */
  req = tk_call(f->b, "pullRequest", "{}");
  assert_string_equal(tk_str(req, "cursor"), cursor);
  cJSON_Delete(req);
  char good[512], page[1000];
  change_text(good, sizeof good, 6, "evil", "\"2025-02-28T10:00:00+01:00\"", "\"2025-01-01T12:00:00.000Z\"");
  snprintf(page, sizeof page, "{\"changes\":[%s],\"cursor\":\"6\",\"has_more\":false}", good);
  cJSON *ans = tk_call(f->b, "pullResponse", "{\"response\":%s}", page);
  assert_int_equal((int)tk_num(ans, "pulled"), 1);
  cJSON_Delete(ans);
  cJSON *g = tk_call(f->b, "get", "{\"collection\":\"a\",\"id\":\"evil\"}");
  assert_string_equal(tk_str(g, "record.t"), "2025-02-28T09:00:00.000Z");
  cJSON_Delete(g);
}

/* A push result's record goes through the same checks (its collection is the op's). */
static void push_result_with_an_impossible_time_should_change_nothing(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"t\":0}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  char *before = snapshot(f->a);
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  cJSON *data = (cJSON *)tk_get(resp, "results.0.record.data");
  cJSON_ReplaceItemInObject(data, "t", cJSON_CreateString("2025-02-30T10:00:00Z"));
  char *text = cJSON_PrintUnformatted(resp);
  cJSON_Delete(resp);
  tk_call_fails(f->a, SC_EPROTOCOL, "pushResponse", "{\"response\":%s}", text);
  assert_non_null(strstr(sc_errmsg(f->a), "'r'"));
  assert_non_null(strstr(sc_errmsg(f->a), "field t"));
  free(text);
  char *after = snapshot(f->a);
  assert_string_equal(after, before);
  free(after);
  free(before);
}

/* Issue 7 finding 3, SPEC §4 "one result per op": an answer of any other shape is a
** failed attempt; every op stays queued with its op_id and the retry applies each once. */
static void push_answer_of_the_wrong_shape_should_be_a_failed_attempt(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r1\",\"v\":1}}"));
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r2\",\"v\":2}}"));
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r3\",\"v\":3}}"));
  cJSON *o = tk_call(f->a, "outbox", "{}");
  char ids[3][64];
  for (int i = 0; i < 3; i++) snprintf(ids[i], sizeof ids[i], "%s", tk_str(cJSON_GetArrayItem(tk_get(o, "ops"), i), "opId"));
  cJSON_Delete(o);
  enum { FEWER, FOREIGN, TWICE, EXTRA, NCASES };
  for (int kind = 0; kind < NCASES; kind++) {
    cJSON *req = tk_call(f->a, "pushRequest", "{\"force\":true}");
    assert_int_equal(cJSON_GetArraySize(tk_get(req, "body.ops")), 3);
    char *before = snapshot(f->a);
    cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));   /* the server applies all three */
    cJSON_Delete(req);
    cJSON *results = cJSON_GetObjectItem(resp, "results");
    if (kind == FEWER) cJSON_DeleteItemFromArray(results, 1);
    if (kind == FOREIGN) cJSON_ReplaceItemInObject(cJSON_GetArrayItem(results, 2), "op_id", cJSON_CreateString("not-sent"));
    if (kind == TWICE) cJSON_ReplaceItemInObject(cJSON_GetArrayItem(results, 2), "op_id", cJSON_CreateString(ids[0]));
    if (kind == EXTRA) {
      cJSON *more = cJSON_Duplicate(cJSON_GetArrayItem(results, 0), 1);
      cJSON_ReplaceItemInObject(more, "op_id", cJSON_CreateString("not-sent-either"));
      cJSON_AddItemToArray(results, more);
    }
    char *text = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    tk_call_fails(f->a, SC_EPROTOCOL, "pushResponse", "{\"response\":%s}", text);
    free(text);
    char *after = snapshot(f->a);
    assert_string_equal(after, before);                              /* nothing applied */
    free(after);
    free(before);
    cJSON_Delete(tk_call(f->a, "pushFailure", "{\"status\":0,\"error\":\"bad answer\"}"));
    o = tk_call(f->a, "outbox", "{}");
    assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 3);
    for (int i = 0; i < 3; i++) {
      const cJSON *op = cJSON_GetArrayItem(tk_get(o, "ops"), i);
      assert_string_equal(tk_str(op, "opId"), ids[i]);
      assert_string_equal(tk_str(op, "status"), "pending");
      assert_int_equal((int)tk_num(op, "attempts"), kind + 1);
    }
    cJSON_Delete(o);
  }
  /* the retry: every op answered duplicate, acknowledged once; the server applied each once */
  cJSON *req = tk_call(f->a, "pushRequest", "{\"force\":true}");
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  for (int i = 0; i < 3; i++) assert_string_equal(tk_str(cJSON_GetArrayItem(tk_get(resp, "results"), i), "status"), "duplicate");
  cJSON *ans = tk_call_json(f->a, "pushResponse", tk_wrap("response", resp));
  assert_int_equal((int)tk_num(ans, "pushed"), 3);
  cJSON_Delete(ans);
  assert_int_equal((int)f->srv.seq, 3);
  for (int i = 1; i <= 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    assert_int_equal((int)tk_num(tk_server_find(&f->srv, "a", id), "version"), 1);
  }
  o = tk_call(f->a, "outbox", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(o, "ops")), 0);
  cJSON_Delete(o);
  tk_round r = tk_sync(f->b, &f->srv, 100);
  assert_int_equal(r.pulled, 3);
}

/* Issue 7 finding 13 (core half): a key repeated in a server answer is refused, both
** when the host passes the parsed body and when it passes the body's text. */
static void server_answer_with_a_repeated_key_should_change_nothing(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"mine\",\"v\":1}}"));
  cJSON *req = tk_call(f->b, "pushRequest", "{}");
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  char *before = snapshot(f->b);
  const char *forged = "{\"seq\":1,\"collection\":\"a\",\"id\":\"x\",\"version\":1,"
                       "\"data\":{\"petId\":\"p1\",\"clientId\":\"forged\",\"clientId\":\"x\",\"petId\":\"p999\"}}";
  const char *pulls[] = {
    "{\"changes\":[%s],\"cursor\":\"1\",\"has_more\":false}",
    "{\"changes\":[],\"cursor\":\"1\",\"has_more\":false,\"changes\":[%s]}",
  };
  for (int text = 0; text < 2; text++) {
    for (size_t i = 0; i < 2; i++) {
      char page[1024], *input;
      snprintf(page, sizeof page, pulls[i], forged);
      cJSON *wrap = cJSON_CreateObject();
      cJSON_AddStringToObject(wrap, "response", page);
      input = text ? cJSON_PrintUnformatted(wrap) : NULL;
      cJSON_Delete(wrap);
      if (text) tk_call_fails(f->b, SC_EPROTOCOL, "pullResponse", "%s", input);
      else tk_call_fails(f->b, SC_EPROTOCOL, "pullResponse", "{\"response\":%s}", page);
      free(input);
      assert_non_null(strstr(sc_errmsg(f->b), i == 0 ? "'petId' appears twice in changes[0].data" : "'changes' appears twice"));
    }
  }
  /* the push answer: a forged derived field inside the applied record */
  char *good = cJSON_PrintUnformatted(resp);
  char *bad = calloc(1, strlen(good) + 64);
  char *at = strstr(good, "\"data\":{");
  assert_non_null(at);
  at += strlen("\"data\":{");
  sprintf(bad, "%.*s\"clientId\":\"forged\",\"clientId\":\"x\",%s", (int)(at - good), good, at);
  tk_call_fails(f->b, SC_EPROTOCOL, "pushResponse", "{\"response\":%s}", bad);
  assert_non_null(strstr(sc_errmsg(f->b), "'clientId' appears twice in results[0].record.data"));
  cJSON *wrap = cJSON_CreateObject();
  cJSON_AddStringToObject(wrap, "response", bad);
  char *input = cJSON_PrintUnformatted(wrap);
  cJSON_Delete(wrap);
  tk_call_fails(f->b, SC_EPROTOCOL, "pushResponse", "%s", input);
  free(input);
  /* the body's text cut short is a protocol error too (the host retries) */
  wrap = cJSON_CreateObject();
  cJSON_AddStringToObject(wrap, "response", "{\"server_time\":\"2025-");
  input = cJSON_PrintUnformatted(wrap);
  cJSON_Delete(wrap);
  tk_call_fails(f->b, SC_EPROTOCOL, "pushResponse", "%s", input);
  assert_non_null(strstr(sc_errmsg(f->b), "not JSON"));
  free(input);
  char *after = snapshot(f->b);
  assert_string_equal(after, before);
  free(after);
  free(before);
  /* the same answer without the repeat, as text, is taken */
  wrap = cJSON_CreateObject();
  cJSON_AddStringToObject(wrap, "response", good);
  input = cJSON_PrintUnformatted(wrap);
  cJSON_Delete(wrap);
  cJSON *ans = tk_call(f->b, "pushResponse", "%s", input);
  assert_int_equal((int)tk_num(ans, "pushed"), 1);
  cJSON_Delete(ans);
  free(input);
  free(bad);
  free(good);
  cJSON_Delete(resp);
}

/* Issue 7 finding 5, SPEC §11: an op whose answer was lost is in doubt. The round
** resends it (same op_id → duplicate) before it pulls, so an edit another device made
** on top of it is a plain newer version here, not a conflict. */
static void in_doubt_edit_should_be_settled_before_a_pull_judges_an_edit_on_top_of_it(void **state) {
  (void)state;
  tk_pair *f = tk_pair_open("{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{\"w\":{\"strategy\":\"ask\"}}}", 7, 8);
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"w\",\"record\":{\"id\":\"w1\",\"sets\":1}}"));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  cJSON_Delete(tk_call(f->a, "patch", "{\"collection\":\"w\",\"id\":\"w1\",\"fields\":{\"sets\":2}}"));
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* applied as v2; the answer is lost */
  cJSON_Delete(req);
  cJSON_Delete(tk_call(f->a, "pushFailure", "{\"status\":0,\"error\":\"network error\"}"));
  tk_sync(f->b, &f->srv, 100);                                    /* B sees v2 and edits on top: v3 */
  f->eb.now += 1000;
  cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"w\",\"id\":\"w1\",\"fields\":{\"sets\":3}}"));
  tk_sync(f->b, &f->srv, 100);
  tk_round r = tk_sync(f->a, &f->srv, 100);
  assert_int_equal(r.conflicts, 0);
  assert_int_equal(r.pushed, 1);                                  /* the duplicate settled it */
  cJSON *g = tk_call(f->a, "get", "{\"collection\":\"w\",\"id\":\"w1\"}");
  assert_int_equal((int)tk_num(g, "record.sets"), 3);
  cJSON_Delete(g);
  cJSON *s = tk_call(f->a, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  cJSON_Delete(s);
  assert_int_equal((int)tk_num(tk_server_find(&f->srv, "w", "w1"), "version"), 3);
  tk_pair_close(f);
}

/* The core's half of that round: syncBegin counts the ops in doubt; pushRequest inDoubt
** takes only them, even while they wait out a backoff; the duplicate answer maps a temp
** id before any pull could bring the record under its real id. */
static void push_request_in_doubt_should_take_only_unanswered_ops_whatever_their_backoff(void **state) {
  (void)state;
  tk_pair *f = tk_pair_open("{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{\"pets\":{\"idFrom\":\"server\"},"
                            "\"a\":{}},\"sync\":{\"retrySchedule\":[600]}}", 9, 10);
  f->srv.server_ids = "pets";
  cJSON *pet = tk_call(f->a, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}");
  char tmp[64], op_id[64];
  snprintf(tmp, sizeof tmp, "%s", tk_str(pet, "record.id"));
  cJSON_Delete(pet);
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  snprintf(op_id, sizeof op_id, "%s", tk_str(req, "opIds.0"));
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* applied as TK_SRV(1); the answer is lost */
  cJSON_Delete(req);
  cJSON_Delete(tk_call(f->a, "pushFailure", "{\"status\":0}"));  /* waits 600 s now */
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"later\"}}"));
  cJSON *begin = tk_call(f->a, "syncBegin", "{}");
  assert_int_equal((int)tk_num(begin, "inDoubt"), 1);
  cJSON_Delete(begin);
  req = tk_call(f->a, "pushRequest", "{\"inDoubt\":true}");
  assert_int_equal(cJSON_GetArraySize(tk_get(req, "body.ops")), 1);
  assert_string_equal(tk_str(req, "body.ops.0.op_id"), op_id);
  assert_string_equal(tk_str(req, "body.ops.0.id"), tmp);
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  assert_string_equal(tk_str(resp, "results.0.status"), "duplicate");
  cJSON *ans = tk_call_json(f->a, "pushResponse", tk_wrap("response", resp));
  assert_string_equal(tk_str(tk_get(ans, "remapped"), tmp), TK_SRV(1));
  cJSON_Delete(ans);
  req = tk_call(f->a, "pushRequest", "{\"inDoubt\":true}");       /* nothing else is in doubt */
  assert_true(cJSON_IsNull(tk_get(req, "body")));
  cJSON_Delete(req);
  begin = tk_call(f->a, "syncBegin", "{}");
  assert_int_equal((int)tk_num(begin, "inDoubt"), 0);
  cJSON_Delete(begin);
  cJSON *l = tk_call(f->a, "list", "{\"collection\":\"pets\"}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  assert_string_equal(tk_str(l, "records.0.id"), TK_SRV(1));
  cJSON_Delete(l);
  req = tk_call(f->a, "pushRequest", "{}");                        /* the ordinary push: the rest */
  assert_string_equal(tk_str(req, "body.ops.0.id"), "later");
  cJSON_Delete(req);
  tk_pair_close(f);
}

/* The hlc of the one op A's push request carries. Caller frees. */
static char *pushed_hlc(sc_store *st) {
  cJSON *req = tk_call(st, "pushRequest", "{\"force\":true}");
  char *hlc = strdup(tk_str(req, "body.ops.0.hlc"));
  cJSON_Delete(req);
  return hlc;
}

/* Rules.h, issue 11: the client takes the server's future tolerance from its answers. A
** device whose clock runs 100 s ahead sends an op, the answer is lost, then a pull tells it
** the true time. Whether the resend may keep the stamp depends on the tolerance: under the
** default 300 s the server accepts it, so the op goes again as sent; under a server that
** tolerates 60 s it would be rejected, so it is rebuilt with a stamp on the corrected clock. */
static void resend_should_keep_or_rebuild_its_stamp_by_the_servers_future_tolerance(void **state) {
  (void)state;
  for (int tolerate_60s = 0; tolerate_60s <= 1; tolerate_60s++) {
    fx *f = tk_pair_open(CFG, 3, 4);
    f->ea.now = f->srv.now + 100000;
    cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"t\":0}}"));
    char *first = pushed_hlc(f->a);
    cJSON_Delete(tk_call(f->a, "pushFailure", "{\"status\":503,\"error\":\"lost\"}"));
    cJSON *page = tk_server_pull(&f->srv, "", 10);
    assert_int_equal((int)tk_num(page, "future_tolerance_ms"), 300000);   /* the server names its own */
    if (tolerate_60s) cJSON_ReplaceItemInObject(page, "future_tolerance_ms", cJSON_CreateNumber(60000));
    cJSON_Delete(tk_call_json(f->a, "pullResponse", tk_wrap("response", page)));
    char *again = pushed_hlc(f->a);
    if (tolerate_60s) {
      assert_string_not_equal(first, again);
      assert_true(strcmp(again, first) < 0);   /* 15-digit ms first: on the corrected clock, earlier */
    } else {
      assert_string_equal(first, again);
    }
    free(first);
    free(again);
    tk_pair_close(f);
  }
}

/* A future tolerance that is not a whole number of ms within a week fails the answer. */
static void answer_with_a_bad_future_tolerance_should_change_nothing(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"r\",\"t\":0}}"));
  tk_sync(f->a, &f->srv, 100);
  cJSON_Delete(tk_call(f->b, "put", "{\"collection\":\"a\",\"record\":{\"id\":\"mine\",\"t\":0}}"));
  char *before = snapshot(f->b);
  const char *bad[] = {"-5", "\"300000\"", "1.5", "1e12", "null", "{}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cJSON *page = tk_server_pull(&f->srv, "", 10);
    cJSON_ReplaceItemInObject(page, "future_tolerance_ms", cJSON_Parse(bad[i]));
    char *text = cJSON_PrintUnformatted(page);
    cJSON_Delete(page);
    tk_call_fails(f->b, SC_EPROTOCOL, "pullResponse", "{\"response\":%s}", text);
    free(text);
    char *after = snapshot(f->b);
    assert_string_equal(before, after);
    free(after);
  }
  free(before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(pull_should_page_until_has_more_is_false_and_keep_the_cursor, setup, teardown),
    cmocka_unit_test_setup_teardown(pull_response_of_the_wrong_shape_should_change_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(pull_should_apply_tombstones_and_ignore_unknown_collections, setup, teardown),
    cmocka_unit_test_setup_teardown(pull_gone_should_resync_and_drop_clean_records_the_server_lost, setup, teardown),
    cmocka_unit_test_setup_teardown(our_change_echoed_by_a_pull_should_count_as_acknowledged, setup, teardown),
    cmocka_unit_test_setup_teardown(sync_done_should_record_the_last_error, setup, teardown),
    cmocka_unit_test_setup_teardown(per_op_rejection_should_mark_only_that_op, setup, teardown),
    cmocka_unit_test_setup_teardown(duplicate_for_a_record_the_resync_did_not_send_should_not_resurrect_it, setup, teardown),
    cmocka_unit_test(pull_should_see_a_recreated_record_whose_version_restarted_at_the_base),
    cmocka_unit_test(pull_should_list_exactly_the_conflicts_it_opened),
    cmocka_unit_test_setup_teardown(pull_page_should_list_each_changed_record_once, setup, teardown),
    cmocka_unit_test_setup_teardown(sync_begin_should_resend_an_inflight_op_with_its_op_id_and_get_duplicate, setup, teardown),
    cmocka_unit_test_setup_teardown(pull_page_with_an_impossible_time_should_fail_whole_and_keep_the_cursor, setup, teardown),
    cmocka_unit_test_setup_teardown(pulled_data_with_an_id_of_its_own_should_keep_the_changes_id, setup, teardown),
    cmocka_unit_test_setup_teardown(push_result_with_an_impossible_time_should_change_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(push_answer_of_the_wrong_shape_should_be_a_failed_attempt, setup, teardown),
    cmocka_unit_test_setup_teardown(server_answer_with_a_repeated_key_should_change_nothing, setup, teardown),
    cmocka_unit_test(in_doubt_edit_should_be_settled_before_a_pull_judges_an_edit_on_top_of_it),
    cmocka_unit_test(push_request_in_doubt_should_take_only_unanswered_ops_whatever_their_backoff),
    cmocka_unit_test(resend_should_keep_or_rebuild_its_stamp_by_the_servers_future_tolerance),
    cmocka_unit_test_setup_teardown(answer_with_a_bad_future_tolerance_should_change_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
