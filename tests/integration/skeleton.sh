#!/bin/bash
# skeleton -- the walking skeleton end to end with real processes: a console on
# 127.0.0.1 (free port), an enrolled sensor run on the demo capture through the
# uplink, the events found in the SQLite file and in `wardctl events --json`;
# an unenrolled sensor's events never reach the database; wardctl's exit codes;
# a console that is not running is reported as such.
set -u
: "${WARD_BUILD:?run through tests/run.sh}"
: "${WARD_SRC:?run through tests/run.sh}"
B=$WARD_BUILD
for p in ward-console ward-sensor wardctl tools/gen_demo_pcap; do
    if [ ! -x "$B/$p" ]; then
        echo "SKIP: skeleton: $p is not built"
        exit 0
    fi
done
if ! command -v sqlite3 >/dev/null; then
    echo "SKIP: skeleton: the sqlite3 tool is not installed"
    exit 0
fi

T=$(mktemp -d)
CONSOLE_PID=""
cleanup() {
    [ -n "$CONSOLE_PID" ] && kill -9 "$CONSOLE_PID" 2>/dev/null && wait "$CONSOLE_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: skeleton: $*"; }
fail() { echo "FAIL: skeleton: $*"; }


sql() { sqlite3 -cmd ".timeout 5000" "$T/data/ward.db" "$1" 2>/dev/null; }

. "$WARD_SRC/tests/lib/net.sh"
CTL=$T/ctl.sock
if ! PORT=$(free_port); then
    echo "SKIP: skeleton: no free port on 127.0.0.1"
    exit 0
fi
EP=tcp://127.0.0.1:$PORT
W="$B/wardctl -s $CTL"

"$B/tools/gen_demo_pcap" "$T/demo.pcap" 2>/dev/null || { fail "gen_demo_pcap failed"; exit 0; }

# wardctl without a console: exit 1 and a message naming the socket.
out=$($W status 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "$CTL" <<<"$out"; then
    pass "no console: exit 1 naming the socket"
else
    fail "no console: rc $rc: $out"
fi
$W no-such-command >/dev/null 2>&1
[ $? -eq 2 ] && pass "unknown command: exit 2" || fail "unknown command: not exit 2"

for k in console good rogue; do
    "$B/wardctl" keygen "$T/$k" >"$T/$k.token" 2>/dev/null || fail "keygen $k"
done
grep -Eq '^[0-9a-f]{64}:[0-9a-f]{64}$' "$T/good.token" && pass "keygen prints the public token" \
    || fail "keygen output: $(cat "$T/good.token")"
perm=$(stat -c %a "$T/good/identity.key")
[ "$perm" = 600 ] && pass "keygen: secret key file is 0600" || fail "keygen: mode $perm"

"$B/ward-console" -f --data-dir "$T/data" --listen "$EP" --control "$CTL" --keys "$T/console" \
    >"$T/console.log" 2>&1 &
CONSOLE_PID=$!
for _ in $(seq 1 100); do
    [ -S "$CTL" ] && grep -q "ingest: listening" "$T/console.log" && break
    kill -0 "$CONSOLE_PID" 2>/dev/null || break
    sleep 0.1
done
if ! [ -S "$CTL" ]; then
    fail "console did not start: $(tail -3 "$T/console.log")"
    exit 0
fi
"$B/ward-console" -f --data-dir "$T/data" --listen "tcp://127.0.0.1:$(free_port)" \
    --control "$T/other.sock" --keys "$T/console" >"$T/second.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "another ward-console is using" "$T/second.log" &&
    pass "a second console on the same data directory is refused" ||
    fail "second console on the same data: rc $rc: $(tail -1 "$T/second.log")"
perm=$(stat -c %a "$CTL")
[ "$perm" = 660 ] && pass "control socket is mode 0660" || fail "control socket mode $perm"

$W sensor add good "$T/good/identity.pub" >/dev/null && pass "sensor add by identity.pub" \
    || fail "sensor add failed"
$W sensor add good2 "$(cat "$T/good.token")" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && pass "the same key cannot be enrolled twice (exit 1)" \
    || fail "second enrolment of one key: rc $rc"

# A refused sensor gives up waiting for acknowledgements after close_timeout.
printf '[uplink]\nclose_timeout = 3s\n' >"$T/sensor.conf"
run_sensor() { # NAME KEYDIR
    timeout 60 "$B/ward-sensor" -c "$T/sensor.conf" -r "$T/demo.pcap" --console "$EP" --name "$1" --keys "$T/$2" \
        --console-key "$T/console/identity.pub" --spool "$T/spool-$1" >"$T/sensor-$1.log" 2>&1
}

# The rogue sensor is not enrolled: ZAP refuses it; it gives up within its close time.
run_sensor rogue rogue
rows=$(sql "SELECT count(*) FROM events")
[ "${rows:-x}" = 0 ] && pass "an unenrolled sensor's events never reach the database" \
    || fail "events stored from an unenrolled sensor: $rows"

run_sensor good good || fail "ward-sensor exited with $?: $(tail -3 "$T/sensor-good.log")"
for _ in $(seq 1 50); do
    [ "$(sql "SELECT count(*) FROM events WHERE kind = 'portscan'")" -ge 1 ] 2>/dev/null && break
    sleep 0.1
done
n=$(sql "SELECT count(*) FROM events e JOIN sensors s ON s.id = e.sensor_id
         WHERE s.name = 'good' AND e.kind = 'portscan' AND e.src = '10.20.0.23'")
[ "${n:-0}" -ge 1 ] && pass "portscan from 10.20.0.23 is in the SQLite file" \
    || fail "no portscan row in the database"
for k in bruteforce lateral dns_tunnel beacon exfil; do
    n=$(sql "SELECT count(*) FROM events WHERE kind = '$k'")
    [ "${n:-0}" -ge 1 ] && pass "$k is in the SQLite file" || fail "no $k row"
done
mode=$(sql "PRAGMA journal_mode")
[ "$mode" = wal ] && pass "the database is in WAL mode" || fail "journal mode $mode"

json=$($W events --json --kind portscan)
if grep -q '"kind":"portscan"' <<<"$json" && grep -q '"src":"10.20.0.23"' <<<"$json" &&
    grep -q '"sensor":"good"' <<<"$json"; then
    pass "wardctl events --json shows the portscan"
else
    fail "wardctl events --json: $json"
fi
# The console's JSON is the sensor's offline JSON plus where it came from.
off=$("$B/ward-sensor" -r "$T/demo.pcap" -o jsonl 2>/dev/null | grep '"kind":"portscan"' |
    grep '"closed":true' | head -1)
keys_off=$(grep -o '"[a-z_]*":' <<<"$off" | sort -u | tr -d '\n')
keys_con=$(head -1 <<<"$json" | grep -o '"[a-z_]*":' | grep -v '"id":\|"received":\|"sensor":' |
    sort -u | tr -d '\n')
[ -n "$keys_off" ] && [ "$keys_off" = "$keys_con" ] &&
    pass "stored events have the shape of ward-sensor -o jsonl" ||
    fail "shapes differ: offline $keys_off console $keys_con"

$W events --kind nosuch >/dev/null 2>&1
[ $? -eq 1 ] && pass "an unknown kind is refused (exit 1)" || fail "unknown kind not refused"
$W events --limit abc >/dev/null 2>&1
[ $? -eq 2 ] && pass "a bad --limit is a usage error (exit 2)" || fail "bad --limit not exit 2"

st=$($W --json status)
grep -q '"name":"good"' <<<"$st" && grep -q '"state":"active"' <<<"$st" &&
    pass "status shows the sensor active with its heartbeat" || fail "status: $st"
list=$($W sensor list)
grep -q "^good " <<<"$list" && pass "sensor list shows the sensor" || fail "sensor list: $list"

$W sensor revoke good >/dev/null && pass "sensor revoke" || fail "revoke failed"
st=$($W --json sensor list)
grep -q '"state":"revoked"' <<<"$st" && pass "sensor list shows it revoked" || fail "list: $st"
before=$(sql "SELECT count(*) FROM events")
rm -rf "$T/spool-good"
# Revoked: nothing more is stored from it.
run_sensor good good
after=$(sql "SELECT max(received_usec) > (SELECT revoked_usec FROM sensors WHERE name = 'good')
             FROM events")
[ "$after" = 0 ] && pass "a revoked sensor's events are not stored ($before rows before)" \
    || fail "events stored after revocation"

kill "$CONSOLE_PID"
for _ in $(seq 1 50); do
    kill -0 "$CONSOLE_PID" 2>/dev/null || break
    sleep 0.1
done
if ! kill -0 "$CONSOLE_PID" 2>/dev/null; then
    wait "$CONSOLE_PID"
    rc=$?
    CONSOLE_PID=""
    [ $rc -eq 0 ] && [ ! -e "$CTL" ] && pass "SIGTERM stops the console cleanly (exit 0, socket removed)" \
        || fail "console exit $rc after SIGTERM"
else
    fail "console still running 5 s after SIGTERM"
fi
exit 0
