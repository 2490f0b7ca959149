/*
 * test_evring -- the evidence ring: order, overwrite, time window, wrap-around,
 * truncation, taps, and finding addresses in frames.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "evring.h"

/* Ethernet + IPv4 header (20 bytes) + pad to len, addresses 10.0.0.s -> 10.0.0.d. */
static size_t frame4(uint8_t *buf, size_t len, uint8_t s, uint8_t d, uint8_t fill)
{
    memset(buf, fill, len);
    memset(buf, 0, 34);
    buf[12] = 0x08;
    buf[13] = 0x00;
    buf[14] = 0x45;
    buf[23] = 6;
    buf[26] = 10, buf[29] = s;
    buf[30] = 10, buf[33] = d;
    return len;
}

struct walk {
    uint64_t ts[4096];
    uint8_t fill[4096];
    uint32_t caplen[4096];
    size_t n;
};

static int visit(void *arg, const struct evring_rec *rec)
{
    struct walk *w = arg;
    w->ts[w->n] = rec->ts_usec;
    w->caplen[w->n] = rec->caplen;
    w->fill[w->n] = rec->data[rec->caplen - 1];
    /* Every byte past the headers carries the fill: a wrapped record must read whole. */
    for (uint32_t i = 34; i < rec->caplen; i++)
        assert_int_equal(rec->data[i], w->fill[w->n]);
    w->n++;
    return 0;
}

static void test_evring_keeps_order(void **state)
{
    (void)state;
    uint8_t f[200];
    struct evring *r = evring_new(1 << 20, 0, EVRING_LINK_ETHERNET);
    assert_non_null(r);
    for (int i = 0; i < 10; i++)
        evring_add(r, 1000 + (uint64_t)i, f, (uint32_t)frame4(f, 100, 1, 2, (uint8_t)i), 100);
    struct walk w = {0};
    assert_int_equal(evring_each(r, 1005, visit, &w), 0);
    assert_int_equal(w.n, 5);
    assert_int_equal(w.ts[0], 1005);
    assert_int_equal(w.fill[4], 9);
    evring_free(r);
}

static void test_evring_overwrites_oldest_and_counts(void **state)
{
    (void)state;
    uint8_t f[1500];
    struct evring *r = evring_new(EVRING_MIN_BYTES, 0, EVRING_LINK_ETHERNET);
    assert_non_null(r);
    for (int i = 0; i < 1000; i++)
        evring_add(r, (uint64_t)i, f, (uint32_t)frame4(f, 1000, 1, 2, (uint8_t)i), 1000);
    struct evring_stats st;
    evring_get_stats(r, &st);
    assert_int_equal(st.added, 1000);
    assert_true(st.overwritten > 900);
    assert_int_equal(st.records + st.overwritten, 1000);
    assert_true(st.memory <= EVRING_MIN_BYTES + 512);
    struct walk w = {0};
    evring_each(r, 0, visit, &w);
    assert_int_equal(w.n, st.records);
    assert_int_equal(w.ts[w.n - 1], 999); /* the newest survive */
    for (size_t i = 1; i < w.n; i++)
        assert_int_equal(w.ts[i], w.ts[i - 1] + 1);
    evring_free(r);
}

static void test_evring_wraps_records_whole(void **state)
{
    (void)state;
    uint8_t f[3000];
    struct evring *r = evring_new(EVRING_MIN_BYTES, 0, EVRING_LINK_ETHERNET);
    /* Odd sizes so records straddle the end of the data area. */
    for (int i = 0; i < 500; i++) {
        size_t len = 60 + (size_t)(i * 37) % 2900;
        evring_add(r, (uint64_t)i, f, (uint32_t)frame4(f, len, 1, 2, (uint8_t)(i + 1)),
                   (uint32_t)len);
    }
    struct walk w = {0};
    evring_each(r, 0, visit, &w); /* visit() checks every byte */
    assert_true(w.n > 10);
    evring_free(r);
}

static void test_evring_drops_past_window(void **state)
{
    (void)state;
    uint8_t f[100];
    struct evring *r = evring_new(1 << 20, 10 * 1000000ULL, EVRING_LINK_ETHERNET);
    for (int i = 0; i < 30; i++)
        evring_add(r, (uint64_t)i * 1000000, f, (uint32_t)frame4(f, 64, 1, 2, 1), 64);
    struct evring_stats st;
    evring_get_stats(r, &st);
    assert_int_equal(st.records, 11); /* 19..29 s */
    assert_int_equal(st.expired, 19);
    evring_free(r);
}

static void test_evring_truncates_huge_packet(void **state)
{
    (void)state;
    static uint8_t f[65536];
    struct evring *r = evring_new(EVRING_MIN_BYTES, 0, EVRING_LINK_ETHERNET);
    evring_add(r, 1, f, (uint32_t)frame4(f, sizeof(f), 1, 2, 7), sizeof(f));
    struct evring_stats st;
    evring_get_stats(r, &st);
    assert_int_equal(st.truncated, 1);
    struct walk w = {0};
    evring_each(r, 0, visit, &w);
    assert_int_equal(w.n, 1);
    assert_true(w.caplen[0] < sizeof(f));
    evring_free(r);
}

static void tap(void *arg, const struct evring_rec *rec)
{
    *(uint64_t *)arg += rec->ts_usec;
}

static void test_evring_calls_taps(void **state)
{
    (void)state;
    uint8_t f[100];
    uint64_t sum = 0;
    struct evring *r = evring_new(1 << 20, 0, EVRING_LINK_ETHERNET);
    assert_int_equal(evring_tap(r, tap, &sum), 0);
    evring_add(r, 5, f, (uint32_t)frame4(f, 64, 1, 2, 1), 64);
    evring_add(r, 7, f, (uint32_t)frame4(f, 64, 1, 2, 1), 64);
    assert_int_equal(sum, 12);
    for (int i = 1; i < EVRING_MAX_TAPS; i++)
        assert_int_equal(evring_tap(r, tap, &sum), 0);
    assert_int_equal(evring_tap(r, tap, &sum), -ENOSPC);
    evring_free(r);
}

static void test_evring_frame_addrs_link_types(void **state)
{
    (void)state;
    uint8_t f[100];
    struct addr s, d;
    frame4(f, 64, 3, 4, 0);
    assert_true(evring_frame_addrs(EVRING_LINK_ETHERNET, f, 64, &s, &d));
    assert_int_equal(s.family, 4);
    assert_int_equal(s.b[3], 3);
    assert_int_equal(d.b[3], 4);
    assert_true(evring_frame_addrs(EVRING_LINK_RAW, f + 14, 50, &s, &d));
    assert_int_equal(d.b[3], 4);

    /* 802.1Q tag in front of IPv4. */
    uint8_t v[104];
    memcpy(v, f, 12);
    v[12] = 0x81, v[13] = 0x00, v[14] = 0, v[15] = 5;
    memcpy(v + 16, f + 12, 52);
    assert_true(evring_frame_addrs(EVRING_LINK_ETHERNET, v, 68, &s, &d));
    assert_int_equal(s.b[3], 3);

    /* IPv6 over Ethernet. */
    uint8_t six[54] = {0};
    six[12] = 0x86, six[13] = 0xdd, six[14] = 0x60;
    six[22] = 0x20, six[23] = 0x01, six[37] = 9; /* src 2001::9 */
    six[38] = 0x20, six[39] = 0x01, six[53] = 8;
    assert_true(evring_frame_addrs(EVRING_LINK_ETHERNET, six, sizeof(six), &s, &d));
    assert_int_equal(s.family, 6);
    assert_int_equal(s.b[15], 9);
    assert_int_equal(d.b[15], 8);

    /* Every truncation of a frame fails cleanly. */
    for (size_t n = 0; n < 34; n++)
        assert_false(evring_frame_addrs(EVRING_LINK_ETHERNET, f, n, &s, &d));
    /* ARP is not IP. */
    f[12] = 0x08, f[13] = 0x06;
    assert_false(evring_frame_addrs(EVRING_LINK_ETHERNET, f, 64, &s, &d));
    assert_false(evring_frame_addrs(9999, f, 64, &s, &d));
}

static void test_evring_refuses_tiny_ring(void **state)
{
    (void)state;
    assert_null(evring_new(1000, 0, EVRING_LINK_ETHERNET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evring_keeps_order),
        cmocka_unit_test(test_evring_overwrites_oldest_and_counts),
        cmocka_unit_test(test_evring_wraps_records_whole),
        cmocka_unit_test(test_evring_drops_past_window),
        cmocka_unit_test(test_evring_truncates_huge_packet),
        cmocka_unit_test(test_evring_calls_taps),
        cmocka_unit_test(test_evring_frame_addrs_link_types),
        cmocka_unit_test(test_evring_refuses_tiny_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
