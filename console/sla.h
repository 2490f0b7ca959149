/*
 * sla -- the response deadlines of an incident and the notifier that escalates
 * them.
 *
 * Three clocks run for every incident from its first detection (console time):
 *   director    report to the IT director       met by `incident ack` or
 *                                                `incident notify --to director`
 *   leadership  report to the hospital leadership  met by `incident notify --to leadership`
 *   handling    start of handling               met when the incident reaches
 *                                                containing (or a later step)
 * How long each may take depends on the level (the design brief's table; the
 * [deadlines] section overrides it).  A deadline may be a duration, "0" (at once:
 * due on detection), "eod" (end of the local day of detection) or "none" (no
 * such clock at that level).  A grade change recomputes the deadlines from the
 * same detection time.
 *
 * When a clock is about to pass ([deadlines] warn_before, default 5m) and when it
 * has passed, the notifier runs once per (incident, clock, stage): the program
 * in [notify] command, with the notice as JSON on its standard input
 * (sla_notice_json() in incident.c builds it; docs/operator-guide.md shows it).
 * The console waits for it at most [notify] timeout, then kills it.  Console
 * thread only.
 */
#ifndef WARD_SLA_H
#define WARD_SLA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "json.h"
#include "ward.h"

enum sla_clock { SLA_DIRECTOR, SLA_LEADERSHIP, SLA_HANDLING, SLA_CLOCK_COUNT };
enum sla_stage { SLA_STAGE_WARNING, SLA_STAGE_OVERDUE, SLA_STAGE_COUNT };

#define SLA_NO_CLOCK INT64_C(-1)   /* deadline setting: no such clock at this level */
#define SLA_END_OF_DAY INT64_C(-2) /* deadline setting: end of the local day */

struct sla_config {
    int64_t deadline_usec[5][SLA_CLOCK_COUNT]; /* [level][clock]: usec, or SLA_NO_CLOCK/EOD */
    uint64_t warn_before_usec;   /* warning this long before a deadline; 0 for none */
    char notify_cmd[PATH_MAX];   /* [notify] command; "" for none */
    uint64_t notify_timeout_usec;/* the longest the console waits for it */
};

/* What a clock says at a moment. */
enum sla_state {
    SLA_STATE_NONE,      /* no such clock at this level */
    SLA_STATE_RUNNING,   /* not met, deadline ahead */
    SLA_STATE_WARNING,   /* not met, deadline within warn_before */
    SLA_STATE_OVERDUE,   /* not met, deadline passed */
    SLA_STATE_MET,       /* met on time */
    SLA_STATE_MET_LATE,  /* met after the deadline */
    SLA_STATE_MISSED,    /* the incident closed without it being met */
};

struct sla_status {
    enum sla_state state;   /* see above */
    uint64_t deadline_usec; /* when it is due (0 with SLA_STATE_NONE) */
    int64_t left_usec;      /* deadline - now (or - met time); negative when late */
    uint64_t met_usec;      /* when it was met, 0 if not */
};

/* The design brief's table and a 5 minute warning, no notifier. */
void sla_config_default(struct sla_config *cfg);
/* Defaults overridden by [deadlines] and [notify].  0, or -EINVAL (config_error()). */
WARD_MUST_CHECK int sla_config_load(struct sla_config *out, struct config *cfg);

/*
 * The clock at now, for an incident of level detected at detected_usec; met_usec
 * is when the answering action happened (0 if not yet); closed tells that the
 * incident is closed (an unmet clock is then missed, not running).
 */
void sla_evaluate(const struct sla_config *cfg, int level, enum sla_clock clock,
                  uint64_t detected_usec, uint64_t met_usec, uint64_t now_usec, bool closed,
                  struct sla_status *out);

/* "director", "leadership", "handling". */
const char *sla_clock_name(enum sla_clock clock);
/* Parses those names (and "director", "leadership" only for --to).  0 or -EINVAL. */
WARD_MUST_CHECK int sla_clock_parse(const char *s, enum sla_clock *out);
/* "warning", "overdue". */
const char *sla_stage_name(enum sla_stage stage);
/* "none", "running", "warning", "overdue", "met", "met late", "missed". */
const char *sla_state_name(enum sla_state state);
/* "1h05m left", "3m20s over", "met", "—" into out (cap >= 32).  Returns out. */
char *sla_format(const struct sla_status *s, char *out, size_t cap);
/* A deadline setting as text ("15m", "at once", "end of day", "none"). */
char *sla_format_setting(int64_t setting, char *out, size_t cap);

/* A notifier started by sla_notify_start() and not yet reaped. */
struct sla_run {
    pid_t pid;              /* the notifier's process */
    uint64_t started_usec;  /* monotonic clock at start */
};

/*
 * Starts the notifier with payload (compact JSON, one line) on its standard
 * input and returns at once.  0 and *run filled; -ENOENT if no notifier is
 * configured (payload may then be NULL); another negative errno if it could not
 * be started (logged).
 */
WARD_MUST_CHECK int sla_notify_start(const struct sla_config *cfg, const json_t *payload,
                                     struct sla_run *run);
/*
 * Never waits for a running notifier: -EAGAIN while it runs; 0 and *exit_status
 * (0..255, or 128+signal) once it ended; -ETIMEDOUT when it outlived [notify]
 * timeout (it is killed and reaped).  Logs what happened.
 */
WARD_MUST_CHECK int sla_notify_poll(const struct sla_config *cfg, struct sla_run *run,
                                    int *exit_status);

/*
 * Runs the notifier with payload (compact JSON, one line) on its standard input
 * and waits for it.  Returns 0 and sets *exit_status (0..255, or 128+signal) when
 * it ran; -ENOENT if no notifier is configured; -ETIMEDOUT if it outlived the
 * timeout (it was killed); another negative errno if it could not be started.
 * Logs what happened.
 */
WARD_MUST_CHECK int sla_notify_run(const struct sla_config *cfg, const json_t *payload,
                                   int *exit_status);

#endif
