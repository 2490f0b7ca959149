#!/bin/bash
# regress -- every case in tests/regress/CASES replayed through ward-sensor
# (--replay, paced at a speed that makes the pacing instantaneous) and read flat
# out (-r), each report compared with the committed NAME.events: events, asset
# updates and statistics must be the same line for line, and the same both
# ways.  A difference fails with the first lines of the diff; when it is
# intended, `make regress-update` writes the new reports for review.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
. "$SRC/tests/regress/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }

if [ ! -x "$BUILD/ward-sensor" ]; then
    fail "regress: $BUILD/ward-sensor not built"
    exit 0
fi

while IFS=$'\t' read -r name source args; do
    gz="$REGRESS_DIR/$name.pcap.gz"
    want="$REGRESS_DIR/$name.events"
    if [ ! -f "$gz" ] || [ ! -f "$want" ]; then
        fail "regress $name: $name.pcap.gz or $name.events missing in tests/regress (make regress-update)"
        continue
    fi
    if ! gzip -dc "$gz" >"$T/$name.pcap" 2>"$T/gz.err"; then
        fail "regress $name: $name.pcap.gz: $(cat "$T/gz.err")"
        continue
    fi
    ok=1
    for mode in replay flat; do
        out="$T/$name.$mode"
        regress_run "$T/$name.pcap" "$args" "$out" "$([ $mode = replay ] && echo 1 || echo 0)"
        rc=$?
        if [ $rc -ne 0 ]; then
            fail "regress $name ($mode): ward-sensor exited $rc: $(tail -1 "$out.err")"
            ok=0
        elif ! diff -u "$want" "$out" >"$out.diff"; then
            fail "regress $name ($mode): report differs from tests/regress/$name.events" \
                "(first differences below; if intended, run make regress-update and review the diff)"
            grep '^[-+][^-+]' "$out.diff" | head -6 | cut -c1-300 | sed 's/^/    /'
            ok=0
        fi
        rm -f "$T/$name.pcap.$mode"
    done
    [ $ok = 1 ] && pass "regress $name: $(wc -l <"$want") report lines, the same paced and flat out"
    rm -f "$T/$name.pcap"
done < <(regress_cases)
exit 0
