#!/bin/bash
# assets -- the passive inventory end to end on a generated hospital segment
# (tools/ward-assetgen): the sensor's offline asset lines, then the real path
# sensor -> console -> ledger: register import with a bad line, unclaimed and
# registered devices, a new service on a registered server and a new device
# raising new_asset events, history, claim, and CSV export with Chinese text.
set -u
: "${WARD_BUILD:?run through tests/run.sh}"
: "${WARD_SRC:?run through tests/run.sh}"
SENSOR=$WARD_BUILD/ward-sensor
GEN=$WARD_BUILD/tools/ward-assetgen
INV=$WARD_BUILD/tools/asset_inventory
for b in "$SENSOR" "$GEN" "$INV"; do
    if [ ! -x "$b" ]; then
        echo "SKIP: assets: $(basename "$b") is not built"
        exit 0
    fi
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

ok() { echo "PASS: assets: $*"; }
bad() { echo "FAIL: assets: $*"; }

# ---- offline: ward-sensor -r --assets
"$GEN" "$W/phase1.pcap" 1 && "$GEN" "$W/phase2.pcap" 2 || { bad "ward-assetgen failed"; exit 0; }
timeout 30 "$SENSOR" -r "$W/phase1.pcap" --assets >"$W/p1.jsonl" 2>"$W/p1.err"
"$INV" <"$W/p1.jsonl" >"$W/p1.tsv"
printf '%s\n' \
    $'10.20.0.1\t00:16:3e:00:00:fe\t-\tudp/53,udp/67' \
    $'10.20.0.10\t00:50:56:aa:00:10\t-\ttcp/104,tcp/443' \
    $'10.20.0.31\t00:16:3e:00:00:31\tnurse-station-3\t-' \
    $'10.20.0.40\t00:0c:29:00:00:40\t-\t-' >"$W/p1.want"
if diff -u "$W/p1.want" "$W/p1.tsv" >"$W/p1.diff"; then
    ok "offline inventory: DHCP name, ARP and SYN-ACK services, closed port left out"
else
    bad "offline inventory differs: $(tr '\n' ' ' <"$W/p1.diff")"
fi
if grep -q '"tls_names":\["pacs.hospital.local"\]' "$W/p1.jsonl" &&
    grep -q '"user_agents":\["WardTest-Viewer/1.0"\]' "$W/p1.jsonl"; then
    ok "offline inventory: TLS name and user agent of the workstation"
else
    bad "offline inventory: TLS name or user agent missing"
fi
if grep -q '"vendor":"VMware, Inc."' "$W/p1.jsonl" || [ ! -r /usr/share/ieee-data/oui.csv ]; then
    ok "offline inventory: MAC vendor from the IEEE registry"
else
    bad "offline inventory: no vendor for 00:50:56 / 00:0c:29"
fi
n=$(grep -c '"type":"asset"' "$W/p1.jsonl")
[ "$n" -le 8 ] && ok "offline inventory: $n updates for 35 packets (rate-limited)" \
    || bad "offline inventory: $n updates for 35 packets"

# ---- through the console
. "$WARD_SRC/tests/lib/transport_env.sh"
tx_keygen s1
tx_console_start || { bad "console did not start ($(tail -3 "$T/console.log"))"; exit 0; }
tx_enrol s1

cat >"$T/register.csv" <<'CSV'
IP地址,MAC地址,主机名,科室,责任人,业务系统,重要程度,位置
10.20.0.10,00:50:56:aa:00:10,pacs-01,放射科,李娜,PACS,1,影像楼B1
10.20.0.300,00:50:56:aa:00:11,bad,放射科,李娜,PACS,1,
10.20.0.50,00:50:56:aa:00:12,zombie-box,信息科,张伟,HIS,2,机房A
CSV
"$WARDCTL" assets import "$T/register.csv" >"$T/import.out" 2>"$T/import.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "2 imported" "$T/import.out" &&
    grep -q "register.csv:3: bad address '10.20.0.300'" "$T/import.err"; then
    ok "import: line 3 refused by name, the good lines imported"
else
    bad "import: rc $rc: $(cat "$T/import.out" "$T/import.err" | tr '\n' ' ')"
fi

send() {
    timeout 60 "$SENSOR" -r "$1" --console "$EP" --keys "$T/s1" \
        --console-key "$T/console/identity.pub" --name s1 --spool "$T/spool-s1" \
        >"$T/sensor.out" 2>"$T/sensor.err"
}
wait_sql() { # wait_sql SQL WANT SECS
    local i
    for i in $(seq 1 $(($3 * 10))); do
        [ "$(tx_sql "$1" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

send "$W/phase1.pcap" || bad "sensor (phase 1) failed: $(tail -2 "$T/sensor.err")"
if wait_sql "SELECT count(*) FROM assets WHERE seen_usec > 0" 4 20; then
    ok "ledger: four devices seen through the sensor"
else
    bad "ledger: $(tx_sql 'SELECT ip, mac FROM assets' | tr '\n' ' ')"
fi
"$WARDCTL" assets --unclaimed --json >"$T/unclaimed.json" 2>&1
if grep -q '"hostname":"nurse-station-3"' "$T/unclaimed.json" &&
    ! grep -q '"ip":"10.20.0.10"' "$T/unclaimed.json"; then
    ok "ledger: the nurse station is unclaimed (待认领), the registered PACS is not"
else
    bad "ledger: unclaimed list: $(head -c 400 "$T/unclaimed.json")"
fi
"$WARDCTL" assets --system PACS --json >"$T/pacs.json" 2>&1
grep -q '"state":"registered"' "$T/pacs.json" && grep -q '"port":104' "$T/pacs.json" &&
    ok "ledger: the PACS server is registered and seen with DICOM on 104" ||
    bad "ledger: PACS row: $(head -c 400 "$T/pacs.json")"
base=$(tx_sql "SELECT count(*) FROM events WHERE kind = 'new_asset'")

send "$W/phase2.pcap" || bad "sensor (phase 2) failed: $(tail -2 "$T/sensor.err")"
if wait_sql "SELECT count(*) FROM events WHERE kind = 'new_asset' AND subtype = 'new_service'" 1 20; then
    ok "new_asset: a new service on the registered PACS server raised one event"
else
    bad "new_asset: no new_service event ($(tx_sql "SELECT subtype, summary FROM events WHERE kind='new_asset'" | tr '\n' ' '))"
fi
if wait_sql "SELECT count(*) FROM events WHERE kind = 'new_asset' AND src = '10.20.0.77'" 1 10; then
    ok "new_asset: the new unregistered laptop raised one event"
else
    bad "new_asset: nothing for 10.20.0.77"
fi
"$WARDCTL" asset show 10.20.0.10 >"$T/show.out" 2>&1
grep -q "service_opened" "$T/show.out" && grep -q "tcp/3389" "$T/show.out" &&
    ok "asset show: the history records tcp/3389 opening" ||
    bad "asset show: $(head -c 600 "$T/show.out")"

"$WARDCTL" assets claim 10.20.0.31 --owner 赵敏 --dept 护理部 --system HIS --criticality 3 \
    >"$T/claim.out" 2>&1 && "$WARDCTL" assets --registered --json | grep -q '"owner":"赵敏"' &&
    ok "claim: the nurse station is now registered to 赵敏" ||
    bad "claim: $(cat "$T/claim.out")"
"$WARDCTL" assets --csv --bom >"$T/export.csv" 2>&1
if [ "$(head -c 3 "$T/export.csv" | od -An -tx1 | tr -d ' ')" = "efbbbf" ] &&
    grep -q "放射科" "$T/export.csv" && grep -q "^ip,mac,hostname" <(tail -c +4 "$T/export.csv"); then
    ok "export: CSV with BOM, importable header, Chinese text intact"
else
    bad "export: $(head -c 300 "$T/export.csv")"
fi
"$WARDCTL" assets import "$T/export.csv" >"$T/reimport.out" 2>&1 &&
    ok "export: the exported file imports back without errors" ||
    bad "export: re-import: $(cat "$T/reimport.out" | head -5 | tr '\n' ' ')"
tx_console_stop
exit 0
