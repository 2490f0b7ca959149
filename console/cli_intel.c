/*
 * cli_intel -- wardctl's outbreak commands: intel push|list (indicators for the
 * sensors' ioc detector) and mode heightened|normal (every threshold scaled by
 * one factor).  Indicator files are read here and sent as text; the console
 * checks every line and names file:line when one is wrong.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { CMD_INTEL, CMD_MODE };

#define CLI_INTEL_FILE_MAX (960u << 10) /* both files together fit one request line (1 MiB) */

/* Reads path whole into a new string (*out), at most *budget bytes; lowers *budget. */
static int read_list(const char *path, char **out, size_t *budget)
{
    size_t n;
    if (cli_read_file(path, *budget,
                      "too large for one push (both files together at most 960 KiB); push it "
                      "in parts",
                      out, &n))
        return 1;
    *budget -= n;
    return 0;
}

static int intel_push(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *self = &cli_intel_cmds[CMD_INTEL];
    struct cli_opts o = *go;
    const char *afile = NULL, *dfile = NULL, *sensor = NULL;
    bool replace = false;
    const struct cli_opt opts[] = {
        CLI_FLAG("replace", 0, &replace),
        CLI_STR("addresses", 0, &afile),
        CLI_STR("domains", 0, &dfile),
        CLI_STR("sensor", 0, &sensor),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {self, opts, 1, 1, CLI_MIXED};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    if (!afile && !dfile && !replace)
        return cli_usage(self);
    size_t budget = CLI_INTEL_FILE_MAX;
    char *atext = NULL, *dtext = NULL;
    if ((afile && read_list(afile, &atext, &budget)) ||
        (dfile && read_list(dfile, &dtext, &budget))) {
        free(atext);
        free(dtext);
        return 1;
    }
    json_t *args = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "replace", replace, "addresses",
                             atext ? atext : "", "addresses_file", afile ? afile : "addresses",
                             "domains", dtext ? dtext : "", "domains_file",
                             dfile ? dfile : "domains", "sensor", sensor ? sensor : "");
    free(atext);
    free(dtext);
    json_t *data = NULL;
    rc = cli_call(&o, "intel.push", args, &data);
    if (rc)
        return rc;
    if (o.json) {
        rc = cli_print_json(data);
        json_decref(data);
        return rc;
    }
    printf(
        "%s version %" PRIu64 ": %" PRIu64 " addresses, %" PRIu64 " domains for %s\n",
        json_is_true(json_object_get(data, "replace")) ? "replaced the pushed set with" : "pushed",
        json_u64(data, "version", 0), json_u64(data, "addresses", 0), json_u64(data, "domains", 0),
        strcmp(json_str(data, "sensor", "*"), "*") ? json_str(data, "sensor", "") : "every sensor");
    cli_print_sensors(json_object_get(data, "sensors"));
    printf("sensors offline now get it when they next send a heartbeat; results: wardctl intel "
           "list\n");
    json_decref(data);
    return 0;
}

static const struct cli_col push_cols[] = {
    {"VERSION", "id", CLI_INT, 0},        {"ISSUED", "issued", CLI_TIME, 0},
    {"BY", "actor", CLI_STR, 16},         {"FOR", "sensor", CLI_STR, 20},
    {"REPLACE", "replace", CLI_BOOL, 0},  {"ADDRESSES", "addresses", CLI_INT, 0},
    {"DOMAINS", "domains", CLI_INT, 0},   {"ACKNOWLEDGED", "acked", CLI_LIST, 40},
    {"REFUSED", "refused", CLI_LIST, 30}, {"NOT YET", "waiting", CLI_LIST, 30},
};

static const struct cli_col state_cols[] = {
    {"SENSOR", "sensor", CLI_STR, 24},    {"VERSION", "version", CLI_INT, 0},
    {"REPORTED", "reported", CLI_INT, 0}, {"STATE", "state", CLI_STR, 0},
    {"MODE", "mode", CLI_STR, 0},         {"MODE ASKED", "mode_asked", CLI_STR, 0},
};

/* Each push's per-sensor results as acked/refused/waiting lists (the table's columns). */
static void split_results(json_t *pushes)
{
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(pushes, i, p)
    {
        json_t *acked = json_array(), *refused = json_array(), *waiting = json_array();
        json_array_foreach(json_object_get(p, "sensors"), k, r)
        {
            const char *st = json_str(r, "status", "");
            json_t *to = !strncmp(st, "ok", 2) ? acked : !strcmp(st, "failed") ? refused : waiting;
            json_array_append_new(to, json_string(json_str(r, "sensor", "")));
        }
        json_object_set_new(p, "acked", acked);
        json_object_set_new(p, "refused", refused);
        json_object_set_new(p, "waiting", waiting);
    }
}

static int intel_list(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    bool full = false;
    const struct cli_opt opts[] = {
        CLI_FLAG("full", 0, &full),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&cli_intel_cmds[CMD_INTEL], opts, 1, 1, CLI_MIXED};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    json_t *data = NULL;
    rc = cli_call(&o, "intel.list", json_pack("{s:b}", "full", full), &data);
    if (rc)
        return rc;
    split_results(json_object_get(data, "pushes"));
    if (o.json) {
        rc = cli_print_json(data);
        json_decref(data);
        return rc;
    }
    printf("pushes (newest first):\n");
    cli_print_table(stdout, push_cols, WARD_ARRAY_LEN(push_cols), json_object_get(data, "pushes"));
    if (full) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(data, "pushes"), i, p)
        {
            char a[4096], d[4096];
            cli_cell(json_object_get(p, "address_list"), CLI_LIST, a, sizeof(a));
            cli_cell(json_object_get(p, "domain_list"), CLI_LIST, d, sizeof(d));
            printf("version %" PRIu64 ": addresses %s; domains %s\n", json_u64(p, "id", 0), a, d);
        }
    }
    printf("\nsensors:\n");
    cli_print_table(stdout, state_cols, WARD_ARRAY_LEN(state_cols),
                    json_object_get(data, "sensors"));
    json_decref(data);
    return 0;
}

static int cmd_intel(const struct cli_opts *go, int argc, char **argv)
{
    const char *sub = NULL;
    for (int i = 1; i < argc && !sub; i++)
        if (argv[i][0] != '-')
            sub = argv[i];
    if (sub && !strcmp(sub, "push"))
        return intel_push(go, argc, argv);
    if (sub && !strcmp(sub, "list"))
        return intel_list(go, argc, argv);
    return cli_usage(&cli_intel_cmds[CMD_INTEL]);
}

/* --factor: more than 0, at most 1. */
static int parse_factor(const char *arg, void *out)
{
    double *factor = out;
    char *end;
    *factor = strtod(arg, &end);
    if (*end || end == arg || !(*factor > 0 && *factor <= 1))
        return -EINVAL;
    return 0;
}

static int cmd_mode(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *self = &cli_intel_cmds[CMD_MODE];
    struct cli_opts o = *go;
    const char *sensor = NULL;
    double factor = 0; /* not given */
    const struct cli_opt opts[] = {
        CLI_FN("factor", 0, &factor, parse_factor,
               "give a number more than 0 and at most 1 (0.5 halves every threshold)"),
        CLI_STR("sensor", 0, &sensor),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {self, opts, 1, 1, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    bool have_factor = factor > 0;
    if (!have_factor)
        factor = 0.5;
    bool heightened;
    if (!strcmp(argv[first], "heightened"))
        heightened = true;
    else if (!strcmp(argv[first], "normal") && !have_factor)
        heightened = false;
    else
        return cli_usage(self);
    json_t *args = json_pack("{s:b, s:f, s:s}", "heightened", heightened, "factor", factor,
                             "sensor", sensor ? sensor : "");
    json_t *data = NULL;
    rc = cli_call(&o, "mode", args, &data);
    if (rc)
        return rc;
    if (o.json) {
        rc = cli_print_json(data);
        json_decref(data);
        return rc;
    }
    if (heightened)
        printf("heightened mode (thresholds x%.2f) for %s (command %" PRIu64 ")\n",
               json_number_value(json_object_get(data, "factor")), sensor ? sensor : "every sensor",
               json_u64(data, "command_id", 0));
    else
        printf("normal mode for %s (command %" PRIu64 ")\n", sensor ? sensor : "every sensor",
               json_u64(data, "command_id", 0));
    cli_print_sensors(json_object_get(data, "sensors"));
    printf("sensors offline now switch when they next send a heartbeat; see wardctl status\n");
    json_decref(data);
    return 0;
}

const struct cli_cmd cli_intel_cmds[] = {
    [CMD_INTEL] = {"intel",
                   "intel push [--replace] [--addresses FILE] [--domains FILE] [--sensor NAME] | "
                   "intel list [--full]",
                   "push indicators (one address, CIDR or domain a line) to the sensors; what "
                   "was pushed, by whom, who acknowledged",
                   cmd_intel},
    [CMD_MODE] = {"mode",
                  "mode heightened [--factor F] [--sensor NAME] | mode normal [--sensor NAME]",
                  "raise (or restore) detection sensitivity: every threshold times F (0.5)",
                  cmd_mode},
    {NULL, NULL, NULL, NULL},
};
