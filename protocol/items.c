/* .items files and the items.import request: see items.h. */
#include "items.h"

#include <stdlib.h>
#include <string.h>

#include "hls_limits.h"

int hls_items_next(const uint8_t *data, size_t len, struct hls_envelope *env, size_t *used, struct hls_why *why) {
  *used = 0;
  if (len == 0) return hls_why_set(why, HLS_ETRUNCATED, "no envelope: end of input");
  /* Every canonical envelope starts with the header of an array of 3. */
  if (data[0] != 0x93)
    return hls_why_set(why, HLS_EMALFORMED, "not an envelope (a msgpack array of 3 starts with 0x93, not 0x%02x)",
                       data[0]);
  size_t window = len < HLS_ENV_MAX_BYTES ? len : HLS_ENV_MAX_BYTES;
  struct hls_mp_reader r;
  hls_mp_reader_init(&r, data, window, true);
  int rc = hls_mp_skip(&r);
  if (rc == HLS_ETRUNCATED && len > HLS_ENV_MAX_BYTES)
    return hls_why_set(why, HLS_ETOOBIG, "an envelope longer than %u bytes", (unsigned)HLS_ENV_MAX_BYTES);
  if (rc == HLS_ETRUNCATED) return hls_why_set(why, HLS_ETRUNCATED, "the input ends inside an envelope");
  if (rc != 0) return hls_why_set(why, rc == HLS_EUTF8 ? HLS_EMALFORMED : rc, "not an envelope: %s", hls_strerror(rc));
  size_t n = (size_t)(r.pos - data);
  rc = hls_env_decode(env, data, n, why);
  if (rc != 0) return rc;
  *used = n;
  return 0;
}

int hls_items_request_decode(const struct hls_mp_value *args, struct hls_envelope *envs, size_t max, size_t *n,
                             struct hls_why *why) {
  *n = 0;
  const struct hls_mp_value *list = hls_mp_get(args, "envelopes");
  if (list == NULL || list->type != HLS_MP_ARRAY)
    return hls_why_set(why, HLS_EINVAL, "envelopes: expected a list of envelopes (bytes)");
  if (list->len == 0) return hls_why_set(why, HLS_EINVAL, "envelopes: empty");
  if (list->len > HLS_IMPORT_ITEMS_MAX)
    return hls_why_set(why, HLS_ETOOBIG, "envelopes: %u in one request (at most %u)", list->len,
                       (unsigned)HLS_IMPORT_ITEMS_MAX);
  if (list->len > max) return hls_why_set(why, HLS_ETOOBIG, "envelopes: %u (room for %zu)", list->len, max);
  for (uint32_t i = 0; i < list->len; i++) {
    const struct hls_mp_value *v = &list->v.items[i];
    if (v->type != HLS_MP_BIN) return hls_why_set(why, HLS_EINVAL, "envelopes: item %u is not bytes", i);
    struct hls_why ew = {{0}};
    int rc = hls_env_decode(&envs[i], v->v.bin, v->len, &ew);
    if (rc != 0) return hls_why_set(why, rc, "envelopes: item %u: %s", i, ew.text);
  }
  *n = list->len;
  return 0;
}

size_t hls_items_run_length(const struct hls_envelope *envs, size_t n) {
  size_t k = 1;
  while (k < n && hls_env_check_link(&envs[k - 1], &envs[k]) == 0) k++;
  return k;
}

/* --- ordering ------------------------------------------------------------- */

static int by_origin_seq_id(const void *pa, const void *pb) {
  const struct hls_items_entry *a = pa, *b = pb;
  int c = memcmp(a->origin, b->origin, HLS_KEY_BYTES);
  if (c != 0) return c;
  if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
  c = memcmp(a->id, b->id, HLS_HASH_BYTES);
  if (c != 0) return c;
  if (a->body != b->body) return a->body ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

static bool same_slot(const struct hls_items_entry *a, const struct hls_items_entry *b) {
  return a->seq == b->seq && memcmp(a->origin, b->origin, HLS_KEY_BYTES) == 0;
}

int hls_items_order(struct hls_items_entry *e, size_t *n, size_t *n_runs, size_t *duplicates) {
  size_t count = *n;
  *n_runs = 0;
  *duplicates = 0;
  if (count == 0) return 0;
  qsort(e, count, sizeof *e, by_origin_seq_id);
  /* Identical items: the sort put the one to keep first. */
  size_t w = 0;
  for (size_t i = 0; i < count; i++) {
    if (w > 0 && same_slot(&e[w - 1], &e[i]) && memcmp(e[w - 1].id, e[i].id, HLS_HASH_BYTES) == 0) continue;
    e[w++] = e[i];
  }
  *duplicates = count - w;
  count = w;
  /* One item per (origin, seq) stays in the runs. Slots are taken from the
   * highest seq down, so the kept item at seq + 1 is known: keep what it
   * links to when that is here. */
  bool *keep = calloc(count, sizeof *keep);
  struct hls_items_entry *tmp = malloc(count * sizeof *tmp);
  if (keep == NULL || tmp == NULL) {
    free(keep);
    free(tmp);
    return HLS_ENOMEM;
  }
  const struct hls_items_entry *above = NULL; /* the kept item of the slot just above, if seq + 1 */
  for (size_t end = count; end > 0;) {
    size_t start = end - 1;
    while (start > 0 && same_slot(&e[start - 1], &e[end - 1])) start--;
    if (above != NULL && (above->seq != e[start].seq + 1 || memcmp(above->origin, e[start].origin, HLS_KEY_BYTES) != 0))
      above = NULL;
    size_t pick = start;
    for (size_t i = start; i < end; i++) {
      if (above != NULL && memcmp(above->prev, e[i].id, HLS_HASH_BYTES) == 0) {
        pick = i;
        break;
      }
      if (e[i].order < e[pick].order) pick = i;
    }
    keep[pick] = true;
    above = &e[pick];
    end = start;
  }
  size_t r = 0, x = 0, n_keep = 0;
  for (size_t i = 0; i < count; i++) n_keep += keep[i];
  for (size_t i = 0; i < count; i++) {
    if (keep[i]) tmp[r++] = e[i];
    else tmp[n_keep + x++] = e[i];
  }
  memcpy(e, tmp, count * sizeof *e);
  free(keep);
  free(tmp);
  *n = count;
  *n_runs = n_keep;
  return 0;
}
