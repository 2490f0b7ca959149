#!/bin/bash
# sensor_reader -- classic pcap files read directly (the default) and through
# libpcap (--file-reader libpcap) give byte-identical reports: events, asset
# updates and statistics, on every capture of gen_sensor_pcaps and the
# regression captures, with a filter, paced, on a capture large enough to make
# the reader recycle its buffer many times; a truncated file ends both ways with
# exit 1 after the same events, the direct reader naming the offset; pcapng and
# standard input go through libpcap; the config key and bad values.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
SENSOR="$BUILD/ward-sensor"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }

if [ ! -x "$SENSOR" ] || [ ! -x "$BUILD/tools/gen_sensor_pcaps" ]; then
    fail "sensor reader: $SENSOR or the generators are not built"
    exit 0
fi
mkdir -p "$T/in"
if ! "$BUILD/tools/gen_sensor_pcaps" "$T/in" >"$T/gen.log" 2>&1 ||
    ! "$BUILD/tools/gen_bench_pcap" "$T/in/bench.pcap" 4096 >>"$T/gen.log" 2>&1; then
    fail "sensor reader: generator failed: $(tail -2 "$T/gen.log")"
    exit 0
fi
for f in "$SRC"/tests/regress/*.pcap.gz; do
    gunzip -c "$f" >"$T/in/regress_$(basename "$f" .gz)"
done
command -v editcap >/dev/null 2>&1 &&
    editcap -F pcapng "$T/in/mixed.pcap" "$T/in/mixed.pcapng" >/dev/null 2>&1

# both NAME FILE ARGS...: the report of each reader into NAME.auto / NAME.libpcap
# (stdout, then the statistics line), exit status into NAME.*.rc.
both() {
    local name=$1 file=$2 mode
    shift 2
    for mode in auto libpcap; do
        timeout 60 "$SENSOR" -r "$file" --file-reader "$mode" "$@" -o jsonl --assets --stats-json \
            >"$T/$name.$mode" 2>"$T/$name.$mode.err"
        echo $? >"$T/$name.$mode.rc"
        grep '^{"source":' "$T/$name.$mode.err" >>"$T/$name.$mode"
    done
    cmp -s "$T/$name.auto" "$T/$name.libpcap" &&
        [ "$(cat "$T/$name.auto.rc")" = "$(cat "$T/$name.libpcap.rc")" ]
}

# 1. Every capture: the same report.
same=0
differ=""
for f in "$T"/in/*.pcap "$T"/in/*.pcapng; do
    [ -f "$f" ] || continue
    n=$(basename "$f")
    if both "$n" "$f" && [ "$(cat "$T/$n.auto.rc")" = 0 ]; then
        same=$((same + 1))
    else
        differ="$differ $n"
    fi
done
if [ -z "$differ" ] && [ "$same" -ge 20 ]; then
    pass "direct and libpcap readers: identical reports on $same captures"
else
    fail "direct and libpcap readers: reports differ on:$differ"
fi

# 2. The direct reader is really used for classic pcap, and libpcap for pcapng / stdin.
"$SENSOR" -vv -r "$T/in/mixed.pcap" -o jsonl 2>&1 >/dev/null | grep -q "read directly" &&
    ok1=1 || ok1=0
"$SENSOR" -vv -r - -o jsonl <"$T/in/mixed.pcap" 2>&1 >/dev/null | grep -q "through libpcap" &&
    ok2=1 || ok2=0
"$SENSOR" -vv -r "$T/in/mixed.pcap" --file-reader libpcap -o jsonl 2>&1 >/dev/null |
    grep -q "through libpcap" && ok3=1 || ok3=0
if [ "$ok1$ok2$ok3" = 111 ]; then
    pass "classic pcap is read directly; standard input and --file-reader libpcap use libpcap"
else
    fail "reader choice: direct $ok1, stdin $ok2, forced $ok3"
fi
if [ -f "$T/in/mixed.pcapng" ]; then
    if "$SENSOR" -vv -r "$T/in/mixed.pcapng" -o jsonl 2>&1 >/dev/null | grep -q "through libpcap"; then
        pass "pcapng is read through libpcap"
    else
        fail "pcapng: not read through libpcap"
    fi
else
    echo "SKIP: pcapng: editcap (tshark) is not installed"
fi

# 3. A filter, pacing, and the large capture (many buffer recycles) with a filter.
if both filter "$T/in/mixed.pcap" -f "udp or icmp" && both paced "$T/in/mixed.pcap" --replay --speed 1000000 &&
    both bigf "$T/in/bench.pcap" -f "tcp[tcpflags] & tcp-syn != 0 or udp port 53" &&
    [ -s "$T/filter.auto" ]; then
    pass "filter (-f), paced replay and a filtered large capture: identical reports"
else
    fail "filter/paced/large: reports differ"
fi

# 4. Truncated files: exit 1 after the same events; the error names file and offset.
size=$(stat -c %s "$T/in/bench.pcap")
head -c $((size / 2 + 7)) "$T/in/bench.pcap" >"$T/cut.pcap"
if both cut "$T/cut.pcap" && [ "$(cat "$T/cut.auto.rc")" = 1 ] &&
    grep -q "cut.pcap: truncated record.* at offset [0-9]" "$T/cut.auto.err"; then
    pass "truncated capture: exit 1 after the same report both ways; the offset is named"
else
    fail "truncated capture: status $(cat "$T/cut.auto.rc")/$(cat "$T/cut.libpcap.rc"): $(grep error "$T/cut.auto.err" | head -1)"
fi

# 5. The config key; bad values.
printf '[capture]\nfile_reader = libpcap\n' >"$T/lp.conf"
printf '[capture]\nfile_reader = fast\n' >"$T/bad.conf"
"$SENSOR" -vv -c "$T/lp.conf" -r "$T/in/mixed.pcap" -o jsonl 2>&1 >/dev/null |
    grep -q "through libpcap" && ok1=1 || ok1=0
"$SENSOR" -c "$T/bad.conf" -r "$T/in/mixed.pcap" -o jsonl >/dev/null 2>"$T/e1"
rc1=$?
"$SENSOR" --file-reader fast -r "$T/in/mixed.pcap" -o jsonl >/dev/null 2>"$T/e2"
rc2=$?
if [ $ok1 = 1 ] && [ $rc1 = 1 ] && grep -q "bad.conf:2" "$T/e1" && [ $rc2 = 2 ]; then
    pass "[capture] file_reader = libpcap is honoured; bad values are refused"
else
    fail "file_reader config: forced $ok1, bad config exit $rc1, bad option exit $rc2"
fi
exit 0
