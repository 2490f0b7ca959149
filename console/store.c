/*
 * store -- the console's SQLite connection: WAL, busy timeout, the statement
 * cache, nested transactions and the mapping of SQLite errors to errno values.
 *
 * Only this file and the store_<area>.c family include <sqlite3.h>.  The schema of
 * the core tables (sensors, events) is created here at open; every other console
 * module creates its own tables from its init through store_exec().  Prepared
 * statements are cached by the address of their SQL text, so callers pass string
 * literals (or other text that lives as long as the store).  Console thread only.
 */
#include "store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_STMT_CAP 512 /* distinct statements one console may cache */
#define STORE_TX_MAX_DEPTH 32
#define STORE_WAL_CHECKPOINT_BYTES (32 << 20) /* WAL between automatic checkpoints */

struct store_stmt {
    const char *sql;    /* key: the caller's SQL text (by address) */
    sqlite3_stmt *stmt; /* prepared statement */
};

struct store {
    sqlite3 *db;                              /* the connection */
    unsigned tx_depth;                        /* 0 outside a transaction; >1 in savepoints */
    size_t stmt_count;                        /* cached statements */
    struct store_stmt stmts[STORE_STMT_CAP];  /* open-addressed by SQL address */
};

static const char core_schema[] =
    "CREATE TABLE IF NOT EXISTS sensors ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " curve_pk BLOB NOT NULL UNIQUE,"
    " sign_pk BLOB NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0,"
    " enrolled_usec INTEGER NOT NULL,"
    " revoked_usec INTEGER NOT NULL DEFAULT 0,"
    " last_heartbeat_usec INTEGER NOT NULL DEFAULT 0,"
    " acked_seq INTEGER NOT NULL DEFAULT 0,"
    " sensor_next_seq INTEGER NOT NULL DEFAULT 0,"
    " spool_records INTEGER NOT NULL DEFAULT 0,"
    " spool_dropped INTEGER NOT NULL DEFAULT 0,"
    " packets INTEGER NOT NULL DEFAULT 0,"
    " kernel_drops INTEGER NOT NULL DEFAULT 0,"
    " silent INTEGER NOT NULL DEFAULT 0,"
    " silent_since_usec INTEGER NOT NULL DEFAULT 0,"
    " heartbeat TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY,"
    " sensor_id INTEGER NOT NULL REFERENCES sensors(id),"
    " uid TEXT NOT NULL,"
    " revision INTEGER NOT NULL,"
    " seq INTEGER NOT NULL DEFAULT 0,"
    " kind TEXT NOT NULL,"
    " subtype TEXT NOT NULL DEFAULT '',"
    " src TEXT NOT NULL DEFAULT '',"
    " dst TEXT NOT NULL DEFAULT '',"
    " first_usec INTEGER NOT NULL,"
    " last_usec INTEGER NOT NULL,"
    " received_usec INTEGER NOT NULL,"
    " packets INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " count INTEGER NOT NULL DEFAULT 0,"
    " severity INTEGER NOT NULL DEFAULT 0,"
    " confidence INTEGER NOT NULL DEFAULT 0,"
    " closed INTEGER NOT NULL DEFAULT 0,"
    " summary TEXT NOT NULL DEFAULT '',"
    " body BLOB NOT NULL,"
    " UNIQUE (sensor_id, uid));"
    "CREATE INDEX IF NOT EXISTS events_last ON events(last_usec);"
    "CREATE INDEX IF NOT EXISTS events_kind ON events(kind, last_usec);"
    "CREATE INDEX IF NOT EXISTS events_src ON events(src);"
    "CREATE INDEX IF NOT EXISTS events_dst ON events(dst);";

/*
 * Databases written before events.body held the event as protobuf have its JSON
 * text in a column named json: renamed to body, where readers take either.
 */
static int migrate_event_body(struct store *st)
{
    static const char probe[] =
        "SELECT 1 FROM pragma_table_info('events') WHERE name = 'json'";
    sqlite3_stmt *s = store_prepare(st, probe);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    bool old = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "events: schema");
    store_stmt_done(s);
    if (rc || !old)
        return rc;
    log_info("store: events.json renamed to events.body (new rows hold protobuf)");
    return store_exec(st, "ALTER TABLE events RENAME COLUMN json TO body");
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

int store_fail(struct store *st, const char *what)
{
    int code = sqlite3_extended_errcode(st->db);
    int sys = sqlite3_system_errno(st->db);
    int rc;

    switch (code & 0xff) {
    case SQLITE_FULL:
        rc = -ENOSPC;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        rc = -EBUSY;
        break;
    case SQLITE_NOMEM:
        rc = -ENOMEM;
        break;
    case SQLITE_CONSTRAINT:
        rc = -EEXIST;
        break;
    case SQLITE_READONLY:
        rc = -EROFS;
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        rc = sys ? -sys : -EACCES;
        break;
    case SQLITE_TOOBIG:
        rc = -E2BIG;
        break;
    case SQLITE_IOERR:
        /* A full disk often surfaces as a write error; the OS errno says which. */
        rc = sys == ENOSPC || sys == EDQUOT ? -ENOSPC : -EIO;
        break;
    default:
        rc = -EIO;
        break;
    }
    log_err("store: %s: %s (sqlite %d%s%s)", what, sqlite3_errmsg(st->db), code,
            sys ? ", " : "", sys ? strerror(sys) : "");
    return rc;
}

static size_t stmt_slot(const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ULL & UINTPTR_MAX;
    return (size_t)(h % STORE_STMT_CAP);
}

sqlite3_stmt *store_prepare(struct store *st, const char *sql)
{
    size_t i = stmt_slot(sql);
    for (size_t n = 0; n < STORE_STMT_CAP; n++, i = (i + 1) % STORE_STMT_CAP) {
        struct store_stmt *s = &st->stmts[i];
        if (s->sql == sql) {
            sqlite3_reset(s->stmt);
            sqlite3_clear_bindings(s->stmt);
            return s->stmt;
        }
        if (!s->sql)
            break;
    }
    /* Keep the table under 3/4 full so probes stay short. */
    if (st->stmt_count >= STORE_STMT_CAP * 3 / 4) {
        log_err("store: more than %d distinct statements; raise STORE_STMT_CAP",
                STORE_STMT_CAP * 3 / 4);
        return NULL;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        char what[96];
        snprintf(what, sizeof(what), "cannot prepare \"%.60s\"", sql);
        store_fail(st, what);
        return NULL;
    }
    i = stmt_slot(sql);
    while (st->stmts[i].sql)
        i = (i + 1) % STORE_STMT_CAP;
    st->stmts[i].sql = sql;
    st->stmts[i].stmt = stmt;
    st->stmt_count++;
    return stmt;
}

/*
 * Transaction control ("BEGIN IMMEDIATE", "COMMIT", "SAVEPOINT s1", a module's
 * own savepoint) runs several times per stored batch and per audit entry, and
 * sqlite3_exec() parses it every time.  Such statements are interned here, for
 * the life of the process, so the statement cache (keyed by a stable pointer)
 * can keep them prepared.  Console thread only, like the rest of the store.
 */
#define EXEC_INTERN_MAX 48
#define EXEC_INTERN_LEN 48

static const char *exec_intern(const char *sql)
{
    static char interned[EXEC_INTERN_MAX][EXEC_INTERN_LEN];
    static size_t n;
    static const char *const verbs[] = {"BEGIN ", "COMMIT", "SAVEPOINT ", "RELEASE ",
                                        "ROLLBACK"};
    size_t len = strlen(sql);
    if (len >= EXEC_INTERN_LEN || strchr(sql, ';'))
        return NULL;
    bool control = false;
    for (size_t i = 0; i < WARD_ARRAY_LEN(verbs) && !control; i++)
        control = strncmp(sql, verbs[i], strlen(verbs[i])) == 0;
    if (!control)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(interned[i], sql) == 0)
            return interned[i];
    }
    if (n == EXEC_INTERN_MAX)
        return NULL;
    memcpy(interned[n], sql, len + 1);
    return interned[n++];
}

int store_exec(struct store *st, const char *sql)
{
    const char *key = exec_intern(sql);
    sqlite3_stmt *s = key ? store_prepare(st, key) : NULL;
    if (s) {
        int rc = sqlite3_step(s);
        int ret = 0;
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            char what[96];
            snprintf(what, sizeof(what), "cannot run \"%.60s\"", sql);
            ret = store_fail(st, what);
        }
        sqlite3_reset(s);
        return ret;
    }
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        char what[96];
        snprintf(what, sizeof(what), "cannot run \"%.60s\"", sql);
        return store_fail(st, what);
    }
    return 0;
}

/* Automatic checkpoints every STORE_WAL_CHECKPOINT_BYTES of WAL, whatever the page size. */
static int set_wal_checkpoint(struct store *st)
{
    sqlite3_stmt *s = NULL;
    int page = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        page = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (page <= 0)
        return store_fail(st, "cannot read the page size");
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint=%d", STORE_WAL_CHECKPOINT_BYTES / page);
    return store_exec(st, sql);
}

int store_open(const char *path, struct store **out)
{
    *out = NULL;
    struct store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int rc = 0;
    /*
     * No allocation statistics: SQLite takes a process-wide mutex on every one of
     * its allocations to keep them.  Only possible before SQLite initialises, so
     * only the first call in a process sets it (later ones would be refused).
     */
    static bool configured;
    if (!configured) {
        configured = true;
        (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        if (!st->db) {
            rc = -ENOMEM;
            goto out_free;
        }
        char what[300];
        snprintf(what, sizeof(what), "cannot open %s", path);
        rc = store_fail(st, what);
        goto out_close;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    /*
     * 16 KiB pages for a new database (one that exists keeps its page size; WAL
     * cannot change it): the events and incident tables grow by inserts into
     * several indexes each, and larger pages split less often and hold more
     * keys per level; bench-console spends about 8 % less CPU per event.
     */
    rc = store_exec(st, "PRAGMA page_size=16384");
    if (rc < 0)
        goto out_close;
    /*
     * WAL lets readers (sqlite3 CLI, reports) work beside the daemon.  FULL sync:
     * an acknowledged batch must survive power loss, not only a crash.
     */
    if (strcmp(path, ":memory:") != 0) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW) {
            sqlite3_finalize(s);
            rc = store_fail(st, "cannot switch to WAL");
            goto out_close;
        }
        const unsigned char *mode = sqlite3_column_text(s, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0)
            log_warn("store: %s: journal mode is %s, not WAL", path,
                     mode ? (const char *)mode : "?");
        sqlite3_finalize(s);
    }
    /*
     * Durability is unchanged by the next two.  A batch transaction touches many
     * pages (events, incidents, audit and their indexes): with SQLite's default
     * 2 MiB page cache it spills pages to the WAL before COMMIT and rereads them.
     * A larger WAL between automatic checkpoints lets pages that every batch
     * rewrites (index interiors, the incident and audit heads) be copied back to
     * the database once per checkpoint rather than once per few batches.
     * temp_store=MEMORY keeps statement and savepoint journals (what SQLite
     * needs to undo one statement or savepoint inside the open transaction,
     * never read after a crash) in memory instead of a temporary file.
     */
    rc = store_exec(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                        " PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;");
    if (rc == 0)
        rc = set_wal_checkpoint(st);
    if (rc < 0)
        goto out_close;
    rc = store_exec(st, core_schema);
    if (rc == 0)
        rc = migrate_event_body(st);
    if (rc < 0)
        goto out_close;
    *out = st;
    return 0;
out_close:
    sqlite3_close(st->db);
out_free:
    free(st);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->tx_depth) {
        log_warn("store: closing inside a transaction; rolling back");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    for (size_t i = 0; i < STORE_STMT_CAP; i++)
        sqlite3_finalize(st->stmts[i].stmt);
    if (sqlite3_close(st->db) != SQLITE_OK)
        log_warn("store: close: %s", sqlite3_errmsg(st->db));
    free(st);
}

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE (the write lock is taken at
 * once, so a busy database fails here rather than halfway through a batch); inner
 * ones are savepoints, so a module can undo its own part without the batch's.
 */
int store_begin(struct store *st)
{
    char sql[32];
    if (st->tx_depth >= STORE_TX_MAX_DEPTH) {
        log_err("store: transactions nested deeper than %d", STORE_TX_MAX_DEPTH);
        return -EOVERFLOW;
    }
    if (st->tx_depth == 0)
        snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT s%u", st->tx_depth);
    int rc = store_exec(st, sql);
    if (rc == 0)
        st->tx_depth++;
    return rc;
}

int store_commit(struct store *st)
{
    char sql[32];
    WARD_ASSERT(st->tx_depth > 0);
    if (st->tx_depth == 1)
        snprintf(sql, sizeof(sql), "COMMIT");
    else
        snprintf(sql, sizeof(sql), "RELEASE s%u", st->tx_depth - 1);
    int rc = store_exec(st, sql);
    if (rc == 0) {
        st->tx_depth--;
    } else if (st->tx_depth == 1 && sqlite3_get_autocommit(st->db)) {
        /* SQLite rolled the transaction back itself (e.g. disk full). */
        st->tx_depth = 0;
    }
    return rc;
}

void store_rollback(struct store *st)
{
    char sql[48];
    WARD_ASSERT(st->tx_depth > 0);
    if (st->tx_depth == 1)
        snprintf(sql, sizeof(sql), "ROLLBACK");
    else
        snprintf(sql, sizeof(sql), "ROLLBACK TO s%u; RELEASE s%u", st->tx_depth - 1,
                 st->tx_depth - 1);
    /* Reset cached statements first: an active reader would make ROLLBACK fail. */
    for (size_t i = 0; i < STORE_STMT_CAP; i++) {
        if (st->stmts[i].stmt)
            sqlite3_reset(st->stmts[i].stmt);
    }
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK &&
        !sqlite3_get_autocommit(st->db))
        log_err("store: rollback: %s", sqlite3_errmsg(st->db));
    st->tx_depth--;
    if (sqlite3_get_autocommit(st->db))
        st->tx_depth = 0;
}

bool store_in_tx(const struct store *st)
{
    return st->tx_depth > 0;
}

int store_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_fail(st, what);
    store_stmt_done(s);
    return ret;
}

void store_stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

void store_col_text(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int store_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    if (!text)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
}

int store_changes(struct store *st)
{
    return sqlite3_changes(st->db);
}
