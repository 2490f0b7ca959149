/*
 * store -- the console's SQLite database (WAL), opened once by the daemon.
 *
 * store.c owns the connection, transactions and the schema of the core tables
 * (sensors, events); the store_<area>.c family holds the SQL of each area and is
 * the only code besides store.c that includes <sqlite3.h>.  Every function logs
 * sqlite3_errmsg() with context on failure and returns a negative errno
 * (-ENOSPC when the disk is full, -EBUSY, -EIO otherwise).  Console thread only.
 */
#ifndef WARD_STORE_H
#define WARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

struct store;

/* Opens (creating) path, or ":memory:" for tests.  0 or negative errno. */
WARD_MUST_CHECK int store_open(const char *path, struct store **out);
void store_close(struct store *st);

/* Runs SQL that returns no rows (schema).  0 or negative errno. */
WARD_MUST_CHECK int store_exec(struct store *st, const char *sql);

WARD_MUST_CHECK int store_begin(struct store *st);
WARD_MUST_CHECK int store_commit(struct store *st);
void store_rollback(struct store *st);
bool store_in_tx(const struct store *st);

#endif
