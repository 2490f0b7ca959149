/*
 * evring -- the evidence ring: the most recent packets the sensor captured, kept
 * whole (up to the snap length) so that an event can take the packets from before
 * it fired.
 *
 * Memory is fixed by evring_new(): a byte area for packet data and a table of
 * record descriptors, both allocated once.  evring_add() never allocates; it
 * overwrites the oldest records when either is full, and drops records older than
 * the time window (packet time) as newer ones arrive.  Overwrites are counted.
 *
 * Taps: modules that must see every packet as it arrives (evidence recording its
 * post-trigger window, containment watching isolated hosts) register a callback
 * that evring_add() calls after storing the packet.  evring_frame_addrs() finds a
 * frame's IP addresses for them without the full decoder.  Capture thread only.
 */
#ifndef WARD_EVRING_H
#define WARD_EVRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ward.h"

#define EVRING_MIN_BYTES (64u << 10)  /* smallest ring evring_new() accepts */
#define EVRING_MAX_TAPS 4             /* callbacks per ring */
#define EVRING_AVG_PACKET 256         /* bytes per descriptor when sizing the table */

/* Link types (pcap LINKTYPE_*) evring_frame_addrs() understands. */
#define EVRING_LINK_NULL 0
#define EVRING_LINK_ETHERNET 1
#define EVRING_LINK_RAW 101
#define EVRING_LINK_LINUX_SLL 113
#define EVRING_LINK_IPV4 228
#define EVRING_LINK_IPV6 229
#define EVRING_LINK_LINUX_SLL2 276

/* One stored packet, borrowed by a visitor or a tap for the duration of the call. */
struct evring_rec {
    uint64_t ts_usec;     /* capture time (packet time) */
    uint32_t caplen;      /* bytes in data */
    uint32_t wirelen;     /* bytes on the wire */
    const uint8_t *data;  /* the captured bytes */
};

struct evring;

/* Called for each packet evring_add() stores (or would store: see evring_add). */
typedef void (*evring_tap_fn)(void *arg, const struct evring_rec *rec);
/* Visits records oldest first; a non-zero return stops the walk. */
typedef int (*evring_visit_fn)(void *arg, const struct evring_rec *rec);

/*
 * A ring of at most `bytes` bytes in total (data and descriptors) holding at most
 * `window_usec` of packet time (0: no time limit), for frames of `linktype`.
 * Returns NULL if bytes < EVRING_MIN_BYTES or out of memory.
 */
struct evring *evring_new(size_t bytes, uint64_t window_usec, int linktype);
void evring_free(struct evring *r);

/* The link type given at creation (for pcap headers). */
int evring_linktype(const struct evring *r);

/*
 * Stores one packet, overwriting the oldest as needed, then calls each tap.  A
 * packet larger than a quarter of the data area is stored truncated (caplen
 * shrinks, wirelen stays).  Never allocates.
 */
void evring_add(struct evring *r, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen);

/* Registers a tap.  0, or -ENOSPC when EVRING_MAX_TAPS are registered. */
WARD_MUST_CHECK int evring_tap(struct evring *r, evring_tap_fn fn, void *arg);

/*
 * Visits every stored record with ts_usec >= since_usec, oldest first.  Returns
 * what the visitor returned to stop the walk, or 0.
 */
int evring_each(struct evring *r, uint64_t since_usec, evring_visit_fn fn, void *arg);

/* Figures for heartbeats and tests. */
struct evring_stats {
    uint64_t added;        /* packets stored since creation */
    uint64_t overwritten;  /* records dropped to make room (space or descriptors) */
    uint64_t expired;      /* records dropped for being older than the window */
    uint64_t truncated;    /* packets stored shorter than captured */
    size_t records;        /* records held now */
    size_t data_bytes;     /* packet bytes held now */
    size_t memory;         /* bytes allocated (fixed) */
};
void evring_get_stats(const struct evring *r, struct evring_stats *out);

/*
 * The IP source and destination of a frame of `linktype` (Ethernet with VLAN
 * tags, Linux cooked v1/v2, raw IP, BSD loopback).  Returns false (and leaves
 * family 0) when the frame carries no IP header that could be read.
 */
bool evring_frame_addrs(int linktype, const uint8_t *data, size_t caplen, struct addr *src,
                        struct addr *dst);

#endif
