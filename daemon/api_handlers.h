/* Inside the control API: the handlers that api.c's one method table
 * names, grouped by the file that holds them, and the helpers they share.
 * Not for use outside daemon/api*.c (api.h is the API's outside). Every
 * handler has the api_fn contract: it reads call->req->args, packs its
 * reply into call->pk, and returns 0 or an HLS_E code with call->why set.
 * Handlers run on the loop thread. */
#ifndef HLS_API_HANDLERS_H
#define HLS_API_HANDLERS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"

/* The control API (api.h): what it was given, and the imports open on
 * control clients (api_import.c). */
struct import_session;
struct hls_api {
  struct hls_api_env env;
  struct import_session *imports; /* owned: one per client that began one */
  int64_t next_import_session;
  int64_t retention_swept_ms; /* Unix ms of the last retention sweep since hlsd started; 0: none yet */
};

/* The node's side of the env, called as the handlers need it. */
static inline int64_t api_now_ms(const struct hls_api *api) { return api->env.now_ms(api->env.ctx); }
static inline hls_day api_today(const struct hls_api *api) { return api->env.today(api->env.ctx); }
static inline void api_changed(const struct hls_api *api, hls_day first, hls_day last, bool urgent) {
  api->env.changed(api->env.ctx, first, last, urgent);
}
static inline void api_changed_all(const struct hls_api *api, bool urgent) {
  api->env.changed_all(api->env.ctx, urgent);
}
static inline void api_erased(const struct hls_api *api) { api->env.erased(api->env.ctx); }

/* Pack expr; a packer fails only when out of memory: return HLS_ENOMEM. */
#define PACK(expr)                      \
  do {                                  \
    int pack_rc_ = (expr);              \
    if (pack_rc_ != 0) return HLS_ENOMEM; \
  } while (0)

/* --- shared helpers (api.c) ---------------------------------------------- */

/* {id}: a positive record id, required. */
int api_arg_id(const struct hls_mp_value *args, int64_t *id /* out */, struct hls_why *why);
/* An enumeration member key: *out set by parse when present, untouched
 * when absent. parse is one of the api_parse_* adapters. */
int api_arg_enum(const struct hls_mp_value *args, const char *key,
                 int (*parse)(const char *, size_t, void *, struct hls_why *), int *out /* out */,
                 struct hls_why *why);
/* A filter's theme, as written in flags: [KIND:]NAME. slug: NAME
 * normalised; *kind: the enum hls_kind written, -1 if none. */
int api_theme_filter(const char *text, size_t len, char slug[HLS_THEME_MAX + 1], int *kind /* out */,
                     struct hls_why *why);
int api_parse_scale(const char *s, size_t n, void *out /* int */, struct hls_why *w);
int api_parse_stage(const char *s, size_t n, void *out /* int */, struct hls_why *w);
int api_parse_consent(const char *s, size_t n, void *out /* int */, struct hls_why *w);
/* A date member key (YYYY-MM-DD): *has whether it was given. */
int api_arg_date(const struct hls_mp_value *args, const char *key, bool *has /* out */, hls_day *out /* out */,
                 struct hls_why *why);
/* A node id member key; *present false if absent (required: an error). */
int api_arg_node_id_key(const struct hls_mp_value *a, const char *key, bool required, bool *present /* out */,
                        uint8_t pk[32] /* out */, struct hls_why *why);

/* A listing being packed: records, themes, imports, places, stories, items. */
struct list_ctx {
  msgpack_sbuffer sb; /* entries packed here first: the count comes first on the wire */
  msgpack_packer pk;
  bool full;
  uint32_t count;
  const uint8_t *self; /* borrowed: this node's id, for the read-side lists */
  const struct hls_period *retention; /* borrowed: retention.* by scale, for record lists; NULL: not shown */
};
void api_list_init(struct list_ctx *l);
/* Reply with the entries packed in l (after rc, the walk's result), or
 * too_large when they would not fit in one reply frame; frees l. what
 * names the entries in that message. */
int api_list_reply(struct hls_api *api, struct hls_control_call *call, struct list_ctx *l, int rc, const char *what);
/* The entries packed in l as one array value in pk (inside a larger
 * reply); frees l. 0 or HLS_ENOMEM. */
int api_list_pack(struct list_ctx *l, msgpack_packer *pk);

/* key: ms as a UTC time (2026-03-02T10:00:00Z). */
int api_pack_kv_time(msgpack_packer *pk, const char *key, int64_t ms);

/* --- records and themes (api_records.c) ------------------------------------ */

int api_record_add(struct hls_api *api, struct hls_control_call *call);
int api_record_show(struct hls_api *api, struct hls_control_call *call);
int api_record_edit(struct hls_api *api, struct hls_control_call *call);
int api_record_delete(struct hls_api *api, struct hls_control_call *call);
int api_record_list(struct hls_api *api, struct hls_control_call *call);
int api_record_search(struct hls_api *api, struct hls_control_call *call);
int api_themes(struct hls_api *api, struct hls_control_call *call);
int api_themes_network(struct hls_api *api, struct hls_control_call *call);

/* Shared with imports and consent. */
/* The limits a record's fields are checked against (hlsd.conf). */
struct hls_record_limits api_record_limits(const struct hls_api *api);
/* Store an edited record and, when its story consent is gone, forget any
 * approval given under it: one transaction. */
int api_update_record(struct hls_api *api, struct hls_record *r, bool forget_share, struct hls_why *why);
/* Build a new record from a field map, applying defaults. */
int api_record_from_map(struct hls_api *api, const struct hls_mp_value *m, struct hls_record *r /* out */,
                        struct hls_why *why);
/* Set r's retention (and where it comes from) from the [retention] rules. */
void api_record_retention(const struct hls_api *api, struct hls_record *r);
/* A partner keeps no records of its own unless node.records = on. */
int api_check_keeps_records(const struct hls_api *api, struct hls_why *why);
/* Delete the records ids[0..count) in one transaction, all or none, as
 * record.delete does: each is read and handed to each (NULL: none), which
 * may refuse it (its error stops everything) or take note of it; after
 * the commit the store is scrubbed, their weeks re-counted and their
 * published stories erased at every place (tombstones, record_deleted).
 * On error nothing is deleted. */
typedef int (*api_delete_each)(void *ctx, const struct hls_record *r, struct hls_why *why);
int api_delete_records(struct hls_api *api, const int64_t *ids, size_t count, api_delete_each each, void *ctx,
                       struct hls_why *why);
/* A record as the audit log keeps it (api.c): JSON of its fields but the
 * free text, of which only lengths. NULL if not held. Owned by the caller. */
char *api_record_summary(struct hls_api *api, int64_t id);
/* A deleted record's date, if it was counted, and whether a story of it
 * may be out: what must be re-counted and erased after a delete. */
struct shared_date {
  hls_day date;
  bool story;
};

/* --- retention (api_retention.c) ------------------------------------------- */

/* governance.report's retention object (docs/control.md). */
int api_retention_pack(struct hls_api *api, msgpack_packer *pk, struct hls_why *why);

/* --- imports (api_import.c) ------------------------------------------------ */

int api_import_begin(struct hls_api *api, struct hls_control_call *call);
int api_import_rows(struct hls_api *api, struct hls_control_call *call);
int api_import_commit(struct hls_api *api, struct hls_control_call *call);
int api_import_abort(struct hls_api *api, struct hls_control_call *call);
int api_import_list(struct hls_api *api, struct hls_control_call *call);
int api_import_undo(struct hls_api *api, struct hls_control_call *call);
int api_import_status(struct hls_api *api, struct hls_control_call *call);
/* Free the imports still open (hls_api_free): their clients are gone. */
void api_imports_free(struct hls_api *api);

/* --- consent and sharing (api_share.c) ------------------------------------- */

int api_consent_set(struct hls_api *api, struct hls_control_call *call);
int api_consent_withdraw(struct hls_api *api, struct hls_control_call *call);
int api_share_preview(struct hls_api *api, struct hls_control_call *call);
int api_share_review(struct hls_api *api, struct hls_control_call *call);
int api_share_approve(struct hls_api *api, struct hls_control_call *call);
int api_share_reject(struct hls_api *api, struct hls_control_call *call);
int api_share_publish(struct hls_api *api, struct hls_control_call *call);
int api_share_log(struct hls_api *api, struct hls_control_call *call);
int api_share_export(struct hls_api *api, struct hls_control_call *call);
int api_share_receipts(struct hls_api *api, struct hls_control_call *call);

/* --- peers (api_peers.c) --------------------------------------------------- */

int api_peer_add(struct hls_api *api, struct hls_control_call *call);
int api_network_rotate(struct hls_api *api, struct hls_control_call *call);
int api_network_retire_old(struct hls_api *api, struct hls_control_call *call);
int api_network_stewards(struct hls_api *api, struct hls_control_call *call);
int api_network_stewards_add(struct hls_api *api, struct hls_control_call *call);
int api_network_stewards_remove(struct hls_api *api, struct hls_control_call *call);
int api_invite_create(struct hls_api *api, struct hls_control_call *call);
int api_invite_list(struct hls_api *api, struct hls_control_call *call);
int api_invite_revoke(struct hls_api *api, struct hls_control_call *call);
int api_peer_list(struct hls_api *api, struct hls_control_call *call);
int api_peer_remove(struct hls_api *api, struct hls_control_call *call);
int api_peer_block(struct hls_api *api, struct hls_control_call *call);
int api_peer_unblock(struct hls_api *api, struct hls_control_call *call);

/* --- what this node holds: places, stories, items (api_read.c) ------------- */

int api_places(struct hls_api *api, struct hls_control_call *call);

/* --- vouches (api_vouch.c) ------------------------------------------------------- */

int api_vouch(struct hls_api *api, struct hls_control_call *call);
int api_unvouch(struct hls_api *api, struct hls_control_call *call);
int api_vouch_list(struct hls_api *api, struct hls_control_call *call);
struct hls_trust;
/* A place row's keys about vouches (docs/control.md, places): vouched,
 * role_counts, partner_vouches, vouched_by, name_also_claimed_by. */
#define API_PLACES_TRUST_KEYS 8
int api_places_trust(msgpack_packer *pk, const struct hls_trust *t, const uint8_t node_id[32]);
int api_stories(struct hls_api *api, struct hls_control_call *call);
int api_stories_show(struct hls_api *api, struct hls_control_call *call);
int api_items(struct hls_api *api, struct hls_control_call *call);
/* items.import: gossipd takes the envelopes (items_import.h). */
int api_items_import(struct hls_api *api, struct hls_control_call *call);

/* --- patterns and feeds, answered by patternsd (api_patterns.c) ------------ */

int api_patterns(struct hls_api *api, struct hls_control_call *call);
int api_patterns_show(struct hls_api *api, struct hls_control_call *call);
int api_patterns_summary(struct hls_api *api, struct hls_control_call *call);
int api_feed_subscribe(struct hls_api *api, struct hls_control_call *call);
int api_feed_list(struct hls_api *api, struct hls_control_call *call);
int api_feed_unsubscribe(struct hls_api *api, struct hls_control_call *call);
int api_feed_follow(struct hls_api *api, struct hls_control_call *call);
int api_feed_ack(struct hls_api *api, struct hls_control_call *call);
int api_feed_events(struct hls_api *api, struct hls_control_call *call);

/* --- people of the web app, feed tokens (api_users.c) ------------------------ */

int api_user_add(struct hls_api *api, struct hls_control_call *call);
int api_user_list(struct hls_api *api, struct hls_control_call *call);
int api_user_remove(struct hls_api *api, struct hls_control_call *call);
int api_user_reset(struct hls_api *api, struct hls_control_call *call);
int api_web_open(struct hls_api *api, struct hls_control_call *call);
int api_feed_token(struct hls_api *api, struct hls_control_call *call);

/* --- the audit log (api_audit.c) -------------------------------------------- */

int api_audit(struct hls_api *api, struct hls_control_call *call);
int api_audit_verify(struct hls_api *api, struct hls_control_call *call);
int api_governance_report(struct hls_api *api, struct hls_control_call *call);

/* --- the node: status, backup, check, chain, test clock (api_node.c) ------- */

int api_status(struct hls_api *api, struct hls_control_call *call);
int api_backup(struct hls_api *api, struct hls_control_call *call);
int api_check(struct hls_api *api, struct hls_control_call *call);
int api_chain(struct hls_api *api, struct hls_control_call *call);
int api_chain_accept_loss(struct hls_api *api, struct hls_control_call *call);
int api_identity_rotate(struct hls_api *api, struct hls_control_call *call);
int api_test_clock_set(struct hls_api *api, struct hls_control_call *call);
int api_test_clock_advance(struct hls_api *api, struct hls_control_call *call);

#endif
