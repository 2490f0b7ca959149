/*
 * decode -- turns captured bytes into a struct pkt, one protocol per file
 * (decode_eth.c, decode_ipv4.c, ... decode_http.c), all reading through struct rd.
 *
 * decode_packet() dispatches on the capture's link type and fills what it finds.
 * Its result speaks for the link, network and transport layers: DECODE_OK means
 * the packet is usable by the flow table and detectors (pkt.layers says how far
 * it got).  Application layers (DNS, DHCP, TLS ClientHello, HTTP request) are
 * decoded only when cheap gates pass (ports, first payload bytes); when one is
 * malformed its anomaly bit is set but the packet stays usable.
 *
 * A malformed or truncated packet is data, not an error: the decoder sets a named
 * anomaly bit (enum pkt_anomaly), returns DECODE_MALFORMED or DECODE_TRUNCATED,
 * and the caller counts it (decode_count) and skips it.  Bytes cut off by the
 * capture's snap length are not an anomaly.  Nothing here allocates, logs or
 * keeps state; every loop has a hard iteration cap.  Any thread.
 */
#ifndef WARD_DECODE_H
#define WARD_DECODE_H

#include <stdint.h>

#include "pkt.h"
#include "rd.h"

enum decode_rc {
    DECODE_OK = 0,      /* usable */
    DECODE_TRUNCATED,   /* a header ran past the captured bytes */
    DECODE_MALFORMED,   /* a field contradicts the spec or an enclosing length */
    DECODE_UNSUPPORTED, /* a link type or ethertype Ward does not decode */
    DECODE_RC_COUNT
};

/* Link types decode_packet() accepts: pcap DLT_ and LINKTYPE_ numbers. */
#define DECODE_LINK_NULL 0        /* BSD loopback, host-order family */
#define DECODE_LINK_ETHERNET 1
#define DECODE_LINK_RAW_DLT 12    /* DLT_RAW as libpcap reports it on Linux */
#define DECODE_LINK_RAW_DLT14 14  /* DLT_RAW on some BSDs */
#define DECODE_LINK_RAW 101       /* LINKTYPE_RAW in files */
#define DECODE_LINK_LOOP 108      /* OpenBSD loopback, network-order family */
#define DECODE_LINK_LINUX_SLL 113
#define DECODE_LINK_IPV4 228
#define DECODE_LINK_IPV6 229
#define DECODE_LINK_LINUX_SLL2 276

/* Counters a capture loop keeps (one per thread; no locking). */
struct decode_stats {
    uint64_t packets;                    /* packets offered */
    uint64_t bytes;                      /* their wire bytes */
    uint64_t rc[DECODE_RC_COUNT];        /* packets by result */
    uint64_t anomalies[ANOM_COUNT];      /* packets by anomaly (a packet may have several) */
};

/*
 * Decodes one captured frame of the given link type into p (reset first).
 * data/caplen are the captured bytes (borrowed: p points into them until the
 * next packet), wirelen the original length.  Returns the L2-L4 result.
 */
enum decode_rc decode_packet(int linktype, const uint8_t *data, uint32_t caplen,
                             uint32_t wirelen, uint64_t ts_usec, struct pkt *p);
/* True if decode_packet() knows the link type. */
bool decode_link_is_supported(int linktype);
/* Adds p's result and anomalies to st. */
void decode_count(struct decode_stats *st, const struct pkt *p, enum decode_rc rc);
/* Counter names for statistics: "ip4_len_past_capture", "truncated"... */
const char *decode_anomaly_name(enum pkt_anomaly a);
const char *decode_rc_name(enum decode_rc rc);

/*
 * The layers, for tests and for each other.  Each reads from r (advancing it),
 * fills its part of p, sets its layer bit on success and, for headers that carry
 * others, calls the next decoder.  L7 decoders read p->payload and never fail
 * the packet.
 */
enum decode_rc decode_eth(struct rd *r, struct pkt *p);
enum decode_rc decode_sll(struct rd *r, struct pkt *p);
enum decode_rc decode_sll2(struct rd *r, struct pkt *p);
enum decode_rc decode_null(struct rd *r, struct pkt *p, bool network_order);
/* After the link header: dispatch on p->ethertype (VLAN tags included). */
enum decode_rc decode_ethertype(struct rd *r, struct pkt *p, uint16_t ethertype);
enum decode_rc decode_arp(struct rd *r, struct pkt *p);
/* Raw IP: the version nibble picks decode_ipv4() or decode_ipv6(). */
enum decode_rc decode_ip(struct rd *r, struct pkt *p);
enum decode_rc decode_ipv4(struct rd *r, struct pkt *p);
enum decode_rc decode_ipv6(struct rd *r, struct pkt *p);
/* After IP: dispatch on p->proto. */
enum decode_rc decode_l4(struct rd *r, struct pkt *p);
enum decode_rc decode_tcp(struct rd *r, struct pkt *p);
enum decode_rc decode_udp(struct rd *r, struct pkt *p);
enum decode_rc decode_icmp(struct rd *r, struct pkt *p);
enum decode_rc decode_icmp6(struct rd *r, struct pkt *p);
/* Application layers over p->payload; gated by decode_app(). */
void decode_app(struct pkt *p);
enum decode_rc decode_dns(struct rd *r, struct pkt *p);
enum decode_rc decode_dhcp(struct rd *r, struct pkt *p);
enum decode_rc decode_tls(struct rd *r, struct pkt *p);
enum decode_rc decode_http(struct rd *r, struct pkt *p);

/* True if the capture cut this packet short (snap length): a short header is then
 * not an anomaly, just the end of what was kept. */
static inline bool decode_snapped(const struct pkt *p)
{
    return p->caplen < p->wirelen;
}

/* Marks a header cut short: an anomaly only when the capture kept the whole packet. */
static inline enum decode_rc decode_short(struct pkt *p, enum pkt_anomaly a)
{
    if (!decode_snapped(p))
        pkt_anomaly(p, a);
    return DECODE_TRUNCATED;
}

/*
 * Reads a DNS name at r (inside message msg, for compression pointers) into out
 * (cap bytes, dotted, lower case, non-printable bytes as \xNN, truncated, always
 * NUL-terminated) and advances r past it.  Pointers must point backwards; at most
 * DECODE_DNS_MAX_JUMPS of them and DECODE_DNS_MAX_LABELS labels.  Sets *labels and
 * *longest (may be NULL) and *binary if a label held non-printable bytes.
 */
#define DECODE_DNS_MAX_JUMPS 16
#define DECODE_DNS_MAX_LABELS 128
enum decode_rc decode_dns_name(struct rd msg, struct rd *r, char *out, size_t cap,
                               uint8_t *labels, uint8_t *longest, bool *binary,
                               struct pkt *p);

#endif
