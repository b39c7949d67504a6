/* test_remap.c — temp ids for idFrom 'server', refs held back and rewritten, derived fields. */
#include "sc_testkit.h"

static const char *CFG = "{\"name\":\"vet\",\"deviceId\":\"d1\",\"collections\":{"
  "\"pets\":{\"idFrom\":\"server\"},"
  "\"appointments\":{\"idFrom\":\"server\",\"refs\":{\"petId\":\"pets\"},\"indexes\":[\"petId\"]}}}";

typedef struct fx { tk_env env; tk_server srv; sc_store *st; } fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->env.now = 1735732800000LL;
  f->env.rng = 5;
  tk_server_init(&f->srv);
  f->srv.server_ids = "pets,appointments";
  f->st = tk_open_at(&f->env, CFG);
  *state = f;
  return 0;
}
static int teardown(void **state) {
  fx *f = *state;
  sc_close(f->st);
  tk_server_free(&f->srv);
  free(f);
  return 0;
}

static void local_creates_should_get_tmp_ids(void **state) {
  fx *f = *state;
  cJSON *p = tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}");
  assert_memory_equal(tk_str(p, "record.id"), "tmp_", 4);
  cJSON_Delete(p);
}

static void an_op_pointing_at_an_unmapped_tmp_id_should_wait_then_follow_the_real_id(void **state) {
  fx *f = *state;
  cJSON *p = tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\",\"ownerId\":\"own1\"}}");
  char pet[64];
  snprintf(pet, sizeof pet, "%s", tk_str(p, "record.id"));
  cJSON_Delete(p);
  cJSON *a = tk_call(f->st, "put", "{\"collection\":\"appointments\",\"record\":{\"petId\":\"%s\",\"at\":\"x\"}}", pet);
  char appt[64];
  snprintf(appt, sizeof appt, "%s", tk_str(a, "record.id"));
  cJSON_Delete(a);
  /* first batch: only the pet; the appointment waits (pending) for the mapping */
  cJSON *req = tk_call(f->st, "pushRequest", "{}");
  assert_int_equal(cJSON_GetArraySize(tk_get(req, "body.ops")), 1);
  assert_string_equal(tk_str(req, "body.ops.0.collection"), "pets");
  cJSON *o = tk_call(f->st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.1.status"), "pending");
  cJSON_Delete(o);
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  cJSON *ans = tk_call_json(f->st, "pushResponse", tk_wrap("response", resp));
  const cJSON *rm = tk_get(ans, "remapped");
  assert_string_equal(cJSON_GetObjectItem(rm, pet)->valuestring, TK_SRV(1));
  cJSON_Delete(ans);
  /* the appointment's petId now names the real pet; the old id resolves too */
  cJSON *g = tk_call(f->st, "get", "{\"collection\":\"appointments\",\"id\":\"%s\"}", appt);
  assert_string_equal(tk_str(g, "record.petId"), TK_SRV(1));
  cJSON_Delete(g);
  g = tk_call(f->st, "get", "{\"collection\":\"pets\",\"id\":\"%s\"}", pet);
  assert_string_equal(tk_str(g, "record.id"), TK_SRV(1));
  cJSON_Delete(g);
  cJSON *c = tk_call(f->st, "count", "{\"collection\":\"appointments\",\"where\":{\"petId\":\"" TK_SRV(1) "\"}}");
  assert_int_equal((int)tk_num(c, "count"), 1);
  cJSON_Delete(c);
  /* second round: the appointment goes with the real id and gets the derived clientId */
  tk_round r = tk_sync(f->st, &f->srv, 100);
  assert_int_equal(r.pushed, 1);
  cJSON *l = tk_call(f->st, "list", "{\"collection\":\"appointments\"}");
  assert_string_equal(tk_str(l, "records.0.id"), TK_SRV(2));
  assert_string_equal(tk_str(l, "records.0.petId"), TK_SRV(1));
  assert_string_equal(tk_str(l, "records.0.clientId"), "own1");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  cJSON_Delete(l);
  l = tk_call(f->st, "list", "{\"collection\":\"pets\"}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  cJSON_Delete(l);
  cJSON *s = tk_call(f->st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
}

static void edits_queued_behind_a_create_should_follow_the_remap(void **state) {
  fx *f = *state;
  cJSON *p = tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}");
  char pet[64];
  snprintf(pet, sizeof pet, "%s", tk_str(p, "record.id"));
  cJSON_Delete(p);
  cJSON *req = tk_call(f->st, "pushRequest", "{}");
  cJSON_Delete(tk_call(f->st, "patch", "{\"collection\":\"pets\",\"id\":\"%s\",\"fields\":{\"name\":\"Rexy\"}}", pet));
  cJSON *resp = tk_server_push(&f->srv, tk_get(req, "body"));
  cJSON_Delete(req);
  cJSON_Delete(tk_call_json(f->st, "pushResponse", tk_wrap("response", resp)));
  cJSON *o = tk_call(f->st, "outbox", "{}");
  assert_string_equal(tk_str(o, "ops.0.recordId"), TK_SRV(1));
  assert_string_equal(tk_str(o, "ops.0.kind"), "update");
  cJSON_Delete(o);
  tk_sync(f->st, &f->srv, 100);
  assert_string_equal(tk_str(tk_server_find(&f->srv, "pets", TK_SRV(1)), "data.name"), "Rexy");
}

static void a_ref_to_a_tmp_record_deleted_before_push_should_not_hold_the_op_forever(void **state) {
  fx *f = *state;
  cJSON *p = tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}");
  char pet[64];
  snprintf(pet, sizeof pet, "%s", tk_str(p, "record.id"));
  cJSON_Delete(p);
  cJSON_Delete(tk_call(f->st, "put", "{\"collection\":\"appointments\",\"record\":{\"petId\":\"%s\"}}", pet));
  cJSON_Delete(tk_call(f->st, "delete", "{\"collection\":\"pets\",\"id\":\"%s\"}", pet));
  tk_round r = tk_sync(f->st, &f->srv, 100);
  assert_int_equal(r.pushed, 1);
  cJSON *s = tk_call(f->st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
}

static void a_lost_create_answer_should_not_roll_back_a_newer_pulled_version(void **state) {
  fx *f = *state;
  tk_env other_env = {1735732800000LL, 99};
  sc_store *other = tk_open_at(&other_env, "{\"name\":\"vet\",\"deviceId\":\"d2\",\"collections\":{"
    "\"pets\":{\"idFrom\":\"server\"},\"appointments\":{\"idFrom\":\"server\",\"refs\":{\"petId\":\"pets\"}}}}");
  cJSON_Delete(tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}"));
  cJSON *req = tk_call(f->st, "pushRequest", "{}");
  cJSON_Delete(tk_server_push(&f->srv, tk_get(req, "body")));     /* applied; answer lost */
  cJSON_Delete(tk_call(f->st, "pushFailure", "{\"status\":0}"));
  /* another device renames the pet; this device pulls it before resending its create */
  tk_sync(other, &f->srv, 100);
  cJSON_Delete(tk_call(other, "patch", "{\"collection\":\"pets\",\"id\":\"" TK_SRV(1) "\",\"fields\":{\"name\":\"Max\"}}"));
  tk_sync(other, &f->srv, 100);
  cJSON *resp = tk_server_pull(&f->srv, "", 100);
  cJSON_Delete(tk_call_json(f->st, "pullResponse", tk_wrap("response", resp)));
  cJSON_Delete(req);
  req = tk_call(f->st, "pushRequest", "{\"force\":true}");        /* the resend: duplicate */
  resp = tk_server_push(&f->srv, tk_get(req, "body"));
  assert_string_equal(tk_str(resp, "results.0.status"), "duplicate");
  cJSON_Delete(req);
  cJSON_Delete(tk_call_json(f->st, "pushResponse", tk_wrap("response", resp)));
  cJSON *l = tk_call(f->st, "list", "{\"collection\":\"pets\"}");
  assert_int_equal(cJSON_GetArraySize(tk_get(l, "records")), 1);
  assert_string_equal(tk_str(l, "records.0.name"), "Max");
  cJSON_Delete(l);
  sc_close(other);
}

/* A pet edited here while the server deleted (and purged) it, kept by resolve 'mine':
** it comes back under a fresh temp id. Records referring to it follow it locally, and
** must tell the server so (an op), or this device's appointment names the new pet while
** the server's still names the old one. */
static void refs_following_a_recreated_record_should_be_pushed(void **state) {
  fx *f = *state;
  cJSON_Delete(tk_call(f->st, "put", "{\"collection\":\"pets\",\"record\":{\"name\":\"Rex\"}}"));
  tk_sync(f->st, &f->srv, 100);
  cJSON_Delete(tk_call(f->st, "put", "{\"collection\":\"appointments\",\"record\":{\"petId\":\"" TK_SRV(1) "\",\"at\":\"x\"}}"));
  tk_sync(f->st, &f->srv, 100);
  assert_non_null(tk_server_find(&f->srv, "appointments", TK_SRV(2)));
  cJSON_Delete(tk_call(f->st, "patch", "{\"collection\":\"pets\",\"id\":\"" TK_SRV(1) "\",\"fields\":{\"name\":\"Max\"}}"));
  tk_server_lose(&f->srv, "pets", TK_SRV(1));                     /* deleted elsewhere, purged */
  tk_round r = tk_sync(f->st, &f->srv, 100);
  assert_int_equal(r.conflicts, 1);
  cJSON *c = tk_call(f->st, "conflicts", "{}");
  cJSON_Delete(tk_call(f->st, "resolve", "{\"conflictId\":\"%s\",\"choice\":\"mine\"}", tk_str(c, "conflicts.0.id")));
  cJSON_Delete(c);
  tk_sync(f->st, &f->srv, 100);
  tk_sync(f->st, &f->srv, 100);
  cJSON *g = tk_call(f->st, "get", "{\"collection\":\"appointments\",\"id\":\"" TK_SRV(2) "\"}");
  const char *local_pet = tk_str(g, "record.petId");
  assert_non_null(local_pet);
  assert_string_equal(local_pet, TK_SRV(3));                         /* the re-created pet */
  assert_string_equal(tk_str(tk_server_find(&f->srv, "appointments", TK_SRV(2)), "data.petId"), local_pet);
  cJSON_Delete(g);
  cJSON *s = tk_call(f->st, "status", "{}");
  assert_int_equal((int)tk_num(s, "pending"), 0);
  cJSON_Delete(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(local_creates_should_get_tmp_ids, setup, teardown),
    cmocka_unit_test_setup_teardown(an_op_pointing_at_an_unmapped_tmp_id_should_wait_then_follow_the_real_id, setup, teardown),
    cmocka_unit_test_setup_teardown(edits_queued_behind_a_create_should_follow_the_remap, setup, teardown),
    cmocka_unit_test_setup_teardown(a_ref_to_a_tmp_record_deleted_before_push_should_not_hold_the_op_forever, setup, teardown),
    cmocka_unit_test_setup_teardown(a_lost_create_answer_should_not_roll_back_a_newer_pulled_version, setup, teardown),
    cmocka_unit_test_setup_teardown(refs_following_a_recreated_record_should_be_pushed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
