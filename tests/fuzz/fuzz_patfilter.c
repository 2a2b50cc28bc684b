/* The pattern filters (daemon/patfilter.c), fed what a control client, the
 * web app or a feed's stored map may give: the args of patterns,
 * feed.subscribe and patterns.summary, as one msgpack map.
 *
 * hls_patfilter_parse either takes the args or says why not; taken, the
 * keys a feed stores (hls_patfilter_pack_args) parse again, from the
 * store's bytes, into the same filter, and it judges a few rows as before.
 * hls_patfilter_arg_week reads "week" (the weekly read's) and "since"
 * either to a week or with a reason. */
#include <math.h>
#include <msgpack.h>
#include <string.h>

#include "fuzz.h"
#include "mp.h"
#include "patfilter.h"

static const uint8_t ORIGINS[3 * HLS_KEY_BYTES] = {1, [HLS_KEY_BYTES] = 2, [2 * HLS_KEY_BYTES] = 3};

/* What the filter says of rows of every signal, ended or not, with its
 * places vouched or not. */
static uint64_t verdicts(struct hls_patfilter *f) {
  uint64_t out = 0;
  unsigned bit = 0; /* 2 bits a row: 20 rows */
  struct hls_pat_params params;
  hls_pat_params_default(&params);
  for (int signal = 0; signal < HLS_PAT_SIGNAL_COUNT; signal++)
    for (int live = 0; live < 2; live++)
      for (size_t vouched = 0; vouched <= 3; vouched += 3) {
        hls_patfilter_set_vouched(f, ORIGINS, vouched, &params);
        struct hls_patrow r = {.signal = signal, .kind = signal % HLS_KIND_COUNT, .kind2 = 1,
                               .theme = "housing", .theme2 = signal == HLS_PAT_TOGETHER ? "damp" : NULL,
                               .week_from = 2800, .week_to = 2810, .n_places = 3, .scales = 3,
                               .regions = "North\nSouth\n", .strength = 11.388, .live = live != 0,
                               .region = signal == HLS_PAT_RISING ? "North" : "",
                               .places = "Place 02\nPlace 03\nPlace 05\n", .summary = "\x80", .summary_len = 1,
                               .origins = ORIGINS, .n_origins = 3};
        out |= (uint64_t)hls_patfilter_judge(f, &r) << (2 * bit++);
      }
  return out;
}

static void weeks(const struct hls_mp_value *args) {
  static const char *const keys[] = {"week", "since"};
  for (size_t i = 0; i < 2; i++) {
    struct hls_why why = {{0}};
    bool has = false;
    int32_t week = 0;
    if (hls_patfilter_arg_week(args, keys[i], &has, &week, &why) != 0) FUZZ_CHECK(why.text[0] != '\0');
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024) return 0;
  struct hls_mp_tree tree;
  struct hls_why why = {{0}};
  if (hls_mp_tree_decode(&tree, data, size, false, 4096, &why) != 0) return 0;
  weeks(&tree.root);
  struct hls_patfilter f;
  memset(&why, 0, sizeof why);
  if (hls_patfilter_parse(&tree.root, &f, &why) != 0) {
    FUZZ_CHECK(why.text[0] != '\0');
    hls_mp_tree_free(&tree);
    return 0;
  }
  /* What a feed stores, read back later: the same filter. */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  FUZZ_CHECK(hls_patfilter_pack_args(&pk, &tree.root) == 0);
  struct hls_mp_tree stored;
  FUZZ_CHECK(hls_mp_tree_decode(&stored, sb.data, sb.size, false, 4096 + 16, &why) == 0);
  struct hls_patfilter g;
  FUZZ_CHECK(hls_patfilter_parse(&stored.root, &g, &why) == 0);
  FUZZ_CHECK(f.signals == g.signals && f.kinds == g.kinds && f.scales == g.scales);
  FUZZ_CHECK(f.n_themes == g.n_themes && f.n_regions == g.n_regions && f.n_places == g.n_places);
  FUZZ_CHECK(memcmp(f.themes, g.themes, sizeof f.themes) == 0);
  FUZZ_CHECK(memcmp(f.theme_kinds, g.theme_kinds, sizeof f.theme_kinds) == 0);
  FUZZ_CHECK(f.min_places == g.min_places && f.vouched == g.vouched);
  FUZZ_CHECK(f.min_strength == g.min_strength || (isnan(f.min_strength) && isnan(g.min_strength)));
  FUZZ_CHECK(f.has_since == g.has_since && f.has_until == g.has_until);
  FUZZ_CHECK((!f.has_since || f.since == g.since) && (!f.has_until || f.until == g.until));
  f.include_ended = g.include_ended = true;
  FUZZ_CHECK(verdicts(&f) == verdicts(&g));
  hls_mp_tree_free(&stored);
  msgpack_sbuffer_destroy(&sb);
  hls_mp_tree_free(&tree);
  return 0;
}
