/*
 * cli_core -- wardctl's core commands: keygen (offline), sensor add|list|revoke,
 * events and status.  Each parses its own options, calls one control verb and
 * prints a table, or JSON lines with --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "keys.h"

/* ---------------------------------------------------------------- keygen */

/* Creates the parents of dir (like mkdir -p); keys_save() creates dir itself. */
static int make_parents(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    *slash = '\0';
    for (char *p = path + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
            if (end)
                break;
            *p = '/';
        }
    }
    return 0;
}

static int cmd_keygen(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    const struct cli_syntax syn = {&cli_core_cmds[0], NULL, 1, 1, CLI_OPTIONS_FIRST};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    const char *dir = argv[first];
    struct keys_identity id;
    if (keys_init() < 0 || keys_generate(&id) < 0) {
        fprintf(stderr, "wardctl: cannot generate keys (libsodium)\n");
        return 1;
    }
    rc = make_parents(dir);
    if (rc == 0)
        rc = keys_save(dir, &id);
    char token[KEYS_PUBLIC_STR_LEN];
    keys_public_format(&id.pub, token, sizeof(token));
    keys_wipe(&id);
    if (rc < 0) {
        if (rc == -EEXIST)
            fprintf(stderr, "wardctl: %s already holds an identity; not overwriting it\n", dir);
        else
            fprintf(stderr, "wardctl: cannot write the identity to %s: %s\n", dir,
                    strerror(-rc));
        return 1;
    }
    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "dir", json_string(dir));
        json_object_set_new(j, "pubkey", json_string(token));
        int prc = cli_print_json(j);
        json_decref(j);
        return prc;
    }
    fprintf(stderr,
            "wardctl: identity written to %s/" KEYS_SECRET_FILE " (0600) and %s/" KEYS_PUBLIC_FILE
            "\n"
            "wardctl: public key (enrol on the console with `wardctl sensor add NAME KEY`):\n",
            dir, dir);
    printf("%s\n", token);
    return 0;
}

/* ---------------------------------------------------------------- sensor */

static const struct cli_col sensor_cols[] = {
    {"NAME", "name", CLI_STR, 24},
    {"STATE", "state", CLI_STR, 0},
    {"MODE", "mode", CLI_STR, 0},
    {"LAST HEARTBEAT", "last_heartbeat", CLI_TIME, 0},
    {"AGE", "heartbeat_age_sec", CLI_AGE, 0},
    {"ACKED", "acked_seq", CLI_INT, 0},
    {"LAG", "lag", CLI_INT, 0},
    {"SPOOL DROPS", "spool_dropped", CLI_INT, 0},
    {"PACKETS", "packets", CLI_INT, 0},
    {"KERNEL DROPS", "kernel_drops", CLI_INT, 0},
};

static int sensor_add(const struct cli_opts *o, const struct cli_cmd *cmd, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage(cmd);
    const char *name = argv[0], *key = argv[1];
    struct keys_public pub;
    char token[KEYS_PUBLIC_STR_LEN];
    if (keys_public_parse(key, &pub) < 0) {
        /* Not a token: a path to identity.pub, a file holding a token, or a key dir. */
        if (keys_load_public(key, &pub) < 0) {
            fprintf(stderr, "wardctl: '%s' is neither a public key token (curvehex:signhex)"
                            " nor a readable identity.pub\n",
                    key);
            return 2;
        }
    }
    keys_public_format(&pub, token, sizeof(token));
    json_t *args = json_object();
    json_object_set_new(args, "name", json_string(name));
    json_object_set_new(args, "pubkey", json_string(token));
    json_t *data;
    int rc = cli_call(o, "sensor.add", args, &data);
    if (rc)
        return rc;
    if (o->json)
        rc = cli_print_json(data);
    else
        printf("sensor %s enrolled\n", name);
    json_decref(data);
    return rc;
}

static int sensor_revoke(const struct cli_opts *o, const struct cli_cmd *cmd, int argc,
                         char **argv)
{
    if (argc != 1)
        return cli_usage(cmd);
    json_t *args = json_object();
    json_object_set_new(args, "name", json_string(argv[0]));
    json_t *data;
    int rc = cli_call(o, "sensor.revoke", args, &data);
    if (rc)
        return rc;
    if (o->json)
        rc = cli_print_json(data);
    else
        printf("sensor %s revoked\n", argv[0]);
    json_decref(data);
    return rc;
}

static int sensor_list(const struct cli_opts *o, const struct cli_cmd *cmd, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return cli_usage(cmd);
    json_t *data;
    int rc = cli_call(o, "sensor.list", NULL, &data);
    if (rc)
        return rc;
    if (o->json)
        rc = cli_print_json(data);
    else
        cli_print_table(stdout, sensor_cols, WARD_ARRAY_LEN(sensor_cols), data);
    json_decref(data);
    return rc;
}

static int cmd_sensor(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = &cli_core_cmds[1];
    struct cli_opts o = *go;
    const struct cli_syntax syn = {cmd, NULL, 1, CLI_ARGS_ANY, CLI_OPTIONS_FIRST};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    const char *sub = argv[first];
    /* Options may also follow the subcommand ("sensor list --json"). */
    int rest = argc - first - 1;
    char **rargv = argv + first + 1;
    int n = 0;
    for (int i = 0; i < rest; i++) {
        if (strcmp(rargv[i], "--json") == 0)
            o.json = true;
        else
            rargv[n++] = rargv[i];
    }
    if (strcmp(sub, "add") == 0)
        return sensor_add(&o, cmd, n, rargv);
    if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
        return sensor_list(&o, cmd, n, rargv);
    if (strcmp(sub, "revoke") == 0)
        return sensor_revoke(&o, cmd, n, rargv);
    fprintf(stderr, "wardctl: unknown sensor command '%s'\n", sub);
    return cli_usage(cmd);
}

/* ---------------------------------------------------------------- events */

static const struct cli_col event_cols[] = {
    {"ID", "id", CLI_INT, 0},
    {"LAST SEEN", "last", CLI_TIME, 0},
    {"KIND", "kind", CLI_STR, 0},
    {"SENSOR", "sensor", CLI_STR, 16},
    {"SRC", "src", CLI_STR, 39},
    {"DST", "dst", CLI_STR, 39},
    {"SEV", "severity", CLI_INT, 0},
    {"COUNT", "count", CLI_INT, 0},
    {"SUMMARY", "summary", CLI_STR, 80},
};

static int cmd_events(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = &cli_core_cmds[2];
    struct cli_opts o = *go;
    const char *kind = NULL, *since = NULL, *host = NULL, *sensor = NULL;
    uint64_t limit = 0;
    const struct cli_opt opts[] = {
        CLI_STR("kind", 'k', &kind),
        CLI_STR("since", 't', &since),
        CLI_STR("host", 'H', &host),
        CLI_STR("sensor", 'S', &sensor),
        CLI_UINT("limit", 'n', &limit, 1, UINT64_MAX, "wants a positive number"),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {cmd, opts, 0, 0, CLI_OPTIONS_FIRST};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    json_t *args = json_object();
    if (kind)
        json_object_set_new(args, "kind", json_string(kind));
    if (since)
        json_object_set_new(args, "since", json_string(since));
    if (host)
        json_object_set_new(args, "host", json_string(host));
    if (sensor)
        json_object_set_new(args, "sensor", json_string(sensor));
    if (limit)
        json_object_set_new(args, "limit", json_integer((json_int_t)WARD_MIN(limit, INT64_MAX)));
    json_t *data;
    rc = cli_call(&o, "events", args, &data);
    if (rc)
        return rc;
    if (o.json)
        rc = cli_print_json(data);
    else
        cli_print_table(stdout, event_cols, WARD_ARRAY_LEN(event_cols), data);
    json_decref(data);
    return rc;
}

/* ---------------------------------------------------------------- status */

static int cmd_status(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = &cli_core_cmds[3];
    struct cli_opts o = *go;
    const struct cli_syntax syn = {cmd, NULL, 0, 0, CLI_OPTIONS_FIRST};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    json_t *data;
    rc = cli_call(&o, "status", NULL, &data);
    if (rc)
        return rc;
    if (o.json) {
        rc = cli_print_json(data);
        json_decref(data);
        return rc;
    }
    char up[32];
    printf("ward-console %s, up %s, data in %s\n", json_str(data, "version", "?"),
           cli_fmt_age(json_u64(data, "uptime_sec", 0), up, sizeof(up)),
           json_str(data, "data_dir", "?"));
    printf("events: %" PRIu64, json_u64(data, "events", 0));
    const char *kind;
    json_t *n;
    const char *sep = " (";
    json_object_foreach(json_object_get(data, "events_by_kind"), kind, n) {
        printf("%s%s %" JSON_INTEGER_FORMAT, sep, kind, json_integer_value(n));
        sep = ", ";
    }
    printf("%s\n", sep[0] == ',' ? ")" : "");
    const json_t *ing = json_object_get(data, "ingest");
    if (json_is_object(ing))
        printf("ingest: %" PRIu64 " batches, %" PRIu64 " messages, %" PRIu64
               " duplicates, %" PRIu64 " rejected\n",
               json_u64(ing, "batches", 0), json_u64(ing, "messages", 0),
               json_u64(ing, "duplicates", 0), json_u64(ing, "rejected", 0));
    printf("sensors:\n");
    cli_print_table(stdout, sensor_cols, 7, json_object_get(data, "sensors"));
    json_decref(data);
    return 0;
}

const struct cli_cmd cli_core_cmds[] = {
    {"keygen", "keygen DIR", "make a console or sensor identity in DIR (offline)", cmd_keygen},
    {"sensor", "sensor add NAME PUBKEY|identity.pub | sensor list | sensor revoke NAME",
     "enrol, list and revoke sensors", cmd_sensor},
    {"events",
     "events [--json] [--kind K] [--since T] [--host H] [--sensor S] [--limit N]",
     "stored events, newest first; K: kind[,kind...]; T: 2026-11-21T06:00:00Z, -15m, -2h", cmd_events},
    {"status", "status [--json]", "the console, its sensors and event counts", cmd_status},
    {NULL, NULL, NULL, NULL},
};
