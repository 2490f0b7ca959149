/*
 * rd -- a bounds-checked cursor over untrusted bytes (after BoringSSL's CBS).
 *
 * Every read off a wire or a disk goes through one of these.  A getter reads all
 * it was asked for and advances, or reads nothing and returns false.  No pointer
 * arithmetic on input buffers happens outside this header.  Header-only; a struct
 * rd is plain data and travels by value.
 */
#ifndef WARD_RD_H
#define WARD_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward.h"

struct rd {
    const uint8_t *p; /* next unread byte */
    size_t left;      /* bytes that may still be read from p */
};

static inline struct rd rd_make(const uint8_t *buf, size_t len)
{
    struct rd r = {buf, buf ? len : 0};
    return r;
}

static inline size_t rd_left(const struct rd *r)
{
    return r->left;
}

static inline const uint8_t *rd_peek_ptr(const struct rd *r)
{
    return r->p;
}

WARD_MUST_CHECK static inline bool rd_u8(struct rd *r, uint8_t *out)
{
    if (r->left < 1)
        return false;
    *out = r->p[0];
    r->p++;
    r->left--;
    return true;
}

WARD_MUST_CHECK static inline bool rd_be16(struct rd *r, uint16_t *out)
{
    if (r->left < 2)
        return false;
    *out = (uint16_t)((unsigned)r->p[0] << 8 | r->p[1]);
    r->p += 2;
    r->left -= 2;
    return true;
}

WARD_MUST_CHECK static inline bool rd_le16(struct rd *r, uint16_t *out)
{
    if (r->left < 2)
        return false;
    *out = (uint16_t)((unsigned)r->p[1] << 8 | r->p[0]);
    r->p += 2;
    r->left -= 2;
    return true;
}

WARD_MUST_CHECK static inline bool rd_be32(struct rd *r, uint32_t *out)
{
    if (r->left < 4)
        return false;
    *out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
           (uint32_t)r->p[3];
    r->p += 4;
    r->left -= 4;
    return true;
}

WARD_MUST_CHECK static inline bool rd_le32(struct rd *r, uint32_t *out)
{
    if (r->left < 4)
        return false;
    *out = (uint32_t)r->p[3] << 24 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[1] << 8 |
           (uint32_t)r->p[0];
    r->p += 4;
    r->left -= 4;
    return true;
}

WARD_MUST_CHECK static inline bool rd_be64(struct rd *r, uint64_t *out)
{
    uint32_t hi, lo;
    if (r->left < 8)
        return false;
    if (!rd_be32(r, &hi) || !rd_be32(r, &lo))
        return false;
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

WARD_MUST_CHECK static inline bool rd_le64(struct rd *r, uint64_t *out)
{
    uint32_t hi, lo;
    if (r->left < 8)
        return false;
    if (!rd_le32(r, &lo) || !rd_le32(r, &hi))
        return false;
    *out = (uint64_t)hi << 32 | lo;
    return true;
}

WARD_MUST_CHECK static inline bool rd_skip(struct rd *r, size_t n)
{
    if (r->left < n)
        return false;
    r->p += n;
    r->left -= n;
    return true;
}

/* Borrows n bytes; *out points into the input and lives as long as it does. */
WARD_MUST_CHECK static inline bool rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
    if (r->left < n)
        return false;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

WARD_MUST_CHECK static inline bool rd_copy(struct rd *r, void *out, size_t n)
{
    if (r->left < n)
        return false;
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

/* Carves the next n bytes off r into sub (a length-prefixed field, a header's payload). */
WARD_MUST_CHECK static inline bool rd_sub(struct rd *r, size_t n, struct rd *sub)
{
    if (r->left < n)
        return false;
    sub->p = r->p;
    sub->left = n;
    r->p += n;
    r->left -= n;
    return true;
}

/* Reads byte at offset off without consuming; false if past the end. */
WARD_MUST_CHECK static inline bool rd_peek_u8(const struct rd *r, size_t off, uint8_t *out)
{
    if (off >= r->left)
        return false;
    *out = r->p[off];
    return true;
}

/* Offset of the first byte equal to c in the unread bytes (not consumed); false if none. */
WARD_MUST_CHECK static inline bool rd_find(const struct rd *r, uint8_t c, size_t *off)
{
    const uint8_t *hit = r->left ? (const uint8_t *)memchr(r->p, c, r->left) : NULL;
    if (!hit)
        return false;
    *off = (size_t)(hit - r->p);
    return true;
}

/* A reader over the same input starting at absolute offset off of base (DNS pointers). */
WARD_MUST_CHECK static inline bool rd_at(struct rd base, size_t off, struct rd *out)
{
    if (off > base.left)
        return false;
    out->p = base.p + off;
    out->left = base.left - off;
    return true;
}

/* Offset of r's position from the start of base (r must be a later state of base). */
static inline size_t rd_offset(const struct rd *base, const struct rd *r)
{
    return base->left - r->left;
}

#endif
