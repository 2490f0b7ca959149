/*
 * incident -- the console module that turns events into incidents and carries
 * them through the hospital's response procedure.
 *
 * Correlation (on every stored event, inside the batch's transaction; what a
 * batch changes is kept in memory and written once at its end):
 *   - an event joins an open incident that already involves its source or its
 *     target and was active within [incidents] window (packet time, default 1h);
 *   - a spreading technique joins one campaign incident across hosts and
 *     segments: lateral movement, port scans from internal hosts, beacons to the
 *     same destination, the same indicator (ioc_hit domain or address) or the same
 *     tunnelled domain on several hosts;
 *   - an event that touches several open incidents merges them into the oldest
 *     (the others end in state "merged", pointing at it).
 * A segment is the internal network a host sits in: its /24 for IPv4 and its /64
 * for IPv6 ([incidents] segment_prefix4/6); the sensors that saw the incident are
 * listed beside.  Hosts outside [incidents] home_net are kept but not counted as
 * internal hosts or segments.  Each incident keeps its hosts, segments,
 * techniques, first and last seen and its events.
 *
 * Grading (grade.h) runs whenever an incident grows: Ward only raises a level by
 * itself, and records why; a person may set any level with a reason.  Deadlines
 * (sla.h) run from first detection and escalate through the notifier.
 *
 * Workflow: recorded -> analysing -> containing -> recovering -> review ->
 * closed, one step at a time.  Leaving a step needs what that step produces:
 *   recorded    systems (affected systems), told (who was told)
 *   analysing   cause, scope, risk
 *   containing  a containment action (isolate, or --action TEXT) or a decision
 *               (--decision TEXT, e.g. not to isolate a ventilator's host)
 *   recovering  restored (what was restored), how
 *   review      lessons, followups
 *   closed      signoff (who signs the incident off), given when closing
 * A closed incident may be reopened with a reason.  Every action by a person or
 * by Ward goes into the audit log (audit.h) under object "incident" and the
 * incident's id; that is the incident's timeline.  Events joining an incident
 * are recorded per batch: one "incident.events" row per incident per batch
 * naming them ({count, kinds, events: {sensor: [uid...]}}), or "incident.event"
 * with the event's details when the batch brought it one.  Console thread only.
 */
#ifndef WARD_INCIDENT_H
#define WARD_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "ward.h"

enum incident_state {
    INCIDENT_RECORDED,
    INCIDENT_ANALYSING,
    INCIDENT_CONTAINING,
    INCIDENT_RECOVERING,
    INCIDENT_REVIEW,
    INCIDENT_CLOSED,
    INCIDENT_MERGED, /* folded into another incident; read-only */
    INCIDENT_STATE_COUNT
};

/* "recorded" ... "closed", "merged". */
const char *incident_state_name(enum incident_state s);
/* 0 or -EINVAL. */
WARD_MUST_CHECK int incident_state_parse(const char *s, enum incident_state *out);

/*
 * Records an action taken for an incident by who (a person, or
 * console_ward_actor()): it goes into the audit log as "incident.action" with
 * details {"action": action, ...details}, and so into the timeline and the
 * report.  Actions named isolate, disconnect, block, stop_service or
 * policy_change, or starting with "contain", count as containment actions for
 * the workflow (a dry run does not count: pass "isolate.dry_run").  details is
 * borrowed and may be NULL.  Returns 0, -ENOENT if there is no such incident,
 * -EINVAL for an empty action name, or a store error.
 */
WARD_MUST_CHECK int incident_record_action(struct console *c, int64_t incident,
                                           const struct actor *who, const char *action,
                                           const json_t *details);

/*
 * Writes what correlation keeps in memory for the batch in progress (each
 * incident's row, hosts and audit row are written once per batch, at its end).
 * A module that reads the incident tables while a batch is being stored calls
 * this first.  0 or a store error.
 */
WARD_MUST_CHECK int incident_flush(struct console *c);

/* Deadline notifiers started and not yet ended (their outcome is recorded as
 * incident.notified when they end). */
size_t incident_notifiers_running(struct console *c);

/* 0 if the incident exists (in any state), -ENOENT otherwise. */
WARD_MUST_CHECK int incident_exists(struct console *c, int64_t incident);

/*
 * The whole incident as JSON (what `wardctl incident show --json` prints and the
 * report is written from): fields, hosts, segments, sensors, techniques, events
 * (the first 500), clocks, timeline (the first 5000 rows; timeline_truncated
 * says when there are more) and evidence.  *out is a new reference.  -ENOENT if
 * none.
 */
WARD_MUST_CHECK int incident_show(struct console *c, int64_t incident, json_t **out);

/*
 * A source of evidence items for an incident (the evidence vault): sets *items
 * to a new JSON array of objects with at least "sha256" and optionally "size",
 * "sensor", "hosts", "first", "last", "path".  Registering NULL removes it.
 * Without one, the report lists the evidence hashes the events carry.
 */
typedef int (*incident_evidence_fn)(struct console *c, int64_t incident, json_t **items);
void incident_set_evidence_source(incident_evidence_fn fn);

/* The module (modules.c). */
extern const struct console_module incident_module;

#endif
