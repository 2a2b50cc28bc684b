/* What the node holds and publishes (store.h): items (envelopes held:
 * stubs, bodies, erasure, chain heads) with the summaries of them that
 * the read side reads (origins, story_themes), the rows of this node's
 * own publications (profile, digests, stories, tombstones, and what
 * superseded or erased each), and the peers it exchanges them with. The
 * SQL is in store.c's statement table. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

#include "store.h"
#include "store_internal.h"

/* --- items ------------------------------------------------------------------------ */

void hls_item_clear(struct hls_item *it) {
  free(it->stub);
  free(it->body);
  memset(it, 0, sizeof *it);
}

/* --- the read side's summaries ---------------------------------------------------
 * Every change to items goes through the functions below, which keep, in
 * the same transaction: origins (counts, head, last stored, a copy of the
 * latest profile held and its place key) and story_themes
 * (docs/data-model.md, "The read side"). */

size_t hls_store__place_key(const char *name, uint8_t out[HLS_CURSOR_KEY_MAX]) {
  size_t len = strlen(name), folded_len = 0;
  uint8_t buf[HLS_CURSOR_KEY_MAX];
  size_t buf_len = sizeof buf;
  uint8_t *folded = u8_casefold((const uint8_t *)name, len, NULL, UNINORM_NFC, buf, &buf_len);
  if (folded == NULL) { /* not UTF-8 (profiles are checked), or out of memory */
    folded_len = len < HLS_CURSOR_KEY_MAX ? len : HLS_CURSOR_KEY_MAX;
    memcpy(out, name, folded_len);
  } else {
    folded_len = buf_len < HLS_CURSOR_KEY_MAX ? buf_len : HLS_CURSOR_KEY_MAX;
    memcpy(out, folded, folded_len);
    if (folded != buf) free(folded);
  }
  if (folded_len == 0) out[folded_len++] = 0; /* never empty (a profile's place is not), never the no-place key */
  return folded_len;
}

static int run(struct hls_store *s, sqlite3_stmt *st, struct hls_why *why) { return hls_store__step_done(s, st, why); }

/* Set origin's profile to seq (0: none): its body and place key. */
static int set_profile(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body, size_t len,
                       const uint8_t *key, size_t key_len, struct hls_why *why) {
  static const uint8_t none = HLS_STORE_NO_PLACE_KEY;
  sqlite3_stmt *st = s->stmt[ST_ORIGIN_SET_PROFILE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  if (seq > 0) {
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    sqlite3_bind_blob(st, 3, key, (int)key_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, body, (int)len, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 2);
    sqlite3_bind_blob(st, 3, &none, 1, SQLITE_STATIC);
    sqlite3_bind_null(st, 4);
  }
  return run(s, st, why);
}

/* The place key of a profile body; false if it does not decode (bodies
 * are checked when stored: such a profile says nothing). */
static bool profile_key(const uint8_t *body, size_t len, uint8_t key[HLS_CURSOR_KEY_MAX], size_t *key_len) {
  struct hls_profile p;
  if (body == NULL || hls_profile_decode(&p, body, len, NULL) != 0) return false;
  *key_len = hls_store__place_key(p.place, key);
  return true;
}

/* A profile body of origin at seq is now held: it is the origin's place
 * if no later one is. */
static int profile_held(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body, size_t len,
                        struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_ORIGIN_PROFILE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  uint64_t current = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  uint8_t key[HLS_CURSOR_KEY_MAX];
  size_t key_len;
  if (current > seq || !profile_key(body, len, key, &key_len)) return 0;
  return set_profile(s, origin, seq, body, len, key, key_len, why);
}

/* The latest profile of origin whose body is held and decodes, again
 * (after the one that was erased). */
static int profile_again(struct hls_store *s, const uint8_t origin[32], struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PROFILE_LATEST];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  uint8_t key[HLS_CURSOR_KEY_MAX];
  size_t key_len = 0;
  int rc;
  /* The row stays current while set_profile runs (another statement). */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const uint8_t *body = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    if (profile_key(body, len, key, &key_len)) {
      rc = set_profile(s, origin, (uint64_t)sqlite3_column_int64(st, 0), body, len, key, key_len, why);
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return rc;
    }
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) return hls_store_sqlite_error(s->db, rc, why);
  return set_profile(s, origin, 0, NULL, 0, NULL, 0, why);
}

/* Add (ST_STORY_THEME_ADD) or remove (ST_STORY_THEME_DEL) the
 * story_themes rows of a story body. A body that does not decode has no
 * themes to list. */
static int story_themes(struct hls_store *s, int stmt, const uint8_t origin[32], uint64_t seq, int64_t timestamp_ms,
                        const uint8_t *body, size_t len, struct hls_why *why) {
  struct hls_story story;
  if (body == NULL || hls_story_decode(&story, body, len, NULL) != 0) return 0;
  sqlite3_stmt *st = s->stmt[stmt];
  int rc = 0;
  for (size_t i = 0; i < story.n_themes && rc == 0; i++) {
    sqlite3_bind_text(st, 1, story.themes[i].slug, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, timestamp_ms);
    sqlite3_bind_blob(st, 3, origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)seq);
    rc = run(s, st, why);
  }
  hls_story_free(&story);
  return rc;
}

/* What a body now held changes besides its items row. */
static int body_held(struct hls_store *s, const uint8_t origin[32], uint64_t seq, int type, int64_t timestamp_ms,
                     const uint8_t *body, size_t len, struct hls_why *why) {
  if (type == HLS_ENV_PROFILE) return profile_held(s, origin, seq, body, len, why);
  if (type == HLS_ENV_STORY) return story_themes(s, ST_STORY_THEME_ADD, origin, seq, timestamp_ms, body, len, why);
  if (type == HLS_ENV_RECEIPT) return hls_store__receipt_held(s, origin, seq, timestamp_ms, body, len, why);
  if (type == HLS_ENV_VOUCH) return hls_store__vouch_held(s, origin, seq, timestamp_ms, body, len, why);
  if (type == HLS_ENV_SUCCESSOR) return hls_store__successor_held(s, origin, seq, timestamp_ms, body, len, why);
  return 0;
}

/* Outside a transaction, each write is its own (a savepoint), so items
 * and its summaries never disagree. Inside the caller's, it is the
 * caller's unit: on an error it rolls back (every caller does), and a
 * savepoint per write would cost more than the write (SQLite journals
 * the pages a savepoint changes again). */
static int write_begin(struct hls_store *s, bool *own, struct hls_why *why) {
  *own = sqlite3_get_autocommit(s->db) != 0;
  return *own ? run(s, s->stmt[ST_ITEM_SAVEPOINT], why) : 0;
}

static int write_end(struct hls_store *s, bool own, int rc, struct hls_why *why) {
  if (!own) return rc;
  if (rc == 0) {
    rc = run(s, s->stmt[ST_ITEM_RELEASE], why);
    if (rc == 0) return 0;
  }
  hls_store__step_done(s, s->stmt[ST_ITEM_ROLLBACK_TO], NULL);
  hls_store__step_done(s, s->stmt[ST_ITEM_RELEASE], NULL);
  return rc;
}

/* The items of one origin stored by a run, summed for its origins row. */
struct origin_sum {
  const uint8_t *origin; /* borrowed: the first envelope's */
  int64_t items, stubs, erased;
  uint64_t head_seq;
  const uint8_t *head_id; /* borrowed */
};

static int origin_add(struct hls_store *s, const struct origin_sum *sum, int64_t now_ms, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_ORIGIN_ADD];
  sqlite3_bind_blob(st, 1, sum->origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, sum->items);
  sqlite3_bind_int64(st, 3, sum->stubs);
  sqlite3_bind_int64(st, 4, sum->erased);
  sqlite3_bind_int64(st, 5, now_ms);
  sqlite3_bind_int64(st, 6, (int64_t)sum->head_seq);
  sqlite3_bind_blob(st, 7, sum->head_id, 32, SQLITE_STATIC);
  return run(s, st, why);
}

static int item_insert(struct hls_store *s, const struct hls_envelope *env, int body_state, int64_t now_ms,
                       struct hls_why *why) {
  msgpack_sbuffer stub;
  msgpack_sbuffer_init(&stub);
  int rc = hls_env_encode_stub(&stub, env);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&stub);
    return rc;
  }
  sqlite3_stmt *st = s->stmt[ST_ITEM_PUT];
  sqlite3_bind_blob(st, 1, env->h.origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)env->h.seq);
  sqlite3_bind_int(st, 3, env->h.type);
  sqlite3_bind_int(st, 4, env->h.audience);
  sqlite3_bind_int64(st, 5, (int64_t)env->h.timestamp_ms);
  sqlite3_bind_blob(st, 6, env->id, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 7, stub.data, (int)stub.size, SQLITE_STATIC);
  if (env->body != NULL) sqlite3_bind_blob(st, 8, env->body, (int)env->body_len, SQLITE_STATIC);
  else sqlite3_bind_null(st, 8);
  sqlite3_bind_int(st, 9, body_state);
  sqlite3_bind_int64(st, 10, now_ms);
  rc = run(s, st, why);
  if (rc == HLS_ESTORE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
    rc = hls_why_set(why, HLS_EEXISTS, "item %llu of that origin is held already", (unsigned long long)env->h.seq);
  msgpack_sbuffer_destroy(&stub);
  return rc;
}

static int state_of(const struct hls_envelope *env, int body_state) {
  return env->body != NULL ? HLS_BODY_HELD : body_state;
}

int hls_store_item_put_run(struct hls_store *s, const struct hls_envelope *envs, const int *body_states, size_t n,
                           int64_t now_ms, struct hls_why *why) {
  bool own;
  int rc = write_begin(s, &own, why);
  /* By origin (a run is of one): its items, then its summary once, then
   * what their bodies change (a profile needs its origin's row). An item
   * held already fails before anything of its origin is written. */
  for (size_t i = 0, end; i < n && rc == 0; i = end) {
    struct origin_sum sum = {.origin = envs[i].h.origin};
    for (end = i; end < n && rc == 0 && memcmp(envs[end].h.origin, sum.origin, 32) == 0; end++) {
      int state = state_of(&envs[end], body_states[end]);
      rc = item_insert(s, &envs[end], state, now_ms, why);
      sum.items++;
      sum.stubs += state == HLS_BODY_STUB;
      sum.erased += state == HLS_BODY_ERASED;
      if (sum.head_id == NULL || envs[end].h.seq > sum.head_seq) {
        sum.head_seq = envs[end].h.seq;
        sum.head_id = envs[end].id;
      }
    }
    if (rc == 0) rc = origin_add(s, &sum, now_ms, why);
    for (size_t k = i; k < end && rc == 0; k++)
      if (state_of(&envs[k], body_states[k]) == HLS_BODY_HELD)
        rc = body_held(s, envs[k].h.origin, envs[k].h.seq, envs[k].h.type, (int64_t)envs[k].h.timestamp_ms,
                       envs[k].body, envs[k].body_len, why);
  }
  return write_end(s, own, rc, why);
}

int hls_store_item_put(struct hls_store *s, const struct hls_envelope *env, int body_state, int64_t now_ms,
                       struct hls_why *why) {
  return hls_store_item_put_run(s, env, &body_state, 1, now_ms, why);
}

/* Migration 11 (store.c), in its transaction, before the statements of
 * store.c's table are prepared: so with statements of its own. */
int hls_store__fill_read_side(struct hls_store *s, struct hls_why *why) {
  sqlite3_stmt *profiles = NULL, *set = NULL, *stories = NULL, *add = NULL;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT origin, seq, body FROM items WHERE type=1 AND body_state=0 ORDER BY origin, seq DESC",
                              -1, &profiles, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "UPDATE origins SET profile_seq=?2, place_key=?3, profile=?4 WHERE origin=?1", -1,
                            &set, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "SELECT origin, seq, timestamp_ms, body FROM items WHERE type=3 AND body_state=0",
                            -1, &stories, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db,
                            "INSERT OR IGNORE INTO story_themes(theme, timestamp_ms, origin, seq) VALUES(?1, ?2, ?3, ?4)",
                            -1, &add, NULL);
  if (rc != SQLITE_OK) {
    rc = hls_store_sqlite_error(s->db, rc, why);
    goto out;
  }
  /* Each origin's latest profile that decodes: the first of its rows. */
  uint8_t done_origin[32], key[HLS_CURSOR_KEY_MAX];
  bool have_done = false;
  size_t key_len;
  while ((rc = sqlite3_step(profiles)) == SQLITE_ROW) {
    const void *origin = sqlite3_column_blob(profiles, 0);
    if (origin == NULL || sqlite3_column_bytes(profiles, 0) != 32) continue;
    if (have_done && memcmp(done_origin, origin, 32) == 0) continue;
    if (!profile_key(sqlite3_column_blob(profiles, 2), (size_t)sqlite3_column_bytes(profiles, 2), key, &key_len))
      continue;
    memcpy(done_origin, origin, 32);
    have_done = true;
    sqlite3_bind_blob(set, 1, done_origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(set, 2, sqlite3_column_int64(profiles, 1));
    sqlite3_bind_blob(set, 3, key, (int)key_len, SQLITE_STATIC);
    sqlite3_bind_blob(set, 4, sqlite3_column_blob(profiles, 2), sqlite3_column_bytes(profiles, 2), SQLITE_STATIC);
    if ((rc = hls_store__step_done(s, set, why)) != 0) goto out;
  }
  if (rc != SQLITE_DONE) {
    rc = hls_store_sqlite_error(s->db, rc, why);
    goto out;
  }
  /* Every story held, by its themes. */
  while ((rc = sqlite3_step(stories)) == SQLITE_ROW) {
    struct hls_story story;
    const uint8_t *body = sqlite3_column_blob(stories, 3);
    if (sqlite3_column_bytes(stories, 0) != 32 || body == NULL ||
        hls_story_decode(&story, body, (size_t)sqlite3_column_bytes(stories, 3), NULL) != 0)
      continue;
    int add_rc = 0;
    for (size_t i = 0; i < story.n_themes && add_rc == 0; i++) {
      sqlite3_bind_text(add, 1, story.themes[i].slug, -1, SQLITE_STATIC);
      sqlite3_bind_int64(add, 2, sqlite3_column_int64(stories, 2));
      sqlite3_bind_blob(add, 3, sqlite3_column_blob(stories, 0), 32, SQLITE_STATIC);
      sqlite3_bind_int64(add, 4, sqlite3_column_int64(stories, 1));
      add_rc = hls_store__step_done(s, add, why);
    }
    hls_story_free(&story);
    if (add_rc != 0) {
      rc = add_rc;
      goto out;
    }
  }
  rc = rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
out:
  sqlite3_finalize(profiles);
  sqlite3_finalize(set);
  sqlite3_finalize(stories);
  sqlite3_finalize(add);
  return rc;
}

static uint8_t *column_blob_dup(sqlite3_stmt *st, int col, size_t *len) {
  const void *b = sqlite3_column_blob(st, col);
  *len = (size_t)sqlite3_column_bytes(st, col);
  if (b == NULL) return NULL;
  uint8_t *copy = malloc(*len > 0 ? *len : 1);
  if (copy != NULL) memcpy(copy, b, *len);
  return copy;
}

static void copy_blob32(sqlite3_stmt *st, int col, uint8_t out[32]) {
  const void *b = sqlite3_column_blob(st, col);
  if (b != NULL && sqlite3_column_bytes(st, col) == 32) memcpy(out, b, 32);
  else memset(out, 0, 32);
}

int hls_store_item_get(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_item *out,
                       struct hls_why *why) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = s->stmt[ST_ITEM_GET];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    copy_blob32(st, 0, out->origin);
    out->seq = (uint64_t)sqlite3_column_int64(st, 1);
    out->type = sqlite3_column_int(st, 2);
    out->audience = sqlite3_column_int(st, 3);
    out->timestamp_ms = sqlite3_column_int64(st, 4);
    copy_blob32(st, 5, out->item_id);
    out->stub = column_blob_dup(st, 6, &out->stub_len);
    out->body = column_blob_dup(st, 7, &out->body_len);
    out->body_state = sqlite3_column_int(st, 8);
    out->stored_ms = sqlite3_column_int64(st, 9);
    rc = out->stub == NULL || (out->body_state == HLS_BODY_HELD && out->body == NULL) ? HLS_ENOMEM : 0;
  } else if (rc == SQLITE_DONE) {
    rc = hls_why_set(why, HLS_ENOTFOUND, "no item %llu of that origin", (unsigned long long)seq);
  } else {
    rc = hls_store_sqlite_error(s->db, rc, why);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != 0) hls_item_clear(out);
  return rc;
}

int hls_store_item_erase(struct hls_store *s, const uint8_t origin[32], uint64_t seq, struct hls_why *why) {
  bool own;
  int rc = write_begin(s, &own, why);
  if (rc != 0) return rc;
  sqlite3_stmt *st = s->stmt[ST_ITEM_STATE];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  int step = sqlite3_step(st), state = -1, type = 0;
  if (step == SQLITE_ROW) {
    state = sqlite3_column_int(st, 0);
    type = sqlite3_column_int(st, 1);
    /* A story's themes leave story_themes while its body can still say
     * which they are. */
    if (state == HLS_BODY_HELD && type == HLS_ENV_STORY)
      rc = story_themes(s, ST_STORY_THEME_DEL, origin, seq, sqlite3_column_int64(st, 2), sqlite3_column_blob(st, 3),
                        (size_t)sqlite3_column_bytes(st, 3), why);
  } else if (step != SQLITE_DONE) {
    rc = hls_store_sqlite_error(s->db, step, why);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  /* Nothing held by that key, or erased already: nothing changes. */
  if (rc == 0 && (state == HLS_BODY_HELD || state == HLS_BODY_STUB)) {
    st = s->stmt[ST_ITEM_ERASE];
    sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    rc = run(s, st, why);
    if (rc == 0) {
      st = s->stmt[ST_ORIGIN_ERASED];
      sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
      sqlite3_bind_int(st, 2, state == HLS_BODY_STUB);
      rc = run(s, st, why);
    }
    if (rc == 0 && state == HLS_BODY_HELD && type == HLS_ENV_PROFILE) rc = profile_again(s, origin, why);
  }
  return write_end(s, own, rc, why);
}

int hls_store_item_fill_body(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body,
                             size_t len, bool *changed, struct hls_why *why) {
  *changed = false;
  bool own;
  int rc = write_begin(s, &own, why);
  if (rc != 0) return rc;
  sqlite3_stmt *st = s->stmt[ST_ITEM_FILL];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_blob(st, 3, body, (int)len, SQLITE_STATIC);
  int step = sqlite3_step(st), type = 0;
  int64_t timestamp_ms = 0;
  if (step == SQLITE_ROW) {
    *changed = true;
    type = sqlite3_column_int(st, 0);
    timestamp_ms = sqlite3_column_int64(st, 1);
    step = sqlite3_step(st);
  }
  if (step != SQLITE_DONE) {
    rc = hls_store_sqlite_error(s->db, step, why);
    *changed = false;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == 0 && *changed) {
    st = s->stmt[ST_ORIGIN_FILLED];
    sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
    rc = run(s, st, why);
    if (rc == 0) rc = body_held(s, origin, seq, type, timestamp_ms, body, len, why);
  }
  rc = write_end(s, own, rc, why);
  if (rc != 0) *changed = false;
  return rc;
}

int hls_store_item_restore_body(struct hls_store *s, const uint8_t origin[32], uint64_t seq, const uint8_t *body,
                                size_t len, struct hls_why *why) {
  bool changed;
  return hls_store_item_fill_body(s, origin, seq, body, len, &changed, why);
}

int hls_store_chain_head(struct hls_store *s, const uint8_t origin[32], uint64_t *seq, uint8_t id[32],
                         struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_CHAIN_HEAD];
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  *seq = 0;
  memset(id, 0, 32);
  if (rc == SQLITE_ROW) {
    *seq = (uint64_t)sqlite3_column_int64(st, 0);
    copy_blob32(st, 1, id);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, rc, why);
}

/* --- publications ---------------------------------------------------------------- */

static void bind_int_or_null(sqlite3_stmt *st, int i, int64_t v) {
  if (v != 0) sqlite3_bind_int64(st, i, v);
  else sqlite3_bind_null(st, i);
}

int hls_store_published_add(struct hls_store *s, const struct hls_published *p, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_ADD];
  sqlite3_bind_int64(st, 1, (int64_t)p->seq);
  sqlite3_bind_int(st, 2, p->type);
  sqlite3_bind_int(st, 3, p->audience);
  bind_int_or_null(st, 4, p->record_id);
  bind_int_or_null(st, 5, p->iso_year);
  bind_int_or_null(st, 6, p->iso_week);
  bind_int_or_null(st, 7, (int64_t)p->target_seq);
  if (p->type == HLS_ENV_TOMBSTONE) sqlite3_bind_int(st, 8, p->reason);
  else sqlite3_bind_null(st, 8);
  if (p->has_content_hash) sqlite3_bind_blob(st, 9, p->content_hash, 32, SQLITE_STATIC);
  else sqlite3_bind_null(st, 9);
  sqlite3_bind_int64(st, 10, p->published_ms);
  return hls_store__step_done(s, st, why);
}

static int mark_published(struct hls_store *s, int stmt, uint64_t seq, uint64_t by, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[stmt];
  sqlite3_bind_int64(st, 1, (int64_t)seq);
  sqlite3_bind_int64(st, 2, (int64_t)by);
  return hls_store__step_done(s, st, why);
}

int hls_store_published_superseded(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) {
  return mark_published(s, ST_PUB_SUPERSEDED, seq, by, why);
}

int hls_store_published_erased(struct hls_store *s, uint64_t seq, uint64_t by, struct hls_why *why) {
  return mark_published(s, ST_PUB_ERASED, seq, by, why);
}

static void load_published(sqlite3_stmt *st, struct hls_published *p) {
  memset(p, 0, sizeof *p);
  p->seq = (uint64_t)sqlite3_column_int64(st, 0);
  p->type = sqlite3_column_int(st, 1);
  p->audience = sqlite3_column_int(st, 2);
  p->record_id = sqlite3_column_int64(st, 3);
  p->iso_year = sqlite3_column_int(st, 4);
  p->iso_week = sqlite3_column_int(st, 5);
  p->target_seq = (uint64_t)sqlite3_column_int64(st, 6);
  p->reason = sqlite3_column_int(st, 7);
  p->has_content_hash = sqlite3_column_bytes(st, 8) == 32;
  if (p->has_content_hash) memcpy(p->content_hash, sqlite3_column_blob(st, 8), 32);
  p->superseded_by = (uint64_t)sqlite3_column_int64(st, 9);
  p->erased_by = (uint64_t)sqlite3_column_int64(st, 10);
  p->published_ms = sqlite3_column_int64(st, 11);
}

static int walk_published(struct hls_store *s, sqlite3_stmt *st, hls_published_cb cb, void *ctx, struct hls_why *why) {
  int rc, result = 0;
  struct hls_published p;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    load_published(st, &p);
    if ((result = cb(ctx, &p)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return result;
}

int hls_store_published_list(struct hls_store *s, bool newest_first, int64_t limit, hls_published_cb cb, void *ctx,
                             struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[newest_first ? ST_PUB_LIST_DESC : ST_PUB_LIST_ASC];
  sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
  return walk_published(s, st, cb, ctx, why);
}

int hls_store_published_current(struct hls_store *s, int type, int iso_year, int iso_week, struct hls_published *out,
                                struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_CURRENT];
  sqlite3_bind_int(st, 1, type);
  sqlite3_bind_int(st, 2, iso_year);
  sqlite3_bind_int(st, 3, iso_week);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) load_published(st, out);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_published_get(struct hls_store *s, uint64_t seq, struct hls_published *out, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_GET];
  sqlite3_bind_int64(st, 1, (int64_t)seq);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) load_published(st, out);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_DONE) return HLS_ENOTFOUND;
  return hls_store_sqlite_error(s->db, rc, why);
}

int hls_store_published_live_stories(struct hls_store *s, hls_published_cb cb, void *ctx, struct hls_why *why) {
  return walk_published(s, s->stmt[ST_PUB_LIVE_STORIES], cb, ctx, why);
}

int hls_store_published_digest_weeks(struct hls_store *s, hls_week_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PUB_DIGEST_WEEKS];
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((result = cb(ctx, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1))) != 0) break;
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  return result;
}

/* --- peers ------------------------------------------------------------------------------ */

int hls_store_peer_put(struct hls_store *s, const struct hls_peer_row *p, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_PUT];
  sqlite3_bind_blob(st, 1, p->node_id, 32, SQLITE_STATIC);
  hls_store__bind_text_or_null(st, 2, p->address[0] ? p->address : NULL);
  sqlite3_bind_int(st, 3, p->admin);
  sqlite3_bind_int(st, 4, p->blocked);
  sqlite3_bind_int64(st, 5, p->added_ms);
  bind_int_or_null(st, 6, p->last_seen_ms);
  sqlite3_bind_int64(st, 7, p->bytes_in);
  sqlite3_bind_int64(st, 8, p->bytes_out);
  sqlite3_bind_int64(st, 9, p->failures);
  hls_store__bind_text_or_null(st, 10, p->last_error[0] ? p->last_error : NULL);
  sqlite3_bind_int64(st, 11, p->violations);
  return hls_store__step_done(s, st, why);
}

int hls_store_peer_delete(struct hls_store *s, const uint8_t node_id[32], struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_DELETE];
  sqlite3_bind_blob(st, 1, node_id, 32, SQLITE_STATIC);
  int rc = hls_store__step_done(s, st, why);
  if (rc == 0 && sqlite3_changes(s->db) == 0) rc = hls_why_set(why, HLS_ENOTFOUND, "no such peer");
  return rc;
}

int hls_store_peer_list(struct hls_store *s, hls_peer_cb cb, void *ctx, struct hls_why *why) {
  sqlite3_stmt *st = s->stmt[ST_PEER_LIST];
  int rc, result = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hls_peer_row p;
    memset(&p, 0, sizeof p);
    copy_blob32(st, 0, p.node_id);
    const unsigned char *addr = sqlite3_column_text(st, 1);
    snprintf(p.address, sizeof p.address, "%s", addr ? (const char *)addr : "");
    p.admin = sqlite3_column_int(st, 2);
    p.blocked = sqlite3_column_int(st, 3);
    p.added_ms = sqlite3_column_int64(st, 4);
    p.last_seen_ms = sqlite3_column_int64(st, 5);
    p.bytes_in = sqlite3_column_int64(st, 6);
    p.bytes_out = sqlite3_column_int64(st, 7);
    p.failures = sqlite3_column_int64(st, 8);
    p.violations = sqlite3_column_int64(st, 10);
    const unsigned char *err = sqlite3_column_text(st, 9);
    snprintf(p.last_error, sizeof p.last_error, "%s", err ? (const char *)err : "");
    if ((result = cb(ctx, &p)) != 0) break;
  }
  if (result == 0 && rc != SQLITE_DONE) result = hls_store_sqlite_error(s->db, rc, why);
  sqlite3_reset(st);
  return result;
}
