/*
 * keys -- Ward identities: a CURVE keypair for the transport and an Ed25519
 * keypair for signing, made and kept with libsodium.
 *
 * On disk an identity is a directory made by `wardctl keygen DIR`:
 *   DIR/identity.key   secrets (mode 0600; refused if group or others can read it)
 *   DIR/identity.pub   public keys (mode 0644)
 * Both are "key = hex" text.  The public identity travels as one token,
 * "<curve public hex>:<sign public hex>" (129 characters), which is what
 * `wardctl sensor add NAME PUBKEY` takes.  Secrets are wiped with keys_wipe().
 */
#ifndef WARD_KEYS_H
#define WARD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

#define KEYS_CURVE_LEN 32
#define KEYS_SIGN_PK_LEN 32
#define KEYS_SIGN_SK_LEN 64
#define KEYS_SIG_LEN 64
#define KEYS_PUBLIC_STR_LEN (2 * KEYS_CURVE_LEN + 1 + 2 * KEYS_SIGN_PK_LEN + 1)
#define KEYS_SECRET_FILE "identity.key"
#define KEYS_PUBLIC_FILE "identity.pub"

struct keys_public {
    uint8_t curve_pk[KEYS_CURVE_LEN];  /* X25519 public key (CurveZMQ) */
    uint8_t sign_pk[KEYS_SIGN_PK_LEN]; /* Ed25519 public key */
};

struct keys_identity {
    struct keys_public pub;            /* the public half */
    uint8_t curve_sk[KEYS_CURVE_LEN];  /* X25519 secret key */
    uint8_t sign_sk[KEYS_SIGN_SK_LEN]; /* Ed25519 secret key (libsodium layout) */
};

/* Initialises libsodium; call once at start.  0 or -EIO. */
WARD_MUST_CHECK int keys_init(void);

/* A fresh identity.  0 or -EIO. */
WARD_MUST_CHECK int keys_generate(struct keys_identity *id);

/*
 * Writes DIR/identity.key (0600) and DIR/identity.pub (0644), creating DIR (0700)
 * if needed.  Refuses to overwrite an existing identity (-EEXIST).  Logs why on
 * failure.
 */
WARD_MUST_CHECK int keys_save(const char *dir, const struct keys_identity *id);

/*
 * Reads DIR/identity.key.  Refuses (-EPERM, logged with the mode and the fix) a
 * file that group or others may read, and malformed files (-EINVAL, with the line).
 */
WARD_MUST_CHECK int keys_load(const char *dir, struct keys_identity *id);

/* Reads DIR/identity.pub, or a file holding a public token.  0 or negative errno. */
WARD_MUST_CHECK int keys_load_public(const char *path_or_dir, struct keys_public *out);

/* Formats the public token into out (cap >= KEYS_PUBLIC_STR_LEN). */
char *keys_public_format(const struct keys_public *pub, char *out, size_t cap);
/* Parses a public token.  0 or -EINVAL. */
WARD_MUST_CHECK int keys_public_parse(const char *s, struct keys_public *out);

/* Ed25519 detached signature of msg. */
void keys_sign(const struct keys_identity *id, const uint8_t *msg, size_t len,
               uint8_t sig[KEYS_SIG_LEN]);
/* True if sig is a valid signature of msg by sign_pk. */
bool keys_verify(const uint8_t sign_pk[KEYS_SIGN_PK_LEN], const uint8_t *msg, size_t len,
                 const uint8_t sig[KEYS_SIG_LEN]);

/* Zeroes the secrets (sodium_memzero). */
void keys_wipe(struct keys_identity *id);

/* Lower-case hex of bin into out (cap >= 2*len+1).  Returns out. */
char *keys_hex(const uint8_t *bin, size_t len, char *out, size_t cap);
/* Exactly 2*len hex digits into bin.  0 or -EINVAL. */
WARD_MUST_CHECK int keys_unhex(const char *hex, uint8_t *bin, size_t len);

/* SHA-256 helpers (libsodium), used for evidence and hash chains. */
#define KEYS_SHA256_LEN 32
void keys_sha256(const void *data, size_t len, uint8_t out[KEYS_SHA256_LEN]);
struct keys_sha256_ctx {
    uint8_t opaque[128] __attribute__((aligned(16))); /* crypto_hash_sha256_state */
};
void keys_sha256_init(struct keys_sha256_ctx *ctx);
void keys_sha256_update(struct keys_sha256_ctx *ctx, const void *data, size_t len);
void keys_sha256_final(struct keys_sha256_ctx *ctx, uint8_t out[KEYS_SHA256_LEN]);

/* Random bytes (libsodium). */
void keys_random(void *buf, size_t len);

#endif
