/*
 * capfile -- classic pcap files built byte by byte in memory, in either byte
 * order and with any field value, so that tests can write the damaged and odd
 * files a pcap writer never would (bad magics, truncated records, captured
 * lengths above the snap length or the maximum, odd timestamps).  Test code only.
 */
#ifndef WARD_CAPFILE_H
#define WARD_CAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPFILE_MAGIC_USEC 0xa1b2c3d4u /* microsecond timestamps */
#define CAPFILE_MAGIC_NSEC 0xa1b23c4du /* nanosecond timestamps */

struct capfile {
    uint8_t *b; /* the bytes */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    bool be;    /* fields are written big-endian */
};

/* A file header (version 2.4) with these fields; aborts when out of memory. */
struct capfile capfile_new(bool be, uint32_t magic, uint32_t snaplen, uint32_t linktype);
void capfile_fini(struct capfile *f);

void capfile_bytes(struct capfile *f, const void *p, size_t n);
void capfile_u16(struct capfile *f, uint16_t v);
void capfile_u32(struct capfile *f, uint32_t v);
/* A record header with these fields, then `incl` bytes fill, fill+1, ... */
void capfile_rec(struct capfile *f, uint32_t sec, uint32_t frac, uint32_t incl, uint32_t orig,
                 uint8_t fill);
/* A record holding the frame data[0, len) whole. */
void capfile_frame(struct capfile *f, uint32_t sec, uint32_t frac, const uint8_t *data, size_t len);

/*
 * Writes the first len bytes of f to a new file under dir named name; returns 0
 * or -errno.  path receives the path (cap bytes).
 */
int capfile_write(const struct capfile *f, size_t len, const char *dir, const char *name,
                  char *path, size_t cap);

#endif
