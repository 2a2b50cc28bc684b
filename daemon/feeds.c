/* Feeds and their followers (docs/control.md): feed.subscribe, feed.list,
 * feed.unsubscribe, feed.follow and feed.ack; a feed is a stored filter
 * with a cursor, a follower a stream of the events after it, at most
 * FOLLOW_WINDOW of them unacknowledged, pumped when the host writes new
 * events (hls_feeds_pump_all) or an ack opens the window. */
#include "feeds.h"

#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "log.h"
#include "mp.h"
#include "patfilter.h"
#include "patstore.h"
#include "patsummary.h"

#define FOLLOW_WINDOW 64  /* unacknowledged events per follower */
#define SCAN_BATCH 256    /* events read per query when following */
#define FEED_NAME_MAX 64
#define MAX_FOLLOWERS 256 /* streams at once, all clients */
/* After a vouch or profile is stored, followers of feeds --vouched look
 * again this much later: a catch-up storing thousands of profiles costs
 * one reading of the vouches (hls_trust_load) per follower per spell, not
 * one per item. */
#define TRUST_PUMP_DELAY_MS 200

#define PACK(x)                                                                                                  \
  do {                                                                                                           \
    if ((x) != 0) return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");                                   \
  } while (0)

struct follower {
  struct follower *next;
  struct hls_control_client *client;
  uint64_t req_id;
  char feed[FEED_NAME_MAX + 1];
  struct hls_patfilter filter;
  int64_t sent;           /* the last event seq looked at */
  int64_t unacked[FOLLOW_WINDOW];
  size_t n_unacked;
  /* A feed --vouched: the events it held back and sent late, in the
   * order sent, until the follower says it took them (feed.ack with
   * late): only then are they done with, so that one sent and not taken
   * (past --limit, a reader gone) is held back still and comes again. */
  struct late_sent {
    int64_t seq;
    uint8_t id[HLS_PAT_ID_BYTES];
  } late[FOLLOW_WINDOW];
  size_t n_late;
  bool caught_up_sent;
};

struct hls_feeds {
  struct hls_feeds_env env;
  uv_timer_t pump_timer; /* pumps after an ack, from the loop; closed by hls_feeds_close */
  struct follower *followers;
};

/* --- following -------------------------------------------------------------------------- */

struct event_pack {
  int64_t seq, at;
  int change;
  bool late; /* held back, sent now, out of order */
  const struct hls_patrow *row;
};

static int pack_event(void *ctx, msgpack_packer *pk) {
  const struct event_pack *e = ctx;
  char at[21];
  hls_time_format(e->at, at);
  if (msgpack_pack_map(pk, 4 + e->late) != 0 || (e->late && hls_mp_pack_kv_bool(pk, "late", true) != 0) ||
      hls_mp_pack_kv_i64(pk, "seq", e->seq) != 0 ||
      hls_mp_pack_kv_str(pk, "change", hls_pat_change_name(e->change)) != 0 || hls_mp_pack_kv_str(pk, "at", at) != 0 ||
      hls_mp_pack_cstr(pk, "pattern") != 0)
    return HLS_ENOMEM;
  return pk->callback(pk->data, e->row->summary, e->row->summary_len) == 0 ? 0 : HLS_ENOMEM;
}

static int pack_caught_up(void *ctx, msgpack_packer *pk) {
  const int64_t *seq = ctx;
  return msgpack_pack_map(pk, 1) == 0 && hls_mp_pack_kv_i64(pk, "seq", *seq) == 0 ? 0 : HLS_ENOMEM;
}

static void follower_remove(struct hls_feeds *feeds, struct follower *f) {
  for (struct follower **pp = &feeds->followers; *pp; pp = &(*pp)->next)
    if (*pp == f) {
      *pp = f->next;
      free(f);
      return;
    }
}

/* A store error reading f's events (code, why) ends its stream with that
 * error: following again resumes from the feed's cursor, so nothing is
 * lost. Logs it, frees f and returns code. */
static int follower_fail(struct hls_feeds *feeds, struct follower *f, int code, const struct hls_why *why) {
  struct hls_control_client *client = f->client;
  uint64_t id = f->req_id;
  hls_log_error("feed_follow_failed", "name=%s client=%llu error=%s detail=\"%s\"", f->feed,
                (unsigned long long)hls_control_client_id(client), hls_err_name(code), why->text);
  follower_remove(feeds, f);
  (void)hls_control_reply(client, id, code, why->text, NULL, NULL);
  return code;
}

/* One event to a follower, while pumping. */
struct pump_ctx {
  struct hls_feeds *feeds;
  struct follower *f;
  struct hls_why *why;
};

/* Send event ev to f (f's filter selected it): HLS_ECLOSED if f's client
 * could not be written to (client_gone freed f). In order, a feed
 * --vouched is done with what it held back of the pattern up to ev (ev
 * supersedes it, and comes again itself if not acknowledged); late, once
 * the follower says it took it (feed.ack with late). */
static int send_event(struct pump_ctx *p, const struct hls_patstore_event *ev, bool late) {
  struct follower *f = p->f;
  struct event_pack e = {.seq = ev->seq, .at = ev->at_ms, .change = ev->change, .late = late, .row = &ev->row};
  if (late && ev->id != NULL) {
    struct late_sent *l = &f->late[f->n_late++]; /* room: pump_withheld */
    l->seq = ev->seq;
    memcpy(l->id, ev->id, HLS_PAT_ID_BYTES);
  } else if (f->filter.vouched && ev->id != NULL) {
    int rc = hls_patstore_feed_unwithhold(p->feeds->env.ps, f->feed, ev->id, ev->seq, p->why);
    if (rc != 0) return rc;
  }
  f->unacked[f->n_unacked++] = e.seq;
  f->caught_up_sent = false;
  if (hls_control_event(f->client, f->req_id, "pattern", pack_event, &e) != 0)
    return HLS_ECLOSED; /* the client was closed: client_gone freed f */
  return 0;
}

/* One event to f, in order: HLS_ECLOSED as send_event, 1 once f's window
 * is full. One that a feed --vouched selects but for too few vouched
 * places is held back (hls_patstore_feed_withhold) for pump_withheld. */
static int pump_event(void *ctx, const struct hls_patstore_event *ev) {
  struct pump_ctx *p = ctx;
  struct follower *f = p->f;
  f->sent = ev->seq;
  int rc = 0;
  switch (hls_patfilter_judge(&f->filter, &ev->row)) {
  case HLS_PATFILTER_YES: rc = send_event(p, ev, false); break;
  case HLS_PATFILTER_UNVOUCHED:
    if (ev->id != NULL) rc = hls_patstore_feed_withhold(p->feeds->env.ps, f->feed, ev->id, ev->seq, p->why);
    break;
  case HLS_PATFILTER_NO: break;
  }
  if (rc != 0) return rc;
  return f->n_unacked < FOLLOW_WINDOW ? 0 : 1;
}

/* A held-back event, late: sent if its places are vouched enough now. */
static int late_event(void *ctx, const struct hls_patstore_event *ev) {
  struct pump_ctx *p = ctx;
  return hls_patfilter_judge(&p->f->filter, &ev->row) == HLS_PATFILTER_YES ? send_event(p, ev, true) : 0;
}

static bool sent_late(const struct follower *f, int64_t seq) {
  for (size_t i = 0; i < f->n_late; i++)
    if (f->late[i].seq == seq) return true;
  return false;
}

/* A feed --vouched: what it held back (events f's scan has passed) that
 * its filter selects now, up to f's window, before the events in order;
 * not again what it sent f late and f has not said it took. */
static int pump_withheld(struct hls_feeds *feeds, struct follower *f, struct hls_why *why) {
  int64_t *seqs;
  size_t n;
  int rc = hls_patstore_feed_withheld(feeds->env.ps, f->feed, &seqs, &n, why);
  struct pump_ctx p = {.feeds = feeds, .f = f, .why = why};
  for (size_t i = 0;
       rc == 0 && i < n && seqs[i] <= f->sent && f->n_unacked < FOLLOW_WINDOW && f->n_late < FOLLOW_WINDOW; i++) {
    if (sent_late(f, seqs[i])) continue;
    rc = hls_patstore_event_get(feeds->env.ps, seqs[i], late_event, &p, why);
    if (rc == HLS_ENOTFOUND) rc = 0;
  }
  free(seqs);
  return rc;
}

/* f->filter's vouched places as this node judges them now (*ids: owned,
 * free); nothing to do for a feed without --vouched. */
static int vouched_now(struct hls_feeds *feeds, struct hls_patfilter *f, uint8_t **ids, struct hls_why *why) {
  *ids = NULL;
  if (!f->vouched) return 0;
  if (feeds->env.vouched_now == NULL) {
    f->vouched_ids = NULL;
    f->n_vouched_ids = 0;
    return 0;
  }
  return feeds->env.vouched_now(feeds->env.vouched_ctx, f, ids, why);
}

/* Send f what it has not seen, up to its window. Returns 0; HLS_ECLOSED
 * if f's client could not be written to (client_gone freed f); or the
 * store's error reading the events (follower_fail: f's stream ended, f
 * freed). Either way the caller has nothing left to do for f. */
static int pump_events(struct hls_feeds *feeds, struct follower *f);

static int pump(struct hls_feeds *feeds, struct follower *f) {
  struct hls_why why = {{0}};
  uint8_t *ids;
  int rc = vouched_now(feeds, &f->filter, &ids, &why);
  if (rc == 0 && f->filter.vouched) rc = pump_withheld(feeds, f, &why);
  if (rc == HLS_ECLOSED) {
    free(ids);
    return rc;
  }
  rc = rc != 0 ? follower_fail(feeds, f, rc, &why) : pump_events(feeds, f);
  free(ids);
  if (rc == 0) f->filter.vouched_ids = NULL; /* judged again at the next pump */
  return rc;
}

static int pump_events(struct hls_feeds *feeds, struct follower *f) {
  while (f->n_unacked < FOLLOW_WINDOW) {
    struct hls_why why = {{0}};
    size_t rows = 0;
    struct pump_ctx p = {.feeds = feeds, .f = f, .why = &why};
    int rc = hls_patstore_each_event_after(feeds->env.ps, f->sent, SCAN_BATCH, pump_event, &p, &rows, &why);
    if (rc == HLS_ECLOSED) return rc;
    /* 1: the window filled before the batch ended. Anything but that or
     * the batch's end is a failure, not "caught up". */
    if (rc < 0) return follower_fail(feeds, f, rc, &why);
    if (rows == 0) {
      if (!f->caught_up_sent) {
        f->caught_up_sent = true;
        int64_t seq = f->sent;
        if (hls_control_event(f->client, f->req_id, "caught_up", pack_caught_up, &seq) != 0) return HLS_ECLOSED;
      }
      break;
    }
  }
  return 0;
}

void hls_feeds_pump_all(struct hls_feeds *feeds) {
  /* A follower pump could not serve is gone, and so may be the others of
   * its client (client_gone): start again from the head. That ends, as
   * each restart removes one, and sends nothing twice to those served. */
  for (struct follower *f = feeds->followers; f;) f = pump(feeds, f) == 0 ? f->next : feeds->followers;
}

static void on_pump(uv_timer_t *t) { hls_feeds_pump_all(t->data); }

/* Pump from the loop, after the call or item at hand (never from inside
 * it), in delay_ms at the latest. */
static void pump_soon(struct hls_feeds *feeds, uint64_t delay_ms) {
  uv_handle_t *timer = (uv_handle_t *)&feeds->pump_timer;
  if (uv_is_closing(timer) || (uv_is_active(timer) && uv_timer_get_due_in(&feeds->pump_timer) <= delay_ms)) return;
  uv_timer_start(&feeds->pump_timer, on_pump, delay_ms, 0);
}

void hls_feeds_trust_changed(struct hls_feeds *feeds) {
  if (feeds == NULL) return;
  for (const struct follower *f = feeds->followers; f; f = f->next)
    if (f->filter.vouched) {
      pump_soon(feeds, TRUST_PUMP_DELAY_MS);
      return;
    }
}

int hls_feeds_new(struct hls_feeds **out, const struct hls_feeds_env *env) {
  *out = NULL;
  struct hls_feeds *feeds = calloc(1, sizeof *feeds);
  if (feeds == NULL) return HLS_ENOMEM;
  feeds->env = *env;
  uv_timer_init(env->loop, &feeds->pump_timer);
  feeds->pump_timer.data = feeds;
  *out = feeds;
  return 0;
}

static void pump_timer_closed(uv_handle_t *h) { free(h->data); }

void hls_feeds_close(struct hls_feeds *feeds) {
  if (feeds == NULL) return;
  while (feeds->followers) {
    struct follower *f = feeds->followers;
    feeds->followers = f->next;
    free(f);
  }
  uv_close((uv_handle_t *)&feeds->pump_timer, pump_timer_closed);
}

size_t hls_feeds_count_followers(const struct hls_feeds *feeds) {
  size_t n = 0;
  for (const struct follower *f = feeds->followers; f; f = f->next) n++;
  return n;
}

/* --- feeds ------------------------------------------------------------------------------- */

static int arg_feed_name(const struct hls_mp_value *args, char out[FEED_NAME_MAX + 1], struct hls_why *why) {
  const char *s;
  uint32_t len;
  int rc = hls_mp_get_str(args, "name", &s, &len, NULL, why);
  if (rc != 0) return rc;
  if (len == 0 || len > FEED_NAME_MAX)
    return hls_why_set(why, HLS_EINVAL, "name: a feed name is 1 to %d characters", FEED_NAME_MAX);
  for (uint32_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return hls_why_set(why, HLS_EINVAL, "name: use letters, digits, '-', '_' and '.' only");
  }
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

int hls_feeds_api_subscribe(struct hls_feeds *feeds, struct hls_control_call *call) {
  char name[FEED_NAME_MAX + 1];
  struct hls_patfilter f;
  int rc = arg_feed_name(call->req->args, name, &call->why);
  if (rc == 0) rc = hls_patfilter_parse(call->req->args, &f, &call->why);
  if (rc != 0) return rc;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (hls_patfilter_pack_args(&pk, call->req->args) != 0) {
    msgpack_sbuffer_destroy(&sb);
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  int64_t now = feeds->env.now_ms(feeds->env.clock);
  rc = hls_patstore_feed_add(feeds->env.ps, name, sb.data, sb.size, now, &call->why);
  if (rc != 0) {
    if (rc == HLS_EEXISTS) hls_why_set(&call->why, HLS_EEXISTS, "feed \"%s\" exists (hls feed list)", name);
    msgpack_sbuffer_destroy(&sb);
    return rc;
  }
  hls_log_info("feed_subscribed", "name=%s", name);
  /* a theme or region no place has yet: made, with a note (a typo reads
   * as a quiet feed otherwise) */
  struct hls_why unknown = {{0}};
  bool note = feeds->env.filter_known != NULL &&
              feeds->env.filter_known(feeds->env.vouched_ctx, &f, &unknown) == HLS_ENOTFOUND;
  rc = msgpack_pack_map(call->pk, 4) == 0 && hls_mp_pack_kv_str(call->pk, "name", name) == 0 &&
               hls_mp_pack_cstr(call->pk, "filter") == 0 && hls_patsummary_write_raw(call->pk, sb.data, sb.size) == 0 &&
               hls_mp_pack_kv_i64(call->pk, "cursor", 0) == 0 && hls_mp_pack_cstr(call->pk, "note") == 0 &&
               (note ? hls_mp_pack_cstr(call->pk, unknown.text) : msgpack_pack_nil(call->pk)) == 0
           ? 0
           : HLS_ENOMEM;
  msgpack_sbuffer_destroy(&sb);
  return rc == 0 ? 0 : hls_why_set(&call->why, rc, "out of memory");
}

static int feed_load(struct hls_feeds *feeds, const char *name, struct hls_patfilter *f, int64_t *cursor, struct hls_why *why);

/* The feed's filter from its stored map: node ids resolved to names,
 * ended patterns' events included (a feed carries every change). */
static int feed_filter(struct hls_feeds *feeds, const void *data, size_t len, struct hls_patfilter *f, struct hls_why *why) {
  struct hls_mp_tree tree;
  int rc = hls_mp_tree_decode(&tree, data, len, false, 4096, why);
  if (rc == 0) {
    rc = hls_patfilter_parse(&tree.root, f, why);
    hls_mp_tree_free(&tree);
  }
  if (rc == 0) rc = hls_patsummary_filter_resolve_places(feeds->env.summary, f, false, why);
  f->include_ended = true;
  return rc;
}

/* Events after cursor that the filter selects. */
struct matching_ctx {
  const struct hls_patfilter *f;
  int64_t n;
};

static int count_one(void *ctx, const struct hls_patrow *r) {
  struct matching_ctx *m = ctx;
  m->n += hls_patfilter_match(m->f, r);
  return 0;
}

static int count_late(void *ctx, const struct hls_patstore_event *ev) {
  struct matching_ctx *m = ctx;
  m->n += hls_patfilter_judge(m->f, &ev->row) == HLS_PATFILTER_YES;
  return 0;
}

/* (Its places vouched as they are now, for a feed --vouched, which also
 * counts what it held back behind the cursor and would send late now, as
 * pump_withheld does.) */
static int count_matching(struct hls_feeds *feeds, const char *name, struct hls_patfilter *f, int64_t cursor,
                          int64_t *n, struct hls_why *why) {
  struct matching_ctx m = {.f = f};
  uint8_t *ids;
  int rc = vouched_now(feeds, f, &ids, why);
  if (rc == 0) rc = hls_patstore_each_event_from(feeds->env.ps, cursor, count_one, &m, why);
  if (rc == 0 && f->vouched) {
    int64_t *seqs;
    size_t k;
    rc = hls_patstore_feed_withheld(feeds->env.ps, name, &seqs, &k, why);
    for (size_t i = 0; rc == 0 && i < k && seqs[i] <= cursor; i++) {
      rc = hls_patstore_event_get(feeds->env.ps, seqs[i], count_late, &m, why);
      if (rc == HLS_ENOTFOUND) rc = 0;
    }
    free(seqs);
  }
  free(ids);
  *n = m.n;
  return rc;
}

struct feed_row {
  char name[FEED_NAME_MAX + 1];
  void *filter;
  size_t filter_len;
  int64_t cursor, created, acked;
  bool has_acked;
};

struct feed_list {
  struct feed_row *rows;
  size_t n, cap;
};

static int add_feed(void *ctx, const struct hls_patstore_feed *sf) {
  struct feed_list *fl = ctx;
  if (fl->n == fl->cap) {
    fl->cap = fl->cap ? 2 * fl->cap : 16;
    struct feed_row *nr = realloc(fl->rows, fl->cap * sizeof *nr);
    if (nr == NULL) return HLS_ENOMEM;
    fl->rows = nr;
  }
  struct feed_row *f = &fl->rows[fl->n];
  snprintf(f->name, sizeof f->name, "%s", sf->name);
  f->filter_len = sf->filter_len;
  f->filter = malloc(f->filter_len ? f->filter_len : 1);
  if (f->filter == NULL) return HLS_ENOMEM;
  fl->n++;
  if (f->filter_len) memcpy(f->filter, sf->filter, f->filter_len);
  f->cursor = sf->cursor;
  f->created = sf->created_ms;
  f->has_acked = sf->has_acked;
  f->acked = sf->acked_ms;
  return 0;
}

int hls_feeds_api_list(struct hls_feeds *feeds, struct hls_control_call *call) {
  msgpack_sbuffer items;
  msgpack_sbuffer_init(&items);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &items, msgpack_sbuffer_write);
  /* The feeds first (the counts below use statements of their own). */
  struct feed_list fl = {0};
  int rc = hls_patstore_each_feed(feeds->env.ps, add_feed, &fl, &call->why);
  if (rc == HLS_ENOMEM) rc = hls_patstore_oom(&call->why);
  struct feed_row *rows = fl.rows;
  size_t n = fl.n;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    struct feed_row *f = &rows[i];
    struct hls_patfilter filt;
    int64_t after = 0;
    if ((rc = feed_filter(feeds, f->filter, f->filter_len, &filt, &call->why)) != 0) {
      hls_why_prefix(&call->why, "feed \"%s\": stored filter: ", f->name);
      break;
    }
    if ((rc = count_matching(feeds, f->name, &filt, f->cursor, &after, &call->why)) != 0) break;
    char created[21], acked[21] = "";
    hls_time_format(f->created, created);
    if (f->has_acked) hls_time_format(f->acked, acked);
    int following = 0;
    for (struct follower *fo = feeds->followers; fo; fo = fo->next) following += strcmp(fo->feed, f->name) == 0;
    if (msgpack_pack_map(&pk, 7) != 0 || hls_mp_pack_kv_str(&pk, "name", f->name) != 0 ||
        hls_mp_pack_cstr(&pk, "filter") != 0 || hls_patsummary_write_raw(&pk, f->filter, f->filter_len) != 0 ||
        hls_mp_pack_kv_i64(&pk, "cursor", f->cursor) != 0 || hls_mp_pack_kv_i64(&pk, "events_after_cursor", after) != 0 ||
        hls_mp_pack_kv_str(&pk, "created", created) != 0 ||
        hls_mp_pack_kv_str(&pk, "acked", f->has_acked ? acked : NULL) != 0 ||
        hls_mp_pack_kv_i64(&pk, "followers", following) != 0)
      rc = hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) free(rows[i].filter);
  free(rows);
  if (rc == 0 && (msgpack_pack_array(call->pk, n) != 0 || hls_patsummary_write_raw(call->pk, items.data, items.size) != 0))
    rc = hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  msgpack_sbuffer_destroy(&items);
  return rc;
}

int hls_feeds_api_unsubscribe(struct hls_feeds *feeds, struct hls_control_call *call) {
  char name[FEED_NAME_MAX + 1];
  int rc = arg_feed_name(call->req->args, name, &call->why);
  if (rc != 0) return rc;
  bool deleted = false;
  if ((rc = hls_patstore_feed_delete(feeds->env.ps, name, &deleted, &call->why)) != 0) return rc;
  if (!deleted) return hls_why_set(&call->why, HLS_ENOTFOUND, "no feed \"%s\" (hls feed list shows them)", name);
  /* Its followers' streams end with an error reply. */
  for (struct follower *f = feeds->followers, *next; f; f = next) {
    next = f->next;
    if (strcmp(f->feed, name) != 0) continue;
    struct hls_control_client *client = f->client;
    uint64_t id = f->req_id;
    follower_remove(feeds, f);
    (void)hls_control_reply(client, id, HLS_ENOTFOUND, "the feed was unsubscribed", NULL, NULL);
  }
  hls_log_info("feed_unsubscribed", "name=%s", name);
  PACK(msgpack_pack_map(call->pk, 1));
  PACK(hls_mp_pack_kv_str(call->pk, "name", name));
  return 0;
}

struct feed_load_ctx {
  struct hls_feeds *feeds;
  struct hls_patfilter *f;
  int64_t *cursor;
  struct hls_why *why;
  bool found;
};

static int feed_loaded(void *ctx, const void *filter, size_t filter_len, int64_t cursor) {
  struct feed_load_ctx *fc = ctx;
  fc->found = true;
  *fc->cursor = cursor;
  return feed_filter(fc->feeds, filter, filter_len, fc->f, fc->why);
}

static int feed_load(struct hls_feeds *feeds, const char *name, struct hls_patfilter *f, int64_t *cursor, struct hls_why *why) {
  struct feed_load_ctx fc = {.feeds = feeds, .f = f, .cursor = cursor, .why = why};
  int rc = hls_patstore_feed_get(feeds->env.ps, name, feed_loaded, &fc, why);
  if (rc == HLS_ENOTFOUND && !fc.found)
    return hls_why_set(why, HLS_ENOTFOUND, "no feed \"%s\" (hls feed list shows them)", name);
  if (rc != 0 && fc.found) hls_why_prefix(why, "feed \"%s\": stored filter: ", name);
  return rc;
}

int hls_feeds_api_follow(struct hls_feeds *feeds, struct hls_control_call *call) {
  char name[FEED_NAME_MAX + 1];
  int rc = arg_feed_name(call->req->args, name, &call->why);
  if (rc != 0) return rc;
  size_t following = 0;
  for (struct follower *g = feeds->followers; g; g = g->next) following++;
  if (following >= MAX_FOLLOWERS)
    return hls_why_set(&call->why, HLS_ELIMIT, "%d feed followers already; stop one first", MAX_FOLLOWERS);
  struct follower *f = calloc(1, sizeof *f);
  if (f == NULL) return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  if ((rc = feed_load(feeds, name, &f->filter, &f->sent, &call->why)) != 0) {
    free(f);
    return rc;
  }
  /* from: replay the events after this seq instead of after the cursor
   * (the cursor itself moves only forward, by acknowledgements) */
  int64_t from = 0;
  bool has_from = false;
  if ((rc = hls_mp_get_i64(call->req->args, "from", &from, &has_from, &call->why)) == 0 && has_from && from < 0)
    rc = hls_why_set(&call->why, HLS_EINVAL, "from: %lld is not an event seq (0 or more)", (long long)from);
  if (rc != 0) {
    free(f);
    return rc;
  }
  if (has_from) f->sent = from;
  snprintf(f->feed, sizeof f->feed, "%s", name);
  f->client = call->client;
  f->req_id = call->req->id;
  f->next = feeds->followers;
  feeds->followers = f;
  call->deferred = true;
  hls_log_debug("feed_follow", "name=%s from=%lld client=%llu", name, (long long)f->sent,
                (unsigned long long)hls_control_client_id(call->client));
  /* The reply is deferred: the events go out after this call returns
   * nothing, in the order the client will read them. A store error ends
   * the stream with an error reply (pump). */
  (void)pump(feeds, f);
  return 0;
}

/* Follower f took its late event seq, and so every one sent before it:
 * they are done with (no longer held back) and leave its window. */
static int late_taken(struct hls_feeds *feeds, struct follower *f, int64_t seq, struct hls_why *why) {
  size_t upto = 0;
  while (upto < f->n_late && f->late[upto].seq != seq) upto++;
  if (upto == f->n_late) return 0; /* not one sent late to f (or done with already) */
  int rc = 0;
  size_t done = 0;
  for (; done <= upto && rc == 0; done++)
    rc = hls_patstore_feed_unwithhold(feeds->env.ps, f->feed, f->late[done].id, f->late[done].seq, why);
  if (rc != 0) done--; /* that one failed: it stays, as those after it */
  size_t keep = 0;
  for (size_t i = 0; i < f->n_unacked; i++) {
    bool gone = false;
    for (size_t j = 0; j < done && !gone; j++) gone = f->unacked[i] == f->late[j].seq;
    if (!gone) f->unacked[keep++] = f->unacked[i];
  }
  f->n_unacked = keep;
  memmove(f->late, f->late + done, (f->n_late - done) * sizeof *f->late);
  f->n_late -= done;
  return rc;
}

int hls_feeds_api_ack(struct hls_feeds *feeds, struct hls_control_call *call) {
  char name[FEED_NAME_MAX + 1];
  int64_t seq = 0;
  bool late = false;
  int rc = arg_feed_name(call->req->args, name, &call->why);
  if (rc == 0) rc = hls_mp_get_i64(call->req->args, "seq", &seq, NULL, &call->why);
  if (rc == 0) rc = hls_mp_get_bool(call->req->args, "late", &late, NULL, &call->why);
  if (rc != 0) return rc;
  int64_t max = 0;
  if ((rc = hls_patstore_last_event(feeds->env.ps, &max, &call->why)) != 0) return rc;
  if (seq < 0 || seq > max)
    return hls_why_set(&call->why, HLS_EINVAL, "seq: %lld is not an event of this node (the last is %lld)",
                       (long long)seq, (long long)max);
  if (late) {
    /* A late event this client's follower of the feed took: the cursor
     * stays where it is (the event is behind it). */
    for (struct follower *f = feeds->followers; f && rc == 0; f = f->next)
      if (f->client == call->client && strcmp(f->feed, name) == 0) rc = late_taken(feeds, f, seq, &call->why);
    if (rc != 0) return rc;
    pump_soon(feeds, 0);
  } else {
    int64_t now = feeds->env.now_ms(feeds->env.clock);
    if ((rc = hls_patstore_feed_ack(feeds->env.ps, name, seq, now, &call->why)) != 0) return rc;
  }
  int64_t cursor;
  struct hls_patfilter ignore;
  if ((rc = feed_load(feeds, name, &ignore, &cursor, &call->why)) != 0) return rc;
  /* This client's follower of the feed may send more now. */
  for (struct follower *f = feeds->followers; f && !late; f = f->next) {
    if (f->client != call->client || strcmp(f->feed, name) != 0) continue;
    size_t keep = 0;
    for (size_t i = 0; i < f->n_unacked; i++)
      if (f->unacked[i] > seq) f->unacked[keep++] = f->unacked[i];
    f->n_unacked = keep;
    pump_soon(feeds, 0); /* sent from the loop, after this reply */
    break;
  }
  PACK(msgpack_pack_map(call->pk, 2));
  PACK(hls_mp_pack_kv_str(call->pk, "name", name));
  PACK(hls_mp_pack_kv_i64(call->pk, "cursor", cursor));
  return 0;
}

void hls_feeds_client_gone(struct hls_feeds *feeds, struct hls_control_client *client) {
  for (struct follower *f = feeds->followers, *next; f; f = next) {
    next = f->next;
    if (f->client == client) follower_remove(feeds, f);
  }
}


/* --- feed.events: the newest events of a feed, for its web addresses ---------------------- */

/* Events the web reads of a feed at most (feed.events limit). */
#define EVENTS_MAX 200

struct recent {
  struct hls_patfilter *filter;
  msgpack_sbuffer ring[EVENTS_MAX]; /* the newest matching events, packed; ring[next % n] is the oldest once full */
  int n, next;
  int64_t last_seq;
  int rc;
};

static int recent_event(void *ctx, const struct hls_patstore_event *ev) {
  struct recent *r = ctx;
  r->last_seq = ev->seq;
  if (!hls_patfilter_match(r->filter, &ev->row)) return 0;
  msgpack_sbuffer *sb = &r->ring[r->next % r->n];
  msgpack_sbuffer_clear(sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  struct event_pack e = {.seq = ev->seq, .at = ev->at_ms, .change = ev->change, .row = &ev->row};
  if (pack_event(&e, &pk) != 0) return r->rc = HLS_ENOMEM;
  r->next++;
  return 0;
}

int hls_feeds_api_events(struct hls_feeds *feeds, struct hls_control_call *call) {
  char name[FEED_NAME_MAX + 1];
  int rc = arg_feed_name(call->req->args, name, &call->why);
  if (rc != 0) return rc;
  int64_t limit = 50;
  if ((rc = hls_mp_get_i64(call->req->args, "limit", &limit, NULL, &call->why)) != 0) return rc;
  if (limit < 1 || limit > EVENTS_MAX)
    return hls_why_set(&call->why, HLS_EINVAL, "limit: 1 to %d events", EVENTS_MAX);
  struct hls_patfilter filter;
  int64_t cursor = 0;
  uint8_t *ids = NULL;
  if ((rc = feed_load(feeds, name, &filter, &cursor, &call->why)) != 0 ||
      (rc = vouched_now(feeds, &filter, &ids, &call->why)) != 0)
    return rc;
  struct recent *r = calloc(1, sizeof *r);
  if (r == NULL) {
    free(ids);
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  r->filter = &filter;
  r->n = (int)limit;
  for (int i = 0; i < r->n; i++) msgpack_sbuffer_init(&r->ring[i]);
  for (;;) {
    size_t rows = 0;
    int64_t after = r->last_seq;
    rc = hls_patstore_each_event_after(feeds->env.ps, after, SCAN_BATCH, recent_event, r, &rows, &call->why);
    if (rc == 0 && r->rc != 0) rc = hls_why_set(&call->why, r->rc, "out of memory");
    if (rc != 0 || rows == 0) break;
  }
  int held = r->next < r->n ? r->next : r->n;
  if (rc == 0 && msgpack_pack_array(call->pk, (uint32_t)held) != 0) rc = HLS_ENOMEM;
  /* Newest first. */
  for (int k = 0; rc == 0 && k < held; k++) {
    const msgpack_sbuffer *sb = &r->ring[(r->next - 1 - k) % r->n];
    if (call->pk->callback(call->pk->data, sb->data, sb->size) != 0) rc = HLS_ENOMEM;
  }
  for (int i = 0; i < r->n; i++) msgpack_sbuffer_destroy(&r->ring[i]);
  free(r);
  free(ids);
  return rc;
}
