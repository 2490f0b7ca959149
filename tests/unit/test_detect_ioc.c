/*
 * test_detect_ioc -- indicator lists from files: addresses and networks on flow
 * endpoints, domains on DNS, SNI and Host; reload; bad lines.  Indicators pushed
 * by the console: kept apart from the files, all or nothing, bounded, persisted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "detect.h"
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

/* ---------------------------------------------------------------- pushed */

static char state_dir[64];

static int push(struct harness *h, const char *const *addrs, size_t na, const char *const *names,
                size_t nn, bool replace, uint64_t version, uint64_t base, char *detail)
{
    static char scratch[512];
    struct detect_intel u = {addrs, na, names, nn, replace, version, base};
    return detect_engine_intel(harness_engine(h), &u, detail ? detail : scratch, 512);
}

static struct detect_intel_stats stats(struct harness *h)
{
    struct detect_intel_stats st;
    detect_engine_intel_stats(harness_engine(h), &st);
    return st;
}

static void new_state_dir(void)
{
    snprintf(state_dir, sizeof(state_dir), "/tmp/ward-ioc-state-XXXXXX");
    assert_non_null(mkdtemp(state_dir));
}

static void drop_state_dir(void)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", state_dir, DETECT_IOC_PUSHED_FILE);
    unlink(p);
    snprintf(p, sizeof(p), "%s/%s.bad", state_dir, DETECT_IOC_PUSHED_FILE);
    unlink(p);
    rmdir(state_dir);
}

static void test_detect_ioc_pushed_address_says_console(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    const char *addrs[] = {"198.18.7.7", "2001:db8:66::/48"};
    const char *names[] = {"*.Pushed-Bad.example."};
    char detail[512];
    assert_int_equal(push(h, addrs, 2, names, 1, false, 1, 0, detail), 0);
    assert_non_null(strstr(detail, "version 1"));
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.7.7", 443, 300, 2000, false);
    harness_session(h, T0 + SEC, "10.20.0.6", 50001, "203.0.113.66", 443, 300, 2000, false);
    named(h, T0 + 2 * SEC, "10.20.0.7", "a.pushed-bad.example", PKT_DNS);
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "ioc_hit", "10.20.0.5");
    assert_non_null(e);
    assert_non_null(strstr(e->summary, "list: console"));
    e = harness_find(h, "ioc_hit", "10.20.0.6"); /* from the file: unchanged */
    assert_non_null(e);
    assert_null(strstr(e->summary, "list: console"));
    e = harness_find(h, "ioc_hit", "10.20.0.7");
    assert_non_null(e);
    assert_string_equal(e->domain, "pushed-bad.example");
    struct detect_intel_stats st = stats(h);
    assert_int_equal(st.version, 1);
    assert_int_equal(st.addresses, 2);
    assert_int_equal(st.domains, 1);
    assert_int_equal(st.updates, 1);
    assert_true(st.hits >= 2);
    harness_free(h);
}

static void test_detect_ioc_pushed_empty_update(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    assert_int_equal(push(h, NULL, 0, NULL, 0, false, 3, 0, NULL), 0);
    assert_int_equal(stats(h).version, 3);
    assert_int_equal(stats(h).addresses + stats(h).domains, 0);
    /* An empty replace clears the pushed set, never the files. */
    const char *a[] = {"198.18.7.7"};
    assert_int_equal(push(h, a, 1, NULL, 0, false, 4, 3, NULL), 0);
    assert_int_equal(push(h, NULL, 0, NULL, 0, true, 5, 0, NULL), 0);
    assert_int_equal(stats(h).addresses, 0);
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.7.7", 443, 300, 2000, false);
    harness_session(h, T0 + SEC, "10.20.0.6", 50001, "203.0.113.66", 443, 300, 2000, false);
    harness_flush(h, T0 + 10 * SEC);
    assert_null(harness_find(h, "ioc_hit", "10.20.0.5"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    harness_free(h);
}

static void test_detect_ioc_pushed_bad_address_refuses_whole_update(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    static const char *const bad[] = {"10.0.0.300/8", "10.1.2.3/33", "2001:db8::/129", "",
                                      "10.0.0.0/", "host.example", "10.0.0.1 ", "\x01\x02"};
    char detail[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *addrs[] = {"198.18.7.7", bad[i]};
        assert_int_equal(push(h, addrs, 2, NULL, 0, false, 1, 0, detail), -EINVAL);
        assert_non_null(strstr(detail, "address 2 of 2"));
        assert_non_null(strstr(detail, "nothing applied"));
    }
    assert_non_null(strstr(detail, "'?" "?'")); /* control bytes are not echoed */
    struct detect_intel_stats st = stats(h);
    assert_int_equal(st.addresses, 0);
    assert_int_equal(st.version, 0);
    assert_int_equal(st.refused, sizeof(bad) / sizeof(bad[0]));
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.7.7", 443, 300, 2000, false);
    harness_flush(h, T0 + 10 * SEC);
    assert_null(harness_find(h, "ioc_hit", "10.20.0.5"));
    harness_free(h);
}

static void test_detect_ioc_pushed_bad_names_refused(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    char long_name[400];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *bad[] = {"bad name!", "", "*.", "evil.example/path", "ex ample.org", long_name,
                         "caf\xc3\xa9.example"};
    char detail[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *names[] = {"ok.example", bad[i]};
        assert_int_equal(push(h, NULL, 0, names, 2, false, 1, 0, detail), -EINVAL);
        assert_non_null(strstr(detail, "domain 2 of 2"));
    }
    assert_non_null(strstr(detail, "is not a domain name"));
    assert_true(strlen(detail) < 300); /* a long item is cut short in the message */
    assert_int_equal(stats(h).domains, 0);
    harness_free(h);
}

static void test_detect_ioc_pushed_ceiling(void **state)
{
    (void)state;
    char cfg[700];
    snprintf(cfg, sizeof(cfg), "%smax_pushed = 3\n", ini);
    struct harness *h = harness_new(cfg, NULL);
    const char *four[] = {"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"};
    char detail[512];
    assert_int_equal(push(h, four, 4, NULL, 0, false, 1, 0, detail), -E2BIG);
    assert_non_null(strstr(detail, "max_pushed"));
    assert_int_equal(push(h, four, 3, NULL, 0, false, 1, 0, detail), 0);
    /* Duplicates do not count against the ceiling... */
    assert_int_equal(push(h, four, 3, NULL, 0, false, 2, 1, detail), 0);
    /* ...but one more does, and nothing of it is applied. */
    const char *more[] = {"198.18.0.4"};
    const char *names[] = {"x.example"};
    assert_int_equal(push(h, more, 1, names, 1, false, 3, 2, detail), -E2BIG);
    assert_int_equal(stats(h).addresses, 3);
    assert_int_equal(stats(h).version, 2);
    assert_int_equal(push(h, more, 1, names, 1, true, 3, 0, detail), 0);
    assert_int_equal(stats(h).addresses, 1);
    harness_free(h);
}

static void test_detect_ioc_pushed_huge_update_refused(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    size_t n = 70000;
    char (*text)[24] = calloc(n, sizeof(*text));
    const char **addrs = calloc(n, sizeof(*addrs));
    assert_non_null(text);
    assert_non_null(addrs);
    for (size_t i = 0; i < n; i++) {
        snprintf(text[i], sizeof(text[i]), "100.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
        addrs[i] = text[i];
    }
    char detail[512];
    assert_int_equal(push(h, addrs, n, NULL, 0, false, 1, 0, detail), -E2BIG);
    assert_int_equal(stats(h).addresses, 0);
    assert_int_equal(push(h, addrs, 60000, NULL, 0, false, 1, 0, detail), 0);
    assert_int_equal(stats(h).addresses, 60000);
    free(addrs);
    free(text);
    harness_free(h);
}

static void test_detect_ioc_pushed_replace_and_add(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    const char *a[] = {"198.18.1.1", "198.18.1.1", "198.18.2.0/24"};
    const char *b[] = {"198.18.3.3", "198.18.2.9/24"}; /* the same network as above */
    const char *c[] = {"198.18.4.4"};
    char detail[512];
    assert_int_equal(push(h, a, 3, NULL, 0, false, 1, 0, detail), 0);
    assert_int_equal(stats(h).addresses, 2);
    assert_int_equal(push(h, b, 2, NULL, 0, false, 2, 1, detail), 0);
    assert_int_equal(stats(h).addresses, 3);
    assert_non_null(strstr(detail, "added 1 addresses"));
    /* An addition made for another version than the sensor's is refused. */
    assert_int_equal(push(h, c, 1, NULL, 0, false, 9, 7, detail), -ESTALE);
    assert_non_null(strstr(detail, "version 2"));
    assert_int_equal(stats(h).addresses, 3);
    assert_int_equal(push(h, c, 1, NULL, 0, true, 10, 0, detail), 0);
    assert_int_equal(stats(h).addresses, 1);
    assert_int_equal(stats(h).version, 10);
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.1.1", 443, 300, 2000, false);
    harness_session(h, T0 + SEC, "10.20.0.6", 50001, "198.18.4.4", 443, 300, 2000, false);
    harness_flush(h, T0 + 10 * SEC);
    assert_null(harness_find(h, "ioc_hit", "10.20.0.5"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    harness_free(h);
}

static void test_detect_ioc_pushed_survives_reload(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    const char *a[] = {"198.18.7.7"};
    assert_int_equal(push(h, a, 1, NULL, 0, false, 1, 0, NULL), 0);
    write_file(addr_file, "192.0.2.99\n");
    assert_int_equal(harness_reload(h), 0);
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.7.7", 443, 300, 2000, false);
    harness_session(h, T0 + SEC, "10.20.0.6", 50001, "192.0.2.99", 443, 300, 2000, false);
    harness_session(h, T0 + 2 * SEC, "10.20.0.8", 50001, "203.0.113.66", 443, 300, 2000, false);
    harness_flush(h, T0 + 10 * SEC);
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.5"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    assert_null(harness_find(h, "ioc_hit", "10.20.0.8"));
    harness_free(h);
    write_file(addr_file, "# feed\n203.0.113.66\n198.51.100.0/28\n");
}

static void test_detect_ioc_pushed_persisted_round_trip(void **state)
{
    (void)state;
    new_state_dir();
    struct harness *h = harness_new(ini, NULL);
    assert_int_equal(detect_engine_intel_open(harness_engine(h), state_dir), 0);
    const char *a[] = {"198.18.7.7", "2001:DB8::1", "198.18.8.0/23"};
    const char *n[] = {"Evil.Example"};
    assert_int_equal(push(h, a, 3, n, 1, true, 42, 0, NULL), 0);
    harness_free(h);

    h = harness_new(ini, NULL);
    assert_int_equal(stats(h).addresses, 0); /* not opened yet */
    assert_int_equal(detect_engine_intel_open(harness_engine(h), state_dir), 0);
    struct detect_intel_stats st = stats(h);
    assert_int_equal(st.version, 42);
    assert_int_equal(st.addresses, 3);
    assert_int_equal(st.domains, 1);
    harness_session(h, T0, "10.20.0.5", 50001, "198.18.9.1", 443, 300, 2000, false);
    named(h, T0 + SEC, "10.20.0.6", "www.evil.example", PKT_TLS_HELLO);
    harness_flush(h, T0 + 10 * SEC);
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.5"));
    assert_non_null(harness_find(h, "ioc_hit", "10.20.0.6"));
    harness_free(h);
    drop_state_dir();
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_detect_ioc_pushed_damaged_file_set_aside(void **state)
{
    (void)state;
    char path[128], bad[140];
    new_state_dir();
    snprintf(path, sizeof(path), "%s/%s", state_dir, DETECT_IOC_PUSHED_FILE);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    struct harness *h = harness_new(ini, NULL);
    assert_int_equal(detect_engine_intel_open(harness_engine(h), state_dir), 0);
    const char *a[] = {"198.18.7.7", "198.18.7.8"};
    assert_int_equal(push(h, a, 2, NULL, 0, true, 7, 0, NULL), 0);
    harness_free(h);

    size_t len;
    uint8_t *good = slurp(path, &len);
    uint64_t version;
    size_t count;
    assert_int_equal(detect_ioc_pushed_check(good, len, 100, &version, &count), 0);
    assert_int_equal(version, 7);
    assert_int_equal(count, 2);
    assert_int_equal(detect_ioc_pushed_check(good, len, 1, &version, &count), -EINVAL);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(detect_ioc_pushed_check(good, n, 100, &version, &count), -EINVAL);
    for (size_t i = 0; i < len; i++) {
        good[i] ^= 0x20;
        assert_int_equal(detect_ioc_pushed_check(good, len, 100, &version, &count), -EINVAL);
        good[i] ^= 0x20;
    }

    /* One flipped byte on disk: the sensor starts without the set and keeps the file aside. */
    good[len / 2] ^= 1;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(good, 1, len, f), len);
    fclose(f);
    free(good);
    h = harness_new(ini, NULL);
    assert_int_equal(detect_engine_intel_open(harness_engine(h), state_dir), 0);
    assert_int_equal(stats(h).version, 0);
    assert_int_equal(stats(h).addresses, 0);
    struct stat sb;
    assert_int_equal(stat(bad, &sb), 0);
    assert_true(stat(path, &sb) < 0);
    /* The next update is written afresh. */
    assert_int_equal(push(h, a, 1, NULL, 0, true, 8, 0, NULL), 0);
    assert_int_equal(stat(path, &sb), 0);
    harness_free(h);
    drop_state_dir();
}

static void test_detect_ioc_pushed_unwritable_state_refused(void **state)
{
    (void)state;
    struct harness *h = harness_new(ini, NULL);
    assert_int_equal(detect_engine_intel_open(harness_engine(h), "/nonexistent/ward-state"), 0);
    const char *a[] = {"198.18.7.7"};
    char detail[512];
    assert_int_equal(push(h, a, 1, NULL, 0, false, 1, 0, detail) < 0, 1);
    assert_non_null(strstr(detail, "cannot persist"));
    assert_int_equal(stats(h).addresses, 0);
    harness_free(h);
}

static void test_detect_ioc_pushed_needs_the_detector(void **state)
{
    (void)state;
    struct harness *h = harness_new("[detect.ioc]\nenabled = false\n", NULL);
    const char *a[] = {"198.18.7.7"};
    char detail[512];
    assert_int_equal(push(h, a, 1, NULL, 0, false, 1, 0, detail), -ENOTSUP);
    assert_non_null(strstr(detail, "disabled"));
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_ioc_address_and_network),
        cmocka_unit_test(test_detect_ioc_domains_on_dns_sni_and_host),
        cmocka_unit_test(test_detect_ioc_reload_replaces_lists),
        cmocka_unit_test(test_detect_ioc_bad_list_is_an_error),
        cmocka_unit_test(test_detect_ioc_pushed_address_says_console),
        cmocka_unit_test(test_detect_ioc_pushed_empty_update),
        cmocka_unit_test(test_detect_ioc_pushed_bad_address_refuses_whole_update),
        cmocka_unit_test(test_detect_ioc_pushed_bad_names_refused),
        cmocka_unit_test(test_detect_ioc_pushed_ceiling),
        cmocka_unit_test(test_detect_ioc_pushed_huge_update_refused),
        cmocka_unit_test(test_detect_ioc_pushed_replace_and_add),
        cmocka_unit_test(test_detect_ioc_pushed_survives_reload),
        cmocka_unit_test(test_detect_ioc_pushed_persisted_round_trip),
        cmocka_unit_test(test_detect_ioc_pushed_damaged_file_set_aside),
        cmocka_unit_test(test_detect_ioc_pushed_unwritable_state_refused),
        cmocka_unit_test(test_detect_ioc_pushed_needs_the_detector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
