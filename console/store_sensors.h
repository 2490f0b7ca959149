/*
 * store_sensors -- enrolled sensors: names, public keys, state, delivery figures.
 * Part of the store family (store.h).  Console thread only.
 */
#ifndef WARD_STORE_SENSORS_H
#define WARD_STORE_SENSORS_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "keys.h"
#include "store.h"
#include "ward.pb-c.h"

#define SENSOR_NAME_MAX 64

struct sensor_row {
    int64_t id;                          /* row id */
    char name[SENSOR_NAME_MAX + 1];      /* enrolled name */
    struct keys_public pub;              /* CURVE and signing public keys */
    bool revoked;                        /* revoked: refused at ZAP and at ingest */
    uint64_t enrolled_usec;              /* when enrolled */
    uint64_t revoked_usec;               /* when revoked, 0 if not */
    uint64_t last_heartbeat_usec;        /* console time of the last heartbeat, 0 if none */
    uint64_t acked_seq;                  /* every seq <= this is stored */
    uint64_t sensor_next_seq;            /* from the last heartbeat */
    uint64_t spool_records;              /* unacknowledged records (from heartbeat) */
    uint64_t spool_dropped;              /* records the sensor's spool dropped (total) */
    uint64_t packets;                    /* from the last heartbeat */
    uint64_t kernel_drops;               /* from the last heartbeat */
    bool silent;                         /* a sensor_silent alarm is open */
    uint64_t silent_since_usec;          /* console time the open alarm was raised, 0 if none */
};

/* Names: 1..64 of [A-Za-z0-9._-].  True if valid. */
bool store_sensors_name_ok(const char *name);

/*
 * -EEXIST if the name or the CURVE key is enrolled already, -EINVAL for a bad name.
 * A revoked name may be enrolled again: the row takes the new keys and, when the
 * CURVE key changed, a fresh sequence (acked_seq 0).
 */
WARD_MUST_CHECK int store_sensors_add(struct store *st, const char *name,
                                      const struct keys_public *pub, uint64_t now_usec);
/* -ENOENT if unknown, -EALREADY if revoked already. */
WARD_MUST_CHECK int store_sensors_revoke(struct store *st, const char *name, uint64_t now_usec);
/* -ENOENT if unknown. */
WARD_MUST_CHECK int store_sensors_by_name(struct store *st, const char *name,
                                          struct sensor_row *out);
WARD_MUST_CHECK int store_sensors_by_id(struct store *st, int64_t id, struct sensor_row *out);
WARD_MUST_CHECK int store_sensors_by_curve(struct store *st,
                                           const uint8_t curve_pk[KEYS_CURVE_LEN],
                                           struct sensor_row *out);
/* Calls fn for each sensor by name; stops if fn returns non-zero and returns that. */
typedef int (*store_sensors_fn)(void *arg, const struct sensor_row *row);
int store_sensors_each(struct store *st, store_sensors_fn fn, void *arg);

WARD_MUST_CHECK int store_sensors_set_acked(struct store *st, int64_t id, uint64_t acked_seq);
/* Records a heartbeat's figures and the console time it arrived. */
WARD_MUST_CHECK int store_sensors_heartbeat(struct store *st, int64_t id, uint64_t now_usec,
                                            const Ward__Heartbeat *hb);
/* Opens (silent, at now_usec) or closes (!silent) the sensor's silence alarm. */
WARD_MUST_CHECK int store_sensors_set_silent(struct store *st, int64_t id, bool silent,
                                             uint64_t now_usec);
/*
 * The last heartbeat's figures as a JSON object (flows, memory, interface,
 * heightened, isolated, counters...), a new reference; an empty object if none.
 */
WARD_MUST_CHECK int store_sensors_heartbeat_json(struct store *st, int64_t id, json_t **out);

#endif
