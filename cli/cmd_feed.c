/* hls feed subscribe | list | follow | ack | unsubscribe: durable feeds of
 * the changes of patterns (docs/cli.md#hls-feed). follow prints each
 * event once whoever reads hls's output has taken it, and acknowledges it
 * then, so a feed's cursor moves only past what was read. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "params.h"
#include "patfmt.h"
#include "patview.h"


int cmd_feed_subscribe(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_SUBSCRIBE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else
  {
    printf("Subscribed feed %s. 'hls feed follow %s' prints its events, from the first pattern this node found;\n"
           "each is delivered once per acknowledgement, also across restarts.\n",
           cli_params_str(&p, "name"), cli_params_str(&p, "name"));
    const struct hls_mp_value *v = hls_mp_get(hls_mp_get(resp.result, "filter"), "vouched");
    if (v != NULL && v->type == HLS_MP_BOOL && v->v.b)
      printf("Only vouched places count (hls places), as they stand when an event is handed out.\n");
  }
  /* a theme or region no place has (yet): the feed is made, and waits */
  const struct hls_mp_value *note = hls_mp_get(resp.result, "note");
  if (!c->json && note != NULL && note->type == HLS_MP_STR)
    fprintf(stderr, "hls: %.*s; the feed selects its patterns if one appears\n", (int)note->len, note->v.str);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

static void filter_text(const struct hls_mp_value *f, char *out, size_t size) {
  out[0] = '\0';
  size_t len = 0;
  for (uint32_t i = 0; f && f->type == HLS_MP_MAP && i < f->len; i++) {
    const struct hls_mp_kv *kv = &f->v.kv[i];
    int w = snprintf(out + len, size - len, "%s%.*s=", len ? " " : "", (int)kv->key.len, kv->key.v.str);
    if (w < 0 || (size_t)w >= size - len) return;
    len += (size_t)w;
    const struct hls_mp_value *items = kv->val.type == HLS_MP_ARRAY ? kv->val.v.items : &kv->val;
    uint32_t n = kv->val.type == HLS_MP_ARRAY ? kv->val.len : 1;
    for (uint32_t j = 0; j < n; j++) {
      const struct hls_mp_value *v = &items[j];
      if (v->type == HLS_MP_STR) w = snprintf(out + len, size - len, "%s%.*s", j ? "," : "", (int)v->len, v->v.str);
      else if (v->type == HLS_MP_BOOL) w = snprintf(out + len, size - len, "%s", v->v.b ? "yes" : "no");
      else if (v->type == HLS_MP_UINT) w = snprintf(out + len, size - len, "%llu", (unsigned long long)v->v.u);
      else if (v->type == HLS_MP_INT) w = snprintf(out + len, size - len, "%lld", (long long)v->v.i);
      else if (v->type == HLS_MP_FLOAT) w = snprintf(out + len, size - len, "%g", v->v.f);
      else w = snprintf(out + len, size - len, "?");
      if (w < 0 || (size_t)w >= size - len) return;
      len += (size_t)w;
    }
  }
  if (!out[0]) snprintf(out, size, "(every pattern)");
}

static void feeds_table(const struct hls_mp_value *list) {
  static const char *const headers[] = {"FEED", "FILTER", "CURSOR", "EVENTS AFTER", "ACKED", "FOLLOWERS"};
  struct hls_table *t = hls_table_new(6, headers);
  if (t) hls_table_set_shrink(t, 1, 12);
  for (uint32_t i = 0; t && i < list->len; i++) {
    const struct hls_mp_value *f = &list->v.items[i];
    char name[80], filter[4096], cursor[24], after[24], acked[32], followers[16];
    filter_text(hls_mp_get(f, "filter"), filter, sizeof filter);
    snprintf(cursor, sizeof cursor, "%lld", (long long)hls_out_int(f, "cursor"));
    snprintf(after, sizeof after, "%lld", (long long)hls_out_int(f, "events_after_cursor"));
    snprintf(followers, sizeof followers, "%lld", (long long)hls_out_int(f, "followers"));
    if (!hls_out_str(f, "acked", acked, sizeof acked)[0]) snprintf(acked, sizeof acked, "never");
    const char *row[] = {hls_out_str(f, "name", name, sizeof name), filter, cursor, after, acked, followers};
    hls_table_add(t, row);
  }
  if (t) hls_table_print(t, stdout);
  hls_table_free(t);
}

int cmd_feed_list(struct cli *c, int argc, char **argv) {
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_call_simple(c, argc, argv, HLS_M_FEED_LIST, &resp, &done);
  if (done) return rc;
  rc = 0;
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (resp.result == NULL || resp.result->type != HLS_MP_ARRAY || resp.result->len == 0)
    printf("No feeds. 'hls feed subscribe NAME [filters]' makes one.\n");
  else feeds_table(resp.result);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_feed_unsubscribe(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_UNSUBSCRIBE, &p, &resp, &done);
  if (done) return rc;
  if (c->json) rc = hls_out_print_json(resp.result);
  else printf("Unsubscribed feed %s.\n", cli_params_str(&p, "name"));
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

/* Print one event to out: a line of JSON (NDJSON) or of text. */
static int print_event(struct cli *c, const struct hls_mp_value *e, FILE *out) {
  if (c->json) {
    json_t *j = hls_mpjson_from_mp(e);
    if (j == NULL) return HLS_ENOMEM;
    int rc = json_dumpf(j, out, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15)) == 0 ? 0 : HLS_EIO;
    json_decref(j);
    if (rc == 0 && fputc('\n', out) == EOF) rc = HLS_EIO;
    return rc;
  }
  const struct hls_mp_value *p = hls_mp_get(e, "pattern");
  char at[32], change[16], signal[16], theme[2 * HLS_THEME_MAX + 32], weeks[40], names[1024], id[32], strength[16],
      region[HLS_REGION_MAX + 8] = "";
  hls_patview_theme(p, theme, sizeof theme);
  hls_patview_weeks(p, weeks, sizeof weeks);
  hls_patview_places(p, names, sizeof names, 8);
  hls_patfmt_strength(hls_patview_num(p, "strength"), strength, sizeof strength);
  char r[HLS_REGION_MAX + 1];
  if (hls_out_str(p, "region", r, sizeof r)[0]) snprintf(region, sizeof region, " in %s", r);
  hls_out_str(e, "at", at, sizeof at);
  hls_out_str(e, "change", change, sizeof change);
  hls_out_str(p, "signal", signal, sizeof signal);
  hls_out_str(p, "id", id, sizeof id);
  const char *ended = hls_patview_flag(p, "live") ? "" : " (ended)";
  long long seq = hls_out_int(e, "seq"), n_places = hls_out_int(p, "n_places");
  /* Printed for stdout (out may be a buffer of it: follow). On a
   * terminal, as many place names as fit its width (at least one: "and N
   * more" says the rest) and the id's first 8 digits; into a pipe or
   * file, up to 8 names and the whole id. */
  size_t width = hls_out_term_width();
  if (width > 0) {
    id[8] = '\0'; /* as hls patterns lists it: enough for patterns show */
    int rest = snprintf(NULL, 0, "%lld %s %-9s %-11s %s %s places %lld%s () strength %s%s id %s", seq, at, change,
                        signal, theme, weeks, n_places, region, strength, ended, id);
    for (size_t k = 7; k >= 1 && rest >= 0 && (size_t)rest + strlen(names) > width; k--)
      hls_patview_places(p, names, sizeof names, k);
  }
  fprintf(out, "%lld %s %-9s %-11s %s %s places %lld%s (%s) strength %s%s id %s\n", seq, at, change, signal, theme,
          weeks, n_places, region, names, strength, ended, id);
  return ferror(out) ? HLS_EIO : 0;
}

/* Send an acknowledgement of seq (its reply is read with the stream's
 * frames). late: seq is a late event (a feed --vouched) taken, with those
 * sent late before it; the cursor does not move. 0, or the send's error
 * with why (HLS_ECLOSED: hlsd went away). */
static int send_ack(struct cli *c, const char *name, int64_t seq, bool late, uint64_t *ack_id, struct hls_why *why) {
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, HLS_M_FEED_ACK);
  msgpack_pack_map(&r.pk, 2 + late);
  hls_mp_pack_kv_str(&r.pk, "name", name);
  hls_mp_pack_kv_i64(&r.pk, "seq", seq);
  if (late) hls_mp_pack_kv_bool(&r.pk, "late", true);
  *ack_id = r.id;
  int rc = hls_client_send(&c->client, &r, why);
  hls_client_req_free(&r);
  return rc;
}

/* What the reader of stdout has taken. An event is acknowledged (the
 * feed's cursor moves past it) only once its last byte has left the pipe
 * or socket hls writes to: a write that succeeds only puts it in the
 * pipe's buffer, and a reader that stops early (| head) would lose every
 * event still there. A file or a terminal takes what is written. */
struct sink {
  int fd;
  int queued;        /* 'p' a pipe, 's' a socket: ask how much is still unread; 0 */
  bool gone;         /* the reader closed its end */
  uint64_t written;  /* bytes written to fd */
  int64_t *seq;      /* events written and not yet known taken: seq */
  uint64_t *end;     /* and the offset of their last byte + 1 */
  bool *late;        /* and whether it came late (held back, out of order) */
  size_t head, n, cap;
};

static void sink_init(struct sink *k) {
  memset(k, 0, sizeof *k);
  k->fd = STDOUT_FILENO;
  struct stat st;
  if (fstat(k->fd, &st) == 0) k->queued = S_ISFIFO(st.st_mode) ? 'p' : S_ISSOCK(st.st_mode) ? 's' : 0;
}

/* Bytes written and still waiting for the reader. */
static uint64_t sink_unread(struct sink *k) {
  if (!k->queued) return 0;
  int unread = 0; /* still counted after the reader closed its end: those bytes are lost */
  /* a pipe's unread bytes, from either end; a socket's not yet taken */
  if (ioctl(k->fd, k->queued == 'p' ? FIONREAD : SIOCOUTQ, &unread) != 0) return 0;
  return unread > 0 ? (uint64_t)unread : 0;
}

/* The reader closed its end (checked without writing). */
static bool sink_reader_gone(struct sink *k) {
  if (!k->gone && k->queued && cli_reader_gone(k->fd)) k->gone = true;
  return k->gone;
}

/* The last seq in order wholly taken by the reader, or -1 if none since
 * the last call; *late_last: the last late one taken, if any (else left
 * as it is); forgets the events taken. */
static int64_t sink_taken(struct sink *k, int64_t *late_last) {
  uint64_t taken = k->written - sink_unread(k);
  int64_t last = -1;
  while (k->n > 0 && k->end[k->head] <= taken) {
    if (k->late[k->head]) *late_last = k->seq[k->head];
    else last = k->seq[k->head];
    k->head = (k->head + 1) % k->cap;
    k->n--;
  }
  return last;
}

/* Write one event's bytes; HLS_ENOMEM, HLS_EIO, or 0 (also when the
 * reader has gone: k->gone says so). */
static int sink_write(struct sink *k, int64_t seq, bool late, const char *buf, size_t len) {
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 64;
    int64_t *s = malloc(cap * sizeof *s);
    uint64_t *e = malloc(cap * sizeof *e);
    bool *l = malloc(cap * sizeof *l);
    if (s == NULL || e == NULL || l == NULL) {
      free(s), free(e), free(l);
      return HLS_ENOMEM;
    }
    for (size_t i = 0; i < k->n; i++) {
      size_t at = (k->head + i) % k->cap;
      s[i] = k->seq[at], e[i] = k->end[at], l[i] = k->late[at];
    }
    free(k->seq), free(k->end), free(k->late);
    k->seq = s, k->end = e, k->late = l, k->cap = cap, k->head = 0;
  }
  for (size_t off = 0; off < len && !k->gone;) {
    ssize_t w = write(k->fd, buf + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EPIPE) k->gone = true;
    else if (w < 0) return HLS_EIO;
    else off += (size_t)w, k->written += (uint64_t)w;
  }
  if (k->gone) return 0;
  size_t at = (k->head + k->n) % k->cap;
  k->seq[at] = seq, k->end[at] = k->written, k->late[at] = late;
  k->n++;
  return 0;
}

static void sink_free(struct sink *k) { free(k->seq), free(k->end), free(k->late); }

/* Wait until the reader has taken everything written, or closed its end. */
static void sink_drain(struct sink *k) {
  while (sink_unread(k) > 0 && !sink_reader_gone(k)) {
    struct pollfd p = {.fd = k->fd, .events = 0};
    (void)poll(&p, 1, 20); /* POLLERR/POLLHUP end it early; else look again */
  }
}

/* Send the follow request: the parameters given, but --from replaced by
 * from when it is 0 or more (following again after hlsd came back). */
static int follow_send(struct cli *c, const struct cli_params *p, int64_t from, uint64_t *follow_id,
                       struct hls_why *why) {
  static const char *const skip_from[] = {"from", NULL};
  const char *const *skip = from >= 0 ? skip_from : NULL;
  struct hls_client_req r;
  hls_client_begin(&c->client, &r, HLS_M_FEED_FOLLOW);
  msgpack_pack_map(&r.pk, cli_params_count(p, skip) + (from >= 0));
  (void)cli_params_pack(p, &r.pk, skip); /* checked: only out of memory, which the send reports */
  if (from >= 0) hls_mp_pack_kv_i64(&r.pk, "from", from);
  *follow_id = r.id;
  int rc = hls_client_send(&c->client, &r, why);
  hls_client_req_free(&r);
  return rc;
}

/* hlsd went away while hls followed (it stopped, or restarted): connect
 * again once it is back, every FOLLOW_RETRY_MS, for as long as it takes
 * (a follow waits for events as long as it takes too). */
#define FOLLOW_RETRY_MS 1000

static void follow_pause(void) {
  struct timespec ts = {FOLLOW_RETRY_MS / 1000, (FOLLOW_RETRY_MS % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* 0 once connected again; HLS_ENOTFOUND when the node's directory is
 * gone (no hlsd will come back there: the follow ends). */
static int follow_reconnect(struct cli *c) {
  hls_client_close(&c->client);
  for (;;) {
    follow_pause();
    struct stat st;
    if (stat(c->home, &st) != 0 && errno == ENOENT) return HLS_ENOTFOUND;
    struct hls_why why = {{0}};
    if (hls_client_connect(&c->client, c->home, c->home_flag != NULL, &why) == 0) break;
  }
  c->client.timeout_ms = 0;
  return 0;
}

/* Acknowledge the events taken, at most every ACK_EVERY events and
 * whenever nothing more is waiting: an event not acknowledged (hls killed,
 * or the reader stopped before it) comes again next time; one
 * acknowledged never does. */
#define ACK_EVERY 32

int cmd_feed_follow(struct cli *c, int argc, char **argv) {
  static const struct option own[] = {{"no-wait", no_argument, NULL, 'n'}, {"limit", required_argument, NULL, 'l'},
                                      {NULL, 0, NULL, 0}};
  struct cli_opts o;
  struct cli_params p;
  bool no_wait = false;
  int64_t limit = 0;
  int opt, ec, rc;
  cli_opts_init_params(&o, &p, HLS_M_FEED_FOLLOW, own);
  while ((opt = cli_next_opt(c, &o, argc, argv, &ec)) != -1) {
    if (ec >= 0) return ec;
    if (opt == 'n') no_wait = true;
    else if (opt == 'l' && cli_parse_limit(optarg, &limit) != 0)
      return cli_usage(c, "--limit: a whole number, 0 or more (0: no limit)");
    else if (opt != 'l' && (rc = cli_params_take(c, &p, opt, optarg)) != 0) return rc == 1 ? cli_usage(c, "unknown option") : rc;
  }
  if ((rc = cli_params_positional(c, &p, argc, argv)) != 0 || (rc = cli_params_check(c, &p)) != 0) return rc;
  const char *name = cli_params_str(&p, "name");
  if ((rc = cli_connect(c)) != 0) return rc;
  c->client.timeout_ms = 0; /* a stream waits as long as it takes */
  signal(SIGPIPE, SIG_IGN);
  fflush(stdout);
  struct hls_why why = {{0}};
  c->refused_is_failure = true; /* --from past the feed's end */
  uint64_t follow_id;
  if ((rc = follow_send(c, &p, -1, &follow_id, &why)) != 0) return cli_fail(c, rc, "%s", why.text);
  /* Without --no-wait, a follow outlives hlsd: when the connection is
   * lost it follows again once hlsd is back, after the last event its
   * reader took (the feed's cursor is durable; resumed counts those). */
  bool resumed = false;
  int64_t resume_from = -1; /* the --from of a follow sent again (-1: none) */
  struct sink k;
  sink_init(&k);
  char *buf = NULL;
  size_t buf_len = 0;
  /* taken: the last event the reader took; caught_up: where the daemon's
   * scan stopped, which may be acknowledged once every event before it
   * was taken (it skips the events the feed's filter leaves out). */
  int64_t printed = 0, taken = -1, acked = 0, caught_up = -1;
  /* An event that came once the limit was reached (or the reader had
   * gone) was not printed: no acknowledgement may pass it, so caught_up
   * (which would) counts no more. */
  bool dropped = false;
  size_t pending_acks = 0;
  /* A feed --vouched sends what it held back late (marked late), behind
   * the cursor: the last one taken is acknowledged as such (with it,
   * those sent late before it), so that one not taken comes again. */
  int64_t late_last = -1, late_acked = -1;
  for (;;) {
    bool limit_reached = limit > 0 && printed >= limit;
    bool stop = k.gone || limit_reached || (no_wait && caught_up >= 0);
    if (stop) sink_drain(&k);
    int64_t t = sink_taken(&k, &late_last);
    if (t > taken) taken = t;
    int64_t want = taken;
    if (k.n == 0 && !k.gone && !dropped && caught_up > want) want = caught_up;
    bool late_new = late_last != late_acked;
    bool lost = false;
    if ((want > acked || late_new) && (stop || printed % ACK_EVERY == 0 || !hls_client_readable(&c->client))) {
      uint64_t ack_id;
      if (want > acked) {
        rc = send_ack(c, name, want, false, &ack_id, &why);
        if (rc == 0) acked = want, pending_acks++;
      }
      if (rc == 0 && late_new) {
        rc = send_ack(c, name, late_last, true, &ack_id, &why);
        if (rc == 0) late_acked = late_last, pending_acks++;
      }
      if (rc == HLS_ECLOSED && !no_wait && !stop) {
        lost = true;
        rc = 0;
      } else if (rc != 0) {
        rc = cli_fail(c, rc, "acknowledging: %s", why.text);
        break;
      }
    }
    if (stop && pending_acks == 0) break;
    struct hls_ctl_response resp;
    if (!lost && (rc = hls_client_read(&c->client, &resp, &why)) != 0) {
      if (rc != HLS_ECLOSED || no_wait || stop) {
        rc = cli_fail(c, rc, "%s", why.text);
        break;
      }
      lost = true;
    }
    if (lost) {
      fprintf(stderr, "hls: hlsd went away (%s); following feed %s again once it is back (Ctrl-C stops)\n",
              why.text[0] ? why.text : "the connection broke", name);
      fflush(stderr);
      resumed = true;
      if (follow_reconnect(c) != 0) {
        rc = cli_fail(c, HLS_ENOTFOUND, "the node's directory %s is gone: no hlsd will come back there", c->home);
        break;
      }
      fprintf(stderr, "hls: hlsd is back; following feed %s again\n", name);
      fflush(stderr);
      pending_acks = 0;
      caught_up = -1;
      int64_t after = taken > acked ? taken : acked;
      /* an acknowledgement sent may not have been stored: sent again */
      acked = 0;
      late_acked = -1;
      resume_from = after > 0 ? after : cli_params_int(&p, "from", -1);
      rc = follow_send(c, &p, resume_from, &follow_id, &why);
      if (rc != 0 && rc != HLS_ECLOSED) {
        rc = cli_fail(c, rc, "%s", why.text);
        break;
      }
      rc = 0;
      continue;
    }
    if (resp.kind == HLS_CTL_EVENT && resp.id == follow_id) {
      if (strcmp(resp.event, "caught_up") == 0) {
        caught_up = hls_out_int(resp.result, "seq");
      } else if (limit_reached || k.gone) {
        dropped = true;
      } else {
        FILE *mem = open_memstream(&buf, &buf_len);
        rc = mem == NULL ? HLS_ENOMEM : print_event(c, resp.result, mem);
        if (mem != NULL && fclose(mem) != 0 && rc == 0) rc = HLS_EIO;
        if (rc == 0)
          rc = sink_write(&k, hls_out_int(resp.result, "seq"), hls_patview_flag(resp.result, "late"), buf, buf_len);
        free(buf);
        buf = NULL;
        if (rc != 0) {
          hls_ctl_response_free(&resp);
          rc = cli_fail(c, rc, "writing the event failed");
          break;
        }
        if (!k.gone) printed++;
        caught_up = -1;
      }
    } else if (resp.kind == HLS_CTL_ERROR && resp.id == follow_id && resp.error_code == HLS_EBUSY && resumed) {
      /* back, still computing its patterns after its start: ask again */
      hls_ctl_response_free(&resp);
      follow_pause();
      if ((rc = follow_send(c, &p, resume_from, &follow_id, &why)) != 0 && rc != HLS_ECLOSED) {
        rc = cli_fail(c, rc, "%s", why.text);
        break;
      }
      rc = 0;
      continue;
    } else if (resp.kind == HLS_CTL_ERROR) {
      int code = resp.error_code;
      rc = cli_refused(c, code, resp.error_message);
      hls_ctl_response_free(&resp);
      break;
    } else if (resp.id != follow_id && pending_acks > 0) {
      pending_acks--; /* an acknowledgement's reply */
    }
    hls_ctl_response_free(&resp);
  }
  sink_free(&k);
  return rc;
}

int cmd_feed_ack(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  c->refused_is_failure = true; /* a seq past the feed's end */
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_ACK, &p, &resp, &done);
  if (done) return rc;
  long long cursor = (long long)hls_out_int(resp.result, "cursor"), seq = atoll(cli_params_str(&p, "seq"));
  if (c->json) rc = hls_out_print_json(resp.result);
  else if (cursor > seq)
    printf("Feed %s: cursor stays at %lld (event %lld is behind it: an ack never moves it back).\n",
           cli_params_str(&p, "name"), cursor, seq);
  else printf("Feed %s: cursor at %lld.\n", cli_params_str(&p, "name"), cursor);
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_feed_events(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_EVENTS, &p, &resp, &done);
  if (done) return rc;
  const struct hls_mp_value *list = resp.result;
  if (c->json) {
    rc = hls_out_print_json(list);
  } else if (list == NULL || list->type != HLS_MP_ARRAY || list->len == 0) {
    printf("Feed %s has no events yet.\n", cli_params_str(&p, "name"));
  } else {
    for (uint32_t i = 0; rc == 0 && i < list->len; i++) rc = print_event(c, &list->v.items[i], stdout);
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}

int cmd_feed_token(struct cli *c, int argc, char **argv) {
  struct cli_params p;
  struct hls_ctl_response resp;
  bool done;
  int rc = cli_params_call(c, argc, argv, HLS_M_FEED_TOKEN, &p, &resp, &done);
  if (done) return rc;
  if (c->json) {
    rc = hls_out_print_json(resp.result);
  } else {
    char json_url[1024], atom_url[1024];
    printf("Feed %s, for feed readers, spreadsheets and chat bots (keep these addresses secret: the token\n"
           "in them is the feed's key; hls feed token %s again replaces it):\n  JSON Feed: %s\n  Atom:      %s\n",
           cli_params_str(&p, "name"), cli_params_str(&p, "name"),
           hls_out_str(resp.result, "json_url", json_url, sizeof json_url),
           hls_out_str(resp.result, "atom_url", atom_url, sizeof atom_url));
    if (!hls_patview_flag(resp.result, "web_running")) {
      char problem[512];
      printf("The web app is not serving here (%s): these are paths, to open on its address once it serves.\n",
             hls_out_str(resp.result, "web_problem", problem, sizeof problem));
    }
  }
  hls_ctl_response_free(&resp);
  return rc == 0 ? 0 : HLS_EXIT_FAIL;
}
