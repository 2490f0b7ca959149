/*
 * oui -- see oui.h.
 *
 * Entries hold the prefix as the top `bits` bits of the 48-bit address (the rest
 * zero) and an offset into one string pool.  The array is sorted by (bits,
 * prefix) after each file, so a lookup masks the address three ways and does a
 * binary search for each, longest prefix first.
 */
#include "oui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rd.h"

struct oui_entry {
    uint64_t prefix; /* top `bits` bits of the address, rest zero */
    uint32_t name;   /* offset of the vendor name in the pool */
    uint8_t bits;    /* 24, 28 or 36 */
};

struct oui_db {
    struct oui_entry *e; /* sorted by (bits, prefix) */
    size_t count;        /* entries in use */
    size_t cap;          /* allocated */
    char *pool;          /* NUL-terminated names */
    size_t pool_len;     /* bytes used */
    size_t pool_cap;     /* allocated */
    size_t bad;          /* lines that did not parse */
};

struct oui_db *oui_new(void)
{
    return calloc(1, sizeof(struct oui_db));
}

void oui_free(struct oui_db *db)
{
    if (!db)
        return;
    free(db->e);
    free(db->pool);
    free(db);
}

size_t oui_count(const struct oui_db *db)
{
    return db ? db->count : 0;
}

size_t oui_bad_lines(const struct oui_db *db)
{
    return db ? db->bad : 0;
}

/*
 * Reads one CSV field of a line (RFC 4180 quoting) into out (cut to cap-1 bytes).
 * Stops after the comma, or at the end of the line (*eol set).  False on a
 * malformed quoted field.
 */
static bool read_field(struct rd *line, char *out, size_t cap, bool *eol)
{
    size_t n = 0;
    uint8_t c;
    bool quoted = false;

    *eol = false;
    if (rd_peek_u8(line, 0, &c) && c == '"') {
        quoted = true;
        if (!rd_skip(line, 1))
            return false;
    }
    for (;;) {
        if (!rd_u8(line, &c)) {
            *eol = true;
            if (quoted)
                return false; /* unterminated quote */
            break;
        }
        if (quoted && c == '"') {
            uint8_t next;
            if (rd_peek_u8(line, 0, &next) && next == '"') {
                if (!rd_skip(line, 1))
                    return false;
            } else {
                quoted = false;
                continue;
            }
        } else if (!quoted && c == ',') {
            break;
        }
        if (n + 1 < cap && c != '\r')
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int add_entry(struct oui_db *db, uint64_t prefix, uint8_t bits, const char *name)
{
    if (db->count >= OUI_MAX_ENTRIES)
        return -ENOSPC;
    if (db->count == db->cap) {
        size_t ncap = db->cap ? db->cap * 2 : 4096;
        struct oui_entry *ne = reallocarray(db->e, ncap, sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        db->e = ne;
        db->cap = ncap;
    }
    size_t len = strlen(name);
    if (db->pool_len + len + 1 > db->pool_cap) {
        size_t ncap = db->pool_cap ? db->pool_cap * 2 : 65536;
        while (ncap < db->pool_len + len + 1)
            ncap *= 2;
        char *np = realloc(db->pool, ncap);
        if (!np)
            return -ENOMEM;
        db->pool = np;
        db->pool_cap = ncap;
    }
    memcpy(db->pool + db->pool_len, name, len + 1);
    db->e[db->count].prefix = prefix;
    db->e[db->count].bits = bits;
    db->e[db->count].name = (uint32_t)db->pool_len;
    db->count++;
    db->pool_len += len + 1;
    return 0;
}

/* Parses one data line; false if it is not a registry entry (header, junk). */
static bool parse_line(struct rd line, uint64_t *prefix, uint8_t *bits, char *name, size_t cap)
{
    char reg[16];
    char hex[16];
    bool eol;

    if (!read_field(&line, reg, sizeof(reg), &eol) || eol)
        return false;
    if (!read_field(&line, hex, sizeof(hex), &eol) || eol)
        return false;
    if (!read_field(&line, name, cap, &eol))
        return false;
    size_t n = strlen(hex);
    if (n != 6 && n != 7 && n != 9)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(hex[i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint64_t)h;
    }
    *bits = (uint8_t)(n * 4);
    *prefix = v << (48 - *bits);
    /* Trim blanks around the name; an empty name is no entry. */
    size_t len = strlen(name);
    while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
        name[--len] = '\0';
    size_t lead = strspn(name, " \t");
    memmove(name, name + lead, len - lead + 1);
    return name[0] != '\0';
}

static int cmp_entry(const void *a, const void *b)
{
    const struct oui_entry *x = a;
    const struct oui_entry *y = b;
    if (x->bits != y->bits)
        return x->bits < y->bits ? -1 : 1;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return 0;
}

int oui_parse(struct oui_db *db, const char *text, size_t len)
{
    struct rd r = rd_make((const uint8_t *)text, len);
    char name[OUI_NAME_MAX];
    int rc = 0;

    while (rd_left(&r) > 0) {
        /* Carve one line; quoted fields never span lines in the registry. */
        size_t n = 0;
        uint8_t c;
        while (rd_peek_u8(&r, n, &c) && c != '\n')
            n++;
        struct rd line;
        if (!rd_sub(&r, n, &line))
            break;
        if (rd_left(&r) > 0 && !rd_skip(&r, 1))
            break;
        if (n == 0)
            continue;
        uint64_t prefix;
        uint8_t bits;
        if (!parse_line(line, &prefix, &bits, name, sizeof(name))) {
            db->bad++;
            continue;
        }
        rc = add_entry(db, prefix, bits, name);
        if (rc < 0)
            break;
    }
    if (db->count > 0)
        qsort(db->e, db->count, sizeof(*db->e), cmp_entry);
    return rc;
}

int oui_load(struct oui_db *db, const char *path)
{
    int rc = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = -errno;
        log_err("oui: cannot open %s: %s", path, strerror(errno));
        return rc;
    }
    char *buf = malloc(OUI_MAX_FILE);
    if (!buf) {
        rc = -ENOMEM;
        goto out_close;
    }
    size_t n = fread(buf, 1, OUI_MAX_FILE, f);
    if (ferror(f)) {
        rc = -EIO;
        log_err("oui: cannot read %s", path);
        goto out_free;
    }
    if (n == OUI_MAX_FILE) {
        rc = -EFBIG;
        log_err("oui: %s is larger than %u bytes", path, OUI_MAX_FILE);
        goto out_free;
    }
    rc = oui_parse(db, buf, n);
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

int oui_load_dir(struct oui_db *db, const char *dir)
{
    static const char *const files[] = {"oui.csv", "mam.csv", "oui36.csv"};
    char path[4096];

    if (!dir)
        dir = OUI_DEFAULT_DIR;
    for (size_t i = 0; i < WARD_ARRAY_LEN(files); i++) {
        int n = snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            return -ENAMETOOLONG;
        if (i > 0) {
            FILE *f = fopen(path, "rb");
            if (!f)
                continue; /* optional finer-grained registries */
            fclose(f);
        }
        int rc = oui_load(db, path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const struct oui_entry *find(const struct oui_db *db, uint64_t prefix, uint8_t bits)
{
    size_t lo = 0;
    size_t hi = db->count;
    struct oui_entry key = {.prefix = prefix, .bits = bits};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_entry(&db->e[mid], &key);
        if (c == 0)
            return &db->e[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *oui_lookup(const struct oui_db *db, const uint8_t mac[6])
{
    static const uint8_t lens[] = {36, 28, 24};

    if (!db || db->count == 0 || (mac[0] & 0x03) != 0)
        return NULL;
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | mac[i];
    for (size_t i = 0; i < WARD_ARRAY_LEN(lens); i++) {
        uint64_t mask = ~0ULL << (48 - lens[i]) & 0xffffffffffffULL;
        const struct oui_entry *e = find(db, v & mask, lens[i]);
        if (e)
            return db->pool + e->name;
    }
    return NULL;
}
