/* Unit tests for daemon/api.c: the argument rules every control command
 * shares (docs/control.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api.h"
#include "mp_build.h"

/* hls_api_arg_limit on args built from fmt (a map); returns its code. */
static int limit_of(int64_t absent_limit, int64_t *limit, struct hls_why *why, const char *fmt, ...) {
  struct mpb b;
  mpb_init(&b);
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&b.pk, fmt, ap);
  va_end(ap);
  int rc = hls_api_arg_limit(mpb_decode(&b, false), absent_limit, limit, why);
  mpb_free(&b);
  return rc;
}

/* One rule for every listing: absent or nil is the command's default
 * (all, or patterns' page of 50), 0 all, more that many, negative or not
 * an integer invalid_argument naming limit. */
static void test_limit(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  int64_t limit = -7;
  assert_int_equal(limit_of(HLS_API_LIMIT_ALL, &limit, &why, "M", 0), 0);
  assert_int_equal(limit, 0);
  assert_int_equal(limit_of(50, &limit, &why, "M", 0), 0);
  assert_int_equal(limit, 50);
  assert_int_equal(limit_of(50, &limit, &why, "M s n", 1, "limit"), 0);
  assert_int_equal(limit, 50);
  assert_int_equal(limit_of(50, &limit, &why, "M s i", 1, "limit", 0LL), 0);
  assert_int_equal(limit, 0);
  assert_int_equal(limit_of(HLS_API_LIMIT_ALL, &limit, &why, "M s u", 1, "limit", 3ULL), 0);
  assert_int_equal(limit, 3);

  assert_int_equal(limit_of(50, &limit, &why, "M s i", 1, "limit", -1LL), HLS_EINVAL);
  assert_non_null(strstr(why.text, "limit: must be 0 (no limit) or more"));
  memset(&why, 0, sizeof why);
  assert_int_equal(limit_of(HLS_API_LIMIT_ALL, &limit, &why, "M s s", 1, "limit", "ten"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "limit"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
