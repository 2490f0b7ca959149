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

#include "json.h"
#include "ward.pb-c.h"

/* Event kind as its wire name ("portscan", "dns_tunnel"...); "unknown" otherwise. */
const char *event_kind_name(Ward__EventKind kind);
/* Parses a wire name; returns WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED if unknown. */
Ward__EventKind event_kind_parse(const char *name);

/* A new JSON object for ev (sensor may be NULL: offline mode).  NULL if out of memory. */
json_t *event_json(const Ward__Event *ev, const char *sensor);

#endif
