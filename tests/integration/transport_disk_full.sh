#!/bin/bash
# transport_disk_full -- the console's database volume (a small tmpfs) fills up
# mid-stream: the console stops acknowledging, says why, and once space returns
# resumes without losing or doubling anything.
. "$WARD_SRC/tests/lib/transport_env.sh"

N=60000
mkdir -p "$DATA"
if ! mount -t tmpfs -o size=3m,mode=0750 tmpfs "$DATA" 2>/dev/null; then
    echo "SKIP: disk full: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)"
    exit 0
fi
TX_MOUNTS="$DATA"
tx_keygen s1
tx_console_start || { tx_fail "disk full: console did not start"; exit 0; }
tx_enrol s1
tx_loadgen_bg lg s1 --count $N --rate 20000 --close-ms 60000 --ack-timeout-ms 1000
LG=$LG_PID
for i in $(seq 1 300); do
    grep -q "cannot store batches" "$T/console.log" && break
    sleep 0.1
done
if grep -q "cannot store batches (No space left on device)" "$T/console.log"; then
    tx_pass "disk full: the console says why it stopped acknowledging"
else
    tx_fail "disk full: no 'cannot store batches' line ($(tx_rows) rows)"
    exit 0
fi
sleep 1
r1=$(tx_rows)
sleep 1
r2=$(tx_rows)
[ "$r1" = "$r2" ] && [ "$r1" -lt $N ] && tx_pass "disk full: nothing more stored while full ($r1 rows)" \
    || tx_fail "disk full: rows moved while full: $r1 -> $r2"
kill -0 $LG 2>/dev/null && tx_pass "disk full: the sensor is still holding its spool" \
    || tx_fail "disk full: the sensor finished while the console was full"
# Once per outage: a batch that still fits in space a rollback freed ends one
# ("storage works again") and the next failure starts another, but a failure is
# never logged twice in a row.
n=$(grep -oE "cannot store batches|storage works again" "$T/console.log" | uniq -c |
    awk '$1 > 1 && /cannot/ { print $1 }')
[ -z "$n" ] && tx_pass "disk full: the condition is logged once per outage" \
    || tx_fail "disk full: logged $n times in a row"
mount -o remount,size=256m "$DATA" || tx_fail "disk full: cannot grow the volume"
if tx_wait_pid $LG 60; then
    tx_pass "disk full: the sensor saw everything acknowledged after space returned"
else
    tx_fail "disk full: the sensor did not finish: $(cat "$T/lg.out")"
fi
grep -q "storage works again" "$T/console.log" && tx_pass "disk full: the console says it resumed" \
    || tx_fail "disk full: no resume line"
tx_check_exact s1 $N "disk full"
tx_console_stop
exit 0
