/* The vouch commands (docs/control.md): vouch, unvouch, vouch.list; and
 * what hls places shows of them (api_places_trust). A vouch is an item of
 * this node's chain (docs/protocol.md 4.6): the command asks for it, the
 * publishing run signs it at once. */
#include "api_handlers.h"

#include <string.h>

#include "log.h"
#include "nodeid.h"
#include "trust.h"

struct find_profile {
  const uint8_t *origin;
  bool found;
  struct hls_profile profile;
};

static int find_profile_one(void *ctx, const uint8_t origin[32], const struct hls_profile *p) {
  struct find_profile *f = ctx;
  if (memcmp(origin, f->origin, 32) != 0) return 0;
  f->found = true;
  f->profile = *p;
  return 1; /* stop */
}

static const char *role_name(int role) { return role == HLS_PROFILE_PARTNER ? "partner" : "place"; }

static int arg_subject(struct hls_api *api, struct hls_control_call *call, uint8_t subject[32], char id[]) {
  bool present;
  int rc = api_arg_node_id_key(call->req->args, "node_id", true, &present, subject, &call->why);
  if (rc != 0) return rc;
  hls_nodeid_format(subject, id);
  if (memcmp(subject, api->env.identity->public_key, 32) == 0)
    return hls_why_set(&call->why, HLS_EINVAL, "%s is this node: a node cannot vouch for itself", id);
  return 0;
}

/* Sign what was asked now, and reply {node_id, vouch, chain_seq}. */
static int publish_reply(struct hls_api *api, struct hls_control_call *call, const struct hls_vouch *v, const char *id) {
  int rc = api->env.publish_all(api->env.ctx, &call->why);
  if (rc != 0) return rc;
  struct hls_api_chain chain;
  api->env.chain(api->env.ctx, &chain);
  hls_log_info("vouch", "subject=%s change=%s", id, v->withdrawn ? "withdrawn" : role_name(v->role));
  msgpack_packer *pk = call->pk;
  PACK(msgpack_pack_map(pk, 6));
  PACK(hls_mp_pack_kv_str(pk, "node_id", id));
  PACK(hls_mp_pack_kv_bool(pk, "withdrawn", v->withdrawn));
  PACK(hls_mp_pack_kv_str(pk, "place", v->withdrawn ? NULL : v->place));
  PACK(hls_mp_pack_kv_str(pk, "region", v->withdrawn ? NULL : v->region));
  PACK(hls_mp_pack_kv_str(pk, "role", v->withdrawn ? NULL : role_name(v->role)));
  PACK(hls_mp_pack_kv_i64(pk, "chain_seq", (int64_t)chain.seq));
  return 0;
}

int api_vouch(struct hls_api *api, struct hls_control_call *call) {
  char id[HLS_NODEID_TEXT_SIZE];
  struct hls_vouch v;
  memset(&v, 0, sizeof v);
  int rc = arg_subject(api, call, v.subject, id);
  if (rc != 0) return rc;
  struct find_profile f = {.origin = v.subject};
  rc = hls_store_profiles(api->env.store, find_profile_one, &f, &call->why);
  if (rc != 0 && rc != 1) return rc;
  if (!f.found)
    return hls_why_set(&call->why, HLS_ENOTFOUND, "no profile of %s is held: a vouch states what its profile says "
                       "(hls places lists the nodes whose profiles are held)", id);
  snprintf(v.place, sizeof v.place, "%s", f.profile.place);
  snprintf(v.region, sizeof v.region, "%s", f.profile.region);
  v.role = f.profile.role;
  const char *role;
  uint32_t len;
  bool present = false;
  if ((rc = hls_mp_get_str(call->req->args, "role", &role, &len, &present, &call->why)) != 0) return rc;
  if (present) {
    int asked = len == 7 && memcmp(role, "partner", 7) == 0 ? HLS_PROFILE_PARTNER : HLS_PROFILE_PLACE;
    if (asked == HLS_PROFILE_PARTNER && f.profile.role != HLS_PROFILE_PARTNER)
      return hls_why_set(&call->why, HLS_EINVAL, "%s (%s) says it is a place, not a partner", id, f.profile.place);
    v.role = asked;
  }
  rc = hls_store_vouch_ask(api->env.store, &v, api->env.now_ms(api->env.ctx), &call->why);
  return rc != 0 ? rc : publish_reply(api, call, &v, id);
}

struct own_vouch {
  const uint8_t *self, *subject;
  bool current;
};

static int own_vouch_one(void *ctx, const struct hls_vouch_row *r) {
  struct own_vouch *o = ctx;
  if (memcmp(r->voucher, o->self, 32) == 0 && memcmp(r->vouch.subject, o->subject, 32) == 0)
    o->current = !r->vouch.withdrawn;
  return 0;
}

int api_unvouch(struct hls_api *api, struct hls_control_call *call) {
  char id[HLS_NODEID_TEXT_SIZE];
  struct hls_vouch v;
  memset(&v, 0, sizeof v);
  int rc = arg_subject(api, call, v.subject, id);
  if (rc != 0) return rc;
  struct own_vouch o = {.self = api->env.identity->public_key, .subject = v.subject};
  if ((rc = hls_store_vouches(api->env.store, own_vouch_one, &o, &call->why)) != 0) return rc;
  if (!o.current) return hls_why_set(&call->why, HLS_ENOTFOUND, "this node has no vouch for %s to withdraw", id);
  v.withdrawn = true;
  rc = hls_store_vouch_ask(api->env.store, &v, api->env.now_ms(api->env.ctx), &call->why);
  return rc != 0 ? rc : publish_reply(api, call, &v, id);
}

/* --- listing ----------------------------------------------------------------------- */

/* key: the place name of id as this node holds it (nil: no profile). */
static int pack_kv_place_of(msgpack_packer *pk, const char *key, const struct hls_trust *t, const uint8_t id[32]) {
  const struct hls_trust_node *n = hls_trust_find(t, id);
  return hls_mp_pack_kv_str(pk, key, n != NULL && n->has_profile ? n->profile.place : NULL);
}

static int pack_kv_node(msgpack_packer *pk, const char *key, const uint8_t id[32]) {
  char text[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(id, text);
  return hls_mp_pack_kv_str(pk, key, text);
}

static int pack_node_id(msgpack_packer *pk, const uint8_t id[32]) {
  char text[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(id, text);
  return hls_mp_pack_cstr(pk, text);
}

int api_vouch_list(struct hls_api *api, struct hls_control_call *call) {
  struct hls_trust t;
  int rc = hls_trust_load(&t, api->env.store, api->env.identity->public_key, api->env.config->trust_partner_vouches,
                          &call->why);
  if (rc != 0) return rc;
  msgpack_packer *pk = call->pk;
  rc = HLS_ENOMEM;
  if (msgpack_pack_map(pk, 1) != 0 || hls_mp_pack_cstr(pk, "vouches") != 0 || msgpack_pack_array(pk, t.n_vouches) != 0)
    goto done;
  for (size_t i = 0; i < t.n_vouches; i++) {
    const struct hls_vouch_row *r = &t.vouches[i];
    const struct hls_vouch *v = &r->vouch;
    if (msgpack_pack_map(pk, 11) != 0 || pack_kv_node(pk, "voucher", r->voucher) != 0 ||
        pack_kv_place_of(pk, "voucher_place", &t, r->voucher) != 0 || pack_kv_node(pk, "subject", v->subject) != 0 ||
        pack_kv_place_of(pk, "subject_place", &t, v->subject) != 0 ||
        hls_mp_pack_kv_bool(pk, "withdrawn", v->withdrawn) != 0 ||
        hls_mp_pack_kv_str(pk, "place", v->withdrawn ? NULL : v->place) != 0 ||
        hls_mp_pack_kv_str(pk, "region", v->withdrawn ? NULL : v->region) != 0 ||
        hls_mp_pack_kv_str(pk, "role", v->withdrawn ? NULL : role_name(v->role)) != 0 ||
        hls_mp_pack_kv_bool(pk, "counts", hls_trust_vouch_counts(&t, r)) != 0 ||
        hls_mp_pack_kv_i64(pk, "seq", (int64_t)r->seq) != 0 || api_pack_kv_time(pk, "at", r->at_ms) != 0)
      goto done;
  }
  rc = 0;
done:
  hls_trust_free(&t);
  return rc;
}

/* --- what hls places shows ------------------------------------------------------------ */

/* Key succession (docs/protocol.md 4.9): the key that succeeded node_id
 * (nil), the first key of its place (root), and its earlier keys, nearest
 * first. */
static int pack_succession(msgpack_packer *pk, const struct hls_trust *t, const uint8_t node_id[32]) {
  const struct hls_succession_row *next = hls_trust_successor(t, node_id);
  PACK(hls_mp_pack_cstr(pk, "succeeded_by"));
  PACK(next != NULL ? pack_node_id(pk, next->new_id) : msgpack_pack_nil(pk));
  const uint8_t *chain[HLS_SUCCESSION_MAX_DEPTH];
  uint32_t n = 0;
  const uint8_t *at = node_id;
  while (n < HLS_SUCCESSION_MAX_DEPTH) {
    const struct hls_succession_row *pred = hls_trust_predecessor(t, at);
    if (pred == NULL || memcmp(pred->old_id, node_id, 32) == 0) break;
    chain[n++] = at = pred->old_id;
  }
  PACK(hls_mp_pack_cstr(pk, "place_root"));
  PACK(pack_node_id(pk, n > 0 ? chain[n - 1] : node_id));
  PACK(hls_mp_pack_cstr(pk, "formerly"));
  PACK(msgpack_pack_array(pk, n));
  for (uint32_t i = 0; i < n; i++) PACK(pack_node_id(pk, chain[i]));
  return 0;
}

int api_places_trust(msgpack_packer *pk, const struct hls_trust *t, const uint8_t node_id[32]) {
  const struct hls_trust_node *n = hls_trust_find(t, node_id);
  PACK(pack_succession(pk, t, node_id));
  PACK(hls_mp_pack_kv_bool(pk, "vouched", n != NULL && n->vouched));
  PACK(hls_mp_pack_cstr(pk, "role_counts"));
  PACK(n == NULL || !n->has_profile ? msgpack_pack_nil(pk) : n->role_counts ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
  PACK(hls_mp_pack_kv_i64(pk, "partner_vouches", n != NULL ? n->partner_vouches : 0));
  /* Who vouches for it now (withdrawn vouches left out). */
  const uint32_t *idx;
  size_t nv = hls_trust_vouches_for(t, node_id, &idx);
  uint32_t count = 0;
  for (size_t k = 0; k < nv; k++) count += !t->vouches[idx[k]].vouch.withdrawn;
  PACK(hls_mp_pack_cstr(pk, "vouched_by"));
  PACK(msgpack_pack_array(pk, count));
  for (size_t k = 0; k < nv; k++) {
    const struct hls_vouch_row *r = &t->vouches[idx[k]];
    if (r->vouch.withdrawn) continue;
    PACK(msgpack_pack_map(pk, 5));
    PACK(pack_kv_node(pk, "node_id", r->voucher));
    PACK(pack_kv_place_of(pk, "place", t, r->voucher));
    PACK(hls_mp_pack_kv_str(pk, "as", r->vouch.place));
    PACK(hls_mp_pack_kv_str(pk, "role", role_name(r->vouch.role)));
    PACK(hls_mp_pack_kv_bool(pk, "counts", hls_trust_vouch_counts(t, r)));
  }
  /* Other nodes whose profiles claim the same place name (any case). */
  size_t ns = hls_trust_same_name(t, n, &idx);
  count = 0;
  for (size_t k = 0; k < ns; k++) {
    const struct hls_trust_node *o = &t->nodes[idx[k]];
    count += o != n && memcmp(o->root, n->root, 32) != 0;
  }
  PACK(hls_mp_pack_cstr(pk, "name_also_claimed_by"));
  PACK(msgpack_pack_array(pk, count));
  for (size_t k = 0; count > 0 && k < ns; k++) {
    const struct hls_trust_node *o = &t->nodes[idx[k]];
    if (o == n || memcmp(o->root, n->root, 32) == 0) continue;
    PACK(msgpack_pack_map(pk, 2));
    PACK(pack_kv_node(pk, "node_id", o->node_id));
    PACK(hls_mp_pack_kv_bool(pk, "vouched", o->vouched));
  }
  return 0;
}
