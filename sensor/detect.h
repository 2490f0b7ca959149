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
};

/* True if a is inside home_net (or, when home_net is empty, a private address). */
bool detect_is_home(const struct detect_ctx *ctx, const struct addr *a);

#endif
