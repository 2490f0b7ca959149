#!/bin/bash
# systemd_units -- the shipped units (deploy/*.service) are valid for systemd:
# `systemd-analyze verify` accepts each one without a warning (an unknown key or
# a bad value is only a warning to systemd, and an ignored sandboxing line is
# silently lost), installed as `make install` lays it out, with the binary its
# ExecStart names in place; and `systemd-analyze
# security --offline` rates each one's exposure no worse than 5.0 ("MEDIUM" or
# better), so that a careless edit that drops the sandboxing is noticed.
# The units are not started (that needs systemd as PID 1, which a test host or
# container often is not).  SKIP when systemd-analyze or the system's own units
# are not there.
set -u
SRC=${WARD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${WARD_BUILD:-$SRC/build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }

MAX_EXPOSURE=5.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
    skip "systemd units: systemd-analyze is not installed (package systemd)"
    exit 0
fi
if [ ! -f /lib/systemd/system/sysinit.target ]; then
    skip "systemd units: /lib/systemd/system holds no system units to verify against"
    exit 0
fi

# A root with the system's units, ours beside them, and our binaries where
# ExecStart expects them.
mkdir -p "$T/root/lib/systemd" "$T/root/etc/ward"
cp -a /lib/systemd/system "$T/root/lib/systemd/"
for unit in "$SRC"/deploy/*.service; do
    name=$(basename "$unit")
    install -m 0644 "$unit" "$T/root/lib/systemd/system/$name"
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" | head -1)
    if [ -z "$exe" ]; then
        fail "systemd units: $name has no ExecStart"
        continue
    fi
    bin="$BUILD/$(basename "$exe")"
    if [ ! -x "$bin" ]; then
        fail "systemd units: $name runs $exe, but $bin is not built"
        continue
    fi
    install -D -m 0755 "$bin" "$T/root$exe"

    # verify exits 0 on an unknown key or a bad value and only warns, naming
    # the file and line: any such line is a failure here.
    if systemd-analyze verify --root="$T/root" "$T/root/lib/systemd/system/$name" \
        >"$T/verify.log" 2>&1 && ! grep -q "$name:[0-9]" "$T/verify.log"; then
        pass "systemd units: systemd-analyze verify accepts $name"
    else
        fail "systemd units: systemd-analyze verify rejects $name: $(grep -m3 . "$T/verify.log" | sed "s|$T/root||g" | tr '\n' ' ')"
    fi

    if ! systemd-analyze security --offline=yes --root="$T/root" "$name" >"$T/sec.log" 2>&1; then
        # Older systemd has no offline security analysis: nothing to rate.
        if grep -q -- "--offline" "$T/sec.log" || grep -qi "unrecognized option" "$T/sec.log"; then
            skip "systemd units: this systemd-analyze cannot rate $name offline"
            continue
        fi
    fi
    level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec.log" | head -1)
    if [ -z "$level" ]; then
        fail "systemd units: no exposure level for $name: $(tail -2 "$T/sec.log" | tr '\n' ' ')"
    elif awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'; then
        pass "systemd units: $name exposure $level (at most $MAX_EXPOSURE)"
    else
        fail "systemd units: $name exposure $level, above $MAX_EXPOSURE: its sandboxing was weakened"
    fi
done
exit 0
