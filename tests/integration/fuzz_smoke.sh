#!/bin/bash
# fuzz_smoke -- a short libFuzzer run of every fuzz target from its committed corpus
# (tests/fuzz/smoke.sh), as part of make test.  Needs clang with libFuzzer; without
# it the run is skipped, loudly.  The fuzz build goes to $WARD_BUILD/fuzz-smoke so
# it never disturbs the main build.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: fuzz smoke: clang is not installed (deploy/install-deps.sh installs it)"
    exit 0
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
    echo "SKIP: fuzz smoke: clang cannot link libFuzzer (install libclang-rt-14-dev)"
    exit 0
fi
FB="$BUILD/fuzz-smoke"
if ! make -C "$SRC" -j2 BUILD="$FB" CC=clang SANITIZE=address,undefined FUZZ=1 OPT="-O1 -g" \
    fuzz-bins >"$probe/build.log" 2>&1; then
    echo "FAIL: fuzz smoke: the fuzz build failed"
    tail -20 "$probe/build.log"
    exit 0
fi
"$SRC/tests/fuzz/smoke.sh" "$FB" "${WARD_FUZZ_RUNS:-20000}"
exit 0
