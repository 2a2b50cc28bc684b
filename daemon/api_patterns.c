/* The pattern and feed commands (docs/control.md): patterns,
 * patterns.show, patterns.summary, feed.subscribe, feed.list,
 * feed.unsubscribe, feed.follow, feed.ack, feed.events. patternsd answers them
 * (patternsd.h); these hand it the call. */
#include "api_handlers.h"

#include "patternsd.h"

/* patterns --vouched: the engine's listing judges the places with the
 * vouches this node holds now (hls_patternsd__vouched_filter). */
int api_patterns(struct hls_api *api, struct hls_control_call *call) {
  return hls_patternsd_api_list(api->env.patterns, call);
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
