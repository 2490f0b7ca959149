/*
 * csv_import -- see csv_import.h.
 *
 * The text is fed to libcsv one physical line at a time, so that the record
 * callback knows the line a record started on even when a quoted field holds a
 * newline.  libcsv runs in its lenient mode: a stray quote is data, never the
 * end of the whole import.  Fields are copied (bounded) as they arrive; rows are
 * checked when their record ends.
 */
#include "csv_import.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "rd.h"

enum col_id {
    COL_IP, COL_MAC, COL_HOSTNAME, COL_DEPARTMENT, COL_OWNER, COL_SYSTEM, COL_CRITICALITY,
    COL_LOCATION, COL_BRAND, COL_MODEL, COL_PURCHASE_YEAR, COL_WARRANTY, COL_COUNT
};

const char *const csv_import_columns[] = {
    "ip", "mac", "hostname", "department", "owner", "system", "criticality", "location",
    "brand", "model", "purchase_year", "warranty", NULL,
};

static const struct {
    const char *name;
    enum col_id id;
} aliases[] = {
    {"ip", COL_IP},                 {"address", COL_IP},          {"ip_address", COL_IP},
    {"IP地址", COL_IP},             {"地址", COL_IP},             {"mac", COL_MAC},
    {"mac_address", COL_MAC},       {"MAC地址", COL_MAC},         {"物理地址", COL_MAC},
    {"hostname", COL_HOSTNAME},     {"host_name", COL_HOSTNAME},  {"name", COL_HOSTNAME},
    {"主机名", COL_HOSTNAME},       {"计算机名", COL_HOSTNAME},   {"设备名称", COL_HOSTNAME},
    {"department", COL_DEPARTMENT}, {"dept", COL_DEPARTMENT},     {"科室", COL_DEPARTMENT},
    {"部门", COL_DEPARTMENT},       {"owner", COL_OWNER},         {"责任人", COL_OWNER},
    {"负责人", COL_OWNER},          {"system", COL_SYSTEM},       {"business_system", COL_SYSTEM},
    {"业务系统", COL_SYSTEM},       {"系统", COL_SYSTEM},         {"criticality", COL_CRITICALITY},
    {"重要程度", COL_CRITICALITY},  {"重要性", COL_CRITICALITY},  {"等级", COL_CRITICALITY},
    {"location", COL_LOCATION},     {"位置", COL_LOCATION},       {"地点", COL_LOCATION},
    {"brand", COL_BRAND},           {"品牌", COL_BRAND},          {"厂商", COL_BRAND},
    {"model", COL_MODEL},           {"型号", COL_MODEL},          {"purchase_year", COL_PURCHASE_YEAR},
    {"购置年份", COL_PURCHASE_YEAR}, {"采购年份", COL_PURCHASE_YEAR}, {"warranty", COL_WARRANTY},
    {"保修", COL_WARRANTY},         {"维保", COL_WARRANTY},       {"保修期", COL_WARRANTY},
};

struct parse {
    json_t *rows;                        /* good rows */
    json_t *errors;                      /* bad rows */
    json_t *seen_mac;                    /* MAC -> first line, for duplicates */
    json_t *seen_ip;                     /* address -> first line */
    int map[CSV_IMPORT_MAX_COLS];        /* column index -> enum col_id, -1 unused */
    size_t header_cols;                  /* columns in the header */
    bool header_done;                    /* the header row was read */
    char field[CSV_IMPORT_MAX_COLS][CSV_IMPORT_MAX_FIELD + 1]; /* current record */
    bool too_long[CSV_IMPORT_MAX_COLS];  /* field was cut */
    size_t nfields;                      /* fields of the current record so far */
    unsigned line;                       /* physical line being fed */
    unsigned rec_line;                   /* line the current record started on */
    unsigned start_line;                 /* line the next record starts on */
    bool in_record;                      /* a field of the current record arrived */
    size_t nerrors;                      /* bad rows, including unreported ones */
    int fatal;                           /* header problem: negative errno */
    char *err;                           /* where the fatal message goes */
    size_t errcap;                       /* its size */
};

static bool utf8_ok(const char *s)
{
    struct rd r = rd_make((const uint8_t *)s, strlen(s));
    uint8_t c;
    while (rd_u8(&r, &c)) {
        int more;
        uint32_t cp;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0) {
            more = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (int i = 0; i < more; i++) {
            uint8_t cc;
            if (!rd_u8(&r, &cc) || (cc & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (cc & 0x3f);
        }
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

/* Trims blanks (ASCII) in place. */
static char *trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s + strspn(s, " \t");
}

int csv_import_mac(const char *in, char *out, size_t cap)
{
    uint8_t b[6];
    size_t nd = 0;
    int hi = -1;

    if (cap < 18)
        return -EINVAL;
    for (const char *p = in; *p; p++) {
        char ch = *p;
        int v;
        if (ch >= '0' && ch <= '9')
            v = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            v = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            v = ch - 'A' + 10;
        else if (ch == ':' || ch == '-' || ch == '.')
            continue;
        else
            return -EINVAL;
        if (nd >= 12)
            return -EINVAL;
        if (hi < 0) {
            hi = v;
        } else {
            b[nd / 2] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
        nd++;
    }
    if (nd != 12 || (b[0] & 0x01))
        return -EINVAL;
    static const uint8_t zero[6];
    if (memcmp(b, zero, 6) == 0)
        return -EINVAL;
    snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return 0;
}

static void row_error(struct parse *ps, unsigned line, const char *fmt, ...)
    WARD_PRINTF(3, 4);

static void row_error(struct parse *ps, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ps->nerrors++;
    if (json_array_size(ps->errors) >= CSV_IMPORT_MAX_ERRORS)
        return;
    json_t *e = json_object();
    if (!e)
        return;
    json_object_set_new(e, "line", json_integer(line));
    json_object_set_new(e, "error", json_string(msg));
    json_array_append_new(ps->errors, e);
}

static void fatal(struct parse *ps, int rc, const char *fmt, ...) WARD_PRINTF(3, 4);

static void fatal(struct parse *ps, int rc, const char *fmt, ...)
{
    va_list ap;
    if (ps->fatal)
        return;
    ps->fatal = rc;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errcap, fmt, ap);
    va_end(ap);
}

/* A printable, bounded copy of a value for a message. */
static const char *shown(const char *v, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; v[i] && k + 4 < cap; i++) {
        unsigned char ch = (unsigned char)v[i];
        buf[k++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (k + 4 >= cap && k > 0)
        memcpy(buf + k, "...", 4);
    else
        buf[k] = '\0';
    return buf;
}

static bool is_export_only(const char *name)
{
    static const char *const cols[] = {"ip6", "vendor", "os", "services", "state", "state_zh",
                                       "first_seen", "last_seen", "address", "id", "sensor"};
    for (size_t i = 0; i < WARD_ARRAY_LEN(cols); i++) {
        if (strcasecmp(name, cols[i]) == 0)
            return true;
    }
    return false;
}

static void do_header(struct parse *ps)
{
    bool have[COL_COUNT] = {false};
    char buf[80];

    ps->header_cols = ps->nfields;
    for (size_t i = 0; i < ps->nfields && i < CSV_IMPORT_MAX_COLS; i++) {
        char *name = trim(ps->field[i]);
        ps->map[i] = -1;
        if (name[0] == '\0')
            continue; /* an unnamed column (trailing comma) is ignored */
        for (size_t a = 0; a < WARD_ARRAY_LEN(aliases); a++) {
            if (strcasecmp(name, aliases[a].name) == 0) {
                ps->map[i] = (int)aliases[a].id;
                break;
            }
        }
        if (ps->map[i] < 0 && is_export_only(name))
            continue; /* columns `wardctl assets --csv` adds: a file exported imports back */
        if (ps->map[i] < 0) {
            fatal(ps, -EINVAL,
                  "line %u: unknown column '%s' (columns: ip, mac, hostname, department, "
                  "owner, system, criticality, location, brand, model, purchase_year, warranty)",
                  ps->rec_line, shown(name, buf, sizeof(buf)));
            return;
        }
        if (have[ps->map[i]]) {
            fatal(ps, -EINVAL, "line %u: column '%s' appears twice", ps->rec_line,
                  csv_import_columns[ps->map[i]]);
            return;
        }
        have[ps->map[i]] = true;
    }
    if (!have[COL_IP] && !have[COL_MAC])
        fatal(ps, -EINVAL, "line %u: the header needs an 'ip' or a 'mac' column", ps->rec_line);
    ps->header_done = true;
}

static void do_row(struct parse *ps)
{
    const char *v[COL_COUNT];
    char msg[1024] = "";
    char buf[80];
    char mac[18] = "";
    long crit = 0;
    long year = 0;

#define PROBLEM(...)                                                                           \
    do {                                                                                       \
        size_t n_ = strlen(msg);                                                               \
        snprintf(msg + n_, sizeof(msg) - n_, "%s", n_ ? "; " : "");                            \
        n_ = strlen(msg);                                                                      \
        snprintf(msg + n_, sizeof(msg) - n_, __VA_ARGS__);                                     \
    } while (0)

    /* A row of empty fields is a blank line in a spreadsheet export. */
    bool blank = true;
    for (size_t i = 0; i < ps->nfields && i < CSV_IMPORT_MAX_COLS; i++) {
        if (trim(ps->field[i])[0])
            blank = false;
    }
    if (blank)
        return;
    if (json_array_size(ps->rows) + ps->nerrors >= CSV_IMPORT_MAX_ROWS) {
        fatal(ps, -EFBIG, "more than %u rows", CSV_IMPORT_MAX_ROWS);
        return;
    }
    if (ps->nfields != ps->header_cols) {
        row_error(ps, ps->rec_line, "wrong column count: %zu fields, the header has %zu",
                  ps->nfields, ps->header_cols);
        return;
    }
    for (size_t c = 0; c < COL_COUNT; c++)
        v[c] = "";
    for (size_t i = 0; i < ps->nfields && i < CSV_IMPORT_MAX_COLS; i++) {
        char *f = trim(ps->field[i]);
        if (ps->map[i] < 0)
            continue;
        if (ps->too_long[i])
            PROBLEM("%s is longer than %d bytes", csv_import_columns[ps->map[i]],
                    CSV_IMPORT_MAX_FIELD);
        else if (!utf8_ok(f))
            PROBLEM("%s is not UTF-8 text", csv_import_columns[ps->map[i]]);
        v[ps->map[i]] = f;
    }
    struct addr a;
    char ip[ADDR_STR_LEN] = "";
    if (v[COL_IP][0]) {
        if (addr_parse(v[COL_IP], &a) < 0)
            PROBLEM("bad address '%s'", shown(v[COL_IP], buf, sizeof(buf)));
        else
            addr_format(&a, ip, sizeof(ip));
    }
    if (v[COL_MAC][0] && csv_import_mac(v[COL_MAC], mac, sizeof(mac)) < 0)
        PROBLEM("bad MAC '%s'", shown(v[COL_MAC], buf, sizeof(buf)));
    if (!v[COL_IP][0] && !v[COL_MAC][0])
        PROBLEM("needs an address or a MAC");
    if (v[COL_CRITICALITY][0]) {
        const char *s = v[COL_CRITICALITY];
        if (strlen(s) == 1 && s[0] >= '1' && s[0] <= '4')
            crit = s[0] - '0';
        else
            PROBLEM("unknown criticality '%s' (1 core .. 4 low)", shown(s, buf, sizeof(buf)));
    }
    if (v[COL_PURCHASE_YEAR][0]) {
        char *end;
        year = strtol(v[COL_PURCHASE_YEAR], &end, 10);
        if (*end || year < 1970 || year > 2100)
            PROBLEM("bad purchase year '%s'", shown(v[COL_PURCHASE_YEAR], buf, sizeof(buf)));
    }
    if (mac[0]) {
        json_t *prev = json_object_get(ps->seen_mac, mac);
        if (prev)
            PROBLEM("duplicate MAC %s (first on line %lld)", mac,
                    (long long)json_integer_value(prev));
    }
    if (ip[0]) {
        json_t *prev = json_object_get(ps->seen_ip, ip);
        if (prev)
            PROBLEM("duplicate address %s (first on line %lld)", ip,
                    (long long)json_integer_value(prev));
    }
#undef PROBLEM
    if (msg[0]) {
        row_error(ps, ps->rec_line, "%s", msg);
        return;
    }
    json_t *r = json_object();
    if (!r) {
        fatal(ps, -ENOMEM, "out of memory");
        return;
    }
    json_object_set_new(r, "line", json_integer(ps->rec_line));
    for (size_t c = 0; c < COL_COUNT; c++) {
        if (c == COL_CRITICALITY || c == COL_PURCHASE_YEAR)
            continue;
        const char *val = c == COL_IP ? ip : c == COL_MAC ? mac : v[c];
        json_object_set_new(r, csv_import_columns[c], json_string(val));
    }
    json_object_set_new(r, "criticality", json_integer(crit));
    json_object_set_new(r, "purchase_year", json_integer(year));
    json_array_append_new(ps->rows, r);
    if (mac[0])
        json_object_set_new(ps->seen_mac, mac, json_integer(ps->rec_line));
    if (ip[0])
        json_object_set_new(ps->seen_ip, ip, json_integer(ps->rec_line));
}

static void on_field(void *data, size_t len, void *arg)
{
    struct parse *ps = arg;
    if (!ps->in_record) {
        ps->in_record = true;
        ps->rec_line = ps->start_line;
        ps->nfields = 0;
    }
    if (ps->nfields < CSV_IMPORT_MAX_COLS) {
        size_t n = WARD_MIN(len, (size_t)CSV_IMPORT_MAX_FIELD);
        if (data && n)
            memcpy(ps->field[ps->nfields], data, n);
        ps->field[ps->nfields][n] = '\0';
        /* A NUL inside a field would cut it silently: treat it as too long/bad. */
        ps->too_long[ps->nfields] = len > CSV_IMPORT_MAX_FIELD || (data && memchr(data, 0, n));
    }
    ps->nfields++;
}

static void on_record(int term, void *arg)
{
    struct parse *ps = arg;
    (void)term;
    if (!ps->in_record) {
        ps->rec_line = ps->start_line;
        ps->nfields = 0;
    }
    ps->in_record = false;
    if (ps->fatal)
        return;
    if (!ps->header_done && ps->nfields == 0)
        return; /* blank lines before the header */
    if (!ps->header_done)
        do_header(ps);
    else
        do_row(ps);
}

int csv_import_parse(const char *text, size_t len, json_t **rows, json_t **errors, char *err,
                     size_t errcap)
{
    struct csv_parser p;
    struct parse *ps;
    int rc = 0;

    *rows = NULL;
    *errors = NULL;
    if (errcap)
        err[0] = '\0';
    if (len > CSV_IMPORT_MAX_BYTES) {
        snprintf(err, errcap, "the file is larger than %u bytes", CSV_IMPORT_MAX_BYTES);
        return -EFBIG;
    }
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return -ENOMEM;
    ps->rows = json_array();
    ps->errors = json_array();
    ps->seen_mac = json_object();
    ps->seen_ip = json_object();
    ps->err = err;
    ps->errcap = errcap;
    if (!ps->rows || !ps->errors || !ps->seen_mac || !ps->seen_ip ||
        csv_init(&p, CSV_APPEND_NULL) != 0) {
        rc = -ENOMEM;
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    struct rd r = rd_make((const uint8_t *)text, len);
    const uint8_t *bom;
    if (rd_left(&r) >= 3 && rd_peek_ptr(&r)[0] == 0xef && rd_peek_ptr(&r)[1] == 0xbb &&
        rd_peek_ptr(&r)[2] == 0xbf && !rd_bytes(&r, 3, &bom))
        goto out_fini;
    ps->line = 0;
    while (rd_left(&r) > 0 && !ps->fatal) {
        size_t n = 0;
        uint8_t c;
        while (rd_peek_u8(&r, n, &c) && c != '\n')
            n++;
        if (n < rd_left(&r))
            n++; /* the newline goes with its line */
        const uint8_t *chunk;
        if (!rd_bytes(&r, n, &chunk))
            break;
        ps->line++;
        /* libcsv's state 0 (ROW_NOT_BEGUN): whatever comes next starts on this line. */
        if (p.pstate == 0 && !ps->in_record)
            ps->start_line = ps->line;
        if (csv_parse(&p, chunk, n, on_field, on_record, ps) != n) {
            fatal(ps, -EINVAL, "line %u: %s", ps->line, csv_strerror(csv_error(&p)));
            break;
        }
    }
    if (!ps->fatal)
        csv_fini(&p, on_field, on_record, ps);
out_fini:
    csv_free(&p);
    if (ps->fatal) {
        rc = ps->fatal;
    } else if (!ps->header_done) {
        rc = -EINVAL;
        snprintf(err, errcap, "no header row (columns: ip, mac, hostname, ...)");
    }
out:
    if (rc == 0) {
        *rows = ps->rows;
        *errors = ps->errors;
    } else {
        json_decref(ps->rows);
        json_decref(ps->errors);
    }
    json_decref(ps->seen_mac);
    json_decref(ps->seen_ip);
    free(ps);
    return rc;
}
