/* The control API: its one method table and the dispatch through it (with
 * a log line per change), and the helpers the handlers share. The handlers
 * are in api_*.c, a file by subject, declared in api_handlers.h. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <string.h>

#include "items_import.h"
#include "log.h"
#include "nodeid.h"
#include "text.h"

typedef int (*api_fn)(struct hls_node *n, struct hls_control_call *call);

struct api_command {
  const char *name;
  api_fn fn;
  const char *help;
  bool changes; /* changes the node: logged with the caller's user */
};

/* --- argument helpers ------------------------------------------------------ */

int api_arg_id(const struct hls_mp_value *args, int64_t *id, struct hls_why *why) {
  bool present = false;
  int rc = hls_mp_get_i64(args, "id", id, &present, why);
  if (rc != 0) return rc;
  if (!present || *id <= 0) return hls_why_set(why, HLS_EINVAL, "id: a positive record id is required");
  return 0;
}

int api_arg_enum(const struct hls_mp_value *args, const char *key,
                 int (*parse)(const char *, size_t, void *, struct hls_why *), int *out, struct hls_why *why) {
  const char *s;
  uint32_t len;
  bool present = false;
  int rc = hls_mp_get_str(args, key, &s, &len, &present, why);
  if (rc != 0 || !present) return rc;
  int v = 0;
  if ((rc = parse(s, len, &v, why)) != 0) return rc;
  *out = v;
  return 0;
}

/* Adapters so one helper handles every enumeration (all are int-sized). */
int api_parse_scale(const char *s, size_t n, void *out, struct hls_why *w) {
  enum hls_scale v;
  int rc = hls_scale_parse(s, n, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}
int api_parse_stage(const char *s, size_t n, void *out, struct hls_why *w) {
  enum hls_stage v;
  int rc = hls_stage_parse(s, n, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}
int api_parse_consent(const char *s, size_t n, void *out, struct hls_why *w) {
  enum hls_consent v;
  int rc = hls_consent_parse(s, n, &v, w);
  if (rc == 0) *(int *)out = (int)v;
  return rc;
}

int api_arg_date(const struct hls_mp_value *args, const char *key, bool *has, hls_day *out, struct hls_why *why) {
  const char *s;
  uint32_t len;
  int rc = hls_mp_get_str(args, key, &s, &len, has, why);
  if (rc != 0 || !*has) return rc;
  if (hls_date_parse(s, len, out) != 0) return hls_why_set(why, HLS_EINVAL, "%s: expected a date YYYY-MM-DD", key);
  return 0;
}

int api_arg_node_id_key(const struct hls_mp_value *a, const char *key, bool required, bool *present, uint8_t pk[32],
                        struct hls_why *why) {
  const char *s;
  uint32_t len;
  char text[HLS_NODEID_TEXT_SIZE];
  *present = false;
  int rc = hls_mp_get_str(a, key, &s, &len, present, why);
  if (rc != 0 || (!*present && !required)) return rc;
  if (!*present || len != HLS_NODEID_TEXT_SIZE - 1)
    return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", key);
  memcpy(text, s, len);
  text[len] = '\0';
  if (hls_nodeid_parse(text, pk) != 0)
    return hls_why_set(why, HLS_EINVAL, "%s: expected @<44 characters of base64>.ed25519", key);
  return 0;
}

int hls_api_arg_limit(const struct hls_mp_value *args, int64_t absent_limit, int64_t *limit, struct hls_why *why) {
  *limit = absent_limit;
  int rc = hls_mp_get_i64(args, "limit", limit, NULL, why);
  if (rc == 0 && *limit < 0) rc = hls_why_set(why, HLS_EINVAL, "limit: must be 0 (no limit) or more");
  return rc;
}

/* --- replies ---------------------------------------------------------------- */

void api_list_init(struct list_ctx *l) {
  memset(l, 0, sizeof *l);
  msgpack_sbuffer_init(&l->sb);
  msgpack_packer_init(&l->pk, &l->sb, msgpack_sbuffer_write);
}

int api_list_reply(struct hls_node *n, struct hls_control_call *call, struct list_ctx *l, int rc, const char *what) {
  if (rc == 0 && l->sb.size > (size_t)n->config->control_max_frame)
    rc = hls_why_set(&call->why, HLS_ETOOBIG, "%u %s do not fit in one reply; use --limit or filters", l->count, what);
  if (rc == 0 && msgpack_pack_array(call->pk, l->count) != 0) rc = HLS_ENOMEM;
  if (rc == 0 && l->sb.size > 0 && msgpack_sbuffer_write(call->pk->data, l->sb.data, l->sb.size) != 0) rc = HLS_ENOMEM;
  msgpack_sbuffer_destroy(&l->sb);
  return rc;
}

int api_pack_kv_time(msgpack_packer *pk, const char *key, int64_t ms) {
  char when[21];
  hls_time_format(ms, when);
  return hls_mp_pack_kv_str(pk, key, when);
}

/* --- the method table ------------------------------------------------------- */

static int api_commands(struct hls_node *n, struct hls_control_call *call);

static const struct api_command commands[] = {
    {"status", api_status, "node identity, uptime, record counts and store size", false},
    {"record.add", api_record_add, "add a record: {record: {...fields}}", true},
    {"record.list", api_record_list, "list records, newest first: {theme, scale, stage, consent, since, until, limit,"
                                     " full, after_date, after_id} (after: the next page, after that record)", false},
    {"record.show", api_record_show, "one record with every field: {id}", false},
    {"record.edit", api_record_edit, "change fields of a record: {id, set: {...fields}}", true},
    {"record.delete", api_record_delete, "delete a record: {id}, or several, all or none: {ids: [...]}", true},
    {"themes", api_themes, "themes in use with counts by kind and scale", false},
    {"themes.network", api_themes_network, "themes of every place's digests held: [{name, kind, places, last_week}],"
                                           " most places first", false},
    {"import.begin", api_import_begin, "start an all-or-nothing bulk import on this connection", false},
    {"import.rows", api_import_rows, "stage a batch: {rows: [{line, record}]}; bad rows are reported", false},
    {"import.commit", api_import_commit, "import every staged row in one transaction", true},
    {"import.abort", api_import_abort, "drop the staged rows", false},
    {"import.list", api_import_list, "committed imports, newest first: {limit?}", false},
    {"import.undo", api_import_undo, "delete an import's records: {import_id} (32 hex digits, or 8+)", true},
    {"import.status", api_import_status, "did an import go in: {import_id} -> committed, open or not_committed", false},
    {"consent.set", api_consent_set, "give consent: {id, level, by?, purpose?, expires?}", true},
    {"consent.withdraw", api_consent_withdraw, "withdraw consent: {id}; a published story is erased", true},
    {"share.preview", api_share_preview, "everything this node shares, published or pending", false},
    {"share.review", api_share_review, "stories that wait for a person's decision", false},
    {"share.approve", api_share_approve, "approve a record's story as it is now: {id, by?}", true},
    {"share.reject", api_share_reject, "reject a record's story: {id, by?}", true},
    {"share.publish", api_share_publish, "publish what is due now, without waiting for publish.delay", true},
    {"share.log", api_share_log, "every item this node published, newest first: {limit?}", false},
    {"share.export", api_share_export, "one of this node's items as envelope bytes: {seq}", false},
    {"peer.add", api_peer_add, "trust a peer and keep connected to it: {address, node_id}", true},
    {"peer.list", api_peer_list, "known peers with state, last seen, bytes in/out, failures", false},
    {"peer.remove", api_peer_remove, "forget a peer: {node_id}", true},
    {"peer.block", api_peer_block, "refuse a peer, in both directions: {node_id}", true},
    {"peer.unblock", api_peer_unblock, "stop refusing a peer: {node_id}", true},
    {"places", api_places, "every place (origin) whose items this node holds, with counts and last heard", false},
    {"stories", api_stories, "stories held from every place, newest first: {place?, theme?, since?, limit?}", false},
    {"stories.show", api_stories_show, "one whole story: {id} (its item id in hex, a prefix of 8+, or NODE_ID:SEQ)", false},
    {"items", api_items, "every envelope held, by origin then seq: {origin?, type?, limit?}", false},
    {"items.import", hls_items_import_api, "import envelopes as if a peer sent them: {envelopes: [bin, ...]}", true},
    {"patterns", api_patterns, "patterns, strongest first: {signal?, theme?, kind?, scale?, region?, place?, since?,"
                               " until?, min_places?, min_strength?, all?, limit?, offset?} -> {total, live, ended,"
                               " by_signal, offset, patterns}", false},
    {"patterns.show", api_patterns_show, "one pattern with its places, weeks, method and lineage: {id} (16 hex"
                                         " digits, or a prefix of 4+)", false},
    {"patterns.summary", api_patterns_summary, "the week's read: new, growing, shrinking, ended and retracted"
                                               " patterns by signal and region: {week?, top?}", false},
    {"feed.subscribe", api_feed_subscribe, "a durable feed of pattern events: {name, same filters as patterns}", true},
    {"feed.list", api_feed_list, "feeds with their filters and cursors", false},
    {"feed.unsubscribe", api_feed_unsubscribe, "drop a feed: {name}", true},
    {"feed.follow", api_feed_follow, "stream a feed's events after its cursor (or after from): {name, from?};"
                                     " events \"pattern\" {seq, change, at, pattern} and \"caught_up\" {seq};"
                                     " no reply until the feed goes", false},
    {"feed.ack", api_feed_ack, "move a feed's cursor: {name, seq}", true},
    {"backup", api_backup, "write a consistent copy of the store: {path} (absolute, must not exist)", true},
    {"check", api_check, "check the whole store (PRAGMA integrity_check): {ok, problems: [...]}", false},
    {"chain", api_chain, "this node's own chain: {seq, signed, recovering, mark_lost}", false},
    {"chain.accept_loss", api_chain_accept_loss, "stop waiting for own items the store lost and sign from its"
                                                 " head on (peers holding them will see a fork)", true},
    {"commands", api_commands, "this list", false},
};

/* Only on hlsd --test-clock; on the system clock they are unknown
 * commands, and not listed. */
static const struct api_command test_clock_commands[] = {
    {"test.clock.set", api_test_clock_set, "tests: move the frozen clock to {at} (UTC) and do what came due:"
                                           " {now, now_ms, today}", true},
    {"test.clock.advance", api_test_clock_advance, "tests: move the frozen clock {ms} forward and do what came due:"
                                                   " {now, now_ms, today}", true},
};

/* The node's commands in order, i from 0: NULL past the last. */
static const struct api_command *command_at(const struct hls_node *n, size_t i) {
  size_t base = sizeof commands / sizeof commands[0];
  if (i < base) return &commands[i];
  if (n->test_clock && i - base < sizeof test_clock_commands / sizeof test_clock_commands[0])
    return &test_clock_commands[i - base];
  return NULL;
}

static int api_commands(struct hls_node *n, struct hls_control_call *call) {
  size_t count = 0;
  const struct api_command *c;
  while (command_at(n, count) != NULL) count++;
  PACK(msgpack_pack_array(call->pk, count));
  for (size_t i = 0; (c = command_at(n, i)) != NULL; i++) {
    PACK(msgpack_pack_map(call->pk, 2));
    PACK(hls_mp_pack_kv_str(call->pk, "name", c->name));
    PACK(hls_mp_pack_kv_str(call->pk, "help", c->help));
  }
  return 0;
}

/* One log line per change, naming who made it (the kernel's word on the
 * caller, hls_control_client_user) and what it was about: the raw
 * material of an audit log. */
static void log_change(const struct api_command *c, const struct hls_control_call *call, int rc) {
  char about[160] = "";
  const struct hls_mp_value *v;
  if ((v = hls_mp_get(call->req->args, "id")) != NULL && (v->type == HLS_MP_UINT || v->type == HLS_MP_INT))
    snprintf(about, sizeof about, " id=%lld", v->type == HLS_MP_UINT ? (long long)v->v.u : (long long)v->v.i);
  else if ((v = hls_mp_get(call->req->args, "ids")) != NULL && v->type == HLS_MP_ARRAY)
    snprintf(about, sizeof about, " ids=%u", (unsigned)v->len);
  else if ((v = hls_mp_get(call->req->args, "node_id")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, sizeof about, " node_id=%.*s", (int)(v->len < 80 ? v->len : 80), v->v.str);
  else if ((v = hls_mp_get(call->req->args, "import_id")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, sizeof about, " import_id=%.*s", (int)(v->len < 32 ? v->len : 32), v->v.str);
  else if ((v = hls_mp_get(call->req->args, "name")) != NULL && v->type == HLS_MP_STR)
    snprintf(about, sizeof about, " name=%.*s", (int)(v->len < 80 ? v->len : 80), v->v.str);
  hls_text_sanitize(about);
  hls_log_info("change", "method=%s user=%s uid=%u%s result=%s", c->name, call->user ? call->user : "-",
               (unsigned)call->uid, about, rc == 0 ? "ok" : hls_err_name(rc));
}

int hls_api_dispatch(void *node, struct hls_control_call *call) {
  struct hls_node *n = node;
  const struct api_command *c;
  for (size_t i = 0; (c = command_at(n, i)) != NULL; i++)
    if (strcmp(c->name, call->req->cmd) == 0) {
      int rc = c->fn(n, call);
      if (c->changes) log_change(c, call, rc);
      return rc;
    }
  char name[64];
  snprintf(name, sizeof name, "%s", call->req->cmd);
  hls_text_sanitize(name);
  return hls_why_set(&call->why, HLS_EUNKNOWN_CMD, "unknown command \"%s\" (the commands command lists them)", name);
}
