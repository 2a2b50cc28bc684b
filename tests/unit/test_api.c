/* Unit tests for daemon/api.c: the argument rules every control command
 * shares (docs/control.md), and what dispatch refuses before any handler
 * runs (so a node with nothing in it will do). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api.h"
#include "ctl.h"
#include "hls_limits.h"
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

/* Dispatch cmd with args (packed from fmt) as a caller of role to api;
 * returns the code, the message in why. */
static int dispatch(struct hls_api *api, enum hls_user_role role, const char *cmd, struct hls_why *why, const char *fmt,
                    ...) {
  struct mpb b;
  mpb_init(&b);
  msgpack_pack_map(&b.pk, 4);
  hls_mp_pack_kv_i64(&b.pk, "v", 1);
  hls_mp_pack_kv_i64(&b.pk, "id", 9);
  hls_mp_pack_kv_str(&b.pk, "cmd", cmd);
  hls_mp_pack_cstr(&b.pk, "args");
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&b.pk, fmt, ap);
  va_end(ap);
  struct hls_ctl_request req;
  assert_int_equal(hls_ctl_request_decode(&req, b.sb.data, b.sb.size, HLS_CTL_MAX_VALUES, why), 0);
  msgpack_sbuffer out;
  msgpack_packer pk;
  msgpack_sbuffer_init(&out);
  msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
  struct hls_control_call call = {.req = &req, .pk = &pk, .user = "tester", .role = role};
  int rc = hls_api_dispatch(api, &call);
  *why = call.why;
  msgpack_sbuffer_destroy(&out);
  hls_ctl_request_free(&req);
  mpb_free(&b);
  return rc;
}

/* A method needs its role: a viewer may not add a record, approve a
 * story or add a peer, and is told which role it would need. The check
 * comes before the arguments' and before the handler (which would need a
 * real node): an api on an env of NULLs is enough. */
static void test_roles(void **state) {
  (void)state;
  struct hls_api_env env = {0};
  struct hls_api *api = hls_api_new(&env);
  assert_non_null(api);
  struct hls_why why = {{0}};
  assert_int_equal(dispatch(api, HLS_USER_VIEWER, "record.add", &why, "M", 0), HLS_EACCESS);
  assert_string_equal(why.text, "record.add needs the practitioner role (tester is a viewer)");
  assert_int_equal(dispatch(api, HLS_USER_PRACTITIONER, "share.approve", &why, "M s i", 1, "id", 1LL), HLS_EACCESS);
  assert_non_null(strstr(why.text, "needs the lead role"));
  assert_int_equal(dispatch(api, HLS_USER_LEAD, "peer.add", &why, "M", 0), HLS_EACCESS);
  assert_int_equal(dispatch(api, HLS_USER_LEAD, "backup", &why, "M", 0), HLS_EACCESS);
  /* A role high enough passes on to the argument check. */
  assert_int_equal(dispatch(api, HLS_USER_PRACTITIONER, "record.add", &why, "M", 0), HLS_EINVAL);
  assert_non_null(strstr(why.text, "record: required"));
  assert_int_equal(dispatch(api, HLS_USER_ADMIN, "peer.add", &why, "M s s", 1, "adress", "x"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "adress: not an argument of peer.add"));
  hls_api_free(api);
}

/* Unknown names, and the test clock's methods on a node without it. */
static void test_unknown(void **state) {
  (void)state;
  struct hls_api_env env = {0};
  struct hls_api *api = hls_api_new(&env);
  assert_non_null(api);
  struct hls_why why = {{0}};
  assert_int_equal(dispatch(api, HLS_USER_ADMIN, "record.ad", &why, "M", 0), HLS_EUNKNOWN_CMD);
  assert_non_null(strstr(why.text, "unknown command \"record.ad\""));
  assert_int_equal(dispatch(api, HLS_USER_ADMIN, "test.clock.advance", &why, "M s i", 1, "ms", 5LL),
                   HLS_EUNKNOWN_CMD);
  hls_api_free(api);
  env.test_clock = true;
  api = hls_api_new(&env);
  assert_non_null(api);
  assert_int_equal(dispatch(api, HLS_USER_ADMIN, "test.clock.advance", &why, "M", 0), HLS_EINVAL);
  assert_non_null(strstr(why.text, "ms: required"));
  hls_api_free(api);
  hls_api_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit),
      cmocka_unit_test(test_roles),
      cmocka_unit_test(test_unknown),
  };
  return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
