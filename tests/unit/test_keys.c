/*
 * test_keys -- identities on disk: a saved identity loads back the same, files
 * get the right modes, a secret file others may read is refused, an existing
 * identity is never overwritten, public tokens round-trip, signatures verify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"

struct fixture {
    char dir[64];          /* scratch directory */
    char id_dir[128];      /* the identity directory inside it */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-test-keys-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->id_dir, sizeof(f->id_dir), "%s/id", f->dir);
    assert_int_equal(keys_init(), 0);
    *state = f;
    return 0;
}

static void rm_file(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rm_file(f->id_dir, KEYS_SECRET_FILE);
    rm_file(f->id_dir, KEYS_PUBLIC_FILE);
    rm_file(f->dir, "token.pub");
    rmdir(f->id_dir);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void path_of(const struct fixture *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", f->id_dir, name);
}

static void test_keys_save_load_round_trip(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id, back;
    assert_int_equal(keys_generate(&id), 0);
    assert_int_equal(keys_save(f->id_dir, &id), 0);
    assert_int_equal(keys_load(f->id_dir, &back), 0);
    assert_memory_equal(id.curve_sk, back.curve_sk, sizeof(id.curve_sk));
    assert_memory_equal(id.sign_sk, back.sign_sk, sizeof(id.sign_sk));
    assert_memory_equal(&id.pub, &back.pub, sizeof(id.pub));
    struct keys_public pub;
    assert_int_equal(keys_load_public(f->id_dir, &pub), 0);
    assert_memory_equal(&pub, &id.pub, sizeof(pub));

    char p[256];
    struct stat st;
    path_of(f, KEYS_SECRET_FILE, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    path_of(f, KEYS_PUBLIC_FILE, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    keys_wipe(&back);
    const uint8_t zero[KEYS_SIGN_SK_LEN] = {0};
    assert_memory_equal(back.sign_sk, zero, sizeof(zero));
}

static void test_keys_loose_permissions_refused(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id, back;
    assert_int_equal(keys_generate(&id), 0);
    assert_int_equal(keys_save(f->id_dir, &id), 0);
    char p[256];
    path_of(f, KEYS_SECRET_FILE, p, sizeof(p));
    const mode_t loose[] = {0640, 0604, 0660, 0644, 0666, 0610};
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        assert_int_equal(chmod(p, loose[i]), 0);
        assert_int_equal(keys_load(f->id_dir, &back), -EPERM);
    }
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(keys_load(f->id_dir, &back), 0);
}

static void test_keys_never_overwrites(void **state)
{
    struct fixture *f = *state;
    struct keys_identity a, b, back;
    assert_int_equal(keys_generate(&a), 0);
    assert_int_equal(keys_generate(&b), 0);
    assert_int_equal(keys_save(f->id_dir, &a), 0);
    assert_int_equal(keys_save(f->id_dir, &b), -EEXIST);
    assert_int_equal(keys_load(f->id_dir, &back), 0);
    assert_memory_equal(&back.pub, &a.pub, sizeof(a.pub));
}

static void test_keys_malformed_secret_refused(void **state)
{
    struct fixture *f = *state;
    struct keys_identity back;
    assert_int_equal(mkdir(f->id_dir, 0700), 0);
    char p[256];
    path_of(f, KEYS_SECRET_FILE, p, sizeof(p));
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("curve_secret = 00112233\nsign_secret = zz\n", fp);
    fclose(fp);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(keys_load(f->id_dir, &back), -EINVAL);
    fp = fopen(p, "w");
    fputs("# only a comment\n", fp);
    fclose(fp);
    assert_int_equal(keys_load(f->id_dir, &back), -EINVAL);
}

static void test_keys_public_token_round_trip(void **state)
{
    struct fixture *f = *state;
    struct keys_identity id;
    assert_int_equal(keys_generate(&id), 0);
    char tok[KEYS_PUBLIC_STR_LEN];
    keys_public_format(&id.pub, tok, sizeof(tok));
    assert_int_equal(strlen(tok), KEYS_PUBLIC_STR_LEN - 1);
    struct keys_public pub;
    assert_int_equal(keys_public_parse(tok, &pub), 0);
    assert_memory_equal(&pub, &id.pub, sizeof(pub));
    /* The token also works as a file: "public = TOKEN". */
    char p[256];
    snprintf(p, sizeof(p), "%s/token.pub", f->dir);
    FILE *fp = fopen(p, "w");
    fprintf(fp, "public = %s\n", tok);
    fclose(fp);
    memset(&pub, 0, sizeof(pub));
    assert_int_equal(keys_load_public(p, &pub), 0);
    assert_memory_equal(&pub, &id.pub, sizeof(pub));

    tok[10] = 'g';
    assert_int_equal(keys_public_parse(tok, &pub), -EINVAL);
    assert_int_equal(keys_public_parse("abcd:ef", &pub), -EINVAL);
    assert_int_equal(keys_public_parse("", &pub), -EINVAL);
}

static void test_keys_sign_verify(void **state)
{
    (void)state;
    struct keys_identity a, b;
    assert_int_equal(keys_generate(&a), 0);
    assert_int_equal(keys_generate(&b), 0);
    const uint8_t msg[] = "isolate 10.1.2.3";
    uint8_t sig[KEYS_SIG_LEN];
    keys_sign(&a, msg, sizeof(msg), sig);
    assert_true(keys_verify(a.pub.sign_pk, msg, sizeof(msg), sig));
    assert_false(keys_verify(b.pub.sign_pk, msg, sizeof(msg), sig));
    sig[0] ^= 1;
    assert_false(keys_verify(a.pub.sign_pk, msg, sizeof(msg), sig));
}

static void test_keys_hex(void **state)
{
    (void)state;
    const uint8_t bin[] = {0x00, 0xab, 0xff};
    char hex[7];
    assert_string_equal(keys_hex(bin, sizeof(bin), hex, sizeof(hex)), "00abff");
    uint8_t back[3];
    assert_int_equal(keys_unhex("00abff", back, sizeof(back)), 0);
    assert_memory_equal(back, bin, sizeof(bin));
    assert_int_equal(keys_unhex("00abf", back, sizeof(back)), -EINVAL);
    assert_int_equal(keys_unhex("00abfg", back, sizeof(back)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys_save_load_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_loose_permissions_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_malformed_secret_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_public_token_round_trip, setup, teardown),
        cmocka_unit_test(test_keys_sign_verify),
        cmocka_unit_test(test_keys_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
