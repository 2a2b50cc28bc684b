/* signal_score: how bench_signal scores patterns against planted truth.
 * Pure functions, no engine, no generator: tests/unit/test_signal_score.c
 * proves them on hand-made plants and patterns.
 *
 * Places and themes are the generator's numbers (the caller translates the
 * engine's). Weeks are absolute.
 *
 * A pattern is ON a plant when it has the plant's signal, the plant's
 * theme (together: the plant's two themes, in either order; a pattern with
 * a second theme is never on a one-theme plant), and its weeks overlap the
 * plant's weeks (week_from..week_to: a pattern wholly before the change or
 * after it is not about it). Any other pattern is false: whatever it
 * reports, it is not a planted change.
 *
 * A plant is FOUND in a week when a pattern live after that week's update
 * is on it and covers at least SIGNAL_SCORE_COVER (80%) of its places,
 * rounded up (signal_score_needed). Its delay is the first such week minus
 * the plant's week_from (its onset); within_2_weeks means a delay of at
 * most 2 (found in the onset week or one of the next two).
 *
 * A pattern is ABOUT a plant when it would be on it but for its signal:
 * a one-theme pattern of any signal on a one-theme plant's theme, or a
 * pair on a together plant's pair, whose weeks overlap the plant's. A
 * plant is FOUND BY ANY SIGNAL as it is found, by patterns about it. A
 * theme of its own taken up at a few places in one week is, to the engine,
 * places new to a theme (spread), whatever signal the generator meant:
 * scoring by signal alone says such a plant is never found. */
#ifndef HLS_SIGNAL_SCORE_H
#define HLS_SIGNAL_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGNAL_SCORE_NONE UINT32_MAX
#define SIGNAL_SCORE_COVER_NUM 4 /* 80% = 4/5 */
#define SIGNAL_SCORE_COVER_DEN 5
#define SIGNAL_SCORE_SOON_WEEKS 2

struct signal_score_plant {
  int signal;
  size_t n_themes;     /* 1, or 2 for together */
  uint32_t themes[2];
  int32_t week_from, week_to;
  size_t n_places;
  const uint32_t *places; /* sorted, distinct; borrowed */
};

struct signal_score_pattern {
  int signal;
  uint32_t theme, theme2; /* theme2 SIGNAL_SCORE_NONE unless a pair */
  int32_t week_from, week_to;
  size_t n_places;
  const uint32_t *places; /* sorted, distinct; borrowed */
};

/* Places needed to cover 80% of n: ceil(4n / 5) (n = 0: 0). */
size_t signal_score_needed(size_t n_places);

/* Whether p is on plant pl (signal, theme(s), weeks overlap). */
bool signal_score_on_plant(const struct signal_score_plant *pl, const struct signal_score_pattern *p);

/* Whether p is about plant pl (theme(s), weeks overlap; any signal). */
bool signal_score_about_plant(const struct signal_score_plant *pl, const struct signal_score_pattern *p);

/* The plant's places among the pattern's (both sorted). */
size_t signal_score_covered(const struct signal_score_plant *pl, const struct signal_score_pattern *p);

/* The first plant p is on, or -1 (a false pattern). */
int signal_score_which(const struct signal_score_plant *plants, size_t n_plants, const struct signal_score_pattern *p);

/* A plant's score as weeks go by: call signal_score_see for every live
 * pattern after each week's update, in week order. */
struct signal_score_track {
  bool found;
  int32_t found_week;  /* the first week it was found */
  size_t best_covered; /* the most of its places any pattern on it covered */
};
void signal_score_track_init(struct signal_score_track *t);
void signal_score_see(struct signal_score_track *t, const struct signal_score_plant *pl,
                      const struct signal_score_pattern *p, int32_t week);
/* As signal_score_see, for patterns about the plant (any signal). */
void signal_score_see_any(struct signal_score_track *t, const struct signal_score_plant *pl,
                          const struct signal_score_pattern *p, int32_t week);
/* found_week - week_from (meaningful when found). */
int32_t signal_score_delay(const struct signal_score_track *t, const struct signal_score_plant *pl);
bool signal_score_within(const struct signal_score_track *t, const struct signal_score_plant *pl, int32_t weeks);

#endif
