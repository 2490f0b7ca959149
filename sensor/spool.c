/*
 * spool -- see spool.h.  Segment files are only appended to and deleted whole;
 * the state file is replaced by rename.  Everything read back from disk goes
 * through struct rd and is authenticated before it is believed.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "file.h"
#include "log.h"
#include "rd.h"

#define FILE_MAGIC "WARDSPL1"
#define FILE_MAGIC_LEN 8
#define REC_MAGIC 0x57535231u /* "WSR1" */
#define REC_HDR_LEN (4 + 4 + 8 + 4 + 4)
#define REC_NONCE_LEN crypto_secretbox_NONCEBYTES
#define REC_INNER_LEN (8 + 4) /* first_seq, count repeated inside the box */
#define STATE_FILE "spool.state"
#define LOCK_FILE "spool.lock"
#define STATE_MAGIC 0x57535331u /* "WSS1" */
#define STATE_LEN (4 + 8 + 8 + 4)
#define KEY_CONTEXT "WARD-SPOOL-KEY-1"

_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key size");

struct seg {
    uint64_t first_seq; /* from the file name: first seq of its first record */
    uint64_t last_seq;  /* last seq of its last record (first_seq - 1 if empty) */
    uint64_t bytes;     /* file size */
    uint64_t records;   /* records in it */
};

struct spool {
    char *dir;                  /* directory */
    uint8_t key[32];            /* secretbox key */
    uint64_t max_bytes;         /* cap on all segments */
    uint64_t seg_bytes;         /* roll a segment past this */
    enum spool_fsync policy;    /* fsync policy */
    struct seg *segs;           /* oldest first */
    size_t nsegs;               /* segments in use */
    size_t segcap;              /* segments allocated */
    int lockfd;                 /* spool.lock, held (flock) while open */
    int wfd;                    /* newest segment open for append, -1 if none */
    int rfd;                    /* segment the cursor reads, -1 if none */
    size_t rfd_seg;             /* index of the segment rfd has open */
    bool dirty;                 /* writes not yet fsync'd (batch policy) */
    bool state_dirty;           /* state changed since the last write */
    uint64_t last_sync_usec;    /* monotonic time of the last fsync */
    uint64_t next_seq;          /* next sequence number to assign */
    uint64_t acked;             /* acknowledged watermark */
    size_t rseg;                /* cursor: segment index */
    uint64_t roff;              /* cursor: offset in it */
    uint64_t sent_through;      /* cursor: records up to this seq handed out */
    uint64_t total_bytes;       /* sum of segment sizes */
    uint64_t dropped;           /* messages dropped (total) */
    uint64_t dropped_bytes;     /* bytes dropped (total) */
    uint64_t corrupt;           /* corrupt records skipped (total) */
    uint64_t pend_msgs;         /* drops not yet taken: messages */
    uint64_t pend_bytes;        /* ... bytes */
    uint64_t pend_first;        /* ... first seq */
    uint64_t pend_last;         /* ... last seq */
};

int spool_fsync_parse(const char *s, enum spool_fsync *out)
{
    if (strcmp(s, "always") == 0)
        *out = SPOOL_FSYNC_ALWAYS;
    else if (strcmp(s, "batch") == 0)
        *out = SPOOL_FSYNC_BATCH;
    else if (strcmp(s, "never") == 0)
        *out = SPOOL_FSYNC_NEVER;
    else
        return -EINVAL;
    return 0;
}

void spool_key(const struct keys_identity *id, uint8_t key[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)KEY_CONTEXT, sizeof(KEY_CONTEXT));
    crypto_generichash_update(&st, id->sign_sk, sizeof(id->sign_sk));
    crypto_generichash_final(&st, key, 32);
    sodium_memzero(&st, sizeof(st));
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint32_t check32(const uint8_t *p, size_t n)
{
    uint8_t h[16];
    crypto_generichash(h, sizeof(h), p, n, NULL, 0);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static size_t record_len(size_t env_len)
{
    return REC_HDR_LEN + REC_NONCE_LEN + crypto_secretbox_MACBYTES + REC_INNER_LEN + env_len;
}

/* Writes the record for (first_seq, count, env) into rec (record_len(env_len) bytes). */
static void record_build(const uint8_t key[32], uint64_t first_seq, uint32_t count,
                         const uint8_t *env, size_t env_len, uint8_t *rec)
{
    size_t plain_len = REC_INNER_LEN + env_len;
    size_t ct_len = crypto_secretbox_MACBYTES + plain_len;
    put_be(rec, REC_MAGIC, 4);
    put_be(rec + 4, ct_len, 4);
    put_be(rec + 8, first_seq, 8);
    put_be(rec + 16, count, 4);
    put_be(rec + 20, check32(rec, 20), 4);
    uint8_t *nonce = rec + REC_HDR_LEN;
    randombytes_buf(nonce, REC_NONCE_LEN);
    uint8_t *ct = nonce + REC_NONCE_LEN;
    /* Plaintext is built in place after the MAC slot, then sealed in place. */
    uint8_t *plain = ct + crypto_secretbox_MACBYTES;
    put_be(plain, first_seq, 8);
    put_be(plain + 8, count, 4);
    memcpy(plain + REC_INNER_LEN, env, env_len);
    crypto_secretbox_easy(ct, plain, plain_len, nonce, key);
}

/* ---------------------------------------------------------------- parsing */

struct rec_hdr {
    uint64_t first_seq; /* first message */
    uint32_t count;     /* messages */
    uint32_t len;       /* ciphertext bytes */
};

/* Reads a record header (magic, len, seq, count, check); false if it is not one. */
static bool hdr_read(struct rd *r, struct rec_hdr *h)
{
    struct rd start = *r;
    const uint8_t *raw;
    uint32_t magic, check;
    if (!rd_bytes(&start, REC_HDR_LEN, &raw))
        return false;
    if (!rd_be32(r, &magic) || !rd_be32(r, &h->len) || !rd_be64(r, &h->first_seq) ||
        !rd_be32(r, &h->count) || !rd_be32(r, &check))
        return false;
    if (magic != REC_MAGIC || check != check32(raw, REC_HDR_LEN - 4))
        return false;
    if (h->count == 0 || h->first_seq == 0 || h->first_seq > UINT64_MAX - h->count ||
        h->len < crypto_secretbox_MACBYTES + REC_INNER_LEN || h->len > SPOOL_RECORD_MAX_BYTES)
        return false;
    return true;
}

/* Decrypts a record body into out (cap >= len - MAC); returns the envelope length or -1. */
static long body_open(const uint8_t key[32], const struct rec_hdr *h, const uint8_t *nonce,
                      const uint8_t *ct, uint8_t *out)
{
    if (crypto_secretbox_open_easy(out, ct, h->len, nonce, key) != 0)
        return -1;
    struct rd in = rd_make(out, h->len - crypto_secretbox_MACBYTES);
    uint64_t seq;
    uint32_t count;
    if (!rd_be64(&in, &seq) || !rd_be32(&in, &count) || seq != h->first_seq ||
        count != h->count)
        return -1;
    return (long)rd_left(&in);
}

uint64_t spool_parse(const uint8_t key[32], const uint8_t *buf, size_t len, spool_record_fn fn,
                     void *arg, size_t *good_len)
{
    struct rd all = rd_make(buf, len);
    struct rd r = all;
    const uint8_t *magic;
    uint64_t corrupt = 0;
    *good_len = 0;
    if (!rd_bytes(&r, FILE_MAGIC_LEN, &magic) || memcmp(magic, FILE_MAGIC, FILE_MAGIC_LEN) != 0)
        return len ? 1 : 0;
    *good_len = FILE_MAGIC_LEN;
    uint8_t *plain = NULL;
    size_t plain_cap = 0;
    bool resyncing = false;
    while (rd_left(&r) > 0) {
        struct rd at = r;
        struct rec_hdr h;
        const uint8_t *nonce, *ct;
        if (!hdr_read(&at, &h)) {
            /* Not a header here: a damaged record.  Look for the next one. */
            if (!resyncing)
                corrupt++;
            resyncing = true;
            if (!rd_skip(&r, 1))
                break;
            continue;
        }
        if (!rd_bytes(&at, REC_NONCE_LEN, &nonce) || !rd_bytes(&at, h.len, &ct))
            break; /* torn tail: the record was never finished */
        resyncing = false;
        r = at;
        size_t need = h.len - crypto_secretbox_MACBYTES;
        if (need > plain_cap) {
            uint8_t *np = realloc(plain, need);
            if (!np)
                break;
            plain = np;
            plain_cap = need;
        }
        long envlen = body_open(key, &h, nonce, ct, plain);
        if (envlen < 0) {
            corrupt++;
            continue;
        }
        *good_len = rd_offset(&all, &r);
        if (fn)
            fn(arg, h.first_seq, h.count, plain + REC_INNER_LEN, (size_t)envlen);
    }
    if (plain) {
        sodium_memzero(plain, plain_cap);
        free(plain);
    }
    return corrupt;
}

/* ---------------------------------------------------------------- files */

static int seg_path(const struct spool *sp, uint64_t first_seq, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/seg-%020" PRIu64 ".wsp", sp->dir, first_seq);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static void sync_dir(const struct spool *sp)
{
    int fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}


static int state_write(struct spool *sp)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", sp->dir, STATE_FILE);
    uint8_t b[STATE_LEN];
    put_be(b, STATE_MAGIC, 4);
    put_be(b + 4, sp->acked, 8);
    put_be(b + 12, sp->next_seq, 8);
    put_be(b + 20, check32(b, 20), 4);
    int rc = file_replace(path, b, sizeof(b), 0600,
                          sp->policy == SPOOL_FSYNC_ALWAYS ? FILE_SYNC : 0);
    if (rc < 0) {
        log_err("spool: cannot write %s: %s", path, strerror(-rc));
        return rc;
    }
    sp->state_dirty = false;
    return 0;
}

static void state_read(struct spool *sp)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", sp->dir, STATE_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint8_t b[STATE_LEN];
    ssize_t n = read(fd, b, sizeof(b));
    close(fd);
    struct rd r = rd_make(b, n > 0 ? (size_t)n : 0);
    uint32_t magic, check;
    uint64_t acked, next;
    if (!rd_be32(&r, &magic) || !rd_be64(&r, &acked) || !rd_be64(&r, &next) ||
        !rd_be32(&r, &check) || magic != STATE_MAGIC || check != check32(b, 20) ||
        next == 0 || acked >= next) {
        log_warn("spool: %s is damaged; resuming from the segments alone", path);
        return;
    }
    sp->acked = acked;
    sp->next_seq = next;
}

static int segs_push(struct spool *sp, const struct seg *s)
{
    if (sp->nsegs == sp->segcap) {
        size_t ncap = sp->segcap ? sp->segcap * 2 : 16;
        struct seg *n = reallocarray(sp->segs, ncap, sizeof(*n));
        if (!n)
            return -ENOMEM;
        sp->segs = n;
        sp->segcap = ncap;
    }
    sp->segs[sp->nsegs++] = *s;
    sp->total_bytes += s->bytes;
    return 0;
}

static void close_rfd(struct spool *sp)
{
    if (sp->rfd >= 0)
        close(sp->rfd);
    sp->rfd = -1;
}

/* Deletes the oldest segment; returns its unacknowledged messages. */
static uint64_t seg_drop_oldest(struct spool *sp)
{
    struct seg s = sp->segs[0];
    char path[4096];
    if (seg_path(sp, s.first_seq, path, sizeof(path)) == 0 && unlink(path) < 0 &&
        errno != ENOENT)
        log_warn("spool: cannot delete %s: %s", path, strerror(errno));
    if (sp->nsegs == 1 && sp->wfd >= 0) {
        close(sp->wfd);
        sp->wfd = -1;
    }
    if (sp->rfd_seg == 0)
        close_rfd(sp);
    else if (sp->rfd >= 0)
        sp->rfd_seg--;
    memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof(*sp->segs));
    sp->nsegs--;
    sp->total_bytes -= s.bytes;
    if (sp->rseg > 0) {
        sp->rseg--;
    } else {
        sp->roff = FILE_MAGIC_LEN;
    }
    uint64_t lo = WARD_MAX(sp->acked, s.first_seq - 1);
    return s.last_seq > lo ? s.last_seq - lo : 0;
}

struct scan {
    struct seg *seg;         /* being filled */
    const uint8_t *key;      /* for rebuilding */
    uint8_t *img;            /* rebuilt segment image, NULL when only scanning */
    size_t img_len;          /* bytes in img */
    size_t img_cap;          /* bytes allocated */
    bool oom;                /* rebuilding ran out of memory */
};

static void scan_rec(void *arg, uint64_t first_seq, uint32_t count, const uint8_t *env,
                     size_t len)
{
    (void)env;
    (void)len;
    struct scan *s = arg;
    if (s->img || s->img_cap) {
        size_t n = record_len(len);
        if (s->img_len + n > s->img_cap) {
            size_t ncap = WARD_MAX(s->img_cap * 2, s->img_len + n);
            uint8_t *ni = realloc(s->img, ncap);
            if (!ni) {
                s->oom = true;
                return;
            }
            s->img = ni;
            s->img_cap = ncap;
        }
        record_build(s->key, first_seq, count, env, len, s->img + s->img_len);
        s->img_len += n;
    }
    s->seg->records++;
    uint64_t last = first_seq + count - 1;
    if (last > s->seg->last_seq)
        s->seg->last_seq = last;
}

/* Replaces path by img (write to a temporary name, fsync, rename). */
static int rewrite(const struct spool *sp, const char *path, const uint8_t *img, size_t len)
{
    int rc = file_replace(path, img, len, 0600, sp->policy != SPOOL_FSYNC_NEVER ? FILE_SYNC : 0);
    if (rc < 0)
        log_err("spool: cannot rewrite %s: %s", path, strerror(-rc));
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads every segment, repairing the newest; fills segs, next_seq, stats. */
static int recover(struct spool *sp, struct spool_recovery *rec)
{
    DIR *d = opendir(sp->dir);
    if (!d) {
        int e = errno;
        log_err("spool: cannot read %s: %s", sp->dir, strerror(e));
        return -e;
    }
    uint64_t *names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        char tail[8];
        if (sscanf(de->d_name, "seg-%20" SCNu64 ".%7s", &seq, tail) != 2 ||
            strcmp(tail, "wsp") != 0 || strlen(de->d_name) != 28)
            continue;
        if (n == SPOOL_MAX_SEGMENTS) {
            log_err("spool: %s holds more than %d segments", sp->dir, SPOOL_MAX_SEGMENTS);
            rc = -EMFILE;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nn = reallocarray(names, cap, sizeof(*nn));
            if (!nn) {
                rc = -ENOMEM;
                break;
            }
            names = nn;
        }
        names[n++] = seq;
    }
    closedir(d);
    if (rc == 0 && n)
        qsort(names, n, sizeof(*names), cmp_u64);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        uint8_t *buf = NULL;
        size_t len = 0, good;
        if ((rc = seg_path(sp, names[i], path, sizeof(path))) < 0)
            break;
        if ((rc = file_read_all(path, SIZE_MAX, &buf, &len)) < 0) {
            log_err("spool: cannot read %s: %s", path, strerror(-rc));
            break;
        }
        struct seg s = {names[i], names[i] - 1, 0, 0};
        struct scan sc = {&s, sp->key, NULL, 0, 0, false};
        uint64_t bad = spool_parse(sp->key, buf, len, scan_rec, &sc, &good);
        sp->corrupt += bad;
        if (rec)
            rec->corrupt += bad;
        if (bad && s.records) {
            /* Rewrite the segment with its intact records only, so reads stay simple. */
            log_warn("spool: %s: %" PRIu64 " corrupt record(s) skipped; rewriting it", path,
                     bad);
            memset(&s, 0, sizeof(s));
            s.first_seq = names[i];
            s.last_seq = names[i] - 1;
            sc.img_cap = FILE_MAGIC_LEN;
            sc.img = malloc(FILE_MAGIC_LEN);
            if (sc.img) {
                memcpy(sc.img, FILE_MAGIC, FILE_MAGIC_LEN);
                sc.img_len = FILE_MAGIC_LEN;
                (void)spool_parse(sp->key, buf, len, scan_rec, &sc, &good);
            }
            free(buf);
            if (!sc.img || sc.oom) {
                free(sc.img);
                rc = -ENOMEM;
                break;
            }
            rc = rewrite(sp, path, sc.img, sc.img_len);
            buf = sc.img;
            len = good = sc.img_len;
            if (rc < 0) {
                free(buf);
                break;
            }
        } else if (bad) {
            log_warn("spool: %s: %" PRIu64 " corrupt record(s), nothing intact", path, bad);
        }
        free(buf);
        if (s.records == 0) {
            if (unlink(path) < 0)
                log_warn("spool: cannot delete %s: %s", path, strerror(errno));
            continue;
        }
        s.bytes = len;
        if (i == n - 1 && good < len) {
            /* The newest segment ends in a torn or damaged write: cut it off. */
            if (truncate(path, (off_t)good) < 0) {
                rc = -errno;
                log_err("spool: cannot repair %s: %s", path, strerror(errno));
                break;
            }
            log_warn("spool: %s: cut %zu bytes of unfinished record", path, len - good);
            if (rec)
                rec->truncated_bytes += len - good;
            s.bytes = good;
        }
        if (s.last_seq >= sp->next_seq)
            sp->next_seq = s.last_seq + 1;
        if (rec && s.last_seq > sp->acked)
            rec->records += s.records;
        if ((rc = segs_push(sp, &s)) < 0)
            break;
    }
    free(names);
    /* Segments wholly acknowledged before a crash go now. */
    while (rc == 0 && sp->nsegs && sp->segs[0].last_seq <= sp->acked)
        (void)seg_drop_oldest(sp);
    return rc;
}

int spool_open(const char *dir, const struct keys_identity *id, uint64_t max_bytes,
               enum spool_fsync policy, struct spool **out, struct spool_recovery *rec)
{
    *out = NULL;
    if (rec)
        memset(rec, 0, sizeof(*rec));
    if (max_bytes < SPOOL_MIN_MAX_BYTES) {
        log_err("spool: cap of %" PRIu64 " bytes is below the minimum %llu", max_bytes,
                SPOOL_MIN_MAX_BYTES);
        return -EINVAL;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        log_err("spool: cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    struct spool *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return -ENOMEM;
    sp->dir = strdup(dir);
    sp->wfd = -1;
    sp->rfd = -1;
    sp->lockfd = -1;
    sp->max_bytes = max_bytes;
    sp->seg_bytes = WARD_MIN((uint64_t)SPOOL_SEGMENT_BYTES, max_bytes / 4);
    sp->policy = policy;
    sp->next_seq = 1;
    sp->roff = FILE_MAGIC_LEN;
    if (!sp->dir) {
        free(sp);
        return -ENOMEM;
    }
    /* Two processes on one spool would delete each other's segments. */
    char lpath[4096];
    snprintf(lpath, sizeof(lpath), "%s/%s", dir, LOCK_FILE);
    sp->lockfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        log_err("spool: %s: %s", dir,
                e == EWOULDBLOCK ? "in use by another process" : strerror(e));
        spool_close(sp);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    spool_key(id, sp->key);
    state_read(sp);
    int rc = recover(sp, rec);
    if (rc < 0) {
        spool_close(sp);
        return rc;
    }
    sp->sent_through = sp->acked;
    sp->last_sync_usec = clock_mono_usec();
    *out = sp;
    return 0;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0) {
        if (sp->policy != SPOOL_FSYNC_NEVER)
            (void)fsync(sp->wfd);
        close(sp->wfd);
    }
    if (sp->state_dirty)
        (void)state_write(sp);
    close_rfd(sp);
    if (sp->lockfd >= 0)
        close(sp->lockfd);
    sodium_memzero(sp->key, sizeof(sp->key));
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

uint64_t spool_next_seq(const struct spool *sp)
{
    return sp->next_seq;
}

uint64_t spool_acked(const struct spool *sp)
{
    return sp->acked;
}

/* Opens a new newest segment for a record starting at first_seq. */
static int seg_new(struct spool *sp, uint64_t first_seq)
{
    char path[4096];
    int rc = seg_path(sp, first_seq, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (sp->nsegs == SPOOL_MAX_SEGMENTS) {
        log_err("spool: %s: too many segments", sp->dir);
        return -EMFILE;
    }
    if (sp->wfd >= 0) {
        if (sp->policy != SPOOL_FSYNC_NEVER)
            (void)fsync(sp->wfd);
        close(sp->wfd);
        sp->wfd = -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        log_err("spool: cannot create %s: %s", path, strerror(-rc));
        return rc;
    }
    rc = file_write_all(fd, (const uint8_t *)FILE_MAGIC, FILE_MAGIC_LEN);
    if (rc < 0) {
        log_err("spool: cannot write %s: %s", path, strerror(-rc));
        close(fd);
        unlink(path);
        return rc;
    }
    struct seg s = {first_seq, first_seq - 1, FILE_MAGIC_LEN, 0};
    if ((rc = segs_push(sp, &s)) < 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    sp->wfd = fd;
    if (sp->policy != SPOOL_FSYNC_NEVER)
        sync_dir(sp);
    return 0;
}

int spool_append(struct spool *sp, uint64_t first_seq, uint32_t count, const uint8_t *env,
                 size_t env_len)
{
    WARD_ASSERT(count > 0 && first_seq >= sp->next_seq);
    size_t plain_len = REC_INNER_LEN + env_len;
    size_t ct_len = crypto_secretbox_MACBYTES + plain_len;
    size_t rec_len = REC_HDR_LEN + REC_NONCE_LEN + ct_len;
    if (ct_len > SPOOL_RECORD_MAX_BYTES || rec_len + FILE_MAGIC_LEN > sp->max_bytes) {
        log_err("spool: record of %zu bytes does not fit (cap %" PRIu64 ")", rec_len,
                sp->max_bytes);
        return -EMSGSIZE;
    }
    /* Make room: drop the oldest segments (their unsent messages are counted). */
    while (sp->total_bytes + rec_len > sp->max_bytes && sp->nsegs > 0) {
        if (sp->nsegs == 1 && sp->wfd >= 0 && sp->segs[0].records > 0) {
            /* Only the open segment is left: the record goes to a fresh one. */
            int rc = seg_new(sp, first_seq);
            if (rc < 0)
                return rc;
        }
        struct seg old = sp->segs[0];
        uint64_t lost = seg_drop_oldest(sp);
        if (lost) {
            uint64_t lo = WARD_MAX(sp->acked, old.first_seq - 1) + 1;
            if (!sp->pend_msgs)
                sp->pend_first = lo;
            sp->pend_last = old.last_seq;
            sp->pend_msgs += lost;
            sp->pend_bytes += old.bytes;
            sp->dropped += lost;
            sp->dropped_bytes += old.bytes;
            if (sp->sent_through < old.last_seq)
                sp->sent_through = old.last_seq;
            log_warn("spool: full (%" PRIu64 " bytes): dropped %" PRIu64
                     " unacknowledged messages, seq %" PRIu64 "..%" PRIu64,
                     sp->max_bytes, lost, lo, old.last_seq);
        }
        if (sp->nsegs == 1 && sp->segs[0].records == 0)
            break;
    }
    if (sp->wfd < 0 || sp->nsegs == 0 || sp->segs[sp->nsegs - 1].bytes >= sp->seg_bytes) {
        int rc = seg_new(sp, first_seq);
        if (rc < 0)
            return rc;
    }

    uint8_t *rec = malloc(rec_len);
    if (!rec)
        return -ENOMEM;
    record_build(sp->key, first_seq, count, env, env_len, rec);

    struct seg *s = &sp->segs[sp->nsegs - 1];
    int rc = file_write_all(sp->wfd, rec, rec_len);
    free(rec);
    if (rc < 0) {
        log_err("spool: cannot append to %s: %s", sp->dir, strerror(-rc));
        /* Leave no partial record behind for the next append to follow. */
        if (ftruncate(sp->wfd, (off_t)s->bytes) < 0)
            log_warn("spool: cannot cut back the failed append: %s", strerror(errno));
        return rc;
    }
    s->bytes += rec_len;
    s->records++;
    s->last_seq = first_seq + count - 1;
    sp->total_bytes += rec_len;
    sp->next_seq = first_seq + count;
    sp->state_dirty = true;
    if (sp->policy == SPOOL_FSYNC_ALWAYS) {
        if (fsync(sp->wfd) < 0) {
            rc = -errno;
            log_err("spool: fsync %s: %s", sp->dir, strerror(-rc));
            return rc;
        }
    } else if (sp->policy == SPOOL_FSYNC_BATCH) {
        sp->dirty = true;
    }
    return 0;
}

int spool_ack(struct spool *sp, uint64_t seq)
{
    if (seq <= sp->acked)
        return 0;
    if (seq >= sp->next_seq)
        seq = sp->next_seq - 1; /* never past what was written */
    if (seq <= sp->acked)
        return 0;
    sp->acked = seq;
    if (sp->sent_through < seq)
        sp->sent_through = seq;
    bool deleted = false;
    while (sp->nsegs && sp->segs[0].last_seq <= sp->acked) {
        (void)seg_drop_oldest(sp);
        deleted = true;
    }
    sp->state_dirty = true;
    if (deleted || sp->policy == SPOOL_FSYNC_ALWAYS)
        return state_write(sp);
    return 0;
}

void spool_rewind(struct spool *sp)
{
    sp->rseg = 0;
    sp->roff = FILE_MAGIC_LEN;
    sp->sent_through = sp->acked;
}

static int pread_all(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        got += (size_t)r;
    }
    return 0;
}

int spool_next(struct spool *sp, uint8_t **env, size_t *len, uint64_t *first_seq,
               uint32_t *count)
{
    *env = NULL;
    while (sp->rseg < sp->nsegs) {
        struct seg *s = &sp->segs[sp->rseg];
        if (sp->roff + REC_HDR_LEN + REC_NONCE_LEN > s->bytes) {
            if (sp->rseg + 1 == sp->nsegs)
                return 0; /* at the end of the newest segment */
            sp->rseg++;
            sp->roff = FILE_MAGIC_LEN;
            continue;
        }
        if (sp->rfd < 0 || sp->rfd_seg != sp->rseg) {
            char path[4096];
            close_rfd(sp);
            int rc = seg_path(sp, s->first_seq, path, sizeof(path));
            if (rc < 0)
                return rc;
            sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
            if (sp->rfd < 0) {
                rc = -errno;
                log_err("spool: cannot open %s: %s", path, strerror(-rc));
                return rc;
            }
            sp->rfd_seg = sp->rseg;
        }
        uint8_t hb[REC_HDR_LEN + REC_NONCE_LEN];
        int rc = pread_all(sp->rfd, hb, sizeof(hb), sp->roff);
        if (rc < 0) {
            log_err("spool: cannot read %s: %s", sp->dir, strerror(-rc));
            return rc;
        }
        struct rd r = rd_make(hb, sizeof(hb));
        struct rec_hdr h;
        if (!hdr_read(&r, &h) || sp->roff + sizeof(hb) + h.len > s->bytes) {
            /* Damaged since it was written: give up on the rest of this segment. */
            sp->corrupt++;
            log_warn("spool: damaged record in segment %" PRIu64 "; skipping the segment",
                     s->first_seq);
            sp->roff = s->bytes;
            continue;
        }
        uint64_t at = sp->roff + sizeof(hb);
        sp->roff = at + h.len;
        uint64_t last = h.first_seq + h.count - 1;
        if (last <= sp->sent_through)
            continue;
        uint8_t *ct = malloc(h.len);
        uint8_t *plain = malloc(h.len);
        if (!ct || !plain) {
            free(ct);
            free(plain);
            sp->roff = at - sizeof(hb);
            return -ENOMEM;
        }
        rc = pread_all(sp->rfd, ct, h.len, at);
        long envlen = rc < 0 ? -1 : body_open(sp->key, &h, hb + REC_HDR_LEN, ct, plain);
        free(ct);
        if (envlen < 0) {
            free(plain);
            sp->corrupt++;
            log_warn("spool: record seq %" PRIu64 " fails its check; skipped", h.first_seq);
            continue;
        }
        memmove(plain, plain + REC_INNER_LEN, (size_t)envlen);
        *env = plain;
        *len = (size_t)envlen;
        *first_seq = h.first_seq;
        *count = h.count;
        sp->sent_through = last;
        return 1;
    }
    return 0;
}

int spool_sync(struct spool *sp)
{
    if (sp->policy != SPOOL_FSYNC_BATCH)
        return 0;
    uint64_t now = clock_mono_usec();
    if (!sp->dirty && !sp->state_dirty)
        return 0;
    if (now - sp->last_sync_usec < SPOOL_SYNC_INTERVAL_MS * USEC_PER_MSEC)
        return 0;
    sp->last_sync_usec = now;
    if (sp->dirty && sp->wfd >= 0 && fsync(sp->wfd) < 0) {
        int e = errno;
        log_err("spool: fsync %s: %s", sp->dir, strerror(e));
        return -e;
    }
    sp->dirty = false;
    if (sp->state_dirty)
        return state_write(sp);
    return 0;
}

void spool_stats(const struct spool *sp, struct spool_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->bytes = sp->total_bytes;
    for (size_t i = 0; i < sp->nsegs; i++) {
        const struct seg *s = &sp->segs[i];
        uint64_t lo = WARD_MAX(sp->acked, s->first_seq - 1);
        if (s->last_seq > lo) {
            out->messages += s->last_seq - lo;
            out->records += s->records;
        }
    }
    out->dropped = sp->dropped;
    out->dropped_bytes = sp->dropped_bytes;
    out->drop_first_seq = sp->pend_first;
    out->drop_last_seq = sp->pend_last;
    out->corrupt = sp->corrupt;
}

bool spool_take_drops(struct spool *sp, uint64_t *messages, uint64_t *bytes, uint64_t *first_seq,
                      uint64_t *last_seq)
{
    if (!sp->pend_msgs)
        return false;
    *messages = sp->pend_msgs;
    *bytes = sp->pend_bytes;
    *first_seq = sp->pend_first;
    *last_seq = sp->pend_last;
    sp->pend_msgs = sp->pend_bytes = sp->pend_first = sp->pend_last = 0;
    return true;
}
