/*
 * test_file -- whole-file replacement (all of the new file or none of it) and reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"

struct fx {
    char dir[64];   /* scratch directory */
    char path[128]; /* dir/state */
    char tmp[140];  /* dir/state.tmp */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-file-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/state", f->dir);
    snprintf(f->tmp, sizeof(f->tmp), "%s/state.tmp", f->dir);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    unlink(f->tmp);
    unlink(f->path);
    rmdir(f->path); /* the test that makes it a directory */
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The whole of path, NUL-terminated, in buf (cap bytes); its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static void test_file_replace_writes_then_replaces_whole(void **state)
{
    struct fx *f = *state;
    char buf[64];
    assert_int_equal(file_replace(f->path, "first\n", 6, 0600, FILE_SYNC), 0);
    assert_int_equal(slurp(f->path, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "first\n");
    assert_int_equal(file_replace(f->path, "2", 1, 0600, FILE_SYNC | FILE_SYNC_DIR), 0);
    assert_int_equal(slurp(f->path, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "2");
    assert_int_equal(access(f->tmp, F_OK), -1); /* no temporary left behind */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0); /* the mode asked for */
}

static void test_file_replace_empty_file(void **state)
{
    struct fx *f = *state;
    char buf[8];
    assert_int_equal(file_replace(f->path, "", 0, 0600, 0), 0);
    assert_int_equal(slurp(f->path, buf, sizeof(buf)), 0);
}

static void test_file_replace_failure_keeps_old_and_cleans_up(void **state)
{
    struct fx *f = *state;
    /* A directory where the file should go: the rename fails, nothing changes. */
    assert_int_equal(mkdir(f->path, 0700), 0);
    int rc = file_replace(f->path, "new", 3, 0600, FILE_SYNC);
    assert_true(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(access(f->tmp, F_OK), -1);
}

static void test_file_replace_missing_directory(void **state)
{
    struct fx *f = *state;
    char path[200];
    snprintf(path, sizeof(path), "%s/no/such/dir/state", f->dir);
    assert_int_equal(file_replace(path, "x", 1, 0600, 0), -ENOENT);
}

static void test_file_replace_name_too_long(void **state)
{
    (void)state;
    char *path = malloc(PATH_MAX);
    assert_non_null(path);
    memset(path, 'a', PATH_MAX - 2); /* fits, but not with ".tmp" */
    path[PATH_MAX - 2] = '\0';
    assert_int_equal(file_replace(path, "x", 1, 0600, 0), -ENAMETOOLONG);
    free(path);
}

static void test_file_write_all_reports_errors(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(file_write_all(p[1], "abc", 3), 0);
    char buf[4] = {0};
    assert_int_equal(read(p[0], buf, 3), 3);
    assert_string_equal(buf, "abc");
    close(p[0]);
    close(p[1]);
    assert_int_equal(file_write_all(p[1], "abc", 3), -EBADF); /* closed */
}

static void test_file_read_all_limits_and_kinds(void **state)
{
    struct fx *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(f->path, 100, &buf, &len), -ENOENT);
    assert_int_equal(file_replace(f->path, "twelve bytes", 12, 0600, 0), 0);
    assert_int_equal(file_read_all(f->path, 12, &buf, &len), 0);
    assert_int_equal(len, 12);
    assert_memory_equal(buf, "twelve bytes", 12);
    free(buf);
    assert_int_equal(file_read_all(f->path, 11, &buf, &len), -EFBIG); /* one over */
    assert_int_equal(file_read_all(f->dir, 1 << 20, &buf, &len), -EINVAL); /* a directory */
    assert_int_equal(file_replace(f->path, "", 0, 0600, 0), 0);
    assert_int_equal(file_read_all(f->path, 0, &buf, &len), 0);
    assert_int_equal(len, 0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_replace_writes_then_replaces_whole, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_replace_empty_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_replace_failure_keeps_old_and_cleans_up,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_file_replace_missing_directory, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_file_replace_name_too_long),
        cmocka_unit_test_setup_teardown(test_file_read_all_limits_and_kinds, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_file_write_all_reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
