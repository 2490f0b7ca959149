/*
 * sensors -- the console module for sensors: enrolment and revocation verbs,
 * sensor liveness (a sensor missing SENSORS_MISSED_BEATS heartbeat intervals
 * raises a sensor_silent event; its return closes it), and the read verbs
 * `sensor.list`, `status` and `events`.
 *
 * Control verbs (args):
 *   sensor.add    {name, pubkey}      admin     pubkey: "curvehex:signhex"
 *   sensor.revoke {name}              operator
 *   sensor.list   {}                  viewer
 *   status        {}                  viewer
 *   events        {kind, since, host, sensor, limit}   viewer
 *                 kind: one kind or several separated by commas
 *                 since: ISO-8601 UTC or relative ("-15m"), or usec (integer)
 * Config: [console] heartbeat_interval (default 10s): the interval sensors are
 * expected to send heartbeats at.  Console thread only.
 */
#ifndef WARD_SENSORS_H
#define WARD_SENSORS_H

#include "console.h"

#define SENSORS_DEFAULT_HEARTBEAT_USEC (10 * 1000000ULL)
#define SENSORS_MISSED_BEATS 3

extern const struct console_module sensors_module;

#endif
