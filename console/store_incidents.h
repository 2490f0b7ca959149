/*
 * store_incidents -- the SQL of incidents (incident.h has the meaning): the
 * incidents, their hosts, the links from their events (rows of the events
 * table, which holds the latest revision of each; events are never deleted)
 * and the notices the deadline clocks have sent.  Part of the store family (store.h).
 * Console thread only.
 */
#ifndef WARD_STORE_INCIDENTS_H
#define WARD_STORE_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "incident.h"
#include "json.h"
#include "sla.h"
#include "store.h"
#include "ward.h"

#define STORE_INCIDENT_NAME_MAX 64 /* user names */

struct incident_row {
    int64_t id;                    /* from 1 */
    char title[200];               /* "portscan from 10.1.2.3" */
    enum incident_state state;     /* workflow step */
    int level;                     /* 1..4 (I..IV) in force */
    int auto_level;                /* most serious level Ward has computed */
    char level_reason[512];        /* why the level in force is what it is */
    char level_by[STORE_INCIDENT_NAME_MAX]; /* "ward" or the person who set it */
    bool campaign;                 /* several internal hosts share a spreading technique */
    char campaign_key[128];        /* its first campaign key ("lateral", "scan"); "" if none */
    uint64_t first_usec;           /* packet time of the first event */
    uint64_t last_usec;            /* packet time of the latest event */
    uint64_t detected_usec;        /* console time of first detection: clocks start */
    uint64_t updated_usec;         /* console time of the last change */
    char assignee[STORE_INCIDENT_NAME_MAX]; /* who handles it; "" if nobody */
    uint64_t acked_usec;           /* when acknowledged, 0 if not */
    char acked_by[STORE_INCIDENT_NAME_MAX]; /* who acknowledged */
    uint64_t met_usec[SLA_CLOCK_COUNT]; /* when each clock was met, 0 if not */
    char met_by[SLA_CLOCK_COUNT][STORE_INCIDENT_NAME_MAX]; /* by whom */
    uint64_t closed_usec;          /* when closed, 0 if open */
    int64_t merged_into;           /* the incident this one was merged into, 0 if none */
    unsigned containment;          /* containment actions recorded */
    json_t *fields;                /* workflow fields (an object), owned */
    uint32_t kinds;                /* techniques seen: bit (1 << Ward__EventKind) */
    unsigned n_hosts;              /* distinct internal hosts */
    unsigned n_sources;            /* distinct internal hosts seen acting */
    unsigned n_segments;           /* distinct internal segments */
    unsigned crit[5];              /* crit[k]: hosts of criticality k (1..4) */
    char core_host[46];            /* the first criticality-1 host, "" if none */
};

/* Frees what a row owns (fields); the row may be reused after. */
void store_incidents_row_fini(struct incident_row *row);

WARD_MUST_CHECK int store_incidents_create(struct store *st);

/* Inserts row (its id is ignored) and sets row->id. */
WARD_MUST_CHECK int store_incidents_insert(struct store *st, struct incident_row *row);
/* Reads incident id into row (row_fini it after).  -ENOENT if none. */
WARD_MUST_CHECK int store_incidents_get(struct store *st, int64_t id, struct incident_row *row);
/* Writes every column of row back. */
WARD_MUST_CHECK int store_incidents_update(struct store *st, const struct incident_row *row);

/*
 * Ids of the open incidents (not closed, not merged) active at or after
 * since_usec that involve one of hosts or hold campaign_key (NULL or "" for
 * none; store_incidents_add_key()), ascending, at most cap, count in *n.
 */
WARD_MUST_CHECK int store_incidents_candidates(struct store *st, const char *const *hosts,
                                               size_t nhosts, const char *campaign_key,
                                               uint64_t since_usec, int64_t *ids, size_t cap,
                                               size_t *n);

struct incident_host {
    const char *addr;      /* textual address */
    bool internal;         /* inside home_net */
    bool acting;           /* seen as an event source */
    bool targeted;         /* seen as a target */
    const char *segment;   /* "10.1.2.0/24", "" when external */
    const char *sensor;    /* the sensor that last saw it */
    int criticality;       /* 1..4 */
    uint64_t ts_usec;      /* packet time it was seen */
};

/* What adding a host changed, so the incident's counters move without a recount. */
struct incident_host_delta {
    bool new_host;     /* the incident did not hold it */
    bool new_source;   /* it had not been seen acting before */
    bool new_segment;  /* its (internal) segment is new to the incident */
};

/* Adds the host to the incident or widens what is known of it; says what changed. */
WARD_MUST_CHECK int store_incidents_add_host(struct store *st, int64_t incident,
                                             const struct incident_host *h,
                                             struct incident_host_delta *delta);
/*
 * The open incidents (not closed, not merged) that hold host addr, whatever
 * their age: ids, stored last_usec and whether addr acts in each (acting may be
 * NULL), at most cap, count in *n.  -E2BIG when there are more than cap.
 */
WARD_MUST_CHECK int store_incidents_open_by_host(struct store *st, const char *addr,
                                                 int64_t *ids, uint64_t *last_usec,
                                                 bool *acting, size_t cap, size_t *n);
/* The same for a campaign key (store_incidents_add_key()). */
WARD_MUST_CHECK int store_incidents_open_by_key(struct store *st, const char *key, int64_t *ids,
                                                uint64_t *last_usec, size_t cap, size_t *n);
/* Whether the incident holds host addr (*exists) and saw it acting (*acting). */
WARD_MUST_CHECK int store_incidents_host_find(struct store *st, int64_t incident,
                                              const char *addr, bool *exists, bool *acting);
/* Whether the incident holds an internal host in segment (*present). */
WARD_MUST_CHECK int store_incidents_has_segment(struct store *st, int64_t incident,
                                                const char *segment, bool *present);
/*
 * Adds the host to the incident or widens what is known of it, as if it had
 * been seen at first_usec and at h->ts_usec: acting and targeted only ever set,
 * the least criticality, the earliest and latest times, h->sensor as the last
 * sensor.  Says nothing of what changed (store_incidents_add_host() does).
 */
WARD_MUST_CHECK int store_incidents_put_host(struct store *st, int64_t incident,
                                             const struct incident_host *h, uint64_t first_usec);
/* Calls fn for each host of the incident (by address). */
typedef int (*store_incidents_host_fn)(void *arg, const struct incident_host *h);
int store_incidents_hosts_each(struct store *st, int64_t incident, store_incidents_host_fn fn,
                               void *arg);

/* The incident that holds event (its row in the events table); -ENOENT if none. */
WARD_MUST_CHECK int store_incidents_event_owner(struct store *st, int64_t event,
                                                int64_t *incident);
/* The largest event row id linked to any incident (0 if none). */
WARD_MUST_CHECK int store_incidents_max_linked(struct store *st, int64_t *event);
/* Links event (its row in the events table) to the incident; nothing if linked already. */
WARD_MUST_CHECK int store_incidents_link_event(struct store *st, int64_t incident, int64_t event,
                                               uint64_t received_usec);
/* An event to link to an incident (store_incidents_link_events()). */
struct incident_link {
    int64_t event;          /* its row in the events table */
    int64_t incident;       /* the incident */
    uint64_t received_usec; /* console time it was linked */
};
/* store_incidents_link_event() for n links, several rows per statement. */
WARD_MUST_CHECK int store_incidents_link_events(struct store *st, const struct incident_link *l,
                                                size_t n);
/*
 * Adds a campaign key ("lateral", "scan", "ioc:evil.example") to the incident:
 * a later event with the same key joins it (store_incidents_candidates()).
 */
WARD_MUST_CHECK int store_incidents_add_key(struct store *st, int64_t incident, const char *key);
/* Distinct event kinds of the incident as a bit mask (1 << Ward__EventKind). */
WARD_MUST_CHECK int store_incidents_kinds(struct store *st, int64_t incident, uint32_t *mask);

/* Moves the events, hosts and campaign keys of from into into. */
WARD_MUST_CHECK int store_incidents_merge(struct store *st, int64_t from, int64_t into);

/*
 * JSON views of one incident: hosts [{addr, internal, acting, targeted, segment,
 * sensor, criticality, first, last}], events (newest first, at most limit)
 * [{sensor, uid, kind, src, dst, first, last, severity, summary, event}],
 * techniques [{kind, events}], sensors ["edge-1"], segments ["10.1.2.0/24"].
 */
WARD_MUST_CHECK int store_incidents_hosts_json(struct store *st, int64_t incident, json_t **out);
WARD_MUST_CHECK int store_incidents_events_json(struct store *st, int64_t incident,
                                                uint64_t limit, json_t **out);
WARD_MUST_CHECK int store_incidents_summary_json(struct store *st, int64_t incident,
                                                 json_t **techniques, json_t **sensors,
                                                 json_t **segments, uint64_t *events);

/*
 * Calls fn for each incident by id; only open ones (not closed, not merged) when
 * open_only; only level when level != 0.  The row is valid during the call.
 */
typedef int (*store_incidents_fn)(void *arg, const struct incident_row *row);
int store_incidents_each(struct store *st, bool open_only, int level, store_incidents_fn fn,
                         void *arg);

/* Ids of the incidents merged into incident (directly), ascending, at most cap. */
WARD_MUST_CHECK int store_incidents_merged(struct store *st, int64_t incident, int64_t *ids,
                                           size_t cap, size_t *n);

/* Deadline notices: whether (incident, clock, stage) was sent; recording one. */
WARD_MUST_CHECK int store_incidents_notice_sent(struct store *st, int64_t incident,
                                                const char *clock, const char *stage,
                                                bool *sent);
WARD_MUST_CHECK int store_incidents_notice_mark(struct store *st, int64_t incident,
                                                const char *clock, const char *stage,
                                                uint64_t now_usec, int status);
/* The notifier's outcome for a notice marked earlier (exit status or -errno). */
WARD_MUST_CHECK int store_incidents_notice_result(struct store *st, int64_t incident,
                                                  const char *clock, const char *stage,
                                                  int status);

#endif
