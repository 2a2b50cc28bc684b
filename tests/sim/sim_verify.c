#include "sim_verify.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* One question asked before, kept whole: answers are reused only for
 * exactly the same bytes. */
struct memo_entry {
  uint8_t sig[crypto_sign_BYTES];
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  uint8_t *msg; /* owned; NULL: empty slot */
  size_t msg_len;
  bool ok;
};

/* Process-wide: the interface is libsodium's free function. The
 * simulator is single-threaded. */
static struct {
  bool off;
  struct memo_entry *table;
  size_t cap, n;
  struct sim_verify_stats st;
} memo;

void sim_verify_enable(bool on) { memo.off = !on; }

void sim_verify_reset(void) {
  for (size_t i = 0; i < memo.cap; i++) free(memo.table[i].msg);
  free(memo.table);
  memo.table = NULL;
  memo.cap = memo.n = 0;
  memset(&memo.st, 0, sizeof memo.st);
}

void sim_verify_get_stats(struct sim_verify_stats *out) { *out = memo.st; }

/* Signatures are uniformly random bytes: their first 8 are the hash. */
static size_t first_slot(const uint8_t *sig, size_t cap) {
  uint64_t h;
  memcpy(&h, sig, sizeof h);
  return (size_t)h & (cap - 1);
}

static struct memo_entry *find(const uint8_t *sig, const uint8_t *m, size_t mlen, const uint8_t *pk) {
  if (memo.cap == 0) return NULL;
  for (size_t i = first_slot(sig, memo.cap);; i = (i + 1) & (memo.cap - 1)) {
    struct memo_entry *e = &memo.table[i];
    if (e->msg == NULL) return NULL;
    if (e->msg_len == mlen && memcmp(e->sig, sig, sizeof e->sig) == 0 && memcmp(e->pk, pk, sizeof e->pk) == 0 &&
        memcmp(e->msg, m, mlen) == 0)
      return e;
  }
}

static struct memo_entry *free_slot(struct memo_entry *table, size_t cap, const uint8_t *sig) {
  size_t i = first_slot(sig, cap);
  while (table[i].msg != NULL) i = (i + 1) & (cap - 1);
  return &table[i];
}

/* Remember an answer; silently not if out of memory. */
static void remember(const uint8_t *sig, const uint8_t *m, size_t mlen, const uint8_t *pk, bool ok) {
  if (2 * (memo.n + 1) > memo.cap) { /* keep the load at most one half */
    size_t cap = memo.cap ? 2 * memo.cap : 4096;
    struct memo_entry *t = calloc(cap, sizeof *t);
    if (t == NULL) return;
    for (size_t i = 0; i < memo.cap; i++)
      if (memo.table[i].msg != NULL) *free_slot(t, cap, memo.table[i].sig) = memo.table[i];
    free(memo.table);
    memo.table = t;
    memo.cap = cap;
  }
  uint8_t *copy = malloc(mlen ? mlen : 1);
  if (copy == NULL) return;
  memcpy(copy, m, mlen);
  struct memo_entry *e = free_slot(memo.table, memo.cap, sig);
  memcpy(e->sig, sig, sizeof e->sig);
  memcpy(e->pk, pk, sizeof e->pk);
  e->msg = copy;
  e->msg_len = mlen;
  e->ok = ok;
  memo.n++;
}

int crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                                const unsigned char *pk) {
  memo.st.calls++;
  if (!memo.off) {
    const struct memo_entry *e = find(sig, m, (size_t)mlen, pk);
    if (e != NULL) return e->ok ? 0 : -1;
  }
  memo.st.misses++;
  int rc = crypto_sign_ed25519_verify_detached(sig, m, mlen, pk);
  if (!memo.off) remember(sig, m, (size_t)mlen, pk, rc == 0);
  return rc;
}
