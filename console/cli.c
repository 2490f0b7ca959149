/*
 * cli -- see cli.h.  wardctl's client for the control socket (one request, one
 * reply, then close) and the printing helpers every command table shares.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CLI_TIMEOUT_SEC 120

static int connect_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "wardctl: socket path too long: %s\n", path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {CLI_TIMEOUT_SEC, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        fprintf(stderr, "wardctl: cannot connect to %s: %s\n", path, strerror(e));
        if (e == ENOENT || e == ECONNREFUSED)
            fprintf(stderr, "wardctl: is ward-console running?  (-s PATH or $WARD_SOCKET"
                            " names another socket)\n");
        else if (e == EACCES)
            fprintf(stderr, "wardctl: the socket is for the console's group; ask an admin"
                            " to add you\n");
        close(fd);
        return -e;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads one line (without '\n') into a new buffer.  0 or negative errno. */
static int read_line(int fd, char **out, size_t *out_len)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= CLI_MAX_LINE) {
                free(buf);
                return -E2BIG;
            }
            char *n = realloc(buf, cap * 2);
            if (!n) {
                free(buf);
                return -ENOMEM;
            }
            buf = n;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
            free(buf);
            return -e;
        }
        if (r == 0) {
            free(buf);
            return -ECONNRESET;
        }
        char *nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
        if (nl) {
            *out = buf;
            *out_len = (size_t)(nl - buf);
            return 0;
        }
    }
}

int cli_call(const struct cli_opts *o, const char *verb, json_t *args, json_t **data)
{
    *data = NULL;
    json_t *req = json_object();
    if (!req) {
        json_decref(args);
        return 1;
    }
    json_object_set_new(req, "verb", json_string(verb));
    json_object_set_new(req, "args", args ? args : json_object());
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text) {
        fprintf(stderr, "wardctl: out of memory\n");
        return 1;
    }
    int fd = connect_socket(o->socket_path);
    if (fd < 0) {
        free(text);
        return 1;
    }
    int rc = write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = write_all(fd, "\n", 1);
    free(text);
    char *line = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = read_line(fd, &line, &len);
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "wardctl: %s: no reply from the console: %s\n", verb, strerror(-rc));
        return 1;
    }
    json_error_t jerr;
    json_t *reply = json_loadb(line, len, 0, &jerr);
    free(line);
    if (!json_is_object(reply)) {
        json_decref(reply);
        fprintf(stderr, "wardctl: %s: the console's reply is not a JSON object\n", verb);
        return 1;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        fprintf(stderr, "wardctl: %s\n", json_str(reply, "error", "request refused"));
        json_decref(reply);
        return 1;
    }
    json_t *d = json_object_get(reply, "data");
    *data = d ? json_incref(d) : json_null();
    json_decref(reply);
    return 0;
}

int cli_usage(const struct cli_cmd *cmd)
{
    fprintf(stderr, "usage: wardctl %s\n", cmd->usage);
    return 2;
}

int cli_print_json(const json_t *data)
{
    if (json_is_array(data)) {
        size_t i;
        const json_t *v;
        json_array_foreach(data, i, v) {
            if (json_write_line(stdout, v) < 0)
                return 1;
        }
        return 0;
    }
    return json_write_line(stdout, data) < 0 ? 1 : 0;
}

char *cli_fmt_age(uint64_t sec, char *out, size_t cap)
{
    if (sec >= 86400)
        snprintf(out, cap, "%" PRIu64 "d%" PRIu64 "h", sec / 86400, sec % 86400 / 3600);
    else if (sec >= 3600)
        snprintf(out, cap, "%" PRIu64 "h%" PRIu64 "m", sec / 3600, sec % 3600 / 60);
    else if (sec >= 60)
        snprintf(out, cap, "%" PRIu64 "m%" PRIu64 "s", sec / 60, sec % 60);
    else
        snprintf(out, cap, "%" PRIu64 "s", sec);
    return out;
}

void cli_cell(const json_t *v, enum cli_fmt fmt, char *out, size_t cap)
{
    out[0] = '\0';
    if (!v || json_is_null(v))
        return;
    switch (fmt) {
    case CLI_TIME:
        if (json_is_string(v)) {
            /* "2026-11-21T06:49:22.123456Z" -> "2026-11-21 06:49:22" */
            snprintf(out, cap, "%.19s", json_string_value(v));
            if (strlen(out) > 10 && out[10] == 'T')
                out[10] = ' ';
            return;
        }
        break;
    case CLI_AGE:
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            cli_fmt_age((uint64_t)json_integer_value(v), out, cap);
            return;
        }
        break;
    case CLI_LIST:
        if (json_is_array(v)) {
            size_t i, used = 0;
            const json_t *e;
            json_array_foreach(v, i, e) {
                char item[128];
                cli_cell(e, CLI_STR, item, sizeof(item));
                int n = snprintf(out + used, cap - used, "%s%s", i ? "," : "", item);
                if (n < 0 || (size_t)n >= cap - used)
                    break;
                used += (size_t)n;
            }
            return;
        }
        break;
    case CLI_BOOL:
        snprintf(out, cap, "%s", json_is_true(v) ? "yes" : "");
        return;
    case CLI_STR:
    case CLI_INT:
        break;
    }
    if (json_is_string(v))
        snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", s ? s : "");
        free(s);
    }
    /* Keep the table on one line per row. */
    for (char *p = out; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r')
            *p = ' ';
    }
}

#define CLI_CELL_MAX 512

void cli_print_table(FILE *f, const struct cli_col *cols, size_t ncols, const json_t *rows)
{
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        fprintf(f, "(none)\n");
        return;
    }
    size_t *width = calloc(ncols, sizeof(*width));
    if (!width)
        return;
    char cell[CLI_CELL_MAX];
    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c].title);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(json_object_get(row, cols[c].key), cols[c].fmt, cell, sizeof(cell));
            size_t n = strlen(cell);
            if (cols[c].max_width > 0 && n > (size_t)cols[c].max_width)
                n = (size_t)cols[c].max_width;
            width[c] = WARD_MAX(width[c], n);
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        bool last = c + 1 == ncols;
        if (cols[c].fmt == CLI_INT) /* numbers line up on the right, header too */
            fprintf(f, "%*s%s", (int)width[c], cols[c].title, last ? "\n" : "  ");
        else
            fprintf(f, "%-*s%s", last ? 0 : (int)width[c], cols[c].title, last ? "\n" : "  ");
    }
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(json_object_get(row, cols[c].key), cols[c].fmt, cell, sizeof(cell));
            if (cols[c].max_width > 3 && strlen(cell) > (size_t)cols[c].max_width)
                snprintf(cell + cols[c].max_width - 3, 4, "...");
            bool right = cols[c].fmt == CLI_INT;
            if (c + 1 == ncols && !right)
                fprintf(f, "%s\n", cell);
            else
                fprintf(f, right ? "%*s%s" : "%-*s%s", (int)width[c], cell,
                        c + 1 < ncols ? "  " : "\n");
        }
    }
    free(width);
}
