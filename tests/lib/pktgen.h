/*
 * pktgen -- a small packet builder and pcap writer for tests, tools and capture
 * generators.
 *
 * Every builder writes one complete frame (Ethernet, optional 802.1Q/QinQ tags,
 * IPv4 or IPv6, the transport header and the payload) into a caller buffer, with
 * correct lengths and checksums, and returns its length, or 0 when cap is too
 * small.  The endpoints of a packet travel in a struct pktgen_ep; the address
 * family of ep->src picks IPv4 or IPv6.  With ep->raw_ip the frame starts at the
 * IP header (for LINKTYPE_RAW captures).
 *
 * Application payload builders (DNS, DHCP, TLS ClientHello, HTTP request) write
 * only the L4 payload; pass it to pktgen_udp()/pktgen_tcp().
 *
 * The pcap writer writes classic libpcap files (microsecond timestamps) without
 * libpcap, so generators do not depend on the capture library.  The session
 * helpers write whole exchanges (TCP handshake, data and teardown; DNS query and
 * answer) into a pcap with advancing timestamps.
 *
 * Nothing here keeps global state; a pktgen_rng is a deterministic generator for
 * reproducible synthetic captures.  Not for the packet path: test code only.
 */
#ifndef WARD_PKTGEN_H
#define WARD_PKTGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define PKTGEN_MAX 65600 /* a buffer this size holds any frame pktgen builds */

/* Link types for pktgen_pcap_open() (the LINKTYPE_* numbers of pcap files). */
#define PKTGEN_LINK_NULL 0       /* BSD loopback: 4-byte host-order family */
#define PKTGEN_LINK_ETHERNET 1   /* Ethernet II */
#define PKTGEN_LINK_RAW 101      /* raw IPv4/IPv6 */
#define PKTGEN_LINK_LINUX_SLL 113
#define PKTGEN_LINK_IPV4 228
#define PKTGEN_LINK_IPV6 229
#define PKTGEN_LINK_LINUX_SLL2 276

/* Ethertypes and IP protocol numbers the builders use. */
#define PKTGEN_ETH_IP4 0x0800
#define PKTGEN_ETH_ARP 0x0806
#define PKTGEN_ETH_VLAN 0x8100
#define PKTGEN_ETH_QINQ 0x88a8
#define PKTGEN_ETH_IP6 0x86dd
#define PKTGEN_PROTO_ICMP 1
#define PKTGEN_PROTO_TCP 6
#define PKTGEN_PROTO_UDP 17
#define PKTGEN_PROTO_ICMP6 58

/* TCP flags (same values as pkt.h's TCP_*). */
#define PKTGEN_FIN 0x01
#define PKTGEN_SYN 0x02
#define PKTGEN_RST 0x04
#define PKTGEN_PSH 0x08
#define PKTGEN_ACK 0x10

/* Who a packet goes between, and how it is framed. */
struct pktgen_ep {
    uint8_t src_mac[6];  /* Ethernet source (all zero is fine) */
    uint8_t dst_mac[6];  /* Ethernet destination */
    struct addr src;     /* IP source; its family (4 or 6) picks the IP version */
    struct addr dst;     /* IP destination, same family */
    uint16_t sport;      /* TCP/UDP source port */
    uint16_t dport;      /* TCP/UDP destination port */
    uint16_t vlan;       /* outer 802.1Q VLAN id, 0 for none */
    uint16_t vlan_inner; /* inner tag (QinQ: outer becomes 0x88a8), 0 for none */
    uint8_t ttl;         /* TTL / hop limit; 0 means 64 */
    uint16_t ip_id;      /* IPv4 identification */
    bool raw_ip;         /* no link header: the frame starts at the IP header */
};

/* Fills ep from text addresses ("10.0.0.1" or "2001:db8::1") and ports; MACs derived
 * from the addresses (02:00:<last 4 address bytes>).  Aborts on a bad address: test
 * code only. */
struct pktgen_ep pktgen_ep_make(const char *src, uint16_t sport, const char *dst, uint16_t dport);
/* The same endpoints seen from the other side (addresses, ports and MACs swapped). */
struct pktgen_ep pktgen_ep_reverse(const struct pktgen_ep *ep);

/* ------------------------------------------------------------------ frames */

/*
 * TCP segment: flags PKTGEN_*, seq/ack numbers, payload (may be NULL when len is 0).
 * SYN segments carry the options MSS 1460, SACK-permitted, timestamps, NOP and
 * window scale 7 (a Linux-like fingerprint).  Returns the frame length or 0.
 */
size_t pktgen_tcp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t flags,
                  uint32_t seq, uint32_t ack, const void *payload, size_t len);
/* TCP segment with caller-chosen options bytes (padded to 4 with NOPs, at most 40). */
size_t pktgen_tcp_opts(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t flags,
                       uint32_t seq, uint32_t ack, const uint8_t *opts, size_t opts_len,
                       const void *payload, size_t len);
/* UDP datagram. */
size_t pktgen_udp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, const void *payload,
                  size_t len);
/*
 * ICMP (IPv4 ep) or ICMPv6 (IPv6 ep) message: type, code, then the 4 "rest of
 * header" bytes (echo: id and sequence, big-endian) and body.  Checksum computed.
 */
size_t pktgen_icmp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t type,
                   uint8_t code, uint32_t rest, const void *body, size_t len);
/* Echo request (ICMP 8 / ICMPv6 128) with id, seq and len bytes of pattern payload. */
size_t pktgen_icmp_echo(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint16_t id,
                        uint16_t seq, size_t len);
/* Any IP protocol with a ready-made L4 payload (no checksum work). */
size_t pktgen_ip(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t proto,
                 const void *l4, size_t len);
/*
 * ARP over Ethernet (IPv4): op 1 request, 2 reply.  sha/spa sender, tha/tpa target
 * (host-order IPv4 numbers).  The Ethernet source is sha; the destination is
 * broadcast for requests and tha for replies.  vlan 0 for none.
 */
size_t pktgen_arp(uint8_t *out, size_t cap, uint16_t op, const uint8_t sha[6], uint32_t spa,
                  const uint8_t tha[6], uint32_t tpa, uint16_t vlan);

/* ------------------------------------------------------------------ payloads */

/* DNS query for name (dotted) of qtype (1 A, 28 AAAA, 16 TXT...). Returns length or 0. */
size_t pktgen_dns_query(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t qtype);
/*
 * DNS response: the question, then one answer per address (A or AAAA by family,
 * owner name compressed to the question) with ttl, and the given rcode
 * (0 NOERROR, 3 NXDOMAIN).  n may be 0.
 */
size_t pktgen_dns_response(uint8_t *out, size_t cap, uint16_t id, const char *name,
                           uint16_t qtype, uint8_t rcode, const struct addr *answers, size_t n,
                           uint32_t ttl);
/*
 * DHCP (BOOTP) message: msg_type 1 DISCOVER, 3 REQUEST, 2 OFFER, 5 ACK...; chaddr
 * the client MAC; hostname (option 12), vendor_class (option 60) and requested
 * (option 50, host-order IPv4, 0 for none) are left out when NULL/0.  yiaddr for
 * server replies (host order, 0 otherwise).
 */
size_t pktgen_dhcp(uint8_t *out, size_t cap, uint8_t msg_type, uint32_t xid,
                   const uint8_t chaddr[6], const char *hostname, const char *vendor_class,
                   uint32_t requested, uint32_t yiaddr);
/* TLS 1.2-record ClientHello with a server_name extension for sni (NULL: none). */
size_t pktgen_tls_client_hello(uint8_t *out, size_t cap, const char *sni);
/* "METHOD URI HTTP/1.1\r\nHost: host\r\nUser-Agent: ua\r\n\r\n" (ua NULL: no header). */
size_t pktgen_http_request(uint8_t *out, size_t cap, const char *method, const char *uri,
                           const char *host, const char *user_agent);

/* ------------------------------------------------------------------ pcap files */

struct pktgen_pcap;

/*
 * Creates path (truncating) as a pcap file of the given link type and snaplen
 * (0 means 262144).  "-" writes to stdout.  Returns NULL with errno set on failure.
 */
struct pktgen_pcap *pktgen_pcap_open(const char *path, uint32_t linktype, uint32_t snaplen);
/* The same on an open stream the caller keeps (not closed by pktgen_pcap_close). */
struct pktgen_pcap *pktgen_pcap_fdopen(FILE *f, uint32_t linktype, uint32_t snaplen);
/* Writes one record at ts_usec; caplen = min(len, snaplen), wirelen = len.  0 or -EIO. */
int pktgen_pcap_write(struct pktgen_pcap *w, uint64_t ts_usec, const uint8_t *data, size_t len);
/* Writes a record whose claimed original length is wirelen (for truncated captures). */
int pktgen_pcap_write_len(struct pktgen_pcap *w, uint64_t ts_usec, const uint8_t *data,
                          size_t caplen, uint32_t wirelen);
/* Records written so far. */
uint64_t pktgen_pcap_count(const struct pktgen_pcap *w);
/* Flushes and closes.  0, or -EIO if anything failed to write.  NULL is fine. */
int pktgen_pcap_close(struct pktgen_pcap *w);

/* ------------------------------------------------------------------ sessions */

/*
 * A whole TCP conversation from ep (client) to the reverse (server), written to w:
 * SYN, SYN-ACK, ACK, the request (if req_len > 0) and its ACK, the response in
 * segments of at most 1448 bytes each ACKed, then FIN/ACK both ways.  *ts_usec is
 * the time of the first packet and advances by step_usec per packet; on return it
 * is past the last packet.  Returns packets written, or a negative errno.
 */
int pktgen_session_tcp(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                       const struct pktgen_ep *ep, const void *req, size_t req_len,
                       const void *resp, size_t resp_len);
/*
 * A SYN probe to ep: SYN, then SYN-ACK + RST from the client when open, or RST-ACK
 * from the server when closed.  Returns packets written or a negative errno.
 */
int pktgen_session_syn_probe(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                             const struct pktgen_ep *ep, bool open);
/*
 * A DNS lookup over UDP from ep (client, dport normally 53): query for name/qtype,
 * then a response with the given rcode and answers.  Returns packets written.
 */
int pktgen_session_dns(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                       const struct pktgen_ep *ep, uint16_t id, const char *name,
                       uint16_t qtype, uint8_t rcode, const struct addr *answers, size_t n);

/* ------------------------------------------------------------------ helpers */

/* Internet checksum (RFC 1071) of len bytes, folded, not complemented, added to sum. */
uint32_t pktgen_csum_add(uint32_t sum, const uint8_t *data, size_t len);
/* Folds and complements a running sum into the checksum field value. */
uint16_t pktgen_csum_fold(uint32_t sum);

/* A deterministic pseudo-random generator (splitmix64); seed it with any value. */
struct pktgen_rng {
    uint64_t state; /* advanced by each draw */
};
uint64_t pktgen_rng_next(struct pktgen_rng *r);
/* Uniform in [0, n) (n > 0). */
uint32_t pktgen_rng_below(struct pktgen_rng *r, uint32_t n);

#endif
