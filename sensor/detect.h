/*
 * detect -- the detector registry and the interface every detector implements.
 *
 * A detector is a module detect_<name>.c exporting one `const struct detector
 * detect_<name>`; detect.c lists them in an explicit table.  Each gets its own
 * config section [detect.<name>], keeps its own bounded state (with eviction
 * counters), and reports through the event table (event.h), which turns repeated
 * findings about one subject into one event with updated counts.  All time is
 * packet time.  Capture thread only.
 */
#ifndef WARD_DETECT_H
#define WARD_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "flow_table.h"
#include "pkt.h"

struct event_table;
struct host_table;

/* What every detector may read.  Owned by detect.c. */
struct detect_ctx {
    const struct cidr_set *home_net; /* inside addresses; empty means RFC 1918 etc. */
    const struct cidr_set *allow;    /* sources that never raise events (own scanners) */
    double factor;                   /* threshold multiplier: 1.0, lower in heightened mode */
    struct event_table *events;      /* where findings go */
    struct host_table *hosts;        /* per-host counters (may be NULL in unit tests) */
    uint64_t now_usec;               /* packet time of the latest packet */
    bool final;                      /* the end-of-input tick: settle what is pending */
    uint64_t allowed;                /* findings dropped because the source is allowlisted */
};

struct detector {
    const char *name; /* "portscan"; config section [detect.portscan] */
    /*
     * Reads its settings from cfg (section [detect.<name>]) and allocates its
     * state.  Returns 0 or a negative errno; a bad setting leaves its message in
     * config_error(cfg).
     */
    int (*init)(struct config *cfg, void **state);
    void (*fini)(void *state);
    /* Every decoded packet.  f is its flow (NULL if none), dir FLOW_ORIG/FLOW_RESP. */
    void (*on_packet)(void *state, struct detect_ctx *ctx, const struct pkt *p,
                      struct flow *f, int dir);
    /* Every flow that ends. */
    void (*on_flow_end)(void *state, struct detect_ctx *ctx, const struct flow *f);
    /* About once a second of packet time, and once at the end of input. */
    void (*on_tick)(void *state, struct detect_ctx *ctx, uint64_t now_usec);
    /* Bytes of memory its state holds. */
    size_t (*memory)(const void *state);
    /* Re-reads external lists (SIGHUP); may be NULL.  0 or a negative errno. */
    int (*reload)(void *state);
    /* Entries its tables dropped to make room (LRU evictions); may be NULL. */
    uint64_t (*evictions)(const void *state);
};

/*
 * Owners of struct flow's det[] scratch words (zero when a flow is created):
 * det[0] beacon (last client packet time), det[1] lateral (SMB/RPC facts of the
 * flow), det[2] and det[3] exfil (payload already counted, per direction).
 */

/* The detectors (detect_<name>.c), listed in detect.c's table. */
extern const struct detector detect_portscan;
extern const struct detector detect_bruteforce;
extern const struct detector detect_beacon;
extern const struct detector detect_dns_tunnel;
extern const struct detector detect_exfil;
extern const struct detector detect_flood;
extern const struct detector detect_lateral;
extern const struct detector detect_arp_spoof;
extern const struct detector detect_ioc;

/*
 * Hands a finding to the event table unless its source is allowlisted.  Detectors
 * call this rather than event_table_report().  Returns 0 or the sink's error.
 */
struct event_report;
int detect_report(struct detect_ctx *ctx, const struct event_report *r);
/* True if ctx's event table holds an open event for r's (kind, subject). */
bool detect_is_reported(const struct detect_ctx *ctx, const struct event_report *r);
/* A count or size threshold scaled by the heightened-mode factor (threshold * factor). */
double detect_scaled(const struct detect_ctx *ctx, double threshold);

/* True if a is inside home_net (or, when home_net is empty, a private address). */
bool detect_is_home(const struct detect_ctx *ctx, const struct addr *a);

/*
 * The engine: every detector of the table in detect.c, fed by the capture loop.
 * detect_engine_new() reads [detect] (home_net, allow, heightened_factor) and each
 * [detect.<name>] section of cfg; a bad setting returns NULL with the message in
 * config_error(cfg).  home_net_override (--home-net) replaces [detect] home_net
 * when not NULL.  Findings go to out.  hosts may be NULL.
 */
struct sink;
struct detect_engine;
struct detect_engine *detect_engine_new(struct config *cfg, const char *home_net_override,
                                        const struct sink *out, struct host_table *hosts);
void detect_engine_free(struct detect_engine *de);
void detect_engine_packet(struct detect_engine *de, const struct pkt *p, struct flow *f,
                          int dir);
void detect_engine_flow_end(struct detect_engine *de, const struct flow *f);
/* Call about once per second of packet time. */
void detect_engine_tick(struct detect_engine *de, uint64_t now_usec);
/* End of input: final ticks, close and report every open event. */
void detect_engine_flush(struct detect_engine *de, uint64_t now_usec);
/* Heightened mode (console command): thresholds scale by factor (0 < f <= 1). */
void detect_engine_set_heightened(struct detect_engine *de, bool on, double factor);
size_t detect_engine_memory(const struct detect_engine *de);
/* Re-reads every detector's external lists (SIGHUP).  0, or the first error (logged). */
int detect_engine_reload(struct detect_engine *de);
/* Events suppressed because their source is allowlisted. */
uint64_t detect_engine_allowed(const struct detect_engine *de);
/* Entries the detectors' tables evicted when full, all detectors together. */
uint64_t detect_engine_evictions(const struct detect_engine *de);

#endif
