#!/bin/bash
# transport_hostile -- while a good sensor streams, the console is sent: an
# unenrolled key, a key revoked during its open connection, a batch signed with
# the wrong signing key, a replayed batch, a truncated protobuf and a 100 MB
# message.  Each is refused (or, for the replay, not stored again) and logged
# with the sensor and the reason, and the good sensor's events all arrive.
. "$WARD_SRC/tests/lib/transport_env.sh"

N=20000
for k in good s2 s3 evil stranger; do tx_keygen $k; done
tx_console_start || { tx_fail "hostile: console did not start"; exit 0; }
tx_enrol good
tx_enrol s2
tx_enrol s3
tx_loadgen_bg good good --count $N --rate 4000 --close-ms 30000
GOOD=$LG_PID
tx_loadgen_bg s3 s3 --count 1000000 --rate 500 --close-ms 1000 --heartbeat 1
S3=$LG_PID
tx_wait_rows 2000 20 || { tx_fail "hostile: the good sensor's events do not arrive"; exit 0; }

log_has() { # log_has PATTERN WHAT
    if grep -qE "$1" "$T/console.log"; then tx_pass "hostile: $2"; else tx_fail "hostile: $2: no log line matching '$1'"; fi
}

# 1. A key nobody enrolled never gets a connection.
tx_loadgen stranger --hostile connect >"$T/stranger.out" 2>&1
grep -q "no answer" "$T/stranger.out" && tx_pass "hostile: unenrolled key gets no answer" \
    || tx_fail "hostile: unenrolled key was answered: $(cat "$T/stranger.out")"
log_has "refused connection from .*key not enrolled" "unenrolled key refused at ZAP and logged"

# 2. Right transport key, wrong signing key.
tx_loadgen s2 --hostile wrong-sign --sign-keys "$T/evil" >"$T/wrong.out" 2>&1
grep -q "answer REJECTED.*bad signature" "$T/wrong.out" && tx_pass "hostile: wrong signing key rejected" \
    || tx_fail "hostile: wrong signing key: $(cat "$T/wrong.out")"
log_has "sensor 's2': bad signature" "wrong signing key logged with the sensor's name"

# 3. A replayed batch of the good sensor: acknowledged, never stored twice.
before=$(tx_rows "uid IN ('good-0','good-1','good-2')")
tx_loadgen good --hostile replay --seq 1 --msgs 3 >"$T/replay.out" 2>&1
grep -q "answer OK" "$T/replay.out" && tx_pass "hostile: replayed batch answered without storing" \
    || tx_fail "hostile: replay: $(cat "$T/replay.out")"
log_has "sensor 'good' sent batch seq 1\.\.3 again" "replayed batch logged with its sequence numbers"

# 4. A truncated protobuf.
tx_loadgen s2 --hostile truncated >"$T/trunc.out" 2>&1
grep -q "answer REJECTED.*malformed" "$T/trunc.out" && tx_pass "hostile: truncated protobuf rejected" \
    || tx_fail "hostile: truncated protobuf: $(cat "$T/trunc.out")"
log_has "sensor 's2': malformed protobuf" "truncated protobuf logged with the sensor's name"

# 5. A 100 MB message.
tx_loadgen s2 --hostile oversized >"$T/big.out" 2>&1
grep -q "answer REJECTED.*over the" "$T/big.out" && tx_pass "hostile: 100 MB message rejected" \
    || tx_fail "hostile: 100 MB message: $(cat "$T/big.out")"
log_has "sensor 's2': message of 104857600 bytes is over" "100 MB message logged with its size"

# 6. Revocation during an open connection takes effect at once.
s3_before=$(tx_rows "sensor_id = (SELECT id FROM sensors WHERE name = 's3')")
"$WARDCTL" -s "$CTL" sensor revoke s3 >/dev/null || tx_fail "hostile: wardctl sensor revoke failed"
sleep 2
s3_mid=$(tx_rows "sensor_id = (SELECT id FROM sensors WHERE name = 's3')")
sleep 2
s3_after=$(tx_rows "sensor_id = (SELECT id FROM sensors WHERE name = 's3')")
[ "$s3_before" -gt 0 ] && [ "$s3_mid" = "$s3_after" ] \
    && tx_pass "hostile: revoked sensor's events stop at once ($s3_before before, $s3_after after)" \
    || tx_fail "hostile: revoked sensor still stored: $s3_before -> $s3_mid -> $s3_after"
log_has "sensor 's3': sensor revoked" "revoked sensor's messages refused and logged"
kill $S3 2>/dev/null
tx_wait_pid $S3 10 >/dev/null
grep -q "revoked=yes" "$T/s3.out" && tx_pass "hostile: the revoked sensor was told it is revoked" \
    || tx_fail "hostile: the revoked sensor was not told: $(cat "$T/s3.out")"

# The good sensor was served throughout.
if tx_wait_pid $GOOD 60; then
    tx_pass "hostile: the good sensor finished with everything acknowledged"
else
    tx_fail "hostile: the good sensor did not finish: $(cat "$T/good.out")"
fi
tx_check_exact good $N "hostile: good sensor"
[ "$(tx_rows "sensor_id = (SELECT id FROM sensors WHERE name = 's2')")" = 0 ] \
    && tx_pass "hostile: nothing from the forged or malformed messages was stored" \
    || tx_fail "hostile: rows stored for s2"
grep -E "ingest: (rejected|refused)" "$T/console.log" | head -20
tx_console_stop
exit 0
