/*
 * ingest -- the console's ZeroMQ side: a ROUTER with CURVE (the console's
 * identity) that authenticates sensors, verifies and stores their batches exactly
 * once, acknowledges after commit, and carries signed commands back.  The
 * console's only user of <zmq.h>.
 *
 * Authentication is ZAP: a small relay thread answers libzmq's ZAP requests
 * (inproc://zeromq.zap.01) by asking the console thread over an inproc link to
 * the same ROUTER, so the poll loop waits on one socket (ingest_socket()) and
 * the store stays on the console thread.  A CURVE key is accepted only if it
 * belongs to an enrolled, unrevoked sensor; the connection's User-Id is then the
 * sensor's name.
 *
 * Per message: the User-Id names the sensor; its row is read again (revocation
 * takes effect at once: ACK_REVOKED and its route dropped); envelope_open(),
 * sender must equal the User-Id, envelope_verify() with the sensor's signing key,
 * envelope_payload().  A Batch whose every sequence number is at or below the
 * sensor's stored watermark is a resend or a replay: not stored, acknowledged
 * again, logged.  A batch starting past watermark + INGEST_SEQ_WINDOW is refused.
 * Otherwise the messages above the watermark are stored in one transaction
 * (store_events_upsert for events, then every console module's on_message and
 * on_batch_end), with the new watermark; the Ack goes out after the commit.
 * Batches handled in one ingest_handle() share that transaction (group
 * commit); a failing batch rolls the group back and each of its batches is
 * answered ACK_RETRY (ingest.c says more).  A failed commit
 * (-ENOSPC: disk full) answers ACK_RETRY with the reason, is logged once, and
 * the sensor resends later.  Every refusal is logged with the sensor's name (or
 * key) and the reason, and counted; the console keeps serving the others.
 * Console thread only (except the ZAP relay, which touches nothing else).
 */
#ifndef WARD_INGEST_H
#define WARD_INGEST_H

#include <stdint.h>

#include "console.h"
#include "ward.h"

#define INGEST_DEFAULT_ENDPOINT "tcp://*:7800"
#define INGEST_SEQ_WINDOW (1ull << 26)     /* largest forward jump in sequence numbers */
#define INGEST_MAX_WIRE_BYTES (256u << 20) /* ZeroMQ drops a connection sending more */
#define INGEST_MAX_PEERS 4096              /* live routes (sensors) remembered */
#define INGEST_DRAIN_MAX 256               /* messages handled per ingest_handle() */
#define INGEST_DRAIN_USEC 50000            /* ... or this long, whichever comes first */

struct ingest;

/*
 * Binds a ROUTER with CURVE server keys from c->id at endpoint (NULL:
 * INGEST_DEFAULT_ENDPOINT) and starts the ZAP relay.  c->store must be open.
 * Returns 0 or a negative errno (logged).
 */
WARD_MUST_CHECK int ingest_open(struct console *c, const char *endpoint, struct ingest **out);
/* Stops the relay, closes the socket, logs the totals.  NULL does nothing. */
void ingest_close(struct ingest *i);

/* The ROUTER socket, for the console's zmq_poll() (ZMQ_POLLIN).  Borrowed. */
void *ingest_socket(struct ingest *i);

/*
 * Handles what is waiting on the socket without blocking (at most
 * INGEST_DRAIN_MAX messages, and no new one after INGEST_DRAIN_USEC).  Returns the number handled, or a negative errno
 * for a socket failure (logged).  Bad input is never an error here.
 */
int ingest_handle(struct ingest *i);

struct ingest_stats {
    uint64_t batches;           /* batches stored */
    uint64_t messages;          /* messages stored */
    uint64_t duplicates;        /* batches resent or replayed (not stored again) */
    uint64_t heartbeats;        /* heartbeats recorded */
    uint64_t rejected;          /* messages refused, all reasons */
    uint64_t zap_denied;        /* connections refused by ZAP */
    uint64_t retries;           /* batches answered ACK_RETRY (storage failure) */
    uint64_t commands;          /* commands sent */
    uint64_t latency_count;     /* messages with a creation time in the latency sample */
    uint64_t latency_p50_usec;  /* message creation -> commit, median */
    uint64_t latency_p99_usec;  /* ... 99th percentile */
    uint64_t latency_max_usec;  /* ... largest */
};
void ingest_stats(const struct ingest *i, struct ingest_stats *out);

#endif
