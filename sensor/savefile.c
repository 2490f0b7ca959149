/*
 * savefile -- see savefile.h.  The buffer holds one chunk plus room for the
 * largest record, so a record cut by the end of a chunk is completed by moving its
 * start to the front and reading on.  Moving and reading overwrite the packets
 * lent before, hence SAVEFILE_RECYCLE first: the caller lets them go, then calls
 * again.  Errors are kept as text for the caller to log with the file's name.
 */
#include "savefile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_USEC 0xa1b2c3d4u      /* microsecond timestamps */
#define MAGIC_NSEC 0xa1b23c4du      /* nanosecond timestamps */
#define MAGIC_KUZNETZOV 0xa1b2cd34u /* longer record headers: left to libpcap */

struct savefile {
    int fd;                  /* the file, read sequentially */
    struct savefile_hdr hdr; /* its header */
    uint8_t *buf;            /* cap bytes: the current chunk */
    size_t cap;              /* chunk + the largest record */
    size_t chunk;            /* bytes per read(2) */
    size_t end;              /* bytes of buf filled */
    struct rd cur;           /* the unread part of buf[0, end) */
    uint64_t buf_off;        /* file offset of buf[0] */
    bool eof;                /* read(2) said end of file */
    bool lent;               /* records lent out of buf since the last SAVEFILE_RECYCLE */
    int err;                 /* sticky error (negative errno), 0 for none */
    char errbuf[192];        /* savefile_error() */
};

static uint32_t swap32(uint32_t v)
{
    return v >> 24 | (v >> 8 & 0xff00u) | (v << 8 & 0xff0000u) | v << 24;
}

WARD_MUST_CHECK static inline bool get16(struct rd *r, bool be, uint16_t *v)
{
    return be ? rd_be16(r, v) : rd_le16(r, v);
}

WARD_MUST_CHECK static inline bool get32(struct rd *r, bool be, uint32_t *v)
{
    return be ? rd_be32(r, v) : rd_le32(r, v);
}

int savefile_parse_header(struct rd *r, struct savefile_hdr *out)
{
    struct rd t = *r;
    struct savefile_hdr h;
    uint32_t magic, thiszone, sigfigs;
    memset(&h, 0, sizeof(h));
    if (rd_left(&t) < SAVEFILE_HDR_LEN || !rd_le32(&t, &magic))
        return -ENODATA;
    if (magic == MAGIC_USEC || magic == MAGIC_NSEC) {
        h.big_endian = false;
    } else if (swap32(magic) == MAGIC_USEC || swap32(magic) == MAGIC_NSEC) {
        h.big_endian = true;
        magic = swap32(magic);
    } else if (magic == MAGIC_KUZNETZOV || swap32(magic) == MAGIC_KUZNETZOV) {
        return -ENOTSUP;
    } else {
        return -EPROTO;
    }
    h.nsec = magic == MAGIC_NSEC;
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    h.swapped = !h.big_endian;
#else
    h.swapped = h.big_endian;
#endif
    if (!get16(&t, h.big_endian, &h.version_major) || !get16(&t, h.big_endian, &h.version_minor) ||
        !get32(&t, h.big_endian, &thiszone) || !get32(&t, h.big_endian, &sigfigs) ||
        !get32(&t, h.big_endian, &h.snaplen) || !get32(&t, h.big_endian, &h.linktype))
        return -ENODATA;
    /* 2.4 is what every writer since 1998 writes; older ones may swap the lengths. */
    if (h.version_major != 2 || h.version_minor != 4)
        return -ENOTSUP;
    h.snapshot =
        h.snaplen == 0 || h.snaplen > SAVEFILE_MAX_CAPLEN ? SAVEFILE_MAX_CAPLEN : h.snaplen;
    *out = h;
    *r = t;
    return 0;
}

/*
 * libpcap widens the 32-bit fields of a file in this host's byte order as signed
 * and of a byte-swapped file as unsigned, and scales nanoseconds down after
 * widening (rounding toward zero); ward then adds seconds and microseconds in
 * 64 bits, wrapping.  Odd values only come from damaged files, but they must
 * give the same packet times whichever reader is used.
 */
static uint64_t ts_usec(const struct savefile_hdr *h, uint32_t sec, uint32_t frac)
{
    int64_t s, f;
    if (h->swapped) {
        s = sec;
        f = h->nsec ? frac / 1000u : frac;
    } else {
        s = (int32_t)sec;
        f = (int32_t)frac;
        if (h->nsec)
            f /= 1000;
    }
    return (uint64_t)s * 1000000u + (uint64_t)f;
}

enum savefile_rc savefile_parse_record(struct rd *r, const struct savefile_hdr *h,
                                       struct savefile_rec *rec, const uint8_t **data)
{
    struct rd t = *r;
    uint32_t sec, frac, incl, orig;
    bool be = h->big_endian;
    if (!get32(&t, be, &sec) || !get32(&t, be, &frac) || !get32(&t, be, &incl) ||
        !get32(&t, be, &orig))
        return SAVEFILE_SHORT;
    rec->stored = incl;
    if (incl > SAVEFILE_MAX_CAPLEN)
        return SAVEFILE_TOO_BIG;
    if (!rd_bytes(&t, incl, data))
        return SAVEFILE_SHORT;
    /* libpcap keeps the first snapshot bytes of a longer record and skips the rest. */
    rec->caplen = incl > h->snapshot ? h->snapshot : incl;
    rec->wirelen = orig;
    rec->ts_usec = ts_usec(h, sec, frac);
    *r = t;
    return SAVEFILE_OK;
}

/* Offset in the file of the next unread byte. */
static uint64_t cur_offset(const struct savefile *sf)
{
    return sf->buf_off + (sf->end - rd_left(&sf->cur));
}

static int fail(struct savefile *sf, const char *fmt, ...) WARD_PRINTF(2, 3);

static int fail(struct savefile *sf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sf->errbuf, sizeof(sf->errbuf), fmt, ap);
    va_end(ap);
    sf->err = -EIO;
    return sf->err;
}

/* Moves the unread bytes to the front of buf and reads up to a chunk after them. */
static int refill(struct savefile *sf)
{
    size_t keep = rd_left(&sf->cur);
    if (keep < sf->end) { /* something was read: move the rest to the front */
        sf->buf_off += sf->end - keep;
        memmove(sf->buf, rd_peek_ptr(&sf->cur), keep);
        sf->end = keep;
    }
    size_t want = sf->cap - sf->end;
    if (want > sf->chunk)
        want = sf->chunk;
    for (;;) {
        ssize_t n = read(sf->fd, sf->buf + sf->end, want);
        if (n > 0) {
            sf->end += (size_t)n;
            break;
        }
        if (n == 0) {
            sf->eof = true;
            break;
        }
        if (errno != EINTR)
            return fail(sf, "read error at offset %" PRIu64 ": %s", sf->buf_off + sf->end,
                        strerror(errno));
    }
    sf->cur = rd_make(sf->buf, sf->end); /* the unread bytes start at buf[0] now */
    return 0;
}

int savefile_open(int fd, size_t chunk, struct savefile **out)
{
    *out = NULL;
    struct savefile *sf = calloc(1, sizeof(*sf));
    if (!sf) {
        close(fd);
        return -ENOMEM;
    }
    sf->fd = fd;
    sf->chunk = chunk ? chunk : SAVEFILE_DEFAULT_CHUNK;
    int rc = -ENOMEM;
    if (sf->chunk > SIZE_MAX / 2)
        goto fail;
    /* After a move the front holds less than one record, so a whole chunk fits behind it. */
    sf->cap = sf->chunk + SAVEFILE_REC_HDR_LEN + SAVEFILE_MAX_CAPLEN;
    sf->buf = malloc(sf->cap);
    if (!sf->buf)
        goto fail;
    sf->cur = rd_make(sf->buf, 0);
    while (rd_left(&sf->cur) < SAVEFILE_HDR_LEN && !sf->eof) {
        if ((rc = refill(sf)) < 0)
            goto fail;
    }
    rc = savefile_parse_header(&sf->cur, &sf->hdr);
    if (rc < 0)
        goto fail;
    *out = sf;
    return 0;
fail:
    savefile_close(sf);
    return rc;
}

void savefile_close(struct savefile *sf)
{
    if (!sf)
        return;
    if (sf->fd >= 0)
        close(sf->fd);
    free(sf->buf);
    free(sf);
}

const struct savefile_hdr *savefile_header(const struct savefile *sf)
{
    return &sf->hdr;
}

const char *savefile_error(const struct savefile *sf)
{
    return sf->errbuf;
}

int savefile_next(struct savefile *sf, struct savefile_rec *rec, const uint8_t **data)
{
    if (sf->err)
        return sf->err;
    for (;;) {
        enum savefile_rc rc = savefile_parse_record(&sf->cur, &sf->hdr, rec, data);
        if (rc == SAVEFILE_OK) {
            sf->lent = true;
            /* The next record's header and first bytes, while the caller works on this one. */
            if (rd_left(&sf->cur) >= 128) {
                __builtin_prefetch(rd_peek_ptr(&sf->cur));
                __builtin_prefetch(rd_peek_ptr(&sf->cur) + 64);
            }
            return 1;
        }
        if (rc == SAVEFILE_TOO_BIG)
            return fail(sf,
                        "record at offset %" PRIu64 ": captured length %" PRIu32
                        " is above the maximum of %u",
                        cur_offset(sf), rec->stored, SAVEFILE_MAX_CAPLEN);
        if (sf->eof) {
            size_t left = rd_left(&sf->cur);
            if (left == 0)
                return -ENODATA;
            if (left < SAVEFILE_REC_HDR_LEN)
                return fail(sf, "truncated record header at offset %" PRIu64 ": %zu of %d bytes",
                            cur_offset(sf), left, SAVEFILE_REC_HDR_LEN);
            return fail(sf,
                        "truncated record at offset %" PRIu64 ": %" PRIu32
                        " captured bytes, only %zu in the file",
                        cur_offset(sf), rec->stored, left - SAVEFILE_REC_HDR_LEN);
        }
        if (sf->lent) {
            sf->lent = false;
            return SAVEFILE_RECYCLE;
        }
        int e = refill(sf);
        if (e < 0)
            return e;
    }
}
