#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "text.h"

static const char *const type_names[] = {NULL,      "profile", "digest", "story", "tombstone",
                                          "receipt", "vouch",   "fork",   "rekey", "successor"};
static const char *const reason_names[] = {"consent_withdrawn", "consent_expired", "corrected", "record_deleted"};

bool hls_env_type_known(uint64_t type) {
  return type >= HLS_ENV_PROFILE && type <= HLS_ENV_TYPE_MAX && type_names[type] != NULL;
}

const char *hls_env_type_name(int type) {
  return type >= 0 && hls_env_type_known((uint64_t)type) ? type_names[type] : "unknown";
}

int hls_env_type_parse(const char *name, int *type) {
  for (int t = HLS_ENV_PROFILE; t <= HLS_ENV_TYPE_MAX; t++)
    if (type_names[t] != NULL && strcmp(type_names[t], name) == 0) {
      *type = t;
      return 0;
    }
  return HLS_EINVAL;
}

const char *hls_env_audience_name(int audience) {
  return audience == HLS_AUD_NETWORK ? "network" : audience == HLS_AUD_PEERS ? "peers" : "unknown";
}

const char *hls_body_state_name(int state) {
  return state == HLS_BODY_HELD ? "held" : state == HLS_BODY_STUB ? "stub" : state == HLS_BODY_ERASED ? "erased" : "?";
}

const char *hls_tomb_reason_name(int reason) {
  return reason >= 0 && reason <= HLS_TOMB_RECORD_DELETED ? reason_names[reason] : "unknown";
}

void hls_env_hash(const uint8_t *bytes, size_t len, uint8_t out[HLS_HASH_BYTES]) {
  crypto_generichash(out, HLS_HASH_BYTES, bytes, len, NULL, 0);
}

void hls_env_item_id(const uint8_t *header_bytes, size_t header_len, const uint8_t sig[HLS_SIG_BYTES],
                     uint8_t out[HLS_HASH_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HLS_HASH_BYTES);
  crypto_generichash_update(&st, header_bytes, header_len);
  crypto_generichash_update(&st, sig, HLS_SIG_BYTES);
  crypto_generichash_final(&st, out, HLS_HASH_BYTES);
}

/* --- small reader helpers (all canonical) --------------------------------- */

#define TRY(expr)              \
  do {                         \
    int try_rc_ = (expr);      \
    if (try_rc_ != 0) return try_rc_; \
  } while (0)

static int read_fixed_bin(struct hls_mp_reader *r, uint8_t *out, uint32_t want, const char *what, struct hls_why *why) {
  const uint8_t *b;
  uint32_t len;
  int rc = hls_mp_read_bin(r, &b, &len);
  if (rc != 0) return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "%s: expected %u bytes", what, want);
  if (len != want) return hls_why_set(why, HLS_EMALFORMED, "%s: %u bytes, expected %u", what, len, want);
  memcpy(out, b, want);
  return 0;
}

static int read_uint_max(struct hls_mp_reader *r, uint64_t max, uint64_t *out, const char *what, struct hls_why *why) {
  int rc = hls_mp_read_uint(r, out);
  if (rc != 0) return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "%s: expected an unsigned integer", what);
  if (*out > max) return hls_why_set(why, HLS_EMALFORMED, "%s: %llu is out of range", what, (unsigned long long)*out);
  return 0;
}

static int read_small(struct hls_mp_reader *r, int max, int *out, const char *what, struct hls_why *why) {
  uint64_t v;
  TRY(read_uint_max(r, (uint64_t)max, &v, what, why));
  *out = (int)v;
  return 0;
}

static int read_array_n(struct hls_mp_reader *r, uint32_t want, const char *what, struct hls_why *why) {
  uint32_t n;
  int rc = hls_mp_read_array(r, &n);
  if (rc != 0) return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "%s: expected a list", what);
  if (n != want) return hls_why_set(why, HLS_EMALFORMED, "%s: %u elements, expected %u", what, n, want);
  return 0;
}

static int read_array_max(struct hls_mp_reader *r, uint32_t max, uint32_t *n, const char *what, struct hls_why *why) {
  int rc = hls_mp_read_array(r, n);
  if (rc != 0) return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "%s: expected a list", what);
  if (*n > max) return hls_why_set(why, HLS_ETOOBIG, "%s: %u elements, at most %u", what, *n, max);
  return 0;
}

/* A string reader's error as a decode error: invalid UTF-8 is malformed
 * input (envelope.h's codes; docs/protocol.md 3.5). */
static int str_error(struct hls_why *why, int rc, const char *what, const char *expected) {
  if (rc == HLS_EUTF8) return hls_why_set(why, HLS_EMALFORMED, "%s: invalid UTF-8", what);
  return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "%s: expected %s", what, expected);
}

/* A text into a fixed buffer, checked like local input. */
static int read_text(struct hls_mp_reader *r, char *out, size_t size, size_t min, bool multiline, const char *what,
                     struct hls_why *why) {
  const char *s;
  uint32_t len;
  int rc = hls_mp_read_str(r, &s, &len);
  if (rc != 0) return str_error(why, rc, what, "a string");
  if (len < min || len >= size) return hls_why_set(why, HLS_EMALFORMED, "%s: %u bytes is out of range", what, len);
  if ((rc = hls_text_check(s, len, size - 1, multiline, what, why)) != 0) return HLS_EMALFORMED;
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

/* An optional long text (nil or string), allocated. */
static int read_opt_text(struct hls_mp_reader *r, char **out, const char *what, struct hls_why *why) {
  *out = NULL;
  if (hls_mp_peek(r) == HLS_MP_NIL) return hls_mp_read_nil(r);
  const char *s;
  uint32_t len;
  int rc = hls_mp_read_str(r, &s, &len);
  if (rc != 0) return str_error(why, rc, what, "a string or nil");
  if (len == 0) return hls_why_set(why, HLS_EMALFORMED, "%s: empty text is sent as nil", what);
  if (hls_text_check(s, len, HLS_TEXT_HARD_MAX, true, what, why) != 0) return HLS_EMALFORMED;
  *out = malloc((size_t)len + 1);
  if (*out == NULL) return HLS_ENOMEM;
  memcpy(*out, s, len);
  (*out)[len] = '\0';
  return 0;
}

static int read_slug(struct hls_mp_reader *r, char out[HLS_THEME_MAX + 1], struct hls_why *why) {
  TRY(read_text(r, out, HLS_THEME_MAX + 1, 1, false, "theme", why));
  if (!hls_theme_is_slug(out)) return hls_why_set(why, HLS_EMALFORMED, "theme: not a normalised slug");
  return 0;
}

static int expect_end(const struct hls_mp_reader *r, struct hls_why *why) {
  if (r->pos != r->end) return hls_why_set(why, HLS_ETRAILING, "%zu bytes after the body", hls_mp_remaining(r));
  return 0;
}

/* --- packing helpers --------------------------------------------------------- */

#define PK(expr)                          \
  do {                                    \
    if ((expr) != 0) return HLS_ENOMEM;   \
  } while (0)

static int pack_bin(msgpack_packer *pk, const uint8_t *b, size_t len) {
  PK(msgpack_pack_bin(pk, len));
  if (len > 0) PK(msgpack_pack_bin_body(pk, b, len));
  return 0;
}

static int pack_opt_text(msgpack_packer *pk, const char *s) {
  if (s == NULL || *s == '\0') return msgpack_pack_nil(pk) == 0 ? 0 : HLS_ENOMEM;
  return hls_mp_pack_cstr(pk, s);
}

/* --- envelopes ----------------------------------------------------------------- */

int hls_env_decode(struct hls_envelope *env, const uint8_t *bytes, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  struct hls_env_header *h = &env->h;
  uint64_t v;
  memset(env, 0, sizeof *env);
  if (len > HLS_ENV_MAX_BYTES)
    return hls_why_set(why, HLS_ETOOBIG, "envelope of %zu bytes, at most %u", len, HLS_ENV_MAX_BYTES);
  hls_mp_reader_init(&r, bytes, len, true);
  int rc = read_array_n(&r, 3, "envelope", why);
  if (rc != 0) return rc;
  const uint8_t *header_start = r.pos;
  TRY(read_array_n(&r, 8, "header", why));
  TRY(read_uint_max(&r, UINT32_MAX, &v, "version", why));
  if (v != HLS_ENV_VERSION)
    return hls_why_set(why, HLS_EUNSUPPORTED, "envelope version %llu (this hlsd reads version %d)",
                       (unsigned long long)v, HLS_ENV_VERSION);
  h->version = (uint32_t)v;
  TRY(read_uint_max(&r, UINT32_MAX, &v, "type", why));
  if (!hls_env_type_known(v))
    return hls_why_set(why, HLS_EUNSUPPORTED, "unknown envelope type %llu", (unsigned long long)v);
  h->type = (int)v;
  TRY(read_fixed_bin(&r, h->origin, HLS_KEY_BYTES, "origin", why));
  TRY(read_uint_max(&r, INT64_MAX, &h->seq, "seq", why));
  if (h->seq == 0) return hls_why_set(why, HLS_EMALFORMED, "seq: chains start at 1");
  if (hls_mp_peek(&r) == HLS_MP_NIL) {
    TRY(hls_mp_read_nil(&r));
  } else {
    TRY(read_fixed_bin(&r, h->prev, HLS_HASH_BYTES, "prev", why));
    h->has_prev = true;
  }
  if (h->has_prev != (h->seq > 1))
    return hls_why_set(why, HLS_EMALFORMED, "prev: %s", h->seq == 1 ? "seq 1 has no predecessor" : "missing link");
  TRY(read_uint_max(&r, INT64_MAX, &h->timestamp_ms, "timestamp", why));
  TRY(read_small(&r, HLS_AUD_PEERS, &h->audience, "audience", why));
  if (h->audience != HLS_AUD_NETWORK && h->type != HLS_ENV_STORY)
    return hls_why_set(why, HLS_EMALFORMED, "audience: a %s goes to the whole network", hls_env_type_name(h->type));
  TRY(read_fixed_bin(&r, h->body_hash, HLS_HASH_BYTES, "body_hash", why));
  env->header_bytes = header_start;
  env->header_len = (size_t)(r.pos - header_start);
  TRY(read_fixed_bin(&r, env->sig, HLS_SIG_BYTES, "signature", why));
  if (hls_mp_peek(&r) == HLS_MP_NIL) {
    TRY(hls_mp_read_nil(&r));
  } else {
    const uint8_t *body_start = r.pos;
    rc = hls_mp_skip(&r);
    if (rc != 0) return hls_why_set(why, rc == HLS_EUTF8 ? HLS_EMALFORMED : rc, "body: %s", hls_strerror(rc));
    env->body = body_start;
    env->body_len = (size_t)(r.pos - body_start);
  }
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "%zu bytes after the envelope", hls_mp_remaining(&r));
  if (env->body != NULL) {
    uint8_t hash[HLS_HASH_BYTES];
    hls_env_hash(env->body, env->body_len, hash);
    if (sodium_memcmp(hash, h->body_hash, HLS_HASH_BYTES) != 0)
      return hls_why_set(why, HLS_EMALFORMED, "body does not match body_hash");
    if ((rc = hls_env_body_check(h->type, env->body, env->body_len, why)) != 0) return rc;
    if (h->type == HLS_ENV_FORK) {
      struct hls_fork f;
      TRY(hls_fork_decode(&f, env->body, env->body_len, why));
      if (sodium_memcmp(f.origin, h->origin, HLS_KEY_BYTES) == 0)
        return hls_why_set(why, HLS_EMALFORMED, "fork: a node does not report its own fork");
    }
    if (h->type == HLS_ENV_TOMBSTONE) {
      struct hls_tombstone t;
      TRY(hls_tombstone_decode(&t, env->body, env->body_len, why));
      if (t.target_seq >= h->seq)
        return hls_why_set(why, HLS_EMALFORMED, "tombstone: target seq %llu is not earlier than %llu",
                           (unsigned long long)t.target_seq, (unsigned long long)h->seq);
    }
    if (h->type == HLS_ENV_REKEY) {
      struct hls_rekey rk;
      TRY(hls_rekey_decode(&rk, env->body, env->body_len, why));
      if (hls_rekey_expels(&rk, h->origin))
        return hls_why_set(why, HLS_EMALFORMED, "rekey: a steward cannot expel itself");
    }
    if (h->type == HLS_ENV_SUCCESSOR) {
      struct hls_successor su;
      TRY(hls_successor_decode(&su, env->body, env->body_len, why));
      TRY(hls_successor_verify(&su, h->origin, why));
    }
    if (h->type == HLS_ENV_VOUCH) {
      struct hls_vouch vo;
      TRY(hls_vouch_decode(&vo, env->body, env->body_len, why));
      if (sodium_memcmp(vo.subject, h->origin, HLS_KEY_BYTES) == 0)
        return hls_why_set(why, HLS_EMALFORMED, "vouch: a node cannot vouch for itself");
    }
  }
  hls_env_item_id(env->header_bytes, env->header_len, env->sig, env->id);
  return 0;
}

static int signed_message(const uint8_t *header, size_t header_len, uint8_t **out, size_t *out_len) {
  size_t tag_len = sizeof HLS_ENV_SIG_TAG - 1;
  *out = malloc(tag_len + header_len);
  if (*out == NULL) return HLS_ENOMEM;
  memcpy(*out, HLS_ENV_SIG_TAG, tag_len);
  memcpy(*out + tag_len, header, header_len);
  *out_len = tag_len + header_len;
  return 0;
}

int hls_env_verify(const struct hls_envelope *env) {
  uint8_t *msg;
  size_t msg_len;
  int rc = signed_message(env->header_bytes, env->header_len, &msg, &msg_len);
  if (rc != 0) return rc;
  rc = crypto_sign_verify_detached(env->sig, msg, msg_len, env->h.origin) == 0 ? 0 : HLS_EBADSIG;
  free(msg);
  return rc;
}

int hls_env_check_link(const struct hls_envelope *prev, const struct hls_envelope *env) {
  if (memcmp(prev->h.origin, env->h.origin, HLS_KEY_BYTES) != 0 || env->h.seq != prev->h.seq + 1 ||
      !env->h.has_prev || sodium_memcmp(env->h.prev, prev->id, HLS_HASH_BYTES) != 0)
    return HLS_ECHAIN;
  return 0;
}

static int pack_header(msgpack_packer *pk, const struct hls_env_header *h) {
  PK(msgpack_pack_array(pk, 8));
  PK(msgpack_pack_uint32(pk, h->version));
  PK(msgpack_pack_uint32(pk, (uint32_t)h->type));
  TRY(pack_bin(pk, h->origin, HLS_KEY_BYTES));
  PK(msgpack_pack_uint64(pk, h->seq));
  if (h->has_prev) TRY(pack_bin(pk, h->prev, HLS_HASH_BYTES));
  else PK(msgpack_pack_nil(pk));
  PK(msgpack_pack_uint64(pk, h->timestamp_ms));
  PK(msgpack_pack_uint32(pk, (uint32_t)h->audience));
  return pack_bin(pk, h->body_hash, HLS_HASH_BYTES);
}

static int pack_envelope(msgpack_sbuffer *out, const uint8_t *header, size_t header_len, const uint8_t *sig,
                         const uint8_t *body, size_t body_len) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 3));
  PK(msgpack_sbuffer_write(out, (const char *)header, header_len));
  TRY(pack_bin(&pk, sig, HLS_SIG_BYTES));
  if (body != NULL) PK(msgpack_sbuffer_write(out, (const char *)body, body_len));
  else PK(msgpack_pack_nil(&pk));
  return 0;
}

int hls_env_build(msgpack_sbuffer *out, int type, const uint8_t secret_key[64], uint64_t seq,
                  const uint8_t prev[HLS_HASH_BYTES], uint64_t timestamp_ms, int audience, const uint8_t *body,
                  size_t body_len) {
  struct hls_env_header h = {.version = HLS_ENV_VERSION, .type = type, .seq = seq, .timestamp_ms = timestamp_ms,
                             .audience = audience};
  if (type < 0 || !hls_env_type_known((uint64_t)type) || seq == 0 || (seq > 1) != (prev != NULL) ||
      body == NULL || body_len > HLS_ENV_MAX_BODY || (audience != HLS_AUD_NETWORK && type != HLS_ENV_STORY))
    return HLS_EINVAL;
  memcpy(h.origin, secret_key + 32, HLS_KEY_BYTES); /* libsodium keeps the public key there */
  if (prev != NULL) {
    memcpy(h.prev, prev, HLS_HASH_BYTES);
    h.has_prev = true;
  }
  hls_env_hash(body, body_len, h.body_hash);
  size_t start = out->size;
  msgpack_sbuffer hdr;
  msgpack_packer pk;
  msgpack_sbuffer_init(&hdr);
  msgpack_packer_init(&pk, &hdr, msgpack_sbuffer_write);
  int rc = pack_header(&pk, &h);
  uint8_t *msg = NULL;
  size_t msg_len = 0;
  uint8_t sig[HLS_SIG_BYTES];
  if (rc == 0) rc = signed_message((const uint8_t *)hdr.data, hdr.size, &msg, &msg_len);
  if (rc == 0) {
    crypto_sign_detached(sig, NULL, msg, msg_len, secret_key);
    rc = pack_envelope(out, (const uint8_t *)hdr.data, hdr.size, sig, body, body_len);
  }
  /* Never sign what peers refuse (audience 2, seq or timestamp above
   * INT64_MAX, a body outside its type's schema, a tombstone of a later
   * item): the item would sit unreadable in the chain for ever. */
  if (rc == 0) {
    struct hls_envelope check;
    rc = hls_env_decode(&check, (const uint8_t *)out->data + start, out->size - start, NULL);
    if (rc != 0 && rc != HLS_ENOMEM) rc = HLS_EINVAL;
  }
  if (rc != 0) out->size = start; /* nothing appended on error */
  free(msg);
  msgpack_sbuffer_destroy(&hdr);
  return rc;
}

int hls_env_encode_stub(msgpack_sbuffer *out, const struct hls_envelope *env) {
  return pack_envelope(out, env->header_bytes, env->header_len, env->sig, NULL, 0);
}

int hls_env_encode(msgpack_sbuffer *out, const struct hls_envelope *env, const uint8_t *body, size_t body_len) {
  if (body == NULL) return hls_env_encode_stub(out, env);
  uint8_t hash[HLS_HASH_BYTES];
  hls_env_hash(body, body_len, hash);
  if (sodium_memcmp(hash, env->h.body_hash, HLS_HASH_BYTES) != 0) return HLS_EINVAL;
  return pack_envelope(out, env->header_bytes, env->header_len, env->sig, body, body_len);
}

/* --- packers' contract --------------------------------------------------------- */

/* Each packer refuses what the decoders (and so every peer) refuse, by
 * running its body through the decoder: one rule instead of a second copy
 * of every check (text, slugs, ISO weeks, addresses). On any error out is
 * left as it was. */
static int packed_ok(msgpack_sbuffer *out, size_t start, int type, int rc) {
  if (rc == 0) {
    rc = hls_env_body_check(type, (const uint8_t *)out->data + start, out->size - start, NULL);
    if (rc != 0 && rc != HLS_ENOMEM) rc = HLS_EINVAL;
  }
  if (rc != 0) out->size = start;
  return rc;
}

/* --- profile --------------------------------------------------------------------- */

static int pack_profile(msgpack_sbuffer *out, const struct hls_profile *p) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (p->role != HLS_PROFILE_PLACE && p->role != HLS_PROFILE_PARTNER) return HLS_EINVAL;
  if (p->n_addresses > HLS_PROFILE_MAX_ADDRESSES) return HLS_EINVAL;
  PK(msgpack_pack_array(&pk, 4));
  TRY(hls_mp_pack_cstr(&pk, p->place));
  TRY(hls_mp_pack_cstr(&pk, p->region));
  PK(msgpack_pack_uint32(&pk, (uint32_t)p->role));
  PK(msgpack_pack_array(&pk, p->n_addresses));
  for (size_t i = 0; i < p->n_addresses; i++) TRY(hls_mp_pack_cstr(&pk, p->addresses[i]));
  return 0;
}

int hls_profile_pack(msgpack_sbuffer *out, const struct hls_profile *p) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_PROFILE, pack_profile(out, p));
}

int hls_profile_decode(struct hls_profile *p, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n;
  memset(p, 0, sizeof *p);
  hls_mp_reader_init(&r, body, len, true);
  TRY(read_array_n(&r, 4, "profile", why));
  TRY(read_text(&r, p->place, sizeof p->place, 1, false, "place", why));
  TRY(read_text(&r, p->region, sizeof p->region, 1, false, "region", why));
  TRY(read_small(&r, HLS_PROFILE_PARTNER, &p->role, "role", why));
  TRY(read_array_max(&r, HLS_PROFILE_MAX_ADDRESSES, &n, "addresses", why));
  for (uint32_t i = 0; i < n; i++) {
    struct hls_hostport hp;
    TRY(read_text(&r, p->addresses[i], sizeof p->addresses[i], 1, false, "address", why));
    if (hls_hostport_parse(p->addresses[i], &hp, true, false, NULL) != 0)
      return hls_why_set(why, HLS_EMALFORMED, "address: not HOST:PORT");
  }
  p->n_addresses = n;
  return expect_end(&r, why);
}

/* --- digest ---------------------------------------------------------------------- */

static int cell_cmp(const void *a, const void *b) {
  const struct hls_digest_cell *x = a, *y = b;
  int c = strcmp(x->theme, y->theme);
  if (c != 0) return c;
  if (x->kind != y->kind) return x->kind - y->kind;
  if (x->scale != y->scale) return x->scale - y->scale;
  return x->stage - y->stage;
}

const char *hls_digest_method_name(int kind) {
  switch (kind) {
  case HLS_SDC_NEAREST: return HLS_DIGEST_METHOD_NEAREST;
  case HLS_SDC_KEYED: return HLS_DIGEST_METHOD_KEYED;
  default: return NULL;
  }
}

static int pack_digest(msgpack_sbuffer *out, struct hls_digest *d) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (d->iso_week < 1 || d->iso_week > 53 || d->iso_year < HLS_DATE_MIN_YEAR || d->iso_year > HLS_DATE_MAX_YEAR ||
      d->n_cells > HLS_DIGEST_MAX_CELLS || d->method.rounding == 0 || hls_digest_method_name(d->method.kind) == NULL)
    return HLS_EINVAL;
  if (d->n_cells > 1) qsort(d->cells, d->n_cells, sizeof d->cells[0], cell_cmp);
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    if (i > 0 && cell_cmp(&d->cells[i - 1], c) == 0) return HLS_EINVAL;
    if (c->kind < 0 || c->kind >= HLS_KIND_COUNT || c->scale < 0 || c->scale >= HLS_SCALE_COUNT || c->stage < 0 ||
        c->stage >= HLS_STAGE_COUNT || (!c->withheld && c->count > HLS_DIGEST_MAX_COUNT))
      return HLS_EINVAL;
  }
  PK(msgpack_pack_array(&pk, 4));
  PK(msgpack_pack_uint32(&pk, (uint32_t)d->iso_year));
  PK(msgpack_pack_uint32(&pk, (uint32_t)d->iso_week));
  PK(msgpack_pack_array(&pk, 3));
  TRY(hls_mp_pack_cstr(&pk, hls_digest_method_name(d->method.kind)));
  PK(msgpack_pack_uint32(&pk, d->method.threshold));
  PK(msgpack_pack_uint32(&pk, d->method.rounding));
  PK(msgpack_pack_array(&pk, d->n_cells));
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    PK(msgpack_pack_array(&pk, 5));
    TRY(hls_mp_pack_cstr(&pk, c->theme));
    PK(msgpack_pack_uint32(&pk, (uint32_t)c->kind));
    PK(msgpack_pack_uint32(&pk, (uint32_t)c->scale));
    PK(msgpack_pack_uint32(&pk, (uint32_t)c->stage));
    if (c->withheld) PK(msgpack_pack_nil(&pk));
    else PK(msgpack_pack_uint32(&pk, c->count));
  }
  return 0;
}

int hls_digest_pack(msgpack_sbuffer *out, struct hls_digest *d) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_DIGEST, pack_digest(out, d));
}

void hls_digest_free(struct hls_digest *d) {
  if (d == NULL) return;
  free(d->cells);
  d->cells = NULL;
  d->n_cells = 0;
}

/* A digest's head: its array and its week, which must exist. */
static int digest_head(struct hls_mp_reader *r, int *iso_year, int *iso_week, struct hls_why *why) {
  uint64_t v;
  TRY(read_array_n(r, 4, "digest", why));
  TRY(read_uint_max(r, HLS_DATE_MAX_YEAR, &v, "year", why));
  *iso_year = (int)v;
  TRY(read_uint_max(r, 53, &v, "week", why));
  *iso_week = (int)v;
  hls_day monday;
  if (hls_iso_week_monday(*iso_year, *iso_week, &monday) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "week: %d-W%02d does not exist", *iso_year, *iso_week);
  return 0;
}

int hls_digest_week(const uint8_t *body, size_t len, int *iso_year, int *iso_week, struct hls_why *why) {
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, body, len, true);
  return digest_head(&r, iso_year, iso_week, why);
}

int hls_digest_decode(struct hls_digest *d, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n;
  char method[32];
  uint64_t v;
  int rc;
  memset(d, 0, sizeof *d);
  hls_mp_reader_init(&r, body, len, true);
  TRY(digest_head(&r, &d->iso_year, &d->iso_week, why));
  TRY(read_array_n(&r, 3, "method", why));
  TRY(read_text(&r, method, sizeof method, 1, false, "method", why));
  if (strcmp(method, HLS_DIGEST_METHOD_NEAREST) == 0) d->method.kind = HLS_SDC_NEAREST;
  else if (strcmp(method, HLS_DIGEST_METHOD_KEYED) == 0) d->method.kind = HLS_SDC_KEYED;
  else return hls_why_set(why, HLS_EUNSUPPORTED, "method: unknown");
  TRY(read_uint_max(&r, HLS_DIGEST_MAX_COUNT, &v, "threshold", why));
  d->method.threshold = (uint32_t)v;
  TRY(read_uint_max(&r, HLS_DIGEST_MAX_COUNT, &v, "rounding", why));
  if (v == 0) return hls_why_set(why, HLS_EMALFORMED, "rounding: must be at least 1");
  d->method.rounding = (uint32_t)v;
  TRY(read_array_max(&r, HLS_DIGEST_MAX_CELLS, &n, "cells", why));
  if (n > 0) {
    d->cells = calloc(n, sizeof *d->cells);
    if (d->cells == NULL) return HLS_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    struct hls_digest_cell *c = &d->cells[i];
    if ((rc = read_array_n(&r, 5, "cell", why)) != 0 || (rc = read_slug(&r, c->theme, why)) != 0 ||
        (rc = read_small(&r, HLS_KIND_COUNT - 1, &c->kind, "kind", why)) != 0 ||
        (rc = read_small(&r, HLS_SCALE_COUNT - 1, &c->scale, "scale", why)) != 0 ||
        (rc = read_small(&r, HLS_STAGE_COUNT - 1, &c->stage, "stage", why)) != 0)
      goto fail;
    if (hls_mp_peek(&r) == HLS_MP_NIL) {
      if ((rc = hls_mp_read_nil(&r)) != 0) goto fail;
      c->withheld = true;
    } else {
      if ((rc = read_uint_max(&r, HLS_DIGEST_MAX_COUNT, &v, "count", why)) != 0) goto fail;
      c->count = (uint32_t)v;
    }
    d->n_cells = i + 1;
    if (i > 0 && cell_cmp(&d->cells[i - 1], c) >= 0) {
      rc = hls_why_set(why, HLS_ENONCANON, "cells: not in canonical order, or repeated");
      goto fail;
    }
  }
  d->n_cells = n;
  if ((rc = expect_end(&r, why)) != 0) goto fail;
  return 0;
fail:
  hls_digest_free(d);
  return rc;
}

/* --- story ------------------------------------------------------------------------ */

static int pack_story(msgpack_sbuffer *out, const struct hls_story *s) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (s->n_themes > HLS_THEMES_PER_RECORD || s->scale < 0 || s->scale >= HLS_SCALE_COUNT || s->stage < 0 ||
      s->stage >= HLS_STAGE_COUNT || s->title[0] == '\0')
    return HLS_EINVAL;
  PK(msgpack_pack_array(&pk, 8));
  PK(msgpack_pack_uint32(&pk, (uint32_t)s->iso_year));
  PK(msgpack_pack_uint32(&pk, (uint32_t)s->iso_week));
  TRY(hls_mp_pack_cstr(&pk, s->title));
  TRY(pack_opt_text(&pk, s->tried));
  TRY(pack_opt_text(&pk, s->learnt));
  PK(msgpack_pack_array(&pk, s->n_themes));
  for (size_t i = 0; i < s->n_themes; i++) {
    PK(msgpack_pack_array(&pk, 2));
    TRY(hls_mp_pack_cstr(&pk, s->themes[i].slug));
    PK(msgpack_pack_uint32(&pk, (uint32_t)s->themes[i].kind));
  }
  PK(msgpack_pack_uint32(&pk, (uint32_t)s->scale));
  PK(msgpack_pack_uint32(&pk, (uint32_t)s->stage));
  return 0;
}

int hls_story_pack(msgpack_sbuffer *out, const struct hls_story *s) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_STORY, pack_story(out, s));
}

void hls_story_free(struct hls_story *s) {
  if (s == NULL) return;
  free(s->tried);
  free(s->learnt);
  s->tried = s->learnt = NULL;
}

int hls_story_decode(struct hls_story *s, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n;
  uint64_t v;
  int rc;
  memset(s, 0, sizeof *s);
  hls_mp_reader_init(&r, body, len, true);
  TRY(read_array_n(&r, 8, "story", why));
  TRY(read_uint_max(&r, HLS_DATE_MAX_YEAR, &v, "year", why));
  s->iso_year = (int)v;
  TRY(read_uint_max(&r, 53, &v, "week", why));
  s->iso_week = (int)v;
  hls_day monday;
  if (hls_iso_week_monday(s->iso_year, s->iso_week, &monday) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "week: %d-W%02d does not exist", s->iso_year, s->iso_week);
  TRY(read_text(&r, s->title, sizeof s->title, 1, false, "title", why));
  if ((rc = read_opt_text(&r, &s->tried, "tried", why)) != 0 || (rc = read_opt_text(&r, &s->learnt, "learnt", why)) != 0 ||
      (rc = read_array_max(&r, HLS_THEMES_PER_RECORD, &n, "themes", why)) != 0)
    goto fail;
  for (uint32_t i = 0; i < n; i++) {
    int kind = 0;
    if ((rc = read_array_n(&r, 2, "theme", why)) != 0 || (rc = read_slug(&r, s->themes[i].slug, why)) != 0 ||
        (rc = read_small(&r, HLS_KIND_COUNT - 1, &kind, "kind", why)) != 0)
      goto fail;
    s->themes[i].kind = (enum hls_kind)kind;
    for (uint32_t k = 0; k < i; k++)
      if (strcmp(s->themes[k].slug, s->themes[i].slug) == 0) {
        rc = hls_why_set(why, HLS_EMALFORMED, "themes: repeated");
        goto fail;
      }
  }
  s->n_themes = n;
  if ((rc = read_small(&r, HLS_SCALE_COUNT - 1, &s->scale, "scale", why)) != 0 ||
      (rc = read_small(&r, HLS_STAGE_COUNT - 1, &s->stage, "stage", why)) != 0 || (rc = expect_end(&r, why)) != 0)
    goto fail;
  return 0;
fail:
  hls_story_free(s);
  return rc;
}

/* --- tombstone --------------------------------------------------------------------- */

static int pack_tombstone(msgpack_sbuffer *out, const struct hls_tombstone *t) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (t->target_seq == 0 || t->reason < 0 || t->reason > HLS_TOMB_RECORD_DELETED) return HLS_EINVAL;
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint64(&pk, t->target_seq));
  PK(msgpack_pack_uint32(&pk, (uint32_t)t->reason));
  return 0;
}

int hls_tombstone_pack(msgpack_sbuffer *out, const struct hls_tombstone *t) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_TOMBSTONE, pack_tombstone(out, t));
}

int hls_tombstone_decode(struct hls_tombstone *t, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  memset(t, 0, sizeof *t);
  hls_mp_reader_init(&r, body, len, true);
  TRY(read_array_n(&r, 2, "tombstone", why));
  TRY(read_uint_max(&r, INT64_MAX, &t->target_seq, "target", why));
  if (t->target_seq == 0) return hls_why_set(why, HLS_EMALFORMED, "target: seq 0 does not exist");
  TRY(read_small(&r, HLS_TOMB_RECORD_DELETED, &t->reason, "reason", why));
  return expect_end(&r, why);
}

/* --- receipt ----------------------------------------------------------------------- */

static const char *const receipt_state_names[] = {"erased", "never_held"};

const char *hls_receipt_state_name(int state) {
  return state >= HLS_RECEIPT_ERASED && state <= HLS_RECEIPT_NEVER_HELD ? receipt_state_names[state] : "unknown";
}

int hls_receipt_entry_cmp(const struct hls_receipt_entry *a, const struct hls_receipt_entry *b) {
  int c = memcmp(a->origin, b->origin, HLS_KEY_BYTES);
  if (c != 0) return c;
  return a->target_seq < b->target_seq ? -1 : a->target_seq > b->target_seq;
}

static int pack_receipt(msgpack_sbuffer *out, const struct hls_receipt *r) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  if (r->n_entries == 0 || r->n_entries > HLS_RECEIPT_MAX_ENTRIES) return HLS_EINVAL;
  PK(msgpack_pack_array(&pk, r->n_entries));
  for (size_t i = 0; i < r->n_entries; i++) {
    const struct hls_receipt_entry *e = &r->entries[i];
    PK(msgpack_pack_array(&pk, 3));
    TRY(pack_bin(&pk, e->origin, HLS_KEY_BYTES));
    PK(msgpack_pack_uint64(&pk, e->target_seq));
    PK(msgpack_pack_uint32(&pk, (uint32_t)e->state));
  }
  return 0;
}

int hls_receipt_pack(msgpack_sbuffer *out, const struct hls_receipt *r) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_RECEIPT, pack_receipt(out, r));
}

void hls_receipt_free(struct hls_receipt *r) {
  if (r == NULL) return;
  free(r->entries);
  r->entries = NULL;
  r->n_entries = 0;
}

int hls_receipt_decode(struct hls_receipt *r, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader rd;
  uint32_t n;
  int rc;
  memset(r, 0, sizeof *r);
  hls_mp_reader_init(&rd, body, len, true);
  TRY(read_array_max(&rd, HLS_RECEIPT_MAX_ENTRIES, &n, "receipt", why));
  if (n == 0) return hls_why_set(why, HLS_EMALFORMED, "receipt: no entries");
  /* n is at most HLS_RECEIPT_MAX_ENTRIES and at most the bytes left
   * (hls_mp_read_array): the allocation is bounded before it is made. */
  r->entries = calloc(n, sizeof *r->entries);
  if (r->entries == NULL) return HLS_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    struct hls_receipt_entry *e = &r->entries[i];
    if ((rc = read_array_n(&rd, 3, "entry", why)) != 0 ||
        (rc = read_fixed_bin(&rd, e->origin, HLS_KEY_BYTES, "origin", why)) != 0 ||
        (rc = read_uint_max(&rd, INT64_MAX, &e->target_seq, "target", why)) != 0 ||
        (rc = read_small(&rd, HLS_RECEIPT_NEVER_HELD, &e->state, "state", why)) != 0)
      goto fail;
    if (e->target_seq == 0) {
      rc = hls_why_set(why, HLS_EMALFORMED, "target: seq 0 does not exist");
      goto fail;
    }
    if (i > 0 && hls_receipt_entry_cmp(&r->entries[i - 1], e) >= 0) {
      rc = hls_why_set(why, HLS_ENONCANON, "entries: not in canonical order, or repeated");
      goto fail;
    }
  }
  r->n_entries = n;
  if ((rc = expect_end(&rd, why)) != 0) goto fail;
  return 0;
fail:
  hls_receipt_free(r);
  return rc;
}

/* --- fork ----------------------------------------------------------------------- */

/* One stub of a fork body: decoded, a stub, signed by its origin. */
static int fork_stub(struct hls_mp_reader *r, struct hls_envelope *e, const uint8_t **bytes, size_t *len,
                     const char *what, struct hls_why *why) {
  uint32_t n;
  int rc = hls_mp_read_bin(r, bytes, &n);
  if (rc != 0) return hls_why_set(why, rc == HLS_EINVAL ? HLS_EMALFORMED : rc, "fork: %s: expected bytes", what);
  if (n > HLS_FORK_STUB_MAX)
    return hls_why_set(why, HLS_ETOOBIG, "fork: %s: %u bytes, at most %u", what, n, HLS_FORK_STUB_MAX);
  *len = n;
  struct hls_why inner = {0};
  rc = hls_env_decode(e, *bytes, n, &inner);
  if (rc != 0) return hls_why_set(why, rc, "fork: %s: %s", what, inner.text);
  if (e->body != NULL) return hls_why_set(why, HLS_EMALFORMED, "fork: %s: not a stub", what);
  rc = hls_env_verify(e);
  if (rc == HLS_EBADSIG) return hls_why_set(why, rc, "fork: %s: bad signature", what);
  return rc;
}

int hls_fork_decode(struct hls_fork *f, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader rd;
  struct hls_envelope a, b;
  memset(f, 0, sizeof *f);
  hls_mp_reader_init(&rd, body, len, true);
  TRY(read_array_n(&rd, 2, "fork", why));
  TRY(fork_stub(&rd, &a, &f->a, &f->a_len, "stub a", why));
  TRY(fork_stub(&rd, &b, &f->b, &f->b_len, "stub b", why));
  TRY(expect_end(&rd, why));
  if (sodium_memcmp(a.h.origin, b.h.origin, HLS_KEY_BYTES) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "fork: the stubs are of two origins");
  if (a.h.type == HLS_ENV_SUCCESSOR && b.h.seq > a.h.seq && b.h.type != HLS_ENV_TOMBSTONE) {
    /* A closed chain (4.9): after its successor, an origin signs
     * tombstones only, on any branch, so the pair needs no link. */
  } else if (a.h.seq == b.h.seq) {
    int c = memcmp(a.id, b.id, HLS_HASH_BYTES);
    if (c == 0) return hls_why_set(why, HLS_EMALFORMED, "fork: the same item twice");
    if (c > 0) return hls_why_set(why, HLS_ENONCANON, "fork: stubs of one seq not in item id order");
  } else if (b.h.seq == a.h.seq + 1) {
    if (sodium_memcmp(b.h.prev, a.id, HLS_HASH_BYTES) == 0)
      return hls_why_set(why, HLS_EMALFORMED, "fork: stub b follows stub a (a chain, not a fork)");
  } else if (a.h.seq == b.h.seq + 1) {
    return hls_why_set(why, HLS_ENONCANON, "fork: the stub of the lower seq comes first");
  } else {
    return hls_why_set(why, HLS_EMALFORMED, "fork: seqs %llu and %llu are not a fork", (unsigned long long)a.h.seq,
                       (unsigned long long)b.h.seq);
  }
  memcpy(f->origin, a.h.origin, HLS_KEY_BYTES);
  f->seq = a.h.seq;
  return 0;
}

int hls_fork_pack(msgpack_sbuffer *out, const uint8_t *stub1, size_t len1, const uint8_t *stub2, size_t len2) {
  struct hls_envelope e1, e2;
  if (len1 > HLS_FORK_STUB_MAX || len2 > HLS_FORK_STUB_MAX || hls_env_decode(&e1, stub1, len1, NULL) != 0 ||
      hls_env_decode(&e2, stub2, len2, NULL) != 0)
    return HLS_EINVAL;
  bool swap = e1.h.seq > e2.h.seq || (e1.h.seq == e2.h.seq && memcmp(e1.id, e2.id, HLS_HASH_BYTES) > 0);
  size_t start = out->size;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  int rc = 0;
  if (msgpack_pack_array(&pk, 2) != 0 || pack_bin(&pk, swap ? stub2 : stub1, swap ? len2 : len1) != 0 ||
      pack_bin(&pk, swap ? stub1 : stub2, swap ? len1 : len2) != 0)
    rc = HLS_ENOMEM;
  return packed_ok(out, start, HLS_ENV_FORK, rc);
}

/* --- vouch ------------------------------------------------------------------------- */

static int pack_vouch(msgpack_sbuffer *out, const struct hls_vouch *v) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 2));
  TRY(pack_bin(&pk, v->subject, HLS_KEY_BYTES));
  if (v->withdrawn) {
    PK(msgpack_pack_nil(&pk));
    return 0;
  }
  if (v->role != HLS_PROFILE_PLACE && v->role != HLS_PROFILE_PARTNER) return HLS_EINVAL;
  PK(msgpack_pack_array(&pk, 3));
  TRY(hls_mp_pack_cstr(&pk, v->place));
  TRY(hls_mp_pack_cstr(&pk, v->region));
  PK(msgpack_pack_uint32(&pk, (uint32_t)v->role));
  return 0;
}

int hls_vouch_pack(msgpack_sbuffer *out, const struct hls_vouch *v) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_VOUCH, pack_vouch(out, v));
}

int hls_vouch_decode(struct hls_vouch *v, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  memset(v, 0, sizeof *v);
  hls_mp_reader_init(&r, body, len, true);
  TRY(read_array_n(&r, 2, "vouch", why));
  TRY(read_fixed_bin(&r, v->subject, HLS_KEY_BYTES, "subject", why));
  if (hls_mp_peek(&r) == HLS_MP_NIL) {
    TRY(hls_mp_read_nil(&r));
    v->withdrawn = true;
    return expect_end(&r, why);
  }
  TRY(read_array_n(&r, 3, "claim", why));
  TRY(read_text(&r, v->place, sizeof v->place, 1, false, "place", why));
  TRY(read_text(&r, v->region, sizeof v->region, 1, false, "region", why));
  TRY(read_small(&r, HLS_PROFILE_PARTNER, &v->role, "role", why));
  return expect_end(&r, why);
}

/* --- rekey ------------------------------------------------------------------------- */

#define HLS_REKEY_HASH_KEY "hlsd rekey key v1"

void hls_rekey_key_hash(const uint8_t key[HLS_KEY_BYTES], uint8_t out[HLS_HASH_BYTES]) {
  crypto_generichash(out, HLS_HASH_BYTES, key, HLS_KEY_BYTES, (const uint8_t *)HLS_REKEY_HASH_KEY,
                     sizeof HLS_REKEY_HASH_KEY - 1);
}

bool hls_rekey_expels(const struct hls_rekey *r, const uint8_t pk[HLS_KEY_BYTES]) {
  for (size_t i = 0; i < r->n_expelled; i++)
    if (memcmp(r->expelled[i], pk, HLS_KEY_BYTES) == 0) return true;
  return false;
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_KEY_BYTES); }

int hls_rekey_pack(msgpack_sbuffer *out, struct hls_rekey *r) {
  if (r->epoch == 0 || r->epoch > INT64_MAX || r->overlap_until_ms > INT64_MAX ||
      r->n_expelled > HLS_REKEY_MAX_EXPELLED)
    return HLS_EINVAL;
  qsort(r->expelled, r->n_expelled, HLS_KEY_BYTES, key_cmp);
  size_t k = 0;
  for (size_t i = 0; i < r->n_expelled; i++)
    if (k == 0 || memcmp(r->expelled[k - 1], r->expelled[i], HLS_KEY_BYTES) != 0)
      memmove(r->expelled[k++], r->expelled[i], HLS_KEY_BYTES);
  r->n_expelled = k;
  size_t start = out->size;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  int rc = 0;
  if (msgpack_pack_array(&pk, 4) != 0 || msgpack_pack_uint64(&pk, r->epoch) != 0 ||
      pack_bin(&pk, r->key_hash, HLS_HASH_BYTES) != 0 || msgpack_pack_array(&pk, (uint32_t)k) != 0)
    rc = HLS_ENOMEM;
  for (size_t i = 0; rc == 0 && i < k; i++)
    if (pack_bin(&pk, r->expelled[i], HLS_KEY_BYTES) != 0) rc = HLS_ENOMEM;
  if (rc == 0 && msgpack_pack_uint64(&pk, r->overlap_until_ms) != 0) rc = HLS_ENOMEM;
  return packed_ok(out, start, HLS_ENV_REKEY, rc);
}

int hls_rekey_decode(struct hls_rekey *r, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader rd;
  uint32_t n;
  memset(r, 0, sizeof *r);
  hls_mp_reader_init(&rd, body, len, true);
  TRY(read_array_n(&rd, 4, "rekey", why));
  TRY(read_uint_max(&rd, INT64_MAX, &r->epoch, "epoch", why));
  if (r->epoch == 0) return hls_why_set(why, HLS_EMALFORMED, "epoch: 0 is the network's first key, never announced");
  TRY(read_fixed_bin(&rd, r->key_hash, HLS_HASH_BYTES, "key_hash", why));
  TRY(read_array_max(&rd, HLS_REKEY_MAX_EXPELLED, &n, "expelled", why));
  for (uint32_t i = 0; i < n; i++) {
    TRY(read_fixed_bin(&rd, r->expelled[i], HLS_KEY_BYTES, "expelled", why));
    if (i > 0 && memcmp(r->expelled[i - 1], r->expelled[i], HLS_KEY_BYTES) >= 0)
      return hls_why_set(why, HLS_ENONCANON, "expelled: not in ascending order, or repeated");
  }
  r->n_expelled = n;
  TRY(read_uint_max(&rd, INT64_MAX, &r->overlap_until_ms, "overlap_until", why));
  return expect_end(&rd, why);
}

/* --- successor ---------------------------------------------------------------------- */

/* HLS_SUCCESSOR_TAG || old id || new id. */
static void successor_message(uint8_t msg[sizeof HLS_SUCCESSOR_TAG - 1 + 2 * HLS_KEY_BYTES],
                              const uint8_t old_id[HLS_KEY_BYTES], const uint8_t new_id[HLS_KEY_BYTES]) {
  size_t tag_len = sizeof HLS_SUCCESSOR_TAG - 1;
  memcpy(msg, HLS_SUCCESSOR_TAG, tag_len);
  memcpy(msg + tag_len, old_id, HLS_KEY_BYTES);
  memcpy(msg + tag_len + HLS_KEY_BYTES, new_id, HLS_KEY_BYTES);
}

void hls_successor_sign(struct hls_successor *s, const uint8_t old_id[HLS_KEY_BYTES], const uint8_t new_sk[64]) {
  uint8_t msg[sizeof HLS_SUCCESSOR_TAG - 1 + 2 * HLS_KEY_BYTES];
  memcpy(s->new_id, new_sk + 32, HLS_KEY_BYTES); /* libsodium: seed || public key */
  successor_message(msg, old_id, s->new_id);
  crypto_sign_detached(s->new_sig, NULL, msg, sizeof msg, new_sk);
}

int hls_successor_verify(const struct hls_successor *s, const uint8_t old_id[HLS_KEY_BYTES], struct hls_why *why) {
  if (sodium_memcmp(s->new_id, old_id, HLS_KEY_BYTES) == 0)
    return hls_why_set(why, HLS_EMALFORMED, "successor: a key cannot succeed itself");
  uint8_t msg[sizeof HLS_SUCCESSOR_TAG - 1 + 2 * HLS_KEY_BYTES];
  successor_message(msg, old_id, s->new_id);
  if (crypto_sign_verify_detached(s->new_sig, msg, sizeof msg, s->new_id) != 0)
    return hls_why_set(why, HLS_EBADSIG, "successor: the new key did not sign its succession of this origin");
  return 0;
}

static int pack_successor(msgpack_sbuffer *out, const struct hls_successor *s) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  PK(msgpack_pack_array(&pk, 2));
  TRY(pack_bin(&pk, s->new_id, HLS_KEY_BYTES));
  return pack_bin(&pk, s->new_sig, HLS_SIG_BYTES);
}

int hls_successor_pack(msgpack_sbuffer *out, const struct hls_successor *s) {
  size_t start = out->size;
  return packed_ok(out, start, HLS_ENV_SUCCESSOR, pack_successor(out, s));
}

int hls_successor_decode(struct hls_successor *s, const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_mp_reader r;
  memset(s, 0, sizeof *s);
  hls_mp_reader_init(&r, body, len, true);
  TRY(read_array_n(&r, 2, "successor", why));
  TRY(read_fixed_bin(&r, s->new_id, HLS_KEY_BYTES, "new_id", why));
  TRY(read_fixed_bin(&r, s->new_sig, HLS_SIG_BYTES, "new_sig", why));
  return expect_end(&r, why);
}

int hls_env_body_check(int type, const uint8_t *body, size_t len, struct hls_why *why) {
  int rc;
  switch (type) {
    case HLS_ENV_PROFILE: {
      struct hls_profile p;
      return hls_profile_decode(&p, body, len, why);
    }
    case HLS_ENV_DIGEST: {
      struct hls_digest d;
      rc = hls_digest_decode(&d, body, len, why);
      hls_digest_free(&d);
      return rc;
    }
    case HLS_ENV_STORY: {
      struct hls_story s;
      rc = hls_story_decode(&s, body, len, why);
      hls_story_free(&s);
      return rc;
    }
    case HLS_ENV_TOMBSTONE: {
      struct hls_tombstone t;
      return hls_tombstone_decode(&t, body, len, why);
    }
    case HLS_ENV_RECEIPT: {
      struct hls_receipt r;
      rc = hls_receipt_decode(&r, body, len, why);
      hls_receipt_free(&r);
      return rc;
    }
    case HLS_ENV_FORK: {
      struct hls_fork f;
      return hls_fork_decode(&f, body, len, why);
    }
    case HLS_ENV_VOUCH: {
      struct hls_vouch v;
      return hls_vouch_decode(&v, body, len, why);
    }
    case HLS_ENV_REKEY: {
      struct hls_rekey r;
      return hls_rekey_decode(&r, body, len, why);
    }
    case HLS_ENV_SUCCESSOR: {
      struct hls_successor su;
      return hls_successor_decode(&su, body, len, why);
    }
    default: return hls_why_set(why, HLS_EUNSUPPORTED, "unknown envelope type");
  }
}
