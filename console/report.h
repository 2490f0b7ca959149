/*
 * report -- the incident disposition report, written from the JSON of
 * incident_show() (incident.h) as Markdown or as a self-contained HTML page.
 *
 * Sections: description (nature, time, place, scope), analysis (cause, impact,
 * risk), measures taken and planned, the full timeline (every audit row of the
 * incident), evidence with hashes, deadline compliance per clock, lessons
 * learned and sign-off.  Labels are English, levels carry their Chinese names
 * (I 特别重大, II 重大, III 较大, IV 一般).  Pure: no store, no clock of its own.
 */
#ifndef WARD_REPORT_H
#define WARD_REPORT_H

#include <stdint.h>

#include "json.h"
#include "ward.h"

enum report_format { REPORT_MD, REPORT_HTML };

/* "md" (or "markdown"), "html".  0 or -EINVAL. */
WARD_MUST_CHECK int report_format_parse(const char *s, enum report_format *out);

/*
 * Writes the report of incident (incident_show()'s object) into *out, a new
 * NUL-terminated string the caller frees.  now_usec is printed as the time the
 * report was made.  0, -EINVAL if incident is not an object, or -ENOMEM.
 */
WARD_MUST_CHECK int report_render(const json_t *incident, enum report_format fmt,
                                  uint64_t now_usec, char **out);

/*
 * The compromised-endpoint report of one host of the incident: what the host
 * did and suffered (its events), what was done about it (timeline rows that name
 * it), its evidence, and the incident's disposition.  -ENOENT if the incident
 * does not involve host.  Otherwise as report_render().
 */
WARD_MUST_CHECK int report_render_endpoint(const json_t *incident, const char *host,
                                           enum report_format fmt, uint64_t now_usec,
                                           char **out);

/* One line describing an audit row of an incident's timeline ("level III -> II: ..."). */
WARD_MUST_CHECK int report_describe(const json_t *audit_row, char *out, size_t cap);

#endif
