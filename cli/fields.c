#include "fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "mp.h"
#include "record.h"

/* Flag name -> field name; the order gives the option values. */
static const char *const flag_fields[][2] = {
    {"title", "title"},
    {"scale", "scale"},
    {"stage", "stage"},
    {"theme", "themes"},
    {"context", "context"},
    {"tried", "tried"},
    {"happened", "happened"},
    {"learnt", "learnt"},
    {"consent", "consent"},
    {"consent-by", "consent_by"},
    {"consent-purpose", "consent_purpose"},
    {"consent-expires", "consent_expires"},
    {"date", "date"},
    {"author-role", "author_role"},
    {"retain-until", "retain_until"},
};
#define N_FLAGS (sizeof flag_fields / sizeof flag_fields[0])

const struct option fields_options[] = {
    {"title", required_argument, NULL, FIELD_OPT_BASE + 0},
    {"scale", required_argument, NULL, FIELD_OPT_BASE + 1},
    {"stage", required_argument, NULL, FIELD_OPT_BASE + 2},
    {"theme", required_argument, NULL, FIELD_OPT_BASE + 3},
    {"context", required_argument, NULL, FIELD_OPT_BASE + 4},
    {"tried", required_argument, NULL, FIELD_OPT_BASE + 5},
    {"happened", required_argument, NULL, FIELD_OPT_BASE + 6},
    {"learnt", required_argument, NULL, FIELD_OPT_BASE + 7},
    {"consent", required_argument, NULL, FIELD_OPT_BASE + 8},
    {"consent-by", required_argument, NULL, FIELD_OPT_BASE + 9},
    {"consent-purpose", required_argument, NULL, FIELD_OPT_BASE + 10},
    {"consent-expires", required_argument, NULL, FIELD_OPT_BASE + 11},
    {"date", required_argument, NULL, FIELD_OPT_BASE + 12},
    {"author-role", required_argument, NULL, FIELD_OPT_BASE + 13},
    {"retain-until", required_argument, NULL, FIELD_OPT_BASE + 14},
    {NULL, 0, NULL, 0},
};

int fields_set(struct fields *f, const char *name, const char *value) {
  for (size_t i = 0; i < f->n; i++) {
    if (strcmp(f->names[i], name) == 0) {
      char *copy = strdup(value);
      if (copy == NULL) return HLS_ENOMEM;
      free(f->values[i]);
      f->values[i] = copy;
      return 0;
    }
  }
  if (f->n >= FIELDS_MAX) return HLS_ETOOBIG;
  f->values[f->n] = strdup(value);
  if (f->values[f->n] == NULL) return HLS_ENOMEM;
  f->names[f->n++] = name;
  return 0;
}

int fields_add_theme(struct fields *f, const char *spec) {
  f->themes_set = true;
  if (f->n_themes >= sizeof f->themes / sizeof f->themes[0]) return HLS_ETOOBIG;
  f->themes[f->n_themes] = strdup(spec);
  if (f->themes[f->n_themes] == NULL) return HLS_ENOMEM;
  f->n_themes++;
  return 0;
}

static int check_field(const char *name, const char *value, struct hls_why *why);

bool fields_take_option(struct fields *f, int opt, const char *arg, struct hls_why *error) {
  error->text[0] = '\0';
  if (opt < FIELD_OPT_BASE || opt >= FIELD_OPT_BASE + (int)N_FLAGS) return false;
  const char *field = flag_fields[opt - FIELD_OPT_BASE][1];
  /* Check each value as the daemon will, so the error names the flag's
   * field (invalid UTF-8 could not even be sent). */
  int rc = check_field(field, arg, error);
  if (rc == 0) rc = strcmp(field, "themes") == 0 ? fields_add_theme(f, arg) : fields_set(f, field, arg);
  if (rc == HLS_ETOOBIG && error->text[0] == '\0') hls_why_set(error, rc, "too many values");
  else if (rc != 0 && error->text[0] == '\0') hls_why_set(error, rc, "%s", hls_strerror(rc));
  return true;
}

bool fields_empty(const struct fields *f) { return f->n == 0 && !f->themes_set; }

int fields_pack(const struct fields *f, msgpack_packer *pk) {
  int rc;
  if (msgpack_pack_map(pk, f->n + (f->themes_set ? 1 : 0)) != 0) return HLS_ENOMEM;
  for (size_t i = 0; i < f->n; i++)
    if ((rc = hls_mp_pack_kv_str(pk, f->names[i], f->values[i])) != 0) return rc;
  if (f->themes_set) {
    if ((rc = hls_mp_pack_cstr(pk, "themes")) != 0) return rc;
    if (msgpack_pack_array(pk, f->n_themes) != 0) return HLS_ENOMEM;
    for (size_t i = 0; i < f->n_themes; i++)
      if ((rc = hls_mp_pack_cstr(pk, f->themes[i])) != 0) return rc;
  }
  return 0;
}

void fields_free(struct fields *f) {
  for (size_t i = 0; i < f->n; i++) free(f->values[i]);
  for (size_t i = 0; i < f->n_themes; i++) free(f->themes[i]);
  memset(f, 0, sizeof *f);
}

/* --- prompting ------------------------------------------------------------- */

/* One line from stdin without its newline; NULL at end of input. */
static char *read_line(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  return line;
}

/* Several lines, ended by an empty line. */
static char *read_paragraph(void) {
  size_t len = 0;
  char *text = strdup("");
  for (;;) {
    char *line = read_line();
    if (line == NULL) {
      if (len == 0) {
        free(text);
        return NULL;
      }
      break;
    }
    if (line[0] == '\0') {
      free(line);
      break;
    }
    size_t l = strlen(line);
    char *p = realloc(text, len + l + 2);
    if (p == NULL) {
      free(line);
      break;
    }
    text = p;
    if (len > 0) text[len++] = '\n';
    memcpy(text + len, line, l + 1);
    len += l;
    free(line);
  }
  return text;
}

/* Check one field value as the daemon would. */
static int check_field(const char *name, const char *value, struct hls_why *why) {
  struct hls_mp_kv kv = {
      .key = {.type = HLS_MP_STR, .len = (uint32_t)strlen(name), .v.str = name},
      .val = {.type = HLS_MP_STR, .len = (uint32_t)strlen(value), .v.str = value},
  };
  struct hls_mp_value m = {.type = HLS_MP_MAP, .len = 1, .v.kv = &kv};
  struct hls_record r;
  hls_record_init(&r);
  int rc = hls_record_apply(&r, &m, NULL, why);
  hls_record_clear(&r);
  return rc;
}

struct prompt {
  const char *field;
  const char *question;
  bool required, paragraph;
};

static int ask(struct fields *f, const struct prompt *p, const char *dflt) {
  for (;;) {
    if (dflt)
      fprintf(stderr, "%s [%s]: ", p->question, dflt);
    else
      fprintf(stderr, "%s%s: ", p->question, p->paragraph ? " (end with an empty line)" : "");
    fflush(stderr);
    char *answer = p->paragraph ? read_paragraph() : read_line();
    if (answer == NULL) return HLS_ECLOSED;
    if (answer[0] == '\0' && dflt != NULL) {
      free(answer);
      answer = strdup(dflt);
      if (answer == NULL) return HLS_ENOMEM;
    }
    if (answer[0] == '\0') {
      free(answer);
      if (!p->required) return 0;
      fprintf(stderr, "  %s is required.\n", p->field);
      continue;
    }
    struct hls_why why = {{0}};
    int rc;
    if (strcmp(p->field, "themes") == 0) {
      rc = check_field("themes", answer, &why);
      if (rc == 0) {
        /* Keep the specs as typed; the daemon normalises. */
        char *save = NULL;
        for (char *tok = strtok_r(answer, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
          while (*tok == ' ') tok++;
          if (*tok) fields_add_theme(f, tok);
        }
      }
    } else {
      rc = check_field(p->field, answer, &why);
      if (rc == 0) rc = fields_set(f, p->field, answer);
    }
    free(answer);
    if (rc == 0) return 0;
    fprintf(stderr, "  %s\n", why.text[0] ? why.text : hls_strerror(rc));
  }
}

int fields_prompt(struct fields *f) {
  static const struct prompt prompts[] = {
      {"title", "Title (what was tried, in a line)", true, false},
      {"scale", "Scale (person|organisation|place|country)", true, false},
      {"stage", "Stage (purpose|understand|co-design|experiment|reflect|embed)", true, false},
      {"date", "Date the learning is about (YYYY-MM-DD)", false, false},
      {"themes", "Themes ([KIND:]NAME separated by ';', KIND problem|aspiration|strength|practice)", false, false},
      {"context", "Context", false, true},
      {"tried", "What we tried", false, true},
      {"happened", "What happened", false, true},
      {"learnt", "What we learnt", false, true},
      {"author_role", "Your role (optional)", false, false},
      {"consent", "Consent (private|aggregate|peers|network)", false, false},
  };
  static const struct prompt consent_prompts[] = {
      {"consent_by", "Consent given by (a role)", true, false},
      {"consent_purpose", "Purpose of the consent (optional)", false, false},
      {"consent_expires", "Consent expires (YYYY-MM-DD, empty for never)", false, false},
  };
  char today[11];
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(today, sizeof today, "%Y-%m-%d", &tm);
  fprintf(stderr, "New learning record. Ctrl-D cancels.\n");
  int rc;
  for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
    const char *dflt = strcmp(prompts[i].field, "date") == 0 ? today
                       : strcmp(prompts[i].field, "consent") == 0 ? "private"
                                                                 : NULL;
    if ((rc = ask(f, &prompts[i], dflt)) != 0) return rc;
  }
  bool above_private = false;
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->names[i], "consent") == 0 && strcmp(f->values[i], "private") != 0) above_private = true;
  if (above_private)
    for (size_t i = 0; i < sizeof consent_prompts / sizeof consent_prompts[0]; i++)
      if ((rc = ask(f, &consent_prompts[i], NULL)) != 0) return rc;
  return 0;
}
