/*
 * test_detect_beacon -- periodic check-ins (in one long flow or a connection
 * each time, with jitter), and the periodic traffic that is not a beacon: NTP,
 * a monitoring poller, ordinary browsing; and the same by server name when the
 * addresses behind it rotate.
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

/* A TLS connection whose ClientHello names sni; returns the time of its last packet. */
static uint64_t tls_session(struct harness *h, uint64_t t, const char *src, uint16_t sport,
                            const char *dst, uint16_t dport, const char *sni, uint32_t req)
{
    struct pkt p;
    harness_tcp(h, t, src, sport, dst, dport, TCP_SYN, 0);
    harness_tcp(h, t + 1000, dst, dport, src, sport, TCP_SYN | TCP_ACK, 0);
    harness_tcp(h, t + 2000, src, sport, dst, dport, TCP_ACK, 0);
    harness_ip(&p, t + 3000, src, dst, 6);
    p.layers |= PKT_TCP | PKT_TLS_HELLO;
    p.sport = sport;
    p.dport = dport;
    p.tcp.flags = TCP_ACK | TCP_PSH;
    p.payload_len = req;
    snprintf(p.tls.sni, sizeof(p.tls.sni), "%s", sni);
    harness_feed(h, &p);
    harness_tcp(h, t + 4000, dst, dport, src, sport, TCP_ACK | TCP_PSH, 1200);
    harness_tcp(h, t + 5000, src, sport, dst, dport, TCP_FIN | TCP_ACK, 0);
    harness_tcp(h, t + 6000, dst, dport, src, sport, TCP_FIN | TCP_ACK, 0);
    return t + 6000;
}

/* A DNS answer from 10.0.0.53 telling client that name is at addr. */
static void dns_answer(struct harness *h, uint64_t t, const char *client, uint16_t port,
                       const char *name, const char *addr)
{
    struct pkt p;
    harness_udp(h, t, client, port, "10.0.0.53", 53, 40);
    harness_ip(&p, t + 2000, "10.0.0.53", client, 17);
    p.layers |= PKT_UDP | PKT_DNS;
    p.sport = 53;
    p.dport = port;
    p.payload_len = 80;
    p.dns.is_response = true;
    p.dns.qtype = 1;
    p.dns.qdcount = 1;
    p.dns.ancount = 1;
    snprintf(p.dns.qname, sizeof(p.dns.qname), "%s", name);
    p.dns.qname_len = (uint16_t)strlen(p.dns.qname);
    p.dns.n_answers = 1;
    p.dns.answers[0].type = 1;
    p.dns.answers[0].ttl = 60;
    assert_int_equal(addr_parse(addr, &p.dns.answers[0].addr), 0);
    harness_feed(h, &p);
}

static const char *const rotating[] = {"198.51.100.11", "198.51.100.12", "203.0.113.40",
                                       "203.0.113.41", "192.0.2.77"};

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

/* A check-in every 60 s to one name whose address changes each time (a CDN front). */
static void test_detect_beacon_name_across_rotating_addresses(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 20; i++) {
        tls_session(h, t, "10.0.0.31", (uint16_t)(50000 + i), rotating[rnd(5)], 443,
                    "c2.rotating.example", 330);
        t += 60 * SEC;
    }
    harness_flush(h, t);
    assert_int_equal(harness_uids(h, "beacon", NULL), 1);
    const struct harness_event *e = harness_find(h, "beacon", "10.0.0.31");
    assert_non_null(e);
    assert_string_equal(e->domain, "c2.rotating.example");
    assert_non_null(strstr(e->summary, "c2.rotating.example"));
    assert_non_null(strstr(e->summary, "every 60.0 s"));
    harness_free(h);
}

/* The same with +-20% jitter, and the name known from DNS only (no TLS). */
static void test_detect_beacon_jittered_name_from_dns(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 16; i++) {
        const char *ip = rotating[i % 5];
        dns_answer(h, t, "10.0.0.32", (uint16_t)(40000 + i), "Upd.Rotating.Example.", ip);
        harness_session(h, t + 50000, "10.0.0.32", (uint16_t)(50000 + i), ip, 8443, 410, 900,
                        false);
        t += (48 + rnd(25)) * SEC;
    }
    harness_flush(h, t);
    const struct harness_event *e = harness_find(h, "beacon", "10.0.0.32");
    if (!e)
        harness_dump(h);
    assert_non_null(e);
    assert_string_equal(e->domain, "upd.rotating.example");
    assert_int_equal(harness_uids(h, "beacon", NULL), 1);
    harness_free(h);
}

/* A fixed address with a name: one event, by address, that names the name. */
static void test_detect_beacon_named_fixed_address_one_event(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 16; i++) {
        tls_session(h, t, "10.0.0.33", (uint16_t)(50000 + i), "198.51.100.20", 443,
                    "telemetry.fixed.example", 300);
        t += 30 * SEC;
    }
    harness_flush(h, t);
    assert_int_equal(harness_uids(h, "beacon", NULL), 1);
    const struct harness_event *e = harness_find(h, "beacon", "10.0.0.33");
    assert_string_equal(e->dst, "198.51.100.20");
    assert_non_null(strstr(e->summary, "telemetry.fixed.example"));
    harness_free(h);
}

/* NTP to a pool name (a new address each time) and a monitor polling names. */
static void test_detect_beacon_named_ntp_and_poller_are_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char name[64], host[32];
    for (unsigned i = 0; i < 30; i++) {
        uint64_t t = T0 + i * 64 * SEC;
        dns_answer(h, t, "10.0.0.7", (uint16_t)(41000 + i), "pool.ntp.example", rotating[i % 5]);
        harness_udp(h, t + 10000, "10.0.0.7", 123, rotating[i % 5], 123, 48);
        harness_udp(h, t + 20000, rotating[i % 5], 123, "10.0.0.7", 123, 48);
    }
    for (unsigned round = 0; round < 20; round++) {
        uint64_t t = T0 + round * 60 * SEC;
        for (unsigned i = 0; i < 8; i++) {
            snprintf(name, sizeof(name), "ward%u.clinic.example", i);
            snprintf(host, sizeof(host), "198.18.%u.%u", i, 10 + round % 3);
            t = tls_session(h, t + 30000, "10.0.0.2", (uint16_t)(30000 + round * 10 + i), host,
                            443, name, 150);
        }
    }
    harness_flush(h, T0 + 2000 * SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

/* A browser fetching from one CDN name at many addresses, at reading pace. */
static void test_detect_beacon_browser_to_cdn_name_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 80; i++) {
        unsigned n = 1 + (unsigned)rnd(4);
        for (unsigned j = 0; j < n; j++)
            t = tls_session(h, t + 20000, "10.0.0.94", (uint16_t)(40000 + i * 8 + j),
                            rotating[rnd(5)], 443, "static.cdn.example", 200 + (uint32_t)rnd(2000));
        t += (1 + rnd(4) * rnd(60)) * SEC;
    }
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

/* ignore_names silences a name and its address pairs. */
static void test_detect_beacon_ignore_names(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect.beacon]\nignore_names = *.Fixed.Example.\n", NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 16; i++) {
        tls_session(h, t, "10.0.0.33", (uint16_t)(50000 + i), rotating[i % 2], 443,
                    "telemetry.fixed.example", 300);
        t += 30 * SEC;
    }
    harness_flush(h, t);
    assert_int_equal(harness_uids(h, "beacon", NULL), 0);
    harness_free(h);
}

/* ignore_names holds 32 names; a 33rd, even one that is only "*.", is refused. */
static void test_detect_beacon_ignore_names_limit(void **state)
{
    (void)state;
    char ini[200];
    int off = snprintf(ini, sizeof(ini), "[detect.beacon]\nignore_names = ");
    for (unsigned i = 0; i < 32; i++)
        off += snprintf(ini + off, sizeof(ini) - (size_t)off, "%sa%u", i ? "," : "", i);
    snprintf(ini + off, sizeof(ini) - (size_t)off, "\n");
    struct harness *h = harness_try_new(ini, NULL);
    assert_non_null(h);
    harness_free(h);
    snprintf(ini + off, sizeof(ini) - (size_t)off, ",*.\n");
    assert_null(harness_try_new(ini, NULL));
    snprintf(ini + off, sizeof(ini) - (size_t)off, ",a32\n");
    assert_null(harness_try_new(ini, NULL));
}

/* The name tables are bounded: a flood of names evicts (and counts) old entries. */
static void test_detect_beacon_name_tables_bounded(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect.beacon]\nnames_max = 8\nresolve_max = 8\n", NULL);
    char name[64], ip[32];
    for (unsigned i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "n%u.example", i);
        snprintf(ip, sizeof(ip), "198.18.0.%u", 1 + i);
        dns_answer(h, T0 + i * SEC, "10.0.0.40", (uint16_t)(40000 + i), name, ip);
        for (unsigned j = 0; j < 2; j++)
            tls_session(h, T0 + i * SEC + j * 100000, "10.0.0.40", (uint16_t)(50000 + i * 2 + j),
                        ip, 443, name, 100);
    }
    assert_true(harness_evictions(h) >= 100 - 8 + 100 - 8);
    harness_flush(h, T0 + 200 * SEC);
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
        cmocka_unit_test(test_detect_beacon_name_across_rotating_addresses),
        cmocka_unit_test(test_detect_beacon_jittered_name_from_dns),
        cmocka_unit_test(test_detect_beacon_named_fixed_address_one_event),
        cmocka_unit_test(test_detect_beacon_named_ntp_and_poller_are_quiet),
        cmocka_unit_test(test_detect_beacon_browser_to_cdn_name_is_quiet),
        cmocka_unit_test(test_detect_beacon_ignore_names),
        cmocka_unit_test(test_detect_beacon_ignore_names_limit),
        cmocka_unit_test(test_detect_beacon_name_tables_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
