/* A pattern summary, as hlsd sends it (docs/control.md), in words: what
 * hls patterns, patterns show, patterns summary and feed follow print of
 * one. Every out is NUL-terminated and cut to size. */
#ifndef HLS_PATVIEW_H
#define HLS_PATVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "mp.h"

/* The number at key (an integer or a float), NaN when there is none. */
double hls_patview_num(const struct hls_mp_value *m, const char *key);
/* key is true. */
bool hls_patview_flag(const struct hls_mp_value *m, const char *key);
/* "problem:housing" ("housing" without kinds), "A + B" for together. */
void hls_patview_theme_kinds(const struct hls_mp_value *p, bool kinds, char *out, size_t size);
void hls_patview_theme(const struct hls_mp_value *p, char *out, size_t size);
/* Its weeks, short (hls_patfmt_weeks). */
void hls_patview_weeks(const struct hls_mp_value *p, char *out, size_t size);
/* Its first max_names places, "and N more" after them. */
void hls_patview_places(const struct hls_mp_value *p, char *out, size_t size, size_t max_names);

#endif
