/* The gossip frames as they come in (docs/protocol.md 8.1): the decoders
 * of VECTOR, ITEMS, ACK, WANT and BODIES payloads (gossip.h). Each checks
 * the frame's exact shape, canonical form and limits, capping every count
 * before it is used. The frames this node sends are packed as they are
 * sent, from the session's state (gossip_send.c). */
#include "gossip.h"

#include "mp.h"

/* --- codecs ------------------------------------------------------------------- */

/* A reader error as the decoders report it: truncated and non-canonical
 * input keep their codes, anything else is malformed. */
static int mperr(int rc) { return rc == HLS_ETRUNCATED || rc == HLS_ENONCANON ? rc : HLS_EMALFORMED; }

#define RD(expr, ...)                                        \
  do {                                                       \
    int rd_rc_ = (expr);                                     \
    if (rd_rc_ != 0) return hls_why_set(why, mperr(rd_rc_), __VA_ARGS__); \
  } while (0)
#define NEED(cond, ...)                                          \
  do {                                                           \
    if (!(cond)) return hls_why_set(why, HLS_EMALFORMED, __VA_ARGS__); \
  } while (0)

static int read_head(struct hls_mp_reader *r, const uint8_t *p, size_t len, int type, uint32_t count,
                     const char *name, struct hls_why *why) {
  uint32_t n;
  uint64_t t;
  hls_mp_reader_init(r, p, len, true);
  RD(hls_mp_read_array(r, &n), "%s: not an array", name);
  NEED(n == count, "%s: expected an array of %u", name, count);
  RD(hls_mp_read_uint(r, &t), "%s: bad type", name);
  NEED(t == (uint64_t)type, "%s: expected type %d", name, type);
  return 0;
}

static int read_key(struct hls_mp_reader *r, const uint8_t **key, const char *name, struct hls_why *why) {
  uint32_t n;
  RD(hls_mp_read_bin(r, key, &n), "%s: origin is not bytes", name);
  NEED(n == HLS_KEY_BYTES, "%s: origin of %u bytes", name, n);
  return 0;
}

static int finish(const struct hls_mp_reader *r, const char *name, struct hls_why *why) {
  if (r->pos != r->end) return hls_why_set(why, HLS_ETRAILING, "%s: trailing bytes", name);
  return 0;
}

int hls_gossip_vector_decode(const uint8_t *payload, size_t len, bool *complete,
                             struct hls_gossip_vector_entry *entries, size_t *n, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t count, two;
  int rc = read_head(&r, payload, len, HLS_GF_VECTOR, 3, "vector", why);
  if (rc != 0) return rc;
  RD(hls_mp_read_bool(&r, complete), "vector: complete is not a boolean");
  RD(hls_mp_read_array(&r, &count), "vector: entries are not a list");
  if (count > HLS_GOSSIP_MAX_VECTOR)
    return hls_why_set(why, HLS_ETOOBIG, "vector: %u entries (at most %u)", count, HLS_GOSSIP_MAX_VECTOR);
  for (uint32_t i = 0; i < count; i++) {
    RD(hls_mp_read_array(&r, &two), "vector: entry %u is not [origin, head]", i);
    NEED(two == 2, "vector: entry %u is not [origin, head]", i);
    rc = read_key(&r, &entries[i].origin, "vector", why);
    if (rc != 0) return rc;
    RD(hls_mp_read_uint(&r, &entries[i].head), "vector: entry %u: bad head", i);
    NEED(entries[i].head >= 1, "vector: entry %u: head 0", i);
  }
  *n = count;
  return finish(&r, "vector", why);
}

int hls_gossip_items_decode(const uint8_t *payload, size_t len, int type, bool *complete, struct hls_envelope *envs,
                            size_t *n, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t count;
  const char *name = type == HLS_GF_ITEMS ? "items" : "bodies";
  int rc = read_head(&r, payload, len, type, type == HLS_GF_ITEMS ? 2 : 3, name, why);
  if (rc != 0) return rc;
  *complete = true;
  if (type == HLS_GF_BODIES) RD(hls_mp_read_bool(&r, complete), "bodies: complete is not a boolean");
  RD(hls_mp_read_array(&r, &count), "%s: expected a list of envelopes", name);
  if (count > HLS_GOSSIP_MAX_BATCH)
    return hls_why_set(why, HLS_ETOOBIG, "%s: %u envelopes (at most %u)", name, count, HLS_GOSSIP_MAX_BATCH);
  NEED(count > 0 || type != HLS_GF_ITEMS, "items: empty");
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *b;
    uint32_t blen;
    RD(hls_mp_read_bin(&r, &b, &blen), "%s: envelope %u is not bytes", name, i);
    struct hls_why ew = {{0}};
    rc = hls_env_decode(&envs[i], b, blen, &ew);
    if (rc != 0) return hls_why_set(why, rc, "%s: envelope %u: %s", name, i, ew.text);
  }
  *n = count;
  return finish(&r, name, why);
}

int hls_gossip_ack_decode(const uint8_t *payload, size_t len, struct hls_gossip_vector_entry *entries, size_t *n,
                          struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t count, two;
  int rc = read_head(&r, payload, len, HLS_GF_ACK, 2, "ack", why);
  if (rc != 0) return rc;
  RD(hls_mp_read_array(&r, &count), "ack: expected [18, [[origin, head], ...]]");
  if (count > HLS_GOSSIP_MAX_BATCH)
    return hls_why_set(why, HLS_ETOOBIG, "ack: %u entries (at most %u)", count, HLS_GOSSIP_MAX_BATCH);
  for (uint32_t i = 0; i < count; i++) {
    RD(hls_mp_read_array(&r, &two), "ack: entry %u is not [origin, head]", i);
    NEED(two == 2, "ack: entry %u is not [origin, head]", i);
    rc = read_key(&r, &entries[i].origin, "ack", why);
    if (rc != 0) return rc;
    RD(hls_mp_read_uint(&r, &entries[i].head), "ack: entry %u: bad head", i);
  }
  *n = count;
  return finish(&r, "ack", why);
}

int hls_gossip_want_decode(const uint8_t *payload, size_t len, uint64_t *seqs, size_t *n, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t count;
  int rc = read_head(&r, payload, len, HLS_GF_WANT, 2, "want", why);
  if (rc != 0) return rc;
  RD(hls_mp_read_array(&r, &count), "want: expected [19, [seq, ...]]");
  if (count > HLS_GOSSIP_MAX_WANT)
    return hls_why_set(why, HLS_ETOOBIG, "want: %u seqs (at most %u)", count, HLS_GOSSIP_MAX_WANT);
  NEED(count >= 1, "want: no seqs");
  for (uint32_t i = 0; i < count; i++) {
    RD(hls_mp_read_uint(&r, &seqs[i]), "want: seq %u is not a number", i);
    NEED(seqs[i] >= 1 && (i == 0 || seqs[i] > seqs[i - 1]), "want: seqs must be ascending and >= 1");
  }
  *n = count;
  return finish(&r, "want", why);
}
