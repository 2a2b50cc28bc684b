/* The read side of the items table: places, stories and envelopes held,
 * for hls places / stories / items (docs/cli.md), a page at a time.
 *
 * No query here reads the whole items table: places read the origins
 * summary (store_items.c keeps it), stories walk an index of the stories
 * held (items_stories, story_themes, or one place's items) newest first,
 * items walk the (origin, seq) key; each from the cursor of the page
 * before, stopping at the page's end (docs/data-model.md, "The read
 * side"). The place of each row shown is looked up by its origin, with a
 * small cache, not loaded for every place.
 *
 * These queries run when an admin asks, not once per item received, so
 * each is prepared when called and finalized after, rather than kept
 * prepared in store.c with the hot statements: that keeps this module out
 * of the store's statement table, and the cost (tens of microseconds) is
 * small next to a page. Nothing here writes. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "nodeid.h"
#include "store.h"
#include "store_internal.h"

/* --- helpers --------------------------------------------------------------- */

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

static int no_items_from(const uint8_t origin[32], struct hls_why *why) {
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(origin, id);
  return hls_why_set(why, HLS_ENOTFOUND, "no items held from %s ('hls places' lists the places known)", id);
}

/* --- pages ------------------------------------------------------------------------ */

/* A walk of one page: before each row read, walk_full says whether the
 * page has ended (limit or budget reached: a row is there, so more
 * follow); walk_read counts each row read and keeps its key; walk_stop
 * notes where the walk stopped. */
struct walk {
  struct hls_page *page; /* NULL: every row */
  int64_t read, taken;
  bool have_key;          /* a row was read: next holds its key */
  struct hls_cursor key;  /* the last row read */
};

static void walk_init(struct walk *w, struct hls_page *page) {
  memset(w, 0, sizeof *w);
  w->page = page;
  if (page != NULL) {
    page->more = false;
    memset(&page->next, 0, sizeof page->next);
  }
}

/* A row read (taken: given to the callback, not filtered out); key: its
 * cursor, where the next page starts if this one ends after it. */
static void walk_read(struct walk *w, bool taken, const struct hls_cursor *key) {
  w->read++;
  w->taken += taken;
  w->key = *key;
  w->have_key = true;
}

static bool walk_full(const struct walk *w) {
  const struct hls_page *p = w->page;
  return p != NULL && ((p->limit > 0 && w->taken >= p->limit) || (p->budget > 0 && w->read >= p->budget));
}

/* The walk stopped at a row it did not take (limit, budget, or the
 * callback's HLS_PAGE_FULL): the next page starts after the last row
 * read before it, or where this page started. */
static int walk_stop(struct walk *w, struct hls_why *why) {
  if (w->page == NULL) return 0;
  w->page->more = true;
  if (w->have_key) w->page->next = w->key;
  else if (w->page->after != NULL) w->page->next = *w->page->after;
  else return hls_why_set(why, HLS_EINTERNAL, "a page ended before its first row");
  return 0;
}

static int check_after(const struct hls_page *page, int kind, struct hls_why *why) {
  if (page != NULL && page->after != NULL && page->after->kind != kind)
    return hls_why_set(why, HLS_EINVAL, "after: not a cursor of this listing");
  return 0;
}

/* --- places --------------------------------------------------------------------- */

/* An origins row, with its copy of the profile: columns 0-9. */
#define PLACE_SQL                                                                                        \
  "SELECT o.origin, o.items, o.stubs, o.erased, o.last_stored_ms, o.head_seq, o.head_id, o.profile_seq," \
  " o.profile, o.place_key FROM origins o"

static void place_from_row(sqlite3_stmt *st, struct hls_place_row *row) {
  memset(row, 0, sizeof *row);
  column_id(st, 0, row->node_id);
  row->items = sqlite3_column_int64(st, 1);
  row->stubs = sqlite3_column_int64(st, 2);
  row->erased = sqlite3_column_int64(st, 3);
  row->last_heard_ms = sqlite3_column_int64(st, 4);
  row->chain_seq = (uint64_t)sqlite3_column_int64(st, 5);
  column_id(st, 6, row->head_id);
  const uint8_t *body = sqlite3_column_blob(st, 8);
  /* The store keeps profile_seq at a body that decodes. */
  if (sqlite3_column_type(st, 7) != SQLITE_NULL && body != NULL &&
      hls_profile_decode(&row->profile, body, (size_t)sqlite3_column_bytes(st, 8), NULL) == 0) {
    row->has_profile = true;
    row->profile_seq = (uint64_t)sqlite3_column_int64(st, 7);
  }
}

static void place_key_of_row(sqlite3_stmt *st, struct hls_cursor *key) {
  memset(key, 0, sizeof *key);
  key->kind = HLS_CURSOR_PLACES;
  column_id(st, 0, key->origin);
  size_t n = (size_t)sqlite3_column_bytes(st, 9);
  const void *b = sqlite3_column_blob(st, 9);
  key->key_len = n > HLS_CURSOR_KEY_MAX ? HLS_CURSOR_KEY_MAX : n;
  if (b != NULL) memcpy(key->key, b, key->key_len);
  if (key->key_len == 0) key->key[key->key_len++] = HLS_STORE_NO_PLACE_KEY; /* never stored: see store_items.c */
}

int hls_store_places(struct hls_store *s, struct hls_page *page, hls_place_cb cb, void *ctx, struct hls_why *why) {
  struct walk w;
  sqlite3_stmt *st = NULL;
  walk_init(&w, page);
  int rc = check_after(page, HLS_CURSOR_PLACES, why);
  bool after = page != NULL && page->after != NULL;
  if (rc == 0)
    rc = hls_store__prepare(s,
                 after ? PLACE_SQL " WHERE (o.place_key, o.origin) > (?1, ?2) ORDER BY o.place_key, o.origin"
                       : PLACE_SQL " ORDER BY o.place_key, o.origin",
                 &st, why);
  if (rc == 0 && after) {
    sqlite3_bind_blob(st, 1, page->after->key, (int)page->after->key_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, page->after->origin, 32, SQLITE_STATIC);
  }
  struct hls_place_row *row = rc == 0 ? malloc(sizeof *row) : NULL;
  if (rc == 0 && row == NULL) rc = HLS_ENOMEM;
  while (rc == 0 && (rc = step(s, st, why)) == 1) {
    rc = 0;
    if (walk_full(&w)) {
      rc = walk_stop(&w, why);
      break;
    }
    place_from_row(st, row);
    if ((rc = cb(ctx, row)) == HLS_PAGE_FULL) {
      rc = walk_stop(&w, why);
      break;
    }
    if (rc != 0) break;
    struct hls_cursor at;
    place_key_of_row(st, &at);
    walk_read(&w, true, &at);
  }
  free(row);
  sqlite3_finalize(st);
  return rc;
}

/* The places of the rows of a page, by origin: rows of one origin come
 * together (items) or a page's stories come from a few hundred places
 * at most, so a small cache, replaced in turn, saves most lookups. */
#define PLACE_CACHE 64

struct place_cache {
  sqlite3_stmt *st; /* PLACE_SQL of one origin */
  size_t n, next;
  struct hls_place_row rows[PLACE_CACHE];
};

static int place_cache_new(struct hls_store *s, struct place_cache **out, struct hls_why *why) {
  struct place_cache *c = calloc(1, sizeof *c);
  *out = NULL;
  if (c == NULL) return HLS_ENOMEM;
  int rc = hls_store__prepare(s, PLACE_SQL " WHERE o.origin = ?1", &c->st, why);
  if (rc != 0) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static void place_cache_free(struct place_cache *c) {
  if (c == NULL) return;
  sqlite3_finalize(c->st);
  free(c);
}

/* origin's place in *out (borrowed from the cache until its next
 * lookup); NULL with 0 when no items of it are held. */
static int place_lookup(struct hls_store *s, struct place_cache *c, const uint8_t origin[32],
                        const struct hls_place_row **out, struct hls_why *why) {
  *out = NULL;
  for (size_t i = 0; i < c->n; i++)
    if (memcmp(c->rows[i].node_id, origin, 32) == 0) {
      *out = &c->rows[i];
      return 0;
    }
  sqlite3_bind_blob(c->st, 1, origin, 32, SQLITE_STATIC);
  int rc = step(s, c->st, why);
  if (rc == 1) {
    size_t slot = c->n < PLACE_CACHE ? c->n++ : c->next++ % PLACE_CACHE;
    place_from_row(c->st, &c->rows[slot]);
    *out = &c->rows[slot];
    rc = 0;
  }
  sqlite3_reset(c->st);
  sqlite3_clear_bindings(c->st);
  return rc;
}

/* --- stories --------------------------------------------------------------------- */

#define STORY_COLS "i.origin, i.seq, i.audience, i.timestamp_ms, i.stored_ms, i.item_id, i.body, i.type, i.body_state"

static bool story_matches(const struct hls_story *story, const struct hls_story_filter *f) {
  if (f->theme != NULL) {
    bool found = false;
    for (size_t i = 0; !found && i < story->n_themes; i++)
      found = strcmp(story->themes[i].slug, f->theme) == 0 &&
              (f->theme_kinds == 0 || (f->theme_kinds >> story->themes[i].kind & 1) != 0);
    if (!found) return false;
  }
  if (f->has_since) {
    hls_day monday;
    if (hls_iso_week_monday(story->iso_year, story->iso_week, &monday) != 0 || monday + 6 < f->since) return false;
  }
  return true;
}

/* Decode the story of the current row of st (columns STORY_COLS), and
 * hand it to cb if it passes f (NULL: no filter). *matched says whether
 * it did. */
static int story_row(struct hls_store *s, sqlite3_stmt *st, struct place_cache *places,
                     const struct hls_story_filter *f, hls_story_cb cb, void *ctx, bool *matched,
                     struct hls_why *why) {
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
  const uint8_t *body = sqlite3_column_blob(st, 6);
  /* Bodies were checked when stored; one that no longer decodes is
   * skipped rather than hiding every other story. */
  if (body == NULL || hls_story_decode(&story, body, (size_t)sqlite3_column_bytes(st, 6), NULL) != 0) return 0;
  int rc = 0;
  if (f == NULL || story_matches(&story, f)) {
    rc = place_lookup(s, places, row.origin, &row.place, why);
    if (rc == 0 && row.place == NULL) rc = hls_why_set(why, HLS_EINTERNAL, "a story's origin has no summary");
    if (rc == 0) {
      row.story = &story;
      *matched = true;
      rc = cb(ctx, &row);
    }
  }
  hls_story_free(&story);
  return rc;
}

/* The stories of which place: one node (*by_id), or every origin whose
 * latest profile is named name (its place key in key). */
static int story_place(struct hls_store *s, const char *name, bool *by_id, uint8_t origin[32],
                       uint8_t key[HLS_CURSOR_KEY_MAX], size_t *key_len, struct hls_why *why) {
  sqlite3_stmt *st = NULL;
  *by_id = hls_nodeid_parse(name, origin) == 0;
  if (!*by_id) *key_len = hls_store__place_key(name, key);
  int rc = hls_store__prepare(s, *by_id ? "SELECT 1 FROM origins WHERE origin = ?1" : "SELECT 1 FROM origins WHERE place_key = ?1",
                   &st, why);
  if (rc == 0) {
    if (*by_id) sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
    else sqlite3_bind_blob(st, 1, key, (int)*key_len, SQLITE_STATIC);
    rc = step(s, st, why);
  }
  sqlite3_finalize(st);
  if (rc == 0 && *by_id) return no_items_from(origin, why);
  if (rc == 0)
    return hls_why_set(why, HLS_ENOTFOUND, "no known place is named \"%.120s\" ('hls places' lists them)", name);
  return rc == 1 ? 0 : rc;
}

/* The keyset condition of the stories' order (timestamp down, origin up,
 * seq down) after (?2 ts, ?3 origin, ?4 seq), on the columns of alias A. */
#define STORY_AFTER(A)                                                                                    \
  " AND " A ".timestamp_ms <= ?2 AND (" A ".timestamp_ms < ?2 OR " A ".origin > ?3 OR (" A ".origin = ?3" \
  " AND " A ".seq < ?4))"
#define STORY_ORDER(A) " ORDER BY " A ".timestamp_ms DESC, " A ".origin, " A ".seq DESC"

int hls_store_stories(struct hls_store *s, const struct hls_story_filter *f, struct hls_page *page, hls_story_cb cb,
                      void *ctx, struct hls_why *why) {
  struct walk w;
  sqlite3_stmt *st = NULL;
  struct place_cache *places = NULL;
  uint8_t origin[32], key[HLS_CURSOR_KEY_MAX];
  size_t key_len = 0;
  bool by_id = false;
  walk_init(&w, page);
  int rc = check_after(page, HLS_CURSOR_STORIES, why);
  if (rc == 0 && f->place != NULL) rc = story_place(s, f->place, &by_id, origin, key, &key_len, why);
  if (rc == 0) rc = place_cache_new(s, &places, why);
  if (rc != 0) {
    place_cache_free(places);
    return rc;
  }
  bool after = page != NULL && page->after != NULL;
  /* One of three walks, each in the stories' order from the cursor on:
   * a place's items (its chain, by the (origin, seq) key: a few hundred
   * rows, sorted), a theme's rows of story_themes, or items_stories. */
  char sql[1024];
  const char *floor_i = f->has_since ? " AND i.timestamp_ms >= ?5" : "";
  const char *floor_t = f->has_since ? " AND t.timestamp_ms >= ?5" : "";
  if (f->place != NULL)
    snprintf(sql, sizeof sql, "SELECT " STORY_COLS " FROM items i WHERE i.origin IN (%s) AND i.type = 3"
             " AND i.body_state = 0%s%s" STORY_ORDER("i"),
             by_id ? "?1" : "SELECT origin FROM origins WHERE place_key = ?1", floor_i, after ? STORY_AFTER("i") : "");
  else if (f->theme != NULL)
    snprintf(sql, sizeof sql, "SELECT " STORY_COLS " FROM story_themes t JOIN items i ON i.origin = t.origin"
             " AND i.seq = t.seq WHERE t.theme = ?1 AND i.type = 3 AND i.body_state = 0%s%s" STORY_ORDER("t"),
             floor_t, after ? STORY_AFTER("t") : "");
  else
    snprintf(sql, sizeof sql, "SELECT " STORY_COLS " FROM items i WHERE i.type = 3 AND i.body_state = 0%s%s"
             STORY_ORDER("i"), floor_i, after ? STORY_AFTER("i") : "");
  rc = hls_store__prepare(s, sql, &st, why);
  if (rc == 0) {
    if (f->place != NULL && by_id) sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
    else if (f->place != NULL) sqlite3_bind_blob(st, 1, key, (int)key_len, SQLITE_STATIC);
    else if (f->theme != NULL) sqlite3_bind_text(st, 1, f->theme, -1, SQLITE_STATIC);
    if (after) {
      sqlite3_bind_int64(st, 2, page->after->timestamp_ms);
      sqlite3_bind_blob(st, 3, page->after->origin, 32, SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, (int64_t)page->after->seq);
    }
    if (f->has_since) {
      int64_t floor_day = (int64_t)f->since - HLS_STORY_SINCE_REACH_DAYS;
      sqlite3_bind_int64(st, 5, floor_day > 0 ? floor_day * 86400000ll : 0);
    }
  }
  /* The theme of a place's walk is checked on the decoded story. */
  struct hls_story_filter rest = *f;
  if (f->place == NULL && f->theme_kinds == 0) rest.theme = NULL; /* else the kind is checked there */
  while (rc == 0 && (rc = step(s, st, why)) == 1) {
    rc = 0;
    if (walk_full(&w)) {
      rc = walk_stop(&w, why);
      break;
    }
    bool matched = false;
    if ((rc = story_row(s, st, places, &rest, cb, ctx, &matched, why)) == HLS_PAGE_FULL) {
      rc = walk_stop(&w, why);
      break;
    }
    if (rc != 0) break;
    struct hls_cursor at = {.kind = HLS_CURSOR_STORIES,
                            .seq = (uint64_t)sqlite3_column_int64(st, 1),
                            .timestamp_ms = sqlite3_column_int64(st, 3)};
    column_id(st, 0, at.origin);
    walk_read(&w, matched, &at);
  }
  sqlite3_finalize(st);
  place_cache_free(places);
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
  int rc = hls_store__prepare(s,
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
  /* Blobs compare bytewise: a prefix is a range of item ids. Stories
   * only (the index items_story_ids holds nothing else). */
  int rc = hls_store__prepare(s, "SELECT count(*) FROM items WHERE type = 3 AND item_id BETWEEN ?1 AND ?2", &st, why);
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
  struct place_cache *places = NULL;
  int64_t n = 1;
  ref_text(ref, text, sizeof text);
  int rc = ref->by_origin ? 0 : count_prefix(s, ref, &n, why);
  if (rc != 0) return rc;
  if (n > 1)
    return hls_why_set(why, HLS_EINVAL, "%s matches %lld stories; give more of its characters", text, (long long)n);
  if ((rc = place_cache_new(s, &places, why)) != 0) return rc;
  if (ref->by_origin) {
    rc = hls_store__prepare(s, "SELECT " STORY_COLS " FROM items i WHERE origin=?1 AND seq=?2", &st, why);
    if (rc == 0) {
      sqlite3_bind_blob(st, 1, ref->origin, 32, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, (int64_t)ref->seq);
    }
  } else {
    rc = hls_store__prepare(s, "SELECT " STORY_COLS " FROM items i WHERE type = 3 AND item_id BETWEEN ?1 AND ?2", &st, why);
    if (rc == 0) {
      sqlite3_bind_blob(st, 1, ref->low, 32, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, ref->high, 32, SQLITE_STATIC);
    }
  }
  if (rc == 0 && (rc = step(s, st, why)) == 0)
    rc = ref->by_origin ? hls_why_set(why, HLS_ENOTFOUND, "no item %s is held", text)
                        : hls_why_set(why, HLS_ENOTFOUND, "no story %s is held ('hls items' lists every item)", text);
  if (rc == 1) {
    int type = sqlite3_column_int(st, 7), state = sqlite3_column_int(st, 8);
    bool matched = false;
    if (type != HLS_ENV_STORY)
      rc = hls_why_set(why, HLS_EINVAL, "item %s is a %s, not a story ('hls items' lists every item)", text,
                       hls_env_type_name(type));
    else if (state != HLS_BODY_HELD)
      rc = story_not_held(s, st, text, why);
    else if ((rc = story_row(s, st, places, NULL, cb, ctx, &matched, why)) == 0 && !matched)
      rc = hls_why_set(why, HLS_EINTERNAL, "story %s: its body does not decode", text);
  }
  sqlite3_finalize(st);
  place_cache_free(places);
  return rc;
}

/* --- items ----------------------------------------------------------------------- */

int hls_store_items(struct hls_store *s, const struct hls_item_filter *f, struct hls_page *page, hls_item_row_cb cb,
                    void *ctx, struct hls_why *why) {
  struct walk w;
  sqlite3_stmt *st = NULL;
  struct place_cache *places = NULL;
  const struct hls_place_row *place = NULL;
  walk_init(&w, page);
  int rc = check_after(page, HLS_CURSOR_ITEMS, why);
  if (rc == 0) rc = place_cache_new(s, &places, why);
  if (rc == 0 && f->has_origin && (rc = place_lookup(s, places, f->origin, &place, why)) == 0 && place == NULL)
    rc = no_items_from(f->origin, why);
  bool after = page != NULL && page->after != NULL;
  /* The type is filtered here rather than in SQL, so the page's budget
   * bounds the rows read: a rare type among many items is found a page
   * of reads at a time. */
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT origin, seq, type, audience, timestamp_ms, stored_ms, item_id, body_state, coalesce(length(body), 0)"
           " FROM items WHERE %s%s ORDER BY origin, seq",
           f->has_origin ? "origin = ?1" : "1", after ? " AND (origin, seq) > (?2, ?3)" : "");
  if (rc == 0) rc = hls_store__prepare(s, sql, &st, why);
  if (rc == 0) {
    if (f->has_origin) sqlite3_bind_blob(st, 1, f->origin, 32, SQLITE_STATIC);
    if (after) {
      sqlite3_bind_blob(st, 2, page->after->origin, 32, SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, (int64_t)page->after->seq);
    }
  }
  while (rc == 0 && (rc = step(s, st, why)) == 1) {
    rc = 0;
    if (walk_full(&w)) {
      rc = walk_stop(&w, why);
      break;
    }
    struct hls_item_row row;
    memset(&row, 0, sizeof row);
    column_id(st, 0, row.origin);
    row.seq = (uint64_t)sqlite3_column_int64(st, 1);
    row.type = sqlite3_column_int(st, 2);
    bool matched = f->type == 0 || row.type == f->type;
    if (matched) {
      row.audience = sqlite3_column_int(st, 3);
      row.timestamp_ms = sqlite3_column_int64(st, 4);
      row.stored_ms = sqlite3_column_int64(st, 5);
      column_id(st, 6, row.item_id);
      row.body_state = sqlite3_column_int(st, 7);
      row.body_bytes = sqlite3_column_int64(st, 8);
      if ((rc = place_lookup(s, places, row.origin, &row.place, why)) == 0 && row.place == NULL)
        rc = hls_why_set(why, HLS_EINTERNAL, "an item's origin has no summary");
      if (rc == 0 && (rc = cb(ctx, &row)) == HLS_PAGE_FULL) {
        rc = walk_stop(&w, why);
        break;
      }
      if (rc != 0) break;
    }
    struct hls_cursor at = {.kind = HLS_CURSOR_ITEMS, .seq = row.seq};
    memcpy(at.origin, row.origin, 32);
    walk_read(&w, matched, &at);
  }
  sqlite3_finalize(st);
  place_cache_free(places);
  return rc;
}
