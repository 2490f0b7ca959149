#!/bin/bash
# transport_sensor_kill -- a sensor is killed with SIGKILL mid-stream and
# restarted on the same spool: its sequence continues, nothing is lost and
# nothing is stored twice.
. "$WARD_SRC/tests/lib/transport_env.sh"

N=50000
tx_keygen s1
tx_console_start || { tx_fail "sensor kill: console did not start"; exit 0; }
tx_enrol s1
tx_loadgen_bg lg1 s1 --count $N --rate 20000 --close-ms 30000
LG=$LG_PID
if ! tx_wait_rows 10000 30; then
    tx_fail "sensor kill: fewer than 10000 rows before the kill ($(tx_rows))"
    exit 0
fi
# Freeze the console so the sensor's spool holds unacknowledged batches, then kill it.
kill -STOP $CONSOLE_PID
sleep 0.5
kill -9 $LG
wait $LG 2>/dev/null
kill -CONT $CONSOLE_PID
sleep 0.5
before=$(tx_rows)
echo "killed the sensor with $before rows stored"
[ "$before" -lt $N ] && tx_pass "sensor kill: the kill came mid-stream ($before of $N stored)" \
    || tx_fail "sensor kill: the stream was over before the kill"
tx_loadgen_bg lg2 s1 --count $N --close-ms 30000
LG=$LG_PID
if tx_wait_pid $LG 60; then
    tx_pass "sensor kill: the restarted sensor finished with everything acknowledged"
else
    tx_fail "sensor kill: the restarted sensor did not finish ($(cat "$T/lg2.out"))"
fi
if grep -q "resuming at event" "$T/lg2.err"; then
    tx_pass "sensor kill: the restarted sensor resumed its sequence ($(grep -o 'resuming at event [0-9]*' "$T/lg2.err"))"
else
    tx_fail "sensor kill: the restarted sensor started from scratch"
fi
if grep -q "spool holds [1-9][0-9]* unacknowledged" "$T/lg2.err"; then
    tx_pass "sensor kill: the restarted sensor resent its unacknowledged batches ($(grep -o 'spool holds [0-9]* unacknowledged batches' "$T/lg2.err"))"
else
    tx_fail "sensor kill: no unacknowledged batches were found in the spool at restart"
fi
tx_check_exact s1 $N "sensor kill"
cat "$T/lg2.out"
tx_console_stop
exit 0
