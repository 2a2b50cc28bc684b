#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_dns_name(const char *s) {
  size_t len = strlen(s), label = 0;
  if (len == 0 || len > HLS_HOST_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
  }
  return s[len - 1] != '-';
}

int hls_hostport_parse(const char *s, struct hls_hostport *out, bool allow_names, bool allow_zero_port,
                       struct hls_why *why) {
  memset(out, 0, sizeof *out);
  if (s == NULL || *s == '\0') return hls_why_set(why, HLS_EINVAL, "address: empty (expected HOST:PORT)");
  const char *port_text;
  size_t host_len;
  const char *host;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return hls_why_set(why, HLS_EINVAL, "address: expected [IPV6]:PORT");
    host = s + 1;
    host_len = (size_t)(close - host);
    port_text = close + 2;
    out->is_ipv6 = true;
  } else {
    const char *colon = strrchr(s, ':');
    if (colon == NULL) return hls_why_set(why, HLS_EINVAL, "address: expected HOST:PORT");
    if (memchr(s, ':', (size_t)(colon - s)) != NULL)
      return hls_why_set(why, HLS_EINVAL, "address: put IPv6 addresses in brackets, [::1]:7420");
    host = s;
    host_len = (size_t)(colon - s);
    port_text = colon + 1;
  }
  if (host_len == 0 || host_len > HLS_HOST_MAX) return hls_why_set(why, HLS_EINVAL, "address: bad host");
  memcpy(out->host, host, host_len);
  out->host[host_len] = '\0';
  char *end = NULL;
  if (*port_text < '0' || *port_text > '9') return hls_why_set(why, HLS_EINVAL, "address: bad port");
  long port = strtol(port_text, &end, 10);
  if (*end != '\0' || port < (allow_zero_port ? 0 : 1) || port > 65535)
    return hls_why_set(why, HLS_EINVAL, "address: port must be %d-65535", allow_zero_port ? 0 : 1);
  out->port = (int)port;
  unsigned char buf[16];
  if (out->is_ipv6) {
    if (inet_pton(AF_INET6, out->host, buf) != 1) return hls_why_set(why, HLS_EINVAL, "address: bad IPv6 address");
    return 0;
  }
  if (inet_pton(AF_INET, out->host, buf) == 1) return 0;
  if (!allow_names) return hls_why_set(why, HLS_EINVAL, "address: expected an IP address (such as 0.0.0.0:7420)");
  if (!valid_dns_name(out->host)) return hls_why_set(why, HLS_EINVAL, "address: bad host name");
  out->is_name = true;
  return 0;
}

void hls_hostport_format(const struct hls_hostport *hp, char out[HLS_HOSTPORT_MAX + 3]) {
  snprintf(out, HLS_HOSTPORT_MAX + 3, hp->is_ipv6 ? "[%s]:%d" : "%s:%d", hp->host, hp->port);
}
