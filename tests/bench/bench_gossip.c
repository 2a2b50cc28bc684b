/* Benchmark: gossip between real hlsd processes on loopback.
 * Not a test: figures go to docs/benchmarks.md.
 *
 * Usage:
 *   bench_gossip HLSD spread [NODES [PUBLICATIONS [SEED]]]       50 100 1
 *   bench_gossip HLSD catchup [ORIGINS [ITEMS_PER_ORIGIN]]       1000 1000
 * Environment, to investigate (the main tables of docs/benchmarks.md use
 * neither): BENCH_SET="S.NAME=VALUE ..." gives every hlsd more options;
 * BENCH_KEEP=1 keeps the temporary directory (stores and logs).
 *
 * spread: NODES hlsd processes on 127.0.0.1, each listing (hls peer add)
 * the next one in a ring and two others at random; gossip.connections=0
 * and no advertised address, so those listed links are the whole graph.
 * Then PUBLICATIONS times, at a random node: two aggregate records for a
 * past week of their own (untimed), a pause of 150-350 ms so every node is
 * idle, then share.publish, which signs that week's digest, stores it and
 * pushes it. Reports the publish request's own latency, and the time from
 * sending it until every other daemon answers status with the new head.
 * A daemon is asked (status, over its control socket) when its WAL file
 * changes (inotify), and every 250 ms as a fallback; so the figure is an
 * upper bound by one status round trip, and the pollers stay off the CPU
 * while the item travels.
 *
 * catchup: writes ORIGINS x ITEMS_PER_ORIGIN signed envelopes (a profile,
 * then weekly digests and stories in turn, realistic sizes) into a stopped
 * node's store through hls_store_item_put, in transactions of 256 taken
 * round robin over the origins (the order a catch-up sends them in). That
 * store is fresh and has hlsd's default settings, so the time of those
 * transactions is the SQLite insert rate; signing is not timed. Then it
 * starts that node and a fresh one, adds the first as the second's peer
 * (peer.add), and polls the fresh node's peer.list every 20 ms: the
 * catch-up ends at the last change of the fresh node's bytes out (its ACK
 * of the last batch), once it has been still for a second and status
 * shows every item held. Bytes on the wire are that peer.list's counters;
 * peak memory is each hlsd's VmHWM; /proc/PID/schedstat splits each
 * hlsd's time into running, waiting for a CPU, and idle (blocked on the
 * network or the disk). Next to it, in the same run, before and after:
 * one by one on a sample of those envelopes, the raw Ed25519 verify rate
 * (libsodium, on what each envelope signs), hls_env_decode of the stub and
 * of the whole envelope, and decode + hls_env_verify; each by the clock
 * and by CPU time, since the machines are shared. */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_hlsd.h"
#include "bench_sample.h"
#include "ctl.h"
#include "envelope.h"
#include "home.h"
#include "store.h"

enum { MAX_NODES = 256 };

/* The head a status reply shows for origin (node id text), 0 if none. */
static int64_t head_of(const struct hls_ctl_response *status, const char *origin) {
  const struct hls_mp_value *heads = hls_mp_get(bench_gossip_of(status), "heads");
  if (heads == NULL || heads->type != HLS_MP_ARRAY) return 0;
  for (uint32_t i = 0; i < heads->len; i++) {
    const struct hls_mp_value *o = hls_mp_get(&heads->v.items[i], "origin");
    if (o != NULL && o->type == HLS_MP_STR && o->len == strlen(origin) && memcmp(o->v.str, origin, o->len) == 0)
      return bench_mp_i64(&heads->v.items[i], "head");
  }
  return 0;
}

static uint32_t next_rand(uint32_t *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  return *seed >> 8;
}

/* ============================================================================
 * spread: one new item to every one of N daemons */

/* Wait until every node has its sessions up and holds every profile. */
static void wait_mesh(struct bench_node *nodes, int n, const int *degree, double timeout_s) {
  double deadline = now_s() + timeout_s;
  for (;;) {
    int ready = 0;
    for (int i = 0; i < n; i++) {
      struct hls_ctl_response r;
      bench_ctl_simple(&nodes[i].c, "status", &r);
      const struct hls_mp_value *g = bench_gossip_of(&r);
      const struct hls_mp_value *heads = hls_mp_get(g, "heads");
      if (bench_mp_i64(g, "sessions") == degree[i] && heads != NULL && heads->len == (uint32_t)n &&
          bench_mp_i64(g, "behind") == 0)
        ready++;
      hls_ctl_response_free(&r);
    }
    if (ready == n) return;
    if (now_s() > deadline) bench_die("the mesh did not form: %d of %d nodes ready", ready, n);
    bench_pause_ms(200);
  }
}

static int run_spread(const char *hlsd, int n, int pubs, uint32_t seed) {
  enum { WARMUP = 3 };
  if (n < 3 || n > MAX_NODES || pubs < 1) bench_die("spread: 3 to %d nodes, at least one publication", MAX_NODES);
  double load_start = bench_load_1m();
  bench_dir_make("gossip");
  struct bench_node *nodes = calloc((size_t)n, sizeof *nodes);
  uint8_t *listed = calloc((size_t)n * (size_t)n, 1); /* listed[i*n+j]: i lists j */
  int *degree = calloc((size_t)n, sizeof *degree);
  if (nodes == NULL || listed == NULL || degree == NULL) bench_die("out of memory");
  char key[HLS_KEY32_TEXT_SIZE] = "", name[16];
  static const char *const sets[] = {"publish.delay=1h", "gossip.connections=0", NULL};
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "n%02d", i);
    bench_node_init(&nodes[i], name, HLS_ROLE_PLACE, i == 0 ? NULL : key, i == 0 ? key : NULL);
  }
  for (int i = 0; i < n; i++) bench_node_start(&nodes[i], hlsd, sets);
  for (int i = 0; i < n; i++) bench_node_open(&nodes[i], 60);

  /* The graph: a ring (i lists i+1) and two chords per node, at random. */
  uint32_t rng = seed;
  for (int i = 0; i < n; i++) listed[i * n + (i + 1) % n] = 1;
  for (int i = 0; i < n; i++)
    for (int added = 0, tries = 0; added < 2 && tries < 100; tries++) {
      int j = (int)(next_rand(&rng) % (uint32_t)n);
      if (j == i || listed[i * n + j] || listed[j * n + i]) continue;
      listed[i * n + j] = 1;
      added++;
    }
  int edges = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (listed[i * n + j]) {
        degree[i]++, degree[j]++, edges++;
        bench_node_peer_add(&nodes[i], &nodes[j]);
      }
  double mesh_t0 = now_s();
  wait_mesh(nodes, n, degree, 120);
  int min_deg = n, max_deg = 0;
  for (int i = 0; i < n; i++) {
    if (degree[i] < min_deg) min_deg = degree[i];
    if (degree[i] > max_deg) max_deg = degree[i];
  }
  /* Graph diameter (BFS from every node): the fewest hops the slowest
   * publication needs. */
  int diameter = 0;
  int *dist = malloc((size_t)n * sizeof *dist), *queue = malloc((size_t)n * sizeof *queue);
  for (int s = 0; s < n; s++) {
    for (int i = 0; i < n; i++) dist[i] = -1;
    int qh = 0, qt = 0;
    dist[s] = 0;
    queue[qt++] = s;
    while (qh < qt) {
      int u = queue[qh++];
      for (int v = 0; v < n; v++)
        if ((listed[u * n + v] || listed[v * n + u]) && dist[v] < 0) {
          dist[v] = dist[u] + 1;
          if (dist[v] > diameter) diameter = dist[v];
          queue[qt++] = v;
        }
    }
  }
  fprintf(stderr, "mesh: %d nodes, %d links, degree %d-%d, diameter %d, formed in %.1f s\n", n, edges, min_deg,
          max_deg, diameter, now_s() - mesh_t0);

  /* Watch every node's WAL: a write there is the moment to ask it. */
  int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino < 0) bench_die("inotify: %s", strerror(errno));
  int *wd = malloc((size_t)n * sizeof *wd);
  for (int i = 0; i < n; i++)
    if ((wd[i] = inotify_add_watch(ino, nodes[i].wal, IN_MODIFY)) < 0)
      bench_die("watch %s: %s", nodes[i].wal, strerror(errno));

  int total = WARMUP + pubs;
  double *spread = calloc((size_t)pubs, sizeof *spread), *publish = calloc((size_t)pubs, sizeof *publish);
  double *after = calloc((size_t)pubs, sizeof *after), *half = calloc((size_t)pubs, sizeof *half);
  double *reached = calloc((size_t)n, sizeof *reached), *sorted = calloc((size_t)n, sizeof *sorted);
  bool *in_flight = calloc((size_t)n, sizeof *in_flight), *dirty = calloc((size_t)n, sizeof *dirty);
  struct pollfd *pfd = calloc((size_t)n + 1, sizeof *pfd);
  int *pfd_node = calloc((size_t)n + 1, sizeof *pfd_node);
  long status_calls = 0, fallback_calls = 0, multi_item = 0;
  for (int k = 0; k < total; k++) {
    int p = (int)(next_rand(&rng) % (uint32_t)n);
    char date[11], theme[32];
    bench_week_date(k, date);
    snprintf(theme, sizeof theme, "spread-%d", k);
    bench_node_record_add(&nodes[p], date, theme, 2 * k);
    bench_node_record_add(&nodes[p], date, theme, 2 * k + 1);
    bench_pause_ms(150 + (long)(next_rand(&rng) % 201));
    char drain[4096];
    while (read(ino, drain, sizeof drain) > 0) {
    }

    double t0 = now_s();
    struct hls_ctl_response r;
    bench_ctl_simple(&nodes[p].c, "share.publish", &r);
    double t_resp = now_s();
    int64_t seq = bench_mp_i64(r.result, "chain_seq"), published = bench_mp_i64(r.result, "published");
    hls_ctl_response_free(&r);
    if (published != 1) multi_item++;
    if (published < 1) bench_die("publication %d at n%02d published nothing", k, p);

    int pending = n - 1;
    for (int i = 0; i < n; i++) reached[i] = 0, in_flight[i] = dirty[i] = false;
    reached[p] = t_resp;
    double next_fallback = t_resp + 0.25, deadline = t0 + 30;
    while (pending > 0) {
      int np = 0;
      pfd[np].fd = ino, pfd[np].events = POLLIN, pfd_node[np++] = -1;
      for (int i = 0; i < n; i++)
        if (in_flight[i]) pfd[np].fd = nodes[i].c.fd, pfd[np].events = POLLIN, pfd_node[np++] = i;
      double now = now_s();
      int wait_ms = (int)((next_fallback - now) * 1000) + 1;
      if (poll(pfd, (nfds_t)np, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR)
        bench_die("poll: %s", strerror(errno));
      if (pfd[0].revents & POLLIN) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len;
        while ((len = read(ino, buf, sizeof buf)) > 0) {
          for (char *e = buf; e < buf + len; e += sizeof(struct inotify_event) + ((struct inotify_event *)e)->len) {
            int w = ((struct inotify_event *)e)->wd, i = 0;
            while (i < n && wd[i] != w) i++;
            if (i == n || reached[i] > 0) continue;
            if (in_flight[i]) {
              dirty[i] = true;
              continue;
            }
            msgpack_pack_map(bench_ctl_begin(&nodes[i].c, "status"), 0);
            bench_ctl_send(&nodes[i].c);
            in_flight[i] = true;
            status_calls++;
          }
        }
      }
      for (int q = 1; q < np; q++) {
        if (!(pfd[q].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int i = pfd_node[q];
        bench_ctl_reply(&nodes[i].c, &r);
        in_flight[i] = false;
        if (head_of(&r, nodes[p].id) >= seq) {
          reached[i] = now_s();
          pending--;
        } else if (dirty[i]) {
          dirty[i] = false;
          msgpack_pack_map(bench_ctl_begin(&nodes[i].c, "status"), 0);
          bench_ctl_send(&nodes[i].c);
          in_flight[i] = true;
          status_calls++;
        }
        hls_ctl_response_free(&r);
      }
      now = now_s();
      if (now >= next_fallback) {
        for (int i = 0; i < n; i++)
          if (reached[i] == 0 && !in_flight[i]) {
            msgpack_pack_map(bench_ctl_begin(&nodes[i].c, "status"), 0);
            bench_ctl_send(&nodes[i].c);
            in_flight[i] = true;
            status_calls++, fallback_calls++;
          }
        next_fallback = now + 0.25;
      }
      if (now > deadline)
        bench_die("publication %d at n%02d: %d nodes never got seq %lld", k, p, pending, (long long)seq);
    }
    /* Replies to fallback polls still in flight: read them. */
    for (int i = 0; i < n; i++)
      if (in_flight[i]) {
        bench_ctl_reply(&nodes[i].c, &r);
        hls_ctl_response_free(&r);
      }
    double last = 0;
    int last_node = p;
    for (int i = 0; i < n; i++) {
      if (reached[i] > last) last = reached[i], last_node = i;
      sorted[i] = reached[i] - t0;
    }
    if (k < WARMUP) continue;
    int j = k - WARMUP;
    spread[j] = (last - t0) * 1e3;
    publish[j] = (t_resp - t0) * 1e3;
    after[j] = (last - t_resp) * 1e3;
    half[j] = percentile(sorted, (size_t)n, 0.5) * 1e3;
    if (getenv("BENCH_VERBOSE"))
      fprintf(stderr, "pub %d at n%02d seq %lld: publish %.2f ms, all %.2f ms (last: n%02d)\n", j, p, (long long)seq,
              publish[j], spread[j], last_node);
  }

  /* Every node must hold the same heads; count duplicates received. */
  struct hls_ctl_response r0;
  bench_ctl_simple(&nodes[0].c, "status", &r0);
  int64_t items0 = bench_mp_i64(bench_gossip_of(&r0), "items");
  hls_ctl_response_free(&r0);
  int64_t dup = 0, recv = 0;
  long max_hwm = 0;
  double cpu = 0;
  for (int i = 0; i < n; i++) {
    struct hls_ctl_response r;
    bench_ctl_simple(&nodes[i].c, "status", &r);
    const struct hls_mp_value *g = bench_gossip_of(&r);
    if (bench_mp_i64(g, "items") != items0)
      bench_die("n%02d holds %lld items, n00 %lld", i, (long long)bench_mp_i64(g, "items"), (long long)items0);
    dup += bench_mp_i64(g, "items_duplicate");
    recv += bench_mp_i64(g, "items_received");
    hls_ctl_response_free(&r);
    long hwm = bench_proc_kb(nodes[i].pid, "VmHWM:");
    if (hwm > max_hwm) max_hwm = hwm;
    cpu += bench_proc_cpu_s(nodes[i].pid);
  }

  printf("load average (1 min) at start %.2f, at end %.2f, on %ld CPUs\n", load_start, bench_load_1m(),
         sysconf(_SC_NPROCESSORS_ONLN));
  if (getenv("BENCH_SET")) printf("BENCH_SET: %s\n", getenv("BENCH_SET"));
  printf("nodes %d, links %d (ring + 2 random chords per node, listed peers only), degree %d-%d, diameter %d\n", n,
         edges, min_deg, max_deg, diameter);
  printf("publications: %d (after %d warm-up), one digest each%s\n", pubs, WARMUP,
         multi_item ? " (some published more than one item!)" : "");
  double max_spread = 0;
  for (int j = 0; j < pubs; j++)
    if (spread[j] > max_spread) max_spread = spread[j];
  printf("publish request (share.publish round trip): median %.2f ms, p99 %.2f ms\n",
         percentile(publish, (size_t)pubs, 0.5), percentile(publish, (size_t)pubs, 0.99));
  printf("half of the nodes hold it, from the request:  median %.2f ms, p99 %.2f ms\n", percentile(half, (size_t)pubs, 0.5),
         percentile(half, (size_t)pubs, 0.99));
  printf("ALL %d nodes hold it, from the request:        median %.2f ms, p99 %.2f ms, max %.2f ms\n", n,
         percentile(spread, (size_t)pubs, 0.5), percentile(spread, (size_t)pubs, 0.99), max_spread);
  printf("all nodes hold it, from the publish reply:    median %.2f ms, p99 %.2f ms\n",
         percentile(after, (size_t)pubs, 0.5), percentile(after, (size_t)pubs, 0.99));
  printf("status polls: %ld (%ld of them fallback polls); items received %lld, duplicates %lld (%.1f per item)\n",
         status_calls, fallback_calls, (long long)recv, (long long)dup, recv ? (double)dup / (double)recv : 0.0);
  printf("hlsd peak RSS (largest of %d): %.1f MiB; CPU of all hlsd over the run: %.1f s\n", n, (double)max_hwm / 1024.0,
         cpu);
  for (int i = 0; i < n; i++) bench_ctl_close(&nodes[i].c);
  for (int i = 0; i < n; i++) bench_hlsd_stop(nodes[i].pid);
  close(ino);
  free(nodes), free(listed), free(degree), free(dist), free(queue), free(wd), free(spread), free(publish);
  free(after), free(half), free(reached), free(sorted), free(in_flight), free(dirty), free(pfd), free(pfd_node);
  return 0;
}

/* ============================================================================
 * catchup: a fresh node from one peer holding many items */

enum { PUT_BATCH = 256, ROUNDS = 3 };

struct origin {
  uint8_t pk[32], sk[64], prev[32];
  uint64_t seq;
};

/* Body of item seq of origin o: a profile first, then a week's digest and
 * a story in turn, with sizes that vary like real ones. */
static int make_body(msgpack_sbuffer *out, long o, uint64_t seq, int *type) {
  if (seq == 1) {
    struct hls_profile p = {.role = HLS_PROFILE_PLACE};
    snprintf(p.place, sizeof p.place, "Place %ld", o);
    snprintf(p.region, sizeof p.region, "Region %ld", o % 20);
    *type = HLS_ENV_PROFILE;
    return hls_profile_pack(out, &p);
  }
  int week = (int)(seq / 2);
  if (seq % 2 == 0) {
    static struct hls_digest_cell cells[60];
    struct hls_digest d = {.iso_year = 2000 + week / 52 % 25, .iso_week = week % 52 + 1, .method = {10, 5, HLS_SDC_NEAREST},
                           .n_cells = 20 + (size_t)((seq * 7 + (uint64_t)o) % 41), .cells = cells};
    for (size_t i = 0; i < d.n_cells; i++) {
      memset(&cells[i], 0, sizeof cells[i]);
      snprintf(cells[i].theme, sizeof cells[i].theme, "theme-%02zu", (i + (size_t)o) / 4 % 100);
      cells[i].kind = (int)(i % 2);
      cells[i].scale = (int)(i % 4);
      cells[i].stage = (int)((i / 2) % 6);
      cells[i].count = 3 + (uint32_t)((i * 13 + seq) % 40);
      cells[i].withheld = cells[i].scale == 0 && cells[i].count < 10;
      if (cells[i].withheld) cells[i].count = 0;
    }
    *type = HLS_ENV_DIGEST;
    return hls_digest_pack(out, &d);
  }
  static const char tried[] =
      "We opened the library meeting room on Tuesday mornings, with a practitioner and two volunteers who live "
      "nearby, and no booking or referral needed. Tea, a map of local services on the wall, and time.";
  static const char learnt[] =
      "People came back when they were welcomed by name. Housing questions came up first, then loneliness; the "
      "volunteers heard more than the practitioner did, and the second visit mattered more than the first.";
  char t[sizeof tried], l[sizeof learnt];
  size_t tl = 80 + (size_t)((seq * 31 + (uint64_t)o) % (sizeof tried - 81));
  size_t ll = 60 + (size_t)((seq * 17 + (uint64_t)o) % (sizeof learnt - 61));
  memcpy(t, tried, tl), t[tl] = '\0';
  memcpy(l, learnt, ll), l[ll] = '\0';
  struct hls_story s = {.iso_year = 2000 + week / 52 % 25, .iso_week = week % 52 + 1, .n_themes = 2,
                        .scale = (int)(seq % 4), .stage = (int)(seq % 6), .tried = t, .learnt = l};
  snprintf(s.title, sizeof s.title, "What we tried in week %d at place %ld", week, o);
  snprintf(s.themes[0].slug, sizeof s.themes[0].slug, "theme-%02d", (int)(seq % 50));
  snprintf(s.themes[1].slug, sizeof s.themes[1].slug, "peer-support");
  s.themes[1].kind = HLS_KIND_STRENGTH;
  *type = HLS_ENV_STORY;
  return hls_story_pack(out, &s);
}

static double median_of(double *v, size_t n) { return percentile(v, n, 0.5); }

static int run_catchup(const char *hlsd, long n_origins, long per_origin) {
  if (n_origins < 1 || per_origin < 2 || n_origins > 100000) bench_die("catchup: 1 to 100000 origins, 2+ items each");
  long total = n_origins * per_origin;
  double load_start = bench_load_1m();
  bench_dir_make("gossip");
  struct bench_node serve = {0}, fresh = {0};
  char key[HLS_KEY32_TEXT_SIZE] = "";
  bench_node_init(&serve, "serve", HLS_ROLE_PLACE, NULL, key);
  bench_node_init(&fresh, "fresh", HLS_ROLE_PLACE, key, NULL);

  /* --- generate into serve's store; time only the store transactions ---- */
  char db[160];
  snprintf(db, sizeof db, "%s/hlsd.db", serve.home);
  struct hls_why why = {{0}};
  struct hls_store *st;
  /* hlsd's defaults: store.synchronous=full, 32 MiB cache (or what
   * BENCH_SET gives hlsd, so that both measure the same). */
  bool sync_full = getenv("BENCH_SET") == NULL || strstr(getenv("BENCH_SET"), "store.synchronous=normal") == NULL;
  struct hls_store_options opt = {.synchronous_full = sync_full};
  if (hls_store_open(&st, db, &opt, &why) != 0) bench_die("store: %s", why.text);
  struct origin *orig = calloc((size_t)n_origins, sizeof *orig);
  if (orig == NULL) bench_die("out of memory");
  for (long o = 0; o < n_origins; o++) {
    uint8_t seed[32] = {0};
    memcpy(seed, &o, sizeof o);
    seed[31] = 0x5a;
    crypto_sign_seed_keypair(orig[o].pk, orig[o].sk, seed);
  }
  struct bench_sample *sm = bench_sample_new();
  size_t stride = (size_t)total / BENCH_SAMPLE_MAX > 0 ? (size_t)total / BENCH_SAMPLE_MAX : 1;
  msgpack_sbuffer body, envs;
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&envs);
  size_t off[PUT_BATCH];
  struct hls_envelope dec[PUT_BATCH];
  double insert_s = 0, insert_cpu_s = 0, gen_t0 = now_s();
  uint64_t env_bytes = 0, body_bytes = 0, made = 0, commits = 0;
  for (long round = 0; round * PUT_BATCH < per_origin; round++) {
    for (long o = 0; o < n_origins; o++) {
      struct origin *g = &orig[o];
      long n = per_origin - round * PUT_BATCH < PUT_BATCH ? per_origin - round * PUT_BATCH : PUT_BATCH;
      envs.size = 0;
      for (long i = 0; i < n; i++) {
        int type;
        body.size = 0;
        if (make_body(&body, o, g->seq + 1, &type) != 0) bench_die("packing a body");
        off[i] = envs.size;
        if (hls_env_build(&envs, type, g->sk, g->seq + 1, g->seq ? g->prev : NULL,
                          1600000000000ull + (g->seq + 1) * 60000ull, HLS_AUD_NETWORK,
                          (const uint8_t *)body.data, body.size) != 0)
          bench_die("building an envelope");
        struct hls_envelope e;
        if (hls_env_decode(&e, (const uint8_t *)envs.data + off[i], envs.size - off[i], NULL) != 0) bench_die("decode");
        memcpy(g->prev, e.id, 32);
        g->seq++;
        body_bytes += body.size;
      }
      for (long i = 0; i < n; i++) {
        size_t len = (i + 1 < n ? off[i + 1] : envs.size) - off[i];
        if (hls_env_decode(&dec[i], (const uint8_t *)envs.data + off[i], len, NULL) != 0) bench_die("decode");
        env_bytes += len;
        if (made++ % stride == 0) bench_sample_add(sm, (const uint8_t *)envs.data + off[i], len);
      }
      double t = now_s(), c = bench_cpu_now();
      if (hls_store_begin(st, &why) != 0) bench_die("begin: %s", why.text);
      for (long i = 0; i < n; i++)
        if (hls_store_item_put(st, &dec[i], HLS_BODY_HELD, 1700000000000ll, &why) != 0) bench_die("put: %s", why.text);
      if (hls_store_commit(st, &why) != 0) bench_die("commit: %s", why.text);
      insert_s += now_s() - t;
      insert_cpu_s += bench_cpu_now() - c;
      commits++;
    }
    if (round % 40 == 39) fprintf(stderr, "generated %llu of %ld items\n", (unsigned long long)made, total);
  }
  double gen_s = now_s() - gen_t0;
  hls_store_free(st);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&envs);
  struct stat sb;
  long long db_bytes = stat(db, &sb) == 0 ? (long long)sb.st_size : -1;
  fprintf(stderr, "generated %ld items in %.1f s; database %.0f MiB\n", total, gen_s, (double)db_bytes / 1048576.0);
  bench_sample_prepare(sm);

  /* --- one by one, before ---------------------------------------------------- */
  double wall[2][BENCH_M__COUNT][ROUNDS], cpu[2][BENCH_M__COUNT][ROUNDS], w1[BENCH_M__COUNT], c1[BENCH_M__COUNT];
  for (int r = 0; r < ROUNDS; r++) {
    bench_sample_rates(sm, w1, c1);
    for (int m = 0; m < BENCH_M__COUNT; m++) wall[0][m][r] = w1[m], cpu[0][m][r] = c1[m];
  }

  /* --- the catch-up ------------------------------------------------------------ */
  double t = now_s();
  bench_node_start(&serve, hlsd, NULL);
  bench_node_open(&serve, 60);
  double serve_start_s = now_s() - t;
  bench_node_start(&fresh, hlsd, NULL);
  bench_node_open(&fresh, 60);
  struct hls_ctl_response r;
  double status_ms[5];
  for (int i = 0; i < 5; i++) {
    t = now_s();
    bench_ctl_simple(&serve.c, "status", &r);
    status_ms[i] = (now_s() - t) * 1e3;
    if (i < 4) hls_ctl_response_free(&r);
  }
  int64_t serve_items = bench_mp_i64(bench_gossip_of(&r), "items");
  hls_ctl_response_free(&r);
  bench_ctl_simple(&fresh.c, "status", &r);
  int64_t fresh_items0 = bench_mp_i64(bench_gossip_of(&r), "items");
  hls_ctl_response_free(&r);
  int64_t want = serve_items + fresh_items0; /* each has its own profile too */
  double run_serve0, wait_serve0, run_fresh0, wait_fresh0;
  bench_proc_sched_s(serve.pid, &run_serve0, &wait_serve0);
  bench_proc_sched_s(fresh.pid, &run_fresh0, &wait_fresh0);

  double load_catchup = bench_load_1m();
  double t0 = now_s();
  bench_node_peer_add(&fresh, &serve);
  int checks_made = 0;
  double t_end = bench_wait_catchup(&fresh, &serve, want, t0, 3600, &checks_made);
  double catchup_s = t_end - t0;
  double run_serve, wait_serve, run_fresh, wait_fresh;
  bench_proc_sched_s(serve.pid, &run_serve, &wait_serve);
  bench_proc_sched_s(fresh.pid, &run_fresh, &wait_fresh);
  run_serve -= run_serve0, wait_serve -= wait_serve0, run_fresh -= run_fresh0, wait_fresh -= wait_fresh0;
  long hwm_serve = bench_proc_kb(serve.pid, "VmHWM:"), hwm_fresh = bench_proc_kb(fresh.pid, "VmHWM:");
  t = now_s();
  bench_ctl_simple(&fresh.c, "status", &r);
  double fresh_status_ms = (now_s() - t) * 1e3;
  const struct hls_mp_value *g = bench_gossip_of(&r);
  int64_t received = bench_mp_i64(g, "items_received"), checks = bench_mp_i64(g, "signature_checks"),
          fresh_items = bench_mp_i64(g, "items");
  hls_ctl_response_free(&r);
  int64_t in = 0, out = 0;
  bench_node_peer_bytes(&fresh, serve.id, &in, &out);

  /* --- one by one, after -------------------------------------------------------- */
  for (int r2 = 0; r2 < ROUNDS; r2++) {
    bench_sample_rates(sm, w1, c1);
    for (int m = 0; m < BENCH_M__COUNT; m++) wall[1][m][r2] = w1[m], cpu[1][m][r2] = c1[m];
  }
  bench_ctl_close(&serve.c);
  bench_ctl_close(&fresh.c);
  bench_hlsd_stop(fresh.pid);
  bench_hlsd_stop(serve.pid);

  double wall_med[2][BENCH_M__COUNT], cpu_med[2][BENCH_M__COUNT];
  for (int w = 0; w < 2; w++)
    for (int m = 0; m < BENCH_M__COUNT; m++) {
      wall_med[w][m] = median_of(wall[w][m], ROUNDS);
      cpu_med[w][m] = median_of(cpu[w][m], ROUNDS);
    }
  double rate = (double)received / catchup_s, insert_rate = (double)total / insert_s;
  double raw_wall = (wall_med[0][BENCH_M_RAW] + wall_med[1][BENCH_M_RAW]) / 2,
         raw_cpu = (cpu_med[0][BENCH_M_RAW] + cpu_med[1][BENCH_M_RAW]) / 2;
  printf("load average (1 min) at start %.2f, at the catch-up's start %.2f, at end %.2f, on %ld CPUs\n", load_start,
         load_catchup, bench_load_1m(), sysconf(_SC_NPROCESSORS_ONLN));
  printf("items: %ld (%ld origins x %ld), envelopes %.0f bytes on average (body %.0f); store %.0f MiB\n", total,
         n_origins, per_origin, (double)env_bytes / (double)total, (double)body_bytes / (double)total,
         (double)db_bytes / 1048576.0);
  if (getenv("BENCH_SET")) printf("BENCH_SET: %s\n", getenv("BENCH_SET"));
  printf("SQLite insert, hls_store_item_put in transactions of %d (%llu commits, synchronous=%s): %.0f items/s "
         "(by CPU time: %.0f /s)\n",
         PUT_BATCH, (unsigned long long)commits, sync_full ? "full" : "normal", insert_rate,
         (double)total / insert_cpu_s);
  printf("one by one on %zu sampled envelopes, median of %d passes before / after the catch-up:\n", sm->n, ROUNDS);
  printf("  %-34s %9s %9s   %9s %9s\n", "", "clock", "", "CPU time", "");
  for (int m = 0; m < BENCH_M__COUNT; m++)
    printf("  %-34s %7.0f/s %7.0f/s   %7.0f/s %7.0f/s\n", bench_measure_names[m], wall_med[0][m], wall_med[1][m],
           cpu_med[0][m], cpu_med[1][m]);
  printf("serving hlsd: started (answers status) in %.2f s; status takes %.0f ms (median of 5)\n", serve_start_s,
         percentile(status_ms, 5, 0.5));
  printf("CATCH-UP: %lld items in %.2f s = %.0f items/s = %.2f x raw verify one by one (clock), %.2f x SQLite insert\n",
         (long long)received, catchup_s, rate, rate / raw_wall, rate / insert_rate);
  printf("  fresh node holds %lld items (expected %lld); %lld signature checks (%.0f items per check); "
         "status asked %d time(s) to see the end\n",
         (long long)fresh_items, (long long)want, (long long)checks, checks ? (double)received / (double)checks : 0.0,
         checks_made);
  printf("  on the wire (fresh node's peer list): %lld bytes in, %lld out = %.1f bytes per item (%.3f x the envelope)\n",
         (long long)in, (long long)out, (double)(in + out) / (double)received,
         (double)(in + out) / (double)received / ((double)env_bytes / (double)total));
  printf("  of the %.2f s: serving hlsd ran %.2f s, waited for a CPU %.2f s, idle %.2f s; "
         "fresh hlsd ran %.2f s, waited %.2f s, idle %.2f s\n",
         catchup_s, run_serve, wait_serve, catchup_s - run_serve - wait_serve, run_fresh, wait_fresh,
         catchup_s - run_fresh - wait_fresh);
  printf("  CPU per item: fresh hlsd %.1f us, serving hlsd %.1f us; a raw verify %.1f us: fresh hlsd's CPU alone "
         "would give %.0f items/s = %.2f x raw verify (CPU)\n",
         1e6 * run_fresh / (double)received, 1e6 * run_serve / (double)received, 1e6 / raw_cpu,
         (double)received / run_fresh, (double)received / run_fresh / raw_cpu);
  printf("  peak RSS: serving hlsd %.1f MiB, fresh hlsd %.1f MiB; fresh node's status after: %.0f ms\n",
         (double)hwm_serve / 1024.0, (double)hwm_fresh / 1024.0, fresh_status_ms);
  free(orig);
  bench_sample_free(sm);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[2], "spread") != 0 && strcmp(argv[2], "catchup") != 0)) {
    fprintf(stderr, "usage: bench_gossip HLSD spread [NODES [PUBLICATIONS [SEED]]]\n"
                    "       bench_gossip HLSD catchup [ORIGINS [ITEMS_PER_ORIGIN]]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  bench_setup("bench_gossip");
  if (strcmp(argv[2], "spread") == 0)
    return run_spread(argv[1], argc > 3 ? atoi(argv[3]) : 50, argc > 4 ? atoi(argv[4]) : 100,
                      argc > 5 ? (uint32_t)atol(argv[5]) : 1);
  return run_catchup(argv[1], argc > 3 ? atol(argv[3]) : 1000, argc > 4 ? atol(argv[4]) : 1000);
}
