#!/bin/bash
# intel_push -- the outbreak controls end to end: indicators pushed with wardctl
# reach a running ward-sensor over CURVE and a contact with an address that is
# only in the pushed list raises an ioc_hit that reaches the console; a sensor
# offline at the push gets the set (and the mode) at its first heartbeat;
# `wardctl mode heightened` shows in `wardctl status`; a restarted sensor keeps
# the pushed set from its spool directory; everything is in the audit log.
#
# Real processes over tcp://127.0.0.1 with a real database.  Prints PASS/FAIL/SKIP
# lines (tests/run.sh counts them) and exits 0.
set -u
B=${WARD_BUILD:?WARD_BUILD is not set}
for bin in ward-console ward-sensor wardctl tools/gen_intel_pcap; do
    if [ ! -x "$B/$bin" ]; then
        echo "SKIP: intel_push: $bin is not built"
        exit 0
    fi
done

T=$(mktemp -d)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        if grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$f"; then
            echo "FAIL: intel_push: sanitizer report in $(basename "$f")"
            grep -E -A8 "Sanitizer|runtime error:" "$f" | head -20
        fi
    done
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: intel_push: $1"; }
fail() { echo "FAIL: intel_push: $1: $2"; }

. "$WARD_SRC/tests/lib/net.sh"
PORT=$(free_port) || { echo "SKIP: intel_push: no free port found"; exit 0; }

ctl() { "$B/wardctl" -s "$T/ctl.sock" "$@"; }

for k in console s1 s2; do
    "$B/wardctl" keygen "$T/$k" >/dev/null 2>&1 || { fail "keys" "wardctl keygen $k failed"; exit 0; }
done
"$B/tools/gen_intel_pcap" "$T/outbreak.pcap" || { fail "capture" "generator failed"; exit 0; }

cat >"$T/console.conf" <<EOF2
[console]
data_dir = $T/data
listen = tcp://127.0.0.1:$PORT
control_socket = $T/ctl.sock
keys = $T/console
heartbeat_interval = 1s
EOF2
cat >"$T/sensor.conf" <<EOF2
[uplink]
heartbeat = 1s
EOF2
mkdir -p "$T/data"
"$B/ward-console" -f -c "$T/console.conf" >"$T/console.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 10 test -S "$T/ctl.sock" ||
    { fail "console" "no control socket after 10 s: $(tail -3 "$T/console.log")"; exit 0; }
ctl sensor add s1 "$T/s1/identity.pub" >/dev/null && ctl sensor add s2 "$T/s2/identity.pub" >/dev/null ||
    { fail "enrol" "wardctl sensor add failed"; exit 0; }

# sensor NAME SPEED: replays the capture paced, into the console, in the background.
sensor() {
    "$B/ward-sensor" -c "$T/sensor.conf" -r "$T/outbreak.pcap" --speed "$2" \
        --home-net 10.40.0.0/16 --name "$1" --keys "$T/$1" --console "tcp://127.0.0.1:$PORT" \
        --console-key "$T/console/identity.pub" --spool "$T/spool-$1" >>"$T/sensor-$1.log" 2>&1 &
    PIDS="$PIDS $!"
    SENSOR_PID=$!
}

printf '# outbreak feed\n198.51.100.201\n10.0.0.300/8\n' >"$T/bad.txt"
printf '# outbreak feed, from the regional CERT\n198.51.100.201\n203.0.113.0/24  # their C2 range\n' \
    >"$T/addresses.txt"
printf '*.outbreak-example.net\n' >"$T/domains.txt"

# --- a bad line is refused, naming file:line, and nothing is recorded
out=$(ctl intel push --addresses "$T/bad.txt" 2>&1)
if [ $? -eq 1 ] && [[ "$out" == *"bad.txt:3: '10.0.0.300/8' is not an IPv4/IPv6 address"* ]]; then
    pass "a bad indicator is refused naming file:line"
else
    fail "bad indicator" "$out"
fi

# --- s1 runs; the push reaches it while it reads the capture
sensor s1 2
S1=$SENSOR_PID
seen() { ctl sensor list --json | grep '"name":"s1"' | grep -q '"last_heartbeat":"'; }
wait_for 10 seen || { fail "s1" "no heartbeat within 10 s: $(tail -3 "$T/sensor-s1.log")"; exit 0; }
out=$(ctl intel push --addresses "$T/addresses.txt" --domains "$T/domains.txt" 2>&1)
if [ $? -eq 0 ] && [[ "$out" == *"2 addresses, 1 domains for every sensor"* ]]; then
    pass "wardctl intel push: $(head -1 <<<"$out")"
else
    fail "push" "$out"
fi
version=$(sed -n 's/.*version \([0-9]*\):.*/\1/p' <<<"$out" | head -1)
acked() {
    ctl intel list --json | grep -q "\"sensor\":\"$1\",\"status\":\"ok\"" ||
        ctl intel list --json | grep -q "\"sensor\":\"$1\".*\"state\":\"in step\""
}
if wait_for 10 acked s1; then
    pass "s1 acknowledged the push (wardctl intel list)"
else
    fail "acknowledgement" "$(ctl intel list 2>&1 | head -12)"
fi
hit() {
    ctl events --kind ioc_hit --sensor "$1" --json | grep "$2" | grep -q "list: console"
}
if wait_for 20 hit s1 198.51.100.201; then
    pass "a contact with an address only in the pushed list is an ioc_hit at the console"
else
    fail "ioc_hit from s1" "$(ctl events --json 2>&1 | head -3); $(grep -i ioc "$T/sensor-s1.log" | tail -3)"
fi
if wait_for 10 hit s1 outbreak-example.net; then
    pass "a query for a pushed domain is an ioc_hit too"
else
    fail "domain ioc_hit" "$(ctl events --kind ioc_hit --json 2>&1 | head -3)"
fi

# --- heightened mode, for every sensor
out=$(ctl mode heightened --factor 0.25 2>&1)
[ $? -eq 0 ] && pass "wardctl mode heightened: $(head -1 <<<"$out")" || fail "mode" "$out"
heightened() { ctl status | grep -E "^$1 " | grep -q "heightened x0.25"; }
if wait_for 10 heightened s1; then
    pass "s1's heartbeat shows heightened mode in wardctl status"
else
    fail "status" "$(ctl status 2>&1 | tail -4)"
fi

# --- s2 was offline for both: it gets set and mode at its first heartbeats
sensor s2 1
S2=$SENSOR_PID
if wait_for 20 heightened s2; then
    pass "s2, offline at the time, was switched to heightened mode when it came"
else
    fail "s2 mode" "$(ctl status 2>&1 | tail -4); $(grep intel "$T/console.log" | tail -3)"
fi
if wait_for 25 hit s2 198.51.100.201; then
    pass "s2, offline at the push, got the pushed set and raised the ioc_hit"
else
    fail "s2 ioc_hit" "$(ctl intel list 2>&1 | tail -4); $(grep -i ioc "$T/sensor-s2.log" | tail -3)"
fi
in_step() { ctl intel list --json | grep -q '"sensor":"s2","version":'"$version"',"state":"in step"'; }
wait_for 5 in_step && pass "wardctl intel list shows s2 in step with version $version" ||
    fail "s2 in step" "$(ctl intel list --json 2>&1 | tail -3)"

# --- a restarted sensor starts with the pushed set from its spool directory
wait_for 30 sh -c "! kill -0 $S1 2>/dev/null"
sensor s1 50
if wait_for 10 grep -q "pushed by the console (version $version)" "$T/sensor-s1.log"; then
    pass "a restarted sensor loads the pushed set it kept (version $version)"
else
    fail "restart" "$(grep ioc "$T/sensor-s1.log" | tail -3)"
fi

# --- the record: who pushed and switched, and the chain still verifies
audit=$(ctl audit list --json 2>&1)
if grep -q '"action":"intel.push"' <<<"$audit" && grep -q '"action":"mode.set"' <<<"$audit" &&
    grep -q '"action":"intel.sync"' <<<"$audit"; then
    pass "the audit log has the push, the mode change and the resend to s2"
else
    fail "audit" "$(grep -o '"action":"[a-z.]*"' <<<"$audit" | sort | uniq -c | tr '\n' ' ')"
fi
ctl audit verify >/dev/null 2>&1 && pass "audit verify passes" || fail "audit verify" "$(ctl audit verify 2>&1)"
normal() { ctl status | grep -E "^s2 " | grep -q " normal "; }
out=$(ctl mode normal 2>&1)
rc=$?
if [ $rc -eq 0 ] && wait_for 10 normal; then
    pass "wardctl mode normal restores s2"
else
    fail "mode normal" "$out; $(ctl status 2>&1 | tail -3)"
fi

exit 0
