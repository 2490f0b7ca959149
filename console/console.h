/*
 * console -- the ward-console daemon's shared context and its module interface.
 *
 * The console is one thread running one poll loop (main.c): the ZeroMQ ROUTER
 * (ingest.c), the control socket (control.c) and a one-second tick.  Features
 * are console modules listed in modules.c, each with the same small interface:
 * init after the store is open, a hook for every stored sensor message (called
 * inside the batch's transaction, so what a module writes commits or rolls back
 * with the batch), a hook at the end of each batch (so a module may keep what a
 * batch changes in memory and write it once), a tick, and the control verbs it
 * serves.  Modules keep their
 * state behind the `mod` slots of struct console.
 */
#ifndef WARD_CONSOLE_H
#define WARD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "json.h"
#include "keys.h"
#include "ward.pb-c.h"

struct store;
struct ingest;
struct control;

/* Operator roles, from [roles] in the console config (user = role). */
enum role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

/* Who asked: from SO_PEERCRED on the control socket, or Ward itself. */
struct actor {
    uid_t uid;          /* peer uid (0 for Ward itself) */
    char name[64];      /* user name, or "ward" for Ward's own actions */
    enum role role;     /* role from config */
};

/* One control request, already parsed and authorised. */
struct ctl_req {
    const char *verb;          /* "incident.show" */
    const json_t *args;        /* request arguments (an object) */
    const struct actor *actor; /* who asked */
};

/*
 * A control verb's handler.  On success sets *reply (a new reference, usually an
 * object) and returns 0.  On failure returns a negative errno and writes a
 * message for the operator into err ("incident 7 cannot go to recovering: ...").
 */
struct console;
typedef int (*ctl_fn)(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap);

struct ctl_cmd {
    const char *verb;   /* "events", "incident.show" */
    enum role min_role; /* least role allowed */
    ctl_fn fn;          /* handler */
};

/* Where a stored message came from. */
struct msg_origin {
    const char *sensor; /* enrolled sensor name */
    uint64_t seq;       /* its sequence number */
    int64_t sensor_id;  /* row id in the sensors table */
    int64_t event_id;   /* an event's row in the events table once stored, else 0 */
};

struct console_module {
    const char *name;
    /* After the store is open.  Creates its tables; reads its config.  0 or -errno. */
    int (*init)(struct console *c);
    void (*fini)(struct console *c);
    /*
     * A message from a batch, inside the batch's transaction.  A negative return
     * rolls the whole batch back (it is then not acknowledged and will be resent).
     */
    int (*on_message)(struct console *c, const struct msg_origin *o, const Ward__Message *m);
    /*
     * After the last message of a batch (or of an event Ward raised), still
     * inside its transaction.  ok: write what the module kept in memory for the
     * batch; a negative return rolls the batch back.  !ok: the batch is being
     * rolled back; forget it (the return is ignored).  NULL when unused.
     */
    int (*on_batch_end)(struct console *c, bool ok);
    /*
     * Before the transaction holding one or more batches (or an event Ward
     * raised) commits, after their on_batch_end: write what the module kept in
     * memory across them.  A negative return rolls all of them back.  NULL when
     * unused.
     */
    int (*on_commit)(struct console *c);
    /* Once a second (console wall clock through common/clock.h). */
    void (*on_tick)(struct console *c, uint64_t now_usec);
    /* Control verbs, terminated by {NULL}. */
    const struct ctl_cmd *commands;
};

/* Module slots in struct console; each module owns its own. */
enum console_mod {
    MOD_EVENTS, MOD_SENSORS, MOD_INCIDENTS, MOD_AUDIT, MOD_ASSETS, MOD_EVIDENCE, MOD_CONTAIN,
    MOD_INTEL, MOD_COUNT
};

struct console {
    struct config *cfg;          /* console configuration */
    /* The modules this console runs (modules.h); NULL means console_modules. */
    const struct console_module *const *modules;
    const char *data_dir;        /* [console] data_dir: database, vault */
    struct store *store;         /* SQLite */
    struct ingest *ingest;       /* ZeroMQ side (NULL in unit tests) */
    struct control *control;     /* control socket (NULL in unit tests) */
    struct keys_identity id;     /* the console's own identity (signs commands, exports) */
    void *mod[MOD_COUNT];        /* module states */
    volatile int stop;           /* set by signals */
};

/* The module table (modules.c), terminated by NULL. */
extern const struct console_module *const console_modules[];

/* The actor for Ward's own actions. */
const struct actor *console_ward_actor(void);

/*
 * Sends a signed command to a sensor by name (ingest.c).  Returns 0 if queued,
 * -ENOTCONN if that sensor has no live connection, -ENOENT if not enrolled.
 */
int console_send_command(struct console *c, const char *sensor, Ward__Command *cmd);

#endif
