/*
 * incident_fx -- see incident_fx.h.
 */
#include "incident_fx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "incident.h"
#include "keys.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

const struct actor incident_fx_alice = {1001, "alice", ROLE_OPERATOR};
const struct actor incident_fx_victor = {1002, "victor", ROLE_VIEWER};

struct incident_fx *incident_fx_open(const char *text)
{
    struct incident_fx *fx = calloc(1, sizeof(*fx));
    if (!fx || keys_init() < 0)
        goto fail;
    clock_fake_set(INCIDENT_FX_T0);
    char err[CONFIG_ERR_LEN];
    if (text) {
        if (config_parse("test.conf", text, strlen(text), &fx->cfg, err, sizeof(err)) < 0) {
            fprintf(stderr, "incident_fx: %s\n", err);
            goto fail;
        }
    } else {
        fx->cfg = config_new_empty("test.conf");
    }
    fx->c.cfg = fx->cfg;
    if (store_open(":memory:", &fx->c.store) < 0)
        goto fail;
    if (audit_module.init(&fx->c) < 0 || incident_module.init(&fx->c) < 0)
        goto fail;
    return fx;
fail:
    incident_fx_close(fx);
    return NULL;
}

void incident_fx_close(struct incident_fx *fx)
{
    if (!fx)
        return;
    if (incident_module.fini)
        incident_module.fini(&fx->c);
    store_close(fx->c.store);
    config_free(fx->cfg);
    free(fx);
    clock_fake_off();
}

static char *mut(const char *s)
{
    return (char *)(uintptr_t)(s ? s : "");
}

/* Hands one event to the incident module (inside the caller's transaction). */
static int feed_one(struct incident_fx *fx, const struct incident_fx_event *e)
{
    Ward__Event ev;
    ward__event__init(&ev);
    ev.uid = mut(e->uid);
    ev.revision = 1;
    ev.kind = e->kind;
    ev.src = mut(e->src);
    ev.dst = mut(e->dst);
    ev.domain = mut(e->domain);
    ev.first_usec = INCIDENT_FX_T0 + e->at_sec * 1000000ULL;
    ev.last_usec = ev.first_usec + 10 * 1000000ULL;
    ev.severity = 50;
    ev.confidence = 80;
    char summary[160];
    snprintf(summary, sizeof(summary), "%s from %s", e->uid, e->src ? e->src : "?");
    ev.summary = summary;
    char *evidence[1] = {mut(e->evidence)};
    if (e->evidence) {
        ev.n_evidence = 1;
        ev.evidence = evidence;
    }
    Ward__Message m;
    ward__message__init(&m);
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;
    struct msg_origin o = {e->sensor ? e->sensor : "edge-1", 1, 0, 0};
    struct sensor_row row;
    int rc = store_sensors_by_name(fx->c.store, o.sensor, &row);
    if (rc == -ENOENT) {
        /* Enrol it, with keys of its own (a CURVE key is enrolled once). */
        struct keys_public pub;
        uint8_t seed = 1;
        for (const char *p = o.sensor; *p; p++)
            seed = (uint8_t)(seed * 31u + (unsigned char)*p);
        memset(pub.curve_pk, seed, sizeof(pub.curve_pk));
        memset(pub.sign_pk, seed, sizeof(pub.sign_pk));
        rc = store_sensors_add(fx->c.store, o.sensor, &pub, INCIDENT_FX_T0);
        if (rc == 0)
            rc = store_sensors_by_name(fx->c.store, o.sensor, &row);
    }
    if (rc)
        return rc;
    o.sensor_id = row.id;
    rc = store_events_upsert(fx->c.store, &o, &ev, clock_now_usec(), &o.event_id);
    return rc ? rc : incident_module.on_message(&fx->c, &o, &m);
}

int incident_fx_group(struct incident_fx *fx, const struct incident_fx_event *evs, size_t n,
                      size_t per_batch)
{
    int rc = store_begin(fx->c.store);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = feed_one(fx, &evs[i]);
        if (rc == 0 && ((i + 1) % per_batch == 0 || i + 1 == n))
            rc = incident_module.on_batch_end(&fx->c, true);
    }
    if (rc == 0)
        rc = incident_module.on_commit(&fx->c);
    if (rc == 0)
        rc = store_commit(fx->c.store);
    if (rc) {
        (void)!incident_module.on_batch_end(&fx->c, false);
        if (store_in_tx(fx->c.store))
            store_rollback(fx->c.store);
    }
    return rc;
}

int incident_fx_batch(struct incident_fx *fx, const struct incident_fx_event *evs, size_t n)
{
    return incident_fx_group(fx, evs, n, n ? n : 1);
}

int incident_fx_event(struct incident_fx *fx, const struct incident_fx_event *e)
{
    return incident_fx_batch(fx, e, 1);
}

int incident_fx_call(struct incident_fx *fx, const struct actor *who, const char *verb,
                     json_t *args, json_t **reply, char *err, size_t errcap)
{
    const struct console_module *mods[] = {&incident_module, &audit_module};
    json_t *r = NULL;
    int rc = -ENOENT;
    err[0] = '\0';
    if (!args)
        args = json_object();
    for (size_t i = 0; i < 2 && rc == -ENOENT; i++) {
        for (const struct ctl_cmd *cmd = mods[i]->commands; cmd && cmd->verb; cmd++) {
            if (strcmp(cmd->verb, verb) != 0)
                continue;
            if (who->role < cmd->min_role) {
                snprintf(err, errcap, "permission denied: '%s'", verb);
                rc = -EPERM;
                break;
            }
            struct ctl_req req = {verb, args, who};
            rc = cmd->fn(&fx->c, &req, &r, err, errcap);
            break;
        }
    }
    json_decref(args);
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return rc;
}

int incident_fx_count(struct incident_fx *fx)
{
    json_t *list = NULL;
    char err[256];
    if (incident_fx_call(fx, &incident_fx_alice, "incidents", NULL, &list, err, sizeof(err)) < 0)
        return -1;
    int n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        if (strcmp(json_str(o, "state", ""), "merged") != 0)
            n++;
    }
    json_decref(list);
    return n;
}
