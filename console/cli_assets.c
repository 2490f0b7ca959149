/*
 * cli_assets -- wardctl's asset ledger commands: list (table, JSON lines or CSV
 * for a spreadsheet), import the hospital's register, claim a device, and show
 * one asset with its history.  The register file is read here and its text sent
 * to the console, so the console never needs access to the operator's files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Largest register file sent in one request (the control socket takes 1 MiB lines). */
#define CLI_ASSETS_MAX_FILE (960u << 10)

static const struct cli_cmd *cmd_assets_def(void);
static const struct cli_cmd *cmd_asset_def(void);

static const struct cli_col asset_cols[] = {
    {"ADDRESS", "address", CLI_STR, 40},   {"MAC", "mac", CLI_STR, 0},
    {"HOSTNAME", "hostname", CLI_STR, 24}, {"VENDOR", "vendor", CLI_STR, 20},
    {"OS", "os", CLI_STR, 0},              {"SERVICES", "services_text", CLI_STR, 40},
    {"SYSTEM", "system", CLI_STR, 8},      {"CRIT", "crit_text", CLI_STR, 0},
    {"DEPT", "department", CLI_STR, 16},   {"OWNER", "owner", CLI_STR, 12},
    {"STATE", "state", CLI_STR, 0},        {"LAST SEEN", "last_seen", CLI_TIME, 0},
};

static const struct cli_col history_cols[] = {
    {"TIME", "time", CLI_TIME, 0},   {"CHANGE", "kind", CLI_STR, 0},
    {"FROM", "old", CLI_STR, 40},    {"TO", "new", CLI_STR, 40},
    {"BY", "source", CLI_STR, 20},
};

/* CSV export columns: the import's, so a file exported can be edited and imported. */
static const char *const csv_cols[] = {
    "ip", "mac", "hostname", "department", "owner", "system", "criticality", "location",
    "brand", "model", "purchase_year", "warranty", "ip6", "vendor", "os", "services",
    "state", "state_zh", "first_seen", "last_seen",
};

/* "tcp/22 ssh;udp/53 dns" */
static void services_text(const json_t *list, char *out, size_t cap)
{
    size_t used = 0, i;
    const json_t *s;
    out[0] = '\0';
    json_array_foreach(list, i, s) {
        const char *app = json_str(s, "app", "");
        int n = snprintf(out + used, cap - used, "%s%s/%" PRIu64 "%s%s", i ? ";" : "",
                         json_str(s, "proto", "?"), json_u64(s, "port", 0), app[0] ? " " : "",
                         app);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

static void csv_field(FILE *f, const char *v)
{
    if (strpbrk(v, ",\"\r\n") == NULL) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void print_csv(FILE *f, const json_t *rows, bool bom)
{
    char buf[4096];
    if (bom)
        fputs("\xef\xbb\xbf", f);
    for (size_t c = 0; c < WARD_ARRAY_LEN(csv_cols); c++)
        fprintf(f, "%s%s", c ? "," : "", csv_cols[c]);
    fputs("\r\n", f);
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        for (size_t c = 0; c < WARD_ARRAY_LEN(csv_cols); c++) {
            const json_t *v = json_object_get(r, csv_cols[c]);
            if (c)
                fputc(',', f);
            if (strcmp(csv_cols[c], "services") == 0) {
                services_text(v, buf, sizeof(buf));
            } else if (json_is_integer(v)) {
                json_int_t n = json_integer_value(v);
                if (n == 0 && (strcmp(csv_cols[c], "criticality") == 0 ||
                               strcmp(csv_cols[c], "purchase_year") == 0))
                    buf[0] = '\0';
                else
                    snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, n);
            } else {
                snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : "");
            }
            csv_field(f, buf);
        }
        fputs("\r\n", f);
    }
}

static int assets_list(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    const char *state = NULL, *system = NULL;
    bool csv = false, bom = false;
    const struct cli_opt opts[] = {
        CLI_CHOICE("unclaimed", &state, "unclaimed"),
        CLI_CHOICE("zombie", &state, "zombie"),
        CLI_CHOICE("registered", &state, "registered"),
        CLI_CHOICE("unseen", &state, "unseen"),
        CLI_STR("system", 0, &system),
        CLI_JSON,
        CLI_FLAG("csv", 0, &csv),
        CLI_FLAG("bom", 0, &bom),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {cmd_assets_def(), opts, 0, 0, CLI_OPTIONS_FIRST};
    int rc = cli_parse(&syn, &o, argc, argv, NULL);
    if (rc)
        return rc;
    if (csv && o.json)
        return cli_usage(cmd_assets_def());
    json_t *args = json_object();
    if (state)
        json_object_set_new(args, "state", json_string(state));
    if (system)
        json_object_set_new(args, "system", json_string(system));
    json_t *data;
    rc = cli_call(&o, "assets", args, &data);
    if (rc)
        return rc;
    if (o.json) {
        rc = cli_print_json(data);
    } else if (csv) {
        print_csv(stdout, data, bom);
    } else {
        size_t i;
        json_t *r;
        char buf[1024];
        json_array_foreach(data, i, r) {
            services_text(json_object_get(r, "services"), buf, sizeof(buf));
            json_object_set_new(r, "services_text", json_string(buf));
            uint64_t crit = json_u64(r, "criticality", 0);
            snprintf(buf, sizeof(buf), "%" PRIu64, crit);
            json_object_set_new(r, "crit_text", json_string(crit ? buf : ""));
        }
        cli_print_table(stdout, asset_cols, WARD_ARRAY_LEN(asset_cols), data);
    }
    json_decref(data);
    return rc;
}

static int assets_import(const struct cli_opts *o, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage(cmd_assets_def());
    const char *path = argv[1];
    char *buf, hint[80];
    size_t n;
    snprintf(hint, sizeof(hint), "larger than %u KiB: split it and import the parts",
             CLI_ASSETS_MAX_FILE >> 10);
    if (cli_read_file(path, CLI_ASSETS_MAX_FILE, hint, &buf, &n))
        return 1;
    json_t *text = json_stringn(buf, n);
    free(buf);
    if (!text) {
        fprintf(stderr, "wardctl: %s is not UTF-8 text: save it as \"CSV UTF-8\" and try again\n",
                path);
        return 1;
    }
    const char *base = strrchr(path, '/');
    json_t *args = json_object();
    json_object_set_new(args, "csv", text);
    json_object_set_new(args, "name", json_string(base ? base + 1 : path));
    json_t *data;
    int rc = cli_call(o, "assets.import", args, &data);
    if (rc)
        return rc;
    json_t *errors = json_object_get(data, "errors");
    if (o->json) {
        rc = cli_print_json(data);
    } else {
        printf("%s: %" PRIu64 " imported, %" PRIu64 " updated, %zu refused\n", path,
               json_u64(data, "imported", 0), json_u64(data, "updated", 0),
               json_array_size(errors));
    }
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        fprintf(stderr, "%s:%" PRIu64 ": %s\n", path, json_u64(e, "line", 0),
                json_str(e, "error", ""));
    }
    if (rc == 0 && json_array_size(errors) > 0)
        rc = 1;
    json_decref(data);
    return rc;
}

static int assets_claim(const struct cli_opts *go, int argc, char **argv)
{
    static const char *const keys[] = {"owner", "department", "system",  "hostname",
                                       "location", "brand", "model", "warranty"};
    struct cli_opts o = *go;
    const char *text[WARD_ARRAY_LEN(keys)] = {NULL};
    uint64_t crit = 0, year = UINT64_MAX; /* not given */
    const struct cli_opt opts[] = {
        CLI_STR("owner", 0, &text[0]),
        CLI_STR("dept", 0, &text[1]),
        CLI_STR("department", 0, &text[1]),
        CLI_STR("system", 0, &text[2]),
        CLI_UINT("criticality", 0, &crit, 1, 4, "must be 1 (core) to 4"),
        CLI_STR("hostname", 0, &text[3]),
        CLI_STR("location", 0, &text[4]),
        CLI_STR("brand", 0, &text[5]),
        CLI_STR("model", 0, &text[6]),
        CLI_UINT("purchase-year", 0, &year, 0, INT64_MAX, "must be a year"),
        CLI_STR("warranty", 0, &text[7]),
        CLI_OPTS_END,
    };
    /* argv[0] is "claim"; the address may come before or after the options. */
    const struct cli_syntax syn = {cmd_assets_def(), opts, 0, CLI_ARGS_ANY, CLI_MIXED};
    int first;
    int rc = cli_parse(&syn, &o, argc, argv, &first);
    if (rc)
        return rc;
    json_t *args = json_object();
    for (size_t i = 0; i < WARD_ARRAY_LEN(keys); i++) {
        json_t *v = text[i] ? json_string(text[i]) : NULL;
        if (text[i] && !v) {
            fprintf(stderr, "wardctl: --%s is not UTF-8 text\n", keys[i]);
            json_decref(args);
            return 2;
        }
        if (v)
            json_object_set_new(args, keys[i], v);
    }
    if (crit)
        json_object_set_new(args, "criticality", json_integer((json_int_t)crit));
    if (year != UINT64_MAX)
        json_object_set_new(args, "purchase_year", json_integer((json_int_t)year));
    if (first + 1 != argc || !text[0]) {
        fprintf(stderr, "wardctl: assets claim needs an address and --owner\n");
        json_decref(args);
        return cli_usage(cmd_assets_def());
    }
    json_object_set_new(args, "addr", json_string(argv[first]));
    json_t *data;
    rc = cli_call(&o, "assets.claim", args, &data);
    if (rc)
        return rc;
    if (o.json)
        rc = cli_print_json(data);
    else
        printf("asset %s claimed by %s (%s, %s, criticality %" PRIu64 ")\n",
               json_str(data, "address", ""), json_str(data, "owner", ""),
               json_str(data, "department", ""), json_str(data, "system", ""),
               json_u64(data, "criticality", 0));
    json_decref(data);
    return rc;
}

static int cmd_assets(const struct cli_opts *o, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return assets_import(o, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "claim") == 0)
        return assets_claim(o, argc - 1, argv + 1);
    return assets_list(o, argc, argv);
}

static int cmd_asset(const struct cli_opts *go, int argc, char **argv)
{
    struct cli_opts o = *go;
    int i = 1;
    if (i < argc && strcmp(argv[i], "show") == 0)
        i++;
    const char *addr = NULL;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o.json = true;
        else if (!addr && argv[i][0] != '-')
            addr = argv[i];
        else
            return cli_usage(cmd_asset_def());
    }
    if (!addr)
        return cli_usage(cmd_asset_def());
    json_t *args = json_object();
    json_object_set_new(args, "addr", json_string(addr));
    json_t *data;
    int rc = cli_call(&o, "asset.show", args, &data);
    if (rc)
        return rc;
    if (o.json) {
        rc = cli_print_json(data);
        json_decref(data);
        return rc;
    }
    static const char *const fields[] = {
        "address", "ip", "ip6", "mac", "vendor", "hostname", "hostname_source", "os",
        "state", "state_zh", "system", "criticality", "department", "owner", "location",
        "brand", "model", "purchase_year", "warranty", "first_seen", "last_seen", "reported",
        "sensor",
    };
    char buf[2048];
    for (size_t k = 0; k < WARD_ARRAY_LEN(fields); k++) {
        cli_cell(json_object_get(data, fields[k]), CLI_STR, buf, sizeof(buf));
        printf("%-16s %s\n", fields[k], buf);
    }
    services_text(json_object_get(data, "services"), buf, sizeof(buf));
    printf("%-16s %s\n", "services", buf);
    cli_cell(json_object_get(data, "tls_names"), CLI_LIST, buf, sizeof(buf));
    printf("%-16s %s\n", "tls_names", buf);
    cli_cell(json_object_get(data, "user_agents"), CLI_LIST, buf, sizeof(buf));
    printf("%-16s %s\n", "user_agents", buf);
    printf("\nhistory:\n");
    cli_print_table(stdout, history_cols, WARD_ARRAY_LEN(history_cols),
                    json_object_get(data, "history"));
    json_decref(data);
    return 0;
}

const struct cli_cmd cli_assets_cmds[] = {
    {"assets",
     "assets [--unclaimed|--zombie|--registered|--unseen] [--system S] [--json|--csv [--bom]]"
     " | assets import FILE.csv | assets claim ADDR --owner O [--dept D] [--system S]"
     " [--criticality 1-4] [--hostname H] [--location L] [--brand B] [--model M]"
     " [--purchase-year Y] [--warranty W]",
     "the asset ledger: list, import the register, claim a device", cmd_assets},
    {"asset", "asset show ADDR|MAC [--json]", "one asset with its history of changes",
     cmd_asset},
    {NULL, NULL, NULL, NULL},
};

static const struct cli_cmd *cmd_assets_def(void)
{
    return &cli_assets_cmds[0];
}

static const struct cli_cmd *cmd_asset_def(void)
{
    return &cli_assets_cmds[1];
}
