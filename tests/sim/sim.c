/* hls_sim: N nodes of the real gossip engine (protocol/gossip.h) in one
 * process, over a simulated network with a virtual clock, driven by one
 * seed. See tests/sim/README.md for the model; in short:
 *
 *  - events (deliveries, ticks, dials, crashes, restarts, partitions)
 *    sit in one priority queue ordered by (virtual time, insertion), and
 *    every random choice comes from the seed, so a seed replays exactly;
 *  - a session is two ordered one-way queues; the box stream turns loss,
 *    duplication or reordering into a failed session, so an injected
 *    fault closes the session where it is detected, and the other side
 *    learns it from a FIN that follows the frames already in flight;
 *  - partitions sever the sessions that cross them and make dials fail;
 *    crashes destroy the engine and keep the store (it models SQLite);
 *  - a forger tampers with the ITEMS it sends, a twin holding another
 *    node's key signs a second branch of its chain;
 *  - after the faults stop the run ends when every honest node holds
 *    exactly what the oracle (tests/sim/sim_world.h) requires, or fails
 *    at a deadline.
 *
 * Exit status 0 iff every seed converged with no violation. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "gossip.h"
#include "sim_rng.h"
#include "sim_store.h"
#include "sim_verify.h"
#include "sim_world.h"

#define STREAM_RUN 2

/* --- the network model's constants (README.md explains them) ------------------------ */

#define LINK_BASE_MIN_MS 5   /* per-session propagation delay, uniform */
#define LINK_BASE_MAX_MS 80
#define LINK_JITTER_MAX_MS 20 /* per-frame extra delay, uniform */
#define TICK_MS 250           /* hls_gossip_tick period (the engine's vector_interval) */
#define RECONNECT_MIN_MS 1000 /* listed-peer redial back-off (hlsd: network.reconnect_min) */
#define RECONNECT_MAX_MS 16000 /* hlsd's default is 5 min; capped so a run ends */
#define NOTICE_MIN_MS 200     /* a severed session is noticed (RST, keepalive) after */
#define NOTICE_MAX_MS 3000
#define TAIL_MS 2000          /* run on after convergence, to catch late violations */

struct fault_rates {
  double frame;          /* per frame: loss, duplication or reordering */
  double store;          /* per write action: the store fails */
  double tamper;         /* per ITEMS/BODIES frame the forger sends */
  double crash_per_node; /* chance a node crashes once in the fault phase */
  uint64_t partitions;   /* how many partitions in the fault phase */
};
static const struct fault_rates fault_rates_on = {0.002, 0.001, 0.3, 0.3, 4};

/* --- options: one table feeds the parser and --help ------------------------------------ */

struct opts {
  uint64_t nodes, seed, seeds, publishers, items, fault_s, publish_s, deadline_s, window;
  bool faults, adversaries, quiet, trace, verify_cache, publishers_set, adversaries_set, publish_set, receipts;
};

enum opt_kind { OPT_U64, OPT_ONOFF, OPT_FLAG, OPT_HELP };
struct opt {
  const char *name, *arg;
  enum opt_kind kind;
  size_t offset, set_offset; /* into struct opts; set_offset 0: none */
  const char *help;
};
#define OFF(f) offsetof(struct opts, f)
static const struct opt opt_table[] = {
    {"--nodes", "N", OPT_U64, OFF(nodes), 0, "nodes in the network (default 50)"},
    {"--seed", "S", OPT_U64, OFF(seed), 0, "first seed (default 1)"},
    {"--seeds", "K", OPT_U64, OFF(seeds), 0, "run seeds S .. S+K-1 (default 1)"},
    {"--publishers", "P", OPT_U64, OFF(publishers), OFF(publishers_set),
     "nodes with a chain (default: all up to 1,000 nodes, else 200)"},
    {"--items-per-node", "M", OPT_U64, OFF(items), 0, "items each publisher signs after its profile (default 5)"},
    {"--faults", "on|off", OPT_ONOFF, OFF(faults), 0,
     "frame loss/duplication/reordering, partitions, crashes, store failures (default on)"},
    {"--adversaries", "on|off", OPT_ONOFF, OFF(adversaries), OFF(adversaries_set),
     "a forger and an equivocating twin (default: as --faults)"},
    {"--fault-seconds", "T", OPT_U64, OFF(fault_s), 0, "virtual seconds of faults (default 20)"},
    {"--publish-seconds", "T", OPT_U64, OFF(publish_s), OFF(publish_set),
     "publications spread over T virtual seconds (default: 80% of the fault phase, 5 without faults)"},
    {"--deadline", "T", OPT_U64, OFF(deadline_s), 0,
     "fail if not converged T virtual seconds after the faults stop (default 600)"},
    {"--verify-cache", "on|off", OPT_ONOFF, OFF(verify_cache), 0,
     "answer a repeated Ed25519 verification from memory (default on; sim_verify.h)"},
    {"--receipts", "on|off", OPT_ONOFF, OFF(receipts), 0,
     "some items are erasure receipts naming other origins' items (default off: the pinned seeds keep their "
     "worlds)"},
    {"--window", "W", OPT_U64, OFF(window), 0,
     "the engine's flow-control window (unacknowledged ITEMS/BODIES frames; default: the engine's)"},
    {"--quiet", NULL, OPT_FLAG, OFF(quiet), 0, "print failures and the summary only"},
    {"--trace", NULL, OPT_FLAG, OFF(trace), 0, "print faults, crashes, restarts and partitions as they happen"},
    {"--help", NULL, OPT_HELP, 0, 0, "this text"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f) {
  fprintf(f, "usage: hls_sim [OPTION]...\n"
             "Runs the gossip engine on N simulated nodes until they converge; exits 0 iff every\n"
             "seed converged to exactly what the audience rules, tombstones and forks allow.\n\n");
  for (size_t i = 0; i < N_OPTS; i++) {
    char left[40];
    snprintf(left, sizeof left, "%s%s%s", opt_table[i].name, opt_table[i].arg ? " " : "",
             opt_table[i].arg ? opt_table[i].arg : "");
    fprintf(f, "  %-22s %s\n", left, opt_table[i].help);
  }
}

/* 0, 1 (--help) or -1 (bad usage, reported). */
static int parse_opts(int argc, char **argv, struct opts *o) {
  *o = (struct opts){.nodes = 50, .seed = 1, .seeds = 1, .items = 5, .fault_s = 20, .deadline_s = 600,
                     .faults = true, .verify_cache = true};
  for (int i = 1; i < argc; i++) {
    const struct opt *op = NULL;
    for (size_t k = 0; k < N_OPTS; k++)
      if (strcmp(argv[i], opt_table[k].name) == 0) op = &opt_table[k];
    if (op == NULL) {
      fprintf(stderr, "hls_sim: unknown option %s (see --help)\n", argv[i]);
      return -1;
    }
    if (op->kind == OPT_HELP) return 1;
    char *base = (char *)o;
    if (op->kind == OPT_FLAG) {
      *(bool *)(base + op->offset) = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "hls_sim: %s needs %s\n", op->name, op->arg);
      return -1;
    }
    const char *v = argv[++i];
    if (op->kind == OPT_ONOFF) {
      if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
        fprintf(stderr, "hls_sim: %s: expected on or off, not %s\n", op->name, v);
        return -1;
      }
      *(bool *)(base + op->offset) = strcmp(v, "on") == 0;
    } else {
      char *end = NULL;
      unsigned long long x = strtoull(v, &end, 10);
      if (*v < '0' || *v > '9' || *end != '\0') {
        fprintf(stderr, "hls_sim: %s: expected a number, not %s\n", op->name, v);
        return -1;
      }
      *(uint64_t *)(base + op->offset) = x;
    }
    if (op->set_offset != 0) *(bool *)(base + op->set_offset) = true;
  }
  if (!o->publishers_set) o->publishers = o->nodes <= 1000 ? o->nodes : 200;
  if (!o->adversaries_set) o->adversaries = o->faults;
  if (!o->publish_set) o->publish_s = o->faults ? 0 : 5;
  if (o->nodes < 2 || o->nodes > 1000000 || o->publishers < 1 || o->publishers > o->nodes || o->items > 100000 ||
      o->seeds < 1 || o->window > HLS_GOSSIP_MAX_WINDOW) {
    fprintf(stderr, "hls_sim: need 2 <= nodes <= 1000000, 1 <= publishers <= nodes, seeds >= 1, window <= %u\n",
            HLS_GOSSIP_MAX_WINDOW);
    return -1;
  }
  return 0;
}

/* --- network ------------------------------------------------------------------------------ */

struct link;

/* One side of a session. */
struct end {
  struct link *link;
  uint32_t node;       /* the node at this end */
  uint32_t peer_ident; /* the identity at the other */
  struct hls_gossip_session *session;
  bool open;
};

struct link {
  struct end end[2];
  uint64_t last_at[2]; /* latest delivery scheduled from end[d]: keeps each way in order */
  uint32_t base_ms;
  uint32_t in_flight; /* events that point here */
  bool severed;       /* cut or crashed: nothing more is delivered */
};

enum frame_fault { FF_NONE, FF_LOSS, FF_DUP, FF_REORDER };
enum tamper_mode { TM_NONE, TM_SIGNATURE, TM_BODY, TM_ORIGIN };

/* A frame in flight (frame NULL: a FIN, the sender closed). */
struct msg {
  uint8_t *frame; /* owned */
  size_t len;
  int fault;  /* enum frame_fault */
  int tamper; /* enum tamper_mode */
  /* The origin of the run holding the tampered item (for TM_ORIGIN, the
   * origin every item now claims), and that run's seqs. */
  uint32_t tamper_origin;
  uint64_t first_seq, tampered_seq, last_seq;
};

enum ev_type { EV_DELIVER, EV_CLOSE_END, EV_DIAL, EV_TICK, EV_PUBLISH, EV_CRASH, EV_RESTART, EV_CUT, EV_HEAL,
               EV_FAULTS_END, EV_TWIN };

struct event {
  uint64_t at, order;
  int type;
  uint32_t node, peer, incarnation, base_ms;
  struct link *link;
  int dir;
  struct msg *msg;
};

struct listed_state {
  uint64_t next_ms;
  uint32_t failures;
};

struct node {
  struct sim *sim;
  uint32_t idx;
  struct hls_gossip *g; /* NULL while down */
  struct sim_store store;
  bool up, started;
  uint32_t incarnation;
  struct end **ends; /* open sessions */
  size_t n_ends, cap_ends;
  uint32_t *dialing; /* identities being dialled */
  size_t n_dialing, cap_dialing;
  struct listed_state *listed; /* parallel to the world's listed */
  size_t next_pub;             /* index in its branch of the next item to publish */
  int branch;
  bool saw_both; /* received the other version at the fork it held one of */
};

struct cut {
  bool active;
  uint8_t *group;   /* owned: a node group cut from the rest, or NULL */
  uint32_t *pairs;  /* owned: 2 per cut link, (low, high) */
  size_t n_pairs;
  uint64_t start_ms, end_ms;
};

enum { N_FRAME_TYPES = HLS_GF_BODIES - HLS_GF_VECTOR + 1 };

struct counters {
  uint64_t by_type[N_FRAME_TYPES], by_type_at_conv[N_FRAME_TYPES];
  uint64_t frames, bytes, frames_at_last_pub, frames_at_conv, bytes_at_conv;
  uint64_t delay_sum, delay_n;
  uint64_t sessions, dials_failed, ends_closed;
  uint64_t frame_faults, store_faults, crashes, partitions, severed;
  uint64_t tampered_sent, tampered_rejected, tampered_ignored;
  uint64_t twin_refusals, adversary_errors;
  uint64_t frames_in_tail;
  struct hls_gossip_stats engines; /* summed, crashed incarnations included */
};

struct sim {
  const struct sim_world *w;
  const struct opts *o;
  struct fault_rates rates;
  struct sim_rng rng;
  uint64_t now;
  struct event *heap;
  size_t n_heap, cap_heap;
  uint64_t order;
  struct node *nodes;
  struct sim_log log;
  uint64_t satisfied;
  bool faults_active;
  struct cut *cuts;
  size_t n_cuts;
  uint64_t honest_left; /* honest items not yet published */
  uint64_t last_pub_ms;
  uint64_t fault_end_ms;
  bool store_failed; /* a store failure was injected in the current event */
  struct counters c;
  struct hls_envelope *envs; /* scratch, [HLS_GOSSIP_MAX_BATCH] */
  uint8_t *envbuf;           /* scratch for publishing */
  size_t envbuf_cap;
};

/* --- the event queue: a binary heap on (at, order) ------------------------------------------- */

static bool ev_before(const struct event *a, const struct event *b) {
  return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int push(struct sim *s, struct event e) {
  if (s->n_heap == s->cap_heap) {
    size_t cap = s->cap_heap ? 2 * s->cap_heap : 1024;
    struct event *grown = realloc(s->heap, cap * sizeof *grown);
    if (grown == NULL) return HLS_ENOMEM;
    s->heap = grown;
    s->cap_heap = cap;
  }
  e.order = s->order++;
  if (e.link != NULL) e.link->in_flight++;
  size_t i = s->n_heap++;
  while (i > 0 && ev_before(&e, &s->heap[(i - 1) / 2])) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = e;
  return 0;
}

static struct event pop(struct sim *s) {
  struct event top = s->heap[0], last = s->heap[--s->n_heap];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->n_heap) break;
    if (c + 1 < s->n_heap && ev_before(&s->heap[c + 1], &s->heap[c])) c++;
    if (!ev_before(&s->heap[c], &last)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->n_heap > 0) s->heap[i] = last;
  return top;
}

/* Running out of memory is not a result the simulator can go on from. */
static _Noreturn void die(int rc) {
  fprintf(stderr, "hls_sim: %s\n", hls_strerror(rc));
  exit(2);
}

static void must(int rc) {
  if (rc != 0) die(rc);
}

static void schedule(struct sim *s, uint64_t at, int type, uint32_t node) {
  must(push(s, (struct event){.at = at, .type = type, .node = node}));
}

/* --- helpers ------------------------------------------------------------------------------- */

HLS_PRINTF(2, 3) static void trace(const struct sim *s, const char *fmt, ...) {
  if (!s->o->trace) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "t=%" PRIu64 "ms ", s->now);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static bool honest(const struct sim *s, uint32_t n) { return s->w->nodes[n].role == SIM_HONEST; }

static uint64_t backoff_ms(struct sim *s, uint32_t failures) {
  uint64_t d = RECONNECT_MIN_MS;
  for (uint32_t i = 1; i < failures && d < RECONNECT_MAX_MS; i++) d *= 2;
  if (d > RECONNECT_MAX_MS) d = RECONNECT_MAX_MS;
  return d / 2 + d * sim_rng_below(&s->rng, 1000) / 1000; /* jitter [0.5, 1.5) as hlsd */
}

static uint32_t delay_ms(struct sim *s, uint32_t base) {
  uint32_t d = base + (uint32_t)sim_rng_below(&s->rng, LINK_JITTER_MAX_MS + 1);
  s->c.delay_sum += d;
  s->c.delay_n++;
  return d;
}

static bool is_cut(const struct sim *s, uint32_t a, uint32_t b) {
  uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
  for (size_t i = 0; i < s->n_cuts; i++) {
    const struct cut *c = &s->cuts[i];
    if (!c->active) continue;
    if (c->group != NULL && c->group[a] != c->group[b]) return true;
    for (size_t k = 0; k < c->n_pairs; k++)
      if (c->pairs[2 * k] == lo && c->pairs[2 * k + 1] == hi) return true;
  }
  return false;
}

static bool has_session(const struct node *n, uint32_t ident) {
  for (size_t i = 0; i < n->n_ends; i++)
    if (n->ends[i]->peer_ident == ident) return true;
  return false;
}

static bool is_dialing(const struct node *n, uint32_t ident) {
  for (size_t i = 0; i < n->n_dialing; i++)
    if (n->dialing[i] == ident) return true;
  return false;
}

static void listed_note(struct sim *s, uint32_t node, uint32_t ident, bool ok) {
  const struct sim_node_info *info = &s->w->nodes[node];
  for (size_t k = 0; k < info->n_listed; k++) {
    if (info->listed[k] != ident) continue;
    struct listed_state *ls = &s->nodes[node].listed[k];
    if (ok) {
      ls->failures = 0;
    } else {
      ls->failures++;
      ls->next_ms = s->now + backoff_ms(s, ls->failures);
    }
  }
}

/* Does needle occur in hay? (memmem is a GNU extension.) */
static bool contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len) {
  if (len == 0 || hay_len < len) return len == 0;
  for (const uint8_t *p = hay, *last = hay + (hay_len - len); p <= last; p++) {
    p = memchr(p, needle[0], (size_t)(last - p) + 1);
    if (p == NULL) return false;
    if (memcmp(p, needle, len) == 0) return true;
  }
  return false;
}

static const char *frame_type_name(const uint8_t *payload, size_t len) {
  if (len < 2) return "?";
  switch (payload[1]) {
    case HLS_GF_VECTOR: return "VECTOR";
    case HLS_GF_ITEMS: return "ITEMS";
    case HLS_GF_ACK: return "ACK";
    case HLS_GF_WANT: return "WANT";
    case HLS_GF_BODIES: return "BODIES";
    default: return "?";
  }
}

/* --- sessions ---------------------------------------------------------------------------- */

static void maybe_free_link(struct link *l) {
  if (l->in_flight == 0 && !l->end[0].open && !l->end[1].open) free(l);
}

/* Close one end: the engine learns the session ended; a listed peer is
 * redialled after a back-off. */
static void close_end(struct sim *s, struct end *e) {
  if (!e->open) return;
  e->open = false;
  s->c.ends_closed++;
  struct node *n = &s->nodes[e->node];
  for (size_t i = 0; i < n->n_ends; i++)
    if (n->ends[i] == e) {
      n->ends[i] = n->ends[--n->n_ends];
      break;
    }
  if (n->g != NULL) hls_gossip_disconnected(n->g, e->session);
  e->session = NULL;
  if (n->up) listed_note(s, e->node, e->peer_ident, false);
}

static struct end *other_end(struct end *e) {
  struct link *l = e->link;
  return e == &l->end[0] ? &l->end[1] : &l->end[0];
}

static int dir_from(const struct end *e) { return e == &e->link->end[0] ? 0 : 1; }

/* Queue a frame (or a FIN: frame NULL) from end `from` to the other. */
static void send_msg(struct sim *s, struct end *from, struct msg *m) {
  struct link *l = from->link;
  int d = dir_from(from);
  if (l->severed) {
    free(m->frame);
    free(m);
    return;
  }
  uint64_t at = s->now + delay_ms(s, l->base_ms);
  if (at < l->last_at[d]) at = l->last_at[d];
  l->last_at[d] = at;
  must(push(s, (struct event){.at = at, .type = EV_DELIVER, .link = l, .dir = d, .msg = m}));
}

static void send_fin(struct sim *s, struct end *from) {
  struct msg *m = calloc(1, sizeof *m);
  if (m == NULL) die(HLS_ENOMEM);
  send_msg(s, from, m);
}

/* A failure detected at end e (a broken frame, an engine error): close
 * it now; the other side learns it when the FIN arrives. */
static void fail_at(struct sim *s, struct end *e) {
  if (!e->open) return;
  close_end(s, e);
  send_fin(s, e);
}

/* Sever: nothing more crosses; each end notices after a while. */
static void sever(struct sim *s, struct link *l) {
  if (l->severed) return;
  l->severed = true;
  s->c.severed++;
  for (int d = 0; d < 2; d++)
    if (l->end[d].open)
      must(push(s, (struct event){.at = s->now + sim_rng_range(&s->rng, NOTICE_MIN_MS, NOTICE_MAX_MS),
                                  .type = EV_CLOSE_END, .link = l, .dir = d}));
}

static int add_end(struct node *n, struct end *e) {
  if (n->n_ends == n->cap_ends) {
    size_t cap = n->cap_ends ? 2 * n->cap_ends : 8;
    struct end **grown = realloc(n->ends, cap * sizeof *grown);
    if (grown == NULL) return HLS_ENOMEM;
    n->ends = grown;
    n->cap_ends = cap;
  }
  n->ends[n->n_ends++] = e;
  return 0;
}

/* An engine call other than hls_gossip_frame failed. Only a store
 * failure injected during the call may come back (as HLS_ESTORE). */
static void engine_error(struct sim *s, uint32_t node, const char *what, int rc, const struct hls_why *why) {
  if (!honest(s, node)) {
    s->c.adversary_errors++;
    return;
  }
  if (s->store_failed && rc == HLS_ESTORE) return;
  sim_violation(&s->log, node, "%s: %s%s (%s)", what, hls_err_name(rc),
                s->store_failed ? " after an injected store failure" : "", why != NULL ? why->text : "");
}

static void open_session(struct sim *s, uint32_t a, uint32_t b, uint32_t base_ms) {
  struct link *l = calloc(1, sizeof *l);
  if (l == NULL) die(HLS_ENOMEM);
  l->base_ms = base_ms;
  uint32_t who[2] = {a, b};
  for (int d = 0; d < 2; d++) {
    l->end[d] = (struct end){.link = l, .node = who[d], .peer_ident = s->w->nodes[who[1 - d]].ident};
  }
  s->c.sessions++;
  for (int d = 0; d < 2; d++) {
    struct node *n = &s->nodes[who[d]];
    struct end *e = &l->end[d];
    e->open = true;
    must(add_end(n, e));
    s->store_failed = false;
    int rc = hls_gossip_connected(n->g, s->w->nodes[who[1 - d]].pk, e, &e->session);
    if (rc != 0) {
      engine_error(s, who[d], "hls_gossip_connected", rc, NULL);
      e->open = false; /* the engine holds no session to disconnect */
      n->n_ends--;
      if (d == 1) fail_at(s, &l->end[0]);
      maybe_free_link(l);
      return;
    }
    listed_note(s, who[d], l->end[d].peer_ident, true);
  }
}

static void start_dial(struct sim *s, uint32_t from, uint32_t to) {
  struct node *n = &s->nodes[from];
  uint32_t ident = s->w->nodes[to].ident;
  if (!n->up || s->w->nodes[from].ident == ident || has_session(n, ident) || is_dialing(n, ident)) return;
  if (n->n_dialing == n->cap_dialing) {
    size_t cap = n->cap_dialing ? 2 * n->cap_dialing : 8;
    uint32_t *grown = realloc(n->dialing, cap * sizeof *grown);
    if (grown == NULL) die(HLS_ENOMEM);
    n->dialing = grown;
    n->cap_dialing = cap;
  }
  n->dialing[n->n_dialing++] = ident;
  /* The handshake is four messages, alternating. */
  uint32_t base = (uint32_t)sim_rng_range(&s->rng, LINK_BASE_MIN_MS, LINK_BASE_MAX_MS);
  uint64_t t = 0;
  for (int i = 0; i < 4; i++) t += base + sim_rng_below(&s->rng, LINK_JITTER_MAX_MS + 1);
  must(push(s, (struct event){.at = s->now + t, .type = EV_DIAL, .node = from, .peer = to,
                              .incarnation = n->incarnation, .base_ms = base}));
}

static void dial_done(struct sim *s, const struct event *ev) {
  struct node *n = &s->nodes[ev->node], *peer = &s->nodes[ev->peer];
  if (ev->incarnation != n->incarnation) return; /* it crashed since: its dial list was reset */
  uint32_t ident = s->w->nodes[ev->peer].ident;
  for (size_t i = 0; i < n->n_dialing; i++)
    if (n->dialing[i] == ident) {
      n->dialing[i] = n->dialing[--n->n_dialing];
      break;
    }
  if (!n->up) return;
  if (has_session(n, ident) || has_session(peer, s->w->nodes[ev->node].ident)) return; /* one session per pair */
  if (!peer->up || is_cut(s, ev->node, ev->peer)) {
    s->c.dials_failed++;
    listed_note(s, ev->node, ident, false);
    return;
  }
  open_session(s, ev->node, ev->peer, ev->base_ms);
}

/* The host's peer list: dial listed peers that have no session, when
 * their back-off allows. */
static void dial_due(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  const struct sim_node_info *info = &s->w->nodes[node];
  for (size_t k = 0; k < info->n_listed; k++) {
    uint32_t ident = info->listed[k];
    if (n->listed[k].next_ms <= s->now && !has_session(n, ident) && !is_dialing(n, ident))
      start_dial(s, node, ident);
  }
}

/* --- the forger ------------------------------------------------------------------------------ */

/* The run (docs/protocol.md 8.1: consecutive envelopes of one origin)
 * of envs[0..n) that holds envs[k]: [*a, *b). */
static void run_around(const struct hls_envelope *envs, size_t n, size_t k, size_t *a, size_t *b) {
  *a = k;
  while (*a > 0 && memcmp(envs[*a - 1].h.origin, envs[k].h.origin, HLS_KEY_BYTES) == 0) (*a)--;
  *b = k + 1;
  while (*b < n && memcmp(envs[*b].h.origin, envs[k].h.origin, HLS_KEY_BYTES) == 0) (*b)++;
}

/* Tamper with an ITEMS or BODIES frame in place (frame includes its
 * 4-byte length): a flipped signature bit, a changed body byte, or every
 * envelope claiming another (honest) origin. The frame may hold runs of
 * several origins: what the receiver must do depends on the run of the
 * item tampered with (its origin may be one it recorded a fork of), so
 * that run is what m names. */
static void tamper(struct sim *s, struct msg *m) {
  uint8_t *payload = m->frame + 4;
  size_t len = m->len - 4;
  if (len < 2 || (payload[1] != HLS_GF_ITEMS && payload[1] != HLS_GF_BODIES)) return;
  bool complete;
  size_t n = 0;
  struct hls_why why = {{0}};
  if (hls_gossip_items_decode(payload, len, payload[1], &complete, s->envs, &n, &why) != 0 || n == 0) return;
  size_t with_body[HLS_GOSSIP_MAX_BATCH], n_body = 0;
  for (size_t k = 0; k < n; k++)
    if (s->envs[k].body != NULL && s->envs[k].body_len > 0) with_body[n_body++] = k;
  int mode = (int)sim_rng_range(&s->rng, TM_SIGNATURE, TM_ORIGIN);
  if (mode == TM_BODY && n_body == 0) mode = TM_SIGNATURE;
  uint32_t o;
  size_t a, b;
  if (mode == TM_SIGNATURE) {
    size_t k = sim_rng_below(&s->rng, n);
    size_t off = (size_t)(s->envs[k].header_bytes - payload) + s->envs[k].header_len + 2;
    if (off + HLS_SIG_BYTES > len || payload[off - 2] != 0xc4 || payload[off - 1] != HLS_SIG_BYTES ||
        memcmp(payload + off, s->envs[k].sig, HLS_SIG_BYTES) != 0)
      return;
    uint64_t bit = sim_rng_below(&s->rng, HLS_SIG_BYTES * 8);
    payload[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    m->tampered_seq = s->envs[k].h.seq;
    run_around(s->envs, n, k, &a, &b);
    o = sim_world_origin(s->w, s->envs[k].h.origin);
  } else if (mode == TM_BODY) {
    size_t k = with_body[sim_rng_below(&s->rng, n_body)];
    size_t off = (size_t)(s->envs[k].body - payload) + sim_rng_below(&s->rng, s->envs[k].body_len);
    payload[off] ^= (uint8_t)sim_rng_range(&s->rng, 1, 255);
    m->tampered_seq = s->envs[k].h.seq;
    run_around(s->envs, n, k, &a, &b);
    o = sim_world_origin(s->w, s->envs[k].h.origin);
  } else {
    /* Every envelope is rewritten: one run of the claimed origin (its
     * links, changed with the headers, are broken unless it is one
     * envelope). */
    a = 0;
    b = n;
    o = sim_world_origin(s->w, s->envs[0].h.origin);
    /* Claim a random honest origin other than the real one. */
    uint32_t claim = SIM_NONE;
    for (int tries = 0; tries < 16 && claim == SIM_NONE; tries++) {
      uint32_t c = (uint32_t)sim_rng_below(&s->rng, s->w->n_origins);
      if (c != o && !s->w->origins[c].adversary) claim = c;
    }
    if (claim == SIM_NONE) return;
    const uint8_t *pk = s->w->nodes[s->w->origins[claim].node].pk;
    for (size_t k = 0; k < n; k++) {
      size_t off = (size_t)(s->envs[k].header_bytes - payload);
      if (s->envs[k].header_len < 5 + HLS_KEY_BYTES || payload[off] != 0x98 || payload[off + 3] != 0xc4 ||
          payload[off + 4] != HLS_KEY_BYTES || memcmp(payload + off + 5, s->envs[k].h.origin, HLS_KEY_BYTES) != 0)
        return; /* header layout not as expected: leave the rest intact */
      memcpy(payload + off + 5, pk, HLS_KEY_BYTES);
    }
    o = claim;
    m->tampered_seq = s->envs[n - 1].h.seq;
  }
  m->first_seq = s->envs[a].h.seq;
  m->last_seq = s->envs[b - 1].h.seq;
  m->tamper = mode;
  m->tamper_origin = o;
  s->c.tampered_sent++;
}

/* --- the engine's actions ----------------------------------------------------------------------- */

static void trace_store_failure(const struct sim *s, uint32_t node, const struct hls_gossip_action *a) {
  static const char *const names[] = {[HLS_GA_STORE] = "STORE", [HLS_GA_BODY] = "BODY", [HLS_GA_ERASE] = "ERASE",
                                      [HLS_GA_FORK] = "FORK"};
  const uint8_t *origin = a->origin != NULL ? a->origin : a->n > 0 ? a->envs[0].h.origin : NULL;
  uint64_t seq = a->origin != NULL ? a->seq : a->n > 0 ? a->envs[0].h.seq : 0;
  trace(s, "node %" PRIu32 ": store failure on %s (origin %" PRIu32 " seq %" PRIu64 ")", node, names[a->type],
        origin != NULL ? sim_world_origin(s->w, origin) : SIM_NONE, seq);
}

static int emit(void *ctx, const struct hls_gossip_action *a) {
  struct node *n = ctx;
  struct sim *s = n->sim;
  switch (a->type) {
    case HLS_GA_SEND: {
      struct end *e = a->session_ctx;
      if (e == NULL || e->node != n->idx || !e->open || (e->session != NULL && e->session != a->session)) {
        sim_violation(&s->log, n->idx, "SEND on a session that is closed or not its own");
        return 0;
      }
      if (a->frame_len < 5 || a->frame == NULL ||
          ((uint32_t)a->frame[0] << 24 | (uint32_t)a->frame[1] << 16 | (uint32_t)a->frame[2] << 8 | a->frame[3]) !=
              a->frame_len - 4) {
        sim_violation(&s->log, n->idx, "SEND of a frame whose length header is wrong");
        return 0;
      }
      s->c.frames++;
      s->c.bytes += a->frame_len;
      if (a->frame[5] >= HLS_GF_VECTOR && a->frame[5] <= HLS_GF_BODIES) s->c.by_type[a->frame[5] - HLS_GF_VECTOR]++;
      struct msg *m = calloc(1, sizeof *m);
      if (m == NULL) return HLS_ENOMEM;
      m->frame = malloc(a->frame_len);
      if (m->frame == NULL) {
        free(m);
        return HLS_ENOMEM;
      }
      memcpy(m->frame, a->frame, a->frame_len);
      m->len = a->frame_len;
      if (s->faults_active) {
        if (sim_rng_chance(&s->rng, s->rates.frame)) m->fault = (int)sim_rng_range(&s->rng, FF_LOSS, FF_REORDER);
        if (s->w->nodes[n->idx].role == SIM_FORGER && sim_rng_chance(&s->rng, s->rates.tamper)) tamper(s, m);
      }
      send_msg(s, e, m);
      return 0;
    }
    case HLS_GA_STORE:
    case HLS_GA_BODY:
    case HLS_GA_ERASE:
    case HLS_GA_FORK:
      if (s->faults_active && sim_rng_chance(&s->rng, s->rates.store)) {
        s->store_failed = true;
        s->c.store_faults++;
        trace_store_failure(s, n->idx, a);
        return HLS_ESTORE;
      }
      return sim_store_apply(&n->store, a);
    case HLS_GA_DIAL: {
      uint32_t to = a->address != NULL ? sim_world_parse_address(s->w, a->address) : SIM_NONE;
      if (to == SIM_NONE || a->origin == NULL || memcmp(s->w->nodes[to].pk, a->origin, HLS_KEY_BYTES) != 0) {
        sim_violation(&s->log, n->idx, "DIAL of %s, not the address its origin published",
                      a->address ? a->address : "(null)");
        return 0;
      }
      start_dial(s, n->idx, to);
      return 0;
    }
    default: sim_violation(&s->log, n->idx, "unknown action %d", a->type); return 0;
  }
}

/* --- delivery --------------------------------------------------------------------------------- */

/* Must the receiver refuse this tampered frame? Always (docs/protocol.md
 * 8.3, 8.4): a flipped signature bit changes the item's id, so the next
 * item no longer links to it, or it differs from the item held at its
 * seq and does not verify, or it is the newest item and does not
 * verify; a claimed origin breaks the links, leaves a gap or does not
 * verify; a changed body no longer matches body_hash. The one exception:
 * the receiver has recorded a fork of the origin of the tampered item's
 * run (m->tamper_origin; not the frame's first origin), before this frame
 * (runs of it are ACKed and ignored, 8.3 step 2) or from it (its overlap
 * with what is held was a valid conflicting item: the items after it are
 * not read). Asked after the frame was processed. */
static bool tamper_must_fail(const struct node *to, const struct msg *m) {
  return m->tamper == TM_BODY || !to->store.held[m->tamper_origin].forked;
}

static bool mentions_twin(const struct sim *s, const uint8_t *payload, size_t len) {
  return s->w->twin != SIM_NONE && contains(payload, len, s->w->nodes[s->w->twin].pk, HLS_KEY_BYTES);
}

/* Is this ITEMS frame one from which `to` must learn of the twin's fork:
 * it holds one branch past the fork, and the batch, which follows what it
 * holds (first seq <= head + 1), carries an item of the other branch? */
static void note_fork_seen(struct sim *s, struct node *to, const uint8_t *payload, size_t len) {
  uint32_t t = s->w->twin;
  if (t == SIM_NONE || !honest(s, to->idx) || !mentions_twin(s, payload, len)) return;
  uint32_t o = s->w->nodes[t].origin;
  const struct sim_origin *org = &s->w->origins[o];
  const struct sim_held *h = &to->store.held[o];
  if (org->fork_seq == 0 || h->n < org->fork_seq || h->forked) return;
  bool complete;
  size_t n = 0;
  struct hls_why why = {{0}};
  if (hls_gossip_items_decode(payload, len, HLS_GF_ITEMS, &complete, s->envs, &n, &why) != 0 || n == 0) return;
  /* A frame holds runs of several origins (each at most once): find the
   * twin's. */
  size_t a = 0;
  while (a < n && sim_world_origin(s->w, s->envs[a].h.origin) != o) a++;
  if (a == n || s->envs[a].h.seq > (uint64_t)h->n + 1) return;
  for (size_t k = a; k < n && sim_world_origin(s->w, s->envs[k].h.origin) == o; k++) {
    const struct sim_item *mine = sim_world_item(s->w, o, h->branch, s->envs[k].h.seq);
    if (s->envs[k].h.seq >= org->fork_seq && (mine == NULL || memcmp(mine->id, s->envs[k].id, HLS_HASH_BYTES) != 0))
      to->saw_both = true;
  }
}

static void deliver(struct sim *s, struct link *l, int d, struct msg *m) {
  struct end *to = &l->end[1 - d], *from = &l->end[d];
  if (l->severed || !to->open) return;
  if (m->frame == NULL) { /* FIN */
    close_end(s, to);
    return;
  }
  if (m->fault == FF_LOSS || m->fault == FF_REORDER) { /* the box stream fails here */
    s->c.frame_faults++;
    trace(s, "node %" PRIu32 ": frame from %" PRIu32 " %s: session closed", to->node, from->node,
          m->fault == FF_LOSS ? "lost" : "reordered");
    fail_at(s, to);
    return;
  }
  struct node *n = &s->nodes[to->node];
  const uint8_t *payload = m->frame + 4;
  size_t len = m->len - 4;
  if (m->tamper == TM_NONE && len > 1 && payload[1] == HLS_GF_ITEMS) note_fork_seen(s, n, payload, len);
  struct hls_why why = {{0}};
  s->store_failed = false;
  int rc = hls_gossip_frame(n->g, to->session, payload, len, &why);
  /* The twin and its original sign conflicting chains: refusing what
   * they send, or what others relay of them, is right. The forger's
   * untampered frames are an ordinary engine's. */
  bool about_twin = s->w->nodes[from->node].role == SIM_TWIN || mentions_twin(s, payload, len);
  if (rc == 0) {
    if (m->tamper != TM_NONE) {
      s->c.tampered_ignored++;
      if (tamper_must_fail(n, m) && honest(s, n->idx))
        sim_violation(&s->log, n->idx, "accepted a tampered %s frame (mode %d, origin %" PRIu32 " seq %" PRIu64
                      "..%" PRIu64 ", tampered seq %" PRIu64 ")", frame_type_name(payload, len), m->tamper,
                      m->tamper_origin, m->first_seq, m->last_seq, m->tampered_seq);
    }
  } else {
    if (!honest(s, n->idx)) {
      s->c.adversary_errors++;
    } else if (s->store_failed) {
      if (rc != HLS_ESTORE)
        sim_violation(&s->log, n->idx, "a store failure came back from hls_gossip_frame as %s", hls_err_name(rc));
    } else if (m->tamper != TM_NONE) {
      s->c.tampered_rejected++;
      if (!hls_gossip_peer_fault(rc))
        sim_violation(&s->log, n->idx, "a tampered frame was refused with %s, not a peer fault (%s)",
                      hls_err_name(rc), why.text);
    } else if (about_twin) {
      if (hls_gossip_peer_fault(rc))
        s->c.twin_refusals++;
      else
        sim_violation(&s->log, n->idx, "%s frame about the twin refused with %s (%s)",
                      frame_type_name(payload, len), hls_err_name(rc), why.text);
    } else {
      sim_violation(&s->log, n->idx, "%s frame from node %" PRIu32 " refused: %s (%s)",
                    frame_type_name(payload, len), from->node, hls_err_name(rc), why.text);
    }
    fail_at(s, to); /* an error closes the session */
    return;
  }
  if (m->fault == FF_DUP) { /* delivered, then its copy breaks the stream */
    s->c.frame_faults++;
    trace(s, "node %" PRIu32 ": frame from %" PRIu32 " duplicated: session closed", to->node, from->node);
    fail_at(s, to);
  }
}

/* --- nodes: start, crash, publish, tick -------------------------------------------------------- */

static void publish_due(struct sim *s, uint32_t node);

static void start_node(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  const struct sim_world *w = s->w;
  struct hls_gossip_config cfg;
  hls_gossip_config_init(&cfg, w->nodes[node].pk);
  cfg.seed = sim_rng_next(&s->rng);
  if (s->o->window != 0) cfg.window = (uint32_t)s->o->window;
  struct hls_gossip_store vt = sim_store_vtable(&n->store);
  int rc = hls_gossip_new(&n->g, &cfg, &vt, emit, n);
  if (rc != 0) {
    fprintf(stderr, "hls_sim: hls_gossip_new: %s\n", hls_err_name(rc));
    exit(2);
  }
  for (uint32_t o = 0; o < w->n_origins; o++) {
    const struct sim_held *h = &n->store.held[o];
    if (h->n == 0) continue;
    struct hls_profile profile;
    bool has_profile = sim_store_latest_profile(&n->store, o, &profile) == 0;
    const struct sim_item *head = sim_store_item(&n->store, o, h->n);
    s->store_failed = false;
    rc = hls_gossip_load_origin(n->g, w->nodes[w->origins[o].node].pk, h->n, head->id, h->forked,
                                has_profile ? &profile : NULL);
    if (rc != 0) engine_error(s, node, "hls_gossip_load_origin", rc, NULL);
  }
  n->up = n->started = true;
  trace(s, "node %" PRIu32 ": up", node);
  for (size_t k = 0; k < w->nodes[node].n_listed; k++) n->listed[k].next_ms = s->now;
  must(push(s, (struct event){.at = s->now + sim_rng_below(&s->rng, TICK_MS), .type = EV_TICK, .node = node,
                              .incarnation = n->incarnation}));
  publish_due(s, node);
}

static void add_stats(struct hls_gossip_stats *sum, const struct hls_gossip *g) {
  struct hls_gossip_stats st;
  hls_gossip_get_stats(g, &st);
  sum->items_received += st.items_received;
  sum->items_duplicate += st.items_duplicate;
  sum->items_sent += st.items_sent;
  sum->bodies_sent += st.bodies_sent;
  sum->bodies_received += st.bodies_received;
  sum->verifications += st.verifications;
}

static void stop_node(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  if (!n->up) return;
  while (n->n_ends > 0) {
    struct end *e = n->ends[n->n_ends - 1];
    struct link *l = e->link;
    sever(s, l);  /* the peer notices later */
    close_end(s, e);
    maybe_free_link(l);
  }
  add_stats(&s->c.engines, n->g);
  hls_gossip_free(n->g);
  n->g = NULL;
  n->up = false;
  n->incarnation++;
  n->n_dialing = 0;
}

static void publish_due(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  uint32_t o = s->w->nodes[node].origin;
  if (!n->up || o == SIM_NONE) return;
  uint64_t len = sim_world_chain_len(s->w, o, n->branch);
  while (n->next_pub < len) {
    const struct sim_item *it = sim_world_item(s->w, o, n->branch, n->next_pub + 1);
    if (it->publish_ms > s->now) {
      must(push(s, (struct event){.at = it->publish_ms, .type = EV_PUBLISH, .node = node,
                                  .incarnation = n->incarnation}));
      return;
    }
    sim_store_publish(&n->store, o, n->branch, it);
    size_t need = it->stub_len + it->body_len;
    if (need > s->envbuf_cap) {
      uint8_t *grown = realloc(s->envbuf, need);
      if (grown == NULL) die(HLS_ENOMEM);
      s->envbuf = grown;
      s->envbuf_cap = need;
    }
    size_t env_len = sim_item_envelope(it, s->envbuf);
    struct hls_why why = {{0}};
    s->store_failed = false;
    int rc = hls_gossip_local_item(n->g, s->envbuf, env_len, &why);
    if (rc != 0) engine_error(s, node, "hls_gossip_local_item", rc, &why);
    n->next_pub++;
    if (!s->w->origins[o].adversary) {
      s->honest_left--;
      s->last_pub_ms = s->now;
      s->c.frames_at_last_pub = s->c.frames;
    }
  }
}

static void tick(struct sim *s, const struct event *ev) {
  struct node *n = &s->nodes[ev->node];
  if (!n->up || ev->incarnation != n->incarnation) return;
  s->store_failed = false;
  int rc = hls_gossip_tick(n->g, SIM_EPOCH_MS + s->now);
  if (rc != 0) engine_error(s, ev->node, "hls_gossip_tick", rc, NULL);
  dial_due(s, ev->node);
  must(push(s, (struct event){.at = s->now + TICK_MS, .type = EV_TICK, .node = ev->node,
                              .incarnation = n->incarnation}));
}

/* --- faults ------------------------------------------------------------------------------------ */

static void plan_faults(struct sim *s) {
  const struct sim_world *w = s->w;
  uint64_t end = s->fault_end_ms;
  schedule(s, end, EV_FAULTS_END, 0);
  if (!s->o->faults || end < 2000) return;
  for (uint32_t n = 0; n < w->n_nodes; n++)
    if (sim_rng_chance(&s->rng, s->rates.crash_per_node))
      schedule(s, sim_rng_range(&s->rng, 500, end - 1000), EV_CRASH, n);
  s->n_cuts = s->rates.partitions;
  s->cuts = calloc(s->n_cuts ? s->n_cuts : 1, sizeof *s->cuts);
  if (s->cuts == NULL) die(HLS_ENOMEM);
  for (size_t i = 0; i < s->n_cuts; i++) {
    struct cut *c = &s->cuts[i];
    c->start_ms = sim_rng_range(&s->rng, 500, end - 1500);
    c->end_ms = c->start_ms + sim_rng_range(&s->rng, 1000, 8000);
    if (c->end_ms > end) c->end_ms = end;
    if (sim_rng_chance(&s->rng, 0.5)) { /* a group of nodes cut from the rest */
      c->group = calloc(w->n_nodes, 1);
      if (c->group == NULL) die(HLS_ENOMEM);
      double share = 0.1 + 0.4 * sim_rng_unit(&s->rng);
      for (uint32_t n = 0; n < w->n_nodes; n++) c->group[n] = sim_rng_chance(&s->rng, share);
    } /* else: links chosen when it starts, among the sessions then open */
    must(push(s, (struct event){.at = c->start_ms, .type = EV_CUT, .node = (uint32_t)i}));
    must(push(s, (struct event){.at = c->end_ms, .type = EV_HEAL, .node = (uint32_t)i}));
  }
}

static void start_cut(struct sim *s, uint32_t i) {
  struct cut *c = &s->cuts[i];
  s->c.partitions++;
  if (c->group == NULL) {
    size_t cap = 16;
    c->pairs = malloc(2 * cap * sizeof *c->pairs);
    if (c->pairs == NULL) die(HLS_ENOMEM);
    for (uint32_t n = 0; n < s->w->n_nodes; n++) {
      const struct node *nd = &s->nodes[n];
      for (size_t k = 0; k < nd->n_ends; k++) {
        const struct end *e = nd->ends[k];
        uint32_t peer = other_end(nd->ends[k])->node;
        if (e != &e->link->end[0] || !sim_rng_chance(&s->rng, 0.25)) continue;
        if (c->n_pairs == cap) {
          cap *= 2;
          uint32_t *grown = realloc(c->pairs, 2 * cap * sizeof *grown);
          if (grown == NULL) die(HLS_ENOMEM);
          c->pairs = grown;
        }
        c->pairs[2 * c->n_pairs] = n < peer ? n : peer;
        c->pairs[2 * c->n_pairs + 1] = n < peer ? peer : n;
        c->n_pairs++;
      }
    }
  }
  c->active = true;
  trace(s, "partition %" PRIu32 ": %s until t=%" PRIu64 "ms", i, c->group != NULL ? "a group of nodes" : "some links",
        c->end_ms);
  for (uint32_t n = 0; n < s->w->n_nodes; n++) {
    const struct node *nd = &s->nodes[n];
    for (size_t k = 0; k < nd->n_ends; k++) {
      struct end *e = nd->ends[k];
      if (is_cut(s, e->node, other_end(e)->node)) sever(s, e->link);
    }
  }
}

static void crash(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  if (!n->up || !s->faults_active) return;
  s->c.crashes++;
  trace(s, "node %" PRIu32 ": crash", node);
  stop_node(s, node);
  uint64_t back = s->now + sim_rng_range(&s->rng, 200, 6000);
  if (back > s->fault_end_ms) back = s->fault_end_ms;
  must(push(s, (struct event){.at = back, .type = EV_RESTART, .node = node, .incarnation = n->incarnation}));
}

static void faults_end(struct sim *s) {
  s->faults_active = false;
  for (size_t i = 0; i < s->n_cuts; i++) s->cuts[i].active = false;
  for (uint32_t n = 0; n < s->w->n_nodes; n++)
    if (s->nodes[n].started && !s->nodes[n].up) start_node(s, n);
}

/* The twin comes up: a restored backup of its original's store, taken
 * when the original had published the items before the fork; it then
 * signs its own from there. */
static void start_twin(struct sim *s, uint32_t node) {
  struct node *n = &s->nodes[node];
  uint32_t o = s->w->nodes[node].origin;
  const struct sim_origin *org = &s->w->origins[o];
  sim_store_copy(&n->store, &s->nodes[org->node].store);
  sim_store_truncate(&n->store, o, org->fork_seq - 1);
  for (uint64_t seq = n->store.held[o].n + 1; seq < org->fork_seq; seq++) /* the original was down: */
    sim_store_publish(&n->store, o, 1, sim_world_item(s->w, o, 1, seq));
  n->branch = 1;
  n->next_pub = org->fork_seq - 1;
  start_node(s, node);
}

/* --- convergence ------------------------------------------------------------------------------------ */

static bool all_honest_up(const struct sim *s) {
  for (uint32_t n = 0; n < s->w->n_nodes; n++)
    if (honest(s, n) && !s->nodes[n].up) return false;
  return true;
}

/* The oracle, recomputed from the stores (not from the running count). */
static uint64_t final_check(struct sim *s, bool report) {
  const struct sim_world *w = s->w;
  uint64_t missing = 0;
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    const struct node *nd = &s->nodes[n];
    if (!honest(s, n)) continue;
    for (uint32_t o = 0; o < w->n_origins; o++) {
      const struct sim_origin *org = &w->origins[o];
      const struct sim_held *h = &nd->store.held[o];
      if (org->fork_seq != 0 && nd->saw_both && !h->forked && report)
        sim_violation(&s->log, n, "saw both versions of origin %" PRIu32 " seq %" PRIu64 " and recorded no fork", o,
                      org->fork_seq);
      if (org->adversary) continue;
      uint64_t engine_head = nd->g != NULL ? hls_gossip_head(nd->g, w->nodes[org->node].pk) : h->n;
      if (report && engine_head != h->n)
        sim_violation(&s->log, n, "engine head of origin %" PRIu32 " is %" PRIu64 ", the store holds %" PRIu32, o,
                      engine_head, h->n);
      for (uint64_t seq = 1; seq <= org->n_items; seq++) {
        const struct sim_item *it = &org->items[seq - 1];
        int want = sim_world_expected(w, n, o, it), have = sim_store_state(&nd->store, o, seq);
        if (have == want) continue;
        if (report && missing < 10) {
          fprintf(stderr,
                  "seed %" PRIu64 ": node %" PRIu32 " origin %" PRIu32 " (node %" PRIu32 ") seq %" PRIu64
                  " type %s audience %s: state %d, want %d; store head %" PRIu32 ", engine head %" PRIu64 "%s\n",
                  w->seed, n, o, org->node, seq, hls_env_type_name(it->type), hls_env_audience_name(it->audience),
                  have, want, h->n, engine_head, nd->up ? "" : " (down)");
        }
        missing++;
      }
    }
  }
  return missing;
}

/* --- one run -------------------------------------------------------------------------------------- */

struct result {
  struct sim_verify_stats verify;
  bool ok, converged;
  uint64_t conv_ms, last_pub_ms;
  double mean_delay_ms;
  struct counters c;
  uint64_t violations;
  uint64_t forks_recorded, saw_both;
};

static void handle(struct sim *s, struct event *ev) {
  switch (ev->type) {
    case EV_DELIVER:
      deliver(s, ev->link, ev->dir, ev->msg);
      free(ev->msg->frame);
      free(ev->msg);
      break;
    case EV_CLOSE_END: close_end(s, &ev->link->end[ev->dir]); break;
    case EV_DIAL: dial_done(s, ev); break;
    case EV_TICK: tick(s, ev); break;
    case EV_PUBLISH:
      if (ev->incarnation == s->nodes[ev->node].incarnation) publish_due(s, ev->node);
      break;
    case EV_CRASH: crash(s, ev->node); break;
    case EV_RESTART:
      if (!s->nodes[ev->node].up && ev->incarnation == s->nodes[ev->node].incarnation) start_node(s, ev->node);
      break;
    case EV_CUT:
      if (s->faults_active) start_cut(s, ev->node);
      break;
    case EV_HEAL:
      s->cuts[ev->node].active = false;
      trace(s, "partition %" PRIu32 ": healed", ev->node);
      break;
    case EV_FAULTS_END:
      trace(s, "faults stop");
      faults_end(s);
      break;
    case EV_TWIN: start_twin(s, ev->node); break;
    default: break;
  }
  if (ev->link != NULL) {
    ev->link->in_flight--;
    maybe_free_link(ev->link);
  }
}

static struct result run_one(const struct opts *o, uint64_t seed) {
  struct result res = {0};
  struct sim_params p = {
      .nodes = (uint32_t)o->nodes,
      .publishers = (uint32_t)o->publishers,
      .items_per_node = (uint32_t)o->items,
      .faults = o->faults,
      .adversaries = o->adversaries,
      .receipts = o->receipts,
      .fault_ms = o->faults ? o->fault_s * 1000 : 0,
      .deadline_ms = o->deadline_s * 1000,
  };
  p.publish_window_ms = o->publish_s ? o->publish_s * 1000 : (o->faults ? p.fault_ms * 4 / 5 : 5000);
  if (p.fault_ms < p.publish_window_ms && o->faults) p.fault_ms = p.publish_window_ms;
  struct sim_world *w = NULL;
  sim_verify_reset();
  sim_verify_enable(o->verify_cache);
  must(sim_world_new(&w, &p, seed));

  struct sim *s = calloc(1, sizeof *s);
  if (s == NULL) die(HLS_ENOMEM);
  s->w = w;
  s->o = o;
  if (o->faults) s->rates = fault_rates_on;
  if (o->adversaries) s->rates.tamper = fault_rates_on.tamper;
  s->faults_active = o->faults || o->adversaries;
  s->fault_end_ms = o->faults ? p.fault_ms : p.publish_window_ms;
  sim_rng_seed(&s->rng, seed, STREAM_RUN);
  s->log = (struct sim_log){.seed = seed, .max_printed = 20, .now_ms = &s->now};
  s->envs = calloc(HLS_GOSSIP_MAX_BATCH, sizeof *s->envs);
  s->nodes = calloc(w->n_nodes, sizeof *s->nodes);
  if (s->envs == NULL || s->nodes == NULL) die(HLS_ENOMEM);
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    struct node *nd = &s->nodes[n];
    nd->sim = s;
    nd->idx = n;
    must(sim_store_init(&nd->store, w, n, &s->satisfied, &s->log));
    nd->listed = calloc(w->nodes[n].n_listed ? w->nodes[n].n_listed : 1, sizeof *nd->listed);
    if (nd->listed == NULL) die(HLS_ENOMEM);
  }
  for (uint32_t org = 0; org < w->n_origins; org++)
    if (!w->origins[org].adversary) s->honest_left += w->origins[org].n_items;

  plan_faults(s);
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    if (w->nodes[n].role == SIM_TWIN && n == w->twin) {
      const struct sim_origin *org = &w->origins[w->nodes[n].origin];
      if (org->fork_seq != 0) schedule(s, org->twin_start_ms, EV_TWIN, n);
      continue;
    }
    start_node(s, n);
  }

  uint64_t deadline = s->fault_end_ms + p.deadline_ms, tail_end = UINT64_MAX;
  bool converged = false;
  while (s->n_heap > 0 && s->heap[0].at <= deadline && s->heap[0].at <= tail_end) {
    struct event ev = pop(s);
    s->now = ev.at;
    handle(s, &ev);
    if (!converged && !s->faults_active && s->honest_left == 0 && s->satisfied == w->required && all_honest_up(s)) {
      converged = true;
      res.conv_ms = s->now;
      s->c.frames_at_conv = s->c.frames;
      memcpy(s->c.by_type_at_conv, s->c.by_type, sizeof s->c.by_type);
      s->c.bytes_at_conv = s->c.bytes;
      tail_end = s->now + TAIL_MS;
    }
  }
  if (!converged) { /* count everything, as if it converged at the deadline */
    s->now = deadline;
    s->c.frames_at_conv = s->c.frames;
    s->c.bytes_at_conv = s->c.bytes;
    memcpy(s->c.by_type_at_conv, s->c.by_type, sizeof s->c.by_type);
  }
  s->c.frames_in_tail = s->c.frames - s->c.frames_at_conv;
  uint64_t missing = final_check(s, true);
  res.converged = converged && missing == 0;
  if (converged && missing != 0)
    sim_violation(&s->log, 0, "the running count said converged, yet %" PRIu64 " items are not as required", missing);
  if (!converged)
    fprintf(stderr, "seed %" PRIu64 ": not converged %" PRIu64 " s after the faults stopped: %" PRIu64
            " of %" PRIu64 " required (node, item) pairs missing\n",
            seed, p.deadline_ms / 1000, missing, w->required);

  for (uint32_t n = 0; n < w->n_nodes; n++) {
    struct node *nd = &s->nodes[n];
    res.forks_recorded += nd->store.forks_recorded;
    res.saw_both += nd->saw_both;
    if (nd->up) add_stats(&s->c.engines, nd->g);
  }
  res.violations = s->log.violations;
  res.ok = res.converged && res.violations == 0;
  res.last_pub_ms = s->last_pub_ms;
  res.mean_delay_ms = s->c.delay_n ? (double)s->c.delay_sum / (double)s->c.delay_n : 0;
  res.c = s->c;
  sim_verify_get_stats(&res.verify);

  /* Tear down: sessions first (the engine wants them disconnected). */
  for (uint32_t n = 0; n < w->n_nodes; n++) stop_node(s, n);
  while (s->n_heap > 0) {
    struct event ev = pop(s);
    if (ev.msg != NULL) {
      free(ev.msg->frame);
      free(ev.msg);
    }
    if (ev.link != NULL) {
      ev.link->in_flight--;
      maybe_free_link(ev.link);
    }
  }
  for (uint32_t n = 0; n < w->n_nodes; n++) {
    sim_store_free(&s->nodes[n].store);
    free(s->nodes[n].ends);
    free(s->nodes[n].dialing);
    free(s->nodes[n].listed);
  }
  for (size_t i = 0; i < s->n_cuts; i++) {
    free(s->cuts[i].group);
    free(s->cuts[i].pairs);
  }
  free(s->cuts);
  free(s->nodes);
  free(s->heap);
  free(s->envs);
  free(s->envbuf);
  free(s);
  sim_world_free(w);
  sim_verify_reset();
  return res;
}

/* --- main ------------------------------------------------------------------------------------ */

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void print_result(const struct opts *o, uint64_t seed, const struct result *r, double wall) {
  double rounds = r->mean_delay_ms > 0 ? (double)(r->conv_ms - r->last_pub_ms) / r->mean_delay_ms : 0;
  double log2n = log2((double)o->nodes);
  printf("seed %" PRIu64 ": %s  N=%" PRIu64 " publishers=%" PRIu64 " items/node=%" PRIu64 " faults=%s\n", seed,
         r->ok ? "converged" : "FAILED", o->nodes, o->publishers, o->items, o->faults ? "on" : "off");
  if (r->converged)
    printf("  last publication %.3f s, converged %.3f s: %.1f rounds (round = %.1f ms mean one-way delay; "
           "log2 N = %.1f)\n",
           (double)r->last_pub_ms / 1000, (double)r->conv_ms / 1000, rounds, r->mean_delay_ms, log2n);
  printf("  frames %" PRIu64 " (%" PRIu64 " after the last publication), %.2f MB; after convergence %" PRIu64
         " frames in %d s\n",
         r->c.frames_at_conv, r->c.frames_at_conv - r->c.frames_at_last_pub, (double)r->c.bytes_at_conv / 1e6,
         r->c.frames_in_tail, TAIL_MS / 1000);
  static const char *const names[N_FRAME_TYPES] = {"VECTOR", "ITEMS", "ACK", "WANT", "BODIES"};
  printf("  by type to convergence:");
  for (int i = 0; i < N_FRAME_TYPES; i++) printf(" %s %" PRIu64, names[i], r->c.by_type_at_conv[i]);
  printf("; after:");
  for (int i = 0; i < N_FRAME_TYPES; i++) printf(" %s %" PRIu64, names[i], r->c.by_type[i] - r->c.by_type_at_conv[i]);
  printf("\n  items: received %" PRIu64 ", duplicates %" PRIu64 ", sent %" PRIu64 "; bodies sent %" PRIu64
         "; signature verifications %" PRIu64 " (%" PRIu64 " computed, the rest remembered)\n",
         r->c.engines.items_received, r->c.engines.items_duplicate, r->c.engines.items_sent, r->c.engines.bodies_sent,
         r->c.engines.verifications, r->verify.misses);
  printf("  sessions %" PRIu64 ", failed dials %" PRIu64 "; faults: frames %" PRIu64 ", store %" PRIu64
         ", crashes %" PRIu64 ", partitions %" PRIu64 " (sessions severed %" PRIu64 ")\n",
         r->c.sessions, r->c.dials_failed, r->c.frame_faults, r->c.store_faults, r->c.crashes, r->c.partitions,
         r->c.severed);
  printf("  adversaries: tampered frames %" PRIu64 " (rejected %" PRIu64 ", dropped unread %" PRIu64
         "), twin's frames refused %" PRIu64 ", nodes that saw the fork %" PRIu64 " / recorded it %" PRIu64
         "; wall %.2f s\n",
         r->c.tampered_sent, r->c.tampered_rejected, r->c.tampered_ignored, r->c.twin_refusals, r->saw_both,
         r->forks_recorded, wall);
}

int main(int argc, char **argv) {
  struct opts o;
  int prc = parse_opts(argc, argv, &o);
  if (prc != 0) {
    usage(prc > 0 ? stdout : stderr);
    return prc > 0 ? 0 : 2;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "hls_sim: sodium_init failed\n");
    return 2;
  }
  double *rounds = calloc(o.seeds, sizeof *rounds);
  if (rounds == NULL) die(HLS_ENOMEM);
  uint64_t failed = 0, n_rounds = 0;
  double start = wall_s();
  for (uint64_t i = 0; i < o.seeds; i++) {
    uint64_t seed = o.seed + i;
    double t0 = wall_s();
    struct result r = run_one(&o, seed);
    if (!r.ok) {
      failed++;
      fprintf(stderr, "FAILED seed %" PRIu64 " (%" PRIu64 " violations); reproduce: hls_sim --nodes %" PRIu64
              " --publishers %" PRIu64 " --items-per-node %" PRIu64 " --faults %s --adversaries %s --fault-seconds %"
              PRIu64 " --publish-seconds %" PRIu64 " --deadline %" PRIu64 " --window %" PRIu64 " --receipts %s --seed %" PRIu64
              "\n",
              seed, r.violations, o.nodes, o.publishers, o.items, o.faults ? "on" : "off",
              o.adversaries ? "on" : "off", o.fault_s, o.publish_s, o.deadline_s, o.window,
              o.receipts ? "on" : "off", seed);
    }
    if (r.converged && r.mean_delay_ms > 0)
      rounds[n_rounds++] = (double)(r.conv_ms - r.last_pub_ms) / r.mean_delay_ms;
    if (!o.quiet || !r.ok) print_result(&o, seed, &r, wall_s() - t0);
    fflush(stdout);
  }
  if (o.seeds > 1 || o.quiet) {
    qsort(rounds, n_rounds, sizeof *rounds, cmp_double);
    printf("%" PRIu64 " seeds from %" PRIu64 ", N=%" PRIu64 ": %" PRIu64 " converged, %" PRIu64 " failed", o.seeds,
           o.seed, o.nodes, o.seeds - failed, failed);
    if (n_rounds > 0)
      printf("; rounds after the last publication: median %.1f, max %.1f", rounds[n_rounds / 2],
             rounds[n_rounds - 1]);
    printf("; wall %.1f s\n", wall_s() - start);
  }
  free(rounds);
  return failed == 0 ? 0 : 1;
}
