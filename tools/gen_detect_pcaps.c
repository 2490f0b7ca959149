/*
 * gen_detect_pcaps -- deterministic synthetic captures for the detection
 * evaluation (tests/detect/eval.sh), for behaviours the collection of real
 * captures lacks, and for the near misses that must stay quiet.  Each capture is
 * DIR/NAME.pcap; tests/detect/expected.tsv lists what each should raise.
 *
 *   ioc_hits             three hosts touch listed indicators (address, DNS name, SNI)
 *   rdp_bruteforce       40 short RDP sessions from one host to one server
 *   smb_logon_failures   12 SMB2 SESSION_SETUPs answered STATUS_LOGON_FAILURE
 *   worm_spread          one host reaching 30 inside hosts on 445 in a minute
 *   gateway_rebind       a MAC taking over the gateway's address by ARP
 *   gratuitous_storm     200 gratuitous ARPs from one MAC in 5 s
 *   https_beacon_jitter  a TLS check-in every 60 s +-20% among ordinary browsing
 *   large_upload         20 MB out from a host that usually sends 50 KB per 10 min
 *   benign_office        browsing, DNS, file shares, an SSH session: nothing to report
 *   ntp_and_monitoring   an NTP client and a monitoring poller: periodic, not beacons
 *   backup_allowlisted   a 200 MB nightly backup from an allowlisted host
 *   cdn_dns              many CDN host names under a few domains
 *   beacon_rotating_name a TLS check-in every 45 s +-20% to one name whose address
 *                        changes from one check-in to the next (a CDN front)
 *   nd_router_spoof      IPv6: a host answers solicitations for the router's
 *                        address with its own MAC (parasite6), then advertises
 *                        itself as a router
 *   ipv6_neighbours      IPv6 neighbour discovery as a quiet segment has it: router
 *                        advertisements, DAD, privacy addresses, unreachability probes
 *
 * Usage: gen_detect_pcaps DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

#define T0 1763700000000000ULL /* packet time of the first packet */
#define SEC 1000000ULL

static const char *dir;
static struct pktgen_pcap *w;
static uint8_t buf[PKTGEN_MAX];
static uint8_t payload[262144];
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void fail(const char *what)
{
    fprintf(stderr, "gen_detect_pcaps: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [lo, hi]. */
static uint64_t between(uint64_t lo, uint64_t hi)
{
    return lo + rnd() % (hi - lo + 1);
}

static void open_pcap(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
    w = pktgen_pcap_open(path, PKTGEN_LINK_ETHERNET, 0);
    if (!w)
        fail(path);
}

static void close_pcap(void)
{
    if (pktgen_pcap_close(w) < 0)
        fail("close");
    w = NULL;
}

static void put(uint64_t ts, size_t n)
{
    if (!n || pktgen_pcap_write(w, ts, buf, n) < 0)
        fail("write");
}

static void session(uint64_t *ts, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, size_t req, size_t resp)
{
    struct pktgen_ep ep = pktgen_ep_make(src, sport, dst, dport);
    memset(payload, 'a', req > resp ? req : resp);
    if (pktgen_session_tcp(w, ts, 2000, &ep, payload, req, payload, resp) < 0)
        fail("session");
}

/* Like session() but with a big upload in 1448-byte segments (client to server). */
static void upload(uint64_t *ts, const char *src, uint16_t sport, const char *dst,
                   uint16_t dport, uint64_t bytes)
{
    struct pktgen_ep ep = pktgen_ep_make(src, sport, dst, dport);
    struct pktgen_ep rv = pktgen_ep_reverse(&ep);
    uint32_t seq = 1000, ack = 5000;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_SYN, seq++, 0, NULL, 0));
    *ts += 500;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_SYN | PKTGEN_ACK, ack++, seq, NULL, 0));
    *ts += 500;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_ACK, seq, ack, NULL, 0));
    memset(payload, 'u', 1448);
    for (uint64_t sent = 0; sent < bytes; sent += 1448) {
        *ts += 50;
        put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_ACK | PKTGEN_PSH, seq, ack, payload,
                            1448));
        seq += 1448;
        if ((sent / 1448) % 8 == 0)
            put(*ts + 10, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_ACK, ack, seq, NULL, 0));
    }
    *ts += 1000;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_FIN | PKTGEN_ACK, seq, ack, NULL, 0));
    put(*ts + 500, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_FIN | PKTGEN_ACK, ack, seq + 1, NULL, 0));
    *ts += 1000;
}

static void dns(uint64_t *ts, const char *client, const char *server, const char *name,
                uint16_t qtype)
{
    struct pktgen_ep ep = pktgen_ep_make(client, (uint16_t)between(1024, 65000), server, 53);
    struct addr a;
    if (addr_parse("93.184.216.34", &a) < 0)
        fail("address");
    if (pktgen_session_dns(w, ts, 3000, &ep, (uint16_t)rnd(), name, qtype, 0, &a,
                           qtype == 1 ? 1 : 0) < 0)
        fail("dns");
}

/* A DNS lookup of name (type A) answered with the address at. */
static void dns_at(uint64_t *ts, const char *client, const char *name, const char *at)
{
    struct pktgen_ep ep = pktgen_ep_make(client, (uint16_t)between(1024, 65000), "10.0.0.53", 53);
    struct addr a;
    if (addr_parse(at, &a) < 0)
        fail("address");
    if (pktgen_session_dns(w, ts, 3000, &ep, (uint16_t)rnd(), name, 1, 0, &a, 1) < 0)
        fail("dns");
}

/* A TLS connection: ClientHello plus `extra` bytes of request, resp bytes back. */
static void tls_session_req(uint64_t *ts, const char *src, uint16_t sport, const char *dst,
                            const char *sni, size_t extra, size_t resp)
{
    struct pktgen_ep ep = pktgen_ep_make(src, sport, dst, 443);
    size_t n = pktgen_tls_client_hello(payload, sizeof(payload), sni);
    memset(payload + n, 'q', extra);
    n += extra;
    static uint8_t body[PKTGEN_MAX];
    memset(body, 'r', resp);
    if (pktgen_session_tcp(w, ts, 2000, &ep, payload, n, body, resp) < 0)
        fail("tls");
}

static void tls_session(uint64_t *ts, const char *src, uint16_t sport, const char *dst,
                        const char *sni, size_t resp)
{
    tls_session_req(ts, src, sport, dst, sni, 0, resp);
}

static void browsing(uint64_t *ts, const char *client, unsigned sites)
{
    static const char *const servers[] = {"93.184.216.34", "151.101.1.69", "104.16.132.229",
                                          "142.250.74.46", "23.211.124.155", "13.107.21.200"};
    static const char *const names[] = {"www.example.com", "news.example.net",
                                        "cdn.example.org", "mail.example.com"};
    for (unsigned i = 0; i < sites; i++) {
        /* A page: a few servers, several connections each, then reading time. */
        unsigned conns = (unsigned)between(1, 4);
        for (unsigned c = 0; c < conns; c++) {
            const char *srv = servers[rnd() % WARD_ARRAY_LEN(servers)];
            const char *name = names[rnd() % WARD_ARRAY_LEN(names)];
            dns(ts, client, "10.0.0.53", name, 1);
            tls_session_req(ts, client, (uint16_t)(40000 + rnd() % 20000), srv, name,
                            (size_t)between(200, 3000), (size_t)between(2000, 40000));
        }
        *ts += between(100000, 3000000) * (rnd() % 4 == 0 ? 20 : 1);
    }
}

/* ------------------------------------------------------------------ scenarios */

static void gen_ioc_hits(void)
{
    uint64_t ts = T0;
    open_pcap("ioc_hits");
    browsing(&ts, "10.20.0.8", 5);
    session(&ts, "10.20.0.5", 50001, "203.0.113.66", 443, 300, 2000);
    dns(&ts, "10.20.0.6", "10.0.0.53", "x1.c2.badexample.org", 1);
    tls_session(&ts, "10.20.0.7", 50002, "198.18.7.7", "login.phish-example.com", 3000);
    browsing(&ts, "10.20.0.8", 5);
    close_pcap();
}

static void gen_rdp_bruteforce(void)
{
    uint64_t ts = T0;
    open_pcap("rdp_bruteforce");
    browsing(&ts, "10.30.0.20", 3);
    for (unsigned i = 0; i < 40; i++) {
        session(&ts, "10.30.0.66", (uint16_t)(50000 + i), "10.30.0.10", 3389,
                (size_t)between(1900, 2100), 3000);
        ts += 3 * SEC;
    }
    close_pcap();
}

/* NBSS + SMB2 SESSION_SETUP request or (failed) response. */
static size_t smb2_setup(uint8_t *out, bool response, uint64_t msg_id)
{
    memset(out, 0, 4 + 64 + 32);
    size_t len = 64 + 25;
    out[0] = 0;
    out[1] = 0;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    uint8_t *h = out + 4;
    h[0] = 0xfe;
    h[1] = 'S';
    h[2] = 'M';
    h[3] = 'B';
    h[4] = 64;
    if (response) {
        h[8] = 0x6d; /* STATUS_LOGON_FAILURE 0xc000006d, little-endian */
        h[9] = 0x00;
        h[10] = 0x00;
        h[11] = 0xc0;
        h[16] = 1; /* SMB2_FLAGS_SERVER_TO_REDIR */
    }
    h[12] = 1; /* SESSION_SETUP */
    h[24] = (uint8_t)msg_id;
    h[64] = response ? 9 : 25;
    return 4 + len;
}

static void gen_smb_logon_failures(void)
{
    uint64_t ts = T0;
    static uint8_t req[256], resp[256];
    open_pcap("smb_logon_failures");
    for (unsigned i = 0; i < 12; i++) {
        struct pktgen_ep ep = pktgen_ep_make("10.30.0.67", (uint16_t)(51000 + i), "10.30.0.11",
                                             445);
        size_t rq = smb2_setup(req, false, i + 1);
        size_t rs = smb2_setup(resp, true, i + 1);
        if (pktgen_session_tcp(w, &ts, 2000, &ep, req, rq, resp, rs) < 0)
            fail("smb");
        ts += 2 * SEC;
    }
    close_pcap();
}

static void gen_worm_spread(void)
{
    uint64_t ts = T0;
    char dst[32];
    open_pcap("worm_spread");
    for (unsigned i = 0; i < 30; i++) {
        snprintf(dst, sizeof(dst), "10.40.0.%u", 100 + i);
        if (i % 2) {
            session(&ts, "10.40.0.13", (uint16_t)(52000 + i), dst, 445, 600, 800);
        } else {
            struct pktgen_ep ep = pktgen_ep_make("10.40.0.13", (uint16_t)(52000 + i), dst, 445);
            if (pktgen_session_syn_probe(w, &ts, 2000, &ep, false) < 0)
                fail("probe");
        }
        ts += 2 * SEC;
    }
    close_pcap();
}

static const uint8_t gw_mac[6] = {0x02, 0x00, 0x0a, 0x50, 0x00, 0x01};
static const uint8_t evil_mac[6] = {0x02, 0x66, 0x66, 0x66, 0x66, 0x66};

static void gen_gateway_rebind(void)
{
    uint64_t ts = T0;
    static const uint8_t zero[6];
    uint8_t host_mac[6] = {0x02, 0x00, 0x0a, 0x50, 0x00, 0x20};
    open_pcap("gateway_rebind");
    /* The host asks for the gateway; the gateway answers. */
    put(ts, pktgen_arp(buf, sizeof(buf), 1, host_mac, 0x0a500020, zero, 0x0a500001, 0));
    put(ts + 300, pktgen_arp(buf, sizeof(buf), 2, gw_mac, 0x0a500001, host_mac, 0x0a500020, 0));
    ts += SEC;
    /* Outbound traffic goes to the gateway's MAC. */
    for (unsigned i = 0; i < 5; i++) {
        struct pktgen_ep ep = pktgen_ep_make("10.80.0.32", (uint16_t)(53000 + i), "93.184.216.34",
                                             443);
        memcpy(ep.dst_mac, gw_mac, 6);
        memset(payload, 'x', 100);
        struct pktgen_ep rv = pktgen_ep_reverse(&ep);
        put(ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_SYN, 1, 0, NULL, 0));
        put(ts + 1000, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_SYN | PKTGEN_ACK, 1, 2, NULL, 0));
        ts += SEC;
    }
    /* The attacker announces itself, then tells the host the gateway is at its MAC. */
    put(ts, pktgen_arp(buf, sizeof(buf), 1, evil_mac, 0x0a500042, zero, 0x0a500001, 0));
    put(ts + 200, pktgen_arp(buf, sizeof(buf), 2, gw_mac, 0x0a500001, evil_mac, 0x0a500042, 0));
    ts += SEC;
    for (unsigned i = 0; i < 10; i++) {
        put(ts, pktgen_arp(buf, sizeof(buf), 2, evil_mac, 0x0a500001, host_mac, 0x0a500020, 0));
        ts += 2 * SEC;
    }
    close_pcap();
}

static void gen_gratuitous_storm(void)
{
    uint64_t ts = T0;
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t mac[6] = {0x02, 0x77, 0x77, 0x77, 0x77, 0x77};
    open_pcap("gratuitous_storm");
    for (unsigned i = 0; i < 200; i++) {
        put(ts, pktgen_arp(buf, sizeof(buf), 1, mac, 0x0a50004d, bcast, 0x0a50004d, 0));
        ts += 25000;
    }
    close_pcap();
}

static void gen_https_beacon_jitter(void)
{
    uint64_t ts = T0;
    uint64_t next = T0 + 5 * SEC;
    open_pcap("https_beacon_jitter");
    for (unsigned i = 0; i < 20; i++) {
        while (ts + 4 * SEC < next) { /* browsing in between */
            browsing(&ts, "10.50.0.10", 1);
            ts += between(2, 8) * SEC;
        }
        ts = next;
        tls_session(&ts, "10.50.0.9", (uint16_t)(49000 + i), "198.51.100.20", "cdn-update.example",
                    (size_t)between(300, 420));
        next += between(48, 72) * SEC; /* 60 s +- 20% */
    }
    close_pcap();
}

static void gen_large_upload(void)
{
    uint64_t ts = T0;
    open_pcap("large_upload");
    for (unsigned b = 0; b < 6; b++) { /* an hour of small uploads: the baseline */
        upload(&ts, "10.60.0.8", (uint16_t)(47000 + b), "198.51.100.30", 443,
               between(30000, 70000));
        ts += between(200, 1500) * SEC;
    }
    upload(&ts, "10.60.0.8", 47100, "198.51.100.30", 443, 20u * 1000 * 1000);
    close_pcap();
}

static void gen_benign_office(void)
{
    uint64_t ts = T0;
    open_pcap("benign_office");
    for (unsigned round = 0; round < 4; round++) {
        browsing(&ts, "10.10.1.21", 6);
        browsing(&ts, "10.10.1.22", 6);
        session(&ts, "10.10.1.21", (uint16_t)(44000 + round), "10.10.0.5", 445, 3000, 200000);
        session(&ts, "10.10.1.22", (uint16_t)(44100 + round), "10.10.0.4", 389, 400, 1200);
        dns(&ts, "10.10.1.23", "10.0.0.53", "intranet.hospital.example", 1);
        ts += 20 * SEC;
    }
    session(&ts, "10.10.1.30", 45000, "10.10.0.9", 22, 20000, 200000);
    close_pcap();
}

static void gen_ntp_and_monitoring(void)
{
    uint64_t ts = T0;
    char host[32];
    open_pcap("ntp_and_monitoring");
    for (unsigned round = 0; round < 60; round++) {
        uint64_t t = T0 + round * 64 * SEC;
        struct pktgen_ep ntp = pktgen_ep_make("10.90.0.7", 123, "10.90.0.1", 123);
        struct pktgen_ep back = pktgen_ep_reverse(&ntp);
        memset(payload, 0, 48);
        payload[0] = 0x23;
        put(t, pktgen_udp(buf, sizeof(buf), &ntp, payload, 48));
        payload[0] = 0x24;
        put(t + 800, pktgen_udp(buf, sizeof(buf), &back, payload, 48));
    }
    for (unsigned round = 0; round < 60; round++) {
        ts = T0 + round * 60 * SEC + 500000;
        for (unsigned h = 0; h < 20; h++) {
            snprintf(host, sizeof(host), "10.91.0.%u", 10 + h);
            session(&ts, "10.90.0.2", (uint16_t)(30000 + (round * 20 + h) % 30000), host, 8080,
                    120, 600);
        }
    }
    close_pcap();
}

static void gen_backup_allowlisted(void)
{
    uint64_t ts = T0;
    open_pcap("backup_allowlisted");
    upload(&ts, "10.70.0.5", 46000, "203.0.113.200", 22, 200u * 1000 * 1000);
    close_pcap();
}

static void gen_cdn_dns(void)
{
    static const char *const names[] = {
        "static-hp-eus-s-msn-com.akamaized.net", "img-s-msn-com.akamaized.net",
        "assets-global-prod.akamaized.net",      "r3---sn-8xgp1vo-p5qe.googlevideo.com",
        "r4---sn-4g5e6nze.googlevideo.com",      "d1a2b3c4d5e6f7.cloudfront.net",
        "e673.dsce9.akamaiedge.net",             "fp-afd-nocache-ccp.azureedge.net",
        "prod-msrc-cdn-ppe.trafficmanager.net",  "s3-us-west-2.amazonaws.com",
        "www.hospital-portal.example",           "login.microsoftonline.com",
    };
    uint64_t ts = T0;
    char name[128];
    open_pcap("cdn_dns");
    for (unsigned i = 0; i < 40; i++)
        dns(&ts, "10.95.0.4", "10.0.0.53", names[i % WARD_ARRAY_LEN(names)], i % 3 ? 1 : 28);
    for (unsigned i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "r%u---sn-%04x%02u.googlevideo.com", i % 9,
                 (unsigned)(rnd() & 0xffff), i);
        dns(&ts, "10.95.0.4", "10.0.0.53", name, 1);
        ts += 200000;
    }
    close_pcap();
}

static void gen_beacon_rotating_name(void)
{
    static const char *const fronts[] = {"151.101.65.10", "151.101.129.10", "151.101.193.10",
                                         "151.101.1.10", "199.232.36.10"};
    uint64_t ts = T0;
    uint64_t next = T0 + 3 * SEC;
    open_pcap("beacon_rotating_name");
    for (unsigned i = 0; i < 24; i++) {
        while (ts + 4 * SEC < next) { /* another host browsing in between */
            browsing(&ts, "10.50.0.22", 1);
            ts += between(2, 8) * SEC;
        }
        ts = next;
        const char *at = fronts[rnd() % WARD_ARRAY_LEN(fronts)];
        dns_at(&ts, "10.50.0.21", "assets.front-cdn.example", at);
        tls_session_req(&ts, "10.50.0.21", (uint16_t)(49500 + i), at, "assets.front-cdn.example",
                        (size_t)between(0, 40), (size_t)between(300, 420));
        next += between(36, 54) * SEC; /* 45 s +- 20% */
    }
    close_pcap();
}

/* ------------------------------------------------------------------ IPv6 ND */

#define ND_RA 134
#define ND_NS 135
#define ND_NA 136
#define NA_ROUTER 0x80000000u
#define NA_SOLICITED 0x40000000u
#define NA_OVERRIDE 0x20000000u

static const uint8_t nd_router_mac[6] = {0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x01};

/*
 * One neighbour discovery message from mac/src to dst (multicast destinations
 * get their 33:33 MAC): rest (NA flags, RA hop limit/flags/lifetime), target for
 * NS/NA (NULL otherwise), and a link-layer address option (opt 1 source, 2
 * target; 0 for none).
 */
static void nd_msg(uint64_t ts, const uint8_t mac[6], const char *src, const char *dst,
                   uint8_t type, uint32_t rest, const char *target, uint8_t opt,
                   const uint8_t lladdr[6])
{
    uint8_t body[64];
    size_t n = 0;
    struct pktgen_ep ep = pktgen_ep_make(src, 0, dst, 0);
    memcpy(ep.src_mac, mac, 6);
    if (ep.dst.b[0] == 0xff) {
        uint8_t mc[6] = {0x33, 0x33, ep.dst.b[12], ep.dst.b[13], ep.dst.b[14], ep.dst.b[15]};
        memcpy(ep.dst_mac, mc, 6);
    } else {
        memcpy(ep.dst_mac, nd_router_mac, 6);
    }
    ep.ttl = 255;
    if (type == ND_RA) {
        memset(body, 0, 8); /* reachable time, retransmission timer */
        n = 8;
    } else if (target) {
        struct addr t;
        if (addr_parse(target, &t) < 0)
            fail("address");
        memcpy(body, t.b, 16);
        n = 16;
    }
    if (opt) {
        body[n++] = opt;
        body[n++] = 1;
        memcpy(body + n, lladdr, 6);
        n += 6;
    }
    put(ts, pktgen_icmp(buf, sizeof(buf), &ep, type, 0, rest, body, n));
}

/* A host's SLAAC address: DAD probe, then its announcement. */
static void nd_new_address(uint64_t ts, const uint8_t mac[6], const char *addr)
{
    nd_msg(ts, mac, "::", "ff02::1:ff00:1", ND_NS, 0, addr, 0, NULL);
    nd_msg(ts + SEC, mac, addr, "ff02::1", ND_NA, NA_OVERRIDE, addr, 2, mac);
}

/* The router's periodic advertisement: hop limit 64, lifetime 1800 s. */
static void nd_router_advert(uint64_t ts)
{
    nd_msg(ts, nd_router_mac, "fe80::1", "ff02::1", ND_RA, 64u << 24 | 1800, NULL, 1,
           nd_router_mac);
}

/* Host asks for the router's address (or the router for the host's), and hears back. */
static void nd_resolve(uint64_t ts, const uint8_t mac[6], const char *src, const char *target,
                       const uint8_t answer_mac[6], bool router)
{
    nd_msg(ts, mac, src, "ff02::1:ff00:1", ND_NS, 0, target, 1, mac);
    nd_msg(ts + 400, answer_mac, target, src, ND_NA,
           (router ? NA_ROUTER : 0) | NA_SOLICITED | NA_OVERRIDE, target, 2, answer_mac);
}

/* Ordinary IPv6 neighbour traffic of two hosts for `minutes`, starting at ts. */
static void nd_ordinary(uint64_t ts, unsigned minutes, unsigned seed)
{
    static const uint8_t h1[6] = {0x02, 0x00, 0x00, 0x00, 0x06, 0x0a};
    static const uint8_t h2[6] = {0x02, 0x00, 0x00, 0x00, 0x06, 0x0b};
    char addr[64];
    for (unsigned m = 0; m < minutes; m++) {
        uint64_t t = ts + (uint64_t)m * 60 * SEC;
        if (m % 3 == 0)
            nd_router_advert(t + between(0, 20) * SEC);
        if (m % 10 == 0) { /* a new temporary address for each host */
            snprintf(addr, sizeof(addr), "2001:db8:10::a:%x", 0x100 * seed + m);
            nd_new_address(t + 5 * SEC, h1, addr);
            nd_resolve(t + 40 * SEC, h1, addr, "fe80::1", nd_router_mac, true);
            snprintf(addr, sizeof(addr), "2001:db8:10::b:%x", 0x100 * seed + m);
            nd_new_address(t + 7 * SEC, h2, addr);
            nd_resolve(t + 45 * SEC, nd_router_mac, "fe80::1", addr, h2, false);
        }
        nd_resolve(t + 30 * SEC, h1, "fe80::a", "fe80::1", nd_router_mac, true);
        nd_resolve(t + 50 * SEC, h2, "fe80::b", "fe80::a", h1, false);
    }
}

static void gen_nd_router_spoof(void)
{
    static const uint8_t evil[6] = {0x02, 0x66, 0x66, 0x66, 0x66, 0x06};
    static const uint8_t h1[6] = {0x02, 0x00, 0x00, 0x00, 0x06, 0x0a};
    uint64_t ts = T0;
    open_pcap("nd_router_spoof");
    nd_ordinary(ts, 10, 1);
    ts += 10 * 60 * SEC;
    /* The attacker comes up like any host, then answers for the router's address. */
    nd_new_address(ts, evil, "2001:db8:10::66");
    ts += 20 * SEC;
    for (unsigned i = 0; i < 20; i++) {
        nd_msg(ts, h1, "fe80::a", "ff02::1:ff00:1", ND_NS, 0, "fe80::1", 1, h1);
        nd_msg(ts + 300, nd_router_mac, "fe80::1", "fe80::a", ND_NA,
               NA_ROUTER | NA_SOLICITED | NA_OVERRIDE, "fe80::1", 2, nd_router_mac);
        nd_msg(ts + 350, evil, "fe80::1", "fe80::a", ND_NA,
               NA_ROUTER | NA_SOLICITED | NA_OVERRIDE, "fe80::1", 2, evil);
        ts += 5 * SEC;
    }
    /* And advertises a default route of its own. */
    nd_msg(ts, evil, "fe80::66", "ff02::1", ND_RA, 64u << 24 | 0x08u << 16 | 9000, NULL, 1, evil);
    close_pcap();
}

static void gen_ipv6_neighbours(void)
{
    open_pcap("ipv6_neighbours");
    nd_ordinary(T0, 60, 2);
    close_pcap();
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_detect_pcaps DIR\n");
        return 2;
    }
    dir = argv[1];
    gen_ioc_hits();
    gen_rdp_bruteforce();
    gen_smb_logon_failures();
    gen_worm_spread();
    gen_gateway_rebind();
    gen_gratuitous_storm();
    gen_https_beacon_jitter();
    gen_large_upload();
    gen_benign_office();
    gen_ntp_and_monitoring();
    gen_backup_allowlisted();
    gen_cdn_dns();
    gen_beacon_rotating_name();
    gen_nd_router_spoof();
    gen_ipv6_neighbours();
    return 0;
}
