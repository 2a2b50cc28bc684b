/* The record and theme commands (docs/control.md): record.add, record.list,
 * record.show, record.edit, record.delete, themes, themes.network; and the
 * record helpers that imports and consent share. */
#include "api_handlers.h"
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

/* --- records -------------------------------------------------------------- */

struct hls_record_limits api_record_limits(const struct hls_api *api) {
  struct hls_record_limits lim = {.max_text_bytes = (size_t)api->env.config->max_text_bytes};
  return lim;
}

int api_update_record(struct hls_api *api, struct hls_record *r, bool forget_share, struct hls_why *why) {
  int rc = hls_store_begin(api->env.store, why);
  if (rc != 0) return rc;
  rc = hls_store_record_update(api->env.store, r, api_now_ms(api), why);
  if (rc == 0 && forget_share) rc = hls_store_share_forget(api->env.store, r->id, why);
  if (rc == 0) rc = hls_store_commit(api->env.store, why);
  if (rc != 0) hls_store_rollback(api->env.store);
  if (rc == 0) api_erased(api); /* the old text leaves the WAL too */
  return rc;
}

/* A record's date is a day of learning: from 1990 (before any learning
 * system could have recorded it) to a year from today (a date planned
 * ahead). A typo such as 1901 would otherwise make digests of weeks no
 * one reads, and count in patterns there. */
#define RECORD_FIRST_DATE "1990-01-01"
static int record_date_plausible(struct hls_api *api, const struct hls_record *r, struct hls_why *why) {
  if (!r->has_date) return 0;
  hls_day first = 0, today = api_today(api), last = today + 366;
  if (hls_date_parse(RECORD_FIRST_DATE, strlen(RECORD_FIRST_DATE), &first) != 0) return HLS_EINVAL;
  if (r->date >= first && r->date <= last) return 0;
  char d[11], l[11];
  hls_date_format(r->date, d);
  hls_date_format(last, l);
  return hls_why_set(why, HLS_EINVAL, "date: %s is not a plausible date of learning (%s to %s)", d,
                     RECORD_FIRST_DATE, l);
}

/* A record's own retention date may not have passed: hlsd would delete
 * it within seconds (hls record delete says so plainly). */
static int retain_until_plausible(struct hls_api *api, const struct hls_record *r, struct hls_why *why) {
  if (!r->has_retain_until || r->retain_until >= api_today(api)) return 0;
  char d[11];
  hls_date_format(r->retain_until, d);
  return hls_why_set(why, HLS_EINVAL, "retain_until: %s has passed (a record is kept up to its retain_until date; "
                     "to delete it now: hls record delete)", d);
}

void api_record_retention(const struct hls_api *api, struct hls_record *r) {
  hls_record_retention(r, api->env.config->retention);
}

int api_record_from_map(struct hls_api *api, const struct hls_mp_value *m, struct hls_record *r,
                        struct hls_why *why) {
  struct hls_record_limits lim = api_record_limits(api);
  hls_record_init(r);
  int rc = hls_record_apply(r, m, &lim, why);
  if (rc == 0) rc = hls_record_validate(r, why);
  if (rc == 0) rc = record_date_plausible(api, r, why);
  if (rc == 0) rc = retain_until_plausible(api, r, why);
  if (rc == 0 && !r->has_date) {
    r->date = api_today(api);
    r->has_date = true;
  }
  return rc;
}

int api_check_keeps_records(const struct hls_api *api, struct hls_why *why) {
  int mode = api->env.config->node_records;
  bool keeps = mode == 1 || (mode == 0 && api->env.config->role != HLS_ROLE_PARTNER);
  if (keeps) return 0;
  return hls_why_set(why, HLS_ESTATE,
                     mode == 2 ? "this node keeps no records of its own (node.records = off in hlsd.conf)"
                               : "this node is a partner (node.role = partner) and keeps no records of its own; "
                                 "set node.records = on in hlsd.conf to record learning here");
}

/* A practitioner changes only the records they added (a lead or an admin
 * any); consent is a lead's to change (consent.set), so a practitioner's
 * edit may not touch it. */
static int check_owner(const struct hls_control_call *call, const struct hls_record *r, struct hls_why *why) {
  if (call->role != HLS_USER_PRACTITIONER) return 0;
  if (r->created_by != NULL && call->user != NULL && strcmp(r->created_by, call->user) == 0) return 0;
  return hls_why_set(why, HLS_EACCESS, "record %lld was added by %s: a practitioner changes only their own records",
                     (long long)r->id, r->created_by ? r->created_by : "someone else");
}

/* Consent given now that ends on a day that has come would end at once
 * (as consent.set refuses it). Imports keep such records as written: the
 * expiry check takes their consent back. */
static int consent_not_over(const struct hls_api *api, const struct hls_record *r, struct hls_why *why) {
  if (r->has_consent_expires && r->consent > HLS_CONSENT_PRIVATE && r->consent_expires <= api_today(api))
    return hls_why_set(why, HLS_EINVAL, "consent_expires: that date has come; consent would end at once");
  return 0;
}

int api_record_add(struct hls_api *api, struct hls_control_call *call) {
  int krc = api_check_keeps_records(api, &call->why);
  if (krc != 0) return krc;
  const struct hls_mp_value *fields = hls_mp_get(call->req->args, "record");
  if (fields == NULL) return hls_why_set(&call->why, HLS_EINVAL, "record: missing");
  struct hls_record r;
  int rc = api_record_from_map(api, fields, &r, &call->why);
  if (rc == 0) rc = consent_not_over(api, &r, &call->why);
  if (rc == 0 && call->user != NULL && (r.created_by = strdup(call->user)) == NULL)
    rc = hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  if (rc == 0) rc = hls_store_record_insert(api->env.store, &r, api_now_ms(api), &call->why);
  if (rc == 0) {
    hls_log_info("record_added", "id=%lld", (long long)r.id);
    call->record_id = r.id;
    if (r.consent > HLS_CONSENT_PRIVATE) api_changed(api, r.date, r.date, false);
    api_record_retention(api, &r);
    rc = hls_record_pack(call->pk, &r, true);
  }
  hls_record_clear(&r);
  return rc;
}

int api_record_show(struct hls_api *api, struct hls_control_call *call) {
  int64_t id;
  int rc = api_arg_id(call->req->args, &id, &call->why);
  if (rc != 0) return rc;
  struct hls_record r;
  hls_record_init(&r);
  rc = hls_store_record_get(api->env.store, id, &r, &call->why);
  if (rc == 0) {
    api_record_retention(api, &r);
    rc = hls_record_pack(call->pk, &r, true);
  }
  hls_record_clear(&r);
  return rc;
}

/* Whether r and before hold the same consent: level, who gave it, its
 * purpose and its end date. */
static bool same_text(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }
static bool same_consent(const struct hls_record *r, enum hls_consent level, const char *by, const char *purpose,
                         bool has_expires, hls_day expires) {
  return r->consent == level && same_text(r->consent_by, by) && same_text(r->consent_purpose, purpose) &&
         r->has_consent_expires == has_expires && (!has_expires || r->consent_expires == expires);
}

int api_record_edit(struct hls_api *api, struct hls_control_call *call) {
  int64_t id;
  int rc = api_arg_id(call->req->args, &id, &call->why);
  if (rc != 0) return rc;
  const struct hls_mp_value *set = hls_mp_get(call->req->args, "set");
  if (set == NULL || set->type != HLS_MP_MAP || set->len == 0)
    return hls_why_set(&call->why, HLS_EINVAL, "set: give at least one field to change");
  struct hls_record r;
  struct hls_record_limits lim = api_record_limits(api);
  hls_record_init(&r);
  rc = hls_store_record_get(api->env.store, id, &r, &call->why);
  hls_day old_date = r.date;
  enum hls_consent old_consent = r.consent;
  /* The consent as it was: a practitioner may send it back unchanged (a
   * form that sends every field), never change it. */
  char *old_by = r.consent_by ? strdup(r.consent_by) : NULL;
  char *old_purpose = r.consent_purpose ? strdup(r.consent_purpose) : NULL;
  bool old_has_expires = r.has_consent_expires;
  hls_day old_expires = r.consent_expires;
  if (rc == 0 && ((r.consent_by && !old_by) || (r.consent_purpose && !old_purpose)))
    rc = hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  if (rc == 0) rc = check_owner(call, &r, &call->why);
  if (rc == 0) rc = hls_record_apply(&r, set, &lim, &call->why);
  bool practitioner = call->role == HLS_USER_PRACTITIONER;
  if (rc == 0 && practitioner && !same_consent(&r, old_consent, old_by, old_purpose, old_has_expires, old_expires))
    rc = hls_why_set(&call->why, HLS_EACCESS, "changing a record's consent needs the lead role (consent.set)");
  free(old_by), free(old_purpose);
  if (rc == 0) rc = hls_record_validate(&r, &call->why);
  if (rc == 0 && hls_mp_get(set, "date") != NULL) rc = record_date_plausible(api, &r, &call->why);
  if (rc == 0 && hls_mp_get(set, "retain_until") != NULL) rc = retain_until_plausible(api, &r, &call->why);
  if (rc == 0 && !r.has_date) { /* "date": null resets to today */
    r.date = api_today(api);
    r.has_date = true;
  }
  /* Consent given in an edit is consent given now (a practitioner's is
   * the consent as it was, sent back). */
  if (rc == 0 && hls_mp_get(set, "consent") != NULL && !practitioner) r.consent_ended = HLS_CONSENT_CURRENT;
  if (rc == 0 && (hls_mp_get(set, "consent") != NULL || hls_mp_get(set, "consent_expires") != NULL))
    rc = consent_not_over(api, &r, &call->why);
  /* Story consent gone: so is any approval given under it. */
  if (rc == 0)
    rc = api_update_record(api, &r, old_consent >= HLS_CONSENT_PEERS && r.consent < HLS_CONSENT_PEERS, &call->why);
  if (rc == 0) {
    hls_log_info("record_edited", "id=%lld", (long long)id);
    if (old_consent > HLS_CONSENT_PRIVATE || r.consent > HLS_CONSENT_PRIVATE) {
      bool less = r.consent < old_consent; /* consent narrowed: act at once */
      api_changed(api, old_date, old_date, less);
      api_changed(api, r.date, r.date, less);
    }
    api_record_retention(api, &r);
    rc = hls_record_pack(call->pk, &r, true);
  }
  hls_record_clear(&r);
  return rc;
}

/* Records one record.delete may delete (ids: a list). */
#define DELETE_MAX_IDS 100000

int api_delete_records(struct hls_api *api, const int64_t *ids, size_t count, api_delete_each each, void *ctx,
                       struct hls_why *why) {
  struct shared_date *shared = malloc((count ? count : 1) * sizeof *shared);
  if (shared == NULL) return hls_why_set(why, HLS_ENOMEM, "out of memory");
  size_t n_shared = 0;
  int rc = hls_store_begin(api->env.store, why);
  for (size_t k = 0; k < count && rc == 0; k++) {
    struct hls_record r;
    hls_record_init(&r);
    rc = hls_store_record_get(api->env.store, ids[k], &r, why);
    if (rc == 0 && each != NULL) rc = each(ctx, &r, why);
    if (rc == 0) rc = hls_store_record_delete(api->env.store, ids[k], why);
    if (rc == 0 && r.consent > HLS_CONSENT_PRIVATE)
      shared[n_shared++] = (struct shared_date){r.date, r.consent >= HLS_CONSENT_PEERS};
    hls_record_clear(&r);
  }
  if (rc == 0) rc = hls_store_commit(api->env.store, why);
  if (rc != 0) {
    hls_store_rollback(api->env.store);
    free(shared);
    return rc;
  }
  api_erased(api);
  /* Published stories of them are erased at once; their weeks re-counted. */
  for (size_t k = 0; k < n_shared; k++) api_changed(api, shared[k].date, shared[k].date, shared[k].story);
  free(shared);
  return 0;
}

/* A record.delete of a list: each record is checked (a practitioner's
 * own only) and noted as the audit log keeps it, so that each deleted
 * record has an entry of its own (hls audit --record ID finds it). */
struct delete_ctx {
  struct hls_api *api;
  struct hls_control_call *call;
  char **before; /* one per record, in order; NULL: not noting */
  size_t n;
};

static int owner_may_delete(void *ctx, const struct hls_record *r, struct hls_why *why) {
  struct delete_ctx *d = ctx;
  int rc = check_owner(d->call, r, why);
  if (rc == 0 && d->before != NULL) d->before[d->n++] = api_record_summary(d->api, r->id);
  return rc;
}

static void audit_each_deleted(struct delete_ctx *d, const int64_t *ids, size_t count) {
  char uid[24], about[64];
  snprintf(uid, sizeof uid, "#%u", (unsigned)d->call->uid);
  snprintf(about, sizeof about, "one of ids=%zu", count);
  for (size_t k = 0; k < count && k < d->n; k++) {
    struct hls_audit_entry e = {.at_ms = api_now_ms(d->api),
                                .who = d->call->user ? d->call->user : uid,
                                .action = "record.delete",
                                .record_id = ids[k],
                                .about = about,
                                .before = d->before[k],
                                .result = "ok"};
    struct hls_why why = {{0}};
    if (hls_audit_append(hls_store_db(d->api->env.store), &e, &why) != 0)
      hls_log_error("audit_failed", "action=%s record=%lld detail=\"%s\"", e.action, (long long)ids[k], why.text);
  }
}

static int id_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Delete one record or, with ids, several: all or none, in one
 * transaction (an unknown id deletes nothing and is named). */
int api_record_delete(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *list = hls_mp_get(call->req->args, "ids");
  int64_t one;
  size_t count = 1;
  const struct hls_mp_value *single = hls_mp_get(call->req->args, "id");
  if (list != NULL && list->type != HLS_MP_NIL && single != NULL && single->type != HLS_MP_NIL)
    return hls_why_set(&call->why, HLS_EINVAL, "id, ids: give one of them, not both");
  if (list != NULL && list->type == HLS_MP_NIL) list = NULL; /* nil is absent */
  if (list != NULL) {
    if (list->type != HLS_MP_ARRAY || list->len == 0 || list->len > DELETE_MAX_IDS)
      return hls_why_set(&call->why, HLS_EINVAL, "ids: a list of 1 to %d record ids", DELETE_MAX_IDS);
    count = list->len;
    for (size_t k = 0; k < count; k++) {
      const struct hls_mp_value *v = &list->v.items[k];
      if (!((v->type == HLS_MP_UINT && v->v.u > 0 && v->v.u <= (uint64_t)INT64_MAX) ||
            (v->type == HLS_MP_INT && v->v.i > 0)))
        return hls_why_set(&call->why, HLS_EINVAL, "ids: entry %zu is not a positive record id", k);
    }
  } else {
    int rc = api_arg_id(call->req->args, &one, &call->why);
    if (rc != 0) return rc;
  }
  int64_t *ids = list == NULL ? &one : malloc(count * sizeof *ids);
  if (ids == NULL) return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  for (size_t k = 0; list != NULL && k < count; k++)
    ids[k] = list->v.items[k].type == HLS_MP_UINT ? (int64_t)list->v.items[k].v.u : list->v.items[k].v.i;
  /* An id given twice is one record (a list piped from elsewhere may
   * repeat one): deleted once, not refused as gone the second time. */
  if (list != NULL && count > 1) {
    qsort(ids, count, sizeof *ids, id_cmp);
    size_t u = 1;
    for (size_t k = 1; k < count; k++)
      if (ids[k] != ids[u - 1]) ids[u++] = ids[k];
    count = u;
  }
  struct delete_ctx d = {.api = api, .call = call};
  if (list != NULL && (d.before = calloc(count, sizeof *d.before)) == NULL) {
    free(ids);
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  int rc = api_delete_records(api, ids, count, owner_may_delete, &d, &call->why);
  if (rc == 0 && list != NULL) audit_each_deleted(&d, ids, count);
  for (size_t k = 0; k < d.n; k++) free(d.before[k]);
  free(d.before);
  if (ids != &one) free(ids);
  if (rc != 0) {
    if (list != NULL) hls_why_prefix(&call->why, "nothing deleted: ");
    return rc;
  }
  if (list == NULL) hls_log_info("record_deleted", "id=%lld", (long long)one);
  else hls_log_info("records_deleted", "count=%zu", count);
  if (list == NULL) {
    PACK(msgpack_pack_map(call->pk, 2));
    PACK(hls_mp_pack_kv_i64(call->pk, "id", one));
    PACK(hls_mp_pack_kv_bool(call->pk, "deleted", true));
  } else {
    PACK(msgpack_pack_map(call->pk, 1));
    PACK(hls_mp_pack_kv_i64(call->pk, "deleted", (int64_t)count));
  }
  return 0;
}

static int list_one(void *ctx, const struct hls_record *r) {
  struct list_ctx *l = ctx;
  l->count++;
  struct hls_record shown = *r; /* borrows r's strings */
  if (l->retention != NULL) hls_record_retention(&shown, l->retention);
  return hls_record_pack(&l->pk, &shown, l->full);
}

/* The filters record.list and record.search share: theme (normalised
 * into slug), scale, stage, consent, since, until, limit. */
static int filter_args(const struct hls_mp_value *a, struct hls_record_filter *f, char slug[HLS_THEME_MAX + 1],
                       struct hls_why *why) {
  hls_record_filter_init(f);
  const char *theme;
  uint32_t theme_len;
  bool has_theme = false;
  int rc;
  if ((rc = hls_mp_get_str(a, "theme", &theme, &theme_len, &has_theme, why)) != 0) return rc;
  if (has_theme) {
    int kind;
    if ((rc = api_theme_filter(theme, theme_len, slug, &kind, why)) != 0) return rc;
    f->theme = slug;
    f->theme_kind = kind;
  }
  if ((rc = api_arg_enum(a, "scale", api_parse_scale, &f->scale, why)) != 0 ||
      (rc = api_arg_enum(a, "stage", api_parse_stage, &f->stage, why)) != 0 ||
      (rc = api_arg_enum(a, "consent", api_parse_consent, &f->consent, why)) != 0 ||
      (rc = api_arg_date(a, "since", &f->has_since, &f->since, why)) != 0 ||
      (rc = api_arg_date(a, "until", &f->has_until, &f->until, why)) != 0)
    return rc;
  return hls_api_arg_limit(a, HLS_API_LIMIT_ALL, &f->limit, why);
}

/* text as an FTS5 query: each of its words (split at white space) a quoted
 * string, so that every word must occur and no character of it is FTS5
 * syntax. HLS_EINVAL for no word, HLS_ETOOBIG beyond size. */
static int search_query(const char *text, size_t len, char *out, size_t size, struct hls_why *why) {
  size_t o = 0, words = 0;
  for (size_t i = 0; i < len;) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) i++;
    if (i >= len) break;
    if (o + 3 >= size) return hls_why_set(why, HLS_ETOOBIG, "text: too long");
    if (words++) out[o++] = ' ';
    out[o++] = '"';
    for (; i < len && !(text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'); i++) {
      if (o + 3 >= size) return hls_why_set(why, HLS_ETOOBIG, "text: too long");
      if (text[i] == '"') out[o++] = '"';
      out[o++] = text[i];
    }
    out[o++] = '"';
  }
  out[o] = '\0';
  if (words == 0) return hls_why_set(why, HLS_EINVAL, "text: give a word or a name to search for");
  return 0;
}

int api_record_search(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *a = call->req->args;
  struct hls_record_filter f;
  char slug[HLS_THEME_MAX + 1], query[1024];
  const char *text;
  uint32_t len;
  bool has_text = false;
  int rc = filter_args(a, &f, slug, &call->why);
  if (rc == 0) rc = hls_mp_get_str(a, "text", &text, &len, &has_text, &call->why);
  if (rc == 0 && !has_text) rc = hls_why_set(&call->why, HLS_EINVAL, "text: required");
  if (rc == 0) rc = search_query(text, len, query, sizeof query, &call->why);
  if (rc != 0) return rc;
  f.text = query;
  /* A name typed as a theme is found too: the words, as a theme's name
   * (yolanda-pemberton), within a theme of the record. */
  char words_slug[HLS_THEME_MAX + 1], pattern[HLS_THEME_MAX + 8];
  struct hls_why ignored;
  if (hls_theme_normalise(text, len, words_slug, sizeof words_slug, &ignored) == 0) {
    snprintf(pattern, sizeof pattern, "%%-%s-%%", words_slug);
    f.text_themes = pattern;
  }
  f.full = true;
  struct list_ctx l;
  api_list_init(&l);
  l.full = true;
  l.retention = api->env.config->retention;
  rc = hls_store_record_list(api->env.store, &f, list_one, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "records");
}

int api_record_list(struct hls_api *api, struct hls_control_call *call) {
  const struct hls_mp_value *a = call->req->args;
  struct hls_record_filter f;
  char slug[HLS_THEME_MAX + 1];
  bool has_full = false;
  int rc = filter_args(a, &f, slug, &call->why);
  if (rc != 0) return rc;
  if ((rc = hls_mp_get_bool(a, "full", &f.full, &has_full, &call->why)) != 0 ||
      (rc = api_arg_date(a, "after_date", &f.has_after, &f.after_day, &call->why)) != 0)
    return rc;
  bool has_after_id = false;
  if ((rc = hls_mp_get_i64(a, "after_id", &f.after_id, &has_after_id, &call->why)) != 0) return rc;
  if (has_after_id != f.has_after)
    return hls_why_set(&call->why, HLS_EINVAL, "after_date and after_id: give both (the last record of a page) or neither");
  struct list_ctx l;
  api_list_init(&l);
  l.full = f.full;
  l.retention = api->env.config->retention;
  rc = hls_store_record_list(api->env.store, &f, list_one, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "records");
}

/* --- themes --------------------------------------------------------------- */

static int theme_one(void *ctx, const struct hls_theme_count *t) {
  struct list_ctx *l = ctx;
  msgpack_packer *pk = &l->pk;
  l->count++;
  PACK(msgpack_pack_map(pk, 3 + HLS_SCALE_COUNT));
  PACK(hls_mp_pack_kv_str(pk, "name", t->slug));
  PACK(hls_mp_pack_kv_str(pk, "kind", hls_kind_name(t->kind)));
  PACK(hls_mp_pack_kv_i64(pk, "total", t->total));
  for (int i = 0; i < HLS_SCALE_COUNT; i++) PACK(hls_mp_pack_kv_i64(pk, hls_scale_name((enum hls_scale)i), t->by_scale[i]));
  return 0;
}

int api_themes_network(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_network_themes(api->env.patterns, call);
}

int api_themes(struct hls_api *api, struct hls_control_call *call) {
  struct list_ctx l;
  api_list_init(&l);
  int rc = hls_store_themes(api->env.store, theme_one, &l, &call->why);
  return api_list_reply(api, call, &l, rc, "themes");
}
