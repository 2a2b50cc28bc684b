/* The place list and the summaries of the pattern host (patternsd): the
 * engine's places with their labels and regions, sorted once for all
 * patterns rather than for each (a pattern can name a thousand places),
 * and the summary every listing and event carries (docs/control.md), with
 * the helpers the control commands (patapi, feeds) share to write places,
 * weeks, counts, scales and methods. Event-loop thread only. */
#ifndef HLS_PATSUMMARY_H
#define HLS_PATSUMMARY_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hls_limits.h"
#include "patfilter.h"
#include "patterns.h"
#include "record.h"

/* The size of a place's label (its name, or the start of its node id
 * when it has no profile), with the '\0'. */
enum { HLS_PATSUMMARY_LABEL = HLS_PLACE_MAX + 32 };

struct hls_patsummary;

/* *out: owned (hls_patsummary_free). pt and params: borrowed, must
 * outlive it. HLS_ENOMEM. */
int hls_patsummary_new(struct hls_patsummary **out, const struct hls_patterns *pt,
                       const struct hls_pat_params *params) HLS_WARN_UNUSED;
/* Read another engine from now on (the host swapped its engine for the
 * one its start-up load built); the place list is rebuilt. */
void hls_patsummary_set_engine(struct hls_patsummary *s, const struct hls_patterns *pt);
/* NULL is a no-op. */
void hls_patsummary_free(struct hls_patsummary *s);
/* A profile arrived: a place's name or region may have changed (the list
 * is rebuilt when next read). New places are noticed without it. */
void hls_patsummary_places_changed(struct hls_patsummary *s);

/* A place's label, from the engine (out: size bytes). */
void hls_patsummary_place_label(struct hls_patsummary *s, uint32_t place, char *out, size_t size);
/* A place's label from the list (brought up to date first by
 * hls_patsummary_places_by_label, _regions or _filter_resolve_places);
 * buf (size bytes) for a place the list does not hold yet. */
const char *hls_patsummary_dir_label(struct hls_patsummary *s, uint32_t place, char *buf, size_t size);
/* The pattern's places in the order of their labels: *out (owned by the
 * caller) holds engine place numbers. HLS_ENOMEM. */
int hls_patsummary_places_by_label(struct hls_patsummary *s, const struct hls_pattern *p, uint32_t **out);
/* The distinct regions of a pattern's places, sorted, each followed by
 * '\n' (owned by the caller), *count of them; NULL when out of memory. */
char *hls_patsummary_regions(struct hls_patsummary *s, const struct hls_pattern *p, size_t *count);
/* Place filter values that are node ids become their place's name (as
 * patterns carry it). must_exist: a value that names no place is
 * not_found (a listing; a feed may name a place that joins later). */
int hls_patsummary_filter_resolve_places(struct hls_patsummary *s, struct hls_patfilter *f, bool must_exist,
                                         struct hls_why *why);

/* The summary of p (docs/control.md) into pk: regions and n_regions from
 * hls_patsummary_regions, order from hls_patsummary_places_by_label.
 * HLS_ENOMEM, or HLS_EINTERNAL for a theme the engine does not know. */
int hls_patsummary_pack(struct hls_patsummary *s, msgpack_packer *pk, const struct hls_pattern *p, const char *regions,
                        size_t n_regions, const uint32_t *order);

/* "YYYY-Www" of an engine week number. */
void hls_patsummary_week_text(int32_t week, char out[9]);
void hls_patsummary_id_hex(const uint8_t id[HLS_PAT_ID_BYTES], char out[2 * HLS_PAT_ID_BYTES + 1]);
/* count_min, count_max and count ("lo" or "lo-hi") as map entries. */
int hls_patsummary_pack_count(msgpack_packer *pk, uint64_t lo, uint64_t hi);
/* The scales' names, an array. */
int hls_patsummary_pack_scales(msgpack_packer *pk, unsigned scales);
/* The method in plain words, with its parameters (patterns.show). */
void hls_patsummary_method_text(const struct hls_pat_params *p, int signal, const char *region, char *out,
                                size_t size);
/* Raw msgpack bytes (a stored summary or filter) into pk. */
int hls_patsummary_write_raw(msgpack_packer *pk, const void *data, size_t len);

#endif
