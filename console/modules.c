/*
 * modules -- the console's module table and the code that drives it.
 *
 * Every console feature is one module listed in console_modules[] below; adding
 * a feature is one line here.  Order matters for init (a module may use the
 * tables of the ones before it) and for on_message (correlation after storage).
 */
#include "modules.h"

#include <errno.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "ledger.h"
#include "incident.h"
#include "intel.h"
#include "log.h"
#include "contain.h"
#include "sensors.h"
#include "store.h"
#include "store_events.h"
#include "vault.h"

const struct console_module *const console_modules[] = {
    &audit_module,
    &sensors_module,
    &ledger_module,
    &incident_module, /* before contain: auto-containment reads the event's incident */
    &vault_module,
    &contain_module,
    &intel_module, /* after contain: shares its command tables */
    NULL,
};

const struct actor *console_ward_actor(void)
{
    static const struct actor ward = {0, "ward", ROLE_ADMIN};
    return &ward;
}

const struct console_module *const *modules_table(const struct console *c)
{
    return c->modules ? c->modules : console_modules;
}

/* How many modules of the table have been started (per console). */
static size_t started_count(const struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    size_t n = 0;
    while (t[n])
        n++;
    return n;
}

int modules_init(struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (!t[i]->init)
            continue;
        int rc = t[i]->init(c);
        if (rc < 0) {
            log_err("console: module %s failed to start: %s", t[i]->name, strerror(-rc));
            while (i-- > 0) {
                if (t[i]->fini)
                    t[i]->fini(c);
            }
            return rc;
        }
    }
    return 0;
}

void modules_fini(struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = started_count(c); i-- > 0;) {
        if (t[i]->fini)
            t[i]->fini(c);
    }
}

int modules_message(struct console *c, const struct msg_origin *o, const Ward__Message *m)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (!t[i]->on_message)
            continue;
        int rc = t[i]->on_message(c, o, m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int modules_batch_end(struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (!t[i]->on_batch_end)
            continue;
        int rc = t[i]->on_batch_end(c, true);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void modules_batch_abort(struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (t[i]->on_batch_end)
            (void)!t[i]->on_batch_end(c, false);
    }
}

int modules_before_commit(struct console *c)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (!t[i]->on_commit)
            continue;
        int rc = t[i]->on_commit(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void modules_tick(struct console *c, uint64_t now_usec)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        if (t[i]->on_tick)
            t[i]->on_tick(c, now_usec);
    }
}

int modules_raise_event(struct console *c, int64_t sensor_id, const char *sensor,
                        const Ward__Event *ev)
{
    /* Inside a batch (an asset update raising new_asset), the batch ends it. */
    bool nested = store_in_tx(c->store);
    int rc = store_begin(c->store);
    if (rc < 0)
        return rc;
    int64_t rowid = 0;
    rc = store_events_console(c->store, sensor_id, ev, &rowid);
    if (rc == 0) {
        Ward__Message m;
        ward__message__init(&m);
        m.created_usec = clock_now_usec();
        m.kind_case = WARD__MESSAGE__KIND_EVENT;
        m.event = (Ward__Event *)(uintptr_t)ev; /* read only; the API takes it const */
        struct msg_origin o = {sensor, 0, sensor_id, rowid};
        rc = modules_message(c, &o, &m);
    }
    if (rc == 0 && !nested)
        rc = modules_batch_end(c);
    if (rc == 0 && !nested)
        rc = modules_before_commit(c);
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0) {
        if (!nested)
            modules_batch_abort(c);
        if (store_in_tx(c->store))
            store_rollback(c->store);
    }
    return rc;
}
