#!/bin/bash
# bench_sensor.sh BUILD -- ward-sensor's throughput against the bare libpcap loop.
#
# Generates (once) a deterministic synthetic capture with tools/gen_bench_pcap in
# BUILD/bench/, then on that same file, each the best of $WARD_BENCH_RUNS runs
# (default 5; 3 at most for argus and ndpiReader, which take minutes; the page
# cache is warmed first; the bare loop and the sensor run in turn, so that both
# see the machine as it is in the same minute, and the slowest of each is
# printed too, as the spread):
#   bare loop   BUILD/tools/bare_loop: pcap_next_ex touching every byte
#   sensor      ward-sensor -r FILE -o jsonl > /dev/null, every detector on,
#               default table sizes; peak RSS from /usr/bin/time
#   argus       argus -r FILE -w /dev/null              (skipped if not installed)
#   ndpiReader  ndpiReader -i FILE -q                   (skipped if not installed)
# and prints packets/s, the sensor/bare ratio (target >= 0.33, aim 0.45), the
# sensor's peak RSS (target <= 256 MB) and the sensor's speed relative to argus
# and ndpiReader.  Exit status 1 if a target is missed.
#
# WARD_BENCH_FLOWS sets the generator's flow count (default 600000).
set -u
BUILD=${1:-build}
RUNS=${WARD_BENCH_RUNS:-5}
OTHER_RUNS=$((RUNS < 3 ? RUNS : 3))
FLOWS=${WARD_BENCH_FLOWS:-600000}
DIR="$BUILD/bench"
PCAP="$DIR/bench-$FLOWS.pcap"
SENSOR="$BUILD/ward-sensor"
BARE="$BUILD/tools/bare_loop"
GEN="$BUILD/tools/gen_bench_pcap"
mkdir -p "$DIR"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for b in "$SENSOR" "$BARE" "$GEN"; do
    [ -x "$b" ] || { echo "bench: $b is not built (run make)"; exit 1; }
done
if [ ! -s "$PCAP" ] || [ "$GEN" -nt "$PCAP" ]; then
    echo "bench: generating $PCAP"
    "$GEN" "$PCAP.tmp" "$FLOWS" && mv "$PCAP.tmp" "$PCAP" || exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench: /usr/bin/time is needed for peak RSS (apt-get install time)"
    exit 1
fi
cat "$PCAP" >/dev/null # warm the page cache: every run reads from memory

# once NAME CMD...: runs CMD once; keeps the smallest elapsed seconds in
# BEST_<NAME>, the largest in WORST_<NAME> and the largest peak RSS in
# RSS_<NAME> (KB).  Status 1 if CMD failed.
once() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$T/time" "$@" >/dev/null 2>"$T/err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "bench: '$*' failed (status $rc):" >&2
        tail -3 "$T/err" >&2
        return 1
    fi
    local e rss best_var="BEST_$name" worst_var="WORST_$name" rss_var="RSS_$name"
    read -r e rss <"$T/time"
    if [ -z "${!best_var:-}" ] || awk -v a="$e" -v b="${!best_var}" 'BEGIN { exit !(a < b) }'; then
        printf -v "$best_var" '%s' "$e"
    fi
    if [ -z "${!worst_var:-}" ] || awk -v a="$e" -v b="${!worst_var}" 'BEGIN { exit !(a > b) }'; then
        printf -v "$worst_var" '%s' "$e"
    fi
    if [ "$rss" -gt "${!rss_var:-0}" ]; then
        printf -v "$rss_var" '%s' "$rss"
    fi
    return 0
}

# best NAME CMD...: once, $OTHER_RUNS times.
best() {
    for _ in $(seq "$OTHER_RUNS"); do
        once "$@" || return 1
    done
    return 0
}

packets=$("$BARE" "$PCAP" | awk '{ print $2 }')
size=$(du -mL "$PCAP" | cut -f1)
echo "capture: $PCAP ($packets packets, $FLOWS flows, $size MB)"
echo "runs:    best of $RUNS (argus, ndpiReader: $OTHER_RUNS), $(nproc) CPU(s), $(date -u +%Y-%m-%dT%H:%MZ)"

for _ in $(seq "$RUNS"); do
    once bare "$BARE" "$PCAP" || exit 1
    once sensor "$SENSOR" -r "$PCAP" -o jsonl || exit 1
done
bare_s=$BEST_bare
bare_pps=$(awk -v p="$packets" -v s="$bare_s" 'BEGIN { printf "%.0f", p / s }')
printf "bare loop:   %9s pkts/s  (%ss; slowest run %ss)\n" "$bare_pps" "$bare_s" "$WORST_bare"

sensor_s=$BEST_sensor
sensor_rss_mb=$((RSS_sensor / 1024))
sensor_pps=$(awk -v p="$packets" -v s="$sensor_s" 'BEGIN { printf "%.0f", p / s }')
ratio=$(awk -v a="$sensor_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }')
printf "ward-sensor: %9s pkts/s  (%ss; slowest run %ss)  ratio sensor/bare %s  peak RSS %d MB\n" \
    "$sensor_pps" "$sensor_s" "$WORST_sensor" "$ratio" "$sensor_rss_mb"

status=0
if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.33) }'; then
    echo "target: ratio $ratio >= 0.33: met"
else
    echo "target: ratio $ratio >= 0.33: MISSED"
    status=1
fi
if [ "$sensor_rss_mb" -le 256 ]; then
    echo "target: peak RSS $sensor_rss_mb MB <= 256 MB: met"
else
    echo "target: peak RSS $sensor_rss_mb MB <= 256 MB: MISSED"
    status=1
fi

line=""
if command -v argus >/dev/null 2>&1; then
    if best argus argus -r "$PCAP" -w /dev/null; then
        argus_pps=$(awk -v p="$packets" -v s="$BEST_argus" 'BEGIN { printf "%.0f", p / s }')
        line="argus $argus_pps pkts/s ($(awk -v a="$argus_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }') of bare), sensor/argus $(awk -v a="$sensor_pps" -v b="$argus_pps" 'BEGIN { printf "%.1f", a / b }')x"
    fi
else
    echo "skip: argus is not installed (argus-server): no sensor/argus ratio"
fi
if command -v ndpiReader >/dev/null 2>&1; then
    if best ndpi ndpiReader -i "$PCAP" -q; then
        ndpi_pps=$(awk -v p="$packets" -v s="$BEST_ndpi" 'BEGIN { printf "%.0f", p / s }')
        line="${line:+$line; }ndpiReader $ndpi_pps pkts/s ($(awk -v a="$ndpi_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }') of bare), sensor/ndpiReader $(awk -v a="$sensor_pps" -v b="$ndpi_pps" 'BEGIN { printf "%.1f", a / b }')x"
    fi
else
    echo "skip: ndpiReader is not installed (libndpi-bin): no sensor/ndpiReader ratio"
fi
[ -n "$line" ] && echo "others: $line"
exit $status
