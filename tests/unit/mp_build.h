/* Test helper: build msgpack with msgpack-c from a short format string and
 * decode it with hls_mp_tree_decode. Include after <cmocka.h>.
 *
 * Format letters (spaces ignored):
 *   M n   map of n entries        A n   array of n items
 *   s p   string (const char *)   S p n string of n bytes (may hold NUL / bad UTF-8)
 *   i v   int64 (long long)       u v   uint64 (unsigned long long)
 *   n     nil                     t f   true / false
 *   b p n binary of n bytes                                                    */
#ifndef HLS_TEST_MP_BUILD_H
#define HLS_TEST_MP_BUILD_H

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "hls_limits.h"
#include "mp.h"

struct mpb {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  struct hls_mp_tree tree;
  bool decoded;
};

static inline void mpb_init(struct mpb *b) {
  memset(b, 0, sizeof *b);
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static inline void mpb_free(struct mpb *b) {
  if (b->decoded) hls_mp_tree_free(&b->tree);
  msgpack_sbuffer_destroy(&b->sb);
  memset(b, 0, sizeof *b);
}

static inline void mpb_vpack(msgpack_packer *pk, const char *fmt, va_list ap) {
  for (const char *f = fmt; *f; f++) {
    int rc = 0;
    switch (*f) {
      case ' ': continue;
      case 'M': rc = msgpack_pack_map(pk, (size_t)va_arg(ap, int)); break;
      case 'A': rc = msgpack_pack_array(pk, (size_t)va_arg(ap, int)); break;
      case 's': {
        const char *s = va_arg(ap, const char *);
        size_t n = strlen(s);
        rc = msgpack_pack_str(pk, n);
        if (rc == 0 && n > 0) rc = msgpack_pack_str_body(pk, s, n);
        break;
      }
      case 'S': {
        const char *s = va_arg(ap, const char *);
        size_t n = va_arg(ap, size_t);
        rc = msgpack_pack_str(pk, n);
        if (rc == 0 && n > 0) rc = msgpack_pack_str_body(pk, s, n);
        break;
      }
      case 'b': {
        const void *p = va_arg(ap, const void *);
        size_t n = va_arg(ap, size_t);
        rc = msgpack_pack_bin(pk, n);
        if (rc == 0 && n > 0) rc = msgpack_pack_bin_body(pk, p, n);
        break;
      }
      case 'i': rc = msgpack_pack_int64(pk, (int64_t)va_arg(ap, long long)); break;
      case 'u': rc = msgpack_pack_uint64(pk, (uint64_t)va_arg(ap, unsigned long long)); break;
      case 'n': rc = msgpack_pack_nil(pk); break;
      case 't': rc = msgpack_pack_true(pk); break;
      case 'f': rc = msgpack_pack_false(pk); break;
      default: fail_msg("mp_build: bad format letter '%c'", *f);
    }
    assert_int_equal(rc, 0);
  }
}

static inline void mpb_pack(msgpack_packer *pk, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(pk, fmt, ap);
  va_end(ap);
}

/* Decode what was packed into b (lenient unless canonical), returning
 * the root; fails the test on a decode error. */
static inline const struct hls_mp_value *mpb_decode(struct mpb *b, bool canonical) {
  struct hls_why why = {{0}};
  assert_false(b->decoded);
  int rc = hls_mp_tree_decode(&b->tree, b->sb.data, b->sb.size, canonical, 10000000, &why);
  if (rc != 0) fail_msg("decode failed: %s (%s)", hls_err_name(rc), why.text);
  b->decoded = true;
  return &b->tree.root;
}

/* Pack fmt into a fresh b and decode it leniently. */
static inline const struct hls_mp_value *mpb_build(struct mpb *b, const char *fmt, ...) {
  mpb_init(b);
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&b->pk, fmt, ap);
  va_end(ap);
  return mpb_decode(b, false);
}

#endif
