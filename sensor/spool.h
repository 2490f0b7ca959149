/*
 * spool -- the sensor's durable outbox: sealed batches on disk until the console
 * acknowledges them.
 *
 * A spool is a directory of segment files ("seg-<first seq>.wsp", 20 digits) and a
 * small state file ("spool.state": acknowledged watermark and next sequence
 * number).  A record holds one sealed envelope (a signed Batch of `count`
 * messages numbered first_seq .. first_seq+count-1), encrypted at rest with
 * libsodium secretbox under a key derived from the sensor's signing secret:
 *
 *   u32 magic "WSR1" | u32 len | u64 first_seq | u32 count | u32 hdr_check
 *   | 24-byte nonce | len bytes of secretbox(first_seq|count|envelope)
 *   (integers big-endian; hdr_check = first 4 bytes of BLAKE2b of the 20 bytes
 *   before it)
 *
 * The header check makes a record's length trustworthy; the secretbox MAC detects
 * any change to its content.  On open every segment is read through struct rd:
 * a record that fails either check is skipped and counted (a damaged header is
 * skipped by resynchronising on the next valid header), a torn tail of the last
 * segment is cut off.  Appends go to the newest segment; a segment is deleted
 * once every record in it is acknowledged.  The spool is capped in bytes: when an
 * append would pass the cap, the oldest segments are deleted and their
 * unacknowledged messages counted as dropped (spool_dropped(), never silent).
 * Writes are fsync'd per the policy: always (each append and each state change),
 * batch (at most once per SPOOL_SYNC_INTERVAL_MS or on segment change, through
 * spool_sync()), never.  One thread only (the uplink's I/O thread).
 */
#ifndef WARD_SPOOL_H
#define WARD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "ward.h"

#define SPOOL_DEFAULT_MAX_BYTES (256ull << 20) /* [uplink] spool_max */
#define SPOOL_MIN_MAX_BYTES (64ull << 10)      /* smallest cap accepted */
#define SPOOL_SEGMENT_BYTES (4u << 20)          /* a segment rolls past this (or cap/4) */
#define SPOOL_RECORD_MAX_BYTES (9u << 20)       /* largest record read back from disk */
#define SPOOL_SYNC_INTERVAL_MS 200              /* fsync = batch: at most this stale */
#define SPOOL_MAX_SEGMENTS 4096                 /* segment files in one spool */

enum spool_fsync { SPOOL_FSYNC_ALWAYS, SPOOL_FSYNC_BATCH, SPOOL_FSYNC_NEVER };

/* Parses "always", "batch", "never".  0 or -EINVAL. */
WARD_MUST_CHECK int spool_fsync_parse(const char *s, enum spool_fsync *out);

struct spool;

/* What spool_open() found on disk. */
struct spool_recovery {
    uint64_t records;         /* intact unacknowledged records found */
    uint64_t corrupt;         /* records skipped: bad header check or MAC */
    uint64_t truncated_bytes; /* torn tail cut off the last segment */
};

/*
 * Opens (creating, mode 0700) the spool in dir, keyed from id's signing secret,
 * and reads what is there.  Returns 0, or a negative errno (logged).  *rec (may
 * be NULL) says what recovery found.
 */
WARD_MUST_CHECK int spool_open(const char *dir, const struct keys_identity *id,
                               uint64_t max_bytes, enum spool_fsync policy, struct spool **out,
                               struct spool_recovery *rec);
/* Syncs what the policy asks and closes; NULL does nothing. */
void spool_close(struct spool *sp);

/* The sequence number the next new message gets (resumed across restarts). */
uint64_t spool_next_seq(const struct spool *sp);
/* Everything <= this is acknowledged by the console. */
uint64_t spool_acked(const struct spool *sp);

/*
 * Appends one sealed envelope holding messages first_seq .. first_seq+count-1.
 * first_seq must be >= spool_next_seq(); next_seq moves past the record.  May drop
 * the oldest segments to stay under the cap.  0, -EMSGSIZE (record over
 * SPOOL_RECORD_MAX_BYTES or the cap), or -EIO/-ENOSPC from the disk (logged).
 */
WARD_MUST_CHECK int spool_append(struct spool *sp, uint64_t first_seq, uint32_t count,
                                 const uint8_t *env, size_t env_len);

/*
 * The console acknowledged everything <= seq: deletes segments that hold nothing
 * newer and records the watermark.  A seq at or below the current one does
 * nothing.  0 or a negative errno (logged).
 */
int spool_ack(struct spool *sp, uint64_t seq);

/* Sends start again from the oldest unacknowledged record (after a reconnect). */
void spool_rewind(struct spool *sp);

/*
 * The next unacknowledged record not yet handed out since the last rewind.
 * Returns 1 and sets *env (malloc'd, caller frees), *len, *first_seq, *count;
 * 0 when there is none; a negative errno on an I/O error (logged).  Records that
 * fail their checks are skipped and counted.
 */
WARD_MUST_CHECK int spool_next(struct spool *sp, uint8_t **env, size_t *len,
                               uint64_t *first_seq, uint32_t *count);

/* fsync whatever the batch policy left pending.  0 or -EIO (logged). */
int spool_sync(struct spool *sp);

struct spool_stats {
    uint64_t bytes;           /* on disk, all segments */
    uint64_t records;         /* unacknowledged records */
    uint64_t messages;        /* unacknowledged messages */
    uint64_t dropped;         /* messages dropped because the spool was full (total) */
    uint64_t dropped_bytes;   /* bytes of those */
    uint64_t drop_first_seq;  /* first seq dropped since spool_take_drops() */
    uint64_t drop_last_seq;   /* last seq dropped since spool_take_drops() */
    uint64_t corrupt;         /* records skipped as corrupt (total) */
};
void spool_stats(const struct spool *sp, struct spool_stats *out);

/*
 * Drops not yet reported: returns true and fills the counts (messages, bytes,
 * seq range) since the last call, then resets them.
 */
bool spool_take_drops(struct spool *sp, uint64_t *messages, uint64_t *bytes, uint64_t *first_seq,
                      uint64_t *last_seq);

/*
 * Parses the records of one segment image (the fuzz and unit-test entry point;
 * spool_open uses the same code).  Calls fn for each intact record with its
 * decrypted envelope; returns the number of corrupt records skipped.  *good_len
 * is the length of the intact prefix (where an append may continue).
 */
typedef void (*spool_record_fn)(void *arg, uint64_t first_seq, uint32_t count,
                                const uint8_t *env, size_t len);
uint64_t spool_parse(const uint8_t key[32], const uint8_t *buf, size_t len, spool_record_fn fn,
                     void *arg, size_t *good_len);
/* The at-rest key for id (BLAKE2b of a context and the signing secret). */
void spool_key(const struct keys_identity *id, uint8_t key[32]);

#endif
