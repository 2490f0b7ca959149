/*
 * test_flow_table -- bidirectional lookup, per-direction counters, TCP state,
 * teardown, idle and active timeouts on packet time, LRU eviction (counted),
 * ICMP echo pairing, VLAN separation, and a scan that fills the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "flow_table.h"
#include "pktgen.h"

#define SEC 1000000ULL

static uint8_t frame[PKTGEN_MAX];
static struct pkt p;

struct ends {
    unsigned n;                    /* flows ended */
    unsigned by_reason[8];         /* per enum flow_end_reason */
    struct flow last;              /* copy of the latest */
};

static void on_end(void *arg, const struct flow *f)
{
    struct ends *e = arg;
    e->n++;
    e->by_reason[f->end_reason & 7]++;
    e->last = *f;
}

/* Decodes a TCP segment from ep at time t. */
static void tcp(const struct pktgen_ep *ep, uint8_t flags, uint64_t t, size_t payload)
{
    static const uint8_t data[1400];
    size_t n = pktgen_tcp(frame, sizeof(frame), ep, flags, 1, 1, data, payload);
    assert_int_equal(
        decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, t, &p), DECODE_OK);
}

static struct flow *update(struct flow_table *ft, int *dir)
{
    return flow_table_update(ft, &p, dir);
}

static void test_flow_table_bidirectional(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(64, 60 * SEC, 3600 * SEC, on_end, &e);
    assert_non_null(ft);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", 22);
    struct pktgen_ep s = pktgen_ep_reverse(&c);
    int dir;

    tcp(&c, PKTGEN_SYN, 1 * SEC, 0);
    struct flow *f = update(ft, &dir);
    assert_non_null(f);
    assert_int_equal(dir, FLOW_ORIG);
    assert_int_equal(f->state, FLOW_SYN_SENT);
    assert_false(f->midstream);
    assert_int_equal(f->app, APP_SSH);
    assert_int_equal(f->key.port_a, 40000);
    assert_int_equal(f->key.port_b, 22);

    tcp(&s, PKTGEN_SYN | PKTGEN_ACK, 1 * SEC + 10, 0);
    struct flow *g = update(ft, &dir);
    assert_ptr_equal(f, g);
    assert_int_equal(dir, FLOW_RESP);
    assert_int_equal(f->state, FLOW_SYN_RCVD);

    tcp(&c, PKTGEN_ACK, 1 * SEC + 20, 0);
    update(ft, &dir);
    assert_int_equal(f->state, FLOW_ESTABLISHED);
    tcp(&c, PKTGEN_ACK | PKTGEN_PSH, 1 * SEC + 30, 100);
    update(ft, &dir);
    tcp(&s, PKTGEN_ACK | PKTGEN_PSH, 1 * SEC + 40, 1000);
    update(ft, &dir);
    assert_int_equal(f->pkts[FLOW_ORIG], 3);
    assert_int_equal(f->pkts[FLOW_RESP], 2);
    assert_int_equal(f->payload[FLOW_ORIG], 100);
    assert_int_equal(f->payload[FLOW_RESP], 1000);
    assert_int_equal(f->bytes[FLOW_RESP], 2 * 20 + 20 + 20 + 20 + 1000);
    assert_int_equal(f->syn_count, 1);
    assert_int_equal(flow_table_count(ft), 1);
    assert_int_equal(f->first_usec, 1 * SEC);
    assert_int_equal(f->last_usec, 1 * SEC + 40);

    /* FIN both ways: closed, still findable for the last ACK, then ended. */
    tcp(&c, PKTGEN_FIN | PKTGEN_ACK, 2 * SEC, 0);
    update(ft, &dir);
    assert_int_equal(f->state, FLOW_CLOSING);
    tcp(&s, PKTGEN_FIN | PKTGEN_ACK, 2 * SEC + 10, 0);
    update(ft, &dir);
    assert_int_equal(f->state, FLOW_CLOSED);
    tcp(&c, PKTGEN_ACK, 2 * SEC + 20, 0);
    assert_ptr_equal(update(ft, &dir), f);
    assert_int_equal(flow_table_created(ft), 1);
    flow_table_expire(ft, 3 * SEC);
    assert_int_equal(e.n, 0);
    flow_table_expire(ft, 2 * SEC + FLOW_TABLE_CLOSED_USEC + 10);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.by_reason[FLOW_END_FIN], 1);
    assert_int_equal(e.last.pkts[FLOW_ORIG], 5);
    assert_int_equal(flow_table_count(ft), 0);
    flow_table_free(ft);
}

static void test_flow_table_rst_and_reuse(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(64, 60 * SEC, 3600 * SEC, on_end, &e);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", 23);
    struct pktgen_ep s = pktgen_ep_reverse(&c);
    int dir;
    tcp(&c, PKTGEN_SYN, SEC, 0);
    update(ft, &dir);
    tcp(&s, PKTGEN_RST | PKTGEN_ACK, SEC + 5, 0);
    struct flow *f = update(ft, &dir);
    assert_int_equal(f->state, FLOW_CLOSED);
    /* The same 5-tuple opens again: the old flow ends, a new one starts. */
    tcp(&c, PKTGEN_SYN, SEC + 100, 0);
    f = update(ft, &dir);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.by_reason[FLOW_END_RST], 1);
    assert_int_equal(f->state, FLOW_SYN_SENT);
    assert_int_equal(f->pkts[FLOW_ORIG], 1);
    assert_int_equal(flow_table_created(ft), 2);
    flow_table_flush(ft);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.by_reason[FLOW_END_SHUTDOWN], 1);
    flow_table_free(ft);
}

static void test_flow_table_idle_and_active_timeouts(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(64, 30 * SEC, 100 * SEC, on_end, &e);
    struct pktgen_ep a = pktgen_ep_make("10.0.0.1", 1000, "10.0.0.2", 2000);
    struct pktgen_ep b = pktgen_ep_make("10.0.0.3", 1000, "10.0.0.4", 2000);
    int dir;
    tcp(&a, PKTGEN_ACK, 10 * SEC, 10);
    struct flow *fa = update(ft, &dir);
    assert_true(fa->midstream);
    assert_int_equal(fa->state, FLOW_ESTABLISHED);
    tcp(&b, PKTGEN_ACK, 20 * SEC, 10);
    update(ft, &dir);
    flow_table_expire(ft, 39 * SEC);
    assert_int_equal(e.n, 0);
    flow_table_expire(ft, 40 * SEC);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.by_reason[FLOW_END_IDLE], 1);
    assert_int_equal(e.last.key.port_a, 1000);
    assert_int_equal(addr_v4_host(&e.last.key.a), 0x0a000001);

    /* A long flow is cut into records at the active timeout. */
    for (uint64_t t = 20 * SEC; t <= 130 * SEC; t += 10 * SEC) {
        tcp(&b, PKTGEN_ACK, t, 10);
        update(ft, &dir);
    }
    assert_int_equal(e.by_reason[FLOW_END_ACTIVE], 1);
    assert_int_equal(flow_table_count(ft), 1);
    flow_table_free(ft);
}

static void test_flow_table_eviction_counted(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(16, 600 * SEC, 3600 * SEC, on_end, &e);
    int dir;
    /* A vertical scan: 1000 SYNs, one flow each, into a 16-flow table. */
    for (unsigned port = 1; port <= 1000; port++) {
        struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", (uint16_t)port);
        tcp(&c, PKTGEN_SYN, SEC + port, 0);
        struct flow *f = update(ft, &dir);
        assert_non_null(f);
        assert_int_equal(f->key.port_b, port);
        assert_true(flow_table_count(ft) <= 16);
    }
    assert_int_equal(flow_table_evictions(ft), 1000 - 16);
    assert_int_equal(e.by_reason[FLOW_END_EVICTED], 1000 - 16);
    /* The survivors are the most recent, and still findable. */
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", 1000);
    tcp(&c, PKTGEN_SYN, 2 * SEC, 0);
    struct flow *f = update(ft, &dir);
    assert_int_equal(f->syn_count, 2);
    assert_int_equal(flow_table_evictions(ft), 1000 - 16);
    assert_true(flow_table_memory(ft) > 16 * sizeof(struct flow));
    flow_table_flush(ft);
    assert_int_equal(flow_table_count(ft), 0);
    /* Reusable after a flush. */
    tcp(&c, PKTGEN_SYN, 3 * SEC, 0);
    assert_non_null(update(ft, &dir));
    flow_table_free(ft);
}

static void test_flow_table_icmp_echo_pairs(void **state)
{
    (void)state;
    struct flow_table *ft = flow_table_new(16, 60 * SEC, 3600 * SEC, NULL, NULL);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 0, "10.0.0.2", 0);
    struct pktgen_ep s = pktgen_ep_reverse(&c);
    int dir;
    size_t n = pktgen_icmp_echo(frame, sizeof(frame), &c, 77, 1, 8);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    struct flow *f = update(ft, &dir);
    n = pktgen_icmp(frame, sizeof(frame), &s, 0, 0, 77u << 16 | 1, "12345678", 8);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 2, &p),
                     DECODE_OK);
    assert_ptr_equal(update(ft, &dir), f);
    assert_int_equal(dir, FLOW_RESP);
    assert_int_equal(f->state, FLOW_ESTABLISHED);
    assert_int_equal(flow_table_count(ft), 1);
    flow_table_free(ft);
}

/* Decodes a UDP datagram from ep at time t. */
static void udp(const struct pktgen_ep *ep, uint64_t t)
{
    size_t n = pktgen_udp(frame, sizeof(frame), ep, "q", 1);
    assert_int_equal(
        decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, t, &p), DECODE_OK);
}

static void test_flow_table_answered_exchange_ends_early(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(16, 60 * SEC, 3600 * SEC, on_end, &e);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 5000, "10.0.0.53", 53);
    struct pktgen_ep s = pktgen_ep_reverse(&c);
    int dir;
    /* A and AAAA asked together: open until both are answered. */
    udp(&c, 1 * SEC);
    struct flow *f = update(ft, &dir);
    udp(&c, 1 * SEC + 10);
    update(ft, &dir);
    udp(&s, 1 * SEC + 500);
    update(ft, &dir);
    flow_table_expire(ft, 4 * SEC);
    assert_int_equal(e.n, 0);
    udp(&s, 4 * SEC);
    update(ft, &dir);
    /* Answered: a request within FLOW_TABLE_CLOSED_USEC reopens the same flow. */
    udp(&c, 5 * SEC);
    assert_ptr_equal(update(ft, &dir), f);
    assert_int_equal(dir, FLOW_ORIG);
    flow_table_expire(ft, 30 * SEC);
    assert_int_equal(e.n, 0);
    udp(&s, 30 * SEC);
    update(ft, &dir);
    flow_table_expire(ft, 30 * SEC + FLOW_TABLE_CLOSED_USEC - 1);
    assert_int_equal(e.n, 0);
    flow_table_expire(ft, 30 * SEC + FLOW_TABLE_CLOSED_USEC);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.last.end_reason, FLOW_END_ANSWERED);
    assert_int_equal(e.last.pkts[FLOW_ORIG], 3);
    assert_int_equal(e.last.pkts[FLOW_RESP], 3);

    /* An echo answered ends the same way; an unanswered one waits for the idle timeout. */
    struct pktgen_ep pc = pktgen_ep_make("10.0.0.1", 0, "10.0.0.2", 0);
    struct pktgen_ep ps = pktgen_ep_reverse(&pc);
    size_t n = pktgen_icmp_echo(frame, sizeof(frame), &pc, 9, 1, 8);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n,
                                   40 * SEC, &p),
                     DECODE_OK);
    update(ft, &dir);
    n = pktgen_icmp(frame, sizeof(frame), &ps, 0, 0, 9u << 16 | 1, "12345678", 8);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n,
                                   40 * SEC + 300, &p),
                     DECODE_OK);
    update(ft, &dir);
    struct pktgen_ep q = pktgen_ep_make("10.0.0.1", 5001, "10.0.0.53", 53);
    udp(&q, 40 * SEC);
    update(ft, &dir);
    /* Other UDP is not an exchange, answered or not. */
    struct pktgen_ep o = pktgen_ep_make("10.0.0.1", 5002, "10.0.0.9", 9999);
    struct pktgen_ep or = pktgen_ep_reverse(&o);
    udp(&o, 40 * SEC);
    update(ft, &dir);
    udp(&or, 40 * SEC + 1);
    update(ft, &dir);
    flow_table_expire(ft, 43 * SEC);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.last.end_reason, FLOW_END_ANSWERED);
    assert_int_equal(e.last.key.proto, 1);
    flow_table_expire(ft, 100 * SEC + 1);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.by_reason[FLOW_END_IDLE], 2);
    flow_table_free(ft);
}

static void test_flow_table_vlan_and_ipv6_separate(void **state)
{
    (void)state;
    struct flow_table *ft = flow_table_new(16, 60 * SEC, 3600 * SEC, NULL, NULL);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 5000, "10.0.0.2", 53);
    int dir;
    size_t n = pktgen_udp(frame, sizeof(frame), &c, "q", 1);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    struct flow *f1 = update(ft, &dir);
    c.vlan = 7;
    n = pktgen_udp(frame, sizeof(frame), &c, "q", 1);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    struct flow *f2 = update(ft, &dir);
    assert_ptr_not_equal(f1, f2);
    assert_int_equal(f2->key.vlan, 7);
    struct pktgen_ep v6 = pktgen_ep_make("2001:db8::1", 5000, "2001:db8::2", 53);
    n = pktgen_udp(frame, sizeof(frame), &v6, "q", 1);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    struct flow *f3 = update(ft, &dir);
    assert_int_equal(f3->key.a.family, 6);
    struct pktgen_ep r6 = pktgen_ep_reverse(&v6);
    n = pktgen_udp(frame, sizeof(frame), &r6, "a", 1);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    assert_ptr_equal(update(ft, &dir), f3);
    assert_int_equal(dir, FLOW_RESP);
    assert_int_equal(flow_table_count(ft), 3);
    flow_table_free(ft);
}

static void test_flow_table_names_from_app_layers(void **state)
{
    (void)state;
    struct flow_table *ft = flow_table_new(16, 60 * SEC, 3600 * SEC, NULL, NULL);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 5000, "10.0.0.2", 4443);
    uint8_t hello[512];
    size_t hl = pktgen_tls_client_hello(hello, sizeof(hello), "pacs.example");
    int dir;
    size_t n = pktgen_tcp(frame, sizeof(frame), &c, PKTGEN_ACK | PKTGEN_PSH, 1, 1, hello, hl);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    struct flow *f = update(ft, &dir);
    assert_int_equal(f->app, APP_TLS);
    assert_string_equal(flow_name(f), "pacs.example");
    flow_table_free(ft);
}

/* Names seen at flow end, for the long-name test. */
struct name_ends {
    unsigned n;           /* flows ended */
    unsigned mismatches;  /* flows whose name was not the one sent */
    char want[16][PKT_NAME_MAX]; /* the name sent on each flow, by client port - 6000 */
};

static void on_end_name(void *arg, const struct flow *f)
{
    struct name_ends *e = arg;
    e->n++;
    if (f->key.port_a < 6000 || f->key.port_a >= 6016 ||
        strcmp(flow_name(f), e->want[f->key.port_a - 6000]) != 0)
        e->mismatches++;
}

static void test_flow_table_long_names_out_of_line(void **state)
{
    (void)state;
    /* A table of 4 that sees 16 flows: eviction hands name slots round. */
    static struct name_ends e;
    memset(&e, 0, sizeof(e));
    struct flow_table *ft = flow_table_new(4, 60 * SEC, 3600 * SEC, on_end_name, &e);
    size_t base = flow_table_memory(ft);
    static const size_t lens[] = {1, 30, 31, 32, 33, 200, 253, 255};
    for (unsigned i = 0; i < 16; i++) {
        char *w = e.want[i];
        size_t len = lens[i % 8];
        for (size_t j = 0; j < len; j++)
            w[j] = (char)('a' + (j + i) % 26);
        if (len > 4)
            memcpy(w + len - 4, ".org", 4);
        w[len] = '\0';
        struct pktgen_ep c = pktgen_ep_make("10.0.0.1", (uint16_t)(6000 + i), "10.0.0.2", 443);
        uint8_t hello[768];
        size_t hl = pktgen_tls_client_hello(hello, sizeof(hello), w);
        assert_true(hl > 0);
        size_t n = pktgen_tcp(frame, sizeof(frame), &c, PKTGEN_ACK | PKTGEN_PSH, 1, 1, hello, hl);
        assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n,
                                       (i + 1) * SEC, &p),
                         DECODE_OK);
        assert_string_equal(p.tls.sni, w);
        int dir;
        struct flow *f = update(ft, &dir);
        assert_string_equal(flow_name(f), w);
        /* The first name stays: a later one on the same flow changes nothing. */
        tcp(&c, PKTGEN_ACK | PKTGEN_PSH, (i + 1) * SEC + 1, 0);
        assert_string_equal(flow_name(update(ft, &dir)), w);
    }
    flow_table_expire(ft, 3600 * SEC);
    assert_int_equal(e.n, 16);
    assert_int_equal(e.mismatches, 0);
    /* At most one name slot per pool slot was ever used. */
    assert_true(flow_table_memory(ft) - base <= 4 * PKT_NAME_MAX);
    flow_table_free(ft);
}

static void test_flow_table_no_ip_no_flow(void **state)
{
    (void)state;
    struct flow_table *ft = flow_table_new(16, 60 * SEC, 3600 * SEC, NULL, NULL);
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1}, zero[6] = {0};
    size_t n = pktgen_arp(frame, sizeof(frame), 1, mac, 1, zero, 2, 0);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, 1, &p),
                     DECODE_OK);
    int dir;
    assert_null(flow_table_update(ft, &p, &dir));
    assert_null(flow_table_new(0, 1, 1, NULL, NULL));
    flow_table_free(NULL);
    flow_table_free(ft);
}

/* Many flows, random order of deletes: every live flow stays findable. */
static void test_flow_table_churn_keeps_index_sound(void **state)
{
    (void)state;
    struct ends e = {0};
    struct flow_table *ft = flow_table_new(512, 5 * SEC, 3600 * SEC, on_end, &e);
    struct pktgen_rng rng = {42};
    int dir;
    for (unsigned i = 0; i < 20000; i++) {
        char a[32];
        uint32_t h = pktgen_rng_below(&rng, 2000);
        snprintf(a, sizeof(a), "10.%u.%u.%u", h >> 16 & 255, h >> 8 & 255, h & 255);
        struct pktgen_ep c = pktgen_ep_make(a, (uint16_t)(1024 + h), "10.200.0.1", 443);
        uint8_t fl = i % 7 == 0 ? PKTGEN_RST : PKTGEN_ACK;
        tcp(&c, fl, SEC + i * 1000ULL, 0);
        struct flow *f = update(ft, &dir);
        assert_non_null(f);
        assert_int_equal(f->key.port_a == 1024 + h || f->key.port_b == 1024 + h, 1);
        if (i % 1000 == 0)
            flow_table_expire(ft, SEC + i * 1000ULL);
    }
    flow_table_flush(ft);
    assert_int_equal(flow_table_count(ft), 0);
    assert_int_equal(e.n, flow_table_created(ft));
    flow_table_free(ft);
}

/* A new flow's label: responder port first, a well-known originator port next. */
static void test_flow_table_app_by_port(void **state)
{
    (void)state;
    assert_int_equal(flow_table_app_by_port(6, 50000, 443), APP_TLS);
    assert_int_equal(flow_table_app_by_port(17, 50000, 443), APP_QUIC);
    assert_int_equal(flow_table_app_by_port(6, 50000, 8080), APP_HTTP);
    assert_int_equal(flow_table_app_by_port(17, 50000, 80), APP_UNKNOWN);
    assert_int_equal(flow_table_app_by_port(6, 22, 50000), APP_SSH);
    assert_int_equal(flow_table_app_by_port(6, 8080, 50000), APP_UNKNOWN);
    assert_int_equal(flow_table_app_by_port(6, 50000, 50001), APP_UNKNOWN);
    assert_int_equal(flow_table_app_by_port(1, 0, 53), APP_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_table_bidirectional),
        cmocka_unit_test(test_flow_table_rst_and_reuse),
        cmocka_unit_test(test_flow_table_idle_and_active_timeouts),
        cmocka_unit_test(test_flow_table_eviction_counted),
        cmocka_unit_test(test_flow_table_icmp_echo_pairs),
        cmocka_unit_test(test_flow_table_answered_exchange_ends_early),
        cmocka_unit_test(test_flow_table_vlan_and_ipv6_separate),
        cmocka_unit_test(test_flow_table_names_from_app_layers),
        cmocka_unit_test(test_flow_table_long_names_out_of_line),
        cmocka_unit_test(test_flow_table_no_ip_no_flow),
        cmocka_unit_test(test_flow_table_churn_keeps_index_sound),
        cmocka_unit_test(test_flow_table_app_by_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
