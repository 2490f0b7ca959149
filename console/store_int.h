/*
 * store_int -- what the store_<area>.c family shares with store.c.  Not for the
 * rest of the console: everything else goes through store.h and the area headers.
 */
#ifndef WARD_STORE_INT_H
#define WARD_STORE_INT_H

#include <sqlite3.h>

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

#endif
