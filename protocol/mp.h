/* Strict MessagePack reading, and packing helpers over msgpack-c.
 *
 * Why our own reader: msgpack-c's unpacker allocates array and map storage
 * from the element count in the header before checking that the input can
 * hold that many elements (a 6-byte input can ask for 64 GiB), and it
 * cannot tell a canonical encoding from a padded one. Both matter for data
 * from peers and clients. Packing uses msgpack-c, whose packer always
 * chooses the shortest form and so produces canonical bytes.
 *
 * Canonical form (used for every signed or hashed byte string): integers,
 * string/binary lengths and container counts in their shortest encoding;
 * non-negative integers as unsigned; no floats; map keys strictly
 * increasing by their encoded bytes. Strings are always valid UTF-8. */
#ifndef HLS_MP_H
#define HLS_MP_H

#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum hls_mp_type {
  HLS_MP_NIL,
  HLS_MP_BOOL,
  HLS_MP_UINT, /* non-negative integer */
  HLS_MP_INT,  /* negative integer */
  HLS_MP_FLOAT,
  HLS_MP_STR,
  HLS_MP_BIN,
  HLS_MP_ARRAY,
  HLS_MP_MAP,
  HLS_MP_EXT,
};

/* A cursor over borrowed bytes. */
struct hls_mp_reader {
  const uint8_t *pos; /* borrowed */
  const uint8_t *end;
  bool canonical; /* reject non-canonical encodings */
};

void hls_mp_reader_init(struct hls_mp_reader *r, const void *data, size_t len, bool canonical);
static inline size_t hls_mp_remaining(const struct hls_mp_reader *r) {
  return (size_t)(r->end - r->pos);
}

/* Type of the next value, or a negative error at end of input / on an
 * unknown type byte. */
int hls_mp_peek(const struct hls_mp_reader *r) HLS_WARN_UNUSED;

/* Each reader consumes one value of the named type or returns an error
 * and leaves the cursor unchanged. Counts are checked against the bytes
 * left (each element takes at least one byte), so callers may size an
 * allocation from them. Strings and binaries are borrowed views. */
int hls_mp_read_nil(struct hls_mp_reader *r) HLS_WARN_UNUSED;
int hls_mp_read_bool(struct hls_mp_reader *r, bool *out) HLS_WARN_UNUSED;
int hls_mp_read_uint(struct hls_mp_reader *r, uint64_t *out) HLS_WARN_UNUSED;
int hls_mp_read_int(struct hls_mp_reader *r, int64_t *out) HLS_WARN_UNUSED;
int hls_mp_read_float(struct hls_mp_reader *r, double *out) HLS_WARN_UNUSED;
int hls_mp_read_str(struct hls_mp_reader *r, const char **out, uint32_t *len) HLS_WARN_UNUSED;
int hls_mp_read_bin(struct hls_mp_reader *r, const uint8_t **out, uint32_t *len) HLS_WARN_UNUSED;
int hls_mp_read_array(struct hls_mp_reader *r, uint32_t *count) HLS_WARN_UNUSED;
int hls_mp_read_map(struct hls_mp_reader *r, uint32_t *count) HLS_WARN_UNUSED;
/* Skip one whole value (nested up to HLS_MP_MAX_DEPTH). */
int hls_mp_skip(struct hls_mp_reader *r) HLS_WARN_UNUSED;

/* --- value trees -------------------------------------------------------- */

struct hls_mp_kv;

struct hls_mp_value {
  enum hls_mp_type type;
  uint32_t len; /* STR/BIN length, ARRAY/MAP count */
  union {
    bool b;
    uint64_t u;
    int64_t i;
    double f;
    const char *str;             /* borrowed from the input, not NUL-terminated */
    const uint8_t *bin;          /* borrowed from the input */
    struct hls_mp_value *items;  /* ARRAY */
    struct hls_mp_kv *kv;        /* MAP */
  } v;
};

struct hls_mp_kv {
  struct hls_mp_value key;
  struct hls_mp_value val;
};

/* A decoded tree. Node storage is owned by the tree; strings and binaries
 * point into the input, which must outlive it. */
struct hls_mp_tree {
  struct hls_mp_value root;
  void *storage; /* owned */
};

/* Decode exactly one value filling all of data (trailing bytes are an
 * error). At most max_values values in all. Map keys must be strings. */
int hls_mp_tree_decode(struct hls_mp_tree *tree, const void *data, size_t len, bool canonical,
                       size_t max_values, struct hls_why *why) HLS_WARN_UNUSED;
void hls_mp_tree_free(struct hls_mp_tree *tree);

/* Value of key in map (NULL if absent or m is not a map). */
const struct hls_mp_value *hls_mp_get(const struct hls_mp_value *m, const char *key);
bool hls_mp_str_eq(const struct hls_mp_value *v, const char *s);

/* Typed accessors for a map member. Absent or nil members leave *out
 * untouched and return 0 with *present=false when present is non-NULL;
 * a member of the wrong type is an HLS_EINVAL naming the key. */
int hls_mp_get_str(const struct hls_mp_value *m, const char *key, const char **out, uint32_t *len,
                   bool *present, struct hls_why *why) HLS_WARN_UNUSED;
int hls_mp_get_i64(const struct hls_mp_value *m, const char *key, int64_t *out, bool *present,
                   struct hls_why *why) HLS_WARN_UNUSED;
int hls_mp_get_bool(const struct hls_mp_value *m, const char *key, bool *out, bool *present,
                    struct hls_why *why) HLS_WARN_UNUSED;
/* Copy a STR value into a fresh NUL-terminated string (NULL on OOM). The
 * string cannot contain NUL: strings with NUL bytes are refused. */
char *hls_mp_strdup(const struct hls_mp_value *v);

/* --- packing (msgpack-c) ------------------------------------------------ */

int hls_mp_pack_cstr(msgpack_packer *pk, const char *s);
int hls_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len);
/* A str key followed by a value. NULL strings pack as nil. */
int hls_mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
int hls_mp_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
int hls_mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);
/* Re-pack a decoded value. */
int hls_mp_pack_value(msgpack_packer *pk, const struct hls_mp_value *v);

#endif
