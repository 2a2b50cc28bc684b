/* The pattern and feed commands (docs/control.md): patterns,
 * patterns.show, patterns.summary, feed.subscribe, feed.list,
 * feed.unsubscribe, feed.follow, feed.ack, feed.events. patternsd answers them
 * (patternsd.h); these hand it the call. */
#include "api_handlers.h"

#include <stdlib.h>
#include <string.h>

#include "patternsd.h"
#include "trust.h"

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* patterns --vouched hands the engine's listing the vouched places
 * (trust.h) as this node holds them now. */
int api_patterns(struct hls_api *api, struct hls_control_call *call) {
  bool vouched = false;
  int rc = hls_mp_get_bool(call->req->args, "vouched", &vouched, NULL, &call->why);
  if (rc != 0 || !vouched) return rc != 0 ? rc : hls_patternsd_api_list(api->env.patterns, call);
  struct hls_trust t;
  rc = hls_trust_load(&t, api->env.store, api->env.identity->public_key, api->env.config->trust_partner_vouches,
                      &call->why);
  if (rc != 0) return rc;
  uint8_t *ids = malloc(t.n_nodes ? 2 * t.n_nodes * 32 : 1);
  size_t n = 0;
  if (ids == NULL) {
    hls_trust_free(&t);
    return hls_why_set(&call->why, HLS_ENOMEM, "out of memory");
  }
  /* Patterns know a place by the first key of its succession (its root):
   * a vouched key vouches for its place's root too. */
  for (size_t i = 0; i < t.n_nodes; i++) {
    if (!t.nodes[i].vouched) continue;
    memcpy(ids + 32 * n++, t.nodes[i].node_id, 32);
    if (memcmp(t.nodes[i].root, t.nodes[i].node_id, 32) != 0) memcpy(ids + 32 * n++, t.nodes[i].root, 32);
  }
  hls_trust_free(&t);
  qsort(ids, n, 32, id_cmp); /* patfilter looks them up by bsearch */
  rc = hls_patternsd_api_list_vouched(api->env.patterns, call, ids, n);
  free(ids);
  return rc;
}
int api_patterns_show(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_show(api->env.patterns, call);
}
int api_patterns_summary(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_summary(api->env.patterns, call);
}
int api_feed_subscribe(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_subscribe(api->env.patterns, call);
}
int api_feed_list(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_feeds(api->env.patterns, call);
}
int api_feed_unsubscribe(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_unsubscribe(api->env.patterns, call);
}
int api_feed_follow(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_follow(api->env.patterns, call);
}
int api_feed_ack(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_ack(api->env.patterns, call);
}
int api_feed_events(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_feed_events(api->env.patterns, call);
}
