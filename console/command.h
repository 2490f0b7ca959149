/*
 * command -- the console's machinery for commands to sensors, shared by the
 * modules that send them (containment, intel and mode): command ids, the
 * lifetime a sensor honours, sending one signed Command to a set of sensors
 * while noting who was reached, and recording each sensor's status and
 * CommandResult.  Commands and results live in store_contain's tables
 * (contain_cmd, contain_result); each row's action names the module that owns
 * it.  The module that sends a command records it in its own audit trail.
 * Console thread only.
 */
#ifndef WARD_COMMAND_H
#define WARD_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "store_contain.h"
#include "ward.h"

#define COMMAND_LIFETIME_SEC 300 /* a sensor ignores a command older than this */
#define COMMAND_MAX_SENSORS 256  /* sensors one command is sent to */

/* The sensors a command was tried on and what became of it at each. */
struct command_targets {
    char names[COMMAND_MAX_SENSORS][65];  /* sensors tried */
    char status[COMMAND_MAX_SENSORS][16]; /* sent, unreachable, unknown */
    size_t count;                         /* entries */
    size_t sent;                          /* of which sent */
};

/* A fresh Command: id, issued now, expiring after COMMAND_LIFETIME_SEC. */
void command_init(Ward__Command *cmd, uint64_t id, uint64_t now_usec);
/* The next free command id.  0 or a negative errno. */
WARD_MUST_CHECK int command_next_id(struct console *c, uint64_t *out);

void command_targets_init(struct command_targets *t);
bool command_targets_has(const struct command_targets *t, const char *name);
/*
 * Sends cmd to sensor name unless it was tried already (or t is full) and notes
 * the outcome: sent, unreachable (no live connection) or unknown (not enrolled).
 * Returns the send's result (0 sent).
 */
int command_try(struct console *c, struct command_targets *t, const char *name, Ward__Command *cmd);
/* command_try() on every enrolled sensor that is not revoked. */
void command_try_all(struct console *c, struct command_targets *t, Ward__Command *cmd);
/* [{sensor, status}] for each sensor tried (a new reference; NULL out of memory). */
json_t *command_targets_json(const struct command_targets *t);
/* A (command, sensor, status) result row for every sensor tried.  0 or negative errno. */
WARD_MUST_CHECK int command_record_sent(struct console *c, uint64_t id,
                                        const struct command_targets *t, uint64_t now_usec);

/* The command a result answers.  0, -ENOENT when the console never sent it. */
WARD_MUST_CHECK int command_peek(struct console *c, uint64_t id, struct contain_cmd_row *row);
/*
 * Records a sensor's CommandResult for command id: ok/failed, detail, backend,
 * and when (the sensor's done_usec, or now).  Only the module that owns the
 * command (its row's action) calls this.  0 or negative errno.
 */
WARD_MUST_CHECK int command_record_result(struct console *c, const char *sensor, uint64_t id,
                                          const Ward__CommandResult *r);

#endif
