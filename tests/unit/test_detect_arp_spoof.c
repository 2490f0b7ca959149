/*
 * test_detect_arp_spoof -- a fresh binding taken over, one MAC claiming two
 * addresses, gratuitous storms; ordinary ARP and slow address reuse stay quiet.
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

#define GW_MAC "00:50:56:f9:f5:54"
#define HOST_MAC "00:21:70:c0:56:f0"
#define EVIL_MAC "00:0c:29:1d:b3:b1"
#define ZERO_MAC "00:00:00:00:00:00"

static void test_detect_arp_spoof_rebind_of_fresh_binding(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    harness_arp(h, T0, 1, HOST_MAC, "192.168.47.200", ZERO_MAC, "192.168.47.254");
    harness_arp(h, T0 + 100, 2, GW_MAC, "192.168.47.254", HOST_MAC, "192.168.47.200");
    harness_arp(h, T0 + SEC, 1, EVIL_MAC, "192.168.47.171", ZERO_MAC, "192.168.47.254");
    harness_arp(h, T0 + 3 * SEC, 2, EVIL_MAC, "192.168.47.254", HOST_MAC, "192.168.47.200");
    harness_flush(h, T0 + 10 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 1);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_string_equal(e->src_mac, EVIL_MAC);
    assert_string_equal(e->src, "192.168.47.171");
    assert_string_equal(e->dst, "192.168.47.254");
    harness_free(h);
}

static void test_detect_arp_spoof_mac_claiming_two_addresses(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    /* "172.16.0.1 is at me", to the victim, then the attacker's own request. */
    harness_arp(h, T0, 1, "00:25:b3:bf:91:ee", "172.16.0.1", ZERO_MAC, "172.16.0.107");
    harness_arp(h, T0 + 10 * SEC, 1, "00:25:b3:bf:91:ee", "172.16.0.105", ZERO_MAC,
                "172.16.0.1");
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, "00:25:b3:bf:91:ee");
    assert_string_equal(e->subtype, "multi_ip");
    harness_free(h);
}

static void test_detect_arp_spoof_ordinary_arp_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char ip[32], mac[24];
    for (unsigned round = 0; round < 5; round++) {
        for (unsigned i = 1; i < 30; i++) {
            snprintf(ip, sizeof(ip), "10.1.1.%u", i);
            snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", i);
            uint64_t t = T0 + (round * 60 + i) * SEC;
            harness_arp(h, t, 1, "02:00:00:00:01:fe", "10.1.1.254", ZERO_MAC, ip);
            harness_arp(h, t + 100, 2, mac, ip, "02:00:00:00:01:fe", "10.1.1.254");
        }
    }
    harness_flush(h, T0 + 400 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 0);
    harness_free(h);
}

/* A DHCP address handed to a new machine an hour after the old one left. */
static void test_detect_arp_spoof_slow_address_reuse_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    harness_arp(h, T0, 1, "02:00:00:00:02:01", "10.2.2.50", ZERO_MAC, "10.2.2.1");
    harness_arp(h, T0 + 3600 * SEC, 1, "02:00:00:00:02:02", "10.2.2.50", ZERO_MAC, "10.2.2.1");
    harness_flush(h, T0 + 3700 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 0);
    harness_free(h);
}

static void test_detect_arp_spoof_gratuitous_storm(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 100; i++)
        harness_arp(h, T0 + i * 50000, 1, "02:77:77:77:77:77", "10.8.0.77", "ff:ff:ff:ff:ff:ff",
                    "10.8.0.77");
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->subtype, "storm");
    harness_free(h);
}

/* arpspoof: "the gateway is at me" to the victim every two seconds, unasked. */
static void test_detect_arp_spoof_unsolicited_replies(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 15; i++)
        harness_arp(h, T0 + i * 2 * SEC, 2, EVIL_MAC, "10.3.3.1", HOST_MAC, "10.3.3.20");
    harness_flush(h, T0 + 60 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, EVIL_MAC);
    assert_string_equal(e->subtype, "unsolicited");
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_arp_spoof_rebind_of_fresh_binding),
        cmocka_unit_test(test_detect_arp_spoof_mac_claiming_two_addresses),
        cmocka_unit_test(test_detect_arp_spoof_ordinary_arp_is_quiet),
        cmocka_unit_test(test_detect_arp_spoof_slow_address_reuse_is_quiet),
        cmocka_unit_test(test_detect_arp_spoof_gratuitous_storm),
        cmocka_unit_test(test_detect_arp_spoof_unsolicited_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
