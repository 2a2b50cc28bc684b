/* hls import-items end to end, without files or sockets: the .items
 * splitter and the items.import request decoder (protocol/items.h), the
 * import order, and the gossip engine's import (hls_gossip_import) into a
 * small in-memory store.
 *
 * The first byte picks what the rest is:
 *   0  a .items file: split with hls_items_next as hls does;
 *   1  an items.import control request payload (no 4-byte length), decoded
 *      with hls_ctl_request_decode and hls_items_request_decode as hlsd does;
 *   2  a .items file cut from the genuine chains of gossip_fixture.h (the
 *      fuzzer cannot sign): pairs (sel, arg), chain sel % GFX_CHAINS, from
 *      seq (sel / GFX_CHAINS) % n + 1, (arg & 7) + 1 items, stubs if
 *      arg & 0x80; they give forks (OTHER and FORK), a broken signature,
 *      tombstones and peers stories.
 * Modes 0 and 2 order what they split with hls_items_order; all three
 * import the envelopes run by run (hls_items_run_length), then again.
 *
 * Checked beyond memory safety and leaks:
 *  - split: errors are the decoder's codes, nothing used on an error; an
 *    envelope split off re-encodes to exactly its bytes, splits the same
 *    when the input ends right after it, and is truncated one byte short;
 *  - request: 1 to HLS_IMPORT_ITEMS_MAX envelopes, each the bytes given;
 *  - order: runs sorted by origin then seq, one item per (origin, seq);
 *    each item after the runs conflicts with one in them; nothing lost
 *    but identical duplicates;
 *  - import: errors only the ones hls_gossip_import names; every STORE
 *    extends the held chain (next seq, linked) with items whose own
 *    signatures verify, bodies only of network items, a tombstone only
 *    after its target's body is erased; ERASE names a held story or
 *    digest; FORK evidence is two verifying items of one origin that
 *    conflict; no SEND, BODY or DIAL without sessions; the engine's head
 *    is the store's after every call; importing again stores nothing
 *    (a request in any order: after a few passes). */
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "ctl.h"
#include "fuzz.h"
#include "gossip.h"
#include "gossip_fixture.h"
#include "hls_limits.h"
#include "items.h"

#define MAX_ORIGINS 4
#define MAX_HELD 64

struct held {
  uint8_t *stub; /* owned */
  size_t stub_len;
  uint8_t *body; /* owned, NULL unless state 0 */
  size_t body_len;
  int state, audience, type;
  uint8_t id[HLS_HASH_BYTES];
};

struct ochain {
  uint8_t pk[HLS_KEY_BYTES];
  size_t n;
  bool forked;
  struct held it[MAX_HELD];
};

struct store {
  struct ochain o[MAX_ORIGINS + 1]; /* the engine follows at most MAX_ORIGINS */
  size_t n_o;
  struct hls_gossip *g;
};

static struct ochain *find(struct store *s, const uint8_t *pk) {
  for (size_t i = 0; i < s->n_o; i++)
    if (memcmp(s->o[i].pk, pk, HLS_KEY_BYTES) == 0) return &s->o[i];
  return NULL;
}

static void store_free(struct store *s) {
  for (size_t i = 0; i < s->n_o; i++)
    for (size_t j = 0; j < s->o[i].n; j++) {
      free(s->o[i].it[j].stub);
      free(s->o[i].it[j].body);
    }
  hls_gossip_free(s->g);
}

static int st_get(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t seq, struct hls_gossip_item *out) {
  struct ochain *o = find(ctx, origin);
  if (o == NULL || seq == 0 || seq > o->n) return HLS_ENOTFOUND;
  const struct held *h = &o->it[seq - 1];
  memset(out, 0, sizeof *out);
  out->stub = h->stub;
  out->stub_len = h->stub_len;
  out->body = h->body;
  out->body_len = h->body_len;
  out->state = h->state;
  out->audience = h->audience;
  return 0;
}

static int st_stubs(void *ctx, const uint8_t origin[HLS_KEY_BYTES], uint64_t after, uint64_t *seqs, size_t max,
                    size_t *n) {
  struct ochain *o = find(ctx, origin);
  *n = 0;
  for (uint64_t q = after + 1; o != NULL && q <= o->n && *n < max; q++)
    if (o->it[q - 1].state == 1 && o->it[q - 1].audience == HLS_AUD_PEERS) seqs[(*n)++] = q;
  return 0;
}

static bool st_is_direct_peer(void *ctx, const uint8_t pk[HLS_KEY_BYTES]) {
  (void)ctx, (void)pk;
  return false;
}

static void store_one(struct store *s, const struct hls_envelope *e, int state) {
  struct ochain *o = find(s, e->h.origin);
  if (o == NULL) {
    FUZZ_CHECK(s->n_o < MAX_ORIGINS); /* max_origins */
    o = &s->o[s->n_o++];
    memset(o, 0, sizeof *o);
    memcpy(o->pk, e->h.origin, HLS_KEY_BYTES);
  }
  FUZZ_CHECK(!o->forked);
  FUZZ_CHECK(e->h.seq == o->n + 1 && o->n < MAX_HELD);
  if (o->n > 0) {
    struct hls_envelope prev;
    FUZZ_CHECK(hls_env_decode(&prev, o->it[o->n - 1].stub, o->it[o->n - 1].stub_len, NULL) == 0);
    FUZZ_CHECK(hls_env_check_link(&prev, e) == 0);
  }
  FUZZ_CHECK(hls_env_verify(e) == 0); /* every item, not only a run's last */
  FUZZ_CHECK((state == 0) == (e->body != NULL) && (state == 0 || state == 1));
  FUZZ_CHECK(e->body == NULL || e->h.audience == HLS_AUD_NETWORK); /* no peers body without its origin */
  if (e->h.type == HLS_ENV_TOMBSTONE) {
    struct hls_tombstone t;
    FUZZ_CHECK(e->body != NULL && hls_tombstone_decode(&t, e->body, e->body_len, NULL) == 0);
    const struct held *target = &o->it[t.target_seq - 1];
    if (target->type == HLS_ENV_STORY || target->type == HLS_ENV_DIGEST) FUZZ_CHECK(target->state == 2);
  }
  struct held *h = &o->it[o->n++];
  memset(h, 0, sizeof *h);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  FUZZ_CHECK(hls_env_encode_stub(&sb, e) == 0);
  h->stub = gfx_dup(sb.data, sb.size);
  h->stub_len = sb.size;
  msgpack_sbuffer_destroy(&sb);
  if (state == 0) {
    h->body = gfx_dup(e->body, e->body_len);
    h->body_len = e->body_len;
  }
  h->state = state;
  h->audience = e->h.audience;
  h->type = e->h.type;
  memcpy(h->id, e->id, HLS_HASH_BYTES);
}

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct store *s = ctx;
  switch (a->type) {
    case HLS_GA_STORE:
      FUZZ_CHECK(a->n >= 1);
      for (size_t i = 0; i < a->n; i++) store_one(s, &a->envs[i], a->states[i]);
      return 0;
    case HLS_GA_ERASE: {
      struct ochain *o = find(s, a->origin);
      FUZZ_CHECK(o != NULL && a->seq >= 1 && a->seq <= o->n);
      struct held *h = &o->it[a->seq - 1];
      FUZZ_CHECK(h->type == HLS_ENV_STORY || h->type == HLS_ENV_DIGEST);
      free(h->body);
      h->body = NULL;
      h->body_len = 0;
      h->state = 2;
      return 0;
    }
    case HLS_GA_FORK: {
      struct ochain *o = find(s, a->origin);
      FUZZ_CHECK(o != NULL && a->seq >= 1 && a->seq <= o->n && !o->forked);
      struct hls_envelope ours, theirs;
      FUZZ_CHECK(hls_env_decode(&ours, a->ours, a->ours_len, NULL) == 0);
      FUZZ_CHECK(hls_env_decode(&theirs, a->theirs, a->theirs_len, NULL) == 0);
      FUZZ_CHECK(hls_env_verify(&ours) == 0 && hls_env_verify(&theirs) == 0);
      FUZZ_CHECK(memcmp(ours.id, o->it[a->seq - 1].id, HLS_HASH_BYTES) == 0);
      FUZZ_CHECK(memcmp(theirs.h.origin, a->origin, HLS_KEY_BYTES) == 0);
      if (theirs.h.seq == a->seq) FUZZ_CHECK(memcmp(ours.id, theirs.id, HLS_HASH_BYTES) != 0);
      else FUZZ_CHECK(theirs.h.seq == a->seq + 1 && memcmp(theirs.h.prev, ours.id, HLS_HASH_BYTES) != 0);
      o->forked = true;
      return 0;
    }
    default: FUZZ_CHECK(!"SEND, BODY or DIAL without a session");
  }
  return 0;
}

static void check_heads(struct store *s) {
  for (size_t i = 0; i < s->n_o; i++) FUZZ_CHECK(hls_gossip_head(s->g, s->o[i].pk) == s->o[i].n);
}

/* Import envs run by run, as hlsd does (going on after a refused run, to
 * reach more states); the totals. */
static void import_all(struct store *s, const struct hls_envelope *envs, size_t n,
                       struct hls_gossip_import_result *res) {
  for (size_t at = 0; at < n;) {
    size_t m = hls_items_run_length(&envs[at], n - at);
    FUZZ_CHECK(m >= 1 && m <= n - at);
    struct hls_why why = {{0}};
    struct hls_gossip_import_result before = *res;
    int rc = hls_gossip_import(s->g, &envs[at], m, res, &why);
    FUZZ_CHECK(rc == 0 || rc == HLS_ECHAIN || rc == HLS_EBADSIG || rc == HLS_EMALFORMED || rc == HLS_ELIMIT);
    FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL);
    if (rc != 0) {
      FUZZ_CHECK(res->imported == before.imported && res->held == before.held && why.text[0] != '\0');
      FUZZ_CHECK(res->error_seq >= envs[at].h.seq && res->error_seq < envs[at].h.seq + m);
    } else {
      FUZZ_CHECK(res->imported + res->held + res->ignored - before.imported - before.held - before.ignored <= m);
    }
    check_heads(s);
    at += m;
  }
}

/* ordered: as hls sends them (hls_items_order), so that a second import
 * stores nothing; otherwise (a request in any order) a later pass may take
 * what an earlier one found a gap before, but the passes soon stop adding. */
static void run_import(const struct hls_envelope *envs, size_t n, bool ordered) {
  struct store s;
  memset(&s, 0, sizeof s);
  uint8_t self[HLS_KEY_BYTES];
  memset(self, 0x5e, sizeof self);
  struct hls_gossip_config cfg;
  hls_gossip_config_init(&cfg, self);
  cfg.max_origins = MAX_ORIGINS;
  struct hls_gossip_store st = {.ctx = &s, .get = st_get, .stubs = st_stubs, .is_direct_peer = st_is_direct_peer};
  FUZZ_CHECK(hls_gossip_new(&s.g, &cfg, &st, emit, &s) == 0);
  struct hls_gossip_import_result first = {0};
  import_all(&s, envs, n, &first);
  for (size_t pass = 0;; pass++) {
    struct hls_gossip_import_result again = {0};
    import_all(&s, envs, n, &again);
    if (again.imported == 0 && again.forks == 0) {
      FUZZ_CHECK(again.stubbed == 0);
      break;
    }
    FUZZ_CHECK(!ordered && pass < n);
  }
  store_free(&s);
}

/* --- modes ------------------------------------------------------------------------ */

static bool split_code(int rc) {
  return rc == HLS_ETRUNCATED || rc == HLS_ETOOBIG || rc == HLS_EMALFORMED || rc == HLS_ENONCANON ||
         rc == HLS_ETRAILING || rc == HLS_EUNSUPPORTED;
}

/* Split a .items file, order it, import it. */
static void from_file(const uint8_t *data, size_t len) {
  size_t cap = len / 100 + 1, n = 0;
  struct hls_envelope *envs = calloc(cap, sizeof *envs);
  struct hls_items_entry *e = calloc(cap, sizeof *e);
  FUZZ_CHECK(envs != NULL && e != NULL);
  for (size_t at = 0; at < len;) {
    struct hls_envelope env;
    struct hls_why why = {{0}};
    size_t used = 99;
    int rc = hls_items_next(data + at, len - at, &env, &used, &why);
    if (rc != 0) {
      FUZZ_CHECK(split_code(rc) && used == 0 && why.text[0] != '\0');
      break;
    }
    FUZZ_CHECK(used >= 1 && used <= len - at && used <= HLS_ENV_MAX_BYTES);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    FUZZ_CHECK(hls_env_encode(&sb, &env, env.body, env.body_len) == 0);
    FUZZ_CHECK(sb.size == used && memcmp(sb.data, data + at, used) == 0);
    msgpack_sbuffer_destroy(&sb);
    struct hls_envelope again;
    size_t used2;
    FUZZ_CHECK(hls_items_next(data + at, used, &again, &used2, NULL) == 0 && used2 == used);
    FUZZ_CHECK(hls_items_next(data + at, used - 1, &again, &used2, NULL) == HLS_ETRUNCATED);
    if (n == cap) {
      cap *= 2;
      envs = realloc(envs, cap * sizeof *envs);
      e = realloc(e, cap * sizeof *e);
      FUZZ_CHECK(envs != NULL && e != NULL);
    }
    envs[n] = env;
    struct hls_items_entry *x = &e[n];
    memset(x, 0, sizeof *x);
    memcpy(x->origin, env.h.origin, HLS_KEY_BYTES);
    x->seq = env.h.seq;
    memcpy(x->id, env.id, HLS_HASH_BYTES);
    if (env.h.has_prev) memcpy(x->prev, env.h.prev, HLS_HASH_BYTES);
    x->file = (uint32_t)n;
    x->offset = at;
    x->len = (uint32_t)used;
    x->order = n++;
    x->body = env.body != NULL;
    at += used;
  }
  size_t total = n, runs, dups;
  FUZZ_CHECK(hls_items_order(e, &n, &runs, &dups) == 0);
  FUZZ_CHECK(n + dups == total && runs <= n && (total == 0 || runs >= 1));
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++) /* no identical item twice */
      FUZZ_CHECK(!(e[j].seq == e[i].seq && memcmp(e[j].origin, e[i].origin, 32) == 0 &&
                   memcmp(e[j].id, e[i].id, 32) == 0));
    if (i > 0 && i < runs) {
      int c = memcmp(e[i - 1].origin, e[i].origin, HLS_KEY_BYTES);
      FUZZ_CHECK(c < 0 || (c == 0 && e[i - 1].seq < e[i].seq));
    }
    if (i >= runs) {
      bool conflicts = false;
      for (size_t j = 0; j < runs; j++)
        conflicts |= e[j].seq == e[i].seq && memcmp(e[j].origin, e[i].origin, 32) == 0;
      FUZZ_CHECK(conflicts);
    }
  }
  struct hls_envelope *ordered = calloc(n + 1, sizeof *ordered);
  FUZZ_CHECK(ordered != NULL);
  for (size_t i = 0; i < n; i++) ordered[i] = envs[e[i].file];
  run_import(ordered, n, true);
  free(ordered);
  free(envs);
  free(e);
}

static void from_request(const uint8_t *data, size_t len) {
  struct hls_ctl_request req;
  struct hls_why why = {{0}};
  if (hls_ctl_request_decode(&req, data, len, HLS_CTL_MAX_VALUES, &why) != 0) return;
  static struct hls_envelope envs[HLS_IMPORT_ITEMS_MAX];
  size_t n = 99;
  int rc = hls_items_request_decode(req.args, envs, HLS_IMPORT_ITEMS_MAX, &n, &why);
  FUZZ_CHECK(memchr(why.text, '\0', sizeof why.text) != NULL);
  if (rc == 0) {
    const struct hls_mp_value *list = hls_mp_get(req.args, "envelopes");
    FUZZ_CHECK(list != NULL && n == list->len && n >= 1 && n <= HLS_IMPORT_ITEMS_MAX);
    for (size_t i = 0; i < n; i++) {
      msgpack_sbuffer sb;
      msgpack_sbuffer_init(&sb);
      FUZZ_CHECK(hls_env_encode(&sb, &envs[i], envs[i].body, envs[i].body_len) == 0);
      FUZZ_CHECK(sb.size == list->v.items[i].len && memcmp(sb.data, list->v.items[i].v.bin, sb.size) == 0);
      msgpack_sbuffer_destroy(&sb);
    }
    run_import(envs, n, false);
  } else {
    FUZZ_CHECK(n == 0 && (rc == HLS_EINVAL || rc == HLS_ETOOBIG || split_code(rc)));
  }
  hls_ctl_request_free(&req);
}

static void from_fixture(const uint8_t *data, size_t len) {
  const struct gfx *f = gfx_get();
  msgpack_sbuffer file;
  msgpack_sbuffer_init(&file);
  for (size_t i = 0; i + 1 < len && i < 128; i += 2) {
    const struct gfx_chain *c = &f->c[data[i] % GFX_CHAINS];
    uint64_t from = (uint64_t)(data[i] / GFX_CHAINS) % c->n + 1;
    for (uint64_t q = from; q < from + (data[i + 1] & 7u) + 1 && q <= c->n; q++) {
      const struct gfx_item *it = &c->it[q - 1];
      bool stub = (data[i + 1] & 0x80) != 0; /* a tombstone's stub is refused */
      msgpack_sbuffer_write(&file, (const char *)(stub ? it->stub : it->env), stub ? it->stub_len : it->len);
    }
  }
  from_file((const uint8_t *)file.data, file.size);
  msgpack_sbuffer_destroy(&file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (sodium_init() < 0) abort();
  switch (data[0] % 3) {
    case 0: from_file(data + 1, size - 1); break;
    case 1: from_request(data + 1, size - 1); break;
    default: from_fixture(data + 1, size - 1); break;
  }
  return 0;
}
