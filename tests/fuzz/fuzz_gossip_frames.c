/* The gossip frame decoders of protocol/gossip.h on arbitrary bytes:
 * hls_gossip_vector_decode, hls_gossip_items_decode (as ITEMS and as
 * BODIES), hls_gossip_ack_decode, hls_gossip_want_decode. The input is one
 * frame payload (no 4-byte length); every decoder gets it.
 *
 * Beyond memory safety, checks:
 *  - errors are wire codes (non_canonical, trailing_bytes, truncated,
 *    too_large, unsupported, malformed), with a NUL-terminated why;
 *  - a decoder accepts only its own frame type (hls_frame_type agrees);
 *  - what a decoder accepts is within the limits (counts, head >= 1, seqs
 *    strictly ascending from 1, ITEMS not empty) and re-encodes to exactly
 *    the input (one byte form per frame), envelopes included.
 * Seeds (corpus/gossip_frames/): frames of every type built from the
 * chains of gossip_fixture.h, written by make_gossip_corpus. */
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "gossip.h"
#include "wire.h"

static bool wire_code(int rc) {
  return rc == HLS_ENONCANON || rc == HLS_ETRAILING || rc == HLS_ETRUNCATED || rc == HLS_ETOOBIG ||
         rc == HLS_EUNSUPPORTED || rc == HLS_EMALFORMED;
}

static void check_error(int rc, const struct hls_why *why) {
  FUZZ_CHECK(wire_code(rc));
  FUZZ_CHECK(memchr(why->text, '\0', sizeof why->text) != NULL);
}

static void same(const msgpack_sbuffer *sb, const uint8_t *data, size_t size) {
  FUZZ_CHECK(sb->size == size && (size == 0 || memcmp(sb->data, data, size) == 0));
}

static void type_is(const uint8_t *data, size_t size, int want) {
  int type;
  FUZZ_CHECK(hls_frame_type(data, size, &type) == 0 && type == want);
}

#define PK(x) FUZZ_CHECK((x) == 0)

static void vector(const uint8_t *data, size_t size) {
  static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_VECTOR];
  struct hls_why why;
  bool complete;
  size_t n = 0;
  memset(&why, 'x', sizeof why);
  int rc = hls_gossip_vector_decode(data, size, &complete, ent, &n, &why);
  if (rc != 0) {
    check_error(rc, &why);
    return;
  }
  type_is(data, size, HLS_GF_VECTOR);
  FUZZ_CHECK(n <= HLS_GOSSIP_MAX_VECTOR);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 3));
  PK(msgpack_pack_uint32(&pk, HLS_GF_VECTOR));
  PK(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(ent[i].head >= 1);
    FUZZ_CHECK(ent[i].origin >= data && ent[i].origin + HLS_KEY_BYTES <= data + size);
    PK(msgpack_pack_array(&pk, 2));
    PK(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    PK(msgpack_pack_bin_body(&pk, ent[i].origin, HLS_KEY_BYTES));
    PK(msgpack_pack_uint64(&pk, ent[i].head));
  }
  same(&sb, data, size);
  msgpack_sbuffer_destroy(&sb);
}

static void items(const uint8_t *data, size_t size, int type) {
  static struct hls_envelope envs[HLS_GOSSIP_MAX_BATCH];
  struct hls_why why;
  bool complete;
  size_t n = 0;
  memset(&why, 'x', sizeof why);
  int rc = hls_gossip_items_decode(data, size, type, &complete, envs, &n, &why);
  if (rc != 0) {
    check_error(rc, &why);
    return;
  }
  type_is(data, size, type);
  FUZZ_CHECK(n <= HLS_GOSSIP_MAX_BATCH);
  if (type == HLS_GF_ITEMS) FUZZ_CHECK(n >= 1 && complete);
  msgpack_sbuffer sb, env;
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_init(&env);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, type == HLS_GF_ITEMS ? 2 : 3));
  PK(msgpack_pack_uint32(&pk, (uint32_t)type));
  if (type == HLS_GF_BODIES) PK(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    env.size = 0;
    if (envs[i].body != NULL) PK(hls_env_encode(&env, &envs[i], envs[i].body, envs[i].body_len));
    else PK(hls_env_encode_stub(&env, &envs[i]));
    PK(msgpack_pack_bin(&pk, env.size));
    PK(msgpack_pack_bin_body(&pk, env.data, env.size));
  }
  same(&sb, data, size);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&env);
}

static void ack(const uint8_t *data, size_t size) {
  struct hls_why why;
  static struct hls_gossip_vector_entry ent[HLS_GOSSIP_MAX_BATCH];
  size_t n;
  memset(&why, 'x', sizeof why);
  int rc = hls_gossip_ack_decode(data, size, ent, &n, &why);
  if (rc != 0) {
    check_error(rc, &why);
    return;
  }
  type_is(data, size, HLS_GF_ACK);
  FUZZ_CHECK(n <= HLS_GOSSIP_MAX_BATCH);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint32(&pk, HLS_GF_ACK));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(ent[i].origin >= data && ent[i].origin + HLS_KEY_BYTES <= data + size);
    PK(msgpack_pack_array(&pk, 2));
    PK(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    PK(msgpack_pack_bin_body(&pk, ent[i].origin, HLS_KEY_BYTES));
    PK(msgpack_pack_uint64(&pk, ent[i].head));
  }
  same(&sb, data, size);
  msgpack_sbuffer_destroy(&sb);
}

static void want(const uint8_t *data, size_t size) {
  static uint64_t seqs[HLS_GOSSIP_MAX_WANT];
  struct hls_why why;
  size_t n = 0;
  memset(&why, 'x', sizeof why);
  int rc = hls_gossip_want_decode(data, size, seqs, &n, &why);
  if (rc != 0) {
    check_error(rc, &why);
    return;
  }
  type_is(data, size, HLS_GF_WANT);
  FUZZ_CHECK(n >= 1 && n <= HLS_GOSSIP_MAX_WANT);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint32(&pk, HLS_GF_WANT));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(seqs[i] >= 1 && (i == 0 || seqs[i] > seqs[i - 1]));
    PK(msgpack_pack_uint64(&pk, seqs[i]));
  }
  same(&sb, data, size);
  msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vector(data, size);
  items(data, size, HLS_GF_ITEMS);
  items(data, size, HLS_GF_BODIES);
  ack(data, size);
  want(data, size);
  return 0;
}
