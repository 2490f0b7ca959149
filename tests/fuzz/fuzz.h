/*
 * fuzz -- what every tests/fuzz/fuzz_<target>.c includes first.
 *
 * In libFuzzer builds (make fuzz, -DWARD_FUZZING) the harness defines
 * LLVMFuzzerTestOneInput.  In ordinary builds the same function is renamed
 * <target>_one so that tests/fuzz/replay.c can call every target.
 */
#ifndef WARD_FUZZ_H
#define WARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_CAT2(a, b) a##b
#define FUZZ_CAT(a, b) FUZZ_CAT2(a, b)

#ifdef WARD_FUZZING
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#else
#define FUZZ_ENTRY FUZZ_CAT(FUZZ_NAME, _one)
#endif

int FUZZ_ENTRY(const uint8_t *data, size_t size);

#endif
