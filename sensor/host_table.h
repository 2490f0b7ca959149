/*
 * host_table -- per-address counters the detectors read: whom a host talks to,
 * on how many ports, how many of its connections fail, and how many bytes it
 * sends compared with its own usual amount.
 *
 * One entry per IP address seen (source or destination), in a pool whose size is
 * fixed by host_table_new(); nothing is allocated afterwards.  When the pool is
 * full the least recently seen host is evicted and counted.  Counters run in
 * windows of packet time (window_usec, default 60 s): the current window's
 * counters grow, and when a packet arrives past the window's end they roll into
 * the prev_* fields and the bytes-out baseline (an exponentially weighted moving
 * average over completed windows).  Distinct peers and ports are estimated with
 * fixed 512-bit linear-counting bitmaps, so a scan of 60,000 ports costs the same
 * 64 bytes as a scan of 6: estimates are exact-ish below ~100 and within a few
 * percent up to ~2,000, and saturate at HOST_DISTINCT_MAX.
 *
 * The capture loop feeds it (host_table_packet after flow_table_update, and
 * host_table_flow_end for every ended flow); detectors only read, through
 * host_table_peek() and the host_* accessors.  Packet and byte counts reach a
 * host through its flows at most a second late (see host_table_packet), which
 * keeps the two host entries out of most packets' way.  Capture thread only.
 */
#ifndef WARD_HOST_TABLE_H
#define WARD_HOST_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flow_table.h"
#include "pkt.h"

#define HOST_TABLE_DEFAULT_CAP 131072           /* hosts */
#define HOST_TABLE_DEFAULT_WINDOW_USEC 60000000 /* 60 s of packet time */
#define HOST_SKETCH_BITS 512                    /* bits per distinct-count sketch */
#define HOST_DISTINCT_MAX 4096                  /* estimates saturate here */

/* A fixed-size distinct-count sketch (linear counting). */
struct host_sketch {
    uint64_t bits[HOST_SKETCH_BITS / 64]; /* one bit per hashed value */
    uint16_t set;                         /* bits set (kept with bits) */
};

struct host {
    struct addr addr;    /* the host's address */
    uint64_t first_usec; /* packet time it was first seen */
    uint64_t last_usec;  /* packet time it was last seen (either direction) */
    uint64_t win_start_usec; /* start of the current window */

    /* Current window (cleared when it rolls). */
    struct host_sketch peers_out; /* distinct addresses it opened flows to */
    struct host_sketch ports_out; /* distinct destination ports it opened flows to */
    struct host_sketch peers_in;  /* distinct addresses that opened flows to it */
    uint32_t flows_out;  /* flows it originated */
    uint32_t flows_in;   /* flows others originated to it */
    uint32_t conn_ok;    /* TCP handshakes it originated that completed */
    uint32_t conn_fail;  /* TCP attempts it originated answered by RST or never answered */
    uint32_t conn_fail_in; /* TCP attempts to it that it refused (RST) */
    uint64_t pkts_out;   /* packets it sent */
    uint64_t pkts_in;    /* packets it received */
    uint64_t bytes_out;  /* IP bytes it sent */
    uint64_t bytes_in;   /* IP bytes it received */

    /* The previous complete window, and the baseline. */
    uint32_t prev_peers_out; /* distinct peers estimate of the previous window */
    uint32_t prev_ports_out; /* distinct ports estimate of the previous window */
    uint32_t prev_conn_fail; /* conn_fail of the previous window */
    uint64_t prev_bytes_out; /* bytes_out of the previous window */
    double bytes_out_ewma;   /* moving baseline of bytes_out per window (alpha 1/8);
                                windows with no traffic count as zero */
    uint32_t windows;        /* completed windows (the baseline's warm-up) */

    uint64_t lru_usec;   /* internal: packet time it last moved to the LRU head */
    uint32_t lru_prev;   /* internal: LRU list */
    uint32_t lru_next;   /* internal: LRU list */
    uint32_t hnext;      /* internal: hash chain */
};

struct host_table;

/*
 * Returns NULL if out of memory.  max_hosts > 0; window_usec > 0 (packet time).
 */
struct host_table *host_table_new(size_t max_hosts, uint64_t window_usec);
void host_table_free(struct host_table *ht);

/*
 * Accounts one decoded IP packet.  f and dir are what flow_table_update()
 * returned.  Packet and byte counts stay in the flow (f->pkts, f->bytes), which
 * every packet touches anyway, and are credited to its two hosts (the sender's
 * *_out, the receiver's *_in) on the flow's first packet, on its first packet
 * each later second of packet time, and when it ends; so a host's counts lag its
 * traffic by at most a second while its flows are active.  On the first packet of
 * a flow the distinct peers/ports sketches and flows_out/flows_in; on the
 * responder's first TCP answer conn_ok / conn_fail.  Other packets touch no host.
 * The flow remembers where its two hosts are (flow.host_slot), so a credit costs
 * no hash lookup.  f may be NULL: then both hosts count the packet at once.
 */
void host_table_packet(struct host_table *ht, const struct pkt *p, struct flow *f, int dir);
/* Latency hiding for loops that decode ahead: prefetches the hosts a flow
 * remembers (f from flow_table_guess(); may be NULL) when its next packet, at
 * packet time now_usec, will touch them.  A hint only. */
void host_table_prefetch_flow(const struct host_table *ht, const struct flow *f,
                              uint64_t now_usec);
/* The same for a packet that starts a flow (none remembers its hosts): stage 0
 * prefetches the hash buckets of a's entry, stage 1 (a few packets later, once
 * the bucket has arrived) the entry it leads to.  A hint only. */
void host_table_prefetch_addr(const struct host_table *ht, const struct addr *a, int stage);
/* Accounts a flow that ended: what it carried since its last credit (in the
 * window of its last packet, if still current), and an attempt never answered
 * counts in conn_fail.  Ended flows are credited in groups (their entries
 * prefetched first), in the order they ended, at the latest by the next
 * host_table_packet() or reader call, or host_table_sync(). */
void host_table_flow_end(struct host_table *ht, const struct flow *f);
/* Credits every ended flow still waiting. */
void host_table_sync(struct host_table *ht);

/*
 * The entry for a, or NULL if the host is not in the table.  Borrowed: valid until
 * the next host_table_packet()/host_table_flow_end().  Counters are as of the
 * host's last credit; a window that ended since then rolls on its next credit (use
 * host_table_window_is_current() to tell).
 */
const struct host *host_table_peek(struct host_table *ht, const struct addr *a);
/* True if h's current window still covers packet time now_usec. */
bool host_table_window_is_current(const struct host_table *ht, const struct host *h,
                                  uint64_t now_usec);

/* Distinct-count estimates of the current window (0..HOST_DISTINCT_MAX). */
uint32_t host_peers_out(const struct host *h);
uint32_t host_ports_out(const struct host *h);
uint32_t host_peers_in(const struct host *h);
/* The estimate of a sketch (exposed for tests and detectors with their own sketches). */
uint32_t host_sketch_estimate(const struct host_sketch *s);
/* Adds a 64-bit hash to a sketch; returns true if it set a new bit. */
bool host_sketch_add(struct host_sketch *s, uint64_t hash);

/* Visits every host (most recently seen first); stops early if fn returns non-zero. */
typedef int (*host_visit_fn)(void *arg, const struct host *h);
int host_table_each(struct host_table *ht, host_visit_fn fn, void *arg);

size_t host_table_count(struct host_table *ht);
uint64_t host_table_evictions(const struct host_table *ht);
size_t host_table_memory(const struct host_table *ht);
uint64_t host_table_window_usec(const struct host_table *ht);

#endif
