/*
 * test_detect_bruteforce -- password guessing by short sessions, SMB logon
 * failures and Kerberos errors; monitoring checks and web clients stay quiet.
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

static uint64_t guesses(struct harness *h, uint64_t t, unsigned n, uint64_t gap, uint16_t port)
{
    for (unsigned i = 0; i < n; i++)
        t = harness_session(h, t + gap, "10.0.0.66", (uint16_t)(40000 + i), "10.0.0.22", port,
                            3300 + (i % 3) * 40, 4400, false);
    return t;
}

static void test_detect_bruteforce_ssh_guessing(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = guesses(h, T0, 12, 5 * SEC, 22);
    harness_flush(h, t + SEC);
    const struct harness_event *e = harness_find(h, "bruteforce", "10.0.0.66");
    assert_non_null(e);
    assert_string_equal(e->subtype, "sessions");
    assert_string_equal(e->dst, "10.0.0.22");
    assert_non_null(strstr(e->summary, "short sessions to ssh"));
    assert_null(strstr(e->summary, "probable success"));
    harness_free(h);
}

static void test_detect_bruteforce_long_session_after_is_probable_success(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = guesses(h, T0, 12, 5 * SEC, 22);
    /* The password worked: an interactive session of two minutes. */
    harness_tcp(h, t + SEC, "10.0.0.66", 41000, "10.0.0.22", 22, TCP_SYN, 0);
    harness_tcp(h, t + SEC + 100, "10.0.0.22", 22, "10.0.0.66", 41000, TCP_SYN | TCP_ACK, 0);
    harness_tcp(h, t + SEC + 200, "10.0.0.66", 41000, "10.0.0.22", 22, TCP_ACK, 500);
    harness_tcp(h, t + 121 * SEC, "10.0.0.66", 41000, "10.0.0.22", 22, TCP_FIN | TCP_ACK, 0);
    harness_tcp(h, t + 121 * SEC + 100, "10.0.0.22", 22, "10.0.0.66", 41000, TCP_FIN | TCP_ACK,
                0);
    harness_flush(h, t + 130 * SEC);
    const struct harness_event *e = harness_find(h, "bruteforce", "10.0.0.66");
    assert_non_null(e);
    assert_non_null(strstr(e->summary, "probable success"));
    harness_free(h);
}

static void test_detect_bruteforce_few_attempts_are_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = guesses(h, T0, 6, 5 * SEC, 22);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "bruteforce", NULL), 0);
    harness_free(h);
}

/* A monitoring check opening SSH once a minute: never 10 in 5 minutes. */
static void test_detect_bruteforce_monitoring_check_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = guesses(h, T0, 30, 60 * SEC, 22);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "bruteforce", NULL), 0);
    harness_free(h);
}

static void test_detect_bruteforce_web_client_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = guesses(h, T0, 60, SEC, 443);
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "bruteforce", NULL), 0);
    harness_free(h);
}

/* KRB-ERROR with error-code 24 (PREAUTH_FAILED), DER as a KDC sends it. */
static const uint8_t krb_error_24[] = {
    0x7e, 0x1e, 0x30, 0x1c, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x1e, 0xa4,
    0x06, 0x18, 0x04, 0x32, 0x30, 0x32, 0x36, 0xa5, 0x03, 0x02, 0x01, 0x00, 0xa6, 0x03, 0x02,
    0x01, 0x18};
static const uint8_t as_req[] = {0x6a, 0x03, 0x30, 0x01, 0x00};

static void test_detect_bruteforce_kerberos_spray(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t t = T0 + i * 100000;
        harness_udp_data(h, t, "172.16.66.1", (uint16_t)(50000 + i), "172.16.66.36", 88, as_req,
                         sizeof(as_req));
        harness_udp_data(h, t + 500, "172.16.66.36", 88, "172.16.66.1", (uint16_t)(50000 + i),
                         krb_error_24, sizeof(krb_error_24));
    }
    harness_flush(h, T0 + 2 * SEC);
    const struct harness_event *e = harness_find(h, "bruteforce", "172.16.66.1");
    assert_non_null(e);
    assert_string_equal(e->subtype, "kerberos");
    harness_free(h);
}

static size_t smb2_setup_failure(uint8_t *out)
{
    memset(out, 0, 4 + 64 + 9);
    out[3] = 64 + 9;
    uint8_t *m = out + 4;
    m[0] = 0xfe;
    m[1] = 'S';
    m[2] = 'M';
    m[3] = 'B';
    m[4] = 64;
    m[8] = 0x6d; /* STATUS_LOGON_FAILURE */
    m[11] = 0xc0;
    m[12] = 1; /* SESSION_SETUP */
    m[16] = 1; /* response */
    m[64] = 9;
    return 4 + 64 + 9;
}

static void test_detect_bruteforce_smb_logon_failures(void **state)
{
    (void)state;
    uint8_t resp[128];
    size_t n = smb2_setup_failure(resp);
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 6; i++)
        harness_tcp_data(h, T0 + i * SEC, "10.0.0.22", 445, "10.0.0.67", (uint16_t)(50000 + i),
                         TCP_ACK | TCP_PSH, resp, n);
    harness_flush(h, T0 + 10 * SEC);
    const struct harness_event *e = harness_find(h, "bruteforce", "10.0.0.67");
    assert_non_null(e);
    assert_string_equal(e->subtype, "smb");
    harness_free(h);
}

static void http_post(struct harness *h, uint64_t t, const char *uri)
{
    struct pkt p;
    harness_ip(&p, t, "10.0.0.70", "10.0.0.80", 6);
    p.layers |= PKT_TCP | PKT_HTTP;
    p.sport = 45000;
    p.dport = 80;
    p.tcp.flags = TCP_ACK | TCP_PSH;
    p.payload_len = 300;
    snprintf(p.http.method, sizeof(p.http.method), "POST");
    snprintf(p.http.uri, sizeof(p.http.uri), "%s", uri);
    harness_feed(h, &p);
}

static void test_detect_bruteforce_http_login_posts(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 25; i++)
        http_post(h, T0 + i * SEC, "/wp-login.php");
    for (unsigned i = 0; i < 40; i++) /* posting comments is not logging in */
        http_post(h, T0 + i * SEC, "/api/comments?page=2");
    harness_flush(h, T0 + 60 * SEC);
    assert_int_equal(harness_uids(h, "bruteforce", NULL), 1);
    const struct harness_event *e = harness_find(h, "bruteforce", "10.0.0.70");
    assert_non_null(e);
    assert_string_equal(e->subtype, "http");
    harness_free(h);
}

static void test_detect_bruteforce_bad_ports_setting(void **state)
{
    (void)state;
    assert_null(harness_try_new("[detect.bruteforce]\nports = 22,abc\n", NULL));
    assert_non_null(strstr(harness_error(), "test.conf:2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_bruteforce_ssh_guessing),
        cmocka_unit_test(test_detect_bruteforce_long_session_after_is_probable_success),
        cmocka_unit_test(test_detect_bruteforce_few_attempts_are_quiet),
        cmocka_unit_test(test_detect_bruteforce_monitoring_check_is_quiet),
        cmocka_unit_test(test_detect_bruteforce_web_client_is_quiet),
        cmocka_unit_test(test_detect_bruteforce_kerberos_spray),
        cmocka_unit_test(test_detect_bruteforce_smb_logon_failures),
        cmocka_unit_test(test_detect_bruteforce_http_login_posts),
        cmocka_unit_test(test_detect_bruteforce_bad_ports_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
