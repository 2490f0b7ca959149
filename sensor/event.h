/*
 * event -- the sensor's table of open events: one event per (kind, subject) per
 * window, revised as the finding grows, never repeated.
 *
 * Detectors describe a finding with a struct event_report (who, what, the figures
 * that made it fire, a one-line summary) and hand it to event_table_report().  The
 * first report of a subject goes out at once as revision 1 with a new uid; later
 * reports replace the stored figures and go out as revision n+1 (same uid) at most
 * once per `interval`, so a flood is one event with counts, not a million.  An
 * event closes when nothing new has been reported for `idle`, or when its window
 * (`window`) is over; the closing revision has closed=true and the next finding
 * about that subject opens a new event.  The table holds at most `cap` open
 * events; when full, the least recently reported one is closed early and counted.
 * Events leave as Ward__Message (kind event) through the sink.  All times are
 * packet time.  Capture thread only.
 */
#ifndef WARD_EVENT_H
#define WARD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"
#include "ward.h"
#include "ward.pb-c.h"

struct sink;

#define EVENT_MAX_PORTS 32    /* ports sample per event */
#define EVENT_MAX_TARGETS 32  /* targets sample per event */
#define EVENT_MAX_FIGURES 10  /* named figures per event */
#define EVENT_SUMMARY_MAX 256 /* summary line, with NUL */
#define EVENT_SUBTYPE_MAX 24  /* subtype, with NUL */

/* Which fields of a report name its subject (the rest are its figures). */
#define EVENT_KEY_SRC (1u << 0)
#define EVENT_KEY_DST (1u << 1)
#define EVENT_KEY_MAC (1u << 2)
#define EVENT_KEY_DOMAIN (1u << 3)
#define EVENT_KEY_SUBTYPE (1u << 4)

struct event_figure {
    const char *name; /* a string literal ("targets"); stored by pointer */
    double value;     /* its value */
};

/* One finding, filled by a detector on its stack. */
struct event_report {
    Ward__EventKind kind;                      /* event kind */
    unsigned key;                              /* EVENT_KEY_* bits naming the subject */
    char subtype[EVENT_SUBTYPE_MAX];           /* "vertical", "psexec", ... */
    struct addr src;                           /* acting host, family 0 if none */
    struct addr dst;                           /* target host, family 0 if many/none */
    uint8_t src_mac[6];                        /* acting MAC (link-layer events) */
    bool has_mac;                              /* src_mac valid */
    uint8_t proto;                             /* IP protocol, 0 if none */
    uint16_t vlan;                             /* VLAN id */
    uint16_t ports[EVENT_MAX_PORTS];           /* destination ports sample */
    size_t n_ports;                            /* entries in ports */
    struct addr targets[EVENT_MAX_TARGETS];    /* targets sample */
    size_t n_targets;                          /* entries in targets */
    uint64_t first_usec;                       /* first packet that counted */
    uint64_t last_usec;                        /* latest packet that counted */
    uint64_t packets;                          /* packets involved */
    uint64_t bytes;                            /* bytes involved */
    uint64_t count;                            /* the detector's main count */
    uint32_t severity;                         /* 0..100 */
    uint32_t confidence;                       /* 0..100 */
    char summary[EVENT_SUMMARY_MAX];           /* one line for a person */
    struct event_figure figures[EVENT_MAX_FIGURES]; /* the numbers that made it fire */
    size_t n_figures;                          /* entries in figures */
    char domain[PKT_NAME_MAX];                 /* registered domain / indicator */
};

/* Clears r and sets kind, subtype and the subject key (EVENT_KEY_SRC if key is 0). */
void event_report_init(struct event_report *r, Ward__EventKind kind, const char *subtype,
                       unsigned key);
/* Adds a named figure (name must have static storage); ignored past the maximum. */
void event_report_figure(struct event_report *r, const char *name, double value);
/* Adds a port to the sample unless present or full. */
void event_report_port(struct event_report *r, uint16_t port);
/* Adds a target to the sample unless present or full. */
void event_report_target(struct event_report *r, const struct addr *a);
/* Formats the summary line (truncated to fit). */
void event_report_summary(struct event_report *r, const char *fmt, ...) WARD_PRINTF(2, 3);

struct event_table;

/*
 * A table of at most cap open events writing to out (borrowed; must outlive the
 * table).  interval_usec: least time between revisions of one event; idle_usec:
 * an event with no new report for this long closes; window_usec: an event closes
 * this long after it opened.  NULL if out of memory.
 */
struct event_table *event_table_new(size_t cap, const struct sink *out, uint64_t interval_usec,
                                    uint64_t idle_usec, uint64_t window_usec);
void event_table_free(struct event_table *et);

/*
 * Records a finding at packet time now_usec: opens an event or revises the open
 * one of the same (kind, subject).  Returns 0, or the sink's negative errno when a
 * revision was sent and failed (counted; the event stays).
 */
int event_table_report(struct event_table *et, const struct event_report *r,
                       uint64_t now_usec);
/* True if an event of this (kind, subject) is open (detectors use it to stay quiet). */
bool event_table_is_open(const struct event_table *et, const struct event_report *r);
/* Sends revisions held back by the interval and closes idle or expired events. */
void event_table_tick(struct event_table *et, uint64_t now_usec);
/* Sends and closes every open event (end of input, shutdown). */
void event_table_flush(struct event_table *et, uint64_t now_usec);

struct event_stats {
    uint64_t opened;       /* events opened */
    uint64_t revisions;    /* messages sent (every revision, closing ones included) */
    uint64_t suppressed;   /* reports folded into a later revision */
    uint64_t evictions;    /* events closed early because the table was full */
    uint64_t send_errors;  /* sink failures */
};
void event_table_stats(const struct event_table *et, struct event_stats *out);
size_t event_table_count(const struct event_table *et);
size_t event_table_memory(const struct event_table *et);

#endif
