/*
 * gen_demo_pcap -- Ward's own demo capture: about a quarter of an hour of a
 * hospital segment, written deterministically (the same bytes on every run) so
 * `make demo` and the integration tests need no outside recording.
 *
 * The segment: clinical workstations in 10.20.0.0/24 (DHCP host names such as
 * NURSE-WS-11), servers in 10.10.0.0/24 (DNS 10.10.0.53, HIS 10.10.0.10 taking
 * HL7 over MLLP on 2575, PACS 10.10.0.20, file server 10.10.0.30, SSH jump host
 * 10.10.0.40), the Internet beyond the gateway.  Benign traffic throughout:
 * DHCP, ARP, DNS, HTTPS to a few sites, HL7 sessions to the HIS, file shares.
 * In it, in order:
 *
 *   portscan    10.20.0.23 SYN-scans the PACS server on 200 ports
 *   bruteforce  10.20.0.66 opens 30 short SSH sessions to 10.10.0.40
 *   lateral     10.20.0.23 reaches 24 workstations on 445 within a minute
 *   dns_tunnel  10.20.0.19 sends 60 encoded TXT queries under t.tunnel-example.net
 *   beacon      10.20.0.17 checks in with 198.51.100.23:443 every ~45 s
 *   exfil       10.20.0.21 uploads 6 MB to 203.0.113.50:443
 *
 * Usage: gen_demo_pcap FILE.pcap
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

#define DEMO_T0 1763712000000000ULL /* 2025-11-21 08:00:00 UTC, packet time of the start */
#define SEC 1000000ULL
#define MIN (60 * SEC)

static struct pktgen_pcap *w;
static uint8_t buf[PKTGEN_MAX];
static uint8_t payload[65536];
static struct pktgen_rng rng = {0x5741524444454d4fULL}; /* "WARDDEMO" */

static void fail(const char *what)
{
    fprintf(stderr, "gen_demo_pcap: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t between(uint64_t lo, uint64_t hi)
{
    return lo + pktgen_rng_below(&rng, (uint32_t)(hi - lo + 1));
}

static void put(uint64_t ts, size_t n)
{
    if (!n || pktgen_pcap_write(w, ts, buf, n) < 0)
        fail("write");
}

static uint32_t ip4(const char *s)
{
    struct addr a;
    if (addr_parse(s, &a) < 0 || a.family != 4)
        fail(s);
    return (uint32_t)a.b[0] << 24 | (uint32_t)a.b[1] << 16 | (uint32_t)a.b[2] << 8 | a.b[3];
}

static void tcp_session(uint64_t *ts, const char *src, uint16_t sport, const char *dst,
                        uint16_t dport, const void *req, size_t req_len, size_t resp_len)
{
    struct pktgen_ep ep = pktgen_ep_make(src, sport, dst, dport);
    static uint8_t resp[PKTGEN_MAX];
    memset(resp, 'r', resp_len < sizeof(resp) ? resp_len : sizeof(resp));
    if (pktgen_session_tcp(w, ts, 1500, &ep, req, req_len, resp, resp_len) < 0)
        fail("tcp session");
}

static void dns_lookup(uint64_t *ts, const char *client, const char *name, uint16_t qtype,
                       const char *answer)
{
    struct pktgen_ep ep = pktgen_ep_make(client, (uint16_t)between(20000, 60000), "10.10.0.53",
                                         53);
    struct addr a;
    size_t n = 0;
    if (answer) {
        if (addr_parse(answer, &a) < 0)
            fail(answer);
        n = 1;
    }
    if (pktgen_session_dns(w, ts, 800, &ep, (uint16_t)between(1, 65535), name, qtype, 0, &a, n) <
        0)
        fail("dns");
}

static void https(uint64_t *ts, const char *client, const char *server, const char *name,
                  size_t up, size_t down)
{
    dns_lookup(ts, client, name, 1, server);
    size_t n = pktgen_tls_client_hello(payload, sizeof(payload), name);
    memset(payload + n, 'q', up);
    tcp_session(ts, client, (uint16_t)between(40000, 60000), server, 443, payload, n + up, down);
}

/* ------------------------------------------------------------------ benign */

/* 10.20.0.17 checks in with its controller every 45 s (+-10%), among other traffic. */
#define DEMO_BEACONS 16
static uint64_t beacon_next = DEMO_T0 + 30 * SEC;
static unsigned beacons;

static void maybe_beacon(uint64_t *ts)
{
    if (beacons >= DEMO_BEACONS || *ts < beacon_next)
        return;
    size_t n = pktgen_tls_client_hello(payload, sizeof(payload), "cdn-sync.example.net");
    tcp_session(ts, "10.20.0.17", (uint16_t)(49000 + beacons), "198.51.100.23", 443, payload, n,
                (size_t)between(300, 360));
    beacons++;
    beacon_next += between(405, 495) * SEC / 10;
}


static const char *const workstations[] = {"10.20.0.11", "10.20.0.12", "10.20.0.13",
                                           "10.20.0.14", "10.20.0.15", "10.20.0.16"};
static const struct {
    const char *addr; /* server address */
    const char *name; /* its DNS name */
} sites[] = {
    {"93.184.216.34", "portal.health-example.org"},
    {"151.101.1.69", "cdn.medref-example.com"},
    {"13.107.21.200", "mail.hospital-example.net"},
    {"142.250.74.46", "updates.vendor-example.com"},
};

static void dhcp_and_arp(uint64_t *ts, unsigned host)
{
    char name[32];
    uint8_t mac[6] = {0x02, 0x00, 0x0a, 0x14, 0x00, (uint8_t)host};
    uint8_t srv_mac[6] = {0x02, 0x00, 0x0a, 0x0a, 0x00, 0x02};
    static const uint8_t zero[6];
    uint32_t yiaddr = ip4("10.20.0.0") | host;
    snprintf(name, sizeof(name), "NURSE-WS-%02u", host);

    struct pktgen_ep c = pktgen_ep_make("0.0.0.0", 68, "255.255.255.255", 67);
    memcpy(c.src_mac, mac, 6);
    memset(c.dst_mac, 0xff, 6);
    struct pktgen_ep s = pktgen_ep_make("10.10.0.2", 67, "255.255.255.255", 68);
    memcpy(s.src_mac, srv_mac, 6);
    memset(s.dst_mac, 0xff, 6);
    uint32_t xid = (uint32_t)pktgen_rng_next(&rng);
    size_t n = pktgen_dhcp(payload, sizeof(payload), 1, xid, mac, name, "MSFT 5.0", 0, 0);
    put(*ts, pktgen_udp(buf, sizeof(buf), &c, payload, n));
    n = pktgen_dhcp(payload, sizeof(payload), 2, xid, mac, NULL, NULL, 0, yiaddr);
    put(*ts + 2000, pktgen_udp(buf, sizeof(buf), &s, payload, n));
    n = pktgen_dhcp(payload, sizeof(payload), 3, xid, mac, name, "MSFT 5.0", yiaddr, 0);
    put(*ts + 4000, pktgen_udp(buf, sizeof(buf), &c, payload, n));
    n = pktgen_dhcp(payload, sizeof(payload), 5, xid, mac, NULL, NULL, 0, yiaddr);
    put(*ts + 6000, pktgen_udp(buf, sizeof(buf), &s, payload, n));
    /* The new host looks for its gateway; the gateway answers. */
    uint8_t gw_mac[6] = {0x02, 0x00, 0x0a, 0x14, 0x00, 0x01};
    put(*ts + 10000, pktgen_arp(buf, sizeof(buf), 1, mac, yiaddr, zero, ip4("10.20.0.1"), 0));
    put(*ts + 10400, pktgen_arp(buf, sizeof(buf), 2, gw_mac, ip4("10.20.0.1"), mac, yiaddr, 0));
    *ts += 20000;
}

/* One HL7 v2 ADT message over MLLP to the HIS and its ACK. */
static void hl7(uint64_t *ts, const char *ws, unsigned seq)
{
    int n = snprintf((char *)payload, sizeof(payload),
                     "\x0bMSH|^~\\&|WARD-WS|WARD|HIS|HOSP|20251121080000||ADT^A08|MSG%05u|P|2.5\r"
                     "PID|1||%07u^^^HOSP^MR||DOE^JANE||19700101|F\r"
                     "PV1|1|I|WARD3^301^1\r\x1c\r",
                     seq, 1000000 + seq);
    tcp_session(ts, ws, (uint16_t)between(40000, 60000), "10.10.0.10", 2575, payload, (size_t)n,
                64);
}

/* A few minutes of ordinary clinical work from every workstation. */
static void benign(uint64_t *ts, uint64_t until)
{
    static unsigned msg;
    while (*ts < until) {
        maybe_beacon(ts);
        const char *ws = workstations[pktgen_rng_below(&rng, WARD_ARRAY_LEN(workstations))];
        switch (pktgen_rng_below(&rng, 5)) {
        case 0:
        case 1: {
            unsigned s = pktgen_rng_below(&rng, WARD_ARRAY_LEN(sites));
            https(ts, ws, sites[s].addr, sites[s].name, (size_t)between(200, 1500),
                  (size_t)between(3000, 30000));
            break;
        }
        case 2:
            hl7(ts, ws, ++msg);
            break;
        case 3:
            dns_lookup(ts, ws, "his.hospital.example", 1, "10.10.0.10");
            tcp_session(ts, ws, (uint16_t)between(40000, 60000), "10.10.0.30", 445, "smb", 3,
                        (size_t)between(2000, 20000));
            break;
        default:
            dns_lookup(ts, ws, "pacs.hospital.example", 1, "10.10.0.20");
            break;
        }
        *ts += between(500, 4000) * 1000;
    }
}

/* ------------------------------------------------------------------ attacks */

/* 10.20.0.23 SYN-scans the PACS server: 200 ports, three of them open. */
static void portscan(uint64_t *ts)
{
    for (unsigned i = 0; i < 200; i++) {
        uint16_t port = (uint16_t)(i < 100 ? 1 + i * 7 : 1000 + (i - 100) * 13);
        bool open = port == 22 || port == 104 || port == 1443;
        struct pktgen_ep ep = pktgen_ep_make("10.20.0.23", (uint16_t)(61000 + i), "10.10.0.20",
                                             port);
        if (pktgen_session_syn_probe(w, ts, 300, &ep, open) < 0)
            fail("probe");
        *ts += 5000;
    }
}

/* 10.20.0.66 tries 30 SSH logins on the jump host, each a short session. */
static void bruteforce(uint64_t *ts)
{
    static const char banner[] = "SSH-2.0-OpenSSH_8.4\r\n";
    for (unsigned i = 0; i < 30; i++) {
        memcpy(payload, banner, sizeof(banner) - 1);
        memset(payload + sizeof(banner) - 1, 'k', 1200);
        tcp_session(ts, "10.20.0.66", (uint16_t)(50000 + i), "10.10.0.40", 22, payload,
                    sizeof(banner) - 1 + 1200, 1800);
        *ts += 2 * SEC;
        maybe_beacon(ts);
    }
}

/* 10.20.0.23 reaches 24 workstations on 445 in under a minute. */
static void lateral(uint64_t *ts)
{
    char dst[32];
    for (unsigned i = 0; i < 24; i++) {
        snprintf(dst, sizeof(dst), "10.20.0.%u", 100 + i);
        if (i % 3 == 0) {
            tcp_session(ts, "10.20.0.23", (uint16_t)(52000 + i), dst, 445, "smb-negotiate", 13,
                        600);
        } else {
            struct pktgen_ep ep = pktgen_ep_make("10.20.0.23", (uint16_t)(52000 + i), dst, 445);
            if (pktgen_session_syn_probe(w, ts, 1500, &ep, false) < 0)
                fail("probe");
        }
        *ts += 2 * SEC;
        maybe_beacon(ts);
    }
}

/* 10.20.0.19 moves data out in encoded DNS names. */
static void dns_tunnel(uint64_t *ts)
{
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    char name[200];
    for (unsigned i = 0; i < 60; i++) {
        char label[56];
        for (size_t k = 0; k + 1 < sizeof(label); k++)
            label[k] = b32[pktgen_rng_below(&rng, 32)];
        label[sizeof(label) - 1] = '\0';
        snprintf(name, sizeof(name), "%s.%04u.t.tunnel-example.net", label, i);
        dns_lookup(ts, "10.20.0.19", name, 16, NULL);
        *ts += between(200, 900) * 1000;
    }
}

/* 10.20.0.21 uploads 6 MB to an outside server in one burst. */
static void exfil(uint64_t *ts)
{
    struct pktgen_ep ep = pktgen_ep_make("10.20.0.21", 47100, "203.0.113.50", 443);
    struct pktgen_ep rv = pktgen_ep_reverse(&ep);
    uint32_t seq = 1000, ack = 5000;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_SYN, seq++, 0, NULL, 0));
    put(*ts + 400, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_SYN | PKTGEN_ACK, ack++, seq, NULL, 0));
    put(*ts + 800, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_ACK, seq, ack, NULL, 0));
    *ts += 1000;
    memset(payload, 'u', 1448);
    for (uint64_t sent = 0; sent < 6u * 1000 * 1000; sent += 1448) {
        *ts += 60;
        put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_ACK | PKTGEN_PSH, seq, ack, payload,
                            1448));
        seq += 1448;
        if ((sent / 1448) % 8 == 0)
            put(*ts + 10, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_ACK, ack, seq, NULL, 0));
    }
    *ts += 1000;
    put(*ts, pktgen_tcp(buf, sizeof(buf), &ep, PKTGEN_FIN | PKTGEN_ACK, seq, ack, NULL, 0));
    put(*ts + 400, pktgen_tcp(buf, sizeof(buf), &rv, PKTGEN_FIN | PKTGEN_ACK, ack, seq + 1, NULL,
                              0));
    *ts += 1000;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_demo_pcap FILE.pcap\n");
        return 2;
    }
    w = pktgen_pcap_open(argv[1], PKTGEN_LINK_ETHERNET, 0);
    if (!w)
        fail(argv[1]);

    uint64_t ts = DEMO_T0;
    for (unsigned h = 11; h <= 16; h++)
        dhcp_and_arp(&ts, h);
    dhcp_and_arp(&ts, 17);
    dhcp_and_arp(&ts, 19);
    dhcp_and_arp(&ts, 21);
    dhcp_and_arp(&ts, 23);

    /* Two minutes of ordinary work before each attack; the beacon keeps its rhythm. */
    void (*const attacks[])(uint64_t *) = {portscan, bruteforce, lateral, dns_tunnel, NULL};
    for (size_t i = 0; attacks[i]; i++) {
        benign(&ts, DEMO_T0 + (i + 1) * 2 * MIN);
        attacks[i](&ts);
    }
    while (beacons < DEMO_BEACONS)
        benign(&ts, ts + 10 * SEC);
    exfil(&ts);
    benign(&ts, ts + MIN);

    uint64_t packets = pktgen_pcap_count(w);
    if (pktgen_pcap_close(w) < 0)
        fail(argv[1]);
    fprintf(stderr, "gen_demo_pcap: %s: %llu packets, %llu s of traffic\n", argv[1],
            (unsigned long long)packets, (unsigned long long)((ts - DEMO_T0) / SEC));
    return 0;
}
