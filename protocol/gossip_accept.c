/* Taking items into the chains held (docs/protocol.md 8.3 Accepting
 * items, 8.5 Forks, 8.9 Imported items): the runs of an ITEMS frame
 * checked against the chain held (gaps, overlaps, links, one signature a
 * run, audience, tombstones) and stored; fork evidence, kept for the tick
 * when the store fails to record it; and imports, taken as ITEMS from no
 * session. */
#include "gossip_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "nodeid.h"

static bool fork_pending(const struct hls_gossip *g, uint32_t idx) {
  for (size_t i = 0; i < g->n_pforks; i++)
    if (g->pforks[i].idx == idx) return true;
  return false;
}

/* Keep fork evidence of origin idx (stubs copied) for the tick to record,
 * unless some is kept for that origin already. Only a failed allocation
 * loses it. */
static void fork_keep(struct hls_gossip *g, uint32_t idx, uint64_t seq, const uint8_t *ours, size_t ours_len,
                      const uint8_t *theirs, size_t theirs_len, const uint8_t *reporter, uint64_t report_seq) {
  if (fork_pending(g, idx)) return;
  if (g->n_pforks == g->cap_pforks) {
    size_t cap = g->cap_pforks ? 2 * g->cap_pforks : 4;
    struct pending_fork *p = realloc(g->pforks, cap * sizeof *p);
    if (p == NULL) return;
    g->pforks = p;
    g->cap_pforks = cap;
  }
  uint8_t *o = malloc(ours_len), *t = malloc(theirs_len);
  if (o == NULL || t == NULL) {
    free(o);
    free(t);
    return;
  }
  memcpy(o, ours, ours_len);
  memcpy(t, theirs, theirs_len);
  struct pending_fork *p = &g->pforks[g->n_pforks++];
  *p = (struct pending_fork){.idx = idx, .seq = seq, .ours = o, .ours_len = ours_len, .theirs = t,
                             .theirs_len = theirs_len, .reported = reporter != NULL, .report_seq = report_seq};
  if (reporter != NULL) memcpy(p->reporter, reporter, HLS_KEY_BYTES);
}

/* Record fork evidence and stop following the origin. If the store fails
 * to, the evidence is kept for the tick (peers send only what is above
 * our head: the conflicting item may never come again). */
static int fork_found(struct hls_gossip *g, uint32_t idx, uint64_t seq, const struct hls_gossip_item *ours,
                      const struct hls_envelope *theirs) {
  g->tmp.size = 0;
  int rc = hls_env_encode_stub(&g->tmp, theirs);
  if (rc != 0) return rc;
  struct hls_gossip_action a = {.type = HLS_GA_FORK, .origin = g->o[idx].pk, .seq = seq, .ours = ours->stub,
                                .ours_len = ours->stub_len, .theirs = (const uint8_t *)g->tmp.data,
                                .theirs_len = g->tmp.size};
  rc = g->emit(g->emit_ctx, &a);
  if (rc != 0) {
    fork_keep(g, idx, seq, ours->stub, ours->stub_len, (const uint8_t *)g->tmp.data, g->tmp.size, NULL, 0);
    return rc;
  }
  g->o[idx].forked = true;
  g->st.forked++;
  return 0;
}

/* Record the fork evidence kept after failed store actions, in the order
 * found; at the first failure the rest stay kept for a later tick. */
int hls_gossip__retry_forks(struct hls_gossip *g) {
  size_t kept = 0;
  int rc = 0;
  for (size_t i = 0; i < g->n_pforks; i++) {
    struct pending_fork *p = &g->pforks[i];
    if (rc == 0 && !g->o[p->idx].forked) {
      struct hls_gossip_action a = {.type = HLS_GA_FORK, .origin = g->o[p->idx].pk, .seq = p->seq, .ours = p->ours,
                                    .ours_len = p->ours_len, .theirs = p->theirs, .theirs_len = p->theirs_len,
                                    .reporter = p->reported ? p->reporter : NULL, .report_seq = p->report_seq};
      rc = g->emit(g->emit_ctx, &a);
      if (rc == 0) {
        g->o[p->idx].forked = true;
        g->st.forked++;
      }
    }
    if (rc != 0 && !g->o[p->idx].forked) {
      g->pforks[kept++] = *p;
    } else {
      free(p->ours);
      free(p->theirs);
    }
  }
  g->n_pforks = kept;
  return rc;
}

/* A fork item of origin idx was stored (docs/protocol.md 4.7): its
 * evidence, verified when the item was decoded, stops this node following
 * the forked origin as if it had found the fork itself, unless it follows
 * it no more already, or the origin is this node (nobody stops following
 * itself; its admin sees the report among the items). If the store fails
 * to record it, the evidence is kept for the tick: the item is stored
 * already and does not come again. */
static int fork_reported(struct hls_gossip *g, uint32_t idx, const struct hls_envelope *e) {
  struct hls_fork f;
  if (hls_fork_decode(&f, e->body, e->body_len, NULL) != 0) return 0; /* cannot be: decoded with the item */
  if (memcmp(f.origin, g->cfg.self, HLS_KEY_BYTES) == 0) return 0;
  uint8_t reporter[HLS_KEY_BYTES];
  memcpy(reporter, g->o[idx].pk, HLS_KEY_BYTES); /* g->o may move below */
  int64_t x = hls_gossip__origin_find(g, f.origin);
  uint32_t xi;
  if (x >= 0) {
    xi = (uint32_t)x;
  } else {
    int rc = hls_gossip__origin_add(g, f.origin, &xi);
    /* HLS_ELIMIT: not followed anyway. Out of memory: the report is lost
     * here (the item is held), not the run (accept_run forgets the last
     * origin added when a STORE fails). */
    if (rc != 0) return 0;
  }
  if (g->o[xi].forked || fork_pending(g, xi)) return 0;
  struct hls_gossip_action a = {.type = HLS_GA_FORK, .origin = g->o[xi].pk, .seq = f.seq, .ours = f.a,
                                .ours_len = f.a_len, .theirs = f.b, .theirs_len = f.b_len, .reporter = reporter,
                                .report_seq = e->h.seq};
  if (g->emit(g->emit_ctx, &a) != 0) {
    fork_keep(g, xi, f.seq, f.a, f.a_len, f.b, f.b_len, reporter, e->h.seq);
    return 0;
  }
  g->o[xi].forked = true;
  g->st.forked++;
  return 0;
}

/* Emit STORE for n consecutive new items of origin idx and move its head;
 * the newest profile among them gives the origin's addresses; fork items
 * among them stop this node following the origins they name. */
static int store_run(struct hls_gossip *g, uint32_t idx, const struct hls_envelope *e, const int *states, size_t n,
                     bool verified) {
  struct hls_gossip_action a = {.type = HLS_GA_STORE, .n = n, .envs = e, .states = states};
  int rc = g->emit(g->emit_ctx, &a);
  if (rc != 0) return rc;
  struct origin *o = &g->o[idx];
  o->head = e[n - 1].h.seq;
  memcpy(o->head_id, e[n - 1].id, HLS_HASH_BYTES);
  o->head_ok = verified; /* the batch's newest item had its signature checked */
  g->st.items_received += n;
  for (size_t i = 0; i < n; i++) {
    if (e[i].h.type != HLS_ENV_PROFILE || e[i].body == NULL) continue;
    struct hls_profile prof;
    if (hls_profile_decode(&prof, e[i].body, e[i].body_len, NULL) == 0) {
      rc = hls_gossip__origin_set_profile(o, &prof);
      if (rc != 0) return rc;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (e[i].h.type == HLS_ENV_SUCCESSOR && o->closed == 0) {
      o->closed = e[i].h.seq;
      o->closed_known = true;
    }
  for (size_t i = 0; i < n; i++) {
    if (e[i].h.type != HLS_ENV_FORK || e[i].body == NULL) continue;
    rc = fork_reported(g, idx, &e[i]);
    if (rc != 0) return rc;
  }
  return 0;
}

/* Erase the body tombstone t names (t is in the batch e[0..n)), if it is a
 * story or a digest: a tombstone naming a profile or a tombstone erases
 * nothing, so those always travel whole. */
static int erase_for(struct hls_gossip *g, uint32_t idx, const struct hls_envelope *t, const struct hls_envelope *e,
                     size_t n) {
  struct hls_tombstone tb;
  if (hls_tombstone_decode(&tb, t->body, t->body_len, NULL) != 0 || tb.target_seq >= t->h.seq) return 0;
  int type = 0;
  if (tb.target_seq >= e[0].h.seq && tb.target_seq - e[0].h.seq < n) {
    type = e[tb.target_seq - e[0].h.seq].h.type;
  } else {
    struct hls_gossip_item it;
    struct hls_envelope te;
    int rc = g->store.get(g->store.ctx, g->o[idx].pk, tb.target_seq, &it);
    if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
    if (hls_env_decode(&te, it.stub, it.stub_len, NULL) != 0) return HLS_EINTERNAL;
    type = te.h.type;
  }
  if (type != HLS_ENV_STORY && type != HLS_ENV_DIGEST) return 0;
  struct hls_gossip_action er = {.type = HLS_GA_ERASE, .origin = g->o[idx].pk, .seq = tb.target_seq,
                                 .timestamp_ms = t->h.timestamp_ms};
  return g->emit(g->emit_ctx, &er);
}

/* The seq of origin idx's successor (0: its chain is open), asked of
 * the store once. */
static int origin_closed(struct hls_gossip *g, uint32_t idx, uint64_t *closed) {
  struct origin *o = &g->o[idx];
  if (!o->closed_known && g->store.successor_seq != NULL) {
    uint64_t seq = 0;
    int rc = g->store.successor_seq(g->store.ctx, o->pk, &seq);
    if (rc != 0) return rc;
    if (o->closed == 0) o->closed = seq;
  }
  o->closed_known = true;
  *closed = o->closed;
  return 0;
}

/* Where the new items e[k..n) of origin idx break its closed chain
 * (docs/protocol.md 4.9): the index of the first that is not a
 * tombstone after a successor (held, or earlier in the run), n if none;
 * *succ_seq gets that successor's seq. */
static int closed_cut(struct hls_gossip *g, int64_t f, const struct hls_envelope *e, size_t k, size_t n, size_t *cut,
                      uint64_t *succ_seq) {
  uint64_t closed = 0;
  if (f >= 0) {
    int rc = origin_closed(g, (uint32_t)f, &closed);
    if (rc != 0) return rc;
  }
  *cut = n;
  for (size_t i = k; i < n; i++) {
    if (closed != 0 && e[i].h.type != HLS_ENV_TOMBSTONE) {
      *cut = i;
      *succ_seq = closed;
      return 0;
    }
    if (closed == 0 && e[i].h.type == HLS_ENV_SUCCESSOR) closed = e[i].h.seq;
  }
  return 0;
}

static int verify(struct hls_gossip *g, const struct hls_envelope *e) {
  g->st.verifications++;
  return hls_env_verify(e);
}

/* A blocked origin's successor among the items of a run refused: checked
 * (its signature, its body's hash at decoding, the new key's signature)
 * and told the host once, so that the block follows the node to its new
 * key. Without it a blocked member would escape the block by moving to
 * a new key: its successor is in the chain this node refuses. */
static void blocked_successor(struct hls_gossip *g, uint32_t f, const struct hls_envelope *e, size_t n) {
  if (g->store.blocked_successor == NULL || g->o[f].successor_told) return;
  for (size_t i = 0; i < n; i++) {
    struct hls_successor su;
    if (e[i].h.type != HLS_ENV_SUCCESSOR || e[i].body == NULL || verify(g, &e[i]) != 0 ||
        hls_successor_decode(&su, e[i].body, e[i].body_len, NULL) != 0 ||
        hls_successor_verify(&su, e[i].h.origin, NULL) != 0)
      continue;
    g->o[f].successor_told = true;
    g->store.blocked_successor(g->store.ctx, e[i].h.origin, su.new_id);
    return;
  }
}

/* Does the run e[0..n) (linked) of origin idx, followed and not forked,
 * whose first seq is at most its head + 1, contradict the chain held
 * (docs/protocol.md 8.3 steps 4-5)? The newest item it overlaps must be
 * the one held (the links then make every earlier one ours too); if
 * none, the first must link to the head. *at gets the index of the
 * conflicting item (n: none), *seq and *ours the held item it conflicts
 * with (a store view). A conflicting item whose own signature does not
 * verify is HLS_EBADSIG, not evidence; a store error comes back. */
static int run_conflict(struct hls_gossip *g, uint32_t idx, const struct hls_envelope *e, size_t n, size_t *at,
                        uint64_t *seq, struct hls_gossip_item *ours, struct hls_why *why) {
  const struct origin *o = &g->o[idx];
  uint64_t first = e[0].h.seq, last = e[n - 1].h.seq;
  size_t c;
  *at = n;
  if (first <= o->head) {
    *seq = last < o->head ? last : o->head;
    c = (size_t)(*seq - first);
  } else if (o->head > 0 && sodium_memcmp(e[0].h.prev, o->head_id, HLS_HASH_BYTES) != 0) {
    *seq = o->head;
    c = 0;
  } else {
    return 0;
  }
  int rc = g->store.get(g->store.ctx, o->pk, *seq, ours);
  if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
  if (e[c].h.seq == *seq) {
    struct hls_envelope oe;
    if (hls_env_decode(&oe, ours->stub, ours->stub_len, NULL) != 0) return HLS_EINTERNAL;
    if (memcmp(oe.id, e[c].id, HLS_HASH_BYTES) == 0) return 0;
  }
  if (verify(g, &e[c]) != 0)
    return hls_why_set(why, HLS_EBADSIG, "items: item %llu has a bad signature", (unsigned long long)e[c].h.seq);
  *at = c;
  return 0;
}

/* An ITEMS frame ended early, at the run e[0..): the event failed on
 * this node's side (a store action, ...), so the runs from there on were
 * not taken. Their fork evidence is kept all the same, for the tick to
 * record: the conflicting items may never come again. Nothing is
 * emitted (the event is over); what cannot be checked now (a store
 * error, a bad signature) is left. */
static void keep_forks_after_failure(struct hls_gossip *g, const struct hls_envelope *e, size_t n) {
  for (size_t a = 0, b; a < n; a = b) {
    for (b = a + 1; b < n && memcmp(e[b].h.origin, e[a].h.origin, HLS_KEY_BYTES) == 0; b++) continue;
    int64_t f = hls_gossip__origin_find(g, e[a].h.origin);
    if (f < 0 || g->o[f].forked || fork_pending(g, (uint32_t)f) || e[a].h.seq > g->o[f].head + 1) continue;
    size_t at;
    uint64_t seq;
    struct hls_gossip_item ours;
    if (run_conflict(g, (uint32_t)f, &e[a], b - a, &at, &seq, &ours, NULL) != 0 || at == b - a) continue;
    g->tmp.size = 0;
    if (hls_env_encode_stub(&g->tmp, &e[a + at]) != 0) continue;
    fork_keep(g, (uint32_t)f, seq, ours.stub, ours.stub_len, (const uint8_t *)g->tmp.data, g->tmp.size, NULL, 0);
  }
}

/* One run of an ITEMS frame: n linked items e[0..n) of one origin, whose
 * states go in states[0..n). *ack gets this node's head for the origin
 * afterwards (docs/protocol.md 8.3). s is NULL for an import
 * (hls_gossip_import): items from no session, so from no origin. */
static int accept_run(struct hls_gossip *g, struct hls_gossip_session *s, struct hls_envelope *e, size_t n,
                      int *states, uint64_t *ack, struct hls_why *why) {
  int rc;
  const uint8_t *opk = e[0].h.origin;
  uint64_t first = e[0].h.seq, last = e[n - 1].h.seq;
  bool from_origin = s != NULL && memcmp(opk, s->pk, HLS_KEY_BYTES) == 0;

  int64_t f = hls_gossip__origin_find(g, opk);
  uint64_t head = f >= 0 ? g->o[f].head : 0;
  *ack = head;
  if (f >= 0 && g->o[f].forked) return 0;                    /* not following it any more */
  if (f >= 0 && g->o[f].blocked) {                            /* refused, from anyone */
    g->st.items_blocked += n;
    blocked_successor(g, (uint32_t)f, e, n);
    return 0;
  }
  if (f < 0 && g->n_o >= g->cfg.max_origins) return 0;        /* not followed: ignored */
  if (first > head + 1)
    return hls_why_set(why, HLS_ECHAIN, "items: seq %llu leaves a gap after %llu", (unsigned long long)first,
                       (unsigned long long)head);

  if (f >= 0) {
    size_t at;
    uint64_t seq;
    struct hls_gossip_item ours;
    rc = run_conflict(g, (uint32_t)f, e, n, &at, &seq, &ours, why);
    if (rc != 0) return rc;
    if (at < n) return fork_found(g, (uint32_t)f, seq, &ours, &e[at]);
  }

  /* Items up to the head are ours (run_conflict): duplicates. */
  size_t k = first <= head ? (size_t)((last < head ? last : head) - first + 1) : 0; /* the first new one */
  if (k > 0) {
    g->st.items_duplicate += k;
    /* The origin sending bodies of its peers-audience stories we hold as
     * stubs (we are its direct peer). */
    struct hls_gossip_item ours;
    for (size_t i = 0; i < k; i++) {
      if (e[i].body == NULL || e[i].h.audience != HLS_AUD_PEERS) continue;
      if (!from_origin) return hls_why_set(why, HLS_EAUDIENCE, "items: relayed the body of a peers-only story");
      rc = g->store.get(g->store.ctx, opk, e[i].h.seq, &ours);
      if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
      if (ours.state != HLS_BODY_STUB) continue; /* held already, or erased: never again */
      struct hls_gossip_action a = {.type = HLS_GA_BODY, .n = 1, .envs = &e[i]};
      rc = g->emit(g->emit_ctx, &a);
      if (rc != 0) return rc;
      g->st.bodies_received++;
    }
  }

  if (k < n) {
    /* New items (the first links to our head: run_conflict); the newest
     * is signed. */
    if (verify(g, &e[n - 1]) != 0)
      return hls_why_set(why, HLS_EBADSIG, "items: item %llu has a bad signature", (unsigned long long)last);
    for (size_t i = k; i < n; i++) {
      if (e[i].body != NULL && e[i].h.audience == HLS_AUD_PEERS && !from_origin)
        return hls_why_set(why, HLS_EAUDIENCE, "items: relayed the body of a peers-only story");
      if (e[i].body == NULL && e[i].h.type == HLS_ENV_TOMBSTONE)
        return hls_why_set(why, HLS_EMALFORMED, "items: a tombstone without its body");
      if (e[i].h.type == HLS_ENV_REKEY) {
        /* Only a steward named here may rotate the network key
         * (docs/protocol.md 4.8); a rekey travels whole, like a tombstone. */
        if (e[i].body == NULL) return hls_why_set(why, HLS_EMALFORMED, "items: a rekey without its body");
        if (g->store.may_rekey == NULL || !g->store.may_rekey(g->store.ctx, opk))
          return hls_why_set(why, HLS_EACCESS, "items: a rekey (seq %llu) from a node that is not a steward here",
                             (unsigned long long)e[i].h.seq);
      }
      if (e[i].body == NULL && e[i].h.type == HLS_ENV_SUCCESSOR)
        return hls_why_set(why, HLS_EMALFORMED, "items: a successor without its body");
      states[i - k] = e[i].body != NULL ? HLS_BODY_HELD : HLS_BODY_STUB;
    }
    /* A closed chain (4.9): what precedes the first item after its
     * successor is taken, then the origin is forked, the successor and
     * that item the evidence. The newest item's signature and the links
     * authenticate both: it is the origin's doing, not the peer's. */
    size_t cut;
    uint64_t succ_seq = 0;
    rc = closed_cut(g, f, e, k, n, &cut, &succ_seq);
    if (rc != 0) return rc;
    if (cut < n) {
      if (cut > k) {
        rc = accept_run(g, s, e, cut, states, ack, why);
        if (rc != 0) return rc;
        f = hls_gossip__origin_find(g, opk);
        if (f < 0 || g->o[f].forked) return 0;
      }
      struct hls_gossip_item succ;
      rc = g->store.get(g->store.ctx, opk, succ_seq, &succ);
      if (rc != 0) return rc == HLS_ENOTFOUND ? HLS_EINTERNAL : rc;
      return fork_found(g, (uint32_t)f, succ_seq, &succ, &e[cut]);
    }
    uint32_t idx;
    if (f < 0) {
      if (s != NULL && !from_origin && g->store.admit_origin != NULL &&
          memcmp(opk, g->cfg.self, HLS_KEY_BYTES) != 0 && !g->store.admit_origin(g->store.ctx, s->pk)) {
        g->st.origins_refused++;
        return 0; /* not followed: ignored */
      }
      rc = hls_gossip__origin_add(g, opk, &idx);
      if (rc == HLS_ELIMIT) return 0; /* not followed: ignored */
      if (rc != 0) return rc;
    } else {
      idx = (uint32_t)f;
    }
    /* Stored in runs cut before each tombstone, whose target is erased
     * before the tombstone itself is stored: if the erasure fails, the
     * tombstone is not held either and comes again (and erases) in a
     * later session. A body never stays held under a held tombstone,
     * whatever the host's transactions. */
    size_t from = k;
    for (size_t i = k; i <= n; i++) {
      bool tomb = i < n && e[i].h.type == HLS_ENV_TOMBSTONE;
      if (i < n && !tomb) continue;
      if (i > from) {
        rc = store_run(g, idx, &e[from], &states[from - k], i - from, i == n);
        if (rc != 0) {
          if (f < 0 && from == k) { /* forget the origin just added */
            hls_gossip__origin_free_addr(&g->o[idx]);
            g->n_o--;
            memset(g->map, 0, g->map_cap * sizeof *g->map);
            for (uint32_t j = 0; j < g->n_o; j++) hls_gossip__map_insert(g, j);
          }
          return rc;
        }
      }
      if (tomb) {
        rc = erase_for(g, idx, &e[i], e, n);
        if (rc != 0) return rc;
      }
      from = i;
    }
    if (s != NULL) {
      struct sess_origin *so = &s->so[idx];
      so->peer_has = max_u64(so->peer_has, last);
      so->told = max_u64(so->told, last); /* the ACK will say so */
    }
    *ack = last;
    rc = hls_gossip__head_moved(g, idx);
    if (rc != 0) return rc;
    /* Stubs of an origin we are connected to: ask it for the bodies. */
    struct hls_gossip_session *os = from_origin ? s : hls_gossip__session_by_pk(g, opk);
    if (os != NULL && !from_origin) return hls_gossip__maybe_want(g, os);
    return 0;
  }
  if (f >= 0 && s != NULL) s->so[f].peer_has = max_u64(s->so[f].peer_has, last);
  return 0;
}

/* ITEMS: runs of one origin each, every origin at most once; one ACK
 * listing this node's head for each run's origin. */
int hls_gossip__on_items(struct hls_gossip *g, struct hls_gossip_session *s, const uint8_t *p, size_t len,
                         struct hls_why *why) {
  size_t n;
  bool complete;
  int rc = hls_gossip_items_decode(p, len, HLS_GF_ITEMS, &complete, g->envs, &n, why);
  if (rc != 0) return rc;
  g->st.bytes_received += len;
  struct hls_envelope *e = g->envs;
  size_t n_runs = 0;
  for (size_t a = 0, i = 1; i <= n; i++) {
    if (i < n && memcmp(e[i].h.origin, e[a].h.origin, HLS_KEY_BYTES) == 0) {
      if (hls_env_check_link(&e[i - 1], &e[i]) != 0)
        return hls_why_set(why, HLS_ECHAIN, "items: item %zu does not follow item %zu of the batch", i, i - 1);
      continue;
    }
    for (size_t r = 0; r < n_runs; r++)
      if (memcmp(g->acks[r].origin, e[a].h.origin, HLS_KEY_BYTES) == 0)
        return hls_why_set(why, HLS_EMALFORMED, "items: origin of item %zu has two runs in one frame", a);
    g->acks[n_runs].origin = e[a].h.origin;
    g->acks[n_runs++].head = (uint64_t)a | ((uint64_t)(i - a) << 32); /* run start and length, for now */
    a = i;
  }
  for (size_t r = 0; r < n_runs; r++) {
    size_t a = (size_t)(g->acks[r].head & 0xffffffffu), m = (size_t)(g->acks[r].head >> 32);
    rc = accept_run(g, s, &e[a], m, &g->states[a], &g->acks[r].head, why);
    if (rc != 0) {
      if (!hls_gossip_peer_fault(rc)) keep_forks_after_failure(g, &e[a], n - a);
      return rc;
    }
  }
  return hls_gossip__send_ack(g, s, g->acks, n_runs);
}

/* Import: see gossip.h. The whole call is checked (origin, links, every
 * signature, the gap, max_origins) before anything is emitted; then it
 * goes through accept_run, as ITEMS would, in pieces of the scratch
 * batch's size, with peers-audience bodies cut off (kept as stubs). */
int hls_gossip_import(struct hls_gossip *g, const struct hls_envelope *envs, size_t n,
                      struct hls_gossip_import_result *res, struct hls_why *why) {
  if (n == 0) return hls_why_set(why, HLS_EINVAL, "import: no items");
  const uint8_t *opk = envs[0].h.origin;
  char who[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(opk, who);
  for (size_t i = 0; i < n; i++) {
    const struct hls_envelope *e = &envs[i];
    res->error_seq = e->h.seq;
    if (i > 0 && memcmp(e->h.origin, opk, HLS_KEY_BYTES) != 0)
      return hls_why_set(why, HLS_EINVAL, "import: item %zu is not of origin %s", i, who);
    if (i > 0 && hls_env_check_link(&envs[i - 1], e) != 0)
      return hls_why_set(why, HLS_ECHAIN, "origin %s seq %llu: does not follow seq %llu (no link to it)", who,
                         (unsigned long long)e->h.seq, (unsigned long long)envs[i - 1].h.seq);
    if (e->body == NULL && e->h.type == HLS_ENV_TOMBSTONE)
      return hls_why_set(why, HLS_EMALFORMED, "origin %s seq %llu: a tombstone without its body", who,
                         (unsigned long long)e->h.seq);
    if (e->h.type == HLS_ENV_REKEY &&
        (e->body == NULL || g->store.may_rekey == NULL || !g->store.may_rekey(g->store.ctx, opk)))
      return hls_why_set(why, HLS_EACCESS, "origin %s seq %llu: a rekey from a node that is not a steward here", who,
                         (unsigned long long)e->h.seq);
    if (verify(g, e) != 0)
      return hls_why_set(why, HLS_EBADSIG, "origin %s seq %llu: bad signature", who, (unsigned long long)e->h.seq);
  }
  res->error_seq = envs[0].h.seq;
  int64_t f = hls_gossip__origin_find(g, opk);
  if (f >= 0 && (g->o[f].forked || g->o[f].blocked)) {
    res->ignored += n;
    return 0;
  }
  if (f < 0 && g->n_o >= g->cfg.max_origins)
    return hls_why_set(why, HLS_ELIMIT, "origin %s: this node follows %u origins already (gossip.max_origins)", who,
                       g->cfg.max_origins);
  uint64_t head = f >= 0 ? g->o[f].head : 0;
  if (envs[0].h.seq > head + 1 && head == 0)
    return hls_why_set(why, HLS_ECHAIN, "origin %s: seq %llu leaves a gap (this node holds none of its items)", who,
                       (unsigned long long)envs[0].h.seq);
  if (envs[0].h.seq > head + 1)
    return hls_why_set(why, HLS_ECHAIN, "origin %s: seq %llu leaves a gap (this node holds up to seq %llu)", who,
                       (unsigned long long)envs[0].h.seq, (unsigned long long)head);
  for (size_t at = 0; at < n;) {
    size_t m = n - at < HLS_GOSSIP_MAX_BATCH ? n - at : HLS_GOSSIP_MAX_BATCH;
    uint64_t before = hls_gossip_head(g, opk), stripped = 0;
    for (size_t i = 0; i < m; i++) {
      g->envs[i] = envs[at + i];
      if (g->envs[i].body != NULL && g->envs[i].h.audience == HLS_AUD_PEERS) {
        g->envs[i].body = NULL;
        g->envs[i].body_len = 0;
        if (g->envs[i].h.seq > before) stripped++;
      }
    }
    uint64_t ack;
    int rc = accept_run(g, NULL, g->envs, m, g->states, &ack, why);
    if (rc != 0) return rc;
    f = hls_gossip__origin_find(g, opk);
    if (f < 0) { /* not followed after all (cannot happen: checked above) */
      res->ignored += n - at;
      return 0;
    }
    if (g->o[f].forked) {
      res->forks++;
      res->ignored += n - at;
      return 0;
    }
    uint64_t added = g->o[f].head - before;
    res->imported += added;
    res->held += m - added;
    res->stubbed += stripped;
    at += m;
  }
  return 0;
}
