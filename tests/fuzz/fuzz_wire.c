/* The session-frame decoders of protocol/wire.h on a frame payload (what
 * follows the 4-byte length): hls_frame_type, hls_frame_hello_decode,
 * hls_frame_ping_decode, hls_frame_netkey_decode; and hls_frame_begin/hls_frame_end, which write
 * the length prefix, around the same bytes.
 *
 * Beyond memory safety, checks:
 *  - errors are the codes wire.h gives (HLS_EMALFORMED, HLS_ETRAILING,
 *    HLS_ETOOBIG), with a NUL-terminated reason;
 *  - the decoders agree: a hello or ping that decodes has that frame type,
 *    and no payload is both;
 *  - a decoded ping or pong is a view of the payload's last bytes, at most
 *    HLS_WIRE_MAX_PING long, and hls_frame_ping re-packs it to exactly the
 *    payload (one byte form per frame); a two-element hello re-packs to
 *    exactly the payload;
 *  - hls_frame_end writes the payload length big-endian, and refuses an
 *    empty frame or one above its maximum. */
#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static bool why_ok(const struct hls_why *why) { return memchr(why->text, '\0', sizeof why->text) != NULL; }

static void check_frame_end(const uint8_t *data, size_t size) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, "xy", 2); /* a frame need not start the buffer */
  size_t at = hls_frame_begin(&sb);
  FUZZ_CHECK(at == 2 && sb.size == 2 + HLS_WIRE_HEADER);
  if (size > 0) msgpack_sbuffer_write(&sb, (const char *)data, size);
  size_t max = size > 0 && (data[0] & 1) ? size - 1 : size;
  int rc = hls_frame_end(&sb, at, max);
  if (size == 0 || size > max) {
    FUZZ_CHECK(rc == HLS_ETOOBIG);
  } else {
    const uint8_t *h = (const uint8_t *)sb.data + at;
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(((size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]) == size);
    FUZZ_CHECK(memcmp(h + HLS_WIRE_HEADER, data, size) == 0);
  }
  msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int type = -1;
  int type_rc = hls_frame_type(data, size, &type);
  FUZZ_CHECK(type_rc == 0 || type_rc == HLS_EMALFORMED);
  if (type_rc == 0) FUZZ_CHECK(type >= 0 && type <= 255);

  struct hls_why why;
  memset(&why, 'x', sizeof why);
  uint32_t version = 0;
  int hello_rc = hls_frame_hello_decode(data, size, &version, &why);
  FUZZ_CHECK(hello_rc == 0 || hello_rc == HLS_EMALFORMED || hello_rc == HLS_ETRAILING);
  if (hello_rc != 0) FUZZ_CHECK(why_ok(&why));
  if (hello_rc == 0) {
    FUZZ_CHECK(type_rc == 0 && type == HLS_FRAME_HELLO);
    if (size > 0 && data[0] == 0x92) { /* [0, version]: one byte form */
      msgpack_sbuffer sb;
      msgpack_packer pk;
      msgpack_sbuffer_init(&sb);
      msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
      FUZZ_CHECK(msgpack_pack_array(&pk, 2) == 0 && msgpack_pack_uint32(&pk, HLS_FRAME_HELLO) == 0 &&
                 msgpack_pack_uint32(&pk, version) == 0);
      FUZZ_CHECK(sb.size == size && memcmp(sb.data, data, size) == 0);
      msgpack_sbuffer_destroy(&sb);
    }
  }

  memset(&why, 'x', sizeof why);
  const uint8_t *ping = NULL;
  size_t ping_len = SIZE_MAX;
  int ping_rc = hls_frame_ping_decode(data, size, &ping, &ping_len, &why);
  FUZZ_CHECK(ping_rc == 0 || ping_rc == HLS_EMALFORMED || ping_rc == HLS_ETRAILING || ping_rc == HLS_ETOOBIG);
  if (ping_rc != 0) FUZZ_CHECK(why_ok(&why));
  if (ping_rc == 0) {
    FUZZ_CHECK(hello_rc != 0);
    FUZZ_CHECK(type_rc == 0 && (type == HLS_FRAME_PING || type == HLS_FRAME_PONG));
    FUZZ_CHECK(ping_len <= HLS_WIRE_MAX_PING && ping >= data && ping + ping_len == data + size);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    FUZZ_CHECK(hls_frame_ping(&sb, type, ping, ping_len) == 0);
    FUZZ_CHECK(sb.size == HLS_WIRE_HEADER + size && memcmp(sb.data + HLS_WIRE_HEADER, data, size) == 0);
    msgpack_sbuffer_destroy(&sb);
  }

  /* NETKEY (docs/protocol.md 7.2): exact, and re-encodes to its bytes. */
  memset(&why, 'x', sizeof why);
  uint64_t epoch = 0;
  uint8_t key[32];
  int key_rc = hls_frame_netkey_decode(data, size, &epoch, key, &why);
  FUZZ_CHECK(key_rc == 0 || key_rc == HLS_EMALFORMED || key_rc == HLS_ETRAILING);
  if (key_rc != 0) FUZZ_CHECK(why_ok(&why));
  if (key_rc == 0) {
    FUZZ_CHECK(type_rc == 0 && type == HLS_FRAME_NETKEY && epoch >= 1);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    FUZZ_CHECK(hls_frame_netkey(&sb, epoch, key) == 0);
    FUZZ_CHECK(sb.size == HLS_WIRE_HEADER + size && memcmp(sb.data + HLS_WIRE_HEADER, data, size) == 0);
    msgpack_sbuffer_destroy(&sb);
  }

  check_frame_end(data, size);
  return 0;
}
