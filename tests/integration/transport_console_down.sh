#!/bin/bash
# transport_console_down -- the console goes away for more than 30 s of packet
# time while the sensor keeps detecting; when it comes back, every event arrives,
# exactly once.  (ward-loadgen's events are 1 ms of packet time apart.)
. "$WARD_SRC/tests/lib/transport_env.sh"

N=40000
tx_keygen s1
tx_console_start || { tx_fail "console down: console did not start"; exit 0; }
tx_enrol s1
tx_loadgen_bg lg s1 --count $N --rate 10000 --close-ms 60000 --ack-timeout-ms 1000
LG=$LG_PID
tx_wait_rows 3000 20 || { tx_fail "console down: events do not arrive"; exit 0; }
tx_console_stop
before=$(tx_rows)
echo "console stopped with $before rows"
for i in $(seq 1 300); do
    grep -q "produced all" "$T/lg.err" && break
    sleep 0.1
done
grep -q "produced all" "$T/lg.err" || { tx_fail "console down: the sensor did not finish producing"; exit 0; }
[ "$(tx_rows)" = "$before" ] && tx_pass "console down: nothing stored while the console was down"
tx_console_start || { tx_fail "console down: console did not restart"; exit 0; }
if tx_wait_pid $LG 60; then
    tx_pass "console down: the sensor saw everything acknowledged"
else
    tx_fail "console down: the sensor did not finish: $(cat "$T/lg.out")"
fi
span=$(tx_sql "SELECT (max(first_usec) - min(first_usec)) / 1000000 FROM events WHERE seq > $before")
[ "${span:-0}" -ge 30 ] && tx_pass "console down: the outage covered $span s of packet time" \
    || tx_fail "console down: the outage covered only ${span:-0} s of packet time"
tx_check_exact s1 $N "console down"
cat "$T/lg.out"
tx_console_stop
exit 0
