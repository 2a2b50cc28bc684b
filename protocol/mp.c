#include "mp.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "hls_limits.h"

void hls_mp_reader_init(struct hls_mp_reader *r, const void *data, size_t len, bool canonical) {
  r->pos = data;
  r->end = len > 0 ? r->pos + len : r->pos; /* NULL + 0 is undefined; empty sbuffers have NULL data */
  r->canonical = canonical;
}

static uint64_t be_read(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

int hls_mp_peek(const struct hls_mp_reader *r) {
  if (r->pos >= r->end) return HLS_ETRUNCATED;
  uint8_t b = *r->pos;
  if (b <= 0x7f) return HLS_MP_UINT;
  if (b <= 0x8f) return HLS_MP_MAP;
  if (b <= 0x9f) return HLS_MP_ARRAY;
  if (b <= 0xbf) return HLS_MP_STR;
  if (b >= 0xe0) return HLS_MP_INT;
  switch (b) {
    case 0xc0: return HLS_MP_NIL;
    case 0xc2: case 0xc3: return HLS_MP_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return HLS_MP_BIN;
    case 0xc7: case 0xc8: case 0xc9:
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return HLS_MP_EXT;
    case 0xca: case 0xcb: return HLS_MP_FLOAT;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: return HLS_MP_UINT;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return HLS_MP_INT; /* sign decided on read */
    case 0xd9: case 0xda: case 0xdb: return HLS_MP_STR;
    case 0xdc: case 0xdd: return HLS_MP_ARRAY;
    case 0xde: case 0xdf: return HLS_MP_MAP;
    default: return HLS_EMALFORMED; /* 0xc1 is never used */
  }
}

/* Decode the integer at r->pos without consuming it. *is_signed_form says
 * whether it used a signed encoding; *neg whether the value is negative
 * (then *sv holds it, else *uv). Returns bytes used or an error. */
static int int_decode(const struct hls_mp_reader *r, uint64_t *uv, int64_t *sv, bool *neg) {
  size_t avail = hls_mp_remaining(r);
  if (avail < 1) return HLS_ETRUNCATED;
  uint8_t b = r->pos[0];
  if (b <= 0x7f) { *uv = b; *neg = false; return 1; }
  if (b >= 0xe0) { *sv = (int8_t)b; *neg = true; return 1; }
  size_t n;
  bool is_signed;
  switch (b) {
    case 0xcc: n = 1; is_signed = false; break;
    case 0xcd: n = 2; is_signed = false; break;
    case 0xce: n = 4; is_signed = false; break;
    case 0xcf: n = 8; is_signed = false; break;
    case 0xd0: n = 1; is_signed = true; break;
    case 0xd1: n = 2; is_signed = true; break;
    case 0xd2: n = 4; is_signed = true; break;
    case 0xd3: n = 8; is_signed = true; break;
    default: return HLS_EINVAL;
  }
  if (avail < 1 + n) return HLS_ETRUNCATED;
  uint64_t raw = be_read(r->pos + 1, n);
  if (!is_signed) {
    *uv = raw;
    *neg = false;
    /* Shortest form: uint8 only above fixint, uintN only above uintN/2. */
    if (r->canonical) {
      uint64_t floor = n == 1 ? 0x80 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000ull;
      if (raw < floor) return HLS_ENONCANON;
    }
    return (int)(1 + n);
  }
  int64_t v;
  switch (n) {
    case 1: v = (int8_t)raw; break;
    case 2: v = (int16_t)raw; break;
    case 4: v = (int32_t)raw; break;
    default: v = (int64_t)raw; break;
  }
  if (v >= 0) {
    if (r->canonical) return HLS_ENONCANON; /* non-negative must be unsigned */
    *uv = (uint64_t)v;
    *neg = false;
    return (int)(1 + n);
  }
  if (r->canonical) {
    int64_t floor = n == 1 ? -32 : n == 2 ? -128 : n == 4 ? -32768 : -2147483648ll;
    if (v >= floor) return HLS_ENONCANON;
  }
  *sv = v;
  *neg = true;
  return (int)(1 + n);
}

int hls_mp_read_uint(struct hls_mp_reader *r, uint64_t *out) {
  uint64_t uv = 0;
  int64_t sv = 0;
  bool neg = false;
  int used = int_decode(r, &uv, &sv, &neg);
  if (used < 0) return used;
  if (neg) return HLS_EINVAL;
  *out = uv;
  r->pos += used;
  return 0;
}

int hls_mp_read_int(struct hls_mp_reader *r, int64_t *out) {
  uint64_t uv = 0;
  int64_t sv = 0;
  bool neg = false;
  int used = int_decode(r, &uv, &sv, &neg);
  if (used < 0) return used;
  if (!neg && uv > (uint64_t)INT64_MAX) return HLS_EINVAL;
  *out = neg ? sv : (int64_t)uv;
  r->pos += used;
  return 0;
}

int hls_mp_read_nil(struct hls_mp_reader *r) {
  if (r->pos >= r->end) return HLS_ETRUNCATED;
  if (*r->pos != 0xc0) return HLS_EINVAL;
  r->pos++;
  return 0;
}

int hls_mp_read_bool(struct hls_mp_reader *r, bool *out) {
  if (r->pos >= r->end) return HLS_ETRUNCATED;
  if (*r->pos != 0xc2 && *r->pos != 0xc3) return HLS_EINVAL;
  *out = *r->pos == 0xc3;
  r->pos++;
  return 0;
}

int hls_mp_read_float(struct hls_mp_reader *r, double *out) {
  size_t avail = hls_mp_remaining(r);
  if (avail < 1) return HLS_ETRUNCATED;
  uint8_t b = *r->pos;
  if (b != 0xca && b != 0xcb) return HLS_EINVAL;
  if (r->canonical) return HLS_ENONCANON;
  size_t n = b == 0xca ? 4 : 8;
  if (avail < 1 + n) return HLS_ETRUNCATED;
  uint64_t raw = be_read(r->pos + 1, n);
  if (n == 4) {
    uint32_t raw32 = (uint32_t)raw;
    float f;
    memcpy(&f, &raw32, sizeof f);
    *out = f;
  } else {
    double d;
    memcpy(&d, &raw, sizeof d);
    *out = d;
  }
  r->pos += 1 + n;
  return 0;
}

/* Read a length-prefixed header: the caller says which byte ranges mean
 * what. Returns header size or an error. */
static int len_header(const struct hls_mp_reader *r, uint8_t fix_lo, uint8_t fix_hi, uint8_t b8,
                      uint8_t b16, uint8_t b32, uint32_t fix_max, uint32_t *len) {
  size_t avail = hls_mp_remaining(r);
  if (avail < 1) return HLS_ETRUNCATED;
  uint8_t b = *r->pos;
  if (fix_hi != 0 && b >= fix_lo && b <= fix_hi) {
    *len = (uint32_t)(b - fix_lo);
    return 1;
  }
  size_t n;
  uint64_t floor;
  if (b8 != 0 && b == b8) {
    n = 1;
    floor = fix_max + 1; /* str8 only when fixstr cannot; bin8 is the shortest bin (fix_max+1 == 0) */
  } else if (b == b16) {
    n = 2;
    floor = b8 != 0 ? 0x100 : (uint64_t)fix_max + 1;
  } else if (b == b32) {
    n = 4;
    floor = 0x10000;
  } else {
    return HLS_EINVAL;
  }
  if (avail < 1 + n) return HLS_ETRUNCATED;
  uint64_t v = be_read(r->pos + 1, n);
  if (r->canonical && v < floor) return HLS_ENONCANON;
  *len = (uint32_t)v;
  return (int)(1 + n);
}

int hls_mp_read_str(struct hls_mp_reader *r, const char **out, uint32_t *len) {
  uint32_t n = 0;
  int h = len_header(r, 0xa0, 0xbf, 0xd9, 0xda, 0xdb, 31, &n);
  if (h < 0) return h;
  if (hls_mp_remaining(r) - (size_t)h < n) return HLS_ETRUNCATED;
  const uint8_t *s = r->pos + h;
  if (u8_check(s, n) != NULL) return HLS_EUTF8;
  *out = (const char *)s;
  *len = n;
  r->pos += (size_t)h + n;
  return 0;
}

int hls_mp_read_bin(struct hls_mp_reader *r, const uint8_t **out, uint32_t *len) {
  uint32_t n = 0;
  /* bin has no fix form; bin8 is the shortest, so any length is canonical
   * there. fix_max=UINT32_MAX makes the bin8 floor wrap to 0. */
  int h = len_header(r, 0, 0, 0xc4, 0xc5, 0xc6, UINT32_MAX, &n);
  if (h < 0) return h;
  if (hls_mp_remaining(r) - (size_t)h < n) return HLS_ETRUNCATED;
  *out = r->pos + h;
  *len = n;
  r->pos += (size_t)h + n;
  return 0;
}

static int container(struct hls_mp_reader *r, uint8_t fix_lo, uint8_t b16, uint8_t b32,
                     uint32_t per_item, uint32_t *count) {
  uint32_t n = 0;
  int h = len_header(r, fix_lo, (uint8_t)(fix_lo + 15), 0, b16, b32, 15, &n);
  if (h < 0) return h;
  /* Every element takes at least one byte: a count the input cannot hold
   * is refused here, before any caller sizes an allocation from it. */
  if ((uint64_t)n * per_item > hls_mp_remaining(r) - (size_t)h) return HLS_ETRUNCATED;
  *count = n;
  r->pos += h;
  return 0;
}

int hls_mp_read_array(struct hls_mp_reader *r, uint32_t *count) {
  return container(r, 0x90, 0xdc, 0xdd, 1, count);
}

int hls_mp_read_map(struct hls_mp_reader *r, uint32_t *count) {
  return container(r, 0x80, 0xde, 0xdf, 2, count);
}

/* --- trees --------------------------------------------------------------- */

struct tree_ctx {
  bool counting;
  size_t values;        /* values seen / capacity */
  size_t kvs;           /* map entries seen / capacity */
  size_t max_values;
  struct hls_mp_value *value_pool; /* fill mode */
  struct hls_mp_kv *kv_pool;
  size_t value_used, kv_used;
  struct hls_why *why;
};

static int key_cmp(const void *a, const void *b) {
  const struct hls_mp_value *ka = *(const struct hls_mp_value *const *)a;
  const struct hls_mp_value *kb = *(const struct hls_mp_value *const *)b;
  size_t n = ka->len < kb->len ? ka->len : kb->len;
  int c = memcmp(ka->v.str, kb->v.str, n);
  if (c != 0) return c;
  return (ka->len > kb->len) - (ka->len < kb->len);
}

/* Duplicate keys make a map ambiguous, so they are refused. */
static int check_duplicates(const struct hls_mp_kv *kv, uint32_t n, struct hls_why *why) {
  if (n < 2) return 0;
  if (n <= 8) {
    for (uint32_t i = 0; i < n; i++)
      for (uint32_t j = i + 1; j < n; j++)
        if (key_cmp(&(const struct hls_mp_value *){&kv[i].key},
                    &(const struct hls_mp_value *){&kv[j].key}) == 0)
          return hls_why_set(why, HLS_EMALFORMED, "duplicate map key");
    return 0;
  }
  const struct hls_mp_value **keys = malloc(sizeof *keys * n);
  if (keys == NULL) return HLS_ENOMEM;
  for (uint32_t i = 0; i < n; i++) keys[i] = &kv[i].key;
  qsort(keys, n, sizeof *keys, key_cmp);
  int rc = 0;
  for (uint32_t i = 1; i < n && rc == 0; i++)
    if (key_cmp(&keys[i - 1], &keys[i]) == 0)
      rc = hls_why_set(why, HLS_EMALFORMED, "duplicate map key");
  free(keys);
  return rc;
}

static int tree_value(struct hls_mp_reader *r, struct tree_ctx *ctx, struct hls_mp_value *out,
                      int depth) {
  if (depth > HLS_MP_MAX_DEPTH)
    return hls_why_set(ctx->why, HLS_ETOOBIG, "nested deeper than %d", HLS_MP_MAX_DEPTH);
  if (ctx->counting) {
    if (++ctx->values > ctx->max_values)
      return hls_why_set(ctx->why, HLS_ETOOBIG, "more than %zu values", ctx->max_values);
  }
  struct hls_mp_value scratch;
  struct hls_mp_value *v = out != NULL ? out : &scratch;
  memset(v, 0, sizeof *v);
  int type = hls_mp_peek(r);
  if (type < 0) return type;
  int rc;
  switch (type) {
    case HLS_MP_NIL:
      v->type = HLS_MP_NIL;
      return hls_mp_read_nil(r);
    case HLS_MP_BOOL:
      v->type = HLS_MP_BOOL;
      return hls_mp_read_bool(r, &v->v.b);
    case HLS_MP_UINT:
    case HLS_MP_INT: {
      uint64_t uv = 0;
      int64_t sv = 0;
      bool neg = false;
      int used = int_decode(r, &uv, &sv, &neg);
      if (used < 0) return used;
      r->pos += used;
      if (neg) {
        v->type = HLS_MP_INT;
        v->v.i = sv;
      } else {
        v->type = HLS_MP_UINT;
        v->v.u = uv;
      }
      return 0;
    }
    case HLS_MP_FLOAT:
      v->type = HLS_MP_FLOAT;
      return hls_mp_read_float(r, &v->v.f);
    case HLS_MP_STR:
      v->type = HLS_MP_STR;
      return hls_mp_read_str(r, &v->v.str, &v->len);
    case HLS_MP_BIN:
      v->type = HLS_MP_BIN;
      return hls_mp_read_bin(r, &v->v.bin, &v->len);
    case HLS_MP_ARRAY: {
      uint32_t n;
      if ((rc = hls_mp_read_array(r, &n)) != 0) return rc;
      v->type = HLS_MP_ARRAY;
      v->len = n;
      struct hls_mp_value *items = NULL;
      if (!ctx->counting && n > 0) {
        items = ctx->value_pool + ctx->value_used;
        ctx->value_used += n;
      }
      v->v.items = items;
      for (uint32_t i = 0; i < n; i++)
        if ((rc = tree_value(r, ctx, items ? &items[i] : NULL, depth + 1)) != 0) return rc;
      return 0;
    }
    case HLS_MP_MAP: {
      uint32_t n;
      if ((rc = hls_mp_read_map(r, &n)) != 0) return rc;
      v->type = HLS_MP_MAP;
      v->len = n;
      struct hls_mp_kv *kv = NULL;
      if (ctx->counting) {
        ctx->kvs += n;
      } else if (n > 0) {
        kv = ctx->kv_pool + ctx->kv_used;
        ctx->kv_used += n;
      }
      v->v.kv = kv;
      const uint8_t *prev_key = NULL;
      size_t prev_len = 0;
      for (uint32_t i = 0; i < n; i++) {
        if (hls_mp_peek(r) != HLS_MP_STR)
          return hls_why_set(ctx->why, HLS_EMALFORMED, "map key is not a string");
        const uint8_t *key_start = r->pos;
        struct hls_mp_value key;
        if ((rc = hls_mp_read_str(r, &key.v.str, &key.len)) != 0) return rc;
        key.type = HLS_MP_STR;
        if (ctx->counting) ctx->values++;
        size_t key_len = (size_t)(r->pos - key_start);
        if (r->canonical && prev_key != NULL) {
          size_t m = prev_len < key_len ? prev_len : key_len;
          int c = memcmp(prev_key, key_start, m);
          if (c > 0 || (c == 0 && prev_len >= key_len))
            return hls_why_set(ctx->why, HLS_ENONCANON, "map keys not in canonical order");
        }
        prev_key = key_start;
        prev_len = key_len;
        if (kv != NULL) kv[i].key = key;
        if ((rc = tree_value(r, ctx, kv ? &kv[i].val : NULL, depth + 1)) != 0) return rc;
      }
      if (kv != NULL && !r->canonical) return check_duplicates(kv, n, ctx->why);
      return 0;
    }
    case HLS_MP_EXT:
    default:
      return hls_why_set(ctx->why, HLS_EUNSUPPORTED, "msgpack extension types are not used");
  }
}

int hls_mp_tree_decode(struct hls_mp_tree *tree, const void *data, size_t len, bool canonical,
                       size_t max_values, struct hls_why *why) {
  memset(tree, 0, sizeof *tree);
  struct hls_mp_reader r;
  struct tree_ctx ctx = {.counting = true, .max_values = max_values, .why = why};
  hls_mp_reader_init(&r, data, len, canonical);
  int rc = tree_value(&r, &ctx, NULL, 0);
  if (rc != 0) return rc;
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "%zu bytes after the value", hls_mp_remaining(&r));
  /* Second pass fills nodes; the first proved the input well-formed. */
  size_t value_bytes = sizeof(struct hls_mp_value) * ctx.values;
  size_t kv_bytes = sizeof(struct hls_mp_kv) * ctx.kvs;
  char *storage = malloc(value_bytes + kv_bytes + 1);
  if (storage == NULL) return HLS_ENOMEM;
  struct tree_ctx fill = {.counting = false,
                          .max_values = max_values,
                          .value_pool = (struct hls_mp_value *)(void *)storage,
                          .kv_pool = (struct hls_mp_kv *)(void *)(storage + value_bytes),
                          .why = why};
  hls_mp_reader_init(&r, data, len, canonical);
  rc = tree_value(&r, &fill, &tree->root, 0);
  if (rc != 0) {
    free(storage);
    memset(tree, 0, sizeof *tree);
    return rc;
  }
  tree->storage = storage;
  return 0;
}

void hls_mp_tree_free(struct hls_mp_tree *tree) {
  if (tree == NULL) return;
  free(tree->storage);
  tree->storage = NULL;
}

int hls_mp_skip(struct hls_mp_reader *r) {
  struct tree_ctx ctx = {.counting = true, .max_values = SIZE_MAX};
  return tree_value(r, &ctx, NULL, 0);
}

const struct hls_mp_value *hls_mp_get(const struct hls_mp_value *m, const char *key) {
  if (m == NULL || m->type != HLS_MP_MAP) return NULL;
  size_t klen = strlen(key);
  for (uint32_t i = 0; i < m->len; i++) {
    const struct hls_mp_value *k = &m->v.kv[i].key;
    if (k->len == klen && memcmp(k->v.str, key, klen) == 0) return &m->v.kv[i].val;
  }
  return NULL;
}

bool hls_mp_str_eq(const struct hls_mp_value *v, const char *s) {
  size_t n = strlen(s);
  return v != NULL && v->type == HLS_MP_STR && v->len == n && memcmp(v->v.str, s, n) == 0;
}

int hls_mp_get_str(const struct hls_mp_value *m, const char *key, const char **out, uint32_t *len,
                   bool *present, struct hls_why *why) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (present) *present = false;
  if (v == NULL || v->type == HLS_MP_NIL) return 0;
  if (v->type != HLS_MP_STR) return hls_why_set(why, HLS_EINVAL, "%s: expected a string", key);
  *out = v->v.str;
  *len = v->len;
  if (present) *present = true;
  return 0;
}

int hls_mp_get_i64(const struct hls_mp_value *m, const char *key, int64_t *out, bool *present,
                   struct hls_why *why) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (present) *present = false;
  if (v == NULL || v->type == HLS_MP_NIL) return 0;
  if (v->type == HLS_MP_INT) {
    *out = v->v.i;
  } else if (v->type == HLS_MP_UINT && v->v.u <= (uint64_t)INT64_MAX) {
    *out = (int64_t)v->v.u;
  } else {
    return hls_why_set(why, HLS_EINVAL, "%s: expected an integer", key);
  }
  if (present) *present = true;
  return 0;
}

int hls_mp_get_bool(const struct hls_mp_value *m, const char *key, bool *out, bool *present,
                    struct hls_why *why) {
  const struct hls_mp_value *v = hls_mp_get(m, key);
  if (present) *present = false;
  if (v == NULL || v->type == HLS_MP_NIL) return 0;
  if (v->type != HLS_MP_BOOL) return hls_why_set(why, HLS_EINVAL, "%s: expected true or false", key);
  *out = v->v.b;
  if (present) *present = true;
  return 0;
}

char *hls_mp_strdup(const struct hls_mp_value *v) {
  if (v == NULL || v->type != HLS_MP_STR) return NULL;
  if (memchr(v->v.str, '\0', v->len) != NULL) return NULL;
  char *s = malloc((size_t)v->len + 1);
  if (s == NULL) return NULL;
  memcpy(s, v->v.str, v->len);
  s[v->len] = '\0';
  return s;
}

/* --- packing ------------------------------------------------------------- */

int hls_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len) {
  if (len > UINT32_MAX) return HLS_ETOOBIG;
  if (msgpack_pack_str(pk, len) != 0) return HLS_ENOMEM;
  if (len > 0 && msgpack_pack_str_body(pk, s, len) != 0) return HLS_ENOMEM;
  return 0;
}

int hls_mp_pack_cstr(msgpack_packer *pk, const char *s) {
  if (s == NULL) return msgpack_pack_nil(pk) == 0 ? 0 : HLS_ENOMEM;
  return hls_mp_pack_strn(pk, s, strlen(s));
}

int hls_mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val) {
  int rc = hls_mp_pack_cstr(pk, key);
  return rc != 0 ? rc : hls_mp_pack_cstr(pk, val);
}

int hls_mp_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val) {
  int rc = hls_mp_pack_cstr(pk, key);
  if (rc != 0) return rc;
  /* msgpack_pack_int64 picks the shortest form, unsigned when >= 0. */
  return msgpack_pack_int64(pk, val) == 0 ? 0 : HLS_ENOMEM;
}

int hls_mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool val) {
  int rc = hls_mp_pack_cstr(pk, key);
  if (rc != 0) return rc;
  return (val ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) == 0 ? 0 : HLS_ENOMEM;
}

int hls_mp_pack_value(msgpack_packer *pk, const struct hls_mp_value *v) {
  int rc = 0;
  switch (v->type) {
    case HLS_MP_NIL: rc = msgpack_pack_nil(pk); break;
    case HLS_MP_BOOL: rc = v->v.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case HLS_MP_UINT: rc = msgpack_pack_uint64(pk, v->v.u); break;
    case HLS_MP_INT: rc = msgpack_pack_int64(pk, v->v.i); break;
    case HLS_MP_FLOAT: rc = msgpack_pack_double(pk, v->v.f); break;
    case HLS_MP_STR: return hls_mp_pack_strn(pk, v->v.str, v->len);
    case HLS_MP_BIN:
      rc = msgpack_pack_bin(pk, v->len);
      if (rc == 0 && v->len > 0) rc = msgpack_pack_bin_body(pk, v->v.bin, v->len);
      break;
    case HLS_MP_ARRAY:
      if (msgpack_pack_array(pk, v->len) != 0) return HLS_ENOMEM;
      for (uint32_t i = 0; i < v->len; i++)
        if ((rc = hls_mp_pack_value(pk, &v->v.items[i])) != 0) return rc;
      return 0;
    case HLS_MP_MAP:
      if (msgpack_pack_map(pk, v->len) != 0) return HLS_ENOMEM;
      for (uint32_t i = 0; i < v->len; i++) {
        if ((rc = hls_mp_pack_value(pk, &v->v.kv[i].key)) != 0) return rc;
        if ((rc = hls_mp_pack_value(pk, &v->v.kv[i].val)) != 0) return rc;
      }
      return 0;
    default: return HLS_EUNSUPPORTED;
  }
  return rc == 0 ? 0 : HLS_ENOMEM;
}
