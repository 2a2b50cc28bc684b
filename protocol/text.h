/* Text rules for everything people type into hlsd: UTF-8 validity,
 * allowed characters, and theme slugs. Pure functions. */
#ifndef HLS_TEXT_H
#define HLS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Check that s[0..len) is valid UTF-8, at most max_bytes long, and free of
 * control characters (tab, CR and LF are allowed when multiline). field
 * names the input in the error detail. */
int hls_text_check(const char *s, size_t len, size_t max_bytes, bool multiline, const char *field,
                   struct hls_why *why) HLS_WARN_UNUSED;

/* Make s printable in place for messages and logs: invalid UTF-8 bytes and
 * control characters become '?'. */
void hls_text_sanitize(char *s);

/* Normalise a theme name to its slug: Unicode NFC, lower-case, apostrophes
 * dropped, every run of other non-alphanumeric characters (spaces,
 * punctuation, underscores, hyphens) turned into one hyphen, no hyphen at
 * either end. "  Mental Health (Adults) " -> "mental-health-adults".
 * out receives a NUL-terminated slug of at most HLS_THEME_MAX bytes.
 * Errors: HLS_EUTF8, HLS_EINVAL (nothing left, or control characters),
 * HLS_ETOOBIG. */
int hls_theme_normalise(const char *in, size_t len, char *out, size_t out_size,
                        struct hls_why *why) HLS_WARN_UNUSED;

/* True if s is already a slug (what hls_theme_normalise would return). */
bool hls_theme_is_slug(const char *s);

#endif
