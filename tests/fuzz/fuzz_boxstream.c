/* The box-stream reader (protocol/boxstream.h) on a peer's bytes, fed in
 * chunks, and hls_box_seal on any plaintext.
 *
 * Input: [mode][split][payload] (enum box_fuzz_mode in transport_fixture.h):
 *  - BOX_RAW: the payload is the stream, read with the key and nonce of
 *    the genuine stream (shs.json's client-to-server box stream);
 *  - BOX_MUTATE: the genuine stream with messages dropped, duplicated
 *    (replayed) or swapped, then bytes flipped, set, deleted, inserted or
 *    cut, as the payload says;
 *  - BOX_SEAL: the payload's plaintext sealed in messages of at most a
 *    size it chooses, from a nonce whose last 3 bytes it chooses (carries),
 *    then read back.
 * Each stream is read twice, whole and in chunks of 1..split bytes.
 *
 * Beyond memory safety, checks:
 *  - authenticity: every body the reader accepts is, in order, the next
 *    body of the genuine stream; the goodbye is accepted only after all of
 *    them (no truncation);
 *  - a stream that begins with the whole genuine stream is read to its
 *    goodbye and not a byte further; a prefix of it is waited for (every
 *    complete message delivered, no error, not ended);
 *  - errors are only HLS_EBADSIG and HLS_EMALFORMED; a callback's non-zero
 *    return stops the reader and is returned; "consumed" is all the bytes
 *    unless the goodbye or an error came; reading whole or in chunks gives
 *    the same outcome; after the goodbye more bytes are HLS_ECLOSED;
 *  - sealing: 0 and HLS_BOX_MAX_BODY + 1 bytes are refused without using a
 *    nonce; hls_box_sealed_size is exact; each message advances the nonce
 *    by 2 as a 24-byte big-endian counter; the plaintext reads back;
 *  - hls_box_reader_wipe leaves no byte set. */
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boxstream.h"
#include "fuzz.h"
#include "transport_fixture.h"

/* What the callback returns to stop the reader: no HLS_E* code. */
#define STOP_RC 4242
/* Messages in a mutated stream: bounds its size (12 x 4130 bytes). */
#define MAX_MESSAGES 12
/* Messages BOX_SEAL makes at most. */
#define MAX_SEALED 64

/* Computed on the first input and read-only after. */
static struct box_fixture fixture;
static bool fixture_ready;

/* The stream the reader should find: its bytes and its bodies. */
struct genuine {
  const uint8_t *stream; /* messages, then the goodbye */
  size_t len;
  const size_t *msg_off; /* n_bodies + 2 offsets: message i is [msg_off[i], msg_off[i + 1]) */
  const uint8_t *const *body;
  const size_t *body_len;
  size_t n_bodies;
};

struct reading {
  const struct genuine *g;
  size_t got;        /* bodies accepted */
  size_t stop_after; /* the callback returns STOP_RC at this body (0: never) */
};

struct outcome {
  int rc;
  size_t consumed, bodies;
  bool ended;
};

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return false;
  return true;
}

static int on_body(void *ctx, const uint8_t *plain, size_t len) {
  struct reading *rd = ctx;
  const struct genuine *g = rd->g;
  FUZZ_CHECK(len >= 1 && len <= HLS_BOX_MAX_BODY);
  FUZZ_CHECK(rd->got < g->n_bodies && len == g->body_len[rd->got] && memcmp(plain, g->body[rd->got], len) == 0);
  rd->got++;
  return rd->stop_after != 0 && rd->got == rd->stop_after ? STOP_RC : 0;
}

static struct outcome read_stream(const uint8_t *stream, size_t len, uint8_t split, const uint8_t nonce[24],
                                  const struct genuine *g, size_t stop_after) {
  struct hls_box_reader r;
  struct reading rd = {g, 0, stop_after};
  struct outcome o = {0, 0, 0, false};
  uint32_t lcg = split;
  hls_box_reader_init(&r, box_fixture_key, nonce);
  while (o.consumed < len) {
    size_t chunk = split == 0 ? len - o.consumed : fixture_chunk(&lcg, split);
    if (chunk > len - o.consumed) chunk = len - o.consumed;
    size_t used = SIZE_MAX;
    int rc = hls_box_reader_feed(&r, stream + o.consumed, chunk, &used, on_body, &rd);
    FUZZ_CHECK(used <= chunk);
    o.consumed += used;
    if (rc != 0) {
      FUZZ_CHECK(rc == HLS_EBADSIG || rc == HLS_EMALFORMED || rc == STOP_RC);
      FUZZ_CHECK(!r.ended);
      o.rc = rc;
      break;
    }
    if (r.ended) break;
    FUZZ_CHECK(used == chunk);
  }
  o.bodies = rd.got;
  o.ended = r.ended;
  if (r.ended) {
    /* No truncation: the goodbye only after every genuine body. */
    FUZZ_CHECK(rd.got == g->n_bodies);
    size_t used = SIZE_MAX;
    FUZZ_CHECK(hls_box_reader_feed(&r, stream, 0, &used, on_body, &rd) == 0 && used == 0);
    if (o.consumed < len) {
      FUZZ_CHECK(hls_box_reader_feed(&r, stream + o.consumed, len - o.consumed, &used, on_body, &rd) == HLS_ECLOSED);
      FUZZ_CHECK(used == 0);
    }
  }
  hls_box_reader_wipe(&r);
  FUZZ_CHECK(all_zero(&r, sizeof r));
  return o;
}

static void check_stream(const uint8_t *stream, size_t len, uint8_t split, const uint8_t nonce[24],
                         const struct genuine *g, size_t stop_after) {
  struct outcome whole = read_stream(stream, len, 0, nonce, g, stop_after);
  struct outcome chunked = read_stream(stream, len, split, nonce, g, stop_after);
  FUZZ_CHECK(whole.rc == chunked.rc && whole.consumed == chunked.consumed && whole.bodies == chunked.bodies &&
             whole.ended == chunked.ended);

  /* A prefix of the genuine stream (or all of it, then anything). */
  size_t common = len < g->len ? len : g->len;
  if (memcmp(stream, g->stream, common) != 0) return;
  size_t complete = 0;
  while (complete < g->n_bodies && g->msg_off[complete + 1] <= common) complete++;
  bool full = common == g->len;
  if (stop_after >= 1 && stop_after <= complete) {
    FUZZ_CHECK(whole.rc == STOP_RC && whole.bodies == stop_after && !whole.ended);
    FUZZ_CHECK(whole.consumed == g->msg_off[stop_after]);
  } else {
    FUZZ_CHECK(whole.rc == 0 && whole.bodies == complete && whole.ended == full);
    FUZZ_CHECK(whole.consumed == common);
  }
}

/* The genuine stream with the payload's edits (BOX_MUTATE). */
static void mutate(const uint8_t *payload, size_t n, uint8_t split) {
  const struct box_fixture *f = &fixture;
  const size_t n_messages = BOX_FIXTURE_BODIES + 1;
  if (n < 2) return;
  size_t stop_after = payload[0] % 8;
  size_t n_msg_ops = payload[1] % 16, p = 2;
  uint8_t order[MAX_MESSAGES];
  size_t count = n_messages;
  for (size_t i = 0; i < count; i++) order[i] = (uint8_t)i;
  for (size_t i = 0; i < n_msg_ops && p + 2 <= n; i++, p += 2) {
    uint8_t op = payload[p], arg = payload[p + 1];
    if (count == 0) break;
    size_t at = arg % count, other = (size_t)(op / 3);
    switch (op % 3) {
      case BOX_MSG_DROP:
        memmove(order + at, order + at + 1, count - at - 1);
        count--;
        break;
      case BOX_MSG_DUP: {
        if (count == MAX_MESSAGES) break;
        uint8_t m = order[at];
        other %= count + 1;
        memmove(order + other + 1, order + other, count - other);
        order[other] = m;
        count++;
        break;
      }
      default: {
        other %= count;
        uint8_t m = order[at];
        order[at] = order[other];
        order[other] = m;
        break;
      }
    }
  }
  size_t len = 0, cap = n / 4 + 1;
  for (size_t i = 0; i < count; i++) cap += f->msg_off[order[i] + 1] - f->msg_off[order[i]];
  uint8_t *buf = malloc(cap);
  FUZZ_CHECK(buf != NULL);
  for (size_t i = 0; i < count; i++) {
    size_t m = order[i], mlen = f->msg_off[m + 1] - f->msg_off[m];
    memcpy(buf + len, f->stream + f->msg_off[m], mlen);
    len += mlen;
  }
  for (; p + 4 <= n; p += 4) {
    uint8_t op = payload[p], value = payload[p + 3];
    size_t pos = (size_t)payload[p + 1] << 8 | payload[p + 2];
    if (op % 5 == BOX_BYTE_INSERT) {
      FUZZ_CHECK(len < cap);
      pos %= len + 1;
      memmove(buf + pos + 1, buf + pos, len - pos);
      buf[pos] = value;
      len++;
      continue;
    }
    if (len == 0) continue;
    pos %= len;
    switch (op % 5) {
      case BOX_BYTE_FLIP: buf[pos] ^= (uint8_t)(1u << (value % 8)); break;
      case BOX_BYTE_SET: buf[pos] = value; break;
      case BOX_BYTE_DELETE: {
        size_t k = (size_t)(value % 64) + 1;
        if (k > len - pos) k = len - pos;
        memmove(buf + pos, buf + pos + k, len - pos - k);
        len -= k;
        break;
      }
      default: len = pos; break; /* BOX_BYTE_TRUNCATE */
    }
  }
  /* An exact-size copy, so the sanitizers see reads past the stream. */
  uint8_t *exact = malloc(len > 0 ? len : 1);
  FUZZ_CHECK(exact != NULL);
  memcpy(exact, buf, len);
  free(buf);
  const struct genuine g = {f->stream, f->stream_len, f->msg_off, f->body, f->body_len, BOX_FIXTURE_BODIES};
  check_stream(exact, len, split, box_fixture_nonce, &g, stop_after);
  free(exact);
}

/* n[24] += v, big-endian, written independently of boxstream.c. */
static void nonce_add(uint8_t n[24], uint64_t v) {
  for (int i = 23; i >= 0 && v != 0; i--) {
    uint64_t sum = n[i] + (v & 0xff);
    n[i] = (uint8_t)sum;
    v = (v >> 8) + (sum >> 8);
  }
}

/* Seal the payload's plaintext and read it back (BOX_SEAL). */
static void seal(const uint8_t *payload, size_t n, uint8_t split) {
  static const uint8_t too_long[HLS_BOX_MAX_BODY + 1];
  if (n < 5) return;
  size_t max_body = 1 + (((size_t)payload[0] << 8 | payload[1]) % HLS_BOX_MAX_BODY);
  uint8_t nonce[24], expected_nonce[24];
  memcpy(nonce, box_fixture_nonce, 24);
  memcpy(nonce + 21, payload + 2, 3);
  const uint8_t *plain = payload + 5;
  size_t plain_len = n - 5;
  /* Thousands of 1-byte messages find nothing 64 do not, slowly. */
  if (plain_len > MAX_SEALED * max_body) plain_len = MAX_SEALED * max_body;
  size_t pieces = (plain_len + max_body - 1) / max_body;
  size_t stream_len = plain_len + (pieces + 1) * HLS_BOX_HEADER;
  uint8_t *stream = malloc(stream_len);
  size_t *msg_off = malloc((pieces + 2) * sizeof *msg_off);
  const uint8_t **body = malloc((pieces + 1) * sizeof *body);
  size_t *body_len = malloc((pieces + 1) * sizeof *body_len);
  FUZZ_CHECK(stream != NULL && msg_off != NULL && body != NULL && body_len != NULL);

  struct hls_box box;
  hls_box_init(&box, box_fixture_key, nonce);
  uint8_t refused[HLS_BOX_HEADER + sizeof too_long];
  FUZZ_CHECK(hls_box_seal(&box, plain, 0, refused) == HLS_EINVAL);
  FUZZ_CHECK(hls_box_seal(&box, too_long, sizeof too_long, refused) == HLS_EINVAL);
  FUZZ_CHECK(memcmp(box.nonce, nonce, 24) == 0);
  size_t off = 0;
  for (size_t i = 0; i < pieces; i++) {
    body[i] = plain + i * max_body;
    body_len[i] = plain_len - i * max_body < max_body ? plain_len - i * max_body : max_body;
    msg_off[i] = off;
    FUZZ_CHECK(hls_box_seal(&box, body[i], body_len[i], stream + off) == 0);
    off += HLS_BOX_HEADER + body_len[i];
  }
  if (max_body == HLS_BOX_MAX_BODY) FUZZ_CHECK(off == hls_box_sealed_size(plain_len));
  memcpy(expected_nonce, nonce, 24);
  nonce_add(expected_nonce, 2 * (uint64_t)pieces);
  FUZZ_CHECK(memcmp(box.nonce, expected_nonce, 24) == 0);
  msg_off[pieces] = off;
  hls_box_goodbye(&box, stream + off);
  off += HLS_BOX_HEADER;
  msg_off[pieces + 1] = off;
  FUZZ_CHECK(off == stream_len);
  hls_box_wipe(&box);
  FUZZ_CHECK(all_zero(&box, sizeof box));

  const struct genuine g = {stream, stream_len, msg_off, body, body_len, pieces};
  check_stream(stream, stream_len, split, nonce, &g, 0);
  free(body_len);
  free(body);
  free(msg_off);
  free(stream);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!fixture_ready) {
    FUZZ_CHECK(box_fixture_init(&fixture) == 0);
    fixture_ready = true;
  }
  if (size < 2) return 0;
  const uint8_t *payload = data + 2;
  size_t n = size - 2;
  uint8_t split = data[1];
  switch (data[0] % BOX_FUZZ_MODES) {
    case BOX_RAW: {
      const struct box_fixture *f = &fixture;
      const struct genuine g = {f->stream, f->stream_len, f->msg_off, f->body, f->body_len, BOX_FIXTURE_BODIES};
      check_stream(payload, n, split, box_fixture_nonce, &g, 0);
      break;
    }
    case BOX_MUTATE: mutate(payload, n, split); break;
    default: seal(payload, n, split); break;
  }
  return 0;
}
