#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "hls_version.h"
#include "log.h"

int64_t hls_node_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

hls_day hls_node_today(void) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  return hls_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static struct hls_control_options control_options(const struct hls_config *c) {
  struct hls_control_options o = {
      .max_frame = (size_t)c->control_max_frame,
      .max_clients = (int)c->control_max_clients,
      .request_timeout_ms = c->control_request_timeout_ms,
  };
  return o;
}

/* One daemon per home: an exclusive lock on DIR/hlsd.lock, held until
 * exit (the kernel drops it if we crash). */
static int take_lock(struct hls_node *n, struct hls_why *why) {
  char path[HLS_PATH_MAX];
  if (hls_home_path(n->home, "hlsd.lock", path) != 0) return HLS_ETOOBIG;
  n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (n->lock_fd < 0) return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(errno));
  if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(n->lock_fd);
    n->lock_fd = -1;
    if (e == EWOULDBLOCK) return hls_why_set(why, HLS_EBUSY, "another hlsd is already running on %s", n->home);
    return hls_why_set(why, HLS_EIO, "%s: %s", path, strerror(e));
  }
  return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void node_stop(struct hls_node *n, const char *why) {
  if (n->stopping) return;
  n->stopping = true;
  hls_log_info("shutting_down", "reason=%s", why);
  hls_control_close(n->control);
  n->control = NULL;
  uv_close((uv_handle_t *)&n->sig_int, NULL);
  uv_close((uv_handle_t *)&n->sig_term, NULL);
  uv_close((uv_handle_t *)&n->sig_hup, NULL);
}

static void restart_needed(const struct hls_config_option *o, void *ctx) {
  (void)ctx;
  hls_log_warn("config_needs_restart", "option=%s.%s", o->section, o->name);
}

static void on_signal(uv_signal_t *s, int signum) {
  struct hls_node *n = s->data;
  if (signum == SIGHUP) {
    struct hls_config fresh;
    struct hls_why why = {{0}};
    int rc = n->reload(&fresh, n->reload_ctx, &why);
    if (rc != 0) {
      hls_log_error("config_reload_failed", "error=%s keeping=current_config", hls_err_name(rc));
      /* The detail names the option and range; it holds no secrets. */
      fprintf(stderr, "hlsd: %s\n", why.text);
      return;
    }
    hls_config_apply_reload(n->config, &fresh, restart_needed, n);
    /* Log the reload under the more verbose of the old and new levels,
     * so a switch either way is on record. */
    enum hls_log_level level = (enum hls_log_level)n->config->log_level;
    if (!hls_log_enabled(level)) hls_log_set_level(level);
    hls_log_info("config_reloaded", "log_level=%s", hls_log_level_name(level));
    hls_log_set_level(level);
    struct hls_control_options opt = control_options(n->config);
    hls_control_set_options(n->control, &opt);
    return;
  }
  node_stop(n, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

int hls_node_run(struct hls_node *n, const char *home, struct hls_config *config, hls_config_loader reload,
                 void *reload_ctx, struct hls_why *why) {
  int rc;
  char path[HLS_PATH_MAX];
  memset(n, 0, sizeof *n);
  n->lock_fd = -1;
  n->config = config;
  n->reload = reload;
  n->reload_ctx = reload_ctx;
  snprintf(n->home, sizeof n->home, "%s", home);
  n->started_ms = hls_node_now_ms();

  if ((rc = hls_home_check_permissions(n->home, why)) != 0) return rc;
  if ((rc = take_lock(n, why)) != 0) return rc;
  if ((rc = hls_home_load_identity(n->home, &n->identity, why)) != 0) goto fail;
  if ((rc = hls_home_load_network_key(n->home, n->network_key, why)) != 0) goto fail;
  hls_nodeid_format(n->identity.public_key, n->node_id);
  hls_network_fingerprint(n->network_key, n->network_fingerprint);

  struct hls_store_options store_opt = {.synchronous_full = config->store_synchronous == 1,
                                        .cache_bytes = config->store_cache_bytes};
  if ((rc = hls_home_path(n->home, "hlsd.db", path)) != 0) goto fail;
  if ((rc = hls_store_open(&n->store, path, &store_opt, why)) != 0) goto fail;

  if ((rc = uv_loop_init(&n->loop)) != 0) {
    rc = hls_why_set(why, HLS_EIO, "event loop: %s", uv_strerror(rc));
    goto fail;
  }
  uv_signal_init(&n->loop, &n->sig_int);
  uv_signal_init(&n->loop, &n->sig_term);
  uv_signal_init(&n->loop, &n->sig_hup);
  n->sig_int.data = n->sig_term.data = n->sig_hup.data = n;
  uv_signal_start(&n->sig_int, on_signal, SIGINT);
  uv_signal_start(&n->sig_term, on_signal, SIGTERM);
  uv_signal_start(&n->sig_hup, on_signal, SIGHUP);

  struct hls_control_options copt = control_options(config);
  if ((rc = hls_home_path(n->home, "hlsd.sock", path)) != 0 ||
      (rc = hls_control_start(&n->control, &n->loop, path, &copt, hls_api_dispatch, hls_api_client_gone, n, why)) !=
          0) {
    node_stop(n, "startup_failed");
    uv_run(&n->loop, UV_RUN_DEFAULT);
    uv_loop_close(&n->loop);
    goto fail;
  }
  char quoted[2 * HLS_PLACE_MAX + 8];
  hls_log_info("started", "version=%s node_id=%s place=%s network_id=%s control=%s pid=%d", HLS_VERSION, n->node_id,
               hls_log_quote(config->place, quoted, sizeof quoted), n->network_fingerprint, path, (int)getpid());

  uv_run(&n->loop, UV_RUN_DEFAULT);
  /* Everything is closed by node_stop; anything left is a bug, but close
   * it rather than leak it. */
  uv_walk(&n->loop, close_walk, NULL);
  uv_run(&n->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&n->loop) != 0) hls_log_error("loop_not_closed", "handles=open");
  rc = 0;
  hls_log_info("stopped", "uptime_ms=%lld", (long long)(hls_node_now_ms() - n->started_ms));
fail:
  hls_store_free(n->store);
  n->store = NULL;
  sodium_memzero(&n->identity, sizeof n->identity);
  sodium_memzero(n->network_key, sizeof n->network_key);
  if (n->lock_fd >= 0) close(n->lock_fd);
  return rc;
}
