/*
 * test_decode -- link, network and transport decoders: a known-good packet of
 * each, one test per anomaly, truncation sweeps (cut on the wire: never usable;
 * cut by the snap length: never an anomaly), oversized lengths, zero-length and
 * runaway options, and stacked VLANs.  Application decoders: test_decode_app.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "pktgen.h"

static uint8_t frame[PKTGEN_MAX];
static struct pkt p;

static enum decode_rc eth(const uint8_t *f, size_t n)
{
    return decode_packet(DECODE_LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, 1000, &p);
}

static bool has_anom(enum pkt_anomaly a)
{
    return (p.anomalies & (1ULL << a)) != 0;
}

static struct pktgen_ep ep4(void)
{
    return pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", 80);
}

static struct pktgen_ep ep6(void)
{
    return pktgen_ep_make("2001:db8::1", 40000, "2001:db8::2", 80);
}

/* Every cut of a frame: on the wire (wirelen = caplen) it is never usable and
 * never crashes; by the snap length (wirelen = full) it is never an anomaly. */
static void sweep(int link, const uint8_t *f, size_t len)
{
    for (size_t n = 0; n < len; n++) {
        enum decode_rc rc = decode_packet(link, f, (uint32_t)n, (uint32_t)n, 1, &p);
        assert_int_not_equal(rc, DECODE_OK);
        rc = decode_packet(link, f, (uint32_t)n, (uint32_t)len, 1, &p);
        (void)rc;
        assert_true(p.anomalies == 0 || p.anomalies == (1ULL << ANOM_IP4_FRAGMENT));
    }
}

/* ------------------------------------------------------------------ Ethernet, VLAN */

static void test_decode_eth_tcp_known_good(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_SYN, 100, 0, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ETH) && pkt_has(&p, PKT_IP4) && pkt_has(&p, PKT_TCP));
    assert_int_equal(p.anomalies, 0);
    assert_int_equal(p.ethertype, 0x0800);
    assert_int_equal(p.src.family, 4);
    assert_int_equal(addr_v4_host(&p.src), 0x0a000001);
    assert_int_equal(addr_v4_host(&p.dst), 0x0a000002);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 80);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.ttl, 64);
    assert_int_equal(p.ip_len, n - 14);
    assert_int_equal(p.tcp.flags, TCP_SYN);
    assert_int_equal(p.tcp.seq, 100);
    assert_int_equal(p.tcp.mss, 1460);
    assert_int_equal(p.tcp.wscale, 7);
    assert_true(p.tcp.sack_ok);
    assert_true(p.tcp.has_ts);
    assert_string_equal(p.tcp.opt_order, "MSTNW");
    assert_int_equal(p.payload_len, 0);
    assert_memory_equal(p.src_mac, e.src_mac, 6);
}

static void test_decode_eth_every_truncation(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK, 1, 1, "hello", 5);
    sweep(DECODE_LINK_ETHERNET, frame, n);
}

static void test_decode_eth_short_frame_is_anomaly(void **state)
{
    (void)state;
    assert_int_equal(eth(frame, 10), DECODE_TRUNCATED);
    assert_true(has_anom(ANOM_ETH_TRUNCATED));
}

static void test_decode_eth_unknown_ethertype_unsupported(void **state)
{
    (void)state;
    uint8_t f[60] = {0};
    f[12] = 0x88;
    f[13] = 0xcc; /* LLDP */
    assert_int_equal(eth(f, sizeof(f)), DECODE_UNSUPPORTED);
    assert_int_equal(p.anomalies, 0);
}

static void test_decode_vlan_single_tag(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    e.vlan = 42;
    size_t n = pktgen_udp(frame, sizeof(frame), &e, "x", 1);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_VLAN) && pkt_has(&p, PKT_UDP));
    assert_int_equal(p.vlan, 42);
    assert_int_equal(p.vlan_inner, 0);
}

static void test_decode_vlan_qinq(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    e.vlan = 100;
    e.vlan_inner = 200;
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_int_equal(p.vlan, 100);
    assert_int_equal(p.vlan_inner, 200);
    sweep(DECODE_LINK_ETHERNET, frame, n);
}

static void test_decode_vlan_stack_too_deep(void **state)
{
    (void)state;
    uint8_t f[80] = {0};
    size_t o = 12;
    for (int i = 0; i < 6; i++) {
        f[o] = 0x81;
        f[o + 1] = 0x00;
        f[o + 3] = (uint8_t)(i + 1);
        o += 4;
    }
    f[o] = 0x08;
    assert_int_equal(eth(f, sizeof(f)), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_VLAN_TOO_DEEP));
}

/* ------------------------------------------------------------------ other link types */

static void test_decode_link_types(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    e.raw_ip = true;
    uint8_t ip[256], buf[300];
    size_t n = pktgen_udp(ip, sizeof(ip), &e, "abc", 3);

    assert_int_equal(decode_packet(DECODE_LINK_RAW, ip, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    assert_true(pkt_has(&p, PKT_UDP));
    assert_int_equal(decode_packet(DECODE_LINK_RAW_DLT, ip, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    assert_int_equal(decode_packet(DECODE_LINK_IPV4, ip, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);

    static const uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 0x08, 0x00};
    memcpy(buf, sll, 16);
    memcpy(buf + 16, ip, n);
    assert_int_equal(decode_packet(DECODE_LINK_LINUX_SLL, buf, (uint32_t)n + 16,
                                   (uint32_t)n + 16, 1, &p),
                     DECODE_OK);
    assert_true(pkt_has(&p, PKT_UDP));
    assert_int_equal(p.src_mac[5], 9);
    sweep(DECODE_LINK_LINUX_SLL, buf, n + 16);

    static const uint8_t sll2[20] = {0x08, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 7, 0, 0};
    memcpy(buf, sll2, 20);
    memcpy(buf + 20, ip, n);
    assert_int_equal(decode_packet(DECODE_LINK_LINUX_SLL2, buf, (uint32_t)n + 20,
                                   (uint32_t)n + 20, 1, &p),
                     DECODE_OK);
    assert_int_equal(p.src_mac[5], 7);
    sweep(DECODE_LINK_LINUX_SLL2, buf, n + 20);

    static const uint8_t null_le[4] = {2, 0, 0, 0}, loop_be[4] = {0, 0, 0, 2};
    memcpy(buf, null_le, 4);
    memcpy(buf + 4, ip, n);
    assert_int_equal(
        decode_packet(DECODE_LINK_NULL, buf, (uint32_t)n + 4, (uint32_t)n + 4, 1, &p), DECODE_OK);
    memcpy(buf, loop_be, 4);
    assert_int_equal(
        decode_packet(DECODE_LINK_LOOP, buf, (uint32_t)n + 4, (uint32_t)n + 4, 1, &p), DECODE_OK);
    sweep(DECODE_LINK_NULL, buf, n + 4);

    assert_int_equal(decode_packet(147, buf, 10, 10, 1, &p), DECODE_UNSUPPORTED);
    assert_true(has_anom(ANOM_LINKTYPE_UNSUPPORTED));
    assert_false(decode_link_is_supported(147));
}

static void test_decode_raw_ipv6(void **state)
{
    (void)state;
    struct pktgen_ep e = ep6();
    e.raw_ip = true;
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, NULL, 0);
    assert_int_equal(decode_packet(DECODE_LINK_RAW, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    assert_true(pkt_has(&p, PKT_IP6) && pkt_has(&p, PKT_TCP));
    assert_int_equal(decode_packet(DECODE_LINK_IPV6, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    frame[0] = 0x50; /* version 5 */
    assert_int_equal(decode_packet(DECODE_LINK_RAW, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP_BAD_VERSION));
}

/* ------------------------------------------------------------------ ARP */

static void test_decode_arp_known_good(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1}, zero[6] = {0};
    size_t n = pktgen_arp(frame, sizeof(frame), 1, mac, 0x0a000001, zero, 0x0a000002, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ARP));
    assert_int_equal(p.arp.op, 1);
    assert_int_equal(addr_v4_host(&p.arp.spa), 0x0a000001);
    assert_int_equal(addr_v4_host(&p.arp.tpa), 0x0a000002);
    assert_memory_equal(p.arp.sha, mac, 6);
    sweep(DECODE_LINK_ETHERNET, frame, 14 + 28);
}

static void test_decode_arp_bad_sizes(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1}, zero[6] = {0};
    size_t n = pktgen_arp(frame, sizeof(frame), 2, mac, 1, zero, 2, 0);
    frame[14 + 4] = 8; /* hlen 8 */
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_ARP_MALFORMED));
    n = pktgen_arp(frame, sizeof(frame), 2, mac, 1, zero, 2, 0);
    frame[14 + 7] = 9; /* opcode 9 */
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
}

/* ------------------------------------------------------------------ IPv4 */

static size_t ip4_udp(void)
{
    struct pktgen_ep e = ep4();
    return pktgen_udp(frame, sizeof(frame), &e, "payload!", 8);
}

static void test_decode_ipv4_hlen_too_small(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[14] = 0x44;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP4_HLEN_TOO_SMALL));
}

static void test_decode_ipv4_len_too_small(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[16] = 0;
    frame[17] = 19;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP4_LEN_TOO_SMALL));
}

static void test_decode_ipv4_oversized_length(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[16] = 0xff;
    frame[17] = 0xff;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP4_LEN_PAST_CAPTURE));
    /* The same length is fine when the capture says the wire had it all. */
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, 65535 + 14, 1, &p),
                     DECODE_OK);
    assert_false(has_anom(ANOM_IP4_LEN_PAST_CAPTURE));
}

static void test_decode_ipv4_padding_trimmed(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK, 1, 1, NULL, 0);
    memset(frame + n, 0xee, 6); /* Ethernet padding to 60 bytes */
    assert_int_equal(eth(frame, n + 6), DECODE_OK);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(rd_left(&p.payload), 0);
}

static void test_decode_ipv4_options(void **state)
{
    (void)state;
    /* A hand-made header with 8 bytes of options: NOP, NOP, then a record route of 4. */
    struct pktgen_ep e = ep4();
    size_t n = pktgen_udp(frame, sizeof(frame), &e, "x", 1);
    uint8_t g[128];
    memcpy(g, frame, 34);
    static const uint8_t opts[8] = {1, 1, 7, 4, 4, 0, 0, 0};
    memcpy(g + 34, opts, 8);
    memcpy(g + 42, frame + 34, n - 34);
    g[14] = 0x47;
    uint16_t total = (uint16_t)(n - 14 + 8);
    g[16] = (uint8_t)(total >> 8);
    g[17] = (uint8_t)total;
    assert_int_equal(eth(g, n + 8), DECODE_OK);
    assert_true(pkt_has(&p, PKT_UDP));
    /* Zero-length option: a naive parser would loop. */
    g[34] = 0x44;
    g[35] = 0;
    assert_int_equal(eth(g, n + 8), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP4_BAD_OPTIONS));
    /* Option longer than the options area. */
    g[34] = 7;
    g[35] = 40;
    assert_int_equal(eth(g, n + 8), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP4_BAD_OPTIONS));
}

static void test_decode_ipv4_fragments(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[20] = 0x20; /* MF, offset 0: first fragment, transport decoded */
    frame[21] = 0x00;
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(p.fragment);
    assert_true(has_anom(ANOM_IP4_FRAGMENT));
    assert_true(pkt_has(&p, PKT_UDP));
    frame[20] = 0x00; /* offset 8: no transport header here */
    frame[21] = 0x01;
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(p.fragment);
    assert_false(pkt_has(&p, PKT_UDP));
    assert_int_equal(p.proto, 17);
}

/* ------------------------------------------------------------------ IPv6 */

static void test_decode_ipv6_known_good(void **state)
{
    (void)state;
    struct pktgen_ep e = ep6();
    size_t n = pktgen_udp(frame, sizeof(frame), &e, "six", 3);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_IP6) && pkt_has(&p, PKT_UDP));
    assert_int_equal(p.src.family, 6);
    assert_int_equal(p.dst.b[15], 2);
    assert_int_equal(p.ip_len, n - 14);
    assert_int_equal(p.payload_len, 3);
    sweep(DECODE_LINK_ETHERNET, frame, n);
}

/* IPv6 whose payload is the given extension chain; first next-header nh. */
static size_t ip6_with(uint8_t nh, const uint8_t *chain, size_t len)
{
    struct pktgen_ep e = ep6();
    return pktgen_ip(frame, sizeof(frame), &e, nh, chain, len);
}

static void test_decode_ipv6_extension_headers(void **state)
{
    (void)state;
    uint8_t c[64] = {0};
    c[0] = 60; /* hop-by-hop -> destination options */
    c[8] = 17; /* destination options -> UDP */
    c[16] = 0x12, c[17] = 0x34, c[19] = 53, c[21] = 8; /* UDP, length 8 */
    size_t n = ip6_with(0, c, 24);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_UDP));
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.dport, 53);
    sweep(DECODE_LINK_ETHERNET, frame, n);
}

static void test_decode_ipv6_too_many_extensions(void **state)
{
    (void)state;
    uint8_t c[8 * 12] = {0};
    for (int i = 0; i < 12; i++)
        c[i * 8] = 60; /* destination options, forever */
    size_t n = ip6_with(60, c, sizeof(c));
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP6_EXT_TOO_MANY));
}

static void test_decode_ipv6_extension_past_end(void **state)
{
    (void)state;
    uint8_t c[16] = {0};
    c[0] = 17;
    c[1] = 200; /* claims 1608 bytes */
    size_t n = ip6_with(0, c, sizeof(c));
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP6_EXT_MALFORMED));
}

static void test_decode_ipv6_fragment(void **state)
{
    (void)state;
    uint8_t c[24] = {0};
    c[0] = 17;
    c[3] = 1;           /* offset 0, M: first fragment */
    c[8 + 3] = 53;      /* UDP dport 53 */
    c[8 + 5] = 100;     /* length 100: longer than this fragment, fine */
    size_t n = ip6_with(44, c, sizeof(c));
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(p.fragment);
    assert_true(pkt_has(&p, PKT_UDP));
    c[2] = 0x01;        /* offset 32: a later fragment */
    n = ip6_with(44, c, sizeof(c));
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_false(pkt_has(&p, PKT_UDP));
}

static void test_decode_ipv6_oversized_length(void **state)
{
    (void)state;
    struct pktgen_ep e = ep6();
    size_t n = pktgen_udp(frame, sizeof(frame), &e, "six", 3);
    frame[18] = 0x40; /* payload length 16384 + */
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_IP6_LEN_PAST_CAPTURE));
}

/* ------------------------------------------------------------------ TCP */

static void test_decode_tcp_payload(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK | PKTGEN_PSH, 7, 9, "abcdef", 6);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_int_equal(p.payload_len, 6);
    assert_int_equal(rd_left(&p.payload), 6);
    assert_memory_equal(rd_peek_ptr(&p.payload), "abcdef", 6);
    assert_int_equal(p.tcp.ack, 9);
    assert_int_equal(p.tcp.wscale, 0xff);
    /* Snapped after 3 payload bytes: the payload is what was kept, its length the wire's. */
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n - 3, (uint32_t)n, 1,
                                   &p),
                     DECODE_OK);
    assert_int_equal(p.payload_len, 6);
    assert_int_equal(rd_left(&p.payload), 3);
    assert_int_equal(p.anomalies, 0);
}

static void test_decode_tcp_hlen_too_small(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK, 1, 1, NULL, 0);
    frame[34 + 12] = 0x40;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_TCP_HLEN_TOO_SMALL));
}

static void test_decode_tcp_offset_past_segment(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK, 1, 1, NULL, 0);
    frame[34 + 12] = 0xf0; /* 60-byte header in a 20-byte segment */
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_TCP_TRUNCATED));
}

static void test_decode_tcp_segment_shorter_than_header(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_udp(frame, sizeof(frame), &e, "12345678901", 11);
    frame[23] = 6; /* call the 19-byte UDP datagram TCP */
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_TCP_TRUNCATED));
}

static void test_decode_tcp_bad_options(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    static const uint8_t zero_len[4] = {2, 0, 1, 1};
    size_t n = pktgen_tcp_opts(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, zero_len, 4, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK); /* the header stands; the options do not */
    assert_true(has_anom(ANOM_TCP_BAD_OPTIONS));
    static const uint8_t past_end[4] = {8, 30, 0, 0};
    n = pktgen_tcp_opts(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, past_end, 4, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(has_anom(ANOM_TCP_BAD_OPTIONS));
    static const uint8_t bad_mss[4] = {2, 3, 5, 1};
    n = pktgen_tcp_opts(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, bad_mss, 4, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(has_anom(ANOM_TCP_BAD_OPTIONS));
    static const uint8_t nops_eol[8] = {1, 1, 1, 0, 9, 9, 9, 9};
    n = pktgen_tcp_opts(frame, sizeof(frame), &e, PKTGEN_SYN, 1, 0, nops_eol, 8, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_false(has_anom(ANOM_TCP_BAD_OPTIONS));
    assert_string_equal(p.tcp.opt_order, "NNNE");
}

static void test_decode_tcp_bad_flags(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    static const uint8_t bad[] = {PKTGEN_SYN | PKTGEN_FIN, 0, PKTGEN_FIN | PKTGEN_PSH | 0x20};
    for (size_t i = 0; i < sizeof(bad); i++) {
        size_t n = pktgen_tcp_opts(frame, sizeof(frame), &e, bad[i], 1, 0, NULL, 0, NULL, 0);
        assert_int_equal(eth(frame, n), DECODE_OK);
        assert_true(has_anom(ANOM_TCP_BAD_FLAGS));
    }
    size_t n = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK, 1, 0, NULL, 0);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_false(has_anom(ANOM_TCP_BAD_FLAGS));
}

/* ------------------------------------------------------------------ UDP */

static void test_decode_udp_len_too_small(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[34 + 4] = 0;
    frame[34 + 5] = 7;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_UDP_LEN_TOO_SMALL));
}

static void test_decode_udp_len_past_ip(void **state)
{
    (void)state;
    size_t n = ip4_udp();
    frame[34 + 4] = 0x10;
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_UDP_LEN_PAST_CAPTURE));
}

static void test_decode_udp_shorter_than_header(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    static const uint8_t four[4] = {0, 53, 0, 53};
    size_t n = pktgen_ip(frame, sizeof(frame), &e, 17, four, 4);
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_UDP_TRUNCATED));
}

/* ------------------------------------------------------------------ ICMP */

static void test_decode_icmp_echo(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    size_t n = pktgen_icmp_echo(frame, sizeof(frame), &e, 0x1234, 7, 32);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ICMP));
    assert_int_equal(p.icmp.type, 8);
    assert_int_equal(p.icmp.id, 0x1234);
    assert_int_equal(p.icmp.seq, 7);
    assert_int_equal(p.payload_len, 32);
    sweep(DECODE_LINK_ETHERNET, frame, n);
}

static void test_decode_icmp_unreachable_quotes_inner(void **state)
{
    (void)state;
    struct pktgen_ep probe = pktgen_ep_make("10.0.0.1", 5555, "10.0.0.2", 161);
    probe.raw_ip = true;
    uint8_t q[64];
    size_t qn = pktgen_udp(q, sizeof(q), &probe, "snmp", 4);
    struct pktgen_ep back = pktgen_ep_reverse(&probe);
    back.raw_ip = false;
    size_t n = pktgen_icmp(frame, sizeof(frame), &back, 3, 3, 0, q, 28 < qn ? 28 : qn);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ICMP_INNER));
    assert_int_equal(p.icmp.inner_proto, 17);
    assert_int_equal(p.icmp.inner_sport, 5555);
    assert_int_equal(p.icmp.inner_dport, 161);
    assert_int_equal(addr_v4_host(&p.icmp.inner_dst), 0x0a000002);
    /* Quoting too little: the message stands, the inner header is not claimed. */
    n = pktgen_icmp(frame, sizeof(frame), &back, 3, 3, 0, q, 10);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_false(pkt_has(&p, PKT_ICMP_INNER));
}

static void test_decode_icmp_too_short(void **state)
{
    (void)state;
    struct pktgen_ep e = ep4();
    static const uint8_t four[4] = {8, 0, 0, 0};
    size_t n = pktgen_ip(frame, sizeof(frame), &e, 1, four, 4);
    assert_int_equal(eth(frame, n), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_ICMP_TRUNCATED));
}

static void test_decode_icmp6_neighbour_solicitation(void **state)
{
    (void)state;
    struct pktgen_ep e = ep6();
    uint8_t ns[24] = {0};
    memcpy(ns, e.dst.b, 16);
    ns[16] = 1; /* source link-layer address, 1 x 8 bytes */
    ns[17] = 1;
    static const uint8_t mac[6] = {0, 0x0c, 0x29, 1, 2, 3};
    memcpy(ns + 18, mac, 6);
    size_t n = pktgen_icmp(frame, sizeof(frame), &e, 135, 0, 0, ns, sizeof(ns));
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ICMP6) && pkt_has(&p, PKT_ND));
    assert_int_equal(p.nd.type, 135);
    assert_true(p.nd.has_lladdr);
    assert_memory_equal(p.nd.lladdr, mac, 6);
    assert_memory_equal(p.nd.target.b, e.dst.b, 16);
    sweep(DECODE_LINK_ETHERNET, frame, n);

    ns[17] = 0; /* a zero-length option */
    n = pktgen_icmp(frame, sizeof(frame), &e, 135, 0, 0, ns, sizeof(ns));
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(has_anom(ANOM_ND_MALFORMED));
    ns[17] = 3; /* an option past the end */
    n = pktgen_icmp(frame, sizeof(frame), &e, 135, 0, 0, ns, sizeof(ns));
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(has_anom(ANOM_ND_MALFORMED));
}

static void test_decode_icmp6_error_quotes_inner(void **state)
{
    (void)state;
    struct pktgen_ep probe = ep6();
    probe.raw_ip = true;
    uint8_t q[128];
    size_t qn = pktgen_tcp(q, sizeof(q), &probe, PKTGEN_SYN, 1, 0, NULL, 0);
    struct pktgen_ep back = pktgen_ep_reverse(&probe);
    back.raw_ip = false;
    size_t n = pktgen_icmp(frame, sizeof(frame), &back, 1, 4, 0, q, qn);
    assert_int_equal(eth(frame, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_ICMP_INNER));
    assert_int_equal(p.icmp.inner_proto, 6);
    assert_int_equal(p.icmp.inner_dport, 80);
}

/* ------------------------------------------------------------------ counters */

static void test_decode_count_by_reason(void **state)
{
    (void)state;
    struct decode_stats st;
    memset(&st, 0, sizeof(st));
    size_t n = ip4_udp();
    decode_count(&st, &p, eth(frame, n));
    frame[14] = 0x44;
    decode_count(&st, &p, eth(frame, n));
    assert_int_equal(st.packets, 2);
    assert_int_equal(st.rc[DECODE_OK], 1);
    assert_int_equal(st.rc[DECODE_MALFORMED], 1);
    assert_int_equal(st.anomalies[ANOM_IP4_HLEN_TOO_SMALL], 1);
    assert_string_equal(decode_anomaly_name(ANOM_IP4_HLEN_TOO_SMALL), "ip4_hlen_too_small");
    for (int a = 1; a < ANOM_COUNT; a++)
        assert_string_not_equal(decode_anomaly_name((enum pkt_anomaly)a), "unknown");
    assert_string_equal(decode_rc_name(DECODE_TRUNCATED), "truncated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_eth_tcp_known_good),
        cmocka_unit_test(test_decode_eth_every_truncation),
        cmocka_unit_test(test_decode_eth_short_frame_is_anomaly),
        cmocka_unit_test(test_decode_eth_unknown_ethertype_unsupported),
        cmocka_unit_test(test_decode_vlan_single_tag),
        cmocka_unit_test(test_decode_vlan_qinq),
        cmocka_unit_test(test_decode_vlan_stack_too_deep),
        cmocka_unit_test(test_decode_link_types),
        cmocka_unit_test(test_decode_raw_ipv6),
        cmocka_unit_test(test_decode_arp_known_good),
        cmocka_unit_test(test_decode_arp_bad_sizes),
        cmocka_unit_test(test_decode_ipv4_hlen_too_small),
        cmocka_unit_test(test_decode_ipv4_len_too_small),
        cmocka_unit_test(test_decode_ipv4_oversized_length),
        cmocka_unit_test(test_decode_ipv4_padding_trimmed),
        cmocka_unit_test(test_decode_ipv4_options),
        cmocka_unit_test(test_decode_ipv4_fragments),
        cmocka_unit_test(test_decode_ipv6_known_good),
        cmocka_unit_test(test_decode_ipv6_extension_headers),
        cmocka_unit_test(test_decode_ipv6_too_many_extensions),
        cmocka_unit_test(test_decode_ipv6_extension_past_end),
        cmocka_unit_test(test_decode_ipv6_fragment),
        cmocka_unit_test(test_decode_ipv6_oversized_length),
        cmocka_unit_test(test_decode_tcp_payload),
        cmocka_unit_test(test_decode_tcp_hlen_too_small),
        cmocka_unit_test(test_decode_tcp_offset_past_segment),
        cmocka_unit_test(test_decode_tcp_segment_shorter_than_header),
        cmocka_unit_test(test_decode_tcp_bad_options),
        cmocka_unit_test(test_decode_tcp_bad_flags),
        cmocka_unit_test(test_decode_udp_len_too_small),
        cmocka_unit_test(test_decode_udp_len_past_ip),
        cmocka_unit_test(test_decode_udp_shorter_than_header),
        cmocka_unit_test(test_decode_icmp_echo),
        cmocka_unit_test(test_decode_icmp_unreachable_quotes_inner),
        cmocka_unit_test(test_decode_icmp_too_short),
        cmocka_unit_test(test_decode_icmp6_neighbour_solicitation),
        cmocka_unit_test(test_decode_icmp6_error_quotes_inner),
        cmocka_unit_test(test_decode_count_by_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
