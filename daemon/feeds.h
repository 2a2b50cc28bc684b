/* Feeds and followers of pattern events (feeds.c); the control commands
 * feed.* are declared with the others in patternsd.h. Event-loop thread
 * only. */
#ifndef HLS_FEEDS_H
#define HLS_FEEDS_H

#include <stddef.h>

struct hls_patternsd;

/* Send every follower what it has not seen, up to its window. */
void hls_feeds_pump_all(struct hls_patternsd *pd);
/* Drop every follower, without a reply (closing). */
void hls_feeds_free_followers(struct hls_patternsd *pd);
size_t hls_feeds_count_followers(const struct hls_patternsd *pd);

#endif
