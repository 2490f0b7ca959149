/*
 * intel -- the console module that tells sensors what to look for and how hard
 * during an outbreak: indicator pushes (addresses, networks, domains) for the
 * sensors' ioc detector, and heightened mode (every threshold scaled by one
 * factor).
 *
 * A push is a command (command.h) whose id is also the version of the pushed
 * set it makes.  A sensor's pushed set is the latest replace for it (or for
 * every sensor) and every push for either after it; the console keeps them all
 * (store_intel.h), so it can always rebuild the set a sensor should hold.  A
 * sensor in step with the console (its heartbeat reports the previous version)
 * gets the push as an addition on top of that version; any other sensor gets
 * the whole set as a replace.  A sensor that was offline, restarted on an older
 * set or refused an update shows a version the console did not expect in its
 * heartbeat: the tick then sends it the whole set again (at most every
 * INTEL_RESEND_SEC, doubling up to 32 times that while it keeps refusing the
 * whole set), and the same for a mode that differs from the one asked of it.  Every push, mode change, resend and sensor answer goes into the audit
 * log with who and when.
 *
 * Control verbs (args):
 *   intel.push  {addresses, addresses_file, domains, domains_file, replace, sensor}
 *               operator; addresses/domains: file text, one indicator a line,
 *               '#' comments; *_file: the names used in messages
 *   intel.list  {full, limit}                         viewer
 *   mode        {heightened, factor, sensor}          operator
 * Config: [intel] max_entries (default 65536): indicators in one sensor's pushed
 * set, addresses and domains together.  Console thread only.
 */
#ifndef WARD_INTEL_H
#define WARD_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "ward.h"

#define INTEL_DEFAULT_MAX_ENTRIES 65536
#define INTEL_MAX_BYTES (4u << 20) /* text of one sensor's whole pushed set */
#define INTEL_RESEND_SEC 30        /* at most one resend of intel or mode per sensor */
#define INTEL_DEFAULT_FACTOR 0.5   /* heightened mode's factor unless told */

/*
 * The pushed set sensor should hold, as {version, addresses: [...], domains:
 * [...]} (a new reference in *out).  0 or negative errno.
 */
WARD_MUST_CHECK int intel_sensor_set(struct console *c, const char *sensor, json_t **out);

/*
 * Looks at one sensor's last heartbeat and, when its pushed set or mode is not
 * the one asked of it and it has not been sent one within INTEL_RESEND_SEC,
 * sends it again.  Called by the tick for every sensor; exported for tests.
 * Sets *sent to the number of commands sent.  0 or negative errno.
 */
WARD_MUST_CHECK int intel_sync_sensor(struct console *c, const char *sensor, uint64_t now_usec,
                                      int *sent);

/* The module: verbs intel.push, intel.list, mode. */
extern const struct console_module intel_module;

#endif
