/*
 * sensors -- see sensors.h.  Liveness is judged on the console's clock: the
 * reference is the later of the last heartbeat and the console's own start, so a
 * console restart does not raise alarms for sensors that had no chance to
 * reconnect yet.  A sensor never heard from is "never seen", not silent.
 */
#include "sensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "control.h"
#include "event_json.h"
#include "ingest.h"
#include "log.h"
#include "modules.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

struct sensors_state {
    uint64_t heartbeat_usec; /* expected heartbeat interval */
    uint64_t started_usec;   /* console time the module started */
};

static struct sensors_state *state(struct console *c)
{
    return c->mod[MOD_SENSORS];
}

static uint64_t silence_limit(const struct sensors_state *s)
{
    return SENSORS_MISSED_BEATS * s->heartbeat_usec;
}

/* ---------------------------------------------------------------- liveness */

static void silent_uid(const struct sensor_row *row, char *out, size_t cap)
{
    snprintf(out, cap, "sensor_silent-%" PRIu64, row->silent_since_usec);
}

/* Ward's own record of a silence opened or closed. */
static int audit_silence(struct console *c, const struct sensor_row *row, const char *action,
                         const char *summary)
{
    json_t *d = json_object();
    json_object_set_new(d, "name", json_string(row->name));
    json_object_set_new(d, "summary", json_string(summary));
    int rc = audit_log(c, console_ward_actor(), action, "sensor", row->id, d);
    json_decref(d);
    return rc;
}

static int raise_silent(struct console *c, const struct sensor_row *row, uint64_t now)
{
    struct sensors_state *s = state(c);
    uint64_t last = row->last_heartbeat_usec;
    uint64_t quiet = now - WARD_MAX(last, s->started_usec);
    char uid[64], summary[256], at[40];
    struct sensor_row r = *row;

    r.silent_since_usec = now;
    silent_uid(&r, uid, sizeof(uid));
    snprintf(summary, sizeof(summary),
             "sensor %s silent: no heartbeat for %" PRIu64 " s (last at %s)", row->name,
             (uint64_t)(quiet / USEC_PER_SEC), clock_format_iso(last, at, sizeof(at)));

    Ward__Figure fig;
    ward__figure__init(&fig);
    fig.name = (char *)(uintptr_t) "silent_sec";
    fig.value = (double)(quiet / USEC_PER_SEC);
    Ward__Figure *figs[] = {&fig};

    Ward__Event ev;
    ward__event__init(&ev);
    ev.uid = uid;
    ev.revision = 1;
    ev.kind = WARD__EVENT_KIND__SENSOR_SILENT;
    ev.first_usec = last;
    ev.last_usec = now;
    ev.count = quiet / s->heartbeat_usec;
    ev.severity = 60;
    ev.confidence = 90;
    ev.summary = summary;
    ev.n_figures = 1;
    ev.figures = figs;

    int rc = store_begin(c->store);
    if (rc < 0)
        return rc;
    rc = store_sensors_set_silent(c->store, row->id, true, now);
    if (rc == 0)
        rc = modules_raise_event(c, row->id, row->name, &ev);
    if (rc == 0)
        rc = audit_silence(c, row, "sensor.silent", summary);
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0 && store_in_tx(c->store))
        store_rollback(c->store);
    if (rc == 0)
        log_warn("sensors: %s", summary);
    return rc;
}

static int close_silent(struct console *c, const struct sensor_row *row, uint64_t now,
                        const char *why)
{
    char uid[64], summary[256];
    uint64_t back = row->last_heartbeat_usec > row->silent_since_usec ? row->last_heartbeat_usec
                                                                      : now;
    silent_uid(row, uid, sizeof(uid));
    snprintf(summary, sizeof(summary), "sensor %s %s after %" PRIu64 " s silent", row->name, why,
             (uint64_t)((back - WARD_MIN(back, row->silent_since_usec)) / USEC_PER_SEC));

    Ward__Event ev;
    ward__event__init(&ev);
    ev.uid = uid;
    ev.revision = 2;
    ev.kind = WARD__EVENT_KIND__SENSOR_SILENT;
    ev.first_usec = row->silent_since_usec;
    ev.last_usec = back;
    ev.severity = 60;
    ev.confidence = 90;
    ev.summary = summary;
    ev.closed = true;

    int rc = store_begin(c->store);
    if (rc < 0)
        return rc;
    rc = store_sensors_set_silent(c->store, row->id, false, now);
    if (rc == 0)
        rc = modules_raise_event(c, row->id, row->name, &ev);
    if (rc == 0)
        rc = audit_silence(c, row, "sensor.back", summary);
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0 && store_in_tx(c->store))
        store_rollback(c->store);
    if (rc == 0)
        log_info("sensors: %s", summary);
    return rc;
}

struct tick_ctx {
    struct console *c; /* the console */
    uint64_t now;      /* console time of this tick */
};

static int check_one(void *arg, const struct sensor_row *row)
{
    struct tick_ctx *t = arg;
    struct sensors_state *s = state(t->c);
    if (row->revoked) {
        if (row->silent)
            (void)close_silent(t->c, row, t->now, "revoked");
        return 0;
    }
    if (row->last_heartbeat_usec == 0)
        return 0; /* never seen: not an alarm, shown as such in sensor list */
    if (row->silent) {
        if (row->last_heartbeat_usec > row->silent_since_usec)
            (void)close_silent(t->c, row, t->now, "back");
        return 0;
    }
    uint64_t ref = WARD_MAX(row->last_heartbeat_usec, s->started_usec);
    if (t->now > ref && t->now - ref > silence_limit(s))
        (void)raise_silent(t->c, row, t->now);
    return 0;
}

static void sensors_tick(struct console *c, uint64_t now_usec)
{
    if (!state(c))
        return;
    struct tick_ctx t = {c, now_usec};
    (void)store_sensors_each(c->store, check_one, &t);
}

/* ---------------------------------------------------------------- verbs */

static const char *sensor_state(const struct sensors_state *s, const struct sensor_row *row,
                                uint64_t now)
{
    if (row->revoked)
        return "revoked";
    if (row->silent)
        return "silent";
    if (row->last_heartbeat_usec == 0)
        return "never seen";
    uint64_t ref = WARD_MAX(row->last_heartbeat_usec, s->started_usec);
    if (now > ref && now - ref > 2 * s->heartbeat_usec)
        return "late";
    return "active";
}

struct list_ctx {
    struct console *c; /* the console */
    json_t *arr;       /* rows so far */
    uint64_t now;      /* console time */
    bool detail;       /* add the heartbeat's figures */
};

static int list_one(void *arg, const struct sensor_row *row)
{
    struct list_ctx *l = arg;
    char pub[KEYS_PUBLIC_STR_LEN];
    json_t *j = json_object();
    if (!j)
        return -ENOMEM;
    json_object_set_new(j, "name", json_string(row->name));
    json_object_set_new(j, "state", json_string(sensor_state(state(l->c), row, l->now)));
    json_object_set_new(j, "pubkey", json_string(keys_public_format(&row->pub, pub, sizeof(pub))));
    json_set_time(j, "enrolled", row->enrolled_usec);
    if (row->revoked_usec)
        json_set_time(j, "revoked", row->revoked_usec);
    if (row->last_heartbeat_usec) {
        json_set_time(j, "last_heartbeat", row->last_heartbeat_usec);
        json_set_u64(j, "last_heartbeat_usec", row->last_heartbeat_usec);
        json_set_u64(j, "heartbeat_age_sec",
                     l->now > row->last_heartbeat_usec
                         ? (l->now - row->last_heartbeat_usec) / USEC_PER_SEC
                         : 0);
    } else {
        json_object_set_new(j, "last_heartbeat", json_null());
    }
    json_set_u64(j, "acked_seq", row->acked_seq);
    json_set_u64(j, "next_seq", row->sensor_next_seq);
    /* Lag: what the sensor has numbered that the console has not stored. */
    uint64_t lag = row->sensor_next_seq > row->acked_seq + 1
                       ? row->sensor_next_seq - row->acked_seq - 1
                       : 0;
    json_set_u64(j, "lag", WARD_MAX(lag, row->spool_records));
    json_set_u64(j, "spool_records", row->spool_records);
    json_set_u64(j, "spool_dropped", row->spool_dropped);
    json_set_u64(j, "packets", row->packets);
    json_set_u64(j, "kernel_drops", row->kernel_drops);
    json_object_set_new(j, "silent", json_boolean(row->silent));
    json_t *hb = NULL;
    if (store_sensors_heartbeat_json(l->c->store, row->id, &hb) == 0) {
        /* The detection mode and pushed indicator set the sensor reports. */
        char mode[48] = "normal";
        if (json_is_true(json_object_get(hb, "heightened")))
            snprintf(mode, sizeof(mode), "heightened x%.2f",
                     json_number_value(json_object_get(hb, "factor")));
        if (row->last_heartbeat_usec) {
            json_object_set_new(j, "mode", json_string(mode));
            json_set_u64(j, "intel_version", json_u64(hb, "intel_version", 0));
        }
        if (l->detail)
            json_object_set_new(j, "heartbeat", hb);
        else
            json_decref(hb);
    }
    return json_array_append_new(l->arr, j) < 0 ? -ENOMEM : 0;
}

static int sensors_json(struct console *c, bool detail, json_t **out)
{
    struct list_ctx l = {c, json_array(), clock_now_usec(), detail};
    if (!l.arr)
        return -ENOMEM;
    int rc = store_sensors_each(c->store, list_one, &l);
    if (rc < 0) {
        json_decref(l.arr);
        return rc;
    }
    *out = l.arr;
    return 0;
}

static int cmd_sensor_list(struct console *c, const struct ctl_req *req, json_t **reply,
                           char *err, size_t errcap)
{
    (void)req;
    int rc = sensors_json(c, true, reply);
    if (rc < 0)
        snprintf(err, errcap, "cannot list sensors: %s", strerror(-rc));
    return rc;
}

static int cmd_sensor_add(struct console *c, const struct ctl_req *req, json_t **reply,
                          char *err, size_t errcap)
{
    const char *name, *token;
    int rc = control_arg_str(req, "name", true, NULL, &name, err, errcap);
    if (rc == 0)
        rc = control_arg_str(req, "pubkey", true, NULL, &token, err, errcap);
    if (rc < 0)
        return rc;
    if (!store_sensors_name_ok(name)) {
        snprintf(err, errcap, "bad sensor name: use 1 to %d of A-Z a-z 0-9 . _ -",
                 SENSOR_NAME_MAX);
        return -EINVAL;
    }
    struct keys_public pub;
    if (keys_public_parse(token, &pub) < 0) {
        snprintf(err, errcap, "bad public key: expected the token 'curvehex:signhex' that"
                              " `wardctl keygen` prints (or identity.pub)");
        return -EINVAL;
    }
    uint64_t now = clock_now_usec();
    char pubs[KEYS_PUBLIC_STR_LEN];
    keys_public_format(&pub, pubs, sizeof(pubs));
    rc = store_begin(c->store);
    if (rc == 0)
        rc = store_sensors_add(c->store, name, &pub, now);
    if (rc == 0) {
        json_t *d = json_object();
        json_object_set_new(d, "name", json_string(name));
        json_object_set_new(d, "pubkey", json_string(pubs));
        struct sensor_row row;
        int64_t id = store_sensors_by_name(c->store, name, &row) == 0 ? row.id : 0;
        rc = audit_log(c, req->actor, "sensor.add", "sensor", id, d);
        json_decref(d);
    }
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0 && store_in_tx(c->store))
        store_rollback(c->store);
    if (rc == -EEXIST) {
        struct sensor_row row;
        if (store_sensors_by_name(c->store, name, &row) == 0 && !row.revoked)
            snprintf(err, errcap, "sensor '%s' is enrolled already", name);
        else if (store_sensors_by_curve(c->store, pub.curve_pk, &row) == 0)
            snprintf(err, errcap, "that key is enrolled already, as sensor '%s'", row.name);
        else
            snprintf(err, errcap, "sensor '%s' or its key is enrolled already", name);
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errcap, "cannot enrol '%s': %s", name, strerror(-rc));
        return rc;
    }
    log_info("sensors: %s enrolled sensor %s", req->actor->name, name);
    json_t *j = json_object();
    if (!j)
        return -ENOMEM;
    json_object_set_new(j, "name", json_string(name));
    json_object_set_new(j, "pubkey", json_string(pubs));
    json_set_time(j, "enrolled", now);
    *reply = j;
    return 0;
}

static int cmd_sensor_revoke(struct console *c, const struct ctl_req *req, json_t **reply,
                             char *err, size_t errcap)
{
    const char *name;
    int rc = control_arg_str(req, "name", true, NULL, &name, err, errcap);
    if (rc < 0)
        return rc;
    uint64_t now = clock_now_usec();
    rc = store_begin(c->store);
    if (rc == 0)
        rc = store_sensors_revoke(c->store, name, now);
    if (rc == 0) {
        json_t *d = json_object();
        json_object_set_new(d, "name", json_string(name));
        struct sensor_row row;
        int64_t id = store_sensors_by_name(c->store, name, &row) == 0 ? row.id : 0;
        rc = audit_log(c, req->actor, "sensor.revoke", "sensor", id, d);
        json_decref(d);
    }
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0 && store_in_tx(c->store))
        store_rollback(c->store);
    if (rc == -ENOENT) {
        char esc[80];
        snprintf(err, errcap, "no sensor named '%s'", log_escape(name, strlen(name), esc,
                                                                  sizeof(esc)));
        return rc;
    }
    if (rc == -EALREADY) {
        snprintf(err, errcap, "sensor '%s' is revoked already", name);
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errcap, "cannot revoke '%s': %s", name, strerror(-rc));
        return rc;
    }
    /*
     * Ingest reads the sensor's row again for every message, so the next one from
     * an open connection is refused (ACK_REVOKED) and its route dropped.
     */
    log_warn("sensors: %s revoked sensor %s", req->actor->name, name);
    struct sensor_row row;
    if (store_sensors_by_name(c->store, name, &row) == 0 && row.silent)
        (void)close_silent(c, &row, now, "revoked");
    json_t *j = json_object();
    if (!j)
        return -ENOMEM;
    json_object_set_new(j, "name", json_string(name));
    json_set_time(j, "revoked", now);
    *reply = j;
    return 0;
}

static int cmd_status(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    (void)req;
    struct sensors_state *s = state(c);
    uint64_t now = clock_now_usec();
    uint64_t count = 0;
    json_t *sensors = NULL, *by_kind = NULL;
    int rc = store_events_count(c->store, &count);
    if (rc == 0)
        rc = store_events_count_by_kind(c->store, &by_kind);
    if (rc == 0)
        rc = sensors_json(c, false, &sensors);
    if (rc < 0) {
        json_decref(by_kind);
        snprintf(err, errcap, "cannot read status: %s", strerror(-rc));
        return rc;
    }
    json_t *j = json_object();
    if (!j) {
        json_decref(sensors);
        json_decref(by_kind);
        return -ENOMEM;
    }
    json_object_set_new(j, "version", json_string(WARD_VERSION));
    json_set_time(j, "now", now);
    json_set_time(j, "started", s->started_usec);
    json_set_u64(j, "uptime_sec", now > s->started_usec ? (now - s->started_usec) / USEC_PER_SEC
                                                        : 0);
    json_object_set_new(j, "data_dir", json_string(c->data_dir ? c->data_dir : ""));
    json_set_u64(j, "heartbeat_interval_sec", s->heartbeat_usec / USEC_PER_SEC);
    json_set_u64(j, "events", count);
    json_object_set_new(j, "events_by_kind", by_kind);
    json_object_set_new(j, "sensors", sensors);
    if (c->ingest) {
        struct ingest_stats is;
        ingest_stats(c->ingest, &is);
        json_t *ing = json_object();
        json_set_u64(ing, "batches", is.batches);
        json_set_u64(ing, "messages", is.messages);
        json_set_u64(ing, "duplicates", is.duplicates);
        json_set_u64(ing, "heartbeats", is.heartbeats);
        json_set_u64(ing, "rejected", is.rejected);
        json_set_u64(ing, "zap_denied", is.zap_denied);
        json_set_u64(ing, "retries", is.retries);
        json_set_u64(ing, "commands", is.commands);
        json_set_u64(ing, "latency_p50_usec", is.latency_p50_usec);
        json_set_u64(ing, "latency_p99_usec", is.latency_p99_usec);
        json_object_set_new(j, "ingest", ing);
    }
    *reply = j;
    return 0;
}

static int cmd_events(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    struct events_query q = {0};
    const char *since = NULL;
    int rc = control_arg_str(req, "kind", false, NULL, &q.kind, err, errcap);
    if (rc == 0)
        rc = control_arg_str(req, "host", false, NULL, &q.host, err, errcap);
    if (rc == 0)
        rc = control_arg_str(req, "sensor", false, NULL, &q.sensor, err, errcap);
    if (rc == 0)
        rc = control_arg_u64(req, "limit", false, STORE_EVENTS_DEFAULT_LIMIT, &q.limit, err,
                             errcap);
    if (rc < 0)
        return rc;
    const json_t *js = json_object_get(req->args, "since");
    if (json_is_integer(js) && json_integer_value(js) >= 0) {
        q.since_usec = (uint64_t)json_integer_value(js);
    } else {
        rc = control_arg_str(req, "since", false, NULL, &since, err, errcap);
        if (rc < 0) {
            snprintf(err, errcap, "argument 'since' must be a time (ISO-8601 UTC, \"-15m\")"
                                  " or microseconds since the epoch");
            return rc;
        }
        if (since && clock_parse_time(since, &q.since_usec) < 0) {
            char esc[80];
            snprintf(err, errcap, "bad time '%s': use ISO-8601 UTC (2026-11-21T06:00:00Z) or"
                                  " a relative time (-15m, -2h, -1d)",
                     log_escape(since, strlen(since), esc, sizeof(esc)));
            return -EINVAL;
        }
    }
    for (const char *k = q.kind; k && *k;) {
        /* One kind, or several separated by commas. */
        size_t n = strcspn(k, ",");
        char one[32];
        snprintf(one, sizeof(one), "%.*s", (int)WARD_MIN(n, sizeof(one) - 1), k);
        if (n >= sizeof(one) || event_kind_parse(one) == WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED) {
            char esc[80];
            snprintf(err, errcap, "unknown event kind '%s'", log_escape(k, n, esc, sizeof(esc)));
            return -EINVAL;
        }
        k += n;
        if (*k == ',')
            k++;
    }
    if (q.limit == 0 || q.limit > STORE_EVENTS_MAX_LIMIT) {
        snprintf(err, errcap, "limit must be 1 to %d", STORE_EVENTS_MAX_LIMIT);
        return -EINVAL;
    }
    rc = store_events_query(c->store, &q, reply);
    if (rc < 0)
        snprintf(err, errcap, "cannot query events: %s", strerror(-rc));
    return rc;
}

/* ---------------------------------------------------------------- module */

static int sensors_init(struct console *c)
{
    struct sensors_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (c->cfg && config_get_duration(c->cfg, "console", "heartbeat_interval",
                                      SENSORS_DEFAULT_HEARTBEAT_USEC, &s->heartbeat_usec) < 0) {
        log_err("%s", config_error(c->cfg));
        free(s);
        return -EINVAL;
    }
    if (!c->cfg)
        s->heartbeat_usec = SENSORS_DEFAULT_HEARTBEAT_USEC;
    if (s->heartbeat_usec < USEC_PER_SEC) {
        log_err("%s: [console] heartbeat_interval must be at least 1s",
                c->cfg ? config_name(c->cfg) : "config");
        free(s);
        return -EINVAL;
    }
    s->started_usec = clock_now_usec();
    c->mod[MOD_SENSORS] = s;
    return 0;
}

static void sensors_fini(struct console *c)
{
    free(c->mod[MOD_SENSORS]);
    c->mod[MOD_SENSORS] = NULL;
}

static const struct ctl_cmd sensors_cmds[] = {
    {"sensor.add", ROLE_ADMIN, cmd_sensor_add},
    {"sensor.revoke", ROLE_OPERATOR, cmd_sensor_revoke},
    {"sensor.list", ROLE_VIEWER, cmd_sensor_list},
    {"status", ROLE_VIEWER, cmd_status},
    {"events", ROLE_VIEWER, cmd_events},
    {NULL, ROLE_NONE, NULL},
};

const struct console_module sensors_module = {
    .name = "sensors",
    .init = sensors_init,
    .fini = sensors_fini,
    .on_tick = sensors_tick,
    .commands = sensors_cmds,
};
