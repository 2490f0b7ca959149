#!/bin/bash
# transport_commands -- a command from the console (wardctl release) is signed,
# routed to the connected sensor that reported the host, verified by its uplink
# and handed to the sensor's command handler.
. "$WARD_SRC/tests/lib/transport_env.sh"

tx_keygen s1
tx_console_start || { tx_fail "commands: console did not start"; exit 0; }
tx_enrol s1
tx_loadgen_bg lg s1 --count 4000 --rate 500 --close-ms 5000
LG=$LG_PID
tx_wait_rows 100 20 || { tx_fail "commands: events do not arrive"; exit 0; }
# Event 5's source is 10.0.0.5 (ward-loadgen numbers its sources).
if "$WARDCTL" -s "$CTL" release 10.0.0.5 >"$T/release.out" 2>&1; then
    tx_pass "commands: the console sent the release ($(head -1 "$T/release.out"))"
else
    tx_fail "commands: wardctl release failed: $(cat "$T/release.out")"
fi
for i in $(seq 1 50); do
    grep -q "command [0-9]* kind 5 host 10.0.0.5" "$T/lg.err" && break
    sleep 0.1
done
grep -q "command [0-9]* kind 5 host 10.0.0.5" "$T/lg.err" \
    && tx_pass "commands: the sensor verified the console's signature and ran the release" \
    || tx_fail "commands: the sensor never ran the release: $(grep -i command "$T/lg.err" | head -3)"
kill $LG 2>/dev/null
tx_wait_pid $LG 10 >/dev/null
tx_console_stop
exit 0
