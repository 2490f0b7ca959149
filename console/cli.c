/*
 * cli -- see cli.h.  wardctl's client for the control socket (one request, one
 * reply, then close) and the printing helpers every command table shares.
 */
#define _GNU_SOURCE /* fopencookie */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
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

/* ---------------------------------------------------------------- options */

#define CLI_OPTS_MAX 32 /* options of one command, --json and --help included */

static bool takes_arg(const struct cli_opt *p)
{
    return p->kind == CLI_OPT_STR || p->kind == CLI_OPT_UINT || p->kind == CLI_OPT_FN;
}

/* The value getopt_long() returns for opts[i]: its short name, else a number past
 * the characters, the same for every spelling of one option (so that "--dep" is
 * not ambiguous between --dept and --department). */
static int opt_val(const struct cli_opt *opts, size_t i)
{
    if (opts[i].short_name)
        return (unsigned char)opts[i].short_name;
    for (size_t j = 0; j < i; j++) {
        if (!opts[j].short_name && opts[j].kind == opts[i].kind && opts[j].out == opts[i].out &&
            opts[j].value == opts[i].value)
            return UCHAR_MAX + 1 + (int)j;
    }
    return UCHAR_MAX + 1 + (int)i;
}

/* Decimal, optional blanks and '+' before it (as strtoull takes it), no '-'. */
static bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Stores one option's argument.  0, or the exit code after printing why not. */
static int store(const struct cli_syntax *syn, const struct cli_opt *p, struct cli_opts *o,
                 const char *arg)
{
    switch (p->kind) {
    case CLI_OPT_FLAG:
        *(bool *)p->out = true;
        return 0;
    case CLI_OPT_STR:
        *(const char **)p->out = arg;
        return 0;
    case CLI_OPT_CHOICE:
        *(const char **)p->out = p->value;
        return 0;
    case CLI_OPT_UINT:
        if (parse_uint(arg, p->min, p->max, p->out))
            return 0;
        if (!p->bad)
            return cli_usage(syn->cmd);
        fprintf(stderr, "wardctl: --%s %s\n", p->name, p->bad);
        return 2;
    case CLI_OPT_FN:
        if (p->parse(arg, p->out) == 0)
            return 0;
        if (!p->bad)
            return cli_usage(syn->cmd);
        fprintf(stderr, "wardctl: --%s %s: %s\n", p->name, arg, p->bad);
        return 2;
    case CLI_OPT_JSON:
        o->json = true;
        return 0;
    case CLI_OPT_HELP:
        break;
    }
    return cli_usage(syn->cmd);
}

int cli_parse(const struct cli_syntax *syn, struct cli_opts *o, int argc, char **argv, int *first)
{
    static const struct cli_opt json = CLI_JSON;
    static const struct cli_opt help = CLI_HELP;
    struct cli_opt all[CLI_OPTS_MAX];
    size_t n = 0;
    bool has_json = false, has_help = false;
    for (const struct cli_opt *p = syn->opts; p && p->name; p++) {
        WARD_ASSERT(n < CLI_OPTS_MAX - 2);
        has_json |= p->kind == CLI_OPT_JSON;
        has_help |= p->kind == CLI_OPT_HELP;
        all[n++] = *p;
    }
    if (!has_json)
        all[n++] = json;
    if (!has_help)
        all[n++] = help;

    /* getopt's tables in the order given: it names an ambiguous abbreviation's
     * candidates in this order. */
    struct option longopts[CLI_OPTS_MAX + 1];
    char shorts[2 + 2 * CLI_OPTS_MAX + 1];
    size_t ns = 0;
    if (syn->order == CLI_OPTIONS_FIRST)
        shorts[ns++] = '+';
    for (size_t i = 0; i < n; i++) {
        int val = opt_val(all, i);
        longopts[i] = (struct option){all[i].name, takes_arg(&all[i]) ? required_argument
                                                                      : no_argument,
                                      NULL, val};
        if (all[i].short_name) {
            shorts[ns++] = all[i].short_name;
            if (takes_arg(&all[i]))
                shorts[ns++] = ':';
        }
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';

    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        size_t i = 0;
        while (i < n && longopts[i].val != ch)
            i++;
        if (i == n) /* '?': getopt has said what is wrong */
            return cli_usage(syn->cmd);
        int rc = store(syn, &all[i], o, optarg);
        if (rc)
            return rc;
    }
    int left = argc - optind;
    if (left < syn->min_args || left > syn->max_args)
        return cli_usage(syn->cmd);
    if (first)
        *first = optind;
    return 0;
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

/* ---------------------------------------------------------------- text for a terminal */

/*
 * Decodes one UTF-8 character from the len bytes at s.  Returns its length in
 * bytes and sets *cp; 0 for a byte that starts no valid character (stray
 * continuation, overlong form, surrogate, beyond U+10FFFF); -1 when the bytes
 * so far are a valid start cut short by the end of the buffer.
 */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n;
    uint32_t c, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        n = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (i >= len)
            return -1;
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return (int)n;
}

/* A control character a terminal could act on (C0 but the ones kept, DEL, C1). */
static bool is_control(uint32_t c, bool keep_layout)
{
    if (keep_layout && (c == '\n' || c == '\t' || c == '\r'))
        return false;
    return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
}

/* Columns a character takes on a terminal: 0 for combining marks and
 * zero-width characters, 2 for East Asian wide and fullwidth ones, else 1. */
static unsigned char_width(uint32_t c)
{
    if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x1ab0 && c <= 0x1aff) ||
        (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x200b && c <= 0x200f) ||
        (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe00 && c <= 0xfe0f) ||
        (c >= 0xfe20 && c <= 0xfe2f))
        return 0;
    if (c >= 0x1100 &&
        (c <= 0x115f || c == 0x2329 || c == 0x232a || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
         (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
         (c >= 0xfe10 && c <= 0xfe19) || (c >= 0xfe30 && c <= 0xfe6f) ||
         (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ||
         (c >= 0x1f300 && c <= 0x1f64f) || (c >= 0x1f900 && c <= 0x1f9ff) ||
         (c >= 0x20000 && c <= 0x3fffd)))
        return 2;
    return 1;
}

void cli_clean(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    size_t left = strlen(s);
    while (left) {
        uint32_t c = 0;
        int n = utf8_decode(r, left, &c);
        if (n <= 0 || is_control(c, false)) {
            /* Layout characters become spaces; what could drive a terminal, '?'. */
            *w++ = n > 0 && c < 0x20 && c != 0x1b ? ' ' : '?';
            n = n > 0 ? n : 1;
        } else {
            memmove(w, r, (size_t)n);
            w += n;
        }
        r += n;
        left -= (size_t)n;
    }
    *w = '\0';
}

size_t cli_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, left = strlen(s);
    while (left) {
        uint32_t c;
        int n = utf8_decode(p, left, &c);
        w += n > 0 ? char_width(c) : 1;
        n = n > 0 ? n : 1;
        p += n;
        left -= (size_t)n;
    }
    return w;
}

size_t cli_text_cut(char *s, size_t cols)
{
    unsigned char *p = (unsigned char *)s;
    size_t w = 0, left = strlen(s);
    while (left) {
        uint32_t c;
        int n = utf8_decode(p, left, &c);
        unsigned cw = n > 0 ? char_width(c) : 1;
        if (w + cw > cols)
            break;
        w += cw;
        n = n > 0 ? n : 1;
        p += n;
        left -= (size_t)n;
    }
    *p = '\0';
    return w;
}

/*
 * The guarded output streams: stdout and stderr pass through a filter that
 * writes what a terminal shows as text (valid UTF-8, newlines, tabs) and '?'
 * for anything else, straight to the file descriptor.  A character cut by a
 * buffer boundary waits in pend for the rest.
 */
struct guard {
    int fd;                  /* where the text goes */
    FILE *orig;              /* the stream it replaced */
    unsigned char pend[4];   /* start of a character cut at the last write */
    size_t npend;            /* bytes in pend */
};

static struct guard guards[2];

static void write_fd(int fd, const unsigned char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report it: the output is what failed */
        buf += w;
        len -= (size_t)w;
    }
}

static ssize_t guard_write(void *cookie, const char *buf, size_t size)
{
    struct guard *g = cookie;
    unsigned char work[4 + 1024], out[4 * sizeof(work)];
    size_t done = 0;
    while (done < size) {
        size_t take = WARD_MIN(size - done, sizeof(work) - g->npend);
        memcpy(work, g->pend, g->npend);
        memcpy(work + g->npend, buf + done, take);
        size_t len = g->npend + take, i = 0, o = 0;
        g->npend = 0;
        done += take;
        while (i < len) {
            uint32_t c = 0;
            int n = utf8_decode(work + i, len - i, &c);
            if (n < 0) {
                memcpy(g->pend, work + i, len - i); /* the rest comes next time */
                g->npend = len - i;
                break;
            }
            if (n <= 0 || is_control(c, true)) {
                out[o++] = '?';
                n = n > 0 ? n : 1;
            } else {
                memcpy(out + o, work + i, (size_t)n);
                o += (size_t)n;
            }
            i += (size_t)n;
        }
        write_fd(g->fd, out, o);
    }
    return (ssize_t)size;
}

static int guard_close(void *cookie)
{
    struct guard *g = cookie;
    static const unsigned char q[4] = {'?', '?', '?', '?'};
    write_fd(g->fd, q, g->npend); /* a character never finished */
    g->npend = 0;
    return 0;
}

static void guard_fini(void)
{
    if (guards[0].orig) {
        FILE *f = stdout;
        fflush(f);
        stdout = guards[0].orig;
        fclose(f);
    }
    if (guards[1].orig) {
        FILE *f = stderr;
        fflush(f);
        stderr = guards[1].orig;
        fclose(f);
    }
}

static FILE *guard_open(struct guard *g, int fd, FILE *orig)
{
    static const cookie_io_functions_t io = {NULL, guard_write, NULL, guard_close};
    fflush(orig);
    g->fd = fd;
    g->npend = 0;
    FILE *f = fopencookie(g, "w", io);
    if (!f)
        return orig;
    setvbuf(f, NULL, fd == STDERR_FILENO ? _IONBF : isatty(fd) ? _IOLBF : _IOFBF, 0);
    g->orig = orig;
    return f;
}

void cli_guard_output(void)
{
    if (guards[0].orig || guards[1].orig)
        return;
    stdout = guard_open(&guards[0], STDOUT_FILENO, stdout);
    stderr = guard_open(&guards[1], STDERR_FILENO, stderr);
    atexit(guard_fini);
}

/* ---------------------------------------------------------------- tables */

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
    cli_clean(out);
}

#define CLI_CELL_MAX 512

/* One cell padded to width columns (numbers on the right), then the gap or the
 * end of the line.  Padding counts columns, not bytes, so wide characters line
 * up. */
static void put_cell(FILE *f, const char *text, size_t width, bool right, bool last)
{
    size_t w = cli_text_width(text);
    size_t pad = width > w ? width - w : 0;
    if (right)
        fprintf(f, "%*s", (int)pad, "");
    fputs(text, f);
    if (!right && !last)
        fprintf(f, "%*s", (int)pad, "");
    fputs(last ? "\n" : "  ", f);
}

int cli_read_file(const char *path, size_t max, const char *too_large, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "wardctl: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    const char *why = !buf ? "out of memory"
                      : bad ? "read error"
                      : n > max ? too_large
                      : memchr(buf, '\0', n) ? "not a text file (NUL byte)"
                                              : NULL;
    if (why) {
        fprintf(stderr, "wardctl: %s: %s\n", path, why);
        free(buf);
        return 1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

void cli_print_sensors(const json_t *sensors)
{
    size_t i;
    const json_t *s;
    json_array_foreach(sensors, i, s)
        printf("  sensor %-20s %s\n", json_str(s, "sensor", ""), json_str(s, "status", ""));
}

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
        width[c] = cli_text_width(cols[c].title);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(json_object_get(row, cols[c].key), cols[c].fmt, cell, sizeof(cell));
            size_t n = cli_text_width(cell);
            if (cols[c].max_width > 0 && n > (size_t)cols[c].max_width)
                n = (size_t)cols[c].max_width;
            width[c] = WARD_MAX(width[c], n);
        }
    }
    for (size_t c = 0; c < ncols; c++)
        put_cell(f, cols[c].title, width[c], cols[c].fmt == CLI_INT, c + 1 == ncols);
    json_array_foreach(rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cli_cell(json_object_get(row, cols[c].key), cols[c].fmt, cell, sizeof(cell));
            size_t max = cols[c].max_width > 3 ? (size_t)cols[c].max_width : 0;
            if (max && cli_text_width(cell) > max) {
                cli_text_cut(cell, max - 3);
                strcat(cell, "...");
            }
            put_cell(f, cell, width[c], cols[c].fmt == CLI_INT, c + 1 == ncols);
        }
    }
    free(width);
}
