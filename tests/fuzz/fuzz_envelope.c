/* hls_env_decode: every item a peer sends goes through it first.
 *
 * The input is decoded as an envelope; when accepted, it is verified,
 * stubbed, re-encoded and its body decoded by its type's decoder. Because
 * a mutated body no longer matches body_hash, the input is also given to
 * the body decoders directly, so they are fuzzed too. Beyond memory
 * safety, checks what envelope.h promises:
 *  - errors are the codes envelope.h lists, with a NUL-terminated why;
 *  - an accepted envelope is laid out as [header, bin 64, body | nil],
 *    its item id is hls_env_item_id(header, signature), and verification
 *    gives 0 or HLS_EBADSIG;
 *  - its stub decodes to the same header, signature and id without a
 *    body, verifies the same way, and hls_env_encode with the body gives
 *    back the input byte for byte;
 *  - a present body passes its typed decoder;
 *  - every body a decoder accepts re-packs to exactly its bytes (one byte
 *    form per body), and hls_env_build never signs what decode refuses.
 * Seeds (corpus/envelope/): the envelopes, stubs and bodies of
 * docs/test-vectors/envelopes.json, and single edits of them named for
 * what they break. */
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"

/* The codes envelope.h promises for decoding (plus running out of memory). */
static bool decode_code(int rc) {
  return rc == 0 || rc == HLS_ENONCANON || rc == HLS_ETRAILING || rc == HLS_ETRUNCATED || rc == HLS_ETOOBIG ||
         rc == HLS_EUNSUPPORTED || rc == HLS_EMALFORMED || rc == HLS_ENOMEM || rc == HLS_EBADSIG /* a fork's stubs */;
}

static bool same_bytes(const msgpack_sbuffer *sb, const void *data, size_t size) {
  return sb->size == size && (size == 0 || memcmp(sb->data, data, size) == 0);
}

/* Decode data as a body of type; when accepted, re-pack it and expect the
 * same bytes. Returns the decoder's code. */
static int body_round_trip(int type, const uint8_t *data, size_t size) {
  struct hls_why why = {{0}};
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  int rc, pack_rc = 0;
  switch (type) {
    case HLS_ENV_PROFILE: {
      struct hls_profile p;
      rc = hls_profile_decode(&p, data, size, &why);
      if (rc == 0) pack_rc = hls_profile_pack(&sb, &p);
      break;
    }
    case HLS_ENV_DIGEST: {
      struct hls_digest d;
      rc = hls_digest_decode(&d, data, size, &why);
      int wy = 0, ww = 0;
      int wrc = hls_digest_week(data, size, &wy, &ww, &why);
      FUZZ_CHECK(decode_code(wrc));
      if (rc == 0) {
        FUZZ_CHECK(d.n_cells <= HLS_DIGEST_MAX_CELLS && d.method.rounding >= 1);
        /* its head alone gives the same week */
        FUZZ_CHECK(wrc == 0 && wy == d.iso_year && ww == d.iso_week && ww >= 1 && ww <= 53);
        pack_rc = hls_digest_pack(&sb, &d);
      } else {
        FUZZ_CHECK(d.cells == NULL && d.n_cells == 0);
      }
      hls_digest_free(&d);
      break;
    }
    case HLS_ENV_STORY: {
      struct hls_story s;
      rc = hls_story_decode(&s, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(s.title[0] != '\0' && (s.tried == NULL || s.tried[0] != '\0'));
        pack_rc = hls_story_pack(&sb, &s);
      } else {
        FUZZ_CHECK(s.tried == NULL && s.learnt == NULL);
      }
      hls_story_free(&s);
      break;
    }
    case HLS_ENV_RECEIPT: {
      struct hls_receipt r;
      rc = hls_receipt_decode(&r, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(r.n_entries >= 1 && r.n_entries <= HLS_RECEIPT_MAX_ENTRIES);
        for (size_t i = 1; i < r.n_entries; i++) FUZZ_CHECK(hls_receipt_entry_cmp(&r.entries[i - 1], &r.entries[i]) < 0);
        pack_rc = hls_receipt_pack(&sb, &r);
      } else {
        FUZZ_CHECK(r.entries == NULL && r.n_entries == 0);
      }
      hls_receipt_free(&r);
      break;
    }
    case HLS_ENV_FORK: {
      struct hls_fork f;
      rc = hls_fork_decode(&f, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(f.seq >= 1 && f.a_len <= HLS_FORK_STUB_MAX && f.b_len <= HLS_FORK_STUB_MAX);
        pack_rc = hls_fork_pack(&sb, f.b, f.b_len, f.a, f.a_len); /* either order: the canonical one out */
      }
      break;
    }
    case HLS_ENV_VOUCH: {
      struct hls_vouch v;
      rc = hls_vouch_decode(&v, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(v.withdrawn == (v.place[0] == '\0'));
        pack_rc = hls_vouch_pack(&sb, &v);
      }
      break;
    }
    case HLS_ENV_REKEY: {
      struct hls_rekey r;
      rc = hls_rekey_decode(&r, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(r.epoch >= 1 && r.n_expelled <= HLS_REKEY_MAX_EXPELLED);
        for (size_t i = 1; i < r.n_expelled; i++) FUZZ_CHECK(memcmp(r.expelled[i - 1], r.expelled[i], 32) < 0);
        pack_rc = hls_rekey_pack(&sb, &r);
      }
      break;
    }
    case HLS_ENV_SUCCESSOR: {
      struct hls_successor su;
      rc = hls_successor_decode(&su, data, size, &why);
      if (rc == 0) pack_rc = hls_successor_pack(&sb, &su);
      break;
    }
    default: {
      struct hls_tombstone t;
      rc = hls_tombstone_decode(&t, data, size, &why);
      if (rc == 0) {
        FUZZ_CHECK(t.target_seq >= 1);
        pack_rc = hls_tombstone_pack(&sb, &t);
      }
      break;
    }
  }
  if (!decode_code(rc)) fprintf(stderr, "%s body: %s (%s)\n", hls_env_type_name(type), hls_err_name(rc), why.text);
  FUZZ_CHECK(decode_code(rc) && memchr(why.text, '\0', sizeof why.text) != NULL);
  FUZZ_CHECK(rc == hls_env_body_check(type, data, size, NULL));
  if (rc == 0) {
    if (pack_rc != 0 || !same_bytes(&sb, data, size))
      fprintf(stderr, "%s body of %zu bytes re-packs to %zu different bytes (rc %d)\n", hls_env_type_name(type), size,
              sb.size, pack_rc);
    FUZZ_CHECK(pack_rc == 0 && same_bytes(&sb, data, size));
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* Stub, verify and re-encode an accepted envelope. */
static void check_envelope(const struct hls_envelope *env, const uint8_t *data, size_t size) {
  FUZZ_CHECK(env->h.version == HLS_ENV_VERSION);
  FUZZ_CHECK(hls_env_type_known((uint64_t)env->h.type));
  FUZZ_CHECK(env->h.seq >= 1 && env->h.has_prev == (env->h.seq > 1));
  FUZZ_CHECK(env->h.audience == HLS_AUD_NETWORK || (env->h.audience == HLS_AUD_PEERS && env->h.type == HLS_ENV_STORY));
  FUZZ_CHECK(env->header_bytes == data + 1);
  FUZZ_CHECK(1 + env->header_len + 2 + HLS_SIG_BYTES + (env->body != NULL ? env->body_len : 1) == size);
  if (env->body != NULL) FUZZ_CHECK(env->body + env->body_len == data + size);
  uint8_t id[HLS_HASH_BYTES];
  hls_env_item_id(env->header_bytes, env->header_len, env->sig, id);
  FUZZ_CHECK(memcmp(id, env->id, sizeof id) == 0);
  int verified = hls_env_verify(env);
  FUZZ_CHECK(verified == 0 || verified == HLS_EBADSIG);
  FUZZ_CHECK(hls_env_check_link(env, env) == HLS_ECHAIN);

  msgpack_sbuffer stub;
  msgpack_sbuffer_init(&stub);
  FUZZ_CHECK(hls_env_encode_stub(&stub, env) == 0);
  struct hls_envelope stub_env;
  struct hls_why why = {{0}};
  FUZZ_CHECK(hls_env_decode(&stub_env, (const uint8_t *)stub.data, stub.size, &why) == 0);
  FUZZ_CHECK(stub_env.body == NULL && stub_env.body_len == 0);
  FUZZ_CHECK(memcmp(&stub_env.h, &env->h, sizeof env->h) == 0);
  FUZZ_CHECK(memcmp(stub_env.sig, env->sig, HLS_SIG_BYTES) == 0);
  FUZZ_CHECK(memcmp(stub_env.id, env->id, HLS_HASH_BYTES) == 0);
  FUZZ_CHECK(hls_env_verify(&stub_env) == verified);

  msgpack_sbuffer full;
  msgpack_sbuffer_init(&full);
  FUZZ_CHECK(hls_env_encode(&full, &stub_env, env->body, env->body_len) == 0);
  FUZZ_CHECK(same_bytes(env->body != NULL ? &full : &stub, data, size));
  if (env->body != NULL) {
    FUZZ_CHECK(body_round_trip(env->h.type, env->body, env->body_len) == 0);
    /* A different body is refused. */
    msgpack_sbuffer other;
    msgpack_sbuffer_init(&other);
    FUZZ_CHECK(hls_env_encode(&other, &stub_env, env->body, env->body_len - 1) == HLS_EINVAL && other.size == 0);
    msgpack_sbuffer_destroy(&other);
  }
  msgpack_sbuffer_destroy(&full);
  msgpack_sbuffer_destroy(&stub);
}

/* hls_env_build signs only what hls_env_decode accepts. data is a valid
 * body of body_type: built at seq 7 it must give an envelope that decodes
 * and verifies (a tombstone only if it targets an earlier seq); as any
 * other type it must be refused, with nothing appended. */
static void check_build(int body_type, const uint8_t *data, size_t size) {
  uint8_t seed[crypto_sign_SEEDBYTES] = {0x42}, pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  static const uint8_t prev[HLS_HASH_BYTES] = {1};
  FUZZ_CHECK(sodium_init() >= 0);
  crypto_sign_seed_keypair(pk, sk, seed);
  bool early_target = true;
  if (body_type == HLS_ENV_TOMBSTONE) {
    struct hls_tombstone t;
    FUZZ_CHECK(hls_tombstone_decode(&t, data, size, NULL) == 0);
    early_target = t.target_seq < 7;
  }
  if (body_type == HLS_ENV_FORK) { /* nobody reports its own fork */
    struct hls_fork f;
    FUZZ_CHECK(hls_fork_decode(&f, data, size, NULL) == 0);
    early_target = memcmp(f.origin, pk, sizeof pk) != 0;
  }
  if (body_type == HLS_ENV_SUCCESSOR) { /* only a successor the new key signed for this signer */
    struct hls_successor su;
    FUZZ_CHECK(hls_successor_decode(&su, data, size, NULL) == 0);
    early_target = hls_successor_verify(&su, pk, NULL) == 0;
  }
  if (body_type == HLS_ENV_VOUCH) { /* a vouch for its own signer is refused */
    struct hls_vouch v;
    FUZZ_CHECK(hls_vouch_decode(&v, data, size, NULL) == 0);
    early_target = memcmp(v.subject, pk, sizeof pk) != 0;
  }
  const int types[2] = {body_type, body_type % HLS_ENV_TYPE_MAX + 1};
  for (size_t i = 0; i < 2; i++) {
    int type = types[i];
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    int rc = hls_env_build(&out, type, sk, 7, prev, 1771232400000ull, HLS_AUD_NETWORK, data, size);
    if (type == body_type && early_target) {
      FUZZ_CHECK(rc == 0);
      struct hls_envelope env;
      FUZZ_CHECK(hls_env_decode(&env, (const uint8_t *)out.data, out.size, NULL) == 0);
      FUZZ_CHECK(hls_env_verify(&env) == 0 && memcmp(env.h.origin, pk, sizeof pk) == 0);
      FUZZ_CHECK(env.body_len == size && memcmp(env.body, data, size) == 0);
    } else {
      FUZZ_CHECK(rc == HLS_EINVAL && out.size == 0);
    }
    msgpack_sbuffer_destroy(&out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hls_envelope env;
  struct hls_why why = {{0}};
  int rc = hls_env_decode(&env, data, size, &why);
  if (!decode_code(rc)) fprintf(stderr, "envelope: %s (%s)\n", hls_err_name(rc), why.text);
  FUZZ_CHECK(decode_code(rc) && memchr(why.text, '\0', sizeof why.text) != NULL);
  if (rc == 0) check_envelope(&env, data, size);

  int body_type = 0;
  for (int type = HLS_ENV_PROFILE; type <= HLS_ENV_TYPE_MAX; type++)
    if (hls_env_type_known((uint64_t)type) && body_round_trip(type, data, size) == 0) {
      FUZZ_CHECK(body_type == 0); /* the seven layouts never overlap */
      body_type = type;
    }
  if (body_type != 0) check_build(body_type, data, size);
  return 0;
}
