#!/bin/bash
# transport_console_kill -- 100,000 events stream from a sensor; the console is
# killed with SIGKILL mid-stream and restarted.  Every event must be stored
# exactly once: 100,000 rows, sequence 1..100,000, no duplicates, no gaps.
. "$WARD_SRC/tests/lib/transport_env.sh"

N=100000
tx_keygen s1
tx_console_start || { tx_fail "console kill: console did not start"; exit 0; }
tx_enrol s1
tx_loadgen_bg loadgen s1 --count $N --rate 25000 --close-ms 60000 --ack-timeout-ms 1000
LG=$LG_PID

if ! tx_wait_rows 20000 30; then
    tx_fail "console kill: fewer than 20000 rows before the kill ($(tx_rows))"
    exit 0
fi
tx_console_kill9
before=$(tx_rows)
echo "killed the console with $before rows stored"
sleep 1
tx_console_start || { tx_fail "console kill: console did not restart"; exit 0; }
if tx_wait_pid $LG 60; then
    tx_pass "console kill: the sensor saw all $N events acknowledged"
else
    tx_fail "console kill: the sensor did not finish ($(cat "$T/loadgen.out"))"
fi
[ "$before" -lt $N ] && tx_pass "console kill: the kill came mid-stream ($before of $N stored)" \
    || tx_fail "console kill: the stream was over before the kill"
tx_check_exact s1 $N "console kill"
cat "$T/loadgen.out"
grep -E "uplink:" "$T/loadgen.err" | head -5
tx_console_stop
exit 0
