/*
 * fuzz_ioc_pushed -- the console-pushed indicator file as the sensor reads it
 * back at start-up (detect_ioc_pushed_check: format, checksum, counts, every
 * indicator).  Each input is tried as it is and again with its trailing FNV-1a
 * checksum made right, so the fuzzer gets past the checksum into the parser.
 */
#include "fuzz.h"

#include <string.h>

#include "detect.h"

static uint8_t buf[64u << 10];

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size > sizeof(buf))
        return 0;
    uint64_t version;
    size_t count;
    int bad = 0;
    if (detect_ioc_pushed_check(data, size, 1024, &version, &count) == 0 && count > 1024)
        bad = 1;
    if (size < 8)
        return bad;
    memcpy(buf, data, size);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size - 8; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; i < 8; i++)
        buf[size - 8 + (size_t)i] = (uint8_t)(h >> (56 - 8 * i));
    if (detect_ioc_pushed_check(buf, size, 1024, &version, &count) == 0 && count > 1024)
        bad = 1;
    return bad;
}
