/*
 * replay -- feeds every file of tests/fuzz/corpus/<target>/ through that target's
 * entry point in an ordinary build, so `make test` and `make check-asan` exercise
 * the committed corpora (crash reproducers included) without clang's libFuzzer.
 *
 * Each fuzz_<target>.c is compiled with -DFUZZ_NAME=fuzz_<target> and, outside
 * WARD_FUZZING builds, renames its LLVMFuzzerTestOneInput to <FUZZ_NAME>_one via
 * tests/fuzz/fuzz.h; the table below lists them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_targets.h"

static int replay_dir(const char *root, const char *name, int (*fn)(const uint8_t *, size_t))
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", root, name);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        fn(buf, n);
        files++;
    }
    closedir(d);
    printf("ok %s: %d inputs\n", name, files);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
    int rc = 0;
    for (size_t i = 0; i < sizeof(fuzz_targets) / sizeof(fuzz_targets[0]); i++) {
        if (replay_dir(root, fuzz_targets[i].name, fuzz_targets[i].fn) < 0)
            rc = 1;
    }
    return rc;
}
