/* Invite codes (protocol/invite.h) as an admin pastes them into
 * hls init --join, and the REDEEM / REDEEMED frames a peer sends. The
 * first byte picks: 0 the code's text, 1 a REDEEM payload, 2 a REDEEMED
 * payload.
 *
 * Checks: only malformed / trailing_bytes come out, with a reason; a
 * refused code leaves a zeroed result; an accepted code encodes back to
 * a code that decodes to the same invite. */
#include <string.h>

#include "fuzz.h"
#include "invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  struct hls_why why = {{0}};
  if (data[0] % 3 == 0) {
    char *text = malloc(len + 1);
    if (text == NULL) return 0;
    memcpy(text, in, len);
    text[len] = '\0';
    struct hls_invite inv, back;
    int rc = hls_invite_decode(text, &inv, &why);
    free(text);
    FUZZ_CHECK(rc == 0 || rc == HLS_EMALFORMED);
    if (rc != 0) {
      static const struct hls_invite zero;
      FUZZ_CHECK(why.text[0] != '\0');
      FUZZ_CHECK(memcmp(&inv, &zero, sizeof inv) == 0);
      return 0;
    }
    char code[HLS_INVITE_TEXT_MAX];
    FUZZ_CHECK(hls_invite_encode(&inv, code, &why) == 0);
    FUZZ_CHECK(hls_invite_decode(code, &back, &why) == 0);
    FUZZ_CHECK(memcmp(&inv, &back, sizeof inv) == 0);
  } else if (data[0] % 3 == 1) {
    uint8_t secret[HLS_INVITE_SECRET_BYTES];
    char address[HLS_HOSTPORT_MAX + 3];
    int rc = hls_frame_redeem_decode(in, len, secret, address, &why);
    FUZZ_CHECK(rc == 0 || rc == HLS_EMALFORMED || rc == HLS_ETRAILING);
    if (rc == 0) FUZZ_CHECK(strlen(address) <= HLS_INVITE_ADDRESS_MAX);
    else FUZZ_CHECK(why.text[0] != '\0');
  } else {
    int outcome;
    uint8_t stewards[HLS_STEWARDS_MAX][32];
    ptrdiff_t n = -2;
    int rc = hls_frame_redeemed_decode_stewards(in, len, &outcome, stewards, &n, &why);
    FUZZ_CHECK(rc == 0 || rc == HLS_EMALFORMED || rc == HLS_ETRAILING);
    if (rc == 0) FUZZ_CHECK(outcome >= 0 && outcome <= 1000 && n >= -1 && n <= HLS_STEWARDS_MAX);
    FUZZ_CHECK(rc == hls_frame_redeemed_decode(in, len, &outcome, &why));
  }
  return 0;
}
