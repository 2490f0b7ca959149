/*
 * test_detect_lateral -- fan-out on administration ports (from SYNs or
 * mid-stream sessions), PsExec over SMB2 and DCE/RPC, EternalBlue-shaped SMBv1;
 * an ordinary file-share client stays quiet.
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

static void test_detect_lateral_spread_from_syns(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char dst[32];
    for (unsigned i = 0; i < 15; i++) {
        snprintf(dst, sizeof(dst), "10.40.0.%u", 100 + i);
        harness_tcp(h, T0 + i * SEC, "10.40.0.13", (uint16_t)(52000 + i), dst, 445, TCP_SYN, 0);
    }
    harness_flush(h, T0 + 30 * SEC);
    const struct harness_event *e = harness_find(h, "lateral", "10.40.0.13");
    assert_non_null(e);
    assert_string_equal(e->subtype, "spread");
    assert_true(e->count >= 10);
    harness_free(h);
}

static void test_detect_lateral_spread_from_midstream_sessions(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    char dst[32];
    for (unsigned i = 0; i < 12; i++) {
        snprintf(dst, sizeof(dst), "10.40.1.%u", 100 + i);
        /* The capture starts late: the server's answer is the first packet seen. */
        harness_tcp(h, T0 + i * SEC, dst, 445, "10.40.1.13", (uint16_t)(52000 + i),
                    TCP_ACK | TCP_PSH, 100);
        harness_tcp(h, T0 + i * SEC + 100, "10.40.1.13", (uint16_t)(52000 + i), dst, 445,
                    TCP_ACK | TCP_PSH, 200);
    }
    harness_flush(h, T0 + 30 * SEC);
    assert_non_null(harness_find(h, "lateral", "10.40.1.13"));
    harness_free(h);
}

static void test_detect_lateral_file_share_client_is_quiet(void **state)
{
    (void)state;
    struct harness *h = harness_new(NULL, NULL);
    uint64_t t = T0;
    for (unsigned i = 0; i < 20; i++) {
        t = harness_session(h, t + SEC, "10.10.1.21", (uint16_t)(44000 + i),
                            i % 2 ? "10.10.0.5" : "10.10.0.4", i % 3 ? 445 : 135, 3000, 20000,
                            false);
    }
    harness_flush(h, t + SEC);
    assert_int_equal(harness_uids(h, "lateral", NULL), 0);
    harness_free(h);
}

/* NetBIOS session header + SMB1 header + Trans2 SESSION_SETUP words. */
static size_t smb1_trans2_session_setup(uint8_t *out)
{
    size_t wc = 15;
    size_t len = 32 + 1 + wc * 2 + 2;
    memset(out, 0, 4 + len);
    out[3] = (uint8_t)len;
    uint8_t *m = out + 4;
    m[0] = 0xff;
    m[1] = 'S';
    m[2] = 'M';
    m[3] = 'B';
    m[4] = 0x32;    /* TRANS2 */
    m[30] = 65;     /* MID 65 */
    m[32] = (uint8_t)wc;
    uint8_t *w = m + 33;
    w[26] = 1;      /* SetupCount */
    w[28] = 0x0e;   /* Setup[0] = SESSION_SETUP */
    return 4 + len;
}

static void test_detect_lateral_eternalblue_trans2_session_setup(void **state)
{
    (void)state;
    uint8_t msg[128];
    size_t n = smb1_trans2_session_setup(msg);
    struct harness *h = harness_new(NULL, NULL);
    harness_tcp_data(h, T0, "192.168.198.204", 51112, "192.168.198.203", 445, TCP_ACK | TCP_PSH,
                     msg, n);
    harness_flush(h, T0 + SEC);
    const struct harness_event *e = harness_find(h, "lateral", "192.168.198.204");
    assert_non_null(e);
    assert_string_equal(e->subtype, "eternalblue");
    assert_string_equal(e->dst, "192.168.198.203");
    harness_free(h);
}

static size_t smb2_header(uint8_t *out, uint16_t cmd, size_t body)
{
    size_t len = 64 + body;
    memset(out, 0, 4 + len);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    uint8_t *m = out + 4;
    m[0] = 0xfe;
    m[1] = 'S';
    m[2] = 'M';
    m[3] = 'B';
    m[4] = 64;
    m[12] = (uint8_t)cmd;
    return 4 + len;
}

static size_t put_utf16(uint8_t *out, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        out[n++] = (uint8_t)*s;
        out[n++] = 0;
    }
    return n;
}

static size_t tree_connect(uint8_t *out, const char *path)
{
    uint8_t name[128];
    size_t nl = put_utf16(name, path);
    size_t n = smb2_header(out, 3, 8 + nl);
    uint8_t *b = out + 4 + 64;
    b[0] = 9;
    b[4] = 64 + 8; /* path offset */
    b[6] = (uint8_t)nl;
    memcpy(b + 8, name, nl);
    return n;
}

static size_t create(uint8_t *out, const char *file)
{
    uint8_t name[128];
    size_t nl = put_utf16(name, file);
    size_t n = smb2_header(out, 5, 56 + nl);
    uint8_t *b = out + 4 + 64;
    b[0] = 57;
    b[44] = 64 + 56; /* name offset */
    b[46] = (uint8_t)nl;
    memcpy(b + 56, name, nl);
    return n;
}

/* DCE/RPC bind offering svcctl, or a request with opnum. */
static size_t rpc_bind_svcctl(uint8_t *out)
{
    static const uint8_t uuid[16] = {0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35,
                                     0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03};
    size_t len = 16 + 12 + 4 + 20 + 20;
    memset(out, 0, len);
    out[0] = 5;
    out[2] = 11;
    out[4] = 0x10;
    out[8] = (uint8_t)len;
    out[16 + 8] = 1; /* one context */
    out[16 + 12 + 2] = 1; /* one transfer syntax */
    memcpy(out + 16 + 12 + 4, uuid, 16);
    return len;
}

static size_t rpc_request(uint8_t *out, uint16_t opnum)
{
    size_t len = 24 + 16;
    memset(out, 0, len);
    out[0] = 5;
    out[2] = 0;
    out[4] = 0x10;
    out[8] = (uint8_t)len;
    out[22] = (uint8_t)opnum;
    return len;
}

static void test_detect_lateral_psexec(void **state)
{
    (void)state;
    uint8_t msg[512];
    size_t n;
    struct harness *h = harness_new(NULL, NULL);
    const char *a = "172.16.66.1", *b = "172.16.66.36";
    n = tree_connect(msg, "\\\\172.16.66.36\\ADMIN$");
    harness_tcp_data(h, T0, a, 50000, b, 445, TCP_ACK | TCP_PSH, msg, n);
    n = create(msg, "PSEXESVC.exe");
    harness_tcp_data(h, T0 + 1000, a, 50000, b, 445, TCP_ACK | TCP_PSH, msg, n);
    /* svcctl over TCP on a port the endpoint mapper handed out. */
    n = rpc_bind_svcctl(msg);
    harness_tcp_data(h, T0 + 2000, a, 50001, b, 49668, TCP_ACK | TCP_PSH, msg, n);
    n = rpc_request(msg, 15); /* OpenSCManagerW */
    harness_tcp_data(h, T0 + 3000, a, 50001, b, 49668, TCP_ACK | TCP_PSH, msg, n);
    n = rpc_request(msg, 19); /* StartServiceW */
    harness_tcp_data(h, T0 + 4000, a, 50001, b, 49668, TCP_ACK | TCP_PSH, msg, n);
    harness_flush(h, T0 + SEC);
    const struct harness_event *e = harness_find(h, "lateral", a);
    if (!e)
        harness_dump(h);
    assert_non_null(e);
    assert_string_equal(e->subtype, "psexec");
    assert_non_null(strstr(e->summary, "PSEXESVC.exe"));
    harness_free(h);
}

/* Requests on a flow that never bound svcctl are not service control. */
static void test_detect_lateral_other_rpc_is_quiet(void **state)
{
    (void)state;
    uint8_t msg[128];
    struct harness *h = harness_new(NULL, NULL);
    for (unsigned i = 0; i < 5; i++) {
        size_t n = rpc_request(msg, (uint16_t)(12 + i * 7));
        harness_tcp_data(h, T0 + i * 1000, "10.0.0.5", 50001, "10.0.0.4", 49668,
                         TCP_ACK | TCP_PSH, msg, n);
    }
    harness_flush(h, T0 + SEC);
    assert_int_equal(harness_uids(h, "lateral", NULL), 0);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_lateral_spread_from_syns),
        cmocka_unit_test(test_detect_lateral_spread_from_midstream_sessions),
        cmocka_unit_test(test_detect_lateral_file_share_client_is_quiet),
        cmocka_unit_test(test_detect_lateral_eternalblue_trans2_session_setup),
        cmocka_unit_test(test_detect_lateral_psexec),
        cmocka_unit_test(test_detect_lateral_other_rpc_is_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
