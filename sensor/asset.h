/*
 * asset -- the sensor's passive inventory of the hosts on its segment.
 *
 * From decoded packets it learns, per host (address + VLAN): the MAC (from ARP,
 * IPv6 neighbour discovery and DHCP, which bind an address to a MAC, or from the
 * Ethernet source of its packets when that MAC is not a router's), the vendor of
 * the MAC (oui.h), host names (DHCP option 12, NetBIOS name registrations), the
 * services it offers (TCP ports it answers SYN-ACK on, UDP ports it answers
 * from), an OS family (osfp.h), the TLS server names and HTTP user agents it
 * asks for, and first and last seen in packet time.  Devices that only show a
 * MAC (a DHCP client with no lease in view) are kept by MAC.
 *
 * Which hosts: every source inside home_net (private space when home_net is
 * empty), plus any address the link layer binds to a MAC.  Remote hosts are not
 * assets.  Tables are fixed at creation; when full, the least recently seen
 * entry is evicted and counted.
 *
 * Changes leave as AssetUpdate messages through the sink, at most one per host
 * per update interval of packet time (the first sighting goes at the next
 * tick), a refresh for a host still talking after `refresh`, and everything
 * pending at asset_tracker_flush().  Capture thread only.
 */
#ifndef WARD_ASSET_H
#define WARD_ASSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "flow_table.h"
#include "oui.h"
#include "pkt.h"
#include "sink.h"

#define ASSET_MAX_SERVICES 32   /* services kept per host */
#define ASSET_MAX_NAMES 8       /* TLS names and user agents kept per host (each) */
#define ASSET_NAME_MAX 128      /* bytes kept of a TLS name or user agent */
#define ASSET_DEFAULT_HOSTS 4096
#define ASSET_DEFAULT_INTERVAL_USEC (60ULL * 1000000)   /* 60 s */
#define ASSET_DEFAULT_REFRESH_USEC (3600ULL * 1000000)  /* 1 h */
#define ASSET_MAX_PER_TICK 512  /* updates sent by one tick; the rest wait */

struct asset_opts {
    bool enabled;             /* [assets] enabled (default true) */
    size_t max_hosts;         /* [assets] max_hosts: host table capacity */
    size_t max_macs;          /* [assets] max_macs: MAC table capacity (default 2x hosts) */
    uint64_t interval_usec;   /* [assets] update_interval: least gap between a host's updates */
    uint64_t refresh_usec;    /* [assets] refresh: resend a host still seen after this long */
    const char *oui_dir;      /* [assets] oui_dir: ieee-data folder (NULL: default) */
    bool learn_every_packet;  /* tests: no shortcuts (per-flow memo, skipped tick walks) */
};

/* Defaults, then [assets] of cfg (cfg may be NULL).  0 or -EINVAL (config_error). */
WARD_MUST_CHECK int asset_opts_read(struct config *cfg, struct asset_opts *o);

struct asset_tracker;

/*
 * A tracker sending to out (borrowed; must outlive it).  home may be NULL or empty
 * (private space is home), oui may be NULL (no vendors); both borrowed.  Returns
 * NULL if out of memory.
 */
struct asset_tracker *asset_tracker_new(const struct asset_opts *o, const struct cidr_set *home,
                                        const struct oui_db *oui, const struct sink *out);
/*
 * The sensor's way in: reads [assets] (and [detect] home_net unless
 * home_net_override is given), loads the IEEE registry (a missing registry is
 * logged and leaves vendors empty).  *out is NULL when [assets] enabled = false.
 * Returns 0 or a negative errno (-EINVAL with the message in config_error(cfg)).
 */
WARD_MUST_CHECK int asset_tracker_open(struct config *cfg, const char *home_net_override,
                                       const struct sink *out, struct asset_tracker **tracker);
void asset_tracker_free(struct asset_tracker *t);

/*
 * Every decoded packet (f its flow or NULL, dir FLOW_ORIG/FLOW_RESP).  Also
 * ticks by itself once per second of packet time.  t may be NULL (disabled).
 * Remembers in f (the asset_* fields, zero in a new flow) which entries its
 * sources hold and what was learnt from them, so that later packets of the flow
 * that carry nothing new need no lookup and almost no work.
 */
void asset_tracker_packet(struct asset_tracker *t, const struct pkt *p, struct flow *f, int dir);
/* Latency hiding for loops that decode ahead: prefetches the host and MAC
 * entries flow f remembers for the side packet p comes from (f may be NULL, or
 * a guess; a hint, nothing is changed). */
void asset_tracker_prefetch_flow(const struct asset_tracker *t, const struct pkt *p,
                                 const struct flow *f);
/* For a packet that starts a flow (none remembers its source's slots): stage 0
 * prefetches the hash buckets of the source's host and MAC entries, stage 1 (a
 * few packets later) the entries they lead to.  A hint only. */
void asset_tracker_prefetch_lookup(const struct asset_tracker *t, const struct pkt *p, int stage);
/* Sends what is due as of packet time now_usec (idle live capture).  t may be NULL. */
void asset_tracker_tick(struct asset_tracker *t, uint64_t now_usec);
/* End of input: sends every pending change and a last-seen for every host.  t may be NULL. */
void asset_tracker_flush(struct asset_tracker *t);

struct asset_stats {
    uint64_t hosts;          /* hosts in the table */
    uint64_t macs;           /* MACs in the table */
    uint64_t host_evictions; /* hosts evicted because the table was full */
    uint64_t mac_evictions;  /* MACs evicted */
    uint64_t updates;        /* AssetUpdate messages sent */
    uint64_t send_errors;    /* sink refusals */
    uint64_t dropped_items;  /* services, names or agents not kept (per-host lists full) */
    uint64_t memo_hits;      /* packets learnt from through their flow's memo */
};
void asset_tracker_stats(const struct asset_tracker *t, struct asset_stats *out);
size_t asset_tracker_memory(const struct asset_tracker *t);

/* Recognised protocol name of a service port ("ssh", "dicom"), or NULL. */
const char *asset_port_app(uint8_t proto, uint16_t port);
/* Name of a flow_table application ("http"), or NULL for APP_UNKNOWN. */
const char *asset_flow_app(uint8_t app);

#endif
