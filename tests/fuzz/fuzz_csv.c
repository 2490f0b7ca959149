/*
 * fuzz_csv -- asset register CSV text through csv_import_parse().
 */
#include "fuzz.h"

#include <errno.h>

#include "csv_import.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    json_t *rows = NULL;
    json_t *errors = NULL;
    char err[256];

    if (size > (64u << 10))
        return 0;
    int rc = csv_import_parse((const char *)data, size, &rows, &errors, err, sizeof(err));
    if (rc == 0 && (!json_is_array(rows) || !json_is_array(errors)))
        __builtin_trap();
    if (rc < 0 && (rows || errors || err[0] == '\0'))
        __builtin_trap(); /* a refusal always says why and returns nothing */
    json_decref(rows);
    json_decref(errors);
    return 0;
}
