/* Unit tests for daemon/netkeys.c: who may rotate (stewards), a rekey
 * item taken, a NETKEY frame whose key does not hash to the item's
 * refused, one that does taken (and kept in the home, 0600), a key before
 * its item kept until the item comes, the expelled refused, the overlap's
 * end by the clock or retire-old, and a steward's own rotation. Each test
 * works in its own temporary home, without sessions (no peers attached). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "home.h"
#include "netkeys.h"
#include "wire.h"

#define T0 1773655200000LL /* 2026-03-16T10:00:00Z */
#define DAY 86400000LL

struct fx {
  char home[64];
  int64_t now;
  uint8_t self_pk[32], self_sk[64];
  uint8_t steward_pk[32], steward_sk[64];
  uint8_t k0[32];
};

static int64_t clock_of(void *ctx) { return ((struct fx *)ctx)->now; }

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->home, sizeof f->home, "/tmp/hls-test-netkeys-XXXXXX");
  assert_non_null(mkdtemp(f->home));
  f->now = T0;
  crypto_sign_keypair(f->self_pk, f->self_sk);
  crypto_sign_keypair(f->steward_pk, f->steward_sk);
  randombytes_buf(f->k0, 32);
  struct hls_why why = {{0}};
  assert_int_equal(hls_home_write_key(f->home, "network.key", f->k0, &why), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->home);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static struct hls_netkeys *open_keys(struct fx *f, const uint8_t self[32]) {
  struct hls_netkeys_env env = {.home = f->home, .self = self, .now_ms = clock_of, .clock = f};
  struct hls_netkeys *k = NULL;
  struct hls_why why = {{0}};
  uint8_t key[32];
  assert_int_equal(hls_home_load_key(f->home, "network.key", key, &why), 0);
  if (hls_netkeys_new(&k, &env, key, &why) != 0) fail_msg("netkeys_new: %s", why.text);
  return k;
}

/* A rekey item of the steward (seq 2), decoded into e; bytes kept in sb. */
static void rekey_item(struct fx *f, msgpack_sbuffer *sb, struct hls_envelope *e, uint64_t epoch, const uint8_t key[32],
                       const uint8_t *expel, int64_t overlap_until) {
  struct hls_rekey r;
  memset(&r, 0, sizeof r);
  r.epoch = epoch;
  hls_rekey_key_hash(key, r.key_hash);
  if (expel != NULL) {
    memcpy(r.expelled[0], expel, 32);
    r.n_expelled = 1;
  }
  r.overlap_until_ms = (uint64_t)overlap_until;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_rekey_pack(&body, &r), 0);
  uint8_t prev[32] = {1};
  msgpack_sbuffer_init(sb);
  assert_int_equal(hls_env_build(sb, HLS_ENV_REKEY, f->steward_sk, 2, prev, (uint64_t)f->now, HLS_AUD_NETWORK,
                                 (const uint8_t *)body.data, body.size),
                   0);
  msgpack_sbuffer_destroy(&body);
  assert_int_equal(hls_env_decode(e, (const uint8_t *)sb->data, sb->size, NULL), 0);
}

static int key_frame(struct hls_netkeys *k, uint64_t epoch, const uint8_t key[32], struct hls_why *why) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_frame_netkey(&sb, epoch, key), 0);
  uint8_t from[32] = {9};
  int rc = hls_netkeys_frame(k, NULL, from, (const uint8_t *)sb.data + 4, sb.size - 4, why);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static bool file_exists(const struct fx *f, const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", f->home, name);
  struct stat st;
  if (stat(path, &st) != 0) return false;
  assert_int_equal(st.st_mode & 0777, 0600);
  return true;
}

static void test_stewards(void **state) {
  struct fx *f = *state;
  struct hls_netkeys *k = open_keys(f, f->self_pk);
  struct hls_why why = {{0}};
  struct hls_rekey r;
  assert_false(hls_netkeys_is_steward(k, f->steward_pk));
  assert_int_equal(hls_netkeys_rotate_begin(k, NULL, 0, DAY, &r, &why), HLS_EACCESS);
  /* Learnt from an inviter: taken while none are named, not after. */
  const uint8_t(*one)[32] = (const uint8_t(*)[32])f->steward_pk;
  hls_netkeys_stewards_learnt(k, one, 1);
  assert_true(hls_netkeys_is_steward(k, f->steward_pk));
  hls_netkeys_stewards_learnt(k, (const uint8_t(*)[32])f->self_pk, 1);
  assert_false(hls_netkeys_is_steward(k, f->self_pk));
  assert_true(file_exists(f, HLS_STEWARDS_FILE));
  hls_netkeys_free(k);
  k = open_keys(f, f->self_pk); /* kept in the home */
  uint8_t list[HLS_STEWARDS_MAX][32];
  assert_int_equal(hls_netkeys_stewards(k, list), 1);
  assert_memory_equal(list[0], f->steward_pk, 32);
  assert_int_equal(hls_netkeys_stewards_set(k, NULL, 0, &why), 0);
  assert_false(hls_netkeys_is_steward(k, f->steward_pk));
  hls_netkeys_free(k);
}

/* A receiver: the item, a wrong key (a violation), the right one, the
 * expelled refused, the overlap's end. */
static void test_receive(void **state) {
  struct fx *f = *state;
  struct hls_netkeys *k = open_keys(f, f->self_pk);
  struct hls_why why = {{0}};
  uint8_t k1[32], wrong[32], expelled[32];
  randombytes_buf(k1, 32);
  randombytes_buf(wrong, 32);
  memset(expelled, 0x77, 32);
  msgpack_sbuffer sb;
  struct hls_envelope e;
  rekey_item(f, &sb, &e, 1, k1, expelled, T0 + DAY);
  assert_null(hls_netkeys_refuse(k, expelled));
  hls_netkeys_rekey_item(k, &e);
  assert_string_equal(hls_netkeys_refuse(k, expelled), "expelled");
  assert_null(hls_netkeys_refuse(k, f->steward_pk));
  assert_memory_equal(hls_netkeys_current(k), f->k0, 32); /* no key yet */
  assert_int_equal(key_frame(k, 1, wrong, &why), HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "not the one its rekey item names"));
  assert_memory_equal(hls_netkeys_current(k), f->k0, 32);
  assert_int_equal(key_frame(k, 1, k1, &why), 0);
  assert_memory_equal(hls_netkeys_current(k), k1, 32);
  uint8_t on_disk[32];
  assert_int_equal(hls_home_load_key(f->home, "network.key", on_disk, &why), 0);
  assert_memory_equal(on_disk, k1, 32);
  assert_int_equal(hls_home_load_key(f->home, "network.key.old", on_disk, &why), 0);
  assert_memory_equal(on_disk, f->k0, 32);
  assert_true(file_exists(f, "network.key.old"));
  /* The same frame again, and a stale epoch: nothing changes. */
  assert_int_equal(key_frame(k, 1, k1, &why), 0);
  hls_netkeys_tick(k);
  assert_true(file_exists(f, "network.key.old"));
  /* What was taken survives a restart. */
  hls_netkeys_free(k);
  k = open_keys(f, f->self_pk);
  assert_memory_equal(hls_netkeys_current(k), k1, 32);
  assert_string_equal(hls_netkeys_refuse(k, expelled), "expelled");
  /* The overlap ends: the old key goes from memory and disk. */
  f->now = T0 + DAY;
  hls_netkeys_tick(k);
  assert_false(file_exists(f, "network.key.old"));
  assert_int_equal(hls_netkeys_retire_old(k, &why), HLS_ESTATE);
  hls_netkeys_free(k);
  msgpack_sbuffer_destroy(&sb);
}

/* A key before its item is kept, and taken when the item comes; an item
 * expelling this node: no key, refused, the status says so. */
static void test_pending_and_expelled(void **state) {
  struct fx *f = *state;
  struct hls_netkeys *k = open_keys(f, f->self_pk);
  struct hls_why why = {{0}};
  uint8_t k1[32], k2[32];
  randombytes_buf(k1, 32);
  randombytes_buf(k2, 32);
  /* Keys of far epochs first (a member filling the slots): the key of the
   * epoch expected still gets in, and is taken when its item comes. */
  for (uint64_t e = 100; e < 104; e++) {
    uint8_t junk[32];
    randombytes_buf(junk, sizeof junk);
    assert_int_equal(key_frame(k, e, junk, &why), 0);
  }
  assert_int_equal(key_frame(k, 1, k1, &why), 0);
  assert_memory_equal(hls_netkeys_current(k), f->k0, 32);
  msgpack_sbuffer sb;
  struct hls_envelope e;
  rekey_item(f, &sb, &e, 1, k1, NULL, T0 + DAY);
  hls_netkeys_rekey_item(k, &e);
  assert_memory_equal(hls_netkeys_current(k), k1, 32);
  /* retire-old ends the overlap here at once */
  assert_int_equal(hls_netkeys_retire_old(k, &why), 0);
  assert_false(file_exists(f, "network.key.old"));
  msgpack_sbuffer_destroy(&sb);
  /* epoch 2 expels this node: its key never comes, and the status says why */
  rekey_item(f, &sb, &e, 2, k2, f->self_pk, T0 + DAY);
  hls_netkeys_rekey_item(k, &e);
  assert_string_equal(hls_netkeys_refuse(k, f->self_pk), "expelled");
  assert_int_equal(hls_netkeys_retire_old(k, &why), HLS_ESTATE);
  msgpack_sbuffer st;
  msgpack_packer pk;
  msgpack_sbuffer_init(&st);
  msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
  assert_int_equal(hls_netkeys_pack_status(k, &pk), 0);
  bool said = false;
  for (size_t i = 0; i + 18 <= st.size && !said; i++) said = memcmp(st.data + i, "expelled this node", 18) == 0;
  assert_true(said);
  msgpack_sbuffer_destroy(&st);
  msgpack_sbuffer_destroy(&sb);
  hls_netkeys_free(k);
}

/* A steward's own rotation: begun, published, the new key in use. */
static void test_steward_rotates(void **state) {
  struct fx *f = *state;
  struct hls_netkeys *k = open_keys(f, f->steward_pk);
  struct hls_why why = {{0}};
  assert_int_equal(hls_netkeys_stewards_set(k, (const uint8_t(*)[32])f->steward_pk, 1, &why), 0);
  struct hls_rekey r;
  /* a steward expelling itself: refused as bad_state (exit 1 in hls) */
  assert_int_equal(hls_netkeys_rotate_begin(k, (const uint8_t(*)[32])f->steward_pk, 1, DAY, &r, &why), HLS_ESTATE);
  assert_null(hls_netkeys_asked(k));
  assert_int_equal(hls_netkeys_rotate_begin(k, (const uint8_t(*)[32])f->self_pk, 1, DAY, &r, &why), 0);
  assert_int_equal(r.epoch, 1);
  assert_int_equal(r.overlap_until_ms, (uint64_t)(T0 + DAY));
  assert_non_null(hls_netkeys_asked(k));
  assert_true(file_exists(f, "network.key.next"));
  assert_memory_equal(hls_netkeys_current(k), f->k0, 32);
  hls_netkeys_published(k);
  assert_null(hls_netkeys_asked(k));
  assert_false(file_exists(f, "network.key.next"));
  uint8_t h[32];
  hls_rekey_key_hash(hls_netkeys_current(k), h);
  assert_memory_equal(h, r.key_hash, 32);
  assert_string_equal(hls_netkeys_refuse(k, f->self_pk), "expelled");
  assert_int_equal(hls_netkeys_rotate_begin(k, NULL, 0, 0, &r, &why), 0);
  assert_int_equal(r.epoch, 2);
  hls_netkeys_free(k); /* begun, never published: the next start drops the key aside */
  k = open_keys(f, f->steward_pk);
  assert_true(hls_netkeys_next_held(k));
  hls_netkeys_recover(k, NULL);
  assert_false(file_exists(f, "network.key.next"));
  const uint8_t *one = hls_netkeys_current(k);
  uint8_t before[32];
  memcpy(before, one, 32);
  /* begun and signed, stopped before the key was taken: taken at start */
  assert_int_equal(hls_netkeys_rotate_begin(k, NULL, 0, DAY, &r, &why), 0);
  assert_int_equal(r.epoch, 2);
  hls_netkeys_free(k);
  k = open_keys(f, f->steward_pk);
  assert_true(hls_netkeys_next_held(k));
  hls_netkeys_recover(k, &r);
  assert_memory_not_equal(hls_netkeys_current(k), before, 32);
  hls_rekey_key_hash(hls_netkeys_current(k), h);
  assert_memory_equal(h, r.key_hash, 32);
  assert_false(file_exists(f, "network.key.next"));
  hls_netkeys_free(k);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stewards, setup, teardown),
      cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_and_expelled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_steward_rotates, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
