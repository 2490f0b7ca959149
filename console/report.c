/*
 * report -- see report.h.  The two formats share one walk over the incident;
 * struct out hides whether a heading, a table row or a paragraph becomes
 * Markdown or HTML, and escapes every value that came from the network or a
 * person.
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct out {
    FILE *f;                  /* memory stream */
    enum report_format fmt;   /* md or html */
    bool in_table;            /* an HTML table is open */
};

int report_format_parse(const char *s, enum report_format *out)
{
    if (s && (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)) {
        *out = REPORT_MD;
        return 0;
    }
    if (s && strcmp(s, "html") == 0) {
        *out = REPORT_HTML;
        return 0;
    }
    return -EINVAL;
}

/* Writes text escaped for the format; newlines become spaces inside tables. */
static void put_text(struct out *o, const char *s, bool cell)
{
    for (; s && *s; s++) {
        char ch = *s;
        if (o->fmt == REPORT_HTML) {
            switch (ch) {
            case '&':
                fputs("&amp;", o->f);
                continue;
            case '<':
                fputs("&lt;", o->f);
                continue;
            case '>':
                fputs("&gt;", o->f);
                continue;
            case '"':
                fputs("&quot;", o->f);
                continue;
            default:
                break;
            }
        } else if (ch == '|' || ch == '*' || ch == '_' || ch == '`' || ch == '<' ||
                   ch == '[' || ch == ']' || ch == '\\') {
            fputc('\\', o->f);
        }
        if ((ch == '\n' || ch == '\r') && cell)
            ch = ' ';
        fputc(ch, o->f);
    }
}

static void heading(struct out *o, int level, const char *text)
{
    if (o->fmt == REPORT_HTML) {
        fprintf(o->f, "<h%d>", level);
        put_text(o, text, false);
        fprintf(o->f, "</h%d>\n", level);
    } else {
        fprintf(o->f, "\n%.*s ", level, "######");
        put_text(o, text, false);
        fputs("\n\n", o->f);
    }
}

/* "Label: value" as one line of a definition list. */
static void item(struct out *o, const char *label, const char *value)
{
    if (!value || !*value)
        value = "(not recorded)";
    if (o->fmt == REPORT_HTML) {
        fputs("<p><b>", o->f);
        put_text(o, label, false);
        fputs(":</b> ", o->f);
        put_text(o, value, false);
        fputs("</p>\n", o->f);
    } else {
        fputs("- **", o->f);
        put_text(o, label, false);
        fputs(":** ", o->f);
        put_text(o, value, true);
        fputc('\n', o->f);
    }
}

static void para(struct out *o, const char *text)
{
    if (o->fmt == REPORT_HTML) {
        fputs("<p>", o->f);
        put_text(o, text, false);
        fputs("</p>\n", o->f);
    } else {
        put_text(o, text, false);
        fputs("\n\n", o->f);
    }
}

static void table_head(struct out *o, const char *const *cols, size_t n)
{
    if (o->fmt == REPORT_HTML) {
        fputs("<table>\n<tr>", o->f);
        for (size_t i = 0; i < n; i++) {
            fputs("<th>", o->f);
            put_text(o, cols[i], true);
            fputs("</th>", o->f);
        }
        fputs("</tr>\n", o->f);
        o->in_table = true;
    } else {
        fputc('|', o->f);
        for (size_t i = 0; i < n; i++) {
            fputc(' ', o->f);
            put_text(o, cols[i], true);
            fputs(" |", o->f);
        }
        fputs("\n|", o->f);
        for (size_t i = 0; i < n; i++)
            fputs("---|", o->f);
        fputc('\n', o->f);
    }
}

static void table_row(struct out *o, const char *const *cells, size_t n)
{
    if (o->fmt == REPORT_HTML) {
        fputs("<tr>", o->f);
        for (size_t i = 0; i < n; i++) {
            fputs("<td>", o->f);
            put_text(o, cells[i], true);
            fputs("</td>", o->f);
        }
        fputs("</tr>\n", o->f);
    } else {
        fputc('|', o->f);
        for (size_t i = 0; i < n; i++) {
            fputc(' ', o->f);
            put_text(o, cells[i] && *cells[i] ? cells[i] : "-", true);
            fputs(" |", o->f);
        }
        fputc('\n', o->f);
    }
}

static void table_end(struct out *o)
{
    if (o->fmt == REPORT_HTML && o->in_table)
        fputs("</table>\n", o->f);
    else
        fputc('\n', o->f);
    o->in_table = false;
}

static const char *s_of(const json_t *j, const char *key)
{
    return json_str(j, key, "");
}

static const char *level_english(const char *roman)
{
    if (strcmp(roman, "I") == 0)
        return "extraordinarily serious";
    if (strcmp(roman, "II") == 0)
        return "major";
    if (strcmp(roman, "III") == 0)
        return "serious";
    if (strcmp(roman, "IV") == 0)
        return "ordinary";
    return "";
}

int report_describe(const json_t *row, char *out, size_t cap)
{
    const char *action = s_of(row, "action");
    const json_t *d = json_object_get(row, "details");
    int n;
    if (strcmp(action, "incident.open") == 0) {
        n = snprintf(out, cap, "incident opened: %s (level %s: %s)", s_of(d, "title"),
                     s_of(d, "level"), s_of(d, "reason"));
    } else if (strcmp(action, "incident.event") == 0) {
        n = snprintf(out, cap, "%s event from %s%s%s on %s: %s", s_of(d, "kind"),
                     *s_of(d, "src") ? s_of(d, "src") : "?", *s_of(d, "dst") ? " to " : "",
                     s_of(d, "dst"), s_of(d, "sensor"), s_of(d, "summary"));
    } else if (strcmp(action, "incident.events") == 0) {
        /* One batch's events: how many of each kind, then the events by sensor. */
        char kinds[256] = "", names[512] = "";
        size_t kl = 0, nl = 0, shown = 0, total = 0;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)(uintptr_t)json_object_get(d, "kinds"), k, v) {
            int w = snprintf(kinds + kl, sizeof(kinds) - kl, "%s%s %lld", kl ? ", " : "", k,
                             (long long)json_integer_value(v));
            kl = w < 0 ? kl : WARD_MIN(sizeof(kinds) - 1, kl + (size_t)w);
        }
        json_object_foreach((json_t *)(uintptr_t)json_object_get(d, "events"), k, v) {
            size_t i;
            const json_t *uid;
            json_array_foreach(v, i, uid) {
                total++;
                if (shown >= 8)
                    continue;
                int w = snprintf(names + nl, sizeof(names) - nl, "%s%s/%s", shown ? ", " : "",
                                 k, json_string_value(uid));
                nl = w < 0 ? nl : WARD_MIN(sizeof(names) - 1, nl + (size_t)w);
                shown++;
            }
        }
        n = snprintf(out, cap, "%lld events joined (%s): %s%s",
                     (long long)json_integer_value(json_object_get(d, "count")), kinds, names,
                     total > shown ? ", ..." : "");
    } else if (strcmp(action, "incident.grade") == 0) {
        n = snprintf(out, cap, "level %s -> %s: %s", s_of(d, "from"), s_of(d, "to"),
                     s_of(d, "reason"));
    } else if (strcmp(action, "incident.ack") == 0) {
        n = snprintf(out, cap, "acknowledged; reported to the IT director");
    } else if (strcmp(action, "incident.notify") == 0) {
        n = snprintf(out, cap, "reported to the %s%s%s", s_of(d, "to"),
                     *s_of(d, "note") ? ": " : "", s_of(d, "note"));
    } else if (strcmp(action, "incident.assign") == 0) {
        n = snprintf(out, cap, "assigned to %s", s_of(d, "to"));
    } else if (strcmp(action, "incident.note") == 0) {
        n = snprintf(out, cap, "note: %s", s_of(d, "text"));
    } else if (strcmp(action, "incident.advance") == 0) {
        char *fields = json_dumps(json_object_get(d, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
        n = snprintf(out, cap, "%s -> %s %s", s_of(d, "from"), s_of(d, "to"),
                     fields ? fields : "");
        free(fields);
    } else if (strcmp(action, "incident.action") == 0) {
        json_t *rest = json_deep_copy(d);
        json_object_del(rest, "action");
        json_object_del(rest, "description");
        char *more = json_object_size(rest) ? json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS)
                                            : NULL;
        json_decref(rest);
        n = snprintf(out, cap, "action %s%s%s%s%s", *s_of(d, "action") ? s_of(d, "action") :
                     "(manual)", *s_of(d, "description") ? ": " : "", s_of(d, "description"),
                     more ? " " : "", more ? more : "");
        free(more);
    } else if (strcmp(action, "incident.escalate") == 0 ||
               strcmp(action, "incident.notified") == 0) {
        /* escalate: the notifier started (pid) or could not (error); notified: it
           ended (exit_status) or was killed (error). */
        const json_t *st = json_object_get(d, "exit_status");
        const json_t *pid = json_object_get(d, "pid");
        bool started = strcmp(action, "incident.escalate") == 0;
        char status[64];
        if (json_is_integer(st))
            snprintf(status, sizeof(status), "exit status %lld",
                     (long long)json_integer_value(st));
        else if (started && json_is_integer(pid))
            snprintf(status, sizeof(status), "started (pid %lld)",
                     (long long)json_integer_value(pid));
        else
            snprintf(status, sizeof(status), "%s", s_of(d, "error"));
        n = snprintf(out, cap, "%s deadline %s (due %s): notifier %s, %s", s_of(d, "clock"),
                     strcmp(s_of(d, "stage"), "overdue") == 0 ? "passed" : "close",
                     s_of(d, "deadline"), s_of(d, "command"), status);
    } else if (strcmp(action, "incident.reopen") == 0) {
        n = snprintf(out, cap, "reopened in %s: %s", s_of(d, "to"), s_of(d, "reason"));
    } else if (strcmp(action, "incident.merge") == 0) {
        if (json_object_get(d, "into"))
            n = snprintf(out, cap, "merged into incident %lld",
                         (long long)json_integer_value(json_object_get(d, "into")));
        else
            n = snprintf(out, cap, "incident %lld (%s) merged into this one",
                         (long long)json_integer_value(json_object_get(d, "merged")),
                         s_of(d, "title"));
    } else if (strcmp(action, "incident.campaign") == 0) {
        n = snprintf(out, cap, "became a campaign: several internal hosts share the technique");
    } else if (strcmp(action, "incident.report") == 0) {
        n = snprintf(out, cap, "%s report written (%s)",
                     *s_of(d, "host") ? "endpoint" : "disposition", s_of(d, "format"));
    } else {
        char *txt = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        n = snprintf(out, cap, "%s %s", action, txt ? txt : "");
        free(txt);
    }
    return n < 0 ? -EINVAL : 0;
}

static void section_description(struct out *o, const json_t *inc)
{
    char buf[2048];
    heading(o, 2, "1. Description");
    const json_t *techniques = json_object_get(inc, "techniques");
    size_t i, n = 0;
    const json_t *t;
    buf[0] = '\0';
    json_array_foreach(techniques, i, t) {
        long long ne = (long long)json_integer_value(json_object_get(t, "events"));
        int w = snprintf(buf + n, sizeof(buf) - n, "%s%s (%lld event%s)", n ? ", " : "",
                         s_of(t, "kind"), ne, ne == 1 ? "" : "s");
        if (w > 0 && (size_t)w < sizeof(buf) - n)
            n += (size_t)w;
    }
    item(o, "Nature", s_of(inc, "title"));
    item(o, "Techniques", buf);
    snprintf(buf, sizeof(buf), "first seen %s, last seen %s (packet time); detected by Ward %s",
             s_of(inc, "first"), s_of(inc, "last"), s_of(inc, "detected"));
    item(o, "Time", buf);
    const json_t *arr[2] = {json_object_get(inc, "sensors"), json_object_get(inc, "segments")};
    char place[2][400];
    for (int k = 0; k < 2; k++) {
        n = 0;
        place[k][0] = '\0';
        json_array_foreach(arr[k], i, t) {
            int w = snprintf(place[k] + n, sizeof(place[k]) - n, "%s%s", n ? ", " : "",
                             json_string_value(t) ? json_string_value(t) : "");
            if (w > 0 && (size_t)w < sizeof(place[k]) - n)
                n += (size_t)w;
        }
    }
    snprintf(buf, sizeof(buf), "segments %s; seen by sensors %s",
             place[1][0] ? place[1] : "(none internal)", place[0][0] ? place[0] : "(none)");
    item(o, "Place", buf);
    snprintf(buf, sizeof(buf), "%lld internal hosts in %lld segments; %lld events%s",
             (long long)json_integer_value(json_object_get(inc, "hosts_count")),
             (long long)json_integer_value(json_object_get(inc, "segments_count")),
             (long long)json_integer_value(json_object_get(inc, "events_total")),
             json_is_true(json_object_get(inc, "campaign")) ? "; a campaign across hosts" : "");
    item(o, "Scope", buf);
    const json_t *fields = json_object_get(inc, "fields");
    item(o, "Affected systems", s_of(fields, "systems"));
    item(o, "Who was told", s_of(fields, "told"));
    snprintf(buf, sizeof(buf), "%s %s (%s): %s (set by %s)", s_of(inc, "level"),
             s_of(inc, "level_zh"), level_english(s_of(inc, "level")), s_of(inc, "level_reason"),
             s_of(inc, "level_by"));
    item(o, "Level", buf);

    static const char *const cols[] = {"Host", "Role", "Segment", "Criticality", "Sensor"};
    heading(o, 3, "Hosts involved");
    table_head(o, cols, WARD_ARRAY_LEN(cols));
    json_array_foreach(json_object_get(inc, "hosts"), i, t) {
        char crit[8];
        snprintf(crit, sizeof(crit), "%lld",
                 (long long)json_integer_value(json_object_get(t, "criticality")));
        bool acting = json_is_true(json_object_get(t, "acting"));
        bool targeted = json_is_true(json_object_get(t, "targeted"));
        const char *role = acting && targeted ? "source and target" : acting ? "source"
                                                                             : "target";
        const char *cells[] = {s_of(t, "addr"), role,
                               *s_of(t, "segment") ? s_of(t, "segment") : "external", crit,
                               s_of(t, "sensor")};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(o);
}

static void section_analysis(struct out *o, const json_t *inc)
{
    const json_t *fields = json_object_get(inc, "fields");
    heading(o, 2, "2. Analysis");
    item(o, "Cause", s_of(fields, "cause"));
    item(o, "Impact and scope", s_of(fields, "scope"));
    item(o, "Risk", s_of(fields, "risk"));
}

static void section_measures(struct out *o, const json_t *inc)
{
    const json_t *fields = json_object_get(inc, "fields");
    heading(o, 2, "3. Measures");
    heading(o, 3, "Taken");
    size_t i, n = 0;
    const json_t *row;
    static const char *const cols[] = {"Time", "By", "Action"};
    table_head(o, cols, WARD_ARRAY_LEN(cols));
    json_array_foreach(json_object_get(inc, "timeline"), i, row) {
        if (strcmp(s_of(row, "action"), "incident.action") != 0)
            continue;
        char what[1024];
        if (report_describe(row, what, sizeof(what)) < 0)
            continue;
        const char *cells[] = {s_of(row, "time"), s_of(row, "actor"), what};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
        n++;
    }
    if (n == 0) {
        const char *cells[] = {"", "", "no containment action recorded"};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(o);
    item(o, "Containment decision", s_of(fields, "decision"));
    item(o, "Restored", s_of(fields, "restored"));
    item(o, "How", s_of(fields, "how"));
    heading(o, 3, "Planned");
    item(o, "Follow-ups", s_of(fields, "followups"));
}

static void section_timeline(struct out *o, const json_t *inc)
{
    heading(o, 2, "4. Timeline");
    static const char *const cols[] = {"#", "Time (UTC)", "Who", "Role", "What"};
    table_head(o, cols, WARD_ARRAY_LEN(cols));
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(inc, "timeline"), i, row) {
        char what[1024], id[24];
        if (report_describe(row, what, sizeof(what)) < 0)
            continue;
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(row, "id")));
        const char *cells[] = {id, s_of(row, "time"), s_of(row, "actor"), s_of(row, "role"),
                               what};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(o);
    para(o, "Each row is an entry of Ward's hash-chained audit log (the number is its audit "
            "id); wardctl audit verify checks that none was changed, inserted or deleted.");
}

static void section_evidence(struct out *o, const json_t *inc)
{
    heading(o, 2, "5. Evidence");
    const json_t *ev = json_object_get(inc, "evidence");
    if (json_array_size(ev) == 0) {
        para(o, "No evidence items are recorded for this incident.");
        return;
    }
    static const char *const cols[] = {"SHA-256", "Size", "Sensor", "Hosts", "Packets from",
                                       "Event"};
    table_head(o, cols, WARD_ARRAY_LEN(cols));
    size_t i;
    const json_t *e;
    json_array_foreach(ev, i, e) {
        char size[24] = "", hosts[256] = "";
        if (json_is_integer(json_object_get(e, "size")))
            snprintf(size, sizeof(size), "%lld",
                     (long long)json_integer_value(json_object_get(e, "size")));
        size_t j, n = 0;
        const json_t *h;
        json_array_foreach(json_object_get(e, "hosts"), j, h) {
            int w = snprintf(hosts + n, sizeof(hosts) - n, "%s%s", n ? ", " : "",
                             json_string_value(h) ? json_string_value(h) : "");
            if (w > 0 && (size_t)w < sizeof(hosts) - n)
                n += (size_t)w;
        }
        const char *event = *s_of(e, "event") ? s_of(e, "event") : s_of(e, "event_uid");
        const char *cells[] = {s_of(e, "sha256"), size, s_of(e, "sensor"), hosts,
                               s_of(e, "first"), event};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(o);
}

static void section_deadlines(struct out *o, const json_t *inc)
{
    static const char *const labels[][2] = {{"director", "Report to IT director"},
                                            {"leadership", "Report to leadership"},
                                            {"handling", "Start of handling"}};
    heading(o, 2, "6. Deadline compliance");
    static const char *const cols[] = {"Clock", "Allowed", "Deadline", "Met at", "By",
                                       "Result"};
    table_head(o, cols, WARD_ARRAY_LEN(cols));
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(inc, "clocks"), i, k) {
        const char *label = s_of(k, "clock");
        for (size_t j = 0; j < WARD_ARRAY_LEN(labels); j++) {
            if (strcmp(labels[j][0], label) == 0)
                label = labels[j][1];
        }
        const char *cells[] = {label, s_of(k, "allowed"), s_of(k, "deadline"), s_of(k, "met"),
                               s_of(k, "met_by"), s_of(k, "text")};
        table_row(o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(o);
}

static void section_lessons(struct out *o, const json_t *inc)
{
    const json_t *fields = json_object_get(inc, "fields");
    heading(o, 2, "7. Lessons learned");
    item(o, "Lessons", s_of(fields, "lessons"));
    item(o, "Follow-ups", s_of(fields, "followups"));
    item(o, "Signed off by", s_of(fields, "signoff"));
    item(o, "Closed", s_of(inc, "closed"));
}

static void begin(struct out *o, const char *title)
{
    if (o->fmt == REPORT_HTML) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
              o->f);
        put_text(o, title, false);
        fputs("</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
              "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;"
              "text-align:left;vertical-align:top}</style>\n</head>\n<body>\n", o->f);
        heading(o, 1, title);
    } else {
        fprintf(o->f, "# ");
        put_text(o, title, false);
        fputs("\n\n", o->f);
    }
}

static int finish(struct out *o, char **buf, char **out)
{
    if (o->fmt == REPORT_HTML)
        fputs("</body>\n</html>\n", o->f);
    if (fclose(o->f) != 0) {
        free(*buf);
        return -ENOMEM;
    }
    *out = *buf;
    return 0;
}

int report_render(const json_t *inc, enum report_format fmt, uint64_t now_usec, char **out)
{
    *out = NULL;
    if (!json_is_object(inc))
        return -EINVAL;
    char *buf = NULL;
    size_t len = 0;
    struct out o = {open_memstream(&buf, &len), fmt, false};
    if (!o.f)
        return -ENOMEM;
    char title[256], when[40];
    snprintf(title, sizeof(title), "Incident %lld disposition report",
             (long long)json_integer_value(json_object_get(inc, "id")));
    begin(&o, title);
    char line[512];
    snprintf(line, sizeof(line), "Level %s %s (%s) · state %s · report made %s",
             s_of(inc, "level"), s_of(inc, "level_zh"), level_english(s_of(inc, "level")),
             s_of(inc, "state"), clock_format_iso(now_usec, when, sizeof(when)));
    para(&o, line);
    section_description(&o, inc);
    section_analysis(&o, inc);
    section_measures(&o, inc);
    section_timeline(&o, inc);
    section_evidence(&o, inc);
    section_deadlines(&o, inc);
    section_lessons(&o, inc);
    return finish(&o, &buf, out);
}

/* True if the audit row's details name host anywhere (as a value). */
static bool names_host(const json_t *v, const char *host)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), host) == 0;
    size_t i;
    const char *k;
    const json_t *e;
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (names_host(e, host))
                return true;
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)(uintptr_t)v, k, e) {
            if (names_host(e, host))
                return true;
        }
    }
    return false;
}

int report_render_endpoint(const json_t *inc, const char *host, enum report_format fmt,
                           uint64_t now_usec, char **out)
{
    *out = NULL;
    if (!json_is_object(inc) || !host)
        return -EINVAL;
    const json_t *h = NULL, *e;
    size_t i;
    json_array_foreach(json_object_get(inc, "hosts"), i, e) {
        if (strcmp(s_of(e, "addr"), host) == 0)
            h = e;
    }
    if (!h)
        return -ENOENT;
    char *buf = NULL;
    size_t len = 0;
    struct out o = {open_memstream(&buf, &len), fmt, false};
    if (!o.f)
        return -ENOMEM;
    char title[256], line[512], when[40], crit[8];
    snprintf(title, sizeof(title), "Compromised endpoint report: %s (incident %lld)", host,
             (long long)json_integer_value(json_object_get(inc, "id")));
    begin(&o, title);
    snprintf(line, sizeof(line), "Incident level %s %s (%s) · state %s · report made %s",
             s_of(inc, "level"), s_of(inc, "level_zh"), level_english(s_of(inc, "level")),
             s_of(inc, "state"), clock_format_iso(now_usec, when, sizeof(when)));
    para(&o, line);

    heading(&o, 2, "1. Endpoint");
    snprintf(crit, sizeof(crit), "%lld", (long long)json_integer_value(json_object_get(h,
                                                                                      "criticality")));
    item(&o, "Address", host);
    item(&o, "Segment", *s_of(h, "segment") ? s_of(h, "segment") : "outside the home network");
    item(&o, "Criticality (1 core .. 4)", crit);
    item(&o, "Seen by sensor", s_of(h, "sensor"));
    item(&o, "Role in the incident",
         json_is_true(json_object_get(h, "acting"))
             ? (json_is_true(json_object_get(h, "targeted")) ? "attacked, then attacking"
                                                             : "attacking other hosts")
             : "attacked");
    item(&o, "Incident", s_of(inc, "title"));

    heading(&o, 2, "2. What was seen");
    static const char *const ecols[] = {"First", "Last", "Kind", "Source", "Target", "Summary"};
    table_head(&o, ecols, WARD_ARRAY_LEN(ecols));
    json_array_foreach(json_object_get(inc, "events"), i, e) {
        if (strcmp(s_of(e, "src"), host) != 0 && strcmp(s_of(e, "dst"), host) != 0 &&
            !names_host(json_object_get(json_object_get(e, "event"), "targets"), host))
            continue;
        const char *cells[] = {s_of(e, "first"), s_of(e, "last"), s_of(e, "kind"),
                               s_of(e, "src"), s_of(e, "dst"), s_of(e, "summary")};
        table_row(&o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(&o);

    heading(&o, 2, "3. What was done");
    static const char *const tcols[] = {"Time (UTC)", "Who", "What"};
    table_head(&o, tcols, WARD_ARRAY_LEN(tcols));
    json_array_foreach(json_object_get(inc, "timeline"), i, e) {
        const char *a = s_of(e, "action");
        bool about = names_host(json_object_get(e, "details"), host);
        if (!about && strcmp(a, "incident.advance") != 0 && strcmp(a, "incident.ack") != 0)
            continue;
        char what[1024];
        if (report_describe(e, what, sizeof(what)) < 0)
            continue;
        const char *cells[] = {s_of(e, "time"), s_of(e, "actor"), what};
        table_row(&o, cells, WARD_ARRAY_LEN(cells));
    }
    table_end(&o);

    const json_t *fields = json_object_get(inc, "fields");
    heading(&o, 2, "4. Evidence");
    size_t nev = 0;
    json_array_foreach(json_object_get(inc, "evidence"), i, e) {
        if (names_host(json_object_get(e, "hosts"), host) || !json_object_get(e, "hosts")) {
            item(&o, "SHA-256", s_of(e, "sha256"));
            nev++;
        }
    }
    if (!nev)
        para(&o, "No evidence items are recorded for this endpoint.");
    heading(&o, 2, "5. Disposition");
    item(&o, "Cause", s_of(fields, "cause"));
    item(&o, "Containment decision", s_of(fields, "decision"));
    item(&o, "Restored", s_of(fields, "restored"));
    item(&o, "How", s_of(fields, "how"));
    item(&o, "Follow-ups", s_of(fields, "followups"));
    item(&o, "Signed off by", s_of(fields, "signoff"));
    return finish(&o, &buf, out);
}
