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

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The command tables (cli_<area>.c), listed in wardctl.c.  Add a line per area. */
extern const struct cli_cmd cli_core_cmds[];
extern const struct cli_cmd cli_assets_cmds[];
extern const struct cli_cmd cli_evidence_cmds[];
extern const struct cli_cmd cli_incident_cmds[];
extern const struct cli_cmd cli_intel_cmds[];

/*
 * Sends {verb, args} (args consumed; may be NULL) and waits for the reply.  On
 * success returns 0 and sets *data (new reference, may be JSON null).  On a
 * refusal prints "wardctl: <error>" to stderr and returns 1; on a connection
 * failure prints why (and the socket path) and returns 1.
 */
int cli_call(const struct cli_opts *o, const char *verb, json_t *args, json_t **data);

/* Prints a usage line to stderr and returns 2. */
int cli_usage(const struct cli_cmd *cmd);

/*
 * Options of a command.  A command lists its own options in a table (the
 * CLI_FLAG()... macros below, ended by CLI_OPTS_END) and calls cli_parse(),
 * which runs getopt_long() over argv (a fresh scan; argv[0] is the command's
 * name, which getopt's own messages name) and adds what every command accepts:
 * --json (sets o->json, as the global option does) and -h/--help (prints the
 * usage and exits 2, as any mistake does).
 */
enum cli_opt_kind {
    CLI_OPT_FLAG,   /* bool *out = true */
    CLI_OPT_STR,    /* const char **out = the argument */
    CLI_OPT_CHOICE, /* const char **out = value: flags that pick one setting, the last wins */
    CLI_OPT_UINT,   /* uint64_t *out = the argument: decimal, not negative, min..max */
    CLI_OPT_FN,     /* parse(the argument, out) */
    CLI_OPT_JSON,   /* --json here (a table without it gets it after its own options) */
    CLI_OPT_HELP,   /* -h/--help here (likewise, last) */
};

struct cli_opt {
    const char *name;       /* the long name: "incident" for --incident */
    char short_name;        /* also -C; 0: none */
    enum cli_opt_kind kind; /* what it takes and where it goes */
    void *out;              /* where it goes (see the kinds); entries with the same kind,
                               out and value spell one option (--dept, --department) */
    const char *value;      /* CLI_OPT_CHOICE: the setting */
    uint64_t min, max;      /* CLI_OPT_UINT: the range accepted */
    int (*parse)(const char *arg, void *out); /* CLI_OPT_FN: 0, or negative errno if bad */
    const char *bad;        /* a bad argument prints "wardctl: --NAME BAD" (UINT) or
                               "wardctl: --NAME ARG: BAD" (FN); NULL: the usage */
};

/*
 * Table entries: n the long name, c the short one ('n' for -n; 0: none), p
 * where the option goes, of the type its kind stores (the compiler checks it).
 */
#define CLI_OUT(type, p) (1 ? (p) : (type)NULL)
#define CLI_FLAG(n, c, p)                                                                  \
    {.name = (n), .short_name = (c), .kind = CLI_OPT_FLAG, .out = CLI_OUT(bool *, p)}
#define CLI_STR(n, c, p)                                                                   \
    {.name = (n), .short_name = (c), .kind = CLI_OPT_STR, .out = CLI_OUT(const char **, p)}
#define CLI_CHOICE(n, p, v)                                                                \
    {.name = (n), .kind = CLI_OPT_CHOICE, .out = CLI_OUT(const char **, p), .value = (v)}
#define CLI_UINT(n, c, p, lo, hi, why)                                                     \
    {.name = (n), .short_name = (c), .kind = CLI_OPT_UINT, .out = CLI_OUT(uint64_t *, p), \
     .min = (lo), .max = (hi), .bad = (why)}
#define CLI_FN(n, c, p, fn, why)                                                           \
    {.name = (n), .short_name = (c), .kind = CLI_OPT_FN, .out = (p), .parse = (fn),       \
     .bad = (why)}
#define CLI_JSON {.name = "json", .kind = CLI_OPT_JSON}
#define CLI_HELP {.name = "help", .short_name = 'h', .kind = CLI_OPT_HELP}
#define CLI_OPTS_END {.name = NULL}

#define CLI_ARGS_ANY INT_MAX /* cli_syntax.max_args: no limit */

enum cli_order {
    CLI_MIXED,         /* options and operands in any order */
    CLI_OPTIONS_FIRST, /* options end at the first operand (getopt's "+") */
};

/* What a command accepts. */
struct cli_syntax {
    const struct cli_cmd *cmd;  /* whose usage a mistake prints */
    const struct cli_opt *opts; /* its own options, ended by CLI_OPTS_END; NULL: none */
    int min_args;               /* operands (what is not an option): at least */
    int max_args;               /* at most; CLI_ARGS_ANY: no limit */
    enum cli_order order;       /* where the options may stand */
};

/*
 * Parses argv's options as syn says, storing each where its table entry
 * points, then counts the operands left.  Returns 0 and sets *first (unless
 * NULL) to the index of the first operand (getopt moves the operands after the
 * options).  After a mistake (an unknown option, a bad argument, too few or too
 * many operands) or --help, returns 2, the usage error's exit code, having
 * printed the usage or what is wrong.
 */
WARD_MUST_CHECK int cli_parse(const struct cli_syntax *syn, struct cli_opts *o, int argc,
                              char **argv, int *first);

/*
 * Printing.  With --json a command prints its reply's data as JSON lines: an
 * array one element per line (the shape `ward-sensor -o jsonl` uses for events),
 * anything else as one line.  Otherwise it prints tables for a person.
 */
int cli_print_json(const json_t *data);

enum cli_fmt {
    CLI_STR,   /* string as is (numbers and booleans printed plainly) */
    CLI_INT,   /* integer */
    CLI_TIME,  /* ISO-8601 string shortened to "2026-11-21 06:49:22" */
    CLI_AGE,   /* a number of seconds as "3m12s" */
    CLI_LIST,  /* array joined with "," */
    CLI_BOOL,  /* "yes" / "" */
};

struct cli_col {
    const char *title; /* column header, "LAST SEEN" */
    const char *key;   /* object key in each row */
    enum cli_fmt fmt;  /* how to show the value */
    int max_width;     /* cut longer cells with "..."; 0: no limit */
};

/*
 * Prints rows (a JSON array of objects) as an aligned table with a header line;
 * prints "(none)" for an empty array.
 */
void cli_print_table(FILE *f, const struct cli_col *cols, size_t ncols, const json_t *rows);
/*
 * Reads the text file path whole into a new NUL-terminated buffer (*out, *len
 * bytes), at most max bytes.  Returns 0, or 1 after printing why to stderr
 * ("wardctl: PATH: ..."): it cannot be opened or read, it holds a NUL byte, or
 * it is larger than max (then the message is too_large).
 */
int cli_read_file(const char *path, size_t max, const char *too_large, char **out, size_t *len);
/* A command's per-sensor outcome (an array of {sensor, status}), a line each:
 * "  sensor edge-1               sent". */
void cli_print_sensors(const json_t *sensors);
/* One cell's text (as the table shows it) into out (always NUL-terminated). */
void cli_cell(const json_t *v, enum cli_fmt fmt, char *out, size_t cap);
/*
 * Makes s safe to print on an analyst's terminal, in place: tabs, newlines and
 * other control characters become spaces (ESC and C1 controls, which could
 * drive the terminal, become '?'), as do bytes that are not valid UTF-8.  Text
 * from the network (host names, user agents, DNS names, summaries) passes
 * through here before a table shows it.
 */
void cli_clean(char *s);
/*
 * Puts a filter on stdout and stderr for the rest of the process: valid UTF-8,
 * newlines, tabs and carriage returns pass; other control characters (ESC
 * sequences that could rewrite the screen, retitle the window or answer back)
 * and invalid bytes come out as '?'.  wardctl calls it first, so text that came
 * from the network reaches the analyst's terminal as text whichever command
 * prints it.
 */
void cli_guard_output(void);
/* Columns s takes on a terminal (East Asian wide characters count 2,
 * combining marks 0). */
size_t cli_text_width(const char *s);
/* Cuts s at a character boundary so it takes at most cols columns; returns the
 * columns left. */
size_t cli_text_cut(char *s, size_t cols);
/* Seconds as "3d4h", "2h5m", "3m12s", "42s". */
char *cli_fmt_age(uint64_t sec, char *out, size_t cap);

#endif
