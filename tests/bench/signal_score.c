/* signal_score: see signal_score.h. */
#include "signal_score.h"

size_t signal_score_needed(size_t n_places) {
  return (n_places * SIGNAL_SCORE_COVER_NUM + SIGNAL_SCORE_COVER_DEN - 1) / SIGNAL_SCORE_COVER_DEN;
}

bool signal_score_on_plant(const struct signal_score_plant *pl, const struct signal_score_pattern *p) {
  return p->signal == pl->signal && signal_score_about_plant(pl, p);
}

bool signal_score_about_plant(const struct signal_score_plant *pl, const struct signal_score_pattern *p) {
  if (pl->n_themes == 2) {
    bool same = p->theme == pl->themes[0] && p->theme2 == pl->themes[1];
    bool swapped = p->theme == pl->themes[1] && p->theme2 == pl->themes[0];
    if (!same && !swapped) return false;
  } else if (p->theme != pl->themes[0] || p->theme2 != SIGNAL_SCORE_NONE) {
    return false;
  }
  return p->week_from <= pl->week_to && p->week_to >= pl->week_from;
}

size_t signal_score_covered(const struct signal_score_plant *pl, const struct signal_score_pattern *p) {
  size_t i = 0, j = 0, n = 0;
  while (i < pl->n_places && j < p->n_places) {
    if (pl->places[i] == p->places[j]) n++, i++, j++;
    else if (pl->places[i] < p->places[j]) i++;
    else j++;
  }
  return n;
}

int signal_score_which(const struct signal_score_plant *plants, size_t n_plants, const struct signal_score_pattern *p) {
  for (size_t i = 0; i < n_plants; i++)
    if (signal_score_on_plant(&plants[i], p)) return (int)i;
  return -1;
}

void signal_score_track_init(struct signal_score_track *t) {
  t->found = false;
  t->found_week = 0;
  t->best_covered = 0;
}

static void see(struct signal_score_track *t, const struct signal_score_plant *pl,
                const struct signal_score_pattern *p, int32_t week) {
  size_t c = signal_score_covered(pl, p);
  if (c > t->best_covered) t->best_covered = c;
  if (!t->found && pl->n_places > 0 && c >= signal_score_needed(pl->n_places)) {
    t->found = true;
    t->found_week = week;
  }
}

void signal_score_see(struct signal_score_track *t, const struct signal_score_plant *pl,
                      const struct signal_score_pattern *p, int32_t week) {
  if (signal_score_on_plant(pl, p)) see(t, pl, p, week);
}

void signal_score_see_any(struct signal_score_track *t, const struct signal_score_plant *pl,
                          const struct signal_score_pattern *p, int32_t week) {
  if (signal_score_about_plant(pl, p)) see(t, pl, p, week);
}

int32_t signal_score_delay(const struct signal_score_track *t, const struct signal_score_plant *pl) {
  return t->found_week - pl->week_from;
}

bool signal_score_within(const struct signal_score_track *t, const struct signal_score_plant *pl, int32_t weeks) {
  return t->found && signal_score_delay(t, pl) <= weeks;
}
