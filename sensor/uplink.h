/*
 * uplink -- the sensor's way to the console: a sink that numbers, batches,
 * spools and sends messages over ZeroMQ (DEALER, CURVE), and the way back for
 * acknowledgements and signed commands.  The sensor's only user of <zmq.h>.
 *
 * Two threads, so that capture never waits on the network:
 *
 *   capture thread                         uplink I/O thread (owns spool + DEALER)
 *   sink send: number, pack into batch     seal (sign) batch, spool_append (fsync
 *   uplink_service: flush by age,    PAIR   per policy), send from the spool while
 *     heartbeat stats, run commands  <===>  in flight < window, ack -> spool_ack,
 *     and SpoolDrop reports      inproc    verify console commands, heartbeats
 *
 * A message gets its sequence number when the sink takes it; a batch is flushed
 * to the I/O thread when it holds batch_messages messages or batch_bytes bytes,
 * or is batch_ms old (checked by uplink_service).  The inproc queue is bounded
 * (ZeroMQ high-water mark): when the I/O thread is behind on the local disk the
 * capture thread waits for the disk, never for the network, because the I/O
 * thread only ever sends without blocking (DEALER high-water mark, in-flight
 * window) and keeps everything else in the spool.  A batch leaves the spool only
 * when an Ack covers its last sequence number; unacknowledged batches are sent
 * again after a reconnect or when no acknowledgement came for ack_timeout.
 * ZeroMQ reconnects with exponential backoff (100 ms .. 10 s).
 *
 * Commands from the console are verified (console signature, sender, expiry) on
 * the I/O thread and run on the capture thread inside uplink_service(), through
 * the callback set by uplink_on_command().
 */
#ifndef WARD_UPLINK_H
#define WARD_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sink.h"
#include "spool.h"
#include "ward.h"
#include "ward.pb-c.h"

#define UPLINK_DEFAULT_BATCH_MESSAGES 1024
#define UPLINK_DEFAULT_BATCH_BYTES (1u << 20)
#define UPLINK_DEFAULT_BATCH_MS 20
#define UPLINK_DEFAULT_HEARTBEAT_SEC 10
#define UPLINK_DEFAULT_CLOSE_MS 10000
#define UPLINK_DEFAULT_ACK_TIMEOUT_MS 3000
#define UPLINK_WINDOW_RECORDS 64       /* batches in flight without an ack */

struct uplink_opts {
    const char *name;            /* sensor name as enrolled (envelope sender) */
    const char *endpoint;        /* console, e.g. "tcp://10.0.0.5:7400" */
    const char *keys_dir;        /* the sensor's identity directory (keys_load) */
    const char *console_pub;     /* the console's identity.pub (file or directory) */
    const char *spool_dir;       /* spool directory */
    uint64_t spool_max_bytes;    /* spool cap */
    enum spool_fsync fsync;      /* spool fsync policy */
    uint32_t batch_messages;     /* flush a batch at this many messages */
    uint32_t batch_bytes;        /* ... or this many packed bytes */
    uint32_t batch_ms;           /* ... or when its first message is this old */
    uint32_t heartbeat_sec;      /* heartbeat period (wall clock) */
    uint32_t close_ms;           /* uplink_close() waits this long for acks */
    uint32_t ack_timeout_ms;     /* resend unacknowledged batches after this */
};

/* Defaults for everything but the names and paths (which are NULL). */
void uplink_opts_default(struct uplink_opts *o);

/*
 * Fills o from [uplink] of cfg: console (endpoint), name, keys, console_key,
 * spool_dir, spool_max (size), fsync (always|batch|never), batch_messages,
 * batch_bytes, batch_ms, heartbeat (duration), close_timeout (duration),
 * ack_timeout (duration).  Strings live as long as cfg.  0, or -EINVAL with the
 * message in config_error(cfg).  Missing endpoint/name/keys/console_key/spool_dir
 * are not errors here: uplink_open() checks them.
 */
WARD_MUST_CHECK int uplink_opts_from_config(struct config *cfg, struct uplink_opts *o);

struct uplink;

/*
 * Loads the keys, opens the spool (resuming its sequence numbers and resending
 * what is unacknowledged), starts the I/O thread and connects.  Returns 0 or a
 * negative errno (logged).  The console need not be up.
 */
WARD_MUST_CHECK int uplink_open(const struct uplink_opts *o, struct uplink **out);

/*
 * Flushes the open batch, waits up to close_ms for the console to acknowledge
 * everything spooled, stops the thread and closes.  What stays unacknowledged
 * stays in the spool for the next start.  NULL does nothing.
 */
void uplink_close(struct uplink *u);

/* The sink that feeds this uplink (lives as long as u).  Capture thread only. */
const struct sink *uplink_sink(struct uplink *u);

/*
 * Heartbeat figures: fn fills hb (already initialised; the uplink sets the spool
 * and sequence fields itself).  Pointers fn stores in hb must stay valid until fn's
 * caller returns: the heartbeat is packed at once.  Called on the capture thread
 * from uplink_service() every heartbeat_sec.
 */
typedef void (*uplink_stats_fn)(void *arg, Ward__Heartbeat *hb);
void uplink_on_stats(struct uplink *u, uplink_stats_fn fn, void *arg);

/*
 * A verified, unexpired command from the console, run on the capture thread from
 * uplink_service().  The command is borrowed for the call.  Handlers answer with
 * a CommandResult message through the sink.
 */
typedef void (*uplink_command_fn)(void *arg, const Ward__Command *cmd);
void uplink_on_command(struct uplink *u, uplink_command_fn fn, void *arg);

/*
 * Call from the capture loop every tick (and when idle): flushes an old batch,
 * sends a heartbeat when due, runs received commands, raises SpoolDrop messages.
 * Never blocks on the network.
 */
void uplink_service(struct uplink *u);

/* Hands the open batch to the I/O thread now.  0 or a negative errno. */
int uplink_flush(struct uplink *u);

struct uplink_stats {
    uint64_t next_seq;        /* next sequence number to assign */
    uint64_t acked_seq;       /* highest sequence acknowledged by the console */
    uint64_t spool_bytes;     /* spool size on disk */
    uint64_t spool_records;   /* unacknowledged batches */
    uint64_t spool_dropped;   /* messages dropped because the spool was full */
    uint64_t sent_batches;    /* batches sent (including resends) */
    uint64_t resent_batches;  /* of which resends */
    uint64_t rejected;        /* batches the console refused (ACK_REJECTED) */
    uint64_t commands;        /* commands accepted */
    uint64_t bad_commands;    /* commands refused: signature, expiry, malformed */
    uint64_t send_errors;     /* messages the sink could not take (packing, size) */
    bool revoked;             /* the console said this sensor is revoked */
};
/* Figures as of now (read from any thread). */
void uplink_stats(struct uplink *u, struct uplink_stats *out);

#endif
