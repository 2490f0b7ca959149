/*
 * fuzz_targets -- the fuzz targets replay.c drives.  Add a line per new
 * tests/fuzz/fuzz_<target>.c (and its corpus folder tests/fuzz/corpus/<target>/).
 */
#ifndef WARD_FUZZ_TARGETS_H
#define WARD_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

int fuzz_envelope_one(const uint8_t *data, size_t size);
int fuzz_config_one(const uint8_t *data, size_t size);
int fuzz_decode_one(const uint8_t *data, size_t size);
int fuzz_spool_one(const uint8_t *data, size_t size);
int fuzz_control_one(const uint8_t *data, size_t size);
int fuzz_csv_one(const uint8_t *data, size_t size);
int fuzz_manifest_one(const uint8_t *data, size_t size);
int fuzz_asset_one(const uint8_t *data, size_t size);
int fuzz_detect_one(const uint8_t *data, size_t size);
int fuzz_ioc_pushed_one(const uint8_t *data, size_t size);
int fuzz_savefile_one(const uint8_t *data, size_t size);

static const struct {
    const char *name;                        /* corpus folder */
    int (*fn)(const uint8_t *data, size_t size); /* entry point */
} fuzz_targets[] = {
    {"envelope", fuzz_envelope_one},
    {"config", fuzz_config_one},
    {"decode", fuzz_decode_one},
    {"spool", fuzz_spool_one},
    {"control", fuzz_control_one},
    {"csv", fuzz_csv_one},
    {"manifest", fuzz_manifest_one},
    {"asset", fuzz_asset_one},
    {"detect", fuzz_detect_one},
    {"ioc_pushed", fuzz_ioc_pushed_one},
    {"savefile", fuzz_savefile_one},
};

#endif
