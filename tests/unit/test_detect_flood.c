/*
 * test_detect_flood -- SYN, UDP and ICMP floods as one event per attack; busy
 * servers and port scans are not floods.
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

static void test_detect_flood_spoofed_syn_flood(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char src[32];
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(src, sizeof(src), "198.%u.%u.%u", 18 + i % 2, (i / 250) % 250, i % 250 + 1);
        harness_tcp(h, T0 + i * 1000, src, (uint16_t)(1024 + i), "10.10.10.10", 25565, TCP_SYN,
                    0);
    }
    harness_flush(h, T0 + 10 * SEC);
    assert_int_equal(harness_uids(h, "flood", NULL), 1);
    const struct harness_event *e = harness_find(h, "flood", NULL);
    assert_string_equal(e->dst, "10.10.10.10");
    assert_string_equal(e->subtype, "syn");
    assert_string_equal(e->src, "");
    harness_free(h);
}

static void test_detect_flood_icmp_from_one_source(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 3000; i++)
        harness_icmp(h, T0 + i * 1000, "192.168.189.128", "10.2.1.212", 8, 0, 32);
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "flood", "192.168.189.128");
    assert_non_null(e);
    assert_string_equal(e->dst, "10.2.1.212");
    assert_string_equal(e->subtype, "icmp");
    harness_free(h);
}

static void test_detect_flood_udp_reflection(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char src[32];
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(src, sizeof(src), "203.0.%u.%u", i / 250, i % 250 + 1);
        harness_udp(h, T0 + i * 200, src, 500, "10.10.10.10", (uint16_t)(1024 + i % 5000), 260);
    }
    harness_flush(h, T0 + 5 * SEC);
    assert_int_equal(harness_uids(h, "flood", NULL), 1);
    harness_free(h);
}

/* A busy web server: many SYNs a second, every one completed. */
static void test_detect_flood_busy_server_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char src[32];
    for (unsigned i = 0; i < 2000; i++) {
        snprintf(src, sizeof(src), "10.%u.%u.%u", 1 + i % 3, (i / 250) % 250, i % 250 + 1);
        harness_session(h, T0 + i * 2000, src, (uint16_t)(20000 + i), "10.0.0.80", 443, 500,
                        2000, false);
    }
    harness_flush(h, T0 + 10 * SEC);
    assert_int_equal(harness_uids(h, "flood", NULL), 0);
    harness_free(h);
}

static void test_detect_flood_port_scan_is_not_a_flood(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned port = 1; port <= 2000; port++)
        harness_tcp(h, T0 + port * 500, "172.16.0.8", 40000, "64.13.134.52", (uint16_t)port,
                    TCP_SYN, 0);
    harness_flush(h, T0 + 10 * SEC);
    assert_int_equal(harness_uids(h, "flood", NULL), 0);
    assert_int_equal(harness_uids(h, "portscan", "172.16.0.8"), 1);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_flood_spoofed_syn_flood),
        cmocka_unit_test(test_detect_flood_icmp_from_one_source),
        cmocka_unit_test(test_detect_flood_udp_reflection),
        cmocka_unit_test(test_detect_flood_busy_server_is_quiet),
        cmocka_unit_test(test_detect_flood_port_scan_is_not_a_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
