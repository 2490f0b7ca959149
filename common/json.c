/*
 * json -- see json.h.
 */
#include "json.h"

#include <errno.h>
#include <stdlib.h>

#include "clock.h"

int json_write_line(FILE *f, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    int rc = fputs(s, f) < 0 || fputc('\n', f) < 0 ? -EIO : 0;
    free(s);
    return rc;
}

const char *json_str(const json_t *j, const char *key, const char *def)
{
    const json_t *v = json_object_get(j, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

uint64_t json_u64(const json_t *j, const char *key, uint64_t def)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return def;
    return (uint64_t)json_integer_value(v);
}

void json_set_u64(json_t *j, const char *key, uint64_t v)
{
    json_object_set_new(j, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

void json_set_time(json_t *j, const char *key, uint64_t usec)
{
    char buf[40];
    json_object_set_new(j, key, json_string(clock_format_iso(usec, buf, sizeof(buf))));
}
