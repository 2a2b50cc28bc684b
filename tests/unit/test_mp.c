/* Unit tests for protocol/mp.c: the strict MessagePack reader, value
 * trees and the packing helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hls_limits.h"
#include "mp.h"
#include "mp_build.h"

/* Two arguments (pointer, length) from a byte list. */
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* --- helpers ------------------------------------------------------------- */

/* A growable byte string for hand-made encodings. */
struct bytes {
  uint8_t *p;
  size_t n, cap;
};

static void put(struct bytes *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    assert_non_null(p);
    b->p = p;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void put1(struct bytes *b, uint8_t c) { put(b, &c, 1); }

static void put_repeat(struct bytes *b, uint8_t c, size_t count) {
  for (size_t i = 0; i < count; i++) put1(b, c);
}

static void put_be(struct bytes *b, uint64_t v, size_t n) {
  for (size_t i = n; i > 0; i--) put1(b, (uint8_t)(v >> (8 * (i - 1))));
}

static void bytes_free(struct bytes *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* Decode data as one tree and free it; returns the decoder's code. */
static int try_decode(const uint8_t *data, size_t len, bool canonical, size_t max_values) {
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  int rc = hls_mp_tree_decode(&tree, data, len, canonical, max_values, &why);
  if (rc != 0) assert_null(tree.storage);
  hls_mp_tree_free(&tree);
  return rc;
}

/* Both modes must give rc. */
static void expect_both(const uint8_t *data, size_t len, int rc) {
  assert_int_equal(try_decode(data, len, true, 1000000), rc);
  assert_int_equal(try_decode(data, len, false, 1000000), rc);
}

/* Canonical mode refuses as non-canonical, lenient mode accepts. */
static void expect_noncanon(const uint8_t *data, size_t len) {
  assert_int_equal(try_decode(data, len, true, 1000000), HLS_ENONCANON);
  assert_int_equal(try_decode(data, len, false, 1000000), 0);
}

/* Re-pack a decoded value with hls_mp_pack_value. */
static void repack(const struct hls_mp_value *v, msgpack_sbuffer *out) {
  msgpack_packer pk;
  msgpack_sbuffer_init(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  assert_int_equal(hls_mp_pack_value(&pk, v), 0);
}

/* Canonical decode of sb must succeed and re-pack to identical bytes. */
static void expect_canonical_round_trip(const msgpack_sbuffer *sb) {
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  int rc = hls_mp_tree_decode(&tree, sb->data, sb->size, true, 10000000, &why);
  if (rc != 0) fail_msg("canonical decode: %s (%s)", hls_err_name(rc), why.text);
  msgpack_sbuffer again;
  repack(&tree.root, &again);
  assert_int_equal(again.size, sb->size);
  assert_memory_equal(again.data, sb->data, sb->size);
  msgpack_sbuffer_destroy(&again);
  hls_mp_tree_free(&tree);
}

/* --- canonical integers -------------------------------------------------- */

struct int_case {
  uint8_t bytes[9];
  size_t len;
  bool canonical_ok;
  bool negative;
  uint64_t u; /* value when !negative */
  int64_t i;  /* value when negative */
};

static const struct int_case int_cases[] = {
    /* uint8 only above the positive fixint range */
    {{0xcc, 0x00}, 2, false, false, 0, 0},
    {{0xcc, 0x7f}, 2, false, false, 127, 0},
    {{0xcc, 0x80}, 2, true, false, 128, 0},
    {{0xcc, 0xff}, 2, true, false, 255, 0},
    /* uint16 only from 256 */
    {{0xcd, 0x00, 0x00}, 3, false, false, 0, 0},
    {{0xcd, 0x00, 0xff}, 3, false, false, 255, 0},
    {{0xcd, 0x01, 0x00}, 3, true, false, 256, 0},
    /* uint32 only from 65536 */
    {{0xce, 0x00, 0x00, 0x00, 0x05}, 5, false, false, 5, 0},
    {{0xce, 0x00, 0x00, 0xff, 0xff}, 5, false, false, 65535, 0},
    {{0xce, 0x00, 0x01, 0x00, 0x00}, 5, true, false, 65536, 0},
    /* uint64 only from 2^32 */
    {{0xcf, 0, 0, 0, 0, 0, 0, 0, 0x01}, 9, false, false, 1, 0},
    {{0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9, false, false, 0xffffffffull, 0},
    {{0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0}, 9, true, false, 0x100000000ull, 0},
    {{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, true, false, UINT64_MAX, 0},
    /* int8: non-negative values belong in unsigned forms, -32..-1 in fixint */
    {{0xd0, 0x00}, 2, false, false, 0, 0},
    {{0xd0, 0x05}, 2, false, false, 5, 0},
    {{0xd0, 0x7f}, 2, false, false, 127, 0},
    {{0xd0, 0xff}, 2, false, true, 0, -1},
    {{0xd0, 0xe0}, 2, false, true, 0, -32},
    {{0xd0, 0xdf}, 2, true, true, 0, -33},
    {{0xd0, 0x80}, 2, true, true, 0, -128},
    /* int16 */
    {{0xd1, 0x00, 0x05}, 3, false, false, 5, 0},
    {{0xd1, 0x00, 0xc8}, 3, false, false, 200, 0},
    {{0xd1, 0x7f, 0xff}, 3, false, false, 32767, 0},
    {{0xd1, 0xff, 0xff}, 3, false, true, 0, -1},
    {{0xd1, 0xff, 0x80}, 3, false, true, 0, -128},
    {{0xd1, 0xff, 0x7f}, 3, true, true, 0, -129},
    {{0xd1, 0x80, 0x00}, 3, true, true, 0, -32768},
    /* int32 */
    {{0xd2, 0x00, 0x00, 0x00, 0x01}, 5, false, false, 1, 0},
    {{0xd2, 0x7f, 0xff, 0xff, 0xff}, 5, false, false, 2147483647, 0},
    {{0xd2, 0xff, 0xff, 0xff, 0xe0}, 5, false, true, 0, -32},
    {{0xd2, 0xff, 0xff, 0x80, 0x00}, 5, false, true, 0, -32768},
    {{0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, true, true, 0, -32769},
    {{0xd2, 0x80, 0x00, 0x00, 0x00}, 5, true, true, 0, INT32_MIN},
    /* int64 */
    {{0xd3, 0, 0, 0, 0, 0, 0, 0, 0x01}, 9, false, false, 1, 0},
    {{0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, false, false, INT64_MAX, 0},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, false, true, 0, -1},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00}, 9, false, true, 0, INT32_MIN},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9, true, true, 0, (int64_t)INT32_MIN - 1},
    {{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9, true, true, 0, INT64_MIN},
};

static void test_int_shortest_form_rules(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof int_cases / sizeof int_cases[0]; k++) {
    const struct int_case *c = &int_cases[k];
    struct hls_mp_tree tree;
    int rc = hls_mp_tree_decode(&tree, c->bytes, c->len, true, 10, NULL);
    if (c->canonical_ok) {
      if (rc != 0) fail_msg("case %zu: canonical decode refused: %s", k, hls_err_name(rc));
    } else if (rc != HLS_ENONCANON) {
      fail_msg("case %zu: canonical decode gave %s, want non_canonical", k, hls_err_name(rc));
    }
    hls_mp_tree_free(&tree);

    /* Lenient mode accepts every form and reports the value's sign. */
    assert_int_equal(hls_mp_tree_decode(&tree, c->bytes, c->len, false, 10, NULL), 0);
    if (c->negative) {
      assert_int_equal(tree.root.type, HLS_MP_INT);
      assert_true(tree.root.v.i == c->i);
    } else {
      assert_int_equal(tree.root.type, HLS_MP_UINT);
      assert_true(tree.root.v.u == c->u);
    }
    hls_mp_tree_free(&tree);
  }
}

static void test_int_readers_follow_mode(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof int_cases / sizeof int_cases[0]; k++) {
    const struct int_case *c = &int_cases[k];
    struct hls_mp_reader r;
    int64_t i = 0;
    uint64_t u = 0;
    hls_mp_reader_init(&r, c->bytes, c->len, true);
    int rc = c->negative ? hls_mp_read_int(&r, &i) : hls_mp_read_uint(&r, &u);
    if (c->canonical_ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(hls_mp_remaining(&r), 0);
    } else {
      assert_int_equal(rc, HLS_ENONCANON);
      assert_int_equal(hls_mp_remaining(&r), c->len); /* cursor unchanged */
    }
    hls_mp_reader_init(&r, c->bytes, c->len, false);
    if (c->negative) {
      assert_int_equal(hls_mp_read_int(&r, &i), 0);
      assert_true(i == c->i);
    } else {
      assert_int_equal(hls_mp_read_uint(&r, &u), 0);
      assert_true(u == c->u);
    }
    assert_int_equal(hls_mp_remaining(&r), 0);
  }
}

static void test_int_sign_and_range_errors(void **state) {
  (void)state;
  struct hls_mp_reader r;
  uint64_t u = 77;
  int64_t i = 77;
  /* A negative value is not a uint. */
  hls_mp_reader_init(&r, BYTES(0xff), true);
  assert_int_equal(hls_mp_read_uint(&r, &u), HLS_EINVAL);
  assert_int_equal(hls_mp_remaining(&r), 1);
  assert_true(u == 77);
  /* A uint above INT64_MAX is not an int64. */
  hls_mp_reader_init(&r, BYTES(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), true);
  assert_int_equal(hls_mp_read_int(&r, &i), HLS_EINVAL);
  assert_int_equal(hls_mp_remaining(&r), 9);
  assert_true(i == 77);
  /* INT64_MAX as uint64 is fine for read_int. */
  hls_mp_reader_init(&r, BYTES(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), true);
  assert_int_equal(hls_mp_read_int(&r, &i), 0);
  assert_true(i == INT64_MAX);
  /* Positive fixint through read_int; negative fixint. */
  hls_mp_reader_init(&r, BYTES(0x05, 0xe0), true);
  assert_int_equal(hls_mp_read_int(&r, &i), 0);
  assert_true(i == 5);
  assert_int_equal(hls_mp_read_int(&r, &i), 0);
  assert_true(i == -32);
  /* Not an integer at all. */
  hls_mp_reader_init(&r, BYTES(0xa1, 0x31), true);
  assert_int_equal(hls_mp_read_uint(&r, &u), HLS_EINVAL);
  assert_int_equal(hls_mp_read_int(&r, &i), HLS_EINVAL);
  assert_int_equal(hls_mp_remaining(&r), 2);
}

/* --- canonical lengths and counts --------------------------------------- */

/* header byte + n-byte big-endian length + body of len filler bytes. */
static void put_sized(struct bytes *b, uint8_t type, size_t n, uint64_t len, uint8_t filler) {
  put1(b, type);
  put_be(b, len, n);
  put_repeat(b, filler, (size_t)len);
}

struct len_case {
  uint8_t type;
  size_t header_bytes;
  uint64_t len;
  bool canonical_ok;
};

static void check_len_cases(const struct len_case *cases, size_t n_cases, uint8_t filler, int mp_type) {
  for (size_t k = 0; k < n_cases; k++) {
    struct bytes b = {0};
    put_sized(&b, cases[k].type, cases[k].header_bytes, cases[k].len, filler);
    int rc = try_decode(b.p, b.n, true, 1000000);
    if (rc != (cases[k].canonical_ok ? 0 : HLS_ENONCANON))
      fail_msg("type 0x%02x len %llu: canonical decode gave %s", cases[k].type,
               (unsigned long long)cases[k].len, hls_err_name(rc));
    struct hls_mp_tree tree;
    assert_int_equal(hls_mp_tree_decode(&tree, b.p, b.n, false, 1000000, NULL), 0);
    assert_int_equal(tree.root.type, mp_type);
    assert_int_equal(tree.root.len, cases[k].len);
    hls_mp_tree_free(&tree);
    bytes_free(&b);
  }
}

static void test_str_shortest_length_rules(void **state) {
  (void)state;
  const struct len_case cases[] = {
      {0xd9, 1, 0, false},      {0xd9, 1, 31, false},     {0xd9, 1, 32, true},
      {0xd9, 1, 255, true},     {0xda, 2, 0, false},      {0xda, 2, 255, false},
      {0xda, 2, 256, true},     {0xdb, 4, 0, false},      {0xdb, 4, 65535, false},
      {0xdb, 4, 65536, true},
  };
  check_len_cases(cases, sizeof cases / sizeof cases[0], 'x', HLS_MP_STR);
}

static void test_bin_shortest_length_rules(void **state) {
  (void)state;
  const struct len_case cases[] = {
      {0xc4, 1, 0, true},       {0xc4, 1, 255, true},     {0xc5, 2, 0, false},
      {0xc5, 2, 255, false},    {0xc5, 2, 256, true},     {0xc6, 4, 0, false},
      {0xc6, 4, 65535, false},  {0xc6, 4, 65536, true},
  };
  check_len_cases(cases, sizeof cases / sizeof cases[0], 0xff, HLS_MP_BIN);
}

static void test_array_shortest_count_rules(void **state) {
  (void)state;
  /* Elements are nils (0xc0), one byte each. */
  const struct len_case cases[] = {
      {0xdc, 2, 0, false},      {0xdc, 2, 15, false},     {0xdc, 2, 16, true},
      {0xdd, 4, 0, false},      {0xdd, 4, 65535, false},  {0xdd, 4, 65536, true},
  };
  check_len_cases(cases, sizeof cases / sizeof cases[0], 0xc0, HLS_MP_ARRAY);
}

/* A map of count entries with distinct, increasing 5-character keys. */
static void put_map(struct bytes *b, uint8_t type, size_t header_bytes, uint32_t count) {
  put1(b, type);
  put_be(b, count, header_bytes);
  for (uint32_t i = 0; i < count; i++) {
    char key[16];
    snprintf(key, sizeof key, "%05x", (unsigned)i);
    put1(b, 0xa5);
    put(b, key, 5);
    put1(b, 0xc0);
  }
}

static void test_map_shortest_count_rules(void **state) {
  (void)state;
  const struct len_case cases[] = {
      {0xde, 2, 0, false},      {0xde, 2, 15, false},     {0xde, 2, 16, true},
      {0xdf, 4, 0, false},      {0xdf, 4, 65535, false},  {0xdf, 4, 65536, true},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    struct bytes b = {0};
    put_map(&b, cases[k].type, cases[k].header_bytes, (uint32_t)cases[k].len);
    assert_int_equal(try_decode(b.p, b.n, true, 1000000), cases[k].canonical_ok ? 0 : HLS_ENONCANON);
    struct hls_mp_tree tree;
    assert_int_equal(hls_mp_tree_decode(&tree, b.p, b.n, false, 1000000, NULL), 0);
    assert_int_equal(tree.root.type, HLS_MP_MAP);
    assert_int_equal(tree.root.len, cases[k].len);
    hls_mp_tree_free(&tree);
    bytes_free(&b);
  }
}

static void test_fix_forms_are_canonical(void **state) {
  (void)state;
  expect_both(BYTES(0xa0), 0);             /* "" */
  expect_both(BYTES(0x90), 0);             /* [] */
  expect_both(BYTES(0x80), 0);             /* {} */
  expect_both(BYTES(0xc4, 0x00), 0);       /* empty bin */
  expect_both(BYTES(0x00), 0);
  expect_both(BYTES(0x7f), 0);
  expect_both(BYTES(0xe0), 0);
  expect_both(BYTES(0xc0), 0);
  expect_both(BYTES(0xc2), 0);
  expect_both(BYTES(0xc3), 0);
}

static void test_reader_noncanonical_leaves_cursor(void **state) {
  (void)state;
  struct hls_mp_reader r;
  const char *s = NULL;
  uint32_t len = 99, count = 99;
  const uint8_t *bin = NULL;
  hls_mp_reader_init(&r, BYTES(0xd9, 0x01, 0x61), true);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), HLS_ENONCANON);
  assert_int_equal(hls_mp_remaining(&r), 3);
  assert_null(s);
  assert_int_equal(len, 99);
  hls_mp_reader_init(&r, BYTES(0xd9, 0x01, 0x61), false);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), 0);
  assert_int_equal(len, 1);
  assert_memory_equal(s, "a", 1);

  hls_mp_reader_init(&r, BYTES(0xc5, 0x00, 0x01, 0x00), true);
  assert_int_equal(hls_mp_read_bin(&r, &bin, &len), HLS_ENONCANON);
  assert_int_equal(hls_mp_remaining(&r), 4);
  hls_mp_reader_init(&r, BYTES(0xdc, 0x00, 0x01, 0xc0), true);
  assert_int_equal(hls_mp_read_array(&r, &count), HLS_ENONCANON);
  assert_int_equal(hls_mp_remaining(&r), 4);
  hls_mp_reader_init(&r, BYTES(0xde, 0x00, 0x01, 0xa1, 0x61, 0xc0), true);
  assert_int_equal(hls_mp_read_map(&r, &count), HLS_ENONCANON);
  assert_int_equal(hls_mp_remaining(&r), 6);
  assert_int_equal(count, 99);
}

static void test_floats_refused_in_canonical_mode(void **state) {
  (void)state;
  expect_noncanon(BYTES(0xca, 0x3f, 0xc0, 0x00, 0x00));
  expect_noncanon(BYTES(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
  /* Nested in a container too. */
  expect_noncanon(BYTES(0x91, 0xca, 0x3f, 0xc0, 0x00, 0x00));

  struct hls_mp_reader r;
  double d = 0;
  hls_mp_reader_init(&r, BYTES(0xca, 0x3f, 0xc0, 0x00, 0x00), true);
  assert_int_equal(hls_mp_read_float(&r, &d), HLS_ENONCANON);
  assert_int_equal(hls_mp_remaining(&r), 5);
  hls_mp_reader_init(&r, BYTES(0xca, 0x3f, 0xc0, 0x00, 0x00), false);
  assert_int_equal(hls_mp_read_float(&r, &d), 0);
  assert_true(d == 1.5);
  hls_mp_reader_init(&r, BYTES(0xcb, 0xc0, 0x04, 0, 0, 0, 0, 0, 0), false);
  assert_int_equal(hls_mp_read_float(&r, &d), 0);
  assert_true(d == -2.5);
  hls_mp_reader_init(&r, BYTES(0x01), false);
  assert_int_equal(hls_mp_read_float(&r, &d), HLS_EINVAL);
  hls_mp_reader_init(&r, BYTES(0xcb, 0x00), false);
  assert_int_equal(hls_mp_read_float(&r, &d), HLS_ETRUNCATED);

  struct hls_mp_tree tree;
  assert_int_equal(hls_mp_tree_decode(&tree, BYTES(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), false, 10, NULL), 0);
  assert_int_equal(tree.root.type, HLS_MP_FLOAT);
  assert_true(tree.root.v.f == 1.5);
  hls_mp_tree_free(&tree);
}

static void test_map_key_order(void **state) {
  (void)state;
  /* {"a":1,"b":2} is in order. */
  expect_both(BYTES(0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02), 0);
  /* {"b":1,"a":2} is not. */
  expect_noncanon(BYTES(0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02));
  /* Order is by encoded bytes, header included: "b" (a1 62) sorts before
   * "aa" (a2 61 61). */
  expect_both(BYTES(0x82, 0xa1, 'b', 0x01, 0xa2, 'a', 'a', 0x02), 0);
  expect_noncanon(BYTES(0x82, 0xa2, 'a', 'a', 0x01, 0xa1, 'b', 0x02));
  /* Inside a nested map as well. */
  expect_noncanon(BYTES(0x81, 0xa1, 'k', 0x82, 0xa1, 'y', 0xc0, 0xa1, 'x', 0xc0));
  /* A repeated key is not strictly increasing. */
  assert_int_equal(try_decode(BYTES(0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02), true, 100), HLS_ENONCANON);
}

/* --- refusals ------------------------------------------------------------ */

static void test_counts_beyond_input_are_truncated(void **state) {
  (void)state;
  /* array32 claiming 4 billion elements in a 6-byte input. */
  expect_both(BYTES(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0), HLS_ETRUNCATED);
  expect_both(BYTES(0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0), HLS_ETRUNCATED);
  expect_both(BYTES(0xdc, 0xff, 0xff, 0xc0), HLS_ETRUNCATED);
  expect_both(BYTES(0xde, 0x00, 0x20, 0xa1, 'a', 0xc0), HLS_ETRUNCATED);
  expect_both(BYTES(0x92, 0xc0), HLS_ETRUNCATED);
  /* A map entry needs at least two bytes. */
  expect_both(BYTES(0x81, 0xc0), HLS_ETRUNCATED);

  struct hls_mp_reader r;
  uint32_t count = 12345;
  hls_mp_reader_init(&r, BYTES(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0), false);
  assert_int_equal(hls_mp_read_array(&r, &count), HLS_ETRUNCATED);
  assert_int_equal(count, 12345);
  assert_int_equal(hls_mp_remaining(&r), 6);
  hls_mp_reader_init(&r, BYTES(0x82, 0xa1, 'a'), false);
  assert_int_equal(hls_mp_read_map(&r, &count), HLS_ETRUNCATED);
  hls_mp_reader_init(&r, BYTES(0x82, 0xa1, 'a', 0xc0), false);
  assert_int_equal(hls_mp_read_map(&r, &count), HLS_ETRUNCATED);
  assert_int_equal(count, 12345);
  /* Four bytes could hold two entries: the header alone is accepted. */
  hls_mp_reader_init(&r, BYTES(0x82, 0xa1, 'a', 0xc0, 0xc0), false);
  assert_int_equal(hls_mp_read_map(&r, &count), 0);
  assert_int_equal(count, 2);
  assert_int_equal(hls_mp_remaining(&r), 4);
}

static void test_truncated_values(void **state) {
  (void)state;
  static const uint8_t empty[1] = {0};
  expect_both(empty, 0, HLS_ETRUNCATED);
  /* An empty msgpack_sbuffer has NULL data: still just truncated. */
  msgpack_sbuffer none;
  msgpack_sbuffer_init(&none);
  assert_null(none.data);
  expect_both((const uint8_t *)none.data, none.size, HLS_ETRUNCATED);
  struct hls_mp_reader nr;
  hls_mp_reader_init(&nr, none.data, 0, true);
  assert_int_equal(hls_mp_remaining(&nr), 0);
  assert_int_equal(hls_mp_peek(&nr), HLS_ETRUNCATED);
  assert_int_equal(hls_mp_skip(&nr), HLS_ETRUNCATED);
  expect_both(BYTES(0xcc), HLS_ETRUNCATED);
  expect_both(BYTES(0xcd, 0x01), HLS_ETRUNCATED);
  expect_both(BYTES(0xce, 0x00, 0x01, 0x00), HLS_ETRUNCATED);
  expect_both(BYTES(0xcf, 0x00), HLS_ETRUNCATED);
  expect_both(BYTES(0xd3, 0xff, 0xff), HLS_ETRUNCATED);
  expect_both(BYTES(0xa3, 'a', 'b'), HLS_ETRUNCATED);
  expect_both(BYTES(0xd9), HLS_ETRUNCATED);
  expect_both(BYTES(0xd9, 0x40, 'a'), HLS_ETRUNCATED);
  expect_both(BYTES(0xda, 0x01), HLS_ETRUNCATED);
  expect_both(BYTES(0xdb, 0x00, 0x01, 0x00, 0x00, 'a'), HLS_ETRUNCATED);
  expect_both(BYTES(0xdb, 0xff, 0xff, 0xff, 0xff, 'a'), HLS_ETRUNCATED);
  expect_both(BYTES(0xc4, 0x03, 0x00), HLS_ETRUNCATED);
  expect_both(BYTES(0xc5), HLS_ETRUNCATED);
  expect_both(BYTES(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00), HLS_ETRUNCATED);
  /* Key present, value missing. */
  expect_both(BYTES(0x81, 0xa1, 'a'), HLS_ETRUNCATED);
  /* Nested value cut short. */
  expect_both(BYTES(0x91, 0xa3, 'a'), HLS_ETRUNCATED);

  struct hls_mp_reader r;
  const char *s = NULL;
  uint32_t len = 0;
  hls_mp_reader_init(&r, BYTES(0xa3, 'a', 'b'), true);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), HLS_ETRUNCATED);
  assert_int_equal(hls_mp_remaining(&r), 3);
  hls_mp_reader_init(&r, empty, 0, true);
  assert_int_equal(hls_mp_peek(&r), HLS_ETRUNCATED);
  assert_int_equal(hls_mp_read_nil(&r), HLS_ETRUNCATED);
  bool b;
  assert_int_equal(hls_mp_read_bool(&r, &b), HLS_ETRUNCATED);
  uint64_t u;
  assert_int_equal(hls_mp_read_uint(&r, &u), HLS_ETRUNCATED);
  assert_int_equal(hls_mp_skip(&r), HLS_ETRUNCATED);
}

static void test_invalid_utf8_in_strings(void **state) {
  (void)state;
  expect_both(BYTES(0xa2, 0xc3, 0x28), HLS_EUTF8);             /* bad continuation */
  expect_both(BYTES(0xa2, 0xc0, 0x80), HLS_EUTF8);             /* overlong NUL */
  expect_both(BYTES(0xa3, 0xed, 0xa0, 0x80), HLS_EUTF8);       /* surrogate */
  expect_both(BYTES(0xa4, 0xf4, 0x90, 0x80, 0x80), HLS_EUTF8); /* above U+10FFFF */
  expect_both(BYTES(0xa1, 0xff), HLS_EUTF8);
  expect_both(BYTES(0xa1, 0xc3), HLS_EUTF8); /* cut mid-character */
  expect_both(BYTES(0x91, 0xa1, 0x80), HLS_EUTF8);
  expect_both(BYTES(0x81, 0xa1, 0xff, 0xc0), HLS_EUTF8); /* in a key */
  /* Valid multi-byte text, and any bytes at all in a bin. */
  expect_both(BYTES(0xa2, 0xc3, 0xa9), 0);
  expect_both(BYTES(0xa4, 0xf0, 0x9f, 0x98, 0x80), 0);
  expect_both(BYTES(0xc4, 0x02, 0xff, 0xc3), 0);

  struct hls_mp_reader r;
  const char *s = NULL;
  uint32_t len = 0;
  hls_mp_reader_init(&r, BYTES(0xa2, 0xc3, 0x28), false);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), HLS_EUTF8);
  assert_int_equal(hls_mp_remaining(&r), 3);
}

static void test_trailing_bytes(void **state) {
  (void)state;
  expect_both(BYTES(0xc0, 0xc0), HLS_ETRAILING);
  expect_both(BYTES(0x01, 0x02), HLS_ETRAILING);
  expect_both(BYTES(0x90, 0x00), HLS_ETRAILING);
  expect_both(BYTES(0x81, 0xa1, 'a', 0x01, 0xff), HLS_ETRAILING);
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  assert_int_equal(hls_mp_tree_decode(&tree, BYTES(0xc0, 0x01, 0x02, 0x03), true, 10, &why), HLS_ETRAILING);
  assert_non_null(strstr(why.text, "3"));
  hls_mp_tree_free(&tree);
}

static void nested_arrays(struct bytes *b, int depth) {
  /* depth one-element arrays around an empty array: the innermost value
   * sits at nesting depth `depth` (the root is depth 0). */
  put_repeat(b, 0x91, (size_t)depth);
  put1(b, 0x90);
}

static void nested_maps(struct bytes *b, int depth) {
  for (int i = 0; i < depth; i++) {
    put1(b, 0x81);
    put1(b, 0xa1);
    put1(b, 'k');
  }
  put1(b, 0x80);
}

static void test_depth_limit(void **state) {
  (void)state;
  struct bytes b = {0};
  nested_arrays(&b, HLS_MP_MAX_DEPTH);
  expect_both(b.p, b.n, 0);
  bytes_free(&b);
  nested_arrays(&b, HLS_MP_MAX_DEPTH + 1);
  expect_both(b.p, b.n, HLS_ETOOBIG);
  bytes_free(&b);
  nested_maps(&b, HLS_MP_MAX_DEPTH);
  expect_both(b.p, b.n, 0);
  bytes_free(&b);
  nested_maps(&b, HLS_MP_MAX_DEPTH + 1);
  expect_both(b.p, b.n, HLS_ETOOBIG);
  bytes_free(&b);
  /* Far deeper than the limit: refused without exhausting the stack. */
  nested_arrays(&b, 100000);
  expect_both(b.p, b.n, HLS_ETOOBIG);
  bytes_free(&b);

  struct hls_why why = {{0}};
  struct hls_mp_tree tree;
  nested_arrays(&b, HLS_MP_MAX_DEPTH + 1);
  assert_int_equal(hls_mp_tree_decode(&tree, b.p, b.n, true, 1000, &why), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "deeper"));
  hls_mp_tree_free(&tree);

  /* hls_mp_skip has the same limit. */
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, b.p, b.n, true);
  assert_int_equal(hls_mp_skip(&r), HLS_ETOOBIG);
  bytes_free(&b);
  nested_arrays(&b, HLS_MP_MAX_DEPTH);
  hls_mp_reader_init(&r, b.p, b.n, true);
  assert_int_equal(hls_mp_skip(&r), 0);
  assert_int_equal(hls_mp_remaining(&r), 0);
  bytes_free(&b);
}

static void test_max_values(void **state) {
  (void)state;
  /* [1,2,3]: four values. */
  assert_int_equal(try_decode(BYTES(0x93, 0x01, 0x02, 0x03), true, 4), 0);
  assert_int_equal(try_decode(BYTES(0x93, 0x01, 0x02, 0x03), true, 3), HLS_ETOOBIG);
  assert_int_equal(try_decode(BYTES(0x93, 0x01, 0x02, 0x03), false, 3), HLS_ETOOBIG);
  /* {"a":1}: map, key and value. */
  assert_int_equal(try_decode(BYTES(0x81, 0xa1, 'a', 0x01), true, 3), 0);
  assert_int_equal(try_decode(BYTES(0x81, 0xa1, 'a', 0x01), true, 2), HLS_ETOOBIG);
  /* A lone scalar is one value. */
  assert_int_equal(try_decode(BYTES(0xc0), true, 1), 0);
  assert_int_equal(try_decode(BYTES(0xc0), true, 0), HLS_ETOOBIG);
  /* Many small values in a big array. */
  struct bytes b = {0};
  put_sized(&b, 0xdd, 4, 100000, 0xc0);
  assert_int_equal(try_decode(b.p, b.n, true, 100001), 0);
  assert_int_equal(try_decode(b.p, b.n, true, 100000), HLS_ETOOBIG);
  struct hls_why why = {{0}};
  struct hls_mp_tree tree;
  assert_int_equal(hls_mp_tree_decode(&tree, b.p, b.n, true, 1000, &why), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "1000"));
  hls_mp_tree_free(&tree);
  bytes_free(&b);
}

static void test_duplicate_keys_refused_in_lenient_mode(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  struct hls_mp_tree tree;
  /* Two keys. */
  assert_int_equal(hls_mp_tree_decode(&tree, BYTES(0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02), false, 100, &why),
                   HLS_EMALFORMED);
  assert_non_null(strstr(why.text, "duplicate"));
  hls_mp_tree_free(&tree);
  /* Same bytes but different lengths are different keys. */
  assert_int_equal(try_decode(BYTES(0x82, 0xa2, 'a', 'b', 0x01, 0xa1, 'a', 0x02), false, 100), 0);
  assert_int_equal(try_decode(BYTES(0x82, 0xa0, 0x01, 0xa1, 'a', 0x02), false, 100), 0);
  /* Nested map. */
  assert_int_equal(try_decode(BYTES(0x91, 0x82, 0xa1, 'x', 0xc0, 0xa1, 'x', 0xc0), false, 100), HLS_EMALFORMED);

  /* More than eight keys (the sorted path): a duplicate first/last and in
   * the middle; and a map of distinct keys out of order is fine. */
  for (int variant = 0; variant < 3; variant++) {
    struct bytes b = {0};
    const int n = 20;
    put1(&b, (uint8_t)0xde);
    put_be(&b, (uint64_t)n, 2);
    for (int i = 0; i < n; i++) {
      char key[16];
      int k = n - 1 - i; /* descending: not canonical order */
      if (variant == 0 && i == n - 1) k = n - 1;  /* same as the first key */
      if (variant == 1 && i == 10) k = 12;        /* same as i == 7 */
      snprintf(key, sizeof key, "key%02d", k);
      put1(&b, 0xa5);
      put(&b, key, 5);
      put1(&b, (uint8_t)i);
    }
    int want = variant == 2 ? 0 : HLS_EMALFORMED;
    assert_int_equal(try_decode(b.p, b.n, false, 1000), want);
    /* Canonical mode refuses the descending order before anything else. */
    assert_int_equal(try_decode(b.p, b.n, true, 1000), HLS_ENONCANON);
    bytes_free(&b);
  }
}

static void test_ext_types_refused(void **state) {
  (void)state;
  expect_both(BYTES(0xd4, 0x01, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xd5, 0x01, 0x00, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xd6, 0x01, 0, 0, 0, 0), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xc7, 0x01, 0x01, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xc8, 0x00, 0x01, 0x01, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0x91, 0xd4, 0x01, 0x00), HLS_EUNSUPPORTED);
  expect_both(BYTES(0x81, 0xa1, 'e', 0xd4, 0x01, 0x00), HLS_EUNSUPPORTED);
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, BYTES(0xd4, 0x01, 0x00), true);
  assert_int_equal(hls_mp_peek(&r), HLS_MP_EXT);
  assert_int_equal(hls_mp_skip(&r), HLS_EUNSUPPORTED);
}

static void test_reserved_byte_and_bad_keys(void **state) {
  (void)state;
  expect_both(BYTES(0xc1), HLS_EMALFORMED);
  expect_both(BYTES(0x91, 0xc1), HLS_EMALFORMED);
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, BYTES(0xc1), true);
  assert_int_equal(hls_mp_peek(&r), HLS_EMALFORMED);
  /* Map keys must be strings. */
  expect_both(BYTES(0x81, 0x01, 0xc0), HLS_EMALFORMED);
  expect_both(BYTES(0x81, 0xc0, 0xc0), HLS_EMALFORMED);
  expect_both(BYTES(0x81, 0xc4, 0x01, 'a', 0xc0), HLS_EMALFORMED);
  expect_both(BYTES(0x81, 0x90, 0xc0), HLS_EMALFORMED);
}

/* --- reader -------------------------------------------------------------- */

static void test_peek_types(void **state) {
  (void)state;
  static const struct {
    uint8_t byte;
    int type;
  } cases[] = {
      {0x00, HLS_MP_UINT},  {0x7f, HLS_MP_UINT},  {0x80, HLS_MP_MAP},   {0x8f, HLS_MP_MAP},
      {0x90, HLS_MP_ARRAY}, {0x9f, HLS_MP_ARRAY}, {0xa0, HLS_MP_STR},   {0xbf, HLS_MP_STR},
      {0xc0, HLS_MP_NIL},   {0xc2, HLS_MP_BOOL},  {0xc3, HLS_MP_BOOL},  {0xc4, HLS_MP_BIN},
      {0xc5, HLS_MP_BIN},   {0xc6, HLS_MP_BIN},   {0xc7, HLS_MP_EXT},   {0xc8, HLS_MP_EXT},
      {0xc9, HLS_MP_EXT},   {0xca, HLS_MP_FLOAT}, {0xcb, HLS_MP_FLOAT}, {0xcc, HLS_MP_UINT},
      {0xcf, HLS_MP_UINT},  {0xd0, HLS_MP_INT},   {0xd3, HLS_MP_INT},   {0xd4, HLS_MP_EXT},
      {0xd8, HLS_MP_EXT},   {0xd9, HLS_MP_STR},   {0xdb, HLS_MP_STR},   {0xdc, HLS_MP_ARRAY},
      {0xdd, HLS_MP_ARRAY}, {0xde, HLS_MP_MAP},   {0xdf, HLS_MP_MAP},   {0xe0, HLS_MP_INT},
      {0xff, HLS_MP_INT},   {0xc1, HLS_EMALFORMED},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    struct hls_mp_reader r;
    hls_mp_reader_init(&r, &cases[k].byte, 1, true);
    assert_int_equal(hls_mp_peek(&r), cases[k].type);
    assert_int_equal(hls_mp_remaining(&r), 1);
  }
}

static void test_reader_sequence(void **state) {
  (void)state;
  /* [nil, true, false, "hé", bin(2), {"k": [1]}, 300] read value by value. */
  const uint8_t data[] = {0x97, 0xc0, 0xc3, 0xc2, 0xa3, 'h', 0xc3, 0xa9, 0xc4, 0x02, 0x00, 0xff,
                          0x81, 0xa1, 'k', 0x91, 0x01, 0xcd, 0x01, 0x2c};
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, data, sizeof data, true);
  uint32_t count = 0, len = 0;
  bool b = false;
  const char *s = NULL;
  const uint8_t *bin = NULL;
  uint64_t u = 0;
  assert_int_equal(hls_mp_read_array(&r, &count), 0);
  assert_int_equal(count, 7);
  assert_int_equal(hls_mp_read_nil(&r), 0);
  /* Wrong-type reads fail with EINVAL and do not move the cursor. */
  size_t before = hls_mp_remaining(&r);
  assert_int_equal(hls_mp_read_nil(&r), HLS_EINVAL);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), HLS_EINVAL);
  assert_int_equal(hls_mp_read_bin(&r, &bin, &len), HLS_EINVAL);
  assert_int_equal(hls_mp_read_array(&r, &count), HLS_EINVAL);
  assert_int_equal(hls_mp_read_map(&r, &count), HLS_EINVAL);
  assert_int_equal(hls_mp_read_uint(&r, &u), HLS_EINVAL);
  assert_int_equal(hls_mp_remaining(&r), before);
  assert_int_equal(hls_mp_read_bool(&r, &b), 0);
  assert_true(b);
  assert_int_equal(hls_mp_read_bool(&r, &b), 0);
  assert_false(b);
  assert_int_equal(hls_mp_read_bool(&r, &b), HLS_EINVAL);
  assert_int_equal(hls_mp_read_str(&r, &s, &len), 0);
  assert_int_equal(len, 3);
  assert_ptr_equal(s, (const char *)data + 5); /* borrowed view */
  assert_int_equal(hls_mp_read_bin(&r, &bin, &len), 0);
  assert_int_equal(len, 2);
  assert_ptr_equal(bin, data + 10);
  assert_int_equal(hls_mp_peek(&r), HLS_MP_MAP);
  assert_int_equal(hls_mp_skip(&r), 0); /* the whole map */
  assert_int_equal(hls_mp_read_uint(&r, &u), 0);
  assert_true(u == 300);
  assert_int_equal(hls_mp_remaining(&r), 0);
  assert_int_equal(hls_mp_peek(&r), HLS_ETRUNCATED);
}

static void test_skip_checks_what_it_skips(void **state) {
  (void)state;
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, BYTES(0x91, 0xcc, 0x01), true);
  assert_int_equal(hls_mp_skip(&r), HLS_ENONCANON);
  hls_mp_reader_init(&r, BYTES(0x91, 0xcc, 0x01), false);
  assert_int_equal(hls_mp_skip(&r), 0);
  hls_mp_reader_init(&r, BYTES(0x91, 0xa1, 0xff), false);
  assert_int_equal(hls_mp_skip(&r), HLS_EUTF8);
  hls_mp_reader_init(&r, BYTES(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0), false);
  assert_int_equal(hls_mp_skip(&r), HLS_ETRUNCATED);
}

/* --- round trips with msgpack-c ----------------------------------------- */

static void test_round_trip_integers(void **state) {
  (void)state;
  const int64_t signed_values[] = {0,      1,          127,        128,         255,       256,
                                   65535,  65536,      4294967295, 4294967296,  INT64_MAX, -1,
                                   -31,    -32,        -33,        -127,        -128,      -129,
                                   -32767, -32768,     -32769,     INT32_MIN,   (int64_t)INT32_MIN - 1,
                                   INT64_MIN + 1,      INT64_MIN};
  const uint64_t unsigned_values[] = {0, 5, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
                                      0x100000000ull, (uint64_t)INT64_MAX + 1, UINT64_MAX};
  for (size_t k = 0; k < sizeof signed_values / sizeof signed_values[0]; k++) {
    struct mpb b;
    mpb_init(&b);
    assert_int_equal(msgpack_pack_int64(&b.pk, signed_values[k]), 0);
    expect_canonical_round_trip(&b.sb);
    const struct hls_mp_value *v = mpb_decode(&b, true);
    if (signed_values[k] < 0) {
      assert_int_equal(v->type, HLS_MP_INT);
      assert_true(v->v.i == signed_values[k]);
    } else {
      assert_int_equal(v->type, HLS_MP_UINT);
      assert_true(v->v.u == (uint64_t)signed_values[k]);
    }
    struct hls_mp_reader r;
    int64_t i = 0;
    hls_mp_reader_init(&r, b.sb.data, b.sb.size, true);
    assert_int_equal(hls_mp_read_int(&r, &i), 0);
    assert_true(i == signed_values[k]);
    mpb_free(&b);
  }
  for (size_t k = 0; k < sizeof unsigned_values / sizeof unsigned_values[0]; k++) {
    struct mpb b;
    mpb_init(&b);
    assert_int_equal(msgpack_pack_uint64(&b.pk, unsigned_values[k]), 0);
    expect_canonical_round_trip(&b.sb);
    const struct hls_mp_value *v = mpb_decode(&b, true);
    assert_int_equal(v->type, HLS_MP_UINT);
    assert_true(v->v.u == unsigned_values[k]);
    struct hls_mp_reader r;
    uint64_t u = 0;
    hls_mp_reader_init(&r, b.sb.data, b.sb.size, true);
    assert_int_equal(hls_mp_read_uint(&r, &u), 0);
    assert_true(u == unsigned_values[k]);
    mpb_free(&b);
  }
}

static void test_round_trip_strings_and_bins(void **state) {
  (void)state;
  const size_t lengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
  for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
    size_t n = lengths[k];
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) text[i] = (char)('a' + i % 26);
    text[n] = '\0';
    struct mpb b;
    mpb_init(&b);
    mpb_pack(&b.pk, "S b", text, n, text, n);
    /* Two values: decode each with the reader, then each as a tree. */
    struct hls_mp_reader r;
    const char *s = NULL;
    const uint8_t *bin = NULL;
    uint32_t len = 0;
    hls_mp_reader_init(&r, b.sb.data, b.sb.size, true);
    assert_int_equal(hls_mp_read_str(&r, &s, &len), 0);
    assert_int_equal(len, n);
    if (n > 0) assert_memory_equal(s, text, n);
    size_t str_bytes = b.sb.size - hls_mp_remaining(&r);
    assert_int_equal(hls_mp_read_bin(&r, &bin, &len), 0);
    assert_int_equal(len, n);
    if (n > 0) assert_memory_equal(bin, text, n);
    assert_int_equal(hls_mp_remaining(&r), 0);

    msgpack_sbuffer one = {.size = str_bytes, .data = b.sb.data, .alloc = 0};
    expect_canonical_round_trip(&one);
    msgpack_sbuffer two = {.size = b.sb.size - str_bytes, .data = b.sb.data + str_bytes, .alloc = 0};
    expect_canonical_round_trip(&two);
    mpb_free(&b);
    free(text);
  }
  /* Multi-byte UTF-8 survives untouched. */
  struct mpb b;
  const char *word = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac";
  const struct hls_mp_value *v = mpb_build(&b, "s", word);
  assert_int_equal(v->type, HLS_MP_STR);
  assert_true(hls_mp_str_eq(v, word));
  expect_canonical_round_trip(&b.sb);
  mpb_free(&b);
}

static void test_round_trip_containers(void **state) {
  (void)state;
  const uint32_t counts[] = {0, 1, 15, 16, 65535, 65536};
  for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
    uint32_t n = counts[k];
    struct mpb b;
    mpb_init(&b);
    assert_int_equal(msgpack_pack_array(&b.pk, n), 0);
    for (uint32_t i = 0; i < n; i++) assert_int_equal(msgpack_pack_uint32(&b.pk, i % 300), 0);
    expect_canonical_round_trip(&b.sb);
    const struct hls_mp_value *v = mpb_decode(&b, true);
    assert_int_equal(v->type, HLS_MP_ARRAY);
    assert_int_equal(v->len, n);
    for (uint32_t i = 0; i < n; i++) {
      assert_int_equal(v->v.items[i].type, HLS_MP_UINT);
      assert_true(v->v.items[i].v.u == i % 300);
    }
    mpb_free(&b);

    mpb_init(&b);
    assert_int_equal(msgpack_pack_map(&b.pk, n), 0);
    for (uint32_t i = 0; i < n; i++) {
      char key[16];
      snprintf(key, sizeof key, "%05x", (unsigned)i);
      mpb_pack(&b.pk, "s i", key, (long long)i - 40);
    }
    expect_canonical_round_trip(&b.sb);
    v = mpb_decode(&b, true);
    assert_int_equal(v->type, HLS_MP_MAP);
    assert_int_equal(v->len, n);
    if (n > 0) {
      char key[16];
      snprintf(key, sizeof key, "%05x", (unsigned)(n - 1));
      const struct hls_mp_value *last = hls_mp_get(v, key);
      assert_non_null(last);
      int64_t want = (int64_t)n - 1 - 40;
      if (want < 0) {
        assert_true(last->type == HLS_MP_INT && last->v.i == want);
      } else {
        assert_true(last->type == HLS_MP_UINT && last->v.u == (uint64_t)want);
      }
    }
    mpb_free(&b);
  }
}

static void test_round_trip_nested_document(void **state) {
  (void)state;
  static const uint8_t blob[] = {0x00, 0xff, 0xc1, 0x80};
  struct mpb b;
  mpb_init(&b);
  mpb_pack(&b.pk, "M s A s i n t f M s b s s", 4, "a", 6, "x", -5LL, 2, "b", blob, sizeof blob, "c", "d");
  mpb_pack(&b.pk, "s A", "e", 0);
  mpb_pack(&b.pk, "s u s M", "f", (unsigned long long)UINT64_MAX, "g", 0);
  expect_canonical_round_trip(&b.sb);
  const struct hls_mp_value *root = mpb_decode(&b, true);
  assert_int_equal(root->type, HLS_MP_MAP);
  assert_int_equal(root->len, 4);
  const struct hls_mp_value *a = hls_mp_get(root, "a");
  assert_non_null(a);
  assert_int_equal(a->type, HLS_MP_ARRAY);
  assert_int_equal(a->len, 6);
  assert_true(hls_mp_str_eq(&a->v.items[0], "x"));
  assert_true(a->v.items[1].type == HLS_MP_INT && a->v.items[1].v.i == -5);
  assert_int_equal(a->v.items[2].type, HLS_MP_NIL);
  assert_true(a->v.items[3].type == HLS_MP_BOOL && a->v.items[3].v.b);
  assert_true(a->v.items[4].type == HLS_MP_BOOL && !a->v.items[4].v.b);
  const struct hls_mp_value *inner = &a->v.items[5];
  const struct hls_mp_value *bin = hls_mp_get(inner, "b");
  assert_non_null(bin);
  assert_int_equal(bin->type, HLS_MP_BIN);
  assert_int_equal(bin->len, sizeof blob);
  assert_memory_equal(bin->v.bin, blob, sizeof blob);
  assert_true(hls_mp_str_eq(hls_mp_get(inner, "c"), "d"));
  const struct hls_mp_value *f = hls_mp_get(root, "f");
  assert_true(f != NULL && f->type == HLS_MP_UINT && f->v.u == UINT64_MAX);
  const struct hls_mp_value *g = hls_mp_get(root, "g");
  assert_true(g != NULL && g->type == HLS_MP_MAP && g->len == 0);
  mpb_free(&b);
}

static void test_repack_of_lenient_input_is_canonical(void **state) {
  (void)state;
  /* {"b": uint16 5, "a": str8 "x", "c": int8 3}: three non-canonical
   * features; re-packing fixes the encodings (not the key order). */
  const uint8_t data[] = {0x83, 0xa1, 'b', 0xcd, 0x00, 0x05, 0xa1, 'a', 0xd9, 0x01, 'x',
                          0xa1, 'c', 0xd0, 0x03};
  const uint8_t want[] = {0x83, 0xa1, 'b', 0x05, 0xa1, 'a', 0xa1, 'x', 0xa1, 'c', 0x03};
  struct hls_mp_tree tree;
  assert_int_equal(hls_mp_tree_decode(&tree, data, sizeof data, false, 100, NULL), 0);
  msgpack_sbuffer out;
  repack(&tree.root, &out);
  assert_int_equal(out.size, sizeof want);
  assert_memory_equal(out.data, want, sizeof want);
  msgpack_sbuffer_destroy(&out);
  hls_mp_tree_free(&tree);
}

/* --- accessors ----------------------------------------------------------- */

static void test_get_and_str_eq(void **state) {
  (void)state;
  struct mpb b;
  const struct hls_mp_value *m = mpb_build(&b, "M s s s i s n", 3, "name", "Ann", "age", 42LL, "gone");
  assert_true(hls_mp_str_eq(hls_mp_get(m, "name"), "Ann"));
  assert_false(hls_mp_str_eq(hls_mp_get(m, "name"), "An"));
  assert_false(hls_mp_str_eq(hls_mp_get(m, "name"), "Anne"));
  assert_false(hls_mp_str_eq(hls_mp_get(m, "age"), "42"));
  assert_false(hls_mp_str_eq(NULL, "x"));
  assert_null(hls_mp_get(m, "nam"));
  assert_null(hls_mp_get(m, "names"));
  assert_null(hls_mp_get(m, ""));
  assert_null(hls_mp_get(NULL, "name"));
  assert_null(hls_mp_get(hls_mp_get(m, "name"), "name")); /* not a map */
  const struct hls_mp_value *gone = hls_mp_get(m, "gone");
  assert_non_null(gone);
  assert_int_equal(gone->type, HLS_MP_NIL);
  mpb_free(&b);
}

static void test_typed_getters(void **state) {
  (void)state;
  struct mpb b;
  const struct hls_mp_value *m =
      mpb_build(&b, "M s s s i s i s u s t s n s s s i", 8, "str", "hello", "neg", -7LL, "pos", 9LL, "huge",
                (unsigned long long)UINT64_MAX, "flag", "nil", "num_as_str", "12", "big", (long long)INT64_MAX);
  struct hls_why why = {{0}};
  const char *s = "untouched";
  uint32_t len = 1234;
  int64_t i = 1234;
  bool flag = false, present = true;

  assert_int_equal(hls_mp_get_str(m, "str", &s, &len, &present, &why), 0);
  assert_true(present);
  assert_int_equal(len, 5);
  assert_memory_equal(s, "hello", 5);
  /* Present is optional. */
  assert_int_equal(hls_mp_get_str(m, "str", &s, &len, NULL, &why), 0);

  /* Absent and nil leave *out untouched. */
  s = "untouched";
  len = 1234;
  present = true;
  assert_int_equal(hls_mp_get_str(m, "absent", &s, &len, &present, &why), 0);
  assert_false(present);
  assert_string_equal(s, "untouched");
  assert_int_equal(len, 1234);
  present = true;
  assert_int_equal(hls_mp_get_str(m, "nil", &s, &len, &present, &why), 0);
  assert_false(present);
  assert_string_equal(s, "untouched");
  present = true;
  assert_int_equal(hls_mp_get_i64(m, "nil", &i, &present, &why), 0);
  assert_false(present);
  assert_true(i == 1234);
  present = true;
  assert_int_equal(hls_mp_get_bool(m, "absent", &flag, &present, &why), 0);
  assert_false(present);
  assert_false(flag);

  /* Wrong types name the key. */
  assert_int_equal(hls_mp_get_str(m, "neg", &s, &len, &present, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "neg"));
  assert_int_equal(hls_mp_get_i64(m, "num_as_str", &i, &present, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "num_as_str"));
  assert_true(i == 1234);
  assert_int_equal(hls_mp_get_i64(m, "huge", &i, &present, &why), HLS_EINVAL); /* > INT64_MAX */
  assert_non_null(strstr(why.text, "huge"));
  assert_int_equal(hls_mp_get_bool(m, "pos", &flag, &present, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "pos"));

  assert_int_equal(hls_mp_get_i64(m, "neg", &i, &present, &why), 0);
  assert_true(present);
  assert_true(i == -7);
  assert_int_equal(hls_mp_get_i64(m, "pos", &i, NULL, &why), 0);
  assert_true(i == 9);
  assert_int_equal(hls_mp_get_i64(m, "big", &i, NULL, &why), 0);
  assert_true(i == INT64_MAX);
  assert_int_equal(hls_mp_get_bool(m, "flag", &flag, &present, &why), 0);
  assert_true(present);
  assert_true(flag);

  /* A non-map container has no members. */
  present = true;
  assert_int_equal(hls_mp_get_str(hls_mp_get(m, "str"), "str", &s, &len, &present, NULL), 0);
  assert_false(present);
  mpb_free(&b);
}

static void test_strdup(void **state) {
  (void)state;
  struct mpb b;
  const struct hls_mp_value *a = mpb_build(&b, "A s S S i", 4, "caf\xc3\xa9", "a\0b", (size_t)3, "", (size_t)0, 5LL);
  char *s = hls_mp_strdup(&a->v.items[0]);
  assert_non_null(s);
  assert_string_equal(s, "caf\xc3\xa9");
  free(s);
  assert_null(hls_mp_strdup(&a->v.items[1])); /* embedded NUL */
  s = hls_mp_strdup(&a->v.items[2]);
  assert_non_null(s);
  assert_string_equal(s, "");
  free(s);
  assert_null(hls_mp_strdup(&a->v.items[3])); /* not a string */
  assert_null(hls_mp_strdup(NULL));
  mpb_free(&b);
}

/* --- packing helpers ----------------------------------------------------- */

static void test_pack_helpers(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  assert_int_equal(hls_mp_pack_cstr(&pk, NULL), 0);
  assert_int_equal(hls_mp_pack_cstr(&pk, ""), 0);
  assert_int_equal(hls_mp_pack_strn(&pk, "abcdef", 3), 0);
  assert_int_equal(hls_mp_pack_kv_str(&pk, "k", NULL), 0);
  assert_int_equal(hls_mp_pack_kv_str(&pk, "k", "v"), 0);
  assert_int_equal(hls_mp_pack_kv_i64(&pk, "n", -1), 0);
  assert_int_equal(hls_mp_pack_kv_i64(&pk, "n", 200), 0);
  assert_int_equal(hls_mp_pack_kv_i64(&pk, "n", 70000), 0);
  assert_int_equal(hls_mp_pack_kv_bool(&pk, "t", true), 0);
  assert_int_equal(hls_mp_pack_kv_bool(&pk, "f", false), 0);
  const uint8_t want[] = {0xc0, 0xa0, 0xa3, 'a', 'b', 'c', 0xa1, 'k', 0xc0, 0xa1, 'k', 0xa1, 'v',
                          0xa1, 'n', 0xff, 0xa1, 'n', 0xcc, 200, 0xa1, 'n', 0xce, 0x00, 0x01, 0x11,
                          0x70, 0xa1, 't', 0xc3, 0xa1, 'f', 0xc2};
  assert_int_equal(sb.size, sizeof want);
  assert_memory_equal(sb.data, want, sizeof want);
  msgpack_sbuffer_destroy(&sb);
}

static void test_pack_value_refuses_unknown_type(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  struct hls_mp_value ext = {.type = HLS_MP_EXT};
  assert_int_equal(hls_mp_pack_value(&pk, &ext), HLS_EUNSUPPORTED);
  msgpack_sbuffer_destroy(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_int_shortest_form_rules),
      cmocka_unit_test(test_int_readers_follow_mode),
      cmocka_unit_test(test_int_sign_and_range_errors),
      cmocka_unit_test(test_str_shortest_length_rules),
      cmocka_unit_test(test_bin_shortest_length_rules),
      cmocka_unit_test(test_array_shortest_count_rules),
      cmocka_unit_test(test_map_shortest_count_rules),
      cmocka_unit_test(test_fix_forms_are_canonical),
      cmocka_unit_test(test_reader_noncanonical_leaves_cursor),
      cmocka_unit_test(test_floats_refused_in_canonical_mode),
      cmocka_unit_test(test_map_key_order),
      cmocka_unit_test(test_counts_beyond_input_are_truncated),
      cmocka_unit_test(test_truncated_values),
      cmocka_unit_test(test_invalid_utf8_in_strings),
      cmocka_unit_test(test_trailing_bytes),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_max_values),
      cmocka_unit_test(test_duplicate_keys_refused_in_lenient_mode),
      cmocka_unit_test(test_ext_types_refused),
      cmocka_unit_test(test_reserved_byte_and_bad_keys),
      cmocka_unit_test(test_peek_types),
      cmocka_unit_test(test_reader_sequence),
      cmocka_unit_test(test_skip_checks_what_it_skips),
      cmocka_unit_test(test_round_trip_integers),
      cmocka_unit_test(test_round_trip_strings_and_bins),
      cmocka_unit_test(test_round_trip_containers),
      cmocka_unit_test(test_round_trip_nested_document),
      cmocka_unit_test(test_repack_of_lenient_input_is_canonical),
      cmocka_unit_test(test_get_and_str_eq),
      cmocka_unit_test(test_typed_getters),
      cmocka_unit_test(test_strdup),
      cmocka_unit_test(test_pack_helpers),
      cmocka_unit_test(test_pack_value_refuses_unknown_type),
  };
  return cmocka_run_group_tests_name("mp", tests, NULL, NULL);
}
