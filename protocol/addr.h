/* "HOST:PORT" addresses as people write them: an IPv4 literal, an IPv6
 * literal in brackets ("[::1]:7420"), or (where allowed) a DNS name. */
#ifndef HLS_ADDR_H
#define HLS_ADDR_H

#include <stdbool.h>

#include "err.h"

#define HLS_HOST_MAX 253 /* longest DNS name */
#define HLS_HOSTPORT_MAX (HLS_HOST_MAX + 8)

struct hls_hostport {
  char host[HLS_HOST_MAX + 1]; /* without brackets */
  int port;                    /* 1..65535 (0 only when allow_zero_port) */
  bool is_ipv6;
  bool is_name; /* a DNS name, not a literal */
};

int hls_hostport_parse(const char *s, struct hls_hostport *out, bool allow_names, bool allow_zero_port,
                       struct hls_why *why) HLS_WARN_UNUSED;
/* Back to text: "1.2.3.4:7420", "[::1]:7420", "example.org:7420". */
void hls_hostport_format(const struct hls_hostport *hp, char out[HLS_HOSTPORT_MAX + 3]);

#endif
