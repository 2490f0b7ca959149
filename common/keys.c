/*
 * keys -- see keys.h.  The only user of <sodium.h> outside the spool's secretbox.
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

_Static_assert(sizeof(struct keys_sha256_ctx) >= sizeof(crypto_hash_sha256_state),
               "keys_sha256_ctx too small");
_Static_assert(crypto_sign_SECRETKEYBYTES == KEYS_SIGN_SK_LEN, "ed25519 sk size");
_Static_assert(crypto_box_SECRETKEYBYTES == KEYS_CURVE_LEN, "x25519 sk size");

int keys_init(void)
{
    if (sodium_init() < 0) {
        log_err("keys: libsodium failed to initialise");
        return -EIO;
    }
    return 0;
}

int keys_generate(struct keys_identity *id)
{
    if (crypto_box_keypair(id->pub.curve_pk, id->curve_sk) != 0 ||
        crypto_sign_keypair(id->pub.sign_pk, id->sign_sk) != 0) {
        log_err("keys: key generation failed");
        return -EIO;
    }
    return 0;
}

void keys_wipe(struct keys_identity *id)
{
    sodium_memzero(id, sizeof(*id));
}

char *keys_hex(const uint8_t *bin, size_t len, char *out, size_t cap)
{
    if (cap < 2 * len + 1) {
        if (cap)
            out[0] = '\0';
        return out;
    }
    sodium_bin2hex(out, cap, bin, len);
    return out;
}

int keys_unhex(const char *hex, uint8_t *bin, size_t len)
{
    size_t got = 0;
    const char *end;
    if (strlen(hex) != 2 * len)
        return -EINVAL;
    if (sodium_hex2bin(bin, len, hex, 2 * len, NULL, &got, &end) != 0 || got != len ||
        *end != '\0')
        return -EINVAL;
    return 0;
}

char *keys_public_format(const struct keys_public *pub, char *out, size_t cap)
{
    char a[2 * KEYS_CURVE_LEN + 1], b[2 * KEYS_SIGN_PK_LEN + 1];
    keys_hex(pub->curve_pk, sizeof(pub->curve_pk), a, sizeof(a));
    keys_hex(pub->sign_pk, sizeof(pub->sign_pk), b, sizeof(b));
    snprintf(out, cap, "%s:%s", a, b);
    return out;
}

int keys_public_parse(const char *s, struct keys_public *out)
{
    char a[2 * KEYS_CURVE_LEN + 1];
    const char *colon = strchr(s, ':');
    if (!colon || (size_t)(colon - s) != 2 * KEYS_CURVE_LEN)
        return -EINVAL;
    memcpy(a, s, 2 * KEYS_CURVE_LEN);
    a[2 * KEYS_CURVE_LEN] = '\0';
    struct keys_public p = {0};
    if (keys_unhex(a, p.curve_pk, sizeof(p.curve_pk)) < 0 ||
        keys_unhex(colon + 1, p.sign_pk, sizeof(p.sign_pk)) < 0)
        return -EINVAL;
    *out = p;
    return 0;
}

static int path_join(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int write_file(const char *path, mode_t mode, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        log_err("keys: cannot create %s: %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    size_t len = strlen(text);
    if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        rc = -errno;
        log_err("keys: cannot write %s: %s", path, strerror(errno));
    }
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        unlink(path);
    return rc;
}

int keys_save(const char *dir, const struct keys_identity *id)
{
    char spath[4096], ppath[4096];
    if (path_join(spath, sizeof(spath), dir, KEYS_SECRET_FILE) < 0 ||
        path_join(ppath, sizeof(ppath), dir, KEYS_PUBLIC_FILE) < 0) {
        log_err("keys: directory name too long: %s", dir);
        return -ENAMETOOLONG;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        log_err("keys: cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    if (access(spath, F_OK) == 0 || access(ppath, F_OK) == 0) {
        log_err("keys: %s already holds an identity; refusing to overwrite it", dir);
        return -EEXIST;
    }
    char csk[2 * KEYS_CURVE_LEN + 1], ssk[2 * KEYS_SIGN_SK_LEN + 1];
    char cpk[2 * KEYS_CURVE_LEN + 1], spk[2 * KEYS_SIGN_PK_LEN + 1];
    char secret[512], public[512];
    keys_hex(id->curve_sk, sizeof(id->curve_sk), csk, sizeof(csk));
    keys_hex(id->sign_sk, sizeof(id->sign_sk), ssk, sizeof(ssk));
    keys_hex(id->pub.curve_pk, sizeof(id->pub.curve_pk), cpk, sizeof(cpk));
    keys_hex(id->pub.sign_pk, sizeof(id->pub.sign_pk), spk, sizeof(spk));
    snprintf(secret, sizeof(secret),
             "# Ward identity: SECRET keys.  Keep this file mode 0600, owned by its user.\n"
             "curve_secret = %s\nsign_secret = %s\n",
             csk, ssk);
    snprintf(public, sizeof(public),
             "# Ward identity: public keys.  Enrol with: wardctl sensor add NAME %s:%s\n"
             "curve_public = %s\nsign_public = %s\n",
             cpk, spk, cpk, spk);
    int rc = write_file(spath, 0600, secret);
    if (rc == 0) {
        rc = write_file(ppath, 0644, public);
        if (rc < 0)
            unlink(spath);
    }
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(csk, sizeof(csk));
    sodium_memzero(ssk, sizeof(ssk));
    return rc;
}

/* Reads "key = value" lines; calls fn for each.  Bounded: 64 lines of 512 bytes. */
typedef int (*kv_fn)(void *arg, const char *key, const char *value);

static int read_kv(const char *path, FILE *f, kv_fn fn, void *arg)
{
    char line[512];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (lineno > 64) {
            log_err("keys: %s: too many lines", path);
            rc = -EINVAL;
            break;
        }
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n' && !feof(f)) {
            log_err("keys: %s:%u: line too long", path, lineno);
            rc = -EINVAL;
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            log_err("keys: %s:%u: expected 'key = value'", path, lineno);
            rc = -EINVAL;
            break;
        }
        char *k = p, *v = eq + 1;
        char *kend = eq;
        while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        rc = fn(arg, k, v);
        if (rc < 0) {
            log_err("keys: %s:%u: bad value for '%s'", path, lineno, k);
            break;
        }
    }
    sodium_memzero(line, sizeof(line));
    return rc;
}

struct secret_read {
    struct keys_identity *id; /* being filled */
    unsigned have;            /* bit 0 curve, bit 1 sign */
};

static int secret_kv(void *arg, const char *key, const char *value)
{
    struct secret_read *s = arg;
    if (strcmp(key, "curve_secret") == 0) {
        if (keys_unhex(value, s->id->curve_sk, KEYS_CURVE_LEN) < 0)
            return -EINVAL;
        s->have |= 1;
    } else if (strcmp(key, "sign_secret") == 0) {
        if (keys_unhex(value, s->id->sign_sk, KEYS_SIGN_SK_LEN) < 0)
            return -EINVAL;
        s->have |= 2;
    } else {
        return -EINVAL;
    }
    return 0;
}

int keys_load(const char *dir, struct keys_identity *id)
{
    char path[4096];
    if (path_join(path, sizeof(path), dir, KEYS_SECRET_FILE) < 0)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        log_err("keys: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        log_err("keys: %s is not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        log_err("keys: %s has mode %04o: group or others may read the secret keys; "
                "run 'chmod 600 %s'",
                path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return -EPERM;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return -errno;
    }
    memset(id, 0, sizeof(*id));
    struct secret_read s = {id, 0};
    int rc = read_kv(path, f, secret_kv, &s);
    fclose(f);
    if (rc == 0 && s.have != 3) {
        log_err("keys: %s lacks %s", path, (s.have & 1) ? "sign_secret" : "curve_secret");
        rc = -EINVAL;
    }
    if (rc == 0) {
        crypto_scalarmult_base(id->pub.curve_pk, id->curve_sk);
        crypto_sign_ed25519_sk_to_pk(id->pub.sign_pk, id->sign_sk);
    } else {
        keys_wipe(id);
    }
    return rc;
}

struct public_read {
    struct keys_public *pub; /* being filled */
    unsigned have;           /* bit 0 curve, bit 1 sign, bit 2 token */
};

static int public_kv(void *arg, const char *key, const char *value)
{
    struct public_read *s = arg;
    if (strcmp(key, "curve_public") == 0) {
        if (keys_unhex(value, s->pub->curve_pk, KEYS_CURVE_LEN) < 0)
            return -EINVAL;
        s->have |= 1;
    } else if (strcmp(key, "sign_public") == 0) {
        if (keys_unhex(value, s->pub->sign_pk, KEYS_SIGN_PK_LEN) < 0)
            return -EINVAL;
        s->have |= 2;
    } else if (strcmp(key, "public") == 0) {
        if (keys_public_parse(value, s->pub) < 0)
            return -EINVAL;
        s->have |= 3;
    } else {
        return -EINVAL;
    }
    return 0;
}

int keys_load_public(const char *path_or_dir, struct keys_public *out)
{
    char path[4096];
    struct stat st;
    if (stat(path_or_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (path_join(path, sizeof(path), path_or_dir, KEYS_PUBLIC_FILE) < 0)
            return -ENAMETOOLONG;
    } else {
        snprintf(path, sizeof(path), "%s", path_or_dir);
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        log_err("keys: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    struct public_read s = {out, 0};
    int rc = read_kv(path, f, public_kv, &s);
    fclose(f);
    if (rc == 0 && s.have != 3) {
        log_err("keys: %s lacks a public key", path);
        rc = -EINVAL;
    }
    return rc;
}

void keys_sign(const struct keys_identity *id, const uint8_t *msg, size_t len,
               uint8_t sig[KEYS_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, id->sign_sk);
}

bool keys_verify(const uint8_t sign_pk[KEYS_SIGN_PK_LEN], const uint8_t *msg, size_t len,
                 const uint8_t sig[KEYS_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, sign_pk) == 0;
}

void keys_sha256(const void *data, size_t len, uint8_t out[KEYS_SHA256_LEN])
{
    crypto_hash_sha256(out, data, len);
}

void keys_sha256_init(struct keys_sha256_ctx *ctx)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)ctx->opaque);
}

void keys_sha256_update(struct keys_sha256_ctx *ctx, const void *data, size_t len)
{
    crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)ctx->opaque, data, len);
}

void keys_sha256_final(struct keys_sha256_ctx *ctx, uint8_t out[KEYS_SHA256_LEN])
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)ctx->opaque, out);
}

void keys_random(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}
