#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "disclosure.h"
#include "erasures.h"
#include "hls_version.h"
#include "log.h"
#include "notify.h"
#include "web.h"

int64_t hls_node_now_ms(const struct hls_node *n) {
  if (n != NULL && n->test_clock) return n->test_clock_ms;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* hls_node_now_ms for modules that take a clock, not the node. */
static int64_t node_clock(void *node) { return hls_node_now_ms(node); }
static hls_day node_today(void *node) { return hls_node_today(node); }

static void steward_step(void *netkeys, const uint8_t old_id[32], const uint8_t new_id[32]) {
  (void)hls_netkeys_steward_succeeded(netkeys, old_id, new_id);
}

/* old_id moved to new_id: if old_id is a steward here, new_id takes its
 * place, and so on along the successors held (a node away while the
 * steward moved twice may get the newer successor first). */
static void stewards_follow(struct hls_node *n, const uint8_t old_id[32], const uint8_t new_id[32]) {
  if (n->netkeys != NULL) hls_store_succession_walk(n->store, old_id, new_id, steward_step, n->netkeys);
}

/* What gossipd tells the node (hls_gossipd_env): a body held goes to the
 * pattern engine; an erased one leaves it, and the store's erasure
 * follow-up runs; own items back from a peer resume the chain. */
static void gossip_item_held(void *node, const struct hls_envelope *env) {
  struct hls_node *n = node;
  hls_patternsd_item(n->patterns, env);
  struct hls_successor su;
  if (env->h.type == HLS_ENV_SUCCESSOR && hls_successor_decode(&su, env->body, env->body_len, NULL) == 0) {
    char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(env->h.origin, from);
    hls_nodeid_format(su.new_id, to);
    hls_log_info("successor_held", "old=%s new=%s seq=%llu detail=\"the place goes on under the new key\"", from, to,
                 (unsigned long long)env->h.seq);
    hls_peers_succeed(n->peers, env->h.origin, su.new_id);
    stewards_follow(n, env->h.origin, su.new_id);
    hls_patternsd_succession(n->patterns);
  }
}
static void schedule_publish(struct hls_node *n, bool urgent);
static void gossip_item_erased(void *node, const uint8_t origin[32], uint64_t seq, bool receipt_owed) {
  struct hls_node *n = node;
  hls_patternsd_erased(n->patterns, origin, seq);
  hls_node_erased(n);
  /* The receipt goes out with the next batch (publish.delay), with every
   * other erasure of that moment. */
  if (receipt_owed) schedule_publish(n, false);
}
/* A fork found here is reported with the next batch (publish.delay). */
static void gossip_fork_found(void *node) { schedule_publish(node, false); }
static void gossip_own_items(void *node) { hls_node_own_items_arrived(node); }

static hls_day local_day(int64_t unix_ms) {
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  return hls_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

hls_day hls_node_today(const struct hls_node *n) { return local_day(hls_node_now_ms(n)); }

/* Unix ms of local midnight starting day. */
static int64_t local_midnight_ms(hls_day day) {
  int y, m, d;
  hls_date_to_ymd(day, &y, &m, &d);
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
  return (int64_t)mktime(&tm) * 1000;
}

/* --- publishing ------------------------------------------------------------------- */

static void build_profile(struct hls_node *n) {
  struct hls_profile *p = &n->profile;
  memset(p, 0, sizeof *p);
  snprintf(p->place, sizeof p->place, "%s", n->config->place);
  snprintf(p->region, sizeof p->region, "%s", n->config->region);
  p->role = n->config->role == HLS_ROLE_PARTNER ? HLS_PROFILE_PARTNER : HLS_PROFILE_PLACE;
  /* network.advertise is stored normalised: "a:1,b:2". */
  const char *s = n->config->advertise;
  while (*s && p->n_addresses < HLS_PROFILE_MAX_ADDRESSES) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    if (len > 0 && len <= HLS_PROFILE_ADDRESS_MAX) {
      memcpy(p->addresses[p->n_addresses], s, len);
      p->addresses[p->n_addresses++][len] = '\0';
    }
    s = comma ? comma + 1 : s + len;
  }
}

struct hls_summarise_ctx hls_node_summarise_ctx(struct hls_node *n) {
  struct hls_summarise_ctx ctx = {
      .store = n->store,
      .identity = &n->identity,
      .disclosure_key = n->have_disclosure_key ? n->disclosure_key : NULL,
      .retired = n->retired,
      .n_retired = n->n_retired,
      .method = {.threshold = (uint32_t)n->config->suppression_threshold,
                 .rounding = (uint32_t)n->config->rounding,
                 .kind = HLS_SDC_KEYED},
      .profile = &n->profile,
      .publish_receipts = n->config->publish_receipts == 1,
      .publish_forks = n->config->publish_forks == 1,
      .rekey = n->netkeys != NULL ? hls_netkeys_asked(n->netkeys) : NULL,
      .now_ms = hls_node_now_ms(n),
      .today = hls_node_today(n),
  };
  return ctx;
}

static void on_publish_timer(uv_timer_t *t);

/* An entry in the audit log for what hlsd did itself (who: "hlsd"). */
static void audit_node(struct hls_node *n, const char *action, const char *about, const char *result) {
  struct hls_audit_entry e = {.at_ms = hls_node_now_ms(n), .who = "hlsd", .action = action, .about = about,
                              .result = result};
  struct hls_why why = {{0}};
  if (hls_audit_append(hls_store_db(n->store), &e, &why) != 0)
    hls_log_error("audit_failed", "action=%s detail=\"%s\"", action, why.text);
}

/* --- erasure on disk ---------------------------------------------------------- */

#define SCRUB_DELAY_MS 1000
#define SCRUB_MAX_RETRIES 120 /* a reader holding the WAL for two minutes is a bug: say so */

static void on_scrub_timer(uv_timer_t *t) {
  struct hls_node *n = t->data;
  struct hls_why why = {{0}};
  int rc = hls_store_scrub_text(n->store, &why);
  if (rc == 0) rc = hls_store_checkpoint(n->store, &why);
  if (rc == HLS_EBUSY && ++n->scrub_retries < SCRUB_MAX_RETRIES) {
    uv_timer_start(t, on_scrub_timer, SCRUB_DELAY_MS, 0);
    return;
  }
  if (rc != 0)
    hls_log_error("store_scrub_failed", "error=%s retries=%d detail=\"erased text may stay in hlsd.db-wal until the "
                  "next checkpoint\"", hls_err_name(rc), n->scrub_retries);
  else
    hls_log_debug("store_scrubbed", "retries=%d", n->scrub_retries);
  n->scrub_retries = 0;
}

void hls_node_erased(struct hls_node *n) {
  if (n->stopping || uv_is_active((uv_handle_t *)&n->scrub_timer)) return;
  uv_timer_start(&n->scrub_timer, on_scrub_timer, SCRUB_DELAY_MS, 0);
}

/* A scrub that was due when hlsd stops runs now, before the store closes:
 * a stop within a second of an erasure left its words in the full-text
 * index until the next erasure. */
static void scrub_before_stop(struct hls_node *n) {
  if (n->store == NULL || !uv_is_active((uv_handle_t *)&n->scrub_timer)) return;
  uv_timer_stop(&n->scrub_timer);
  struct hls_why why = {{0}};
  int rc = hls_store_scrub_text(n->store, &why);
  if (rc == 0) rc = hls_store_checkpoint(n->store, &why);
  if (rc != 0)
    hls_log_error("store_scrub_failed", "error=%s when=stop detail=\"%s\"", hls_err_name(rc), why.text);
}

/* --- the erasure list (erasures.h) ---------------------------------------------- */

/* The store's hook: every record deletion committed goes into the list
 * outside the store. */
static void erased_note(void *node, const struct hls_erasure *e, size_t count) {
  struct hls_node *n = node;
  struct hls_why why = {{0}};
  if (hls_erasures_append(n->home, e, count, &why) != 0)
    hls_log_error("erasure_list_failed", "records=%zu detail=\"%s; a store restored from a backup older than this "
                  "deletion would bring these records back\"", count, why.text);
}

/* Records the erasure list names that the store holds again (it was
 * restored from an older copy) are deleted again, each audited. */
static void erasures_reapply(struct hls_node *n) {
  struct hls_why why = {{0}};
  int64_t seen = 0, end = 0;
  struct hls_erasure *e = NULL;
  size_t count = 0;
  bool shorter = false;
  int rc = hls_store_erasures_seen(n->store, &seen, &why);
  if (rc == 0) rc = hls_erasures_load(n->home, seen, &e, &count, &end, &shorter, &why);
  if (rc == 0 && shorter)
    hls_log_warn("erasure_list_shorter", "seen=%lld size=%lld detail=\"the erasure list (%s) is shorter than this "
                 "store has seen: it was replaced or lost, and records deleted before may be back\"",
                 (long long)seen, (long long)end, HLS_ERASURES_FILE);
  int64_t *ids = NULL;
  size_t n_ids = 0;
  if (rc == 0) rc = hls_store_erasures_held(n->store, e, count, &ids, &n_ids, &why);
  int64_t deleted = 0;
  if (rc == 0 && n_ids > 0) rc = hls_api_erasures_reapply(n->api, ids, n_ids, &deleted, &why);
  if (rc == 0 && deleted > 0)
    hls_log_warn("erasures_reapplied", "records=%lld detail=\"the store was restored from a copy older than these "
                 "deletions; they are deleted again\"", (long long)deleted);
  if (rc == 0 && end != seen) rc = hls_store_set_erasures_seen(n->store, end, &why);
  if (rc != 0)
    hls_log_error("erasures_reapply_failed", "error=%s detail=\"%s\"", hls_err_name(rc), why.text);
  free(ids);
  free(e);
}

/* --- the chain mark (chainmark.h) ----------------------------------------------- */

static int own_head(struct hls_node *n, struct hls_chainmark *head, struct hls_why *why) {
  memset(head, 0, sizeof *head);
  return hls_store_chain_head(n->store, n->identity.public_key, &head->seq, head->item_id, why);
}

static int mark_save(struct hls_node *n, const struct hls_chainmark *m, struct hls_why *why) {
  int rc = hls_chainmark_save(n->home, n->identity.public_key, m, why);
  if (rc == 0) n->mark = *m;
  return rc;
}

/* The store is back to (or accepted at) head: take the items that came
 * back from peers into the publication log, move the mark, and sign again. */
static int end_recovery(struct hls_node *n, const struct hls_chainmark *head, const char *how, struct hls_why *why) {
  struct hls_summarise_ctx ctx = hls_node_summarise_ctx(n);
  struct hls_summarise_adopted adopted;
  uint64_t signed_before = n->mark.seq;
  int rc = hls_summarise_adopt(&ctx, &adopted, why);
  if (rc == 0) rc = mark_save(n, head, why);
  if (rc != 0) {
    hls_log_error("chain_recovery_failed", "error=%s", hls_err_name(rc));
    return rc;
  }
  n->recovering = false;
  n->pause_logged = false;
  n->chain_seq = head->seq;
  hls_node_erased(n);
  if (strcmp(how, "recovered") == 0)
    hls_log_info("chain_recovered", "seq=%llu adopted=%llu orphaned_stories=%llu", (unsigned long long)head->seq,
                 (unsigned long long)adopted.items, (unsigned long long)adopted.orphaned_stories);
  else if (signed_before > head->seq)
    hls_log_warn("chain_loss_accepted", "seq=%llu signed_before=%llu adopted=%llu detail=\"items %llu-%llu are lost; "
                 "a peer that holds them will see a fork\"", (unsigned long long)head->seq,
                 (unsigned long long)signed_before, (unsigned long long)adopted.items,
                 (unsigned long long)head->seq + 1, (unsigned long long)signed_before);
  else /* every item signed before was found again */
    hls_log_info("chain_loss_accepted", "seq=%llu signed_before=%llu adopted=%llu detail=\"no item is lost\"",
                 (unsigned long long)head->seq, (unsigned long long)signed_before,
                 (unsigned long long)adopted.items);
  hls_node_changed_all(n, true);
  return 0;
}

void hls_node_own_items_arrived(struct hls_node *n) {
  struct hls_chainmark head;
  struct hls_why why = {{0}};
  if (!n->recovering) {
    /* Not recovering, this node holds every item it signed: one of its
     * chain that a peer brings was signed by another node with its key. */
    if (own_head(n, &head, &why) != 0 || head.seq <= n->chain_seq || head.seq <= n->signed_elsewhere_seq) return;
    n->signed_elsewhere_seq = head.seq;
    hls_log_error("chain_signed_elsewhere", "seq=%llu signed_here=%llu detail=\"a peer brought items of this node's "
                  "chain that it did not sign: another node runs with this node's key (a restored copy?); stop it "
                  "(docs/operations.md, Restore)\"", (unsigned long long)head.seq, (unsigned long long)n->chain_seq);
    return;
  }
  if (!n->recover_target_known) return;
  if (own_head(n, &head, &why) != 0 || head.seq < n->mark.seq) return;
  struct hls_item it;
  struct hls_envelope env;
  bool same = false;
  if (hls_store_item_get(n->store, n->identity.public_key, n->mark.seq, &it, &why) == 0) {
    same = n->mark.seq == 0 || (hls_env_decode(&env, it.stub, it.stub_len, NULL) == 0 &&
                                memcmp(env.id, n->mark.item_id, 32) == 0);
    hls_item_clear(&it);
  }
  if (!same) {
    /* Someone holds another item at the seq this node signed last: its
     * key signed twice. Only a person can sort that out. */
    if (!n->pause_logged)
      hls_log_error("chain_recovery_conflict", "seq=%llu detail=\"the item peers hold at this seq is not the one "
                    "this node signed (hls chain)\"", (unsigned long long)n->mark.seq);
    n->pause_logged = true;
    return;
  }
  if (end_recovery(n, &head, "recovered", &why) != 0 && why.text[0])
    fprintf(stderr, "hlsd: recovering the chain: %s\n", why.text);
}

int hls_node_accept_chain_loss(struct hls_node *n, struct hls_why *why) {
  if (!n->recovering) return hls_why_set(why, HLS_ESTATE, "this node's chain is not waiting for lost items");
  struct hls_chainmark head;
  int rc = own_head(n, &head, why);
  if (rc == 0) rc = end_recovery(n, &head, "accepted", why);
  return rc;
}

/* Tests only (hlsd --test-clock and HLS_TEST_ROTATE_STOP=step): stop the
 * process dead after a step of hls identity rotate, as a crash there
 * would, so that a test sees the next start finish the move. */
static void rotate_test_stop(const struct hls_node *n, const char *step) {
  const char *at = n->test_clock ? getenv("HLS_TEST_ROTATE_STOP") : NULL;
  if (at != NULL && strcmp(at, step) == 0) {
    hls_log_warn("test_rotate_stop", "step=%s", step);
    hls_log_flush(true);
    _exit(70);
  }
}

int hls_node_rotate_identity(struct hls_node *n, uint8_t old_id[32], uint8_t new_id[32], uint64_t *successor_seq,
                             char retired[64], struct hls_why *why) {
  if (n->recovering)
    return hls_why_set(why, HLS_ESTATE, "this node's chain is being recovered (hls chain): rotate its key after");
  struct hls_identity fresh, old = n->identity;
  crypto_sign_keypair(fresh.public_key, fresh.secret_key);
  memcpy(old_id, old.public_key, 32);
  memcpy(new_id, fresh.public_key, 32);
  /* 1. The new key staged on disk, then the old key's last item: its
   * successor, out before anything else changes (the mark first, as for
   * every item). */
  int rc = hls_home_stage_identity(n->home, &old, &fresh, why);
  if (rc != 0) goto out;
  struct hls_summarise_ctx ctx = hls_node_summarise_ctx(n);
  rc = hls_summarise_successor(&ctx, &fresh, successor_seq, why);
  if (rc != 0) hls_home_unstage(n->home);
  struct hls_chainmark head;
  if (rc == 0) rc = own_head(n, &head, why);
  if (rc == 0 && head.seq > n->mark.seq) rc = mark_save(n, &head, why);
  if (rc != 0) goto out;
  n->chain_seq = head.seq;
  hls_gossipd_published(n->gossip);
  rotate_test_stop(n, "successor");
  /* 2. The home's files, then the store: from here on the node is the
   * new key. A stop before the files finishes the move at the next start
   * (finish_rotation); one between the files and the store, there too
   * (open_store). */
  if ((rc = hls_home_rotate_identity(n->home, &old, &fresh, hls_node_now_ms(n), retired, why)) != 0) goto out;
  rotate_test_stop(n, "files");
  if (!n->have_disclosure_key) {
    hls_disclosure_key(old.secret_key, n->disclosure_key);
    n->have_disclosure_key = true;
  }
  if ((rc = hls_store_rotate_owner(n->store, old.public_key, fresh.public_key, why)) != 0) goto out;
  if (n->n_retired < HLS_NODE_RETIRED_MAX) n->retired[n->n_retired++] = old;
  else hls_log_warn("retired_keys_full", "max=%d detail=\"this old key signs no tombstones until hlsd restarts\"",
                    HLS_NODE_RETIRED_MAX);
  n->identity = fresh;
  hls_nodeid_format(n->identity.public_key, n->node_id);
  memset(&n->mark, 0, sizeof n->mark);
  n->chain_seq = 0;
  n->pause_logged = false;
  /* A steward here (this node, if it is one) is the new key now. */
  stewards_follow(n, old.public_key, fresh.public_key);
  /* 3. Sessions again, under the new key; the new chain from the records. */
  hls_peers_rekey(n->peers);
  hls_gossipd_rekey(n->gossip);
  hls_patternsd_succession(n->patterns);
  char from[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(old.public_key, from);
  hls_log_warn("identity_rotated", "old=%s new=%s successor_seq=%llu retired=%s detail=\"the old key signed its "
               "successor; this node is the new key from now on\"", from, n->node_id,
               (unsigned long long)*successor_seq, retired);
  build_profile(n);
  n->dirty_all = true;
  schedule_publish(n, true);
out:
  sodium_memzero(&old, sizeof old);
  sodium_memzero(&fresh, sizeof fresh);
  return rc;
}

int hls_node_publish(struct hls_node *n, struct hls_why *why) {
  if (n->recovering) {
    if (!n->pause_logged)
      hls_log_warn("publish_paused", "have=%llu signed=%s%llu detail=\"this node's store is behind the chain it "
                   "signed; waiting for its own items from peers (hls chain)\"", (unsigned long long)n->chain_seq,
                   n->recover_target_known ? "" : "unknown_at_least_", (unsigned long long)n->mark.seq);
    n->pause_logged = true;
    if (n->recover_target_known)
      return hls_why_set(why, HLS_ESTATE, "publishing is paused: the store holds this node's chain up to seq %llu, "
                         "but it signed up to %llu; waiting for those items from peers (hls chain)",
                         (unsigned long long)n->chain_seq, (unsigned long long)n->mark.seq);
    return hls_why_set(why, HLS_ESTATE, "publishing is paused: how far this node's chain went is not known (its "
                       "chain mark was lost); hls chain accept-loss resumes it");
  }
  /* A key with a successor signs nothing more (docs/protocol.md 4.9):
   * a rotation that stopped half way (the files still name the old key). */
  uint64_t closed = 0;
  if (hls_store_successor_seq(n->store, n->identity.public_key, &closed, NULL) == 0 && closed != 0) {
    if (!n->pause_logged)
      hls_log_error("publish_refused", "successor_seq=%llu detail=\"this node's key has a successor: it signs "
                    "nothing more; finish the rotation (docs/operations.md, Moving a place to a new key)\"",
                    (unsigned long long)closed);
    n->pause_logged = true;
    return hls_why_set(why, HLS_ESTATE, "this node's key has a successor (seq %llu): it signs nothing more",
                       (unsigned long long)closed);
  }
  struct hls_summarise_ctx ctx = hls_node_summarise_ctx(n);
  struct hls_dirty dirty = {.all = n->dirty_all, .n = n->n_dirty, .weeks = n->dirty_weeks};
  struct hls_summarise_result res;
  int rc = hls_summarise_reconcile(&ctx, &dirty, &res, why);
  if (rc != 0) {
    hls_log_error("publish_failed", "error=%s retry_in_s=30", hls_err_name(rc));
    if (!n->stopping) uv_timer_start(&n->publish_timer, on_publish_timer, 30000, 0);
    return rc;
  }
  n->dirty_all = false;
  n->n_dirty = 0;
  n->first_change_ms = 0;
  n->last_publish_ms = ctx.now_ms;
  if (res.tombstones > 0) hls_node_erased(n); /* our own copies of the bodies went too */
  struct hls_chainmark head;
  if (own_head(n, &head, NULL) != 0) head.seq = n->chain_seq;
  n->chain_seq = head.seq;
  /* The mark moves before anything new leaves this node: whatever happens
   * to the store from now on, these seqs are never signed again. */
  if (head.seq > n->mark.seq) {
    struct hls_why mark_why = {{0}};
    if ((rc = mark_save(n, &head, &mark_why)) != 0) {
      hls_log_error("chain_mark_failed", "seq=%llu error=%s retry_in_s=30 detail=\"new items wait until it is "
                    "saved\"", (unsigned long long)head.seq, hls_err_name(rc));
      if (!n->stopping) uv_timer_start(&n->publish_timer, on_publish_timer, 30000, 0);
      return hls_why_set(why, rc, "%s", mark_why.text);
    }
  }
  /* A steward's rotation: its rekey item is signed, so the new key is used. */
  if (res.rekeys > 0) hls_netkeys_published(n->netkeys);
  hls_gossipd_published(n->gossip);
  for (size_t i = 0; i < n->n_retired; i++) hls_gossipd_published_retired(n->gossip, n->retired[i].public_key);
  if (res.expired > 0) {
    char about[40];
    snprintf(about, sizeof about, "records=%lld", (long long)res.expired);
    audit_node(n, "consent.expired", about, "ok");
  }
  if (res.profiles + res.digests + res.stories + res.tombstones + res.receipts + res.forks + res.vouches > 0)
    hls_log_info("published", "profiles=%d digests=%d stories=%d tombstones=%d receipts=%d forks=%d vouches=%d chain_seq=%llu",
                 res.profiles, res.digests, res.stories, res.tombstones, res.receipts, res.forks, res.vouches,
                 (unsigned long long)n->chain_seq);
  if (res.receipts_waiting) schedule_publish(n, false); /* the rest of what is owed, one receipt a run */
  return 0;
}

static void on_publish_timer(uv_timer_t *t) {
  struct hls_node *n = t->data;
  struct hls_why why = {{0}};
  int rc = hls_node_publish(n, &why);
  if (rc != 0 && rc != HLS_ESTATE && why.text[0]) fprintf(stderr, "hlsd: publishing: %s\n", why.text);
}

/* Start (or bring forward) the publishing run: publish.delay after the
 * last change, at most five delays after the first, at once if urgent. */
static void schedule_publish(struct hls_node *n, bool urgent) {
  if (n->stopping) return;
  /* Loop time, not the wall clock: a debounce of elapsed time, that a
   * clock step (NTP, or a test clock frozen at a date) must not stretch
   * or cut short. */
  uint64_t now = uv_now(&n->loop);
  int64_t delay = urgent ? 0 : n->config->publish_delay_ms;
  if (n->first_change_ms == 0) n->first_change_ms = now;
  int64_t latest = 5 * n->config->publish_delay_ms - (int64_t)(now - n->first_change_ms);
  if (delay > latest) delay = latest > 0 ? latest : 0;
  if (uv_is_active((uv_handle_t *)&n->publish_timer) && !urgent &&
      (int64_t)uv_timer_get_due_in(&n->publish_timer) <= delay)
    return;
  uv_timer_start(&n->publish_timer, on_publish_timer, (uint64_t)delay, 0);
}

static void mark_week(struct hls_node *n, int key) {
  for (size_t i = 0; i < n->n_dirty; i++)
    if (n->dirty_weeks[i] == key) return;
  if (n->n_dirty == n->cap_dirty) {
    size_t cap = n->cap_dirty ? n->cap_dirty * 2 : 16;
    if (cap > 4096) { /* a change that wide: look at everything */
      n->dirty_all = true;
      return;
    }
    int *p = realloc(n->dirty_weeks, cap * sizeof *p);
    if (p == NULL) {
      n->dirty_all = true;
      return;
    }
    n->dirty_weeks = p;
    n->cap_dirty = cap;
  }
  n->dirty_weeks[n->n_dirty++] = key;
}

void hls_node_changed(struct hls_node *n, hls_day first, hls_day last, bool urgent) {
  if (last < first || last - first > 366 * 2) {
    n->dirty_all = true;
  } else if (!n->dirty_all) {
    for (hls_day d = first; d <= last; d += 7) mark_week(n, hls_week_key(d));
    mark_week(n, hls_week_key(last));
  }
  schedule_publish(n, urgent);
}

void hls_node_changed_all(struct hls_node *n, bool urgent) {
  n->dirty_all = true;
  schedule_publish(n, urgent);
}

/* At the start of each local Monday, the week that just ended is
 * published: every week from the one holding day `since` to the one
 * before today's. */
static void weeks_ended(struct hls_node *n, hls_day since) {
  hls_day today = hls_node_today(n);
  hls_log_info("week_ended", "week=%d", hls_week_key(today - 1));
  hls_node_changed(n, since, today - 1, true);
}

static void on_week_timer(uv_timer_t *t);

/* The wall-clock timers (week end, expiry) are not armed on the test
 * clock: the loop's timers run in real time against a frozen date, and
 * hls_node_test_clock_set does their work when the clock moves. */
static void schedule_week_end(struct hls_node *n) {
  if (n->test_clock) return;
  hls_day today = hls_node_today(n);
  int y, w;
  hls_iso_week(today, &y, &w);
  hls_day monday;
  if (hls_iso_week_monday(y, w, &monday) != 0) return;
  int64_t boundary = local_midnight_ms(monday + 7);
  int64_t delay = boundary - hls_node_now_ms(n) + 1000; /* a second past midnight */
  if (delay < 1000) delay = 1000;
  uv_timer_start(&n->week_timer, on_week_timer, (uint64_t)delay, 0);
}

static void on_week_timer(uv_timer_t *t) {
  struct hls_node *n = t->data;
  weeks_ended(n, hls_node_today(n) - 1);
  schedule_week_end(n);
}

/* Records past their retention date are deleted (hls_api_retention_sweep:
 * as record.delete, so their stories' tombstones are scheduled at once).
 * True if some were. */
static bool sweep_retention(struct hls_node *n) {
  int64_t deleted = 0;
  struct hls_why why = {{0}};
  if (n->api == NULL) return false;
  if (hls_api_retention_sweep(n->api, &deleted, &why) != 0 && why.text[0])
    hls_log_warn("retention_check_failed", "detail=\"%s\"", why.text);
  return deleted > 0;
}

/* Consent ends at the start of its expiry date, and a record goes the
 * day after its retention date: look every consent.expiry_check. True if
 * some consent's date has come or some record was deleted (publishing is
 * then scheduled at once, and ends it). */
static bool check_expiry(struct hls_node *n) {
  bool due = sweep_retention(n);
  hls_day next;
  if (hls_store_next_expiry(n->store, &next, NULL) != 0 || next > hls_node_today(n)) return due;
  hls_node_changed_all(n, true);
  return true;
}

static void on_expiry_timer(uv_timer_t *t) { check_expiry(t->data); }

static void start_expiry_timer(struct hls_node *n) {
  if (n->test_clock) return;
  uint64_t every = (uint64_t)n->config->expiry_check_ms;
  uv_timer_start(&n->expiry_timer, on_expiry_timer, every, every);
}

int hls_node_test_clock_set(struct hls_node *n, int64_t unix_ms, struct hls_why *why) {
  if (!n->test_clock) return hls_why_set(why, HLS_ESTATE, "this node runs on the system clock (hlsd --test-clock)");
  char from[21], to[21];
  hls_time_format(n->test_clock_ms, from);
  hls_time_format(unix_ms, to);
  hls_day before = hls_node_today(n);
  n->test_clock_ms = unix_ms;
  hls_log_info("test_clock_moved", "from=%s to=%s", from, to);
  hls_day today = hls_node_today(n);
  bool due = false;
  if (hls_week_key(today) > hls_week_key(before)) {
    weeks_ended(n, before);
    due = true;
  }
  if (check_expiry(n)) due = true;
  if (!due) return 0;
  /* What the timers would have published on the loop's next turn is
   * published now, so that the reply means it is done. */
  uv_timer_stop(&n->publish_timer);
  int rc = hls_node_publish(n, why);
  if (rc == HLS_ESTATE) { /* recovering: nothing is signed, as on the timers */
    why->text[0] = '\0';
    rc = 0;
  }
  return rc;
}

static struct hls_control_options control_options(const struct hls_node *n) {
  const struct hls_config *c = n->config;
  struct hls_control_options o = {
      .max_frame = (size_t)c->control_max_frame,
      .max_clients = (int)c->control_max_clients,
      .request_timeout_ms = c->control_request_timeout_ms,
      .group_set = n->control_group_set,
      .group = n->control_gid,
      .group_name = c->control_group,
  };
  return o;
}

/* control.group's id. A name that is not a group is an error at start,
 * not a socket silently left to hlsd's user alone. */
static int resolve_control_group(struct hls_node *n, struct hls_why *why) {
  const char *name = n->config->control_group;
  n->control_group_set = false;
  if (name[0] == '\0') return 0;
  struct group gr, *found = NULL;
  char buf[16384];
  int e = getgrnam_r(name, &gr, buf, sizeof buf, &found);
  if (e != 0) return hls_why_set(why, HLS_ECONFIG, "control.group %s: cannot look it up: %s", name, strerror(e));
  if (found == NULL) return hls_why_set(why, HLS_ECONFIG, "control.group %s: there is no such group", name);
  n->control_gid = found->gr_gid;
  n->control_group_set = true;
  return 0;
}

/* With control.group set, its members reach the socket only if they may
 * search the data directory: say so once at start rather than let them
 * meet "permission denied". */
static void warn_unreachable_socket(const struct hls_node *n) {
  struct stat st;
  if (stat(n->home, &st) != 0) return;
  if (st.st_gid == n->control_gid && (st.st_mode & 010) != 0) return;
  hls_log_warn("control_group_unreachable", "group=%s home=%s", n->config->control_group, n->home);
  fprintf(stderr,
          "hlsd: members of control.group %s cannot reach the control socket: %s is not searchable by that group; "
          "fix with: chgrp %s %s && chmod 710 %s\n",
          n->config->control_group, n->home, n->config->control_group, n->home, n->home);
}

/* One daemon per home: an exclusive lock on DIR/hlsd.lock, held until
 * exit (the kernel drops it if we crash). */
static int take_lock(struct hls_node *n, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(n->home, "hlsd.lock", path) != 0) return HLS_ETOOBIG;
  n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (n->lock_fd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(n->lock_fd);
    n->lock_fd = -1;
    if (e == EWOULDBLOCK) return hls_why_set(why, HLS_EBUSY, "another hlsd is already running on %s", n->home);
    return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(e));
  }
  return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void node_stop(struct hls_node *n, const char *why) {
  if (n->stopping) return;
  n->stopping = true;
  hls_store_bgcheck_interrupt(n->check); /* its work ends at once, unchecked */
  hls_log_info("shutting_down", "reason=%s", why);
  hls_notify_stopping("Stopping (%s)", why);
  hls_web_close(n->web);
  n->web = NULL;
  hls_control_close(n->control);
  n->control = NULL;
  hls_gossipd_close(n->gossip);
  n->gossip = NULL;
  hls_invites_free(n->invites);
  n->invites = NULL;
  hls_patternsd_close(n->patterns);
  n->patterns = NULL;
  if (n->netkeys != NULL) hls_netkeys_attach(n->netkeys, NULL);
  hls_peers_close(n->peers);
  n->peers = NULL;
  uv_close((uv_handle_t *)&n->publish_timer, NULL);
  uv_close((uv_handle_t *)&n->week_timer, NULL);
  uv_close((uv_handle_t *)&n->expiry_timer, NULL);
  scrub_before_stop(n);
  uv_close((uv_handle_t *)&n->scrub_timer, NULL);
  uv_close((uv_handle_t *)&n->sig_int, NULL);
  uv_close((uv_handle_t *)&n->sig_term, NULL);
  uv_close((uv_handle_t *)&n->sig_hup, NULL);
}

/* Every peer connection and control client holds a descriptor. When a
 * process runs out of them, libuv sheds incoming connections without
 * telling hlsd, so make room up front (raising the soft limit as far as
 * the hard one allows) and say so if the limits cannot all be met. */
static void ensure_descriptors(const struct hls_config *c) {
  rlim_t want = (rlim_t)(c->max_connections + c->control_max_clients + 64); /* + store, log, loop */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
    if (rl.rlim_cur < want)
      hls_log_warn("descriptors_low", "limit=%llu needed=%llu detail=\"raise the open-files limit (ulimit -n, or "
                   "LimitNOFILE= under systemd) or lower network.max_connections\"",
                   (unsigned long long)rl.rlim_cur, (unsigned long long)want);
  }
}

static void restart_needed(const struct hls_config_option *o, void *ctx) {
  (void)ctx;
  hls_log_warn("config_needs_restart", "option=%s.%s", o->section, o->name);
}

/* READY=1 for systemd (notify.h), with what the node serves: the
 * status line of systemctl status. */
static void notify_ready(const struct hls_node *n, const char *note) {
  hls_notify_ready("%s: peers on %s, hls on %s/hlsd.sock%s%s", n->config->place, hls_peers_address(n->peers), n->home,
                   n->recovering ? "; publishing paused until its chain is back (hls chain)" : "", note);
}

/* --- what the control methods ask of the node (hls_api_env) ----------------- */

static void node_api_changed(void *node, hls_day first, hls_day last, bool urgent) {
  hls_node_changed(node, first, last, urgent);
}
static void node_api_changed_all(void *node, bool urgent) { hls_node_changed_all(node, urgent); }
static void node_api_erased(void *node) { hls_node_erased(node); }
/* hls share publish: everything is looked at again, now. */
static int node_api_publish_all(void *node, struct hls_why *why) {
  struct hls_node *n = node;
  n->dirty_all = true;
  return hls_node_publish(n, why);
}
static struct hls_summarise_ctx node_api_summarise_ctx(void *node) { return hls_node_summarise_ctx(node); }
static void node_api_chain(void *node, struct hls_api_chain *out) {
  const struct hls_node *n = node;
  out->seq = n->chain_seq;
  out->signed_known = !(n->recovering && !n->recover_target_known);
  out->signed_seq = n->mark.seq > n->chain_seq ? n->mark.seq : n->chain_seq;
  out->recovering = n->recovering;
  out->signed_elsewhere_seq = n->signed_elsewhere_seq;
  out->last_publish_ms = n->last_publish_ms;
  out->changes_pending = n->first_change_ms != 0 || n->dirty_all || n->n_dirty > 0;
}
static int node_api_accept_chain_loss(void *node, struct hls_why *why) { return hls_node_accept_chain_loss(node, why); }
static int node_api_rotate_identity(void *node, uint8_t old_id[32], uint8_t new_id[32], uint64_t *successor_seq,
                                    char retired[64], struct hls_why *why) {
  return hls_node_rotate_identity(node, old_id, new_id, successor_seq, retired, why);
}
static int node_api_test_clock_set(void *node, int64_t unix_ms, struct hls_why *why) {
  return hls_node_test_clock_set(node, unix_ms, why);
}

static bool node_api_web_url(void *node, char *out, size_t size) {
  struct hls_node *n = node;
  if (n->web != NULL) {
    hls_web_url(n->web, out, size);
    return true;
  }
  snprintf(out, size, "%s", n->web_problem);
  return false;
}

/* The control methods' view of the node, once its subsystems run. */
static struct hls_api_env node_api_env(struct hls_node *n) {
  struct hls_api_env env = {.store = n->store,
                            .config = n->config,
                            .identity = &n->identity,
                            .node_id = n->node_id,
                            .network_id = n->network_fingerprint,
                            .home = n->home,
                            .started_ms = n->started_ms,
                            .test_clock = n->test_clock,
                            .peers = n->peers,
                            .gossip = n->gossip,
                            .invites = n->invites,
                            .network_key = hls_netkeys_current(n->netkeys),
                            .netkeys = n->netkeys,
                            .patterns = n->patterns,
                            .now_ms = node_clock,
                            .today = node_today,
                            .changed = node_api_changed,
                            .changed_all = node_api_changed_all,
                            .erased = node_api_erased,
                            .publish_all = node_api_publish_all,
                            .summarise_ctx = node_api_summarise_ctx,
                            .chain = node_api_chain,
                            .accept_chain_loss = node_api_accept_chain_loss,
                            .rotate_identity = node_api_rotate_identity,
                            .test_clock_set = node_api_test_clock_set,
                            .web_url = node_api_web_url,
                            .ctx = n};
  return env;
}

static void on_signal(uv_signal_t *s, int signum) {
  struct hls_node *n = s->data;
  if (signum == SIGHUP) {
    struct hls_config fresh;
    struct hls_why why = {{0}};
    hls_notify_reloading();
    int rc = n->reload(&fresh, n->reload_ctx, &why);
    if (rc != 0) {
      /* The detail names the file, line, option and range; it holds no
       * secrets. In the event's key=value form: its quotes made plain. */
      for (char *q = why.text; *q; q++)
        if (*q == '"') *q = '\'';
      hls_log_error("config_reload_failed", "error=%s keeping=current_config detail=\"%s\"", hls_err_name(rc),
                    why.text);
      audit_node(n, "config.reload", NULL, hls_err_name(rc));
      notify_ready(n, "; the last reload failed, the previous configuration runs (see the log)");
      return;
    }
    hls_config_apply_reload(n->config, &fresh, restart_needed, n);
    /* Log the reload under the more verbose of the old and new levels,
     * so a switch either way is on record. */
    enum hls_log_level level = (enum hls_log_level)n->config->log_level;
    if (!hls_log_enabled(level)) hls_log_set_level(level);
    hls_log_info("config_reloaded", "log_level=%s", hls_log_level_name(level));
    audit_node(n, "config.reload", NULL, "ok");
    hls_log_set_level(level);
    struct hls_control_options opt = control_options(n);
    hls_control_set_options(n->control, &opt);
    build_profile(n);
    start_expiry_timer(n);
    sweep_retention(n); /* the [retention] periods may have changed */
    ensure_descriptors(n->config);
    hls_peers_reload(n->peers);
    hls_node_changed_all(n, true); /* profile, threshold or rounding may have changed */
    notify_ready(n, "");
    return;
  }
  node_stop(n, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* Remove path (a store file); gone already is fine. */
static int remove_file(const char *path, struct hls_why *why) {
  if (unlink(path) != 0 && errno != ENOENT) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

/* --- the store's check, when the start skipped it ----------------------------------------- */

static void check_work(uv_work_t *w) {
  struct hls_node *n = w->data;
  n->check_rc = hls_store_bgcheck_run(n->check, &n->check_why);
}

static void check_done(uv_work_t *w, int status) {
  struct hls_node *n = w->data;
  hls_store_bgcheck_free(n->check);
  n->check = NULL;
  if (status != 0 || n->check_rc == HLS_ECLOSED) return; /* stopping: the next start checks */
  long long took = (long long)(hls_node_now_ms(n) - n->check_started_ms);
  if (n->check_rc == 0) {
    hls_store_check_passed(n->store);
    hls_log_info("store_checked", "took_ms=%lld detail=\"quick_check after a clean stop: sound\"", took);
    return;
  }
  char quoted[sizeof n->check_why.text + 8];
  hls_log_quote(n->check_why.text, quoted, sizeof quoted);
  if (n->check_rc == HLS_ECORRUPT) {
    hls_log_error("store_damaged", "took_ms=%lld detail=%s action=stopping", took, quoted);
    n->store_damaged = true;
    node_stop(n, "store_damaged");
  } else {
    hls_log_warn("store_check_failed", "error=%s detail=%s action=checking_at_next_start", hls_err_name(n->check_rc),
                 quoted);
  }
}

/* After a start that trusted the clean-close mark: the quick_check the
 * start skipped, on a worker thread, so that hlsd answers at once. */
static void start_store_check(struct hls_node *n) {
  if (!hls_store_check_deferred(n->store)) return;
  struct hls_why why = {{0}};
  int rc = hls_store_bgcheck_new(&n->check, n->store, &why);
  if (rc == 0) {
    n->check_work.data = n;
    n->check_started_ms = hls_node_now_ms(n);
    if ((rc = uv_queue_work(&n->loop, &n->check_work, check_work, check_done)) == 0) return;
    hls_store_bgcheck_free(n->check);
    n->check = NULL;
    snprintf(why.text, sizeof why.text, "%s", uv_strerror(rc));
    rc = HLS_EIO;
  }
  hls_log_warn("store_check_failed", "error=%s detail=\"%s\" action=checking_at_next_start", hls_err_name(rc),
               why.text);
}

/* Open DIR/hlsd.db, refusing a store that would make this node sign its
 * chain again: missing or empty while the chain mark says items were
 * signed, another node's, or behind the mark (then open, but recovering:
 * nothing is signed until the items are back). docs/operations.md,
 * "Restore", tells the operator's side. */
static int open_store(struct hls_node *n, bool accept_new, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  int rc;
  if ((rc = hls_home_path(n->home, "hlsd.db", path)) != 0) return hls_why_set(why, rc, "home path too long");
  struct hls_chainmark mark;
  bool have_mark = false;
  if ((rc = hls_chainmark_load(n->home, n->identity.public_key, &mark, &have_mark, why)) != 0) return rc;
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (!exists && errno != ENOENT) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  bool fresh = !exists || st.st_size == 0;
  if (fresh && !accept_new && have_mark && mark.seq > 0)
    return hls_why_set(why, HLS_ESTATE, "%s is %s, but this node has signed items up to seq %llu (%s): starting "
                       "would lose its records and sign its chain again. Put the store back from a backup "
                       "(docs/operations.md, Restore), or start with --accept-new-store to begin an empty store "
                       "that first recovers the chain from peers", path, exists ? "empty" : "missing",
                       (unsigned long long)mark.seq, HLS_CHAINMARK_FILE);
  if (fresh && !accept_new && !have_mark)
    return hls_why_set(why, HLS_ESTATE, "%s is %s and so is %s, which hls init writes: this node's state was lost. "
                       "Put the store back from a backup (docs/operations.md, Restore), or start with "
                       "--accept-new-store (an empty store; nothing is signed until its chain is recovered or "
                       "hls chain accept-loss)", path, exists ? "empty" : "missing", HLS_CHAINMARK_FILE);
  if (fresh) {
    /* A zero-length file, and any WAL left beside it, are not a store. */
    char side[HLS_PATH_MAX + 8];
    snprintf(side, sizeof side, "%s-wal", path);
    if ((rc = remove_file(path, why)) != 0 || (rc = remove_file(side, why)) != 0) return rc;
    snprintf(side, sizeof side, "%s-shm", path);
    if ((rc = remove_file(side, why)) != 0) return rc;
    if (!have_mark || mark.seq > 0)
      hls_log_warn("store_new", "path=%s signed=%llu detail=\"started with --accept-new-store\"", path,
                   (unsigned long long)mark.seq);
  }
  struct hls_store_options store_opt = {.synchronous_full = n->config->store_synchronous == 1,
                                        .cache_bytes = n->config->store_cache_bytes,
                                        .quick_check = true,
                                        .trust_clean_close = true};
  if ((rc = hls_store_open(&n->store, path, &store_opt, why)) != 0) {
    if (rc == HLS_ECORRUPT)
      hls_why_prefix(why, "refusing to run on a damaged store: ");
    return rc;
  }
  uint8_t owner[32];
  bool owned = false;
  if ((rc = hls_store_owner(n->store, owner, &owned, why)) != 0) return rc;
  rc = hls_store_claim(n->store, n->identity.public_key, why);
  if (rc == HLS_EFOREIGN && owned) {
    /* hls identity rotate stopped after the key files, before the store:
     * the owner's successor names this key. */
    uint8_t next[32];
    bool found = false;
    if (hls_store_successor_of(n->store, owner, next, &found, NULL) == 0 && found &&
        memcmp(next, n->identity.public_key, 32) == 0 &&
        hls_store_rotate_owner(n->store, owner, n->identity.public_key, why) == 0) {
      hls_log_warn("identity_rotation_finished", "step=store detail=\"the store moves to the key that succeeded "
                   "its owner\"");
      rc = hls_store_claim(n->store, n->identity.public_key, why);
    }
  }
  if (rc != 0) {
    if (rc != HLS_EFOREIGN) return rc;
    char theirs[HLS_NODEID_TEXT_SIZE];
    if (owned) hls_nodeid_format(owner, theirs);
    return hls_why_set(why, HLS_EFOREIGN, "%s belongs to another node (%s), not to this one (%s). Put this node's "
                       "own store back, or move that file away and start with --accept-new-store", path,
                       owned ? theirs : "its items are of another chain", n->node_id);
  }
  /* After a crash, old page images (erased text among them) may still be
   * in the WAL, and the words of records deleted within a second of it in
   * the full-text index: merge the index, fold the WAL into the store and
   * empty it now. */
  struct hls_why scrub_why = {{0}};
  if ((!hls_store_opened_clean(n->store) && hls_store_scrub_text(n->store, &scrub_why) != 0) ||
      hls_store_checkpoint(n->store, &scrub_why) != 0)
    hls_log_warn("store_scrub_failed", "detail=\"%s\"", scrub_why.text);
  hls_store_on_erased(n->store, erased_note, n);
  int restored = 0;
  if ((rc = hls_audit_guard(hls_store_db(n->store), &restored, why)) != 0) return rc;
  if (restored > 0) {
    hls_log_warn("audit_triggers_restored", "triggers=%d detail=\"the audit log's append-only triggers were dropped "
                 "from the store while hlsd was stopped, and are made again: run hls audit verify\"", restored);
    audit_node(n, "audit.triggers_restored", "the append-only triggers were missing at start", "ok");
  }
  struct hls_chainmark head;
  if ((rc = own_head(n, &head, why)) != 0) return rc;
  n->chain_seq = head.seq;
  if (!have_mark && owned && !accept_new)
    return hls_why_set(why, HLS_ESTATE, "%s is missing, but this store was kept with one: the store may be older "
                       "than what this node published. Put the file back if you have it (never an old copy), or "
                       "start with --accept-new-store to recover the chain from peers before signing",
                       HLS_CHAINMARK_FILE);
  if (!have_mark && (owned || fresh)) {
    /* The mark is lost, so how far the chain went is not known. */
    n->recovering = true;
    n->recover_target_known = false;
    n->mark = head;
  } else if (!have_mark) {
    /* A store from before the mark existed: it is the whole truth. */
    if ((rc = mark_save(n, &head, why)) != 0) return rc;
    hls_log_info("chain_mark_created", "seq=%llu", (unsigned long long)head.seq);
  } else if (head.seq > mark.seq) {
    /* Stopped between a commit and the mark's update: nothing past the
     * mark left this node. */
    if ((rc = mark_save(n, &head, why)) != 0) return rc;
  } else if (head.seq == mark.seq) {
    if (head.seq > 0 && memcmp(head.item_id, mark.item_id, 32) != 0)
      return hls_why_set(why, HLS_ESTATE, "the store's chain ends at seq %llu with another item than the one this "
                         "node signed there (%s): this is not the store this node last ran on",
                         (unsigned long long)head.seq, HLS_CHAINMARK_FILE);
    n->mark = mark;
  } else {
    n->mark = mark;
    n->recovering = true;
    n->recover_target_known = true;
  }
  if (n->recovering)
    hls_log_warn("chain_recovering", "have=%llu signed=%s%llu detail=\"the store is behind the chain this node "
                 "signed: nothing is signed until peers send the rest, or hls chain accept-loss\"",
                 (unsigned long long)head.seq, n->recover_target_known ? "" : "unknown_at_least_",
                 (unsigned long long)n->mark.seq);
  return 0;
}

/* A steward's rotation begun before hlsd stopped: signed (its rekey is
 * this node's newest in the store) or not (netkeys.h). */
static void recover_rotation(struct hls_node *n) {
  if (!hls_netkeys_next_held(n->netkeys)) return;
  struct hls_published cur;
  struct hls_item it;
  struct hls_rekey r;
  bool found = false;
  if (hls_store_published_current(n->store, HLS_ENV_REKEY, 0, 0, &cur, NULL) == 0 &&
      hls_store_item_get(n->store, n->identity.public_key, cur.seq, &it, NULL) == 0) {
    found = it.body != NULL && hls_rekey_decode(&r, it.body, it.body_len, NULL) == 0;
    hls_item_clear(&it);
  }
  hls_netkeys_recover(n->netkeys, found ? &r : NULL);
}

/* A key staged by hls identity rotate (DIR/secret.key.new) whose
 * successor the store holds: the node stopped between the successor and
 * the key files; finish the move (files, store) before anything starts.
 * Staged with no successor naming it: the move never happened; drop it. */
static int finish_rotation(struct hls_node *n, struct hls_why *why) {
  struct hls_identity staged;
  bool present = false;
  int rc = hls_home_load_staged(n->home, &staged, &present, why);
  if (rc != 0 || !present) return rc;
  uint8_t next[32];
  bool found = false;
  if ((rc = hls_store_successor_of(n->store, n->identity.public_key, next, &found, why)) != 0) goto out;
  if (!found || memcmp(next, staged.public_key, 32) != 0) {
    hls_log_warn("identity_rotation_dropped", "detail=\"a staged key no successor names: the rotation never "
                 "happened; secret.key.new removed\"");
    hls_home_unstage(n->home);
    goto out;
  }
  char retired[64];
  if ((rc = hls_home_rotate_identity(n->home, &n->identity, &staged, hls_node_now_ms(n), retired, why)) != 0 ||
      (rc = hls_store_rotate_owner(n->store, n->identity.public_key, staged.public_key, why)) != 0)
    goto out;
  if (!n->have_disclosure_key &&
      (rc = hls_home_load_disclosure_key(n->home, n->disclosure_key, &n->have_disclosure_key, why)) != 0)
    goto out;
  if (n->n_retired < HLS_NODE_RETIRED_MAX) n->retired[n->n_retired++] = n->identity;
  char from[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(n->identity.public_key, from);
  n->identity = staged;
  hls_nodeid_format(n->identity.public_key, n->node_id);
  memset(&n->mark, 0, sizeof n->mark);
  n->chain_seq = 0;
  n->recovering = false;
  hls_log_warn("identity_rotation_finished", "step=files old=%s new=%s retired=%s", from, n->node_id, retired);
out:
  sodium_memzero(&staged, sizeof staged);
  return rc;
}

int hls_node_run(struct hls_node *n, const char *home, struct hls_config *config, hls_config_loader reload,
                 void *reload_ctx, const struct hls_run_options *run, struct hls_why *why) {
  int rc;
  char path[HLS_PATH_MAX];
  memset(n, 0, sizeof *n);
  n->lock_fd = -1;
  n->config = config;
  n->reload = reload;
  n->reload_ctx = reload_ctx;
  n->test_clock = run->test_clock;
  n->test_clock_ms = run->test_clock_ms;
  snprintf(n->home, sizeof n->home, "%s", home);
  n->started_ms = hls_node_now_ms(n);
  if (n->test_clock) {
    char at[21];
    hls_time_format(n->test_clock_ms, at);
    hls_log_warn("test_clock", "at=%s detail=\"for tests: the wall clock is frozen; only test.clock.* moves it\"", at);
  }

  if ((rc = resolve_control_group(n, why)) != 0) return rc;
  if ((rc = hls_home_check_permissions(n->home, n->control_group_set ? &n->control_gid : NULL, why)) != 0) return rc;
  if (n->control_group_set) warn_unreachable_socket(n);
  if ((rc = take_lock(n, why)) != 0) return rc;
  if ((rc = hls_home_load_identity(n->home, &n->identity, why)) != 0) goto fail;
  if ((rc = hls_home_load_network_key(n->home, n->network_key, why)) != 0) goto fail;
  if ((rc = hls_home_load_disclosure_key(n->home, n->disclosure_key, &n->have_disclosure_key, why)) != 0) goto fail;
  if ((rc = hls_home_load_retired(n->home, n->retired, HLS_NODE_RETIRED_MAX, &n->n_retired, why)) != 0) goto fail;
  hls_nodeid_format(n->identity.public_key, n->node_id);
  hls_network_fingerprint(n->network_key, n->network_fingerprint);
  struct hls_netkeys_env netkeys_env = {.home = n->home, .self = n->identity.public_key, .now_ms = node_clock,
                                        .clock = n};
  if ((rc = hls_netkeys_new(&n->netkeys, &netkeys_env, n->network_key, why)) != 0) goto fail;

  hls_notify_status("Starting: checking the store");
  if ((rc = open_store(n, run->accept_new_store, why)) != 0) goto fail;
  if ((rc = finish_rotation(n, why)) != 0) goto fail;
  recover_rotation(n);

  if ((rc = uv_loop_init(&n->loop)) != 0) {
    rc = hls_why_set(why, HLS_EIO, "event loop: %s", uv_strerror(rc));
    goto fail;
  }
  uv_signal_init(&n->loop, &n->sig_int);
  uv_signal_init(&n->loop, &n->sig_term);
  uv_signal_init(&n->loop, &n->sig_hup);
  n->sig_int.data = n->sig_term.data = n->sig_hup.data = n;
  uv_signal_start(&n->sig_int, on_signal, SIGINT);
  uv_signal_start(&n->sig_term, on_signal, SIGTERM);
  uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
  uv_timer_init(&n->loop, &n->publish_timer);
  uv_timer_init(&n->loop, &n->week_timer);
  uv_timer_init(&n->loop, &n->expiry_timer);
  uv_timer_init(&n->loop, &n->scrub_timer);
  n->publish_timer.data = n->week_timer.data = n->expiry_timer.data = n->scrub_timer.data = n;

  ensure_descriptors(config);
  hls_notify_status("Starting: loading the chains");
  struct hls_peers_env peers_env = {.loop = &n->loop,
                                    .store = n->store,
                                    .config = n->config,
                                    .identity = &n->identity,
                                    .network_key = n->network_key,
                                    .now_ms = node_clock,
                                    .clock = n};
  struct hls_gossipd_env gossip_env = {.loop = &n->loop,
                                       .store = n->store,
                                       .config = n->config,
                                       .self = n->identity.public_key,
                                       .now_ms = node_clock,
                                       .item_held = gossip_item_held,
                                       .item_erased = gossip_item_erased,
                                       .own_items_arrived = gossip_own_items,
                                       .fork_found = gossip_fork_found,
                                       .ctx = n};
  struct hls_patternsd_env patterns_env = {.loop = &n->loop,
                                          .store = n->store,
                                          .node_id = n->identity.public_key,
                                          .params = &n->config->patterns,
                                          .now_ms = node_clock,
                                          .today = node_today,
                                          .late_weeks = (int32_t)n->config->patterns_late_weeks,
                                          .threads = n->config->patterns_threads > 0
                                                         ? (int)n->config->patterns_threads
                                                         : (int)uv_available_parallelism(),
                                          .clock = n};
  rc = hls_peers_start(&n->peers, &peers_env, why);
  if (rc == 0) hls_netkeys_attach(n->netkeys, n->peers); /* the keys of a rotation under way */
  gossip_env.peers = n->peers; /* gossip rides on the peers' sessions */
  gossip_env.netkeys = n->netkeys;
  struct hls_invites_env invites_env = {.store = n->store,
                                        .peers = n->peers,
                                        .config = n->config,
                                        .self = n->identity.public_key,
                                        .home = n->home,
                                        .netkeys = n->netkeys,
                                        .now_ms = node_clock,
                                        .clock = n};
  if (rc == 0) rc = hls_invites_new(&n->invites, &invites_env, why);
  gossip_env.invites = n->invites;
  if (rc != 0 || (rc = hls_gossipd_start(&n->gossip, &gossip_env, why)) != 0 ||
      (rc = hls_patternsd_start(&n->patterns, &patterns_env, why)) != 0) {
    node_stop(n, "startup_failed");
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
    goto fail;
  }
  struct hls_control_options copt = control_options(n);
  struct hls_api_env env = node_api_env(n);
  if ((n->api = hls_api_new(&env)) == NULL) rc = hls_why_set(why, HLS_ENOMEM, "out of memory");
  else rc = hls_home_path(n->home, "hlsd.sock", path);
  if (rc != 0 || (rc = hls_control_start(&n->control, &n->loop, path, &copt, hls_api_dispatch,
                                         hls_api_client_gone, n->api, why)) != 0) {
    node_stop(n, "startup_failed");
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
    goto fail;
  }
  /* The web app: a configuration it refuses stops hlsd; an address it
   * cannot bind (another node has it) leaves hlsd running without it,
   * saying why in the log and in hls status. */
  struct hls_web_env web_env = {.loop = &n->loop,
                                .dispatch = hls_api_dispatch,
                                .dispatch_ctx = n->api,
                                .store = n->store,
                                .config = n->config,
                                .node_id = n->node_id,
                                .now_ms = node_clock,
                                .ctx = n};
  struct hls_why web_why = {{0}};
  if ((rc = hls_web_start(&n->web, &web_env, &web_why)) == HLS_ECONFIG) {
    *why = web_why;
    node_stop(n, "startup_failed");
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
    goto fail;
  } else if (rc != 0) {
    snprintf(n->web_problem, sizeof n->web_problem, "%s", web_why.text);
    /* A warning: the node serves its peers and hls; a second node on one
     * machine meets this until it is given its own web.listen. */
    hls_log_warn("web_not_serving", "detail=\"%s\"", web_why.text);
    rc = 0;
  } else if (strcmp(config->web_listen, "off") == 0) {
    snprintf(n->web_problem, sizeof n->web_problem, "web.listen is off");
  }
  /* Delete again what was deleted after the copy this store was restored
   * from, and what passed its retention while hlsd was stopped; then
   * publish what is due (anything missed while stopped) before serving. */
  erasures_reapply(n);
  sweep_retention(n);
  build_profile(n);
  n->dirty_all = true;
  struct hls_why publish_why = {{0}};
  rc = hls_node_publish(n, &publish_why);
  if (rc != 0 && rc != HLS_ESTATE && publish_why.text[0])
    fprintf(stderr, "hlsd: publishing: %s\n", publish_why.text);
  schedule_week_end(n);
  start_expiry_timer(n);
  char quoted[2 * HLS_PLACE_MAX + 8];
  hls_log_info("started", "version=%s node_id=%s place=%s network_id=%s control=%s listen=%s pid=%d", HLS_VERSION,
               n->node_id, hls_log_quote(config->place, quoted, sizeof quoted), n->network_fingerprint, path,
               hls_peers_address(n->peers), (int)getpid());
  /* The peer port is bound and the control socket listens: hls can talk
   * to the node from here on (the kernel queues connections until the
   * loop runs). */
  notify_ready(n, "");
  start_store_check(n);

  uv_run(&n->loop, UV_RUN_DEFAULT);
  /* Everything is closed by node_stop; anything left is a bug, but close
   * it rather than leak it. */
  uv_walk(&n->loop, close_walk, NULL);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&n->loop) != 0) hls_log_error("loop_not_closed", "handles=open");
  rc = 0;
  if (n->store_damaged) {
    rc = hls_why_set(why, HLS_ECORRUPT, "refusing to run on a damaged store: %s", n->check_why.text);
  } else {
    hls_store_mark_clean_on_close(n->store); /* written only if the store was checked this run */
    hls_log_info("stopped", "uptime_ms=%lld", (long long)(hls_node_now_ms(n) - n->started_ms));
  }
fail:
  hls_api_free(n->api); /* its clients are gone with the control socket */
  n->api = NULL;
  free(n->dirty_weeks);
  n->dirty_weeks = NULL;
  hls_store_free(n->store);
  n->store = NULL;
  hls_netkeys_free(n->netkeys);
  n->netkeys = NULL;
  sodium_memzero(&n->identity, sizeof n->identity);
  sodium_memzero(n->disclosure_key, sizeof n->disclosure_key);
  sodium_memzero(n->retired, sizeof n->retired);
  sodium_memzero(n->network_key, sizeof n->network_key);
  if (n->lock_fd >= 0) close(n->lock_fd);
  return rc;
}
