/*
 * envelope -- signed, size-limited framing of every message between sensor and
 * console (proto/ward.proto: Envelope around a serialized Payload).
 *
 * Signing input (Ed25519, detached):
 *   "WARD-ENVELOPE\0" | u32 version | u16 len(sender) | sender | u64 first_seq |
 *   u32 len(body) | body                       (integers big-endian)
 * Receivers call envelope_open() (size limit, then protobuf parse of the outer
 * envelope only), look up the sender's key, envelope_verify(), and only then
 * envelope_payload() (parse and check limits of the body).  Nothing in body is
 * parsed before its signature is checked.  All functions are pure; no logging:
 * the caller names the peer when it logs the error string.
 */
#ifndef WARD_ENVELOPE_H
#define WARD_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "ward.h"
#include "ward.pb-c.h"

#define ENVELOPE_MAX_BYTES (8u << 20)   /* one ZeroMQ message */
#define ENVELOPE_MAX_MESSAGES 8192      /* messages in one batch */
#define ENVELOPE_MAX_SENDER 64          /* bytes of a sender name */
#define ENVELOPE_MAX_STRING 4096        /* bytes of any string field */
#define ENVELOPE_MAX_REPEATED 256       /* items of a repeated field (figures, ports...) */
#define ENVELOPE_MAX_CHUNK (1u << 20)   /* bytes of one evidence chunk */

/*
 * Serializes payload, signs it as sender with first_seq, and returns the packed
 * envelope in *out (malloc'd, caller frees) and its length.  -ENOSPC if larger
 * than ENVELOPE_MAX_BYTES, -ENOMEM.
 */
WARD_MUST_CHECK int envelope_seal(const Ward__Payload *payload, const char *sender,
                                  uint64_t first_seq, const struct keys_identity *id,
                                  uint8_t **out, size_t *out_len);

/*
 * The same for a body that is already a serialized Payload (the uplink builds
 * batches as bytes).  The body is copied into the envelope.
 */
WARD_MUST_CHECK int envelope_seal_body(const uint8_t *body, size_t body_len, const char *sender,
                                       uint64_t first_seq, const struct keys_identity *id,
                                       uint8_t **out, size_t *out_len);

/*
 * Parses the outer envelope of buf.  On error returns a negative errno and sets
 * *why to a static string ("message larger than 8 MiB", "not a Ward envelope",
 * "unknown wire version"...).  *out is freed with envelope_free().
 */
WARD_MUST_CHECK int envelope_open(const uint8_t *buf, size_t len, Ward__Envelope **out,
                                  const char **why);

/* 0 if env's signature is valid for sign_pk; -EBADMSG otherwise. */
WARD_MUST_CHECK int envelope_verify(const Ward__Envelope *env,
                                    const uint8_t sign_pk[KEYS_SIGN_PK_LEN]);

/*
 * Parses env's body into *out and checks every limit above and the oneof being
 * set.  Same error contract as envelope_open().  Free with envelope_payload_free().
 */
WARD_MUST_CHECK int envelope_payload(const Ward__Envelope *env, Ward__Payload **out,
                                     const char **why);

void envelope_free(Ward__Envelope *env);
void envelope_payload_free(Ward__Payload *p);

/*
 * An arena to open envelopes in: the _in() variants below take all their
 * memory from it, and envelope_arena_reset() gives back everything opened in
 * it at once, without walking the messages or freeing field by field (the
 * console opens a batch of up to ENVELOPE_MAX_MESSAGES events per message).
 * What it held must not be used after the reset, nor passed to envelope_free()
 * or envelope_payload_free().  A reset keeps a few MiB for the next message.
 * One thread at a time.
 */
struct envelope_arena;

/* NULL if out of memory. */
struct envelope_arena *envelope_arena_new(void);
void envelope_arena_reset(struct envelope_arena *a);
void envelope_arena_free(struct envelope_arena *a);
/* envelope_open() and envelope_payload() in arena (NULL: as those). */
WARD_MUST_CHECK int envelope_open_in(struct envelope_arena *arena, const uint8_t *buf,
                                     size_t len, Ward__Envelope **out, const char **why);
WARD_MUST_CHECK int envelope_payload_in(struct envelope_arena *arena, const Ward__Envelope *env,
                                        Ward__Payload **out, const char **why);

#endif
