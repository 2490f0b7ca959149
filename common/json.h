/*
 * json -- Ward's JSON, through jansson.  Every module that reads or writes JSON
 * includes this header rather than <jansson.h>, so the library stays behind one
 * door.  The helpers below are the few idioms repeated across programs.
 */
#ifndef WARD_JSON_H
#define WARD_JSON_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "ward.h"

/* Writes j as one compact line with '\n' to f.  0 or -EIO. */
int json_write_line(FILE *f, const json_t *j);
/* j[key] as a string, or def if absent or not a string.  Borrowed from j. */
const char *json_str(const json_t *j, const char *key, const char *def);
/* j[key] as an unsigned integer, or def. */
uint64_t json_u64(const json_t *j, const char *key, uint64_t def);
/* Sets j[key] = integer; values past INT64_MAX are clamped. */
void json_set_u64(json_t *j, const char *key, uint64_t v);
/* Sets j[key] = ISO-8601 UTC time of usec (common/clock.h). */
void json_set_time(json_t *j, const char *key, uint64_t usec);

#endif
