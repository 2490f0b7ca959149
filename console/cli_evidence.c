/*
 * cli_evidence -- wardctl's containment and evidence commands: isolate, release,
 * isolations, capture, and evidence list|export|verify.  `evidence verify` works
 * offline (no console): it checks an exported bundle with vault_verify_dir().
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "keys.h"
#include "vault.h"

enum { CMD_ISOLATE, CMD_RELEASE, CMD_ISOLATIONS, CMD_CAPTURE, CMD_EVIDENCE };

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return -EINVAL;
    *out = v;
    return 0;
}

/* --json: prints data as JSON lines and frees it. */
static int print_json(json_t *data)
{
    int rc = cli_print_json(data);
    json_decref(data);
    return rc;
}

/* ---------------------------------------------------------------- isolate / release */

/* --ttl: a duration of a second or more. */
static int parse_ttl(const char *arg, void *out)
{
    uint64_t *usec = out;
    if (clock_parse_duration(arg, usec) || *usec < USEC_PER_SEC)
        return -EINVAL;
    return 0;
}

static int cmd_isolate(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    uint64_t incident = 0, ttl_usec = 0;
    bool dry = false, drill = false, real = false;
    const struct cli_opt opts[] = {
        CLI_UINT("incident", 'i', &incident, 1, INT64_MAX, NULL),
        CLI_FN("ttl", 't', &ttl_usec, parse_ttl, "give a duration such as 30s, 15m, 2h"),
        CLI_FLAG("dry-run", 'n', &dry),
        CLI_FLAG("drill", 0, &drill),
        CLI_FLAG("allow-real", 0, &real),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&cli_evidence_cmds[CMD_ISOLATE], opts, 1, 1, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    json_t *args = json_pack("{s:s, s:I, s:I, s:b, s:b, s:b}", "host", argv[first], "incident",
                             (json_int_t)incident, "ttl", (json_int_t)(ttl_usec / USEC_PER_SEC),
                             "dry_run", dry, "drill", drill, "allow_real", real);
    json_t *data = NULL;
    rc = cli_call(&o, "isolate", args, &data);
    if (rc)
        return rc;
    if (o.json)
        return print_json(data);
    printf("%s %s for incident %" PRIu64 " (command %" PRIu64 ", time limit %" PRIu64 " s)\n",
           dry ? "dry run: isolate" : "isolating", json_str(data, "host", ""),
           json_u64(data, "incident", 0), json_u64(data, "command_id", 0),
           json_u64(data, "ttl", 0));
    cli_print_sensors(json_object_get(data, "sensors"));
    printf("results: wardctl isolations\n");
    json_decref(data);
    return 0;
}

static int cmd_release(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    uint64_t incident = 0;
    const struct cli_opt opts[] = {
        CLI_UINT("incident", 'i', &incident, 1, INT64_MAX, NULL),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&cli_evidence_cmds[CMD_RELEASE], opts, 1, 1, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    json_t *args = json_pack("{s:s, s:I}", "host", argv[first], "incident", (json_int_t)incident);
    json_t *data = NULL;
    rc = cli_call(&o, "release", args, &data);
    if (rc)
        return rc;
    if (o.json)
        return print_json(data);
    printf("releasing %s (command %" PRIu64 ")\n", json_str(data, "host", ""),
           json_u64(data, "command_id", 0));
    cli_print_sensors(json_object_get(data, "sensors"));
    json_decref(data);
    return 0;
}

static const struct cli_col isolation_cols[] = {
    {"HOST", "host", CLI_STR, 0},
    {"STATE", "state", CLI_STR, 0},
    {"INCIDENT", "incident", CLI_INT, 0},
    {"BACKEND", "backend", CLI_STR, 0},
    {"SINCE", "since", CLI_TIME, 0},
    {"LEFT", "left_sec", CLI_AGE, 0},
    {"LEAK PKTS", "leak_packets", CLI_INT, 0},
    {"BY", "actor", CLI_STR, 16},
};

static int cmd_isolations(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    bool all = false;
    const struct cli_opt opts[] = {
        CLI_FLAG("all", 'a', &all),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&cli_evidence_cmds[CMD_ISOLATIONS], opts, 0, 0, CLI_MIXED};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    json_t *data = NULL;
    rc = cli_call(&o, "isolations", json_pack("{s:b}", "all", all), &data);
    if (rc)
        return rc;
    if (o.json)
        return print_json(data);
    cli_print_table(stdout, isolation_cols, WARD_ARRAY_LEN(isolation_cols), data);
    size_t i;
    json_t *h;
    json_array_foreach(data, i, h) {
        if (json_u64(h, "leak_packets", 0))
            printf("LEAK: %s is isolated but sensors still saw %" PRIu64
                   " packets (latest %s): check the enforcement point\n",
                   json_str(h, "host", ""), json_u64(h, "leak_packets", 0),
                   json_str(h, "leak_last", ""));
    }
    json_decref(data);
    return 0;
}

/* ---------------------------------------------------------------- capture */

static int cmd_capture(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *self = &cli_evidence_cmds[CMD_CAPTURE];
    struct cli_opts o = *go;
    uint64_t incident = 0, seconds = 0;
    const struct cli_opt opts[] = {
        CLI_UINT("seconds", 's', &seconds, 1, INT64_MAX, NULL),
        CLI_UINT("incident", 'i', &incident, 1, INT64_MAX, NULL),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {self, opts, 1, 1, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    if (seconds == 0)
        return cli_usage(self);
    json_t *args = json_pack("{s:s, s:I, s:I}", "host", argv[first], "seconds",
                             (json_int_t)seconds, "incident", (json_int_t)incident);
    json_t *data = NULL;
    rc = cli_call(&o, "capture", args, &data);
    if (rc)
        return rc;
    if (o.json)
        return print_json(data);
    printf("capturing %s for %" PRIu64 " s (command %" PRIu64 ")\n", json_str(data, "host", ""),
           seconds, json_u64(data, "command_id", 0));
    cli_print_sensors(json_object_get(data, "sensors"));
    json_decref(data);
    return 0;
}

/* ---------------------------------------------------------------- evidence */

static const struct cli_col evidence_cols[] = {
    {"SHA256", "sha256", CLI_STR, 16},
    {"SIZE", "size", CLI_INT, 0},
    {"SENSOR", "sensor", CLI_STR, 16},
    {"HOSTS", "hosts", CLI_LIST, 32},
    {"FIRST", "first", CLI_TIME, 0},
    {"LAST", "last", CLI_TIME, 0},
    {"EVENT", "event_uid", CLI_STR, 20},
};

static int evidence_list(const struct cli_opts *o, int64_t id)
{
    json_t *data = NULL;
    int rc = cli_call(o, "evidence.list", json_pack("{s:I}", "incident", (json_int_t)id), &data);
    if (rc)
        return rc;
    if (o->json)
        return print_json(data);
    cli_print_table(stdout, evidence_cols, WARD_ARRAY_LEN(evidence_cols), data);
    size_t i;
    json_t *it;
    json_array_foreach(data, i, it) {
        printf("\n%s  custody:\n", json_str(it, "sha256", ""));
        size_t j;
        json_t *e;
        json_array_foreach(json_object_get(it, "custody"), j, e)
            printf("  %2" PRIu64 " %-9s %-20s by %-12s %s\n", json_u64(e, "seq", 0),
                   json_str(e, "action", ""), json_str(e, "at", ""), json_str(e, "who", ""),
                   json_str(e, "detail", ""));
    }
    json_decref(data);
    return 0;
}

static int evidence_export(const struct cli_opts *o, int64_t id, const char *dir)
{
    char abs[PATH_MAX];
    if (dir[0] == '/') {
        snprintf(abs, sizeof(abs), "%s", dir);
    } else {
        if (!getcwd(abs, sizeof(abs)) || strlen(abs) + strlen(dir) + 2 > sizeof(abs)) {
            fprintf(stderr, "wardctl: cannot resolve %s\n", dir);
            return 1;
        }
        strcat(abs, "/");
        strcat(abs, dir);
    }
    json_t *data = NULL;
    int rc = cli_call(o, "evidence.export",
                      json_pack("{s:I, s:s}", "incident", (json_int_t)id, "dir", abs), &data);
    if (rc)
        return rc;
    if (o->json)
        return print_json(data);
    printf("exported %" PRIu64 " evidence file(s) of incident %" PRId64 " to %s\n"
           "manifest: %s/%s, signature: %s/%s\n"
           "console signing key: %s\n"
           "check with: wardctl evidence verify %s\n",
           json_u64(data, "items", 0), id, abs, abs, VAULT_MANIFEST, abs, VAULT_SIGNATURE,
           json_str(data, "console_key", ""), abs);
    json_decref(data);
    return 0;
}

static int evidence_verify(const struct cli_opts *o, const char *dir, const char *keyfile)
{
    struct keys_public pub;
    json_t *report = NULL;
    if (keys_init() != 0) {
        fprintf(stderr, "wardctl: cannot initialise libsodium\n");
        return 1;
    }
    if (keyfile && keys_load_public(keyfile, &pub) != 0) {
        fprintf(stderr, "wardctl: cannot read the console's public key from %s\n", keyfile);
        return 1;
    }
    if (vault_verify_dir(dir, keyfile ? pub.sign_pk : NULL, &report) != 0) {
        fprintf(stderr, "wardctl: out of memory\n");
        return 1;
    }
    bool ok = json_is_true(json_object_get(report, "ok"));
    if (o->json) {
        cli_print_json(report);
        json_decref(report);
        return ok ? 0 : 1;
    }
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(report, "items"), i, it)
        printf("%-8s %s  (sha256 %.16s..., %" PRIu64 " custody entries)\n",
               json_is_true(json_object_get(it, "ok")) ? "ok" : "BAD", json_str(it, "file", ""),
               json_str(it, "sha256", ""), json_u64(it, "custody", 0));
    json_array_foreach(json_object_get(report, "problems"), i, it)
        printf("MISMATCH: %s\n", json_string_value(it));
    size_t nitems = json_array_size(json_object_get(report, "items"));
    if (ok)
        printf("evidence verify: OK: %zu file(s), hashes, custody chains and the signature by "
               "console key %s%s match\n",
               nitems, json_str(report, "console_key", ""),
               keyfile ? " (the key given)" : " (compare it with the console's identity.pub)");
    else
        printf("evidence verify: FAILED: %zu problem(s) in %s\n",
               json_array_size(json_object_get(report, "problems")), dir);
    json_decref(report);
    return ok ? 0 : 1;
}

static int cmd_evidence(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *self = &cli_evidence_cmds[CMD_EVIDENCE];
    struct cli_opts o = *go;
    const char *key = NULL;
    const struct cli_opt opts[] = {
        CLI_STR("key", 'k', &key),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {self, opts, 0, CLI_ARGS_ANY, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    int64_t id;
    int n = argc - first;
    char **a = argv + first;
    if (n == 2 && !strcmp(a[0], "list") && parse_id(a[1], &id) == 0)
        return evidence_list(&o, id);
    if (n == 3 && !strcmp(a[0], "export") && parse_id(a[1], &id) == 0)
        return evidence_export(&o, id, a[2]);
    if (n == 2 && !strcmp(a[0], "verify"))
        return evidence_verify(&o, a[1], key);
    return cli_usage(self);
}

const struct cli_cmd cli_evidence_cmds[] = {
    [CMD_ISOLATE] = {"isolate",
                     "isolate HOST --incident ID [--ttl DURATION] [--dry-run] [--drill "
                     "[--allow-real]]",
                     "cut a host off the network through the sensors that see it", cmd_isolate},
    [CMD_RELEASE] = {"release", "release HOST [--incident ID]",
                     "give an isolated host its network back", cmd_release},
    [CMD_ISOLATIONS] = {"isolations", "isolations [--all]",
                        "hosts isolated now, their time left and any leaks", cmd_isolations},
    [CMD_CAPTURE] = {"capture", "capture HOST --seconds N [--incident ID]",
                     "record a host's packets for N seconds into the evidence vault",
                     cmd_capture},
    [CMD_EVIDENCE] = {"evidence",
                      "evidence list ID | evidence export ID DIR | evidence verify DIR "
                      "[--key PUBFILE]",
                      "an incident's evidence: list it, export a signed bundle, check one",
                      cmd_evidence},
    {NULL, NULL, NULL, NULL},
};
