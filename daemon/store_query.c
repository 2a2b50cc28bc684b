/* The read side of the items table: places, stories and envelopes held,
 * for hls places / stories / items (docs/cli.md).
 *
 * These queries run when an admin asks, not once per item received, so
 * each is prepared when called and finalized after, rather than kept
 * prepared in store.c with the hot statements: that keeps this module out
 * of the store's statement table, and the cost (tens of microseconds) is
 * nothing next to the scan. Nothing here writes. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#include "nodeid.h"
#include "store.h"

/* --- helpers --------------------------------------------------------------- */

static int prepare(struct hls_store *s, const char *sql, sqlite3_stmt **st, struct hls_why *why) {
  sqlite3 *db = hls_store_db(s);
  int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : hls_store_sqlite_error(db, rc, why);
}

/* Step st once: 1 for a row, 0 at the end, or an error. */
static int step(struct hls_store *s, sqlite3_stmt *st, struct hls_why *why) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  return hls_store_sqlite_error(hls_store_db(s), rc, why);
}

static void column_id(sqlite3_stmt *st, int col, uint8_t out[32]) {
  const void *b = sqlite3_column_blob(st, col);
  if (b != NULL && sqlite3_column_bytes(st, col) == 32) memcpy(out, b, 32);
  else memset(out, 0, 32);
}

/* Place names compare as people read them, ignoring case and Unicode
 * normalisation ("GATESHEAD" is "Gateshead"; "Å" sorts with "A"). */
static int name_cmp(const char *a, const char *b) {
  int result = 0;
  if (u8_casecmp((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b), NULL, UNINORM_NFC, &result) != 0)
    return strcmp(a, b);
  return result;
}

/* --- places --------------------------------------------------------------------- */

struct place_set {
  struct hls_place_row *rows; /* owned */
  size_t n;
};

static void place_set_free(struct place_set *set) {
  free(set->rows);
  set->rows = NULL;
  set->n = 0;
}

static int place_order(const void *a, const void *b) {
  const struct hls_place_row *x = a, *y = b;
  if (x->has_profile != y->has_profile) return x->has_profile ? -1 : 1;
  int c = x->has_profile ? name_cmp(x->profile.place, y->profile.place) : 0;
  return c != 0 ? c : memcmp(x->node_id, y->node_id, 32);
}

/* One row per origin: counts, the chain head, and the latest profile
 * whose body is held (an erased or stub profile says nothing). */
static const char places_sql[] =
    "WITH agg AS (SELECT origin, count(*) AS n, sum(body_state=1) AS stubs, sum(body_state=2) AS erased,"
    " max(stored_ms) AS heard, max(seq) AS head FROM items GROUP BY origin)"
    " SELECT a.origin, a.n, a.stubs, a.erased, a.heard, a.head, h.item_id, p.seq, p.body FROM agg a"
    " JOIN items h ON h.origin=a.origin AND h.seq=a.head"
    " LEFT JOIN items p ON p.origin=a.origin AND p.seq=(SELECT max(q.seq) FROM items q"
    "  WHERE q.origin=a.origin AND q.type=1 AND q.body_state=0)";

static int load_places(struct hls_store *s, struct place_set *set, struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  size_t cap = 0;
  int rc = prepare(s, places_sql, &st, why);
  set->rows = NULL;
  set->n = 0;
  while (rc == 0 && (rc = step(s, st, why)) == 1) {
    rc = 0;
    if (set->n == cap) {
      size_t new_cap = cap ? cap * 2 : 16;
      struct hls_place_row *p = realloc(set->rows, new_cap * sizeof *p);
      if (p == NULL) {
        rc = HLS_ENOMEM;
        break;
      }
      set->rows = p;
      cap = new_cap;
    }
    struct hls_place_row *row = &set->rows[set->n++];
    memset(row, 0, sizeof *row);
    column_id(st, 0, row->node_id);
    row->items = sqlite3_column_int64(st, 1);
    row->stubs = sqlite3_column_int64(st, 2);
    row->erased = sqlite3_column_int64(st, 3);
    row->last_heard_ms = sqlite3_column_int64(st, 4);
    row->chain_seq = (uint64_t)sqlite3_column_int64(st, 5);
    column_id(st, 6, row->head_id);
    const uint8_t *body = sqlite3_column_blob(st, 8);
    /* A body that does not decode (it was checked when stored) counts as
     * no profile rather than failing the whole list. */
    if (body != NULL &&
        hls_profile_decode(&row->profile, body, (size_t)sqlite3_column_bytes(st, 8), NULL) == 0) {
      row->has_profile = true;
      row->profile_seq = (uint64_t)sqlite3_column_int64(st, 7);
    }
  }
  sqlite3_finalize(st);
  if (rc != 0) {
    place_set_free(set);
    return rc;
  }
  if (set->n > 1) qsort(set->rows, set->n, sizeof *set->rows, place_order);
  return 0;
}

static const struct hls_place_row *place_of(const struct place_set *set, const uint8_t origin[32]) {
  for (size_t i = 0; i < set->n; i++)
    if (memcmp(set->rows[i].node_id, origin, 32) == 0) return &set->rows[i];
  return NULL;
}

static int no_items_from(const uint8_t origin[32], struct hls_why *why) {
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(origin, id);
  return hls_why_set(why, HLS_ENOTFOUND, "no items held from %s ('hls places' lists the places known)", id);
}

int hls_store_places(struct hls_store *s, hls_place_cb cb, void *ctx, struct hls_why *why) {
  struct place_set set;
  int rc = load_places(s, &set, why);
  for (size_t i = 0; rc == 0 && i < set.n; i++) rc = cb(ctx, &set.rows[i]);
  place_set_free(&set);
  return rc;
}

/* Mark in wanted[] (parallel to set->rows) the origins text names: a node
 * id, or a place name. */
static int match_place(const struct place_set *set, const char *text, bool *wanted, struct hls_why *why) {
  uint8_t origin[32];
  if (hls_nodeid_parse(text, origin) == 0) {
    const struct hls_place_row *p = place_of(set, origin);
    if (p == NULL) return no_items_from(origin, why);
    wanted[p - set->rows] = true;
    return 0;
  }
  bool any = false;
  for (size_t i = 0; i < set->n; i++)
    if (set->rows[i].has_profile && name_cmp(set->rows[i].profile.place, text) == 0) wanted[i] = any = true;
  if (!any)
    return hls_why_set(why, HLS_ENOTFOUND, "no known place is named \"%.120s\" ('hls places' lists them)", text);
  return 0;
}

/* --- stories --------------------------------------------------------------------- */

#define STORY_COLS "origin, seq, audience, timestamp_ms, stored_ms, item_id, body, type, body_state"

static bool story_matches(const struct hls_story *story, const struct hls_story_filter *f) {
  if (f->theme != NULL) {
    bool found = false;
    for (size_t i = 0; !found && i < story->n_themes; i++) found = strcmp(story->themes[i].slug, f->theme) == 0;
    if (!found) return false;
  }
  if (f->has_since) {
    hls_day monday;
    if (hls_iso_week_monday(story->iso_year, story->iso_week, &monday) != 0 || monday + 6 < f->since) return false;
  }
  return true;
}

/* Decode the story of the current row of st (columns STORY_COLS) and hand
 * it to cb if it passes f (NULL: no filter). *matched says whether it did. */
static int story_row(sqlite3_stmt *st, const struct place_set *set, const struct hls_story_filter *f,
                     hls_story_cb cb, void *ctx, bool *matched) {
  struct hls_story story;
  struct hls_story_row row;
  *matched = false;
  memset(&row, 0, sizeof row);
  column_id(st, 0, row.origin);
  row.seq = (uint64_t)sqlite3_column_int64(st, 1);
  row.audience = sqlite3_column_int(st, 2);
  row.timestamp_ms = sqlite3_column_int64(st, 3);
  row.stored_ms = sqlite3_column_int64(st, 4);
  column_id(st, 5, row.item_id);
  row.place = place_of(set, row.origin);
  const uint8_t *body = sqlite3_column_blob(st, 6);
  /* Bodies were checked when stored; one that no longer decodes is
   * skipped rather than hiding every other story. */
  if (body == NULL || row.place == NULL ||
      hls_story_decode(&story, body, (size_t)sqlite3_column_bytes(st, 6), NULL) != 0)
    return 0;
  row.story = &story;
  int rc = 0;
  if (f == NULL || story_matches(&story, f)) {
    *matched = true;
    rc = cb(ctx, &row);
  }
  hls_story_free(&story);
  return rc;
}

int hls_store_stories(struct hls_store *s, const struct hls_story_filter *f, hls_story_cb cb, void *ctx,
                      struct hls_why *why) {
  struct place_set set;
  sqlite3_stmt *st = NULL;
  bool *wanted = NULL;
  int rc = load_places(s, &set, why);
  if (rc != 0) return rc;
  if (f->place != NULL) {
    wanted = calloc(set.n ? set.n : 1, sizeof *wanted);
    rc = wanted == NULL ? HLS_ENOMEM : match_place(&set, f->place, wanted, why);
  }
  /* No index serves this (the schema indexes items by origin and seq):
   * a scan of the items table, fine at the size of one network. */
  if (rc == 0)
    rc = prepare(s,
                 "SELECT " STORY_COLS " FROM items WHERE type=3 AND body_state=0"
                 " ORDER BY timestamp_ms DESC, origin, seq DESC",
                 &st, why);
  int64_t shown = 0;
  while (rc == 0 && (f->limit == 0 || shown < f->limit) && (rc = step(s, st, why)) == 1) {
    uint8_t origin[32];
    bool matched = false;
    column_id(st, 0, origin);
    const struct hls_place_row *p = place_of(&set, origin);
    rc = 0;
    if (wanted != NULL && (p == NULL || !wanted[p - set.rows])) continue;
    rc = story_row(st, &set, f, cb, ctx, &matched);
    if (matched) shown++;
  }
  sqlite3_finalize(st);
  free(wanted);
  place_set_free(&set);
  return rc;
}

static void ref_text(const struct hls_item_ref *ref, char *out, size_t size) {
  if (ref->by_origin) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(ref->origin, id);
    snprintf(out, size, "%s:%llu", id, (unsigned long long)ref->seq);
  } else {
    char hex[HLS_ITEM_ID_HEX_SIZE];
    hls_item_id_format(ref->low, hex);
    snprintf(out, size, "%.*s", (int)ref->hex_digits, hex);
  }
}

/* The tombstone of origin that erased seq: *tomb_seq 0 if none is held. */
static int find_tombstone(struct hls_store *s, const uint8_t origin[32], uint64_t seq, uint64_t *tomb_seq,
                          int *reason, struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  *tomb_seq = 0;
  int rc = prepare(s,
                   "SELECT seq, body FROM items WHERE origin=?1 AND seq>?2 AND type=4 AND body_state=0 ORDER BY seq",
                   &st, why);
  if (rc == 0) {
    sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
  }
  while (rc == 0 && *tomb_seq == 0 && (rc = step(s, st, why)) == 1) {
    struct hls_tombstone t;
    const uint8_t *body = sqlite3_column_blob(st, 1);
    rc = 0;
    if (body != NULL && hls_tombstone_decode(&t, body, (size_t)sqlite3_column_bytes(st, 1), NULL) == 0 &&
        t.target_seq == seq) {
      *tomb_seq = (uint64_t)sqlite3_column_int64(st, 0);
      *reason = t.reason;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

/* Why the item of the current row (a story) cannot be shown. */
static int story_not_held(struct hls_store *s, sqlite3_stmt *st, const char *ref, struct hls_why *why) {
  uint8_t origin[32];
  column_id(st, 0, origin);
  uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
  if (sqlite3_column_int(st, 8) == HLS_BODY_ERASED) {
    uint64_t tomb_seq = 0;
    int reason = 0;
    int rc = find_tombstone(s, origin, seq, &tomb_seq, &reason, why);
    if (rc != 0) return rc;
    if (tomb_seq != 0)
      return hls_why_set(why, HLS_EERASED, "story %s was erased by its place (%s, tombstone item %llu)", ref,
                         hls_tomb_reason_name(reason), (unsigned long long)tomb_seq);
    return hls_why_set(why, HLS_EERASED, "story %s was erased by its place", ref);
  }
  return hls_why_set(why, HLS_ENOTFOUND, "only the header of story %s is held, not its body (%s)", ref,
                     sqlite3_column_int(st, 2) == HLS_AUD_PEERS ? "it is for its place's direct peers"
                                                                : "it has not reached this node");
}

/* How many items the hex prefix of ref matches. */
static int count_prefix(struct hls_store *s, const struct hls_item_ref *ref, int64_t *n, struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  /* Blobs compare bytewise: a prefix is a range of item ids. */
  int rc = prepare(s, "SELECT count(*) FROM items WHERE item_id BETWEEN ?1 AND ?2", &st, why);
  if (rc == 0) {
    sqlite3_bind_blob(st, 1, ref->low, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, ref->high, 32, SQLITE_STATIC);
    rc = step(s, st, why);
    *n = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == 1 ? 0 : rc == 0 ? HLS_EINTERNAL : rc;
  }
  sqlite3_finalize(st);
  return rc;
}

int hls_store_story_find(struct hls_store *s, const struct hls_item_ref *ref, hls_story_cb cb, void *ctx,
                         struct hls_why *why) {
  char text[96];
  sqlite3_stmt *st = NULL;
  struct place_set set;
  int64_t n = 1;
  ref_text(ref, text, sizeof text);
  int rc = ref->by_origin ? 0 : count_prefix(s, ref, &n, why);
  if (rc != 0) return rc;
  if (n > 1)
    return hls_why_set(why, HLS_EINVAL, "%s matches %lld items; give more of its characters", text, (long long)n);
  if ((rc = load_places(s, &set, why)) != 0) return rc;
  if (ref->by_origin) {
    rc = prepare(s, "SELECT " STORY_COLS " FROM items WHERE origin=?1 AND seq=?2", &st, why);
    if (rc == 0) {
      sqlite3_bind_blob(st, 1, ref->origin, 32, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, (int64_t)ref->seq);
    }
  } else {
    rc = prepare(s, "SELECT " STORY_COLS " FROM items WHERE item_id BETWEEN ?1 AND ?2", &st, why);
    if (rc == 0) {
      sqlite3_bind_blob(st, 1, ref->low, 32, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, ref->high, 32, SQLITE_STATIC);
    }
  }
  if (rc == 0 && (rc = step(s, st, why)) == 0) rc = hls_why_set(why, HLS_ENOTFOUND, "no item %s is held", text);
  if (rc == 1) {
    int type = sqlite3_column_int(st, 7), state = sqlite3_column_int(st, 8);
    bool matched = false;
    if (type != HLS_ENV_STORY)
      rc = hls_why_set(why, HLS_EINVAL, "item %s is a %s, not a story ('hls items' lists every item)", text,
                       hls_env_type_name(type));
    else if (state != HLS_BODY_HELD)
      rc = story_not_held(s, st, text, why);
    else if ((rc = story_row(st, &set, NULL, cb, ctx, &matched)) == 0 && !matched)
      rc = hls_why_set(why, HLS_EINTERNAL, "story %s: its body does not decode", text);
  }
  sqlite3_finalize(st);
  place_set_free(&set);
  return rc;
}

/* --- items ----------------------------------------------------------------------- */

int hls_store_items(struct hls_store *s, const struct hls_item_filter *f, hls_item_row_cb cb, void *ctx,
                    struct hls_why *why) {
  struct place_set set;
  sqlite3_stmt *st = NULL;
  int rc = load_places(s, &set, why);
  if (rc != 0) return rc;
  if (f->has_origin && place_of(&set, f->origin) == NULL) rc = no_items_from(f->origin, why);
  if (rc == 0)
    rc = prepare(s,
                 "SELECT origin, seq, type, audience, timestamp_ms, stored_ms, item_id, body_state,"
                 " coalesce(length(body), 0) FROM items WHERE (?1 IS NULL OR origin=?1) AND (?2=0 OR type=?2)"
                 " ORDER BY origin, seq LIMIT ?3",
                 &st, why);
  if (rc == 0) {
    if (f->has_origin) sqlite3_bind_blob(st, 1, f->origin, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, f->type);
    sqlite3_bind_int64(st, 3, f->limit > 0 ? f->limit : -1);
  }
  while (rc == 0 && (rc = step(s, st, why)) == 1) {
    struct hls_item_row row;
    memset(&row, 0, sizeof row);
    column_id(st, 0, row.origin);
    row.seq = (uint64_t)sqlite3_column_int64(st, 1);
    row.type = sqlite3_column_int(st, 2);
    row.audience = sqlite3_column_int(st, 3);
    row.timestamp_ms = sqlite3_column_int64(st, 4);
    row.stored_ms = sqlite3_column_int64(st, 5);
    column_id(st, 6, row.item_id);
    row.body_state = sqlite3_column_int(st, 7);
    row.body_bytes = sqlite3_column_int64(st, 8);
    row.place = place_of(&set, row.origin);
    rc = cb(ctx, &row);
  }
  sqlite3_finalize(st);
  place_set_free(&set);
  return rc;
}
