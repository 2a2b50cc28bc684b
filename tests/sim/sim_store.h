/* One simulated node's durable store: what hlsd keeps in SQLite, kept in
 * memory and surviving the node's crashes. Items are interned in the
 * world, so a node holds, per origin, only how far its chain goes, which
 * branch (for an equivocating origin), whether it recorded a fork, and
 * one byte of body state per item.
 *
 * It answers the engine's struct hls_gossip_store and applies the
 * engine's STORE / BODY / ERASE / FORK actions, checking each against the
 * world as it goes: an item nobody published, a body where its audience
 * does not allow it, a body coming back after its erasure, an erasure
 * without a tombstone or fork evidence against an honest origin is a
 * violation, logged at once with the node and the virtual time (on
 * honest nodes: adversaries may hold what they like). */
#ifndef HLS_SIM_STORE_H
#define HLS_SIM_STORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "gossip.h"
#include "sim_world.h"

/* Where violations go: counted, the first few printed. */
struct sim_log {
  uint64_t seed;
  uint64_t violations;
  uint64_t printed;
  uint64_t max_printed;
  const uint64_t *now_ms; /* borrowed: the run's clock */
};
void sim_violation(struct sim_log *log, uint32_t node, const char *fmt, ...) HLS_PRINTF(3, 4);
void sim_vviolation(struct sim_log *log, uint32_t node, const char *fmt, va_list ap) HLS_PRINTF(3, 0);

struct sim_held {
  uint32_t n;     /* items 1..n of the origin are held */
  uint8_t branch; /* 1: from fork_seq on, the twin's branch */
  bool forked;    /* fork evidence recorded */
};

struct sim_store {
  const struct sim_world *w; /* borrowed */
  uint32_t node;
  bool checked; /* an honest node: what it is given is checked */
  struct sim_held *held; /* owned, [w->n_origins] */
  uint8_t *state;        /* owned, [w->n_slots]: body state per item */
  uint64_t *satisfied;   /* borrowed: checked pairs in their expected state */
  struct sim_log *log;   /* borrowed */
  uint64_t forks_recorded;
  uint64_t bodies_duplicate;
};

int sim_store_init(struct sim_store *st, const struct sim_world *w, uint32_t node, uint64_t *satisfied,
                   struct sim_log *log);
void sim_store_free(struct sim_store *st);
/* The vtable the engine reads through (ctx = st). */
struct hls_gossip_store sim_store_vtable(struct sim_store *st);

/* Apply a STORE, BODY, ERASE or FORK action. Always 0: what is wrong is
 * logged as a violation, and the store keeps what it was given. */
int sim_store_apply(struct sim_store *st, const struct hls_gossip_action *a);
/* This node publishes item seq of its own origin (on its branch): append
 * it with its body, and erase its own target if it is a tombstone. */
void sim_store_publish(struct sim_store *st, uint32_t o, int branch, const struct sim_item *it);

/* Make dst a copy of src (a restored backup): same world. */
void sim_store_copy(struct sim_store *dst, const struct sim_store *src);
/* Forget origin o's items above seq (dst of a copy only: nothing is
 * counted towards the oracle). */
void sim_store_truncate(struct sim_store *st, uint32_t o, uint64_t seq);

/* Body state of (origin, seq) here: -1 if not held. */
int sim_store_state(const struct sim_store *st, uint32_t o, uint64_t seq);
/* The item held at (o, seq), or NULL. */
const struct sim_item *sim_store_item(const struct sim_store *st, uint32_t o, uint64_t seq);
/* The latest profile held for o, decoded: 0, or HLS_ENOTFOUND. */
int sim_store_latest_profile(const struct sim_store *st, uint32_t o, struct hls_profile *out);

#endif
