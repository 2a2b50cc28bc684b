/* Text for hls patterns, patterns show, patterns summary and feed follow:
 * pure formatting helpers (no I/O), unit-tested on their own
 * (tests/unit/test_patfmt.c). Widths count columns on screen (wide
 * characters two, combining ones none), as hls_table does. */
#ifndef HLS_PATFMT_H
#define HLS_PATFMT_H

#include <stddef.h>
#include <stdint.h>

/* Columns on screen of a UTF-8 string, as u8_strwidth counts them (wide
 * characters 2, combining ones 0), except that a control character or a
 * byte that is not UTF-8 counts 1. */
size_t hls_patfmt_width(const char *s);

/* s cut to at most max (>= 1) columns, ending in "…" when cut; never
 * inside a UTF-8 sequence, and combining marks stay with their letter.
 * Owned by the caller; NULL on out of memory. */
char *hls_patfmt_cut(const char *s, size_t max);

/* A pattern's weeks, short: "2024-W07" (one week), "2024-W07..W14" (one
 * year), "2024-W50..2025-W02". from and to are ISO weeks "YYYY-Www"; text
 * that is not one is copied as it is. */
void hls_patfmt_weeks(const char *from, const char *to, char *out, size_t size);

/* A strength (-log10 p) to one decimal: "4.2"; at or beyond the engine's
 * floor of p (1e-300), ">=300". */
void hls_patfmt_strength(double strength, char *out, size_t size);

/* A p-value as people read it: "0.032", "0.0041", "6.3e-05"; "<1e-300" at
 * the floor. */
void hls_patfmt_p(double p, char *out, size_t size);

/* A bar of width characters for an interval lo..hi of counts on a scale
 * whose longest bar is max: '#' up to lo, '+' from there to hi (what the
 * withheld and rounded counts leave uncertain). A value above 0 gets one
 * character at least; max <= 0 gives an empty bar. */
void hls_patfmt_bar(double lo, double hi, double max, size_t width, char *out, size_t size);

/* Counts by signal on one line, the signals in the order given, zeros
 * left out: "spread 3, emerging 2"; "none" when all are 0. */
void hls_patfmt_by_signal(const char *const *names, const int64_t *counts, size_t n, char *out, size_t size);

/* Wrap text (words separated by spaces) into lines of at most width
 * characters, each starting with indent and ending with '\n'. A word
 * longer than a line gets a line of its own. Returns the length written
 * (truncated to size - 1). */
size_t hls_patfmt_wrap(const char *text, const char *indent, size_t width, char *out, size_t size);

/* Column widths that fit total characters: natural[i] is the widest cell
 * of column i (its header included), min[i] the least it may be cut to,
 * sep the spaces between columns. When everything fits, out = natural;
 * else the widest column that can still give is cut, one character at a
 * time, until the table fits or every column is at its least. total 0:
 * no limit. Returns the width of the table. */
size_t hls_patfmt_fit(const size_t *natural, const size_t *min, size_t n, size_t sep, size_t total, size_t *out);

#endif
