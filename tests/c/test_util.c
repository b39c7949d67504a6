/* test_util.c — codes, constants, uuids, sc_normalize_time, repeated JSON keys, without a store. */
#include "sc_testkit.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void constants_should_name_every_code(void **state) {
  (void)state;
  cJSON *c = cJSON_Parse(sc_constants_json());
  assert_non_null(c);
  for (int code = SC_OK; code <= SC_EINTERNAL; code++) {
    const cJSON *v = cJSON_GetObjectItem(c, sc_code_name(code));
    assert_non_null(v);
    assert_int_equal(v->valueint, code);
  }
  assert_string_equal(sc_code_name(SC_EBADINPUT), "SC_BAD_INPUT");
  assert_string_equal(sc_code_name(SC_EUNKNOWNCOLL), "SC_UNKNOWN_COLLECTION");
  cJSON_Delete(c);
}

static void uuid_should_be_v4_shaped_and_come_from_the_hook(void **state) {
  (void)state;
  tk_env env = {0, 1};
  sc_hooks hooks = {tk_now, tk_random, &env};
  char a[37], b[37];
  util_uuid(&hooks, a);
  util_uuid(&hooks, b);
  assert_int_equal(strlen(a), 36);
  assert_int_equal(a[14], '4');
  assert_int_equal(a[8], '-');
  assert_string_not_equal(a, b);
  env.rng = 1;
  util_uuid(&hooks, b);
  assert_string_equal(a, b);   /* deterministic under the simulation's hooks */
}

static void normalize_time_should_answer_json_or_an_error(void **state) {
  (void)state;
  char *out = NULL, *err = NULL;
  assert_int_equal(sc_normalize_time("\"2025-01-01T12:00:00Z\"", 0, &out, &err), SC_OK);
  assert_string_equal(out, "\"2025-01-01T12:00:00.000Z\"");
  sc_free(out);
  assert_int_equal(sc_normalize_time("0", 0, &out, &err), SC_OK);
  assert_string_equal(out, "\"1970-01-01T00:00:00.000Z\"");
  sc_free(out);
  assert_int_equal(sc_normalize_time("{}", 0, &out, &err), SC_EBADINPUT);
  assert_null(out);
  assert_non_null(err);
  sc_free(err);
  assert_int_equal(sc_normalize_time("\"2025-13-01\"", 0, &out, &err), SC_EBADINPUT);
  sc_free(err);
}

static void json_equal_should_ignore_key_order(void **state) {
  (void)state;
  cJSON *a = cJSON_Parse("{\"x\":1,\"y\":[1,2]}"), *b = cJSON_Parse("{\"y\":[1,2],\"x\":1}"), *c = cJSON_Parse("{\"x\":1}");
  assert_true(util_json_equal(a, b));
  assert_false(util_json_equal(a, c));
  assert_true(util_json_equal(NULL, cJSON_GetObjectItem(a, "nope")));
  cJSON_Delete(a); cJSON_Delete(b); cJSON_Delete(c);
}

static void repeated_key_should_be_found_anywhere_with_its_path(void **state) {
  (void)state;
  struct { const char *json, *key, *path; } cases[] = {
    {"{\"a\":1,\"b\":{\"c\":[1,{\"d\":1}]}}", NULL, ""},
    {"{\"a\":1,\"a\":2}", "a", ""},
    {"{\"changes\":[{\"id\":\"x\"},{\"id\":\"y\",\"data\":{\"petId\":\"p1\",\"clientId\":\"f\",\"clientId\":\"x\"}}]}", "clientId",
     "changes[1].data"},
    {"[[{\"k\":1}],[{\"k\":1,\"j\":2,\"k\":3}]]", "k", "[1][0]"},
    {"{\"A\":1,\"a\":2}", NULL, ""},                                             /* keys are case-sensitive */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cJSON *j = cJSON_Parse(cases[i].json);
    const char *key = "unset";
    char path[64] = "";
    assert_non_null(j);
    assert_int_equal(util_json_repeated_key(j, &key, path, sizeof path), SC_OK);
    if (cases[i].key) assert_string_equal(key, cases[i].key); else assert_null(key);
    assert_string_equal(path, cases[i].path);
    cJSON_Delete(j);
  }
  /* a wide object (the sorted path), the repeat far apart */
  char wide[4096];
  size_t n = (size_t)snprintf(wide, sizeof wide, "{\"f0\":0");
  for (int k = 1; k < 200; k++) n += (size_t)snprintf(wide + n, sizeof wide - n, ",\"f%d\":%d", k, k);
  snprintf(wide + n, sizeof wide - n, ",\"f3\":9}");
  cJSON *j = cJSON_Parse(wide);
  const char *key = NULL;
  char path[16] = "";
  assert_int_equal(util_json_repeated_key(j, &key, path, sizeof path), SC_OK);
  assert_string_equal(key, "f3");
  cJSON_Delete(j);
  /* own keys only (the server's top-level check of a push body): a child's repeat is not its own */
  j = cJSON_Parse("{\"ops\":[{\"k\":1,\"k\":2}],\"a\":{\"b\":1,\"b\":2}}");
  assert_int_equal(util_json_repeated_key_here(j, &key), SC_OK);
  assert_null(key);
  assert_int_equal(util_json_repeated_key_here(cJSON_GetObjectItem(j, "a"), &key), SC_OK);
  assert_string_equal(key, "b");
  assert_int_equal(util_json_repeated_key_here(cJSON_GetObjectItem(j, "ops"), &key), SC_OK);   /* not an object */
  assert_null(key);
  cJSON_Delete(j);
}

/* util_parse_double / util_fmt_double against glibc (whose strtod and printf are exact):
** whatever they take on must come out bit for bit as libc's, and they must take on the
** numbers apps send (decimals of a few digits) rather than hand them all back. */
static void number_fast_paths_should_agree_with_libc_bit_for_bit(void **state) {
  (void)state;
  static const char *texts[] = {"0", "-0", "1", "-1", "26.3", "0.05", "0.0001", "123456789012345", "1234567890123456",
                                "9007199254740993", "1e22", "1e23", "1.5e-7", "3.14159265358979", "0.1", "0.2", "0.30000000000000004",
                                "65.25", "-17.8", "1E5", "2.5e+3", "100", "007", "1.", ".5", "1e", "-", "", "4.35e-22", "12345.6789e-3"};
  size_t taken = 0;
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    double mine = 0;
    size_t n = util_parse_double(texts[i], &mine);
    if (!n) continue;
    char *end = NULL;
    double libc = strtod(texts[i], &end);
    assert_int_equal(n, (size_t)(end - texts[i]));
    assert_memory_equal(&mine, &libc, sizeof mine);
    taken++;
  }
  assert_true(taken >= 20);
  unsigned long long x = 88172645463325252ULL;
  size_t printed = 0, parsed = 0;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    /* decimals as apps write them (k digits after the point) and raw random doubles */
    double d;
    if (i % 3 == 2) { memcpy(&d, &x, sizeof d); if (!isfinite(d)) continue; }
    else d = (double)((long long)(x % 2000000000ULL) - 1000000000LL) / pow(10, (double)((x >> 60) % 9));
    char mine[32], libc[40];
    if (util_fmt_double(d, mine)) {
      snprintf(libc, sizeof libc, "%1.15g", d);
      assert_string_equal(mine, libc);
      printed++;
    }
    snprintf(libc, sizeof libc, "%.*g", (int)(x % 17) + 1, d);
    double back = 0, ref = strtod(libc, NULL);
    if (util_parse_double(libc, &back)) { assert_memory_equal(&back, &ref, sizeof back); parsed++; }
  }
  assert_true(printed > 100000);   /* most app decimals take the fast path */
  assert_true(parsed > 100000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(constants_should_name_every_code),
    cmocka_unit_test(uuid_should_be_v4_shaped_and_come_from_the_hook),
    cmocka_unit_test(normalize_time_should_answer_json_or_an_error),
    cmocka_unit_test(json_equal_should_ignore_key_order),
    cmocka_unit_test(repeated_key_should_be_found_anywhere_with_its_path),
    cmocka_unit_test(number_fast_paths_should_agree_with_libc_bit_for_bit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
