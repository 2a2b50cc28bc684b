/* Retention (docs/governance.md#retention): the sweep that deletes the
 * records past their retention date, as record.delete does, with one
 * audit entry each; and the retention part of governance.report. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "api_handlers.h"
#include "audit.h"
#include "log.h"

/* Records one sweep deletes at most, so that a first sweep over years of
 * records does not hold the loop: the next sweep (consent.expiry_check
 * later) goes on. */
#define SWEEP_MAX 10000

struct due_ids {
  int64_t *ids; /* owned */
  size_t n, cap;
};

static int collect_due(void *ctx, int64_t id) {
  struct due_ids *d = ctx;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    int64_t *p = realloc(d->ids, cap * sizeof *p);
    if (p == NULL) return HLS_ENOMEM;
    d->ids = p;
    d->cap = cap;
  }
  d->ids[d->n++] = id;
  return 0;
}

/* What the audit entry of each deleted record holds: its fields before
 * (no free text), and its retention date and where it came from. */
struct sweep_note {
  char *before;  /* owned */
  char about[64];
};

struct sweep_ctx {
  struct hls_api *api;
  struct sweep_note *notes; /* one per id, in order */
  size_t n;
};

static int note_record(void *ctx, const struct hls_record *r, struct hls_why *why) {
  (void)why;
  struct sweep_ctx *s = ctx;
  struct sweep_note *note = &s->notes[s->n++];
  struct hls_record shown = *r; /* borrows r's strings */
  char until[11];
  api_record_retention(s->api, &shown);
  hls_date_format(shown.retention, until);
  snprintf(note->about, sizeof note->about, "retention=%s from=%s", until,
           hls_retention_from_name(shown.retention_from));
  note->before = api_record_summary(s->api, r->id);
  return 0;
}

static struct hls_retention_query query_before(const struct hls_api *api, hls_day before) {
  struct hls_retention_query q = {.rules = api->env.config->retention, .before = before};
  return q;
}

int hls_api_retention_sweep(struct hls_api *api, int64_t *deleted, struct hls_why *why) {
  *deleted = 0;
  struct due_ids due = {0};
  /* A record is kept up to and including its retention date. */
  struct hls_retention_query q = query_before(api, api_today(api));
  int rc = hls_store_retention_due(api->env.store, &q, SWEEP_MAX, collect_due, &due, why);
  if (rc == HLS_ENOMEM) hls_why_set(why, rc, "out of memory");
  api->retention_swept_ms = api_now_ms(api);
  if (rc != 0 || due.n == 0) {
    free(due.ids);
    return rc;
  }
  struct sweep_ctx s = {.api = api, .notes = calloc(due.n, sizeof *s.notes)};
  if (s.notes == NULL) {
    free(due.ids);
    return hls_why_set(why, HLS_ENOMEM, "out of memory");
  }
  /* A change is durable when it is done: none of it may wait in the
   * store's deferred transaction of gossiped items (store.h). */
  rc = hls_store_defer_commit(api->env.store, why);
  if (rc == 0) rc = api_delete_records(api, due.ids, due.n, note_record, &s, why);
  if (rc == 0) {
    hls_log_info("retention_expired", "records=%zu", due.n);
    for (size_t k = 0; k < due.n; k++) {
      struct hls_audit_entry e = {.at_ms = api_now_ms(api), .who = "hlsd", .action = "record.retention_expired",
                                  .record_id = due.ids[k], .about = s.notes[k].about, .before = s.notes[k].before,
                                  .result = "ok"};
      struct hls_why audit_why = {{0}};
      if (hls_audit_append(hls_store_db(api->env.store), &e, &audit_why) != 0)
        hls_log_error("audit_failed", "action=%s record=%lld detail=\"%s\"", e.action, (long long)e.record_id,
                      audit_why.text);
    }
    *deleted = (int64_t)due.n;
  } else {
    hls_log_error("retention_failed", "records=%zu error=%s", due.n, hls_err_name(rc));
  }
  for (size_t k = 0; k < s.n; k++) free(s.notes[k].before);
  free(s.notes);
  free(due.ids);
  return rc;
}

int hls_api_erasures_reapply(struct hls_api *api, const int64_t *ids, size_t n, int64_t *deleted,
                             struct hls_why *why) {
  *deleted = 0;
  int rc = hls_store_defer_commit(api->env.store, why);
  if (rc == 0) rc = api_delete_records(api, ids, n, NULL, NULL, why);
  if (rc != 0) return rc;
  for (size_t k = 0; k < n; k++) {
    struct hls_audit_entry e = {.at_ms = api_now_ms(api), .who = "hlsd", .action = "record.erasure_reapplied",
                                .record_id = ids[k], .about = "deleted before; the store was restored from an older copy",
                                .result = "ok"};
    struct hls_why audit_why = {{0}};
    if (hls_audit_append(hls_store_db(api->env.store), &e, &audit_why) != 0)
      hls_log_error("audit_failed", "action=%s record=%lld detail=\"%s\"", e.action, (long long)e.record_id,
                    audit_why.text);
  }
  *deleted = (int64_t)n;
  return 0;
}

/* governance.report's retention: {rules: {SCALE: period|"keep"}, rule_set,
 * records_with_own_date, due_within_30_days, last_sweep, last_deleted,
 * deleted, records_with_consent_expiry}. */
#define REPORT_DUE_DAYS 30

int api_retention_pack(struct hls_api *api, msgpack_packer *pk, struct hls_why *why) {
  const struct hls_config *cfg = api->env.config;
  sqlite3 *db = hls_store_db(api->env.store);
  int64_t due = 0, own = 0, deleted = 0, with_expiry = 0, last_deleted_ms = 0;
  /* Kept up to its retention date: due within 30 days means a retention
   * date before today + 30. */
  struct hls_retention_query q = query_before(api, api_today(api) + REPORT_DUE_DAYS);
  int rc = hls_store_retention_count(api->env.store, &q, &due, &own, why);
  if (rc != 0) return rc;
  sqlite3_stmt *st;
  const char *sql = "SELECT count(*), ifnull(max(at_ms), 0),"
                    " (SELECT count(*) FROM records WHERE consent_expires IS NOT NULL)"
                    " FROM audit WHERE action = 'record.retention_expired'";
  if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK) return hls_store_sqlite_error(db, rc, why);
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    deleted = sqlite3_column_int64(st, 0);
    last_deleted_ms = sqlite3_column_int64(st, 1);
    with_expiry = sqlite3_column_int64(st, 2);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return hls_store_sqlite_error(db, rc, why);
  bool any_rule = false;
  PACK(msgpack_pack_map(pk, 8));
  PACK(hls_mp_pack_cstr(pk, "rules"));
  PACK(msgpack_pack_map(pk, HLS_SCALE_COUNT));
  for (int scale = 0; scale < HLS_SCALE_COUNT; scale++) {
    char text[HLS_PERIOD_TEXT_MAX];
    hls_period_format(&cfg->retention[scale], text);
    any_rule |= cfg->retention[scale].unit != HLS_PERIOD_KEEP;
    PACK(hls_mp_pack_kv_str(pk, hls_scale_name((enum hls_scale)scale), text));
  }
  PACK(hls_mp_pack_kv_bool(pk, "rule_set", any_rule));
  PACK(hls_mp_pack_kv_i64(pk, "records_with_own_date", own));
  PACK(hls_mp_pack_kv_i64(pk, "due_within_30_days", due));
  PACK(api->retention_swept_ms ? api_pack_kv_time(pk, "last_sweep", api->retention_swept_ms)
                                : hls_mp_pack_kv_str(pk, "last_sweep", NULL));
  PACK(last_deleted_ms ? api_pack_kv_time(pk, "last_deleted", last_deleted_ms)
                       : hls_mp_pack_kv_str(pk, "last_deleted", NULL));
  PACK(hls_mp_pack_kv_i64(pk, "deleted", deleted));
  PACK(hls_mp_pack_kv_i64(pk, "records_with_consent_expiry", with_expiry));
  return 0;
}
