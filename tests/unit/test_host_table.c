/*
 * test_host_table -- per-host counters: distinct peers and ports (sketch
 * accuracy and saturation), connection successes and failures, bytes out with
 * its moving baseline across windows, and capped eviction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "flow_table.h"
#include "host_table.h"
#include "pktgen.h"

#define SEC 1000000ULL

static uint8_t frame[PKTGEN_MAX];
static struct pkt p;

struct rig {
    struct flow_table *ft;
    struct host_table *ht;
};

static void on_end(void *arg, const struct flow *f)
{
    host_table_flow_end(arg, f);
}

static void rig_init(struct rig *r, size_t hosts)
{
    r->ht = host_table_new(hosts, 60 * SEC);
    r->ft = flow_table_new(4096, 30 * SEC, 3600 * SEC, on_end, r->ht);
    assert_non_null(r->ht);
    assert_non_null(r->ft);
}

static void rig_fini(struct rig *r)
{
    flow_table_free(r->ft);
    host_table_free(r->ht);
}

static void feed(struct rig *r, const struct pktgen_ep *ep, uint8_t flags, uint64_t t,
                 size_t payload)
{
    static const uint8_t data[1400];
    size_t n = pktgen_tcp(frame, sizeof(frame), ep, flags, 1, 1, data, payload);
    assert_int_equal(decode_packet(DECODE_LINK_ETHERNET, frame, (uint32_t)n, (uint32_t)n, t, &p),
                     DECODE_OK);
    int dir;
    struct flow *f = flow_table_update(r->ft, &p, &dir);
    host_table_packet(r->ht, &p, f, dir);
}

static const struct host *peek(struct rig *r, const char *a)
{
    struct addr x;
    assert_int_equal(addr_parse(a, &x), 0);
    return host_table_peek(r->ht, &x);
}

static void test_host_table_sketch_accuracy(void **state)
{
    (void)state;
    struct host_sketch s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(host_sketch_estimate(&s), 0);
    for (uint64_t i = 0; i < 10; i++)
        host_sketch_add(&s, i);
    assert_in_range(host_sketch_estimate(&s), 9, 11);
    for (uint64_t i = 0; i < 10; i++)
        assert_false(host_sketch_add(&s, i)); /* duplicates change nothing */
    for (uint64_t i = 10; i < 500; i++)
        host_sketch_add(&s, i);
    assert_in_range(host_sketch_estimate(&s), 450, 550);
    for (uint64_t i = 500; i < 100000; i++)
        host_sketch_add(&s, i);
    assert_int_equal(host_sketch_estimate(&s), HOST_DISTINCT_MAX);
}

static void test_host_table_scan_counts(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, 1024);
    /* 10.0.0.5 probes 300 ports of 10.0.0.9 (22 and 80 open) and 100 hosts on 445. */
    for (unsigned port = 1; port <= 300; port++) {
        struct pktgen_ep c = pktgen_ep_make("10.0.0.5", 40000, "10.0.0.9", (uint16_t)port);
        struct pktgen_ep s = pktgen_ep_reverse(&c);
        feed(&r, &c, PKTGEN_SYN, SEC + port * 100, 0);
        if (port == 22 || port == 80)
            feed(&r, &s, PKTGEN_SYN | PKTGEN_ACK, SEC + port * 100 + 1, 0);
        else
            feed(&r, &s, PKTGEN_RST | PKTGEN_ACK, SEC + port * 100 + 1, 0);
    }
    for (unsigned h = 1; h <= 100; h++) {
        char a[32];
        snprintf(a, sizeof(a), "10.0.1.%u", h);
        struct pktgen_ep c = pktgen_ep_make("10.0.0.5", 40001, a, 445);
        feed(&r, &c, PKTGEN_SYN, 2 * SEC + h, 0);
    }
    const struct host *h = peek(&r, "10.0.0.5");
    assert_non_null(h);
    assert_int_equal(h->flows_out, 400);
    assert_int_equal(h->conn_ok, 2);
    assert_int_equal(h->conn_fail, 298);
    assert_in_range(host_ports_out(h), 270, 330);
    assert_in_range(host_peers_out(h), 90, 112);
    assert_int_equal(h->pkts_out, 400);
    const struct host *t = peek(&r, "10.0.0.9");
    assert_int_equal(t->conn_fail_in, 298);
    assert_int_equal(t->flows_in, 300);
    assert_int_equal(host_peers_in(t), 1);
    /* The 100 unanswered SYNs count as failures when their flows end. */
    flow_table_expire(r.ft, 2 * SEC + 31 * SEC);
    h = peek(&r, "10.0.0.5");
    assert_int_equal(h->conn_fail, 398);
    assert_true(host_table_window_is_current(r.ht, h, 2 * SEC));
    assert_int_equal(host_table_count(r.ht), 102);
    rig_fini(&r);
}

static void test_host_table_bytes_baseline(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, 64);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.7", 50000, "203.0.113.9", 443);
    /* Ten windows of about 10 KB out, then one of about 1 MB. */
    for (unsigned w = 0; w < 10; w++)
        for (unsigned i = 0; i < 10; i++)
            feed(&r, &c, PKTGEN_ACK, (uint64_t)w * 60 * SEC + i * SEC, 960);
    for (unsigned i = 0; i < 1000; i++)
        feed(&r, &c, PKTGEN_ACK, 10ULL * 60 * SEC + i * 1000, 960);
    const struct host *h = peek(&r, "10.0.0.7");
    assert_int_equal(h->windows, 10);
    assert_int_equal(h->prev_bytes_out, 10 * 1000);
    assert_true(h->bytes_out_ewma > 9000 && h->bytes_out_ewma < 11000);
    /* The flow credits its hosts at most once a second, and when it ends. */
    assert_int_equal(h->bytes_out, 1000);
    assert_int_equal(peek(&r, "203.0.113.9")->bytes_in, 1000);
    flow_table_flush(r.ft);
    h = peek(&r, "10.0.0.7");
    assert_int_equal(h->bytes_out, 1000 * 1000);
    assert_int_equal(h->pkts_out, 1000);
    assert_int_equal(peek(&r, "203.0.113.9")->bytes_in, 1000 * 1000);
    /* A silent gap decays the baseline. */
    feed(&r, &c, PKTGEN_ACK, 30ULL * 60 * SEC, 960);
    h = peek(&r, "10.0.0.7");
    assert_int_equal(h->prev_bytes_out, 0);
    assert_true(h->bytes_out_ewma < 130000);
    assert_int_equal(h->bytes_out, 1000);
    assert_int_equal(host_table_window_usec(r.ht), 60 * SEC);
    rig_fini(&r);
}

static void test_host_table_credits_lag_at_most_a_second(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, 64);
    struct pktgen_ep c = pktgen_ep_make("10.0.0.7", 50000, "10.0.0.8", 22);
    /* 2,500 packets of 1,000 IP bytes, 1 ms apart: the flow credits its hosts
       on its first packet and on its first packet of each later second. */
    for (unsigned i = 0; i < 2500; i++)
        feed(&r, &c, PKTGEN_ACK, SEC + i * 1000, 960);
    const struct host *h = peek(&r, "10.0.0.7");
    assert_int_equal(h->pkts_out, 2001);
    assert_int_equal(h->bytes_out, 2001 * 1000);
    assert_int_equal(peek(&r, "10.0.0.8")->pkts_in, 2001);
    /* Its end credits the rest; forty more ended flows are credited in groups,
       in order, and a reader sees all of them. */
    flow_table_flush(r.ft);
    uint64_t syn_len = 0;
    for (unsigned i = 0; i < 40; i++) {
        struct pktgen_ep d = pktgen_ep_make("10.0.0.7", (uint16_t)(51000 + i), "10.0.0.9", 80);
        feed(&r, &d, PKTGEN_SYN, 4 * SEC + i, 0);
        syn_len = p.ip_len;
    }
    flow_table_expire(r.ft, 4 * SEC + 31 * SEC);
    h = peek(&r, "10.0.0.7");
    assert_int_equal(h->pkts_out, 2540);
    assert_int_equal(h->bytes_out, 2500 * 1000 + 40 * syn_len);
    assert_int_equal(h->conn_fail, 40);
    assert_int_equal(h->flows_out, 41);
    rig_fini(&r);
}

static int count_visit(void *arg, const struct host *h)
{
    (void)h;
    (*(unsigned *)arg)++;
    return 0;
}

static void test_host_table_eviction_counted(void **state)
{
    (void)state;
    struct rig r;
    rig_init(&r, 32);
    for (unsigned i = 0; i < 200; i++) {
        char a[32];
        snprintf(a, sizeof(a), "10.1.%u.%u", i / 250, i % 250 + 1);
        struct pktgen_ep c = pktgen_ep_make("10.0.0.1", 40000, a, 80);
        feed(&r, &c, PKTGEN_SYN, SEC + i * SEC, 0); /* LRU order has a 1 s grain */
        assert_true(host_table_count(r.ht) <= 32);
    }
    /* 201 addresses through 32 slots; the scanner, always recent, survives. */
    assert_int_equal(host_table_evictions(r.ht), 201 - 32);
    assert_non_null(peek(&r, "10.0.0.1"));
    assert_null(peek(&r, "10.1.0.1"));
    assert_non_null(peek(&r, "10.1.0.200"));
    unsigned n = 0;
    assert_int_equal(host_table_each(r.ht, count_visit, &n), 0);
    assert_int_equal(n, 32);
    assert_true(host_table_memory(r.ht) >= 32 * sizeof(struct host));
    rig_fini(&r);
    assert_null(host_table_new(0, SEC));
    host_table_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_table_sketch_accuracy),
        cmocka_unit_test(test_host_table_scan_counts),
        cmocka_unit_test(test_host_table_bytes_baseline),
        cmocka_unit_test(test_host_table_credits_lag_at_most_a_second),
        cmocka_unit_test(test_host_table_eviction_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
