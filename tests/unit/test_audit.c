/* The audit log (daemon/audit.c): entries chain by hash; the store
 * refuses to update or delete them; verify finds an entry rewritten, or
 * one removed, once the triggers are dropped (someone with the file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "store_fixture.h"


/* n entries more; the seq goes on from the last. */
static void add_entries(struct store_fixture *fx, int n) {
  struct hls_why why = {{0}};
  int64_t first = 0;
  for (int i = 0; i < n; i++) {
    char about[32];
    snprintf(about, sizeof about, "id=%d", i + 1);
    struct hls_audit_entry e = {.at_ms = 1000 + i,
                                .who = i % 2 ? "web:lee" : "ana",
                                .action = i % 3 ? "record.edit" : "record.add",
                                .record_id = i + 1,
                                .about = about,
                                .before = i % 3 ? "{\"stage\":\"experiment\"}" : NULL,
                                .after = "{\"stage\":\"reflect\"}",
                                .result = "ok"};
    ASSERT_OK(hls_audit_append(fx->db, &e, &why));
    if (i == 0) first = e.seq;
    assert_int_equal(e.seq, first + i);
  }
}

struct seen {
  int n;
  int64_t seqs[16];
};
static int collect(void *ctx, const struct hls_audit_entry *e) {
  struct seen *s = ctx;
  if (s->n < 16) s->seqs[s->n] = e->seq;
  s->n++;
  return 0;
}

static void test_chain_and_filters(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  int64_t entries, bad;
  uint8_t head[HLS_AUDIT_HASH_BYTES], zero[HLS_AUDIT_HASH_BYTES] = {0};
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(entries, 0);
  assert_memory_equal(head, zero, sizeof head);
  add_entries(fx, 9);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(entries, 9);
  assert_int_equal(bad, 0);
  /* The head is the last entry's hash, and a new entry moves it. */
  uint8_t head2[HLS_AUDIT_HASH_BYTES];
  add_entries(fx, 1);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head2, &why));
  assert_int_equal(entries, 10);
  assert_memory_not_equal(head, head2, sizeof head);
  /* Filters: who, record, since; limit keeps the newest, oldest first. */
  struct seen s = {0};
  struct hls_audit_filter f = {.who = "web:lee"};
  ASSERT_OK(hls_audit_list(fx->db, &f, collect, &s, &why));
  assert_int_equal(s.n, 4); /* entries 2, 4, 6, 8 */
  memset(&s, 0, sizeof s);
  f = (struct hls_audit_filter){.record_id = 5};
  ASSERT_OK(hls_audit_list(fx->db, &f, collect, &s, &why));
  assert_int_equal(s.n, 1);
  assert_int_equal(s.seqs[0], 5);
  memset(&s, 0, sizeof s);
  f = (struct hls_audit_filter){.since_ms = 1006, .limit = 2};
  ASSERT_OK(hls_audit_list(fx->db, &f, collect, &s, &why));
  /* at >= 1006: seqs 7, 8, 9 (the 10th was written at 1000) */
  assert_int_equal(s.n, 2);
  assert_int_equal(s.seqs[0], 8);
  assert_int_equal(s.seqs[1], 9);
}

static void test_append_only_and_tampering(void **state) {
  struct store_fixture *fx = *state;
  struct hls_why why = {{0}};
  int64_t entries, bad;
  uint8_t head[HLS_AUDIT_HASH_BYTES];
  add_entries(fx, 6);
  /* The store refuses to change or remove an entry. */
  assert_int_not_equal(sqlite3_exec(fx->db, "UPDATE audit SET who = 'nobody' WHERE seq = 3", NULL, NULL, NULL),
                       SQLITE_OK);
  assert_int_not_equal(sqlite3_exec(fx->db, "DELETE FROM audit WHERE seq = 3", NULL, NULL, NULL), SQLITE_OK);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(bad, 0);
  /* Someone with the file drops the triggers and rewrites entry 3. */
  assert_int_equal(sqlite3_exec(fx->db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
                                        "UPDATE audit SET who = 'nobody' WHERE seq = 3",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(entries, 6);
  assert_int_equal(bad, 3);
  /* Put it back: whole again. Then remove entry 4: found at the gap. */
  assert_int_equal(sqlite3_exec(fx->db, "UPDATE audit SET who = 'ana' WHERE seq = 3", NULL, NULL, NULL),
                   SQLITE_OK);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(bad, 0);
  assert_int_equal(sqlite3_exec(fx->db, "DELETE FROM audit WHERE seq = 4", NULL, NULL, NULL), SQLITE_OK);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(entries, 5);
  assert_int_equal(bad, 5);
  /* A rewritten after (a field's value) is found too. */
  assert_int_equal(sqlite3_exec(fx->db, "UPDATE audit SET after = '{\"stage\":\"embed\"}' WHERE seq = 2", NULL, NULL,
                                NULL),
                   SQLITE_OK);
  ASSERT_OK(hls_audit_verify(fx->db, &entries, &bad, head, &why));
  assert_int_equal(bad, 2);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_chain_and_filters, store_fixture_setup, store_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_append_only_and_tampering, store_fixture_setup, store_fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
