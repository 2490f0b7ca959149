#!/bin/bash
# demo.sh BUILD -- Ward end to end on its own demo capture, in a scratch directory.
#
# Generates the demo capture (tools/gen_demo_pcap: a hospital segment with a
# port scan, SSH brute force, lateral SMB spread, DNS tunnel, beacon and an
# exfiltration burst), makes a console and a sensor identity, starts
# ward-console on 127.0.0.1 (a free port, a scratch control socket), enrols the
# sensor, runs ward-sensor on the capture through the signed, encrypted uplink,
# waits until the console has acknowledged every event, prints what wardctl
# shows, and stops everything.  Every wait is bounded; nothing is left behind
# unless WARD_DEMO_KEEP=1.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/net.sh" || exit 1

BUILD=${1:-build}
B=$(cd "$BUILD" && pwd) || exit 1
WARDCTL=$B/wardctl
CONSOLE=$B/ward-console
SENSOR=$B/ward-sensor
GEN=$B/tools/gen_demo_pcap
for p in "$WARDCTL" "$CONSOLE" "$SENSOR" "$GEN"; do
    if [ ! -x "$p" ]; then
        echo "demo: $p is not built (run make first)" >&2
        exit 1
    fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/ward-demo.XXXXXX") || exit 1
CONSOLE_PID=""
cleanup() {
    if [ -n "$CONSOLE_PID" ]; then
        kill "$CONSOLE_PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$CONSOLE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$CONSOLE_PID" 2>/dev/null
        wait "$CONSOLE_PID" 2>/dev/null
    fi
    if [ "${WARD_DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }
die() {
    echo "demo: $*" >&2
    for f in "$T/console.log" "$T/sensor.log"; do
        [ -s "$f" ] && { echo "--- $(basename "$f")" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}

PCAP=$B/demo/ward-demo.pcap
step "Generating the demo capture"
mkdir -p "$B/demo"
"$GEN" "$PCAP" || die "cannot write $PCAP"

step "Making identities (wardctl keygen)"
"$WARDCTL" keygen "$T/keys/console" >/dev/null 2>&1 || die "keygen console failed"
SENSOR_KEY=$("$WARDCTL" keygen "$T/keys/edge-1" 2>/dev/null) || die "keygen edge-1 failed"
echo "console identity: $T/keys/console"
echo "sensor edge-1:    $SENSOR_KEY"

PORT=$(free_port) || die "no free port"
EP=tcp://127.0.0.1:$PORT
CTL=$T/console.sock
export WARD_SOCKET=$CTL
cat >"$T/ward-console.conf" <<EOF
[console]
data_dir = $T/data
listen = $EP
control_socket = $CTL
keys = $T/keys/console
log_level = info
EOF

step "Starting ward-console on $EP"
"$CONSOLE" -f -c "$T/ward-console.conf" >"$T/console.log" 2>&1 &
CONSOLE_PID=$!
for _ in $(seq 1 100); do
    [ -S "$CTL" ] && grep -q "ingest: listening" "$T/console.log" && break
    kill -0 "$CONSOLE_PID" 2>/dev/null || die "ward-console exited"
    sleep 0.1
done
[ -S "$CTL" ] || die "ward-console did not open its control socket"
echo "console running (pid $CONSOLE_PID), control socket $CTL"

step "Enrolling the sensor (wardctl sensor add edge-1 ...)"
"$WARDCTL" sensor add edge-1 "$T/keys/edge-1/identity.pub" || die "enrolment failed"

step "Importing the hospital's asset register (wardctl assets import)"
cat >"$T/register.csv" <<'CSV'
IP地址,MAC地址,主机名,科室,责任人,业务系统,重要程度,位置
10.10.0.10,,his-app-01,信息科,张伟,HIS,1,机房A-101
10.10.0.20,,pacs-01,放射科,李娜,PACS,1,影像楼B1
10.10.0.30,,file-01,信息科,张伟,,3,机房A-102
10.10.0.40,,jump-01,信息科,王强,,2,机房A-102
10.10.0.53,,dns-01,信息科,王强,,2,机房A-101
10.10.0.99,,lis-analyzer-07,检验科,王芳,LIS,2,门诊楼3层
CSV
"$WARDCTL" assets import "$T/register.csv" || die "register import failed"

step "Running ward-sensor on the demo capture, reporting to the console"
if ! timeout 120 "$SENSOR" -r "$PCAP" --console "$EP" --name edge-1 --keys "$T/keys/edge-1" \
    --console-key "$T/keys/console/identity.pub" --spool "$T/spool" >"$T/sensor.log" 2>&1; then
    die "ward-sensor failed"
fi
grep -E "sensor: .*packets" "$T/sensor.log" | sed 's/^.*sensor: //'

# Every event the sensor numbered is stored once acked_seq reaches next_seq - 1.
acked=0
for _ in $(seq 1 100); do
    line=$("$WARDCTL" --json sensor list 2>/dev/null | grep '"name":"edge-1"')
    acked=$(sed -n 's/.*"acked_seq":\([0-9]*\).*/\1/p' <<<"$line")
    next=$(sed -n 's/.*"next_seq":\([0-9]*\).*/\1/p' <<<"$line")
    [ -n "$acked" ] && [ "${acked:-0}" -gt 0 ] && [ $((acked + 1)) -ge "${next:-0}" ] && break
    sleep 0.2
done
[ "${acked:-0}" -gt 0 ] || die "the console acknowledged nothing"
echo "the console has stored and acknowledged messages 1..$acked"

step "wardctl status"
"$WARDCTL" status

step "wardctl events (detections; new_asset events are in 'wardctl events --kind new_asset')"
"$WARDCTL" events --kind portscan,bruteforce,lateral,dns_tunnel,beacon,exfil,flood,arp_spoof,ioc_hit

# Later areas: show them when this build has them.
for cmd in incidents assets; do
    if "$WARDCTL" help "$cmd" >/dev/null 2>&1; then
        step "wardctl $cmd"
        "$WARDCTL" "$cmd" || true
    fi
done

if "$WARDCTL" help assets >/dev/null 2>&1; then
    step "wardctl assets --unclaimed (待认领: seen on the network, in nobody's register)"
    "$WARDCTL" assets --unclaimed --csv --bom >"$T/unclaimed.csv" &&
        echo "$(($(wc -l <"$T/unclaimed.csv") - 1)) unclaimed devices; for a spreadsheet:" \
            "wardctl assets --unclaimed --csv --bom > 待认领.csv"
    step "wardctl asset show 10.10.0.20 (one asset and its history)"
    "$WARDCTL" asset show 10.10.0.20 || true
fi

step "Stopping"
echo "Try it yourself: WARD_DEMO_KEEP=1 make demo keeps the scratch directory;"
echo "ward-console -f -c <dir>/ward-console.conf restarts the console on the same data."
exit 0
