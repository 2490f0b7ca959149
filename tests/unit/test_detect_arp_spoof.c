/*
 * test_detect_arp_spoof -- a fresh binding taken over, one MAC claiming two
 * addresses, gratuitous storms; ordinary ARP and slow address reuse stay quiet.
 * The same for IPv6 neighbour discovery: advertisements taking a router's or a
 * host's address, a rogue router, override storms, DAD answered by another MAC;
 * and ordinary ND (DAD, router advertisements, privacy addresses) stays quiet.
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

#define ND_R 0x8000 /* NA flags (first 16 "rest" bits) */
#define ND_S 0x4000
#define ND_O 0x2000

/*
 * An ICMPv6 neighbour discovery message from src_mac/src to dst: type 133..137,
 * flags (NA) or router lifetime (RA) in rest, target (NS/NA/redirect, may be NULL), and
 * the link-layer address option (NULL for none).
 */
static void nd(struct harness *h, uint64_t t, const char *src_mac, const char *src,
               const char *dst, uint8_t type, uint16_t rest, const char *target,
               const char *lladdr)
{
    struct pkt p;
    harness_ip(&p, t, src, dst, 58);
    p.layers |= PKT_ICMP6 | PKT_ND;
    p.ethertype = 0x86dd;
    p.ttl = 255;
    harness_mac(src_mac, p.src_mac);
    if (dst[0] == 'f' && dst[1] == 'f')
        harness_mac("33:33:00:00:00:01", p.dst_mac);
    else
        harness_mac("02:00:00:00:00:99", p.dst_mac);
    p.icmp.type = type;
    p.nd.type = type;
    if (type == 136)
        p.icmp.id = rest;
    else if (type == 134)
        p.icmp.seq = rest;
    if (target)
        assert_int_equal(addr_parse(target, &p.nd.target), 0);
    if (lladdr) {
        harness_mac(lladdr, p.nd.lladdr);
        p.nd.has_lladdr = true;
    }
    p.payload_len = 24;
    harness_feed(h, &p);
}

#define R_MAC "00:1a:2b:3c:4d:01"
#define R_LL "fe80::1"
#define H_MAC "02:00:00:00:06:0a"
#define H_LL "fe80::a"
#define E_MAC "02:66:66:66:66:06"
#define E_LL "fe80::bad"

/* The router advertises; a host resolves it; the router answers. */
static void nd_prelude(struct harness *h, uint64_t t)
{
    nd(h, t, R_MAC, R_LL, "ff02::1", 134, 1800, NULL, R_MAC);
    nd(h, t + SEC, H_MAC, H_LL, "ff02::1:ff00:1", 135, 0, R_LL, H_MAC);
    nd(h, t + SEC + 300, R_MAC, R_LL, H_LL, 136, ND_R | ND_S | ND_O, R_LL, R_MAC);
}

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

/* parasite6: "the router's address is at me", by neighbour advertisement. */
static void test_detect_arp_spoof_nd_advert_takes_router_address(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    nd(h, T0 + 5 * SEC, E_MAC, E_LL, "ff02::1", 135, 0, H_LL, E_MAC); /* its own NS */
    nd(h, T0 + 6 * SEC, E_MAC, R_LL, H_LL, 136, ND_R | ND_S | ND_O, R_LL, E_MAC);
    harness_flush(h, T0 + 20 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 1);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_rebind");
    assert_string_equal(e->dst, R_LL);
    assert_string_equal(e->src, E_LL);
    assert_non_null(strstr(e->summary, "(the gateway) by neighbour discovery"));
    harness_free(h);
}

/* A host's global address taken by an unsolicited override advertisement. */
static void test_detect_arp_spoof_nd_advert_takes_host_address(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    nd(h, T0 + 2 * SEC, H_MAC, "2001:db8::a", "ff02::1", 136, ND_O, "2001:db8::a", H_MAC);
    nd(h, T0 + 60 * SEC, E_MAC, E_LL, "ff02::1", 136, ND_O, "2001:db8::a", E_MAC);
    harness_flush(h, T0 + 90 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_rebind");
    assert_string_equal(e->dst, "2001:db8::a");
    assert_null(strstr(e->summary, "gateway"));
    harness_free(h);
}

/* fake_router6: a second MAC advertising a default route while the router is alive. */
static void test_detect_arp_spoof_rogue_router_advert(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    nd(h, T0 + 200 * SEC, R_MAC, R_LL, "ff02::1", 134, 1800, NULL, R_MAC);
    nd(h, T0 + 300 * SEC, E_MAC, E_LL, "ff02::1", 134, 9000, NULL, E_MAC);
    nd(h, T0 + 400 * SEC, R_MAC, R_LL, "ff02::1", 134, 1800, NULL, R_MAC);
    harness_flush(h, T0 + 500 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 1);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "rogue_router");
    assert_string_equal(e->dst, R_LL);
    assert_non_null(strstr(e->summary, "lifetime 9000 s"));
    harness_free(h);
}

/* An attacker spoofing the router's own link-local address in its advertisements. */
static void test_detect_arp_spoof_router_advert_from_other_mac(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    nd(h, T0 + 30 * SEC, E_MAC, R_LL, "ff02::1", 134, 0, NULL, E_MAC); /* "router gone" */
    harness_flush(h, T0 + 60 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_rebind");
    assert_non_null(strstr(e->summary, "the gateway"));
    harness_free(h);
}

static void test_detect_arp_spoof_nd_override_storm(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char target[64];
    for (unsigned i = 0; i < 80; i++) {
        snprintf(target, sizeof(target), "2001:db8::%x", 0x100 + i);
        nd(h, T0 + i * 60000, E_MAC, E_LL, "ff02::1", 136, ND_O, target, E_MAC);
    }
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_storm");
    assert_non_null(strstr(e->summary, "neighbour advertisements"));
    harness_free(h);
}

/* dos-new-ip6: every duplicate address probe answered "in use" by one MAC. */
static void test_detect_arp_spoof_dad_answered_by_another_mac(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char target[64];
    for (unsigned i = 0; i < 4; i++) {
        snprintf(target, sizeof(target), "2001:db8::c:%x", 0x10 + i);
        uint64_t t = T0 + i * 3 * SEC;
        nd(h, t, H_MAC, "::", "ff02::1:ff00:10", 135, 0, target, NULL);
        nd(h, t + 2000, E_MAC, target, "ff02::1", 136, ND_O, target, E_MAC);
    }
    harness_flush(h, T0 + 30 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "dad_dos");
    harness_free(h);
}

/*
 * An hour of ordinary IPv6 on a segment: the router's periodic advertisements and
 * solicited ones, DAD and the announcement after it, neighbour unreachability
 * probes, a host's temporary (privacy) addresses changing every ten minutes, a
 * Thread border router advertising routes with lifetime 0, and a proxy answering
 * without Override for a bound address.
 */
static void test_detect_arp_spoof_ordinary_nd_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char addr[64];
    nd_prelude(h, T0);
    for (unsigned i = 0; i < 18; i++)
        nd(h, T0 + (i + 1) * 200 * SEC, R_MAC, R_LL, "ff02::1", 134, 1800, NULL, R_MAC);
    nd(h, T0 + 5 * SEC, H_MAC, H_LL, "ff02::2", 133, 0, NULL, H_MAC);
    nd(h, T0 + 5 * SEC + 500, R_MAC, R_LL, "ff02::1", 134, 1800, NULL, R_MAC);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t t = T0 + (10 + i * 600) * SEC;
        snprintf(addr, sizeof(addr), "2001:db8::a:%x", 0x1000 + i * 17);
        nd(h, t, H_MAC, "::", "ff02::1:ff00:1", 135, 0, addr, NULL);
        nd(h, t + SEC, H_MAC, addr, "ff02::1", 136, ND_O, addr, H_MAC);
        nd(h, t + SEC + 1000, H_MAC, addr, "ff02::1", 136, ND_O, addr, H_MAC);
        nd(h, t + 30 * SEC, H_MAC, addr, "2001:db8::1", 135, 0, "2001:db8::1", H_MAC);
        nd(h, t + 30 * SEC + 200, R_MAC, "2001:db8::1", addr, 136, ND_R | ND_S | ND_O,
           "2001:db8::1", R_MAC);
        nd(h, t + 60 * SEC, R_MAC, R_LL, addr, 135, 0, addr, R_MAC);
        nd(h, t + 60 * SEC + 200, H_MAC, addr, R_LL, 136, ND_S | ND_O, addr, H_MAC);
    }
    for (unsigned i = 0; i < 10; i++)
        nd(h, T0 + (100 + i * 300) * SEC, "02:00:00:00:07:77", "fe80::77", "ff02::1", 134, 0,
           NULL, "02:00:00:00:07:77");
    nd(h, T0 + 8 * SEC, "02:00:00:00:08:88", "fe80::88", H_LL, 136, ND_S, H_LL,
       "02:00:00:00:08:88");
    harness_flush(h, T0 + 3700 * SEC);
    if (harness_uids(h, "arp_spoof", NULL))
        harness_dump(h);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 0);
    harness_free(h);
}

/* A host that is both IPv4 and IPv6: its IPv6 addresses are not extra claims. */
static void test_detect_arp_spoof_dual_stack_host_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd(h, T0, H_MAC, H_LL, "ff02::1", 136, ND_O, H_LL, H_MAC);
    nd(h, T0 + SEC, H_MAC, "2001:db8::a", "ff02::1", 136, ND_O, "2001:db8::a", H_MAC);
    nd(h, T0 + 2 * SEC, H_MAC, "2001:db8::a:1", "ff02::1", 136, ND_O, "2001:db8::a:1", H_MAC);
    harness_arp(h, T0 + 3 * SEC, 1, H_MAC, "10.6.0.10", ZERO_MAC, "10.6.0.1");
    harness_flush(h, T0 + 20 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 0);
    harness_free(h);
}

/* The router keeps answering for its address too: only the poisoner is reported. */
static void test_detect_arp_spoof_nd_owner_answering_back_is_not_blamed(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    for (unsigned i = 0; i < 10; i++) {
        uint64_t t = T0 + (10 + i * 5) * SEC;
        nd(h, t, H_MAC, H_LL, "ff02::1:ff00:1", 135, 0, R_LL, H_MAC);
        nd(h, t + 300, R_MAC, R_LL, H_LL, 136, ND_R | ND_S | ND_O, R_LL, R_MAC);
        nd(h, t + 350, E_MAC, R_LL, H_LL, 136, ND_R | ND_S | ND_O, R_LL, E_MAC);
    }
    harness_flush(h, T0 + 100 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 1);
    assert_string_equal(harness_find(h, "arp_spoof", NULL)->src_mac, E_MAC);
    harness_free(h);
}

/* flood_router6: advertisements from ever new MACs: a flood event and a few rogue
 * routers, not one event per MAC. */
static void test_detect_arp_spoof_router_advert_flood(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char mac[24], ll[48];
    for (unsigned i = 0; i < 300; i++) {
        snprintf(mac, sizeof(mac), "02:aa:00:00:%02x:%02x", i >> 8, i & 0xff);
        snprintf(ll, sizeof(ll), "fe80::aa:%x", i);
        nd(h, T0 + i * 20000, mac, ll, "ff02::1", 134, 1800, NULL, mac);
    }
    harness_flush(h, T0 + 30 * SEC);
    assert_true(harness_uids(h, "arp_spoof", NULL) <= 4);
    bool flood = false;
    for (size_t i = 0; i < harness_event_count(h); i++)
        flood |= strcmp(harness_event(h, i)->subtype, "ra_flood") == 0;
    assert_true(flood);
    harness_free(h);
}

/* ettercap's NDP poisoning: "the router is at me" pushed to the victim, unasked. */
static void test_detect_arp_spoof_nd_unsolicited_adverts(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 15; i++)
        nd(h, T0 + i * 2 * SEC, E_MAC, E_LL, H_LL, 136, ND_R | ND_S | ND_O, "fe80::1:2", E_MAC);
    harness_flush(h, T0 + 60 * SEC);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_non_null(e);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_unsolicited");
    harness_free(h);
}

/* redir6: a redirect "in the router's name" from another MAC; the router's own is fine. */
static void test_detect_arp_spoof_nd_redirect_from_non_router(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    nd_prelude(h, T0);
    nd(h, T0 + 10 * SEC, R_MAC, R_LL, H_LL, 137, 0, "fe80::2", NULL);
    harness_tick(h, T0 + 11 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 0);
    nd(h, T0 + 20 * SEC, E_MAC, R_LL, H_LL, 137, 0, E_LL, E_MAC);
    harness_flush(h, T0 + 30 * SEC);
    assert_int_equal(harness_uids(h, "arp_spoof", NULL), 1);
    const struct harness_event *e = harness_find(h, "arp_spoof", NULL);
    assert_string_equal(e->src_mac, E_MAC);
    assert_string_equal(e->subtype, "nd_redirect");
    assert_string_equal(e->dst, H_LL);
    assert_non_null(strstr(e->summary, "in the router's name"));
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
        cmocka_unit_test(test_detect_arp_spoof_nd_advert_takes_router_address),
        cmocka_unit_test(test_detect_arp_spoof_nd_advert_takes_host_address),
        cmocka_unit_test(test_detect_arp_spoof_rogue_router_advert),
        cmocka_unit_test(test_detect_arp_spoof_router_advert_from_other_mac),
        cmocka_unit_test(test_detect_arp_spoof_nd_override_storm),
        cmocka_unit_test(test_detect_arp_spoof_dad_answered_by_another_mac),
        cmocka_unit_test(test_detect_arp_spoof_ordinary_nd_is_quiet),
        cmocka_unit_test(test_detect_arp_spoof_dual_stack_host_is_quiet),
        cmocka_unit_test(test_detect_arp_spoof_nd_owner_answering_back_is_not_blamed),
        cmocka_unit_test(test_detect_arp_spoof_router_advert_flood),
        cmocka_unit_test(test_detect_arp_spoof_nd_unsolicited_adverts),
        cmocka_unit_test(test_detect_arp_spoof_nd_redirect_from_non_router),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
