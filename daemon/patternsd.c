#include "patternsd.h"

#include <malloc.h>
#include <math.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "date.h"
#include "log.h"
#include "mp.h"
#include "nodeid.h"
#include "feeds.h"
#include "patternsd_internal.h"
#include "patstore.h"
#include "patsummary.h"
#include "patterns.h"
#include "record.h"
#include "store.h"

#define FLUSH_DELAY_MS 50
/* The catch-up after the start-up load feeds at most this many items per
 * turn of the loop (a few ms), so that gossip and calls go on. */
#define CATCH_UP_SLICE 2000
/* A start-up load that failed is tried again after this long. */
#define LOAD_RETRY_MS 5000
#define FLUSH_MAX_DELAY_MS 1000

/* --- writing ---------------------------------------------------------------------------- */

/* A core pattern as the columns and summary the store keeps. */
struct built {
  struct hls_patrow row;
  msgpack_sbuffer sb;
  char *regions, *places; /* owned: '\n'-terminated lines */
  uint8_t *origins;       /* owned: the places' origins, sorted, HLS_KEY_BYTES each */
  size_t n_origins;
};

static int origin_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_KEY_BYTES); }

static int build(struct hls_patternsd *pd, const struct hls_pattern *p, struct built *b) {
  memset(b, 0, sizeof *b);
  msgpack_sbuffer_init(&b->sb);
  size_t n_regions = 0;
  b->regions = hls_patsummary_regions(pd->summary, p, &n_regions);
  if (b->regions == NULL) return HLS_ENOMEM;
  uint32_t *order;
  int rc = hls_patsummary_places_by_label(pd->summary, p, &order);
  if (rc != 0) return rc;
  /* Place names, for --place. */
  size_t len = 1;
  char label[HLS_PATSUMMARY_LABEL];
  for (size_t i = 0; i < p->n_places; i++)
    len += strlen(hls_patsummary_dir_label(pd->summary, order[i], label, sizeof label)) + 1;
  b->places = malloc(len);
  b->origins = malloc((p->n_places ? p->n_places : 1) * HLS_KEY_BYTES);
  if (b->places == NULL || b->origins == NULL) {
    free(order);
    return HLS_ENOMEM;
  }
  size_t at = 0;
  for (size_t i = 0; i < p->n_places; i++) {
    const char *name = hls_patsummary_dir_label(pd->summary, order[i], label, sizeof label);
    size_t l = strlen(name);
    memcpy(b->places + at, name, l);
    at += l;
    b->places[at++] = '\n';
    struct hls_pat_place_info pi;
    if (hls_patterns_place_info(pd->pt, p->places[i], &pi) == 0)
      memcpy(b->origins + b->n_origins++ * HLS_KEY_BYTES, pi.origin, HLS_KEY_BYTES);
  }
  b->places[at] = '\0';
  qsort(b->origins, b->n_origins, HLS_KEY_BYTES, origin_cmp);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
  rc = hls_patsummary_pack(pd->summary, &pk, p, b->regions, n_regions, order);
  free(order);
  if (rc != 0) return rc;
  struct hls_patrow *r = &b->row;
  r->signal = p->signal;
  if (hls_patterns_theme_info(pd->pt, p->theme, &r->theme, &r->kind) != 0) return HLS_EINTERNAL;
  if (p->theme2 != HLS_PAT_NONE && hls_patterns_theme_info(pd->pt, p->theme2, &r->theme2, &r->kind2) != 0)
    return HLS_EINTERNAL;
  r->week_from = p->week_from;
  r->week_to = p->week_to;
  r->n_places = (int64_t)p->n_places;
  r->scales = p->scales;
  r->regions = b->regions;
  /* As the summary shows it, so that --min-strength X keeps a pattern
   * shown with strength X. */
  r->strength = isfinite(p->strength) ? (double)llround(p->strength * 1000.0) / 1000.0 : 0;
  r->live = p->live;
  r->region = p->region ? p->region : "";
  r->places = b->places;
  r->summary = b->sb.data;
  r->summary_len = b->sb.size;
  r->origins = b->origins; /* an event keeps them: feeds --vouched */
  r->n_origins = b->n_origins;
  return 0;
}

static void built_free(struct built *b) {
  msgpack_sbuffer_destroy(&b->sb);
  free(b->regions);
  free(b->places);
  free(b->origins);
}

/* An event: the change and the pattern as it is now (for a retraction, as
 * it last held), with the latest week of digests held. */
static int write_event(struct hls_patternsd *pd, const uint8_t id[HLS_PAT_ID_BYTES], int change, const struct hls_patrow *r,
                       int64_t now, struct hls_why *why) {
  int rc = hls_patstore_add_event(pd->ps, id, change, r, pd->feed.latest_week != NO_WEEK ? &pd->feed.latest_week : NULL, now, why);
  if (rc == 0) pd->events++;
  return rc;
}

static int write_row(struct hls_patternsd *pd, const struct hls_pattern *p, const struct built *b, int64_t now,
                     struct hls_why *why) {
  return hls_patstore_upsert(pd->ps, p, &b->row, b->origins, b->n_origins, now, why);
}

static int write_retract(struct hls_patternsd *pd, const uint8_t id[HLS_PAT_ID_BYTES], int64_t now,
                         struct hls_why *why) {
  return hls_patstore_retract(pd->ps, id, now, why);
}

struct change_ctx {
  struct hls_patternsd *pd;
  int64_t now;
  struct hls_why *why;
};

/* hls_patterns_update's callback: one change, written as the pattern's
 * row and, but for a quiet update, an event. */
static int on_change(void *ctx, int change, const struct hls_pattern *p) {
  struct change_ctx *cc = ctx;
  struct built b;
  int rc = build(cc->pd, p, &b);
  if (rc == 0 && change == HLS_PAT_RETRACTED) rc = write_retract(cc->pd, p->id, cc->now, cc->why);
  else if (rc == 0) rc = write_row(cc->pd, p, &b, cc->now, cc->why);
  if (rc == 0 && change != HLS_PAT_UPDATED) rc = write_event(cc->pd, p->id, change, &b.row, cc->now, cc->why);
  built_free(&b);
  return rc;
}

/* The store's patterns that are not retracted, for the full diff. */
struct stored_row {
  uint8_t id[HLS_PAT_ID_BYTES];
  struct hls_patrow row;
  char *theme, *theme2, *regions, *region, *places;
  void *summary;
  uint8_t *origins; /* NULL: written before schema 9 */
  size_t n_origins;
  bool seen;
};

static int stored_cmp(const void *a, const void *b) { return memcmp(a, b, HLS_PAT_ID_BYTES); }

static void stored_free(struct stored_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(rows[i].theme);
    free(rows[i].theme2);
    free(rows[i].regions);
    free(rows[i].region);
    free(rows[i].places);
    free(rows[i].summary);
    free(rows[i].origins);
  }
  free(rows);
}

static char *dup_or_null(const char *s, bool *failed) {
  if (s == NULL) return NULL;
  char *d = strdup(s);
  if (d == NULL) *failed = true;
  return d;
}

struct stored_list {
  struct stored_row *rows;
  size_t n, cap;
};

static int add_stored(void *ctx, const struct hls_patstore_live *s) {
  struct stored_list *sl = ctx;
  if (sl->n == sl->cap) {
    sl->cap = sl->cap ? sl->cap * 2 : 256;
    struct stored_row *nr = realloc(sl->rows, sl->cap * sizeof *nr);
    if (nr == NULL) return HLS_ENOMEM;
    sl->rows = nr;
  }
  struct stored_row *l = &sl->rows[sl->n++];
  memset(l, 0, sizeof *l);
  memcpy(l->id, s->id, HLS_PAT_ID_BYTES);
  l->row = s->row;
  bool failed = false;
  l->theme = dup_or_null(l->row.theme, &failed);
  l->theme2 = dup_or_null(l->row.theme2, &failed);
  l->regions = dup_or_null(l->row.regions, &failed);
  l->region = dup_or_null(l->row.region, &failed);
  l->places = dup_or_null(l->row.places, &failed);
  l->summary = malloc(l->row.summary_len ? l->row.summary_len : 1);
  if (s->has_origins) {
    l->origins = malloc(s->origins_len > 0 ? s->origins_len : 1);
    if (l->origins == NULL) failed = true;
    else if (s->origins_len > 0) memcpy(l->origins, s->origins, s->origins_len);
    l->n_origins = s->origins_len / HLS_KEY_BYTES;
  }
  if (failed || l->summary == NULL) return HLS_ENOMEM;
  if (l->row.summary_len) memcpy(l->summary, l->row.summary, l->row.summary_len);
  l->row.theme = l->theme;
  l->row.theme2 = l->theme2;
  l->row.regions = l->regions;
  l->row.region = l->region;
  l->row.places = l->places;
  l->row.summary = l->summary;
  l->row.origins = l->origins; /* its retraction's event keeps them */
  l->row.n_origins = l->n_origins;
  return 0;
}

static int load_stored(struct hls_patternsd *pd, struct stored_row **out, size_t *n_out, struct hls_why *why) {
  struct stored_list sl = {0};
  int rc = hls_patstore_each_live(pd->ps, add_stored, &sl, why);
  if (rc != 0) {
    stored_free(sl.rows, sl.n);
    return rc == HLS_ENOMEM ? hls_patstore_oom(why) : rc;
  }
  if (sl.n > 1) qsort(sl.rows, sl.n, sizeof *sl.rows, stored_cmp);
  *out = sl.rows;
  *n_out = sl.n;
  return 0;
}

/* The change from a stored row to the engine's pattern now, judged as the
 * engine judges its own (patterns.h): ended, new again, joined, left,
 * grew, shrank, else a quiet update. Places are compared by origin (names can change);
 * a row written before schema 9 was a pattern of the old methods: new. */
static int stored_change(const struct stored_row *was, const struct hls_pattern *now, const struct built *b) {
  if (was->origins == NULL) return HLS_PAT_NEW;
  if (was->row.live && !now->live) return HLS_PAT_ENDED;
  if (!was->row.live && now->live) return HLS_PAT_NEW; /* ended, and holds again */
  bool joined = false, left = false;
  size_t i = 0, j = 0;
  while (i < was->n_origins || j < b->n_origins) {
    int c = i == was->n_origins ? 1
            : j == b->n_origins ? -1
                                : memcmp(was->origins + i * HLS_KEY_BYTES, b->origins + j * HLS_KEY_BYTES,
                                         HLS_KEY_BYTES);
    if (c < 0) left = true, i++;
    else if (c > 0) joined = true, j++;
    else i++, j++;
  }
  if (joined) return HLS_PAT_JOINED;
  if (left) return HLS_PAT_LEFT;
  double a = floor(was->row.strength), z = floor(now->strength);
  if (z > a) return HLS_PAT_GREW;
  if (z < a) return HLS_PAT_SHRANK;
  return HLS_PAT_UPDATED;
}

struct diff_ctx {
  struct hls_patternsd *pd;
  struct stored_row *rows;
  size_t n;
  int64_t now;
  struct hls_why *why;
  size_t changes;
};

static int diff_one(void *ctx, const struct hls_pattern *p) {
  struct diff_ctx *d = ctx;
  /* (no rows stored: rows is NULL, which bsearch must not be given) */
  struct stored_row *l = d->n > 0 ? bsearch(p->id, d->rows, d->n, sizeof *d->rows, stored_cmp) : NULL;
  struct built b;
  int rc = build(d->pd, p, &b);
  int change = HLS_PAT_NEW;
  if (rc == 0 && l != NULL) {
    l->seen = true;
    if (l->origins != NULL && l->row.summary_len == b.row.summary_len &&
        memcmp(l->row.summary, b.row.summary, b.row.summary_len) == 0) {
      built_free(&b);
      return 0;
    }
    change = stored_change(l, p, &b);
  }
  if (rc == 0) rc = write_row(d->pd, p, &b, d->now, d->why);
  if (rc == 0 && change != HLS_PAT_UPDATED) {
    rc = write_event(d->pd, p->id, change, &b.row, d->now, d->why);
    if (rc == 0) d->changes++;
  }
  built_free(&b);
  return rc;
}

/* Make the store's patterns what the engine holds: one transaction. */
static int sync_all(struct hls_patternsd *pd, size_t *changes, struct hls_why *why) {
  struct diff_ctx d = {.pd = pd, .now = pd->env.now_ms(pd->env.clock), .why = why};
  int rc = hls_store_begin(pd->env.store, why);
  if (rc != 0) return rc;
  rc = load_stored(pd, &d.rows, &d.n, why);
  if (rc == 0) rc = hls_patterns_each(pd->pt, diff_one, &d);
  for (size_t i = 0; rc == 0 && i < d.n; i++) {
    if (d.rows[i].seen) continue;
    rc = write_retract(pd, d.rows[i].id, d.now, why);
    if (rc == 0) rc = write_event(pd, d.rows[i].id, HLS_PAT_RETRACTED, &d.rows[i].row, d.now, why);
    if (rc == 0) d.changes++;
  }
  stored_free(d.rows, d.n);
  if (rc == 0) rc = hls_store_commit(pd->env.store, why);
  if (rc != 0) {
    hls_store_rollback(pd->env.store);
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    return rc;
  }
  if (changes) *changes = d.changes;
  return 0;
}

/* --- flushing ---------------------------------------------------------------------------- */

/* One line for the items left out of patterns since the last one. */
static void log_ignored(struct hls_patternsd *pd) {
  if (pd->feed.ignored_pending == 0) return;
  hls_log_warn("patterns_input_ignored", "count=%zu %s", pd->feed.ignored_pending, pd->feed.ignored_first);
  pd->feed.ignored_pending = 0;
}

#define SAVE_EVERY_MS (10 * 60 * 1000)

/* Keep the tests of the frozen weeks (hls_patterns_save) for the next
 * start. Failing costs only that start's time. */
static void save_tests(struct hls_patternsd *pd, const uint8_t *buf, size_t len) {
  uint64_t t0 = uv_hrtime();
  struct hls_why why = {{0}};
  if (hls_patstore_save_tests(pd->ps, buf, len, pd->env.now_ms(pd->env.clock), &why) != 0)
    hls_log_warn("patterns_tests_not_saved", "detail=\"%s\" action=computed_at_the_next_start", why.text);
  else
    hls_log_debug("patterns_tests_saved", "bytes=%zu took_us=%llu", len,
                  (unsigned long long)((uv_hrtime() - t0) / 1000));
}

/* A new latest week: freeze the weeks a late fact is no longer taken in
 * (limits.patterns_late_weeks). Each call gives up the weeks between the
 * last freeze and this one (and walks the digests of the weeks held):
 * milliseconds, once a week of data. */
static void freeze_more(struct hls_patternsd *pd) {
  if (pd->env.late_weeks <= 0 || pd->feed.latest_week == NO_WEEK || hls_patterns_dirty(pd->pt)) return;
  int32_t week = pd->feed.latest_week - pd->env.late_weeks;
  if (week <= hls_patterns_frozen_before(pd->pt)) return;
  uint64_t t0 = uv_hrtime();
  int rc = hls_patterns_freeze(pd->pt, week);
  char wt[9];
  hls_patsummary_week_text(week, wt);
  if (rc != 0) return;
  hls_log_debug("patterns_frozen", "before=%s took_us=%llu", wt, (unsigned long long)((uv_hrtime() - t0) / 1000));
  /* Writing the copy holds the loop (0.1-0.2 s at 1,000 places): at most
   * once in SAVE_EVERY_MS (a node catching up meets a new week often);
   * weeks frozen since the last copy are computed at the next start. */
  uint64_t now = uv_now(pd->env.loop);
  if (pd->saved_at != 0 && now - pd->saved_at < SAVE_EVERY_MS) return;
  pd->saved_at = now;
  uint8_t *buf;
  size_t len;
  if (hls_patterns_save(pd->pt, &buf, &len) != 0) return; /* out of memory: the next freeze saves */
  save_tests(pd, buf, len);
  free(buf);
}

int hls_patternsd_flush(struct hls_patternsd *pd, struct hls_why *why) {
  log_ignored(pd);
  if (pd->phase != PD_READY) return 0; /* the catch-up flushes when it ends */
  if (!pd->resync && !hls_patterns_dirty(pd->pt)) return 0;
  uint64_t t0 = uv_hrtime();
  int rc;
  size_t before = pd->events;
  double share = hls_patterns_pending_share(pd->pt);
  if (pd->resync) {
    rc = hls_patterns_update(pd->pt, NULL, NULL);
    if (rc == 0) rc = sync_all(pd, NULL, why);
    if (rc == 0) pd->resync = false;
  } else {
    struct change_ctx cc = {.pd = pd, .now = pd->env.now_ms(pd->env.clock), .why = why};
    rc = hls_store_begin(pd->env.store, why);
    if (rc == 0) {
      rc = hls_patterns_update(pd->pt, on_change, &cc);
      if (rc == 0) rc = hls_store_commit(pd->env.store, why);
      if (rc != 0) {
        hls_store_rollback(pd->env.store);
        /* The engine moved on; the store did not: diff it all next time. */
        pd->resync = true;
        pd->events = before;
      }
    }
  }
  pd->last_flush_us = (int64_t)((uv_hrtime() - t0) / 1000);
  pd->flushes++;
  /* What a computation from scratch would take now, for heavy_update: the
   * engine grows between loads. */
  if (rc == 0 && share >= 0.05 && pd->last_flush_us / 1e3 / share > pd->full_compute_ms)
    pd->full_compute_ms = pd->last_flush_us / 1e3 / share;
  if (rc != 0) {
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    return rc;
  }
  /* every computation, changes or not (debug: what it cost) */
  hls_log_debug("patterns_updated", "events=%zu took_us=%lld", pd->events - before, (long long)pd->last_flush_us);
  if (pd->events != before) hls_feeds_pump_all(pd->feeds);
  freeze_more(pd);
  return 0;
}

static void on_timer(uv_timer_t *t) {
  struct hls_patternsd *pd = t->data;
  struct hls_why why = {{0}};
  if (hls_patternsd_flush(pd, &why) != 0) {
    hls_log_error("patterns_update_failed", "detail=\"%s\" action=retrying", why.text);
    uv_timer_start(&pd->timer, on_timer, 1000, 0);
  }
}

/* Recompute once no new fact came for a quiet spell (FLUSH_DELAY_MS, or
 * as long as the last flush took, up to 1 s), and at most FLUSH_MAX_DELAY_MS
 * (or ten times the last flush, if longer) after the first fact waiting:
 * a burst (a catch-up, an import) is computed on whole batches rather than
 * on each partial state, a steady stream still gets through, and flushing
 * takes at most about a tenth of the time. */
static void schedule(struct hls_patternsd *pd) {
  if (!pd->timer_open || pd->phase != PD_READY) return; /* the catch-up flushes when it ends */
  uint64_t now = uv_now(pd->env.loop);
  uint64_t last_ms = (uint64_t)pd->last_flush_us / 1000;
  uint64_t quiet = last_ms < FLUSH_DELAY_MS ? FLUSH_DELAY_MS : last_ms > 1000 ? 1000 : last_ms;
  uint64_t cap = 10 * last_ms > FLUSH_MAX_DELAY_MS ? 10 * last_ms : FLUSH_MAX_DELAY_MS;
  if (!uv_is_active((uv_handle_t *)&pd->timer)) pd->first_pending = now;
  else if (now - pd->first_pending + quiet >= cap) return;
  uv_timer_start(&pd->timer, on_timer, quiet, 0);
}

/* --- facts ------------------------------------------------------------------------------- */

/* Digests are published in or after their week; one dated far ahead or
 * far back (a wrong clock at its place) is left out rather than letting it
 * stretch every theme's series (HLS_PAT_MAX_SPAN_WEEKS). */
static bool week_plausible(const struct hls_pat_feeder *f, int iso_year, int iso_week) {
  int32_t week;
  if (hls_patterns_week(iso_year, iso_week, &week) != 0) return false;
  return week <= f->now_week + 1 && week > f->now_week - HLS_PAT_MAX_SPAN_WEEKS / 2;
}

/* This week's number, read from the clock once per batch of facts (at
 * start: once for every held item), not once per digest. */
static void refresh_now_week(struct hls_patternsd *pd) {
  int y, w;
  hls_iso_week(pd->env.today(pd->env.clock), &y, &w);
  if (hls_patterns_week(y, w, &pd->feed.now_week) != 0) pd->feed.now_week = 0;
}

/* --- place identity across key succession ------------------------------------------- */

static int keymap_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

struct keymap_rows {
  struct hls_succession_row *r;
  size_t n, cap;
};

static int keymap_row(void *ctx, const struct hls_succession_row *r) {
  struct keymap_rows *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    struct hls_succession_row *p = realloc(l->r, cap * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    l->r = p;
    l->cap = cap;
  }
  l->r[l->n++] = *r;
  return 0;
}

/* The row whose new key is key, or NULL. */
static const struct hls_succession_row *keymap_pred(const struct keymap_rows *l, const uint8_t key[32]) {
  for (size_t i = 0; i < l->n; i++)
    if (memcmp(l->r[i].new_id, key, 32) == 0) return &l->r[i];
  return NULL;
}

/* key's root and gen: walked back through l, at most HLS_SUCCESSION_MAX_DEPTH. */
static void keymap_walk(const struct keymap_rows *l, const uint8_t key[32], uint8_t root[32], uint32_t *gen) {
  memcpy(root, key, 32);
  *gen = 0;
  const struct hls_succession_row *r;
  while (*gen < HLS_SUCCESSION_MAX_DEPTH && (r = keymap_pred(l, root)) != NULL && memcmp(r->old_id, key, 32) != 0) {
    memcpy(root, r->old_id, 32);
    (*gen)++;
  }
}

struct hls_pat_keymap *hls_pat__keymap_load(struct hls_store *store, struct hls_why *why) {
  struct keymap_rows l = {0};
  struct hls_pat_keymap *m = NULL;
  if (hls_store_successions(store, keymap_row, &l, why) != 0 || l.n == 0) goto out;
  if ((m = calloc(1, sizeof *m)) == NULL || (m->e = calloc(2 * l.n, sizeof *m->e)) == NULL) {
    if (m != NULL) free(m);
    m = NULL;
    hls_why_set(why, HLS_ENOMEM, "out of memory");
    goto out;
  }
  m->refs = 1;
  for (size_t i = 0; i < 2 * l.n; i++) {
    const uint8_t *key = i < l.n ? l.r[i].old_id : l.r[i - l.n].new_id;
    bool seen = false;
    for (size_t j = 0; j < m->n && !seen; j++) seen = memcmp(m->e[j].key, key, 32) == 0;
    if (seen) continue;
    struct hls_pat_keymap_entry *e = &m->e[m->n++];
    memcpy(e->key, key, 32);
    keymap_walk(&l, key, e->root, &e->gen);
  }
  qsort(m->e, m->n, sizeof *m->e, keymap_cmp);
out:
  free(l.r);
  return m;
}

struct hls_pat_keymap *hls_pat__keymap_ref(struct hls_pat_keymap *m) {
  if (m != NULL) m->refs++;
  return m;
}

void hls_pat__keymap_unref(struct hls_pat_keymap *m) {
  if (m == NULL || --m->refs > 0) return;
  free(m->e);
  free(m);
}

bool hls_pat__keymap_to_engine(const struct hls_pat_keymap *m, const uint8_t origin[32], uint64_t seq,
                               uint8_t out_origin[32], uint64_t *out_seq) {
  const struct hls_pat_keymap_entry *e =
      m != NULL && m->n > 0 ? bsearch(origin, m->e, m->n, sizeof *m->e, keymap_cmp) : NULL;
  if (e == NULL || e->gen == 0) {
    memcpy(out_origin, e != NULL ? e->root : origin, 32);
    *out_seq = seq;
    return e == NULL || seq < (1ull << HLS_PAT_GEN_SHIFT);
  }
  if (seq >= (1ull << HLS_PAT_GEN_SHIFT)) return false;
  memcpy(out_origin, e->root, 32);
  *out_seq = (uint64_t)e->gen << HLS_PAT_GEN_SHIFT | seq;
  return true;
}

void hls_pat__keymap_from_engine(const struct hls_pat_keymap *m, const uint8_t origin[32], uint64_t seq,
                                 uint8_t out_origin[32], uint64_t *out_seq) {
  memcpy(out_origin, origin, 32);
  *out_seq = seq;
  uint32_t gen = (uint32_t)(seq >> HLS_PAT_GEN_SHIFT);
  if (m == NULL || gen == 0) return;
  for (size_t i = 0; i < m->n; i++)
    if (m->e[i].gen == gen && memcmp(m->e[i].root, origin, 32) == 0) {
      memcpy(out_origin, m->e[i].key, 32);
      *out_seq = seq & ((1ull << HLS_PAT_GEN_SHIFT) - 1);
      return;
    }
}

/* The first of several items, for the one line that logs them all. */
static void note_first(char *out, size_t size, const uint8_t origin[32], uint64_t seq, const char *detail) {
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(origin, id);
  snprintf(out, size, "first_origin=%s first_seq=%llu detail=\"%s\"", id, (unsigned long long)seq, detail);
}

/* A decoded digest (decoded: the decoding's result) to f's engine. */
static int feed_digest(struct hls_pat_feeder *f, const uint8_t origin[32], uint64_t seq, int decoded,
                       const struct hls_digest *d, struct hls_why *why) {
  if (decoded != 0) return decoded;
  if (!week_plausible(f, d->iso_year, d->iso_week))
    return hls_why_set(why, HLS_ELIMIT, "digest of %d-W%02d: more than a week ahead or %d weeks back; left out "
                       "of patterns", d->iso_year, d->iso_week, HLS_PAT_MAX_SPAN_WEEKS);
  int rc = hls_patterns_digest(f->pt, origin, seq, d);
  int32_t week;
  if (rc == 0 && hls_patterns_week(d->iso_year, d->iso_week, &week) == 0 &&
      (f->latest_week == NO_WEEK || week > f->latest_week))
    f->latest_week = week;
  if (rc == HLS_ELIMIT) hls_why_set(why, rc, "digests would span over %d weeks; left out of patterns",
                                    HLS_PAT_MAX_SPAN_WEEKS);
  return rc;
}

/* What f notes of an item's result rc (origin, seq: the engine's). */
static int feed_result(struct hls_pat_feeder *f, const uint8_t origin[32], uint64_t seq, int rc,
                       const struct hls_why *why) {
  if (rc == HLS_ESTATE) { /* a fact of a frozen week: the host builds the engine again */
    f->frozen_missed = true;
    return 0;
  }
  if (rc == HLS_ELIMIT) {
    if (f->ignored_pending++ == 0) note_first(f->ignored_first, sizeof f->ignored_first, origin, seq, why->text);
  } else if (rc != 0 && f->defer_errors) {
    if (f->failed_pending++ == 0) note_first(f->failed_first, sizeof f->failed_first, origin, seq, why->text);
  } else if (rc != 0) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(origin, id);
    hls_log_error("patterns_input_failed", "origin=%s seq=%llu error=%s detail=\"%s\"", id, (unsigned long long)seq,
                  hls_err_name(rc), why->text);
  }
  if (rc == HLS_ENOMEM) f->out_of_memory = true;
  return rc;
}

/* Give one held item to f's engine. Thread-safe for distinct feeders: it
 * touches f and its engine only (and logs only when !f->defer_errors). */
static int feed_body(struct hls_pat_feeder *f, const uint8_t item_origin[32], uint64_t item_seq, int type,
                     const uint8_t *body, size_t len) {
  struct hls_why why = {{0}};
  int rc = 0;
  /* The place's root key, and the seq in the place's order of keys. */
  uint8_t origin[32];
  uint64_t seq;
  if (!hls_pat__keymap_to_engine(f->keys, item_origin, item_seq, origin, &seq)) return 0;
  switch (type) {
  case HLS_ENV_PROFILE: {
    struct hls_profile p;
    if ((rc = hls_profile_decode(&p, body, len, &why)) == 0) rc = hls_patterns_place(f->pt, origin, p.place, p.region);
    f->places_changed = true;
    break;
  }
  case HLS_ENV_DIGEST: {
    struct hls_digest d;
    rc = feed_digest(f, origin, seq, hls_digest_decode(&d, body, len, &why), &d, &why);
    hls_digest_free(&d);
    break;
  }
  case HLS_ENV_STORY: {
    struct hls_story s;
    if ((rc = hls_story_decode(&s, body, len, &why)) == 0) {
      rc = hls_patterns_story(f->pt, origin, seq, &s);
      hls_story_free(&s);
    }
    break;
  }
  case HLS_ENV_TOMBSTONE: {
    struct hls_tombstone t;
    uint8_t target_origin[32];
    uint64_t target_seq;
    if ((rc = hls_tombstone_decode(&t, body, len, &why)) == 0 &&
        hls_pat__keymap_to_engine(f->keys, item_origin, t.target_seq, target_origin, &target_seq))
      rc = hls_patterns_erase(f->pt, target_origin, target_seq);
    break;
  }
  default: break;
  }
  return feed_result(f, origin, seq, rc, &why);
}

static void late_fact(struct hls_patternsd *pd);

/* Feed an item on the loop, and take what the feeder noted. */
static void feed_live(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body,
                      size_t len) {
  (void)feed_body(&pd->feed, origin, seq, type, body, len);
  if (pd->feed.places_changed) hls_patsummary_places_changed(pd->summary);
  if (pd->feed.out_of_memory) pd->resync = true;
  if (pd->feed.frozen_missed) late_fact(pd);
  pd->feed.places_changed = pd->feed.out_of_memory = pd->feed.frozen_missed = false;
}

/* An erasure given to the engine on the loop. */
static void erase_live(struct hls_patternsd *pd, const uint8_t item_origin[32], uint64_t item_seq) {
  uint8_t origin[32];
  uint64_t seq;
  if (!hls_pat__keymap_to_engine(pd->keys, item_origin, item_seq, origin, &seq)) return;
  int rc = hls_patterns_erase(pd->pt, origin, seq);
  if (rc == HLS_ESTATE) late_fact(pd);
  else if (rc != 0) pd->resync = true;
}

/* A change to an item at or below the cursor while the load runs: the
 * load may have read the item before it, so it is applied again once the
 * engine is installed (feeding and erasing are idempotent). */
struct hls_pd_ref {
  uint8_t origin[32];
  uint64_t seq;
  bool erased;
};

/* Changes waiting beyond this many: the load's result is dropped and the
 * load starts again (it then reads them all). 24 MiB of refs. */
#define MAX_REFS (1u << 19)

static void restart_load(struct hls_patternsd *pd);
static int start_load(struct hls_patternsd *pd, struct hls_why *why);
static void retry_load(uv_timer_t *t);

/* Start the load; if it cannot start, log it and try again in
 * LOAD_RETRY_MS. */
static void load_or_retry(struct hls_patternsd *pd) {
  struct hls_why why = {{0}};
  if (start_load(pd, &why) != 0) {
    hls_log_error("patterns_load_failed", "detail=\"%s\" action=retrying", why.text);
    uv_timer_start(&pd->timer, retry_load, LOAD_RETRY_MS, 0);
  }
}

/* Build the engine again on the worker (after a burst, a heavy update,
 * late facts): the previous engine answers meanwhile, and the load
 * computes whatever was pending. */
static void rebuild(struct hls_patternsd *pd) {
  pd->phase = PD_LOADING;
  pd->started_ns = uv_hrtime();
  uv_timer_stop(&pd->timer);
  load_or_retry(pd);
}

static void remember(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq, bool erased) {
  size_t max = pd->env.max_changes_while_loading ? pd->env.max_changes_while_loading : MAX_REFS;
  if (pd->n_refs == pd->cap_refs && pd->cap_refs < max) {
    size_t cap = pd->cap_refs ? pd->cap_refs * 2 : 256;
    if (cap > max) cap = max;
    struct hls_pd_ref *r = realloc(pd->refs, cap * sizeof *r);
    if (r != NULL) pd->refs = r, pd->cap_refs = cap;
  }
  if (pd->n_refs == pd->cap_refs) {
    restart_load(pd);
    return;
  }
  struct hls_pd_ref *r = &pd->refs[pd->n_refs++];
  memcpy(r->origin, origin, 32);
  r->seq = seq;
  r->erased = erased;
}

/* Whether item origin:seq is beyond the cursor (the catch-up will read
 * it). An item not found (cannot happen: it was just stored) counts as
 * read already, so it is applied again rather than missed. */
static bool beyond_cursor(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq) {
  int64_t id = 0;
  struct hls_why why = {{0}};
  if (hls_patstore_item_rowid(pd->ps, origin, seq, &id, &why) != 0) return false;
  return id > pd->cursor;
}

/* Whether items come in a burst (a catch-up, an import of chains): at
 * least max(BULK_MIN_ITEMS, an eighth of the items of the last load)
 * within BULK_WINDOW_MS. Feeding them one by one costs far more than
 * building the engine again from the store once they are in: each costs a
 * decode and an insert on the loop, and each recomputation reads every
 * week from the first one they touched. And each recomputation on part
 * of a catch-up writes events of partial data that the rest retracts: a
 * fresh node importing 17,080 items (300 places, a year) wrote 890
 * events for the 3 patterns it held, 792 of them before its 10,000th
 * item (the threshold then), and 3 with this one. */
#define BULK_WINDOW_MS 10000
#define BULK_MIN_ITEMS 1000
/* A burst has ended when no item came for BULK_QUIET_MS; the engine is
 * then built again (on the worker). One that goes on longer than
 * BULK_MAX_MS is taken in steps of that length. */
#define BULK_QUIET_MS 1000
#define BULK_MAX_MS 120000

static bool burst(struct hls_patternsd *pd) {
  uint64_t now = uv_now(pd->env.loop);
  if (now - pd->burst_start_ms > BULK_WINDOW_MS) pd->burst_start_ms = now, pd->burst_items = 0;
  size_t threshold = pd->loaded_items / 8 > BULK_MIN_ITEMS ? pd->loaded_items / 8 : BULK_MIN_ITEMS;
  return ++pd->burst_items >= threshold;
}

static void bulk_ended(uv_timer_t *t) {
  struct hls_patternsd *pd = t->data;
  hls_log_info("patterns_rebuilding", "burst_ms=%llu detail=\"building the engine again from the items held\"",
               (unsigned long long)(uv_now(pd->env.loop) - pd->bulk_start_ms));
  /* the rebuild reads every item of this burst: items after it count anew */
  pd->burst_start_ms = uv_now(pd->env.loop);
  pd->burst_items = 0;
  pd->rebuilds++;
  rebuild(pd);
}

/* An update on the loop that recomputes at least HEAVY_SHARE of the
 * engine (hls_patterns_pending_share) and is estimated longer than
 * MAX_UPDATE_MS (that share of the last computation from scratch) is not
 * run there: the engine is built again on the worker, as after a burst. A
 * place's first digest far back, or a digest years old, recomputes every
 * theme from its week on: at 435,000 items that is 40 s, which would stop
 * gossip and every hls call for as long. The estimate reads weeks, not
 * tests, so it overshoots small updates (a superseded digest: 0.02 of the
 * engine, 60 ms at 109,000 items); those, and a new week's first digest
 * (a third), stay on the loop. */
#define HEAVY_SHARE 0.5
#define MAX_UPDATE_MS 100.0

static bool heavy_update(struct hls_patternsd *pd, double *share, double *estimate_ms) {
  double max = pd->env.max_update_ms > 0 ? pd->env.max_update_ms : MAX_UPDATE_MS;
  *share = hls_patterns_pending_share(pd->pt);
  *estimate_ms = pd->full_compute_ms * *share;
  return *share >= HEAVY_SHARE && *estimate_ms > max;
}

/* An item of a burst: not fed (the rebuild reads it from the store). */
static void bulk_item(struct hls_patternsd *pd) {
  uint64_t now = uv_now(pd->env.loop);
  if (pd->phase != PD_BULK) {
    pd->phase = PD_BULK;
    pd->bulk_start_ms = now;
    hls_log_info("patterns_burst", "items=%zu window_ms=%d detail=\"items are computed once the burst ends\"",
                 pd->burst_items, BULK_WINDOW_MS);
  }
  if (now - pd->bulk_start_ms < BULK_MAX_MS || !uv_is_active((uv_handle_t *)&pd->timer))
    uv_timer_start(&pd->timer, bulk_ended, BULK_QUIET_MS, 0);
}

/* After a fact on the loop: a flush soon, or, when it would recompute
 * too much of the engine to run on the loop, a rebuild on the worker (the
 * engine of before answers meanwhile, and the fact is read from the store). */
static void schedule_or_rebuild(struct hls_patternsd *pd) {
  double share = 0, estimate_ms = 0;
  if (pd->phase == PD_READY && heavy_update(pd, &share, &estimate_ms)) {
    hls_log_info("patterns_heavy_update",
                 "estimate_ms=%.0f share=%.3f detail=\"recomputed on the worker, not on the loop\"", estimate_ms,
                 share);
    pd->phase = PD_BULK;
    pd->bulk_start_ms = uv_now(pd->env.loop);
    pd->heavy_updates++;
    uv_timer_start(&pd->timer, bulk_ended, BULK_QUIET_MS, 0);
    return;
  }
  schedule(pd);
}

void hls_patternsd_item(struct hls_patternsd *pd, const struct hls_envelope *env) {
  if (pd == NULL || env->body == NULL) return;
  /* Who is vouched may have changed (a successor inherits its place's
   * vouches): feeds --vouched look again. */
  if (env->h.type == HLS_ENV_VOUCH || env->h.type == HLS_ENV_PROFILE || env->h.type == HLS_ENV_SUCCESSOR)
    hls_feeds_trust_changed(pd->feeds);
  if (pd->phase == PD_BULK) {
    bulk_item(pd);
    return;
  }
  if (pd->phase != PD_READY && beyond_cursor(pd, env->h.origin, env->h.seq)) return;
  if (pd->phase == PD_LOADING) {
    remember(pd, env->h.origin, env->h.seq, false);
    return;
  }
  refresh_now_week(pd);
  feed_live(pd, env->h.origin, env->h.seq, env->h.type, env->body, env->body_len);
  if (pd->phase == PD_READY && burst(pd)) {
    bulk_item(pd);
    return;
  }
  schedule_or_rebuild(pd);
}

void hls_patternsd_erased(struct hls_patternsd *pd, const uint8_t origin[32], uint64_t seq) {
  if (pd == NULL) return;
  if (pd->phase == PD_LOADING) remember(pd, origin, seq, true);
  /* The engine calls read now stops counting it at once (while loading:
   * the previous one, if any). */
  if (pd->phase != PD_LOADING || pd->have_engine) erase_live(pd, origin, seq);
  schedule_or_rebuild(pd);
}

/* --- late facts: built again ------------------------------------------------------------- */

#define LATE_REBUILD_MIN_MS 600000

static void late_fire(uv_timer_t *t) {
  struct hls_patternsd *pd = t->data;
  /* Not ready: a load is under way or about to be, and it reads them. */
  if (!pd->stale || pd->phase != PD_READY) return;
  hls_log_info("patterns_rebuilding", "late_facts=%llu detail=\"facts of weeks frozen in memory: building the "
               "engine again from the items held\"", (unsigned long long)pd->stale_facts);
  pd->late_rebuilds++;
  rebuild(pd);
}

/* Build the engine again for the late facts, once LATE_REBUILD_MIN_MS
 * (or env.late_rebuild_min_ms) after the last load ended: a stream of
 * them (a place sending its history one digest at a time) costs one
 * load in that time. Readers meanwhile get the patterns without them. */
static void late_schedule(struct hls_patternsd *pd) {
  if (!pd->stale || !pd->late_timer_open || pd->phase != PD_READY || uv_is_active((uv_handle_t *)&pd->late_timer))
    return;
  uint64_t min = pd->env.late_rebuild_min_ms ? pd->env.late_rebuild_min_ms : LATE_REBUILD_MIN_MS;
  uint64_t now = uv_now(pd->env.loop), due = pd->load_ended_ms + min;
  uv_timer_start(&pd->late_timer, late_fire, due > now ? due - now : 0, 0);
}

static void late_fact(struct hls_patternsd *pd) {
  pd->stale = true;
  pd->stale_facts++;
  late_schedule(pd);
}

/* --- start: the load on a worker thread, then the catch-up on the loop ------------------- */

struct hls_pd_load {
  uv_work_t work;
  struct hls_patternsd *pd; /* NULL once the host closed: the job only frees itself */
  sqlite3 *snap;            /* owned: the snapshot it reads */
  struct hls_pat_feeder feed; /* feed.pt owned until installed */
  struct hls_pat_keymap *keys; /* a reference: the successions when it started */
  atomic_bool stop;
  atomic_size_t n_items;
  int32_t late_weeks; /* freeze the weeks before the latest digest's less these (0: none) */
  bool freeze_failed;
  /* With late_weeks: the digests in week order (load_by_week). */
  struct load_digest *order;
  size_t n_order, cap_order;
  int64_t scan_id; /* the rowid of the item the scan is at */
  /* The tests of frozen weeks saved by the last load or freeze
   * (hls_patterns_restore): why a copy held was not taken (copy_why,
   * when copy_rc is not 0), the week before which saved tests were taken
   * (INT32_MIN: none), and the copy of this load's (save: NULL if the
   * same as the one held, or none). */
  int copy_rc; /* hls_patterns_restore's, or the store's reading it (0: taken, or none) */
  struct hls_why copy_why;
  int32_t taken_before;
  uint8_t *save;
  size_t save_len;
  struct hls_pat_params params;
  int threads;
  int rc;
  struct hls_why why;
  uint64_t load_ns, compute_ns; /* compute_ns: every update of the load (load_by_week's too) */
};

static bool load_stopped(void *ctx) { return atomic_load(&((struct hls_pd_load *)ctx)->stop); }

/* After an item of the load was fed (rc): whether to go on. */
static int load_fed(struct hls_pd_load *job, int rc) {
  if (rc == HLS_ENOMEM) return HLS_ENOMEM;
  if ((atomic_fetch_add(&job->n_items, 1) & 4095) == 0 && load_stopped(job)) return HLS_ECLOSED;
  return 0;
}

static int load_item(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body, size_t len) {
  struct hls_pd_load *job = ctx;
  /* A body that does not decode was checked when stored: only a damaged
   * store gets here, and the loop logs it. */
  return load_fed(job, feed_body(&job->feed, origin, seq, type, body, len));
}

/* The digests of load_by_week's second pass are read from the store and
 * decoded on a thread of their own (the reader), while the load's thread
 * gives them to the engine in the same order: reading and decoding are
 * about half of that pass, and the load's thread is the only one busy
 * then. Decoded digests go across in batches, at most LOAD_BATCHES of
 * them ahead (a few megabytes). */
#define LOAD_BATCH 256
#define LOAD_BATCHES 4

struct load_dec { /* a digest as read: the item's origin and seq, and its decoding's result */
  uint8_t origin[32];
  uint64_t seq;
  int rc;
  struct hls_why why;
  struct hls_digest d;
};

struct load_reader {
  struct hls_pd_load *job;
  const int64_t *ids;
  size_t n;
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cv;
  struct {
    size_t n;
    struct load_dec it[LOAD_BATCH];
  } b[LOAD_BATCHES];
  size_t head, tail; /* batches [tail, head) are full; the reader fills b[head % LOAD_BATCHES] */
  size_t taken;      /* of b[tail % LOAD_BATCHES], by the feeder */
  bool done, quit;   /* the reader's end (rc, why), the feeder's */
  int rc;
  struct hls_why why;
};

/* The reader: one read item into the batch it fills; a full batch is
 * handed over, and the reader waits while every batch is full. */
static int reader_item(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body, size_t len) {
  struct load_reader *lr = ctx;
  size_t at = lr->head % LOAD_BATCHES;
  struct load_dec *x = &lr->b[at].it[lr->b[at].n++];
  memcpy(x->origin, origin, 32);
  x->seq = seq;
  x->why = (struct hls_why){{0}};
  if (type == HLS_ENV_DIGEST) {
    x->rc = hls_digest_decode(&x->d, body, len, &x->why);
  } else { /* the first pass kept digests only, in the same snapshot */
    memset(&x->d, 0, sizeof x->d);
    x->rc = hls_why_set(&x->why, HLS_EINTERNAL, "patterns: the load expected a digest (type %d)", type);
  }
  if (lr->b[at].n < LOAD_BATCH) return 0;
  uv_mutex_lock(&lr->mu);
  lr->head++;
  uv_cond_signal(&lr->cv);
  while (lr->head - lr->tail == LOAD_BATCHES && !lr->quit) uv_cond_wait(&lr->cv, &lr->mu);
  bool quit = lr->quit;
  uv_mutex_unlock(&lr->mu);
  if (quit) return HLS_ECLOSED; /* reader_end frees what is left */
  lr->b[lr->head % LOAD_BATCHES].n = 0;
  return 0;
}

static void reader_main(void *arg) {
  struct load_reader *lr = arg;
  struct hls_why why = {{0}};
  int rc = hls_patstore_snapshot_items(lr->job->snap, lr->ids, lr->n, reader_item, lr, &why);
  uv_mutex_lock(&lr->mu);
  if (!lr->quit && lr->b[lr->head % LOAD_BATCHES].n > 0) lr->head++; /* the last, part full */
  lr->done = true;
  lr->rc = rc;
  lr->why = why;
  uv_cond_signal(&lr->cv);
  uv_mutex_unlock(&lr->mu);
}

/* The feeder: the next digest read, or NULL at the end (*rc: the reader's). */
static struct load_dec *reader_next(struct load_reader *lr, int *rc) {
  uv_mutex_lock(&lr->mu);
  if (lr->head != lr->tail && lr->taken == lr->b[lr->tail % LOAD_BATCHES].n) { /* that batch is done */
    lr->tail++;
    lr->taken = 0;
    uv_cond_signal(&lr->cv);
  }
  while (lr->head == lr->tail && !lr->done) uv_cond_wait(&lr->cv, &lr->mu);
  struct load_dec *x = NULL;
  if (lr->head != lr->tail) x = &lr->b[lr->tail % LOAD_BATCHES].it[lr->taken++];
  *rc = lr->rc;
  uv_mutex_unlock(&lr->mu);
  return x;
}

static int reader_start(struct load_reader *lr, struct hls_pd_load *job, const int64_t *ids, size_t n) {
  memset(lr, 0, sizeof *lr);
  lr->job = job, lr->ids = ids, lr->n = n;
  if (uv_mutex_init(&lr->mu) != 0) return HLS_ENOMEM;
  if (uv_cond_init(&lr->cv) != 0) {
    uv_mutex_destroy(&lr->mu);
    return HLS_ENOMEM;
  }
  if (uv_thread_create(&lr->thread, reader_main, lr) != 0) {
    uv_cond_destroy(&lr->cv);
    uv_mutex_destroy(&lr->mu);
    return HLS_ENOMEM;
  }
  return 0;
}

/* Stop the reader (if it is not done) and free what it decoded. */
static void reader_end(struct load_reader *lr) {
  uv_mutex_lock(&lr->mu);
  lr->quit = true;
  uv_cond_signal(&lr->cv);
  uv_mutex_unlock(&lr->mu);
  uv_thread_join(&lr->thread);
  for (size_t k = 0; k < LOAD_BATCHES; k++)
    for (size_t i = 0; i < lr->b[k].n; i++) hls_digest_free(&lr->b[k].it[i].d);
  uv_cond_destroy(&lr->cv);
  uv_mutex_destroy(&lr->mu);
}

/* Give the next n digests the reader decodes to the engine (fewer if the
 * store had fewer: a part's end then comes later, which gives later weeks
 * sooner, never a frozen week's digest after its freeze). */
static int load_read(struct hls_pd_load *job, struct load_reader *lr, size_t n) {
  for (size_t k = 0; k < n; k++) {
    int rc;
    struct load_dec *x = reader_next(lr, &rc);
    if (x == NULL) { /* the reader's end: all read (a digest gone from the store is not read), or an error */
      if (rc != 0) job->why = lr->why;
      return rc;
    }
    uint8_t origin[32];
    uint64_t seq;
    int fed = 0;
    if (hls_pat__keymap_to_engine(job->feed.keys, x->origin, x->seq, origin, &seq))
      fed = feed_result(&job->feed, origin, seq, feed_digest(&job->feed, origin, seq, x->rc, &x->d, &x->why), &x->why);
    hls_digest_free(&x->d);
    if ((rc = load_fed(job, fed)) != 0) return rc;
  }
  return 0;
}

/* A digest of the load, by week. */
struct load_digest {
  int32_t week;
  int64_t id;
};

static int load_digest_cmp(const void *a, const void *b) {
  const struct load_digest *x = a, *y = b;
  if (x->week != y->week) return (x->week > y->week) - (x->week < y->week);
  return (x->id > y->id) - (x->id < y->id);
}

/* The first pass of load_by_week: profiles, stories (and digests the
 * engine will not take) are fed now; the others are kept by week. */
static int load_scan(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body, size_t len) {
  struct hls_pd_load *job = ctx;
  if (type == HLS_ENV_DIGEST) {
    struct hls_why why = {{0}};
    int32_t week;
    int iso_year, iso_week;
    /* its week alone (the cells are decoded when it is fed) */
    if (hls_digest_week(body, len, &iso_year, &iso_week, &why) == 0) {
      bool later = hls_patterns_week(iso_year, iso_week, &week) == 0 && week_plausible(&job->feed, iso_year, iso_week);
      if (later) {
        if (job->n_order == job->cap_order) {
          size_t cap = job->cap_order ? job->cap_order * 2 : 4096;
          struct load_digest *o = realloc(job->order, cap * sizeof *o);
          if (o == NULL) return HLS_ENOMEM;
          job->order = o;
          job->cap_order = cap;
        }
        job->order[job->n_order++] = (struct load_digest){week, job->scan_id};
        return 0;
      }
    }
  }
  return load_item(ctx, origin, seq, type, body, len);
}

/* Weeks a freeze of the load waits for: an update each. */
#define LOAD_FREEZE_WEEKS 16

/* The tests saved by the last load or freeze, given to the engine before
 * any fact (it then numbers places and themes as the saved engine did). A
 * copy that is refused is logged by the loop; the load goes on without. */
static int load_saved_tests(struct hls_pd_load *job) {
  uint8_t *buf;
  size_t len;
  int rc = hls_patstore_snapshot_saved_tests(job->snap, &buf, &len, &job->copy_why);
  if (rc != 0 || buf == NULL) {
    job->copy_rc = rc;
    return rc == HLS_ENOMEM ? rc : 0;
  }
  rc = hls_patterns_restore(job->feed.pt, buf, len, &job->copy_why);
  free(buf);
  job->copy_rc = rc;
  if (rc == 0 || rc == HLS_ESTATE) return 0; /* ESTATE: another engine or parameters, nothing taken */
  /* The engine may hold some of the copy: a new one. */
  hls_patterns_free(job->feed.pt);
  job->feed.pt = NULL;
  struct hls_why why = {{0}};
  if (hls_patterns_new(&job->feed.pt, &job->params, &why) != 0) return HLS_ENOMEM;
  hls_patterns_set_threads(job->feed.pt, job->threads);
  hls_patterns_set_stop(job->feed.pt, load_stopped, job);
  return rc == HLS_ENOMEM ? rc : 0;
}

/* The load when weeks are frozen: digests in week order, an update and a
 * freeze every LOAD_FREEZE_WEEKS weeks, so that the engine never holds
 * much more than it keeps once loaded (weeks before the one being read
 * are whole: a freeze there refuses nothing the load still gives). The
 * result is the engine that one update of every item gives (what
 * hls_patterns_freeze keeps: docs/patterns.md, "Frozen weeks"). */
static int load_by_week(struct hls_pd_load *job) {
  int rc = load_saved_tests(job);
  if (rc != 0) return rc;
  rc = hls_patstore_snapshot_each_id(job->snap, load_scan, job, &job->scan_id, &job->why);
  size_t n = job->n_order;
  if (rc != 0 || n == 0) return rc;
  qsort(job->order, n, sizeof *job->order, load_digest_cmp);
  int32_t last = job->order[n - 1].week - job->late_weeks;
  int64_t *ids = malloc(n * sizeof *ids);
  if (ids == NULL) return HLS_ENOMEM;
  for (size_t i = 0; i < n; i++) ids[i] = job->order[i].id;
  struct load_reader *lr = malloc(sizeof *lr);
  if (lr == NULL || (rc = reader_start(lr, job, ids, n)) != 0) {
    free(lr);
    free(ids);
    return HLS_ENOMEM;
  }
  for (size_t i = 0, j; i < n && rc == 0; i = j) {
    int32_t from = job->order[i].week;
    for (j = i; j < n && job->order[j].week < from + LOAD_FREEZE_WEEKS; j++) continue;
    rc = load_read(job, lr, j - i);
    if (rc != 0 || j == n) break;
    int32_t before = job->order[j].week < last ? job->order[j].week : last;
    uint64_t t0 = uv_hrtime();
    /* the weeks before order[j]'s are all given: their saved tests are taken */
    rc = hls_patterns_restore_check(job->feed.pt, job->order[j].week);
    if (rc == 0) rc = hls_patterns_update(job->feed.pt, NULL, NULL);
    job->compute_ns += uv_hrtime() - t0;
    if (rc == 0 && hls_patterns_freeze(job->feed.pt, before) != 0) job->freeze_failed = true;
  }
  reader_end(lr);
  free(lr);
  free(ids);
  free(job->order);
  job->order = NULL;
  job->n_order = job->cap_order = 0;
  return rc;
}

/* The worker thread: read the snapshot into a fresh engine and compute. */
static void load_work(uv_work_t *w) {
  struct hls_pd_load *job = w->data;
  uint64_t t0 = uv_hrtime();
  int rc = job->late_weeks > 0 ? load_by_week(job) : hls_patstore_snapshot_each(job->snap, load_item, job, &job->why);
  hls_patstore_snapshot_close(job->snap);
  job->snap = NULL;
  uint64_t t1 = uv_hrtime();
  if (rc == 0) hls_patterns_compact(job->feed.pt);
  if (rc == 0) rc = hls_patterns_restore_check(job->feed.pt, INT32_MAX);
  if (rc == 0) rc = hls_patterns_update(job->feed.pt, NULL, NULL);
  /* Out of memory freezing, the engine stays whole (and consistent): the
   * loop freezes again after its next update (freeze_more). */
  if (rc == 0 && job->late_weeks > 0 && job->feed.latest_week != NO_WEEK &&
      hls_patterns_freeze(job->feed.pt, job->feed.latest_week - job->late_weeks) != 0)
    job->freeze_failed = true;
  /* (no engine: out of memory replacing one that refused a copy) */
  if (job->feed.pt != NULL) job->taken_before = hls_patterns_restore_end(job->feed.pt);
  /* A new copy unless every frozen week was taken from the one held. Out
   * of memory, none: the next freeze on the loop saves one. */
  int32_t frozen = job->feed.pt != NULL ? hls_patterns_frozen_before(job->feed.pt) : INT32_MIN;
  if (rc == 0 && frozen != INT32_MIN && job->taken_before != frozen &&
      hls_patterns_save(job->feed.pt, &job->save, &job->save_len) != 0)
    job->save = NULL;
  /* the updates load_by_week made count as computing, not reading */
  job->load_ns = t1 - t0 - job->compute_ns;
  job->compute_ns += uv_hrtime() - t1;
  if (rc == HLS_ENOMEM) hls_why_set(&job->why, rc, "patterns: out of memory loading the items held");
  job->rc = rc;
}

static void load_job_free(struct hls_pd_load *job) {
  if (job == NULL) return;
  free(job->order);
  free(job->save);
  hls_patstore_snapshot_close(job->snap);
  hls_patterns_free(job->feed.pt);
  hls_pat__keymap_unref(job->keys);
  free(job);
}

static void catch_up(uv_timer_t *t);
static int catch_up_item(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body,
                         size_t len);

/* Log what the feeder kept for the loop. */
static void log_deferred(struct hls_pat_feeder *f) {
  if (f->failed_pending > 0)
    hls_log_error("patterns_input_failed", "count=%zu %s", f->failed_pending, f->failed_first);
  f->failed_pending = 0;
}

/* The loop, once the worker is done: install its engine, apply what
 * changed meanwhile, bring the store up to date, and catch up. */
static void load_done(uv_work_t *w, int status) {
  struct hls_pd_load *job = w->data;
  struct hls_patternsd *pd = job->pd;
  if (pd == NULL || status == UV_ECANCELED) {
    load_job_free(job);
    return;
  }
  pd->load = NULL;
  struct hls_why why = job->why;
  int rc = job->rc;
  size_t n_items = atomic_load(&job->n_items);
  if (rc == 0) {
    hls_patterns_set_stop(job->feed.pt, NULL, NULL);
    hls_patterns_free(pd->pt);
    pd->pt = job->feed.pt;
    job->feed.pt = NULL;
    hls_patsummary_set_engine(pd->summary, pd->pt);
    log_deferred(&job->feed);
    if (job->freeze_failed)
      hls_log_warn("patterns_freeze_failed", "detail=\"out of memory: every week stays in memory for now\"");
    pd->feed = job->feed;
    pd->feed.pt = pd->pt;
    pd->feed.keys = pd->keys;
    pd->feed.defer_errors = false;
    pd->feed.places_changed = false;
    pd->resync = pd->feed.out_of_memory;
    pd->feed.out_of_memory = false;
    pd->phase = PD_CATCHING_UP;
    pd->have_engine = true;
    /* Changes to items the worker had read. (What the previous engine
     * refused meanwhile is given to this one again: it decides.) */
    pd->stale = false;
    refresh_now_week(pd);
    for (size_t i = 0; i < pd->n_refs; i++) {
      struct hls_pd_ref *r = &pd->refs[i];
      if (r->erased) {
        erase_live(pd, r->origin, r->seq);
      } else {
        /* Its body as held now (an erasure came as its own ref). */
        (void)hls_patstore_item_now(pd->ps, r->origin, r->seq, catch_up_item, pd, &why);
      }
    }
    pd->n_refs = 0;
    /* a copy of another engine or other parameters is expected after an
     * upgrade that changed the engine or a change of [patterns]; any other
     * is damage */
    if (job->copy_rc == HLS_ESTATE)
      hls_log_info("patterns_saved_tests_unused", "detail=\"%s\" action=computing_them", job->copy_why.text);
    else if (job->copy_rc != 0)
      hls_log_warn("patterns_saved_tests_refused", "detail=\"%s\" action=computing_them", job->copy_why.text);
    uint64_t t0 = uv_hrtime();
    rc = hls_patterns_update(pd->pt, NULL, NULL);
    if (rc == 0) rc = sync_all(pd, NULL, &why);
    if (rc == 0 && job->save != NULL) save_tests(pd, job->save, job->save_len);
    pd->taken_before = job->taken_before;
    pd->loaded_items = n_items;
    pd->load_ms = (double)job->load_ns / 1e6;
    pd->compute_ms = pd->full_compute_ms = (double)job->compute_ns / 1e6;
    pd->store_ms = (double)(uv_hrtime() - t0) / 1e6;
  }
  pd->load_ended_ms = uv_now(pd->env.loop);
  load_job_free(job);
  /* The load freed as much as it keeps (decoded bodies, the previous
   * engine): give the free pages back rather than hold the peak. */
  malloc_trim(0);
  if (rc != 0) {
    /* The store's rows stay as they were; try again from the start. */
    hls_log_error("patterns_load_failed", "error=%s detail=\"%s\" action=retrying", hls_err_name(rc), why.text);
    pd->phase = PD_LOADING;
    uv_timer_start(&pd->timer, retry_load, LOAD_RETRY_MS, 0);
    return;
  }
  if (pd->events > 0) hls_feeds_pump_all(pd->feeds);
  uv_timer_start(&pd->timer, catch_up, 0, 0);
}


static int catch_up_item(void *ctx, const uint8_t origin[32], uint64_t seq, int type, const uint8_t *body,
                         size_t len) {
  feed_live(ctx, origin, seq, type, body, len);
  return 0;
}

static void catch_up(uv_timer_t *t) {
  struct hls_patternsd *pd = t->data;
  struct hls_why why = {{0}};
  size_t n = 0;
  refresh_now_week(pd);
  int rc = hls_patstore_items_after(pd->ps, &pd->cursor, CATCH_UP_SLICE, catch_up_item, pd, &n, &why);
  pd->caught_up_items += n;
  if (rc != 0) {
    hls_log_error("patterns_catch_up_failed", "detail=\"%s\" action=retrying", why.text);
    uv_timer_start(&pd->timer, catch_up, 1000, 0);
    return;
  }
  if (n == CATCH_UP_SLICE) {
    uv_timer_start(&pd->timer, catch_up, 0, 0);
    return;
  }
  pd->phase = PD_READY;
  if (hls_patternsd_flush(pd, &why) != 0) {
    hls_log_error("patterns_update_failed", "detail=\"%s\" action=retrying", why.text);
    uv_timer_start(&pd->timer, on_timer, 1000, 0);
  }
  late_schedule(pd);
  struct hls_pat_stats st;
  hls_patterns_stats(pd->pt, &st);
  log_ignored(pd);
  /* events: written since start (the diff with the store, then what the
   * catch-up changed). */
  char fb[9] = "none", tb[9] = "none";
  if (st.frozen_before != INT32_MIN) hls_patsummary_week_text(st.frozen_before, fb);
  if (pd->taken_before != INT32_MIN) hls_patsummary_week_text(pd->taken_before, tb);
  hls_log_info("patterns_ready",
               "items=%zu caught_up=%zu places=%zu digests=%zu stories=%zu patterns=%zu cells=%zu frozen_before=%s "
               "saved_tests_before=%s events=%llu load_ms=%.1f compute_ms=%.1f store_ms=%.1f since_start_ms=%.1f",
               pd->loaded_items, pd->caught_up_items, st.places, st.digests, st.stories, st.patterns, st.cells, fb, tb,
               (unsigned long long)pd->events, pd->load_ms, pd->compute_ms, pd->store_ms,
               (double)(uv_hrtime() - pd->started_ns) / 1e6);
}

/* Start the worker on a snapshot; the loop goes on. A store with no file
 * (tests' in-memory stores) is loaded here, on the loop. */
static int start_load(struct hls_patternsd *pd, struct hls_why *why) {
  struct hls_pd_load *job = calloc(1, sizeof *job);
  if (job == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  job->work.data = job;
  job->pd = pd;
  job->feed.latest_week = NO_WEEK;
  job->feed.now_week = pd->feed.now_week;
  job->feed.defer_errors = true;
  job->keys = hls_pat__keymap_ref(pd->keys);
  job->feed.keys = job->keys;
  job->late_weeks = pd->env.late_weeks;
  job->params = pd->params;
  job->threads = pd->env.threads;
  job->taken_before = INT32_MIN;
  atomic_init(&job->stop, false);
  atomic_init(&job->n_items, 0);
  int rc = hls_patterns_new(&job->feed.pt, &pd->params, why);
  if (rc == 0) hls_patterns_set_threads(job->feed.pt, pd->env.threads);
  if (rc == 0) rc = hls_patstore_snapshot_open(hls_store_db(pd->env.store), &job->snap, &pd->cursor, why);
  if (rc == 0) {
    hls_patterns_set_stop(job->feed.pt, load_stopped, job);
    pd->n_refs = 0;
    pd->load = job;
    pd->stale = false; /* the load reads every fact stored: a later one is fed again */
    if (uv_queue_work(pd->env.loop, &job->work, load_work, load_done) == 0) return 0;
    pd->load = NULL;
    rc = HLS_EUNSUPPORTED;
  }
  load_job_free(job);
  if (rc != HLS_EUNSUPPORTED) return rc;
  /* No snapshot (a store in memory) or no thread: read every item on the
   * loop, in slices, into the engine as it is, then diff the store. */
  pd->cursor = 0;
  pd->phase = PD_CATCHING_UP;
  pd->resync = true;
  uv_timer_start(&pd->timer, catch_up, 0, 0);
  return 0;
}

static void retry_load(uv_timer_t *t) { load_or_retry(t->data); }

/* Too many changes while loading to keep: drop the load and start again. */
static void restart_load(struct hls_patternsd *pd) {
  hls_log_warn("patterns_load_restarted", "changes=%zu", pd->n_refs);
  pd->load_restarts++;
  if (pd->load != NULL) {
    atomic_store(&pd->load->stop, true);
    pd->load->pd = NULL; /* load_done frees it */
    pd->load = NULL;
  }
  pd->n_refs = 0;
  load_or_retry(pd);
}

void hls_patternsd_succession(struct hls_patternsd *pd) {
  if (pd == NULL) return;
  struct hls_why why = {{0}};
  struct hls_pat_keymap *keys = hls_pat__keymap_load(pd->env.store, &why);
  if (keys == NULL && why.text[0]) {
    hls_log_error("patterns_succession_failed", "detail=\"%s\" action=resync", why.text);
    pd->resync = true;
    return;
  }
  hls_pat__keymap_unref(pd->keys);
  pd->keys = keys;
  pd->feed.keys = keys;
  /* Items given before under their own keys now belong to the root's
   * place: the engine is built again from the store. */
  hls_log_info("patterns_rebuilding", "detail=\"a key succession: places are known by their first key\"");
  pd->rebuilds++;
  if (pd->load != NULL) restart_load(pd);
  else rebuild(pd);
}

bool hls_patternsd_ready(const struct hls_patternsd *pd) { return pd != NULL && pd->phase == PD_READY; }

int hls_patternsd__need_engine(const struct hls_patternsd *pd, struct hls_why *why) {
  if (pd->phase == PD_READY || pd->have_engine) return 0;
  size_t n = pd->load != NULL ? atomic_load(&pd->load->n_items) : 0;
  return hls_why_set(why, HLS_EBUSY,
                     "patterns are still being computed after hlsd started (%zu items read, %.0f s so far); "
                     "try again shortly ('hls status' shows when they are ready)",
                     n, (double)(uv_hrtime() - pd->started_ns) / 1e9);
}

static int feeds_vouched_now(void *pd, struct hls_patfilter *f, uint8_t **ids, struct hls_why *why) {
  return hls_patternsd__vouched_filter(pd, f, ids, why);
}

static int feeds_filter_known(void *pd, const struct hls_patfilter *f, struct hls_why *why) {
  return hls_patternsd__filter_known(pd, f, why);
}

int hls_patternsd_start(struct hls_patternsd **out, const struct hls_patternsd_env *env, struct hls_why *why) {
  *out = NULL;
  struct hls_patternsd *pd = calloc(1, sizeof *pd);
  if (pd == NULL) return hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  pd->env = *env;
  pd->params = *env->params; /* checked with the configuration (hls_config_check) */
  pd->feed.latest_week = NO_WEEK;
  pd->taken_before = INT32_MIN;
  pd->phase = PD_LOADING;
  pd->started_ns = uv_hrtime();
  int rc = hls_patterns_new(&pd->pt, &pd->params, why);
  if (rc == 0) hls_patterns_set_threads(pd->pt, env->threads);
  pd->feed.pt = pd->pt;
  if (rc == 0 && hls_patsummary_new(&pd->summary, pd->pt, &pd->params) != 0)
    rc = hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  if (rc == 0) rc = hls_patstore_open(&pd->ps, hls_store_db(env->store), why);
  struct hls_feeds_env feeds_env = {.loop = env->loop,
                                    .ps = pd->ps,
                                    .summary = pd->summary,
                                    .now_ms = env->now_ms,
                                    .clock = env->clock,
                                    .vouched_now = feeds_vouched_now,
                                    .filter_known = feeds_filter_known,
                                    .vouched_ctx = pd};
  if (rc == 0 && hls_feeds_new(&pd->feeds, &feeds_env) != 0)
    rc = hls_why_set(why, HLS_ENOMEM, "patterns: out of memory");
  if (rc == 0) {
    uv_timer_init(env->loop, &pd->timer);
    pd->timer.data = pd;
    pd->timer_open = true;
    uv_timer_init(env->loop, &pd->late_timer);
    pd->late_timer.data = pd;
    pd->late_timer_open = true;
    refresh_now_week(pd);
    struct hls_why keys_why = {{0}};
    pd->keys = hls_pat__keymap_load(env->store, &keys_why);
    if (pd->keys == NULL && keys_why.text[0]) rc = hls_why_set(why, HLS_ENOMEM, "patterns: %s", keys_why.text);
    pd->feed.keys = pd->keys;
    if (rc == 0) rc = start_load(pd, why);
  }
  if (rc != 0) {
    if (!why->text[0]) hls_why_set(why, rc, "patterns: %s", hls_strerror(rc));
    hls_patternsd_close(pd);
    return rc;
  }
  *out = pd;
  return 0;
}

/* pd is freed once both its timers closed. */
static void timer_closed(uv_handle_t *h) {
  struct hls_patternsd *pd = h->data;
  if (--pd->handles_closing == 0) free(pd);
}

void hls_patternsd_close(struct hls_patternsd *pd) {
  if (pd == NULL) return;
  log_ignored(pd);
  if (pd->load != NULL) {
    /* The worker stops at its next check; load_done frees its job. */
    atomic_store(&pd->load->stop, true);
    pd->load->pd = NULL;
    pd->load = NULL;
  }
  free(pd->refs);
  hls_feeds_close(pd->feeds);
  hls_patstore_free(pd->ps);
  hls_patsummary_free(pd->summary);
  hls_patterns_free(pd->pt);
  hls_pat__keymap_unref(pd->keys);
  pd->keys = NULL;
  pd->stale = false;
  if (pd->timer_open) pd->handles_closing++, uv_close((uv_handle_t *)&pd->timer, timer_closed);
  if (pd->late_timer_open) pd->handles_closing++, uv_close((uv_handle_t *)&pd->late_timer, timer_closed);
  pd->timer_open = pd->late_timer_open = false;
  if (pd->handles_closing == 0) free(pd);
}

/* --- status ------------------------------------------------------------------------------ */

const char *hls_patternsd__state_name(const struct hls_patternsd *pd) {
  return pd->phase == PD_READY ? "ready" : pd->have_engine ? "rebuilding" : "loading";
}

int hls_patternsd_pack_status(struct hls_patternsd *pd, msgpack_packer *pk) {
  int64_t by[HLS_PAT_SIGNAL_COUNT], live = 0, ended = 0;
  struct hls_why ignore = {{0}};
  if (hls_patstore_count(pd->ps, by, &live, &ended, &ignore) != 0) live = ended = 0;
  int64_t events = 0;
  (void)hls_patstore_last_event(pd->ps, &events, &ignore);
  size_t followers = hls_feeds_count_followers(pd->feeds);
  char lt[9] = "", fb[9] = "";
  if (pd->feed.latest_week != NO_WEEK) hls_patsummary_week_text(pd->feed.latest_week, lt);
  int32_t frozen = hls_patterns_frozen_before(pd->pt);
  if (frozen != INT32_MIN) hls_patsummary_week_text(frozen, fb);
  if (msgpack_pack_map(pk, 13) != 0 ||
      hls_mp_pack_kv_str(pk, "state", hls_patternsd__state_name(pd)) != 0 ||
      hls_mp_pack_kv_i64(pk, "loaded_items", pd->load != NULL ? (int64_t)atomic_load(&pd->load->n_items) : 0) != 0 ||
      hls_mp_pack_kv_i64(pk, "live", live) != 0 ||
      hls_mp_pack_kv_i64(pk, "ended", ended) != 0 || hls_mp_pack_cstr(pk, "by_signal") != 0 ||
      msgpack_pack_map(pk, HLS_PAT_SIGNAL_COUNT) != 0)
    return HLS_ENOMEM;
  for (int s = 0; s < HLS_PAT_SIGNAL_COUNT; s++)
    if (hls_mp_pack_kv_i64(pk, hls_pat_signal_name(s), by[s]) != 0) return HLS_ENOMEM;
  if (hls_mp_pack_kv_i64(pk, "last_event", events) != 0 || hls_mp_pack_kv_i64(pk, "followers", (int64_t)followers) != 0 ||
      hls_mp_pack_kv_i64(pk, "last_update_us", pd->last_flush_us) != 0 ||
      hls_mp_pack_kv_str(pk, "latest_week", lt[0] ? lt : NULL) != 0 ||
      hls_mp_pack_kv_str(pk, "frozen_before", fb[0] ? fb : NULL) != 0 ||
      hls_mp_pack_kv_i64(pk, "late_facts", (int64_t)pd->stale_facts) != 0 ||
      hls_mp_pack_kv_i64(pk, "late_rebuilds", (int64_t)pd->late_rebuilds) != 0 ||
      hls_mp_pack_kv_bool(pk, "late_pending", pd->stale) != 0)
    return HLS_ENOMEM;
  return 0;
}

/* --- feeds: feeds.c answers them --------------------------------------------------------- */

int hls_patternsd_api_subscribe(struct hls_patternsd *pd, struct hls_control_call *call) {
  /* A feed's places are resolved with the engine's place list. */
  if (hls_patternsd__need_engine(pd, &call->why) != 0) return HLS_EBUSY;
  return hls_feeds_api_subscribe(pd->feeds, call);
}

int hls_patternsd_api_feeds(struct hls_patternsd *pd, struct hls_control_call *call) {
  return hls_feeds_api_list(pd->feeds, call);
}

int hls_patternsd_api_unsubscribe(struct hls_patternsd *pd, struct hls_control_call *call) {
  return hls_feeds_api_unsubscribe(pd->feeds, call);
}

int hls_patternsd_api_follow(struct hls_patternsd *pd, struct hls_control_call *call) {
  if (hls_patternsd__need_engine(pd, &call->why) != 0) return HLS_EBUSY;
  return hls_feeds_api_follow(pd->feeds, call);
}

int hls_patternsd_api_ack(struct hls_patternsd *pd, struct hls_control_call *call) {
  return hls_feeds_api_ack(pd->feeds, call);
}

int hls_patternsd_api_feed_events(struct hls_patternsd *pd, struct hls_control_call *call) {
  return hls_feeds_api_events(pd->feeds, call);
}

void hls_patternsd_client_gone(struct hls_patternsd *pd, struct hls_control_client *client) {
  if (pd != NULL) hls_feeds_client_gone(pd->feeds, client);
}
