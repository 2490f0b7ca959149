#!/bin/bash
# incidents -- a multi-host attack replayed through ward-sensor -> ward-console
# becomes one campaign incident; its deadline escalates through a real notifier
# hook; wardctl walks it from recorded to closed and writes the report; and the
# audit log's hash chain catches an edited, a deleted and an inserted row.
#
# Real processes over tcp://127.0.0.1 with a real database.  Prints PASS/FAIL/SKIP
# lines (tests/run.sh counts them) and exits 0.
set -u
B=${WARD_BUILD:?WARD_BUILD is not set}
for bin in ward-console ward-sensor wardctl tools/gen_incident_pcap; do
    if [ ! -x "$B/$bin" ]; then
        echo "SKIP: incidents: $bin is not built"
        exit 0
    fi
done

T=$(mktemp -d)
CONSOLE_PID=
cleanup() {
    [ -n "$CONSOLE_PID" ] && kill "$CONSOLE_PID" 2>/dev/null && wait "$CONSOLE_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

. "$WARD_SRC/tests/lib/net.sh"
PORT=$(free_port) || { echo "SKIP: incidents: no free port found"; exit 0; }

ctl() { "$B/wardctl" -s "$T/ctl.sock" "$@"; }

"$B/wardctl" keygen "$T/console" >/dev/null 2>&1 && "$B/wardctl" keygen "$T/sensor" >/dev/null 2>&1 ||
    { fail "incidents: keys" "wardctl keygen failed"; exit 0; }
"$B/tools/gen_incident_pcap" "$T/attack.pcap" || { fail "incidents: capture" "generator failed"; exit 0; }

cat >"$T/hook.sh" <<EOF
#!/bin/sh
cat >> "$T/notices"
echo >> "$T/notices"
EOF
chmod 700 "$T/hook.sh"

cat >"$T/console.conf" <<EOF
[console]
data_dir = $T/data
listen = tcp://127.0.0.1:$PORT
control_socket = $T/ctl.sock
keys = $T/console
[incidents]
home_net = 10.0.0.0/8
[grading]
core_hosts = 10.20.5.10
[deadlines]
ii_director = 4s
i_director = 4s
warn_before = 2s
[notify]
command = $T/hook.sh
timeout = 5s
EOF
mkdir -p "$T/data"
"$B/ward-console" -f -c "$T/console.conf" >"$T/console.log" 2>&1 &
CONSOLE_PID=$!
if ! wait_for 10 test -S "$T/ctl.sock"; then
    fail "incidents: console" "no control socket after 10 s: $(tail -3 "$T/console.log")"
    exit 0
fi
ctl sensor add edge-1 "$T/sensor/identity.pub" >/dev/null 2>&1 ||
    { fail "incidents: enrol" "wardctl sensor add failed"; exit 0; }
# Two more enrolments: audit rows to tamper with even when no events arrive.
for s in edge-2 edge-3; do
    "$B/wardctl" keygen "$T/$s" >/dev/null 2>&1 && ctl sensor add "$s" "$T/$s/identity.pub" >/dev/null 2>&1
done

pipeline() {
    timeout 30 "$B/ward-sensor" -r "$T/attack.pcap" --home-net 10.0.0.0/8 --name edge-1 \
        --keys "$T/sensor" --console "tcp://127.0.0.1:$PORT" \
        --console-key "$T/console/identity.pub" --spool "$T/spool" >"$T/sensor.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || fail "incidents: sensor run" "exit status $rc: $(tail -3 "$T/sensor.log")"

    # --- correlation: one campaign incident, at least II (the spread reached the core PACS host)
    have_three_events() {
        ctl incident show 1 --json | grep -q '"events_total":[3-9]'
    }
    wait_for 15 have_three_events
    ctl incidents --json >"$T/list.json" 2>&1
    open=$(grep -c '"state":"recorded"' "$T/list.json")
    if [ "$open" -eq 1 ] && grep -q '"campaign":true' "$T/list.json"; then
        pass "incidents: the multi-host attack is one campaign incident"
    else
        fail "incidents: the multi-host attack is one campaign incident" "$(head -c 600 "$T/list.json")"
    fi
    if grep -Eq '"level":"(I|II)"' "$T/list.json"; then
        pass "incidents: a spread reaching the core host is level II or higher"
    else
        fail "incidents: level" "$(grep -o '"level":"[IV]*"' "$T/list.json")"
    fi

    # --- the director deadline (4 s here) passes unacknowledged: the hook runs once
    overdue() { grep -q '"clock":"director","stage":"overdue"' "$T/notices"; }
    if wait_for 15 overdue; then
        sleep 2 # further ticks must not call it again
        n=$(grep -c '"clock":"director","stage":"overdue"' "$T/notices")
        if [ "$n" -eq 1 ] && grep -q '"incident_id":1' "$T/notices"; then
            pass "incidents: the overdue director report calls the notifier exactly once"
        else
            fail "incidents: notifier" "$n overdue notices: $(head -c 400 "$T/notices")"
        fi
    else
        fail "incidents: notifier" "no overdue notice within 15 s: $(tail -3 "$T/console.log")"
    fi

    # --- the workflow, refusals first
    out=$(ctl incident advance 1 analysing --systems "PACS 10.20.5.10" 2>&1)
    if [ $? -eq 1 ] && [[ "$out" == *"cannot go to analysing: missing --told"* ]]; then
        pass "incidents: advance without who was told is refused naming the field"
    else
        fail "incidents: refusal" "$out"
    fi
    out=$(ctl incident advance 1 recovering 2>&1)
    [[ "$out" == *"the next step is analysing"* ]] && pass "incidents: skipping a step is refused" ||
        fail "incidents: skip refusal" "$out"

    steps_ok=1
    step() { ctl "$@" >>"$T/walk.log" 2>&1 || { steps_ok=0; echo "step failed: $*" >>"$T/walk.log"; }; }
    step incident ack 1
    step incident notify 1 --to leadership --note "phoned the duty vice-president"
    step incident assign 1 bob
    step incident note 1 "PACS vendor on site at 09:30"
    step incident advance 1 analysing --systems "PACS 10.20.5.10; workstations PC-15, PC-16, PC-17" \
        --told "IT director, PACS team"
    step incident advance 1 containing --cause "worm on PC-15 (phishing)" --scope "3 workstations, PACS probed" \
        --risk "imaging archive encryption"
    out=$(ctl incident advance 1 recovering 2>&1)
    [[ "$out" == *"no containment action or decision recorded"* ]] ||
        { steps_ok=0; echo "no containment refusal: $out" >>"$T/walk.log"; }
    step incident advance 1 recovering --action "switch ports of PC-15, PC-16, PC-17 disabled"
    step incident advance 1 review --restored "three workstations" --how "reimaged, passwords reset"
    step incident advance 1 closed --lessons "macros were enabled" --followups "GPO to block macros" \
        --signoff "CISO Li"
    if [ $steps_ok -eq 1 ] && ctl incident show 1 --json | grep -q '"state":"closed"'; then
        pass "incidents: walked from recorded to closed with wardctl"
    else
        fail "incidents: walk" "$(tail -5 "$T/walk.log")"
    fi

    # --- the report holds every action of the timeline
    ctl report 1 --format md -o "$T/report.md" 2>/dev/null
    ctl report 1 --format html -o "$T/report.html" 2>/dev/null
    missing=
    for want in "II 重大" "incident opened" "acknowledged" "reported to the leadership" "assigned to bob" \
        "note: PACS vendor" "recorded -> analysing" "analysing -> containing" "switch ports" \
        "containing -> recovering" "recovering -> review" "review -> closed" "deadline passed" \
        "Report to IT director" "CISO Li"; do
        grep -qF -- "$want" "$T/report.md" || missing="$missing [$want]"
    done
    if [ -s "$T/report.md" ] && [ -z "$missing" ] && grep -q "<table>" "$T/report.html"; then
        pass "incidents: the disposition report holds the whole timeline (md and html)"
    else
        fail "incidents: report" "missing:$missing"
    fi
}

audit_tampering() {
    # --- audit: untouched passes; an edit, a deletion and an insertion are each named
    if ! command -v sqlite3 >/dev/null; then
        echo "SKIP: incidents: audit tampering: the sqlite3 tool is not installed"
        return
    fi
    DB="$T/data/ward.db"
    verify() { ctl audit verify 2>&1; }
    out=$(verify)
    [ $? -eq 0 ] && [[ "$out" == *"intact"* ]] && pass "incidents: audit verify passes on an untouched database" ||
        fail "incidents: audit verify untouched" "$out"

    sq() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }
    # edit row 2
    old=$(sq "SELECT details FROM audit WHERE id = 2")
    sq "UPDATE audit SET details = '{\"text\":\"nothing happened\"}' WHERE id = 2"
    out=$(verify)
    if [ $? -ne 0 ] && [[ "$out" == *"row 2 was changed"* ]]; then
        pass "incidents: audit verify names an edited row"
    else
        fail "incidents: audit edit" "$out"
    fi
    sq "UPDATE audit SET details = '$(printf '%s' "$old" | sed "s/'/''/g")' WHERE id = 2"
    # delete row 3 (kept aside and put back)
    sq "CREATE TABLE saved AS SELECT * FROM audit WHERE id = 3; DELETE FROM audit WHERE id = 3"
    out=$(verify)
    if [ $? -ne 0 ] && [[ "$out" == *"row 3 was deleted"* ]]; then
        pass "incidents: audit verify names a deleted row"
    else
        fail "incidents: audit delete" "$out"
    fi
    sq "INSERT INTO audit SELECT * FROM saved; DROP TABLE saved"
    # insert a forged row after the last
    sq "INSERT INTO audit(id, time_usec, actor, uid, role, action, object, object_id, details, prev_hash, hash)
        SELECT id + 1, time_usec, 'mallory', 0, 'admin', 'incident.advance', 'incident', 1, '{}', hash, hash
        FROM audit ORDER BY id DESC LIMIT 1"
    last=$(sq "SELECT max(id) FROM audit")
    out=$(verify)
    if [ $? -ne 0 ] && [[ "$out" == *"row $last was inserted"* ]]; then
        pass "incidents: audit verify names an inserted row"
    else
        fail "incidents: audit insert" "$out"
    fi
    sq "DELETE FROM audit WHERE id = $last"
    out=$(verify)
    [ $? -eq 0 ] && pass "incidents: audit verify passes again once the rows are restored" ||
        fail "incidents: audit restored" "$out"
}

ingest_up() { grep -q "ingest: listening" "$T/console.log"; }
if wait_for 5 ingest_up; then
    pipeline
else
    echo "SKIP: incidents: sensor to console pipeline: this ward-console does not run ingest"
fi
audit_tampering
exit 0
