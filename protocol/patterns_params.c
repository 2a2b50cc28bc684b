/* The pattern engine's names and parameters (patterns.h): the signals'
 * and changes' names, and the table HLS_PAT_PARAMS makes (defaults,
 * bounds, help) with its checks (docs/patterns.md, "The signals"). */
#include "patterns.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* --- parameters ------------------------------------------------------------------------ */

static const char *const signal_names[HLS_PAT_SIGNAL_COUNT] = {"spread", "emerging", "rising", "together",
                                                                "cross-scale"};

const char *hls_pat_signal_name(int signal) {
  return signal >= 0 && signal < HLS_PAT_SIGNAL_COUNT ? signal_names[signal] : "unknown";
}

int hls_pat_signal_parse(const char *name, int *signal) {
  for (int i = 0; i < HLS_PAT_SIGNAL_COUNT; i++)
    if (strcmp(name, signal_names[i]) == 0) {
      *signal = i;
      return 0;
    }
  return HLS_EINVAL;
}

static const char *const change_names[HLS_PAT_CHANGE_COUNT] = {"new", "updated", "retracted", "ended",
                                                                 "joined", "left", "grew", "shrank"};

const char *hls_pat_change_name(int change) {
  return change >= 0 && change < HLS_PAT_CHANGE_COUNT ? change_names[change] : "unknown";
}

int hls_pat_change_parse(const char *name, int *change) {
  for (int i = 0; i < HLS_PAT_CHANGE_COUNT; i++)
    if (strcmp(name, change_names[i]) == 0) {
      *change = i;
      return 0;
    }
  return HLS_EINVAL;
}

void hls_pat_params_default(struct hls_pat_params *p) {
#define DEFAULT_(type, name, def, ...) .name = def,
  *p = (struct hls_pat_params){HLS_PAT_PARAMS(DEFAULT_)};
#undef DEFAULT_
}

static const struct hls_pat_param param_table[HLS_PAT_PARAM_COUNT] = {
#define ROW_(type, name, def, lo, hi, lo_by, hi_by, signals, help)                                                \
  {#name, HLS_PAT_PARAM_##type, offsetof(struct hls_pat_params, name), def, lo, hi, HLS_PAT_IX_##lo_by,            \
   HLS_PAT_IX_##hi_by, signals, help},
    HLS_PAT_PARAMS(ROW_)
#undef ROW_
};

const struct hls_pat_param *hls_pat_params_table(size_t *count) {
  *count = HLS_PAT_PARAM_COUNT;
  return param_table;
}

double hls_pat_param_get(const struct hls_pat_params *p, int ix) {
  const char *field = (const char *)p + param_table[ix].offset;
  if (param_table[ix].type == HLS_PAT_PARAM_REAL) {
    double v;
    memcpy(&v, field, sizeof v);
    return v;
  }
  int v;
  memcpy(&v, field, sizeof v);
  return v;
}

void hls_pat_param_set(struct hls_pat_params *p, int ix, double v) {
  char *field = (char *)p + param_table[ix].offset;
  if (param_table[ix].type == HLS_PAT_PARAM_REAL) {
    memcpy(field, &v, sizeof v);
  } else {
    int x = (int)v;
    memcpy(field, &x, sizeof x);
  }
}

/* In table order, so that a bound taken from another parameter (always an
 * earlier one) has been checked itself: keep_p's least is fdr, never
 * below fdr's own least. */
int hls_pat_params_check(const struct hls_pat_params *p, struct hls_why *why) {
  for (int i = 0; i < HLS_PAT_PARAM_COUNT; i++) {
    const struct hls_pat_param *r = &param_table[i];
    double v = hls_pat_param_get(p, i), lo = r->min, hi = r->max;
    if (r->min_by != HLS_PAT_IX_NONE) lo = fmax(lo, hls_pat_param_get(p, r->min_by));
    if (r->max_by != HLS_PAT_IX_NONE) hi = fmin(hi, hls_pat_param_get(p, r->max_by));
    if (!(v >= lo && v <= hi)) return hls_why_set(why, HLS_EINVAL, "patterns: %s must be in %g..%g", r->name, lo, hi);
  }
  return 0;
}
