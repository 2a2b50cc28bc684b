/* Inside the gossip engine (not for other modules: gossip.h is the
 * engine's outside): its state, and what its files (gossip*.c, listed at
 * the top of gossip.c) share. Small helpers several files use are static
 * inline here; the rest carry the hls_gossip__ prefix, each described
 * where it is defined, under the file that defines it. */
#ifndef HLS_GOSSIP_INTERNAL_H
#define HLS_GOSSIP_INTERNAL_H

#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gossip.h"

/* --- state ------------------------------------------------------------------ */

struct origin {
  uint8_t pk[HLS_KEY_BYTES];
  uint64_t head;
  uint8_t head_id[HLS_HASH_BYTES];
  uint64_t last_dial_ms;
  bool forked, dialled;
  bool blocked; /* the admin blocked it: its items are refused from anyone and never sent */
  bool successor_told; /* blocked: its successor was told the host (store.blocked_successor) */
  bool head_ok; /* the head's own signature is known good (checked, or ours) */
  bool closed_known; /* closed is known (asked the store, or saw the successor) */
  uint64_t closed;   /* seq of the origin's successor item (4.9): 0 while its chain is open */
  size_t n_addr;
  char **addr; /* owned */
};

struct fifo { /* origin indexes, each at most once (guarded by flags) */
  uint32_t *v;
  size_t head, tail, cap;
};

struct sess_origin {
  uint64_t peer_has, sent, told;
  uint64_t stalled; /* no batch could end on a verifiable item while head <= this */
  uint8_t in_send, in_tell;
};

struct hls_gossip_session {
  struct hls_gossip *g;
  struct hls_gossip_session *next, *prev;
  void *ctx;
  uint8_t pk[HLS_KEY_BYTES];
  bool peer_vector_done;
  /* Origins the peer's vector named that this node did not follow then,
   * with the head it named: it pushes them (our vector lacks them), and
   * until they arrive this node is behind by them. Kept only for a direct
   * peer (listed by the admin): any member could name 100,000 made-up
   * chains in every session; at most max_origins. */
  struct unknown_head {
    uint8_t pk[HLS_KEY_BYTES];
    uint64_t head;
  } *unknown;
  size_t n_unknown, cap_unknown;
  uint32_t inflight; /* our ITEMS/BODIES frames not yet acknowledged */
  struct sess_origin *so;
  size_t so_cap;
  struct fifo sendq, tellq;
  /* Bodies we asked this peer (its own items) for. */
  bool want_out;
  uint64_t *wanted;
  size_t n_wanted;
  uint64_t want_cursor; /* highest seq ever asked in this session */
  /* Bodies this peer asked us for, served by the pump. */
  bool asked_pending;
  uint64_t *asked;
  size_t n_asked, asked_pos;
};

struct hls_gossip {
  struct hls_gossip_config cfg;
  struct hls_gossip_store store;
  hls_gossip_emit_fn emit;
  void *emit_ctx;
  uint64_t rng;
  uint8_t hash_key[crypto_shorthash_KEYBYTES];
  /* origins */
  struct origin *o;
  size_t n_o, cap_o;
  uint32_t *map; /* open addressing: index+1, 0 empty */
  size_t map_cap;
  /* sessions */
  struct hls_gossip_session *sessions;
  size_t n_sessions;
  /* timers */
  uint64_t now_ms, last_tell_ms, last_dial_ms;
  bool ticked;
  /* scratch */
  msgpack_sbuffer out, tmp;
  struct hls_envelope *envs; /* HLS_GOSSIP_MAX_BATCH */
  int *states;
  struct hls_gossip_vector_entry *ventries;
  struct hls_gossip_vector_entry *acks; /* HLS_GOSSIP_MAX_BATCH: runs of an ITEMS frame */
  uint64_t *seqs;
  struct hls_gossip_stats st;
  /* Fork evidence not recorded yet because a store action failed, at most
   * one per origin (so at most max_origins): recorded by the tick, as the
   * conflicting item may never come again. */
  struct pending_fork {
    uint32_t idx;
    uint64_t seq;
    uint8_t *ours, *theirs; /* owned stubs */
    size_t ours_len, theirs_len;
    bool reported;                   /* by another node's fork item (4.7), not found here */
    uint8_t reporter[HLS_KEY_BYTES]; /* if reported: its origin */
    uint64_t report_seq;             /* and its seq */
  } *pforks; /* owned */
  size_t n_pforks, cap_pforks;
};

static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static inline void fifo_push(struct fifo *q, uint32_t x) {
  if (q->tail == q->cap) { /* live entries < cap: compact */
    size_t n = q->tail - q->head;
    memmove(q->v, q->v + q->head, n * sizeof *q->v);
    q->head = 0;
    q->tail = n;
  }
  q->v[q->tail++] = x;
}

static inline bool fifo_pop(struct fifo *q, uint32_t *x) {
  if (q->head == q->tail) return false;
  *x = q->v[q->head++];
  if (q->head == q->tail) q->head = q->tail = 0;
  return true;
}

/* --- origin table ----------------------------------------------------------- */

int64_t hls_gossip__origin_find(const struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES]);
void hls_gossip__map_insert(struct hls_gossip *g, uint32_t idx);
int hls_gossip__origin_add(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES], uint32_t *idx);
void hls_gossip__origin_free_addr(struct origin *o);
int hls_gossip__origin_set_profile(struct origin *o, const struct hls_profile *p);

/* --- queues ----------------------------------------------------------------- */

bool hls_gossip__needs_send(const struct hls_gossip *g, const struct hls_gossip_session *s, uint32_t idx);
void hls_gossip__note_head(struct hls_gossip *g, struct hls_gossip_session *s, uint32_t idx);

/* --- frames out (gossip_send.c) --------------------------------------------- */

int hls_gossip__send_ack(struct hls_gossip *g, struct hls_gossip_session *s,
                         const struct hls_gossip_vector_entry *acks, size_t n);
int hls_gossip__send_vector(struct hls_gossip *g, struct hls_gossip_session *s, const uint32_t *idx, size_t n,
                            bool complete);
int hls_gossip__pump(struct hls_gossip *g, struct hls_gossip_session *s);
int hls_gossip__maybe_want(struct hls_gossip *g, struct hls_gossip_session *s);

/* --- events ----------------------------------------------------------------- */

/* An item this node signed, already stored, of its chain or (a tombstone)
 * of a key it held before: follow it and push it. */
int hls_gossip__local(struct hls_gossip *g, const struct hls_envelope *e, struct hls_why *why);
struct hls_gossip_session *hls_gossip__session_by_pk(struct hls_gossip *g, const uint8_t pk[HLS_KEY_BYTES]);
int hls_gossip__head_moved(struct hls_gossip *g, uint32_t idx);

/* --- accepting items (gossip_accept.c) -------------------------------------- */

int hls_gossip__retry_forks(struct hls_gossip *g);
int hls_gossip__on_items(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                         struct hls_why *why);

#endif
