/*
 * event -- see event.h.  Open events live in a keymap keyed by (kind, hash of the
 * subject fields); a revision is built on the stack as a Ward__Event that borrows
 * the stored strings, and is handed to the sink.
 */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event_json.h"
#include "keymap.h"
#include "sink.h"

struct open_event {
    struct event_report r;  /* latest figures */
    char uid[48];           /* kind-hash, stable across revisions */
    uint32_t revision;      /* last revision sent */
    uint64_t opened_usec;   /* packet time of the first report */
    uint64_t reported_usec; /* packet time of the latest report */
    uint64_t sent_usec;     /* packet time of the latest revision sent */
    bool dirty;             /* reported since the last revision */
};

struct event_key {
    uint32_t kind;    /* Ward__EventKind */
    uint32_t pad;     /* zero */
    uint64_t subject; /* hash of the subject fields */
};

struct event_table {
    struct keymap *open;       /* event_key -> open_event */
    const struct sink *out;    /* where revisions go */
    uint64_t interval_usec;    /* least time between revisions */
    uint64_t idle_usec;        /* close after this long without reports */
    uint64_t window_usec;      /* close this long after opening */
    uint64_t now_usec;         /* latest packet time seen */
    struct event_stats stats;  /* counters */
};

void event_report_init(struct event_report *r, Ward__EventKind kind, const char *subtype,
                       unsigned key)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->key = key ? key : EVENT_KEY_SRC;
    snprintf(r->subtype, sizeof(r->subtype), "%s", subtype ? subtype : "");
}

void event_report_figure(struct event_report *r, const char *name, double value)
{
    for (size_t i = 0; i < r->n_figures; i++) {
        if (strcmp(r->figures[i].name, name) == 0) {
            r->figures[i].value = value;
            return;
        }
    }
    if (r->n_figures < EVENT_MAX_FIGURES) {
        r->figures[r->n_figures].name = name;
        r->figures[r->n_figures].value = value;
        r->n_figures++;
    }
}

void event_report_port(struct event_report *r, uint16_t port)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        if (r->ports[i] == port)
            return;
    }
    if (r->n_ports < EVENT_MAX_PORTS)
        r->ports[r->n_ports++] = port;
}

void event_report_target(struct event_report *r, const struct addr *a)
{
    if (!a->family)
        return;
    for (size_t i = 0; i < r->n_targets; i++) {
        if (addr_eq(&r->targets[i], a))
            return;
    }
    if (r->n_targets < EVENT_MAX_TARGETS)
        r->targets[r->n_targets++] = *a;
}

void event_report_summary(struct event_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->summary, sizeof(r->summary), fmt, ap);
    va_end(ap);
}

static void key_of(const struct event_report *r, struct event_key *k)
{
    uint64_t h = 0x5761726445766e74ULL; /* any constant */
    memset(k, 0, sizeof(*k));
    k->kind = (uint32_t)r->kind;
    if (r->key & EVENT_KEY_SRC)
        h = keymap_hash(&r->src, sizeof(r->src), h ^ 1);
    if (r->key & EVENT_KEY_DST)
        h = keymap_hash(&r->dst, sizeof(r->dst), h ^ 2);
    if (r->key & EVENT_KEY_MAC)
        h = keymap_hash(r->src_mac, sizeof(r->src_mac), h ^ 3);
    if (r->key & EVENT_KEY_DOMAIN)
        h = keymap_hash(r->domain, strlen(r->domain), h ^ 4);
    if (r->key & EVENT_KEY_SUBTYPE)
        h = keymap_hash(r->subtype, strlen(r->subtype), h ^ 5);
    k->subject = h;
}

static void format_mac(const uint8_t mac[6], char *out, size_t cap)
{
    snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

/* Builds a revision of e on the stack and sends it. */
static int send_revision(struct event_table *et, struct open_event *e, bool closed)
{
    struct event_report *r = &e->r;
    Ward__Event ev;
    Ward__Message m;
    char src[ADDR_STR_LEN] = "";
    char dst[ADDR_STR_LEN] = "";
    char mac[24] = "";
    uint32_t ports[EVENT_MAX_PORTS];
    char tbuf[EVENT_MAX_TARGETS][ADDR_STR_LEN];
    char *tptr[EVENT_MAX_TARGETS];
    char fname[EVENT_MAX_FIGURES][32];
    Ward__Figure figs[EVENT_MAX_FIGURES];
    Ward__Figure *fptr[EVENT_MAX_FIGURES];

    ward__event__init(&ev);
    e->revision++;
    ev.uid = e->uid;
    ev.revision = e->revision;
    ev.kind = r->kind;
    ev.subtype = r->subtype;
    if (r->src.family)
        addr_format(&r->src, src, sizeof(src));
    if (r->dst.family)
        addr_format(&r->dst, dst, sizeof(dst));
    if (r->has_mac)
        format_mac(r->src_mac, mac, sizeof(mac));
    ev.src = src;
    ev.dst = dst;
    ev.src_mac = mac;
    ev.proto = r->proto;
    for (size_t i = 0; i < r->n_ports; i++)
        ports[i] = r->ports[i];
    ev.n_ports = r->n_ports;
    ev.ports = ports;
    ev.first_usec = r->first_usec;
    ev.last_usec = r->last_usec;
    ev.packets = r->packets;
    ev.bytes = r->bytes;
    ev.count = r->count;
    ev.severity = r->severity > 100 ? 100 : r->severity;
    ev.confidence = r->confidence > 100 ? 100 : r->confidence;
    ev.summary = r->summary;
    for (size_t i = 0; i < r->n_figures; i++) {
        ward__figure__init(&figs[i]);
        snprintf(fname[i], sizeof(fname[i]), "%s", r->figures[i].name);
        figs[i].name = fname[i];
        figs[i].value = r->figures[i].value;
        fptr[i] = &figs[i];
    }
    ev.n_figures = r->n_figures;
    ev.figures = fptr;
    for (size_t i = 0; i < r->n_targets; i++) {
        addr_format(&r->targets[i], tbuf[i], sizeof(tbuf[i]));
        tptr[i] = tbuf[i];
    }
    ev.n_targets = r->n_targets;
    ev.targets = tptr;
    ev.domain = r->domain;
    ev.vlan = r->vlan;
    ev.closed = closed;

    ward__message__init(&m);
    m.created_usec = clock_now_usec();
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;

    e->dirty = false;
    e->sent_usec = et->now_usec;
    et->stats.revisions++;
    int rc = sink_send(et->out, &m);
    if (rc < 0)
        et->stats.send_errors++;
    return rc;
}

/* A closing revision for an event pushed out of a full table. */
static void on_evict(void *arg, const void *key, void *val)
{
    struct event_table *et = arg;
    (void)key;
    et->stats.evictions++;
    send_revision(et, val, true);
}

struct event_table *event_table_new(size_t cap, const struct sink *out, uint64_t interval_usec,
                                    uint64_t idle_usec, uint64_t window_usec)
{
    struct event_table *et = calloc(1, sizeof(*et));
    if (!et)
        return NULL;
    et->open = keymap_new_sparse(cap ? cap : 1, sizeof(struct event_key), sizeof(struct open_event));
    if (!et->open) {
        event_table_free(et);
        return NULL;
    }
    keymap_on_evict(et->open, on_evict, et);
    et->out = out;
    et->interval_usec = interval_usec;
    et->idle_usec = idle_usec;
    et->window_usec = window_usec;
    return et;
}

void event_table_free(struct event_table *et)
{
    if (!et)
        return;
    keymap_free(et->open);
    free(et);
}

static void make_uid(struct open_event *e, const struct event_key *k, uint64_t first_usec)
{
    uint64_t h = keymap_hash(k, sizeof(*k), first_usec);
    snprintf(e->uid, sizeof(e->uid), "%s-%016llx", event_kind_name((Ward__EventKind)k->kind),
             (unsigned long long)h);
}

int event_table_report(struct event_table *et, const struct event_report *r, uint64_t now_usec)
{
    struct event_key k;
    bool created = false;

    if (now_usec > et->now_usec)
        et->now_usec = now_usec;
    key_of(r, &k);
    struct open_event *e = keymap_get(et->open, &k, et->now_usec, true, &created);
    uint64_t first = e->r.first_usec;
    e->r = *r;
    if (created) {
        et->stats.opened++;
        e->opened_usec = et->now_usec;
        if (!e->r.first_usec)
            e->r.first_usec = et->now_usec;
        make_uid(e, &k, e->r.first_usec);
    } else if (first && (first < e->r.first_usec || !e->r.first_usec)) {
        e->r.first_usec = first;
    }
    if (!e->r.last_usec || e->r.last_usec < e->r.first_usec)
        e->r.last_usec = et->now_usec > e->r.first_usec ? et->now_usec : e->r.first_usec;
    e->reported_usec = et->now_usec;
    e->dirty = true;
    if (created || et->now_usec >= e->sent_usec + et->interval_usec)
        return send_revision(et, e, false);
    et->stats.suppressed++;
    return 0;
}

bool event_table_is_open(const struct event_table *et, const struct event_report *r)
{
    struct event_key k;
    key_of(r, &k);
    return keymap_peek(et->open, &k) != NULL;
}

static void sweep(struct event_table *et, bool all)
{
    for (size_t i = 0; i < keymap_slots(et->open); i++) {
        struct open_event *e = keymap_at(et->open, i, NULL, NULL);
        if (!e)
            continue;
        bool close = all || et->now_usec >= e->reported_usec + et->idle_usec ||
                     et->now_usec >= e->opened_usec + et->window_usec;
        if (close) {
            send_revision(et, e, true);
            keymap_del_at(et->open, i);
        } else if (e->dirty && et->now_usec >= e->sent_usec + et->interval_usec) {
            send_revision(et, e, false);
        }
    }
}

void event_table_tick(struct event_table *et, uint64_t now_usec)
{
    if (now_usec > et->now_usec)
        et->now_usec = now_usec;
    sweep(et, false);
}

void event_table_flush(struct event_table *et, uint64_t now_usec)
{
    if (now_usec > et->now_usec)
        et->now_usec = now_usec;
    sweep(et, true);
}

void event_table_stats(const struct event_table *et, struct event_stats *out)
{
    *out = et->stats;
}

size_t event_table_count(const struct event_table *et)
{
    return keymap_count(et->open);
}

size_t event_table_memory(const struct event_table *et)
{
    return et ? sizeof(*et) + keymap_memory(et->open) : 0;
}
