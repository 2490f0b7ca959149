/*
 * modules -- runs the console's module table (console.h) as a whole: init in
 * order, fini in reverse, each stored message and each tick to every module, and
 * the events Ward raises by itself.  The table is c->modules, or console_modules
 * when that is NULL.  Console thread only.
 */
#ifndef WARD_MODULES_H
#define WARD_MODULES_H

#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "ward.h"

/* The module table in use for c. */
const struct console_module *const *modules_table(const struct console *c);

/*
 * Calls every module's init in table order.  On a failure, finishes the modules
 * already started (reverse order) and returns that module's negative errno; the
 * module has logged why.
 */
WARD_MUST_CHECK int modules_init(struct console *c);
/*
 * Calls every module's fini in reverse order.  A module's fini must accept a
 * module that never started (its state slot NULL) and leave its slot NULL.
 */
void modules_fini(struct console *c);

/*
 * Hands one stored message to every module's on_message, inside the caller's
 * transaction.  Stops at and returns the first negative result.
 */
WARD_MUST_CHECK int modules_message(struct console *c, const struct msg_origin *o,
                                    const Ward__Message *m);
/*
 * Ends a batch for every module (on_batch_end with ok), inside the caller's
 * transaction, before its commit.  Stops at and returns the first negative
 * result; the caller then calls modules_batch_abort() and rolls back.
 */
WARD_MUST_CHECK int modules_batch_end(struct console *c);
/* Tells every module to forget the batch being rolled back (on_batch_end, !ok). */
void modules_batch_abort(struct console *c);
/*
 * Before the commit of a transaction that stored batches: every module's
 * on_commit.  Stops at and returns the first negative result; the caller then
 * calls modules_batch_abort() and rolls back.
 */
WARD_MUST_CHECK int modules_before_commit(struct console *c);
/* Calls every module's on_tick. */
void modules_tick(struct console *c, uint64_t now_usec);

/*
 * Stores an event Ward made itself (sensor_silent) under the sensor it is about,
 * and hands it to every module as a message from that sensor (seq 0), all in one
 * transaction.  0 or negative errno.
 */
WARD_MUST_CHECK int modules_raise_event(struct console *c, int64_t sensor_id, const char *sensor,
                                        const Ward__Event *ev);

#endif
