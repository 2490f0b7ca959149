/*
 * store_events -- events from sensors, one row per (sensor, event uid), holding the
 * latest revision.  Part of the store family (store.h).  Console thread only.
 */
#ifndef WARD_STORE_EVENTS_H
#define WARD_STORE_EVENTS_H

#include <stdint.h>

#include "console.h"
#include "json.h"
#include "store.h"
#include "ward.pb-c.h"

/*
 * Inserts the event, or updates the row of the same (sensor, uid) when this
 * revision is newer (an older or equal revision, e.g. a resent batch, changes
 * nothing).  *rowid is the event's row id either way.  -EINVAL for an event
 * without uid.  Runs inside the caller's transaction.
 */
WARD_MUST_CHECK int store_events_upsert(struct store *st, const struct msg_origin *o,
                                        const Ward__Event *ev, uint64_t received_usec,
                                        int64_t *rowid);

/*
 * Raises an event made by the console itself (sensor_silent), under the sensor it
 * is about.  Same row rules as store_events_upsert().
 */
WARD_MUST_CHECK int store_events_console(struct store *st, int64_t sensor_id,
                                         const Ward__Event *ev, int64_t *rowid);

struct events_query {
    const char *kind;     /* event kind name ("portscan") or names ("portscan,lateral"), NULL: all */
    uint64_t since_usec;  /* last packet time >= this, 0 for all */
    const char *host;     /* src or dst equals this, NULL for all */
    const char *sensor;   /* sensor name, NULL for all */
    uint64_t limit;       /* at most this many (newest first), 0 for 1000 */
};

#define STORE_EVENTS_DEFAULT_LIMIT 1000
#define STORE_EVENTS_MAX_LIMIT 100000

/*
 * A JSON array of event objects, newest (last packet time) first: the same shape
 * as `ward-sensor -o jsonl` plus "id" (the row id) and "received" (console time).
 */
WARD_MUST_CHECK int store_events_query(struct store *st, const struct events_query *q,
                                       json_t **out);
/* The event of row id as a JSON object; -ENOENT if none. */
WARD_MUST_CHECK int store_events_get(struct store *st, int64_t rowid, json_t **out);
WARD_MUST_CHECK int store_events_count(struct store *st, uint64_t *out);
/* {"portscan": 3, ...}: events per kind, a new object. */
WARD_MUST_CHECK int store_events_count_by_kind(struct store *st, json_t **out);

#endif
