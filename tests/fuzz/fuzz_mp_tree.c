/* hls_mp_tree_decode, the strict msgpack reader every decoder builds on.
 *
 * Beyond memory safety, checks what the reader promises:
 *  - canonical decoding accepts a subset of lenient decoding;
 *  - canonical form has exactly one encoding: re-packing a canonical tree
 *    with msgpack-c gives back the input bytes;
 *  - re-packing any tree is a fixed point (decode(pack(t)) packs the same);
 *  - hls_mp_skip and the streaming readers agree with the tree decoder. */
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "hls_limits.h"
#include "mp.h"

/* Small enough that the "too many values" path is reached by 4 KiB inputs. */
#define MAX_VALUES 1000

static void pack(const struct hls_mp_value *v, msgpack_sbuffer *sb) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  FUZZ_CHECK(hls_mp_pack_value(&pk, v) == 0);
}

static bool same_bytes(const msgpack_sbuffer *sb, const void *data, size_t size) {
  return sb->size == size && (size == 0 || memcmp(sb->data, data, size) == 0);
}

/* Read one value with the streaming API only. Returns 0 or the first
 * reader error. */
static int walk(struct hls_mp_reader *r, int depth) {
  if (depth > HLS_MP_MAX_DEPTH) return HLS_ETOOBIG;
  int type = hls_mp_peek(r);
  if (type < 0) return type;
  const struct hls_mp_reader before = *r;
  uint32_t n = 0;
  int rc;
  switch (type) {
    case HLS_MP_NIL: rc = hls_mp_read_nil(r); break;
    case HLS_MP_BOOL: {
      bool b;
      rc = hls_mp_read_bool(r, &b);
      break;
    }
    case HLS_MP_UINT: {
      uint64_t u;
      rc = hls_mp_read_uint(r, &u);
      break;
    }
    case HLS_MP_INT: {
      int64_t i;
      rc = hls_mp_read_int(r, &i);
      break;
    }
    case HLS_MP_FLOAT: {
      double f;
      rc = hls_mp_read_float(r, &f);
      break;
    }
    case HLS_MP_STR: {
      const char *s;
      rc = hls_mp_read_str(r, &s, &n);
      if (rc == 0) FUZZ_CHECK(s + n <= (const char *)r->end);
      break;
    }
    case HLS_MP_BIN: {
      const uint8_t *b;
      rc = hls_mp_read_bin(r, &b, &n);
      if (rc == 0) FUZZ_CHECK(b + n <= r->end);
      break;
    }
    case HLS_MP_ARRAY:
      if ((rc = hls_mp_read_array(r, &n)) != 0) break;
      FUZZ_CHECK(n <= hls_mp_remaining(r)); /* the promise callers size allocations by */
      for (uint32_t i = 0; i < n && rc == 0; i++) rc = walk(r, depth + 1);
      return rc;
    case HLS_MP_MAP:
      if ((rc = hls_mp_read_map(r, &n)) != 0) break;
      FUZZ_CHECK((uint64_t)n * 2 <= hls_mp_remaining(r));
      for (uint32_t i = 0; i < 2 * n && rc == 0; i++) rc = walk(r, depth + 1);
      return rc;
    default: return HLS_EUNSUPPORTED; /* ext: no reader, as in the tree decoder */
  }
  /* Readers consume a value or leave the cursor where it was. */
  if (rc != 0) FUZZ_CHECK(r->pos == before.pos);
  return rc;
}

static void use_accessors(const struct hls_mp_value *root) {
  struct hls_why why = {{0}};
  const char *s = NULL;
  uint32_t len = 0;
  int64_t i = 0;
  bool b = false, present = false;
  /* Absent and nil members are not errors; wrong types are. */
  const struct hls_mp_value *v = hls_mp_get(root, "cmd");
  int rc = hls_mp_get_str(root, "cmd", &s, &len, &present, &why);
  FUZZ_CHECK(rc == 0 ? present == (v != NULL && v->type == HLS_MP_STR) : rc == HLS_EINVAL);
  if (rc == 0 && present) FUZZ_CHECK(hls_mp_str_eq(v, "") == (len == 0) && s == v->v.str);
  rc = hls_mp_get_i64(root, "id", &i, &present, &why);
  FUZZ_CHECK(rc == 0 || rc == HLS_EINVAL);
  rc = hls_mp_get_bool(root, "ok", &b, &present, &why);
  FUZZ_CHECK(rc == 0 ? present == (hls_mp_get(root, "ok") != NULL && hls_mp_get(root, "ok")->type == HLS_MP_BOOL)
                     : rc == HLS_EINVAL);
  v = hls_mp_get(root, "title");
  char *copy = hls_mp_strdup(v);
  if (copy != NULL) FUZZ_CHECK(v->type == HLS_MP_STR && strlen(copy) == v->len);
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hls_why why = {{0}};
  struct hls_mp_tree canon, lenient;
  int rc_canon = hls_mp_tree_decode(&canon, data, size, true, MAX_VALUES, &why);
  FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL);
  int rc_lenient = hls_mp_tree_decode(&lenient, data, size, false, MAX_VALUES, &why);
  FUZZ_CHECK(rc_canon <= 0 && rc_lenient <= 0);
  if (rc_canon != 0) FUZZ_CHECK(canon.storage == NULL);
  if (rc_lenient != 0) FUZZ_CHECK(lenient.storage == NULL);

  if (rc_canon == 0) {
    FUZZ_CHECK(rc_lenient == 0);
    msgpack_sbuffer sb;
    pack(&canon.root, &sb);
    if (!same_bytes(&sb, data, size))
      fprintf(stderr, "canonical input of %zu bytes re-packs to %zu different bytes\n", size, sb.size);
    FUZZ_CHECK(same_bytes(&sb, data, size));
    msgpack_sbuffer_destroy(&sb);
    hls_mp_tree_free(&canon);
  }

  for (int canonical = 0; canonical <= 1; canonical++) {
    struct hls_mp_reader r;
    hls_mp_reader_init(&r, data, size, canonical);
    int rc_walk = walk(&r, 0);
    /* The tree decoder adds only limits and the map-key rules. */
    if ((canonical ? rc_canon : rc_lenient) == 0) FUZZ_CHECK(rc_walk == 0 && hls_mp_remaining(&r) == 0);
  }

  if (rc_lenient == 0) {
    struct hls_mp_reader r;
    hls_mp_reader_init(&r, data, size, false);
    FUZZ_CHECK(hls_mp_skip(&r) == 0 && hls_mp_remaining(&r) == 0);
    use_accessors(&lenient.root);

    msgpack_sbuffer once, twice;
    struct hls_mp_tree again;
    pack(&lenient.root, &once);
    FUZZ_CHECK(hls_mp_tree_decode(&again, once.data, once.size, false, MAX_VALUES, &why) == 0);
    pack(&again.root, &twice);
    FUZZ_CHECK(same_bytes(&twice, once.data, once.size));
    msgpack_sbuffer_destroy(&twice);
    msgpack_sbuffer_destroy(&once);
    hls_mp_tree_free(&again);
    hls_mp_tree_free(&lenient);
  }
  return 0;
}
