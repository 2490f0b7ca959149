/*
 * detect_bruteforce -- password guessing against authentication services.
 *
 * Three signs, each counted per (client, server, service) in a sliding window:
 *
 *  - sessions: repeated short TCP sessions to a login port (SSH, FTP, Telnet, RDP,
 *    VNC, database and WinRM ports by default), each ended by the flow table, with
 *    small client byte counts; the spread of those counts (coefficient of
 *    variation) is reported, since one tool trying passwords sends nearly the same
 *    bytes each time.
 *  - SMB: SESSION_SETUP answers with STATUS_LOGON_FAILURE and its relatives.
 *  - Kerberos: KRB-ERROR answers PREAUTH_FAILED, C_PRINCIPAL_UNKNOWN and
 *    CLIENT_REVOKED from a KDC (password spraying), read from the DER header.
 *  - HTTP: `http_min` POSTs to a login page (login, logon, signin, auth...
 *    in the path) from one client to one server.
 *
 * After an alert, a long session between the same pair (longer than
 * `long_session`, or carrying `long_bytes` from the server) is reported as a
 * probable success.  State: one fixed-size keymap of pairs with LRU eviction.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "decode_smb.h"
#include "detect.h"
#include "event.h"
#include "keymap.h"

#define BF_SECTION "detect.bruteforce"
#define BF_RING 64     /* attempt times kept per pair (upper bound of thresholds) */
#define BF_MAX_PORTS 32
#define BF_DEFAULT_PORTS "21,22,23,110,143,993,995,1433,1521,3306,3389,5432,5900,5985,5986"

enum bf_kind { BF_SESSIONS = 0, BF_SMB, BF_KERBEROS, BF_HTTP };

struct bf_key {
    struct addr client; /* who guesses */
    struct addr server; /* whose service */
    uint16_t port;      /* service port */
    uint8_t kind;       /* enum bf_kind */
    uint8_t pad;        /* zero */
};

struct bf_pair {
    uint64_t ring[BF_RING];   /* times of recent attempts (failures for SMB/Kerberos) */
    uint32_t head;            /* next ring slot */
    uint64_t attempts;        /* attempts in total */
    uint64_t first_usec;      /* first attempt */
    uint64_t last_usec;       /* latest attempt */
    double sum_bytes;         /* client bytes per attempt: sum */
    double sum_sq;            /* and sum of squares */
    uint64_t requests;        /* Kerberos AS-REQs seen from the client */
    uint64_t long_after;      /* long sessions seen after the alert */
    uint8_t proto;            /* 6 or 17 */
    bool alerted;             /* reported at least once */
    bool dirty;               /* changed since the last report */
};

struct bruteforce {
    struct keymap *pairs;              /* bf_key -> bf_pair */
    uint16_t ports[BF_MAX_PORTS];      /* login ports counted by sessions */
    size_t n_ports;                    /* entries in ports */
    uint64_t min_attempts;             /* short sessions in the window */
    uint64_t min_failures;             /* SMB/Kerberos failures in the window */
    uint64_t window_usec;              /* sliding window */
    uint64_t short_usec;               /* a session this short is an attempt */
    uint64_t max_attempt_bytes;        /* client bytes of one attempt, at most */
    uint64_t long_usec;                /* a session this long is a probable success */
    uint64_t long_bytes;               /* or one carrying this much from the server */
    double max_cv;                     /* largest spread of attempt sizes */
    uint64_t http_min;                 /* HTTP login requests in the window */
    bool any_dirty;                    /* some alerted pair changed since the last tick */
};

static const char *const service_names[][2] = {
    {"21", "ftp"},      {"22", "ssh"},     {"23", "telnet"}, {"445", "smb"},
    {"88", "kerberos"}, {"1433", "mssql"}, {"1521", "oracle"}, {"3306", "mysql"},
    {"3389", "rdp"},    {"5432", "postgresql"}, {"5900", "vnc"}, {"5985", "winrm"},
    {"5986", "winrm"},  {"110", "pop3"},   {"143", "imap"},  {"80", "http"},
    {"443", "https"},   {"8080", "http"},
};

static const char *service_name(uint16_t port)
{
    char buf[8];
    snprintf(buf, sizeof(buf), "%u", port);
    for (size_t i = 0; i < WARD_ARRAY_LEN(service_names); i++) {
        if (strcmp(service_names[i][0], buf) == 0)
            return service_names[i][1];
    }
    return "service";
}

static int bf_init(struct config *cfg, void **state)
{
    struct bruteforce *bf = calloc(1, sizeof(*bf));
    uint64_t pairs_max;
    int rc;
    *state = bf;
    if (!bf)
        return -ENOMEM;
    if ((rc = config_get_ports(cfg, BF_SECTION, "ports", BF_DEFAULT_PORTS, bf->ports,
                               BF_MAX_PORTS, &bf->n_ports)) < 0 ||
        (rc = config_get_u64(cfg, BF_SECTION, "min_attempts", 10, &bf->min_attempts)) < 0 ||
        (rc = config_get_u64(cfg, BF_SECTION, "min_failures", 5, &bf->min_failures)) < 0 ||
        (rc = config_get_duration(cfg, BF_SECTION, "window", 5 * 60 * USEC_PER_SEC,
                                  &bf->window_usec)) < 0 ||
        (rc = config_get_duration(cfg, BF_SECTION, "short_session", 30 * USEC_PER_SEC,
                                  &bf->short_usec)) < 0 ||
        (rc = config_get_size(cfg, BF_SECTION, "max_attempt_bytes", 32768,
                              &bf->max_attempt_bytes)) < 0 ||
        (rc = config_get_duration(cfg, BF_SECTION, "long_session", 60 * USEC_PER_SEC,
                                  &bf->long_usec)) < 0 ||
        (rc = config_get_size(cfg, BF_SECTION, "long_bytes", 100000, &bf->long_bytes)) < 0 ||
        (rc = config_get_double(cfg, BF_SECTION, "max_size_cv", 1.0, &bf->max_cv)) < 0 ||
        (rc = config_get_u64(cfg, BF_SECTION, "http_min", 20, &bf->http_min)) < 0 ||
        (rc = config_get_u64(cfg, BF_SECTION, "pairs_max", 16384, &pairs_max)) < 0)
        return rc;
    if (bf->min_attempts < 2 || bf->min_attempts > BF_RING)
        return config_fail(cfg, BF_SECTION, "min_attempts", "must be between 2 and %d", BF_RING);
    if (bf->http_min < 2 || bf->http_min > BF_RING)
        return config_fail(cfg, BF_SECTION, "http_min", "must be between 2 and %d", BF_RING);
    if (bf->min_failures < 1 || bf->min_failures > BF_RING)
        return config_fail(cfg, BF_SECTION, "min_failures", "must be between 1 and %d", BF_RING);
    if (pairs_max < 1 || pairs_max > (1u << 24))
        return config_fail(cfg, BF_SECTION, "pairs_max", "must be between 1 and 16777216");
    bf->pairs = keymap_new_sparse(pairs_max, sizeof(struct bf_key), sizeof(struct bf_pair));
    return bf->pairs ? 0 : -ENOMEM;
}

static void bf_fini(void *state)
{
    struct bruteforce *bf = state;
    if (!bf)
        return;
    keymap_free(bf->pairs);
    free(bf);
}

static size_t bf_memory(const void *state)
{
    const struct bruteforce *bf = state;
    return sizeof(*bf) + keymap_memory(bf->pairs);
}

static bool is_login_port(const struct bruteforce *bf, uint16_t port)
{
    for (size_t i = 0; i < bf->n_ports; i++) {
        if (bf->ports[i] == port)
            return true;
    }
    return false;
}

static struct bf_pair *pair_get(struct bruteforce *bf, struct detect_ctx *ctx,
                                const struct addr *client, const struct addr *server,
                                uint16_t port, enum bf_kind kind, struct bf_key *k)
{
    bool created;
    memset(k, 0, sizeof(*k));
    k->client = *client;
    k->server = *server;
    k->port = port;
    k->kind = (uint8_t)kind;
    struct bf_pair *bp = keymap_get(bf->pairs, k, ctx->now_usec, true, &created);
    (void)created;
    return bp;
}

/* Attempts (ring entries) no older than the window. */
static unsigned in_window(const struct bruteforce *bf, const struct bf_pair *bp, uint64_t now,
                          uint64_t *oldest)
{
    unsigned n = 0;
    *oldest = now;
    for (unsigned i = 0; i < BF_RING; i++) {
        uint64_t t = bp->ring[i];
        if (t && t + bf->window_usec >= now) {
            n++;
            if (t < *oldest)
                *oldest = t;
        }
    }
    return n;
}

static void report(struct bruteforce *bf, struct detect_ctx *ctx, const struct bf_key *k,
                   struct bf_pair *bp, unsigned recent, uint64_t oldest)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    static const char *const subtypes[] = {"sessions", "smb", "kerberos", "http"};
    const char *svc = k->kind == BF_KERBEROS ? "kerberos" : service_name(k->port);
    double n = (double)bp->attempts;
    double mean = n > 0 ? bp->sum_bytes / n : 0;
    double var = n > 1 ? (bp->sum_sq - n * mean * mean) / (n - 1) : 0;
    double cv = mean > 0 && var > 0 ? sqrt(var) / mean : 0;

    event_report_init(&r, WARD__EVENT_KIND__BRUTEFORCE, subtypes[k->kind],
                      EVENT_KEY_SRC | EVENT_KEY_DST);
    r.src = k->client;
    r.dst = k->server;
    r.proto = bp->proto;
    event_report_port(&r, k->port);
    event_report_target(&r, &k->server);
    r.first_usec = bp->first_usec;
    r.last_usec = bp->last_usec;
    r.count = bp->attempts;
    addr_format(&k->client, src, sizeof(src));
    addr_format(&k->server, dst, sizeof(dst));
    double secs = (double)(bp->last_usec - oldest) / 1e6;
    const char *what = k->kind == BF_SESSIONS ? "short sessions"
                       : k->kind == BF_HTTP   ? "login requests"
                                              : "failed logons";
    event_report_summary(&r, "%s made %u %s to %s %s/%u in %.0f s (%llu in all)%s", src, recent,
                         what, svc, dst, k->port, secs, (unsigned long long)bp->attempts,
                         bp->long_after ? "; a long session followed (probable success)" : "");
    event_report_figure(&r, "attempts_in_window", recent);
    event_report_figure(&r, "attempts", (double)bp->attempts);
    event_report_figure(&r, "window_seconds", (double)bf->window_usec / 1e6);
    if (k->kind == BF_SESSIONS) {
        event_report_figure(&r, "mean_client_bytes", mean);
        event_report_figure(&r, "client_bytes_cv", cv);
    }
    if (k->kind == BF_KERBEROS)
        event_report_figure(&r, "as_requests", (double)bp->requests);
    event_report_figure(&r, "probable_success", bp->long_after ? 1 : 0);
    r.severity = bp->long_after ? 80 : 55;
    r.confidence = k->kind == BF_SESSIONS ? (cv < 0.3 ? 85 : 70) : 90;
    detect_report(ctx, &r);
    bp->alerted = true;
    bp->dirty = false;
}

/* Records one attempt (or failure) and checks the threshold. */
static void count(struct bruteforce *bf, struct detect_ctx *ctx, const struct bf_key *k,
                  struct bf_pair *bp, double client_bytes, uint64_t when)
{
    bp->ring[bp->head] = when;
    bp->head = (bp->head + 1) % BF_RING;
    bp->attempts++;
    if (when > bp->last_usec)
        bp->last_usec = when;
    if (!bp->first_usec || when < bp->first_usec)
        bp->first_usec = when;
    bp->sum_bytes += client_bytes;
    bp->sum_sq += client_bytes * client_bytes;
    uint64_t oldest;
    unsigned recent = in_window(bf, bp, when, &oldest);
    uint64_t need_raw = k->kind == BF_SESSIONS ? bf->min_attempts
                        : k->kind == BF_HTTP   ? bf->http_min
                                               : bf->min_failures;
    double need = detect_scaled(ctx, (double)need_raw);
    if (need < 2 && k->kind == BF_SESSIONS)
        need = 2;
    if (bp->alerted) {
        bp->dirty = true;
        bf->any_dirty = true;
        return;
    }
    if ((double)recent < need)
        return;
    if (k->kind == BF_SESSIONS && bp->attempts > 1) {
        double n = (double)bp->attempts;
        double mean = bp->sum_bytes / n;
        double var = (bp->sum_sq - n * mean * mean) / (n - 1);
        if (mean > 0 && var > 0 && sqrt(var) / mean > bf->max_cv)
            return;
    }
    report(bf, ctx, k, bp, recent, oldest);
}

/*
 * KRB-ERROR ([APPLICATION 30]) error-code, RFC 4120 5.9.1.  Returns -1 if the
 * bytes are not a KRB-ERROR.
 */
static bool der_len(struct rd *r, size_t *len)
{
    uint8_t b;
    if (!rd_u8(r, &b))
        return false;
    if (b < 0x80) {
        *len = b;
        return true;
    }
    unsigned n = b & 0x7f;
    if (n == 0 || n > 3)
        return false;
    size_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!rd_u8(r, &b))
            return false;
        v = v << 8 | b;
    }
    *len = v;
    return true;
}

static int krb_error_code(struct rd r)
{
    uint8_t tag;
    size_t len;
    struct rd seq;
    if (!rd_u8(&r, &tag) || tag != 0x7e || !der_len(&r, &len))
        return -1;
    if (!rd_u8(&r, &tag) || tag != 0x30 || !der_len(&r, &len))
        return -1;
    if (!rd_sub(&r, WARD_MIN(len, rd_left(&r)), &seq))
        return -1;
    for (unsigned i = 0; i < 16; i++) {
        struct rd item;
        if (!rd_u8(&seq, &tag) || !der_len(&seq, &len) || !rd_sub(&seq, len, &item))
            return -1;
        if (tag == 0xa6) { /* [6] error-code Int32 */
            uint8_t itag, b;
            size_t ilen;
            int v = 0;
            if (!rd_u8(&item, &itag) || itag != 0x02 || !der_len(&item, &ilen) || ilen > 4)
                return -1;
            for (size_t j = 0; j < ilen; j++) {
                if (!rd_u8(&item, &b))
                    return -1;
                v = v << 8 | b;
            }
            return v;
        }
        if (tag > 0xa6)
            return -1;
    }
    return -1;
}

static WARD_NOINLINE void on_kerberos(struct bruteforce *bf, struct detect_ctx *ctx,
                                      const struct pkt *p)
{
    struct rd r = p->payload;
    uint8_t first;
    bool tcp = (p->layers & PKT_TCP) != 0;
    if (tcp && !rd_skip(&r, 4)) /* record mark */
        return;
    if (!rd_peek_u8(&r, 0, &first))
        return;
    struct bf_key k;
    if (p->dport == 88 && first == 0x6a) { /* AS-REQ */
        struct bf_pair *bp = pair_get(bf, ctx, &p->src, &p->dst, 88, BF_KERBEROS, &k);
        bp->requests++;
        bp->proto = p->proto;
        return;
    }
    if (p->sport != 88 || first != 0x7e)
        return;
    int code = krb_error_code(r);
    /* 6 C_PRINCIPAL_UNKNOWN, 18 CLIENT_REVOKED, 24 PREAUTH_FAILED */
    if (code != 6 && code != 18 && code != 24)
        return;
    struct bf_pair *bp = pair_get(bf, ctx, &p->dst, &p->src, 88, BF_KERBEROS, &k);
    bp->proto = p->proto;
    count(bf, ctx, &k, bp, 0, ctx->now_usec);
}

static WARD_NOINLINE void on_smb(struct bruteforce *bf, struct detect_ctx *ctx, const struct pkt *p)
{
    struct pkt_smb smb;
    struct dcerpc_info rpc;
    if (p->sport != 445 && p->sport != 139)
        return;
    if (!decode_smb(p->payload, &smb, &rpc) || !smb.is_response)
        return;
    bool setup = (smb.version == 2 && smb.command == SMB2_SESSION_SETUP) ||
                 (smb.version == 1 && smb.command == SMB1_SESSION_SETUP_ANDX);
    if (!setup || !decode_smb_is_auth_failure(smb.status))
        return;
    struct bf_key k;
    struct bf_pair *bp = pair_get(bf, ctx, &p->dst, &p->src, p->sport, BF_SMB, &k);
    bp->proto = 6;
    count(bf, ctx, &k, bp, 0, ctx->now_usec);
}

/* A request line that names a login page ("POST /wp-login.php"). */
static bool login_uri(const char *uri)
{
    static const char *const words[] = {"login", "logon", "signin", "sign-in", "auth",
                                        "session", "password", "j_security_check"};
    char low[PKT_NAME_MAX];
    size_t n = 0;
    for (; uri[n] && n + 1 < sizeof(low); n++)
        low[n] = (char)((uri[n] >= 'A' && uri[n] <= 'Z') ? uri[n] + 32 : uri[n]);
    low[n] = '\0';
    char *q = strchr(low, '?');
    if (q)
        *q = '\0';
    for (size_t i = 0; i < WARD_ARRAY_LEN(words); i++) {
        if (strstr(low, words[i]))
            return true;
    }
    return false;
}

static WARD_NOINLINE void on_http(struct bruteforce *bf, struct detect_ctx *ctx,
                                  const struct pkt *p)
{
    if (strcmp(p->http.method, "POST") != 0 || !login_uri(p->http.uri))
        return;
    struct bf_key k;
    struct bf_pair *bp = pair_get(bf, ctx, &p->src, &p->dst, p->dport, BF_HTTP, &k);
    bp->proto = 6;
    count(bf, ctx, &k, bp, (double)p->payload_len, ctx->now_usec);
}

static void bf_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct bruteforce *bf = state;
    (void)f;
    (void)dir;
    if (!p->payload_len || !(p->layers & (PKT_TCP | PKT_UDP)))
        return;
    if (p->layers & PKT_HTTP) {
        on_http(bf, ctx, p);
        return;
    }
    if (p->sport == 88 || p->dport == 88)
        on_kerberos(bf, ctx, p);
    else if ((p->layers & PKT_TCP) && (p->sport == 445 || p->sport == 139))
        on_smb(bf, ctx, p);
}

/* Logins travel as payload. */
static uint64_t bf_wants(const void *state)
{
    (void)state;
    return DETECT_WANT_PAYLOAD;
}

static void bf_flow_end(void *state, struct detect_ctx *ctx, const struct flow *f)
{
    struct bruteforce *bf = state;
    if (f->key.proto != 6 || !is_login_port(bf, f->key.port_b))
        return;
    /* A login needs an answer: a handshake, or data both ways mid-stream. */
    bool talked = f->pkts[FLOW_RESP] > 0 && ((f->flags[FLOW_RESP] & TCP_SYN) ||
                                              (f->midstream && f->payload[FLOW_RESP] > 0));
    if (!talked)
        return;
    uint64_t dur = f->last_usec > f->first_usec ? f->last_usec - f->first_usec : 0;
    struct bf_key k;
    bool is_long = dur >= bf->long_usec || f->payload[FLOW_RESP] >= bf->long_bytes;
    if (is_long) {
        memset(&k, 0, sizeof(k));
        k.client = f->key.a;
        k.server = f->key.b;
        k.port = f->key.port_b;
        k.kind = BF_SESSIONS;
        struct bf_pair *bp = keymap_peek(bf->pairs, &k);
        if (bp && bp->alerted && !bp->long_after) {
            bp->long_after++;
            bp->dirty = true;
            bf->any_dirty = true;
        }
        return;
    }
    if (dur > bf->short_usec || f->payload[FLOW_ORIG] > bf->max_attempt_bytes)
        return;
    struct bf_pair *bp = pair_get(bf, ctx, &f->key.a, &f->key.b, f->key.port_b, BF_SESSIONS, &k);
    bp->proto = 6;
    count(bf, ctx, &k, bp, (double)f->payload[FLOW_ORIG], f->last_usec);
}

static void bf_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct bruteforce *bf = state;
    (void)now_usec;
    /* Revisions of alerted pairs: few, so a full scan only when something is dirty. */
    if (!bf->any_dirty)
        return;
    bf->any_dirty = false;
    for (size_t i = 0; i < keymap_slots(bf->pairs); i++) {
        const void *key;
        struct bf_pair *bp = keymap_at(bf->pairs, i, &key, NULL);
        if (!bp || !bp->dirty)
            continue;
        uint64_t oldest;
        unsigned recent = in_window(bf, bp, ctx->now_usec, &oldest);
        report(bf, ctx, key, bp, recent, oldest);
    }
}

const struct detector detect_bruteforce = {
    .name = "bruteforce",
    .init = bf_init,
    .fini = bf_fini,
    .on_packet = bf_packet,
    .wants = bf_wants,
    .on_flow_end = bf_flow_end,
    .on_tick = bf_tick,
    .memory = bf_memory,
};
