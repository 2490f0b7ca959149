#!/bin/bash
# bench_console.sh BUILD -- the console's durable ingest rate on the real path.
#
# Four ward-loadgen processes (the real uplink: numbering, batching, Ed25519,
# encrypted spool, CURVE) stream BENCH_EVENTS events in total at BENCH_RATE
# events/s in total into one ward-console (ZAP, signature checks, SQLite WAL,
# one transaction per batch, every console module) on a real disk.  Prints:
#   - durable events/s: events / (start of streaming .. last acknowledgement)
#   - p50/p99 latency from each message's creation (Message.created_usec, on
#     the sensor) to the commit of its batch, as measured by the console
#   - the console's CPU time (all its threads, user + system) per stored event,
#     which moves less than the rate when other work shares the machine
#   - the ratio to ward-storebench: the same rows through the same store calls
#     in one loop, no transport, in the same run.
# Then a saturation run (no rate limit) for the ceiling.
set -u
BUILD=${1:-build}
export WARD_BUILD=$(cd "$BUILD" && pwd)
export WARD_SRC=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_EVENTS:-400000}
RATE=${BENCH_RATE:-40000}
SENSORS=4
. "$WARD_SRC/tests/lib/transport_env.sh"
STOREBENCH=$WARD_BUILD/tools/ward-storebench
# A real disk, not a tmpfs /tmp, for the database.
BENCH_DIR=${BENCH_DIR:-$WARD_BUILD/bench-console}
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
DATA=$BENCH_DIR/data
trap 'tx_cleanup; rm -rf "$BENCH_DIR"' EXIT

# CPU time (user + system, in clock ticks) process PID has used so far.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

run_phase() { # run_phase LABEL RATE_PER_SENSOR
    local label=$1 rate=$2 pids="" p t0 t1 rows
    rm -rf "$DATA" "$T"/spool-*
    : >"$T/console.log"
    tx_console_start || { echo "bench-console: console did not start"; cat "$T/console.log"; exit 1; }
    for s in $(seq 1 $SENSORS); do tx_enrol b$s; done
    local c0 c1 hz
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$CONSOLE_PID")
    t0=$(date +%s.%N)
    for s in $(seq 1 $SENSORS); do
        tx_loadgen_bg $label-b$s b$s --count $((N / SENSORS)) --rate "$rate" --close-ms 120000
        pids="$pids $LG_PID"
    done
    for p in $pids; do
        tx_wait_pid "$p" 300 || echo "bench-console: a sensor did not finish ($label)"
    done
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$CONSOLE_PID")
    rows=$(tx_rows)
    tx_console_stop
    local lat
    lat=$(grep -o 'latency p50 [0-9]* us p99 [0-9]* us max [0-9]* us' "$T/console.log" | tail -1)
    p50=$(echo "$lat" | awk '{print $3}')
    p99=$(echo "$lat" | awk '{print $6}')
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    eps=$(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", r / s }')
    cpu_us=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v r="$rows" \
        'BEGIN { printf "%.1f", (r > 0) ? (b - a) / hz * 1e6 / r : 0 }')
    awk -v l="$label" -v r="$rows" -v s="$secs" -v e="$eps" -v a="${p50:-0}" -v b="${p99:-0}" -v c="$cpu_us" \
        'BEGIN { printf "%-11s %8d events stored in %6.2f s: %8d durable events/s; latency p50 %6.1f ms, p99 %6.1f ms; console CPU %.1f us/event\n", l, r, s, e, a / 1000, b / 1000, c }'
    [ "$rows" -eq "$N" ] || echo "bench-console: WARNING: $rows rows, want $N"
}

for s in $(seq 1 $SENSORS); do tx_keygen b$s; done
echo "bench-console: $SENSORS sensors, $N events; machine: $(nproc) cores, $(uname -r)"
run_phase paced $((RATE / SENSORS))
paced_eps=$eps
paced_p50=$p50
paced_p99=$p99
run_phase saturated 0
sat_eps=$eps
raw=$("$STOREBENCH" "$BENCH_DIR/raw.db" "$N" 1024 | sed -n 's/.*: \([0-9]*\) events\/s/\1/p')
echo "storebench:  same rows, same store calls, no transport: ${raw} events/s"
awk -v a="$sat_eps" -v b="$raw" 'BEGIN { printf "ratio:       saturated real path / store loop = %.2f\n", a / b }'
ok=yes
[ "$sat_eps" -ge 50000 ] || ok=no
[ "${paced_p99:-999999999}" -le 250000 ] || ok=no
echo "targets (>= 50000 durable events/s, p99 <= 250 ms at $RATE events/s offered): $ok"
