/*
 * capfile -- see capfile.h.
 */
#include "capfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capfile capfile_new(bool be, uint32_t magic, uint32_t snaplen, uint32_t linktype)
{
    struct capfile f = {NULL, 0, 0, be};
    capfile_u32(&f, magic);
    capfile_u16(&f, 2);
    capfile_u16(&f, 4);
    capfile_u32(&f, 0);
    capfile_u32(&f, 0);
    capfile_u32(&f, snaplen);
    capfile_u32(&f, linktype);
    return f;
}

void capfile_fini(struct capfile *f)
{
    free(f->b);
    memset(f, 0, sizeof(*f));
}

void capfile_bytes(struct capfile *f, const void *p, size_t n)
{
    if (f->len + n > f->cap) {
        size_t cap = (f->len + n) * 2 + 64;
        uint8_t *b = realloc(f->b, cap);
        if (!b)
            abort();
        f->b = b;
        f->cap = cap;
    }
    if (n)
        memcpy(f->b + f->len, p, n);
    f->len += n;
}

void capfile_u16(struct capfile *f, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(f->be ? v >> 8 : v), (uint8_t)(f->be ? v : v >> 8)};
    capfile_bytes(f, x, 2);
}

void capfile_u32(struct capfile *f, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[f->be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
    capfile_bytes(f, x, 4);
}

void capfile_rec(struct capfile *f, uint32_t sec, uint32_t frac, uint32_t incl, uint32_t orig,
                 uint8_t fill)
{
    capfile_u32(f, sec);
    capfile_u32(f, frac);
    capfile_u32(f, incl);
    capfile_u32(f, orig);
    for (uint32_t i = 0; i < incl; i++) {
        uint8_t c = (uint8_t)(fill + i);
        capfile_bytes(f, &c, 1);
    }
}

void capfile_frame(struct capfile *f, uint32_t sec, uint32_t frac, const uint8_t *data, size_t len)
{
    capfile_u32(f, sec);
    capfile_u32(f, frac);
    capfile_u32(f, (uint32_t)len);
    capfile_u32(f, (uint32_t)len);
    capfile_bytes(f, data, len);
}

int capfile_write(const struct capfile *f, size_t len, const char *dir, const char *name,
                  char *path, size_t cap)
{
    if (len > f->len)
        len = f->len;
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    if (!out)
        return -errno;
    int rc = 0;
    if ((len && fwrite(f->b, 1, len, out) != len))
        rc = -EIO;
    if (fclose(out) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}
