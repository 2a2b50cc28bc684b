/* Unit tests for protocol/record.c: enums, themes, applying, validating
 * and packing learning records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_build.h"
#include "record.h"

/* --- helpers ------------------------------------------------------------- */

/* Apply a map built from fmt to r; returns the code. why may be NULL. */
static int apply_fmt(struct hls_record *r, const struct hls_record_limits *lim, struct hls_why *why,
                     const char *fmt, ...) {
  struct mpb b;
  mpb_init(&b);
  va_list ap;
  va_start(ap, fmt);
  mpb_vpack(&b.pk, fmt, ap);
  va_end(ap);
  const struct hls_mp_value *m = mpb_decode(&b, false);
  int rc = hls_record_apply(r, m, lim, why);
  mpb_free(&b);
  return rc;
}

/* A record passing hls_record_validate, with every field set. */
static void fill_full(struct hls_record *r) {
  hls_record_init(r);
  struct hls_why why = {{0}};
  int rc = apply_fmt(r, NULL, &why, "M s s s s s s s s s A s s s s s s s s s s s s s s s s s s s s s s", 15,
                     "title", "Community cafe pilot", "scale", "place", "stage", "experiment", "date", "2026-03-04",
                     "themes", 2, "Loneliness", "aspiration:Community Cafe", "context", "Line one\nLine two",
                     "tried", "\tA weekly cafe", "happened", "People came", "learnt", "Go slow", "author_role",
                     "practitioner", "consent", "peers", "consent_by", "learning lead", "consent_purpose",
                     "Sharing with peer places", "consent_expires", "2027-03-04", "retain_until", "2032-03-31");
  if (rc != 0) fail_msg("fill_full: %s (%s)", hls_err_name(rc), why.text);
}

static void assert_str_field(const char *got, const char *want) {
  if (want == NULL) {
    assert_null(got);
  } else {
    assert_non_null(got);
    assert_string_equal(got, want);
  }
}

static void assert_records_equal(const struct hls_record *a, const struct hls_record *b, bool texts) {
  assert_str_field(a->title, b->title);
  assert_int_equal(a->has_scale, b->has_scale);
  if (a->has_scale) assert_int_equal(a->scale, b->scale);
  assert_int_equal(a->has_stage, b->has_stage);
  if (a->has_stage) assert_int_equal(a->stage, b->stage);
  assert_int_equal(a->has_date, b->has_date);
  if (a->has_date) assert_int_equal(a->date, b->date);
  assert_int_equal(a->n_themes, b->n_themes);
  for (size_t i = 0; i < a->n_themes; i++) {
    assert_string_equal(a->themes[i].slug, b->themes[i].slug);
    assert_int_equal(a->themes[i].kind, b->themes[i].kind);
  }
  if (texts) {
    assert_str_field(a->context, b->context);
    assert_str_field(a->tried, b->tried);
    assert_str_field(a->happened, b->happened);
    assert_str_field(a->learnt, b->learnt);
  }
  assert_str_field(a->author_role, b->author_role);
  assert_int_equal(a->consent, b->consent);
  assert_str_field(a->consent_by, b->consent_by);
  assert_str_field(a->consent_purpose, b->consent_purpose);
  assert_int_equal(a->has_consent_expires, b->has_consent_expires);
  if (a->has_consent_expires) assert_int_equal(a->consent_expires, b->consent_expires);
  assert_int_equal(a->has_retain_until, b->has_retain_until);
  if (a->has_retain_until) assert_int_equal(a->retain_until, b->retain_until);
}

/* --- enums --------------------------------------------------------------- */

static void test_enum_names_round_trip(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  for (int i = 0; i < HLS_SCALE_COUNT; i++) {
    enum hls_scale v = HLS_SCALE_COUNT;
    const char *name = hls_scale_name((enum hls_scale)i);
    assert_int_equal(hls_scale_parse(name, strlen(name), &v, &why), 0);
    assert_int_equal(v, i);
  }
  for (int i = 0; i < HLS_STAGE_COUNT; i++) {
    enum hls_stage v = HLS_STAGE_COUNT;
    const char *name = hls_stage_name((enum hls_stage)i);
    assert_int_equal(hls_stage_parse(name, strlen(name), &v, &why), 0);
    assert_int_equal(v, i);
  }
  for (int i = 0; i < HLS_KIND_COUNT; i++) {
    enum hls_kind v = HLS_KIND_COUNT;
    const char *name = hls_kind_name((enum hls_kind)i);
    assert_int_equal(hls_kind_parse(name, strlen(name), &v, &why), 0);
    assert_int_equal(v, i);
  }
  for (int i = 0; i < HLS_CONSENT_COUNT; i++) {
    enum hls_consent v = HLS_CONSENT_COUNT;
    const char *name = hls_consent_name((enum hls_consent)i);
    assert_int_equal(hls_consent_parse(name, strlen(name), &v, &why), 0);
    assert_int_equal(v, i);
  }
  /* The names people and scripts use. */
  assert_string_equal(hls_scale_name(HLS_SCALE_ORGANISATION), "organisation");
  assert_string_equal(hls_stage_name(HLS_STAGE_CO_DESIGN), "co-design");
  assert_string_equal(hls_kind_name(HLS_KIND_ASPIRATION), "aspiration");
  assert_string_equal(hls_consent_name(HLS_CONSENT_NETWORK), "network");
  /* Out-of-range values do not crash. */
  assert_string_equal(hls_scale_name(HLS_SCALE_COUNT), "?");
  assert_string_equal(hls_stage_name((enum hls_stage)99), "?");
  assert_string_equal(hls_kind_name(HLS_KIND_COUNT), "?");
  assert_string_equal(hls_consent_name(HLS_CONSENT_COUNT), "?");
}

/* Values are taken in any case, as a spreadsheet or a person capitalises
 * them, and stored as the lower-case name. */
static void test_enum_parse_any_case(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  enum hls_scale scale = HLS_SCALE_PLACE;
  assert_int_equal(hls_scale_parse("Person", 6, &scale, &why), 0);
  assert_int_equal(scale, HLS_SCALE_PERSON);
  assert_int_equal(hls_scale_parse("ORGANISATION", 12, &scale, &why), 0);
  assert_int_equal(scale, HLS_SCALE_ORGANISATION);
  enum hls_stage stage;
  assert_int_equal(hls_stage_parse("Co-Design", 9, &stage, &why), 0);
  assert_int_equal(stage, HLS_STAGE_CO_DESIGN);
  enum hls_consent consent;
  assert_int_equal(hls_consent_parse("Network", 7, &consent, &why), 0);
  assert_int_equal(consent, HLS_CONSENT_NETWORK);
  struct hls_theme t;
  const char *spec = "Aspiration:Cafe";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), 0);
  assert_int_equal(t.kind, HLS_KIND_ASPIRATION);
  assert_string_equal(t.slug, "cafe");
  /* Only ASCII letters fold: a look-alike is not a name. */
  assert_int_equal(hls_scale_parse("PERSO\xc3\x91", 7, &scale, NULL), HLS_EINVAL);
  /* Applied to a record, the value is the canonical one. */
  struct hls_record r;
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s s s s s", 3, "title", "x", "scale", "Place", "stage", "REFLECT"), 0);
  assert_int_equal(r.scale, HLS_SCALE_PLACE);
  assert_int_equal(r.stage, HLS_STAGE_REFLECT);
  hls_record_clear(&r);
}

static void test_enum_parse_errors_list_allowed_values(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  enum hls_scale scale = HLS_SCALE_PLACE;
  assert_int_equal(hls_scale_parse("Persn", 5, &scale, &why), HLS_EINVAL);
  assert_int_equal(scale, HLS_SCALE_PLACE);
  assert_non_null(strstr(why.text, "scale"));
  assert_non_null(strstr(why.text, "person|organisation|place|country"));
  assert_int_equal(hls_scale_parse("perso", 5, &scale, NULL), HLS_EINVAL);
  assert_int_equal(hls_scale_parse("persons", 7, &scale, NULL), HLS_EINVAL);
  assert_int_equal(hls_scale_parse("", 0, &scale, NULL), HLS_EINVAL);
  /* Only len bytes count. */
  assert_int_equal(hls_scale_parse("placeholder", 5, &scale, NULL), 0);
  assert_int_equal(scale, HLS_SCALE_PLACE);

  enum hls_stage stage;
  assert_int_equal(hls_stage_parse("codesign", 8, &stage, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "purpose|understand|co-design|experiment|reflect|embed"));
  enum hls_kind kind;
  assert_int_equal(hls_kind_parse("need", 4, &kind, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "problem|aspiration|strength|practice"));
  enum hls_consent consent;
  assert_int_equal(hls_consent_parse("public", 6, &consent, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "private|aggregate|peers|network"));
}

/* --- themes -------------------------------------------------------------- */

static void test_theme_parse(void **state) {
  (void)state;
  struct hls_theme t;
  struct hls_why why = {{0}};
  const char *spec = "aspiration:Community Cafe";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), 0);
  assert_string_equal(t.slug, "community-cafe");
  assert_int_equal(t.kind, HLS_KIND_ASPIRATION);
  spec = "Loneliness";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), 0);
  assert_string_equal(t.slug, "loneliness");
  assert_int_equal(t.kind, HLS_KIND_PROBLEM);
  spec = " strength :Peer Support";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), 0);
  assert_string_equal(t.slug, "peer-support");
  assert_int_equal(t.kind, HLS_KIND_STRENGTH);
  spec = "practice: Asset-based   work ";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), 0);
  assert_string_equal(t.slug, "asset-based-work");
  assert_int_equal(t.kind, HLS_KIND_PRACTICE);
  /* Only len bytes are read. */
  assert_int_equal(hls_theme_parse("housing;aspiration:x", 7, &t, &why), 0);
  assert_string_equal(t.slug, "housing");
  assert_int_equal(t.kind, HLS_KIND_PROBLEM);
}

static void test_theme_parse_errors(void **state) {
  (void)state;
  struct hls_theme t;
  struct hls_why why = {{0}};
  const char *spec = "hobby:Knitting";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "kind"));
  assert_non_null(strstr(why.text, "problem|aspiration|strength|practice"));
  /* The kind is named in the message, and ':' in a name is refused. */
  spec = "covid: lessons";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "unknown kind \"covid\""));
  assert_non_null(strstr(why.text, "cannot hold ':'"));
  spec = ":Cafe";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, NULL), HLS_EINVAL);
  spec = "problem:";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, NULL), HLS_EINVAL);
  spec = "problem:!!!";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, NULL), HLS_EINVAL);
  spec = "problem:caf\xc3";
  assert_int_equal(hls_theme_parse(spec, strlen(spec), &t, NULL), HLS_EUTF8);
  char long_spec[200];
  memcpy(long_spec, "problem:", 8);
  memset(long_spec + 8, 'z', HLS_THEME_MAX + 1);
  assert_int_equal(hls_theme_parse(long_spec, 8 + HLS_THEME_MAX + 1, &t, NULL), HLS_ETOOBIG);
}

/* --- apply: single fields ------------------------------------------------ */

static void test_apply_title_trims_and_checks(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", "  \tCommunity cafe \t "), 0);
  assert_string_equal(r.title, "Community cafe");
  /* Titles are single-line. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", "two\nlines"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "title"));
  assert_string_equal(r.title, "Community cafe"); /* a refused value changes nothing */
  /* HLS_TITLE_MAX bytes after trimming. */
  char text[HLS_TITLE_MAX + 8];
  memset(text, 'T', HLS_TITLE_MAX);
  text[HLS_TITLE_MAX] = '\0';
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", text), 0);
  assert_int_equal(strlen(r.title), HLS_TITLE_MAX);
  memcpy(text + HLS_TITLE_MAX, "   ", 4);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", text), 0);
  text[HLS_TITLE_MAX] = 'T';
  text[HLS_TITLE_MAX + 1] = '\0';
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", text), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "title"));
  /* The tree decoder never yields invalid UTF-8, but apply checks anyway. */
  struct hls_mp_kv kv = {.key = {.type = HLS_MP_STR, .len = 5, .v.str = "title"},
                         .val = {.type = HLS_MP_STR, .len = 5, .v.str = "bad \xff"}};
  struct hls_mp_value map = {.type = HLS_MP_MAP, .len = 1, .v.kv = &kv};
  assert_int_equal(hls_record_apply(&r, &map, NULL, &why), HLS_EUTF8);
  assert_non_null(strstr(why.text, "title"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s i", 1, "title", 5LL), HLS_EINVAL);
  assert_non_null(strstr(why.text, "title"));
  /* nil, "" and whitespace-only clear it. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, "title"), 0);
  assert_null(r.title);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", "x"), 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", ""), 0);
  assert_null(r.title);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", "x"), 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "title", "   "), 0);
  assert_null(r.title);
  hls_record_clear(&r);
}

static void test_apply_enums(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_false(r.has_scale);
  assert_false(r.has_stage);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s s s s s", 3, "scale", " place ", "stage", "co-design", "consent",
                             "network"),
                   0);
  assert_true(r.has_scale);
  assert_int_equal(r.scale, HLS_SCALE_PLACE);
  assert_true(r.has_stage);
  assert_int_equal(r.stage, HLS_STAGE_CO_DESIGN);
  assert_int_equal(r.consent, HLS_CONSENT_NETWORK);

  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "scale", "galaxy"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "person|organisation|place|country"));
  assert_int_equal(r.scale, HLS_SCALE_PLACE);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s i", 1, "scale", 2LL), HLS_EINVAL);
  assert_non_null(strstr(why.text, "scale"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, "stage"), HLS_EINVAL); /* required: no clearing */
  assert_non_null(strstr(why.text, "stage"));
  assert_true(r.has_stage);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "stage", "Embd"), HLS_EINVAL);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "consent", "everyone"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "private|aggregate|peers|network"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s t", 1, "consent"), HLS_EINVAL);
  /* nil or "" puts consent back to private. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, "consent"), 0);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "consent", "peers"), 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "consent", ""), 0);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  hls_record_clear(&r);
}

static void test_apply_dates(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s s s", 2, "date", " 2026-03-04 ", "consent_expires", "2027-01-01"), 0);
  assert_true(r.has_date);
  assert_int_equal(r.date, hls_date_from_ymd(2026, 3, 4));
  assert_true(r.has_consent_expires);
  assert_int_equal(r.consent_expires, hls_date_from_ymd(2027, 1, 1));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "date", "2026-02-30"), HLS_EINVAL);
  /* a date of the right form that is no day is said so */
  assert_string_equal(why.text, "date: 2026-02-30 is not a day of the calendar");
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "consent_expires", "04/03/2026"), HLS_EINVAL);
  assert_string_equal(why.text, "consent_expires: expected a date YYYY-MM-DD");
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s i", 1, "date", 20260304LL), HLS_EINVAL);
  assert_true(r.has_date);
  assert_int_equal(r.date, hls_date_from_ymd(2026, 3, 4));
  /* nil and "" clear. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s n s s", 2, "date", "consent_expires", ""), 0);
  assert_false(r.has_date);
  assert_false(r.has_consent_expires);
  hls_record_clear(&r);
}

static void test_apply_free_text_fields(void **state) {
  (void)state;
  const char *fields[] = {"context", "tried", "happened", "learnt"};
  for (size_t f = 0; f < 4; f++) {
    struct hls_record r;
    struct hls_why why = {{0}};
    hls_record_init(&r);
    char **slot = f == 0 ? &r.context : f == 1 ? &r.tried : f == 2 ? &r.happened : &r.learnt;
    /* Multi-line, and not trimmed: indentation may matter. Line breaks
     * are kept as LF: a CR LF or a lone CR is one LF (a lone CR printed
     * would hide the line before it; CSV import reads CR LF as LF). */
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], "  first\n\tsecond\r\n"), 0);
    assert_string_equal(*slot, "  first\n\tsecond\n");
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], "hidden\rshown\r\n\r\rend\r"), 0);
    assert_string_equal(*slot, "hidden\nshown\n\n\nend\n");
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], "  first\n\tsecond\n"), 0);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], "bell\a"), HLS_EINVAL);
    assert_non_null(strstr(why.text, fields[f]));
    assert_string_equal(*slot, "  first\n\tsecond\n");
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s b", 1, fields[f], "x", (size_t)1), HLS_EINVAL);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, fields[f]), 0);
    assert_null(*slot);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], "x"), 0);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f], ""), 0);
    assert_null(*slot);
    hls_record_clear(&r);
  }
}

static void test_apply_single_line_optional_fields(void **state) {
  (void)state;
  static const struct {
    const char *name;
    size_t max;
  } fields[] = {{"author_role", HLS_ROLE_MAX}, {"consent_by", HLS_ROLE_MAX}, {"consent_purpose", HLS_PURPOSE_MAX}};
  for (size_t f = 0; f < 3; f++) {
    struct hls_record r;
    struct hls_why why = {{0}};
    hls_record_init(&r);
    char **slot = f == 0 ? &r.author_role : f == 1 ? &r.consent_by : &r.consent_purpose;
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, "  learning lead  "), 0);
    assert_string_equal(*slot, "learning lead");
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, "a\nb"), HLS_EINVAL);
    assert_non_null(strstr(why.text, fields[f].name));
    char text[HLS_PURPOSE_MAX + 2];
    memset(text, 'r', fields[f].max);
    text[fields[f].max] = '\0';
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, text), 0);
    assert_int_equal(strlen(*slot), fields[f].max);
    text[fields[f].max] = 'r';
    text[fields[f].max + 1] = '\0';
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, text), HLS_ETOOBIG);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, fields[f].name), 0);
    assert_null(*slot);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, "x"), 0);
    assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, fields[f].name, ""), 0);
    assert_null(*slot);
    hls_record_clear(&r);
  }
}

static void test_apply_max_text_bytes(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  struct hls_record_limits lim = {.max_text_bytes = 10};
  assert_int_equal(apply_fmt(&r, &lim, &why, "M s s", 1, "learnt", "0123456789"), 0);
  assert_int_equal(apply_fmt(&r, &lim, &why, "M s s", 1, "learnt", "0123456789A"), HLS_ETOOBIG);
  assert_non_null(strstr(why.text, "learnt"));
  /* A node's own limit: said as it is, with no word of another. */
  assert_non_null(strstr(why.text, "at most 10 allowed"));
  assert_null(strstr(why.text, "limits.max_text_bytes"));
  assert_string_equal(r.learnt, "0123456789");
  /* The limit is for free text only. */
  assert_int_equal(apply_fmt(&r, &lim, &why, "M s s", 1, "title", "a title longer than ten bytes"), 0);

  /* No limit, zero, or one above the hard maximum all mean the hard maximum. */
  char *big = malloc(HLS_TEXT_HARD_MAX + 2);
  assert_non_null(big);
  memset(big, 'x', HLS_TEXT_HARD_MAX + 1);
  big[HLS_TEXT_HARD_MAX + 1] = '\0';
  struct hls_record_limits zero = {.max_text_bytes = 0}, huge = {.max_text_bytes = 10 * HLS_TEXT_HARD_MAX};
  const struct hls_record_limits *lims[] = {NULL, &zero, &huge};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(apply_fmt(&r, lims[i], &why, "M s s", 1, "context", big), HLS_ETOOBIG);
    /* Without a node's limits (hls checking before it sends), the hard
     * ceiling is not the node's: the error says a node may allow less. */
    assert_true((strstr(why.text, "limits.max_text_bytes") != NULL) == (lims[i] == NULL));
    big[HLS_TEXT_HARD_MAX] = '\0';
    assert_int_equal(apply_fmt(&r, lims[i], &why, "M s s", 1, "context", big), 0);
    assert_int_equal(strlen(r.context), HLS_TEXT_HARD_MAX);
    big[HLS_TEXT_HARD_MAX] = 'x';
  }
  free(big);
  hls_record_clear(&r);
}

/* --- apply: themes ------------------------------------------------------- */

static void test_apply_themes_forms(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  /* Array of "KIND:NAME" strings. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s s s", 1, "themes", 3, "Loneliness", "aspiration:Community Cafe",
                             "strength: Peer Support"),
                   0);
  assert_int_equal(r.n_themes, 3);
  assert_string_equal(r.themes[0].slug, "loneliness");
  assert_int_equal(r.themes[0].kind, HLS_KIND_PROBLEM);
  assert_string_equal(r.themes[1].slug, "community-cafe");
  assert_int_equal(r.themes[1].kind, HLS_KIND_ASPIRATION);
  assert_string_equal(r.themes[2].slug, "peer-support");
  assert_int_equal(r.themes[2].kind, HLS_KIND_STRENGTH);

  /* Array of {name, kind} maps; kind defaults to problem. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s s s s M s s", 1, "themes", 2, 2, "name", "Food Banks", "kind",
                             "practice", 1, "name", "Debt"),
                   0);
  assert_int_equal(r.n_themes, 2);
  assert_string_equal(r.themes[0].slug, "food-banks");
  assert_int_equal(r.themes[0].kind, HLS_KIND_PRACTICE);
  assert_string_equal(r.themes[1].slug, "debt");
  assert_int_equal(r.themes[1].kind, HLS_KIND_PROBLEM);

  /* One ';'-separated string (the CSV form); empty parts are skipped. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", " Housing ; aspiration:Warm Homes;; ; "), 0);
  assert_int_equal(r.n_themes, 2);
  assert_string_equal(r.themes[0].slug, "housing");
  assert_string_equal(r.themes[1].slug, "warm-homes");
  assert_int_equal(r.themes[1].kind, HLS_KIND_ASPIRATION);

  /* A string of the array may hold several, as the one string may. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s s", 1, "themes", 2, "Debt; strength:Peer Support", " ; Housing"),
                   0);
  assert_int_equal(r.n_themes, 3);
  assert_string_equal(r.themes[0].slug, "debt");
  assert_string_equal(r.themes[1].slug, "peer-support");
  assert_int_equal(r.themes[1].kind, HLS_KIND_STRENGTH);
  assert_string_equal(r.themes[2].slug, "housing");

  /* A mixed array, and an empty one that clears. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s M s s", 1, "themes", 2, "Debt", 1, "name", "Energy"), 0);
  assert_int_equal(r.n_themes, 2);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A", 1, "themes", 0), 0);
  assert_int_equal(r.n_themes, 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", "Debt"), 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s n", 1, "themes"), 0);
  assert_int_equal(r.n_themes, 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", "Debt"), 0);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", ""), 0);
  assert_int_equal(r.n_themes, 0);
  hls_record_clear(&r);
}

static void test_apply_themes_dedup_and_conflict(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s s s s", 1, "themes", 4, "Housing", "housing", "problem:HOUSING ",
                             "Debt"),
                   0);
  assert_int_equal(r.n_themes, 2);
  assert_string_equal(r.themes[0].slug, "housing");
  assert_string_equal(r.themes[1].slug, "debt");

  /* The same theme as two kinds is ambiguous. Nothing changes. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s s", 1, "themes", 2, "problem:Housing", "aspiration:housing"),
                   HLS_EINVAL);
  assert_non_null(strstr(why.text, "housing"));
  assert_non_null(strstr(why.text, "problem"));
  assert_non_null(strstr(why.text, "aspiration"));
  assert_int_equal(r.n_themes, 2);
  assert_string_equal(r.themes[1].slug, "debt");
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", "Housing;strength:Housing"), HLS_EINVAL);
  assert_int_equal(r.n_themes, 2);
  hls_record_clear(&r);
}

static void test_apply_themes_count_limit(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  struct mpb b;
  /* HLS_THEMES_PER_RECORD distinct themes are fine, one more is not. */
  for (int extra = 0; extra <= 1; extra++) {
    int n = HLS_THEMES_PER_RECORD + extra;
    mpb_init(&b);
    mpb_pack(&b.pk, "M s A", 1, "themes", n);
    for (int i = 0; i < n; i++) {
      char name[16];
      snprintf(name, sizeof name, "theme %d", i);
      mpb_pack(&b.pk, "s", name);
    }
    const struct hls_mp_value *m = mpb_decode(&b, false);
    assert_int_equal(hls_record_apply(&r, m, NULL, &why), extra ? HLS_ETOOBIG : 0);
    assert_int_equal(r.n_themes, HLS_THEMES_PER_RECORD);
    mpb_free(&b);
  }
  assert_non_null(strstr(why.text, "32"));
  /* The string form has the same limit. */
  char list[1024] = "";
  for (int i = 0; i <= HLS_THEMES_PER_RECORD; i++) {
    char part[16];
    snprintf(part, sizeof part, "t%d;", i);
    strcat(list, part);
  }
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "themes", list), HLS_ETOOBIG);
  /* Duplicates do not count toward the limit. */
  mpb_init(&b);
  mpb_pack(&b.pk, "M s A", 1, "themes", 100);
  for (int i = 0; i < 100; i++) mpb_pack(&b.pk, "s", i % 2 ? "Housing" : "Debt");
  assert_int_equal(hls_record_apply(&r, mpb_decode(&b, false), NULL, &why), 0);
  assert_int_equal(r.n_themes, 2);
  mpb_free(&b);
  /* A huge array is refused without walking it. */
  mpb_init(&b);
  mpb_pack(&b.pk, "M s A", 1, "themes", 1000);
  for (int i = 0; i < 1000; i++) mpb_pack(&b.pk, "s", "Debt");
  assert_int_equal(hls_record_apply(&r, mpb_decode(&b, false), NULL, &why), HLS_ETOOBIG);
  mpb_free(&b);
  hls_record_clear(&r);
}

static void test_apply_themes_errors(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s i", 1, "themes", 3LL), HLS_EINVAL);
  assert_non_null(strstr(why.text, "themes"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A i", 1, "themes", 1, 3LL), HLS_EINVAL);
  assert_non_null(strstr(why.text, "themes"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A A", 1, "themes", 1, 0), HLS_EINVAL);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s", 1, "themes", 1, "hobby:Knitting"), HLS_EINVAL);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A s", 1, "themes", 1, "!!!"), HLS_EINVAL);
  /* Theme objects: name required, only name and kind, both strings. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s s", 1, "themes", 1, 1, "kind", "practice"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "name"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s s s s", 1, "themes", 1, 2, "name", "Debt", "colour", "red"),
                   HLS_EINVAL);
  assert_non_null(strstr(why.text, "name and kind"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s i", 1, "themes", 1, 1, "name", 7LL), HLS_EINVAL);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s s s s", 1, "themes", 1, 2, "name", "Debt", "kind", "worry"),
                   HLS_EINVAL);
  assert_non_null(strstr(why.text, "problem|aspiration|strength|practice"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s A M s s", 1, "themes", 1, 1, "name", "   "), HLS_EINVAL);
  assert_int_equal(r.n_themes, 0);
  hls_record_clear(&r);
}

/* --- apply: keys --------------------------------------------------------- */

static void test_apply_unknown_field_named(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "titel", "Typo"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "titel"));
  assert_null(r.title);
  /* Field names are exact. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "Title", "x"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "Title"));
  /* A long or odd key is cut and made printable in the message. */
  char key[200];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, key, "x"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "kkkk"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "caf\xc3\xa9\x1b", "x"), HLS_EINVAL);
  for (const char *p = why.text; *p; p++) assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
  hls_record_clear(&r);
}

static void test_apply_ignores_read_only_keys(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  r.id = 5;
  r.created_ms = 1000;
  r.updated_ms = 2000;
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s i s s s t s s", 4, "id", 99LL, "created_at", "2020-01-01T00:00:00Z",
                             "updated_at", "title", "kept"),
                   0);
  assert_true(r.id == 5);
  assert_true(r.created_ms == 1000);
  assert_true(r.updated_ms == 2000);
  assert_string_equal(r.title, "kept");
  hls_record_clear(&r);
}

static void test_apply_patch_semantics(void **state) {
  (void)state;
  struct hls_record r, before;
  fill_full(&r);
  fill_full(&before);
  struct hls_why why = {{0}};
  /* An empty map changes nothing. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M", 0), 0);
  assert_records_equal(&r, &before, true);
  /* One field changes only that field. */
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "happened", "Fewer came"), 0);
  assert_string_equal(r.happened, "Fewer came");
  free(before.happened);
  before.happened = strdup("Fewer came");
  assert_records_equal(&r, &before, true);
  /* Not a map. */
  struct mpb b;
  const struct hls_mp_value *arr = mpb_build(&b, "A s", 1, "title");
  assert_int_equal(hls_record_apply(&r, arr, NULL, &why), HLS_EINVAL);
  assert_int_equal(hls_record_apply(&r, NULL, NULL, &why), HLS_EINVAL);
  mpb_free(&b);
  hls_record_clear(&r);
  hls_record_clear(&before);
}

static void test_fields_table(void **state) {
  (void)state;
  /* Every listed field is accepted by hls_record_apply (with nil, or a
   * valid value where nil is not allowed). */
  size_t n = 0;
  for (; hls_record_fields[n] != NULL; n++) {
    struct hls_record r;
    hls_record_init(&r);
    const char *f = hls_record_fields[n];
    int rc;
    if (strcmp(f, "scale") == 0)
      rc = apply_fmt(&r, NULL, NULL, "M s s", 1, f, "person");
    else if (strcmp(f, "stage") == 0)
      rc = apply_fmt(&r, NULL, NULL, "M s s", 1, f, "embed");
    else
      rc = apply_fmt(&r, NULL, NULL, "M s n", 1, f);
    if (rc != 0) fail_msg("field %s refused: %s", f, hls_err_name(rc));
    hls_record_clear(&r);
  }
  assert_int_equal(n, 15);
}

/* --- validate ------------------------------------------------------------ */

static void test_validate(void **state) {
  (void)state;
  struct hls_record r;
  struct hls_why why = {{0}};
  hls_record_init(&r);
  assert_int_equal(hls_record_validate(&r, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "title"));
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "title", "T"), 0);
  assert_int_equal(hls_record_validate(&r, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "scale"));
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "scale", "country"), 0);
  assert_int_equal(hls_record_validate(&r, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "stage"));
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "stage", "reflect"), 0);
  assert_int_equal(hls_record_validate(&r, &why), 0);

  /* consent above private needs consent_by. */
  static const char *const levels[] = {"aggregate", "peers", "network"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s s n", 2, "consent", levels[i], "consent_by"), 0);
    assert_int_equal(hls_record_validate(&r, &why), HLS_EINVAL);
    assert_non_null(strstr(why.text, "consent_by"));
    assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "consent_by", "manager"), 0);
    assert_int_equal(hls_record_validate(&r, &why), 0);
  }
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s s n", 2, "consent", "private", "consent_by"), 0);
  assert_int_equal(hls_record_validate(&r, &why), 0);
  /* Clearing the title makes it invalid again. */
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "title", " "), 0);
  assert_int_equal(hls_record_validate(&r, &why), HLS_EINVAL);
  assert_non_null(strstr(why.text, "title"));
  hls_record_clear(&r);
}

/* --- pack ---------------------------------------------------------------- */

static void pack_and_reapply(const struct hls_record *src, bool full, struct hls_record *dst, struct mpb *b) {
  mpb_init(b);
  assert_int_equal(hls_record_pack(&b->pk, src, full), 0);
  const struct hls_mp_value *m = mpb_decode(b, false);
  assert_int_equal(m->type, HLS_MP_MAP);
  hls_record_init(dst);
  struct hls_why why = {{0}};
  int rc = hls_record_apply(dst, m, NULL, &why);
  if (rc != 0) fail_msg("re-apply: %s (%s)", hls_err_name(rc), why.text);
}

static void test_pack_round_trip_full(void **state) {
  (void)state;
  struct hls_record r, back;
  struct mpb b;
  fill_full(&r);
  r.id = 42;
  r.created_ms = 1795253400000;
  r.updated_ms = 1795253401000;
  pack_and_reapply(&r, true, &back, &b);
  assert_records_equal(&r, &back, true);
  const struct hls_mp_value *m = &b.tree.root;
  assert_int_equal(m->len, 20);
  assert_true(hls_mp_str_eq(hls_mp_get(m, "retain_until"), "2032-03-31"));
  assert_null(hls_mp_get(m, "retention")); /* not computed: not sent */
  assert_true(hls_mp_get(m, "consent_ended") != NULL && hls_mp_get(m, "consent_ended")->type == HLS_MP_NIL);
  int64_t id = 0;
  assert_int_equal(hls_mp_get_i64(m, "id", &id, NULL, NULL), 0);
  assert_true(id == 42);
  assert_true(hls_mp_str_eq(hls_mp_get(m, "created_at"), "2026-11-21T09:30:00Z"));
  assert_true(hls_mp_str_eq(hls_mp_get(m, "updated_at"), "2026-11-21T09:30:01Z"));
  assert_true(hls_mp_str_eq(hls_mp_get(m, "date"), "2026-03-04"));
  const struct hls_mp_value *themes = hls_mp_get(m, "themes");
  assert_non_null(themes);
  assert_int_equal(themes->type, HLS_MP_ARRAY);
  assert_int_equal(themes->len, 2);
  assert_true(hls_mp_str_eq(hls_mp_get(&themes->v.items[1], "name"), "community-cafe"));
  assert_true(hls_mp_str_eq(hls_mp_get(&themes->v.items[1], "kind"), "aspiration"));
  mpb_free(&b);
  hls_record_clear(&back);
  hls_record_clear(&r);
}

static void test_pack_round_trip_sparse(void **state) {
  (void)state;
  struct hls_record r, back;
  struct mpb b;
  hls_record_init(&r);
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s s s s s", 3, "title", "Only the basics", "scale", "person", "stage",
                             "purpose"),
                   0);
  pack_and_reapply(&r, true, &back, &b);
  assert_records_equal(&r, &back, true);
  assert_false(back.has_date);
  assert_null(back.context);
  assert_int_equal(back.n_themes, 0);
  /* Absent optional fields are sent as nil. */
  assert_int_equal(hls_mp_get(&b.tree.root, "date")->type, HLS_MP_NIL);
  assert_int_equal(hls_mp_get(&b.tree.root, "consent_by")->type, HLS_MP_NIL);
  assert_true(hls_mp_str_eq(hls_mp_get(&b.tree.root, "consent"), "private"));
  mpb_free(&b);
  hls_record_clear(&back);
  hls_record_clear(&r);
}

static void test_pack_summary_leaves_out_free_text(void **state) {
  (void)state;
  struct hls_record r, back;
  struct mpb b;
  fill_full(&r);
  pack_and_reapply(&r, false, &back, &b);
  const struct hls_mp_value *m = &b.tree.root;
  assert_int_equal(m->len, 16);
  assert_null(hls_mp_get(m, "context"));
  assert_null(hls_mp_get(m, "tried"));
  assert_null(hls_mp_get(m, "happened"));
  assert_null(hls_mp_get(m, "learnt"));
  assert_non_null(hls_mp_get(m, "title"));
  assert_records_equal(&r, &back, false);
  assert_null(back.context);
  mpb_free(&b);
  hls_record_clear(&back);
  hls_record_clear(&r);
}

/* --- retention ------------------------------------------------------------ */

/* A record's retention: its own retain_until first, else its date plus
 * its scale's period, else none; sent with where it comes from, and
 * ignored when sent back (hls record show --json is valid input). */
static void test_retention(void **state) {
  (void)state;
  struct hls_period rules[HLS_SCALE_COUNT] = {{0, HLS_PERIOD_KEEP}};
  assert_int_equal(hls_period_parse("6y", 2, &rules[HLS_SCALE_PLACE]), 0);
  struct hls_record r, back;
  struct mpb b;
  char d[11];
  fill_full(&r); /* a place, dated 2026-03-04, retain_until 2032-03-31 */
  hls_record_retention(&r, rules);
  assert_int_equal(r.retention_from, HLS_RETENTION_RECORD);
  hls_date_format(r.retention, d);
  assert_string_equal(d, "2032-03-31");
  pack_and_reapply(&r, true, &back, &b);
  assert_int_equal(b.tree.root.len, 22);
  assert_true(hls_mp_str_eq(hls_mp_get(&b.tree.root, "retention"), "2032-03-31"));
  assert_true(hls_mp_str_eq(hls_mp_get(&b.tree.root, "retention_from"), "record"));
  assert_int_equal(back.retention_from, HLS_RETENTION_UNKNOWN); /* read-only: not taken back */
  mpb_free(&b);
  hls_record_clear(&back);

  /* "none" clears it (as nil and "" do): the scale's rule applies. */
  assert_int_equal(apply_fmt(&r, NULL, NULL, "M s s", 1, "retain_until", "none"), 0);
  assert_false(r.has_retain_until);
  hls_record_retention(&r, rules);
  assert_int_equal(r.retention_from, HLS_RETENTION_RULE);
  hls_date_format(r.retention, d);
  assert_string_equal(d, "2032-03-04");

  /* keep for its scale, and no date of its own: none, sent as nil. */
  r.scale = HLS_SCALE_PERSON;
  hls_record_retention(&r, rules);
  assert_int_equal(r.retention_from, HLS_RETENTION_KEEP);
  pack_and_reapply(&r, false, &back, &b);
  assert_int_equal(hls_mp_get(&b.tree.root, "retention")->type, HLS_MP_NIL);
  assert_true(hls_mp_str_eq(hls_mp_get(&b.tree.root, "retention_from"), "none"));
  mpb_free(&b);
  hls_record_clear(&back);

  /* A bad date is named. */
  struct hls_why why = {{0}};
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "retain_until", "2032-02-30"), HLS_EINVAL);
  assert_non_null(strstr(why.text, "retain_until: 2032-02-30 is not a day of the calendar"));
  assert_int_equal(apply_fmt(&r, NULL, &why, "M s s", 1, "retain_until", "never"), HLS_EINVAL);
  hls_record_clear(&r);
}

static void test_clear_resets(void **state) {
  (void)state;
  struct hls_record r;
  fill_full(&r);
  hls_record_clear(&r);
  assert_null(r.title);
  assert_null(r.context);
  assert_null(r.consent_by);
  assert_false(r.has_scale);
  assert_int_equal(r.n_themes, 0);
  assert_int_equal(r.consent, HLS_CONSENT_PRIVATE);
  hls_record_clear(&r); /* twice is fine */
}


/* The fingerprint covers content (title, scale, stage, date, texts,
 * author role, themes and kinds), not consent, ids or times, and not the
 * order themes were given in. */
static void test_fingerprint(void **state) {
  (void)state;
  struct hls_record a, b;
  uint8_t fa[HLS_RECORD_FINGERPRINT_BYTES], fb[HLS_RECORD_FINGERPRINT_BYTES];
  fill_full(&a);
  hls_record_fingerprint(&a, fa);
  fill_full(&b);
  b.id = 99;
  b.created_ms = b.updated_ms = 12345;
  b.consent = HLS_CONSENT_PRIVATE;
  free(b.consent_by);
  b.consent_by = NULL;
  struct hls_theme t = b.themes[0];
  b.themes[0] = b.themes[1];
  b.themes[1] = t;
  hls_record_fingerprint(&b, fb);
  assert_memory_equal(fa, fb, sizeof fa);
  hls_record_clear(&b);

  /* Each content field changes it. */
  for (int field = 0; field < 11; field++) {
    fill_full(&b);
    char **text[] = {&b.title, &b.context, &b.tried, &b.happened, &b.learnt, &b.author_role};
    if (field < 6) {
      free(*text[field]);
      *text[field] = field == 0 ? strdup("Community cafe pilot.") : NULL; /* absent differs from present */
    } else if (field == 6) {
      b.scale = HLS_SCALE_PERSON;
    } else if (field == 7) {
      b.stage = HLS_STAGE_EMBED;
    } else if (field == 8) {
      b.date += 1;
    } else if (field == 9) {
      b.themes[1].kind = HLS_KIND_PRACTICE;
    } else {
      b.n_themes = 1;
    }
    hls_record_fingerprint(&b, fb);
    if (memcmp(fa, fb, sizeof fa) == 0) fail_msg("changing field %d left the fingerprint", field);
    hls_record_clear(&b);
  }
  /* Text moved from one field to the next is another record. */
  fill_full(&b);
  free(b.tried);
  free(b.happened);
  b.tried = strdup("People came");
  b.happened = strdup("\tA weekly cafe");
  hls_record_fingerprint(&b, fb);
  assert_memory_not_equal(fa, fb, sizeof fa);
  hls_record_clear(&b);
  hls_record_clear(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_enum_names_round_trip),
      cmocka_unit_test(test_enum_parse_any_case),
    cmocka_unit_test(test_enum_parse_errors_list_allowed_values),
      cmocka_unit_test(test_theme_parse),
      cmocka_unit_test(test_theme_parse_errors),
      cmocka_unit_test(test_apply_title_trims_and_checks),
      cmocka_unit_test(test_apply_enums),
      cmocka_unit_test(test_apply_dates),
      cmocka_unit_test(test_apply_free_text_fields),
      cmocka_unit_test(test_apply_single_line_optional_fields),
      cmocka_unit_test(test_apply_max_text_bytes),
      cmocka_unit_test(test_apply_themes_forms),
      cmocka_unit_test(test_apply_themes_dedup_and_conflict),
      cmocka_unit_test(test_apply_themes_count_limit),
      cmocka_unit_test(test_apply_themes_errors),
      cmocka_unit_test(test_apply_unknown_field_named),
      cmocka_unit_test(test_apply_ignores_read_only_keys),
      cmocka_unit_test(test_apply_patch_semantics),
      cmocka_unit_test(test_fields_table),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_retention),
      cmocka_unit_test(test_pack_round_trip_full),
      cmocka_unit_test(test_pack_round_trip_sparse),
      cmocka_unit_test(test_pack_summary_leaves_out_free_text),
      cmocka_unit_test(test_clear_resets),
      cmocka_unit_test(test_fingerprint),
  };
  return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
