/*
 * capture -- where packets come from: a live interface or a capture file, through
 * libpcap.  The only file of Ward that includes <pcap.h>.
 *
 * Live capture sets snap length, kernel buffer size, promiscuous and immediate
 * mode and an optional BPF filter before activation; files may be pcap or pcapng
 * of any link type decode.h knows (Ethernet, Linux cooked v1/v2, raw IP,
 * loopback), read with microsecond timestamps.  With replay_speed > 0 a file is
 * paced by its own timestamps (1 = as recorded, 10 = ten times faster), for
 * drills; otherwise it is read as fast as possible.
 *
 * A classic pcap file (not standard input) is read by savefile.c in large
 * chunks, and its packets are lent out of that buffer: they stay valid until
 * capture_next() returns CAPTURE_RECYCLE, so the caller need not copy them
 * (capture_pkt.stable).  libpcap still opens the file, so that errors, link type
 * and snap length are its own, and compiles the filter, which is run with
 * pcap_offline_filter() as libpcap runs it on files.  Live captures, pcapng,
 * standard input and, with libpcap_files, every file go through libpcap, whose
 * packets live until the next capture_next().  Capture thread only.
 */
#ifndef WARD_CAPTURE_H
#define WARD_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "ward.h"

#define CAPTURE_DEFAULT_SNAPLEN 262144
#define CAPTURE_DEFAULT_TIMEOUT_MS 100

struct capture_opts {
    const char *iface;      /* live interface name, or NULL */
    const char *file;       /* capture file ("-" is stdin), or NULL; exactly one is set */
    const char *filter;     /* BPF expression, NULL or "" for none */
    uint32_t snaplen;       /* bytes kept per packet; 0 means CAPTURE_DEFAULT_SNAPLEN */
    uint32_t buffer_bytes;  /* kernel buffer size; 0 keeps libpcap's default */
    bool promisc;           /* promiscuous mode (live) */
    bool immediate;         /* deliver packets at once rather than in batches (live) */
    int timeout_ms;         /* live read timeout; 0 means CAPTURE_DEFAULT_TIMEOUT_MS */
    double replay_speed;    /* pace a file by its timestamps at this speed; 0 flat out */
    bool libpcap_files;     /* read files through libpcap only, never the direct reader */
};

/*
 * One captured packet.  data is borrowed until the next capture_next(), or, when
 * stable is set, until capture_next() returns CAPTURE_RECYCLE (or capture_close()).
 */
struct capture_pkt {
    const uint8_t *data; /* captured bytes */
    uint32_t caplen;     /* bytes captured */
    uint32_t wirelen;    /* bytes on the wire */
    uint64_t ts_usec;    /* capture timestamp, usec since the epoch */
    bool stable;         /* data outlives the next capture_next(): see above */
};

#define CAPTURE_RECYCLE 2 /* capture_next(): stable packets are about to be overwritten */

struct capture;

/*
 * Opens and activates the source and installs the filter.  Returns 0, or a
 * negative errno after logging libpcap's message (-ENOENT for a missing file,
 * -EPERM for a permission problem, -EINVAL for a bad filter or unsupported link
 * type, -EIO otherwise).
 */
WARD_MUST_CHECK int capture_open(const struct capture_opts *o, struct capture **out);
void capture_close(struct capture *c);

/*
 * Reads the next packet.  Returns 1 with *out filled, 0 when a live read timed
 * out, CAPTURE_RECYCLE (no packet) when the buffer behind the stable packets
 * lent so far is about to be reused: the caller lets go of them and calls again;
 * -ENODATA at the end of a file (or when capture_stop() was called while
 * reading a file), or a negative errno (logged: -EIO for a damaged file).
 */
WARD_MUST_CHECK int capture_next(struct capture *c, struct capture_pkt *out);

/* Asks a blocking capture_next() to return soon; async-signal-safe. */
void capture_stop(struct capture *c);

/* The link type (a DLT value) for decode_packet(). */
int capture_linktype(const struct capture *c);
/* True for a live interface. */
bool capture_is_live(const struct capture *c);
/* True when a file is read by the direct reader (stable packets), not libpcap. */
bool capture_is_direct(const struct capture *c);
/* "eth0" or the file name (borrowed). */
const char *capture_source(const struct capture *c);

/* Kernel counters of a live capture: packets dropped (ps_drop + ps_ifdrop). */
struct capture_stats {
    uint64_t received; /* ps_recv */
    uint64_t dropped;  /* ps_drop + ps_ifdrop */
};
/* 0, or -ENOTSUP for files; counters are 0 then. */
int capture_stats(struct capture *c, struct capture_stats *out);

#endif
