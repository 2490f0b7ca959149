#!/bin/bash
# contain_netns -- containment and evidence end to end, in network namespaces.
#
#   ws (10.77.1.2) --veth-- gw (10.77.1.1 | 10.77.2.1) --veth-- srv (10.77.2.2)
#
# The gateway namespace forwards between the two and runs ward-sensor live on its
# workstation-side interface with the nft backend, and ward-console on its own
# loopback (wardctl reaches the console through its UNIX socket in the scratch
# directory).  The workstation scans the server; an event, an incident and its
# evidence arrive, the evidence exports and verifies; `wardctl isolate` cuts the
# workstation off the server (ping and TCP) while the management address (the
# gateway) still answers; `wardctl release` restores it; a TTL of a few seconds
# releases by itself; isolating the server (never-isolate list) is refused.  The
# time from the isolate command to the block is printed.  Without namespaces the
# test prints SKIP with the reason.  Every wait is bounded; a trap removes the
# namespaces and the processes.
set -u
: "${WARD_BUILD:?run through tests/run.sh (WARD_BUILD unset)}"
: "${WARD_SRC:?run through tests/run.sh (WARD_SRC unset)}"
CONSOLE=$WARD_BUILD/ward-console
SENSOR=$WARD_BUILD/ward-sensor
WARDCTL=$WARD_BUILD/wardctl
T=$(mktemp -d)
SUF=$$
WS=ward-ws-$SUF
GW=ward-gw-$SUF
SRV=ward-srv-$SUF
PIDS=""

# Background programs start as `ip netns exec ... &` (no shell function), so that
# $! is the program itself and the trap can stop it.
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for n in $WS $GW $SRV; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; exit 0; }
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

. "$WARD_SRC/tests/lib/net.sh" # wait_for SECS CMD...

# ---------------------------------------------------------------- namespaces

[ "$(id -u)" -eq 0 ] || skip "contain netns: needs root to create network namespaces"
command -v ip >/dev/null || skip "contain netns: iproute2 (ip) is not installed"
command -v nft >/dev/null || skip "contain netns: nftables (nft) is not installed"
for x in "$CONSOLE" "$SENSOR" "$WARDCTL"; do
    [ -x "$x" ] || skip "contain netns: $x is not built"
done
if ! ip netns add "$WS" 2>"$T/err"; then
    skip "contain netns: cannot create a network namespace: $(head -1 "$T/err")"
fi
ip netns add "$GW" && ip netns add "$SRV" || skip "contain netns: cannot create namespaces"
if ! ip link add ws0 netns "$WS" type veth peer name gw-ws netns "$GW" 2>"$T/err" ||
    ! ip link add srv0 netns "$SRV" type veth peer name gw-srv netns "$GW" 2>>"$T/err"; then
    skip "contain netns: cannot create veth pairs: $(head -1 "$T/err")"
fi
for n in $WS $GW $SRV; do in_ns "$n" ip link set lo up; done
in_ns "$WS" ip addr add 10.77.1.2/24 dev ws0
in_ns "$WS" ip link set ws0 up
in_ns "$WS" ip route add default via 10.77.1.1
in_ns "$SRV" ip addr add 10.77.2.2/24 dev srv0
in_ns "$SRV" ip link set srv0 up
in_ns "$SRV" ip route add default via 10.77.2.1
in_ns "$GW" ip addr add 10.77.1.1/24 dev gw-ws
in_ns "$GW" ip addr add 10.77.2.1/24 dev gw-srv
in_ns "$GW" ip link set gw-ws up
in_ns "$GW" ip link set gw-srv up
in_ns "$GW" sysctl -qw net.ipv4.ip_forward=1
if ! wait_for 5 in_ns "$WS" ping -c1 -W1 10.77.2.2; then
    skip "contain netns: the namespaces do not route (ping ws -> srv failed before Ward ran)"
fi

# A TCP service on the server.
ip netns exec "$SRV" nc -lk 10.77.2.2 8080 </dev/null >/dev/null 2>&1 &
PIDS="$PIDS $!"
tcp_ok() { in_ns "$WS" timeout 1 bash -c 'exec 3<>/dev/tcp/10.77.2.2/8080' 2>/dev/null; }
ping_ok() { in_ns "$WS" ping -c1 -W1 "$1" >/dev/null 2>&1; }
wait_for 5 tcp_ok || fail "contain netns: the server's TCP port does not answer before Ward ran"

# ---------------------------------------------------------------- Ward

"$WARDCTL" keygen "$T/console" >/dev/null 2>&1
"$WARDCTL" keygen "$T/gw" >/dev/null 2>&1
CTL=$T/ctl.sock
export WARD_SOCKET=$CTL
cat >"$T/console.conf" <<EOF
[contain]
never_isolate = 10.77.2.0/24
default_ttl = 10m
EOF
cat >"$T/sensor.conf" <<EOF
[evidence]
pre_seconds = 30s
post_seconds = 2s
[contain]
backend = nft
nft_table = ward
management = 10.77.1.1
state_file = $T/contain.state
leak_grace = 1s
EOF
ip netns exec "$GW" "$CONSOLE" -f -c "$T/console.conf" --data-dir "$T/data" \
    --listen tcp://127.0.0.1:7400 --control "$CTL" --keys "$T/console" >"$T/console.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 test -S "$CTL" || { fail "contain netns: console did not start"; cat "$T/console.log"; exit 0; }
console_listens() { grep -q "ingest: listening" "$T/console.log"; }
wait_for 3 console_listens || skip "contain netns: this ward-console does not run ingest"
"$WARDCTL" incidents --json >/dev/null 2>&1 ||
    skip "contain netns: this ward-console has no incidents (wardctl incidents fails)"
"$WARDCTL" sensor add gw "$T/gw/identity.pub" >/dev/null ||
    { fail "contain netns: cannot enrol the sensor"; exit 0; }
ip netns exec "$GW" "$SENSOR" -i gw-ws --allow-root -c "$T/sensor.conf" --name gw \
    --console tcp://127.0.0.1:7400 --keys "$T/gw" --console-key "$T/console/identity.pub" \
    --spool "$T/spool" >"$T/sensor.log" 2>&1 &
SENSOR_PID=$!
PIDS="$PIDS $SENSOR_PID"
connected() { "$WARDCTL" sensor list --json | grep -q '"last_heartbeat": *"2'; }
sleep 1
kill -0 $SENSOR_PID 2>/dev/null || { fail "contain netns: sensor exited"; cat "$T/sensor.log"; exit 0; }
in_ns "$GW" nft list table inet ward >/dev/null 2>&1 &&
    pass "contain netns: the sensor created the nft table 'ward'" ||
    fail "contain netns: no nft table 'ward' in the gateway"

# ---------------------------------------------------------------- scan -> event -> incident

in_ns "$WS" bash -c 'for p in $(seq 1 120); do timeout 0.3 bash -c "exec 3<>/dev/tcp/10.77.2.2/$p" 2>/dev/null; done'
has_scan() { "$WARDCTL" events --json 2>/dev/null | grep -q '"kind": *"portscan".*"10.77.1.2"'; }
if wait_for 20 has_scan; then
    pass "contain netns: the scan raised a portscan event"
else
    fail "contain netns: no portscan event within 20 s"
    tail -5 "$T/sensor.log"
fi
incident_id() {
    "$WARDCTL" incidents --json 2>/dev/null | grep '10.77.1.2' | head -1 |
        sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p'
}
for i in $(seq 1 100); do ID=$(incident_id); [ -n "$ID" ] && break; sleep 0.2; done
if [ -n "$ID" ]; then
    pass "contain netns: incident $ID opened for 10.77.1.2"
else
    fail "contain netns: no incident for 10.77.1.2 within 20 s"
    ID=1
fi

# ---------------------------------------------------------------- evidence

has_evidence() { "$WARDCTL" evidence list "$ID" --json 2>/dev/null | grep -q '"sha256"'; }
if wait_for 30 has_evidence; then
    pass "contain netns: evidence of incident $ID reached the vault"
    if "$WARDCTL" evidence export "$ID" "$T/bundle" >"$T/export.out" 2>&1 &&
        "$WARDCTL" evidence verify "$T/bundle" >"$T/verify.out" 2>&1; then
        pass "contain netns: the exported bundle verifies ($(tail -1 "$T/verify.out" | cut -c1-60)...)"
    else
        fail "contain netns: export or verify failed: $(cat "$T/export.out" "$T/verify.out" | tail -3)"
    fi
    if command -v tshark >/dev/null; then
        n=$(for f in "$T"/bundle/*.pcap; do tshark -r "$f" 2>/dev/null; done | wc -l)
        [ "$n" -gt 0 ] && pass "contain netns: tshark reads $n packets from the exported pcaps" ||
            fail "contain netns: tshark cannot read the exported pcaps"
    fi
else
    fail "contain netns: no evidence for incident $ID within 30 s"
fi

# ---------------------------------------------------------------- isolate

in_set() { in_ns "$GW" nft list set inet ward isolated4 2>/dev/null | grep -q '10.77.1.2'; }
t0=$(ms_now)
if "$WARDCTL" isolate 10.77.1.2 --incident "$ID" --ttl 5m >"$T/isolate.out" 2>&1; then
    if wait_for 15 in_set; then
        t1=$(ms_now)
        for i in $(seq 1 50); do ping_ok 10.77.2.2 || break; done
        t2=$(ms_now)
        echo "isolate command to nft rule in place: $((t1 - t0)) ms; to the first failed ping: $((t2 - t0)) ms"
        pass "contain netns: isolation in force $((t1 - t0)) ms after the command"
    else
        fail "contain netns: 10.77.1.2 not in the nft set 5 s after the command"
    fi
    ping_ok 10.77.2.2 && fail "contain netns: the isolated workstation still pings the server" ||
        pass "contain netns: the isolated workstation cannot ping the server"
    tcp_ok && fail "contain netns: the isolated workstation still reaches TCP 8080" ||
        pass "contain netns: the isolated workstation cannot reach the server over TCP"
    ping_ok 10.77.1.1 && pass "contain netns: the management address still answers" ||
        fail "contain netns: the management address 10.77.1.1 does not answer"
    active() { "$WARDCTL" isolations --json | grep -q '"state": *"active"'; }
    wait_for 5 active && pass "contain netns: wardctl isolations shows the isolation active" ||
        fail "contain netns: isolation not reported active: $("$WARDCTL" isolations 2>&1 | tail -2)"
else
    fail "contain netns: wardctl isolate failed: $(cat "$T/isolate.out")"
fi

# ---------------------------------------------------------------- release, TTL, never-isolate

t0=$(ms_now)
"$WARDCTL" release 10.77.1.2 >"$T/release.out" 2>&1 ||
    fail "contain netns: wardctl release failed: $(cat "$T/release.out")"
if wait_for 5 ping_ok 10.77.2.2 && wait_for 3 tcp_ok; then
    pass "contain netns: release restored ping and TCP in $(($(ms_now) - t0)) ms"
else
    fail "contain netns: traffic not restored 5 s after release"
fi

"$WARDCTL" isolate 10.77.1.2 --incident "$ID" --ttl 3s >"$T/ttl.out" 2>&1 ||
    fail "contain netns: isolate --ttl 3s failed: $(cat "$T/ttl.out")"
t0=$(ms_now)
wait_for 3 in_set && ! ping_ok 10.77.2.2 && blocked=1 || blocked=0
if [ $blocked -eq 1 ] && wait_for 15 ping_ok 10.77.2.2; then
    pass "contain netns: a 3 s isolation released by itself after $(($(ms_now) - t0)) ms"
else
    fail "contain netns: the 3 s isolation did not block and then release by itself (blocked=$blocked)"
fi

if "$WARDCTL" isolate 10.77.2.2 --incident "$ID" >"$T/never.out" 2>&1; then
    fail "contain netns: isolating the server on the never-isolate list was accepted"
elif grep -q "never-isolate" "$T/never.out"; then
    pass "contain netns: isolating 10.77.2.2 refused: $(head -1 "$T/never.out" | cut -c1-90)"
else
    fail "contain netns: the refusal does not name the never-isolate list: $(cat "$T/never.out")"
fi
ping_ok 10.77.2.2 || fail "contain netns: the refused isolation still cut traffic"

timeline() { "$WARDCTL" incident show "$ID" --json 2>/dev/null | grep -c 'isolate' ; }
[ "$(timeline)" -gt 0 ] && pass "contain netns: the isolation is in incident $ID's timeline" ||
    fail "contain netns: incident $ID's timeline does not show the isolation"
exit 0
