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

#endif
