/* Unit tests for daemon/gstore.c: the gossip engine's view of the SQLite
 * store. Each test opens a fresh store in its own temporary directory,
 * builds signed chains with real keys (protocol/envelope.c), and checks
 * what gstore.h promises: items and stubs read back byte for byte, the
 * heads (the engine's vector) and profiles of every origin, bodies filled
 * in only for stubs, erased bodies never coming back, fork evidence kept
 * once, whole runs or nothing. Store failures are injected with SQLite's
 * progress handler (a chosen statement is interrupted) and a capped
 * database (a full disk). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_build.h"
#include "envelope.h"
#include "gstore.h"
#include "store.h"

#define NOW_MS 1771300000000ll
#define MAX_ITEMS 16 /* the most items one put_run or stubs query here takes */

#define ASSERT_OK(expr)                                                           \
  do {                                                                            \
    int rc_ = (expr);                                                             \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text); \
  } while (0)

/* --- signed chains (chain_build.h), as these tests use them ------------------- */

/* A profile of place, its one address naming its seq. */
static void chain_add_profile(struct chain *c, const char *place) {
  struct hls_profile p;
  profile_of_place(&p, place);
  p.n_addresses = 1;
  snprintf(p.addresses[0], sizeof p.addresses[0], "10.0.0.%zu:7420", c->n + 1);
  chain_add_profile_of(c, &p);
}

/* --- fixture ------------------------------------------------------------------ */

struct fixture {
  char dir[64];
  char db_path[128];
  struct hls_store *store;
  struct hls_gstore *gs;
};

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-gstore-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->db_path, sizeof fx->db_path, "%s/hlsd.db", fx->dir);
  *state = fx;
  struct hls_why why = {{0}};
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->db_path, &opt, &why) != 0 || hls_gstore_open(&fx->gs, fx->store, &why) != 0) {
    fprintf(stderr, "open: %s\n", why.text);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_gstore_free(fx->gs);
  hls_store_free(fx->store);
  test_remove_tree(fx->dir);
  free(fx);
  return 0;
}

/* --- helpers ------------------------------------------------------------------ */

/* Put c's items first..last as one run, each held or as states[] says
 * (NULL: all held): a stub state is given the stub, as the engine does.
 * Returns hls_gstore_put_run's code. */
static int put_run(struct fixture *fx, const struct chain *c, uint64_t first, uint64_t last, const int *states,
                   struct hls_why *why) {
  assert_true(first >= 1 && first <= last && last <= c->n);
  size_t n = (size_t)(last - first + 1);
  assert_true(n <= MAX_ITEMS);
  struct hls_envelope envs[MAX_ITEMS];
  int st[MAX_ITEMS];
  struct blob stubs[MAX_ITEMS];
  memset(stubs, 0, sizeof stubs);
  for (size_t i = 0; i < n; i++) {
    st[i] = states != NULL ? states[i] : HLS_BODY_HELD;
    const struct blob *full = &c->env[first - 1 + i];
    if (st[i] == HLS_BODY_HELD) {
      blob_decode(&envs[i], full);
    } else {
      stubs[i] = stub_of(full);
      blob_decode(&envs[i], &stubs[i]);
    }
  }
  int rc = hls_gstore_put_run(fx->gs, envs, st, n, NOW_MS, why);
  for (size_t i = 0; i < n; i++) free(stubs[i].p);
  return rc;
}

static int put_body(struct fixture *fx, const struct chain *c, uint64_t seq, bool *changed, struct hls_why *why) {
  struct hls_envelope env;
  blob_decode(&env, &c->env[seq - 1]);
  return hls_gstore_put_body(fx->gs, &env, changed, why);
}

static void erase(struct fixture *fx, const struct chain *c, uint64_t seq) {
  struct hls_why why = {{0}};
  ASSERT_OK(hls_store_item_erase(fx->store, c->k.pk, seq, &why));
}

/* get returns c's item seq as held in state: the same signed stub, the
 * body only when held, the audience of its header. */
static void assert_item(struct fixture *fx, const struct chain *c, uint64_t seq, int state) {
  struct hls_gossip_item it;
  int rc = hls_gstore_get(fx->gs, c->k.pk, seq, &it);
  if (rc != 0) fail_msg("get seq %llu: %s", (unsigned long long)seq, hls_err_name(rc));
  struct hls_envelope full, stub;
  blob_decode(&full, &c->env[seq - 1]);
  struct blob want_stub = stub_of(&c->env[seq - 1]);
  assert_int_equal(it.stub_len, want_stub.len);
  assert_memory_equal(it.stub, want_stub.p, want_stub.len);
  struct blob got_stub = blob_copy(it.stub, it.stub_len);
  blob_decode(&stub, &got_stub);
  assert_null(stub.body);
  assert_memory_equal(stub.id, full.id, HLS_HASH_BYTES);
  assert_int_equal(it.state, state);
  assert_int_equal(it.audience, full.h.audience);
  if (state == HLS_BODY_HELD) {
    assert_non_null(it.body);
    assert_int_equal(it.body_len, full.body_len);
    assert_memory_equal(it.body, full.body, full.body_len);
  } else {
    assert_null(it.body);
    assert_int_equal(it.body_len, 0);
  }
  assert_int_equal(hls_gstore_state(fx->gs, c->k.pk, seq), state);
  free(want_stub.p);
  free(got_stub.p);
}

static void assert_counts(const struct hls_gstore_counts *got, int64_t items, int64_t held, int64_t stubs,
                          int64_t erased, int64_t forks) {
  assert_int_equal(got->items, items);
  assert_int_equal(got->held, held);
  assert_int_equal(got->stubs, stubs);
  assert_int_equal(got->erased, erased);
  assert_int_equal(got->forks, forks);
}

static void assert_store_counts(struct fixture *fx, int64_t items, int64_t held, int64_t stubs, int64_t erased,
                                int64_t forks) {
  struct hls_why why = {{0}};
  struct hls_gstore_counts counts;
  ASSERT_OK(hls_gstore_counts(fx->gs, &counts, &why));
  assert_counts(&counts, items, held, stubs, erased, forks);
}

static void assert_origin_counts(struct fixture *fx, const struct chain *c, int64_t held, int64_t stubs,
                                 int64_t erased) {
  struct hls_why why = {{0}};
  struct hls_gstore_counts counts;
  ASSERT_OK(hls_gstore_origin_counts(fx->gs, c->k.pk, &counts, &why));
  assert_counts(&counts, held + stubs + erased, held, stubs, erased, 0);
}

/* hls_gstore_stubs(c, after, max) gives exactly want[0..n_want). */
static void assert_stubs(struct fixture *fx, const uint8_t origin[32], uint64_t after, size_t max,
                         const uint64_t *want, size_t n_want) {
  uint64_t seqs[MAX_ITEMS + 1];
  for (size_t i = 0; i < MAX_ITEMS + 1; i++) seqs[i] = 999;
  size_t n = 12345;
  assert_true(max <= MAX_ITEMS);
  assert_int_equal(hls_gstore_stubs(fx->gs, origin, after, seqs, max, &n), 0);
  assert_int_equal(n, n_want);
  for (size_t i = 0; i < n; i++) assert_int_equal(seqs[i], want[i]);
  for (size_t i = max; i < MAX_ITEMS + 1; i++) assert_int_equal(seqs[i], 999); /* nothing beyond max */
}

/* What each_origin reports, one row per origin. */
struct origin_row {
  uint8_t origin[32];
  uint64_t head;
  uint8_t head_id[32];
  bool forked, has_profile;
  char place[HLS_PLACE_MAX + 1];
};

struct origins {
  struct origin_row rows[8];
  size_t n;
  int stop_after; /* > 0: return HLS_ECLOSED from call number stop_after */
};

static int collect_origin(void *ctx, const uint8_t origin[32], uint64_t head, const uint8_t head_id[32], bool forked,
                          const struct hls_profile *profile) {
  struct origins *o = ctx;
  assert_true(o->n < sizeof o->rows / sizeof o->rows[0]);
  struct origin_row *r = &o->rows[o->n++];
  memcpy(r->origin, origin, 32);
  r->head = head;
  memcpy(r->head_id, head_id, 32);
  r->forked = forked;
  r->has_profile = profile != NULL;
  if (profile != NULL) snprintf(r->place, sizeof r->place, "%s", profile->place);
  return o->stop_after > 0 && (int)o->n >= o->stop_after ? HLS_ECLOSED : 0;
}

static const struct origin_row *find_origin(const struct origins *o, const struct chain *c) {
  for (size_t i = 0; i < o->n; i++)
    if (memcmp(o->rows[i].origin, c->k.pk, 32) == 0) return &o->rows[i];
  fail_msg("origin not reported by each_origin");
  return NULL;
}

/* The id of c's item seq. */
static void item_id(const struct chain *c, uint64_t seq, uint8_t id[32]) {
  struct hls_envelope env;
  blob_decode(&env, &c->env[seq - 1]);
  memcpy(id, env.id, 32);
}

struct forks {
  struct {
    uint8_t origin[32];
    uint64_t seq;
    int64_t found_ms;
    bool reported;
    uint8_t reporter[32];
    uint64_t report_seq;
  } rows[8];
  size_t n;
  int stop_after;
};

static int collect_fork(void *ctx, const uint8_t origin[32], uint64_t seq, int64_t found_ms,
                        const struct hls_gstore_fork_report *report) {
  struct forks *f = ctx;
  assert_true(f->n < sizeof f->rows / sizeof f->rows[0]);
  memcpy(f->rows[f->n].origin, origin, 32);
  f->rows[f->n].seq = seq;
  f->rows[f->n].found_ms = found_ms;
  f->rows[f->n].reported = report != NULL;
  if (report != NULL) {
    memcpy(f->rows[f->n].reporter, report->reporter, 32);
    f->rows[f->n].report_seq = report->report_seq;
  }
  f->n++;
  return f->stop_after > 0 && (int)f->n >= f->stop_after ? HLS_ECLOSED : 0;
}

/* --- items of several origins ------------------------------------------------- */

/* A fork told by another node's report (docs/protocol.md 4.7): listed with
 * its reporter; its origin, of which nothing is held, is loaded as forked
 * at head 0, so it stays refused after a restart. */
static void test_fork_reported_row(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  uint8_t origin[32] = {0x77}, reporter[32] = {0x78};
  struct hls_gstore_fork_report report = {.report_seq = 12};
  memcpy(report.reporter, reporter, 32);
  ASSERT_OK(hls_gstore_fork_put(fx->gs, origin, 3, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1, &report, 10,
                                &why));
  ASSERT_OK(hls_gstore_fork_put(fx->gs, origin, 3, (const uint8_t *)"c", 1, (const uint8_t *)"d", 1, NULL, 20, &why));
  struct forks f = {0};
  ASSERT_OK(hls_gstore_each_fork(fx->gs, collect_fork, &f, &why));
  assert_int_equal(f.n, 1); /* the first evidence stays */
  assert_true(f.rows[0].reported);
  assert_memory_equal(f.rows[0].reporter, reporter, 32);
  assert_int_equal(f.rows[0].report_seq, 12);
  assert_int_equal(f.rows[0].found_ms, 10);
  struct origins o = {0};
  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  assert_int_equal(o.n, 1);
  assert_memory_equal(o.rows[0].origin, origin, 32);
  assert_int_equal(o.rows[0].head, 0);
  assert_true(o.rows[0].forked);
  assert_false(o.rows[0].has_profile);
}

/* Items of three origins, held and as stubs, read back byte for byte; an
 * item not held is not_found with an empty view; counts add up. */
static void test_put_get_several_origins(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a, b, c, unknown;
  chain_init(&a, 1);
  chain_add_profile(&a, "Alpha");
  chain_add_digest(&a, 10);
  chain_add_story(&a, HLS_AUD_NETWORK, 0);
  chain_init(&b, 2);
  chain_add_profile(&b, "Beta");
  chain_add_story_sized(&b, HLS_AUD_PEERS, 0, 100);
  chain_init(&c, 3);
  chain_add_digest(&c, 10);
  chain_init(&unknown, 4);

  assert_store_counts(fx, 0, 0, 0, 0, 0);
  ASSERT_OK(put_run(fx, &a, 1, 3, NULL, &why));
  const int b_states[] = {HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &b, 1, 2, b_states, &why));
  ASSERT_OK(put_run(fx, &c, 1, 1, NULL, &why));

  for (uint64_t seq = 1; seq <= 3; seq++) assert_item(fx, &a, seq, HLS_BODY_HELD);
  assert_item(fx, &b, 1, HLS_BODY_HELD);
  assert_item(fx, &b, 2, HLS_BODY_STUB);
  assert_item(fx, &c, 1, HLS_BODY_HELD);

  /* Not held: the next seq, seq 0, a seq beyond SQLite's integers, an
   * origin never seen. */
  const struct {
    const uint8_t *origin;
    uint64_t seq;
  } missing[] = {{a.k.pk, 4}, {a.k.pk, 0}, {a.k.pk, (uint64_t)INT64_MAX + 1}, {a.k.pk, UINT64_MAX}, {unknown.k.pk, 1}};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
    struct hls_gossip_item it;
    memset(&it, 0xab, sizeof it);
    assert_int_equal(hls_gstore_get(fx->gs, missing[i].origin, missing[i].seq, &it), HLS_ENOTFOUND);
    assert_null(it.stub);
    assert_null(it.body);
    assert_int_equal(it.stub_len + it.body_len, 0);
    assert_int_equal(hls_gstore_state(fx->gs, missing[i].origin, missing[i].seq), -1);
  }

  assert_store_counts(fx, 6, 5, 1, 0, 0);
  assert_origin_counts(fx, &a, 3, 0, 0);
  assert_origin_counts(fx, &b, 1, 1, 0);
  assert_origin_counts(fx, &c, 1, 0, 0);
  assert_origin_counts(fx, &unknown, 0, 0, 0);
  chain_free(&a);
  chain_free(&b);
  chain_free(&c);
  chain_free(&unknown);
}

/* The views get gives are copies: other calls and writes to the row leave
 * them as read, until the next get (of a larger or a smaller item). */
static void test_get_views_last_until_next_get(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a;
  chain_init(&a, 5);
  chain_add_profile(&a, "Alpha");
  chain_add_story_sized(&a, HLS_AUD_NETWORK, 0, 4000);
  chain_add_story_sized(&a, HLS_AUD_PEERS, 0, 10);
  chain_add_story_sized(&a, HLS_AUD_NETWORK, 0, 20000);
  const int states[] = {HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &a, 1, 3, states, &why));

  struct hls_gossip_item it;
  ASSERT_OK(hls_gstore_get(fx->gs, a.k.pk, 2, &it));
  struct blob stub = blob_copy(it.stub, it.stub_len), body = blob_copy(it.body, it.body_len);

  /* Reads of other statements, a write to the same row, a new item. */
  uint64_t seqs[4];
  size_t n;
  ASSERT_OK(hls_gstore_stubs(fx->gs, a.k.pk, 0, seqs, 4, &n));
  assert_int_equal(hls_gstore_state(fx->gs, a.k.pk, 3), HLS_BODY_STUB);
  struct hls_gstore_counts counts;
  ASSERT_OK(hls_gstore_counts(fx->gs, &counts, &why));
  erase(fx, &a, 2);
  ASSERT_OK(put_run(fx, &a, 4, 4, NULL, &why));
  assert_int_equal(it.stub_len, stub.len);
  assert_memory_equal(it.stub, stub.p, stub.len);
  assert_int_equal(it.body_len, body.len);
  assert_memory_equal(it.body, body.p, body.len);

  /* The next gets, larger then smaller, give their own items. */
  assert_item(fx, &a, 4, HLS_BODY_HELD);
  assert_item(fx, &a, 1, HLS_BODY_HELD);
  assert_item(fx, &a, 2, HLS_BODY_ERASED);
  assert_item(fx, &a, 3, HLS_BODY_STUB);
  free(stub.p);
  free(body.p);
  chain_free(&a);
}

/* --- stubs -------------------------------------------------------------------- */

/* stubs lists the peers-audience items held as stubs (the bodies this
 * node may ask the origin's direct peers for), ascending, above after, at
 * most max; not the held, erased or network ones, nor another origin's. */
static void test_stubs(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain d, other;
  chain_init(&d, 6);
  chain_add_profile(&d, "Delta");          /* 1 held */
  chain_add_story(&d, HLS_AUD_PEERS, 0);   /* 2 stub */
  chain_add_story(&d, HLS_AUD_PEERS, 0);   /* 3 stub */
  chain_add_story(&d, HLS_AUD_NETWORK, 0); /* 4 stub, network */
  chain_add_story(&d, HLS_AUD_PEERS, 0);   /* 5 held */
  chain_add_story(&d, HLS_AUD_PEERS, 0);   /* 6 stub */
  chain_add_story(&d, HLS_AUD_PEERS, 0);   /* 7 stub, then erased */
  const int states[] = {HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_STUB, HLS_BODY_STUB,
                        HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &d, 1, 7, states, &why));
  erase(fx, &d, 7);
  chain_init(&other, 7);
  chain_add_profile(&other, "Other");
  chain_add_story(&other, HLS_AUD_PEERS, 0);
  const int other_states[] = {HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &other, 1, 2, other_states, &why));

  assert_stubs(fx, d.k.pk, 0, MAX_ITEMS, (const uint64_t[]){2, 3, 6}, 3);
  assert_stubs(fx, d.k.pk, 2, MAX_ITEMS, (const uint64_t[]){3, 6}, 2);
  assert_stubs(fx, d.k.pk, 0, 2, (const uint64_t[]){2, 3}, 2);
  assert_stubs(fx, d.k.pk, 3, 1, (const uint64_t[]){6}, 1);
  assert_stubs(fx, d.k.pk, 6, MAX_ITEMS, NULL, 0);
  assert_stubs(fx, d.k.pk, 0, 0, NULL, 0);
  assert_stubs(fx, d.k.pk, UINT64_MAX, MAX_ITEMS, NULL, 0);
  assert_stubs(fx, other.k.pk, 0, MAX_ITEMS, (const uint64_t[]){2}, 1);
  struct chain none;
  chain_init(&none, 8);
  assert_stubs(fx, none.k.pk, 0, MAX_ITEMS, NULL, 0);

  /* A body received leaves the list. */
  bool changed = false;
  ASSERT_OK(put_body(fx, &d, 3, &changed, &why));
  assert_true(changed);
  assert_stubs(fx, d.k.pk, 0, MAX_ITEMS, (const uint64_t[]){2, 6}, 2);
  chain_free(&d);
  chain_free(&other);
  chain_free(&none);
}

/* --- bodies and erasure ------------------------------------------------------- */

/* put_body fills in a stub's body and says so; anything else (a body held
 * already, an erased one, an item not held) is left as it is, changed
 * false, and no error. */
static void test_put_body_only_fills_stubs(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain e;
  chain_init(&e, 9);
  chain_add_profile(&e, "Echo");
  chain_add_story(&e, HLS_AUD_PEERS, 0);
  chain_add_story(&e, HLS_AUD_PEERS, 0);
  chain_add_story(&e, HLS_AUD_PEERS, 0); /* 4: never stored */
  const int states[] = {HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &e, 1, 3, states, &why));

  bool changed = false;
  ASSERT_OK(put_body(fx, &e, 2, &changed, &why));
  assert_true(changed);
  assert_item(fx, &e, 2, HLS_BODY_HELD);
  assert_origin_counts(fx, &e, 2, 1, 0);

  changed = true;
  ASSERT_OK(put_body(fx, &e, 2, &changed, &why)); /* again */
  assert_false(changed);
  assert_item(fx, &e, 2, HLS_BODY_HELD);
  changed = true;
  ASSERT_OK(put_body(fx, &e, 1, &changed, &why)); /* held from the start */
  assert_false(changed);
  changed = true;
  ASSERT_OK(put_body(fx, &e, 4, &changed, &why)); /* not held: not created */
  assert_false(changed);
  assert_int_equal(hls_gstore_state(fx->gs, e.k.pk, 4), -1);

  erase(fx, &e, 3);
  changed = true;
  ASSERT_OK(put_body(fx, &e, 3, &changed, &why));
  assert_false(changed);
  assert_item(fx, &e, 3, HLS_BODY_ERASED);
  assert_origin_counts(fx, &e, 2, 0, 1);
  assert_store_counts(fx, 3, 2, 0, 1, 0);
  chain_free(&e);
}

/* A tombstone's target (erased the way gossipd does on HLS_GA_ERASE)
 * keeps its signed stub, so the chain still verifies, and its body never
 * comes back: not as a body, not as the same item delivered again. */
static void test_tombstone_erases_and_body_stays_gone(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain f;
  chain_init(&f, 10);
  chain_add_profile(&f, "Foxtrot");
  chain_add_story_sized(&f, HLS_AUD_NETWORK, 0, 500);
  chain_add_tombstone(&f, 2);
  ASSERT_OK(put_run(fx, &f, 1, 2, NULL, &why));
  assert_item(fx, &f, 2, HLS_BODY_HELD);

  ASSERT_OK(put_run(fx, &f, 3, 3, NULL, &why));
  erase(fx, &f, 2);
  assert_item(fx, &f, 2, HLS_BODY_ERASED); /* the same stub, no body */
  assert_item(fx, &f, 3, HLS_BODY_HELD);
  struct hls_gossip_item it;
  ASSERT_OK(hls_gstore_get(fx->gs, f.k.pk, 3, &it));
  struct hls_tombstone t;
  ASSERT_OK(hls_tombstone_decode(&t, it.body, it.body_len, &why));
  assert_int_equal(t.target_seq, 2);
  assert_store_counts(fx, 3, 2, 0, 1, 0);

  bool changed = true;
  ASSERT_OK(put_body(fx, &f, 2, &changed, &why));
  assert_false(changed);
  memset(&why, 0, sizeof why);
  assert_int_equal(put_run(fx, &f, 2, 2, NULL, &why), HLS_EEXISTS);
  assert_item(fx, &f, 2, HLS_BODY_ERASED);
  assert_store_counts(fx, 3, 2, 0, 1, 0);
  chain_free(&f);
}

/* --- runs: all or nothing ----------------------------------------------------- */

/* A run is one transaction: an item held already (the same or another
 * one at that seq), a duplicate within the run, or a row the store
 * refuses (a body state out of range) fails the whole run, and the store
 * takes the next run as if nothing happened. An empty run is a no-op. */
static void test_put_run_all_or_nothing(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  sqlite3 *db = hls_store_db(fx->store);
  struct chain g, fork;
  chain_init(&g, 11);
  chain_add_profile(&g, "Golf");
  for (int i = 0; i < 5; i++) chain_add_digest(&g, 10);
  ASSERT_OK(put_run(fx, &g, 1, 3, NULL, &why));

  ASSERT_OK(hls_gstore_put_run(fx->gs, NULL, NULL, 0, NOW_MS, &why));
  assert_store_counts(fx, 3, 3, 0, 0, 0);

  /* 3 is held: 4 must not be kept either. */
  memset(&why, 0, sizeof why);
  assert_int_equal(put_run(fx, &g, 3, 4, NULL, &why), HLS_EEXISTS);
  assert_non_null(strstr(why.text, "held already"));
  assert_int_equal(hls_gstore_state(fx->gs, g.k.pk, 4), -1);
  /* Runs go into the store's deferred transaction (gossipd commits it). */
  assert_true(hls_store_deferred(fx->store));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  assert_true(sqlite3_get_autocommit(db));

  /* Another item at a seq held (a fork): refused the same way. */
  chain_fork(&fork, &g, 2);
  chain_add_story(&fork, HLS_AUD_NETWORK, 1);
  assert_int_equal(put_run(fx, &fork, 3, 3, NULL, &why), HLS_EEXISTS);
  assert_item(fx, &g, 3, HLS_BODY_HELD);

  /* One item twice in a run. */
  struct hls_envelope twice[2];
  blob_decode(&twice[0], &g.env[3]);
  blob_decode(&twice[1], &g.env[3]);
  const int held2[] = {HLS_BODY_HELD, HLS_BODY_HELD};
  assert_int_equal(hls_gstore_put_run(fx->gs, twice, held2, 2, NOW_MS, &why), HLS_EEXISTS);
  assert_int_equal(hls_gstore_state(fx->gs, g.k.pk, 4), -1);

  /* A stub with a body state the store does not know. */
  const int bad[] = {HLS_BODY_HELD, 7};
  memset(&why, 0, sizeof why);
  assert_int_equal(put_run(fx, &g, 4, 5, bad, &why), HLS_ESTORE);
  assert_non_null(strstr(why.text, "store: "));
  assert_int_equal(hls_gstore_state(fx->gs, g.k.pk, 4), -1);
  assert_int_equal(hls_gstore_state(fx->gs, g.k.pk, 5), -1);
  assert_false(hls_store_deferred_lost(fx->store)); /* only the run was undone */
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  assert_true(sqlite3_get_autocommit(db));
  assert_store_counts(fx, 3, 3, 0, 0, 0);

  ASSERT_OK(put_run(fx, &g, 4, 6, NULL, &why));
  for (uint64_t seq = 1; seq <= 6; seq++) assert_item(fx, &g, seq, HLS_BODY_HELD);
  assert_store_counts(fx, 6, 6, 0, 0, 0);
  chain_free(&g);
  chain_free(&fork);
}

/* --- forks -------------------------------------------------------------------- */

/* Fork evidence (two signed headers of one origin and seq) is kept once,
 * as first found; listed newest first; counted; and marks its origin as
 * forked in each_origin. */
static void test_forks_kept_as_evidence(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct forks forks = {0};
  ASSERT_OK(hls_gstore_each_fork(fx->gs, collect_fork, &forks, &why));
  assert_int_equal(forks.n, 0);

  struct chain g, g2, h, h2, quiet;
  chain_init(&g, 12);
  chain_add_profile(&g, "Golf");
  chain_add_digest(&g, 10);
  chain_add_story(&g, HLS_AUD_NETWORK, 0);
  chain_fork(&g2, &g, 2);
  chain_add_story(&g2, HLS_AUD_NETWORK, 1); /* another seq 3, same key */
  chain_init(&h, 13);
  chain_add_profile(&h, "Hotel");
  chain_add_digest(&h, 10);
  chain_fork(&h2, &h, 1);
  chain_add_story(&h2, HLS_AUD_NETWORK, 1);
  chain_init(&quiet, 14);
  chain_add_profile(&quiet, "India");
  ASSERT_OK(put_run(fx, &g, 1, 3, NULL, &why));
  ASSERT_OK(put_run(fx, &h, 1, 2, NULL, &why));
  ASSERT_OK(put_run(fx, &quiet, 1, 1, NULL, &why));

  struct blob g_ours = stub_of(&g.env[2]), g_theirs = stub_of(&g2.env[2]);
  struct blob h_ours = stub_of(&h.env[1]), h_theirs = stub_of(&h2.env[1]);
  ASSERT_OK(hls_gstore_fork_put(fx->gs, g.k.pk, 3, g_ours.p, g_ours.len, g_theirs.p, g_theirs.len, NULL, 1000, &why));
  ASSERT_OK(hls_gstore_fork_put(fx->gs, h.k.pk, 2, h_ours.p, h_ours.len, h_theirs.p, h_theirs.len, NULL, 2000, &why));
  /* Found again later (from another peer, the other way round): the
   * first evidence stays. */
  ASSERT_OK(hls_gstore_fork_put(fx->gs, g.k.pk, 3, g_theirs.p, g_theirs.len, g_ours.p, g_ours.len, NULL, 3000, &why));

  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(hls_store_db(fx->store), "SELECT ours, theirs, found_ms FROM forks"
                                      " WHERE origin=?1 AND seq=3", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_blob(st, 1, g.k.pk, 32, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_bytes(st, 0), g_ours.len);
  assert_memory_equal(sqlite3_column_blob(st, 0), g_ours.p, g_ours.len);
  assert_int_equal(sqlite3_column_bytes(st, 1), g_theirs.len);
  assert_memory_equal(sqlite3_column_blob(st, 1), g_theirs.p, g_theirs.len);
  assert_int_equal(sqlite3_column_int64(st, 2), 1000);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);

  ASSERT_OK(hls_gstore_each_fork(fx->gs, collect_fork, &forks, &why));
  assert_int_equal(forks.n, 2);
  assert_memory_equal(forks.rows[0].origin, h.k.pk, 32);
  assert_int_equal(forks.rows[0].seq, 2);
  assert_int_equal(forks.rows[0].found_ms, 2000);
  assert_memory_equal(forks.rows[1].origin, g.k.pk, 32);
  assert_int_equal(forks.rows[1].seq, 3);
  assert_int_equal(forks.rows[1].found_ms, 1000);
  assert_store_counts(fx, 6, 6, 0, 0, 2);

  /* The item held at the forked seq is still ours; the other is evidence. */
  assert_item(fx, &g, 3, HLS_BODY_HELD);

  struct origins o = {0};
  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  assert_int_equal(o.n, 3);
  assert_true(find_origin(&o, &g)->forked);
  assert_true(find_origin(&o, &h)->forked);
  assert_false(find_origin(&o, &quiet)->forked);

  /* A callback's error stops the walk and is returned; the next walk
   * starts from the top. */
  struct forks first = {.stop_after = 1};
  assert_int_equal(hls_gstore_each_fork(fx->gs, collect_fork, &first, &why), HLS_ECLOSED);
  assert_int_equal(first.n, 1);
  struct forks again = {0};
  ASSERT_OK(hls_gstore_each_fork(fx->gs, collect_fork, &again, &why));
  assert_int_equal(again.n, 2);

  free(g_ours.p);
  free(g_theirs.p);
  free(h_ours.p);
  free(h_theirs.p);
  chain_free(&g);
  chain_free(&g2);
  chain_free(&h);
  chain_free(&h2);
  chain_free(&quiet);
}

/* --- origins: the engine's vector at start -------------------------------------- */

/* each_origin gives every origin held once, with its head (the highest
 * seq held, held or not: the engine's vector), the head's item id, and
 * its latest profile whose body is held. */
static void test_each_origin_heads_and_profiles(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct origins o = {0};
  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  assert_int_equal(o.n, 0);

  struct chain a, b, c;
  chain_init(&a, 15);
  chain_add_profile(&a, "First");  /* 1 */
  chain_add_digest(&a, 10);        /* 2 */
  chain_add_profile(&a, "Second"); /* 3 */
  chain_add_profile(&a, "Third");  /* 4: a stub, then 3 erased */
  chain_add_story(&a, HLS_AUD_PEERS, 0); /* 5: a stub */
  const int a_states[] = {HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &a, 1, 5, a_states, &why));
  chain_init(&b, 16);
  chain_add_digest(&b, 10);
  ASSERT_OK(put_run(fx, &b, 1, 1, NULL, &why));
  chain_init(&c, 17);
  chain_add_profile(&c, "Charlie");
  chain_add_digest(&c, 10);
  chain_add_digest(&c, 10);
  chain_add_digest(&c, 10);
  ASSERT_OK(put_run(fx, &c, 1, 2, NULL, &why));

  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  assert_int_equal(o.n, 3);
  uint8_t id[32];
  const struct origin_row *r = find_origin(&o, &a);
  assert_int_equal(r->head, 5);
  item_id(&a, 5, id);
  assert_memory_equal(r->head_id, id, 32);
  assert_true(r->has_profile);
  assert_string_equal(r->place, "Second"); /* "Third" is only a stub */
  assert_false(r->forked);
  r = find_origin(&o, &b);
  assert_int_equal(r->head, 1);
  item_id(&b, 1, id);
  assert_memory_equal(r->head_id, id, 32);
  assert_false(r->has_profile);
  r = find_origin(&o, &c);
  assert_int_equal(r->head, 2);
  assert_string_equal(r->place, "Charlie");

  /* A run moves the head; an erased profile is no longer the latest. */
  ASSERT_OK(put_run(fx, &c, 3, 4, NULL, &why));
  erase(fx, &a, 3);
  memset(&o, 0, sizeof o);
  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  r = find_origin(&o, &c);
  assert_int_equal(r->head, 4);
  item_id(&c, 4, id);
  assert_memory_equal(r->head_id, id, 32);
  assert_string_equal(find_origin(&o, &a)->place, "First");

  /* The callback's error stops the walk and is returned. */
  struct origins one = {.stop_after = 1};
  assert_int_equal(hls_gstore_each_origin(fx->gs, collect_origin, &one, &why), HLS_ECLOSED);
  assert_int_equal(one.n, 1);
  chain_free(&a);
  chain_free(&b);
  chain_free(&c);
}

/* --- a failing store ---------------------------------------------------------- */

/* Fault injection: SQLite's progress handler interrupts any running
 * statement whose SQL contains sql_part ("" for every statement), so a
 * chosen read or write fails as an I/O error would, mid-call. */
struct inject {
  sqlite3 *db;
  const char *sql_part;
  int hits;
};

static int inject_cb(void *ctx) {
  struct inject *in = ctx;
  for (sqlite3_stmt *st = sqlite3_next_stmt(in->db, NULL); st != NULL; st = sqlite3_next_stmt(in->db, st)) {
    if (sqlite3_stmt_busy(st) && strstr(sqlite3_sql(st), in->sql_part) != NULL) {
      in->hits++;
      return 1;
    }
  }
  return 0;
}

static void inject_start(struct inject *in, struct fixture *fx, const char *sql_part) {
  in->db = hls_store_db(fx->store);
  in->sql_part = sql_part;
  in->hits = 0;
  sqlite3_progress_handler(in->db, 1, inject_cb, in);
}

static void inject_stop(struct inject *in) { sqlite3_progress_handler(in->db, 0, NULL, NULL); }

/* Runs wait in the store's deferred transaction until gossipd commits it.
 * A failure that makes SQLite undo that whole transaction (an interrupt, a
 * full disk) loses the earlier runs too: the store says so once
 * (hls_store_deferred_lost), so that gossipd reloads what it holds. */
static void test_deferred_lost_is_reported(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a;
  chain_init(&a, 19);
  chain_add_profile(&a, "Alpha");
  chain_add_digest(&a, 10);
  chain_add_digest(&a, 11);
  ASSERT_OK(put_run(fx, &a, 1, 2, NULL, &why));
  assert_true(hls_store_deferred(fx->store));
  assert_false(hls_store_deferred_lost(fx->store));
  struct inject in;
  inject_start(&in, fx, "INSERT INTO items");
  assert_int_equal(put_run(fx, &a, 3, 3, NULL, &why), HLS_ESTORE);
  inject_stop(&in);
  assert_false(hls_store_deferred(fx->store));
  assert_true(hls_store_deferred_lost(fx->store));
  assert_false(hls_store_deferred_lost(fx->store)); /* said once */
  assert_int_equal(hls_gstore_state(fx->gs, a.k.pk, 1), -1);
  /* The store goes on: the same runs again are kept, and committed. */
  ASSERT_OK(put_run(fx, &a, 1, 3, NULL, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  assert_true(sqlite3_get_autocommit(hls_store_db(fx->store)));
  for (uint64_t seq = 1; seq <= 3; seq++) assert_item(fx, &a, seq, HLS_BODY_HELD);
  assert_false(hls_store_deferred_lost(fx->store));
  chain_free(&a);
}

/* Every function reports a failing store as an error (never as "nothing
 * there"), leaves nothing half-written, and works again once the store
 * does: no statement is left mid-step, no transaction open. */
static void test_failing_store_is_an_error(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a;
  chain_init(&a, 18);
  chain_add_profile(&a, "Alpha");
  chain_add_story(&a, HLS_AUD_PEERS, 0);
  chain_add_digest(&a, 10);
  const int states[] = {HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &a, 1, 2, states, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why)); /* as gossipd does, a moment later */
  struct blob ev = stub_of(&a.env[1]);

  struct inject in;
  inject_start(&in, fx, "");
  struct hls_gossip_item it;
  int rc = hls_gstore_get(fx->gs, a.k.pk, 1, &it);
  assert_true(rc != 0 && rc != HLS_ENOTFOUND);
  assert_null(it.stub);
  uint64_t seqs[4];
  size_t n = 7;
  assert_int_equal(hls_gstore_stubs(fx->gs, a.k.pk, 0, seqs, 4, &n), HLS_ESTORE);
  assert_int_equal(n, 0);
  assert_int_equal(hls_gstore_state(fx->gs, a.k.pk, 1), -1);
  memset(&why, 0, sizeof why);
  assert_int_equal(put_run(fx, &a, 3, 3, NULL, &why), HLS_ESTORE);
  assert_non_null(strstr(why.text, "store: "));
  bool changed = true;
  assert_int_equal(put_body(fx, &a, 2, &changed, &why), HLS_ESTORE);
  assert_false(changed);
  assert_int_equal(hls_gstore_fork_put(fx->gs, a.k.pk, 2, ev.p, ev.len, ev.p, ev.len, NULL, 1, &why), HLS_ESTORE);
  struct origins o = {0};
  assert_int_equal(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why), HLS_ESTORE);
  assert_int_equal(o.n, 0);
  struct hls_gstore_counts counts;
  assert_int_equal(hls_gstore_counts(fx->gs, &counts, &why), HLS_ESTORE);
  assert_int_equal(hls_gstore_origin_counts(fx->gs, a.k.pk, &counts, &why), HLS_ESTORE);
  struct forks f = {0};
  assert_int_equal(hls_gstore_each_fork(fx->gs, collect_fork, &f, &why), HLS_ESTORE);
  inject_stop(&in);
  assert_true(in.hits >= 10);

  /* Only the run's insert fails: the run is not kept. */
  inject_start(&in, fx, "INSERT INTO items");
  assert_int_equal(put_run(fx, &a, 3, 3, NULL, &why), HLS_ESTORE);
  inject_stop(&in);
  assert_true(in.hits > 0);
  assert_true(sqlite3_get_autocommit(hls_store_db(fx->store)));

  /* All as before. */
  assert_item(fx, &a, 1, HLS_BODY_HELD);
  assert_item(fx, &a, 2, HLS_BODY_STUB);
  assert_int_equal(hls_gstore_state(fx->gs, a.k.pk, 3), -1);
  assert_stubs(fx, a.k.pk, 0, 4, (const uint64_t[]){2}, 1);
  assert_store_counts(fx, 2, 1, 1, 0, 0);
  ASSERT_OK(hls_gstore_each_fork(fx->gs, collect_fork, &f, &why));
  assert_int_equal(f.n, 0);
  ASSERT_OK(put_run(fx, &a, 3, 3, NULL, &why));
  ASSERT_OK(put_body(fx, &a, 2, &changed, &why));
  assert_true(changed);
  free(ev.p);
  chain_free(&a);
}

/* each_origin reads four things per origin; a failure of any of them is
 * the walk's error, not an origin reported without its fork mark, head
 * id or profile (the engine would follow a forked origin again, or take a
 * zero head id for its chain). */
static void test_each_origin_read_errors(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a;
  chain_init(&a, 19);
  chain_add_profile(&a, "Alpha");
  chain_add_digest(&a, 10);
  ASSERT_OK(put_run(fx, &a, 1, 2, NULL, &why));
  struct blob ev = stub_of(&a.env[1]);
  ASSERT_OK(hls_gstore_fork_put(fx->gs, a.k.pk, 2, ev.p, ev.len, ev.p, ev.len, NULL, 1, &why));

  static const char *const reads[] = {
      "head_seq FROM origins",          /* the heads */
      "SELECT head_id FROM origins",    /* the head's id */
      "FROM forks WHERE origin",        /* forked? */
      "SELECT profile FROM origins",    /* the latest profile */
  };
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    struct inject in;
    struct origins o = {0};
    inject_start(&in, fx, reads[i]);
    memset(&why, 0, sizeof why);
    int rc = hls_gstore_each_origin(fx->gs, collect_origin, &o, &why);
    inject_stop(&in);
    assert_true(in.hits > 0);
    if (rc != HLS_ESTORE) fail_msg("each_origin with \"%s\" failing: %s, %zu origins", reads[i], hls_err_name(rc), o.n);
    assert_int_equal(o.n, 0);
    assert_non_null(strstr(why.text, "store: "));
  }
  struct origins o = {0};
  ASSERT_OK(hls_gstore_each_origin(fx->gs, collect_origin, &o, &why));
  assert_int_equal(o.n, 1);
  assert_true(o.rows[0].forked);
  assert_string_equal(o.rows[0].place, "Alpha");
  free(ev.p);
  chain_free(&a);
}

/* A full disk is disk_full, and a run that does not fit is not kept at
 * all; a body that does not fit leaves its stub a stub. */
static void test_full_disk(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain a;
  chain_init(&a, 20);
  chain_add_profile(&a, "Alpha");
  chain_add_story_sized(&a, HLS_AUD_PEERS, 0, 60000);
  for (int i = 0; i < 4; i++) chain_add_story_sized(&a, HLS_AUD_NETWORK, 0, 60000);
  const int states[] = {HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &a, 1, 2, states, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why)); /* as gossipd does, a moment later */

  /* Cap the database at the pages it has now, as a disk with no space left. */
  sqlite3 *db = hls_store_db(fx->store);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);

  memset(&why, 0, sizeof why);
  int rc = put_run(fx, &a, 3, 6, NULL, &why);
  if (rc != HLS_EDISKFULL) fail_msg("run on a full disk: %s (%s)", hls_err_name(rc), why.text);
  for (uint64_t seq = 3; seq <= 6; seq++) assert_int_equal(hls_gstore_state(fx->gs, a.k.pk, seq), -1);
  /* The deferred transaction held nothing else: committing it is a no-op. */
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  assert_true(sqlite3_get_autocommit(db));
  bool changed = true;
  assert_int_equal(put_body(fx, &a, 2, &changed, &why), HLS_EDISKFULL);
  assert_false(changed);
  assert_item(fx, &a, 2, HLS_BODY_STUB);
  assert_store_counts(fx, 2, 1, 1, 0, 0);
  chain_free(&a);
}

/* --- erasure receipts (docs/protocol.md 4.5) ------------------------------------ */

/* A profile of place as c's first item, signed at ts (a member that joined then). */
static void chain_add_first_profile_at(struct chain *c, const char *place, uint64_t ts) {
  assert_int_equal(c->n, 0);
  struct hls_profile p;
  profile_of_place(&p, place);
  msgpack_sbuffer body, out;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&out);
  assert_int_equal(hls_profile_pack(&body, &p), 0);
  assert_int_equal(hls_env_build(&out, HLS_ENV_PROFILE, c->k.sk, 1, NULL, ts, HLS_AUD_NETWORK,
                                 (const uint8_t *)body.data, body.size), 0);
  chain_push(c, blob_copy(out.data, out.size));
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&out);
}

/* A receipt of c confirming n entries (in receipt order). */
static void chain_add_receipt(struct chain *c, const struct hls_receipt_entry *entries, size_t n) {
  struct hls_receipt r = {.n_entries = n, .entries = (struct hls_receipt_entry *)(uintptr_t)entries};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_receipt_pack(&body, &r), 0);
  chain_add(c, HLS_ENV_RECEIPT, HLS_AUD_NETWORK, &body);
  msgpack_sbuffer_destroy(&body);
}

static bool owe(struct fixture *fx, const struct chain *c, uint64_t seq, int64_t tombstone_ms) {
  struct hls_why why = {{0}};
  bool owed = true;
  ASSERT_OK(hls_gstore_erase(fx->gs, c->k.pk, seq, tombstone_ms, NOW_MS, &owed, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  return owed;
}

static size_t pending(struct fixture *fx, struct hls_receipt_entry *out, size_t max, bool *more) {
  struct hls_why why = {{0}};
  size_t n = 0;
  ASSERT_OK(hls_store_receipts_pending(fx->store, out, max, &n, more, &why));
  return n;
}

/* What this node owes other origins when their tombstones erase bodies
 * here: erased for a body held, never_held for a stub (unless the
 * tombstone is older than this node's first profile: it joined after the
 * erasure), nothing for its own items, nothing twice; pending entries
 * survive a restart, in receipt order, and leave the list once sent. */
static void test_receipts_owed(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain me, x, y;
  chain_init(&me, 20);
  chain_init(&x, 21);
  chain_init(&y, 22);
  chain_add_profile(&me, "Self");
  chain_add_story(&me, HLS_AUD_NETWORK, 0);
  chain_add_profile(&x, "Xray");
  chain_add_story(&x, HLS_AUD_NETWORK, 0);  /* 2: held */
  chain_add_story(&x, HLS_AUD_PEERS, 0);    /* 3: a stub here */
  chain_add_digest(&x, 10);                 /* 4: held */
  chain_add_story(&x, HLS_AUD_PEERS, 1);    /* 5: a stub, erased by an old tombstone */
  chain_add_profile(&y, "Yankee");
  chain_add_story(&y, HLS_AUD_NETWORK, 0);
  ASSERT_OK(hls_store_claim(fx->store, me.k.pk, &why));
  ASSERT_OK(put_run(fx, &me, 1, 2, NULL, &why));
  int states[] = {HLS_BODY_HELD, HLS_BODY_HELD, HLS_BODY_STUB, HLS_BODY_HELD, HLS_BODY_STUB};
  ASSERT_OK(put_run(fx, &x, 1, 5, states, &why));
  ASSERT_OK(put_run(fx, &y, 1, 2, NULL, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));
  int64_t joined = (int64_t)CHAIN_TS0 + 1000; /* me's first profile */

  assert_true(owe(fx, &x, 2, joined + 5000));
  assert_true(owe(fx, &x, 3, joined));       /* a stub, erased when this node was a member: never held */
  assert_false(owe(fx, &x, 5, joined - 1));  /* a stub, erased before this node joined: nothing to confirm */
  assert_true(owe(fx, &x, 4, joined + 6000));
  assert_false(owe(fx, &x, 2, joined + 7000)); /* erased already */
  assert_false(owe(fx, &me, 2, joined + 8000)); /* this node's own */
  assert_true(owe(fx, &y, 2, joined + 9000));
  assert_item(fx, &x, 5, HLS_BODY_ERASED); /* erased all the same */

  /* A restart keeps what is owed. */
  hls_gstore_free(fx->gs);
  fx->gs = NULL;
  hls_store_free(fx->store);
  fx->store = NULL;
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  ASSERT_OK(hls_gstore_open(&fx->gs, fx->store, &why));

  struct hls_receipt_entry got[8];
  bool more = true;
  assert_int_equal(pending(fx, got, 8, &more), 4);
  assert_false(more);
  const struct chain *lo = memcmp(x.k.pk, y.k.pk, 32) < 0 ? &x : &y, *hi = lo == &x ? &y : &x;
  struct hls_receipt_entry want[4];
  size_t k = 0;
  if (lo == &x) {
    want[k++] = (struct hls_receipt_entry){.target_seq = 2, .state = HLS_RECEIPT_ERASED};
    want[k++] = (struct hls_receipt_entry){.target_seq = 3, .state = HLS_RECEIPT_NEVER_HELD};
    want[k++] = (struct hls_receipt_entry){.target_seq = 4, .state = HLS_RECEIPT_ERASED};
    want[k++] = (struct hls_receipt_entry){.target_seq = 2, .state = HLS_RECEIPT_ERASED};
  } else {
    want[k++] = (struct hls_receipt_entry){.target_seq = 2, .state = HLS_RECEIPT_ERASED};
    want[k++] = (struct hls_receipt_entry){.target_seq = 2, .state = HLS_RECEIPT_ERASED};
    want[k++] = (struct hls_receipt_entry){.target_seq = 3, .state = HLS_RECEIPT_NEVER_HELD};
    want[k++] = (struct hls_receipt_entry){.target_seq = 4, .state = HLS_RECEIPT_ERASED};
  }
  for (size_t i = 0; i < 4; i++) {
    bool first_origin = lo == &x ? i < 3 : i < 1;
    memcpy(want[i].origin, first_origin ? lo->k.pk : hi->k.pk, 32);
    assert_memory_equal(got[i].origin, want[i].origin, 32);
    assert_int_equal(got[i].target_seq, want[i].target_seq);
    assert_int_equal(got[i].state, want[i].state);
  }
  /* In pieces: the first two, then the rest. */
  assert_int_equal(pending(fx, got, 2, &more), 2);
  assert_true(more);
  struct hls_receipt r = {.n_entries = 2, .entries = got};
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  ASSERT_OK(hls_receipt_pack(&body, &r)); /* in receipt order, as listed */
  msgpack_sbuffer_destroy(&body);
  ASSERT_OK(hls_store_receipts_sent(fx->store, &r, 3, NOW_MS, &why));
  assert_int_equal(pending(fx, got, 8, &more), 2);
  assert_false(more);
  assert_memory_equal(got[0].origin, want[2].origin, 32);
  assert_int_equal(got[0].target_seq, want[2].target_seq);
  r.n_entries = 2;
  ASSERT_OK(hls_store_receipts_sent(fx->store, &r, 4, NOW_MS, &why));
  assert_int_equal(pending(fx, got, 8, &more), 0);
  /* Owed once: erasing again notes nothing new. */
  assert_false(owe(fx, &x, 3, joined + 10000));
  assert_int_equal(pending(fx, got, 8, &more), 0);
  /* A restored store takes its own receipts back before the tombstones
   * come again: what they carried is never owed a second time. */
  struct chain z;
  chain_init(&z, 23);
  chain_add_profile(&z, "Zulu");
  chain_add_story(&z, HLS_AUD_NETWORK, 0);
  ASSERT_OK(put_run(fx, &z, 1, 2, NULL, &why));
  struct hls_receipt_entry zr = {.target_seq = 2, .state = HLS_RECEIPT_ERASED};
  memcpy(zr.origin, z.k.pk, 32);
  struct hls_receipt adopted = {.n_entries = 1, .entries = &zr};
  ASSERT_OK(hls_store_receipts_sent(fx->store, &adopted, 5, NOW_MS, &why));
  assert_false(owe(fx, &z, 2, joined + 11000));
  assert_int_equal(pending(fx, got, 8, &more), 0);
  chain_free(&z);
  chain_free(&me);
  chain_free(&x);
  chain_free(&y);
}

/* The origin's side: receipts naming this node's own items are indexed
 * as they are stored (entries about other origins are not), and the
 * listing puts them beside the places expected to confirm: members whose
 * first profile is older than the tombstone, or the direct peers for a
 * peers item; a place that confirmed unasked is listed, not expected. */
struct place_list {
  struct hls_receipt_place p[8];
  size_t n;
};

static int collect_place(void *ctx, const struct hls_receipt_place *p) {
  struct place_list *l = ctx;
  assert_true(l->n < 8);
  l->p[l->n++] = *p;
  return 0;
}

static const struct hls_receipt_place *place_of(const struct place_list *l, const struct chain *c) {
  for (size_t i = 0; i < l->n; i++)
    if (memcmp(l->p[i].node_id, c->k.pk, 32) == 0) return &l->p[i];
  return NULL;
}

static void test_receipts_indexed_and_listed(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct chain me, h, x, late;
  chain_init(&me, 30);
  chain_init(&h, 31);
  chain_init(&x, 32);
  chain_init(&late, 33);
  chain_add_profile(&me, "Mike");
  chain_add_story(&me, HLS_AUD_NETWORK, 0); /* 2 */
  chain_add_tombstone(&me, 2);              /* 3, at CHAIN_TS0 + 3 s */
  int64_t tomb_ms = (int64_t)CHAIN_TS0 + 3000;
  chain_add_profile(&h, "Hotel");
  chain_add_profile(&x, "Xray");
  chain_add_first_profile_at(&late, "Lima", (uint64_t)tomb_ms + 1); /* joined after the erasure */
  struct hls_receipt_entry e[2];
  memset(e, 0, sizeof e);
  const struct chain *a = memcmp(me.k.pk, x.k.pk, 32) < 0 ? &me : &x, *b = a == &me ? &x : &me;
  memcpy(e[0].origin, a->k.pk, 32);
  e[0].target_seq = 2;
  memcpy(e[1].origin, b->k.pk, 32);
  e[1].target_seq = 2;
  if (b == &x) e[1].target_seq = 7;
  else e[0].target_seq = 7; /* x's item 7; me's item 2 */
  e[1].state = HLS_RECEIPT_NEVER_HELD;
  chain_add_receipt(&h, e, 2); /* h: seq 2, erased or never held me's 2, and x's 2 */
  struct hls_receipt_entry one = {.target_seq = 2, .state = HLS_RECEIPT_NEVER_HELD};
  memcpy(one.origin, me.k.pk, 32);
  chain_add_receipt(&late, &one, 1);
  ASSERT_OK(hls_store_claim(fx->store, me.k.pk, &why));
  ASSERT_OK(put_run(fx, &me, 1, 3, NULL, &why));
  ASSERT_OK(put_run(fx, &h, 1, 2, NULL, &why));
  ASSERT_OK(put_run(fx, &x, 1, 1, NULL, &why));
  ASSERT_OK(put_run(fx, &late, 1, 2, NULL, &why));
  ASSERT_OK(hls_store_defer_commit(fx->store, &why));

  struct place_list l = {0};
  ASSERT_OK(hls_store_receipt_places(fx->store, me.k.pk, 2, HLS_AUD_NETWORK, tomb_ms, collect_place, &l, &why));
  assert_int_equal(l.n, 3);
  /* by place name: Hotel, Lima, Xray */
  assert_string_equal(l.p[0].place, "Hotel");
  assert_string_equal(l.p[1].place, "Lima");
  assert_string_equal(l.p[2].place, "Xray");
  const struct hls_receipt_place *p = place_of(&l, &h);
  bool me_first = a == &me;
  assert_true(p->expected && p->has_place);
  assert_int_equal(p->state, me_first ? HLS_RECEIPT_ERASED : HLS_RECEIPT_NEVER_HELD);
  assert_int_equal(p->receipt_seq, 2);
  assert_int_equal(p->receipt_ms, (int64_t)CHAIN_TS0 + 2000);
  p = place_of(&l, &x);
  assert_true(p->expected);
  assert_int_equal(p->state, -1); /* not yet */
  p = place_of(&l, &late);
  assert_false(p->expected);
  assert_int_equal(p->state, HLS_RECEIPT_NEVER_HELD);
  assert_null(place_of(&l, &me));

  /* A peers item: the direct peers are expected, and only they. */
  struct hls_peer_row peer = {.admin = 1, .added_ms = 1};
  memcpy(peer.node_id, x.k.pk, 32);
  ASSERT_OK(hls_store_peer_put(fx->store, &peer, &why));
  uint8_t stranger[32] = {0xee};
  memcpy(peer.node_id, stranger, 32);
  ASSERT_OK(hls_store_peer_put(fx->store, &peer, &why));
  memcpy(peer.node_id, h.k.pk, 32);
  peer.blocked = 1;
  ASSERT_OK(hls_store_peer_put(fx->store, &peer, &why));
  memset(&l, 0, sizeof l);
  ASSERT_OK(hls_store_receipt_places(fx->store, me.k.pk, 2, HLS_AUD_PEERS, tomb_ms, collect_place, &l, &why));
  assert_int_equal(l.n, 4);
  assert_true(place_of(&l, &x)->expected);
  assert_false(place_of(&l, &h)->expected); /* blocked: listed for its receipt only */
  assert_false(place_of(&l, &late)->expected);
  assert_false(l.p[3].has_place); /* the stranger: no profile held, listed last */
  assert_true(l.p[3].expected);
  assert_int_equal(l.p[3].state, -1);
  /* Receipts about other origins' items are not indexed: h's entry for
   * x's item 7 says nothing of this node's item 7. */
  memset(&l, 0, sizeof l);
  ASSERT_OK(hls_store_receipt_places(fx->store, me.k.pk, 7, HLS_AUD_NETWORK, tomb_ms, collect_place, &l, &why));
  assert_int_equal(l.n, 2);
  assert_int_equal(place_of(&l, &h)->state, -1);
  assert_int_equal(place_of(&l, &x)->state, -1);
  chain_free(&me);
  chain_free(&h);
  chain_free(&x);
  chain_free(&late);
}

/* --- open --------------------------------------------------------------------- */

/* A store without the tables gstore needs fails to open with the store's
 * error and gives nothing back; free(NULL) is a no-op. */
static void test_open_fails_cleanly(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  hls_gstore_free(fx->gs);
  fx->gs = NULL;
  hls_gstore_free(NULL);
  assert_int_equal(sqlite3_exec(hls_store_db(fx->store), "DROP TABLE forks", NULL, NULL, NULL), SQLITE_OK);
  struct hls_gstore *gs = (struct hls_gstore *)&why; /* not NULL: open must clear it */
  assert_int_equal(hls_gstore_open(&gs, fx->store, &why), HLS_ESTORE);
  assert_null(gs);
  assert_non_null(strstr(why.text, "forks"));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get_several_origins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_reported_row, setup, teardown),
      cmocka_unit_test_setup_teardown(test_get_views_last_until_next_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stubs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_body_only_fills_stubs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tombstone_erases_and_body_stays_gone, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_run_all_or_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forks_kept_as_evidence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_each_origin_heads_and_profiles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_store_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_lost_is_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_each_origin_read_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_fails_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_receipts_owed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_receipts_indexed_and_listed, setup, teardown),
  };
  return cmocka_run_group_tests_name("gstore", tests, NULL, NULL);
}
