#!/bin/bash
# valgrind.sh BUILD -- runs every unit test under valgrind memcheck (errors and
# definite leaks fail) and ends with "N passed, N failed".  Suppressions, for
# third-party libraries only, are in tests/valgrind.supp.
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d | *.o) continue ;; esac
    name=$(basename "$t")
    log="$BUILD/test-logs/valgrind-$name.log"
    mkdir -p "$(dirname "$log")"
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --suppressions="$SRC/tests/valgrind.supp" "$t" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name (log: $log)"
        grep -m5 -E '==[0-9]+== [A-Z]' "$log" | sed 's/^/      /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
