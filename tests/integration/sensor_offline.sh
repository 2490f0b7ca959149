#!/bin/bash
# sensor_offline -- ward-sensor -r on captures written by tools/gen_sensor_pcaps:
# every packet counted, the same flows under every link type, malformed frames
# counted by reason and never fatal, the same events flat out and paced
# (--replay --speed), snap-length cuts are not errors, pcapng works, and bad
# usage fails with a clear message.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
SENSOR="$BUILD/ward-sensor"
GEN="$BUILD/tools/gen_sensor_pcaps"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }

if [ ! -x "$SENSOR" ] || [ ! -x "$GEN" ]; then
    fail "sensor offline: $SENSOR or $GEN not built"
    exit 0
fi
if ! "$GEN" "$T" >"$T/gen.log" 2>&1; then
    fail "sensor offline: generator failed: $(cat "$T/gen.log")"
    exit 0
fi

expected() { awk -v n="$1" '$1 == n { print $2 }' "$T/manifest"; }
# field NAME FILE: a number from the --stats-json line
field() { sed -n 's/.*"'"$1"'":\([0-9]*\).*/\1/p' "$2" | tail -1; }

run() { # run NAME ARGS...: events to NAME.ev, stderr to NAME.err, status to NAME.rc
    local name=$1
    shift
    timeout 30 "$SENSOR" "$@" -o jsonl --stats-json >"$T/$name.ev" 2>"$T/$name.err"
    echo $? >"$T/$name.rc"
}

# 1. Every packet is counted; a scan is found.
run mixed -r "$T/mixed.pcap"
want=$(expected mixed.pcap)
got=$(field packets "$T/mixed.err")
if [ "$(cat "$T/mixed.rc")" = 0 ] && [ "$got" = "$want" ] && [ "$(field decode_errors "$T/mixed.err")" = 0 ]; then
    pass "mixed capture: $got packets counted, no decode errors"
else
    fail "mixed capture: status $(cat "$T/mixed.rc"), packets $got (want $want): $(tail -2 "$T/mixed.err")"
fi
if grep -q '"kind":"portscan".*"src":"10.10.1.66"' "$T/mixed.ev"; then
    pass "mixed capture: the port scan is reported"
else
    fail "mixed capture: no portscan event from 10.10.1.66"
fi
flows=$(field flows_created "$T/mixed.err")

# 2. Link types: the same flows and events under cooked v1/v2, raw IP and loopback.
for lt in sll sll2 raw null; do
    run "$lt" -r "$T/$lt.pcap"
    if [ "$(cat "$T/$lt.rc")" = 0 ] && [ "$(field packets "$T/$lt.err")" = "$(expected "$lt.pcap")" ] &&
        [ "$(field flows_created "$T/$lt.err")" = "$flows" ] && [ "$(field decode_errors "$T/$lt.err")" = 0 ] &&
        cmp -s <(sed 's/"src_mac":"[^"]*"//' "$T/mixed.ev") <(sed 's/"src_mac":"[^"]*"//' "$T/$lt.ev"); then
        pass "link type $lt: same packets, flows and events as Ethernet"
    else
        fail "link type $lt: packets $(field packets "$T/$lt.err"), flows $(field flows_created "$T/$lt.err") (want $flows), status $(cat "$T/$lt.rc")"
    fi
done

# 3. Malformed frames: counted by reason, never fatal, the rest still analysed.
run bad -r "$T/malformed.pcap"
errs=$(field decode_errors "$T/bad.err")
if [ "$(cat "$T/bad.rc")" = 0 ] && [ "$(field packets "$T/bad.err")" = "$(expected malformed.pcap)" ] &&
    [ "${errs:-0}" -ge 15 ]; then
    pass "malformed frames: $errs counted, not fatal"
else
    fail "malformed frames: status $(cat "$T/bad.rc"), decode errors ${errs:-none}"
fi
missing=""
for reason in ip4_hlen_too_small ip4_len_past_capture dns_pointer_loop tcp_bad_options vlan_too_deep; do
    grep -q "\"decode.$reason\":[1-9]" "$T/bad.err" || missing="$missing $reason"
done
if [ -z "$missing" ]; then
    pass "malformed frames: counted by reason"
else
    fail "malformed frames: reasons not counted:$missing"
fi
if cmp -s "$T/mixed.ev" "$T/bad.ev"; then
    pass "malformed frames: the same events as the clean capture"
else
    fail "malformed frames: events differ from the clean capture"
fi

# 4. Snap-length cuts are not errors.
run snap -r "$T/snapped.pcap"
if [ "$(cat "$T/snap.rc")" = 0 ] && [ "$(field decode_errors "$T/snap.err")" = 0 ] &&
    [ "$(field flows_created "$T/snap.err")" = "$flows" ]; then
    pass "snapped capture (96 bytes): no decode errors, same flows"
else
    fail "snapped capture: decode errors $(field decode_errors "$T/snap.err"), flows $(field flows_created "$T/snap.err")"
fi

# 5. Paced replay gives the same events as flat out, and takes its time.
start=$(date +%s%N)
run paced -r "$T/mixed.pcap" --replay --speed 1000
run paced20 -r "$T/mixed.pcap" --speed 20
end=$(date +%s%N)
if cmp -s "$T/mixed.ev" "$T/paced.ev" && cmp -s "$T/mixed.ev" "$T/paced20.ev"; then
    pass "replay --speed 1000 and --speed 20: the same events as flat out"
else
    fail "replay: events differ from the flat-out run"
fi
# The capture spans about 6 s of packet time: at 20x that is at least 0.25 s.
if [ $(((end - start) / 1000000)) -ge 250 ]; then
    pass "replay --speed 20 is paced by the capture's timestamps"
else
    fail "replay --speed 20 finished in $(((end - start) / 1000000)) ms: not paced"
fi

# 6. pcapng (converted by editcap when available).
if command -v editcap >/dev/null 2>&1 && editcap -F pcapng "$T/mixed.pcap" "$T/mixed.pcapng" >/dev/null 2>&1; then
    run ng -r "$T/mixed.pcapng"
    if [ "$(cat "$T/ng.rc")" = 0 ] && cmp -s "$T/mixed.ev" "$T/ng.ev"; then
        pass "pcapng: the same events as pcap"
    else
        fail "pcapng: status $(cat "$T/ng.rc"): $(tail -1 "$T/ng.err")"
    fi
else
    echo "SKIP: pcapng: editcap (tshark) is not installed"
fi

# 7. Bad usage and bad input fail clearly.
"$SENSOR" -r "$T/nonexistent.pcap" -o jsonl >/dev/null 2>"$T/e1"
rc=$?
if [ $rc = 1 ] && grep -q "nonexistent.pcap" "$T/e1"; then
    pass "missing file: exit 1 naming the file"
else
    fail "missing file: exit $rc: $(cat "$T/e1")"
fi
head -c 100 /dev/urandom >"$T/garbage.pcap"
"$SENSOR" -r "$T/garbage.pcap" -o jsonl >/dev/null 2>"$T/e2"
rc=$?
[ $rc = 1 ] && pass "garbage file: refused with exit 1" || fail "garbage file: exit $rc"
"$SENSOR" -r "$T/mixed.pcap" -o xml >/dev/null 2>"$T/e3"
rc=$?
if [ $rc = 2 ] && grep -q "jsonl" "$T/e3"; then
    pass "bad -o: usage error"
else
    fail "bad -o: exit $rc"
fi
printf '[capture]\nsnaplenn = 100\n' >"$T/typo.conf"
"$SENSOR" -c "$T/typo.conf" -r "$T/mixed.pcap" -o jsonl >/dev/null 2>"$T/e4"
rc=$?
if [ $rc = 1 ] && grep -q "typo.conf:2" "$T/e4"; then
    pass "config typo: refused, naming file and line"
else
    fail "config typo: exit $rc: $(cat "$T/e4")"
fi
if "$SENSOR" --help | grep -q -- "--replay" && "$SENSOR" --help | grep -q "EXIT STATUS"; then
    pass "--help prints the manual"
else
    fail "--help"
fi
exit 0
