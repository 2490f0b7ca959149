/*
 * ward-loadgen -- a fake sensor for transport tests and the console benchmark.
 *
 * In the normal mode it produces N synthetic port-scan events at a chosen rate
 * and hands them to the real uplink (sensor/uplink.c: numbering, batching,
 * signing, spool, CURVE), exactly as ward-sensor does.  Event i (0-based) has the
 * uid "<name>-<i>"; a restarted loadgen resumes at the sequence number its spool
 * remembers, so a killed and restarted loadgen neither skips nor repeats events.
 *
 * With --hostile MODE it instead opens its own CURVE connection and sends one
 * bad frame, then prints the console's answer:
 *   wrong-sign   a valid batch signed with another identity (--sign-keys DIR)
 *   replay       a batch at --seq (default 1) the console has already stored
 *   truncated    a valid envelope cut in half
 *   oversized    a 100 MB message
 *   connect      just connect (for unenrolled or revoked keys)
 * Exit status: 0 when everything was acknowledged (normal mode) or an answer
 * came (hostile mode), 3 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "keys.h"
#include "log.h"
#include "uplink.h"

struct lg_opts {
    struct uplink_opts up;   /* uplink settings */
    uint64_t count;          /* events in total (across restarts) */
    uint64_t rate;           /* events per second, 0 for as fast as possible */
    const char *hostile;     /* hostile mode, NULL for normal */
    const char *sign_keys;   /* wrong-sign: the identity that signs */
    uint64_t seq;            /* replay / wrong-sign: first_seq */
    uint32_t msgs;           /* hostile batch size */
    uint64_t linger_ms;      /* keep serving this long after everything is acknowledged */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: ward-loadgen --name NAME --keys DIR --console-key PUB --endpoint EP\n"
            "                    [--spool DIR] [--count N] [--rate R] [--batch N]\n"
            "                    [--batch-ms MS] [--fsync always|batch|never] [--spool-max BYTES]\n"
            "                    [--close-ms MS] [--ack-timeout-ms MS] [--heartbeat SEC] [--linger-ms MS]\n"
            "                    [--hostile MODE [--sign-keys DIR] [--seq N] [--msgs N]]\n");
}

static void make_event(const char *name, uint64_t i, Ward__Event *ev, Ward__Message *m,
                       char *uid, size_t uidcap, char *src, char *summary, uint32_t *ports)
{
    ward__event__init(ev);
    ward__message__init(m);
    snprintf(uid, uidcap, "%s-%" PRIu64, name, i);
    snprintf(src, 32, "10.%u.%u.%u", (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255,
             (unsigned)i & 255);
    snprintf(summary, 128, "synthetic port scan %" PRIu64 " from %s", i, src);
    for (unsigned k = 0; k < 4; k++)
        ports[k] = 20 + k + (unsigned)(i % 1000);
    uint64_t t = 1700000000000000ull + i * 1000;
    ev->uid = uid;
    ev->revision = 1;
    ev->kind = WARD__EVENT_KIND__PORTSCAN;
    ev->subtype = (char *)(uintptr_t) "vertical";
    ev->src = src;
    ev->dst = (char *)(uintptr_t) "10.9.9.9";
    ev->proto = 6;
    ev->ports = ports;
    ev->n_ports = 4;
    ev->first_usec = t;
    ev->last_usec = t + 500000;
    ev->packets = 100 + i % 50;
    ev->bytes = 6000 + i % 999;
    ev->count = 25;
    ev->severity = 40;
    ev->confidence = 80;
    ev->summary = summary;
    m->kind_case = WARD__MESSAGE__KIND_EVENT;
    m->event = ev;
    m->created_usec = clock_now_usec();
}

static void sleep_usec(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Commands from the console are printed, so tests can see them arrive. */
static void on_command(void *arg, const Ward__Command *cmd)
{
    (void)arg;
    const char *host = "";
    if (cmd->kind_case == WARD__COMMAND__KIND_ISOLATE && cmd->isolate)
        host = cmd->isolate->host;
    else if (cmd->kind_case == WARD__COMMAND__KIND_RELEASE && cmd->release)
        host = cmd->release->host;
    else if (cmd->kind_case == WARD__COMMAND__KIND_CAPTURE && cmd->capture)
        host = cmd->capture->host;
    fprintf(stderr, "loadgen: command %" PRIu64 " kind %d host %s\n", cmd->id, (int)cmd->kind_case,
            host ? host : "");
}

static int run_normal(const struct lg_opts *o)
{
    struct uplink *u;
    if (uplink_open(&o->up, &u) < 0)
        return 2;
    uplink_on_command(u, on_command, NULL);
    struct uplink_stats s;
    uplink_stats(u, &s);
    uint64_t start = s.next_seq - 1;
    if (start)
        fprintf(stderr, "loadgen: resuming at event %" PRIu64 "\n", start);
    uint64_t t0 = clock_mono_usec();
    for (uint64_t i = start; i < o->count && !stop; i++) {
        Ward__Event ev;
        Ward__Message m;
        char uid[96], src[32], summary[128];
        uint32_t ports[4];
        make_event(o->up.name, i, &ev, &m, uid, sizeof(uid), src, summary, ports);
        if (sink_send(uplink_sink(u), &m) < 0)
            fprintf(stderr, "loadgen: event %" PRIu64 " refused by the uplink\n", i);
        if ((i & 63) == 0)
            uplink_service(u);
        if (o->rate) {
            uint64_t due = t0 + (i - start + 1) * USEC_PER_SEC / o->rate;
            uint64_t now = clock_mono_usec();
            while (now < due && !stop) {
                uplink_service(u);
                sleep_usec(WARD_MIN(due - now, 1000));
                now = clock_mono_usec();
            }
        }
    }
    (void)uplink_flush(u);
    uint64_t t1 = clock_mono_usec();
    fprintf(stderr, "loadgen: produced all %" PRIu64 " events\n", o->count);
    /* Wait (bounded) until the console has acknowledged everything. */
    uint64_t deadline = t1 + o->up.close_ms * USEC_PER_MSEC;
    for (;;) {
        uplink_service(u);
        uplink_stats(u, &s);
        if (s.acked_seq + 1 >= s.next_seq || clock_mono_usec() >= deadline || stop)
            break;
        sleep_usec(2000);
    }
    uint64_t t2 = clock_mono_usec();
    /* Linger: heartbeats and late reports (SpoolDrop) still go out. */
    for (uint64_t end = t2 + o->linger_ms * USEC_PER_MSEC; clock_mono_usec() < end && !stop;) {
        uplink_service(u);
        sleep_usec(2000);
    }
    uplink_stats(u, &s);
    printf("loadgen: %s: events %" PRIu64 "..%" PRIu64 " in %.3f s, all acked after %.3f s; "
           "next_seq=%" PRIu64 " acked_seq=%" PRIu64 " sent=%" PRIu64 " resent=%" PRIu64
           " spool_dropped=%" PRIu64 " rejected=%" PRIu64 " revoked=%s\n",
           o->up.name, start, o->count, (double)(t1 - t0) / 1e6, (double)(t2 - t0) / 1e6,
           s.next_seq, s.acked_seq, s.sent_batches, s.resent_batches, s.spool_dropped,
           s.rejected, s.revoked ? "yes" : "no");
    fflush(stdout);
    bool all = s.acked_seq + 1 >= s.next_seq;
    uplink_close(u);
    return all ? 0 : 3;
}

/* A batch of n synthetic events starting at seq (events seq-1 ..). */
static int seal_batch(const struct lg_opts *o, const struct keys_identity *signer, uint64_t seq,
                      uint32_t n, uint8_t **env, size_t *len)
{
    Ward__Event *evs = calloc(n, sizeof(*evs));
    Ward__Message *ms = calloc(n, sizeof(*ms));
    Ward__Message **mp = calloc(n, sizeof(*mp));
    char(*uids)[96] = calloc(n, sizeof(*uids));
    char(*srcs)[32] = calloc(n, sizeof(*srcs));
    char(*sums)[128] = calloc(n, sizeof(*sums));
    uint32_t(*ports)[4] = calloc(n, sizeof(*ports));
    int rc = -ENOMEM;
    if (evs && ms && mp && uids && srcs && sums && ports) {
        for (uint32_t k = 0; k < n; k++) {
            make_event(o->up.name, seq - 1 + k, &evs[k], &ms[k], uids[k], sizeof(uids[k]),
                       srcs[k], sums[k], ports[k]);
            mp[k] = &ms[k];
        }
        Ward__Batch b;
        ward__batch__init(&b);
        b.created_usec = clock_now_usec();
        b.messages = mp;
        b.n_messages = n;
        Ward__Payload pl;
        ward__payload__init(&pl);
        pl.kind_case = WARD__PAYLOAD__KIND_BATCH;
        pl.batch = &b;
        rc = envelope_seal(&pl, o->up.name, seq, signer, env, len);
    }
    free(evs);
    free(ms);
    free(mp);
    free(uids);
    free(srcs);
    free(sums);
    free(ports);
    return rc;
}

static const char *status_name(Ward__AckStatus s)
{
    switch (s) {
    case WARD__ACK_STATUS__ACK_OK:
        return "OK";
    case WARD__ACK_STATUS__ACK_RETRY:
        return "RETRY";
    case WARD__ACK_STATUS__ACK_REJECTED:
        return "REJECTED";
    case WARD__ACK_STATUS__ACK_REVOKED:
        return "REVOKED";
    case WARD__ACK_STATUS__ACK_STATUS_UNSPECIFIED:
    case _WARD__ACK_STATUS_IS_INT_SIZE:
        break;
    }
    return "?";
}

static int run_hostile(const struct lg_opts *o)
{
    struct keys_identity id, signer;
    struct keys_public console;
    if (keys_load(o->up.keys_dir, &id) < 0 || keys_load_public(o->up.console_pub, &console) < 0)
        return 2;
    signer = id;
    if (o->sign_keys && keys_load(o->sign_keys, &signer) < 0)
        return 2;
    uint8_t *env = NULL;
    size_t len = 0;
    const char *mode = o->hostile;
    if (strcmp(mode, "oversized") == 0) {
        len = 100u << 20;
        env = calloc(1, len);
        if (!env)
            return 2;
        memset(env, 0x5a, len);
    } else if (strcmp(mode, "connect") != 0) {
        if (seal_batch(o, &signer, o->seq ? o->seq : 1, o->msgs ? o->msgs : 10, &env, &len) < 0)
            return 2;
        if (strcmp(mode, "truncated") == 0)
            len /= 2;
        else if (strcmp(mode, "wrong-sign") != 0 && strcmp(mode, "replay") != 0) {
            usage();
            return 2;
        }
    }
    void *ctx = zmq_ctx_new();
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, tmo = 4000;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    zmq_setsockopt(d, ZMQ_SNDTIMEO, &tmo, sizeof(tmo));
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, console.curve_pk, KEYS_CURVE_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, id.pub.curve_pk, KEYS_CURVE_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, id.curve_sk, KEYS_CURVE_LEN);
    int ret = 3;
    if (zmq_connect(d, o->up.endpoint) < 0) {
        fprintf(stderr, "loadgen: connect: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    if (env) {
        if (zmq_send(d, env, len, 0) < 0) {
            printf("loadgen: %s: not sent: %s\n", mode, zmq_strerror(zmq_errno()));
            goto out;
        }
    } else {
        /* connect: a heartbeat, so an accepted connection gets an answer */
        Ward__Heartbeat hb;
        ward__heartbeat__init(&hb);
        Ward__Payload pl;
        ward__payload__init(&pl);
        pl.kind_case = WARD__PAYLOAD__KIND_HEARTBEAT;
        pl.heartbeat = &hb;
        if (envelope_seal(&pl, o->up.name, 0, &id, &env, &len) < 0 ||
            zmq_send(d, env, len, 0) < 0)
            goto out;
    }
    uint8_t buf[65536];
    int n = zmq_recv(d, buf, sizeof(buf), 0);
    if (n < 0) {
        printf("loadgen: %s: no answer from the console\n", mode);
        goto out;
    }
    Ward__Envelope *e = NULL;
    Ward__Payload *p = NULL;
    const char *why;
    if (envelope_open(buf, (size_t)WARD_MIN((size_t)n, sizeof(buf)), &e, &why) == 0 &&
        envelope_verify(e, console.sign_pk) == 0 && envelope_payload(e, &p, &why) == 0) {
        if (p->kind_case == WARD__PAYLOAD__KIND_ACK)
            printf("loadgen: %s: answer %s acked_seq=%" PRIu64 " reason=%s\n", mode,
                   status_name(p->ack->status), p->ack->acked_seq, p->ack->reason);
        else
            printf("loadgen: %s: answer kind %d\n", mode, (int)p->kind_case);
        ret = 0;
    }
    envelope_payload_free(p);
    envelope_free(e);
out:
    free(env);
    zmq_close(d);
    zmq_ctx_term(ctx);
    keys_wipe(&id);
    keys_wipe(&signer);
    return ret;
}

int main(int argc, char **argv)
{
    struct lg_opts o;
    memset(&o, 0, sizeof(o));
    uplink_opts_default(&o.up);
    o.count = 1000;
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"keys", required_argument, NULL, 'k'},
        {"console-key", required_argument, NULL, 'K'},
        {"endpoint", required_argument, NULL, 'e'},
        {"spool", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"batch", required_argument, NULL, 'b'},
        {"batch-ms", required_argument, NULL, 'B'},
        {"fsync", required_argument, NULL, 'f'},
        {"spool-max", required_argument, NULL, 'm'},
        {"close-ms", required_argument, NULL, 'C'},
        {"ack-timeout-ms", required_argument, NULL, 'a'},
        {"heartbeat", required_argument, NULL, 'h'},
        {"hostile", required_argument, NULL, 'H'},
        {"sign-keys", required_argument, NULL, 'S'},
        {"seq", required_argument, NULL, 'q'},
        {"msgs", required_argument, NULL, 'M'},
        {"linger-ms", required_argument, NULL, 'L'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    bool verbose = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n': o.up.name = optarg; break;
        case 'k': o.up.keys_dir = optarg; break;
        case 'K': o.up.console_pub = optarg; break;
        case 'e': o.up.endpoint = optarg; break;
        case 's': o.up.spool_dir = optarg; break;
        case 'c': o.count = strtoull(optarg, NULL, 10); break;
        case 'r': o.rate = strtoull(optarg, NULL, 10); break;
        case 'b': o.up.batch_messages = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'B': o.up.batch_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'f':
            if (spool_fsync_parse(optarg, &o.up.fsync) < 0) {
                usage();
                return 2;
            }
            break;
        case 'm': o.up.spool_max_bytes = strtoull(optarg, NULL, 10); break;
        case 'C': o.up.close_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'a': o.up.ack_timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'h': o.up.heartbeat_sec = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'H': o.hostile = optarg; break;
        case 'S': o.sign_keys = optarg; break;
        case 'q': o.seq = strtoull(optarg, NULL, 10); break;
        case 'M': o.msgs = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'L': o.linger_ms = strtoull(optarg, NULL, 10); break;
        case 'v': verbose = true; break;
        default: usage(); return 2;
        }
    }
    if (!o.up.name || !o.up.keys_dir || !o.up.console_pub || !o.up.endpoint ||
        (!o.hostile && !o.up.spool_dir)) {
        usage();
        return 2;
    }
    log_open("ward-loadgen", false, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    if (keys_init() < 0)
        return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (o.hostile)
        return run_hostile(&o);
    int rc = run_normal(&o);
    return rc;
}
