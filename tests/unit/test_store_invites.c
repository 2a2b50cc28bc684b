/* Unit tests for daemon/store_invites.c: invites (uses, expiry by the
 * clock given, revocation, repeated redemption) and the join row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "invite.h"
#include "store_fixture.h"

#define DAY_MS (24LL * 3600 * 1000)
static const int64_t T0 = 1772400000000LL;

static void hash_of(uint8_t b, uint8_t out[32]) {
  uint8_t secret[32];
  memset(secret, b, sizeof secret);
  hls_invite_secret_hash(secret, out);
}

static void node(uint8_t b, uint8_t out[32]) { memset(out, b, 32); }

static int redeem(struct store_fixture *fx, uint8_t secret_b, uint8_t node_b, int64_t now, int64_t *id) {
  uint8_t h[32], n[32];
  struct hls_why why = {{0}};
  int outcome = -1;
  int64_t dummy;
  hash_of(secret_b, h);
  node(node_b, n);
  ASSERT_OK(hls_store_invite_redeem(fx->store, h, n, "192.0.2.9:7420", now, &outcome, id ? id : &dummy, &why));
  return outcome;
}

static int64_t add(struct store_fixture *fx, uint8_t secret_b, int64_t uses, int64_t expires) {
  uint8_t h[32];
  struct hls_why why = {{0}};
  int64_t id;
  hash_of(secret_b, h);
  ASSERT_OK(hls_store_invite_add(fx->store, h, uses, expires, "for Sunderland", "admin", T0, &id, &why));
  assert_true(id > 0);
  return id;
}

static void test_single_use(void **state) {
  struct store_fixture *fx = *state;
  int64_t id = add(fx, 1, 1, T0 + 7 * DAY_MS), got;
  assert_int_equal(redeem(fx, 9, 2, T0, &got), HLS_INVITE_UNKNOWN);
  assert_int_equal(got, 0);
  assert_int_equal(redeem(fx, 1, 2, T0 + 1, &got), HLS_INVITE_OK);
  assert_int_equal(got, id);
  /* The same node again (its answer lost): ok, no second use. */
  assert_int_equal(redeem(fx, 1, 2, T0 + 2, NULL), HLS_INVITE_OK);
  /* Another node: spent. */
  assert_int_equal(redeem(fx, 1, 3, T0 + 3, &got), HLS_INVITE_SPENT);
  assert_int_equal(got, id);
}

static int collect(void *ctx, const struct hls_invite_row *r) {
  struct hls_invite_row *rows = ctx;
  for (int i = 0; i < 4; i++)
    if (rows[i].id == 0) {
      rows[i] = *r;
      return 0;
    }
  return 0;
}

static void test_uses_and_list(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  int64_t a = add(fx, 1, 3, T0 + DAY_MS), b = add(fx, 2, 1, T0 + DAY_MS);
  for (uint8_t n = 10; n < 13; n++) assert_int_equal(redeem(fx, 1, n, T0 + n, NULL), HLS_INVITE_OK);
  assert_int_equal(redeem(fx, 1, 13, T0 + 20, NULL), HLS_INVITE_SPENT);
  struct hls_invite_row rows[4];
  memset(rows, 0, sizeof rows);
  ASSERT_OK(hls_store_invite_list(fx->store, collect, rows, &why));
  assert_int_equal(rows[0].id, b); /* newest first */
  assert_int_equal(rows[0].uses, 0);
  assert_int_equal(rows[1].id, a);
  assert_int_equal(rows[1].uses, 3);
  assert_int_equal(rows[1].max_uses, 3);
  assert_string_equal(rows[1].note, "for Sunderland");
  assert_string_equal(rows[1].created_by, "admin");
  assert_int_equal(rows[1].n_redeemed, 3);
  assert_int_equal(rows[1].redeemed[0].node_id[0], 10);
  assert_int_equal(rows[1].redeemed[2].redeemed_ms, T0 + 12);
  assert_int_equal(rows[2].id, 0);
}

static void test_expiry(void **state) {
  struct store_fixture *fx = *state;
  add(fx, 1, 2, T0 + DAY_MS);
  assert_int_equal(redeem(fx, 1, 2, T0 + DAY_MS - 1, NULL), HLS_INVITE_OK);
  assert_int_equal(redeem(fx, 1, 3, T0 + DAY_MS, NULL), HLS_INVITE_EXPIRED);
  /* The node that redeemed in time is still ok after. */
  assert_int_equal(redeem(fx, 1, 2, T0 + 2 * DAY_MS, NULL), HLS_INVITE_OK);
}

static void test_revoke(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  int64_t id = add(fx, 1, 5, T0 + DAY_MS);
  ASSERT_OK(hls_store_invite_revoke(fx->store, id, T0 + 5, &why));
  assert_int_equal(hls_store_invite_revoke(fx->store, id, T0 + 6, &why), HLS_ESTATE);
  assert_int_equal(hls_store_invite_revoke(fx->store, id + 100, T0 + 6, &why), HLS_ENOTFOUND);
  assert_int_equal(redeem(fx, 1, 2, T0 + 10, NULL), HLS_INVITE_REVOKED);
  struct hls_invite_row rows[4];
  memset(rows, 0, sizeof rows);
  ASSERT_OK(hls_store_invite_list(fx->store, collect, rows, &why));
  assert_int_equal(rows[0].revoked_ms, T0 + 5);
  assert_int_equal(rows[0].uses, 0);
}

static void test_secret_not_stored(void **state) {
  struct store_fixture *fx = *state;
  add(fx, 0x5a, 1, T0 + DAY_MS);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(fx->db, "SELECT secret_hash FROM invites", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  uint8_t secret[32];
  memset(secret, 0x5a, sizeof secret);
  assert_memory_not_equal(sqlite3_column_blob(st, 0), secret, 32);
  sqlite3_finalize(st);
}

static void test_join_row(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_join_row j;
  bool present;
  ASSERT_OK(hls_store_join_get(fx->store, &j, &present, &why));
  assert_false(present);
  uint8_t inviter[32], secret[32];
  node(7, inviter);
  memset(secret, 9, sizeof secret);
  ASSERT_OK(hls_store_join_set(fx->store, inviter, "192.0.2.1:7420", secret, T0, &why));
  ASSERT_OK(hls_store_join_get(fx->store, &j, &present, &why));
  assert_true(present);
  assert_true(j.has_secret);
  assert_memory_equal(j.secret, secret, 32);
  assert_memory_equal(j.inviter, inviter, 32);
  assert_string_equal(j.address, "192.0.2.1:7420");
  assert_int_equal(j.outcome, -1);
  ASSERT_OK(hls_store_join_answered(fx->store, HLS_INVITE_SPENT, T0 + 9, &why));
  ASSERT_OK(hls_store_join_get(fx->store, &j, &present, &why));
  assert_false(j.has_secret);
  assert_int_equal(j.outcome, HLS_INVITE_SPENT);
  assert_int_equal(j.outcome_ms, T0 + 9);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_single_use, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_uses_and_list, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_expiry, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_revoke, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_secret_not_stored, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_join_row, store_fixture_setup, store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
