/*
 * fuzz_manifest -- an evidence bundle's manifest.json as `wardctl evidence
 * verify` reads it: vault_verify_manifest() with no signature and files that
 * hash to a fixed value, so the JSON walk and every custody chain check run on
 * arbitrary bytes.
 */
#include "fuzz.h"

#include <string.h>

#include "vault.h"

static int fake_hash(void *arg, const char *name, char out_hex[65], uint64_t *size)
{
    (void)arg;
    if (!strcmp(name, "missing.pcap"))
        return -2;
    memset(out_hex, 'a', 64);
    out_hex[64] = '\0';
    *size = 24;
    return 0;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static const uint8_t sig[64];
    json_t *report = NULL;
    if (size > (64u << 10))
        return 0;
    if (vault_verify_manifest(data, size, size % 2 ? sig : NULL, NULL, fake_hash, NULL,
                              &report) == 0)
        json_decref(report);
    return 0;
}
