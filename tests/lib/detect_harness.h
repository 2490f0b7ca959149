/*
 * detect_harness -- drives the detection engine from unit tests: builds decoded
 * packets by hand, keeps a tiny flow table of its own (the shape detectors see
 * from sensor/flow_table), and captures every event the engine sends.
 *
 * Packets are described at the decoded level (struct pkt), so a detector test
 * reads as the traffic it models: "10.0.0.5 SYN to 10.0.0.9:445 at t=3 s".  Time
 * is packet time in the packet; nothing reads the wall clock.  Single-threaded.
 */
#ifndef WARD_DETECT_HARNESS_H
#define WARD_DETECT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

#define HARNESS_MAX_EVENTS 512
#define HARNESS_MAX_FLOWS 8192

struct harness_event {
    char kind[16];       /* wire name */
    char subtype[24];    /* subtype */
    char uid[48];        /* uid */
    char src[48];        /* src */
    char dst[48];        /* dst */
    char src_mac[24];    /* src_mac */
    char domain[256];    /* domain */
    char summary[256];   /* summary */
    unsigned revision;   /* revision */
    bool closed;         /* closed */
    uint64_t count;      /* count */
    uint64_t bytes;      /* bytes */
    unsigned n_ports;    /* ports */
    unsigned n_figures;  /* figures */
};

struct harness;

/*
 * An engine configured by ini (may be NULL or "") with home_net override (may be
 * NULL).  Asserts (cmocka) on failure; the message is printed.
 */
struct harness *harness_new(const char *ini, const char *home_net);
void harness_free(struct harness *h);
/* The config error of the last harness_try_new(), for tests of bad settings. */
const char *harness_error(void);
/* Like harness_new but returns NULL on a config error. */
struct harness *harness_try_new(const char *ini, const char *home_net);
/* The engine under test (for its entry points beyond packets: intel, mode).  Borrowed. */
struct detect_engine *harness_engine(struct harness *h);

/* A packet with src/dst set (text addresses), time in usec, layers IP + proto. */
void harness_ip(struct pkt *p, uint64_t ts_usec, const char *src, const char *dst, uint8_t proto);
/* Feeds p through the harness flow table and the engine. */
void harness_feed(struct harness *h, struct pkt *p);

/* Shorthands that build and feed one packet. */
void harness_tcp(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                 const char *dst, uint16_t dport, uint8_t flags, uint32_t payload_len);
void harness_udp(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                 const char *dst, uint16_t dport, uint32_t payload_len);
/* The same with payload bytes (p->payload) the detectors parse. */
void harness_tcp_data(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                      const char *dst, uint16_t dport, uint8_t flags, const void *data,
                      size_t len);
void harness_udp_data(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                      const char *dst, uint16_t dport, const void *data, size_t len);
void harness_icmp(struct harness *h, uint64_t ts_usec, const char *src, const char *dst,
                  uint8_t type, uint8_t code, uint32_t payload_len);
void harness_arp(struct harness *h, uint64_t ts_usec, uint16_t op, const char *sha,
                 const char *spa, const char *tha, const char *tpa);
/*
 * A whole TCP session: handshake (answered unless refused), data each way in
 * segments of at most 1400 bytes, FIN close; or SYN + RST when refused.  Returns
 * the time of its last packet.
 */
uint64_t harness_session(struct harness *h, uint64_t ts_usec, const char *src, uint16_t sport,
                         const char *dst, uint16_t dport, uint64_t bytes_out, uint64_t bytes_in,
                         bool refused);

/* detect_engine_reload() (SIGHUP). */
int harness_reload(struct harness *h);
/* detect_engine_evictions(). */
uint64_t harness_evictions(const struct harness *h);
/* detect_engine_set_heightened(). */
void harness_heightened(struct harness *h, bool on, double factor);

/* Ends every flow, ticks, flushes the engine at ts_usec. */
void harness_flush(struct harness *h, uint64_t ts_usec);
void harness_tick(struct harness *h, uint64_t ts_usec);

/* Events captured so far (every revision). */
size_t harness_event_count(const struct harness *h);
const struct harness_event *harness_event(const struct harness *h, size_t i);
/* Distinct uids of kind (and src if not NULL). */
size_t harness_uids(const struct harness *h, const char *kind, const char *src);
/* The latest revision of the first event of kind (and src), or NULL. */
const struct harness_event *harness_find(const struct harness *h, const char *kind,
                                         const char *src);
/* Prints every captured event (for debugging a failing test). */
void harness_dump(const struct harness *h);

/* Parses "aa:bb:cc:dd:ee:ff". */
void harness_mac(const char *s, uint8_t out[6]);

#endif
