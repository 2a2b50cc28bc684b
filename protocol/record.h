/* The learning record: the local unit of what a place tried and learnt.
 * Never on the wire; it crosses the control socket as a msgpack map whose
 * keys are the field names below (also the JSON and CSV field names). */
#ifndef HLS_RECORD_H
#define HLS_RECORD_H

#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "date.h"
#include "err.h"
#include "hls_limits.h"
#include "mp.h"

enum hls_scale { HLS_SCALE_PERSON, HLS_SCALE_ORGANISATION, HLS_SCALE_PLACE, HLS_SCALE_COUNTRY, HLS_SCALE_COUNT };
enum hls_stage {
  HLS_STAGE_PURPOSE,
  HLS_STAGE_UNDERSTAND,
  HLS_STAGE_CO_DESIGN,
  HLS_STAGE_EXPERIMENT,
  HLS_STAGE_REFLECT,
  HLS_STAGE_EMBED,
  HLS_STAGE_COUNT
};
enum hls_kind { HLS_KIND_PROBLEM, HLS_KIND_ASPIRATION, HLS_KIND_STRENGTH, HLS_KIND_PRACTICE, HLS_KIND_COUNT };
enum hls_consent_end { HLS_CONSENT_CURRENT = 0, HLS_CONSENT_WITHDRAWN = 1, HLS_CONSENT_EXPIRED = 2 };
const char *hls_consent_end_name(int end); /* NULL for current */

/* Ordered: a higher level allows everything a lower one does. */
enum hls_consent { HLS_CONSENT_PRIVATE, HLS_CONSENT_AGGREGATE, HLS_CONSENT_PEERS, HLS_CONSENT_NETWORK, HLS_CONSENT_COUNT };

const char *hls_scale_name(enum hls_scale s);
const char *hls_stage_name(enum hls_stage s);
const char *hls_kind_name(enum hls_kind k);
const char *hls_consent_name(enum hls_consent c);
/* Parse a name (exact, lower-case). HLS_EINVAL with the allowed values in
 * why otherwise. */
int hls_scale_parse(const char *s, size_t len, enum hls_scale *out, struct hls_why *why) HLS_WARN_UNUSED;
int hls_stage_parse(const char *s, size_t len, enum hls_stage *out, struct hls_why *why) HLS_WARN_UNUSED;
int hls_kind_parse(const char *s, size_t len, enum hls_kind *out, struct hls_why *why) HLS_WARN_UNUSED;
int hls_consent_parse(const char *s, size_t len, enum hls_consent *out, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_theme {
  char slug[HLS_THEME_MAX + 1];
  enum hls_kind kind;
};

/* Parse "[KIND:]NAME" (KIND defaults to problem) and normalise NAME. */
int hls_theme_parse(const char *spec, size_t len, struct hls_theme *out, struct hls_why *why) HLS_WARN_UNUSED;

struct hls_record {
  int64_t id; /* 0 until stored */
  char *title; /* owned; every char* field is owned, NULL when empty */
  enum hls_scale scale;
  enum hls_stage stage;
  bool has_scale, has_stage;
  hls_day date; /* the date the learning is about */
  bool has_date;
  char *context, *tried, *happened, *learnt;
  char *author_role;
  size_t n_themes;
  struct hls_theme themes[HLS_THEMES_PER_RECORD];
  enum hls_consent consent;
  char *consent_by;
  char *consent_purpose;
  hls_day consent_expires;
  bool has_consent_expires;
  /* The record's own retention date: kept up to and including it, then
   * deleted by hlsd, whatever the rule for its scale (docs/governance.md
   * #retention). */
  hls_day retain_until;
  bool has_retain_until;
  /* Computed, never stored (hls_record_retention; read-only input): the
   * last day the record is kept, and what set it. */
  int retention_from; /* enum hls_retention_from; HLS_RETENTION_UNKNOWN: not computed, not packed */
  hls_day retention;
  /* Why consent stopped, when it did: set by "consent withdraw" and by
   * expiry, cleared whenever consent is given again. Read-only input. */
  int consent_ended; /* enum hls_consent_end */
  int64_t created_ms, updated_ms; /* set by the store */
  /* Who added it: the Unix user of an hls call or "web:NAME"; NULL for
   * records older than that (schema 13) and imports. Set by the store
   * from the caller; read-only input. */
  char *created_by;
};

/* Where a record's retention comes from. */
enum hls_retention_from {
  HLS_RETENTION_UNKNOWN = 0,
  HLS_RETENTION_RECORD, /* its own retain_until */
  HLS_RETENTION_RULE,   /* its date plus the period of its scale */
  HLS_RETENTION_KEEP    /* neither: kept until someone deletes it */
};
const char *hls_retention_from_name(int from); /* "record", "rule", "none"; NULL when unknown */
/* Set r->retention and r->retention_from from its retain_until, or its
 * date plus rules[its scale] (date.h periods, by enum hls_scale). */
void hls_record_retention(struct hls_record *r, const struct hls_period rules[HLS_SCALE_COUNT]);

struct hls_record_limits {
  size_t max_text_bytes; /* per free-text field, <= HLS_TEXT_HARD_MAX */
};

void hls_record_init(struct hls_record *r);
/* Free owned strings and reset to the initial state. */
void hls_record_clear(struct hls_record *r);

/* Apply the fields present in map m to r (patch semantics: absent fields
 * are untouched; nil or "" clears an optional field). Every value is
 * checked (UTF-8, length, characters, enums, dates) and themes are
 * normalised. Unknown keys are refused so typos do not lose data; the
 * read-only keys id, created_at, updated_at, created_by, consent_ended,
 * retention and retention_from are ignored. retain_until also takes
 * "none", as nil and "" do: no date of its own. On error r may
 * be partly updated. */
int hls_record_apply(struct hls_record *r, const struct hls_mp_value *m,
                     const struct hls_record_limits *lim, struct hls_why *why) HLS_WARN_UNUSED;

/* Whole-record rules: title, scale and stage present, consent above
 * private names who gave it. */
int hls_record_validate(const struct hls_record *r, struct hls_why *why) HLS_WARN_UNUSED;

/* Pack as a map. full=false leaves out the four free-text fields;
 * retention and retention_from are there when computed. */
int hls_record_pack(msgpack_packer *pk, const struct hls_record *r, bool full) HLS_WARN_UNUSED;

/* A record's content fingerprint: BLAKE2b-128 of its title, scale,
 * stage, date, the four free-text fields, author role and themes with
 * their kinds (in slug order), each length-prefixed, absent apart from
 * empty. Consent, ids and times are not content: a row whose fingerprint
 * a held record has is a duplicate of it (hls import skips it). */
#define HLS_RECORD_FINGERPRINT_BYTES 16
void hls_record_fingerprint(const struct hls_record *r, uint8_t out[HLS_RECORD_FINGERPRINT_BYTES]);

/* Field names accepted by hls_record_apply, NULL-terminated (the CSV
 * importer uses it to check a header row). */
extern const char *const hls_record_fields[];

#endif
