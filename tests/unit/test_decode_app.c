/*
 * test_decode_app -- application decoders (DNS, DHCP, TLS ClientHello, HTTP
 * request) and the gate that chooses them: known-good messages, one test per
 * anomaly, truncation sweeps, compression-pointer loops, oversized lengths, and
 * that a bad application payload never makes the packet unusable.
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
static uint8_t msg[4096];
static struct pkt p;

static bool has_anom(enum pkt_anomaly a)
{
    return (p.anomalies & (1ULL << a)) != 0;
}

/* Decodes an L7 message directly (no IP/UDP around it). */
static struct rd msg_rd(size_t n)
{
    pkt_reset(&p);
    p.caplen = p.wirelen = (uint32_t)n;
    return rd_make(msg, n);
}

static enum decode_rc udp_frame(uint16_t sport, uint16_t dport, size_t n)
{
    struct pktgen_ep e = pktgen_ep_make("10.0.0.1", sport, "10.0.0.2", dport);
    size_t f = pktgen_udp(frame, sizeof(frame), &e, msg, n);
    return decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)f, (uint32_t)f, 1, &p);
}

static enum decode_rc tcp_frame(uint16_t dport, size_t n)
{
    struct pktgen_ep e = pktgen_ep_make("10.0.0.1", 50000, "10.0.0.2", dport);
    size_t f = pktgen_tcp(frame, sizeof(frame), &e, PKTGEN_ACK | PKTGEN_PSH, 1, 1, msg, n);
    return decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)f, (uint32_t)f, 1, &p);
}

/* ------------------------------------------------------------------ DNS */

static void test_decode_dns_query(void **state)
{
    (void)state;
    size_t n = pktgen_dns_query(msg, sizeof(msg), 0xbeef, "WWW.Example.ORG", 28);
    assert_int_equal(udp_frame(40000, 53, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_DNS));
    assert_int_equal(p.dns.id, 0xbeef);
    assert_false(p.dns.is_response);
    assert_int_equal(p.dns.qtype, 28);
    assert_int_equal(p.dns.qclass, 1);
    assert_string_equal(p.dns.qname, "www.example.org");
    assert_int_equal(p.dns.qname_len, 15);
    assert_int_equal(p.dns.qname_labels, 3);
    assert_int_equal(p.dns.longest_label, 7);
    assert_false(p.dns.qname_binary);
    assert_int_equal(p.anomalies, 0);
}

static void test_decode_dns_response_answers(void **state)
{
    (void)state;
    struct addr a[3];
    assert_int_equal(addr_parse("10.9.9.9", &a[0]), 0);
    assert_int_equal(addr_parse("10.9.9.10", &a[1]), 0);
    assert_int_equal(addr_parse("2001:db8::9", &a[2]), 0);
    size_t n = pktgen_dns_response(msg, sizeof(msg), 7, "pacs.example", 1, 0, a, 3, 120);
    assert_int_equal(udp_frame(53, 40000, n), DECODE_OK);
    assert_true(p.dns.is_response);
    assert_int_equal(p.dns.rcode, 0);
    assert_int_equal(p.dns.ancount, 3);
    assert_int_equal(p.dns.n_answers, 3);
    assert_int_equal(p.dns.answers[0].type, 1);
    assert_int_equal(p.dns.answers[0].ttl, 120);
    assert_int_equal(addr_v4_host(&p.dns.answers[1].addr), 0x0a09090a);
    assert_int_equal(p.dns.answers[2].addr.family, 6);

    n = pktgen_dns_response(msg, sizeof(msg), 8, "nope.example", 1, 3, NULL, 0, 0);
    assert_int_equal(udp_frame(53, 40000, n), DECODE_OK);
    assert_int_equal(p.dns.rcode, 3);
}

static void test_decode_dns_every_truncation(void **state)
{
    (void)state;
    struct addr a;
    assert_int_equal(addr_parse("10.9.9.9", &a), 0);
    size_t full = pktgen_dns_response(msg, sizeof(msg), 7, "a.b.example", 1, 0, &a, 1, 60);
    for (size_t n = 0; n < full; n++) {
        struct rd r = msg_rd(n);
        assert_int_not_equal(decode_dns(&r, &p), DECODE_OK);
        assert_true(has_anom(ANOM_DNS_MALFORMED));
    }
    struct rd r = msg_rd(full);
    assert_int_equal(decode_dns(&r, &p), DECODE_OK);
}

static void test_decode_dns_pointer_loop(void **state)
{
    (void)state;
    /* Question name: a pointer to itself at offset 12. */
    static const uint8_t self[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    memcpy(msg, self, sizeof(self));
    struct rd r = msg_rd(sizeof(self));
    assert_int_equal(decode_dns(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DNS_POINTER_LOOP));

    /* A forward pointer (to the question's type field). */
    static const uint8_t fwd[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 1, 0, 1};
    memcpy(msg, fwd, sizeof(fwd));
    r = msg_rd(sizeof(fwd));
    assert_int_equal(decode_dns(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DNS_POINTER_LOOP));

    /* Two labels pointing at each other through a backward pointer: 12 -> "a" then
     * pointer to 12 again (target < its own offset, but a cycle). */
    static const uint8_t cyc[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                  1,   'a', 0xc0, 12, 0, 1, 0, 1};
    memcpy(msg, cyc, sizeof(cyc));
    r = msg_rd(sizeof(cyc));
    assert_int_equal(decode_dns(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DNS_POINTER_LOOP) || has_anom(ANOM_DNS_MALFORMED));

    /* The packet around a looping name is still usable. */
    memcpy(msg, self, sizeof(self));
    assert_int_equal(udp_frame(40000, 53, sizeof(self)), DECODE_OK);
    assert_true(pkt_has(&p, PKT_UDP));
    assert_false(pkt_has(&p, PKT_DNS));
    assert_true(has_anom(ANOM_DNS_POINTER_LOOP));
}

static void test_decode_dns_long_and_binary_names(void **state)
{
    (void)state;
    /* 120 labels of 63 bytes: far past PKT_NAME_MAX; kept truncated and terminated. */
    size_t o = 12;
    memset(msg, 0, 12);
    msg[5] = 1;
    for (int i = 0; i < 120 && o + 64 < sizeof(msg) - 8; i++) {
        msg[o++] = 63;
        memset(msg + o, i % 2 ? 0x01 : 'x', 63);
        o += 63;
    }
    msg[o++] = 0;
    msg[o++] = 0, msg[o++] = 16, msg[o++] = 0, msg[o++] = 1;
    struct rd r = msg_rd(o);
    assert_int_equal(decode_dns(&r, &p), DECODE_OK);
    assert_true(strlen(p.dns.qname) < PKT_NAME_MAX);
    assert_true(p.dns.qname_binary);
    assert_int_equal(p.dns.longest_label, 63);

    /* Too many labels: 200 one-byte labels. */
    o = 12;
    for (int i = 0; i < 200; i++) {
        msg[o++] = 1;
        msg[o++] = 'a';
    }
    msg[o++] = 0;
    msg[o++] = 0, msg[o++] = 1, msg[o++] = 0, msg[o++] = 1;
    r = msg_rd(o);
    assert_int_equal(decode_dns(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DNS_MALFORMED));
}

static void test_decode_dns_bad_label_type(void **state)
{
    (void)state;
    static const uint8_t ext[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
    memcpy(msg, ext, sizeof(ext));
    struct rd r = msg_rd(sizeof(ext));
    assert_int_equal(decode_dns(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DNS_MALFORMED));
}

static void test_decode_dns_oversized_rdlength(void **state)
{
    (void)state;
    struct addr a;
    assert_int_equal(addr_parse("10.1.1.1", &a), 0);
    size_t n = pktgen_dns_response(msg, sizeof(msg), 1, "x.example", 1, 0, &a, 1, 5);
    msg[n - 5] = 0xff; /* rdlength 0xff04 */
    struct rd r = msg_rd(n);
    assert_int_equal(decode_dns(&r, &p), DECODE_TRUNCATED);
    assert_true(has_anom(ANOM_DNS_MALFORMED));
    assert_true(pkt_has(&p, PKT_DNS)); /* the question was sound */
}

static void test_decode_dns_over_tcp_and_mdns(void **state)
{
    (void)state;
    size_t n = pktgen_dns_query(msg + 2, sizeof(msg) - 2, 3, "ldap.example", 33);
    msg[0] = 0;
    msg[1] = (uint8_t)n;
    assert_int_equal(tcp_frame(53, n + 2), DECODE_OK);
    assert_true(pkt_has(&p, PKT_DNS));
    assert_string_equal(p.dns.qname, "ldap.example");
    n = pktgen_dns_query(msg, sizeof(msg), 0, "printer.local", 255);
    assert_int_equal(udp_frame(5353, 5353, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_DNS));
}

/* ------------------------------------------------------------------ DHCP */

static const uint8_t mac[6] = {0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc};

static void test_decode_dhcp_request(void **state)
{
    (void)state;
    size_t n = pktgen_dhcp(msg, sizeof(msg), 3, 42, mac, "nurse-ws-7", "MSFT 5.0", 0x0a000064, 0);
    assert_int_equal(udp_frame(68, 67, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_DHCP));
    assert_int_equal(p.dhcp.msg_type, 3);
    assert_memory_equal(p.dhcp.chaddr, mac, 6);
    assert_string_equal(p.dhcp.hostname, "nurse-ws-7");
    assert_string_equal(p.dhcp.vendor_class, "MSFT 5.0");
    assert_int_equal(addr_v4_host(&p.dhcp.requested), 0x0a000064);
    n = pktgen_dhcp(msg, sizeof(msg), 5, 42, mac, NULL, NULL, 0, 0x0a000064);
    assert_int_equal(udp_frame(67, 68, n), DECODE_OK);
    assert_int_equal(p.dhcp.msg_type, 5);
    assert_int_equal(addr_v4_host(&p.dhcp.yiaddr), 0x0a000064);
    assert_string_equal(p.dhcp.hostname, "");
}

static void test_decode_dhcp_every_truncation(void **state)
{
    (void)state;
    size_t full = pktgen_dhcp(msg, sizeof(msg), 1, 1, mac, "h", NULL, 0, 0);
    for (size_t n = 0; n < 240; n++) {
        struct rd r = msg_rd(n);
        assert_int_equal(decode_dhcp(&r, &p), DECODE_TRUNCATED);
        assert_true(has_anom(ANOM_DHCP_MALFORMED));
    }
    for (size_t n = 240; n <= full; n++) {
        struct rd r = msg_rd(n);
        assert_int_equal(decode_dhcp(&r, &p), DECODE_OK);
    }
}

static void test_decode_dhcp_bad_magic_and_options(void **state)
{
    (void)state;
    size_t n = pktgen_dhcp(msg, sizeof(msg), 1, 1, mac, "host", NULL, 0, 0);
    msg[236] = 0;
    struct rd r = msg_rd(n);
    assert_int_equal(decode_dhcp(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_DHCP_MALFORMED));

    n = pktgen_dhcp(msg, sizeof(msg), 1, 1, mac, "host", NULL, 0, 0);
    msg[244] = 200; /* host name option claims 200 bytes */
    r = msg_rd(n);
    assert_int_equal(decode_dhcp(&r, &p), DECODE_OK);
    assert_true(has_anom(ANOM_DHCP_MALFORMED));
    assert_int_equal(p.dhcp.msg_type, 1); /* what came before stands */

    /* Only pad options, never an end: the walk is capped, not endless. */
    n = pktgen_dhcp(msg, sizeof(msg), 1, 1, mac, NULL, NULL, 0, 0);
    memset(msg + 240, 0, 1000);
    r = msg_rd(1240);
    assert_int_equal(decode_dhcp(&r, &p), DECODE_OK);
    (void)n;
    n = pktgen_dhcp(msg, sizeof(msg), 1, 1, mac, NULL, NULL, 0, 0);
    msg[242] = 7; /* option 53 must be one byte */
    msg[241] = 2;
    r = msg_rd(n);
    assert_int_equal(decode_dhcp(&r, &p), DECODE_OK);
    assert_true(has_anom(ANOM_DHCP_MALFORMED));
}

/* ------------------------------------------------------------------ TLS */

static void test_decode_tls_sni(void **state)
{
    (void)state;
    size_t n = pktgen_tls_client_hello(msg, sizeof(msg), "EMR.Hospital.Example");
    assert_int_equal(tcp_frame(443, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_TLS_HELLO));
    assert_string_equal(p.tls.sni, "emr.hospital.example");
    assert_int_equal(p.tls.version, 0x0303);
    /* Gated by the first byte, not the port. */
    assert_int_equal(tcp_frame(8443, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_TLS_HELLO));
    n = pktgen_tls_client_hello(msg, sizeof(msg), NULL);
    assert_int_equal(tcp_frame(443, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_TLS_HELLO));
    assert_string_equal(p.tls.sni, "");
}

static void test_decode_tls_every_truncation(void **state)
{
    (void)state;
    size_t full = pktgen_tls_client_hello(msg, sizeof(msg), "a.example");
    for (size_t n = 0; n < full; n++) {
        struct rd r = msg_rd(n);
        (void)decode_tls(&r, &p);
        assert_false(has_anom(ANOM_TLS_MALFORMED)); /* split hellos are normal */
        if (pkt_has(&p, PKT_TLS_HELLO))
            assert_true(strlen(p.tls.sni) == 0 || strcmp(p.tls.sni, "a.example") == 0);
    }
}

static void test_decode_tls_bad_lengths(void **state)
{
    (void)state;
    size_t n = pktgen_tls_client_hello(msg, sizeof(msg), "a.example");
    msg[9 + 2 + 32] = 40; /* session id of 40 bytes */
    struct rd r = msg_rd(n);
    assert_int_equal(decode_tls(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_TLS_MALFORMED));

    n = pktgen_tls_client_hello(msg, sizeof(msg), "a.example");
    /* server_name list length larger than the extension. */
    size_t sni_at = 9 + 2 + 32 + 1 + 2 + 4 + 2 + 2; /* extension type */
    msg[sni_at + 4] = 0x10;
    r = msg_rd(n);
    assert_int_equal(decode_tls(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_TLS_MALFORMED));

    n = pktgen_tls_client_hello(msg, sizeof(msg), "a.example");
    msg[6] = 0; /* handshake length 0 */
    msg[7] = 0;
    msg[8] = 3;
    r = msg_rd(n);
    assert_int_equal(decode_tls(&r, &p), DECODE_MALFORMED);

    /* Application data records are not ours. */
    n = pktgen_tls_client_hello(msg, sizeof(msg), "a.example");
    msg[0] = 23;
    r = msg_rd(n);
    assert_int_equal(decode_tls(&r, &p), DECODE_UNSUPPORTED);
    assert_int_equal(p.anomalies, 0);
}

/* ------------------------------------------------------------------ HTTP */

static void test_decode_http_request(void **state)
{
    (void)state;
    size_t n = pktgen_http_request(msg, sizeof(msg), "POST", "/api/orders?id=1", "lis.example",
                                   "curl/8.0");
    assert_int_equal(tcp_frame(8080, n), DECODE_OK);
    assert_true(pkt_has(&p, PKT_HTTP));
    assert_string_equal(p.http.method, "POST");
    assert_string_equal(p.http.uri, "/api/orders?id=1");
    assert_string_equal(p.http.host, "lis.example");
    assert_string_equal(p.http.user_agent, "curl/8.0");
    static const char lower[] = "GET / HTTP/1.0\nhost:   spaced.example  \nUSER-AGENT: x\n\n";
    memcpy(msg, lower, sizeof(lower) - 1);
    assert_int_equal(tcp_frame(80, sizeof(lower) - 1), DECODE_OK);
    assert_string_equal(p.http.host, "spaced.example");
    assert_string_equal(p.http.user_agent, "x");
}

static void test_decode_http_every_truncation(void **state)
{
    (void)state;
    size_t full = pktgen_http_request(msg, sizeof(msg), "GET", "/", "h.example", "ua");
    for (size_t n = 0; n < full; n++) {
        struct rd r = msg_rd(n);
        (void)decode_http(&r, &p);
        assert_false(has_anom(ANOM_HTTP_MALFORMED));
    }
}

static void test_decode_http_malformed(void **state)
{
    (void)state;
    static const char noversion[] = "GET /index.html\r\nHost: x\r\n\r\n";
    memcpy(msg, noversion, sizeof(noversion) - 1);
    struct rd r = msg_rd(sizeof(noversion) - 1);
    assert_int_equal(decode_http(&r, &p), DECODE_MALFORMED);
    assert_true(has_anom(ANOM_HTTP_MALFORMED));

    static const char nocolon[] = "GET / HTTP/1.1\r\nHost x\r\n\r\n";
    memcpy(msg, nocolon, sizeof(nocolon) - 1);
    r = msg_rd(sizeof(nocolon) - 1);
    assert_int_equal(decode_http(&r, &p), DECODE_OK);
    assert_true(has_anom(ANOM_HTTP_MALFORMED));

    /* An over-long URI is kept truncated. */
    memcpy(msg, "GET /", 5);
    memset(msg + 5, 'a', 1000);
    memcpy(msg + 1005, " HTTP/1.1\r\n\r\n", 13);
    r = msg_rd(1018);
    assert_int_equal(decode_http(&r, &p), DECODE_OK);
    assert_int_equal(strlen(p.http.uri), PKT_NAME_MAX - 1);

    /* Not a method the gate knows: no HTTP decode at all. */
    static const char other[] = "HELLO / HTTP/1.1\r\n\r\n";
    memcpy(msg, other, sizeof(other) - 1);
    assert_int_equal(tcp_frame(80, sizeof(other) - 1), DECODE_OK);
    assert_false(pkt_has(&p, PKT_HTTP));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_dns_query),
        cmocka_unit_test(test_decode_dns_response_answers),
        cmocka_unit_test(test_decode_dns_every_truncation),
        cmocka_unit_test(test_decode_dns_pointer_loop),
        cmocka_unit_test(test_decode_dns_long_and_binary_names),
        cmocka_unit_test(test_decode_dns_bad_label_type),
        cmocka_unit_test(test_decode_dns_oversized_rdlength),
        cmocka_unit_test(test_decode_dns_over_tcp_and_mdns),
        cmocka_unit_test(test_decode_dhcp_request),
        cmocka_unit_test(test_decode_dhcp_every_truncation),
        cmocka_unit_test(test_decode_dhcp_bad_magic_and_options),
        cmocka_unit_test(test_decode_tls_sni),
        cmocka_unit_test(test_decode_tls_every_truncation),
        cmocka_unit_test(test_decode_tls_bad_lengths),
        cmocka_unit_test(test_decode_http_request),
        cmocka_unit_test(test_decode_http_every_truncation),
        cmocka_unit_test(test_decode_http_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
