/* Unit tests for protocol/methods.c: the method table is well formed, and
 * the argument check refuses what each schema forbids, naming the key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "mp_build.h"

static const struct hls_method *method(const char *name) {
  const struct hls_method *m = hls_method_find(name, strlen(name));
  assert_non_null(m);
  return m;
}

/* mp_build's format with the counts of maps and arrays written inline
 * ("M2 s i s n": a map of 2), which reads better in a table of cases. */
static void pack_inline(msgpack_packer *pk, const char *fmt, va_list ap) {
  for (const char *f = fmt; *f; f++) {
    switch (*f) {
      case ' ': break;
      case 'M':
      case 'A': {
        char *end;
        unsigned long n = strtoul(f + 1, &end, 10);
        assert_true(end > f + 1);
        assert_int_equal(*f == 'M' ? msgpack_pack_map(pk, n) : msgpack_pack_array(pk, n), 0);
        f = end - 1;
        break;
      }
      default: {
        char one[2] = {*f, '\0'};
        /* one value of mp_build's letters; its arguments come from ap */
        va_list copy;
        va_copy(copy, ap);
        mpb_vpack(pk, one, copy);
        va_end(copy);
        switch (*f) { /* consume what mpb_vpack read from the copy */
          case 's': (void)va_arg(ap, const char *); break;
          case 'i': (void)va_arg(ap, long long); break;
          case 'u': (void)va_arg(ap, unsigned long long); break;
          case 'b':
          case 'S': (void)va_arg(ap, const char *), (void)va_arg(ap, size_t); break;
          default: break;
        }
      }
    }
  }
}

/* Check args built from fmt against method name: the code, and (when
 * want is not NULL) a message that starts with want. */
static void expect(const char *name, int code, const char *want, const char *fmt, ...) {
  struct mpb b;
  mpb_init(&b);
  va_list ap;
  va_start(ap, fmt);
  pack_inline(&b.pk, fmt, ap);
  va_end(ap);
  const struct hls_mp_value *args = mpb_decode(&b, false);
  struct hls_why why = {{0}};
  int rc = hls_method_check_args(method(name), args, &why);
  if (rc != code || (want != NULL && strncmp(why.text, want, strlen(want)) != 0)) {
    print_error("%s %s: got %d '%s', want %d '%s'\n", name, fmt, rc, why.text, code, want ? want : "");
    fail();
  }
  mpb_free(&b);
}

static bool has_word(const char *values, const char *word) {
  size_t n = strlen(word);
  for (const char *p = values; p != NULL; p = strchr(p, '|'), p = p ? p + 1 : NULL)
    if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0')) return true;
  return false;
}

static void table_is_well_formed(void **state) {
  (void)state;
  for (size_t i = 0; i < HLS_M__COUNT; i++) {
    const struct hls_method *m = &hls_methods[i];
    assert_int_equal(m->id, i);
    assert_ptr_equal(hls_method_find(m->name, strlen(m->name)), m);
    assert_non_null(m->cli);
    assert_true(m->summary != NULL && m->summary[0] != '\0');
    assert_true(m->role >= HLS_USER_VIEWER && m->role <= HLS_USER_ADMIN);
    if (m->flags & HLS_MF_TEST) assert_true(m->flags & HLS_MF_LOCAL);
    for (size_t j = 0; j < i; j++) assert_string_not_equal(hls_methods[j].name, m->name);
    assert_true(m->n_args <= HLS_METHOD_MAX_ARGS);
    for (size_t k = 0; k < m->n_args; k++) {
      const struct hls_method_arg *a = &m->args[k];
      assert_ptr_equal(hls_method_arg(m, a->key), a); /* keys are unique */
      assert_true(a->help != NULL && a->help[0] != '\0');
      bool enumerated = a->type == HLS_ARG_ENUM || a->type == HLS_ARG_ENUMS;
      assert_int_equal(a->values != NULL, enumerated);
      if (a->type == HLS_ARG_STR || a->type == HLS_ARG_NAME || a->type == HLS_ARG_INT || a->type == HLS_ARG_NUM ||
          a->type == HLS_ARG_STRS ||
          a->type == HLS_ARG_MAPS || a->type == HLS_ARG_IDS || a->type == HLS_ARG_BINS)
        assert_true(a->min <= a->max);
      if (a->flags & HLS_AF_POS) assert_true(a->metavar != NULL && a->metavar[0] != '\0');
      if (a->metavar != NULL && a->metavar[0] == '\0') assert_int_equal(a->type, HLS_ARG_BOOL);
    }
  }
  assert_null(hls_method_find("record", 6));
  assert_null(hls_method_find("record.add.x", 12));
  assert_non_null(hls_method_find("record.addX", 10)); /* by length */
  assert_true(has_word(hls_method_arg(method("items"), "type")->values, "tombstone"));
}

static void user_roles(void **state) {
  (void)state;
  enum hls_user_role r;
  struct hls_why why = {{0}};
  assert_int_equal(hls_user_role_parse("lead", 4, &r, &why), 0);
  assert_int_equal(r, HLS_USER_LEAD);
  assert_string_equal(hls_user_role_name(HLS_USER_PRACTITIONER), "practitioner");
  assert_int_equal(hls_user_role_parse("leader", 6, &r, &why), HLS_EINVAL);
  /* Reads are for viewers, records for practitioners, consent for leads, peers for admins. */
  assert_int_equal(method("patterns")->role, HLS_USER_VIEWER);
  assert_int_equal(method("record.add")->role, HLS_USER_PRACTITIONER);
  assert_int_equal(method("share.approve")->role, HLS_USER_LEAD);
  assert_int_equal(method("peer.add")->role, HLS_USER_ADMIN);
}

static void none_and_unknown_keys(void **state) {
  (void)state;
  struct hls_why why = {{0}};
  assert_int_equal(hls_method_check_args(method("status"), NULL, &why), 0);
  expect("status", 0, NULL, "n");
  expect("status", 0, NULL, "M0");
  expect("status", HLS_EINVAL, "x: status takes no arguments", "M1 s i", "x", 1LL);
  expect("status", HLS_EINVAL, "args: expected a map", "A0");
  expect("record.list", HLS_EINVAL, "limt: not an argument of record.list (it takes theme, scale,", "M1 s i",
         "limt", 5LL);
  expect("record.list", 0, NULL, "M2 s n s n", "theme", "limit"); /* nil is absent */
}

static void required(void **state) {
  (void)state;
  expect("record.show", HLS_EINVAL, "id: required", "M0");
  expect("record.show", HLS_EINVAL, "id: required", "M1 s n", "id");
  expect("record.show", HLS_EINVAL, "id: required", "n");
  expect("record.show", 0, NULL, "M1 s i", "id", 7LL);
  expect("record.edit", HLS_EINVAL, "set: required", "M1 s i", "id", 7LL);
  expect("record.edit", HLS_EINVAL, "set: expected a map", "M2 s i s s", "id", 7LL, "set", "x");
  expect("record.edit", 0, NULL, "M2 s i s M0", "id", 7LL, "set");
}

static void integers(void **state) {
  (void)state;
  expect("record.show", HLS_EINVAL, "id: expected an integer", "M1 s s", "id", "7");
  expect("record.show", HLS_EINVAL, "id: must be 1 or more", "M1 s i", "id", 0LL);
  expect("record.show", HLS_EINVAL, "id: must be 1 or more", "M1 s i", "id", -3LL);
  expect("record.show", HLS_EINVAL, "id: must be 1 or more", "M1 s u", "id", 18446744073709551615ULL);
  expect("record.show", 0, NULL, "M1 s u", "id", 9223372036854775807ULL);
  expect("patterns.summary", HLS_EINVAL, "top: must be 0 to 50", "M1 s i", "top", 51LL);
  expect("patterns.summary", 0, NULL, "M1 s i", "top", 50LL);
  expect("record.list", HLS_EINVAL, "limit: must be 0 or more", "M1 s i", "limit", -1LL);
  expect("record.list", HLS_EINVAL, "full: expected true or false", "M1 s i", "full", 1LL);
}

static void numbers(void **state) {
  (void)state;
  struct mpb b;
  const struct hls_method *m = method("patterns");
  double values[] = {2.5, -0.5, NAN, 3.0};
  int want[] = {0, HLS_EINVAL, HLS_EINVAL, 0};
  for (size_t i = 0; i < 4; i++) {
    mpb_init(&b);
    msgpack_pack_map(&b.pk, 1);
    hls_mp_pack_cstr(&b.pk, "min_strength");
    if (i == 3) msgpack_pack_int64(&b.pk, 3);
    else msgpack_pack_double(&b.pk, values[i]);
    struct hls_why why = {{0}};
    assert_int_equal(hls_method_check_args(m, mpb_decode(&b, false), &why), want[i]);
    mpb_free(&b);
  }
  expect("patterns", HLS_EINVAL, "min_strength: expected a number", "M1 s s", "min_strength", "2");
}

static void strings_dates_and_ids(void **state) {
  (void)state;
  char long_path[5000];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[sizeof long_path - 1] = '\0';
  expect("backup", HLS_ETOOBIG, "path: 4999 bytes, at most 4096 allowed", "M1 s s", "path", long_path);
  expect("backup", HLS_EINVAL, "path: empty", "M1 s s", "path", "");
  expect("backup", HLS_EINVAL, "path: expected a string", "M1 s i", "path", 1LL);
  expect("record.list", HLS_EINVAL, "since: 2026-13-01 is not a day of the calendar", "M1 s s", "since", "2026-13-01");
  expect("record.list", HLS_EINVAL, "since: expected a date YYYY-MM-DD", "M1 s s", "since", "13/01/2026");
  expect("record.list", HLS_EINVAL, "since: years 1900 to 9999 only", "M1 s s", "since", "0999-01-01");
  expect("record.list", 0, NULL, "M1 s s", "since", "2026-12-04");
  expect("peer.remove", HLS_EINVAL, "node_id: expected @<44 characters of base64>.ed25519", "M1 s s", "node_id",
         "@abc.ed25519");
  expect("peer.remove", 0, NULL, "M1 s s", "node_id", "@hOm+rzsgFcmtDDc0t6dNFvFdJHgleir4LiIm0Ykt1lo=.ed25519");
}

static void names(void **state) {
  (void)state;
  expect("feed.unsubscribe", 0, NULL, "M1 s s", "name", "weekly-housing_2.0");
  expect("feed.unsubscribe", HLS_EINVAL, "name: use letters, digits", "M1 s s", "name", "bad/name");
  expect("feed.unsubscribe", HLS_EINVAL, "name: use letters, digits", "M1 s s", "name", "caf\xc3\xa9");
  expect("feed.unsubscribe", HLS_EINVAL, "name: 1 to 64 characters", "M1 s s", "name", "");
  expect("feed.unsubscribe", 0, NULL, "M1 s s", "name", "0123456789012345678901234567890123456789012345678901234567890123");
  expect("feed.unsubscribe", HLS_EINVAL, "name: 1 to 64 characters", "M1 s s", "name",
         "01234567890123456789012345678901234567890123456789012345678901234");
}

static void enumerations(void **state) {
  (void)state;
  expect("record.list", HLS_EINVAL, "scale: expected person|organisation|place|country", "M1 s s", "scale", "town");
  expect("record.list", 0, NULL, "M1 s s", "scale", "place");
  expect("record.list", HLS_EINVAL, "scale: expected person|", "M1 s s", "scale", "plac");     /* a prefix */
  expect("record.list", HLS_EINVAL, "scale: expected person|", "M1 s s", "scale", "placex");   /* longer */
  expect("patterns", 0, NULL, "M1 s s", "signal", "cross-scale");
  expect("patterns", 0, NULL, "M1 s A2 s s", "signal", "spread", "rising");
  expect("patterns", HLS_EINVAL, "signal: \"trend\" is not one of spread, emerging, rising, together, cross-scale",
         "M1 s A2 s s", "signal", "spread", "trend");
  expect("patterns", HLS_EINVAL, "signal: expected a string", "M1 s A1 i", "signal", 1LL);
  expect("patterns", HLS_EINVAL, "region: must be 1 to", "M1 s s", "region", "");
  expect("patterns", HLS_EINVAL, "place: at most 16 values", "M1 s A17 s s s s s s s s s s s s s s s s s", "place",
         "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q");
}

static void lists(void **state) {
  (void)state;
  expect("record.delete", 0, NULL, "M1 s A2 i i", "ids", 1LL, 2LL);
  expect("record.delete", HLS_EINVAL, "ids: empty", "M1 s A0", "ids");
  expect("record.delete", HLS_EINVAL, "ids: item 1 is not a positive integer", "M1 s A2 i i", "ids", 1LL, 0LL);
  expect("record.delete", HLS_EINVAL, "ids: expected a list", "M1 s i", "ids", 1LL);
  expect("items.import", HLS_EINVAL, "envelopes: item 0 is not bytes", "M1 s A1 s", "envelopes", "x");
  expect("items.import", 0, NULL, "M1 s A1 b", "envelopes", "x", (size_t)1);
  expect("import.rows", HLS_EINVAL, "rows: item 0 is not a map", "M1 s A1 i", "rows", 1LL);
  expect("import.rows", 0, NULL, "M1 s A0", "rows"); /* an empty batch is the handler's to judge */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(table_is_well_formed), cmocka_unit_test(user_roles), cmocka_unit_test(none_and_unknown_keys),
      cmocka_unit_test(required),             cmocka_unit_test(integers),   cmocka_unit_test(numbers),
      cmocka_unit_test(strings_dates_and_ids), cmocka_unit_test(names), cmocka_unit_test(enumerations), cmocka_unit_test(lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
