#!/bin/bash
# transport_spool_cap -- the console is down long enough for the sensor's spool
# to reach its cap: the oldest unsent batches are dropped and counted, the drop
# is reported (heartbeat figure and a SpoolDrop message once the link is back),
# and everything else is delivered exactly once.
. "$WARD_SRC/tests/lib/transport_env.sh"

N=20000
tx_keygen s1
tx_console_start || { tx_fail "spool cap: console did not start"; exit 0; }
tx_enrol s1
tx_console_stop
tx_loadgen_bg lg s1 --count $N --rate 20000 --batch 100 --spool-max 262144 --heartbeat 1 \
    --linger-ms 2500 --close-ms 60000
LG=$LG_PID
for i in $(seq 1 300); do
    grep -q "produced all" "$T/lg.err" && break
    sleep 0.1
done
sleep 0.5
tx_console_start || { tx_fail "spool cap: console did not restart"; exit 0; }
if tx_wait_pid $LG 60; then
    tx_pass "spool cap: the sensor saw everything it kept acknowledged"
else
    tx_fail "spool cap: the sensor did not finish: $(cat "$T/lg.out")"
fi
dropped=$(sed -n 's/.*spool_dropped=\([0-9]*\).*/\1/p' "$T/lg.out")
rows=$(tx_rows)
echo "dropped=$dropped rows=$rows"
if [ "${dropped:-0}" -gt 0 ] && [ $((rows + dropped)) -eq $N ]; then
    tx_pass "spool cap: $dropped dropped + $rows stored = $N produced"
else
    tx_fail "spool cap: dropped=${dropped:-?} stored=$rows produced=$N"
fi
got=$(tx_sql "SELECT count(DISTINCT seq), min(seq), max(seq) FROM events")
[ "$got" = "$rows|$((dropped + 1))|$N" ] && tx_pass "spool cap: the oldest were dropped, the rest stored once" \
    || tx_fail "spool cap: distinct|min|max seq = $got, want $rows|$((dropped + 1))|$N"
grep -q "spool: full" "$T/lg.err" && tx_pass "spool cap: the sensor logged the drops" \
    || tx_fail "spool cap: the sensor did not log the drops"
grep -qE "sensor 's1' reports $dropped messages \(seq 1\.\.$dropped\) lost to a full spool" "$T/console.log" \
    && tx_pass "spool cap: the SpoolDrop report reached the console" \
    || tx_fail "spool cap: no SpoolDrop report in the console log"
hb=$(tx_sql "SELECT spool_dropped FROM sensors WHERE name = 's1'")
[ "$hb" = "$dropped" ] && tx_pass "spool cap: the heartbeat reports $hb dropped" \
    || tx_fail "spool cap: the heartbeat reports '$hb' dropped, want $dropped"
tx_console_stop
exit 0
