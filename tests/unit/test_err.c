/* Unit tests for protocol/err.c: the error table and struct hls_why. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "err.h"

/* Every code with the name scripts and peers match on. Written out by
 * hand so that renaming or renumbering a code fails here. */
static const struct {
  int code;
  int number;
  const char *name;
} expected[] = {
    {HLS_EINVAL, -999, "invalid_argument"},
    {HLS_ENOMEM, -998, "out_of_memory"},
    {HLS_ENOTFOUND, -997, "not_found"},
    {HLS_EEXISTS, -996, "already_exists"},
    {HLS_ETOOBIG, -995, "too_large"},
    {HLS_EUTF8, -994, "invalid_utf8"},
    {HLS_EMALFORMED, -993, "malformed"},
    {HLS_ENONCANON, -992, "non_canonical"},
    {HLS_ETRAILING, -991, "trailing_bytes"},
    {HLS_ETRUNCATED, -990, "truncated"},
    {HLS_EIO, -989, "io_error"},
    {HLS_ESTORE, -988, "store_error"},
    {HLS_EPERM, -987, "insecure_permissions"},
    {HLS_EBADSIG, -986, "bad_signature"},
    {HLS_ECHAIN, -985, "broken_chain"},
    {HLS_EUNSUPPORTED, -984, "unsupported"},
    {HLS_EBUSY, -983, "busy"},
    {HLS_ENOTRUNNING, -982, "not_running"},
    {HLS_ECONFIG, -981, "bad_config"},
    {HLS_EUNKNOWN_CMD, -980, "unknown_command"},
    {HLS_ELIMIT, -979, "limit_reached"},
    {HLS_ESTATE, -978, "bad_state"},
    {HLS_ECONSENT, -977, "consent_denied"},
    {HLS_EFORK, -976, "fork"},
    {HLS_EHANDSHAKE, -975, "handshake_failed"},
    {HLS_ECLOSED, -974, "closed"},
    {HLS_ETIMEOUT, -973, "timeout"},
    {HLS_EERASED, -972, "erased"},
    {HLS_EINTERNAL, -971, "internal_error"},
    {HLS_ECORRUPT, -970, "store_damaged"},
    {HLS_EFOREIGN, -969, "foreign_store"},
    {HLS_EDISKFULL, -968, "disk_full"},
    {HLS_EAUDIENCE, -967, "audience_violation"},
    {HLS_EACCESS, -966, "access_denied"},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

static void test_codes_have_stable_numbers_and_names(void **state) {
  (void)state;
  /* The table above covers every code between the sentinels. */
  assert_int_equal(N_EXPECTED, HLS__ELAST - HLS__EFIRST - 1);
  for (size_t i = 0; i < N_EXPECTED; i++) {
    assert_int_equal(expected[i].code, expected[i].number);
    assert_string_equal(hls_err_name(expected[i].code), expected[i].name);
  }
}

static void test_names_are_unique_snake_case(void **state) {
  (void)state;
  for (int a = HLS__EFIRST + 1; a < HLS__ELAST; a++) {
    const char *name = hls_err_name(a);
    assert_true(strlen(name) > 0);
    for (const char *p = name; *p; p++) assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
    for (int b = a + 1; b < HLS__ELAST; b++) assert_string_not_equal(name, hls_err_name(b));
  }
}

static void test_messages_exist_and_are_distinct(void **state) {
  (void)state;
  for (int a = HLS__EFIRST + 1; a < HLS__ELAST; a++) {
    const char *msg = hls_strerror(a);
    assert_non_null(msg);
    assert_string_not_equal(msg, "unknown error");
    for (int b = a + 1; b < HLS__ELAST; b++) assert_string_not_equal(msg, hls_strerror(b));
  }
  assert_string_equal(hls_strerror(HLS_ENOTFOUND), "not found");
}

static void test_success_and_unknown_codes(void **state) {
  (void)state;
  assert_string_equal(hls_strerror(0), "success");
  assert_string_equal(hls_err_name(0), "ok");
  const int unknown[] = {1, -1, 42, HLS__EFIRST, HLS__ELAST, -100000};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(hls_strerror(unknown[i]), "unknown error");
    assert_string_equal(hls_err_name(unknown[i]), "internal_error");
  }
}

static void test_from_name_round_trips(void **state) {
  (void)state;
  for (int code = HLS__EFIRST + 1; code < HLS__ELAST; code++)
    assert_int_equal(hls_err_from_name(hls_err_name(code)), code);
  for (size_t i = 0; i < N_EXPECTED; i++)
    assert_int_equal(hls_err_from_name(expected[i].name), expected[i].code);
}

static void test_from_name_unknown_is_internal(void **state) {
  (void)state;
  assert_int_equal(hls_err_from_name(NULL), HLS_EINTERNAL);
  assert_int_equal(hls_err_from_name(""), HLS_EINTERNAL);
  assert_int_equal(hls_err_from_name("no_such_code"), HLS_EINTERNAL);
  assert_int_equal(hls_err_from_name("NOT_FOUND"), HLS_EINTERNAL); /* exact match only */
  assert_int_equal(hls_err_from_name("not_found "), HLS_EINTERNAL);
  assert_int_equal(hls_err_from_name("ok"), HLS_EINTERNAL);
}

/* A full disk has its own code, whichever way the system says so. */
static void test_from_errno(void **state) {
  (void)state;
  assert_int_equal(hls_err_from_errno(ENOSPC), HLS_EDISKFULL);
  assert_int_equal(hls_err_from_errno(EDQUOT), HLS_EDISKFULL);
  assert_int_equal(hls_err_from_errno(ENOMEM), HLS_ENOMEM);
  assert_int_equal(hls_err_from_errno(EIO), HLS_EIO);
  assert_int_equal(hls_err_from_errno(EACCES), HLS_EIO);
  assert_string_equal(hls_err_name(HLS_EDISKFULL), "disk_full");
}

/* This node's failures are told apart from bad input: a full disk or a
 * store error is never held against the peer or client that sent the
 * data, while a protocol violation always is. */
static void test_local_failures(void **state) {
  (void)state;
  const int local[] = {HLS_ESTORE, HLS_EDISKFULL, HLS_ECORRUPT, HLS_EIO, HLS_ENOMEM, HLS_EBUSY, HLS_EINTERNAL};
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) assert_true(hls_err_is_local(local[i]));
  const int remote[] = {HLS_EAUDIENCE, HLS_EBADSIG, HLS_ECHAIN, HLS_EMALFORMED, HLS_ETOOBIG, HLS_EPERM, HLS_EINVAL};
  for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) assert_false(hls_err_is_local(remote[i]));
  assert_false(hls_err_is_local(0));
}

static void test_why_set_formats_and_returns_code(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  assert_int_equal(hls_why_set(&why, HLS_ETOOBIG, "%s: %d bytes", "title", 301), HLS_ETOOBIG);
  assert_string_equal(why.text, "title: 301 bytes");
  /* A later call replaces the detail. */
  assert_int_equal(hls_why_set(&why, HLS_EINVAL, "second"), HLS_EINVAL);
  assert_string_equal(why.text, "second");
}

static void test_why_set_null_why(void **state) {
  (void)state;
  assert_int_equal(hls_why_set(NULL, HLS_ENOTFOUND, "ignored %d", 1), HLS_ENOTFOUND);
  hls_why_prefix(NULL, "ignored %d", 2); /* must not crash */
}

static void test_why_set_truncates_long_text(void **state) {
  (void)state;
  struct hls_why why;
  memset(&why, 'x', sizeof why);
  char long_text[600];
  memset(long_text, 'a', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  assert_int_equal(hls_why_set(&why, HLS_EINVAL, "%s", long_text), HLS_EINVAL);
  assert_int_equal(strlen(why.text), sizeof why.text - 1);
  assert_int_equal(why.text[sizeof why.text - 1], '\0');
  assert_int_equal(why.text[0], 'a');
}

static void test_why_prefix(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  (void)hls_why_set(&why, HLS_EINVAL, "title: required");
  hls_why_prefix(&why, "line %d: ", 3);
  assert_string_equal(why.text, "line 3: title: required");
  hls_why_prefix(&why, "%s", "");
  assert_string_equal(why.text, "line 3: title: required");
}

static void test_why_prefix_on_empty_text(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  hls_why_prefix(&why, "row %d: ", 7);
  assert_string_equal(why.text, "row 7: ");
}

static void test_why_prefix_truncates_long_old_text(void **state) {
  (void)state;
  struct hls_why why;
  char long_text[sizeof why.text + 100];
  memset(long_text, 'b', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  (void)hls_why_set(&why, HLS_EINVAL, "%s", long_text);
  hls_why_prefix(&why, "line 12: ");
  assert_int_equal(strlen(why.text), sizeof why.text - 1);
  assert_memory_equal(why.text, "line 12: bbbb", 13);
  assert_int_equal(why.text[sizeof why.text - 2], 'b');
}

static void test_why_prefix_truncates_long_prefix(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  (void)hls_why_set(&why, HLS_EINVAL, "detail");
  char long_prefix[400];
  memset(long_prefix, 'p', sizeof long_prefix - 1);
  long_prefix[sizeof long_prefix - 1] = '\0';
  hls_why_prefix(&why, "%s", long_prefix);
  size_t len = strlen(why.text);
  assert_true(len < sizeof why.text);
  assert_true(len > 0);
  /* The result is still prefix followed by (possibly cut) old text. */
  assert_int_equal(why.text[0], 'p');
  for (size_t i = 0; i < len; i++) assert_true(why.text[i] == 'p' || strchr("detail", why.text[i]));
}

static void test_why_prefix_on_unterminated_text(void **state) {
  (void)state;
  /* A why whose text was never NUL-terminated must not be overread. */
  struct hls_why why;
  memset(why.text, 'z', sizeof why.text);
  hls_why_prefix(&why, "p: ");
  assert_int_equal(strlen(why.text), sizeof why.text - 1);
  assert_memory_equal(why.text, "p: zzz", 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codes_have_stable_numbers_and_names),
      cmocka_unit_test(test_names_are_unique_snake_case),
      cmocka_unit_test(test_messages_exist_and_are_distinct),
      cmocka_unit_test(test_success_and_unknown_codes),
      cmocka_unit_test(test_from_name_round_trips),
      cmocka_unit_test(test_from_name_unknown_is_internal),
      cmocka_unit_test(test_from_errno),
      cmocka_unit_test(test_local_failures),
      cmocka_unit_test(test_why_set_formats_and_returns_code),
      cmocka_unit_test(test_why_set_null_why),
      cmocka_unit_test(test_why_set_truncates_long_text),
      cmocka_unit_test(test_why_prefix),
      cmocka_unit_test(test_why_prefix_on_empty_text),
      cmocka_unit_test(test_why_prefix_truncates_long_old_text),
      cmocka_unit_test(test_why_prefix_truncates_long_prefix),
      cmocka_unit_test(test_why_prefix_on_unterminated_text),
  };
  return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
