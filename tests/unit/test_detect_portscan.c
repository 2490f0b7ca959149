/*
 * test_detect_portscan -- horizontal (TRW), vertical and ARP-sweep scans, and the
 * busy clients that must not look like scanners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "detect_harness.h"

#define SEC USEC_PER_SEC
#define T0 (1700000000ULL * SEC)

static void test_detect_portscan_vertical_syn(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char ip[] = "10.1.1.9";
    for (unsigned port = 1; port <= 200; port++) {
        uint64_t t = T0 + port * 10000;
        harness_tcp(h, t, "10.1.1.5", 40000, ip, (uint16_t)port, TCP_SYN, 0);
        if (port % 50 == 0) /* a few open ports */
            harness_tcp(h, t + 100, ip, (uint16_t)port, "10.1.1.5", 40000, TCP_SYN | TCP_ACK, 0);
        else
            harness_tcp(h, t + 100, ip, (uint16_t)port, "10.1.1.5", 40000, TCP_RST | TCP_ACK, 0);
    }
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "portscan", "10.1.1.5");
    if (!e)
        harness_dump(h);
    assert_non_null(e);
    assert_string_equal(e->subtype, "vertical");
    assert_string_equal(e->dst, "10.1.1.9");
    assert_true(e->count >= 180);
    assert_true(e->closed);
    assert_non_null(strstr(e->summary, "10.1.1.5 probed"));
    assert_int_equal(harness_uids(h, "portscan", NULL), 1);
    harness_free(h);
}

static void test_detect_portscan_vertical_udp_unanswered(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned port = 0; port < 100; port++)
        harness_udp(h, T0 + port * 1000, "172.31.1.1", 5555, "198.51.100.7", (uint16_t)port, 0);
    harness_flush(h, T0 + 5 * SEC);
    const struct harness_event *e = harness_find(h, "portscan", "172.31.1.1");
    assert_non_null(e);
    assert_string_equal(e->subtype, "vertical");
    harness_free(h);
}

static void test_detect_portscan_horizontal_trw(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char dst[32];
    for (unsigned i = 1; i <= 60; i++) {
        snprintf(dst, sizeof(dst), "203.0.113.%u", i);
        harness_tcp(h, T0 + i * 200000, "192.168.2.16", (uint16_t)(30000 + i), dst, 23, TCP_SYN, 0);
    }
    harness_flush(h, T0 + 60 * SEC);
    const struct harness_event *e = harness_find(h, "portscan", "192.168.2.16");
    if (!e)
        harness_dump(h);
    assert_non_null(e);
    assert_string_equal(e->subtype, "horizontal");
    assert_true(e->count >= 50);
    assert_non_null(strstr(e->summary, "/23"));
    harness_free(h);
}

static void test_detect_portscan_icmp_unreachable_counts_as_failure(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char dst[32];
    for (unsigned i = 1; i <= 30; i++) {
        struct pkt p;
        snprintf(dst, sizeof(dst), "10.9.0.%u", i);
        uint64_t t = T0 + i * 10000;
        harness_udp(h, t, "10.9.1.1", 50000, dst, 161, 40);
        harness_ip(&p, t + 500, dst, "10.9.1.1", 1);
        p.layers |= PKT_ICMP | PKT_ICMP_INNER;
        p.icmp.type = 3;
        p.icmp.code = 3;
        assert_int_equal(addr_parse("10.9.1.1", &p.icmp.inner_src), 0);
        assert_int_equal(addr_parse(dst, &p.icmp.inner_dst), 0);
        p.icmp.inner_proto = 17;
        p.icmp.inner_dport = 161;
        harness_feed(h, &p);
    }
    /* Before any pending timeout: the refusals alone decide. */
    harness_tick(h, T0 + 2 * SEC);
    assert_non_null(harness_find(h, "portscan", "10.9.1.1"));
    harness_free(h);
}

static void test_detect_portscan_arp_sweep(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char tpa[32];
    for (unsigned i = 1; i < 250; i++) {
        snprintf(tpa, sizeof(tpa), "192.168.1.%u", i);
        if (i == 71)
            continue;
        harness_arp(h, T0 + i * 10000, 1, "c4:2c:03:3b:6c:aa", "192.168.1.71", "00:00:00:00:00:00",
                    tpa);
        if (i % 40 == 0)
            harness_arp(h, T0 + i * 10000 + 100, 2, "00:11:22:33:44:55", tpa, "c4:2c:03:3b:6c:aa",
                        "192.168.1.71");
    }
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "portscan", "192.168.1.71");
    assert_non_null(e);
    assert_string_equal(e->subtype, "arp_sweep");
    harness_free(h);
}

/* A browser opening 120 connections to 40 servers, all answered, is not a scanner. */
static void test_detect_portscan_busy_web_client_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char dst[32];
    uint64_t t = T0;
    for (unsigned i = 0; i < 120; i++) {
        snprintf(dst, sizeof(dst), "93.184.%u.%u", i % 40, 10 + i % 40);
        t = harness_session(h, t + 20000, "192.168.1.93", (uint16_t)(50000 + i), dst,
                            i % 3 ? 443 : 80, 800, 30000, false);
    }
    /* A handful of dead destinations does not make a scan either. */
    for (unsigned i = 0; i < 5; i++) {
        snprintf(dst, sizeof(dst), "198.18.0.%u", i + 1);
        harness_tcp(h, t + i * 1000, "192.168.1.93", (uint16_t)(60000 + i), dst, 443, TCP_SYN, 0);
    }
    harness_flush(h, t + 30 * SEC);
    assert_int_equal(harness_uids(h, "portscan", NULL), 0);
    harness_free(h);
}

/* Passive FTP: one server, many data ports, all answered. */
static void test_detect_portscan_passive_ftp_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 80; i++)
        t = harness_session(h, t + 1000, "10.2.0.5", (uint16_t)(40000 + i), "10.2.0.6",
                            (uint16_t)(50000 + i * 7), 0, 5000, false);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "portscan", NULL), 0);
    harness_free(h);
}

static void test_detect_portscan_allowlisted_scanner_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect]\nallow = 10.1.1.5\n", NULL);
    for (unsigned port = 1; port <= 100; port++)
        harness_tcp(h, T0 + port * 1000, "10.1.1.5", 40000, "10.1.1.9", (uint16_t)port, TCP_SYN, 0);
    harness_flush(h, T0 + 10 * SEC);
    assert_int_equal(harness_uids(h, "portscan", NULL), 0);
    harness_free(h);
}

static void test_detect_portscan_heightened_lowers_threshold(void **state)
{
    (void)state;
    const char *ini = "[detect]\nheightened = yes\nheightened_factor = 0.5\n";
    struct harness *normal = harness_new(NULL, NULL);
    struct harness *high = harness_new(ini, NULL);
    for (unsigned port = 1; port <= 12; port++) {
        harness_tcp(normal, T0 + port * 1000, "10.1.1.5", 40000, "10.1.1.9", (uint16_t)port,
                    TCP_SYN, 0);
        harness_tcp(high, T0 + port * 1000, "10.1.1.5", 40000, "10.1.1.9", (uint16_t)port,
                    TCP_SYN, 0);
    }
    harness_flush(normal, T0 + 10 * SEC);
    harness_flush(high, T0 + 10 * SEC);
    assert_int_equal(harness_uids(normal, "portscan", NULL), 0);
    assert_int_equal(harness_uids(high, "portscan", NULL), 1);
    harness_free(normal);
    harness_free(high);
}

static void test_detect_portscan_one_event_revised(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect]\nevent_interval = 10s\n", NULL);
    /* 2000 ports over 100 s: revisions at most every 10 s, one uid. */
    for (unsigned port = 1; port <= 2000; port++)
        harness_tcp(h, T0 + port * 50000, "10.1.1.5", 40000, "10.1.1.9", (uint16_t)port, TCP_SYN,
                    0);
    harness_flush(h, T0 + 101 * SEC);
    assert_int_equal(harness_uids(h, "portscan", NULL), 1);
    size_t n = harness_event_count(h);
    assert_true(n >= 3 && n <= 13);
    const struct harness_event *last = harness_event(h, n - 1);
    assert_true(last->closed);
    assert_int_equal(last->revision, n);
    harness_free(h);
}

/* nmap -sF: FIN probes; closed ports answer RST, open ones stay silent. */
static void test_detect_portscan_fin_scan(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned port = 1; port <= 100; port++) {
        uint64_t t = T0 + port * 10000;
        harness_tcp(h, t, "10.1.1.6", 41000, "10.1.1.9", (uint16_t)port, TCP_FIN, 0);
        if (port % 10)
            harness_tcp(h, t + 100, "10.1.1.9", (uint16_t)port, "10.1.1.6", 41000,
                        TCP_RST | TCP_ACK, 0);
    }
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "portscan", "10.1.1.6");
    assert_non_null(e);
    assert_string_equal(e->subtype, "vertical");
    harness_free(h);
}

static void test_detect_portscan_bad_setting_names_line(void **state)
{
    (void)state;
    assert_null(harness_try_new("[detect.portscan]\n\ntheta1 = 0.9\n", NULL));
    assert_non_null(strstr(harness_error(), "test.conf:3"));
    assert_null(harness_try_new("[detect.portscan]\nthetaa = 0.1\n", NULL));
    assert_non_null(strstr(harness_error(), "thetaa"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_portscan_vertical_syn),
        cmocka_unit_test(test_detect_portscan_vertical_udp_unanswered),
        cmocka_unit_test(test_detect_portscan_horizontal_trw),
        cmocka_unit_test(test_detect_portscan_icmp_unreachable_counts_as_failure),
        cmocka_unit_test(test_detect_portscan_arp_sweep),
        cmocka_unit_test(test_detect_portscan_busy_web_client_is_quiet),
        cmocka_unit_test(test_detect_portscan_passive_ftp_is_quiet),
        cmocka_unit_test(test_detect_portscan_allowlisted_scanner_is_quiet),
        cmocka_unit_test(test_detect_portscan_heightened_lowers_threshold),
        cmocka_unit_test(test_detect_portscan_one_event_revised),
        cmocka_unit_test(test_detect_portscan_fin_scan),
        cmocka_unit_test(test_detect_portscan_bad_setting_names_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
