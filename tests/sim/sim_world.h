/* What a simulated network is made of, fixed before it runs: the nodes'
 * keys, who lists whom as a direct peer, every chain each publisher will
 * publish (built and signed up front, interned once for all nodes) and so
 * the oracle: the state every honest node must end with for every honest
 * item. Nothing here reads the engine. */
#ifndef HLS_SIM_WORLD_H
#define HLS_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "sim_rng.h"

#define SIM_NONE UINT32_MAX
/* Virtual time 0 is 2026-02-16T12:00:00Z: envelope timestamps and the
 * engine's now_ms are this plus the simulated milliseconds. */
#define SIM_EPOCH_MS 1771243200000ull

enum sim_role {
  SIM_HONEST = 0,
  SIM_FORGER = 1, /* tampers with the ITEMS frames it sends */
  SIM_TWIN = 2,   /* a second node with another node's key: equivocates */
};

/* One signed item, identical on every node that holds it. */
struct sim_item {
  uint8_t id[HLS_HASH_BYTES];
  uint8_t sig[HLS_SIG_BYTES];
  uint8_t *stub; /* owned: the envelope with a nil body */
  size_t stub_len;
  uint8_t *body; /* owned */
  size_t body_len;
  uint64_t seq;
  uint64_t publish_ms; /* planned virtual time of publication */
  uint64_t target_seq; /* tombstone: the seq it erases; else 0 */
  int type, audience;
  bool tombstoned; /* a later item of the same branch erases its body */
};

/* One origin's chain. A twin origin has a second branch signed with the
 * same key from fork_seq on: alt[k] has seq fork_seq + k. */
struct sim_origin {
  uint32_t node;    /* the node that publishes the main branch */
  uint32_t twin;    /* the node that publishes alt, or SIM_NONE */
  bool adversary;   /* its items are allowed, never required */
  size_t n_items;   /* main branch: items[seq - 1] */
  struct sim_item *items;
  uint64_t fork_seq; /* 0: no second branch */
  size_t n_alt;
  struct sim_item *alt;
  uint64_t twin_start_ms; /* when the twin comes up with the prefix */
  size_t slot;            /* first of its slots in a node's state array */
};

struct sim_node_info {
  uint8_t pk[HLS_KEY_BYTES];
  uint8_t sk[64];
  uint32_t ident;  /* whose key it holds: itself, or the node its twin copies */
  uint32_t origin; /* index of the chain it publishes, or SIM_NONE */
  int role;        /* enum sim_role */
  uint32_t *listed; /* owned: identities its admin listed as direct peers */
  size_t n_listed;
};

struct sim_params {
  uint32_t nodes;
  uint32_t publishers;     /* nodes with a chain (adversaries included) */
  uint32_t items_per_node; /* items after the profile */
  bool faults;             /* loss, partitions, crashes, store failures */
  bool adversaries;        /* a forger and an equivocating twin */
  bool receipts;           /* some items are erasure receipts (docs/protocol.md 4.5) */
  uint64_t publish_window_ms;
  uint64_t fault_ms;       /* faults stop at this virtual time */
  uint64_t deadline_ms;    /* fail if not converged this long after */
};

struct sim_world {
  struct sim_params p;
  uint64_t seed;
  uint32_t n_nodes;
  struct sim_node_info *nodes; /* [n_nodes] */
  uint32_t n_origins;
  struct sim_origin *origins; /* [n_origins] */
  size_t n_slots; /* sum over origins of their longest branch */
  /* pk -> identity: open addressing over the first 8 key bytes. */
  uint32_t *pk_table;
  size_t pk_table_mask;
  uint64_t required;    /* honest (node, item) pairs the oracle requires */
  uint64_t last_publish_ms; /* latest planned publication of an honest item */
  uint32_t forger, twin;    /* adversary nodes, or SIM_NONE */
};

/* Build everything for one seed. 0 or HLS_ENOMEM / HLS_EINVAL. */
int sim_world_new(struct sim_world **out, const struct sim_params *p, uint64_t seed);
void sim_world_free(struct sim_world *w);

/* The identity whose public key is pk, or SIM_NONE. */
uint32_t sim_world_ident(const struct sim_world *w, const uint8_t pk[HLS_KEY_BYTES]);
/* The origin published under pk, or SIM_NONE. */
uint32_t sim_world_origin(const struct sim_world *w, const uint8_t pk[HLS_KEY_BYTES]);

/* The item seq of origin o on the given branch (0 main, 1 alt), or NULL. */
const struct sim_item *sim_world_item(const struct sim_world *w, uint32_t o, int branch, uint64_t seq);
/* How many items a branch has. */
uint64_t sim_world_chain_len(const struct sim_world *w, uint32_t o, int branch);

/* Did identity `lister` list identity `listed` as a direct peer? */
bool sim_world_lists(const struct sim_world *w, uint32_t lister, uint32_t listed);
/* May node hold the body of item (of origin o)? (Audience rule alone;
 * tombstones aside.) */
bool sim_world_body_allowed(const struct sim_world *w, uint32_t node, uint32_t o, const struct sim_item *it);
/* Is (node, origin) a pair the oracle checks: an honest node and an
 * honest origin? */
bool sim_world_checked(const struct sim_world *w, uint32_t node, uint32_t o);
/* The state (enum hls_body_state) the oracle
 * requires of a checked pair's item once the network has converged. */
int sim_world_expected(const struct sim_world *w, uint32_t node, uint32_t o, const struct sim_item *it);

/* The node a profile address "nN.sim:7420" names, or SIM_NONE. */
uint32_t sim_world_parse_address(const struct sim_world *w, const char *address);
/* The whole envelope of an item (stub with its body): out must hold
 * stub_len + body_len bytes; returns the length. */
size_t sim_item_envelope(const struct sim_item *it, uint8_t *out);

#endif
