/*
 * asset_json -- the one JSON shape of a passive asset update, used by
 * `ward-sensor -r FILE --assets` (one line per update) and by tools comparing
 * inventories offline.
 *
 *   {"type":"asset","ip":"10.1.2.3","mac":"00:0c:29:59:fd:21","vendor":"VMware, Inc.",
 *    "hostname":"ubuntu2","hostname_source":"dhcp","os":"linux","ttl":64,
 *    "services":[{"proto":"tcp","port":22,"app":"ssh"}],"tls_names":[...],
 *    "user_agents":[...],"dhcp_vendor_class":"","vlan":0,"first":"...Z",
 *    "last":"...Z","first_usec":...,"last_usec":...,"is_new":true,"gone":false}
 */
#ifndef WARD_ASSET_JSON_H
#define WARD_ASSET_JSON_H

#include "json.h"
#include "ward.pb-c.h"

/* A new JSON object for a (sensor may be NULL: offline mode).  NULL if out of memory. */
json_t *asset_json(const Ward__AssetUpdate *a, const char *sensor);

/* "tcp", "udp" or the number as text for other protocols (buf of >= 4 bytes). */
const char *asset_json_proto(unsigned proto, char *buf, size_t cap);

#endif
