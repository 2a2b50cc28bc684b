/* hls_gen_items: signed envelope chains of generated places (placegen.h).
 *
 * For each place, OUT/<64-hex origin>.items holds its chain as
 * concatenated canonical msgpack envelopes (hls_env_build): the profile at
 * seq 1 (role place, name, region), then week by week the digest and that
 * week's stories, all for the network audience. OUT/manifest.json gives
 * the parameters, the places, the themes and the planted patterns.
 *
 * Places are generated and written one at a time, so memory stays bounded
 * by one place's week whatever the size (1000 places x 104 weeks x 200
 * themes is the benchmark's). Exit status: 0, 1 on a failure, 2 on a usage
 * error. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "date.h"
#include "envelope.h"
#include "placegen.h"

/* --- options: one table for the parser and --help ----------------------------------- */

enum opt_kind { OPT_U64, OPT_INT, OPT_WEEK, OPT_PATH, OPT_HELP };

struct opts {
  struct placegen_params gp;
  const char *out;
  bool help;
};

static const struct opt_row {
  const char *name;
  enum opt_kind kind;
  long min, max;
  const char *arg;
  const char *help;
} opt_table[] = {
    {"--seed", OPT_U64, 0, 0, "N", "generator seed (default 1)"},
    {"--places", OPT_INT, 1, PLACEGEN_MAX_PLACES, "N", "places, one chain each (default 40)"},
    {"--weeks", OPT_INT, 1, PLACEGEN_MAX_WEEKS, "N", "weeks of digests (default 52)"},
    {"--themes", OPT_INT, 1, PLACEGEN_MAX_THEMES, "N", "background themes, Zipf-skewed (default 60)"},
    {"--first-week", OPT_WEEK, 0, 0, "YYYY-Www", "the first ISO week (default 2024-W01)"},
    {"--out", OPT_PATH, 0, 0, "DIR", "output directory, created if missing (required)"},
    {"--help", OPT_HELP, 0, 0, NULL, "this text"},
};
#define OPT_N (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f) {
  fprintf(f, "usage: hls_gen_items --out DIR [options]\n"
             "Writes signed envelope chains of generated places (DIR/<origin>.items) and\n"
             "DIR/manifest.json with the planted patterns.\n\noptions:\n");
  for (size_t i = 0; i < OPT_N; i++) {
    char left[40];
    snprintf(left, sizeof left, "%s%s%s", opt_table[i].name, opt_table[i].arg ? " " : "",
             opt_table[i].arg ? opt_table[i].arg : "");
    fprintf(f, "  %-24s %s\n", left, opt_table[i].help);
  }
}

static int parse_value(const struct opt_row *row, const char *v, struct opts *o) {
  char *end;
  errno = 0;
  switch (row->kind) {
  case OPT_U64: {
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') return -1;
    o->gp.seed = n;
    return 0;
  }
  case OPT_INT: {
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < row->min || n > row->max) return -1;
    if (strcmp(row->name, "--places") == 0) o->gp.places = (int)n;
    else if (strcmp(row->name, "--weeks") == 0) o->gp.weeks = (int)n;
    else o->gp.themes = (int)n;
    return 0;
  }
  case OPT_WEEK: {
    int year, week, len = 0;
    int32_t abs_week;
    if (sscanf(v, "%4d-W%2d%n", &year, &week, &len) != 2 || v[len] != '\0' || strlen(v) != 8 ||
        hls_patterns_week(year, week, &abs_week) != 0)
      return -1;
    o->gp.first_iso_year = year;
    o->gp.first_iso_week = week;
    return 0;
  }
  case OPT_PATH: o->out = v; return v[0] ? 0 : -1;
  case OPT_HELP: o->help = true; return 0;
  }
  return -1;
}

/* 0, or 2 (usage error, reported). */
static int parse_args(int argc, char **argv, struct opts *o) {
  memset(o, 0, sizeof *o);
  placegen_params_default(&o->gp);
  for (int i = 1; i < argc; i++) {
    const struct opt_row *row = NULL;
    for (size_t k = 0; k < OPT_N && row == NULL; k++)
      if (strcmp(argv[i], opt_table[k].name) == 0) row = &opt_table[k];
    if (row == NULL) {
      fprintf(stderr, "hls_gen_items: unknown option %s\n", argv[i]);
      return 2;
    }
    const char *v = NULL;
    if (row->arg != NULL) {
      if (i + 1 >= argc) {
        fprintf(stderr, "hls_gen_items: %s needs %s\n", row->name, row->arg);
        return 2;
      }
      v = argv[++i];
    }
    if (parse_value(row, v, o) != 0) {
      fprintf(stderr, "hls_gen_items: %s: bad value %s\n", row->name, v);
      return 2;
    }
  }
  if (!o->help && o->out == NULL) {
    fprintf(stderr, "hls_gen_items: --out DIR is required\n");
    return 2;
  }
  return 0;
}

/* --- writing chains ------------------------------------------------------------------ */

struct writer {
  const struct placegen *gen;
  const char *dir;
  FILE *f;
  char path[PATH_MAX];
  msgpack_sbuffer body, env;
  uint8_t prev[HLS_HASH_BYTES];
  uint64_t seq;
  uint64_t items, bytes;
  struct hls_digest_cell *cells; /* a copy to pack (the packer sorts in place) */
  size_t cap_cells;
  json_t *places; /* the manifest's */
};

/* Sign the packed body as the place's next item and append it to its file. */
static int put(struct writer *w, const struct placegen_place *pl, int type, uint64_t seq, int32_t week) {
  if (seq != w->seq + 1) {
    fprintf(stderr, "hls_gen_items: %s: seq %llu after %llu\n", pl->name, (unsigned long long)seq,
            (unsigned long long)w->seq);
    return HLS_EINTERNAL;
  }
  w->env.size = 0;
  int rc = hls_env_build(&w->env, type, pl->sk, seq, seq > 1 ? w->prev : NULL, placegen_timestamp_ms(week, seq),
                         HLS_AUD_NETWORK, (const uint8_t *)w->body.data, w->body.size);
  struct hls_envelope e;
  if (rc == 0) rc = hls_env_decode(&e, (const uint8_t *)w->env.data, w->env.size, NULL);
  if (rc != 0) return rc;
  memcpy(w->prev, e.id, HLS_HASH_BYTES);
  w->seq = seq;
  if (fwrite(w->env.data, 1, w->env.size, w->f) != w->env.size) return HLS_EIO;
  w->items++;
  w->bytes += w->env.size;
  return 0;
}

static int on_place(void *ctx, const struct placegen_place *pl) {
  struct writer *w = ctx;
  char hex[2 * HLS_KEY_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, pl->pk, HLS_KEY_BYTES);
  if (snprintf(w->path, sizeof w->path, "%s/%s.items", w->dir, hex) >= (int)sizeof w->path) return HLS_EINVAL;
  w->f = fopen(w->path, "wb");
  if (w->f == NULL) {
    fprintf(stderr, "hls_gen_items: %s: %s\n", w->path, strerror(errno));
    return HLS_EIO;
  }
  w->seq = 0;
  struct hls_profile prof;
  memset(&prof, 0, sizeof prof);
  snprintf(prof.place, sizeof prof.place, "%s", pl->name);
  snprintf(prof.region, sizeof prof.region, "%s", pl->region);
  prof.role = HLS_PROFILE_PLACE;
  w->body.size = 0;
  int rc = hls_profile_pack(&w->body, &prof);
  return rc != 0 ? rc : put(w, pl, HLS_ENV_PROFILE, 1, placegen_first_week(w->gen) - 1);
}

static int on_digest(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_digest *d) {
  struct writer *w = ctx;
  int32_t week;
  if (hls_patterns_week(d->iso_year, d->iso_week, &week) != 0) return HLS_EINVAL;
  if (d->n_cells > w->cap_cells) {
    struct hls_digest_cell *c = realloc(w->cells, d->n_cells * sizeof *c);
    if (c == NULL) return HLS_ENOMEM;
    w->cells = c;
    w->cap_cells = d->n_cells;
  }
  memcpy(w->cells, d->cells, d->n_cells * sizeof *d->cells);
  struct hls_digest copy = *d;
  copy.cells = w->cells;
  w->body.size = 0;
  int rc = hls_digest_pack(&w->body, &copy);
  return rc != 0 ? rc : put(w, pl, HLS_ENV_DIGEST, seq, week);
}

static int on_story(void *ctx, const struct placegen_place *pl, uint64_t seq, const struct hls_story *s) {
  struct writer *w = ctx;
  int32_t week;
  if (hls_patterns_week(s->iso_year, s->iso_week, &week) != 0) return HLS_EINVAL;
  w->body.size = 0;
  int rc = hls_story_pack(&w->body, s);
  return rc != 0 ? rc : put(w, pl, HLS_ENV_STORY, seq, week);
}

static json_t *origin_json(const uint8_t pk[HLS_KEY_BYTES]) {
  char hex[2 * HLS_KEY_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, pk, HLS_KEY_BYTES);
  return json_string(hex);
}

static int on_place_end(void *ctx, const struct placegen_place *pl, uint64_t last_seq) {
  struct writer *w = ctx;
  int rc = fclose(w->f) == 0 ? 0 : HLS_EIO;
  w->f = NULL;
  if (rc != 0) {
    fprintf(stderr, "hls_gen_items: %s: %s\n", w->path, strerror(errno));
    return rc;
  }
  json_t *p = json_pack("{s:I, s:s, s:s, s:o, s:I}", "index", (json_int_t)pl->index, "name", pl->name, "region",
                        pl->region, "origin", origin_json(pl->pk), "items", (json_int_t)last_seq);
  return p != NULL && json_array_append_new(w->places, p) == 0 ? 0 : HLS_ENOMEM;
}

/* --- manifest ------------------------------------------------------------------------ */

static json_t *week_json(int32_t week) {
  int y, k;
  char s[9];
  hls_patterns_iso_week(week, &y, &k);
  hls_iso_week_format(y, k, s);
  return json_string(s);
}

static json_t *theme_json(const struct placegen *g, uint32_t t) {
  const struct placegen_theme *th = placegen_theme(g, t);
  char s[HLS_THEME_MAX + 16];
  snprintf(s, sizeof s, "%s:%s", hls_kind_name((enum hls_kind)th->kind), th->slug);
  return json_string(s);
}

static json_t *manifest(const struct placegen *g, json_t *places) {
  const struct placegen_params *p = placegen_params(g);
  json_t *params = json_pack(
      "{s:I, s:i, s:i, s:o, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:i, s:i}", "seed",
      (json_int_t)p->seed, "places", p->places, "weeks", p->weeks, "first_week", week_json(placegen_first_week(g)),
      "themes", p->themes, "zipf_exponent", p->zipf_exponent, "top_rate", p->top_rate, "size_sigma", p->size_sigma,
      "affinity_sigma", p->affinity_sigma, "activity_sigma", p->activity_sigma, "holiday_dip", p->holiday_dip,
      "stories_per_place", p->stories_per_place, "regions", p->regions, "window_weeks", p->window_weeks,
      "threshold", (int)p->threshold, "rounding", (int)p->rounding);
  json_t *themes = json_array(), *plants = json_array();
  if (params == NULL || themes == NULL || plants == NULL) goto fail;
  for (uint32_t t = 0; t < placegen_n_themes(g); t++) {
    const struct placegen_theme *th = placegen_theme(g, t);
    json_t *o = json_pack("{s:o, s:o, s:o}", "theme", theme_json(g, t), "rank",
                          th->rank ? json_integer(th->rank) : json_null(), "plant",
                          th->plant >= 0 ? json_string(hls_pat_signal_name(th->plant)) : json_null());
    if (o == NULL || json_array_append_new(themes, o) != 0) goto fail;
  }
  for (size_t i = 0; i < placegen_n_plants(g); i++) {
    const struct placegen_plant *pl = placegen_plant(g, i);
    json_t *ts = json_array(), *ps = json_array(), *cs = json_array();
    json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "signal", hls_pat_signal_name(pl->signal), "themes", ts,
                          "places", ps, "week_from", week_json(pl->week_from), "week_to", week_json(pl->week_to),
                          "cells", cs);
    if (o == NULL || json_array_append_new(plants, o) != 0) goto fail;
    for (size_t k = 0; k < pl->n_themes; k++)
      if (json_array_append_new(ts, theme_json(g, pl->themes[k])) != 0) goto fail;
    for (size_t k = 0; k < pl->n_places; k++) {
      const struct placegen_place *place = placegen_place(g, pl->places[k]);
      json_t *x = json_pack("{s:I, s:s, s:o}", "index", (json_int_t)place->index, "name", place->name, "origin",
                            origin_json(place->pk));
      if (x == NULL || json_array_append_new(ps, x) != 0) goto fail;
    }
    for (size_t k = 0; k < pl->n_cells; k++) {
      json_t *x = json_pack("{s:I, s:o}", "place", (json_int_t)pl->cells[k].place, "week", week_json(pl->cells[k].week));
      if (x == NULL || json_array_append_new(cs, x) != 0) goto fail;
    }
  }
  json_t *m = json_pack("{s:s, s:o, s:O, s:o, s:o}", "generator", "placegen", "params", params, "places", places,
                        "themes", themes, "plants", plants);
  return m;
fail:
  json_decref(params);
  json_decref(themes);
  json_decref(plants);
  return NULL;
}

int main(int argc, char **argv) {
  struct opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0) {
    usage(stderr);
    return rc;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (mkdir(o.out, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "hls_gen_items: %s: %s\n", o.out, strerror(errno));
    return 1;
  }
  struct placegen *g = NULL;
  struct hls_why why = {{0}};
  if (placegen_new(&g, &o.gp, &why) != 0) {
    fprintf(stderr, "hls_gen_items: %s\n", why.text);
    return 2;
  }
  struct writer w = {.gen = g, .dir = o.out, .places = json_array()};
  msgpack_sbuffer_init(&w.body);
  msgpack_sbuffer_init(&w.env);
  struct placegen_sink sink = {.ctx = &w, .on_place = on_place, .on_digest = on_digest, .on_story = on_story,
                               .on_place_end = on_place_end};
  rc = w.places != NULL ? placegen_run(g, &sink) : HLS_ENOMEM;
  if (w.f != NULL) fclose(w.f);
  json_t *m = rc == 0 ? manifest(g, w.places) : NULL;
  if (rc == 0 && m == NULL) rc = HLS_ENOMEM;
  if (rc == 0) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/manifest.json", o.out) >= (int)sizeof path ||
        json_dump_file(m, path, JSON_INDENT(2)) != 0) {
      fprintf(stderr, "hls_gen_items: cannot write %s\n", path);
      rc = HLS_EIO;
    }
  }
  if (rc == 0)
    printf("wrote %zu places, %llu items, %llu bytes, %zu planted patterns to %s\n", placegen_n_places(g),
           (unsigned long long)w.items, (unsigned long long)w.bytes, placegen_n_plants(g), o.out);
  else
    fprintf(stderr, "hls_gen_items: %s\n", hls_strerror(rc));
  json_decref(m);
  json_decref(w.places);
  free(w.cells);
  msgpack_sbuffer_destroy(&w.body);
  msgpack_sbuffer_destroy(&w.env);
  placegen_free(g);
  return rc == 0 ? 0 : 1;
}
