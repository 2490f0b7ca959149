/*
 * test_detect_beacon -- periodic check-ins (in one long flow or a connection
 * each time, with jitter), and the periodic traffic that is not a beacon: NTP,
 * a monitoring poller, ordinary browsing.
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

static uint64_t lcg = 12345;
static uint64_t rnd(uint64_t n)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (lcg >> 33) % n;
}

static void test_detect_beacon_udp_checkins_in_one_flow(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 20; i++) {
        uint64_t t = T0 + i * 15 * SEC;
        for (unsigned j = 0; j < 3; j++) {
            harness_udp(h, t + j * 20000, "10.0.0.4", 53241, "24.199.110.233", 443, 1200);
            harness_udp(h, t + j * 20000 + 5000, "24.199.110.233", 443, "10.0.0.4", 53241, 900);
        }
    }
    harness_flush(h, T0 + 400 * SEC);
    const struct harness_event *e = harness_find(h, "beacon", "10.0.0.4");
    if (!e)
        harness_dump(h);
    assert_non_null(e);
    assert_string_equal(e->dst, "24.199.110.233");
    assert_string_equal(e->subtype, "periodic");
    assert_non_null(strstr(e->summary, "every 15.0 s"));
    harness_free(h);
}

static void test_detect_beacon_jittered_connections(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 16; i++) {
        harness_session(h, t, "10.0.0.9", (uint16_t)(50000 + i), "198.51.100.20", 443, 350, 900,
                        false);
        t += (48 + rnd(25)) * SEC; /* 60 s +- 20% */
    }
    harness_flush(h, t);
    assert_non_null(harness_find(h, "beacon", "10.0.0.9"));
    harness_free(h);
}

static void test_detect_beacon_ntp_client_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 40; i++) {
        uint64_t t = T0 + i * 64 * SEC;
        harness_udp(h, t, "10.0.0.7", 123, "10.0.0.1", 123, 48);
        harness_udp(h, t + 800, "10.0.0.1", 123, "10.0.0.7", 123, 48);
    }
    harness_flush(h, T0 + 3000 * SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

/* A monitoring server polls 10 hosts every minute: periodic, but a poller. */
static void test_detect_beacon_monitoring_poller_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char host[32];
    for (unsigned round = 0; round < 20; round++) {
        uint64_t t = T0 + round * 60 * SEC;
        for (unsigned i = 0; i < 10; i++) {
            snprintf(host, sizeof(host), "10.1.0.%u", 10 + i);
            t = harness_session(h, t + 30000, "10.0.0.2", (uint16_t)(30000 + round * 10 + i),
                                host, 8080, 120, 600, false);
        }
    }
    harness_flush(h, T0 + 1300 * SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

static void test_detect_beacon_browsing_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 60; i++) {
        unsigned n = 1 + (unsigned)rnd(5);
        for (unsigned j = 0; j < n; j++)
            t = harness_session(h, t + 20000, "10.0.0.93", (uint16_t)(40000 + i * 8 + j),
                                "93.184.216.34", 443, 200 + rnd(3000), 5000 + rnd(50000), false);
        t += (1 + rnd(4) * rnd(60)) * SEC;
    }
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

/* Too short a span proves nothing, however regular. */
static void test_detect_beacon_short_span_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 15; i++)
        harness_session(h, T0 + i * 5 * SEC, "10.0.0.46", (uint16_t)(50000 + i),
                        "104.43.203.255", 80, 400, 300, false);
    harness_flush(h, T0 + 100 * SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_beacon_udp_checkins_in_one_flow),
        cmocka_unit_test(test_detect_beacon_jittered_connections),
        cmocka_unit_test(test_detect_beacon_ntp_client_is_quiet),
        cmocka_unit_test(test_detect_beacon_monitoring_poller_is_quiet),
        cmocka_unit_test(test_detect_beacon_browsing_is_quiet),
        cmocka_unit_test(test_detect_beacon_short_span_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
