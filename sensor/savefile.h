/*
 * savefile -- a direct reader of classic pcap files ("savefiles"), which lends
 * packets straight out of its own buffer instead of copying each one.
 *
 * Specification: draft-ietf-opsawg-pcap and libpcap's sf-pcap.c.  A file is a
 * 24-byte header, then records of a 16-byte header and the captured bytes:
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+---------------+---------------+
 *   |    magic: a1b2c3d4 (usec) or a1b23c4d (nsec), either byte order |
 *   +-------------------------------+-------------------------------+
 *   |        version major (2)      |       version minor (4)       |
 *   +-------------------------------+-------------------------------+
 *   |         thiszone (ignored)    |         sigfigs (ignored)     |
 *   +---------------------------------------------------------------+
 *   |   snaplen   |   linktype (low 26 bits; FCS bits above them)   |
 *   +---------------------------------------------------------------+
 *   record: ts seconds | ts usec or nsec | captured len | wire len | bytes
 *
 * The file is read in chunks of `chunk` bytes with read(2) into one buffer;
 * savefile_next() hands out pointers into it, which stay valid until it returns
 * SAVEFILE_RECYCLE (it is about to reuse the buffer) or the reader is closed.
 * Every record is checked against what was read: a captured length above
 * SAVEFILE_MAX_CAPLEN, or a file that ends inside a record, is an error naming
 * the record's offset.  Values follow libpcap's reading of the same file with
 * microsecond timestamps exactly (sign of 32-bit fields, nanosecond rounding,
 * captured bytes cut at the header's snap length), so that the sensor sees the
 * same packets either way.  Other magics (pcapng, Kuznetzov's variant) and
 * versions other than 2.4 are refused with -EPROTO / -ENOTSUP, for libpcap.
 * Capture thread only.
 */
#ifndef WARD_SAVEFILE_H
#define WARD_SAVEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rd.h"
#include "ward.h"

#define SAVEFILE_HDR_LEN 24         /* file header */
#define SAVEFILE_REC_HDR_LEN 16     /* record header */
#define SAVEFILE_MAX_CAPLEN 262144u /* libpcap's largest captured length (MAXIMUM_SNAPLEN) */
#define SAVEFILE_DEFAULT_CHUNK (256u << 10) /* bytes per read(2) */
#define SAVEFILE_RECYCLE 2 /* savefile_next(): lent packets are about to be reused */

/* The file header, as libpcap interprets it. */
struct savefile_hdr {
    bool big_endian;        /* written big-endian */
    bool swapped;           /* written in the other byte order than this host's */
    bool nsec;              /* nanosecond timestamps (magic a1b23c4d) */
    uint16_t version_major; /* 2 */
    uint16_t version_minor; /* 4 */
    uint32_t snaplen;       /* as written */
    uint32_t snapshot;      /* snaplen as libpcap applies it: 0 or too large means the maximum */
    uint32_t linktype;      /* as written: LINKTYPE_ value in the low 26 bits, FCS bits above */
};

/* One record, as libpcap would report it. */
struct savefile_rec {
    uint64_t ts_usec; /* timestamp in usec since the epoch, as libpcap's microsecond view */
    uint32_t caplen;  /* bytes lent: the stored bytes cut at the snapshot */
    uint32_t stored;  /* bytes stored in the file (the record header's captured length) */
    uint32_t wirelen; /* bytes on the wire (the record header's original length) */
};

enum savefile_rc {
    SAVEFILE_OK,      /* a whole record was read */
    SAVEFILE_SHORT,   /* the input ends inside the record (or before its header) */
    SAVEFILE_TOO_BIG, /* captured length above SAVEFILE_MAX_CAPLEN (rec->stored says how much) */
};

/*
 * Parses the file header at r.  Returns 0, -EPROTO for another magic (pcapng, not
 * a capture), -ENOTSUP for a classic variant this reader leaves to libpcap
 * (Kuznetzov's magic, a version other than 2.4), -ENODATA if r is too short.
 */
WARD_MUST_CHECK int savefile_parse_header(struct rd *r, struct savefile_hdr *out);

/*
 * Parses the record at r.  On SAVEFILE_OK fills rec, points *data at the lent
 * bytes (rec->caplen of them, inside r's input) and advances r past the whole
 * stored record; otherwise r is unchanged.
 */
WARD_MUST_CHECK enum savefile_rc savefile_parse_record(struct rd *r, const struct savefile_hdr *h,
                                                       struct savefile_rec *rec,
                                                       const uint8_t **data);

struct savefile;

/*
 * Reads and parses the header of the file open on fd (at offset 0), and takes the
 * descriptor, which savefile_close() closes (also on failure).  chunk is the size
 * of each read, 0 for SAVEFILE_DEFAULT_CHUNK.  Returns 0, a savefile_parse_header()
 * error, -EIO when reading fails, or -ENOMEM.
 */
WARD_MUST_CHECK int savefile_open(int fd, size_t chunk, struct savefile **out);
void savefile_close(struct savefile *sf);

/* The file header (borrowed, lives as long as sf). */
const struct savefile_hdr *savefile_header(const struct savefile *sf);

/*
 * The next record.  Returns 1 with rec and *data filled (data valid until a call
 * returns SAVEFILE_RECYCLE, or savefile_close()), SAVEFILE_RECYCLE when the
 * buffer holding earlier packets is about to be reused (no record; call again
 * once they are let go), -ENODATA at the end of the file, or -EIO for a read
 * error, a truncated record or an oversized one (savefile_error() says which, and
 * where; every later call returns the same).
 */
WARD_MUST_CHECK int savefile_next(struct savefile *sf, struct savefile_rec *rec,
                                  const uint8_t **data);

/* What the last -EIO was about, with the file offset ("" before any). */
const char *savefile_error(const struct savefile *sf);

#endif
