/*
 * test_capture -- capture files read both ways, directly and through libpcap, must
 * give the same packets (lengths, times, bytes), the same link type and the same
 * end: every magic and byte order, filters, cuts at the snap length, odd
 * timestamps and lengths, truncated and oversized records, link-type FCS bits,
 * and a file large enough to make the direct reader recycle its buffer.  Also:
 * which files the direct reader takes and which it leaves to libpcap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capfile.h"
#include "capture.h"
#include "pktgen.h"

#define MAX_SEEN 20000

static char dir[64];

/* What one capture_next() gave. */
struct seen {
    int rc;          /* its return */
    uint32_t caplen; /* packet fields when rc == 1 */
    uint32_t wirelen;
    uint64_t ts_usec;
    uint64_t sum; /* FNV-1a of the bytes */
};

/* One whole read of a file. */
struct run {
    int open_rc;       /* capture_open() */
    int linktype;      /* capture_linktype() */
    bool direct;       /* capture_is_direct() */
    size_t n;          /* entries in seen (the last is the end) */
    struct seen *seen; /* MAX_SEEN */
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void read_file(const char *path, const char *filter, bool libpcap, struct run *r)
{
    struct capture_opts o;
    memset(&o, 0, sizeof(o));
    o.file = path;
    o.filter = filter;
    o.libpcap_files = libpcap;
    memset(r, 0, sizeof(*r));
    r->seen = calloc(MAX_SEEN, sizeof(*r->seen));
    assert_non_null(r->seen);
    struct capture *c;
    r->open_rc = capture_open(&o, &c);
    if (r->open_rc < 0)
        return;
    r->linktype = capture_linktype(c);
    r->direct = capture_is_direct(c);
    /* Stable packets lent since the last recycle, and their sums then. */
    static const uint8_t *held[MAX_SEEN];
    static uint64_t held_sum[MAX_SEEN];
    static uint32_t held_len[MAX_SEEN];
    size_t nheld = 0;
    for (;;) {
        struct capture_pkt cp;
        int rc = capture_next(c, &cp);
        if (rc == CAPTURE_RECYCLE) {
            assert_true(r->direct);
            for (size_t i = 0; i < nheld; i++)
                assert_true(fnv(held[i], held_len[i]) == held_sum[i]);
            nheld = 0;
            continue;
        }
        assert_true(r->n < MAX_SEEN);
        struct seen *s = &r->seen[r->n++];
        s->rc = rc;
        if (rc != 1)
            break;
        assert_int_equal(cp.stable, r->direct);
        s->caplen = cp.caplen;
        s->wirelen = cp.wirelen;
        s->ts_usec = cp.ts_usec;
        s->sum = fnv(cp.data, cp.caplen);
        if (cp.stable) {
            held[nheld] = cp.data;
            held_sum[nheld] = s->sum;
            held_len[nheld++] = cp.caplen;
        }
    }
    capture_close(c);
}

/* Reads the first len bytes of f both ways; they must agree.  Returns whether the
 * direct reader took the file; *end gets the last capture_next() return. */
static bool both_ways(const struct capfile *f, size_t len, const char *filter, size_t *packets,
                      int *end)
{
    char path[128];
    assert_int_equal(capfile_write(f, len, dir, "t.pcap", path, sizeof(path)), 0);
    struct run a, b;
    read_file(path, filter, true, &a);
    read_file(path, filter, false, &b);
    unlink(path);
    assert_int_equal(a.open_rc, b.open_rc);
    assert_false(a.direct);
    assert_int_equal(a.linktype, b.linktype);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.seen[i].rc, b.seen[i].rc);
        assert_int_equal(a.seen[i].caplen, b.seen[i].caplen);
        assert_int_equal(a.seen[i].wirelen, b.seen[i].wirelen);
        assert_true(a.seen[i].ts_usec == b.seen[i].ts_usec);
        assert_true(a.seen[i].sum == b.seen[i].sum);
    }
    if (packets)
        *packets = a.n ? a.n - 1 : 0;
    if (end)
        *end = a.n ? a.seen[a.n - 1].rc : a.open_rc;
    bool direct = b.direct;
    free(a.seen);
    free(b.seen);
    return direct;
}

/* A mix of TCP, UDP and ICMP frames, IPv4 and IPv6. */
static void add_frames(struct capfile *f, int count, uint32_t t0)
{
    static uint8_t fr[PKTGEN_MAX];
    static const uint8_t payload[200] = "query";
    struct pktgen_ep e4 = pktgen_ep_make("10.0.0.1", 40000, "10.0.0.2", 80);
    struct pktgen_ep e6 = pktgen_ep_make("2001:db8::1", 5353, "2001:db8::2", 53);
    for (int i = 0; i < count; i++) {
        size_t n;
        switch (i % 3) {
        case 0:
            n = pktgen_tcp(fr, sizeof(fr), &e4, PKTGEN_ACK, (uint32_t)i, 1, "hello", 5);
            break;
        case 1:
            n = pktgen_udp(fr, sizeof(fr), &e6, payload, (size_t)(i % 200));
            break;
        default:
            n = pktgen_icmp_echo(fr, sizeof(fr), &e4, 7, (uint16_t)i, (size_t)(i % 1400));
            break;
        }
        assert_true(n > 0);
        capfile_frame(f, t0 + (uint32_t)i, (uint32_t)(i * 7919) % 1000000u, fr, n);
    }
}

static void test_capture_direct_same_as_libpcap_every_magic(void **state)
{
    (void)state;
    const uint32_t magics[] = {CAPFILE_MAGIC_USEC, CAPFILE_MAGIC_NSEC};
    const char *filters[] = {NULL, "udp", "tcp port 80", "icmp and len > 200"};
    for (int be = 0; be < 2; be++) {
        for (int m = 0; m < 2; m++) {
            struct capfile f = capfile_new(be, magics[m], 65535, 1);
            add_frames(&f, 300, 1700000000u);
            for (size_t i = 0; i < 4; i++) {
                size_t packets;
                int end;
                assert_true(both_ways(&f, f.len, filters[i], &packets, &end));
                assert_int_equal(end, -ENODATA);
                assert_true(i == 0 ? packets == 300 : packets > 0 && packets < 300);
            }
            capfile_fini(&f);
        }
    }
}

static void test_capture_direct_recycles_a_large_file(void **state)
{
    (void)state;
    struct capfile f = capfile_new(false, CAPFILE_MAGIC_USEC, 0, 1);
    add_frames(&f, 6000, 1); /* about 2.8 MB: many chunks */
    size_t packets;
    int end;
    assert_true(both_ways(&f, f.len, NULL, &packets, &end));
    assert_int_equal(packets, 6000);
    assert_int_equal(end, -ENODATA);
    assert_true(both_ways(&f, f.len, "udp", &packets, &end));
    assert_int_equal(packets, 2000);
    capfile_fini(&f);
}

static void test_capture_direct_odd_records(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        const uint32_t magics[] = {CAPFILE_MAGIC_USEC, CAPFILE_MAGIC_NSEC};
        for (int m = 0; m < 2; m++) {
            struct capfile f = capfile_new(be, magics[m], 100, 1);
            capfile_rec(&f, 1, 2, 150, 150, 0);                   /* cut at the snap length */
            capfile_rec(&f, 0xffffffffu, 0xffffffffu, 0, 0, 0);   /* odd times, empty */
            capfile_rec(&f, 0x80000000u, 0x80000000u, 80, 20, 9); /* captured > wire */
            capfile_rec(&f, 5, 0xfffffc18u, 60, 60, 3);
            capfile_rec(&f, 5, 1000000, 100, 9000, 4);
            size_t packets;
            int end;
            assert_true(both_ways(&f, f.len, NULL, &packets, &end));
            assert_int_equal(packets, 5);
            assert_int_equal(end, -ENODATA);
            capfile_fini(&f);
        }
    }
    /* Snap length 0 or above the maximum: libpcap's maximum applies. */
    struct capfile f = capfile_new(false, CAPFILE_MAGIC_USEC, 0, 1);
    capfile_rec(&f, 1, 0, 262144, 262144, 0);
    capfile_rec(&f, 1, 0, 70000, 70000, 1);
    size_t packets;
    int end;
    assert_true(both_ways(&f, f.len, NULL, &packets, &end));
    assert_int_equal(packets, 2);
    capfile_fini(&f);
}

static void test_capture_direct_damaged_files_end_alike(void **state)
{
    (void)state;
    struct capfile f = capfile_new(true, CAPFILE_MAGIC_USEC, 0, 1);
    add_frames(&f, 20, 1);
    size_t whole = f.len;
    capfile_rec(&f, 9, 0, 500, 500, 0);
    size_t packets;
    int end;
    /* Every cut inside the last record: its header, then its data. */
    for (size_t cut = whole + 1; cut < f.len; cut += cut < whole + 20 ? 1 : 97) {
        assert_true(both_ways(&f, cut, NULL, &packets, &end));
        assert_int_equal(packets, 20);
        assert_int_equal(end, -EIO);
    }
    /* A captured length above the maximum, then more records. */
    f.len = whole;
    capfile_rec(&f, 9, 0, 0, 0, 0);
    f.len -= 8;
    capfile_u32(&f, 262145);
    capfile_u32(&f, 262145);
    add_frames(&f, 3, 50);
    assert_true(both_ways(&f, f.len, NULL, &packets, &end));
    assert_int_equal(packets, 20);
    assert_int_equal(end, -EIO);
    /* A short file header: neither opens it. */
    assert_true(!both_ways(&f, 20, NULL, &packets, &end));
    assert_true(end < 0);
    capfile_fini(&f);
}

static void test_capture_direct_link_types(void **state)
{
    (void)state;
    size_t packets;
    int end;
    /* FCS bits above the link type: Ethernet still. */
    struct capfile f = capfile_new(false, CAPFILE_MAGIC_USEC, 0, 0x14000001u);
    add_frames(&f, 10, 1);
    assert_true(both_ways(&f, f.len, "tcp", &packets, &end));
    assert_int_equal(packets, 4);
    capfile_fini(&f);
    /* Raw IP, loopback, cooked v1 and v2 in this host's order: direct. */
    const uint32_t links[] = {101, 0, 113, 276, 228};
    for (size_t i = 0; i < 5; i++) {
        f = capfile_new(false, CAPFILE_MAGIC_NSEC, 0, links[i]);
        capfile_rec(&f, 1, 0, 40, 40, 0x45);
        assert_true(both_ways(&f, f.len, NULL, &packets, &end));
        assert_int_equal(packets, 1);
        capfile_fini(&f);
    }
    /* Byte-swapped cooked captures: libpcap rewrites CAN pseudo-headers, so libpcap reads them. */
    for (int i = 0; i < 2; i++) {
        f = capfile_new(true, CAPFILE_MAGIC_USEC, 0, i ? 276u : 113u);
        capfile_rec(&f, 1, 0, 40, 40, 0);
        assert_false(both_ways(&f, f.len, NULL, &packets, &end));
        assert_int_equal(packets, 1);
        capfile_fini(&f);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_capture.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_direct_same_as_libpcap_every_magic),
        cmocka_unit_test(test_capture_direct_recycles_a_large_file),
        cmocka_unit_test(test_capture_direct_odd_records),
        cmocka_unit_test(test_capture_direct_damaged_files_end_alike),
        cmocka_unit_test(test_capture_direct_link_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
