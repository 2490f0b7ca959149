#!/bin/bash
# bench_sensor.sh BUILD -- ward-sensor's throughput against the bare libpcap loop.
#
# Generates (once) a deterministic synthetic capture with tools/gen_bench_pcap in
# BUILD/bench/, then on that same file, each the best of $WARD_BENCH_RUNS runs
# (default 3; the page cache is warmed first):
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
RUNS=${WARD_BENCH_RUNS:-3}
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

# best CMD...: the smallest elapsed seconds over $RUNS runs; sets BEST, BEST_RSS_KB.
best() {
    BEST=""
    BEST_RSS_KB=0
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$T/time" "$@" >/dev/null 2>"$T/err"
        local rc=$?
        if [ $rc -ne 0 ]; then
            echo "bench: '$*' failed (status $rc):" >&2
            tail -3 "$T/err" >&2
            BEST=""
            return 1
        fi
        read -r e rss <"$T/time"
        if [ -z "$BEST" ] || awk -v a="$e" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then
            BEST=$e
        fi
        if [ "$rss" -gt "$BEST_RSS_KB" ]; then
            BEST_RSS_KB=$rss
        fi
    done
    return 0
}

packets=$("$BARE" "$PCAP" | awk '{ print $2 }')
size=$(du -mL "$PCAP" | cut -f1)
echo "capture: $PCAP ($packets packets, $FLOWS flows, $size MB)"
echo "runs:    best of $RUNS, $(nproc) CPU(s), $(date -u +%Y-%m-%dT%H:%MZ)"

best "$BARE" "$PCAP" || exit 1
bare_s=$BEST
bare_pps=$(awk -v p="$packets" -v s="$bare_s" 'BEGIN { printf "%.0f", p / s }')
printf "bare loop:   %9s pkts/s  (%ss)\n" "$bare_pps" "$bare_s"

best "$SENSOR" -r "$PCAP" -o jsonl || exit 1
sensor_s=$BEST
sensor_rss_mb=$((BEST_RSS_KB / 1024))
sensor_pps=$(awk -v p="$packets" -v s="$sensor_s" 'BEGIN { printf "%.0f", p / s }')
ratio=$(awk -v a="$sensor_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }')
printf "ward-sensor: %9s pkts/s  (%ss)  ratio sensor/bare %s  peak RSS %d MB\n" \
    "$sensor_pps" "$sensor_s" "$ratio" "$sensor_rss_mb"

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
    if best argus -r "$PCAP" -w /dev/null; then
        argus_pps=$(awk -v p="$packets" -v s="$BEST" 'BEGIN { printf "%.0f", p / s }')
        line="argus $argus_pps pkts/s ($(awk -v a="$argus_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }') of bare), sensor/argus $(awk -v a="$sensor_pps" -v b="$argus_pps" 'BEGIN { printf "%.1f", a / b }')x"
    fi
else
    echo "skip: argus is not installed (argus-server): no sensor/argus ratio"
fi
if command -v ndpiReader >/dev/null 2>&1; then
    if best ndpiReader -i "$PCAP" -q; then
        ndpi_pps=$(awk -v p="$packets" -v s="$BEST" 'BEGIN { printf "%.0f", p / s }')
        line="${line:+$line; }ndpiReader $ndpi_pps pkts/s ($(awk -v a="$ndpi_pps" -v b="$bare_pps" 'BEGIN { printf "%.2f", a / b }') of bare), sensor/ndpiReader $(awk -v a="$sensor_pps" -v b="$ndpi_pps" 'BEGIN { printf "%.1f", a / b }')x"
    fi
else
    echo "skip: ndpiReader is not installed (libndpi-bin): no sensor/ndpiReader ratio"
fi
[ -n "$line" ] && echo "others: $line"
exit $status
