/*
 * wardctl -- the operator's command line.  Global options, then a command from
 * one of the tables below; each command talks to ward-console over its control
 * socket (cli.h), except keygen, which works offline.
 *
 * Exit codes: 0 ok, 1 the console refused or failed (message printed), 2 usage.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "ward.h"

/* Every command table; one line per area. */
static const struct cli_cmd *const tables[] = {
    cli_core_cmds,
    cli_assets_cmds,
    cli_evidence_cmds,
    cli_incident_cmds,
    cli_intel_cmds,
    NULL,
};

static const struct cli_cmd *find(const char *name)
{
    for (size_t t = 0; tables[t]; t++) {
        for (const struct cli_cmd *c = tables[t]; c->name; c++) {
            if (strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: wardctl [-s SOCKET] [--json] COMMAND [ARGS...]\n"
            "\n"
            "The operator's command line for ward-console.  Commands other than keygen talk\n"
            "to the running console over its control socket; the console knows who you\n"
            "are from the socket's peer credentials and grants what your role in its\n"
            "[roles] configuration allows (viewer, operator, admin).\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH  the console's control socket (default: $WARD_SOCKET, or\n"
            "                     " CLI_DEFAULT_SOCKET ")\n"
            "      --json         print replies as JSON lines instead of tables\n"
            "  -h, --help         this help;  wardctl help COMMAND  shows one command\n"
            "  -V, --version      print the version\n"
            "\n"
            "Commands:\n");
    for (size_t t = 0; tables[t]; t++) {
        for (const struct cli_cmd *c = tables[t]; c->name; c++) {
            fprintf(f, "  %-10s %s\n", c->name, c->summary);
            /* One line per form: usages separate their forms with " | ". */
            const char *u = c->usage;
            while (*u) {
                const char *bar = strstr(u, " | ");
                int n = bar ? (int)(bar - u) : (int)strlen(u);
                fprintf(f, "               wardctl %.*s\n", n, u);
                u += n;
                if (bar)
                    u += 3;
            }
        }
    }
    fprintf(f, "\n"
               "Exit status: 0 done, 1 the console refused or failed (the reason is printed),\n"
               "2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cli_opts o = {getenv("WARD_SOCKET"), false};
    if (!o.socket_path || !o.socket_path[0])
        o.socket_path = CLI_DEFAULT_SOCKET;
    cli_guard_output();
    log_open("wardctl", false, LOG_LEVEL_WARN);

    int ch;
    while ((ch = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.socket_path = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            help(stdout);
            return 0;
        case 'V':
            printf("wardctl %s\n", WARD_VERSION);
            return 0;
        default:
            help(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        help(stderr);
        return 2;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 < argc) {
            const struct cli_cmd *c = find(argv[optind + 1]);
            if (!c) {
                fprintf(stderr, "wardctl: unknown command '%s'\n", argv[optind + 1]);
                return 2;
            }
            printf("usage: wardctl %s\n  %s\n", c->usage, c->summary);
            return 0;
        }
        help(stdout);
        return 0;
    }
    const struct cli_cmd *c = find(name);
    if (!c) {
        fprintf(stderr, "wardctl: unknown command '%s' (wardctl --help lists them)\n", name);
        return 2;
    }
    return c->fn(&o, argc - optind, argv + optind);
}
