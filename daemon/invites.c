#include "invites.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "date.h"
#include "home.h"
#include "invite.h"
#include "log.h"
#include "mp.h"
#include "netkeys.h"
#include "nodeid.h"
#include "wire.h"

struct hls_invites {
  struct hls_invites_env env;
  /* The new node's side, from the store: is an answer awaited, from whom. */
  bool waiting;
  bool has_inviter; /* this node joined with an invite (answered or not) */
  uint8_t inviter[32];
  int attempts;        /* sessions with the inviter that carried a REDEEM */
  bool asked;          /* the current session with the inviter carries one */
};

static int64_t now(const struct hls_invites *inv) { return inv->env.now_ms(inv->env.clock); }

/* DIR/join.invite (hls init --join): into the store, the inviter listed. */
static int take_join_file(struct hls_invites *inv, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  int rc = hls_home_path(inv->env.home, HLS_JOIN_FILE, path);
  if (rc != 0) return hls_why_set(why, rc, "%s: path too long", HLS_JOIN_FILE);
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno == ENOENT ? 0 : hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  char text[HLS_INVITE_TEXT_MAX + 64];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  /* Comment lines (#) first, then the code. */
  char *line = text;
  while (*line == '#') {
    char *nl = strchr(line, '\n');
    line = nl ? nl + 1 : line + strlen(line);
  }
  struct hls_invite code;
  struct hls_why cwhy = {{0}};
  rc = hls_invite_decode(line, &code, &cwhy);
  sodium_memzero(text, sizeof text);
  if (rc != 0) return hls_why_set(why, rc, "%s: %s", path, cwhy.text);
  if (memcmp(code.inviter, inv->env.self, 32) == 0) {
    sodium_memzero(&code, sizeof code);
    return hls_why_set(why, HLS_EINVAL, "%s: the invite is this node's own", path);
  }
  rc = hls_store_join_set(inv->env.store, code.inviter, code.address, code.secret, now(inv), why);
  if (rc == 0) rc = hls_peers_add(inv->env.peers, code.inviter, code.address, why);
  if (rc == 0 && unlink(path) != 0) rc = hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  if (rc == 0) {
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(code.inviter, id);
    hls_log_info("invite_taken", "inviter=%s address=%s detail=\"connecting to the inviter to redeem it\"", id,
                 code.address);
  }
  sodium_memzero(&code, sizeof code);
  return rc;
}

int hls_invites_new(struct hls_invites **out, const struct hls_invites_env *env, struct hls_why *why) {
  *out = NULL;
  struct hls_invites *inv = calloc(1, sizeof *inv);
  if (inv == NULL) return HLS_ENOMEM;
  inv->env = *env;
  int rc = take_join_file(inv, why);
  struct hls_join_row j;
  bool present = false;
  if (rc == 0) rc = hls_store_join_get(env->store, &j, &present, why);
  if (rc != 0) {
    free(inv);
    return rc;
  }
  if (present) {
    inv->has_inviter = true;
    inv->waiting = j.has_secret;
    memcpy(inv->inviter, j.inviter, 32);
  }
  sodium_memzero(&j, sizeof j);
  *out = inv;
  return 0;
}

void hls_invites_free(struct hls_invites *inv) { free(inv); }

void hls_invites_reachable_address(const struct hls_config *config, const struct hls_peers *peers, char *out,
                                   size_t size) {
  out[0] = '\0';
  const char *adv = config->advertise;
  if (adv[0] != '\0') {
    size_t len = strcspn(adv, ",");
    snprintf(out, size, "%.*s", (int)len, adv);
    return;
  }
  const char *candidates[] = {config->listen, peers ? hls_peers_address(peers) : NULL};
  for (size_t i = 0; i < 2; i++) {
    struct hls_hostport hp;
    struct hls_why why = {{0}};
    if (candidates[i] == NULL || hls_hostport_parse(candidates[i], &hp, true, false, &why) != 0) continue;
    if (strcmp(hp.host, "0.0.0.0") == 0 || strcmp(hp.host, "::") == 0) continue;
    hls_hostport_format(&hp, out);
    return;
  }
}

static void send_frame(struct hls_conn *c, msgpack_sbuffer *sb) {
  if (hls_conn_send(c, (const uint8_t *)sb->data, sb->size) != 0)
    hls_log_warn("invite_frame_not_sent", "address=%s", hls_conn_address(c));
}

void hls_invites_session_open(struct hls_invites *inv, struct hls_conn *c, const uint8_t pk[32]) {
  if (inv == NULL || !inv->waiting || memcmp(pk, inv->inviter, 32) != 0) return;
  if (inv->attempts >= HLS_INVITE_MAX_ATTEMPTS) return;
  struct hls_join_row j;
  bool present = false;
  struct hls_why why = {{0}};
  if (hls_store_join_get(inv->env.store, &j, &present, &why) != 0 || !present || !j.has_secret) {
    inv->waiting = false;
    sodium_memzero(&j, sizeof j);
    return;
  }
  char address[HLS_INVITE_ADDRESS_MAX + 1];
  hls_invites_reachable_address(inv->env.config, inv->env.peers, address, sizeof address);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  if (hls_frame_redeem(&sb, j.secret, address) == 0) {
    send_frame(c, &sb);
    inv->asked = true;
    inv->attempts++;
    char id[HLS_NODEID_TEXT_SIZE];
    hls_nodeid_format(pk, id);
    hls_log_info("invite_redeeming", "inviter=%s address=%s attempt=%d", id, address[0] ? address : "-", inv->attempts);
  }
  sodium_memzero(sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  sodium_memzero(&j, sizeof j);
}

void hls_invites_session_closed(struct hls_invites *inv, const uint8_t pk[32]) {
  if (inv == NULL || !inv->waiting || !inv->asked || memcmp(pk, inv->inviter, 32) != 0) return;
  inv->asked = false;
  if (inv->attempts < HLS_INVITE_MAX_ATTEMPTS) return;
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pk, id);
  hls_log_error("invite_unanswered", "inviter=%s attempts=%d detail=\"the inviter closed every session without "
                "answering the invite: it may run an hlsd older than invites; ask its admin to hls peer add this node\"",
                id, inv->attempts);
}

/* The inviter's side. */
static int on_redeem(struct hls_invites *inv, struct hls_conn *c, const uint8_t pk[32], const uint8_t *payload,
                     size_t len, struct hls_why *why) {
  uint8_t secret[HLS_INVITE_SECRET_BYTES], hash[32];
  char address[HLS_HOSTPORT_MAX + 3];
  int rc = hls_frame_redeem_decode(payload, len, secret, address, why);
  if (rc != 0) return rc;
  hls_invite_secret_hash(secret, hash);
  sodium_memzero(secret, sizeof secret);
  int outcome;
  int64_t id;
  char node[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pk, node);
  if ((rc = hls_store_invite_redeem(inv->env.store, hash, pk, address, now(inv), &outcome, &id, why)) != 0) return rc;
  /* Listing the node restarts its session ("listed"): the answer goes first. */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  /* A version 2 redeemer learns the network's stewards with the answer
   * (docs/protocol.md 7.1): the nodes whose rekey items it is to take. */
  uint8_t stewards[HLS_STEWARDS_MAX][32];
  size_t n_stewards = inv->env.netkeys != NULL ? hls_netkeys_stewards(inv->env.netkeys, stewards) : 0;
  if ((hls_conn_version(c) >= 2 && outcome == HLS_INVITE_OK
           ? hls_frame_redeemed_stewards(&sb, outcome, (const uint8_t(*)[32])stewards, n_stewards)
           : hls_frame_redeemed(&sb, outcome)) == 0)
    send_frame(c, &sb);
  msgpack_sbuffer_destroy(&sb);
  if (outcome == HLS_INVITE_OK) {
    hls_log_info("invite_redeemed", "invite=%lld node=%s address=%s", (long long)id, node, address[0] ? address : "-");
    /* Blocked nodes never get this far (refused at the handshake); a
     * node that gave no address (it cannot be reached: it dials out) is
     * a member met, not listed. */
    struct hls_why pwhy = {{0}};
    if (address[0] == '\0')
      hls_log_warn("invite_peer_not_listed", "node=%s detail=\"it gave no address to reach it\"", node);
    else if (!hls_peers_is_listed(inv->env.peers, pk) && hls_peers_add(inv->env.peers, pk, address, &pwhy) != 0)
      hls_log_error("invite_peer_add_failed", "node=%s detail=\"%s\"", node, pwhy.text);
    return 0;
  }
  hls_log_warn("invite_refused", "invite=%lld node=%s outcome=%s detail=\"%s\"", (long long)id, node,
               hls_invite_outcome_name(outcome), hls_invite_outcome_text(outcome));
  /* A secret nobody gave counts against the peer, like any violation
   * (each backs it off for longer): guessing is slow as well as hopeless. */
  if (outcome == HLS_INVITE_UNKNOWN) hls_peers_violation(inv->env.peers, pk, "unknown_invite");
  hls_conn_close(c, "invite_refused");
  return 0;
}

/* The new node's side. */
static int on_redeemed(struct hls_invites *inv, const uint8_t pk[32], const uint8_t *payload, size_t len,
                       struct hls_why *why) {
  int outcome;
  uint8_t stewards[HLS_STEWARDS_MAX][32];
  ptrdiff_t n_stewards = -1;
  int rc = hls_frame_redeemed_decode_stewards(payload, len, &outcome, stewards, &n_stewards, why);
  if (rc != 0) return rc;
  bool from_inviter = inv->has_inviter && memcmp(pk, inv->inviter, 32) == 0;
  if (!from_inviter) return hls_why_set(why, HLS_EMALFORMED, "redeemed: no invite was redeemed with this peer");
  /* A second answer (a REDEEM sent in two sessions at once): the first stands. */
  if (!inv->waiting || !inv->asked) return 0;
  inv->waiting = inv->asked = false;
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(pk, id);
  if ((rc = hls_store_join_answered(inv->env.store, outcome, now(inv), why)) != 0) return rc;
  if (outcome == HLS_INVITE_OK) {
    hls_log_info("invite_accepted", "inviter=%s detail=\"%s\"", id, hls_invite_outcome_text(outcome));
    if (n_stewards > 0 && inv->env.netkeys != NULL)
      hls_netkeys_stewards_learnt(inv->env.netkeys, (const uint8_t(*)[32])stewards, (size_t)n_stewards);
    return 0;
  }
  const char *name = hls_invite_outcome_name(outcome);
  hls_log_error("invite_refused", "inviter=%s outcome=%s detail=\"%s\"", id, name ? name : "unknown_outcome",
                hls_invite_outcome_text(outcome));
  /* Not welcome there: stop dialling it (the session ends from its side). */
  struct hls_why pwhy = {{0}};
  if (hls_peers_remove(inv->env.peers, pk, NULL, &pwhy) != 0)
    hls_log_warn("invite_peer_remove_failed", "inviter=%s detail=\"%s\"", id, pwhy.text);
  return 0;
}

int hls_invites_frame(struct hls_invites *inv, struct hls_conn *c, const uint8_t pk[32], int type,
                      const uint8_t *payload, size_t len, struct hls_why *why) {
  if (type == HLS_FRAME_REDEEM) return on_redeem(inv, c, pk, payload, len, why);
  return on_redeemed(inv, pk, payload, len, why);
}

int hls_invites_pack_status(struct hls_invites *inv, msgpack_packer *pk, struct hls_why *why) {
  struct hls_join_row j;
  bool present = false;
  int rc = inv ? hls_store_join_get(inv->env.store, &j, &present, why) : 0;
  if (rc != 0) return rc;
  if (!present) return msgpack_pack_nil(pk) == 0 ? 0 : HLS_ENOMEM;
  char id[HLS_NODEID_TEXT_SIZE], at[21];
  hls_nodeid_format(j.inviter, id);
  const char *outcome = j.outcome < 0 ? "waiting" : hls_invite_outcome_name(j.outcome);
  bool answered = j.outcome >= 0;
  if (answered) hls_time_format(j.outcome_ms, at);
  if (msgpack_pack_map(pk, answered ? 5 : 4) != 0 || hls_mp_pack_kv_str(pk, "inviter", id) != 0 ||
      hls_mp_pack_kv_str(pk, "address", j.address) != 0 ||
      hls_mp_pack_kv_str(pk, "outcome", outcome ? outcome : "unknown_outcome") != 0 ||
      hls_mp_pack_kv_str(pk, "detail", j.outcome < 0 ? (inv->attempts >= HLS_INVITE_MAX_ATTEMPTS
                                                            ? "no answer: the inviter may run an older hlsd"
                                                            : "connecting to the inviter")
                                                     : hls_invite_outcome_text(j.outcome)) != 0 ||
      (answered && hls_mp_pack_kv_str(pk, "answered_at", at) != 0))
    rc = HLS_ENOMEM;
  sodium_memzero(&j, sizeof j);
  return rc;
}
