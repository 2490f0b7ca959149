/*
 * event_json -- the one JSON shape of a Ward event, used by `ward-sensor -o jsonl`,
 * the console's store and `wardctl events --json`.
 *
 *   {"kind":"portscan","subtype":"vertical","uid":"...","revision":3,
 *    "sensor":"edge-1","src":"10.1.2.3","dst":"10.1.9.9","src_mac":"",
 *    "proto":6,"ports":[22,80],"first":"2026-...Z","last":"2026-...Z",
 *    "first_usec":...,"last_usec":...,"packets":..,"bytes":..,"count":..,
 *    "severity":60,"confidence":90,"summary":"...","figures":{"targets":212,...},
 *    "targets":[...],"domain":"","evidence":[...],"vlan":0,"closed":false}
 */
#ifndef WARD_EVENT_JSON_H
#define WARD_EVENT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"
#include "ward.pb-c.h"

/* Event kind as its wire name ("portscan", "dns_tunnel"...); "unknown" otherwise. */
const char *event_kind_name(Ward__EventKind kind);
/* Parses a wire name; returns WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED if unknown. */
Ward__EventKind event_kind_parse(const char *name);

/* A new JSON object for ev (sensor may be NULL: offline mode).  NULL if out of memory. */
json_t *event_json(const Ward__Event *ev, const char *sensor);

/*
 * A growing text buffer for event_json_text().  The caller may start it on its
 * own storage (data/cap, owned false) so the common case allocates nothing;
 * once it outgrows that, it moves to the heap and event_json_buf_fini() frees it.
 */
struct event_json_buf {
    char *data;                 /* NUL-terminated text */
    size_t len;                 /* bytes before the NUL */
    size_t cap;                 /* bytes available at data */
    bool owned;                 /* data is heap memory of ours */
};

/*
 * Writes ev's compact JSON text into b (replacing what it held), byte for byte
 * what json_dumps(event_json(ev, sensor), JSON_COMPACT) gives, without building
 * the tree: the store writes one per event.  0 or -ENOMEM.
 */
int event_json_text(const Ward__Event *ev, const char *sensor, struct event_json_buf *b);
void event_json_buf_fini(struct event_json_buf *b);

#endif
