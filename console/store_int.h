/*
 * store_int -- what the store_<area>.c family shares with store.c.  Not for the
 * rest of the console: everything else goes through store.h and the area headers.
 */
#ifndef WARD_STORE_INT_H
#define WARD_STORE_INT_H

#include <sqlite3.h>

#include "json.h"
#include "store.h"

/* The connection, borrowed. */
sqlite3 *store_db(struct store *st);
/* Maps the last SQLite error to a negative errno and logs it with what. */
int store_fail(struct store *st, const char *what);
/* Prepares (cached by SQL text pointer); the statement is reset by the caller. */
sqlite3_stmt *store_prepare(struct store *st, const char *sql);
/* Steps s, which must return no rows, then resets it and clears its bindings.
 * 0, or store_fail(st, what). */
int store_step_done(struct store *st, sqlite3_stmt *s, const char *what);
/* Resets s and clears its bindings (after reading the rows a caller wanted). */
void store_stmt_done(sqlite3_stmt *s);
/* Copies column col of the current row as text into out (cap bytes; "" for NULL). */
void store_col_text(sqlite3_stmt *s, int col, char *out, size_t cap);
/* Binds text, or NULL as SQL NULL (SQLITE_TRANSIENT).  SQLite's return code. */
int store_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Rows changed by the last statement. */
int store_changes(struct store *st);

/*
 * The columns store_events_row_json() reads, in order, from events e joined with
 * the event's sensors s: SELECT ..., STORE_EVENT_COLS FROM events e JOIN sensors s
 * ON s.id = e.sensor_id.  STORE_EVENT_BODY is e.body's place among them.
 */
#define STORE_EVENT_COLS                                                                 \
    "e.uid, e.revision, e.subtype, e.src, e.dst, e.first_usec, e.last_usec, e.packets,"  \
    " e.bytes, e.count, e.severity, e.confidence, e.closed, e.summary, e.body, s.name"
#define STORE_EVENT_BODY 14
/*
 * The event of the current row of s, whose STORE_EVENT_COLS start at column col,
 * as a new JSON object in the shape of common/event_json.h ({"error": ...} if the
 * stored row cannot be read).  NULL if out of memory.
 */
json_t *store_events_row_json(sqlite3_stmt *s, int col);

#endif
