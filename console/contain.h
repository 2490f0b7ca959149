/*
 * contain (console) -- the console module that isolates and releases hosts and
 * orders on-demand captures through the sensors.
 *
 * A command goes, signed (command.h), to the sensors that see the
 * host: those whose events name it, or every connected sensor when none of those
 * is connected.  Safety rails on this side: the never-isolate list ([contain]
 * never_isolate = CIDRs: core clinical servers, gateways, DNS) is refused with a
 * message that says so; every isolation has a time limit ([contain] default_ttl,
 * at most max_ttl) that the sensors enforce and the console records; a dry run
 * goes to the sensors but touches nothing.  Each command, each sensor's
 * CommandResult and each leak report goes into the incident's timeline
 * (incident_record_action()) and so the audit log.
 *
 * Auto-containment ([contain] auto = event kinds, auto_min_level = I..IV; off
 * unless auto is set): when an event of such a kind joins an incident at that
 * level or a more serious one, Ward isolates the event's source by itself,
 * recorded as Ward's own action.  Console thread only.
 *
 * (The sensor's enforcement side is sensor/contain.h; the two share the stem,
 * not code.)
 */
#ifndef WARD_CONSOLE_CONTAIN_H
#define WARD_CONSOLE_CONTAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "command.h"
#include "console.h"
#include "json.h"
#include "ward.h"

#define CONTAIN_COMMAND_LIFETIME_SEC COMMAND_LIFETIME_SEC /* see command.h */

/* An isolate, release or capture request. */
struct contain_req {
    const char *host;      /* address */
    int64_t incident;      /* incident it serves (required for isolate) */
    uint64_t ttl_sec;      /* isolate: time limit, 0 for default_ttl; capture: seconds */
    bool dry_run;          /* isolate: touch nothing */
    bool drill;            /* isolate: part of a drill (no real backend unless allow_real) */
    bool allow_real;       /* isolate: a drill that may touch the real backend */
};

/*
 * Sends the command and records it.  On success *reply is {command_id, host,
 * incident, ttl, dry_run, sensors:[{sensor, status}]}.  Failures return a
 * negative errno with the operator's message in err: -EPERM (never-isolate
 * list), -EINVAL (bad host, missing incident), -ENOENT (no such incident),
 * -ENOTCONN (no sensor connected).
 */
WARD_MUST_CHECK int contain_isolate_host(struct console *c, const struct actor *who,
                                         const struct contain_req *r, json_t **reply,
                                         char *err, size_t errcap);
WARD_MUST_CHECK int contain_release_host(struct console *c, const struct actor *who,
                                         const struct contain_req *r, json_t **reply,
                                         char *err, size_t errcap);
WARD_MUST_CHECK int contain_capture_host(struct console *c, const struct actor *who,
                                         const struct contain_req *r, json_t **reply,
                                         char *err, size_t errcap);

/* The module: verbs isolate, release, isolations, capture. */
extern const struct console_module contain_module;

#endif
