/*
 * gen_sensor_pcaps -- small deterministic captures for the sensor's integration
 * tests (tests/integration/sensor_offline.sh), written with tests/lib/pktgen:
 *
 *   mixed.pcap       Ethernet: web, TLS, DNS, DHCP, ICMP, IPv6, VLAN traffic and a
 *                    port scan, about 5 s of packet time
 *   malformed.pcap   the same with broken frames between (bad header lengths,
 *                    cut frames, DNS pointer loops, zero-length options)
 *   sll.pcap sll2.pcap raw.pcap null.pcap
 *                    mixed.pcap's IP packets under other link types
 *   snapped.pcap     mixed.pcap cut to 96 bytes per packet
 *
 * and DIR/manifest with "name packets" lines.  Usage: gen_sensor_pcaps DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

#define T0 1763700000000000ULL /* 2025-11-21, packet time of the first packet */

static const char *dir;
static FILE *manifest;

/* Every frame goes to up to 7 files at once. */
enum { F_MIXED, F_BAD, F_SLL, F_SLL2, F_RAW, F_NULL, F_SNAP, F_COUNT };
static struct pktgen_pcap *out[F_COUNT];
static const char *const names[F_COUNT] = {"mixed.pcap", "malformed.pcap", "sll.pcap",
                                           "sll2.pcap",  "raw.pcap",       "null.pcap",
                                           "snapped.pcap"};
static const uint32_t links[F_COUNT] = {PKTGEN_LINK_ETHERNET,  PKTGEN_LINK_ETHERNET,
                                        PKTGEN_LINK_LINUX_SLL, PKTGEN_LINK_LINUX_SLL2,
                                        PKTGEN_LINK_RAW,       PKTGEN_LINK_NULL,
                                        PKTGEN_LINK_ETHERNET};

static uint8_t buf[PKTGEN_MAX];
static uint8_t alt[PKTGEN_MAX + 32];
static uint64_t ts = T0;

static void fail(const char *what)
{
    fprintf(stderr, "gen_sensor_pcaps: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Writes an Ethernet frame to every file, re-framed per link type. */
static void emit(const uint8_t *f, size_t n)
{
    if (n < 14)
        fail("short frame");
    size_t l2 = 14;
    uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
    while ((type == 0x8100 || type == 0x88a8) && n >= l2 + 4) {
        type = (uint16_t)(f[l2 + 2] << 8 | f[l2 + 3]);
        l2 += 4;
    }
    if (pktgen_pcap_write(out[F_MIXED], ts, f, n) || pktgen_pcap_write(out[F_BAD], ts, f, n) ||
        pktgen_pcap_write(out[F_SNAP], ts, f, n))
        fail("write");
    if (type == 0x0800 || type == 0x86dd) {
        const uint8_t *ip = f + l2;
        size_t il = n - l2;
        static const uint8_t sll[14] = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
        memcpy(alt, sll, 14);
        alt[14] = (uint8_t)(type >> 8);
        alt[15] = (uint8_t)type;
        memcpy(alt + 16, ip, il);
        if (pktgen_pcap_write(out[F_SLL], ts, alt, il + 16))
            fail("write");
        static const uint8_t sll2[20] = {0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
        memcpy(alt, sll2, 20);
        alt[0] = (uint8_t)(type >> 8);
        alt[1] = (uint8_t)type;
        memcpy(alt + 20, ip, il);
        if (pktgen_pcap_write(out[F_SLL2], ts, alt, il + 20))
            fail("write");
        if (pktgen_pcap_write(out[F_RAW], ts, ip, il))
            fail("write");
        uint32_t fam = type == 0x0800 ? 2 : 24;
        memcpy(alt, &fam, 4); /* host order, as BSD writes it */
        memcpy(alt + 4, ip, il);
        if (pktgen_pcap_write(out[F_NULL], ts, alt, il + 4))
            fail("write");
    }
    ts += 1000;
}

/* A broken frame: only in malformed.pcap. */
static void emit_bad(const uint8_t *f, size_t n)
{
    if (pktgen_pcap_write(out[F_BAD], ts, f, n))
        fail("write");
    ts += 1000;
}

static void tcp_session(struct pktgen_ep *c, const void *req, size_t rl, size_t resp_len)
{
    static uint8_t resp[8000];
    memset(resp, 'r', sizeof(resp));
    struct pktgen_ep s = pktgen_ep_reverse(c);
    uint32_t cs = 1000, ss = 9000;
    emit(buf, pktgen_tcp(buf, sizeof(buf), c, PKTGEN_SYN, cs, 0, NULL, 0));
    emit(buf, pktgen_tcp(buf, sizeof(buf), &s, PKTGEN_SYN | PKTGEN_ACK, ss, cs + 1, NULL, 0));
    cs++, ss++;
    emit(buf, pktgen_tcp(buf, sizeof(buf), c, PKTGEN_ACK, cs, ss, NULL, 0));
    if (rl) {
        emit(buf, pktgen_tcp(buf, sizeof(buf), c, PKTGEN_ACK | PKTGEN_PSH, cs, ss, req, rl));
        cs += (uint32_t)rl;
    }
    for (size_t off = 0; off < resp_len; off += 1400) {
        size_t seg = resp_len - off < 1400 ? resp_len - off : 1400;
        emit(buf, pktgen_tcp(buf, sizeof(buf), &s, PKTGEN_ACK, ss, cs, resp, seg));
        ss += (uint32_t)seg;
    }
    emit(buf, pktgen_tcp(buf, sizeof(buf), c, PKTGEN_FIN | PKTGEN_ACK, cs, ss, NULL, 0));
    emit(buf, pktgen_tcp(buf, sizeof(buf), &s, PKTGEN_FIN | PKTGEN_ACK, ss, cs + 1, NULL, 0));
    emit(buf, pktgen_tcp(buf, sizeof(buf), c, PKTGEN_ACK, cs + 1, ss + 1, NULL, 0));
}

static void benign(unsigned round)
{
    uint8_t app[1024];
    char host[32];
    snprintf(host, sizeof(host), "10.10.1.%u", 20 + round % 10);
    struct pktgen_ep web = pktgen_ep_make(host, (uint16_t)(50000 + round), "10.10.0.80", 80);
    size_t n = pktgen_http_request(app, sizeof(app), "GET", "/his/patient", "his.hospital.example",
                                   "Mozilla/5.0");
    tcp_session(&web, app, n, 3000);
    struct pktgen_ep tls = pktgen_ep_make(host, (uint16_t)(51000 + round), "10.10.0.43", 443);
    n = pktgen_tls_client_hello(app, sizeof(app), "emr.hospital.example");
    tcp_session(&tls, app, n, 5000);
    struct pktgen_ep dns = pktgen_ep_make(host, (uint16_t)(52000 + round), "10.10.0.53", 53);
    struct addr a;
    if (addr_parse("10.10.0.43", &a))
        fail("addr");
    n = pktgen_dns_query(app, sizeof(app), (uint16_t)round, "emr.hospital.example", 1);
    emit(buf, pktgen_udp(buf, sizeof(buf), &dns, app, n));
    struct pktgen_ep back = pktgen_ep_reverse(&dns);
    n = pktgen_dns_response(app, sizeof(app), (uint16_t)round, "emr.hospital.example", 1, 0, &a,
                            1, 300);
    emit(buf, pktgen_udp(buf, sizeof(buf), &back, app, n));
    struct pktgen_ep ping = pktgen_ep_make(host, 0, "10.10.0.1", 0);
    emit(buf, pktgen_icmp_echo(buf, sizeof(buf), &ping, 1, (uint16_t)round, 56));
    struct pktgen_ep pong = pktgen_ep_reverse(&ping);
    emit(buf, pktgen_icmp(buf, sizeof(buf), &pong, 0, 0, 1u << 16 | round, NULL, 0));
    struct pktgen_ep v6 = pktgen_ep_make("fd00::20", (uint16_t)(53000 + round), "fd00::80", 8080);
    v6.vlan = 20;
    n = pktgen_http_request(app, sizeof(app), "POST", "/pacs/upload", "pacs.hospital.example",
                            "dcm4che");
    tcp_session(&v6, app, n, 1000);
}

static void malformed(unsigned round)
{
    struct pktgen_ep e = pktgen_ep_make("10.10.1.99", 40000, "10.10.0.53", 53);
    size_t n = pktgen_udp(buf, sizeof(buf), &e, "xxxxxxxxxxxxxxxxxxxx", 20);
    switch (round % 6) {
    case 0: /* IHL 4 */
        buf[14] = 0x44;
        emit_bad(buf, n);
        break;
    case 1: /* total length past the frame */
        buf[16] = 0x40;
        emit_bad(buf, n);
        break;
    case 2: /* cut on the wire */
        emit_bad(buf, 20);
        break;
    case 3: { /* DNS name pointing at itself */
        static const uint8_t loop[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
        emit_bad(buf, pktgen_udp(buf, sizeof(buf), &e, loop, sizeof(loop)));
        break;
    }
    case 4: { /* TCP option of length 0 */
        static const uint8_t zero[4] = {2, 0, 1, 1};
        e.dport = 80;
        emit_bad(buf, pktgen_tcp_opts(buf, sizeof(buf), &e, PKTGEN_SYN, 1, 0, zero, 4, NULL, 0));
        break;
    }
    default: { /* six stacked VLAN tags */
        uint8_t f[80] = {0};
        for (int i = 0; i < 6; i++) {
            f[12 + i * 4] = 0x81;
            f[15 + i * 4] = (uint8_t)(i + 1);
        }
        f[36] = 0x08;
        emit_bad(f, sizeof(f));
        break;
    }
    }
}

static void scan(void)
{
    /* 10.10.1.66 probes 200 ports of the PACS server; 22 and 104 answer. */
    for (unsigned port = 1; port <= 200; port++) {
        struct pktgen_ep c = pktgen_ep_make("10.10.1.66", 45000, "10.10.0.80", (uint16_t)port);
        struct pktgen_ep s = pktgen_ep_reverse(&c);
        emit(buf, pktgen_tcp(buf, sizeof(buf), &c, PKTGEN_SYN, 77, 0, NULL, 0));
        if (port == 22 || port == 104)
            emit(buf, pktgen_tcp(buf, sizeof(buf), &s, PKTGEN_SYN | PKTGEN_ACK, 5, 78, NULL, 0));
        else
            emit(buf, pktgen_tcp(buf, sizeof(buf), &s, PKTGEN_RST | PKTGEN_ACK, 0, 78, NULL, 0));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_sensor_pcaps DIR\n");
        return 2;
    }
    dir = argv[1];
    char path[4096];
    for (int i = 0; i < F_COUNT; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        out[i] = pktgen_pcap_open(path, links[i], i == F_SNAP ? 96 : 0);
        if (!out[i])
            fail(path);
    }
    static const uint8_t mac[6] = {0x00, 0x0c, 0x29, 0x10, 0x20, 0x30}, zero[6] = {0};
    uint8_t app[512];
    struct pktgen_ep dh = pktgen_ep_make("0.0.0.0", 68, "255.255.255.255", 67);
    size_t n = pktgen_dhcp(app, sizeof(app), 1, 7, mac, "nurse-ws-01", "MSFT 5.0", 0, 0);
    emit(buf, pktgen_udp(buf, sizeof(buf), &dh, app, n));
    emit(buf, pktgen_arp(buf, sizeof(buf), 1, mac, 0x0a0a0114, zero, 0x0a0a0001, 0));
    for (unsigned r = 0; r < 20; r++) {
        benign(r);
        malformed(r);
        ts += 200000;
        if (r == 10)
            scan();
    }
    snprintf(path, sizeof(path), "%s/manifest", dir);
    manifest = fopen(path, "w");
    if (!manifest)
        fail(path);
    for (int i = 0; i < F_COUNT; i++) {
        fprintf(manifest, "%s %llu\n", names[i], (unsigned long long)pktgen_pcap_count(out[i]));
        if (pktgen_pcap_close(out[i]) != 0)
            fail(names[i]);
    }
    if (fclose(manifest) != 0)
        fail("manifest");
    return 0;
}
