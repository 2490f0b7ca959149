/*
 * incident_fx -- a console for unit tests of the incident module: an in-memory
 * store, a config from text, the fake clock, events fed as sensor messages in
 * their own transaction, and control verbs called as a given actor.
 */
#ifndef WARD_INCIDENT_FX_H
#define WARD_INCIDENT_FX_H

#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "ward.pb-c.h"

#define INCIDENT_FX_T0 (1763712000ULL * 1000000ULL) /* 2025-11-21T08:00:00Z */

struct incident_fx {
    struct console c;     /* store, cfg, module slots */
    struct config *cfg;   /* from the text given */
};

/* Operators and viewers the tests act as. */
extern const struct actor incident_fx_alice;  /* operator */
extern const struct actor incident_fx_victor; /* viewer */

/* Opens the console with config text (NULL for none) and starts the incident module. */
struct incident_fx *incident_fx_open(const char *config_text);
void incident_fx_close(struct incident_fx *fx);

/* One event as a sensor message; times in seconds after INCIDENT_FX_T0 (packet time). */
struct incident_fx_event {
    const char *sensor;       /* "edge-1" when NULL */
    const char *uid;          /* required */
    Ward__EventKind kind;
    const char *src;
    const char *dst;
    const char *domain;
    uint64_t at_sec;          /* first packet */
    const char *evidence;     /* one evidence hash or NULL */
};
/*
 * Feeds ev through on_message as a batch of its own (a transaction, then the
 * module's on_batch_end and on_commit); returns the first failure.
 */
int incident_fx_event(struct incident_fx *fx, const struct incident_fx_event *ev);
/* Feeds n events as one batch, as ingest stores a sensor's batch. */
int incident_fx_batch(struct incident_fx *fx, const struct incident_fx_event *evs, size_t n);
/*
 * Feeds n events as batches of per_batch in one transaction, as ingest stores
 * the batches waiting on its socket (each batch's on_batch_end, then on_commit).
 */
int incident_fx_group(struct incident_fx *fx, const struct incident_fx_event *evs, size_t n,
                      size_t per_batch);

/*
 * Calls verb as who with args (consumed).  Returns the handler's result; *reply
 * (may be NULL) gets the reply, err the message.  Enforces the verb's min_role.
 */
int incident_fx_call(struct incident_fx *fx, const struct actor *who, const char *verb,
                     json_t *args, json_t **reply, char *err, size_t errcap);

/* Number of incidents (all states but merged). */
int incident_fx_count(struct incident_fx *fx);

#endif
