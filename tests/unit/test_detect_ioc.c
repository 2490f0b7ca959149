/*
 * test_detect_ioc -- indicator lists from files: addresses and networks on flow
 * endpoints, domains on DNS, SNI and Host; reload; bad lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "detect_harness.h"
#include "log.h"

#define SEC USEC_PER_SEC
#define T0 (1700000000ULL * SEC)

static char dir[64];
static char addr_file[128], name_file[128], ini[512];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ward-ioc-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(addr_file, sizeof(addr_file), "%s/addresses", dir);
    snprintf(name_file, sizeof(name_file), "%s/domains", dir);
    write_file(addr_file, "# feed\n203.0.113.66\n198.51.100.0/28  # a network\n\n");
    write_file(name_file, "badexample.org\n*.phish-example.com\n");
    snprintf(ini, sizeof(ini), "[detect.ioc]\naddresses = %s\ndomains = %s\n", addr_file,
             name_file);
    log_set_level(LOG_LEVEL_ERR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(addr_file);
    unlink(name_file);
    rmdir(dir);
    return 0;
}

static void named(struct harness *h, uint64_t t, const char *src, const char *name,
                  enum pkt_layer layer)
{
    struct pkt p;
    harness_ip(&p, t, src, "93.184.216.34", layer == PKT_DNS ? 17 : 6);
    p.layers |= layer | (layer == PKT_DNS ? PKT_UDP : PKT_TCP);
    p.sport = 50000;
    p.dport = layer == PKT_DNS ? 53 : 443;
    p.tcp.flags = TCP_ACK | TCP_PSH;
    if (layer == PKT_DNS)
        snprintf(p.dns.qname, sizeof(p.dns.qname), "%s", name);
    else if (layer == PKT_TLS_HELLO)
        snprintf(p.tls.sni, sizeof(p.tls.sni), "%s", name);
    else
        snprintf(p.http.host, sizeof(p.http.host), "%s", name);
    p.dns.qname_len = (uint16_t)strlen(p.dns.qname);
    harness_feed(h, &p);
}

static void test_detect_ioc_address_and_network(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    harness_session(h, T0, "10.20.0.5", 50001, "203.0.113.66", 443, 300, 2000, false);
    harness_session(h, T0 + SEC, "10.20.0.9", 50002, "198.51.100.7", 80, 300, 2000, false);
    harness_session(h, T0 + 2 * SEC, "10.20.0.8", 50003, "198.51.100.77", 80, 300, 2000, false);
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "ioc_hit", "10.20.0.5");
    assert_non_null(e);
    assert_string_equal(e->domain, "203.0.113.66");
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.9"));
    assert_null(harness_find(h, "ioc_hit", "10.20.0.8"));
    /* The answer from the listed address names the inside host too: one event. */
    assert_int_equal(harness_uids(h, "ioc_hit", "10.20.0.5"), 1);
    harness_free(h);
}

static void test_detect_ioc_domains_on_dns_sni_and_host(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    named(h, T0, "10.20.0.6", "x1.c2.badexample.org", PKT_DNS);
    named(h, T0 + SEC, "10.20.0.7", "login.phish-example.com", PKT_TLS_HELLO);
    named(h, T0 + 2 * SEC, "10.20.0.10", "PHISH-EXAMPLE.COM:8080", PKT_HTTP);
    named(h, T0 + 3 * SEC, "10.20.0.11", "notbadexample.org", PKT_DNS);
    harness_flush(h, T0 + 10 * SEC);
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.7"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.10"));
    assert_null(harness_find(h, "ioc_hit", "10.20.0.11"));
    harness_free(h);
}

static void test_detect_ioc_reload_replaces_lists(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    named(h, T0, "10.20.0.6", "new-bad.example", PKT_DNS);
    write_file(name_file, "new-bad.example\n");
    assert_int_equal(harness_reload(h), 0);
    named(h, T0 + SEC, "10.20.0.7", "new-bad.example", PKT_DNS);
    named(h, T0 + 2 * SEC, "10.20.0.8", "badexample.org", PKT_DNS);
    /* A broken edit keeps the lists in force. */
    write_file(name_file, "bad name with spaces!\n");
    assert_true(harness_reload(h) < 0);
    named(h, T0 + 3 * SEC, "10.20.0.9", "new-bad.example", PKT_DNS);
    harness_flush(h, T0 + 10 * SEC);
    assert_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.7"));
    assert_null(harness_find(h, "ioc_hit", "10.20.0.8"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.9"));
    harness_free(h);
    write_file(name_file, "badexample.org\n*.phish-example.com\n");
}

static void test_detect_ioc_bad_list_is_an_error(void **state)
{
    (void)state;
    char bad[600];
    write_file(addr_file, "203.0.113.66\nnot-an-address\n");
    snprintf(bad, sizeof(bad), "[detect.ioc]\naddresses = %s\n", addr_file);
    assert_null(harness_try_new(bad, NULL));
    assert_non_null(strstr(harness_error(), "test.conf:2"));
    snprintf(bad, sizeof(bad), "[detect.ioc]\naddresses = %s/missing\n", dir);
    assert_null(harness_try_new(bad, NULL));
    write_file(addr_file, "# feed\n203.0.113.66\n198.51.100.0/28\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_ioc_address_and_network),
        cmocka_unit_test(test_detect_ioc_domains_on_dns_sni_and_host),
        cmocka_unit_test(test_detect_ioc_reload_replaces_lists),
        cmocka_unit_test(test_detect_ioc_bad_list_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
