/*
 * incident -- see incident.h.  This file holds correlation, grading as scope
 * grows, the deadline clocks' tick, the workflow and the control verbs; the SQL
 * is in store_incidents.c, the rules in grade.c and sla.c, the report in
 * report.c.  State: struct incidents in c->mod[MOD_INCIDENTS].
 */
#include "incident.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "audit.h"
#include "clock.h"
#include "event_json.h"
#include "grade.h"
#include "log.h"
#include "report.h"
#include "sla.h"
#include "store.h"
#include "store_incidents.h"

#define INCIDENT_MAX_EVENT_HOSTS 34    /* src, dst and up to 32 lateral targets */
#define INCIDENT_MAX_CANDIDATES 64     /* incidents one event may merge at once */
#define INCIDENT_MAX_TICK 4096         /* open incidents whose clocks one tick checks */
#define INCIDENT_SHOW_EVENTS 500       /* events `incident show` lists */
#define INCIDENT_TEXT_MAX 4096         /* longest workflow field, note or reason */
#define INCIDENT_TICK_NOTICES 8        /* notifier runs one tick may start; the rest wait */
#define INCIDENT_NOTIFY_MAX 16         /* notifiers running at once; the rest wait */
#define INCIDENT_SHOW_TIMELINE 5000    /* timeline rows `incident show` returns */
#define INCIDENT_REPORT_TIMELINE 100000 /* timeline rows a report holds */

struct incidents {
    struct grade_rules rules;   /* [grading] */
    struct sla_config sla;      /* [deadlines], [notify] */
    uint64_t window_usec;       /* [incidents] window: packet time joining events */
    struct cidr_set home;       /* [incidents] home_net */
    struct cidr_set no_join;    /* [incidents] ignore_hosts: shared infrastructure */
    unsigned prefix4;           /* [incidents] segment_prefix4 */
    unsigned prefix6;           /* [incidents] segment_prefix6 */
    uint32_t ignore_kinds;      /* [incidents] ignore_kinds as a bit mask */
    struct batch *batch;        /* what the batch in progress keeps in memory */
    int64_t max_linked;         /* no event row above this is linked (it may be lower) */
    struct notice_run {
        struct sla_run run;     /* the notifier's process */
        int64_t incident;       /* the notice's incident */
        enum sla_clock clock;   /* its clock */
        enum sla_stage stage;   /* warning or overdue */
        uint64_t deadline_usec; /* the deadline it is about */
    } runs[INCIDENT_NOTIFY_MAX]; /* notifiers started and not yet reaped */
    size_t n_runs;              /* how many */
};

static void reap_notices(struct console *c, struct incidents *m, bool wait);

static struct batch *batch_new(void);
static void batch_free(struct batch *b);

static incident_evidence_fn evidence_source; /* the evidence vault, when registered */

void incident_set_evidence_source(incident_evidence_fn fn)
{
    evidence_source = fn;
}

static struct incidents *state_of(struct console *c)
{
    return c->mod[MOD_INCIDENTS];
}

/* ---------------------------------------------------------------- states and fields */

static const char *const state_names[INCIDENT_STATE_COUNT] = {
    "recorded", "analysing", "containing", "recovering", "review", "closed", "merged"};

const char *incident_state_name(enum incident_state s)
{
    return (unsigned)s < INCIDENT_STATE_COUNT ? state_names[s] : "?";
}

int incident_state_parse(const char *s, enum incident_state *out)
{
    for (int i = 0; s && i < INCIDENT_STATE_COUNT; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum incident_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* What each step produces; leaving the step needs them (incident.h). */
struct step_field {
    enum incident_state step; /* the step that produces it */
    const char *name;         /* --name on the command line, key in fields */
    const char *label;        /* for people */
};

static const struct step_field step_fields[] = {
    {INCIDENT_RECORDED, "systems", "affected systems"},
    {INCIDENT_RECORDED, "told", "who was told"},
    {INCIDENT_ANALYSING, "cause", "cause"},
    {INCIDENT_ANALYSING, "scope", "scope"},
    {INCIDENT_ANALYSING, "risk", "risk"},
    {INCIDENT_CONTAINING, "action", "containment action"},
    {INCIDENT_CONTAINING, "decision", "containment decision"},
    {INCIDENT_RECOVERING, "restored", "what was restored"},
    {INCIDENT_RECOVERING, "how", "how it was restored"},
    {INCIDENT_REVIEW, "lessons", "lessons learned"},
    {INCIDENT_REVIEW, "followups", "follow-ups"},
    {INCIDENT_CLOSED, "signoff", "sign-off"},
};

static const struct step_field *field_find(const char *name)
{
    for (size_t i = 0; i < WARD_ARRAY_LEN(step_fields); i++) {
        if (strcmp(step_fields[i].name, name) == 0)
            return &step_fields[i];
    }
    return NULL;
}

static bool has_text(const json_t *fields, const char *name)
{
    const char *v = json_str(fields, name, "");
    while (*v == ' ' || *v == '\t')
        v++;
    return *v != '\0';
}

static bool is_containment_action(const char *action)
{
    static const char *const names[] = {"isolate", "disconnect", "block", "stop_service",
                                        "policy_change"};
    if (strncmp(action, "contain", 7) == 0)
        return true;
    for (size_t i = 0; i < WARD_ARRAY_LEN(names); i++) {
        if (strcmp(action, names[i]) == 0)
            return true;
    }
    return false;
}

static int fail(char *err, size_t errcap, int rc, const char *fmt, ...) WARD_PRINTF(4, 5);

static int fail(char *err, size_t errcap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---------------------------------------------------------------- module start */

static int load_config(struct incidents *m, struct config *cfg)
{
    int rc = grade_rules_load(&m->rules, cfg);
    if (rc)
        return rc;
    rc = sla_config_load(&m->sla, cfg);
    if (rc)
        return rc;
    m->window_usec = 3600 * USEC_PER_SEC;
    m->prefix4 = 24;
    m->prefix6 = 64;
    m->ignore_kinds = 1u << WARD__EVENT_KIND__NEW_ASSET | 1u << WARD__EVENT_KIND__SENSOR_SILENT;
    const char *home = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7";
    if (!cfg)
        goto lists;
    uint64_t v;
    if (config_get_duration(cfg, "incidents", "window", m->window_usec, &m->window_usec) < 0)
        return -EINVAL;
    if (config_get_u64(cfg, "incidents", "segment_prefix4", 24, &v) < 0)
        return -EINVAL;
    if (v < 8 || v > 32)
        return config_fail(cfg, "incidents", "segment_prefix4", "%llu is not 8..32",
                           (unsigned long long)v);
    m->prefix4 = (unsigned)v;
    if (config_get_u64(cfg, "incidents", "segment_prefix6", 64, &v) < 0)
        return -EINVAL;
    if (v < 16 || v > 128)
        return config_fail(cfg, "incidents", "segment_prefix6", "%llu is not 16..128",
                           (unsigned long long)v);
    m->prefix6 = (unsigned)v;
    if (config_has(cfg, "incidents", "ignore_kinds")) {
        char list[512];
        snprintf(list, sizeof(list), "%s",
                 config_get_str(cfg, "incidents", "ignore_kinds", ""));
        m->ignore_kinds = 0;
        for (char *save = NULL, *tok = strtok_r(list, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
            Ward__EventKind k = event_kind_parse(tok);
            if (k == WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED || (unsigned)k >= 32)
                return config_fail(cfg, "incidents", "ignore_kinds", "unknown event kind '%s'",
                                   tok);
            m->ignore_kinds |= 1u << (unsigned)k;
        }
    }
    home = config_get_str(cfg, "incidents", "home_net", home);
lists:;
    char bad[64];
    if (cidr_set_add_list(&m->home, home, bad, sizeof(bad)) < 0)
        return cfg ? config_fail(cfg, "incidents", "home_net", "'%s' is not a CIDR", bad)
                   : -EINVAL;
    const char *nj = cfg ? config_get_str(cfg, "incidents", "ignore_hosts", "") : "";
    if (cidr_set_add_list(&m->no_join, nj, bad, sizeof(bad)) < 0)
        return config_fail(cfg, "incidents", "ignore_hosts", "'%s' is not a CIDR", bad);
    return 0;
}

static void incident_mod_fini(struct console *c)
{
    struct incidents *m = state_of(c);
    if (!m)
        return;
    reap_notices(c, m, true);
    batch_free(m->batch);
    grade_rules_fini(&m->rules);
    cidr_set_fini(&m->home);
    cidr_set_fini(&m->no_join);
    free(m);
    c->mod[MOD_INCIDENTS] = NULL;
}

static int incident_mod_init(struct console *c)
{
    struct incidents *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    cidr_set_init(&m->home);
    cidr_set_init(&m->no_join);
    c->mod[MOD_INCIDENTS] = m;
    m->batch = batch_new();
    if (!m->batch) {
        incident_mod_fini(c);
        return -ENOMEM;
    }
    int rc = load_config(m, c->cfg);
    if (rc) {
        log_err("incident: %s", c->cfg ? config_error(c->cfg) : "bad built-in settings");
        goto out_fini;
    }
    /* The audit log is the incidents' timeline: make sure its tables exist. */
    rc = audit_init_store(c->store);
    if (rc == 0)
        rc = store_incidents_create(c->store);
    if (rc == 0)
        rc = store_incidents_max_linked(c->store, &m->max_linked);
    if (rc == 0)
        return 0;
out_fini:
    incident_mod_fini(c);
    return rc;
}

/* ---------------------------------------------------------------- correlation */

struct ev_host {
    char addr[ADDR_STR_LEN]; /* normalised text */
    bool acting;             /* the event's source */
    bool internal;           /* inside home_net */
    bool joins;              /* may join incidents (not shared infrastructure) */
    char segment[64];        /* "10.1.2.0/24", "" when external */
};

static void segment_of(const struct incidents *m, const struct addr *a, char *out, size_t cap)
{
    struct addr net = *a;
    unsigned bits = a->family == 4 ? m->prefix4 : m->prefix6;
    unsigned total = a->family == 4 ? 32 : 128;
    for (unsigned b = bits; b < total; b++)
        net.b[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
    char txt[ADDR_STR_LEN];
    addr_format(&net, txt, sizeof(txt));
    size_t n = strlen(txt);
    char num[4] = {(char)('0' + bits / 100), (char)('0' + bits / 10 % 10), (char)('0' + bits % 10)};
    const char *digits = bits >= 100 ? num : bits >= 10 ? num + 1 : num + 2;
    size_t d = strlen(digits);
    if (n + 1 + d < cap) { /* "%s/%u" without printf: once or twice per event */
        memcpy(out, txt, n);
        out[n] = '/';
        memcpy(out + n + 1, digits, d + 1);
    } else if (cap) {
        out[0] = '\0';
    }
}

/* Adds addr to hosts (deduplicated); bad or empty addresses are skipped. */
static void host_add(const struct incidents *m, struct ev_host *hosts, size_t *n,
                     const char *addr, bool acting)
{
    struct addr a;
    if (!addr || !*addr || addr_parse(addr, &a) < 0 || *n >= INCIDENT_MAX_EVENT_HOSTS)
        return;
    char txt[ADDR_STR_LEN];
    addr_format(&a, txt, sizeof(txt));
    for (size_t i = 0; i < *n; i++) {
        /* cppcheck-suppress uninitvar ; hosts[0..*n) were filled by earlier calls */
        if (strcmp(hosts[i].addr, txt) == 0) {
            hosts[i].acting |= acting;
            return;
        }
    }
    struct ev_host *h = &hosts[(*n)++];
    memset(h, 0, sizeof(*h));
    memcpy(h->addr, txt, strlen(txt) + 1); /* both ADDR_STR_LEN */
    h->acting = acting;
    h->internal = cidr_set_contains(&m->home, &a);
    h->joins = !cidr_set_contains(&m->no_join, &a);
    if (h->internal)
        segment_of(m, &a, h->segment, sizeof(h->segment));
}

/*
 * The campaign key of a spreading technique: events with the same key join one
 * incident even when they share no host.  "" when the event does not spread.
 */
static void campaign_key(const Ward__Event *ev, bool src_internal, char *out, size_t cap)
{
    const char *domain = ev->domain && *ev->domain ? ev->domain : NULL;
    const char *dst = ev->dst && *ev->dst ? ev->dst : NULL;
    out[0] = '\0';
    switch (ev->kind) {
    case WARD__EVENT_KIND__LATERAL:
        snprintf(out, cap, "lateral");
        break;
    case WARD__EVENT_KIND__PORTSCAN:
        if (src_internal)
            snprintf(out, cap, "scan");
        break;
    case WARD__EVENT_KIND__IOC_HIT:
        if (domain || dst)
            snprintf(out, cap, "ioc:%s", domain ? domain : dst);
        break;
    case WARD__EVENT_KIND__BEACON:
        if (dst)
            snprintf(out, cap, "beacon:%s", dst);
        break;
    case WARD__EVENT_KIND__DNS_TUNNEL:
        if (domain)
            snprintf(out, cap, "tunnel:%s", domain);
        break;
    default:
        break;
    }
}

/* The grading facts of an incident, from its counters (kept up to date by on_event). */
static void incident_facts(const struct incident_row *row, struct grade_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->kinds = row->kinds;
    f->hosts = row->n_hosts;
    f->sources = row->n_sources;
    f->segments = row->n_segments;
    for (int k = 1; k <= 4; k++)
        f->crit[k] = row->crit[k];
    size_t n = strnlen(row->core_host, sizeof(f->core_host) - 1);
    memcpy(f->core_host, row->core_host, n);
    f->core_host[n] = '\0';
    f->spreading = (f->kinds & (1u << WARD__EVENT_KIND__LATERAL)) ||
                   (row->campaign && f->sources >= 2);
}

/* Counts a host into the incident's counters. */
static void count_host(struct incident_row *row, const char *addr, bool internal, int crit,
                       const struct incident_host_delta *d)
{
    if (d->new_host) {
        if (crit >= 1 && crit <= 4)
            row->crit[crit]++;
        if (crit == 1 && !row->core_host[0])
            snprintf(row->core_host, sizeof(row->core_host), "%.*s", (int)sizeof(row->core_host) - 1, addr);
        if (internal)
            row->n_hosts++;
    }
    if (internal && d->new_source)
        row->n_sources++;
    if (d->new_segment)
        row->n_segments++;
}

struct recount_walk {
    struct console *c;         /* for the criticality source */
    const struct incidents *m; /* rules */
    struct incident_row *row;  /* counters being rebuilt */
};

static int recount_host(void *arg, const struct incident_host *h)
{
    struct recount_walk *w = arg;
    struct incident_host_delta d = {.new_host = true, .new_source = h->acting};
    count_host(w->row, h->addr, h->internal, grade_criticality(&w->m->rules, w->c, h->addr), &d);
    return 0;
}

/* Rebuilds the counters from the tables (after a merge). */
static int recount(struct console *c, const struct incidents *m, struct incident_row *row)
{
    row->n_hosts = row->n_sources = row->n_segments = 0;
    memset(row->crit, 0, sizeof(row->crit));
    row->core_host[0] = '\0';
    int rc = store_incidents_kinds(c->store, row->id, &row->kinds);
    if (rc)
        return rc;
    struct recount_walk w = {c, m, row};
    rc = store_incidents_hosts_each(c->store, row->id, recount_host, &w);
    if (rc)
        return rc < 0 ? rc : -EIO;
    json_t *techniques, *sensors, *segments;
    uint64_t events;
    rc = store_incidents_summary_json(c->store, row->id, &techniques, &sensors, &segments,
                                      &events);
    if (rc)
        return rc;
    row->n_segments = (unsigned)json_array_size(segments);
    json_decref(techniques);
    json_decref(sensors);
    json_decref(segments);
    return 0;
}

/* ---------------------------------------------------------------- the batch in memory */

/*
 * What correlation keeps in memory from the first event of a transaction's
 * batches to its commit (on_commit; ingest stores the batches waiting on its
 * socket in one transaction), so that each incident row is read and written
 * once per transaction rather than once per event: the incidents the batches
 * touched, the hosts they added to or widened in them (one upsert each at the
 * end), the segments and campaign keys each holds, the open incidents found for
 * a host or key, the events each incident was joined by (one audit row per
 * incident per batch, written at the batch's end), and the links of new events
 * (written 32 to a statement).  The stored tables and this memory together
 * always say what the tables alone said when every event wrote through.
 * Whatever else reads the incident tables meanwhile calls batch_flush() first
 * (merges, recorded actions, incident_flush()).  Memory that fills up is
 * flushed and correlation goes on; a lookup that finds more open incidents than
 * it can remember switches the rest of the batch to writing through after
 * every event.  A rollback forgets it all (on_batch_end with !ok).
 */
#define BATCH_INCIDENTS 32      /* incidents kept in memory */
#define BATCH_FILL 16384        /* flush before an event when this many slots are used */
#define BATCH_SLOTS (BATCH_FILL + 256) /* slots: hosts, segments, keys, lookups */
#define BATCH_INDEX 65536       /* hash index over the slots (a power of two) */
#define BATCH_LOOKUP_IDS 16     /* open incidents one lookup remembers */
#define BATCH_AUDIT_EVENTS 1024 /* events one incident.events audit row names */
#define BATCH_TEXT 128          /* longest address, segment or campaign key kept */
#define BATCH_LINKS 256         /* event links written together */

enum slot_tag { SLOT_FREE, SLOT_HOST, SLOT_SEGMENT, SLOT_KEY, SLOT_BY_HOST, SLOT_BY_KEY };

struct batch_slot {
    enum slot_tag tag;                  /* what the slot holds */
    uint16_t at;                        /* its entry in the batch's index */
    int64_t incident;                   /* its incident (0 for lookups) */
    char text[BATCH_TEXT];              /* address, segment or campaign key */
    union {
        /* SLOT_HOST: the host in the incident as the batch leaves it */
        struct {
            bool in_table;              /* the incident held it before (stored) */
            bool acting;                /* seen acting, stored or in this batch */
            bool dirty;                 /* to be written by the flush */
            struct incident_host seen;  /* what this batch saw (strings below) */
            uint64_t first_usec;        /* earliest packet time this batch saw */
            char segment[64];           /* seen.segment */
            char sensor[STORE_INCIDENT_NAME_MAX]; /* seen.sensor: the last sensor */
        };
        /* SLOT_SEGMENT, SLOT_KEY: the incident holds it */
        bool present;
        /* SLOT_BY_HOST, SLOT_BY_KEY: the open incidents holding the host or key */
        struct {
            size_t n;                         /* how many */
            int64_t ids[BATCH_LOOKUP_IDS];    /* their ids */
            uint64_t last[BATCH_LOOKUP_IDS];  /* their stored last_usec */
            bool acting_in[BATCH_LOOKUP_IDS]; /* the host acts in it (SLOT_BY_HOST) */
        };
    };
};

struct batch_incident {
    struct incident_row row;  /* as the batch leaves it (fields owned) */
    bool dirty;               /* differs from the stored row */
    bool all_known;           /* opened in this batch: all of it is in memory */
    unsigned n_events;        /* events joined in this batch, not yet audited */
    json_t *events;           /* {sensor: [uid, ...]} of those */
    json_t *one;              /* incident.event details of the first of them */
    unsigned kinds[32];       /* those events by kind */
};

struct batch {
    struct batch_incident inc[BATCH_INCIDENTS]; /* incidents touched */
    size_t n_inc;                               /* how many */
    struct batch_slot *slots;                   /* BATCH_SLOTS, the first n_used in use */
    size_t n_used;                              /* how many */
    uint32_t *index;                            /* BATCH_INDEX: hash bits << 16 | slot + 1 */
    struct incident_link links[BATCH_LINKS];    /* events linked, not yet written */
    size_t n_links;                             /* how many */
    bool overflow;                              /* a lookup could not remember: flush */
    bool write_through;                         /* flush after every event until batch end */
    int failed;                                 /* a flush failed: the batch must roll back */
};

static uint64_t slot_hash(enum slot_tag tag, int64_t incident, const char *text)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)tag;
    h = (h ^ (uint64_t)incident) * 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ^ (h >> 29);
}

/*
 * The slot for (tag, incident, text): found, or (create) taken and zeroed with
 * *fresh set; NULL when absent and !create.  The caller checked for room.  The
 * index is open-addressed and at most a fifth full; each entry keeps 16 bits of
 * the hash, so a probe reads a slot only when those match.
 */
static struct batch_slot *slot_get(struct batch *b, enum slot_tag tag, int64_t incident,
                                   const char *text, bool create, bool *fresh)
{
    uint64_t h = slot_hash(tag, incident, text);
    uint32_t bits = (uint32_t)(h >> 48) << 16;
    size_t i = (size_t)h & (BATCH_INDEX - 1);
    if (fresh)
        *fresh = false;
    for (;;) {
        uint32_t e = b->index[i];
        if (!e)
            break;
        if ((e & 0xffff0000u) == bits) {
            struct batch_slot *s = &b->slots[(e & 0xffffu) - 1];
            if (s->tag == tag && s->incident == incident && strcmp(s->text, text) == 0)
                return s;
        }
        i = (i + 1) & (BATCH_INDEX - 1);
    }
    if (!create)
        return NULL;
    WARD_ASSERT(b->n_used < BATCH_SLOTS);
    struct batch_slot *s = &b->slots[b->n_used];
    memset(s, 0, sizeof(*s));
    s->tag = tag;
    s->incident = incident;
    s->at = (uint16_t)i;
    size_t len = strnlen(text, sizeof(s->text) - 1);
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    b->index[i] = bits | (uint32_t)(b->n_used + 1);
    b->n_used++;
    if (fresh)
        *fresh = true;
    return s;
}

static bool batch_is_full(const struct batch *b)
{
    return b->n_used >= BATCH_FILL || b->n_inc >= BATCH_INCIDENTS;
}

static void batch_incident_fini(struct batch_incident *bi)
{
    store_incidents_row_fini(&bi->row);
    json_decref(bi->events);
    json_decref(bi->one);
    memset(bi, 0, sizeof(*bi));
}

/* Forgets everything the batch kept (after a flush, or when it rolls back). */
static void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n_inc; i++)
        batch_incident_fini(&b->inc[i]);
    b->n_inc = 0;
    for (size_t i = 0; i < b->n_used; i++)
        b->index[b->slots[i].at] = 0;
    b->n_used = 0;
    b->n_links = 0;
    b->overflow = false;
}

static bool is_open(const struct incident_row *row)
{
    return row->state != INCIDENT_CLOSED && row->state != INCIDENT_MERGED;
}

static struct batch *batch_new(void)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (b) {
        b->slots = calloc(BATCH_SLOTS, sizeof(*b->slots));
        b->index = calloc(BATCH_INDEX, sizeof(*b->index));
    }
    if (b && (!b->slots || !b->index)) {
        free(b->slots);
        free(b->index);
        free(b);
        b = NULL;
    }
    return b;
}

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    batch_clear(b);
    free(b->slots);
    free(b->index);
    free(b);
}

static struct batch_incident *batch_peek(struct batch *b, int64_t id)
{
    for (size_t i = 0; i < b->n_inc; i++) {
        if (b->inc[i].row.id == id)
            return &b->inc[i];
    }
    return NULL;
}

/* Writes the audit row naming the events that joined bi since the last one. */
static int batch_audit(struct console *c, struct batch_incident *bi)
{
    if (!bi->n_events)
        return 0;
    int rc;
    if (bi->n_events == 1 && bi->one) {
        rc = audit_append(c->store, console_ward_actor(), "incident.event", "incident",
                          bi->row.id, bi->one, NULL);
    } else {
        json_t *kinds = json_object();
        for (unsigned k = 0; kinds && k < 32; k++) {
            if (bi->kinds[k])
                json_object_set_new(kinds, event_kind_name((Ward__EventKind)k),
                                    json_integer(bi->kinds[k]));
        }
        json_t *d = json_pack("{s:I, s:o, s:O}", "count", (json_int_t)bi->n_events, "kinds",
                              kinds, "events", bi->events);
        rc = d ? audit_append(c->store, console_ward_actor(), "incident.events", "incident",
                              bi->row.id, d, NULL)
               : -ENOMEM;
        json_decref(d);
    }
    json_decref(bi->events);
    json_decref(bi->one);
    bi->events = bi->one = NULL;
    bi->n_events = 0;
    memset(bi->kinds, 0, sizeof(bi->kinds));
    return rc;
}

/* Notes that ev joined bi, for its audit row. */
static int batch_note_event(struct console *c, struct batch_incident *bi, const char *sensor,
                            const Ward__Event *ev)
{
    if (!bi->n_events) {
        bi->one = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "sensor", sensor, "uid", ev->uid,
                            "kind", event_kind_name(ev->kind), "src", ev->src ? ev->src : "",
                            "dst", ev->dst ? ev->dst : "", "summary",
                            ev->summary ? ev->summary : "");
        bi->events = json_object();
        if (!bi->one || !bi->events)
            return -ENOMEM;
    }
    json_t *list = json_object_get(bi->events, sensor);
    if (!list) {
        list = json_array();
        if (!list || json_object_set_new(bi->events, sensor, list) < 0)
            return -ENOMEM;
    }
    if (json_array_append_new(list, json_string(ev->uid)) < 0)
        return -ENOMEM;
    bi->n_events++;
    if ((unsigned)ev->kind < 32)
        bi->kinds[ev->kind]++;
    return bi->n_events >= BATCH_AUDIT_EVENTS ? batch_audit(c, bi) : 0;
}

/* Writes what the batch kept in memory and forgets it.  0 or negative errno. */
static int batch_flush(struct console *c, struct incidents *m)
{
    struct batch *b = m->batch;
    int rc = store_incidents_link_events(c->store, b->links, b->n_links);
    b->n_links = 0;
    for (size_t i = 0; rc == 0 && i < b->n_used; i++) {
        struct batch_slot *s = &b->slots[i];
        if (s->tag == SLOT_HOST && s->dirty)
            rc = store_incidents_put_host(c->store, s->incident, &s->seen, s->first_usec);
    }
    for (size_t i = 0; rc == 0 && i < b->n_inc; i++) {
        struct batch_incident *bi = &b->inc[i];
        if (bi->dirty)
            rc = store_incidents_update(c->store, &bi->row);
        if (rc == 0)
            rc = batch_audit(c, bi);
    }
    batch_clear(b);
    if (rc && !b->failed)
        b->failed = rc; /* even if the caller goes on, the batch will not commit */
    return rc;
}

/* The incident that holds event: linked in this batch, or stored. */
static int batch_event_owner(struct console *c, const struct batch *b, int64_t event,
                             int64_t *incident)
{
    for (size_t i = b->n_links; i-- > 0;) {
        if (b->links[i].event == event) {
            *incident = b->links[i].incident;
            return 0;
        }
    }
    return store_incidents_event_owner(c->store, event, incident);
}

/* Links event to incident, written with the batch (store_incidents_link_event()). */
static int batch_link(struct console *c, struct incidents *m, int64_t incident, int64_t event,
                      uint64_t now)
{
    struct batch *b = m->batch;
    if (b->n_links == BATCH_LINKS) {
        int rc = store_incidents_link_events(c->store, b->links, b->n_links);
        b->n_links = 0;
        if (rc) {
            if (!b->failed)
                b->failed = rc;
            return rc;
        }
    }
    b->links[b->n_links++] = (struct incident_link){event, incident, now};
    return 0;
}

int incident_flush(struct console *c)
{
    struct incidents *m = state_of(c);
    return m && m->batch ? batch_flush(c, m) : 0;
}

/* The incident id in the batch's memory, read from the store the first time. */
static int batch_incident(struct console *c, struct incidents *m, int64_t id,
                          struct batch_incident **out)
{
    struct batch *b = m->batch;
    struct batch_incident *bi = batch_peek(b, id);
    if (!bi) {
        if (b->n_inc >= BATCH_INCIDENTS) {
            int rc = batch_flush(c, m);
            if (rc)
                return rc;
        }
        bi = &b->inc[b->n_inc];
        memset(bi, 0, sizeof(*bi));
        int rc = store_incidents_get(c->store, id, &bi->row);
        if (rc) {
            store_incidents_row_fini(&bi->row);
            return rc;
        }
        b->n_inc++;
    }
    *out = bi;
    return 0;
}

/* Adds id to the sorted set ids[0..*n) (as store_incidents_candidates() does). */
static void add_id(int64_t *ids, size_t cap, size_t *n, int64_t id)
{
    size_t i = 0;
    while (i < *n && ids[i] < id)
        i++;
    if ((i < *n && ids[i] == id) || *n >= cap)
        return;
    memmove(ids + i + 1, ids + i, (*n - i) * sizeof(*ids));
    ids[i] = id;
    (*n)++;
}

/* The lookup slot of a host (by_host) or key, filled from the store the first time. */
static int batch_lookup(struct console *c, struct incidents *m, bool by_host, const char *text,
                        struct batch_slot **out)
{
    bool fresh;
    struct batch_slot *s =
        slot_get(m->batch, by_host ? SLOT_BY_HOST : SLOT_BY_KEY, 0, text, true, &fresh);
    *out = s;
    if (!fresh)
        return 0;
    return by_host ? store_incidents_open_by_host(c->store, text, s->ids, s->last, s->acting_in,
                                                  BATCH_LOOKUP_IDS, &s->n)
                   : store_incidents_open_by_key(c->store, text, s->ids, s->last,
                                                 BATCH_LOOKUP_IDS, &s->n);
}

/* Records that incident now holds the host or key, in its lookup if there is one. */
static void batch_lookup_add(struct incidents *m, bool by_host, const char *text, int64_t id,
                             bool acting)
{
    struct batch_slot *s =
        slot_get(m->batch, by_host ? SLOT_BY_HOST : SLOT_BY_KEY, 0, text, false, NULL);
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ids[i] == id)
            return;
    }
    if (s->n >= BATCH_LOOKUP_IDS) {
        m->batch->overflow = true;
        return;
    }
    s->ids[s->n] = id;
    s->last[s->n] = 0;
    s->acting_in[s->n] = acting;
    s->n++;
}

/*
 * store_incidents_candidates() answered from the batch's memory: the open
 * incidents active since since_usec holding one of hosts or key.
 */
static int batch_candidates(struct console *c, struct incidents *m, const char *const *hosts,
                            size_t nhosts, const char *key, uint64_t since_usec, int64_t *ids,
                            size_t cap, size_t *n)
{
    struct batch *b = m->batch;
    if (b->write_through)
        return store_incidents_candidates(c->store, hosts, nhosts, key, since_usec, ids, cap, n);
    *n = 0;
    for (size_t h = 0; h <= nhosts; h++) {
        const char *text = h < nhosts ? hosts[h] : key;
        if (!text || !*text)
            continue;
        struct batch_slot *s;
        int rc = batch_lookup(c, m, h < nhosts, text, &s);
        if (rc == -E2BIG) {
            /* More than memory holds: write everything and ask the store from now on. */
            b->write_through = true;
            rc = batch_flush(c, m);
            return rc ? rc
                      : store_incidents_candidates(c->store, hosts, nhosts, key, since_usec,
                                                   ids, cap, n);
        }
        if (rc)
            return rc;
        for (size_t i = 0; i < s->n; i++) {
            const struct batch_incident *bi = batch_peek(b, s->ids[i]);
            bool open = bi ? is_open(&bi->row) : true;
            uint64_t last = bi ? bi->row.last_usec : s->last[i];
            if (open && last >= since_usec)
                add_id(ids, cap, n, s->ids[i]);
        }
    }
    return 0;
}

/*
 * store_incidents_add_host() through the batch's memory.  The host's
 * criticality (h->criticality is ignored) is asked for once per batch, when the
 * batch first meets the host in the incident; *crit receives it.
 */
static int batch_add_host(struct console *c, struct incidents *m, struct batch_incident *bi,
                          const struct incident_host *h, struct incident_host_delta *delta,
                          int *crit)
{
    struct batch *b = m->batch;
    int64_t id = bi->row.id;
    bool fresh;
    int rc = 0;
    memset(delta, 0, sizeof(*delta));
    struct batch_slot *s = slot_get(b, SLOT_HOST, id, h->addr, true, &fresh);
    if (fresh) {
        bool exists = false, acting = false;
        const struct batch_slot *look =
            bi->all_known || !is_open(&bi->row)
                ? NULL
                : slot_get(b, SLOT_BY_HOST, 0, h->addr, false, NULL);
        if (bi->all_known) {
            /* Opened in this batch: every host it holds is in memory. */
        } else if (look) {
            for (size_t i = 0; i < look->n; i++) {
                if (look->ids[i] == id) {
                    exists = true;
                    acting = look->acting_in[i];
                }
            }
        } else {
            rc = store_incidents_host_find(c->store, id, h->addr, &exists, &acting);
            if (rc)
                return rc;
        }
        s->in_table = exists;
        s->acting = acting;
        snprintf(s->segment, sizeof(s->segment), "%s", h->segment ? h->segment : "");
        s->seen = *h;
        s->seen.acting = s->seen.targeted = false;
        s->seen.criticality = grade_criticality(&m->rules, c, h->addr);
        s->first_usec = h->ts_usec;
        if (!exists && h->internal && s->segment[0]) {
            bool seg_fresh;
            struct batch_slot *g = slot_get(b, SLOT_SEGMENT, id, s->segment, true, &seg_fresh);
            if (seg_fresh && !bi->all_known)
                rc = store_incidents_has_segment(c->store, id, s->segment, &g->present);
            if (rc)
                return rc;
            delta->new_segment = !g->present;
            g->present = true;
        }
        delta->new_host = !exists;
        if (!exists)
            batch_lookup_add(m, true, h->addr, id, h->acting);
    }
    delta->new_source = h->acting && !s->acting;
    s->acting |= h->acting;
    s->seen.acting |= h->acting;
    s->seen.targeted |= h->targeted;
    *crit = s->seen.criticality;
    if (h->ts_usec < s->first_usec)
        s->first_usec = h->ts_usec;
    if (h->ts_usec > s->seen.ts_usec)
        s->seen.ts_usec = h->ts_usec;
    snprintf(s->sensor, sizeof(s->sensor), "%s", h->sensor ? h->sensor : "");
    s->seen.addr = s->text;
    s->seen.segment = s->segment;
    s->seen.sensor = s->sensor;
    s->dirty = true;
    return 0;
}

/* store_incidents_add_key() once per batch for each incident and key. */
static int batch_add_key(struct console *c, struct incidents *m, struct batch_incident *bi,
                         const char *key)
{
    bool fresh;
    struct batch_slot *s = slot_get(m->batch, SLOT_KEY, bi->row.id, key, true, &fresh);
    if (!fresh)
        return 0;
    s->present = true;
    batch_lookup_add(m, false, key, bi->row.id, false);
    return store_incidents_add_key(c->store, bi->row.id, key);
}

static json_t *level_json(int from, int to, const char *reason)
{
    return json_pack("{s:s, s:s, s:s}", "from", from ? grade_level_name(from) : "none", "to",
                     grade_level_name(to), "reason", reason);
}

/*
 * Grades row again.  On creation the computed level is taken as it is; later
 * Ward only raises: when the computed level is more serious than any it computed
 * before (the scope grew) and than the level in force.
 */
static int regrade(struct console *c, struct incidents *m, struct batch_incident *bi,
                   bool creating)
{
    struct incident_row *row = &bi->row;
    struct grade_facts f;
    incident_facts(row, &f);
    /* Most events change nothing: the reason is formatted only when the level moves. */
    if (!creating && grade_level_of(&m->rules, &f) >= row->auto_level)
        return 0;
    struct grade_result g;
    grade_compute(&m->rules, &f, &g);
    int rc;
    if (creating) {
        row->level = row->auto_level = g.level;
        snprintf(row->level_reason, sizeof(row->level_reason), "%s", g.reason);
        snprintf(row->level_by, sizeof(row->level_by), "ward");
        return 0;
    }
    if (g.level >= row->auto_level)
        return 0;
    row->auto_level = g.level;
    if (g.level >= row->level)
        return 0;
    rc = batch_audit(c, bi); /* the events that raised it come first */
    if (rc)
        return rc;
    json_t *d = level_json(row->level, g.level, g.reason);
    rc = audit_append(c->store, console_ward_actor(), "incident.grade", "incident", row->id, d,
                      NULL);
    json_decref(d);
    if (rc)
        return rc;
    log_info("incident %" PRId64 ": Ward raised the level from %s to %s: %s", row->id,
             grade_level_name(row->level), grade_level_name(g.level), g.reason);
    row->level = g.level;
    snprintf(row->level_reason, sizeof(row->level_reason), "%s", g.reason);
    snprintf(row->level_by, sizeof(row->level_by), "ward");
    return 0;
}

static void make_title(struct incident_row *row, const Ward__Event *ev)
{
    const char *kind = event_kind_name(ev->kind);
    if (row->campaign) {
        snprintf(row->title, sizeof(row->title), "Campaign (%s) across %u internal hosts in %u "
                 "segment%s", row->campaign_key, row->n_hosts, row->n_segments,
                 row->n_segments == 1 ? "" : "s");
    } else if (ev->src && *ev->src) {
        snprintf(row->title, sizeof(row->title), "%s from %s%s%s", kind, ev->src,
                 ev->dst && *ev->dst ? " to " : "", ev->dst ? ev->dst : "");
    } else {
        snprintf(row->title, sizeof(row->title), "%s against %s", kind,
                 ev->dst && *ev->dst ? ev->dst : "unknown host");
    }
}

/* Folds incident from into into (both open), carrying over what into lacks. */
static int merge_into(struct console *c, struct incident_row *into, int64_t from_id)
{
    struct incident_row from;
    int rc = store_incidents_get(c->store, from_id, &from);
    if (rc)
        return rc;
    rc = store_incidents_merge(c->store, from_id, into->id);
    if (rc)
        goto out;
    if (from.detected_usec && from.detected_usec < into->detected_usec)
        into->detected_usec = from.detected_usec;
    if (from.first_usec && from.first_usec < into->first_usec)
        into->first_usec = from.first_usec;
    if (from.last_usec > into->last_usec)
        into->last_usec = from.last_usec;
    if (from.level < into->level) {
        into->level = from.level;
        snprintf(into->level_reason, sizeof(into->level_reason), "%s", from.level_reason);
        snprintf(into->level_by, sizeof(into->level_by), "%s", from.level_by);
    }
    if (from.auto_level < into->auto_level)
        into->auto_level = from.auto_level;
    for (int k = 0; k < SLA_CLOCK_COUNT; k++) {
        if (from.met_usec[k] && !into->met_usec[k]) {
            into->met_usec[k] = from.met_usec[k];
            snprintf(into->met_by[k], sizeof(into->met_by[k]), "%s", from.met_by[k]);
        }
    }
    if (!into->acked_usec && from.acked_usec) {
        into->acked_usec = from.acked_usec;
        snprintf(into->acked_by, sizeof(into->acked_by), "%s", from.acked_by);
    }
    if (!into->assignee[0])
        snprintf(into->assignee, sizeof(into->assignee), "%s", from.assignee);
    into->containment += from.containment;
    json_object_update_missing(into->fields, from.fields);
    from.state = INCIDENT_MERGED;
    from.merged_into = into->id;
    from.updated_usec = clock_now_usec();
    rc = store_incidents_update(c->store, &from);
    if (rc)
        goto out;
    json_t *d = json_pack("{s:I}", "into", (json_int_t)into->id);
    rc = audit_append(c->store, console_ward_actor(), "incident.merge", "incident", from_id, d,
                      NULL);
    json_decref(d);
    if (rc)
        goto out;
    d = json_pack("{s:I, s:s}", "merged", (json_int_t)from_id, "title", from.title);
    rc = audit_append(c->store, console_ward_actor(), "incident.merge", "incident", into->id, d,
                      NULL);
    json_decref(d);
out:
    store_incidents_row_fini(&from);
    return rc;
}

static int on_event(struct console *c, struct incidents *m, const struct msg_origin *o,
                    const Ward__Event *ev)
{
    if ((unsigned)ev->kind < 32 && (m->ignore_kinds & (1u << (unsigned)ev->kind)))
        return 0;
    if (!ev->uid || !*ev->uid || !o || o->event_id <= 0)
        return 0; /* not a stored event: nothing to link */
    const char *sensor = o->sensor ? o->sensor : "";
    uint64_t now = clock_now_usec();
    uint64_t first = ev->first_usec ? ev->first_usec : now;
    uint64_t last = ev->last_usec >= first ? ev->last_usec : first;
    struct batch *b = m->batch;

    struct ev_host hosts[INCIDENT_MAX_EVENT_HOSTS];
    size_t nhosts = 0;
    host_add(m, hosts, &nhosts, ev->src, true);
    host_add(m, hosts, &nhosts, ev->dst, false);
    if (ev->kind == WARD__EVENT_KIND__LATERAL) {
        for (size_t i = 0; i < ev->n_targets; i++)
            host_add(m, hosts, &nhosts, ev->targets[i], false);
    }
    bool src_internal = nhosts > 0 && hosts[0].acting && hosts[0].internal;
    char key[128];
    campaign_key(ev, src_internal, key, sizeof(key));

    int rc = b->failed;
    if (rc == 0 && batch_is_full(b))
        rc = batch_flush(c, m);
    if (rc)
        return rc;

    struct batch_incident *bi = NULL;
    bool creating = false, new_event = false;
    int64_t owner = 0;
    /* Event rows only grow: one above every link ever made is new to correlation. */
    rc = o->event_id > m->max_linked ? -ENOENT : batch_event_owner(c, b, o->event_id, &owner);
    if (rc == 0) {
        rc = batch_incident(c, m, owner, &bi);
    } else if (rc == -ENOENT) {
        new_event = true;
        const char *join[INCIDENT_MAX_EVENT_HOSTS];
        size_t njoin = 0;
        for (size_t i = 0; i < nhosts; i++) {
            if (hosts[i].joins)
                join[njoin++] = hosts[i].addr;
        }
        int64_t ids[INCIDENT_MAX_CANDIDATES];
        size_t n = 0;
        uint64_t since = first > m->window_usec ? first - m->window_usec : 0;
        rc = batch_candidates(c, m, join, njoin, key, since, ids, WARD_ARRAY_LEN(ids), &n);
        if (rc == 0 && n == 0) {
            creating = true;
            bi = &b->inc[b->n_inc];
            memset(bi, 0, sizeof(*bi));
            struct incident_row *row = &bi->row;
            row->state = INCIDENT_RECORDED;
            row->level = row->auto_level = GRADE_LEVEL_MAX;
            row->first_usec = first;
            row->last_usec = last;
            row->detected_usec = now;
            row->updated_usec = now;
            snprintf(row->campaign_key, sizeof(row->campaign_key), "%s", key);
            make_title(row, ev);
            row->fields = json_object();
            rc = row->fields ? store_incidents_insert(c->store, row) : -ENOMEM;
            if (rc == 0) {
                bi->all_known = true;
                b->n_inc++;
            } else {
                batch_incident_fini(bi);
                bi = NULL;
            }
        } else if (rc == 0 && n == 1) {
            rc = batch_incident(c, m, ids[0], &bi);
        } else if (rc == 0) {
            /* A merge works on the stored tables: write the batch's memory first. */
            rc = batch_flush(c, m);
            if (rc == 0)
                rc = batch_incident(c, m, ids[0], &bi);
            for (size_t i = 1; rc == 0 && i < n; i++)
                rc = merge_into(c, &bi->row, ids[i]);
            if (rc == 0)
                rc = recount(c, m, &bi->row);
        }
    }
    if (rc)
        return rc;
    struct incident_row *row = &bi->row;
    bi->dirty = true;

    if (new_event)
        rc = batch_link(c, m, row->id, o->event_id, now);
    if (rc == 0 && o->event_id > m->max_linked)
        m->max_linked = o->event_id;
    if ((unsigned)ev->kind < 32)
        row->kinds |= 1u << (unsigned)ev->kind;
    for (size_t i = 0; rc == 0 && i < nhosts; i++) {
        struct incident_host_delta delta;
        struct incident_host h = {
            .addr = hosts[i].addr,
            .internal = hosts[i].internal,
            .acting = hosts[i].acting,
            .targeted = !hosts[i].acting,
            .segment = hosts[i].segment,
            .sensor = sensor,
            .ts_usec = last,
        };
        int crit = 0;
        rc = batch_add_host(c, m, bi, &h, &delta, &crit);
        if (rc == 0)
            count_host(row, h.addr, h.internal, crit, &delta);
    }
    if (rc == 0 && key[0])
        rc = batch_add_key(c, m, bi, key);
    if (rc)
        return rc;
    if (first < row->first_usec)
        row->first_usec = first;
    if (last > row->last_usec)
        row->last_usec = last;
    row->updated_usec = now;
    if (!row->campaign_key[0] && key[0])
        snprintf(row->campaign_key, sizeof(row->campaign_key), "%s", key);

    if (!row->campaign && key[0] && row->n_sources >= 2) {
        row->campaign = true;
        rc = batch_audit(c, bi);
        if (rc == 0)
            rc = audit_append(c->store, console_ward_actor(), "incident.campaign", "incident",
                              row->id, NULL, NULL);
        if (rc)
            return rc;
    }
    if (row->campaign)
        make_title(row, ev);

    if (creating) {
        rc = regrade(c, m, bi, true);
        json_t *d = rc ? NULL : json_pack("{s:s, s:s, s:s, s:s}", "title", row->title, "level",
                                          grade_level_name(row->level), "reason",
                                          row->level_reason, "first_event", ev->uid);
        if (rc == 0)
            rc = audit_append(c->store, console_ward_actor(), "incident.open", "incident",
                              row->id, d, NULL);
        json_decref(d);
        if (rc == 0)
            log_info("incident %" PRId64 " opened: %s (level %s)", row->id, row->title,
                     grade_level_name(row->level));
    } else {
        rc = regrade(c, m, bi, false);
    }
    if (rc == 0 && new_event)
        rc = batch_note_event(c, bi, sensor, ev);
    if (rc == 0 && (b->overflow || b->write_through))
        rc = batch_flush(c, m);
    return rc;
}

static int incident_mod_message(struct console *c, const struct msg_origin *o,
                                const Ward__Message *msg)
{
    struct incidents *m = state_of(c);
    if (!m || msg->kind_case != WARD__MESSAGE__KIND_EVENT || !msg->event)
        return 0;
    return on_event(c, m, o, msg->event);
}

/*
 * A batch ends: its events' audit rows are written (one per incident per
 * batch); the rest stays in memory for the next batch of the same transaction
 * and is written by incident_mod_commit().
 */
static int incident_mod_batch_end(struct console *c, bool ok)
{
    struct incidents *m = state_of(c);
    if (!m)
        return 0;
    struct batch *b = m->batch;
    int rc = 0;
    if (ok) {
        for (size_t i = 0; rc == 0 && i < b->n_inc; i++)
            rc = batch_audit(c, &b->inc[i]);
        if (rc == 0)
            rc = b->failed;
    } else {
        batch_clear(b);
    }
    if (rc && ok)
        batch_clear(b); /* the caller rolls back */
    b->write_through = false;
    b->failed = 0;
    return rc;
}

/* The transaction commits: write what the batches kept in memory. */
static int incident_mod_commit(struct console *c)
{
    struct incidents *m = state_of(c);
    if (!m)
        return 0;
    int rc = batch_flush(c, m);
    if (rc == 0)
        rc = m->batch->failed;
    m->batch->failed = 0;
    return rc;
}

/* ---------------------------------------------------------------- JSON views */

static void set_time_or_null(json_t *o, const char *key, uint64_t usec)
{
    if (usec)
        json_set_time(o, key, usec);
    else
        json_object_set_new(o, key, json_null());
}

static json_t *clocks_json(const struct incidents *m, const struct incident_row *row,
                           uint64_t now)
{
    json_t *arr = json_array();
    for (int k = 0; arr && k < SLA_CLOCK_COUNT; k++) {
        struct sla_status s;
        /* A merged incident's clocks run on in the one it joined. */
        sla_evaluate(&m->sla, row->state == INCIDENT_MERGED ? 0 : row->level, (enum sla_clock)k,
                     row->detected_usec, row->met_usec[k],
                     row->closed_usec ? row->closed_usec : now, row->state == INCIDENT_CLOSED,
                     &s);
        char text[48], setting[32];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "clock",
                              sla_clock_name((enum sla_clock)k), "state",
                              sla_state_name(s.state), "text", sla_format(&s, text, sizeof(text)),
                              "allowed",
                              sla_format_setting(m->sla.deadline_usec[row->level][k], setting,
                                                 sizeof(setting)),
                              "left_sec", (json_int_t)(s.left_usec / (int64_t)USEC_PER_SEC));
        if (!o)
            break;
        set_time_or_null(o, "deadline", s.deadline_usec);
        set_time_or_null(o, "met", row->met_usec[k]);
        json_object_set_new(o, "met_by", json_string(row->met_by[k]));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *brief_json(struct console *c, const struct incident_row *row, uint64_t now)
{
    const struct incidents *m = state_of(c);
    json_t *o = json_pack("{s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "id",
                          (json_int_t)row->id, "title", row->title, "state",
                          incident_state_name(row->state), "level_num", row->level, "level",
                          grade_level_name(row->level), "level_zh",
                          grade_level_name_zh(row->level), "level_reason", row->level_reason,
                          "level_by", row->level_by, "campaign", row->campaign, "campaign_key",
                          row->campaign_key, "assignee", row->assignee, "acked_by",
                          row->acked_by);
    if (!o)
        return NULL;
    set_time_or_null(o, "first", row->first_usec);
    set_time_or_null(o, "last", row->last_usec);
    set_time_or_null(o, "detected", row->detected_usec);
    set_time_or_null(o, "updated", row->updated_usec);
    set_time_or_null(o, "acked", row->acked_usec);
    set_time_or_null(o, "closed", row->closed_usec);
    json_set_u64(o, "detected_usec", row->detected_usec);
    json_object_set_new(o, "merged_into", json_integer(row->merged_into));
    json_object_set_new(o, "containment_actions", json_integer(row->containment));
    json_object_set_new(o, "clocks", clocks_json(m, row, now));
    json_object_set_new(o, "hosts_count", json_integer(row->n_hosts));
    json_object_set_new(o, "segments_count", json_integer(row->n_segments));
    return o;
}

/* Evidence: the vault's items when a source is registered, else the events' hashes. */
static json_t *evidence_json(struct console *c, int64_t id, const json_t *events)
{
    json_t *items = NULL;
    if (evidence_source && evidence_source(c, id, &items) == 0 && json_is_array(items))
        return items;
    json_decref(items);
    items = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e) {
        const json_t *ev = json_object_get(e, "event");
        const json_t *hashes = json_object_get(ev, "evidence");
        size_t j;
        const json_t *h;
        json_array_foreach(hashes, j, h) {
            if (!json_is_string(h))
                continue;
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s}", "sha256", json_string_value(h),
                                            "sensor", json_str(e, "sensor", ""), "event",
                                            json_str(e, "uid", "")));
        }
    }
    return items;
}

static int by_audit_id(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return x < y ? -1 : x > y;
}

/*
 * The audit rows of the incident and of the incidents merged into it (their
 * events and actions are its history too), by audit id, at most limit.
 */
static int timeline_json(struct console *c, int64_t id, uint64_t limit, json_t **out)
{
    int64_t ids[INCIDENT_MAX_CANDIDATES + 1];
    size_t n = 0;
    ids[0] = id;
    int rc = store_incidents_merged(c->store, id, ids + 1, INCIDENT_MAX_CANDIDATES, &n);
    if (rc)
        return rc;
    n++;
    json_t *all = json_array();
    if (!all)
        return -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct audit_query q = {.object = "incident", .object_id = ids[i], .limit = limit};
        json_t *part = NULL;
        rc = audit_query(c->store, &q, &part);
        if (rc == 0)
            json_array_extend(all, part);
        json_decref(part);
    }
    if (rc) {
        json_decref(all);
        return rc;
    }
    if (n > 1) {
        /* Sort through a plain array of borrowed pointers, then rebuild. */
        size_t count = json_array_size(all);
        json_t **v = calloc(count ? count : 1, sizeof(*v));
        json_t *sorted = json_array();
        if (!v || !sorted) {
            free(v);
            json_decref(sorted);
            json_decref(all);
            return -ENOMEM;
        }
        for (size_t i = 0; i < count; i++)
            v[i] = json_array_get(all, i);
        qsort(v, count, sizeof(*v), by_audit_id);
        for (size_t i = 0; i < count && i < limit; i++)
            json_array_append(sorted, v[i]);
        free(v);
        json_decref(all);
        all = sorted;
    }
    *out = all;
    return 0;
}

/* The incident as JSON with at most timeline_limit rows of its timeline. */
static int show_json(struct console *c, int64_t id, uint64_t timeline_limit, json_t **out)
{
    struct incident_row row;
    int rc = store_incidents_get(c->store, id, &row);
    if (rc)
        return rc;
    json_t *o = brief_json(c, &row, clock_now_usec());
    json_t *hosts = NULL, *events = NULL, *techniques = NULL, *sensors = NULL,
           *segments = NULL, *timeline = NULL;
    uint64_t nevents = 0;
    rc = o ? 0 : -ENOMEM;
    if (rc == 0)
        rc = store_incidents_hosts_json(c->store, id, &hosts);
    if (rc == 0)
        rc = store_incidents_events_json(c->store, id, INCIDENT_SHOW_EVENTS, &events);
    if (rc == 0)
        rc = store_incidents_summary_json(c->store, id, &techniques, &sensors, &segments,
                                          &nevents);
    if (rc == 0) {
        rc = timeline_json(c, id, timeline_limit + 1, &timeline);
        bool cut = rc == 0 && json_array_size(timeline) > timeline_limit;
        if (cut)
            json_array_remove(timeline, json_array_size(timeline) - 1);
        if (rc == 0)
            json_object_set_new(o, "timeline_truncated", json_boolean(cut));
    }
    if (rc == 0) {
        json_object_set(o, "fields", row.fields);
        json_object_set_new(o, "evidence", evidence_json(c, id, events));
        json_object_set_new(o, "hosts", hosts);
        json_object_set_new(o, "events", events);
        json_object_set_new(o, "events_total", json_integer((json_int_t)nevents));
        json_object_set_new(o, "techniques", techniques);
        json_object_set_new(o, "sensors", sensors);
        json_object_set_new(o, "segments", segments);
        json_object_set_new(o, "timeline", timeline);
        *out = o;
    } else {
        json_decref(o);
        json_decref(hosts);
        json_decref(events);
        json_decref(timeline);
    }
    store_incidents_row_fini(&row);
    return rc;
}

int incident_show(struct console *c, int64_t id, json_t **out)
{
    int rc = incident_flush(c);
    if (rc)
        return rc;
    return show_json(c, id, INCIDENT_SHOW_TIMELINE, out);
}

int incident_exists(struct console *c, int64_t incident)
{
    struct incident_row row;
    int rc = incident_flush(c);
    if (rc)
        return rc;
    rc = store_incidents_get(c->store, incident, &row);
    store_incidents_row_fini(&row);
    return rc;
}

/* ---------------------------------------------------------------- deadline clocks */

/* The notice the notifier reads: what is due, and the incident. */
static json_t *notice_json(struct console *c, const struct incident_row *row,
                           enum sla_clock clock, enum sla_stage stage,
                           const struct sla_status *s, uint64_t now)
{
    json_t *inc = brief_json(c, row, now);
    json_t *hosts = NULL;
    if (inc && store_incidents_hosts_json(c->store, row->id, &hosts) == 0)
        json_object_set_new(inc, "hosts", hosts);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o*}", "type", "deadline", "clock",
                          sla_clock_name(clock), "stage", sla_stage_name(stage), "incident_id",
                          (json_int_t)row->id, "incident", inc);
    if (!o)
        return NULL;
    json_set_time(o, "deadline", s->deadline_usec);
    json_set_time(o, "now", now);
    json_object_set_new(o, "left_sec", json_integer(s->left_usec / (int64_t)USEC_PER_SEC));
    return o;
}

/* Records in one transaction (the console's own when no batch is open). */
static int record_notice(struct console *c, int64_t incident, const char *action, json_t *d,
                         const char *clock, const char *stage, uint64_t now, bool mark,
                         int status)
{
    bool own_tx = !store_in_tx(c->store);
    int trc = own_tx ? store_begin(c->store) : 0;
    if (trc == 0)
        trc = mark ? store_incidents_notice_mark(c->store, incident, clock, stage, now, status)
                   : store_incidents_notice_result(c->store, incident, clock, stage, status);
    if (trc == 0)
        trc = audit_append(c->store, console_ward_actor(), action, "incident", incident, d, NULL);
    if (own_tx) {
        if (trc == 0)
            trc = store_commit(c->store);
        else if (store_in_tx(c->store))
            store_rollback(c->store);
    }
    return trc;
}

/*
 * Starts the notifier for one notice and records that it was started
 * (incident.escalate); its outcome is recorded when it ends (incident.notified,
 * by reap_notices).  The console never waits for a notifier: a slow pager hook
 * must not stop events being stored.  -EBUSY when INCIDENT_NOTIFY_MAX are still
 * running (nothing recorded; the notice goes out on a later tick).
 */
static int send_notice(struct console *c, struct incidents *m, const struct incident_row *row,
                       enum sla_clock clock, enum sla_stage stage, const struct sla_status *s,
                       uint64_t now)
{
    if (m->sla.notify_cmd[0] && m->n_runs == INCIDENT_NOTIFY_MAX)
        return -EBUSY;
    /* What the notifier reads (every host of the incident): built only when one is set. */
    json_t *payload = NULL;
    if (m->sla.notify_cmd[0] && !(payload = notice_json(c, row, clock, stage, s, now)))
        return -ENOMEM;
    struct sla_run run;
    int rc = sla_notify_start(&m->sla, payload, &run);
    json_decref(payload);
    json_t *d = json_pack("{s:s, s:s, s:s}", "clock", sla_clock_name(clock), "stage",
                          sla_stage_name(stage), "command",
                          m->sla.notify_cmd[0] ? m->sla.notify_cmd : "none");
    if (!d)
        return -ENOMEM;
    json_set_time(d, "deadline", s->deadline_usec);
    if (rc == 0)
        json_object_set_new(d, "pid", json_integer(run.pid));
    else
        json_object_set_new(d, "error", json_string(rc == -ENOENT ? "no notifier configured"
                                                                  : strerror(-rc)));
    if (rc == -ENOENT)
        log_warn("incident %" PRId64 ": %s deadline %s, and no [notify] command is set",
                 row->id, sla_clock_name(clock),
                 stage == SLA_STAGE_OVERDUE ? "passed" : "is close");
    /* Marked at once, so a notice goes out once even if the console restarts. */
    int trc = record_notice(c, row->id, "incident.escalate", d, sla_clock_name(clock),
                            sla_stage_name(stage), now, true, rc == 0 ? -EINPROGRESS : rc);
    json_decref(d);
    if (rc == 0) {
        struct notice_run *r = &m->runs[m->n_runs++];
        r->run = run;
        r->incident = row->id;
        r->clock = clock;
        r->stage = stage;
        r->deadline_usec = s->deadline_usec;
    }
    return trc;
}

/*
 * Records the outcome of every notifier that has ended (or outlived [notify]
 * timeout and was killed).  With wait, waits for all of them (shutdown).
 */
static void reap_notices(struct console *c, struct incidents *m, bool wait)
{
    for (;;) {
        size_t kept = 0;
        for (size_t i = 0; i < m->n_runs; i++) {
            struct notice_run *r = &m->runs[i];
            int status;
            int rc = sla_notify_poll(&m->sla, &r->run, &status);
            if (rc == -EAGAIN) {
                m->runs[kept++] = *r;
                continue;
            }
            json_t *d = json_pack("{s:s, s:s, s:s, s:I}", "clock", sla_clock_name(r->clock),
                                  "stage", sla_stage_name(r->stage), "command",
                                  m->sla.notify_cmd, "pid", (json_int_t)r->run.pid);
            if (!d)
                continue;
            json_set_time(d, "deadline", r->deadline_usec);
            if (rc == 0)
                json_object_set_new(d, "exit_status", json_integer(status));
            else
                json_object_set_new(d, "error", json_string(strerror(-rc)));
            if (record_notice(c, r->incident, "incident.notified", d, sla_clock_name(r->clock),
                              sla_stage_name(r->stage), 0, false, rc == 0 ? status : rc) != 0)
                log_err("incident %" PRId64 ": cannot record the notifier's outcome",
                        r->incident);
            json_decref(d);
        }
        m->n_runs = kept;
        if (!wait || m->n_runs == 0)
            return;
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

size_t incident_notifiers_running(struct console *c)
{
    struct incidents *m = state_of(c);
    return m ? m->n_runs : 0;
}

static int check_clocks(struct console *c, struct incidents *m, const struct incident_row *row,
                        uint64_t now, unsigned *budget)
{
    for (int k = 0; k < SLA_CLOCK_COUNT && *budget > 0; k++) {
        if (row->met_usec[k])
            continue;
        struct sla_status s;
        sla_evaluate(&m->sla, row->level, (enum sla_clock)k, row->detected_usec, 0, now, false,
                     &s);
        if (s.state != SLA_STATE_WARNING && s.state != SLA_STATE_OVERDUE)
            continue;
        const char *clock = sla_clock_name((enum sla_clock)k);
        bool warned, overdue;
        int rc = store_incidents_notice_sent(c->store, row->id, clock, "warning", &warned);
        if (rc == 0)
            rc = store_incidents_notice_sent(c->store, row->id, clock, "overdue", &overdue);
        if (rc)
            return rc;
        if (s.state == SLA_STATE_WARNING && !warned) {
            (*budget)--;
            rc = send_notice(c, m, row, (enum sla_clock)k, SLA_STAGE_WARNING, &s, now);
        } else if (s.state == SLA_STATE_OVERDUE && !overdue) {
            (*budget)--;
            /* A warning that never went out is stale now: the overdue notice says it all. */
            if (!warned)
                rc = store_incidents_notice_mark(c->store, row->id, clock, "warning", now, -1);
            if (rc == 0)
                rc = send_notice(c, m, row, (enum sla_clock)k, SLA_STAGE_OVERDUE, &s, now);
        }
        if (rc == -EBUSY) {
            *budget = 0; /* every notifier slot is taken: the rest next tick */
            return 0;
        }
        if (rc)
            return rc;
    }
    return 0;
}

struct id_list {
    int64_t ids[INCIDENT_MAX_TICK]; /* open incidents */
    size_t n;                       /* how many */
};

static int collect_id(void *arg, const struct incident_row *row)
{
    struct id_list *l = arg;
    if (l->n >= WARD_ARRAY_LEN(l->ids))
        return 1;
    l->ids[l->n++] = row->id;
    return 0;
}

static void incident_mod_tick(struct console *c, uint64_t now_usec)
{
    struct incidents *m = state_of(c);
    if (!m)
        return;
    reap_notices(c, m, false);
    struct id_list *l = calloc(1, sizeof(*l));
    if (!l)
        return;
    if (store_incidents_each(c->store, true, 0, collect_id, l) < 0)
        goto out;
    /* A few notifiers started per tick, the rest next tick. */
    unsigned budget = INCIDENT_TICK_NOTICES;
    for (size_t i = 0; i < l->n && budget > 0; i++) {
        struct incident_row row;
        if (store_incidents_get(c->store, l->ids[i], &row) == 0)
            (void)!check_clocks(c, m, &row, now_usec, &budget);
        store_incidents_row_fini(&row);
    }
out:
    free(l);
}

/* ---------------------------------------------------------------- actions */

int incident_record_action(struct console *c, int64_t incident, const struct actor *who,
                           const char *action, const json_t *details)
{
    if (!action || !*action || strlen(action) > 48)
        return -EINVAL;
    struct incident_row row;
    int rc = incident_flush(c); /* the row may be in the batch's memory */
    if (rc)
        return rc;
    rc = store_incidents_get(c->store, incident, &row);
    if (rc) {
        store_incidents_row_fini(&row);
        return rc;
    }
    json_t *d = json_is_object(details) ? json_deep_copy(details) : json_object();
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    json_object_set_new(d, "action", json_string(action));
    rc = audit_append(c->store, who, "incident.action", "incident", incident, d, NULL);
    json_decref(d);
    if (rc == 0 && is_containment_action(action)) {
        row.containment++;
        row.updated_usec = clock_now_usec();
        rc = store_incidents_update(c->store, &row);
    }
out:
    store_incidents_row_fini(&row);
    return rc;
}

/* ---------------------------------------------------------------- control verbs */

static int arg_id(const struct ctl_req *req, int64_t *id, char *err, size_t errcap)
{
    const json_t *v = json_object_get(req->args, "id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return fail(err, errcap, -EINVAL, "an incident id (a positive number) is needed");
    *id = json_integer_value(v);
    return 0;
}

static int arg_text(const struct ctl_req *req, const char *key, const char *what, bool required,
                    const char **out, char *err, size_t errcap)
{
    const json_t *v = json_object_get(req->args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, errcap, -EINVAL, "%s is needed", what);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, errcap, -EINVAL, "%s must be text", what);
    if (json_string_length(v) > INCIDENT_TEXT_MAX)
        return fail(err, errcap, -EINVAL, "%s is longer than %d bytes", what, INCIDENT_TEXT_MAX);
    const char *s = json_string_value(v);
    while (*s == ' ')
        s++;
    if (required && !*s)
        return fail(err, errcap, -EINVAL, "%s is needed", what);
    *out = json_string_value(v);
    return 0;
}

/* Loads an incident a person wants to change: it must exist and not be merged. */
static int load_for_change(struct console *c, int64_t id, struct incident_row *row, char *err,
                           size_t errcap)
{
    int rc = store_incidents_get(c->store, id, row);
    if (rc == -ENOENT)
        return fail(err, errcap, rc, "no incident %" PRId64, id);
    if (rc)
        return fail(err, errcap, rc, "incident %" PRId64 ": %s", id, strerror(-rc));
    if (row->state == INCIDENT_MERGED)
        return fail(err, errcap, -EINVAL, "incident %" PRId64 " was merged into incident %" PRId64
                    "; act on that one", id, row->merged_into);
    return 0;
}

/* Writes row and its audit row in one transaction (unless the caller has one). */
static int commit_change(struct console *c, struct incident_row *row, const struct actor *who,
                         const char *action, const json_t *details, char *err, size_t errcap)
{
    bool own_tx = !store_in_tx(c->store);
    int rc = own_tx ? store_begin(c->store) : 0;
    row->updated_usec = clock_now_usec();
    if (rc == 0)
        rc = store_incidents_update(c->store, row);
    if (rc == 0)
        rc = audit_append(c->store, who, action, "incident", row->id, details, NULL);
    if (own_tx) {
        if (rc == 0)
            rc = store_commit(c->store);
        else if (store_in_tx(c->store))
            store_rollback(c->store);
    }
    if (rc)
        fail(err, errcap, rc, "incident %" PRId64 ": cannot record %s: %s", row->id, action,
             strerror(-rc));
    return rc;
}

/* Marks a clock met by who, if it was not; true if this call met it. */
static bool meet(struct incident_row *row, enum sla_clock k, const struct actor *who,
                 uint64_t now)
{
    if (row->met_usec[k])
        return false;
    row->met_usec[k] = now;
    snprintf(row->met_by[k], sizeof(row->met_by[k]), "%s", who->name);
    return true;
}

struct list_walk {
    struct console *c; /* for brief_json */
    json_t *arr;       /* the reply */
    uint64_t now;      /* one time for every row */
};

static int list_one(void *arg, const struct incident_row *row)
{
    struct list_walk *w = arg;
    json_t *o = brief_json(w->c, row, w->now);
    return o && json_array_append_new(w->arr, o) == 0 ? 0 : -ENOMEM;
}

static int cmd_list(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    int level = 0;
    const char *lv = json_str(req->args, "level", NULL);
    if (lv && grade_level_parse(lv, &level) < 0)
        return fail(err, errcap, -EINVAL, "level '%s' is not I, II, III or IV", lv);
    bool open_only = json_is_true(json_object_get(req->args, "open"));
    struct list_walk w = {c, json_array(), clock_now_usec()};
    if (!w.arr)
        return -ENOMEM;
    int rc = store_incidents_each(c->store, open_only, level, list_one, &w);
    if (rc) {
        json_decref(w.arr);
        return fail(err, errcap, rc < 0 ? rc : -EIO, "incidents: %s", strerror(rc < 0 ? -rc : EIO));
    }
    *reply = w.arr;
    return 0;
}

static int cmd_show(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    int64_t id;
    int rc = arg_id(req, &id, err, errcap);
    if (rc)
        return rc;
    rc = incident_show(c, id, reply);
    if (rc == -ENOENT)
        return fail(err, errcap, rc, "no incident %" PRId64, id);
    if (rc)
        return fail(err, errcap, rc, "incident %" PRId64 ": %s", id, strerror(-rc));
    return 0;
}

static int cmd_ack(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                   size_t errcap)
{
    int64_t id;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0 && row.acked_usec) {
        char t[40];
        rc = fail(err, errcap, -EALREADY, "incident %" PRId64 " was acknowledged by %s at %s",
                  id, row.acked_by, clock_format_iso(row.acked_usec, t, sizeof(t)));
    }
    if (rc == 0 && !is_open(&row))
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " is closed", id);
    if (rc == 0) {
        uint64_t now = clock_now_usec();
        row.acked_usec = now;
        snprintf(row.acked_by, sizeof(row.acked_by), "%s", req->actor->name);
        if (!row.assignee[0])
            snprintf(row.assignee, sizeof(row.assignee), "%s", req->actor->name);
        bool met = meet(&row, SLA_DIRECTOR, req->actor, now);
        json_t *d = json_pack("{s:b}", "director_clock_met", met);
        rc = commit_change(c, &row, req->actor, "incident.ack", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_notify(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    int64_t id;
    const char *to = NULL, *note = NULL;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    enum sla_clock k = SLA_DIRECTOR;
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "to", "--to director|leadership", true, &to, err, errcap);
    if (rc == 0 && (sla_clock_parse(to, &k) < 0 || k == SLA_HANDLING))
        rc = fail(err, errcap, -EINVAL, "--to must be director or leadership, not '%s'", to);
    if (rc == 0)
        rc = arg_text(req, "note", "the note", false, &note, err, errcap);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0) {
        bool met = meet(&row, k, req->actor, clock_now_usec());
        json_t *d = json_pack("{s:s, s:b, s:s}", "to", to, "clock_met", met, "note",
                              note ? note : "");
        rc = commit_change(c, &row, req->actor, "incident.notify", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_assign(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    int64_t id;
    const char *user = NULL;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "user", "a user name", true, &user, err, errcap);
    if (rc == 0 && strlen(user) >= sizeof(row.assignee))
        rc = fail(err, errcap, -EINVAL, "user name longer than %zu bytes",
                  sizeof(row.assignee) - 1);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0) {
        json_t *d = json_pack("{s:s, s:s}", "from", row.assignee, "to", user);
        snprintf(row.assignee, sizeof(row.assignee), "%s", user);
        rc = commit_change(c, &row, req->actor, "incident.assign", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_grade(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    int64_t id;
    const char *lv = NULL, *reason = NULL;
    int level = 0;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "level", "a level (I, II, III or IV)", true, &lv, err, errcap);
    if (rc == 0 && grade_level_parse(lv, &level) < 0)
        rc = fail(err, errcap, -EINVAL, "level '%s' is not I, II, III or IV", lv);
    if (rc == 0)
        rc = arg_text(req, "reason", "--reason TEXT (why the level changes)", true, &reason,
                      err, errcap);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0 && row.level == level)
        rc = fail(err, errcap, -EALREADY, "incident %" PRId64 " is level %s already", id,
                  grade_level_name(level));
    if (rc == 0) {
        json_t *d = level_json(row.level, level, reason);
        row.level = level;
        snprintf(row.level_reason, sizeof(row.level_reason), "%s", reason);
        snprintf(row.level_by, sizeof(row.level_by), "%s", req->actor->name);
        rc = commit_change(c, &row, req->actor, "incident.grade", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_note(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    int64_t id;
    const char *text = NULL;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "text", "the note's text", true, &text, err, errcap);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0) {
        json_t *d = json_pack("{s:s}", "text", text);
        rc = commit_change(c, &row, req->actor, "incident.note", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

/* Lists the fields of step that are missing from fields into out; false if none. */
static bool missing_fields(enum incident_state step, const json_t *fields, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < WARD_ARRAY_LEN(step_fields); i++) {
        const struct step_field *f = &step_fields[i];
        if (f->step != step || has_text(fields, f->name))
            continue;
        int w = snprintf(out + n, cap - n, "%s--%s (%s)", n ? ", " : "", f->name, f->label);
        if (w > 0 && (size_t)w < cap - n)
            n += (size_t)w;
    }
    return n > 0;
}

static int cmd_advance(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                       size_t errcap)
{
    int64_t id;
    const char *to_name = NULL;
    enum incident_state to = INCIDENT_RECORDED;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    json_t *merged = NULL;
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "state", "the state to go to", true, &to_name, err, errcap);
    if (rc == 0 && (incident_state_parse(to_name, &to) < 0 || to == INCIDENT_MERGED ||
                    to == INCIDENT_RECORDED))
        rc = fail(err, errcap, -EINVAL, "'%s' is not a state to advance to (analysing, "
                  "containing, recovering, review, closed)", to_name);
    const json_t *given = json_object_get(req->args, "fields");
    if (rc == 0 && given && !json_is_object(given))
        rc = fail(err, errcap, -EINVAL, "fields must be an object of --name value pairs");
    const char *key;
    const json_t *val;
    if (rc == 0) {
        json_object_foreach((json_t *)(uintptr_t)given, key, val) {
            if (!field_find(key)) {
                rc = fail(err, errcap, -EINVAL, "unknown field --%s (fields: systems, told, "
                          "cause, scope, risk, action, decision, restored, how, lessons, "
                          "followups, signoff)", key);
                break;
            }
            if (!json_is_string(val) || json_string_length(val) > INCIDENT_TEXT_MAX) {
                rc = fail(err, errcap, -EINVAL, "field --%s must be text of at most %d bytes",
                          key, INCIDENT_TEXT_MAX);
                break;
            }
        }
    }
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0 && row.state == INCIDENT_CLOSED)
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " is closed; reopen it first",
                  id);
    if (rc == 0 && to != row.state + 1)
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " cannot go to %s from %s: the "
                  "next step is %s", id, incident_state_name(to),
                  incident_state_name(row.state), incident_state_name(row.state + 1));
    if (rc)
        goto out;

    /* What the incident would hold: the recorded fields, updated by the given ones. */
    merged = json_deep_copy(row.fields);
    if (!merged) {
        rc = -ENOMEM;
        goto out;
    }
    json_object_foreach((json_t *)(uintptr_t)given, key, val) {
        if (strcmp(key, "action") == 0)
            continue; /* an action is an event in the timeline, not a field */
        json_object_set(merged, key, (json_t *)(uintptr_t)val);
    }
    bool new_action = given && has_text(given, "action");
    char missing[512];
    if (row.state == INCIDENT_CONTAINING) {
        if (!row.containment && !new_action && !has_text(merged, "decision"))
            rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " cannot go to %s: no "
                      "containment action or decision recorded (isolate a host, or give "
                      "--action TEXT or --decision TEXT)", id, incident_state_name(to));
    } else if (missing_fields(row.state, merged, missing, sizeof(missing))) {
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " cannot go to %s: missing %s", id,
                  incident_state_name(to), missing);
    }
    if (rc == 0 && to == INCIDENT_CLOSED &&
        missing_fields(INCIDENT_CLOSED, merged, missing, sizeof(missing)))
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " cannot go to closed: missing %s",
                  id, missing);
    if (rc)
        goto out;

    bool own_tx = !store_in_tx(c->store);
    rc = own_tx ? store_begin(c->store) : 0;
    if (rc == 0 && new_action) {
        json_t *d = json_pack("{s:s}", "description", json_str(given, "action", ""));
        rc = audit_append(c->store, req->actor, "incident.action", "incident", id, d, NULL);
        json_decref(d);
        if (rc == 0) {
            json_t *a = json_object_get(merged, "actions");
            if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(merged, "actions", a);
            }
            json_array_append_new(a, json_string(json_str(given, "action", "")));
            row.containment++;
        }
    }
    uint64_t now = clock_now_usec();
    enum incident_state from = row.state;
    bool met = false;
    if (rc == 0) {
        json_decref(row.fields);
        row.fields = json_incref(merged);
        row.state = to;
        if (to >= INCIDENT_CONTAINING)
            met = meet(&row, SLA_HANDLING, req->actor, now);
        if (to == INCIDENT_CLOSED)
            row.closed_usec = now;
        json_t *d = json_pack("{s:s, s:s, s:O, s:b}", "from", incident_state_name(from), "to",
                              incident_state_name(to), "fields",
                              given ? (json_t *)(uintptr_t)given : json_object(),
                              "handling_clock_met", met);
        rc = commit_change(c, &row, req->actor, "incident.advance", d, err, errcap);
        json_decref(d);
    }
    if (own_tx) {
        if (rc == 0)
            rc = store_commit(c->store);
        else if (store_in_tx(c->store))
            store_rollback(c->store);
    }
    if (rc == 0) {
        log_info("incident %" PRId64 ": %s moved it from %s to %s", id, req->actor->name,
                 incident_state_name(from), incident_state_name(to));
        rc = incident_show(c, id, reply);
    } else if (!err[0]) {
        fail(err, errcap, rc, "incident %" PRId64 ": %s", id, strerror(-rc));
    }
out:
    json_decref(merged);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_reopen(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    int64_t id;
    const char *reason = NULL, *to_name = NULL;
    enum incident_state to = INCIDENT_ANALYSING;
    struct incident_row row;
    memset(&row, 0, sizeof(row));
    int rc = arg_id(req, &id, err, errcap);
    if (rc == 0)
        rc = arg_text(req, "reason", "--reason TEXT (why it is reopened)", true, &reason, err,
                      errcap);
    if (rc == 0)
        rc = arg_text(req, "state", "the state to reopen in", false, &to_name, err, errcap);
    if (rc == 0 && to_name &&
        (incident_state_parse(to_name, &to) < 0 || to >= INCIDENT_CLOSED))
        rc = fail(err, errcap, -EINVAL, "'%s' is not a state to reopen in (recorded ... "
                  "review)", to_name);
    if (rc == 0)
        rc = load_for_change(c, id, &row, err, errcap);
    if (rc == 0 && row.state != INCIDENT_CLOSED)
        rc = fail(err, errcap, -EINVAL, "incident %" PRId64 " is not closed (it is %s)", id,
                  incident_state_name(row.state));
    if (rc == 0) {
        json_t *d = json_pack("{s:s, s:s}", "reason", reason, "to", incident_state_name(to));
        row.state = to;
        row.closed_usec = 0;
        json_object_del(row.fields, "signoff");
        rc = commit_change(c, &row, req->actor, "incident.reopen", d, err, errcap);
        json_decref(d);
    }
    if (rc == 0)
        rc = incident_show(c, id, reply);
    store_incidents_row_fini(&row);
    return rc;
}

static int cmd_report(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    int64_t id;
    const char *fmt_name = json_str(req->args, "format", "md");
    enum report_format fmt;
    int rc = arg_id(req, &id, err, errcap);
    if (rc)
        return rc;
    if (report_format_parse(fmt_name, &fmt) < 0)
        return fail(err, errcap, -EINVAL, "format '%s' is not md or html", fmt_name);
    json_t *show = NULL;
    rc = show_json(c, id, INCIDENT_REPORT_TIMELINE, &show);
    if (rc == -ENOENT)
        return fail(err, errcap, rc, "no incident %" PRId64, id);
    if (rc)
        return fail(err, errcap, rc, "incident %" PRId64 ": %s", id, strerror(-rc));
    char *text = NULL;
    const char *host = json_str(req->args, "host", NULL);
    if (host)
        rc = report_render_endpoint(show, host, fmt, clock_now_usec(), &text);
    else
        rc = report_render(show, fmt, clock_now_usec(), &text);
    json_decref(show);
    if (rc == -ENOENT)
        return fail(err, errcap, rc, "incident %" PRId64 " does not involve host %s", id, host);
    if (rc)
        return fail(err, errcap, rc, "report for incident %" PRId64 ": %s", id, strerror(-rc));
    *reply = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "format", fmt_name, "text", text);
    free(text);
    if (!*reply)
        return fail(err, errcap, -ENOMEM, "report too large or not UTF-8");
    json_t *d = json_pack("{s:s, s:s}", "format", fmt_name, "host", host ? host : "");
    if (audit_append(c->store, req->actor, "incident.report", "incident", id, d, NULL) < 0)
        log_warn("incident %" PRId64 ": could not record the report in the audit log", id);
    json_decref(d);
    return 0;
}

static const struct ctl_cmd incident_cmds[] = {
    {"incidents", ROLE_VIEWER, cmd_list},
    {"incident.show", ROLE_VIEWER, cmd_show},
    {"incident.ack", ROLE_OPERATOR, cmd_ack},
    {"incident.notify", ROLE_OPERATOR, cmd_notify},
    {"incident.assign", ROLE_OPERATOR, cmd_assign},
    {"incident.grade", ROLE_OPERATOR, cmd_grade},
    {"incident.advance", ROLE_OPERATOR, cmd_advance},
    {"incident.note", ROLE_OPERATOR, cmd_note},
    {"incident.reopen", ROLE_OPERATOR, cmd_reopen},
    {"report", ROLE_VIEWER, cmd_report},
    {NULL, ROLE_NONE, NULL},
};

const struct console_module incident_module = {
    .name = "incidents",
    .init = incident_mod_init,
    .fini = incident_mod_fini,
    .on_message = incident_mod_message,
    .on_batch_end = incident_mod_batch_end,
    .on_commit = incident_mod_commit,
    .on_tick = incident_mod_tick,
    .commands = incident_cmds,
};
