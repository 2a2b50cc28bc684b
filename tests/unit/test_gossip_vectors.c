/* Known-answer gossip frames (docs/test-vectors/gossip.json, docs/protocol.md
 * section 8.8): two engines exchange the chain of
 * docs/test-vectors/envelopes.json and every frame they send is compared
 * byte for byte with the file.
 *
 *   test_gossip_vectors                 check
 *   test_gossip_vectors --write FILE    regenerate (review the diff!)
 *
 * Node A (seed 0x01..0x20) is the origin; node B (seed 0x21..0x40) is A's
 * direct peer. Scenario "sync": A holds the whole chain (its story, seq 3,
 * erased by the tombstone at seq 4), B nothing. Scenario "want": A holds
 * seq 1-3 with the story's body, B holds seq 1-3 with the story as a stub
 * and asks A for the body. */
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "gossip.h"

#define MAX_ITEMS 8
#define MAX_FRAMES 32

struct item {
  uint8_t *stub;
  size_t stub_len;
  uint8_t *body;
  size_t body_len;
  int state, audience;
};

struct node {
  const char *name;
  uint8_t pk[32];
  uint8_t origin[32]; /* the one origin held (A) */
  struct item items[MAX_ITEMS + 1];
  uint64_t head;
  struct hls_gossip *g;
  struct hls_gossip_session *s;
  struct node *peer;
  bool direct; /* the peer is this node's direct peer */
};

struct frame {
  char from[8];
  uint8_t *bytes;
  size_t len;
};

static struct frame queue[MAX_FRAMES];
static size_t n_queue;
static struct frame log_frames[MAX_FRAMES];
static size_t n_log;
static const char *current_scenario;
static json_t *out_scenarios;

static uint8_t *unhex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  uint8_t *b = malloc(n ? n : 1);
  assert_non_null(b);
  assert_int_equal(sodium_hex2bin(b, n, hex, strlen(hex), NULL, len, NULL), 0);
  return b;
}

static int st_get(void *ctx, const uint8_t origin[32], uint64_t seq, struct hls_gossip_item *out) {
  struct node *n = ctx;
  if (memcmp(origin, n->origin, 32) != 0 || seq == 0 || seq > n->head) return HLS_ENOTFOUND;
  const struct item *it = &n->items[seq];
  *out = (struct hls_gossip_item){.stub = it->stub, .stub_len = it->stub_len, .body = it->body,
                                  .body_len = it->body_len, .state = it->state, .audience = it->audience};
  return 0;
}

static int st_stubs(void *ctx, const uint8_t origin[32], uint64_t after, uint64_t *seqs, size_t max, size_t *n) {
  struct node *nd = ctx;
  *n = 0;
  if (memcmp(origin, nd->origin, 32) != 0) return 0;
  for (uint64_t q = after + 1; q <= nd->head && *n < max; q++)
    if (nd->items[q].state == HLS_BODY_STUB && nd->items[q].audience == HLS_AUD_PEERS) seqs[(*n)++] = q;
  return 0;
}

static bool st_direct(void *ctx, const uint8_t pk[32]) {
  struct node *n = ctx;
  return n->direct && memcmp(pk, n->peer->pk, 32) == 0;
}

static void set_item(struct item *it, const struct hls_envelope *e, int state) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_int_equal(hls_env_encode_stub(&sb, e), 0);
  free(it->stub);
  it->stub = (uint8_t *)sb.data;
  it->stub_len = sb.size;
  free(it->body);
  it->body = NULL;
  it->body_len = 0;
  if (state == HLS_BODY_HELD && e->body != NULL) {
    it->body = malloc(e->body_len);
    memcpy(it->body, e->body, e->body_len);
    it->body_len = e->body_len;
  }
  it->state = state;
  it->audience = e->h.audience;
}

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct node *n = ctx;
  switch (a->type) {
  case HLS_GA_SEND:
    assert_true(n_queue < MAX_FRAMES);
    snprintf(queue[n_queue].from, sizeof queue[0].from, "%s", n->name);
    queue[n_queue].len = a->frame_len;
    queue[n_queue].bytes = malloc(a->frame_len);
    memcpy(queue[n_queue].bytes, a->frame, a->frame_len);
    n_queue++;
    return 0;
  case HLS_GA_STORE:
    for (size_t i = 0; i < a->n; i++) {
      uint64_t q = a->envs[i].h.seq;
      assert_int_equal(q, n->head + 1);
      memcpy(n->origin, a->envs[i].h.origin, 32);
      set_item(&n->items[q], &a->envs[i], a->states[i]);
      n->head = q;
    }
    return 0;
  case HLS_GA_BODY:
    set_item(&n->items[a->envs[0].h.seq], &a->envs[0], 0);
    return 0;
  case HLS_GA_ERASE:
    free(n->items[a->seq].body);
    n->items[a->seq].body = NULL;
    n->items[a->seq].state = HLS_BODY_ERASED;
    return 0;
  default:
    fail_msg("unexpected action %d", a->type);
  }
  return 0;
}

static void node_init(struct node *n, const char *name, uint8_t seed0) {
  memset(n, 0, sizeof *n);
  n->name = name;
  uint8_t seed[32], sk[64];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(seed0 + i);
  crypto_sign_seed_keypair(n->pk, sk, seed);
  sodium_memzero(sk, sizeof sk);
}

static void node_start(struct node *n) {
  struct hls_gossip_config cfg;
  hls_gossip_config_init(&cfg, n->pk);
  cfg.seed = 1;
  struct hls_gossip_store st = {.ctx = n, .get = st_get, .stubs = st_stubs, .is_direct_peer = st_direct};
  assert_int_equal(hls_gossip_new(&n->g, &cfg, &st, emit, n), 0);
  if (n->head > 0) {
    struct hls_envelope e;
    assert_int_equal(hls_env_decode(&e, n->items[n->head].stub, n->items[n->head].stub_len, NULL), 0);
    assert_int_equal(hls_gossip_load_origin(n->g, n->origin, n->head, e.id, false, NULL), 0);
  }
}

static void node_free(struct node *n) {
  hls_gossip_disconnected(n->g, n->s);
  hls_gossip_free(n->g);
  for (int i = 0; i <= MAX_ITEMS; i++) {
    free(n->items[i].stub);
    free(n->items[i].body);
  }
}

/* Deliver queued frames in order until quiet, logging each. */
static void run(struct node *a, struct node *b) {
  for (size_t i = 0; i < n_queue; i++) {
    struct frame *f = &queue[i];
    struct node *to = strcmp(f->from, a->name) == 0 ? b : a;
    struct hls_why why = {{0}};
    int rc = hls_gossip_frame(to->g, to->s, f->bytes + 4, f->len - 4, &why);
    assert_int_equal(rc, 0);
    assert_true(n_log < MAX_FRAMES);
    log_frames[n_log++] = *f;
  }
  n_queue = 0;
}

static void load_chain(json_t *vectors, struct hls_envelope *envs, uint8_t **bytes, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t len;
    bytes[i] = unhex(json_string_value(json_object_get(json_array_get(vectors, i), "envelope")), &len);
    assert_int_equal(hls_env_decode(&envs[i], bytes[i], len, NULL), 0);
  }
}

/* Compare (or record) the frames of one scenario. */
static void check_frames(json_t *expected) {
  json_t *got = json_array();
  for (size_t i = 0; i < n_log; i++) {
    char *hex = malloc(log_frames[i].len * 2 + 1);
    sodium_bin2hex(hex, log_frames[i].len * 2 + 1, log_frames[i].bytes, log_frames[i].len);
    json_array_append_new(got, json_pack("{s:s, s:s}", "from", log_frames[i].from, "frame", hex));
    free(hex);
    free(log_frames[i].bytes);
  }
  n_log = 0;
  if (out_scenarios != NULL) {
    json_object_set_new(out_scenarios, current_scenario, got);
    return;
  }
  assert_non_null(expected);
  assert_int_equal(json_array_size(got), json_array_size(expected));
  for (size_t i = 0; i < json_array_size(got); i++) {
    json_t *g = json_array_get(got, i), *e = json_array_get(expected, i);
    assert_string_equal(json_string_value(json_object_get(g, "from")), json_string_value(json_object_get(e, "from")));
    assert_string_equal(json_string_value(json_object_get(g, "frame")), json_string_value(json_object_get(e, "frame")));
  }
  json_decref(got);
}

static json_t *envelopes_json, *gossip_json;

static void test_sync(void **state) {
  (void)state;
  struct hls_envelope envs[4];
  uint8_t *bytes[4];
  load_chain(json_object_get(envelopes_json, "vectors"), envs, bytes, 4);
  struct node a, b;
  node_init(&a, "A", 0x01);
  node_init(&b, "B", 0x21);
  a.peer = &b, b.peer = &a, a.direct = true;
  assert_memory_equal(a.pk, envs[0].h.origin, 32);
  memcpy(a.origin, a.pk, 32);
  for (int i = 0; i < 4; i++) set_item(&a.items[i + 1], &envs[i], envs[i].body != NULL && i != 2 ? 0 : 2);
  a.head = 4;
  node_start(&a);
  node_start(&b);
  current_scenario = "sync";
  assert_int_equal(hls_gossip_connected(a.g, b.pk, NULL, &a.s), 0);
  assert_int_equal(hls_gossip_connected(b.g, a.pk, NULL, &b.s), 0);
  run(&a, &b);
  assert_int_equal(b.head, 4);
  assert_int_equal(b.items[3].state, 2); /* the erased story: a stub, erased at B too */
  assert_int_equal(b.items[2].state, 0);
  check_frames(gossip_json ? json_object_get(json_object_get(gossip_json, "scenarios"), "sync") : NULL);
  node_free(&a);
  node_free(&b);
  for (int i = 0; i < 4; i++) free(bytes[i]);
}

static void test_want(void **state) {
  (void)state;
  struct hls_envelope envs[4];
  uint8_t *bytes[4];
  load_chain(json_object_get(envelopes_json, "vectors"), envs, bytes, 4);
  struct node a, b;
  node_init(&a, "A", 0x01);
  node_init(&b, "B", 0x21);
  a.peer = &b, b.peer = &a, a.direct = true;
  memcpy(a.origin, a.pk, 32);
  memcpy(b.origin, a.pk, 32);
  for (int i = 0; i < 3; i++) {
    set_item(&a.items[i + 1], &envs[i], 0);
    set_item(&b.items[i + 1], &envs[i], i == 2 ? 1 : 0);
  }
  a.head = b.head = 3;
  node_start(&a);
  node_start(&b);
  current_scenario = "want";
  assert_int_equal(hls_gossip_connected(a.g, b.pk, NULL, &a.s), 0);
  assert_int_equal(hls_gossip_connected(b.g, a.pk, NULL, &b.s), 0);
  run(&a, &b);
  assert_int_equal(b.items[3].state, 0);
  assert_non_null(b.items[3].body);
  check_frames(gossip_json ? json_object_get(json_object_get(gossip_json, "scenarios"), "want") : NULL);
  node_free(&a);
  node_free(&b);
  for (int i = 0; i < 4; i++) free(bytes[i]);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  json_error_t err;
  envelopes_json = json_load_file(HLS_ENVELOPE_VECTORS, 0, &err);
  if (envelopes_json == NULL) {
    fprintf(stderr, "%s: %s\n", HLS_ENVELOPE_VECTORS, err.text);
    return 1;
  }
  const char *write_to = argc == 3 && strcmp(argv[1], "--write") == 0 ? argv[2] : NULL;
  if (write_to != NULL) {
    out_scenarios = json_object();
  } else {
    gossip_json = json_load_file(HLS_GOSSIP_VECTORS, 0, &err);
    if (gossip_json == NULL) {
      fprintf(stderr, "%s: %s\n", HLS_GOSSIP_VECTORS, err.text);
      return 1;
    }
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_sync), cmocka_unit_test(test_want)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (write_to != NULL && rc == 0) {
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:o}", "description",
        "Gossip frames (docs/protocol.md section 8) exchanged by node A (Ed25519 seed 01..20, the origin of the chain "
        "in envelopes.json) and node B (seed 21..40, A's direct peer). Each frame: the sender and the whole frame "
        "in hex, 4-byte length included, in the order sent and delivered.",
        "sync", "A holds seq 1-4 (the peers story, seq 3, erased by the tombstone seq 4); B holds nothing.", "want",
        "A and B hold seq 1-3; B holds the peers story (seq 3) as a stub and asks A for its body.", "scenarios",
        out_scenarios);
    rc = json_dump_file(doc, write_to, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
    json_decref(doc);
  }
  json_decref(envelopes_json);
  json_decref(gossip_json);
  return rc;
}
