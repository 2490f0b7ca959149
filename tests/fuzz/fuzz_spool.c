/*
 * fuzz_spool -- spool segment files as the sensor reads them back at start-up
 * (spool_parse: record headers, resynchronisation, secretbox open, inner
 * header).  The key is derived from a fixed identity so that the committed seeds,
 * written by the real spool under that identity, decrypt.
 */
#include "fuzz.h"

#include <string.h>

#include "spool.h"

static void on_record(void *arg, uint64_t first_seq, uint32_t count, const uint8_t *env,
                      size_t len)
{
    size_t *sum = arg;
    *sum += (size_t)first_seq + count + len + (len ? env[0] : 0);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    struct keys_identity id;
    memset(&id, 0x42, sizeof(id));
    uint8_t key[32];
    spool_key(&id, key);
    size_t sum = 0, good = 0;
    (void)spool_parse(key, data, size, on_record, &sum, &good);
    return good > size ? 1 : 0;
}
