/* Patterns as the engine gives them out (docs/patterns.md, "Identity,
 * changes and events"): one being built (its places, its counts), its id
 * and fingerprint, the change from the pattern as it held, and keeping or
 * retracting it in a round of hls_patterns_update. */
#include "patterns_internal.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(obj) oom_flag = true
static _Thread_local bool oom_flag;

/* --- computing -------------------------------------------------------------------------- */

void hls_pat__places_begin(struct hls_patterns *pt, struct build *b) {
  if (++pt->stamp == 0) {
    memset(pt->mark, 0, pt->n_places * sizeof *pt->mark);
    pt->stamp = 1;
  }
  b->n_places = 0;
}

void hls_pat__place_add(struct hls_patterns *pt, struct build *b, uint32_t place) {
  if (pt->mark[place] == pt->stamp) return;
  pt->mark[place] = pt->stamp;
  pt->scratch_places[b->n_places++] = place;
}

static void pat_id(struct hls_patterns *pt, struct hls_pattern *p) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HLS_PAT_ID_BYTES);
  const char *tag = "hls-pattern-v1";
  crypto_generichash_update(&st, (const uint8_t *)tag, strlen(tag) + 1);
  uint8_t sig = (uint8_t)p->signal;
  crypto_generichash_update(&st, &sig, 1);
  const struct theme *t = pt->themes[p->theme];
  crypto_generichash_update(&st, (const uint8_t *)t->key, strlen(t->key) + 1);
  if (p->theme2 != HLS_PAT_NONE) {
    const struct theme *t2 = pt->themes[p->theme2];
    crypto_generichash_update(&st, (const uint8_t *)t2->key, strlen(t2->key) + 1);
  }
  if (p->region != NULL && p->region[0] != '\0')
    crypto_generichash_update(&st, (const uint8_t *)p->region, strlen(p->region) + 1);
  uint8_t w[4] = {(uint8_t)((uint32_t)p->week_from >> 24), (uint8_t)((uint32_t)p->week_from >> 16),
                  (uint8_t)((uint32_t)p->week_from >> 8), (uint8_t)p->week_from};
  crypto_generichash_update(&st, w, sizeof w);
  crypto_generichash_final(&st, p->id, HLS_PAT_ID_BYTES);
}

/* What a change of a pattern is judged by. In memory only: place numbers
 * are this engine's. Patterns carry their places' names, so a rename
 * (the place's version) changes the fingerprint too. */
static void pat_fingerprint(const struct hls_patterns *pt, const struct hls_pattern *p, uint8_t fp[16]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 16);
  uint64_t versions = 0;
  for (size_t i = 0; i < p->n_places; i++)
    versions = versions * 0x100000001b3ull + ((uint64_t)p->places[i] << 32 | pt->places[p->places[i]]->version);
  int64_t v[14] = {p->signal, p->week_from, p->week_to, llround(p->score * 1000.0), llround(p->score2 * 1000.0),
                   (int64_t)p->lo, (int64_t)p->hi, p->scales, (int64_t)p->n_places, (int64_t)p->n_stories,
                   (int64_t)versions, p->live, llround(p->strength * 1000.0), llround(p->expected * 10.0)};
  crypto_generichash_update(&st, (const uint8_t *)v, sizeof v);
  if (p->n_places) crypto_generichash_update(&st, (const uint8_t *)p->places, p->n_places * sizeof *p->places);
  crypto_generichash_final(&st, fp, 16);
}

/* Stories of theme t (and t2) from the pattern's places and weeks. */
static size_t count_stories(const struct hls_patterns *pt, const struct hls_pattern *p, const struct theme *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->n_stories; i++) {
    const struct story *s = t->stories[i];
    if (s->week < p->week_from || s->week > p->week_to) continue;
    if (bsearch(&s->key.place, p->places, p->n_places, sizeof *p->places, u32_cmp) == NULL) continue;
    if (p->theme2 != HLS_PAT_NONE) { /* together: the story names both */
      uint32_t other = t->ix == p->theme ? p->theme2 : p->theme;
      bool both = false;
      for (size_t j = 0; j < s->n_themes; j++) both |= s->themes[j] == other;
      if (!both || t->ix != p->theme) continue;
    }
    n++;
  }
  return n;
}

/* Whether the sorted sets a and b differ by places joining (some of b not
 * in a) and by places leaving (some of a not in b). */
static void set_diff(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, bool *joined, bool *left) {
  size_t i = 0, j = 0;
  *joined = *left = false;
  while (i < na || j < nb) {
    if (j == nb || (i < na && a[i] < b[j])) *left = true, i++;
    else if (i == na || b[j] < a[i]) *joined = true, j++;
    else i++, j++;
  }
}

/* The change from the pattern as it held (was) to now (patterns.h). */
static int change_of(const struct hls_pattern *was, const struct hls_pattern *now) {
  if (was->live && !now->live) return HLS_PAT_ENDED;
  /* one that had ended and holds again (a late digest): announced again */
  if (!was->live && now->live) return HLS_PAT_NEW;
  bool joined, left;
  set_diff(was->places, was->n_places, now->places, now->n_places, &joined, &left);
  if (joined) return HLS_PAT_JOINED;
  if (left) return HLS_PAT_LEFT;
  double a = floor(was->strength), b = floor(now->strength);
  if (b > a) return HLS_PAT_GREW;
  if (b < a) return HLS_PAT_SHRANK;
  return HLS_PAT_UPDATED;
}

/* Keep b's pattern as holding now: new or changed, owned by list. */
int hls_pat__emit(struct hls_patterns *pt, struct build *b, struct pat ***list, size_t *n_list, size_t *cap_list,
                  struct ctx_update *cu) {
  struct hls_pattern *np = &b->p;
  qsort(pt->scratch_places, b->n_places, sizeof(uint32_t), u32_cmp);
  np->n_places = b->n_places;
  np->places = pt->scratch_places;
  np->n_stories = count_stories(pt, np, pt->themes[np->theme]);
  pat_id(pt, np);
  uint8_t fp[16];
  pat_fingerprint(pt, np, fp);
  struct pat *p;
  HASH_FIND(hh, pt->pats, np->id, HLS_PAT_ID_BYTES, p);
  if (p != NULL && p->gen == pt->gen) return 0; /* already produced in this round */
  /* A callback stopped the update: change nothing more, so the next
   * update finds what is left. */
  if (cu->rc != 0) return 0;
  int change = HLS_PAT_NEW;
  if (p != NULL) {
    if (memcmp(p->fp, fp, sizeof fp) == 0) {
      /* Nothing a reader acts on moved: keep the newest values (p_now,
       * p below the fingerprint's precision), and the owned places. */
      uint32_t *keep = p->p.places;
      p->p = *np;
      p->p.places = keep;
      p->gen = pt->gen;
      return 0;
    }
    change = change_of(&p->p, np);
  }
  /* Report before taking the change: one the callback refuses is not
   * taken, and the next update reports it again. */
  if (cu->fn != NULL && (cu->rc = cu->fn(cu->ctx, change, np)) != 0) return 0;
  uint32_t *places = NULL;
  if (b->n_places) {
    places = malloc(b->n_places * sizeof *places);
    if (places == NULL) return HLS_ENOMEM;
    memcpy(places, pt->scratch_places, b->n_places * sizeof *places);
  }
  if (p == NULL) {
    p = calloc(1, sizeof *p);
    if (p == NULL || !grow((void **)list, cap_list, *n_list + 1, sizeof **list)) {
      free(p);
      free(places);
      return HLS_ENOMEM;
    }
    memcpy(p->p.id, np->id, HLS_PAT_ID_BYTES);
    oom_flag = false;
    HASH_ADD(hh, pt->pats, p.id, HLS_PAT_ID_BYTES, p);
    if (oom_flag) {
      free(p);
      free(places);
      return HLS_ENOMEM;
    }
    (*list)[(*n_list)++] = p;
  } else {
    free(p->p.places);
  }
  p->p = *np;
  p->p.places = places;
  p->gen = pt->gen;
  memcpy(p->fp, fp, sizeof fp);
  return 0;
}

/* Retract the list's patterns not produced in this round. */
int hls_pat__sweep(struct hls_patterns *pt, struct pat **list, size_t *n_list, struct ctx_update *cu) {
  size_t keep = 0;
  for (size_t i = 0; i < *n_list; i++) {
    struct pat *p = list[i];
    /* Kept: produced in this round, or the update was stopped (before or
     * by refusing this retraction) and the next one decides. */
    if (p->gen == pt->gen || cu->rc != 0 ||
        (cu->fn != NULL && (cu->rc = cu->fn(cu->ctx, HLS_PAT_RETRACTED, &p->p)) != 0)) {
      list[keep++] = p;
      continue;
    }
    HASH_DEL(pt->pats, p);
    pat_free(p);
  }
  *n_list = keep;
  return 0;
}

void hls_pat__build_init(struct build *b, int signal, uint32_t theme) {
  memset(b, 0, sizeof *b);
  b->p.signal = signal;
  b->p.theme = theme;
  b->p.theme2 = HLS_PAT_NONE;
  b->p.region = "";
}

/* Add theme t's cells of weeks [from, to] at the places marked in b to
 * its counts. */
void hls_pat__gather_counts(struct hls_patterns *pt, struct theme *t, struct build *b, int32_t from, int32_t to) {
  for (int32_t w = from; w <= to; w++) {
    struct bucket *bk = hls_pat__bucket_get(t, w, false);
    if (bk == NULL) continue;
    for (size_t i = 0; i < bk->n; i++) {
      const struct cref *c = &bk->refs[i];
      if (pt->mark[c->place] != pt->stamp) continue;
      b->p.lo += c->lo;
      b->p.hi += c->hi;
      for (int s = 0; s < HLS_SCALE_COUNT; s++) b->p.expected += c->ms[s];
      b->p.expected += c->mw - c->wlo;
      b->p.withheld += c->mw;
      b->p.scales |= c->scales;
    }
  }
}
