/* Unit tests for daemon/summarise.c: what this node publishes from its
 * records and their consent. Each test runs the real pipeline on a real
 * store in its own temporary directory, with a fixed identity and a fake
 * clock (ctx.today and ctx.now_ms are set explicitly; nothing reads the
 * real clock). After every reconcile the whole chain is decoded and
 * checked: every item verifies, links to the one before, seq 1 is the
 * profile, and no digest shows a person-scale count the disclosure method
 * forbids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <dirent.h>
#include <msgpack.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disclosure.h"
#include "envelope.h"
#include "home.h"
#include "log.h"
#include "mp.h"
#include "record.h"
#include "store.h"
#include "summarise.h"

#define DAY_MS 86400000LL

/* Fails the test naming the call, the error and the detail in fx->why. */
#define OK(expr)                                                                          \
  do {                                                                                    \
    int ok_rc_ = (expr);                                                                  \
    if (ok_rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(ok_rc_), fx->why.text); \
  } while (0)

#define EXPECT_RES(r, p, d, s, t)           \
  do {                                      \
    assert_int_equal((r).profiles, (p));    \
    assert_int_equal((r).digests, (d));     \
    assert_int_equal((r).stories, (s));     \
    assert_int_equal((r).tombstones, (t));  \
  } while (0)

#define CELL_ABSENT (-2)
#define CELL_WITHHELD (-1)

struct fixture {
  char dir[64];
  char db_path[128];
  struct hls_store *store;
  struct hls_identity id;
  struct hls_profile profile;
  struct hls_summarise_ctx ctx;
  struct hls_why why;
  hls_day w0; /* Monday of 2026-W10, the first week of every test */
};

/* --- fixture ------------------------------------------------------------------- */

static void remove_dir(const char *dir) { test_remove_tree(dir); }

static void set_today(struct fixture *fx, hls_day day) {
  fx->ctx.today = day;
  fx->ctx.now_ms = (int64_t)day * DAY_MS + 10 * 3600 * 1000LL;
}

static int setup(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-summarise-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->db_path, sizeof fx->db_path, "%s/hlsd.db", fx->dir);
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->db_path, &opt, &fx->why) != 0) {
    fprintf(stderr, "open: %s\n", fx->why.text);
    remove_dir(fx->dir);
    free(fx);
    return -1;
  }
  uint8_t seed[32];
  memset(seed, 0x5a, sizeof seed);
  if (crypto_sign_seed_keypair(fx->id.public_key, fx->id.secret_key, seed) != 0) return -1;
  snprintf(fx->profile.place, sizeof fx->profile.place, "%s", "Gateshead");
  snprintf(fx->profile.region, sizeof fx->profile.region, "%s", "North East");
  fx->profile.role = HLS_PROFILE_PLACE;
  fx->profile.n_addresses = 1;
  snprintf(fx->profile.addresses[0], sizeof fx->profile.addresses[0], "%s", "192.0.2.10:7400");
  if (hls_iso_week_monday(2026, 10, &fx->w0) != 0) return -1;
  fx->ctx.store = fx->store;
  fx->ctx.identity = &fx->id;
  fx->ctx.method.threshold = 10;
  fx->ctx.method.rounding = 5;
  fx->ctx.profile = &fx->profile;
  set_today(fx, fx->w0);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_store_free(fx->store);
  remove_dir(fx->dir);
  free(fx);
  return 0;
}

/* Day dow (0 = Monday) of week w after the first week. */
static hls_day day_of(const struct fixture *fx, int w, int dow) { return fx->w0 + 7 * w + dow; }

/* --- records and decisions --------------------------------------------------- */

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

static void make_record(struct fixture *fx, struct hls_record *r, hls_day day, enum hls_scale scale,
                        enum hls_consent consent, const char *theme) {
  char title[128];
  hls_record_init(r);
  snprintf(title, sizeof title, "Record on %s", theme);
  r->title = xstrdup(title);
  r->scale = scale;
  r->stage = HLS_STAGE_EXPERIMENT;
  r->has_scale = r->has_stage = true;
  r->date = day;
  r->has_date = true;
  r->tried = xstrdup("A weekly drop-in");
  r->learnt = xstrdup("People came back");
  r->consent = consent;
  if (consent > HLS_CONSENT_PRIVATE) r->consent_by = xstrdup("service manager");
  r->n_themes = 1;
  snprintf(r->themes[0].slug, sizeof r->themes[0].slug, "%s", theme);
  r->themes[0].kind = HLS_KIND_PROBLEM;
  OK(hls_record_validate(r, &fx->why));
}

static int64_t insert_record(struct fixture *fx, struct hls_record *r) {
  OK(hls_store_record_insert(fx->store, r, fx->ctx.now_ms, &fx->why));
  int64_t id = r->id;
  hls_record_clear(r);
  return id;
}

static int64_t add_record(struct fixture *fx, hls_day day, enum hls_scale scale, enum hls_consent consent,
                          const char *theme) {
  struct hls_record r;
  make_record(fx, &r, day, scale, consent, theme);
  return insert_record(fx, &r);
}

static void add_records(struct fixture *fx, int n, hls_day day, enum hls_scale scale, enum hls_consent consent,
                        const char *theme) {
  for (int i = 0; i < n; i++) add_record(fx, day, scale, consent, theme);
}

static int64_t add_expiring(struct fixture *fx, hls_day day, enum hls_scale scale, enum hls_consent consent,
                            const char *theme, hls_day expires) {
  struct hls_record r;
  make_record(fx, &r, day, scale, consent, theme);
  r.has_consent_expires = true;
  r.consent_expires = expires;
  return insert_record(fx, &r);
}

static void load_record(struct fixture *fx, int64_t id, struct hls_record *r) {
  hls_record_init(r);
  OK(hls_store_record_get(fx->store, id, r, &fx->why));
}

static void save_record(struct fixture *fx, struct hls_record *r) {
  OK(hls_record_validate(r, &fx->why));
  OK(hls_store_record_update(fx->store, r, fx->ctx.now_ms, &fx->why));
  hls_record_clear(r);
}

/* Consent set the way the control API does it (given now: not ended). */
static void set_consent(struct fixture *fx, int64_t id, enum hls_consent consent) {
  struct hls_record r;
  load_record(fx, id, &r);
  r.consent = consent;
  r.consent_ended = HLS_CONSENT_CURRENT;
  if (consent > HLS_CONSENT_PRIVATE && r.consent_by == NULL) r.consent_by = xstrdup("service manager");
  save_record(fx, &r);
}

static void withdraw(struct fixture *fx, int64_t id) {
  struct hls_record r;
  load_record(fx, id, &r);
  r.consent = HLS_CONSENT_PRIVATE;
  r.consent_ended = HLS_CONSENT_WITHDRAWN;
  save_record(fx, &r);
}

static void set_tried(struct fixture *fx, int64_t id, const char *tried) {
  struct hls_record r;
  load_record(fx, id, &r);
  free(r.tried);
  r.tried = xstrdup(tried);
  save_record(fx, &r);
}

/* The story hash of a record as if its consent were `as` (-1: as it is). */
static void story_hash(struct fixture *fx, int64_t id, int as, uint8_t hash[32], int *audience) {
  struct hls_record r;
  msgpack_sbuffer body;
  load_record(fx, id, &r);
  if (as >= 0) r.consent = (enum hls_consent)as;
  msgpack_sbuffer_init(&body);
  int rc = hls_summarise_story(&r, fx->ctx.today, &body, audience, hash);
  msgpack_sbuffer_destroy(&body);
  hls_record_clear(&r);
  OK(rc);
}

static void decide(struct fixture *fx, int64_t id, int state, int as) {
  struct hls_share sh;
  int audience = 0;
  memset(&sh, 0, sizeof sh);
  sh.record_id = id;
  sh.state = state;
  if (state == HLS_SHARE_APPROVED) {
    story_hash(fx, id, as, sh.approved_hash, &audience);
    sh.has_hash = true;
  }
  snprintf(sh.decided_by, sizeof sh.decided_by, "%s", "learning lead");
  sh.decided_ms = fx->ctx.now_ms;
  OK(hls_store_share_set(fx->store, &sh, &fx->why));
}

/* Approve the story of the record as it is now. */
static void approve(struct fixture *fx, int64_t id) { decide(fx, id, HLS_SHARE_APPROVED, -1); }
static void reject(struct fixture *fx, int64_t id) { decide(fx, id, HLS_SHARE_REJECTED, -1); }

/* The share state of a record, or -1 when no decision is stored. */
static int share_state(struct fixture *fx, int64_t id) {
  struct hls_share sh;
  int rc = hls_store_share_get(fx->store, id, &sh, &fx->why);
  if (rc == HLS_ENOTFOUND) return -1;
  OK(rc);
  return sh.state;
}

/* --- the published table -------------------------------------------------------- */

struct pub_vec {
  struct hls_published *items;
  size_t n, cap;
};

static int pub_collect(void *arg, const struct hls_published *p) {
  struct pub_vec *v = arg;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 32;
    struct hls_published *q = realloc(v->items, cap * sizeof *q);
    if (q == NULL) return HLS_ENOMEM;
    v->items = q;
    v->cap = cap;
  }
  v->items[v->n++] = *p;
  return 0;
}

static void pubs_load(struct fixture *fx, struct pub_vec *v) {
  memset(v, 0, sizeof *v);
  OK(hls_store_published_list(fx->store, false, 0, pub_collect, v, &fx->why));
}

static size_t pub_count(struct fixture *fx) {
  struct pub_vec v;
  pubs_load(fx, &v);
  size_t n = v.n;
  free(v.items);
  return n;
}

static struct hls_published pub_get(struct fixture *fx, uint64_t seq) {
  struct pub_vec v;
  struct hls_published out;
  bool found = false;
  memset(&out, 0, sizeof out);
  pubs_load(fx, &v);
  for (size_t i = 0; i < v.n; i++)
    if (v.items[i].seq == seq) {
      out = v.items[i];
      found = true;
    }
  free(v.items);
  if (!found) fail_msg("no publication with seq %llu", (unsigned long long)seq);
  return out;
}

/* Live stories of a record (0: of any record); *last gets the newest. */
static size_t live_stories(struct fixture *fx, int64_t record_id, struct hls_published *last) {
  struct pub_vec v;
  memset(&v, 0, sizeof v);
  OK(hls_store_published_live_stories(fx->store, pub_collect, &v, &fx->why));
  size_t n = 0;
  for (size_t i = 0; i < v.n; i++) {
    if (record_id != 0 && v.items[i].record_id != record_id) continue;
    n++;
    if (last != NULL) *last = v.items[i];
  }
  free(v.items);
  return n;
}

/* Every publication (current or not) that is a story of the record. */
static size_t stories_ever(struct fixture *fx, int64_t record_id) {
  struct pub_vec v;
  pubs_load(fx, &v);
  size_t n = 0;
  for (size_t i = 0; i < v.n; i++)
    if (v.items[i].type == HLS_ENV_STORY && v.items[i].record_id == record_id) n++;
  free(v.items);
  return n;
}

static uint64_t chain_head(struct fixture *fx) {
  uint64_t seq;
  uint8_t id[32];
  OK(hls_store_chain_head(fx->store, fx->id.public_key, &seq, id, &fx->why));
  return seq;
}

/* --- items ------------------------------------------------------------------------- */

static void item_load(struct fixture *fx, uint64_t seq, struct hls_item *it) {
  OK(hls_store_item_get(fx->store, fx->id.public_key, seq, it, &fx->why));
}

static void story_of(struct fixture *fx, uint64_t seq, struct hls_story *s) {
  struct hls_item it;
  item_load(fx, seq, &it);
  assert_int_equal(it.type, HLS_ENV_STORY);
  assert_non_null(it.body);
  int rc = hls_story_decode(s, it.body, it.body_len, &fx->why);
  hls_item_clear(&it);
  OK(rc);
}

static void tombstone_of(struct fixture *fx, uint64_t seq, struct hls_tombstone *t) {
  struct hls_item it;
  item_load(fx, seq, &it);
  assert_int_equal(it.type, HLS_ENV_TOMBSTONE);
  assert_int_equal(it.audience, HLS_AUD_NETWORK);
  assert_non_null(it.body);
  int rc = hls_tombstone_decode(t, it.body, it.body_len, &fx->why);
  hls_item_clear(&it);
  OK(rc);
}

static void assert_body_held(struct fixture *fx, uint64_t seq) {
  struct hls_item it;
  item_load(fx, seq, &it);
  assert_int_equal(it.body_state, HLS_BODY_HELD);
  assert_non_null(it.body);
  hls_item_clear(&it);
}

/* The story at story_seq was erased by a tombstone with this reason: the
 * tombstone is on the chain and in the published table, the story's body
 * is gone but its stub is kept. Returns the tombstone's seq. */
static uint64_t assert_tombstoned(struct fixture *fx, uint64_t story_seq, int reason) {
  struct hls_published story = pub_get(fx, story_seq);
  assert_int_equal(story.type, HLS_ENV_STORY);
  assert_true(story.erased_by > story_seq);
  struct hls_published tomb = pub_get(fx, story.erased_by);
  assert_int_equal(tomb.type, HLS_ENV_TOMBSTONE);
  assert_int_equal(tomb.target_seq, story_seq);
  assert_int_equal(tomb.reason, reason);
  assert_int_equal(tomb.record_id, story.record_id);
  struct hls_tombstone t;
  tombstone_of(fx, story.erased_by, &t);
  assert_int_equal(t.target_seq, story_seq);
  assert_int_equal(t.reason, reason);
  struct hls_item it;
  item_load(fx, story_seq, &it);
  assert_int_equal(it.body_state, HLS_BODY_ERASED);
  assert_null(it.body);
  assert_non_null(it.stub);
  assert_true(it.stub_len > 0);
  hls_item_clear(&it);
  return story.erased_by;
}

/* --- digests ------------------------------------------------------------------------ */

/* The current digest of the week holding day; false if there is none. */
static bool digest_of(struct fixture *fx, hls_day day, struct hls_digest *d, uint64_t *seq) {
  int y, w;
  struct hls_published p;
  hls_iso_week(day, &y, &w);
  memset(d, 0, sizeof *d);
  int rc = hls_store_published_current(fx->store, HLS_ENV_DIGEST, y, w, &p, &fx->why);
  if (rc == HLS_ENOTFOUND) return false;
  OK(rc);
  assert_int_equal(p.superseded_by, 0);
  struct hls_item it;
  item_load(fx, p.seq, &it);
  assert_int_equal(it.type, HLS_ENV_DIGEST);
  assert_non_null(it.body);
  rc = hls_digest_decode(d, it.body, it.body_len, &fx->why);
  hls_item_clear(&it);
  OK(rc);
  assert_int_equal(d->iso_year, y);
  assert_int_equal(d->iso_week, w);
  if (seq != NULL) *seq = p.seq;
  return true;
}

/* The published count of a cell (kind problem), CELL_WITHHELD or CELL_ABSENT. */
static long cell_value(const struct hls_digest *d, const char *theme, int scale, int stage) {
  for (size_t i = 0; i < d->n_cells; i++) {
    const struct hls_digest_cell *c = &d->cells[i];
    if (strcmp(c->theme, theme) == 0 && c->kind == HLS_KIND_PROBLEM && c->scale == scale && c->stage == stage)
      return c->withheld ? CELL_WITHHELD : (long)c->count;
  }
  return CELL_ABSENT;
}

static long cell_of(const struct hls_digest *d, const char *theme, int scale) {
  return cell_value(d, theme, scale, HLS_STAGE_EXPERIMENT);
}

/* --- whole-chain checks --------------------------------------------------------------- */

/* Every item of the chain is a valid envelope signed by the identity,
 * linked to the one before, matches its published row, and seq 1 is the
 * profile. */
static void check_chain(struct fixture *fx) {
  uint64_t n;
  uint8_t head_id[32];
  OK(hls_store_chain_head(fx->store, fx->id.public_key, &n, head_id, &fx->why));
  struct pub_vec pubs;
  pubs_load(fx, &pubs);
  assert_int_equal(pubs.n, n);
  uint8_t *prev_bytes = NULL;
  struct hls_envelope prev;
  memset(&prev, 0, sizeof prev);
  for (uint64_t seq = 1; seq <= n; seq++) {
    struct hls_item it;
    item_load(fx, seq, &it);
    assert_non_null(it.stub);
    assert_true(it.stub_len > 1);
    assert_int_equal(it.stub[it.stub_len - 1], 0xc0); /* [header, sig, nil] */
    size_t len = it.body ? it.stub_len - 1 + it.body_len : it.stub_len;
    uint8_t *bytes = malloc(len);
    assert_non_null(bytes);
    memcpy(bytes, it.stub, it.body ? it.stub_len - 1 : it.stub_len);
    if (it.body) memcpy(bytes + it.stub_len - 1, it.body, it.body_len);
    struct hls_envelope env;
    OK(hls_env_decode(&env, bytes, len, &fx->why));
    assert_int_equal(hls_env_verify(&env), 0);
    assert_memory_equal(env.h.origin, fx->id.public_key, 32);
    assert_int_equal(env.h.seq, seq);
    assert_int_equal(env.h.type, it.type);
    assert_int_equal(env.h.audience, it.audience);
    assert_memory_equal(env.id, it.item_id, 32);
    if (seq == 1) {
      assert_int_equal(env.h.type, HLS_ENV_PROFILE);
      assert_false(env.h.has_prev);
    } else {
      assert_int_equal(hls_env_check_link(&prev, &env), 0);
    }
    const struct hls_published *p = &pubs.items[seq - 1];
    assert_int_equal(p->seq, seq);
    assert_int_equal(p->type, it.type);
    assert_int_equal(p->audience, it.audience);
    /* Only stories are ever erased, and exactly the tombstoned ones. */
    if (it.body == NULL) {
      assert_int_equal(it.body_state, HLS_BODY_ERASED);
      assert_int_equal(it.type, HLS_ENV_STORY);
      assert_true(p->erased_by != 0);
    } else {
      assert_int_equal(it.body_state, HLS_BODY_HELD);
      assert_int_equal(p->erased_by, 0);
    }
    free(prev_bytes);
    prev_bytes = bytes;
    prev = env;
    hls_item_clear(&it);
  }
  if (n > 0) assert_memory_equal(prev.id, head_id, 32);
  free(prev_bytes);
  free(pubs.items);
}

/* No digest ever published shows a person-scale count below the threshold
 * or off the rounding grid; counts at other scales are never withheld. */
static void check_disclosure(struct fixture *fx) {
  struct pub_vec pubs;
  pubs_load(fx, &pubs);
  for (size_t i = 0; i < pubs.n; i++) {
    if (pubs.items[i].type != HLS_ENV_DIGEST) continue;
    struct hls_item it;
    struct hls_digest d;
    item_load(fx, pubs.items[i].seq, &it);
    assert_non_null(it.body);
    OK(hls_digest_decode(&d, it.body, it.body_len, &fx->why));
    assert_int_equal(d.method.threshold, fx->ctx.method.threshold);
    assert_int_equal(d.method.rounding, fx->ctx.method.rounding);
    for (size_t c = 0; c < d.n_cells; c++) {
      const struct hls_digest_cell *cell = &d.cells[c];
      if (cell->scale == HLS_SCALE_PERSON) {
        if (!cell->withheld) {
          assert_int_equal(cell->count % fx->ctx.method.rounding, 0);
          assert_true(cell->count >= fx->ctx.method.threshold);
        }
      } else {
        assert_false(cell->withheld);
      }
    }
    hls_digest_free(&d);
    hls_item_clear(&it);
  }
  free(pubs.items);
}

static int reconcile_rc(struct fixture *fx, struct hls_summarise_result *res) {
  struct hls_dirty all = {.all = true};
  return hls_summarise_reconcile(&fx->ctx, &all, res, &fx->why);
}

static struct hls_summarise_result reconcile(struct fixture *fx) {
  struct hls_summarise_result res;
  OK(reconcile_rc(fx, &res));
  check_chain(fx);
  check_disclosure(fx);
  return res;
}

/* Reconcile looking only at the listed weeks (as the daemon does when it
 * knows what changed). */
static struct hls_summarise_result reconcile_weeks(struct fixture *fx, size_t n, int *weeks) {
  struct hls_dirty dirty = {.all = false, .n = n, .weeks = weeks};
  struct hls_summarise_result res;
  OK(hls_summarise_reconcile(&fx->ctx, &dirty, &res, &fx->why));
  check_chain(fx);
  check_disclosure(fx);
  return res;
}

/* --- preview and review output ---------------------------------------------------------- */

struct packed {
  msgpack_sbuffer sb;
  struct hls_mp_tree tree;
  bool decoded;
};

static void packed_free(struct packed *p) {
  if (p->decoded) hls_mp_tree_free(&p->tree);
  msgpack_sbuffer_destroy(&p->sb);
  memset(p, 0, sizeof *p);
}

static const struct hls_mp_value *run_packer(struct fixture *fx, struct packed *p, bool review) {
  msgpack_packer pk;
  memset(p, 0, sizeof *p);
  msgpack_sbuffer_init(&p->sb);
  msgpack_packer_init(&pk, &p->sb, msgpack_sbuffer_write);
  if (review) OK(hls_summarise_review(&fx->ctx, &pk, &fx->why));
  else OK(hls_summarise_preview(&fx->ctx, &pk, &fx->why));
  OK(hls_mp_tree_decode(&p->tree, p->sb.data, p->sb.size, false, 1u << 20, &fx->why));
  p->decoded = true;
  return &p->tree.root;
}

static int64_t mp_int(const struct hls_mp_value *v) {
  assert_non_null(v);
  if (v->type == HLS_MP_UINT) return (int64_t)v->v.u;
  if (v->type == HLS_MP_INT) return v->v.i;
  fail_msg("not an integer (type %d)", (int)v->type);
  return 0;
}

static bool mp_nil(const struct hls_mp_value *v) { return v != NULL && v->type == HLS_MP_NIL; }

static const struct hls_mp_value *mp_array(const struct hls_mp_value *m, const char *key) {
  const struct hls_mp_value *v = key ? hls_mp_get(m, key) : m;
  assert_non_null(v);
  assert_int_equal(v->type, HLS_MP_ARRAY);
  return v;
}

/* The entries of a story listing about a record. */
static size_t entries_of(const struct hls_mp_value *arr, int64_t record, const struct hls_mp_value **last) {
  size_t n = 0;
  for (uint32_t i = 0; i < arr->len; i++)
    if (mp_int(hls_mp_get(&arr->v.items[i], "record")) == record) {
      n++;
      if (last) *last = &arr->v.items[i];
    }
  return n;
}

static const struct hls_mp_value *entry_in_state(const struct hls_mp_value *arr, int64_t record, const char *state) {
  for (uint32_t i = 0; i < arr->len; i++) {
    const struct hls_mp_value *e = &arr->v.items[i];
    if (mp_int(hls_mp_get(e, "record")) == record && hls_mp_str_eq(hls_mp_get(e, "state"), state)) return e;
  }
  fail_msg("no entry for record %lld in state %s", (long long)record, state);
  return NULL;
}

static const struct hls_mp_value *digest_entry(const struct hls_mp_value *arr, hls_day day) {
  int y, w;
  char label[9];
  hls_iso_week(day, &y, &w);
  hls_iso_week_format(y, w, label);
  for (uint32_t i = 0; i < arr->len; i++)
    if (hls_mp_str_eq(hls_mp_get(&arr->v.items[i], "week"), label)) return &arr->v.items[i];
  return NULL;
}

/* --- 1. consent ---------------------------------------------------------------------------- */

static void test_consent_matrix(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 2);
  int64_t priv = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PRIVATE, "private-theme");
  int64_t agg = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "aggregate-theme");
  int64_t peers = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "peers-theme");
  int64_t net = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "network-theme");
  int64_t waiting = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "waiting-theme");
  int64_t other = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "other-audience");

  /* Neither private nor aggregate consent allows a story at all. */
  struct hls_record r;
  msgpack_sbuffer body;
  uint8_t hash[32];
  int audience;
  for (int i = 0; i < 2; i++) {
    load_record(fx, i == 0 ? priv : agg, &r);
    msgpack_sbuffer_init(&body);
    assert_int_equal(hls_summarise_story(&r, fx->ctx.today, &body, &audience, hash), HLS_ECONSENT);
    msgpack_sbuffer_destroy(&body);
    hls_record_clear(&r);
  }
  /* Share rows that say approved anyway (as if consent had been peers when
   * a person approved), and an approval of the story for another audience. */
  decide(fx, priv, HLS_SHARE_APPROVED, HLS_CONSENT_PEERS);
  decide(fx, agg, HLS_SHARE_APPROVED, HLS_CONSENT_NETWORK);
  decide(fx, other, HLS_SHARE_APPROVED, HLS_CONSENT_PEERS);

  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  assert_int_equal(live_stories(fx, 0, NULL), 0);

  struct hls_digest d;
  assert_true(digest_of(fx, day, &d, NULL));
  assert_int_equal(d.n_cells, 5);
  assert_int_equal(cell_of(&d, "private-theme", HLS_SCALE_ORGANISATION), CELL_ABSENT);
  assert_int_equal(cell_of(&d, "aggregate-theme", HLS_SCALE_ORGANISATION), 1);
  assert_int_equal(cell_of(&d, "peers-theme", HLS_SCALE_ORGANISATION), 1);
  assert_int_equal(cell_of(&d, "network-theme", HLS_SCALE_ORGANISATION), 1);
  assert_int_equal(cell_of(&d, "waiting-theme", HLS_SCALE_ORGANISATION), 1);
  assert_int_equal(cell_of(&d, "other-audience", HLS_SCALE_ORGANISATION), 1);
  hls_digest_free(&d);

  approve(fx, peers);
  approve(fx, net);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 2, 0);
  assert_int_equal(live_stories(fx, 0, NULL), 2);
  assert_int_equal(stories_ever(fx, priv), 0);
  assert_int_equal(stories_ever(fx, agg), 0);
  assert_int_equal(stories_ever(fx, waiting), 0);
  assert_int_equal(stories_ever(fx, other), 0);
  /* An approval of other content is no approval: it waits for review. */
  assert_int_equal(share_state(fx, other), HLS_SHARE_PENDING);
  assert_int_equal(share_state(fx, waiting), -1);

  struct hls_published p;
  struct hls_item it;
  struct hls_story s;
  int y, w;
  hls_iso_week(day, &y, &w);
  for (int i = 0; i < 2; i++) {
    int64_t id = i == 0 ? peers : net;
    int aud = i == 0 ? HLS_AUD_PEERS : HLS_AUD_NETWORK;
    assert_int_equal(live_stories(fx, id, &p), 1);
    assert_int_equal(p.audience, aud);
    assert_true(p.has_content_hash);
    story_hash(fx, id, -1, hash, &audience);
    assert_int_equal(audience, aud);
    assert_memory_equal(p.content_hash, hash, 32);
    item_load(fx, p.seq, &it);
    assert_int_equal(it.audience, aud);
    hls_item_clear(&it);
    story_of(fx, p.seq, &s);
    assert_string_equal(s.title, i == 0 ? "Record on peers-theme" : "Record on network-theme");
    assert_string_equal(s.tried, "A weekly drop-in");
    assert_string_equal(s.learnt, "People came back");
    assert_int_equal(s.iso_year, y);
    assert_int_equal(s.iso_week, w);
    assert_int_equal(s.n_themes, 1);
    assert_int_equal(s.scale, HLS_SCALE_ORGANISATION);
    assert_int_equal(s.stage, HLS_STAGE_EXPERIMENT);
    hls_story_free(&s);
  }

  /* Nothing changed: nothing more. */
  uint64_t head = chain_head(fx);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(chain_head(fx), head);
}

/* Stories do not wait for the week to end; digests do. */
static void test_story_in_current_week(void **state) {
  struct fixture *fx = *state;
  int64_t id = add_record(fx, day_of(fx, 0, 1), HLS_SCALE_PERSON, HLS_CONSENT_NETWORK, "housing");
  approve(fx, id);
  set_today(fx, day_of(fx, 0, 3));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 1, 0);
  struct hls_digest d;
  assert_false(digest_of(fx, day_of(fx, 0, 1), &d, NULL));
}

/* --- 2. suppression -------------------------------------------------------------------------- */

/* hls-sdc-2 (what hlsd publishes): each person-scale cell is published
 * with the offset keyed by this node's identity; a re-issue of the week
 * publishes an unchanged cell the same; organisation counts stay exact. */
static void test_keyed_suppression(void **state) {
  struct fixture *fx = *state;
  fx->ctx.method.kind = HLS_SDC_KEYED;
  hls_day day = day_of(fx, 0, 2);
  int y, w;
  hls_iso_week(day, &y, &w);
  enum { THEMES = 26 };
  char themes[THEMES][16];
  for (int n = 0; n < THEMES; n++) {
    snprintf(themes[n], sizeof themes[n], "count-%d", n);
    add_records(fx, n, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, themes[n]);
  }
  add_records(fx, 12, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "organisation");
  set_today(fx, day_of(fx, 1, 2));
  reconcile(fx);
  uint8_t key[HLS_DISCLOSURE_KEY_BYTES];
  hls_disclosure_key(fx->id.secret_key, key);
  struct hls_digest d;
  assert_true(digest_of(fx, day, &d, NULL));
  assert_int_equal(d.method.kind, HLS_SDC_KEYED);
  size_t withheld = 0, published = 0;
  for (int n = 0; n < THEMES; n++) {
    uint32_t o = hls_disclosure_offset(key, y, w, themes[n], HLS_KIND_PROBLEM, HLS_SCALE_PERSON,
                                       HLS_STAGE_EXPERIMENT, 5);
    bool wh;
    uint32_t want;
    hls_disclose(&d.method, HLS_SCALE_PERSON, (uint32_t)n, o, &wh, &want);
    long got = cell_of(&d, themes[n], HLS_SCALE_PERSON);
    if (n == 0) assert_int_equal(got, CELL_ABSENT);
    else if (wh) assert_int_equal(got, CELL_WITHHELD);
    else assert_int_equal(got, (long)want);
    if (n > 0 && wh) withheld++;
    if (n > 0 && !wh) published++;
    if (n > 0 && n < 10) assert_int_equal(got, CELL_WITHHELD);
  }
  assert_true(withheld > 0 && published > 0);
  assert_int_equal(cell_of(&d, "organisation", HLS_SCALE_ORGANISATION), 12);
  hls_digest_free(&d);
  check_disclosure(fx);

  /* A new record of another theme re-issues the week; the others' cells
   * publish as before (same counts, same offsets). */
  struct hls_digest before, after;
  assert_true(digest_of(fx, day, &before, NULL));
  add_record(fx, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "count-25");
  reconcile(fx);
  assert_true(digest_of(fx, day, &after, NULL));
  for (int n = 1; n < THEMES - 1; n++)
    assert_int_equal(cell_of(&before, themes[n], HLS_SCALE_PERSON), cell_of(&after, themes[n], HLS_SCALE_PERSON));
  hls_digest_free(&before);
  hls_digest_free(&after);
  sodium_memzero(key, sizeof key);
}

/* hls identity rotate (docs/protocol.md 4.9): the old key signs a
 * successor (the last item of its chain: a second one is refused), the
 * store moves to the new key, and the new chain's digest of the same week
 * rounds its person-scale cells exactly as before with the kept
 * disclosure key; derived from the new key instead, they would round
 * otherwise (the differencing the kept key prevents). */
static void test_rotation_keeps_rounding(void **state) {
  struct fixture *fx = *state;
  fx->ctx.method.kind = HLS_SDC_KEYED;
  hls_day day = day_of(fx, 0, 2);
  enum { THEMES = 26 };
  char themes[THEMES][16];
  for (int n = 0; n < THEMES; n++) {
    snprintf(themes[n], sizeof themes[n], "count-%d", n);
    add_records(fx, 10 + n, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, themes[n]);
  }
  set_today(fx, day_of(fx, 1, 2));
  reconcile(fx);
  struct hls_digest before, after, derived;
  assert_true(digest_of(fx, day, &before, NULL));

  struct hls_identity old = fx->id, fresh;
  uint8_t seed[32], kept[HLS_DISCLOSURE_KEY_BYTES];
  memset(seed, 0x6b, sizeof seed);
  assert_int_equal(crypto_sign_seed_keypair(fresh.public_key, fresh.secret_key, seed), 0);
  uint64_t succ_seq = 0, head = 0, found_seq = 0;
  uint8_t head_id[32], next[32], root[32];
  OK(hls_store_chain_head(fx->store, old.public_key, &head, head_id, &fx->why));
  OK(hls_summarise_successor(&fx->ctx, &fresh, &succ_seq, &fx->why));
  assert_int_equal(succ_seq, head + 1);
  OK(hls_store_successor_seq(fx->store, old.public_key, &found_seq, &fx->why));
  assert_int_equal(found_seq, succ_seq);
  bool found = false;
  OK(hls_store_successor_of(fx->store, old.public_key, next, &found, &fx->why));
  assert_true(found);
  assert_memory_equal(next, fresh.public_key, 32);
  OK(hls_store_succession_root(fx->store, fresh.public_key, root, &fx->why));
  assert_memory_equal(root, old.public_key, 32);
  /* The chain is closed: no second successor. */
  assert_int_equal(hls_summarise_successor(&fx->ctx, &fresh, &succ_seq, &fx->why), HLS_ESTATE);
  /* Another key is not the successor: the owner does not move to it. */
  assert_int_equal(hls_store_rotate_owner(fx->store, old.public_key, old.public_key, &fx->why), HLS_ESTATE);
  OK(hls_store_rotate_owner(fx->store, old.public_key, fresh.public_key, &fx->why));
  OK(hls_store_claim(fx->store, fresh.public_key, &fx->why));
  assert_int_equal(hls_store_claim(fx->store, old.public_key, &fx->why), HLS_EFOREIGN);

  hls_disclosure_key(old.secret_key, kept);
  fx->id = fresh;
  fx->ctx.disclosure_key = kept;
  reconcile(fx);
  uint64_t new_seq = 0;
  assert_true(digest_of(fx, day, &after, &new_seq));
  assert_true(new_seq >= 2); /* the new chain: its profile, then the digest */
  size_t compared = 0, differ = 0;
  for (int n = 1; n < THEMES; n++) {
    assert_int_equal(cell_of(&before, themes[n], HLS_SCALE_PERSON), cell_of(&after, themes[n], HLS_SCALE_PERSON));
    compared++;
  }
  assert_int_equal(compared, THEMES - 1);

  /* The counter-check: the new key's own derived rounding differs. */
  fx->ctx.disclosure_key = NULL;
  add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "re-issue");
  reconcile(fx);
  assert_true(digest_of(fx, day, &derived, NULL));
  for (int n = 1; n < THEMES; n++)
    differ += cell_of(&before, themes[n], HLS_SCALE_PERSON) != cell_of(&derived, themes[n], HLS_SCALE_PERSON);
  assert_true(differ > 0);
  hls_digest_free(&before);
  hls_digest_free(&after);
  hls_digest_free(&derived);
  sodium_memzero(&old, sizeof old);
  sodium_memzero(kept, sizeof kept);
}

static void test_suppression(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 1);
  add_records(fx, 9, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "alpha");
  add_records(fx, 12, day, HLS_SCALE_PERSON, HLS_CONSENT_PEERS, "beta");
  add_records(fx, 13, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "gamma");
  add_records(fx, 12, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "delta");
  add_records(fx, 10, day, HLS_SCALE_PERSON, HLS_CONSENT_NETWORK, "epsilon");
  add_records(fx, 3, day, HLS_SCALE_PLACE, HLS_CONSENT_AGGREGATE, "zeta");
  add_records(fx, 18, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "theta");
  /* Private records add nothing (beta would round to 15 with them). */
  add_records(fx, 2, day, HLS_SCALE_PERSON, HLS_CONSENT_PRIVATE, "beta");
  /* Cells are per stage: 7 + 8 at two stages are two withheld cells. */
  add_records(fx, 8, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "eta");
  for (int i = 0; i < 7; i++) {
    struct hls_record r;
    make_record(fx, &r, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "eta");
    r.stage = HLS_STAGE_REFLECT;
    insert_record(fx, &r);
  }
  /* Another week's records are another week's digest. */
  add_records(fx, 2, day_of(fx, 1, 1), HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "gamma");

  set_today(fx, day_of(fx, 1, 2));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  struct hls_digest d;
  assert_true(digest_of(fx, day, &d, NULL));
  assert_int_equal(d.method.threshold, 10);
  assert_int_equal(d.method.rounding, 5);
  assert_int_equal(d.n_cells, 9);
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_PERSON), CELL_WITHHELD);
  assert_int_equal(cell_of(&d, "beta", HLS_SCALE_PERSON), 10);
  assert_int_equal(cell_of(&d, "gamma", HLS_SCALE_PERSON), 15);
  assert_int_equal(cell_of(&d, "delta", HLS_SCALE_ORGANISATION), 12);
  assert_int_equal(cell_of(&d, "epsilon", HLS_SCALE_PERSON), 10);
  assert_int_equal(cell_of(&d, "zeta", HLS_SCALE_PLACE), 3);
  assert_int_equal(cell_of(&d, "theta", HLS_SCALE_PERSON), 20);
  assert_int_equal(cell_of(&d, "eta", HLS_SCALE_PERSON), CELL_WITHHELD);
  assert_int_equal(cell_value(&d, "eta", HLS_SCALE_PERSON, HLS_STAGE_REFLECT), CELL_WITHHELD);
  hls_digest_free(&d);

  /* One more alpha record (10): the cell appears, re-issuing the week. */
  uint64_t old_seq;
  assert_true(digest_of(fx, day, &d, &old_seq));
  hls_digest_free(&d);
  add_record(fx, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "alpha");
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  uint64_t new_seq;
  assert_true(digest_of(fx, day, &d, &new_seq));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_PERSON), 10);
  hls_digest_free(&d);
  assert_int_equal(pub_get(fx, old_seq).superseded_by, new_seq);

  /* A person-scale change that does not move the rounded count (gamma 13
   * -> 14, still 15) changes no byte: no re-issue. */
  add_record(fx, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "gamma");
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
}

/* Every raw person-scale count 0..25 in its own week: withheld below 10,
 * else the nearest multiple of 5. */
static void test_suppression_every_count(void **state) {
  struct fixture *fx = *state;
  for (int n = 1; n <= 25; n++) add_records(fx, n, day_of(fx, n, 3), HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "care");
  set_today(fx, day_of(fx, 27, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 25, 0, 0);
  for (int n = 1; n <= 25; n++) {
    struct hls_digest d;
    assert_true(digest_of(fx, day_of(fx, n, 3), &d, NULL));
    long expect = n < 10 ? CELL_WITHHELD : (long)((n + 2) / 5 * 5);
    assert_int_equal(cell_of(&d, "care", HLS_SCALE_PERSON), expect);
    hls_digest_free(&d);
  }
}

/* --- 3. weeks ---------------------------------------------------------------------------- */

static void test_week_lifecycle(void **state) {
  struct fixture *fx = *state;
  hls_day d0 = day_of(fx, 0, 3), d1 = day_of(fx, 1, 1);
  int64_t a[3];
  for (int i = 0; i < 3; i++) a[i] = add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  int64_t b1 = add_record(fx, d1, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "beta");
  int64_t b2 = add_record(fx, d1, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "beta");

  /* In week 1: week 0 has ended, week 1 has not. */
  set_today(fx, day_of(fx, 1, 2));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  struct hls_digest d;
  uint64_t w0_seq, w1_seq;
  assert_true(digest_of(fx, d0, &d, &w0_seq));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 3);
  hls_digest_free(&d);
  assert_false(digest_of(fx, d1, &d, NULL));

  /* Nothing changed: nothing published. */
  uint64_t head = chain_head(fx);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(chain_head(fx), head);

  /* Sunday of week 1: still not ended. */
  set_today(fx, day_of(fx, 1, 6));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_false(digest_of(fx, d1, &d, NULL));

  /* Monday of week 2: week 1 is published, week 0 left alone. */
  set_today(fx, day_of(fx, 2, 0));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_true(digest_of(fx, d1, &d, &w1_seq));
  assert_int_equal(cell_of(&d, "beta", HLS_SCALE_ORGANISATION), 2);
  hls_digest_free(&d);
  uint64_t seq;
  assert_true(digest_of(fx, d0, &d, &seq));
  hls_digest_free(&d);
  assert_int_equal(seq, w0_seq);
  head = chain_head(fx);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(chain_head(fx), head);

  /* Change a past week's record: exactly that week is re-issued. */
  struct hls_record r;
  load_record(fx, a[0], &r);
  r.stage = HLS_STAGE_REFLECT;
  save_record(fx, &r);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  uint64_t w0_new;
  assert_true(digest_of(fx, d0, &d, &w0_new));
  assert_int_equal(w0_new, head + 1);
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 2);
  assert_int_equal(cell_value(&d, "alpha", HLS_SCALE_ORGANISATION, HLS_STAGE_REFLECT), 1);
  hls_digest_free(&d);
  struct hls_published old = pub_get(fx, w0_seq);
  assert_int_equal(old.superseded_by, w0_new);
  assert_int_equal(old.erased_by, 0);
  assert_body_held(fx, w0_seq); /* a superseded digest stays on the chain */
  assert_true(digest_of(fx, d1, &d, &seq));
  hls_digest_free(&d);
  assert_int_equal(seq, w1_seq);
  assert_int_equal(pub_get(fx, w1_seq).superseded_by, 0);

  /* Every record of week 1 loses consent: a digest with no cells
   * supersedes the old one, once. */
  withdraw(fx, b1);
  set_consent(fx, b2, HLS_CONSENT_PRIVATE);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  uint64_t w1_new;
  assert_true(digest_of(fx, d1, &d, &w1_new));
  assert_int_equal(d.n_cells, 0);
  hls_digest_free(&d);
  assert_int_equal(pub_get(fx, w1_seq).superseded_by, w1_new);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);

  /* A week that never had countable records gets no digest. */
  hls_day d2 = day_of(fx, 2, 2);
  add_record(fx, d2, HLS_SCALE_ORGANISATION, HLS_CONSENT_PRIVATE, "gamma");
  set_today(fx, day_of(fx, 4, 0));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_false(digest_of(fx, d2, &d, NULL));
  assert_false(digest_of(fx, day_of(fx, 3, 0), &d, NULL));
}

/* A record moved to another week leaves one digest and joins another. */
static void test_record_moves_week(void **state) {
  struct fixture *fx = *state;
  hls_day d0 = day_of(fx, 0, 2), d1 = day_of(fx, 1, 2);
  int64_t id = add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  add_record(fx, d1, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, day_of(fx, 2, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 2, 0, 0);
  struct hls_record r;
  load_record(fx, id, &r);
  r.date = d1;
  save_record(fx, &r);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 2, 0, 0);
  struct hls_digest d;
  assert_true(digest_of(fx, d0, &d, NULL));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 1);
  hls_digest_free(&d);
  assert_true(digest_of(fx, d1, &d, NULL));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 2);
  hls_digest_free(&d);
}

/* ISO week 2026-W53 runs from Monday 2026-12-28 to Sunday 2027-01-03. */
static void test_week_across_new_year(void **state) {
  struct fixture *fx = *state;
  hls_day dec31 = hls_date_from_ymd(2026, 12, 31), jan3 = hls_date_from_ymd(2027, 1, 3);
  add_record(fx, dec31, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  add_record(fx, jan3, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, jan3);
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  set_today(fx, hls_date_from_ymd(2027, 1, 4));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  struct hls_digest d;
  assert_true(digest_of(fx, jan3, &d, NULL));
  assert_int_equal(d.iso_year, 2026);
  assert_int_equal(d.iso_week, 53);
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 2);
  hls_digest_free(&d);
}

/* --- 4. consent that ends ---------------------------------------------------------------------- */

/* A peers story published with one aggregate record beside it in week 0.
 * Returns the story's seq. */
static uint64_t publish_one_story(struct fixture *fx, int64_t *story_record, enum hls_consent consent) {
  hls_day day = day_of(fx, 0, 2);
  *story_record = add_record(fx, day, HLS_SCALE_ORGANISATION, consent, "alpha");
  add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  approve(fx, *story_record);
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  assert_int_equal(res.digests, 1);
  assert_int_equal(res.stories, 1);
  assert_int_equal(res.tombstones, 0);
  struct hls_published p;
  assert_int_equal(live_stories(fx, *story_record, &p), 1);
  assert_int_equal(p.audience, consent == HLS_CONSENT_NETWORK ? HLS_AUD_NETWORK : HLS_AUD_PEERS);
  assert_body_held(fx, p.seq);
  return p.seq;
}

static long week0_alpha(struct fixture *fx, uint64_t *seq) {
  struct hls_digest d;
  assert_true(digest_of(fx, day_of(fx, 0, 2), &d, seq));
  long v = cell_of(&d, "alpha", HLS_SCALE_ORGANISATION);
  hls_digest_free(&d);
  return v;
}

static void test_withdraw(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t story = publish_one_story(fx, &id, HLS_CONSENT_PEERS);
  uint64_t digest_before;
  assert_int_equal(week0_alpha(fx, &digest_before), 2);

  withdraw(fx, id);
  set_today(fx, day_of(fx, 1, 1));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);
  assert_tombstoned(fx, story, HLS_TOMB_CONSENT_WITHDRAWN);
  assert_int_equal(live_stories(fx, 0, NULL), 0);
  uint64_t digest_after;
  assert_int_equal(week0_alpha(fx, &digest_after), 1);
  assert_int_equal(pub_get(fx, digest_before).superseded_by, digest_after);
  /* The approval is forgotten. */
  assert_int_equal(share_state(fx, id), -1);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);

  /* Consent given again: counted again, but the story waits for a new
   * approval. */
  set_consent(fx, id, HLS_CONSENT_PEERS);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_int_equal(week0_alpha(fx, NULL), 2);
  assert_int_equal(live_stories(fx, 0, NULL), 0);
  struct packed pk;
  const struct hls_mp_value *review = mp_array(run_packer(fx, &pk, true), NULL);
  assert_int_equal(review->len, 1);
  assert_int_equal(mp_int(hls_mp_get(&review->v.items[0], "record")), id);
  packed_free(&pk);

  approve(fx, id);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 0);
  struct hls_published p;
  assert_int_equal(live_stories(fx, id, &p), 1);
  assert_true(p.seq > story);
}

/* Consent narrowed from peers to aggregate: the story goes, the count stays. */
static void test_withdraw_to_aggregate(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t story = publish_one_story(fx, &id, HLS_CONSENT_NETWORK);
  set_consent(fx, id, HLS_CONSENT_AGGREGATE);
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 1);
  assert_tombstoned(fx, story, HLS_TOMB_CONSENT_WITHDRAWN);
  assert_int_equal(week0_alpha(fx, NULL), 2);
  assert_int_equal(share_state(fx, id), -1);
  /* Back to network: a new approval is needed. */
  set_consent(fx, id, HLS_CONSENT_NETWORK);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
}

static void test_reject(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t story = publish_one_story(fx, &id, HLS_CONSENT_PEERS);
  reject(fx, id);
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 1);
  assert_tombstoned(fx, story, HLS_TOMB_CONSENT_WITHDRAWN);
  assert_int_equal(share_state(fx, id), HLS_SHARE_REJECTED);
  assert_int_equal(week0_alpha(fx, NULL), 2); /* still counted */
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  /* Not awaiting review either. */
  struct packed pk;
  const struct hls_mp_value *root = run_packer(fx, &pk, false);
  assert_int_equal(mp_int(hls_mp_get(root, "awaiting_review")), 0);
  assert_int_equal(mp_array(root, "stories")->len, 0);
  packed_free(&pk);
}

static void test_delete(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t story = publish_one_story(fx, &id, HLS_CONSENT_NETWORK);
  uint64_t digest_before;
  assert_int_equal(week0_alpha(fx, &digest_before), 2);
  OK(hls_store_record_delete(fx->store, id, &fx->why));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);
  uint64_t tomb = assert_tombstoned(fx, story, HLS_TOMB_RECORD_DELETED);
  assert_int_equal(pub_get(fx, tomb).record_id, id);
  uint64_t digest_after;
  assert_int_equal(week0_alpha(fx, &digest_after), 1);
  assert_int_equal(pub_get(fx, digest_before).superseded_by, digest_after);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
}

/* Deleting every record of a published week leaves a digest with no cells. */
static void test_delete_whole_week(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 4);
  int64_t a = add_record(fx, day, HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  struct hls_digest d;
  assert_true(digest_of(fx, day, &d, NULL));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_PERSON), CELL_WITHHELD);
  hls_digest_free(&d);
  OK(hls_store_record_delete(fx->store, a, &fx->why));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_true(digest_of(fx, day, &d, NULL));
  assert_int_equal(d.n_cells, 0);
  hls_digest_free(&d);
}

static void test_narrow_network_to_peers(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t story = publish_one_story(fx, &id, HLS_CONSENT_NETWORK);
  set_consent(fx, id, HLS_CONSENT_PEERS);
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 1);
  assert_tombstoned(fx, story, HLS_TOMB_CONSENT_WITHDRAWN);
  assert_int_equal(live_stories(fx, 0, NULL), 0);
  assert_int_equal(week0_alpha(fx, NULL), 2);
  /* The network approval does not cover a peers story. */
  assert_int_not_equal(share_state(fx, id), HLS_SHARE_APPROVED);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  approve(fx, id);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 0);
  struct hls_published p;
  assert_int_equal(live_stories(fx, id, &p), 1);
  assert_int_equal(p.audience, HLS_AUD_PEERS);
  struct hls_item it;
  item_load(fx, p.seq, &it);
  assert_int_equal(it.audience, HLS_AUD_PEERS);
  hls_item_clear(&it);
}

static void test_expiry(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 2), expires = day_of(fx, 1, 3);
  int64_t story_rec = add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "alpha", expires);
  add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  int64_t agg = add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "beta", expires);
  approve(fx, story_rec);

  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 1, 0);
  struct hls_published p;
  assert_int_equal(live_stories(fx, story_rec, &p), 1);
  uint64_t story = p.seq;
  struct hls_digest d;
  uint64_t digest_before;
  assert_true(digest_of(fx, day, &d, &digest_before));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 2);
  assert_int_equal(cell_of(&d, "beta", HLS_SCALE_ORGANISATION), 1);
  hls_digest_free(&d);

  /* The day before: nothing ends. */
  set_today(fx, expires - 1);
  uint8_t hash[32];
  int audience;
  story_hash(fx, story_rec, -1, hash, &audience);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(res.expired, 0);

  /* At the start of the expiry day consent ends. */
  set_today(fx, expires);
  struct hls_record r;
  msgpack_sbuffer body;
  load_record(fx, story_rec, &r);
  msgpack_sbuffer_init(&body);
  assert_int_equal(hls_summarise_story(&r, expires, &body, &audience, hash), HLS_ECONSENT);
  msgpack_sbuffer_destroy(&body);
  hls_record_clear(&r);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);
  assert_int_equal(res.expired, 2);
  assert_tombstoned(fx, story, HLS_TOMB_CONSENT_EXPIRED);
  uint64_t digest_after;
  assert_true(digest_of(fx, day, &d, &digest_after));
  assert_int_equal(cell_of(&d, "alpha", HLS_SCALE_ORGANISATION), 1);
  assert_int_equal(cell_of(&d, "beta", HLS_SCALE_ORGANISATION), CELL_ABSENT);
  hls_digest_free(&d);
  assert_int_equal(pub_get(fx, digest_before).superseded_by, digest_after);
  for (int i = 0; i < 2; i++) {
    load_record(fx, i == 0 ? story_rec : agg, &r);
    assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
    assert_int_equal(r.consent_ended, HLS_CONSENT_EXPIRED);
    hls_record_clear(&r);
  }
  assert_int_equal(share_state(fx, story_rec), -1);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(res.expired, 0);

  /* Consent given again (with a later expiry) needs a new approval. */
  load_record(fx, story_rec, &r);
  r.consent = HLS_CONSENT_PEERS;
  r.consent_ended = HLS_CONSENT_CURRENT;
  r.consent_expires = day_of(fx, 8, 0);
  save_record(fx, &r);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_int_equal(live_stories(fx, 0, NULL), 0);
  approve(fx, story_rec);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 0);
}

/* Consent that ended while the daemon was stopped: ended at the first
 * reconcile after, as if it had been running. */
static void test_expiry_while_stopped(void **state) {
  struct fixture *fx = *state;
  /* Records whose consent ended before anything was ever published. */
  int64_t a = add_expiring(fx, day_of(fx, 0, 1), HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha",
                           day_of(fx, 0, 5));
  int64_t b = add_expiring(fx, day_of(fx, 1, 1), HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "beta",
                           day_of(fx, 1, 5));
  approve(fx, b);
  set_today(fx, day_of(fx, 3, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  assert_int_equal(res.expired, 2);
  struct hls_digest d;
  assert_false(digest_of(fx, day_of(fx, 0, 1), &d, NULL));
  assert_false(digest_of(fx, day_of(fx, 1, 1), &d, NULL));
  assert_int_equal(stories_ever(fx, b), 0);
  struct hls_record r;
  load_record(fx, a, &r);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  assert_int_equal(r.consent_ended, HLS_CONSENT_EXPIRED);
  hls_record_clear(&r);

  /* A published story whose consent ends while the node is down for
   * weeks. */
  hls_day day = day_of(fx, 3, 2);
  int64_t c = add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "gamma", day_of(fx, 5, 0));
  add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "gamma");
  approve(fx, c);
  set_today(fx, day_of(fx, 4, 0));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 1, 0);
  struct hls_published p;
  assert_int_equal(live_stories(fx, c, &p), 1);
  uint64_t digest_before;
  assert_true(digest_of(fx, day, &d, &digest_before));
  assert_int_equal(cell_of(&d, "gamma", HLS_SCALE_ORGANISATION), 2);
  hls_digest_free(&d);

  set_today(fx, day_of(fx, 9, 3));
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);
  assert_int_equal(res.expired, 1);
  assert_tombstoned(fx, p.seq, HLS_TOMB_CONSENT_EXPIRED);
  uint64_t digest_after;
  assert_true(digest_of(fx, day, &d, &digest_after));
  assert_int_equal(cell_of(&d, "gamma", HLS_SCALE_ORGANISATION), 1);
  hls_digest_free(&d);
  assert_int_equal(pub_get(fx, digest_before).superseded_by, digest_after);
  for (int w = 4; w < 9; w++) assert_false(digest_of(fx, day_of(fx, w, 0), &d, NULL));
  assert_int_equal(share_state(fx, c), -1);
}

/* An approval given, then consent that ended before the story was ever
 * published (the daemon was stopped): consent given again needs a new
 * approval. */
static void test_expiry_forgets_unpublished_approval(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 1);
  int64_t id = add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "alpha", day_of(fx, 0, 4));
  approve(fx, id);
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  assert_int_equal(res.expired, 1);
  assert_int_equal(share_state(fx, id), -1);
  struct hls_record r;
  load_record(fx, id, &r);
  r.consent = HLS_CONSENT_PEERS;
  r.consent_ended = HLS_CONSENT_CURRENT;
  r.has_consent_expires = false;
  save_record(fx, &r);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_int_equal(stories_ever(fx, id), 0);
}

/* Expiry happens by the clock, not by an edit: the daemon's list of
 * changed weeks may be empty, and the digests still follow. */
static void test_expiry_with_no_dirty_weeks(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 3);
  add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha", day_of(fx, 2, 0));
  add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  assert_int_equal(week0_alpha(fx, NULL), 2);
  set_today(fx, day_of(fx, 2, 0));
  res = reconcile_weeks(fx, 0, NULL);
  EXPECT_RES(res, 0, 1, 0, 0);
  assert_int_equal(res.expired, 1);
  assert_int_equal(week0_alpha(fx, NULL), 1);
}

/* Weeks named as changed that never had countable records get nothing,
 * nor does the current week. */
static void test_dirty_weeks_without_records(void **state) {
  struct fixture *fx = *state;
  add_record(fx, day_of(fx, 1, 2), HLS_SCALE_PERSON, HLS_CONSENT_PRIVATE, "alpha");
  add_record(fx, day_of(fx, 3, 2), HLS_SCALE_PERSON, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, day_of(fx, 3, 4));
  int weeks[4];
  for (int i = 0; i < 4; i++) weeks[i] = hls_week_key(day_of(fx, i, 0));
  struct hls_summarise_result res = reconcile_weeks(fx, 4, weeks);
  EXPECT_RES(res, 1, 0, 0, 0);
  assert_int_equal(pub_count(fx), 1);
  assert_true(hls_week_ended(weeks[2], fx->ctx.today));
  assert_false(hls_week_ended(weeks[3], fx->ctx.today));
}

/* --- 5. corrections ---------------------------------------------------------------------------- */

static void test_correction(void **state) {
  struct fixture *fx = *state;
  int64_t id;
  uint64_t s1 = publish_one_story(fx, &id, HLS_CONSENT_PEERS);

  set_tried(fx, id, "A weekly drop-in with a shared meal");
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  struct hls_share sh;
  OK(hls_store_share_get(fx->store, id, &sh, &fx->why));
  assert_int_equal(sh.state, HLS_SHARE_PENDING);
  struct hls_published p;
  assert_int_equal(live_stories(fx, id, &p), 1);
  assert_int_equal(p.seq, s1);
  assert_body_held(fx, s1);
  struct hls_story s;
  story_of(fx, s1, &s);
  assert_string_equal(s.tried, "A weekly drop-in");
  hls_story_free(&s);

  /* The review shows the new content, marked as a change. */
  struct packed pk;
  const struct hls_mp_value *review = mp_array(run_packer(fx, &pk, true), NULL);
  assert_int_equal(review->len, 1);
  const struct hls_mp_value *e = &review->v.items[0];
  assert_int_equal(mp_int(hls_mp_get(e, "record")), id);
  assert_true(hls_mp_get(e, "changed")->type == HLS_MP_BOOL && hls_mp_get(e, "changed")->v.b);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "tried"), "A weekly drop-in with a shared meal"));
  packed_free(&pk);

  approve(fx, id);
  uint64_t head = chain_head(fx);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 1);
  assert_int_equal(live_stories(fx, id, &p), 1);
  uint64_t s2 = p.seq;
  assert_int_equal(s2, head + 1);
  story_of(fx, s2, &s);
  assert_string_equal(s.tried, "A weekly drop-in with a shared meal");
  hls_story_free(&s);
  uint64_t tomb = assert_tombstoned(fx, s1, HLS_TOMB_CORRECTED);
  assert_int_equal(tomb, head + 2);
  assert_int_equal(pub_get(fx, s1).superseded_by, s2);
  assert_int_equal(pub_get(fx, s2).superseded_by, 0);
  assert_int_equal(pub_get(fx, s2).erased_by, 0);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);

  /* Widening peers -> network is new content too. */
  set_consent(fx, id, HLS_CONSENT_NETWORK);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(live_stories(fx, id, &p), 1);
  assert_int_equal(p.seq, s2);
  assert_int_equal(p.audience, HLS_AUD_PEERS);
  approve(fx, id);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 1);
  assert_int_equal(live_stories(fx, id, &p), 1);
  assert_int_equal(p.audience, HLS_AUD_NETWORK);
  assert_tombstoned(fx, s2, HLS_TOMB_CORRECTED);
  assert_int_equal(pub_get(fx, s2).superseded_by, p.seq);
  assert_int_equal(week0_alpha(fx, NULL), 2);
}

/* Approved, then changed before it was ever published: nothing goes out. */
static void test_changed_before_publishing(void **state) {
  struct fixture *fx = *state;
  int64_t id = add_record(fx, day_of(fx, 0, 2), HLS_SCALE_PLACE, HLS_CONSENT_NETWORK, "alpha");
  approve(fx, id);
  struct hls_record r;
  load_record(fx, id, &r);
  free(r.title);
  r.title = xstrdup("A better title");
  save_record(fx, &r);
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  assert_int_equal(share_state(fx, id), HLS_SHARE_PENDING);
  approve(fx, id);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 0);
  struct hls_published p;
  struct hls_story s;
  assert_int_equal(live_stories(fx, id, &p), 1);
  story_of(fx, p.seq, &s);
  assert_string_equal(s.title, "A better title");
  hls_story_free(&s);
}

/* --- 6. the chain ------------------------------------------------------------------------------- */

static void test_chain_and_profile(void **state) {
  struct fixture *fx = *state;
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  assert_int_equal(chain_head(fx), 1);
  struct hls_item it;
  struct hls_profile prof;
  item_load(fx, 1, &it);
  assert_int_equal(it.type, HLS_ENV_PROFILE);
  assert_int_equal(it.audience, HLS_AUD_NETWORK);
  assert_int_equal(it.timestamp_ms, fx->ctx.now_ms);
  OK(hls_profile_decode(&prof, it.body, it.body_len, &fx->why));
  hls_item_clear(&it);
  assert_string_equal(prof.place, "Gateshead");
  assert_string_equal(prof.region, "North East");
  assert_int_equal(prof.n_addresses, 1);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);

  /* Some of everything. */
  int64_t id;
  publish_one_story(fx, &id, HLS_CONSENT_NETWORK);
  withdraw(fx, id);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);

  /* A profile change re-issues the profile, superseding the old one. */
  uint64_t head = chain_head(fx);
  snprintf(fx->profile.region, sizeof fx->profile.region, "%s", "Tyne and Wear");
  res = reconcile(fx);
  EXPECT_RES(res, 1, 0, 0, 0);
  struct hls_published cur;
  OK(hls_store_published_current(fx->store, HLS_ENV_PROFILE, 0, 0, &cur, &fx->why));
  assert_int_equal(cur.seq, head + 1);
  assert_int_equal(pub_get(fx, 1).superseded_by, head + 1);
  item_load(fx, cur.seq, &it);
  OK(hls_profile_decode(&prof, it.body, it.body_len, &fx->why));
  hls_item_clear(&it);
  assert_string_equal(prof.region, "Tyne and Wear");
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);

  /* The chain check is able to fail: a changed signature byte no longer
   * verifies, and items out of order do not link. */
  item_load(fx, 2, &it);
  struct hls_envelope env;
  it.stub[it.stub_len - 2] ^= 0x01; /* last byte of the signature */
  OK(hls_env_decode(&env, it.stub, it.stub_len, &fx->why));
  assert_int_equal(hls_env_verify(&env), HLS_EBADSIG);
  hls_item_clear(&it);
  struct hls_item first, third;
  struct hls_envelope e1, e3;
  item_load(fx, 1, &first);
  item_load(fx, 3, &third);
  OK(hls_env_decode(&e1, first.stub, first.stub_len, &fx->why));
  OK(hls_env_decode(&e3, third.stub, third.stub_len, &fx->why));
  assert_int_equal(hls_env_check_link(&e1, &e3), HLS_ECHAIN);
  hls_item_clear(&first);
  hls_item_clear(&third);
}

/* Another identity signing into the same store starts its own chain. */
static void test_signed_by_identity(void **state) {
  struct fixture *fx = *state;
  add_record(fx, day_of(fx, 0, 1), HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 0);
  struct hls_item it;
  item_load(fx, 2, &it);
  struct hls_envelope env;
  OK(hls_env_decode(&env, it.stub, it.stub_len, &fx->why));
  assert_memory_equal(env.h.origin, fx->id.public_key, 32);
  assert_int_equal(hls_env_verify(&env), 0);
  /* The signature is the identity's: the same header checked against
   * another key fails. */
  struct hls_identity other;
  uint8_t seed[32];
  memset(seed, 0x17, sizeof seed);
  assert_int_equal(crypto_sign_seed_keypair(other.public_key, other.secret_key, seed), 0);
  memcpy(env.h.origin, other.public_key, 32);
  assert_int_equal(hls_env_verify(&env), HLS_EBADSIG);
  hls_item_clear(&it);
}

/* --- 7. preview and review ------------------------------------------------------------------------ */

static void test_preview_and_review(void **state) {
  struct fixture *fx = *state;
  hls_day d0 = day_of(fx, 0, 1), d1 = day_of(fx, 1, 0);
  add_records(fx, 2, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "alpha");
  int64_t approved = add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "beta");
  int64_t waiting = add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "gamma");
  int64_t rejected = add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "delta");
  add_record(fx, d0, HLS_SCALE_ORGANISATION, HLS_CONSENT_PRIVATE, "hidden");
  add_record(fx, d1, HLS_SCALE_ORGANISATION, HLS_CONSENT_AGGREGATE, "epsilon");
  approve(fx, approved);
  reject(fx, rejected);
  set_today(fx, day_of(fx, 1, 2));

  struct packed pk;
  const struct hls_mp_value *root = run_packer(fx, &pk, false);
  assert_int_equal(root->type, HLS_MP_MAP);
  const struct hls_mp_value *digests = mp_array(root, "digests");
  const struct hls_mp_value *stories = mp_array(root, "stories");
  assert_int_equal(digests->len, 2);
  const struct hls_mp_value *e = digest_entry(digests, d0);
  assert_non_null(e);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "state"), "pending"));
  assert_true(mp_nil(hls_mp_get(e, "seq")));
  assert_int_equal(mp_array(e, "cells")->len, 4);
  const struct hls_mp_value *method = hls_mp_get(e, "method");
  assert_int_equal(mp_int(hls_mp_get(method, "threshold")), 10);
  assert_int_equal(mp_int(hls_mp_get(method, "rounding")), 5);
  e = digest_entry(digests, d1);
  assert_non_null(e);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "state"), "waits_for_week_end"));
  assert_int_equal(stories->len, 1);
  e = entry_in_state(stories, approved, "pending");
  assert_true(mp_nil(hls_mp_get(e, "seq")));
  assert_true(hls_mp_str_eq(hls_mp_get(e, "audience"), "peers"));
  assert_true(hls_mp_str_eq(hls_mp_get(e, "title"), "Record on beta"));
  assert_int_equal(mp_int(hls_mp_get(root, "awaiting_review")), 1);
  packed_free(&pk);
  /* A preview publishes nothing. */
  assert_int_equal(chain_head(fx), 0);
  assert_int_equal(pub_count(fx), 0);

  const struct hls_mp_value *review = mp_array(run_packer(fx, &pk, true), NULL);
  assert_int_equal(review->len, 1);
  e = &review->v.items[0];
  assert_int_equal(mp_int(hls_mp_get(e, "record")), waiting);
  assert_true(hls_mp_get(e, "changed")->type == HLS_MP_BOOL && !hls_mp_get(e, "changed")->v.b);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "audience"), "network"));
  assert_true(hls_mp_str_eq(hls_mp_get(e, "title"), "Record on gamma"));
  packed_free(&pk);
  assert_int_equal(chain_head(fx), 0);

  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 1, 0);
  uint64_t digest_seq;
  struct hls_digest d;
  assert_true(digest_of(fx, d0, &d, &digest_seq));
  hls_digest_free(&d);
  struct hls_published p;
  assert_int_equal(live_stories(fx, approved, &p), 1);

  root = run_packer(fx, &pk, false);
  digests = mp_array(root, "digests");
  stories = mp_array(root, "stories");
  e = digest_entry(digests, d0);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "state"), "published"));
  assert_int_equal(mp_int(hls_mp_get(e, "seq")), digest_seq);
  assert_true(hls_mp_str_eq(hls_mp_get(digest_entry(digests, d1), "state"), "waits_for_week_end"));
  assert_int_equal(stories->len, 1);
  e = entry_in_state(stories, approved, "published");
  assert_int_equal(mp_int(hls_mp_get(e, "seq")), p.seq);
  assert_int_equal(mp_int(hls_mp_get(root, "awaiting_review")), 1);
  packed_free(&pk);

  /* Withdrawn but not yet reconciled: shown as to be erased, and the
   * digest as pending. */
  uint64_t head = chain_head(fx);
  withdraw(fx, approved);
  root = run_packer(fx, &pk, false);
  stories = mp_array(root, "stories");
  assert_int_equal(entries_of(stories, approved, NULL), 1);
  entry_in_state(stories, approved, "to_be_erased");
  assert_true(hls_mp_str_eq(hls_mp_get(digest_entry(mp_array(root, "digests"), d0), "state"), "pending"));
  packed_free(&pk);
  assert_int_equal(chain_head(fx), head);

  /* A changed story that a person approved: the old one to be replaced,
   * the new one pending. */
  res = reconcile(fx);
  EXPECT_RES(res, 0, 1, 0, 1);
  approve(fx, waiting);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 1, 0);
  assert_int_equal(live_stories(fx, waiting, &p), 1);
  set_tried(fx, waiting, "Something else");
  root = run_packer(fx, &pk, false);
  e = entry_in_state(mp_array(root, "stories"), waiting, "published");
  assert_int_equal(mp_int(hls_mp_get(root, "awaiting_review")), 1);
  packed_free(&pk);
  approve(fx, waiting);
  head = chain_head(fx);
  root = run_packer(fx, &pk, false);
  stories = mp_array(root, "stories");
  assert_int_equal(entries_of(stories, waiting, NULL), 2);
  e = entry_in_state(stories, waiting, "to_be_replaced");
  assert_int_equal(mp_int(hls_mp_get(e, "seq")), p.seq);
  assert_true(hls_mp_str_eq(hls_mp_get(e, "tried"), "A weekly drop-in"));
  e = entry_in_state(stories, waiting, "pending");
  assert_true(mp_nil(hls_mp_get(e, "seq")));
  assert_true(hls_mp_str_eq(hls_mp_get(e, "tried"), "Something else"));
  assert_int_equal(mp_int(hls_mp_get(root, "awaiting_review")), 0);
  packed_free(&pk);
  assert_int_equal(chain_head(fx), head);
  review = mp_array(run_packer(fx, &pk, true), NULL);
  assert_int_equal(review->len, 0);
  packed_free(&pk);
}

/* --- 8. atomicity ----------------------------------------------------------------------------------- */

/* Run SQL on the database through a second connection. */
static void exec_other(struct fixture *fx, const char *sql) {
  sqlite3 *db = NULL;
  char *err = NULL;
  char msg[256] = "";
  int rc = sqlite3_open(fx->db_path, &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) snprintf(msg, sizeof msg, "%s", err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  sqlite3_close(db);
  if (rc != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* --- a store restored from an older copy -------------------------------------------- */

/* Items after..head of this node's chain as peers would send them back:
 * the whole envelope, but peers stories as stubs (bodies of peers stories
 * are never relayed). Caller frees each and the array. */
struct sent_back {
  uint8_t *bytes[64];
  size_t len[64];
  size_t n;
};

static void collect_sent_back(struct fixture *fx, uint64_t after, uint64_t head, struct sent_back *out) {
  memset(out, 0, sizeof *out);
  for (uint64_t q = after + 1; q <= head; q++) {
    struct hls_item it;
    item_load(fx, q, &it);
    bool body = it.body != NULL && it.audience == HLS_AUD_NETWORK;
    size_t len = body ? it.stub_len - 1 + it.body_len : it.stub_len;
    uint8_t *b = malloc(len);
    assert_non_null(b);
    if (body) {
      memcpy(b, it.stub, it.stub_len - 1);
      memcpy(b + it.stub_len - 1, it.body, it.body_len);
    } else {
      memcpy(b, it.stub, it.stub_len);
    }
    assert_true(out->n < 64);
    out->bytes[out->n] = b;
    out->len[out->n++] = len;
    hls_item_clear(&it);
  }
}

/* A fork row as gossip's store writes it (daemon/gstore.c), of origin
 * at seq with the stubs given; reporter NULL: found here. */
static void fork_row(struct fixture *fx, const uint8_t origin[32], uint64_t seq, const void *ours, size_t ours_len,
                     const void *theirs, size_t theirs_len, const uint8_t *reporter) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(hls_store_db(fx->store),
                                      "INSERT INTO forks(origin, seq, ours, theirs, found_ms, reporter, report_seq)"
                                      " VALUES(?1, ?2, ?3, ?4, 5, ?5, ?6)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_blob(st, 3, ours, (int)ours_len, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, theirs, (int)theirs_len, SQLITE_STATIC);
  if (reporter != NULL) {
    sqlite3_bind_blob(st, 5, reporter, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, 4);
  }
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

static int64_t fork_published_seq(struct fixture *fx, const uint8_t origin[32]) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(hls_store_db(fx->store), "SELECT ifnull(published_seq, -1) FROM forks WHERE origin=?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Forks found here are reported, one fork item each, once (docs/protocol.md
 * 4.7); not while publish.forks is off; never one told by another node's
 * report; evidence that makes no report is marked so and skipped. */
static void test_forks_reported(void **state) {
  struct fixture *fx = *state;
  OK(hls_store_claim(fx->store, fx->id.public_key, &fx->why));
  struct hls_summarise_result res = reconcile(fx); /* the profile */
  assert_int_equal(res.forks, 0);
  /* X signed two profiles at seq 1. */
  uint8_t seed[32] = {0x55}, x_pk[32], x_sk[64], told[32] = {7}, told_by[32] = {8}, bad[32] = {9};
  crypto_sign_seed_keypair(x_pk, x_sk, seed);
  msgpack_sbuffer stubs[2];
  for (int i = 0; i < 2; i++) {
    struct hls_profile p = fx->profile;
    snprintf(p.place, sizeof p.place, "Branch %d", i);
    msgpack_sbuffer body, env;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&stubs[i]);
    OK(hls_profile_pack(&body, &p));
    OK(hls_env_build(&env, HLS_ENV_PROFILE, x_sk, 1, NULL, 1000, HLS_AUD_NETWORK, (const uint8_t *)body.data,
                     body.size));
    struct hls_envelope e;
    OK(hls_env_decode(&e, (const uint8_t *)env.data, env.size, &fx->why));
    OK(hls_env_encode_stub(&stubs[i], &e));
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&env);
  }
  fork_row(fx, x_pk, 1, stubs[0].data, stubs[0].size, stubs[1].data, stubs[1].size, NULL);
  fork_row(fx, told, 1, stubs[0].data, stubs[0].size, stubs[1].data, stubs[1].size, told_by);
  fork_row(fx, bad, 2, "x", 1, "y", 1, NULL);
  fx->ctx.publish_forks = false; /* publish.forks = off: they wait */
  res = reconcile(fx);
  assert_int_equal(res.forks, 0);
  assert_int_equal(fork_published_seq(fx, x_pk), -1);
  fx->ctx.publish_forks = true;
  res = reconcile(fx);
  assert_int_equal(res.forks, 1);
  uint64_t head;
  uint8_t head_id[32];
  OK(hls_store_chain_head(fx->store, fx->id.public_key, &head, head_id, &fx->why));
  struct hls_item it;
  item_load(fx, head, &it);
  assert_int_equal(it.type, HLS_ENV_FORK);
  struct hls_fork f;
  OK(hls_fork_decode(&f, it.body, it.body_len, &fx->why));
  assert_memory_equal(f.origin, x_pk, 32);
  assert_int_equal(f.seq, 1);
  hls_item_clear(&it);
  assert_int_equal(fork_published_seq(fx, x_pk), (int64_t)head);
  assert_int_equal(fork_published_seq(fx, bad), 0);
  assert_int_equal(fork_published_seq(fx, told), -1);
  res = reconcile(fx); /* once */
  assert_int_equal(res.forks, 0);
  msgpack_sbuffer_destroy(&stubs[0]);
  msgpack_sbuffer_destroy(&stubs[1]);
  sodium_memzero(x_sk, sizeof x_sk);
}

/* Receipt entries owed go out one receipt a run, at most
 * HLS_RECEIPT_MAX_ENTRIES in it, in receipt order; the rest in the next
 * run (the daemon publishes again when receipts_waiting says so); nothing
 * is signed when nothing is owed. */
static void test_receipts_published(void **state) {
  struct fixture *fx = *state;
  OK(hls_store_claim(fx->store, fx->id.public_key, &fx->why));
  struct hls_summarise_result res = reconcile(fx); /* the profile */
  assert_int_equal(res.receipts, 0);
  fx->ctx.publish_receipts = false; /* publish.receipts = off: what is owed waits */
  uint8_t waiting[32] = {9};
  OK(hls_store_receipt_owe(fx->store, waiting, 1, HLS_BODY_HELD, 1, 1, NULL, &fx->why));
  res = reconcile(fx);
  assert_int_equal(res.receipts, 0);
  assert_false(res.receipts_waiting);
  fx->ctx.publish_receipts = true;
  const size_t total = HLS_RECEIPT_MAX_ENTRIES + 6;
  for (size_t i = 0; i < total - 1; i++) { /* and the one that waited */
    uint8_t origin[32] = {0};
    origin[0] = (uint8_t)(1 + i % 3); /* three other origins */
    bool noted = false;
    OK(hls_store_receipt_owe(fx->store, origin, 2 + i / 3, HLS_BODY_HELD, 1, 1, &noted, &fx->why));
    assert_true(noted);
  }
  uint8_t self_origin[32];
  memcpy(self_origin, fx->id.public_key, 32);
  bool noted = true;
  OK(hls_store_receipt_owe(fx->store, self_origin, 2, HLS_BODY_HELD, 1, 1, &noted, &fx->why));
  assert_false(noted); /* never to itself */
  res = reconcile(fx);
  assert_int_equal(res.receipts, 1);
  assert_true(res.receipts_waiting);
  res = reconcile(fx);
  assert_int_equal(res.receipts, 1);
  assert_false(res.receipts_waiting);
  res = reconcile(fx);
  assert_int_equal(res.receipts, 0);
  /* The two receipts: every entry once, in order within each. */
  uint64_t head;
  uint8_t head_id[32];
  OK(hls_store_chain_head(fx->store, fx->id.public_key, &head, head_id, &fx->why));
  size_t seen = 0;
  for (uint64_t seq = head - 1; seq <= head; seq++) {
    struct hls_item it;
    item_load(fx, seq, &it);
    assert_int_equal(it.type, HLS_ENV_RECEIPT);
    struct hls_receipt r;
    OK(hls_receipt_decode(&r, it.body, it.body_len, &fx->why));
    assert_int_equal(r.n_entries, seq == head - 1 ? HLS_RECEIPT_MAX_ENTRIES : 6);
    for (size_t i = 0; i < r.n_entries; i++) {
      assert_int_equal(r.entries[i].state, HLS_RECEIPT_ERASED);
      assert_true((r.entries[i].origin[0] >= 1 && r.entries[i].origin[0] <= 3) || r.entries[i].origin[0] == 9);
    }
    seen += r.n_entries;
    hls_receipt_free(&r);
    hls_item_clear(&it);
  }
  assert_int_equal(seen, total);
  struct hls_receipt_entry left[1];
  size_t n;
  bool more;
  OK(hls_store_receipts_pending(fx->store, left, 1, &n, &more, &fx->why));
  assert_int_equal(n, 0);
}

/* Restore: the store becomes the copy at path; the items come back. */
static void restore_and_receive(struct fixture *fx, const char *path, struct sent_back *back) {
  hls_store_free(fx->store);
  assert_int_equal(rename(path, fx->db_path), 0);
  char side[160];
  snprintf(side, sizeof side, "%s-wal", fx->db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", fx->db_path);
  unlink(side);
  struct hls_store_options opt = {.synchronous_full = false};
  OK(hls_store_open(&fx->store, fx->db_path, &opt, &fx->why));
  fx->ctx.store = fx->store;
  for (size_t i = 0; i < back->n; i++) {
    struct hls_envelope env;
    OK(hls_env_decode(&env, back->bytes[i], back->len[i], &fx->why));
    OK(hls_store_item_put(fx->store, &env, env.body ? HLS_BODY_HELD : HLS_BODY_STUB, fx->ctx.now_ms, &fx->why));
    free(back->bytes[i]);
  }
}

static void test_adopt_after_restore(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 2);
  int64_t a = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "alpha");
  int64_t b = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "alpha");
  int64_t e = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "alpha");
  int64_t gone = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "alpha");
  approve(fx, a);
  approve(fx, b);
  approve(fx, gone);
  set_today(fx, day_of(fx, 1, 0));
  reconcile(fx);
  struct hls_published sb, sgone, old_digest;
  assert_int_equal(live_stories(fx, b, &sb), 1);
  assert_int_equal(live_stories(fx, gone, &sgone), 1);
  int y, w;
  hls_iso_week(day, &y, &w);
  OK(hls_store_published_current(fx->store, HLS_ENV_DIGEST, y, w, &old_digest, &fx->why));
  struct hls_published old_profile;
  OK(hls_store_published_current(fx->store, HLS_ENV_PROFILE, 0, 0, &old_profile, &fx->why));
  char backup[160];
  snprintf(backup, sizeof backup, "%s/backup.db", fx->dir);
  OK(hls_store_backup(fx->store, backup, &fx->why));
  uint64_t at_backup = chain_head(fx);

  /* After the copy: b withdrawn, gone deleted, e approved (a peers story),
   * d recorded and shared, the profile renamed. */
  withdraw(fx, b);
  OK(hls_store_record_delete(fx->store, gone, &fx->why));
  approve(fx, e);
  int64_t d = add_record(fx, day_of(fx, 1, 1), HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "beta");
  approve(fx, d);
  snprintf(fx->profile.place, sizeof fx->profile.place, "%s", "Gateshead Council");
  reconcile(fx);
  struct hls_published se, sd;
  assert_int_equal(live_stories(fx, e, &se), 1);
  assert_int_equal(live_stories(fx, d, &sd), 1);
  uint64_t signed_head = chain_head(fx);
  struct sent_back back;
  collect_sent_back(fx, at_backup, signed_head, &back);

  restore_and_receive(fx, backup, &back);
  assert_int_equal(chain_head(fx), signed_head);
  struct hls_summarise_adopted adopted;
  OK(hls_summarise_adopt(&fx->ctx, &adopted, &fx->why));
  assert_int_equal(adopted.items, signed_head - at_backup);
  assert_int_equal(adopted.orphaned_stories, 1); /* d: recorded after the copy */
  assert_int_equal(pub_count(fx), signed_head);
  /* The profile and the week's digest: superseded as when published. */
  assert_true(pub_get(fx, old_profile.seq).superseded_by > at_backup);
  assert_true(pub_get(fx, old_digest.seq).superseded_by > at_backup);
  /* b: erased, and private again (the withdrawal came back with it). */
  assert_tombstoned(fx, sb.seq, HLS_TOMB_CONSENT_WITHDRAWN);
  struct hls_record r;
  load_record(fx, b, &r);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  assert_int_equal(r.consent_ended, HLS_CONSENT_WITHDRAWN);
  hls_record_clear(&r);
  assert_int_equal(share_state(fx, b), -1);
  /* gone: deleted again. */
  assert_tombstoned(fx, sgone.seq, HLS_TOMB_RECORD_DELETED);
  assert_int_equal(hls_store_record_get(fx->store, gone, &r, &fx->why), HLS_ENOTFOUND);
  /* e: matched to its record by content; its body (a stub from peers) put
   * back. d: no record. */
  struct hls_published pe = pub_get(fx, se.seq), pd = pub_get(fx, sd.seq);
  assert_int_equal(pe.record_id, e);
  assert_true(pe.has_content_hash);
  assert_body_held(fx, se.seq);
  assert_int_equal(pd.record_id, 0);
  /* Adopting again changes nothing. */
  OK(hls_summarise_adopt(&fx->ctx, &adopted, &fx->why));
  assert_int_equal(adopted.items, 0);

  /* Publishing again: d's story (its record is not here) is withdrawn;
   * nothing of b, gone or e goes out; the week is counted as the store
   * now says (a, e: b is private, gone deleted). */
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 1);
  assert_tombstoned(fx, sd.seq, HLS_TOMB_RECORD_DELETED);
  assert_int_equal(live_stories(fx, b, NULL), 0);
  assert_int_equal(live_stories(fx, e, NULL), 1);
  assert_int_equal(live_stories(fx, a, NULL), 1);
  res = reconcile(fx);
  EXPECT_RES(res, 0, 0, 0, 0);
}

static void test_failed_reconcile_publishes_nothing(void **state) {
  struct fixture *fx = *state;
  hls_day day = day_of(fx, 0, 2);
  int64_t a = add_record(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "alpha");
  int64_t b = add_expiring(fx, day, HLS_SCALE_ORGANISATION, HLS_CONSENT_NETWORK, "alpha", day_of(fx, 1, 3));
  approve(fx, a);
  approve(fx, b);
  set_today(fx, day_of(fx, 1, 0));
  struct hls_summarise_result res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 2, 0);
  struct hls_published pa, pb;
  assert_int_equal(live_stories(fx, a, &pa), 1);
  assert_int_equal(live_stories(fx, b, &pb), 1);
  uint64_t head = chain_head(fx);
  size_t npub = pub_count(fx);

  /* Work for every step: a profile change, a withdrawal (tombstone and
   * erasure), an expiry (consent ended in the store), a digest to
   * re-issue. The digest, written last, fails. */
  withdraw(fx, a);
  snprintf(fx->profile.region, sizeof fx->profile.region, "%s", "Elsewhere");
  set_today(fx, day_of(fx, 1, 3));
  exec_other(fx,
             "CREATE TRIGGER fail_digest BEFORE INSERT ON published WHEN NEW.type = 2"
             " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  assert_int_equal(reconcile_rc(fx, &res), HLS_ESTORE);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(chain_head(fx), head);
  assert_int_equal(pub_count(fx), npub);
  assert_body_held(fx, pa.seq);
  assert_body_held(fx, pb.seq);
  assert_int_equal(pub_get(fx, pa.seq).erased_by, 0);
  assert_int_equal(share_state(fx, a), HLS_SHARE_APPROVED);
  assert_int_equal(share_state(fx, b), HLS_SHARE_APPROVED);
  struct hls_record r;
  load_record(fx, b, &r);
  assert_int_equal(r.consent, HLS_CONSENT_NETWORK);
  assert_int_equal(r.consent_ended, HLS_CONSENT_CURRENT);
  hls_record_clear(&r);
  struct hls_published cur;
  OK(hls_store_published_current(fx->store, HLS_ENV_PROFILE, 0, 0, &cur, &fx->why));
  assert_int_equal(cur.seq, 1);
  check_chain(fx);

  /* With the fault gone, the same reconcile goes through. */
  exec_other(fx, "DROP TRIGGER fail_digest");
  res = reconcile(fx);
  EXPECT_RES(res, 1, 1, 0, 2);
  assert_int_equal(res.expired, 1);
  assert_tombstoned(fx, pa.seq, HLS_TOMB_CONSENT_WITHDRAWN);
  assert_tombstoned(fx, pb.seq, HLS_TOMB_CONSENT_EXPIRED);
  assert_int_equal(chain_head(fx), head + 4);

  /* A table dropped under the store: the profile (written first) is not
   * published either. */
  add_record(fx, day_of(fx, 1, 3), HLS_SCALE_ORGANISATION, HLS_CONSENT_PEERS, "beta");
  snprintf(fx->profile.region, sizeof fx->profile.region, "%s", "North East");
  head = chain_head(fx);
  npub = pub_count(fx);
  OK(hls_store_published_current(fx->store, HLS_ENV_PROFILE, 0, 0, &cur, &fx->why));
  uint64_t profile_seq = cur.seq;
  exec_other(fx, "DROP TABLE shares");
  assert_int_not_equal(reconcile_rc(fx, &res), 0);
  EXPECT_RES(res, 0, 0, 0, 0);
  assert_int_equal(chain_head(fx), head);
  assert_int_equal(pub_count(fx), npub);
  OK(hls_store_published_current(fx->store, HLS_ENV_PROFILE, 0, 0, &cur, &fx->why));
  assert_int_equal(cur.seq, profile_seq);
  check_chain(fx);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  hls_log_set_level(HLS_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_consent_matrix, setup, teardown),
      cmocka_unit_test_setup_teardown(test_story_in_current_week, setup, teardown),
      cmocka_unit_test_setup_teardown(test_suppression, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keyed_suppression, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotation_keeps_rounding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_suppression_every_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_week_lifecycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_record_moves_week, setup, teardown),
      cmocka_unit_test_setup_teardown(test_week_across_new_year, setup, teardown),
      cmocka_unit_test_setup_teardown(test_withdraw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_withdraw_to_aggregate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete_whole_week, setup, teardown),
      cmocka_unit_test_setup_teardown(test_narrow_network_to_peers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry_while_stopped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry_forgets_unpublished_approval, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry_with_no_dirty_weeks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dirty_weeks_without_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_correction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_before_publishing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chain_and_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_signed_by_identity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_preview_and_review, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_reconcile_publishes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_adopt_after_restore, setup, teardown),
      cmocka_unit_test_setup_teardown(test_receipts_published, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forks_reported, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
