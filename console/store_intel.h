/*
 * store_intel -- the console's record of what it told sensors to look for and
 * how hard: indicator pushes and the detection mode.  Part of the store family
 * (store.h); the logic is in intel.c.  Console thread only.
 *
 *   intel_push    one row per push: its command id (the version of the pushed set
 *                 it makes), who, when, which sensor ('' every one), replace, and
 *                 the indicators themselves (canonical text, one per line)
 *   intel_mode    the mode asked for: one row for every sensor ('') and one per
 *                 sensor told apart, with the command that set it
 */
#ifndef WARD_STORE_INTEL_H
#define WARD_STORE_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "ward.h"

struct intel_push_row {
    uint64_t id;           /* command id: the set's version after this push */
    char actor[64];        /* who pushed */
    uint64_t issued_usec;  /* console clock */
    char sensor[65];       /* the one sensor it was for, "" for every sensor */
    bool replace;          /* replaced the pushed set instead of adding */
    const char *addresses; /* canonical addresses and networks, '\n'-separated */
    const char *domains;   /* canonical domains, '\n'-separated */
    uint64_t n_addresses;  /* lines in addresses */
    uint64_t n_domains;    /* lines in domains */
};

struct intel_mode_row {
    char sensor[65];     /* "" for every sensor */
    bool heightened;     /* heightened mode asked for */
    double factor;       /* threshold factor while heightened */
    uint64_t command_id; /* the command that set it */
    char actor[64];      /* who */
    uint64_t at_usec;    /* when */
};

WARD_MUST_CHECK int store_intel_init(struct store *st);
WARD_MUST_CHECK int store_intel_push_add(struct store *st, const struct intel_push_row *r);
/*
 * The pushes that make up sensor's pushed set, oldest first: the latest replace
 * for it or for every sensor, and every push for either after that.  r (and its
 * strings) lives only during the call.  Stops at and returns fn's first nonzero.
 */
typedef int (*store_intel_push_fn)(void *arg, const struct intel_push_row *r);
int store_intel_pushes_for(struct store *st, const char *sensor, store_intel_push_fn fn, void *arg);
/* The version of sensor's pushed set: the id of the latest push for it, 0 if none. */
WARD_MUST_CHECK int store_intel_version_for(struct store *st, const char *sensor, uint64_t *out);
/* The latest limit pushes, newest first, as JSON (counts, not the indicators unless full). */
WARD_MUST_CHECK int store_intel_pushes_json(struct store *st, size_t limit, bool full,
                                            json_t **out);

/* Records a mode; for every sensor ("") it also forgets the per-sensor ones. */
WARD_MUST_CHECK int store_intel_mode_set(struct store *st, const struct intel_mode_row *m);
/* The mode asked of sensor: its own row, else the one for every sensor; -ENOENT if none. */
WARD_MUST_CHECK int store_intel_mode_get(struct store *st, const char *sensor,
                                         struct intel_mode_row *out);

#endif
