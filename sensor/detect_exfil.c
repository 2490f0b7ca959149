/*
 * detect_exfil -- an inside host sending far more to the outside than it usually
 * does, and covert ICMP channels.
 *
 * Volume: bytes are attributed by who sent them, not by who opened the
 * connection (an active-mode FTP data connection is opened by the server), so an
 * upload is payload travelling from a home_net address to an outside one.  Each
 * inside host has a bucket of `bucket` length (10 minutes) of bytes out and in;
 * when a bucket ends, its total feeds an exponentially weighted baseline.  The
 * host is reported when this bucket's bytes out reach both `min_bytes` (the
 * absolute floor) and `baseline_factor` times its baseline, and exceed
 * `min_ratio` times its bytes in (uploads, not conversations such as video
 * calls).  Flows are read as they grow: every `step` bytes of payload in one
 * direction, and at their end.  Destinations in `ignore_destinations` (a backup
 * service) do not count; allowlisted sources never report.
 *
 * ICMP tunnel: echo requests from one host to another that carry data rather
 * than a ping pattern: at least `icmp_min_requests` requests, `icmp_min_sizes`
 * distinct payload sizes (ping uses one) and `icmp_min_bytes` of payload.  Both
 * ends may be inside (the tunnel server is often a compromised internal host).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect.h"
#include "distinct.h"
#include "event.h"
#include "keymap.h"

#define EX_SECTION "detect.exfil"
#define EX_MARK_ORIG 2 /* flow->det[] slots: payload already counted per direction */
#define EX_MARK_RESP 3

struct ex_host {
    uint64_t bucket_start;   /* start of the current bucket */
    uint64_t out;            /* payload bytes to the outside in this bucket */
    uint64_t in;             /* payload bytes from the outside in this bucket */
    double baseline;         /* weighted mean of past buckets' bytes out */
    uint32_t buckets;        /* buckets that fed the baseline */
    uint64_t first_usec;     /* first byte out in this bucket */
    uint64_t last_usec;      /* latest byte out */
    struct addr top_dst;     /* destination of the largest share seen */
    uint64_t top_bytes;      /* bytes of that share */
    uint16_t top_port;       /* its port */
    uint8_t top_proto;       /* its protocol */
    bool reported;           /* reported in this bucket */
    bool dirty;              /* grown since the report */
};

struct ex_icmp_key {
    struct addr src; /* requester */
    struct addr dst; /* responder */
};

struct ex_icmp {
    uint64_t first_usec;  /* first request */
    uint64_t last_usec;   /* latest request */
    uint64_t requests;    /* echo requests */
    uint64_t replies;     /* echo replies */
    uint64_t bytes;       /* request payload bytes */
    uint64_t reply_bytes; /* reply payload bytes */
    uint64_t sizes;       /* 64-bit sketch of payload sizes */
    bool reported;        /* an event is out */
};

struct exfil {
    struct keymap *hosts;        /* addr -> ex_host */
    struct keymap *icmp;         /* ex_icmp_key -> ex_icmp */
    struct cidr_set ignore;      /* destinations that never count */
    uint64_t min_bytes;          /* absolute floor per bucket */
    double baseline_factor;      /* times the baseline */
    double min_ratio;            /* out / in */
    uint64_t bucket_usec;        /* bucket length */
    double alpha;                /* baseline weight of the newest bucket */
    uint64_t step;               /* bytes between looks at a growing flow */
    uint64_t icmp_min_requests;  /* echo requests */
    uint64_t icmp_min_sizes;     /* distinct payload sizes */
    uint64_t icmp_min_bytes;     /* payload bytes */
    bool any_dirty;              /* some reported host grew */
};

static int ex_init(struct config *cfg, void **state)
{
    struct exfil *ex = calloc(1, sizeof(*ex));
    uint64_t hosts_max;
    char bad[64] = "";
    int rc;
    *state = ex;
    if (!ex)
        return -ENOMEM;
    cidr_set_init(&ex->ignore);
    const char *ign = config_get_str(cfg, EX_SECTION, "ignore_destinations", "");
    if (cidr_set_add_list(&ex->ignore, ign, bad, sizeof(bad)) < 0)
        return config_fail(cfg, EX_SECTION, "ignore_destinations",
                           "'%s' is not an address or CIDR", bad);
    if ((rc = config_get_size(cfg, EX_SECTION, "min_bytes", 200 * 1024, &ex->min_bytes)) < 0 ||
        (rc = config_get_double(cfg, EX_SECTION, "baseline_factor", 10.0,
                                &ex->baseline_factor)) < 0 ||
        (rc = config_get_double(cfg, EX_SECTION, "min_ratio", 3.0, &ex->min_ratio)) < 0 ||
        (rc = config_get_duration(cfg, EX_SECTION, "bucket", 10 * 60 * USEC_PER_SEC,
                                  &ex->bucket_usec)) < 0 ||
        (rc = config_get_double(cfg, EX_SECTION, "baseline_weight", 0.1, &ex->alpha)) < 0 ||
        (rc = config_get_size(cfg, EX_SECTION, "step", 64 * 1024, &ex->step)) < 0 ||
        (rc = config_get_u64(cfg, EX_SECTION, "icmp_min_requests", 20,
                             &ex->icmp_min_requests)) < 0 ||
        (rc = config_get_u64(cfg, EX_SECTION, "icmp_min_sizes", 5, &ex->icmp_min_sizes)) < 0 ||
        (rc = config_get_size(cfg, EX_SECTION, "icmp_min_bytes", 16 * 1024,
                              &ex->icmp_min_bytes)) < 0 ||
        (rc = config_get_u64(cfg, EX_SECTION, "hosts_max", 16384, &hosts_max)) < 0)
        return rc;
    if (ex->min_bytes == 0 || ex->bucket_usec == 0 || ex->step == 0)
        return config_fail(cfg, EX_SECTION, "min_bytes", "min_bytes, bucket and step must be > 0");
    if (!(ex->alpha > 0 && ex->alpha <= 1))
        return config_fail(cfg, EX_SECTION, "baseline_weight", "must be > 0 and <= 1");
    if (hosts_max < 1 || hosts_max > (1u << 22))
        return config_fail(cfg, EX_SECTION, "hosts_max", "must be between 1 and 4194304");
    ex->hosts = keymap_new(hosts_max, sizeof(struct addr), sizeof(struct ex_host));
    ex->icmp = keymap_new_sparse(4096, sizeof(struct ex_icmp_key), sizeof(struct ex_icmp));
    return ex->hosts && ex->icmp ? 0 : -ENOMEM;
}

static void ex_fini(void *state)
{
    struct exfil *ex = state;
    if (!ex)
        return;
    keymap_free(ex->hosts);
    keymap_free(ex->icmp);
    cidr_set_fini(&ex->ignore);
    free(ex);
}

static size_t ex_memory(const void *state)
{
    const struct exfil *ex = state;
    return sizeof(*ex) + keymap_memory(ex->hosts) + keymap_memory(ex->icmp);
}

static void roll(struct exfil *ex, struct ex_host *h, uint64_t now)
{
    if (now < h->bucket_start + ex->bucket_usec)
        return;
    /* Buckets that passed with nothing in them count as zeros, a few at most. */
    uint64_t passed = (now - h->bucket_start) / ex->bucket_usec;
    h->baseline = h->buckets ? (1 - ex->alpha) * h->baseline + ex->alpha * (double)h->out
                             : (double)h->out;
    h->buckets++;
    for (uint64_t i = 1; i < passed && i < 16; i++)
        h->baseline *= 1 - ex->alpha;
    h->bucket_start = now;
    h->out = 0;
    h->in = 0;
    h->top_bytes = 0;
    h->reported = false;
    h->dirty = false;
}

static void report_host(struct exfil *ex, struct detect_ctx *ctx, const struct addr *a,
                        struct ex_host *h)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    event_report_init(&r, WARD__EVENT_KIND__EXFIL, "volume", EVENT_KEY_SRC);
    r.src = *a;
    r.dst = h->top_dst;
    r.proto = h->top_proto;
    if (h->top_port)
        event_report_port(&r, h->top_port);
    event_report_target(&r, &h->top_dst);
    r.first_usec = h->first_usec;
    r.last_usec = h->last_usec;
    r.bytes = h->out;
    r.count = h->out;
    addr_format(a, src, sizeof(src));
    addr_format(&h->top_dst, dst, sizeof(dst));
    double secs = (double)(h->last_usec - h->first_usec) / 1e6;
    event_report_summary(&r, "%s sent %.2f MB to the outside in %.0f s (%.2f MB to %s), %.0f "
                             "times its baseline of %.2f MB; %.2f MB came back",
                         src, (double)h->out / 1e6, secs, (double)h->top_bytes / 1e6, dst,
                         h->baseline > 0 ? (double)h->out / h->baseline : 0,
                         h->baseline / 1e6, (double)h->in / 1e6);
    event_report_figure(&r, "bytes_out", (double)h->out);
    event_report_figure(&r, "bytes_in", (double)h->in);
    event_report_figure(&r, "baseline_bytes", h->baseline);
    event_report_figure(&r, "baseline_buckets", h->buckets);
    event_report_figure(&r, "top_destination_bytes", (double)h->top_bytes);
    event_report_figure(&r, "floor_bytes", detect_scaled(ctx, (double)ex->min_bytes));
    r.severity = h->out >= 100 * 1000 * 1000 ? 80 : h->out >= 10 * 1000 * 1000 ? 65 : 50;
    r.confidence = h->buckets ? 75 : 60;
    detect_report(ctx, &r);
    h->reported = true;
    h->dirty = false;
}

/* n payload bytes from src (inside) to dst (outside), or back when inbound. */
static void account(struct exfil *ex, struct detect_ctx *ctx, const struct addr *inside,
                    const struct addr *outside, uint64_t n, bool outbound, uint16_t port,
                    uint8_t proto)
{
    if (!n || (outbound && ex->ignore.count && cidr_set_contains(&ex->ignore, outside)))
        return;
    bool created;
    struct ex_host *h = keymap_get(ex->hosts, inside, ctx->now_usec, true, &created);
    if (created)
        h->bucket_start = ctx->now_usec;
    roll(ex, h, ctx->now_usec);
    if (!outbound) {
        h->in += n;
        return;
    }
    if (!h->out)
        h->first_usec = ctx->now_usec;
    h->out += n;
    h->last_usec = ctx->now_usec;
    if (n > h->top_bytes || addr_eq(&h->top_dst, outside)) {
        if (!addr_eq(&h->top_dst, outside))
            h->top_bytes = 0;
        h->top_dst = *outside;
        h->top_bytes += n;
        h->top_port = port;
        h->top_proto = proto;
    }
    if (h->reported) {
        h->dirty = true;
        ex->any_dirty = true;
        return;
    }
    double floor_bytes = detect_scaled(ctx, (double)ex->min_bytes);
    if ((double)h->out < floor_bytes)
        return;
    if (h->buckets && (double)h->out < ex->baseline_factor * h->baseline)
        return;
    if ((double)h->out < ex->min_ratio * (double)h->in)
        return;
    report_host(ex, ctx, inside, h);
}

/* Counts what flow f carried in direction dir since the last look. */
static WARD_NOINLINE void take(struct exfil *ex, struct detect_ctx *ctx, const struct flow *f,
                               int dir, uint64_t *mark)
{
    uint64_t now_bytes = f->payload[dir];
    if (now_bytes <= *mark)
        return;
    uint64_t n = now_bytes - *mark;
    *mark = now_bytes;
    const struct addr *from = dir == FLOW_ORIG ? &f->key.a : &f->key.b;
    const struct addr *to = dir == FLOW_ORIG ? &f->key.b : &f->key.a;
    bool from_home = detect_is_home(ctx, from);
    bool to_home = detect_is_home(ctx, to);
    if (from_home == to_home)
        return;
    if (from_home)
        account(ex, ctx, from, to, n, true, f->key.port_b, f->key.proto);
    else
        account(ex, ctx, to, from, n, false, f->key.port_b, f->key.proto);
}

static void report_icmp(struct detect_ctx *ctx, const struct ex_icmp_key *k, struct ex_icmp *t)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    event_report_init(&r, WARD__EVENT_KIND__EXFIL, "icmp_tunnel", EVENT_KEY_SRC | EVENT_KEY_DST);
    r.src = k->src;
    r.dst = k->dst;
    r.proto = k->src.family == 6 ? 58 : 1;
    event_report_target(&r, &k->dst);
    r.first_usec = t->first_usec;
    r.last_usec = t->last_usec;
    r.packets = t->requests + t->replies;
    r.bytes = t->bytes + t->reply_bytes;
    r.count = t->requests;
    addr_format(&k->src, src, sizeof(src));
    addr_format(&k->dst, dst, sizeof(dst));
    double sizes = distinct_estimate(&t->sizes, 1);
    event_report_summary(&r, "%s sent %llu ICMP echo requests carrying %.1f KB to %s in %.0f s "
                             "with %.0f different sizes (%.1f KB came back): a tunnel, not ping",
                         src, (unsigned long long)t->requests, (double)t->bytes / 1e3, dst,
                         (double)(t->last_usec - t->first_usec) / 1e6, sizes,
                         (double)t->reply_bytes / 1e3);
    event_report_figure(&r, "requests", (double)t->requests);
    event_report_figure(&r, "replies", (double)t->replies);
    event_report_figure(&r, "request_bytes", (double)t->bytes);
    event_report_figure(&r, "reply_bytes", (double)t->reply_bytes);
    event_report_figure(&r, "distinct_sizes", sizes);
    r.severity = 60;
    r.confidence = 80;
    detect_report(ctx, &r);
    t->reported = true;
}

static WARD_NOINLINE void on_icmp(struct exfil *ex, struct detect_ctx *ctx, const struct pkt *p)
{
    bool v6 = (p->layers & PKT_ICMP6) != 0;
    uint8_t t = p->icmp.type;
    bool req = t == (v6 ? 128 : 8), rep = t == (v6 ? 129 : 0);
    if (!req && !rep)
        return;
    struct ex_icmp_key k;
    memset(&k, 0, sizeof(k));
    k.src = req ? p->src : p->dst;
    k.dst = req ? p->dst : p->src;
    bool created;
    struct ex_icmp *e = keymap_get(ex->icmp, &k, ctx->now_usec, req, &created);
    if (!e)
        return;
    if (created)
        e->first_usec = ctx->now_usec;
    if (rep) {
        e->replies++;
        e->reply_bytes += p->payload_len;
        return;
    }
    e->requests++;
    e->bytes += p->payload_len;
    e->last_usec = ctx->now_usec;
    distinct_add(&e->sizes, 1, distinct_mix(p->payload_len));
    if (e->reported || e->requests < ex->icmp_min_requests)
        return;
    if (distinct_estimate(&e->sizes, 1) >= (double)ex->icmp_min_sizes &&
        (double)e->bytes >= detect_scaled(ctx, (double)ex->icmp_min_bytes))
        report_icmp(ctx, &k, e);
}

static void ex_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct exfil *ex = state;
    if (p->layers & (PKT_ICMP | PKT_ICMP6)) {
        on_icmp(ex, ctx, p);
        return;
    }
    if (!f)
        return;
    int slot = dir == FLOW_ORIG ? EX_MARK_ORIG : EX_MARK_RESP;
    if (f->payload[dir] < f->det[slot] + ex->step)
        return;
    take(ex, ctx, f, dir, &f->det[slot]);
}

/* ICMP, and packets that grow a flow's payload (no other packet can reach a step). */
static uint64_t ex_wants(const void *state)
{
    (void)state;
    return PKT_ICMP | PKT_ICMP6 | DETECT_WANT_PAYLOAD;
}

static void ex_flow_end(void *state, struct detect_ctx *ctx, const struct flow *f)
{
    struct exfil *ex = state;
    uint64_t mark[2] = {f->det[EX_MARK_ORIG], f->det[EX_MARK_RESP]};
    take(ex, ctx, f, FLOW_ORIG, &mark[0]);
    take(ex, ctx, f, FLOW_RESP, &mark[1]);
}

static void ex_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct exfil *ex = state;
    (void)now_usec;
    if (!ex->any_dirty)
        return;
    ex->any_dirty = false;
    for (size_t i = 0; i < keymap_slots(ex->hosts); i++) {
        const void *key;
        struct ex_host *h = keymap_at(ex->hosts, i, &key, NULL);
        if (h && h->dirty)
            report_host(ex, ctx, key, h);
    }
}

const struct detector detect_exfil = {
    .name = "exfil",
    .init = ex_init,
    .fini = ex_fini,
    .on_packet = ex_packet,
    .wants = ex_wants,
    .on_flow_end = ex_flow_end,
    .on_tick = ex_tick,
    .memory = ex_memory,
};
