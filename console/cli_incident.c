/*
 * cli_incident -- wardctl's incident commands: incidents, incident
 * show|ack|notify|assign|grade|advance|note|reopen, report and audit
 * verify|list.  Each calls one control verb of the incident or audit module
 * (incident.h, audit.h) and prints tables, or JSON lines with --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

#define CLI_INCIDENT_TEXT_MAX 4096 /* longest note or reason assembled from words */

static const struct cli_cmd *cmd_of(const char *name);

/* Options shared by the commands here: --json, -h, and what each adds. */
struct opts {
    bool open_only;        /* --open */
    const char *level;     /* --level L */
    const char *to;        /* --to director|leadership */
    const char *note;      /* --note TEXT */
    const char *reason;    /* --reason TEXT */
    const char *state;     /* --state S (reopen) */
    const char *format;    /* --format md|html */
    const char *output;    /* -o FILE */
    const char *incident;  /* --incident ID (audit list) */
    const char *host;      /* --host ADDR (endpoint report) */
};

/* Parses the options of the commands here, with min..max operands (cli_parse()). */
static int parse(const struct cli_cmd *cmd, int min, int max, struct cli_opts *o, struct opts *p,
                 int argc, char **argv, int *first)
{
    /* --json and --help first: getopt names "--help" before "--host" for "--h". */
    const struct cli_opt opts[] = {
        CLI_JSON,
        CLI_HELP,
        CLI_FLAG("open", 0, &p->open_only),
        CLI_STR("level", 0, &p->level),
        CLI_STR("to", 0, &p->to),
        CLI_STR("note", 0, &p->note),
        CLI_STR("reason", 0, &p->reason),
        CLI_STR("state", 0, &p->state),
        CLI_STR("format", 0, &p->format),
        CLI_STR("output", 'o', &p->output),
        CLI_STR("incident", 0, &p->incident),
        CLI_STR("host", 0, &p->host),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {cmd, opts, min, max, CLI_MIXED};
    return cli_parse(&syn, o, argc, argv, first);
}

static bool parse_id(const char *s, json_int_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return false;
    *id = (json_int_t)v;
    return true;
}

/* Joins argv[from..argc) with spaces into out; false if too long or empty. */
static bool join_words(int argc, char **argv, int from, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = from; i < argc; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", n ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= cap - n)
            return false;
        n += (size_t)w;
    }
    return n > 0;
}

/* ---------------------------------------------------------------- printing */

/* A copy of each incident with its clocks as three flat columns. */
static json_t *flatten(const json_t *list)
{
    json_t *rows = json_array();
    size_t i;
    const json_t *inc;
    json_array_foreach(list, i, inc) {
        json_t *r = json_copy((json_t *)(uintptr_t)inc);
        size_t j;
        const json_t *k;
        json_array_foreach(json_object_get(inc, "clocks"), j, k) {
            json_object_set_new(r, json_str(k, "clock", "?"),
                                json_string(json_str(k, "text", "")));
        }
        json_array_append_new(rows, r);
    }
    return rows;
}

static void print_list(const json_t *list)
{
    static const struct cli_col cols[] = {
        {"ID", "id", CLI_INT, 0},
        {"LEVEL", "level", CLI_STR, 0},
        {"STATE", "state", CLI_STR, 0},
        {"HOSTS", "hosts_count", CLI_INT, 0},
        {"DIRECTOR", "director", CLI_STR, 0},
        {"LEADERSHIP", "leadership", CLI_STR, 0},
        {"HANDLING", "handling", CLI_STR, 0},
        {"ASSIGNEE", "assignee", CLI_STR, 12},
        {"TITLE", "title", CLI_STR, 60},
    };
    json_t *rows = flatten(list);
    cli_print_table(stdout, cols, WARD_ARRAY_LEN(cols), rows);
    json_decref(rows);
}

static void print_field(const char *label, const char *value)
{
    printf("%-14s %s\n", label, value && *value ? value : "-");
}

static void print_show(const json_t *inc)
{
    char buf[512];
    const json_t *fields = json_object_get(inc, "fields");
    printf("incident %" JSON_INTEGER_FORMAT ": %s\n", json_integer_value(json_object_get(inc, "id")),
           json_str(inc, "title", ""));
    snprintf(buf, sizeof(buf), "%s %s (by %s: %s)", json_str(inc, "level", "?"),
             json_str(inc, "level_zh", ""), json_str(inc, "level_by", ""),
             json_str(inc, "level_reason", ""));
    print_field("level", buf);
    print_field("state", json_str(inc, "state", ""));
    if (json_integer_value(json_object_get(inc, "merged_into")) > 0) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(inc, "merged_into")));
        print_field("merged into", buf);
    }
    print_field("assignee", json_str(inc, "assignee", ""));
    print_field("detected", json_str(inc, "detected", ""));
    snprintf(buf, sizeof(buf), "%s .. %s", json_str(inc, "first", ""), json_str(inc, "last", ""));
    print_field("seen", buf);
    snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT " internal in %" JSON_INTEGER_FORMAT
             " segments%s", json_integer_value(json_object_get(inc, "hosts_count")),
             json_integer_value(json_object_get(inc, "segments_count")),
             json_is_true(json_object_get(inc, "campaign")) ? " (campaign)" : "");
    print_field("hosts", buf);
    static const char *const names[] = {"systems", "told", "cause", "scope", "risk",
                                        "decision", "restored", "how", "lessons",
                                        "followups", "signoff"};
    for (size_t i = 0; i < WARD_ARRAY_LEN(names); i++) {
        if (json_object_get(fields, names[i]))
            print_field(names[i], json_str(fields, names[i], ""));
    }

    static const struct cli_col clock_cols[] = {
        {"CLOCK", "clock", CLI_STR, 0},     {"ALLOWED", "allowed", CLI_STR, 0},
        {"DEADLINE", "deadline", CLI_TIME, 0}, {"STATUS", "text", CLI_STR, 0},
        {"MET BY", "met_by", CLI_STR, 0},
    };
    printf("\nclocks:\n");
    cli_print_table(stdout, clock_cols, WARD_ARRAY_LEN(clock_cols),
                    json_object_get(inc, "clocks"));

    static const struct cli_col host_cols[] = {
        {"HOST", "addr", CLI_STR, 0},      {"SEGMENT", "segment", CLI_STR, 0},
        {"SOURCE", "acting", CLI_BOOL, 0}, {"TARGET", "targeted", CLI_BOOL, 0},
        {"CRIT", "criticality", CLI_INT, 0}, {"SENSOR", "sensor", CLI_STR, 0},
    };
    printf("\nhosts:\n");
    cli_print_table(stdout, host_cols, WARD_ARRAY_LEN(host_cols), json_object_get(inc, "hosts"));

    static const struct cli_col event_cols[] = {
        {"FIRST", "first", CLI_TIME, 0}, {"KIND", "kind", CLI_STR, 0},
        {"SRC", "src", CLI_STR, 0},      {"DST", "dst", CLI_STR, 0},
        {"SENSOR", "sensor", CLI_STR, 0}, {"SUMMARY", "summary", CLI_STR, 60},
    };
    printf("\nevents (%" JSON_INTEGER_FORMAT "):\n",
           json_integer_value(json_object_get(inc, "events_total")));
    cli_print_table(stdout, event_cols, WARD_ARRAY_LEN(event_cols),
                    json_object_get(inc, "events"));

    /* The timeline, each audit row described in one line. */
    json_t *rows = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(inc, "timeline"), i, row) {
        char what[1024];
        if (report_describe(row, what, sizeof(what)) < 0)
            continue;
        json_array_append_new(rows, json_pack("{s:O, s:O, s:s}", "time",
                                              json_object_get(row, "time"), "actor",
                                              json_object_get(row, "actor"), "what", what));
    }
    static const struct cli_col tl_cols[] = {
        {"TIME", "time", CLI_TIME, 0},
        {"WHO", "actor", CLI_STR, 0},
        {"WHAT", "what", CLI_STR, 100},
    };
    printf("\ntimeline:\n");
    cli_print_table(stdout, tl_cols, WARD_ARRAY_LEN(tl_cols), rows);
    json_decref(rows);
}

/* After an action: the incident's level, state and clocks on two lines. */
static void print_brief(const char *what, const json_t *inc)
{
    printf("incident %" JSON_INTEGER_FORMAT ": %s; level %s %s, %s\n",
           json_integer_value(json_object_get(inc, "id")), what, json_str(inc, "level", "?"),
           json_str(inc, "level_zh", ""), json_str(inc, "state", "?"));
    size_t i;
    const json_t *k;
    printf("  clocks:");
    json_array_foreach(json_object_get(inc, "clocks"), i, k)
        printf("%s %s %s", i ? "," : "", json_str(k, "clock", ""), json_str(k, "text", ""));
    printf("\n");
}

static int finish(const struct cli_opts *o, json_t *data, const char *what)
{
    if (o->json)
        cli_print_json(data);
    else
        print_brief(what, data);
    json_decref(data);
    return 0;
}

/* ---------------------------------------------------------------- commands */

static int cmd_incidents(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = cmd_of("incidents");
    struct cli_opts o = *go;
    struct opts p = {0};
    int rc = parse(cmd, 0, 0, &o, &p, argc, argv, NULL);
    if (rc)
        return rc;
    json_t *args = json_pack("{s:b}", "open", p.open_only);
    if (p.level)
        json_object_set_new(args, "level", json_string(p.level));
    json_t *data = NULL;
    rc = cli_call(&o, "incidents", args, &data);
    if (rc)
        return rc;
    if (o.json)
        cli_print_json(data);
    else
        print_list(data);
    json_decref(data);
    return 0;
}

static int cmd_incident(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = cmd_of("incident");
    struct cli_opts o = *go;
    struct opts p = {0};
    if (argc < 3)
        return cli_usage(cmd);
    const char *sub = argv[1];
    json_int_t id;
    if (!parse_id(argv[2], &id)) {
        fprintf(stderr, "wardctl: '%s' is not an incident id\n", argv[2]);
        return 2;
    }
    json_t *args = json_pack("{s:I}", "id", id);
    const char *verb = NULL;
    char what[256] = "";
    char text[CLI_INCIDENT_TEXT_MAX];

    if (strcmp(sub, "advance") == 0) {
        /* incident advance ID STATE [--field value | --field=value]... [--json] */
        if (argc < 4) {
            json_decref(args);
            return cli_usage(cmd);
        }
        json_t *fields = json_object();
        for (int i = 4; i < argc; i++) {
            const char *a = argv[i];
            if (strcmp(a, "--json") == 0) {
                o.json = true;
                continue;
            }
            if (strncmp(a, "--", 2) != 0 || !a[2]) {
                fprintf(stderr, "wardctl: expected --field value, got '%s'\n", a);
                json_decref(fields);
                json_decref(args);
                return 2;
            }
            const char *eq = strchr(a, '=');
            char name[64];
            const char *value;
            if (eq) {
                snprintf(name, sizeof(name), "%.*s", (int)(eq - a - 2), a + 2);
                value = eq + 1;
            } else if (i + 1 < argc) {
                snprintf(name, sizeof(name), "%s", a + 2);
                value = argv[++i];
            } else {
                fprintf(stderr, "wardctl: --%s needs a value\n", a + 2);
                json_decref(fields);
                json_decref(args);
                return 2;
            }
            json_object_set_new(fields, name, json_string(value));
        }
        json_object_set_new(args, "state", json_string(argv[3]));
        json_object_set_new(args, "fields", fields);
        snprintf(what, sizeof(what), "moved to %s", argv[3]);
        verb = "incident.advance";
        json_t *data = NULL;
        int rc = cli_call(&o, verb, args, &data);
        return rc ? rc : finish(&o, data, what);
    }

    int first;
    int rc = parse(cmd, 0, CLI_ARGS_ANY, &o, &p, argc - 2, argv + 2, &first);
    if (rc) {
        json_decref(args);
        return rc;
    }
    int nops = argc - 2 - first; /* operands after ID */
    char **ops = argv + 2 + first;

    if (strcmp(sub, "show") == 0 && nops == 0) {
        verb = "incident.show";
    } else if (strcmp(sub, "ack") == 0 && nops == 0) {
        verb = "incident.ack";
        snprintf(what, sizeof(what), "acknowledged; director report recorded");
    } else if (strcmp(sub, "notify") == 0 && nops == 0 && p.to) {
        verb = "incident.notify";
        json_object_set_new(args, "to", json_string(p.to));
        if (p.note)
            json_object_set_new(args, "note", json_string(p.note));
        snprintf(what, sizeof(what), "report to %s recorded", p.to);
    } else if (strcmp(sub, "assign") == 0 && nops == 1) {
        verb = "incident.assign";
        json_object_set_new(args, "user", json_string(ops[0]));
        snprintf(what, sizeof(what), "assigned to %s", ops[0]);
    } else if (strcmp(sub, "grade") == 0 && nops == 1 && p.reason) {
        verb = "incident.grade";
        json_object_set_new(args, "level", json_string(ops[0]));
        json_object_set_new(args, "reason", json_string(p.reason));
        snprintf(what, sizeof(what), "level set to %s", ops[0]);
    } else if (strcmp(sub, "note") == 0 && nops >= 1 &&
               join_words(nops, ops, 0, text, sizeof(text))) {
        verb = "incident.note";
        json_object_set_new(args, "text", json_string(text));
        snprintf(what, sizeof(what), "note recorded");
    } else if (strcmp(sub, "reopen") == 0 && nops == 0 && p.reason) {
        verb = "incident.reopen";
        json_object_set_new(args, "reason", json_string(p.reason));
        if (p.state)
            json_object_set_new(args, "state", json_string(p.state));
        snprintf(what, sizeof(what), "reopened");
    }
    if (!verb) {
        json_decref(args);
        return cli_usage(cmd);
    }
    json_t *data = NULL;
    rc = cli_call(&o, verb, args, &data);
    if (rc)
        return rc;
    if (strcmp(verb, "incident.show") == 0) {
        if (o.json)
            cli_print_json(data);
        else
            print_show(data);
        json_decref(data);
        return 0;
    }
    return finish(&o, data, what);
}

static int cmd_report(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = cmd_of("report");
    struct cli_opts o = *go;
    struct opts p = {0};
    int first;
    int rc = parse(cmd, 1, 1, &o, &p, argc, argv, &first);
    if (rc)
        return rc;
    json_int_t id;
    if (!parse_id(argv[first], &id))
        return cli_usage(cmd);
    enum report_format fmt;
    if (p.format && report_format_parse(p.format, &fmt) < 0) {
        fprintf(stderr, "wardctl: --format must be md or html\n");
        return 2;
    }
    json_t *data = NULL;
    json_t *args = json_pack("{s:I, s:s}", "id", id, "format", p.format ? p.format : "md");
    if (p.host)
        json_object_set_new(args, "host", json_string(p.host));
    rc = cli_call(&o, "report", args, &data);
    if (rc)
        return rc;
    const char *text = json_str(data, "text", "");
    FILE *f = stdout;
    if (p.output && !(f = fopen(p.output, "w"))) {
        fprintf(stderr, "wardctl: cannot write %s: %s\n", p.output, strerror(errno));
        json_decref(data);
        return 1;
    }
    bool ok = fputs(text, f) >= 0;
    if (f != stdout)
        ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "wardctl: writing the report failed: %s\n", strerror(errno));
    else if (p.output)
        fprintf(stderr, "wardctl: report of incident %" JSON_INTEGER_FORMAT " written to %s\n",
                id, p.output);
    json_decref(data);
    return ok ? 0 : 1;
}

static int cmd_audit(const struct cli_opts *go, int argc, char **argv)
{
    const struct cli_cmd *cmd = cmd_of("audit");
    struct cli_opts o = *go;
    struct opts p = {0};
    if (argc < 2)
        return cli_usage(cmd);
    const char *sub = argv[1];
    int rc = parse(cmd, 0, 0, &o, &p, argc - 1, argv + 1, NULL);
    if (rc)
        return rc;
    json_t *data = NULL;
    if (strcmp(sub, "verify") == 0) {
        rc = cli_call(&o, "audit.verify", NULL, &data);
        if (rc)
            return rc;
        bool ok = json_is_true(json_object_get(data, "ok"));
        if (o.json)
            cli_print_json(data);
        else if (ok)
            printf("audit log intact: %" JSON_INTEGER_FORMAT " rows, head %s\n",
                   json_integer_value(json_object_get(data, "rows")),
                   json_str(data, "head", "") [0] ? json_str(data, "head", "") : "(empty)");
        else
            printf("audit log FAILED verification: %s\n", json_str(data, "reason", ""));
        json_decref(data);
        return ok ? 0 : 1;
    }
    if (strcmp(sub, "list") == 0) {
        json_t *args = json_object();
        json_int_t id;
        if (p.incident) {
            if (!parse_id(p.incident, &id)) {
                json_decref(args);
                return cli_usage(cmd);
            }
            json_object_set_new(args, "object", json_string("incident"));
            json_object_set_new(args, "object_id", json_integer(id));
        }
        rc = cli_call(&o, "audit.list", args, &data);
        if (rc)
            return rc;
        if (o.json) {
            cli_print_json(data);
        } else {
            json_t *rows = json_array();
            size_t i;
            const json_t *row;
            json_array_foreach(data, i, row) {
                char what[1024];
                if (report_describe(row, what, sizeof(what)) < 0)
                    continue;
                json_t *r = json_copy((json_t *)(uintptr_t)row);
                json_object_set_new(r, "what", json_string(what));
                json_array_append_new(rows, r);
            }
            static const struct cli_col cols[] = {
                {"ID", "id", CLI_INT, 0},         {"TIME", "time", CLI_TIME, 0},
                {"WHO", "actor", CLI_STR, 0},     {"OBJECT", "object", CLI_STR, 0},
                {"OBJ ID", "object_id", CLI_INT, 0}, {"WHAT", "what", CLI_STR, 80},
            };
            cli_print_table(stdout, cols, WARD_ARRAY_LEN(cols), rows);
            json_decref(rows);
        }
        json_decref(data);
        return 0;
    }
    return cli_usage(cmd);
}

const struct cli_cmd cli_incident_cmds[] = {
    {"incidents", "incidents [--open] [--level I|II|III|IV] [--json]",
     "list incidents with their level, state and time left on each deadline", cmd_incidents},
    {"incident",
     "incident show ID | ack ID | notify ID --to director|leadership [--note TEXT] | "
     "assign ID USER | grade ID LEVEL --reason TEXT | advance ID STATE --field VALUE... | "
     "note ID TEXT | reopen ID --reason TEXT [--state S]",
     "show an incident or act on it (fields: systems told cause scope risk action decision "
     "restored how lessons followups signoff)",
     cmd_incident},
    {"report", "report ID [--host ADDR] [--format md|html] [-o FILE]",
     "write the incident disposition report (with --host: the compromised-endpoint report)",
     cmd_report},
    {"audit", "audit verify | audit list [--incident ID]",
     "check the audit log's hash chain, or list its rows", cmd_audit},
    {NULL, NULL, NULL, NULL},
};

static const struct cli_cmd *cmd_of(const char *name)
{
    for (const struct cli_cmd *c = cli_incident_cmds; c->name; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return &cli_incident_cmds[0];
}
