/* Erasure receipts in the store (store.h; docs/protocol.md 4.5): what
 * this node owes other origins (receipts_owed), what other nodes
 * confirmed about this node's own items (receipts), and who was expected
 * to confirm. Erasures and receipts are rare next to items, so the
 * statements are prepared when called, as store_query.c's. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_internal.h"

/* The owner's key into s->owner; false if none is recorded (a store
 * never claimed, as in some tests: every origin is then another's). */
static int owner_of(struct hls_store *s, bool *present, struct hls_why *why) {
  *present = false;
  if (s->owner_known == 1) {
    *present = true;
    return 0;
  }
  int rc = hls_store_owner(s, s->owner, present, why);
  if (rc == 0 && *present) s->owner_known = 1;
  return rc;
}

/* Timestamp of the owner's first item (its first profile); -1 if not held. */
static int first_profile_ms(struct hls_store *s, int64_t *ms, struct hls_why *why) {
  sqlite3_stmt *st;
  *ms = -1;
  int rc = hls_store__prepare(s, "SELECT timestamp_ms FROM items WHERE origin=?1 AND seq=1", &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_blob(st, 1, s->owner, 32, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) *ms = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_receipt_owe(struct hls_store *s, const uint8_t origin[32], uint64_t target_seq, int was_state,
                          int64_t tombstone_ms, int64_t now_ms, bool *noted, struct hls_why *why) {
  bool has_owner, dummy;
  if (noted == NULL) noted = &dummy;
  *noted = false;
  if (was_state != HLS_BODY_HELD && was_state != HLS_BODY_STUB) return 0; /* erased before: owed already */
  if (target_seq == 0 || target_seq > INT64_MAX) return 0;
  int rc = owner_of(s, &has_owner, why);
  if (rc != 0) return rc;
  if (has_owner && memcmp(origin, s->owner, 32) == 0) return 0;
  int state = HLS_RECEIPT_ERASED;
  if (was_state == HLS_BODY_STUB) {
    int64_t joined_ms;
    if (!has_owner || (rc = first_profile_ms(s, &joined_ms, why)) != 0) return rc;
    if (joined_ms < 0 || tombstone_ms < joined_ms) return 0;
    state = HLS_RECEIPT_NEVER_HELD;
  }
  sqlite3_stmt *st;
  if ((rc = hls_store__prepare(s, "INSERT OR IGNORE INTO receipts_owed(origin, target_seq, state, noted_ms) VALUES(?1, ?2, ?3, ?4)",
                    &st, why)) != 0)
    return rc;
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)target_seq);
  sqlite3_bind_int(st, 3, state);
  sqlite3_bind_int64(st, 4, now_ms);
  rc = hls_store__step_done(s, st, why);
  if (rc == 0) *noted = sqlite3_changes(s->db) > 0;
  sqlite3_finalize(st);
  return rc;
}

int hls_store_receipts_pending(struct hls_store *s, struct hls_receipt_entry *out, size_t max, size_t *n, bool *more,
                               struct hls_why *why) {
  sqlite3_stmt *st;
  *n = 0;
  *more = false;
  int rc = hls_store__prepare(s,
                   "SELECT origin, target_seq, state FROM receipts_owed WHERE receipt_seq IS NULL"
                   " ORDER BY origin, target_seq LIMIT ?1",
                   &st, why);
  if (rc != 0) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)max + 1);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    if (*n == max) {
      *more = true;
      break;
    }
    struct hls_receipt_entry *e = &out[(*n)++];
    memcpy(e->origin, sqlite3_column_blob(st, 0), 32);
    e->target_seq = (uint64_t)sqlite3_column_int64(st, 1);
    e->state = sqlite3_column_int(st, 2);
  }
  sqlite3_finalize(st);
  return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_receipts_sent(struct hls_store *s, const struct hls_receipt *r, uint64_t receipt_seq, int64_t receipt_ms,
                            struct hls_why *why) {
  sqlite3_stmt *st;
  int rc = hls_store__prepare(s,
                   "INSERT INTO receipts_owed(origin, target_seq, state, noted_ms, receipt_seq) VALUES(?1, ?2, ?3, ?4, ?5)"
                   " ON CONFLICT(origin, target_seq) DO UPDATE SET receipt_seq=excluded.receipt_seq"
                   " WHERE receipt_seq IS NULL",
                   &st, why);
  for (size_t i = 0; rc == 0 && i < r->n_entries; i++) {
    sqlite3_bind_blob(st, 1, r->entries[i].origin, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)r->entries[i].target_seq);
    sqlite3_bind_int(st, 3, r->entries[i].state);
    sqlite3_bind_int64(st, 4, receipt_ms);
    sqlite3_bind_int64(st, 5, (int64_t)receipt_seq);
    rc = hls_store__step_done(s, st, why);
  }
  if (st != NULL) sqlite3_finalize(st);
  return rc;
}

int hls_store__receipt_held(struct hls_store *s, const uint8_t holder[32], uint64_t seq, int64_t timestamp_ms,
                            const uint8_t *body, size_t len, struct hls_why *why) {
  bool has_owner;
  int rc = owner_of(s, &has_owner, why);
  if (rc != 0 || !has_owner || memcmp(holder, s->owner, 32) == 0) return rc;
  struct hls_receipt r;
  if (body == NULL || hls_receipt_decode(&r, body, len, NULL) != 0) return 0; /* checked when stored: says nothing */
  sqlite3_stmt *st = NULL;
  for (size_t i = 0; rc == 0 && i < r.n_entries; i++) {
    if (memcmp(r.entries[i].origin, s->owner, 32) != 0) continue;
    if (st == NULL &&
        (rc = hls_store__prepare(s,
                      "INSERT OR IGNORE INTO receipts(target_seq, holder, state, receipt_seq, receipt_ms)"
                      " VALUES(?1, ?2, ?3, ?4, ?5)",
                      &st, why)) != 0)
      break;
    sqlite3_bind_int64(st, 1, (int64_t)r.entries[i].target_seq);
    sqlite3_bind_blob(st, 2, holder, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, r.entries[i].state);
    sqlite3_bind_int64(st, 4, (int64_t)seq);
    sqlite3_bind_int64(st, 5, timestamp_ms);
    rc = hls_store__step_done(s, st, why);
  }
  if (st != NULL) sqlite3_finalize(st);
  hls_receipt_free(&r);
  return rc;
}

/* --- who was expected, who confirmed ----------------------------------------------- */

struct place_set {
  struct hls_receipt_place *p;
  size_t n, cap;
};

static struct hls_receipt_place *place_add(struct place_set *ps, const void *node_id) {
  if (ps->n == ps->cap) {
    size_t cap = ps->cap ? 2 * ps->cap : 32;
    struct hls_receipt_place *p = realloc(ps->p, cap * sizeof *p);
    if (p == NULL) return NULL;
    ps->p = p;
    ps->cap = cap;
  }
  struct hls_receipt_place *p = &ps->p[ps->n++];
  memset(p, 0, sizeof *p);
  memcpy(p->node_id, node_id, 32);
  p->state = -1;
  return p;
}

static int by_node(const void *a, const void *b) {
  return memcmp(((const struct hls_receipt_place *)a)->node_id, ((const struct hls_receipt_place *)b)->node_id, 32);
}

static int by_place(const void *a, const void *b) {
  const struct hls_receipt_place *x = a, *y = b;
  if (x->has_place != y->has_place) return x->has_place ? -1 : 1;
  int c = x->has_place ? strcasecmp(x->place, y->place) : 0;
  return c != 0 ? c : memcmp(x->node_id, y->node_id, 32);
}

/* Add every row of st (column 0: a 32-byte node id) as an expected place. */
static int add_expected(struct hls_store *s, sqlite3_stmt *st, struct place_set *ps, struct hls_why *why) {
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 32) continue;
    struct hls_receipt_place *p = place_add(ps, sqlite3_column_blob(st, 0));
    if (p == NULL) return HLS_ENOMEM;
    p->expected = true;
  }
  return step == SQLITE_DONE ? 0 : hls_store_sqlite_error(s->db, step, why);
}

int hls_store_receipt_places(struct hls_store *s, const uint8_t self[32], uint64_t target_seq, int audience,
                             int64_t tombstone_ms, hls_receipt_place_cb cb, void *ctx, struct hls_why *why) {
  struct place_set ps = {0};
  sqlite3_stmt *st = NULL;
  int rc;
  if (audience == HLS_AUD_PEERS) {
    rc = hls_store__prepare(s, "SELECT node_id FROM peers WHERE admin=1 AND blocked=0 AND node_id<>?1", &st, why);
  } else {
    rc = hls_store__prepare(s,
                 "SELECT o.origin FROM origins o JOIN items i ON i.origin=o.origin AND i.seq=1"
                 " WHERE o.origin<>?1 AND o.profile IS NOT NULL AND i.timestamp_ms<?2",
                 &st, why);
    if (rc == 0) sqlite3_bind_int64(st, 2, tombstone_ms);
  }
  if (rc == 0) {
    sqlite3_bind_blob(st, 1, self, 32, SQLITE_STATIC);
    rc = add_expected(s, st, &ps, why);
  }
  sqlite3_finalize(st);
  st = NULL;
  /* The receipts, merged into the expected places by node id. */
  size_t n_expected = ps.n;
  if (rc == 0 && n_expected > 1) qsort(ps.p, n_expected, sizeof *ps.p, by_node);
  if (rc == 0)
    rc = hls_store__prepare(s, "SELECT holder, state, receipt_seq, receipt_ms FROM receipts WHERE target_seq=?1", &st, why);
  if (rc == 0) {
    sqlite3_bind_int64(st, 1, (int64_t)target_seq);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      if (sqlite3_column_bytes(st, 0) != 32) continue;
      struct hls_receipt_place key = {.state = -1};
      memcpy(key.node_id, sqlite3_column_blob(st, 0), 32);
      struct hls_receipt_place *p = n_expected ? bsearch(&key, ps.p, n_expected, sizeof *ps.p, by_node) : NULL;
      if (p == NULL && (p = place_add(&ps, key.node_id)) == NULL) {
        rc = HLS_ENOMEM;
        break;
      }
      p->state = sqlite3_column_int(st, 1);
      p->receipt_seq = (uint64_t)sqlite3_column_int64(st, 2);
      p->receipt_ms = sqlite3_column_int64(st, 3);
    }
    if (rc == 0 && step != SQLITE_DONE) rc = hls_store_sqlite_error(s->db, step, why);
  }
  sqlite3_finalize(st);
  st = NULL;
  /* Their place names, from each origin's latest profile held. */
  if (rc == 0) rc = hls_store__prepare(s, "SELECT profile FROM origins WHERE origin=?1 AND profile IS NOT NULL", &st, why);
  for (size_t i = 0; rc == 0 && i < ps.n; i++) {
    sqlite3_bind_blob(st, 1, ps.p[i].node_id, 32, SQLITE_STATIC);
    int step = sqlite3_step(st);
    struct hls_profile prof;
    if (step == SQLITE_ROW &&
        hls_profile_decode(&prof, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), NULL) == 0) {
      ps.p[i].has_place = true;
      memcpy(ps.p[i].place, prof.place, sizeof ps.p[i].place);
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
      rc = hls_store_sqlite_error(s->db, step, why);
    }
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  if (rc == 0 && ps.n > 1) qsort(ps.p, ps.n, sizeof *ps.p, by_place);
  for (size_t i = 0; rc == 0 && i < ps.n; i++) rc = cb(ctx, &ps.p[i]);
  free(ps.p);
  return rc;
}
