#!/bin/bash
# smoke.sh FUZZBUILD [RUNS] -- runs every libFuzzer target built under FUZZBUILD
# (make fuzz puts them in FUZZBUILD/fuzz/) for a fixed number of runs, starting
# from its committed corpus, and prints PASS/FAIL per target.  New inputs go to a
# scratch directory, never into the committed corpus.  Exit status 1 if any failed.
set -u
FB=${1:-build/fuzz}
RUNS=${2:-20000}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
found=0
for f in "$FB"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    case "$f" in *.d|*.o) continue ;; esac
    found=1
    name=$(basename "$f")
    target=${name#fuzz_}
    corpus="$SRC/tests/fuzz/corpus/$target"
    work="$scratch/$target"
    mkdir -p "$work"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
    log="$scratch/$target.log"
    if timeout 120 "$f" -runs="$RUNS" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
        "$work" >"$log" 2>&1; then
        echo "PASS: fuzz $target: $RUNS runs"
    else
        echo "FAIL: fuzz $target: see below"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -10 | sed 's/^/    /'
        fail=1
    fi
done
if [ "$found" -eq 0 ]; then
    echo "FAIL: fuzz smoke: no fuzz targets under $FB/fuzz (run make fuzz)"
    exit 1
fi
exit $fail
