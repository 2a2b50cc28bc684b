#include "invite.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "wire.h"

static const char *const outcome_names[] = {"ok", "unknown", "spent", "expired", "revoked"};
static const char *const outcome_texts[] = {
    "the invite was accepted: the inviter lists this node as a peer",
    "the inviter holds no such invite (a mistyped code, or one for another node)",
    "the invite was already used: ask the inviter for a new one (hls invite create)",
    "the invite expired: ask the inviter for a new one (hls invite create)",
    "the invite was revoked by the inviter: ask it for a new one",
};

const char *hls_invite_outcome_name(int outcome) {
  return outcome >= 0 && outcome <= HLS_INVITE_OUTCOME_MAX ? outcome_names[outcome] : NULL;
}

const char *hls_invite_outcome_text(int outcome) {
  return outcome >= 0 && outcome <= HLS_INVITE_OUTCOME_MAX ? outcome_texts[outcome] : "an outcome this node does not know";
}

static void check_of(const uint8_t *bin, size_t len, uint8_t out[HLS_INVITE_CHECK_BYTES]) {
  uint8_t h[32];
  crypto_generichash(h, sizeof h, bin, len, NULL, 0);
  memcpy(out, h, HLS_INVITE_CHECK_BYTES);
}

/* The address a code may carry: HOST:PORT, a name allowed, port not 0. */
static int check_address(const char *a, size_t len, struct hls_why *why) {
  char text[HLS_INVITE_ADDRESS_MAX + 1];
  struct hls_hostport hp;
  if (len < 3 || len > HLS_INVITE_ADDRESS_MAX) return hls_why_set(why, HLS_EINVAL, "address: 3 to 255 bytes");
  memcpy(text, a, len);
  text[len] = '\0';
  if (memchr(a, '\0', len) != NULL || hls_hostport_parse(text, &hp, true, false, why) != 0)
    return hls_why_set(why, HLS_EINVAL, "address '%.60s' is not HOST:PORT", text);
  return 0;
}

int hls_invite_encode(const struct hls_invite *inv, char out[HLS_INVITE_TEXT_MAX], struct hls_why *why) {
  uint8_t bin[HLS_INVITE_MAX_BYTES];
  size_t alen = strnlen(inv->address, sizeof inv->address);
  int rc = check_address(inv->address, alen, why);
  if (rc != 0) return rc;
  size_t n = 0;
  bin[n++] = HLS_INVITE_VERSION;
  memcpy(bin + n, inv->network_key, 32), n += 32;
  memcpy(bin + n, inv->inviter, 32), n += 32;
  memcpy(bin + n, inv->secret, HLS_INVITE_SECRET_BYTES), n += HLS_INVITE_SECRET_BYTES;
  bin[n++] = (uint8_t)alen;
  memcpy(bin + n, inv->address, alen), n += alen;
  check_of(bin, n, bin + n);
  n += HLS_INVITE_CHECK_BYTES;
  memcpy(out, HLS_INVITE_PREFIX, 5);
  sodium_bin2base64(out + 5, HLS_INVITE_TEXT_MAX - 5, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bin, sizeof bin);
  return 0;
}

int hls_invite_decode(const char *text, struct hls_invite *out, struct hls_why *why) {
  memset(out, 0, sizeof *out);
  while (*text != '\0' && isspace((unsigned char)*text)) text++;
  size_t len = strnlen(text, HLS_INVITE_TEXT_MAX + 64);
  while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
  if (len < 5 || strncmp(text, HLS_INVITE_PREFIX, 5) != 0) {
    if (len >= 4 && strncmp(text, "hls", 3) == 0 && text[3] != '1' && isdigit((unsigned char)text[3]))
      return hls_why_set(why, HLS_EMALFORMED, "invite code: version %c is newer than this hls knows (upgrade)", text[3]);
    return hls_why_set(why, HLS_EMALFORMED, "invite code: it does not start with 'hls1-' (copy the whole code)");
  }
  text += 5, len -= 5;
  if (len > HLS_INVITE_TEXT_MAX - 6) return hls_why_set(why, HLS_EMALFORMED, "invite code: too long (two codes pasted?)");
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)text[i]) && text[i] != '-' && text[i] != '_')
      return hls_why_set(why, HLS_EMALFORMED, "invite code: character %zu is not part of a code", i + 6);
  uint8_t bin[HLS_INVITE_MAX_BYTES];
  size_t n = 0;
  int rc = HLS_EMALFORMED;
  if (sodium_base642bin(bin, sizeof bin, text, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    hls_why_set(why, rc, "invite code: not valid base64url (cut short?)");
    goto done;
  }
  if (n < HLS_INVITE_FIXED_BYTES + 3) {
    hls_why_set(why, rc, "invite code: too short (cut short when copied?)");
    goto done;
  }
  uint8_t check[HLS_INVITE_CHECK_BYTES];
  check_of(bin, n - HLS_INVITE_CHECK_BYTES, check);
  if (sodium_memcmp(check, bin + n - HLS_INVITE_CHECK_BYTES, HLS_INVITE_CHECK_BYTES) != 0) {
    hls_why_set(why, rc, "invite code: the check does not match (a character changed or missing)");
    goto done;
  }
  if (bin[0] != HLS_INVITE_VERSION) {
    hls_why_set(why, rc, "invite code: version %u is not one this hls knows", bin[0]);
    goto done;
  }
  size_t at = 1;
  memcpy(out->network_key, bin + at, 32), at += 32;
  memcpy(out->inviter, bin + at, 32), at += 32;
  memcpy(out->secret, bin + at, HLS_INVITE_SECRET_BYTES), at += HLS_INVITE_SECRET_BYTES;
  size_t alen = bin[at++];
  if (at + alen + HLS_INVITE_CHECK_BYTES != n) {
    hls_why_set(why, rc, "invite code: its address length does not match its size");
    goto done;
  }
  struct hls_why awhy = {{0}};
  if (check_address((const char *)bin + at, alen, &awhy) != 0) {
    hls_why_set(why, rc, "invite code: %s", awhy.text);
    goto done;
  }
  memcpy(out->address, bin + at, alen);
  out->address[alen] = '\0';
  rc = 0;
done:
  sodium_memzero(bin, sizeof bin);
  if (rc != 0) sodium_memzero(out, sizeof *out);
  return rc;
}

void hls_invite_secret_hash(const uint8_t secret[HLS_INVITE_SECRET_BYTES], uint8_t out[32]) {
  static const uint8_t key[] = "hlsd invite secret v1";
  crypto_generichash(out, 32, secret, HLS_INVITE_SECRET_BYTES, key, sizeof key - 1);
}

int hls_frame_redeem(msgpack_sbuffer *out, const uint8_t secret[HLS_INVITE_SECRET_BYTES], const char *address) {
  size_t alen = strlen(address);
  if (alen > HLS_INVITE_ADDRESS_MAX) return HLS_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_uint32(&pk, HLS_FRAME_REDEEM) != 0 ||
      msgpack_pack_bin(&pk, HLS_INVITE_SECRET_BYTES) != 0 ||
      msgpack_pack_bin_body(&pk, secret, HLS_INVITE_SECRET_BYTES) != 0 || msgpack_pack_str(&pk, alen) != 0 ||
      (alen > 0 && msgpack_pack_str_body(&pk, address, alen) != 0))
    return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_redeemed(msgpack_sbuffer *out, int outcome) {
  if (outcome < 0 || outcome > HLS_INVITE_OUTCOME_MAX) return HLS_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 2) != 0 || msgpack_pack_uint32(&pk, HLS_FRAME_REDEEMED) != 0 ||
      msgpack_pack_uint32(&pk, (uint32_t)outcome) != 0)
    return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_redeem_decode(const uint8_t *payload, size_t len, uint8_t secret[HLS_INVITE_SECRET_BYTES],
                            char address[HLS_HOSTPORT_MAX + 3], struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n, slen, alen;
  uint64_t t;
  const uint8_t *s;
  const char *a;
  hls_mp_reader_init(&r, payload, len, true);
  if (hls_mp_read_array(&r, &n) != 0 || n != 3 || hls_mp_read_uint(&r, &t) != 0 || t != HLS_FRAME_REDEEM ||
      hls_mp_read_bin(&r, &s, &slen) != 0 || slen != HLS_INVITE_SECRET_BYTES || hls_mp_read_str(&r, &a, &alen) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "redeem: expected [8, secret (32 bytes), address]");
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "redeem: trailing bytes");
  if (alen > 0 && check_address(a, alen, why) != 0) return HLS_EMALFORMED;
  memcpy(secret, s, HLS_INVITE_SECRET_BYTES);
  memcpy(address, a, alen);
  address[alen] = '\0';
  return 0;
}

int hls_frame_redeemed_stewards(msgpack_sbuffer *out, int outcome, const uint8_t (*stewards)[32], size_t n) {
  if (outcome < 0 || outcome > HLS_INVITE_OUTCOME_MAX || n > HLS_STEWARDS_MAX) return HLS_EINVAL;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  size_t at = hls_frame_begin(out);
  if (msgpack_pack_array(&pk, 3) != 0 || msgpack_pack_uint32(&pk, HLS_FRAME_REDEEMED) != 0 ||
      msgpack_pack_uint32(&pk, (uint32_t)outcome) != 0 || msgpack_pack_array(&pk, (uint32_t)n) != 0)
    return HLS_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (msgpack_pack_bin(&pk, 32) != 0 || msgpack_pack_bin_body(&pk, stewards[i], 32) != 0) return HLS_ENOMEM;
  return hls_frame_end(out, at, SIZE_MAX);
}

int hls_frame_redeemed_decode(const uint8_t *payload, size_t len, int *outcome, struct hls_why *why) {
  return hls_frame_redeemed_decode_stewards(payload, len, outcome, NULL, NULL, why);
}

int hls_frame_redeemed_decode_stewards(const uint8_t *payload, size_t len, int *outcome,
                                       uint8_t (*stewards)[32], ptrdiff_t *n_stewards, struct hls_why *why) {
  struct hls_mp_reader r;
  uint32_t n, ns;
  uint64_t t, o;
  hls_mp_reader_init(&r, payload, len, true);
  if (n_stewards != NULL) *n_stewards = -1;
  if (hls_mp_read_array(&r, &n) != 0 || (n != 2 && n != 3) || hls_mp_read_uint(&r, &t) != 0 ||
      t != HLS_FRAME_REDEEMED || hls_mp_read_uint(&r, &o) != 0)
    return hls_why_set(why, HLS_EMALFORMED, "redeemed: expected [9, outcome] or [9, outcome, stewards]");
  if (n == 3) {
    if (hls_mp_read_array(&r, &ns) != 0 || ns > HLS_STEWARDS_MAX)
      return hls_why_set(why, HLS_EMALFORMED, "redeemed: stewards: a list of at most %d node ids", HLS_STEWARDS_MAX);
    for (uint32_t i = 0; i < ns; i++) {
      const uint8_t *b;
      uint32_t blen;
      if (hls_mp_read_bin(&r, &b, &blen) != 0 || blen != 32)
        return hls_why_set(why, HLS_EMALFORMED, "redeemed: stewards: a node id is 32 bytes");
      if (stewards != NULL) memcpy(stewards[i], b, 32);
    }
    if (n_stewards != NULL) *n_stewards = (ptrdiff_t)ns;
  }
  if (r.pos != r.end) return hls_why_set(why, HLS_ETRAILING, "redeemed: trailing bytes");
  /* An outcome from a later version: said as such, not a violation. */
  *outcome = o > 1000 ? 1000 : (int)o;
  return 0;
}
