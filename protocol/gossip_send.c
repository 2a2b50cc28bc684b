/* What a gossip session sends (docs/protocol.md 8.2 Reconciliation, 8.4
 * Audience): VECTOR frames; ITEMS in runs of the origins waiting, round
 * robin, each run ending at an item whose own signature verifies; BODIES
 * for a WANT, only to a direct peer; WANT for the stubs of a connected
 * origin; ACK. pump sends while the window allows. Each frame is packed
 * here as it is sent, moving what the session was sent and told. */
#include "gossip_internal.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* --- frames out ------------------------------------------------------------- */

#define PK(x)                 \
  do {                        \
    if ((x) != 0) return HLS_ENOMEM; \
  } while (0)

static int send_frame(struct hls_gossip *g, struct hls_gossip_session *s, size_t at) {
  int rc = hls_frame_end(&g->out, at, UINT32_MAX);
  if (rc != 0) return rc == HLS_ETOOBIG ? HLS_EINTERNAL : rc;
  struct hls_gossip_action a = {.type = HLS_GA_SEND, .session = s, .session_ctx = s->ctx,
                                .frame = (const uint8_t *)g->out.data, .frame_len = g->out.size};
  g->st.frames_sent++;
  g->st.bytes_sent += g->out.size;
  rc = g->emit(g->emit_ctx, &a);
  g->out.size = 0;
  return rc;
}

/* ACK [18, [[origin, head], ...]]: one entry per run of the ITEMS frame
 * acknowledged (none for BODIES). */
int hls_gossip__send_ack(struct hls_gossip *g, struct hls_gossip_session *s, const struct hls_gossip_vector_entry *acks,
                         size_t n) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, &g->out, msgpack_sbuffer_write);
  g->out.size = 0;
  size_t at = hls_frame_begin(&g->out);
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint32(&pk, HLS_GF_ACK));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    PK(msgpack_pack_array(&pk, 2));
    PK(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    PK(msgpack_pack_bin_body(&pk, acks[i].origin, HLS_KEY_BYTES));
    PK(msgpack_pack_uint64(&pk, acks[i].head));
    int64_t f = hls_gossip__origin_find(g, acks[i].origin);
    if (f >= 0 && s->so[f].told < acks[i].head) s->so[f].told = acks[i].head; /* the ACK tells it */
  }
  return send_frame(g, s, at);
}

/* A VECTOR frame of the given origin indexes. */
int hls_gossip__send_vector(struct hls_gossip *g, struct hls_gossip_session *s, const uint32_t *idx, size_t n,
                            bool complete) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, &g->out, msgpack_sbuffer_write);
  g->out.size = 0;
  size_t at = hls_frame_begin(&g->out);
  PK(msgpack_pack_array(&pk, 3));
  PK(msgpack_pack_uint32(&pk, HLS_GF_VECTOR));
  PK(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) {
    const struct origin *o = &g->o[idx[i]];
    PK(msgpack_pack_array(&pk, 2));
    PK(msgpack_pack_bin(&pk, HLS_KEY_BYTES));
    PK(msgpack_pack_bin_body(&pk, o->pk, HLS_KEY_BYTES));
    PK(msgpack_pack_uint64(&pk, o->head));
    s->so[idx[i]].told = o->head;
  }
  return send_frame(g, s, at);
}

/* Append one envelope (stub + optional body) as a msgpack bin to tmp. */
static int pack_envelope_bin(msgpack_sbuffer *buf, const struct hls_gossip_item *it, bool with_body) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
  if (!with_body || it->body == NULL) {
    PK(msgpack_pack_bin(&pk, it->stub_len));
    PK(msgpack_pack_bin_body(&pk, it->stub, it->stub_len));
    return 0;
  }
  /* stub = [header, sig, nil]: the full envelope is the stub without its
   * final nil byte, then the body. */
  if (it->stub_len < 1 || it->stub[it->stub_len - 1] != 0xc0) return HLS_EINTERNAL;
  size_t len = it->stub_len - 1 + it->body_len;
  PK(msgpack_pack_bin(&pk, len));
  PK(msgpack_pack_bin_body(&pk, it->stub, it->stub_len - 1));
  PK(msgpack_pack_bin_body(&pk, it->body, it->body_len));
  return 0;
}

/* Does the stub's own signature verify? */
static bool stub_verifies(struct hls_gossip *g, const struct hls_gossip_item *it) {
  struct hls_envelope env;
  g->st.verifications++;
  return hls_env_decode(&env, it->stub, it->stub_len, NULL) == 0 && hls_env_verify(&env) == 0;
}

/* Should the body of an item go to this session's peer? direct: the item
 * is this node's own and the peer is its direct peer (asked before the
 * item was read: any store call ends the item's views). */
static bool body_allowed(const struct hls_gossip_item *it, bool direct) {
  if (it->state != HLS_BODY_HELD || it->body == NULL) return false;
  return it->audience == HLS_AUD_NETWORK || direct;
}

/* Append to tmp the next run of origin idx for s: items from what the peer
 * holds (or was sent) + 1, at most budget of them, ending at an item whose
 * own signature verifies, so the receiver checks the run with that one
 * signature. *added gets the number of items (0: none could go). */
static int append_run(struct hls_gossip *g, struct hls_gossip_session *s, uint32_t idx, size_t budget,
                      size_t *added) {
  struct origin *o = &g->o[idx];
  struct sess_origin *so = &s->so[idx];
  uint64_t from = max_u64(so->peer_has, so->sent) + 1;
  uint64_t to = o->head;
  *added = 0;
  if (to - from + 1 > budget) to = from + budget - 1;
  size_t start = g->tmp.size;
  size_t ends[HLS_GOSSIP_MAX_BATCH];
  size_t n = 0, bodies = 0;
  uint64_t last_ok = 0;
  size_t last_ok_n = 0;
  bool direct = memcmp(o->pk, g->cfg.self, HLS_KEY_BYTES) == 0 && g->store.is_direct_peer(g->store.ctx, s->pk);
  for (uint64_t q = from; q <= to; q++) {
    struct hls_gossip_item it;
    int rc = g->store.get(g->store.ctx, o->pk, q, &it);
    if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
    bool body = body_allowed(&it, direct);
    rc = pack_envelope_bin(&g->tmp, &it, body);
    if (rc != 0) return rc;
    ends[n++] = g->tmp.size;
    if (body) bodies++;
    bool stop = g->tmp.size >= g->cfg.batch_bytes || q == to;
    if (stop) {
      if ((q == o->head && o->head_ok) || stub_verifies(g, &it)) {
        if (q == o->head) o->head_ok = true;
        last_ok = q;
        last_ok_n = n;
        break;
      }
      /* A bad signature that a later header vouches for (only its origin
       * can make one): end the run earlier, at an item that verifies. */
      for (uint64_t b = q; b > from; b--) {
        rc = g->store.get(g->store.ctx, o->pk, b - 1, &it);
        if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
        if (stub_verifies(g, &it)) {
          last_ok = b - 1;
          last_ok_n = (size_t)(b - 1 - from + 1);
          break;
        }
      }
      break;
    }
  }
  if (last_ok == 0) {
    /* No item in reach verifies its own signature (only a broken or
     * malicious origin makes such a chain): wait for the chain to grow. */
    g->tmp.size = start;
    so->stalled = o->head;
    return 0;
  }
  g->tmp.size = ends[last_ok_n - 1];
  so->sent = last_ok;
  so->told = max_u64(so->told, last_ok);
  g->st.items_sent += last_ok_n;
  g->st.bodies_sent += bodies; /* (counted before a shrink: a bad-signature chain only) */
  *added = last_ok_n;
  return 0;
}

/* Send one ITEMS frame: runs of the origins waiting in the send queue, in
 * turn, up to batch_items envelopes and about batch_bytes. Origins with
 * more to send go to the back of the queue (round robin). *sent: whether
 * a frame went. */
static int send_items(struct hls_gossip *g, struct hls_gossip_session *s, bool *sent) {
  uint32_t requeue[HLS_GOSSIP_MAX_BATCH];
  size_t n_requeue = 0, total = 0;
  uint32_t idx;
  int rc = 0;
  *sent = false;
  g->tmp.size = 0;
  while (total < g->cfg.batch_items && g->tmp.size < g->cfg.batch_bytes && fifo_pop(&s->sendq, &idx)) {
    s->so[idx].in_send = 0;
    if (!hls_gossip__needs_send(g, s, idx)) {
      hls_gossip__note_head(g, s, idx); /* maybe only a tell now */
      continue;
    }
    size_t added;
    rc = append_run(g, s, idx, g->cfg.batch_items - total, &added);
    if (rc != 0) break;
    total += added;
    if (hls_gossip__needs_send(g, s, idx)) requeue[n_requeue++] = idx; /* never twice in one frame */
  }
  for (size_t i = 0; i < n_requeue; i++) {
    s->so[requeue[i]].in_send = 1;
    fifo_push(&s->sendq, requeue[i]);
  }
  if (rc != 0 || total == 0) return rc;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &g->out, msgpack_sbuffer_write);
  g->out.size = 0;
  size_t at = hls_frame_begin(&g->out);
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint32(&pk, HLS_GF_ITEMS));
  PK(msgpack_pack_array(&pk, (uint32_t)total));
  PK(msgpack_sbuffer_write(&g->out, g->tmp.data, g->tmp.size));
  s->inflight++;
  *sent = true;
  return send_frame(g, s, at);
}

/* Serve the bodies the peer asked for (it asked for its direct peer's,
 * i.e. our own, peers-audience stories). */
static int send_bodies(struct hls_gossip *g, struct hls_gossip_session *s) {
  bool direct = g->store.is_direct_peer(g->store.ctx, s->pk);
  g->tmp.size = 0;
  size_t n = 0;
  while (direct && s->asked_pos < s->n_asked && n < g->cfg.batch_items && g->tmp.size < g->cfg.batch_bytes) {
    uint64_t q = s->asked[s->asked_pos++];
    struct hls_gossip_item it;
    int rc = g->store.get(g->store.ctx, g->cfg.self, q, &it);
    if (rc == HLS_ENOTFOUND) continue;
    if (rc != 0) return rc;
    if (it.audience != HLS_AUD_PEERS || it.state != HLS_BODY_HELD || it.body == NULL) continue;
    rc = pack_envelope_bin(&g->tmp, &it, true);
    if (rc != 0) return rc;
    n++;
    g->st.bodies_sent++;
  }
  bool complete = !direct || s->asked_pos >= s->n_asked;
  msgpack_packer pk;
  msgpack_packer_init(&pk, &g->out, msgpack_sbuffer_write);
  g->out.size = 0;
  size_t at = hls_frame_begin(&g->out);
  PK(msgpack_pack_array(&pk, 3));
  PK(msgpack_pack_uint32(&pk, HLS_GF_BODIES));
  PK(complete ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  PK(msgpack_sbuffer_write(&g->out, g->tmp.data, g->tmp.size));
  if (complete) {
    s->asked_pending = false;
    s->n_asked = s->asked_pos = 0;
  }
  s->inflight++;
  return send_frame(g, s, at);
}

/* Send what the peer lacks while the window allows. */
int hls_gossip__pump(struct hls_gossip *g, struct hls_gossip_session *s) {
  if (!s->peer_vector_done) return 0;
  while (s->inflight < g->cfg.window) {
    if (s->asked_pending) {
      int rc = send_bodies(g, s);
      if (rc != 0) return rc;
      continue;
    }
    bool sent;
    int rc = send_items(g, s, &sent);
    if (rc != 0) return rc;
    if (!sent) break;
  }
  return 0;
}

/* Ask the peer (an origin) for the bodies of its items we hold as stubs. */
int hls_gossip__maybe_want(struct hls_gossip *g, struct hls_gossip_session *s) {
  if (s->want_out) return 0;
  int64_t idx = hls_gossip__origin_find(g, s->pk);
  if (idx < 0 || g->o[idx].forked || g->o[idx].blocked) return 0;
  size_t n = 0;
  int rc = g->store.stubs(g->store.ctx, s->pk, s->want_cursor, g->seqs, HLS_GOSSIP_MAX_WANT, &n);
  if (rc != 0) return rc;
  if (n == 0) return 0;
  if (s->wanted == NULL) {
    s->wanted = malloc(HLS_GOSSIP_MAX_WANT * sizeof *s->wanted);
    if (s->wanted == NULL) return HLS_ENOMEM;
  }
  memcpy(s->wanted, g->seqs, n * sizeof *s->wanted);
  s->n_wanted = n;
  s->want_out = true;
  s->want_cursor = g->seqs[n - 1];
  msgpack_packer pk;
  msgpack_packer_init(&pk, &g->out, msgpack_sbuffer_write);
  g->out.size = 0;
  size_t at = hls_frame_begin(&g->out);
  PK(msgpack_pack_array(&pk, 2));
  PK(msgpack_pack_uint32(&pk, HLS_GF_WANT));
  PK(msgpack_pack_array(&pk, (uint32_t)n));
  for (size_t i = 0; i < n; i++) PK(msgpack_pack_uint64(&pk, g->seqs[i]));
  return send_frame(g, s, at);
}
