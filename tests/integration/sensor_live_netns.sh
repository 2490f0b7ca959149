#!/bin/bash
# sensor_live_netns -- ward-sensor -i on a veth inside a network namespace.
#
# Two namespaces joined by a veth pair: a client (10.98.0.1, fd98::1) and a
# server (10.98.0.2, fd98::2) running a small HTTP responder.  ward-sensor
# captures on the server's veth inside the server namespace, as user nobody
# (-u), while the client pings and fetches a page with curl.  After SIGINT the
# sensor must have counted the traffic (packets, flows, the ICMP and HTTP flows
# in its statistics), have run as nobody, and a live capture as root without -u
# must be refused.  Needs root and `ip netns`; prints SKIP otherwise.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
SENSOR="$BUILD/ward-sensor"
NS=wardlive$$
T=$(mktemp -d)
chmod 755 "$T"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "${NS}c" 2>/dev/null
    ip netns del "${NS}s" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: sensor live capture in a netns: needs root (ip netns, veth)"
    exit 0
fi
for tool in ip ping curl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "SKIP: sensor live capture in a netns: $tool is not installed"
        exit 0
    fi
done
if ! ip netns add "${NS}c" 2>"$T/err" || ! ip netns add "${NS}s" 2>>"$T/err"; then
    echo "SKIP: sensor live capture in a netns: cannot create namespaces: $(head -1 "$T/err")"
    exit 0
fi
if ! ip link add vc$$ netns "${NS}c" type veth peer name vs$$ netns "${NS}s" 2>"$T/err"; then
    echo "SKIP: sensor live capture in a netns: cannot create a veth pair: $(head -1 "$T/err")"
    exit 0
fi
C="ip netns exec ${NS}c"
S="ip netns exec ${NS}s"
$C ip addr add 10.98.0.1/24 dev vc$$
$C ip addr add fd98::1/64 dev vc$$ nodad
$C ip link set vc$$ up
$C ip link set lo up
$S ip addr add 10.98.0.2/24 dev vs$$
$S ip addr add fd98::2/64 dev vs$$ nodad
$S ip link set vs$$ up
$S ip link set lo up

# A one-page HTTP responder in the server namespace.
if command -v python3 >/dev/null 2>&1; then
    echo "ward live test" >"$T/index.html"
    $S python3 -m http.server 8080 --bind 10.98.0.2 --directory "$T" >/dev/null 2>&1 &
    pids+=($!)
else
    $S sh -c 'while :; do printf "HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\nward live test\n" | nc -l 10.98.0.2 8080 >/dev/null 2>&1 || break; done' &
    pids+=($!)
fi

# Refused: live capture as root without -u.
timeout 10 $S "$SENSOR" -i vs$$ -o jsonl >/dev/null 2>"$T/root.err"
rc=$?
if [ $rc = 1 ] && grep -q "refusing" "$T/root.err"; then
    echo "PASS: live capture as root without -u is refused"
else
    echo "FAIL: live capture as root without -u: exit $rc: $(tail -1 "$T/root.err")"
fi

# The sensor, as nobody, with immediate delivery so the test need not wait.
$S "$SENSOR" -i vs$$ --immediate -u nobody -o jsonl --stats-json >"$T/events" 2>"$T/sensor.err" &
spid=$!
pids+=($spid)
for _ in $(seq 100); do
    grep -q "sensor: reading" "$T/sensor.err" && break
    kill -0 $spid 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "sensor: reading" "$T/sensor.err"; then
    echo "FAIL: sensor live capture: did not start: $(tail -3 "$T/sensor.err")"
    exit 0
fi
uid=$(awk '/^Uid:/ { print $2 }' /proc/$spid/status 2>/dev/null)
if [ -n "$uid" ] && [ "$uid" = "$(id -u nobody)" ]; then
    echo "PASS: the sensor dropped privileges to nobody after opening the capture"
else
    echo "FAIL: the sensor runs as uid '${uid:-?}', not nobody"
fi

# Traffic inside the namespaces.
for _ in $(seq 50); do # wait for the responder
    $C curl -s -m 1 -o /dev/null http://10.98.0.2:8080/ && break
    sleep 0.1
done
$C ping -c 5 -i 0.2 -W 1 10.98.0.2 >/dev/null 2>&1
$C ping -6 -c 3 -i 0.2 -W 1 fd98::2 >/dev/null 2>&1
got=$($C curl -s -m 5 -A ward-test/1.0 http://10.98.0.2:8080/index.html)
[ "$got" = "ward live test" ] || echo "note: curl got '$got'"
sleep 0.5

kill -INT $spid
for _ in $(seq 100); do
    kill -0 $spid 2>/dev/null || break
    sleep 0.1
done
if kill -0 $spid 2>/dev/null; then
    echo "FAIL: sensor live capture: did not stop within 10 s of SIGINT"
    kill -9 $spid
    exit 0
fi
wait $spid
rc=$?
stats=$(grep '^{"source"' "$T/sensor.err" | tail -1)
num() { echo "$stats" | sed -n 's/.*"'"$1"'":\([0-9]*\).*/\1/p'; }
packets=$(num packets)
flows=$(num flows_created)
if [ $rc = 0 ] && [ "${packets:-0}" -ge 20 ]; then
    echo "PASS: sensor live capture: $packets packets counted after SIGINT (clean exit)"
else
    echo "FAIL: sensor live capture: exit $rc, packets '${packets:-none}': $(tail -2 "$T/sensor.err")"
fi
# ping (one ICMP flow per address family) + at least two HTTP connections.
if [ "${flows:-0}" -ge 4 ]; then
    echo "PASS: sensor live capture: $flows flows (ICMP, ICMPv6, HTTP)"
else
    echo "FAIL: sensor live capture: only '${flows:-none}' flows"
fi
if echo "$stats" | grep -q '"decode_errors":0'; then
    echo "PASS: sensor live capture: no decode errors on real traffic"
else
    echo "FAIL: sensor live capture: decode errors: $stats"
fi
exit 0
