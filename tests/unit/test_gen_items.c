/* Smoke test of tests/gen/hls_gen_items (path from argv[1], else the
 * HLS_GEN_ITEMS compile definition): a small run writes one file per place
 * whose envelopes all decode, verify and link into a chain starting with
 * the place's profile; the manifest names every place and plant; the same
 * seed writes the same bytes; bad arguments fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "envelope.h"
#include "patterns.h"
#include "test_util.h"

#ifndef HLS_GEN_ITEMS
#define HLS_GEN_ITEMS "hls_gen_items"
#endif

extern char **environ;
static const char *tool = HLS_GEN_ITEMS;

#define PLACES 6

/* Run the tool with args (NULL-terminated after argv[0]); its exit status. */
static int run(const char *const *args) {
  char *argv[32];
  size_t n = 0;
  argv[n++] = strdup(tool);
  for (; args[n - 1] != NULL && n < 31; n++) argv[n] = strdup(args[n - 1]);
  argv[n] = NULL;
  for (size_t i = 0; i < n; i++) assert_non_null(argv[i]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, tool, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  for (size_t i = 0; i < n; i++) free(argv[i]);
  if (rc != 0) fail_msg("cannot run %s", tool);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  uint8_t *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Check one place's chain file against its manifest entry. */
static void check_chain(const char *dir, const json_t *place) {
  const char *origin = json_string_value(json_object_get(place, "origin"));
  const char *name = json_string_value(json_object_get(place, "name"));
  const char *region = json_string_value(json_object_get(place, "region"));
  json_int_t items = json_integer_value(json_object_get(place, "items"));
  assert_non_null(origin);
  assert_non_null(name);
  assert_non_null(region);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.items", dir, origin);
  size_t len;
  uint8_t *buf = read_all(path, &len);
  uint8_t pk[HLS_KEY_BYTES];
  assert_int_equal(sodium_hex2bin(pk, sizeof pk, origin, strlen(origin), NULL, NULL, NULL), 0);
  struct hls_envelope prev, env;
  size_t off = 0;
  uint64_t n = 0, digests = 0, last_ts = 0;
  while (off < len) {
    struct hls_mp_reader r;
    hls_mp_reader_init(&r, buf + off, len - off, true);
    assert_int_equal(hls_mp_skip(&r), 0);
    size_t one = (size_t)(r.pos - (buf + off));
    struct hls_why why = {{0}};
    if (hls_env_decode(&env, buf + off, one, &why) != 0) fail_msg("%s item %llu: %s", origin, (unsigned long long)n + 1, why.text);
    assert_int_equal(hls_env_verify(&env), 0);
    assert_memory_equal(env.h.origin, pk, HLS_KEY_BYTES);
    assert_int_equal(env.h.seq, n + 1);
    assert_int_equal(env.h.audience, HLS_AUD_NETWORK);
    assert_non_null(env.body);
    assert_true(env.h.timestamp_ms >= last_ts);
    last_ts = env.h.timestamp_ms;
    if (n == 0) {
      assert_int_equal(env.h.type, HLS_ENV_PROFILE);
      struct hls_profile prof;
      assert_int_equal(hls_profile_decode(&prof, env.body, env.body_len, NULL), 0);
      assert_string_equal(prof.place, name);
      assert_string_equal(prof.region, region);
      assert_int_equal(prof.role, HLS_PROFILE_PLACE);
    } else {
      assert_int_equal(hls_env_check_link(&prev, &env), 0);
      if (env.h.type == HLS_ENV_DIGEST) {
        struct hls_digest d;
        assert_int_equal(hls_digest_decode(&d, env.body, env.body_len, NULL), 0);
        assert_true(d.n_cells > 0);
        hls_digest_free(&d);
        digests++;
      } else {
        assert_int_equal(env.h.type, HLS_ENV_STORY);
        struct hls_story s;
        assert_int_equal(hls_story_decode(&s, env.body, env.body_len, NULL), 0);
        assert_true(s.n_themes > 0);
        hls_story_free(&s);
      }
    }
    prev = env; /* its views point into buf, which outlives the loop */
    off += one;
    n++;
  }
  assert_int_equal(n, items);
  assert_true(digests >= 20); /* nearly every week of 30 has records */
  free(buf);
}

static void generate(const char *dir) {
  const char *args[] = {"--seed", "5", "--places", "6", "--weeks", "30", "--themes", "20", "--first-week", "2023-W48",
                        "--out", dir, NULL};
  assert_int_equal(run(args), 0);
}

static void test_chains_decode_verify_and_link(void **state) {
  (void)state;
  char base[] = "/tmp/hls-test-gen-items-XXXXXX";
  assert_non_null(mkdtemp(base));
  char a[256], b[256], mpath[300];
  snprintf(a, sizeof a, "%s/a", base);
  snprintf(b, sizeof b, "%s/b", base);
  generate(a);
  generate(b);

  snprintf(mpath, sizeof mpath, "%s/manifest.json", a);
  json_error_t jerr;
  json_t *m = json_load_file(mpath, 0, &jerr);
  if (m == NULL) fail_msg("manifest: %s", jerr.text);
  json_t *places = json_object_get(m, "places");
  assert_true(json_is_array(places));
  assert_int_equal(json_array_size(places), PLACES);
  for (size_t i = 0; i < json_array_size(places); i++) check_chain(a, json_array_get(places, i));

  /* One file per place and the manifest, nothing else. */
  size_t files = 0;
  DIR *d = opendir(a);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    files++;
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
    snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
    size_t la, lb;
    uint8_t *ba = read_all(pa, &la), *bb = read_all(pb, &lb);
    assert_int_equal(la, lb); /* same seed, same bytes */
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
  }
  closedir(d);
  assert_int_equal(files, PLACES + 1);

  /* Every signal is planted (30 weeks leave room for rising), on places
   * of the run, with its weeks and cells. */
  json_t *plants = json_object_get(m, "plants");
  assert_int_equal(json_array_size(plants), HLS_PAT_SIGNAL_COUNT);
  for (size_t i = 0; i < json_array_size(plants); i++) {
    json_t *p = json_array_get(plants, i);
    int signal;
    assert_int_equal(hls_pat_signal_parse(json_string_value(json_object_get(p, "signal")), &signal), 0);
    json_t *themes = json_object_get(p, "themes");
    assert_int_equal(json_array_size(themes), signal == HLS_PAT_TOGETHER ? 2 : 1);
    assert_non_null(strchr(json_string_value(json_array_get(themes, 0)), ':'));
    json_t *ps = json_object_get(p, "places");
    assert_true(json_array_size(ps) >= 2);
    for (size_t k = 0; k < json_array_size(ps); k++)
      assert_true(json_integer_value(json_object_get(json_array_get(ps, k), "index")) < PLACES);
    assert_true(json_array_size(json_object_get(p, "cells")) >= 1);
    const char *from = json_string_value(json_object_get(p, "week_from"));
    assert_non_null(from);
    assert_int_equal(strlen(from), 8);
  }
  json_decref(m);
  test_remove_tree(base);
}

static void test_bad_arguments_fail(void **state) {
  (void)state;
  const char *help[] = {"--help", NULL};
  assert_int_equal(run(help), 0);
  const char *no_out[] = {"--places", "3", NULL};
  assert_int_equal(run(no_out), 2);
  const char *unknown[] = {"--bogus", "--out", "/tmp/x", NULL};
  assert_int_equal(run(unknown), 2);
  const char *zero[] = {"--places", "0", "--out", "/tmp/x", NULL};
  assert_int_equal(run(zero), 2);
  const char *week[] = {"--first-week", "2021-W53", "--out", "/tmp/x", NULL}; /* 2021 has 52 weeks */
  assert_int_equal(run(week), 2);
}

int main(int argc, char **argv) {
  if (argc > 1) tool = argv[1];
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chains_decode_verify_and_link),
      cmocka_unit_test(test_bad_arguments_fail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
