/* Filters: what hls patterns and a feed select (docs/control.md), from a
 * request's arguments or a feed's stored map, matched against the rows the
 * pattern store keeps. Pure: no store, no engine. */
#ifndef HLS_PATFILTER_H
#define HLS_PATFILTER_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mp.h"
#include "patstore.h"
#include "envelope.h"
#include "record.h"

#define FILTER_MAX 16 /* values per filter key */

/* What hls patterns and a feed select: any of the values of a key, all
 * keys given. Empty keys select everything. */
struct hls_patfilter {
  unsigned signals, kinds, scales; /* bit masks; 0 = any */
  size_t n_themes, n_regions, n_places;
  char themes[FILTER_MAX][HLS_THEME_MAX + 1];
  int theme_kinds[FILTER_MAX]; /* -1 = any kind */
  char regions[FILTER_MAX][HLS_REGION_MAX + 1];
  char places[FILTER_MAX][HLS_PLACE_MAX + 32]; /* names as patterns carry them */
  int64_t min_places;
  double min_strength;
  bool has_since, has_until;
  int32_t since, until; /* week numbers; a pattern matches if its weeks overlap */
  bool include_ended;   /* listings: ended patterns too (feeds: always) */
  /* --vouched (hls patterns, a feed's stored filter): only the vouched
   * places (trust.h) count. A pattern (or event) is selected if at least
   * min_places_of[signal] (the engine's minimum of places for its signal)
   * and min_places of its places are in vouched_ids; one whose places were
   * not kept (a pattern from before schema 9) is not. Parsing sets only
   * the flag: vouched_ids and min_places_of come from
   * hls_patfilter_set_vouched, as the vouches held stand when f is used. */
  bool vouched;
  const uint8_t *vouched_ids; /* borrowed; HLS_KEY_BYTES each, sorted */
  size_t n_vouched_ids;
  size_t n_vouched_others; /* the nodes vouched that are not this node's own keys */
  int64_t min_places_of[HLS_PAT_SIGNAL_COUNT];
};

/* f from args (out; every key optional). */
int hls_patfilter_parse(const struct hls_mp_value *args, struct hls_patfilter *f, struct hls_why *why);
/* --vouched: the places vouched now (borrowed, sorted, HLS_KEY_BYTES
 * each; must outlive f's use) and the engine's minimum of places per
 * signal (params). The one rule hls patterns and feeds judge by. */
void hls_patfilter_set_vouched(struct hls_patfilter *f, const uint8_t *vouched_ids, size_t n_vouched_ids,
                               const struct hls_pat_params *params);
enum hls_patfilter_verdict {
  HLS_PATFILTER_NO,        /* f does not select r */
  HLS_PATFILTER_YES,       /* f selects r */
  HLS_PATFILTER_UNVOUCHED, /* f would, but too few of r's places are vouched (f->vouched) */
};
enum hls_patfilter_verdict hls_patfilter_judge(const struct hls_patfilter *f, const struct hls_patrow *r);
/* Whether f selects r (hls_patfilter_judge says YES). */
bool hls_patfilter_match(const struct hls_patfilter *f, const struct hls_patrow *r);
/* The filter's keys of args, re-packed as a map: what a feed stores. */
int hls_patfilter_pack_args(msgpack_packer *pk, const struct hls_mp_value *args);
/* args' key: "YYYY-MM-DD" (its week) or "YYYY-Www", as a week number;
 * *has set if given. */
int hls_patfilter_arg_week(const struct hls_mp_value *args, const char *key, bool *has, int32_t *week,
                           struct hls_why *why);
/* Place names compare as people read them, ignoring case and Unicode
 * normalisation. */
bool hls_patfilter_name_eq(const char *a, size_t a_len, const char *b);

#endif
