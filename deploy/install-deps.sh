#!/bin/sh
# install-deps.sh -- install the Debian packages Ward needs to build, test and run.
#
# Idempotent: packages already installed are left alone and apt is not touched
# when nothing is missing. Run as root (make calls it through `make deps`).
# Usage: deploy/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -eu

# Build and runtime libraries (their -dev packages pull the runtime ones).
BUILD_PKGS="build-essential pkg-config
libpcap-dev libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
libsqlite3-dev libsodium-dev libcmocka-dev libinih-dev libjansson-dev
libnftables-dev libpsl-dev libcsv-dev"
# Data Ward reads at run time.
DATA_PKGS="ieee-data publicsuffix"
# Tools the tests, fuzzing and benchmarks use.
TEST_PKGS="clang libclang-rt-14-dev sqlite3 iproute2 iputils-ping nftables
netcat-openbsd curl tshark argus-server libndpi-bin valgrind jq cppcheck"

missing=""
for p in $BUILD_PKGS $DATA_PKGS $TEST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all Ward dependencies are installed"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "install-deps: missing:$missing"
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing:$missing" >&2
    echo "install-deps: run as root (or: sudo $0)" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
echo "install-deps: done"
