/*
 * ingest -- see ingest.h.
 *
 * The ROUTER is bound twice: to the sensors' endpoint (CURVE server) and to a
 * private inproc endpoint that only the ZAP relay thread connects to.  The relay
 * turns each ZAP request into one ROUTER message [token, request id, address,
 * mechanism, key] and waits for the console thread's answer [token, status,
 * user id, text].  The token is random per process and inproc peers carry no
 * User-Id, so no remote peer can pose as the relay.
 */
#include "ingest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "log.h"
#include "modules.h"
#include "store.h"
#include "store_events.h"
#include "store_ingest.h"
#include "store_sensors.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define TOKEN_LEN 16
#define MAX_FRAMES 8
#define RID_MAX 256
#define LAT_BUCKET_USEC 100ull /* latency histogram resolution */
#define LAT_BUCKETS 100000     /* 100 us .. 10 s, then one overflow bucket */
#define ROUTER_HWM 4096
#define GROUP_BATCHES 64        /* batches one commit may cover */
#define GROUP_MSGS 16384        /* messages one commit may cover */
#define GROUP_SOLO_USEC 10000000 /* after a failure, one batch per transaction this long */

/* A batch stored in the open group transaction, acknowledged once it commits. */
struct group_ack {
    uint8_t rid[RID_MAX];           /* the sensor's ZeroMQ routing id */
    size_t rid_len;                 /* bytes of rid */
    char name[SENSOR_NAME_MAX + 1]; /* the sensor */
    uint64_t last;                  /* the batch's last sequence number */
    uint64_t stored;                /* messages of it stored (above the watermark) */
    size_t lat_first;               /* its creation times: group.created[lat_first..] */
    size_t lat_count;               /* ... this many */
};

/*
 * Group commit: the batches handled in one ingest_handle() share a transaction
 * and its COMMIT (one WAL flush instead of one per batch), and each is
 * acknowledged only after that COMMIT.  The group commits when the drain ends,
 * when it is full, and before any other reply goes out (a reply may carry a
 * watermark, which must be committed first).  A batch that fails rolls the
 * whole group back: every batch in it is answered ACK_RETRY with its sensor's
 * committed watermark, and for GROUP_SOLO_USEC each batch gets a transaction
 * of its own, so one bad batch cannot keep failing the others.
 */
struct group {
    struct group_ack acks[GROUP_BATCHES]; /* batches waiting for the commit */
    size_t n;                             /* how many */
    uint64_t created[GROUP_MSGS];         /* their messages' creation times */
    size_t n_created;                     /* how many */
    uint64_t solo_until;                  /* monotonic: no grouping before this */
    bool committing;                      /* answering the group: no nested commit */
};

struct peer {
    char name[SENSOR_NAME_MAX + 1]; /* sensor name, "" if the slot is free */
    uint8_t rid[RID_MAX];           /* its ZeroMQ routing id */
    size_t rid_len;                 /* bytes of rid */
    uint64_t gap_through;           /* the sensor declared seqs up to this will never come */
};

struct ingest {
    struct console *c;              /* the console (store, identity, modules) */
    void *ctx;                      /* ZeroMQ context */
    void *router;                   /* sensors and the ZAP relay */
    void *zap_rep;                  /* handed to the relay thread at start */
    char relay_ep[64];              /* inproc endpoint the relay connects to */
    pthread_t relay;                /* ZAP relay thread */
    bool relay_started;             /* thread to join */
    uint8_t token[TOKEN_LEN];       /* proves a ROUTER message came from the relay */
    struct peer *peers;             /* live routes by sensor name */
    size_t npeers;                  /* slots in use (some may be free) */
    bool store_failing;             /* a storage failure was logged; not yet recovered */
    struct ingest_stats st;         /* figures */
    uint64_t *lat;                  /* latency histogram, LAT_BUCKETS + 1 */
    struct log_limit lim_reject;    /* rate limit for refusal logs */
    struct log_limit lim_zap;       /* rate limit for ZAP refusals */
    struct log_limit lim_dup;       /* rate limit for duplicate-batch logs */
    struct group *group;            /* batches stored, not yet committed */
    struct envelope_arena *arena;   /* the sensor message being handled is opened here */
};

static int group_commit(struct ingest *i);

/* ---------------------------------------------------------------- ZAP relay thread */

static void msgs_close(zmq_msg_t *m, int n)
{
    for (int k = 0; k < n; k++)
        zmq_msg_close(&m[k]);
}

/* Receives a whole multipart message (at most MAX_FRAMES frames kept).  Frames or -1. */
static int recv_all(void *sock, zmq_msg_t *m, int flags)
{
    int n = 0;
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, n ? 0 : flags) < 0) {
            zmq_msg_close(&f);
            if (n == 0)
                return -1;
            break;
        }
        bool more = zmq_msg_more(&f);
        if (n < MAX_FRAMES)
            m[n++] = f;
        else
            zmq_msg_close(&f);
        if (!more)
            break;
    }
    return n;
}

static int send_frames(void *sock, const void *const *data, const size_t *len, int n, int flags)
{
    for (int k = 0; k < n; k++) {
        int f = flags | (k + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, data[k], len[k], f) < 0)
            return -zmq_errno();
    }
    return 0;
}

struct relay_args {
    void *rep;                /* bound to ZAP_ENDPOINT */
    void *ctx;                /* for the DEALER */
    char ep[64];              /* ROUTER's inproc endpoint */
    uint8_t token[TOKEN_LEN]; /* copied */
};

static void *relay_main(void *arg)
{
    struct relay_args *ra = arg;
    void *dealer = zmq_socket(ra->ctx, ZMQ_DEALER);
    int linger = 0;
    if (!dealer || zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_connect(dealer, ra->ep) < 0) {
        log_err("ingest: ZAP relay cannot start: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    for (;;) {
        zmq_msg_t rq[MAX_FRAMES];
        int n = recv_all(ra->rep, rq, 0);
        if (n < 0)
            break; /* context shut down */
        /* ZAP/1.0: version, request id, domain, address, identity, mechanism, credentials */
        const void *fd[5] = {ra->token, NULL, NULL, NULL, NULL};
        size_t fl[5] = {TOKEN_LEN, 0, 0, 0, 0};
        int pick[4] = {1, 3, 5, 6};
        for (int k = 0; k < 4; k++) {
            if (pick[k] < n) {
                fd[k + 1] = zmq_msg_data(&rq[pick[k]]);
                fl[k + 1] = zmq_msg_size(&rq[pick[k]]);
            } else {
                fd[k + 1] = "";
            }
        }
        int rc = send_frames(dealer, fd, fl, 5, 0);
        zmq_msg_t ans[MAX_FRAMES];
        int na = rc == 0 ? recv_all(dealer, ans, 0) : -1;
        /* Answer: token, status, user id, text.  Anything else is a refusal. */
        const char *status = "500", *text = "console unavailable";
        const void *uid = "";
        size_t uid_len = 0;
        if (na == 4 && zmq_msg_size(&ans[0]) == TOKEN_LEN &&
            memcmp(zmq_msg_data(&ans[0]), ra->token, TOKEN_LEN) == 0 &&
            zmq_msg_size(&ans[1]) == 3 && memcmp(zmq_msg_data(&ans[1]), "200", 3) == 0) {
            status = "200";
            text = "OK";
            uid = zmq_msg_data(&ans[2]);
            uid_len = zmq_msg_size(&ans[2]);
        } else if (na >= 2) {
            status = "400";
            text = "not enrolled";
        }
        const void *rd[6] = {"1.0", n > 1 ? zmq_msg_data(&rq[1]) : "", status, text, uid, ""};
        size_t rl[6] = {3, n > 1 ? zmq_msg_size(&rq[1]) : 0, 3, strlen(text), uid_len, 0};
        rc = send_frames(ra->rep, rd, rl, 6, 0);
        if (na > 0)
            msgs_close(ans, na);
        msgs_close(rq, n);
        if (rc == -ETERM)
            break;
    }
out:
    if (dealer)
        zmq_close(dealer);
    zmq_close(ra->rep);
    free(ra);
    return NULL;
}

/* ---------------------------------------------------------------- routes */

static struct peer *peer_find(struct ingest *i, const char *name)
{
    for (size_t k = 0; k < i->npeers; k++) {
        if (strcmp(i->peers[k].name, name) == 0)
            return &i->peers[k];
    }
    return NULL;
}

static void peer_set(struct ingest *i, const char *name, const uint8_t *rid, size_t len)
{
    if (len > RID_MAX)
        return;
    struct peer *p = peer_find(i, name);
    if (!p) {
        for (size_t k = 0; k < i->npeers && !p; k++) {
            if (!i->peers[k].name[0])
                p = &i->peers[k];
        }
    }
    if (!p) {
        if (i->npeers == INGEST_MAX_PEERS)
            return;
        p = &i->peers[i->npeers++];
    }
    if (strcmp(p->name, name) != 0)
        p->gap_through = 0;
    snprintf(p->name, sizeof(p->name), "%s", name);
    memcpy(p->rid, rid, len);
    p->rid_len = len;
}

static void peer_drop(struct ingest *i, const char *name)
{
    struct peer *p = peer_find(i, name);
    if (p)
        memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- replies */

static void reply(struct ingest *i, const uint8_t *rid, size_t rid_len, const Ward__Payload *pl)
{
    uint8_t *env;
    size_t len;
    /* Whatever this says may rest on the group's uncommitted writes. */
    if (i->group->n && !i->group->committing && group_commit(i) < 0)
        return; /* not committed: say nothing; the sensor asks again */
    if (envelope_seal(pl, "console", 0, &i->c->id, &env, &len) < 0)
        return;
    const void *d[2] = {rid, env};
    size_t l[2] = {rid_len, len};
    /* Best effort: a lost ack makes the sensor resend, which is harmless. */
    (void)send_frames(i->router, d, l, 2, ZMQ_DONTWAIT);
    free(env);
}

static void reply_ack(struct ingest *i, const uint8_t *rid, size_t rid_len, uint64_t acked,
                      Ward__AckStatus status, const char *reason)
{
    Ward__Ack ack;
    ward__ack__init(&ack);
    ack.acked_seq = acked;
    ack.status = status;
    ack.reason = (char *)(uintptr_t)(reason ? reason : "");
    Ward__Payload pl;
    ward__payload__init(&pl);
    pl.kind_case = WARD__PAYLOAD__KIND_ACK;
    pl.ack = &ack;
    reply(i, rid, rid_len, &pl);
}

/* ---------------------------------------------------------------- ZAP decisions */

static void zap_answer(struct ingest *i, zmq_msg_t *f, int n)
{
    /* f: rid, token, request id, address, mechanism, key */
    const char *status = "400";
    char name[SENSOR_NAME_MAX + 1] = "";
    char addr[64], keyhex[2 * KEYS_CURVE_LEN + 1] = "?";
    log_escape(zmq_msg_data(&f[3]), zmq_msg_size(&f[3]), addr, sizeof(addr));
    const char *why = "not a CURVE client";
    if (n == 6 && zmq_msg_size(&f[4]) == 5 && memcmp(zmq_msg_data(&f[4]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[5]) == KEYS_CURVE_LEN) {
        const uint8_t *key = zmq_msg_data(&f[5]);
        keys_hex(key, KEYS_CURVE_LEN, keyhex, sizeof(keyhex));
        struct sensor_row row;
        int rc = store_sensors_by_curve(i->c->store, key, &row);
        if (rc == 0 && !row.revoked) {
            status = "200";
            snprintf(name, sizeof(name), "%s", row.name);
        } else if (rc == 0) {
            why = "sensor revoked";
            snprintf(name, sizeof(name), "%s", row.name);
        } else if (rc == -ENOENT) {
            why = "key not enrolled";
        } else {
            why = "store unavailable";
        }
    }
    if (status[0] != '2') {
        i->st.zap_denied++;
        log_ratelimited(&i->lim_zap, 5, LOG_LEVEL_WARN,
                        "ingest: refused connection from %s: %s (curve key %s%s%s)", addr, why,
                        keyhex, name[0] ? ", sensor " : "", name);
    } else {
        log_info("ingest: sensor '%s' connected from %s", name, addr);
    }
    const void *d[5] = {zmq_msg_data(&f[0]), i->token, status, name, ""};
    size_t l[5] = {zmq_msg_size(&f[0]), TOKEN_LEN, 3, strlen(name), 0};
    (void)send_frames(i->router, d, l, 5, ZMQ_DONTWAIT);
}

/* ---------------------------------------------------------------- sensor messages */

static void lat_add(struct ingest *i, uint64_t usec)
{
    uint64_t b = usec / LAT_BUCKET_USEC;
    i->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
    i->st.latency_count++;
    if (usec > i->st.latency_max_usec)
        i->st.latency_max_usec = usec;
}

static uint64_t lat_quantile(const struct ingest *i, double q)
{
    if (!i->st.latency_count)
        return 0;
    uint64_t want = (uint64_t)((double)i->st.latency_count * q);
    if (want >= i->st.latency_count)
        want = i->st.latency_count - 1;
    uint64_t seen = 0;
    for (size_t b = 0; b <= LAT_BUCKETS; b++) {
        seen += i->lat[b];
        if (seen > want)
            return (b + 1) * LAT_BUCKET_USEC;
    }
    return i->st.latency_max_usec;
}

static void refuse(struct ingest *i, const char *who, const char *why)
{
    char w[SENSOR_NAME_MAX * 4 + 1];
    log_escape(who, strlen(who), w, sizeof(w));
    i->st.rejected++;
    log_ratelimited(&i->lim_reject, 20, LOG_LEVEL_WARN, "ingest: rejected a message from sensor "
                    "'%s': %s",
                    w, why);
}

/*
 * Stores the messages of one batch above the watermark in the group's
 * transaction (opened if need be), and commits it when solo.  0 or a negative
 * errno; on failure the transaction (the whole group's) is rolled back.
 */
static int store_batch(struct ingest *i, const struct sensor_row *row, uint64_t first,
                       const Ward__Batch *b, uint64_t now, bool solo)
{
    struct store *st = i->c->store;
    int rc = store_in_tx(st) ? 0 : store_begin(st);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < b->n_messages; k++) {
        uint64_t seq = first + k;
        if (seq <= row->acked_seq)
            continue;
        const Ward__Message *m = b->messages[k];
        struct msg_origin o = {row->name, seq, row->id, 0};
        if (m->kind_case == WARD__MESSAGE__KIND_EVENT) {
            if ((rc = store_events_upsert(st, &o, m->event, now, &o.event_id)) < 0)
                goto fail;
        } else if (m->kind_case == WARD__MESSAGE__KIND_SPOOL_DROP) {
            log_warn("ingest: sensor '%s' reports %" PRIu64 " messages (seq %" PRIu64
                     "..%" PRIu64 ") lost to a full spool",
                     row->name, m->spool_drop->records, m->spool_drop->first_seq,
                     m->spool_drop->last_seq);
        }
        if ((rc = modules_message(i->c, &o, m)) < 0)
            goto fail;
        if (!store_ingest_tx_alive(st)) {
            /* SQLite rolled back under us and someone swallowed the error. */
            rc = -EIO;
            goto fail;
        }
    }
    if ((rc = modules_batch_end(i->c)) < 0)
        goto fail;
    if ((rc = store_sensors_set_acked(st, row->id, first + b->n_messages - 1)) < 0)
        goto fail;
    if (!store_ingest_tx_alive(st)) {
        rc = -EIO;
        goto fail;
    }
    if (solo && ((rc = modules_before_commit(i->c)) < 0 || (rc = store_commit(st)) < 0))
        goto fail;
    return 0;
fail:
    modules_batch_abort(i->c);
    if (store_in_tx(st))
        store_rollback(st);
    return rc;
}

static void group_answer(struct ingest *i, int rc);

static void on_batch(struct ingest *i, const uint8_t *rid, size_t rid_len,
                     const struct sensor_row *row, const Ward__Envelope *env, const Ward__Batch *b)
{
    uint64_t first = env->first_seq;
    uint64_t last = first + b->n_messages - 1;
    uint64_t acked = row->acked_seq;
    if (last <= acked) {
        i->st.duplicates++;
        log_ratelimited(&i->lim_dup, 5, LOG_LEVEL_INFO,
                        "ingest: sensor '%s' sent batch seq %" PRIu64 "..%" PRIu64
                        " again (resent or replayed; stored through %" PRIu64
                        "): not stored twice, acknowledged",
                        row->name, first, last, acked);
        reply_ack(i, rid, rid_len, acked, WARD__ACK_STATUS__ACK_OK, "");
        return;
    }
    if (first > acked + INGEST_SEQ_WINDOW) {
        char why[160];
        snprintf(why, sizeof(why),
                 "sequence %" PRIu64 " is out of window (stored through %" PRIu64 ")", first,
                 acked);
        refuse(i, row->name, why);
        reply_ack(i, rid, rid_len, acked, WARD__ACK_STATUS__ACK_REJECTED, why);
        return;
    }
    if (first > acked + 1) {
        /*
         * A hole is accepted only when the sensor declared it (Gap): otherwise an
         * earlier batch is still on its way or failed here, and must come first.
         */
        const struct peer *p = peer_find(i, row->name);
        if (!p || first - 1 > p->gap_through) {
            log_ratelimited(&i->lim_dup, 5, LOG_LEVEL_INFO,
                            "ingest: sensor '%s' sent seq %" PRIu64 " while %" PRIu64
                            " is missing: not stored, asked to resend in order",
                            row->name, first, acked + 1);
            reply_ack(i, rid, rid_len, acked, WARD__ACK_STATUS__ACK_RETRY,
                      "out of order: resend from the acknowledged sequence number");
            return;
        }
        log_warn("ingest: sensor '%s' declares seq %" PRIu64 "..%" PRIu64
                 " lost (dropped by its spool or damaged); continuing at %" PRIu64,
                 row->name, acked + 1, first - 1, first);
    }
    uint64_t now = clock_now_usec();
    struct group *g = i->group;
    struct store *st = i->c->store;
    if (g->n >= GROUP_BATCHES || g->n_created + b->n_messages > GROUP_MSGS ||
        (g->n && !store_in_tx(st)))
        (void)!group_commit(i);
    bool solo = clock_mono_usec() < g->solo_until;
    if (solo && store_in_tx(st))
        (void)!group_commit(i);
    int rc = store_batch(i, row, first, b, now, solo);
    if (rc < 0) {
        g->solo_until = clock_mono_usec() + GROUP_SOLO_USEC;
        if (g->n)
            group_answer(i, rc); /* rolled back with this one */
        struct sensor_row now_row;
        if (store_sensors_by_name(st, row->name, &now_row) == 0)
            acked = now_row.acked_seq; /* the committed watermark */
        char why[128];
        snprintf(why, sizeof(why), "console storage failed: %s", strerror(-rc));
        if (!i->store_failing)
            log_err("ingest: cannot store batches (%s); not acknowledging until storage "
                    "works, sensors keep their spools",
                    strerror(-rc));
        i->store_failing = true;
        i->st.retries++;
        reply_ack(i, rid, rid_len, acked, WARD__ACK_STATUS__ACK_RETRY, why);
        return;
    }
    struct group_ack *a = &g->acks[g->n++];
    memcpy(a->rid, rid, rid_len);
    a->rid_len = rid_len;
    snprintf(a->name, sizeof(a->name), "%s", row->name);
    a->last = last;
    a->stored = last - WARD_MAX(acked, first - 1);
    a->lat_first = g->n_created;
    for (size_t k = 0; k < b->n_messages; k++) {
        if (first + k > acked)
            g->created[g->n_created++] = b->messages[k]->created_usec;
    }
    a->lat_count = g->n_created - a->lat_first;
    if (solo)
        group_answer(i, 0); /* committed already */
}

/*
 * Answers the group's batches after its COMMIT (rc 0: ACK_OK) or its rollback
 * (ACK_RETRY with each sensor's committed watermark), and empties the group.
 */
static void group_answer(struct ingest *i, int rc)
{
    struct group *g = i->group;
    struct store *st = i->c->store;
    g->committing = true;
    if (rc == 0 && g->n && i->store_failing) {
        log_info("ingest: storage works again; acknowledging");
        i->store_failing = false;
    }
    if (rc < 0 && g->n) {
        if (!i->store_failing)
            log_err("ingest: cannot store batches (%s); not acknowledging until storage "
                    "works, sensors keep their spools",
                    strerror(-rc));
        i->store_failing = true;
        g->solo_until = clock_mono_usec() + GROUP_SOLO_USEC;
    }
    char why[128];
    snprintf(why, sizeof(why), "console storage failed: %s", rc < 0 ? strerror(-rc) : "");
    uint64_t done = clock_now_usec();
    for (size_t k = 0; k < g->n; k++) {
        const struct group_ack *a = &g->acks[k];
        if (rc == 0) {
            for (size_t m = a->lat_first; m < a->lat_first + a->lat_count; m++) {
                if (g->created[m] && g->created[m] <= done)
                    lat_add(i, done - g->created[m]);
            }
            i->st.batches++;
            i->st.messages += a->stored;
            reply_ack(i, a->rid, a->rid_len, a->last, WARD__ACK_STATUS__ACK_OK, "");
        } else {
            struct sensor_row row;
            uint64_t acked = store_sensors_by_name(st, a->name, &row) == 0 ? row.acked_seq : 0;
            i->st.retries++;
            reply_ack(i, a->rid, a->rid_len, acked, WARD__ACK_STATUS__ACK_RETRY, why);
        }
    }
    g->n = g->n_created = 0;
    g->committing = false;
}

/* Commits the group's transaction, if one is open, and answers its batches. */
static int group_commit(struct ingest *i)
{
    struct group *g = i->group;
    struct store *st = i->c->store;
    if (g->committing)
        return 0;
    int rc = g->n ? -EIO : 0; /* batches but no transaction: SQLite rolled it back */
    if (store_in_tx(st)) {
        rc = store_ingest_tx_alive(st) ? modules_before_commit(i->c) : -EIO;
        if (rc == 0)
            rc = store_ingest_tx_alive(st) ? store_commit(st) : -EIO;
        if (rc < 0) {
            modules_batch_abort(i->c);
            if (store_in_tx(st))
                store_rollback(st);
        }
    }
    group_answer(i, rc);
    return rc;
}

static void on_heartbeat(struct ingest *i, const uint8_t *rid, size_t rid_len,
                         const struct sensor_row *row, const Ward__Heartbeat *hb)
{
    int rc = store_sensors_heartbeat(i->c->store, row->id, clock_now_usec(), hb);
    if (rc == 0)
        i->st.heartbeats++;
    Ward__Heartbeat out;
    ward__heartbeat__init(&out);
    out.sent_usec = clock_now_usec();
    out.acked_seq = row->acked_seq;
    Ward__Payload pl;
    ward__payload__init(&pl);
    pl.kind_case = WARD__PAYLOAD__KIND_HEARTBEAT;
    pl.heartbeat = &out;
    reply(i, rid, rid_len, &pl);
}

static void on_sensor(struct ingest *i, zmq_msg_t *f)
{
    const uint8_t *rid = zmq_msg_data(&f[0]);
    size_t rid_len = zmq_msg_size(&f[0]);
    const char *uid = zmq_msg_gets(&f[1], "User-Id");
    if (!uid || !*uid) {
        i->st.rejected++;
        return; /* not from an authenticated connection */
    }
    size_t len = zmq_msg_size(&f[1]);
    if (len > ENVELOPE_MAX_BYTES) {
        char why[96];
        snprintf(why, sizeof(why), "message of %zu bytes is over the %u byte limit", len,
                 ENVELOPE_MAX_BYTES);
        refuse(i, uid, why);
        reply_ack(i, rid, rid_len, 0, WARD__ACK_STATUS__ACK_REJECTED, why);
        return;
    }
    struct sensor_row row;
    int rc = store_sensors_by_name(i->c->store, uid, &row);
    if (rc < 0 || row.revoked) {
        refuse(i, uid, rc == 0 ? "sensor revoked: refused, its route dropped"
                               : "sensor no longer enrolled");
        reply_ack(i, rid, rid_len, 0, WARD__ACK_STATUS__ACK_REVOKED, "sensor revoked");
        peer_drop(i, uid);
        return;
    }
    peer_set(i, row.name, rid, rid_len);
    Ward__Envelope *env = NULL;
    Ward__Payload *pl = NULL;
    const char *why = NULL;
    if (envelope_open_in(i->arena, zmq_msg_data(&f[1]), len, &env, &why) < 0) {
        refuse(i, uid, why);
        reply_ack(i, rid, rid_len, row.acked_seq, WARD__ACK_STATUS__ACK_REJECTED, why);
        goto out;
    }
    if (strcmp(env->sender, row.name) != 0) {
        refuse(i, uid, "envelope sender is not the authenticated sensor");
        reply_ack(i, rid, rid_len, row.acked_seq, WARD__ACK_STATUS__ACK_REJECTED,
                  "sender mismatch");
        goto out;
    }
    if (envelope_verify(env, row.pub.sign_pk) < 0) {
        refuse(i, uid, "bad signature (not made by the enrolled signing key)");
        reply_ack(i, rid, rid_len, row.acked_seq, WARD__ACK_STATUS__ACK_REJECTED,
                  "bad signature");
        goto out;
    }
    if (envelope_payload_in(i->arena, env, &pl, &why) < 0) {
        refuse(i, uid, why);
        reply_ack(i, rid, rid_len, row.acked_seq, WARD__ACK_STATUS__ACK_REJECTED, why);
        goto out;
    }
    switch (pl->kind_case) {
    case WARD__PAYLOAD__KIND_BATCH:
        on_batch(i, rid, rid_len, &row, env, pl->batch);
        break;
    case WARD__PAYLOAD__KIND_HEARTBEAT:
        on_heartbeat(i, rid, rid_len, &row, pl->heartbeat);
        break;
    case WARD__PAYLOAD__KIND_GAP: {
        struct peer *p = peer_find(i, row.name);
        if (p && pl->gap->through > p->gap_through)
            p->gap_through = pl->gap->through;
        break;
    }
    case WARD__PAYLOAD__KIND_ACK:
    case WARD__PAYLOAD__KIND_COMMAND:
    case WARD__PAYLOAD__KIND__NOT_SET:
    case _WARD__PAYLOAD__KIND__CASE_IS_INT_SIZE:
        refuse(i, uid, "a sensor may send only batches and heartbeats");
        reply_ack(i, rid, rid_len, row.acked_seq, WARD__ACK_STATUS__ACK_REJECTED,
                  "unexpected payload kind");
        break;
    }
out:
    envelope_arena_reset(i->arena); /* env and pl */
}

int ingest_handle(struct ingest *i)
{
    int handled = 0;
    /* A bounded slice of work, so the poll loop stays responsive under a backlog. */
    uint64_t until = clock_mono_usec() + INGEST_DRAIN_USEC;
    while (handled < INGEST_DRAIN_MAX && (handled == 0 || clock_mono_usec() < until)) {
        zmq_msg_t f[MAX_FRAMES];
        int n = recv_all(i->router, f, ZMQ_DONTWAIT);
        if (n < 0) {
            if (zmq_errno() == EAGAIN || zmq_errno() == EINTR)
                break;
            log_err("ingest: receive failed: %s", zmq_strerror(zmq_errno()));
            return -EIO;
        }
        handled++;
        if (n >= 2 && zmq_msg_size(&f[1]) == TOKEN_LEN && !zmq_msg_gets(&f[1], "User-Id") &&
            memcmp(zmq_msg_data(&f[1]), i->token, TOKEN_LEN) == 0) {
            zap_answer(i, f, n);
        } else if (n == 2) {
            on_sensor(i, f);
        } else {
            const char *uid = n >= 2 ? zmq_msg_gets(&f[1], "User-Id") : NULL;
            refuse(i, uid ? uid : "(unauthenticated)", "multipart message");
        }
        msgs_close(f, n);
    }
    /* Nothing more is waiting (or the slice is used up): make the group durable. */
    (void)!group_commit(i);
    return handled;
}

/* ---------------------------------------------------------------- commands */

int console_send_command(struct console *c, const char *sensor, Ward__Command *cmd)
{
    struct ingest *i = c->ingest;
    struct sensor_row row;
    int rc = store_sensors_by_name(c->store, sensor, &row);
    if (rc < 0 || row.revoked)
        return -ENOENT;
    if (!i)
        return -ENOTCONN;
    struct peer *p = peer_find(i, sensor);
    if (!p)
        return -ENOTCONN;
    uint64_t now = clock_now_usec();
    if (!cmd->issued_usec)
        cmd->issued_usec = now;
    if (!cmd->expires_usec)
        cmd->expires_usec = now + 600 * USEC_PER_SEC;
    Ward__Payload pl;
    ward__payload__init(&pl);
    pl.kind_case = WARD__PAYLOAD__KIND_COMMAND;
    pl.command = cmd;
    uint8_t *env;
    size_t len;
    if ((rc = envelope_seal(&pl, "console", 0, &c->id, &env, &len)) < 0)
        return rc;
    const void *d[2] = {p->rid, env};
    size_t l[2] = {p->rid_len, len};
    rc = send_frames(i->router, d, l, 2, ZMQ_DONTWAIT);
    free(env);
    if (rc == -EHOSTUNREACH) {
        peer_drop(i, sensor);
        return -ENOTCONN;
    }
    if (rc < 0) {
        log_warn("ingest: cannot send command %" PRIu64 " to '%s': %s", cmd->id, sensor,
                 strerror(-rc));
        return rc == -EAGAIN ? -ENOBUFS : rc;
    }
    i->st.commands++;
    return 0;
}

/* ---------------------------------------------------------------- open, close */

void *ingest_socket(struct ingest *i)
{
    return i->router;
}

void ingest_stats(const struct ingest *i, struct ingest_stats *out)
{
    *out = i->st;
    out->latency_p50_usec = lat_quantile(i, 0.50);
    out->latency_p99_usec = lat_quantile(i, 0.99);
}

static int sockopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof(v));
}

void ingest_close(struct ingest *i)
{
    if (!i)
        return;
    if (i->st.batches || i->st.rejected || i->st.duplicates) {
        struct ingest_stats s;
        ingest_stats(i, &s);
        log_info("ingest: %" PRIu64 " batches, %" PRIu64 " messages stored, %" PRIu64
                 " duplicates, %" PRIu64 " rejected, %" PRIu64 " retries; latency p50 %" PRIu64
                 " us p99 %" PRIu64 " us max %" PRIu64 " us",
                 s.batches, s.messages, s.duplicates, s.rejected, s.retries,
                 s.latency_p50_usec, s.latency_p99_usec, s.latency_max_usec);
    }
    if (i->ctx)
        zmq_ctx_shutdown(i->ctx);
    if (i->relay_started)
        pthread_join(i->relay, NULL);
    else if (i->zap_rep)
        zmq_close(i->zap_rep);
    if (i->router)
        zmq_close(i->router);
    if (i->ctx)
        zmq_ctx_term(i->ctx);
    if (i->group) {
        (void)!group_commit(i);
        free(i->group);
    }
    envelope_arena_free(i->arena);
    free(i->peers);
    free(i->lat);
    free(i);
}

int ingest_open(struct console *c, const char *endpoint, struct ingest **out)
{
    *out = NULL;
    if (!endpoint)
        endpoint = INGEST_DEFAULT_ENDPOINT;
    struct ingest *i = calloc(1, sizeof(*i));
    if (!i)
        return -ENOMEM;
    i->c = c;
    i->peers = calloc(INGEST_MAX_PEERS, sizeof(*i->peers));
    i->lat = calloc(LAT_BUCKETS + 1, sizeof(*i->lat));
    i->group = calloc(1, sizeof(*i->group));
    i->arena = envelope_arena_new();
    i->ctx = zmq_ctx_new();
    if (!i->peers || !i->lat || !i->group || !i->arena || !i->ctx) {
        ingest_close(i);
        return -ENOMEM;
    }
    keys_random(i->token, sizeof(i->token));
    snprintf(i->relay_ep, sizeof(i->relay_ep), "inproc://ward-ingest-%p", (void *)i);
    int rc = -EIO;
    /* The ZAP handler must exist before the first sensor can connect. */
    i->zap_rep = zmq_socket(i->ctx, ZMQ_REP);
    if (!i->zap_rep || zmq_bind(i->zap_rep, ZAP_ENDPOINT) < 0) {
        log_err("ingest: cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    i->router = zmq_socket(i->ctx, ZMQ_ROUTER);
    int64_t maxmsg = INGEST_MAX_WIRE_BYTES;
    if (!i->router || sockopt_int(i->router, ZMQ_CURVE_SERVER, 1) < 0 ||
        zmq_setsockopt(i->router, ZMQ_CURVE_SECRETKEY, c->id.curve_sk, KEYS_CURVE_LEN) < 0 ||
        zmq_setsockopt(i->router, ZMQ_ZAP_DOMAIN, "ward", 4) < 0 ||
        zmq_setsockopt(i->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
        sockopt_int(i->router, ZMQ_ROUTER_MANDATORY, 1) < 0 ||
        sockopt_int(i->router, ZMQ_SNDHWM, ROUTER_HWM) < 0 ||
        sockopt_int(i->router, ZMQ_RCVHWM, ROUTER_HWM) < 0 ||
        sockopt_int(i->router, ZMQ_LINGER, 0) < 0 ||
        sockopt_int(i->router, ZMQ_HEARTBEAT_IVL, 5000) < 0 ||
        sockopt_int(i->router, ZMQ_HEARTBEAT_TIMEOUT, 15000) < 0 ||
        zmq_bind(i->router, i->relay_ep) < 0) {
        log_err("ingest: ZeroMQ set-up failed: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (zmq_bind(i->router, endpoint) < 0) {
        rc = -zmq_errno();
        log_err("ingest: cannot bind %s: %s", endpoint, zmq_strerror(-rc));
        goto fail;
    }
    struct relay_args *ra = calloc(1, sizeof(*ra));
    if (!ra) {
        rc = -ENOMEM;
        goto fail;
    }
    ra->rep = i->zap_rep;
    ra->ctx = i->ctx;
    snprintf(ra->ep, sizeof(ra->ep), "%s", i->relay_ep);
    memcpy(ra->token, i->token, TOKEN_LEN);
    if (pthread_create(&i->relay, NULL, relay_main, ra) != 0) {
        free(ra);
        log_err("ingest: cannot start the ZAP relay thread");
        rc = -EAGAIN;
        goto fail;
    }
    i->relay_started = true;
    log_info("ingest: listening on %s", endpoint);
    *out = i;
    return 0;
fail:
    ingest_close(i);
    return rc;
}
