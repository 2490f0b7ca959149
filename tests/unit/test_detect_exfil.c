/*
 * test_detect_exfil -- large uploads against floor and baseline, direction by
 * bytes, allowlisted backups, ICMP tunnels versus ping.
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

static void test_detect_exfil_upload_over_the_floor(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = harness_session(h, T0, "192.168.1.159", 1038, "64.12.102.142", 587, 300000,
                                 15000, false);
    harness_flush(h, t + SEC);
    const struct harness_event *e = harness_find(h, "exfil", "192.168.1.159");
    assert_non_null(e);
    assert_string_equal(e->subtype, "volume");
    assert_string_equal(e->dst, "64.12.102.142");
    harness_free(h);
}

/* Active FTP: the server opens the data connection, the inside host sends. */
static void test_detect_exfil_direction_by_bytes_not_by_syn(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, "67.169.189.180/32");
    uint64_t t = harness_session(h, T0, "128.121.136.217", 20, "67.169.189.180", 50000, 100,
                                 1500000, false);
    harness_flush(h, t + SEC);
    assert_non_null(harness_find(h, "exfil", "67.169.189.180"));
    harness_free(h);
}

static void test_detect_exfil_download_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = harness_session(h, T0, "192.168.1.93", 50000, "93.184.216.34", 443, 2000,
                                 3000000, false);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "exfil", NULL), 0);
    harness_free(h);
}

static void test_detect_exfil_allowlisted_backup_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect]\nallow = 10.70.0.5\n", NULL);
    uint64_t t = harness_session(h, T0, "10.70.0.5", 46000, "203.0.113.200", 22, 5000000, 20000,
                                 false);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "exfil", NULL), 0);
    harness_free(h);
}

static void test_detect_exfil_ignored_destination_is_quiet(void **state)
{
    (void)state;
    struct harness *h =
        harness_new("[detect.exfil]\nignore_destinations = 203.0.113.0/24\n", NULL);
    uint64_t t = harness_session(h, T0, "10.70.0.6", 46000, "203.0.113.201", 443, 5000000, 20000,
                                 false);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "exfil", NULL), 0);
    harness_free(h);
}

/* A host that uploads 1 MB every 10 minutes is not news when it uploads 1.2 MB. */
static void test_detect_exfil_baseline_raises_the_bar(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned b = 0; b < 8; b++) {
        harness_session(h, t, "10.0.0.8", (uint16_t)(47000 + b), "198.51.100.30", 443, 1000000,
                        1000, false);
        t += 600 * SEC;
    }
    size_t before = harness_uids(h, "exfil", NULL);
    harness_session(h, t, "10.0.0.8", 47100, "198.51.100.30", 443, 1200000, 1000, false);
    harness_flush(h, t + 60 * SEC);
    /* The first bucket had no baseline yet; after that, nothing new. */
    assert_int_equal(harness_uids(h, "exfil", NULL), before);
    assert_true(before <= 1);
    harness_free(h);
}

static void test_detect_exfil_icmp_tunnel(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 60; i++) {
        uint64_t t = T0 + i * SEC;
        harness_icmp(h, t, "192.168.154.131", "192.168.154.132", 8, 0, 84 + (i * 37) % 900);
        harness_icmp(h, t + 500, "192.168.154.132", "192.168.154.131", 0, 0, 84 + (i * 53) % 900);
    }
    harness_flush(h, T0 + 100 * SEC);
    const struct harness_event *e = harness_find(h, "exfil", "192.168.154.131");
    assert_non_null(e);
    assert_string_equal(e->subtype, "icmp_tunnel");
    harness_free(h);
}

static void test_detect_exfil_big_ping_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 200; i++) {
        uint64_t t = T0 + i * SEC;
        harness_icmp(h, t, "10.0.0.5", "10.0.0.1", 8, 0, 1400);
        harness_icmp(h, t + 500, "10.0.0.1", "10.0.0.5", 0, 0, 1400);
    }
    harness_flush(h, T0 + 300 * SEC);
    assert_int_equal(harness_uids(h, "exfil", NULL), 0);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_exfil_upload_over_the_floor),
        cmocka_unit_test(test_detect_exfil_direction_by_bytes_not_by_syn),
        cmocka_unit_test(test_detect_exfil_download_is_quiet),
        cmocka_unit_test(test_detect_exfil_allowlisted_backup_is_quiet),
        cmocka_unit_test(test_detect_exfil_ignored_destination_is_quiet),
        cmocka_unit_test(test_detect_exfil_baseline_raises_the_bar),
        cmocka_unit_test(test_detect_exfil_icmp_tunnel),
        cmocka_unit_test(test_detect_exfil_big_ping_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
