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

/*
 * Indicators pushed by the console (IntelUpdate on the wire), kept apart from the
 * lists the detectors read from files.  All or nothing: an update with one bad
 * item, or one that would pass the configured ceiling, changes nothing.
 */
struct detect_intel {
    const char *const *addresses; /* addresses and CIDRs */
    size_t n_addresses;           /* entries in addresses */
    const char *const *domains;   /* domain names */
    size_t n_domains;             /* entries in domains */
    bool replace;                 /* replace the pushed set instead of adding to it */
    uint64_t version;             /* the console's version of the set after this update; 0 none */
    uint64_t base_version;        /* an addition applies only on top of this version; 0 any */
};

/* The pushed set in force and what happened to updates. */
struct detect_intel_stats {
    uint64_t version;   /* version of the pushed set in force (0: none pushed) */
    uint64_t addresses; /* pushed addresses and networks */
    uint64_t domains;   /* pushed domains */
    uint64_t updates;   /* updates applied */
    uint64_t refused;   /* updates refused (bad item, too many, stale base, disk) */
    uint64_t hits;      /* matches on a pushed indicator */
};

/*
 * What a packet is, for dispatch.  The engine computes once per packet a class:
 * the packet's enum pkt_layer bits as they are (p->layers) and the DETECT_WANT_*
 * bits below, which sit above every layer bit.  A detector says which classes it
 * wants (struct detector's wants) as a mask of both kinds, and its on_packet is
 * called only for packets sharing at least one bit with that mask.
 */
#define DETECT_WANT_FLOW (1ULL << 32)        /* belongs to a flow (f != NULL) */
#define DETECT_WANT_NO_FLOW (1ULL << 33)     /* belongs to none (not IP, or no flow) */
#define DETECT_WANT_ORIG (1ULL << 34)        /* from its flow's originator */
#define DETECT_WANT_RESP (1ULL << 35)        /* from its flow's responder */
#define DETECT_WANT_FIRST (1ULL << 36)       /* first of its flow direction (pkts[dir] == 1) */
#define DETECT_WANT_PAYLOAD (1ULL << 37)     /* carries payload (payload_len > 0) */
#define DETECT_WANT_TCP_CONTROL (1ULL << 38) /* TCP with SYN, FIN or RST, or without ACK */
#define DETECT_WANT_ALL UINT64_MAX           /* every packet */

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
    bool wants_changed;              /* set by a detector: ask its wants() again */
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
    /*
     * Every decoded packet it wants (see wants).  f is its flow (NULL if none),
     * dir FLOW_ORIG/FLOW_RESP.
     */
    void (*on_packet)(void *state, struct detect_ctx *ctx, const struct pkt *p,
                      struct flow *f, int dir);
    /*
     * The packets on_packet is for, as a mask of enum pkt_layer and DETECT_WANT_*
     * bits (a packet is passed when its class shares a bit with the mask); NULL
     * means every packet.  The mask is a filter, not a promise: on_packet still
     * checks what it needs, and the mask only has to cover every packet on
     * which on_packet would do something (change state, report, or write f).
     * The engine asks after init, reload, intel_open and intel, and after any
     * call in which the detector set ctx->wants_changed (what it needs changed
     * with what it learned).
     */
    uint64_t (*wants)(const void *state);
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
    /*
     * Console-pushed indicators; NULL for detectors without lists.  intel_open
     * loads the set persisted under dir (a damaged file is set aside, not fatal);
     * intel applies an update or refuses it, with what happened in detail.
     */
    int (*intel_open)(void *state, const char *dir);
    int (*intel)(void *state, const struct detect_intel *u, char *detail, size_t cap);
    void (*intel_stats)(const void *state, struct detect_intel_stats *out);
    /*
     * Latency hiding; may be NULL.  The capture loop calls it for a packet a few
     * packets before on_packet, at stage 0 and again, later, at stage 1, with
     * the flow the packet probably belongs to (NULL for a new one; at stage 0 its
     * contents may still be on their way).  It prefetches the state on_packet
     * will read, typically keymap_prefetch(); it must change nothing.
     */
    void (*prefetch)(const void *state, const struct pkt *p, const struct flow *f, int stage);
    /*
     * The packets prefetch can do something for, as a mask of enum pkt_layer bits,
     * DETECT_WANT_PAYLOAD and DETECT_WANT_TCP_CONTROL (the flow is only a guess
     * then, so its bits do not count); 0 means every packet.
     */
    uint64_t prefetch_wants;
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

#define DETECT_IOC_PUSHED_FILE "intel.pushed" /* the persisted pushed set, in the state dir */
/*
 * Checks a persisted pushed set (the file's bytes) the way the sensor does at
 * start: format, checksum, counts (at most max_entries), every indicator.
 * 0 with *version and *count set, or -EINVAL.  For tests and fuzzing.
 */
WARD_MUST_CHECK int detect_ioc_pushed_check(const uint8_t *buf, size_t len, uint64_t max_entries,
                                            uint64_t *version, size_t *count);

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
/*
 * The same over another table of detectors (count entries, at most
 * DETECT_TABLE_MAX), for tests of the engine itself.  The table must outlive the
 * engine.
 */
#define DETECT_TABLE_MAX 16
struct detect_engine *detect_engine_new_table(struct config *cfg, const char *home_net_override,
                                              const struct sink *out, struct host_table *hosts,
                                              const struct detector *const *table, size_t count);
void detect_engine_free(struct detect_engine *de);
void detect_engine_packet(struct detect_engine *de, const struct pkt *p, struct flow *f,
                          int dir);
void detect_engine_flow_end(struct detect_engine *de, const struct flow *f);
/* Calls every detector's prefetch hook (see struct detector).  A hint only. */
void detect_engine_prefetch(const struct detect_engine *de, const struct pkt *p,
                            const struct flow *f, int stage);
/* Call about once per second of packet time. */
void detect_engine_tick(struct detect_engine *de, uint64_t now_usec);
/* End of input: final ticks, close and report every open event. */
void detect_engine_flush(struct detect_engine *de, uint64_t now_usec);
/* Heightened mode (console command): thresholds scale by factor (0 < f <= 1). */
void detect_engine_set_heightened(struct detect_engine *de, bool on, double factor);
/* The threshold factor in force: 1.0, or the heightened factor. */
double detect_engine_factor(const struct detect_engine *de);
/*
 * Console-pushed indicators.  detect_engine_intel_open() loads the set persisted
 * in dir (the sensor's spool directory) and keeps later updates there; without it
 * updates live in memory only.  detect_engine_intel() applies an update: 0, or a
 * negative errno (-EINVAL bad item, -E2BIG over the ceiling, -ESTALE an addition
 * to a version the sensor does not have, -EIO cannot persist, -ENOTSUP no
 * detector takes indicators); detail (cap bytes) says what happened either way.
 */
int detect_engine_intel_open(struct detect_engine *de, const char *dir);
int detect_engine_intel(struct detect_engine *de, const struct detect_intel *u, char *detail,
                        size_t cap);
/* The pushed set's figures (zeros when no detector takes indicators). */
void detect_engine_intel_stats(const struct detect_engine *de, struct detect_intel_stats *out);
size_t detect_engine_memory(const struct detect_engine *de);
/* Re-reads every detector's external lists (SIGHUP).  0, or the first error (logged). */
int detect_engine_reload(struct detect_engine *de);
/* Events suppressed because their source is allowlisted. */
uint64_t detect_engine_allowed(const struct detect_engine *de);
/* Entries the detectors' tables evicted when full, all detectors together. */
uint64_t detect_engine_evictions(const struct detect_engine *de);

#endif
