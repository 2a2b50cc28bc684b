/* The consent and sharing commands (docs/control.md): consent.set,
 * consent.withdraw, share.preview, share.review, share.approve,
 * share.reject, share.publish, share.log, share.export, share.receipts. */
#include "api_handlers.h"

#include <string.h>

#include "log.h"
#include "nodeid.h"
#include "text.h"

/* --- consent ------------------------------------------------------------------ */

/* The published story of a record that is still live, if any (seq 0). */
struct live_find {
  int64_t record_id;
  uint64_t seq;
};

static int find_live(void *ctx, const struct hls_published *p) {
  struct live_find *f = ctx;
  if (p->record_id == f->record_id) f->seq = p->seq;
  return 0;
}

static uint64_t live_story_of(struct hls_api *api, int64_t record_id) {
  struct live_find f = {.record_id = record_id};
  if (hls_store_published_live_stories(api->env.store, find_live, &f, NULL) != 0) return 0;
  return f.seq;
}

/* Reply: {record: {...}, story_seq} where story_seq names a published
 * story that the change will erase (nil if none). */
static int pack_consent_reply(struct hls_api *api, struct hls_control_call *call, struct hls_record *r,
                              bool story_erased) {
  uint64_t story = story_erased ? live_story_of(api, r->id) : 0;
  api_record_retention(api, r); /* the record as record.show gives it */
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_cstr(call->pk, "record"));
  int rc = hls_record_pack(call->pk, r, true);
  if (rc != 0) return rc;
  PACK(hls_mp_pack_cstr(call->pk, "erasing_story_seq"));
  PACK(story ? msgpack_pack_uint64(call->pk, story) : msgpack_pack_nil(call->pk));
  return 0;
}

int api_consent_set(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *a = call->req->args;
  int64_t id;
  int rc = api_arg_id(a, &id, &call->why);
  if (rc != 0) return rc;
  int level = -1;
  if ((rc = api_arg_enum(a, "level", api_parse_consent, &level, &call->why)) != 0) return rc;
  if (level < 0) return hls_why_set(&call->why, HLS_EINVAL, "level: required (private|aggregate|peers|network)");
  struct hls_record r;
  hls_record_init(&r);
  if ((rc = hls_store_record_get(api->env.store, id, &r, &call->why)) != 0) return rc;
  /* The optional fields go through the record's own checks. */
  struct hls_mp_kv kv[3];
  uint32_t nkv = 0;
  static const char *const keys[][2] = {{"by", "consent_by"}, {"purpose", "consent_purpose"}, {"expires", "consent_expires"}};
  for (int i = 0; i < 3; i++) {
    const struct hls_mp_value *v = hls_mp_get(a, keys[i][0]);
    if (v == NULL) continue;
    kv[nkv].key = (struct hls_mp_value){.type = HLS_MP_STR, .len = (uint32_t)strlen(keys[i][1]), .v.str = keys[i][1]};
    kv[nkv].val = *v;
    nkv++;
  }
  struct hls_mp_value m = {.type = HLS_MP_MAP, .len = nkv, .v.kv = kv};
  struct hls_record_limits lim = api_record_limits(api);
  enum hls_consent old = r.consent;
  rc = hls_record_apply(&r, &m, &lim, &call->why);
  r.consent = (enum hls_consent)level;
  r.consent_ended = HLS_CONSENT_CURRENT;
  if (rc == 0) rc = hls_record_validate(&r, &call->why);
  if (rc == 0 && r.has_consent_expires && r.consent > HLS_CONSENT_PRIVATE && r.consent_expires <= api_today(api)) {
    char day[11];
    hls_date_format(r.consent_expires, day);
    rc = hls_mp_get(a, "expires") != NULL
             ? hls_why_set(&call->why, HLS_EINVAL, "expires: that date has come; consent would end at once")
             : hls_why_set(&call->why, HLS_EINVAL,
                           "the record's consent expiry (%s) has come; consent would end at once: give a later "
                           "--expires, or take the date away first (hls record edit %lld --consent-expires \"\")",
                           day, (long long)id);
  }
  if (rc == 0) rc = api_update_record(api, &r, r.consent < HLS_CONSENT_PEERS, &call->why);
  if (rc == 0) {
    hls_log_info("consent_set", "id=%lld level=%s", (long long)id, hls_consent_name(r.consent));
    bool narrowed = r.consent < old;
    if (old > HLS_CONSENT_PRIVATE || r.consent > HLS_CONSENT_PRIVATE) api_changed(api, r.date, r.date, narrowed);
    /* narrowed below peers, or from network to peers: the published
     * story (network) goes */
    rc = pack_consent_reply(api, call, &r, narrowed && (r.consent < HLS_CONSENT_PEERS || old == HLS_CONSENT_NETWORK));
  }
  hls_record_clear(&r);
  return rc;
}

int api_consent_withdraw(struct hls_api *api, struct hls_control_call *call) {
  int64_t id;
  int rc = api_arg_id(call->req->args, &id, &call->why);
  if (rc != 0) return rc;
  struct hls_record r;
  hls_record_init(&r);
  if ((rc = hls_store_record_get(api->env.store, id, &r, &call->why)) != 0) return rc;
  enum hls_consent old = r.consent;
  r.consent = HLS_CONSENT_PRIVATE;
  r.consent_ended = HLS_CONSENT_WITHDRAWN;
  /* An approval was given under the consent just withdrawn: consent given
   * again later needs a new review. */
  rc = api_update_record(api, &r, true, &call->why);
  if (rc == 0) {
    hls_log_info("consent_withdrawn", "id=%lld was=%s", (long long)id, hls_consent_name(old));
    if (old > HLS_CONSENT_PRIVATE) api_changed(api, r.date, r.date, true);
    rc = pack_consent_reply(api, call, &r, true);
  }
  hls_record_clear(&r);
  return rc;
}

/* --- sharing --------------------------------------------------------------------- */

int api_share_preview(struct hls_api *api, struct hls_control_call *call) {
  struct hls_summarise_ctx ctx = api->env.summarise_ctx(api->env.ctx);
  return hls_summarise_preview(&ctx, call->pk, &call->why);
}

int api_share_review(struct hls_api *api, struct hls_control_call *call) {
  struct hls_summarise_ctx ctx = api->env.summarise_ctx(api->env.ctx);
  return hls_summarise_review(&ctx, call->pk, &call->why);
}

static int arg_by(const struct hls_mp_value *a, char out[HLS_ROLE_MAX + 1], struct hls_why *why) {
  const char *s;
  uint32_t len;
  bool present = false;
  out[0] = '\0';
  int rc = hls_mp_get_str(a, "by", &s, &len, &present, why);
  if (rc != 0 || !present) return rc;
  if ((rc = hls_text_check(s, len, HLS_ROLE_MAX, false, "by", why)) != 0) return rc;
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

static int decide(struct hls_api *api, struct hls_control_call *call, bool approve) {
  int64_t id;
  struct hls_share sh = {0};
  int rc = api_arg_id(call->req->args, &id, &call->why);
  if (rc == 0) rc = arg_by(call->req->args, sh.decided_by, &call->why);
  if (rc != 0) return rc;
  struct hls_record r;
  hls_record_init(&r);
  if ((rc = hls_store_record_get(api->env.store, id, &r, &call->why)) != 0) return rc;
  msgpack_sbuffer body;
  msgpack_sbuffer_init(&body);
  int audience = 0;
  rc = hls_summarise_story(&r, api_today(api), &body, &audience, sh.approved_hash);
  msgpack_sbuffer_destroy(&body);
  /* No story to decide on: an approval would have nothing to cover, and a
   * rejection kept would hide the story from review once consent allows
   * one (consent given again needs a new review). */
  if (rc == HLS_ECONSENT)
    rc = hls_why_set(&call->why, HLS_ECONSENT, "record %lld has consent %s%s; stories need peers or network%s",
                     (long long)id, hls_consent_name(r.consent),
                     r.consent >= HLS_CONSENT_PEERS ? " that has expired" : "",
                     approve ? "" : " (nothing to reject: it waits for review once its consent allows a story)");
  hls_record_clear(&r);
  if (rc != 0) return rc;
  sh.record_id = id;
  sh.state = approve ? HLS_SHARE_APPROVED : HLS_SHARE_REJECTED;
  sh.has_hash = approve;
  sh.decided_ms = api_now_ms(api);
  /* The same decision about the same story again changes nothing: the
   * first decision (its time, its person) stands, and the reply says so. */
  struct hls_share before = {0};
  struct hls_why ignored;
  bool unchanged = hls_store_share_get(api->env.store, id, &before, &ignored) == 0 && before.state == sh.state &&
                   before.has_hash == sh.has_hash &&
                   (!sh.has_hash || memcmp(before.approved_hash, sh.approved_hash, sizeof sh.approved_hash) == 0);
  if (!unchanged) {
    if ((rc = hls_store_share_set(api->env.store, &sh, &call->why)) != 0) return rc;
    hls_log_info(approve ? "story_approved" : "story_rejected", "record=%lld", (long long)id);
    api_changed_all(api, true);
  }
  PACK(msgpack_pack_map(call->pk, 4));
  PACK(hls_mp_pack_kv_i64(call->pk, "record", id));
  PACK(hls_mp_pack_kv_str(call->pk, "state", hls_share_state_name(sh.state)));
  PACK(hls_mp_pack_kv_str(call->pk, "audience", approve ? hls_env_audience_name(audience) : NULL));
  PACK(hls_mp_pack_kv_bool(call->pk, "unchanged", unchanged));
  return 0;
}

int api_share_approve(struct hls_api *api, struct hls_control_call *call) { return decide(api, call, true); }
int api_share_reject(struct hls_api *api, struct hls_control_call *call) { return decide(api, call, false); }

int api_share_publish(struct hls_api *api, struct hls_control_call *call) {
  struct hls_api_chain before, after;
  api->env.chain(api->env.ctx, &before);
  int rc = api->env.publish_all(api->env.ctx, &call->why);
  if (rc != 0) return rc;
  api->env.chain(api->env.ctx, &after);
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_kv_i64(call->pk, "published", (int64_t)(after.seq - before.seq)));
  PACK(hls_mp_pack_kv_i64(call->pk, "chain_seq", (int64_t)after.seq));
  return 0;
}

static int pack_log_entry(void *ctx, const struct hls_published *p) {
  msgpack_packer *pk = ctx;
  char when[21], week[9];
  hls_time_format(p->published_ms, when);
  PACK(msgpack_pack_map(pk, 11));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)p->seq));
  PACK(hls_mp_pack_kv_str(pk, "type", hls_env_type_name(p->type)));
  PACK(hls_mp_pack_kv_str(pk, "audience", hls_env_audience_name(p->audience)));
  PACK(hls_mp_pack_kv_str(pk, "published_at", when));
  if (p->iso_week > 0) hls_iso_week_format(p->iso_year, p->iso_week, week);
  PACK(hls_mp_pack_kv_str(pk, "week", p->iso_week > 0 ? week : NULL));
  PACK(hls_mp_pack_cstr(pk, "record"));
  PACK(p->record_id ? msgpack_pack_int64(pk, p->record_id) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_cstr(pk, "target"));
  PACK(p->target_seq ? msgpack_pack_uint64(pk, p->target_seq) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_kv_str(pk, "reason", p->type == HLS_ENV_TOMBSTONE ? hls_tomb_reason_name(p->reason) : NULL));
  PACK(hls_mp_pack_kv_str(pk, "state", p->erased_by ? "erased" : p->superseded_by ? "superseded" : "current"));
  PACK(hls_mp_pack_cstr(pk, "superseded_by"));
  PACK(p->superseded_by ? msgpack_pack_uint64(pk, p->superseded_by) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_cstr(pk, "erased_by"));
  PACK(p->erased_by ? msgpack_pack_uint64(pk, p->erased_by) : msgpack_pack_nil(pk));
  return 0;
}

struct counter {
  uint32_t n;
};
static int count_one(void *ctx, const struct hls_published *p) {
  (void)p;
  ((struct counter *)ctx)->n++;
  return 0;
}

int api_share_log(struct hls_api *api, struct hls_control_call *call) {
  int64_t limit;
  int rc = hls_api_arg_limit(call->req->args, HLS_API_LIMIT_ALL, &limit, &call->why);
  if (rc != 0) return rc;
  struct counter c = {0};
  if ((rc = hls_store_published_list(api->env.store, true, limit, count_one, &c, &call->why)) != 0) return rc;
  PACK(msgpack_pack_array(call->pk, c.n));
  return hls_store_published_list(api->env.store, true, limit, pack_log_entry, call->pk, &call->why);
}

int api_share_export(struct hls_api *api, struct hls_control_call *call) {
  int64_t seq = 0;
  bool present = false;
  int rc = hls_mp_get_i64(call->req->args, "seq", &seq, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || seq <= 0) return hls_why_set(&call->why, HLS_EINVAL, "seq: a positive item seq is required");
  struct hls_item it;
  rc = hls_store_item_get(api->env.store, api->env.identity->public_key, (uint64_t)seq, &it, &call->why);
  if (rc != 0) return rc;
  /* The stub is [header, sig, nil]: the full envelope replaces the final
   * nil with the body. */
  size_t len = it.body ? it.stub_len - 1 + it.body_len : it.stub_len;
  if (msgpack_pack_map(call->pk, 3) != 0 || hls_mp_pack_kv_i64(call->pk, "seq", seq) != 0 ||
      hls_mp_pack_kv_str(call->pk, "body", hls_body_state_name(it.body_state)) != 0 ||
      hls_mp_pack_cstr(call->pk, "envelope") != 0 || msgpack_pack_bin(call->pk, len) != 0 ||
      msgpack_pack_bin_body(call->pk, it.stub, it.body ? it.stub_len - 1 : it.stub_len) != 0 ||
      (it.body && msgpack_pack_bin_body(call->pk, it.body, it.body_len) != 0))
    rc = HLS_ENOMEM;
  hls_item_clear(&it);
  return rc;
}

/* --- erasure receipts ------------------------------------------------------------------ */

/* The story of record_id erased last. */
struct erased_story {
  int64_t record_id;
  struct hls_published found;
  bool has;
};

static int find_erased_story(void *ctx, const struct hls_published *p) {
  struct erased_story *f = ctx;
  if (p->type == HLS_ENV_STORY && p->record_id == f->record_id && p->erased_by != 0 && !f->has) {
    f->found = *p;
    f->has = true;
  }
  return 0;
}

/* The erased item the arguments name: a seq of this node's chain (the
 * item, or the tombstone that erased it), or with record, a record's
 * story erased last. */
static int receipts_item(struct hls_api *api, struct hls_control_call *call, struct hls_published *item) {
  const struct hls_mp_value *a = call->req->args;
  int64_t id = 0;
  bool present = false, by_record = false;
  int rc = hls_mp_get_i64(a, "id", &id, &present, &call->why);
  if (rc == 0) rc = hls_mp_get_bool(a, "record", &by_record, &present, &call->why);
  if (rc != 0) return rc;
  if (id <= 0) return hls_why_set(&call->why, HLS_EINVAL, "id: a positive seq or record id is required");
  if (by_record) {
    struct erased_story f = {.record_id = id};
    if ((rc = hls_store_published_list(api->env.store, true, 0, find_erased_story, &f, &call->why)) != 0) return rc;
    if (!f.has) return hls_why_set(&call->why, HLS_ENOTFOUND, "record %lld has no erased story", (long long)id);
    *item = f.found;
    return 0;
  }
  rc = hls_store_published_get(api->env.store, (uint64_t)id, item, &call->why);
  if (rc == HLS_ENOTFOUND) return hls_why_set(&call->why, rc, "this node has published no item %lld", (long long)id);
  if (rc == 0 && item->type == HLS_ENV_TOMBSTONE) {
    uint64_t target = item->target_seq;
    rc = hls_store_published_get(api->env.store, target, item, &call->why);
    if (rc == HLS_ENOTFOUND) rc = hls_why_set(&call->why, rc, "the item tombstone %lld erased is not in this node's "
                                              "publication log", (long long)id);
  }
  if (rc != 0) return rc;
  if (item->type != HLS_ENV_STORY && item->type != HLS_ENV_DIGEST)
    return hls_why_set(&call->why, HLS_EINVAL, "item %llu is a %s: only stories and digests are erased",
                       (unsigned long long)item->seq, hls_env_type_name(item->type));
  if (item->erased_by == 0)
    return hls_why_set(&call->why, HLS_ESTATE, "item %llu (%s) is not erased: there is nothing to confirm",
                       (unsigned long long)item->seq, hls_env_type_name(item->type));
  return 0;
}

struct receipts_ctx {
  struct list_ctx l;
  int64_t expected, confirmed, erased, never_held, unexpected;
};

static int pack_receipt_place(void *ctx, const struct hls_receipt_place *p) {
  struct receipts_ctx *r = ctx;
  msgpack_packer *pk = &r->l.pk;
  char id[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(p->node_id, id);
  r->l.count++;
  r->expected += p->expected;
  r->unexpected += !p->expected;
  if (p->expected && p->state >= 0) r->confirmed++;
  r->erased += p->expected && p->state == HLS_RECEIPT_ERASED;
  r->never_held += p->expected && p->state == HLS_RECEIPT_NEVER_HELD;
  PACK(msgpack_pack_map(pk, 6));
  PACK(hls_mp_pack_kv_str(pk, "node_id", id));
  PACK(hls_mp_pack_kv_str(pk, "place", p->has_place ? p->place : NULL));
  PACK(hls_mp_pack_cstr(pk, "expected"));
  PACK(p->expected ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
  PACK(hls_mp_pack_kv_str(pk, "state", p->state >= 0 ? hls_receipt_state_name(p->state) : "not_yet"));
  if (p->state >= 0) PACK(api_pack_kv_time(pk, "at", p->receipt_ms));
  else PACK(hls_mp_pack_kv_str(pk, "at", NULL));
  PACK(hls_mp_pack_cstr(pk, "receipt_seq"));
  PACK(p->state >= 0 ? msgpack_pack_uint64(pk, p->receipt_seq) : msgpack_pack_nil(pk));
  return 0;
}

int api_share_receipts(struct hls_api *api, struct hls_control_call *call) {
  struct hls_published item, tomb;
  int rc = receipts_item(api, call, &item);
  if (rc == 0) rc = hls_store_published_get(api->env.store, item.erased_by, &tomb, &call->why);
  if (rc != 0) return rc;
  /* The time the members are judged at: the tombstone as signed. */
  struct hls_item t;
  if ((rc = hls_store_item_get(api->env.store, api->env.identity->public_key, item.erased_by, &t, &call->why)) != 0)
    return rc;
  int64_t erased_ms = t.timestamp_ms;
  hls_item_clear(&t);
  struct receipts_ctx r = {0};
  api_list_init(&r.l);
  rc = hls_store_receipt_places(api->env.store, api->env.identity->public_key, item.seq, item.audience, erased_ms,
                                pack_receipt_place, &r, &call->why);
  if (rc != 0) {
    msgpack_sbuffer_destroy(&r.l.sb);
    return rc;
  }
  if (r.l.sb.size > (size_t)api->env.config->control_max_frame) {
    msgpack_sbuffer_destroy(&r.l.sb);
    return hls_why_set(&call->why, HLS_ETOOBIG, "%u places do not fit in one reply", r.l.count);
  }
  msgpack_packer *pk = call->pk;
  char week[9] = "";
  if (item.iso_week > 0) hls_iso_week_format(item.iso_year, item.iso_week, week);
  if (msgpack_pack_map(pk, 7) != 0 || hls_mp_pack_cstr(pk, "item") != 0 || msgpack_pack_map(pk, 9) != 0 ||
      hls_mp_pack_kv_i64(pk, "seq", (int64_t)item.seq) != 0 ||
      hls_mp_pack_kv_str(pk, "type", hls_env_type_name(item.type)) != 0 ||
      hls_mp_pack_kv_str(pk, "audience", hls_env_audience_name(item.audience)) != 0 ||
      hls_mp_pack_cstr(pk, "record") != 0 ||
      (item.record_id ? msgpack_pack_int64(pk, item.record_id) : msgpack_pack_nil(pk)) != 0 ||
      hls_mp_pack_kv_str(pk, "week", item.iso_week > 0 ? week : NULL) != 0 ||
      api_pack_kv_time(pk, "published_at", item.published_ms) != 0 ||
      hls_mp_pack_kv_i64(pk, "erased_by", (int64_t)item.erased_by) != 0 ||
      api_pack_kv_time(pk, "erased_at", erased_ms) != 0 ||
      hls_mp_pack_kv_str(pk, "reason", hls_tomb_reason_name(tomb.reason)) != 0 ||
      hls_mp_pack_kv_i64(pk, "expected", r.expected) != 0 || hls_mp_pack_kv_i64(pk, "confirmed", r.confirmed) != 0 ||
      hls_mp_pack_kv_i64(pk, "erased", r.erased) != 0 || hls_mp_pack_kv_i64(pk, "never_held", r.never_held) != 0 ||
      hls_mp_pack_kv_i64(pk, "not_expected", r.unexpected) != 0 || hls_mp_pack_cstr(pk, "places") != 0) {
    msgpack_sbuffer_destroy(&r.l.sb);
    return HLS_ENOMEM;
  }
  return api_list_pack(&r.l, pk);
}
