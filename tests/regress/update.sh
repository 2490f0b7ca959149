#!/bin/bash
# update.sh BUILD -- `make regress-update`: writes every case in tests/regress/CASES
# again, its capture from the named generator (NAME.pcap.gz) and ward-sensor's
# report on it (NAME.events).  Review the result with `git diff --stat
# tests/regress` and `git diff tests/regress/*.events` before committing: every
# changed line is a change in what Ward reports.
set -u
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/regress/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

declare -A generated # generator -> directory or file it wrote
status=0
while IFS=$'\t' read -r name source args; do
    tool=${source%%:*}
    file=${source#*:}
    [ "$file" = "$source" ] && file=""
    if [ -z "${generated[$tool]+set}" ]; then
        if [ -n "$file" ]; then
            mkdir -p "$T/$tool"
            "$BUILD/tools/$tool" "$T/$tool" >/dev/null 2>&1 || {
                echo "regress-update: $tool failed" >&2
                exit 1
            }
            generated[$tool]="$T/$tool"
        else
            "$BUILD/tools/$tool" "$T/$tool.pcap" >/dev/null 2>&1 || {
                echo "regress-update: $tool failed" >&2
                exit 1
            }
            generated[$tool]="$T/$tool.pcap"
        fi
    fi
    pcap=${generated[$tool]}
    [ -n "$file" ] && pcap="$pcap/$file"
    if [ ! -f "$pcap" ]; then
        echo "regress-update: $name: $tool wrote no $file" >&2
        status=1
        continue
    fi
    gzip -n -9 -c "$pcap" >"$REGRESS_DIR/$name.pcap.gz"
    if ! regress_run "$pcap" "$args" "$T/$name.events" 1; then
        echo "regress-update: $name: ward-sensor failed: $(tail -1 "$T/$name.events.err")" >&2
        status=1
        continue
    fi
    cp "$T/$name.events" "$REGRESS_DIR/$name.events"
    echo "regress-update: $name: $(wc -l <"$REGRESS_DIR/$name.events") lines"
done < <(regress_cases)
exit $status
