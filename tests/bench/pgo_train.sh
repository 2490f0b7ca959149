#!/bin/bash
# pgo_train.sh SENSOR GEN OUT -- the training run of ward-sensor's profile-guided
# build (see the Makefile): the instrumented SENSOR reads a capture of the
# benchmark's traffic mix written by GEN (tools/gen_bench_pcap, PGO_FLOWS
# flows, default 80000) and every regression capture with its arguments, so
# that the profile holds ordinary traffic and each detector's findings.  The
# counts land beside the instrumented objects; OUT is touched when it is done.
set -u
SENSOR=$1
GEN=$2
OUT=$3
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() {
    echo "pgo_train: $*" >&2
    exit 1
}

"$GEN" "$T/mix.pcap" "${PGO_FLOWS:-80000}" >/dev/null || fail "$GEN failed"
"$SENSOR" -r "$T/mix.pcap" -o jsonl >/dev/null 2>"$T/err" ||
    fail "ward-sensor failed on the generated capture: $(tail -1 "$T/err")"
n=0
while IFS=$'\t' read -r name _ args; do
    [ "$args" = "-" ] && args=""
    gzip -dc "$SRC/tests/regress/$name.pcap.gz" >"$T/case.pcap" || fail "cannot read $name.pcap.gz"
    # shellcheck disable=SC2086 # ARGS is a word list by design
    (cd "$SRC" && "$SENSOR" -r "$T/case.pcap" $args -o jsonl >/dev/null 2>"$T/err") ||
        fail "ward-sensor failed on $name: $(tail -1 "$T/err")"
    n=$((n + 1))
done < <(grep -v '^[[:space:]]*#' "$SRC/tests/regress/CASES" | grep -v '^[[:space:]]*$')
[ "$n" -gt 0 ] || fail "no regression captures found"
touch "$OUT"
