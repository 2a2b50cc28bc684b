/* Record fields gathered from flags or prompts, packed as the field map
 * the daemon's record.add / record.edit take. */
#ifndef HLS_FIELDS_H
#define HLS_FIELDS_H

#include <getopt.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "hls_limits.h"

#define FIELDS_MAX 16

struct fields {
  const char *names[FIELDS_MAX]; /* static field names */
  char *values[FIELDS_MAX];      /* owned */
  size_t n;
  char *themes[HLS_THEMES_PER_RECORD * 2]; /* owned "[KIND:]NAME" specs */
  size_t n_themes;
  bool themes_set;
};

/* The record flags shared by record add and record edit; option values
 * are FIELD_OPT_BASE + index into fields_flag_names. */
#define FIELD_OPT_BASE 0x200
extern const struct option fields_options[];
/* Handle one of those options; false if opt is not a field option. A
 * value the daemon would refuse leaves error->text non-empty. */
bool fields_take_option(struct fields *f, int opt, const char *arg, struct hls_why *error);
int fields_set(struct fields *f, const char *name, const char *value);
int fields_add_theme(struct fields *f, const char *spec);
bool fields_empty(const struct fields *f);
int fields_pack(const struct fields *f, msgpack_packer *pk);
void fields_free(struct fields *f);

/* Ask for every field on the terminal, checking each answer as the daemon
 * will. Returns 0, or HLS_ECLOSED when the user ends input. */
int fields_prompt(struct fields *f);

#endif
