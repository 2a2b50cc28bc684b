/* A memo of Ed25519 verifications for the simulator. In a simulated
 * network every node verifies the same few thousand signatures again and
 * again; verification is a pure function of (public key, message,
 * signature), so the simulator answers a repeated question with the
 * answer libsodium gave the first time. The engine's code is unchanged:
 * it still calls hls_env_verify exactly where hlsd does, and a tampered
 * signature or message is a different question that libsodium answers.
 *
 * It works by defining crypto_sign_verify_detached in the simulator's
 * executable, which the linker prefers to libsodium's for every caller
 * linked into it (hlsproto included); a miss calls libsodium's
 * crypto_sign_ed25519_verify_detached, which is what
 * crypto_sign_verify_detached does. Answers are reused only for exactly
 * the same (key, signature, message) bytes. */
#ifndef HLS_SIM_VERIFY_H
#define HLS_SIM_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct sim_verify_stats {
  uint64_t calls, misses;
};

/* Memoise (the default) or not. */
void sim_verify_enable(bool on);
/* Forget every answer (between seeds) and zero the counts. */
void sim_verify_reset(void);
void sim_verify_get_stats(struct sim_verify_stats *out);

#endif
