/*
** test_time.c — unit tests of time.c: every accepted form of SPEC §2/§11
** normalizeTime, every rejection with its message, and the canonical format.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "syncore.h"
#include "time.h"

/* Parses text at the given assumed offset and returns the canonical form
** (static buffer) or "ERR: <message>". */
static const char *norm_at(const char *text, int offset) {
  static char out[256];
  char err[200];
  int64_t ms = 0;
  if (sc_time_parse(text, offset, &ms, err, sizeof err) != SC_OK) {
    snprintf(out, sizeof out, "ERR: %s", err);
    return out;
  }
  assert_int_equal(sc_time_format(ms, out), SC_OK);
  return out;
}
static const char *norm(const char *text) { return norm_at(text, 0); }

/* Asserts text is rejected and the message contains needle. */
static void assert_rejected(const char *text, const char *needle) {
  char err[200] = "";
  int64_t ms = 0;
  int rc = sc_time_parse(text, 0, &ms, err, sizeof err);
  if (rc != SC_EBADINPUT) fail_msg("'%s' was accepted", text);
  if (!strstr(err, needle)) fail_msg("'%s': message '%s' lacks '%s'", text, err, needle);
}

static void parse_should_accept_utc_with_upper_and_lower_z(void **state) {
  (void)state;
  assert_string_equal(norm("2025-01-01T12:00:00.000Z"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("2025-01-01t12:00:00z"), "2025-01-01T12:00:00.000Z");
}

static void parse_should_apply_every_offset_form(void **state) {
  (void)state;
  assert_string_equal(norm("2025-01-01 13:00:00+01:00"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("2025-01-01T13:00:00+0100"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("2025-01-01T13:00:00+01"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("2025-01-01T07:30:00-04:30"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("2025-01-01T00:30:00+05:45"), "2024-12-31T18:45:00.000Z");
  assert_string_equal(norm("2025-01-01T12:00:00+23:59"), "2024-12-31T12:01:00.000Z");
}

static void parse_should_use_assumed_offset_without_zone(void **state) {
  (void)state;
  assert_string_equal(norm_at("2025-01-01T13:00:00", 60), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm_at("2025-01-01 13:00", -120), "2025-01-01T15:00:00.000Z");
  /* an explicit zone wins over the assumed one */
  assert_string_equal(norm_at("2025-01-01T13:00:00Z", 60), "2025-01-01T13:00:00.000Z");
}

static void parse_should_accept_minutes_without_seconds(void **state) {
  (void)state;
  assert_string_equal(norm("2025-03-04T05:06"), "2025-03-04T05:06:00.000Z");
  assert_string_equal(norm("2025-03-04 05:06Z"), "2025-03-04T05:06:00.000Z");
}

static void parse_should_truncate_fractions_to_milliseconds(void **state) {
  (void)state;
  assert_string_equal(norm("2025-01-01T00:00:00.1Z"), "2025-01-01T00:00:00.100Z");
  assert_string_equal(norm("2025-01-01T00:00:00.12Z"), "2025-01-01T00:00:00.120Z");
  assert_string_equal(norm("2025-01-01T00:00:00.123456789Z"), "2025-01-01T00:00:00.123Z");
  assert_string_equal(norm("2025-01-01T00:00:00.9999Z"), "2025-01-01T00:00:00.999Z");
  assert_string_equal(norm("2025-01-01T00:00:00,5Z"), "2025-01-01T00:00:00.500Z");
}

static void parse_should_take_a_date_alone_as_midnight_at_the_assumed_offset(void **state) {
  (void)state;
  assert_string_equal(norm("2025-06-30"), "2025-06-30T00:00:00.000Z");
  assert_string_equal(norm_at("2025-06-30", 120), "2025-06-29T22:00:00.000Z");
  assert_string_equal(norm_at("2025-06-30", -300), "2025-06-30T05:00:00.000Z");
}

static void parse_should_accept_epoch_milliseconds_as_digits(void **state) {
  (void)state;
  assert_string_equal(norm("0"), "1970-01-01T00:00:00.000Z");
  assert_string_equal(norm("1735732800000"), "2025-01-01T12:00:00.000Z");
  assert_string_equal(norm("-1"), "1969-12-31T23:59:59.999Z");
  assert_string_equal(norm("-62135596800000"), "0001-01-01T00:00:00.000Z");
  assert_string_equal(norm("253402300799999"), "9999-12-31T23:59:59.999Z");
}

static void parse_should_trim_surrounding_whitespace(void **state) {
  (void)state;
  assert_string_equal(norm("  2025-01-01T12:00Z\n"), "2025-01-01T12:00:00.000Z");
}

static void parse_should_accept_leap_days_and_calendar_edges(void **state) {
  (void)state;
  assert_string_equal(norm("2024-02-29"), "2024-02-29T00:00:00.000Z");
  assert_string_equal(norm("2000-02-29T23:59:59.999Z"), "2000-02-29T23:59:59.999Z");
  assert_string_equal(norm("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00.000Z");
  assert_string_equal(norm("9999-12-31T23:59:59.999Z"), "9999-12-31T23:59:59.999Z");
  assert_string_equal(norm("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59.000Z");
  assert_string_equal(norm("1600-03-01"), "1600-03-01T00:00:00.000Z");
}

static void parse_should_reject_impossible_dates_with_a_reason(void **state) {
  (void)state;
  assert_rejected("2025-02-30", "day 30 does not exist in February 2025");
  assert_rejected("2025-02-29T00:00:00Z", "day 29 does not exist in February 2025");
  assert_rejected("1900-02-29", "February 1900");
  assert_rejected("2025-04-31", "day 31 does not exist in April");
  assert_rejected("2025-13-01", "month 13");
  assert_rejected("2025-00-10", "month 00");
  assert_rejected("2025-01-00", "day 0");
}

static void parse_should_reject_impossible_clock_times(void **state) {
  (void)state;
  assert_rejected("2025-01-01T24:00:00Z", "hour 24");
  assert_rejected("2025-01-01T24:01Z", "hour 24");
  assert_rejected("2025-01-01T25:00Z", "hour 25");
  assert_rejected("2025-01-01T12:60Z", "minute 60");
  assert_rejected("2025-01-01T12:00:60Z", "second 60");
  assert_rejected("2025-01-01T12:00:00.Z", "fraction");
}

static void parse_should_reject_offsets_beyond_23_59(void **state) {
  (void)state;
  assert_rejected("2025-01-01T12:00:00+24:00", "beyond");
  assert_rejected("2025-01-01T12:00:00-23:60", "beyond");
  assert_rejected("2025-01-01T12:00:00+1", "zone offset");
  assert_rejected("2025-01-01T12:00:00+01:0", "zone offset");
  int64_t ms;
  assert_int_equal(sc_time_parse("2025-01-01", 24 * 60, &ms, NULL, 0), SC_EBADINPUT);
}

static void parse_should_reject_years_outside_0001_9999(void **state) {
  (void)state;
  assert_rejected("0000-01-01", "year 0 is outside 0001-9999");
  assert_rejected("+010000-01-01T00:00:00Z", "year 10000 is outside");
  assert_rejected("-000001-01-01", "year -1 is outside");
  assert_rejected("10000-01-01", "4 digits");
  assert_rejected("253402300800000", "outside years 0001-9999");
  assert_rejected("-62135596800001", "outside years 0001-9999");
  assert_rejected("99999999999999999999999999", "outside years 0001-9999");
  /* valid local text whose UTC instant leaves the range */
  assert_rejected("0001-01-01T00:00:00+01:00", "outside years 0001-9999");
  assert_rejected("9999-12-31T23:30:00-01:00", "outside years 0001-9999");
}

static void parse_should_reject_garbage(void **state) {
  (void)state;
  assert_rejected("", "empty");
  assert_rejected("   ", "empty");
  assert_rejected("yesterday", "expected");
  assert_rejected("2025/01/01", "expected '-'");
  assert_rejected("2025-1-01", "month needs 2 digits");
  assert_rejected("2025-01-1", "day needs 2 digits");
  assert_rejected("2025-01-01T1:00", "hour needs 2 digits");
  assert_rejected("2025-01-01T12", "expected ':'");
  assert_rejected("2025-01-01T12:00:00Zjunk", "unexpected 'j'");
  assert_rejected("2025-01-01T12:00:00 Z", "unexpected ' '");
  assert_rejected("2025-01-01X", "unexpected 'X'");
  assert_rejected("1.5e12", "expected a date");
  assert_rejected("-", "expanded year");
  assert_rejected("2025-01-01T12:00:00\xC3\xA9", "byte 0xC3");
  int64_t ms;
  assert_int_equal(sc_time_parse(NULL, 0, &ms, NULL, 0), SC_EBADINPUT);
}

static void parse_should_leave_output_untouched_on_failure(void **state) {
  (void)state;
  int64_t ms = 42;
  assert_int_equal(sc_time_parse("2025-02-30", 0, &ms, NULL, 0), SC_EBADINPUT);
  assert_int_equal(ms, 42);
}

static void from_number_should_accept_integral_values_in_range(void **state) {
  (void)state;
  int64_t ms = 0;
  char err[120];
  assert_int_equal(sc_time_from_number(1735732800000.0, &ms, err, sizeof err), SC_OK);
  assert_int_equal(ms, 1735732800000LL);
  assert_int_equal(sc_time_from_number(-5.0, &ms, err, sizeof err), SC_OK);
  assert_int_equal(ms, -5);
  assert_int_equal(sc_time_from_number(1.5, &ms, err, sizeof err), SC_EBADINPUT);
  assert_non_null(strstr(err, "whole number"));
  assert_int_equal(sc_time_from_number(1e300, &ms, err, sizeof err), SC_EBADINPUT);
  assert_non_null(strstr(err, "outside"));
  assert_int_equal(sc_time_from_number(NAN, &ms, err, sizeof err), SC_EBADINPUT);
  assert_non_null(strstr(err, "finite"));
}

static void format_should_round_trip_every_day_across_the_range(void **state) {
  (void)state;
  char text[SC_TIME_TEXT_LEN + 1];
  int64_t back = 0;
  /* one sample every ~3.7 days over 0001-9999 plus odd milliseconds */
  for (int64_t ms = -62135596800000LL; ms <= 253402300799999LL; ms += 317520000123LL / 1000) {
    assert_int_equal(sc_time_format(ms, text), SC_OK);
    assert_int_equal(strlen(text), SC_TIME_TEXT_LEN);
    assert_int_equal(sc_time_parse(text, 0, &back, NULL, 0), SC_OK);
    assert_true(back == ms);
  }
}

static void format_should_reject_out_of_range(void **state) {
  (void)state;
  char text[SC_TIME_TEXT_LEN + 1];
  assert_int_equal(sc_time_format(253402300800000LL, text), SC_EBADINPUT);
  assert_int_equal(sc_time_format(-62135596800001LL, text), SC_EBADINPUT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(parse_should_accept_utc_with_upper_and_lower_z),
    cmocka_unit_test(parse_should_apply_every_offset_form),
    cmocka_unit_test(parse_should_use_assumed_offset_without_zone),
    cmocka_unit_test(parse_should_accept_minutes_without_seconds),
    cmocka_unit_test(parse_should_truncate_fractions_to_milliseconds),
    cmocka_unit_test(parse_should_take_a_date_alone_as_midnight_at_the_assumed_offset),
    cmocka_unit_test(parse_should_accept_epoch_milliseconds_as_digits),
    cmocka_unit_test(parse_should_trim_surrounding_whitespace),
    cmocka_unit_test(parse_should_accept_leap_days_and_calendar_edges),
    cmocka_unit_test(parse_should_reject_impossible_dates_with_a_reason),
    cmocka_unit_test(parse_should_reject_impossible_clock_times),
    cmocka_unit_test(parse_should_reject_offsets_beyond_23_59),
    cmocka_unit_test(parse_should_reject_years_outside_0001_9999),
    cmocka_unit_test(parse_should_reject_garbage),
    cmocka_unit_test(parse_should_leave_output_untouched_on_failure),
    cmocka_unit_test(from_number_should_accept_integral_values_in_range),
    cmocka_unit_test(format_should_round_trip_every_day_across_the_range),
    cmocka_unit_test(format_should_reject_out_of_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
