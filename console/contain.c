/*
 * contain (console) -- isolate, release and capture commands, their results,
 * time limits and auto-containment (see contain.h).
 */
#include "contain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "audit.h"
#include "clock.h"
#include "command.h"
#include "event_json.h"
#include "incident.h"
#include "log.h"
#include "store.h"
#include "store_contain.h"
#include "store_events.h"
#include "store_incidents.h"
#include "store_sensors.h"

struct contain_state {
    struct cidr_set never;     /* [contain] never_isolate */
    const char *never_text;    /* as written, for messages */
    uint64_t default_ttl_sec;  /* [contain] default_ttl */
    uint64_t max_ttl_sec;      /* [contain] max_ttl */
    uint32_t auto_kinds;       /* [contain] auto: bit per Ward__EventKind; 0 = off */
    int auto_min_level;        /* [contain] auto_min_level: 1 (I) .. 4 (IV) */
};

static struct contain_state *state_of(struct console *c)
{
    return c->mod[MOD_CONTAIN];
}

/* ---------------------------------------------------------------- sensors */

/*
 * Sends cmd to the sensors whose events name host (and to those of prefer, a
 * JSON array of {sensor, status}, when given); when none of them is connected,
 * to every enrolled sensor.
 */
static void send_to_sensors(struct console *c, const char *host, const json_t *prefer,
                            Ward__Command *cmd, struct command_targets *t)
{
    json_t *events = NULL;
    struct events_query q = {0};
    size_t i;
    json_t *e;
    command_targets_init(t);
    json_array_foreach(prefer, i, e) {
        if (strcmp(json_str(e, "status", ""), "unreachable") != 0)
            (void)command_try(c, t, json_str(e, "sensor", ""), cmd);
    }
    q.host = host;
    q.limit = 500;
    if (store_events_query(c->store, &q, &events) == 0) {
        json_array_foreach(events, i, e) {
            const char *s = json_str(e, "sensor", "");
            if (s[0])
                (void)command_try(c, t, s, cmd);
        }
        json_decref(events);
    }
    if (t->sent == 0)
        command_try_all(c, t, cmd);
}

/* Into the incident's timeline when there is one, the audit log otherwise. */
static int record(struct console *c, int64_t incident, const struct actor *who,
                  const char *action, const json_t *details)
{
    if (incident > 0 && incident_exists(c, incident) == 0)
        return incident_record_action(c, incident, who, action, details);
    char verb[64];
    snprintf(verb, sizeof(verb), "contain.%s", action);
    return audit_log(c, who, verb, "incident", incident, details);
}

/* ---------------------------------------------------------------- commands */

static int check_host(const char *host, struct addr *a, char *canon, char *err, size_t errcap)
{
    if (!host || addr_parse(host, a) != 0) {
        snprintf(err, errcap, "'%s' is not an IPv4 or IPv6 address", host ? host : "");
        return -EINVAL;
    }
    addr_format(a, canon, ADDR_STR_LEN);
    return 0;
}

/* Shared tail: records the command, the sensors' status and the timeline entry. */
static int finish(struct console *c, const struct actor *who, const struct contain_cmd_row *row,
                  Ward__Command *cmd, const json_t *prefer, const char *timeline_action,
                  json_t *details, json_t **reply, char *err, size_t errcap)
{
    struct command_targets t;
    int rc = store_begin(c->store);
    if (rc) {
        snprintf(err, errcap, "database busy: %s", strerror(-rc));
        json_decref(details);
        return rc;
    }
    send_to_sensors(c, row->host, prefer, cmd, &t);
    if (t.sent == 0) {
        store_rollback(c->store);
        snprintf(err, errcap, "no sensor is connected to carry out %s of %s (%zu enrolled)",
                 row->action, row->host, t.count);
        json_decref(details);
        return -ENOTCONN;
    }
    json_t *sensors = command_targets_json(&t);
    json_object_set(details, "sensors", sensors);
    json_set_u64(details, "command_id", row->id);
    if ((rc = store_contain_cmd_add(c->store, row)) == 0 &&
        (rc = command_record_sent(c, row->id, &t, row->issued_usec)) == 0)
        rc = record(c, row->incident, who, timeline_action, details);
    if (rc == 0)
        rc = store_commit(c->store);
    else
        store_rollback(c->store);
    if (rc) {
        snprintf(err, errcap, "command %" PRIu64 " was sent but could not be recorded: %s",
                 row->id, strerror(-rc));
        json_decref(sensors);
        json_decref(details);
        return rc;
    }
    json_object_set_new(details, "sensors", sensors);
    *reply = details;
    return 0;
}

static int new_row(struct console *c, struct contain_cmd_row *row, const char *action,
                   const char *host, const struct actor *who, const struct contain_req *r)
{
    memset(row, 0, sizeof(*row));
    int rc = command_next_id(c, &row->id);
    if (rc)
        return rc;
    snprintf(row->action, sizeof(row->action), "%s", action);
    snprintf(row->host, sizeof(row->host), "%s", host);
    snprintf(row->actor, sizeof(row->actor), "%s", who->name);
    row->incident = r->incident;
    row->issued_usec = clock_now_usec();
    row->ttl_sec = r->ttl_sec;
    row->dry_run = r->dry_run;
    row->drill = r->drill;
    return 0;
}

int contain_isolate_host(struct console *c, const struct actor *who, const struct contain_req *r,
                         json_t **reply, char *err, size_t errcap)
{
    struct contain_state *s = state_of(c);
    struct addr a;
    char host[ADDR_STR_LEN];
    struct contain_cmd_row row;
    int rc = check_host(r->host, &a, host, err, errcap);
    if (rc)
        return rc;
    if (cidr_set_contains(&s->never, &a)) {
        snprintf(err, errcap,
                 "refused: %s is on the never-isolate list ([contain] never_isolate = %s); "
                 "isolate it by hand if you must",
                 host, s->never_text);
        json_t *d = json_pack("{s:s, s:s}", "host", host, "reason", "never_isolate");
        (void)record(c, r->incident, who, "isolate.refused", d);
        json_decref(d);
        return -EPERM;
    }
    if (r->incident <= 0) {
        snprintf(err, errcap, "isolating %s needs the incident it serves (--incident ID)", host);
        return -EINVAL;
    }
    if (incident_exists(c, r->incident) != 0) {
        snprintf(err, errcap, "no incident %" PRId64, r->incident);
        return -ENOENT;
    }
    struct contain_req req = *r;
    if (req.ttl_sec == 0)
        req.ttl_sec = s->default_ttl_sec;
    if (req.ttl_sec > s->max_ttl_sec) {
        snprintf(err, errcap, "a time limit of %" PRIu64 " s is past [contain] max_ttl (%" PRIu64
                 " s)", req.ttl_sec, s->max_ttl_sec);
        return -EINVAL;
    }
    if ((rc = new_row(c, &row, "isolate", host, who, &req)) != 0) {
        snprintf(err, errcap, "database: %s", strerror(-rc));
        return rc;
    }
    Ward__Command cmd;
    Ward__Isolate is;
    command_init(&cmd, row.id, row.issued_usec);
    ward__isolate__init(&is);
    cmd.kind_case = WARD__COMMAND__KIND_ISOLATE;
    cmd.isolate = &is;
    is.host = host;
    is.ttl_sec = req.ttl_sec;
    is.dry_run = req.dry_run;
    is.incident = (uint64_t)req.incident;
    is.drill = req.drill;
    is.allow_real = req.allow_real;
    json_t *details = json_pack("{s:s, s:I, s:I, s:b, s:b}", "host", host, "incident",
                                (json_int_t)req.incident, "ttl", (json_int_t)req.ttl_sec,
                                "dry_run", req.dry_run, "drill", req.drill);
    if (!req.dry_run) {
        struct contain_host_row h = {0};
        snprintf(h.host, sizeof(h.host), "%s", host);
        snprintf(h.state, sizeof(h.state), "pending");
        snprintf(h.actor, sizeof(h.actor), "%s", who->name);
        h.incident = req.incident;
        h.command_id = row.id;
        h.since_usec = row.issued_usec;
        h.expires_usec = row.issued_usec + req.ttl_sec * USEC_PER_SEC;
        if ((rc = store_contain_host_put(c->store, &h)) != 0) {
            json_decref(details);
            snprintf(err, errcap, "database: %s", strerror(-rc));
            return rc;
        }
    }
    rc = finish(c, who, &row, &cmd, NULL, req.dry_run ? "isolate.dry_run" : "isolate", details,
                reply, err, errcap);
    if (rc && !req.dry_run && store_contain_host_state(c->store, host, "failed", "") != 0)
        log_warn("contain: could not mark the isolation of %s failed", host);
    return rc;
}

int contain_release_host(struct console *c, const struct actor *who, const struct contain_req *r,
                         json_t **reply, char *err, size_t errcap)
{
    struct addr a;
    char host[ADDR_STR_LEN];
    struct contain_cmd_row row;
    struct contain_host_row h;
    json_t *prefer = NULL;
    int rc = check_host(r->host, &a, host, err, errcap);
    if (rc)
        return rc;
    struct contain_req req = *r;
    if (store_contain_host_get(c->store, host, &h) == 0) {
        if (!req.incident)
            req.incident = h.incident;
        if (store_contain_results_json(c->store, h.command_id, &prefer) != 0)
            prefer = NULL;
    }
    if ((rc = new_row(c, &row, "release", host, who, &req)) != 0) {
        json_decref(prefer);
        snprintf(err, errcap, "database: %s", strerror(-rc));
        return rc;
    }
    Ward__Command cmd;
    Ward__Release re;
    command_init(&cmd, row.id, row.issued_usec);
    ward__release__init(&re);
    cmd.kind_case = WARD__COMMAND__KIND_RELEASE;
    cmd.release = &re;
    re.host = host;
    re.incident = (uint64_t)req.incident;
    json_t *details = json_pack("{s:s, s:I}", "host", host, "incident", (json_int_t)req.incident);
    rc = finish(c, who, &row, &cmd, prefer, "release", details, reply, err, errcap);
    json_decref(prefer);
    return rc;
}

int contain_capture_host(struct console *c, const struct actor *who, const struct contain_req *r,
                         json_t **reply, char *err, size_t errcap)
{
    struct addr a;
    char host[ADDR_STR_LEN];
    struct contain_cmd_row row;
    int rc = check_host(r->host, &a, host, err, errcap);
    if (rc)
        return rc;
    if (r->ttl_sec == 0 || r->ttl_sec > 3600) {
        snprintf(err, errcap, "a capture lasts 1 to 3600 seconds (--seconds N)");
        return -EINVAL;
    }
    if (r->incident > 0 && incident_exists(c, r->incident) != 0) {
        snprintf(err, errcap, "no incident %" PRId64, r->incident);
        return -ENOENT;
    }
    if ((rc = new_row(c, &row, "capture", host, who, r)) != 0) {
        snprintf(err, errcap, "database: %s", strerror(-rc));
        return rc;
    }
    Ward__Command cmd;
    Ward__Capture cap;
    command_init(&cmd, row.id, row.issued_usec);
    ward__capture__init(&cap);
    cmd.kind_case = WARD__COMMAND__KIND_CAPTURE;
    cmd.capture = &cap;
    cap.host = host;
    cap.seconds = (uint32_t)r->ttl_sec;
    cap.incident = (uint64_t)(r->incident > 0 ? r->incident : 0);
    json_t *details = json_pack("{s:s, s:I, s:I}", "host", host, "seconds", (json_int_t)r->ttl_sec,
                                "incident", (json_int_t)r->incident);
    return finish(c, who, &row, &cmd, NULL, "capture", details, reply, err, errcap);
}

/* ---------------------------------------------------------------- messages */

static int on_result(struct console *c, const struct msg_origin *o, const Ward__CommandResult *r)
{
    struct contain_cmd_row row;
    int rc = command_peek(c, r->command_id, &row);
    if (rc == -ENOENT) {
        log_warn("contain: sensor %s answered unknown command %" PRIu64, o->sensor,
                 r->command_id);
        return 0;
    }
    if (rc)
        return rc;
    if (strcmp(row.action, "isolate") && strcmp(row.action, "release") &&
        strcmp(row.action, "capture"))
        return 0; /* another module's command (intel, mode) */
    const char *detail = r->detail ? r->detail : "";
    const char *backend = r->backend ? r->backend : "";
    if ((rc = command_record_result(c, o->sensor, row.id, r)) != 0)
        return rc;
    if (!row.dry_run && !strcmp(row.action, "isolate")) {
        struct contain_host_row h;
        if (store_contain_host_get(c->store, row.host, &h) == 0 && h.command_id == row.id &&
            (r->ok || !strcmp(h.state, "pending")))
            rc = store_contain_host_state(c->store, row.host, r->ok ? "active" : "failed",
                                          backend);
    } else if (!strcmp(row.action, "release") && r->ok) {
        struct contain_host_row h;
        if (store_contain_host_get(c->store, row.host, &h) == 0 &&
            (!strcmp(h.state, "active") || !strcmp(h.state, "pending") ||
             !strcmp(h.state, "failed")))
            rc = store_contain_host_state(c->store, row.host, "released", "");
    }
    if (rc)
        return rc;
    struct actor a = {0, "", ROLE_NONE};
    char action[48];
    snprintf(a.name, sizeof(a.name), "%s", o->sensor);
    snprintf(action, sizeof(action), "%s%s.result", row.action, row.dry_run ? ".dry_run" : "");
    json_t *d = json_pack("{s:I, s:s, s:s, s:b, s:s, s:s}", "command_id", (json_int_t)row.id,
                          "host", row.host, "sensor", o->sensor, "ok", r->ok, "detail", detail,
                          "backend", backend);
    rc = record(c, row.incident, &a, action, d);
    json_decref(d);
    log_info("contain: %s of %s by sensor %s: %s (%s)", row.action, row.host, o->sensor,
             r->ok ? "done" : "failed", detail);
    return rc;
}

static int on_leak(struct console *c, const struct msg_origin *o, const Ward__Event *ev)
{
    struct contain_host_row h;
    if (!ev->src || store_contain_host_get(c->store, ev->src, &h) != 0)
        return 0;
    int rc = store_contain_host_leak(c->store, ev->src, ev->packets, ev->last_usec);
    if (rc || ev->revision > 1)
        return rc;
    struct actor a = {0, "", ROLE_NONE};
    snprintf(a.name, sizeof(a.name), "%s", o->sensor);
    json_t *d = json_pack("{s:s, s:s, s:I, s:s}", "host", ev->src, "sensor", o->sensor,
                          "packets", (json_int_t)ev->packets, "summary",
                          ev->summary ? ev->summary : "");
    rc = record(c, h.incident, &a, "isolate.leak", d);
    json_decref(d);
    return rc;
}

static int auto_contain(struct console *c, const struct msg_origin *o, const Ward__Event *ev)
{
    struct contain_state *s = state_of(c);
    struct incident_row inc;
    struct contain_host_row h;
    struct addr a;
    int64_t id = 0;
    if (!ev->src || !ev->src[0] || addr_parse(ev->src, &a) != 0 ||
        cidr_set_contains(&s->never, &a))
        return 0;
    if (store_contain_host_get(c->store, ev->src, &h) == 0 &&
        (!strcmp(h.state, "pending") || !strcmp(h.state, "active")))
        return 0;
    int rc = incident_flush(c); /* the incident may be in the batch's memory */
    if (rc)
        return rc;
    if (store_incidents_event_owner(c->store, o->event_id, &id) != 0)
        return 0;
    memset(&inc, 0, sizeof(inc));
    if (store_incidents_get(c->store, id, &inc) != 0)
        return 0;
    int level = inc.level;
    store_incidents_row_fini(&inc);
    if (level < 1 || level > s->auto_min_level)
        return 0;
    struct contain_req r = {ev->src, id, 0, false, false, false};
    json_t *reply = NULL;
    char err[256];
    rc = contain_isolate_host(c, console_ward_actor(), &r, &reply, err, sizeof(err));
    if (rc)
        log_warn("contain: auto-containment of %s (incident %" PRId64 ") failed: %s", ev->src, id,
                 err);
    else
        log_warn("contain: auto-containment: isolated %s for incident %" PRId64 " (%s, level %d)",
                 ev->src, id, event_kind_name(ev->kind), level);
    json_decref(reply);
    return 0; /* never roll the batch back for it */
}

static int contain_on_message(struct console *c, const struct msg_origin *o,
                              const Ward__Message *m)
{
    struct contain_state *s = state_of(c);
    if (m->kind_case == WARD__MESSAGE__KIND_RESULT && m->result)
        return on_result(c, o, m->result);
    if (m->kind_case != WARD__MESSAGE__KIND_EVENT || !m->event)
        return 0;
    const Ward__Event *ev = m->event;
    if (ev->kind == WARD__EVENT_KIND__ISOLATION_LEAK)
        return on_leak(c, o, ev);
    if (s->auto_kinds && (unsigned)ev->kind < 32 && (s->auto_kinds >> ev->kind & 1))
        return auto_contain(c, o, ev);
    return 0;
}

static int expire_one(void *arg, const struct contain_host_row *h)
{
    struct console *c = arg;
    int rc = store_contain_host_state(c->store, h->host, "expired", "");
    if (rc)
        return rc;
    json_t *d = json_pack("{s:s, s:I}", "host", h->host, "command_id", (json_int_t)h->command_id);
    rc = record(c, h->incident, console_ward_actor(), "release.ttl", d);
    json_decref(d);
    log_info("contain: isolation of %s reached its time limit; the sensors release it", h->host);
    return rc;
}

static void contain_on_tick(struct console *c, uint64_t now_usec)
{
    if (store_begin(c->store) != 0)
        return;
    /* A failed COMMIT may have been rolled back by SQLite already (disk full). */
    if (store_contain_hosts_expired(c->store, now_usec, expire_one, c) != 0 ||
        store_commit(c->store) != 0) {
        if (store_in_tx(c->store))
            store_rollback(c->store);
    }
}

/* ---------------------------------------------------------------- verbs */

static struct contain_req req_from(const json_t *args)
{
    struct contain_req r = {0};
    r.host = json_str(args, "host", NULL);
    r.incident = (int64_t)json_u64(args, "incident", 0);
    r.ttl_sec = json_u64(args, "ttl", json_u64(args, "seconds", 0));
    r.dry_run = json_is_true(json_object_get(args, "dry_run"));
    r.drill = json_is_true(json_object_get(args, "drill"));
    r.allow_real = json_is_true(json_object_get(args, "allow_real"));
    return r;
}

static int verb_isolate(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                        size_t errcap)
{
    struct contain_req r = req_from(req->args);
    return contain_isolate_host(c, req->actor, &r, reply, err, errcap);
}

static int verb_release(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                        size_t errcap)
{
    struct contain_req r = req_from(req->args);
    return contain_release_host(c, req->actor, &r, reply, err, errcap);
}

static int verb_capture(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                        size_t errcap)
{
    struct contain_req r = req_from(req->args);
    return contain_capture_host(c, req->actor, &r, reply, err, errcap);
}

static int verb_isolations(struct console *c, const struct ctl_req *req, json_t **reply,
                           char *err, size_t errcap)
{
    bool all = json_is_true(json_object_get(req->args, "all"));
    int rc = store_contain_hosts_json(c->store, all, reply);
    if (rc) {
        snprintf(err, errcap, "cannot list isolations: %s", strerror(-rc));
        return rc;
    }
    uint64_t now = clock_now_usec();
    size_t i;
    json_t *h;
    json_array_foreach(*reply, i, h) {
        uint64_t exp = json_u64(h, "expires_usec", 0);
        const char *st = json_str(h, "state", "");
        if (!strcmp(st, "pending") || !strcmp(st, "active"))
            json_set_u64(h, "left_sec", exp > now ? (exp - now) / USEC_PER_SEC : 0);
        json_t *res = NULL;
        if (store_contain_results_json(c->store, json_u64(h, "command_id", 0), &res) == 0)
            json_object_set_new(h, "sensors", res);
    }
    return 0;
}

static const struct ctl_cmd contain_cmds[] = {
    {"isolate", ROLE_OPERATOR, verb_isolate},
    {"release", ROLE_OPERATOR, verb_release},
    {"capture", ROLE_OPERATOR, verb_capture},
    {"isolations", ROLE_VIEWER, verb_isolations},
    {NULL, ROLE_NONE, NULL},
};

/* ---------------------------------------------------------------- module */

static int parse_level(const char *s)
{
    static const char *const names[] = {"I", "II", "III", "IV"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]) || (s[0] == '1' + i && !s[1]))
            return i + 1;
    return 0;
}

static int contain_init(struct console *c)
{
    char bad[128];
    struct contain_state *s = calloc(1, sizeof(*s));
    uint64_t ttl, max;
    int rc = -EINVAL;
    if (!s)
        return -ENOMEM;
    cidr_set_init(&s->never);
    s->never_text = config_get_str(c->cfg, "contain", "never_isolate", "");
    if (config_get_duration(c->cfg, "contain", "default_ttl", 3600 * USEC_PER_SEC, &ttl) ||
        config_get_duration(c->cfg, "contain", "max_ttl", 24 * 3600 * USEC_PER_SEC, &max)) {
        log_err("contain: %s", config_error(c->cfg));
        goto fail;
    }
    s->default_ttl_sec = ttl / USEC_PER_SEC;
    s->max_ttl_sec = max / USEC_PER_SEC;
    if (s->default_ttl_sec == 0 || s->default_ttl_sec > s->max_ttl_sec) {
        config_fail(c->cfg, "contain", "default_ttl", "must be at least 1s and at most max_ttl");
        log_err("contain: %s", config_error(c->cfg));
        goto fail;
    }
    if (cidr_set_add_list(&s->never, s->never_text, bad, sizeof(bad)) != 0) {
        config_fail(c->cfg, "contain", "never_isolate", "not an address or CIDR: '%s'", bad);
        log_err("contain: %s", config_error(c->cfg));
        goto fail;
    }
    /* auto = portscan, lateral ...: the kinds Ward may contain by itself. */
    char kinds[512];
    snprintf(kinds, sizeof(kinds), "%s", config_get_str(c->cfg, "contain", "auto", ""));
    for (char *save = NULL, *k = strtok_r(kinds, ", \t", &save); k;
         k = strtok_r(NULL, ", \t", &save)) {
        Ward__EventKind kind = event_kind_parse(k);
        if (kind == WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED || (unsigned)kind >= 32) {
            config_fail(c->cfg, "contain", "auto", "unknown event kind '%s'", k);
            log_err("contain: %s", config_error(c->cfg));
            goto fail;
        }
        s->auto_kinds |= 1u << kind;
    }
    s->auto_min_level = parse_level(config_get_str(c->cfg, "contain", "auto_min_level", "II"));
    if (!s->auto_min_level) {
        config_fail(c->cfg, "contain", "auto_min_level", "must be I, II, III or IV");
        log_err("contain: %s", config_error(c->cfg));
        goto fail;
    }
    if ((rc = store_contain_init(c->store)) != 0)
        goto fail;
    if (s->auto_kinds)
        log_info("contain: auto-containment on for [contain] auto = %s at level %s or above",
                 config_get_str(c->cfg, "contain", "auto", ""),
                 config_get_str(c->cfg, "contain", "auto_min_level", "II"));
    c->mod[MOD_CONTAIN] = s;
    return 0;
fail:
    cidr_set_fini(&s->never);
    free(s);
    return rc;
}

static void contain_fini(struct console *c)
{
    struct contain_state *s = state_of(c);
    if (!s)
        return;
    cidr_set_fini(&s->never);
    free(s);
    c->mod[MOD_CONTAIN] = NULL;
}

const struct console_module contain_module = {
    .name = "contain",
    .init = contain_init,
    .fini = contain_fini,
    .on_message = contain_on_message,
    .on_tick = contain_on_tick,
    .commands = contain_cmds,
};
