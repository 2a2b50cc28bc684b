/* Unit tests for daemon/api_retention.c: the sweep deletes exactly the
 * records past their retention date, through record.delete's path (the
 * node is told to scrub and to re-count, at once for a story), with one
 * audit entry each that holds no free text; keep deletes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api.h"
#include "audit.h"
#include "store_fixture.h"

/* The node's side of the env: a frozen clock, and what it was told. */
struct fake_node {
  hls_day today;
  int changed, urgent, erased;
};
static int64_t fake_now(void *ctx) { return (int64_t)((struct fake_node *)ctx)->today * 86400000 + 36000000; }
static hls_day fake_today(void *ctx) { return ((struct fake_node *)ctx)->today; }
static void fake_changed(void *ctx, hls_day first, hls_day last, bool urgent) {
  (void)first, (void)last;
  struct fake_node *n = ctx;
  n->changed++;
  n->urgent += urgent;
}
static void fake_erased(void *ctx) { ((struct fake_node *)ctx)->erased++; }

static int64_t add(struct store_fixture *fx, enum hls_scale scale, const char *date, const char *retain_until,
                   enum hls_consent consent) {
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  r.title = strdup("SECRET words of a life");
  r.learnt = strdup("SECRET learnt");
  r.scale = scale;
  r.stage = HLS_STAGE_REFLECT;
  r.has_scale = r.has_stage = r.has_date = true;
  assert_int_equal(hls_date_parse(date, 10, &r.date), 0);
  if (retain_until != NULL) {
    assert_int_equal(hls_date_parse(retain_until, 10, &r.retain_until), 0);
    r.has_retain_until = true;
  }
  r.consent = consent;
  if (consent > HLS_CONSENT_PRIVATE) r.consent_by = strdup("lead");
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  int64_t id = r.id;
  hls_record_clear(&r);
  return id;
}

struct entries {
  int n;
  int64_t records[8];
  bool free_text; /* an entry holds a record's typed words */
  bool well_formed;
};

static int collect(void *ctx, const struct hls_audit_entry *e) {
  struct entries *s = ctx;
  if (strcmp(e->action, "record.retention_expired") != 0) return 0;
  if (s->n < 8) s->records[s->n] = e->record_id;
  s->n++;
  const char *fields[] = {e->who, e->about, e->before, e->after};
  for (size_t i = 0; i < 4; i++)
    if (fields[i] != NULL && strstr(fields[i], "SECRET") != NULL) s->free_text = true;
  s->well_formed = s->well_formed || s->n == 1;
  s->well_formed = s->well_formed && strcmp(e->who, "hlsd") == 0 && strcmp(e->result, "ok") == 0 &&
                   e->before != NULL && strstr(e->before, "\"text_bytes\"") != NULL && e->after == NULL &&
                   e->about != NULL && strncmp(e->about, "retention=", 10) == 0;
  return 0;
}

static void test_sweep(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_config config;
  hls_config_defaults(&config);
  struct fake_node node = {0};
  assert_int_equal(hls_date_parse("2026-03-11", 10, &node.today), 0);
  struct hls_api_env env = {.store = fx->store, .config = &config, .now_ms = fake_now, .today = fake_today,
                            .changed = fake_changed, .erased = fake_erased, .ctx = &node};
  struct hls_api *api = hls_api_new(&env);
  assert_non_null(api);

  int64_t old_person = add(fx, HLS_SCALE_PERSON, "2020-03-10", NULL, HLS_CONSENT_NETWORK); /* 2026-03-10: goes */
  int64_t young_person = add(fx, HLS_SCALE_PERSON, "2020-03-11", NULL, HLS_CONSENT_PRIVATE); /* 2026-03-11: stays */
  int64_t kept_place = add(fx, HLS_SCALE_PLACE, "1995-01-01", NULL, HLS_CONSENT_AGGREGATE);  /* keep */
  int64_t own_date = add(fx, HLS_SCALE_PLACE, "2026-01-01", "2026-03-10", HLS_CONSENT_PRIVATE); /* goes */
  int64_t own_later = add(fx, HLS_SCALE_PERSON, "2019-01-01", "2026-12-31", HLS_CONSENT_PRIVATE); /* stays */

  /* Every scale keep (the default): nothing goes, not even a record whose rule would have passed. */
  int64_t deleted = -1;
  ASSERT_OK(hls_api_retention_sweep(api, &deleted, &why));
  assert_int_equal(deleted, 1); /* own_date alone: its own date is not a rule */
  assert_int_equal(node.erased, 1);
  assert_int_equal(node.changed, 0); /* a private record is in no digest */

  ASSERT_OK(hls_config_set(&config, "retention.person", "6y", &why));
  ASSERT_OK(hls_api_retention_sweep(api, &deleted, &why));
  assert_int_equal(deleted, 1);
  assert_int_equal(node.changed, 1);
  assert_int_equal(node.urgent, 1); /* its story is erased at once */
  assert_int_equal(node.erased, 2);
  struct hls_record r;
  hls_record_init(&r);
  assert_int_equal(hls_store_record_get(fx->store, old_person, &r, &why), HLS_ENOTFOUND);
  assert_int_equal(hls_store_record_get(fx->store, own_date, &r, &why), HLS_ENOTFOUND);
  int64_t kept[] = {young_person, kept_place, own_later};
  for (size_t i = 0; i < 3; i++) {
    ASSERT_OK(hls_store_record_get(fx->store, kept[i], &r, &why));
    hls_record_clear(&r);
  }
  /* Nothing more is due: a sweep deletes nothing and tells the node nothing. */
  ASSERT_OK(hls_api_retention_sweep(api, &deleted, &why));
  assert_int_equal(deleted, 0);
  assert_int_equal(node.erased, 2);

  struct entries seen = {0};
  struct hls_audit_filter f = {0};
  ASSERT_OK(hls_audit_list(fx->db, &f, collect, &seen, &why));
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.records[0], own_date);
  assert_int_equal(seen.records[1], old_person);
  assert_true(seen.well_formed);
  assert_false(seen.free_text);
  int64_t entries = 0, bad = 0;
  uint8_t head[HLS_AUDIT_HASH_BYTES];
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(bad, 0);
  hls_api_free(api);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sweep, store_fixture_setup, store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
