/*
 * test_savefile -- the direct pcap reader on hostile files: every magic and byte
 * order, bad and short headers, truncated record headers and data, captured
 * lengths above the snap length and above the maximum, captured > wire length,
 * zero-length records, timestamps as libpcap widens them, a large file of tiny
 * records read in small chunks (lent packets stay intact until the recycle
 * signal), reading from a pipe, and errors that name the offset.
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
#include "savefile.h"

#define MAGIC_USEC CAPFILE_MAGIC_USEC
#define MAGIC_NSEC CAPFILE_MAGIC_NSEC

static struct rd img_rd(const struct capfile *m)
{
    return rd_make(m->b, m->len);
}

/* A descriptor reading m: a temporary file (unlinked at once). */
static int img_fd(const struct capfile *m)
{
    char path[] = "/tmp/test_savefile.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, m->b, m->len), (ssize_t)m->len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static void test_savefile_header_every_magic(void **state)
{
    (void)state;
    const uint32_t magics[] = {MAGIC_USEC, MAGIC_NSEC};
    for (int be = 0; be < 2; be++) {
        for (int i = 0; i < 2; i++) {
            struct capfile m = capfile_new(be, magics[i], 1500, 0x04000001u); /* FCS bit set */
            struct rd r = img_rd(&m);
            struct savefile_hdr h;
            assert_int_equal(savefile_parse_header(&r, &h), 0);
            assert_int_equal(h.big_endian, be);
            assert_int_equal(h.swapped, be); /* the tests run on little-endian hosts */
            assert_int_equal(h.nsec, magics[i] == MAGIC_NSEC);
            assert_int_equal(h.snaplen, 1500);
            assert_int_equal(h.snapshot, 1500);
            assert_int_equal(h.linktype, 0x04000001u);
            assert_int_equal(rd_left(&r), 0);
            capfile_fini(&m);
        }
    }
}

static void test_savefile_header_refused(void **state)
{
    (void)state;
    struct savefile_hdr h;
    struct capfile m = capfile_new(false, 0x0a0d0d0au, 0, 1); /* pcapng section header */
    struct rd r = img_rd(&m);
    assert_int_equal(savefile_parse_header(&r, &h), -EPROTO);
    assert_int_equal(rd_left(&r), m.len); /* nothing consumed */
    capfile_fini(&m);
    m = capfile_new(false, 0xdeadbeefu, 0, 1);
    r = img_rd(&m);
    assert_int_equal(savefile_parse_header(&r, &h), -EPROTO);
    capfile_fini(&m);
    m = capfile_new(true, 0xa1b2cd34u, 0, 1); /* Kuznetzov: libpcap's business */
    r = img_rd(&m);
    assert_int_equal(savefile_parse_header(&r, &h), -ENOTSUP);
    capfile_fini(&m);
    m = capfile_new(false, MAGIC_USEC, 0, 1);
    m.b[6] = 3; /* version 2.3: lengths may be swapped */
    r = img_rd(&m);
    assert_int_equal(savefile_parse_header(&r, &h), -ENOTSUP);
    capfile_fini(&m);
}

static void test_savefile_header_every_truncation(void **state)
{
    (void)state;
    struct capfile m = capfile_new(false, MAGIC_USEC, 0, 1);
    for (size_t n = 0; n < SAVEFILE_HDR_LEN; n++) {
        struct rd r = rd_make(m.b, n);
        struct savefile_hdr h;
        assert_int_equal(savefile_parse_header(&r, &h), -ENODATA);
    }
    capfile_fini(&m);
}

static void test_savefile_header_snaplen_zero_or_huge(void **state)
{
    (void)state;
    const uint32_t snaps[] = {0, SAVEFILE_MAX_CAPLEN + 1, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        struct capfile m = capfile_new(false, MAGIC_USEC, snaps[i], 1);
        struct rd r = img_rd(&m);
        struct savefile_hdr h;
        assert_int_equal(savefile_parse_header(&r, &h), 0);
        assert_int_equal(h.snapshot, SAVEFILE_MAX_CAPLEN);
        capfile_fini(&m);
    }
}

/* Parses m's header and first record. */
static enum savefile_rc first_rec(const struct capfile *m, size_t len, struct savefile_rec *rec,
                                  const uint8_t **data, size_t *left)
{
    struct rd r = rd_make(m->b, len);
    struct savefile_hdr h;
    assert_int_equal(savefile_parse_header(&r, &h), 0);
    enum savefile_rc rc = savefile_parse_record(&r, &h, rec, data);
    *left = rd_left(&r);
    return rc;
}

static void test_savefile_record_every_truncation(void **state)
{
    (void)state;
    struct capfile m = capfile_new(true, MAGIC_USEC, 0, 1);
    capfile_rec(&m, 1, 2, 60, 60, 0);
    struct savefile_rec rec;
    const uint8_t *data;
    size_t left;
    for (size_t n = SAVEFILE_HDR_LEN; n < m.len; n++) {
        assert_int_equal(first_rec(&m, n, &rec, &data, &left), SAVEFILE_SHORT);
        assert_int_equal(left, n - SAVEFILE_HDR_LEN); /* nothing consumed */
    }
    assert_int_equal(first_rec(&m, m.len, &rec, &data, &left), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 60);
    assert_int_equal(rec.wirelen, 60);
    assert_int_equal(rec.ts_usec, 1000002);
    assert_int_equal(data[59], 59);
    assert_int_equal(left, 0);
    capfile_fini(&m);
}

static void test_savefile_record_above_maximum(void **state)
{
    (void)state;
    struct savefile_rec rec;
    const uint8_t *data;
    size_t left;
    struct capfile m = capfile_new(false, MAGIC_USEC, 0, 1);
    capfile_rec(&m, 1, 0, SAVEFILE_MAX_CAPLEN, 70000, 0);
    assert_int_equal(first_rec(&m, m.len, &rec, &data, &left), SAVEFILE_OK);
    assert_int_equal(rec.caplen, SAVEFILE_MAX_CAPLEN);
    capfile_fini(&m);
    m = capfile_new(false, MAGIC_USEC, 0, 1);
    capfile_u32(&m, 1);
    capfile_u32(&m, 0);
    capfile_u32(&m, SAVEFILE_MAX_CAPLEN + 1);
    capfile_u32(&m, 60);
    assert_int_equal(first_rec(&m, m.len, &rec, &data, &left), SAVEFILE_TOO_BIG);
    assert_int_equal(rec.stored, SAVEFILE_MAX_CAPLEN + 1);
    m.len -= 8;
    capfile_u32(&m, 0xffffffffu);
    capfile_u32(&m, 60);
    assert_int_equal(first_rec(&m, m.len, &rec, &data, &left), SAVEFILE_TOO_BIG);
    capfile_fini(&m);
}

static void test_savefile_record_above_snaplen_is_cut(void **state)
{
    (void)state;
    struct capfile m = capfile_new(false, MAGIC_USEC, 100, 1);
    capfile_rec(&m, 1, 0, 150, 150, 0);
    capfile_rec(&m, 2, 0, 10, 10, 0xa0);
    struct rd r = img_rd(&m);
    struct savefile_hdr h;
    struct savefile_rec rec;
    const uint8_t *data;
    assert_int_equal(savefile_parse_header(&r, &h), 0);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 100); /* as libpcap: the first snapshot bytes */
    assert_int_equal(rec.stored, 150); /* the rest is skipped */
    assert_int_equal(rec.wirelen, 150);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 10);
    assert_int_equal(data[0], 0xa0);
    capfile_fini(&m);
}

static void test_savefile_record_odd_lengths_pass(void **state)
{
    (void)state;
    struct capfile m = capfile_new(false, MAGIC_USEC, 0, 1);
    capfile_rec(&m, 1, 0, 0, 0, 0);    /* zero-length */
    capfile_rec(&m, 1, 0, 80, 20, 0);  /* captured > wire: libpcap passes it on */
    capfile_rec(&m, 1, 0, 0, 9000, 0); /* nothing captured of a jumbo */
    struct rd r = img_rd(&m);
    struct savefile_hdr h;
    struct savefile_rec rec;
    const uint8_t *data;
    assert_int_equal(savefile_parse_header(&r, &h), 0);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 0);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 80);
    assert_int_equal(rec.wirelen, 20);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_OK);
    assert_int_equal(rec.caplen, 0);
    assert_int_equal(rec.wirelen, 9000);
    assert_int_equal(savefile_parse_record(&r, &h, &rec, &data), SAVEFILE_SHORT);
    capfile_fini(&m);
}

/* ts_usec of one record with these raw fields. */
static uint64_t ts_of(bool be, uint32_t magic, uint32_t sec, uint32_t frac)
{
    struct capfile m = capfile_new(be, magic, 0, 1);
    capfile_rec(&m, sec, frac, 0, 0, 0);
    struct savefile_rec rec;
    const uint8_t *data;
    size_t left;
    assert_int_equal(first_rec(&m, m.len, &rec, &data, &left), SAVEFILE_OK);
    capfile_fini(&m);
    return rec.ts_usec;
}

static void test_savefile_timestamps_as_libpcap(void **state)
{
    (void)state;
    /* Ordinary values, either byte order. */
    for (int be = 0; be < 2; be++) {
        assert_int_equal(ts_of(be, MAGIC_USEC, 1700000000u, 999999), 1700000000999999ull);
        assert_int_equal(ts_of(be, MAGIC_NSEC, 1700000000u, 999999999), 1700000000999999ull);
        assert_int_equal(ts_of(be, MAGIC_NSEC, 1, 1999), 1000001ull); /* rounds down */
    }
    /* Damaged ones: signed in this host's byte order, unsigned when swapped. */
    assert_int_equal(ts_of(false, MAGIC_USEC, 0xffffffffu, 0), (uint64_t)-1000000);
    assert_int_equal(ts_of(true, MAGIC_USEC, 0xffffffffu, 0), 4294967295000000ull);
    assert_int_equal(ts_of(false, MAGIC_USEC, 1, 0xffffffffu), 999999ull);
    assert_int_equal(ts_of(true, MAGIC_USEC, 1, 0xffffffffu), 4295967295ull);
    assert_int_equal(ts_of(false, MAGIC_NSEC, 0, 0xfffffc18u), (uint64_t)-1); /* -1000 ns */
    assert_int_equal(ts_of(true, MAGIC_NSEC, 0, 0xfffffc18u), 4294966ull);
    assert_int_equal(ts_of(false, MAGIC_NSEC, 0, 0x80000000u), (uint64_t)-2147483);
}

/* Reads every record of fd with a chunk of `chunk` bytes; returns the last rc. */
static int read_all(int fd, size_t chunk, size_t *count, size_t *recycles, char *err, size_t cap)
{
    struct savefile *sf;
    assert_int_equal(savefile_open(fd, chunk, &sf), 0);
    /* Lent since the last recycle: their pointers and a copy of their bytes. */
    enum { KEEP = 64 };
    const uint8_t *held[KEEP];
    uint8_t copy[KEEP][8];
    size_t nheld = 0;
    int rc;
    *count = *recycles = 0;
    for (;;) {
        struct savefile_rec rec;
        const uint8_t *data;
        rc = savefile_next(sf, &rec, &data);
        if (rc == SAVEFILE_RECYCLE) {
            /* Everything lent since the last recycle is still intact. */
            for (size_t i = 0; i < nheld; i++)
                assert_memory_equal(held[i], copy[i], 8);
            nheld = 0;
            (*recycles)++;
            continue;
        }
        if (rc != 1)
            break;
        (*count)++;
        if (rec.caplen >= 8 && nheld < KEEP) {
            held[nheld] = data;
            memcpy(copy[nheld++], data, 8);
        }
    }
    snprintf(err, cap, "%s", savefile_error(sf));
    savefile_close(sf);
    return rc;
}

static void test_savefile_reader_many_tiny_records(void **state)
{
    (void)state;
    const uint32_t counts[] = {500, 200000, 200000, 200000};
    const size_t chunks[] = {1, 7, 4096, 0}; /* a byte per read(2) is slow: fewer records */
    for (size_t c = 0; c < 4; c++) {
        struct capfile m = capfile_new(false, MAGIC_NSEC, 0, 1);
        for (uint32_t i = 0; i < counts[c]; i++)
            capfile_rec(&m, i, 0, i % 3 ? 0 : 8 + i % 5, 64, (uint8_t)i);
        size_t count, recycles;
        char err[256];
        assert_int_equal(read_all(img_fd(&m), chunks[c], &count, &recycles, err, sizeof(err)),
                         -ENODATA);
        assert_int_equal(count, counts[c]);
        assert_true(recycles >= 1);
        assert_string_equal(err, "");
        capfile_fini(&m);
    }
}

static void test_savefile_reader_truncated_names_offset(void **state)
{
    (void)state;
    struct capfile m = capfile_new(false, MAGIC_USEC, 0, 1);
    capfile_rec(&m, 1, 0, 60, 60, 0);
    capfile_rec(&m, 2, 0, 60, 60, 0);
    size_t whole = m.len;
    size_t count, recycles;
    char err[256];
    /* Cut in the data of the second record (at offset 24 + 76). */
    m.len = whole - 10;
    int fd = img_fd(&m);
    assert_int_equal(read_all(fd, 0, &count, &recycles, err, sizeof(err)), -EIO);
    assert_int_equal(count, 1);
    assert_non_null(strstr(err, "offset 100"));
    assert_non_null(strstr(err, "60 captured bytes, only 50"));
    /* Cut in its header. */
    m.len = 24 + 76 + 5;
    fd = img_fd(&m);
    assert_int_equal(read_all(fd, 3, &count, &recycles, err, sizeof(err)), -EIO);
    assert_int_equal(count, 1);
    assert_non_null(strstr(err, "truncated record header at offset 100"));
    /* Whole: no error. */
    m.len = whole;
    fd = img_fd(&m);
    assert_int_equal(read_all(fd, 0, &count, &recycles, err, sizeof(err)), -ENODATA);
    assert_int_equal(count, 2);
    capfile_fini(&m);
}

static void test_savefile_reader_oversized_is_sticky(void **state)
{
    (void)state;
    struct capfile m = capfile_new(true, MAGIC_USEC, 0, 1);
    capfile_rec(&m, 1, 0, 60, 60, 0);
    capfile_u32(&m, 1);
    capfile_u32(&m, 0);
    capfile_u32(&m, 300000);
    capfile_u32(&m, 300000);
    capfile_rec(&m, 1, 0, 60, 60, 0);
    struct savefile *sf;
    assert_int_equal(savefile_open(img_fd(&m), 0, &sf), 0);
    struct savefile_rec rec;
    const uint8_t *data;
    assert_int_equal(savefile_next(sf, &rec, &data), 1);
    assert_int_equal(savefile_next(sf, &rec, &data), -EIO);
    assert_non_null(strstr(savefile_error(sf), "offset 100: captured length 300000"));
    assert_int_equal(savefile_next(sf, &rec, &data), -EIO);
    savefile_close(sf);
    capfile_fini(&m);
}

static void test_savefile_reader_pipe_and_bad_files(void **state)
{
    (void)state;
    struct capfile m = capfile_new(true, MAGIC_NSEC, 65535, 113);
    for (int i = 0; i < 100; i++)
        capfile_rec(&m, (uint32_t)i, 0, 100, 100, (uint8_t)i);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], m.b, m.len), (ssize_t)m.len);
    close(p[1]);
    size_t count, recycles;
    char err[256];
    assert_int_equal(read_all(p[0], 333, &count, &recycles, err, sizeof(err)), -ENODATA);
    assert_int_equal(count, 100);
    capfile_fini(&m);
    /* An empty file, a short header and a pcapng file are refused at open. */
    struct savefile *sf;
    struct capfile e = {NULL, 0, 0, false};
    assert_int_equal(savefile_open(img_fd(&e), 0, &sf), -ENODATA);
    m = capfile_new(false, MAGIC_USEC, 0, 1);
    m.len = 20;
    assert_int_equal(savefile_open(img_fd(&m), 0, &sf), -ENODATA);
    capfile_fini(&m);
    m = capfile_new(false, 0x0a0d0d0au, 0, 1);
    assert_int_equal(savefile_open(img_fd(&m), 0, &sf), -EPROTO);
    capfile_fini(&m);
    /* A header alone is an empty capture. */
    m = capfile_new(false, MAGIC_USEC, 0, 1);
    assert_int_equal(read_all(img_fd(&m), 0, &count, &recycles, err, sizeof(err)), -ENODATA);
    assert_int_equal(count, 0);
    capfile_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_savefile_header_every_magic),
        cmocka_unit_test(test_savefile_header_refused),
        cmocka_unit_test(test_savefile_header_every_truncation),
        cmocka_unit_test(test_savefile_header_snaplen_zero_or_huge),
        cmocka_unit_test(test_savefile_record_every_truncation),
        cmocka_unit_test(test_savefile_record_above_maximum),
        cmocka_unit_test(test_savefile_record_above_snaplen_is_cut),
        cmocka_unit_test(test_savefile_record_odd_lengths_pass),
        cmocka_unit_test(test_savefile_timestamps_as_libpcap),
        cmocka_unit_test(test_savefile_reader_many_tiny_records),
        cmocka_unit_test(test_savefile_reader_truncated_names_offset),
        cmocka_unit_test(test_savefile_reader_oversized_is_sticky),
        cmocka_unit_test(test_savefile_reader_pipe_and_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
