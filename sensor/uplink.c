/*
 * uplink -- see uplink.h for the two-thread design.
 *
 * The capture thread owns the open batch (packed bytes, no copies of borrowed
 * messages) and the sequence counter; the I/O thread owns the spool, the DEALER
 * and the in-flight window.  They talk over one inproc PAIR, one frame per item:
 *
 *   capture -> I/O   'B' u64 first_seq u32 count payload   a batch to seal and spool
 *                    'H' heartbeat                         figures to send (not spooled)
 *                    'Q' u32 wait_ms                       flush and stop
 *   I/O -> capture   'C' payload                           a verified command
 *                    'D' u64 msgs u64 bytes u64 first u64 last   spool drops to report
 *                    'q'                                   stopped
 */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "rd.h"

#define HEADROOM 32                       /* room before the batch for protobuf headers */
#define BATCH_HARD_MAX (ENVELOPE_MAX_BYTES - 4096)
#define PAIR_HWM 16                       /* batches queued to the I/O thread */
#define DEALER_HWM 256                    /* messages queued to the console */
#define REVOKED_RETRY_MS 30000            /* try again this long after ACK_REVOKED */
#define RETRY_MIN_MS 500                  /* ACK_RETRY backoff, doubled up to ack timeout */

struct inflight {
    uint64_t last_seq[UPLINK_WINDOW_RECORDS]; /* last seq of each batch sent, oldest first */
    size_t head;                              /* oldest */
    size_t count;                             /* batches in flight */
};

struct uplink {
    struct uplink_opts o;          /* options (strings owned below) */
    char *s_name, *s_endpoint;     /* owned copies of the option strings */
    struct keys_identity id;       /* our identity */
    struct keys_public console;    /* the console's public keys */
    void *ctx;                     /* ZeroMQ context */
    char pair_ep[64];              /* inproc endpoint between the threads */
    void *cap_pair;                /* capture thread's end */
    pthread_t thread;              /* I/O thread */
    bool thread_started;           /* thread to join */
    struct sink sink;              /* uplink_sink() */

    /* capture thread */
    uint8_t *buf;                  /* HEADROOM + packed message entries */
    size_t len;                    /* bytes used in buf, including HEADROOM */
    size_t cap;                    /* bytes allocated */
    uint32_t count;                /* messages in the open batch */
    uint64_t first_seq;            /* seq of its first message */
    uint64_t started_usec;         /* monotonic time of its first message */
    uint64_t next_seq;             /* next seq to assign */
    uint64_t next_hb_usec;         /* monotonic time of the next heartbeat */
    uplink_stats_fn stats_fn;      /* heartbeat figures */
    void *stats_arg;
    uplink_command_fn cmd_fn;      /* command handler */
    void *cmd_arg;

    /* I/O thread */
    struct spool *spool;           /* durable outbox */
    void *io_pair;                 /* I/O thread's end */
    void *dealer;                  /* to the console */
    void *monitor;                 /* DEALER connection events */
    struct inflight fl;            /* batches awaiting an ack */
    uint64_t last_progress_usec;   /* monotonic: last ack that moved, or last rewind */
    uint64_t max_sent_seq;         /* highest seq ever sent (resends are below) */
    uint64_t prev_sent_last;       /* last seq of the record sent before, since the rewind */
    uint64_t hold_until_usec;      /* no sends before this (retry or revoked backoff) */
    uint64_t retry_ms;             /* current ACK_RETRY backoff */
    uint8_t *hb_pending;           /* the last heartbeat the DEALER would not take, sealed */
    size_t hb_pending_len;
    uint8_t *pending;              /* a record the DEALER would not take yet */
    size_t pending_len;
    uint64_t pending_first;
    uint32_t pending_count;
    bool connected;                /* handshake done, not disconnected since */
    bool retry_logged;             /* an ACK_RETRY was logged; cleared by an ACK_OK */
    bool auth_failed;              /* a refused handshake was logged */

    /* shared figures */
    _Atomic uint64_t a_acked;
    _Atomic uint64_t a_spool_bytes;
    _Atomic uint64_t a_spool_records;
    _Atomic uint64_t a_spool_dropped;
    _Atomic uint64_t a_sent;
    _Atomic uint64_t a_resent;
    _Atomic uint64_t a_rejected;
    _Atomic uint64_t a_commands;
    _Atomic uint64_t a_bad_commands;
    _Atomic uint64_t a_send_errors;
    _Atomic uint64_t a_next_seq;
    _Atomic bool a_revoked;
};

/* ---------------------------------------------------------------- options */

void uplink_opts_default(struct uplink_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->spool_max_bytes = SPOOL_DEFAULT_MAX_BYTES;
    o->fsync = SPOOL_FSYNC_BATCH;
    o->batch_messages = UPLINK_DEFAULT_BATCH_MESSAGES;
    o->batch_bytes = UPLINK_DEFAULT_BATCH_BYTES;
    o->batch_ms = UPLINK_DEFAULT_BATCH_MS;
    o->heartbeat_sec = UPLINK_DEFAULT_HEARTBEAT_SEC;
    o->close_ms = UPLINK_DEFAULT_CLOSE_MS;
    o->ack_timeout_ms = UPLINK_DEFAULT_ACK_TIMEOUT_MS;
}

int uplink_opts_from_config(struct config *cfg, struct uplink_opts *o)
{
    const char *s = "uplink";
    uint64_t v, d;
    o->endpoint = config_get_str(cfg, s, "console", o->endpoint);
    o->name = config_get_str(cfg, s, "name", o->name);
    o->keys_dir = config_get_str(cfg, s, "keys", o->keys_dir);
    o->console_pub = config_get_str(cfg, s, "console_key", o->console_pub);
    o->spool_dir = config_get_str(cfg, s, "spool_dir", o->spool_dir);
    if (config_get_size(cfg, s, "spool_max", o->spool_max_bytes, &o->spool_max_bytes) < 0)
        return -EINVAL;
    if (o->spool_max_bytes < SPOOL_MIN_MAX_BYTES)
        return config_fail(cfg, s, "spool_max", "spool_max must be at least %llu bytes",
                           SPOOL_MIN_MAX_BYTES);
    const char *fs = config_get_str(cfg, s, "fsync", NULL);
    if (fs && spool_fsync_parse(fs, &o->fsync) < 0)
        return config_fail(cfg, s, "fsync", "fsync must be always, batch or never");
    if (config_get_u64(cfg, s, "batch_messages", o->batch_messages, &v) < 0)
        return -EINVAL;
    if (v < 1 || v > ENVELOPE_MAX_MESSAGES)
        return config_fail(cfg, s, "batch_messages", "batch_messages must be 1..%u",
                           ENVELOPE_MAX_MESSAGES);
    o->batch_messages = (uint32_t)v;
    if (config_get_size(cfg, s, "batch_bytes", o->batch_bytes, &v) < 0)
        return -EINVAL;
    if (v < 1024 || v > BATCH_HARD_MAX)
        return config_fail(cfg, s, "batch_bytes", "batch_bytes must be 1K..%u", BATCH_HARD_MAX);
    o->batch_bytes = (uint32_t)v;
    if (config_get_duration(cfg, s, "batch_ms", o->batch_ms * USEC_PER_MSEC, &d) < 0)
        return -EINVAL;
    o->batch_ms = (uint32_t)WARD_MIN(d / USEC_PER_MSEC, 60000u);
    if (config_get_duration(cfg, s, "heartbeat", o->heartbeat_sec * USEC_PER_SEC, &d) < 0)
        return -EINVAL;
    if (d < USEC_PER_SEC)
        return config_fail(cfg, s, "heartbeat", "heartbeat must be at least 1s");
    o->heartbeat_sec = (uint32_t)WARD_MIN(d / USEC_PER_SEC, 3600u);
    if (config_get_duration(cfg, s, "close_timeout", o->close_ms * USEC_PER_MSEC, &d) < 0)
        return -EINVAL;
    o->close_ms = (uint32_t)WARD_MIN(d / USEC_PER_MSEC, 3600000u);
    if (config_get_duration(cfg, s, "ack_timeout", o->ack_timeout_ms * USEC_PER_MSEC, &d) < 0)
        return -EINVAL;
    o->ack_timeout_ms = (uint32_t)WARD_MAX(WARD_MIN(d / USEC_PER_MSEC, 600000u), 100u);
    return 0;
}

/* ---------------------------------------------------------------- small helpers */

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static const char *zerr(void)
{
    return zmq_strerror(zmq_errno());
}

/* Sends one frame made of a type byte and data; flags as zmq_send. */
static int frame_send(void *sock, char type, const void *data, size_t len, int flags)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len + 1) < 0)
        return -ENOMEM;
    uint8_t *p = zmq_msg_data(&m);
    p[0] = (uint8_t)type;
    if (len)
        memcpy(p + 1, data, len);
    if (zmq_msg_send(&m, sock, flags) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&m);
        return -e;
    }
    return 0;
}

/* ---------------------------------------------------------------- I/O thread */

static void io_publish(struct uplink *u)
{
    struct spool_stats st;
    spool_stats(u->spool, &st);
    atomic_store(&u->a_acked, spool_acked(u->spool));
    atomic_store(&u->a_spool_bytes, st.bytes);
    atomic_store(&u->a_spool_records, st.records);
    atomic_store(&u->a_spool_dropped, st.dropped);
}

static void fl_clear(struct inflight *fl)
{
    fl->head = 0;
    fl->count = 0;
}

static void fl_ack(struct inflight *fl, uint64_t acked)
{
    while (fl->count && fl->last_seq[fl->head] <= acked) {
        fl->head = (fl->head + 1) % UPLINK_WINDOW_RECORDS;
        fl->count--;
    }
}

static void io_rewind(struct uplink *u, uint64_t now)
{
    spool_rewind(u->spool);
    u->prev_sent_last = spool_acked(u->spool);
    fl_clear(&u->fl);
    free(u->pending);
    u->pending = NULL;
    u->last_progress_usec = now;
}

static void io_batch(struct uplink *u, const uint8_t *p, size_t n)
{
    struct rd r = rd_make(p, n);
    uint64_t first;
    uint32_t count;
    if (!rd_be64(&r, &first) || !rd_be32(&r, &count) || count == 0)
        return;
    uint8_t *env;
    size_t env_len;
    int rc = envelope_seal_body(rd_peek_ptr(&r), rd_left(&r), u->o.name, first, &u->id, &env,
                                &env_len);
    if (rc < 0) {
        log_err("uplink: cannot seal batch seq %" PRIu64 "+%" PRIu32 ": %s", first, count,
                strerror(-rc));
        atomic_fetch_add(&u->a_send_errors, count);
        return;
    }
    rc = spool_append(u->spool, first, count, env, env_len);
    free(env);
    if (rc < 0) {
        /* The spool logged why; these messages are lost and counted as such. */
        atomic_fetch_add(&u->a_send_errors, count);
    }
    io_publish(u);
}

static void io_heartbeat(struct uplink *u, const uint8_t *p, size_t n)
{
    Ward__Heartbeat *hb = ward__heartbeat__unpack(NULL, n, p);
    if (!hb)
        return;
    struct spool_stats st;
    spool_stats(u->spool, &st);
    hb->sent_usec = clock_now_usec();
    hb->spool_bytes = st.bytes;
    hb->spool_records = st.messages;
    hb->spool_dropped = st.dropped;
    hb->acked_seq = spool_acked(u->spool);
    Ward__Payload pl;
    ward__payload__init(&pl);
    pl.kind_case = WARD__PAYLOAD__KIND_HEARTBEAT;
    pl.heartbeat = hb;
    uint8_t *env;
    size_t len;
    if (envelope_seal(&pl, u->o.name, 0, &u->id, &env, &len) == 0) {
        /*
         * Not durable: a heartbeat that cannot go now waits, in place of any
         * older one, until the handshake is done (io_main).  A sensor that
         * reads a short file sends its first heartbeat before the handshake
         * ends, and often none after.
         */
        free(u->hb_pending);
        u->hb_pending = NULL;
        if (zmq_send(u->dealer, env, len, ZMQ_DONTWAIT) < 0) {
            u->hb_pending = env;
            u->hb_pending_len = len;
        } else {
            free(env);
        }
    }
    ward__heartbeat__free_unpacked(hb, NULL);
}

static void io_drops(struct uplink *u)
{
    uint64_t d[4];
    if (!spool_take_drops(u->spool, &d[0], &d[1], &d[2], &d[3]))
        return;
    uint8_t b[32];
    for (int i = 0; i < 4; i++)
        put_be(b + 8 * i, d[i], 8);
    if (frame_send(u->io_pair, 'D', b, sizeof(b), ZMQ_DONTWAIT) < 0)
        log_warn("uplink: spool drop report not delivered to the capture thread");
}

static void io_ack(struct uplink *u, const Ward__Ack *ack, uint64_t now)
{
    switch (ack->status) {
    case WARD__ACK_STATUS__ACK_OK:
    case WARD__ACK_STATUS__ACK_REJECTED:
        if (ack->status == WARD__ACK_STATUS__ACK_REJECTED) {
            char why[256];
            log_escape(ack->reason, strlen(ack->reason), why, sizeof(why));
            log_err("uplink: the console refused a batch (acked through %" PRIu64 "): %s",
                    ack->acked_seq, why);
            atomic_fetch_add(&u->a_rejected, 1);
        } else if (u->retry_logged) {
            log_info("uplink: the console stores again (acked through %" PRIu64 ")",
                     ack->acked_seq);
            u->retry_logged = false;
        }
        if (atomic_load(&u->a_revoked)) {
            atomic_store(&u->a_revoked, false);
            u->hold_until_usec = 0;
        }
        if (ack->acked_seq > spool_acked(u->spool)) {
            u->last_progress_usec = now;
            (void)spool_ack(u->spool, ack->acked_seq);
        }
        fl_ack(&u->fl, ack->acked_seq);
        u->retry_ms = 0;
        /* The link works again: report what the spool had to drop meanwhile. */
        io_drops(u);
        break;
    case WARD__ACK_STATUS__ACK_RETRY: {
        if (now < u->hold_until_usec)
            break; /* already backing off: the rest of the window says the same */
        if (!u->retry_logged) {
            char why[256];
            log_escape(ack->reason, strlen(ack->reason), why, sizeof(why));
            log_warn("uplink: the console cannot store now (%s); keeping the spool and "
                     "retrying",
                     why);
            u->retry_logged = true;
        }
        u->retry_ms = u->retry_ms ? WARD_MIN(u->retry_ms * 2, (uint64_t)u->o.ack_timeout_ms)
                                  : RETRY_MIN_MS;
        u->hold_until_usec = now + u->retry_ms * USEC_PER_MSEC;
        io_rewind(u, now);
        break;
    }
    case WARD__ACK_STATUS__ACK_REVOKED:
        if (!atomic_load(&u->a_revoked))
            log_err("uplink: the console says sensor '%s' is revoked; spooling only", u->o.name);
        atomic_store(&u->a_revoked, true);
        u->hold_until_usec = now + REVOKED_RETRY_MS * USEC_PER_MSEC;
        io_rewind(u, now);
        break;
    case WARD__ACK_STATUS__ACK_STATUS_UNSPECIFIED:
    case _WARD__ACK_STATUS_IS_INT_SIZE:
        break;
    }
    io_publish(u);
}

static void io_command(struct uplink *u, const Ward__Envelope *env, const Ward__Command *cmd)
{
    uint64_t now = clock_now_usec();
    if (cmd->expires_usec && now > cmd->expires_usec) {
        log_warn("uplink: command %" PRIu64 " expired %" PRIu64 " ms ago; ignored", cmd->id,
                 (uint64_t)((now - cmd->expires_usec) / USEC_PER_MSEC));
        atomic_fetch_add(&u->a_bad_commands, 1);
        return;
    }
    atomic_fetch_add(&u->a_commands, 1);
    if (frame_send(u->io_pair, 'C', env->body.data, env->body.len, ZMQ_DONTWAIT) < 0)
        log_warn("uplink: command %" PRIu64 " dropped: capture thread not keeping up", cmd->id);
}

/* One message from the console. */
static void io_incoming(struct uplink *u, const uint8_t *p, size_t n, uint64_t now)
{
    Ward__Envelope *env = NULL;
    Ward__Payload *pl = NULL;
    const char *why = NULL;
    if (envelope_open(p, n, &env, &why) < 0) {
        log_warn("uplink: refused a message from the console: %s", why);
        atomic_fetch_add(&u->a_bad_commands, 1);
        return;
    }
    if (strcmp(env->sender, "console") != 0 || envelope_verify(env, u->console.sign_pk) < 0) {
        log_warn("uplink: refused a message from the console: bad signature or sender");
        atomic_fetch_add(&u->a_bad_commands, 1);
        goto out;
    }
    if (envelope_payload(env, &pl, &why) < 0) {
        log_warn("uplink: refused a message from the console: %s", why);
        atomic_fetch_add(&u->a_bad_commands, 1);
        goto out;
    }
    switch (pl->kind_case) {
    case WARD__PAYLOAD__KIND_ACK:
        io_ack(u, pl->ack, now);
        break;
    case WARD__PAYLOAD__KIND_HEARTBEAT:
        if (pl->heartbeat->acked_seq > spool_acked(u->spool) &&
            pl->heartbeat->acked_seq < spool_next_seq(u->spool)) {
            (void)spool_ack(u->spool, pl->heartbeat->acked_seq);
            fl_ack(&u->fl, pl->heartbeat->acked_seq);
            io_publish(u);
        }
        break;
    case WARD__PAYLOAD__KIND_COMMAND:
        io_command(u, env, pl->command);
        break;
    case WARD__PAYLOAD__KIND_BATCH:
    case WARD__PAYLOAD__KIND_GAP:
    case WARD__PAYLOAD__KIND__NOT_SET:
    case _WARD__PAYLOAD__KIND__CASE_IS_INT_SIZE:
        break;
    }
out:
    envelope_payload_free(pl);
    envelope_free(env);
}

static void io_monitor(struct uplink *u, uint64_t now)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, u->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 6)
            memcpy(&event, zmq_msg_data(&ev), sizeof(event));
        zmq_msg_close(&ev);
        zmq_msg_init(&addr);
        (void)zmq_msg_recv(&addr, u->monitor, 0);
        zmq_msg_close(&addr);
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            log_info("uplink: connected to %s", u->o.endpoint);
            u->connected = true;
            u->auth_failed = false;
            io_rewind(u, now);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (u->connected)
                log_warn("uplink: lost the console at %s; spooling", u->o.endpoint);
            u->connected = false;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            if (u->auth_failed)
                break;
            u->auth_failed = true;
            log_err("uplink: the console refused sensor '%s' (not enrolled or revoked?)",
                    u->o.name);
            break;
        default:
            break;
        }
    }
}

/*
 * Declares that the sequence numbers up to through, not yet acknowledged, will
 * never be sent (the spool dropped them, or lost them to damage): sent right
 * before the record that follows the hole, on the same connection.
 */
static int io_gap(struct uplink *u, uint64_t through)
{
    Ward__Gap g;
    ward__gap__init(&g);
    g.through = through;
    Ward__Payload pl;
    ward__payload__init(&pl);
    pl.kind_case = WARD__PAYLOAD__KIND_GAP;
    pl.gap = &g;
    uint8_t *env;
    size_t len;
    int rc = envelope_seal(&pl, u->o.name, 0, &u->id, &env, &len);
    if (rc < 0)
        return rc;
    if (zmq_send(u->dealer, env, len, ZMQ_DONTWAIT) < 0)
        rc = -EAGAIN;
    free(env);
    return rc;
}

/* Sends from the spool while the window and the DEALER allow. */
static void io_pump(struct uplink *u, uint64_t now)
{
    if (now < u->hold_until_usec || !u->connected)
        return;
    while (u->fl.count < UPLINK_WINDOW_RECORDS) {
        if (!u->pending) {
            int rc = spool_next(u->spool, &u->pending, &u->pending_len, &u->pending_first,
                                &u->pending_count);
            if (rc <= 0)
                return;
        }
        if (u->pending_first > u->prev_sent_last + 1 && io_gap(u, u->pending_first - 1) < 0)
            return;
        if (zmq_send(u->dealer, u->pending, u->pending_len, ZMQ_DONTWAIT) < 0)
            return; /* high-water mark or no connection: try again later */
        uint64_t last = u->pending_first + u->pending_count - 1;
        if (u->fl.count == 0)
            u->last_progress_usec = now;
        u->fl.last_seq[(u->fl.head + u->fl.count) % UPLINK_WINDOW_RECORDS] = last;
        u->fl.count++;
        atomic_fetch_add(&u->a_sent, 1);
        if (last <= u->max_sent_seq)
            atomic_fetch_add(&u->a_resent, 1);
        else
            u->max_sent_seq = last;
        u->prev_sent_last = last;
        free(u->pending);
        u->pending = NULL;
    }
}

static void *io_main(void *arg)
{
    struct uplink *u = arg;
    bool closing = false;
    uint64_t deadline = 0;
    u->last_progress_usec = clock_mono_usec();
    for (;;) {
        zmq_pollitem_t items[] = {
            {u->io_pair, 0, ZMQ_POLLIN, 0},
            {u->dealer, 0, ZMQ_POLLIN, 0},
            {u->monitor, 0, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 3, 50) < 0 && zmq_errno() != EINTR) {
            log_err("uplink: poll: %s", zerr());
            break;
        }
        uint64_t now = clock_mono_usec();
        io_monitor(u, now);
        if (u->hb_pending && u->connected &&
            zmq_send(u->dealer, u->hb_pending, u->hb_pending_len, ZMQ_DONTWAIT) >= 0) {
            free(u->hb_pending);
            u->hb_pending = NULL;
        }
        for (int k = 0; k < 256; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, u->io_pair, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            const uint8_t *p = zmq_msg_data(&m);
            size_t n = zmq_msg_size(&m);
            if (n >= 1 && p[0] == 'B') {
                io_batch(u, p + 1, n - 1);
            } else if (n >= 1 && p[0] == 'H') {
                io_heartbeat(u, p + 1, n - 1);
            } else if (n >= 5 && p[0] == 'Q') {
                uint32_t ms = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 8 | p[4];
                closing = true;
                deadline = now + ms * USEC_PER_MSEC;
            }
            zmq_msg_close(&m);
        }
        for (int k = 0; k < 256; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, u->dealer, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            io_incoming(u, zmq_msg_data(&m), zmq_msg_size(&m), now);
            zmq_msg_close(&m);
        }
        struct spool_stats st;
        spool_stats(u->spool, &st);
        if (u->fl.count && now - u->last_progress_usec > u->o.ack_timeout_ms * USEC_PER_MSEC) {
            log_info("uplink: no acknowledgement for %u ms; resending from seq %" PRIu64,
                     u->o.ack_timeout_ms, spool_acked(u->spool) + 1);
            io_rewind(u, now);
        }
        io_pump(u, now);
        (void)spool_sync(u->spool);
        if (closing && (st.messages == 0 || now >= deadline)) {
            if (st.messages)
                log_warn("uplink: closing with %" PRIu64 " unacknowledged messages kept in "
                         "the spool",
                         st.messages);
            break;
        }
    }
    io_publish(u);
    (void)frame_send(u->io_pair, 'q', NULL, 0, 0);
    return NULL;
}

/* ---------------------------------------------------------------- capture thread */

static int batch_reserve(struct uplink *u, size_t more)
{
    if (u->len + more <= u->cap)
        return 0;
    size_t ncap = u->cap ? u->cap : 64 * 1024;
    while (ncap < u->len + more)
        ncap *= 2;
    uint8_t *n = realloc(u->buf, ncap);
    if (!n)
        return -ENOMEM;
    u->buf = n;
    u->cap = ncap;
    return 0;
}

int uplink_flush(struct uplink *u)
{
    if (u->count == 0)
        return 0;
    /* Payload{batch=1: Batch{created_usec=1, messages=2...}} written backwards into HEADROOM. */
    size_t entries = u->len - HEADROOM;
    uint64_t created = clock_now_usec();
    size_t created_len = 1 + varint_len(created);
    size_t batch_len = created_len + entries;
    size_t hdr_len = 1 + varint_len(batch_len);
    size_t start = HEADROOM - created_len - hdr_len - 13; /* 13: type, first_seq, count */
    uint8_t *p = u->buf + start;
    p[0] = 'B';
    put_be(p + 1, u->first_seq, 8);
    put_be(p + 9, u->count, 4);
    size_t o = 13;
    p[o++] = 0x0a;
    o += varint_put(p + o, batch_len);
    p[o++] = 0x08;
    o += varint_put(p + o, created);
    WARD_ASSERT(start + o == HEADROOM);
    zmq_msg_t m;
    int rc = 0;
    if (zmq_msg_init_size(&m, u->len - start) < 0) {
        rc = -ENOMEM;
    } else {
        memcpy(zmq_msg_data(&m), p, u->len - start);
        /* Blocks only while the I/O thread is behind on the local disk. */
        while (zmq_msg_send(&m, u->cap_pair, 0) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            rc = -zmq_errno();
            log_err("uplink: cannot hand a batch to the I/O thread: %s", zerr());
            zmq_msg_close(&m);
            break;
        }
    }
    if (rc < 0)
        atomic_fetch_add(&u->a_send_errors, u->count);
    u->len = HEADROOM;
    u->count = 0;
    return rc;
}

static int uplink_send(void *arg, const Ward__Message *m)
{
    struct uplink *u = arg;
    Ward__Message copy = *m;
    if (!copy.created_usec)
        copy.created_usec = clock_now_usec();
    size_t n = ward__message__get_packed_size(&copy);
    size_t entry = 1 + varint_len(n) + n;
    if (entry + 64 > BATCH_HARD_MAX) {
        atomic_fetch_add(&u->a_send_errors, 1);
        return -EMSGSIZE;
    }
    if (u->count && (u->len - HEADROOM + entry > BATCH_HARD_MAX ||
                     u->count >= ENVELOPE_MAX_MESSAGES)) {
        int rc = uplink_flush(u);
        if (rc < 0)
            return rc;
    }
    if (batch_reserve(u, entry) < 0) {
        atomic_fetch_add(&u->a_send_errors, 1);
        return -ENOMEM;
    }
    uint8_t *p = u->buf + u->len;
    p[0] = 0x12;
    size_t o = 1 + varint_put(p + 1, n);
    ward__message__pack(&copy, p + o);
    u->len += entry;
    if (u->count == 0) {
        u->first_seq = u->next_seq;
        u->started_usec = clock_mono_usec();
    }
    u->count++;
    u->next_seq++;
    atomic_store(&u->a_next_seq, u->next_seq);
    if (u->count >= u->o.batch_messages || u->len - HEADROOM >= u->o.batch_bytes)
        return uplink_flush(u);
    return 0;
}

const struct sink *uplink_sink(struct uplink *u)
{
    return &u->sink;
}

void uplink_on_stats(struct uplink *u, uplink_stats_fn fn, void *arg)
{
    u->stats_fn = fn;
    u->stats_arg = arg;
}

void uplink_on_command(struct uplink *u, uplink_command_fn fn, void *arg)
{
    u->cmd_fn = fn;
    u->cmd_arg = arg;
}

static void send_heartbeat(struct uplink *u)
{
    Ward__Heartbeat hb;
    ward__heartbeat__init(&hb);
    if (u->stats_fn)
        u->stats_fn(u->stats_arg, &hb);
    hb.next_seq = u->next_seq;
    size_t n = ward__heartbeat__get_packed_size(&hb);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return;
    ward__heartbeat__pack(&hb, b);
    (void)frame_send(u->cap_pair, 'H', b, n, ZMQ_DONTWAIT);
    free(b);
}

static void raise_drop(struct uplink *u, const uint8_t *p, size_t n)
{
    struct rd r = rd_make(p, n);
    uint64_t msgs, bytes, first, last;
    if (!rd_be64(&r, &msgs) || !rd_be64(&r, &bytes) || !rd_be64(&r, &first) ||
        !rd_be64(&r, &last))
        return;
    log_warn("uplink: the spool dropped %" PRIu64 " messages (seq %" PRIu64 "..%" PRIu64
             ") while the console was away; reporting it",
             msgs, first, last);
    Ward__SpoolDrop d;
    ward__spool_drop__init(&d);
    d.records = msgs;
    d.bytes = bytes;
    d.first_seq = first;
    d.last_seq = last;
    Ward__Message m;
    ward__message__init(&m);
    m.kind_case = WARD__MESSAGE__KIND_SPOOL_DROP;
    m.spool_drop = &d;
    (void)uplink_send(u, &m);
}

static void run_command(struct uplink *u, const uint8_t *p, size_t n)
{
    Ward__Payload *pl = ward__payload__unpack(NULL, n, p);
    if (!pl)
        return;
    if (pl->kind_case == WARD__PAYLOAD__KIND_COMMAND && pl->command) {
        if (u->cmd_fn)
            u->cmd_fn(u->cmd_arg, pl->command);
        else
            log_warn("uplink: command %" PRIu64 " received but no handler is set",
                     pl->command->id);
    }
    ward__payload__free_unpacked(pl, NULL);
}

/* Handles one frame from the I/O thread. */
static void cap_frame(struct uplink *u, zmq_msg_t *m)
{
    const uint8_t *p = zmq_msg_data(m);
    size_t n = zmq_msg_size(m);
    if (n >= 1 && p[0] == 'C')
        run_command(u, p + 1, n - 1);
    else if (n >= 1 && p[0] == 'D')
        raise_drop(u, p + 1, n - 1);
}

void uplink_service(struct uplink *u)
{
    uint64_t now = clock_mono_usec();
    for (int k = 0; k < 64; k++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, u->cap_pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        cap_frame(u, &m);
        zmq_msg_close(&m);
    }
    if (u->count && now - u->started_usec >= u->o.batch_ms * USEC_PER_MSEC)
        (void)uplink_flush(u);
    if (now >= u->next_hb_usec) {
        u->next_hb_usec = now + u->o.heartbeat_sec * USEC_PER_SEC;
        send_heartbeat(u);
    }
}

void uplink_stats(struct uplink *u, struct uplink_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->next_seq = atomic_load(&u->a_next_seq);
    out->acked_seq = atomic_load(&u->a_acked);
    out->spool_bytes = atomic_load(&u->a_spool_bytes);
    out->spool_records = atomic_load(&u->a_spool_records);
    out->spool_dropped = atomic_load(&u->a_spool_dropped);
    out->sent_batches = atomic_load(&u->a_sent);
    out->resent_batches = atomic_load(&u->a_resent);
    out->rejected = atomic_load(&u->a_rejected);
    out->commands = atomic_load(&u->a_commands);
    out->bad_commands = atomic_load(&u->a_bad_commands);
    out->send_errors = atomic_load(&u->a_send_errors);
    out->revoked = atomic_load(&u->a_revoked);
}

/* ---------------------------------------------------------------- open, close */

static void uplink_free(struct uplink *u)
{
    if (u->dealer)
        zmq_close(u->dealer);
    if (u->monitor)
        zmq_close(u->monitor);
    if (u->io_pair)
        zmq_close(u->io_pair);
    if (u->cap_pair)
        zmq_close(u->cap_pair);
    if (u->ctx)
        zmq_ctx_term(u->ctx);
    spool_close(u->spool);
    keys_wipe(&u->id);
    free(u->pending);
    free(u->hb_pending);
    free(u->buf);
    free(u->s_name);
    free(u->s_endpoint);
    free(u);
}

static int sockopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof(v));
}

static int open_sockets(struct uplink *u)
{
    u->ctx = zmq_ctx_new();
    if (!u->ctx)
        return -ENOMEM;
    snprintf(u->pair_ep, sizeof(u->pair_ep), "inproc://ward-uplink-%p", (void *)u);
    char mon_ep[80];
    snprintf(mon_ep, sizeof(mon_ep), "inproc://ward-uplink-mon-%p", (void *)u);
    u->io_pair = zmq_socket(u->ctx, ZMQ_PAIR);
    u->cap_pair = zmq_socket(u->ctx, ZMQ_PAIR);
    u->dealer = zmq_socket(u->ctx, ZMQ_DEALER);
    if (!u->io_pair || !u->cap_pair || !u->dealer)
        goto fail;
    if (sockopt_int(u->io_pair, ZMQ_RCVHWM, PAIR_HWM) < 0 ||
        sockopt_int(u->cap_pair, ZMQ_SNDHWM, PAIR_HWM) < 0 ||
        zmq_bind(u->io_pair, u->pair_ep) < 0 || zmq_connect(u->cap_pair, u->pair_ep) < 0)
        goto fail;
    if (sockopt_int(u->dealer, ZMQ_SNDHWM, DEALER_HWM) < 0 ||
        sockopt_int(u->dealer, ZMQ_RCVHWM, DEALER_HWM) < 0 ||
        sockopt_int(u->dealer, ZMQ_LINGER, 0) < 0 ||
        sockopt_int(u->dealer, ZMQ_IMMEDIATE, 1) < 0 ||
        sockopt_int(u->dealer, ZMQ_RECONNECT_IVL, 100) < 0 ||
        sockopt_int(u->dealer, ZMQ_RECONNECT_IVL_MAX, 10000) < 0 ||
        sockopt_int(u->dealer, ZMQ_HEARTBEAT_IVL, 2000) < 0 ||
        sockopt_int(u->dealer, ZMQ_HEARTBEAT_TIMEOUT, 6000) < 0 ||
        zmq_setsockopt(u->dealer, ZMQ_CURVE_SERVERKEY, u->console.curve_pk, KEYS_CURVE_LEN) < 0 ||
        zmq_setsockopt(u->dealer, ZMQ_CURVE_PUBLICKEY, u->id.pub.curve_pk, KEYS_CURVE_LEN) < 0 ||
        zmq_setsockopt(u->dealer, ZMQ_CURVE_SECRETKEY, u->id.curve_sk, KEYS_CURVE_LEN) < 0)
        goto fail;
    if (zmq_socket_monitor(u->dealer, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0)
        goto fail;
    u->monitor = zmq_socket(u->ctx, ZMQ_PAIR);
    if (!u->monitor || zmq_connect(u->monitor, mon_ep) < 0)
        goto fail;
    if (zmq_connect(u->dealer, u->o.endpoint) < 0) {
        log_err("uplink: cannot connect to %s: %s", u->o.endpoint, zerr());
        return -EINVAL;
    }
    return 0;
fail:
    log_err("uplink: ZeroMQ set-up failed: %s", zerr());
    return -EIO;
}

int uplink_open(const struct uplink_opts *o, struct uplink **out)
{
    *out = NULL;
    if (!o->name || !o->endpoint || !o->keys_dir || !o->console_pub || !o->spool_dir) {
        log_err("uplink: [uplink] needs console, name, keys, console_key and spool_dir");
        return -EINVAL;
    }
    if (!*o->name || strlen(o->name) > ENVELOPE_MAX_SENDER) {
        log_err("uplink: sensor name must be 1..%d bytes", ENVELOPE_MAX_SENDER);
        return -EINVAL;
    }
    struct uplink *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->o = *o;
    u->s_name = strdup(o->name);
    u->s_endpoint = strdup(o->endpoint);
    u->o.name = u->s_name;
    u->o.endpoint = u->s_endpoint;
    u->o.keys_dir = u->o.console_pub = u->o.spool_dir = NULL;
    if (u->o.batch_messages == 0 || u->o.batch_messages > ENVELOPE_MAX_MESSAGES)
        u->o.batch_messages = UPLINK_DEFAULT_BATCH_MESSAGES;
    if (u->o.batch_bytes < 1024 || u->o.batch_bytes > BATCH_HARD_MAX)
        u->o.batch_bytes = UPLINK_DEFAULT_BATCH_BYTES;
    if (u->o.heartbeat_sec == 0)
        u->o.heartbeat_sec = UPLINK_DEFAULT_HEARTBEAT_SEC;
    if (u->o.ack_timeout_ms < 100)
        u->o.ack_timeout_ms = UPLINK_DEFAULT_ACK_TIMEOUT_MS;
    u->sink.send = uplink_send;
    u->sink.arg = u;
    u->len = HEADROOM;
    int rc = -ENOMEM;
    if (!u->s_name || !u->s_endpoint || batch_reserve(u, 64 * 1024) < 0)
        goto fail;
    if ((rc = keys_load(o->keys_dir, &u->id)) < 0 ||
        (rc = keys_load_public(o->console_pub, &u->console)) < 0)
        goto fail;
    struct spool_recovery rec;
    rc = spool_open(o->spool_dir, &u->id, o->spool_max_bytes, o->fsync, &u->spool, &rec);
    if (rc < 0)
        goto fail;
    u->next_seq = spool_next_seq(u->spool);
    atomic_store(&u->a_next_seq, u->next_seq);
    io_publish(u);
    if (rec.records || rec.corrupt)
        log_info("uplink: spool holds %" PRIu64 " unacknowledged batches (%" PRIu64
                 " corrupt skipped); resuming at seq %" PRIu64,
                 rec.records, rec.corrupt, u->next_seq);
    if ((rc = open_sockets(u)) < 0)
        goto fail;
    if (pthread_create(&u->thread, NULL, io_main, u) != 0) {
        log_err("uplink: cannot start the I/O thread");
        rc = -EAGAIN;
        goto fail;
    }
    u->thread_started = true;
    u->next_hb_usec = clock_mono_usec();
    *out = u;
    return 0;
fail:
    uplink_free(u);
    return rc;
}

void uplink_close(struct uplink *u)
{
    if (!u)
        return;
    (void)uplink_flush(u);
    if (u->thread_started) {
        uint8_t b[4];
        put_be(b, u->o.close_ms, 4);
        int tmo = (int)u->o.close_ms + 5000;
        (void)zmq_setsockopt(u->cap_pair, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
        if (frame_send(u->cap_pair, 'Q', b, sizeof(b), 0) == 0) {
            for (;;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, u->cap_pair, 0) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                /* Commands and drop reports are moot now: only the stop reply counts. */
                bool done = zmq_msg_size(&m) >= 1 && *(uint8_t *)zmq_msg_data(&m) == 'q';
                zmq_msg_close(&m);
                if (done)
                    break;
            }
        }
        pthread_join(u->thread, NULL);
    }
    uplink_free(u);
}
