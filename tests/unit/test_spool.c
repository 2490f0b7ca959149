/*
 * test_spool -- the sensor's durable outbox: order, resume after restart,
 * acknowledgement, the byte cap with counted drops, corrupt and torn records,
 * and the record parser on every truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "spool.h"

struct fixture {
    char dir[64];              /* scratch spool directory */
    struct keys_identity id;   /* owner */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-test-spool-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_init(), 0);
    assert_int_equal(keys_generate(&f->id), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char p[512];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A fake envelope whose bytes say which batch it is. */
static void body(uint8_t *b, size_t n, uint64_t seq)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seq * 31 + i);
}

static void append(struct spool *sp, uint64_t seq, uint32_t count, size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    body(b, n, seq);
    assert_int_equal(spool_append(sp, seq, count, b, n), 0);
    free(b);
}

/* Expects the next record to be (seq, count) with the bytes append() wrote. */
static void expect_next(struct spool *sp, uint64_t seq, uint32_t count, size_t n)
{
    uint8_t *env;
    size_t len;
    uint64_t first;
    uint32_t c;
    assert_int_equal(spool_next(sp, &env, &len, &first, &c), 1);
    assert_int_equal(first, seq);
    assert_int_equal(c, count);
    assert_int_equal(len, n);
    uint8_t *want = malloc(n);
    body(want, n, seq);
    assert_memory_equal(env, want, n);
    free(want);
    free(env);
}

static void expect_none(struct spool *sp)
{
    uint8_t *env;
    size_t len;
    uint64_t first;
    uint32_t c;
    assert_int_equal(spool_next(sp, &env, &len, &first, &c), 0);
}

static void test_spool_round_trip_and_resume(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_ALWAYS, &sp, NULL), 0);
    assert_int_equal(spool_next_seq(sp), 1);
    append(sp, 1, 10, 100);
    append(sp, 11, 5, 200);
    append(sp, 16, 1, 50);
    assert_int_equal(spool_next_seq(sp), 17);
    expect_next(sp, 1, 10, 100);
    expect_next(sp, 11, 5, 200);
    assert_int_equal(spool_ack(sp, 15), 0);
    expect_next(sp, 16, 1, 50);
    expect_none(sp);
    spool_close(sp);

    /* A restart resumes numbering and resends only what was not acknowledged. */
    struct spool_recovery rec;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_ALWAYS, &sp, &rec), 0);
    assert_int_equal(spool_next_seq(sp), 17);
    assert_int_equal(spool_acked(sp), 15);
    expect_next(sp, 16, 1, 50);
    expect_none(sp);
    spool_rewind(sp);
    expect_next(sp, 16, 1, 50);
    spool_close(sp);
}

static void test_spool_seq_survives_full_ack(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_BATCH, &sp, NULL), 0);
    append(sp, 1, 3, 10);
    assert_int_equal(spool_ack(sp, 3), 0);
    struct spool_stats st;
    spool_stats(sp, &st);
    assert_int_equal(st.messages, 0);
    spool_close(sp);
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_BATCH, &sp, NULL), 0);
    assert_int_equal(spool_next_seq(sp), 4);
    expect_none(sp);
    spool_close(sp);
}

static void test_spool_cap_drops_oldest_counted(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    const uint64_t cap = 64 << 10;
    assert_int_equal(spool_open(f->dir, &f->id, cap, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    for (uint64_t i = 0; i < 40; i++)
        append(sp, 1 + i * 10, 10, 4000);
    struct spool_stats st;
    spool_stats(sp, &st);
    assert_true(st.bytes <= cap);
    assert_true(st.dropped > 0);
    assert_int_equal(st.dropped % 10, 0);
    uint64_t msgs, bytes, first, last;
    assert_true(spool_take_drops(sp, &msgs, &bytes, &first, &last));
    assert_int_equal(msgs, st.dropped);
    assert_int_equal(first, 1);
    assert_int_equal(last, msgs);
    assert_false(spool_take_drops(sp, &msgs, &bytes, &first, &last));
    /* What is left starts right after the drops and runs to the end. */
    expect_next(sp, last + 1, 10, 4000);
    assert_int_equal(spool_next_seq(sp), 401);
    assert_int_equal(st.messages + st.dropped, 400);
    spool_close(sp);
}

static char *only_segment(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    out[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "seg-", 4) == 0)
            snprintf(out, cap, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    return out;
}

static void test_spool_corrupt_record_skipped(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    append(sp, 1, 1, 300);
    append(sp, 2, 1, 300);
    append(sp, 3, 1, 300);
    spool_close(sp);
    char path[512];
    only_segment(f->dir, path, sizeof(path));
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    /* A byte in the middle of the second record's ciphertext. */
    off_t at = 8 + (24 + 24 + 16 + 12 + 300) + 100;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    struct spool_recovery rec;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, &rec), 0);
    assert_int_equal(rec.corrupt, 1);
    expect_next(sp, 1, 1, 300);
    expect_next(sp, 3, 1, 300);
    expect_none(sp);
    spool_close(sp);
}

static void test_spool_damaged_header_resyncs(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    append(sp, 1, 1, 300);
    append(sp, 2, 1, 300);
    append(sp, 3, 1, 300);
    spool_close(sp);
    char path[512];
    only_segment(f->dir, path, sizeof(path));
    int fd = open(path, O_RDWR);
    /* The second record's length field. */
    off_t at = 8 + (24 + 24 + 16 + 12 + 300) + 5;
    uint8_t b = 0xff;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    struct spool_recovery rec;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, &rec), 0);
    assert_int_equal(rec.corrupt, 1);
    expect_next(sp, 1, 1, 300);
    expect_next(sp, 3, 1, 300);
    spool_close(sp);
}

static void test_spool_torn_tail_cut_and_appends_continue(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    append(sp, 1, 2, 300);
    append(sp, 3, 2, 300);
    spool_close(sp);
    char path[512];
    only_segment(f->dir, path, sizeof(path));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 10), 0);
    struct spool_recovery rec;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, &rec), 0);
    assert_true(rec.truncated_bytes > 0);
    assert_int_equal(rec.corrupt, 0);
    /* Numbers once given out are never reused, even for a record cut off. */
    assert_int_equal(spool_next_seq(sp), 5);
    append(sp, 5, 2, 120);
    expect_next(sp, 1, 2, 300);
    expect_next(sp, 5, 2, 120);
    expect_none(sp);
    spool_close(sp);
}

static void test_spool_other_key_reads_nothing(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    append(sp, 1, 1, 64);
    spool_close(sp);
    struct keys_identity other;
    assert_int_equal(keys_generate(&other), 0);
    struct spool_recovery rec;
    assert_int_equal(spool_open(f->dir, &other, 1 << 20, SPOOL_FSYNC_NEVER, &sp, &rec), 0);
    assert_int_equal(rec.corrupt, 1);
    expect_none(sp);
    spool_close(sp);
}

static void count_rec(void *arg, uint64_t first_seq, uint32_t count, const uint8_t *env,
                      size_t len)
{
    (void)first_seq;
    (void)count;
    (void)env;
    (void)len;
    (*(int *)arg)++;
}

static void test_spool_parse_every_truncation(void **state)
{
    struct fixture *f = *state;
    struct spool *sp;
    assert_int_equal(spool_open(f->dir, &f->id, 1 << 20, SPOOL_FSYNC_NEVER, &sp, NULL), 0);
    append(sp, 1, 1, 40);
    append(sp, 2, 1, 40);
    spool_close(sp);
    char path[512];
    only_segment(f->dir, path, sizeof(path));
    int fd = open(path, O_RDONLY);
    uint8_t img[1024];
    ssize_t n = read(fd, img, sizeof(img));
    close(fd);
    assert_true(n > 0);
    uint8_t key[32];
    spool_key(&f->id, key);
    for (size_t cut = 0; cut <= (size_t)n; cut++) {
        int recs = 0;
        size_t good;
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, img, cut);
        uint64_t bad = spool_parse(key, copy, cut, count_rec, &recs, &good);
        free(copy);
        assert_true(good <= cut);
        assert_true(recs <= 2);
        if (cut == (size_t)n) {
            assert_int_equal(recs, 2);
            assert_int_equal(bad, 0);
            assert_int_equal(good, cut);
        }
    }
}

static void test_spool_fsync_parse(void **state)
{
    (void)state;
    enum spool_fsync p;
    assert_int_equal(spool_fsync_parse("always", &p), 0);
    assert_int_equal(p, SPOOL_FSYNC_ALWAYS);
    assert_int_equal(spool_fsync_parse("never", &p), 0);
    assert_int_equal(p, SPOOL_FSYNC_NEVER);
    assert_int_equal(spool_fsync_parse("sometimes", &p), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spool_round_trip_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_seq_survives_full_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_cap_drops_oldest_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_corrupt_record_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_damaged_header_resyncs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_torn_tail_cut_and_appends_continue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_spool_other_key_reads_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_parse_every_truncation, setup, teardown),
        cmocka_unit_test(test_spool_fsync_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
