/*
 * command -- commands to sensors: ids, sending, per-sensor results (command.h).
 */
#include "command.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "store_sensors.h"

void command_init(Ward__Command *cmd, uint64_t id, uint64_t now_usec)
{
    ward__command__init(cmd);
    cmd->id = id;
    cmd->issued_usec = now_usec;
    cmd->expires_usec = now_usec + COMMAND_LIFETIME_SEC * USEC_PER_SEC;
}

int command_next_id(struct console *c, uint64_t *out)
{
    return store_contain_next_id(c->store, out);
}

void command_targets_init(struct command_targets *t)
{
    memset(t, 0, sizeof(*t));
}

bool command_targets_has(const struct command_targets *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->names[i], name))
            return true;
    return false;
}

int command_try(struct console *c, struct command_targets *t, const char *name, Ward__Command *cmd)
{
    if (t->count == COMMAND_MAX_SENSORS || command_targets_has(t, name))
        return -EALREADY;
    int rc = console_send_command(c, name, cmd);
    snprintf(t->names[t->count], sizeof(t->names[0]), "%s", name);
    snprintf(t->status[t->count], sizeof(t->status[0]), "%s",
             rc == 0         ? "sent"
             : rc == -ENOENT ? "unknown"
                             : "unreachable");
    if (rc == 0)
        t->sent++;
    t->count++;
    return rc;
}

struct try_all {
    struct console *c;         /* the console */
    struct command_targets *t; /* outcomes */
    Ward__Command *cmd;        /* what to send */
};

static int try_one(void *arg, const struct sensor_row *row)
{
    struct try_all *a = arg;
    if (!row->revoked)
        (void)command_try(a->c, a->t, row->name, a->cmd);
    return 0;
}

void command_try_all(struct console *c, struct command_targets *t, Ward__Command *cmd)
{
    struct try_all a = {c, t, cmd};
    (void)store_sensors_each(c->store, try_one, &a);
}

json_t *command_targets_json(const struct command_targets *t)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < t->count; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "sensor", t->names[i], "status", t->status[i]));
    return a;
}

int command_record_sent(struct console *c, uint64_t id, const struct command_targets *t,
                        uint64_t now_usec)
{
    for (size_t i = 0; i < t->count; i++) {
        int rc = store_contain_result(c->store, id, t->names[i], t->status[i], "", "", now_usec);
        if (rc)
            return rc;
    }
    return 0;
}

int command_peek(struct console *c, uint64_t id, struct contain_cmd_row *row)
{
    return store_contain_cmd_get(c->store, id, row);
}

int command_record_result(struct console *c, const char *sensor, uint64_t id,
                          const Ward__CommandResult *r)
{
    uint64_t at = r->done_usec ? r->done_usec : clock_now_usec();
    return store_contain_result(c->store, id, sensor, r->ok ? "ok" : "failed",
                                r->detail ? r->detail : "", r->backend ? r->backend : "", at);
}
