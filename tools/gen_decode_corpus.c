/*
 * gen_decode_corpus -- writes the seed corpus of the fuzz_decode target: one file
 * per interesting frame, each prefixed with the link-type selector byte that
 * tests/fuzz/fuzz_decode.c reads.  Deterministic; rerun it after changing pktgen
 * or the harness's link table:
 *
 *   build/tools/gen_decode_corpus tests/fuzz/corpus/decode
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

/* Selector bytes of fuzz_decode.c's table. */
enum { SEL_ETH = 0, SEL_RAW = 4, SEL_SLL = 8, SEL_SLL2 = 9, SEL_NULL = 10 };

static const char *dir;
static uint8_t frame[PKTGEN_MAX];
static uint8_t app[4096];

static void put(const char *name, uint8_t sel, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(sel, f) == EOF || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_decode_corpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_decode_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    size_t n, a;
    struct pktgen_ep tcp = pktgen_ep_make("10.1.1.10", 49152, "10.1.1.20", 80);
    struct pktgen_ep udp = pktgen_ep_make("10.1.1.10", 53000, "10.1.1.53", 53);
    struct pktgen_ep v6 = pktgen_ep_make("2001:db8::10", 49153, "2001:db8::20", 443);

    n = pktgen_tcp(frame, sizeof(frame), &tcp, PKTGEN_SYN, 1, 0, NULL, 0);
    put("tcp-syn", SEL_ETH, frame, n);
    a = pktgen_http_request(app, sizeof(app), "GET", "/index.html", "his.example.org", "Mozilla/5.0");
    n = pktgen_tcp(frame, sizeof(frame), &tcp, PKTGEN_ACK | PKTGEN_PSH, 2, 1, app, a);
    put("http-get", SEL_ETH, frame, n);
    a = pktgen_tls_client_hello(app, sizeof(app), "emr.example.org");
    tcp.dport = 443;
    n = pktgen_tcp(frame, sizeof(frame), &tcp, PKTGEN_ACK | PKTGEN_PSH, 2, 1, app, a);
    put("tls-hello", SEL_ETH, frame, n);
    a = pktgen_dns_query(app, sizeof(app), 0x4242, "pacs.hospital.example", 1);
    n = pktgen_udp(frame, sizeof(frame), &udp, app, a);
    put("dns-query", SEL_ETH, frame, n);
    struct addr ans[2];
    if (addr_parse("10.1.1.99", &ans[0]) || addr_parse("2001:db8::99", &ans[1]))
        return 1;
    a = pktgen_dns_response(app, sizeof(app), 0x4242, "pacs.hospital.example", 1, 0, ans, 2, 60);
    struct pktgen_ep udpr = pktgen_ep_reverse(&udp);
    n = pktgen_udp(frame, sizeof(frame), &udpr, app, a);
    put("dns-response", SEL_ETH, frame, n);
    /* A name whose pointer points at itself. */
    {
        uint8_t loop[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1};
        n = pktgen_udp(frame, sizeof(frame), &udp, loop, sizeof(loop));
        put("dns-pointer-loop", SEL_ETH, frame, n);
    }
    struct pktgen_ep dh = pktgen_ep_make("0.0.0.0", 68, "255.255.255.255", 67);
    uint8_t mac[6] = {0x00, 0x0c, 0x29, 0x11, 0x22, 0x33};
    a = pktgen_dhcp(app, sizeof(app), 3, 0xdeadbeef, mac, "ward-ws-01", "MSFT 5.0", 0x0a01010a, 0);
    n = pktgen_udp(frame, sizeof(frame), &dh, app, a);
    put("dhcp-request", SEL_ETH, frame, n);
    n = pktgen_icmp_echo(frame, sizeof(frame), &tcp, 7, 1, 56);
    put("icmp-echo", SEL_ETH, frame, n);
    /* Port unreachable quoting a UDP probe. */
    {
        struct pktgen_ep q = udp;
        q.raw_ip = true;
        size_t qn = pktgen_udp(app, sizeof(app), &q, "x", 1);
        struct pktgen_ep back = pktgen_ep_reverse(&udp);
        n = pktgen_icmp(frame, sizeof(frame), &back, 3, 3, 0, app, qn > 28 ? 28 : qn);
        put("icmp-unreach", SEL_ETH, frame, n);
    }
    /* ICMPv6 neighbour solicitation with a source link-layer option. */
    {
        uint8_t ns[24] = {0};
        memcpy(ns, v6.dst.b, 16);
        ns[16] = 1;
        ns[17] = 1;
        memcpy(ns + 18, mac, 6);
        n = pktgen_icmp(frame, sizeof(frame), &v6, 135, 0, 0, ns, sizeof(ns));
        put("icmp6-ns", SEL_ETH, frame, n);
    }
    n = pktgen_icmp_echo(frame, sizeof(frame), &v6, 9, 2, 16);
    put("icmp6-echo", SEL_ETH, frame, n);
    /* IPv6: hop-by-hop, then a first fragment, then UDP. */
    {
        uint8_t l4[8 + 8 + 8 + 4];
        memset(l4, 0, sizeof(l4));
        l4[0] = 44;          /* hop-by-hop -> fragment */
        l4[1] = 0;
        l4[2] = 1;           /* PadN */
        l4[3] = 4;
        l4[8] = 17;          /* fragment -> UDP, offset 0, M=1 */
        l4[11] = 1;
        l4[16] = 0x12;       /* UDP 4660 -> 53, length 12 */
        l4[17] = 0x34;
        l4[19] = 53;
        l4[21] = 12;
        n = pktgen_ip(frame, sizeof(frame), &v6, 0, l4, sizeof(l4));
        put("ip6-ext-frag", SEL_ETH, frame, n);
    }
    n = pktgen_arp(frame, sizeof(frame), 1, mac, 0x0a01010a, (const uint8_t[6]){0}, 0x0a010101, 0);
    put("arp-request", SEL_ETH, frame, n);
    {
        struct pktgen_ep q = tcp;
        q.vlan = 100;
        q.vlan_inner = 200;
        n = pktgen_tcp(frame, sizeof(frame), &q, PKTGEN_SYN, 1, 0, NULL, 0);
        put("qinq-syn", SEL_ETH, frame, n);
    }
    {
        struct pktgen_ep r = tcp;
        r.raw_ip = true;
        n = pktgen_tcp(frame, sizeof(frame), &r, PKTGEN_ACK, 5, 6, "data", 4);
        put("raw-ip4", SEL_RAW, frame, n);
        /* Cooked v1, v2 and BSD loopback around the same IP packet. */
        uint8_t buf[PKTGEN_MAX];
        uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 0x00, 0x0c, 0x29, 0x11, 0x22, 0x33, 0, 0, 0x08, 0x00};
        memcpy(buf, sll, 16);
        memcpy(buf + 16, frame, n);
        put("sll-ip4", SEL_SLL, buf, n + 16);
        uint8_t sll2[20] = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6,
                            0x00, 0x0c, 0x29, 0x11, 0x22, 0x33, 0, 0};
        memcpy(buf, sll2, 20);
        memcpy(buf + 20, frame, n);
        put("sll2-ip4", SEL_SLL2, buf, n + 20);
        uint8_t lo[4] = {2, 0, 0, 0};
        memcpy(buf, lo, 4);
        memcpy(buf + 4, frame, n);
        put("null-ip4", SEL_NULL, buf, n + 4);
    }
    return 0;
}
