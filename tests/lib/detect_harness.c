/*
 * detect_harness -- see detect_harness.h.  The flow table here is a plain array
 * searched linearly: tests have a few hundred flows at most.
 */
#include "detect_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "detect.h"
#include "event_json.h"
#include "flow_table.h"
#include "sink.h"

struct harness {
    struct config *cfg;                         /* the engine's config */
    struct detect_engine *de;                   /* the engine under test */
    struct sink sink;                           /* captures into events */
    struct harness_event events[HARNESS_MAX_EVENTS]; /* captured revisions */
    size_t n_events;                            /* entries in events */
    struct flow flows[HARNESS_MAX_FLOWS];       /* live flows */
    char names[HARNESS_MAX_FLOWS][PKT_NAME_MAX]; /* each flow's long name, as the table's store */
    bool live[HARNESS_MAX_FLOWS];               /* slot in use */
};

static char last_error[CONFIG_ERR_LEN];

static int capture(void *arg, const Ward__Message *m)
{
    struct harness *h = arg;
    if (m->kind_case != WARD__MESSAGE__KIND_EVENT || h->n_events >= HARNESS_MAX_EVENTS)
        return 0;
    const Ward__Event *ev = m->event;
    struct harness_event *e = &h->events[h->n_events++];
    memset(e, 0, sizeof(*e));
    snprintf(e->kind, sizeof(e->kind), "%s", event_kind_name(ev->kind));
    snprintf(e->subtype, sizeof(e->subtype), "%s", ev->subtype);
    snprintf(e->uid, sizeof(e->uid), "%s", ev->uid);
    snprintf(e->src, sizeof(e->src), "%s", ev->src);
    snprintf(e->dst, sizeof(e->dst), "%s", ev->dst);
    snprintf(e->src_mac, sizeof(e->src_mac), "%s", ev->src_mac);
    snprintf(e->domain, sizeof(e->domain), "%s", ev->domain);
    snprintf(e->summary, sizeof(e->summary), "%s", ev->summary);
    e->revision = ev->revision;
    e->closed = ev->closed;
    e->count = ev->count;
    e->bytes = ev->bytes;
    e->n_ports = (unsigned)ev->n_ports;
    e->n_figures = (unsigned)ev->n_figures;
    return 0;
}

const char *harness_error(void)
{
    return last_error;
}

struct harness *harness_try_new(const char *ini, const char *home_net)
{
    struct harness *h = calloc(1, sizeof(*h));
    char err[CONFIG_ERR_LEN];
    assert_non_null(h);
    last_error[0] = '\0';
    if (!ini)
        ini = "";
    if (config_parse("test.conf", ini, strlen(ini), &h->cfg, err, sizeof(err)) < 0) {
        snprintf(last_error, sizeof(last_error), "%s", err);
        free(h);
        return NULL;
    }
    h->sink.send = capture;
    h->sink.arg = h;
    h->de = detect_engine_new(h->cfg, home_net, &h->sink, NULL);
    if (!h->de || config_check_unused(h->cfg, NULL) < 0) {
        snprintf(last_error, sizeof(last_error), "%s", config_error(h->cfg));
        harness_free(h);
        return NULL;
    }
    return h;
}

struct harness *harness_new(const char *ini, const char *home_net)
{
    struct harness *h = harness_try_new(ini, home_net);
    if (!h)
        fprintf(stderr, "harness: %s\n", last_error);
    assert_non_null(h);
    return h;
}

void harness_free(struct harness *h)
{
    if (!h)
        return;
    detect_engine_free(h->de);
    config_free(h->cfg);
    free(h);
}

static struct addr parse_addr(const char *s)
{
    struct addr a = {0};
    if (s && addr_parse(s, &a) < 0)
        fail_msg("harness: bad address %s", s);
    return a;
}

void harness_mac(const char *s, uint8_t out[6])
{
    unsigned v[6];
    if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
        memset(out, 0, 6);
        return;
    }
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)v[i];
}

void harness_ip(struct pkt *p, uint64_t ts_usec, const char *src, const char *dst, uint8_t proto)
{
    memset(p, 0, sizeof(*p));
    p->ts_usec = ts_usec;
    p->src = parse_addr(src);
    p->dst = parse_addr(dst);
    p->layers = PKT_ETH | (p->src.family == 6 ? PKT_IP6 : PKT_IP4);
    p->proto = proto;
    p->ttl = 64;
    p->tcp.wscale = 0xff;
}

static struct flow *flow_for(struct harness *h, const struct pkt *p, int *dir)
{
    uint16_t sp = p->sport, dp = p->dport;
    if (p->layers & (PKT_ICMP | PKT_ICMP6)) {
        sp = p->icmp.id;
        dp = 0;
    }
    size_t free_slot = HARNESS_MAX_FLOWS;
    for (size_t i = 0; i < HARNESS_MAX_FLOWS; i++) {
        if (!h->live[i]) {
            if (free_slot == HARNESS_MAX_FLOWS)
                free_slot = i;
            continue;
        }
        struct flow *f = &h->flows[i];
        if (f->key.proto != p->proto)
            continue;
        if (addr_eq(&f->key.a, &p->src) && addr_eq(&f->key.b, &p->dst) && f->key.port_a == sp &&
            f->key.port_b == dp) {
            *dir = FLOW_ORIG;
            return f;
        }
        if (addr_eq(&f->key.a, &p->dst) && addr_eq(&f->key.b, &p->src) && f->key.port_a == dp &&
            f->key.port_b == sp) {
            *dir = FLOW_RESP;
            return f;
        }
    }
    if (free_slot == HARNESS_MAX_FLOWS)
        fail_msg("harness: flow table full");
    struct flow *f = &h->flows[free_slot];
    memset(f, 0, sizeof(*f));
    h->live[free_slot] = true;
    f->key.a = p->src;
    f->key.b = p->dst;
    f->key.port_a = sp;
    f->key.port_b = dp;
    f->key.proto = p->proto;
    f->first_usec = p->ts_usec;
    f->orig_ttl = p->ttl;
    f->app = (uint8_t)flow_table_app_by_port(p->proto, sp, dp);
    if ((p->layers & PKT_TCP) && !(p->tcp.flags & TCP_SYN))
        f->midstream = true;
    *dir = FLOW_ORIG;
    return f;
}

/* The flow table's rule: the first name seen stays, a long one out of line. */
static void name_copy(struct harness *h, struct flow *f, const char *s)
{
    if (flow_name(f)[0] || !s[0])
        return;
    char *dst = f->name_short;
    size_t n = strnlen(s, PKT_NAME_MAX - 1);
    if (n >= sizeof(f->name_short))
        dst = f->name_long = h->names[f - h->flows];
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void end_flow(struct harness *h, struct flow *f, enum flow_end_reason why)
{
    f->end_reason = (uint8_t)why;
    detect_engine_flow_end(h->de, f);
    h->live[f - h->flows] = false;
}

void harness_feed(struct harness *h, struct pkt *p)
{
    struct flow *f = NULL;
    int dir = FLOW_ORIG;
    if (p->layers & (PKT_IP4 | PKT_IP6)) {
        f = flow_for(h, p, &dir);
        f->last_usec = p->ts_usec;
        f->pkts[dir]++;
        f->bytes[dir] += p->ip_len ? p->ip_len : 40u + p->payload_len;
        f->payload[dir] += p->payload_len;
        if (dir == FLOW_RESP && f->pkts[dir] == 1)
            f->resp_ttl = p->ttl;
        if (p->layers & PKT_TCP) {
            uint8_t fl = p->tcp.flags;
            f->flags[dir] |= fl;
            if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
                if (dir == FLOW_ORIG)
                    f->syn_count++;
                if (f->state < FLOW_SYN_SENT)
                    f->state = FLOW_SYN_SENT;
            } else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
                f->state = FLOW_SYN_RCVD;
            } else if (fl & TCP_RST) {
                f->state = FLOW_CLOSED;
            } else if (fl & TCP_FIN) {
                if ((f->flags[0] & TCP_FIN) && (f->flags[1] & TCP_FIN))
                    f->state = FLOW_CLOSED;
                else
                    f->state = FLOW_CLOSING;
            } else if (f->state == FLOW_SYN_RCVD || f->state == FLOW_NEW) {
                if (f->state == FLOW_SYN_RCVD || f->midstream)
                    f->state = FLOW_ESTABLISHED;
            }
        } else if (f->pkts[FLOW_RESP] > 0) {
            f->state = FLOW_ESTABLISHED;
        }
        if (p->layers & PKT_DNS)
            name_copy(h, f, p->dns.qname);
        if (p->layers & PKT_TLS_HELLO)
            name_copy(h, f, p->tls.sni);
        if (p->layers & PKT_HTTP)
            name_copy(h, f, p->http.host);
    }
    detect_engine_packet(h->de, p, f, dir);
    if (f && f->state == FLOW_CLOSED)
        end_flow(h, f, (f->flags[0] | f->flags[1]) & TCP_RST ? FLOW_END_RST : FLOW_END_FIN);
}

void harness_tcp(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                 const char *dst, uint16_t dport, uint8_t flags, uint32_t payload_len)
{
    struct pkt p;
    harness_ip(&p, ts_usec, src, dst, 6);
    p.layers |= PKT_TCP;
    p.sport = sport;
    p.dport = dport;
    p.tcp.flags = flags;
    p.payload_len = payload_len;
    p.ip_len = (uint16_t)WARD_MIN(65535u, 40u + payload_len);
    harness_feed(h, &p);
}

void harness_udp(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                 const char *dst, uint16_t dport, uint32_t payload_len)
{
    struct pkt p;
    harness_ip(&p, ts_usec, src, dst, 17);
    p.layers |= PKT_UDP;
    p.sport = sport;
    p.dport = dport;
    p.payload_len = payload_len;
    p.ip_len = (uint16_t)WARD_MIN(65535u, 28u + payload_len);
    harness_feed(h, &p);
}

void harness_tcp_data(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                      const char *dst, uint16_t dport, uint8_t flags, const void *data,
                      size_t len)
{
    struct pkt p;
    harness_ip(&p, ts_usec, src, dst, 6);
    p.layers |= PKT_TCP;
    p.sport = sport;
    p.dport = dport;
    p.tcp.flags = flags;
    p.payload = rd_make(data, len);
    p.payload_len = (uint32_t)len;
    p.ip_len = (uint16_t)WARD_MIN(65535u, 40u + len);
    harness_feed(h, &p);
}

void harness_udp_data(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                      const char *dst, uint16_t dport, const void *data, size_t len)
{
    struct pkt p;
    harness_ip(&p, ts_usec, src, dst, 17);
    p.layers |= PKT_UDP;
    p.sport = sport;
    p.dport = dport;
    p.payload = rd_make(data, len);
    p.payload_len = (uint32_t)len;
    p.ip_len = (uint16_t)WARD_MIN(65535u, 28u + len);
    harness_feed(h, &p);
}

void harness_icmp(struct harness *h, uint64_t ts_usec, const char *src, const char *dst,
                  uint8_t type, uint8_t code, uint32_t payload_len)
{
    struct pkt p;
    harness_ip(&p, ts_usec, src, dst, 1);
    p.layers |= PKT_ICMP;
    p.icmp.type = type;
    p.icmp.code = code;
    p.icmp.id = 77;
    p.payload_len = payload_len;
    p.ip_len = (uint16_t)WARD_MIN(65535u, 28u + payload_len);
    harness_feed(h, &p);
}

void harness_arp(struct harness *h, uint64_t ts_usec, uint16_t op, const char *sha,
                 const char *spa, const char *tha, const char *tpa)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ts_usec = ts_usec;
    p.layers = PKT_ETH | PKT_ARP;
    p.ethertype = 0x0806;
    p.arp.op = op;
    harness_mac(sha, p.arp.sha);
    harness_mac(tha, p.arp.tha);
    memcpy(p.src_mac, p.arp.sha, 6);
    if (op == 1)
        memset(p.dst_mac, 0xff, 6);
    else
        memcpy(p.dst_mac, p.arp.tha, 6);
    p.arp.spa = parse_addr(spa);
    p.arp.tpa = parse_addr(tpa);
    harness_feed(h, &p);
}

uint64_t harness_session(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                         const char *dst, uint16_t dport, uint64_t bytes_out, uint64_t bytes_in,
                         bool refused)
{
    uint64_t t = ts_usec;
    harness_tcp(h, t, src, sport, dst, dport, TCP_SYN, 0);
    t += 1000;
    if (refused) {
        harness_tcp(h, t, dst, dport, src, sport, TCP_RST | TCP_ACK, 0);
        return t;
    }
    harness_tcp(h, t, dst, dport, src, sport, TCP_SYN | TCP_ACK, 0);
    t += 1000;
    harness_tcp(h, t, src, sport, dst, dport, TCP_ACK, 0);
    while (bytes_out || bytes_in) {
        if (bytes_out) {
            uint32_t n = (uint32_t)WARD_MIN(bytes_out, 1400u);
            t += 1000;
            harness_tcp(h, t, src, sport, dst, dport, TCP_ACK | TCP_PSH, n);
            bytes_out -= n;
        }
        if (bytes_in) {
            uint32_t n = (uint32_t)WARD_MIN(bytes_in, 1400u);
            t += 1000;
            harness_tcp(h, t, dst, dport, src, sport, TCP_ACK | TCP_PSH, n);
            bytes_in -= n;
        }
    }
    t += 1000;
    harness_tcp(h, t, src, sport, dst, dport, TCP_FIN | TCP_ACK, 0);
    t += 1000;
    harness_tcp(h, t, dst, dport, src, sport, TCP_FIN | TCP_ACK, 0);
    return t;
}

uint64_t harness_evictions(const struct harness *h)
{
    return detect_engine_evictions(h->de);
}

int harness_reload(struct harness *h)
{
    return detect_engine_reload(h->de);
}

struct detect_engine *harness_engine(struct harness *h)
{
    return h->de;
}

void harness_heightened(struct harness *h, bool on, double factor)
{
    detect_engine_set_heightened(h->de, on, factor);
}

void harness_tick(struct harness *h, uint64_t ts_usec)
{
    detect_engine_tick(h->de, ts_usec);
}

void harness_flush(struct harness *h, uint64_t ts_usec)
{
    for (size_t i = 0; i < HARNESS_MAX_FLOWS; i++) {
        if (h->live[i])
            end_flow(h, &h->flows[i], FLOW_END_SHUTDOWN);
    }
    detect_engine_flush(h->de, ts_usec);
}

size_t harness_event_count(const struct harness *h)
{
    return h->n_events;
}

const struct harness_event *harness_event(const struct harness *h, size_t i)
{
    return i < h->n_events ? &h->events[i] : NULL;
}

static bool matches(const struct harness_event *e, const char *kind, const char *src)
{
    return strcmp(e->kind, kind) == 0 && (!src || strcmp(e->src, src) == 0);
}

size_t harness_uids(const struct harness *h, const char *kind, const char *src)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_events; i++) {
        if (!matches(&h->events[i], kind, src))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(h->events[j].uid, h->events[i].uid) == 0;
        if (!seen)
            n++;
    }
    return n;
}

const struct harness_event *harness_find(const struct harness *h, const char *kind,
                                         const char *src)
{
    const struct harness_event *first = NULL, *latest = NULL;
    for (size_t i = 0; i < h->n_events; i++) {
        if (!matches(&h->events[i], kind, src))
            continue;
        if (!first)
            first = &h->events[i];
        if (strcmp(h->events[i].uid, first->uid) == 0)
            latest = &h->events[i];
    }
    return latest;
}

void harness_dump(const struct harness *h)
{
    for (size_t i = 0; i < h->n_events; i++) {
        const struct harness_event *e = &h->events[i];
        fprintf(stderr, "  %s/%s rev %u%s src=%s dst=%s mac=%s dom=%s count=%llu: %s\n", e->kind,
                e->subtype, e->revision, e->closed ? " closed" : "", e->src, e->dst, e->src_mac,
                e->domain, (unsigned long long)e->count, e->summary);
    }
}
