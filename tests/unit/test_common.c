/*
 * test_common -- the small common modules: rd, addr, clock, log_escape.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "rd.h"

static void test_rd_reads_big_endian_and_stops_at_end(void **state)
{
    (void)state;
    static const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    struct rd r = rd_make(buf, sizeof(buf));
    uint16_t v16;
    uint32_t v32;
    assert_true(rd_be16(&r, &v16));
    assert_int_equal(v16, 0x0102);
    assert_true(rd_be32(&r, &v32));
    assert_int_equal(v32, 0x03040506u);
    assert_false(rd_be16(&r, &v16)); /* one byte left: reads nothing */
    assert_int_equal(rd_left(&r), 1);
    uint8_t v8;
    assert_true(rd_u8(&r, &v8));
    assert_int_equal(v8, 7);
    assert_false(rd_u8(&r, &v8));
}

static void test_rd_sub_carves_exact_length(void **state)
{
    (void)state;
    static const uint8_t buf[] = {3, 'a', 'b', 'c', 9};
    struct rd r = rd_make(buf, sizeof(buf));
    uint8_t n;
    struct rd sub;
    assert_true(rd_u8(&r, &n));
    assert_true(rd_sub(&r, n, &sub));
    assert_int_equal(rd_left(&sub), 3);
    assert_int_equal(rd_left(&r), 1);
    assert_false(rd_sub(&r, 2, &sub)); /* claimed length past the end */
    assert_int_equal(rd_left(&r), 1);
}

static void test_rd_every_truncation_of_u64(void **state)
{
    (void)state;
    static const uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t n = 0; n < sizeof(buf); n++) {
        struct rd r = rd_make(buf, n);
        uint64_t v;
        assert_false(rd_be64(&r, &v));
        assert_int_equal(rd_left(&r), n);
    }
}

static void test_addr_parse_format_round_trip(void **state)
{
    (void)state;
    const char *in[] = {"10.1.2.3", "255.255.255.255", "0.0.0.0", "1.20.100.9", "99.109.199.250",
                        "2001:db8::1", "fe80::1"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct addr a;
        char out[ADDR_STR_LEN];
        assert_int_equal(addr_parse(in[i], &a), 0);
        assert_string_equal(addr_format(&a, out, sizeof(out)), in[i]);
    }
    struct addr a;
    /* Every octet value in every place, and a buffer one byte short. */
    for (unsigned v = 0; v < 256; v++) {
        char want[ADDR_STR_LEN], out[ADDR_STR_LEN];
        snprintf(want, sizeof(want), "%u.%u.%u.%u", v, 255 - v, v / 2, (v * 7) % 256);
        assert_int_equal(addr_parse(want, &a), 0);
        assert_string_equal(addr_format(&a, out, sizeof(out)), want);
        assert_string_equal(addr_format(&a, out, strlen(want)), "?");
    }
    assert_int_equal(addr_parse("10.1.2", &a), -EINVAL);
    assert_int_equal(addr_parse("", &a), -EINVAL);
    assert_int_equal(addr_parse("10.1.2.3 ", &a), -EINVAL);
}

static void test_addr_private_ranges(void **state)
{
    (void)state;
    struct addr a;
    assert_int_equal(addr_parse("172.16.0.1", &a), 0);
    assert_true(addr_is_private(&a));
    assert_int_equal(addr_parse("172.32.0.1", &a), 0);
    assert_false(addr_is_private(&a));
    assert_int_equal(addr_parse("8.8.8.8", &a), 0);
    assert_false(addr_is_private(&a));
    assert_int_equal(addr_parse("fd00::5", &a), 0);
    assert_true(addr_is_private(&a));
}

static void test_cidr_set_matches_and_rejects_bad_items(void **state)
{
    (void)state;
    struct cidr_set s;
    char bad[64];
    cidr_set_init(&s);
    assert_int_equal(cidr_set_add_list(&s, "10.0.0.0/8, 192.168.1.0/24 2001:db8::/32", bad,
                                       sizeof(bad)),
                     0);
    struct addr a;
    assert_int_equal(addr_parse("10.200.1.1", &a), 0);
    assert_true(cidr_set_contains(&s, &a));
    assert_int_equal(addr_parse("192.168.2.1", &a), 0);
    assert_false(cidr_set_contains(&s, &a));
    assert_int_equal(addr_parse("2001:db8:ffff::1", &a), 0);
    assert_true(cidr_set_contains(&s, &a));
    assert_int_equal(cidr_set_add_list(&s, "10.0.0.0/33", bad, sizeof(bad)), -EINVAL);
    assert_string_equal(bad, "10.0.0.0/33");
    assert_int_equal(cidr_set_add_list(&s, "1.2.3.4/", bad, sizeof(bad)), -EINVAL);
    assert_int_equal(cidr_set_add_list(&s, "nonsense", bad, sizeof(bad)), -EINVAL);
    cidr_set_fini(&s);
}

static void test_cidr_host_bits_are_masked(void **state)
{
    (void)state;
    struct cidr c;
    assert_int_equal(cidr_parse("10.1.2.3/16", &c), 0);
    struct addr a;
    assert_int_equal(addr_parse("10.1.255.255", &a), 0);
    assert_true(cidr_contains(&c, &a));
    assert_int_equal(addr_parse("10.2.0.0", &a), 0);
    assert_false(cidr_contains(&c, &a));
}

static void test_clock_fake_moves_only_when_told(void **state)
{
    (void)state;
    clock_fake_set(1000);
    assert_int_equal(clock_now_usec(), 1000);
    clock_fake_advance(500);
    assert_int_equal(clock_now_usec(), 1500);
    assert_int_equal(clock_mono_usec(), 1500);
    clock_fake_off();
    assert_false(clock_is_fake());
}

static void test_clock_parse_and_format(void **state)
{
    (void)state;
    uint64_t t;
    assert_int_equal(clock_parse_time("2026-11-21T06:49:22Z", &t), 0);
    char buf[40];
    assert_string_equal(clock_format_iso(t, buf, sizeof(buf)), "2026-11-21T06:49:22.000000Z");
    assert_int_equal(clock_parse_time("2026-11-21T06:49:22.5Z", &t), 0);
    assert_int_equal(t % 1000000, 500000);
    assert_int_equal(clock_parse_time("2026-11-21", &t), 0);
    assert_int_equal(clock_parse_time("yesterday", &t), -EINVAL);
    assert_int_equal(clock_parse_time("2026-11-21T06:49:22Zjunk", &t), -EINVAL);
    clock_fake_set(10 * 3600 * 1000000ULL);
    assert_int_equal(clock_parse_time("-2h", &t), 0);
    assert_int_equal(t, 8 * 3600 * 1000000ULL);
    clock_fake_off();

    uint64_t d;
    assert_int_equal(clock_parse_duration("15m", &d), 0);
    assert_int_equal(d, 15 * 60 * 1000000ULL);
    assert_int_equal(clock_parse_duration("500ms", &d), 0);
    assert_int_equal(d, 500000);
    assert_int_equal(clock_parse_duration("30", &d), 0);
    assert_int_equal(d, 30 * 1000000ULL);
    assert_int_equal(clock_parse_duration("-5s", &d), -EINVAL);
    assert_int_equal(clock_parse_duration("5 weeks", &d), -EINVAL);
}

static void test_log_escape_makes_wire_data_printable(void **state)
{
    (void)state;
    char out[32];
    static const uint8_t in[] = {'a', 0x00, '\n', 0xff, '\\', 'z'};
    assert_string_equal(log_escape(in, sizeof(in), out, sizeof(out)), "a\\x00\\x0a\\xff\\x5cz");
    char tiny[4];
    assert_string_equal(log_escape(in, sizeof(in), tiny, sizeof(tiny)), "a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rd_reads_big_endian_and_stops_at_end),
        cmocka_unit_test(test_rd_sub_carves_exact_length),
        cmocka_unit_test(test_rd_every_truncation_of_u64),
        cmocka_unit_test(test_addr_parse_format_round_trip),
        cmocka_unit_test(test_addr_private_ranges),
        cmocka_unit_test(test_cidr_set_matches_and_rejects_bad_items),
        cmocka_unit_test(test_cidr_host_bits_are_masked),
        cmocka_unit_test(test_clock_fake_moves_only_when_told),
        cmocka_unit_test(test_clock_parse_and_format),
        cmocka_unit_test(test_log_escape_makes_wire_data_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
