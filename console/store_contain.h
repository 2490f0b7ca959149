/*
 * store_contain -- the console's containment tables: response commands sent to
 * sensors, each sensor's result, and the isolation state per host.  Part of the
 * store family (store.h); the logic is in contain.c.  Console thread only.
 *
 *   contain_cmd      one row per command: id, action, host, incident, who, ...
 *   contain_result   (command, sensor) -> sent/ok/failed, detail, backend
 *   contain_host     one row per host ever isolated: state, expiry, leaks
 */
#ifndef WARD_STORE_CONTAIN_H
#define WARD_STORE_CONTAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "ward.h"

struct contain_cmd_row {
    uint64_t id;            /* Command.id */
    char action[16];        /* isolate, release, capture */
    char host[64];          /* address */
    int64_t incident;       /* 0 if none */
    char actor[64];         /* who asked ("ward" for automatic containment) */
    uint64_t issued_usec;   /* console clock */
    uint64_t ttl_sec;       /* isolate: time limit; capture: seconds */
    bool dry_run;           /* touched nothing */
    bool drill;             /* part of a drill */
};

/* Host states: pending (sent), active (a sensor isolated it), failed, released, expired. */
struct contain_host_row {
    char host[64];          /* address */
    char state[16];         /* pending, active, failed, released, expired */
    int64_t incident;       /* incident of the isolating command */
    uint64_t command_id;    /* latest isolate or release command */
    char actor[64];         /* who isolated */
    uint64_t since_usec;    /* when isolated */
    uint64_t expires_usec;  /* automatic release */
    char backend[16];       /* what enforced it (from the result) */
    uint64_t leak_packets;  /* traffic the sensor still saw after isolating */
    uint64_t leak_last_usec;/* packet time of the latest */
    bool dry_run;           /* a dry run (kept for the record only) */
};

WARD_MUST_CHECK int store_contain_init(struct store *st);
/* The next free command id (1 + the largest used). */
WARD_MUST_CHECK int store_contain_next_id(struct store *st, uint64_t *out);
WARD_MUST_CHECK int store_contain_cmd_add(struct store *st, const struct contain_cmd_row *r);
/* -ENOENT if none. */
WARD_MUST_CHECK int store_contain_cmd_get(struct store *st, uint64_t id,
                                          struct contain_cmd_row *out);
/* Records what happened at a sensor: status sent, unreachable, ok or failed. */
WARD_MUST_CHECK int store_contain_result(struct store *st, uint64_t id, const char *sensor,
                                         const char *status, const char *detail,
                                         const char *backend, uint64_t at_usec);
/* 0 if command id was sent to sensor (a result row other than "unreachable"),
 * -ENOENT if not. */
WARD_MUST_CHECK int store_contain_sent_to(struct store *st, uint64_t id, const char *sensor);
/* Sensors a command went to, as a JSON array of {sensor, status, detail, backend}. */
WARD_MUST_CHECK int store_contain_results_json(struct store *st, uint64_t id, json_t **out);

WARD_MUST_CHECK int store_contain_host_put(struct store *st, const struct contain_host_row *h);
/* -ENOENT if none. */
WARD_MUST_CHECK int store_contain_host_get(struct store *st, const char *host,
                                           struct contain_host_row *out);
WARD_MUST_CHECK int store_contain_host_state(struct store *st, const char *host,
                                             const char *state, const char *backend);
WARD_MUST_CHECK int store_contain_host_leak(struct store *st, const char *host, uint64_t packets,
                                           uint64_t last_usec);
/* Hosts in state pending or active whose expiry is at or before now. */
typedef int (*store_contain_host_fn)(void *arg, const struct contain_host_row *h);
int store_contain_hosts_expired(struct store *st, uint64_t now_usec, store_contain_host_fn fn,
                                void *arg);
/* Isolation rows as JSON (all: include released and expired ones), newest first. */
WARD_MUST_CHECK int store_contain_hosts_json(struct store *st, bool all, json_t **out);

#endif
