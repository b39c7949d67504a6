/* test_merge.c — every strategy and onDelete policy, two devices against the reference server's rules (tk_server). */
#include "sc_testkit.h"

typedef tk_pair fx;

static const char *CFG_FMT = "{\"name\":\"t\",\"deviceId\":\"%s\",\"collections\":{"
  "\"lww\":{},"
  "\"mf\":{\"strategy\":\"merge-fields\"},"
  "\"mfask\":{\"strategy\":\"merge-fields\",\"fieldStrategy\":\"ask\"},"
  "\"ask\":{\"strategy\":\"ask\"},"
  "\"mx\":{\"strategy\":\"max\",\"maxFields\":[\"sets\"]},"
  "\"sw\":{\"strategy\":\"server-wins\"},"
  "\"cw\":{\"strategy\":\"client-wins\"},"
  "\"ro\":{\"readOnly\":true},"
  "\"dw\":{\"onDelete\":\"delete-wins\"},"
  "\"ew\":{\"onDelete\":\"edit-wins\"},"
  "\"lt\":{\"onDelete\":\"latest\"}}}";

static int setup(void **state) {
  *state = tk_pair_open(CFG_FMT, 1, 2);
  return 0;
}
static int teardown(void **state) {
  tk_pair_close(*state);
  return 0;
}

/* A creates coll/r with json, both sync. */
static void seed(fx *f, const char *coll, const char *json) {
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"%s\",\"record\":%s}", coll, json));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
}
/* True time moves for everyone (server and both devices, whatever their skew). */
static void advance(fx *f, int64_t ms) { f->ea.now += ms; f->eb.now += ms; f->srv.now += ms; }
static void patch(fx *f, sc_store *st, const char *coll, const char *fields) {
  advance(f, 1000);
  cJSON_Delete(tk_call(st, "patch", "{\"collection\":\"%s\",\"id\":\"r\",\"fields\":%s}", coll, fields));
}
static void del(fx *f, sc_store *st, const char *coll) {
  advance(f, 1000);
  cJSON_Delete(tk_call(st, "delete", "{\"collection\":\"%s\",\"id\":\"r\"}", coll));
}
static cJSON *get(sc_store *st, const char *coll) {
  return tk_call(st, "get", "{\"collection\":\"%s\",\"id\":\"r\"}", coll);
}
static int nconflicts(sc_store *st) {
  cJSON *c = tk_call(st, "conflicts", "{}");
  int n = cJSON_GetArraySize(tk_get(c, "conflicts"));
  cJSON_Delete(c);
  return n;
}
/* Both edited offline; A syncs first, then B, then A again: both should converge. */
static tk_round settle(fx *f) {
  tk_sync(f->a, &f->srv, 100);
  tk_round r = tk_sync(f->b, &f->srv, 100);
  tk_sync(f->a, &f->srv, 100);
  return r;
}
static void assert_converged(fx *f, const char *coll) {
  cJSON *ga = get(f->a, coll), *gb = get(f->b, coll);
  char *ta = cJSON_PrintUnformatted(ga), *tb = cJSON_PrintUnformatted(gb);
  if (strcmp(ta, tb)) fprintf(stderr, "diverged: %s vs %s\n", ta, tb);
  assert_string_equal(ta, tb);
  free(ta); free(tb);
  cJSON_Delete(ga); cJSON_Delete(gb);
}

static void lww_should_keep_the_later_edit_and_archive_the_loser(void **state) {
  fx *f = *state;
  seed(f, "lww", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "lww", "{\"x\":1}");
  patch(f, f->b, "lww", "{\"x\":2}");
  advance(f, 5000);   /* B's edit is later */
  patch(f, f->b, "lww", "{\"x\":3}");
  tk_round r = settle(f);
  assert_int_equal(r.conflicts, 0);
  cJSON *g = get(f->a, "lww");
  assert_int_equal((int)tk_num(g, "record.x"), 3);
  cJSON_Delete(g);
  assert_converged(f, "lww");
  cJSON *ar = tk_call(f->b, "archive", "{\"collection\":\"lww\",\"recordId\":\"r\"}");
  assert_int_equal((int)tk_num(ar, "versions.0.data.x"), 1);
  assert_string_equal(tk_str(ar, "versions.0.deviceId"), "dA");
  cJSON_Delete(ar);
}

static void lww_should_not_let_a_fast_device_clock_win_with_a_stale_edit(void **state) {
  fx *f = *state;
  seed(f, "lww", "{\"id\":\"r\",\"x\":0}");
  /* B's clock jumps 2 h fast while offline: its edit is stamped 2 h ahead until B sees
  ** the server's time again, when its unsent stamps are corrected and A's later edit wins */
  f->eb.now += 2 * 3600 * 1000;
  patch(f, f->b, "lww", "{\"x\":2}");
  advance(f, 60000);
  patch(f, f->a, "lww", "{\"x\":1}");
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  tk_sync(f->a, &f->srv, 100);
  cJSON *g = get(f->b, "lww");
  assert_int_equal((int)tk_num(g, "record.x"), 1);
  cJSON_Delete(g);
  assert_converged(f, "lww");
}

static void merge_fields_should_keep_both_disjoint_edits(void **state) {
  fx *f = *state;
  seed(f, "mf", "{\"id\":\"r\",\"x\":0,\"y\":0}");
  patch(f, f->a, "mf", "{\"x\":1}");
  patch(f, f->b, "mf", "{\"y\":2}");
  tk_round r = settle(f);
  assert_int_equal(r.conflicts, 0);
  cJSON *g = get(f->b, "mf");
  assert_int_equal((int)tk_num(g, "record.x"), 1);
  assert_int_equal((int)tk_num(g, "record.y"), 2);
  cJSON_Delete(g);
  assert_converged(f, "mf");
}

static void merge_fields_should_settle_a_field_edited_on_both_sides_by_lww(void **state) {
  fx *f = *state;
  seed(f, "mf", "{\"id\":\"r\",\"x\":0,\"y\":0}");
  patch(f, f->a, "mf", "{\"x\":1,\"y\":1}");
  advance(f, 5000);
  patch(f, f->b, "mf", "{\"x\":2}");
  settle(f);
  cJSON *g = get(f->a, "mf");
  assert_int_equal((int)tk_num(g, "record.x"), 2);
  assert_int_equal((int)tk_num(g, "record.y"), 1);
  cJSON_Delete(g);
  assert_converged(f, "mf");
}

static void merge_fields_with_field_ask_should_raise_one_conflict(void **state) {
  fx *f = *state;
  seed(f, "mfask", "{\"id\":\"r\",\"x\":0,\"y\":0}");
  patch(f, f->a, "mfask", "{\"x\":1}");
  patch(f, f->b, "mfask", "{\"x\":2}");
  tk_round r = settle(f);
  assert_int_equal(r.conflicts, 1);
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  assert_string_equal(tk_str(c, "conflicts.0.kind"), "edit-edit");
  assert_string_equal(tk_str(c, "conflicts.0.fields.0"), "x");
  assert_int_equal(cJSON_GetArraySize(tk_get(c, "conflicts.0.fields")), 1);
  cJSON_Delete(c);
}

static void ask_should_hold_the_op_keep_mine_locally_and_never_make_two_conflicts(void **state) {
  fx *f = *state;
  seed(f, "ask", "{\"id\":\"r\",\"x\":0,\"note\":\"n\"}");
  patch(f, f->a, "ask", "{\"x\":1}");
  patch(f, f->b, "ask", "{\"x\":2}");
  tk_round r = settle(f);
  assert_int_equal(r.conflicts, 1);
  cJSON *g = get(f->b, "ask");
  assert_int_equal((int)tk_num(g, "record.x"), 2);   /* local edit kept locally */
  cJSON_Delete(g);
  cJSON *o = tk_call(f->b, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.status"), "held");
  cJSON_Delete(o);
  /* another remote edit: the same conflict is refreshed, never a second one */
  patch(f, f->a, "ask", "{\"x\":5}");
  tk_sync(f->a, &f->srv, 100);
  r = tk_sync(f->b, &f->srv, 100);
  assert_int_equal(r.conflicts, 0);
  assert_int_equal(nconflicts(f->b), 1);
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  assert_int_equal((int)tk_num(c, "conflicts.0.remote.x"), 5);
  assert_int_equal((int)tk_num(c, "conflicts.0.local.x"), 2);
  assert_int_equal((int)tk_num(c, "conflicts.0.base.x"), 0);
  assert_non_null(tk_str(c, "conflicts.0.createdAt"));
  char id[64];
  snprintf(id, sizeof id, "%s", tk_str(c, "conflicts.0.id"));
  cJSON_Delete(c);
  /* resolve mine: rebased on the server's version and pushed */
  cJSON *res = tk_call(f->b, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"mine\"}", id);
  assert_int_equal((int)tk_num(res, "record.x"), 2);
  cJSON_Delete(res);
  tk_call_fails(f->b, SC_ENOTFOUND, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"mine\"}", id);
  r = tk_sync(f->b, &f->srv, 100);
  assert_int_equal(r.pushed, 1);
  tk_sync(f->a, &f->srv, 100);
  assert_converged(f, "ask");
}

static void resolve_theirs_and_merged_should_settle_the_conflict(void **state) {
  fx *f = *state;
  seed(f, "ask", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "ask", "{\"x\":1}");
  patch(f, f->b, "ask", "{\"x\":2}");
  settle(f);
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  char id[64];
  snprintf(id, sizeof id, "%s", tk_str(c, "conflicts.0.id"));
  cJSON_Delete(c);
  tk_call_fails(f->b, SC_EBADINPUT, "resolve", "{\"conflictId\":\"%s\",\"merged\":{\"id\":\"other\"}}", id);
  cJSON *res = tk_call(f->b, "resolve", "{\"conflictId\":\"%s\",\"merged\":{\"x\":12}}", id);
  assert_int_equal((int)tk_num(res, "record.x"), 12);
  cJSON_Delete(res);
  tk_sync(f->b, &f->srv, 100);
  tk_sync(f->a, &f->srv, 100);
  assert_converged(f, "ask");
  /* theirs */
  patch(f, f->a, "ask", "{\"x\":20}");
  patch(f, f->b, "ask", "{\"x\":21}");
  settle(f);
  c = tk_call(f->b, "conflicts", "{}");
  snprintf(id, sizeof id, "%s", tk_str(c, "conflicts.0.id"));
  cJSON_Delete(c);
  cJSON_Delete(tk_call(f->b, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"theirs\"}", id));
  cJSON *g = get(f->b, "ask");
  assert_int_equal((int)tk_num(g, "record.x"), 20);
  cJSON_Delete(g);
  cJSON *s = tk_call(f->b, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  cJSON_Delete(s);
}

static void max_should_take_the_numeric_maximum_of_max_fields(void **state) {
  fx *f = *state;
  seed(f, "mx", "{\"id\":\"r\",\"sets\":3,\"note\":\"a\"}");
  patch(f, f->a, "mx", "{\"sets\":9,\"note\":\"b\"}");
  patch(f, f->b, "mx", "{\"sets\":5,\"note\":\"c\"}");
  settle(f);
  cJSON *g = get(f->a, "mx");
  assert_int_equal((int)tk_num(g, "record.sets"), 9);
  assert_string_equal(tk_str(g, "record.note"), "c");
  cJSON_Delete(g);
  assert_converged(f, "mx");
}

static void server_wins_and_client_wins_should_do_as_named(void **state) {
  fx *f = *state;
  seed(f, "sw", "{\"id\":\"r\",\"x\":0}");
  seed(f, "cw", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "sw", "{\"x\":1}");
  patch(f, f->a, "cw", "{\"x\":1}");
  advance(f, 9000);
  patch(f, f->b, "sw", "{\"x\":2}");
  patch(f, f->b, "cw", "{\"x\":2}");
  advance(f, 20000);
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  tk_sync(f->a, &f->srv, 100);
  cJSON *g = get(f->b, "sw");
  assert_int_equal((int)tk_num(g, "record.x"), 1);
  cJSON_Delete(g);
  g = get(f->a, "cw");
  assert_int_equal((int)tk_num(g, "record.x"), 2);
  cJSON_Delete(g);
  assert_converged(f, "sw");
  assert_converged(f, "cw");
}

static void read_only_should_refuse_local_writes_but_apply_pulls(void **state) {
  fx *f = *state;
  tk_call_fails(f->a, SC_EREADONLY, "put", "{\"collection\":\"ro\",\"record\":{\"id\":\"r\"}}");
  cJSON *resp = cJSON_Parse("{\"server_time\":\"2025-01-01T12:00:00.000Z\",\"changes\":[{\"seq\":1,\"collection\":\"ro\","
    "\"id\":\"r\",\"version\":1,\"data\":{\"name\":\"squat\"},\"updated_at\":\"2025-01-01T12:00:00.000Z\",\"deleted_at\":null,"
    "\"hlc\":\"001735732800000-00000-srv\",\"device_id\":\"srv\"}],\"cursor\":\"1\",\"has_more\":false,\"remaining\":0}");
  cJSON_Delete(tk_call_json(f->a, "pullResponse", tk_wrap("response", resp)));
  cJSON *g = get(f->a, "ro");
  assert_string_equal(tk_str(g, "record.name"), "squat");
  cJSON_Delete(g);
}

static void on_delete_ask_should_raise_delete_edit_with_the_deleted_side_null(void **state) {
  fx *f = *state;
  seed(f, "lww", "{\"id\":\"r\",\"x\":0}");
  del(f, f->a, "lww");
  patch(f, f->b, "lww", "{\"x\":2}");
  tk_round r = settle(f);
  assert_int_equal(r.conflicts, 1);
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  assert_string_equal(tk_str(c, "conflicts.0.kind"), "delete-edit");
  assert_true(cJSON_IsNull(tk_get(c, "conflicts.0.remote")));
  assert_int_equal((int)tk_num(c, "conflicts.0.local.x"), 2);
  cJSON_Delete(c);
}

static void on_delete_ask_should_raise_edit_delete_when_deleted_here(void **state) {
  fx *f = *state;
  seed(f, "lww", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "lww", "{\"x\":1}");
  del(f, f->b, "lww");
  settle(f);
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  assert_string_equal(tk_str(c, "conflicts.0.kind"), "edit-delete");
  assert_true(cJSON_IsNull(tk_get(c, "conflicts.0.local")));
  assert_int_equal((int)tk_num(c, "conflicts.0.remote.x"), 1);
  cJSON_Delete(c);
}

static void on_delete_delete_wins_should_delete_on_both(void **state) {
  fx *f = *state;
  seed(f, "dw", "{\"id\":\"r\",\"x\":0}");
  del(f, f->a, "dw");
  patch(f, f->b, "dw", "{\"x\":2}");
  settle(f);
  cJSON *g = get(f->b, "dw");
  assert_true(cJSON_IsNull(tk_get(g, "record")));
  cJSON_Delete(g);
  assert_converged(f, "dw");
  assert_int_equal(nconflicts(f->b), 0);
}

static void on_delete_edit_wins_should_bring_the_record_back(void **state) {
  fx *f = *state;
  seed(f, "ew", "{\"id\":\"r\",\"x\":0}");
  del(f, f->a, "ew");
  patch(f, f->b, "ew", "{\"x\":2}");
  settle(f);
  cJSON *g = get(f->a, "ew");
  assert_int_equal((int)tk_num(g, "record.x"), 2);
  cJSON_Delete(g);
  assert_converged(f, "ew");
}

static void on_delete_latest_should_follow_the_later_side(void **state) {
  fx *f = *state;
  seed(f, "lt", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->b, "lt", "{\"x\":2}");
  advance(f, 10000);
  del(f, f->a, "lt");      /* the delete is later */
  settle(f);
  cJSON *g = get(f->b, "lt");
  assert_true(cJSON_IsNull(tk_get(g, "record")));
  cJSON_Delete(g);
  /* now an edit later than a delete: comes back */
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"lt\",\"record\":{\"id\":\"q\",\"x\":0}}"));
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  advance(f, 1000);
  cJSON_Delete(tk_call(f->a, "delete", "{\"collection\":\"lt\",\"id\":\"q\"}"));
  advance(f, 30000);
  cJSON_Delete(tk_call(f->b, "patch", "{\"collection\":\"lt\",\"id\":\"q\",\"fields\":{\"x\":7}}"));
  settle(f);
  g = tk_call(f->a, "get", "{\"collection\":\"lt\",\"id\":\"q\"}");
  assert_int_equal((int)tk_num(g, "record.x"), 7);
  cJSON_Delete(g);
}

/* Three devices: A deletes, C edits later, B deletes later still. B meets A's tombstone
** first; its delete must still reach the server, or C's edit (older than B's delete)
** lands on the tombstone's version and wins. */
static void a_newer_delete_meeting_a_tombstone_should_still_be_recorded(void **state) {
  fx *f = *state;
  tk_env ec = {f->srv.now, 3};
  char cfg[2048];
  snprintf(cfg, sizeof cfg, CFG_FMT, "dC");
  sc_store *c = tk_open_at(&ec, cfg);
  seed(f, "lt", "{\"id\":\"r\",\"x\":0}");
  tk_sync(c, &f->srv, 100);
  del(f, f->a, "lt");
  tk_sync(f->a, &f->srv, 100);
  advance(f, 1000);
  ec.now = f->eb.now;
  cJSON_Delete(tk_call(c, "patch", "{\"collection\":\"lt\",\"id\":\"r\",\"fields\":{\"x\":5}}"));
  advance(f, 5000);
  del(f, f->b, "lt");                      /* the newest write */
  tk_sync(f->b, &f->srv, 100);             /* meets A's tombstone */
  cJSON *rec = tk_server_find(&f->srv, "lt", "r");
  assert_string_equal(tk_str(rec, "device_id"), "dB");
  ec.now = f->eb.now;                      /* C's clock keeps true time */
  tk_sync(c, &f->srv, 100);                /* C's older edit must lose */
  settle(f);
  assert_true(tk_record_gone(c, "lt", "r"));
  assert_true(tk_record_gone(f->a, "lt", "r"));
  assert_true(tk_record_gone(f->b, "lt", "r"));
  assert_int_equal(sc_close(c), SC_OK);
}

/* lww: B reaches the data A already sent, later: the server takes B's newer stamp. */
static void the_same_data_written_later_should_carry_the_later_stamp(void **state) {
  fx *f = *state;
  seed(f, "lww", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "lww", "{\"x\":1}");
  tk_sync(f->a, &f->srv, 100);
  patch(f, f->b, "lww", "{\"x\":1}");
  tk_sync(f->b, &f->srv, 100);
  cJSON *rec = tk_server_find(&f->srv, "lww", "r");
  assert_string_equal(tk_str(rec, "device_id"), "dB");
  assert_int_equal((int)tk_num(rec, "data.x"), 1);
  settle(f);
  assert_converged(f, "lww");
}

static void push_conflict_with_null_record_should_follow_on_delete(void **state) {
  fx *f = *state;
  seed(f, "ew", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->b, "ew", "{\"x\":3}");
  /* the server purged the record */
  tk_server_lose(&f->srv, "ew", "r");
  tk_sync(f->b, &f->srv, 100);
  cJSON *s = tk_call(f->b, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
  cJSON *rec = tk_server_find(&f->srv, "ew", "r");
  assert_non_null(rec);
  assert_int_equal((int)tk_num(rec, "data.x"), 3);
}

static void conflicts_should_show_the_current_local_and_settle_when_the_app_matches_the_server(void **state) {
  fx *f = *state;
  seed(f, "ask", "{\"id\":\"r\",\"x\":0}");
  patch(f, f->a, "ask", "{\"x\":1}");
  patch(f, f->b, "ask", "{\"x\":2}");
  settle(f);
  patch(f, f->b, "ask", "{\"x\":3,\"y\":1}");
  cJSON *c = tk_call(f->b, "conflicts", "{}");
  assert_int_equal((int)tk_num(c, "conflicts.0.local.x"), 3);
  assert_int_equal(cJSON_GetArraySize(tk_get(c, "conflicts.0.fields")), 2);
  cJSON_Delete(c);
  cJSON_Delete(tk_call(f->b, "put", "{\"collection\":\"ask\",\"record\":{\"id\":\"r\",\"x\":1}}"));
  assert_int_equal(nconflicts(f->b), 0);
  cJSON *s = tk_call(f->b, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
}

/* The server forgot the record (purged) while A edited it: a delete-edit conflict with
** remote null. A then deletes the record: both sides are gone, the conflict settles (it
** must not stay behind naming a record that no longer exists). */
static void deleting_a_record_whose_server_side_is_gone_should_settle_its_conflict(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->a, "put", "{\"collection\":\"ask\",\"record\":{\"id\":\"r\",\"v\":1}}"));
  tk_sync(f->a, &f->srv, 100);
  cJSON_Delete(tk_call(f->a, "patch", "{\"collection\":\"ask\",\"id\":\"r\",\"fields\":{\"v\":2}}"));
  tk_server_lose(&f->srv, "ask", "r");                            /* deleted elsewhere and purged */
  tk_round r = tk_sync(f->a, &f->srv, 100);
  assert_int_equal(r.conflicts, 1);
  cJSON *c = tk_call(f->a, "conflicts", "{}");
  char id[64];
  snprintf(id, sizeof id, "%s", tk_str(c, "conflicts.0.id"));
  cJSON_Delete(c);
  cJSON_Delete(tk_call(f->a, "delete", "{\"collection\":\"ask\",\"id\":\"r\"}"));
  c = tk_call(f->a, "conflicts", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(c, "conflicts")), 0);
  cJSON_Delete(c);
  tk_call_fails(f->a, SC_ENOTFOUND, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"mine\"}", id);
  cJSON *s = tk_call(f->a, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  assert_int_equal((int)tk_num(s, "conflicts"), 0);
  cJSON_Delete(s);
}

/* A's conflict holds B's edit as the server side; B then deletes the record and the
** tombstone is purged. A's full resync (410) does not find the record: the conflict's
** server side is gone, and resolving 'theirs' must not bring back B's old edit. */
static void a_full_resync_that_misses_a_record_should_refresh_its_conflict_to_deleted(void **state) {
  fx *f = *state;
  seed(f, "ask", "{\"id\":\"r\",\"v\":1}");
  patch(f, f->b, "ask", "{\"v\":\"b\"}");
  tk_sync(f->b, &f->srv, 100);
  patch(f, f->a, "ask", "{\"v\":\"a\"}");
  tk_sync(f->a, &f->srv, 100);
  assert_int_equal(nconflicts(f->a), 1);
  del(f, f->b, "ask");
  tk_sync(f->b, &f->srv, 100);
  tk_server_purge(&f->srv);                                       /* the tombstone is purged */
  cJSON_Delete(tk_call(f->a, "pullGone", "{}"));
  tk_sync(f->a, &f->srv, 100);
  cJSON *c = tk_call(f->a, "conflicts", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(c, "conflicts")), 1);
  assert_true(cJSON_IsNull(tk_get(c, "conflicts.0.remote")));
  cJSON_Delete(tk_call(f->a, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"theirs\"}", tk_str(c, "conflicts.0.id")));
  cJSON_Delete(c);
  tk_sync(f->a, &f->srv, 100);
  cJSON *g = get(f->a, "ask");
  assert_true(cJSON_IsNull(tk_get(g, "record")));
  cJSON_Delete(g);
}

/* A's edit of a was applied but its answer lost; A edits a again; B (who pulled A's
** first edit) then edits b. When A pulls B's version, a's value there is A's own
** earlier write, not a concurrent remote change: A's newer a must survive. */
static void merge_fields_should_not_count_our_own_unacknowledged_write_as_a_remote_change(void **state) {
  fx *f = *state;
  seed(f, "mf", "{\"id\":\"r\",\"a\":1,\"b\":1}");
  patch(f, f->a, "mf", "{\"a\":2}");
  cJSON *req = tk_call(f->a, "pushRequest", "{}");
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));   /* applied as v2; answer lost */
  cJSON_Delete(req);
  patch(f, f->a, "mf", "{\"a\":3}");
  tk_sync(f->b, &f->srv, 100);
  patch(f, f->b, "mf", "{\"b\":2}");
  tk_sync(f->b, &f->srv, 100);
  tk_sync(f->a, &f->srv, 100);
  tk_sync(f->b, &f->srv, 100);
  cJSON *g = get(f->a, "mf");
  assert_int_equal((int)tk_num(g, "record.a"), 3);
  assert_int_equal((int)tk_num(g, "record.b"), 2);
  cJSON_Delete(g);
  g = get(f->b, "mf");
  assert_int_equal((int)tk_num(g, "record.a"), 3);
  cJSON_Delete(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(lww_should_keep_the_later_edit_and_archive_the_loser, setup, teardown),
    cmocka_unit_test_setup_teardown(lww_should_not_let_a_fast_device_clock_win_with_a_stale_edit, setup, teardown),
    cmocka_unit_test_setup_teardown(merge_fields_should_keep_both_disjoint_edits, setup, teardown),
    cmocka_unit_test_setup_teardown(merge_fields_should_settle_a_field_edited_on_both_sides_by_lww, setup, teardown),
    cmocka_unit_test_setup_teardown(merge_fields_with_field_ask_should_raise_one_conflict, setup, teardown),
    cmocka_unit_test_setup_teardown(ask_should_hold_the_op_keep_mine_locally_and_never_make_two_conflicts, setup, teardown),
    cmocka_unit_test_setup_teardown(resolve_theirs_and_merged_should_settle_the_conflict, setup, teardown),
    cmocka_unit_test_setup_teardown(max_should_take_the_numeric_maximum_of_max_fields, setup, teardown),
    cmocka_unit_test_setup_teardown(server_wins_and_client_wins_should_do_as_named, setup, teardown),
    cmocka_unit_test_setup_teardown(read_only_should_refuse_local_writes_but_apply_pulls, setup, teardown),
    cmocka_unit_test_setup_teardown(on_delete_ask_should_raise_delete_edit_with_the_deleted_side_null, setup, teardown),
    cmocka_unit_test_setup_teardown(on_delete_ask_should_raise_edit_delete_when_deleted_here, setup, teardown),
    cmocka_unit_test_setup_teardown(on_delete_delete_wins_should_delete_on_both, setup, teardown),
    cmocka_unit_test_setup_teardown(on_delete_edit_wins_should_bring_the_record_back, setup, teardown),
    cmocka_unit_test_setup_teardown(on_delete_latest_should_follow_the_later_side, setup, teardown),
    cmocka_unit_test_setup_teardown(a_newer_delete_meeting_a_tombstone_should_still_be_recorded, setup, teardown),
    cmocka_unit_test_setup_teardown(the_same_data_written_later_should_carry_the_later_stamp, setup, teardown),
    cmocka_unit_test_setup_teardown(push_conflict_with_null_record_should_follow_on_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(conflicts_should_show_the_current_local_and_settle_when_the_app_matches_the_server, setup, teardown),
    cmocka_unit_test_setup_teardown(deleting_a_record_whose_server_side_is_gone_should_settle_its_conflict, setup, teardown),
    cmocka_unit_test_setup_teardown(merge_fields_should_not_count_our_own_unacknowledged_write_as_a_remote_change, setup, teardown),
    cmocka_unit_test_setup_teardown(a_full_resync_that_misses_a_record_should_refresh_its_conflict_to_deleted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
