/*
** test_hlc.c — unit tests of hlc.c: text form, monotonicity, the server-offset
** correction, receive(), compare() and parse rejections.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "syncore.h"
#include "hlc.h"

#define T0 1735732800000LL /* 2025-01-01T12:00:00.000Z */
#define HOUR 3600000LL

static void tick_should_write_the_spec_text_form(void **state) {
  (void)state;
  sc_hlc clock;
  char text[SC_HLC_TEXT_MAX + 1];
  int64_t ms = 0;
  sc_hlc_init(&clock, "d1");
  sc_hlc_tick(&clock, T0, text, &ms);
  assert_string_equal(text, "001735732800000-00000-d1");
  assert_int_equal(ms, T0);
}

static void tick_should_be_strictly_increasing_when_the_clock_stalls_or_runs_back(void **state) {
  (void)state;
  sc_hlc clock;
  char prev[SC_HLC_TEXT_MAX + 1], text[SC_HLC_TEXT_MAX + 1];
  int64_t device_now[] = { T0, T0, T0, T0 - 5 * HOUR, T0 + 1, T0 + 1, T0 - 1, T0 + 10 };
  sc_hlc_init(&clock, "dev");
  sc_hlc_tick(&clock, device_now[0], prev, NULL);
  for (size_t i = 1; i < sizeof device_now / sizeof device_now[0]; i++) {
    sc_hlc_tick(&clock, device_now[i], text, NULL);
    if (strcmp(prev, text) >= 0) fail_msg("tick %zu: '%s' not after '%s'", i, text, prev);
    memcpy(prev, text, sizeof text);
  }
  assert_string_equal(text, "001735732800010-00000-dev");
}

static void tick_should_carry_a_full_counter_into_the_next_millisecond(void **state) {
  (void)state;
  sc_hlc clock;
  char text[SC_HLC_TEXT_MAX + 1];
  sc_hlc_init(&clock, "d1");
  assert_int_equal(sc_hlc_receive(&clock, "001735732800000-99999-d2", T0), SC_OK);
  sc_hlc_tick(&clock, T0, text, NULL);
  assert_string_equal(text, "001735732800001-00000-d1");
}

static void tick_should_clamp_a_clock_before_1970_to_zero(void **state) {
  (void)state;
  sc_hlc clock;
  char text[SC_HLC_TEXT_MAX + 1];
  sc_hlc_init(&clock, "d1");
  sc_hlc_tick(&clock, -1000, text, NULL);
  assert_memory_equal(text, "000000000000000-", 16);
  char next[SC_HLC_TEXT_MAX + 1];
  sc_hlc_tick(&clock, -1000, next, NULL);
  assert_memory_equal(next, "000000000000000-", 16);
  assert_true(strcmp(next, text) > 0);
}

static void device_two_hours_fast_should_stamp_server_time_after_observing_the_server(void **state) {
  (void)state;
  sc_hlc fast, honest;
  char fast_text[SC_HLC_TEXT_MAX + 1], honest_text[SC_HLC_TEXT_MAX + 1];
  int64_t ms = 0;
  sc_hlc_init(&fast, "fast");
  sc_hlc_init(&honest, "honest");
  /* server says T0 while the fast device reads T0 + 2 h */
  sc_hlc_observe_server(&fast, T0, T0 + 2 * HOUR);
  assert_int_equal(fast.offset_ms, -2 * HOUR);
  assert_int_equal(sc_hlc_physical(&fast, T0 + 2 * HOUR + 500), T0 + 500);
  /* the fast device edits first (server time T0+1s), the honest one later (T0+2s) */
  sc_hlc_tick(&fast, T0 + 2 * HOUR + 1000, fast_text, &ms);
  assert_int_equal(ms, T0 + 1000);
  sc_hlc_tick(&honest, T0 + 2000, honest_text, NULL);
  assert_true(sc_hlc_compare(honest_text, "honest", fast_text, "fast") > 0);
}

static void observe_server_should_never_make_the_clock_run_backwards(void **state) {
  (void)state;
  sc_hlc clock;
  char before[SC_HLC_TEXT_MAX + 1], after[SC_HLC_TEXT_MAX + 1];
  sc_hlc_init(&clock, "d1");
  sc_hlc_tick(&clock, T0 + 2 * HOUR, before, NULL); /* stamped before the correction */
  sc_hlc_observe_server(&clock, T0, T0 + 2 * HOUR);
  sc_hlc_tick(&clock, T0 + 2 * HOUR + 10, after, NULL);
  assert_true(strcmp(after, before) > 0);
}

static void receive_should_make_the_next_tick_sort_after_the_remote_stamp(void **state) {
  (void)state;
  sc_hlc clock;
  char text[SC_HLC_TEXT_MAX + 1];
  const char *remote = "001735736400000-00007-zzz"; /* T0 + 1 h, counter 7 */
  sc_hlc_init(&clock, "aaa");
  assert_int_equal(sc_hlc_receive(&clock, remote, T0), SC_OK);
  sc_hlc_tick(&clock, T0, text, NULL);
  assert_string_equal(text, "001735736400000-00008-aaa");
  assert_true(strcmp(text, remote) > 0);
}

static void receive_should_ignore_an_older_stamp(void **state) {
  (void)state;
  sc_hlc clock;
  char text[SC_HLC_TEXT_MAX + 1];
  sc_hlc_init(&clock, "d1");
  sc_hlc_tick(&clock, T0, text, NULL);
  assert_int_equal(sc_hlc_receive(&clock, "001735732799999-00042-d2", T0), SC_OK);
  assert_int_equal(clock.last_ms, T0);
  assert_int_equal(clock.counter, 0);
}

static void receive_should_reject_bad_text_and_leave_the_clock_unchanged(void **state) {
  (void)state;
  sc_hlc clock;
  sc_hlc_init(&clock, "d1");
  clock.last_ms = 5;
  clock.counter = 3;
  assert_int_equal(sc_hlc_receive(&clock, "999999999999999-00000-", T0), SC_EBADINPUT);
  assert_int_equal(sc_hlc_receive(&clock, NULL, T0), SC_EBADINPUT);
  assert_int_equal(clock.last_ms, 5);
  assert_int_equal(clock.counter, 3);
}

static void parse_should_split_a_valid_stamp(void **state) {
  (void)state;
  int64_t ms = 0;
  int32_t counter = 0;
  char device[SC_DEVICE_ID_MAX + 1];
  assert_int_equal(sc_hlc_parse("001735732800000-00012-dev-1_x", &ms, &counter, device, NULL, 0), SC_OK);
  assert_int_equal(ms, T0);
  assert_int_equal(counter, 12);
  assert_string_equal(device, "dev-1_x");
  assert_int_equal(sc_hlc_parse("001735732800000-00012-d", NULL, NULL, NULL, NULL, 0), SC_OK);
}

static void assert_parse_rejects(const char *text, const char *needle) {
  char err[160] = "";
  if (sc_hlc_parse(text, NULL, NULL, NULL, err, sizeof err) != SC_EBADINPUT) {
    fail_msg("'%s' was accepted", text);
  }
  if (!strstr(err, needle)) fail_msg("'%s': message '%s' lacks '%s'", text, err, needle);
}

static void parse_should_reject_malformed_stamps_with_a_reason(void **state) {
  (void)state;
  char long_id[100];
  assert_parse_rejects(NULL, "missing");
  assert_parse_rejects("", "15 digits");
  assert_parse_rejects("1735732800000-00000-d1", "15 digits");
  assert_parse_rejects("0017357328000000-00000-d1", "'-' after its 15 digits");
  assert_parse_rejects("001735732800000-0000-d1", "5-digit counter");
  assert_parse_rejects("001735732800000-000000-d1", "'-' and a device id");
  assert_parse_rejects("001735732800000-00000", "'-' and a device id");
  assert_parse_rejects("001735732800000-00000-", "device id");
  assert_parse_rejects("001735732800000-00000-d 1", "device id");
  assert_parse_rejects("2025-01-01T12:00:00Z", "15 digits");
  memset(long_id, 'a', 65);
  snprintf(long_id + 65, sizeof long_id - 65, "%s", "");
  char text[200];
  snprintf(text, sizeof text, "001735732800000-00000-%s", long_id);
  assert_parse_rejects(text, "device id");
  text[22 + 64] = 0; /* exactly 64 characters of id */
  assert_int_equal(sc_hlc_parse(text, NULL, NULL, NULL, NULL, 0), SC_OK);
}

static void device_id_valid_should_follow_the_spec_pattern(void **state) {
  (void)state;
  assert_true(sc_device_id_valid("d1"));
  assert_true(sc_device_id_valid("A-z_0"));
  assert_false(sc_device_id_valid(""));
  assert_false(sc_device_id_valid(NULL));
  assert_false(sc_device_id_valid("d.1"));
  assert_false(sc_device_id_valid("dé"));
}

static void compare_should_order_by_hlc_then_device_with_null_first(void **state) {
  (void)state;
  const char *a = "001735732800000-00000-d1", *b = "001735732800000-00001-d0";
  assert_true(sc_hlc_compare(a, "d1", b, "d0") < 0);
  assert_true(sc_hlc_compare(b, "d0", a, "d1") > 0);
  assert_true(sc_hlc_compare(a, "d1", a, "d2") < 0);
  assert_int_equal(sc_hlc_compare(a, "d1", a, "d1"), 0);
  assert_true(sc_hlc_compare(NULL, "d9", a, "d1") < 0);
  assert_true(sc_hlc_compare(a, NULL, a, "d1") < 0);
  assert_int_equal(sc_hlc_compare(NULL, NULL, NULL, NULL), 0);
  /* plain string order, whatever the strings hold */
  assert_true(sc_hlc_compare("b", "x", "a", "y") > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(tick_should_write_the_spec_text_form),
    cmocka_unit_test(tick_should_be_strictly_increasing_when_the_clock_stalls_or_runs_back),
    cmocka_unit_test(tick_should_carry_a_full_counter_into_the_next_millisecond),
    cmocka_unit_test(tick_should_clamp_a_clock_before_1970_to_zero),
    cmocka_unit_test(device_two_hours_fast_should_stamp_server_time_after_observing_the_server),
    cmocka_unit_test(observe_server_should_never_make_the_clock_run_backwards),
    cmocka_unit_test(receive_should_make_the_next_tick_sort_after_the_remote_stamp),
    cmocka_unit_test(receive_should_ignore_an_older_stamp),
    cmocka_unit_test(receive_should_reject_bad_text_and_leave_the_clock_unchanged),
    cmocka_unit_test(parse_should_split_a_valid_stamp),
    cmocka_unit_test(parse_should_reject_malformed_stamps_with_a_reason),
    cmocka_unit_test(device_id_valid_should_follow_the_spec_pattern),
    cmocka_unit_test(compare_should_order_by_hlc_then_device_with_null_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
