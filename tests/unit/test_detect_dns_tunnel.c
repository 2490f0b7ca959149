/*
 * test_detect_dns_tunnel -- encoded names under one domain, binary labels and
 * NULL queries, high volume; CDN names and reputation lookups stay quiet.
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

static void query(struct harness *h, uint64_t t, const char *client, const char *name,
                  uint16_t qtype)
{
    struct pkt p;
    harness_ip(&p, t, client, "10.0.0.53", 17);
    p.layers |= PKT_UDP | PKT_DNS;
    p.sport = 40000;
    p.dport = 53;
    p.dns.qtype = qtype;
    p.dns.qdcount = 1;
    snprintf(p.dns.qname, sizeof(p.dns.qname), "%s", name);
    p.dns.qname_len = (uint16_t)strlen(p.dns.qname);
    p.dns.qname_binary = strstr(name, "\\x") != NULL;
    harness_feed(h, &p);
}

static void hex(char *out, size_t n, unsigned seed)
{
    static const char digits[] = "0123456789abcdef";
    unsigned x = seed * 2654435761u + 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345;
        out[i] = digits[(x >> 16) & 15];
    }
    out[n] = '\0';
}

static void test_detect_dns_tunnel_hex_labels(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char label[64], name[128];
    for (unsigned i = 0; i < 12; i++) {
        hex(label, 34, i);
        snprintf(name, sizeof(name), "%s.biillpi.com", label);
        query(h, T0 + i * SEC, "192.168.1.17", name, i % 2 ? 16 : 5);
    }
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "dns_tunnel", "192.168.1.17");
    assert_non_null(e);
    assert_string_equal(e->domain, "biillpi.com");
    harness_free(h);
}

static void test_detect_dns_tunnel_registered_domain_from_psl(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char label[64], name[160];
    for (unsigned i = 0; i < 10; i++) {
        hex(label, 60, i + 100);
        snprintf(name, sizeof(name), "%s.x.tunnel.co.uk", label);
        query(h, T0 + i * SEC, "10.0.0.8", name, 16);
    }
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "dns_tunnel", "10.0.0.8");
    assert_non_null(e);
    assert_string_equal(e->domain, "tunnel.co.uk");
    harness_free(h);
}

static void test_detect_dns_tunnel_null_queries_with_binary_labels(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char name[128];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "zi%02u\\xe4\\x01aahh.pirate.sea", i);
        query(h, T0 + i * SEC, "10.0.2.30", name, 10);
    }
    harness_flush(h, T0 + 20 * SEC);
    const struct harness_event *e = harness_find(h, "dns_tunnel", "10.0.2.30");
    assert_non_null(e);
    assert_string_equal(e->domain, "pirate.sea");
    harness_free(h);
}

static void test_detect_dns_tunnel_cdn_names_are_quiet(void **state)
{
    (void)state;
    static const char *const names[] = {
        "static-hp-eus-s-msn-com.akamaized.net", "img-s-msn-com.akamaized.net",
        "assets-global-prod.akamaized.net",      "r3---sn-8xgp1vo-p5qe.googlevideo.com",
        "d1a2b3c4d5e6f7.cloudfront.net",         "e673.dsce9.akamaiedge.net",
        "fp-afd-nocache-ccp.azureedge.net",      "prod-msrc-cdn-ppe.trafficmanager.net",
        "www.bing.com",                          "login.microsoftonline.com"};
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned r = 0; r < 5; r++) {
        for (unsigned i = 0; i < WARD_ARRAY_LEN(names); i++)
            query(h, T0 + (r * 10 + i) * SEC, "10.0.0.93", names[i], i % 2 ? 1 : 28);
    }
    harness_flush(h, T0 + 100 * SEC);
    assert_int_equal(harness_uids(h, "dns_tunnel", NULL), 0);
    harness_free(h);
}

static void test_detect_dns_tunnel_ignored_domain_is_quiet(void **state)
{
    (void)state;
    struct harness *h =
        harness_new("[detect.dns_tunnel]\nignore_domains = sophosxl.net reputation.example\n",
                    NULL);
    char label[64], name[128];
    for (unsigned i = 0; i < 20; i++) {
        hex(label, 40, i);
        snprintf(name, sizeof(name), "%s.a.reputation.example", label);
        query(h, T0 + i * SEC, "10.0.0.5", name, 16);
    }
    harness_flush(h, T0 + 30 * SEC);
    assert_int_equal(harness_uids(h, "dns_tunnel", NULL), 0);
    harness_free(h);
}

static void test_detect_dns_tunnel_volume(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect.dns_tunnel]\nvolume_names = 100\n", NULL);
    char name[128];
    for (unsigned i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "host-number-%u.data.example", i);
        query(h, T0 + i * 100000, "10.0.0.6", name, 1);
    }
    harness_flush(h, T0 + 30 * SEC);
    const struct harness_event *e = harness_find(h, "dns_tunnel", "10.0.0.6");
    assert_non_null(e);
    assert_string_equal(e->subtype, "volume");
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_dns_tunnel_hex_labels),
        cmocka_unit_test(test_detect_dns_tunnel_registered_domain_from_psl),
        cmocka_unit_test(test_detect_dns_tunnel_null_queries_with_binary_labels),
        cmocka_unit_test(test_detect_dns_tunnel_cdn_names_are_quiet),
        cmocka_unit_test(test_detect_dns_tunnel_ignored_domain_is_quiet),
        cmocka_unit_test(test_detect_dns_tunnel_volume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
