/* This node's own chain: its profile, stories and digests published,
 * erased and re-issued from the records and their consent; items adopted
 * back from peers after a restore; and the preview and review of what
 * would be published.
 *
 * Over 800 lines on purpose: the preview must show exactly what
 * publishing would do, so it runs the same decisions on the same state
 * (the candidates, story states, week digests and own bodies below) as
 * publishing; apart, they would drift. */
#include "summarise.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "disclosure.h"
#include "log.h"

int hls_week_key(hls_day day) {
  int y, w;
  hls_iso_week(day, &y, &w);
  return y * 100 + w;
}

bool hls_week_ended(int week_key, hls_day today) {
  hls_day monday;
  if (hls_iso_week_monday(week_key / 100, week_key % 100, &monday) != 0) return false;
  return monday + 7 <= today;
}

static bool consent_live(const struct hls_record *r, hls_day today) {
  return !(r->has_consent_expires && r->consent_expires <= today);
}

int hls_summarise_story(const struct hls_record *r, hls_day today, msgpack_sbuffer *body, int *audience,
                        uint8_t hash[32]) {
  if (r->consent < HLS_CONSENT_PEERS || !consent_live(r, today)) return HLS_ECONSENT;
  struct hls_story s;
  memset(&s, 0, sizeof s);
  hls_iso_week(r->date, &s.iso_year, &s.iso_week);
  snprintf(s.title, sizeof s.title, "%s", r->title);
  s.tried = r->tried;
  s.learnt = r->learnt;
  s.n_themes = r->n_themes;
  memcpy(s.themes, r->themes, r->n_themes * sizeof r->themes[0]);
  s.scale = (int)r->scale;
  s.stage = (int)r->stage;
  *audience = r->consent == HLS_CONSENT_NETWORK ? HLS_AUD_NETWORK : HLS_AUD_PEERS;
  size_t start = body->size;
  int rc = hls_story_pack(body, &s);
  if (rc != 0) return rc;
  uint8_t aud = (uint8_t)*audience;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, &aud, 1);
  crypto_generichash_update(&st, (const uint8_t *)body->data + start, body->size - start);
  crypto_generichash_final(&st, hash, 32);
  return 0;
}

/* --- appending to the own chain ------------------------------------------------ */

struct chain {
  uint64_t seq;
  uint8_t head[32];
};

static int chain_load(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_why *why) {
  return hls_store_chain_head(ctx->store, ctx->identity->public_key, &ch->seq, ch->head, why);
}

static int chain_append_as(const struct hls_summarise_ctx *ctx, const struct hls_identity *id, struct chain *ch,
                           int type, int audience, const uint8_t *body, size_t body_len, uint64_t *seq,
                           struct hls_why *why);

/* Sign and store the next item; *seq gets its seq. */
static int chain_append(const struct hls_summarise_ctx *ctx, struct chain *ch, int type, int audience,
                        const uint8_t *body, size_t body_len, uint64_t *seq, struct hls_why *why) {
  return chain_append_as(ctx, ctx->identity, ch, type, audience, body, body_len, seq, why);
}

/* The same in the chain of key id (this node's, or one it held before). */
static int chain_append_as(const struct hls_summarise_ctx *ctx, const struct hls_identity *id, struct chain *ch,
                           int type, int audience, const uint8_t *body, size_t body_len, uint64_t *seq,
                           struct hls_why *why) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  uint64_t next = ch->seq + 1;
  int rc = hls_env_build(&sb, type, id->secret_key, next, ch->seq > 0 ? ch->head : NULL,
                         (uint64_t)ctx->now_ms, audience, body, body_len);
  struct hls_envelope env;
  if (rc == 0) rc = hls_env_decode(&env, (const uint8_t *)sb.data, sb.size, why);
  if (rc == 0) rc = hls_store_item_put(ctx->store, &env, HLS_BODY_HELD, ctx->now_ms, why);
  if (rc == 0) {
    ch->seq = next;
    memcpy(ch->head, env.id, 32);
    *seq = next;
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* The body of one of our items, or NULL if not held (caller frees). */
static uint8_t *own_body(const struct hls_summarise_ctx *ctx, uint64_t seq, size_t *len) {
  struct hls_item it;
  if (hls_store_item_get(ctx->store, ctx->identity->public_key, seq, &it, NULL) != 0) return NULL;
  uint8_t *body = it.body;
  *len = it.body_len;
  it.body = NULL;
  hls_item_clear(&it);
  return body;
}

static bool same_bytes(const uint8_t *a, size_t a_len, const void *b, size_t b_len) {
  return a != NULL && a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* --- profile -------------------------------------------------------------------- */

static int reconcile_profile(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                             struct hls_why *why) {
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  int rc = hls_profile_pack(&body, ctx->profile);
  struct hls_published cur;
  bool have = rc == 0 && hls_store_published_current(ctx->store, HLS_ENV_PROFILE, 0, 0, &cur, NULL) == 0;
  size_t cur_len = 0;
  uint8_t *cur_body = have ? own_body(ctx, cur.seq, &cur_len) : NULL;
  if (rc == 0 && !same_bytes(cur_body, cur_len, body.data, body.size)) {
    uint64_t seq;
    rc = chain_append(ctx, ch, HLS_ENV_PROFILE, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
    struct hls_published p = {.seq = seq, .type = HLS_ENV_PROFILE, .published_ms = ctx->now_ms};
    if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
    if (rc == 0 && have) rc = hls_store_published_superseded(ctx->store, cur.seq, seq, why);
    if (rc == 0) res->profiles++;
  }
  free(cur_body);
  msgpack_sbuffer_destroy(&body);
  return rc;
}

/* --- stories -------------------------------------------------------------------- */

/* A record whose consent allows a story, and what that story would be. */
struct candidate {
  int64_t record_id;
  int audience;
  uint8_t hash[32];
  uint8_t *body; /* owned */
  size_t body_len;
  bool has_share;
  struct hls_share share;
};

struct candidates {
  struct candidate *items;
  size_t n, cap;
  const struct hls_summarise_ctx *ctx;
  int rc;
};

static int collect_candidate(void *arg, const struct hls_record *r) {
  struct candidates *c = arg;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    struct candidate *p = realloc(c->items, cap * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    c->items = p;
    c->cap = cap;
  }
  struct candidate *cd = &c->items[c->n];
  memset(cd, 0, sizeof *cd);
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  int rc = hls_summarise_story(r, c->ctx->today, &body, &cd->audience, cd->hash);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&body);
    return rc == HLS_ECONSENT ? 0 : rc;
  }
  cd->record_id = r->id;
  cd->body_len = body.size;
  cd->body = (uint8_t *)msgpack_sbuffer_release(&body);
  rc = hls_store_share_get(c->ctx->store, r->id, &cd->share, NULL);
  if (rc != 0 && rc != HLS_ENOTFOUND) {
    free(cd->body);
    return rc;
  }
  cd->has_share = rc == 0;
  c->n++;
  return 0;
}

static void candidates_free(struct candidates *c) {
  for (size_t i = 0; i < c->n; i++) free(c->items[i].body);
  free(c->items);
  memset(c, 0, sizeof *c);
}

static int load_candidates(const struct hls_summarise_ctx *ctx, struct candidates *c, struct hls_why *why) {
  memset(c, 0, sizeof *c);
  c->ctx = ctx;
  int rc = hls_store_story_candidates(ctx->store, ctx->today, collect_candidate, c, why);
  if (rc != 0) candidates_free(c);
  return rc;
}

static struct candidate *find_candidate(struct candidates *c, int64_t record_id) {
  /* Candidates come in record id order. */
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c->items[mid].record_id < record_id) lo = mid + 1;
    else hi = mid;
  }
  return lo < c->n && c->items[lo].record_id == record_id ? &c->items[lo] : NULL;
}

static bool approved_now(const struct candidate *cd) {
  return cd->has_share && cd->share.state == HLS_SHARE_APPROVED && cd->share.has_hash &&
         memcmp(cd->share.approved_hash, cd->hash, 32) == 0;
}

/* No decision yet, or the content changed since it was approved. */
static bool awaits_review(const struct candidate *cd) {
  return !cd->has_share || cd->share.state == HLS_SHARE_PENDING ||
         (cd->share.state == HLS_SHARE_APPROVED && !approved_now(cd));
}

struct live_list {
  struct hls_published *items;
  size_t n, cap;
};

static int collect_live(void *arg, const struct hls_published *p) {
  struct live_list *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct hls_published *q = realloc(l->items, cap * sizeof *q);
    if (q == NULL) return HLS_ENOMEM;
    l->items = q;
    l->cap = cap;
  }
  l->items[l->n++] = *p;
  return 0;
}

/* Erase one of our stories: a tombstone, the local body dropped. */
static int tombstone(const struct hls_summarise_ctx *ctx, struct chain *ch, const struct hls_published *story,
                     int reason, struct hls_summarise_result *res, uint64_t *tomb_seq, struct hls_why *why) {
  struct hls_tombstone t = {.target_seq = story->seq, .reason = reason};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  uint64_t seq = 0;
  int rc = hls_tombstone_pack(&body, &t);
  if (rc == 0)
    rc = chain_append(ctx, ch, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
  msgpack_sbuffer_destroy(&body);
  struct hls_published p = {.seq = seq, .type = HLS_ENV_TOMBSTONE, .record_id = story->record_id,
                            .target_seq = story->seq, .reason = reason, .published_ms = ctx->now_ms};
  if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
  if (rc == 0) rc = hls_store_published_erased(ctx->store, story->seq, seq, why);
  if (rc == 0) rc = hls_store_item_erase(ctx->store, ctx->identity->public_key, story->seq, why);
  if (rc == 0) {
    res->tombstones++;
    if (tomb_seq) *tomb_seq = seq;
    hls_log_info("story_erased", "seq=%llu record=%lld reason=%s tombstone=%llu", (unsigned long long)story->seq,
                 (long long)story->record_id, hls_tomb_reason_name(reason), (unsigned long long)seq);
  }
  return rc;
}

static int publish_story(const struct hls_summarise_ctx *ctx, struct chain *ch, const struct candidate *cd,
                         struct hls_summarise_result *res, uint64_t *seq_out, struct hls_why *why) {
  uint64_t seq = 0;
  int rc = chain_append(ctx, ch, HLS_ENV_STORY, cd->audience, cd->body, cd->body_len, &seq, why);
  struct hls_story s;
  if (rc == 0) rc = hls_story_decode(&s, cd->body, cd->body_len, why);
  if (rc != 0) return rc;
  struct hls_published p = {.seq = seq, .type = HLS_ENV_STORY, .audience = cd->audience, .record_id = cd->record_id,
                            .iso_year = s.iso_year, .iso_week = s.iso_week, .has_content_hash = true,
                            .published_ms = ctx->now_ms};
  hls_story_free(&s);
  memcpy(p.content_hash, cd->hash, 32);
  rc = hls_store_published_add(ctx->store, &p, why);
  if (rc == 0) {
    res->stories++;
    *seq_out = seq;
    hls_log_info("story_published", "seq=%llu record=%lld audience=%s", (unsigned long long)seq,
                 (long long)cd->record_id, hls_env_audience_name(cd->audience));
  }
  return rc;
}

/* Why consent no longer allows a published story of record_id. */
static int end_reason(const struct hls_summarise_ctx *ctx, int64_t record_id, struct candidate *cd, bool *record_gone) {
  *record_gone = false;
  if (cd != NULL) return HLS_TOMB_CONSENT_WITHDRAWN; /* rejected, or audience narrowed */
  struct hls_record r;
  hls_record_init(&r);
  int rc = hls_store_record_get(ctx->store, record_id, &r, NULL);
  int reason = HLS_TOMB_CONSENT_WITHDRAWN;
  if (rc == HLS_ENOTFOUND) {
    reason = HLS_TOMB_RECORD_DELETED;
    *record_gone = true;
  } else if (rc == 0 && (r.consent_ended == HLS_CONSENT_EXPIRED ||
                         (r.consent >= HLS_CONSENT_PEERS && !consent_live(&r, ctx->today)))) {
    reason = HLS_TOMB_CONSENT_EXPIRED;
  }
  hls_record_clear(&r);
  return reason;
}

/* Candidates and live stories together, with a flag per candidate for
 * "has a live story" (filled by the caller's walk). */
struct story_state {
  struct candidates c;
  struct live_list live;
  bool *has_live;
};

static void story_state_free(struct story_state *st) {
  free(st->has_live);
  free(st->live.items);
  candidates_free(&st->c);
}

static int story_state_load(const struct hls_summarise_ctx *ctx, struct story_state *st, struct hls_why *why) {
  memset(st, 0, sizeof *st);
  int rc = load_candidates(ctx, &st->c, why);
  if (rc != 0) return rc;
  rc = hls_store_published_live_stories(ctx->store, collect_live, &st->live, why);
  if (rc == 0 && (st->has_live = calloc(st->c.n + 1, sizeof *st->has_live)) == NULL) rc = HLS_ENOMEM;
  if (rc != 0) story_state_free(st);
  return rc;
}

/* Does consent (and the people who decide) still allow live story p? */
static bool story_allowed(const struct hls_published *p, const struct candidate *cd) {
  return cd != NULL && !(cd->has_share && cd->share.state == HLS_SHARE_REJECTED) &&
         !(p->audience == HLS_AUD_NETWORK && cd->audience == HLS_AUD_PEERS);
}

static int reconcile_stories(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                             struct hls_why *why) {
  struct story_state st;
  int rc = story_state_load(ctx, &st, why);
  if (rc != 0) return rc;
  struct candidates *c = &st.c;
  /* Live stories first: erase what consent no longer allows, replace what
   * a person approved anew. */
  for (size_t i = 0; rc == 0 && i < st.live.n; i++) {
    const struct hls_published *p = &st.live.items[i];
    struct candidate *cd = find_candidate(c, p->record_id);
    if (!story_allowed(p, cd)) {
      bool gone;
      int reason = end_reason(ctx, p->record_id, cd, &gone);
      rc = tombstone(ctx, ch, p, reason, res, NULL, why);
      /* Consent given again later needs a new review. */
      if (rc == 0 && cd == NULL && !gone) rc = hls_store_share_forget(ctx->store, p->record_id, why);
      continue;
    }
    st.has_live[cd - c->items] = true;
    if (approved_now(cd) && (!p->has_content_hash || memcmp(p->content_hash, cd->hash, 32) != 0)) {
      uint64_t new_seq = 0;
      rc = publish_story(ctx, ch, cd, res, &new_seq, why);
      if (rc == 0) rc = hls_store_published_superseded(ctx->store, p->seq, new_seq, why);
      if (rc == 0) rc = tombstone(ctx, ch, p, HLS_TOMB_CORRECTED, res, NULL, why);
    } else if (cd->has_share && cd->share.state == HLS_SHARE_APPROVED && !approved_now(cd)) {
      /* Changed since it was approved: the published version stays until
       * a person decides on the new one. */
      struct hls_share sh = cd->share;
      sh.state = HLS_SHARE_PENDING;
      rc = hls_store_share_set(ctx->store, &sh, why);
    }
  }
  /* New stories. */
  for (size_t i = 0; rc == 0 && i < c->n; i++) {
    struct candidate *cd = &c->items[i];
    if (st.has_live[i]) continue;
    if (approved_now(cd)) {
      uint64_t seq;
      rc = publish_story(ctx, ch, cd, res, &seq, why);
    } else if (cd->has_share && cd->share.state == HLS_SHARE_APPROVED) {
      struct hls_share sh = cd->share;
      sh.state = HLS_SHARE_PENDING;
      rc = hls_store_share_set(ctx->store, &sh, why);
    }
  }
  story_state_free(&st);
  return rc;
}

/* The stories published with keys this node held before (hls identity
 * rotate): a story whose record's consent no longer allows it is erased
 * by a tombstone in the old key's closed chain (docs/protocol.md 4.9:
 * tombstones may follow a successor), signed with the kept old key, so
 * that a withdrawal after a move reaches every holder of the old copy. */
static int reconcile_retired(const struct hls_summarise_ctx *ctx, struct hls_summarise_result *res,
                             struct hls_why *why) {
  if (ctx->n_retired == 0) return 0;
  struct candidates c;
  int rc = load_candidates(ctx, &c, why);
  if (rc != 0) return rc;
  for (size_t r = 0; rc == 0 && r < ctx->n_retired; r++) {
    const struct hls_identity *old = &ctx->retired[r];
    uint64_t closed = 0;
    struct chain ch;
    struct live_list live = {0};
    rc = hls_store_successor_seq(ctx->store, old->public_key, &closed, why);
    if (rc == 0) rc = hls_store_chain_head(ctx->store, old->public_key, &ch.seq, ch.head, why);
    /* Only a closed chain held up to its successor at least (a key's
     * tombstone goes after everything it signed). */
    if (rc == 0 && (closed == 0 || ch.seq < closed)) continue;
    if (rc == 0) rc = hls_store_retired_live_stories(ctx->store, old->public_key, collect_live, &live, why);
    for (size_t i = 0; rc == 0 && i < live.n; i++) {
      const struct hls_published *p = &live.items[i];
      struct candidate *cd = find_candidate(&c, p->record_id);
      if (story_allowed(p, cd)) continue;
      bool gone;
      int reason = end_reason(ctx, p->record_id, cd, &gone);
      struct hls_tombstone t = {.target_seq = p->seq, .reason = reason};
      msgpack_sbuffer body;
      msgpack_sbuffer_init(&body);
      uint64_t seq = 0;
      rc = hls_tombstone_pack(&body, &t);
      if (rc == 0)
        rc = chain_append_as(ctx, old, &ch, HLS_ENV_TOMBSTONE, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size,
                             &seq, why);
      msgpack_sbuffer_destroy(&body);
      if (rc == 0)
        rc = hls_store_retired_tombstone(ctx->store, old->public_key, p->seq, seq, p->record_id, reason, ctx->now_ms,
                                         why);
      if (rc == 0) rc = hls_store_item_erase(ctx->store, old->public_key, p->seq, why);
      if (rc == 0) {
        res->tombstones++;
        hls_log_info("story_erased", "key=retired seq=%llu record=%lld reason=%s tombstone=%llu",
                     (unsigned long long)p->seq, (long long)p->record_id, hls_tomb_reason_name(reason),
                     (unsigned long long)seq);
      }
    }
    free(live.items);
  }
  candidates_free(&c);
  return rc;
}

/* --- digests ---------------------------------------------------------------------- */

struct cell_list {
  struct hls_digest_cell *cells;
  size_t n, cap;
  const struct hls_digest_method *method;
  int iso_year, iso_week;
  uint8_t key[HLS_DISCLOSURE_KEY_BYTES]; /* the node's disclosure key (hls-sdc-2) */
};

static int collect_cell(void *arg, const struct hls_cell_raw *raw) {
  struct cell_list *l = arg;
  if (l->n == HLS_DIGEST_MAX_CELLS) return HLS_ETOOBIG;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    struct hls_digest_cell *p = realloc(l->cells, cap * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    l->cells = p;
    l->cap = cap;
  }
  struct hls_digest_cell *c = &l->cells[l->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->theme, sizeof c->theme, "%s", raw->theme);
  c->kind = raw->kind;
  c->scale = raw->scale;
  c->stage = raw->stage;
  uint32_t offset = l->method->kind == HLS_SDC_KEYED && raw->scale == HLS_SCALE_PERSON
                        ? hls_disclosure_offset(l->key, l->iso_year, l->iso_week, c->theme, c->kind, c->scale,
                                                c->stage, l->method->rounding)
                        : 0;
  hls_disclose(l->method, raw->scale, raw->count, offset, &c->withheld, &c->count);
  return 0;
}

/* The digest a week's records give now (body appended to out). */
static int week_digest(const struct hls_summarise_ctx *ctx, int key, msgpack_sbuffer *out, struct hls_digest *d,
                       struct hls_why *why) {
  hls_day monday;
  memset(d, 0, sizeof *d);
  if (hls_iso_week_monday(key / 100, key % 100, &monday) != 0) return HLS_EINVAL;
  struct cell_list l = {.method = &ctx->method, .iso_year = key / 100, .iso_week = key % 100};
  if (ctx->disclosure_key != NULL) memcpy(l.key, ctx->disclosure_key, sizeof l.key);
  else hls_disclosure_key(ctx->identity->secret_key, l.key);
  int rc = hls_store_week_counts(ctx->store, monday, monday + 6, ctx->today, collect_cell, &l, why);
  if (rc == HLS_ETOOBIG) rc = hls_why_set(why, rc, "week %d-W%02d: more than %d digest cells", key / 100, key % 100,
                                          HLS_DIGEST_MAX_CELLS);
  d->iso_year = key / 100;
  d->iso_week = key % 100;
  d->method = ctx->method;
  d->cells = l.cells;
  d->n_cells = l.n;
  sodium_memzero(l.key, sizeof l.key);
  if (rc == 0 && out != NULL) rc = hls_digest_pack(out, d);
  return rc;
}

struct week_set {
  int *keys;
  size_t n, cap;
};

static int week_add(struct week_set *w, int key) {
  if (w->n > 0 && w->keys[w->n - 1] == key) return 0;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    int *p = realloc(w->keys, cap * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    w->keys = p;
    w->cap = cap;
  }
  w->keys[w->n++] = key;
  return 0;
}

static int add_day_week(void *arg, hls_day day) { return week_add(arg, hls_week_key(day)); }
static int add_week(void *arg, int y, int wk) { return week_add(arg, y * 100 + wk); }

static int int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Every week with records counted now or a digest published before. */
static int all_weeks(const struct hls_summarise_ctx *ctx, struct week_set *w, struct hls_why *why) {
  int rc = hls_store_countable_days(ctx->store, ctx->today, add_day_week, w, why);
  if (rc == 0) rc = hls_store_published_digest_weeks(ctx->store, add_week, w, why);
  if (rc == 0 && w->n > 1) {
    qsort(w->keys, w->n, sizeof w->keys[0], int_cmp);
    size_t o = 1;
    for (size_t i = 1; i < w->n; i++)
      if (w->keys[i] != w->keys[o - 1]) w->keys[o++] = w->keys[i];
    w->n = o;
  }
  return rc;
}

static int reconcile_week(const struct hls_summarise_ctx *ctx, struct chain *ch, int key,
                          struct hls_summarise_result *res, struct hls_why *why) {
  msgpack_sbuffer body;
  struct hls_digest d;
  msgpack_sbuffer_init(&body);
  int rc = week_digest(ctx, key, &body, &d, why);
  struct hls_published cur;
  bool have = rc == 0 && hls_store_published_current(ctx->store, HLS_ENV_DIGEST, key / 100, key % 100, &cur, NULL) == 0;
  size_t cur_len = 0;
  uint8_t *cur_body = have ? own_body(ctx, cur.seq, &cur_len) : NULL;
  bool publish = rc == 0 && (have ? !same_bytes(cur_body, cur_len, body.data, body.size) : d.n_cells > 0);
  if (publish) {
    uint64_t seq = 0;
    rc = chain_append(ctx, ch, HLS_ENV_DIGEST, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
    struct hls_published p = {.seq = seq, .type = HLS_ENV_DIGEST, .iso_year = key / 100, .iso_week = key % 100,
                              .published_ms = ctx->now_ms};
    if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
    if (rc == 0 && have) rc = hls_store_published_superseded(ctx->store, cur.seq, seq, why);
    if (rc == 0) {
      res->digests++;
      hls_log_info("digest_published", "seq=%llu week=%d-W%02d cells=%zu%s", (unsigned long long)seq, key / 100,
                   key % 100, d.n_cells, have ? " reissue=true" : "");
    }
  }
  free(cur_body);
  hls_digest_free(&d);
  msgpack_sbuffer_destroy(&body);
  return rc;
}

static int reconcile_digests(const struct hls_summarise_ctx *ctx, struct chain *ch, const struct hls_dirty *dirty,
                             struct hls_summarise_result *res, struct hls_why *why) {
  struct week_set all = {0};
  const int *keys = dirty->weeks;
  size_t n = dirty->n;
  int rc = 0;
  if (dirty->all) {
    rc = all_weeks(ctx, &all, why);
    keys = all.keys;
    n = all.n;
  }
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (hls_week_ended(keys[i], ctx->today)) rc = reconcile_week(ctx, ch, keys[i], res, why);
  free(all.keys);
  return rc;
}

/* --- erasure receipts ------------------------------------------------------------- */

/* One receipt of the entries owed (the oldest origins first, as the
 * store lists them), if any are. */
static int reconcile_receipts(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                              struct hls_why *why) {
  if (!ctx->publish_receipts) return 0; /* kept in the store until publish.receipts is on */
  struct hls_receipt r = {.entries = calloc(HLS_RECEIPT_MAX_ENTRIES, sizeof *r.entries)};
  if (r.entries == NULL) return HLS_ENOMEM;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  int rc = hls_store_receipts_pending(ctx->store, r.entries, HLS_RECEIPT_MAX_ENTRIES, &r.n_entries,
                                      &res->receipts_waiting, why);
  uint64_t seq = 0;
  if (rc == 0 && r.n_entries > 0) {
    rc = hls_receipt_pack(&body, &r);
    if (rc == 0)
      rc = chain_append(ctx, ch, HLS_ENV_RECEIPT, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
    struct hls_published p = {.seq = seq, .type = HLS_ENV_RECEIPT, .published_ms = ctx->now_ms};
    if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
    if (rc == 0) rc = hls_store_receipts_sent(ctx->store, &r, seq, ctx->now_ms, why);
    if (rc == 0) res->receipts++;
  }
  msgpack_sbuffer_destroy(&body);
  hls_receipt_free(&r);
  return rc;
}

/* --- fork reports ----------------------------------------------------------------- */

struct fork_report_ctx {
  const struct hls_summarise_ctx *ctx;
  struct chain *ch;
  struct hls_summarise_result *res;
  struct hls_why *why;
};

/* One fork item for a fork found here (docs/protocol.md 4.7). Evidence
 * that makes no valid report (cannot be from a fork found by the gossip
 * engine, which checks both signatures) is marked so, never tried again. */
static int report_fork(void *arg, const uint8_t origin[32], uint64_t seq, const void *ours, size_t ours_len,
                       const void *theirs, size_t theirs_len) {
  struct fork_report_ctx *fr = arg;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  uint64_t item_seq = 0;
  int rc = hls_fork_pack(&body, ours, ours_len, theirs, theirs_len);
  if (rc == 0) {
    rc = chain_append(fr->ctx, fr->ch, HLS_ENV_FORK, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size,
                      &item_seq, fr->why);
    struct hls_published p = {.seq = item_seq, .type = HLS_ENV_FORK, .published_ms = fr->ctx->now_ms};
    if (rc == 0) rc = hls_store_published_add(fr->ctx->store, &p, fr->why);
    if (rc == 0) fr->res->forks++;
  } else if (rc == HLS_EINVAL) {
    rc = 0; /* item_seq 0: no report from this evidence */
  }
  if (rc == 0) rc = hls_store_fork_reported(fr->ctx->store, origin, seq, item_seq, fr->why);
  msgpack_sbuffer_destroy(&body);
  return rc;
}

static int reconcile_forks(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                           struct hls_why *why) {
  if (!ctx->publish_forks) return 0; /* kept unreported until publish.forks is on */
  struct fork_report_ctx fr = {.ctx = ctx, .ch = ch, .res = res, .why = why};
  return hls_store_forks_unreported(ctx->store, report_fork, &fr, why);
}

/* --- vouches ----------------------------------------------------------------------- */

/* The vouches the admin asked for (hls vouch, hls unvouch), one item
 * each, at most HLS_VOUCHES_PER_RUN a run (the rest in the next). */
#define HLS_VOUCHES_PER_RUN 64
static int reconcile_vouches(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                             struct hls_why *why) {
  struct hls_vouch asked[HLS_VOUCHES_PER_RUN];
  size_t n = 0;
  int rc = hls_store_vouches_asked(ctx->store, asked, HLS_VOUCHES_PER_RUN, &n, why);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    uint64_t seq = 0;
    rc = hls_vouch_pack(&body, &asked[i]);
    if (rc == 0)
      rc = chain_append(ctx, ch, HLS_ENV_VOUCH, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
    struct hls_published p = {.seq = seq, .type = HLS_ENV_VOUCH, .published_ms = ctx->now_ms};
    if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
    if (rc == 0) rc = hls_store_vouch_asked_done(ctx->store, asked[i].subject, why);
    if (rc == 0) res->vouches++;
    msgpack_sbuffer_destroy(&body);
  }
  return rc;
}

/* --- a key rotation --------------------------------------------------------------- */

/* The rekey item a steward's hls network rotate asked for (netkeys.h). */
static int reconcile_rekey(const struct hls_summarise_ctx *ctx, struct chain *ch, struct hls_summarise_result *res,
                           struct hls_why *why) {
  if (ctx->rekey == NULL) return 0;
  struct hls_rekey r = *ctx->rekey;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  uint64_t seq = 0;
  int rc = hls_rekey_pack(&body, &r);
  if (rc == 0)
    rc = chain_append(ctx, ch, HLS_ENV_REKEY, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, &seq, why);
  struct hls_published p = {.seq = seq, .type = HLS_ENV_REKEY, .published_ms = ctx->now_ms};
  if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
  if (rc == 0) res->rekeys++;
  msgpack_sbuffer_destroy(&body);
  return rc;
}

int hls_summarise_successor(const struct hls_summarise_ctx *ctx, const struct hls_identity *fresh, uint64_t *seq,
                            struct hls_why *why) {
  struct chain ch;
  uint64_t closed = 0;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  struct hls_successor su;
  hls_successor_sign(&su, ctx->identity->public_key, fresh->secret_key);
  int rc = hls_successor_pack(&body, &su);
  if (rc == 0) rc = hls_store_begin(ctx->store, why);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&body);
    return rc;
  }
  rc = chain_load(ctx, &ch, why);
  if (rc == 0) rc = hls_store_successor_seq(ctx->store, ctx->identity->public_key, &closed, why);
  if (rc == 0 && ch.seq == 0) rc = hls_why_set(why, HLS_ESTATE, "this node has published nothing yet");
  if (rc == 0 && closed != 0)
    rc = hls_why_set(why, HLS_ESTATE, "this key has a successor already (seq %llu)", (unsigned long long)closed);
  if (rc == 0)
    rc = chain_append(ctx, &ch, HLS_ENV_SUCCESSOR, HLS_AUD_NETWORK, (const uint8_t *)body.data, body.size, seq, why);
  struct hls_published p = {.seq = *seq, .type = HLS_ENV_SUCCESSOR, .published_ms = ctx->now_ms};
  if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
  if (rc == 0) rc = hls_store_commit(ctx->store, why);
  if (rc != 0) hls_store_rollback(ctx->store);
  msgpack_sbuffer_destroy(&body);
  return rc;
}

int hls_summarise_reconcile(const struct hls_summarise_ctx *ctx, const struct hls_dirty *dirty,
                            struct hls_summarise_result *res, struct hls_why *why) {
  struct chain ch;
  struct hls_dirty all_dirty = {.all = true};
  memset(res, 0, sizeof *res);
  int rc = hls_store_begin(ctx->store, why);
  if (rc != 0) return rc;
  if ((rc = hls_store_expire_consents(ctx->store, ctx->today, ctx->now_ms, &res->expired, why)) == 0 &&
      res->expired > 0) {
    hls_log_info("consent_expired", "records=%lld", (long long)res->expired);
    dirty = &all_dirty; /* expired records leave the digests of their weeks */
  }
  if (rc == 0) rc = chain_load(ctx, &ch, why);
  if (rc == 0) rc = reconcile_profile(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_stories(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_digests(ctx, &ch, dirty, res, why);
  if (rc == 0) rc = reconcile_receipts(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_forks(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_vouches(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_rekey(ctx, &ch, res, why);
  if (rc == 0) rc = reconcile_retired(ctx, res, why);
  if (rc == 0) rc = hls_store_commit(ctx->store, why);
  if (rc != 0) {
    hls_store_rollback(ctx->store);
    memset(res, 0, sizeof *res);
  }
  return rc;
}

/* --- adopting items back from peers ---------------------------------------------- */

static int newest_seq(void *arg, const struct hls_published *p) {
  *(uint64_t *)arg = p->seq;
  return 0;
}

struct record_stories {
  int64_t record_id;
  uint64_t below; /* only stories before this seq */
  uint64_t seqs[16];
  size_t n;
};

static int collect_record_story(void *arg, const struct hls_published *p) {
  struct record_stories *r = arg;
  if (p->record_id == r->record_id && p->seq < r->below && r->n < sizeof r->seqs / sizeof r->seqs[0])
    r->seqs[r->n++] = p->seq;
  return 0;
}

static int adopt_story(const struct hls_summarise_ctx *ctx, struct candidates *c, const struct hls_envelope *env,
                       const struct hls_item *it, struct hls_published *p, struct hls_summarise_adopted *out,
                       struct hls_why *why) {
  const struct candidate *cd = NULL;
  for (size_t i = 0; i < c->n && cd == NULL; i++) {
    uint8_t h[32];
    hls_env_hash(c->items[i].body, c->items[i].body_len, h);
    if (c->items[i].audience == env->h.audience && memcmp(h, env->h.body_hash, 32) == 0) cd = &c->items[i];
  }
  const uint8_t *body = cd ? cd->body : it->body;
  size_t body_len = cd ? cd->body_len : it->body_len;
  if (body != NULL) {
    struct hls_story st;
    if (hls_story_decode(&st, body, body_len, NULL) == 0) {
      p->iso_year = st.iso_year;
      p->iso_week = st.iso_week;
      hls_story_free(&st);
    }
  }
  if (cd == NULL) {
    out->orphaned_stories++;
    hls_log_warn("story_orphaned", "seq=%llu detail=\"a story this node published matches no record in the "
                 "restored store; it will be withdrawn (record_deleted)\"", (unsigned long long)p->seq);
    return 0;
  }
  p->record_id = cd->record_id;
  memcpy(p->content_hash, cd->hash, 32);
  p->has_content_hash = true;
  int rc = 0;
  if (it->body == NULL && it->body_state == HLS_BODY_STUB)
    rc = hls_store_item_restore_body(ctx->store, ctx->identity->public_key, p->seq, cd->body, cd->body_len, why);
  /* A story replacing an earlier one of its record supersedes it, as when
   * reconcile published it. */
  struct record_stories older = {.record_id = cd->record_id, .below = p->seq};
  if (rc == 0) rc = hls_store_published_live_stories(ctx->store, collect_record_story, &older, why);
  for (size_t i = 0; rc == 0 && i < older.n; i++)
    rc = hls_store_published_superseded(ctx->store, older.seqs[i], p->seq, why);
  return rc;
}

/* A tombstone that came back proves what happened to a record after the
 * store's copy was made; a restore must not bring it back. Deleted: the
 * record goes again. Consent ended (withdrawn, narrowed or the story
 * rejected: the reason does not tell which, so the safest): the record
 * becomes private again. Either way its share decision is forgotten, so
 * nothing of it goes out without a person's new approval. */
static int adopt_end_of_consent(const struct hls_summarise_ctx *ctx, int64_t record_id, int reason,
                                struct hls_why *why) {
  if (reason == HLS_TOMB_RECORD_DELETED) {
    int rc = hls_store_record_delete(ctx->store, record_id, why);
    return rc == HLS_ENOTFOUND ? 0 : rc;
  }
  int rc = hls_store_share_forget(ctx->store, record_id, why);
  if (rc != 0) return rc;
  struct hls_record r;
  hls_record_init(&r);
  rc = hls_store_record_get(ctx->store, record_id, &r, why);
  if (rc == HLS_ENOTFOUND) return 0;
  if (rc == 0 && r.consent > HLS_CONSENT_PRIVATE) {
    r.consent = HLS_CONSENT_PRIVATE;
    r.consent_ended = reason == HLS_TOMB_CONSENT_EXPIRED ? HLS_CONSENT_EXPIRED : HLS_CONSENT_WITHDRAWN;
    rc = hls_store_record_update(ctx->store, &r, ctx->now_ms, why);
  }
  hls_record_clear(&r);
  return rc;
}

static int adopt_tombstone(const struct hls_summarise_ctx *ctx, const struct hls_item *it, struct hls_published *p,
                           struct hls_why *why) {
  struct hls_tombstone t;
  if (it->body == NULL || hls_tombstone_decode(&t, it->body, it->body_len, NULL) != 0) return 0;
  p->target_seq = t.target_seq;
  p->reason = t.reason;
  struct hls_published target;
  int rc = hls_store_published_get(ctx->store, t.target_seq, &target, why);
  if (rc == HLS_ENOTFOUND) return 0;
  if (rc != 0) return rc;
  p->record_id = target.record_id;
  rc = hls_store_published_erased(ctx->store, t.target_seq, p->seq, why);
  if (rc == 0) rc = hls_store_item_erase(ctx->store, ctx->identity->public_key, t.target_seq, why);
  if (rc == 0 && target.record_id > 0 && t.reason != HLS_TOMB_CORRECTED)
    rc = adopt_end_of_consent(ctx, target.record_id, t.reason, why);
  return rc;
}

static int adopt_one(const struct hls_summarise_ctx *ctx, struct candidates *c, uint64_t seq,
                     struct hls_summarise_adopted *out, struct hls_why *why) {
  struct hls_item it;
  struct hls_envelope env;
  int rc = hls_store_item_get(ctx->store, ctx->identity->public_key, seq, &it, why);
  if (rc != 0) return rc;
  if ((rc = hls_env_decode(&env, it.stub, it.stub_len, why)) != 0) {
    hls_item_clear(&it);
    return rc;
  }
  struct hls_published p = {.seq = seq, .type = env.h.type, .audience = env.h.audience,
                            .published_ms = (int64_t)env.h.timestamp_ms};
  struct hls_published cur;
  switch (env.h.type) {
  case HLS_ENV_PROFILE:
    rc = hls_store_published_current(ctx->store, HLS_ENV_PROFILE, 0, 0, &cur, NULL) == 0
             ? hls_store_published_superseded(ctx->store, cur.seq, seq, why)
             : 0;
    break;
  case HLS_ENV_DIGEST: {
    struct hls_digest d;
    if (it.body != NULL && hls_digest_decode(&d, it.body, it.body_len, NULL) == 0) {
      p.iso_year = d.iso_year;
      p.iso_week = d.iso_week;
      hls_digest_free(&d);
      if (hls_store_published_current(ctx->store, HLS_ENV_DIGEST, p.iso_year, p.iso_week, &cur, NULL) == 0)
        rc = hls_store_published_superseded(ctx->store, cur.seq, seq, why);
    }
    break;
  }
  case HLS_ENV_STORY: rc = adopt_story(ctx, c, &env, &it, &p, out, why); break;
  case HLS_ENV_TOMBSTONE: rc = adopt_tombstone(ctx, &it, &p, why); break;
  case HLS_ENV_RECEIPT: {
    /* What it carried is not owed again. */
    struct hls_receipt r;
    if (it.body != NULL && hls_receipt_decode(&r, it.body, it.body_len, NULL) == 0) {
      rc = hls_store_receipts_sent(ctx->store, &r, seq, (int64_t)env.h.timestamp_ms, why);
      hls_receipt_free(&r);
    }
    break;
  }
  case HLS_ENV_FORK: {
    /* The fork it reported is not reported again (a store restored from
     * before the report still has it unreported). */
    struct hls_fork f;
    if (it.body != NULL && hls_fork_decode(&f, it.body, it.body_len, NULL) == 0)
      rc = hls_store_fork_reported(ctx->store, f.origin, f.seq, seq, why);
    break;
  }
  default: break;
  }
  if (rc == 0) rc = hls_store_published_add(ctx->store, &p, why);
  if (rc == 0) out->items++;
  hls_item_clear(&it);
  return rc;
}

int hls_summarise_adopt(const struct hls_summarise_ctx *ctx, struct hls_summarise_adopted *out,
                        struct hls_why *why) {
  memset(out, 0, sizeof *out);
  uint64_t head = 0, done = 0;
  uint8_t head_id[32];
  int rc = hls_store_chain_head(ctx->store, ctx->identity->public_key, &head, head_id, why);
  if (rc == 0) rc = hls_store_published_list(ctx->store, true, 1, newest_seq, &done, why);
  if (rc != 0 || done >= head) return rc;
  struct candidates c;
  if ((rc = load_candidates(ctx, &c, why)) != 0) return rc;
  rc = hls_store_begin(ctx->store, why);
  for (uint64_t seq = done + 1; rc == 0 && seq <= head; seq++) rc = adopt_one(ctx, &c, seq, out, why);
  if (rc == 0) rc = hls_store_commit(ctx->store, why);
  if (rc != 0) {
    hls_store_rollback(ctx->store);
    memset(out, 0, sizeof *out);
  }
  candidates_free(&c);
  return rc;
}

/* --- preview and review ------------------------------------------------------------- */

#define PK(expr)                        \
  do {                                  \
    if ((expr) != 0) return HLS_ENOMEM; \
  } while (0)

static int pack_week_label(msgpack_packer *pk, const char *key, int iso_year, int iso_week) {
  char label[9];
  hls_iso_week_format(iso_year, iso_week, label);
  return hls_mp_pack_kv_str(pk, key, label);
}

int hls_summarise_pack_story(msgpack_packer *pk, const struct hls_story *s, int audience) {
  PK(pack_week_label(pk, "week", s->iso_year, s->iso_week));
  PK(hls_mp_pack_kv_str(pk, "audience", hls_env_audience_name(audience)));
  PK(hls_mp_pack_kv_str(pk, "title", s->title));
  PK(hls_mp_pack_kv_str(pk, "tried", s->tried));
  PK(hls_mp_pack_kv_str(pk, "learnt", s->learnt));
  PK(hls_mp_pack_cstr(pk, "themes"));
  PK(msgpack_pack_array(pk, s->n_themes));
  for (size_t i = 0; i < s->n_themes; i++) {
    PK(msgpack_pack_map(pk, 2));
    PK(hls_mp_pack_kv_str(pk, "name", s->themes[i].slug));
    PK(hls_mp_pack_kv_str(pk, "kind", hls_kind_name(s->themes[i].kind)));
  }
  PK(hls_mp_pack_kv_str(pk, "scale", hls_scale_name((enum hls_scale)s->scale)));
  PK(hls_mp_pack_kv_str(pk, "stage", hls_stage_name((enum hls_stage)s->stage)));
  return 0;
}

static int pack_story_entry(msgpack_packer *pk, int64_t record_id, uint64_t seq, const char *state,
                            const uint8_t *body, size_t body_len, int audience) {
  struct hls_story s;
  if (hls_story_decode(&s, body, body_len, NULL) != 0) return HLS_EINTERNAL;
  int rc = 0;
  if (msgpack_pack_map(pk, 11) != 0 || hls_mp_pack_kv_i64(pk, "record", record_id) != 0 ||
      hls_mp_pack_cstr(pk, "seq") != 0 || (seq ? msgpack_pack_uint64(pk, seq) : msgpack_pack_nil(pk)) != 0 ||
      hls_mp_pack_kv_str(pk, "state", state) != 0)
    rc = HLS_ENOMEM;
  if (rc == 0) rc = hls_summarise_pack_story(pk, &s, audience);
  hls_story_free(&s);
  return rc;
}

static int pack_digest_entry(msgpack_packer *pk, const struct hls_digest *d, const char *state, uint64_t seq) {
  PK(msgpack_pack_map(pk, 5));
  PK(pack_week_label(pk, "week", d->iso_year, d->iso_week));
  PK(hls_mp_pack_kv_str(pk, "state", state));
  PK(hls_mp_pack_cstr(pk, "seq"));
  PK(seq ? msgpack_pack_uint64(pk, seq) : msgpack_pack_nil(pk));
  PK(hls_mp_pack_cstr(pk, "method"));
  PK(msgpack_pack_map(pk, 3));
  PK(hls_mp_pack_kv_str(pk, "name", hls_digest_method_name(d->method.kind)));
  PK(hls_mp_pack_kv_i64(pk, "threshold", d->method.threshold));
  PK(hls_mp_pack_kv_i64(pk, "rounding", d->method.rounding));
  PK(hls_mp_pack_cstr(pk, "cells"));
  PK(msgpack_pack_array(pk, d->n_cells));
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    PK(msgpack_pack_map(pk, 5));
    PK(hls_mp_pack_kv_str(pk, "theme", c->theme));
    PK(hls_mp_pack_kv_str(pk, "kind", hls_kind_name((enum hls_kind)c->kind)));
    PK(hls_mp_pack_kv_str(pk, "scale", hls_scale_name((enum hls_scale)c->scale)));
    PK(hls_mp_pack_kv_str(pk, "stage", hls_stage_name((enum hls_stage)c->stage)));
    PK(hls_mp_pack_cstr(pk, "count"));
    PK(c->withheld ? msgpack_pack_nil(pk) : msgpack_pack_uint32(pk, c->count));
  }
  return 0;
}

/* Pack into a side buffer first: the array length comes first on the
 * wire. */
struct listing {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  uint32_t n;
};

static void listing_init(struct listing *l) {
  msgpack_sbuffer_init(&l->sb);
  msgpack_packer_init(&l->pk, &l->sb, msgpack_sbuffer_write);
  l->n = 0;
}

static int listing_emit(msgpack_packer *pk, const char *key, struct listing *l) {
  PK(hls_mp_pack_cstr(pk, key));
  PK(msgpack_pack_array(pk, l->n));
  if (l->sb.size > 0) PK(msgpack_sbuffer_write(pk->data, l->sb.data, l->sb.size));
  return 0;
}

static int preview_digests(const struct hls_summarise_ctx *ctx, struct listing *out, struct hls_why *why) {
  struct week_set w = {0};
  int rc = all_weeks(ctx, &w, why);
  for (size_t i = 0; rc == 0 && i < w.n; i++) {
    int key = w.keys[i];
    msgpack_sbuffer body;
    struct hls_digest d;
    msgpack_sbuffer_init(&body);
    rc = week_digest(ctx, key, &body, &d, why);
    struct hls_published cur;
    bool have = rc == 0 && hls_store_published_current(ctx->store, HLS_ENV_DIGEST, key / 100, key % 100, &cur, NULL) == 0;
    size_t cur_len = 0;
    uint8_t *cur_body = have ? own_body(ctx, cur.seq, &cur_len) : NULL;
    const char *state = NULL;
    if (rc == 0) {
      if (!hls_week_ended(key, ctx->today)) state = "waits_for_week_end";
      else if (have && same_bytes(cur_body, cur_len, body.data, body.size)) state = "published";
      else if (have || d.n_cells > 0) state = "pending";
    }
    if (state != NULL) {
      rc = pack_digest_entry(&out->pk, &d, state, strcmp(state, "published") == 0 ? cur.seq : 0);
      out->n++;
    }
    free(cur_body);
    hls_digest_free(&d);
    msgpack_sbuffer_destroy(&body);
  }
  free(w.keys);
  return rc;
}

static int preview_stories(const struct hls_summarise_ctx *ctx, struct listing *out, uint32_t *awaiting,
                           struct hls_why *why) {
  struct story_state st;
  int rc = story_state_load(ctx, &st, why);
  if (rc != 0) return rc;
  struct candidates *c = &st.c;
  for (size_t i = 0; rc == 0 && i < st.live.n; i++) {
    const struct hls_published *p = &st.live.items[i];
    struct candidate *cd = find_candidate(c, p->record_id);
    bool allowed = story_allowed(p, cd);
    size_t len = 0;
    uint8_t *body = own_body(ctx, p->seq, &len);
    const char *state = !allowed ? "to_be_erased"
                        : approved_now(cd) && memcmp(p->content_hash, cd->hash, 32) != 0 ? "to_be_replaced"
                                                                                          : "published";
    if (allowed) st.has_live[cd - c->items] = true;
    if (body != NULL) {
      rc = pack_story_entry(&out->pk, p->record_id, p->seq, state, body, len, p->audience);
      out->n++;
    }
    free(body);
    if (rc == 0 && allowed && strcmp(state, "to_be_replaced") == 0) {
      rc = pack_story_entry(&out->pk, cd->record_id, 0, "pending", cd->body, cd->body_len, cd->audience);
      out->n++;
    }
  }
  for (size_t i = 0; rc == 0 && i < c->n; i++) {
    struct candidate *cd = &c->items[i];
    if (awaits_review(cd)) (*awaiting)++;
    if (st.has_live[i] || !approved_now(cd)) continue;
    rc = pack_story_entry(&out->pk, cd->record_id, 0, "pending", cd->body, cd->body_len, cd->audience);
    out->n++;
  }
  story_state_free(&st);
  return rc;
}

int hls_summarise_preview(const struct hls_summarise_ctx *ctx, msgpack_packer *pk, struct hls_why *why) {
  struct listing digests, stories;
  uint32_t awaiting = 0;
  listing_init(&digests);
  listing_init(&stories);
  int rc = preview_digests(ctx, &digests, why);
  if (rc == 0) rc = preview_stories(ctx, &stories, &awaiting, why);
  if (rc == 0 && (msgpack_pack_map(pk, 3) != 0 || listing_emit(pk, "digests", &digests) != 0 ||
                  listing_emit(pk, "stories", &stories) != 0 || hls_mp_pack_kv_i64(pk, "awaiting_review", awaiting) != 0))
    rc = HLS_ENOMEM;
  msgpack_sbuffer_destroy(&digests.sb);
  msgpack_sbuffer_destroy(&stories.sb);
  return rc;
}

int hls_summarise_review(const struct hls_summarise_ctx *ctx, msgpack_packer *pk, struct hls_why *why) {
  struct candidates c;
  struct listing l;
  int rc = load_candidates(ctx, &c, why);
  if (rc != 0) return rc;
  listing_init(&l);
  for (size_t i = 0; rc == 0 && i < c.n; i++) {
    struct candidate *cd = &c.items[i];
    if (!awaits_review(cd)) continue;
    struct hls_story s;
    if ((rc = hls_story_decode(&s, cd->body, cd->body_len, why)) != 0) break;
    if (msgpack_pack_map(&l.pk, 10) != 0 || hls_mp_pack_kv_i64(&l.pk, "record", cd->record_id) != 0 ||
        hls_mp_pack_kv_bool(&l.pk, "changed", cd->has_share && cd->share.has_hash) != 0 ||
        hls_summarise_pack_story(&l.pk, &s, cd->audience) != 0)
      rc = HLS_ENOMEM;
    hls_story_free(&s);
    l.n++;
  }
  if (rc == 0) {
    if (msgpack_pack_array(pk, l.n) != 0 || (l.sb.size > 0 && msgpack_sbuffer_write(pk->data, l.sb.data, l.sb.size) != 0))
      rc = HLS_ENOMEM;
  }
  msgpack_sbuffer_destroy(&l.sb);
  candidates_free(&c);
  return rc;
}
