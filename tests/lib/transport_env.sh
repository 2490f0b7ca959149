# transport_env.sh -- shared set-up for the transport fault tests
# (tests/integration/transport_*.sh).  Source it; it makes a scratch directory
# ($T) cleaned by a trap, a console identity, and helpers to start and kill a
# real ward-console, enrol sensors and run ward-loadgen.  Every wait is bounded.
#
#   tx_console_start         start ward-console on $PORT with data in $T/data
#   tx_console_kill9 / tx_console_stop
#   tx_keygen NAME           identity in $T/NAME
#   tx_enrol NAME            wardctl sensor add NAME
#   tx_loadgen NAME ARGS...  ward-loadgen for NAME (spool $T/spool-NAME)
#   tx_loadgen_bg TAG NAME ARGS...  the same in the background (LG_PID)
#   tx_rows [SQL-WHERE]      events rows in the database
#   tx_wait_rows N SECS      wait until at least N rows are stored
#   tx_pass / tx_fail        print PASS:/FAIL: lines

set -u
: "${WARD_BUILD:?run through tests/run.sh (WARD_BUILD unset)}"
: "${WARD_SRC:?run through tests/run.sh (WARD_SRC unset)}"
CONSOLE=$WARD_BUILD/ward-console
WARDCTL=$WARD_BUILD/wardctl
LOADGEN=$WARD_BUILD/tools/ward-loadgen
for b in "$CONSOLE" "$WARDCTL" "$LOADGEN"; do
    if [ ! -x "$b" ]; then
        echo "SKIP: $(basename "$0" .sh): $(basename "$b") is not built"
        exit 0
    fi
done
T=$(mktemp -d)
TX_PIDS=""
TX_MOUNTS=""
CONSOLE_PID=""

tx_cleanup() {
    for p in $TX_PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for p in $TX_PIDS; do
        wait "$p" 2>/dev/null
    done
    for m in $TX_MOUNTS; do
        umount "$m" 2>/dev/null
    done
    # Under make check-asan every process reports what the sanitizers found.
    local f
    for f in "$T"/*.log "$T"/*.err "$T"/*.out; do
        [ -f "$f" ] || continue
        if grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$f"; then
            echo "FAIL: $(basename "$0" .sh): sanitizer report in $(basename "$f")"
            grep -E -A8 "Sanitizer|runtime error:" "$f" | head -20
        fi
    done
    rm -rf "$T"
}
trap tx_cleanup EXIT
[ -n "${TX_KEEP:-}" ] && trap - EXIT

tx_pass() { echo "PASS: $*"; }
tx_fail() { echo "FAIL: $*"; }

. "$WARD_SRC/tests/lib/net.sh"
if ! PORT=$(free_port); then
    echo "SKIP: $(basename "$0" .sh): no free port on 127.0.0.1"
    exit 0
fi
EP=tcp://127.0.0.1:$PORT
DATA=$T/data
CTL=$T/ctl.sock
export WARD_SOCKET=$CTL

"$WARDCTL" keygen "$T/console" >/dev/null 2>&1

tx_keygen() {
    "$WARDCTL" keygen "$T/$1" >/dev/null 2>&1
}

# Starts the console in the foreground (background job); logs append to $T/console.log.
tx_console_start() {
    rm -f "$CTL"
    "$CONSOLE" -f --data-dir "$DATA" --listen "$EP" --control "$CTL" --keys "$T/console" \
        >>"$T/console.log" 2>&1 &
    CONSOLE_PID=$!
    TX_PIDS="$TX_PIDS $CONSOLE_PID"
    local i
    for i in $(seq 1 100); do
        [ -S "$CTL" ] && grep -q "ingest: listening on $EP" "$T/console.log" && return 0
        kill -0 "$CONSOLE_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    if [ -S "$CTL" ]; then
        echo "SKIP: $(basename "$0" .sh): this ward-console does not run ingest"
        exit 0
    fi
    return 1
}

tx_console_kill9() {
    kill -9 "$CONSOLE_PID" 2>/dev/null
    wait "$CONSOLE_PID" 2>/dev/null
}

tx_console_stop() {
    kill "$CONSOLE_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do
        kill -0 "$CONSOLE_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$CONSOLE_PID" 2>/dev/null
    wait "$CONSOLE_PID" 2>/dev/null
}

tx_enrol() {
    "$WARDCTL" -s "$CTL" sensor add "$1" "$T/$1/identity.pub" >/dev/null
}

tx_loadgen() {
    local name=$1
    shift
    "$LOADGEN" --name "$name" --keys "$T/$name" --console-key "$T/console/identity.pub" \
        --endpoint "$EP" --spool "$T/spool-$name" "$@"
}

# tx_loadgen_bg TAG NAME ARGS...: in the background, output in $T/TAG.out and
# $T/TAG.err; sets LG_PID to the loadgen's own pid.
tx_loadgen_bg() {
    local tag=$1 name=$2
    shift 2
    "$LOADGEN" --name "$name" --keys "$T/$name" --console-key "$T/console/identity.pub" \
        --endpoint "$EP" --spool "$T/spool-$name" "$@" >"$T/$tag.out" 2>"$T/$tag.err" &
    LG_PID=$!
    TX_PIDS="$TX_PIDS $LG_PID"
}

tx_rows() {
    local where=${1:-1}
    sqlite3 -cmd ".timeout 5000" "$DATA/ward.db" "SELECT count(*) FROM events WHERE $where" \
        2>/dev/null || echo 0
}

tx_sql() {
    sqlite3 -cmd ".timeout 5000" "$DATA/ward.db" "$1"
}

tx_wait_rows() {
    local n=$1 secs=$2 i
    for i in $(seq 1 $((secs * 10))); do
        [ "$(tx_rows)" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}

# Waits up to SECS for process PID to end; returns its status, or 124 on timeout.
tx_wait_pid() {
    local pid=$1 secs=$2 i
    for i in $(seq 1 $((secs * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            return $?
        fi
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
}

# Checks that sensor NAME's rows are exactly seq 1..N, each once, uid NAME-(seq-1).
tx_check_exact() {
    local name=$1 n=$2 what=$3 got
    got=$(tx_sql "SELECT count(*), count(DISTINCT e.seq), count(DISTINCT e.uid),
                         coalesce(min(e.seq),0), coalesce(max(e.seq),0),
                         sum(e.uid = '$name-' || (e.seq - 1))
                  FROM events e JOIN sensors s ON s.id = e.sensor_id WHERE s.name = '$name'")
    if [ "$got" = "$n|$n|$n|1|$n|$n" ]; then
        tx_pass "$what: exactly $n rows, seq 1..$n, no duplicates, no gaps"
    else
        tx_fail "$what: rows|distinct seq|distinct uid|min|max|uid matches seq = $got, want $n|$n|$n|1|$n|$n"
    fi
}
