/* The web app's people (daemon/users.c): links are single-use and expire,
 * passwords are checked with argon2id, a reset ends sessions (generation)
 * and forgets the password, feed tokens are per feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "users.h"


static void test_link_is_single_use_and_expires(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  char token[HLS_USER_TOKEN_TEXT], other[HLS_USER_TOKEN_TEXT];
  struct hls_user u;
  ASSERT_OK(hls_users_add(fx->db, "lee", HLS_USER_LEAD, "ana", 1000, 5000, token, &why));
  assert_int_equal(strlen(token), HLS_USER_TOKEN_TEXT - 1);
  assert_int_equal(hls_users_add(fx->db, "lee", HLS_USER_VIEWER, "ana", 1000, 5000, other, &why), HLS_EEXISTS);
  /* A wrong token, then the right one once. */
  assert_int_equal(hls_users_redeem(fx->db, "nope", 4, 2000, &u, &why), HLS_ENOTFOUND);
  ASSERT_OK(hls_users_redeem(fx->db, token, strlen(token), 2000, &u, &why));
  assert_string_equal(u.name, "lee");
  assert_int_equal(u.role, HLS_USER_LEAD);
  assert_false(u.has_password);
  assert_int_equal(hls_users_redeem(fx->db, token, strlen(token), 2001, &u, &why), HLS_ENOTFOUND);
  /* A new link expires: valid before its time, not at it. */
  ASSERT_OK(hls_users_new_link(fx->db, "lee", 9000, token, &why));
  assert_int_equal(hls_users_redeem(fx->db, token, strlen(token), 9000, &u, &why), HLS_ENOTFOUND);
  ASSERT_OK(hls_users_new_link(fx->db, "lee", 9000, token, &why));
  ASSERT_OK(hls_users_redeem(fx->db, token, strlen(token), 8999, &u, &why));
  /* The store holds the hash, never the token. */
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(fx->db, "SELECT count(*) FROM users WHERE instr(CAST(link_hash AS TEXT), ?1) > 0"
                                              " OR instr(ifnull(pwhash, ''), ?1) > 0",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  sqlite3_finalize(st);
}

static void test_password_and_reset(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  char token[HLS_USER_TOKEN_TEXT];
  struct hls_user u;
  ASSERT_OK(hls_users_add(fx->db, "sam", HLS_USER_PRACTITIONER, "ana", 1000, 5000, token, &why));
  /* No password yet: nothing signs in. */
  assert_int_equal(hls_users_check_password(fx->db, "sam", "", 0, 1500, &u, &why), HLS_EACCESS);
  assert_int_equal(hls_users_set_password(fx->db, "sam", "short", 5, &why), HLS_EINVAL);
  ASSERT_OK(hls_users_set_password(fx->db, "sam", "a long enough one", 17, &why));
  ASSERT_OK(hls_users_check_password(fx->db, "sam", "a long enough one", 17, 2000, &u, &why));
  assert_int_equal(u.last_signin_ms, 0); /* as read before this sign-in was noted */
  ASSERT_OK(hls_users_get(fx->db, "sam", &u, &why));
  assert_int_equal(u.last_signin_ms, 2000);
  assert_true(u.has_password);
  assert_int_equal(hls_users_check_password(fx->db, "sam", "a long enough onE", 17, 2000, &u, &why), HLS_EACCESS);
  assert_int_equal(hls_users_check_password(fx->db, "nobody", "a long enough one", 17, 2000, &u, &why), HLS_EACCESS);
  /* Reset: the password is forgotten and the generation moves on. */
  int64_t gen = u.generation;
  ASSERT_OK(hls_users_reset(fx->db, "sam", 9000, token, &why));
  ASSERT_OK(hls_users_get(fx->db, "sam", &u, &why));
  assert_false(u.has_password);
  assert_true(u.link_pending);
  assert_int_equal(u.generation, gen + 1);
  assert_int_equal(hls_users_check_password(fx->db, "sam", "a long enough one", 17, 2000, &u, &why), HLS_EACCESS);
  /* A password set moves the generation on (the other sessions end); a
   * new link (web open) keeps the password and the generation. */
  ASSERT_OK(hls_users_set_password(fx->db, "sam", "another long one", 16, &why));
  ASSERT_OK(hls_users_new_link(fx->db, "sam", 9000, token, &why));
  ASSERT_OK(hls_users_check_password(fx->db, "sam", "another long one", 16, 2000, &u, &why));
  assert_int_equal(u.generation, gen + 2);
  /* Characters, not bytes: five two-byte letters are too few. */
  assert_int_equal(hls_users_set_password(fx->db, "sam", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, &why),
                   HLS_EINVAL);
  ASSERT_OK(hls_users_set_password(fx->db, "sam", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "abcde", 15, &why));
  /* Remove, and add again: the new user's generation is not the removed
   * one's (a session names its user by name and generation). */
  ASSERT_OK(hls_users_get(fx->db, "sam", &u, &why));
  int64_t removed_gen = u.generation;
  ASSERT_OK(hls_users_remove(fx->db, "sam", &why));
  ASSERT_OK(hls_users_add(fx->db, "sam", HLS_USER_ADMIN, "ana", 1000, 5000, token, &why));
  ASSERT_OK(hls_users_get(fx->db, "sam", &u, &why));
  assert_true(u.generation != removed_gen);
  assert_true(u.generation >= 0);
  ASSERT_OK(hls_users_remove(fx->db, "sam", &why));
  assert_int_equal(hls_users_remove(fx->db, "sam", &why), HLS_ENOTFOUND);
  assert_int_equal(hls_users_reset(fx->db, "sam", 9000, token, &why), HLS_ENOTFOUND);
  assert_int_equal(hls_users_count(fx->db), 0);
}

static void test_feed_tokens(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  char a[HLS_USER_TOKEN_TEXT], b[HLS_USER_TOKEN_TEXT];
  assert_int_equal(hls_users_feed_token_set(fx->db, "north", a, &why), HLS_ENOTFOUND);
  assert_int_equal(sqlite3_exec(fx->db,
                                "INSERT INTO feeds(name, filter, cursor, created_ms) VALUES('north', x'80', 0, 1),"
                                " ('south', x'80', 0, 1)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  /* No token yet: nothing reads it. */
  assert_int_equal(hls_users_feed_token_check(fx->db, "north", "", 0, &why), HLS_EACCESS);
  ASSERT_OK(hls_users_feed_token_set(fx->db, "north", a, &why));
  ASSERT_OK(hls_users_feed_token_check(fx->db, "north", a, strlen(a), &why));
  assert_int_equal(hls_users_feed_token_check(fx->db, "south", a, strlen(a), &why), HLS_EACCESS);
  assert_int_equal(hls_users_feed_token_check(fx->db, "nowhere", a, strlen(a), &why), HLS_EACCESS);
  /* A new token replaces the old. */
  ASSERT_OK(hls_users_feed_token_set(fx->db, "north", b, &why));
  assert_int_equal(hls_users_feed_token_check(fx->db, "north", a, strlen(a), &why), HLS_EACCESS);
  ASSERT_OK(hls_users_feed_token_check(fx->db, "north", b, strlen(b), &why));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_link_is_single_use_and_expires, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_password_and_reset, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_feed_tokens, store_fixture_setup, store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
