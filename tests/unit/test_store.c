/* Unit tests for daemon/store*.c: the SQLite store. Each test opens a
 * fresh database in its own temporary directory, removed in teardown. */
#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <msgpack.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gstore.h"
#include "mp.h"
#include "record.h"
#include "store.h"

#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    int rc_ = (expr);                                                                    \
    if (rc_ != 0) fail_msg("%s -> %s (%s)", #expr, hls_err_name(rc_), why.text);        \
  } while (0)

struct fixture {
  char dir[64];
  char db_path[128];
  struct hls_store *store;
};

/* Remove a flat directory (the store only creates files in it). */
static void remove_dir(const char *dir) { test_remove_tree(dir); }

static int setup_dir(void **state) {
  struct fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) return -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/hls-test-store-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->db_path, sizeof fx->db_path, "%s/hlsd.db", fx->dir);
  *state = fx;
  return 0;
}

static int setup_store(void **state) {
  if (setup_dir(state) != 0) return -1;
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_store_options opt = {.synchronous_full = false};
  if (hls_store_open(&fx->store, fx->db_path, &opt, &why) != 0) {
    fprintf(stderr, "open: %s\n", why.text);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  struct fixture *fx = *state;
  hls_store_free(fx->store);
  remove_dir(fx->dir);
  free(fx);
  return 0;
}

/* --- helpers ------------------------------------------------------------ */

static char *dup_or_null(const char *s) {
  if (s == NULL) return NULL;
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

static void set_theme(struct hls_record *r, const char *slug, enum hls_kind kind) {
  assert_true(r->n_themes < HLS_THEMES_PER_RECORD);
  struct hls_theme *t = &r->themes[r->n_themes++];
  snprintf(t->slug, sizeof t->slug, "%s", slug);
  t->kind = kind;
}

/* A record with the required fields (and consent_by when consent needs it). */
static void make_record(struct hls_record *r, const char *title, enum hls_scale scale, enum hls_stage stage,
                        hls_day day, enum hls_consent consent) {
  hls_record_init(r);
  r->title = dup_or_null(title);
  r->scale = scale;
  r->stage = stage;
  r->has_scale = r->has_stage = true;
  r->date = day;
  r->has_date = true;
  r->consent = consent;
  if (consent > HLS_CONSENT_PRIVATE) r->consent_by = dup_or_null("service manager");
  struct hls_why why = {{0}};
  ASSERT_OK(hls_record_validate(r, &why));
}

static void assert_str_or_null(const char *expected, const char *actual) {
  if (expected == NULL)
    assert_null(actual);
  else {
    assert_non_null(actual);
    assert_string_equal(expected, actual);
  }
}

static void assert_record_equal(const struct hls_record *a, const struct hls_record *b, bool full) {
  assert_int_equal(a->id, b->id);
  assert_str_or_null(a->title, b->title);
  assert_int_equal(a->scale, b->scale);
  assert_int_equal(a->stage, b->stage);
  assert_true(b->has_scale && b->has_stage && b->has_date);
  assert_int_equal(a->date, b->date);
  assert_str_or_null(a->author_role, b->author_role);
  assert_int_equal(a->consent, b->consent);
  assert_str_or_null(a->consent_by, b->consent_by);
  assert_str_or_null(a->consent_purpose, b->consent_purpose);
  assert_int_equal(a->has_consent_expires, b->has_consent_expires);
  if (a->has_consent_expires) assert_int_equal(a->consent_expires, b->consent_expires);
  assert_int_equal(a->created_ms, b->created_ms);
  assert_int_equal(a->updated_ms, b->updated_ms);
  if (full) {
    assert_str_or_null(a->context, b->context);
    assert_str_or_null(a->tried, b->tried);
    assert_str_or_null(a->happened, b->happened);
    assert_str_or_null(a->learnt, b->learnt);
  } else {
    assert_null(b->context);
    assert_null(b->tried);
    assert_null(b->happened);
    assert_null(b->learnt);
  }
  /* The store returns themes ordered by slug: compare as sets. */
  assert_int_equal(a->n_themes, b->n_themes);
  for (size_t i = 0; i < a->n_themes; i++) {
    bool found = false;
    for (size_t j = 0; j < b->n_themes; j++)
      if (strcmp(a->themes[i].slug, b->themes[j].slug) == 0) {
        assert_int_equal(a->themes[i].kind, b->themes[j].kind);
        found = true;
      }
    if (!found) fail_msg("theme %s missing", a->themes[i].slug);
  }
}

static sqlite3 *raw_open(const char *path) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int64_t count_records(struct hls_store *s) {
  struct hls_store_counts c;
  struct hls_why why = {{0}};
  ASSERT_OK(hls_store_counts(s, &c, &why));
  return c.records;
}

/* --- open, schema -------------------------------------------------------- */

static void test_open_fresh_and_reopen(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  assert_true(hls_store_schema_version() >= 1);
  sqlite3 *db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), hls_store_schema_version());
  assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='records'"), 1);
  sqlite3_close(db);

  struct hls_record r, got;
  make_record(&r, "kept across reopen", HLS_SCALE_PLACE, HLS_STAGE_REFLECT, 20000, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1000, &why));

  /* Re-opening an up-to-date store runs no migration and keeps the data. */
  for (int i = 0; i < 2; i++) {
    hls_store_free(fx->store);
    fx->store = NULL;
    ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
    db = raw_open(fx->db_path);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), hls_store_schema_version());
    sqlite3_close(db);
    hls_record_init(&got);
    ASSERT_OK(hls_store_record_get(fx->store, r.id, &got, &why));
    assert_record_equal(&r, &got, true);
    hls_record_clear(&got);
  }
  hls_record_clear(&r);
}

static void test_newer_schema_refused(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  hls_store_free(fx->store);
  fx->store = NULL;
  sqlite3 *db = raw_open(fx->db_path);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", hls_store_schema_version() + 1);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);

  static char sentinel;
  struct hls_store *s = (struct hls_store *)(void *)&sentinel; /* must be reset to NULL */
  assert_int_equal(hls_store_open(&s, fx->db_path, NULL, &why), HLS_EUNSUPPORTED);
  assert_null(s);
  assert_non_null(strstr(why.text, "newer"));
  assert_non_null(strstr(why.text, fx->db_path));

  /* The refused file was left alone. */
  db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), hls_store_schema_version() + 1);
  sqlite3_close(db);
}

/* SQL that takes a new store back to schema 10. */
#define UNDO_SCHEMA_23 "DROP TABLE pattern_tests;"
#define UNDO_SCHEMA_22 UNDO_SCHEMA_23 " DROP TABLE feed_withheld; ALTER TABLE pattern_events DROP COLUMN origins;"
#define UNDO_SCHEMA_21 UNDO_SCHEMA_22 " DROP TABLE published_retired; DROP TABLE successions;"
#define UNDO_SCHEMA_20 UNDO_SCHEMA_21 " DROP TABLE vouches_asked; DROP INDEX vouches_by_subject; DROP TABLE vouches;"
#define UNDO_SCHEMA_19 \
  UNDO_SCHEMA_20 " ALTER TABLE forks DROP COLUMN published_seq; ALTER TABLE forks DROP COLUMN report_seq;" \
  " ALTER TABLE forks DROP COLUMN reporter;"
#define UNDO_SCHEMA_18 UNDO_SCHEMA_19 " DROP TABLE invite_redemptions; DROP TABLE invites; DROP TABLE join_invite;"
#define UNDO_SCHEMA_17 UNDO_SCHEMA_18 "DROP TABLE receipts; DROP INDEX receipts_owed_pending; DROP TABLE receipts_owed;"
#define UNDO_SCHEMA_16 UNDO_SCHEMA_17 \
  "DROP INDEX records_retain_until; DROP INDEX records_scale_day; ALTER TABLE records DROP COLUMN retain_until;"
#define UNDO_SCHEMA_15 UNDO_SCHEMA_16 \
  "DROP TRIGGER records_fts_insert; DROP TRIGGER records_fts_update; DROP TRIGGER records_fts_delete;" \
  "DROP TABLE records_fts;"
#define UNDO_SCHEMA_14 UNDO_SCHEMA_15 "DROP TABLE audit;"
#define UNDO_SCHEMA_13 UNDO_SCHEMA_14 \
  "ALTER TABLE records DROP COLUMN created_by; DROP TABLE users; ALTER TABLE feeds DROP COLUMN token_hash;"
#define UNDO_SCHEMA_12 UNDO_SCHEMA_13 "DROP INDEX items_story_ids;"
#define UNDO_SCHEMA_11                                                                                      \
  UNDO_SCHEMA_12 "DROP TABLE story_themes; DROP INDEX items_stories; DROP INDEX items_profiles; DROP TABLE origins;"

/* SQL that takes a new store back to schema 9. */
#define UNDO_SCHEMA_10                                                                                      \
  UNDO_SCHEMA_11 "DROP INDEX records_fingerprint; DROP INDEX imports_by_time; ALTER TABLE records DROP COLUMN fingerprint;" \
  "ALTER TABLE imports DROP COLUMN source; ALTER TABLE imports DROP COLUMN by_user;"                         \
  "ALTER TABLE imports DROP COLUMN duplicates; ALTER TABLE imports DROP COLUMN undone_ms;"                   \
  "ALTER TABLE imports DROP COLUMN undone_by; ALTER TABLE imports DROP COLUMN undone_records;"

/* Schema 9 (patterns of issue 12) keeps the pattern rows and events of a
 * store written before it: retracted ones are marked so, live ones wait
 * for the first start's diff (docs/data-model.md). The store before it is
 * made from a new one by undoing migration 9. */
static void test_patterns_migration_keeps_rows(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  hls_store_free(fx->store);
  fx->store = NULL;
  sqlite3 *db = raw_open(fx->db_path);
  static const char undo[] = UNDO_SCHEMA_10
      "DROP INDEX patterns_by_strength; DROP INDEX pattern_events_week;"
      "ALTER TABLE patterns DROP COLUMN retracted; ALTER TABLE patterns DROP COLUMN strength;"
      "ALTER TABLE patterns DROP COLUMN p; ALTER TABLE patterns DROP COLUMN p_now;"
      "ALTER TABLE patterns DROP COLUMN region; ALTER TABLE patterns DROP COLUMN expected;"
      "ALTER TABLE patterns DROP COLUMN withheld; ALTER TABLE patterns DROP COLUMN places;"
      "ALTER TABLE patterns DROP COLUMN origins;"
      "CREATE INDEX patterns_listing ON patterns(week_to DESC, score DESC, id) WHERE live = 1;"
      "ALTER TABLE pattern_events DROP COLUMN strength; ALTER TABLE pattern_events DROP COLUMN live;"
      "ALTER TABLE pattern_events DROP COLUMN region; ALTER TABLE pattern_events DROP COLUMN places;"
      "ALTER TABLE pattern_events DROP COLUMN week;"
      "INSERT INTO patterns VALUES(x'0101010101010101', 1, 0, 'housing', 0, NULL, NULL, 2900, 2907, 3, 1,"
      " 'North\n', 3.0, x'80', 1, 2);"
      "INSERT INTO patterns VALUES(x'0202020202020202', 0, 1, 'damp', 0, NULL, NULL, 2900, 2900, 2, 1,"
      " 'North\n', 4.5, x'80', 1, 2);"
      "INSERT INTO pattern_events(id, change, signal, theme, kind, week_from, week_to, n_places, scales, regions,"
      " summary, at_ms) VALUES(x'0101010101010101', 0, 0, 'housing', 0, 2900, 2907, 3, 1, 'North\n', x'80', 1);"
      "PRAGMA user_version=8;";
  char *err = NULL;
  if (sqlite3_exec(db, undo, NULL, NULL, &err) != SQLITE_OK) fail_msg("undoing schema 9: %s", err);
  sqlite3_close(db);

  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "PRAGMA user_version"), hls_store_schema_version());
  assert_int_equal(raw_int(db, "SELECT count(*) FROM patterns"), 2);
  assert_int_equal(raw_int(db, "SELECT retracted FROM patterns WHERE id = x'0101010101010101'"), 0);
  assert_int_equal(raw_int(db, "SELECT retracted FROM patterns WHERE id = x'0202020202020202'"), 1);
  assert_int_equal(raw_int(db, "SELECT origins IS NULL AND places = '' FROM patterns WHERE live = 1"), 1);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM pattern_events WHERE week IS NULL AND live = 1"), 1);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'patterns_listing'"), 0);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'patterns_by_strength'"), 1);
  sqlite3_close(db);
}

static void test_not_a_database_refused(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  FILE *f = fopen(fx->db_path, "w");
  assert_non_null(f);
  for (int i = 0; i < 64; i++) fputs("this is a text file, not a database\n", f);
  assert_int_equal(fclose(f), 0);

  struct hls_store *s = NULL;
  int rc = hls_store_open(&s, fx->db_path, NULL, &why);
  assert_int_equal(rc, HLS_ESTORE);
  assert_null(s);
  /* The message names the file and says what is wrong with it. */
  assert_non_null(strstr(why.text, fx->db_path));
  assert_non_null(strstr(why.text, "not an hlsd store"));
  assert_non_null(strstr(why.text, "not a database"));

  /* The file was not touched. */
  struct stat st;
  assert_int_equal(stat(fx->db_path, &st), 0);
  assert_int_equal(st.st_size, 64 * 36);
}

/* --- records ------------------------------------------------------------- */

static void test_record_roundtrip(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r, got;

  make_record(&r, "Walking meetings with residents", HLS_SCALE_ORGANISATION, HLS_STAGE_EXPERIMENT,
              hls_date_from_ymd(2026, 3, 14), HLS_CONSENT_PEERS);
  r.context = dup_or_null("Line one\nline two\twith a tab");
  r.tried = dup_or_null("tried ünïcödé ✓");
  r.happened = dup_or_null("it happened");
  r.learnt = dup_or_null("we learnt");
  r.author_role = dup_or_null("practitioner");
  r.consent_purpose = dup_or_null("sharing with peer places");
  r.consent_expires = hls_date_from_ymd(2027, 1, 1);
  r.has_consent_expires = true;
  set_theme(&r, "housing", HLS_KIND_PROBLEM);
  set_theme(&r, "community-power", HLS_KIND_STRENGTH);
  set_theme(&r, "walking", HLS_KIND_PRACTICE);

  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1700000000123, &why));
  assert_true(r.id > 0);
  assert_int_equal(r.created_ms, 1700000000123);
  assert_int_equal(r.updated_ms, 1700000000123);

  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, r.id, &got, &why));
  assert_record_equal(&r, &got, true);
  /* Themes come back ordered by slug. */
  assert_string_equal(got.themes[0].slug, "community-power");
  assert_string_equal(got.themes[2].slug, "walking");
  hls_record_clear(&got);

  /* Update every field: optional ones cleared to NULL, themes replaced. */
  free(r.title);
  r.title = dup_or_null("Renamed");
  r.scale = HLS_SCALE_COUNTRY;
  r.stage = HLS_STAGE_EMBED;
  r.date = hls_date_from_ymd(1999, 12, 31);
  free(r.context);
  r.context = NULL;
  free(r.tried);
  r.tried = NULL;
  free(r.learnt);
  r.learnt = dup_or_null("learnt more");
  free(r.author_role);
  r.author_role = NULL;
  r.consent = HLS_CONSENT_NETWORK;
  free(r.consent_by);
  r.consent_by = dup_or_null("board");
  free(r.consent_purpose);
  r.consent_purpose = NULL;
  r.has_consent_expires = false;
  r.n_themes = 0;
  set_theme(&r, "housing", HLS_KIND_ASPIRATION); /* same slug, new kind */
  set_theme(&r, "youth", HLS_KIND_PROBLEM);
  ASSERT_OK(hls_store_record_update(fx->store, &r, 1700000009999, &why));
  assert_int_equal(r.updated_ms, 1700000009999);

  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, r.id, &got, &why));
  assert_int_equal(got.created_ms, 1700000000123); /* created is kept */
  assert_record_equal(&r, &got, true);
  assert_false(got.has_consent_expires);
  hls_record_clear(&got);

  /* Back to private with no optional fields at all. */
  int64_t id = r.id, created = r.created_ms;
  hls_record_clear(&r);
  make_record(&r, "bare", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, -365, HLS_CONSENT_PRIVATE);
  r.id = id;
  r.created_ms = created;
  ASSERT_OK(hls_store_record_update(fx->store, &r, 1700000010000, &why));
  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, id, &got, &why));
  assert_record_equal(&r, &got, true);
  assert_int_equal(got.n_themes, 0);
  hls_record_clear(&got);

  ASSERT_OK(hls_store_record_delete(fx->store, id, &why));
  hls_record_init(&got);
  assert_int_equal(hls_store_record_get(fx->store, id, &got, &why), HLS_ENOTFOUND);
  hls_record_clear(&got);
  hls_record_clear(&r);
}

static void test_record_null_optionals(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r, got;
  make_record(&r, "only the required fields", HLS_SCALE_PERSON, HLS_STAGE_UNDERSTAND, 0, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 5, &why));
  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, r.id, &got, &why));
  assert_record_equal(&r, &got, true);
  assert_null(got.context);
  assert_null(got.author_role);
  assert_null(got.consent_by);
  assert_null(got.consent_purpose);
  assert_false(got.has_consent_expires);
  assert_int_equal(got.n_themes, 0);
  hls_record_clear(&got);

  /* The maximum number of themes survives a round trip. */
  for (int i = 0; i < HLS_THEMES_PER_RECORD; i++) {
    char slug[16];
    snprintf(slug, sizeof slug, "theme-%02d", i);
    set_theme(&r, slug, (enum hls_kind)(i % HLS_KIND_COUNT));
  }
  ASSERT_OK(hls_store_record_update(fx->store, &r, 6, &why));
  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, r.id, &got, &why));
  assert_record_equal(&r, &got, true);
  hls_record_clear(&got);
  hls_record_clear(&r);
}

static void test_missing_id(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r, got;
  make_record(&r, "exists", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  set_theme(&r, "kept", HLS_KIND_PROBLEM);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  int64_t missing = r.id + 100;

  hls_record_init(&got);
  assert_int_equal(hls_store_record_get(fx->store, missing, &got, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no such record"));
  hls_record_clear(&got);

  int64_t real_id = r.id;
  r.id = missing;
  assert_int_equal(hls_store_record_update(fx->store, &r, 2, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no such record"));
  assert_int_equal(hls_store_record_delete(fx->store, missing, &why), HLS_ENOTFOUND);
  assert_non_null(strstr(why.text, "no such record"));

  /* Nothing else changed, and the store still accepts writes. */
  assert_int_equal(count_records(fx->store), 1);
  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, real_id, &got, &why));
  assert_int_equal(got.updated_ms, 1);
  assert_int_equal(got.n_themes, 1);
  hls_record_clear(&got);
  r.id = real_id;
  ASSERT_OK(hls_store_record_update(fx->store, &r, 3, &why));
  hls_record_clear(&r);
}

struct theme_list {
  int n;
  char slug[16][HLS_THEME_MAX + 1];
  enum hls_kind kind[16];
  int64_t total[16];
  int64_t by_scale[16][HLS_SCALE_COUNT];
  int stop_after; /* 0: never */
};

static int collect_theme(void *ctx, const struct hls_theme_count *t) {
  struct theme_list *l = ctx;
  assert_true(l->n < 16);
  snprintf(l->slug[l->n], sizeof l->slug[l->n], "%s", t->slug);
  l->kind[l->n] = t->kind;
  l->total[l->n] = t->total;
  memcpy(l->by_scale[l->n], t->by_scale, sizeof t->by_scale);
  l->n++;
  return l->stop_after > 0 && l->n >= l->stop_after ? 7 : 0;
}

static void test_delete_cascades_themes(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record a, b;
  make_record(&a, "a", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 10, HLS_CONSENT_PRIVATE);
  set_theme(&a, "only-a", HLS_KIND_PROBLEM);
  set_theme(&a, "shared", HLS_KIND_PROBLEM);
  make_record(&b, "b", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 11, HLS_CONSENT_PRIVATE);
  set_theme(&b, "shared", HLS_KIND_PROBLEM);
  ASSERT_OK(hls_store_record_insert(fx->store, &a, 1, &why));
  ASSERT_OK(hls_store_record_insert(fx->store, &b, 1, &why));

  struct theme_list l = {0};
  ASSERT_OK(hls_store_themes(fx->store, collect_theme, &l, &why));
  assert_int_equal(l.n, 2);

  ASSERT_OK(hls_store_record_delete(fx->store, a.id, &why));
  memset(&l, 0, sizeof l);
  ASSERT_OK(hls_store_themes(fx->store, collect_theme, &l, &why));
  assert_int_equal(l.n, 1);
  assert_string_equal(l.slug[0], "shared");
  assert_int_equal(l.total[0], 1);

  struct hls_store_counts c;
  ASSERT_OK(hls_store_counts(fx->store, &c, &why));
  assert_int_equal(c.themes, 1);

  /* The link rows are gone from the file (foreign keys are on in the
   * store's connection: ON DELETE CASCADE ran). */
  sqlite3 *db = raw_open(fx->db_path);
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM record_themes WHERE record_id=%lld", (long long)a.id);
  assert_int_equal(raw_int(db, sql), 0);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM record_themes"), 1);
  sqlite3_close(db);
  hls_record_clear(&a);
  hls_record_clear(&b);
}

/* Retention: the records past their own retain_until, or past their
 * date plus their scale's period (none for keep), read through migration
 * 16's indexes; and how many have a date of their own. */
static int collect_id(void *ctx, int64_t id) {
  int64_t *ids = ctx;
  ids[++ids[0]] = id;
  return 0;
}

static void test_retention_due(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  hls_day d2020, d2024, today;
  assert_int_equal(hls_date_parse("2020-03-01", 10, &d2020), 0);
  assert_int_equal(hls_date_parse("2024-06-30", 10, &d2024), 0);
  assert_int_equal(hls_date_parse("2026-03-02", 10, &today), 0);
  struct {
    enum hls_scale scale;
    hls_day date;
    const char *retain_until;
  } rows[] = {
      {HLS_SCALE_PERSON, d2020, NULL},                /* 1: 2020 + 6y = 2026-03-01, past */
      {HLS_SCALE_PERSON, d2020 + 1, NULL},            /* 2: 2026-03-02, kept through today */
      {HLS_SCALE_ORGANISATION, d2020, NULL},          /* 3: keep */
      {HLS_SCALE_PLACE, d2024, NULL},                 /* 4: 2024-06-30 + 18m = 2025-12-30, past */
      {HLS_SCALE_COUNTRY, d2020, NULL},               /* 5: 2020 + 10y, not yet */
      {HLS_SCALE_ORGANISATION, d2020, "2026-03-01"},  /* 6: its own date, past, though its scale keeps */
      {HLS_SCALE_PERSON, d2020, "2030-01-01"},        /* 7: its own date, later than the rule's */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    struct hls_record r;
    make_record(&r, "Retained", rows[i].scale, HLS_STAGE_REFLECT, rows[i].date, HLS_CONSENT_PRIVATE);
    if (rows[i].retain_until != NULL) {
      assert_int_equal(hls_date_parse(rows[i].retain_until, 10, &r.retain_until), 0);
      r.has_retain_until = true;
    }
    ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
    struct hls_record back;
    hls_record_init(&back);
    ASSERT_OK(hls_store_record_get(fx->store, r.id, &back, &why));
    assert_int_equal(back.has_retain_until, r.has_retain_until);
    if (r.has_retain_until) assert_int_equal(back.retain_until, r.retain_until);
    hls_record_clear(&back);
    hls_record_clear(&r);
  }
  struct hls_period rules[HLS_SCALE_COUNT];
  assert_int_equal(hls_period_parse("6y", 2, &rules[HLS_SCALE_PERSON]), 0);
  assert_int_equal(hls_period_parse("keep", 4, &rules[HLS_SCALE_ORGANISATION]), 0);
  assert_int_equal(hls_period_parse("18m", 3, &rules[HLS_SCALE_PLACE]), 0);
  assert_int_equal(hls_period_parse("10y", 3, &rules[HLS_SCALE_COUNTRY]), 0);
  struct hls_retention_query q = {.rules = rules, .before = today};
  int64_t ids[16] = {0};
  ASSERT_OK(hls_store_retention_due(fx->store, &q, 0, collect_id, ids, &why));
  assert_int_equal(ids[0], 3);
  assert_int_equal(ids[1], 1);
  assert_int_equal(ids[2], 4);
  assert_int_equal(ids[3], 6);
  /* limit */
  memset(ids, 0, sizeof ids);
  ASSERT_OK(hls_store_retention_due(fx->store, &q, 2, collect_id, ids, &why));
  assert_int_equal(ids[0], 2);
  int64_t due = 0, own = 0;
  ASSERT_OK(hls_store_retention_count(fx->store, &q, &due, &own, &why));
  assert_int_equal(due, 3);
  assert_int_equal(own, 2);
  /* A day later, record 2 is past too. */
  q.before = today + 1;
  ASSERT_OK(hls_store_retention_count(fx->store, &q, &due, &own, &why));
  assert_int_equal(due, 4);
  /* Each term reads an index, not the table. */
  sqlite3 *db = raw_open(fx->db_path);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT id FROM records WHERE retain_until < 5"
                                          " OR (retain_until IS NULL AND scale=0 AND day<=1)"
                                          " OR (retain_until IS NULL AND scale=1 AND day<=2)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *detail = (const char *)sqlite3_column_text(st, 3);
    if (strstr(detail, "SCAN records") != NULL) fail_msg("the retention query scans the table: %s", detail);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static void test_ids_never_reused(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  int64_t ids[3];
  struct hls_record r;
  for (int i = 0; i < 3; i++) {
    make_record(&r, "r", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, i, HLS_CONSENT_PRIVATE);
    ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
    ids[i] = r.id;
    if (i > 0) assert_true(ids[i] > ids[i - 1]);
    hls_record_clear(&r);
  }
  ASSERT_OK(hls_store_record_delete(fx->store, ids[2], &why));
  make_record(&r, "after delete", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 0, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  assert_true(r.id > ids[2]);
  int64_t last = r.id;
  hls_record_clear(&r);

  /* Also across a reopen, with every record deleted. */
  for (int i = 0; i < 2; i++) ASSERT_OK(hls_store_record_delete(fx->store, ids[i], &why));
  ASSERT_OK(hls_store_record_delete(fx->store, last, &why));
  assert_int_equal(count_records(fx->store), 0);
  hls_store_free(fx->store);
  fx->store = NULL;
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  make_record(&r, "after reopen", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 0, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  assert_true(r.id > last);
  hls_record_clear(&r);
}

/* --- listing ------------------------------------------------------------- */

#define N_DATASET 72
static const char *const dataset_themes[] = {"housing", "health", "youth"};

struct model_row {
  int64_t id;
  int scale, stage, consent;
  hls_day day;
  bool theme[3];
  char title[32];
};

/* A deterministic dataset: days repeat (so the id tie-break matters) and
 * are not in insertion order (so day order differs from id order). */
static void insert_dataset(struct hls_store *s, struct model_row *model) {
  struct hls_why why = {{0}};
  uint32_t x = 12345;
  for (int i = 0; i < N_DATASET; i++) {
    x = x * 1103515245u + 12345u;
    struct model_row *m = &model[i];
    m->scale = (int)((x >> 16) % HLS_SCALE_COUNT);
    m->stage = (int)((x >> 8) % HLS_STAGE_COUNT);
    m->consent = (int)((x >> 20) % HLS_CONSENT_COUNT);
    m->day = 20000 + (hls_day)((i * 7) % 19);
    snprintf(m->title, sizeof m->title, "record %d", i);
    struct hls_record r;
    make_record(&r, m->title, (enum hls_scale)m->scale, (enum hls_stage)m->stage, m->day,
                (enum hls_consent)m->consent);
    r.context = dup_or_null("context text");
    r.learnt = dup_or_null("learnt text");
    for (int t = 0; t < 3; t++) {
      m->theme[t] = ((x >> (24 + t)) & 1) != 0;
      if (m->theme[t]) set_theme(&r, dataset_themes[t], (enum hls_kind)t);
    }
    ASSERT_OK(hls_store_record_insert(s, &r, 1000 + i, &why));
    m->id = r.id;
    hls_record_clear(&r);
  }
}

static bool model_match(const struct model_row *m, const struct hls_record_filter *f) {
  if (f->theme != NULL) {
    bool any = false;
    for (int t = 0; t < 3; t++)
      if (m->theme[t] && strcmp(dataset_themes[t], f->theme) == 0) any = true;
    if (!any) return false;
  }
  if (f->scale >= 0 && m->scale != f->scale) return false;
  if (f->stage >= 0 && m->stage != f->stage) return false;
  if (f->consent >= 0 && m->consent != f->consent) return false;
  if (f->has_since && m->day < f->since) return false;
  if (f->has_until && m->day > f->until) return false;
  return true;
}

/* Expected ids: newest day first, then newest id. */
static size_t model_expect(const struct model_row *model, const struct hls_record_filter *f, int64_t *out) {
  const struct model_row *sel[N_DATASET];
  size_t n = 0;
  for (int i = 0; i < N_DATASET; i++)
    if (model_match(&model[i], f)) sel[n++] = &model[i];
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0; j--) {
      const struct model_row *a = sel[j - 1], *b = sel[j];
      if (a->day > b->day || (a->day == b->day && a->id > b->id)) break;
      sel[j - 1] = b;
      sel[j] = a;
    }
  if (f->limit > 0 && (int64_t)n > f->limit) n = (size_t)f->limit;
  for (size_t i = 0; i < n; i++) out[i] = sel[i]->id;
  return n;
}

struct list_ctx {
  const struct model_row *model;
  bool full;
  int64_t ids[N_DATASET];
  size_t n;
  size_t stop_after; /* 0: never */
};

static int collect_record(void *ctx, const struct hls_record *r) {
  struct list_ctx *l = ctx;
  assert_true(l->n < N_DATASET);
  l->ids[l->n++] = r->id;
  const struct model_row *m = NULL;
  for (int i = 0; i < N_DATASET; i++)
    if (l->model != NULL && l->model[i].id == r->id) m = &l->model[i];
  if (l->model != NULL) {
    assert_non_null(m);
    assert_string_equal(r->title, m->title);
    assert_int_equal(r->date, m->day);
    assert_int_equal(r->scale, m->scale);
    assert_int_equal(r->stage, m->stage);
    assert_int_equal(r->consent, m->consent);
    size_t n_themes = 0;
    for (int t = 0; t < 3; t++) n_themes += m->theme[t];
    assert_int_equal(r->n_themes, n_themes);
  }
  if (l->full) {
    assert_non_null(r->context);
    assert_string_equal(r->context, "context text");
    assert_string_equal(r->learnt, "learnt text");
  } else {
    assert_null(r->context);
    assert_null(r->tried);
    assert_null(r->happened);
    assert_null(r->learnt);
  }
  return l->stop_after > 0 && l->n >= l->stop_after ? 42 : 0;
}

static void check_list(struct hls_store *s, const struct model_row *model, const struct hls_record_filter *f,
                       size_t *matched) {
  struct hls_why why = {{0}};
  int64_t expected[N_DATASET];
  size_t n = model_expect(model, f, expected);
  struct list_ctx l = {.model = model, .full = f->full};
  ASSERT_OK(hls_store_record_list(s, f, collect_record, &l, &why));
  if (l.n != n)
    fail_msg("filter theme=%s scale=%d stage=%d consent=%d since=%d:%d until=%d:%d limit=%lld: %zu rows, want %zu",
             f->theme ? f->theme : "-", f->scale, f->stage, f->consent, f->has_since, (int)f->since, f->has_until,
             (int)f->until, (long long)f->limit, l.n, n);
  for (size_t i = 0; i < n; i++) assert_int_equal(l.ids[i], expected[i]);
  *matched += n;
}

/* Every combination of a few values of each filter, checked against the
 * model; returns how many rows matched in all. */
static size_t check_filter_matrix(struct hls_store *s, const struct model_row *model) {
  const char *themes[] = {NULL, "housing", "health", "youth", "no-such-theme"};
  const int scales[] = {-1, HLS_SCALE_PERSON, HLS_SCALE_COUNTRY};
  const int stages[] = {-1, HLS_STAGE_CO_DESIGN};
  const int consents[] = {-1, HLS_CONSENT_PRIVATE, HLS_CONSENT_NETWORK};
  const int64_t limits[] = {0, 1, 4};
  size_t matched = 0, calls = 0;
  for (size_t ti = 0; ti < sizeof themes / sizeof themes[0]; ti++)
    for (size_t si = 0; si < 3; si++)
      for (size_t gi = 0; gi < 2; gi++)
        for (size_t ci = 0; ci < 3; ci++)
          for (int dates = 0; dates < 5; dates++)
            for (size_t li = 0; li < 3; li++) {
              struct hls_record_filter f;
              hls_record_filter_init(&f);
              f.theme = themes[ti];
              f.scale = scales[si];
              f.stage = stages[gi];
              f.consent = consents[ci];
              f.limit = limits[li];
              f.full = (calls % 2) == 0;
              /* none, since only, until only, a range, one day */
              if (dates == 1 || dates == 3) f.has_since = true, f.since = 20005;
              if (dates == 2 || dates == 3) f.has_until = true, f.until = 20012;
              if (dates == 4) f.has_since = f.has_until = true, f.since = f.until = 20009;
              check_list(s, model, &f, &matched);
              calls++;
            }
  return matched;
}

static void test_list_filters(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  static struct model_row model[N_DATASET];
  memset(model, 0, sizeof model);
  insert_dataset(fx->store, model);
  /* The combinations did select something. */
  assert_true(check_filter_matrix(fx->store, model) > 500);

  /* Updates move records between dates, themes and levels: the lists
   * follow (nothing indexed by the old values is left behind). */
  for (int i = 0; i < N_DATASET; i += 3) {
    struct model_row *m = &model[i];
    struct hls_record r;
    hls_record_init(&r);
    ASSERT_OK(hls_store_record_get(fx->store, m->id, &r, &why));
    m->day = 20000 + (hls_day)((i * 5 + 3) % 19);
    m->scale = (m->scale + 1) % HLS_SCALE_COUNT;
    m->consent = HLS_CONSENT_PRIVATE;
    r.date = m->day;
    r.scale = (enum hls_scale)m->scale;
    r.consent = HLS_CONSENT_PRIVATE;
    r.n_themes = 0;
    for (int t = 0; t < 3; t++) {
      if (i % 2 == 0) m->theme[t] = !m->theme[t];
      if (m->theme[t]) set_theme(&r, dataset_themes[t], (enum hls_kind)t);
    }
    ASSERT_OK(hls_store_record_update(fx->store, &r, 5000 + i, &why));
    hls_record_clear(&r);
  }
  assert_true(check_filter_matrix(fx->store, model) > 500);

  /* The default filter lists everything in order. */
  struct hls_record_filter f;
  hls_record_filter_init(&f);
  assert_null(f.theme);
  assert_int_equal(f.scale, -1);
  assert_int_equal(f.stage, -1);
  assert_int_equal(f.consent, -1);
  assert_false(f.full);
  size_t all = 0;
  check_list(fx->store, model, &f, &all);
  assert_int_equal(all, N_DATASET);
}

/* Pages (after the last record of the page before) give the whole list,
 * in its order, with every filter: pages of 1, 3 and 7, over the dataset
 * (many records share a date, so the id breaks ties). */
static void test_list_pages(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  static struct model_row model[N_DATASET];
  memset(model, 0, sizeof model);
  insert_dataset(fx->store, model);
  const char *themes[] = {NULL, "housing"};
  const int consents[] = {-1, HLS_CONSENT_NETWORK};
  const int64_t pages[] = {1, 3, 7};
  size_t compared = 0;
  for (size_t ti = 0; ti < 2; ti++)
    for (size_t ci = 0; ci < 2; ci++)
      for (size_t pi = 0; pi < 3; pi++) {
        struct hls_record_filter f;
        hls_record_filter_init(&f);
        f.theme = themes[ti];
        f.consent = consents[ci];
        static struct list_ctx whole, page;
        memset(&whole, 0, sizeof whole);
        ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &whole, &why));
        int64_t got[N_DATASET];
        size_t n = 0;
        for (;;) {
          memset(&page, 0, sizeof page);
          f.limit = pages[pi];
          ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &page, &why));
          for (size_t k = 0; k < page.n; k++) {
            assert_true(n < N_DATASET);
            got[n++] = page.ids[k];
          }
          if (page.n < (size_t)pages[pi]) break;
          struct hls_record last;
          hls_record_init(&last);
          ASSERT_OK(hls_store_record_get(fx->store, page.ids[page.n - 1], &last, &why));
          f.has_after = true;
          f.after_day = last.date;
          f.after_id = last.id;
          hls_record_clear(&last);
        }
        assert_int_equal(n, whole.n);
        for (size_t k = 0; k < n; k++) assert_int_equal(got[k], whole.ids[k]);
        compared += n;
      }
  assert_true(compared > 100);
}

static void test_list_date_bounds_inclusive(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r;
  int64_t ids[5];
  for (int i = 0; i < 5; i++) {
    make_record(&r, "d", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 100 + i, HLS_CONSENT_PRIVATE);
    ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
    ids[i] = r.id;
    hls_record_clear(&r);
  }
  struct hls_record_filter f;
  hls_record_filter_init(&f);
  f.has_since = f.has_until = true;
  f.since = 101;
  f.until = 103;
  struct list_ctx l = {0};
  ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &l, &why));
  assert_int_equal(l.n, 3);
  assert_int_equal(l.ids[0], ids[3]);
  assert_int_equal(l.ids[1], ids[2]);
  assert_int_equal(l.ids[2], ids[1]);

  f.since = f.until = 104;
  memset(&l, 0, sizeof l);
  ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &l, &why));
  assert_int_equal(l.n, 1);
  assert_int_equal(l.ids[0], ids[4]);

  f.since = 104;
  f.until = 103; /* empty range */
  memset(&l, 0, sizeof l);
  ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &l, &why));
  assert_int_equal(l.n, 0);
}

static void test_list_callback_stops(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  static struct model_row model[N_DATASET];
  memset(model, 0, sizeof model);
  insert_dataset(fx->store, model);
  struct hls_record_filter f;
  hls_record_filter_init(&f);
  f.full = true;
  struct list_ctx l = {.model = model, .full = true, .stop_after = 3};
  assert_int_equal(hls_store_record_list(fx->store, &f, collect_record, &l, &why), 42);
  assert_int_equal(l.n, 3);

  /* The statement was reset: the next walk starts from the top again. */
  int64_t expected[N_DATASET];
  size_t n = model_expect(model, &f, expected);
  assert_int_equal(n, N_DATASET);
  struct list_ctx again = {.model = model, .full = true};
  ASSERT_OK(hls_store_record_list(fx->store, &f, collect_record, &again, &why));
  assert_int_equal(again.n, N_DATASET);
  for (size_t i = 0; i < 3; i++) assert_int_equal(l.ids[i], expected[i]);
  for (size_t i = 0; i < n; i++) assert_int_equal(again.ids[i], expected[i]);
}

/* --- counts and themes --------------------------------------------------- */

static void test_counts(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_store_counts c;
  ASSERT_OK(hls_store_counts(fx->store, &c, &why));
  assert_int_equal(c.records, 0);
  assert_int_equal(c.themes, 0);
  for (int i = 0; i < HLS_CONSENT_COUNT; i++) assert_int_equal(c.by_consent[i], 0);
  assert_true(c.bytes > 0);

  /* consent level i gets i+1 records; themes: a, b, c in use. */
  const char *slugs[] = {"a", "b", "c"};
  int k = 0;
  for (int level = 0; level < HLS_CONSENT_COUNT; level++)
    for (int j = 0; j <= level; j++) {
      struct hls_record r;
      make_record(&r, "c", HLS_SCALE_PLACE, HLS_STAGE_EMBED, k, (enum hls_consent)level);
      set_theme(&r, slugs[k % 3], HLS_KIND_PROBLEM);
      if (k == 0) set_theme(&r, "b", HLS_KIND_STRENGTH);
      ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
      hls_record_clear(&r);
      k++;
    }
  ASSERT_OK(hls_store_counts(fx->store, &c, &why));
  assert_int_equal(c.records, 10);
  for (int i = 0; i < HLS_CONSENT_COUNT; i++) assert_int_equal(c.by_consent[i], i + 1);
  assert_int_equal(c.themes, 3);
  assert_true(c.bytes > 0);
}

static void test_themes_counts(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct spec {
    enum hls_scale scale;
    const char *slug;
    enum hls_kind kind;
  } specs[] = {
      {HLS_SCALE_PERSON, "housing", HLS_KIND_PROBLEM},        {HLS_SCALE_PERSON, "housing", HLS_KIND_PROBLEM},
      {HLS_SCALE_PLACE, "housing", HLS_KIND_PROBLEM},         {HLS_SCALE_COUNTRY, "housing", HLS_KIND_STRENGTH},
      {HLS_SCALE_ORGANISATION, "health", HLS_KIND_ASPIRATION}, {HLS_SCALE_ORGANISATION, "health", HLS_KIND_ASPIRATION},
      {HLS_SCALE_COUNTRY, "youth", HLS_KIND_PRACTICE},
  };
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    struct hls_record r;
    make_record(&r, "t", specs[i].scale, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
    set_theme(&r, specs[i].slug, specs[i].kind);
    ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
    hls_record_clear(&r);
  }
  struct theme_list l = {0};
  ASSERT_OK(hls_store_themes(fx->store, collect_theme, &l, &why));
  assert_int_equal(l.n, 4);
  /* Ordered by total desc (ties by slug, then kind). */
  assert_string_equal(l.slug[0], "housing");
  assert_int_equal(l.kind[0], HLS_KIND_PROBLEM);
  assert_int_equal(l.total[0], 3);
  assert_int_equal(l.by_scale[0][HLS_SCALE_PERSON], 2);
  assert_int_equal(l.by_scale[0][HLS_SCALE_ORGANISATION], 0);
  assert_int_equal(l.by_scale[0][HLS_SCALE_PLACE], 1);
  assert_int_equal(l.by_scale[0][HLS_SCALE_COUNTRY], 0);

  assert_string_equal(l.slug[1], "health");
  assert_int_equal(l.kind[1], HLS_KIND_ASPIRATION);
  assert_int_equal(l.total[1], 2);
  assert_int_equal(l.by_scale[1][HLS_SCALE_ORGANISATION], 2);

  assert_string_equal(l.slug[2], "housing");
  assert_int_equal(l.kind[2], HLS_KIND_STRENGTH);
  assert_int_equal(l.total[2], 1);
  assert_int_equal(l.by_scale[2][HLS_SCALE_COUNTRY], 1);

  assert_string_equal(l.slug[3], "youth");
  assert_int_equal(l.kind[3], HLS_KIND_PRACTICE);
  assert_int_equal(l.total[3], 1);
  assert_int_equal(l.by_scale[3][HLS_SCALE_COUNTRY], 1);

  for (int i = 0; i < l.n; i++) {
    int64_t sum = 0;
    for (int s = 0; s < HLS_SCALE_COUNT; s++) sum += l.by_scale[i][s];
    assert_int_equal(sum, l.total[i]);
  }

  /* A non-zero return stops the walk and is returned. */
  struct theme_list stop = {.stop_after = 2};
  assert_int_equal(hls_store_themes(fx->store, collect_theme, &stop, &why), 7);
  assert_int_equal(stop.n, 2);
}

/* --- import -------------------------------------------------------------- */

/* Stage n rows seq first_seq.. of session in one batch, as the daemon does
 * with rows it has checked. */
/* The commits of tests about staging, not duplicates. */
static const struct hls_import_meta any_rows = {.allow_duplicates = true};

/* A new import id for each commit (the store refuses one used before). */
static const uint8_t *fresh_import_id(void) {
  static uint8_t id[HLS_IMPORT_ID_BYTES];
  static uint32_t n;
  n++;
  memcpy(id, &n, sizeof n);
  return id;
}

static void stage_rows(struct hls_store *s, int64_t session, int64_t first_seq, int n, const char *prefix, bool keep) {
  struct hls_why why = {{0}};
  ASSERT_OK(hls_store_import_batch_begin(s, &why));
  for (int i = 0; i < n; i++) {
    char title[64];
    struct hls_record r;
    snprintf(title, sizeof title, "%s %d", prefix, i);
    make_record(&r, title, HLS_SCALE_PLACE, HLS_STAGE_REFLECT, hls_date_from_ymd(2026, 2, 1), HLS_CONSENT_PRIVATE);
    r.n_themes = 2;
    snprintf(r.themes[0].slug, sizeof r.themes[0].slug, "imported");
    r.themes[0].kind = HLS_KIND_PROBLEM;
    snprintf(r.themes[1].slug, sizeof r.themes[1].slug, "pilot-%s", prefix);
    r.themes[1].kind = HLS_KIND_STRENGTH;
    ASSERT_OK(hls_store_import_stage(s, session, first_seq + i, 0, &r, &why));
    hls_record_clear(&r);
  }
  ASSERT_OK(hls_store_import_batch_end(s, keep, &why));
}

struct title_list {
  int n;
  char titles[16][32];
  int64_t ids[16];
};

static int collect_title(void *ctx, const struct hls_record *r) {
  struct title_list *l = ctx;
  assert_true(l->n < 16);
  l->ids[l->n] = r->id;
  snprintf(l->titles[l->n++], sizeof l->titles[0], "%s", r->title);
  return 0;
}


/* A record with two themes, for the duplicate tests. */
static void make_themed(struct hls_record *r, const char *title, enum hls_consent consent, bool reversed) {
  make_record(r, title, HLS_SCALE_PLACE, HLS_STAGE_REFLECT, hls_date_from_ymd(2026, 3, 2), consent);
  r->tried = dup_or_null("a drop-in at the library");
  r->n_themes = 2;
  snprintf(r->themes[reversed ? 1 : 0].slug, sizeof r->themes[0].slug, "housing");
  r->themes[reversed ? 1 : 0].kind = HLS_KIND_PROBLEM;
  snprintf(r->themes[reversed ? 0 : 1].slug, sizeof r->themes[0].slug, "loneliness");
  r->themes[reversed ? 0 : 1].kind = HLS_KIND_ASPIRATION;
}

static void stage_one(struct hls_store *s, int64_t session, int64_t seq, int64_t line, const struct hls_record *r) {
  struct hls_why why = {{0}};
  ASSERT_OK(hls_store_import_batch_begin(s, &why));
  ASSERT_OK(hls_store_import_stage(s, session, seq, line, r, &why));
  ASSERT_OK(hls_store_import_batch_end(s, true, &why));
}

static int collect_import(void *ctx, const struct hls_import_result *imp) {
  struct hls_import_result *out = ctx;
  for (int i = 0; i < 4; i++)
    if (out[i].committed_ms == 0) {
      out[i] = *imp;
      return 0;
    }
  return 0;
}

/* A row is a duplicate of a record held (whatever its consent or theme
 * order) or of a row staged before it; the commit records where the
 * import came from and who made it, refuses rows a record added since
 * duplicates, and an import is found by a prefix of its id and undone
 * once. */
static void test_import_duplicates(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record held, row, other;
  int64_t held_id, line;
  make_themed(&held, "Drop-in", HLS_CONSENT_PRIVATE, false);
  ASSERT_OK(hls_store_record_insert(fx->store, &held, 10, &why));

  make_themed(&row, "Drop-in", HLS_CONSENT_NETWORK, true); /* same content, other consent and theme order */
  assert_int_equal(hls_store_import_duplicate(fx->store, 1, &row, &held_id, &line, &why), 1);
  assert_int_equal(held_id, held.id);
  assert_int_equal(line, 0);
  hls_record_clear(&row);
  make_themed(&row, "Drop-in", HLS_CONSENT_PRIVATE, false);
  row.themes[1].kind = HLS_KIND_STRENGTH; /* a theme's kind is content */
  assert_int_equal(hls_store_import_duplicate(fx->store, 1, &row, &held_id, &line, &why), 0);
  stage_one(fx->store, 1, 1, 7, &row);
  /* The same row again: a duplicate of line 7, not of a record. */
  assert_int_equal(hls_store_import_duplicate(fx->store, 1, &row, &held_id, &line, &why), 1);
  assert_int_equal(held_id, 0);
  assert_int_equal(line, 7);
  /* Another session's staged rows are not this one's. */
  assert_int_equal(hls_store_import_duplicate(fx->store, 2, &row, &held_id, &line, &why), 0);

  struct hls_import_result res;
  const uint8_t *id1 = fresh_import_id();
  uint8_t first_id[HLS_IMPORT_ID_BYTES];
  memcpy(first_id, id1, sizeof first_id);
  struct hls_import_meta meta = {.source = "visits.csv", .by = "alice", .duplicates = 2};
  ASSERT_OK(hls_store_import_commit(fx->store, 1, first_id, &meta, 20, &res, &why));
  assert_int_equal(res.imported, 1);
  assert_int_equal(res.duplicates, 2);
  struct hls_import_result found;
  ASSERT_OK(hls_store_import_find(fx->store, first_id, &found, &why));
  assert_string_equal(found.source, "visits.csv");
  assert_string_equal(found.by, "alice");
  assert_int_equal(found.duplicates, 2);
  assert_int_equal(found.held, 1);
  assert_int_equal(found.undone_ms, 0);
  /* Now held, the row is a duplicate of the record it became. */
  assert_int_equal(hls_store_import_duplicate(fx->store, 3, &row, &held_id, &line, &why), 1);
  assert_int_equal(held_id, res.first_id);
  hls_record_clear(&row);

  /* A record added between staging and commit that duplicates a row:
   * the commit refuses, nothing goes in; allowed, it goes in. */
  make_themed(&other, "Walk and talk", HLS_CONSENT_PRIVATE, false);
  stage_one(fx->store, 4, 1, 3, &other);
  ASSERT_OK(hls_store_record_insert(fx->store, &other, 30, &why));
  int64_t before = count_records(fx->store);
  struct hls_import_meta strict = {.source = "b.csv"};
  assert_int_equal(hls_store_import_commit(fx->store, 4, fresh_import_id(), &strict, 40, &res, &why), HLS_ESTATE);
  assert_non_null(strstr(why.text, "1 row of this import was added as records while it ran"));
  assert_int_equal(count_records(fx->store), before);
  stage_one(fx->store, 5, 1, 3, &other);
  ASSERT_OK(hls_store_import_commit(fx->store, 5, fresh_import_id(), &any_rows, 50, &res, &why));
  assert_int_equal(count_records(fx->store), before + 1);
  hls_record_clear(&other);

  /* Found by a prefix of its id (either case); an ambiguous prefix is
   * refused. */
  char hex[2 * HLS_IMPORT_ID_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, first_id, sizeof first_id);
  hex[8] = '\0';
  ASSERT_OK(hls_store_import_find_prefix(fx->store, hex, &found, &why));
  assert_memory_equal(found.id, first_id, HLS_IMPORT_ID_BYTES);
  for (char *p = hex; *p; p++) *p = (char)toupper((unsigned char)*p);
  ASSERT_OK(hls_store_import_find_prefix(fx->store, hex, &found, &why));
  assert_int_equal(hls_store_import_find_prefix(fx->store, "ffffffff", &found, &why), HLS_ENOTFOUND);
  assert_int_equal(hls_store_import_find_prefix(fx->store, "0", &found, &why), HLS_EINVAL);

  /* Listed newest first; undone once. */
  struct hls_import_result listed[4];
  memset(listed, 0, sizeof listed);
  ASSERT_OK(hls_store_imports(fx->store, 0, collect_import, listed, &why));
  assert_int_equal(listed[0].committed_ms, 50);
  assert_int_equal(listed[1].committed_ms, 20);
  assert_int_equal(listed[2].committed_ms, 0);
  ASSERT_OK(hls_store_import_mark_undone(fx->store, first_id, 60, "bob", 1, &why));
  assert_int_equal(hls_store_import_mark_undone(fx->store, first_id, 61, "bob", 1, &why), HLS_ESTATE);
  ASSERT_OK(hls_store_import_find(fx->store, first_id, &found, &why));
  assert_int_equal(found.undone_ms, 60);
  assert_string_equal(found.undone_by, "bob");
  assert_int_equal(found.undone_records, 1);
  hls_record_clear(&held);
}

/* Schema 10 gives the records already held the fingerprint new ones get:
 * a store from before it is made by undoing migration 10. */
static void test_fingerprint_migration(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record a, b;
  make_themed(&a, "With themes", HLS_CONSENT_AGGREGATE, false);
  make_record(&b, "Without", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 100, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &a, 1, &why));
  ASSERT_OK(hls_store_record_insert(fx->store, &b, 1, &why));
  uint8_t print_a[HLS_RECORD_FINGERPRINT_BYTES], print_b[HLS_RECORD_FINGERPRINT_BYTES];
  hls_record_fingerprint(&a, print_a);
  hls_record_fingerprint(&b, print_b);
  hls_store_free(fx->store);
  fx->store = NULL;
  sqlite3 *db = raw_open(fx->db_path);
  static const char undo[] = UNDO_SCHEMA_10 "PRAGMA user_version=9;";
  char *err = NULL;
  if (sqlite3_exec(db, undo, NULL, NULL, &err) != SQLITE_OK) fail_msg("undoing schema 10: %s", err);
  sqlite3_close(db);

  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  assert_int_equal(hls_store_schema_version(), 23);
  int64_t held_id, line;
  assert_int_equal(hls_store_import_duplicate(fx->store, 1, &a, &held_id, &line, &why), 1);
  assert_int_equal(held_id, a.id);
  assert_int_equal(hls_store_import_duplicate(fx->store, 1, &b, &held_id, &line, &why), 1);
  assert_int_equal(held_id, b.id);
  db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM records WHERE fingerprint IS NULL"), 0);
  sqlite3_close(db);
  hls_record_clear(&a);
  hls_record_clear(&b);
}

static void test_import_commit(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_import_result res;
  /* An earlier record, deleted: ids never reuse it. */
  struct hls_record old;
  make_record(&old, "old", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &old, 1, &why));
  ASSERT_OK(hls_store_record_delete(fx->store, old.id, &why));

  stage_rows(fx->store, 1, 1, 3, "first", true);
  stage_rows(fx->store, 1, 4, 2, "second", true);
  stage_rows(fx->store, 2, 1, 4, "other", true);
  assert_int_equal(count_records(fx->store), 0); /* staging writes no records */

  ASSERT_OK(hls_store_import_commit(fx->store, 1, fresh_import_id(), &any_rows, 777, &res, &why));
  assert_int_equal(res.imported, 5);
  assert_int_equal(res.first_id, old.id + 1);
  assert_int_equal(res.last_id, old.id + 5);
  assert_int_equal(count_records(fx->store), 5);

  /* Ids follow the staging order; themes and times are there. */
  struct hls_record got;
  hls_record_init(&got);
  ASSERT_OK(hls_store_record_get(fx->store, res.first_id, &got, &why));
  assert_string_equal(got.title, "first 0");
  assert_int_equal(got.created_ms, 777);
  assert_int_equal(got.n_themes, 2);
  assert_string_equal(got.themes[0].slug, "imported");
  assert_string_equal(got.themes[1].slug, "pilot-first");
  assert_int_equal(got.themes[1].kind, HLS_KIND_STRENGTH);
  ASSERT_OK(hls_store_record_get(fx->store, res.last_id, &got, &why));
  assert_string_equal(got.title, "second 1");
  hls_record_clear(&got);
  /* The theme filter sees them (record_themes.day was filled). */
  struct hls_record_filter f;
  hls_record_filter_init(&f);
  f.theme = "imported";
  f.has_since = true;
  f.since = hls_date_from_ymd(2026, 2, 1);
  struct title_list l = {0};
  ASSERT_OK(hls_store_record_list(fx->store, &f, collect_title, &l, &why));
  assert_int_equal(l.n, 5);
  assert_string_equal(l.titles[0], "second 1");

  /* The session's staged rows are gone; the other session's are not. */
  ASSERT_OK(hls_store_import_commit(fx->store, 1, fresh_import_id(), &any_rows, 778, &res, &why));
  assert_int_equal(res.imported, 0);
  ASSERT_OK(hls_store_import_commit(fx->store, 2, fresh_import_id(), &any_rows, 779, &res, &why));
  assert_int_equal(res.imported, 4);
  assert_int_equal(res.first_id, old.id + 6);
  assert_int_equal(count_records(fx->store), 9);

  /* A seq can be staged only once per session. */
  stage_rows(fx->store, 3, 1, 1, "dup", true);
  struct hls_record r;
  make_record(&r, "dup again", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_import_batch_begin(fx->store, &why));
  assert_int_not_equal(hls_store_import_stage(fx->store, 3, 1, 0, &r, &why), 0);
  ASSERT_OK(hls_store_import_batch_end(fx->store, false, &why));
  hls_record_clear(&r);
  hls_store_import_drop(fx->store, 3);

  /* Seqs must be exactly 1..N. */
  stage_rows(fx->store, 4, 2, 2, "gap", true);
  assert_int_equal(hls_store_import_commit(fx->store, 4, fresh_import_id(), &any_rows, 780, &res, &why), HLS_EINTERNAL);
  assert_int_equal(count_records(fx->store), 9);
  hls_record_clear(&old);
}

/* Each committed import is recorded under its id, in the same
 * transaction: a client can ask whether it went in. */
static void test_import_ids(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_import_result res, found;
  uint8_t a[HLS_IMPORT_ID_BYTES], b[HLS_IMPORT_ID_BYTES], c[HLS_IMPORT_ID_BYTES], d[HLS_IMPORT_ID_BYTES];
  memset(a, 0xaa, sizeof a);
  memset(b, 0xbb, sizeof b);
  memset(c, 0xcc, sizeof c);
  memset(d, 0xdd, sizeof d);
  assert_int_equal(hls_store_import_find(fx->store, a, &found, &why), HLS_ENOTFOUND);
  stage_rows(fx->store, 1, 1, 3, "a", true);
  ASSERT_OK(hls_store_import_commit(fx->store, 1, a, &any_rows, 500, &res, &why));
  ASSERT_OK(hls_store_import_find(fx->store, a, &found, &why));
  assert_int_equal(found.imported, 3);
  assert_int_equal(found.first_id, res.first_id);
  assert_int_equal(found.last_id, res.last_id);
  assert_int_equal(found.committed_ms, 500);
  assert_int_equal(hls_store_import_find(fx->store, b, &found, &why), HLS_ENOTFOUND);

  /* An id is used once: a second commit under it fails whole. */
  stage_rows(fx->store, 2, 1, 2, "again", true);
  assert_int_not_equal(hls_store_import_commit(fx->store, 2, a, &any_rows, 501, &res, &why), 0);
  assert_int_equal(count_records(fx->store), 3);
  ASSERT_OK(hls_store_import_find(fx->store, a, &found, &why));
  assert_int_equal(found.committed_ms, 500);

  /* A commit that fails records nothing. */
  stage_rows(fx->store, 3, 2, 2, "gap", true);
  assert_int_equal(hls_store_import_commit(fx->store, 3, c, &any_rows, 502, &res, &why), HLS_EINTERNAL);
  assert_int_equal(hls_store_import_find(fx->store, c, &found, &why), HLS_ENOTFOUND);

  /* An empty import is committed too, with no ids. */
  ASSERT_OK(hls_store_import_commit(fx->store, 4, d, &any_rows, 503, &res, &why));
  assert_int_equal(res.imported, 0);
  ASSERT_OK(hls_store_import_find(fx->store, d, &found, &why));
  assert_int_equal(found.imported, 0);
  assert_int_equal(found.first_id, 0);

  /* Foreign keys are on again after the commits: deleting an imported
   * record takes its theme links with it. */
  ASSERT_OK(hls_store_import_find(fx->store, a, &found, &why));
  ASSERT_OK(hls_store_record_delete(fx->store, found.first_id, &why));
  sqlite3 *db = raw_open(fx->db_path);
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM record_themes WHERE record_id=%lld", (long long)found.first_id);
  assert_int_equal(raw_int(db, sql), 0);
  sqlite3_close(db);
}

static void test_import_rollback(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_import_result res;
  struct hls_record before;
  make_record(&before, "existing", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  before.n_themes = 1;
  snprintf(before.themes[0].slug, sizeof before.themes[0].slug, "kept");
  ASSERT_OK(hls_store_record_insert(fx->store, &before, 1, &why));

  /* A batch ended with keep=false leaves nothing staged. */
  stage_rows(fx->store, 8, 1, 3, "discarded", false);
  ASSERT_OK(hls_store_import_commit(fx->store, 8, fresh_import_id(), &any_rows, 1, &res, &why));
  assert_int_equal(res.imported, 0);

  /* A commit that fails half way (the last row breaks a CHECK constraint
   * the daemon's checks would never let through) inserts nothing. */
  stage_rows(fx->store, 9, 1, 3, "first", true);
  struct hls_record bad;
  make_record(&bad, "bad", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  bad.scale = (enum hls_scale)9;
  ASSERT_OK(hls_store_import_batch_begin(fx->store, &why));
  ASSERT_OK(hls_store_import_stage(fx->store, 9, 4, 0, &bad, &why));
  ASSERT_OK(hls_store_import_batch_end(fx->store, true, &why));
  hls_record_clear(&bad);
  assert_int_not_equal(hls_store_import_commit(fx->store, 9, fresh_import_id(), &any_rows, 1, &res, &why), 0);
  assert_int_equal(res.imported, 0);
  assert_int_equal(count_records(fx->store), 1);
  sqlite3 *db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM records"), 1);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM record_themes"), 1);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM themes WHERE slug LIKE 'pilot-%'"), 0);
  sqlite3_close(db);

  /* The staged rows were dropped too. */
  ASSERT_OK(hls_store_import_commit(fx->store, 9, fresh_import_id(), &any_rows, 1, &res, &why));
  assert_int_equal(res.imported, 0);

  /* Foreign keys are on again: deleting a record cascades to its themes. */
  ASSERT_OK(hls_store_record_delete(fx->store, before.id, &why));
  db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM record_themes"), 0);
  sqlite3_close(db);

  /* No transaction was left open: ordinary writes still work and last. */
  struct hls_record after;
  make_record(&after, "after", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &after, 1, &why));
  hls_store_free(fx->store);
  fx->store = NULL;
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  assert_int_equal(count_records(fx->store), 1);
  hls_record_clear(&before);
  hls_record_clear(&after);
}

static void test_import_drop(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_import_result res;
  stage_rows(fx->store, 4, 1, 3, "dropped", true);
  stage_rows(fx->store, 4, 4, 3, "dropped", true);
  stage_rows(fx->store, 5, 1, 2, "kept", true);
  hls_store_import_drop(fx->store, 4);
  ASSERT_OK(hls_store_import_commit(fx->store, 4, fresh_import_id(), &any_rows, 1, &res, &why));
  assert_int_equal(res.imported, 0);
  assert_int_equal(count_records(fx->store), 0);
  ASSERT_OK(hls_store_import_commit(fx->store, 5, fresh_import_id(), &any_rows, 1, &res, &why));
  assert_int_equal(res.imported, 2);
  assert_int_equal(count_records(fx->store), 2);
  /* Dropping an unknown session is harmless. */
  hls_store_import_drop(fx->store, 12345);

  /* Staged rows belong to the connection: a reopen forgets them. */
  stage_rows(fx->store, 6, 1, 2, "forgotten", true);
  hls_store_free(fx->store);
  fx->store = NULL;
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, NULL, &why));
  ASSERT_OK(hls_store_import_commit(fx->store, 6, fresh_import_id(), &any_rows, 1, &res, &why));
  assert_int_equal(res.imported, 0);
  assert_int_equal(count_records(fx->store), 2);
}

/* --- file properties ----------------------------------------------------- */

static void test_wal_and_foreign_keys(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r;
  make_record(&r, "w", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  set_theme(&r, "fk", HLS_KIND_PROBLEM);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));

  char wal[160];
  struct stat st;
  snprintf(wal, sizeof wal, "%s-wal", fx->db_path);
  assert_int_equal(stat(wal, &st), 0);

  sqlite3 *db = raw_open(fx->db_path);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);

  /* foreign_keys is per connection: prove it is on in the store's by a
   * cascade (it would leave the link row behind if it were off). */
  ASSERT_OK(hls_store_record_delete(fx->store, r.id, &why));
  db = raw_open(fx->db_path);
  assert_int_equal(raw_int(db, "SELECT count(*) FROM record_themes"), 0);
  sqlite3_close(db);
  hls_record_clear(&r);
}

/* The owner: recorded on first claim, then only that key may claim. A
 * store from before owners that published items none of which are the
 * claimant's is another node's. */
static void test_claim_owner(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  uint8_t a[32], b[32], got[32];
  memset(a, 0xaa, sizeof a);
  memset(b, 0xbb, sizeof b);
  bool present = true;
  ASSERT_OK(hls_store_owner(fx->store, got, &present, &why));
  assert_false(present);
  ASSERT_OK(hls_store_claim(fx->store, a, &why));
  ASSERT_OK(hls_store_owner(fx->store, got, &present, &why));
  assert_true(present);
  assert_memory_equal(got, a, 32);
  ASSERT_OK(hls_store_claim(fx->store, a, &why));
  assert_int_equal(hls_store_claim(fx->store, b, &why), HLS_EFOREIGN);
  /* No owner recorded, but published items of another chain. */
  sqlite3 *db = raw_open(fx->db_path);
  assert_int_equal(sqlite3_exec(db, "DELETE FROM meta; INSERT INTO published(seq, type, audience, published_ms)"
                                    " VALUES(1, 1, 2, 0)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(hls_store_claim(fx->store, b, &why), HLS_EFOREIGN);
  ASSERT_OK(hls_store_owner(fx->store, got, &present, &why));
  assert_false(present);
}

/* Enough records for several pages of an index and its table. */
static void fill_pages(struct fixture *fx) {
  struct hls_why why = {{0}};
  ASSERT_OK(hls_store_begin(fx->store, &why));
  for (int i = 0; i < 400; i++) {
    struct hls_record r;
    make_record(&r, "a record long enough to fill the pages of the store quickly", HLS_SCALE_PERSON,
                HLS_STAGE_PURPOSE, 1 + i, HLS_CONSENT_PRIVATE);
    set_theme(&r, "damage", HLS_KIND_PROBLEM);
    ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
    hls_record_clear(&r);
  }
  ASSERT_OK(hls_store_commit(fx->store, &why));
}

/* Junk over the headers of every other page in [from, to). */
static void scribble(const char *path, int page_size, int from, int to) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  for (int p = from | 1; p < to; p += 2) {
    static const uint8_t junk[16] = {0x0d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    fseek(f, (long)p * page_size, SEEK_SET);
    fwrite(junk, 1, sizeof junk, f);
  }
  fclose(f);
}

/* Junk over every other leaf page of the records table (SQLite's dbstat
 * says which): the schema and the other tables, which the open reads,
 * stay sound whatever the layout a migration gives the file. */
static void scribble_records(const char *path) {
  sqlite3 *db = raw_open(path);
  int page_size = raw_int(db, "PRAGMA page_size");
  sqlite3_stmt *st;
  int pages[4096], n = 0;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT pageno FROM dbstat WHERE name = 'records' AND pagetype = 'leaf'"
                                          " ORDER BY pageno", -1, &st, NULL), SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW && n < 4096) pages[n++] = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  assert_true(n >= 4);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  for (int i = 1; i < n; i += 2) {
    static const uint8_t junk[16] = {0x0d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    fseek(f, (long)(pages[i] - 1) * page_size, SEEK_SET);
    fwrite(junk, 1, sizeof junk, f);
  }
  fclose(f);
}

/* A damaged page is found by the quick check at open and by the full one,
 * with SQLite's words for it. */
static int count_problem(void *ctx, const char *problem) {
  (void)problem;
  (*(int *)ctx)++;
  return 0;
}

static void test_check_finds_damage(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  int problems = 0;
  ASSERT_OK(hls_store_check(fx->store, true, count_problem, &problems, &why));
  assert_int_equal(problems, 0);
  /* Enough rows for several pages of an index and its table. */
  fill_pages(fx);
  hls_store_free(fx->store);
  fx->store = NULL;
  /* Checkpoint into the main file, then scribble over page headers. */
  sqlite3 *db = raw_open(fx->db_path);
  assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
  int pages = raw_int(db, "PRAGMA page_count"), page_size = raw_int(db, "PRAGMA page_size");
  sqlite3_close(db);
  assert_true(pages > 6);
  scribble(fx->db_path, page_size, 3, pages); /* schema pages too */
  struct hls_store_options opt = {.quick_check = true};
  assert_int_equal(hls_store_open(&fx->store, fx->db_path, &opt, &why), HLS_ECORRUPT);
  assert_null(fx->store);
  assert_non_null(strstr(why.text, "damaged"));
  opt.quick_check = false;
  if (hls_store_open(&fx->store, fx->db_path, &opt, &why) == 0) {
    problems = 0;
    assert_int_equal(hls_store_check(fx->store, true, count_problem, &problems, &why), HLS_ECORRUPT);
    assert_true(problems > 0);
  }
}

/* The clean-close mark: a close that asked for it, after a passed check,
 * lets the next open skip the check (and leave it to the caller); it
 * vouches for one open only, and for nothing once the file changed. */
static bool mark_exists(const struct fixture *fx) {
  char mark[160];
  snprintf(mark, sizeof mark, "%s.clean", fx->db_path);
  return access(mark, F_OK) == 0;
}

static void reopen_trusting(struct fixture *fx, bool mark_on_close) {
  struct hls_why why = {{0}};
  if (fx->store != NULL && mark_on_close) hls_store_mark_clean_on_close(fx->store);
  hls_store_free(fx->store);
  fx->store = NULL;
  struct hls_store_options opt = {.quick_check = true, .trust_clean_close = true};
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, &opt, &why));
}

static void test_clean_close_mark(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  /* The fixture opened without a check: no mark at its close. */
  hls_store_mark_clean_on_close(fx->store);
  reopen_trusting(fx, false);
  assert_false(mark_exists(fx));
  assert_false(hls_store_check_deferred(fx->store)); /* checked at open */

  /* Checked at open, closed cleanly: marked; the next open skips. */
  reopen_trusting(fx, true);
  assert_true(hls_store_check_deferred(fx->store));
  assert_false(mark_exists(fx)); /* taken at open */

  /* Closed again before the deferred check passed: no mark. */
  reopen_trusting(fx, true);
  assert_false(hls_store_check_deferred(fx->store));
  reopen_trusting(fx, true);
  assert_true(hls_store_check_deferred(fx->store));
  hls_store_check_passed(fx->store);
  assert_false(hls_store_check_deferred(fx->store));
  reopen_trusting(fx, true); /* passed: marked again */
  assert_true(hls_store_check_deferred(fx->store));

  /* A closed file that changed (its modification time) is checked. */
  hls_store_check_passed(fx->store);
  hls_store_mark_clean_on_close(fx->store);
  hls_store_free(fx->store);
  fx->store = NULL;
  assert_true(mark_exists(fx));
  struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 1000000000, .tv_nsec = 1}};
  assert_int_equal(utimensat(AT_FDCWD, fx->db_path, times, 0), 0);
  struct hls_store_options opt = {.quick_check = true, .trust_clean_close = true};
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, &opt, &why));
  assert_false(hls_store_check_deferred(fx->store));
  assert_false(mark_exists(fx));

  /* A mark is not trusted without the check option, and left alone. */
  hls_store_mark_clean_on_close(fx->store);
  hls_store_free(fx->store);
  fx->store = NULL;
  assert_true(mark_exists(fx));
  opt.quick_check = false;
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, &opt, &why));
  assert_false(hls_store_check_deferred(fx->store));
  assert_true(mark_exists(fx));
}

/* The check on a worker's connection: sound, then damaged behind a mark
 * (the damage keeps the file's modification time, as a failing disk
 * would): the open trusts the mark, the worker's check finds it. */
static void test_bgcheck(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  fill_pages(fx);
  reopen_trusting(fx, false);
  struct hls_store_bgcheck *c = NULL;
  ASSERT_OK(hls_store_bgcheck_new(&c, fx->store, &why));
  ASSERT_OK(hls_store_bgcheck_run(c, &why));
  hls_store_bgcheck_free(c);
  hls_store_bgcheck_free(NULL);
  hls_store_bgcheck_interrupt(NULL);

  hls_store_mark_clean_on_close(fx->store);
  hls_store_free(fx->store);
  fx->store = NULL;
  assert_true(mark_exists(fx));
  struct stat before;
  assert_int_equal(stat(fx->db_path, &before), 0);
  scribble_records(fx->db_path); /* the records' pages, not the schema's */
  char side[160];
  snprintf(side, sizeof side, "%s-wal", fx->db_path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", fx->db_path);
  unlink(side);
  struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, before.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, fx->db_path, times, 0), 0);
  struct hls_store_options opt = {.quick_check = true, .trust_clean_close = true};
  ASSERT_OK(hls_store_open(&fx->store, fx->db_path, &opt, &why));
  assert_true(hls_store_check_deferred(fx->store));
  ASSERT_OK(hls_store_bgcheck_new(&c, fx->store, &why));
  assert_int_equal(hls_store_bgcheck_run(c, &why), HLS_ECORRUPT);
  assert_non_null(strstr(why.text, "damaged"));
  hls_store_bgcheck_free(c);
  /* Not passed: its close leaves no mark, so the next open checks. */
  hls_store_mark_clean_on_close(fx->store);
  hls_store_free(fx->store);
  fx->store = NULL;
  assert_false(mark_exists(fx));
  assert_int_equal(hls_store_open(&fx->store, fx->db_path, &opt, &why), HLS_ECORRUPT);
}

/* secure_delete: a deleted record's text is gone from every file of the
 * store once the WAL is checkpointed. */
static bool file_has(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return false;
  size_t n = strlen(needle), cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  bool found = false;
  size_t r;
  while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
    len += r;
    for (size_t i = 0; i + n <= len && !found; i++) found = memcmp(buf + i, needle, n) == 0;
    if (found || len < n) break;
    memmove(buf, buf + len - (n - 1), n - 1);
    len = n - 1;
  }
  free(buf);
  fclose(f);
  return found;
}

static void test_deleted_text_leaves_every_file(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  static const char secret[] = "Mrs Quigley-Featherstonehaugh of 12 Acacia Avenue";
  struct hls_record r;
  make_record(&r, "a record to erase", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  r.context = dup_or_null(secret);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  char wal[160], shm[160];
  snprintf(wal, sizeof wal, "%s-wal", fx->db_path);
  snprintf(shm, sizeof shm, "%s-shm", fx->db_path);
  assert_true(file_has(wal, secret) || file_has(fx->db_path, secret));
  ASSERT_OK(hls_store_checkpoint(fx->store, &why)); /* now in the main file too */
  assert_true(file_has(fx->db_path, secret));
  ASSERT_OK(hls_store_record_delete(fx->store, r.id, &why));
  ASSERT_OK(hls_store_checkpoint(fx->store, &why));
  assert_false(file_has(fx->db_path, secret));
  assert_false(file_has(wal, secret));
  assert_false(file_has(shm, secret));
  struct stat st;
  assert_true(stat(wal, &st) != 0 || st.st_size == 0);
  hls_record_clear(&r);
}

static void test_file_not_world_readable(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  mode_t old = umask(077);
  struct hls_store *s = NULL;
  int rc = hls_store_open(&s, fx->db_path, NULL, &why);
  struct hls_record r;
  make_record(&r, "u", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  if (rc == 0) rc = hls_store_record_insert(s, &r, 1, &why);
  umask(old);
  hls_record_clear(&r);
  fx->store = s;
  ASSERT_OK(rc);
  struct stat st;
  assert_int_equal(stat(fx->db_path, &st), 0);
  assert_int_equal(st.st_mode & 077, 0);
  char wal[160];
  snprintf(wal, sizeof wal, "%s-wal", fx->db_path);
  assert_int_equal(stat(wal, &st), 0);
  assert_int_equal(st.st_mode & 077, 0);
}

/* --- a full disk ----------------------------------------------------------- */

/* Cap the database at the pages it has now: the next write that needs
 * another page fails with SQLITE_FULL, as on a disk with no space left. */
static void fill_disk(struct hls_store *s) {
  sqlite3 *db = hls_store_db(s);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)raw_int(db, "PRAGMA page_count"));
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Insert records of 4 KiB until the store refuses one; return its code. */
static int insert_until_full(struct hls_store *s, struct hls_why *why) {
  static char text[4096];
  memset(text, 'x', sizeof text - 1);
  for (int i = 0; i < 1000; i++) {
    struct hls_record r;
    make_record(&r, "filler", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
    r.learnt = dup_or_null(text);
    int rc = hls_store_record_insert(s, &r, 1, why);
    hls_record_clear(&r);
    if (rc != 0) return rc;
  }
  return 0;
}

/* A full disk is disk_full (not too_large, not store_error) in every
 * module that writes to the store, and leaves no partial change. */
static void test_full_disk_is_disk_full(void **state) {
  struct fixture *fx = *state;
  struct hls_why why = {{0}};
  struct hls_record r;
  make_record(&r, "before", HLS_SCALE_PERSON, HLS_STAGE_PURPOSE, 1, HLS_CONSENT_PRIVATE);
  ASSERT_OK(hls_store_record_insert(fx->store, &r, 1, &why));
  hls_record_clear(&r);
  fill_disk(fx->store);

  /* Records (store_records.c). */
  int rc = insert_until_full(fx->store, &why);
  if (rc != HLS_EDISKFULL) fail_msg("record insert on a full disk: %s (%s)", hls_err_name(rc), why.text);
  assert_non_null(strstr(why.text, "full"));
  int64_t held = count_records(fx->store);

  /* An import: every staged row, or none. */
  stage_rows(fx->store, 1, 1, 200, "full", true);
  struct hls_import_result res;
  uint8_t import_id[HLS_IMPORT_ID_BYTES] = {42};
  memset(&why, 0, sizeof why);
  rc = hls_store_import_commit(fx->store, 1, import_id, &any_rows, 2, &res, &why);
  if (rc != HLS_EDISKFULL) fail_msg("import commit on a full disk: %s (%s)", hls_err_name(rc), why.text);
  assert_int_equal(count_records(fx->store), held);
  assert_int_equal(hls_store_import_find(fx->store, import_id, &res, &why), HLS_ENOTFOUND);

  /* Gossip items (gstore.c): the same failure, the same code. */
  struct hls_gstore *gs = NULL;
  ASSERT_OK(hls_gstore_open(&gs, fx->store, &why));
  static uint8_t evidence[64 * 1024];
  uint8_t origin[32] = {7};
  memset(&why, 0, sizeof why);
  rc = hls_gstore_fork_put(gs, origin, 1, evidence, sizeof evidence, evidence, sizeof evidence, NULL, 1, &why);
  hls_gstore_free(gs);
  if (rc != HLS_EDISKFULL) fail_msg("fork evidence on a full disk: %s (%s)", hls_err_name(rc), why.text);
}

/* The one SQLite translation, code by code (extended codes included). */
static void test_sqlite_error_mapping(void **state) {
  (void)state;
  static const struct {
    int sqlite_rc, code;
  } map[] = {
      {SQLITE_FULL, HLS_EDISKFULL},      {SQLITE_IOERR, HLS_EIO},
      {SQLITE_IOERR_WRITE, HLS_EIO},     {SQLITE_IOERR_NOMEM, HLS_ENOMEM},
      {SQLITE_NOMEM, HLS_ENOMEM},        {SQLITE_BUSY, HLS_EBUSY},
      {SQLITE_BUSY_SNAPSHOT, HLS_EBUSY}, {SQLITE_LOCKED, HLS_EBUSY},
      {SQLITE_TOOBIG, HLS_ETOOBIG},      {SQLITE_CORRUPT, HLS_ECORRUPT},
      {SQLITE_CORRUPT_INDEX, HLS_ECORRUPT}, {SQLITE_IOERR_SHORT_READ, HLS_EIO},
      {SQLITE_NOTADB, HLS_ESTORE},       {SQLITE_CONSTRAINT, HLS_ESTORE},
      {SQLITE_CONSTRAINT_UNIQUE, HLS_ESTORE}, {SQLITE_READONLY, HLS_ESTORE},
      {SQLITE_ERROR, HLS_ESTORE},        {SQLITE_CANTOPEN, HLS_ESTORE},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    struct hls_why why = {{0}};
    assert_int_equal(hls_store_sqlite_error(NULL, map[i].sqlite_rc, &why), map[i].code);
    assert_non_null(strstr(why.text, "store: "));
  }
  assert_int_equal(hls_store_sqlite_error(NULL, SQLITE_FULL, NULL), HLS_EDISKFULL);
}

/* The message is SQLite's for the call that failed, and the code's own
 * text for a code the caller made up (a malloc of its own that failed),
 * not whatever the connection failed with last. */
static void test_sqlite_error_message(void **state) {
  (void)state;
  sqlite3 *db = NULL;
  struct hls_why why = {{0}};
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  sqlite3_extended_result_codes(db, 1);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x UNIQUE); INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
  int rc = sqlite3_exec(db, "INSERT INTO t VALUES (1)", NULL, NULL, NULL);
  assert_int_equal(rc, SQLITE_CONSTRAINT_UNIQUE);
  assert_int_equal(hls_store_sqlite_error(db, rc, &why), HLS_ESTORE);
  if (strstr(why.text, "UNIQUE constraint failed") == NULL) fail_msg("the failed call's message: %s", why.text);

  memset(&why, 0, sizeof why);
  assert_int_equal(hls_store_sqlite_error(db, SQLITE_NOMEM, &why), HLS_ENOMEM);
  if (strcmp(why.text, "store: out of memory") != 0) fail_msg("a code of the caller's own: %s", why.text);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_fresh_and_reopen, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_patterns_migration_keeps_rows, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_database_refused, setup_dir, teardown),
      cmocka_unit_test_setup_teardown(test_record_roundtrip, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_record_null_optionals, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_missing_id, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_delete_cascades_themes, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_retention_due, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_ids_never_reused, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_list_filters, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_list_pages, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_list_date_bounds_inclusive, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_list_callback_stops, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_counts, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_themes_counts, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_import_commit, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_import_ids, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_import_rollback, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_import_drop, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_import_duplicates, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_fingerprint_migration, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_wal_and_foreign_keys, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_file_not_world_readable, setup_dir, teardown),
      cmocka_unit_test_setup_teardown(test_claim_owner, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_check_finds_damage, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_clean_close_mark, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_bgcheck, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_deleted_text_leaves_every_file, setup_store, teardown),
      cmocka_unit_test_setup_teardown(test_full_disk_is_disk_full, setup_store, teardown),
      cmocka_unit_test(test_sqlite_error_mapping),
      cmocka_unit_test(test_sqlite_error_message),
  };
  return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
