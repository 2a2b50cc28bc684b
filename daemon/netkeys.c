#include "netkeys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "home.h"
#include "log.h"
#include "mp.h"
#include "net.h"
#include "nodeid.h"
#include "wire.h"

#define KEY_FILE "network.key"
#define OLD_FILE "network.key.old"
#define NEXT_FILE "network.key.next"
#define STATE_FILE "network.rekey"
/* Keys that came before their rekey item: kept this many, newest epochs. */
#define PENDING_MAX 4
/* Dials in a row without an answer to message 1, no session between,
 * before this node says its key may have been rotated away. */
#define UNANSWERED_WARN 3

struct ksess {
  struct hls_conn *conn;
  uint8_t pk[32];
  uint64_t sent; /* the epoch of the key last sent in this session */
};

struct pending {
  uint64_t epoch; /* 0: empty */
  uint8_t key[32];
};

struct hls_netkeys {
  struct hls_netkeys_env env;
  struct hls_peers *peers; /* borrowed */
  uint8_t key[32];         /* newest held */
  uint64_t key_epoch;      /* its epoch: 0 for the network's first key */
  bool has_old;
  uint8_t old[32];
  bool retired; /* the overlap of the newest rekey ended here (deadline or retire-old) */
  /* The newest rekey item held from a steward. */
  bool announced;
  struct hls_rekey ann;
  uint8_t ann_origin[32];
  uint64_t ann_seq;
  bool missed_logged; /* the overlap ended without the key */
  struct pending pending[PENDING_MAX];
  size_t pending_turn;
  /* A rotation this node (a steward) began, waiting to be published. */
  bool asking;
  struct hls_rekey asked;
  uint8_t next[32];
  bool next_held; /* next came from DIR/network.key.next at start */
  uint8_t stewards[HLS_STEWARDS_MAX][32];
  size_t n_stewards;
  struct ksess *sess;
  size_t n_sess, cap_sess;
  bool recheck_due; /* a rekey expelled someone: close their sessions at the next tick */
  int unanswered; /* dials in a row refused at message 1, no session since */
  bool unanswered_logged;
};

static int64_t now(const struct hls_netkeys *k) { return k->env.now_ms(k->env.clock); }

static void apply_keys(struct hls_netkeys *k) {
  if (k->peers != NULL) hls_peers_set_keys(k->peers, k->key, k->has_old ? k->old : NULL);
}

/* --- files --------------------------------------------------------------------- */

static int save_state(struct hls_netkeys *k, struct hls_why *why) {
  size_t cap = 512 + HLS_REKEY_MAX_EXPELLED * 80;
  char *text = malloc(cap);
  if (text == NULL) return HLS_ENOMEM;
  size_t o = (size_t)snprintf(text, cap, "# hlsd network key rotation (hls status shows it). Written by hlsd.\n"
                                         "key_epoch %llu\nretired %d\n",
                              (unsigned long long)k->key_epoch, k->retired ? 1 : 0);
  if (k->announced) {
    char hash[65], origin[65];
    sodium_bin2hex(hash, sizeof hash, k->ann.key_hash, 32);
    sodium_bin2hex(origin, sizeof origin, k->ann_origin, 32);
    o += (size_t)snprintf(text + o, cap - o, "announced %llu %s %llu %s %llu\n", (unsigned long long)k->ann.epoch,
                          hash, (unsigned long long)k->ann.overlap_until_ms, origin, (unsigned long long)k->ann_seq);
    for (size_t i = 0; i < k->ann.n_expelled && o < cap; i++) {
      char id[65];
      sodium_bin2hex(id, sizeof id, k->ann.expelled[i], 32);
      o += (size_t)snprintf(text + o, cap - o, "expelled %s\n", id);
    }
  }
  int rc = hls_home_replace_file(k->env.home, STATE_FILE, text, why);
  free(text);
  return rc;
}

static bool hex32(const char *s, uint8_t out[32]) {
  size_t len = 0;
  return sodium_hex2bin(out, 32, s, strlen(s), NULL, &len, NULL) == 0 && len == 32;
}

static int load_state(struct hls_netkeys *k, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(k->env.home, STATE_FILE, path) != 0) return hls_why_set(why, HLS_ETOOBIG, "path too long");
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0; /* never rotated */
  char line[256];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
    char a[80], b[80];
    unsigned long long x, y, z;
    int flag;
    if (line[0] == '#' || line[0] == '\n') continue;
    if (sscanf(line, "key_epoch %llu", &x) == 1) {
      k->key_epoch = x;
    } else if (sscanf(line, "retired %d", &flag) == 1) {
      k->retired = flag != 0;
    } else if (sscanf(line, "announced %llu %70s %llu %70s %llu", &x, a, &y, b, &z) == 5 && x > 0 &&
               hex32(a, k->ann.key_hash) && hex32(b, k->ann_origin)) {
      k->announced = true;
      k->ann.epoch = x;
      k->ann.overlap_until_ms = y;
      k->ann_seq = z;
    } else if (sscanf(line, "expelled %70s", a) == 1 && k->ann.n_expelled < HLS_REKEY_MAX_EXPELLED &&
               hex32(a, k->ann.expelled[k->ann.n_expelled])) {
      k->ann.n_expelled++;
    } else {
      rc = hls_why_set(why, HLS_ECONFIG, "%s: cannot read the line '%.60s'", path, line);
    }
  }
  fclose(f);
  return rc;
}

static int save_stewards(struct hls_netkeys *k, struct hls_why *why) {
  char text[256 + HLS_STEWARDS_MAX * (HLS_NODEID_TEXT_SIZE + 1)];
  size_t o = (size_t)snprintf(text, sizeof text, "# Stewards of this network: the nodes whose rekey items this "
                                                 "node takes\n# (hls stewards). One node id a line.\n");
  for (size_t i = 0; i < k->n_stewards; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(k->stewards[i], id);
    o += (size_t)snprintf(text + o, sizeof text - o, "%s\n", id);
  }
  return hls_home_replace_file(k->env.home, HLS_STEWARDS_FILE, text, why);
}

static int load_stewards(struct hls_netkeys *k, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(k->env.home, HLS_STEWARDS_FILE, path) != 0) return hls_why_set(why, HLS_ETOOBIG, "path too long");
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0; /* none named */
  char line[256];
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
    size_t len = strcspn(line, "\r\n");
    line[len] = '\0';
    while (len > 0 && line[len - 1] == ' ') line[--len] = '\0';
    if (len == 0 || line[0] == '#') continue;
    if (k->n_stewards == HLS_STEWARDS_MAX)
      rc = hls_why_set(why, HLS_ECONFIG, "%s: more than %d stewards", path, HLS_STEWARDS_MAX);
    else if (hls_nodeid_parse(line, k->stewards[k->n_stewards]) != 0)
      rc = hls_why_set(why, HLS_ECONFIG, "%s: '%.60s' is not a node id", path, line);
    else
      k->n_stewards++;
  }
  fclose(f);
  return rc;
}

int hls_netkeys_new(struct hls_netkeys **out, const struct hls_netkeys_env *env, const uint8_t key[32],
                    struct hls_why *why) {
  *out = NULL;
  struct hls_netkeys *k = sodium_malloc(sizeof *k);
  if (k == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  memset(k, 0, sizeof *k);
  k->env = *env;
  memcpy(k->key, key, 32);
  int rc = load_state(k, why);
  if (rc == 0) rc = load_stewards(k, why);
  if (rc == 0) {
    rc = hls_home_load_key(env->home, OLD_FILE, k->old, why);
    if (rc == 0) k->has_old = true;
    else if (rc == HLS_ENOTFOUND) rc = 0;
  }
  if (rc == 0) {
    /* A rotation begun before hlsd stopped: its rekey may be signed
     * (hls_netkeys_recover decides). */
    rc = hls_home_load_key(env->home, NEXT_FILE, k->next, why);
    if (rc == 0) k->next_held = true;
    else if (rc == HLS_ENOTFOUND) rc = 0;
  }
  if (rc != 0) {
    hls_netkeys_free(k);
    return rc;
  }
  *out = k;
  return 0;
}

void hls_netkeys_free(struct hls_netkeys *k) {
  if (k == NULL) return;
  free(k->sess);
  sodium_free(k); /* wiped */
}

void hls_netkeys_attach(struct hls_netkeys *k, struct hls_peers *peers) {
  k->peers = peers;
  apply_keys(k);
}

const uint8_t *hls_netkeys_current(const struct hls_netkeys *k) { return k->key; }

/* --- stewards -------------------------------------------------------------------- */

bool hls_netkeys_is_steward(const struct hls_netkeys *k, const uint8_t pk[32]) {
  for (size_t i = 0; i < k->n_stewards; i++)
    if (memcmp(k->stewards[i], pk, 32) == 0) return true;
  return false;
}

size_t hls_netkeys_stewards(const struct hls_netkeys *k, uint8_t (*out)[32]) {
  memcpy(out, k->stewards, k->n_stewards * 32);
  return k->n_stewards;
}

int hls_netkeys_stewards_set(struct hls_netkeys *k, const uint8_t (*ids)[32], size_t n, struct hls_why *why) {
  if (n > HLS_STEWARDS_MAX) return hls_why_set(why, HLS_EINVAL, "at most %d stewards", HLS_STEWARDS_MAX);
  uint8_t before[HLS_STEWARDS_MAX][32];
  size_t n_before = k->n_stewards;
  memcpy(before, k->stewards, sizeof before);
  if (n > 0) memcpy(k->stewards, ids, n * 32);
  k->n_stewards = n;
  int rc = save_stewards(k, why);
  if (rc != 0) {
    memcpy(k->stewards, before, sizeof before);
    k->n_stewards = n_before;
  }
  return rc;
}

bool hls_netkeys_steward_succeeded(struct hls_netkeys *k, const uint8_t old_id[32], const uint8_t new_id[32]) {
  if (!hls_netkeys_is_steward(k, old_id) || hls_netkeys_is_steward(k, new_id)) return false;
  uint8_t ids[HLS_STEWARDS_MAX][32];
  size_t n = hls_netkeys_stewards(k, ids);
  for (size_t i = 0; i < n; i++)
    if (memcmp(ids[i], old_id, 32) == 0) memcpy(ids[i], new_id, 32);
  struct hls_why why = {{0}};
  char from[HLS_NODEID_TEXT_SIZE], to[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(old_id, from);
  hls_nodeid_format(new_id, to);
  if (hls_netkeys_stewards_set(k, (const uint8_t(*)[32])ids, n, &why) != 0) {
    hls_log_error("stewards_not_saved", "old=%s new=%s detail=\"%s\"", from, to, why.text);
    return false;
  }
  hls_log_info("steward_succeeded", "old=%s new=%s detail=\"a steward moved to a new key: the new one is the "
               "steward (hls stewards)\"", from, to);
  return true;
}

void hls_netkeys_stewards_learnt(struct hls_netkeys *k, const uint8_t (*ids)[32], size_t n) {
  if (k->n_stewards > 0 || n == 0) return;
  struct hls_why why = {{0}};
  if (hls_netkeys_stewards_set(k, ids, n, &why) != 0)
    hls_log_error("stewards_not_saved", "detail=\"%s\"", why.text);
  else
    hls_log_info("stewards_learnt", "stewards=%zu detail=\"from the inviter (hls stewards)\"", n);
}

/* --- keys ------------------------------------------------------------------------- */

static void announce(struct hls_netkeys *k, const struct hls_rekey *r, const uint8_t origin[32], uint64_t seq);

static bool overlap_over(const struct hls_netkeys *k) {
  return k->retired || (k->announced && (int64_t)k->ann.overlap_until_ms <= now(k));
}

/* Send the newest key in session s if it has not had it: a key of a
 * rekey held, to a peer not expelled whose hello said version 2 (the
 * hello comes after the session opens: the tick tries again). */
static void send_key(struct hls_netkeys *k, struct ksess *s) {
  struct hls_conn *c = s->conn;
  if (k->key_epoch == 0 || !k->announced || k->key_epoch != k->ann.epoch || s->sent >= k->key_epoch) return;
  if (hls_rekey_expels(&k->ann, s->pk) || hls_conn_version(c) < 2) return;
  /* Only to a peer this node lists (its admin added it, or an invite
   * joined the two): whoever holds the old key may connect during the
   * overlap, and a leaked key's holders are strangers nobody listed. */
  if (k->peers == NULL || !hls_peers_is_listed(k->peers, s->pk)) return;
  s->sent = k->key_epoch;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  if (hls_frame_netkey(&sb, k->key_epoch, k->key) == 0 && hls_conn_send(c, (const uint8_t *)sb.data, sb.size) != 0)
    hls_log_debug("netkey_not_sent", "detail=\"the peer's queue is full; it gets it next session\"");
  sodium_memzero(sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* The key of the rekey held (its hash checked): the newest key from now,
 * the one before it accepted until the overlap ends; handed on to every
 * session not expelled. */
static void adopt(struct hls_netkeys *k, const uint8_t key[32]) {
  struct hls_why why = {{0}};
  /* A node that joined with the new key (an invite made after the
   * rotation) holds it already: no previous key to keep. */
  bool keep_old = !((int64_t)k->ann.overlap_until_ms <= now(k)) && sodium_memcmp(key, k->key, 32) != 0;
  int rc = 0;
  if (keep_old) rc = hls_home_write_key(k->env.home, OLD_FILE, k->key, &why);
  else rc = hls_home_remove_file(k->env.home, OLD_FILE, &why);
  if (rc == 0) rc = hls_home_write_key(k->env.home, KEY_FILE, key, &why);
  if (rc != 0) {
    hls_log_error("netkey_not_saved", "epoch=%llu detail=\"%s\" action=kept_old_key", (unsigned long long)k->ann.epoch,
                  why.text);
    return;
  }
  if (keep_old) memcpy(k->old, k->key, 32);
  k->has_old = keep_old;
  memcpy(k->key, key, 32);
  k->key_epoch = k->ann.epoch;
  k->retired = !keep_old;
  if (save_state(k, &why) != 0) hls_log_error("netkey_state_not_saved", "detail=\"%s\"", why.text);
  apply_keys(k);
  char until[21] = "-";
  hls_time_format((int64_t)k->ann.overlap_until_ms, until);
  hls_log_info("network_key_rotated", "epoch=%llu overlap_until=%s detail=\"the new network key is in use; the old "
               "one is accepted until then\"", (unsigned long long)k->key_epoch, until);
  for (size_t i = 0; i < k->n_sess; i++) send_key(k, &k->sess[i]);
}

static void try_pending(struct hls_netkeys *k) {
  for (size_t i = 0; i < PENDING_MAX; i++) {
    struct pending *p = &k->pending[i];
    if (p->epoch == 0) continue;
    if (p->epoch == k->ann.epoch && k->key_epoch < k->ann.epoch) {
      uint8_t h[32];
      hls_rekey_key_hash(p->key, h);
      if (sodium_memcmp(h, k->ann.key_hash, 32) == 0) adopt(k, p->key);
    }
    if (p->epoch <= k->ann.epoch) {
      sodium_memzero(p, sizeof *p);
    }
  }
}

int hls_netkeys_rotate_begin(struct hls_netkeys *k, const uint8_t (*expel)[32], size_t n_expel, int64_t overlap_ms,
                             struct hls_rekey *out, struct hls_why *why) {
  if (!hls_netkeys_is_steward(k, k->env.self))
    return hls_why_set(why, HLS_EACCESS, "this node is not a steward of the network (hls stewards): only a "
                       "steward's rekey is taken by the others");
  if (n_expel > HLS_REKEY_MAX_EXPELLED)
    return hls_why_set(why, HLS_EINVAL, "at most %d nodes are expelled at once", HLS_REKEY_MAX_EXPELLED);
  if (k->announced && k->key_epoch < k->ann.epoch)
    return hls_why_set(why, HLS_ESTATE, "this node does not hold the key of rotation %llu yet: rotate once it has",
                       (unsigned long long)k->ann.epoch);
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n_expel; i++) {
    if (memcmp(expel[i], k->env.self, 32) == 0)
      return hls_why_set(why, HLS_ESTATE, "a steward cannot expel itself");
    memcpy(out->expelled[i], expel[i], 32);
  }
  out->n_expelled = n_expel;
  uint64_t top = k->announced && k->ann.epoch > k->key_epoch ? k->ann.epoch : k->key_epoch;
  out->epoch = top + 1;
  out->overlap_until_ms = (uint64_t)(now(k) + (overlap_ms > 0 ? overlap_ms : 0));
  k->next_held = false;
  randombytes_buf(k->next, 32);
  hls_rekey_key_hash(k->next, out->key_hash);
  int rc = hls_home_write_key(k->env.home, NEXT_FILE, k->next, why);
  if (rc != 0) return rc;
  k->asked = *out;
  k->asking = true;
  return 0;
}

const struct hls_rekey *hls_netkeys_asked(const struct hls_netkeys *k) { return k->asking ? &k->asked : NULL; }

bool hls_netkeys_next_held(const struct hls_netkeys *k) { return k->next_held; }

void hls_netkeys_recover(struct hls_netkeys *k, const struct hls_rekey *own) {
  if (!k->next_held) return;
  k->next_held = false;
  uint8_t h[32];
  hls_rekey_key_hash(k->next, h);
  if (own != NULL && sodium_memcmp(h, own->key_hash, 32) == 0 && own->epoch > k->key_epoch) {
    /* Signed and published, then stopped before the key was taken. */
    announce(k, own, k->env.self, 0);
    if (k->key_epoch < k->ann.epoch) adopt(k, k->next);
    hls_log_warn("netkey_recovered", "epoch=%llu detail=\"this node's rekey was signed before hlsd stopped: its key "
                 "is taken now\"", (unsigned long long)own->epoch);
  } else {
    hls_log_info("netkey_next_dropped", "detail=\"a rotation begun before hlsd stopped was never signed\"");
  }
  struct hls_why why = {{0}};
  if (hls_home_remove_file(k->env.home, NEXT_FILE, &why) != 0) hls_log_warn("netkey_next_left", "detail=\"%s\"", why.text);
  sodium_memzero(k->next, sizeof k->next);
}


void hls_netkeys_published(struct hls_netkeys *k) {
  if (!k->asking) return;
  k->asking = false;
  announce(k, &k->asked, k->env.self, 0);
  if (k->key_epoch < k->ann.epoch) adopt(k, k->next);
  struct hls_why why = {{0}};
  if (hls_home_remove_file(k->env.home, NEXT_FILE, &why) != 0) hls_log_warn("netkey_next_left", "detail=\"%s\"", why.text);
  sodium_memzero(k->next, sizeof k->next);
}

static void drop_old(struct hls_netkeys *k, const char *how) {
  struct hls_why why = {{0}};
  if (hls_home_remove_file(k->env.home, OLD_FILE, &why) != 0) {
    hls_log_error("netkey_old_not_removed", "detail=\"%s\"", why.text);
    return;
  }
  bool had = k->has_old;
  k->has_old = false;
  sodium_memzero(k->old, sizeof k->old);
  k->retired = true;
  if (save_state(k, &why) != 0) hls_log_error("netkey_state_not_saved", "detail=\"%s\"", why.text);
  apply_keys(k);
  if (had)
    hls_log_info("network_key_old_retired", "epoch=%llu how=%s detail=\"only the newest network key is accepted\"",
                 (unsigned long long)k->key_epoch, how);
}

int hls_netkeys_retire_old(struct hls_netkeys *k, struct hls_why *why) {
  if (k->announced && k->key_epoch < k->ann.epoch)
    return hls_why_set(why, HLS_ESTATE, "this node does not hold the key of rotation %llu: retiring the old key "
                       "would cut it off (ask a steward's node to connect, or for an invite)",
                       (unsigned long long)k->ann.epoch);
  if (!k->has_old) return hls_why_set(why, HLS_ESTATE, "no old network key is accepted here");
  drop_old(k, "retire_old");
  return 0;
}

/* --- announcements and frames ---------------------------------------------------------- */

static void announce(struct hls_netkeys *k, const struct hls_rekey *r, const uint8_t origin[32], uint64_t seq) {
  char by[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(origin, by);
  if (k->announced && r->epoch <= k->ann.epoch) {
    if (r->epoch == k->ann.epoch && sodium_memcmp(r->key_hash, k->ann.key_hash, 32) != 0)
      hls_log_warn("rekey_conflict", "epoch=%llu steward=%s detail=\"two stewards rotated at once; the first "
                   "rekey held here stands: rotate again from one steward\"", (unsigned long long)r->epoch, by);
    return;
  }
  if (r->epoch <= k->key_epoch) return; /* older than the key held */
  k->announced = true;
  k->ann = *r;
  memcpy(k->ann_origin, origin, 32);
  k->ann_seq = seq;
  k->missed_logged = false;
  k->retired = false;
  struct hls_why why = {{0}};
  if (save_state(k, &why) != 0) hls_log_error("netkey_state_not_saved", "detail=\"%s\"", why.text);
  char until[21] = "-";
  hls_time_format((int64_t)r->overlap_until_ms, until);
  hls_log_info("rekey_received", "epoch=%llu steward=%s expelled=%zu overlap_until=%s", (unsigned long long)r->epoch,
               by, r->n_expelled, until);
  if (hls_rekey_expels(r, k->env.self))
    hls_log_error("expelled", "epoch=%llu steward=%s detail=\"a steward expelled this node from the network: it "
                  "gets no new key, and its sessions end when the overlap does\"", (unsigned long long)r->epoch, by);
  for (size_t i = 0; i < r->n_expelled; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(r->expelled[i], id);
    hls_log_info("peer_expelled", "peer=%s epoch=%llu", id, (unsigned long long)r->epoch);
  }
  /* Not here: a rekey is stored from inside the gossip engine's handling
   * of a frame, and closing sessions now would pull them from under it. */
  k->recheck_due = r->n_expelled > 0;
  try_pending(k);
}

void hls_netkeys_rekey_item(struct hls_netkeys *k, const struct hls_envelope *env) {
  struct hls_rekey r;
  if (env->body == NULL || hls_rekey_decode(&r, env->body, env->body_len, NULL) != 0) return;
  announce(k, &r, env->h.origin, env->h.seq);
}

const char *hls_netkeys_refuse(const struct hls_netkeys *k, const uint8_t pk[32]) {
  return k->announced && hls_rekey_expels(&k->ann, pk) ? "expelled" : NULL;
}

void hls_netkeys_session_open(struct hls_netkeys *k, struct hls_conn *c, const uint8_t pk[32]) {
  if (k->unanswered_logged) hls_log_info("network_key_answered", "detail=\"a handshake succeeded again\"");
  k->unanswered = 0;
  k->unanswered_logged = false;
  if (k->n_sess == k->cap_sess) {
    size_t cap = k->cap_sess ? 2 * k->cap_sess : 16;
    struct ksess *s = realloc(k->sess, cap * sizeof *s);
    if (s == NULL) return; /* it gets the key in its next session */
    k->sess = s;
    k->cap_sess = cap;
  }
  struct ksess *s = &k->sess[k->n_sess++];
  s->conn = c;
  memcpy(s->pk, pk, 32);
  s->sent = 0;
  send_key(k, s);
}

void hls_netkeys_session_closed(struct hls_netkeys *k, struct hls_conn *c) {
  for (size_t i = 0; i < k->n_sess; i++)
    if (k->sess[i].conn == c) {
      k->sess[i] = k->sess[--k->n_sess];
      return;
    }
}

int hls_netkeys_frame(struct hls_netkeys *k, struct hls_conn *c, const uint8_t pk[32], const uint8_t *payload,
                      size_t len, struct hls_why *why) {
  (void)c;
  (void)pk;
  uint64_t epoch;
  uint8_t key[32];
  int rc = hls_frame_netkey_decode(payload, len, &epoch, key, why);
  if (rc != 0) return rc;
  if (k->announced && epoch == k->ann.epoch) {
    uint8_t h[32];
    hls_rekey_key_hash(key, h);
    if (sodium_memcmp(h, k->ann.key_hash, 32) != 0) {
      sodium_memzero(key, sizeof key);
      return hls_why_set(why, HLS_EMALFORMED, "netkey: the key of epoch %llu is not the one its rekey item names",
                         (unsigned long long)epoch);
    }
    if (k->key_epoch < epoch) adopt(k, key);
  } else if (!k->announced || epoch > k->ann.epoch) {
    /* Before its rekey item (the steward hands the key on as it publishes
     * the item, so its peers get the key first): kept until the item
     * comes, up to PENDING_MAX keys. An empty slot first, else the one
     * of the highest epoch if above this one (the next epoch is the one
     * expected: a member cannot push it out with far epochs), else in
     * turn. A key that matches no item is dropped when its epoch is
     * announced. */
    size_t slot = PENDING_MAX, high = 0;
    for (size_t i = 0; i < PENDING_MAX; i++) {
      if (k->pending[i].epoch == epoch && sodium_memcmp(k->pending[i].key, key, 32) == 0) slot = PENDING_MAX + 1;
      else if (k->pending[i].epoch == 0 && slot == PENDING_MAX) slot = i;
      if (k->pending[i].epoch > k->pending[high].epoch) high = i;
    }
    if (slot == PENDING_MAX) slot = k->pending[high].epoch > epoch ? high : k->pending_turn++ % PENDING_MAX;
    if (slot < PENDING_MAX) {
      k->pending[slot].epoch = epoch;
      memcpy(k->pending[slot].key, key, 32);
    }
  }
  sodium_memzero(key, sizeof key);
  return 0;
}

void hls_netkeys_hello_unanswered(struct hls_netkeys *k, const uint8_t pk[32]) {
  (void)pk;
  k->unanswered++;
  if (k->unanswered >= UNANSWERED_WARN && k->n_sess == 0 && !k->unanswered_logged) {
    k->unanswered_logged = true;
    hls_log_warn("network_key_refused", "dials=%d detail=\"no peer answers this node's handshake: its peers use "
                 "another network key (rotated without this node, or the peers added are of another network). Ask a "
                 "steward for an invite (hls init --join), or check the peers (hls peer list)\"", k->unanswered);
  }
}

void hls_netkeys_tick(struct hls_netkeys *k) {
  if (k->recheck_due && k->peers != NULL) {
    k->recheck_due = false;
    hls_peers_recheck(k->peers); /* the expelled: sessions closed */
  }
  for (size_t i = 0; i < k->n_sess; i++) send_key(k, &k->sess[i]);
  if (!k->announced || (int64_t)k->ann.overlap_until_ms > now(k)) return;
  if (k->has_old && k->key_epoch == k->ann.epoch) drop_old(k, "overlap_ended");
  if (k->key_epoch < k->ann.epoch && !k->missed_logged) {
    k->missed_logged = true;
    hls_log_error("network_key_missed", "epoch=%llu detail=\"the overlap of a key rotation ended before this node "
                  "got the new key: members no longer accept its key. Ask a steward for an invite\"",
                  (unsigned long long)k->ann.epoch);
  }
}

/* --- status ----------------------------------------------------------------------- */

#define PACK(expr)                    \
  do {                                \
    if ((expr) != 0) return HLS_ENOMEM; \
  } while (0)

/* What to tell the admin, or NULL when all is well. */
static const char *problem(const struct hls_netkeys *k) {
  if (k->announced && hls_rekey_expels(&k->ann, k->env.self))
    return "a steward expelled this node from the network: it gets no new key";
  if (k->announced && k->key_epoch < k->ann.epoch)
    return overlap_over(k) ? "the key rotation's overlap ended before this node got the new key: ask a steward for an "
                             "invite (hls init --join)"
                           : "a steward rotated the network key; this node waits for it from a peer";
  if (k->unanswered >= UNANSWERED_WARN && k->n_sess == 0)
    return "no peer answers this node's handshake: its peers use another network key (rotated without this node, or "
           "the peers added are of another network); ask a steward for an invite (hls init --join), or check the "
           "peers (hls peer list)";
  if (k->n_stewards == 0) return "no stewards are named here: rekey items are refused (hls stewards add)";
  return NULL;
}

int hls_netkeys_pack_status(const struct hls_netkeys *k, msgpack_packer *pk) {
  char fp[17], until[21] = "";
  hls_network_fingerprint(k->key, fp);
  PACK(msgpack_pack_map(pk, 9));
  PACK(hls_mp_pack_kv_i64(pk, "epoch", (int64_t)k->key_epoch));
  PACK(hls_mp_pack_kv_str(pk, "network_id", fp));
  PACK(hls_mp_pack_kv_bool(pk, "old_key_accepted", k->has_old));
  if (k->announced) hls_time_format((int64_t)k->ann.overlap_until_ms, until);
  PACK(hls_mp_pack_kv_str(pk, "overlap_until", k->announced ? until : NULL));
  PACK(hls_mp_pack_kv_i64(pk, "announced_epoch", k->announced ? (int64_t)k->ann.epoch : 0));
  PACK(hls_mp_pack_kv_bool(pk, "expelled", k->announced && hls_rekey_expels(&k->ann, k->env.self)));
  PACK(hls_mp_pack_kv_i64(pk, "handshakes_unanswered", k->unanswered));
  const char *p = problem(k);
  PACK(hls_mp_pack_kv_str(pk, "problem", p));
  PACK(hls_mp_pack_cstr(pk, "stewards"));
  PACK(msgpack_pack_array(pk, k->n_stewards));
  for (size_t i = 0; i < k->n_stewards; i++) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(k->stewards[i], id);
    PACK(hls_mp_pack_cstr(pk, id));
  }
  return 0;
}
