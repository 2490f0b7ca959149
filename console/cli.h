/*
 * cli -- wardctl's command table and its client for the control socket.
 *
 * wardctl.c holds main() and the list of command tables; each area keeps its
 * verbs in cli_<area>.c as a `const struct cli_cmd cli_<area>_cmds[]` ending in
 * {NULL}.  A command parses its own arguments, calls the console with cli_call()
 * and prints the reply as a table (or as JSON with --json).  Exit codes: 0 ok,
 * 1 the console refused or failed (message printed), 2 usage error.
 *
 * Wire protocol (docs/protocol.md): one JSON object per line each way over the
 * UNIX socket.  Request {"verb": "...", "args": {...}}; reply {"ok": true,
 * "data": ...} or {"ok": false, "error": "..."}.  Lines are at most
 * CLI_MAX_LINE bytes.
 */
#ifndef WARD_CLI_H
#define WARD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "json.h"

#define CLI_MAX_LINE (16u << 20)
#define CLI_DEFAULT_SOCKET "/run/ward/console.sock"

struct cli_opts {
    const char *socket_path; /* -s PATH, $WARD_SOCKET, or CLI_DEFAULT_SOCKET */
    bool json;               /* --json: print replies as JSON */
};

struct cli_cmd {
    const char *name;    /* first word: "incident", "sensor", "events" */
    const char *usage;   /* "incident show ID | incident ack ID | ..." */
    const char *summary; /* one line for `wardctl --help` */
    /* argv[0] is the command name.  Returns the exit code. */
    int (*fn)(const struct cli_opts *o, int argc, char **argv);
};

/*
 * Sends {verb, args} (args consumed; may be NULL) and waits for the reply.  On
 * success returns 0 and sets *data (new reference, may be JSON null).  On a
 * refusal prints "wardctl: <error>" to stderr and returns 1; on a connection
 * failure prints why (and the socket path) and returns 1.
 */
int cli_call(const struct cli_opts *o, const char *verb, json_t *args, json_t **data);

/* Prints a usage line to stderr and returns 2. */
int cli_usage(const struct cli_cmd *cmd);

#endif
