#!/bin/bash
# run.sh BUILD -- runs every Ward test and ends with "N passed, N failed, N skipped".
#
#   unit tests     BUILD/tests/test_*       (cmocka; each test case counts)
#   fuzz replay    BUILD/tests/fuzz_replay  (every corpus file through every target)
#   integration    tests/integration/*.sh   (real processes; each PASS:/FAIL:/SKIP: line counts)
#
# An integration script prints "PASS: what", "FAIL: what: why" or "SKIP: what: why"
# lines and exits 0 when it ran (even if something failed: the FAIL lines count).
# A script that exits non-zero without a FAIL line counts as one failure.  SKIP is
# never a pass.  Set WARD_TEST_FILTER=pattern to run only matching tests, and
# WARD_TEST_TIMEOUT=seconds to change the per-script limit (600).
set -u
BUILD=${1:-build}
export WARD_BUILD=$(cd "$BUILD" && pwd)
export WARD_SRC=$(cd "$(dirname "$0")/.." && pwd)
FILTER=${WARD_TEST_FILTER:-}
LIMIT=${WARD_TEST_TIMEOUT:-600} # seconds one integration script may take
LOGDIR="$WARD_BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
failures=()

run_unit() {
    local t=$1 name log out p f
    name=$(basename "$t")
    log="$LOGDIR/$name.log"
    CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
    local rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or sanitizer abort
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$name (log: $log)")
        echo "FAIL  $name: $f failed, $p passed"
        grep -E '^\[  (FAILED|  ERROR) \]|^\[  ERROR   \]|ERROR|runtime error|Sanitizer' "$log" | head -20 | sed 's/^/      /'
    else
        echo "ok    $name: $p passed"
    fi
}

# Each script runs in a session of its own, so that whatever it started (daemons,
# processes inside network namespaces) is killed with it, even if the script was
# interrupted before its own cleanup; and under a time limit, so nothing hangs.
run_script() {
    local s=$1 name log rc p f k pid watchdog
    name=$(basename "$s" .sh)
    log="$LOGDIR/$name.log"
    setsid bash "$s" >"$log" 2>&1 &
    pid=$!
    (
        # The sleep must die with the watchdog: an orphaned sleep would keep every
        # descriptor this runner inherited (a caller's flock, a pipe) for LIMIT s.
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$LIMIT" &
        sleeper=$!
        wait "$sleeper"
        echo "FAIL: $name: still running after ${LIMIT}s; stopped" >>"$log"
        kill -TERM -- "-$pid" 2>/dev/null
        sleep 5
        kill -KILL -- "-$pid" 2>/dev/null
    ) &
    watchdog=$!
    wait "$pid"
    rc=$?
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    if kill -0 -- "-$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null
        sleep 0.5
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    p=$(grep -c '^PASS:' "$log")
    f=$(grep -c '^FAIL:' "$log")
    k=$(grep -c '^SKIP:' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "FAIL: $name exited with status $rc" >>"$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + k))
    if [ "$f" -gt 0 ]; then
        failures+=("$name (log: $log)")
        echo "FAIL  $name: $f failed, $p passed, $k skipped"
        grep -E '^FAIL:' "$log" | head -20 | sed 's/^/      /'
        tail -5 "$log" | sed 's/^/      | /'
    else
        echo "ok    $name: $p passed, $k skipped"
    fi
    grep -E '^SKIP:' "$log" | sed 's/^/      /'
}

echo "== unit tests"
for t in "$WARD_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue ;; esac
    [ -n "$FILTER" ] && [[ "$t" != *$FILTER* ]] && continue
    run_unit "$t"
done

if [ -x "$WARD_BUILD/tests/fuzz_replay" ] && { [ -z "$FILTER" ] || [[ fuzz_replay == *$FILTER* ]]; }; then
    echo "== fuzz corpus replay"
    log="$LOGDIR/fuzz_replay.log"
    if "$WARD_BUILD/tests/fuzz_replay" "$WARD_SRC/tests/fuzz/corpus" >"$log" 2>&1; then
        n=$(grep -c '^ok ' "$log")
        passed=$((passed + n))
        echo "ok    fuzz_replay: $n targets"
    else
        failed=$((failed + 1))
        failures+=("fuzz_replay (log: $log)")
        echo "FAIL  fuzz_replay"
        tail -20 "$log" | sed 's/^/      /'
    fi
fi

echo "== integration tests"
for s in "$WARD_SRC"/tests/integration/*.sh; do
    [ -f "$s" ] || continue
    [ -n "$FILTER" ] && [[ "$s" != *$FILTER* ]] && continue
    run_script "$s"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failed:"
    for f in "${failures[@]}"; do echo "  $f"; done
fi
if [ "$skipped" -gt 0 ]; then
    echo "SKIPPED: $skipped test(s) did not run (see SKIP lines above); they are not passes."
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
