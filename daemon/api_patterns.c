/* The pattern and feed commands (docs/control.md): patterns,
 * patterns.show, patterns.summary, feed.subscribe, feed.list,
 * feed.unsubscribe, feed.follow, feed.ack. patternsd answers them
 * (patternsd.h); these hand it the call. */
#include "api_handlers.h"

#include "patternsd.h"

int api_patterns(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_list(n->patterns, call);
}
int api_patterns_show(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_show(n->patterns, call);
}
int api_patterns_summary(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_summary(n->patterns, call);
}
int api_feed_subscribe(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_subscribe(n->patterns, call);
}
int api_feed_list(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_feeds(n->patterns, call);
}
int api_feed_unsubscribe(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_unsubscribe(n->patterns, call);
}
int api_feed_follow(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_follow(n->patterns, call);
}
int api_feed_ack(struct hls_node *n, struct hls_control_call *call) {
  return hls_patternsd_api_ack(n->patterns, call);
}
