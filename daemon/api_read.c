/* The commands about the items this node holds (docs/control.md): places,
 * stories, stories.show, items; and items.import, handed to items_import.c. */
#include "api_handlers.h"

#include <string.h>

#include "cursor.h"
#include "hls_limits.h"
#include "items_import.h"
#include "nodeid.h"
#include "text.h"
#include "trust.h"

/* --- what this node holds: places, stories, items ------------------------------------ */

static int pack_kv_node_id(msgpack_packer *pk, const char *key, const uint8_t id[32]) {
  char text[HLS_NODEID_TEXT_SIZE];
  hls_nodeid_format(id, text);
  return hls_mp_pack_kv_str(pk, key, text);
}

static int pack_kv_item_id(msgpack_packer *pk, const char *key, const uint8_t id[32]) {
  char hex[HLS_ITEM_ID_HEX_SIZE];
  hls_item_id_format(id, hex);
  return hls_mp_pack_kv_str(pk, key, hex);
}

/* The place of p, nil when no profile of it is held. */
static const char *place_name(const struct hls_place_row *p) {
  return p != NULL && p->has_profile ? p->profile.place : NULL;
}
static const char *place_region(const struct hls_place_row *p) {
  return p != NULL && p->has_profile ? p->profile.region : NULL;
}
static const char *place_role(const struct hls_place_row *p) {
  if (p == NULL || !p->has_profile) return NULL;
  return p->profile.role == HLS_PROFILE_PARTNER ? "partner" : "place";
}

/* --- pages -------------------------------------------------------------------------
 * Each call of places, stories and items answers one page: at most the
 * rows its limit asks for and the listing's page size allows, within one
 * reply frame, and at most a page's budget of rows read (HLS_PAGE_*,
 * hls_limits.h); and the cursor of the next page, nil at the end
 * (docs/control.md, "Pages"). */

/* A page being packed: its rows, and the bytes they may take. */
struct page_ctx {
  struct list_ctx l;
  size_t max_bytes;
  const struct hls_trust *trust; /* borrowed: places only */
};

/* Room in a reply frame for all but the rows: the frame's own fields, the
 * reply's keys and the cursor (HLS_CURSOR_TEXT_SIZE). */
#define PAGE_FRAME_RESERVE 4096

static void page_init(struct hls_api *api, struct page_ctx *pc) {
  api_list_init(&pc->l);
  pc->l.self = api->env.identity->public_key;
  size_t frame = (size_t)api->env.config->control_max_frame;
  pc->max_bytes = frame > 2 * PAGE_FRAME_RESERVE ? frame - PAGE_FRAME_RESERVE : frame / 2;
}

/* After a row's packing (rc, and the buffer's size before it): the row
 * is taken, or it would not fit with the rows before it: undone,
 * HLS_PAGE_FULL. The first row of a page is always taken (one that is
 * alone too large for a frame is too_large, in page_reply). */
static int page_took(struct page_ctx *pc, size_t before, int rc) {
  if (rc != 0) return rc;
  if (pc->l.count > 0 && pc->l.sb.size > pc->max_bytes) {
    pc->l.sb.size = before;
    return HLS_PAGE_FULL;
  }
  pc->l.count++;
  return 0;
}

/* The page's "limit" and "after": page->limit the rows asked for (limit,
 * absent or 0: all) up to page_max; page->after, parsed from the cursor
 * text into *after, when given. */
static int page_args(const struct hls_mp_value *a, int kind, int64_t page_max, int64_t budget, struct hls_page *page,
                     struct hls_cursor *after, struct hls_why *why) {
  int64_t limit = 0;
  const char *text;
  uint32_t len;
  bool present = false;
  memset(page, 0, sizeof *page);
  int rc = hls_api_arg_limit(a, HLS_API_LIMIT_ALL, &limit, why);
  if (rc == 0) rc = hls_mp_get_str(a, "after", &text, &len, &present, why);
  if (rc != 0) return rc;
  if (present) {
    if ((rc = hls_cursor_parse(text, len, kind, after, why)) != 0) {
      hls_why_prefix(why, "after: ");
      return rc;
    }
    page->after = after;
  }
  page->limit = limit == 0 || limit > page_max ? page_max : limit;
  page->budget = budget;
  return 0;
}

/* Reply {key: [rows], next: cursor or nil} (after rc, the walk's
 * result); frees pc. */
static int page_reply(struct hls_api *api, struct hls_control_call *call, struct page_ctx *pc, int rc, const char *key,
                      const struct hls_page *page) {
  char next[HLS_CURSOR_TEXT_SIZE];
  msgpack_packer *pk = call->pk;
  if (rc == 0 && pc->l.sb.size > pc->max_bytes)
    rc = hls_why_set(&call->why, HLS_ETOOBIG, "one of the %s is larger than a reply (limits.control_max_frame, %lld bytes)",
                     key, (long long)api->env.config->control_max_frame);
  if (rc == 0 && page->more) rc = hls_cursor_format(&page->next, next);
  if (rc == 0 && (msgpack_pack_map(pk, 2) != 0 || hls_mp_pack_cstr(pk, key) != 0 ||
                  msgpack_pack_array(pk, pc->l.count) != 0 ||
                  (pc->l.sb.size > 0 && msgpack_sbuffer_write(pk->data, pc->l.sb.data, pc->l.sb.size) != 0) ||
                  hls_mp_pack_cstr(pk, "next") != 0 ||
                  (page->more ? hls_mp_pack_cstr(pk, next) : msgpack_pack_nil(pk)) != 0))
    rc = HLS_ENOMEM;
  msgpack_sbuffer_destroy(&pc->l.sb);
  return rc;
}

static int pack_place(msgpack_packer *pk, const struct hls_place_row *p, const uint8_t *self,
                      const struct hls_trust *trust) {
  PACK(msgpack_pack_map(pk, 14 + API_PLACES_TRUST_KEYS));
  PACK(pack_kv_node_id(pk, "node_id", p->node_id));
  PACK(hls_mp_pack_kv_bool(pk, "self", memcmp(p->node_id, self, 32) == 0));
  PACK(hls_mp_pack_kv_str(pk, "place", place_name(p)));
  PACK(hls_mp_pack_kv_str(pk, "region", place_region(p)));
  PACK(hls_mp_pack_kv_str(pk, "role", place_role(p)));
  PACK(hls_mp_pack_cstr(pk, "addresses"));
  PACK(msgpack_pack_array(pk, p->has_profile ? p->profile.n_addresses : 0));
  for (size_t i = 0; p->has_profile && i < p->profile.n_addresses; i++) PACK(hls_mp_pack_cstr(pk, p->profile.addresses[i]));
  PACK(hls_mp_pack_cstr(pk, "profile_seq"));
  PACK(p->has_profile ? msgpack_pack_uint64(pk, p->profile_seq) : msgpack_pack_nil(pk));
  PACK(hls_mp_pack_kv_i64(pk, "items", p->items));
  PACK(hls_mp_pack_kv_i64(pk, "held", p->items - p->stubs - p->erased));
  PACK(hls_mp_pack_kv_i64(pk, "stubs", p->stubs));
  PACK(hls_mp_pack_kv_i64(pk, "erased", p->erased));
  PACK(hls_mp_pack_kv_i64(pk, "chain_seq", (int64_t)p->chain_seq));
  PACK(pack_kv_item_id(pk, "head", p->head_id));
  PACK(api_pack_kv_time(pk, "last_heard", p->last_heard_ms));
  return api_places_trust(pk, trust, p->node_id);
}

static int place_one(void *ctx, const struct hls_place_row *p) {
  struct page_ctx *pc = ctx;
  size_t before = pc->l.sb.size;
  return page_took(pc, before, pack_place(&pc->l.pk, p, pc->l.self, pc->trust));
}

int api_places(struct hls_api *api, struct hls_control_call *call) {
  struct hls_page page;
  struct hls_cursor after;
  int rc = page_args(call->req->args, HLS_CURSOR_PLACES, HLS_PAGE_PLACES_MAX, 0, &page, &after, &call->why);
  if (rc != 0) return rc;
  struct hls_trust trust;
  rc = hls_trust_load(&trust, api->env.store, api->env.identity->public_key, api->env.config->trust_partner_vouches,
                      &call->why);
  if (rc != 0) return rc;
  struct page_ctx pc;
  page_init(api, &pc);
  pc.trust = &trust;
  rc = hls_store_places(api->env.store, &page, place_one, &pc, &call->why);
  rc = page_reply(api, call, &pc, rc, "places", &page);
  hls_trust_free(&trust);
  return rc;
}

/* {id, origin, seq, self, place, region, published_at} and the story's
 * fields (15 pairs); full adds {role, week_start, week_end, received_at}. */
static int pack_story_row(msgpack_packer *pk, const struct hls_story_row *r, const uint8_t *self, bool full) {
  const struct hls_place_row *p = r->place;
  PACK(msgpack_pack_map(pk, full ? 19 : 15));
  PACK(pack_kv_item_id(pk, "id", r->item_id));
  PACK(pack_kv_node_id(pk, "origin", r->origin));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)r->seq));
  PACK(hls_mp_pack_kv_bool(pk, "self", memcmp(r->origin, self, 32) == 0));
  PACK(hls_mp_pack_kv_str(pk, "place", place_name(p)));
  PACK(hls_mp_pack_kv_str(pk, "region", place_region(p)));
  PACK(api_pack_kv_time(pk, "published_at", r->timestamp_ms));
  PACK(hls_summarise_pack_story(pk, r->story, r->audience));
  if (!full) return 0;
  hls_day monday = 0;
  char start[11], end[11];
  if (hls_iso_week_monday(r->story->iso_year, r->story->iso_week, &monday) != 0) return HLS_EINTERNAL;
  hls_date_format(monday, start);
  hls_date_format(monday + 6, end);
  PACK(hls_mp_pack_kv_str(pk, "role", place_role(p)));
  PACK(hls_mp_pack_kv_str(pk, "week_start", start));
  PACK(hls_mp_pack_kv_str(pk, "week_end", end));
  PACK(api_pack_kv_time(pk, "received_at", r->stored_ms));
  return 0;
}

static int story_one(void *ctx, const struct hls_story_row *r) {
  struct page_ctx *pc = ctx;
  size_t before = pc->l.sb.size;
  return page_took(pc, before, pack_story_row(&pc->l.pk, r, pc->l.self, false));
}

/* A string member copied into out (NUL-terminated), checked as one line of
 * at most max bytes. */
static int arg_text(const struct hls_mp_value *a, const char *key, size_t max, char *out, bool *present,
                    struct hls_why *why) {
  const char *s;
  uint32_t len;
  *present = false;
  int rc = hls_mp_get_str(a, key, &s, &len, present, why);
  if (rc != 0 || !*present) return rc;
  if ((rc = hls_text_check(s, len, max, false, key, why)) != 0) return rc;
  if (len == 0) return hls_why_set(why, HLS_EINVAL, "%s: empty", key);
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

#define PLACE_ARG_MAX (HLS_PLACE_MAX > HLS_NODEID_TEXT_SIZE ? HLS_PLACE_MAX : HLS_NODEID_TEXT_SIZE)

int api_stories(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *a = call->req->args;
  struct hls_story_filter f = {0};
  struct hls_page page;
  struct hls_cursor after;
  char place[PLACE_ARG_MAX + 1], theme[HLS_THEME_MAX * 4 + 1], slug[HLS_THEME_MAX + 1];
  bool has_place, has_theme;
  int rc;
  if ((rc = arg_text(a, "place", PLACE_ARG_MAX, place, &has_place, &call->why)) != 0 ||
      (rc = arg_text(a, "theme", sizeof theme - 1, theme, &has_theme, &call->why)) != 0 ||
      (rc = api_arg_date(a, "since", &f.has_since, &f.since, &call->why)) != 0 ||
      (rc = page_args(a, HLS_CURSOR_STORIES, HLS_PAGE_STORIES_MAX, HLS_PAGE_STORIES_READ_MAX, &page, &after,
                      &call->why)) != 0)
    return rc;
  int kind = -1;
  if (has_theme && (rc = api_theme_filter(theme, strlen(theme), slug, &kind, &call->why)) != 0) return rc;
  f.place = has_place ? place : NULL;
  f.theme = has_theme ? slug : NULL;
  f.theme_kinds = kind >= 0 ? 1u << kind : 0;
  struct page_ctx pc;
  page_init(api, &pc);
  rc = hls_store_stories(api->env.store, &f, &page, story_one, &pc, &call->why);
  return page_reply(api, call, &pc, rc, "stories", &page);
}

struct story_show {
  msgpack_packer *pk; /* borrowed: the reply */
  const uint8_t *self;
};

static int story_show_one(void *ctx, const struct hls_story_row *r) {
  struct story_show *show = ctx;
  return pack_story_row(show->pk, r, show->self, true);
}

int api_stories_show(struct hls_api *api, struct hls_control_call *call) {
  char id[128];
  bool present;
  struct hls_item_ref ref;
  int rc = arg_text(call->req->args, "id", sizeof id - 1, id, &present, &call->why);
  if (rc != 0) return rc;
  if (!present || hls_item_ref_parse(id, &ref) != 0)
    return hls_why_set(&call->why, HLS_EINVAL,
                       "id: expected a story id (8 to 64 hex digits of its item id) or NODE_ID:SEQ");
  struct story_show show = {.pk = call->pk, .self = api->env.identity->public_key};
  return hls_store_story_find(api->env.store, &ref, story_show_one, &show, &call->why);
}

static int pack_item(msgpack_packer *pk, const struct hls_item_row *r, const uint8_t *self) {
  PACK(msgpack_pack_map(pk, 11));
  PACK(pack_kv_node_id(pk, "origin", r->origin));
  PACK(hls_mp_pack_kv_bool(pk, "self", memcmp(r->origin, self, 32) == 0));
  PACK(hls_mp_pack_kv_str(pk, "place", place_name(r->place)));
  PACK(hls_mp_pack_kv_i64(pk, "seq", (int64_t)r->seq));
  PACK(hls_mp_pack_kv_str(pk, "type", hls_env_type_name(r->type)));
  PACK(hls_mp_pack_kv_str(pk, "audience", hls_env_audience_name(r->audience)));
  PACK(hls_mp_pack_kv_str(pk, "body", hls_body_state_name(r->body_state)));
  PACK(hls_mp_pack_kv_i64(pk, "body_bytes", r->body_bytes));
  PACK(api_pack_kv_time(pk, "published_at", r->timestamp_ms));
  PACK(api_pack_kv_time(pk, "stored_at", r->stored_ms));
  PACK(pack_kv_item_id(pk, "item_id", r->item_id));
  return 0;
}

static int item_one(void *ctx, const struct hls_item_row *r) {
  struct page_ctx *pc = ctx;
  size_t before = pc->l.sb.size;
  return page_took(pc, before, pack_item(&pc->l.pk, r, pc->l.self));
}

int api_items(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *a = call->req->args;
  struct hls_item_filter f = {0};
  struct hls_page page;
  struct hls_cursor after;
  char type[16];
  bool has_type;
  int rc;
  if ((rc = api_arg_node_id_key(a, "origin", false, &f.has_origin, f.origin, &call->why)) != 0 ||
      (rc = page_args(a, HLS_CURSOR_ITEMS, HLS_PAGE_ITEMS_MAX, HLS_PAGE_ITEMS_READ_MAX, &page, &after, &call->why)) !=
          0)
    return rc;
  rc = arg_text(a, "type", sizeof type - 1, type, &has_type, &call->why);
  if (rc == HLS_ETOOBIG || (rc == 0 && has_type && hls_env_type_parse(type, &f.type) != 0))
    return hls_why_set(&call->why, HLS_EINVAL, "type: expected profile|digest|story|tombstone|receipt|vouch|fork|rekey|successor");
  if (rc != 0) return rc;
  struct page_ctx pc;
  page_init(api, &pc);
  rc = hls_store_items(api->env.store, &f, &page, item_one, &pc, &call->why);
  return page_reply(api, call, &pc, rc, "items", &page);
}

int api_items_import(struct hls_api *api, struct hls_control_call *call) {
  return hls_items_import_api(api->env.gossip, call);
}
