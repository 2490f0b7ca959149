#!/bin/bash
# eval.sh BUILD -- the passive inventory against hand-checked expectations.
#
# For each tests/assets/expected/<capture>.tsv, finds <capture>.pcap or .pcapng
# under ../shared/pcaps (beside the clone), runs `ward-sensor -r FILE --assets`,
# turns the updates into an inventory with tools/asset_inventory (ip, mac, host
# name, services answered on) and compares it exactly with the expectation.
# Prints PASS/FAIL per capture with the difference, and a summary; exits 1 if any
# capture differs or is missing.  Not part of `make test`: clones have no
# ../shared.  Run by `make assets-eval`.
set -u
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PCAPS=${WARD_PCAPS:-$SRC/../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "SKIP: assets-eval: $PCAPS is not there"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
for exp in "$SRC"/tests/assets/expected/*.tsv; do
    name=$(basename "$exp" .tsv)
    pcap=$(find "$PCAPS" -maxdepth 2 \( -name "$name.pcap" -o -name "$name.pcapng" \) | head -1)
    if [ -z "$pcap" ]; then
        echo "FAIL: $name: capture not found under $PCAPS"
        fail=$((fail + 1))
        continue
    fi
    if ! timeout 60 "$BUILD/ward-sensor" -r "$pcap" -o jsonl --assets >"$tmp/$name.jsonl" \
        2>"$tmp/$name.err"; then
        echo "FAIL: $name: ward-sensor failed: $(tail -1 "$tmp/$name.err")"
        fail=$((fail + 1))
        continue
    fi
    "$BUILD/tools/asset_inventory" <"$tmp/$name.jsonl" >"$tmp/$name.tsv"
    if diff -u "$exp" "$tmp/$name.tsv" >"$tmp/$name.diff"; then
        echo "PASS: $name: $(wc -l <"$exp") hosts as expected"
        pass=$((pass + 1))
    else
        echo "FAIL: $name: inventory differs (- expected, + got):"
        sed -n '3,$p' "$tmp/$name.diff" | grep '^[-+]' | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
echo "assets-eval: $pass captures match, $fail differ"
[ "$fail" -eq 0 ]
