#include "sim_store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_violation(struct sim_log *log, uint32_t node, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sim_vviolation(log, node, fmt, ap);
  va_end(ap);
}

void sim_vviolation(struct sim_log *log, uint32_t node, const char *fmt, va_list ap) {
  log->violations++;
  if (log->printed >= log->max_printed) return;
  log->printed++;
  char text[512];
  vsnprintf(text, sizeof text, fmt, ap);
  fprintf(stderr, "seed %" PRIu64 " t=%" PRIu64 "ms node %" PRIu32 ": %s\n", log->seed,
          log->now_ms != NULL ? *log->now_ms : 0, node, text);
}

/* A violation by what this node was given, if it is checked. */
HLS_PRINTF(2, 3) static void violation(const struct sim_store *st, const char *fmt, ...) {
  if (!st->checked) return;
  va_list ap;
  va_start(ap, fmt);
  sim_vviolation(st->log, st->node, fmt, ap);
  va_end(ap);
}

int sim_store_init(struct sim_store *st, const struct sim_world *w, uint32_t node, uint64_t *satisfied,
                   struct sim_log *log) {
  memset(st, 0, sizeof *st);
  st->w = w;
  st->node = node;
  st->satisfied = satisfied;
  st->log = log;
  st->checked = w->nodes[node].role == SIM_HONEST;
  st->held = calloc(w->n_origins ? w->n_origins : 1, sizeof *st->held);
  st->state = calloc(w->n_slots ? w->n_slots : 1, sizeof *st->state);
  if (st->held == NULL || st->state == NULL) {
    sim_store_free(st);
    return HLS_ENOMEM;
  }
  return 0;
}

void sim_store_free(struct sim_store *st) {
  free(st->held);
  free(st->state);
  st->held = NULL;
  st->state = NULL;
}

/* --- reading -------------------------------------------------------------------- */

const struct sim_item *sim_store_item(const struct sim_store *st, uint32_t o, uint64_t seq) {
  const struct sim_held *h = &st->held[o];
  if (seq == 0 || seq > h->n) return NULL;
  return sim_world_item(st->w, o, h->branch, seq);
}

int sim_store_state(const struct sim_store *st, uint32_t o, uint64_t seq) {
  if (seq == 0 || seq > st->held[o].n) return -1;
  return st->state[st->w->origins[o].slot + seq - 1];
}

int sim_store_latest_profile(const struct sim_store *st, uint32_t o, struct hls_profile *out) {
  for (uint64_t seq = st->held[o].n; seq >= 1; seq--) {
    const struct sim_item *it = sim_store_item(st, o, seq);
    if (it->type != HLS_ENV_PROFILE || sim_store_state(st, o, seq) != HLS_BODY_HELD) continue;
    struct hls_why why = {{0}};
    if (hls_profile_decode(out, it->body, it->body_len, &why) == 0) return 0;
  }
  return HLS_ENOTFOUND;
}

static int get(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq, struct hls_gossip_item *out) {
  struct sim_store *st = ctx;
  uint32_t o = sim_world_origin(st->w, origin);
  if (o == SIM_NONE) return HLS_ENOTFOUND;
  const struct sim_item *it = sim_store_item(st, o, seq);
  if (it == NULL) return HLS_ENOTFOUND;
  int state = sim_store_state(st, o, seq);
  out->stub = it->stub;
  out->stub_len = it->stub_len;
  out->body = state == HLS_BODY_HELD ? it->body : NULL;
  out->body_len = state == HLS_BODY_HELD ? it->body_len : 0;
  out->state = state;
  out->audience = it->audience;
  return 0;
}

static int stubs(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t after, uint64_t *seqs, size_t max,
                 size_t *n) {
  struct sim_store *st = ctx;
  *n = 0;
  uint32_t o = sim_world_origin(st->w, origin);
  if (o == SIM_NONE) return 0;
  for (uint64_t seq = after + 1; seq <= st->held[o].n && *n < max; seq++) {
    const struct sim_item *it = sim_store_item(st, o, seq);
    if (it->audience == HLS_AUD_PEERS && sim_store_state(st, o, seq) == HLS_BODY_STUB) seqs[(*n)++] = seq;
  }
  return 0;
}

static bool is_direct_peer(void *ctx, const uint8_t pk[HLS_KEY_BYTES]) {
  const struct sim_store *st = ctx;
  uint32_t ident = sim_world_ident(st->w, pk);
  return ident != SIM_NONE && sim_world_lists(st->w, st->node, ident);
}

struct hls_gossip_store sim_store_vtable(struct sim_store *st) {
  return (struct hls_gossip_store){.ctx = st, .get = get, .stubs = stubs, .is_direct_peer = is_direct_peer};
}

/* --- writing ---------------------------------------------------------------------- */

/* Does (o, seq) count towards the oracle here, and is it as required? */
static bool satisfied_at(const struct sim_store *st, uint32_t o, uint64_t seq) {
  if (!sim_world_checked(st->w, st->node, o)) return false;
  const struct sim_item *it = sim_store_item(st, o, seq);
  return it != NULL && sim_store_state(st, o, seq) == sim_world_expected(st->w, st->node, o, it);
}

static void set_state(struct sim_store *st, uint32_t o, uint64_t seq, int state) {
  bool before = satisfied_at(st, o, seq);
  st->state[st->w->origins[o].slot + seq - 1] = (uint8_t)state;
  bool after = satisfied_at(st, o, seq);
  *st->satisfied += (uint64_t)after - (uint64_t)before;
}

static void append(struct sim_store *st, uint32_t o, int branch, uint64_t seq, int state) {
  struct sim_held *h = &st->held[o];
  h->n = (uint32_t)seq;
  if (st->w->origins[o].fork_seq != 0 && seq >= st->w->origins[o].fork_seq) h->branch = (uint8_t)branch;
  st->state[st->w->origins[o].slot + seq - 1] = (uint8_t)state;
  *st->satisfied += satisfied_at(st, o, seq);
}

static bool same_body(const struct sim_item *it, const struct hls_envelope *env) {
  return env->body != NULL && env->body_len == it->body_len && memcmp(env->body, it->body, it->body_len) == 0;
}

static const char *hex8(const uint8_t *b, char out[17]) {
  for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return out;
}

/* Which published item env is, on which branch; NULL if none. */
static const struct sim_item *identify(const struct sim_store *st, uint32_t o, const struct hls_envelope *env,
                                       int *branch) {
  for (int b = 0; b < 2; b++) {
    if (b == 1 && st->w->origins[o].fork_seq == 0) break;
    const struct sim_item *it = sim_world_item(st->w, o, b, env->h.seq);
    if (it != NULL && memcmp(it->id, env->id, HLS_HASH_BYTES) == 0) {
      *branch = b;
      return it;
    }
  }
  return NULL;
}

static void apply_store(struct sim_store *st, const struct hls_gossip_action *a) {
  char hex[17];
  for (size_t k = 0; k < a->n; k++) {
    const struct hls_envelope *env = &a->envs[k];
    int state = a->states[k];
    uint32_t o = sim_world_origin(st->w, env->h.origin);
    if (o == SIM_NONE) {
      violation(st, "STORE of an item of unknown origin %s seq %" PRIu64 " (forged)",
                    hex8(env->h.origin, hex), env->h.seq);
      continue;
    }
    struct sim_held *h = &st->held[o];
    int branch = 0;
    const struct sim_item *it = identify(st, o, env, &branch);
    if (it == NULL) {
      violation(st, "STORE of an item nobody published: origin %" PRIu32 " seq %" PRIu64
                    " id %s (forged)", o, env->h.seq, hex8(env->id, hex));
      continue;
    }
    if (h->forked)
      violation(st, "STORE of origin %" PRIu32 " seq %" PRIu64 " after recording its fork", o,
                    env->h.seq);
    if (env->h.seq <= h->n) {
      violation(st, "STORE of origin %" PRIu32 " seq %" PRIu64 " already held (head %" PRIu32
                    ")", o, env->h.seq, h->n);
      continue;
    }
    if (env->h.seq != (uint64_t)h->n + 1) {
      violation(st, "STORE of origin %" PRIu32 " seq %" PRIu64 " leaves a gap (head %" PRIu32 ")",
                    o, env->h.seq, h->n);
      continue;
    }
    if (env->h.seq > 1 && env->h.seq > st->w->origins[o].fork_seq && st->w->origins[o].fork_seq != 0 &&
        h->n >= st->w->origins[o].fork_seq && branch != h->branch)
      violation(st, "STORE links origin %" PRIu32 " seq %" PRIu64 " to the other branch", o,
                    env->h.seq);
    if (state == HLS_BODY_HELD) {
      if (!same_body(it, env))
        violation(st, "STORE with state held of origin %" PRIu32 " seq %" PRIu64
                      " without its published body", o, env->h.seq);
      if (!sim_world_body_allowed(st->w, st->node, o, it))
        violation(st, "STORE of the body of origin %" PRIu32 " seq %" PRIu64
                      " (audience peers) at a node the origin did not list", o, env->h.seq);
    } else if (state == HLS_BODY_ERASED) {
      /* Stored already erased: only for the target of a tombstone of the
       * same run (a tombstone and its target received together). */
      bool vouched = false;
      for (size_t j = k + 1; j < a->n && !vouched; j++) {
        int b = 0;
        const struct sim_item *later = identify(st, o, &a->envs[j], &b);
        vouched = later != NULL && later->type == HLS_ENV_TOMBSTONE && later->target_seq == env->h.seq;
      }
      if (!vouched)
        violation(st, "STORE of origin %" PRIu32 " seq %" PRIu64
                      " as erased without its tombstone in the run", o, env->h.seq);
    } else if (state != HLS_BODY_STUB) {
      violation(st, "STORE with state %d", state);
      state = HLS_BODY_STUB;
    }
    append(st, o, branch, env->h.seq, state);
  }
}

static void apply_body(struct sim_store *st, const struct hls_gossip_action *a) {
  if (a->n < 1) {
    violation(st, "BODY without an envelope");
    return;
  }
  const struct hls_envelope *env = &a->envs[0];
  uint32_t o = sim_world_origin(st->w, env->h.origin);
  const struct sim_item *it = o == SIM_NONE ? NULL : sim_store_item(st, o, env->h.seq);
  if (it == NULL || memcmp(it->id, env->id, HLS_HASH_BYTES) != 0) {
    violation(st, "BODY for an item not held (origin %" PRIu32 " seq %" PRIu64 ")", o,
                  env->h.seq);
    return;
  }
  if (!same_body(it, env))
    violation(st, "BODY of origin %" PRIu32 " seq %" PRIu64 " is not the published body", o,
                  env->h.seq);
  if (!sim_world_body_allowed(st->w, st->node, o, it))
    violation(st, "BODY of origin %" PRIu32 " seq %" PRIu64
                  " (audience peers) at a node the origin did not list", o, env->h.seq);
  int state = sim_store_state(st, o, env->h.seq);
  if (state == HLS_BODY_ERASED) {
    violation(st, "BODY of origin %" PRIu32 " seq %" PRIu64 " after its tombstone erased it", o,
                  env->h.seq);
    return;
  }
  if (state == HLS_BODY_HELD) {
    st->bodies_duplicate++;
    return;
  }
  set_state(st, o, env->h.seq, HLS_BODY_HELD);
}

/* Did the origin publish a tombstone of (o, seq) (on either branch of
 * an equivocating origin)? (Not necessarily held yet: an engine may erase a target just
 * before it stores the tombstone, so that no failure in between can
 * leave a tombstone held with its target's body.) */
static bool tombstone_published(const struct sim_store *st, uint32_t o, uint64_t seq) {
  for (int branch = 0; branch < (st->w->origins[o].fork_seq != 0 ? 2 : 1); branch++)
    for (uint64_t s = seq + 1; s <= sim_world_chain_len(st->w, o, branch); s++) {
      const struct sim_item *it = sim_world_item(st->w, o, branch, s);
      if (it->type == HLS_ENV_TOMBSTONE && it->target_seq == seq) return true;
    }
  return false;
}

static void apply_erase(struct sim_store *st, const struct hls_gossip_action *a) {
  uint32_t o = a->origin == NULL ? SIM_NONE : sim_world_origin(st->w, a->origin);
  if (o == SIM_NONE || sim_store_item(st, o, a->seq) == NULL) {
    violation(st, "ERASE of an item not held (origin %" PRIu32 " seq %" PRIu64 ")", o, a->seq);
    return;
  }
  if (!tombstone_published(st, o, a->seq))
    violation(st, "ERASE of origin %" PRIu32 " seq %" PRIu64 ", which no tombstone erases", o,
                  a->seq);
  set_state(st, o, a->seq, HLS_BODY_ERASED);
}

/* Fork evidence (docs/protocol.md 8.5) is two items the origin signed
 * that cannot both be in one chain: ours at the action's seq, and theirs
 * either different at the same seq, or at the next seq with a prev that
 * is not ours. */
static bool fork_evidence_ok(const struct hls_gossip_action *a) {
  const uint8_t *stubs_in[2] = {a->ours, a->theirs};
  size_t lens[2] = {a->ours_len, a->theirs_len};
  struct hls_envelope env[2];
  for (int i = 0; i < 2; i++) {
    struct hls_why why = {{0}};
    if (stubs_in[i] == NULL || hls_env_decode(&env[i], stubs_in[i], lens[i], &why) != 0) return false;
    if (hls_env_verify(&env[i]) != 0) return false;
    if (memcmp(env[i].h.origin, a->origin, HLS_KEY_BYTES) != 0) return false;
  }
  if (env[0].h.seq != a->seq) return false;
  if (env[1].h.seq == a->seq) return memcmp(env[0].id, env[1].id, HLS_HASH_BYTES) != 0;
  return env[1].h.seq == a->seq + 1 && memcmp(env[1].h.prev, env[0].id, HLS_HASH_BYTES) != 0;
}

static void apply_fork(struct sim_store *st, const struct hls_gossip_action *a) {
  uint32_t o = a->origin == NULL ? SIM_NONE : sim_world_origin(st->w, a->origin);
  if (o == SIM_NONE) {
    violation(st, "FORK of an unknown origin");
    return;
  }
  if (!fork_evidence_ok(a))
    violation(st, "FORK of origin %" PRIu32 " seq %" PRIu64 ": the evidence does not hold", o,
                  a->seq);
  if (st->w->origins[o].fork_seq == 0)
    violation(st, "FORK reported against origin %" PRIu32 ", which never equivocated", o);
  else if (a->seq < st->w->origins[o].fork_seq)
    violation(st, "FORK of origin %" PRIu32 " at seq %" PRIu64 ", before its fork (%" PRIu64
                  ")", o, a->seq, st->w->origins[o].fork_seq);
  if (!st->held[o].forked) st->forks_recorded++;
  st->held[o].forked = true;
}

int sim_store_apply(struct sim_store *st, const struct hls_gossip_action *a) {
  switch (a->type) {
    case HLS_GA_STORE: apply_store(st, a); break;
    case HLS_GA_BODY: apply_body(st, a); break;
    case HLS_GA_ERASE: apply_erase(st, a); break;
    case HLS_GA_FORK: apply_fork(st, a); break;
    default: break;
  }
  return 0;
}

void sim_store_copy(struct sim_store *dst, const struct sim_store *src) {
  memcpy(dst->held, src->held, src->w->n_origins * sizeof *dst->held);
  memcpy(dst->state, src->state, src->w->n_slots * sizeof *dst->state);
}

void sim_store_truncate(struct sim_store *st, uint32_t o, uint64_t seq) {
  if (st->held[o].n > seq) st->held[o].n = (uint32_t)seq;
  if (st->w->origins[o].fork_seq != 0 && seq < st->w->origins[o].fork_seq) st->held[o].branch = 0;
}

void sim_store_publish(struct sim_store *st, uint32_t o, int branch, const struct sim_item *it) {
  if (it->seq != (uint64_t)st->held[o].n + 1) {
    violation(st, "publishes seq %" PRIu64 " over head %" PRIu32, it->seq, st->held[o].n);
    return;
  }
  append(st, o, branch, it->seq, HLS_BODY_HELD);
  if (it->type == HLS_ENV_TOMBSTONE && sim_store_state(st, o, it->target_seq) >= 0)
    set_state(st, o, it->target_seq, HLS_BODY_ERASED);
}
