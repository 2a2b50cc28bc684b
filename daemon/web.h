/* The web app's server (docs/web.md): the app's files, a JSON HTTP API
 * over the daemon's method table (the rows without HLS_MF_LOCAL,
 * HLS_MF_STREAM or HLS_MF_TEST), people's sessions, and each durable
 * feed as JSON Feed 1.1 and Atom behind a per-feed token.
 *
 * HTTP is libmicrohttpd's, run on hlsd's libuv loop: its epoll descriptor
 * is watched by a uv_poll_t and its timeouts by a uv_timer_t, so requests
 * are answered on the loop thread like control-socket calls, with no lock.
 *
 * Rules: every request is capped (headers by libmicrohttpd's connection
 * memory, bodies by web.max_body, refused with 413 before being read when
 * Content-Length says so); every reply carries a Content-Security-Policy
 * that forbids inline script; a POST from another site is refused (its
 * Origin or Sec-Fetch-Site) and every POST of a signed-in session must
 * carry the session's CSRF token; on a loopback address the Host header
 * must name the node (DNS rebinding); failed sign-ins are limited per
 * name and per client address. Errors are JSON with a stable code. */
#ifndef HLS_WEB_H
#define HLS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "control.h"
#include "err.h"

struct hls_store;
struct hls_web;

/* What the server takes from the node: all borrowed, and must outlive
 * it. */
struct hls_web_env {
  uv_loop_t *loop;
  hls_control_dispatch_fn dispatch; /* the methods: hls_api_dispatch in hlsd */
  void *dispatch_ctx;
  struct hls_store *store;         /* users and feed tokens */
  const struct hls_config *config; /* main's, reloaded in place */
  const char *node_id;             /* this node's id as text */
  int64_t (*now_ms)(void *ctx);    /* the node's wall clock */
  void *ctx;
};

/* Listen on config->web_listen ("off": *out = NULL and 0). HLS_ECONFIG
 * for an address that is not loopback without web.tls_cert and
 * web.tls_key, or unreadable TLS files; HLS_EIO when the address cannot
 * be bound. why says which. */
int hls_web_start(struct hls_web **out, const struct hls_web_env *env, struct hls_why *why) HLS_WARN_UNUSED;
/* Stop serving and free it once libuv has closed its handles (the loop
 * must run once more). NULL is a no-op. */
void hls_web_close(struct hls_web *web);
/* The address people open (web.url, or http(s)://HOST:PORT of the bound
 * address) into out, without a trailing slash. */
void hls_web_url(const struct hls_web *web, char *out, size_t size);
/* The port bound (web.listen's port 0 picks one). */
int hls_web_port(const struct hls_web *web);

#endif
