/*
 * gen_bench_pcap -- a deterministic synthetic capture for `make bench`: a busy
 * hospital segment, by default about 6.4 million packets in 600,000 flows among
 * about 56,000 hosts.
 *
 * Traffic: a fixed number of sessions run at once (their packets interleave the
 * way a SPAN port sees them), each replaced by a new one when it ends.  About
 * 70% are TCP (handshake, one to three request/response rounds with HTTP
 * requests, TLS ClientHellos or opaque data, segments of 100..1448 bytes with
 * ACKs, FIN teardown; some refused with RST; 0.5% bulk transfers of 100 segments),
 * 20% DNS lookups over UDP (some NXDOMAIN), 5% ICMP echo, 5% NTP.  About 8% of
 * sessions are IPv6 and 10% carry an 802.1Q tag.  Clients are 3,500 addresses in
 * 10.1.0.0/16 (fd00:1::/64 for IPv6), servers 300 inside (10.0.0.0/16) and
 * 52,000 outside (behind one gateway MAC), as on a segment whose workstations
 * reach the internet and cloud services.  Packet time advances 10 us per packet.
 *
 * Usage: gen_bench_pcap FILE [FLOWS]   (FLOWS default 600000)
 * The same arguments always give the same bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

#define CONCURRENT 4096
#define CLIENTS 3500
#define SERVERS_IN 300
#define SERVERS_OUT 52000
#define T0 1763700000000000ULL
#define STEP_USEC 10

enum kind { K_TCP, K_DNS, K_ICMP, K_NTP };
enum phase { HS0, HS1, HS2, REQ, RESP, ACK, FIN1, FIN2, FIN3, REFUSED, DONE };

struct session {
    struct pktgen_ep c;     /* client -> server endpoints */
    struct pktgen_ep s;     /* server -> client */
    uint8_t kind;           /* enum kind */
    uint8_t phase;          /* enum phase (TCP), packet index otherwise */
    uint8_t app;            /* 0 opaque, 1 HTTP, 2 TLS */
    uint8_t rounds;         /* request/response rounds left */
    uint16_t segs;          /* response segments left in this round */
    uint16_t unacked;       /* segments since the client's last ACK */
    uint32_t cseq;          /* client sequence */
    uint32_t sseq;          /* server sequence */
    uint16_t id;            /* DNS id / ICMP id */
};

static struct pktgen_rng rng = {0x5761726442656e63ULL}; /* "WardBenc" */
static struct session slots[CONCURRENT];
static uint8_t frame[PKTGEN_MAX];
static uint8_t payload[2048];
static uint64_t flows_left;
static uint64_t flows_started;

static struct addr client_addr(uint32_t i, bool v6)
{
    struct addr a = {0};
    if (v6) {
        a.family = 6;
        a.b[0] = 0xfd;
        a.b[3] = 1;
        a.b[12] = (uint8_t)(i >> 24);
        a.b[13] = (uint8_t)(i >> 16);
        a.b[14] = (uint8_t)(i >> 8);
        a.b[15] = (uint8_t)i;
        return a;
    }
    return addr_v4(0x0a010000u + (i / 250) * 256u + i % 250 + 1); /* 10.1.0.1 .. 10.1.13.250 */
}

static struct addr server_addr(uint32_t i, bool inside, bool v6)
{
    struct addr a = {0};
    if (v6) {
        a.family = 6;
        a.b[0] = inside ? 0xfd : 0x20;
        a.b[1] = inside ? 0x00 : 0x01;
        a.b[2] = inside ? 0x00 : 0x0d;
        a.b[3] = inside ? 0x02 : 0xb8;
        a.b[14] = (uint8_t)(i >> 8);
        a.b[15] = (uint8_t)i;
        return a;
    }
    if (inside)
        return addr_v4(0x0a000000u + (i / 250) * 256u + i % 250 + 1); /* 10.0.0.1 ... */
    /* Spread over several outside /16s. */
    static const uint32_t nets[4] = {0x5db80000u, 0xc6330000u, 0x8ef00000u, 0x2d4c0000u};
    return addr_v4(nets[i % 4] + (i / 4) % 65000 + 1);
}

static void mac_of(uint8_t mac[6], const struct addr *a, uint8_t tag)
{
    size_t n = a->family == 6 ? 16 : 4;
    mac[0] = 0x00;
    mac[1] = tag;
    memcpy(mac + 2, a->b + n - 4, 4);
}

static void start(struct session *s)
{
    memset(s, 0, sizeof(*s));
    flows_left--;
    flows_started++;
    uint32_t r = pktgen_rng_below(&rng, 100);
    s->kind = r < 70 ? K_TCP : r < 90 ? K_DNS : r < 95 ? K_ICMP : K_NTP;
    bool v6 = pktgen_rng_below(&rng, 100) < 8;
    uint32_t cl = pktgen_rng_below(&rng, CLIENTS);
    bool inside = pktgen_rng_below(&rng, 100) < 60;
    uint32_t sv = inside ? pktgen_rng_below(&rng, SERVERS_IN) : pktgen_rng_below(&rng, SERVERS_OUT);
    struct pktgen_ep *c = &s->c;
    c->src = client_addr(cl, v6);
    c->dst = s->kind == K_DNS ? server_addr(cl % 4, true, v6) : server_addr(sv, inside, v6);
    mac_of(c->src_mac, &c->src, 0x50);
    if (inside || s->kind == K_DNS) {
        mac_of(c->dst_mac, &c->dst, 0x0c);
    } else {
        /* Outside hosts are reached through the segment's gateway. */
        static const uint8_t gateway[6] = {0x00, 0x1b, 0x17, 0x00, 0x00, 0x01};
        memcpy(c->dst_mac, gateway, 6);
    }
    c->sport = (uint16_t)(32768 + pktgen_rng_below(&rng, 28000));
    c->ttl = 64;
    c->ip_id = (uint16_t)pktgen_rng_next(&rng);
    if (pktgen_rng_below(&rng, 100) < 10)
        c->vlan = (uint16_t)(10 + 10 * pktgen_rng_below(&rng, 3));
    switch (s->kind) {
    case K_TCP: {
        static const uint16_t ports[] = {443, 443, 443, 80, 80, 445, 22, 3389, 1433, 8080, 104};
        c->dport = ports[pktgen_rng_below(&rng, sizeof(ports) / sizeof(ports[0]))];
        s->app = c->dport == 443 ? 2 : (c->dport == 80 || c->dport == 8080) ? 1 : 0;
        s->rounds = (uint8_t)(1 + pktgen_rng_below(&rng, 2));
        s->phase = HS0;
        s->cseq = (uint32_t)pktgen_rng_next(&rng);
        s->sseq = (uint32_t)pktgen_rng_next(&rng);
        break;
    }
    case K_DNS:
        c->dport = 53;
        break;
    case K_ICMP:
        c->sport = c->dport = 0;
        break;
    default:
        c->dport = 123;
        c->sport = 123;
        break;
    }
    s->id = (uint16_t)pktgen_rng_next(&rng);
    s->s = pktgen_ep_reverse(c);
    s->s.ttl = inside ? 128 : 52;
}

static size_t request(struct session *s, uint8_t *out, size_t cap)
{
    char name[64];
    if (s->app == 1) {
        snprintf(name, sizeof(name), "app%u.hospital.example", s->c.dst.b[3] % 50);
        return pktgen_http_request(out, cap, "GET", "/api/v1/records?page=2", name,
                                   "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
    }
    if (s->app == 2) {
        snprintf(name, sizeof(name), "svc%u.cloud.example", s->c.dst.b[3] % 200);
        s->app = 0; /* later rounds are application data */
        return pktgen_tls_client_hello(out, cap, name);
    }
    size_t n = 60 + pktgen_rng_below(&rng, 400);
    memset(out, 0x17, n);
    return n;
}

/* The next packet of s into frame; sets *done when the session is over. */
static size_t next_tcp(struct session *s, bool *done)
{
    uint8_t *f = frame;
    size_t cap = sizeof(frame), n = 0;
    switch (s->phase) {
    case HS0:
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_SYN, s->cseq, 0, NULL, 0);
        s->cseq++;
        s->phase = pktgen_rng_below(&rng, 100) < 5 ? REFUSED : HS1;
        break;
    case REFUSED:
        n = pktgen_tcp(f, cap, &s->s, PKTGEN_RST | PKTGEN_ACK, 0, s->cseq, NULL, 0);
        *done = true;
        break;
    case HS1:
        n = pktgen_tcp(f, cap, &s->s, PKTGEN_SYN | PKTGEN_ACK, s->sseq, s->cseq, NULL, 0);
        s->sseq++;
        s->phase = HS2;
        break;
    case HS2:
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_ACK, s->cseq, s->sseq, NULL, 0);
        s->phase = REQ;
        break;
    case REQ: {
        size_t rl = request(s, payload, sizeof(payload));
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_ACK | PKTGEN_PSH, s->cseq, s->sseq, payload, rl);
        s->cseq += (uint32_t)rl;
        bool bulk = pktgen_rng_below(&rng, 200) == 0;
        s->segs = (uint16_t)(bulk ? 100 : 1 + pktgen_rng_below(&rng, 4));
        s->unacked = 0;
        s->phase = RESP;
        break;
    }
    case RESP: {
        size_t sl = 100 + pktgen_rng_below(&rng, 1349);
        memset(payload, 0x42, sl);
        n = pktgen_tcp(f, cap, &s->s, PKTGEN_ACK, s->sseq, s->cseq, payload, sl);
        s->sseq += (uint32_t)sl;
        s->segs--;
        s->unacked++;
        if (s->unacked == 2 || s->segs == 0)
            s->phase = ACK;
        break;
    }
    case ACK:
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_ACK, s->cseq, s->sseq, NULL, 0);
        s->unacked = 0;
        if (s->segs > 0)
            s->phase = RESP;
        else if (--s->rounds > 0)
            s->phase = REQ;
        else
            s->phase = FIN1;
        break;
    case FIN1:
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_FIN | PKTGEN_ACK, s->cseq, s->sseq, NULL, 0);
        s->cseq++;
        s->phase = FIN2;
        break;
    case FIN2:
        n = pktgen_tcp(f, cap, &s->s, PKTGEN_FIN | PKTGEN_ACK, s->sseq, s->cseq, NULL, 0);
        s->sseq++;
        s->phase = FIN3;
        break;
    default:
        n = pktgen_tcp(f, cap, &s->c, PKTGEN_ACK, s->cseq, s->sseq, NULL, 0);
        *done = true;
        break;
    }
    return n;
}

static size_t next_other(struct session *s, bool *done)
{
    uint8_t *f = frame;
    size_t cap = sizeof(frame), n = 0, ml;
    unsigned step = s->phase++;
    char name[80];
    switch (s->kind) {
    case K_DNS:
        snprintf(name, sizeof(name), "host%u.site%u.example.org", s->id % 1000, s->id % 37);
        if (step == 0) {
            ml = pktgen_dns_query(payload, sizeof(payload), s->id, name, s->c.src.family == 6 ? 28 : 1);
            n = pktgen_udp(f, cap, &s->c, payload, ml);
        } else {
            struct addr a = server_addr(s->id, false, s->c.src.family == 6);
            bool nx = s->id % 20 == 0;
            ml = pktgen_dns_response(payload, sizeof(payload), s->id, name,
                                     s->c.src.family == 6 ? 28 : 1, nx ? 3 : 0, &a, nx ? 0 : 1,
                                     300);
            n = pktgen_udp(f, cap, &s->s, payload, ml);
            *done = true;
        }
        break;
    case K_ICMP:
        if (step % 2 == 0)
            n = pktgen_icmp_echo(f, cap, &s->c, s->id, (uint16_t)step, 56);
        else
            n = pktgen_icmp(f, cap, &s->s, s->c.src.family == 6 ? 129 : 0, 0,
                            (uint32_t)s->id << 16 | (step - 1), payload, 56);
        *done = step == 3;
        break;
    default:
        memset(payload, 0, 48);
        payload[0] = step == 0 ? 0x23 : 0x24;
        n = pktgen_udp(f, cap, step == 0 ? &s->c : &s->s, payload, 48);
        *done = step == 1;
        break;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: gen_bench_pcap FILE [FLOWS]\n");
        return 2;
    }
    uint64_t flows = argc == 3 ? strtoull(argv[2], NULL, 10) : 600000;
    if (flows < CONCURRENT) {
        fprintf(stderr, "gen_bench_pcap: at least %d flows\n", CONCURRENT);
        return 2;
    }
    struct pktgen_pcap *w = pktgen_pcap_open(argv[1], PKTGEN_LINK_ETHERNET, 0);
    if (!w) {
        fprintf(stderr, "gen_bench_pcap: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    flows_left = flows;
    size_t active = CONCURRENT;
    for (size_t i = 0; i < CONCURRENT; i++)
        start(&slots[i]);
    uint64_t ts = T0;
    while (active > 0) {
        size_t i = pktgen_rng_below(&rng, (uint32_t)active);
        struct session *s = &slots[i];
        bool done = false;
        size_t n = s->kind == K_TCP ? next_tcp(s, &done) : next_other(s, &done);
        if (n == 0 || pktgen_pcap_write(w, ts, frame, n) != 0) {
            fprintf(stderr, "gen_bench_pcap: cannot write %s\n", argv[1]);
            pktgen_pcap_close(w);
            return 1;
        }
        ts += STEP_USEC;
        if (done) {
            if (flows_left > 0)
                start(s);
            else
                slots[i] = slots[--active];
        }
    }
    uint64_t packets = pktgen_pcap_count(w);
    if (pktgen_pcap_close(w) != 0) {
        fprintf(stderr, "gen_bench_pcap: cannot write %s\n", argv[1]);
        return 1;
    }
    printf("%s: %llu packets, %llu flows, %.1f s of packet time\n", argv[1],
           (unsigned long long)packets, (unsigned long long)flows_started,
           (double)(ts - T0) / 1e6);
    return 0;
}
